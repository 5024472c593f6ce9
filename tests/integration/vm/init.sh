#!/bin/sh
# /init (PID 1) of the VM integration test's initramfs; busybox ash. vm_test.py builds the
# initramfs around it and drives it over the serial console:
#   - every line the host acts on is "@@WARD-VM <event>@@"; output it parses sits between
#     "@@WARD-VM begin <name>@@" and "@@WARD-VM end <name> rc=<status>@@";
#   - after the first probe the guest says "wait-go" and blocks (bounded) on one console
#     line from the host, which changes the NVMe drive through QMP before sending "go".
# Every wait is bounded; every way out powers the VM off, so QEMU exits.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node: take the console now that devtmpfs has one.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /tmp
# Kernel messages must not interleave with the JSON on the console; dmesg shows them on failure.
dmesg -n 1

# shellcheck source=/dev/null  # written by vm_test.py into the initramfs
. /etc/ward-vm.conf

say() { echo "@@WARD-VM $*@@"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
finish() {
    sync
    poweroff -f
    sleep 5
}
fail() {
    say "fail $*"
    echo "--- last kernel messages ---"
    dmesg | tail -n 40
    finish
}
# wait_for PATH...: until every path exists, at most WAIT_TICKS x 50 ms.
wait_for() {
    n=0
    for p in "$@"; do
        while [ ! -e "$p" ]; do
            n=$((n + 1))
            [ "$n" -gt "$WAIT_TICKS" ] && return 1
            sleep 0.05
        done
    done
    return 0
}
# wait_glob PATTERN: until the glob matches something, at most WAIT_TICKS x 50 ms.
wait_glob() {
    n=0
    while :; do
        for g in $1; do
            [ -e "$g" ] && return 0
        done
        n=$((n + 1))
        [ "$n" -gt "$WAIT_TICKS" ] && return 1
        sleep 0.05
    done
}
section() { # section NAME COMMAND...: run COMMAND, output between markers with its status
    name=$1
    shift
    say "begin $name"
    "$@"
    rc=$?
    say "end $name rc=$rc"
}

say "userspace uptime=$(uptime_s)"

for m in $MODULES; do
    modprobe "$m" || fail "modprobe $m"
done
modprobe i2c-stub chip_addr="$TMP105_ADDR" || fail "modprobe i2c-stub"
say "modules-loaded uptime=$(uptime_s)"

wait_for /dev/sg0 /sys/block/sda /dev/nvme0 /dev/nvme0n1 || fail "disks did not appear"
wait_glob '/sys/class/nvme/nvme0/hwmon*' || fail "no nvme hwmon"

# i2c-stub answers as a chip at TMP105_ADDR; its bus number depends on load order.
bus=
for d in /sys/bus/i2c/devices/i2c-*; do
    [ "$(cat "$d/name")" = "SMBus stub driver" ] && bus=${d##*/i2c-}
done
[ -n "$bus" ] || fail "no i2c-stub adapter"
wait_for "/dev/i2c-$bus" || fail "no /dev/i2c-$bus"
# Registers are SMBus words (low byte first); the host computed them. Thresholds first:
# lm75 caches them after its first read.
i2cset -y "$bus" "$TMP105_ADDR" 0x03 "$THIGH_WORD" w || fail "i2cset T_HIGH"
i2cset -y "$bus" "$TMP105_ADDR" 0x02 "$TLOW_WORD" w || fail "i2cset T_LOW"
i2cset -y "$bus" "$TMP105_ADDR" 0x00 "$TEMP1_WORD" w || fail "i2cset temperature"
echo "tmp105 $TMP105_ADDR" >"/sys/bus/i2c/devices/i2c-$bus/new_device" || fail "new_device tmp105"
lm75_dev=/sys/bus/i2c/devices/$bus-$(printf '%04x' "$TMP105_ADDR")
wait_for "$lm75_dev/driver" || fail "lm75 did not bind $lm75_dev"
wait_for "$lm75_dev/hwmon" || fail "lm75 registered no hwmon"
say "devices-ready uptime=$(uptime_s)"

# What the kernel itself shows, for the host to check the harness and compare with the agent.
inventory() {
    for h in /sys/class/hwmon/hwmon*; do
        printf 'hwmon %s name=%s' "${h##*/}" "$(cat "$h/name")"
        for f in "$h"/temp*_input "$h"/temp*_max "$h"/temp*_max_hyst "$h"/temp*_crit \
            "$h"/temp*_alarm; do
            [ -r "$f" ] && printf ' %s=%s' "${f##*/}" "$(cat "$f" 2>/dev/null)"
        done
        echo
    done
    for b in /sys/block/sd* /sys/block/nvme*; do
        [ -e "$b" ] && echo "block ${b##*/} model=$(sed 's/ *$//' "$b/device/model" 2>/dev/null)"
    done
    c=/sys/class/nvme/nvme0
    echo "nvme nvme0 serial=$(sed 's/ *$//' $c/serial) model=$(sed 's/ *$//' $c/model)"
    for s in /sys/class/scsi_generic/sg*; do
        echo "sg ${s##*/} block=$(ls "$s/device/block" 2>/dev/null)"
    done
    echo "kernel $(uname -r)"
}
# probe N: run the agent, timed by the guest; stdout and stderr in separate sections, the
# agent's exit status in the end marker.
probe() {
    t0=$(uptime_s)
    timeout "$PROBE_TIMEOUT" ward-agent probe --json >/tmp/probe.out 2>/tmp/probe.err
    rc=$?
    t1=$(uptime_s)
    say "begin probe$1"
    cat /tmp/probe.out
    say "end probe$1 rc=$rc start=$t0 end=$t1"
    section "probe$1-stderr" cat /tmp/probe.err
}

section inventory1 inventory
probe 1

say "wait-go"
line=
# shellcheck disable=SC3045  # busybox ash has read -t
read -r -t "$GO_TIMEOUT" line || fail "no go from the host within ${GO_TIMEOUT}s"
[ "$line" = go ] || fail "unexpected host line '$line'"

# lm75 owns the address now: -f.
i2cset -f -y "$bus" "$TMP105_ADDR" 0x00 "$TEMP2_WORD" w || fail "i2cset second temperature"
section inventory2 inventory
probe 2
say "done uptime=$(uptime_s)"
finish
