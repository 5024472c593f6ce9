#!/usr/bin/python3
"""Cost per value served over SNMP: ward's AgentX subagent beside snmpd's built-in MIBs, in one
run on this machine (docs/benchmarks.md, "SNMP: cost per value served").

Starts snmpd (master agentx, UDP on 127.0.0.1 only, everything in a temporary directory) and
`ward-agent run --agentx` over a fixture tree (its collector address is a closed port: the
agent keeps sampling and retrying, nothing else), then walks with snmpbulkwalk -Cr50, ROUNDS
times each:
  - ward's three subtrees (ENTITY-MIB entPhysicalTable, ENTITY-SENSOR-MIB, WARD-MIB), through
    snmpd and AgentX;
  - snmpd's own IF-MIB ifTable and HOST-RESOURCES-MIB hrStorage/hrDevice/hrSWRun.
CPU is each process's own (/proc/PID/schedstat, nanoseconds on the CPU); the agent's idle CPU
over the same wall time is measured first and subtracted. Needs root (snmpd).

usage: snmp_bench.py AGENT [FIXTURE_ROOT] [ROUNDS]
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

AGENT = sys.argv[1]
ROOT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "intel-server")
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
WARD_TREES = ["1.3.6.1.2.1.47.1.1.1", "1.3.6.1.2.1.99.1.1", "1.3.6.1.4.1.32473.1"]
SNMPD_TREES = ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.25.2", "1.3.6.1.2.1.25.3", "1.3.6.1.2.1.25.4"]


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def certs(work):
    def sh(*a):
        subprocess.run(a, cwd=work, check=True, capture_output=True, timeout=60)

    for name in ("ca", "dev"):
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-out", name + ".key")
    sh("openssl", "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2",
       "-subj", "/CN=bench-ca")
    sh("openssl", "req", "-new", "-key", "dev.key", "-out", "dev.csr", "-subj", "/CN=bench-1")
    sh("openssl", "x509", "-req", "-in", "dev.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-out", "dev.pem", "-days", "2")
    os.chmod(os.path.join(work, "dev.key"), 0o600)


def walk(port, env, oid):
    p = subprocess.run(["snmpbulkwalk", "-m", "", "-On", "-v2c", "-c", "public", "-Cr50",
                        f"127.0.0.1:{port}", oid], capture_output=True, timeout=120, env=env)
    return sum(1 for line in p.stdout.decode(errors="replace").splitlines() if " = " in line)


def measure(port, env, trees, pids):
    before = [cpu_ns(p) for p in pids]
    t0 = time.monotonic()
    values = 0
    for _ in range(ROUNDS):
        for oid in trees:
            values += walk(port, env, oid)
    wall = time.monotonic() - t0
    return values, wall, [cpu_ns(p) - b for p, b in zip(pids, before)]


def main():
    work = tempfile.mkdtemp(prefix="ward-snmp-bench-")
    procs = []
    try:
        certs(work)
        sock = os.path.join(work, "agentx.sock")
        port = free_udp()
        env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(work, "client"), MIBS="")
        with open(os.path.join(work, "snmpd.conf"), "w") as f:
            f.write(f"master agentx\nagentXSocket unix:{sock}\nagentXPerms 0600 0700\n"
                    "rocommunity public 127.0.0.1\n")
        snmpd = subprocess.Popen(["/usr/sbin/snmpd", "-f", "-C", "-c",
                                  os.path.join(work, "snmpd.conf"), "-m", "", "-Lf",
                                  os.path.join(work, "snmpd.log"),
                                  "--persistentDir=" + os.path.join(work, "p"),
                                  f"udp:127.0.0.1:{port}"], env=env)
        procs.append(snmpd)
        for _ in range(50):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        agent = subprocess.Popen([AGENT, "run", "--collector", "127.0.0.1:1", "--server-name",
                                  "x", "--ca", os.path.join(work, "ca.pem"), "--cert",
                                  os.path.join(work, "dev.pem"), "--key",
                                  os.path.join(work, "dev.key"), "--state-dir",
                                  os.path.join(work, "state"), "--root", ROOT, "--agentx",
                                  "unix:" + sock, "--for", "600"],
                                 stderr=subprocess.DEVNULL)
        procs.append(agent)
        for _ in range(100):
            if walk(port, env, WARD_TREES[2]) > 10:
                break
            time.sleep(0.2)
        time.sleep(3)  # every class sampled once
        ward_vals, ward_wall, (ward_agent_ns, ward_snmpd_ns) = measure(
            port, env, WARD_TREES, [agent.pid, snmpd.pid])
        idle0 = cpu_ns(agent.pid)
        time.sleep(ward_wall)
        idle_ns = cpu_ns(agent.pid) - idle0
        own_vals, own_wall, (_, own_snmpd_ns) = measure(port, env, SNMPD_TREES,
                                                        [agent.pid, snmpd.pid])
        served_ns = max(ward_agent_ns - idle_ns, 0)
        print(f"snmp_bench: {ROUNDS} rounds of snmpbulkwalk -Cr50, fixture {os.path.basename(ROOT)}")
        print(f"ward subagent: {ward_vals} values in {ward_wall:.1f} s; agent CPU "
              f"{ward_agent_ns / 1e6:.1f} ms (idle {idle_ns / 1e6:.1f} ms over the same time) = "
              f"{served_ns / 1e3 / max(ward_vals, 1):.2f} us per value; snmpd as master "
              f"{ward_snmpd_ns / 1e3 / max(ward_vals, 1):.2f} us per value")
        print(f"ward-agent RSS after the walks: {rss_kib(agent.pid)} KiB")
        print(f"snmpd built-in (IF-MIB ifTable, HOST-RESOURCES hrStorage/hrDevice/hrSWRun): "
              f"{own_vals} values in {own_wall:.1f} s; snmpd CPU "
              f"{own_snmpd_ns / 1e3 / max(own_vals, 1):.2f} us per value")
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
