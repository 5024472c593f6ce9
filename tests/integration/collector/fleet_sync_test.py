#!/usr/bin/env python3
"""The incremental fleet sync of several collectors on one PostgreSQL (docs/storage.md,
"The fleet sync").

fleet_sync  two collectors A and B on one database (WARD_TEST_STORAGE=postgresql). Devices
            report through A, and 300 rows are written straight into the devices table, then
            some of them changed again. B's device list (wardctl devices) and A's must
            converge to what the database holds. Then the case that a reader of "rows
            numbered above the last one read" gets wrong: session X writes 50 devices first
            (the lower transaction id) and stays open; transaction ids are used up to the
            next power of ten (so that the ids' text sorts the other way round), session Y
            writes 5,100 devices (more than a page, one transaction id) and commits; both
            collectors list Y's devices and sync once more; X commits: its devices must
            still appear, read in one sync with Y's. At the end an idle sync reads a handful
            of rows, not the fleet, and there was one full read per collector; stats.events
            (the event_counts sum) equals count(*) after inserts, a delete, a fold and a
            retention pass that drops the day partitions.

Skips (77) without PostgreSQL 15 server binaries or root. Real processes on loopback and a
Unix socket in the test's directory, stopped by PID at the end.
"""
import os
import select
import subprocess
import sys
import time

import harness
import pgserver
from harness import Fail, batch, check, post_ok, wait_for

REPORTERS = ["fs-%02d" % i for i in range(6)]
BULK = 300
EARLY = 50
LATE = 5100  # > WCOL_CLUSTER_SYNC_ROWS (5000): a read of two pages


class Session:
    """A psql session kept open (a transaction that spans the collectors' syncs)."""

    def __init__(self, pg):
        self.p = subprocess.Popen(
            ["psql", "-h", pg.sock, "-U", "ward", "-d", "ward", "-X", "-Atq", "-v",
             "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
            env=dict(os.environ, PGPASSWORD=pgserver.PASSWORD))
        harness._PROCS.append(self.p)
        self.n = 0

    def run(self, sql, timeout=20):
        """Run sql and wait until psql has done it (a marker echoed after it): its output."""
        self.n += 1
        mark = "done-%d" % self.n
        self.p.stdin.write("%s\nSELECT '%s';\n" % (sql, mark))
        self.p.stdin.flush()
        # Read the pipe's fd itself: a buffered readline() may take both lines at once and leave
        # the marker in Python's buffer, where select() cannot see it (a 20 s wait, then a
        # failure with the answer already read).
        fd, end, out = self.p.stdout.fileno(), time.monotonic() + timeout, ""
        while mark not in out:
            left = end - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                raise Fail("psql did not finish %r: %s" % (sql, out.strip()))
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    time.sleep(0.05)  # end of file: poll() sees the exit next round
                    continue
                out += chunk.decode(errors="replace")
        check("ERROR" not in out, "psql: %s" % out.strip())
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=20)


def db_view(env):
    return sorted(env.pg.query("SELECT id, state, last_seen_ms, coalesce(last_heartbeat_ms, 0) "
                               "FROM devices"))


def col_view(env, c):
    doc = env.wardctl_json(c, "devices")
    return sorted((d["id"], d["state"], d["last_seen_ms"], d["last_heartbeat_ms"])
                  for d in doc["devices"])


def masked(rows):
    """A's own devices carry A's receive times, a few ms from what it stored: not compared."""
    return sorted(r[:2] + (0, 0) if r[0] in REPORTERS else r for r in rows)


def cluster(c):
    return c.health().get("cluster", {})


def converged(env, cols, what, timeout=25):
    """B, the reader, lists what the database holds; so does A but for its own receive times."""
    def same():
        want = db_view(env)
        return col_view(env, cols[1]) == want and masked(col_view(env, cols[0])) == masked(want)

    try:
        wait_for(same, timeout, what, step=0.5)
        print("fleet_sync: %s after %.1f s" % (what, time.monotonic() - T0))
    except Fail:
        want = set(masked(db_view(env)))
        for c in cols:
            got = set(masked(col_view(env, c)))
            print("%s: %d rows; not in the database %r; missing %r" %
                  ("AB"[cols.index(c)], len(got), sorted(got - want)[:3],
                   sorted(want - got)[:3]))
        raise


T0 = time.monotonic()


def case_fleet_sync(env):
    check(env.pg is not None, "run with WARD_TEST_STORAGE=postgresql")
    env.make_pki(devices=REPORTERS)
    a = env.start("--max-devices", "20000", state=os.path.join(env.dir, "a"))
    b = env.start("--max-devices", "20000", state=os.path.join(env.dir, "b"))
    print("fleet_sync: two collectors started after %.1f s" % (time.monotonic() - T0))
    cols = [a, b]
    now = int(time.time() * 1000)

    # Devices report through A; bulk rows appear in the table as another collector's would.
    for i, d in enumerate(REPORTERS):
        post_ok(env, a, d, batch(d, seqs=(1, 2), hb_seq=1, interval_ms=600000))
    env.pg.query("INSERT INTO devices (id, first_seen_ms, last_seen_ms, last_heartbeat_ms, "
                 "interval_ms, state, state_since_ms, health) SELECT 'bulk-' || "
                 "lpad(g::text, 5, '0'), %d, %d + g, %d + g, 600000, 'up', %d, 'ok' "
                 "FROM generate_series(1, %d) AS g" % (now, now, now, now, BULK))
    print("fleet_sync: devices written after %.1f s" % (time.monotonic() - T0))
    converged(env, cols, "A and B to list the %d devices the database holds" %
              (BULK + len(REPORTERS)))

    # Changes: heartbeats through A, rows updated in the table (newer, some silent).
    for d in REPORTERS[:3]:
        post_ok(env, a, d, batch(d, hb_seq=2, interval_ms=600000))
    env.pg.query("UPDATE devices SET last_seen_ms = last_seen_ms + 5000, last_heartbeat_ms = "
                 "last_heartbeat_ms + 5000, state = CASE WHEN id < 'bulk-00100' THEN 'silent' "
                 "ELSE state END WHERE id LIKE 'bulk-%' AND right(id, 1) IN ('3', '7')")
    converged(env, cols, "A and B to take the changed rows")
    check(sum(1 for r in col_view(env, b) if r[1] == "silent") == 20,
          "B does not list the 20 devices made silent in the table")

    # Out of order: X takes the lower transaction id and commits after Y.
    x = Session(env.pg)
    for _ in range(3):
        out = x.run("BEGIN; INSERT INTO devices (id, first_seen_ms, last_seen_ms, state) "
                    "SELECT 'ooo-early-' || lpad(g::text, 2, '0'), %d, %d, 'up' FROM "
                    "generate_series(1, %d) AS g; SELECT 'xid=' || pg_current_xact_id();" %
                    (now, now, EARLY))
        xid = int(out.split("xid=")[1].split()[0])
        if str(xid).rstrip("0") != "1":  # a power of ten sorts first as text too
            break
        x.run("ROLLBACK;")
    top = 10 ** len(str(xid))
    cur = env.pg.query("SELECT pg_current_xact_id()")[0][0]
    env.pg.query("DO $$ BEGIN FOR i IN 1..%d LOOP PERFORM pg_current_xact_id(); COMMIT; "
                 "END LOOP; END $$" % max(0, top - cur))
    env.pg.query("INSERT INTO devices (id, first_seen_ms, last_seen_ms, state) SELECT "
                 "'ooo-late-' || lpad(g::text, 5, '0'), %d, %d, 'up' FROM "
                 "generate_series(1, %d) AS g" % (now, now, LATE))
    late = env.pg.query("SELECT DISTINCT change_xid::text FROM devices WHERE id LIKE 'ooo-late%'")
    check(len(late) == 1 and int(late[0][0]) >= top and str(xid) > str(late[0][0]),
          "Y's transaction id %r is not past %d (X's %d)" % (late, top, xid))
    known = len(REPORTERS) + BULK + LATE
    wait_for(lambda: all(c.health()["fleet"]["devices"] == known for c in cols), 20,
             "both collectors to hold the later transaction's devices", step=0.3)
    syncs = {c: cluster(c)["fleet_syncs"] for c in cols}
    wait_for(lambda: all(cluster(c)["fleet_syncs"] >= syncs[c] + 1 for c in cols), 20,
             "another fleet sync", step=0.3)
    x.run("COMMIT;")
    x.close()
    converged(env, cols, "the earlier transaction's devices, committed last, on both")
    check(len([r for r in col_view(env, b) if r[0].startswith("ooo-early")]) == EARLY,
          "B misses devices committed last")

    # Incremental: an idle sync reads a few rows, not the fleet; one full read each.
    def idle():
        return all(cluster(c)["fleet_sync_last_rows"] < 100 for c in cols)

    wait_for(idle, 20, "an idle sync to read fewer than 100 of %d rows" % (BULK + EARLY + LATE + len(REPORTERS)), step=0.5)
    for c in cols:
        h = cluster(c)
        print("fleet_sync: %s: %d syncs, %d full, %d rows read, the last %d rows in %d us "
              "(%d us CPU)" % ("AB"[cols.index(c)], h["fleet_syncs"], h["fleet_syncs_full"],
                               h["fleet_sync_rows"], h["fleet_sync_last_rows"],
                               h["fleet_sync_last_us"], h["fleet_sync_last_cpu_us"]))
        check(h["fleet_syncs_full"] == 1, "%d full reads, want 1" % h["fleet_syncs_full"])
    text = env.wardctl(b, "health").stdout
    check("fleet_syncs_full=1" in text and "fleet_sync_last_rows=" in text,
          "wardctl health does not show the fleet sync: %s" % text)

    # stats.events is the sum of event_counts, kept by triggers: it follows inserts, deletes,
    # a fold and dropped day partitions (retention) exactly.
    def counted(what):
        wait_for(lambda: a.health()["storage"]["last_event_id"] ==
                 env.pg.query("SELECT count(*) FROM events")[0][0], 10,
                 "stats.events to equal count(*) after %s" % what, step=0.3)

    counted("%d events stored" % (2 * len(REPORTERS)))
    env.pg.query("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 3)")
    counted("3 events deleted")
    env.pg.query("SELECT ward_event_counts_fold()")
    check(env.pg.query("SELECT count(*) FROM event_counts") == [(1,)], "the fold left rows")
    counted("the fold")
    env.pg.query("SELECT ward_expire(%d, 5000)" % (now + 3 * 86400000))
    counted("retention dropped the day partitions")
    for c in cols:
        c.stop()


if __name__ == "__main__":
    harness.main({"fleet_sync": case_fleet_sync})
