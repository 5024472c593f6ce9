#!/usr/bin/python3
"""Check ward's tier rules (docs/architecture.md, "Tiers: what may include what").

Reads every #include in firmware/, hal/, boards/, tools/ and tests/ and every
target_link_libraries() in the CMake files, and prints one line per include or link that
goes the wrong way. Rules are written by directory prefix, so files that move between
folders of the same tier keep their rules.

Usage: tiers.py <source tree>          exit 0 when clean, 1 with a line per violation
"""
import os
import re
import sys

SKIP_DIRS = {".git", ".cache", "build"}
SOURCE_EXT = (".c", ".h")

# Tiers, most specific prefix first. A path belongs to the first tier whose prefix it has.
TIERS = [
    ("base", ("firmware/base/",)),
    ("wire", ("firmware/wire/",)),
    ("app", ("firmware/apps/", "firmware/ports/")),
    ("core", ("firmware/",)),
    ("hal", ("hal/",)),
    ("board", ("boards/",)),
    ("tools", ("tools/",)),
    ("tests", ("tests/",)),
]


def tier_of(path):
    for name, prefixes in TIERS:
        if path.startswith(prefixes):
            return name
    return "other"


def hal_public(path):
    """A HAL interface or a backend's public header: hal/include/ward/hal/* or
    hal/<backend>/include/ward/hal/*."""
    return re.match(r"hal/([^/]+/)?include/ward/hal/[^/]+\.h$", path) is not None


def hal_unit(path):
    """hal/<backend>/ (or hal/include, hal/common): the folder a HAL file belongs to."""
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def private_src(path):
    """Implementation files of a library: anything under a src/ folder, or a backend's
    folder outside its include/ (hal/linux/disk/disk_internal.h)."""
    if "/src/" in path:
        return True
    return path.startswith("hal/") and not hal_public(path) and "/include/" not in path


def include_rule(src, dst):
    """None when src may include dst, else why not."""
    s, d = tier_of(src), tier_of(dst)
    if s == "base":
        return None if d == "base" else "the base tier includes nothing of ward's but itself"
    if s == "wire":
        if d in ("base", "wire") or (d == "hal" and hal_public(dst)):
            return None
        return "the wire codec includes only the base tier, HAL interfaces and itself"
    if s == "hal":
        if d == "base" or (d == "hal" and (hal_public(dst) or hal_unit(dst) == hal_unit(src))):
            return None
        if d == "hal":
            return "hal/ includes another backend's private file; use its ward/hal/ header"
        return "hal/ includes only ward/hal/* interfaces and the base tier"
    if s == "core":
        if d in ("base", "wire", "core"):
            return None
        if d == "hal" and hal_public(dst) and dst.startswith("hal/include/"):
            return None
        if d == "hal" and hal_public(dst):
            return "the portable core includes a HAL backend's header; only hal/include/ward/hal/*"
        return "the portable core includes base, wire, HAL interfaces and itself only"
    if s == "app":
        if d in ("base", "wire", "core", "app") or (d == "hal" and hal_public(dst)):
            return None
        return "apps and ports use the tiers below them (firmware, HAL headers, base), not " + d
    if s == "board":
        return "boards/ never includes tools/" if d == "tools" else None
    if s == "tools":
        if d in ("board", "tests"):
            return "tools/ never includes " + ("a board's files" if d == "board" else "tests/")
        if d in ("core", "wire", "app", "hal") and private_src(dst):
            return "tools/ includes a private implementation file; use a public header"
        return None
    return None


def walk(root, top):
    base = os.path.join(root, top)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for f in sorted(filenames):
            yield os.path.relpath(os.path.join(dirpath, f), root)


INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)


class Resolver:
    """Finds the repository file an #include names: the including file's folder (quoted
    form), then every include/ folder of firmware/ and hal/, then a unique file name."""

    def __init__(self, root, headers):
        self.root = root
        self.headers = set(headers)
        self.roots = sorted({h[: h.index("/include/") + len("/include/")]
                             for h in headers if "/include/" in h
                             and h.startswith(("firmware/", "hal/"))})
        self.by_name = {}
        for h in headers:
            self.by_name.setdefault(os.path.basename(h), []).append(h)

    def resolve(self, src, form, name):
        if form == '"':
            p = os.path.normpath(os.path.join(os.path.dirname(src), name))
            if p in self.headers:
                return p
        for r in self.roots:
            if r + name in self.headers:
                return r + name
        if "/" not in name and len(self.by_name.get(name, [])) == 1:
            return self.by_name[name][0]
        return None


def check_includes(root, exceptions):
    files = [p for top in ("firmware", "hal", "boards", "tools", "tests")
             if os.path.isdir(os.path.join(root, top)) for p in walk(root, top)
             if p.endswith(SOURCE_EXT)]
    res = Resolver(root, [p for p in files if p.endswith(".h")])
    bad = []
    for src in files:
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE_RE.finditer(text):
            form, name = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            if tier_of(src) == "tests" and "../" in name:
                bad.append(f"{src}:{line}: includes \"{name}\": tests reach other trees' "
                           "headers through a CMake target's include dirs, not ../ paths")
                continue
            dst = res.resolve(src, form, name)
            if dst is None:
                continue  # system, dependency (cJSON, mbedTLS, lwIP) or generated header
            why = include_rule(src, dst)
            if why and (src, dst) not in exceptions:
                bad.append(f"{src}:{line}: includes {name} ({dst}): {why}")
            exceptions.discard((src, dst))
    return bad


# --- the CMake link graph ---------------------------------------------------------------

CALL_RE = re.compile(r"\b(add_library|add_executable|target_link_libraries|"
                     r"target_include_directories)\s*\(([^)]*)\)", re.S)
SRCDIR_RE = re.compile(r"\$\{(?:CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR|ward_SOURCE_DIR)\}/([\w./-]+)")
KEYWORDS = {"PUBLIC", "PRIVATE", "INTERFACE", "STATIC", "SHARED", "OBJECT", "ALIAS",
            "IMPORTED", "GLOBAL", "EXCLUDE_FROM_ALL", "LINK_PUBLIC", "LINK_PRIVATE"}


def cmake_calls(root):
    for top in ("CMakeLists.txt", "firmware", "hal", "boards", "tools", "tests"):
        if not os.path.exists(os.path.join(root, top)):
            continue
        paths = [top] if top.endswith(".txt") else walk(root, top)
        for p in paths:
            if not (p.endswith("CMakeLists.txt") or p.endswith(".cmake")):
                continue
            with open(os.path.join(root, p), encoding="utf-8") as f:
                text = re.sub(r"#[^\n]*", "", f.read())
            for m in CALL_RE.finditer(text):
                args = m.group(2).split()
                if m.group(1) == "target_include_directories":
                    # ${CMAKE_CURRENT_SOURCE_DIR} is the CMake file's own folder
                    here = os.path.dirname(p)
                    args = [a.replace("${CMAKE_CURRENT_SOURCE_DIR}", "${CMAKE_SOURCE_DIR}/" + here
                                      if here else "${CMAKE_SOURCE_DIR}") for a in args]
                yield p, m.group(1), args


def include_dir_rule(cmake_file, d):
    """An include directory a CMake file adds is judged as a header inside it would be."""
    if tier_of(cmake_file) == tier_of(d + "/") and tier_of(d + "/") != "hal":
        return None
    if re.match(r"hal/([^/]+/)?include$", d):
        return include_rule(cmake_file, d + "/ward/hal/x.h")
    if tier_of(cmake_file) == "hal" and d.startswith("hal/"):
        return None if hal_unit(d + "/x") == hal_unit(cmake_file) else \
            "hal/ adds another backend's private folder"
    return include_rule(cmake_file, d + "/x.h")


HAL_PORTABLE_TARGETS = ("ward_hal_api", "ward_hal", "ward_smart")


def link_rule(src_file, dst_file, dep):
    """None when a target defined in src_file may link dep, defined in dst_file."""
    s, d = tier_of(src_file), tier_of(dst_file)
    if s == "base":
        return None if d == "base" else "the base tier links nothing of ward's but itself"
    if s == "wire":
        return None if d in ("base", "wire") else "the wire codec links only the base tier"
    if s == "hal":
        return None if d in ("base", "hal") else "hal/ links only hal/ and the base tier"
    if s == "core":
        if d in ("base", "wire", "core") or dep in HAL_PORTABLE_TARGETS:
            return None
        if d == "hal":
            return "the portable core links a HAL backend"
        return "the portable core links only base, wire, the HAL's portable libraries and itself"
    if s in ("app", "board"):
        return "links " + d if d in ("tools", "tests") else None
    if s == "tools":
        return "tools/ never links a board's targets" if d in ("board", "tests") else None
    return None


def check_links(root, exceptions):
    where = {}  # target -> CMake file defining it
    alias = {}
    links = []
    bad = []
    for p, cmd, args in cmake_calls(root):
        if not args or "$" in args[0]:
            continue
        if cmd == "target_include_directories":
            for a in args[1:]:
                for d in SRCDIR_RE.findall(a):
                    why = include_dir_rule(p, d.rstrip("/"))
                    if why:
                        bad.append(f"{p}: {args[0]} adds include dir {d}: {why}")
            continue
        if cmd in ("add_library", "add_executable"):
            if "ALIAS" in args:
                alias[args[0]] = args[args.index("ALIAS") + 1]
            else:
                where.setdefault(args[0], p)
        else:
            for dep in args[1:]:
                if dep not in KEYWORDS and not dep.startswith(("$", "-")):
                    links.append((p, args[0], dep))
    for p, tgt, dep in links:
        dep = alias.get(dep, dep)
        if tgt not in where or dep not in where:
            continue  # system library or a target this tree does not define
        src_file, dst_file = where[tgt], where[dep]
        if dst_file == "tools/cmake/deps.cmake":
            continue  # third-party libraries (cJSON, mbedTLS, lwIP): dependency APIs
        why = link_rule(src_file, dst_file, dep)
        if why and (tgt, dep) not in exceptions:
            bad.append(f"{p}: {tgt} links {dep} (defined in {dst_file}): {why}")
        exceptions.discard((tgt, dep))
    return bad


def load_exceptions(root):
    """tests/repo/tiers-exceptions.txt: 'src -> dst' lines (files or targets) tolerated
    while a move on another branch is pending; each line says why."""
    inc, link = set(), set()
    path = os.path.join(root, "tests/repo/tiers-exceptions.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if "->" in line:
                    a, b = (x.strip() for x in line.split("->", 1))
                    (inc if "/" in a else link).add((a, b))
    return inc, link


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: tiers.py <source tree>")
    root = os.path.abspath(sys.argv[1])
    inc_exc, link_exc = load_exceptions(root)
    bad = check_includes(root, inc_exc) + check_links(root, link_exc)
    for a, b in sorted(inc_exc | link_exc):
        print(f"tiers: note: exception '{a} -> {b}' is no longer needed; remove it")
    for b in bad:
        print("tiers: " + b)
    if bad:
        print(f"tiers: {len(bad)} wrong-way include(s)/link(s); docs/architecture.md lists "
              "the rules")
        return 1
    print("tiers: every include and link goes down the tiers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
