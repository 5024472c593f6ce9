#!/usr/bin/env python3
"""Drills (issue 12) from wardctl to live agents of the sim board, real processes on 127.0.0.1.

    drills_sim_test.py BUILD_DIR WORK_DIR SIM_AGENT [HOST_AGENT]

drill-a plays the healthy server as its own machine; `wardctl drill start failing-fan` reaches
it in the acknowledgement of its next report; it plays the story (10x fast) beside its real
readings through its health engine and reporting path for 8 s, then the story's healthy start
until its sensors recover. Checked: the drill's incident (FAN3, high) is marked drill and tied
to the drill, the webhook receiver gets a signed notification with drill=true, no real sensor
opens anything, the incident resolves after the hold-down, and `wardctl drill report` has the
times to detect, acknowledge and resolve against the targets. drill-off runs with --no-drills
(what a board without CONFIG_WARD_DRILLS answers too): it refuses, and the collector shows the
refusal and its reason. Bad requests: an unknown device (404), a bad scenario name (400), an
unknown scenario (refused by the agent). With HOST_AGENT (the host board's ward-agent, built
with CONFIG_WARD_DRILLS), a Linux agent reading tests/fixtures/intel-server plays the same
drill beside its real sensors. Exit 77 (skipped) when build/sim is not built."""
import json
import os
import subprocess
import sys
import time

import harness as H
from harness import Fail, check, wait_for
from incidents_test import Receiver, alerting, iquery
from metrics_test import get_metrics

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "..", "..", "..", "boards", "sim", "scenarios")
FIXTURE = os.path.join(HERE, "..", "..", "fixtures", "intel-server")


def agent(env, c, binary, name, *extra, machine=None):
    crt, key = env.device_files(name)
    state = os.path.join(env.dir, "agent-" + name)
    os.makedirs(state)
    rules = os.path.join(env.dir, "rules-" + name + ".json")
    with open(rules, "w") as f:
        json.dump({"version": 1, "rules": [{"sensor": "agent:loop_lag_ms",
                                            "upper_caution": 60000}],
                   "intervals_ms": {"temp": 1000, "fan": 1000, "heartbeat": 1000}}, f)
    log = open(os.path.join(env.dir, "agent-%s.log" % name), "w")
    p = subprocess.Popen([binary, "run", "--collector", "127.0.0.1:%d" % c.device_port,
                          "--server-name", "localhost", "--ca", env.ca(), "--cert", crt,
                          "--key", key, "--state-dir", state, "--rules", rules] +
                         (machine or ["--scenario", os.path.join(SCENARIOS, "healthy-server.json")])
                         + ["--drill-dir", SCENARIOS, "--drill-speed", "10", "--for", "90"]
                         + list(extra),
                         stdout=log, stderr=subprocess.STDOUT)
    H._PROCS.append(p)
    return p


def drill(env, c, did):
    return env.wardctl_json(c, "drill", "show", str(did))["drill"][0]


def linux_board(env, c, binary):
    """The host board's agent reads a Linux sysfs fixture (tests/fixtures/intel-server); the
    drill's FAN3 plays beside those real sensors, which keep being evaluated."""
    agent(env, c, binary, "drill-linux", machine=["--root", FIXTURE])
    wait_for(lambda: env.query("SELECT count(*) FROM snapshot_sensors WHERE device = "
                               "'drill-linux'")[0][0] > 0, 30, "the Linux agent's snapshot")
    d = env.wardctl_json(c, "drill", "start", "failing-fan", "--device", "drill-linux",
                         "--for", "8")["drill"][0]
    wait_for(lambda: drill(env, c, d["id"])["state"] in ("running", "done"), 20,
             "the Linux agent playing the drill")

    def fan():
        xs = env.wardctl_json(c, "incidents", "--device", "drill-linux")["incidents"]
        return [x for x in xs if x["component"].startswith("drill:fan:") and x["drill"]
                and x["severity"] == "high"]
    wait_for(fan, 40, "the drill's FAN3 incident (high) from the Linux agent", step=0.5)
    check(fan()[0]["drill_id"] == d["id"], str(fan()))

    def side_by_side():
        ids = [r[0] for r in env.query("SELECT id FROM snapshot_sensors WHERE device = "
                                       "'drill-linux'")]
        real = [i for i in ids if not i.startswith("drill:")]
        return real and len(real) < len(ids)
    wait_for(side_by_side, 20, "real and drill sensors side by side in the snapshot", step=0.5)


def main():
    build, work, binary = sys.argv[1:4]
    host_agent = sys.argv[4] if len(sys.argv) > 4 else None
    if not os.access(binary, os.X_OK):
        print("SKIP drills: %s is not built" % binary)
        sys.exit(77)
    env = H.Env(os.path.abspath(build), os.path.abspath(work), "drills")
    t0 = time.monotonic()
    rx = Receiver()
    try:
        env.make_pki(devices=["drill-a", "drill-off", "old-agent", "drill-linux"])
        conf = alerting(env, "hold-down 3s\nreceiver ops webhook http://127.0.0.1:%d/ward "
                        "secret-file SECRET insecure-http\nroute ops\ndrill-target high detect 30s\n"
                        "drill-target high ack 1h\ndrill-target high resolve 2m\n" % rx.port)
        c = env.start("--alerting", conf, "--check-interval", "100")
        agent(env, c, binary, "drill-a")
        agent(env, c, binary, "drill-off", "--no-drills")
        H.post_ok(env, c, "old-agent", H.batch("old-agent", hb_seq=1))
        wait_for(lambda: len(env.wardctl_json(c, "devices")["devices"]) == 3, 30,
                 "both agents reporting", step=0.5)

        # Bad requests: clear one-line errors, nothing recorded.
        p = env.wardctl(c, "drill", "start", "failing-fan", "--device", "nobody",
                        check_rc=False)
        check(p.returncode == 1 and "no such device" in p.stderr, "unknown device: %r"
              % p.stderr)
        p = env.wardctl(c, "drill", "start", "../etc/passwd", "--device", "drill-a",
                        check_rc=False)
        check(p.returncode != 0 and "scenario" in p.stderr, "bad scenario name: %r" % p.stderr)
        p = env.wardctl(c, "drill", "report", "999", check_rc=False)
        check(p.returncode == 1 and "no such drill" in p.stderr, "unknown drill: %r" % p.stderr)

        # The refusal: the agent answers in its heartbeat; the collector records why.
        off = env.wardctl_json(c, "drill", "start", "failing-fan", "--device", "drill-off",
                               "--for", "8")["drill"][0]
        check(off["state"] == "requested", str(off))
        wait_for(lambda: drill(env, c, off["id"])["state"] == "refused", 20,
                 "drill-off refusing")
        check("--no-drills" in drill(env, c, off["id"])["reason"], str(drill(env, c, off["id"])))
        check("refused it" in c.log_text(), "the refusal is not in the collector's log")
        listed = env.wardctl(c, "drill", "list").stdout
        check("refused" in listed and "drill-off" in listed, listed)

        # An unknown scenario: the agent refuses and says which.
        nf = env.wardctl_json(c, "drill", "start", "no-such-story", "--device", "drill-a",
                              "--for", "8")["drill"][0]
        wait_for(lambda: drill(env, c, nf["id"])["state"] == "refused", 20,
                 "an unknown scenario refused")
        check("no scenario" in drill(env, c, nf["id"])["reason"], str(drill(env, c, nf["id"])))

        # An agent that does not know drills (its answers never name it): the request rides
        # in at most 5 acknowledgements, then the drill is given up (its old parser would
        # refuse every acknowledgement with the member and free nothing).
        old = env.wardctl_json(c, "drill", "start", "failing-fan", "--device", "old-agent",
                               "--for", "8")["drill"][0]
        carried = 0
        for i in range(8):
            dc = H.DeviceClient(env, c, "old-agent")
            try:
                status, _, data = dc.post(H.batch("old-agent", hb_seq=2 + i))
            finally:
                dc.close()
            check(status == 200, "old-agent refused: %r" % data)
            carried += "drill" in json.loads(data)
        check(carried == 5, "the request rode in %d answers, not 5" % carried)
        gone = drill(env, c, old["id"])
        check(gone["state"] == "refused" and "no answer" in gone["reason"], str(gone))

        # The drill.
        d = env.wardctl_json(c, "drill", "start", "failing-fan", "--device", "drill-a",
                             "--for", "8")["drill"][0]
        p = env.wardctl(c, "drill", "start", "overheating", "--device", "drill-a",
                        check_rc=False)
        check(p.returncode == 1 and "not over" in p.stderr, "second drill: %r" % p.stderr)
        wait_for(lambda: drill(env, c, d["id"])["state"] in ("running", "done"), 20,
                 "the drill running")

        def fan():
            xs = env.wardctl_json(c, "incidents", "--device", "drill-a")["incidents"]
            return [x for x in xs if "fan" in x["component"] and x["severity"] == "high"]
        wait_for(fan, 40, "a high incident of the drill's FAN3", step=0.5)
        x = fan()[0]
        check(x["component"].startswith("drill:") and x["drill"] is True
              and x["drill_id"] == d["id"], "not marked drill: %s" % x)
        env.wardctl(c, "ack", str(x["id"]))
        real = [y for y in env.wardctl_json(c, "incidents", "--device", "drill-a")["incidents"]
                if not y["drill"]]
        check(not real, "a real sensor of the healthy machine opened: %s" % real)
        # Every incident of the drill's sensors is marked in the table, every event too.
        rows = iquery(env, "SELECT component, drill, drill_id FROM incidents WHERE device = "
                      "'drill-a'")
        check(rows and all(r[1] == 1 and r[2] == d["id"] for r in rows), str(rows))
        evs = env.query("SELECT sensor, json_extract(doc, '$.drill') FROM events WHERE device "
                        "= 'drill-a'")
        check(evs and all((s.startswith("drill:")) == (m == 1) for s, m in evs),
              "event documents: %s" % evs[:5])
        # The webhook: signed, marked drill, tied to the drill.
        wait_for(lambda: [k for k in rx.accepted.values()
                          if k[0]["incident"]["id"] == x["id"]], 15, "the webhook notification")
        firing = [v[0] for v in rx.accepted.values() if v[0]["incident"]["id"] == x["id"]]
        check(all(n["incident"]["drill"] is True and n["incident"]["drill_id"] == d["id"]
                  for n in firing), str(firing))
        check(rx.bad_signatures == 0, "bad signatures")

        # The story ends, its healthy start plays, the incident resolves after the hold-down.
        wait_for(lambda: env.wardctl_json(c, "incident", str(x["id"]))["state"] == "resolved",
                 60, "the drill's incident resolved", step=1)
        wait_for(lambda: drill(env, c, d["id"])["state"] == "done", 30, "the drill done")
        rep = env.wardctl_json(c, "drill", "report", str(d["id"]))
        mine = [i for i in rep["incidents"] if i["id"] == x["id"]][0]
        check(mine["detect"]["ms"] >= 0 and mine["detect"]["target_ms"] == 30000 and
              mine["acknowledge"]["ms"] >= 0 and mine["resolve"]["ms"] > 0 and
              mine["resolve"]["target_ms"] == 120000 and mine["resolve"]["verdict"] == "met",
              "report: %s" % mine)
        text = env.wardctl(c, "drill", "report", str(d["id"])).stdout
        check("DETECT/TARGET" in text and "met" in text, text)
        # A stop: the agent stops playing, the collector records who stopped it.
        st = env.wardctl_json(c, "drill", "start", "overheating", "--device", "drill-a",
                              "--for", "300")["drill"][0]
        wait_for(lambda: drill(env, c, st["id"])["state"] == "running", 20, "the second drill")
        env.wardctl(c, "drill", "stop", str(st["id"]))
        wait_for(lambda: drill(env, c, st["id"])["state"] == "stopped", 20, "the drill stopped")
        check(drill(env, c, st["id"])["stopped_by"] == "ops", str(drill(env, c, st["id"])))
        p = env.wardctl(c, "drill", "stop", str(st["id"]), check_rc=False)
        check(p.returncode == 1 and "over" in p.stderr, "stop twice: %r" % p.stderr)
        rows = env.query("SELECT actor, target FROM audit WHERE action = 'drill.stop'")
        check(("ops", "drill-a") in rows, "the stop is not in the audit log: %s" % rows)
        status, _, m = get_metrics(env, c)
        check(status == 200 and "ward_drill_refusals_total 3" in m and
              'ward_drills{state="running"} 0' in m, "metrics: %s" %
              [ln for ln in m.splitlines() if "drill" in ln])
        if host_agent is not None and os.access(host_agent, os.X_OK):
            linux_board(env, c, host_agent)
        c.stop()
    except Fail as e:
        print("FAIL drills: %s" % e)
        for col in env.collectors:
            print("\n".join(col.log_text().splitlines()[-30:]))
        for n in ("drill-a", "drill-off", "drill-linux"):
            try:
                print(open(os.path.join(env.dir, "agent-%s.log" % n)).read()[-3000:])
            except OSError:
                pass
        sys.exit(1)
    finally:
        rx.close()
        H._teardown()
    print("PASS drills (%.1fs)" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
