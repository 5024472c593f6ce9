#!/usr/bin/env bash
# A cross board's ward-agent, `probe` and `run`, under the qemu-user CPU model of the board's
# real CPU (EMULATOR: <build>/qemu-user): probe reads a BMC fixture tree, run reports a
# critical temperature over mutual TLS to the stand-in collector of tests/integration/agent_run
# on 127.0.0.1, and SIGTERM stops it with nothing left unacknowledged.
# Usage: qemu_user_run_test.sh AGENT WORKDIR FIXTURE_DIR EMULATOR
set -uo pipefail
agent=$(readlink -f "$1")
work=$2
fixture=$(readlink -f "$3")
emu=$(readlink -f "$4")
here=$(cd "$(dirname "$0")" && pwd)
sensor=temp:lm75.i2c1-0048:temp1
temp_file=sys/devices/platform/ahb/ahb:apb/bus@1e78a000/1e78a0c0.i2c-bus/i2c-1/1-0048
temp_file=$temp_file/hwmon/hwmon2/temp1_input
collector_pid=
agent_pid=
# Whatever happens, nothing this test started outlives it.
trap 'kill -9 $agent_pid $collector_pid 2>/dev/null; wait' EXIT
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
echo "emulator: $(tail -n 1 "$emu")"

# P-256 certificates: a CA, the collector (collector.test) and the device (bmc-1). No config
# file, so no extensions but the ones named here.
cnf=$(printf '[req]\ndistinguished_name=dn\n[dn]\n')
cert() { # name CN extra-args...
    local name=$1 cn=$2
    shift 2
    openssl req -config <(echo "$cnf") -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
        -days 2 -subj "/CN=$cn" -keyout "$name.key" -out "$name.pem" "$@" 2>/dev/null
}
cert ca test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
    cert srv collector.test -CA ca.pem -CAkey ca.key -addext subjectAltName=DNS:collector.test \
        -addext extendedKeyUsage=serverAuth &&
    cert dev bmc-1 -CA ca.pem -CAkey ca.key -addext extendedKeyUsage=clientAuth &&
    chmod 600 dev.key || fail "cannot make the test certificates"

cp -a "$fixture" root || fail "cannot copy $fixture"
printf '65000\n' >"root/$temp_file" || fail "fixture has no $temp_file"
cat >rules.json <<JSON
{"rules": [{"sensor": "$sensor", "upper_caution": 50000, "upper_critical": 60000}],
 "intervals_ms": {"temp": 200, "heartbeat": 1000}}
JSON

out=$($emu "$agent" probe --json --root root 2>&1)
st=$?
[ $st -eq 0 ] || fail "probe exited $st: $out"
grep -q "\"id\":\"$sensor\",[^}]*\"value\":65000" <<<"$out" ||
    fail "probe does not read $sensor: $out"
echo "ok: probe reads $sensor = 65000"

echo ack >mode
/usr/bin/python3 "$here/../agent_run/fake_collector.py" . port events.log mode 120 2>collector.err &
collector_pid=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || fail "the stand-in collector did not start"
start=$(date +%s%N)
$emu "$agent" run --collector "127.0.0.1:$(cat port)" --server-name collector.test --ca ca.pem \
    --cert dev.pem --key dev.key --state-dir state --root root --rules rules.json --for 100 \
    >agent.log 2>&1 &
agent_pid=$!
for _ in $(seq 600); do
    grep -q '"stored": true' events.log 2>/dev/null && grep -q '"hb": true' events.log && break
    kill -0 $agent_pid 2>/dev/null || break
    sleep 0.1
done
grep -q '"stored": true' events.log 2>/dev/null ||
    { cat agent.log; fail "no event reached the collector"; }
echo "ok: run delivered its first event and heartbeat in $((($(date +%s%N) - start) / 1000000)) ms"
grep -q "handshaking -> up (full handshake" agent.log ||
    { cat agent.log; fail "no full handshake"; }
# Every event acknowledged (the agent's stats line, on SIGUSR1, says so) before SIGTERM.
drained=0
for _ in $(seq 50); do
    kill -USR1 $agent_pid 2>/dev/null
    sleep 0.3
    grep 'ward-agent: stats ' agent.log | tail -n 1 |
        grep -q '"pending_events":0,"journal_events":0' && { drained=1; break; }
done
[ $drained -eq 1 ] || { cat agent.log; fail "events still unacknowledged after 15 s"; }
kill -TERM $agent_pid
for _ in $(seq 150); do kill -0 $agent_pid 2>/dev/null || break; sleep 0.1; done
wait $agent_pid
st=$?
[ $st -eq 0 ] || { cat agent.log; fail "run exited $st on SIGTERM"; }
grep -q "stopped; 0 unacknowledged events kept" agent.log || { cat agent.log; fail "events left"; }
echo "ok: SIGTERM stopped it with every event acknowledged"
echo "qemu_user_run: all 3 cases passed"
