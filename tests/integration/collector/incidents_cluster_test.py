#!/usr/bin/env python3
"""Incidents on two collectors sharing one PostgreSQL (docs/incidents.md, "Several collectors").

failover  two collectors on one database (no haproxy). A device reports to the follower; the
          leader's engine opens the incident from the shared events and notifies a webhook
          receiver; an operator acknowledges it on the follower. kill -9 the leader: the other
          collector takes the lock and continues where the engine stopped: it resolves the
          incident after the recovery event and opens a new one for a new event, each once.
          wardctl lists the same incidents from both collectors (the old leader restarted), no
          problem has two incidents, and the same acknowledgement sent to both collectors at
          once is applied once (the other answers 409).

Needs root and the PostgreSQL 15 server binaries; skips (77) without them.
Usage: incidents_cluster_test.py BUILD_DIR WORK_DIR failover
"""
import os
import threading
import time

import harness as H
from harness import check, wait_for
from incidents_test import Dev, Receiver, alerting, incidents, sensor, wait_incident
from metrics_test import get_metrics

POLICY = """hold-down 1s
retry-max 1s
timeout 1s
receiver hook webhook http://127.0.0.1:{port}/hook secret-file SECRET insecure-http
route hook
"""


def role(c):
    return c.health().get("cluster", {}).get("role")


def engine_active(c):
    text = get_metrics(c.env, c)[2]
    for line in text.splitlines():
        if line.startswith("ward_incidents_engine_active "):
            return int(line.split()[1])
    return None


def listed(env, c):
    """The incidents as wardctl lists them, without what moves with time."""
    return [{k: v for k, v in x.items() if k != "healthy_since_ms"} for x in incidents(env, c)]


def case_failover(env):
    r = Receiver()
    env.make_pki(devices=("dev-a",))
    conf = alerting(env, POLICY.format(port=r.port))

    def start(i):
        state = os.path.join(env.dir, "state%d" % i)
        os.makedirs(state, mode=0o700, exist_ok=True)
        return env.start("--alerting", conf, "--check-interval", "100", state=state)

    a = start(0)
    wait_for(lambda: role(a) == "leader", 20, "the first collector to lead")
    b = start(1)
    wait_for(lambda: role(b) == "follower", 20, "the second collector to follow")
    wait_for(lambda: engine_active(a) == 1 and engine_active(b) == 0, 10,
             "the engine active on the leader only (ward_incidents_engine_active)")

    # The device reports to the follower; the leader's engine reads the shared events.
    dev = Dev(env, b, "dev-a")
    dev.send([("temp:cpu0", "ok", "critical", "medium")],
             [sensor("temp:cpu0", "critical", 1000, "medium")])
    x = wait_incident(env, b, "dev-a", "temp:cpu0", lambda x: x["state"] == "open",
                      "the incident, listed by the follower", timeout=20)
    iid = str(x["id"])
    wait_for(lambda: any(d["kind"] == "firing" and d["incident"]["id"] == x["id"]
                         for docs in r.accepted.values() for d in docs), 15,
             "the firing notification from the leader")
    env.wardctl(b, "ack", iid)  # an operator change on the follower
    check(env.wardctl_json(a, "incident", iid)["state"] == "acknowledged",
          "the leader does not see the follower's acknowledgement")

    # kill -9 the leader: the follower takes the lock and the engine's cursor.
    a.kill9()
    t0 = time.monotonic()
    wait_for(lambda: role(b) == "leader", 20, "the follower to take over")
    wait_for(lambda: engine_active(b) == 1, 10, "the engine active on the new leader")
    print("failover: the second collector leads %.1f s after kill -9" % (time.monotonic() - t0))
    dev.send([("temp:cpu0", "critical", "ok", "low"), ("fan:1", "ok", "failed", "high")],
             [sensor("temp:cpu0", "ok", 5000), sensor("fan:1", "failed", 5000, "high")])
    wait_incident(env, b, "dev-a", "temp:cpu0", lambda x: x["state"] == "resolved",
                  "the new leader to resolve the incident", timeout=20)
    wait_incident(env, b, "dev-a", "fan:1", lambda x: x["state"] == "open",
                  "the new leader to open an incident for the new event", timeout=20)

    # The old leader comes back as a follower: both list the same incidents.
    a = start(0)
    wait_for(lambda: role(a) == "follower", 20, "the restarted collector to follow")
    wait_for(lambda: listed(env, a) == listed(env, b), 15, "the same list from both collectors")
    # The resolved notification is delivered by the leader a moment after the incident
    # resolves: compare once every notification of the incident has been delivered, so the
    # two reads do not straddle a delivery.
    def shown(c):
        return {k: v for k, v in env.wardctl_json(c, "incident", iid).items()
                if k != "healthy_since_ms"}

    wait_for(lambda: all(n["state"] == "delivered" for n in shown(b)["notifications"]), 20,
             "every notification of incident %s delivered" % iid)
    show = [shown(c) for c in (a, b)]
    check(show[0] == show[1], "wardctl incident %s differs: %r" % (iid, show))

    # The same acknowledgement from both collectors at once: exactly one of them applies it.
    fan = str([x for x in incidents(env, b) if x["component"] == "fan:1"][0]["id"])
    res = [None, None]

    def ack(i, c):
        res[i] = env.wardctl(c, "ack", fan, check_rc=False)
    ts = [threading.Thread(target=ack, args=(i, c)) for i, c in enumerate((a, b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    codes = sorted(p.returncode for p in res)
    check(codes == [0, 1] and any("409" in p.stderr for p in res),
          "two concurrent acks: %r" % [(p.returncode, p.stderr.strip()) for p in res])
    acks = env.query("SELECT count(*) FROM incident_timeline WHERE incident = %s AND what = "
                     "'ack'" % fan)
    check(acks == [(1,)], "one ack in the timeline: %r" % acks)
    rows = env.query("SELECT device, component, count(*) FROM incidents GROUP BY device, "
                     "component ORDER BY component")
    check(rows == [("dev-a", "fan:1", 1), ("dev-a", "temp:cpu0", 1)],
          "one incident per problem: %r" % rows)
    ev = env.query("SELECT event_id, count(*) FROM incident_timeline WHERE event_id IS NOT NULL "
                   "GROUP BY event_id HAVING count(*) > 1")
    check(ev == [], "an event judged twice: %r" % ev)
    n = env.query("SELECT count(*) FROM incident_timeline WHERE event_id IS NOT NULL")
    check(n == [(3,)], "three events judged once each: %r" % n)
    wait_for(lambda: any(d["kind"] == "resolved" and d["incident"]["id"] == x["id"]
                         for docs in r.accepted.values() for d in docs), 15,
             "the resolved notification from the new leader")
    a.stop()
    b.stop()
    r.close()


if __name__ == "__main__":
    H.main({"failover": case_failover})
