#!/usr/bin/env python3
"""Generate the benchmark's machine: a sysfs/procfs tree like a two-socket server with
~50 sensors, 8 disks and 8 NICs, laid out as the kernel lays out /sys (class links into
/sys/devices, subsystem links), so both ward (--root) and lm-sensors (bind-mounted over /sys)
can read it.

usage: make_fixture.py DIR      (DIR is replaced)

  temperatures  coretemp x2 (package + 11 cores each), nct6779 (10 labelled), 4 NVMe (2 each),
                4 SATA disks with drivetemp (1 each), 2 thermal zones          = 52
  fans          nct6779 fan1..7 with min/alarm and pwm1..7                     = 7
  disks         sda..sdd + nvme0n1..nvme3n1 in /proc/diskstats and /sys/block (with partitions
                and loop devices that ward must skip)
  NICs          8 ports with every statistics file, plus lo
"""
import os
import shutil
import sys


class Tree:
    def __init__(self, root):
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)

    def p(self, rel):
        return os.path.join(self.root, rel)

    def w(self, rel, value):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"{value}\n")

    def raw(self, rel, text):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def ln(self, rel, target_rel):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.makedirs(self.p(target_rel), exist_ok=True)
        os.symlink(os.path.relpath(self.p(target_rel), os.path.dirname(path)), path)

    def bus(self, dev, bus):
        self.ln(f"{dev}/subsystem", f"sys/bus/{bus}")

    def hwmon(self, dev, n, name, attrs, class_parent=False):
        h = f"{dev}/hwmon{n}" if class_parent else f"{dev}/hwmon/hwmon{n}"
        self.w(f"{h}/name", name)
        self.ln(f"{h}/device", dev)
        for k, v in attrs.items():
            self.w(f"{h}/{k}", v)
        self.ln(f"sys/class/hwmon/hwmon{n}", h)


STATS = ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
         "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
         "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
         "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
         "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
         "rx_nohandler"]


def main(root):
    t = Tree(root)
    hw = 0
    for pkg in (0, 1):
        dev = f"sys/devices/platform/coretemp.{pkg}"
        t.bus(dev, "platform")
        attrs = {"temp1_input": 45000 + pkg * 1000, "temp1_label": f"Package id {pkg}",
                 "temp1_max": 86000, "temp1_crit": 96000, "temp1_crit_alarm": 0}
        for core in range(11):
            n = core + 2
            attrs.update({f"temp{n}_input": 40000 + core * 500, f"temp{n}_label": f"Core {core}",
                          f"temp{n}_max": 86000, f"temp{n}_crit": 96000,
                          f"temp{n}_crit_alarm": 0})
        t.hwmon(dev, hw, "coretemp", attrs)
        hw += 1
    dev = "sys/devices/platform/nct6775.656"
    t.bus(dev, "platform")
    labels = ["SYSTIN", "CPUTIN", "AUXTIN0", "AUXTIN1", "AUXTIN2", "AUXTIN3", "PECI Agent 0",
              "PCH_CHIP_CPU_MAX_TEMP", "PCH_CHIP_TEMP", "PCH_CPU_TEMP"]
    attrs = {}
    for i, label in enumerate(labels, start=1):
        attrs.update({f"temp{i}_input": 30000 + i * 1000, f"temp{i}_label": label,
                      f"temp{i}_max": 80000, f"temp{i}_max_hyst": 75000, f"temp{i}_alarm": 0})
    for i in range(1, 8):
        attrs.update({f"fan{i}_input": 900 + i * 100, f"fan{i}_min": 300, f"fan{i}_alarm": 0,
                      f"pwm{i}": 100 + i * 10, f"pwm{i}_enable": 5})
    for i in range(15):
        attrs[f"in{i}_input"] = 1000 + i
    t.hwmon(dev, hw, "nct6779", attrs)
    hw += 1

    diskstats = []
    for n in range(4):
        pci = f"sys/devices/pci0000:00/0000:00:1b.{n}/0000:0{n + 1}:00.0"
        t.bus(pci, "pci")
        ctrl = f"{pci}/nvme/nvme{n}"
        t.ln(f"{ctrl}/subsystem", "sys/class/nvme")
        t.hwmon(ctrl, hw, "nvme", {
            "temp1_input": 38850, "temp1_label": "Composite", "temp1_max": 81850,
            "temp1_min": -273150, "temp1_crit": 84850, "temp1_alarm": 0,
            "temp2_input": 41850, "temp2_label": "Sensor 1", "temp2_max": 65261850,
            "temp2_min": -273150}, class_parent=True)
        hw += 1
        b = f"{ctrl}/nvme{n}n1"
        t.w(f"{b}/size", 7501476528)
        t.ln(f"sys/block/nvme{n}n1", b)
        diskstats.append((259, n * 2, f"nvme{n}n1"))
        diskstats.append((259, n * 2 + 1, f"nvme{n}n1p1"))
    for n in range(4):
        sdev = f"sys/devices/pci0000:00/0000:00:17.0/ata{n + 1}/host{n}/target{n}:0:0/{n}:0:0:0"
        t.bus(sdev, "scsi")
        t.w(f"{sdev}/wwid", f"naa.5000c500a1b2c3{n:02x}")
        t.hwmon(sdev, hw, "drivetemp", {"temp1_input": 33000 + n * 1000, "temp1_lcrit": -40000,
                                        "temp1_min": 0, "temp1_max": 70000,
                                        "temp1_crit": 85000})
        hw += 1
        name = "sd" + "abcd"[n]
        t.w(f"{sdev}/block/{name}/size", 3907029168)
        t.ln(f"sys/block/{name}", f"{sdev}/block/{name}")
        diskstats.append((8, n * 16, name))
        diskstats.append((8, n * 16 + 1, name + "1"))
    for n in range(4):
        diskstats.append((7, n, f"loop{n}"))
        t.ln(f"sys/block/loop{n}", f"sys/devices/virtual/block/loop{n}")

    for z, (ztype, temp) in enumerate((("acpitz", 27800), ("x86_pkg_temp", 45000))):
        tz = f"sys/devices/virtual/thermal/thermal_zone{z}"
        t.w(f"{tz}/type", ztype)
        t.w(f"{tz}/temp", temp)
        t.w(f"{tz}/mode", "enabled")
        t.w(f"{tz}/trip_point_0_type", "critical")
        t.w(f"{tz}/trip_point_0_temp", 105000)
        t.ln(f"sys/class/thermal/thermal_zone{z}", tz)

    ports = [("eno%d" % (i + 1), f"sys/devices/pci0000:00/0000:00:1c.{i}/0000:1{i}:00.0")
             for i in range(4)]
    ports += [("ens1f%d" % i, f"sys/devices/pci0000:80/0000:80:02.0/0000:81:00.{i}")
              for i in range(4)]
    ports.append(("lo", "sys/devices/virtual"))
    for i, (name, dev) in enumerate(ports):
        nd = f"{dev}/net/{name}"
        for k, s in enumerate(STATS):
            t.w(f"{nd}/statistics/{s}", (i + 1) * 1_000_000_000 + k * 1000)
        for k, v in (("operstate", "up"), ("carrier", 1), ("speed", 10000), ("duplex", "full"),
                     ("mtu", 1500), ("address", f"3c:ec:ef:00:00:{i:02x}"),
                     ("carrier_changes", 2), ("flags", "0x1003")):
            t.w(f"{nd}/{k}", v)
        t.ln(f"sys/class/net/{name}", nd)

    ncpu = 32
    lines = ["cpu  " + " ".join(str(ncpu * 1000 * (k + 1)) for k in range(10))]
    lines += [f"cpu{c} " + " ".join(str(1000 * (k + 1) + c) for k in range(10))
              for c in range(ncpu)]
    lines.append("intr " + " ".join(str(i) for i in range(2000)))
    lines += ["ctxt 123456789", "btime 1731900000", "processes 418273", "procs_running 3",
              "procs_blocked 0", "softirq 1 2 3 4 5 6 7 8 9 10 11"]
    t.raw("proc/stat", "\n".join(lines) + "\n")
    mem = [("MemTotal", 263790012), ("MemFree", 201332448), ("MemAvailable", 244551120),
           ("Buffers", 1021044), ("Cached", 38771200), ("SwapCached", 0)]
    mem += [(f"Field{i}", i) for i in range(40)]
    mem += [("SwapTotal", 8388604), ("SwapFree", 8388604)]
    t.raw("proc/meminfo", "".join(f"{k + ':':<16}{v:>10} kB\n" for k, v in mem))
    t.raw("proc/diskstats", "".join(
        f"{ma:4d} {mi:7d} {n} " + " ".join(str(mi * 100 + k) for k in range(17)) + "\n"
        for ma, mi, n in diskstats))
    mounts = ["sysfs /sys sysfs rw 0 0", "proc /proc proc rw 0 0",
              "udev /dev devtmpfs rw 0 0", "tmpfs /run tmpfs rw 0 0",
              "/dev/nvme0n1p1 / ext4 rw 0 0", "tmpfs /dev/shm tmpfs rw 0 0",
              "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0", "/dev/sda1 /srv/a xfs rw 0 0",
              "/dev/sdb1 /srv/b xfs rw 0 0", "/dev/nvme1n1p1 /var/lib xfs rw 0 0"]
    t.raw("proc/self/mounts", "".join(m + "\n" for m in mounts))
    t.raw("ward-statvfs", "".join(f"{m} 4096 {1 << 28} {1 << 27} {1 << 27} {1 << 24} {1 << 23}\n"
                                  for m in ("/run", "/", "/dev/shm", "/srv/a", "/srv/b",
                                            "/var/lib")))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixture.py DIR")
    main(sys.argv[1])
