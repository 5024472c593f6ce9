"""Network namespaces, links and impairments for the fault tests (root only), in one of
three modes (MODE, which probe() chooses):

  netem  One collector namespace holds a bridge with 198.18.0.1/16; every agent gets its own
         namespace with one veth (198.18.0.<2+i>/16) whose peer is a port of that bridge.
         Impairments are netem qdiscs on both ends of an agent's veth, so each direction is
         impaired.
  relay  Kernels without netem (sch_netem not built, no modules) but with /dev/net/tun: one
         tools/netem-relay process joins every agent namespace to the collector's with a pair
         of TUN devices (eth0 in the agent's, 198.18.0.<2+i>/16; p<i> in the collector's, a
         /32 route to the agent), the collector's 198.18.0.1 on its loopback. The relay makes
         delay, jitter, loss and reordering from the same netem words (set over its control
         socket), both directions drawn independently.
  nft    Neither: the veths and bridge of netem mode, loss and blackholes from nftables (a
         random drop in the agent namespace's input and output hooks); delay and reordering
         cannot be made.

Only 198.18.0.0/15 is ever used, only inside namespaces made here, and `close()` stops the
relay and deletes them all (also at exit).
"""
import atexit
import ctypes
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time

COLLECTOR_IP = "198.18.0.1"
CLONE_NEWNET = 0x40000000
MODE = "netem"  # "netem", "relay" or "nft": probe() says which this machine has
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools",
                     "netem-relay")
_LIBC = ctypes.CDLL(None, use_errno=True)
_OPEN = []


def ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def tc(ns, *args, check=True):
    p = subprocess.run(["ip", "netns", "exec", ns, "tc"] + list(args), capture_output=True,
                       text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("tc %s (in %s): %s" % (" ".join(args), ns, p.stderr.strip()))
    return p


def nft(ns, script):
    p = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script,
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("nft (in %s): %s" % (ns, p.stderr.strip()))


def probe():
    """(why namespaces are unusable or None, the best mode: "netem", "relay", "nft" or None)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)", None
    name = "wfprobe%d" % os.getpid()
    try:
        ip("netns", "add", name)
        try:
            ip("-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
            if tc(name, "qdisc", "add", "dev", "d0", "root", "netem", "delay", "1ms",
                  check=False).returncode == 0:
                return None, "netem"
            if subprocess.run([RELAY, "--check", name], capture_output=True,
                              timeout=30).returncode == 0:
                return None, "relay"
            try:
                nft(name, "table inet wf { chain out { type filter hook output priority 0; }; }\n")
                return None, "nft"
            except (RuntimeError, OSError):
                return None, None
        finally:
            ip("netns", "del", name, check=False)
    except (RuntimeError, OSError) as e:
        return str(e), None


class Net:
    def __init__(self, n_agents):
        self.mode = MODE
        self.relay = None
        tag = "wf%d" % os.getpid()
        self.cns = tag + "c"
        self.ans = ["%sa%d" % (tag, i) for i in range(n_agents)]
        _OPEN.append(self)
        ip("netns", "add", self.cns)
        ip("-n", self.cns, "link", "set", "lo", "up")
        for ns in self.ans:
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        if self.mode == "relay":
            self._relay_links()
        else:
            self._bridge_links()

    def _relay_links(self):
        ip("-n", self.cns, "addr", "add", COLLECTOR_IP + "/32", "dev", "lo")
        self.relay = Relay([(str(i), ns, "eth0", self.cns, self.port(i))
                            for i, ns in enumerate(self.ans)])
        for i, ns in enumerate(self.ans):
            ip("-n", ns, "addr", "add", "198.18.0.%d/16" % (2 + i), "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", self.cns, "link", "set", self.port(i), "up")
            ip("-n", self.cns, "route", "add", "198.18.0.%d/32" % (2 + i), "dev", self.port(i))

    def _bridge_links(self):
        ip("-n", self.cns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.cns, "addr", "add", COLLECTOR_IP + "/16", "dev", "br0")
        ip("-n", self.cns, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ans):
            ip("-n", self.cns, "link", "add", self.port(i), "type", "veth", "peer", "name",
               "eth0", "netns", ns)
            ip("-n", self.cns, "link", "set", self.port(i), "master", "br0", "up")
            ip("-n", ns, "addr", "add", "198.18.0.%d/16" % (2 + i), "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    @staticmethod
    def port(i):
        return "p%d" % i

    def preexec(self, ns):
        """A preexec_fn that moves the child into namespace ns before it runs."""
        path = "/run/netns/" + ns

        def enter():
            fd = os.open(path, os.O_RDONLY)
            if _LIBC.setns(fd, CLONE_NEWNET) != 0:
                os._exit(126)
            os.close(fd)
        return enter

    def netem(self, i, *spec):
        """Replace agent i's impairment (both directions) with `netem SPEC`; none when empty.
        The relay reads the same words; nftables can only make `loss N%`."""
        if self.mode == "relay":
            return self.relay.command("set %d %s" % (i, " ".join(spec)))
        if self.mode == "nft":
            return self._nft_loss(i, spec)
        for ns, dev in ((self.ans[i], "eth0"), (self.cns, self.port(i))):
            tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
            if spec:
                tc(ns, "qdisc", "add", "dev", dev, "root", "netem", *spec)

    def relay_counts(self):
        """The relay's packet counters summed over every link and direction ({} without it)."""
        if self.relay is None:
            return {}
        total = {}
        for link in json.loads(self.relay.command("stats *")).values():
            for d in link.values():
                for k, v in d.items():
                    total[k] = total.get(k, 0) + v
        return total

    def _nft_loss(self, i, spec):
        ns = self.ans[i]
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "wf"],
                       capture_output=True, timeout=30)
        if not spec:
            return
        if len(spec) != 2 or spec[0] != "loss" or not spec[1].endswith("%"):
            raise RuntimeError("without netem only 'loss N%' can be made, not %r" % (spec,))
        pct = int(spec[1][:-1])
        drop = "drop" if pct >= 100 else "numgen random mod 100 < %d drop" % pct
        nft(ns, "table inet wf {\n"
                " chain out { type filter hook output priority 0; ip daddr %s %s; }\n"
                " chain in { type filter hook input priority 0; ip saddr %s %s; }\n}\n"
            % (COLLECTOR_IP, drop, COLLECTOR_IP, drop))

    def link(self, i, up):
        ip("-n", self.ans[i], "link", "set", "eth0", "up" if up else "down")

    def unreachable(self, i, on):
        """The agent's router answers 'host unreachable' for the collector (connects fail at
        once instead of waiting for the connect timeout)."""
        ip("-n", self.ans[i], "route", "del" if not on else "add", "unreachable",
           COLLECTOR_IP + "/32", check=on)

    def close(self):
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        for ns in self.ans + [self.cns]:
            ip("netns", "del", ns, check=False)
        if self in _OPEN:
            _OPEN.remove(self)


class Relay:
    """A tools/netem-relay process and its control socket. links: (name, ns_a, dev_a, ns_b,
    dev_b); the TUN devices exist once this returns."""

    def __init__(self, links, seed=None, extra=()):
        self.dir = tempfile.mkdtemp(prefix="wfrelay")
        self.ctl = os.path.join(self.dir, "ctl")
        cmd = [RELAY, "--ctl", self.ctl, "--for", "3600"] + list(extra)
        cmd += ["--seed", str(seed)] if seed is not None else []
        self.proc = subprocess.Popen(cmd + [":".join(x) for x in links], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("netem-relay: ready"):
            self.close()
            raise RuntimeError("netem-relay did not start: %s" % (line.strip() or "no answer"))

    def command(self, line):
        """One control line; its answer (raises on "error: ...")."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.ctl)
            s.sendall((line + "\n").encode())
            buf = b""
            t_end = time.monotonic() + 10
            while not buf.endswith(b"\n") and time.monotonic() < t_end:
                data = s.recv(65536)
                if not data:
                    break
                buf += data
        reply = buf.decode().strip()
        if not reply or reply.startswith("error"):
            raise RuntimeError("netem-relay %r: %s" % (line, reply or "no answer"))
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@atexit.register
def _close_all():
    for n in list(_OPEN):
        n.close()
