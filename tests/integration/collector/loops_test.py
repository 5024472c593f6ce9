#!/usr/bin/env python3
"""Device-port event loops (--loops N, server/worker.h): connections spread over N loop
threads, every batch acknowledged after its commit and stored once, the counters of every
loop in /v1/health and /metrics, and SIGTERM stopping every loop with nothing in flight lost.

  loops_test.py BUILD WORK CASE       (CASE: loops)
"""
import os
import signal
import threading
import time

from harness import DeviceClient, acks_of, batch, check, main, wait_for
from metrics_test import get_metrics

DEVICES = ["dev-%d" % i for i in range(8)]


def loop_threads(pid):
    names = []
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sorted(n for n in names if n.startswith("ward-loop"))


def loop_cpu_s(pid):
    """CPU seconds (user + system) the ward-loop threads of PID have used."""
    ticks = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                if not f.read().startswith("ward-loop"):
                    continue
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def case_loops(env):
    """3 loops on a port: 8 devices x 20 keep-alive batches, all acked once, then SIGTERM."""
    env.make_pki(devices=DEVICES)
    col = env.start("--loops", "3")
    # The threads start as the main loop starts, just after the ports file is written.
    want = ["ward-loop1", "ward-loop2", "ward-loop3"]
    wait_for(lambda: loop_threads(col.pid) == want, 10, "three loop threads, not %r"
             % loop_threads(col.pid))
    health = col.health()
    check(health["connections"]["loops"] == 3, "health: %r" % health["connections"])
    # Idle loops sleep in epoll_wait: a loop waiting on a deadline only the main loop advances
    # (retention, PostgreSQL reconnects) once spun at 100% of a core each.
    cpu0 = loop_cpu_s(col.pid)
    time.sleep(3)
    idle_cpu = loop_cpu_s(col.pid) - cpu0
    check(idle_cpu < 0.25, "three idle loops used %.2f s of CPU in 3 s" % idle_cpu)
    errors = []

    def agent(device):
        # A new connection per batch now and then, so the kernel spreads them over the loops.
        try:
            for seq in range(1, 21):
                c = DeviceClient(env, col, device)
                status, _, data = c.post(batch(device, seqs=[seq]))
                c.close()
                if status != 200 or max(acks_of(data).values()) != seq:
                    errors.append("%s seq %d: %d %r" % (device, seq, status, data))
                    return
        except Exception as e:  # noqa: BLE001 - reported as the case's failure below
            errors.append("%s: %r" % (device, e))

    threads = [threading.Thread(target=agent, args=(d,)) for d in DEVICES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors, "agents: %r" % errors[:3])
    rows = env.query("SELECT device, COUNT(*), COUNT(DISTINCT seq) FROM events GROUP BY device")
    check(sorted(rows) == sorted((d, 20, 20) for d in DEVICES), "stored: %r" % rows)
    # Every loop's counters reach the operator (folded before the answer).
    st = col.health()["connections"]
    check(st["accepted"] >= 8 * 20 and st["devices"] >= 0, "health counters: %r" % st)
    status, _, metrics = get_metrics(env, col)
    check(status == 200 and "\nward_collector_device_loops 3\n" in metrics,
          "metrics: no ward_collector_device_loops 3 (%d)" % status)
    # SIGTERM with connections open: every loop stops, the process exits 0.
    idle = [DeviceClient(env, col, d).connect() for d in DEVICES]
    col.signal(signal.SIGTERM)
    check(col.proc.wait(timeout=20) == 0, "exit status after SIGTERM")
    for c in idle:
        c.close()
    check("stopped:" in col.log_text(), "no clean stop line in the log")


if __name__ == "__main__":
    main({name[5:]: fn for name, fn in globals().items() if name.startswith("case_")})
