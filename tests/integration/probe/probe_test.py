#!/usr/bin/env python3
"""`ward-agent probe` end to end on the fixture trees (tests/fixtures): JSON schema and values
(docs/probe.md), the text layout, stable ids across hwmon renumbering, string escaping, a
source the agent may not read, and exit statuses.

usage: probe_test.py linux AGENT FIXTURES [EMULATOR...]
       probe_test.py sim AGENT SCENARIO_DIR [EMULATOR...]   (boards with the sim backend)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

MODE, AGENT, FIXTURES = sys.argv[1], sys.argv[2], sys.argv[3]
EMU = sys.argv[4:]
failed = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failed.append(what)
    return cond


def run(*args, as_nobody=False):
    pre = None
    if as_nobody and os.geteuid() == 0:
        def pre():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
    p = subprocess.run(EMU + [AGENT, "probe", *args], capture_output=True, timeout=120,
                       preexec_fn=pre)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def probe_json(root, **kw):
    rc, out, err = run("--root", root, "--json", **kw)
    check(rc == 0, f"probe --json --root {root}: exit 0 (got {rc}; {err.strip()[:200]})")
    return json.loads(out), err


def by_id(items):
    return {x["id"]: x for x in items}


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def file_int(*parts):
    with open(fixture(*parts)) as f:
        return int(f.read())


def intel():
    root = fixture("intel-server")
    d, err = probe_json(root)
    check(d["probe_schema"] == 1 and d["backend"] == "linux" and d["root"] == root,
          "intel: header")
    check(err == "", f"intel: nothing on stderr ({err.strip()[:200]})")
    t = by_id(d["temperatures"])
    check(len(t) == 23, f"intel: 23 temperatures (got {len(t)})")
    p = t.get("temp:coretemp.isa0000:package_id_0", {})
    check(p.get("mdeg_c") == {"status": "ok", "value": 45000} and p.get("label") == "Package id 0",
          "intel: package 0 reads 45000")
    check(p.get("thresholds") == {"upper_caution": 86000, "upper_critical": 96000},
          "intel: package 0 thresholds")
    check(t["temp:nct6776.isa0290:auxtin"]["mdeg_c"]["value"] == -27000, "intel: negative temp")
    check(t["temp:thermal:pch_cannonlake"]["mdeg_c"] ==
          {"status": "unavailable", "reason": "disabled", "value": None}, "intel: disabled zone")
    check(t["temp:coretemp.isa0001:core_3"]["alarm"] is True, "intel: alarm flag")
    check(t["temp:drivetemp.naa5002538f4160a1b2:temp1"]["thresholds"]["lower_critical"] == -40000,
          "intel: drivetemp lcrit")
    f = by_id(d["fans"])
    check(f["fan:nct6776.isa0290:pwm4"]["rpm"]["reason"] == "not-supported" and
          f["fan:nct6776.isa0290:pwm4"]["pwm_percent"]["value"] == 0, "intel: pwm-only channel")
    check(f["fan:nct6776.isa0290:fan1"]["thresholds"] == {"lower_caution": 300}, "intel: fan min")
    n = {x["name"]: x for x in d["nics"]}
    check(sorted(n) == ["eno1", "eno2", "lo"], "intel: NICs by name")
    ok = True
    for name in n:
        for c, v in n[name]["counters"].items():
            rel = c if c == "carrier_changes" else os.path.join("statistics", c)
            ok &= v == {"status": "ok", "value": file_int("intel-server", "sys/class/net", name, rel)}
    check(ok, "intel: every NIC counter equals its sysfs file")
    check(n["eno1"]["mac"] == "3c:ec:ef:12:34:56" and n["eno1"]["speed_mbps"]["value"] == 1000 and
          n["eno1"]["duplex"] == "full" and n["eno1"]["oper"] == "up", "intel: eno1 link")
    h = d["host"]
    check(h["cpu"]["ncpu"] == 8 and h["cpu"]["ticks"]["user"] == 16028000, "intel: cpu")
    check(h["memory"]["total_bytes"] == 65742108 * 1024, "intel: memory")
    check([b["name"] for b in h["block_devices"]] == ["sda", "nvme0n1", "dm-0"],
          "intel: whole disks only")
    fs = {x["mount_point"]: x for x in h["filesystems"]}
    check(len(fs) == 7 and fs["/srv/data store"]["total_bytes"] == 468843264 * 4096,
          "intel: filesystems, escaped mount point, sizes from ward-statvfs")
    check(fs["/mnt/backup"]["status"] == "unavailable" and
          fs["/mnt/backup"]["reason"] == "not-supported", "intel: nfs not read")
    check(all(x["id"].startswith("disk:") and "status" in x["smart"] for x in d["disks"]),
          "intel: disks have ids and a SMART status")
    check(d["problems"] == [], "intel: no problems")

    # Same machine, every hwmonN / thermal_zoneN renumbered: the same document.
    d2, _ = probe_json(fixture("intel-server-renumbered"))
    d.pop("root")
    d2.pop("root")
    check(d == d2, "renumbered tree: identical output (ids, order, values)")

    rc, out, err = run("--root", root)
    check(rc == 0 and "Temperatures (23)" in out and "+45.0 C" in out and
          "temp:coretemp.isa0000:package_id_0" in out and "Unavailable sources (0)" in out and
          "eno1: state up" in out, "intel: text output")


def others():
    d, _ = probe_json(fixture("bmc-ast2500"))
    t = by_id(d["temperatures"])
    check(t["temp:lm75.i2c0-0048:temp1"]["mdeg_c"]["value"] == -12500 and
          t["temp:lm75.i2c1-0048:temp1"]["mdeg_c"]["value"] == 38000, "bmc: two lm75 apart")
    check(t["temp:tmp421.i2c2-004c:cpu_diode"]["mdeg_c"] == {"status": "fault", "value": None},
          "bmc: fault")
    check(len(d["fans"]) == 8, "bmc: 8 fans")
    d, _ = probe_json(fixture("amd-server"))
    check(all(x["reason"] == "not-supported" for x in d["host"]["filesystems"]),
          "amd: no ward-statvfs -> sizes not supported")
    check(len({x["id"] for x in d["temperatures"]}) == 9, "amd: 9 distinct ids")


def tree_with(tmp, extra, base="bmc-ast2500", append=False):
    root = os.path.join(tmp, "root")
    shutil.copytree(fixture(base), root, symlinks=True)
    for rel, data in extra.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "ab" if append else "wb") as f:
            f.write(data)
    os.chmod(tmp, 0o755)
    return root


def escaping_and_permissions():
    with tempfile.TemporaryDirectory() as tmp:
        hw = "sys/devices/platform/ahb/ahb:apb/bus@1e78a000/1e78a100.i2c-bus/i2c-2/2-004c/hwmon/hwmon3"
        mounts = (b"/dev/a /srv/caf\xc3\xa9 ext4 rw 0 0\n/dev/b /srv/bad\xff\\042q ext4 rw 0 0\n")
        root = tree_with(tmp, {hw + "/temp1_label": b'a"b\\c\x01\n',
                               "proc/self/mounts": mounts})
        rc, out, err = run("--root", root, "--json")
        try:
            d = json.loads(out)
        except ValueError as e:
            check(False, f"escaping: output is JSON ({e})")
            return
        t = by_id(d["temperatures"])
        check(t["temp:tmp421.i2c2-004c:a_b_c"]["label"] == 'a"b\\c?', "escaping: label")
        mp = [x["mount_point"] for x in d["host"]["filesystems"]]
        check(mp == ["/srv/caf\u00e9", "/srv/bad\ufffd\"q"], f"escaping: mount points {mp}")

        # One file the agent may not read: one stderr line, that reading unavailable, the rest
        # still read, exit 0.
        target = os.path.join(root, hw, "temp1_input")
        os.chmod(target, 0)
        for dirpath, dirs, files in os.walk(tmp):
            os.chmod(dirpath, 0o755)
        rc, out, err = run("--root", root, "--json", as_nobody=True)
        check(rc == 0, f"permission: exit 0 (got {rc})")
        lines = [l for l in err.splitlines() if "permission denied" in l]
        check(len(lines) == 1 and lines[0].startswith("probe: ") and
              lines[0].endswith("/hwmon3/temp1_input: permission denied; run as root or give the "
                                "agent read access"), f"permission: one line on stderr ({err!r})")
        d = json.loads(out)
        t = by_id(d["temperatures"])
        check(t["temp:tmp421.i2c2-004c:a_b_c"]["mdeg_c"]["reason"] == "permission" and
              t["temp:lm75.i2c0-0048:temp1"]["mdeg_c"]["value"] == -12500,
              "permission: that reading unavailable, the others read")
        check(len(d["problems"]) == 1 and d["problems"][0]["errno"] == 13, "permission: problem")


def left_out():
    """Block devices the disk backend does not read are listed with their reason, apart from
    the problems (a virtio disk is a fact of a VM, not a fault)."""
    want = {"intel-server": ["dm-0"], "bmc-ast2500": ["mmcblk0", "mtdblock0", "mtdblock1"],
            "amd-server": ["md127"]}
    for name, names in want.items():
        d, _ = probe_json(fixture(name))
        got = [x["name"] for x in d["left_out"]]
        check(got == names and all(x["reason"] for x in d["left_out"]),
              f"left out {name}: {names} with reasons (got {d['left_out']})")
    with tempfile.TemporaryDirectory() as tmp:
        root = tree_with(tmp, {"sys/block/vda/size": b"41943040\n",
                               "sys/block/sdb/size": b"2097152\n",
                               "sys/block/sdb/device/vendor": b"QEMU    \n",
                               "sys/block/nvme0c0n1/size": b"2097152\n"},
                         base="intel-server")
        os.chmod(tmp, 0o755)
        d, err = probe_json(root)
        lo = {x["name"]: x["reason"] for x in d["left_out"]}
        check(list(lo) == ["dm-0", "nvme0c0n1", "sdb", "vda"],
              f"left out: every block device not read, by name, no loop0 ({list(lo)})")
        check(lo.get("vda") == "virtio disks have no SMART", f"left out: vda ({lo.get('vda')})")
        check('"QEMU"' in lo.get("sdb", "") and "ATA" in lo.get("sdb", ""),
              f"left out: sdb names its SCSI vendor ({lo.get('sdb')})")
        check("multipath" in lo.get("nvme0c0n1", ""), f"left out: nvme path ({lo})")
        check(d["problems"] == [] and err == "", f"left out: not problems ({d['problems']}, {err!r})")
        check(len(d["disks"]) == 2, f"left out: the disks read are unchanged ({d['disks']})")
        rc, out, _ = run("--root", root)
        check(rc == 0 and "Disks left out (4)" in out and
              "  vda: left out: virtio disks have no SMART" in out.splitlines() and
              "Unavailable sources (0)" in out, "left out: text output")


def fs_columns():
    """The text's filesystem columns are as wide as their longest entry: a long mount point
    neither runs into the type nor shifts the rows after it."""
    long_mp = "/srv/archive/" + "x" * 40
    with tempfile.TemporaryDirectory() as tmp:
        root = tree_with(tmp, {"proc/self/mounts":
                               f"/dev/sdz1 {long_mp} ext4 rw 0 0\n".encode()},
                         base="intel-server", append=True)
        os.chmod(tmp, 0o755)
        d, _ = probe_json(root)
        fs = [(x["mount_point"], x["type"], x["source"]) for x in d["host"]["filesystems"]]
        rc, out, err = run("--root", root)
        lines = out.splitlines()
        start = lines.index(f"  filesystems ({len(fs)}):") + 1 if \
            f"  filesystems ({len(fs)}):" in lines else None
        if not check(rc == 0 and start is not None and long_mp in [m for m, _, _ in fs],
                     f"fs columns: text output with {len(fs)} filesystems ({err.strip()[:200]})"):
            return
        w = [max(len(x[c]) for x in fs) for c in range(3)]
        ok = True
        for (mp, typ, src), line in zip(fs, lines[start:start + len(fs)]):
            want = "    " + mp.ljust(w[0]) + " " + typ.ljust(w[1]) + " " + src.ljust(w[2]) + " "
            ok &= line.startswith(want)
            if not line.startswith(want):
                print(f"     got  {line!r}\n     want {want!r}...")
        check(ok, "fs columns: mount point, type and source aligned to the longest of each")


def pretty():
    """--json --pretty: the same document, indented two spaces a level (as Python's indent=2)."""
    for name in ("intel-server", "bmc-ast2500"):
        root = fixture(name)
        rc, compact, _ = run("--root", root, "--json")
        rc2, out, err = run("--root", root, "--json", "--pretty")
        if not check(rc == 0 and rc2 == 0, f"pretty {name}: exit 0 ({err.strip()[:200]})"):
            continue
        d = json.loads(out)
        check(d == json.loads(compact), f"pretty {name}: the same document as --json")
        check(out == json.dumps(d, indent=2, ensure_ascii=False) + "\n",
              f"pretty {name}: one value per line, indented by two spaces")
        check(compact.count("\n") == 1, f"pretty {name}: --json alone stays on one line")
    rc, _, err = run("--pretty")
    check(rc == 2 and "needs --json" in err, f"--pretty without --json: exit 2 ({rc}, {err!r})")


def usage():
    rc, _, err = run("--root", "/nonexistent/ward")
    check(rc == 1 and err.startswith("probe: --root /nonexistent/ward: No such file"),
          f"missing root: exit 1 with one line ({rc}, {err.strip()})")
    rc, _, err = run("--bogus")
    check(rc == 2 and "unknown option '--bogus'" in err, "unknown option: exit 2")
    rc, _, err = run("--at", "5")
    check(rc == 2 and "needs --scenario" in err, "--at without --scenario: exit 2")
    rc, _, err = run("--root")
    check(rc == 2 and "--root needs a value" in err, "--root without value: exit 2")
    rc, out, _ = run("--help")
    check(rc == 0 and out.startswith("usage: ward-agent probe"), "--help")


def sim():
    """Every shipped scenario through the sim backend: JSON per docs/probe.md, time moves."""
    names = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".json"))
    check(len(names) >= 5, f"sim: scenarios found ({names})")
    for name in names:
        path = os.path.join(FIXTURES, name)
        docs = []
        for at in ("0", "3600000"):
            rc, out, err = run("--scenario", path, "--at", at, "--json")
            if not check(rc == 0, f"sim {name} at {at}: exit 0 ({err.strip()[:200]})"):
                break
            d = json.loads(out)
            check(d["backend"] == "sim" and d["scenario"] == path and d["at_ms"] == int(at) and
                  "root" not in d, f"sim {name} at {at}: header")
            check(all(k in d for k in ("temperatures", "fans", "disks", "nics", "host",
                                       "problems")), f"sim {name} at {at}: every class")
            check(d.get("left_out") == [], f"sim {name} at {at}: no disk left out")
            docs.append(d)
        if len(docs) == 2:
            check(docs[0] != docs[1], f"sim {name}: readings move with --at")
        rc, out, _ = run("--scenario", path)
        check(rc == 0 and out.startswith("ward-agent probe: backend sim, scenario"),
              f"sim {name}: text output")
    rc, _, err = run("--scenario", os.path.join(FIXTURES, names[0]), "--root", "/")
    check(rc == 2 and "give one of them" in err, "sim: --root with --scenario is refused")
    rc, _, err = run("--scenario", "/nonexistent/ward.json")
    check(rc == 1 and "No such file" in err, "sim: missing scenario exits 1")


if MODE == "sim":
    sim()
else:
    intel()
    others()
    escaping_and_permissions()
    pretty()
    fs_columns()
    left_out()
    usage()
print(f"probe_test: {len(failed)} failed")
sys.exit(1 if failed else 0)
