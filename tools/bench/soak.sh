#!/usr/bin/env bash
# The collector soak (docs/benchmarks.md, "Soak"): many agents heartbeating fast against one
# collector for MINUTES; the collector's RSS, open file descriptors and database size sampled
# every few seconds; a verdict on whether they stay flat after the warm-up.
#
#   tools/bench/soak.sh BUILD MINUTES [AGENTS] [INTERVAL_MS]     (defaults: 200 agents, 100 ms)
#
# A compressed day: at the default 60 s heartbeat a device sends 1,440 heartbeats a day; at
# 100 ms it sends them in 144 s, so MINUTES=3 is a day of heartbeats for every agent (600x).
# The agents are tools/bench/loadgen's (the firmware's transport, TLS and report code, one
# epoll in one process), each with its own device certificate (mkcerts.py, cached in $WORK).
#
# Flat, after the warm-up (the first 25 % of the hold, at least 15 s):
#   fds  the collector's open descriptors vary by at most 2 (one per agent plus its own files;
#        a leak of one per reconnect or request would show within seconds);
#   RSS  the largest sample is at most 10 % (and 4 MiB) above the first one after the warm-up;
#   DB   ward.db + -wal + -shm grow by at most max(1 MiB, 16 KiB per agent) after the warm-up
#        (heartbeats update each device's row in place, and the WAL is reused after SQLite's
#        checkpoint at 1000 pages, about 4 MiB: both reach their size in the warm-up);
#   and no heartbeat failed or was refused, every agent stayed connected.
# Prints one "soak: ..." summary line and "soak: PASS" or "soak: FAIL <why>" (exit 1).
# Samples: $WORK/soak.csv (t_s,rss_kib,fds,db_bytes). Work files: $WORK (default
# /tmp/ward-soak). The load generator starts and stops the collector (by PID).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 BUILD MINUTES [AGENTS] [INTERVAL_MS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
MINUTES=$2
N=${3:-200}
INTERVAL=${4:-100}
WORK=${WORK:-/tmp/ward-soak}
PORT=${PORT:-0}
SAMPLE_S=${SAMPLE_S:-2}
LOADGEN=$BUILD/tools/bench/loadgen
COLLECTOR=$BUILD/tools/ward-collector
[ -x "$LOADGEN" ] && [ -x "$COLLECTOR" ] || { echo "soak.sh: build $BUILD first (loadgen, ward-collector)" >&2; exit 1; }
case $MINUTES in '' | *[!0-9.]*) echo "soak.sh: MINUTES must be a number" >&2; exit 2 ;; esac
HOLD=$(python3 -c "print(max(20, int(float('$MINUTES') * 60)))")
RAMP=$(( N / 50 + 2 ))

mkdir -p "$WORK"
if [ ! -f "$WORK/pki/ca.crt" ]; then
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
fi
python3 "$HERE/mkcerts.py" "$WORK/pki" "$WORK/certs" "$N" >&2
if [ "$PORT" = 0 ]; then # a free port on loopback, chosen by the kernel
    PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
fi
rm -rf "$WORK/state"
mkdir -p "$WORK/state"
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
     "$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); $N agents x $INTERVAL ms for $HOLD s" >&2

"$LOADGEN" --pki "$WORK/pki" --certs "$WORK/certs" --agents "$N" --port "$PORT" --ramp "$RAMP" \
    --hold "$HOLD" --interval-ms "$INTERVAL" -- \
    "$COLLECTOR" --pki "$WORK/pki" --state "$WORK/state" --listen "127.0.0.1:$PORT" \
    --api-listen 127.0.0.1:0 --log-level error >"$WORK/loadgen.json" 2>"$WORK/loadgen.log" &
LG=$!
trap 'kill "$LG" 2>/dev/null || true' EXIT

# The collector is the load generator's child; sample it until the load generator ends.
COL=""
for _ in $(seq 1 100); do
    COL=$({ cat "/proc/$LG/task/$LG/children" 2>/dev/null || true; } | awk '{print $1}')
    [ -n "$COL" ] && break
    sleep 0.1
done
[ -n "$COL" ] || { echo "soak: FAIL the load generator started no collector: $(cat "$WORK/loadgen.log")"; exit 1; }
T0=$(date +%s.%N)
UP_S=""
echo "t_s,rss_kib,fds,db_bytes" >"$WORK/soak.csv"
# Each read may fail (no ward.db yet while the collector starts, the process just gone): under
# "set -e -o pipefail" a failing read ended the script with no verdict, so each one counts
# what it could read instead. Sampling ends with the hold: the load generator writes its
# result line (and flushes it) before it disconnects the agents, and a sample taken while
# they went (fds 100 -> 42) is not one of the soak's.
while kill -0 "$LG" 2>/dev/null && [ -d "/proc/$COL" ] && [ ! -s "$WORK/loadgen.json" ]; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$COL/status" 2>/dev/null || true)
    fds=$({ ls "/proc/$COL/fd" 2>/dev/null || true; } | wc -l)
    db=$({ cat "$WORK"/state/ward.db* 2>/dev/null || true; } | wc -c)
    [ ! -s "$WORK/loadgen.json" ] || break # the hold ended during these reads
    t=$(python3 -c "print(round($(date +%s.%N) - $T0, 1))")
    [ -n "$rss" ] && echo "$t,$rss,$fds,$db" >>"$WORK/soak.csv"
    # The hold starts when the load generator has every agent up (it says so): not before
    # this sample.
    if [ -z "$UP_S" ] && grep -q " agents up after " "$WORK/loadgen.log" 2>/dev/null; then
        UP_S=$t
    fi
    sleep "$SAMPLE_S"
done
wait "$LG" || { echo "soak: FAIL the load generator exited $?: $(tail -n 5 "$WORK/loadgen.log")"; exit 1; }
trap - EXIT

python3 - "$WORK" "$N" "$HOLD" "$RAMP" "${UP_S:-0}" <<'EOF'
import csv, json, sys
work, n, hold, ramp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
up_s = float(sys.argv[5])
res = json.loads(open(work + "/loadgen.json").read().strip().splitlines()[-1])
rows = [(float(r["t_s"]), int(r["rss_kib"]), int(r["fds"]), int(r["db_bytes"]))
        for r in csv.DictReader(open(work + "/soak.csv"))]
# The hold starts once every agent is up: the ramp, plus the fds reaching their plateau, and
# not before the load generator said every agent was up (up_s). On a loaded machine the fds
# peak early, with handshakes the collector then times out and the agents retry: the ramp
# took 43 s, the fds first peaked at 11 s, and the warm-up ended before all were up.
fd_top = max(r[2] for r in rows)
t_up = max(up_s, next(r[0] for r in rows if r[2] >= fd_top - 2))
warm = t_up + max(15.0, 0.25 * hold)
after = [r for r in rows if r[0] >= warm]
why = []
if len(after) < 3:
    why.append("only %d samples after the warm-up (%.0f s)" % (len(after), warm))
else:
    rss0, fds, dbs = after[0][1], [r[2] for r in after], [r[3] for r in after]
    db_bound = max(1 << 20, 16 * 1024 * n)
    rss_max = max(r[1] for r in after)
    if max(fds) - min(fds) > 2:
        why.append("fds went from %d to %d after the warm-up" % (min(fds), max(fds)))
    if rss_max > rss0 * 1.10 and rss_max - rss0 > 4096:
        why.append("RSS grew from %d to %d KiB after the warm-up" % (rss0, rss_max))
    if max(dbs) - dbs[0] > db_bound:
        why.append("the database grew by %d bytes after the warm-up (bound %d)" %
                   (max(dbs) - dbs[0], db_bound))
if res["held"] != n or res["failed"] or res["non2xx"]:
    why.append("held %d of %d agents, %d failed, %d refused" % (res["held"], n, res["failed"],
                                                             res["non2xx"]))
s = after if after else rows
print("soak: %d agents, %d heartbeats (%.0f/s, p99 %.1f ms) in %.0f s; after a %.0f s warm-up: "
      "RSS %d-%d KiB, fds %d-%d, database %d-%d bytes (%d samples)" %
      (n, res["acks"], res["hb_per_s"], res["p99_ms"], res["hold_s"], warm,
       min(r[1] for r in s), max(r[1] for r in s), min(r[2] for r in s), max(r[2] for r in s),
       min(r[3] for r in s), max(r[3] for r in s), len(rows)))
print("soak: FAIL " + "; ".join(why) if why else "soak: PASS")
sys.exit(1 if why else 0)
EOF
