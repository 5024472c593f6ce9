#!/usr/bin/env python3
"""Incidents from agents playing the shipped sim scenarios (boards/sim/scenarios) through their
real health engine and reporting path, against the host board's collector.

    incidents_sim_test.py BUILD_DIR WORK_DIR SIM_AGENT

Four sim agents (failing-fan, dying-disk, overheating, flapping-link) report to one collector
on 127.0.0.1; the test waits (bounded, the stories play in real time) for the incidents each
story opens within its first ~60 s with the agent's default rules and intervals: the failed
FAN3 high, the overheating CPUs at least medium (one incident per sensor, events joined),
sdb's drivetemp sensor unavailable (medium), error bursts on eno2 and nothing on the healthy
eno1, and (with a rule naming the carrier) eno2's link drops as one flapping incident that
resolves after the hold-down once the story's flapping ends. The dying-disk agent samples its
disks every second (a rules file with "intervals_ms": {"disk": 1000}; the default is 5 min):
the SMART verdicts of nvme1 (spare below threshold, ~30 s) and sdb (Reallocated_Sector_Ct at
its threshold, ~52 s) go failing, which is state failed, a high incident each, one per
disk:<model>_<serial>:smart component with every event of that sensor joined on it, and none
for the healthy sda and nvme0. Exit 77 (skipped) when the sim board's ward-agent is not built
(cmake -B build/sim -DBOARD=sim)."""
import json
import os
import sys
import time

import harness as H
from harness import Fail, check, wait_for

STORIES = ["failing-fan", "dying-disk", "overheating", "flapping-link"]


def main():
    build, work, agent = sys.argv[1:4]
    if not os.access(agent, os.X_OK):
        print("SKIP sim: %s is not built" % agent)
        sys.exit(77)
    env = H.Env(os.path.abspath(build), os.path.abspath(work), "sim")
    t0 = time.monotonic()
    try:
        env.make_pki(devices=STORIES)
        conf = os.path.join(env.dir, "alerting.conf")
        with open(conf, "w") as f:
            f.write("hold-down 5s\nflapping 4 60s\n")  # > the 4.5 s the link stays up
        c = env.start("--alerting", conf)
        t_agents = time.monotonic()
        for s in STORIES:
            extra = []
            if s == "flapping-link":
                # The carrier is a sensor once a rule names it: each 1.5 s drop is critical.
                rules = os.path.join(env.dir, "carrier-rules.json")
                with open(rules, "w") as f:
                    json.dump({"version": 1, "rules": [{"sensor": "nic:*:carrier",
                                                        "lower_critical": 1}],
                               "intervals_ms": {"nic": 500}}, f)
                extra = ["--rules", rules]
            elif s == "dying-disk":
                # SMART is read every second (default 5 min), so the verdicts move within the
                # run; the board's default rule for disk:*:smart applies (failing = failed).
                rules = os.path.join(env.dir, "disk-rules.json")
                with open(rules, "w") as f:
                    json.dump({"version": 1, "rules": [], "intervals_ms": {"disk": 1000}}, f)
                extra = ["--rules", rules]
            H.start_sim_agent(env, c, agent, s, 150, extra)

        def inc(device, pred):
            xs = env.wardctl_json(c, "incidents", "--device", device)["incidents"]
            return [x for x in xs if pred(x)]

        sev = {"low": 1, "medium": 2, "high": 3}
        wait_for(lambda: inc("failing-fan", lambda x: "fan" in x["component"]
                             and x["severity"] == "high"), 100, "a high fan incident", step=1)
        wait_for(lambda: inc("overheating", lambda x: "package_id" in x["component"]
                             and sev[x["severity"]] >= 2), 100, "an overheating CPU package",
                 step=1)
        wait_for(lambda: inc("flapping-link", lambda x: "eno2" in x["component"]), 100,
                 "eno2's error bursts", step=1)
        wait_for(lambda: inc("dying-disk", lambda x: "drivetemp" in x["component"]
                             and sev[x["severity"]] >= 2), 100, "sdb's drivetemp unavailable",
                 step=1)
        # The SMART verdicts: failing is state failed, which is high (docs/incidents.md). One
        # incident per disk:<model>_<serial>:smart (sdb is WKD3A7C9, nvme1 S64HNE0T502744),
        # and every event the collector stored for that sensor is counted on it (joined; the
        # story moves each verdict once, passed -> failing, so that is one event today).
        def smart_of(serial):
            return lambda x: x["component"].startswith("disk:") and x["component"].endswith(
                "_%s:smart" % serial)

        for serial in ("S64HNE0T502744", "WKD3A7C9"):
            wait_for(lambda: inc("dying-disk", lambda x: smart_of(serial)(x)
                                 and x["severity"] == "high"), 30,
                     "%s's SMART verdict failing (high)" % serial, step=1)
            smart = inc("dying-disk", smart_of(serial))
            check(len(smart) == 1 and smart[0]["state"] in ("open", "acknowledged", "reopened"),
                  "%s: %s" % (serial, smart))
            rep = json.loads(env.wardctl(c, "report", str(smart[0]["id"]), "--format",
                                         "json").stdout)
            check(any(r["to"] == "failed" for r in rep["readings"])
                  and smart[0]["events"] == len(rep["readings"]),
                  "%s: %d events joined, readings %s" % (serial, smart[0]["events"],
                                                         rep["readings"]))
            print("sim: %s: incident %s %s, %d event(s) joined: %s" % (
                serial, smart[0]["id"], smart[0]["severity"], smart[0]["events"],
                ["%s->%s" % (r["from"], r["to"]) for r in rep["readings"]]))
        check(not inc("dying-disk", lambda x: smart_of("WKD3A1B2")(x)
                      or smart_of("S64HNE0T502731")(x)), "an incident on a healthy disk's verdict")
        hot = inc("overheating", lambda x: True)
        check(len({x["component"] for x in hot}) == len(hot) and
              any(x["events"] >= 2 for x in hot), "one incident per sensor, events joined: %s"
              % [(x["component"], x["events"]) for x in hot])
        check(not inc("flapping-link", lambda x: "eno1" in x["component"]),
              "an incident on the healthy eno1")
        fan = inc("failing-fan", lambda x: "fan" in x["component"])
        check(len({x["component"] for x in fan}) == len(fan),
              "two live incidents for one fan: %s" % fan)
        full = env.wardctl_json(c, "incident", str(fan[0]["id"]))
        check(len(full["timeline"]) >= 2 or full["events"] >= 1, str(full))
        # eno2's link drops every 6 s from 15 s to 75 s: one incident, flagged flapping (with
        # one flapping notification's worth of timeline), resolved after the hold-down once
        # the link stays up.
        wait_for(lambda: inc("flapping-link", lambda x: x["component"] == "nic:eno2:carrier"
                             and x["flapping"]), 60, "eno2's carrier flapping", step=1)
        flap = inc("flapping-link", lambda x: x["component"] == "nic:eno2:carrier")
        check(len(flap) == 1 and flap[0]["severity"] == "medium", "carrier: %s" % flap)
        check(flap[0]["state"] != "resolved", "resolved while the link still flaps: %s" % flap)
        wait_for(lambda: inc("flapping-link", lambda x: x["component"] == "nic:eno2:carrier"
                             and x["state"] == "resolved"), 60,
                 "eno2's carrier incident resolved after the story", step=1)
        check(time.monotonic() - t_agents > 75, "resolved before the flapping ended")
        c.stop()
    except Fail as e:
        print("FAIL sim: %s" % e)
        for col in env.collectors:
            print("\n".join(col.log_text().splitlines()[-30:]))
        sys.exit(1)
    finally:
        H._teardown()
    print("PASS sim (%.1fs)" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
