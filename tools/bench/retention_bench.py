#!/usr/bin/python3
"""Retention slices and acks while a backlog is deleted (issue 10; docs/benchmarks.md).

    retention_bench.py BUILD WORK [ROWS [CHECK_INTERVAL_MS]]

A store with ROWS (default 200000) events received a day ago, a collector with --retention 1h
(--check-interval CHECK_INTERVAL_MS, default 1000), one device posting one-event batches back
to back over one keep-alive TLS connection until every old event is deleted (at most 300 s).
Prints the drain time and the acks' latency meanwhile; with a build that has time-bounded
slices, their count and duration histogram (/metrics). Before the collector starts, the same
slices the fixed-size code ran (5000 rows, one transaction each) are timed on a copy of the
store with Python's sqlite3 (the same statement), for comparison on the same machine.
"""
import os
import shutil
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "collector"))

import backup_test as B  # noqa: E402
import bounded_test as T  # noqa: E402
import harness as H  # noqa: E402


def fixed_slices(db, rows=5000, most=20):
    """Durations (ms) of up to `most` 5000-row slices, as the fixed-size code ran them."""
    copy = db + ".bench"
    shutil.copy(db, copy)
    con = sqlite3.connect(copy, timeout=10, isolation_level=None)
    cutoff = int(time.time() * 1000) - 3600000
    out = []
    for _ in range(most):
        t0 = time.monotonic()
        con.execute("BEGIN IMMEDIATE")
        n = con.execute("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id "
                        "LIMIT ?) AND received_ms < ?", (rows, cutoff)).rowcount
        con.execute("COMMIT")
        out.append((time.monotonic() - t0) * 1000)
        if n == 0:
            break
    con.close()
    os.unlink(copy)
    return out


def hist(text):
    rows = [x for x in text.splitlines() if x.startswith("ward_collector_retention_slice_seconds")]
    return " ".join(x.split("{")[-1].replace("}", "=").replace(" ", "") if "{" in x else
                    x.rsplit("_", 1)[-1].replace(" ", "=") for x in rows)


def run(env, rows, check_ms):
    env.make_pki()
    T.old_events(env, rows)
    sl = sorted(fixed_slices(env.db()))
    print("fixed 5000-row slices on a copy (Python sqlite3): n=%d p50=%.1f ms max=%.1f ms"
          % (len(sl), sl[len(sl) // 2], sl[-1]))
    c = env.start("--retention", "1h", "--check-interval", str(check_ms))
    t0 = time.monotonic()

    def left():
        return env.query("SELECT count(*) FROM events WHERE device = 'old'")[0][0]

    lat = B.measure(env, c, 1.0, until=lambda: left() == 0, longest=300)
    took = time.monotonic() - t0
    print("rows %d, check-interval %d ms: drained in %.1f s (%d left); acks n=%d p50=%.1f ms "
          "p99=%.1f ms max=%.1f ms" % (rows, check_ms, took, left(), len(lat), B.pct(lat, .5),
                                       B.pct(lat, .99), max(lat) * 1000))
    h = c.health().get("retention")
    if h is not None:
        print("slices %d, last bound %d rows, longest %.1f ms, over target %d; histogram: %s"
              % (h["slices"], h["slice_rows"], h["max_slice_us"] / 1000, h["slices_over_target"],
                 hist(B.fetch_metrics(env, c))))
    c.stop()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    env = H.Env(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), "retention_bench")
    try:
        run(env, int(sys.argv[3]) if len(sys.argv) > 3 else 200000,
            int(sys.argv[4]) if len(sys.argv) > 4 else 1000)
    finally:
        H._teardown()
