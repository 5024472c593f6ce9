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
sim_changes
          a sim agent's own `inventory` (its scenario's disk, NIC and chips, its build id),
          restarted with another disk serial and other rules: hardware_changed and
          rules_changed, low severity, unplanned outside a change window and linked inside
          one; below min-agent-version it raises one low incident (exit 77 without build/sim)
outdated_incident
          min-agent-version raises one low incident per outdated device (wardctl, the API,
          /metrics), marked healthy and resolved once the device is updated or removed
shared    two collectors A and B on one PostgreSQL (WARD_TEST_STORAGE=postgresql): devices
          report to A only, a change window is opened through B; B's wardctl inventory,
          changes, change list, devices --outdated and /metrics answer what A's do, and a
          window closed through A is closed for B. A full heartbeat older than one B compared
          (same boot, lower seq; another boot, an earlier wall_ms), delivered to A after it,
          changes nothing
"""
import re
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
    text = c.metrics()
    check('ward_collector_inventory_changes_total{kind="config_changed",planned="no"} 2' in text
          and 'ward_collector_inventory_changes_total{kind="config_changed",planned="yes"} 1'
          in text and "ward_collector_change_windows_open 0" in text, "metrics")
    # The history survives a restart.
    c.stop()
    c2 = env.start()
    check(len(changes(env, c2, "bmc-7")) >= 5 + 6, "history after restart: %d" % len(
        changes(env, c2, "bmc-7")))
    c2.stop()


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
    check("ward_collector_devices_outdated 1" in c.metrics(), "metrics")
    post_hb(env, c, "dev-a", full_hb("dev-a", BOOT_A, 2, firmware="0.10.1"))
    wait_for(lambda: env.wardctl_json(c, "devices", "--outdated")["devices"] == [], 10,
             "dev-a updated", step=0.1)
    c.stop()
    p = subprocess.run([env.collector_bin, "--pki", env.pki, "--state", env.state,
                        "--min-agent-version", "new"], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "min-agent-version" in p.stderr, "a bad version: %r" % p.stderr)


def sim_setup(env, case, device, *collector_args):
    """The sim agent (exit 77 when it is not built), device's PKI, a collector, a state dir."""
    agent = os.environ.get("WARD_SIM_AGENT", "")
    if not os.access(agent, os.X_OK):
        print("SKIP %s: %s is not built" % (case, agent))
        sys.exit(77)
    env.make_pki(devices=(device,))
    c = env.start(*collector_args)
    crt, key = env.device_files(device)
    state = os.path.join(env.dir, "agent")
    os.makedirs(state)
    return agent, c, crt, key, state


def case_sim(env):
    agent, c, crt, key, state = sim_setup(env, "sim", "sim-1")
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


def outdated_incidents(env, c, state=None):
    args = ("incidents",) + (("--state", state) if state else ())
    return [x for x in env.wardctl_json(c, *args)["incidents"]
            if x["component"] == "agent:version"]


def case_outdated_incident(env):
    env.make_pki(devices=("dev-a", "dev-b", "dev-c"))
    policy = os.path.join(env.dir, "alerting.conf")
    with open(policy, "w") as f:
        f.write("hold-down 1s\n")
    c = env.start("--min-agent-version", "0.10.0", "--alerting", policy)
    for d, v in (("dev-a", "0.9.7"), ("dev-b", "0.10.0"), ("dev-c", "0.9.0")):
        post_hb(env, c, d, full_hb(d, BOOT_A, 1, firmware=v))
    xs = wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(outdated_incidents(env, c)), 10,
                  "two outdated-agent incidents", step=0.1)
    check(sorted(x["device"] for x in xs) == ["dev-a", "dev-c"] and
          all(x["severity"] == "low" and x["state"] == "open" for x in xs), "incidents: %s" % xs)
    by_dev = {x["device"]: x for x in xs}
    one = json.dumps(env.wardctl_json(c, "incident", str(by_dev["dev-a"]["id"])))
    check("agent version 0.9.7 is below min-agent-version 0.10.0" in one, "timeline: %s" % one[:600])
    # Another full heartbeat of the same old agent: still one incident per device.
    post_hb(env, c, "dev-a", full_hb("dev-a", BOOT_A, 2, firmware="0.9.7", config=CFG_B))
    wait_changes(env, c, "dev-a", 1, "dev-a's config change")
    check(len(outdated_incidents(env, c)) == 2, "a second incident: %s" % outdated_incidents(env, c))
    doc = env.wardctl_json(c, "devices", "--outdated")
    check({x["id"]: x["incident"] for x in doc["devices"]} ==
          {"dev-a": by_dev["dev-a"]["id"], "dev-c": by_dev["dev-c"]["id"]}, "outdated: %s" % doc)
    out = env.wardctl(c, "devices", "--outdated").stdout
    check("INCIDENT" in out and "%d (low)" % by_dev["dev-a"]["id"] in out, out)
    check("ward_collector_devices_outdated_incidents 2" in c.metrics(), "metrics: 2")
    # Updated: healthy, then resolved after the hold-down.
    post_hb(env, c, "dev-a", full_hb("dev-a", BOOT_A, 3, firmware="0.10.1"))
    wait_for(lambda: [x for x in outdated_incidents(env, c, "resolved") if x["device"] == "dev-a"],
             15, "dev-a's incident to resolve", step=0.2)
    # Removed: its incident resolves and it leaves the outdated list.
    env.wardctl(c, "device", "remove", "dev-c", "--reason", "decommissioned")
    wait_for(lambda: [x for x in outdated_incidents(env, c, "resolved") if x["device"] == "dev-c"],
             15, "dev-c's incident to resolve", step=0.2)
    check(env.wardctl_json(c, "devices", "--outdated")["devices"] == [], "still outdated")
    check("ward_collector_devices_outdated_incidents 0" in c.metrics(), "metrics: 0")
    check([x for x in outdated_incidents(env, c) if x["state"] != "resolved"] == [],
          "an incident left open: %s" % outdated_incidents(env, c))
    # A restart neither raises again nor forgets.
    c.stop()
    c = env.start("--min-agent-version", "0.10.0", "--alerting", policy)
    time.sleep(1)
    check([x for x in outdated_incidents(env, c) if x["state"] != "resolved"] == [],
          "raised again after a restart: %s" % outdated_incidents(env, c))
    c.stop()


SIM_RULES = {"version": 1, "rules": [{"sensor": "temp:*", "upper_caution": 80000}],
             "intervals_ms": {"temp": 1000, "heartbeat": 1000}}


def sim_scenario(serial):
    return {"name": "inventory", "seed": 1, "duration_ms": 600000,
            "temps": [{"id": "temp:coretemp.isa0000:core_%d" % i, "label": "Core %d" % i,
                       "value": {"value": 50000 + 1000 * i}} for i in range(2)],
            "nics": [{"name": "eth0", "mac": "02:5E:1a:07:c3:11", "driver": "virtio_net"}],
            "disks": [{"kind": "ata", "dev": "sda", "model": "ST8000NM000A-2KE101",
                       "serial": serial, "firmware": "SN02", "capacity_bytes": 8001563222016,
                       "attributes": [{"id": 5, "name": "Reallocated_Sector_Ct",
                                       "prefail": True, "value": 100, "threshold": 10,
                                       "raw": 0}]}]}


def case_sim_changes(env):
    agent, c, crt, key, state = sim_setup(env, "sim_changes", "sim-2", "--min-agent-version",
                                          "99.0.0")
    scen, rules = os.path.join(env.dir, "scenario.json"), os.path.join(env.dir, "rules.json")

    def run(serial, caution):
        with open(scen, "w") as f:
            json.dump(sim_scenario(serial), f)
        r = json.loads(json.dumps(SIM_RULES))
        r["rules"][0]["upper_caution"] = caution
        with open(rules, "w") as f:
            json.dump(r, f)
        log = open(os.path.join(env.dir, "agent.log"), "a")
        p = subprocess.Popen([agent, "run", "--collector", "127.0.0.1:%d" % c.device_port,
                              "--server-name", "localhost", "--ca", env.ca(), "--cert", crt,
                              "--key", key, "--state-dir", state, "--scenario", scen,
                              "--rules", rules, "--for", "30"],
                             stdout=log, stderr=subprocess.STDOUT)
        H._PROCS.append(p)
        return p

    def stop(p):
        p.terminate()
        p.wait(timeout=15)

    def items():
        p = env.wardctl(c, "--json", "inventory", "sim-2", check_rc=False)
        return {x["item"]: x["value"] for x in json.loads(p.stdout)["items"]} \
            if p.returncode == 0 else {}

    def after(n, what):
        return wait_changes(env, c, "sim-2", n, what)

    p = run("WKD3A1B2", 80000)
    it = wait_for(lambda: (lambda i: i if "disks:sda" in i and "rules_sha256" in i else None)(
        items()), 20, "the sim agent's inventory", step=0.2)
    disk, nic = json.loads(it["disks:sda"]), json.loads(it["nics:eth0"])
    check(disk == {"name": "sda", "model": "ST8000NM000A-2KE101", "serial": "WKD3A1B2",
                   "firmware": "SN02"}, "disk: %s" % disk)
    check(nic == {"name": "eth0", "mac": "02:5e:1a:07:c3:11", "driver": "virtio_net"},
          "nic: %s" % nic)
    check(json.loads(it["chips:coretemp.isa0000"])["sensors"] == 2, "chips: %s" % it)
    check(re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+(\+g[0-9a-f]{12})?", it["inventory.build"]) and
          it["inventory.build"].startswith(it["firmware"]), "build: %s" % it)
    inc = wait_for(lambda: outdated_incidents(env, c), 10, "the outdated-agent incident")
    check(len(inc) == 1 and inc[0]["device"] == "sim-2" and inc[0]["severity"] == "low",
          "outdated incident: %s" % inc)
    stop(p)
    # Another disk and other rules, announced by nobody: unplanned.
    p = run("WKD9Z9Z9", 85000)
    xs = {x["item"]: x for x in after(3, "the unplanned disk and rules changes")}
    d, r = xs.get("disks:sda"), xs.get("rules_sha256")
    check(d is not None and d["kind"] == "hardware_changed" and "WKD3A1B2" in d["old"] and
          "WKD9Z9Z9" in d["new"] and d["unplanned"] and d["severity"] == "low",
          "disk replaced: %s" % xs)
    check(r is not None and r["kind"] == "rules_changed" and r["unplanned"] and
          r["severity"] == "low", "rules changed: %s" % xs)
    check(not xs["boot"]["unplanned"], "the reboot flagged: %s" % xs["boot"])
    stop(p)
    # Announced: linked to the change window.
    env.wardctl(c, "change", "open", "replace disk sda on sim-2", "--devices", "sim-*")
    win = env.wardctl_json(c, "change", "list")["windows"][0]
    p = run("WKD7Y7Y7", 80000)
    xs = wait_for(lambda: (lambda v: v if {"disks:sda", "rules_sha256"} <= set(
        x["item"] for x in v) else None)([x for x in changes(env, c, "sim-2")
                                          if x.get("window") == win["id"]]),
        20, "the planned changes", step=0.2)
    check(all(not x["unplanned"] and x["severity"] == "low" for x in xs), "planned: %s" % xs)
    out = env.wardctl(c, "changes", "sim-2").stdout
    check("UNPLANNED" in out and ("window %d" % win["id"]) in out and "disks:sda" in out, out)
    check(len(outdated_incidents(env, c)) == 1, "one incident: %s" % outdated_incidents(env, c))
    stop(p)
    c.stop()


def case_shared(env):
    check(env.pg is not None, "run with WARD_TEST_STORAGE=postgresql")
    env.make_pki(devices=("sh-1", "sh-2"))
    args = ("--min-agent-version", "0.10.0")
    a = env.start(*args, state=os.path.join(env.dir, "a"))
    b = env.start(*args, state=os.path.join(env.dir, "b"))
    post_hb(env, a, "sh-1", full_hb("sh-1", BOOT_A, 1, firmware="0.9.7", inventory=disks("WD-A")))
    post_hb(env, a, "sh-2", full_hb("sh-2", BOOT_A, 1, firmware="0.10.1"))
    wait_for(lambda: len(changes(env, b)) >= 6 + 4, 10, "A's first sightings, read through B",
             step=0.1)
    env.wardctl(b, "change", "open", "disk on sh-1", "--devices", "sh-1", "--for", "1h")
    post_hb(env, a, "sh-1", full_hb("sh-1", BOOT_A, 2, firmware="0.9.7", config=CFG_B,
                                    inventory=disks("WD-B")))
    xs = wait_changes(env, b, "sh-1", 2, "sh-1's planned changes, read through B")
    win = env.wardctl_json(b, "change", "list")["windows"][0]
    check(all(x["window"] == win["id"] and not x["unplanned"] for x in xs),
          "not linked to B's window: %s" % xs)

    def views(c):
        return [env.wardctl_json(c, "inventory", "sh-1"), env.wardctl_json(c, "inventory", "sh-2"),
                changes(env, c), env.wardctl_json(c, "change", "list"),
                env.wardctl_json(c, "devices", "--outdated")]

    va, vb = views(a), views(b)
    check(va == vb, "A and B differ:\n%s\n%s" % (va, vb))
    check([x["id"] for x in vb[4]["devices"]] == ["sh-1"] and vb[3]["windows"][0]["changes"] == 2,
          "B's outdated and windows: %s" % vb[3:])
    n = env.pg.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                     "'ward-collector-inventory'")[0][0]
    check(n == 4, "inventory connections (a writer and a reader per collector): %s" % n)
    text = b.metrics()
    check("ward_collector_devices_outdated 1" in text and
          "ward_collector_change_windows_open 1" in text, "B's /metrics")
    # Closed through A: closed for B too.
    env.wardctl(a, "change", "close", str(win["id"]))
    p = env.wardctl(b, "change", "close", str(win["id"]), check_rc=False)
    check(p.returncode == 1 and "409" in p.stderr, "closing twice, through B: %r" % p.stderr)
    check(not env.wardctl_json(b, "change", "list")["windows"][0]["open"], "open for B")
    # sh-2 reports 0.11.0 (seq 5) to B; its seq 4 (0.10.5), delivered to A after, is older.
    post_hb(env, b, "sh-2", full_hb("sh-2", BOOT_A, 5, firmware="0.11.0"))
    wait_for(lambda: [x for x in changes(env, a, "sh-2") if x["new"] == "0.11.0"], 10,
             "sh-2's update through B, read through A", step=0.1)
    post_hb(env, a, "sh-2", full_hb("sh-2", BOOT_A, 4, firmware="0.10.5"))
    # Compared by A: left out (its log says so) or, wrongly, recorded as a change.
    wait_for(lambda: "sh-2: a full heartbeat older" in a.log_text() or
             [x for x in changes(env, a, "sh-2") if x["new"] == "0.10.5"], 10,
             "A to compare the older heartbeat", step=0.1)
    for c in (a, b):
        items = {x["item"]: x["value"] for x in env.wardctl_json(c, "inventory", "sh-2")["items"]}
        check(items["firmware"] == "0.11.0", "the older heartbeat won: %s" % items)
    check([x["new"] for x in changes(env, b, "sh-2") if x["item"] == "firmware"] ==
          ["0.11.0", "0.10.1"], "sh-2's firmware changes: %s" % changes(env, b, "sh-2"))
    # Across boots by the agent's wall clock: boot B at 2000 through B, then boot A at 1000.
    now = int(time.time() * 1000)
    hb = full_hb("sh-2", BOOT_B, 1, firmware="0.12.0")
    hb["wall_ms"] = now
    post_hb(env, b, "sh-2", hb, boot=BOOT_B)
    wait_for(lambda: [x for x in changes(env, a, "sh-2") if x["new"] == "0.12.0"], 10,
             "sh-2's reboot through B, read through A", step=0.1)
    hb = full_hb("sh-2", BOOT_A, 7, firmware="0.11.0")
    hb["wall_ms"] = now - 60000
    post_hb(env, a, "sh-2", hb)
    wait_for(lambda: a.log_text().count("sh-2: a full heartbeat older") == 2 or
             [x for x in changes(env, a, "sh-2") if x["new"] == BOOT_A], 10,
             "A to compare the earlier boot's heartbeat", step=0.1)
    items = {x["item"]: x["value"] for x in env.wardctl_json(b, "inventory", "sh-2")["items"]}
    check(items["firmware"] == "0.12.0" and items["boot"] == BOOT_B,
          "the earlier boot won: %s" % items)
    for c in (a, b):
        rc = c.stop()
        check(rc == 0, "a collector exited %s (a sanitizer's finding?): %s" % (
            rc, "\n".join(c.log_text().splitlines()[-20:])))


if __name__ == "__main__":
    main({"changes": case_changes, "outdated": case_outdated, "sim": case_sim,
          "sim_changes": case_sim_changes, "outdated_incident": case_outdated_incident,
          "shared": case_shared})
