#!/usr/bin/env python3
"""One vs three collectors on one PostgreSQL behind haproxy (docs/benchmarks.md, "Several
collectors on PostgreSQL"). As root: it starts a PostgreSQL 15 server of its own (as the *_pg
tests do: tests/integration/collector/pgserver.py), the collectors and haproxy.

    tools/bench/cluster_bench.py BUILD [AGENTS] [HOLD_S]

For 1 and then 3 collectors (a fresh database each time), tools/bench/loadgen runs AGENTS
agents (default 200), closed loop, HOLD_S seconds (default 10) against haproxy (mode tcp, the
load generator's SERVER-COMMAND, so TLS still ends at a collector). Over the whole run it
reads the collectors' /metrics (requests, commit durations), the CPU time of the collectors
and of every PostgreSQL process (/proc), and the WAL written (pg_current_wal_lsn), and prints
one JSON line per configuration: hb/s and p99 (loadgen's hold window), CPU us per request of
the collectors and of PostgreSQL, mean commit ms, WAL bytes per request, and the bytes per
row of the devices table. Everything is stopped by PID (the harness teardown).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "collector"))

import harness  # noqa: E402
import pgserver  # noqa: E402
from cluster_test import Device  # noqa: E402
from metrics_test import free_port, get_metrics  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def pg_pids(pg):
    """The postmaster and its children (backends, WAL writer, checkpointer...)."""
    top = pg.pid()
    pids = [top]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == top:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def scrape(env, cols):
    req = com_n = com_s = 0.0
    for c in cols:
        text = get_metrics(env, c)[2]
        req += float(re.search(r"^ward_collector_ingest_requests_total (\S+)", text, re.M)[1])
        com_s += float(re.search(r"^ward_collector_commit_duration_seconds_sum (\S+)", text,
                                 re.M)[1])
        com_n += float(re.search(r"^ward_collector_commit_duration_seconds_count (\S+)", text,
                                 re.M)[1])
    return req, com_n, com_s


def wal_bytes(pg):
    return int(pg.psql_admin("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").strip())


def events_phase(env, pg, col, certs, hold):
    """8 devices (the load generator's first certificates) posting 20 new events a request
    over keep-alive as fast as acks come back, straight to one collector: events/s, and what
    an event costs the database on disk and in WAL."""
    import threading
    devs = [Device("lg-%05d" % i, certs, env.ca()) for i in range(8)]
    stop = threading.Event()

    def run(d):
        while not stop.is_set():
            d.step(col.device_port, per=20)

    wal0 = wal_bytes(pg)
    threads = [threading.Thread(target=run, args=(d,), daemon=True) for d in devs]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(hold)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - t0
    for d in devs:
        d.close()
    n = pg.query("SELECT count(*) FROM events")[0][0]
    disk = pg.query("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits AS i JOIN "
                    "pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass")
    keys = pg.query("SELECT pg_total_relation_size('event_keys')")[0][0]
    row = pg.query("SELECT avg(pg_column_size(e.*))::int FROM events AS e")[0][0]
    return {"events_per_s": round(sum(d.acked for d in devs) / elapsed), "events": n,
            "event_row_bytes": row, "event_disk_bytes": round((disk[0][0] + keys) / max(1, n)),
            "event_wal_bytes": round((wal_bytes(pg) - wal0) / max(1, n))}


def one_run(build, n, agents, hold, work):
    env = harness.Env(build, work, "cb%d" % n)
    pg = pgserver.Server(env.dir)
    harness._SERVERS.append(pg)
    env.run_pki("init")
    env.run_pki("collector")
    env.run_pki("token", "ops")
    env.token_file = os.path.join(env.pki, "tokens", "ops.token")
    certs = os.path.join(env.dir, "certs")
    subprocess.run([sys.executable, os.path.join(HERE, "mkcerts.py"), env.pki, certs,
                    str(agents)], check=True, capture_output=True, timeout=600)
    ports = [free_port() for _ in range(n)]
    cols = [env.start("--listen", "127.0.0.1:%d" % p, "--storage",
                      "postgresql:" + pg.conninfo(), "--log-level", "error",
                      state=os.path.join(env.dir, "state%d" % i)) for i, p in enumerate(ports)]
    hport = free_port()
    cfg = os.path.join(env.dir, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("global\n    maxconn 5000\ndefaults\n    mode tcp\n    timeout connect 1s\n"
                "    timeout client 60s\n    timeout server 60s\nfrontend d\n"
                "    bind 127.0.0.1:%d\n    default_backend c\nbackend c\n"
                "    balance roundrobin\n" % hport)
        for i, p in enumerate(ports):
            f.write("    server c%d 127.0.0.1:%d\n" % (i, p))
    req0, cn0, cs0 = scrape(env, cols)
    pgp = pg_pids(pg)
    cpu_c0 = sum(cpu_s(c.pid) for c in cols)
    cpu_p0 = sum(cpu_s(p) for p in pgp)
    wal0 = wal_bytes(pg)
    load = open("/proc/loadavg").read().split()[:3]
    p = subprocess.run([os.path.join(build, "tools", "bench", "loadgen"), "--pki", env.pki,
                        "--certs", certs, "--agents", str(agents), "--port", str(hport),
                        "--ramp", "3", "--hold", str(hold), "--interval-ms", "0", "--",
                        shutil.which("haproxy"), "-db", "-f", cfg],
                       capture_output=True, text=True, timeout=900)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError("loadgen failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
    lg = json.loads(lines[-1])
    req1, cn1, cs1 = scrape(env, cols)
    pgp = set(pgp) | set(pg_pids(pg))
    cpu_c = sum(cpu_s(c.pid) for c in cols) - cpu_c0
    cpu_p = sum(cpu_s(p) for p in pgp) - cpu_p0  # backends that ended are not counted
    wal = wal_bytes(pg) - wal0
    req = max(1.0, req1 - req0)
    row = pg.query("SELECT avg(pg_column_size(d.*))::int FROM devices AS d")[0][0]
    out = {"collectors": n, "agents": agents, "load_before": load, "hb_per_s": lg["hb_per_s"],
           "p50_ms": lg["p50_ms"], "p99_ms": lg["p99_ms"], "non2xx": lg["non2xx"],
           "failed": lg["failed"], "haproxy_cpu_us_per_hb": lg["server_cpu_us_per_hb"],
           "requests": int(req), "collector_cpu_us_per_req": round(cpu_c * 1e6 / req, 1),
           "postgres_cpu_us_per_req": round(cpu_p * 1e6 / req, 1),
           "commits": int(cn1 - cn0),
           "commit_mean_ms": round(1000 * (cs1 - cs0) / max(1.0, cn1 - cn0), 2),
           "requests_per_commit": round(req / max(1.0, cn1 - cn0), 1),
           "wal_bytes_per_req": round(wal / req), "device_row_bytes": row}
    if n == 1:
        out["events"] = events_phase(env, pg, cols[0], certs, hold)
    for c in cols:
        c.stop()
    harness._teardown()
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    agents = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    hold = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    why = pgserver.available() or (None if shutil.which("haproxy") else "haproxy missing")
    if why:
        print("cluster_bench: %s" % why, file=sys.stderr)
        sys.exit(77)
    work = "/tmp/ward-bench-cluster"
    os.makedirs(work, exist_ok=True)
    try:
        for n in (1, 3):
            print(json.dumps(one_run(build, n, agents, hold, work)))
            sys.stdout.flush()
            time.sleep(1)
    finally:
        harness._teardown()


if __name__ == "__main__":
    main()
