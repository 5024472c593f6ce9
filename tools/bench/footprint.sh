#!/usr/bin/env bash
# The agent's footprint beside its peers (docs/benchmarks.md, "Agent footprint").
#
#   tools/bench/footprint.sh BUILD [SECONDS]
#
# Runs, one after the other and each for SECONDS (default 30) with a 1 s collection
# interval, on this host's real /proc and /sys:
#   ward-agent run   reporting to a ward-collector on 127.0.0.1 (every sensor class sampled
#                    every second, heartbeat every 10 s);
#   collectd         cpu, memory, interface, disk, df, load, sensors plugins, Interval 1, csv
#                    output to a scratch directory (Debian's collectd-core);
#   node_exporter    Debian's prometheus-node-exporter, default collectors, scraped once a
#                    second with curl (as Prometheus would, gzip accepted).
# and reports each process's RSS at the end and its CPU time (/proc/PID/schedstat)
# per collection cycle; for node_exporter also the bytes of one scrape (plain and gzip), for
# ward the bytes on the wire per heartbeat interval (from the agent's SIGUSR1 stats line).
# Every process is started here and stopped by its PID. Work files: $WORK.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD [SECONDS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SECS=${2:-30}
WORK=${WORK:-/tmp/ward-bench-footprint}
CPORT=${CPORT:-19443}
NPORT=${NPORT:-19100}
AGENT=$BUILD/board/ward-agent
COLLECTOR=$BUILD/tools/ward-collector
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# CPU time in nanoseconds summed over the process's threads (the first field of each
# schedstat: time spent running), finer than /proc/PID/stat's 10 ms ticks. collectd and
# node_exporter are multi-threaded; their worker threads live for the whole run.
cpu_ticks() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d\n", s }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
report() { # name pid ticks0 cycles
    local t1 hz
    t1=$(cpu_ticks "$2"); hz=1000000000
    python3 -c "import sys; n,rss,dt,hz,c=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5]); print(f'{n}: RSS {rss} KiB, CPU {dt/hz*1000/c:.2f} ms per cycle ({dt/hz:.2f} s over {c} cycles)')" \
        "$1" "$(rss_kib "$2")" "$((t1 - $3))" "$hz" "$4"
}

rm -rf "$WORK"; mkdir -p "$WORK"
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || cat "$ROOT/HEAD.txt") $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), ${SECS} s each"

# --- ward-agent -> ward-collector
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" device fp-1 >/dev/null
"$COLLECTOR" --pki "$WORK/pki" --state "$WORK/cstate" --listen "127.0.0.1:$CPORT" \
    --api-listen 127.0.0.1:0 --log-level error &
PIDS+=($!)
for _ in $(seq 100); do [ -f "$WORK/cstate/ports" ] && break; sleep 0.1; done
cat >"$WORK/rules.json" <<EOF
{"rules": [], "intervals_ms": {"temp": 1000, "fan": 1000, "nic": 1000, "disk": 1000,
 "host": 1000, "agent": 1000, "heartbeat": 10000}}
EOF
"$AGENT" run --collector "127.0.0.1:$CPORT" --server-name localhost --ca "$WORK/pki/ca.crt" \
    --cert "$WORK/pki/devices/fp-1.crt" --key "$WORK/pki/devices/fp-1.key" \
    --state-dir "$WORK/astate" --rules "$WORK/rules.json" 2>"$WORK/agent.log" &
APID=$!
PIDS+=($APID)
sleep 3 # connected, first full handshake done
kill -USR1 $APID; sleep 0.2
t0=$(cpu_ticks $APID)
sleep "$SECS"
kill -USR1 $APID; sleep 0.2
report ward-agent $APID "$t0" "$SECS"
python3 - "$WORK/agent.log" <<'EOF'
import json, sys
s = [json.loads(l.split("stats ", 1)[1]) for l in open(sys.argv[1]) if " stats {" in l]
a, b = s[-2], s[-1]
hb = b["heartbeats"] - a["heartbeats"]
if hb > 0:
    print(f"ward-agent: {hb} heartbeats, {(b['tx_bytes'] - a['tx_bytes']) / hb:.0f} bytes sent + "
          f"{(b['rx_bytes'] - a['rx_bytes']) / hb:.0f} received per heartbeat interval (TLS records)")
EOF
kill $APID; wait $APID 2>/dev/null || true

# --- collectd
mkdir -p "$WORK/collectd/csv"
cat >"$WORK/collectd/collectd.conf" <<EOF
Hostname "bench"
FQDNLookup false
Interval 1
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin interface
LoadPlugin disk
LoadPlugin df
LoadPlugin load
LoadPlugin sensors
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/collectd/csv"
</Plugin>
EOF
collectd -f -C "$WORK/collectd/collectd.conf" >"$WORK/collectd/log" 2>&1 &
CPID=$!
PIDS+=($CPID)
sleep 3
t0=$(cpu_ticks $CPID)
sleep "$SECS"
report collectd $CPID "$t0" "$SECS"
kill $CPID; wait $CPID 2>/dev/null || true

# --- node_exporter, scraped every second
prometheus-node-exporter --web.listen-address="127.0.0.1:$NPORT" >"$WORK/node_exporter.log" 2>&1 &
NPID=$!
PIDS+=($NPID)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NPORT/metrics" && break; sleep 0.1; done
t0=$(cpu_ticks $NPID)
for _ in $(seq "$SECS"); do
    curl -s -H 'Accept-Encoding: gzip' -o /dev/null "http://127.0.0.1:$NPORT/metrics"
    sleep 1
done
report node_exporter $NPID "$t0" "$SECS"
plain=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$NPORT/metrics")
gz=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$NPORT/metrics")
series=$(curl -s "http://127.0.0.1:$NPORT/metrics" | grep -vc '^#')
echo "node_exporter: one scrape = $plain bytes of body ($gz gzip), $series series"
kill $NPID; wait $NPID 2>/dev/null || true
