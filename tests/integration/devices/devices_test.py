#!/usr/bin/python3
"""The device lifecycle (issue 13; docs/pki.md, "Device lifecycle") with real processes on
127.0.0.1: ward-collector, wardctl, ward-pki, ward-agent, and Python TLS clients standing in
for agents where the test needs byte-level control.

  enroll     ward-agent enroll makes key + CSR; `wardctl device enroll` has the collector sign
             it with its enrolment CA (not the offline root); the real agent then reports with
             it. A request for another id and one with a broken signature are refused (422,
             audited). The offline path, `ward-pki sign-csr`, gives a certificate that works too.
  token      `wardctl device enroll-token ID --expires 1h` shows a one-time token; `ward-agent
             enroll --token` posts the device's request to the operator port (server-
             authenticated TLS) and gets its certificate, which then reports; the same token
             again, another device's token, an expired one: refused (401), audited.
  renew      a certificate with one day left (ward-pki --days 1): `ward-agent cert-renew --within 2`
             gets a new one over the device's mutual TLS (new key, made on the device) while
             the agent keeps reporting; `--within` says "not due" for the new one; the agent,
             restarted, reports with it: its heartbeats never stop being acknowledged.
  hotload    the running agent takes its renewed certificate into use without a restart: after
             `ward-agent cert-renew` the collector sees (audit device.certificate.switch,
             /v1/health, /metrics) the next connection present the new serial, from the same
             agent process; the old serial is then revoked (CRL) and the agent keeps
             reporting, its journal empty at the end (nothing lost); a touched file reloads
             nothing; a replaced key that does not match is refused by the agent in one line
             and the pair in use is kept.
  revoke     `wardctl device revoke` while the device is connected: its connection is closed
             within 1 s, a new handshake is refused, the reason is counted in /v1/health and
             /metrics, another device is untouched; after a restart it is still refused, and a
             certificate issued after the revocation is accepted.
  remove     a silent device removed: listed as `removed`, never `silent` again, its history
             kept (events), the state survives a restart.
  duplicate  one certificate used by two agents at once (alternating boot ids) raises one
             high event "certificate -> duplicate" and the counters; a legitimate restart (one
             switch of boot id) raises nothing.
  dupaddr    two agents with one certificate on simultaneous connections from 127.0.0.1 and
             127.0.0.2: raised (high event, audited with both boot ids and addresses, /metrics,
             /v1/health lifecycle.duplicate); one agent moving from 127.0.0.1 to 127.0.0.3
             (DHCP, NAT) with its boot id: nothing raised.

Usage: WARD_FIXTURES=DIR devices_test.py BUILD_DIR WORK_DIR CASE
"""
import http.client
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "collector"))
from harness import (BOOT_A, BOOT_B, DeviceClient, Fail, acks_of, batch, check,  # noqa: E402
                     main, peer_closed, post_ok, raw_tls, read_http_response, wait_for,
                     _PROCS)



def audit_text(env):
    """The collector's audit log (audit/audit.h), one "audit: actor=A action=X target=T DETAIL"
    line per entry, read from the database the way an auditor would."""
    return "".join("audit: actor=%s action=%s target=%s %s\n" % r for r in
                   env.query("SELECT actor, action, target, detail FROM audit ORDER BY seq"))

def agent_bin(env):
    return os.path.join(env.build, "board", "ward-agent")


def metrics(env, c):
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", env.ca(), "-H",
                        "Authorization: Bearer " + open(env.token_file).read().strip(),
                        "https://localhost:%d/metrics" % c.api_port],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "GET /metrics: %s" % p.stderr.strip())
    out = {}
    for line in p.stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, v = line.rpartition(" ")
            out[name] = float(v)
    return out


def lifecycle(env, c):
    return c.health()["fleet"]["lifecycle"]


def device_events(env, c, device, sensor):
    doc = env.wardctl_json(c, "events", "--device", device, "--limit", "100")
    return [e for e in doc["events"] if e.get("sensor") == sensor]


def enrol_ca(env):
    """An enrolment CA apart from the offline root; the collector trusts both."""
    enr = os.path.join(env.dir, "enrol-ca")
    subprocess.run([env.pki_bin, "--dir", enr, "init", "--name", "ward enrolment CA"],
                   check=True, capture_output=True, timeout=60)
    trust = os.path.join(env.dir, "trust.pem")
    with open(trust, "w") as f:
        f.write(open(env.ca()).read() + open(os.path.join(enr, "ca.crt")).read())
    return ["--ca", trust, "--enroll-cert", os.path.join(enr, "ca.crt"),
            "--enroll-key", os.path.join(enr, "ca.key")]


def agent_enroll(env, device, name):
    key = os.path.join(env.dir, name + ".key")
    csr = os.path.join(env.dir, name + ".csr")
    p = subprocess.run([agent_bin(env), "enroll", "--id", device, "--key-out", key,
                        "--csr-out", csr], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "ward-agent enroll: %s" % p.stderr.strip())
    check(os.stat(key).st_mode & 0o777 == 0o600, "the device key is not 0600")
    return key, csr


def case_enroll(env):
    env.make_pki(devices=())
    c = env.start(*enrol_ca(env))
    key, csr = agent_enroll(env, "dev-new", "dev-new")
    crt = os.path.join(env.dir, "dev-new.crt")
    p = env.wardctl(c, "device", "enroll", "dev-new", "--csr", csr, "--out", crt)
    check("written to" in p.stdout, "wardctl device enroll: %r" % p.stdout)
    # The key never left: the certificate holds the public key of the device's own key.
    pub = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-pubkey"],
                         capture_output=True, text=True, check=True).stdout
    pub2 = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], capture_output=True,
                          text=True, check=True).stdout
    check(pub == pub2, "the certificate is not for the device's key")
    text = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject", "-issuer",
                           "-ext", "extendedKeyUsage"], capture_output=True, text=True).stdout
    check("CN=dev-new" in text.replace(" ", "") and "enrolment" in text and
          "Client Authentication" in text and "Server" not in text,
          "enrolled certificate: %r" % text)
    print("ok: ward-agent enroll + wardctl device enroll: CN=dev-new, clientAuth, by the "
          "enrolment CA")
    # The real agent reports with it.
    fixtures = os.environ["WARD_FIXTURES"]
    state = os.path.join(env.dir, "agent-state")
    log = open(os.path.join(env.dir, "agent.log"), "w")
    a = subprocess.Popen([agent_bin(env), "run", "--collector", "127.0.0.1:%d" % c.device_port,
                          "--server-name", "localhost", "--ca", env.ca(), "--cert", crt, "--key",
                          key, "--state-dir", state, "--root",
                          os.path.join(fixtures, "intel-server"), "--for", "60"],
                         stdout=log, stderr=subprocess.STDOUT)
    _PROCS.append(a)

    def listed():
        check(a.poll() is None, "the agent exited: %s" % open(log.name).read()[-500:])
        doc = env.wardctl_json(c, "devices")
        return [d for d in doc["devices"] if d["id"] == "dev-new" and d["state"] == "up"
                and d["last_heartbeat_ms"] > 0]
    wait_for(listed, 30, "the enrolled agent's first acknowledged heartbeat", step=0.2)
    a.terminate()
    a.wait(timeout=20)
    print("ok: the real agent reported with the enrolled certificate")
    # Refusals: another device's id, a damaged request; each audited.
    p = env.wardctl(c, "device", "enroll", "dev-other", "--csr", csr, check_rc=False)
    check(p.returncode == 1 and "HTTP 422" in p.stderr and "CN" in p.stderr,
          "a request for another id: %d %r" % (p.returncode, p.stderr))
    bad = os.path.join(env.dir, "bad.csr")
    pem = open(csr).read().splitlines()
    mid = len(pem) // 2
    pem[mid] = pem[mid][:10] + ("A" if pem[mid][10] != "A" else "B") + pem[mid][11:]
    open(bad, "w").write("\n".join(pem) + "\n")
    p = env.wardctl(c, "device", "enroll", "dev-new", "--csr", bad, check_rc=False)
    check(p.returncode == 1 and ("HTTP 422" in p.stderr), "a damaged request: %r" % p.stderr)
    log_text = audit_text(env)
    check(re.search(r"audit: actor=ops action=device\.enroll target=dev-new serial=", log_text)
          and "action=device.enroll.refused target=dev-other" in log_text,
          "enrolment not audited")
    print("ok: a request for another id and a damaged one are refused (422), all audited")
    # Offline: the admin signs with the root's key on the PKI host.
    key2, csr2 = agent_enroll(env, "dev-off", "dev-off")
    env.run_pki("sign-csr", "dev-off", "--csr", csr2)
    acks = post_ok(env, c, (os.path.join(env.pki, "devices", "dev-off.crt"), key2),
                   batch("dev-off", seqs=(1,)))
    check(acks.get(BOOT_A) == 1, "offline-signed device: acks %r" % acks)
    check(lifecycle(env, c)["enrolled"] == 1, "enrolled counter: %r" % lifecycle(env, c))
    print("ok: ward-pki sign-csr (offline CA) certificate reports too")


def enroll_token(env, c, device, expires="1h"):
    p = env.wardctl(c, "device", "enroll-token", device, "--expires", expires)
    tok = p.stdout.splitlines()[0].strip()
    check(re.fullmatch(r"wenr_[0-9a-f]{64}", tok) is not None, "token: %r" % p.stdout)
    path = os.path.join(env.dir, "%s.%s.token" % (device, expires))
    with open(path, "w") as f:
        f.write(tok + "\n")
    os.chmod(path, 0o600)
    return path


def self_enroll(env, c, device, token, force=False):
    p = env.dir
    cmd = [agent_bin(env), "enroll", "--id", device, "--key-out", os.path.join(p, device + ".key"),
           "--csr-out", os.path.join(p, device + ".csr"), "--token", token, "--collector",
           "127.0.0.1:%d" % c.api_port, "--server-name", "localhost", "--ca", env.ca(),
           "--cert-out", os.path.join(p, device + ".crt")] + (["--force"] if force else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def case_token(env):
    env.make_pki(devices=())
    c = env.start(*enrol_ca(env))
    tok = enroll_token(env, c, "dev-t")
    p = self_enroll(env, c, "dev-t", tok)
    check(p.returncode == 0 and "enrolled dev-t" in p.stdout, "enroll --token: %r %r"
          % (p.stdout, p.stderr))
    crt, key = os.path.join(env.dir, "dev-t.crt"), os.path.join(env.dir, "dev-t.key")
    acks = post_ok(env, c, (crt, key), batch("dev-t", seqs=(1,)))
    check(acks.get(BOOT_A) == 1, "the self-enrolled device: %r" % acks)
    print("ok: ward-agent enroll --token: enrolled over the operator port, reports")
    p = self_enroll(env, c, "dev-t", tok, force=True)
    check(p.returncode == 1 and "HTTP 401" in p.stderr, "a spent token: %r" % p.stderr)
    other = enroll_token(env, c, "dev-x")
    p = self_enroll(env, c, "dev-t", other, force=True)
    check(p.returncode == 1 and "HTTP 401" in p.stderr, "another device's token: %r" % p.stderr)
    short = enroll_token(env, c, "dev-s", expires="1")
    time.sleep(1.2)
    p = self_enroll(env, c, "dev-s", short)
    check(p.returncode == 1 and "HTTP 401" in p.stderr, "an expired token: %r" % p.stderr)
    log = audit_text(env)
    check("wenr_" not in c.log_text(), "a token in the log")
    check("action=device.enroll_token target=dev-t" in log and
          "actor=enroll-token:dev-t action=device.enroll target=dev-t" in log and
          log.count("action=device.enroll.refused") == 3 and "wenr_" not in log,
          "token actions not audited (or a token in the log)")
    print("ok: spent, foreign and expired tokens refused (401), all audited, no token logged")


def start_agent(env, c, crt, key, tag):
    log = open(os.path.join(env.dir, "agent-%s.log" % tag), "w")
    a = subprocess.Popen([agent_bin(env), "run", "--collector", "127.0.0.1:%d" % c.device_port,
                          "--server-name", "localhost", "--ca", env.ca(), "--cert", crt, "--key",
                          key, "--state-dir", os.path.join(env.dir, "agent-state"), "--root",
                          os.path.join(os.environ["WARD_FIXTURES"], "intel-server"),
                          "--for", "60"], stdout=log, stderr=subprocess.STDOUT)
    _PROCS.append(a)
    return a


def heartbeat_ms(env, c, device):
    for d in env.wardctl_json(c, "devices")["devices"]:
        if d["id"] == device:
            return d["last_heartbeat_ms"], d["state"]
    return 0, None


def short_lived(env, device):
    """A certificate with one day left, copied where the agent (and cert-renew) may replace it."""
    env.run_pki("device", device, "--days", "1")
    crt, key = os.path.join(env.dir, device + ".crt"), os.path.join(env.dir, device + ".key")
    src = env.device_files(device)
    open(crt, "w").write(open(src[0]).read())
    open(key, "w").write(open(src[1]).read())
    os.chmod(key, 0o600)
    return crt, key


def case_renew(env):
    env.make_pki(devices=())
    c = env.start(*enrol_ca(env))
    crt, key = short_lived(env, "dev-r")
    old_pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], capture_output=True,
                             text=True, check=True).stdout
    a = start_agent(env, c, crt, key, "before")
    hb0 = wait_for(lambda: heartbeat_ms(env, c, "dev-r")[0], 30, "the agent's first heartbeat")
    renew = [agent_bin(env), "cert-renew", "--collector", "127.0.0.1:%d" % c.device_port,
             "--server-name", "localhost", "--ca", env.ca(), "--cert", crt, "--key", key]
    p = subprocess.run(renew + ["--within", "2"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "renewed" in p.stdout, "renew: %r %r" % (p.stdout, p.stderr))
    new_pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], capture_output=True,
                             text=True, check=True).stdout
    cert_pub = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-pubkey"],
                              capture_output=True, text=True, check=True).stdout
    check(new_pub != old_pub and cert_pub == new_pub, "the new certificate is not for a new key")
    check(os.stat(key).st_mode & 0o777 == 0o600, "the new key is not 0600")
    end = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-checkend",
                          str(800 * 86400)], capture_output=True, text=True)
    check(end.returncode == 0, "the new certificate does not last 800 days")
    check("action=device.renew target=dev-r" in audit_text(env) and "actor=device:dev-r" in
          audit_text(env), "renewal not audited")
    print("ok: ward-agent cert-renew --within 2: a new key and an 825-day certificate, audited")
    p = subprocess.run(renew + ["--within", "30"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "not due" in p.stdout, "renew of a fresh one: %r" % p.stdout)
    # The running agent was not disturbed; restarted, it reports with the new certificate.
    hb1 = wait_for(lambda: heartbeat_ms(env, c, "dev-r")[0] > hb0 and
                   heartbeat_ms(env, c, "dev-r")[0], 30, "a heartbeat during the renewal")
    a.terminate()
    a.wait(timeout=20)
    a = start_agent(env, c, crt, key, "after")
    hb2 = wait_for(lambda: heartbeat_ms(env, c, "dev-r")[0] > hb1 and
                   heartbeat_ms(env, c, "dev-r")[0], 30, "a heartbeat with the new certificate")
    check(heartbeat_ms(env, c, "dev-r")[1] == "up", "the device left up")
    log = open(os.path.join(env.dir, "agent-after.log")).read()
    check(a.poll() is None and "refused" not in log, "the agent with the new certificate: %s"
          % log[-400:])
    a.terminate()
    a.wait(timeout=20)
    print("ok: heartbeats acknowledged before, during and after (%d -> %d -> %d)"
          % (hb0, hb1, hb2))


def serial_of(crt):
    p = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-serial"], capture_output=True,
                       text=True, check=True)
    return p.stdout.strip().split("=", 1)[1].lower().lstrip("0")


def audit_rows(env, action):
    return env.query("SELECT actor, target, detail FROM audit WHERE action = ? ORDER BY seq",
                     (action,))


def case_hotload(env):
    env.make_pki(devices=())
    c = env.start(*enrol_ca(env), "--check-interval", "200")
    crt, key = short_lived(env, "dev-h")
    old = serial_of(crt)
    a = start_agent(env, c, crt, key, "hot")
    wait_for(lambda: heartbeat_ms(env, c, "dev-h")[0], 30, "the agent's first heartbeat")
    renew = [agent_bin(env), "cert-renew", "--collector", "127.0.0.1:%d" % c.device_port,
             "--server-name", "localhost", "--ca", env.ca(), "--cert", crt, "--key", key]
    p = subprocess.run(renew + ["--force"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "renewed" in p.stdout, "renew: %r %r" % (p.stdout, p.stderr))
    new = serial_of(crt)
    check(new != old, "the renewal kept the serial")
    rows = wait_for(lambda: audit_rows(env, "device.certificate.switch"), 40,
                    "the collector to see the new certificate (audit device.certificate.switch)")
    # The collector writes serials as their bytes in hex (a leading 0 kept); serial_of() strips
    # leading zeros, so both sides are compared without them.
    got = dict(kv.split("=", 1) for kv in rows[0][2].split() if "=" in kv) if rows else {}
    check(len(rows) == 1 and rows[0][0] == "device:dev-h" and rows[0][1] == "dev-h" and
          got.get("serial", "").lstrip("0") == new and
          got.get("previous", "").lstrip("0") == old, "audit: %r (old %s new %s)"
          % (rows, old, new))
    check(a.poll() is None, "the agent stopped")
    alog = open(os.path.join(env.dir, "agent-hot.log")).read()
    check(re.search(r"new certificate .* loaded: serial [0-9A-F:]+, expires [^>]+ -> serial "
                    r"[0-9A-F:]+, expires", alog) is not None, "agent log: %s" % alog[-600:])
    check(lifecycle(env, c)["certificate_switches"] == 1, "health: %r" % lifecycle(env, c))
    check(metrics(env, c).get("ward_collector_devices_certificate_switches_total") == 1,
          "metrics: no certificate switch")
    print("ok: renewed while running: the next connection presents serial %s (was %s), "
          "same agent pid %d" % (new, old, a.pid))
    # The old certificate revoked (CRL, by serial): the agent, on the new one, keeps reporting.
    env.run_pki("revoke", "dev-h", "--serial", old)
    t_rev = int(time.time() * 1000)
    time.sleep(0.6)  # the collector reloads its CRL on its next check (200 ms)
    hb = wait_for(lambda: heartbeat_ms(env, c, "dev-h")[0] > t_rev and
                  heartbeat_ms(env, c, "dev-h")[0], 40, "a heartbeat after the revocation")
    check(heartbeat_ms(env, c, "dev-h")[1] == "up" and a.poll() is None, "the agent left up")
    # Touched (or a clock that moves file times): the same contents, nothing reloaded.
    os.utime(crt, (time.time() + 7200, time.time() + 7200))
    time.sleep(1.5)
    hot = open(os.path.join(env.dir, "agent-hot.log")).read()
    check(hot.count("new certificate") == 1 and "not used" not in hot, "a touch reloaded: %s"
          % hot[-600:])
    # A key that does not match the certificate in the file: refused, the pair in use kept.
    other = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:P-256"], capture_output=True, text=True,
                           check=True).stdout
    with open(key + ".tmp", "w") as f:
        f.write(other)
    os.chmod(key + ".tmp", 0o600)
    os.rename(key + ".tmp", key)
    wait_for(lambda: "does not match the certificate" in
             open(os.path.join(env.dir, "agent-hot.log")).read(), 10, "the mismatch's line")
    # The fixture's disks are first read about 4 s after start: their events may be in flight
    # now. A heartbeat stored over a second later follows their acknowledgement (one request
    # at a time), so the journal is empty when the agent stops.
    t_quiet = int(time.time() * 1000) + 1100
    wait_for(lambda: heartbeat_ms(env, c, "dev-h")[0] > t_quiet, 20, "a heartbeat after the events")
    a.terminate()
    a.wait(timeout=20)
    alog = open(os.path.join(env.dir, "agent-hot.log")).read()
    check("stopped; 0 unacknowledged events kept in the journal" in alog,
          "events left unacknowledged: %s" % alog[-600:])
    check(len(audit_rows(env, "device.certificate.switch")) == 1, "a switch to a bad pair")
    check("refused" not in alog, "a connection was refused: %s" % alog[-600:])
    print("ok: old serial revoked, heartbeats go on (%d); a mismatched key kept out; the journal "
          "empty at the end" % hb)


def case_revoke(env):
    env.make_pki()
    c = env.start()
    s = raw_tls(env, c, "dev-a")
    body = batch("dev-a", seqs=(1,))
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    st, data = read_http_response(s)
    check(st == 200, "dev-a's first report: %r" % st)
    b = DeviceClient(env, c, "dev-b").connect()
    t0 = time.monotonic()
    p = env.wardctl(c, "device", "revoke", "dev-a", "--reason", "stolen")
    check(peer_closed(s, timeout=1.0), "dev-a's live connection still open 1 s after revoke")
    dt = time.monotonic() - t0
    check("1 live connection(s) closed" in p.stdout, "wardctl device revoke: %r" % p.stdout)
    print("ok: revoke closed dev-a's live connection in %.2fs (wardctl included)" % dt)
    try:
        s2 = raw_tls(env, c, "dev-a")
        s2.sendall(b"GET / HTTP/1.1\r\n\r\n")
        st2, _ = read_http_response(s2)
        check(st2 is None, "a revoked device got an answer: %r" % st2)
    except (OSError, Fail):
        pass
    st, _, _ = b.post(batch("dev-b", seqs=(1,)))
    check(st == 200, "dev-b was disturbed: %d" % st)
    b.close()
    lc = lifecycle(env, c)
    h = c.health()
    check(lc["revoked"] == 1 and lc["refused_revoked"] >= 1 and lc["connections_closed"] == 1,
          "health lifecycle: %r" % lc)
    check(h["tls"]["rejected"] >= 1, "health tls: %r" % h["tls"])
    m = metrics(env, c)
    check(m.get("ward_collector_devices_refused_revoked_total", 0) >= 1 and
          m.get('ward_collector_tls_handshakes_rejected_total{reason="revoked"}', 0) >= 1 and
          m.get("ward_collector_devices_connections_closed_total") == 1,
          "metrics: %r" % {k: v for k, v in m.items() if "revoked" in k or "closed" in k})
    ev = wait_for(lambda: device_events(env, c, "dev-a", "certificate"), 5,
                  "the revocation's event")
    check(ev[0]["to"] == "revoked" and ev[0]["severity"] == "high", "event: %r" % ev[0])
    check("audit: actor=ops action=device.revoke target=dev-a closed=1" in audit_text(env),
          "revocation not audited")
    print("ok: reconnect refused; counted in /v1/health, /metrics; high event; audited")
    # Kept across a restart; a certificate issued after the revocation is accepted.
    c.stop()
    c = env.start()
    try:
        post_ok(env, c, "dev-a", batch("dev-a", seqs=(2,)))
        raise Fail("dev-a's revoked certificate accepted after a restart")
    except (OSError, Fail) as e:
        check("accepted after a restart" not in str(e), str(e))
    time.sleep(1.1)  # a new notBefore after the revocation's second
    env.run_pki("device", "dev-a", "--force")
    acks = post_ok(env, c, "dev-a", batch("dev-a", seqs=(2,)))
    check(acks.get(BOOT_A) == 2, "re-issued dev-a: %r" % acks)
    print("ok: still refused after a restart; a certificate issued after it works")


def case_remove(env):
    env.make_pki()
    c = env.start("--silent-factor", "2", "--check-interval", "50")
    post_ok(env, c, "dev-a", batch("dev-a", seqs=(1,), interval_ms=200))
    post_ok(env, c, "dev-b", batch("dev-b", seqs=(1,), interval_ms=200))
    wait_for(lambda: env.wardctl_json(c, "devices")["silent"] == 2, 10, "both devices silent")
    env.wardctl(c, "device", "remove", "dev-a", "--reason", "decommissioned")

    def states():
        return {d["id"]: d["state"] for d in env.wardctl_json(c, "devices")["devices"]}
    wait_for(lambda: states().get("dev-a") == "removed", 5, "dev-a removed")
    time.sleep(1.0)  # several silence checks
    check(states() == {"dev-a": "removed", "dev-b": "silent"}, "states: %r" % states())
    h = c.health()["fleet"]
    check(h["removed"] == 1 and h["silent"] == 1 and h["lifecycle"]["removed"] == 1,
          "health: %r" % h)
    m = metrics(env, c)
    check(m.get('ward_devices{state="removed"}') == 1 and m.get('ward_devices{state="silent"}') == 1,
          "metrics ward_devices: %r" % {k: v for k, v in m.items() if k.startswith("ward_devices")})
    tr = [e for e in device_events(env, c, "dev-a", "device") if e["to"] == "removed"]
    check(len(tr) == 1 and tr[0]["from"] == "silent", "the removal event: %r" % tr)
    check(len(device_events(env, c, "dev-a", "temp:cpu0")) == 1, "dev-a's history is gone")
    check("audit: actor=ops action=device.remove target=dev-a" in audit_text(env), "not audited")
    c.stop()
    c = env.start("--silent-factor", "2", "--check-interval", "50")
    time.sleep(0.5)
    check(states()["dev-a"] == "removed", "after a restart: %r" % states())
    try:
        post_ok(env, c, "dev-a", batch("dev-a", seqs=(2,)))
        raise Fail("a removed device's certificate was accepted")
    except (OSError, Fail) as e:
        check("was accepted" not in str(e), str(e))
    print("ok: removed, never silent again, history kept, refused, kept across a restart")


def case_duplicate(env):
    env.make_pki()
    c = env.start()
    # A legitimate restart of dev-b: one switch of boot id.
    post_ok(env, c, "dev-b", batch("dev-b", boot=BOOT_A, seqs=(1,)))
    post_ok(env, c, "dev-b", batch("dev-b", boot=BOOT_B, seqs=(1,)))
    # Two agents with dev-a's certificate, reporting in turn, each on its own connection.
    x, y = DeviceClient(env, c, "dev-a").connect(), DeviceClient(env, c, "dev-a").connect()
    for i in range(1, 4):
        for cl, boot in ((x, BOOT_A), (y, BOOT_B)):
            st, _, data = cl.post(batch("dev-a", boot=boot, seqs=(), hb_seq=i))
            check(st == 200, "a report: %d" % st)
    x.close()
    y.close()
    ev = wait_for(lambda: device_events(env, c, "dev-a", "certificate"), 5, "the duplicate event")
    check(len(ev) == 1 and ev[0]["to"] == "duplicate" and ev[0]["severity"] == "high",
          "events: %r" % ev)
    check(device_events(env, c, "dev-b", "certificate") == [], "a restart was taken for a "
          "duplicate")
    check(lifecycle(env, c)["duplicates"] == 1, "health: %r" % lifecycle(env, c))
    check(metrics(env, c).get("ward_collector_devices_duplicate_certificate_total") == 1,
          "metrics")
    check("its certificate is in use by two agents at once" in c.log_text(), "no log line")
    print("ok: two agents with one certificate: one high event, counted; a restart is not one")


class SourceClient(DeviceClient):
    """A device connection from a given loopback source address (another host, for the
    collector)."""

    def __init__(self, env, c, device, source):
        DeviceClient.__init__(self, env, c, device)
        self.source = source

    def connect(self):
        self.conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx,
                                                timeout=self.timeout,
                                                source_address=(self.source, 0))
        self.conn.connect()
        return self


def case_dupaddr(env):
    env.make_pki()
    c = env.start()
    # One agent (one boot id) whose address changes: DHCP, NAT. Its old connection stays open.
    old = SourceClient(env, c, "dev-b", "127.0.0.1").connect()
    st, _, _ = old.post(batch("dev-b", boot=BOOT_A, seqs=(), hb_seq=1))
    check(st == 200, "dev-b: %d" % st)
    moved = SourceClient(env, c, "dev-b", "127.0.0.3").connect()
    for i in range(2, 5):
        st, _, _ = moved.post(batch("dev-b", boot=BOOT_A, seqs=(), hb_seq=i))
        check(st == 200, "dev-b moved: %d" % st)
    st, _, _ = old.post(batch("dev-b", boot=BOOT_A, seqs=(), hb_seq=5))
    check(st == 200, "dev-b's old connection: %d" % st)
    # Two agents with dev-a's certificate at once, on two hosts.
    x = SourceClient(env, c, "dev-a", "127.0.0.1").connect()
    y = SourceClient(env, c, "dev-a", "127.0.0.2").connect()
    for i in range(1, 4):
        for cl, boot in ((x, BOOT_A), (y, BOOT_B)):
            st, _, _ = cl.post(batch("dev-a", boot=boot, seqs=(), hb_seq=i))
            check(st == 200, "a report: %d" % st)
    for cl in (old, moved, x, y):
        cl.close()
    ev = wait_for(lambda: device_events(env, c, "dev-a", "certificate"), 5, "the duplicate event")
    check(len(ev) == 1 and ev[0]["to"] == "duplicate" and ev[0]["severity"] == "high",
          "events: %r" % ev)
    check(device_events(env, c, "dev-b", "certificate") == [], "a moved agent was taken for a "
          "duplicate")
    rows = audit_rows(env, "device.certificate.duplicate")
    peers = re.findall(r"peer=(127\.0\.0\.[0-9]+):[0-9]+", rows[0][2]) if rows else []
    check(len(rows) == 1 and rows[0][0] == "collector" and rows[0][1] == "dev-a" and
          sorted(peers) == ["127.0.0.1", "127.0.0.2"] and BOOT_A in rows[0][2] and
          BOOT_B in rows[0][2], "audit: %r" % rows)
    lc = lifecycle(env, c)
    dup = lc.get("duplicate", [])
    check(lc["duplicates"] == 1 and len(dup) == 1 and dup[0]["device"] == "dev-a" and
          {dup[0]["peer"].rsplit(":", 1)[0], dup[0]["other_peer"].rsplit(":", 1)[0]} ==
          {"127.0.0.1", "127.0.0.2"}, "health: %r" % lc)
    check(metrics(env, c).get("ward_collector_devices_duplicate_certificate_total") == 1,
          "metrics")
    check("two addresses" in c.log_text(), "no log line naming the addresses")
    print("ok: one certificate on 127.0.0.1 and 127.0.0.2 at once: raised, audited, in "
          "/metrics and /v1/health; an agent moving to 127.0.0.3 is not a duplicate")


if __name__ == "__main__":
    main({"enroll": case_enroll, "token": case_token, "renew": case_renew, "hotload": case_hotload,
          "revoke": case_revoke, "remove": case_remove,
          "duplicate": case_duplicate, "dupaddr": case_dupaddr})
