#!/usr/bin/env bash
# ward-collector and nginx at the same time, each with its own load generator at the same load
# (docs/benchmarks.md, "Side by side with nginx").
#
#   tools/bench/side_by_side.sh BUILD N INTERVAL_MS RAMP_S HOLD_S ROUNDS
#
# Each round starts tools/bench/loadgen.sh twice at once: N agents against the collector
# (--loops 1, then WARD_COLLECTOR_ARGS, whose --loops wins) and N against nginx (one worker,
# `return 204`, the same mutual TLS). Both ramp and hold over the same seconds, so whatever
# else the machine does falls on both alike: the per-round ratio of CPU per heartbeat is far
# steadier than that of runs taken in turn (loadgen.sh, loops_vs_nginx.sh), where one run's
# machine is not the next one's. Prints one line per round, then one JSON line: per side the
# median heartbeats/s, p99 and CPU per heartbeat, and the ratio's median, mean and range.
# Work files: $WORK (default /tmp/ward-bench-side); every process is started and stopped by
# the load generators (by PID); on SIGINT/SIGTERM the round's two loadgen.sh and their load
# generators are stopped (each stops its server). Needs nginx (tools/bootstrap).
set -euo pipefail

[ $# -eq 6 ] || { echo "usage: $0 BUILD N INTERVAL_MS RAMP_S HOLD_S ROUNDS" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$1 N=$2 INTERVAL=$3 RAMP=$4 HOLD=$5 ROUNDS=$6
WORK=${WORK:-/tmp/ward-bench-side}
mkdir -p "$WORK/runs"
rm -f "$WORK"/runs/*.json

col='' ngx=''
stop() { # the round's loadgen.sh, then the load generators they started (by PID)
    local pids=() kids=() p
    for p in $col $ngx; do
        mapfile -t kids < <(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ' || true)
        pids+=("$p" "${kids[@]}")
    done
    [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
    exit 130
}
trap stop INT TERM

for ((r = 1; r <= ROUNDS; r++)); do
    echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # Two free ports from one process, both bound at once: never the same one for both sides
    # (two loadgen.sh choosing PORT=0 each could be handed the same port between bind and use).
    read -r port_col port_ngx < <(python3 -c "import socket
a, b = socket.socket(), socket.socket()
a.bind(('127.0.0.1', 0)); b.bind(('127.0.0.1', 0))
print(a.getsockname()[1], b.getsockname()[1])")
    WORK=$WORK/collector PORT=$port_col WARD_COLLECTOR_ARGS="--loops 1 ${WARD_COLLECTOR_ARGS:-}" \
        "$HERE/loadgen.sh" "$BUILD" "$N" "$INTERVAL" "$RAMP" "$HOLD" --no-nginx >/dev/null &
    col=$!
    WORK=$WORK/nginx PORT=$port_ngx \
        "$HERE/loadgen.sh" "$BUILD" "$N" "$INTERVAL" "$RAMP" "$HOLD" --only-nginx >/dev/null &
    ngx=$!
    rc=0
    wait $col || rc=$?
    wait $ngx || rc=$?
    [ $rc -eq 0 ] || { echo "side_by_side.sh: round $r: a load generator failed ($rc)" >&2; exit 1; }
    cp "$WORK/collector/collector.json" "$WORK/runs/collector.$r.json"
    cp "$WORK/nginx/nginx.json" "$WORK/runs/nginx.$r.json"
done

python3 - "$WORK/runs" "$ROUNDS" <<'EOF'
import json, statistics, sys

runs, rounds = sys.argv[1], int(sys.argv[2])
side = {"collector": [], "nginx": []}
for r in range(1, rounds + 1):
    for name in side:
        side[name].append(json.load(open(f"{runs}/{name}.{r}.json")))
ratios = []
for r, (c, n) in enumerate(zip(side["collector"], side["nginx"]), 1):
    for name, d in (("collector", c), ("nginx", n)):
        if d["failed"] or d["non2xx"] or not d["acks"]:
            sys.exit(f"side_by_side.sh: round {r}: {name} had {d['failed']} failed, "
                     f"{d['non2xx']} non-2xx, {d['acks']} acks")
    ratio = c["server_cpu_us_per_hb"] / max(n["server_cpu_us_per_hb"], 0.001)
    ratios.append(ratio)
    print(f"round {r}: collector {c['hb_per_s']} hb/s p99 {c['p99_ms']} ms "
          f"{c['server_cpu_us_per_hb']} us/hb | nginx {n['hb_per_s']} hb/s p99 {n['p99_ms']} ms "
          f"{n['server_cpu_us_per_hb']} us/req | ratio {ratio:.3f}")
med = statistics.median
out = {"rounds": rounds}
for name, ds in side.items():
    out[name] = {"hb_per_s": med(d["hb_per_s"] for d in ds), "p99_ms": med(d["p99_ms"] for d in ds),
                 "cpu_us_per_hb": med(d["server_cpu_us_per_hb"] for d in ds)}
out["cpu_ratio"] = {"median": round(med(ratios), 3), "mean": round(statistics.fmean(ratios), 3),
                    "min": round(min(ratios), 3), "max": round(max(ratios), 3)}
print(json.dumps(out))
EOF
