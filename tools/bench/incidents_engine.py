#!/usr/bin/env python3
"""How fast the incident engine evaluates a burst of events (docs/benchmarks.md, issue 17,
i17-incpg). As root for PostgreSQL (it starts a server of its own, as the *_pg tests do).

    tools/bench/incidents_engine.py BUILD [HOLD_S] [sqlite|postgresql]

The load of tools/bench/storage_backends.py's events run: 8 devices each posting batches of 20
new events (temp:cpu0 ok -> caution: one incident per device, then one event each on it) as fast
as acks come back, for HOLD_S seconds (default 8). Then the load stops and the engine's cursor
(incident_cursor) is read once a second against max(id) of events until it catches up (at most
90 s). Prints one JSON line: events stored, how far the cursor was behind when the load
stopped, the seconds to catch up, and the engine's events/s over the whole run and over the
catch-up. Everything it starts is stopped by PID (harness teardown).
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import harness  # noqa: E402
import pgserver  # noqa: E402
from collector_test import Loader  # noqa: E402
from incidents_test import iquery  # noqa: E402

CATCH_UP_S = 90


def positions(env):
    cur = iquery(env, "SELECT value FROM incident_cursor WHERE name = 'events'")[0][0]
    top = env.query("SELECT coalesce(max(id), 0) FROM events")[0][0]
    return int(cur), int(top)


def run(env, hold):
    devices = ["ev-%d" % i for i in range(8)]
    env.make_pki(devices=devices)
    col = env.start()
    cur0 = None
    for _ in range(100):  # the engine's cursor row is made at start-up
        try:
            cur0, _ = positions(env)
            break
        except (IndexError, RuntimeError, harness.sqlite3.Error):
            time.sleep(0.1)
    loaders = [Loader(env, [col], d) for d in devices]
    t0 = time.monotonic()
    for ld in loaders:
        ld.start()
    time.sleep(hold)
    for ld in loaders:
        ld.stop.set()
    for ld in loaders:
        ld.join(timeout=15)
    t_stop = time.monotonic()
    cur_stop, top = positions(env)
    cur = cur_stop
    while cur < top and time.monotonic() - t_stop < CATCH_UP_S:
        time.sleep(1)
        cur, top = positions(env)
    t_end = time.monotonic()
    incidents = iquery(env, "SELECT count(*), coalesce(sum(events), 0) FROM incidents")[0]
    col.stop()
    evaluated = cur - cur0
    return {"stored": top - cur0, "behind_at_stop": top - cur_stop,
            "caught_up": cur >= top, "catch_up_s": round(t_end - t_stop, 1),
            "engine_events_per_s": round(evaluated / (t_end - t0)),
            "catch_up_events_per_s": round((cur - cur_stop) / max(0.001, t_end - t_stop)),
            "incidents": int(incidents[0]), "incident_events": int(incidents[1]),
            "load": os.getloadavg()[0]}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    hold = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    backend = sys.argv[3] if len(sys.argv) > 3 else "postgresql"
    if backend == "postgresql":
        why = pgserver.available()
        if why:
            print("incidents_engine: %s" % why, file=sys.stderr)
            sys.exit(77)
    os.environ["WARD_TEST_STORAGE"] = backend
    work = "/tmp/ward-bench-incidents-engine"
    os.makedirs(work, exist_ok=True)
    try:
        env = harness.Env(build, work, "inc-" + backend)
        print(json.dumps(dict(backend=backend, load_start=os.getloadavg()[0], **run(env, hold))))
    finally:
        harness._teardown()


if __name__ == "__main__":
    main()
