#!/usr/bin/env python3
"""SQLite vs PostgreSQL storage of the collector on the same load (docs/benchmarks.md,
"Storage backends"). As root (it starts a PostgreSQL 15 server of its own, as the *_pg tests
do: tests/integration/collector/pgserver.py).

    tools/bench/storage_backends.py BUILD [AGENTS] [HOLD_S]

For each backend: heartbeats/s from tools/bench/loadgen.sh (AGENTS agents, closed loop,
HOLD_S seconds, no nginx); events/s from 8 devices each posting batches of 20 new events
over keep-alive as fast as acks come back (the kill9 test's load client) for HOLD_S seconds;
the mean group-commit duration from /metrics (ward_collector_commit_duration_seconds).
Prints one JSON line per backend. Everything it starts is stopped by PID (harness teardown).
"""
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import harness  # noqa: E402
import pgserver  # noqa: E402
from collector_test import Loader  # noqa: E402


def commit_mean_ms(env, col):
    ctx = ssl.create_default_context(cafile=env.ca())
    conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=10)
    token = open(env.token_file).read().strip()
    conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
    text = conn.getresponse().read().decode()
    conn.close()
    s = re.search(r"^ward_collector_commit_duration_seconds_sum (\S+)", text, re.M)
    n = re.search(r"^ward_collector_commit_duration_seconds_count (\S+)", text, re.M)
    return 1000 * float(s.group(1)) / max(1.0, float(n.group(1))), int(float(n.group(1)))


def events_run(env, hold):
    devices = ["ev-%d" % i for i in range(8)]
    env.make_pki(devices=devices)
    col = env.start()
    loaders = [Loader(env, [col], d) for d in devices]
    t0 = time.monotonic()
    for ld in loaders:
        ld.start()
    time.sleep(hold)
    acked = sum(ld.acked for ld in loaders)
    elapsed = time.monotonic() - t0
    mean_ms, commits = commit_mean_ms(env, col)
    for ld in loaders:
        ld.stop.set()
    for ld in loaders:
        ld.join(timeout=15)
    col.stop()
    return {"events_per_s": round(acked / elapsed), "commits": commits,
            "commit_mean_ms": round(mean_ms, 3), "errors": sum(ld.errors for ld in loaders)}


def heartbeats_run(build, agents, hold, collector_args, work):
    env = dict(os.environ, WARD_COLLECTOR_ARGS=collector_args, WORK=work)
    p = subprocess.run([os.path.join(HERE, "loadgen.sh"), build, str(agents), "0", "3",
                        str(hold), "--no-nginx"], capture_output=True, text=True, env=env,
                       timeout=600)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError("loadgen.sh failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    return json.loads(lines[-1])


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    agents = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    hold = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    why = pgserver.available()
    if why:
        print("storage_backends: %s" % why, file=sys.stderr)
        sys.exit(77)
    work = "/tmp/ward-bench-storage-backends"
    os.makedirs(work, exist_ok=True)
    try:
        for backend in ("sqlite", "postgresql"):
            os.environ["WARD_TEST_STORAGE"] = backend
            env = harness.Env(build, work, "ev-" + backend)
            ev = events_run(env, hold)
            harness._teardown()
            args = ""
            if backend == "postgresql":
                pg = pgserver.Server(env.dir)
                harness._SERVERS.append(pg)
                args = "--storage postgresql:postgresql://ward:%s@/ward?host=%s" % (
                    pgserver.PASSWORD, pg.sock)
            hb = heartbeats_run(build, agents, hold, args, os.path.join(work, "lg-" + backend))
            harness._teardown()
            print(json.dumps({"backend": backend, "events": ev, "heartbeats": hb}))
            sys.stdout.flush()
    finally:
        harness._teardown()


if __name__ == "__main__":
    main()
