#!/usr/bin/env bash
# Time to drain a full event log after an outage (docs/benchmarks.md, "Backlog drain").
#
#   tools/bench/drain.sh SIM_BUILD HOST_BUILD
#   HB_MS=1000 LIMIT=120 tools/bench/drain.sh ...   (a 1 s heartbeat, poll up to 120 s)
#
# 1. outage: a sim-board ward-agent (SIM_BUILD/board/ward-agent) whose 16 temperature
#    sensors cross their thresholds at every 100 ms sample reports to a port nobody listens
#    on for 5 s: its event log (CONFIG_WARD_EVLOG_SIZE) and journal fill; it stops (SIGTERM
#    path, --for) with every event kept in the journal;
# 2. recovery: a ward-collector (HOST_BUILD/tools/ward-collector, SQLite, 127.0.0.1) starts
#    and the agent restarts on a quiet scenario with a 60 s heartbeat (HB_MS): it restores the
#    journal into its log and drains it. A poller reads the collector's database every
#    2 ms and prints when the first and the last restored event were committed, and the
#    agent's stats line says how many requests it took.
# Every process is started here and stopped by its PID. Work files: $WORK.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SIM_BUILD HOST_BUILD" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AGENT=$(cd "$1" && pwd)/board/ward-agent
COLLECTOR=$(cd "$2" && pwd)/tools/ward-collector
WORK=${WORK:-/tmp/ward-bench-drain}
CPORT=${CPORT:-19543}
HB_MS=${HB_MS:-60000}
LIMIT=${LIMIT:-20}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK"
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" device drain-1 >/dev/null
python3 - "$WORK" "$HB_MS" <<'PY'
import json, sys
w = sys.argv[1]
def temps(square):
    out = []
    for i in range(16):
        v = ({"behaviour": "square", "low": 50000, "high": 95000, "period": 200, "duty": 50}
             if square else 50000)
        out.append({"id": "temp:bench%02d" % i, "label": "t%d" % i, "value": v,
                    "thresholds": {"upper_caution": 80000, "upper_critical": 90000}})
    return out
for name, square in (("flap", True), ("quiet", False)):
    json.dump({"name": name, "seed": 1, "duration_ms": 600000, "temps": temps(square)},
              open("%s/%s.json" % (w, name), "w"))
json.dump({"rules": [], "intervals_ms": {"temp": 100, "heartbeat": int(sys.argv[2])}},
          open(w + "/rules.json", "w"))
PY
agent() { # scenario seconds
    "$AGENT" run --collector "127.0.0.1:$CPORT" --server-name localhost --ca "$WORK/pki/ca.crt" \
        --cert "$WORK/pki/devices/drain-1.crt" --key "$WORK/pki/devices/drain-1.key" \
        --state-dir "$WORK/astate" --rules "$WORK/rules.json" --scenario "$WORK/$1.json" --for "$2"
}

# 1. the outage
agent flap 5 2>"$WORK/outage.log" || { cat "$WORK/outage.log"; exit 1; }
grep "unacknowledged events kept" "$WORK/outage.log"

# 2. recovery
"$COLLECTOR" --pki "$WORK/pki" --state "$WORK/cstate" --listen "127.0.0.1:$CPORT" \
    --api-listen 127.0.0.1:0 --log-level error &
PIDS+=($!)
for _ in $(seq 100); do [ -f "$WORK/cstate/ports" ] && break; sleep 0.1; done
[ -f "$WORK/cstate/ports" ] || { echo "the collector did not start"; exit 1; }
python3 - "$WORK/cstate/ward.db" "$LIMIT" "$HB_MS" >"$WORK/poll.txt" <<'PY' &
import sqlite3, sys, time
db, limit = sys.argv[1], float(sys.argv[2])
t0 = time.monotonic() # the agent starts once the first line is out: t0 is about its start
last, changed = -1, t0
while time.monotonic() - t0 < limit:
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    now = time.monotonic()
    if n != last:
        print("%.4f %d" % (now - t0, n), flush=True)
        last, changed = n, now
    elif n > 0 and now - changed > 3 + 2 * int(sys.argv[3]) / 1000:
        break
    time.sleep(0.002)
PY
POLL=$!
PIDS+=($POLL)
for _ in $(seq 100); do [ -s "$WORK/poll.txt" ] && break; sleep 0.05; done # polling
agent quiet "$LIMIT" 2>"$WORK/recovery.log" || { cat "$WORK/recovery.log"; exit 1; }
wait $POLL || true
grep -E "restored|-> up" "$WORK/recovery.log" | head -3
python3 - "$WORK" "$HB_MS" <<'PY'
import json, sys
w = sys.argv[1]
log = open(w + "/recovery.log").read()
restored = int(log.split(" unacknowledged events restored")[0].rsplit(" ", 1)[1])
stats = [json.loads(l.split("stats ", 1)[1]) for l in log.splitlines() if " stats {" in l][-1]
pts = [tuple(map(float, l.split())) for l in open(w + "/poll.txt") if l.strip()]
first = next(t for t, n in pts if n > 0)
done, stored = pts[-1]
# The log holds CONFIG_WARD_EVLOG_SIZE events: restoring more folds repeats into counts and
# evicts the lowest severity (counted in the heartbeat), so fewer records than were restored
# are sent; drained means the log is empty.
print("journal records restored %d -> %d events in the log, all sent: %d requests in the run "
      "(heartbeat every %s ms), pending at the end %d" % (restored, stored, stats["requests"], sys.argv[2],
                                                          stats["pending_events"]))
if stats["pending_events"] != 0:
    sys.exit("NOT drained")
print("agent started -> first batch committed %.0f ms (TLS handshake included); first -> last "
      "of %d events %.0f ms (%.0f events/s)" % (first * 1000, stored, (done - first) * 1000,
                                      stored / max(done - first, 1e-3)))
PY
