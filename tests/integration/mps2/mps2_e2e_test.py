#!/usr/bin/env python3
"""Cortex-M end to end: the bare-metal image reports over its own Ethernet to a real collector.

One test for every Cortex-M board (--machine, --name): mps2-an385 (LAN9118), lm3s6965evb
(Stellaris Ethernet MAC). Device ids, log lines and the verdict carry the name.

Everything runs in a network namespace this test creates (198.18.0.0/24 only): a tap device
wtap0 with 198.18.0.1 on the host side, ward-collector listening there (mutual TLS, the
collector's idle timeout short so every heartbeat needs a new connection), and
`qemu-system-arm -M MACHINE -nic tap,ifname=wtap0,...` booting an image provisioned for
this run (tools/mps2-provision: fresh certificate, key and entropy seed; device 198.18.0.2).

Phase 0: the product image provisioned with an all-zero seed says so and never connects.
Phase 1, the product image (ward-agent.bin of the product build): its heartbeats arrive; the
collector counts one full handshake and then resumed ones; the image prints the TLS pool and
stack high-water marks of that first handshake (recorded in docs/benchmarks.md).
Phase 2, the e2e image (ward-net-sim.bin: the same sources playing failing-fan.json in real
time, or a smaller file with the same FAN3 story on a small board): the collector is stopped once the device is up, FAN3's events happen while it is
away (journaled in data flash), the board is warm-reset (QMP system_reset), the collector
comes back: the events of the boot before the reset must arrive, and heartbeats of the new
boot too.

Exit status: 0 pass, 1 fail, 77 skip (only when no tap device can be created: not root, or
no /dev/net/tun). QEMU runs under timeout(1) and is stopped by PID; the collector by PID;
the namespace is deleted on every exit path.
"""

import argparse
import atexit
import ctypes
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
from vm_test import Qmp, TestError, Vm, show_tail  # noqa: E402

HOST_IP, DEVICE_IP, PORT = "198.18.0.1", "198.18.0.2", 4433
TAP = "wtap0"
HEARTBEAT_MS = 2000
# Every sampling class has run by then (the disks' first sample: within 10 % of 300 s).
SETTLED_MS = 32000
CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)
HANDSHAKE = re.compile(rb"first handshake done: TLS pool peak (\d+) of (\d+) bytes, stack "
                       rb"high-water mark (\d+) of (\d+) bytes")
JOURNAL = re.compile(rb"journal (\d+) events from flash")
SEED = re.compile(rb"entropy seed rewritten \(seed log (\d+)\.(\d+)\)")


NAME = "mps2"


def log(msg):
    print(f"{NAME}_e2e: {msg}", flush=True)


def ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise TestError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class Netns:
    """A named namespace with the tap; this process moves into it (so do its children)."""

    def __init__(self):
        self.name = "wm2e%d" % os.getpid()
        self.made = False
        atexit.register(self.delete)

    def enter(self):
        """None, or why no tap device can be made here (the skip reason)."""
        if os.geteuid() != 0:
            return "needs root (network namespace, tap device)"
        if not os.path.exists("/dev/net/tun"):
            return "no /dev/net/tun"
        p = ip("netns", "add", self.name, check=False)
        if p.returncode != 0:
            return "cannot create a network namespace: " + p.stderr.strip()
        self.made = True
        fd = os.open("/var/run/netns/" + self.name, os.O_RDONLY)
        try:
            if _LIBC.setns(fd, CLONE_NEWNET) != 0:
                raise TestError("setns: " + os.strerror(ctypes.get_errno()))
        finally:
            os.close(fd)
        ip("link", "set", "lo", "up")
        p = ip("tuntap", "add", "dev", TAP, "mode", "tap", check=False)
        if p.returncode != 0:
            return "cannot create a tap device: " + p.stderr.strip()
        ip("addr", "add", HOST_IP + "/24", "dev", TAP)
        ip("link", "set", TAP, "up")
        return None

    def delete(self):
        if self.made:
            ip("netns", "del", self.name, check=False)
            self.made = False


class Board:
    """One QEMU board on the tap; console read between waits."""

    def __init__(self, args, image, work, limit):
        self.qmp_dir = tempfile.mkdtemp(prefix="ward-m2-")
        qmp_path = os.path.join(self.qmp_dir, "qmp.sock")
        cmd = [args.qemu, "-M", args.machine, "-display", "none", "-monitor", "none",
               "-serial", "stdio", "-qmp", f"unix:{qmp_path},server=on,wait=off",
               "-nic", f"tap,ifname={TAP},script=no,downscript=no", "-kernel", image]
        os.makedirs(work, exist_ok=True)
        self.vm = Vm(cmd, limit, work)
        self.qmp = Qmp(qmp_path, time.monotonic() + 30, lambda: self.vm.proc.poll() is not None)
        self.pos = 0

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.vm.read(end):
                raise TestError("QEMU exited (see console.log, qemu.stderr)")

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = pred()
            if v:
                return v
            self.pump(0.5)
        raise TestError(f"timed out after {timeout}s waiting for {what}")

    def find(self, rx):
        return rx.search(self.vm.out)

    def stop(self):
        self.qmp.close()
        self.vm.stop(False)
        shutil.rmtree(self.qmp_dir, ignore_errors=True)


def provision_and_boot(args, env, device, elf, name, extra=()):
    """A copy of the image (ELF path minus .elf, plus .bin) provisioned for device, booted."""
    out = os.path.join(env.dir, name + ".bin")
    p = subprocess.run([args.provision, "--pki", env.pki, "--device", device, "--collector",
                        f"{HOST_IP}:{PORT}", "--ip", DEVICE_IP + "/24", "--heartbeat-ms",
                        str(HEARTBEAT_MS), "--elf", elf, "--image", elf[:-4] + ".bin", "--out",
                        out] + list(extra), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise TestError("mps2-provision: " + (p.stderr or p.stdout).strip())
    log(p.stdout.strip())
    return Board(args, out, os.path.join(args.workdir, name), args.timeout)


def dev(env, col, device):
    p = env.wardctl(col, "--json", "device", device, check_rc=False, timeout=20)
    return json.loads(p.stdout) if p.returncode == 0 else None


def handshakes(col, device):
    """The collector's own record (its debug log) of each TLS session of the device, in order:
    "full handshake" or "resumed"."""
    rx = re.compile(r"TLS up CN=%s \(.*, (full handshake|resumed)\)" % re.escape(device))
    return rx.findall(col.log_text())


def start_collector(env):
    return env.start("--listen", f"{HOST_IP}:{PORT}", "--idle-timeout", "1500",
                     "--handshake-timeout", "60000", "--log-level", "debug",
                     "--heartbeat-interval", str(HEARTBEAT_MS))


def phase_zero_seed(args, env, col, ok):
    """An all-zero entropy seed must fail closed: one clear line, no connection."""
    device = NAME + "-zero"
    board = provision_and_boot(args, env, device, args.product_elf, "zero",
                               ("--seed-hex", "00" * 32))
    try:
        board.wait(lambda: re.search(rb"ward: no entropy: the NV seed is blank or all zero",
                                     board.vm.out), 60, "the blank-seed line")
        board.pump(3)
        ok(b"reporting to" not in board.vm.out and not handshakes(col, device) and
           dev(env, col, device) is None,
           "product image with an all-zero seed: says so, never connects")
    finally:
        board.stop()


def phase_product(args, env, col, ok, t):
    device = NAME + "-product"
    board = provision_and_boot(args, env, device, args.product_elf, "product")
    try:
        t0 = time.monotonic()
        d = board.wait(lambda: (dev(env, col, device) or {}).get("last_heartbeat_ms"), 90,
                       "the product image's first heartbeat")
        t["product_first_hb"] = time.monotonic() - t0
        m = board.wait(lambda: board.find(HANDSHAKE), 30, "the handshake line on the console")
        t["pool_peak"], t["pool_size"], t["stack_used"], t["stack_size"] = map(int, m.groups())
        first = (dev(env, col, device) or {}).get("last_heartbeat_ms")
        board.wait(lambda: handshakes(col, device).count("resumed") >= 2, 60,
                   "two resumed handshakes")
        board.wait(lambda: ((dev(env, col, device) or {}).get("last_heartbeat_ms") or 0) > first,
                   30, "a later heartbeat")
        last = (dev(env, col, device) or {}).get("last_heartbeat_ms")
        seen = handshakes(col, device)
        ok(d is not None and last is not None and last > first,
           f"product image: heartbeats arrive over mutual TLS (first after "
           f"{t['product_first_hb']:.1f}s, later ones keep coming)")
        ok(len(seen) >= 3 and seen[0] == "full handshake" and
           all(h == "resumed" for h in seen[1:]),
           f"product image: the collector saw {', '.join(seen)} (want one full handshake, "
           "then resumptions)")
        ok(t["pool_peak"] <= t["pool_size"] and t["stack_used"] < t["stack_size"],
           f"product image: first handshake took TLS pool {t['pool_peak']} of {t['pool_size']} "
           f"bytes, stack {t['stack_used']} of {t['stack_size']} bytes")
    finally:
        board.stop()


def device_events(env, col, device):
    doc = env.wardctl_json(col, "events", "--device", device, "--limit", "100")
    return [e for e in doc.get("events") or [] if e.get("source") == "device"]


def phase_offline(args, env, col, ok, t):
    device = NAME + "-sim"
    board = provision_and_boot(args, env, device, args.sim_elf, "sim")
    try:
        booted = time.monotonic()
        d = board.wait(lambda: (dev(env, col, device) or {}).get("last_heartbeat_ms") and
                       dev(env, col, device), 90, "the e2e image's first heartbeat")
        boot1 = d.get("boot_id")
        early = device_events(env, col, device)
        col.stop()
        log(f"collector stopped {time.monotonic() - booted:.1f}s after boot ({len(early)} "
            f"device events so far); FAN3 fails at 24 s and 40 s of the scenario")
        board.wait(lambda: re.search(rb"journal holds 2 events", board.vm.out), 90,
                   "FAN3's two events in the journal (the console says)")
        log(f"the journal holds both events {time.monotonic() - booted:.1f}s after boot")
        mark = len(board.vm.out)
        board.qmp.cmd("system_reset")
        log("warm reset (QMP system_reset)")
        m = board.wait(lambda: JOURNAL.search(board.vm.out, mark), 30,
                       "the reset image's journal line")
        t["journal_after_reset"] = int(m.group(1))
        seeds = [tuple(map(int, g)) for g in SEED.findall(board.vm.out)]
        col2 = start_collector(env)
        back = time.monotonic()
        back_wall_ms = int(time.time() * 1000) - 1000
        got = board.wait(lambda: [e for e in device_events(env, col2, device)
                                  if e.get("boot_id") == boot1 and e not in early], 90,
                         "the events of the boot before the reset")
        t["offline_delivered"] = time.monotonic() - back
        board.pump(3)
        got = [e for e in device_events(env, col2, device) if e.get("boot_id") == boot1 and
               e not in early]
        d2 = board.wait(lambda: (lambda x: x if x and x.get("boot_id") != boot1 else None)(
            dev(env, col2, device)), 60, "a heartbeat of the new boot")
        fan = [(e.get("from"), e.get("to")) for e in sorted(got, key=lambda e: e.get("seq", 0))
               if (e.get("sensor") or "").endswith(":fan3") and
               e.get("received_ms", 0) >= back_wall_ms]
        ok(len(seeds) == 2 and seeds[1] > seeds[0],
           f"e2e image: the entropy seed log moved on over the warm reset: {seeds} (region "
           "seq, seeds in it: the seed is rewritten on every boot, never reused)")
        ok(t["journal_after_reset"] >= 1,
           f"e2e image: after the warm reset the journal held {t['journal_after_reset']} "
           "events from flash")
        ok(fan == [("ok", "caution"), ("caution", "failed")],
           "e2e image: FAN3's events, raised while the collector was down, arrived after it "
           "returned and after the warm reset: " + ", ".join(f"{a}->{b}" for a, b in fan) +
           " (want ok->caution, caution->failed)")
        ok(d2.get("boot_id") not in (None, boot1),
           f"e2e image: the new boot {d2.get('boot_id')} reports (old boot {boot1})")
        # Every reading of the scenario must have had a health slot: a sensor without one
        # raises no events, and which sensors get the slots depends on the random order of
        # the first samples (e2e.conf). The heartbeat's memory says how many were refused,
        # read once every class has sampled: the disks' first sample comes within 30 s.
        def settled():
            d = dev(env, col2, device) or {}
            hb = d.get("heartbeat") or {}
            up = hb.get("uptime_ms") or hb.get("t_ms") or 0
            return (hb.get("memory") if d.get("boot_id") == d2.get("boot_id") and
                    up >= SETTLED_MS else None)

        mem = board.wait(settled, 90, "a heartbeat of the new boot past 32 s of uptime")
        ok(mem.get("readings_refused") == 0 and
           0 < mem.get("sensors_used", 0) < mem.get("sensors_max", 0),
           f"e2e image: no reading refused ({mem.get('readings_refused')}) after "
           f"{SETTLED_MS // 1000} s, sensors {mem.get('sensors_used')} of "
           f"{mem.get('sensors_max')} health slots")
        return col2
    finally:
        board.stop()


def show_logs(args, env):
    for sub in ("zero", "product", "sim"):
        for name, lines in (("qemu.stderr", 10), ("console.log", 30)):
            show_tail(os.path.join(args.workdir, sub, name), lines)
    for c in env.collectors:
        log("collector log tail: " + c.log_text()[-800:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--product-elf", required=True, help="product build's ward-agent.elf")
    ap.add_argument("--sim-elf", required=True, help="e2e build's ward-net-sim.elf")
    ap.add_argument("--host-build", required=True, help="host build: collector, wardctl, ward-pki")
    ap.add_argument("--provision", required=True, help="tools/mps2-provision")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--timeout", type=int, default=240, help="bound on each QEMU's life, s")
    ap.add_argument("--machine", default="mps2-an385", help="qemu-system-arm -M")
    ap.add_argument("--name", default="mps2", help="names the devices and the verdict line")
    args = ap.parse_args()
    global NAME
    NAME = args.name
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda signum, _frame: sys.exit(128 + signum))
    args.qemu = shutil.which("qemu-system-arm")
    if not args.qemu:
        log("FAIL: qemu-system-arm is not installed; run tools/bootstrap")
        return 1
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    ns = Netns()
    why = ns.enter()
    if why:
        ns.delete()
        log(f"SKIP: {why}")
        return 77
    t0, t, failed = time.monotonic(), {}, []

    def ok(cond, what):
        log(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failed.append(what)
        return cond

    env = Env(args.host_build, args.workdir, NAME)
    try:
        env.make_pki(devices=tuple(NAME + s for s in ("-product", "-sim", "-zero")))
        col = start_collector(env)
        phase_zero_seed(args, env, col, ok)
        phase_product(args, env, col, ok, t)
        col = phase_offline(args, env, col, ok, t)
        col.stop()
    except (TestError, Fail, subprocess.SubprocessError, OSError, ValueError) as e:
        log(f"FAIL: {e}")
        show_logs(args, env)
        return 1
    finally:
        for c in env.collectors:
            c.stop()
        ns.delete()
    log(f"measured: first handshake TLS pool peak {t.get('pool_peak')} of {t.get('pool_size')} "
        f"bytes, stack {t.get('stack_used')} of {t.get('stack_size')} bytes; events delivered "
        f"{t.get('offline_delivered', -1):.1f}s after the collector returned")
    if not failed:
        shutil.rmtree(env.dir, ignore_errors=True)
        log(f"PASS {NAME} e2e ({time.monotonic() - t0:.1f}s)")
        return 0
    log(f"FAIL: {len(failed)} checks failed (logs in {env.dir})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
