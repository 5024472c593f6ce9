#!/usr/bin/env python3
"""Network faults between real agents and a real collector, made with tc netem in network
namespaces this test creates (netns.py: 198.18.0.1 the collector, 198.18.0.2.. the agents);
where the kernel has no netem, with tools/netem-relay between TUN devices (or, without TUN,
nftables, which makes only loss and partitions).

  loss       10 % of packets lost, both directions
  delay      2 s added to every packet, both directions (4 s round trip)    } netem or relay:
  reorder    25 % of packets sent early past the others (100 ms delay)      } else SKIP
  flap       every agent's link goes down and up every 5 s
  partition  20 agents cut off (loss 100 % both ways, and the router answers host
             unreachable) until each has backed off a few times, then healed: every agent
             reconnects, and the reconnects are spread by the backoff's full jitter (no herd)

In every case the agents' temperatures keep changing (events), and the test ends when every
agent says it has nothing unacknowledged: then each (device, boot) in the store holds
sequences 1..max exactly once, so nothing the agents produced, acknowledged or not, is lost
or duplicated; and under each impairment some events got through (the agents made progress,
not just caught up afterwards).

Usage: net_test.py BUILD_DIR WORK_DIR CASE (root; prints "SKIP" when namespaces or the
impairment are unavailable, which ctest reports as skipped).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Fail, check, wait_for  # noqa: E402
from e2e_test import Toggler, check_no_gap, drain_and_stop, events_stored_for  # noqa: E402
import netns  # noqa: E402
from fault_agent import FaultAgent, run_cases  # noqa: E402

HEARTBEAT_MS = 1000  # e2e_test.RULES: the agents' heartbeat


class NetAgent(FaultAgent):
    """An agent in its own network namespace, reporting to the collector's namespace."""

    def __init__(self, env, collector, device, net, index):
        super().__init__(env, collector, device, host=netns.COLLECTOR_IP)
        self.preexec = net.preexec(net.ans[index])


def kconfig(build, name):
    """An integer from the build's .config (the agent's compiled-in transport knobs)."""
    with open(os.path.join(build, ".config")) as f:
        for line in f:
            if line.startswith(name + "="):
                return int(line.split("=", 1)[1])
    raise Fail("%s is not in %s/.config" % (name, build))


def setup(env, n):
    devices = ["flt-%02d" % i for i in range(n)]
    env.make_pki(devices=devices)
    net = netns.Net(n)
    col = env.start("--heartbeat-interval", str(HEARTBEAT_MS), "--listen",
                    "%s:0" % netns.COLLECTOR_IP, preexec=net.preexec(net.cns))
    agents = [NetAgent(env, col, d, net, i) for i, d in enumerate(devices)]
    for a in agents:
        a.start()
    wait_for(lambda: all(a.ups() for a in agents), 60, "every agent to connect", step=0.2)
    return net, col, agents


def finish(env, net, col, agents, tog):
    """Impairments off, events stop, everything drains; the store has no gap or duplicate."""
    tog.stop()
    for i in range(len(agents)):
        net.netem(i)
        net.link(i, True)
    drain_and_stop(agents, timeout=150)
    rows, per_boot = check_no_gap(env, agents)
    col.stop()
    return rows, per_boot


def impaired(env, spec, seconds=25, n=3):
    net, col, agents = setup(env, n)
    tog = Toggler(agents, period=0.5)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 2 for a in agents), 30,
             "first events of every agent", step=0.3)
    before = {a.device: events_stored_for(env, a.device) for a in agents}
    t0 = time.monotonic()
    for i in range(n):
        net.netem(i, *spec)
    # Progress under the impairment: every agent gets more events through while it lasts
    # (bounded wait; the impairment stays until each has).
    wait_for(lambda: all(events_stored_for(env, a.device) > before[a.device] + 3
                         for a in agents), max(seconds, 90),
             "every agent to deliver through netem %s" % " ".join(spec), step=0.5)
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    during = {a.device: events_stored_for(env, a.device) - before[a.device] for a in agents}
    held = time.monotonic() - t0
    counts = net.relay_counts()
    rows, per_boot = finish(env, net, col, agents, tog)
    print("netem %s for %.0f s: events delivered meanwhile %s; %d events stored, %d boots, "
          "no gap, no duplicate" % (" ".join(spec), held, during, len(rows), len(per_boot)))
    if counts:
        # The relay did what was asked: each impairment shows in its counters.
        print("relay packets: %s" % counts)
        for word, counter in (("loss", "lost"), ("delay", "delayed"), ("reorder", "early")):
            check(word not in spec or counts[counter] > 0,
                  "the relay made no '%s' packets under netem %s" % (counter, " ".join(spec)))


def case_loss(env):
    impaired(env, ("loss", "10%"))


def case_delay(env):
    impaired(env, ("delay", "2000ms"))


def case_reorder(env):
    impaired(env, ("delay", "100ms", "reorder", "25%", "50%"))


def case_flap(env, n=3, flaps=8, period=5.0):
    net, col, agents = setup(env, n)
    tog = Toggler(agents, period=0.5)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 2 for a in agents), 30,
             "first events of every agent", step=0.3)
    counts = []
    for k in range(flaps):
        for i in range(n):
            net.link(i, k % 2 == 1)
        time.sleep(period)
        counts.append(sum(events_stored_for(env, a.device) for a in agents))
    # Links are up in odd steps: events flowed while they were up.
    grew = [counts[k] - counts[k - 1] for k in range(1, flaps) if k % 2 == 1]
    check(sum(1 for g in grew if g > 0) >= len(grew) // 2,
          "events did not flow while the links were up: stored counts %r" % counts)
    rows, per_boot = finish(env, net, col, agents, tog)
    print("flap: %d flaps of %.0f s; stored counts after each %r; %d events, no gap, "
          "no duplicate" % (flaps, period, counts, len(rows)))


def case_partition(env, n=20, sleeps=4):
    """The reconnect spread after a partition heals.

    The agent's backoff (firmware/transport/src/backoff.c) waits uniform [0, C] before attempt
    k, C = min(max, min * 2^k) ("full jitter"); the attempt counter is reset by a successful
    connection. The partition lasts until every agent has logged `sleeps` backoffs since it
    began, so each is in a wait with ceiling >= C4 = min(max, min * 2^(sleeps-1)) (8 s with
    the default 1 s minimum) when the partition heals. Each agent's remaining wait is then
    uniform below its ceiling, independent of the others (seeds come from the device ids).
    Two bounds follow, both far from what jitter gives and both broken by a herd (agents
    reconnecting together within their ~1 s heartbeat phase, as identical seeds would make):
      - the reconnects span at least C4 / 4 (simulating the process gives >= 0.47 C4 in
        20,000 runs of 20 agents);
      - no 1 s window holds more than 3/4 of the agents (at most 13 of 20 in those runs).
    """
    mn = kconfig(env.build, "CONFIG_WARD_TRANSPORT_BACKOFF_MIN_MS") / 1000.0
    mx = kconfig(env.build, "CONFIG_WARD_TRANSPORT_BACKOFF_MAX_MS") / 1000.0
    io_s = kconfig(env.build, "CONFIG_WARD_TRANSPORT_IO_TIMEOUT_MS") / 1000.0
    c4 = min(mx, mn * 2 ** (sleeps - 1))
    net, col, agents = setup(env, n)
    tog = Toggler(agents, period=1.0)
    tog.start()
    wait_for(lambda: all(events_stored_for(env, a.device) >= 1 for a in agents), 60,
             "first events of every agent", step=0.5)
    t_cut = time.monotonic()
    for i in range(n):
        net.netem(i, "loss", "100%")
        net.unreachable(i, True)
    # A request in flight fails after the I/O timeout; then each reconnect fails at once.
    wait_for(lambda: all(len(a.backoffs(t_cut)) >= sleeps for a in agents),
             io_s + 30 * c4, "every agent to back off %d times" % sleeps, step=0.2)
    t_heal = time.monotonic()
    for i in range(n):
        net.unreachable(i, False)
        net.netem(i)
    stored_at_heal = sum(events_stored_for(env, a.device) for a in agents)
    # Each agent is waiting at most its current ceiling (<= max) plus a handshake.
    wait_for(lambda: all(a.ups(t_heal) for a in agents), 2 * min(mx, mn * 2 ** 10) + 30,
             "every agent to reconnect after the partition healed", step=0.2)
    rec = sorted(a.ups(t_heal)[0] - t_heal for a in agents)
    span = rec[-1] - rec[0]
    dense = max(sum(1 for y in rec if x <= y < x + 1.0) for x in rec)
    rows, per_boot = finish(env, net, col, agents, tog)
    print("partition: cut %.1f s (I/O timeout %.0f s); reconnects after the heal at %s s; "
          "span %.1f s (bound %.1f s), at most %d of %d in one second; %d events stored "
          "before the heal, %d in all, no gap, no duplicate" %
          (t_heal - t_cut, io_s, " ".join("%.1f" % r for r in rec), span, c4 / 4, dense, n,
           stored_at_heal, len(rows)))
    check(span >= c4 / 4, "thundering herd: %d reconnects within %.2f s of each other after "
          "the partition healed (full jitter over >= %.0f s gives >= %.1f s)" %
          (n, span, c4, c4 / 4))
    check(dense <= 3 * n // 4, "thundering herd: %d of %d agents reconnected within one "
          "second" % (dense, n))


NEED_NETEM = ("delay", "reorder")
CASES = {"loss": case_loss, "delay": case_delay, "reorder": case_reorder, "flap": case_flap,
         "partition": case_partition}


def why_not(case):
    why, mode = netns.probe()
    netns.MODE = mode
    if why is None and (mode is None or (mode == "nft" and case in NEED_NETEM)):
        why = ("this kernel has no netem qdisc (sch_netem) and no TUN device for "
               "tools/netem-relay%s" % ("" if mode is None else " (nftables makes only loss)"))
    if why is None:
        print("impairments by %s" % mode)
    return why


if __name__ == "__main__":
    sys.exit(run_cases(CASES, why_not))
