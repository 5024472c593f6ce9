#!/usr/bin/env python3
"""PostgreSQL's counts and retention: a day's events deleted one by one vs its partition
dropped, and the devices counted by count(*) vs read from device_counts.

Usage (as root: it starts a PostgreSQL 15 server of its own over a Unix socket, as the *_pg
tests do): tools/bench/pg_counts.py BUILD [EVENTS [DEVICES]]

The collector in BUILD is started once to create the schema. Then EVENTS events (default
1,000,000) and their identities are put into one old day, twice, and deleted:
  rows  ward_expire(cutoff, 20000, true), the cutoff inside the day, until nothing is left:
        what every expired event cost before schema 11, and still costs with a retention under
        a day (slices of 20,000, the collector's largest);
  days  ward_expire(cutoff, 20000, false) once: the day's partition dropped, its count taken
        from event_counts; then the identities' slices (row deletes in both modes);
  count what dropping the day cost in schema 10 on top of the drop: count(*) of the partition.
Then DEVICES device rows (default 1,000,000; 0 skips it) with a heartbeat document of about
600 bytes, each updated once more (as every heartbeat rewrites its device's row, so the
visibility map is not all-visible), and the devices' count as schema 11 read it (count(*) of
devices) and as schema 12 reads it (sum of device_counts), 3 times each.
For each: wall time of the statements (one psql process each, its start included), WAL
written (pg_current_wal_lsn). Prints one line per measure and a JSON summary line.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import pgserver  # noqa: E402

DAY_MS = 86400000
SLICE = 20000


def wal(pg):
    return pg.query("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")[0][0]


def timed(pg, sql):
    t0 = time.monotonic()
    rows = pg.query(sql)
    return rows, time.monotonic() - t0


def fill(pg, day, n):
    """n events of one old day and their identities."""
    pg.query("SELECT ward_event_partitions(%d, 0)" % (day * DAY_MS))
    pg.query("INSERT INTO events (device, boot_id, seq, received_ms, severity, severity_rank, "
             "doc) SELECT 'dev-' || (g %% 1000), 'b', g, %d + g %% %d, 'high', 3, "
             "'{\"sensor\":\"FAN3\",\"from\":\"ok\",\"to\":\"critical\"}' "
             "FROM generate_series(1, %d) AS g" % (day * DAY_MS, DAY_MS, n))
    pg.query("INSERT INTO event_keys (device, boot_id, seq, received_ms) SELECT 'dev-' || "
             "(g %% 1000), 'b', g, %d + g %% %d FROM generate_series(1, %d) AS g" %
             (day * DAY_MS, DAY_MS, n))
    pg.psql_admin("CHECKPOINT")
    pg.query("VACUUM ANALYZE events, event_keys, event_counts")


def check(ok, what):
    if not ok:
        sys.exit("pg_counts: " + what)


def keys_left(pg):
    return pg.query("SELECT count(*) FROM event_keys")[0][0]


def drain_keys(pg, cutoff, mode):
    """The identities' slices, back to back (the collector runs them at least 50 ms apart
    while there are more)."""
    secs, calls = 0.0, 0
    while keys_left(pg) > 0 and calls < 1000:
        _, s = timed(pg, "SELECT keys FROM ward_expire(%d, %d, %s)" % (cutoff, SLICE, mode))
        secs, calls = secs + s, calls + 1
    return secs, calls


def devices(pg, n):
    """n device rows, each written twice; the count both ways, 3 times each (seconds)."""
    hb = ('{"v":2,"seq":1,"t_ms":1,"config":"c","uptime_ms":1,"interval_ms":60000,'
          '"firmware":"0.1.0","board":"linux-x86_64","arch":"x86_64","config_sha256":"' +
          "0" * 64 + '","rules_sha256":"' + "0" * 64 + '","memory":{"heap_used":1,'
          '"readings_refused":0},"loop":{"lag_max_ms":0},"pad":"' + "x" * 240 + '"}')
    pg.query("INSERT INTO devices (id, first_seen_ms, last_seen_ms, heartbeat) SELECT "
             "'dev-' || g, 1, 1, '%s'::jsonb FROM generate_series(1, %d) AS g" % (hb, n))
    pg.query("UPDATE devices SET last_seen_ms = 2")
    pg.psql_admin("CHECKPOINT")
    row = pg.query("SELECT pg_relation_size('devices')")[0][0]
    old = [timed(pg, "SELECT count(*) FROM devices") for _ in range(3)]
    new = [timed(pg, "SELECT coalesce(sum(n), 0) FROM device_counts") for _ in range(3)]
    base = [timed(pg, "SELECT 1") for _ in range(3)]  # psql's own start and round trip
    check(all(r == [(n,)] for r, _ in old + new), "devices counted %r" % [r for r, _ in old + new])
    return {"rows": n, "table_bytes": row, "count_seconds": [round(t, 3) for _, t in old],
            "sum_seconds": [round(t, 3) for _, t in new],
            "select_1_seconds": [round(t, 3) for _, t in base]}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    n_dev = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
    collector = os.path.join(build, "tools", "ward-collector")
    pki = os.path.join(build, "bench-pg-retention-pki")
    work = os.path.join(build, "bench-pg-retention")
    subprocess.run(["rm", "-rf", pki, work], check=True)
    os.makedirs(work)
    wpki = os.path.join(build, "ward-pki")
    for args in (["init"], ["collector"]):
        subprocess.run([wpki, "--dir", pki] + args, check=True, stdout=subprocess.DEVNULL)
    try:
        pg = pgserver.Server(work)
    except pgserver.Unavailable as e:
        print("pg_counts: skipped: %s" % e)
        sys.exit(77)
    try:
        p = subprocess.Popen([collector, "--state", os.path.join(work, "state"), "--pki", pki,
                              "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0",
                              "--retention", "0", "--storage", "postgresql:" + pg.conninfo()],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(100):
            if pg.query("SELECT to_regclass('device_counts') IS NOT NULL")[0][0] == "t":
                break
            time.sleep(0.1)
        p.terminate()
        p.wait(timeout=20)
        day = int(time.time() * 1000) // DAY_MS - 100
        cutoff = (day + 1) * DAY_MS
        out = {"events": n}

        fill(pg, day, n)
        w0 = wal(pg)
        # The cutoff 1 ms before the day's end: the partition is not wholly before it, so every
        # event goes one by one, as each did before schema 11 while the cutoff moved through
        # its day.
        secs, calls = 0.0, 0
        while calls < 1000:
            rows, s = timed(pg, "SELECT deleted FROM ward_expire(%d, %d, true)" %
                            (cutoff - 1, SLICE))
            secs, calls = secs + s, calls + 1
            if rows[0][0] == 0 and keys_left(pg) == 0:
                break
        out["rows"] = {"seconds": round(secs, 2), "calls": calls, "wal_bytes": wal(pg) - w0}
        check(pg.query("SELECT count(*) FROM events")[0][0] == 0, "rows: events left")
        pg.query("DROP TABLE IF EXISTS events_d%d" % day)

        fill(pg, day, n)
        _, csecs = timed(pg, "SELECT count(*) FROM events_d%d" % day)
        out["count"] = {"seconds": round(csecs, 2)}
        w0 = wal(pg)
        rows, secs = timed(pg, "SELECT dropped FROM ward_expire(%d, %d, false)" % (cutoff, SLICE))
        dropped = rows[0][0]
        ksecs, kcalls = drain_keys(pg, cutoff, "false")
        out["days"] = {"seconds": round(secs + ksecs, 2), "drop_seconds": round(secs, 3),
                       "calls": 1 + kcalls, "wal_bytes": wal(pg) - w0, "deleted": dropped}
        left = pg.query("SELECT count(*) FROM events")[0][0]
        counted = pg.query("SELECT coalesce(sum(n), 0) FROM event_counts")[0][0]
        out["check"] = {"events_left": left, "counted": counted}
        if n_dev > 0:
            out["devices"] = devices(pg, n_dev)
    finally:
        pg.teardown()
    r, d = out["rows"], out["days"]
    print("rows: %d events one by one (+ identities): %.2f s in %d calls, %.1f MB of WAL" %
          (n, r["seconds"], r["calls"], r["wal_bytes"] / 1e6))
    print("days: the partition dropped (%d counted from event_counts) in %.3f s; with the "
          "identities %.2f s in %d calls, %.1f MB of WAL" %
          (d["deleted"], d["drop_seconds"], d["seconds"], d["calls"], d["wal_bytes"] / 1e6))
    print("count: count(*) of the day, what schema 10 added to a drop: %.2f s" %
          out["count"]["seconds"])
    if "devices" in out:
        dv = out["devices"]
        print("devices: %d rows (%.0f MB): count(*) %s s, sum(device_counts) %s s, SELECT 1 "
              "%s s" % (dv["rows"], dv["table_bytes"] / 1e6, dv["count_seconds"],
                        dv["sum_seconds"], dv["select_1_seconds"]))
    print(json.dumps(out))
    ok = d["deleted"] == n and out["check"]["events_left"] == 0 and out["check"]["counted"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
