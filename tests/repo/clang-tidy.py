#!/usr/bin/env python3
"""Runs clang-tidy (the checked-in .clang-tidy) over ward's own C files listed in a build's
compile_commands.json: every file once (a file compiled into several targets is checked with
its first entry), third-party sources (.cache/) and generated files (build/) left out.
Prints each finding, then "clang-tidy: N files, F findings, S s"; exit 1 on any finding or
failure to run.

Usage: clang-tidy.py SOURCE_DIR BUILD_DIR [-j JOBS] [--filter REGEX]"""
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from compile_db import arg_parser, own_entries

FINDING = re.compile(r"^(\S+):(\d+):(\d+): (warning|error): (.*) \[([\w.,-]+)\]$")


def main():
    ap = arg_parser()
    # ward's product code; tests/ and tools/bench/ are left out (test code hands fakes
    # deliberately odd values, and the analyzer's findings there are about the fakes)
    ap.add_argument("--filter", default=r"^(firmware|hal|boards|tools/(?!bench/))")
    a = ap.parse_args()
    tidy = shutil.which("clang-tidy-14") or shutil.which("clang-tidy")
    if tidy is None:
        print("clang-tidy: not installed; run tools/bootstrap")
        return 1
    src, own = own_entries(a.source, a.build, "clang-tidy", a.filter)
    files = [rel for rel, _ in own]

    def run(rel):
        p = subprocess.run([tidy, "-p", a.build, "--quiet", os.path.join(src, rel)],
                           capture_output=True, text=True, check=False)
        return rel, p.returncode, p.stdout + p.stderr

    start = time.monotonic()
    seen = set()
    failed = []
    with ThreadPoolExecutor(max_workers=a.j) as pool:
        for rel, rc, out in pool.map(run, files):
            found = False
            for line in out.splitlines():
                m = FINDING.match(line)
                if m:
                    found = True
                    key = (os.path.realpath(m.group(1)), m.group(2), m.group(3), m.group(6))
                    if key not in seen:  # a header's finding shows up once per includer
                        seen.add(key)
                        print(f"{os.path.relpath(key[0], src)}:{m.group(2)}:{m.group(3)}: "
                              f"{m.group(5)} [{m.group(6).split(',')[0]}]")
            if rc != 0 and not found:
                failed.append(rel)
                print(f"clang-tidy: {rel}: exit {rc}\n{out.strip()[-2000:]}")
    print(f"clang-tidy: {len(files)} files, {len(seen)} findings, "
          f"{len(failed)} failed to run, {time.monotonic() - start:.0f} s")
    return 1 if seen or failed else 0


if __name__ == "__main__":
    sys.exit(main())
