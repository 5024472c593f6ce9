#!/usr/bin/env python3
"""The storage ceiling: plain SQLite, the collector's schema and statements, batched.

    storage.py COLLECTOR_DB WORK_DIR [SECONDS]

COLLECTOR_DB is a ward.db a collector wrote (after a loadgen run): its schema is copied from
sqlite_master, so the tables and indexes are exactly the collector's, and one stored
heartbeat document is reused as the payload, so rows are the size the collector writes.
Settings are the collector's (WAL, synchronous=FULL). For each batch size, rows are written
for SECONDS (default 3) in transactions of that many rows:
  - heartbeat upserts (the collector's `devices` statement, one row per heartbeat, over
    10,000 devices round robin): what every heartbeat costs the collector's storage;
  - event inserts (the collector's `events` statement with ON CONFLICT DO NOTHING).
Prints one JSON line per (statement, batch): rows per second and commits per second.
"""
import json
import os
import sqlite3
import sys
import time

UPSERT = (
    "INSERT INTO devices (id, first_seen_ms, last_seen_ms, last_heartbeat_ms, interval_ms, "
    "boot_id, health, heartbeat, snapshot, peer, state, state_since_ms) "
    "VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'up', ?2) "
    "ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, "
    "last_heartbeat_ms = coalesce(excluded.last_heartbeat_ms, last_heartbeat_ms), "
    "interval_ms = coalesce(excluded.interval_ms, interval_ms), "
    "boot_id = coalesce(excluded.boot_id, boot_id), health = coalesce(excluded.health, health), "
    "heartbeat = coalesce(excluded.heartbeat, heartbeat), "
    "snapshot = coalesce(excluded.snapshot, snapshot), peer = excluded.peer"
)
INSERT_EVENT = (
    "INSERT INTO events (device, boot_id, seq, received_ms, time_ms, sensor, from_state, "
    "to_state, severity, severity_rank, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (device, boot_id, seq) DO NOTHING"
)
EVENT_DOC = (
    '{"v":1,"type":"event","device":"lg-00000","boot":"00112233445566778899aabbccddeeff",'
    '"seq":1,"time":"2026-11-21T07:00:00.000Z","uptime_ms":61000,"sensor":"temp:cpu0",'
    '"from":"ok","to":"warn","severity":"medium","value":86000,"threshold":85000,'
    '"rule":"cpu-hot","repeat":1}'
)
DEVICES = 10000
BATCHES = (1, 16, 128, 512, 4096)


def open_db(path, schema):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    for sql in schema:
        db.execute(sql)
    return db


def run(db, stmt, make_row, batch, seconds):
    rows = commits = 0
    i = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and rows < 50_000_000:
        db.execute("BEGIN")
        db.executemany(stmt, (make_row(i + k) for k in range(batch)))
        db.execute("COMMIT")
        i += batch
        rows += batch
        commits += 1
    dt = time.monotonic() - t0
    return rows / dt, commits / dt


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: storage.py COLLECTOR_DB WORK_DIR [SECONDS]", file=sys.stderr)
        return 2
    seconds = float(sys.argv[3]) if len(sys.argv) == 4 else 3.0
    src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    schema = [r[0] for r in src.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY type = 'index', rowid")]
    row = src.execute("SELECT heartbeat FROM devices WHERE heartbeat IS NOT NULL LIMIT 1").fetchone()
    if not schema or row is None:
        print(f"storage.py: {sys.argv[1]} has no collector schema or no heartbeat yet",
              file=sys.stderr)
        return 1
    hb = row[0]
    os.makedirs(sys.argv[2], exist_ok=True)
    path = os.path.join(sys.argv[2], "ceiling.db")
    now = int(time.time() * 1000)

    def upsert_row(i):
        return (f"lg-{i % DEVICES:05d}", now + i, now + i, 250, "00112233445566778899aabbccddeeff",
                None, hb, None, "127.0.0.1:1")

    def event_row(i):
        return (f"lg-{i % DEVICES:05d}", "00112233445566778899aabbccddeeff", i, now + i, now + i,
                "temp:cpu0", "ok", "warn", "medium", 2, EVENT_DOC)

    for name, stmt, make in (("heartbeat_upsert", UPSERT, upsert_row),
                             ("event_insert", INSERT_EVENT, event_row)):
        for batch in BATCHES:
            db = open_db(path, schema)
            rows_s, commits_s = run(db, stmt, make, batch, seconds)
            db.close()
            print(json.dumps({"statement": name, "batch": batch, "rows_per_s": round(rows_s),
                              "commits_per_s": round(commits_s), "payload_bytes":
                              len(hb) if name == "heartbeat_upsert" else len(EVENT_DOC)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
