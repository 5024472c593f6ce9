#!/usr/bin/env python3
"""tools/demo (issue 15): the wardctl lines it prints work, and SIGKILL of the script leaves
nothing running.

usage: demo_test.py --demo tools/demo --build-dir BUILD --work DIR

Starts tools/demo --no-bootstrap --no-build --no-sim in its own process group, with the
already built linux-x86_64 tree (BUILD, linked as WORK/build/linux-x86_64) and its state in
WORK/var. Waits (bounded) for the printed `export WARD_...` lines, sources them in a shell
and runs `wardctl devices` until a device is listed. Then records every child of the demo
script (from /proc: parent pid, with its start time so a reused pid is not mistaken), sends
SIGKILL to the script's pid only, and waits (bounded) until every one of those children is
gone: that is what `setpriv --pdeathsig` in tools/demo is for. Whatever happens, leftovers
are killed by pid at the end. Prints "PASS demo_kill" or "FAIL demo_kill: why".
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time


class Fail(Exception):
    pass


def stat_of(pid):
    """(ppid, starttime) of a live pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None  # a zombie has stopped running
    return int(fields[1]), int(fields[19])


def children_of(parent):
    """{pid: (starttime, comm)} of the live children of PARENT."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = stat_of(int(d))
        if st and st[0] == parent:
            try:
                with open("/proc/%s/comm" % d) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            out[int(d)] = (st[1], comm)
    return out


def still_running(kids):
    """The recorded children that still run (same pid and same start time)."""
    left = {}
    for pid, (start, comm) in kids.items():
        st = stat_of(pid)
        if st and st[1] == start:
            left[pid] = comm
    return left


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(0.2)
    raise Fail("timed out after %.0f s waiting for %s" % (timeout, what))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    if shutil.which("setpriv") is None:
        print("SKIP demo_kill: setpriv (util-linux) is not installed")
        return 77
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(os.path.join(a.work, "build"))
    os.symlink(os.path.realpath(a.build_dir), os.path.join(a.work, "build", "linux-x86_64"))
    var = os.path.join(a.work, "var")
    out_path = os.path.join(a.work, "demo.out")
    kids = {}
    demo = None
    try:
        with open(out_path, "w") as out:
            demo = subprocess.Popen([a.demo, "--no-bootstrap", "--no-build", "--no-sim",
                                     "--build", os.path.join(a.work, "build"), "--var", var],
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

        def text():
            with open(out_path) as f:
                return f.read()

        def exports():
            kids.update(children_of(demo.pid))  # so that any exit path can stop them
            if demo.poll() is not None:
                raise Fail("the demo exited (%d) before printing the wardctl lines:\n%s" %
                           (demo.returncode, text()[-2000:]))
            lines = re.findall(r"^\s*(export WARD_(?:URL|CA|TOKEN)=.*)$", text(), re.M)
            return lines if len(lines) == 3 else None

        lines = wait_for(exports, 90, "the three printed export WARD_ lines")
        env_file = os.path.join(var, "wardctl.env")
        if [l.strip() for l in open(env_file)] != [l.strip() for l in lines]:
            raise Fail("%s differs from the printed lines" % env_file)
        wardctl = os.path.join(a.build_dir, "tools", "wardctl")
        # Only what the demo printed: no other WARD_* in the environment, no config file.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARD")}
        env["HOME"] = a.work
        env["XDG_CONFIG_HOME"] = a.work
        pasted = os.path.join(a.work, "pasted.sh")
        with open(pasted, "w") as f:
            f.write("\n".join(lines) + "\n")
        last = [""]

        def device_listed():
            kids.update(children_of(demo.pid))
            if demo.poll() is not None:
                raise Fail("the demo exited (%d):\n%s" % (demo.returncode, text()[-2000:]))
            p = subprocess.run(["bash", "-c", '. "$1" && exec "$2" devices', "-", pasted, wardctl],
                               capture_output=True, text=True, env=env, timeout=20)
            last[0] = "rc %d: %s%s" % (p.returncode, p.stdout, p.stderr)
            return p.returncode == 0 and re.search(r"^linux-\S+\s", p.stdout, re.M)

        try:
            wait_for(device_listed, 60, "a device in `wardctl devices`")
        except Fail as e:
            raise Fail("%s; last: %s" % (e, last[0].strip()))

        # The watch (wardctl) starts a second after the agents: wait for all three kinds.
        seen = [{}]

        def all_started():
            seen[0] = children_of(demo.pid)
            kids.update(seen[0])
            comms = set(c for _, c in seen[0].values())
            return {"ward-collector", "ward-agent", "wardctl"} <= comms

        try:
            wait_for(all_started, 30, "the collector, the agent and the watch")
        except Fail as e:
            raise Fail("%s; the demo's children: %s" %
                       (e, sorted(c for _, c in seen[0].values())))
        comms = sorted(c for _, c in seen[0].values())
        os.kill(demo.pid, signal.SIGKILL)  # the script only, not its process group
        demo.wait(10)
        try:
            wait_for(lambda: not still_running(kids), 15, "the demo's children to exit")
        except Fail:
            raise Fail("SIGKILL of the demo script left running: %s" %
                       ", ".join("%s (pid %d)" % (c, p)
                                 for p, c in sorted(still_running(kids).items())))
        print("PASS demo_kill: %d children (%s) gone after SIGKILL of the script" %
              (len(kids), ", ".join(comms)))
        return 0
    except Fail as e:
        print("FAIL demo_kill: %s" % e)
        return 1
    finally:
        if demo is not None and demo.poll() is None:
            kids.update(children_of(demo.pid))
            demo.kill()
            demo.wait(10)
        for pid in still_running(kids):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
