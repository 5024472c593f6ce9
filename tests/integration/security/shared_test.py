#!/usr/bin/python3
"""Accounts, sessions and API tokens shared by two collectors on one PostgreSQL (issue 17).

    shared_test.py BUILD_DIR WORK_DIR CASE

accounts  collectors A and B on one PostgreSQL (state directories of their own): an admin
          made offline (`ward-collector user add --storage postgresql:`) logs in on A; the
          session works on B and its TOTP code cannot be replayed on B; an account and an API
          token made through B's API work on A; a token revoked on A, an account removed on A
          and a logout on B are refused on the other at its next request; both list the same
          accounts and tokens. The dashboard's cookie issued by A works on B (its CSRF token
          too, and a POST without it is refused there), the table holds only the hash of the
          cookie's id and a sealed credential, and a dashboard logout on B ends it on A.
audit     the audit log of A and B in one table, one chain per collector: GET /v1/audit on
          either lists the actions of both; verify passes on both (online and offline
          `ward-collector audit-verify --storage postgresql:`); an entry of B's chain edited in
          the database (its append-only trigger bypassed) is found by A's verify, naming B's
          node and the entry; a truncated tail of A's chain, and all of it deleted, by A's
          signed checkpoints.
revoke    dev-a reporting to B over a live connection is revoked through A's API: B closes
          that connection and refuses a new handshake of dev-a within seconds (its read-back of
          the revocations), dev-b on B is untouched; an enrolment token made on A is spent on
          B and then refused on A.

Needs root and the PostgreSQL 15 server binaries (pgserver.py); skips (77) without them.
"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "collector"))
import harness  # noqa: E402
from harness import (DeviceClient, batch, check, main, peer_closed, post_ok,  # noqa: E402
                     raw_tls, read_http_response)
from security_test import PASSWORD, api, login, offline, request, totp  # noqa: E402


def pg_user_add(env, name, role):
    """ward-collector user add with the PostgreSQL storage: returns the base32 TOTP secret."""
    pw = os.path.join(env.dir, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    p = offline(env, "user", "add", name, "--role", role, "--state", env.state,
                "--password-file", pw, *env.storage_args)
    check(p.returncode == 0 and "otpauth://totp/ward:%s?secret=" % name in p.stdout,
          "user add %s: %r %r" % (name, p.stdout, p.stderr))
    return p.stdout.split("secret=")[1].split("&")[0]


def refused(col, token, why):
    st, doc = api(col, "GET", "/v1/whoami", token)
    check(st == 401 and why in doc.get("error", ""), "%s: %d %r" % (why, st, doc))


def ui(col, method, path, cookie=None, csrf=None, body=None):
    """A dashboard request: the browser's Origin (this collector), its cookie and CSRF token."""
    headers = {"Origin": "https://localhost:%d" % col.api_port}
    if cookie:
        headers["Cookie"] = "__Host-ward_session=" + cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    st, r, doc = request(col, method, path, headers, body)
    return st, r.getheader("Set-Cookie") or "", doc


def dashboard_shared(env, a, b, session):
    """The dashboard's cookie of A on B; logged out on B, refused on A."""
    st, set_cookie, doc = ui(a, "POST", "/ui/login", body={"token": session})
    check(st == 200 and set_cookie.startswith("__Host-ward_session="),
          "dashboard login on A: %d %r %r" % (st, set_cookie, doc))
    cookie, csrf = set_cookie.split("=", 1)[1].split(";")[0], doc["csrf"]
    rows = env.pg.query("SELECT encode(sha256, 'hex'), user_name, encode(sealed, 'hex') "
                        "FROM op_dash_sessions")
    check(len(rows) == 1 and rows[0][0] == hashlib.sha256(cookie.encode()).hexdigest() and
          rows[0][1] == "root" and cookie not in rows[0][2] and csrf not in rows[0][2] and
          session.encode().hex() not in rows[0][2], "the stored session: %r" % rows)
    st, _, doc = ui(b, "GET", "/ui/session", cookie)
    check(st == 200 and doc["who"] == "root" and doc["csrf"] == csrf,
          "A's dashboard cookie on B: %d %r" % (st, doc))
    st, _, doc = ui(b, "GET", "/v1/whoami", cookie)
    check(st == 200 and doc["name"] == "root",
          "an API read on B with A's cookie: %d %r" % (st, doc))
    dash = b.health()["dashboard"]
    check(dash["sessions_in"] == "postgresql" and dash["sessions"] == 1 and
          dash["session_store_errors"] == 0, "B's /v1/health dashboard: %r" % dash)
    st, _, doc = ui(b, "POST", "/ui/logout", cookie, body={})
    check(st == 403, "a logout on B without the CSRF token: %d %r" % (st, doc))
    st, _, doc = ui(b, "POST", "/ui/logout", cookie, "0" * 64, body={})
    check(st == 403, "a logout on B with a wrong CSRF token: %d %r" % (st, doc))
    st, _, doc = ui(b, "POST", "/ui/logout", cookie, csrf, body={})
    check(st == 200, "dashboard logout on B: %d %r" % (st, doc))
    for path in ("/ui/session", "/v1/whoami"):
        st, _, doc = ui(a, "GET", path, cookie)
        check(st == 401, "A still takes the cookie after the logout on B: %s %d %r" %
              (path, st, doc))
    check(env.pg.query("SELECT count(*) FROM op_dash_sessions")[0][0] == 0,
          "the session's row outlived the logout")
    with open(env.token_file) as f:
        text = api(a, "GET", "/metrics", f.read().strip())[1].decode()
    check("ward_dashboard_sessions 0" in text and
          "ward_dashboard_session_store_errors_total 0" in text, "A's /metrics")


def case_accounts(env):
    check(env.pg is not None, "run with WARD_TEST_STORAGE=postgresql")
    env.make_pki()
    secret = pg_user_add(env, "root", "admin")
    a = env.start()
    b = env.start(state=os.path.join(env.dir, "state-b"))
    # a session made on A is valid on B
    session = login(a, "root", secret)
    st, who = api(b, "GET", "/v1/whoami", session)
    check(st == 200 and who["kind"] == "session" and who["name"] == "root",
          "A's session on B: %d %r" % (st, who))
    # the code A took cannot be replayed on B
    st, doc = api(b, "POST", "/v1/login", body={"user": "root", "password": PASSWORD,
                                                 "totp": totp(secret)})
    check(st == 401, "a TOTP code used on A was accepted on B: %d %r" % (st, doc))
    # an account and a token made through B's API work on A
    st, doc = api(b, "POST", "/v1/users", session,
                  {"name": "ops", "role": "operator", "password": PASSWORD})
    check(st == 200 and "secret=" in doc.get("otpauth", ""), "user add on B: %d %r" % (st, doc))
    ops = login(a, "ops", doc["otpauth"].split("secret=")[1].split("&")[0])
    st, who = api(a, "GET", "/v1/whoami", ops)
    check(st == 200 and who["role"] == "operator", "B's account on A: %d %r" % (st, who))
    st, doc = api(b, "POST", "/v1/tokens", session,
                  {"name": "nms", "role": "viewer", "devices": "*", "expires_s": 3600})
    check(st == 200 and doc["token"].startswith("wardT_"), "token on B: %d %r" % (st, doc))
    nms = doc["token"]
    st, who = api(a, "GET", "/v1/whoami", nms)
    check(st == 200 and who["kind"] == "token", "B's token on A: %d %r" % (st, who))
    # both list the same accounts and tokens
    for path, key, want in (("/v1/users", "users", ["ops", "root"]),
                            ("/v1/tokens", "tokens", ["nms"])):
        la, lb = api(a, "GET", path, session)[1], api(b, "GET", path, session)[1]
        names = [x["name"] for x in la[key]]
        check(names == [x["name"] for x in lb[key]] == want,
              "%s differ: %r %r" % (path, la, lb))
    toks = {t["name"]: t for t in api(b, "GET", "/v1/tokens", session)[1]["tokens"]}
    check(toks["nms"]["uses"] >= 1, "the use on A not counted on B: %r" % toks)
    # revoked on A: refused on B; removed on A: B's sessions of it end
    st, _ = api(a, "POST", "/v1/tokens/nms/revoke", session, {})
    check(st == 200, "revoke on A: %d" % st)
    refused(b, nms, "revoked")
    st, _ = api(a, "POST", "/v1/users/ops/remove", session, {})
    check(st == 200, "user remove on A: %d" % st)
    refused(b, ops, "session")
    dashboard_shared(env, a, b, session)
    # logged out on B: refused on A
    st, _ = api(b, "POST", "/v1/logout", session, {})
    check(st == 200, "logout on B: %d" % st)
    refused(a, session, "ended")
    for c in (a, b):
        check(c.stop() == 0, "a collector's exit status")


def verify(col, token):
    st, doc = api(col, "GET", "/v1/audit/verify", token)
    check(st == 200, "verify: %d %r" % (st, doc))
    return doc


def offline_verify(env, state):
    p = offline(env, "audit-verify", "--state", state, *env.storage_args)
    return p.returncode, p.stdout + p.stderr


def case_audit(env):
    check(env.pg is not None, "run with WARD_TEST_STORAGE=postgresql")
    env.make_pki()
    secret = pg_user_add(env, "root", "admin")
    state_b = os.path.join(env.dir, "state-b")
    a = env.start()
    b = env.start(state=state_b)
    session = login(a, "root", secret)
    st, _ = api(b, "POST", "/v1/tokens", session,
                {"name": "from-b", "role": "viewer", "devices": "*", "expires_s": 600})
    check(st == 200, "token on B: %d" % st)
    st, _ = api(a, "POST", "/v1/tokens/from-b/revoke", session, {})
    check(st == 200, "revoke on A: %d" % st)
    nodes = {}
    for col in (a, b):
        st, doc = api(col, "GET", "/v1/audit?limit=1000", session)
        check(st == 200, "audit list: %d %r" % (st, doc))
        by = {(e["action"], e["target"]): e["node"] for e in doc["entries"]}
        check(("token.create", "from-b") in by and ("token.revoke", "from-b") in by and
              ("user.login", "root") in by, "the actions of both are not listed: %r" % by)
        nodes[col] = (by[("user.login", "root")], by[("token.create", "from-b")])
    node_a, node_b = nodes[a]
    check(node_a != node_b and nodes[b] == nodes[a], "nodes %r" % nodes)
    for col in (a, b):
        v = verify(col, session)
        check(v["ok"] and v["entries"] >= 6, "verify on a clean log: %r" % v)
    for col in (a, b):
        check(col.stop() == 0, "a collector's exit status")  # the last checkpoints
    for state in (env.state, state_b):
        rc, out = offline_verify(env, state)
        check(rc == 0 and "audit log ok" in out, "offline verify of %s: %s" % (state, out))
    # B's token.create entry edited behind the collectors' back (the trigger bypassed): A's
    # verification (the same code as GET /v1/audit/verify) walks B's chain too
    where = "node = '%s' AND action = 'token.create'" % node_b
    seq, detail = env.pg.query("SELECT seq, detail FROM op_audit WHERE " + where)[0]
    bypass = "SET session_replication_role = replica; "
    env.pg.psql_admin(bypass + "UPDATE op_audit SET detail = 'role=admin' WHERE " + where,
                      db="ward")
    rc, out = offline_verify(env, env.state)
    check(rc == 1 and "TAMPERED" in out and node_b in out and "entry %d was edited" % seq in out,
          "B's edited entry: %r" % out)
    env.pg.psql_admin(bypass + "UPDATE op_audit SET detail = '%s' WHERE %s" % (detail, where),
                      db="ward")
    # the last two entries of A's chain deleted: A's signed checkpoints count them
    n = env.pg.query("SELECT max(seq) FROM op_audit WHERE node = ?", (node_a,))[0][0]
    env.pg.psql_admin(bypass + "DELETE FROM op_audit WHERE node = '%s' AND seq > %d" %
                      (node_a, n - 2), db="ward")
    rc, out = offline_verify(env, env.state)
    check(rc == 1 and "truncated: a checkpoint signed %d entries, %d remain" % (n, n - 2) in out,
          "A's truncated chain: %r" % out)
    env.pg.psql_admin(bypass + "DELETE FROM op_audit WHERE node = '%s'" % node_a, db="ward")
    rc, out = offline_verify(env, env.state)
    check(rc == 1 and node_a in out and "truncated: a checkpoint signed" in out and
          "entries, 0 remain" in out, "A's chain deleted: %r" % out)


def handshake_refused(env, col, device):
    try:
        s = raw_tls(env, col, device, timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        st, _ = read_http_response(s)
        s.close()
        return st is None
    except OSError:  # ssl.SSLError included
        return True


def case_revoke(env):
    check(env.pg is not None, "run with WARD_TEST_STORAGE=postgresql")
    env.make_pki()
    a = env.start()
    b = env.start(state=os.path.join(env.dir, "state-b"))
    deva = DeviceClient(env, b, "dev-a").connect()
    st, _, _ = deva.post(batch("dev-a", seqs=(1,)))
    check(st == 200, "dev-a's report to B: %r" % st)
    devb = DeviceClient(env, b, "dev-b").connect()
    t0 = time.monotonic()
    p = env.wardctl(a, "device", "revoke", "dev-a", "--reason", "stolen")
    check("revoked" in p.stdout, "wardctl device revoke on A: %r" % p.stdout)
    check(peer_closed(deva.conn.sock, timeout=15), "B kept dev-a's live connection 15 s after the revoke")
    print("ok: B closed dev-a's connection %.1f s after the revocation on A" %
          (time.monotonic() - t0))
    check(handshake_refused(env, b, "dev-a"), "B accepted a new handshake of dev-a")
    st, _, _ = devb.post(batch("dev-b", seqs=(1,)))
    check(st == 200, "dev-b on B was disturbed: %d" % st)
    devb.close()
    check("device dev-a revoked on another collector" in b.log_text(), "B's log line")
    lc = b.health()["fleet"]["lifecycle"]
    check(lc["revocations"] == "shared" and lc["revocations_synced"] == 1 and lc["revoked"] == 1
          and lc["connections_closed"] == 1, "B's /v1/health lifecycle: %r" % lc)
    with open(env.token_file) as f:
        admin = f.read().strip()
    text = api(b, "GET", "/metrics", admin)[1].decode()
    check("ward_collector_devices_revocations_synced_total 1" in text, "B's /metrics")
    # an enrolment token made on A is spent once, on B
    st, doc = api(a, "POST", "/v1/devices/dev-t/enroll-token", admin, {"expires_s": 3600})
    check(st == 200 and doc.get("token"), "enrolment token on A: %d %r" % (st, doc))
    tok = doc["token"]
    enrol = {"device": "dev-t", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nx\n"
             "-----END CERTIFICATE REQUEST-----\n"}
    st, doc = api(b, "POST", "/v1/enroll", tok, enrol)
    check(st != 401, "A's enrolment token refused on B: %d %r" % (st, doc))
    st, doc = api(a, "POST", "/v1/enroll", tok, enrol)
    check(st == 401, "a token spent on B accepted again on A: %d %r" % (st, doc))
    post_ok(env, a, "dev-b", batch("dev-b", seqs=(2,)))
    for c in (a, b):
        check(c.stop() == 0, "a collector's exit status")


if __name__ == "__main__":
    main({n[5:]: f for n, f in globals().items() if n.startswith("case_")})
