#!/usr/bin/env python3
"""The agent's state directory on a full filesystem (a small tmpfs the test mounts and fills),
with real processes on 127.0.0.1.

  agent_full      while the journal cannot grow, the agent keeps running and its events keep
                  reaching the collector from memory; once space is back, everything drains:
                  every (device, boot) holds sequences 1..max once
  agent_full_log  the journal failures are logged rate-limited (issue 10: 505 identical
                  lines in 40 s): at most one line per second of the outage plus a few (see
                  CMakeLists: fails until the agent folds repeated lines into a count)

Usage: disk_test.py BUILD_DIR WORK_DIR CASE (root, to mount the tmpfs; SKIP otherwise).
"""
import atexit
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import check, wait_for  # noqa: E402
from e2e_test import Toggler, check_no_gap, drain_and_stop, events_stored_for  # noqa: E402
from fault_agent import FaultAgent, run_cases  # noqa: E402

FULL_S = 10
TMPFS = "4m"
_MOUNTS = []


@atexit.register
def _unmount():
    for m in list(_MOUNTS):
        subprocess.run(["umount", "-l", m], capture_output=True, timeout=30)
        _MOUNTS.remove(m)


def small_fs(env):
    path = os.path.join(env.dir, "small")
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS + ",mode=0700", "tmpfs",
                    path], check=True, capture_output=True, timeout=30)
    _MOUNTS.append(path)
    return path


def fill(path):
    """Write until the filesystem refuses: ENOSPC from here on."""
    try:
        with open(os.path.join(path, "filler"), "ab") as f:
            for _ in range(4096):
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass  # ENOSPC: full


class KeepFull(threading.Thread):
    """fill() again every 50 ms until stopped. One fill is not a full disk for long: the
    journal compacts (an empty one is truncated to 0, freeing its pages) and then grows into
    the pages it freed, so whether it ever met ENOSPC depended on how far it was from its next
    compaction when the disk filled (the test timed out waiting for it, 1 run in 6 on a loaded
    machine). Pages freed now go to the filler, and the journal's next page is refused."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.halt = threading.Event()
        fill(path)

    def run(self):
        # Only while the tmpfs is mounted there: never into the folder under it.
        while not self.halt.wait(0.05) and os.path.ismount(self.path):
            fill(self.path)

    def stop(self):
        self.halt.set()
        self.join(timeout=10)


def journal_failures(a):
    return [ln for _, ln in list(a.lines) if "journal" in ln and
            ("No space" in ln or "cannot write" in ln)]


def full_disk(env):
    env.make_pki(devices=("dsk-a",))
    col = env.start("--heartbeat-interval", "1000")
    a = FaultAgent(env, col, "dsk-a")
    a.state = os.path.join(small_fs(env), "state")
    a.start()
    tog = Toggler([a], period=0.3)
    tog.start()
    wait_for(lambda: events_stored_for(env, a.device) >= 3, 30, "first events", step=0.3)
    full = KeepFull(os.path.dirname(a.state))
    full.start()
    try:
        t_full = time.monotonic()
        n = events_stored_for(env, a.device)
        wait_for(lambda: journal_failures(a), 20, "the agent to meet the full disk", step=0.3)
        print("the journal met the full disk %.1f s after it filled" %
              (a.times(r"journal.*(No space|cannot write)")[0] - t_full))
        time.sleep(FULL_S)
        check(a.proc.poll() is None, "the agent died on a full disk: %s" % a.text()[-600:])
        during = events_stored_for(env, a.device) - n
        check(during > 3, "only %d events reached the collector while the disk was full" %
              during)
    finally:
        full.stop()
    if os.path.exists(os.path.join(os.path.dirname(a.state), "filler")):
        os.unlink(os.path.join(os.path.dirname(a.state), "filler"))
    out_s = time.monotonic() - t_full
    tog.stop()
    drain_and_stop([a], timeout=60)
    rows, _ = check_no_gap(env, [a])
    col.stop()
    _unmount()
    return a, during, out_s, len(rows)


def case_agent_full(env):
    a, during, out_s, stored = full_disk(env)
    print("agent_full: %d events delivered during %.0f s of a full disk, %d journal failure "
          "lines; %d events stored, no gap, no duplicate" %
          (during, out_s, len(journal_failures(a)), stored))


def case_agent_full_log(env):
    a, _, out_s, _ = full_disk(env)
    lines = journal_failures(a)
    check(len(lines) <= out_s + 5, "%d journal failure lines in %.0f s of a full disk (not "
          "rate-limited): %s" % (len(lines), out_s, lines[:2]))
    print("agent_full_log: %d journal failure lines in %.0f s" % (len(lines), out_s))


CASES = {"agent_full": case_agent_full, "agent_full_log": case_agent_full_log}


if __name__ == "__main__":
    sys.exit(run_cases(CASES, lambda case: None if os.geteuid() == 0 else
                       "needs root (mounts a small tmpfs)"))
