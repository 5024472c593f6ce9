#!/usr/bin/env python3
"""Runs cppcheck over ward's own C files listed in a build's compile_commands.json (each file
once; third-party .cache/ and generated build/ files left out), with the checked-in
suppressions (tests/repo/cppcheck-suppressions.txt, each with its reason) and inline
suppressions (// cppcheck-suppress <id> with a reason beside it).
Prints each finding, then "cppcheck: N files, F findings, S s"; exit 1 on any finding.

Usage: cppcheck.py SOURCE_DIR BUILD_DIR [-j JOBS]"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from compile_db import arg_parser, own_entries

FINDING = re.compile(r"^(.+?):(\d+):(\d+): (\w+): (.*) \[(\w+)\]$")


def main():
    ap = arg_parser()
    a = ap.parse_args()
    exe = shutil.which("cppcheck")
    if exe is None:
        print("cppcheck: not installed; run tools/bootstrap")
        return 1
    src, pairs = own_entries(a.source, a.build, "cppcheck")
    own = [e for _, e in pairs]
    work = os.path.join(a.build, "cppcheck")
    os.makedirs(work, exist_ok=True)
    filtered = os.path.join(work, "compile_commands.json")
    with open(filtered, "w", encoding="utf-8") as f:
        json.dump(own, f)
    cmd = [exe, f"--project={filtered}", f"-j{a.j}", "--quiet", "--inline-suppr",
           "--enable=warning,portability,performance", "--std=c11", "--library=posix",
           f"--suppressions-list={os.path.join(src, 'tests/repo/cppcheck-suppressions.txt')}",
           f"--cppcheck-build-dir={work}",
           "--template={file}:{line}:{column}: {severity}: {message} [{id}]",
           # third-party and system headers are not ward's to fix
           "--suppress=*:*/.cache/*", "--suppress=*:/usr/*"]
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=src)
    findings = 0
    for line in (p.stdout + p.stderr).splitlines():
        m = FINDING.match(line)
        if m:
            findings += 1
            print(f"{os.path.relpath(os.path.realpath(m.group(1)), src)}:{m.group(2)}:"
                  f"{m.group(3)}: {m.group(4)}: {m.group(5)} [{m.group(6)}]")
        elif line.strip():
            print(line)
    print(f"cppcheck: {len(own)} files, {findings} findings, {time.monotonic() - start:.0f} s")
    return 1 if findings or p.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
