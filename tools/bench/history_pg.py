#!/usr/bin/env python3
"""What a history flush costs per heartbeat, history.db vs PostgreSQL (docs/benchmarks.md,
"History in PostgreSQL: flush cost"). As root (it starts a PostgreSQL 15 server of its own, as
the *_pg tests do: tests/integration/collector/pgserver.py).

    tools/bench/history_pg.py BUILD [AGENTS] [ROUNDS] [HOLD_S] [SENSORS] [INTERVAL_MS]

The same collector under the same load (tools/bench/loadgen: AGENTS agents in closed loop,
each heartbeat carrying a snapshot page of SENSORS moving values), with its history in
history.db and in PostgreSQL (--storage postgresql:, a fresh database a run), in ROUNDS pairs
interleaved A B B A ... INTERVAL_MS above 0 (the default 100) is an open loop: every agent
sends a heartbeat every INTERVAL_MS whatever the answers, so both backends get the same rate
(PostgreSQL's store takes fewer heartbeats a second than SQLite's in closed loop, and a flush
per fewer heartbeats would look dearer per heartbeat); 0 is a closed loop. For each run, over the hold: heartbeats/s, the history writer thread's
CPU (wcol-history) per heartbeat, and on PostgreSQL the CPU of the server processes serving
the history's connections (application_name ward-collector-history) per heartbeat; their
sum is the flush cost. The ramp (7 s) holds the first flush, which adds every series (one
round trip each on PostgreSQL, once per series), so the hold measures steady flushes. A run must leave history points (raw tier) or the bench fails.
Prints one JSON line per run and a summary line. Everything started is stopped by PID.
"""
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import harness  # noqa: E402
import pgserver  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PORT = 18463


def cpu_s(pid, tid=None):
    path = "/proc/%d/stat" % pid if tid is None else "/proc/%d/task/%d/stat" % (pid, tid)
    try:
        f = open(path).read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(f[11]) + int(f[12])) / TICK


def writer_tid(pid):
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            if open("/proc/%d/task/%s/comm" % (pid, t)).read().strip() == "wcol-history":
                return int(t)
        except OSError:
            pass
    return None


def collector_of(lg):
    try:
        kids = open("/proc/%d/task/%d/children" % (lg, lg)).read().split()
    except OSError:
        return None
    for k in kids:
        try:
            if open("/proc/%s/comm" % k).read().strip() == "ward-collector":
                return int(k)
        except OSError:
            pass
    return None


def run(build, work, backend, pg, agents, hold, sensors, interval, ramp=7):
    state = os.path.join(work, "state-" + backend)
    shutil.rmtree(state, ignore_errors=True)
    args = []
    if backend == "postgresql":
        pg.psql_admin("DROP DATABASE IF EXISTS ward")
        pg.psql_admin("CREATE DATABASE ward OWNER ward")
        args = ["--storage", "postgresql:" + pg.conninfo()]
    lg = subprocess.Popen(
        [os.path.join(build, "tools", "bench", "loadgen"), "--pki", os.path.join(work, "pki"),
         "--certs", os.path.join(work, "certs"), "--agents", str(agents), "--port", str(PORT),
         "--ramp", str(ramp), "--hold", str(hold), "--sensors", str(sensors),
         "--interval-ms", str(interval), "--",
         os.path.join(build, "tools", "ward-collector"), "--pki", os.path.join(work, "pki"),
         "--state", state, "--listen", "127.0.0.1:%d" % PORT, "--api-listen", "127.0.0.1:0",
         "--log-level", "error"] + args, stdout=subprocess.PIPE, text=True)
    harness._PROCS.append(lg)
    col, tid, backends, samples = None, None, [], []
    end = time.monotonic() + 120 + ramp + hold
    while lg.poll() is None and time.monotonic() < end:
        col = col or collector_of(lg.pid)
        tid = tid or (writer_tid(col) if col else None)
        if tid and backend == "postgresql" and not backends:
            backends = [r[0] for r in pg.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = "
                "'ward-collector-history'")]
        w = cpu_s(col, tid) if tid else None
        if w is not None:
            samples.append((time.monotonic(), w, sum(cpu_s(p) or 0 for p in backends)))
        time.sleep(0.1)
    out = lg.communicate(timeout=60)[0]
    d = json.loads(out.strip().splitlines()[-1])
    if backend == "postgresql":
        points = pg.query("SELECT coalesce(sum(cnt), 0) FROM history_buckets WHERE tier = 0")
        points = int(points[0][0])
    else:
        db = sqlite3.connect(os.path.join(state, "history.db"))
        points = db.execute("SELECT coalesce(sum(cnt), 0) FROM buckets WHERE tier = 0").fetchone()[0]
        db.close()
    cpu = {}
    if samples:  # over the last HOLD_S seconds the collector ran: the hold
        t1, w1, b1 = samples[-1]
        t0, w0, b0 = min(samples, key=lambda x: abs(x[0] - (t1 - hold)))
        acks = max(d["hb_per_s"] * (t1 - t0), 1)
        cpu = {"writer_us_per_hb": round((w1 - w0) * 1e6 / acks, 1),
               "pg_us_per_hb": round((b1 - b0) * 1e6 / acks, 1),
               "window_s": round(t1 - t0, 1)}
        cpu["flush_us_per_hb"] = round(cpu["writer_us_per_hb"] + cpu["pg_us_per_hb"], 1)
    return d, points, cpu


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    agents, rounds, hold, sensors, interval = [
        int(sys.argv[i]) if len(sys.argv) > i else dflt
        for i, dflt in ((2, 50), (3, 3), (4, 6), (5, 8), (6, 100))]
    why = pgserver.available()
    if why:
        print("history_pg: %s" % why, file=sys.stderr)
        sys.exit(77)
    work = "/tmp/ward-bench-history-pg"
    os.makedirs(work, exist_ok=True)
    pki = os.path.join(work, "pki")
    if not os.path.exists(os.path.join(pki, "ca.crt")):
        for a in ("init", "collector"):
            subprocess.run([os.path.join(ROOT, "tools", "pki", "ward-pki"), "--dir", pki, a],
                           check=True, capture_output=True)
    subprocess.run([sys.executable, os.path.join(HERE, "mkcerts.py"), pki,
                    os.path.join(work, "certs"), str(agents)], check=True, capture_output=True)
    print("# %s %d cpus, load %s; %d agents, %d values a heartbeat, %d pairs of %d s, "
          "interval %d ms" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.cpu_count(),
                               " ".join(open("/proc/loadavg").read().split()[:3]), agents,
                               sensors, rounds, hold, interval))
    env = harness.Env(build, work, "pg")
    pg = pgserver.Server(env.dir)
    harness._SERVERS.append(pg)
    res = {"sqlite": [], "postgresql": []}
    bad = []
    try:
        for r in range(rounds):
            order = ("sqlite", "postgresql") if r % 2 == 0 else ("postgresql", "sqlite")
            for b in order:
                d, points, cpu = run(build, work, b, pg, agents, hold, sensors, interval)
                line = {"round": r + 1, "backend": b, "hb_per_s": d["hb_per_s"],
                        "p99_ms": d["p99_ms"], "history_points": points}
                line.update(cpu)
                res[b].append(line)
                print(json.dumps(line))
                sys.stdout.flush()
                if points == 0 or d["failed"] != 0:
                    bad.append("round %d %s: %d points, %d failed" % (r + 1, b, points,
                                                                     d["failed"]))
    finally:
        harness._teardown()
    keys = ("hb_per_s", "p99_ms", "writer_us_per_hb", "pg_us_per_hb", "flush_us_per_hb")
    summary = {b: {k: round(statistics.fmean(x.get(k, 0) for x in v), 1) for k in keys}
               for b, v in res.items() if v}
    print(json.dumps({"history_pg": "ok" if not bad else "failed", "means": summary}))
    for b in bad:
        print("history_pg: " + b, file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
