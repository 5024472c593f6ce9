#!/usr/bin/env python3
"""Clock jumps on the collector and on the agents, with real processes on 127.0.0.1.

Wall clocks move with libfaketime (LD_PRELOAD, an offset file re-read on every call, the
monotonic clock left alone); monotonic clocks with time namespaces (a process started in one
sees CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted by a fixed offset, as after a reboot).

  collector_wall  the collector's wall clock jumps 3 h forwards, then 6 h backwards, while
                  three agents report and a fourth has stopped: only the stopped one is ever
                  reported silent (silence is judged on the monotonic clock), the running
                  agents keep their sessions (no reconnect), nothing is lost; then +3 years:
                  the devices' certificates (825 days) have expired for the collector, a
                  reconnecting agent is refused with a log line that says so, and the
                  sessions already established carry on (TLS verifies peers at handshake)
  collector_age   after the 6 h backwards jump, every duration the API reports
                  (heartbeat_age_ms, interval_ms, silent_after_ms) is >= 0 (see CMakeLists:
                  fails until the API derives the age from the monotonic clock)
  agent_wall      the agents' wall clocks jump 3 h forwards and 6 h backwards while they
                  report: sessions kept, nothing lost, no stored time negative; an agent
                  started 3 years ahead refuses the collector's expired certificate with one
                  clear line per attempt and keeps its events; started 6 h behind, it refuses
                  the collector certificate issued minutes ago as not yet valid, likewise
  agent_mono      an agent whose monotonic clock reads 10 h more than the host's is killed
                  with unacknowledged events and restarted with the host's clock (10 h
                  backwards, as across a reboot): every journaled event is stored once, no
                  stored or reported duration negative

Usage: clock_test.py BUILD_DIR WORK_DIR CASE (prints SKIP when libfaketime or time
namespaces are unavailable).
"""
import ctypes
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import check, wait_for  # noqa: E402
from e2e_test import (Toggler, check_no_gap, drain_and_stop, events_stored_for,  # noqa: E402
                      journal_unacked)
from fault_agent import FaultAgent, run_cases  # noqa: E402

FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1")
HEARTBEAT_MS = 1000
CLONE_NEWTIME = 0x80
YEAR_S = 365 * 86400


def faketime_lib():
    return next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)


class Clock:
    """A wall-clock offset file for libfaketime; set() moves every process that uses it."""

    def __init__(self, env, name):
        self.path = os.path.join(env.dir, name + ".faketime")
        self.set(0)

    def set(self, offset_s):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+ds\n" % offset_s)
        os.replace(tmp, self.path)  # a reader never sees half a file

    def env(self):
        return {"LD_PRELOAD": faketime_lib(), "FAKETIME_TIMESTAMP_FILE": self.path,
                "FAKETIME_NO_CACHE": "1", "DONT_FAKE_MONOTONIC": "1"}


def in_time_ns(mono_offset_s):
    """A preexec_fn: a new time namespace whose monotonic and boot clocks are shifted; the
    exec that follows enters it (what unshare --time does)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def enter():
        if libc.unshare(CLONE_NEWTIME) != 0:
            os._exit(126)
        with open("/proc/self/timens_offsets", "w") as f:
            f.write("monotonic %d 0\nboottime %d 0\n" % (mono_offset_s, mono_offset_s))
    return enter


def start_collector(env, clock=None):
    saved = dict(os.environ)
    if clock is not None:
        os.environ.update(clock.env())
    try:
        return env.start("--heartbeat-interval", str(HEARTBEAT_MS), "--check-interval", "200")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def negative_durations(doc, path=""):
    """Every number under a key ending in _ms (times and durations) that is below zero."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k.endswith("_ms") and isinstance(v, (int, float)) and v < 0:
                out.append("%s.%s=%s" % (path, k, v))
            out += negative_durations(v, path + "." + k)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += negative_durations(v, "%s[%d]" % (path, i))
    return out


def stored_negatives(env):
    bad = []
    for dev, seq, doc in env.query("SELECT device, seq, doc FROM events"):
        bad += ["%s/%s: %s" % (dev, seq, n) for n in negative_durations(json.loads(doc))]
    return bad


def silent_lines(col):
    return [ln for ln in col.log_text().splitlines() if " is silent " in ln]


def connects(agents):
    return {a.device: a.stats()["connects"] for a in agents}


def report_then_jump(env, col, agents, clock, steps):
    """Agents report; the clock moves by each offset in steps (absolute, seconds), 4 s apart.
    Returns the agents' connect counts before and after."""
    tog = Toggler(agents, period=0.4)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 3 for a in agents), 30,
             "events of every agent", step=0.3)
    before = connects(agents)
    for off in steps:
        clock.set(off)
        n = {a.device: events_stored_for(env, a.device) for a in agents}
        wait_for(lambda: all(events_stored_for(env, a.device) > n[a.device] + 2 for a in agents),
                 30, "events of every agent with the clock at %+d s" % off, step=0.3)
        time.sleep(2.0)
    after = connects(agents)
    tog.stop()
    return before, after


def collector_setup(env):
    devices = ("clk-a", "clk-b", "clk-c", "clk-quiet")
    env.make_pki(devices=devices)
    clock = Clock(env, "collector")
    col = start_collector(env, clock)
    agents = [FaultAgent(env, col, d) for d in devices]
    for a in agents:
        a.start()
    quiet = agents.pop()
    wait_for(lambda: events_stored_for(env, quiet.device) >= 1 or quiet.ups(), 30,
             "%s to report" % quiet.device, step=0.3)
    quiet.stop()
    wait_for(lambda: silent_lines(col), 20, "the stopped agent to be reported silent", step=0.3)
    return clock, col, agents, quiet


def case_collector_wall(env):
    clock, col, agents, quiet = collector_setup(env)
    before, after = report_then_jump(env, col, agents, clock, (3 * 3600, -3 * 3600))
    storm = [ln for ln in silent_lines(col) if quiet.device not in ln]
    check(not storm, "running agents reported silent after the collector's clock jumped: %s"
          % storm[:3])
    states = {d["id"]: d["state"] for d in env.wardctl_json(col, "devices")["devices"]}
    check(all(states[a.device] == "up" for a in agents) and states[quiet.device] == "silent",
          "device states after the jumps: %r" % states)
    check(before == after, "sessions broke when the collector's clock jumped by hours: "
          "connects %r -> %r" % (before, after))
    # Three years on: the device certificates (825 days) have expired for the collector.
    clock.set(3 * YEAR_S)
    t = time.monotonic()
    victim = agents.pop()
    seen = env.query("SELECT last_seen_ms FROM devices_now WHERE id = ?", (victim.device,))
    victim.stop()
    victim.start()
    wait_for(lambda: victim.backoffs(t), 30, "the reconnecting agent to be refused", step=0.3)
    # TLS 1.3: the agent's handshake ends when it sends its Finished, before the collector has
    # judged its certificate, so the agent may log "up" and meet the refusal (an alert) on its
    # first read. Accepted means the collector took a request from it, or the agent stayed up.
    time.sleep(2 * HEARTBEAT_MS / 1000.0)
    check(env.query("SELECT last_seen_ms FROM devices_now WHERE id = ?", (victim.device,)) == seen
          and len(victim.backoffs(t)) >= len(victim.ups(t)),
          "a device certificate 3 years past issue (valid 825 days) was accepted:\n%s"
          % victim.text()[-800:])
    refusal = [ln for ln in col.log_text().splitlines() if "expired" in ln]
    check(refusal, "the collector did not say why it refused: %s" % col.log_text()[-800:])
    # The established sessions are not re-judged: they keep reporting.
    n = {a.device: events_stored_for(env, a.device) for a in agents}
    tog = Toggler(agents, period=0.4)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) > n[a.device] for a in agents), 30,
             "established sessions to keep reporting at +3 years", step=0.3)
    tog.stop()
    clock.set(0)
    wait_for(lambda: victim.ups(t), 120, "the refused agent to connect at the right time",
             step=0.5)
    drain_and_stop(agents + [victim], timeout=90)
    rows, _ = check_no_gap(env, agents + [victim])
    bad = stored_negatives(env)
    check(not bad, "negative times stored: %s" % bad[:5])
    col.stop()
    print("collector_wall: +3 h, -6 h: only %s silent, connects %r unchanged; +3 y: refused "
          "(%s); %d events, no gap, no duplicate" %
          (quiet.device, after, refusal[0].strip()[:120], len(rows)))


def case_collector_age(env):
    clock, col, agents, quiet = collector_setup(env)
    report_then_jump(env, col, agents, clock, (-6 * 3600,))
    doc = env.wardctl_json(col, "devices")
    bad = negative_durations(doc)
    check(not bad, "negative durations in GET /v1/devices after the collector's wall clock "
          "went back 6 h: %s" % bad[:4])
    clock.set(0)
    drain_and_stop(agents)
    col.stop()
    print("collector_age: no negative duration in /v1/devices after -6 h")


def case_agent_wall(env):
    devices = ("clk-a", "clk-b", "clk-late", "clk-early")
    env.make_pki(devices=devices)
    col = start_collector(env)
    clock = Clock(env, "agents")
    agents = [FaultAgent(env, col, d) for d in devices]
    for a in agents:
        a.extra_env = clock.env()
    running, odd = agents[:2], agents[2:]
    for a in running:
        a.start()
    before, after = report_then_jump(env, col, running, clock, (3 * 3600, -3 * 3600))
    check(before == after, "sessions broke when the agents' clocks jumped by hours: connects "
          "%r -> %r" % (before, after))
    # Started with a wall clock far off: the collector's certificate is judged by it.
    late, early = odd
    verdicts = {}
    for a, off, why in ((late, 3 * YEAR_S, "expired"), (early, -6 * 3600, "future")):
        own = Clock(env, a.device)
        own.set(off)
        a.extra_env = own.env()
        a.start()
        wait_for(lambda: len(a.backoffs()) >= 2, 30, "%s to be refused twice" % a.device,
                 step=0.3)
        check(not a.ups(), "%s (clock %+d s) accepted the collector" % (a.device, off))
        lines = [ln for _, ln in a.lines if "-> backoff" in ln]
        check(all("collector certificate rejected" in ln and why in ln for ln in lines),
              "%s: the refusal does not say why: %s" % (a.device, lines[:2]))
        verdicts[a.device] = lines[0].split("rejected", 1)[1].split(";")[0].strip()
        a.kill9()
        own.set(0)
        a.start()  # the right time again: it reports
    # Past their first samples of every sensor class (2 s intervals) before the drain check,
    # so no first-reading event comes after it.
    wait_for(lambda: all(a.ups() and a.stats()["heartbeats"] >= 4 for a in odd), 60,
             "the restarted agents to report for a few heartbeats", step=0.5)
    clock.set(0)
    drain_and_stop(agents, timeout=90)
    rows, _ = check_no_gap(env, running)
    bad = stored_negatives(env)
    check(not bad, "negative times stored: %s" % bad[:5])
    col.stop()
    print("agent_wall: +3 h, -6 h: connects %r unchanged; refused at start %s; %d events, "
          "no gap, no duplicate" % (after, verdicts, len(rows)))


def case_agent_mono(env):
    env.make_pki(devices=("clk-mono",))
    col = start_collector(env)
    a = FaultAgent(env, col, "clk-mono")
    a.preexec = in_time_ns(10 * 3600)
    a.start()
    tog = Toggler([a], period=0.25)
    tog.start()
    wait_for(lambda: events_stored_for(env, a.device) >= 3, 30, "first events", step=0.3)
    up_ms = a.stats()["uptime_ms"]
    col.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: a.stats()["journal_events"] >= 6, 20, "unacknowledged events",
                 step=0.3)
        a.kill9()
        unacked = journal_unacked(os.path.join(a.state, "journal"))
        a.preexec = None  # the host's clock: 10 h less than the run before
        a.start()
    finally:
        col.signal(signal.SIGCONT)
    wait_for(lambda: a.stats()["heartbeats"] >= 4, 60, "the restarted agent to report",
             step=0.5)
    tog.stop()
    drain_and_stop([a])
    rows, per_boot = check_no_gap(env, [a])
    have = {(b, s) for (d, b, s) in rows}
    check(unacked and not unacked - have, "%d of %d journaled events lost across the "
          "monotonic jump" % (len(unacked - have), len(unacked)))
    bad = stored_negatives(env) + negative_durations(env.wardctl_json(col, "devices"))
    check(not bad, "negative times after the monotonic clock went back 10 h: %s" % bad[:5])
    col.stop()
    print("agent_mono: first run at monotonic +10 h (uptime %d ms), %d journaled events "
          "stored after the restart at +0; %d boots, %d events" %
          (up_ms, len(unacked), len(per_boot), len(rows)))


CASES = {"collector_wall": case_collector_wall, "collector_age": case_collector_age,
         "agent_wall": case_agent_wall, "agent_mono": case_agent_mono}


def usable(case):
    if case == "agent_mono":
        if not os.path.exists("/proc/self/timens_offsets"):
            return "this kernel has no time namespaces"
        return None
    return None if faketime_lib() else "libfaketime is not installed (tools/bootstrap)"


if __name__ == "__main__":
    sys.exit(run_cases(CASES, usable))
