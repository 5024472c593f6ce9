#!/usr/bin/env python3
"""The PostgreSQL storage backend (docs/storage.md) on its own: what only a server database
can do to the collector. Run with WARD_TEST_STORAGE=postgresql (CMakeLists.txt does).

pg_outage      PostgreSQL stopped (pg_ctl -m immediate) under load and started again: requests
               get 503 meanwhile, the collector stays up and reconnects; every acknowledged
               event is stored exactly once and the clients' resends fill the rest. Then, on
               the same server, a server that does not answer (unreachable(), below).
pg_partitions  events land in the partition of their day, made ahead with the next two days;
               with a retention of a day or more, retention (ward_expire) only drops days
               wholly before the cutoff (their count taken from event_counts, not counted
               again) and prunes events_default row by row; a dropped day goes with its
               identities, and a resend after that is new again. The devices' count
               (device_counts, no count(*)) follows rows that SQL inserts and deletes.
pg_retention_days  the collector's own retention ticks (--retention 2d) drop an old day and
               take every one of its identities in slices that follow each other.
pg_bad_config  unreachable server, wrong password, schema newer than the binary: one clear
               line each, exit != 0, nothing listening.
"""
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import time

from collector_test import Loader, stop_and_verify
from harness import BOOT_B, DeviceClient, Fail, batch, check, main, post_ok, wait_for


def case_pg_outage(env):
    env.make_pki(devices=("dev-a", "dev-b"))
    col = env.start()
    col_ref = [col]
    loaders = [Loader(env, col_ref, d) for d in ("dev-a", "dev-b")]
    for ld in loaders:
        ld.start()
    wait_for(lambda: all(ld.acked >= 500 for ld in loaders), 60, "load to build up")
    errors_before = sum(ld.errors for ld in loaders)
    env.pg.stop("immediate")
    acked_at_stop = {ld.device: ld.acked for ld in loaders}
    time.sleep(1.5)
    check(col.alive(), "the collector exited when the database went away")
    stalled = {ld.device: ld.acked for ld in loaders}
    errors_down = sum(ld.errors for ld in loaders) - errors_before
    check(errors_down > 0, "no request failed while the database was down")
    env.pg.start()
    target = {ld.device: stalled[ld.device] + 500 for ld in loaders}
    wait_for(lambda: all(ld.acked >= target[ld.device] for ld in loaders), 60,
             "clients to resume after the database came back")
    stop_and_verify(env, loaders, col)
    log = col.log_text()
    check("reconnected to PostgreSQL" in log, "no reconnection in the log")
    print("pg_outage: acked at stop %s, %d requests failed while down, acked at end %s" %
          (acked_at_stop, errors_down, {ld.device: ld.acked for ld in loaders}))
    unreachable(env)  # the same server: its start-up is the slow part of a case


def case_pg_partitions(env):
    env.make_pki()
    col = env.start()
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1, 2, 3]))
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[3, 4], hb_seq=2))  # 3 a duplicate
    day = int(time.time() * 1000) // 86400000
    rows = env.query("SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1")
    check(rows == [("events_d%d" % day, 4)], "events not in today's partition: %r" % rows)
    parts = sorted(r[0] for r in env.query(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass"))
    want = sorted(["events_default"] + ["events_d%d" % (day + k) for k in range(3)])
    check(parts == want, "partitions %r, want %r" % (parts, want))
    check(env.query("SELECT day, sum(n)::bigint FROM event_counts GROUP BY day") == [(day, 4)],
          "events counted by day: %r" % env.query("SELECT day, n FROM event_counts"))
    col.stop()
    # Rows of a day without a partition (a clock gone back) land in events_default.
    old = 1000 * 86400000 + 5
    for seq, at in ((1, old), (2, old + 10)):
        env.query("INSERT INTO events (device, boot_id, seq, received_ms, severity, "
                  "severity_rank, doc) VALUES ('dev-z', 'b', %d, %d, 'low', 1, '{}')" % (seq, at))
        env.query("INSERT INTO event_keys VALUES ('dev-z', 'b', %d, %d)" % (seq, at))
    check(env.query("SELECT DISTINCT tableoid::regclass::text FROM events WHERE device = "
                    "'dev-z'") == [("events_default",)], "the old rows are not in events_default")

    def expire(cutoff, max_rows):
        """(dropped, deleted, identities) of one whole-day retention pass."""
        return env.query("SELECT dropped, deleted, keys FROM ward_expire(%d, %d, false)" %
                         (cutoff, max_rows))

    # Whole days (a retention of a day or more): a cutoff inside today deletes nothing of
    # today's partition, one by one or otherwise; events_default is pruned row by row, and an
    # identity goes only once no older row is left there (one slice of 1 row here).
    now_ms = int(time.time() * 1000)
    n = expire(now_ms + 1000, 1)
    check(n == [(0, 1, 1)], "whole-day retention did %r, want one default row, one identity" % n)
    check(env.query("SELECT seq FROM event_keys WHERE device = 'dev-z'") == [(2,)],
          "dev-z's identities: %r" % env.query("SELECT seq FROM event_keys WHERE device = 'dev-z'"))
    check(expire(now_ms + 1000, 100) == [(0, 1, 1)], "the second default row and its identity")
    check(env.query("SELECT count(*) FROM events_d%d" % day) == [(4,)],
          "today's events went one by one")
    check(env.query("SELECT count(*) FROM event_keys") == [(4,)],
          "identities went before their events")
    # (One by one, a retention under a day: collector_retention_pg.)
    # A cutoff at the end of today: the whole day is dropped. What it held is taken from its
    # day's counts, not counted again: a count the test adds to the day comes back with it.
    env.query("INSERT INTO event_counts (day, n) VALUES (%d, 1000)" % day)
    n = expire((day + 1) * 86400000, 1)
    check(n == [(1004, 0, 1)], "ward_expire did %r, want the day's counted 4 + 1000" % n)
    check(env.query("SELECT count(*) FROM pg_class WHERE relname = 'events_d%d'" % day) == [(0,)],
          "today's partition not dropped")
    check(env.query("SELECT coalesce(sum(n), 0)::bigint FROM event_counts") == [(0,)],
          "the dropped day's counts stayed: %r" % env.query("SELECT day, n FROM event_counts"))
    # Identities go in bounded slices (1 here), the rest on the next call.
    check(env.query("SELECT count(*) FROM event_keys") == [(3,)], "identities: one slice")
    check(expire((day + 1) * 86400000, 100) == [(0, 0, 3)], "the second call")
    check(env.query("SELECT count(*) FROM event_keys") == [(0,)], "identities not pruned")
    # A collector of schema 10 (a rolling upgrade) calls ward_expire(cutoff, max): one by one.
    check(env.query("SELECT ward_expire(%d, 100)" % now_ms) == [(0,)], "the old signature")
    col = env.start("--retention", "2d")
    health = col.health()
    check(health["retention"]["granularity"] == "day",
          "granularity %r with --retention 2d" % health["retention"].get("granularity"))
    check(re.search(r"^ward_collector_retention_by_partition 1$", col.metrics(), re.M),
          "ward_collector_retention_by_partition not 1 in /metrics")
    # The devices' count (device_counts, no count(*)) follows rows written by anyone.
    check(health["storage"]["devices"] == 1, "devices %r" % health["storage"]["devices"])
    env.query("INSERT INTO devices (id, first_seen_ms, last_seen_ms) VALUES ('dev-sql', 1, 1), "
              "('dev-sql2', 1, 1)")
    check(col.health()["storage"]["devices"] == 3, "devices after 2 inserted by SQL")
    env.query("DELETE FROM devices WHERE id LIKE 'dev-sql%'")
    check(col.health()["storage"]["devices"] == 1, "devices after they were deleted")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[4, 5], hb_seq=3))
    check(env.query("SELECT seq FROM events ORDER BY seq") == [(4,), (5,)],
          "after the drop: %r" % env.query("SELECT seq FROM events"))
    col.stop()


def case_pg_retention_days(env):
    """The leader's retention ticks with --retention 2d: an old day is dropped whole and every
    one of its identities goes too, in slices that keep coming while there are more (not one
    slice per idle minute), counted in /v1/health."""
    env.make_pki()
    col = env.start()
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    col.stop()
    n = 5000  # more identities than the first slices take (1000 rows, doubling)
    day = int(time.time() * 1000) // 86400000 - 3
    env.query("SELECT ward_event_partitions(%d, 0)" % (day * 86400000))
    env.query("INSERT INTO events (device, boot_id, seq, received_ms, severity, severity_rank, "
              "doc) SELECT 'dev-old', 'b', g, %d + g, 'low', 1, '{}' FROM generate_series(1, %d) "
              "AS g" % (day * 86400000, n))
    env.query("INSERT INTO event_keys SELECT 'dev-old', 'b', g, %d + g FROM "
              "generate_series(1, %d) AS g" % (day * 86400000, n))
    col = env.start("--retention", "2d", "--check-interval", "100")
    wait_for(lambda: env.query("SELECT count(*) FROM event_keys WHERE device = 'dev-old'") ==
             [(0,)], 20, "the old day's identities to go")
    check(env.query("SELECT count(*) FROM pg_class WHERE relname = 'events_d%d'" % day) == [(0,)],
          "the old day's partition is still there")
    check(env.query("SELECT device, seq FROM events") == [("dev-a", 1)],
          "events left: %r" % env.query("SELECT device, seq FROM events"))
    check(env.query("SELECT device FROM event_keys") == [("dev-a",)], "today's identity went")
    # behind stays true until a slice finds nothing more (at least 50 ms after the last one)
    wait_for(lambda: not col.health()["retention"]["behind"], 10, "retention to catch up")
    health = col.health()
    ret = health["retention"]
    check(health["storage"]["events_expired"] == n, "expired %r" %
          health["storage"]["events_expired"])
    # the drop and 1000 identities, then at least one slice more (1000 or 2000 rows as the
    # slices took more or less than 10 ms), then the one that found nothing
    check(ret["granularity"] == "day" and ret["slices"] >= 3, "retention %r" % ret)
    col.stop()
    print("pg_retention_days: %d events dropped with their day, %d identities in %d slices" %
          (n, n, ret["slices"]))


def start_fails(env, conninfo, expect):
    """The collector refuses to start: exit != 0 and the reason on one line."""
    p = subprocess.run([env.collector_bin, "--pki", env.pki, "--state", env.state, "--listen",
                        "127.0.0.1:0", "--api-listen", "127.0.0.1:0", "--storage",
                        "postgresql:" + conninfo], capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    lines = [ln for ln in out.splitlines() if expect in ln]
    check(p.returncode != 0, "started with %r: %s" % (conninfo, out))
    check(len(lines) == 1, "no single line saying %r: %s" % (expect, out))
    check("ward-test-pw" not in out and "wrong-pw" not in out, "a password in the log: %s" % out)
    check(not os.path.exists(os.path.join(env.state, "ports")), "ports file written")
    return lines[0]


def case_pg_bad_config(env):
    env.make_pki()
    nowhere = os.path.join(env.dir, "no-server")
    os.makedirs(nowhere)
    shown = [start_fails(env, "host=%s dbname=ward user=ward connect_timeout=3" % nowhere,
                         "cannot connect to PostgreSQL"),
             start_fails(env, env.pg.conninfo(password="wrong-pw"),
                         "password authentication failed")]
    # A database at a schema this binary does not know.
    col = env.start()
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    col.stop()
    env.pg.query("INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)")
    shown.append(start_fails(env, env.pg.conninfo(), "newer than this collector"))
    env.pg.query("DELETE FROM schema_version WHERE version = 99")
    col = env.start()
    check(env.wardctl_json(col, "events")["events"][0]["seq"] == 1, "the stored event")
    col.stop()
    for s in shown:
        print("pg_bad_config: " + s.split(" error: ", 1)[-1])


def timed(fn):
    t0 = time.monotonic()
    v = fn()
    return v, time.monotonic() - t0


def api_get(env, col, path, token=None, method="GET", body=None):
    """path on the operator API with token (the tokens file's by default): (status, body)."""
    ctx = ssl.create_default_context(cafile=env.ca())
    conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=30)
    if token is None:
        with open(env.token_file) as f:
            token = f.read().strip()
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def post_status(env, col, body):
    c = DeviceClient(env, col, "dev-a", timeout=30)
    try:
        status, _, data = c.post(body)
    finally:
        c.close()
    return status, data


def gone(pid):
    """The process ended (a zombie its stopped parent has not reaped counts as ended)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# Well under the conninfo's connect_timeout (20 s here): the old code blocked the event loop
# for the whole timeout on every reconnect attempt.
PROMPT_S = 5.0


def unreachable(env):
    """The server stops answering (its postmaster SIGSTOPped, the collector's backends ended):
    connects hang, yet /v1/health, /metrics, /v1/events and refused heartbeats (no ack) answer
    in well under connect_timeout; after SIGCONT ingest resumes and every acknowledged event is
    stored once (docs/storage.md, "Reconnecting"). The old code blocked 20 s per attempt."""
    env.storage_args = ["--storage", "postgresql:" + env.pg.conninfo() + " connect_timeout=20"]
    col = env.start()
    worst = 0.0

    def away(v_took):
        nonlocal worst
        worst = max(worst, v_took[1])
        return v_took
    post_ok(env, col, "dev-a", batch("dev-a", boot=BOOT_B, seqs=[1, 2, 3]))
    status, text = api_get(env, col, "/v1/tokens", method="POST", body={
        "name": "nms", "role": "viewer", "devices": "*", "expires_s": 3600})
    check(status == 200, "token create: %d %s" % (status, text))
    api_token = json.loads(text)["token"]  # looked up in PostgreSQL on every request
    h = col.health()
    check(h["storage"].get("state") == "connected", "storage state before: %r" % h["storage"])
    backends = [r[0] for r in env.pg.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'ward-collector%'")]
    check(len(backends) >= 2, "the collector's connections: %r" % backends)
    pm = env.pg.pid()
    os.kill(pm, signal.SIGSTOP)  # new connections now wait in the listen queue, unanswered
    try:
        for pid in backends:
            try:
                os.kill(pid, signal.SIGTERM)  # as pg_terminate_backend(): the client sees EOF
            except ProcessLookupError:
                pass
        wait_for(lambda: all(gone(p) for p in backends), 10, "the backends to end")
        (status, data), took = away(timed(lambda: post_status(
            env, col, batch("dev-a", boot=BOOT_B, seqs=[4, 5], hb_seq=2))))
        check(status == 503 and b"acks" not in data, "while away: %d %r" % (status, data))
        check(took < PROMPT_S, "a refused heartbeat took %.2f s" % took)
        for _ in range(3):
            h, took = away(timed(col.health))
            check(took < PROMPT_S, "wardctl health took %.2f s with the database away" % took)
            st = h["storage"]
            check(st["state"] in ("connecting", "down"), "storage while away: %r" % st)
            (status, text), took = away(timed(lambda: api_get(env, col, "/metrics")))
            check(status == 200 and took < PROMPT_S, "/metrics: %d in %.2f s" % (status, took))
            check('ward_collector_storage_up{connection="storage"} 0' in text,
                  "storage_up not 0 while away")
            # every connection its own label set (two of a feature: "inventory", "inventory-2"),
            # else Prometheus refuses the whole scrape for a duplicate series
            ups = re.findall(r'^ward_collector_storage_up\{connection="([^"]+)"\}', text, re.M)
            check(len(ups) >= 5 and len(ups) == len(set(ups)),
                  "storage_up label sets not unique: %r" % ups)
            (status, text), took = away(timed(lambda: api_get(env, col, "/v1/events")))
            check(status == 503 and took < PROMPT_S and "error" in json.loads(text),
                  "/v1/events while away: %d %r in %.2f s" % (status, text, took))
            (status, text), took = away(timed(lambda: api_get(env, col, "/v1/health",
                                                              token=api_token)))
            check(status == 503 and took < PROMPT_S and "unavailable" in json.loads(text)["error"],
                  "an API token while away: %d %r in %.2f s" % (status, text, took))
        out, took = away(timed(lambda: env.wardctl(col, "health").stdout))
        check(re.search(r"^storage: .*state=(connecting|down) down_for_s=\d+", out, re.M) and
              re.search(r"^postgresql: .*storage\.state=(connecting|down)", out, re.M),
              "wardctl health while away: %r" % out)
        (status, data), took = away(timed(lambda: post_status(
            env, col, batch("dev-a", boot=BOOT_B, seqs=[4, 5], hb_seq=3))))
        check(status == 503 and took < PROMPT_S, "a resend while away: %d in %.2f s" %
              (status, took))
        gone_state = h["storage"]
    finally:
        os.kill(pm, signal.SIGCONT)

    def resent():
        status, data = post_status(env, col, batch("dev-a", boot=BOOT_B, seqs=[4, 5], hb_seq=4))
        return status == 200 and json.loads(data)["acks"]
    acks = wait_for(resent, 15, "ingest to resume after SIGCONT", step=0.2)
    check(acks[0]["seq"] == 5, "acks after the return: %r" % acks)
    h = wait_for(lambda: (lambda d: d if d["storage"]["state"] == "connected" else None)(
        col.health()), 15, "the storage to show connected", step=0.2)
    check(h["storage"]["reconnects"] >= 1, "no reconnect counted: %r" % h["storage"])
    wait_for(lambda: api_get(env, col, "/v1/health", token=api_token)[0] == 200, 15,
             "the API token to be taken again", step=0.2)
    seqs = env.query("SELECT seq, count(*) FROM events WHERE device = 'dev-a' AND boot_id = ? "
                     "GROUP BY seq ORDER BY seq", (BOOT_B,))
    check(seqs == [(s, 1) for s in range(1, 6)], "events stored: %r" % seqs)
    col.stop()
    check("reconnected to PostgreSQL" in col.log_text(), "no reconnection in the log")
    print("pg_outage: unreachable: slowest answer while away %.3f s; storage while away %r; "
          "after %r" % (worst, gone_state, h["storage"]))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if os.environ.get("WARD_TEST_STORAGE") != "postgresql":
        raise SystemExit(Fail("run with WARD_TEST_STORAGE=postgresql"))
    main(CASES)
