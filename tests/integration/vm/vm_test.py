#!/usr/bin/env python3
"""VM integration test: the agent's real SG_IO and NVMe ioctl paths, in one QEMU x86 guest.

Boots Debian 12's own kernel (extracted by tools/bootstrap, never installed) with a busybox
initramfs that holds the static ward-agent, on a q35 machine under TCG with:
  - an ide-hd on q35's AHCI (SG_IO ATA PASS-THROUGH: IDENTIFY, SMART, CHECK POWER MODE),
  - an NVMe controller (admin ioctls: Identify, SMART/Health log; an `nvme` hwmon),
  - i2c-stub + tmp105 (a real lm75 hwmon whose temperature i2cset sets).
The guest (init.sh) runs `ward-agent probe --json` twice; between the two runs this script sets
NVMe critical-warning bits through QMP and the guest writes a second temperature. Everything
the guest prints comes back over the serial console between markers; the checks below compare
it with what QEMU and the i2c registers were told.

Exit status: 0 pass, 1 fail, 77 skip (only when qemu-system-x86_64 is missing).
"""

import argparse
import json
import lzma
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

# What QEMU is told, and therefore what the agent must report.
ATA_MODEL = "WARD-VM-ATA"
ATA_SERIAL = "WARDATA0001"
ATA_FIRMWARE = "WVM1.0"
NVME_SERIAL = "WARDNVME0001"
NVME_MODEL = "QEMU NVMe Ctrl"  # QEMU 7.2 has no property for it
NVME_TEMP_MC = 323 * 1000 - 273150  # QEMU's fixed composite temperature, 323 K
NVME_WARNING = 0x06  # critical warning: temperature (bit 1) + reliability degraded (bit 2)
NVME_WARN_TEMP_BIT = 0x02
# tmp105 registers (milli-degrees C, exact in its 12-bit format: multiples of 62.5).
TEMP1_MC = 37500
TEMP2_MC = -12500  # negative on purpose: the interface is signed
THIGH_MC = 80000  # temp1_max
TLOW_MC = 75000  # temp1_max_hyst
TMP105_ADDR = 0x48
DISK_BYTES = 64 << 20  # both raw images

# Modules the guest loads (i2c-stub separately, with its address); dependencies are added.
GUEST_MODULES = ["ahci", "sd_mod", "sg", "nvme", "i2c-dev", "lm75"]
EXTRA_MODULES = ["i2c-stub"]

MARK = re.compile(rb"@@WARD-VM ([^@\r\n]*)@@")


class TestError(Exception):
    """The harness could not run the guest to the end (as opposed to a failed check)."""


def log(msg):
    print(f"vm_test: {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# ELF helpers: static binaries for the guest, and module dependencies from .modinfo.


def elf_program_types(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise TestError("not a little-endian ELF64 file")
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return machine, types


def check_static_x86_64(path, what, hint):
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    try:
        machine, types = elf_program_types(data)
    except (TestError, struct.error) as e:
        raise TestError(f"{what} {path}: {e}")
    if machine != 62:
        raise TestError(f"{what} {path} is not an x86_64 ELF (e_machine {machine}); {hint}")
    if 3 in types:  # PT_INTERP: needs a dynamic loader the initramfs does not have
        raise TestError(f"{what} {path} is dynamically linked; {hint}")


def modinfo_depends(data):
    """The 'depends=' entry of a kernel module's .modinfo section, as a list of names."""
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)

    def section(i):
        fields = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        name, off, size = fields[0], fields[4], fields[5]
        return name, off, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            for entry in data[off:off + size].split(b"\0"):
                if entry.startswith(b"depends="):
                    return [d for d in entry[8:].decode().split(",") if d]
            return []
    raise TestError("module has no .modinfo section")


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".ko.xz"):
        data = lzma.decompress(data)
    elif not path.endswith(".ko"):
        raise TestError(f"{path}: compression not supported (only .ko and .ko.xz)")
    return data


def module_closure(moddir, wanted):
    """{relative .ko path: module bytes} for the wanted modules and all they depend on."""
    index = {}
    for dirpath, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            for suffix in (".ko", ".ko.xz", ".ko.zst"):
                if f.endswith(suffix):
                    index[f[: -len(suffix)].replace("-", "_")] = os.path.join(dirpath, f)
    out, todo, seen = {}, list(wanted), set()
    while todo:
        name = todo.pop().replace("-", "_")
        if name in seen:
            continue
        seen.add(name)
        if name not in index:
            raise TestError(f"kernel module {name} not found under {moddir}")
        path = index[name]
        data = read_module(path)
        rel = os.path.relpath(path, moddir)
        rel = rel[: rel.rindex(".ko")] + ".ko"  # stored uncompressed: busybox modprobe
        out[rel] = data
        todo.extend(modinfo_depends(data))
    return out


# ---------------------------------------------------------------------------------------------
# The initramfs.


def smbus_word(mc):
    """A tmp105/lm75 temperature register (big-endian, 1/256 C) as an SMBus word (LE)."""
    reg = round(mc * 256 / 1000)
    if reg * 1000 != mc * 256 or not -32768 <= reg <= 32767:
        raise ValueError(f"{mc} m°C is not exact in the register format")
    reg &= 0xFFFF
    return f"0x{((reg & 0xFF) << 8) | (reg >> 8):04x}"


def build_initramfs(args, kernel, work):
    root = os.path.join(work, "initramfs")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(root, d))

    check_static_x86_64(args.busybox, "busybox", "install busybox-static (tools/bootstrap)")
    shutil.copy(args.busybox, os.path.join(root, "bin/busybox"))
    applets = subprocess.run([args.busybox, "--list-full"], check=True, capture_output=True,
                             text=True, timeout=10).stdout.split()
    for a in applets:
        link = os.path.join(root, a)
        if a != "bin/busybox" and not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink("/bin/busybox", link)

    check_static_x86_64(args.agent, "ward-agent", "the guest needs a -DWARD_STATIC_LINK=ON build")
    shutil.copy(args.agent, os.path.join(root, "bin/ward-agent"))
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "init.sh"),
                os.path.join(root, "init"))
    os.chmod(os.path.join(root, "init"), 0o755)

    moddir = os.path.join(root, "lib/modules", kernel["version"])
    for rel, data in module_closure(kernel["moddir"], GUEST_MODULES + EXTRA_MODULES).items():
        os.makedirs(os.path.join(moddir, os.path.dirname(rel)), exist_ok=True)
        with open(os.path.join(moddir, rel), "wb") as f:
            f.write(data)
    subprocess.run([args.busybox, "depmod", "-b", root, kernel["version"]], check=True, timeout=30)
    if not os.path.getsize(os.path.join(moddir, "modules.dep")):
        raise TestError("busybox depmod wrote an empty modules.dep")

    conf = {
        "MODULES": " ".join(GUEST_MODULES),
        "TMP105_ADDR": f"0x{TMP105_ADDR:02x}",
        "TEMP1_WORD": smbus_word(TEMP1_MC),
        "TEMP2_WORD": smbus_word(TEMP2_MC),
        "THIGH_WORD": smbus_word(THIGH_MC),
        "TLOW_WORD": smbus_word(TLOW_MC),
        "WAIT_TICKS": "400",  # x 50 ms for devices to appear
        "PROBE_TIMEOUT": "30",
        "GO_TIMEOUT": "60",
    }
    with open(os.path.join(root, "etc/ward-vm.conf"), "w") as f:
        f.writelines(f"{k}='{v}'\n" for k, v in conf.items())

    files = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + names):
            files.append(os.path.relpath(os.path.join(dirpath, n), root))
    out = os.path.join(work, "initramfs.cpio")
    with open(out, "wb") as f:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, check=True,
                       input="\n".join(files).encode() + b"\n", stdout=f, timeout=60)
    return out


def find_kernel(kernel_root):
    boot = os.path.join(kernel_root, "boot")
    if not os.path.isdir(boot):
        raise TestError(f"no kernel at {kernel_root}: run tools/bootstrap (it extracts Debian's "
                        "linux-image package into .cache/vm-kernel)")
    images = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
    if len(images) != 1:
        raise TestError(f"expected one vmlinuz-* in {boot}, found {images}")
    version = images[0][len("vmlinuz-"):]
    moddir = os.path.join(kernel_root, "lib/modules", version)
    if not os.path.isdir(moddir):
        raise TestError(f"kernel modules missing: {moddir}")
    return {"image": os.path.join(boot, images[0]), "version": version, "moddir": moddir}


# ---------------------------------------------------------------------------------------------
# QMP: just enough to set and read a property.


class Qmp:
    def __init__(self, path, deadline, exited):
        self.buf = b""
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(10)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if exited():
                    raise TestError("QEMU exited while starting")
                if time.monotonic() > deadline:
                    raise TestError(f"cannot connect to QMP at {path}: {e}")
                time.sleep(0.05)
        greeting = self._recv()
        if "QMP" not in greeting:
            raise TestError(f"unexpected QMP greeting: {greeting}")
        self.cmd("qmp_capabilities")

    def _recv(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TestError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        for _ in range(1000):  # events may come before the answer
            reply = self._recv()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise TestError(f"QMP {name} {arguments}: {reply['error']}")
        raise TestError(f"QMP {name}: no answer")

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# The VM.


def qemu_command(args, kernel, initramfs, work, qmp_path):
    return [
        args.qemu, "-M", "q35", "-accel", "tcg", "-smp", "1", "-m", "256",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", "stdio",
        "-qmp", f"unix:{qmp_path},server=on,wait=off",
        "-kernel", kernel["image"], "-initrd", initramfs,
        "-append", "console=ttyS0 loglevel=4 panic=-1 rdinit=/init",
        "-drive", f"file={work}/ata.img,if=none,id=ata0,format=raw",
        "-device", f"ide-hd,drive=ata0,bus=ide.0,model={ATA_MODEL},serial={ATA_SERIAL},"
                   f"ver={ATA_FIRMWARE}",
        "-drive", f"file={work}/nvme.img,if=none,id=nvm0,format=raw",
        "-device", f"nvme,id=nvme0,drive=nvm0,serial={NVME_SERIAL}",
    ]


class Vm:
    """One QEMU under timeout(1), in its own process group, always torn down by PID."""

    def __init__(self, cmd, limit, work):
        self.console_path = os.path.join(work, "console.log")
        self.console = open(self.console_path, "wb")
        self.stderr = open(os.path.join(work, "qemu.stderr"), "wb")
        self.proc = subprocess.Popen(["timeout", "-k", "5", str(limit)] + cmd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, start_new_session=True)
        self.started = time.monotonic()
        self.out = b""

    def read(self, until):
        """Read console output for at most until-now seconds; False at EOF."""
        wait = max(0.0, min(until - time.monotonic(), 1.0))
        ready, _, _ = select.select([self.proc.stdout], [], [], wait)
        if not ready:
            return True
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.console.write(chunk)
        self.console.flush()
        self.out += chunk
        return True

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def stop(self, finished):
        """Wait for the guest's own power-off if it finished, else end QEMU: SIGTERM through
        timeout(1), then SIGKILL to the process group of the timeout(1) we started."""
        for sig, wait in ((None, 10 if finished else 0), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            if sig:
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        self.console.close()
        self.stderr.close()
        return self.proc.returncode


def run_vm(args, kernel, initramfs, work, timing):
    qmp_dir = tempfile.mkdtemp(prefix="ward-vm-")  # short: unix socket paths are limited
    qmp_path = os.path.join(qmp_dir, "qmp.sock")
    deadline = time.monotonic() + args.timeout
    vm = Vm(qemu_command(args, kernel, initramfs, work, qmp_path), args.timeout + 5, work)
    qmp = None
    events = {}
    try:
        qmp = Qmp(qmp_path, deadline, lambda: vm.proc.poll() is not None)
        timing["qom_get_before"] = qmp.cmd("qom-get", path="/machine/peripheral/nvme0",
                                           property="smart_critical_warning")
        pos = 0
        alive = True
        while alive and "done" not in events:
            if time.monotonic() > deadline:
                raise TestError(f"the guest did not finish within {args.timeout}s")
            alive = vm.read(deadline)
            for m in MARK.finditer(vm.out, pos):
                pos = m.end()
                words = m.group(1).decode(errors="replace").split() or ["?"]
                event = words[0]
                events[event] = time.monotonic() - vm.started
                if event == "fail":
                    raise TestError("guest failed: " + " ".join(words[1:]))
                if event == "userspace":
                    log(f"guest reached userspace after {events[event]:.1f}s ({words[1]} guest)")
                if event == "wait-go":
                    qmp.cmd("qom-set", path="/machine/peripheral/nvme0",
                            property="smart_critical_warning", value=NVME_WARNING)
                    timing["qom_get_after"] = qmp.cmd("qom-get", path="/machine/peripheral/nvme0",
                                                      property="smart_critical_warning")
                    vm.send("go")
            if b"Kernel panic" in vm.out:
                raise TestError("guest kernel panic (see console log)")
        if "done" not in events:
            raise TestError("QEMU exited before the guest finished (see console log)")
    finally:
        if qmp:
            qmp.close()
        rc = vm.stop("done" in events)
        shutil.rmtree(qmp_dir, ignore_errors=True)
        timing["events"] = events
        timing["vm_total"] = time.monotonic() - vm.started
        timing["qemu_rc"] = rc
    return vm.out.replace(b"\r\n", b"\n").decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# What came back.


def sections(text):
    """{name: (body, end marker words)} for every begin/end pair on the console."""
    out, open_name, body_start = {}, None, 0
    for m in MARK.finditer(text.encode()):
        words = m.group(1).decode().split() or ["?"]
        if words[0] == "begin" and len(words) > 1:
            open_name, body_start = words[1], m.end()
        elif words[0] == "end" and len(words) > 1 and open_name == words[1]:
            body = text.encode()[body_start:m.start()].decode()
            out[open_name] = (body.strip("\n"),
                              dict(w.split("=", 1) for w in words[2:] if "=" in w))
            open_name = None
    return out


def parse_inventory(body):
    inv = {"hwmon": {}, "block": {}, "sg": {}}
    for line in body.splitlines():
        words = line.split()
        if not words:
            continue
        kind = words[0]
        fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
        if kind == "hwmon":
            inv["hwmon"].setdefault(fields.get("name"), []).append(fields)
        elif kind in ("block", "sg"):
            inv[kind][words[1]] = fields
        elif kind == "nvme":
            # model can contain spaces: take everything after "model="
            inv["nvme"] = {"serial": fields.get("serial"), "model": line.split("model=", 1)[1]}
        elif kind == "kernel":
            inv["kernel"] = words[1]
    return inv


class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def expect(self, ok, what):
        if ok:
            self.passed += 1
            log(f"ok   {what}")
        else:
            self.failed.append(what)
            log(f"FAIL {what}")
        return ok

    def equal(self, got, want, what):
        return self.expect(got == want, f"{what}: got {got!r}, want {want!r}")


def check_inventory(c, inv, phase):
    """The devices the harness set up, as the guest kernel shows them (no agent involved)."""
    lm75 = inv["hwmon"].get("tmp105", [])  # lm75 names the hwmon after the i2c device
    nvme = inv["hwmon"].get("nvme", [])
    if c.expect(len(lm75) == 1, f"{phase}: one tmp105 hwmon (lm75 on i2c-stub)"):
        want = TEMP1_MC if phase == "inventory1" else TEMP2_MC
        c.equal(lm75[0].get("temp1_input"), str(want), f"{phase}: tmp105 temp1_input (i2cset)")
        c.equal(lm75[0].get("temp1_max"), str(THIGH_MC), f"{phase}: tmp105 temp1_max")
        c.equal(lm75[0].get("temp1_max_hyst"), str(TLOW_MC), f"{phase}: tmp105 temp1_max_hyst")
    if c.expect(len(nvme) == 1, f"{phase}: one nvme hwmon"):
        c.equal(nvme[0].get("temp1_input"), str(NVME_TEMP_MC),
                f"{phase}: nvme composite temperature")
        # The kernel derives temp1_alarm from critical-warning bit 1: proof that QMP reached
        # the guest's view of the drive, independent of the agent.
        want = "1" if phase == "inventory2" else "0"
        c.equal(nvme[0].get("temp1_alarm"), want,
                f"{phase}: nvme temp1_alarm (critical warning bit 1)")
    c.expect(inv["block"].get("sda", {}).get("model", "").startswith(ATA_MODEL[:16]),
             f"{phase}: sda is QEMU's ide-hd {ATA_MODEL} ({inv['block'].get('sda')})")
    c.equal(inv["sg"].get("sg0", {}).get("block"), "sda", f"{phase}: /dev/sg0 is sda")
    c.equal(inv.get("nvme", {}).get("serial"), NVME_SERIAL, f"{phase}: nvme0 serial")


def show_tail(path, lines):
    if os.path.exists(path) and os.path.getsize(path):
        with open(path, "rb") as f:
            tail = f.read().replace(b"\r\n", b"\n").decode(errors="replace").splitlines()[-lines:]
        log(f"last {len(tail)} lines of {path}:")
        for line in tail:
            print(f"  | {line}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True, help="static x86_64 ward-agent")
    ap.add_argument("--kernel-root", required=True,
                    help="Debian linux-image package extracted with dpkg-deb -x")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--busybox", default=shutil.which("busybox") or "/bin/busybox")
    ap.add_argument("--timeout", type=int, default=150, help="bound on the VM's whole life, s")
    args = ap.parse_args()

    t0 = time.monotonic()
    qemu = shutil.which(args.qemu)
    if not qemu:
        log(f"SKIP: {args.qemu} is not installed (tools/bootstrap installs qemu-system-x86)")
        return SKIP
    args.qemu = qemu
    # ctest's timeout or ^C: unwind through the finally blocks that stop QEMU.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda signum, _frame: sys.exit(128 + signum))

    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    timing = {}
    for stale in ("console.log", "qemu.stderr"):
        if os.path.exists(os.path.join(work, stale)):
            os.unlink(os.path.join(work, stale))
    try:
        kernel = find_kernel(args.kernel_root)
        initramfs = build_initramfs(args, kernel, work)
        for img in ("ata.img", "nvme.img"):
            with open(os.path.join(work, img), "wb") as f:
                f.truncate(DISK_BYTES)
        timing["prepare"] = time.monotonic() - t0
        log(f"kernel {kernel['version']}, initramfs {os.path.getsize(initramfs) >> 10} KiB, "
            f"prepared in {timing['prepare']:.1f}s")
        console = run_vm(args, kernel, initramfs, work, timing)
    except (TestError, subprocess.SubprocessError, OSError) as e:
        log(f"FAIL: {e}")
        for name, lines in (("qemu.stderr", 10), ("console.log", 30)):
            show_tail(os.path.join(work, name), lines)
        return 1

    ev = timing["events"]
    log(f"VM: userspace at {ev.get('userspace', -1):.1f}s, devices ready at "
        f"{ev.get('devices-ready', -1):.1f}s, done at {ev.get('done', -1):.1f}s, "
        f"QEMU exited at {timing['vm_total']:.1f}s (status {timing['qemu_rc']})")
    c = Checks()
    c.equal(timing["qemu_rc"], 0, "QEMU exited cleanly (guest powered off)")
    c.equal(timing.get("qom_get_before"), 0, "QMP: smart_critical_warning starts at 0")
    c.equal(timing.get("qom_get_after"), NVME_WARNING, "QMP: smart_critical_warning after qom-set")
    sec = sections(console)
    for phase in ("inventory1", "inventory2"):
        if c.expect(phase in sec, f"guest printed {phase}"):
            inv = parse_inventory(sec[phase][0])
            check_inventory(c, inv, phase)
    check_probes(c, sec)

    log(f"{c.passed} checks passed, {len(c.failed)} failed; total {time.monotonic() - t0:.1f}s; "
        f"console log: {os.path.join(work, 'console.log')}")
    return 1 if c.failed else 0


# QEMU 7.2's ide-hd SMART table (hw/ide/core.c smart_attributes):
# id: (value, worst, threshold, raw). 190 is the airflow temperature: 31 C, min 31, max 31.
QEMU_ATA_ATTRS = {
    1: (100, 100, 6, 0),
    3: (100, 100, 0, 0x10),
    4: (100, 100, 20, 0x64),
    5: (100, 100, 36, 0),
    9: (100, 100, 0, 1),
    12: (100, 100, 0, 0),
    190: (69, 69, 50, 0x1F1F001F),
}
NVME_WCTEMP_MC = 343 * 1000 - 273150  # QEMU's Identify WCTEMP, 343 K
NVME_CCTEMP_MC = 373 * 1000 - 273150  # CCTEMP, 373 K
HWMON_NUMBERING = re.compile(r"hwmon[0-9]")


def get(obj, path, default=None):
    """obj["a"]["b"]... for path "a.b", or default when any step is missing."""
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def pick(items, what, pred):
    found = [x for x in items or [] if isinstance(x, dict) and pred(x)]
    return found[0] if len(found) == 1 else None


def check_ata(c, n, disks):
    d = pick(disks, "ata", lambda x: x.get("serial") == ATA_SERIAL)
    if not c.expect(d is not None, f"{n}: one disk with serial {ATA_SERIAL} (SG_IO IDENTIFY)"):
        return
    c.equal(d.get("kind"), "ata", f"{n}: ATA kind")
    c.equal(d.get("dev_name"), "sda", f"{n}: ATA dev_name")
    c.equal(d.get("model"), ATA_MODEL, f"{n}: ATA model")
    c.equal(d.get("firmware"), ATA_FIRMWARE, f"{n}: ATA firmware")
    c.equal(d.get("capacity_bytes"), DISK_BYTES, f"{n}: ATA capacity")
    c.equal(d.get("id"), f"disk:{ATA_MODEL}_{ATA_SERIAL}", f"{n}: ATA identity")
    c.equal(get(d, "smart.status"), "ok", f"{n}: ATA SMART read")
    c.equal(get(d, "smart.power_mode"), "active", f"{n}: ATA CHECK POWER MODE (QEMU: always 0xff)")
    c.equal(get(d, "smart.verdict"), "passed", f"{n}: ATA SMART verdict")
    c.equal(get(d, "smart.ata.drive_says_failing"), False, f"{n}: ATA SMART RETURN STATUS")
    attrs = {a.get("id"): a for a in get(d, "smart.ata.attributes", []) if isinstance(a, dict)}
    got = {i: (a.get("value"), a.get("worst"), a.get("threshold"), a.get("raw"))
           for i, a in attrs.items()}
    c.equal(got, QEMU_ATA_ATTRS, f"{n}: ATA attributes (id: value, worst, threshold, raw)")
    c.equal(sorted({a.get("verdict") for a in attrs.values()}), ["passed"],
            f"{n}: ATA attribute verdicts")
    c.equal(get(attrs.get(190, {}), "decoded"), 31000, f"{n}: ATA attribute 190 decoded (m°C)")


def check_nvme(c, n, disks, warning):
    d = pick(disks, "nvme", lambda x: x.get("serial") == NVME_SERIAL)
    if not c.expect(d is not None, f"{n}: one disk with serial {NVME_SERIAL} (NVMe Identify)"):
        return
    c.equal(d.get("kind"), "nvme", f"{n}: NVMe kind")
    c.equal(d.get("dev_name"), "nvme0", f"{n}: NVMe dev_name")
    c.equal(d.get("model"), NVME_MODEL, f"{n}: NVMe model")
    c.equal(d.get("capacity_bytes"), DISK_BYTES, f"{n}: NVMe capacity")
    c.equal(d.get("id"), f"disk:{NVME_MODEL.replace(' ', '_')}_{NVME_SERIAL}",
            f"{n}: NVMe identity")
    c.equal(get(d, "smart.status"), "ok", f"{n}: NVMe SMART log read")
    c.equal(get(d, "smart.nvme.critical_warning"), warning, f"{n}: NVMe critical warning (QMP)")
    c.equal(get(d, "smart.verdict"), "failing" if warning else "passed", f"{n}: NVMe SMART verdict")
    # 323 K is 49.85 C; the kernel's hwmon says 49850 for the same field.
    c.equal(get(d, "smart.nvme.composite_temp_mdeg_c"), NVME_TEMP_MC,
            f"{n}: NVMe composite temperature (323 K, log page 0x02)")
    c.equal(get(d, "smart.nvme.warning_temp_mdeg_c"), NVME_WCTEMP_MC, f"{n}: NVMe WCTEMP (343 K)")
    c.equal(get(d, "smart.nvme.critical_temp_mdeg_c"), NVME_CCTEMP_MC, f"{n}: NVMe CCTEMP (373 K)")


def check_temps(c, n, temps, phase2):
    tmp105 = pick(temps, "tmp105", lambda x: "tmp105" in str(x.get("id")))
    if c.expect(tmp105 is not None, f"{n}: one tmp105 temperature (lm75 hwmon)"):
        c.expect(not HWMON_NUMBERING.search(tmp105["id"]),
                 f"{n}: tmp105 identity {tmp105['id']!r} does not use hwmonN numbering")
        c.equal(get(tmp105, "mdeg_c.status"), "ok", f"{n}: tmp105 status")
        c.equal(get(tmp105, "mdeg_c.value"), TEMP2_MC if phase2 else TEMP1_MC,
                f"{n}: tmp105 value (i2cset)")
        c.equal(get(tmp105, "thresholds.upper_caution"), THIGH_MC,
                f"{n}: tmp105 temp1_max (T_HIGH)")
    nvme = pick(temps, "nvme hwmon", lambda x: str(x.get("id")).startswith("temp:nvme"))
    if c.expect(nvme is not None, f"{n}: one NVMe hwmon temperature"):
        c.equal(get(nvme, "mdeg_c.value"), NVME_TEMP_MC, f"{n}: NVMe hwmon composite temperature")
        c.equal(nvme.get("alarm"), phase2, f"{n}: NVMe hwmon alarm (critical warning bit 1)")


def check_probes(c, sec):
    ids = []
    for n in ("probe1", "probe2"):
        if not c.expect(n in sec, f"guest printed {n}"):
            continue
        body, end = sec[n]
        err = sec.get(n + "-stderr", ("", {}))[0].strip()
        if not c.equal(end.get("rc"), "0", f"{n}: ward-agent probe --json exit status"
                       + (f" (stderr: {err[:300]})" if err else "")):
            continue
        took = float(end["end"]) - float(end["start"])
        log(f"{n}: {len(body)} bytes of JSON in {took:.2f}s (guest time)")
        try:
            doc = json.loads(body)
        except ValueError as e:
            c.expect(False, f"{n}: output is JSON ({e})")
            continue
        if not c.expect(isinstance(doc, dict), f"{n}: output is a JSON object"):
            continue
        c.equal(doc.get("backend"), "linux", f"{n}: backend")
        ours = re.compile(r"\b(sd[a-z]|sg[0-9]|nvme|disk|smart|hwmon|tmp105|i2c)")
        mine = [p for p in doc.get("problems") or [] if ours.search(json.dumps(p))]
        c.equal(mine, [], f"{n}: no problems reported for the test's devices")
        phase2 = n == "probe2"
        check_ata(c, n, doc.get("disks"))
        check_nvme(c, n, doc.get("disks"), NVME_WARNING if phase2 else 0)
        check_temps(c, n, doc.get("temperatures"), phase2)
        ids.append(sorted(str(x.get("id")) for k in ("disks", "temperatures")
                          for x in doc.get(k) or [] if isinstance(x, dict)))
    if len(ids) == 2:
        c.equal(ids[1], ids[0], "disk and temperature identities are the same in both probes")
    log("SKIP standby: QEMU's ide-hd answers CHECK POWER MODE with 0xff (active or idle) whatever "
        "came before and treats STANDBY IMMEDIATE as a no-op (hw/ide/core.c), so 'standby, not "
        "read' cannot be shown in this VM")


if __name__ == "__main__":
    sys.exit(main())
