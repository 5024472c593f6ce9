#!/usr/bin/env python3
"""End to end, with real processes on 127.0.0.1: `ward-agent run` (the Linux sensor backend on
a copy of a fixture tree, whose temperature file the test rewrites so events happen when it
says), the real ward-collector with SQLite, and wardctl.

  report         agents report; the collector stores; `wardctl --json devices/events` shows
                 exactly what the database holds
  collector_kill kill -9 of the collector while agents send, restart on the same state
                 directory and port: every event stored before the kill is stored once,
                 unchanged; after the agents resent, no sequence of any boot is missing or
                 duplicated
  agent_kill     the collector frozen (SIGSTOP), an agent with unacknowledged events killed
                 with SIGKILL and restarted on the same state directory: every event its
                 journal held reaches the database once the collector runs again

Usage: e2e_test.py BUILD_DIR WORK_DIR CASE
Everything started is torn down by PID (harness.py's registry, and the agents' own list);
every wait is bounded.
"""
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
from harness import Env, Fail, check, wait_for, _PROCS  # noqa: E402

FIXTURE = os.path.join(HERE, "..", "..", "fixtures", "bmc-ast2500")
# The TMP75 on I2C bus 1 (hwmon2 in the fixture), sensor id temp:lm75.i2c1-0048:temp1.
SENSOR = "temp:lm75.i2c1-0048:temp1"
TEMP_FILE = "sys/devices/platform/ahb/ahb:apb/bus@1e78a000/1e78a0c0.i2c-bus/i2c-1/1-0048/" \
            "hwmon/hwmon2/temp1_input"
# ok (38 C) -> caution (55 C) -> critical (65 C) -> ok: three events per cycle.
CYCLE = (38000, 55000, 65000)
RULES = {
    "rules": [{"sensor": SENSOR, "upper_caution": 50000, "upper_critical": 60000,
               "hysteresis": 1000}],
    "intervals_ms": {"temp": 100, "fan": 2000, "nic": 2000, "host": 2000, "agent": 2000,
                     "heartbeat": 1000},
}
HEARTBEAT_MS = 1000


class Agent:
    """One `ward-agent run` with its own fixture tree, state directory and log."""

    def __init__(self, env, collector, device):
        self.env = env
        self.device = device
        self.port = collector.device_port
        self.root = os.path.join(env.dir, "root-" + device)
        shutil.copytree(FIXTURE, self.root, symlinks=True)
        self.temp_file = os.path.join(self.root, TEMP_FILE)
        check(os.path.isfile(self.temp_file), "fixture has no %s" % TEMP_FILE)
        self.state = os.path.join(env.dir, "state-" + device)
        self.rules = os.path.join(env.dir, "rules.json")
        with open(self.rules, "w") as f:
            json.dump(RULES, f)
        self.runs = 0
        self.proc = None
        self.set_temp(CYCLE[0])

    def set_temp(self, milli_c):
        # In place (the agent keeps its sensor files open), one write of a value as long as
        # every other one, never truncated: a read sees a whole number, as from sysfs.
        text = b"%d\n" % milli_c
        check(len(text) == 6, "CYCLE values must all have five digits")
        fd = os.open(self.temp_file, os.O_WRONLY)
        try:
            os.pwrite(fd, text, 0)
        finally:
            os.close(fd)

    def start(self):
        crt, key = self.env.device_files(self.device)
        self.log_path = os.path.join(self.env.dir, "agent-%s.%d.log" % (self.device, self.runs))
        self.runs += 1
        self.log = open(self.log_path, "w")
        agent = os.path.join(self.env.build, "board", "ward-agent")
        # --for bounds the agent even if this test dies without its teardown.
        self.proc = subprocess.Popen(
            [agent, "run", "--collector", "127.0.0.1:%d" % self.port, "--server-name",
             "localhost", "--ca", self.env.ca(), "--cert", crt, "--key", key, "--state-dir",
             self.state, "--root", self.root, "--rules", self.rules, "--for", "240"],
            stdout=self.log, stderr=subprocess.STDOUT)
        _PROCS.append(self.proc)
        self.pid = self.proc.pid
        wait_for(lambda: self.proc.poll() is not None or "reporting to" in self.text(), 10,
                 "%s to start" % self.device)
        check(self.proc.poll() is None, "%s exited at start: %s" % (self.device, self.text()))
        return self

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stats(self, timeout=10):
        """Ask for a stats line (SIGUSR1) and return it parsed."""
        before = self.text().count("ward-agent: stats ")
        os.kill(self.pid, signal.SIGUSR1)
        wait_for(lambda: self.text().count("ward-agent: stats ") > before, timeout,
                 "%s to print its stats" % self.device)
        # Lines start with a timestamp and a level: the stats follow "ward-agent: stats ".
        line = [ln for ln in self.text().splitlines() if "ward-agent: stats " in ln][-1]
        return json.loads(line.split("ward-agent: stats ", 1)[1])

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM: journal synced, exit 0; returns the unacknowledged count it reports."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise Fail("%s did not stop within 15 s of SIGTERM" % self.device)
        check(rc == 0, "%s exited %d on SIGTERM: %s" % (self.device, rc, self.text()[-500:]))
        m = re.search(r"stopped; (\d+) unacknowledged events kept", self.text())
        check(m is not None, "%s printed no stop line: %s" % (self.device, self.text()[-500:]))
        return int(m.group(1))


class Toggler(threading.Thread):
    """Walks every agent's temperature through CYCLE, one step per `period` seconds."""

    def __init__(self, agents, period=0.35):
        super().__init__(daemon=True)
        self.agents = agents
        self.period = period
        self.halt = threading.Event()
        self.steps = 0

    def run(self):
        i = 0
        while not self.halt.is_set():
            i = (i + 1) % len(CYCLE)
            for a in self.agents:
                a.set_temp(CYCLE[i])
            self.steps += 1
            self.halt.wait(self.period)

    def stop(self):
        self.halt.set()
        self.join(timeout=5)
        for a in self.agents:
            a.set_temp(CYCLE[0])


def journal_unacked(path):
    """(boot hex, seq) of every event the agent's journal holds unacknowledged (the record
    format of firmware/transport/src/journal.c: 36-byte little-endian header, magic 0x5752,
    type 1 event / 2 ack, payload length, 16-byte boot id, seq, CRC-32 of the first 32 header
    bytes and the payload; a record failing its checks ends the scan, like a torn tail)."""
    data = open(path, "rb").read() if os.path.exists(path) else b""
    events, acked, off = set(), {}, 0
    while off + 36 <= len(data):
        magic, typ, _sev, length, pad = struct.unpack_from("<HBBHH", data, off)
        boot = data[off + 8:off + 24].hex()
        seq, crc = struct.unpack_from("<QI", data, off + 24)
        end = off + 36 + length
        if magic != 0x5752 or pad != 0 or typ not in (1, 2) or end > len(data):
            break
        if zlib.crc32(data[off + 36:end], zlib.crc32(data[off:off + 32])) != crc:
            break
        if typ == 1:
            events.add((boot, seq))
        else:
            acked[boot] = max(acked.get(boot, 0), seq)
        off = end
    return {(b, s) for b, s in events if s > acked.get(b, 0)}


def stored(env):
    """{(device, boot, seq): (id, doc)} of the agents' events, and the duplicate keys."""
    rows = env.query("SELECT id, device, boot_id, seq, doc FROM events WHERE seq IS NOT NULL")
    out, dups = {}, []
    for rid, dev, boot, seq, doc in rows:
        key = (dev, boot, seq)
        if key in out:
            dups.append(key)
        out[key] = (rid, doc)
    return out, dups


def check_no_gap(env, agents):
    """Every boot of every agent: sequences 1..max, each exactly once."""
    rows, dups = stored(env)
    check(not dups, "duplicate events: %r" % dups[:5])
    per_boot = {}
    for dev, boot, seq in rows:
        per_boot.setdefault((dev, boot), set()).add(seq)
    for a in agents:
        boots = [b for (d, b) in per_boot if d == a.device]
        check(boots, "%s: no events stored" % a.device)
        for b in boots:
            seqs = per_boot[(a.device, b)]
            missing = set(range(1, max(seqs) + 1)) - seqs
            check(not missing, "%s boot %s: sequences missing: %s" %
                  (a.device, b[:8], sorted(missing)[:20]))
    return rows, per_boot


def drain_and_stop(agents, timeout=45):
    """Wait until no agent has a pending or journaled event, then SIGTERM them: each must
    report 0 unacknowledged events."""
    def drained():
        return all((lambda s: s["pending_events"] == 0 and s["journal_events"] == 0)(a.stats())
                   for a in agents)
    wait_for(drained, timeout, "every agent's events to be acknowledged", step=0.5)
    # The Toggler's last step (back to CYCLE[0]) makes one more event when the agent next
    # samples (100 ms); on a slow build (sanitizers) the first look can come before it. Look
    # again after a second, long past a sample, so the count at SIGTERM is the final one.
    time.sleep(1.0)
    wait_for(drained, timeout, "every agent's events to be acknowledged", step=0.5)
    for a in agents:
        left = a.stop()
        check(left == 0, "%s stopped with %d unacknowledged events" % (a.device, left))


def setup(env, devices):
    env.make_pki(devices=devices)
    col = env.start("--heartbeat-interval", str(HEARTBEAT_MS))
    agents = [Agent(env, col, d) for d in devices]
    return col, agents


def events_stored_for(env, device):
    return env.query("SELECT count(*) FROM events WHERE device = ? AND seq IS NOT NULL",
                     (device,))[0][0]


# ---- cases -----------------------------------------------------------------------------------

def case_report(env):
    col, agents = setup(env, ("e2e-a", "e2e-b"))
    for a in agents:
        a.start()
    tog = Toggler(agents, period=0.5)
    tog.start()
    # Each agent has delivered every transition of the cycle (a loaded machine may skip a step
    # now and then: wait for all three rather than for a count).
    want = {("ok", "caution"), ("caution", "critical"), ("critical", "ok")}

    def transitions(dev):
        return set(env.query("SELECT DISTINCT from_state, to_state FROM events WHERE device = ? "
                             "AND sensor = ?", (dev, SENSOR)))
    wait_for(lambda: all(want <= transitions(a.device) for a in agents), 30,
             "every transition of both agents in the database", step=0.3)
    tog.stop()
    drain_and_stop(agents)
    rows, per_boot = check_no_gap(env, agents)

    devs = env.wardctl_json(col, "devices")["devices"]
    by_id = {d["id"]: d for d in devs}
    for a in agents:
        check(a.device in by_id, "wardctl devices does not list %s: %r" % (a.device, devs))
        d = by_id[a.device]
        check(d["state"] == "up", "%s is %s" % (a.device, d["state"]))
        boots = [b for (dev, b) in per_boot if dev == a.device]
        check(len(boots) == 1 and d["boot_id"] == boots[0],
              "%s: wardctl boot %r, database boots %r" % (a.device, d["boot_id"], boots))
        api = env.wardctl_json(col, "events", "--device", a.device, "--limit", "1000")["events"]
        api = [e for e in api if e.get("seq") is not None]
        db = {(b, s) for (dev, b, s) in rows if dev == a.device}
        check(sorted((e["boot_id"], e["seq"]) for e in api) == sorted(db),
              "%s: wardctl shows %d events, the database holds %d" % (a.device, len(api), len(db)))
        temp = [e for e in api if e.get("sensor") == SENSOR]
        changes = {(e["from"], e["to"]) for e in temp}
        check(want <= changes,
              "%s: the sensor's transitions are %r" % (a.device, sorted(changes)))
        sev = {(e["from"], e["to"]): e["severity"] for e in temp}
        check(sev[("ok", "caution")] == "low" and sev[("caution", "critical")] == "medium",
              "%s: severities %r" % (a.device, sev))
    table = env.wardctl(col, "devices").stdout
    check(all(re.search(r"^%s\s+up\s" % a.device, table, re.M) for a in agents),
          "wardctl devices table:\n%s" % table)
    col.stop()
    print("report: %s" % {a.device: events_stored_for(env, a.device) for a in agents})


def case_collector_kill(env):
    col, agents = setup(env, ("e2e-a", "e2e-b", "e2e-c"))
    for a in agents:
        a.start()
    tog = Toggler(agents, period=0.25)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 6 for a in agents), 30,
             "events of every agent in the database", step=0.3)
    time.sleep(random.uniform(0, 1.0))  # an arbitrary point of the agents' requests
    port, api_port = col.device_port, col.api_port
    col.kill9()
    # What the killed collector had committed: a superset of what it acknowledged.
    before, dups = stored(env)
    check(not dups, "duplicates after kill -9: %r" % dups[:5])
    time.sleep(2.0)  # agents fail, back off, keep producing events
    col2 = env.start("--heartbeat-interval", str(HEARTBEAT_MS),
                     "--listen", "127.0.0.1:%d" % port, "--api-listen", "127.0.0.1:%d" % api_port)
    check(col2.device_port == port, "restarted on port %d, not %d" % (col2.device_port, port))
    # The agents reconnect (backoff) and resend; wait for new events of each.
    counts = {a.device: sum(1 for k in before if k[0] == a.device) for a in agents}
    wait_for(lambda: all(events_stored_for(env, a.device) > counts[a.device] + 3
                         for a in agents), 40, "every agent to deliver after the restart",
             step=0.3)
    tog.stop()
    drain_and_stop(agents)
    after, per_boot = check_no_gap(env, agents)
    changed = [k for k, v in before.items() if after.get(k) != v]
    check(not changed, "events stored before the kill changed or vanished: %r" % changed[:5])
    dup = env.query("SELECT device, boot_id, seq, count(*) FROM events WHERE seq IS NOT NULL "
                    "GROUP BY device, boot_id, seq HAVING count(*) > 1")
    check(dup == [], "duplicates: %r" % dup[:5])
    col2.stop()
    print("collector_kill: %d events stored before kill -9, %d after the restart; %d boots" %
          (len(before), len(after), len(per_boot)))


def case_agent_kill(env):
    col, agents = setup(env, ("e2e-a", "e2e-b"))
    for a in agents:
        a.start()
    tog = Toggler(agents, period=0.25)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 3 for a in agents), 30,
             "events of every agent in the database", step=0.3)
    victim = agents[0]
    col.signal(signal.SIGSTOP)
    try:
        # Events pile up unacknowledged (the collector answers nothing).
        wait_for(lambda: victim.stats()["journal_events"] >= 6, 20,
                 "unacknowledged events in %s's journal" % victim.device, step=0.3)
        victim.kill9()
        unacked = journal_unacked(os.path.join(victim.state, "journal"))
        check(len(unacked) >= 6, "the killed agent's journal holds %d unacknowledged events"
              % len(unacked))
        victim.start()  # same state directory: a new boot; the old boot's events restored
    finally:
        col.signal(signal.SIGCONT)
    time.sleep(1.0)
    tog.stop()
    drain_and_stop(agents)
    rows, per_boot = check_no_gap(env, agents)
    have = {(b, s) for (d, b, s) in rows if d == victim.device}
    lost = unacked - have
    check(not lost, "%d of the %d events the killed agent had not delivered are lost: %r" %
          (len(lost), len(unacked), sorted(lost)[:5]))
    boots = sorted(b for (d, b) in per_boot if d == victim.device)
    check(len(boots) == 2, "%s: boots %r (expected the killed run's and the new one)" %
          (victim.device, boots))
    col.stop()
    print("agent_kill: %d unacknowledged events in the killed agent's journal, all stored; "
          "%s" % (len(unacked), {"%s/%s" % (d, b[:8]): max(s) for (d, b), s in per_boot.items()}))


CASES = {"report": case_report, "collector_kill": case_collector_kill,
         "agent_kill": case_agent_kill}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: e2e_test.py BUILD_DIR WORK_DIR {%s}" % "|".join(CASES))
        return 2
    build, work, case = sys.argv[1:]
    env = Env(build, work, case)
    start = time.monotonic()
    try:
        CASES[case](env)
    except Fail as e:
        print("FAIL %s: %s (work dir %s)" % (case, e, env.dir))
        return 1
    print("PASS %s (%.1f s)" % (case, time.monotonic() - start))
    shutil.rmtree(env.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
