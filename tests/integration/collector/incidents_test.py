#!/usr/bin/env python3
"""Incidents, notifications and silences (issue 12) with real processes on 127.0.0.1: the
collector, wardctl, a webhook receiver written here (checks the HMAC, fails on purpose), and a
real prometheus-alertmanager. Usage: incidents_test.py BUILD_DIR WORK_DIR CASE"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

import harness as H
from harness import BOOT_A, Fail, check, wait_for

SECRET = b"0123456789abcdef-test-secret"


class Receiver:
    """A webhook receiver on loopback: verifies X-Ward-Signature, answers `fail_first` requests
    with 503, or hangs when `hang` is set. Keeps every request and the keys it accepted."""

    def __init__(self, port=0, fail_first=0, tls=None):
        self.requests = []
        self.accepted = {}
        self.bad_signatures = 0
        self.fail_first = fail_first
        self.hang = False
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                sig = self.headers.get("X-Ward-Signature", "")
                want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(sig, want):
                    me.bad_signatures += 1
                doc = json.loads(body)
                me.requests.append(doc)
                if me.hang:
                    time.sleep(30)
                    return
                if me.fail_first > 0:
                    me.fail_first -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                me.accepted.setdefault(doc["key"], []).append(doc)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:  # (cert, key): an https receiver
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kinds(self, incident=None):
        return [d["kind"] for docs in self.accepted.values() for d in docs[:1]
                if incident is None or d["incident"]["id"] == incident]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def iquery(env, sql):
    """Read incidents.db (beside ward.db), or the PostgreSQL database that holds the incident
    tables (WARD_TEST_STORAGE=postgresql), as an auditor would: a connection of its own."""
    if env.pg is not None:
        return env.pg.query(sql)
    con = H.sqlite3.connect("file:%s?mode=ro" % os.path.join(env.state, "incidents.db"),
                            uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def alerting(env, text):
    secret = os.path.join(env.dir, "webhook.secret")
    with open(secret, "wb") as f:
        f.write(SECRET + b"\n")
    path = os.path.join(env.dir, "alerting.conf")
    with open(path, "w") as f:
        f.write(text.replace("SECRET", secret))
    return path


def start(env, text, *extra, devices=("dev-a", "dev-b")):
    env.make_pki(devices=devices)
    return env.start("--alerting", alerting(env, text), "--check-interval", "100", *extra)


def sensor(sid, state, last_ms, severity=None):
    sev = severity or {"ok": "none", "caution": "low", "critical": "medium"}.get(state, "high")
    return {"id": sid, "state": state, "severity": sev, "kind": "threshold", "value": 1,
            "since_ms": last_ms, "last_ms": last_ms}


class Dev:
    """One device's reports: events with increasing seq, the whole snapshot in every batch."""

    def __init__(self, env, c, name):
        self.env, self.c, self.name, self.seq, self.hb = env, c, name, 0, 0
        self.sensors = {}

    def send(self, events=(), snap=None):
        evs = []
        for sid, frm, to, sev in events:
            self.seq += 1
            evs.append(H.event(BOOT_A, self.seq, sensor=sid, frm=frm, to=to, severity=sev))
        if snap:
            for s in snap:
                self.sensors[s["id"]] = s
        self.hb += 1
        health = H.snapshot(self.name, BOOT_A, list(self.sensors.values())) if snap else None
        H.post_ok(self.env, self.c, self.name,
                  H.batch(self.name, hb_seq=self.hb, events=evs, health=health))


def incidents(env, c, *args):
    return env.wardctl_json(c, "incidents", *args)["incidents"]


def one(env, c, device, comp):
    xs = [x for x in incidents(env, c, "--device", device) if x["component"] == comp]
    return xs[0] if xs else None


def wait_incident(env, c, device, comp, pred, what, timeout=15):
    return wait_for(lambda: (lambda x: x if x and pred(x) else None)(one(env, c, device, comp)),
                    timeout, what, step=0.2)


POLICY = """hold-down 2s
flapping 4 60s
correlate 3 30s
retry-max 1s
timeout 1s
receiver hook webhook http://127.0.0.1:{port}/hook secret-file SECRET insecure-http
route hook
runbook temp:* https://runbooks.example/temp
"""


def case_lifecycle(env):
    r = Receiver()
    c = start(env, POLICY.format(port=r.port))
    d = Dev(env, c, "dev-a")
    d.send([("temp:cpu0", "ok", "caution", "low")], [sensor("temp:cpu0", "caution", 10)])
    x = wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["state"] == "open", "opened")
    check(x["severity"] == "low" and x["runbook"] == "https://runbooks.example/temp", str(x))
    d.send([("temp:cpu0", "caution", "critical", "medium")], [sensor("temp:cpu0", "critical", 20)])
    x = wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["severity"] == "medium", "raised")
    check(len(incidents(env, c)) == 1, "a second event opened a second incident")
    iid = str(x["id"])
    full = env.wardctl_json(c, "incident", iid)
    check([t["what"] for t in full["timeline"]] == ["opened", "event"], str(full["timeline"]))
    env.wardctl(c, "ack", iid)
    p = env.wardctl(c, "ack", iid, check_rc=False)
    check(p.returncode == 1 and "409" in p.stderr and len(p.stderr.splitlines()) == 1,
          "second ack: %r" % p.stderr)
    env.wardctl(c, "assign", iid, "alice")
    env.wardctl(c, "note", iid, "fan swapped on the spare shelf")
    p = env.wardctl(c, "note", iid, "x" * 1001, check_rc=False)
    check(p.returncode != 0 and len(p.stderr.splitlines()) == 1, "long note: %r" % p.stderr)
    p = env.wardctl(c, "incident", "999999", check_rc=False)
    check(p.returncode == 1 and "404" in p.stderr and len(p.stderr.splitlines()) == 1,
          "unknown id: %r" % p.stderr)
    p = env.wardctl(c, "close", iid, check_rc=False)
    check(p.returncode == 1 and "409" in p.stderr, "close before resolve: %r" % p.stderr)
    env.wardctl(c, "resolve", iid, "--cause", "dust filter")
    env.wardctl(c, "close", iid)
    p = env.wardctl(c, "resolve", iid, check_rc=False)
    check(p.returncode == 1 and "409" in p.stderr and "closed" in p.stderr,
          "resolve a closed incident: %r" % p.stderr)
    full = env.wardctl_json(c, "incident", iid)
    whats = [(t["who"], t["what"]) for t in full["timeline"]]
    for want in [("ops", "ack"), ("ops", "assign"), ("ops", "note"), ("ops", "resolve"),
                 ("ops", "close")]:
        check(want in whats, "timeline lacks %s: %s" % (want, whats))
    check(full["assignee"] == "alice" and full["cause"] == "dust filter", str(full))
    md = env.wardctl(c, "report", iid, "--format", "md").stdout
    check("time to detect" in md and "dust filter" in md and "| critical |" in md, md)
    rep = json.loads(env.wardctl(c, "report", iid, "--format", "json").stdout)
    check(rep["durations_ms"]["acknowledge"] >= 0 and len(rep["readings"]) == 2, str(rep))
    wait_for(lambda: "closed" in r.kinds(), 10, "the closed notification")
    kinds = r.kinds()
    check(kinds.count("firing") == 2 and "acknowledged" in kinds and "resolved" in kinds,
          "webhook kinds: %s" % kinds)
    check(r.bad_signatures == 0, "bad signatures: %d" % r.bad_signatures)
    check(all(doc["incident"]["runbook"] for docs in r.accepted.values() for doc in docs),
          "runbook missing in a notification")
    m = env.wardctl(c, "--json", "health")  # the API still answers
    check(m.returncode == 0, "health")
    c.stop()
    r.close()


def case_holddown(env):
    r = Receiver()
    c = start(env, POLICY.format(port=r.port))
    d = Dev(env, c, "dev-a")
    # Resolves only after the hold-down once the reading is ok.
    d.send([("temp:cpu0", "ok", "caution", "low")], [sensor("temp:cpu0", "caution", 10)])
    wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["state"] == "open", "opened")
    d.send([("temp:cpu0", "caution", "ok", "low")], [sensor("temp:cpu0", "ok", 20)])
    t0 = time.monotonic()
    wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["healthy_since_ms"] > 0, "healthy")
    check(one(env, c, "dev-a", "temp:cpu0")["state"] == "open", "resolved before the hold-down")
    wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["state"] == "resolved", "resolved")
    check(time.monotonic() - t0 >= 1.5, "resolved %.1fs after ok" % (time.monotonic() - t0))
    # Never resolves while the snapshot (newer than the ok event) still says bad.
    d.send([("temp:cpu1", "ok", "critical", "medium")], [sensor("temp:cpu1", "critical", 30)])
    wait_incident(env, c, "dev-a", "temp:cpu1", lambda x: x["state"] == "open", "cpu1 opened")
    d.send([("temp:cpu1", "critical", "ok", "medium")], [sensor("temp:cpu1", "critical", 90)])
    x = wait_incident(env, c, "dev-a", "temp:cpu1",
                      lambda x: any(t["what"] == "still bad" for t in
                                    env.wardctl_json(c, "incident", str(x["id"]))["timeline"]),
                      "the hold-down to end with the snapshot still bad")
    check(x["state"] == "open", "resolved while still bad: %s" % x)
    # Stale alert: the recovery event is lost; the snapshot alone shows ok -> resolved.
    d.send([("temp:cpu2", "ok", "caution", "low")], [sensor("temp:cpu2", "caution", 100)])
    wait_incident(env, c, "dev-a", "temp:cpu2", lambda x: x["state"] == "open", "cpu2 opened")
    d.send([], [sensor("temp:cpu2", "ok", 200)])
    x = wait_incident(env, c, "dev-a", "temp:cpu2", lambda x: x["state"] == "resolved",
                      "the stale incident to resolve from the snapshot")
    tl = [t["what"] for t in env.wardctl_json(c, "incident", str(x["id"]))["timeline"]]
    check("snapshot ok" in tl and "resolved" in tl, str(tl))
    # Never opened for a reading the snapshot already shows ok (newer, same boot).
    d.send([("temp:cpu3", "ok", "caution", "low")], [sensor("temp:cpu3", "ok", 10**6)])
    time.sleep(1.5)
    check(one(env, c, "dev-a", "temp:cpu3") is None, "opened for a reading already ok")
    wait_for(lambda: r.kinds().count("resolved") >= 2, 10, "resolved notifications")
    c.stop()
    r.close()


def case_flapping(env):
    r = Receiver()
    c = start(env, POLICY.format(port=r.port).replace("hold-down 2s", "hold-down 3s"))
    d = Dev(env, c, "dev-a")
    for i in range(4):
        d.send([("nic:eth0:link", "ok", "critical", "medium")],
               [sensor("nic:eth0:link", "critical", 10 + 20 * i)])
        d.send([("nic:eth0:link", "critical", "ok", "medium")],
               [sensor("nic:eth0:link", "ok", 20 + 20 * i)])
    x = wait_incident(env, c, "dev-a", "nic:eth0:link", lambda x: x["flapping"], "flapping")
    check(len(incidents(env, c)) == 1, "flaps opened more than one incident")
    wait_incident(env, c, "dev-a", "nic:eth0:link", lambda x: x["state"] == "resolved",
                  "resolved after the hold-down", timeout=20)
    wait_for(lambda: "resolved" in r.kinds(), 10, "the resolved notification")
    kinds = r.kinds(x["id"])
    check(kinds.count("flapping") == 1 and kinds.count("firing") == 1,
          "one notification for the flapping, not one per flap: %s" % kinds)
    c.stop()
    r.close()


def case_correlate(env):
    r = Receiver()
    devs = ["rack-%d" % i for i in range(5)]
    c = start(env, POLICY.format(port=r.port), "--heartbeat-interval", "300",
              "--silent-factor", "2", devices=devs)
    for name in devs:
        H.post_ok(env, c, name, H.batch(name, hb_seq=1, events=[]))
    parent = wait_for(lambda: [x for x in incidents(env, c) if x["group"]], 20,
                      "a parent incident for the silent rack", step=0.3)[0]
    wait_for(lambda: len([x for x in incidents(env, c) if x["component"] == "device"]) == 5, 20,
             "five device incidents")
    kids = [x for x in incidents(env, c) if x["component"] == "device"]
    grouped = [x for x in kids if x["parent"] == parent["id"]]
    check(len(grouped) >= 3, "grouped under the parent: %s" % kids)
    time.sleep(1.5)
    firing = [d for docs in r.accepted.values() for d in docs[:1] if d["kind"] == "firing"]
    check(len(firing) < len(devs), "%d firing notifications for %d silent devices" %
          (len(firing), len(devs)))
    check(any(d["incident"]["id"] == parent["id"] for d in firing), "the parent did not notify")
    # The devices come back and stay up: heartbeats every 100 ms on keep-alive connections,
    # from a thread per device. (Sent from the polling loop below, each round cost five new
    # mutual-TLS handshakes and a wardctl run: over 600 ms on a loaded machine with the
    # sanitizers, so the devices went silent again and again and the hold-down never ended.)
    beats = Heartbeats(env, c, devs, first_seq=3)
    beats.start()
    try:
        wait_for(lambda: [x for x in incidents(env, c) if x["id"] == parent["id"]
                          and x["state"] == "resolved"], 30, "the parent to resolve", step=0.2)
    finally:
        beats.stop()
    check(beats.refused == [], "heartbeats refused: %s" % beats.refused[:3])
    c.stop()
    r.close()


class Heartbeats:
    """Every device's heartbeat every `period` s, each device from a thread of its own on its
    own keep-alive connection (a connection that fails is made again on the next round), until
    stop(). One thread per device: a device's heartbeats are not spaced by the other devices'
    commits (with PostgreSQL on a loaded machine five commits in a row outlast the silence
    bound of 600 ms)."""

    def __init__(self, env, collector, devices, first_seq, period=0.1):
        self.clients = {d: H.DeviceClient(env, collector, d) for d in devices}
        self.first_seq = first_seq
        self.period = period
        self.halt = threading.Event()
        self.refused = []
        self.threads = [threading.Thread(target=self.beat, args=(d,), daemon=True)
                        for d in devices]

    def beat(self, name):
        cl, seq = self.clients[name], self.first_seq
        while not self.halt.is_set():
            try:
                status, _, data = cl.post(H.batch(name, hb_seq=seq, events=[]))
                if status != 200:
                    self.refused.append((name, status, data[:200]))
            except (OSError, ssl.SSLError, http.client.HTTPException):
                cl.close()
            seq += 1
            self.halt.wait(self.period)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(timeout=30)
        for cl in self.clients.values():
            cl.close()


def case_webhook_retry(env):
    r = Receiver(fail_first=6)
    c = start(env, POLICY.format(port=r.port))
    d = Dev(env, c, "dev-a")
    for i in range(3):
        d.send([("temp:cpu%d" % i, "ok", "caution", "low")],
               [sensor("temp:cpu%d" % i, "caution", 10 + i)])
    wait_for(lambda: len(r.accepted) >= 3, 40, "three firing notifications past the failures")
    keys = [k for k, v in r.accepted.items()]
    # The receiver keeps a document before it answers 200; the row turns "delivered" only
    # when the collector has read that answer.
    query = "SELECT key, state, attempts FROM outbox WHERE kind = 'firing'"
    wait_for(lambda: all(s == "delivered" for _, s, _ in iquery(env, query)), 10,
             "the three rows marked delivered")
    rows = iquery(env, query)
    check(len(rows) == 3 and all(s == "delivered" for _, s, _ in rows), str(rows))
    check(sum(a for _, _, a in rows) >= 3 + 6 // 3, "no retries recorded: %s" % rows)
    time.sleep(2)
    check(all(len(v) == 1 for v in r.accepted.values()), "a key accepted twice: %s" % keys)
    check(r.bad_signatures == 0, "bad signatures")
    c.stop()
    r.close()


def case_prune(env):
    """Delivered notifications older than prune-delivered go (counted in /metrics); pending
    ones (a receiver that keeps failing) stay."""
    from metrics_test import get_metrics, samples
    good, bad = Receiver(), Receiver(fail_first=10 ** 6)
    c = start(env, POLICY.format(port=good.port) + "prune-delivered 1s\n"
              "receiver bad webhook http://127.0.0.1:%d/hook secret-file SECRET insecure-http\n"
              "route bad\n"
              % bad.port)
    d = Dev(env, c, "dev-a")
    for i in range(4):
        d.send([("temp:cpu%d" % i, "ok", "caution", "low")],
               [sensor("temp:cpu%d" % i, "caution", 10 + i)])
    wait_for(lambda: len(good.accepted) >= 4, 20, "four notifications delivered")
    wait_for(lambda: not iquery(env, "SELECT id FROM outbox WHERE state = 'delivered'"), 15,
             "the delivered rows pruned")
    pending = iquery(env, "SELECT receiver, state FROM outbox")
    check(len(pending) >= 4 and all(r == "bad" and s == "pending" for r, s in pending),
          "pending rows were pruned or others kept: %s" % pending)
    status, _, text = get_metrics(env, c)
    check(status == 200 and samples(text).get("ward_notifications_pruned_total", 0) >= 4,
          "ward_notifications_pruned_total: %s" % [ln for ln in text.splitlines()
                                                   if "pruned" in ln])
    c.stop()
    good.close()
    bad.close()


def case_https(env):
    """https:// receivers: the certificate is verified against the receiver's ca-file (a signed
    notification delivered), a receiver whose certificate another CA signed is never delivered
    to (its error says why); plain http:// is refused unless insecure-http on loopback."""
    other = H.Env(env.build, os.path.dirname(env.dir), "https-other").make_pki(devices=())
    ca = env.ca()
    env.make_pki()
    good = Receiver(tls=(os.path.join(env.pki, "collector.crt"),
                         os.path.join(env.pki, "collector.key")))
    rogue = Receiver(tls=(os.path.join(other.pki, "collector.crt"),
                          os.path.join(other.pki, "collector.key")))
    for text, want in [
            ("receiver a webhook http://127.0.0.1:1/ secret-file SECRET\n",
             ":1: plain http:// is refused"),
            ("receiver a webhook http://198.18.0.1:1/ secret-file SECRET insecure-http\n",
             ":1: insecure-http is only for a loopback host"),
            ("receiver a webhook https://127.0.0.1:1/ secret-file SECRET ca-file %s\n" % ca,
             ":1: an https receiver is named by its certificate's DNS name"),
            ("receiver a webhook https://localhost:1/ secret-file SECRET ca-file /nonexistent\n",
             ":1: cannot read the CA certificates"),
            ("receiver a webhook https://localhost:1/ secret-file SECRET insecure-http\n",
             ":1: insecure-http is for http:// receivers only")]:
        refused_config(env, text, want)
    c = env.start("--alerting", alerting(env, (
        "hold-down 2s\nretry-max 1s\ntimeout 2s\n"
        "receiver good webhook https://localhost:%d/hook secret-file SECRET ca-file %s\n"
        "receiver rogue webhook https://localhost:%d/hook secret-file SECRET ca-file %s\n"
        "route good\nroute rogue\n") % (good.port, ca, rogue.port, ca)),
        "--check-interval", "100")
    d = Dev(env, c, "dev-a")
    d.send([("temp:cpu0", "ok", "caution", "low")], [sensor("temp:cpu0", "caution", 10)])
    wait_for(lambda: good.accepted, 15, "the firing notification over https")
    check(good.bad_signatures == 0 and good.kinds() == ["firing"], str(good.kinds()))
    wait_for(lambda: iquery(env, "SELECT last_error FROM outbox WHERE receiver = 'rogue' AND "
                                 "attempts >= 2"), 15, "the rogue receiver tried twice")
    (err,), = iquery(env, "SELECT last_error FROM outbox WHERE receiver = 'rogue'")
    check("not trusted" in err, "rogue receiver's error: %r" % err)
    check(not rogue.requests, "a notification reached an untrusted receiver")
    check(iquery(env, "SELECT state FROM outbox WHERE receiver = 'rogue'") == [("pending",)],
          "the rogue receiver's row is not pending")
    c.stop()
    good.close()
    rogue.close()


def case_escalation(env):
    r, pager = Receiver(), Receiver()
    c = start(env, POLICY.format(port=r.port) + "ack-deadline high 2s\n"
              "receiver pager webhook http://127.0.0.1:%d/page secret-file SECRET insecure-http\n"
              "escalate pager\n" % pager.port)
    d = Dev(env, c, "dev-a")
    d.send([("disk:sda:smart", "ok", "failed", "high"), ("disk:sdb:smart", "ok", "failed", "high")],
           [sensor("disk:sda:smart", "failed", 10), sensor("disk:sdb:smart", "failed", 10)])
    a = wait_incident(env, c, "dev-a", "disk:sda:smart", lambda x: True, "sda opened")
    b = wait_incident(env, c, "dev-a", "disk:sdb:smart", lambda x: True, "sdb opened")
    env.wardctl(c, "ack", str(b["id"]))  # acknowledged in time: never escalated
    wait_for(lambda: pager.accepted, 10, "the escalation to the pager")
    time.sleep(1.5)
    esc = [d["incident"]["id"] for docs in pager.accepted.values() for d in docs]
    check(esc == [a["id"]] and [d["kind"] for docs in pager.accepted.values() for d in docs] ==
          ["escalation"], "escalations: %s" % list(pager.accepted.values()))
    check("escalation" not in r.kinds(), "the escalation went to the routed receiver too")
    x = one(env, c, "dev-a", "disk:sda:smart")
    check(x["escalated"] and not one(env, c, "dev-a", "disk:sdb:smart")["escalated"], str(x))
    c.stop()
    r.close()
    pager.close()


def case_kill9(env):
    port = free_port()
    c = start(env, POLICY.format(port=port))
    d = Dev(env, c, "dev-a")
    d.send([("disk:sda:smart", "ok", "failed", "high")], [sensor("disk:sda:smart", "failed", 10)])
    wait_for(lambda: iquery(env, "SELECT attempts FROM outbox WHERE attempts > 0"), 15,
             "a failed delivery attempt (receiver down)")
    c.kill9()
    r = Receiver(port=port)
    c2 = env.start("--alerting", os.path.join(env.dir, "alerting.conf"))
    wait_for(lambda: len(r.accepted) == 1, 20, "delivery after the restart")
    time.sleep(2.5)
    check(len(r.accepted) == 1 and all(len(v) == 1 for v in r.accepted.values()),
          "delivered more than once: %s" % list(r.accepted))
    check(list(r.accepted.values())[0][0]["incident"]["severity"] == "high", "severity")
    c2.stop()
    r.close()


def case_silence(env):
    r = Receiver()
    c = start(env, POLICY.format(port=r.port))
    env.wardctl(c, "silence", "dev-*", "--for", "2h", "--reason", "maintenance window")
    sil = env.wardctl_json(c, "silence")["silences"]
    check(len(sil) == 1 and sil[0]["who"] == "ops" and sil[0]["match"] == "dev-*", str(sil))
    d = Dev(env, c, "dev-a")
    d.send([("temp:cpu0", "ok", "critical", "medium")], [sensor("temp:cpu0", "critical", 10)])
    x = wait_incident(env, c, "dev-a", "temp:cpu0", lambda x: x["state"] == "open",
                      "the incident is still recorded")
    time.sleep(1.5)
    check(not r.requests, "a silenced device notified: %s" % r.requests)
    full = env.wardctl_json(c, "incident", str(x["id"]))
    check(any(t["what"] == "notification held" for t in full["timeline"]) and
          all(n["state"] == "held" for n in full["notifications"]), str(full))
    p = env.wardctl(c, "silence", "dev-a", "--for", "1h", check_rc=False)
    check(p.returncode == 2, "a silence without a reason was accepted")
    c.stop()
    r.close()


# The send timeout of case_slow_receiver: a loop that waited for the receiver would hold a
# request about this long, far beyond what a loaded machine adds to one request.
SLOW_TIMEOUT_S = 3


def case_slow_receiver(env):
    r = Receiver()
    r.hang = True
    c = start(env, POLICY.replace("timeout 1s", "timeout %ds" % SLOW_TIMEOUT_S)
              .format(port=r.port))
    dev = Dev(env, c, "dev-b")

    worst = [0.0]

    def rate(n):
        t0 = time.monotonic()
        cl = H.DeviceClient(env, c, "dev-a")
        for i in range(n):
            t1 = time.monotonic()
            st, _, _ = cl.post(H.batch("dev-a", hb_seq=1000 + i + int(t0 * 1000) % 100000,
                                       events=[]))
            worst[0] = max(worst[0], time.monotonic() - t1)
            check(st == 200, "ingest refused: %d" % st)
        cl.close()
        return n / (time.monotonic() - t0)

    base = rate(200)
    worst[0] = 0.0
    for i in range(10):
        dev.send([("temp:cpu%d" % i, "ok", "caution", "low")],
                 [sensor("temp:cpu%d" % i, "caution", 10 + i)])
    # From the first request on, the sender is inside a post the receiver never answers (and,
    # after the timeout, inside the next one): the whole measurement runs while it hangs.
    wait_for(lambda: len(r.requests) >= 1, 15, "the receiver to be hanging on a request")
    during = rate(200)
    print("ingest: %.0f req/s before, %.0f req/s with a hanging receiver (slowest %.3f s)" %
          (base, during, worst[0]))
    # A loop that waited for the receiver would hold a request for the send timeout. The rate
    # is printed, not compared: on a loaded 2-core machine it swings 4x between two runs of
    # 200 requests (544 -> 137 req/s with the slowest request at 0.067 s was seen).
    check(worst[0] < SLOW_TIMEOUT_S / 2, "ingest slowed by a hanging receiver: %.0f -> %.0f "
          "req/s, slowest request %.3f s" % (base, during, worst[0]))
    errs = wait_for(lambda: iquery(env, "SELECT last_error FROM outbox WHERE attempts > 0"),
                    SLOW_TIMEOUT_S + 15, "a failed attempt in the outbox")
    check(errs and "no answer" in errs[0][0], "the timeout is not recorded: %s" % errs)
    check(len(incidents(env, c)) == 10, "incidents not opened while the receiver hangs")
    c.stop()
    r.close()


def refused_config(env, text, want):
    """The collector refuses to start with this alerting file; its one line says want."""
    path = alerting(env, text)
    p = subprocess.run([env.collector_bin, "--pki", env.pki, "--state", env.state,
                        "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0",
                        "--alerting", path], capture_output=True, text=True, timeout=20)
    check(p.returncode != 0 and (path + want) in p.stderr,
          "alerting %r: rc %d, %r" % (text, p.returncode, p.stderr))


def case_bad_config(env):
    env.make_pki()
    for text, want in [("frobnicate 3\n", ":1: unknown directive"),
                       ("hold-down 5x\n", ":1: a duration"),
                       ("route nobody\n", ":1: route RECEIVER"),
                       ("receiver a webhook http://127.0.0.1:1/ secret-file /nonexistent\n",
                        ":1: cannot read the secret file"),
                       ("\n# ok\nreceiver a webhook ftp://x/\n", ":3: a receiver URL")]:
        refused_config(env, text, want)


RELOAD_POLICY = """hold-down 2s
retry-max 1s
timeout 1s
receiver a webhook http://127.0.0.1:{a}/hook secret-file SECRET insecure-http
receiver b webhook http://127.0.0.1:{b}/hook secret-file SECRET insecure-http
route {to}
"""


def case_reload(env):
    """SIGHUP reads the alerting file again: a new route takes effect; a broken file keeps the
    running policy and its one error line names FILE:LINE."""
    ra, rb = Receiver(), Receiver()
    c = start(env, RELOAD_POLICY.format(a=ra.port, b=rb.port, to="a"))
    path = alerting(env, RELOAD_POLICY.format(a=ra.port, b=rb.port, to="b"))
    os.kill(c.pid, signal.SIGHUP)
    wait_for(lambda: "alerting reloaded" in c.log_text(), 10, "the reload to be logged", step=0.1)
    check("alerting reloaded: 2 receivers, 1 route, 0 runbooks" in c.log_text(),
          c.log_text()[-600:])
    d = Dev(env, c, "dev-a")
    d.send([("temp:cpu0", "ok", "caution", "low")], [sensor("temp:cpu0", "caution", 10)])
    wait_for(lambda: rb.kinds(), 15, "receiver b to get the incident", step=0.2)
    check(rb.kinds() == ["firing"] and ra.requests == [],
          "after the reload: a %s, b %s" % (ra.kinds(), rb.kinds()))
    # A broken file: the error names the file and line, the route to b stays.
    alerting(env, "# broken\nroute b\nreceiver c webhook ftp://x/\n")
    os.kill(c.pid, signal.SIGHUP)
    wait_for(lambda: "running policy is kept" in c.log_text(), 10, "the refusal", step=0.1)
    errs = [ln for ln in c.log_text().splitlines() if (path + ":") in ln]
    check(len(errs) == 1 and (path + ":2: ") in errs[0], "error lines: %r" % errs)
    check(c.alive(), "the collector exited on a broken alerting file")
    d.send([("fan:fan1", "ok", "critical", "medium")], [sensor("fan:fan1", "critical", 20)])
    wait_for(lambda: len(rb.kinds()) == 2, 15, "receiver b to get the second incident",
             step=0.2)
    check(ra.requests == [], "receiver a got %r" % ra.requests)
    c.stop()
    ra.close()
    rb.close()


AM_CONFIG = """route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


def am_alerts(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v2/alerts" % port, timeout=5) as f:
        return json.loads(f.read())


def case_alertmanager(env):
    am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if am is None:
        raise Fail("prometheus-alertmanager is not installed (run tools/bootstrap)")
    port = free_port()
    cfg = os.path.join(env.dir, "am.yml")
    with open(cfg, "w") as f:
        f.write(AM_CONFIG)
    log = open(os.path.join(env.dir, "am.log"), "w")
    p = subprocess.Popen([am, "--config.file", cfg, "--storage.path",
                          tempfile.mkdtemp(dir=env.dir), "--web.listen-address",
                          "127.0.0.1:%d" % port, "--cluster.listen-address="],
                         stdout=log, stderr=subprocess.STDOUT)
    H._PROCS.append(p)
    try:
        wait_for(lambda: _ready(port), 30, "alertmanager to be ready", step=0.3)
        c = start(env, POLICY.format(port=1) .replace("route hook", "") +
                  "resend 2s\nreceiver am alertmanager http://127.0.0.1:%d/ insecure-http\nroute am\n" % port)
        d = Dev(env, c, "dev-a")
        d.send([("fan:fan1", "ok", "critical", "medium")], [sensor("fan:fan1", "critical", 10)])
        x = wait_incident(env, c, "dev-a", "fan:fan1", lambda x: x["state"] == "open", "open")
        a = wait_for(lambda: [a for a in am_alerts(port)
                              if a["labels"].get("incident") == str(x["id"])], 20,
                     "the firing alert in Alertmanager", step=0.5)[0]
        check(a["labels"]["device"] == "dev-a" and a["labels"]["sensor"] == "fan:fan1" and
              a["labels"]["severity"] == "medium" and a["status"]["state"] == "active" and
              a["generatorURL"].endswith("/v1/incidents/%d" % x["id"]), str(a))
        time.sleep(3)  # at least one re-post while firing
        n = iquery(env, "SELECT count(*) FROM outbox WHERE kind = 'refresh' AND state = "
                      "'delivered'")[0][0]
        check(n >= 1, "no re-post while firing")
        env.wardctl(c, "resolve", str(x["id"]), "--cause", "test")
        wait_for(lambda: not [a for a in am_alerts(port)
                              if a["labels"].get("incident") == str(x["id"])], 20,
                 "the alert to be resolved in Alertmanager", step=0.5)
        c.stop()
    finally:
        p.terminate()
        p.wait(timeout=10)


def _ready(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=2) as f:
            return f.status == 200
    except OSError:
        return False


# A burst of events across devices and sensors, evaluated by the engine in few transactions:
# opens, events on a live incident, severity raised, healthy, flapping, then (after the
# hold-down resolved the healthy ones) reopens. On PostgreSQL the engine batches its statements
# (incidents/idb_pg.c, the live incidents read once per transaction in engine.c); the incidents,
# timelines and notifications must be those of the same burst on SQLite.
BURST_DEVICES = ["burst-%d" % i for i in range(4)]
BURST_SCRIPTS = [
    [("ok", "caution", "low"), ("caution", "critical", "medium"), ("critical", "ok", "low"),
     ("ok", "critical", "medium"), ("critical", "ok", "low"), ("ok", "caution", "low"),
     ("caution", "ok", "low"), ("ok", "critical", "medium"), ("critical", "ok", "low")],
    [("ok", "caution", "low"), ("caution", "caution", "low"), ("caution", "ok", "low")],
    [("caution", "ok", "low"), ("ok", "failed", "high"), ("failed", "failed", "high")],
    [("ok", "critical", "medium"), ("critical", "caution", "low"), ("caution", "ok", "low"),
     ("ok", "caution", "low"), ("caution", "ok", "low")],
]
BURST_SENSORS = ["temp:cpu0", "nic:eth0:link", "disk:sda", "fan:0"]


def burst_events(i, phase):
    """Device i's events: each sensor plays a script (rotated by i), interleaved."""
    seqs = []
    for k, sid in enumerate(BURST_SENSORS):
        script = BURST_SCRIPTS[(k + i) % len(BURST_SCRIPTS)]
        if phase == 2:  # back to bad: reopens the resolved ones, ends with none healthy
            script = [("ok", "caution", "low"), ("caution", "critical", "medium")][:1 + (i + k) % 2]
        seqs.append([(sid, f, t, sev) for f, t, sev in script])
    out = []
    for n in range(max(len(s) for s in seqs)):
        out.extend(s[n] for s in seqs if n < len(s))
    return out


def burst_caught_up(env):
    cur = iquery(env, "SELECT value FROM incident_cursor WHERE name = 'events'")
    top = env.query("SELECT coalesce(max(id), 0) FROM events")[0][0]
    return cur and int(cur[0][0]) >= int(top)


def burst_dump(env):
    """The incidents, timelines and outbox rows of the burst, without ids or times."""
    where = "i.component <> 'device' AND i.is_parent = 0"
    seq = {int(r[0]): "%s/%s" % (r[1], r[2])
           for r in env.query("SELECT id, device, seq FROM events")}
    norm = (lambda rows: [tuple("" if v is None else str(v) for v in r) for r in rows])
    inc = norm(iquery(env, "SELECT device, component, state, severity, events, transitions, "
                      "flapping, reopened, last_state, escalated, parent FROM incidents AS i "
                      "WHERE %s ORDER BY device, component, id" % where))
    tl = norm((d, c, w, det, seq.get(e, "")) for d, c, w, det, e in iquery(
        env, "SELECT i.device, i.component, t.what, coalesce(t.detail, ''), "
        "coalesce(t.event_id, 0) FROM incident_timeline AS t JOIN incidents AS i "
        "ON i.id = t.incident WHERE %s ORDER BY i.device, i.component, t.id" % where))
    ob = norm(iquery(env, "SELECT i.device, i.component, o.kind, o.receiver FROM outbox AS o "
                     "JOIN incidents AS i ON i.id = o.incident WHERE %s ORDER BY i.device, "
                     "i.component, o.id" % where))
    return inc, tl, ob


def unique_pairs(pairs):
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    check(not dup, "health has a key more than once: %r" % dup)
    return dict(pairs)


def burst_pg_statements(env, c):
    """The engine ran its statements prepared on the server (incidents/idb_pg.c); every
    PostgreSQL connection has its own name in health and /metrics (promtool: no duplicates)."""
    from metrics_test import get_metrics
    health = json.loads(env.wardctl(c, "--json", "health").stdout, object_pairs_hook=unique_pairs)
    check("postgresql" in health, "no postgresql in health: %r" % sorted(health))
    links = health["postgresql"]
    for who in ("storage", "incidents", "notifications", "incidents-api"):
        check(who in links, "no PostgreSQL connection %r in health: %r" % (who, sorted(links)))
    inc = links["incidents"]
    check(inc["statements_prepared"] >= 5, "the engine prepared %r statements" % inc)
    check(inc["statements_unprepared"] == 0, "the engine ran statements unprepared: %r" % inc)
    check(links["storage"]["statements_prepared"] > 0, "storage: %r" % links["storage"])
    shown = env.wardctl(c, "health").stdout
    check(" incidents.statements_prepared=%d" % inc["statements_prepared"] in shown,
          "wardctl health does not show the engine's prepared statements: %s" % shown)
    status, _, text = get_metrics(env, c)
    check(status == 200, "/metrics answered %d" % status)
    want = 'ward_collector_storage_statements_prepared{connection="incidents"} %d' % \
        inc["statements_prepared"]
    check(any(line.startswith(want.rsplit(" ", 1)[0] + " ") for line in text.splitlines()),
          "/metrics has no %r" % want)
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    check("duplicate" not in (p.stdout + p.stderr).lower(),
          "promtool: %s" % (p.stdout + p.stderr).strip()[:400])


def burst_run(env):
    r = Receiver()
    c = start(env, POLICY.format(port=r.port), devices=BURST_DEVICES)
    devs = [Dev(env, c, d) for d in BURST_DEVICES]
    for i, d in enumerate(devs):
        d.send(burst_events(i, 1))
    wait_for(lambda: burst_caught_up(env), 60, "the engine to evaluate the first burst")
    # The healthy ones resolve after the hold-down (2 s); nothing else is due.
    wait_for(lambda: iquery(env, "SELECT count(*) FROM incidents WHERE healthy_since_ms > 0 AND "
                                 "state <> 'resolved'")[0][0] == 0, 30, "the hold-down")
    for i, d in enumerate(devs):
        d.send(burst_events(i, 2))
    wait_for(lambda: burst_caught_up(env), 60, "the engine to evaluate the second burst")
    out = burst_dump(env)
    if env.pg is not None:
        burst_pg_statements(env, c)
    c.stop()
    r.close()
    return out


def case_burst(env):
    got = burst_run(env)
    saved = os.environ.pop("WARD_TEST_STORAGE", None)
    try:
        ref_env = H.Env(env.build, os.path.dirname(env.dir), "burst-sqlite")
    finally:
        if saved is not None:
            os.environ["WARD_TEST_STORAGE"] = saved
    want = burst_run(ref_env)
    for name, g, w in zip(("incidents", "timeline", "outbox"), got, want):
        check(len(w) > 0, "the SQLite run has no %s rows" % name)
        diff = [(a, b) for a, b in zip(g, w) if a != b]
        check(len(g) == len(w) and not diff,
              "%s differ from SQLite's (%d rows, %d there): first %r" % (name, len(g), len(w),
                                                                         diff[:3]))
    check(any(x[6] == "1" for x in got[0]), "no incident became flapping: %r" % (got[0],))
    check(any(x[7] != "0" for x in got[0]), "no incident was reopened: %r" % (got[0],))


if __name__ == "__main__":
    H.main({"lifecycle": case_lifecycle, "holddown": case_holddown, "flapping": case_flapping,
            "correlate": case_correlate, "webhook_retry": case_webhook_retry,
            "kill9": case_kill9, "escalation": case_escalation, "silence": case_silence, "slow_receiver": case_slow_receiver,
            "bad_config": case_bad_config, "reload": case_reload, "alertmanager": case_alertmanager,
            "prune": case_prune, "https": case_https, "burst": case_burst})
