#!/usr/bin/env bash
# ward-collector --loops 1, --loops 2 and nginx, interleaved, with the same load generator
# (docs/benchmarks.md, "Event loops on every core").
#
#   tools/bench/loops_vs_nginx.sh BUILD N INTERVAL_MS RAMP_S HOLD_S ROUNDS [LOOPS...]
#
# Each round runs tools/bench/loadgen.sh once per configuration, in turn: the collector with
# --loops L for each L given (default: 1 2), then nginx (one worker, `return 204`, the same
# mutual TLS). Interleaving spreads a shared machine's changing load over all of them; the
# summary gives, per configuration, the median and the range over the rounds of heartbeats
# per second, p99 acknowledgement latency and server CPU per heartbeat (all threads), and the
# ratio of medians against nginx. Work files: $WORK (default /tmp/ward-bench-loops); every
# process is started and stopped by the load generator (by PID). Needs nginx (tools/bootstrap).
set -euo pipefail

[ $# -ge 6 ] || { echo "usage: $0 BUILD N INTERVAL_MS RAMP_S HOLD_S ROUNDS [LOOPS...]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$1 N=$2 INTERVAL=$3 RAMP=$4 HOLD=$5 ROUNDS=$6
shift 6
LOOPS=("$@")
[ ${#LOOPS[@]} -gt 0 ] || LOOPS=(1 2)
export WORK=${WORK:-/tmp/ward-bench-loops}
export PORT=${PORT:-18543}
mkdir -p "$WORK/runs"
rm -f "$WORK"/runs/*.json

for ((r = 1; r <= ROUNDS; r++)); do
    for l in "${LOOPS[@]}"; do
        echo "# round $r: ward-collector --loops $l, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
        WARD_COLLECTOR_ARGS="--loops $l ${WARD_COLLECTOR_ARGS:-}" \
            "$HERE/loadgen.sh" "$BUILD" "$N" "$INTERVAL" "$RAMP" "$HOLD" --no-nginx >/dev/null
        cp "$WORK/collector.json" "$WORK/runs/loops$l.$r.json"
    done
    echo "# round $r: nginx, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$HERE/loadgen.sh" "$BUILD" "$N" "$INTERVAL" "$RAMP" "$HOLD" --only-nginx >/dev/null
    cp "$WORK/nginx.json" "$WORK/runs/nginx.$r.json"
done

python3 - "$WORK/runs" "$N" "$INTERVAL" <<'EOF'
import glob, json, os, statistics, sys
runs, n, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
by = {}
for p in sorted(glob.glob(os.path.join(runs, "*.json"))):
    name = os.path.basename(p).split(".")[0]
    with open(p) as f:
        by.setdefault(name, []).append(json.load(f))
keys = [("hb_per_s", "hb/s", "%.0f"), ("p99_ms", "p99 ms", "%.1f"),
        ("server_cpu_us_per_hb", "CPU us/hb", "%.1f")]
offered = "closed loop" if interval == 0 else "%.0f/s offered" % (n * 1000.0 / interval)
print("%d agents, %s, %d rounds" % (n, offered, max(len(v) for v in by.values())))
print("| server | " + " | ".join(k[1] + " (median, range)" for k in keys) + " | failed |")
print("|---|" + "---|" * (len(keys) + 1))
med = {}
for name in sorted(by, key=lambda s: (s == "nginx", s)):
    rs = by[name]
    cells = []
    for k, _, fmt in keys:
        vals = [r[k] for r in rs]
        med[(name, k)] = statistics.median(vals)
        cells.append((fmt + " (" + fmt + "-" + fmt + ")") % (med[(name, k)], min(vals), max(vals)))
    label = "nginx (1 worker)" if name == "nginx" else "ward --" + name.replace("loops", "loops ")
    print("| %s | %s | %d |" % (label, " | ".join(cells), sum(r.get("failed", 0) for r in rs)))
if "nginx" in by:
    for name in sorted(by):
        if name == "nginx":
            continue
        print("%s / nginx (medians): hb/s %.2f, p99 %.2f, CPU per hb %.2f" % (
            name, med[(name, "hb_per_s")] / max(med[("nginx", "hb_per_s")], 1),
            med[(name, "p99_ms")] / max(med[("nginx", "p99_ms")], 0.001),
            med[(name, "server_cpu_us_per_hb")] / max(med[("nginx", "server_cpu_us_per_hb")], 0.001)))
EOF
