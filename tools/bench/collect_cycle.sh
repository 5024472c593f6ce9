#!/usr/bin/env bash
# The cost of one collection cycle of ward's Linux backend, and the same inventory read by its
# peers on the same machine: `sensors -j` (lm-sensors) and `ip -s link` (iproute2).
#
#   tools/bench/collect_cycle.sh [BUILD_DIR]        (default: build/linux-x86_64; run as root)
#
# 1. a generated machine (make_fixture.py: 48 temperatures, 7 fans, 9 NICs incl. lo, 8 disks,
#    6 filesystems) read in-process by collect_cycle: median wall time per cycle over 5000
#    cycles with files kept open and with every file reopened; callgrind instructions per cycle
#    (--toggle-collect=bench_cycle, 200 timed + 10 warm-up cycles);
# 2. whole processes on that machine, median of 50 runs each (timed from one Python process,
#    fork+exec included for all alike) and callgrind instructions of one run:
#    `ward-agent probe --json` (discovery + one cycle + JSON) and `sensors -j`, with the tree
#    bind-mounted over /sys/class, /sys/devices and /sys/bus in a private mount namespace
#    (libsensors insists that /sys is sysfs, so --root-style redirection is impossible);
# 3. real sysfs: a network namespace with 8 veth interfaces (4 pairs, plus lo): collect_cycle over its
#    /sys (`ip netns exec` mounts the namespace's sysfs) against `ip -s link` there.
#
# Root is needed for 2 (sensors) and 3; without it those parts are skipped with a message.
# Everything the script creates (temporary tree, mount and network namespaces) is gone on exit.
# No timing here is a test verdict: see docs/benchmarks.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build/linux-x86_64}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/ward-bench.XXXXXX)
NS=wardbench$$
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }

cmake --build "$BUILD" --target ward_bench_collect_cycle ward-agent >/dev/null
CC_BIN=$BUILD/tools/bench/collect_cycle
AGENT=$BUILD/board/ward-agent
[ -x "$CC_BIN" ] && [ -x "$AGENT" ] || { say "collect_cycle or ward-agent not built in $BUILD"; exit 1; }
FIX=$WORK/fixture
"$PY" "$ROOT/tools/bench/make_fixture.py" "$FIX"
ulimit -n 4096 # the backend keeps at most half of RLIMIT_NOFILE open

# Median wall time of N runs of a command, in ms.
cat >"$WORK/median.py" <<'PYEOF'
import statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(n):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(times):.2f}")
PYEOF
median_ms() { "$PY" "$WORK/median.py" "$@"; }

# Instructions callgrind counted (the toggled function, or the whole run).
callgrind_ir() { # out-file, valgrind options and command...
    local out=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$out.log"
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.log" | tail -n 1
}

say "== machine: $(nproc) CPUs, kernel $(uname -r), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
say "== 1. ward collection cycle, in-process, on the generated tree"
"$CC_BIN" --root "$FIX" --cycles 5000 --check 48,7,9,8,6
"$CC_BIN" --root "$FIX" --cycles 5000 --reopen
for mode in keep reopen; do
    extra=()
    [ $mode = reopen ] && extra=(--reopen)
    ir=$(callgrind_ir "$WORK/cg.$mode" --collect-atstart=no --toggle-collect=bench_cycle \
        "$CC_BIN" --root "$FIX" --cycles 200 "${extra[@]}")
    say "callgrind, files $mode: $((ir / 210)) instructions per cycle"
done

say "== 2. whole processes on the same tree (median of 50 runs; one run under callgrind)"
say "ward-agent probe --json: $(median_ms 50 "$AGENT" probe --root "$FIX" --json) ms," \
    "$(callgrind_ir "$WORK/cg.probe" "$AGENT" probe --root "$FIX" --json) instructions"
if [ "$(id -u)" -eq 0 ] && command -v sensors >/dev/null && command -v unshare >/dev/null; then
    cat >"$WORK/in-ns.sh" <<NSEOF
set -e
mount --make-rprivate /
for d in class devices bus; do mount --bind "$FIX/sys/\$d" "/sys/\$d"; done
echo "sensors -j reads \$(sensors -j 2>/dev/null | grep -c '_input"') inputs from the tree"
ms=\$("$PY" "$WORK/median.py" 50 sensors -j)
valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.sensors" sensors -j >/dev/null 2>"$WORK/cg.sensors.log"
ir=\$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/cg.sensors.log")
echo "sensors -j: \$ms ms, \$ir instructions"
NSEOF
    unshare -m bash "$WORK/in-ns.sh"
else
    say "sensors -j: skipped (needs root, lm-sensors and unshare)"
fi

say "== 3. real sysfs: network namespace $NS with 8 veth interfaces (4 pairs) and lo"
if [ "$(id -u)" -eq 0 ] && ip netns add "$NS" 2>/dev/null; then
    ip -n "$NS" link set lo up
    for i in 1 2 3 4; do
        ip -n "$NS" link add "va$i" type veth peer name "vb$i"
        ip -n "$NS" link set "va$i" up
        ip -n "$NS" link set "vb$i" up
    done
    ip netns exec "$NS" "$CC_BIN" --cycles 5000 | sed 's/^/real sysfs: /'
    ip netns exec "$NS" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.real" \
        --collect-atstart=no --toggle-collect=bench_cycle "$CC_BIN" --cycles 200 \
        >/dev/null 2>"$WORK/cg.real.log"
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/cg.real.log" | tail -n 1)
    say "real sysfs: callgrind $((ir / 210)) instructions per cycle"
    say "ip -s link: $(median_ms 50 ip -n "$NS" -s link) ms," \
        "$(callgrind_ir "$WORK/cg.ip" ip -n "$NS" -s link) instructions"
else
    say "skipped (needs root and network namespaces)"
fi
