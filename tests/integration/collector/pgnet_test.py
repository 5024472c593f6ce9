#!/usr/bin/env python3
"""The collector's PostgreSQL connections across a network that silently drops packets (the
database's host lost power, a partition: no RST), docs/storage.md "A host that vanishes".

pg_blackhole  The test moves itself into a network namespace of its own (the collector, the
              clients and wardctl run there, on its loopback) and starts PostgreSQL 15 in a
              second one, reachable only over a veth pair (198.18.0.1 <-> 198.18.0.2). While
              two clients post, an nftables rule in the server's namespace drops every packet:
              the collector must say so within NOTICE_S in one line, /v1/health, wardctl and
              /metrics show the storage down, no batch is acknowledged that is not stored;
              with the rule gone it reconnects and every acknowledged event is stored once,
              none missing. Then a second server in a third namespace (198.18.1.2) is added
              behind the first in a multi-host conninfo: with the first dropping packets again,
              the collector fails over to the second within FAILOVER_S.

Needs root, network namespaces and nftables; else skipped (77). The namespaces are deleted
and every process stopped by PID at the end.
"""
import atexit
import ctypes
import os
import re
import subprocess
import sys
import threading
import time

import harness
import pgserver
from collector_test import Loader, stop_and_verify, stop_loaders
from harness import Fail, check, wait_for
from pg_test import api_get

CLONE_NEWNET = 0x40000000
NOTICE_S = 30.0  # the defaults (store/pgconn.h) notice a dead host in about 10-15 s
# The loop waits on the store's query in flight until tcp_user_timeout (10 s), and on no other
# connection's after that (pglink.c, host_gone): one stall, not one per connection.
STALL_S = 16.0
FAILOVER_S = 60.0  # notice, then the first host's SYN given up (tcp_user_timeout), then connect
PORT = 5432
_LIBC = ctypes.CDLL(None, use_errno=True)
_NAMESPACES = []


def sh(*args, input=None):
    p = subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise Fail("%s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def enter(ns):
    """Move the calling thread (and what it starts later) into namespace ns."""
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if _LIBC.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


def add_ns(name):
    sh("ip", "netns", "add", name)
    _NAMESPACES.append(name)
    sh("ip", "-n", name, "link", "set", "lo", "up")


def link(a, a_dev, a_ip, b, b_dev, b_ip):
    """A veth pair between namespaces a and b, a /30 of 198.18.0.0/15 on it."""
    sh("ip", "-n", a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b)
    sh("ip", "-n", a, "addr", "add", a_ip + "/30", "dev", a_dev)
    sh("ip", "-n", b, "addr", "add", b_ip + "/30", "dev", b_dev)
    sh("ip", "-n", a, "link", "set", a_dev, "up")
    sh("ip", "-n", b, "link", "set", b_dev, "up")


def blackhole(ns, dev, on):
    """Drop every IP packet in and out of dev inside ns (ARP still answers: a silent host)."""
    if on:
        sh("ip", "netns", "exec", ns, "nft", "-f", "-", input=(
            "table inet wkdrop {\n"
            " chain i { type filter hook input priority -10; iifname \"%s\" drop; }\n"
            " chain o { type filter hook output priority -10; oifname \"%s\" drop; }\n"
            "}\n" % (dev, dev)))
    else:
        sh("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "wkdrop")


def delete_namespaces():
    for ns in reversed(_NAMESPACES):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    _NAMESPACES.clear()


def net_server(workdir, ns, addr):
    try:
        srv = NetServer(workdir, ns, addr)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        raise Fail("PostgreSQL in %s: %s" % (ns, e))
    harness._SERVERS.append(srv)
    return srv


class NetServer(pgserver.Server):
    """pgserver's server, started in namespace ns and listening on addr too (scram)."""

    def __init__(self, workdir, ns, addr):
        self.ns, self.addr = ns, addr
        os.chmod(os.path.dirname(workdir), 0o755)  # the postgres user reaches its data
        os.makedirs(workdir, exist_ok=True)
        super().__init__(workdir)

    def start(self):
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
            f.write("host all ward 198.18.0.0/15 scram-sha-256\n")
        p = subprocess.run(
            ["ip", "netns", "exec", self.ns, "runuser", "-u", "postgres", "--",
             os.path.join(pgserver.PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
             "-t", "30", "-o", "-k %s -c listen_addresses='%s' -p %d -c fsync=on" %
             (self.sock, self.addr, PORT), "start"], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("pg_ctl start in %s: %s" % (self.ns, p.stderr.strip()))

    def psql_admin(self, sql, db="postgres"):
        return self._pg("psql", "-h", self.sock, "-p", str(PORT), "-U", "postgres", "-d", db,
                        "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql).stdout

    def tcp_conninfo(self):
        return "host=%s port=%d" % (self.addr, PORT)


def stored_through(servers, device, upto):
    """How many of device's seqs 1..upto are stored (on any of the servers)."""
    seqs = set()
    for srv in servers:
        seqs.update(r[0] for r in srv.query(
            "SELECT seq FROM events WHERE device = ? AND seq <= ?", (device, upto)))
    return len(seqs)


def acks_safe(servers, loaders):
    """No acknowledged event missing from the databases (the acks read first)."""
    for ld in loaders:
        acked = ld.acked
        n = stored_through(servers, ld.device, acked)
        check(n == acked, "%s: acknowledged through %d, only %d stored" % (ld.device, acked, n))


def lines(col, pattern):
    return re.findall(pattern, col.log_text(), re.M)


def keepalive_sockets(addr):
    """The collector namespace's established connections to addr:PORT, and how many have a
    keepalive timer (ss)."""
    out = sh("ss", "-tnoH", "state", "established", "dst", "%s:%d" % (addr, PORT))
    rows = [r for r in out.splitlines() if r.strip()]
    return len(rows), sum(1 for r in rows if "timer:(keepalive" in r)


def down_everywhere(env, col):
    """/v1/health (wardctl), /metrics: the storage connection not up. @return the health."""
    h = col.health()
    check(h["storage"].get("state") in ("connecting", "down"), "health: %r" % h["storage"])
    status, text = api_get(env, col, "/metrics")
    check(status == 200 and 'ward_collector_storage_up{connection="storage"} 0' in text,
          "/metrics while the host is gone: %d, storage_up not 0" % status)
    return h


class Prober(threading.Thread):
    """GET /v1/health over and over: the slowest answer while the host is gone (the event loop
    waits for a query in flight on its connection until tcp_user_timeout)."""

    def __init__(self, env, col):
        super().__init__(daemon=True)
        self.env, self.col, self.worst, self.stop = env, col, 0.0, threading.Event()

    def run(self):
        for _ in range(1000):
            if self.stop.is_set():
                return
            t = time.monotonic()
            try:
                api_get(self.env, self.col, "/v1/health")
            except OSError:
                pass
            self.worst = max(self.worst, time.monotonic() - t)
            time.sleep(0.2)


def blackhole_and_back(env, col, loaders, servers):
    """Drop packets until the collector notices, check it, lift the drop, wait for ingest.
    @return (seconds from the drop to the loss line, monotonic time of the drop)."""
    lost_re = r"^.*storage: lost the connection to PostgreSQL.*$"
    lost_before = len(lines(col, lost_re))
    back_before = len(lines(col, r"storage: reconnected to PostgreSQL"))
    base = {ld.device: ld.acked for ld in loaders}
    wait_for(lambda: all(ld.acked >= base[ld.device] + 200 for ld in loaders), 60,
             "load to build up")
    prober = Prober(env, col)
    prober.start()
    blackhole(env.drop_ns, env.drop_dev, True)
    t0 = time.monotonic()
    try:
        def noticed():
            acks_safe(servers, loaders)
            return len(lines(col, lost_re)) > lost_before
        wait_for(noticed, NOTICE_S, "the collector to notice the silent host", step=0.2)
        took = time.monotonic() - t0
        h = down_everywhere(env, col)
        at_notice = {ld.device: ld.acked for ld in loaders}
        time.sleep(2)
        acks_safe(servers, loaders)
        check(all(ld.acked == at_notice[ld.device] for ld in loaders) or len(servers) > 1,
              "acks while the only host is gone: %r -> %r" %
              (at_notice, {ld.device: ld.acked for ld in loaders}))
        check(len(lines(col, lost_re)) == lost_before + 1, "more than one loss line: %r" %
              lines(col, lost_re)[lost_before:])
    finally:
        prober.stop.set()
        prober.join(timeout=35)
        if len(servers) == 1:
            blackhole(env.drop_ns, env.drop_dev, False)
    check(prober.worst < STALL_S, "/v1/health took %.1f s with the host gone" % prober.worst)
    if len(servers) == 1:
        target = {ld.device: ld.acked + 200 for ld in loaders}
        wait_for(lambda: all(ld.acked >= target[ld.device] for ld in loaders), 60,
                 "ingest to resume after the drop was lifted", step=0.2)
        check(len(lines(col, r"storage: reconnected to PostgreSQL")) > back_before,
              "no reconnection in the log")
        acks_safe(servers, loaders)
    print("pg_blackhole: noticed after %.1f s (slowest /v1/health meanwhile %.1f s): %s; "
          "health %r" % (took, prober.worst,
                         lines(col, lost_re)[lost_before].split(" storage: ", 1)[-1][:160],
           {k: h["storage"].get(k) for k in ("state", "last_error")}))
    return took, t0


def case_pg_blackhole(env):
    tag = "wk%d" % os.getpid()
    cns, d1, d2 = tag + "c", tag + "d1", tag + "d2"
    for ns in (cns, d1, d2):
        add_ns(ns)
    link(cns, "v1", "198.18.0.1", d1, "p1", "198.18.0.2")
    link(cns, "v2", "198.18.1.1", d2, "p2", "198.18.1.2")
    enter(cns)  # this thread, the clients' threads and every process started from here on
    env.drop_ns, env.drop_dev = d1, "p1"
    srv1 = net_server(os.path.join(env.dir, "s1"), d1, "198.18.0.2")
    env.pg = srv1
    auth = "dbname=ward user=ward password=%s" % pgserver.PASSWORD
    env.make_pki(devices=("dev-a", "dev-b"))
    # The operator's conninfo wins over the defaults: keepalives off there, off here.
    env.storage_args = ["--storage", "postgresql:%s %s keepalives=0" % (srv1.tcp_conninfo(),
                                                                        auth)]
    col = env.start()
    n, ka = keepalive_sockets("198.18.0.2")
    check(n >= 5 and ka == 0, "keepalives=0: %d connections, %d with keepalives" % (n, ka))
    col.stop()
    env.storage_args = ["--storage", "postgresql:%s %s" % (srv1.tcp_conninfo(), auth)]
    col = env.start()
    col_ref = [col]
    loaders = [Loader(env, col_ref, d) for d in ("dev-a", "dev-b")]
    for ld in loaders:
        ld.start()
    # A connection with a query in flight shows its retransmission timer ("timer:(on") in place
    # of the keepalive one: look again (bounded) until none is sending at that moment.
    for _ in range(25):
        n, ka = keepalive_sockets("198.18.0.2")
        if n >= 5 and ka == n:
            break
        time.sleep(0.2)
    check(n >= 5 and ka == n, "%d connections to the database, %d with keepalives" % (n, ka))
    took, _ = blackhole_and_back(env, col, loaders, [srv1])
    stop_and_verify(env, loaders, col)
    print("pg_blackhole: %d connections, all with keepalives; acked %r, all stored once" %
          (n, {ld.device: ld.acked for ld in loaders}))

    # The same behind a multi-host conninfo whose second host answers: failover.
    srv2 = net_server(os.path.join(env.dir, "s2"), d2, "198.18.1.2")
    # its schema, as a standby would have it by replication: a collector of its own made it
    env.storage_args = ["--storage", "postgresql:%s %s" % (srv2.tcp_conninfo(), auth)]
    env.start().stop()
    env.storage_args = ["--storage", "postgresql:host=198.18.0.2,198.18.1.2 port=%d,%d %s" %
                        (PORT, PORT, auth)]
    col = env.start()
    col_ref[0] = col
    loaders = [Loader(env, col_ref, d) for d in ("dev-c", "dev-d")]
    for d in ("dev-c", "dev-d"):
        env.run_pki("device", d)
    for ld in loaders:
        ld.start()
    try:
        took2, t_drop = blackhole_and_back(env, col, loaders, [srv1, srv2])
        base = {ld.device: ld.acked for ld in loaders}
        wait_for(lambda: all(ld.acked >= base[ld.device] + 200 for ld in loaders), FAILOVER_S,
                 "ingest to go on on the second host", step=0.2)
        failover = time.monotonic() - t_drop
        acks_safe([srv1, srv2], loaders)
        check(srv2.query("SELECT count(*) FROM events")[0][0] > 0, "nothing on the second host")
        h = col.health()
        check(h["storage"].get("state") == "connected", "after failover: %r" % h["storage"])
    finally:
        blackhole(d1, "p1", False)
    stop_loaders(loaders)
    col.stop()
    acks_safe([srv1, srv2], loaders)
    print("pg_blackhole: failover: ingest on the second host %.1f s after the drop; acked %r, "
          "all stored" % (failover, {ld.device: ld.acked for ld in loaders}))
    print("pg_blackhole: time to notice %.1f s (single host), %.1f s (multi-host)" %
          (took, took2))


def skip_reason():
    why = pgserver.available()
    if why:
        return why
    for tool in ("ip", "nft", "ss", "runuser"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            return "no %s" % tool
    probe = "wkprobe%d" % os.getpid()
    try:
        sh("ip", "netns", "add", probe)
        try:
            sh("ip", "netns", "exec", probe, "nft", "-f", "-", input=(
                "table inet p { chain o { type filter hook output priority 0; }; }\n"))
        finally:
            subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    except Fail as e:
        return "network namespaces or nftables unusable: %s" % e
    return None


CASES = {"pg_blackhole": case_pg_blackhole}

if __name__ == "__main__":
    why = skip_reason()
    if why:
        print("SKIP %s: %s" % (sys.argv[-1], why))
        sys.exit(77)
    os.environ.pop("WARD_TEST_STORAGE", None)  # the servers are this test's own
    atexit.register(delete_namespaces)  # after the servers' teardown (atexit runs it last)
    harness.main(CASES)
