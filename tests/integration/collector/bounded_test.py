#!/usr/bin/python3
"""Bounded work on the collector's loop and at stop (issue 10): real collectors, loopback only.

    bounded_test.py BUILD_DIR WORK_DIR CASE

backup_stop       SIGTERM while a scheduled backup of a larger store is being copied: the
                  collector stops within a bound, logs "backup interrupted by stop" once,
                  writes no backup file (nothing complete-looking, no temporary directory),
                  and the next start is clean: it counts the interruption (/v1/health,
                  /metrics, wardctl backups) and its own backup verifies and restores
retention_slices  a store with a backlog of events past --retention while a device posts:
                  every one of them is deleted in time-bounded slices (the slice count, the
                  row bound and the slice durations in /v1/health, /metrics, wardctl health),
                  the younger events stay, and each ack's latency is reported
"""
import os
import signal
import sqlite3
import time

import backup_test as B
import harness as H
from harness import BOOT_A, check, main, wait_for


def backup_args(bdir):
    # backup-every 1h: the first backup starts at once (none in bdir), the next not in the test
    return ("--backup-dir", bdir, "--backup-every", "1h", "--backup-keep", "2")


def case_backup_stop(env):
    t_case = time.monotonic()
    env.make_pki()
    rows = int(os.environ.get("WARD_BACKUP_ROWS", "50000"))
    B.big_state(env, rows)
    print("%.1f s: store of %d events made" % (time.monotonic() - t_case, rows))
    bdir = os.path.join(env.dir, "backups")
    c = env.start(*backup_args(bdir))
    wait_for(lambda: any(".tmp." in n for n in B.list_dir(bdir)), 30, "a backup in progress",
             step=0.005)
    t0 = time.monotonic()
    c.signal(signal.SIGTERM)
    try:
        c.proc.wait(timeout=60)
    except Exception:  # noqa: BLE001 - the harness kills it at teardown
        raise H.Fail("the collector did not stop within 60 s of SIGTERM during a backup")
    took = time.monotonic() - t0
    log = c.log_text()
    left = B.list_dir(bdir)
    print("stopped %.2f s after SIGTERM during a backup; left in the backup dir: %s"
          % (took, left))
    check(c.proc.returncode == 0, "exit status %d after SIGTERM" % c.proc.returncode)
    check(log.count("backup interrupted by stop") == 1,
          "no single 'backup interrupted by stop' line (the backup ran to its end?):\n%s"
          % "\n".join(x for x in log.splitlines() if "backup" in x))
    check(not [n for n in left if n.endswith(".wbk")], "a backup file after the stop: %s" % left)
    check(not [n for n in left if ".tmp." in n], "the interrupted backup's files stay: %s" % left)
    # One step of the copy, hash or pack and the shutdown, on a loaded machine with the
    # sanitizers: well under the whole backup the old code waited for (11-14 s under load).
    check(took < 5.0, "the stop took %.1f s" % took)
    con = sqlite3.connect("file:%s?mode=ro" % env.db(), uri=True, timeout=10)
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "state corrupt")
    con.close()

    print("%.1f s: stopped" % (time.monotonic() - t_case))
    c2 = env.start(*backup_args(bdir))
    H.post_ok(env, c2, "dev-b", H.batch("dev-b", seqs=[1]))
    doc = env.wardctl_json(c2, "backups")
    check(doc["schedule"]["interrupted"] == 1 and doc["schedule"]["last_interrupted_ms"] > 0,
          "wardctl backups: %s" % doc["schedule"])
    check("1 interrupted by a stop" in env.wardctl(c2, "backups").stdout, "wardctl backups text")
    health = c2.health()
    check(health["backups"]["interrupted"] == 1, "/v1/health backups: %s" % health["backups"])
    check('ward_collector_backups_total{result="interrupted"} 1' in c2.metrics(),
          "/metrics: no interrupted backup counted")
    new = wait_for(lambda: [n for n in B.list_dir(bdir) if n.endswith(".wbk")], 90,
                   "the next start's backup", step=0.1)
    print("%.1f s: the next start's backup written" % (time.monotonic() - t_case))
    log2 = c2.log_text()
    check("left by an interrupted backup" not in log2 and "backup interrupted" not in log2,
          "the next start was not clean:\n%s" % log2)
    # restore --verify runs the same checks, then renames the directory (backup_test.py)
    p = B.ok(B.cli(env, "backup", "--verify", os.path.join(bdir, new[0])), "verify the next backup")
    print(p.stdout.strip())
    c2.stop()


def old_events(env, rows):
    """rows events received a day ago (past --retention 1h), written while no collector runs."""
    c = env.start()
    H.post_ok(env, c, "dev-a", H.batch("dev-a", seqs=[1]))
    c.stop()
    con = sqlite3.connect(env.db(), timeout=10)
    old = int(time.time() * 1000) - 86400000
    con.executemany("INSERT INTO events (device, boot_id, seq, received_ms, sensor, severity, "
                    "severity_rank, doc) VALUES ('old', ?, ?, ?, 's', 'none', 0, '{}')",
                    ((BOOT_A, i, old) for i in range(rows)))
    con.commit()
    con.close()


def case_retention_slices(env):
    env.make_pki()
    rows = int(os.environ.get("WARD_RETENTION_ROWS", "20000"))
    old_events(env, rows)
    c = env.start("--retention", "1h")
    t0 = time.monotonic()

    def done():
        return c.health()["retention"]["deleted"] >= rows

    lat = B.measure(env, c, 1.0, until=done, longest=60)
    wait_for(done, 30, "every event past the retention deleted", step=0.2)
    took = time.monotonic() - t0
    r = c.health()["retention"]
    left = env.query("SELECT count(*) FROM events WHERE device = 'old'")[0][0]
    check(left == 0 and r["deleted"] == rows, "%d old events left, %d deleted" % (left,
                                                                                r["deleted"]))
    # dev-a's events are younger than the retention: its first and every one the pacer posted
    # (seq 1 again, then one new seq a post) stay.
    kept = env.query("SELECT count(*) FROM events WHERE device = 'dev-a'")[0][0]
    check(kept == len(lat), "younger events deleted: %d of %d left" % (kept, len(lat)))
    wait_for(lambda: not c.health()["retention"]["behind"], 10, "retention to catch up")
    r = c.health()["retention"]
    print("deleted %d in %.1f s: %d slices, next slice %d rows, last %.1f ms, longest %.1f ms, "
          "%d over the %d ms target; acks meanwhile n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms"
          % (r["deleted"], took, r["slices"], r["slice_rows"], r["last_slice_us"] / 1000,
             r["max_slice_us"] / 1000, r["slices_over_target"], r["slice_target_us"] // 1000,
             len(lat), B.pct(lat, .5), B.pct(lat, .99), max(lat) * 1000))
    check(r["slices"] >= 2 and 50 <= r["slice_rows"] <= 20000 and r["max_slice_us"] > 0 and
          r["caught_up_ms"] > 0, "/v1/health retention: %s" % r)
    text = c.metrics()
    count = [x for x in text.splitlines()
             if x.startswith("ward_collector_retention_slice_seconds_count")]
    check(count and int(float(count[0].split()[-1])) >= r["slices"],
          "/metrics retention histogram: %s" % count)
    check("ward_collector_retention_deleted_total %d" % rows in text, "/metrics deleted")
    line = [x for x in env.wardctl(c, "health").stdout.splitlines() if x.startswith("retention:")]
    check(line and "slices=" in line[0] and "deleted=%d" % rows in line[0],
          "wardctl health: %s" % line)
    check("retention: deleted" in c.log_text(), "no retention log line")
    c.stop()


if __name__ == "__main__":
    main({"backup_stop": case_backup_stop, "retention_slices": case_retention_slices})
