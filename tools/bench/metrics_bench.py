#!/usr/bin/python3
"""Cost of ward-agent's /metrics (docs/benchmarks.md, "Prometheus endpoint").

Generates the 48-temperature bench machine (make_fixture.py), starts a pull-only agent on it
(`run --root FIXTURE --metrics 127.0.0.1:PORT`), lets it sample, then scrapes /metrics N times
back to back over loopback and reports:
  - agent CPU per answer: (utime + stime of the agent over the scrapes) / N, from
    /proc/PID/stat; the agent's own sampling in that window is included (an upper bound);
  - bytes and series per scrape, beside prometheus-node-exporter on the same machine
    (its default collectors, 127.0.0.1:PORT2) when it is installed;
  - the agent's VmRSS and VmHWM after the scrapes.
Everything runs on 127.0.0.1 and is stopped by pid.

Usage: metrics_bench.py BUILD_DIR [N]
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fetch(port, path="/metrics"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while True:
        c = s.recv(262144)
        if not c:
            break
        data += c
    s.close()
    return data.partition(b"\r\n\r\n")[2]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def series(body):
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def wait_up(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit("the process under test exited")
        try:
            if fetch(port):
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("no answer on 127.0.0.1:%d" % port)


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    agent = os.path.join(build, "board", "ward-agent")
    work = tempfile.mkdtemp(prefix="ward-metrics-bench-")
    hz = os.sysconf("SC_CLK_TCK")
    procs = []
    try:
        fix = os.path.join(work, "fixture")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/bench/make_fixture.py"), fix],
                       check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        a = subprocess.Popen([agent, "run", "--root", fix, "--metrics", "127.0.0.1:%d" % port,
                              "--device-id", "bench", "--for", "600"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(a)
        wait_up(port, a)
        time.sleep(6)  # every class sampled once (temperatures and fans every 5 s)
        body = fetch(port)
        t0, w0 = cpu_ticks(a.pid), time.monotonic()
        for _ in range(n):
            fetch(port)
        t1, w1 = cpu_ticks(a.pid), time.monotonic()
        temps = body.count(b"\nward_temperature_celsius{")
        print("ward-agent /metrics: %d temperatures, %d series, %d bytes per scrape" %
              (temps, series(body), len(body)))
        print("ward-agent CPU per answer: %.3f ms (%d answers, %d ticks of 1/%d s; wall %.3f ms "
              "per scrape incl. client)" % ((t1 - t0) * 1000.0 / hz / n, n, t1 - t0, hz,
                                            (w1 - w0) * 1000.0 / n))
        print("ward-agent VmRSS %d KiB, VmHWM %d KiB" % (status(a.pid, "VmRSS"),
                                                         status(a.pid, "VmHWM")))
        ne = shutil.which("prometheus-node-exporter")
        if ne:
            p2 = free_port()
            e = subprocess.Popen([ne, "--web.listen-address=127.0.0.1:%d" % p2],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(e)
            wait_up(p2, e)
            nb = fetch(p2)
            m = 200
            t0 = cpu_ticks(e.pid)
            for _ in range(m):
                fetch(p2)
            t1 = cpu_ticks(e.pid)
            print("node_exporter /metrics (this machine, default collectors): %d series, %d bytes "
                  "per scrape, CPU %.3f ms per answer (%d answers); VmRSS %d KiB" %
                  (series(nb), len(nb), (t1 - t0) * 1000.0 / hz / m, m, status(e.pid, "VmRSS")))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
