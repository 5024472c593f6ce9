#!/usr/bin/python3
"""ward-agent's AgentX subagent against Debian's own Net-SNMP (docs/nms.md, "SNMP (AgentX)").

Starts, on loopback only and in a temporary directory: a stand-in collector
(tests/integration/agent_run/fake_collector.py), snmpd as AgentX master (the snmpd.conf of
docs/nms.md; its UDP port on 127.0.0.1, its AgentX socket and persistent directory in the
temporary directory), snmptrapd logging to a file, and ward-agent run --agentx. Then:

  linux: over a fixture tree, snmpwalk and snmpbulkwalk return the entPhySensorTable and
         wardSensorTable rows with the values and thresholds of `ward-agent probe --json` on the
         same tree; Get of a missing instance / object answers noSuchInstance / noSuchObject;
         the walk ends (endOfMibView) with the subtree.
  sim:   a scenario swings a temperature across its critical threshold: snmptrapd logs the
         wardStateChange trap with the sensor, the old and new state, severity and threshold.
  both:  wardDiskTable, wardSmartAttrTable and wardNvmeTable list the disks, ATA attributes and
         NVMe health of `ward-agent probe --json` (sim: a second agent on DISK_SCENARIO, whose
         disks have SMART data; linux: the fixture's disks, whose SMART the tree cannot give);
         entPhySensorValueTimeStamp is snmpd's sysUpTime, also after snmpd restarted under a
         running agent (sysUpTime starts over, the agent's own clock does not);
         snmpd killed and restarted: the subagent registers again; a fake master that sends
         garbage, then one that closes at once: the agent survives, says why, keeps reporting
         to the collector and registers with the real snmpd once it is back; WARD-MIB passes
         `smilint -l 3` with no output and snmptranslate resolves its objects.

The IETF MIB modules are not in Debian main (snmp-mibs-downloader is non-free): the clients
run with -m "" and numeric OIDs; smilint and snmptranslate read SNMPv2-SMI/TC/CONF from the
lwIP source package tools/bootstrap fetches (contrib/apps/LwipMibCompiler/Mibs).

usage: snmp_test.py linux|sim AGENT DATA MIBDIR IETF_MIBDIR FAKE_COLLECTOR DISK_SCENARIO
                   [EMULATOR...]
  DATA: the fixture tree (linux) or the scenario (sim); DISK_SCENARIO: a sim scenario with ATA
  and NVMe disks (sim only; "-" for linux); exit 77 (skipped) when not root or when snmpd is
  not installed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MODE, AGENT, DATA, MIBDIR, IETF, FAKE, DISK_SCENARIO = sys.argv[1:8]
EMU = sys.argv[8:]
HERE = os.path.dirname(os.path.abspath(__file__))
ENT_SENSOR = "1.3.6.1.2.1.99.1.1.1"
ENT_PHYS = "1.3.6.1.2.1.47.1.1.1.1"
WARD = "1.3.6.1.4.1.32473.1"
WARD_SENSOR = WARD + ".1.2.1"
WARD_DISK = WARD + ".1.4.1"
WARD_ATTR = WARD + ".1.5.1"
WARD_NVME = WARD + ".1.6.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
THRESHOLDS = ["lower_caution", "upper_caution", "lower_critical", "upper_critical",
              "lower_fatal", "upper_fatal"]
failed = []
procs = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failed.append(what)
    return cond


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def wait_for(pred, secs, step=0.2):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Env:
    def __init__(self, work):
        self.work = work
        self.sock = os.path.join(work, "agentx.sock")
        self.udp = free_port(socket.SOCK_DGRAM)
        self.trap_port = free_port(socket.SOCK_DGRAM)
        self.env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(work, "client"), MIBS="")
        self.snmpd = None


def write_snmpd_conf(e, socket_spec=None):
    # As docs/nms.md shows it, with this run's socket, community and trap sink.
    conf = f"""master agentx
agentXSocket {socket_spec or "unix:" + e.sock}
agentXPerms 0600 0700
agentXTimeout 5
agentXRetries 2
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:{e.trap_port} public
"""
    with open(os.path.join(e.work, "snmpd.conf"), "w") as f:
        f.write(conf)


def start_snmpd(e, ready=None):
    log = os.path.join(e.work, "snmpd.log")
    e.snmpd = start(["/usr/sbin/snmpd", "-f", "-C", "-c", os.path.join(e.work, "snmpd.conf"),
                     "-m", "", "-Lf", log, "--persistentDir=" + os.path.join(e.work, "persist"),
                     f"udp:127.0.0.1:{e.udp}"], env=e.env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    ok = wait_for(ready or (lambda: os.path.exists(e.sock)), 10)
    return check(ok and e.snmpd.poll() is None, "snmpd started with its AgentX socket")


def snmp(e, tool, *args, timeout=60):
    p = subprocess.run([tool, "-m", "", "-On", "-v2c", "-c", "public", "-t", "3", "-r", "1",
                        f"127.0.0.1:{e.udp}", *args], capture_output=True, timeout=timeout,
                       env=e.env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def parse_walk(text):
    """{oid: (type, value)} from -On output lines '.1.3... = TYPE: value'."""
    rows = {}
    for line in text.splitlines():
        if " = " not in line:
            continue
        oid, rest = line.split(" = ", 1)
        typ, _, val = rest.partition(": ")
        val = val.strip()
        if typ == "STRING":
            val = val.strip('"')
        elif typ == "Timeticks":
            val = int(val[1:val.index(")")])
        elif typ in ("INTEGER", "Gauge32", "Counter32", "Counter64"):
            val = int(val.split("(")[-1].rstrip(")")) if "(" in val else int(val)
        rows[oid.lstrip(".")] = (typ, val)
    return rows


def column(rows, prefix, col):
    p = f"{prefix}.{col}."
    return {int(k[len(p):]): v[1] for k, v in rows.items() if k.startswith(p)}


def own_readings(ward):
    """{wardSensorTable row: entPhysicalIndex} of the readings that change while the test
    runs, so that two walks a moment apart may see different values (and states): the agent's
    own ("agent:*", e.g. agent:loop_lag_ms, which follows the load on the machine) and, on the
    sim board, every sensor (the scenario plays them: square.json swings one across its
    critical threshold every second)."""
    ids, ent = column(ward, WARD_SENSOR, 2), column(ward, WARD_SENSOR, 12)
    return {r: ent.get(r) for r, sid in ids.items()
            if MODE == "sim" or str(sid).startswith("agent:")}


def walk_both(e, oid, own=None):
    """Walk with GetNext and with GetBulk; both must list the same rows with the same values,
    except entPhySensorValueTimeStamp, which moves with every reading, and the reading, state
    and severity of sensors whose readings change meanwhile (own_readings; `own` for
    entPhySensorTable, which does not name its sensors, from a wardSensorTable walk)."""
    rc1, out1, err1 = snmp(e, "snmpwalk", oid)
    rc2, out2, err2 = snmp(e, "snmpbulkwalk", "-Cr25", oid)
    check(rc1 == 0 and rc2 == 0, f"snmpwalk and snmpbulkwalk of {oid} exit 0 ({err1}{err2})")
    a, b = parse_walk(out1), parse_walk(out2)
    if oid == WARD_SENSOR:
        own = own_readings(a)
    live = {f"{WARD_SENSOR}.{c}.{r}" for r in (own or {}) for c in (3, 4, 5)}
    live |= {f"{ENT_SENSOR}.{c}.{x}" for x in (own or {}).values() for c in (4, 5)}

    def moving(k):  # time stamps, and what the disks' next sample may have changed
        return k in live or k.startswith((ENT_SENSOR + ".7.", WARD_DISK + ".6.",
                                          WARD_ATTR + ".6.", WARD_NVME + ".2."))

    same = a.keys() == b.keys() and all(a[k] == b[k] for k in a if not moving(k))
    diff = [(k, a[k], b[k]) for k in a if k in b and a[k] != b[k] and not moving(k)][:3]
    diff += sorted(a.keys() ^ b.keys())[:3]
    check(same and len(a) > 0, f"snmpwalk and snmpbulkwalk of {oid} agree ({len(a)} rows; {diff})")
    return a


def registered(e):
    rc, out, _ = snmp(e, "snmpget", WARD + ".1.1.3.0")
    return rc == 0 and "STRING" in out


def agent_log(e):
    with open(os.path.join(e.work, "agent.err"), errors="replace") as f:
        return f.read()


# ---- certificates and the stand-in collector ------------------------------------------------

def certs(work):
    def sh(*a):
        subprocess.run(a, cwd=work, check=True, capture_output=True, timeout=60)

    def ec(name):
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-out", name)

    ec("ca.key")
    sh("openssl", "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2",
       "-subj", "/CN=test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign")
    for name, cn, ext in (("srv", "collector.test",
                           "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:collector.test\n"),
                          ("dev", "snmp-1", "extendedKeyUsage=clientAuth\n")):
        ec(name + ".key")
        sh("openssl", "req", "-new", "-key", name + ".key", "-out", name + ".csr",
           "-subj", "/CN=" + cn)
        with open(os.path.join(work, name + ".ext"), "w") as f:
            f.write(ext)
        sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
        os.chmod(os.path.join(work, name + ".key"), 0o600)


def start_collector(work):
    with open(os.path.join(work, "mode"), "w") as f:
        f.write("ack\n")
    start(["/usr/bin/python3", FAKE, work, os.path.join(work, "port"),
           os.path.join(work, "events.log"), os.path.join(work, "mode"), "400"],
          stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(os.path.join(work, "port")) and
             os.path.getsize(os.path.join(work, "port")) > 0, 10)
    with open(os.path.join(work, "port")) as f:
        return int(f.read())


def heartbeats(work):
    try:
        with open(os.path.join(work, "events.log")) as f:
            return sum(1 for line in f if '"hb"' in line)
    except OSError:
        return 0


def start_agent(e, port, agentx=None, data=None):
    # Every class sampled within a second, fast heartbeats (no rules: the thresholds stay the
    # hardware's).
    extra = ["--root" if MODE == "linux" else "--scenario", data or DATA, "--rules",
             os.path.join(HERE, "fast.rules.json")]
    err = open(os.path.join(e.work, "agent.err"), "w")
    return start(EMU + [AGENT, "run", "--collector", f"127.0.0.1:{port}", "--server-name",
                        "collector.test", "--ca", os.path.join(e.work, "ca.pem"), "--cert",
                        os.path.join(e.work, "dev.pem"), "--key", os.path.join(e.work, "dev.key"),
                        "--state-dir", os.path.join(e.work, "state"), "--agentx",
                        agentx or "unix:" + e.sock, "--for", "300", *extra], stderr=err,
                 stdout=subprocess.DEVNULL)


# ---- the checks -----------------------------------------------------------------------------

def settle(e):
    """Wait until every class was sampled: wardAgentSensors the same for 2 s (at most 30 s)."""
    seen = []

    def stable():
        rc, out, _ = snmp(e, "snmpget", WARD + ".1.1.9.0")
        seen.append(out.strip())
        return rc == 0 and len(seen) >= 5 and len(set(seen[-5:])) == 1

    check(wait_for(stable, 30, 0.5), f"the sensor count settles ({seen[-1:]})")


def check_linux_values(e):
    settle(e)
    p = subprocess.run(EMU + [AGENT, "probe", "--root", DATA, "--json"], capture_output=True,
                       timeout=120)
    probe = json.loads(p.stdout)
    want = {}
    # A reading the platform does not offer at all is no sensor (firmware/src/sample.c).
    for t in probe["temperatures"]:
        if t["mdeg_c"].get("reason") != "not-supported":
            want[t["id"]] = (t["mdeg_c"], t["thresholds"], 8, 3)
    for fa in probe["fans"]:
        if fa["rpm"].get("reason") != "not-supported":
            want[fa["id"]] = (fa["rpm"], fa["thresholds"], 10, 0)
    ward = walk_both(e, WARD_SENSOR)
    own = own_readings(ward)
    check(len(own) >= 1, f"the agent's own readings are wardSensorTable rows ({own})")
    sens = walk_both(e, ENT_SENSOR, own)
    ids = column(ward, WARD_SENSOR, 2)
    ent_index = column(ward, WARD_SENSOR, 12)
    rows = {v: k for k, v in ids.items()}
    check(set(want) <= set(rows), f"every probed temperature and fan is a wardSensorTable row "
          f"({len(want)} of {len(rows)} rows); missing: {sorted(set(want) - set(rows))[:5]}")
    compared = 0
    for sid, (reading, thr, typ, prec) in want.items():
        if sid not in rows:
            continue
        r = rows[sid]
        x = ent_index[r]
        got_val = sens.get(f"{ENT_SENSOR}.4.{x}", (None, None))[1]
        vals = [ward.get(f"{WARD_SENSOR}.5.{r}", (None, None))[1], got_val]
        status = sens.get(f"{ENT_SENSOR}.5.{x}", (None, None))[1]
        if reading["status"] == "ok":
            ok = vals == [reading["value"], reading["value"]] and status == 1
        else:
            ok = status == 2
        ok &= sens.get(f"{ENT_SENSOR}.1.{x}", (0, 0))[1] == typ
        ok &= sens.get(f"{ENT_SENSOR}.3.{x}", (0, 0))[1] == prec
        for k, name in enumerate(THRESHOLDS):
            got = ward.get(f"{WARD_SENSOR}.{6 + k}.{r}")
            if name in thr:
                ok &= got is not None and got[1] == thr[name]
        compared += ok
        check(ok, f"{sid}: value {vals} status {status} and thresholds match probe "
              f"({reading}, {thr})")
    check(compared == len(want) and compared >= 10, f"{compared} sensors compared with probe")
    ent = walk_both(e, ENT_PHYS)
    classes = column(ent, ENT_PHYS, 5)
    check(classes.get(1) == 3 and 7 in classes.values() and 8 in classes.values(),
          "entPhysicalTable: a chassis (1), fans (7) and sensors (8)")
    names = column(ent, ENT_PHYS, 7)
    serials = column(ent, ENT_PHYS, 11)
    disks = {d["id"]: d for d in probe["disks"]}
    rows_d = {n: x for x, n in names.items() if n in disks}
    check(len(rows_d) > 0 and all(serials[x] == disks[n]["serial"] and
                                  column(ent, ENT_PHYS, 13)[x] == disks[n]["model"]
                                  for n, x in rows_d.items()),
          f"entPhysicalSerialNum and ModelName of {len(rows_d)} disk rows are probe's")
    parent = column(ent, ENT_PHYS, 4)
    check(all(parent.get(x) in classes for x in ent_index.values()),
          "every sensor's entPhysicalContainedIn names a row of the table")
    # Get: a missing instance, a missing object; the walk ends with the subtree.
    _, out, _ = snmp(e, "snmpget", f"{WARD_SENSOR}.2.99999", f"{WARD}.1.1.99.0")
    check("No Such Instance" in out and "No Such Object" in out,
          f"snmpget: noSuchInstance and noSuchObject ({out.strip()})")
    _, out, _ = snmp(e, "snmpgetnext", f"{WARD}.1.6.1.9")
    check(f".{WARD}" not in out, f"GetNext past WARD-MIB's last column leaves the subtree ({out.strip()})")


def probe_json(data, at=None):
    src = ["--root", data] if MODE == "linux" else ["--scenario", data]
    p = subprocess.run(EMU + [AGENT, "probe", *src, *(["--at", at] if at else []), "--json"],
                       capture_output=True, timeout=120)
    return json.loads(p.stdout)


def check_disk_tables(e, data):
    """WARD-MIB's disk tables against probe on the same data (sim: at 0 s and 300 s, so a raw
    counter the scenario moves is checked between the two)."""
    probe = probe_json(data)
    later = probe_json(data, "300000") if MODE == "sim" else probe
    disks = {d["id"]: d for d in probe["disks"]}
    want_disks = len(disks)

    def filled():
        rc, out, _ = snmp(e, "snmpwalk", WARD_DISK + ".5")
        rows = parse_walk(out)
        return len(rows) == want_disks and (MODE == "linux" or all(v[1] != 1 for v in rows.values()))

    check(want_disks >= 2 and wait_for(filled, 30, 0.5),
          f"wardDiskTable: a row for each of probe's {want_disks} disks, with a verdict")
    dt = walk_both(e, WARD_DISK)
    ids = column(dt, WARD_DISK, 2)
    rows = {v: k for k, v in ids.items()}
    check(set(rows) == set(disks), f"wardDiskId: probe's disks ({sorted(rows)} vs {sorted(disks)})")
    verdicts = {"unknown": 1, "passed": 2, "failed-past": 3, "failing": 4}
    for did, d in disks.items():
        r = rows.get(did)
        got = (column(dt, WARD_DISK, 3).get(r), column(dt, WARD_DISK, 4).get(r),
               column(dt, WARD_DISK, 5).get(r))
        want = (d["dev_name"], 2 if d["kind"] == "nvme" else 1,
                verdicts.get(d["smart"]["verdict"], 0))
        check(got == want, f"{did}: device, kind, verdict {got} == probe's {want}")
    attrs = walk_attrs(e) if MODE == "sim" else {}
    if MODE == "linux":  # the fixture tree has no SMART pages: no rows, as probe says
        found = []
        for oid in (WARD_ATTR, WARD_NVME):  # an empty subtree: snmpwalk's Get says no object
            found += [k for k, v in parse_walk(snmp(e, "snmpwalk", oid)[1]).items()
                      if not v[0].startswith("No Such")]
        check(all(d["smart"]["status"] != "ok" for d in disks.values()) and not found,
              f"no SMART read from the fixture: wardSmartAttrTable and wardNvmeTable are "
              f"empty ({found[:3]})")
        return
    nv = walk_both(e, WARD_NVME)
    checked = 0
    for did, d in disks.items():
        r, sm, sm2 = rows[did], d["smart"], {x["id"]: x for x in later["disks"]}[did]["smart"]
        if d["kind"] == "ata":
            for a in sm["ata"]["attributes"]:
                a2 = {x["id"]: x for x in sm2["ata"]["attributes"]}[a["id"]]
                got = attrs.get((r, a["id"]))
                ok = got is not None and got[:4] == (a["name"], a["value"], a["worst"],
                                                     a["threshold"])
                ok = ok and a["raw"] <= int(got[4]) <= a2["raw"]
                ok = ok and got[5] == a["flags"] and got[6] == verdicts[a["verdict"]]
                checked += ok
                check(ok, f"{did} attribute {a['id']}: {got} matches probe's {a}")
            check(len([k for k in attrs if k[0] == r]) == len(sm["ata"]["attributes"]),
                  f"{did}: as many wardSmartAttrTable rows as probe's attributes")
        else:
            h = sm["nvme"]
            col = lambda c: column(nv, WARD_NVME, c).get(r)  # noqa: E731
            got = [col(1), col(3), col(4), col(5), col(6), col(7), col(8)]
            want = [h["critical_warning"], h["avail_spare_pct"], h["spare_threshold_pct"],
                    h["percent_used"], h["media_errors"], h["power_on_hours"],
                    h["unsafe_shutdowns"]]
            temp = col(2)
            ok = got == want and temp is not None and abs(temp - h["composite_temp_mdeg_c"]) <= 2000
            checked += ok
            check(ok, f"{did}: wardNvmeTable {got} temp {temp} matches probe's {want} "
                      f"{h['composite_temp_mdeg_c']}")
    check(checked >= 10, f"{checked} SMART attributes and NVMe rows compared with probe")


def walk_attrs(e):
    rows = walk_both(e, WARD_ATTR)
    out = {}
    for k, (_, v) in rows.items():
        col, disk, aid = (int(x) for x in k[len(WARD_ATTR) + 1:].split("."))
        out.setdefault((disk, aid), [None] * 7)[col - 2] = v
    return {k: tuple(v) for k, v in out.items()}


def check_timestamps(e, after):
    """entPhySensorValueTimeStamp and wardDiskTimeStamp are snmpd's sysUpTime of the last
    reading: at most sysUpTime, and recent (every class is sampled within a second)."""
    def fresh():
        rc, out, _ = snmp(e, "snmpget", SYS_UPTIME)
        up = parse_walk(out).get(SYS_UPTIME, (0, 0))[1]
        rc2, out2, _ = snmp(e, "snmpwalk", ENT_SENSOR + ".7")
        rc3, out3, _ = snmp(e, "snmpwalk", WARD_DISK + ".6")
        rc4, out4, _ = snmp(e, "snmpget", SYS_UPTIME)
        up2 = parse_walk(out4).get(SYS_UPTIME, (0, 0))[1]
        # 0: no value read yet (a sensor that is unavailable).
        stamps = [v[1] for v in {**parse_walk(out2), **parse_walk(out3)}.values() if v[1]]
        fresh.last = (up, up2, stamps[:4], len(stamps))
        return rc == rc2 == rc3 == rc4 == 0 and len(stamps) >= 3 and \
            all(t <= up2 and up - t < 500 for t in stamps)

    fresh.last = None
    check(wait_for(fresh, 20, 0.5), f"{after}: the time stamps are snmpd's sysUpTime of recent "
          f"readings (sysUpTime {fresh.last})")


def check_trap(e):
    log = os.path.join(e.work, "traps.log")

    def got():
        try:
            with open(log, errors="replace") as f:
                return f"{WARD}.0.1" in f.read()
        except OSError:
            return False

    check(wait_for(got, 30), "snmptrapd logged a wardStateChange trap")
    with open(log, errors="replace") as f:
        text = f.read()
    block = text[text.find(f"{WARD}.0.1"):][:2000]
    check("temp:coretemp.isa0000:package_id_0" in block,
          "the trap names the sensor (wardSensorId)")
    check(f"{WARD}.1.3.1.0 = INTEGER:" in block and f"{WARD_SENSOR}.3." in block and
          f"{WARD_SENSOR}.4." in block and f"{WARD}.1.3.2.0 = INTEGER: 90000" in block,
          "the trap carries old state, new state, severity and the critical threshold 90000")
    # The square wave's two levels, as probe plays the scenario at 0 and 1 s.
    levels = set()
    for at in ("0", "1000"):
        p = subprocess.run(EMU + [AGENT, "probe", "--scenario", DATA, "--at", at, "--json"],
                           capture_output=True, timeout=60)
        levels |= {t["mdeg_c"]["value"] for t in json.loads(p.stdout)["temperatures"]}
    ward = walk_both(e, WARD_SENSOR)
    row = {v: k for k, v in column(ward, WARD_SENSOR, 2).items()}.get(
        "temp:coretemp.isa0000:package_id_0")
    val = column(ward, WARD_SENSOR, 5).get(row)
    check(len(levels) == 2 and val in levels,
          f"wardSensorValue is one of the levels probe plays ({val} in {sorted(levels)})")


def check_restart(e, agent, work):
    stop(e.snmpd)
    check(wait_for(lambda: "master closed" in agent_log(e), 10),
          "snmpd stopped: the agent says the master closed the connection")
    os.unlink(e.sock) if os.path.exists(e.sock) else None
    start_snmpd(e)
    check(wait_for(lambda: registered(e), 40, 0.5), "snmpd restarted: the subagent registered again")
    check(agent.poll() is None, "the agent is still running")
    check_timestamps(e, "snmpd restarted")


def fake_master(path, mode, stop_evt):
    """Accepts connections on the AgentX socket: 'garbage' answers every read with junk
    bytes, 'close' closes each connection at once."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(0.2)
    while not stop_evt.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        with c:
            if mode == "garbage":
                c.settimeout(2)
                try:
                    c.recv(4096)
                    c.sendall(b"\x01\x12\x10\x00" + b"\xff" * 60)  # Response, huge length
                    c.recv(4096)
                except OSError:
                    pass
    srv.close()
    os.unlink(path)


def check_bad_master(e, agent, work):
    stop(e.snmpd)
    if os.path.exists(e.sock):
        os.unlink(e.sock)
    for mode, says in (("garbage", "malformed AgentX PDU"), ("close", "master closed")):
        evt = threading.Event()
        before = agent_log(e).count(says)
        hb = heartbeats(work)
        # A daemon thread, stopped in finally: an exception here never leaves it behind.
        t = threading.Thread(target=fake_master, args=(e.sock, mode, evt), daemon=True)
        t.start()
        try:
            check(wait_for(lambda: agent_log(e).count(says) > before, 40, 0.5),
                  f"fake master ({mode}): the agent drops it with '{says}'")
            check(wait_for(lambda: heartbeats(work) > hb, 20), f"fake master ({mode}): "
                  "reporting to the collector continues")
        finally:
            evt.set()
            t.join(timeout=10)
        check(agent.poll() is None, f"fake master ({mode}): the agent is still running")
    start_snmpd(e)
    check(wait_for(lambda: registered(e), 60, 0.5),
          "the real snmpd back: the subagent registered again")


def check_mib_text():
    env = dict(os.environ, SMIPATH=IETF)
    mib = os.path.join(MIBDIR, "WARD-MIB.txt")
    p = subprocess.run(["smilint", "-l", "3", mib], capture_output=True, env=env, timeout=60)
    out = (p.stdout + p.stderr).decode()
    check(p.returncode == 0 and out.strip() == "", f"smilint -l 3 WARD-MIB: clean ({out.strip()})")
    # The check can fail: without the IETF modules smilint complains.
    p = subprocess.run(["smilint", "-l", "3", mib], capture_output=True, timeout=60,
                       env=dict(os.environ, SMIPATH="/nonexistent"))
    check((p.stdout + p.stderr).strip() != b"", "smilint without SNMPv2-SMI does complain")
    for name, oid in (("wardSensorUpperCritical", WARD_SENSOR + ".9"),
                      ("wardStateChange", WARD + ".0.1"),
                      ("wardAgentConfigDigest", WARD + ".1.1.2")):
        p = subprocess.run(["snmptranslate", "-M", f"+{MIBDIR}:{IETF}", "-m", "+WARD-MIB", "-On",
                            "WARD-MIB::" + name], capture_output=True, timeout=30)
        got = p.stdout.decode().strip()
        check(got == "." + oid, f"snmptranslate WARD-MIB::{name} -> {got}")


def check_tcp_and_bad_address(e, port):
    """A bad --agentx address is refused at start-up in one line; tcp:IP:PORT works."""
    p = subprocess.run(EMU + [AGENT, "run", "--collector", "127.0.0.1:1", "--ca", "x", "--cert",
                              "x", "--key", "x", "--state-dir", os.path.join(e.work, "s2"),
                              "--agentx", "udp:nowhere"], capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    check(p.returncode != 0 and "--agentx 'udp:nowhere': want unix:PATH or tcp:HOST:PORT" in err,
          f"a bad --agentx address: refused in one line (exit {p.returncode}: {err.strip()})")
    stop(e.snmpd)
    tcp = free_port(socket.SOCK_STREAM)
    write_snmpd_conf(e, f"tcp:127.0.0.1:{tcp}")

    def listening():
        try:
            socket.create_connection(("127.0.0.1", tcp), timeout=1).close()
            return True
        except OSError:
            return False

    start_snmpd(e, listening)
    agent = start_agent(e, port, f"tcp:127.0.0.1:{tcp}")
    check(wait_for(lambda: registered(e), 30, 0.5), f"--agentx tcp:127.0.0.1:{tcp}: registered")
    stop(agent)


def main():
    # A SIGTERM (ctest's timeout) unwinds through finally: every process started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/snmpd"):
        print("snmp_test: skipped (needs root and snmpd; run tools/bootstrap)")
        return 77
    check_mib_text()
    work = tempfile.mkdtemp(prefix="ward-snmp-")
    try:
        e = Env(work)
        os.makedirs(os.path.join(work, "client"))
        certs(work)
        port = start_collector(work)
        write_snmpd_conf(e)
        with open(os.path.join(work, "snmptrapd.conf"), "w") as f:
            f.write("disableAuthorization yes\n")
        start(["/usr/sbin/snmptrapd", "-f", "-C", "-c", os.path.join(work, "snmptrapd.conf"),
               "-m", "", "-On", "-Lf", os.path.join(work, "traps.log"),
               f"udp:127.0.0.1:{e.trap_port}"], env=e.env, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
        if not start_snmpd(e):
            return 1
        agent = start_agent(e, port)
        check(wait_for(lambda: registered(e), 30, 0.5), "the subagent registered with snmpd")
        if MODE == "linux":
            check_linux_values(e)
            check_disk_tables(e, DATA)
        else:
            settle(e)  # the agent's own sensors appear at their first sample: not between walks
            check_trap(e)
        check_timestamps(e, "first session")
        check_restart(e, agent, work)
        check_bad_master(e, agent, work)
        stop(agent)
        check(agent.returncode == 0, f"SIGTERM: the agent exits 0 (got {agent.returncode})")
        check_tcp_and_bad_address(e, port)
        if MODE == "sim":  # a second agent on a scenario with disks, on the unix socket again
            stop(e.snmpd)
            write_snmpd_conf(e)
            if os.path.exists(e.sock):
                os.unlink(e.sock)
            start_snmpd(e)
            agent = start_agent(e, port, data=DISK_SCENARIO)
            check(wait_for(lambda: registered(e), 30, 0.5), "disk scenario: registered")
            check_disk_tables(e, DISK_SCENARIO)
            stop(agent)
    finally:
        for p in reversed(procs):
            stop(p)
        if failed:
            print(f"snmp_test: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"snmp_test: {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
