#!/usr/bin/env bash
# User-space instructions per heartbeat of the collector, under callgrind (docs/benchmarks.md,
# "Heartbeat merge in C"). Instruction counts do not depend on the machine's load.
#
#   tools/bench/callgrind_hb.sh BUILD [AGENTS] [SECONDS]   (default 10 agents, 10 s)
#
# The collector (--loops 1) runs under valgrind --tool=callgrind with instrumentation off;
# loadgen's AGENTS agents report to it in a closed loop; after their ramp, instrumentation is on
# for SECONDS, so handshakes are not counted. Heartbeats are the calls of ward_ingest_decode.
# Prints instructions per heartbeat, in total and by object (collector, libsqlite3, libc, ...),
# and the top functions. Work files: $WORK (default /tmp/ward-bench-callgrind); port: $PORT
# (default: a free one). Every process started here is stopped (by PID) before it exits.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD [AGENTS] [SECONDS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
N=${2:-10}
SECS=${3:-10}
WORK=${WORK:-/tmp/ward-bench-callgrind}
PORT=${PORT:-0}
if [ "$PORT" = 0 ]; then
    PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
fi
COLLECTOR=$BUILD/tools/ward-collector
LOADGEN=$BUILD/tools/bench/loadgen
[ -x "$LOADGEN" ] && [ -x "$COLLECTOR" ] || { echo "callgrind_hb.sh: build $BUILD first (loadgen, ward-collector)" >&2; exit 1; }
mkdir -p "$WORK"
if [ ! -f "$WORK/pki/ca.crt" ]; then
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
fi
python3 "$HERE/mkcerts.py" "$WORK/pki" "$WORK/certs" "$N" >&2
rm -rf "$WORK/state" "$WORK/callgrind.out"

VG=
LG=
cleanup() {
    [ -z "$LG" ] || kill "$LG" 2>/dev/null || true
    [ -z "$VG" ] || kill "$VG" 2>/dev/null || true
    [ -z "$LG" ] || wait "$LG" 2>/dev/null || true
    [ -z "$VG" ] || wait "$VG" 2>/dev/null || true
}
trap cleanup EXIT

echo "# $(date -u +%FT%TZ) $COLLECTOR $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
    "$COLLECTOR" --pki "$WORK/pki" --state "$WORK/state" --listen "127.0.0.1:$PORT" \
    --api-listen 127.0.0.1:0 --log-level error --loops 1 2>"$WORK/valgrind.log" &
VG=$!
for _ in $(seq 1 1200); do # up to 120 s for the collector to listen under valgrind
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
    kill -0 "$VG" 2>/dev/null || { echo "callgrind_hb.sh: the collector exited" >&2; cat "$WORK/valgrind.log" >&2; exit 1; }
    sleep 0.1
done
# The collector listens already: loadgen's own "server" is a placeholder it stops at the end.
"$LOADGEN" --pki "$WORK/pki" --certs "$WORK/certs" --agents "$N" --port "$PORT" \
    --ramp 5 --hold $((SECS + 30)) --interval-ms 0 -- sleep 600 >"$WORK/loadgen.json" &
LG=$!
sleep 15
callgrind_control -i on "$VG" >/dev/null
sleep "$SECS"
callgrind_control -i off "$VG" >/dev/null
kill "$LG" 2>/dev/null || true
wait "$LG" 2>/dev/null || true
LG=
kill "$VG"
wait "$VG" 2>/dev/null || true
VG=
python3 - "$WORK/callgrind.out" <<'PY'
import collections, os, re, sys
names = {"fn": {}, "ob": {}}
def name(kind, v):
    m = re.match(r"\((\d+)\)(?: (.*))?", v)
    if not m:
        return v
    if m.group(2) is not None:
        names[kind][m.group(1)] = m.group(2)
    return names[kind].get(m.group(1), v)
ob = fn = None
by_ob, by_fn = collections.Counter(), collections.Counter()
calls_to = collections.Counter()
skip = False
cfn = None
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    if not line or line[0] == "#":
        continue
    key, _, val = line.partition("=")
    if key in ("ob", "cob"):
        v = name("ob", val)
        if key == "ob":
            ob = v
        continue
    if key in ("fn", "cfn"):
        v = name("fn", val)
        if key == "fn":
            fn = v
        else:
            cfn = v
        continue
    if key == "calls":
        calls_to[cfn] += int(val.split()[0])
        skip = True
        continue
    if not (line[0].isdigit() or line[0] in "+-*"):
        continue  # fl=, fi=, summary:, totals:, ...
    parts = line.split()
    if skip:
        skip = False
        continue
    if len(parts) >= 2 and parts[1].isdigit():
        by_ob[ob] += int(parts[1])
        by_fn[fn] += int(parts[1])
hb = calls_to.get("ward_ingest_decode", 0)
total = sum(by_ob.values())
print(f"heartbeats (calls of ward_ingest_decode): {hb}")
if hb:
    print(f"instructions per heartbeat: {total / hb:,.0f}")
    for o, c in by_ob.most_common(6):
        print(f"  {os.path.basename(o or '?')}: {c / hb:,.0f}")
    print("top functions (self, per heartbeat):")
    for f, c in by_fn.most_common(15):
        print(f"  {c / hb:9,.0f}  {f}")
PY
