#!/bin/sh
# /init (PID 1) of the emulated AST2600's initramfs; busybox ash. ast2600_test.py builds the
# initramfs around it and drives it over the serial console, with the markers of
# tests/integration/vm ("@@WARD-VM <event>@@", output between "begin <name>" and "end <name>"):
#   - set the clock from the host's (no RTC), load the drivers, bring up eth0, bind the tmp105;
#   - `ward-agent probe --json`;
#   - `ward-agent run` against the collector behind QEMU's guestfwd, printing the agent's RSS
#     every second until the host says "stop" (bounded); then SIGTERM, its log, reset.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t devtmpfs devtmpfs /dev && exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mkdir -p /tmp /var/ward
dmesg -n 1 # kernel messages stay off the console (the failure path prints them)
# shellcheck source=/dev/null  # written by ast2600_test.py into the initramfs
. /etc/ward-vm.conf

say() { echo "@@WARD-VM $*@@"; }
up() { cut -d' ' -f1 /proc/uptime; }
# Every way out resets the VM (the watchdog driver resets the SoC; QEMU runs with -no-reboot,
# so it exits; poweroff would only halt the CPUs): the end of the script, or fail.
off() { sync; reboot -f; sleep 5; }
fail() { say "fail $*"; dmesg | tail -n 40; off; }
# until_true COMMAND...: run it every 100 ms until it succeeds, at most WAIT_TICKS times.
until_true() {
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -gt "$WAIT_TICKS" ] && return 1
        sleep 0.1
    done
}
has_hwmon() { ls -d "$1"/hwmon/hwmon* >/dev/null 2>&1; }
carrier() { [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ]; }

# The guest has no RTC: the host put its clock (seconds since the epoch) on the command line.
now=$(sed -n 's/.*ward\.time=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$now" ] && date -s "@$now" >/dev/null || fail "no ward.time= on the kernel command line"
say "userspace uptime=$(up)"

for m in $MODULES; do
    modprobe "$m" || fail "modprobe $m"
done

until_true test -e /sys/class/net/eth0 || fail "no eth0 (ftgmac100)"
ip link set lo up
ip addr add "$GUEST_IP/24" dev eth0 && ip link set eth0 up || fail "cannot configure eth0"
until_true carrier || fail "eth0 has no carrier"

# The tmp105 QEMU put on aspeed.i2c.bus.0: bind lm75 to it unless the device tree did.
dev=/sys/bus/i2c/devices/0-00$TMP105_ADDR
until_true test -e /sys/bus/i2c/devices/i2c-0 || fail "no i2c-0 (i2c-aspeed)"
[ -e "$dev" ] || echo "tmp105 0x$TMP105_ADDR" >/sys/bus/i2c/devices/i2c-0/new_device ||
    fail "new_device tmp105"
until_true has_hwmon "$dev" || fail "lm75 registered no hwmon for $dev"
say "devices-ready uptime=$(up)"

t0=$(up)
timeout "$PROBE_TIMEOUT" ward-agent probe --json >/tmp/probe.out 2>/tmp/probe.err
rc=$?
say "begin probe"
cat /tmp/probe.out
say "end probe rc=$rc start=$t0 end=$(up)"
say "begin probe-stderr"
cat /tmp/probe.err
say "end probe-stderr rc=0"

ward-agent run --collector "$COLLECTOR" --server-name localhost --ca /etc/ward/ca.crt \
    --cert /etc/ward/device.crt --key /etc/ward/device.key --state-dir /var/ward \
    --rules /etc/ward/rules.json --for "$RUN_FOR" >/tmp/agent.log 2>&1 &
agent=$!
say "run-started pid=$agent uptime=$(up)"

line=
n=0
while [ "$n" -lt "$STOP_TIMEOUT" ]; do
    n=$((n + 1))
    kill -0 "$agent" 2>/dev/null || break
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$agent/status")
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$agent/status")
    say "rss kb=$rss hwm=$hwm"
    # shellcheck disable=SC3045  # busybox ash has read -t
    read -r -t 1 line && [ "$line" = stop ] && break
done
[ "$line" = stop ] || say "no stop from the host within ${STOP_TIMEOUT}s"
kill -TERM "$agent" 2>/dev/null
n=0
while kill -0 "$agent" 2>/dev/null && [ "$n" -lt 100 ]; do
    n=$((n + 1))
    sleep 0.1
done
wait "$agent"
rc=$?
say "begin agent-log"
cat /tmp/agent.log
say "end agent-log rc=$rc"
say "done uptime=$(up)"
off
