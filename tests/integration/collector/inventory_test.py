#!/usr/bin/python3
"""Inventory, change history, change windows and outdated agents (issue 13): real collectors
fed by the test's own HTTPS device clients (the batches firmware/src/report.c writes), or by
sim agents restarted with other rules.

    [WARD_SIM_AGENT=PATH] inventory_test.py BUILD_DIR WORK_DIR CASE

changes   full heartbeats with a new agent version, config digest, boot and an `inventory`
          object (a disk's serial replaced, a new NIC): each change recorded with its time,
          unplanned outside a change window, linked to the window inside it; wardctl
          inventory / changes / change open|close|list, the API and /metrics agree
outdated  min-agent-version: wardctl devices --outdated, /v1/outdated, /metrics
sim       a sim agent restarted with other rules: rules_changed (unplanned) and rebooted
          (exit 77 when the sim board is not built)
"""
import json
import os
import subprocess
import sys
import time

import harness as H
from harness import BOOT_A, BOOT_B, Fail, check, main, wait_for

CFG_A = "a" * 64
CFG_B = "b" * 64


def full_hb(device, boot, seq, firmware="0.1.0", config=CFG_A, rules=None, inventory=None):
    hb = H.heartbeat(device, boot, seq)
    hb.update({"firmware": firmware, "config_sha256": config, "interval_ms": 60000})
    if rules:
        hb["rules_sha256"] = rules
    if inventory is not None:
        hb["inventory"] = inventory
    return hb


def post_hb(env, c, device, hb, boot=BOOT_A):
    doc = {"v": 1, "type": "batch", "device": device, "boot": boot, "heartbeat": hb,
           "events": []}
    H.post_ok(env, c, device, json.dumps(doc).encode())


def changes(env, c, *args):
    return env.wardctl_json(c, "changes", *args)["changes"]


def wait_changes(env, c, device, n, what):
    return wait_for(lambda: (lambda xs: xs if len(xs) >= n else None)(
        [x for x in changes(env, c, device) if x["kind"] != "discovered"]), 10, what, step=0.1)


def disks(serial):
    return {"disks": [{"name": "sda", "model": "WDC WD40EFRX", "serial": serial,
                       "firmware": "82.00A82"}],
            "nics": [{"name": "eno1", "mac": "02:00:00:00:00:01", "driver": "igb"}],
            "build": "ward 0.1.0 g1234567"}


def case_changes(env):
    env.make_pki(devices=("bmc-7", "bmc-8"))
    c = env.start()
    t0 = time.time() * 1000
    post_hb(env, c, "bmc-7", full_hb("bmc-7", BOOT_A, 1, inventory=disks("WD-AAA")))
    post_hb(env, c, "bmc-8", full_hb("bmc-8", BOOT_A, 1))
    wait_for(lambda: len(changes(env, c)) >= 2 * 4 + 3, 10, "first sightings", step=0.1)
    check(all(x["kind"] == "discovered" and not x["unplanned"] for x in changes(env, c)),
          "a first sighting was a change: %s" % changes(env, c))
    inv = env.wardctl_json(c, "inventory", "bmc-7")
    items = {x["item"]: x["value"] for x in inv["items"]}
    check(items["firmware"] == "0.1.0" and items["config_sha256"] == CFG_A and
          items["boot"] == BOOT_A and "WD-AAA" in items["disks:sda"] and
          items["inventory.build"] == "ward 0.1.0 g1234567", "inventory: %s" % items)
    # A compact heartbeat (no sticky fields) changes nothing.
    doc = {"v": 1, "type": "batch", "device": "bmc-7", "boot": BOOT_A,
           "heartbeat": H.heartbeat("bmc-7", BOOT_A, 2), "events": []}
    del doc["heartbeat"]["firmware"]
    H.post_ok(env, c, "bmc-7", json.dumps(doc).encode())
    # Unannounced: a new agent version on bmc-8.
    post_hb(env, c, "bmc-8", full_hb("bmc-8", BOOT_A, 3, firmware="0.2.0"))
    x = wait_changes(env, c, "bmc-8", 1, "the agent update")[0]
    check(x["kind"] == "agent_updated" and x["old"] == "0.1.0" and x["new"] == "0.2.0" and
          x["unplanned"] and x["window"] is None and x["severity"] == "low" and
          x["at_ms"] >= t0, "agent update: %s" % x)
    # Announced: a window for bmc-7*, then its disk replaced and its config changed, and a
    # reboot (not flagged either way).
    p = env.wardctl(c, "change", "open", "replace disk sda on bmc-7", "--devices", "bmc-7*",
                    "--for", "2h")
    check("change window" in p.stdout, p.stdout)
    win = env.wardctl_json(c, "change", "list")["windows"][0]
    check(win["open"] and win["devices"] == "bmc-7*" and win["opened_by"] == "ops" and
          win["until_ms"] - win["opened_ms"] == 7200 * 1000, "window: %s" % win)
    post_hb(env, c, "bmc-7", full_hb("bmc-7", BOOT_B, 1, config=CFG_B,
                                     inventory=dict(disks("WD-BBB"), nics=[
                                         {"name": "eno1", "mac": "02:00:00:00:00:01",
                                          "driver": "igb"},
                                         {"name": "eno2", "mac": "02:00:00:00:00:02",
                                          "driver": "igb"}])), boot=BOOT_B)
    xs = wait_changes(env, c, "bmc-7", 4, "the planned changes")
    kinds = {x["item"]: x for x in xs}
    check(kinds["disks:sda"]["kind"] == "hardware_changed" and
          "WD-AAA" in kinds["disks:sda"]["old"] and "WD-BBB" in kinds["disks:sda"]["new"],
          "disk: %s" % kinds.get("disks:sda"))
    check(kinds["config_sha256"]["kind"] == "config_changed" and
          kinds["nics:eno2"]["kind"] == "added" and kinds["boot"]["kind"] == "rebooted",
          "kinds: %s" % kinds)
    for item in ("disks:sda", "config_sha256", "nics:eno2", "boot"):
        check(kinds[item]["window"] == win["id"] and not kinds[item]["unplanned"],
              "%s not linked to the window: %s" % (item, kinds[item]))
    # bmc-8 is outside the window's glob: unplanned.
    post_hb(env, c, "bmc-8", full_hb("bmc-8", BOOT_A, 4, firmware="0.2.0", config=CFG_B))
    x = wait_changes(env, c, "bmc-8", 2, "bmc-8's config change")[0]
    check(x["kind"] == "config_changed" and x["unplanned"], "outside the glob: %s" % x)
    # Closed: the next change of bmc-7 is unplanned again.
    env.wardctl(c, "change", "close", str(win["id"]))
    p = env.wardctl(c, "change", "close", str(win["id"]), check_rc=False)
    check(p.returncode == 1 and "409" in p.stderr, "closing twice: %r" % p.stderr)
    post_hb(env, c, "bmc-7", full_hb("bmc-7", BOOT_B, 2, config=CFG_A,
                                     inventory=disks("WD-BBB")), boot=BOOT_B)
    x = wait_changes(env, c, "bmc-7", 5, "the change after the window")[0]
    check(x["kind"] == "config_changed" and x["unplanned"] and x["window"] is None,
          "after close: %s" % x)
    win = env.wardctl_json(c, "change", "list")["windows"][0]
    check(not win["open"] and win["changes"] == 4 and win["closed_ms"], "closed: %s" % win)
    # The tables and --since.
    out = env.wardctl(c, "changes", "bmc-7").stdout
    check("UNPLANNED" in out and ("window %d" % win["id"]) in out and "disks:sda" in out, out)
    check(env.wardctl_json(c, "changes", "--since", "1h") != [], "--since 1h")
    out = env.wardctl(c, "inventory", "bmc-7").stdout
    check("WD-BBB" in out and "config_sha256" in out, out)
    p = env.wardctl(c, "inventory", "nosuch", check_rc=False)
    check(p.returncode == 1 and "404" in p.stderr, "unknown device: %r" % p.stderr)
    text = H_metrics(env, c)
    check('ward_collector_inventory_changes_total{kind="config_changed",planned="no"} 2' in text
          and 'ward_collector_inventory_changes_total{kind="config_changed",planned="yes"} 1'
          in text and "ward_collector_change_windows_open 0" in text, "metrics")
    # The history survives a restart.
    c.stop()
    c2 = env.start()
    check(len(changes(env, c2, "bmc-7")) >= 5 + 6, "history after restart: %d" % len(
        changes(env, c2, "bmc-7")))
    c2.stop()


def H_metrics(env, c):
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=env.ca())
    conn = http.client.HTTPSConnection("localhost", c.api_port, context=ctx, timeout=10)
    conn.request("GET", "/metrics", headers={
        "Authorization": "Bearer " + open(env.token_file).read().strip()})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    check(r.status == 200, "GET /metrics: %d" % r.status)
    return body


def case_outdated(env):
    env.make_pki(devices=("dev-a", "dev-b", "dev-c"))
    c = env.start("--min-agent-version", "0.10.0")
    for d, v in (("dev-a", "0.9.7"), ("dev-b", "0.10.0"), ("dev-c", "0.10.12")):
        post_hb(env, c, d, full_hb(d, BOOT_A, 1, firmware=v))
    wait_for(lambda: len(env.wardctl_json(c, "devices", "--outdated")["devices"]) >= 1, 10,
             "an outdated device", step=0.1)
    doc = env.wardctl_json(c, "devices", "--outdated")
    check(doc["min_agent_version"] == "0.10.0" and
          [(x["id"], x["version"]) for x in doc["devices"]] == [("dev-a", "0.9.7")],
          "outdated: %s" % doc)
    out = env.wardctl(c, "devices", "--outdated").stdout
    check("dev-a" in out and "0.9.7" in out and "dev-b" not in out, out)
    check("ward_collector_devices_outdated 1" in H_metrics(env, c), "metrics")
    post_hb(env, c, "dev-a", full_hb("dev-a", BOOT_A, 2, firmware="0.10.1"))
    wait_for(lambda: env.wardctl_json(c, "devices", "--outdated")["devices"] == [], 10,
             "dev-a updated", step=0.1)
    c.stop()
    p = subprocess.run([env.collector_bin, "--pki", env.pki, "--state", env.state,
                        "--min-agent-version", "new"], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "min-agent-version" in p.stderr, "a bad version: %r" % p.stderr)


def case_sim(env):
    agent = os.environ.get("WARD_SIM_AGENT", "")
    if not os.access(agent, os.X_OK):
        print("SKIP sim: %s is not built" % agent)
        sys.exit(77)
    env.make_pki(devices=("sim-1",))
    c = env.start()
    crt, key = env.device_files("sim-1")
    state = os.path.join(env.dir, "agent")
    os.makedirs(state)
    scen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "boards",
                        "sim", "scenarios", "overheating.json")

    def run(rules):
        log = open(os.path.join(env.dir, "agent.log"), "a")
        args = [agent, "run", "--collector", "127.0.0.1:%d" % c.device_port, "--server-name",
                "localhost", "--ca", env.ca(), "--cert", crt, "--key", key, "--state-dir", state,
                "--scenario", scen, "--for", "8"]
        if rules:
            args += ["--rules", rules]
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        H._PROCS.append(p)
        return p

    rules = os.path.join(env.dir, "rules.json")
    with open(rules, "w") as f:
        f.write('{"rules": []}\n')
    p = run(None)
    wait_for(lambda: [x for x in changes(env, c, "sim-1") if x["item"] == "firmware"], 20,
             "the sim agent's first full heartbeat", step=0.2)
    p.terminate()
    p.wait(timeout=15)
    run(rules)
    xs = wait_for(lambda: [x for x in changes(env, c, "sim-1") if x["item"] == "rules_sha256"],
                  20, "the rules change", step=0.2)
    check(xs[0]["kind"] in ("added", "rules_changed") and xs[0]["unplanned"] in (True, False),
          "rules: %s" % xs)
    boots = wait_for(lambda: [x for x in changes(env, c, "sim-1") if x["kind"] == "rebooted"], 20,
                     "the restart as a reboot", step=0.2)
    check(not boots[0]["unplanned"], "a reboot flagged unplanned: %s" % boots)
    c.stop()


if __name__ == "__main__":
    main({"changes": case_changes, "outdated": case_outdated, "sim": case_sim})
