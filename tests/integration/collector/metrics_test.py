#!/usr/bin/python3
"""The collector's GET /metrics (issue 11) against the real tools operators run.

    metrics_test.py BUILD_DIR WORK_DIR CASE

A real ward-collector on 127.0.0.1 with two devices reporting (the collector tests' device
client), then: the answer checked byte-wise and by Debian's `promtool check metrics`, and a
real `prometheus` (its own temp data dir, 127.0.0.1:<free port>) scraping the operator port
over HTTPS with the dev PKI's CA and the operator token from a credentials_file, asked through
its HTTP API for ward_device_up. Everything started is stopped by PID.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import urllib.parse
import urllib.request

import harness
from harness import (BOOT_A, DeviceClient, Fail, batch, check, client_context, event, main,
                     post_ok, wait_for)


def get_metrics(env, col, token=True):
    ctx = ssl.create_default_context(cafile=env.ca())
    conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=10)
    headers = {}
    if token:
        with open(env.token_file) as f:
            headers["Authorization"] = "Bearer " + f.read().strip()
    try:
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def samples(text):
    """{series: value} of the sample lines (series as written, labels included)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def report(env, col):
    evs = [event(BOOT_A, 1), event(BOOT_A, 2, sensor="disk:sda", to="failed", severity="high",
                                   value=None)]
    post_ok(env, col, "dev-a", batch("dev-a", events=evs))
    doc = json.loads(batch("dev-b", seqs=[1]))
    doc["heartbeat"]["health"]["state"] = "critical"
    post_ok(env, col, "dev-b", json.dumps(doc).encode())


def traffic(env, col):
    """One of each: a resumed TLS handshake, two refused handshakes, two refused requests."""
    ctx = client_context(env, "dev-a")
    first = ctx.wrap_socket(socket.create_connection(("127.0.0.1", col.device_port), timeout=10),
                            server_hostname="localhost")
    first.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")  # refused: route
    first.recv(4096)
    session = first.session
    first.close()
    again = ctx.wrap_socket(socket.create_connection(("127.0.0.1", col.device_port), timeout=10),
                            server_hostname="localhost", session=session)
    check(again.session_reused, "the collector did not resume the TLS session")
    again.close()
    plain = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
    plain.sendall(b"GET / HTTP/1.0\r\n\r\n")  # refused: not TLS
    plain.recv(4096)
    plain.close()
    try:  # refused: no client certificate
        nocert = client_context(env, None).wrap_socket(
            socket.create_connection(("127.0.0.1", col.device_port), timeout=10),
            server_hostname="localhost")
        nocert.sendall(b"x")
        nocert.recv(16)
        nocert.close()
    except (OSError, ssl.SSLError):
        pass
    c = DeviceClient(env, col, "dev-a")
    try:
        status, _, _ = c.post(batch("dev-a", seqs=[3]), content_type="text/plain")
    finally:
        c.close()
    check(status == 415, "a text/plain batch answered %d" % status)


def check_histogram(s, name):
    """Cumulative buckets ending in +Inf == _count, and a _sum."""
    buckets = sorted(((float(k.split('le="')[1].rstrip('"}')), v) for k, v in s.items()
                      if k.startswith(name + "_bucket{")), key=lambda b: b[0])
    check(len(buckets) >= 2 and buckets[-1][0] == float("inf"), "%s buckets: %r" % (name, buckets))
    counts = [v for _, v in buckets]
    check(counts == sorted(counts), "%s buckets not cumulative: %r" % (name, buckets))
    check(counts[-1] == s.get(name + "_count"), "%s +Inf bucket != _count" % name)
    return s.get(name + "_count"), s.get(name + "_sum")


def case_exposition(env):
    env.make_pki()
    col = env.start()
    report(env, col)
    traffic(env, col)
    status, ctype, _ = get_metrics(env, col, token=False)
    check(status == 401, "/metrics without a token answered %d" % status)
    status, ctype, text = get_metrics(env, col)
    check(status == 200, "/metrics answered %d: %s" % (status, text))
    check(ctype == "text/plain; version=0.0.4; charset=utf-8", "Content-Type %r" % ctype)
    s = samples(text)
    want = {
        'ward_device_up{device="dev-a"}': 1, 'ward_device_up{device="dev-b"}': 1,
        'ward_device_health{device="dev-a"}': 0, 'ward_device_health{device="dev-b"}': 2,
        'ward_device_events_stored_total{device="dev-a",severity="low"}': 1,
        'ward_device_events_stored_total{device="dev-a",severity="high"}': 1,
        'ward_device_events_stored_total{device="dev-a",severity="medium"}': 0,
        'ward_device_events_stored_total{device="dev-b",severity="low"}': 1,
        'ward_device_events_stored_total{device="dev-b",severity="high"}': 0,
        'ward_devices{state="up"}': 2, 'ward_devices{state="silent"}': 0,
        'ward_collector_events_stored_total{severity="low"}': 2,
        'ward_collector_events_stored_total{severity="high"}': 1,
        'ward_collector_ingest_requests_total': 4, 'ward_metrics_devices_omitted': 0,
        'ward_collector_tls_handshakes_total{mode="resumed"}': 1,
        'ward_collector_tls_handshakes_rejected_total{reason="not_tls"}': 1,
        'ward_collector_tls_handshakes_rejected_total{reason="certificate"}': 1,
        'ward_collector_tls_handshakes_rejected_total{reason="revoked"}': 0,
        'ward_collector_tls_handshakes_rejected_total{reason="timeout"}': 0,
        'ward_collector_ingest_refused_total{reason="route"}': 1,
        'ward_collector_ingest_refused_total{reason="content_type"}': 1,
        'ward_collector_ingest_refused_total{reason="forbidden"}': 0,
        'ward_collector_tls_tickets_refused_total': 0,
        'ward_collector_connections_deferred_total': 0,
    }
    for k, v in want.items():
        check(s.get(k) == v, "%s is %r, expected %r\n%s" % (k, s.get(k), v, text))
    full = s.get('ward_collector_tls_handshakes_total{mode="full"}')
    check(full is not None and full >= 4, "full handshakes %r" % full)
    count, total = check_histogram(s, "ward_collector_commit_duration_seconds")
    commits = s["ward_collector_commits_total"] + s["ward_collector_commit_failures_total"]
    check(count == commits and count >= 2 and 0 < total < 60,
          "commit histogram: count %r (commits %r), sum %r" % (count, commits, total))
    age = s.get('ward_device_heartbeat_age_seconds{device="dev-a"}')
    check(age is not None and 0 <= age < 60, "heartbeat age %r" % age)
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split(" ")[2]
            check(("# HELP %s " % name) in text, "no HELP for %s" % name)
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool not found (tools/bootstrap installs prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
          "promtool check metrics (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
    col.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prom_query(port, query):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(query))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def scraped_devices(port):
    try:
        doc = prom_query(port, "ward_device_up")
    except (OSError, ValueError):
        return None
    if doc.get("status") != "success":
        return None
    devs = {r["metric"].get("device"): r["value"][1] for r in doc["data"]["result"]}
    return devs if set(devs) == {"dev-a", "dev-b"} else None


def case_prometheus(env):
    prometheus = shutil.which("prometheus")
    check(prometheus is not None, "prometheus not found (tools/bootstrap installs it)")
    env.make_pki()
    col = env.start()
    report(env, col)
    pdir = os.path.join(env.dir, "prometheus")
    os.makedirs(os.path.join(pdir, "data"))
    cfg = os.path.join(pdir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ward-collector
    scheme: https
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: %s
    tls_config:
      ca_file: %s
      server_name: localhost
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (env.token_file, env.ca(), col.api_port))
    port = free_port()
    log = open(os.path.join(pdir, "prometheus.log"), "w")
    proc = subprocess.Popen([prometheus, "--config.file", cfg,
                             "--storage.tsdb.path", os.path.join(pdir, "data"),
                             "--web.listen-address", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    harness._PROCS.append(proc)
    try:
        devs = wait_for(lambda: proc.poll() is None and scraped_devices(port), 60,
                        "prometheus to scrape ward_device_up for dev-a and dev-b", step=0.5)
        check(devs == {"dev-a": "1", "dev-b": "1"}, "scraped %r" % devs)
        up = prom_query(port, 'up{job="ward-collector"}')["data"]["result"]
        check(len(up) == 1 and up[0]["value"][1] == "1", "prometheus up: %r" % up)
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
    col.stop()


CASES = {"exposition": case_exposition, "prometheus": case_prometheus}

if __name__ == "__main__":
    main(CASES)
