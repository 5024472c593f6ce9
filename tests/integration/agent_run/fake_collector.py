#!/usr/bin/python3
"""A stand-in collector for the agent's integration tests: mutual TLS on 127.0.0.1, HTTP/1.1
keep-alive, POST /v1/ingest. It records every event and heartbeat it is sent and, depending on
the mode file, acknowledges them ("ack": stored, the highest stored seq per boot is returned),
refuses them ("refuse": 503, nothing stored) or drops the connection ("close").

usage: fake_collector.py DIR PORTFILE LOG MODEFILE TIMEOUT_S
  DIR holds ca.pem, srv.pem, srv.key. Writes the chosen port to PORTFILE. LOG gets one JSON
  line per received event: {"boot", "seq", "stored"} and per heartbeat: {"hb", "boot",
  "last_seq"}. Exits by itself after TIMEOUT_S seconds.
"""
import json
import os
import socket
import ssl
import sys
import threading
import time

d, portfile, logpath, modefile, timeout = sys.argv[1:6]
deadline = time.time() + float(timeout)
stored = {}  # boot -> set of seq
lock = threading.Lock()
log = open(logpath, "a", buffering=1)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
# As the real collector: TLS 1.3 (what the Linux agent speaks), and 1.2.
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.maximum_version = ssl.TLSVersion.TLSv1_3
# The agent resumes TLS 1.3 with psk_ke (no ECDHE), as ward-collector (mbedTLS) accepts;
# OpenSSL needs SSL_OP_ALLOW_NO_DHE_KEX (1 << 10, not named by Python's ssl module) for it.
ctx.options |= 1 << 10
ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
ctx.load_verify_locations(os.path.join(d, "ca.pem"))
ctx.verify_mode = ssl.CERT_REQUIRED


def mode():
    try:
        with open(modefile) as f:
            return f.read().strip()
    except OSError:
        return "ack"


def read_request(t, buf):
    while b"\r\n\r\n" not in buf:
        chunk = t.recv(4096)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > 16384:
            return None, b""
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = t.recv(4096)
        if not chunk:
            return None, b""
        rest += chunk
    return (head, rest[:length]), rest[length:]


def respond(t, status, body=b""):
    reason = {200: b"OK", 503: b"Service Unavailable"}[status]
    t.sendall(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s" % (status, reason, len(body), body))


def handle(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        c.close()
        return
    t.settimeout(10)
    buf = b""
    try:
        while time.time() < deadline:
            req, buf = read_request(t, buf)
            if req is None:
                break
            doc = json.loads(req[1])
            m = mode()
            if m == "close":
                break
            keep = m == "ack"
            with lock:
                hb = doc.get("heartbeat") or {}
                if hb:
                    log.write(json.dumps({"hb": True, "boot": hb.get("boot"),
                                          "last_seq": hb.get("events", {}).get("last_seq")}) + "\n")
                for ev in doc.get("events", []):
                    log.write(json.dumps({"boot": ev["boot"], "seq": ev["seq"], "stored": keep}) + "\n")
                    if keep:
                        stored.setdefault(ev["boot"], set()).add(ev["seq"])
                acks = [{"boot": b, "seq": max(s)} for b, s in stored.items() if s]
            if keep:
                respond(t, 200, json.dumps({"v": 1, "acks": acks}).encode())
            else:
                respond(t, 503)
    except (ssl.SSLError, OSError, ValueError):
        pass
    try:
        t.close()
    except OSError:
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(0.5)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while time.time() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(c,), daemon=True).start()
