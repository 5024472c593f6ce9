#!/usr/bin/env python3
"""Events beside the load generator, so the incident engine works during a load benchmark
(docs/benchmarks.md, "Incident evaluation under load").

    event_inject.py WORK PORT DEVICES RATE SECONDS

Uses the load generator's certificates (WORK/certs/lg-NNNNN, WORK/pki/ca.crt): for each of
DEVICES devices (a boot of its own, so its sequence numbers never collide with the load
generator's), sends batches whose events flip a sensor between ok and caution/critical, about
RATE events per second in total, for SECONDS. Each flip opens, joins or heals an incident.
Prints what it sent as one JSON line. Bounded in time; loopback only.
"""
import http.client
import json
import os
import ssl
import sys
import time

BOOT = "babe0000babe0000babe0000babe0000"


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    work, port, ndev, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        float(sys.argv[4]), float(sys.argv[5])
    conns, seq, state = [], [0] * ndev, [False] * ndev
    for i in range(ndev):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(work, "pki", "ca.crt"))
        base = os.path.join(work, "certs", "lg-%05d" % i)
        ctx.load_cert_chain(base + ".crt", base + ".key")
        conns.append(http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10))
    sent = refused = 0
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < secs:
        i = k % ndev
        k += 1
        dev = "lg-%05d" % i
        seq[i] += 1
        bad = not state[i]
        state[i] = bad
        sev = "medium" if (seq[i] // 2) % 3 == 2 else "low"
        to = ("critical" if sev == "medium" else "caution") if bad else "ok"
        ev = {"boot": BOOT, "seq": seq[i], "t_ms": 10 * seq[i], "sensor": "temp:inj",
              "from": "ok" if bad else "caution", "to": to, "severity": sev, "value": 1,
              "count": 1}
        hb = {"v": 1, "type": "heartbeat", "device": dev, "boot": BOOT, "seq": seq[i],
              "t_ms": 10 * seq[i], "uptime_ms": 10 * seq[i], "firmware": "0.1.0",
              "board": "linux-x86_64", "arch": "x86_64",
              "health": {"state": "ok", "severity": "none", "sensors": 1, "not_ok": 0},
              "events": {"pending": 0, "last_seq": seq[i], "dropped": 0}}
        doc = {"v": 1, "type": "batch", "device": dev, "boot": BOOT, "heartbeat": hb,
               "events": [ev]}
        conns[i].request("POST", "/v1/ingest", body=json.dumps(doc),
                         headers={"Content-Type": "application/json"})
        r = conns[i].getresponse()
        r.read()
        sent += r.status == 200
        refused += r.status != 200
        target = t0 + k / rate
        if target > time.monotonic():
            time.sleep(target - time.monotonic())
    for c in conns:
        c.close()
    print(json.dumps({"events_sent": sent, "refused": refused,
                      "seconds": round(time.monotonic() - t0, 1)}))


if __name__ == "__main__":
    main()
