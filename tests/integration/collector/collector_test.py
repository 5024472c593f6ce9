#!/usr/bin/python3
"""ward-collector integration tests: real processes, real signals, loopback only.

    collector_test.py BUILD_DIR WORK_DIR CASE

Each case prints "PASS <case>" or "FAIL <case>: <why>" (with the collector's log) and
tears down every process it started, by PID.
"""
import json
import os
import random
import re
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import threading
import time

from harness import (BOOT_A, BOOT_B, DeviceClient, Fail, acks_of, batch, check, client_context,
                     event, main, peer_closed, post_ok, raw_tls, read_http_response, snapshot,
                     wait_for)


def good_client_still_served(env, col, seq_base):
    """After every rejection: the collector is alive and serves a good device."""
    check(col.alive(), "the collector died")
    acks = post_ok(env, col, "dev-a", batch("dev-a", seqs=[seq_base]))
    check(acks.get(BOOT_A, 0) >= seq_base, "good client not acknowledged: %r" % acks)


# ---- PKI ---------------------------------------------------------------------------------

def case_pki(env):
    env.make_pki(devices=("dev-a",))
    for path in ["ca.key", "collector.key", "devices/dev-a.key", "tokens/ops.token",
                 "api-tokens"]:
        mode = stat.S_IMODE(os.stat(os.path.join(env.pki, path)).st_mode)
        check(mode == 0o600, "%s has mode %o, want 600" % (path, mode))
    for path in ["", "ca", "devices", "tokens"]:
        mode = stat.S_IMODE(os.stat(os.path.join(env.pki, path)).st_mode)
        check(mode == 0o700, "directory %s has mode %o, want 700" % (path or ".", mode))
    crt = os.path.join(env.pki, "devices", "dev-a.crt")
    text = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject", "-ext",
                           "extendedKeyUsage", "-text"], capture_output=True, text=True).stdout
    check("CN = dev-a" in text, "device certificate subject: %s" % text[:200])
    check("TLS Web Client Authentication" in text, "device certificate lacks clientAuth")
    check("prime256v1" in text or "P-256" in text, "device key is not P-256")
    text = subprocess.run(["openssl", "x509", "-in", os.path.join(env.pki, "collector.crt"),
                           "-noout", "-ext", "subjectAltName"], capture_output=True,
                          text=True).stdout
    check("DNS:localhost" in text and "IP Address:127.0.0.1" in text,
          "collector SAN: %s" % text)
    v = subprocess.run(["openssl", "verify", "-CAfile", env.ca(), "-crl_check", "-CRLfile",
                        os.path.join(env.pki, "crl.pem"), crt], capture_output=True, text=True)
    check(v.returncode == 0, "device certificate does not verify: %s" % v.stderr)
    p = env.run_pki("check")
    check("private" in p.stdout, "check output: %s" % p.stdout)
    # A key made readable by others is found and named.
    os.chmod(os.path.join(env.pki, "devices", "dev-a.key"), 0o644)
    p = env.run_pki("check", check_rc=False)
    check(p.returncode != 0 and "dev-a.key" in p.stderr, "check missed a 0644 key: %r" % p.stderr)
    os.chmod(os.path.join(env.pki, "devices", "dev-a.key"), 0o600)
    # Bad device ids and a second init are refused with one line.
    p = env.run_pki("device", "../evil", check_rc=False)
    check(p.returncode != 0 and "must match" in p.stderr, "bad id accepted: %r" % p.stderr)
    p = env.run_pki("init", check_rc=False)
    check(p.returncode != 0 and "refusing" in p.stderr, "second init: %r" % p.stderr)
    # Revocation lands in the CRL.
    env.run_pki("revoke", "dev-a")
    v = subprocess.run(["openssl", "verify", "-CAfile", env.ca(), "-crl_check", "-CRLfile",
                        os.path.join(env.pki, "crl.pem"), crt], capture_output=True, text=True)
    check(v.returncode != 0 and "revoked" in (v.stdout + v.stderr), "revoked cert verifies")


# ---- interop and the basic path ------------------------------------------------------------

def case_interop(env):
    """openssl s_client with a device certificate posts a valid batch and gets its ack."""
    env.make_pki()
    col = env.start()
    body = batch("dev-a", seqs=[1, 2, 3])
    req = (b"POST /v1/ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    crt, key = env.device_files("dev-a")
    p = subprocess.run(["openssl", "s_client", "-quiet", "-connect",
                        "127.0.0.1:%d" % col.device_port, "-servername", "localhost",
                        "-cert", crt, "-key", key, "-CAfile", env.ca(), "-verify_return_error",
                        "-verify_hostname", "localhost", "-tls1_2", "-ign_eof"],
                       input=req, capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    check(out.startswith("HTTP/1.1 200 OK"), "s_client got: %r / %r" % (out[:300], p.stderr[-300:]))
    body_out = out.split("\r\n\r\n", 1)[1]
    check(acks_of(body_out) == {BOOT_A: 3}, "ack: %r" % body_out)
    rows = env.query("SELECT seq, sensor, to_state, severity FROM events WHERE device = 'dev-a' "
                     "ORDER BY seq")
    check(rows == [(1, "temp:cpu0", "caution", "low"), (2, "temp:cpu0", "caution", "low"),
                   (3, "temp:cpu0", "caution", "low")], "stored: %r" % rows)
    # By default a client gets TLS 1.3 (issue 18: TLS 1.3 between agent and collector)...
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.device_port,
                        "-cert", crt, "-key", key, "-CAfile", env.ca(), "-brief"],
                       input=b"", capture_output=True, timeout=30)
    info = p.stderr.decode(errors="replace")
    check("Protocol version: TLSv1.3" in info, "protocol: %s" % info)
    # ...and TLS 1.2, still accepted for boards that keep it, uses one of the three AEAD
    # ECDHE-ECDSA suites.
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.device_port,
                        "-cert", crt, "-key", key, "-CAfile", env.ca(), "-brief", "-tls1_2"],
                       input=b"", capture_output=True, timeout=30)
    info = p.stderr.decode(errors="replace")
    check("Protocol version: TLSv1.2" in info, "protocol: %s" % info)
    check("ECDHE-ECDSA-AES128-GCM-SHA256" in info or "CHACHA20" in info or "AES256-GCM" in info,
          "cipher: %s" % info)
    # A client offering only CBC suites gets no connection.
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.device_port,
                        "-cert", crt, "-key", key, "-CAfile", env.ca(), "-tls1_2", "-cipher",
                        "ECDHE-ECDSA-AES128-SHA256"], input=b"", capture_output=True, timeout=30)
    check(p.returncode != 0, "a CBC-only client was accepted")
    good_client_still_served(env, col, 4)


class FlipRelay:
    """A TCP relay on loopback to the collector that flips one byte in the body of the
    client's first TLS application data record (type 23) and passes everything else."""

    def __init__(self, port):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.lsock.settimeout(10)
        self.port = self.lsock.getsockname()[1]
        self.target = port
        self.flipped = threading.Event()
        self.socks = [self.lsock]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            c, _ = self.lsock.accept()
            u = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            return
        self.socks += [c, u]
        back = threading.Thread(target=self.pump, args=(u, c), daemon=True)
        back.start()
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                buf += data
                # Forward whole records; flip the first application data record's 10th byte.
                while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
                    n = 5 + int.from_bytes(buf[3:5], "big")
                    rec = bytearray(buf[:n])
                    buf = buf[n:]
                    if rec[0] == 23 and not self.flipped.is_set() and n > 20:
                        rec[5 + 10] ^= 0x01
                        self.flipped.set()
                    u.sendall(bytes(rec))
        except OSError:
            pass
        finally:
            for x in (c, u):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        back.join(10)

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        for x in self.socks:
            try:
                x.shutdown(socket.SHUT_RDWR)  # wakes the relay's threads out of recv()
            except OSError:
                pass
            x.close()
        self.thread.join(10)


def case_chacha_openssl(env):
    """OpenSSL's ChaCha20-Poly1305 against the collector's own (tools/tls/chacha20_fast.c,
    poly1305_fast.c): TLS 1.3 and 1.2, a body of several full 16 KiB records and a ragged
    tail, stored and acknowledged; a flipped ciphertext byte ends the connection, stores
    nothing."""
    env.make_pki()
    col = env.start("--max-body", "200000", "--max-events", "1000")
    crt, key = env.device_files("dev-a")
    for n, (version, suite) in enumerate((("-tls1_3", ["-ciphersuites",
                                                      "TLS_CHACHA20_POLY1305_SHA256"]),
                                          ("-tls1_2", ["-cipher",
                                                       "ECDHE-ECDSA-CHACHA20-POLY1305"]))):
        boot = "c4ac4a20" * 3 + "%08x" % n
        body = batch("dev-a", boot=boot, seqs=range(1, 401))
        check(len(body) > 3 * 16384, "body only %d bytes" % len(body))
        req = (b"POST /v1/ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
               b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.device_port,
                            "-servername", "localhost", "-cert", crt, "-key", key, "-CAfile",
                            env.ca(), "-verify_return_error", version, *suite, "-ign_eof",
                            "-brief"], input=req, capture_output=True, timeout=60)
        out = p.stdout.decode(errors="replace")
        info = p.stderr.decode(errors="replace")
        check("CHACHA20" in info, "%s negotiated: %s" % (version, info[-300:]))
        check(out.startswith("HTTP/1.1 200 OK"),
              "%s got: %r / %r" % (version, out[:200], info[-300:]))
        check(acks_of(out.split("\r\n\r\n", 1)[1]) == {boot: 400},
              "%s ack: %r" % (version, out[-300:]))
        rows = env.query("SELECT count(*), sum(seq) FROM events WHERE boot_id = '%s'" % boot)
        check(rows == [(400, 400 * 401 // 2)], "%s stored: %r" % (version, rows))
    # A record whose ciphertext was changed in flight fails Poly1305: the collector drops the
    # connection and stores nothing. A relay flips one byte of the client's first application
    # data record (TLS 1.2, where that record is the request, not the handshake's Finished).
    before = env.query("SELECT count(*) FROM events")
    relay = FlipRelay(col.device_port)
    try:
        ctx = client_context(env, "dev-a")
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", relay.port), timeout=10),
                            server_hostname="localhost")
        check("CHACHA20" in s.cipher()[0], "relay cipher %r" % (s.cipher(),))
        body = batch("dev-a", boot="c4ac4a20" * 3 + "000000ff", seqs=range(1, 3))
        try:
            s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            pass
        status, _ = read_http_response(s)
        check(status is None, "a tampered record was answered: %r" % status)
        check(relay.flipped.wait(10), "the relay saw no application data record")
        s.close()
    finally:
        relay.close()
    check(env.query("SELECT count(*) FROM events") == before, "a tampered request stored rows")
    good_client_still_served(env, col, 1)


def case_dedupe(env):
    """The same events sent twice are stored once and acknowledged both times."""
    env.make_pki()
    col = env.start()
    body = batch("dev-a", seqs=[1, 2, 3, 4, 5])
    a1 = post_ok(env, col, "dev-a", body)
    a2 = post_ok(env, col, "dev-a", body)
    check(a1 == a2 == {BOOT_A: 5}, "acks %r %r" % (a1, a2))
    # Overlap: 4..7 stores only 6 and 7; an older boot in the same batch is acked separately.
    evs = [event(BOOT_A, s) for s in (4, 5, 6, 7)] + [event(BOOT_B, 9)]
    a3 = post_ok(env, col, "dev-a", batch("dev-a", events=evs))
    check(a3 == {BOOT_A: 7, BOOT_B: 9}, "acks %r" % a3)
    rows = env.query("SELECT boot_id, seq, count(*) FROM events WHERE device = 'dev-a' "
                     "GROUP BY boot_id, seq ORDER BY boot_id, seq")
    want = [(BOOT_A, s, 1) for s in range(1, 8)] + [(BOOT_B, 9, 1)]
    check(sorted(rows) == sorted(want), "stored %r" % rows)
    h = col.health()
    check(h["ingest"]["events_duplicate"] == 7 and h["ingest"]["events_stored"] == 8,
          "counters: %r" % h["ingest"])
    # Another device may use the same boot id and sequence numbers: no collision.
    check(post_ok(env, col, "dev-b", batch("dev-b", seqs=[1, 2])) == {BOOT_A: 2}, "dev-b")
    check(env.query("SELECT count(*) FROM events WHERE device = 'dev-b'") == [(2,)], "dev-b rows")


def case_keepalive(env):
    """One connection carries many requests (the agent's keep-alive), in order."""
    env.make_pki()
    col = env.start()
    c = DeviceClient(env, col, "dev-a")
    for i in range(1, 51):
        status, _, data = c.post(batch("dev-a", seqs=[i], hb_seq=i))
        check(status == 200 and acks_of(data) == {BOOT_A: i}, "request %d: %d %r" % (i, status,
                                                                                 data))
    c.close()
    h = col.health()
    check(h["tls"]["handshakes"] <= 3, "handshakes %r (keep-alive not kept)" % h["tls"])
    check(env.query("SELECT count(*) FROM events") == [(50,)], "rows")


def ingest_request(i):
    body = batch("dev-a", seqs=[i], hb_seq=i)
    return (b"POST /v1/ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


class ByteTLS:
    """A device's TLS over a plain socket (ssl.MemoryBIO), so the test chooses how the record
    bytes reach the collector's socket: a record split anywhere, or several at once."""

    def __init__(self, env, col, tls13):
        ctx = client_context(env, "dev-a")
        if tls13:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_3
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.sock = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        self.buf = b""
        self._until(self.tls.do_handshake)

    def _flush(self, piece=0):
        data = self.out.read()
        step = piece or len(data) or 1
        for k in range(0, len(data), step):
            self.sock.sendall(data[k:k + step])
            if piece:
                time.sleep(0.002)  # separate segments: the collector sees parts of a record

    def _until(self, op):
        for _ in range(1000):  # bounded: each turn reads from the socket or finishes
            try:
                r = op()
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                d = self.sock.recv(65536)
                check(d, "the collector closed the connection")
                self.inc.write(d)
        raise Fail("TLS did not progress")

    def send(self, data, piece=0):
        self.tls.write(data)
        self._flush(piece)

    def response(self):
        """One response (Content-Length framed); bytes after it stay for the next call."""
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                n = [int(v) for k, _, v in (ln.partition(b":") for ln in head.split(b"\r\n")[1:])
                     if k.strip().lower() == b"content-length"][0]
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return int(head.split(b" ", 2)[1]), rest[:n]
            self.buf += self._until(lambda: self.tls.read(65536))

    def close(self):
        self.sock.close()


def case_pipelined(env):
    """Requests that arrive together (several in one TLS write) or a few bytes at a time (a TLS
    record split across segments, its header too) are each answered, in order, on one
    connection, under TLS 1.2 and 1.3: the collector reads ahead of what mbedTLS asks for and
    waits for the socket's next event after a short read (server/conn.c)."""
    env.make_pki()
    col = env.start()
    seq = 0
    for tls13 in (False, True):
        c = ByteTLS(env, col, tls13)
        c.send(ingest_request(seq + 1) + ingest_request(seq + 2) + ingest_request(seq + 3))
        for _ in range(3):
            seq += 1
            status, data = c.response()
            check(status == 200 and acks_of(data) == {BOOT_A: seq},
                  "pipelined request %d (TLS 1.%d): %r %r" % (seq, 3 if tls13 else 2, status, data))
        for piece in (2, 64):
            seq += 1
            c.send(ingest_request(seq), piece=piece)
            status, data = c.response()
            check(status == 200 and acks_of(data) == {BOOT_A: seq},
                  "request %d in pieces of %d bytes (TLS 1.%d): %r %r"
                  % (seq, piece, 3 if tls13 else 2, status, data))
        c.close()
    check(env.query("SELECT count(*) FROM events") == [(seq,)], "rows")
    check(col.alive(), "the collector died")


def case_park(env):
    """Idle keep-alive connections park their TLS record buffers (tls/park.c) and carry the next
    request as before, under TLS 1.2 and 1.3, in both directions, several times over."""
    env.make_pki()
    col = env.start("--check-interval", "200")
    ctx13 = client_context(env, "dev-b")
    ctx13.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx13.minimum_version = ssl.TLSVersion.TLSv1_3
    clients = {"dev-a": DeviceClient(env, col, "dev-a"),  # TLS 1.2
               "dev-b": DeviceClient(env, col, "dev-b", ctx=ctx13)}
    seq = 0
    for rnd in range(3):
        for device, c in clients.items():
            seq += 1
            status, _, data = c.post(batch(device, seqs=[seq], hb_seq=seq))
            check(status == 200 and acks_of(data) == {BOOT_A: seq},
                  "round %d, %s, request %d: %d %r" % (rnd, device, seq, status, data))
        # Idle for more than 1 s (checked every 200 ms): both park; the next round uses them.
        wait_for(lambda: col.health()["connections"]["parked"] == 2, 10,
                 "both idle connections to park (round %d)" % rnd)
        check(col.health()["connections"]["devices"] == 2, "a device connection was lost")
    for c in clients.values():
        c.close()
    wait_for(lambda: col.health()["connections"]["parked"] == 0, 10, "parked count back to 0")


# ---- rejections ------------------------------------------------------------------------------

def case_reject_other_ca(env):
    env.make_pki()
    col = env.start()
    other = os.path.join(env.dir, "other")
    subprocess.run([env.pki_bin, "--dir", other, "init"], check=True, capture_output=True)
    subprocess.run([env.pki_bin, "--dir", other, "device", "dev-a"], check=True,
                   capture_output=True)
    dev = (os.path.join(other, "devices", "dev-a.crt"), os.path.join(other, "devices",
                                                                     "dev-a.key"))
    try:
        s = raw_tls(env, col, dev)
        # TLS 1.2: the server's verdict on our certificate arrives after our Finished.
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        got = s.recv(100)
        raise Fail("a certificate from another CA was accepted (%r)" % got)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    wait_for(lambda: "rejected client certificate CN=dev-a" in col.log_text(), 10, "the log line")
    check(env.query("SELECT count(*) FROM events") == [(0,)], "rows stored")
    good_client_still_served(env, col, 1)


def case_reject_expired(env):
    env.make_pki()
    env.run_pki("device", "old", "--start", "20200101000000Z", "--end", "20200102000000Z")
    col = env.start()
    try:
        s = raw_tls(env, col, "old")
        s.sendall(b"x")
        s.recv(10)
        raise Fail("an expired certificate was accepted")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    wait_for(lambda: "expired" in col.log_text(), 10, "'expired' in the log")
    good_client_still_served(env, col, 1)


def case_reject_revoked(env):
    env.make_pki(devices=("dev-a", "dev-r"))
    col = env.start("--check-interval", "200")
    # dev-r works, and keeps a connection open...
    live = DeviceClient(env, col, "dev-r")
    status, _, _ = live.post(batch("dev-r", seqs=[1]))
    check(status == 200, "dev-r before revocation: %d" % status)
    # ...and keeps a session (ticket) for a cheap reconnect.
    ctx = client_context(env, "dev-r")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", col.device_port), timeout=10),
                        server_hostname="localhost")
    session = s.session
    s.close()
    env.run_pki("revoke", "dev-r")
    col.signal(signal.SIGHUP)
    wait_for(lambda: "1 revoked certificates" in col.log_text(), 10, "the CRL reload")
    # The open connection is cut...
    check(peer_closed(live.conn.sock, 10), "the revoked device's connection stayed open")
    # ...a new handshake fails...
    try:
        s = raw_tls(env, col, "dev-r")
        s.sendall(b"x")
        s.recv(10)
        raise Fail("a revoked certificate was accepted")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    # ...and its session ticket does not resume either.
    try:
        raw = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        s.sendall(b"x")
        s.recv(10)
        raise Fail("a revoked device resumed with its ticket (reused=%s)" % s.session_reused)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    check("revoked" in col.log_text(), "no log line about the revocation")
    good_client_still_served(env, col, 1)


def case_reject_impersonation(env):
    """Device A's certificate posting as device B: 403, logged, connection closed."""
    env.make_pki()
    col = env.start()
    s = raw_tls(env, col, "dev-a")
    body = batch("dev-b", seqs=[1])
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status, data = read_http_response(s)
    check(status == 403, "impersonation got %r %r" % (status, data))
    check(peer_closed(s), "the connection stayed open after 403")
    wait_for(lambda: "device dev-a (certificate CN) posted a batch as device 'dev-b'" in
             col.log_text(), 10, "the log line")
    check(env.query("SELECT count(*) FROM events") == [(0,)], "rows stored")
    check(env.query("SELECT count(*) FROM devices") == [(0,)], "device row stored")
    # A heartbeat or snapshot naming another device inside A's batch is refused too.
    evil = json.loads(batch("dev-a", seqs=[1]))
    evil["heartbeat"]["device"] = "dev-b"
    c = DeviceClient(env, col, "dev-a")
    status, _, data = c.post(json.dumps(evil).encode())
    check(status == 400 and b"another device" in data, "nested impersonation: %d %r" % (status,
                                                                                      data))
    good_client_still_served(env, col, 1)


def case_reject_plain_http(env):
    env.make_pki()
    col = env.start()
    for port in (col.device_port, col.api_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, data = read_http_response(s)
        check(status == 400 and b"HTTPS only" in data, "plain HTTP got %r %r" % (status, data))
        check(peer_closed(s), "plain connection stayed open")
        s.close()
    # Garbage that is neither TLS nor HTTP: closed without an answer.
    s = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
    s.sendall(b"\x00\x01\x02garbage")
    check(peer_closed(s), "garbage connection stayed open")
    good_client_still_served(env, col, 1)


def case_reject_oversize(env):
    env.make_pki()
    col = env.start("--max-body", "4096", "--max-events", "8")
    # Declared too large: 413 before any body byte is read.
    s = raw_tls(env, col, "dev-a")
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\n\r\n" + b"{" * 2000)
    status, _ = read_http_response(s)
    check(status == 413, "oversized body got %r" % status)
    check(peer_closed(s), "connection open after 413")
    # A head larger than the limit: 431.
    s = raw_tls(env, col, "dev-a")
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n")
    status, _ = read_http_response(s)
    check(status == 431, "huge head got %r" % status)
    # Too many events for one batch (within the byte limit): 413.
    c = DeviceClient(env, col, "dev-a")
    status, _, data = c.post(batch("dev-a", seqs=range(1, 10)))
    check(status == 413, "9 events with --max-events 8 got %d %r" % (status, data))
    check(env.query("SELECT count(*) FROM events") == [(0,)], "rows stored")
    good_client_still_served(env, col, 1)


def case_reject_malformed(env):
    env.make_pki()
    col = env.start()
    bad_bodies = [
        (b"{not json", b"expected"),
        (b'{"v":1,"type":"batch","device":"dev-a","boot":"' + BOOT_A.encode() + b'","events":['
         b'{"boot":"' + BOOT_A.encode() + b'","seq":1,"t_ms":1.5,"sensor":"s","from":"ok",'
         b'"to":"caution","severity":"low"}]}', b"integer"),
        (batch("dev-a", seqs=[1]).replace(b'"caution"', b'"purple"'), b"unknown state"),
        (batch("dev-a", seqs=[1]).replace(b'"v":1', b'"v":3', 1), b"version"),
        (batch("dev-a", seqs=[0]), b"seq"),
        (b'{"v":1,"type":"batch","device":"dev-a","boot":"XYZ"}', b"hex"),
        (b'{"v":1,"type":"batch","device":"dev-a","boot":"' + BOOT_A.encode() + b'","v":1}',
         b"duplicate"),
        (b'{"v":1,"type":"batch","device":"dev-a","boot":"' + BOOT_A.encode() + b'"}\xff',
         b"UTF-8"),
    ]
    for body, why in bad_bodies:
        c = DeviceClient(env, col, "dev-a")
        try:
            status, headers, data = c.post(body)
        finally:
            c.close()
        check(status == 400 and why in data, "malformed body got %d %r (want 400 %r)"
              % (status, data, why))
        check(headers.get("Connection") == "close", "400 without Connection: close")
    # Wrong content type: 415. Wrong method or path: 405 / 404.
    c = DeviceClient(env, col, "dev-a")
    status, _, _ = c.post(batch("dev-a", seqs=[1]), content_type="text/plain")
    check(status == 415, "text/plain got %d" % status)
    c.close()
    # No Content-Type at all is JSON by protocol (the agent leaves it out to save bytes).
    c = DeviceClient(env, col, "dev-a")
    status, _, _ = c.post(batch("dev-a"), content_type=None)
    check(status == 200, "batch without Content-Type got %d (want 200)" % status)
    c.close()
    # Malformed HTTP heads: each 4xx and closed.
    heads = [(b"POST /v1/ingest HTTP/1.1\nHost: x\n\n", 400),
             (b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
             (b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n\r\n", 411),
             (b"POST /v1/ingest HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 505),
             (b"GET /v1/ingest HTTP/1.1\r\nHost: x\r\n\r\n", 405),
             (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
             (b"POST /v1/ingest HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
              b"Host: x\r\n\r\n{", 400)]
    for head, want in heads:
        s = raw_tls(env, col, "dev-a")
        s.sendall(head)
        status, _ = read_http_response(s)
        check(status == want, "%r got %r, want %d" % (head[:40], status, want))
        check(peer_closed(s), "connection open after %d" % want)
    check(env.query("SELECT count(*) FROM events") == [(0,)], "rows stored")
    good_client_still_served(env, col, 1)


def terminal_safe(out):
    """No byte a terminal acts on: nothing below 0x20 but newline and tab, no DEL, no C1
    (U+0080-U+009F), valid UTF-8."""
    out.decode("utf-8")
    bad = [b for b in out if (b < 0x20 and b not in (0x0a, 0x09)) or b == 0x7f]
    return not bad and not any(0x80 <= c <= 0x9f for c in out.decode("utf-8").encode("utf-32-le")[::4])


def case_reject_escapes(env):
    """Device-supplied text with terminal escapes (issue 10): refused at ingest with a 400
    naming the field; and what an older collector stored raw reaches no terminal through
    wardctl (text and --json) or the API."""
    env.make_pki()
    col = env.start()
    pwned = "\x1b]0;PWNED\x07\x1b[2J"
    for field in ("firmware", "board", "arch"):
        doc = json.loads(batch("dev-a", seqs=[1]))
        doc["heartbeat"][field] = pwned
        c = DeviceClient(env, col, "dev-a")
        try:
            status, _, data = c.post(json.dumps(doc).encode())
        finally:
            c.close()
        check(status == 400 and (field + ": 1-63 printable ASCII").encode() in data,
              "%s with escapes got %d %r" % (field, status, data))
    doc = json.loads(batch("dev-a", seqs=[1]))
    doc["events"][0]["sensor"] = "temp:\x1b[2J"
    c = DeviceClient(env, col, "dev-a")
    status, _, data = c.post(json.dumps(doc).encode())
    c.close()
    check(status == 400 and b"sensor id" in data, "sensor id with escapes got %d %r" % (status, data))
    check(env.query("SELECT count(*) FROM devices") == [(0,)], "a refused device was stored")
    check(env.query("SELECT count(*) FROM events") == [(0,)], "a refused event was stored")
    # What a collector before this check stored: the same escapes, and DEL, C1 CSI, in the
    # heartbeat and an event (written into the database behind the collector's back).
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    hb = json.loads(env.query("SELECT heartbeat FROM devices WHERE id = 'dev-a'")[0][0])
    hb.update(firmware=pwned, board="b\x7f\x9b31m", arch="\x1b[31m")
    con = sqlite3.connect(env.db(), timeout=10)
    try:
        con.execute("UPDATE devices SET heartbeat = ? WHERE id = 'dev-a'",
                    (json.dumps(hb, ensure_ascii=False),))
        con.execute("UPDATE events SET sensor = ? WHERE device = 'dev-a'", ("temp:\x1b[2J",))
        con.commit()
    finally:
        con.close()
    for args in (["device", "dev-a"], ["--json", "device", "dev-a"], ["events"],
                 ["--json", "events"], ["devices"]):
        cmd = [env.wardctl_bin, "--url", "https://localhost:%d" % col.api_port, "--ca", env.ca(),
               "--token-file", env.token_file] + args
        p = subprocess.run(cmd, capture_output=True, timeout=30)
        check(p.returncode == 0, "wardctl %s: %r" % (args, p.stderr))
        check(terminal_safe(p.stdout), "wardctl %s printed a control byte: %r" % (args, p.stdout))
        if args == ["device", "dev-a"]:
            check(b"firmware:        ?]0;PWNED??[2J (board b??31m, ?[31m)" in p.stdout,
                  "firmware line: %r" % p.stdout)
        if args == ["--json", "device", "dev-a"]:
            d = json.loads(p.stdout)
            check(d["heartbeat"]["firmware"] == pwned and d["heartbeat"]["board"] == "b\x7f\x9b31m",
                  "JSON view changed the values: %r" % d["heartbeat"])
    good_client_still_served(env, col, 2)


def case_reject_slow(env):
    """A client sending one byte per second is cut off; everyone else is served meanwhile."""
    env.make_pki()
    col = env.start("--handshake-timeout", "3000", "--request-timeout", "3000")
    # 1. Slow during the TLS handshake: a ClientHello trickled byte by byte.
    slow_tcp = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
    hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
    # 2. Slow inside an HTTP request on an authenticated connection.
    slow_tls = raw_tls(env, col, "dev-a")
    req = b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    cut = {"tcp": None, "tls": None}
    start = time.monotonic()
    for i in range(12):
        for name, sock, data in (("tcp", slow_tcp, hello), ("tls", slow_tls, req)):
            if cut[name] is None:
                try:
                    sock.sendall(data[i:i + 1])
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    cut[name] = time.monotonic() - start
        # Meanwhile a good device is served (the slow ones hold no one up).
        good_client_still_served(env, col, 100 + i)
        if all(cut.values()):
            break
        time.sleep(1)
    # The slow TLS client got a 408 before the close.
    slow_tls.settimeout(5)
    try:
        status, _ = read_http_response(slow_tls)
    except (socket.timeout, ssl.SSLError, OSError):
        status = None
    check(status in (408, None), "slow request got %r" % status)
    check(peer_closed(slow_tls, 5), "slow TLS client never cut off")
    check(peer_closed(slow_tcp, 5), "slow handshake never cut off")
    log = col.log_text()
    check("TLS handshake not complete within 3000 ms" in log, "no handshake timeout logged")
    check("request not complete within 3000 ms" in log, "no request timeout logged")
    good_client_still_served(env, col, 1000)


# ---- durability ------------------------------------------------------------------------------

def case_ack_committed(env):
    """No acknowledgement without a commit: while another process holds the database's write
    lock, the collector answers 503 and stores nothing; once the lock is gone the same batch
    is stored and acknowledged."""
    env.make_pki()
    col = env.start("--busy-timeout", "200")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    locker = sqlite3.connect(env.db(), timeout=10, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        c = DeviceClient(env, col, "dev-a")
        status, headers, data = c.post(batch("dev-a", seqs=[2, 3]))
        check(status == 503, "with the database locked got %d %r" % (status, data))
        check(b"acks" not in data, "a 503 carried an ack: %r" % data)
        check(headers.get("Retry-After") is not None, "503 without Retry-After")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    check(env.query("SELECT max(seq) FROM events") == [(1,)], "rows stored while locked")
    status, _, data = c.post(batch("dev-a", seqs=[2, 3]))
    check(status == 200 and acks_of(data) == {BOOT_A: 3}, "after unlock: %d %r" % (status, data))
    c.close()
    check(col.health()["ingest"]["stage_failures"] >= 1, "stage failure not counted")


def case_commit_interval(env):
    """--commit-interval-us: a request to an idle collector is committed at once; one that
    completes less than the interval after the last commit began waits for it (and is still
    stored before its ack); 0 commits after every pass. Shown in /v1/health and /metrics."""
    env.make_pki()
    col = env.start("--commit-interval-us", "1000000")
    a = DeviceClient(env, col, "dev-a")
    b = DeviceClient(env, col, "dev-b")
    a.post(batch("dev-a", seqs=[1]))  # the handshakes and first commits, before timing
    b.post(batch("dev-b", seqs=[1]))
    ing = col.health()["ingest"]
    check(ing["commit_interval_us"] == 1000000, "health: %r" % ing)
    deferred = ing["commits_deferred"]
    time.sleep(1.2)  # longer than the interval: the collector is idle again
    t0 = time.monotonic()
    status, _, data = a.post(batch("dev-a", seqs=[2]))
    check(status == 200 and acks_of(data) == {BOOT_A: 2}, "idle: %d %r" % (status, data))
    # Right after that commit: the next group waits until 1 s after it began, and a's request
    # was sent before it began, so b's answer comes at least 1 s after t0.
    status, _, data = b.post(batch("dev-b", seqs=[2]))
    took = time.monotonic() - t0
    check(status == 200 and acks_of(data) == {BOOT_A: 2}, "paced: %d %r" % (status, data))
    check(took >= 1.0, "the second commit came %.3f s after the first request" % took)
    check(env.query("SELECT count(*) FROM events WHERE device = 'dev-b' AND seq = 2") == [(1,)],
          "acknowledged and not stored")
    # a's request did not wait (idle), b's did: one more deferred group, not two.
    ing = col.health()["ingest"]
    check(ing["commits_deferred"] == deferred + 1, "deferred: %d then %r" % (deferred, ing))
    m = col.metrics()
    check("ward_collector_commits_deferred_total %d" % (deferred + 1) in m,
          "metrics: %r" % [x for x in m.splitlines() if "deferred" in x])
    a.close()
    b.close()
    col.stop()
    # 0: every pass commits; nothing waits.
    col = env.start("--commit-interval-us", "0")
    a = DeviceClient(env, col, "dev-a")
    for seq in range(3, 13):
        status, _, data = a.post(batch("dev-a", seqs=[seq]))
        check(status == 200 and acks_of(data) == {BOOT_A: seq}, "0: %d %r" % (status, data))
    a.close()
    ing = col.health()["ingest"]
    check(ing["commits_deferred"] == 0 and ing["commit_interval_us"] == 0, "0: %r" % ing)


def case_commit_failure(env):
    """A commit that fails (the database cannot grow: RLIMIT_FSIZE on the collector) is
    answered 503 without an ack, and what it carried is not in the database; every batch that
    was acknowledged before is. A restart without the limit finds a consistent database."""
    import resource
    env.make_pki()
    limit = 256 * 1024

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    col = env.start(preexec=small_files)
    c = DeviceClient(env, col, "dev-a")
    acked, refused, seq = 0, None, 0
    for i in range(400):
        seqs = list(range(seq + 1, seq + 21))
        # ~20 events of ~1 KiB each per batch: the WAL outgrows the limit within a few dozen.
        evs = [event(BOOT_A, s, sensor="temp:%s" % ("x" * 50)) for s in seqs]
        for e in evs:
            e["padding"] = "p" * 900
        status, headers, data = c.post(batch("dev-a", events=evs, hb_seq=i + 1))
        if status == 200:
            acked = acks_of(data)[BOOT_A]
            check(acked == seqs[-1], "ack %d for a batch ending at %d" % (acked, seqs[-1]))
            seq = seqs[-1]
            continue
        check(status == 503 and b"acks" not in data, "failed commit answered %d %r" % (status,
                                                                                      data))
        refused = seqs
        break
    c.close()
    check(refused is not None, "the file size limit never made a commit fail")
    check(acked > 0, "nothing was acknowledged before the limit")
    check(col.alive(), "the collector died on a failed commit")
    h = col.health()
    check(h["ingest"]["commit_failures"] + h["ingest"]["stage_failures"] >= 1,
          "failure not counted: %r" % h["ingest"])
    col.stop()
    col2 = env.start()
    rows = env.query("SELECT seq FROM events WHERE device = 'dev-a' ORDER BY seq")
    stored = [r[0] for r in rows]
    check(stored == list(range(1, acked + 1)),
          "after a failed commit: %d rows stored, %d acknowledged (%s..%s)"
          % (len(stored), acked, stored[:1], stored[-1:]))
    check(not set(refused) & set(stored), "events of the refused batch were stored")
    # The same batch now goes through.
    check(post_ok(env, col2, "dev-a", batch("dev-a", seqs=refused)) == {BOOT_A: refused[-1]},
          "resend after the failure")


def case_refusal_bytes(env):
    """Refusals with a fixed body send exactly its bytes: the full fleet's 503 is the
    40-byte document and nothing more (it once carried the literal's NUL, 41 bytes)."""
    env.make_pki()
    col = env.start("--max-devices", "1")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    c = DeviceClient(env, col, "dev-b")
    status, headers, data = c.post(batch("dev-b", seqs=[1]))
    c.close()
    want = b'{"error":"collector at device capacity"}'
    check(status == 503, "fleet full answered %d %r" % (status, data))
    check(headers.get("Content-Length") == str(len(want)) == "40",
          "Content-Length %r for a %d-byte body" % (headers.get("Content-Length"), len(want)))
    check(data == want, "body %r, want exactly %r" % (data, want))
    check(headers.get("Retry-After") == "60", "Retry-After %r" % headers.get("Retry-After"))
    # Wrong method and unknown path: the route tables' answers, byte for byte.
    c = DeviceClient(env, col, "dev-a")
    c.connect()
    c.conn.request("GET", "/v1/ingest")
    r = c.conn.getresponse()
    body = r.read()
    check(r.status == 405 and body == b'{"error":"use POST"}' and r.getheader("Allow") == "POST",
          "GET /v1/ingest answered %d %r" % (r.status, body))
    c.close()
    c = DeviceClient(env, col, "dev-a")
    status, _, data = c.post(batch("dev-a", seqs=[2]), path="/v1/ingest?x=1")
    check(status == 404 and data == b'{"error":"no such resource; devices POST /v1/ingest"}',
          "a query on /v1/ingest answered %d %r" % (status, data))
    c.close()


def case_retention(env):
    """Events older than --retention are deleted in bounded slices; younger ones stay; the
    event cursor keeps growing (ids are never reused)."""
    env.make_pki()
    col = env.start("--retention", "2s", "--check-interval", "100")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1, 2, 3]))
    time.sleep(1.2)
    sent4 = time.monotonic()  # event 4 is received after this
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[4]))
    wait_for(lambda: env.query("SELECT count(*) FROM events WHERE seq <= 3") == [(0,)], 10,
             "events 1-3 to expire")
    rows = env.query("SELECT seq FROM events")
    # Gone is only wrong if it went before its 2 s: on a loaded machine the queries above can
    # take longer than the 1.2 s between the two expiries, and then 4 has expired rightly.
    age = time.monotonic() - sent4
    check(rows == [(4,)] or (rows == [] and age >= 2.0),
          "a younger event expired too early: %r, %.2f s after it was sent" % (rows, age))
    wait_for(lambda: env.query("SELECT count(*) FROM events") == [(0,)], 10, "event 4 to expire")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[5]))
    check(env.query("SELECT id FROM events") == [(5,)], "an id was reused after expiry")
    health = col.health()
    check(health["storage"]["events_expired"] == 4, "expiry not counted")
    # Shorter than a day: each event goes at its cutoff, on both backends.
    check(health["retention"]["granularity"] == "event",
          "granularity %r" % health["retention"].get("granularity"))
    check(re.search(r"^ward_collector_retention_by_partition 0$", col.metrics(), re.M),
          "ward_collector_retention_by_partition not 0 in /metrics")
    check("retention: deleted" in col.log_text(), "no retention log line")
    # The device itself is kept (fleet state is not event history).
    check(env.wardctl_json(col, "device", "dev-a")["state"] == "up", "device lost")


class Loader(threading.Thread):
    """One device posting batches of new events over keep-alive, as fast as acks come back;
    on any error it reconnects and resends everything not acknowledged (the agent's rule)."""

    def __init__(self, env, col_ref, device, per_batch=20):
        super().__init__(daemon=True)
        self.env, self.col_ref, self.device, self.per_batch = env, col_ref, device, per_batch
        self.acked = 0  # highest acknowledged seq
        self.sent_max = 0
        self.stop = threading.Event()
        self.errors = 0
        self.requests = 0
        self.bad = None

    def run(self):
        client = None
        while not self.stop.is_set():
            try:
                if client is None:
                    client = DeviceClient(self.env, self.col_ref[0], self.device, timeout=5)
                first = self.acked + 1
                seqs = list(range(first, first + self.per_batch))
                status, _, data = client.post(batch(self.device, seqs=seqs, hb_seq=first))
                self.sent_max = max(self.sent_max, seqs[-1])
                self.requests += 1
                if status != 200:
                    raise OSError("status %d" % status)
                ack = json.loads(data)["acks"]
                got = {a["boot"]: a["seq"] for a in ack}.get(BOOT_A, 0)
                if got < seqs[-1]:
                    self.bad = "ack %d below what this batch sent (%d)" % (got, seqs[-1])
                self.acked = max(self.acked, got)
            except (OSError, ssl.SSLError, ValueError, KeyError,
                    __import__("http.client").client.HTTPException):
                self.errors += 1
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.05)
        if client is not None:
            client.close()


def stop_loaders(loaders):
    """Stop the load clients; none saw an ack below what it sent."""
    for ld in loaders:
        ld.stop.set()
    for ld in loaders:
        ld.join(timeout=15)
        check(not ld.is_alive(), "a load client did not stop")
        check(ld.bad is None, "%s: %s" % (ld.device, ld.bad))


def stop_and_verify(env, loaders, col):
    """Stop the load clients and the collector; then every event is stored exactly once and
    none is missing up to the highest stored."""
    stop_loaders(loaders)
    col.stop()
    dup = env.query("SELECT device, boot_id, seq, count(*) FROM events GROUP BY device, boot_id, "
                    "seq HAVING count(*) > 1")
    check(dup == [], "duplicates: %r" % dup[:5])
    for ld in loaders:
        rows = env.query("SELECT count(*), min(seq), max(seq) FROM events WHERE device = ?",
                         (ld.device,))
        n, lo, hi = rows[0]
        check(lo == 1 and hi >= ld.acked and n == hi,
              "%s: %d rows, seq %s..%s, acked %d: a gap" % (ld.device, n, lo, hi, ld.acked))


def case_kill9(env):
    """kill -9 of the collector under load, restart: every acknowledged event is stored exactly
    once, and after the clients resent the rest, nothing is missing."""
    env.make_pki(devices=("dev-a", "dev-b", "dev-c", "dev-d"))
    col = env.start()
    col_ref = [col]
    loaders = [Loader(env, col_ref, d) for d in ("dev-a", "dev-b", "dev-c", "dev-d")]
    for ld in loaders:
        ld.start()
    wait_for(lambda: all(ld.acked >= 2000 for ld in loaders), 120, "load to build up")
    time.sleep(random.uniform(0, 0.5))  # kill at an arbitrary point of a request
    acked_at_kill = {ld.device: ld.acked for ld in loaders}
    col.kill9()
    # Every ack a client had received before the kill is on disk, exactly once.
    for dev, acked in acked_at_kill.items():
        rows = env.query("SELECT seq, count(*) FROM events WHERE device = ? AND seq <= ? "
                         "GROUP BY seq", (dev, acked))
        check(len(rows) == acked and all(n == 1 for _, n in rows),
              "%s: %d acknowledged, %d stored after kill -9" % (dev, acked, len(rows)))
    time.sleep(0.5)
    col2 = env.start()
    col_ref[0] = col2
    target = {ld.device: ld.acked + 2000 for ld in loaders}
    wait_for(lambda: all(ld.acked >= target[ld.device] for ld in loaders), 120,
             "clients to resume after the restart")
    stop_and_verify(env, loaders, col2)
    total = sum(ld.requests for ld in loaders)
    print("kill9: %d requests, %d client errors around the kill, %s acked" %
          (total, sum(ld.errors for ld in loaders), {ld.device: ld.acked for ld in loaders}))


# ---- fleet -----------------------------------------------------------------------------------

def case_silent(env):
    env.make_pki()
    col = env.start("--check-interval", "100", "--silent-factor", "3")
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[], interval_ms=300))
    d = env.wardctl_json(col, "device", "dev-a")
    check(d["state"] == "up" and d["interval_ms"] == 300 and d["silent_after_ms"] == 900,
          "device after its heartbeat: %r" % {k: d[k] for k in ("state", "interval_ms")})
    wait_for(lambda: env.wardctl_json(col, "device", "dev-a")["state"] == "silent", 10,
             "dev-a to go silent")
    ev = env.wardctl_json(col, "events", "--device", "dev-a", "--severity", "high")["events"]
    check(len(ev) == 1 and ev[0]["from"] == "up" and ev[0]["to"] == "silent" and
          ev[0]["source"] == "collector" and ev[0]["severity"] == "high", "events: %r" % ev)
    check(env.wardctl_json(col, "devices")["silent"] == 1, "fleet counts")
    # It comes back.
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[], hb_seq=2, interval_ms=300))
    wait_for(lambda: env.wardctl_json(col, "device", "dev-a")["state"] == "up", 10,
             "dev-a to come back")
    ev = wait_for(lambda: [e for e in env.wardctl_json(col, "events", "--device", "dev-a")
                           ["events"] if e["to"] == "up"], 10, "the up event")
    check(ev[0]["from"] == "silent", "up event: %r" % ev)
    # The state survives a restart (stored), and a restarted collector gives devices a fresh
    # window instead of declaring the whole fleet silent at once.
    wait_for(lambda: env.wardctl_json(col, "device", "dev-a")["state"] == "silent", 10,
             "dev-a silent again")
    col.stop()
    col2 = env.start("--check-interval", "100", "--silent-factor", "3")
    check(env.wardctl_json(col2, "device", "dev-a")["state"] == "silent", "state lost on restart")
    rows = env.query("SELECT from_state, to_state FROM events WHERE device = 'dev-a' "
                     "AND seq IS NULL ORDER BY id")
    check(rows == [("up", "silent"), ("silent", "up"), ("up", "silent")], "transitions %r" % rows)


def case_silent_per_device(env):
    """Each device is judged by the interval its own heartbeat announced, not the flag: with
    --heartbeat-interval 200 a device announcing 60 s stays up while one announcing 300 ms
    goes silent after 3 x 300 ms; a compact (protocol 2) heartbeat without interval_ms
    keeps the announced one."""
    env.make_pki()
    col = env.start("--check-interval", "100", "--silent-factor", "3",
                    "--heartbeat-interval", "200")
    t0 = time.monotonic()
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[], interval_ms=300))
    post_ok(env, col, "dev-b", batch("dev-b", seqs=[], interval_ms=60000))
    compact = json.loads(batch("dev-b", seqs=[], hb_seq=2))
    compact["v"] = 2
    compact["heartbeat"] = {"v": 2, "seq": 2, "t_ms": 2000, "config": "0" * 16,
                            "health": {"state": "ok", "sensors": 1}}
    del compact["events"]
    post_ok(env, col, "dev-b", json.dumps(compact).encode())
    wait_for(lambda: env.wardctl_json(col, "device", "dev-a")["state"] == "silent", 10,
             "dev-a to go silent")
    waited = time.monotonic() - t0
    check(waited >= 0.9, "dev-a silent after %.2f s, before 3 x 300 ms" % waited)
    time.sleep(1.0)  # well past 3 x the flag's 200 ms
    d = env.wardctl_json(col, "device", "dev-b")
    check(d["state"] == "up" and d["interval_ms"] == 60000,
          "dev-b: %r" % {k: d[k] for k in ("state", "interval_ms")})
    check(d["heartbeat"].get("firmware") == "0.1.0" and d["heartbeat"]["seq"] == 2,
          "sticky fields of the full heartbeat kept: %r" % d["heartbeat"])
    col.stop()


def case_api(env):
    env.make_pki()
    col = env.start()
    sensors = [{"id": "temp:cpu0", "state": "caution", "severity": "low", "kind": "threshold",
                "value": 81000, "since_ms": 1, "last_ms": 2},
               {"id": "fan:sys1", "state": "ok", "severity": "none", "kind": "threshold",
                "value": 2400, "since_ms": 1, "last_ms": 2}]
    evs = [event(BOOT_A, 1), event(BOOT_A, 2, sensor="disk:sda", to="failed", severity="high",
                                   value=None)]
    post_ok(env, col, "dev-a", batch("dev-a", events=evs,
                                     health=snapshot("dev-a", BOOT_A, sensors)))
    post_ok(env, col, "dev-b", batch("dev-b", seqs=[1]))
    devs = env.wardctl_json(col, "devices")
    check([d["id"] for d in devs["devices"]] == ["dev-a", "dev-b"] and devs["up"] == 2,
          "devices: %r" % devs)
    d = env.wardctl_json(col, "device", "dev-a")
    check(d["snapshot"]["sensors"] == sensors, "snapshot: %r" % d["snapshot"])
    check(d["heartbeat"]["firmware"] == "0.1.0" and d["health"] == "ok", "heartbeat: %r" % d)
    check([e["seq"] for e in d["recent_events"]] == [1, 2], "recent: %r" % d["recent_events"])
    allev = env.wardctl_json(col, "events")
    check(len(allev["events"]) == 3, "events: %r" % allev)
    high = env.wardctl_json(col, "events", "--severity", "high")["events"]
    check([(e["device"], e["sensor"]) for e in high] == [("dev-a", "disk:sda")], "high: %r" % high)
    check(high[0]["event"]["value"] is None, "stored event doc: %r" % high[0])
    page1 = env.wardctl_json(col, "events", "--since", "0", "--limit", "2")
    page2 = env.wardctl_json(col, "events", "--since", str(page1["next"]))
    check([e["id"] for e in page1["events"] + page2["events"]] == [1, 2, 3],
          "paging: %r %r" % (page1, page2))
    check(env.wardctl_json(col, "events", "--device", "dev-b")["events"][0]["device"] == "dev-b",
          "device filter")
    h = env.wardctl_json(col, "health")
    check(h["status"] == "ok" and h["fleet"]["devices"] == 2 and h["storage"]["last_event_id"] == 3,
          "health: %r" % h)
    # Human output names what matters.
    out = env.wardctl(col, "devices").stdout
    check("dev-a" in out and "up" in out and "2 devices: 2 up, 0 silent" in out, out)
    out = env.wardctl(col, "device", "dev-a").stdout
    check("temp:cpu0" in out and "caution" in out and "disk:sda" in out, out)
    # Errors: unknown device, bad token, missing token, malformed query.
    p = env.wardctl(col, "device", "nope", check_rc=False)
    check(p.returncode == 1 and "404" in p.stderr, "unknown device: %r" % p.stderr)
    bad = os.path.join(env.dir, "bad.token")
    with open(bad, "w") as f:
        f.write("ward_" + "0" * 64 + "\n")
    os.chmod(bad, 0o600)
    p = env.wardctl(col, "devices", token_file=bad, check_rc=False)
    check(p.returncode == 1 and "401" in p.stderr, "bad token: %r" % p.stderr)
    ctx = ssl.create_default_context(cafile=env.ca())
    import http.client
    conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=10)
    conn.request("GET", "/v1/devices")
    r = conn.getresponse()
    check(r.status == 401 and r.getheader("WWW-Authenticate", "").startswith("Bearer"),
          "no token: %d" % r.status)
    r.read()
    conn.close()
    tok = open(env.token_file).read().strip()
    for path, want in (("/v1/events?severity=purple", 400), ("/v1/events?since=-1", 400),
                       ("/v1/events?bogus=1", 400), ("/v1/nothing", 404),
                       ("/v1/devices/..%2Fx", 400)):
        conn = http.client.HTTPSConnection("localhost", col.api_port, context=ctx, timeout=10)
        conn.request("GET", path, headers={"Authorization": "Bearer " + tok})
        r = conn.getresponse()
        check(r.status == want, "%s got %d, want %d" % (path, r.status, want))
        r.read()
        conn.close()
    # Tokens reload on SIGHUP.
    env.run_pki("token", "second")
    second = os.path.join(env.pki, "tokens", "second.token")
    check(env.wardctl(col, "devices", token_file=second, check_rc=False).returncode == 1,
          "a token worked before the reload")
    col.signal(signal.SIGHUP)
    wait_for(lambda: env.wardctl(col, "devices", token_file=second, check_rc=False).returncode
             == 0, 10, "the new token to work after SIGHUP")


def case_wardctl_verify(env):
    """wardctl verifies the collector: by DNS name or by IP address (iPAddress SAN), and
    refuses a certificate that names neither or comes from another CA."""
    env.make_pki()
    col = env.start()
    for host in ("localhost", "127.0.0.1"):
        p = env.wardctl(col, "devices", check_rc=False)
        check(p.returncode == 0, "localhost refused: %s" % p.stderr)
        cmd = [env.wardctl_bin, "--url", "https://%s:%d" % (host, col.api_port), "--ca",
               env.ca(), "--token-file", env.token_file, "devices"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "%s refused: %s" % (host, p.stderr))
    col.stop()
    # A collector certificate for another name only (signed by the same CA).
    key = os.path.join(env.dir, "other.key")
    crt = os.path.join(env.dir, "other.crt")
    ext = os.path.join(env.dir, "other.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:other.test,IP:10.1.2.3\n")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True, capture_output=True)
    os.chmod(key, 0o600)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=other.test", "-out",
                    key + ".csr"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", key + ".csr", "-CA", env.ca(), "-CAkey",
                    os.path.join(env.pki, "ca.key"), "-CAcreateserial", "-days", "2",
                    "-extfile", ext, "-out", crt], check=True, capture_output=True)
    col2 = env.start("--cert", crt, "--key", key)
    for host in ("localhost", "127.0.0.1"):
        cmd = [env.wardctl_bin, "--url", "https://%s:%d" % (host, col2.api_port), "--ca",
               env.ca(), "--token-file", env.token_file, "devices"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and "not trusted" in p.stderr,
              "%s accepted a certificate for other.test: %r" % (host, p.stderr))
    # A collector key readable by others is refused at start with one line.
    os.chmod(key, 0o644)
    try:
        env.start("--cert", crt, "--key", key)
        raise Fail("the collector started with a world-readable key")
    except Fail as e:
        check("accessible to group or others" in str(e), "start failure: %s" % e)


def case_watch(env):
    env.make_pki()
    col = env.start()
    post_ok(env, col, "dev-a", batch("dev-a", seqs=[1]))
    # --for ends it by itself; --json gives one document per refresh.
    t0 = time.monotonic()
    p = env.wardctl(col, "--json", "watch", "--interval", "0.5", "--for", "3", timeout=30)
    check(time.monotonic() - t0 < 20, "watch --for 3 did not stop (%.1fs)" % (time.monotonic() - t0))
    frames = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    check(2 <= len(frames) <= 7, "%d frames in 3s at 0.5s" % len(frames))
    check(frames[0]["devices"]["devices"][0]["id"] == "dev-a", "frame: %r" % frames[0])
    check(frames[0]["events"]["events"][0]["seq"] == 1, "first frame has the event")
    # Later frames carry only new events.
    check(all(f["events"]["events"] == [] for f in frames[1:]), "events repeated in frames")
    # Ctrl-C stops it promptly with status 0; the table names the device.
    cmd = [env.wardctl_bin, "--url", "https://localhost:%d" % col.api_port, "--ca", env.ca(),
           "--token-file", env.token_file, "watch", "--interval", "0.3"]
    w = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.2)
        post_ok(env, col, "dev-b", batch("dev-b", seqs=[1]))
        time.sleep(1.0)
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=5)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait(timeout=5)
    check(w.returncode == 0, "watch after Ctrl-C exited %d: %s" % (w.returncode, err))
    check("dev-a" in out and "dev-b" in out and "latest events" in out, "watch output: %s"
          % out[-500:])
    # The collector going away shows up in the table; watch keeps going (bounded by --for).
    col.stop()
    p = env.wardctl(col, "watch", "--interval", "0.5", "--for", "1.5", timeout=20)
    check("collector unreachable" in p.stdout, "unreachable not shown: %s" % p.stdout[-300:])


def case_tickets(env):
    """Session tickets resume after a collector restart (the key survives), so a reconnect
    storm skips public-key work; the key file is private."""
    env.make_pki()
    col = env.start()
    ctx = client_context(env, "dev-a")
    raw = socket.create_connection(("127.0.0.1", col.device_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /v1/ingest HTTP/1.1\r\nHost: x\r\n\r\n")  # any request: 405, then closed
    read_http_response(s)
    session = s.session
    s.close()
    check(session is not None and session.has_ticket, "no ticket issued")
    keyfile = os.path.join(env.state, "ticket-keys")
    check(stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600, "ticket key file mode")
    col.stop()
    col2 = env.start()
    raw = socket.create_connection(("127.0.0.1", col2.device_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    check(s.session_reused, "the ticket did not resume after a restart")
    # The resumed session carries the device identity: it can post, and only as itself.
    body = batch("dev-a", seqs=[1])
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status, data = read_http_response(s)
    check(status == 200 and acks_of(data) == {BOOT_A: 1}, "resumed post: %r %r" % (status, data))
    body = batch("dev-b", seqs=[1])
    s.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    status, _ = read_http_response(s)
    check(status == 403, "resumed session posted as another device: %r" % status)
    s.close()
    check(col2.health()["tls"]["resumed"] >= 1, "resumption not counted")
    # A ticket from the operator API does not resume on the device port.
    api_ctx = ssl.create_default_context(cafile=env.ca())
    api_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", col2.api_port), timeout=10)
    a = api_ctx.wrap_socket(raw, server_hostname="localhost")
    a.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    read_http_response(a)
    api_session = a.session
    a.close()
    raw = socket.create_connection(("127.0.0.1", col2.device_port), timeout=10)
    try:
        s = api_ctx.wrap_socket(raw, server_hostname="localhost", session=api_session)
        s.sendall(b"x")
        s.recv(10)
        raise Fail("an operator-port ticket opened the device port (reused=%s)" % s.session_reused)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    # Rotation keeps the previous key for one period (the grace), then drops it. Age the key
    # file between restarts instead of waiting a day.
    col2.stop()

    def age_current_key():
        lines = open(keyfile).read().splitlines()
        kid, _, hexkey = lines[1].split(" ")
        lines[1] = "%s %d %s" % (kid, int(time.time()) - 100000, hexkey)
        with open(keyfile, "w") as f:
            f.write("\n".join(lines) + "\n")

    def resumes(sess):
        raw = socket.create_connection(("127.0.0.1", env.collectors[-1].device_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=sess)
        reused = s.session_reused
        s.close()
        return reused

    age_current_key()
    col3 = env.start()
    check("rotated session ticket key" in col3.log_text(), "an old key was not rotated")
    check(resumes(session), "a ticket of the previous key did not resume (no grace)")
    col3.stop()
    age_current_key()
    col4 = env.start()
    check(col4.log_text().count("rotated session ticket key") == 1, "second rotation")
    check(not resumes(session), "a ticket two keys old still resumed")
    check(stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600, "ticket key file mode after rotation")


def case_agent_tls(env):
    """The agent's own TLS channel (firmware/transport, driven by tls_probe) against the
    collector: mutual TLS with a ward-pki device certificate, then resumption with the
    collector's ticket (no public-key work), on the pinned CA and verified name."""
    probe = os.environ.get("WARD_TLS_PROBE")
    check(probe and os.path.exists(probe), "WARD_TLS_PROBE does not name tls_probe")
    env.make_pki()
    col = env.start()
    crt, key = env.device_files("dev-a")
    p = subprocess.run([probe, "--port", str(col.device_port), "--host", "127.0.0.1", "--ca",
                        env.ca(), "--cert", crt, "--key", key, "--name", "localhost", "--count",
                        "3"], capture_output=True, text=True, timeout=60)
    check("summary: ok=3 full=1 resumed=2 failed=0" in p.stdout, "probe: %s" % p.stdout)
    check(col.health()["tls"]["resumed"] == 2, "collector counted: %r" % col.health()["tls"])
    # A wrong server name is refused by the agent (the collector's certificate is for
    # localhost/127.0.0.1 only).
    p = subprocess.run([probe, "--port", str(col.device_port), "--host", "127.0.0.1", "--ca",
                        env.ca(), "--cert", crt, "--key", key, "--name", "collector.invalid",
                        "--count", "1"], capture_output=True, text=True, timeout=60)
    check("failed=1" in p.stdout, "wrong name accepted: %s" % p.stdout)


def run_probe(env, col, device, *extra, name="localhost", timeout=60):
    """The agent's TLS channel (tls_probe: TLS 1.3, the Linux agent's mbedTLS) to the device
    port; returns the completed process."""
    probe = os.environ.get("WARD_TLS_PROBE")
    check(probe and os.path.exists(probe), "WARD_TLS_PROBE does not name tls_probe")
    crt, key = env.device_files(device)
    return subprocess.run([probe, "--port", str(col.device_port), "--host", "127.0.0.1", "--ca",
                           env.ca(), "--cert", crt, "--key", key, "--name", name] + list(extra),
                          capture_output=True, text=True, timeout=timeout)


def s_client(env, col, device, version):
    """openssl s_client with a device certificate; returns its combined output."""
    crt, key = env.device_files(device)
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.device_port,
                        "-cert", crt, "-key", key, "-CAfile", env.ca(), "-verify_return_error",
                        "-verify_hostname", "localhost", version],
                       input="", capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def paused_probe(env, col, device, flag):
    """tls_probe making two connections, the second only once `flag` exists; returns the
    process after its first connection's line."""
    crt, key = env.device_files(device)
    p = subprocess.Popen([os.environ["WARD_TLS_PROBE"], "--port", str(col.device_port), "--host",
                          "127.0.0.1", "--ca", env.ca(), "--cert", crt, "--key", key, "--name",
                          "localhost", "--count", "2", "--pause-file", flag],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = ""
    for _ in range(20):  # the probe's own deadlines bound each line
        line = p.stdout.readline()
        first += line
        if line.startswith("conn 1:") or not line:
            break
    return p, first


def case_tls13(env):
    """TLS 1.3 between agent and collector: a TLS-1.3-only collector refuses s_client
    -tls1_2 and serves -tls1_3; the agent's ticket survives a restart; under TLS 1.3 a wrong
    server name, an expired and a revoked device certificate are refused, and so is a revoked
    device presenting its resumption ticket."""
    env.make_pki(devices=("dev-a", "dev-r"))
    env.run_pki("device", "old", "--start", "20200101000000Z", "--end", "20200102000000Z")
    col = env.start("--tls13-only", "--check-interval", "200")
    out = s_client(env, col, "dev-a", "-tls1_2")
    check("Cipher is (NONE)" in out or "alert" in out, "s_client -tls1_2 was served: %s" % out[-400:])
    out = s_client(env, col, "dev-a", "-tls1_3")
    check("New, TLSv1.3" in out, "s_client -tls1_3 refused: %s" % out[-400:])
    # The agent: full handshake, then resumption from the collector's ticket, also after a
    # restart (the ticket key is on disk).
    flag = os.path.join(env.dir, "next")
    p, first = paused_probe(env, col, "dev-a", flag)
    port = col.device_port
    col.stop()
    col = env.start("--tls13-only", "--check-interval", "200", "--listen", "127.0.0.1:%d" % port)
    open(flag, "w").close()
    out, _ = p.communicate(timeout=60)
    out = first + out
    check("conn 1: ok full TLS1-3" in out and "conn 2: ok resumed TLS1-3" in out,
          "no TLS 1.3 resumption across a restart: %s" % out)
    check(col.health()["tls"]["resumed"] == 1, "collector counted: %r" % col.health()["tls"])
    # Wrong server name: the collector's certificate names localhost and 127.0.0.1 only.
    out = run_probe(env, col, "dev-a", name="collector.invalid").stdout
    check("conn 1: fail -13" in out, "wrong server name accepted under TLS 1.3: %s" % out)
    # An expired device certificate.
    out = run_probe(env, col, "old").stdout
    check("conn 1: fail" in out, "an expired device certificate was accepted: %s" % out)
    wait_for(lambda: "expired" in col.log_text(), 10, "'expired' in the log")
    # dev-r takes a ticket, is revoked, then presents the ticket: refused; and a full
    # handshake is refused too.
    p, first = paused_probe(env, col, "dev-r", flag)
    env.run_pki("revoke", "dev-r")
    col.signal(signal.SIGHUP)
    wait_for(lambda: "1 revoked certificates" in col.log_text(), 10, "the CRL reload")
    open(flag, "w").close()
    out, _ = p.communicate(timeout=60)
    out = first + out
    check("conn 1: ok full TLS1-3" in out and "conn 2: fail" in out,
          "a revoked device resumed with its TLS 1.3 ticket: %s" % out)
    check("refused a session ticket of revoked device dev-r" in col.log_text(),
          "no log line about the revoked device's ticket")
    out = run_probe(env, col, "dev-r").stdout
    check("conn 1: fail" in out, "a revoked device certificate was accepted under TLS 1.3: %s" % out)
    good = run_probe(env, col, "dev-a").stdout
    check("conn 1: ok" in good, "dev-a no longer served: %s" % good)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    main(CASES)
