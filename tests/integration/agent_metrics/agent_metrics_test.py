#!/usr/bin/python3
"""`ward-agent run --metrics` end to end (docs/nms.md, "Prometheus"), on 127.0.0.1 only:

  exposition   every answer is clean for Debian's `promtool check metrics` (stdout and stderr
               empty), HELP and TYPE on every family, OpenMetrics when asked (ends "# EOF"),
               /health is JSON; sim: every shipped scenario; linux: every fixture tree, where
               each temperature and fan equals `ward-agent probe --json` on the same tree.
  prometheus   (sim) a real `prometheus` with a temporary config scrapes two pull-only
               agents, one over plain HTTP and one over mutual TLS; its query API returns
               the scenario's temperature, 42.5, for both.
  bad          404, 405, 413, 431 (head too large), 408 for a client that never finishes while
               the agent keeps sampling and answering, 503 beyond the connection slots, a
               non-loopback bind without a token refused, a token file readable by others
               refused, no token / a wrong token 401, the right one 200.
  tls          --metrics-tls: a client with a certificate of the fleet CA gets /metrics; one
               without a certificate, with another CA's, or speaking plain HTTP gets nothing.
  pki          (issue 11) certificates from ward-pki itself: `ward-pki device ID --san
               DNS:localhost,IP:127.0.0.1` makes a certificate that curl and openssl s_client
               verify (name and serverAuth) on the agent's --metrics-tls listener; one made
               without --san is refused by both.
  reporting    (sim) an agent that reports to a stand-in collector (mutual TLS) and serves
               --metrics-tls from the same TLS pool: while slow clients hold 3 of the 4 slots
               (never finishing their handshake) heartbeats keep being acknowledged; the
               uplink's families (reports acked, last report time) move.

Usage: agent_metrics_test.py sim|linux AGENT SOURCE CASE [EMULATOR]
  (the pki case reads WARD_PKI, the path of ward-pki)
  SOURCE: the scenarios folder (sim) or the fixtures folder (linux).
Every process is started by this script and killed by pid; every wait is bounded.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROCS = []


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(fn, timeout, what, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise Fail("timed out waiting for " + what)


class Agent:
    """A pull-only agent on 127.0.0.1:<free port>, stopped by pid."""

    def __init__(self, env, source_args, extra=(), port=None, bind=None):
        self.port = port or free_port()
        self.err_path = os.path.join(env.dir, "agent-%d.err" % self.port)
        self.err = open(self.err_path, "w")
        addr = bind or "127.0.0.1:%d" % self.port
        cmd = env.emu + [env.agent, "run", "--metrics", addr, "--device-id", "t-1",
                         "--for", "120"] + list(source_args) + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err)
        PROCS.append(self.proc)

    def wait_ready(self):
        def ready():
            check(self.proc.poll() is None, "agent exited: " + self.stderr())
            try:
                st, _, body = http(self.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                return st == 200 and b"ward_temperature_celsius{" in body
            except OSError:
                return False
        wait_for(ready, 30, "the agent's first temperatures on /metrics")

    def stderr(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.err.close()


def read_all(s):
    """Read a socket to EOF (every answer ends with the server's close)."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def http(port, raw, timeout=10):
    """Send raw bytes, read to EOF. @return (status, head, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw.encode() if isinstance(raw, str) else raw)
        data = read_all(s)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    return (int(m.group(1)) if m else 0), head.decode("latin-1"), body


def get(port, path="/metrics", headers=""):
    return http(port, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, headers))


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, v = line.rpartition(" ")
            out[name] = float(v)
    return out


def check_exposition(text, om, where):
    families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    check(len(families) >= 40, "%s: %d families" % (where, len(families)))
    for name, typ in families:
        check(("# HELP %s " % name) in text, "%s: no HELP for %s" % (where, name))
        if typ == "counter":
            check(name.endswith("_total") != om,
                  "%s: counter %s named for the wrong format" % (where, name))
    if om:
        check(text.endswith("# EOF\n"), "%s: OpenMetrics answer without # EOF" % where)
        return
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool not found (tools/bootstrap installs prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
          "%s: promtool check metrics (%d): %s %s" % (where, p.returncode, p.stdout[:2000],
                                                      p.stderr[:2000]))


def scrape_all(agent, where):
    st, head, body = get(agent.port)
    check(st == 200 and "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head,
          "%s: /metrics %d %s" % (where, st, head))
    text = body.decode()
    check_exposition(text, False, where)
    st, head, body = get(agent.port, headers="Accept: application/openmetrics-text;"
                         "version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n")
    check(st == 200 and "application/openmetrics-text; version=1.0.0" in head,
          "%s: OpenMetrics %d %s" % (where, st, head))
    check_exposition(body.decode(), True, where + " (OpenMetrics)")
    st, head, body = get(agent.port, "/health")
    check(st == 200 and "application/json" in head, "%s: /health %d" % (where, st))
    doc = json.loads(body)
    check(doc["device_id"] == "t-1" and len(doc["sensors"]) > 0 and
          all("state" in s for s in doc["sensors"]), "%s: /health %r" % (where, doc))
    return text


def probe_json(env, args):
    p = subprocess.run(env.emu + [env.agent, "probe", "--json"] + args, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, "probe %s: %s" % (args, p.stderr[:300]))
    return json.loads(p.stdout)


def case_exposition(env):
    if env.board == "sim":
        names = sorted(n for n in os.listdir(env.source) if n.endswith(".json"))
        check(len(names) >= 5, "scenarios found: %r" % names)
        for n in names:
            path = os.path.join(env.source, n)
            with open(path) as f:
                has_disks = bool(json.load(f).get("disks"))
            # Fast intervals: disks (every 5 min by default) are in the first answers too.
            a = Agent(env, ["--scenario", path, "--rules", os.path.join(HERE, "fast.rules.json")])
            try:
                a.wait_ready()
                if has_disks:
                    wait_for(lambda: b"ward_disk_smart_healthy{" in get(a.port)[2], 20,
                             n + ": SMART families")
                scrape_all(a, n)
            finally:
                a.stop()
            print("ok: %s: promtool clean, OpenMetrics, /health" % n)
        return
    roots = sorted(d for d in os.listdir(env.source)
                   if os.path.isdir(os.path.join(env.source, d, "sys")))
    check(len(roots) >= 3, "fixture trees found: %r" % roots)
    for d in roots:
        root = os.path.join(env.source, d)
        a = Agent(env, ["--root", root])
        try:
            a.wait_ready()
            text = scrape_all(a, d)
        finally:
            a.stop()
        s = samples(text)
        probe = probe_json(env, ["--root", root])
        n = 0
        for t in probe["temperatures"]:
            if t["mdeg_c"]["status"] == "ok":
                key = 'ward_temperature_celsius{sensor="%s",label="%s"}' % (t["id"], t["label"])
                check(s.get(key) == t["mdeg_c"]["value"] / 1000.0,
                      "%s: %s is %r, probe says %r" % (d, key, s.get(key), t["mdeg_c"]))
                n += 1
        for f in probe["fans"]:
            if f["rpm"]["status"] == "ok":
                key = 'ward_fan_rpm{sensor="%s",label="%s"}' % (f["id"], f["label"])
                check(s.get(key) == f["rpm"]["value"], "%s: %s is %r" % (d, key, s.get(key)))
        check(n > 0, "%s: no temperature compared" % d)
        print("ok: %s: promtool clean, %d temperatures equal probe --json" % (d, n))


def prom_query(port, query):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(query))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def case_prometheus(env):
    prometheus = shutil.which("prometheus")
    check(prometheus is not None, "prometheus not found (tools/bootstrap installs it)")
    make_pki(env.dir)
    p = lambda n: os.path.join(env.dir, n)
    steady = ["--scenario", os.path.join(HERE, "steady.json")]
    a = Agent(env, steady)
    b = Agent(env, steady, ["--metrics-tls", "--ca", p("fleet.pem"), "--cert", p("dev.pem"),
                            "--key", p("dev.key")])
    pdir = os.path.join(env.dir, "prometheus")
    os.makedirs(os.path.join(pdir, "data"))
    cfg = os.path.join(pdir, "prometheus.yml")
    with open(cfg, "w") as f:
        # The scrape configs docs/nms.md shows, with this test's ports and files.
        f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ward-agent
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:%d']
  - job_name: ward-agent-tls
    scheme: https
    tls_config:
      ca_file: %s
      cert_file: %s
      key_file: %s
      server_name: localhost
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (a.port, p("fleet.pem"), p("prom.pem"), p("prom.key"), b.port))
    port = free_port()
    log = open(os.path.join(pdir, "prometheus.log"), "w")
    proc = subprocess.Popen([prometheus, "--config.file", cfg,
                             "--storage.tsdb.path", os.path.join(pdir, "data"),
                             "--web.listen-address", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(proc)
    query = 'ward_temperature_celsius{sensor="temp:test:inlet",job="ward-agent"}'

    def scraped():
        check(proc.poll() is None, "prometheus exited")
        try:
            return prom_query(port, query)["data"]["result"]
        except OSError:
            return None
    try:
        a.wait_ready()
        res = wait_for(scraped, 60, "prometheus to store " + query, step=0.5)
        check(len(res) == 1 and res[0]["value"][1] == "42.5" and
              res[0]["metric"]["label"] == 'Inlet "front" \\ air' and
              res[0]["metric"]["job"] == "ward-agent",
              "prometheus returned %r" % res)
        up = prom_query(port, 'up{job="ward-agent"}')["data"]["result"]
        check(len(up) == 1 and up[0]["value"][1] == "1", "prometheus up: %r" % up)
        fan = prom_query(port, 'ward_fan_rpm{sensor="fan:test:fan1",job="ward-agent"}')
        fan = fan["data"]["result"]
        check(len(fan) == 1 and fan[0]["value"][1] == "3120", "fan: %r" % fan)
        print("ok: prometheus scraped the agent: %s = 42.5, fan 3120, up 1" % query)
        tq = 'ward_temperature_celsius{sensor="temp:test:inlet",job="ward-agent-tls"}'
        res = wait_for(lambda: prom_query(port, tq)["data"]["result"], 60,
                       "prometheus to store " + tq + " over mutual TLS", step=0.5)
        check(len(res) == 1 and res[0]["value"][1] == "42.5", "over TLS: %r" % res)
        print("ok: prometheus scraped the agent over mutual TLS: 42.5")
    except Fail:
        log.flush()
        with open(log.name) as f:
            print("--- prometheus log (last 30 lines)\n" + "\n".join(f.read().splitlines()[-30:]))
        raise
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        a.stop()
        b.stop()


def refused_start(env, source, extra, want):
    p = subprocess.run(env.emu + [env.agent, "run", "--for", "5"] + source + extra,
                       capture_output=True, text=True, timeout=30)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 1 and len(lines) == 1 and want in lines[0],
          "start-up with %s: exit %d, stderr %r (wanted one line with %r)" %
          (extra, p.returncode, p.stderr, want))


def uptime(port):
    st, _, body = get(port, "/health")
    check(st == 200, "/health answered %d" % st)
    return json.loads(body)["uptime_ms"]


def case_bad(env):
    source = (["--scenario", os.path.join(HERE, "steady.json")] if env.board == "sim"
              else ["--root", os.path.join(env.source, "intel-server")])
    a = Agent(env, source)
    try:
        a.wait_ready()
        st, head, _ = get(a.port, "/nope")
        check(st == 404, "unknown path: %d" % st)
        st, head, _ = http(a.port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        check(st == 405 and "Allow: GET, HEAD" in head, "POST: %d %s" % (st, head))
        st, _, _ = http(a.port, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        check(st == 413, "GET with a body: %d" % st)
        st, _, _ = http(a.port, "GET /metrics HTTP/1.1\r\nX-Pad: %s\r\n\r\n" % ("a" * 5000))
        check(st == 431, "5000-byte header line: %d" % st)
        big = "GET /metrics HTTP/1.1\r\n" + "".join("X-%d: %s\r\n" % (i, "b" * 900)
                                                 for i in range(8)) + "\r\n"
        st, _, _ = http(a.port, big)
        check(st == 431, "head over the 4096-byte cap: %d" % st)
        st, _, _ = http(a.port, "GET /metrics SPDY/9\r\n\r\n")
        check(st == 400, "malformed request line: %d" % st)
        st, head, body = http(a.port, "HEAD /metrics HTTP/1.1\r\n\r\n")
        check(st == 200 and body == b"" and "Content-Length: " in head, "HEAD: %d" % st)
        print("ok: 404, 405, 413, 431 (line and head), 400, HEAD")

        # Slow clients hold 3 of the 4 slots and never finish; the agent keeps sampling
        # and answering on the last slot; past the 5 s deadline each gets 408 and is closed.
        t0 = uptime(a.port)
        slow = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", a.port), timeout=15)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        time.sleep(1.0)
        st, _, _ = get(a.port)
        check(st == 200, "a scrape beside 3 slow clients: %d" % st)
        fourth = socket.create_connection(("127.0.0.1", a.port), timeout=15)
        fourth.sendall(b"GET /metrics HTTP/1.1\r\n")
        time.sleep(0.5)
        st, head, _ = get(a.port)
        check(st == 503, "a fifth connection with every slot held: %d %s" % (st, head))
        print("ok: 503 beyond the connection slots")
        for s in slow + [fourth]:
            data = read_all(s)
            s.close()
            check(data.startswith(b"HTTP/1.1 408 "), "slow client got %r" % data[:40])
        t1 = uptime(a.port)
        check(t1 - t0 >= 4000, "the agent ran on while slow clients hung (%d -> %d ms)" % (t0, t1))
        health = json.loads(get(a.port, "/health")[2])
        st, _, body = get(a.port)
        check(st == 200 and b"ward_agent_scrapes_refused_total " in body, "scrape after: %d" % st)
        print("ok: slow clients cut with 408 after the deadline; sampling and answers went on "
              "(%d sensors)" % len(health["sensors"]))
    finally:
        a.stop()

    # Start-up refusals, one line each.
    port = free_port()
    refused_start(env, source, ["--metrics", "0.0.0.0:%d" % port],
                  "is not a loopback address; give --metrics-tls (mutual TLS) or --metrics-token FILE")
    tok = os.path.join(env.dir, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token-value\n")
    os.chmod(tok, 0o644)
    refused_start(env, source, ["--metrics", "0.0.0.0:%d" % port, "--metrics-token", tok],
                  "is accessible to group or others (mode 644); run: chmod 600")
    print("ok: non-loopback without a token refused; a token file of mode 644 refused")

    os.chmod(tok, 0o600)
    a = Agent(env, source, ["--metrics-token", tok])
    try:
        def ready():
            check(a.proc.poll() is None, "agent with token exited: " + a.stderr())
            try:
                return get(a.port, headers="Authorization: Bearer s3cret-token-value\r\n")[0] == 200
            except OSError:
                return False
        wait_for(ready, 30, "the agent with a token")
        st, head, _ = get(a.port)
        check(st == 401 and "WWW-Authenticate: Bearer" in head, "no token: %d" % st)
        st, _, _ = get(a.port, headers="Authorization: Bearer s3cret-token-valuX\r\n")
        check(st == 401, "wrong token: %d" % st)
        st, _, _ = get(a.port, headers="Authorization: Bearer s3cret\r\n")
        check(st == 401, "a prefix of the token: %d" % st)
        st, _, body = get(a.port, headers="Authorization: Bearer s3cret-token-value\r\n")
        check(st == 200 and b"s3cret" not in body, "right token: %d (and no secret in it)" % st)
        print("ok: token: none 401, wrong 401, prefix 401, right 200; the token is not in /metrics")
    finally:
        a.stop()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A fleet CA, the device's certificate (serverAuth too, SAN localhost), a client's, and a
    client of another CA."""
    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                os.path.join(d, name + ".key"))
        os.chmod(os.path.join(d, name + ".key"), 0o600)

    def ca(name):
        key(name)
        openssl("req", "-x509", "-new", "-key", os.path.join(d, name + ".key"), "-out",
                os.path.join(d, name + ".pem"), "-days", "2", "-subj", "/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign")

    def leaf(name, cn, ext, issuer):
        key(name)
        p = lambda n: os.path.join(d, n)
        openssl("req", "-new", "-key", p(name + ".key"), "-out", p(name + ".csr"), "-subj",
                "/CN=" + cn)
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p(issuer + ".pem"), "-CAkey",
                p(issuer + ".key"), "-CAcreateserial", "-out", p(name + ".pem"), "-days", "2",
                "-extfile", p(name + ".ext"))
    ca("fleet")
    ca("other")
    leaf("dev", "t-1", "extendedKeyUsage=serverAuth,clientAuth\n"
         "subjectAltName=DNS:localhost,IP:127.0.0.1\n", "fleet")
    leaf("prom", "prometheus", "extendedKeyUsage=clientAuth\n", "fleet")
    leaf("stranger", "prometheus", "extendedKeyUsage=clientAuth\n", "other")
    leaf("srv", "collector.test", "extendedKeyUsage=serverAuth\n"
         "subjectAltName=DNS:collector.test\n", "fleet")


def tls_get(env, port, cert):
    import ssl
    ctx = ssl.create_default_context(cafile=os.path.join(env.dir, "fleet.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(env.dir, cert + ".pem"),
                            os.path.join(env.dir, cert + ".key"))
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        return "refused: %s" % e
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return read_all(s)
    except (ssl.SSLError, OSError) as e:
        return "refused: %s" % e
    finally:
        raw.close()


def case_tls(env):
    make_pki(env.dir)
    source = (["--scenario", os.path.join(HERE, "steady.json")] if env.board == "sim"
              else ["--root", os.path.join(env.source, "intel-server")])
    p = lambda n: os.path.join(env.dir, n)
    refused_start(env, source, ["--metrics", "127.0.0.1:%d" % free_port(), "--metrics-tls"],
                  "--metrics-tls needs --cert and --key")
    a = Agent(env, source, ["--metrics-tls", "--ca", p("fleet.pem"), "--cert", p("dev.pem"),
                            "--key", p("dev.key")])
    try:
        def ready():
            check(a.proc.poll() is None, "agent with TLS exited: " + a.stderr())
            d = tls_get(env, a.port, "prom")
            return isinstance(d, bytes) and b"ward_temperature_celsius{" in d
        wait_for(ready, 30, "a TLS scrape with the fleet's client certificate")
        d = tls_get(env, a.port, "prom")
        check(d.startswith(b"HTTP/1.1 200 OK\r\n"), "TLS with a client certificate: %r" % d[:60])
        print("ok: mutual TLS: the fleet's client certificate gets /metrics")
        for who in (None, "stranger"):
            d = tls_get(env, a.port, who)
            check(not isinstance(d, bytes) or b"HTTP/1.1 200" not in d,
                  "TLS with %s got an answer: %r" % (who or "no certificate", d[:80]))
        st = 0
        try:
            st, _, _ = get(a.port)
        except OSError:
            pass
        check(st != 200, "plain HTTP on the TLS port answered %d" % st)
        d = tls_get(env, a.port, "prom")
        check(isinstance(d, bytes) and d.startswith(b"HTTP/1.1 200"),
              "a good client after the refusals: %r" % d[:60])
        print("ok: no client certificate, another CA's, plain HTTP: no answer; the listener "
              "goes on")
    finally:
        a.stop()


def verify_metrics_cert(env, port, pki):
    """curl and openssl s_client, each verifying the agent's certificate against the CA for
    the name localhost; @return (curl's exit status, s_client's exit status and verify line).
    A handshake that fails (the agent's mbedTLS will not serve a clientAuth-only
    certificate) fails both."""
    p = lambda *n: os.path.join(pki, *n)
    c = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", p("ca.crt"),
                        "--cert", p("devices", "prom.crt"), "--key", p("devices", "prom.key"),
                        "--resolve", "localhost:%d:127.0.0.1" % port,
                        "https://localhost:%d/metrics" % port],
                       capture_output=True, text=True, timeout=30)
    o = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-CAfile", p("ca.crt"), "-verify_return_error",
                        "-verify_hostname", "localhost", "-purpose", "sslserver",
                        "-cert", p("devices", "prom.crt"), "-key", p("devices", "prom.key")],
                       input="", capture_output=True, text=True, timeout=30)
    line = [x for x in (o.stdout + o.stderr).splitlines() if "Verify return code" in x]
    return c.returncode, o.returncode, (line[0].strip() if line else "no verify line")


def case_pki(env):
    pki_bin = os.environ.get("WARD_PKI", "")
    check(os.access(pki_bin, os.X_OK), "WARD_PKI is not the ward-pki script: %r" % pki_bin)
    check(shutil.which("curl") is not None, "curl not found (tools/bootstrap installs it)")
    pki = os.path.join(env.dir, "pki")
    run = lambda *a: subprocess.run([pki_bin, "--dir", pki] + list(a), check=True,
                                    capture_output=True, timeout=60)
    run("init")
    run("device", "prom")  # Prometheus' client certificate
    source = (["--scenario", os.path.join(HERE, "steady.json")] if env.board == "sim"
              else ["--root", os.path.join(env.source, "intel-server")])
    p = lambda *n: os.path.join(pki, *n)
    for dev, good in (("t-1", True), ("t-1", False)):
        if good:
            run("device", dev, "--san", "DNS:localhost,IP:127.0.0.1")
        else:  # re-issued without --san: clientAuth only, as before issue 11
            run("device", dev, "--force")
        a = Agent(env, source, ["--metrics-tls", "--ca", p("ca.crt"), "--cert",
                                p("devices", dev + ".crt"), "--key", p("devices", dev + ".key")])
        try:
            def ready():
                check(a.proc.poll() is None, "agent exited: " + a.stderr())
                try:
                    socket.create_connection(("127.0.0.1", a.port), timeout=2).close()
                    return True
                except OSError:
                    return False
            wait_for(ready, 30, "the agent's TLS metrics listener")
            rc, orc, line = verify_metrics_cert(env, a.port, pki)
            if good:
                check(rc == 0, "curl did not verify the --san certificate (exit %d)" % rc)
                check(orc == 0 and line.startswith("Verify return code: 0 (ok)"),
                      "s_client (exit %d): %s" % (orc, line))
                print("ok: ward-pki device --san: curl and openssl s_client verify %s" % dev)
            else:
                check(rc != 0, "curl accepted a certificate without serverAuth or SAN")
                check(orc != 0, "s_client accepted a certificate without --san: " + line)
                print("ok: without --san: curl (exit %d) and s_client (exit %d) get no verified "
                      "certificate" % (rc, orc))
        finally:
            a.stop()


def heartbeats(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if '"hb"' in line)
    except OSError:
        return 0


def case_reporting(env):
    make_pki(env.dir)
    p = lambda n: os.path.join(env.dir, n)
    shutil.copy(p("fleet.pem"), p("ca.pem"))  # the stand-in collector's trust
    with open(p("mode"), "w") as f:
        f.write("ack\n")
    col = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "agent_run",
                                                         "fake_collector.py"),
                            env.dir, p("port"), p("events.log"), p("mode"), "90"],
                           stdout=subprocess.DEVNULL, stderr=open(p("collector.err"), "w"))
    PROCS.append(col)
    wait_for(lambda: os.path.exists(p("port")) and open(p("port")).read().strip(), 10,
             "the stand-in collector")
    cport = int(open(p("port")).read())
    a = Agent(env, ["--scenario", os.path.join(HERE, "steady.json"), "--rules",
                    os.path.join(HERE, "fast.rules.json"), "--collector", "127.0.0.1:%d" % cport,
                    "--server-name", "collector.test", "--ca", p("fleet.pem"), "--cert",
                    p("dev.pem"), "--key", p("dev.key"), "--state-dir", p("state"),
                    "--metrics-tls"])
    try:
        def scraped():
            check(a.proc.poll() is None, "agent exited: " + a.stderr())
            d = tls_get(env, a.port, "prom")
            return isinstance(d, bytes) and b"ward_agent_reports_acked_total " in d and d
        wait_for(lambda: heartbeats(p("events.log")) >= 2, 30, "two acknowledged heartbeats")
        d = wait_for(scraped, 30, "a TLS scrape of the reporting agent")
        s0 = samples(d.partition(b"\r\n\r\n")[2].decode())
        slow = [socket.create_connection(("127.0.0.1", a.port), timeout=15) for _ in range(3)]
        h0 = heartbeats(p("events.log"))
        time.sleep(4.0)
        h1 = heartbeats(p("events.log"))
        d = tls_get(env, a.port, "prom")
        check(isinstance(d, bytes) and d.startswith(b"HTTP/1.1 200"),
              "a TLS scrape beside 3 stalled handshakes: %r" % d[:60])
        for c in slow:
            check(read_all(c) == b"", "a stalled handshake got bytes")
            c.close()
        check(h1 - h0 >= 4, "heartbeats acknowledged while slow clients held the slots: %d"
              % (h1 - h0))
        s1 = samples(d.partition(b"\r\n\r\n")[2].decode())
        check(s0["ward_agent_reporting"] == 1 and
              s1["ward_agent_reports_acked_total"] > s0["ward_agent_reports_acked_total"] and
              s1["ward_agent_last_report_timestamp_seconds"] >= time.time() - 30,
              "uplink families did not move: %r -> %r" %
              ({k: v for k, v in s0.items() if "report" in k},
               {k: v for k, v in s1.items() if "report" in k}))
        print("ok: %d heartbeats acknowledged while 3 stalled TLS clients held slots; "
              "reports_acked %d -> %d" % (h1 - h0, s0["ward_agent_reports_acked_total"],
                                           s1["ward_agent_reports_acked_total"]))
    finally:
        a.stop()


class Env:
    pass


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    env = Env()
    env.board, env.agent, env.source, case = sys.argv[1:5]
    env.emu = sys.argv[5].split() if len(sys.argv) > 5 and sys.argv[5] else []
    env.dir = tempfile.mkdtemp(prefix="ward-agent-metrics-")
    cases = {"exposition": case_exposition, "prometheus": case_prometheus, "bad": case_bad,
             "tls": case_tls, "reporting": case_reporting, "pki": case_pki}
    try:
        cases[case](env)
        print("agent_metrics %s: passed" % case)
    except Fail as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(env.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
