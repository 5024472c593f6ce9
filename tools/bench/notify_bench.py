#!/usr/bin/env python3
"""Notifications per second from the collector's outbox to local receivers (docs/benchmarks.md,
"Notifications per second").

    notify_bench.py BUILD_DIR WORK_DIR [INCIDENTS [plain]]

Starts a collector (BUILD_DIR/tools/ward-collector) on 127.0.0.1 with two routed webhooks:
one plain on loopback (insecure-http) and one over https (a Python ssl server with a
ward-pki certificate, verified against the PKI's CA). One device posts INCIDENTS events
(default 2000), each opening an incident on a sensor of its own, in batches of 100; the
script measures from the first post until each receiver has accepted every firing
notification (both receivers answer at once, checking the HMAC; with "plain" only the
plain one is routed), and prints one JSON line:
incidents opened per second and notifications per second per receiver. Loopback only;
bounded in time (120 s); tears down what it started.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "collector"))

import harness as H  # noqa: E402
from incidents_test import Receiver, alerting  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4, 5):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) >= 4 else 2000
    only_plain = len(sys.argv) == 5 and sys.argv[4] == "plain"
    env = H.Env(build, work, "notify-bench")
    env.make_pki(devices=["bench-dev"])
    plain = Receiver()
    tls = Receiver(tls=(os.path.join(env.pki, "collector.crt"),
                        os.path.join(env.pki, "collector.key")))
    try:
        conf = alerting(env, "receiver plain webhook http://127.0.0.1:%d/h secret-file SECRET "
                        "insecure-http\nreceiver tls webhook https://localhost:%d/h secret-file "
                        "SECRET ca-file %s\nroute plain\n%s"
                        % (plain.port, tls.port, env.ca(), "" if only_plain else "route tls\n"))
        c = env.start("--alerting", conf)
        t0 = time.monotonic()
        seq = 0
        for b in range(0, n, 100):
            evs = []
            for i in range(b, min(n, b + 100)):
                seq += 1
                evs.append(H.event(H.BOOT_A, seq, sensor="temp:bench%d" % i))
            H.post_ok(env, c, "bench-dev", H.batch("bench-dev", hb_seq=1 + b // 100,
                                                   events=evs))
        t_posted = time.monotonic() - t0
        done = {}
        deadline = time.monotonic() + 120
        want = (("plain", plain),) if only_plain else (("plain", plain), ("https", tls))
        while len(done) < len(want) and time.monotonic() < deadline:
            for name, r in want:
                if name not in done and len(r.accepted) >= n:
                    done[name] = time.monotonic() - t0
            time.sleep(0.05)
        out = {"incidents": n, "posted_s": round(t_posted, 2),
               "bad_signatures": plain.bad_signatures + tls.bad_signatures}
        for name, _ in want:
            if name in done:
                out[name + "_s"] = round(done[name], 2)
                out[name + "_per_s"] = round(n / done[name], 1)
            else:
                out[name + "_missing"] = n - len((plain if name == "plain" else tls).accepted)
        print(json.dumps(out))
        c.stop()
    finally:
        plain.close()
        tls.close()
        H._teardown()


if __name__ == "__main__":
    main()
