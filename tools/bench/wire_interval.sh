#!/usr/bin/env bash
# Bytes on the wire per heartbeat interval for a real `ward-agent run` (docs/benchmarks.md,
# "Bytes on the wire per heartbeat"): everything the agent sends (TLS records: heartbeats,
# events, health snapshot pages) between two SIGUSR1 `stats` lines (docs/transport.md),
# against a ward-collector on 127.0.0.1, divided by the heartbeat intervals in the window
# (SECONDS / HEARTBEAT_MS) and, as the earlier runs did, by the batches sent (each batch
# carries a heartbeat, and a snapshot cycle of several pages sends extra batches).
#
#   tools/bench/wire_interval.sh BUILD root DIR|scenario FILE [SECONDS] [HEARTBEAT_MS]
#
# Heartbeat every HEARTBEAT_MS (2000), every other interval the rules' default; the first
# WARM seconds (default 5, as in the earlier runs: connect, the first snapshot) are left out
# of the measure. WARM=30 leaves out the first sampling of every class as well (the sensors
# found then go out in the first snapshot cycles): the steady state.
# Every process is started here and stopped by its PID. Work files: $WORK.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 BUILD root DIR|scenario FILE [SECONDS] [HEARTBEAT_MS]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
MODE=$2
DATA=$3
SECS=${4:-40}
HB=${5:-2000}
WARM=${WARM:-5}
WORK=${WORK:-/tmp/ward-bench-wire}
AGENT=$BUILD/board/ward-agent
COLLECTOR=${COLLECTOR:-$BUILD/tools/ward-collector} # the sim build has none: COLLECTOR=
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
case $MODE in root) SRC=(--root "$DATA") ;; scenario) SRC=(--scenario "$DATA") ;;
    *) echo "$0: mode is root or scenario, not '$MODE'" >&2; exit 2 ;; esac

rm -rf "$WORK"; mkdir -p "$WORK"
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
"$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" device wire-1 >/dev/null
"$COLLECTOR" --pki "$WORK/pki" --state "$WORK/cstate" --listen 127.0.0.1:0 \
    --api-listen 127.0.0.1:0 --log-level error 2>"$WORK/collector.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/cstate/ports" ] && break; sleep 0.1; done
PORT=$(awk '/^device/{n=split($2,a,":"); print a[n]}' "$WORK/cstate/ports")
echo "{\"rules\": [], \"intervals_ms\": {\"heartbeat\": $HB}}" >"$WORK/hb.json"
"$AGENT" run --collector "127.0.0.1:$PORT" --server-name localhost --ca "$WORK/pki/ca.crt" \
    --cert "$WORK/pki/devices/wire-1.crt" --key "$WORK/pki/devices/wire-1.key" \
    --state-dir "$WORK/state" --rules "$WORK/hb.json" "${SRC[@]}" 2>"$WORK/agent.err" &
APID=$!
PIDS+=($APID)
sleep "$WARM"
kill -USR1 "$APID"
sleep "$SECS"
kill -USR1 "$APID"
sleep 0.5
grep -o '"stats" *{.*\|stats {.*' "$WORK/agent.err" | tail -2 | sed 's/^stats //' | python3 -c '
import json, sys
a, b = (json.loads(line[line.index("{"):]) for line in sys.stdin.read().splitlines()[-2:])
hb = b["heartbeats"] - a["heartbeats"]
tx, rx = b["tx_bytes"] - a["tx_bytes"], b["rx_bytes"] - a["rx_bytes"]
conn = b["connects"]
n = int(sys.argv[1]) * 1000 / int(sys.argv[2])  # heartbeat intervals in the window
print(f"{n:.0f} intervals: {tx / n:.0f} B sent, {rx / n:.0f} B received per interval; "
      f"{hb} batches (each carries a heartbeat): {tx / hb:.0f} B sent per batch "
      f"(tx {tx}, rx {rx}; {conn} connects)")
' "$SECS" "$HB"
