#!/usr/bin/env python3
"""The linux-armv7 agent on an emulated AST2600, reporting to a real collector on 127.0.0.1.

Boots `qemu-system-arm -M ast2600-evb` (TCG) with Debian 12's armmp kernel and its
aspeed-ast2600-evb.dtb (both from tools/bootstrap, never installed) and a busybox initramfs
that holds the static ward-agent. The guest uses the real drivers: ftgmac100 for the network,
i2c-aspeed and lm75 for a tmp105 QEMU puts on aspeed.i2c.bus.0. Then:
  1. `ward-agent probe --json` must read the tmp105 at the temperature QMP gave it;
  2. `ward-agent run` reports over mutual TLS through QEMU user networking (restrict=on): the
     guest's connections to the collector address are handed, one per connection, to a relay
     command (`socat - TCP:127.0.0.1:PORT`, guestfwd ...-cmd:) that reaches only loopback;
  3. the device and its tmp105 sensor must show up in wardctl; QMP `qom-set` raises the
     temperature to 96 C and the ok -> critical event must reach the collector; QMP brings it
     back to 41.5 C and the critical -> ok recovery must arrive too;
  4. the guest reboots (`reboot -f`; with -no-reboot QEMU exits) and QEMU starts again on the
     same kernel, initramfs and tmp105: the new boot (a new boot id at the collector) must
     report the sensor under the same id.
Prints the timings (boot, device visible, transition, recovery) and the agent's RSS.

Exit status: 0 pass, 1 fail. Every wait is bounded; QEMU runs under timeout(1) and is stopped
by PID (vm_test.Vm), the collector by harness.py's registry.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
from harness import Env, Fail  # noqa: E402
from vm_test import MARK, Qmp, TestError, Vm, sections, show_tail  # noqa: E402

DEVICE = "ast2600-evb"
TMP105_ADDR = 0x48
TMP105_QOM = "/machine/peripheral/tmp105"
SENSOR = "temp:tmp105.i2c0-%04x:temp1" % TMP105_ADDR
TEMP_OK = 41500  # m°C, what QMP sets before the guest boots
TEMP_HOT = 96000  # critical under RULES
RULES = {
    "rules": [{"sensor": SENSOR, "upper_caution": 80000, "upper_critical": 90000,
               "hysteresis": 1000}],
    "intervals_ms": {"temp": 200, "fan": 2000, "nic": 2000, "host": 2000, "agent": 2000,
                     "heartbeat": 1000},
}
# QEMU's user network, inside the 198.18.0.0/15 benchmarking range the tests may use: nothing
# leaves QEMU (restrict=on) except the guestfwd connections, which the relay sends to loopback.
NET = "198.18.0.0/24"
GUEST_IP = "198.18.0.15"
COLLECTOR_IP = "198.18.0.100"
COLLECTOR_PORT = 4433
MODULES = ["mdio-aspeed", "ftgmac100", "i2c-aspeed", "lm75"]
APPLETS = ["sh", "mount", "modprobe", "ip", "date", "sed", "cat", "cut", "ls", "sleep", "kill",
           "poweroff", "dmesg", "tail", "timeout", "sync", "mkdir", "test", "["]


def log(msg):
    print(f"ast2600_test: {msg}", flush=True)


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little")


def module_closure(moddir, wanted):
    """{relative .ko path: bytes} for the modules and what their .modinfo 'depends=' names."""
    index = {}
    for dirpath, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                index[f[:-3].replace("-", "_")] = os.path.join(dirpath, f)
    out, todo = {}, [w.replace("-", "_") for w in wanted]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name not in index:
            raise TestError(f"kernel module {name} not found under {moddir} (only .ko supported)")
        with open(index[name], "rb") as f:
            data = f.read()
        out[name] = (os.path.relpath(index[name], moddir), data)
        m = re.search(rb"\0depends=([^\0]*)\0", data)
        todo += [d.decode() for d in (m.group(1).split(b",") if m else []) if d]
    return dict(out.values())


def build_initramfs(args, kernel, env, work):
    root = os.path.join(work, "initramfs")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "proc", "sys", "dev", "tmp", "etc/ward", "var"):
        os.makedirs(os.path.join(root, d))
    busybox = os.path.join(args.arm_vm, "busybox", "bin", "busybox")
    for path, what in ((busybox, "busybox (armhf)"), (args.agent, "ward-agent")):
        if elf_machine(path) != 40:  # EM_ARM
            raise TestError(f"{what} {path} is missing or not an ARM ELF; run tools/bootstrap "
                            "and build the linux-armv7 board")
    shutil.copy(busybox, os.path.join(root, "bin/busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    shutil.copy(args.agent, os.path.join(root, "bin/ward-agent"))
    shutil.copy(os.path.join(HERE, "init.sh"), os.path.join(root, "init"))
    os.chmod(os.path.join(root, "init"), 0o755)

    crt, key = env.device_files(DEVICE)
    shutil.copy(env.ca(), os.path.join(root, "etc/ward/ca.crt"))
    shutil.copy(crt, os.path.join(root, "etc/ward/device.crt"))
    shutil.copy(key, os.path.join(root, "etc/ward/device.key"))
    os.chmod(os.path.join(root, "etc/ward/device.key"), 0o600)
    with open(os.path.join(root, "etc/ward/rules.json"), "w") as f:
        json.dump(RULES, f)

    moddir = os.path.join(root, "lib/modules", kernel["version"])
    for rel, data in module_closure(kernel["moddir"], MODULES).items():
        os.makedirs(os.path.join(moddir, os.path.dirname(rel)), exist_ok=True)
        with open(os.path.join(moddir, rel), "wb") as f:
            f.write(data)
    # The host's busybox writes modules.dep; it reads .modinfo, whatever the architecture.
    subprocess.run([args.host_busybox, "depmod", "-b", root, kernel["version"]], check=True,
                   timeout=30)
    conf = {"MODULES": " ".join(MODULES), "GUEST_IP": GUEST_IP,
            "COLLECTOR": f"{COLLECTOR_IP}:{COLLECTOR_PORT}", "TMP105_ADDR": f"{TMP105_ADDR:02x}",
            "WAIT_TICKS": "300", "PROBE_TIMEOUT": "60", "RUN_FOR": str(args.timeout),
            "STOP_TIMEOUT": str(args.timeout)}
    with open(os.path.join(root, "etc/ward-vm.conf"), "w") as f:
        f.writelines(f"{k}='{v}'\n" for k, v in conf.items())

    files = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        files += [os.path.relpath(os.path.join(dirpath, n), root) for n in sorted(dirs + names)]
    out = os.path.join(work, "initramfs.cpio")
    with open(out, "wb") as f:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, check=True,
                       input="\n".join(files).encode() + b"\n", stdout=f, timeout=60)
    return out


def find_kernel(arm_vm, dtb_name):
    root = os.path.join(arm_vm, "kernel")
    boot = os.path.join(root, "boot")
    images = sorted(f for f in os.listdir(boot)) if os.path.isdir(boot) else []
    images = [f for f in images if f.startswith("vmlinuz-")]
    if len(images) != 1:
        raise TestError(f"expected one vmlinuz-* in {boot}, found {images}: run tools/bootstrap "
                        "(it unpacks Debian's armmp kernel into .cache/arm-vm)")
    version = images[0][len("vmlinuz-"):]
    dtb = os.path.join(root, "usr/lib/linux-image-" + version, dtb_name)
    if not os.path.isfile(dtb):
        raise TestError(f"no {dtb_name} in the kernel package ({dtb})")
    return {"image": os.path.join(boot, images[0]), "version": version, "dtb": dtb,
            "moddir": os.path.join(root, "lib/modules", version)}


def qemu_command(args, kernel, initramfs, qmp_path, relay):
    # guestfwd ...-cmd: starts the relay for each connection the guest opens (a -tcp: target
    # would be opened once, at start-up, and never again). Commas in an option value double.
    net = (f"user,model=ftgmac100,restrict=on,net={NET},"
           f"guestfwd=tcp:{COLLECTOR_IP}:{COLLECTOR_PORT}-cmd:{relay.replace(',', ',,')}")
    return [
        args.qemu, "-M", args.machine, "-accel", "tcg", "-display", "none", "-no-reboot",
        "-serial", "stdio", "-qmp", f"unix:{qmp_path},server=on,wait=off",
        "-kernel", kernel["image"], "-dtb", kernel["dtb"], "-initrd", initramfs,
        "-append", f"console=ttyS4,115200n8 loglevel=4 panic=-1 rdinit=/init "
                   f"ward.time={int(time.time())}",
        "-nic", net,
        "-device", f"tmp105,bus=aspeed.i2c.bus.0,address=0x{TMP105_ADDR:02x},id=tmp105",
    ]


class Host:
    """What the test watches on the collector side, polled between console reads."""

    def __init__(self, env, col):
        self.env, self.col = env, col
        self.next_poll = 0.0

    def due(self):
        now = time.monotonic()
        if now < self.next_poll:
            return False
        self.next_poll = now + 0.25
        return True

    def sensor(self):
        """The tmp105 row of the device's last health snapshot, or None."""
        p = self.env.wardctl(self.col, "--json", "device", DEVICE, check_rc=False, timeout=10)
        if p.returncode != 0:
            return None
        doc = json.loads(p.stdout)
        rows = ((doc.get("snapshot") or {}).get("sensors")) or []
        return next((s for s in rows if s.get("id") == SENSOR), None)

    def transition(self, to="critical"):
        doc = self.env.wardctl_json(self.col, "events", "--device", DEVICE, "--limit", "100")
        return next((e for e in doc.get("events") or [] if e.get("sensor") == SENSOR
                     and e.get("to") == to), None)

    def boot_id(self):
        p = self.env.wardctl(self.col, "--json", "device", DEVICE, check_rc=False, timeout=10)
        return json.loads(p.stdout).get("boot_id") if p.returncode == 0 else None


def run(args, kernel, initramfs, host, work, t, drive):
    """Boot, watch, drive; returns the console text. Fills t with timings and results."""
    os.makedirs(work, exist_ok=True)
    qmp_dir = tempfile.mkdtemp(prefix="ward-ast-")  # short: unix socket paths are limited
    qmp_path = os.path.join(qmp_dir, "qmp.sock")
    relay = f"{args.socat} - TCP:127.0.0.1:{host.col.device_port}"
    deadline = time.monotonic() + args.timeout
    vm = Vm(qemu_command(args, kernel, initramfs, qmp_path, relay), args.timeout + 5, work)
    qmp, pos, seen = None, 0, {}
    try:
        qmp = Qmp(qmp_path, deadline, lambda: vm.proc.poll() is not None)
        qmp.cmd("qom-set", path=TMP105_QOM, property="temperature", value=TEMP_OK)
        t["qom_before"] = qmp.cmd("qom-get", path=TMP105_QOM, property="temperature")
        while time.monotonic() < deadline and "done" not in seen:
            if not vm.read(min(deadline, time.monotonic() + 0.25)):
                break
            for m in MARK.finditer(vm.out, pos):
                pos = m.end()
                words = m.group(1).decode(errors="replace").split() or ["?"]
                seen[words[0]] = time.monotonic()
                if words[0] == "fail":
                    raise TestError("guest failed: " + " ".join(words[1:]))
                if words[0] == "rss":
                    t["rss"] = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                if words[0] in ("userspace", "devices-ready", "run-started"):
                    log(f"guest: {words[0]} at {seen[words[0]] - vm.started:.1f}s "
                        f"({' '.join(words[1:])})")
            if b"Kernel panic" in vm.out:
                raise TestError("guest kernel panic (see console.log)")
            if "run-started" in seen and "stop_sent" not in t and host.due():
                drive(qmp, vm, host, seen, t)
        if "done" not in seen:
            raise TestError("the guest did not finish in time (see console.log)")
    finally:
        if qmp:
            qmp.close()
        t["qemu_rc"] = vm.stop("done" in seen)
        with open(os.path.join(work, "qemu.stderr"), errors="replace") as f:
            t["qemu_signalled"] = "terminating on signal" in f.read()
        t["vm_total"] = time.monotonic() - vm.started
        shutil.rmtree(qmp_dir, ignore_errors=True)
    return vm.out.replace(b"\r\n", b"\n").decode(errors="replace")


def drive(qmp, vm, host, seen, t):
    """One step of the host side once the agent runs: wait for the device, heat the tmp105,
    wait for the transition, cool it, wait for the recovery, then tell the guest to stop."""
    now = time.monotonic()
    if "visible" not in t:
        s = host.sensor()
        if s is not None:
            t["visible"] = now - seen["run-started"]
            t["sensor_before"] = s
            qmp.cmd("qom-set", path=TMP105_QOM, property="temperature", value=TEMP_HOT)
            t["qom_after"] = qmp.cmd("qom-get", path=TMP105_QOM, property="temperature")
            t["heated_at"] = time.monotonic()
            log(f"device and sensor visible {t['visible']:.1f}s after the agent started; "
                f"tmp105 set to {TEMP_HOT}")
        elif now - seen["run-started"] > 60:
            raise TestError("the device's tmp105 sensor did not reach the collector in 60 s")
        return
    if "event" not in t:
        e = host.transition()
        if e is not None:
            t["transition"] = time.monotonic() - t["heated_at"]
            t["event"] = e
            log(f"transition {e.get('from')} -> {e.get('to')} reached the collector "
                f"{t['transition']:.1f}s after the QMP change")
        elif time.monotonic() - t["heated_at"] > 30:
            raise TestError("no transition to critical reached the collector within 30 s")
        return
    if "cooled_at" not in t:
        # The event and the health snapshot travel separately: cool the tmp105 only once the
        # collector's snapshot shows the critical state too (or after 15 s; then the check on
        # sensor_after reports what it showed).
        s = host.sensor() or {}
        if s.get("state") == "critical" or time.monotonic() - t["heated_at"] - t["transition"] > 15:
            t["sensor_after"] = s
            t["boot_id"] = host.boot_id()
            qmp.cmd("qom-set", path=TMP105_QOM, property="temperature", value=TEMP_OK)
            t["cooled_at"] = time.monotonic()
        return
    e = host.transition(to="ok")
    if e is not None:
        t["recovery"] = time.monotonic() - t["cooled_at"]
        t["recovery_event"] = e
        log(f"recovery {e.get('from')} -> {e.get('to')} reached the collector "
            f"{t['recovery']:.1f}s after the QMP change back to {TEMP_OK}")
        stop_guest(vm, t)
    elif time.monotonic() - t["cooled_at"] > 30:
        raise TestError("no recovery to ok reached the collector within 30 s")


def stop_guest(vm, t):
    """Tell init.sh to stop the agent; it prints its log and reboots (QEMU exits)."""
    vm.send("stop")
    t["stop_sent"] = True


def drive_reboot(qmp, vm, host, seen, t):
    """After the guest rebooted (a new QEMU): wait until the collector has the new boot's
    snapshot with the tmp105, then stop."""
    del qmp  # the tmp105 keeps the temperature run() gave it
    s = host.sensor()
    bid = host.boot_id()
    if s is not None and bid not in (None, t["first_boot_id"]):
        t.update(visible=time.monotonic() - seen["run-started"], sensor_before=s, boot_id=bid)
        log(f"after the reboot: boot {bid} reports {s.get('id')} at {s.get('value')}, "
            f"{t['visible']:.1f}s after the agent started")
        stop_guest(vm, t)
    elif time.monotonic() - seen["run-started"] > 60:
        raise TestError("the rebooted guest's tmp105 did not reach the collector in 60 s")


def check_results(t, console, checks):
    ok, bad = checks
    sec = sections(console)
    ok(t.get("qom_before") == TEMP_OK, f"QMP: tmp105 temperature {t.get('qom_before')}")
    probe = sec.get("probe")
    if ok(probe is not None and probe[1].get("rc") == "0",
         "ward-agent probe --json ran (rc %s; stderr: %s)" % (
             probe and probe[1].get("rc"), sec.get("probe-stderr", ("",))[0][:300])):
        doc = json.loads(probe[0])
        temps = [x for x in doc.get("temperatures") or [] if x.get("id") == SENSOR]
        ok(len(temps) == 1, f"probe lists {SENSOR}")
        if temps:
            v = (temps[0].get("mdeg_c") or {})
            ok(v.get("status") == "ok" and v.get("value") == TEMP_OK,
               f"probe reads the tmp105 at {v.get('value')} ({v.get('status')}), want {TEMP_OK}")
    before = t.get("sensor_before") or {}
    ok(before.get("state") == "ok" and before.get("value") == TEMP_OK,
       f"collector: {SENSOR} {before.get('state')} at {before.get('value')} before the change")
    e = t.get("event") or {}
    value = (e.get("event") or {}).get("value")  # the agent's own record, as stored
    ok(e.get("from") == "ok" and e.get("to") == "critical" and value == TEMP_HOT,
       f"collector: event {e.get('from')} -> {e.get('to')} at {value}, severity "
       f"{e.get('severity')} (want ok -> critical at {TEMP_HOT})")
    after = t.get("sensor_after") or {}
    ok(after.get("state") == "critical", f"collector: sensor state {after.get('state')} after")
    r = t.get("recovery_event") or {}
    value = (r.get("event") or {}).get("value")
    ok(r.get("from") == "critical" and r.get("to") == "ok" and value == TEMP_OK,
       f"collector: recovery {r.get('from')} -> {r.get('to')} at {value} (want critical -> ok "
       f"at {TEMP_OK})")
    alog = sec.get("agent-log", ("", {}))
    ok(alog[1].get("rc") == "0", "ward-agent run stopped cleanly on SIGTERM (rc %s): %s" % (
        alog[1].get("rc"), alog[0][-300:]))
    ok(t.get("qemu_rc") == 0 and not t.get("qemu_signalled"),
       f"QEMU exited by itself when the guest reset (status {t.get('qemu_rc')}, "
       f"{'stopped by a signal' if t.get('qemu_signalled') else 'no signal'})")
    return bad


def check_reboot(t, console, checks):
    """The second boot: same sensor id, a new boot id, a clean stop and exit."""
    ok, bad = checks
    s = t.get("sensor_before") or {}
    ok(s.get("id") == SENSOR and s.get("state") == "ok" and s.get("value") == TEMP_OK,
       f"after the reboot: {s.get('id')} {s.get('state')} at {s.get('value')} (want {SENSOR} "
       f"ok at {TEMP_OK}: the sensor id is stable across the reboot)")
    ok(t.get("boot_id") not in (None, t.get("first_boot_id")),
       f"after the reboot: new boot id {t.get('boot_id')} (first boot {t.get('first_boot_id')})")
    alog = sections(console).get("agent-log", ("", {}))
    ok(alog[1].get("rc") == "0" and t.get("qemu_rc") == 0,
       f"after the reboot: the agent stopped cleanly (rc {alog[1].get('rc')}) and QEMU exited "
       f"by itself (status {t.get('qemu_rc')})")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True, help="static linux-armv7 ward-agent")
    ap.add_argument("--host-build", required=True,
                    help="a host build with tools/ward-collector, tools/wardctl and ward-pki")
    ap.add_argument("--arm-vm", required=True, help=".cache/arm-vm from tools/bootstrap")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--machine", default="ast2600-evb")
    ap.add_argument("--dtb", default="aspeed-ast2600-evb.dtb")
    ap.add_argument("--timeout", type=int, default=150, help="bound on the VM's life, s")
    args = ap.parse_args()
    t0 = time.monotonic()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda signum, _frame: sys.exit(128 + signum))
    args.qemu = shutil.which("qemu-system-arm")
    args.socat = shutil.which("socat")
    args.host_busybox = shutil.which("busybox")
    for name, path in (("qemu-system-arm", args.qemu), ("socat", args.socat),
                       ("busybox", args.host_busybox)):
        if not path:
            log(f"FAIL: {name} is not installed; run tools/bootstrap")
            return 1
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    t, failed = {}, []

    def ok(cond, what):
        log(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failed.append(what)
        return cond

    env = Env(args.host_build, work, "ast2600")
    try:
        env.make_pki(devices=(DEVICE,))
        col = env.start("--heartbeat-interval", "1000")
        kernel = find_kernel(args.arm_vm, args.dtb)
        initramfs = build_initramfs(args, kernel, env, work)
        log(f"kernel {kernel['version']}, initramfs {os.path.getsize(initramfs) >> 10} KiB, "
            f"collector on 127.0.0.1:{col.device_port}, prepared in {time.monotonic() - t0:.1f}s")
        host = Host(env, col)
        console = run(args, kernel, initramfs, host, work, t, drive)
        t2 = {"first_boot_id": t.get("boot_id")}
        log(f"the guest rebooted (QEMU exited: {t.get('qemu_rc')}); starting QEMU again")
        console2 = run(args, kernel, initramfs, host, os.path.join(work, "reboot"), t2,
                       drive_reboot)
        col.stop()
    except (TestError, Fail, subprocess.SubprocessError, OSError, ValueError) as e:
        log(f"FAIL: {e}")
        for name, lines in (("qemu.stderr", 10), ("console.log", 40)):
            show_tail(os.path.join(work, name), lines)
        for c in env.collectors:
            log("collector log tail: " + c.log_text()[-600:])
        return 1
    check_results(t, console, (ok, failed))
    check_reboot(t2, console2, (ok, failed))
    rss = t.get("rss", {})
    log(f"timings: QEMU exited after {t['vm_total']:.1f}s; device visible "
        f"{t.get('visible', -1):.1f}s after the agent started; ok -> critical at the collector "
        f"{t.get('transition', -1):.1f}s and critical -> ok {t.get('recovery', -1):.1f}s after "
        f"the QMP changes; agent RSS in the guest {rss.get('kb', '?')} KiB "
        f"(peak {rss.get('hwm', '?')} KiB)")
    if failed:
        log(f"FAIL: {len(failed)} checks failed; console log: {os.path.join(work, 'console.log')}")
        return 1
    shutil.rmtree(env.dir, ignore_errors=True)
    log(f"PASS ast2600 ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
