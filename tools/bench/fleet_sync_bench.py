#!/usr/bin/env python3
"""The fleet sync of a collector on PostgreSQL: every device vs the devices changed
(docs/benchmarks.md, "Fleet sync: every device vs the changed ones"). As root: it starts a
PostgreSQL 15 server of its own (tests/integration/collector/pgserver.py) and one collector.

    tools/bench/fleet_sync_bench.py BUILD [DEVICES] [CHANGED_PCT] [ROUNDS]

Fills the devices table with DEVICES rows (default 100000) straight in SQL, each with a
merged heartbeat document of the size a real one has, and then, from the collector's
/v1/health (cluster: fleet_sync_last_rows, _us, _cpu_us, measured in the collector around
its reads):

  first     the read of the devices just written (every device new to the fleet);
  full      a full read of devices the fleet already holds, what every sync cost before the
            incremental read (forced by ending the collector's database session: a
            reconnection reads everything again), ROUNDS times;
  changed   CHANGED_PCT % of the devices (default 1) updated, then the next sync, ROUNDS times.

Then PostgreSQL's side of one read of each kind (EXPLAIN ANALYZE: execution time, buffers),
and what the stamp costs each write of a row: 20,000 heartbeats with the trigger and
the index and without them (time, WAL, HOT updates). One JSON line per measurement, then a
summary line. Everything is stopped by PID (the harness teardown).
"""
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import harness  # noqa: E402
import pgserver  # noqa: E402

# A merged heartbeat of the size the agent's is (docs/benchmarks.md: a row of ~900 B).
HB = json.dumps(harness.heartbeat("x", harness.BOOT_A, 7, 60000)) \
    .replace('"x"', '"\' || id || \'"')
DEVICE_COLS = ("id, state, first_seen_ms, last_seen_ms, coalesce(last_heartbeat_ms, 0), "
               "coalesce(interval_ms, 0), boot_id, health")


def cluster(env, col):
    return env.wardctl_json(col, "health")["cluster"]


def wait_sync(env, col, pred, what, timeout=300):
    return harness.wait_for(lambda: (lambda h: h if pred(h) else None)(cluster(env, col)),
                            timeout, what, step=0.2)


def sample(kind, h, **extra):
    row = dict(kind=kind, rows=h["fleet_sync_last_rows"], wall_ms=h["fleet_sync_last_us"] / 1e3,
               cpu_ms=h["fleet_sync_last_cpu_us"] / 1e3, **extra)
    print(json.dumps(row), flush=True)
    return row


def explain(pg, sql):
    """PostgreSQL's execution time and the 8 KiB buffers the whole plan touched."""
    out = pg.psql_admin("EXPLAIN (ANALYZE, BUFFERS) " + sql, db="ward")
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", out)[1])
    top = re.search(r"Buffers: shared( hit=(\d+))?( read=(\d+))?", out)
    return ms, int(top[2] or 0) + int(top[4] or 0)


def write_cost(pg, n_dev, stamped):
    """20,000 heartbeats of random devices as the collector stores them (ward_put_report(),
    a compact heartbeat merged into the stored one), one transaction, measured the second
    time: the first writes the full page images due after a checkpoint."""
    hb = json.dumps({"v": 1, "type": "heartbeat", "boot": harness.BOOT_A, "seq": 8,
                     "t_ms": 8000, "health": {"state": "ok", "severity": "none", "sensors": 1,
                                              "not_ok": 0}})
    loop = ("DO $$ DECLARE d text; BEGIN FOR i IN 1..20000 LOOP d := 'bench-' || "
            "lpad((1 + (random() * %d)::int %% %d)::text, 7, '0'); PERFORM ward_put_report(d, "
            "(extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM "
            "clock_timestamp()) * 1000)::bigint, NULL, '%s', 'ok', '%s'::jsonb, NULL, "
            "'127.0.0.1', 4096); END LOOP; END $$" % (n_dev, n_dev, harness.BOOT_A, hb))
    pg.psql_admin(loop, db="ward")
    stats = ("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
             "WHERE relname = 'devices'")
    u0, h0 = map(int, pg.psql_admin(stats, db="ward").split("|"))
    w0 = int(pg.psql_admin("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").strip())
    t0 = time.monotonic()
    pg.psql_admin(loop, db="ward")
    dt = time.monotonic() - t0
    w1 = int(pg.psql_admin("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").strip())
    time.sleep(1.0)  # the statistics collector's report
    u1, h1 = map(int, pg.psql_admin(stats, db="ward").split("|"))
    row = dict(kind="write", stamped=stamped, us_per_update=dt * 1e6 / 20000,
               wal_per_update=(w1 - w0) / 20000, hot_pct=100.0 * (h1 - h0) / max(1, u1 - u0))
    print(json.dumps(row), flush=True)
    return row


def run(build, n_dev, pct, rounds, work):
    env = harness.Env(build, work, "fsb")
    pg = pgserver.Server(env.dir)
    harness._SERVERS.append(pg)
    env.make_pki(devices=())
    col = env.start("--storage", "postgresql:" + pg.conninfo(), "--max-devices",
                    str(n_dev + 1000))
    wait_sync(env, col, lambda h: h["fleet_syncs"] >= 1, "the first (empty) sync", 60)
    now = int(time.time() * 1000)
    s0 = cluster(env, col)["fleet_syncs"]
    pg.query("INSERT INTO devices (id, first_seen_ms, last_seen_ms, last_heartbeat_ms, "
             "interval_ms, boot_id, state, state_since_ms, health, heartbeat) SELECT id, %d, "
             "%d, %d, 60000, '%s', 'up', %d, 'ok', ('%s')::jsonb FROM (SELECT 'bench-' || "
             "lpad(g::text, 7, '0') AS id FROM generate_series(1, %d) AS g) AS s" %
             (now, now, now, harness.BOOT_A, now, HB, n_dev))
    pg.psql_admin("VACUUM ANALYZE devices", db="ward")
    size = pg.query("SELECT pg_total_relation_size('devices'), pg_relation_size('devices')")[0]
    res = {"devices": n_dev, "table_bytes": size[1], "with_indexes_bytes": size[0]}
    res["first"] = sample("first", wait_sync(env, col, lambda h: h["fleet_syncs"] > s0 and
                                             h["fleet_sync_last_rows"] >= n_dev,
                                             "the full read of %d devices" % n_dev))
    full, changed = [], []
    for _ in range(rounds):
        f0 = cluster(env, col)["fleet_syncs_full"]
        pg.psql_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      "application_name = 'ward-collector'")
        full.append(sample("full", wait_sync(env, col, lambda h: h["fleet_syncs_full"] > f0,
                                             "a full read after a reconnection")))
    k = max(1, n_dev * pct // 100)
    for r in range(rounds):
        s0 = cluster(env, col)["fleet_syncs"]
        pg.query("UPDATE devices SET last_seen_ms = last_seen_ms + 1000, last_heartbeat_ms = "
                 "last_heartbeat_ms + 1000 WHERE id IN (SELECT 'bench-' || lpad(g::text, 7, "
                 "'0') FROM generate_series(%d, %d * %d, %d) AS g)" %
                 (1 + r, k, n_dev // k, n_dev // k))
        changed.append(sample("changed", wait_sync(env, col, lambda h: h["fleet_syncs"] > s0 and
                                                   h["fleet_sync_last_rows"] >= k,
                                                   "a sync of the %d changed devices" % k),
                              changed=k))
    # PostgreSQL's side: the old query (every device) and one page from a recent horizon.
    horizon = pg.query("SELECT pg_snapshot_xmin(pg_current_snapshot())")[0][0]
    res["pg_full_ms"], res["pg_full_buffers"] = explain(pg, "SELECT %s FROM devices" %
                                                        DEVICE_COLS)
    pg.query("UPDATE devices SET last_seen_ms = last_seen_ms + 1 WHERE id IN (SELECT id FROM "
             "devices TABLESAMPLE SYSTEM (1) LIMIT %d)" % k)
    res["pg_changed_ms"], res["pg_changed_buffers"] = explain(
        pg, "SELECT %s, change_xid, change_seq FROM devices WHERE (change_xid, change_seq) > "
        "('%s'::xid8, -1) ORDER BY change_xid, change_seq LIMIT 5000" % (DEVICE_COLS, horizon))
    res["write_stamped"] = write_cost(pg, n_dev, True)
    pg.psql_admin("ALTER TABLE devices DISABLE TRIGGER devices_changed; "
                  "DROP INDEX devices_by_change", db="ward")
    res["write_plain"] = write_cost(pg, n_dev, False)
    for name, rows in (("full", full), ("changed", changed)):
        res[name] = {key: statistics.median(r[key] for r in rows)
                     for key in ("rows", "wall_ms", "cpu_ms")}
    col.stop()
    return res


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    n_dev = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    pct = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    why = pgserver.available()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    work = os.path.join(build, "bench-fleet-sync")
    try:
        print(json.dumps(dict(summary=run(build, n_dev, pct, rounds, work))))
    finally:
        harness._teardown()


if __name__ == "__main__":
    main()
