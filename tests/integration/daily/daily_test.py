#!/usr/bin/env python3
"""Daily use (issue 15): configuration files, SIGHUP reload, one collector per state directory.

usage: daily_test.py --agent A --collector C --pki-tool P --fixture DIR --work DIR CASE

Cases:
  collector_config   --check-config; an unknown key fails with FILE:LINE; the file's values are
                     used and the command line wins over them
  collector_lock     a second collector on the same --state is refused with one line naming
                     it; a clean stop removes STATE/ports
  collector_reload   SIGHUP names a changed option and the new token count; a file that no
                     longer loads keeps the running configuration (and says why); it still serves
  collector_reload_user  (root) with --user, SIGHUP still reloads (no start-only checks)
  agent_config       ward-agent run: unknown key with FILE:LINE, a bad value, --check-config,
                     the file's --for honoured and the command line's winning
  agent_reload       SIGHUP reloads the rules and says so; broken rules keep the running ones
                     and the agent runs on; the log level from the file is applied
  agent_journal      with stderr on the journal (JOURNAL_STREAM), syslog level prefixes and no
                     timestamps; every other line has a timestamp and a level
  words              errors in words: an agent's collector name that does not resolve, a
                     --root that does not exist, a collector --pki that does not exist, a
                     listen host name (resolved, and one that does not resolve), a device's
                     clientAuth-only certificate refused as the collector's
  man                the generated man pages: mandoc -T lint finds nothing (but manuals not
                     installed yet), every option of every --help is in its page; the bash
                     completion of each program parses and completes its commands and options
  package            (root only) tools/package/build-debs; lintian reports only the tags
                     docs/install.md justifies; dpkg -i of the three packages installs programs,
                     man pages, units and the system users; dpkg --purge leaves nothing behind
  pki_list           ward-pki list (--dir after the command): a header, kind (ca/collector/device), status, readable
                     dates; a rules error names its line once
  tls_words          against a real collector, the agent says its certificate is revoked,
                     expired, or from a CA the collector does not know
  probe_once         ward-agent probe on a terminal names an unreadable source once
  units              tools/systemd: systemd-analyze verify says nothing; least privilege
                     directives present; offline security exposure below 2.0 (collector) and
                     3.0 (agent, which needs CAP_SYS_RAWIO and CAP_SYS_ADMIN for SMART/NVMe)
  wardctl_env        WARD_URL / WARD_TOKEN, the configuration file (and its unknown keys),
                     the command line winning, and a clear choice when there are two tokens
  examples           the annotated examples in tools/etc name every option of the program's
                     --help (key by key) and nothing else, and load once uncommented
  wardctl_units      an agent reports the fixture's sensors; wardctl shows them in °C / RPM

Every process started is stopped by its pid. Prints "PASS CASE" or "FAIL CASE: why".
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


def check(cond, why):
    if not cond:
        raise Fail(why)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise Fail("timed out after %.0f s waiting for %s" % (timeout, what))


class Proc:
    """A program started with its stderr in a file; stopped by pid at the end."""

    def __init__(self, argv, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, pattern, timeout=15, after=0):
        wait_for(lambda: re.search(pattern, self.text()[after:]) is not None, timeout,
                 "%r in %s:\n%s" % (pattern, self.log_path, self.text()[-2000:]))

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()
        return self.p.returncode


class Env:
    def __init__(self, a):
        self.a = a
        self.work = a.work
        self.procs = []
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.pki = os.path.join(self.work, "pki")
        for argv in (["init"], ["collector"], ["device", "dev1"], ["token", "alice"]):
            p = subprocess.run([a.pki_tool, "--dir", self.pki] + argv, capture_output=True,
                               text=True, timeout=60)
            check(p.returncode == 0, "ward-pki %s: %s" % (argv, p.stderr.strip()))

    def path(self, *names):
        return os.path.join(self.work, *names)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def start(self, argv, name):
        p = Proc(argv, self.path(name))
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            p.stop()

    def collector_conf(self, state, extra=""):
        return ("# ward-collector, written by daily_test.py\n"
                "pki = %s\nstate = %s\nlisten = 127.0.0.1:0\napi-listen = 127.0.0.1:0\n%s"
                % (self.pki, state, extra))

    def ports(self, state):
        with open(os.path.join(state, "ports")) as f:
            return dict(line.split(" ", 1) for line in f.read().splitlines())


def run(argv, timeout=60):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def dpkg(args, timeout=300):
    """dpkg ARGS, again while another process (apt, unattended-upgrades on a fresh machine)
    holds dpkg's lock: dpkg itself does not wait for it, and the test failed on "dpkg frontend
    lock was locked by another process". At most `timeout` seconds in all."""
    end = time.monotonic() + timeout
    while True:
        p = run(["dpkg"] + args, timeout=timeout)
        if p.returncode == 0 or "lock was locked by another process" not in p.stderr or \
                time.monotonic() > end:
            return p
        time.sleep(1)


def case_collector_config(e):
    col = e.a.collector
    conf = e.write("c.conf", e.collector_conf(e.path("state-file")))
    p = run([col, "--config", conf, "--check-config"])
    check(p.returncode == 0 and "configuration ok" in p.stdout,
          "--check-config: exit %d %r %r" % (p.returncode, p.stdout, p.stderr))
    check(not os.path.exists(e.path("state-file")), "--check-config created the state directory")
    bad = e.write("bad.conf", e.collector_conf(e.path("s"), "\nmax-devices = 10\nbogus-key = 1\n"))
    p = run([col, "--config", bad])
    check(p.returncode == 2, "unknown key: exit %d" % p.returncode)
    check(re.search(r"bad\.conf:8: unknown key 'bogus-key'", p.stderr), "unknown key: %r" % p.stderr)
    dup = e.write("dup.conf", e.collector_conf(e.path("s"), "state = /x\n"))
    p = run([col, "--config", dup])
    check(p.returncode == 2 and re.search(r"dup\.conf:6: 'state' is already set on line 3",
                                          p.stderr), "duplicate key: %r" % p.stderr)
    badval = e.write("badval.conf", e.collector_conf(e.path("s"), "silent-factor = many\n"))
    p = run([col, "--config", badval])
    check(p.returncode == 2 and "badval.conf:6" in p.stderr and "many" in p.stderr,
          "bad value: %r" % p.stderr)
    # The file's state directory is used, and --state on the command line wins over it.
    c = e.start([col, "--config", conf], "c1.log")
    wait_for(lambda: os.path.exists(e.path("state-file", "ports")), 15, "ports from the file")
    c.stop()
    c = e.start([col, "--config", conf, "--state", e.path("state-cli")], "c2.log")
    wait_for(lambda: os.path.exists(e.path("state-cli", "ports")), 15, "ports of --state")
    check(not os.path.exists(e.path("state-file", "ports")), "the file's --state was used")
    c.stop()


def case_collector_lock(e):
    col = e.a.collector
    state = e.path("state")
    conf = e.write("c.conf", e.collector_conf(state))
    c = e.start([col, "--config", conf], "c1.log")
    wait_for(lambda: os.path.exists(os.path.join(state, "ports")), 15, "the first collector")
    ports = e.ports(state)
    p = run([col, "--config", conf], timeout=30)
    check(p.returncode != 0, "second collector started (exit %d)" % p.returncode)
    lines = [ln for ln in p.stderr.splitlines() if "in use" in ln]
    check(len(lines) == 1 and state in lines[0] and "pid %d" % c.p.pid in lines[0],
          "refusal line: %r" % p.stderr)
    check(e.ports(state) == ports, "the second collector touched ports")
    check(c.alive(), "the first collector died")
    check(c.stop() == 0, "first collector exit status")
    check(not os.path.exists(os.path.join(state, "ports")), "ports left after a clean stop")
    # The lock went with the process: a new collector starts on the same state.
    c = e.start([col, "--config", conf], "c2.log")
    wait_for(lambda: os.path.exists(os.path.join(state, "ports")), 15, "a collector after")
    c.stop()


def case_collector_reload(e):
    col, state = e.a.collector, e.path("state")
    conf = e.write("c.conf", e.collector_conf(state, "silent-factor = 3\n"))
    c = e.start([col, "--config", conf], "c.log")
    c.wait_log(r"operators on")
    mark = len(c.text())
    e.write("c.conf", e.collector_conf(state, "silent-factor = 5\nlog-level = debug\n"))
    p = run([e.a.pki_tool, "--dir", e.pki, "token", "bob"])
    check(p.returncode == 0, "token bob: %s" % p.stderr)
    c.p.send_signal(signal.SIGHUP)
    c.wait_log(r"operator tokens .* loaded: 2 \(before: 1\)", after=mark)
    text = c.text()[mark:]
    check("silent-factor changed (takes effect at the next start)" in text, text)
    check(re.search(r"log-level changed\n", text), text)
    mark = len(c.text())
    e.write("c.conf", e.collector_conf(state, "silent-factor 7\n"))
    c.p.send_signal(signal.SIGHUP)
    c.wait_log(r"reload failed .* kept", after=mark)
    text = c.text()[mark:]
    check("c.conf:6: expected 'key = value'" in text, "no FILE:LINE in %r" % text)
    check("operator tokens" not in text.split("reload failed")[1], "tokens reloaded after a failure")
    check(c.alive() and os.path.exists(os.path.join(state, "ports")), "collector stopped")
    # Still serving: a TCP connection to the operator port is accepted.
    import socket
    host, port = e.ports(state)["api"].rsplit(":", 1)
    socket.create_connection((host, int(port)), timeout=5).close()
    check(c.stop() == 0, "exit status")


def find_device_files(e):
    """ward-pki's layout for device dev1 (crt/key), whatever the folder."""
    for root, _, files in os.walk(e.pki):
        if "dev1.crt" in files and "dev1.key" in files:
            return os.path.join(root, "dev1.crt"), os.path.join(root, "dev1.key")
    raise Fail("no dev1.crt/dev1.key under %s" % e.pki)


def case_collector_reload_user(e):
    """With --user, SIGHUP re-reads the configuration as that user: the key it cannot read
    (rightly) and the PKI directory are not checked again, so the reload still happens."""
    if os.geteuid() != 0:
        print("SKIP collector_reload_user: needs root (--user)")
        raise SystemExit(77)
    os.remove(os.path.join(e.pki, "ca.key"))
    os.chmod(e.work, 0o755)
    conf = e.write("c.conf", e.collector_conf(e.path("state"), "user = nobody\n"))
    os.chmod(conf, 0o644)
    c = e.start([e.a.collector, "--config", conf], "c.log")
    c.wait_log(r"running as nobody")
    c.wait_log(r"operators on")
    mark = len(c.text())
    c.p.send_signal(signal.SIGHUP)
    c.wait_log(r"SIGHUP: configuration .*c\.conf read, 0 options changed", after=mark)
    check("reload failed" not in c.text()[mark:], c.text()[mark:])
    check(c.stop() == 0, "exit status")


def agent_conf_real(e, extra):
    crt, key = find_device_files(e)
    return ("collector = localhost:9\nca = %s/ca.crt\ncert = %s\nkey = %s\nstate-dir = %s\n"
            "root = %s\n%s" % (e.pki, crt, key, e.path("agent-state"), e.a.fixture, extra))


def case_agent_config(e):
    ag = e.a.agent
    bad = e.write("a.conf", agent_conf_real(e, "# x\nfrequency = 3\n"))
    p = run([ag, "run", "--config", bad])
    check(p.returncode == 2 and re.search(r"a\.conf:8: unknown key 'frequency'", p.stderr),
          "unknown key: %d %r" % (p.returncode, p.stderr))
    bad = e.write("b.conf", agent_conf_real(e, "for = soon\n"))
    p = run([ag, "run", "--config", bad])
    check(p.returncode == 2 and re.search(r"b\.conf:7: for wants .* 'soon'", p.stderr),
          "bad value: %d %r" % (p.returncode, p.stderr))
    bad = e.write("c.conf", agent_conf_real(e, "config = /x\n"))
    p = run([ag, "run", "--config", bad])
    check(p.returncode == 2 and "c.conf:7" in p.stderr, "config in a file: %r" % p.stderr)
    good = e.write("g.conf", agent_conf_real(e, "rules = %s\nfor = 2\n" % e.write(
        "r.json", '{"rules": [], "intervals_ms": {"heartbeat": 500}}\n')))
    p = run([ag, "run", "--config", good, "--check-config"])
    check(p.returncode == 0 and "configuration ok" in p.stdout, "check: %r %r" % (p.stdout, p.stderr))
    e.write("r.json", '{"rules": [{"sensor": 5}]}\n')
    p = run([ag, "run", "--config", good, "--check-config"])
    check(p.returncode == 1 and "r.json:1" in p.stderr, "check of bad rules: %r" % p.stderr)
    e.write("r.json", '{"rules": [], "intervals_ms": {"heartbeat": 500}}\n')
    # for = 2 from the file ends the run; --for 1 on the command line wins over it.
    t = time.monotonic()
    p = run([ag, "run", "--config", good], timeout=30)
    took = time.monotonic() - t
    check(p.returncode == 0 and 1.5 < took < 10, "for = 2: exit %d after %.1f s: %s"
          % (p.returncode, took, p.stderr[-500:]))
    t = time.monotonic()
    p = run([ag, "run", "--config", good, "--for", "1"], timeout=30)
    took2 = time.monotonic() - t
    check(p.returncode == 0 and took2 < took - 0.5, "--for 1 did not win: %.1f s vs %.1f s"
          % (took2, took))


def case_agent_reload(e):
    ag = e.a.agent
    rules = e.write("r.json", '{"rules": [], "intervals_ms": {"heartbeat": 500}}\n')
    conf = e.write("a.conf", agent_conf_real(e, "rules = %s\n" % rules))
    a = e.start([ag, "run", "--config", conf], "agent.log")
    a.wait_log(r"reporting to")
    mark = len(a.text())
    e.write("r.json", '{"rules": [{"sensor": "temp:*", "upper_critical": 90000}], '
            '"intervals_ms": {"heartbeat": 700}}\n')
    a.p.send_signal(signal.SIGHUP)
    a.wait_log(r"SIGHUP: rules .*r\.json loaded: 1 rules", after=mark)
    a.wait_log(r"SIGHUP: configuration .*a\.conf reloaded, 0 options changed", after=mark)
    mark = len(a.text())
    e.write("r.json", '{"rules": [{"sensor": "temp:*", "upper_critical": "hot"}]}\n')
    a.p.send_signal(signal.SIGHUP)
    a.wait_log(r"reload failed .*kept", after=mark)
    check(re.search(r"r\.json:1: ", a.text()[mark:]), "no location: %r" % a.text()[mark:])
    time.sleep(0.5)
    check(a.alive(), "the agent died after a failed reload")
    mark = len(a.text())
    e.write("a.conf", agent_conf_real(e, "rules = %s\nlog-level = error\nstate-dir = /y\n"
                                      % rules))
    a.p.send_signal(signal.SIGHUP)
    a.wait_log(r"'state-dir' is already set|reload failed", after=mark)
    e.write("r.json", '{"rules": [], "intervals_ms": {"heartbeat": 500}}\n')
    e.write("a.conf", agent_conf_real(e, "rules = %s\nlog-level = error\n" % rules))
    mark = len(a.text())
    a.p.send_signal(signal.SIGHUP)
    a.wait_log(r"1 option changed", after=mark)
    check("log-level changed\n" in a.text()[mark:], a.text()[mark:])
    # At level error the loop's link lines (info, warn) are no longer printed.
    mark = len(a.text())
    time.sleep(2.5)
    check("collector localhost:9" not in a.text()[mark:], "link lines at level error: %r"
          % a.text()[mark:])
    check(a.stop() == 0, "agent exit status")
    # Every line: UTC timestamp, level, message; the failed reload is an error, the rules info.
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) ward-agent: "
    lines = a.text().splitlines()
    check(all(re.match(stamp, ln) for ln in lines), "unstamped: %r"
          % [ln for ln in lines if not re.match(stamp, ln)][:3])

    def at(level, what):
        return any(re.match(stamp.replace("(error|warn|info|debug)", level) + what, ln)
                   for ln in lines)

    check(at("error", "SIGHUP: reload failed"), "the failed reload is not an error line")
    check(at("info", "SIGHUP: rules"), "the rules line is not info")
    check(at("warn", "collector .* -> backoff"), "backoff is not a warn line")


def case_agent_journal(e):
    """stderr is the journal (JOURNAL_STREAM names it): syslog prefixes, no timestamps."""
    conf = e.write("a.conf", agent_conf_real(e, "for = 1\n"))
    log = e.path("agent.log")
    with open(log, "w") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        p = subprocess.run([e.a.agent, "run", "--config", conf], stdout=f, stderr=f, env=env,
                           timeout=30, stdin=subprocess.DEVNULL)
    with open(log) as f:
        lines = f.read().splitlines()
    check(p.returncode == 0 and lines, "exit %d: %r" % (p.returncode, lines))
    check(all(re.match(r"^<[3467]>ward-agent: ", ln) for ln in lines), "lines: %r" % lines[:4])
    check(any(ln.startswith("<6>ward-agent: board linux") for ln in lines), "banner not <6>: %r" % lines)
    check(any(ln.startswith("<4>ward-agent: collector") for ln in lines), "no <4> backoff")
    # Another stream (not the journal): timestamps again.
    with open(log, "w") as f:
        env = dict(os.environ, JOURNAL_STREAM="1:1")
        subprocess.run([e.a.agent, "run", "--config", conf], stdout=f, stderr=f, env=env,
                       timeout=30, stdin=subprocess.DEVNULL)
    with open(log) as f:
        check(re.match(r"^\d{4}-", f.read()), "JOURNAL_STREAM of another file removed timestamps")


def case_words(e):
    ag, col = e.a.agent, e.a.collector
    crt, key = find_device_files(e)
    conf = e.write("a.conf", agent_conf_real(e, "for = 2\n").replace("localhost:9",
                                                                     "nosuch.invalid:9"))
    p = run([ag, "run", "--config", conf], timeout=30)
    check(re.search(r"warn ward-agent: collector nosuch\.invalid:9: connecting -> backoff: "
                    r"cannot resolve nosuch\.invalid;", p.stderr), "DNS: %r" % p.stderr[-600:])
    p = run([ag, "run", "--config", conf, "--root", e.path("nonexistent")])
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and
          "--root %s: No such file or directory" % e.path("nonexistent") in p.stderr,
          "--root: %r" % p.stderr)
    p = run([col, "--pki", e.path("nonexistent"), "--state", e.path("s")])
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and
          "--pki %s: No such file or directory" % e.path("nonexistent") in p.stderr,
          "--pki: %r" % p.stderr)
    check(not os.path.exists(e.path("s")), "--pki failure created the state directory")
    p = run([col, "--pki", e.pki, "--state", e.path("s"), "--listen", "nosuch.invalid:0"])
    check(p.returncode != 0 and "cannot resolve the host name in listen address "
          "'nosuch.invalid:0'" in p.stderr, "listen: %r" % p.stderr)
    c = e.start([col, "--pki", e.pki, "--state", e.path("s2"), "--listen", "localhost:0",
                 "--api-listen", "localhost:0"], "c.log")
    wait_for(lambda: os.path.exists(e.path("s2", "ports")), 15, "a collector on localhost:0")
    check(e.ports(e.path("s2"))["device"].startswith(("127.0.0.1:", "[::1]:")), "listen host")
    c.stop()
    p = run([col, "--pki", e.pki, "--state", e.path("s3"), "--cert", crt, "--key", key])
    check(p.returncode != 0 and "is not a server certificate" in p.stderr,
          "clientAuth-only certificate accepted: %r" % p.stderr)


def case_man(e):
    if shutil.which("mandoc") is None:
        print("SKIP man: no mandoc (tools/bootstrap installs it)")
        raise SystemExit(77)
    man = os.path.join(e.a.docs, "man")
    pages = {"ward-agent": "ward-agent.8", "ward-collector": "ward-collector.8",
             "wardctl": "wardctl.1", "ward-pki": "ward-pki.1"}
    bins = {"ward-agent": e.a.agent, "ward-collector": e.a.collector, "wardctl": e.a.wardctl,
            "ward-pki": e.a.pki_tool}
    for page in list(pages.values()) + ["ward.conf.5"]:
        path = os.path.join(man, page)
        check(os.path.exists(path), "no %s" % path)
        p = run(["mandoc", "-T", "lint", path])
        msgs = [ln for ln in (p.stdout + p.stderr).splitlines()
                if "referenced manual not found" not in ln]
        check(msgs == [], "mandoc -T lint %s: %s" % (page, msgs[:5]))
    for prog, page in pages.items():
        with open(os.path.join(man, page)) as f:
            text = f.read()
        helps = [run([bins[prog], "--help"]).stdout]
        for c in re.findall(r"^  ([a-z][a-z-]*)\s", helps[0].split("commands:")[1], re.M) \
                if "commands:" in helps[0] else []:
            helps.append(run([bins[prog], c, "--help"]).stdout)
        for h in helps:
            for opt in re.findall(r"^\s{2,4}--([a-z0-9-]+)", h, re.M):
                check(re.search(r"Fl \\?-%s\b" % re.escape(opt), text) or opt == "help",
                      "%s: --%s of --help is not in %s" % (prog, opt, page))
    with open(os.path.join(man, "ward.conf.5")) as f:
        conf = f.read()
    for key in ("state-dir", "rules", "silent-factor", "tls13-only", "token-file"):
        check(".It Cm %s" % key in conf, "ward.conf(5) lacks %s" % key)
    comp = os.path.join(e.a.docs, "bash-completion")
    want = {"ward-agent": ("r", "replay run"), "ward-collector": ("--check-", "--check-config --check-interval"),
            "ward-pki": ("de", "device"), "wardctl": ("dev", "device devices")}
    for prog, (word, expect) in want.items():
        script = ("source %s/%s; COMP_WORDS=(%s %s); COMP_CWORD=1; _%s; "
                  "printf '%%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '"
                  % (comp, prog, prog, word, prog.replace("-", "_")))
        p = run(["bash", "-c", script])
        check(p.returncode == 0 and p.stdout.strip() == expect,
              "completion of '%s %s': %r %r" % (prog, word, p.stdout, p.stderr))
    p = run(["bash", "-c", "source %s/ward-agent; COMP_WORDS=(ward-agent run --for); "
             "COMP_CWORD=2; _ward_agent; echo \"${COMPREPLY[@]}\"" % comp])
    check(p.stdout.strip() == "--for", "options of run: %r" % p.stdout)


# lintian tags docs/install.md ("Debian packages") explains; anything else fails the test.
LINTIAN_JUSTIFIED = {"embedded-library", "hardening-no-bindnow", "hardening-no-fortify-functions",
                     "package-supports-alternative-init-but-no-init.d-script"}
PKGS = ["ward-collector", "ward-agent", "ward-common"]


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return p.returncode == 0 and "installed" in p.stdout and "not-installed" not in p.stdout


def case_package(e):
    if os.geteuid() != 0 or shutil.which("dpkg") is None:
        print("SKIP package: needs root and dpkg (it installs into the real system)")
        raise SystemExit(77)
    users = [u for u in ("ward-agent", "ward-collector") if run(["getent", "passwd", u]).returncode == 0]
    if any(installed(p) for p in PKGS) or users or os.path.exists("/var/lib/ward-collector"):
        print("SKIP package: ward is already installed on this machine; not touching it")
        raise SystemExit(77)
    p = run([e.a.build_debs, e.a.build, e.path("debs")], timeout=300)
    check(p.returncode == 0, "build-debs: %s" % p.stderr[-800:])
    debs = p.stdout.split()
    check(len(debs) == 3 and all(os.path.exists(d) for d in debs), "debs: %r" % debs)
    if shutil.which("lintian"):
        p = run(["lintian", "--tag-display-limit", "0"] + debs, timeout=600)
        tags = set(re.findall(r"^[EWI]: \S+: (\S+)", p.stdout, re.M))
        check(tags <= LINTIAN_JUSTIFIED,
              "lintian tags not justified in docs/install.md: %s\n%s"
              % (sorted(tags - LINTIAN_JUSTIFIED), p.stdout[-1500:]))
    before = set()
    for top in ("/usr/bin", "/lib/systemd/system", "/usr/share/man/man8", "/usr/share/man/man1",
                "/usr/share/man/man5", "/usr/share/bash-completion/completions", "/etc",
                "/var/lib", "/usr/share/doc"):
        before |= {os.path.join(top, n) for n in os.listdir(top)} if os.path.isdir(top) else set()
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read()
    try:
        p = dpkg(["-i"] + debs)
        check(p.returncode == 0, "dpkg -i: %s" % (p.stdout + p.stderr)[-1500:])
        for b in ("/usr/bin/ward-agent", "/usr/bin/ward-collector", "/usr/bin/wardctl",
                  "/usr/bin/ward-pki"):
            v = run([b, "--version"])
            check(v.returncode == 0 and "0." in v.stdout, "%s --version: %r" % (b, v.stdout))
        for f in ("/lib/systemd/system/ward-agent.service",
                  "/lib/systemd/system/ward-collector.service",
                  "/usr/share/man/man8/ward-collector.8.gz", "/usr/share/man/man5/ward.conf.5.gz",
                  "/usr/share/doc/ward-common/examples/collector.conf",
                  "/usr/share/bash-completion/completions/wardctl"):
            check(os.path.exists(f), "not installed: %s" % f)
        for u in ("ward-agent", "ward-collector"):
            check(run(["getent", "passwd", u]).returncode == 0, "no system user %s" % u)
        check("ward-agent" in run(["id", "-nG", "ward-agent"]).stdout.split() and
              "disk" in run(["id", "-nG", "ward-agent"]).stdout.split(), "ward-agent not in disk")
    finally:
        p = dpkg(["--purge"] + PKGS)
    check(p.returncode == 0, "dpkg --purge: %s" % (p.stdout + p.stderr)[-1500:])
    check(not any(installed(x) for x in PKGS), "still installed after purge")
    after = set()
    for top in ("/usr/bin", "/lib/systemd/system", "/usr/share/man/man8", "/usr/share/man/man1",
                "/usr/share/man/man5", "/usr/share/bash-completion/completions", "/etc",
                "/var/lib", "/usr/share/doc"):
        after |= {os.path.join(top, n) for n in os.listdir(top)} if os.path.isdir(top) else set()
    left = sorted(x for x in after - before if "ward" in x)
    check(left == [], "left behind: %r" % left)
    with open("/etc/passwd") as f:
        check(f.read() == passwd, "/etc/passwd differs after purge")
    with open("/etc/group") as f:
        check(f.read() == group, "/etc/group differs after purge")


def case_pki_list(e):
    p = run([e.a.pki_tool, "--dir", e.pki, "revoke", "dev1"])
    check(p.returncode == 0, "revoke: %s" % p.stderr)
    p = run([e.a.pki_tool, "list", "--dir", e.pki])  # --dir anywhere on the line
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and lines[0].split()[:3] == ["KIND", "STATUS", "EXPIRES"],
          "header: %r" % lines[:1])
    row = r"^(ca|collector|device) +(valid|revoked|expired) +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +[0-9A-F]+ +CN="
    check(all(re.match(row, ln) for ln in lines[1:]), "rows: %r" % lines[1:])
    kinds = [(ln.split()[0], ln.split()[1]) for ln in lines[1:]]
    check(kinds == [("ca", "valid"), ("collector", "valid"), ("device", "revoked")],
          "kinds: %r" % kinds)
    # A rules error names its file and line once.
    rules = e.write("bad.rules.json", '{"rules": [\n  {"sensor": 5}]}\n')
    crt, key = find_device_files(e)
    conf = e.write("a.conf", agent_conf_real(e, "rules = %s\n" % rules))
    p = run([e.a.agent, "run", "--config", conf])
    errs = [ln for ln in p.stderr.splitlines() if "bad.rules.json" in ln]
    check(p.returncode == 1 and len(errs) == 1 and errs[0].count("line 2") == 1 and
          ":2:" not in errs[0], "rules error: %r" % p.stderr)


def case_tls_words(e):
    """The agent names why a real collector refused it: revoked, expired, unknown CA."""
    pki = e.a.pki_tool
    for argv in (["device", "gone"], ["revoke", "gone"],
                 ["device", "old", "--start", "20200101000000Z", "--end", "20200102000000Z"]):
        p = run([pki, "--dir", e.pki] + argv)
        check(p.returncode == 0, "ward-pki %s: %s" % (argv, p.stderr))
    other = e.path("other-pki")
    for argv in (["init"], ["device", "stranger"]):
        p = run([pki, "--dir", other] + argv)
        check(p.returncode == 0, "ward-pki %s: %s" % (argv, p.stderr))
    c, ports = start_collector(e)
    port = ports["device"].rsplit(":", 1)[1]
    cases = [("gone", e.pki, r"(certificate is revoked|certificate \(revoked\?)"),
             ("old", e.pki, r"certificate(: it)? has expired"),
             ("stranger", other, r"does not know the CA of this device's certificate")]
    for dev, where, words in cases:
        conf = e.write(dev + ".conf", "collector = localhost:%s\nca = %s/ca.crt\n"
                       "cert = %s/devices/%s.crt\nkey = %s/devices/%s.key\nstate-dir = %s\n"
                       "root = %s\nfor = 3\n" % (port, e.pki, where, dev, where, dev,
                                                   e.path("st-" + dev), e.a.fixture))
        p = run([e.a.agent, "run", "--config", conf], timeout=30)
        check(re.search(r"-> backoff: .*" + words, p.stderr),
              "%s: no '%s' in:\n%s" % (dev, words, p.stderr[-1200:]))
    check(c.alive(), "collector died")
    c.stop()


def case_probe_once(e):
    """probe on a terminal prints an unreadable source once (the table lists it), not twice."""
    if os.geteuid() != 0 or shutil.which("script") is None or shutil.which("setpriv") is None:
        print("SKIP probe_once: needs root (to run the agent as nobody), script and setpriv")
        raise SystemExit(77)
    root = e.path("root")
    shutil.copytree(e.a.fixture, root, symlinks=True)
    agent = e.path("ward-agent")
    shutil.copy(e.a.agent, agent)
    for dirpath, dirs, files in os.walk(e.work):
        os.chmod(dirpath, 0o755)
        for f in files:
            if not os.path.islink(os.path.join(dirpath, f)):
                os.chmod(os.path.join(dirpath, f), 0o755)
    target = sorted(p for p in (os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
                    if p.endswith("/temp1_input"))[0]
    os.chmod(target, 0)
    nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups %s probe --root %s" % (agent, root)
    p = run(["script", "-qec", nobody, "/dev/null"])
    n_tty = p.stdout.count("permission denied")
    p = run(["bash", "-c", nobody + " 2>&1 >/dev/null"])
    n_err = p.stdout.count("permission denied")
    check(n_tty == 1, "on a terminal the problem shows %d times" % n_tty)
    check(n_err == 1, "stderr to a pipe: %d problem lines (want 1)" % n_err)


def unit_settings(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def case_units(e):
    if shutil.which("systemd-analyze") is None:
        print("SKIP units: no systemd-analyze")
        raise SystemExit(77)
    bins = {"ward-collector": e.a.collector, "ward-agent": e.a.agent}
    limits = {"ward-collector": 2.0, "ward-agent": 3.0}
    for unit, binary in bins.items():
        with open(os.path.join(e.a.units, unit + ".service")) as f:
            text = f.read()
        st = unit_settings(text)
        state = "/var/lib/" + unit
        want = {"ProtectSystem": ["strict"], "PrivateTmp": ["yes"], "NoNewPrivileges": ["yes"],
                "ReadWritePaths": [state], "StateDirectory": [unit], "User": [unit]}
        for k, v in want.items():
            check(st.get(k) == v, "%s: %s=%r, want %r" % (unit, k, st.get(k), v))
        for k in ("ProtectHome", "RestrictAddressFamilies", "SystemCallFilter",
                  "CapabilityBoundingSet", "ExecReload"):
            check(k in st, "%s: no %s=" % (unit, k))
        caps = st["CapabilityBoundingSet"][0].split()
        check(caps == ([] if unit == "ward-collector" else ["CAP_SYS_RAWIO", "CAP_SYS_ADMIN"]),
              "%s: capabilities %r" % (unit, caps))
        # verify needs the program to exist: point ExecStart at the one just built.
        local = e.write(unit + ".service", text.replace("/usr/bin/" + unit, binary))
        p = run(["systemd-analyze", "verify", "--man=no", local])
        out = (p.stdout + p.stderr).strip()
        check(p.returncode == 0 and out == "", "%s: systemd-analyze verify: %s" % (unit, out))
        p = run(["systemd-analyze", "security", "--offline=true", local])
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout + p.stderr)
        check(m is not None, "%s: no exposure in %r" % (unit, (p.stdout + p.stderr)[-300:]))
        level = float(m.group(1))
        print("%s exposure %.1f" % (unit, level))
        check(level < limits[unit], "%s: exposure %.1f, want below %.1f" % (unit, level,
                                                                          limits[unit]))


def start_collector(e, state="state"):
    state = e.path(state)
    conf = e.write("collector.conf", e.collector_conf(state))
    c = e.start([e.a.collector, "--config", conf], "collector.log")
    wait_for(lambda: os.path.exists(os.path.join(state, "ports")), 15, "the collector")
    return c, e.ports(state)


def wardctl(e, args, env=None, timeout=30):
    full = dict(os.environ)
    for k in ("WARD_URL", "WARD_TOKEN", "WARD_CA", "WARDCTL_URL", "WARDCTL_CA",
              "WARDCTL_TOKEN_FILE", "WARD_PKI_DIR"):
        full.pop(k, None)
    full["HOME"] = e.path("home")  # no user configuration file of the real user
    full.update(env or {})
    return subprocess.run([e.a.wardctl] + args, capture_output=True, text=True, timeout=timeout,
                          env=full, stdin=subprocess.DEVNULL, cwd=e.work)


def case_wardctl_env(e):
    c, ports = start_collector(e)
    url = "https://localhost:%s" % ports["api"].rsplit(":", 1)[1]
    ca = os.path.join(e.pki, "ca.crt")
    with open(os.path.join(e.pki, "tokens", "alice.token")) as f:
        token = f.read().strip()
    p = wardctl(e, ["--pki", e.pki, "--url", url, "devices"])
    check(p.returncode == 0, "one token in the PKI: %r" % p.stderr)
    p = run([e.a.pki_tool, "--dir", e.pki, "token", "bob"])
    check(p.returncode == 0, "token bob: %s" % p.stderr)
    p = wardctl(e, ["--pki", e.pki, "--url", url, "devices"])
    check(p.returncode == 2 and "2 tokens in" in p.stderr and "alice, bob" in p.stderr.replace(
        "bob, alice", "alice, bob") and "--token-file" in p.stderr and
        len(p.stderr.strip().splitlines()) == 1, "two tokens: %r" % p.stderr)
    env = {"WARD_URL": url, "WARD_TOKEN": token, "WARD_CA": ca}
    p = wardctl(e, ["devices"], env)
    check(p.returncode == 0, "WARD_URL/WARD_TOKEN/WARD_CA: %r" % p.stderr)
    p = wardctl(e, ["devices"], dict(env, WARD_TOKEN="not-the-token"))
    check(p.returncode != 0, "a wrong WARD_TOKEN was accepted")
    p = wardctl(e, ["--url", url, "devices"], dict(env, WARD_URL="https://localhost:1"))
    check(p.returncode == 0, "--url did not win over WARD_URL: %r" % p.stderr)
    conf = e.write("wardctl.conf", "# wardctl\nurl = %s\nca = %s\ntoken-file = %s\n"
                   "timeout = 5\n" % (url, ca, os.path.join(e.pki, "tokens", "alice.token")))
    p = wardctl(e, ["--config", conf, "devices"])
    check(p.returncode == 0, "configuration file: %r" % p.stderr)
    os.makedirs(e.path("home", ".config", "ward"))
    shutil.copy(conf, e.path("home", ".config", "ward", "wardctl.conf"))
    p = wardctl(e, ["devices"])
    check(p.returncode == 0, "~/.config/ward/wardctl.conf: %r" % p.stderr)
    p = wardctl(e, ["devices"], {"WARD_URL": "https://localhost:1"})
    check(p.returncode == 1 and "localhost:1" in p.stderr, "WARD_URL did not win over the file")
    bad = e.write("bad.conf", "url = %s\nlimit = 5\n" % url)
    p = wardctl(e, ["--config", bad, "devices"])
    check(p.returncode == 2 and "bad.conf:2: unknown key 'limit'" in p.stderr, p.stderr)
    check(c.stop() == 0, "collector exit status")


def case_wardctl_units(e):
    c, ports = start_collector(e)
    url = "https://localhost:%s" % ports["api"].rsplit(":", 1)[1]
    crt, key = find_device_files(e)
    conf = e.write("a.conf", "collector = localhost:%s\nca = %s/ca.crt\ncert = %s\nkey = %s\n"
                   "state-dir = %s\nroot = %s\n" % (ports["device"].rsplit(":", 1)[1], e.pki,
                                                      crt, key, e.path("agent-state"),
                                                      e.a.fixture))
    a = e.start([e.a.agent, "run", "--config", conf], "agent.log")
    args = ["--pki", e.pki, "--url", url, "device", "dev1"]
    out = {}

    def shown():
        p = wardctl(e, args)
        out["p"] = p
        return p.returncode == 0 and "\u00b0C" in p.stdout

    wait_for(shown, 30, "a temperature in °C from wardctl device dev1 (%r)"
             % (out.get("p").stdout if out.get("p") else ""))
    rows = [ln for ln in out["p"].stdout.splitlines() if ln.startswith("temp:")]
    check(rows and all(re.search(r"\s-?\d+\.\d \u00b0C(\s|$)", ln) for ln in rows),
          "temperature rows: %r" % rows)
    fans = [ln for ln in out["p"].stdout.splitlines() if ln.startswith("fan:")]
    check(all(" RPM" in ln for ln in fans), "fan rows: %r" % fans)
    check(a.stop() == 0 and c.stop() == 0, "exit status")


def help_keys(text):
    """The long options of a --help text, without the dashes and the command-line-only ones."""
    keys = set(re.findall(r"^\s+--([a-z0-9-]+)", text, re.M))
    return keys - {"config", "check-config", "help", "version"}


def uncommented(e, name):
    """The example with every '#key = value' line whose value is not a placeholder enabled."""
    with open(os.path.join(e.a.examples, name)) as f:
        text = f.read()
    keys = set(re.findall(r"^#?([a-z0-9-]+) = ", text, re.M))
    out = re.sub(r"^#([a-z0-9-]+ = (?![A-Z]+$|/home|/etc/ward/rules)[^\n]*)$", r"\1", text,
                 flags=re.M)
    return keys, e.write(name, out)


def case_examples(e):
    keys, conf = uncommented(e, "collector.conf")
    want = help_keys(run([e.a.collector, "--help"]).stdout)
    check(keys == want, "collector.conf: missing %s, extra %s" % (sorted(want - keys),
                                                                   sorted(keys - want)))
    p = run([e.a.collector, "--config", conf, "--pki", e.pki, "--state", e.path("s"),
             "--check-config"])
    check(p.returncode == 0 and "configuration ok" in p.stdout, "collector.conf: %r" % p.stderr)
    keys, conf = uncommented(e, "agent.conf")
    want = help_keys(run([e.a.agent, "run", "--help"]).stdout)
    check(keys == want, "agent.conf: missing %s, extra %s" % (sorted(want - keys),
                                                              sorted(keys - want)))
    crt, key = find_device_files(e)
    rules = e.write("r.json", '{"rules": []}\n')
    p = run([e.a.agent, "run", "--config", conf, "--ca", os.path.join(e.pki, "ca.crt"), "--cert",
             crt, "--key", key, "--rules", rules, "--check-config"])
    check(p.returncode == 0 and "configuration ok" in p.stdout, "agent.conf: %r" % p.stderr)
    keys, conf = uncommented(e, "wardctl.conf")
    check(keys == {"url", "ca", "token-file", "pki", "timeout"}, "wardctl.conf keys %r" % keys)
    p = wardctl(e, ["--config", conf, "--url", "https://localhost:1", "--ca",
                    os.path.join(e.pki, "ca.crt"), "--token-file",
                    os.path.join(e.pki, "tokens", "alice.token"), "devices"])
    check(p.returncode == 1 and "localhost:1" in p.stderr, "wardctl.conf: %r" % p.stderr)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent")
    ap.add_argument("--collector")
    ap.add_argument("--wardctl")
    ap.add_argument("--examples")
    ap.add_argument("--units")
    ap.add_argument("--docs")
    ap.add_argument("--build")
    ap.add_argument("--build-debs")
    ap.add_argument("--pki-tool")
    ap.add_argument("--fixture")
    ap.add_argument("--work", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    a.work = os.path.join(a.work, a.case)
    e = None
    try:
        e = Env(a)
        CASES[a.case](e)
    except (Fail, subprocess.TimeoutExpired, OSError) as x:
        print("FAIL %s: %s" % (a.case, x))
        return 1
    finally:
        if e is not None:
            e.close()
    print("PASS %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
