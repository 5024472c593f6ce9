"""Test harness for ward-collector: real processes on loopback, a development PKI made with
ward-pki, TLS clients made with Python's ssl module (OpenSSL) and the openssl CLI.

Everything a test starts is registered here and torn down by PID when the test ends, however
it ends (normal exit, exception, SIGTERM from ctest's timeout). Every wait is bounded.
"""
import atexit
import http.client
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

_PROCS = []
_SERVERS = []  # PostgreSQL servers of the *_pg variants (pgserver.Server)


def _teardown():
    for p in list(_PROCS):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    _PROCS.clear()
    for srv in list(_SERVERS):
        srv.teardown()
    _SERVERS.clear()


def _on_signal(signum, frame):
    _teardown()
    sys.exit(128 + signum)


atexit.register(_teardown)
signal.signal(signal.SIGTERM, _on_signal)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def wait_for(pred, timeout, what, step=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


BOOT_A = "0123456789abcdef0123456789abcdef"
BOOT_B = "fedcba9876543210fedcba9876543210"


def heartbeat(device, boot, seq=1, interval_ms=None, health="ok"):
    hb = {"v": 1, "type": "heartbeat", "device": device, "boot": boot, "seq": seq,
          "t_ms": 1000 * seq, "uptime_ms": 1000 * seq, "firmware": "0.1.0",
          "board": "linux-x86_64", "arch": "x86_64",
          "health": {"state": health, "severity": "none", "sensors": 1, "not_ok": 0},
          "events": {"pending": 0, "last_seq": 0, "dropped": 0}}
    if interval_ms is not None:
        hb["interval_ms"] = interval_ms
    return hb


def event(boot, seq, sensor="temp:cpu0", frm="ok", to="caution", severity="low", value=81000):
    return {"boot": boot, "seq": seq, "t_ms": 10 * seq, "sensor": sensor, "from": frm,
            "to": to, "severity": severity, "value": value, "count": 1}


def batch(device, boot=BOOT_A, seqs=(), hb_seq=1, interval_ms=None, events=None, health=None):
    """An ingest batch as firmware/src/report.c writes it."""
    doc = {"v": 1, "type": "batch", "device": device, "boot": boot,
           "heartbeat": heartbeat(device, boot, hb_seq, interval_ms)}
    if health is not None:
        doc["health"] = health
    doc["events"] = events if events is not None else [event(boot, s) for s in seqs]
    return json.dumps(doc, separators=(",", ":")).encode()


def snapshot(device, boot, sensors):
    return {"v": 1, "type": "health", "device": device, "boot": boot, "t_ms": 5000,
            "state": "ok", "severity": "none", "sensors_total": len(sensors), "first": 0,
            "sensors": sensors}


class Env:
    """A work directory, a PKI, and the binaries under test."""

    def __init__(self, build, work, name):
        self.build = build
        self.collector_bin = os.path.join(build, "tools", "ward-collector")
        self.wardctl_bin = os.path.join(build, "tools", "wardctl")
        self.pki_bin = os.path.join(build, "ward-pki")
        os.makedirs(work, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=work)
        self.pki = os.path.join(self.dir, "pki")
        self.state = os.path.join(self.dir, "state")
        self.collectors = []
        # The storage backend is a test parameter: WARD_TEST_STORAGE=postgresql runs the case
        # against a PostgreSQL server of its own (pgserver.py), else the default SQLite.
        self.pg = None
        self.storage_args = []
        if os.environ.get("WARD_TEST_STORAGE") == "postgresql":
            import pgserver
            self.pg = pgserver.Server(self.dir)
            _SERVERS.append(self.pg)
            self.storage_args = ["--storage", "postgresql:" + self.pg.conninfo()]

    def run_pki(self, *args, check_rc=True):
        p = subprocess.run([self.pki_bin, "--dir", self.pki] + list(args), capture_output=True,
                           text=True, timeout=60)
        if check_rc and p.returncode != 0:
            raise Fail("ward-pki %s failed: %s" % (" ".join(args), p.stderr.strip()))
        return p

    def make_pki(self, devices=("dev-a", "dev-b"), token="ops"):
        self.run_pki("init")
        self.run_pki("collector")
        for d in devices:
            self.run_pki("device", d)
        self.run_pki("token", token)
        self.token_file = os.path.join(self.pki, "tokens", token + ".token")
        return self

    def device_files(self, device):
        return (os.path.join(self.pki, "devices", device + ".crt"),
                os.path.join(self.pki, "devices", device + ".key"))

    def ca(self):
        return os.path.join(self.pki, "ca.crt")

    def start(self, *extra, state=None, preexec=None):
        c = Collector(self, state or self.state, extra, preexec)
        self.collectors.append(c)
        return c

    def db(self):
        return os.path.join(self.state, "ward.db")

    def query(self, sql, args=()):
        """Read the collector's database the way an auditor would: a separate connection."""
        if self.pg is not None:
            return self.pg.query(sql, args)
        con = sqlite3.connect("file:%s?mode=ro" % self.db(), uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def wardctl(self, collector, *args, token_file=None, check_rc=True, timeout=30):
        cmd = [self.wardctl_bin, "--url", "https://localhost:%d" % collector.api_port,
               "--ca", self.ca(), "--token-file", token_file or self.token_file] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Fail("wardctl %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                       p.stderr.strip()))
        return p

    def wardctl_json(self, collector, *args):
        return json.loads(self.wardctl(collector, "--json", *args).stdout)


class Collector:
    def __init__(self, env, state, extra, preexec=None):
        self.env = env
        self.state = state
        self.ports_file = os.path.join(state, "ports")
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        self.log_path = os.path.join(env.dir, "collector.%d.log" % len(env.collectors))
        self.log = open(self.log_path, "w")
        # The device-port event loops are a test parameter too: WARD_TEST_LOOPS=2 runs the case
        # with two loop threads handing batches to the main loop (server/worker.h); unset, one
        # loop, the collector as one thread. A case's own --loops comes later and wins.
        loops = ["--loops", os.environ.get("WARD_TEST_LOOPS", "1")]
        args = [env.collector_bin, "--pki", env.pki, "--state", state,
                "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"] + loops + \
            env.storage_args + list(extra)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec)
        _PROCS.append(self.proc)
        wait_for(lambda: self.proc.poll() is not None or os.path.exists(self.ports_file), 15,
                 "the collector to listen")
        if self.proc.poll() is not None:
            raise Fail("the collector exited at start (%d): %s" % (self.proc.returncode,
                                                                    self.log_text()))
        ports = dict(line.split(" ", 1) for line in open(self.ports_file).read().split("\n")
                     if line)
        self.device_port = int(ports["device"].rsplit(":", 1)[1])
        self.api_port = int(ports["api"].rsplit(":", 1)[1])
        self.pid = self.proc.pid

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise Fail("the collector did not stop within %ds of SIGTERM" % timeout)
        return self.proc.returncode

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def health(self):
        return self.env.wardctl_json(self, "health")

    def metrics(self):
        """GET /metrics over the operator API (TLS, the test token); the text."""
        import http.client
        ctx = ssl.create_default_context(cafile=self.env.ca())
        conn = http.client.HTTPSConnection("localhost", self.api_port, context=ctx, timeout=10)
        conn.request("GET", "/metrics", headers={
            "Authorization": "Bearer " + open(self.env.token_file).read().strip()})
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        check(r.status == 200, "GET /metrics: %d" % r.status)
        return body


SIM_SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                             "boards", "sim", "scenarios")


def start_sim_agent(env, collector, agent, story, seconds, extra=()):
    """The sim board's ward-agent playing boards/sim/scenarios/STORY.json as device STORY (its
    certificate from env.make_pki) for `seconds`, with `extra` arguments; stopped with the test
    like the rest."""
    crt, key = env.device_files(story)
    state = os.path.join(env.dir, "agent-" + story)
    os.makedirs(state)
    log = open(os.path.join(env.dir, "agent-%s.log" % story), "w")
    p = subprocess.Popen([agent, "run", "--collector", "127.0.0.1:%d" % collector.device_port,
                          "--server-name", "localhost", "--ca", env.ca(), "--cert", crt,
                          "--key", key, "--state-dir", state, "--scenario",
                          os.path.join(SIM_SCENARIOS, story + ".json"), "--for", str(seconds)] +
                         list(extra), stdout=log, stderr=subprocess.STDOUT)
    _PROCS.append(p)
    return p


def client_context(env, device, ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(ca or env.ca())
    if device is not None:
        crt, key = device if isinstance(device, tuple) else env.device_files(device)
        ctx.load_cert_chain(crt, key)
    return ctx


class DeviceClient:
    """A device's keep-alive HTTPS connection to the collector (what the agent does)."""

    def __init__(self, env, collector, device, timeout=10, session=None, ctx=None):
        self.ctx = ctx or client_context(env, device)
        self.port = collector.device_port
        self.timeout = timeout
        self.conn = None
        self.session = session

    def connect(self):
        self.conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx,
                                                timeout=self.timeout)
        self.conn.connect()
        if self.session is not None:
            pass
        return self

    def post(self, body, content_type="application/json", path="/v1/ingest"):
        if self.conn is None:
            self.connect()
        headers = {"Content-Type": content_type} if content_type is not None else {}
        self.conn.request("POST", path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def acks_of(data):
    doc = json.loads(data)
    check(set(doc) == {"v", "acks"} and doc["v"] == 1, "ack document shape: %r" % doc)
    return {a["boot"]: a["seq"] for a in doc["acks"]}


def post_ok(env, collector, device, body):
    c = DeviceClient(env, collector, device)
    try:
        status, _, data = c.post(body)
    finally:
        c.close()
    check(status == 200, "a good client was refused: %d %r" % (status, data))
    return acks_of(data)


def raw_tls(env, collector, device, ca=None, timeout=10):
    """A TLS socket (no HTTP library) for byte-level tests."""
    ctx = client_context(env, device, ca)
    s = socket.create_connection(("127.0.0.1", collector.device_port), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname="localhost")


def read_http_response(sock, limit=1 << 20):
    """Read one response (head + Content-Length body); returns (status, body) or (None, b'')
    when the peer closed first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            return None, buf
        buf += chunk
        check(len(buf) < limit, "response too large")
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


def peer_closed(sock, timeout=10):
    """True when the peer closes the connection within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
        return True


def main(cases):
    """collector_test.py BUILD_DIR WORK_DIR CASE: run one case, print a verdict line."""
    if len(sys.argv) != 4 or sys.argv[3] not in cases:
        print("usage: %s BUILD_DIR WORK_DIR CASE (cases: %s)" % (sys.argv[0],
                                                                " ".join(sorted(cases))))
        sys.exit(2)
    build, work, name = sys.argv[1:]
    if os.environ.get("WARD_TEST_STORAGE") == "postgresql":
        import pgserver
        why = pgserver.available()
        if why:
            print("SKIP %s: %s" % (name, why))
            sys.exit(77)
    env = Env(os.path.abspath(build), os.path.abspath(work), name)
    t0 = time.monotonic()
    try:
        cases[name](env)
    except Fail as e:
        print("FAIL %s: %s" % (name, e))
        for c in env.collectors:
            print("--- collector log %s (last 40 lines)" % c.log_path)
            print("\n".join(c.log_text().splitlines()[-40:]))
        sys.exit(1)
    finally:
        _teardown()
    print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
