#!/usr/bin/env bash
# History's cost on ingest (docs/benchmarks.md, "History on vs off, interleaved").
#
#   tools/bench/history_ab.sh BUILD N ROUNDS [HOLD_S] [SENSORS]
#
# The same collector binary under the same load (N loadgen agents in closed loop, each batch
# carrying a snapshot page of SENSORS moving values, default 8), with history on and with
# --no-history, in ROUNDS pairs run in one session and interleaved A B B A A B ... so that a
# drift of the (shared) machine's load falls on both sides alike. Each run is a fresh state
# directory. Prints one line per run and a summary: mean, min and max of heartbeats/s, p99
# acknowledgement latency and server CPU per heartbeat for each side, the ratio of the means
# and the spread of the per-pair ratios. A run with history on must leave a history.db with
# points in it, one with --no-history must leave none: otherwise the bench fails (it measured
# nothing).
# Work files: $WORK (default /tmp/ward-bench-history-ab); PORT (default 18453); COLLECTOR
# (default BUILD/tools/ward-collector: another binary, e.g. one built at an older commit, to
# compare writers); INTERVAL_MS (default 0, closed loop: each agent sends its next heartbeat
# when the last one is answered; above 0, open loop: every INTERVAL_MS whatever the answers,
# so both sides get the same offered rate and the same batching, and CPU per heartbeat and p99
# compare at equal load).
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 BUILD N ROUNDS [HOLD_S] [SENSORS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
N=$2
ROUNDS=$3
HOLD=${4:-8}
SENSORS=${5:-8}
RAMP=${RAMP:-2}
INTERVAL_MS=${INTERVAL_MS:-0}
WORK=${WORK:-/tmp/ward-bench-history-ab}
PORT=${PORT:-18453}
LOADGEN=$BUILD/tools/bench/loadgen
COLLECTOR=${COLLECTOR:-$BUILD/tools/ward-collector}
[ -x "$LOADGEN" ] && [ -x "$COLLECTOR" ] ||
    { echo "history_ab.sh: build $BUILD first (loadgen, ward-collector)" >&2; exit 1; }
case "$N$ROUNDS$HOLD$SENSORS$INTERVAL_MS" in *[!0-9]*) echo "history_ab.sh: N, ROUNDS, HOLD_S, SENSORS, INTERVAL_MS are numbers" >&2; exit 2 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || { echo "history_ab.sh: ROUNDS 1..50" >&2; exit 2; }

mkdir -p "$WORK"
if [ ! -f "$WORK/pki/ca.crt" ]; then
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
fi
python3 "$HERE/mkcerts.py" "$WORK/pki" "$WORK/certs" "$N" >&2
rm -f "$WORK"/run-*.json
echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)" \
    "$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); $N agents, $SENSORS values a batch," \
    "$ROUNDS pairs of ${HOLD}s; interval ${INTERVAL_MS} ms (0: closed loop); $COLLECTOR"

run() { # run ROUND on|off
    local args=() state="$WORK/state-$2"
    [ "$2" = off ] && args=(--no-history)
    rm -rf "$state"
    "$LOADGEN" --pki "$WORK/pki" --certs "$WORK/certs" --agents "$N" --port "$PORT" \
        --ramp "$RAMP" --hold "$HOLD" --interval-ms "$INTERVAL_MS" --sensors "$SENSORS" -- \
        "$COLLECTOR" --pki "$WORK/pki" --state "$state" --listen "127.0.0.1:$PORT" \
        --api-listen 127.0.0.1:0 --log-level error "${args[@]}" >"$WORK/run-$1-$2.json" &
    local lg=$!
    # CPU by thread of the collector the load generator started (its child), over the last
    # HOLD_S seconds it ran (the hold; the load generator stops it right after): the event
    # loop is the thread named ward-collector, the history writer wcol-history.
    python3 - "$lg" "$WORK/threads-$1-$2.json" "$HOLD" <<'EOF' || true
import json, os, sys, time
lg, out, hold = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
tick = os.sysconf("SC_CLK_TCK")
pid, samples, latest, end = None, [], {}, time.monotonic() + 600
while time.monotonic() < end and os.path.exists("/proc/%d" % lg):
    if pid is None:
        try:
            kids = open("/proc/%d/task/%d/children" % (lg, lg)).read().split()
        except OSError:
            kids = []
        for k in kids:
            try:
                if open("/proc/%s/comm" % k).read().strip() == "ward-collector":
                    pid = int(k)
            except OSError:
                pass
    else:
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                comm = open("/proc/%d/task/%s/comm" % (pid, t)).read().strip()
                f = open("/proc/%d/task/%s/stat" % (pid, t)).read().rsplit(")", 1)[1].split()
                latest[t] = (comm, (int(f[11]) + int(f[12])) / tick)
        except OSError:
            pass
        cpu = {}
        for comm, v in latest.values():  # a thread that ended keeps its last count
            cpu[comm] = cpu.get(comm, 0) + v
        samples.append((time.monotonic(), cpu))
    time.sleep(0.1)
by = {}
if samples:
    t1, c1 = samples[-1]
    t0, c0 = min(samples, key=lambda x: abs(x[0] - (t1 - hold)))
    by = {k: round(v - c0.get(k, 0), 3) for k, v in c1.items()}
    by["window_s"] = round(t1 - t0, 2)
json.dump(by, open(out, "w"))
EOF
    wait "$lg"
    # What history kept: the raw tier's points (0 when there is no history.db).
    local points=0
    if [ -f "$state/history.db" ]; then
        points=$(python3 - "$state/history.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select coalesce(sum(cnt), 0) from buckets where tier = 0").fetchone()[0])
EOF
)
    fi
    python3 - "$WORK/run-$1-$2.json" "$points" "$WORK/threads-$1-$2.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.loads(open(p).read().strip().splitlines()[-1])
d["history_points"] = int(sys.argv[2])
try:
    th = json.load(open(sys.argv[3]))
except (OSError, ValueError):
    th = {}
# per heartbeat acknowledged in the window, at the hold's rate
acks = max(d["hb_per_s"] * th.get("window_s", 0.0), 1)
d["threads_cpu_s"] = th
d["loop_cpu_us_per_hb"] = round(th.get("ward-collector", 0.0) * 1e6 / acks, 1)
d["history_cpu_us_per_hb"] = round(th.get("wcol-history", 0.0) * 1e6 / acks, 1)
open(p, "w").write(json.dumps(d))
EOF
    python3 - "$WORK/run-$1-$2.json" "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("round %s history %-3s: %8.0f hb/s  p99 %8.2f ms  %6.1f us/hb (loop thread %.1f, history "
      "writer %.1f)  held %d  failed %d  history points %d"
      % (sys.argv[2], sys.argv[3], d["hb_per_s"], d["p99_ms"], d["server_cpu_us_per_hb"],
         d["loop_cpu_us_per_hb"], d["history_cpu_us_per_hb"], d["held"], d["failed"],
         d["history_points"]))
EOF
}

for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then run "$r" on; run "$r" off; else run "$r" off; run "$r" on; fi
done

python3 - "$WORK" "$ROUNDS" "$N" <<'EOF'
import json, statistics, sys
work, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {m: [json.load(open(f"{work}/run-{r}-{m}.json")) for r in range(1, rounds + 1)]
        for m in ("on", "off")}
bad = []
for m, rs in runs.items():
    for i, d in enumerate(rs, 1):
        if d["held"] != n or d["acks"] == 0 or d["failed"] != 0 or d["non2xx"] != 0:
            bad.append(f"round {i} history {m}: held {d['held']}/{n}, acks {d['acks']}, "
                       f"failed {d['failed']}, non2xx {d['non2xx']}")
        if (m == "on") != (d["history_points"] > 0):
            bad.append(f"round {i} history {m}: {d['history_points']} history points")
def stats(m, k):
    v = [d[k] for d in runs[m]]
    return {"mean": round(statistics.fmean(v), 2), "min": min(v), "max": max(v)}
out = {"history_ab": "ok" if not bad else "failed", "rounds": rounds, "agents": n,
       "load_end": open("/proc/loadavg").read().split()[:3]}
KEYS = ("hb_per_s", "p99_ms", "server_cpu_us_per_hb", "loop_cpu_us_per_hb",
        "history_cpu_us_per_hb")
for m in ("on", "off"):
    out[m] = {k: stats(m, k) for k in KEYS}
for k in KEYS[:4]:
    pair = [a[k] / b[k] for a, b in zip(runs["on"], runs["off"]) if b[k] > 0]
    out[k + "_ratio_on_off"] = {
        "of_means": round(out["on"][k]["mean"] / max(out["off"][k]["mean"], 1e-9), 3),
        "pairs_min": round(min(pair), 3) if pair else None,
        "pairs_max": round(max(pair), 3) if pair else None}
print(json.dumps(out))
for b in bad:
    print("history_ab.sh: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
