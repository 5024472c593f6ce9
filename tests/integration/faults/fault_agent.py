"""The e2e agent (tests/integration/e2e/e2e_test.py) started the way a fault test needs: at
any collector address, with extra environment (libfaketime), a preexec hook (a network or
time namespace) and `expect_up` off when it is meant to be refused. Every output line is kept
with the monotonic time it arrived, so reconnects and refusals can be timed and counted."""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import check, wait_for, _PROCS, main as harness_main  # noqa: E402
from e2e_test import Agent  # noqa: E402


class FaultAgent(Agent):
    def __init__(self, env, collector, device, host="127.0.0.1"):
        super().__init__(env, collector, device)
        self.host = host
        self.lines = []  # (monotonic s, line)
        self.preexec = None
        self.extra_env = {}

    def start(self):
        crt, key = self.env.device_files(self.device)
        self.log_path = os.path.join(self.env.dir, "agent-%s.%d.log" % (self.device, self.runs))
        self.runs += 1
        self.log = open(self.log_path, "w")
        self.lines = []
        cmd = [os.path.join(self.env.build, "board", "ward-agent"), "run", "--collector",
               "%s:%d" % (self.host, self.port), "--server-name", "localhost", "--ca",
               self.env.ca(), "--cert", crt, "--key", key, "--state-dir", self.state, "--root",
               self.root, "--rules", self.rules, "--for", "600"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, preexec_fn=self.preexec,
                                     env=dict(os.environ, **self.extra_env))
        _PROCS.append(self.proc)
        self.pid = self.proc.pid
        self.pump = threading.Thread(target=self._pump, args=(self.proc.stdout, self.log),
                                     daemon=True)
        self.pump.start()
        wait_for(lambda: self.proc.poll() is not None or "reporting to" in self.text(), 10,
                 "%s to start" % self.device)
        check(self.proc.poll() is None, "%s exited at start: %s" % (self.device, self.text()))
        return self

    def text(self):
        if self.proc is not None and self.proc.poll() is not None:
            self.pump.join(timeout=10)  # an exited agent's last lines are all in the log
        return super().text()

    def _pump(self, src, log):
        for line in src:
            self.lines.append((time.monotonic(), line.rstrip("\n")))
            log.write(line)
            log.flush()

    def times(self, pattern, after=0.0):
        return [t for t, ln in list(self.lines) if t >= after and re.search(pattern, ln)]

    def ups(self, after=0.0):
        return self.times(r" -> up \(", after)

    def backoffs(self, after=0.0):
        return self.times(r" -> backoff", after)


def run_cases(cases, why_not):
    """SCRIPT BUILD_DIR WORK_DIR CASE: "SKIP CASE: why" when why_not(case) says this machine
    cannot run it, else harness.main (usage, the verdict line, collector logs on failure,
    teardown); a passing case's work directory is removed (a failing one is kept)."""
    case = sys.argv[3] if len(sys.argv) == 4 else None
    why = why_not(case) if case in cases else None
    if why is not None:
        print("SKIP %s: %s" % (case, why))
        return 0
    work = os.path.abspath(sys.argv[2]) if len(sys.argv) == 4 else None
    old = set(os.listdir(work)) if work and os.path.isdir(work) else set()
    harness_main(cases)  # exits on failure
    for d in set(os.listdir(work)) - old:
        if d.startswith(case + "."):
            shutil.rmtree(os.path.join(work, d), ignore_errors=True)
    return 0
