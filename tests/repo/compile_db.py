"""ward's own C files in a build's compile_commands.json, for the static analysis checks
(clang-tidy.py, cppcheck.py): each file once (with its first entry), third-party sources
(.cache/) and generated files (build/) left out."""
import argparse
import json
import os
import re


def own_entries(source, build, tool, pattern=""):
    """@return (source dir, [(path relative to it, entry)]); raises SystemExit with one line
    naming the problem when the database is missing or lists none of ward's files."""
    src = os.path.realpath(source)
    db = os.path.join(build, "compile_commands.json")
    try:
        with open(db, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{tool}: cannot read {db}: {e}") from e
    own, seen = [], set()
    for e in entries:
        rel = os.path.relpath(os.path.realpath(os.path.join(e["directory"], e["file"])), src)
        if rel.startswith(("..", ".cache/", "build/")) or not rel.endswith(".c") or rel in seen:
            continue
        if re.search(pattern, rel):
            seen.add(rel)
            own.append((rel, e))
    if not own:
        raise SystemExit(f"{tool}: no files of {src} in {db}")
    return src, own


def arg_parser():
    """The arguments both checks take: SOURCE_DIR BUILD_DIR [-j JOBS]."""
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("build")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1)
    return ap
