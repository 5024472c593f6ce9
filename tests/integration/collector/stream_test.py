#!/usr/bin/env python3
"""The dashboard's event stream, GET /v1/stream (server-sent events; docs/dashboard.md, "Live
updates"), against a real collector on loopback:

  stream   a device's batch arrives as a change event naming it within a bound; keep-alive
           comments and the retry: hint; Last-Event-ID resumes with what was missed, an unknown
           one gets "refresh"; the limits (per principal: 429, in all: 503); a viewer token may
           stream and a stream closes when that token is revoked; a dashboard session's stream
           closes at logout; a reader that takes nothing is cut off at --stream-buffer while
           devices keep being acknowledged; bytes sent on a stream close it; the counts in
           /metrics, /v1/health and wardctl.

    stream_test.py BUILD_DIR WORK_DIR CASE
"""
import http.client
import json
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Fail, check, wait_for  # noqa: E402

DEVICES = ["dev-a", "dev-b", "dev-c", "dev-d"]
BOUND_S = 3.0  # a change reaches a stream within this (the tick is 100 ms here)


class Stream:
    """One event stream over a raw TLS socket: the head, then events parsed as they come."""

    def __init__(self, c, ca, headers, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect(("127.0.0.1", c.api_port))
        ctx = ssl.create_default_context(cafile=ca)
        self.sock = ctx.wrap_socket(s, server_hostname="localhost")
        req = "GET /v1/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
        for k, v in headers.items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            check(d, "the stream closed before its head")
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if status != 200:  # a refusal's body (Content-Length) follows
            n = int(hdrs.get("content-length", "0"))
            while len(self.buf) < n:
                d = self.sock.recv(4096)
                if not d:
                    break
                self.buf += d
        return status, hdrs

    def next(self, timeout):
        """The next block (event or comment) as a dict: id, event, data, comments, retry."""
        end = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(4096)
            except socket.timeout:
                return None
            if not d:
                raise Fail("the stream closed")
            self.buf += d
        block, _, self.buf = self.buf.partition(b"\n\n")
        ev = {"comments": []}
        for line in block.decode().split("\n"):
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "":
                ev["comments"].append(v)
            else:
                ev[k] = v
        return ev

    def event(self, name, timeout, pred=lambda e: True):
        """The next event called name for which pred(event) holds, skipping others."""
        end = time.monotonic() + timeout
        while True:
            e = self.next(max(0.0, end - time.monotonic()))
            if e is None:
                raise Fail("no %s event within %.1f s" % (name, timeout))
            if e.get("event") == name and pred(e):
                return e

    def closed_by_peer(self, timeout):
        """True when the collector closes the stream within timeout (keep-alives meanwhile
        are read and dropped)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.05, end - time.monotonic()))
            try:
                if not self.sock.recv(4096):
                    return True
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                return True
        return False

    def close(self):
        self.sock.close()


class Api:
    def __init__(self, env, c):
        self.ctx = ssl.create_default_context(cafile=env.ca())
        self.port = c.api_port
        self.token = open(env.token_file).read().strip()

    def req(self, method, path, body=None, headers=None, token=None):
        h = dict(headers or {})
        if token is not False:
            h.setdefault("Authorization", "Bearer " + (token or self.token))
        k = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=10)
        try:
            k.request(method, path, body=body, headers=h)
            r = k.getresponse()
            return r.status, {n.lower(): v for n, v in r.getheaders()}, r.read()
        finally:
            k.close()

    def json(self, path):
        s, _, d = self.req("GET", path)
        check(s == 200, "GET %s: %d %r" % (path, s, d[:200]))
        return json.loads(d)

    def metric(self, name):
        s, _, d = self.req("GET", "/metrics")
        check(s == 200, "/metrics: %d" % s)
        for line in d.decode().split("\n"):
            if line.startswith(name + " "):
                return float(line.split(" ")[1])
        raise Fail("/metrics lacks %s" % name)


def post(env, c, device, seq):
    t = time.monotonic()
    H.post_ok(env, c, device, H.batch(device, seqs=[seq], hb_seq=seq))
    return time.monotonic() - t


def case_stream(env):
    env.make_pki(devices=DEVICES)
    c = env.start("--check-interval", "100", "--max-streams", "4", "--max-streams-per-user", "2",
                  "--stream-buffer", "2048", "--stream-keepalive", "1000")
    api = Api(env, c)
    ca = env.ca()
    auth = {"Authorization": "Bearer " + api.token}

    # A stream: head, retry hint, then a device's batch as a change naming it.
    s1 = Stream(c, ca, auth)
    status, hdrs = s1.head()
    check(status == 200 and hdrs.get("content-type") == "text/event-stream",
          "stream head: %d %s" % (status, hdrs))
    check(hdrs.get("cache-control") == "no-store", "stream caching: %s" % hdrs)
    first = s1.next(5)
    check(first is not None and first.get("retry") == "3000", "retry hint: %s" % first)
    t0 = time.monotonic()
    post(env, c, "dev-a", 1)
    e = s1.event("change", BOUND_S, lambda e: "dev-a" in json.loads(e["data"])["devices"])
    took = time.monotonic() - t0
    doc = json.loads(e["data"])
    check(doc["events"] >= 1 and doc["all"] is False and "." in e["id"], "change: %s" % e)
    print("change event %.0f ms after the batch was posted: %s" % (took * 1000, e["data"]))
    last_id = e["id"]

    # Keep-alive comments while nothing changes.
    end = time.monotonic() + 2.5
    while True:
        k = s1.next(max(0.0, end - time.monotonic()))
        check(k is not None, "no keep-alive comment within 2.5 s")
        if "keep-alive" in k["comments"]:
            break

    # Last-Event-ID: the events missed while away, in order; an unknown id: "refresh".
    s1.close()
    post(env, c, "dev-b", 1)
    time.sleep(0.5)
    post(env, c, "dev-c", 1)
    time.sleep(0.5)
    s2 = Stream(c, ca, dict(auth, **{"Last-Event-ID": last_id}))
    check(s2.head()[0] == 200, "resume head")
    got = []
    while not {"dev-b", "dev-c"} <= set(got):
        e = s2.event("change", BOUND_S)
        got += json.loads(e["data"])["devices"]
    check(got.index("dev-b") < got.index("dev-c"), "resume order: %s" % got)
    s3 = Stream(c, ca, dict(auth, **{"Last-Event-ID": "123.4"}))
    check(s3.head()[0] == 200, "refresh head")
    s3.event("refresh", BOUND_S)

    # Limits: 2 per principal (429), 4 in all (503); a viewer token may stream.
    s4 = Stream(c, ca, auth)
    st, h = s4.head()
    check(st == 429 and "retry-after" in h, "third stream of one token: %d %s" % (st, h))
    s4.close()
    st, _, d = api.req("POST", "/v1/tokens", json.dumps({"name": "watcher", "role": "viewer", "expires_s": 3600}),
                       {"Content-Type": "application/json"})
    check(st == 200, "viewer token: %d %r" % (st, d))
    viewer = json.loads(d)["token"]
    v1 = Stream(c, ca, {"Authorization": "Bearer " + viewer})
    check(v1.head()[0] == 200, "a viewer's stream refused")
    s_login, h, d = api.req("POST", "/ui/login", json.dumps({"token": api.token}),
                            {"Content-Type": "application/json",
                             "Origin": "https://localhost:%d" % c.api_port}, token=False)
    check(s_login == 200, "dashboard login: %d %r" % (s_login, d))
    cookie = h["set-cookie"].split(";")[0]
    csrf = json.loads(d)["csrf"]
    wait_for(lambda: api.json("/v1/health")["dashboard"]["streams"]["open"] == 3, 5,
             "three streams open")
    v2 = Stream(c, ca, {"Authorization": "Bearer " + viewer})
    check(v2.head()[0] == 200, "the viewer's second stream")
    other = Stream(c, ca, {"Cookie": cookie})  # the fifth: over --max-streams 4
    st, h = other.head()
    check(st == 503, "a stream over --max-streams: %d %s" % (st, h))
    other.close()
    check(api.metric("ward_dashboard_streams") == 4, "ward_dashboard_streams != 4")
    check(api.metric('ward_dashboard_streams_refused_total{limit="total"}') == 1 and
          api.metric('ward_dashboard_streams_refused_total{limit="per_user"}') == 1,
          "refusals in /metrics")
    # Revoking the viewer's token closes its streams (checked again every 5 s).
    st, _, d = api.req("POST", "/v1/tokens/watcher/revoke", "{}",
                       {"Content-Type": "application/json"})
    check(st == 200, "revoke: %d %r" % (st, d))
    check(v1.closed_by_peer(8) and v2.closed_by_peer(2), "streams outlived their token")

    # A dashboard session's stream closes at logout.
    s3.close()
    sc = Stream(c, ca, {"Cookie": cookie})
    check(sc.head()[0] == 200, "the session's stream")
    st, _, _ = api.req("POST", "/ui/logout", "{}",
                       {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json",
                        "Origin": "https://localhost:%d" % c.api_port}, token=False)
    check(st == 200, "logout: %d" % st)
    check(sc.closed_by_peer(3), "the stream outlived its session's logout")
    check(api.metric('ward_dashboard_streams_closed_total{why="session_ended"}') == 1,
          "logout close not counted")

    # A reader that takes nothing: cut off once --stream-buffer is full; devices are still
    # acknowledged promptly all along (the loop never waits for it).
    s2.close()
    slow = Stream(c, ca, auth, rcvbuf=2048)
    check(slow.head()[0] == 200, "the slow reader's stream")
    worst, seq, t0 = 0.0, 10, time.monotonic()
    while api.metric('ward_dashboard_streams_closed_total{why="slow_reader"}') < 1:
        check(time.monotonic() - t0 < 40, "a reader that takes nothing was not cut off")
        for d in DEVICES:
            worst = max(worst, post(env, c, d, seq))
        seq += 1
        time.sleep(0.05)
    print("slow reader cut off after %.1f s; slowest acknowledgement meanwhile %.0f ms"
          % (time.monotonic() - t0, worst * 1000))
    check(worst < 2.0, "a device waited %.1f s for its ack behind a slow stream" % worst)
    check(slow.closed_by_peer(5), "the slow stream is still open")
    wait_for(lambda: api.json("/v1/health")["dashboard"]["streams"]["open"] == 0, 5,
             "no stream open")
    hs = api.json("/v1/health")["dashboard"]["streams"]
    check(hs["slow_closed"] == 1 and hs["opened"] >= 7 and hs["refused"] == 2,
          "/v1/health streams: %s" % hs)
    # A client sends nothing on a stream: bytes from it (a pipelined request) close it.
    junk = Stream(c, ca, auth)
    check(junk.head()[0] == 200, "the last stream")
    junk.sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    check(junk.closed_by_peer(3), "a stream that was sent a request stayed open")
    out = env.wardctl(c, "health").stdout
    check("streams" in out and "slow_closed=1" in out, "wardctl health: %r" % out)
    check(c.stop() == 0, "the collector did not stop cleanly")


if __name__ == "__main__":
    H.main({"stream": case_stream})
