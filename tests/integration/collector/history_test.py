#!/usr/bin/python3
"""Sensor history and trends at the collector (issue 14, docs/history.md).

    history_test.py BUILD_DIR WORK_DIR CASE

  history_api   snapshot pages and events become points; GET /v1/devices/{id}/history in JSON
                (the documented shape) and CSV (Accept: text/csv), bad parameters are one 400
                line each, no token is 401; the points survive a restart; /metrics counts them;
                wardctl history draws a sparkline (UTF-8 and ASCII) and prints min/mean/max
  trends        a recorded trace of a failing disk (tests/unit/collector_history) fed through
                snapshot pages: GET /v1/trends and wardctl trends forecast the crossing it was
                made with (19.3 days, within 10 %), and a low-severity incident opens on
                (device, forecast:SENSOR); restarted with a horizon shorter than the forecast,
                the incident is resolved after the hold-down
  history       (PostgreSQL only) history_api, then history_shared with another device, on
                one server (the ctest collector_history_pg)
  history_shared  (PostgreSQL only) two collectors on one database: a device reports
                alternately to each, then to both at once from two threads; the buckets hold
                every reading once (counts and sums in the database), /v1/history answers the
                same from both, the two collectors' points_written add up to the readings, and
                retention (ward_history_partitions() five days on) drops the raw partitions
"""
import json
import re
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import harness as H
from harness import BOOT_A, DeviceClient, Fail, check, main, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
TRACE = os.path.join(HERE, "..", "..", "unit", "collector_history", "trace-reallocated.csv")


def api(env, col, path, accept=None, token=True):
    """GET path on the operator port: (status, Content-Type, body text)."""
    req = urllib.request.Request("https://localhost:%d%s" % (col.api_port, path))
    if token:
        with open(env.token_file) as f:
            req.add_header("Authorization", "Bearer " + f.read().strip())
    if accept:
        req.add_header("Accept", accept)
    ctx = ssl.create_default_context(cafile=env.ca())
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def sensor(sid, value, t_ms, last_ms):
    return {"id": sid, "state": "ok", "severity": "none", "kind": "threshold", "value": value,
            "since_ms": 0, "last_ms": last_ms}


def page(device, t_ms, sensors):
    doc = H.snapshot(device, BOOT_A, sensors)
    doc["t_ms"] = t_ms
    return doc


def send_pages(env, col, device, pages):
    """Each page in a batch of its own, on one keep-alive connection (as the agent does)."""
    c = DeviceClient(env, col, device)
    try:
        for i, p in enumerate(pages):
            status, _, data = c.post(H.batch(device, hb_seq=i + 1, events=[], health=p))
            check(status == 200, "a batch was refused: %d %r" % (status, data))
    finally:
        c.close()


def metric(env, col, name):
    status, _, text = api(env, col, "/metrics")
    check(status == 200, "/metrics: %d" % status)
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise Fail("/metrics has no %s" % name)


def case_history_api(env):
    env.make_pki(devices=("dev-a",))
    col = env.start("--history-raw-step", "1s")
    # A page a second for 10 s of the device's clock, sent now: temp:cpu0 rises by 1000 a second.
    pages = [page("dev-a", 100000, [sensor("temp:cpu0", 40000 + 1000 * i, 100000,
                                           100000 - 1000 * (9 - i)),
                                    sensor("fan:it87:1", 2000, 100000, 100000)])
             for i in range(10)]
    send_pages(env, col, "dev-a", pages)
    ev = H.event(BOOT_A, 1, sensor="disk:sda:temp", value=61000)
    H.post_ok(env, col, "dev-a", H.batch("dev-a", hb_seq=20, events=[ev]))

    def temps():
        s, _, body = api(env, col, "/v1/devices/dev-a/history?sensor=temp:*&from=-5m&step=1s")
        doc = json.loads(body) if s == 200 else {}
        pts = doc.get("series", [{}])[0].get("points", []) if doc.get("series") else []
        return doc if len(pts) >= 10 else None
    doc = wait_for(temps, 15, "10 points of temp:cpu0 in the history")
    check(set(doc) == {"device", "from_ms", "to_ms", "step_s", "series"} and
          doc["device"] == "dev-a" and doc["step_s"] == 1, "history shape: %r" % doc)
    s0 = doc["series"][0]
    check(set(s0) == {"sensor", "unit", "tier", "points"} and s0["sensor"] == "temp:cpu0" and
          s0["unit"] == "mC" and s0["tier"] == "raw", "series shape: %r" % s0)
    vals = sorted(p[2] for p in s0["points"])
    check(vals[:10] == [40000 + 1000 * i for i in range(10)], "temp points: %r" % vals)
    check(all(len(p) == 4 and p[1] <= p[2] <= p[3] for p in s0["points"]), "points [t,min,mean,max]")
    # A coarser step re-buckets: one minute holds all of them (or two, across a boundary).
    s, _, body = api(env, col, "/v1/devices/dev-a/history?sensor=temp:cpu0&from=-1h&step=1m")
    pts = json.loads(body)["series"][0]["points"]
    check(s == 200 and 1 <= len(pts) <= 2 and min(p[1] for p in pts) == 40000 and
          max(p[3] for p in pts) == 49000, "1m re-bucketed: %r" % pts)
    # Every series of the device, the event's reading among them.
    s, _, body = api(env, col, "/v1/devices/dev-a/history?from=-1h")
    names = [x["sensor"] for x in json.loads(body)["series"]]
    check(names == ["disk:sda:temp", "fan:it87:1", "temp:cpu0"], "series: %r" % names)
    # CSV
    s, ctype, body = api(env, col, "/v1/devices/dev-a/history?sensor=fan:*&from=-1h",
                         accept="text/csv")
    lines = body.splitlines()
    check(s == 200 and ctype.startswith("text/csv") and
          lines[0] == "sensor,unit,tier,t_ms,min,mean,max" and
          lines[1].startswith("fan:it87:1,rpm,") and lines[1].endswith(",2000,2000,2000"),
          "csv: %d %s %r" % (s, ctype, lines[:3]))
    # Bad parameters: one clear 400 each; no token: 401.
    for q, why in (("from=yesterday", "from/to"), ("step=0", "step"), ("color=red", "unknown"),
                   ("from=-1h&to=-2h", "before"), ("from=-30d&step=1s", "step too small"),
                   ("sensor=%ZZ", "malformed")):
        s, _, body = api(env, col, "/v1/devices/dev-a/history?" + q)
        check(s == 400 and why in body, "%s: %d %r" % (q, s, body))
    s, _, body = api(env, col, "/v1/devices/bad%20id/history")
    check(s == 400, "bad device id: %d" % s)
    s, _, _ = api(env, col, "/v1/devices/dev-a/history", token=False)
    check(s == 401, "no token: %d" % s)
    check(metric(env, col, "ward_history_points_written_total") >= 21, "points written metric")
    check(metric(env, col, "ward_history_documents_dropped_total") == 0, "dropped metric")
    check(metric(env, col, "ward_history_db_bytes") > 0, "db bytes metric")
    # The same counters in GET /v1/health and wardctl health.
    hh = col.health().get("history", {})
    check(hh.get("points_written", 0) >= 21 and hh.get("db_bytes", 0) > 0 and
          "flushes" in hh and "points_pending" in hh, "history in /v1/health: %r" % hh)
    p = env.wardctl(col, "health")
    check(re.search(r"^history: points_written=\d+ .*flushes=\d+", p.stdout, re.M),
          "history in wardctl health: %r" % p.stdout)
    # wardctl: a sparkline, UTF-8 then ASCII, and the summary lines.
    p = env.wardctl(col, "history", "dev-a", "temp:cpu0", "--since", "5m", "--step", "1s")
    print(p.stdout, end="")
    check(any(ch in p.stdout for ch in "▁▂▃▄▅▆▇█") and "min 40.0" in p.stdout and
          "max 49.0" in p.stdout, "wardctl history: %r" % p.stdout)
    envc = dict(os.environ, LC_ALL="C", LANG="C")
    cmd = [env.wardctl_bin, "--url", "https://localhost:%d" % col.api_port, "--ca", env.ca(),
           "--token-file", env.token_file, "history", "dev-a", "temp:cpu0", "--since", "5m",
           "--step", "1s"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=envc)
    check(p.returncode == 0 and "▁" not in p.stdout and "#" in p.stdout,
          "ASCII sparkline: %r %r" % (p.stdout, p.stderr))
    p = env.wardctl(col, "history", "dev-a", "fan:it87:1", "--csv")
    check(p.stdout.startswith("sensor,unit,tier,t_ms,min,mean,max\n"), "wardctl --csv: %r" % p.stdout)
    # A restart keeps them.
    col.stop()
    col = env.start("--history-raw-step", "1s")
    s, _, body = api(env, col, "/v1/devices/dev-a/history?sensor=temp:cpu0&from=-5m&step=1s")
    check(s == 200 and len(json.loads(body)["series"][0]["points"]) >= 10,
          "after a restart: %d %r" % (s, body[:200]))


def trace_pages(device):
    rows = []
    with open(TRACE) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                h, v = line.split(",")
                rows.append((int(h), int(v)))
    last = rows[-1][0]
    t_ms = 10 ** 10
    # Every 4th hour (60 pages): the device says how long before the page each reading was.
    return [page(device, t_ms, [sensor("disk:sdb:reallocated", v, t_ms,
                                       t_ms - (last - h) * 3600000)])
            for h, v in rows if h % 4 == 3]


def case_trends(env):
    env.make_pki(devices=("bmc-7",))
    policy = os.path.join(env.dir, "alerting.conf")
    with open(policy, "w") as f:
        f.write("hold-down 1s\n")
    args = ("--alerting", policy, "--trends-every", "1s", "--trends-window", "10d")
    col = env.start(*args)
    send_pages(env, col, "bmc-7", trace_pages("bmc-7"))

    def forecast():
        s, _, body = api(env, col, "/v1/trends")
        doc = json.loads(body) if s == 200 else {}
        return doc if doc.get("trends") else None
    doc = wait_for(forecast, 20, "a forecast in GET /v1/trends", step=0.3)
    t = doc["trends"][0]
    days = t["eta_ms"] / 86400000.0
    check(t["device"] == "bmc-7" and t["sensor"] == "disk:sdb:reallocated" and
          t["threshold"] == 100 and 19.33 * 0.9 < days < 19.33 * 1.1,
          "forecast: %r (%.2f days)" % (t, days))
    check(t["eta_lo_ms"] <= t["eta_ms"] <= t["eta_hi_ms"] and t["points"] >= 8, "confidence: %r" % t)
    check("disk sdb on bmc-7 reaches its reallocated sector threshold" in t["forecast"],
          "sentence: %r" % t["forecast"])
    s, _, body = api(env, col, "/v1/trends?within=10d")
    check(s == 200 and json.loads(body)["trends"] == [], "within=10d still lists %r" % body)
    p = env.wardctl(col, "trends", "--within", "90d")
    print(p.stdout, end="")
    check("bmc-7" in p.stdout and "disk:sdb:reallocated" in p.stdout and "19 days" in p.stdout,
          "wardctl trends: %r" % p.stdout)
    inc = wait_for(lambda: [x for x in env.wardctl_json(col, "incidents")["incidents"]
                            if x["component"] == "forecast:disk:sdb:reallocated"],
                   15, "the forecast incident", step=0.3)[0]
    check(inc["device"] == "bmc-7" and inc["severity"] == "low" and inc["state"] == "open",
          "incident: %r" % inc)
    one = env.wardctl_json(col, "incident", str(inc["id"]))
    text = json.dumps(one)
    check("reaches its reallocated sector threshold" in text, "incident timeline: %r" % text[:600])
    check(metric(env, col, "ward_trends_forecasts") == 1, "trends metric")
    # Still one incident after more passes (opened on a change only).
    wait_for(lambda: metric(env, col, "ward_trends_passes_total") >= 4, 15, "more passes")
    n = [x for x in env.wardctl_json(col, "incidents")["incidents"]
         if x["component"].startswith("forecast:")]
    check(len(n) == 1, "one incident per forecast: %r" % n)
    # A horizon shorter than the forecast: the incident resolves.
    col.stop()
    col = env.start(*args, "--trends-within", "5d")
    wait_for(lambda: [x for x in env.wardctl_json(col, "incidents", "--state", "resolved")
                      ["incidents"] if x["id"] == inc["id"]], 20,
             "the forecast incident to resolve", step=0.3)


def case_history_shared(env, dev="dev-a"):
    if env.pg is None:
        print("SKIP history_shared: needs WARD_TEST_STORAGE=postgresql")
        sys.exit(77)
    if dev == "dev-a":
        env.make_pki(devices=(dev,))
    else:
        env.run_pki("device", dev)

    def start(i):
        state = os.path.join(env.dir, "state%d" % i)
        os.makedirs(state, mode=0o700, exist_ok=True)
        return env.start("--history-raw-step", "1s", state=state)
    cols = [start(0), start(1)]
    clients = [DeviceClient(env, c, dev) for c in cols]
    seq = [0]

    def post(i, sid, value):
        seq[0] += 1
        doc = page(dev, 100000, [sensor(sid, value, 100000, 100000)])
        st, _, data = clients[i].post(H.batch(dev, hb_seq=seq[0], events=[], health=doc))
        check(st == 200, "a batch was refused by collector %d: %d %r" % (i, st, data))

    # Alternately: reading k (1000 * k) to collector k % 2.
    temps = [1000 * k for k in range(1, 21)]
    for k, v in enumerate(temps):
        post(k % 2, "temp:cpu0", v)
    # Both at once, each collector from a thread of its own: its flushes meet the other's on
    # the same buckets.
    fans = [[2000 + 10 * k + i for k in range(30)] for i in range(2)]
    errors = []

    def burst(i):
        try:
            for v in fans[i]:
                post_one(i, v)
        except Exception as e:  # reported below, on the test's thread
            errors.append(repr(e))
    lock = threading.Lock()

    def post_one(i, v):
        with lock:
            seq[0] += 1
            n = seq[0]
        doc = page(dev, 100000, [sensor("fan:1", v, 100000, 100000)])
        st, _, data = clients[i].post(H.batch(dev, hb_seq=n, events=[], health=doc))
        if st != 200:
            raise Fail("collector %d refused a batch: %d %r" % (i, st, data))
    ts = [threading.Thread(target=burst, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    for c in clients:
        c.close()
    check(not errors, "the concurrent senders: %r" % errors)

    # Every tier holds each reading once: counts and sums over its buckets.
    want = {"temp:cpu0": (len(temps), sum(temps), min(temps), max(temps)),
            "fan:1": (60, sum(fans[0]) + sum(fans[1]), min(fans[0]), max(fans[1]))}

    def tiers():
        rows = env.query("SELECT s.sensor, b.tier, sum(b.cnt), sum(b.sum), min(b.mn), max(b.mx) "
                         "FROM history_buckets b JOIN history_series s ON s.id = b.series "
                         "WHERE s.device = ? GROUP BY s.sensor, b.tier", (dev,))
        got = {(r[0], r[1]): tuple(int(x) for x in r[2:]) for r in rows}
        return got if all(got.get((k, t)) == w for k, w in want.items() for t in range(3)) \
            else None
    try:
        wait_for(tiers, 15, "every reading in every tier once")
    except Fail:
        raise Fail("buckets: %r" % env.query(
            "SELECT s.sensor, b.tier, sum(b.cnt), sum(b.sum) FROM history_buckets b JOIN "
            "history_series s ON s.id = b.series GROUP BY s.sensor, b.tier ORDER BY 1, 2"))

    # The operator API: the same answer from both collectors, every tier.
    # (A fixed range: a relative one is the answering collector's own now.)
    now = int(time.time() * 1000)
    for base, span in (("sensor=*&step=1s", 300000), ("sensor=temp:*&step=1m", 3600000),
                       ("sensor=fan:1&step=1h", 86400000), ("format=csv", 3600000)):
        q = "%s&from=%d&to=%d" % (base, now - span, now + 60000)
        docs = []
        for c in cols:
            st, _, body = api(env, c, "/v1/devices/%s/history?" % dev + q)
            check(st == 200, "%s: %d %r" % (q, st, body))
            docs.append(body)
        check(docs[0] == docs[1], "%s differs between the collectors:\n%s\n%s" % (q, docs[0][:600],
                                                                                 docs[1][:600]))
    # SQLite's GLOB on PostgreSQL (a regular expression made from it): sets, ?, *, literals.
    for glob, want_names in (("[ft]*", ["fan:1", "temp:cpu0"]), ("t?mp:*", ["temp:cpu0"]),
                             ("[^t]*", ["fan:1"]), ("fan:.", []), ("*:1", ["fan:1"])):
        st, _, body = api(env, cols[0], "/v1/devices/%s/history?from=-1h&sensor=%s" %
                          (dev, urllib.parse.quote(glob)))
        names = [x["sensor"] for x in json.loads(body)["series"]] if st == 200 else st
        check(names == want_names, "sensor=%s: %r" % (glob, names))
    # Readings to the raw tier (1 s) from two collectors: min/max over the answer are the
    # readings', and the counts in the 1 h tier's mean add up (one bucket unless an hour
    # boundary fell inside the test).
    st, _, body = api(env, cols[1], "/v1/devices/%s/history?sensor=temp:cpu0&from=-1d&step=1d" % dev)
    pts = json.loads(body)["series"][0]["points"]
    check(min(p[1] for p in pts) == 1000 and max(p[3] for p in pts) == 20000 and
          (len(pts) > 1 or pts[0][2] == sum(temps) // len(temps)), "temp:cpu0 1d: %r" % pts)
    # Each collector counts what it wrote: together, every reading once.
    def written():
        hh = [c.health().get("history", {}) for c in cols]
        return hh if sum(h.get("points_written", 0) for h in hh) == 80 else None
    hh = wait_for(written, 10, "points_written of both collectors to add up to 80")
    check(all(h["points_written"] > 0 and h["write_failures"] == 0 and h["db_bytes"] > 0
              for h in hh), "history in /v1/health: %r" % hh)
    for c in cols:
        c.stop()
    # Retention drops whole partitions: the upkeep five days on (raw keep 48 h, a day a
    # partition, a day of slack) drops every raw partition up to two days on, the buckets in
    # them with it, and makes the ones ahead; the 1 m tier (30 d) keeps its buckets.
    later, day = now + 5 * 86400000, 86400000

    def parts():
        return {r[0] for r in env.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'history_b0'::regclass")}
    check("history_b0_%d" % (now // day) in parts(), "no raw partition of today: %r" % parts())
    env.query("SELECT ward_history_partitions(0, %d, %d, %d)" % (day, 2 * day, later))
    left = parts()
    check(all(int(p.rsplit("_", 1)[1]) > now // day + 1 for p in left) and
          "history_b0_%d" % (later // day + 2) in left, "raw partitions after: %r" % left)
    counts = env.query("SELECT tier, count(*) FROM history_buckets GROUP BY tier ORDER BY tier")
    check([t for t, _ in counts] == [1, 2], "buckets by tier after the raw drop: %r" % counts)


def case_history_pg(env):
    """history_api against PostgreSQL, then history_shared on the same server (one start)."""
    case_history_api(env)
    for c in env.collectors:
        c.stop()
    case_history_shared(env, "dev-b")


if __name__ == "__main__":
    main({"history_api": case_history_api, "trends": case_trends,
          "history_shared": case_history_shared, "history": case_history_pg})
