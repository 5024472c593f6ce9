#!/usr/bin/python3
"""What the collector keeps of the agent's trimmed documents (issue 14), for every storage
backend (WARD_TEST_STORAGE=postgresql: a PostgreSQL server of the test's own).

    thr_test.py BUILD_DIR WORK_DIR CASE

thr_merge: a full snapshot page carries each threshold-judged sensor's "thr"/"thr_below"; the
delta pages that follow update the same sensors without them, and the stored snapshot (the
device API, wardctl device) keeps the full page's thresholds, while a later full page
replaces them (a rule lost a level). A compact heartbeat without "events" keeps the stored
counters (nothing pending); one with "events" replaces them. wardctl device shows the
thresholds in its sensor table.

hb_health: a compact heartbeat without "health" (the summary unchanged since the last
acknowledged one) keeps the stored health and heartbeat summary and the device's state; a
changed summary replaces them; a full heartbeat carries it again. With SQLite the merges after
the first used the device's kept sticky state or, for a compact heartbeat that changes only
seq and t_ms after one like it, were kept as the device's beat without a merge (wardctl
health: heartbeat_state); PostgreSQL merges on the server and keeps none.
"""
import json

from harness import BOOT_A, check, main, post_ok


def sensor(i, value, thr=True):
    s = {"id": "temp:s%d" % i, "state": "ok", "severity": "none", "kind": "threshold",
         "value": value, "since_ms": 1, "last_ms": 2}
    if thr:
        s["thr"] = {"caution": 80000, "critical": 90000}
        s["thr_below"] = {"caution": 5000}
    return s


def page(sensors, total, first=0, delta=False):
    p = {"v": 1, "type": "health", "device": "dev-t", "boot": BOOT_A, "t_ms": 5000,
         "state": "ok", "severity": "none", "sensors_total": total, "first": first,
         "sensors": sensors}
    if delta:
        p["delta"] = True
    return p


OK = {"state": "ok", "sensors": 3}


def heartbeat(seq, events=None, full=False, summary=OK):
    hb = {"v": 2, "seq": seq, "t_ms": 1000 * seq, "config": "0" * 16}
    if summary is not None:
        hb["health"] = summary
    if full:
        hb.update({"uptime_ms": 1000 * seq, "interval_ms": 60000, "firmware": "0.1.0",
                   "board": "linux-x86_64", "arch": "x86_64", "config_sha256": "0" * 64,
                   "memory": {"context_bytes": 1}})
    if events is not None:
        hb["events"] = events
    return hb


def post(env, col, seq, health=None, events=None, full=False, summary=OK):
    doc = {"v": 2, "type": "batch", "device": "dev-t", "boot": BOOT_A,
           "heartbeat": heartbeat(seq, events, full, summary)}
    if health is not None:
        doc["health"] = health
    post_ok(env, col, "dev-t", json.dumps(doc, separators=(",", ":")).encode())


def stored(env, col):
    d = env.wardctl_json(col, "device", "dev-t")
    return d, {s["id"]: s for s in d["snapshot"]["sensors"]}


def case_thr_merge(env):
    env.make_pki(devices=("dev-t",))
    col = env.start()
    # A full cycle of two pages; the second sensor's rule has no lower level.
    post(env, col, 1, page([sensor(0, 40000), sensor(1, 41000)], 3), full=True,
         events={"last_seq": 4, "acked": 4})
    s1 = sensor(2, 42000)
    del s1["thr_below"]
    post(env, col, 2, page([s1], 3, first=2))
    # Delta pages: values move, no thresholds on the wire.
    post(env, col, 3, page([sensor(0, 47000, thr=False)], 3, delta=True))
    post(env, col, 4, page([sensor(2, 48000, thr=False), sensor(0, 49000, thr=False)], 3,
                           delta=True))
    d, by_id = stored(env, col)
    check([s["id"] for s in d["snapshot"]["sensors"]] == ["temp:s0", "temp:s1", "temp:s2"],
          "order: %r" % d["snapshot"]["sensors"])
    check(by_id["temp:s0"]["value"] == 49000 and by_id["temp:s2"]["value"] == 48000,
          "delta values not merged: %r" % by_id)
    check(by_id["temp:s0"].get("thr") == {"caution": 80000, "critical": 90000} and
          by_id["temp:s0"].get("thr_below") == {"caution": 5000},
          "temp:s0 lost its thresholds over delta pages: %r" % by_id["temp:s0"])
    check(by_id["temp:s2"].get("thr") == {"caution": 80000, "critical": 90000} and
          "thr_below" not in by_id["temp:s2"], "temp:s2: %r" % by_id["temp:s2"])
    check(by_id["temp:s1"].get("thr_below") == {"caution": 5000}, "temp:s1: %r" % by_id["temp:s1"])
    check("delta" not in d["snapshot"], "delta kept in the header: %r" % d["snapshot"])
    text = env.wardctl(col, "device", "dev-t").stdout
    check("THRESHOLDS" in text and "caution>80" in text and "caution<5" in text,
          "wardctl device does not show the thresholds: %r" % text)
    # Compact heartbeats: without "events" the stored counters stay (nothing pending).
    post(env, col, 5)
    hb = env.wardctl_json(col, "device", "dev-t")["heartbeat"]
    check(hb.get("events") == {"last_seq": 4, "acked": 4}, "counters lost: %r" % hb)
    check(hb.get("firmware") == "0.1.0", "sticky members lost: %r" % hb)
    post(env, col, 6, events={"pending": 1, "last_seq": 5, "acked": 4})
    hb = env.wardctl_json(col, "device", "dev-t")["heartbeat"]
    check(hb.get("events") == {"pending": 1, "last_seq": 5, "acked": 4}, "counters: %r" % hb)
    post(env, col, 7)  # acknowledged since: nothing pending, counters as last sent
    hb = env.wardctl_json(col, "device", "dev-t")["heartbeat"]
    check(hb.get("events") == {"last_seq": 5, "acked": 4}, "pending kept: %r" % hb)
    # A later full page replaces the thresholds (a rule lost its critical level).
    s0 = sensor(0, 50000)
    s0["thr"] = {"caution": 85000}
    del s0["thr_below"]
    post(env, col, 8, page([s0, sensor(1, 41000, thr=False), sensor(2, 42000, thr=False)], 3))
    _, by_id = stored(env, col)
    check(by_id["temp:s0"].get("thr") == {"caution": 85000} and
          "thr_below" not in by_id["temp:s0"], "full page did not replace: %r" % by_id["temp:s0"])
    check("thr" not in by_id["temp:s1"], "temp:s1 kept old thresholds: %r" % by_id["temp:s1"])
    # ... and the next delta page keeps those.
    post(env, col, 9, page([sensor(0, 51000, thr=False)], 3, delta=True))
    _, by_id = stored(env, col)
    check(by_id["temp:s0"].get("thr") == {"caution": 85000}, "temp:s0: %r" % by_id["temp:s0"])


def case_hb_health(env):
    env.make_pki(devices=("dev-t",))
    col = env.start()
    caution = {"state": "caution", "severity": "medium", "sensors": 3, "not_ok": 2}
    post(env, col, 1, full=True, summary=caution)
    d = env.wardctl_json(col, "device", "dev-t")
    check(d.get("health") == "caution" and d["heartbeat"].get("health") == caution,
          "full heartbeat's summary not stored: %r" % d)
    state = d.get("state")
    # Compact heartbeats without "health": the summary is unchanged, the stored one stays.
    for seq in (2, 3):
        post(env, col, seq, summary=None)
        d = env.wardctl_json(col, "device", "dev-t")
        check(d.get("health") == "caution", "health lost: %r" % d.get("health"))
        check(d["heartbeat"].get("health") == caution, "summary lost: %r" % d["heartbeat"])
        check(d["heartbeat"].get("seq") == seq and d["heartbeat"].get("firmware") == "0.1.0",
              "heartbeat not merged: %r" % d["heartbeat"])
        check(d.get("state") == state, "device state moved: %r -> %r" % (state, d.get("state")))
    # A changed summary replaces it; the next one without keeps the new one.
    post(env, col, 4, summary=OK)
    d = env.wardctl_json(col, "device", "dev-t")
    check(d.get("health") == "ok" and d["heartbeat"].get("health") == OK,
          "changed summary not stored: %r" % d)
    post(env, col, 5, summary=None)
    d = env.wardctl_json(col, "device", "dev-t")
    check(d.get("health") == "ok" and d["heartbeat"].get("health") == OK,
          "changed summary not kept: %r" % d)
    # A full heartbeat (a new connection) carries it again and replaces the stored document.
    post(env, col, 6, full=True, summary=caution)
    d = env.wardctl_json(col, "device", "dev-t")
    check(d.get("health") == "caution" and d["heartbeat"].get("health") == caution,
          "full heartbeat's summary: %r" % d)
    # The first report inserts the row; the first merge (seq 2) finds no kept state; seq 3,
    # like seq 2 only seq and t_ms, is not merged but kept as the device's beat (liveness only;
    # read back merged above); seq 4 and 5 use the kept state; the full heartbeat (seq 6) keeps
    # its own.
    h = env.wardctl_json(col, "health")
    st = h.get("heartbeat_state", {})
    want = {"devices": 1, "hits": 2, "misses": 1, "stale": 0, "liveness_only": 1,
            "evictions": 0}
    if h["storage"]["backend"] == "postgresql":
        want = dict.fromkeys(want, 0)
    check(st == want, "heartbeat_state %r, want %r" % (st, want))
    text = env.wardctl(col, "health").stdout
    check("heartbeat_state: devices=%d hits=%d" % (want["devices"], want["hits"]) in text,
          "wardctl health does not show heartbeat_state: %r" % text)


if __name__ == "__main__":
    main({"thr_merge": case_thr_merge, "hb_health": case_hb_health})
