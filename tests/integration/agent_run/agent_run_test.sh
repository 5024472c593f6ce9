#!/usr/bin/env bash
# ward-agent run, as a process, against a stand-in collector (fake_collector.py) on 127.0.0.1:
#  - bad options, a readable key, a device id that is not the certificate's CN: one line each;
#  - store-and-forward: while the collector refuses (503) the agent keeps its events in the
#    journal; killed with SIGKILL and restarted, it sends every one of them once the collector
#    accepts; no sequence of any boot is missing;
#  - a second agent on the same state directory is refused;
#  - reconnects resume the TLS session; SIGTERM stops it cleanly;
#  - with HEAP_SHIM (an LD_PRELOAD counting allocator), no heap call while it runs.
# Usage: agent_run_test.sh AGENT WORKDIR SCENARIO RULES [EMULATOR [HEAP_SHIM]]
set -uo pipefail
agent=$1
work=$2
scenario=$3
rules=$4
emu=${5:-}
shim=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    return 0
}
# Every agent run is bounded: --for, or a kill below; the stand-in collector exits by itself.
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
passed=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }

# ---- certificates (CN of the device = its id) ----------------------------------------------
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=test-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null ||
    fail "CA"
leaf() { # name cn ext
    ec "$1.key" && openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null &&
        printf '%b' "$3" >"$1.ext" &&
        openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" \
            -days 2 -extfile "$1.ext" 2>/dev/null && chmod 600 "$1.key"
}
leaf srv collector.test 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:collector.test\n' ||
    fail "server cert"
leaf dev sim-1 'extendedKeyUsage=clientAuth\n' || fail "device cert"

start_collector() { # mode
    echo "$1" >mode
    rm -f port
    /usr/bin/python3 "$here/fake_collector.py" . port events.log mode 120 2>collector.err &
    pids+=($!)
    for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
    [ -s port ] || fail "fake collector did not start"
    port=$(cat port)
}

# The agent's command line in ${cmd[@]} (run it directly, so $! is the agent's own pid).
agent_cmd() { # state-dir extra-args...
    local dir=$1
    shift
    cmd=($emu "$agent" run --collector "127.0.0.1:$port" --server-name collector.test --ca ca.pem
        --cert dev.pem --key dev.key --state-dir "$dir" --scenario "$scenario" --rules "$rules" "$@")
}
run_agent() { # state-dir extra-args... (foreground)
    agent_cmd "$@"
    "${cmd[@]}"
}

# ---- 1. refusals at start-up ---------------------------------------------------------------
port=1
out=$($emu "$agent" run 2>&1); st=$?
[ $st -eq 2 ] && grep -q "usage: ward-agent run" <<<"$out" || fail "no usage line: $out"
ok "missing options: usage, exit 2"
cp dev.key open.key && chmod 644 open.key
out=$($emu "$agent" run --collector 127.0.0.1:1 --server-name x --ca ca.pem --cert dev.pem \
    --key open.key --state-dir s0 --scenario "$scenario" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "open.key is accessible to group or others (mode 644); run: chmod 600" <<<"$out" ||
    fail "readable key accepted: $out"
ok "a key readable by others is refused"
out=$(run_agent s0 --device-id sim-2 2>&1); st=$?
[ $st -eq 1 ] && grep -q "does not match the certificate's CN sim-1" <<<"$out" ||
    fail "device id mismatch: $out"
ok "a device id other than the certificate's CN is refused"
out=$($emu "$agent" run --collector 127.0.0.1:1 --ca ca.pem --cert dev.pem --key dev.key \
    --state-dir s0 --scenario "$scenario" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "is an address; give the name" <<<"$out" || fail "IP without name: $out"
ok "an address without --server-name is refused"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "more than one line for one error: $out"

# ---- 2. the collector refuses: events wait in the journal; SIGKILL ------------------------
start_collector refuse
agent_cmd state
"${cmd[@]}" 2>a1.log &
a1=$!
pids+=($a1)
# Backoff grows after each 503 (full jitter, from 1 s): allow 30 s for a few batches.
for _ in $(seq 300); do
    [ "$(grep -c '"stored": false' events.log 2>/dev/null)" -ge 4 ] && break
    sleep 0.1
done
[ "$(grep -c '"stored": false' events.log)" -ge 4 ] || { cat a1.log; fail "no events sent"; }
ok "events sent while the collector refuses them"
out=$(run_agent state --for 1 2>&1); st=$?
[ $st -eq 1 ] && grep -q "state directory state is in use by another ward-agent" <<<"$out" ||
    fail "second agent on the same state: $out"
ok "a second agent on the same state directory is refused"
sleep 2.5 # let a backoff reconnect happen
kill -9 $a1
wait $a1 2>/dev/null
grep -q "handshaking -> up (full handshake" a1.log || { cat a1.log; fail "no full handshake"; }
grep -q -- "up -> backoff: collector answered HTTP 503, events kept" a1.log ||
    fail "no backoff after 503"
grep -q "handshaking -> up (resumed handshake" a1.log || { cat a1.log; fail "reconnect did not resume"; }
ok "503 -> backoff; the reconnect resumed the TLS session"
boot1=$(grep '"stored": false' events.log | head -1 | sed 's/.*"boot": "\([0-9a-f]*\)".*/\1/')

# ---- 3. restart: every refused event of the killed run arrives ----------------------------
echo ack >mode
run_agent state --for 4 2>a2.log || { cat a2.log; fail "second run failed"; }
grep -q "unacknowledged events restored from earlier runs" a2.log || { cat a2.log; fail "nothing restored"; }
ok "the restarted agent restored the killed run's events from the journal"
/usr/bin/python3 - "$boot1" <<'PY' || fail "events of the killed run are missing"
import json, sys
boot1 = sys.argv[1]
refused, stored, last = set(), set(), 0
for line in open("events.log"):
    r = json.loads(line)
    if r.get("hb"):
        if r["boot"] == boot1 and r["last_seq"]:
            last = max(last, r["last_seq"])
        continue
    if r["boot"] != boot1:
        continue
    (stored if r["stored"] else refused).add(r["seq"])
missing = refused - stored
print("killed run: %d events refused, %d stored, last_seq %d in its heartbeats" % (len(refused), len(stored), last))
gaps = set(range(1, last + 1)) - stored
if missing or gaps:
    print("missing:", sorted(missing), "gaps:", sorted(gaps))
    sys.exit(1)
PY
ok "every event the killed run sent while refused is stored, no sequence missing"

# ---- 4. SIGTERM: clean stop, the journal keeps what is unacknowledged; next run sends it ---
echo refuse >mode
agent_cmd state
"${cmd[@]}" 2>a3.log &
a3=$!
pids+=($a3)
sleep 2.5
kill -TERM $a3
wait $a3
st=$?
[ $st -eq 0 ] || { cat a3.log; fail "SIGTERM exit status $st"; }
grep -qE "stopped; [1-9][0-9]* unacknowledged events kept in the journal" a3.log ||
    { cat a3.log; fail "SIGTERM did not keep the refused events"; }
ok "SIGTERM: exit 0, unacknowledged events kept"
echo ack >mode
run_agent state --for 3 2>a4.log || { cat a4.log; fail "fourth run failed"; }
/usr/bin/python3 - <<'PY' || fail "a boot has missing sequences"
import json
stored, last = {}, {}
for line in open("events.log"):
    r = json.loads(line)
    if r.get("hb"):
        last[r["boot"]] = max(last.get(r["boot"], 0), r["last_seq"] or 0)
    elif r["stored"]:
        stored.setdefault(r["boot"], set()).add(r["seq"])
# every boot but the one still running at the end has all its sequences up to what its
# heartbeats announced
boots = list(last)
for b in boots[:-1]:
    gaps = set(range(1, last[b] + 1)) - stored.get(b, set())
    print("boot %s: last_seq %d, stored %d" % (b[:8], last[b], len(stored.get(b, set()))))
    if gaps:
        print("gaps:", sorted(gaps))
        raise SystemExit(1)
PY
ok "every boot's events 1..last_seq are stored"
grep -E "stats" a4.log | tail -1

# ---- 5. no heap while running: heartbeats, events, journal syncs, acks -------------------
if [ -n "$shim" ]; then
    agent_cmd heap
    LD_PRELOAD=$shim "${cmd[@]}" 2>a5.log &
    a5=$!
    pids+=($a5)
    for _ in $(seq 100); do grep -q "reporting to" a5.log && break; sleep 0.1; done
    grep -q "reporting to" a5.log || { cat a5.log; fail "agent with the heap shim did not start"; }
    sleep 0.5
    kill -USR2 $a5 # arm
    sleep 4
    kill -USR2 $a5 # report
    sleep 0.3
    kill -USR1 $a5
    sleep 0.3
    kill -TERM $a5
    wait $a5
    grep -q "heap_shim: 0 calls" a5.log || { cat a5.log; fail "heap used while running"; }
    grep -E '"heartbeats":([5-9]|[1-9][0-9])' a5.log | grep -qE '"journal_syncs":[1-9]' ||
        { cat a5.log; fail "the heap window saw no heartbeats or journal syncs"; }
    ok "no heap call in 4 s of running (heartbeats, events, journal syncs, acks)"
fi
echo "agent_run: all $passed cases passed"
