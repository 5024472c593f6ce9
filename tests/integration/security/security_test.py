#!/usr/bin/python3
"""Accounts, roles, API tokens and the audit log (issue 13) against real processes.

    security_test.py BUILD_DIR WORK_DIR CASE

login            an admin made offline logs in with a TOTP code from oathtool; the code
                 cannot be replayed; the next step's code works; wrong passwords lock the
                 account; failures from one address throttle it; logout ends the session;
                 every step is in the audit log
roles            every principal (file token, viewer/operator/admin sessions, a device-scoped
                 token, an expired, a revoked and an out-of-network token) on every endpoint:
                 refusals are 401/403 and audited; scoped tokens see only their devices
tamper           the audit log edited, an entry deleted, two reordered, one inserted, the tail
                 truncated after a checkpoint, each with the sqlite3 CLI on a copy of the
                 state; `ward-collector audit-verify` names the entry; `wardctl audit verify`
                 against a running collector too
device_refusals  refused device handshakes are audited, at most 60 a minute plus a summary
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "collector"))
import harness  # noqa: E402
from harness import Fail, batch, check, client_context, main, post_ok, wait_for  # noqa: E402

PASSWORD = "correct horse battery"


def offline(env, *args, stdin=None):
    p = subprocess.run([env.collector_bin] + list(args), capture_output=True, text=True,
                       timeout=60, input=stdin)
    return p


def add_user(env, name, role, state=None):
    """ward-collector user add (offline): returns the base32 TOTP secret."""
    pw = os.path.join(env.dir, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    p = offline(env, "user", "add", name, "--role", role, "--state", state or env.state,
                "--password-file", pw, *env.storage_args)
    check(p.returncode == 0 and "otpauth://totp/ward:%s?secret=" % name in p.stdout,
          "user add %s: %r %r" % (name, p.stdout, p.stderr))
    return p.stdout.split("secret=")[1].split("&")[0]


def totp(secret, at=None):
    args = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        args += ["-N", "@%d" % at]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def request(col, method, path, headers, body=None):
    """One HTTPS request to col's operator listener: (status, the response's headers, data)."""
    ctx = ssl.create_default_context(cafile=col.env.ca())
    conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=10)
    if body is not None:
        headers = dict(headers, **{"Content-Type": "application/json"})
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, r, json.loads(data) if data.startswith(b"{") else data
    finally:
        conn.close()


def api(col, method, path, token=None, body=None):
    st, _, doc = request(col, method, path,
                         {"Authorization": "Bearer " + token} if token else {}, body)
    return st, doc


def login(col, user, secret, at=None):
    st, doc = api(col, "POST", "/v1/login", body={"user": user, "password": PASSWORD,
                                                   "totp": totp(secret, at)})
    check(st == 200, "login %s: %d %r" % (user, st, doc))
    return doc["token"]


def audit(env, where=""):
    # With PostgreSQL (WARD_TEST_STORAGE=postgresql) the log is op_audit, in the order of ids.
    table, order = ("op_audit", "id") if env.pg is not None else ("audit", "seq")
    return env.query("SELECT %s, actor, action, target, outcome, detail FROM %s " %
                     (order, table) + where + " ORDER BY " + order)


def file_token(env):
    with open(env.token_file) as f:
        return f.read().strip()


def case_login(env):
    env.make_pki()
    secret = add_user(env, "root", "admin")
    col = env.start("--login-max-failures", "3", "--login-lockout", "1h",
                    "--login-source-failures", "5")
    session = os.path.join(env.dir, "session")
    os.environ["WARD_SESSION_FILE"] = session
    pw = os.path.join(env.dir, "pw")
    now = int(time.time())
    code = totp(secret, now)
    base = [env.wardctl_bin, "--url", "https://localhost:%d" % col.api_port, "--ca", env.ca()]
    p = subprocess.run(base + ["login", "root", "--password-file", pw, "--totp", code],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "logged in as root (admin)" in p.stdout, "login: %r" % p.stderr)
    check(os.stat(session).st_mode & 0o777 == 0o600, "session file mode")
    p = subprocess.run(base + ["health"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "a command with the session: %r" % p.stderr)
    # the same code again: refused (no replay), even with the right password
    p = subprocess.run(base + ["login", "root", "--password-file", pw, "--totp", code],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "401" in p.stderr, "a replayed code was accepted: %r" % p.stdout)
    # the next step's code (within the window) is accepted
    token = login(col, "root", secret, now + 30)
    st, who = api(col, "GET", "/v1/whoami", token)
    check(st == 200 and who["kind"] == "session" and who["role"] == "admin", "whoami %r" % who)
    p = subprocess.run(base + ["logout"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and not os.path.exists(session), "logout: %r" % p.stderr)
    st, _ = api(col, "GET", "/v1/whoami", token)
    check(st == 200, "logout ended another session")  # only the presented session ends
    st, _ = api(col, "POST", "/v1/logout", token, {})
    st, doc = api(col, "GET", "/v1/whoami", token)
    check(st == 401 and "ended" in doc["error"], "a logged-out session still works: %r" % doc)
    # three wrong passwords lock the account; then the right ones are refused too
    for _ in range(3):
        st, _ = api(col, "POST", "/v1/login", body={"user": "root", "password": "wrong!wrong!",
                                                     "totp": totp(secret)})
        check(st == 401, "a wrong password answered %d" % st)
    st, doc = api(col, "POST", "/v1/login", body={"user": "root", "password": PASSWORD,
                                                   "totp": totp(secret, now + 60)})
    check(st == 403 and "locked" in doc["error"], "a locked account logged in: %d %r" % (st, doc))
    # the fifth failure from this address (--login-source-failures 5) throttles it
    st, _ = api(col, "POST", "/v1/login", body={"user": "nobody", "password": PASSWORD,
                                                 "totp": "123456"})
    check(st == 401, "an unknown user answered %d" % st)
    st, doc = api(col, "POST", "/v1/login", body={"user": "nobody", "password": PASSWORD,
                                                   "totp": "123456"})
    check(st == 429, "the sixth failure from one address answered %d %r" % (st, doc))
    actions = [r[2] for r in audit(env)]
    for a in ("user.login", "user.login.failed", "user.lock", "user.login.locked",
              "user.login.throttled", "user.logout"):  # docs/security.md, "Audit actions"
        check(a in actions, "no %s in the audit log: %r" % (a, actions))
    text = api(col, "GET", "/metrics", file_token(env))[1].decode()
    check('ward_collector_logins_total{result="ok"} 2' in text and
          "ward_collector_login_lockouts_total 1" in text, "metrics: %s" %
          [l for l in text.splitlines() if "login" in l])
    p = subprocess.run(base + ["--token-file", env.token_file, "audit", "--actor", "root",
                               "--action", "login"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "login.lockout" not in p.stdout and "login.failed" in p.stdout,
          "wardctl audit --actor --action: %r" % p.stdout)


# (method, path, body, role needed, what a device-scoped viewer gets: "ok", "403")
ENDPOINTS = [
    ("GET", "/v1/health", None, "viewer", "ok"),
    ("GET", "/v1/devices", None, "viewer", "ok"),
    ("GET", "/v1/devices/dev-a", None, "viewer", "ok"),
    ("GET", "/v1/devices/dev-b", None, "viewer", "403"),
    ("GET", "/v1/events", None, "viewer", "ok"),
    ("GET", "/v1/events?device=dev-b", None, "viewer", "403"),
    ("GET", "/metrics", None, "viewer", "403"),
    ("GET", "/v1/incidents", None, "viewer", "403"),
    ("GET", "/v1/silences", None, "viewer", "403"),
    ("GET", "/v1/whoami", None, "viewer", "ok"),
    ("POST", "/v1/incidents/999/ack", {}, "operator", "403"),
    ("POST", "/v1/silences", {"match": "dev-z", "for_s": 60, "text": "test"}, "operator", "403"),
    ("GET", "/v1/users", None, "admin", "403"),
    ("POST", "/v1/users", {"name": "zed", "role": "viewer", "password": PASSWORD}, "admin",
     "403"),
    ("GET", "/v1/tokens", None, "admin", "403"),
    ("POST", "/v1/tokens/nope/revoke", {}, "admin", "403"),
    ("GET", "/v1/audit", None, "admin", "403"),
    ("GET", "/v1/audit/verify", None, "admin", "403"),
]
RANK = {"viewer": 1, "operator": 2, "admin": 3}


def case_roles(env):
    env.make_pki()
    secrets = {r: add_user(env, r + "1", r) for r in ("viewer", "operator", "admin")}
    col = env.start("--audit-refusals", "10000")  # every refusal gets its own entry here
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    post_ok(env, col, "dev-b", batch("dev-b", seqs=[1]))
    admin = login(col, "admin1", secrets["admin"])
    principals = {"file-token": (file_token(env), "admin")}
    for r, s in secrets.items():
        principals[r] = (admin if r == "admin" else login(col, r + "1", s), r)

    def token(name, **kw):
        body = {"name": name, "role": "viewer", "devices": "*", "expires_s": 3600}
        body.update(kw)
        st, doc = api(col, "POST", "/v1/tokens", admin, body)
        check(st == 200 and doc["token"].startswith("wardT_"), "token create %s: %r" % (name, doc))
        return doc["token"]

    scoped = token("nms", devices="dev-a*")
    expired = token("old", expires_s=1)
    revoked = token("gone")
    network = token("far", **{"from": "10.0.0.0/8"})
    st, _ = api(col, "POST", "/v1/tokens/gone/revoke", admin, {})
    check(st == 200, "revoke")
    time.sleep(1.1)
    dead = {"expired": expired, "revoked": revoked, "out-of-network": network,
            "unknown": "wardT_" + "0" * 64}
    for name, (tok, role) in principals.items():
        for method, path, body, need, _ in ENDPOINTS:
            before = len(audit(env))
            st, doc = api(col, method, path, tok, body)
            if RANK[role] >= RANK[need]:
                check(st not in (401, 403), "%s (%s) refused %s %s: %d %r" % (name, role, method,
                                                                            path, st, doc))
            else:
                check(st == 403, "%s (%s) on %s %s: %d, not 403" % (name, role, method, path, st))
                wait_for(lambda: any(r[2] == "access.denied" for r in audit(env)[before:]), 5,
                         "the refusal of %s %s to %s in the audit log" % (method, path, name))
    for method, path, body, _, scope in ENDPOINTS:
        before = len(audit(env))
        st, doc = api(col, method, path, scoped, body)
        if scope == "ok" and method == "GET":
            check(st == 200, "scoped token refused %s: %d %r" % (path, st, doc))
        else:
            check(st == 403, "scoped token on %s %s: %d" % (method, path, st))
            check(len(audit(env)) > before, "the scoped refusal of %s was not audited" % path)
        for why, tok in dead.items():
            before = len(audit(env))
            st, doc = api(col, method, path, tok, body)
            check(st == 401, "%s token on %s: %d" % (why, path, st))
            check(any(r[2] == "auth.refused" for r in audit(env)[before:]),
                  "the %s token's refusal was not audited" % why)
    st, doc = api(col, "GET", "/v1/devices", scoped)
    check([d["id"] for d in doc["devices"]] == ["dev-a"] and doc["count"] == 1,
          "scoped device list %r" % doc)
    st, doc = api(col, "GET", "/v1/events", scoped)
    check({e["device"] for e in doc["events"]} == {"dev-a"}, "scoped events %r" % doc)
    st, doc = api(col, "GET", "/v1/tokens", admin)
    nms = [t for t in doc["tokens"] if t["name"] == "nms"][0]
    check(nms["uses"] >= 8 and nms["last_used_ms"] > 0, "token use not recorded: %r" % nms)
    states = {t["name"]: t["state"] for t in doc["tokens"]}
    check(states["old"] == "expired" and states["gone"] == "revoked", "states %r" % states)
    st, _ = api(col, "POST", "/v1/audit", admin, {})
    check(st in (404, 405), "a write route on /v1/audit answered %d" % st)
    actions = {r[2] for r in audit(env)}
    for a in ("token.create", "token.revoke", "user.add", "access.denied", "auth.refused"):
        check(a in actions, "no %s in the audit log" % a)


def run_verify(env, state):
    p = offline(env, "audit-verify", "--state", state)
    return p.returncode, p.stdout + p.stderr


def tampered(env, name, sql):
    """A copy of the stopped collector's state with sql applied by the sqlite3 CLI."""
    copy = os.path.join(env.dir, "tamper-" + name)
    shutil.copytree(env.state, copy)
    sql = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; " + sql
    subprocess.run(["sqlite3", os.path.join(copy, "ward.db"), sql], check=True, timeout=30)
    return copy


def case_tamper(env):
    env.make_pki()
    secret = add_user(env, "root", "admin")
    col = env.start()
    tok = login(col, "root", secret)
    for i in range(4):
        api(col, "POST", "/v1/tokens", tok, {"name": "t%d" % i, "role": "viewer",
                                              "expires_s": 600})
    col.stop()  # the last checkpoint
    rc, out = run_verify(env, env.state)
    n = len(audit(env))
    check(rc == 0 and "audit log ok: %d entries" % n in out, "clean log: %s" % out)
    cases = [
        ("edit", "UPDATE audit SET detail = 'viewer' WHERE seq = 3", "entry 3 was edited"),
        ("delete", "DELETE FROM audit WHERE seq = 4", "entry 4 was deleted"),
        ("reorder", "UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE "
         "seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1", "entry 3 is out of order"),
        ("insert", "INSERT INTO audit SELECT 1000, at_ms, 'eve', source, action, target, "
         "outcome, detail, prev, hash FROM audit WHERE seq = 2; UPDATE audit SET seq = -(seq + 1) "
         "WHERE seq > 4 AND seq < 1000; UPDATE audit SET seq = -seq WHERE seq < 0; "
         "UPDATE audit SET seq = 5 WHERE seq = 1000",
         "entry 5 "),
        ("truncate", "DELETE FROM audit WHERE seq > %d" % (n - 2),
         "truncated: a checkpoint signed %d entries, %d remain" % (n, n - 2)),
    ]
    for name, sql, want in cases:
        rc, out = run_verify(env, tampered(env, name, sql))
        check(rc == 1 and "TAMPERED" in out and want in out, "%s: %r" % (name, out))
    # a forged checkpoint line (another key) is refused too
    copy = os.path.join(env.dir, "tamper-sig")
    shutil.copytree(env.state, copy)
    with open(os.path.join(copy, "audit-checkpoints")) as f:
        lines = f.read().splitlines()
    lines[-1] = lines[-1].replace("count=", "count=1")
    with open(os.path.join(copy, "audit-checkpoints"), "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out = run_verify(env, copy)
    check(rc == 1 and "signature does not verify" in out, "forged checkpoint: %r" % out)
    # the running collector's own verification, through wardctl
    edited = tampered(env, "live", "UPDATE audit SET actor = 'eve' WHERE seq = 2")
    col2 = env.start(state=edited)
    p = env.wardctl(col2, "audit", "verify", check_rc=False)
    check(p.returncode == 1 and "entry 2 was edited" in p.stdout, "wardctl audit verify: %r" %
          (p.stdout + p.stderr))
    col2.stop()


def case_device_refusals(env):
    env.make_pki()
    col = env.start()
    for i in range(65):
        try:
            s = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
            s = client_context(env, None).wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            s.recv(10)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
            pass
    wait_for(lambda: len(audit(env, "WHERE action = 'device.refused'")) >= 60, 10,
             "60 refusals in the audit log")
    text = api(col, "GET", "/metrics", file_token(env))[1].decode()
    sup = [l for l in text.splitlines() if l.startswith("ward_collector_audit_suppressed_total")]
    check(sup and float(sup[0].split()[1]) >= 1, "nothing suppressed: %r" % sup)
    col.stop()
    rows = audit(env, "WHERE action IN ('device.refused', 'audit.suppressed')")
    check(len([r for r in rows if r[2] == "device.refused"]) == 60, "refusals %d" % len(rows))
    check(rows[-1][2] == "audit.suppressed" and "more refusals" in rows[-1][5],
          "no summary entry: %r" % rows[-1:])
    check(rows[0][4] == "refused" and rows[0][1].startswith("device:"), "entry %r" % (rows[0],))


if __name__ == "__main__":
    main({n[5:]: f for n, f in globals().items() if n.startswith("case_")})
