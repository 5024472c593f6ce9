#!/usr/bin/env python3
"""tools/netem-relay measured: two namespaces this test creates (198.18.100.1 and .2) joined by
the relay, UDP datagrams between sockets opened inside them. Each impairment is set over the
relay's control socket and checked against what it should do, with bounds some five standard
deviations from the expectation where chance decides (the relay is seeded as well):

  none       100 echoes, all answered, median round trip < 50 ms
  delay      200 ms each way: 20 echoes, median round trip 0.39-0.60 s
  loss       20 % each way: 400 echoes, answered 52-76 % (0.8^2 = 64 %), and the relay's
             lost counters account for every unanswered one
  reorder    100 ms delay, 50 % sent at once: 100 numbered datagrams all arrive, and at least
             20 arrive before one sent earlier
  partition  on: 20 echoes, none answered; off: all answered
  flap       500 ms up, 500 ms cut: echoes every 20 ms for 3 s, answered 30-70 %
  queue      --queue-packets 50 with 1 s delay: a burst of 200 datagrams delivers 50, and the
             relay counts the other 150 as dropped

Usage: relay_test.py (root; prints "SKIP relay: why" without root or /dev/net/tun). About 15 s.
"""
import ctypes
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netns  # noqa: E402

A_IP, B_IP, PORT = "198.18.100.1", "198.18.100.2", 7
_LIBC = ctypes.CDLL(None, use_errno=True)


class Fail(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Fail(what)


def udp_in(ns, addr):
    """A UDP socket bound to addr:PORT inside namespace ns (this thread returns home after)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        check(_LIBC.setns(target, netns.CLONE_NEWNET) == 0, "setns into %s failed" % ns)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, PORT))
        s.setblocking(False)
    finally:
        _LIBC.setns(home, netns.CLONE_NEWNET)
        os.close(target)
        os.close(home)
    return s


class Pair:
    def __init__(self):
        tag = "wr%d" % os.getpid()
        self.ns = (tag + "a", tag + "b")
        self.relay = self.a = self.b = None

    def setup(self, queue_packets):
        for ns in self.ns:
            netns.ip("netns", "add", ns)
            netns.ip("-n", ns, "link", "set", "lo", "up")
            # No IPv6 on the devices: its neighbour discovery would pass the relay too and
            # blur the counts.
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                            "net.ipv6.conf.default.disable_ipv6=1"], check=True, timeout=30)
        self.relay = netns.Relay([("x", self.ns[0], "ra", self.ns[1], "rb")], seed=10,
                                 extra=("--queue-packets", str(queue_packets)))
        for ns, dev, mine in ((self.ns[0], "ra", A_IP), (self.ns[1], "rb", B_IP)):
            netns.ip("-n", ns, "addr", "add", mine + "/24", "dev", dev)
            netns.ip("-n", ns, "link", "set", dev, "up")
        self.a = udp_in(self.ns[0], A_IP)
        self.b = udp_in(self.ns[1], B_IP)

    def set(self, words):
        self.relay.command("set x " + words)

    def stats(self):
        return json.loads(self.relay.command("stats x"))["x"]

    def close(self):
        for s in (self.a, self.b):
            if s is not None:
                s.close()
        if self.relay is not None:
            self.relay.close()
        for ns in self.ns:
            netns.ip("netns", "del", ns, check=False)

    def pump(self, until, sent, got):
        """Echo what b receives, record the round trips a sees, until monotonic time `until`."""
        while time.monotonic() < until:
            for s in (self.a, self.b):
                try:
                    data, peer = s.recvfrom(2048)
                except BlockingIOError:
                    continue
                if s is self.b:
                    self.b.sendto(data, peer)
                else:
                    k = int(data.split()[1])
                    got.setdefault(k, time.monotonic() - sent[k])
            time.sleep(0.001)

    def echoes(self, n, gap, settle):
        """n echo requests `gap` s apart; {number: round trip s} of those answered."""
        sent, got = {}, {}
        for k in range(n):
            sent[k] = time.monotonic()
            self.a.sendto(b"echo %d" % k, (B_IP, PORT))
            self.pump(time.monotonic() + gap, sent, got)
        self.pump(time.monotonic() + settle, sent, got)
        return got


def one_way(pair, n, gap, settle):
    """n numbered datagrams a -> b; the numbers in the order b received them."""
    order = []
    for k in range(n + 1):
        if k < n:
            pair.a.sendto(b"seq %d" % k, (B_IP, PORT))
        t_end = time.monotonic() + (gap if k < n else settle)
        while time.monotonic() < t_end:
            try:
                order.append(int(pair.b.recv(2048).split()[1]))
            except BlockingIOError:
                time.sleep(0.001)
    return order


def run(pair):
    got = pair.echoes(100, 0.002, 0.3)
    check(len(got) == 100, "no impairment: %d of 100 echoes answered" % len(got))
    rtt = statistics.median(got.values())
    check(rtt < 0.05, "no impairment: median round trip %.3f s" % rtt)
    print("none: 100/100 answered, median %.1f ms" % (rtt * 1e3))

    pair.set("delay 200ms")
    got = pair.echoes(20, 0.01, 1.0)
    rtt = statistics.median(got.values()) if got else 0
    check(len(got) == 20 and 0.39 <= rtt <= 0.6,
          "delay 200ms: %d of 20 answered, median round trip %.3f s (want 0.39-0.60)"
          % (len(got), rtt))
    print("delay 200ms each way: 20/20 answered, median round trip %.0f ms" % (rtt * 1e3))

    pair.set("loss 20%")
    before = pair.stats()
    got = pair.echoes(400, 0.002, 0.3)
    after = pair.stats()
    lost = sum(after[d]["lost"] - before[d]["lost"] for d in ("ab", "ba"))
    check(208 <= len(got) <= 304, "loss 20%%: %d of 400 answered (want 208-304)" % len(got))
    check(lost == 400 - len(got), "loss 20%%: %d unanswered but the relay lost %d"
          % (400 - len(got), lost))
    print("loss 20%% each way: %d/400 answered (%.0f %%), relay lost %d" %
          (len(got), len(got) / 4.0, lost))

    pair.set("delay 100ms reorder 50% 25%")
    order = one_way(pair, 100, 0.002, 0.5)
    late = sum(1 for i in range(1, len(order)) if order[i] < max(order[:i]))
    check(sorted(order) == list(range(100)), "reorder: received %d of 100 (or twice)"
          % len(order))
    check(late >= 20, "reorder: only %d of 100 arrived after a later one" % late)
    print("reorder 50%% (delay 100ms): 100/100 arrived, %d overtaken" % late)

    pair.set("partition on")
    got = pair.echoes(20, 0.01, 0.3)
    check(not got, "partition: %d of 20 echoes answered" % len(got))
    pair.set("partition off")
    got = pair.echoes(20, 0.01, 0.3)
    check(len(got) == 20, "partition healed: %d of 20 answered" % len(got))
    print("partition: 0/20 answered while on, 20/20 after")

    pair.set("flap 500ms")
    got = pair.echoes(150, 0.02, 0.3)
    check(45 <= len(got) <= 105, "flap 500ms: %d of 150 answered (want 45-105)" % len(got))
    print("flap 500ms: %d/150 answered" % len(got))

    pair.set("delay 1s")
    before = pair.stats()["ab"]
    order = one_way(pair, 200, 0.0, 1.5)
    after = pair.stats()["ab"]
    dropped = after["dropped"] - before["dropped"]
    check(len(order) == 50 and dropped == 150, "queue of 50: %d of a burst of 200 delivered, "
          "%d dropped (want 50 and 150)" % (len(order), dropped))
    print("queue bound 50 packets: burst of 200 -> 50 delivered, 150 dropped")


def main():
    why = ("needs root (network namespaces)" if os.geteuid() != 0 else
           "no /dev/net/tun" if not os.path.exists("/dev/net/tun") else None)
    if why is not None:
        print("SKIP relay: %s" % why)
        return 0
    pair = Pair()
    t0 = time.monotonic()
    try:
        pair.setup(queue_packets=50)
        run(pair)
    except (Fail, RuntimeError, OSError) as e:
        print("FAIL relay: %s" % e)
        return 1
    finally:
        pair.close()
    print("PASS relay (%.1f s)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
