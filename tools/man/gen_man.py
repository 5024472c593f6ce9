#!/usr/bin/env python3
"""Man pages (mdoc) and bash completion of ward's programs, generated from their --help.

usage: gen_man.py --agent A --collector C --wardctl W --pki P --version V --out DIR

The options and commands come from each program's own --help (and each command's --help), so
the man pages and the completion cannot drift from what the programs accept; the prose around
them (NAME, DESCRIPTION, FILES, EXAMPLES) is in PAGES below. Writes DIR/man/ward-agent.8,
ward-collector.8, wardctl.1, ward-pki.1, ward.conf.5 and DIR/bash-completion/<program>.
"""
import argparse
import os
import re
import subprocess
import textwrap

DATE = "December 6, 2026"

PAGES = {
    "ward-agent": {
        "section": 8,
        "nd": "health agent: sensors, SMART and NVMe health, reported to a collector",
        "desc": [
            "ward-agent samples the machine's sensors (hwmon temperatures and fans, CPU and "
            "memory load, file system fill, NIC counters, SMART and NVMe health), turns "
            "readings into health states with its rules, keeps events in a store-and-forward "
            "journal, and reports them to a ward-collector over HTTPS with mutual TLS.",
            "The run command is the service; the others inspect the machine and the rules. "
            "Signals to run: SIGTERM and SIGINT stop cleanly (journal synced); SIGUSR1 prints "
            "a statistics line; SIGHUP reads the configuration file and the rules again (the "
            "rules, their intervals and thresholds, and the log level change at once; a file "
            "that does not load keeps the running configuration).",
            "Log lines carry a UTC timestamp and a level; when standard error is the journal "
            "(JOURNAL_STREAM) they carry a syslog level prefix instead.",
        ],
        "files": [("/etc/ward/agent.conf", "the configuration file of run (ward.conf(5))"),
                  ("/var/lib/ward-agent", "the journal (state-dir)"),
                  ("/usr/share/doc/ward/examples/agent.conf", "an annotated example")],
        "see": [("ward.conf", 5), ("ward-collector", 8), ("ward-pki", 1), ("wardctl", 1)],
        "example": "ward-agent run --config /etc/ward/agent.conf --check-config",
    },
    "ward-collector": {
        "section": 8,
        "nd": "receives ward agents' reports and serves the operator API",
        "desc": [
            "ward-collector accepts ward-agent connections over HTTPS with mutual TLS (device "
            "certificates signed by the ward CA, checked against its CRL), stores events and "
            "health snapshots in SQLite, tracks which devices fell silent, and answers "
            "operators (wardctl, /metrics) on a second port with bearer tokens.",
            "One collector runs per state directory (STATE/lock); STATE/ports names the bound "
            "addresses while it runs and is removed on a clean stop. SIGTERM and SIGINT stop "
            "after answering what is committed; SIGHUP reads the configuration file again "
            "(the log level changes at once, other options are named as needing a restart), "
            "then the CRL and the operator tokens.",
        ],
        "files": [("/etc/ward/collector.conf", "the configuration file (ward.conf(5))"),
                  ("/var/lib/ward-collector", "the state directory: ward.db, ticket-keys, "
                   "ports, lock"),
                  ("/usr/share/doc/ward/examples/collector.conf", "an annotated example")],
        "see": [("ward.conf", 5), ("ward-agent", 8), ("ward-pki", 1), ("wardctl", 1)],
        "example": "ward-collector --config /etc/ward/collector.conf --check-config",
    },
    "wardctl": {
        "section": 1,
        "nd": "the operator's view of a ward fleet",
        "desc": [
            "wardctl asks a ward-collector's operator API for devices, their health and "
            "events, over TLS with the collector's certificate checked against the ward CA "
            "and a bearer token. Tables show values in their unit; --json prints the "
            "collector's documents unchanged.",
            "Settings come from the command line, then the environment (WARD_URL, WARD_TOKEN "
            "holding the token itself, WARD_CA, WARD_PKI_DIR), then the configuration file, "
            "then the PKI directory. With several tokens and none chosen, wardctl names them.",
        ],
        "files": [("~/.config/ward/wardctl.conf", "the user's configuration file"),
                  ("/etc/ward/wardctl.conf", "the system's, when the user has none")],
        "see": [("ward.conf", 5), ("ward-collector", 8), ("ward-pki", 1)],
        "example": "WARD_URL=https://collector.example.net:8444 wardctl devices",
    },
    "ward-pki": {
        "section": 1,
        "nd": "certificates and tokens of a ward deployment",
        "desc": [
            "ward-pki keeps a small certificate authority for ward in a directory: the CA, "
            "the collector's server certificate, one client certificate per device, the CRL "
            "and the operators' bearer tokens. It refuses to re-issue a device without "
            "--force, and revoke revokes every certificate of a device.",
        ],
        "files": [("./var/pki", "the default directory (--dir, WARD_PKI_DIR)")],
        "see": [("ward-collector", 8), ("ward-agent", 8), ("wardctl", 1)],
        "example": "ward-pki --dir /etc/ward/pki device host1",
    },
}

ARG = r"[A-Z][A-Z0-9:._|\[\]-]*"
OPT_RE = re.compile(r"^ {2,4}(-[-\w]+(?:, --[-\w]+)?)(?: (%s(?: %s)*))?(?:\s{2,}(.*))?$" % (ARG, ARG))
CMD_RE = re.compile(r"^  ([a-z][a-z-]*)(?: ([A-Z][A-Z ]*?))?\s{2,}(.*)$|^  ([a-z][a-z-]*) (.*)$")


def helptext(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return p.stdout


def parse_options(text):
    """[(flag, arg, description)] of a --help text; continuation lines join the last one."""
    out = []
    for line in text.splitlines():
        m = OPT_RE.match(line)
        if m:
            out.append([m.group(1), m.group(2), (m.group(3) or "").strip()])
        elif out and re.match(r"^\s{6,}\S", line) and not line.strip().startswith("-"):
            out[-1][2] = (out[-1][2] + " " + line.strip()).strip()
        elif line.strip() == "" or not line.startswith(" "):
            pass
    return out


def parse_commands(text):
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == "commands:":
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z-]*)(?: ([A-Z][A-Z]*))?\s+(.*)$", line)
            if m:
                names.append((m.group(1), m.group(2), m.group(3).strip()))
            elif line.strip() == "" or not line.startswith(" "):
                inside = False
    return names


def esc(text):
    """Text for an mdoc line: backslashes escaped, no line starting with a dot or quote."""
    text = text.replace("\\", "\\e")
    lines = []
    for sentence in re.split(r"(?<=[.?!]) +(?=\S)", text):  # mdoc: a sentence per line
        lines += textwrap.wrap(sentence, 78, break_long_words=False, break_on_hyphens=False)
    return "\n".join(("\\&" + ln) if ln[:1] in (".", "'") else ln for ln in lines)


def mdoc_option(flag, arg, desc):
    lines = []
    flags = [f.strip() for f in flag.split(",")]
    parts = " , ".join("Fl " + f[1:] for f in flags)
    lines.append(".It " + parts + (" Ar " + arg if arg else ""))
    lines.append(esc(desc) if desc else "")
    return [ln for ln in lines if ln != ""]


def page(name, info, version, usage_lines, commands, options, cmd_options):
    sec = info["section"]
    out = [".Dd " + DATE, ".Dt %s %d" % (name.upper(), sec), ".Os",
           ".Sh NAME", ".Nm " + name, ".Nd " + info["nd"], ".Sh SYNOPSIS"]
    for u in usage_lines:
        out += [".Nm", ".Li " + esc(u)] if u else []
    out.append(".Sh DESCRIPTION")
    first = True
    for para in info["desc"]:
        if not first:
            out.append(".Pp")
        out.append(esc(para))
        first = False
    if commands:
        out += [".Ss Commands", ".Bl -tag -width Ds"]
        for cname, carg, cdesc in commands:
            out.append(".It Cm " + cname + (" Ar " + carg if carg else ""))
            out.append(esc(cdesc))
            if cmd_options.get(cname):
                out += [".Bl -tag -width Ds"]
                for o in cmd_options[cname]:
                    out += mdoc_option(*o)
                out.append(".El")
        out.append(".El")
    if options:
        out += [".Ss Options", ".Bl -tag -width Ds"]
        for o in options:
            out += mdoc_option(*o)
        out.append(".El")
    out += [".Sh FILES", ".Bl -tag -width Ds"]
    for path, what in info["files"]:
        out += [".It Pa " + path, esc(what)]
    out += [".El", ".Sh EXIT STATUS", "0 on success, 1 on a failure, 2 on a usage error.",
            ".Sh EXAMPLES", ".Dl " + esc(info["example"]), ".Sh SEE ALSO"]
    see = sorted(info["see"], key=lambda x: (x[1], x[0]))
    for i, (n, s) in enumerate(see):
        out.append(".Xr %s %d%s" % (n, s, " ," if i + 1 < len(see) else ""))
    return "\n".join(out) + "\n"


def conf_page(version, keys):
    out = [".Dd " + DATE, ".Dt WARD.CONF 5", ".Os", ".Sh NAME",
           ".Nm ward.conf", ".Nd configuration files of ward-agent, ward-collector and wardctl",
           ".Sh DESCRIPTION",
           esc("Each program reads one file of settings, one per line:"),
           ".Dl key = value",
           ".Pp",
           esc("A key is a long option of the program without its dashes. Blank lines and "
               "lines whose first non-blank character is # are ignored. The value runs to the "
               "end of the line, blanks around it dropped; double quotes keep them. A flag "
               "takes true or false (also yes, no, on, off, 1, 0). Options on the command line "
               "win over the file. An unknown key, a key given twice, a bad value or a line "
               "that is not a setting stop the program with one line naming the file and the "
               "line. --config, --check-config, --help and --version are command-line only."),
           ".Pp",
           esc("--check-config loads the configuration, checks the files it names and exits. "
               "SIGHUP reads the file again (ward-agent(8) and ward-collector(8) say what "
               "changes at once).")]
    for prog, path, opts in keys:
        out += [".Ss " + prog, "Read from", ".Pa " + path, "(or --config FILE).",
                ".Bl -tag -width Ds"]
        for flag, arg, desc in opts:
            key = flag.split(",")[-1].strip().lstrip("-")
            out.append(".It Cm " + key + (" Ar " + arg if arg else " Ar true|false"))
            out.append(esc(desc) if desc else "")
        out.append(".El")
    out += [".Sh FILES", ".Bl -tag -width Ds",
            ".It Pa /usr/share/doc/ward/examples/", "annotated examples of the three files",
            ".El", ".Sh SEE ALSO", ".Xr wardctl 1 ,", ".Xr ward-agent 8 ,",
            ".Xr ward-collector 8"]
    return "\n".join(ln for ln in out if ln != "") + "\n"


CONF_ONLY = {"--config", "--check-config", "--help", "-h, --help", "--version"}


def bash_completion(name, commands, options, cmd_options):
    cmds = " ".join(c[0] for c in commands)
    glob_opts = " ".join(f.split(",")[-1].strip() for f, _, _ in options)
    lines = ["# bash completion for %s (generated by tools/man/gen_man.py from its --help)"
             % name, "_%s()" % name.replace("-", "_"), "{",
             "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i",
             "    for ((i = 1; i < COMP_CWORD; i++)); do",
             "        case \" %s \" in *\" ${COMP_WORDS[i]} \"*) cmd=${COMP_WORDS[i]}; break;; esac"
             % cmds if cmds else "        :",
             "    done",
             "    case $prev in",
             "        --config|--ca|--cert|--key|--rules|--scenario|--token-file|--crl|--tokens|--db)",
             "            COMPREPLY=($(compgen -f -- \"$cur\")); return;;",
             "        --state|--state-dir|--root|--pki|--dir)",
             "            COMPREPLY=($(compgen -d -- \"$cur\")); return;;",
             "        --log-level) COMPREPLY=($(compgen -W 'error warn info debug' -- \"$cur\")); return;;",
             "    esac",
             "    local words=\"%s\"" % glob_opts,
             "    case $cmd in"]
    for cname, _, _ in commands:
        opts = " ".join(f.split(",")[-1].strip() for f, _, _ in cmd_options.get(cname, []))
        lines.append("        %s) words=\"%s --help\";;" % (cname, opts))
    lines += ["        *) words=\"$words %s\";;" % cmds, "    esac",
              "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))", "}",
              "complete -F _%s %s" % (name.replace("-", "_"), name)]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    for p in ("agent", "collector", "wardctl", "pki"):
        ap.add_argument("--" + p, required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    progs = {"ward-agent": [a.agent], "ward-collector": [a.collector], "wardctl": [a.wardctl],
             "ward-pki": [a.pki]}
    os.makedirs(os.path.join(a.out, "man"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "bash-completion"), exist_ok=True)
    conf_keys = []
    for name, argv in progs.items():
        text = helptext(argv + ["--help"])
        usage = [ln.split(None, 1)[1] if len(ln.split(None, 1)) > 1 else ""
                 for ln in text.splitlines() if re.match(r"^(usage:)?\s+%s\b|^usage:" % name, ln)]
        usage = [re.sub(r"^%s\s*" % re.escape(name), "", re.sub(r"^usage:\s*", "", u)).strip()
                 for u in usage]
        commands = parse_commands(text)
        options = parse_options(text)
        cmd_options = {c: [o for o in parse_options(helptext(argv + [c, "--help"]))
                           if o[0] not in ("-h, --help", "--help")]
                       for c, _, _ in commands}
        info = PAGES[name]
        with open(os.path.join(a.out, "man", "%s.%d" % (name, info["section"])), "w") as f:
            f.write(page(name, info, a.version, usage, commands, options, cmd_options))
        with open(os.path.join(a.out, "bash-completion", name), "w") as f:
            f.write(bash_completion(name, commands, parse_options(text), cmd_options))
        if name == "ward-agent":
            conf_keys.append(("ward-agent run", "/etc/ward/agent.conf",
                              [o for o in cmd_options["run"] if o[0] not in CONF_ONLY]))
        elif name == "ward-collector":
            conf_keys.append((name, "/etc/ward/collector.conf",
                              [o for o in options if o[0] not in CONF_ONLY]))
        elif name == "wardctl":
            conf_keys.append((name, "~/.config/ward/wardctl.conf",
                              [o for o in options if o[0] in ("--url", "--ca", "--token-file",
                                                              "--pki", "--timeout")]))
    with open(os.path.join(a.out, "man", "ward.conf.5"), "w") as f:
        f.write(conf_page(a.version, conf_keys))


if __name__ == "__main__":
    main()
