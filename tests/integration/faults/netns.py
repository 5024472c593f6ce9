"""Network namespaces, veth pairs and tc netem for the fault tests (root only).

One collector namespace holds a bridge with 198.18.0.1/16; every agent gets its own namespace
with one veth (198.18.0.<2+i>/16) whose peer is a port of that bridge. Impairments are netem
qdiscs on both ends of an agent's veth, so each direction is impaired. Kernels without netem
(sch_netem not built, no modules) get loss and blackholes from nftables instead (a random
drop in the agent namespace's input and output hooks); delay and reordering need netem. Only 198.18.0.0/15 is
ever used, only inside namespaces made here, and `close()` deletes them all (also at exit).
"""
import atexit
import ctypes
import os
import subprocess

COLLECTOR_IP = "198.18.0.1"
CLONE_NEWNET = 0x40000000
HAS_NETEM = True  # probe() says; the test sets it
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
    """(why namespaces are unusable or None, has netem, has nftables)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)", False, False
    name = "wfprobe%d" % os.getpid()
    has_netem = has_nft = False
    try:
        ip("netns", "add", name)
        try:
            ip("-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
            has_netem = tc(name, "qdisc", "add", "dev", "d0", "root", "netem", "delay", "1ms",
                           check=False).returncode == 0
            try:
                nft(name, "table inet wf { chain out { type filter hook output priority 0; }; }\n")
                has_nft = True
            except (RuntimeError, OSError):
                pass
        finally:
            ip("netns", "del", name, check=False)
    except (RuntimeError, OSError) as e:
        return str(e), False, False
    return None, has_netem, has_nft


class Net:
    def __init__(self, n_agents):
        self.has_netem = HAS_NETEM
        tag = "wf%d" % os.getpid()
        self.cns = tag + "c"
        self.ans = ["%sa%d" % (tag, i) for i in range(n_agents)]
        _OPEN.append(self)
        ip("netns", "add", self.cns)
        ip("-n", self.cns, "link", "set", "lo", "up")
        ip("-n", self.cns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.cns, "addr", "add", COLLECTOR_IP + "/16", "dev", "br0")
        ip("-n", self.cns, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ans):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
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
        Without netem only `loss N%` is possible (nftables)."""
        if not self.has_netem:
            return self._nft_loss(i, spec)
        for ns, dev in ((self.ans[i], "eth0"), (self.cns, self.port(i))):
            tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
            if spec:
                tc(ns, "qdisc", "add", "dev", dev, "root", "netem", *spec)

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
        for ns in self.ans + [self.cns]:
            ip("netns", "del", ns, check=False)
        if self in _OPEN:
            _OPEN.remove(self)


@atexit.register
def _close_all():
    for n in list(_OPEN):
        n.close()
