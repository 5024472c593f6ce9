#!/usr/bin/python3
"""Where `ward-agent run`'s resident pages are, with both pull endpoints on (docs/benchmarks.md,
"Agent RSS with both endpoints on", issue 11).

usage: [AGENT=path/to/ward-agent] agent_rss.py BUILD [FIXTURE_ROOT] [SECONDS]

Starts, all on 127.0.0.1 and in a temporary directory: a ward-collector (fresh PKI from
tools/pki/ward-pki), snmpd as AgentX master (needs root; without snmpd the agent keeps
retrying its AgentX connection, which is also measured), and `ward-agent run` reporting to the
collector with --metrics 127.0.0.1:PORT and --agentx unix:SOCK over FIXTURE_ROOT (default
tests/fixtures/intel-server), with every class sampled every second. After 3 s it scrapes
/metrics 5 times, walks WARD-MIB through snmpd (if present) and waits SECONDS (default 10); then
prints the agent's VmRSS / VmHWM / Pss and /proc/PID/smaps grouped by mapping: the binary's text,
its .data/.bss, [heap], anonymous mappings, the shared libraries, [stack]. Every process is
started here and stopped by its pid.
"""
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")
BUILD = os.path.abspath(sys.argv[1])
ROOT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "tests", "fixtures",
                                                          "intel-server")
SECS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
AGENT = os.environ.get("AGENT") or os.path.join(BUILD, "board", "ward-agent")
COLLECTOR = os.path.join(BUILD, "tools", "ward-collector")


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def field_kib(pid, key, name="status"):
    """A "Key: N kB" line of /proc/PID/NAME (status, smaps_rollup)."""
    with open(f"/proc/{pid}/{name}") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def smaps_groups(pid, binary):
    """Rss (KiB) per group of mappings, in first-seen order."""
    groups, cur, after_bin = {}, None, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                perms, name = parts[1], parts[5] if len(parts) > 5 else ""
                if name == binary:
                    cur = "binary " + ("text" if "x" in perms else
                                       ".data" if "w" in perms else "rodata")
                    after_bin = True
                elif name == "" and after_bin and "w" in perms:
                    cur = "binary .bss (anonymous, after .data)"
                    after_bin = False
                elif name.startswith("["):
                    cur, after_bin = name, False
                elif name == "":
                    cur, after_bin = "anonymous mmap", False
                else:
                    cur = "lib " + os.path.basename(name) + (" text" if "x" in perms else
                                                             " data" if "w" in perms else " ro")
                    after_bin = False
                groups.setdefault(cur, 0)
            elif parts[0] == "Rss:" and cur is not None:
                groups[cur] += int(parts[1])
    return groups


def stop_all(procs):
    """SIGTERM every process started here, newest first; SIGKILL any left after 5 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    end = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(timeout=max(end - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    work = tempfile.mkdtemp(prefix="ward-agent-rss-")
    procs = []
    try:
        pki = os.path.join(work, "pki")
        for args in (["init"], ["collector"], ["device", "rss-1"]):
            subprocess.run([os.path.join(REPO, "tools", "pki", "ward-pki"), "--dir", pki] + args,
                           check=True, stdout=subprocess.DEVNULL)
        cport = free_port()
        procs.append(subprocess.Popen([COLLECTOR, "--pki", pki, "--state",
                                       os.path.join(work, "cstate"), "--listen",
                                       f"127.0.0.1:{cport}", "--api-listen", "127.0.0.1:0",
                                       "--log-level", "error"]))
        for _ in range(100):
            if os.path.exists(os.path.join(work, "cstate", "ports")):
                break
            time.sleep(0.1)
        sock = os.path.join(work, "agentx.sock")
        uport = free_port(socket.SOCK_DGRAM)
        env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(work, "client"), MIBS="")
        snmpd = shutil.which("snmpd") or ("/usr/sbin/snmpd" if os.path.exists("/usr/sbin/snmpd")
                                          else None)
        if snmpd and os.geteuid() == 0:
            with open(os.path.join(work, "snmpd.conf"), "w") as f:
                f.write(f"master agentx\nagentXSocket unix:{sock}\nagentXPerms 0600 0700\n"
                        "rocommunity public 127.0.0.1\n")
            procs.append(subprocess.Popen([snmpd, "-f", "-C", "-c",
                                           os.path.join(work, "snmpd.conf"), "-m", "", "-Lf",
                                           os.path.join(work, "snmpd.log"),
                                           "--persistentDir=" + os.path.join(work, "p"),
                                           f"udp:127.0.0.1:{uport}"], env=env))
            for _ in range(50):
                if os.path.exists(sock):
                    break
                time.sleep(0.1)
        else:
            snmpd = None
        with open(os.path.join(work, "rules.json"), "w") as f:
            json.dump({"rules": [], "intervals_ms": {"temp": 1000, "fan": 1000, "nic": 1000,
                                                    "disk": 1000, "host": 1000, "agent": 1000,
                                                    "heartbeat": 10000}}, f)
        mport = free_port()
        agent = subprocess.Popen([AGENT, "run", "--collector", f"127.0.0.1:{cport}",
                                  "--server-name", "localhost", "--ca",
                                  os.path.join(pki, "ca.crt"), "--cert",
                                  os.path.join(pki, "devices", "rss-1.crt"), "--key",
                                  os.path.join(pki, "devices", "rss-1.key"), "--state-dir",
                                  os.path.join(work, "astate"), "--rules",
                                  os.path.join(work, "rules.json"), "--root", ROOT, "--metrics",
                                  f"127.0.0.1:{mport}", "--agentx", "unix:" + sock, "--for",
                                  str(SECS + 60)], stderr=open(os.path.join(work, "agent.log"),
                                                               "w"))
        procs.append(agent)
        time.sleep(3)
        series = 0
        for _ in range(5):
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5) as r:
                series = sum(1 for ln in r.read().decode().splitlines()
                             if ln and not ln.startswith("#"))
        walked = 0
        if snmpd:
            out = subprocess.run(["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr50",
                                  f"udp:127.0.0.1:{uport}", "1.3.6.1.4.1.32473.1"], env=env,
                                 capture_output=True, text=True, timeout=60).stdout
            walked = out.count("\n")
        time.sleep(SECS)
        os.kill(agent.pid, signal.SIGUSR1)
        time.sleep(0.5)
        with open(os.path.join(work, "agent.log")) as f:
            stats = [json.loads(ln.split("stats ", 1)[1]) for ln in f if " stats {" in ln]
        acked = stats[-1].get("heartbeats", 0) if stats else 0
        print(f"agent_rss: {os.path.basename(ROOT)}, /metrics {series} series, "
              f"AgentX {'%d values walked' % walked if snmpd else 'no snmpd (retrying)'}, "
              f"reporting: {acked} heartbeats")
        print(f"ward-agent VmRSS {field_kib(agent.pid, 'VmRSS')} KiB, VmHWM "
              f"{field_kib(agent.pid, 'VmHWM')} KiB (RssAnon {field_kib(agent.pid, 'RssAnon')}, "
              f"RssFile {field_kib(agent.pid, 'RssFile')}), Pss {field_kib(agent.pid, 'Pss', 'smaps_rollup')} KiB")
        for name, kib in smaps_groups(agent.pid, os.path.realpath(AGENT)).items():
            if kib:
                print(f"  {kib:6d} KiB  {name}")
        return 0 if agent.poll() is None else 1
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
