#!/usr/bin/env python3
"""Command lines of ward-agent, wardctl and ward-pki.

usage: cli_test.py --version V --work DIR [--agent A] [--wardctl W] [--pki P]
                   [--collector C] CASE [-- EMULATOR...]

Cases:
  help_agent          every ward-agent subcommand answers --help and -h
  help_collector      ward-collector --help and -h (within 80 columns); --version
  help_wardctl        every wardctl command answers --help and -h; --version
  help_pki            every ward-pki command answers --help and -h without touching the
                      PKI directory (byte for byte); names starting with '-' are refused
  pki_reissue_revoke  a second `device ID` is refused without --force; with --force both
                      certificates are recorded and `revoke ID` puts both in the CRL

The subcommands are read from each program's own --help ("commands:" section), so a new
subcommand without help makes this test fail. Prints "PASS CASE" or "FAIL CASE: why".
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

MAX_COLUMNS = 80


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def run(argv, cwd=None, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL)


def commands_of(help_text):
    """The names listed under "commands:" in a program's --help (two-space indented)."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line.strip() == "commands:":
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z-]*)(\s|$)", line)
            if m:
                names.append(m.group(1))
            elif line.strip() == "" or not line.startswith(" "):
                inside = False
    return names


def check_usage(p, what):
    check(p.returncode == 0, "%s: exit %d, stderr %r" % (what, p.returncode, p.stderr.strip()))
    check(p.stdout.startswith("usage:"), "%s: output does not start with 'usage:': %r"
          % (what, p.stdout[:120]))
    check(p.stderr == "", "%s: wrote to stderr: %r" % (what, p.stderr.strip()))
    for n, line in enumerate(p.stdout.splitlines(), 1):
        check(len(line) <= MAX_COLUMNS, "%s: line %d has %d columns: %r"
              % (what, n, len(line), line))


def snapshot(top):
    """Every file and directory under top: path -> (mode, bytes)."""
    out = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            data = None
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
            out[os.path.relpath(path, top)] = (st.st_mode, data)
    return out


def check_helps(prog_argv, what, cwd, expect_min, unchanged):
    """prog --help, then every subcommand with --help and -h (also after other arguments)."""
    top = run(prog_argv + ["--help"], cwd=cwd)
    check_usage(top, "%s --help" % what)
    names = commands_of(top.stdout)
    check(len(names) >= expect_min, "%s --help lists only %r" % (what, names))
    for name in names:
        for argv in ([name, "--help"], [name, "-h"], [name, "x", "--help"]):
            check_usage(run(prog_argv + argv, cwd=cwd), "%s %s" % (what, " ".join(argv)))
            unchanged("%s %s" % (what, " ".join(argv)))
    return names


def empty_dir_guard(d):
    def unchanged(what):
        check(os.listdir(d) == [], "%s left files behind: %r" % (what, os.listdir(d)))
    return unchanged


def case_help_agent(a, work):
    cwd = os.path.join(work, "cwd")
    os.makedirs(cwd)
    agent = a.emulator + [a.agent]
    names = check_helps(agent, "ward-agent", cwd, 6, empty_dir_guard(cwd))
    for want in ("run", "replay", "selftest", "version", "smart-decode", "probe"):
        check(want in names, "ward-agent --help does not list %s: %r" % (want, names))
    p = run(agent + ["--version"], cwd=cwd)
    check(p.returncode == 0 and a.version in p.stdout, "ward-agent --version: %r" % p.stdout)
    # The options are still checked: a real usage error is still exit 2 on stderr.
    p = run(agent + ["run", "--no-such-option"], cwd=cwd)
    check(p.returncode == 2 and "usage: ward-agent run" in p.stderr, "run usage error: %r"
          % p.stderr)


def case_help_wardctl(a, work):
    cwd = os.path.join(work, "cwd")
    os.makedirs(cwd)
    env = dict(os.environ, WARD_PKI_DIR=os.path.join(work, "no-pki"))
    names = check_helps([a.wardctl], "wardctl", cwd, 5, empty_dir_guard(cwd))
    check("device" in names and "watch" in names, "wardctl --help lists %r" % names)
    p = run([a.wardctl, "--version"], cwd=cwd, env=env)
    check(p.returncode == 0 and p.stdout == "wardctl %s\n" % a.version,
          "wardctl --version: %r" % p.stdout)
    p = run([a.wardctl, "device"], cwd=cwd, env=env)
    check(p.returncode == 2 and "needs an ID" in p.stderr, "device without an ID: %r" % p.stderr)


def pki_guard(pki, cwd):
    before = snapshot(pki)

    def unchanged(what):
        after = snapshot(pki)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        check(not changed, "%s changed the PKI directory: %r" % (what, changed))
        check(os.listdir(cwd) == [], "%s left files behind: %r" % (what, os.listdir(cwd)))
    return unchanged


def case_help_pki(a, work):
    cwd = os.path.join(work, "cwd")
    os.makedirs(cwd)
    pki = os.path.join(work, "pki")
    p = run([a.pki, "--dir", pki, "init"])
    check(p.returncode == 0, "init: %s" % p.stderr)
    run([a.pki, "--dir", pki, "device", "dev-a"])
    unchanged = pki_guard(pki, cwd)
    names = check_helps([a.pki, "--dir", pki], "ward-pki", cwd, 8, unchanged)
    for want in ("init", "collector", "device", "revoke", "crl", "token", "check", "list"):
        check(want in names, "ward-pki --help does not list %s: %r" % (want, names))
    # Help for init must not create the directory it would initialise.
    fresh = os.path.join(work, "fresh")
    check_usage(run([a.pki, "--dir", fresh, "init", "--help"], cwd=cwd), "init --help")
    check(not os.path.exists(fresh), "init --help created %s" % fresh)
    # Names starting with '-' are not names.
    for argv in (["token", "-x"], ["token", "--name"], ["device", "-x"], ["revoke", "-x"]):
        p = run([a.pki, "--dir", pki] + argv, cwd=cwd)
        check(p.returncode != 0 and p.stderr.count("\n") == 1,
              "%s accepted or not one line: %r" % (argv, p.stderr))
        unchanged(" ".join(argv))
    # Bad numbers fail before anything is written.
    p = run([a.pki, "--dir", pki, "device", "dev-b", "--days", "abc"], cwd=cwd)
    check(p.returncode != 0 and "--days" in p.stderr, "--days abc: %r" % p.stderr)
    unchanged("device --days abc")
    p = run([a.pki, "--version"], cwd=cwd)
    check(p.returncode == 0 and p.stdout == "ward-pki %s\n" % a.version,
          "ward-pki --version: %r (project version %s)" % (p.stdout, a.version))


def case_help_collector(a, work):
    cwd = tempfile.mkdtemp(dir=work)
    unchanged = empty_dir_guard(cwd)
    for argv in (["--help"], ["-h"]):
        p = run([a.collector] + argv, cwd=cwd)
        check_usage(p, "ward-collector %s" % argv[0])
        unchanged("ward-collector %s" % argv[0])
        check(p.stdout.count("\n  --") >= 40, "ward-collector %s lists few options: %r"
              % (argv[0], p.stdout[:200]))
    p = run([a.collector, "--version"], cwd=cwd)
    check(p.returncode == 0 and p.stdout == "ward-collector %s\n" % a.version,
          "ward-collector --version: %r (project version %s)" % (p.stdout, a.version))


def verify(a, pki, crt):
    return run(["openssl", "verify", "-CAfile", os.path.join(pki, "ca.crt"), "-crl_check",
                "-CRLfile", os.path.join(pki, "crl.pem"), crt])


def case_pki_reissue_revoke(a, work):
    pki = os.path.join(work, "pki")
    keep = os.path.join(work, "keep")
    os.makedirs(keep)

    def pki_run(*argv):
        return run([a.pki, "--dir", pki] + list(argv))

    check(pki_run("init").returncode == 0, "init failed")
    check(pki_run("device", "host1").returncode == 0, "first device failed")
    crt = os.path.join(pki, "devices", "host1.crt")
    first = os.path.join(keep, "first.crt")
    shutil.copy(crt, first)
    with open(crt, "rb") as f:
        first_bytes = f.read()
    # A second issue without --force is refused, says what to do, and changes nothing.
    p = pki_run("device", "host1")
    check(p.returncode != 0 and "--force" in p.stderr and p.stderr.count("\n") == 1,
          "re-issue without --force: rc %d, %r" % (p.returncode, p.stderr))
    with open(crt, "rb") as f:
        check(f.read() == first_bytes, "a refused re-issue replaced the certificate")
    # With --force: a new certificate, and the old one is still valid (renewal, no outage).
    p = pki_run("device", "host1", "--force")
    check(p.returncode == 0, "device --force: %s" % p.stderr)
    second = os.path.join(keep, "second.crt")
    shutil.copy(crt, second)
    with open(crt, "rb") as f:
        check(f.read() != first_bytes, "--force did not issue a new certificate")
    check(verify(a, pki, first).returncode == 0, "the first certificate stopped verifying")
    check(pki_run("device", "host2").returncode == 0, "device host2 failed")
    # revoke host1: both of host1's certificates are in the CRL, host2's is not.
    p = pki_run("revoke", "host1")
    check(p.returncode == 0, "revoke: %s" % p.stderr)
    for name, path in (("first", first), ("second", second)):
        v = verify(a, pki, path)
        check(v.returncode != 0 and "revoked" in v.stdout + v.stderr,
              "the %s certificate of host1 still verifies: %r" % (name, v.stdout + v.stderr))
    v = verify(a, pki, os.path.join(pki, "devices", "host2.crt"))
    check(v.returncode == 0, "host2 was revoked too: %r" % (v.stdout + v.stderr))
    crl = run(["openssl", "crl", "-in", os.path.join(pki, "crl.pem"), "-noout", "-text"]).stdout
    for path in (first, second):
        serial = run(["openssl", "x509", "-in", path, "-noout", "-serial"]).stdout
        serial = serial.strip().split("=", 1)[1].upper()
        check(serial in crl.upper(), "serial %s is not in the CRL" % serial)
    # A second revoke is harmless; --serial of another device's certificate is refused.
    check(pki_run("revoke", "host1").returncode == 0, "second revoke failed")
    h2 = run(["openssl", "x509", "-in", os.path.join(pki, "devices", "host2.crt"), "-noout",
              "-serial"]).stdout.strip().split("=", 1)[1]
    p = pki_run("revoke", "host1", "--serial", h2)
    check(p.returncode != 0 and "not issued" in p.stderr, "foreign --serial: %r" % p.stderr)
    check(verify(a, pki, os.path.join(pki, "devices", "host2.crt")).returncode == 0,
          "a refused --serial revoked host2")
    p = pki_run("revoke", "host2", "--serial", h2)
    check(p.returncode == 0, "revoke --serial: %s" % p.stderr)
    check(verify(a, pki, os.path.join(pki, "devices", "host2.crt")).returncode != 0,
          "revoke --serial did not revoke host2")
    p = pki_run("revoke", "nosuch")
    check(p.returncode != 0 and "nosuch" in p.stderr, "revoke of an unknown device: %r"
          % p.stderr)


CASES = {
    "help_agent": case_help_agent,
    "help_collector": case_help_collector,
    "help_wardctl": case_help_wardctl,
    "help_pki": case_help_pki,
    "pki_reissue_revoke": case_pki_reissue_revoke,
}


def main():
    argv = sys.argv[1:]
    emulator = []
    if "--" in argv:
        emulator = [x for x in argv[argv.index("--") + 1:] if x]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--agent")
    ap.add_argument("--wardctl")
    ap.add_argument("--pki")
    ap.add_argument("--collector")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args(argv)
    a.emulator = emulator
    os.makedirs(a.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix=a.case + ".", dir=a.work)
    try:
        CASES[a.case](a, work)
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.case, e))
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
