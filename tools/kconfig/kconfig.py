#!/usr/bin/python3
"""Resolve ward's Kconfig for one board and write what the build needs.

Run by CMake at configure time (tools/cmake/kconfig.cmake); kconfiglib only imports under
Debian's /usr/bin/python3. Inputs: the Kconfig tree, the board's defconfig and optional
fragments. Outputs (each rewritten only when its content changes, so a no-op configure
rebuilds nothing):

  .config               the full configuration; kept across runs so menuconfig edits stay,
                        re-merged from defconfig + fragments when those inputs change
  autoconf.h            CONFIG_* macros for C (reached only through ward/base/config.h)
  config_digest.h       the canonical configuration text and its SHA-256, computed here
                        independently of the firmware's own run-time digest
  config.cmake          CONFIG_* variables for CMake
  kconfig-inputs.txt    every Kconfig file read, for CMAKE_CONFIGURE_DEPENDS
"""
import argparse
import hashlib
import os
import sys

try:
    import kconfiglib
except ImportError:
    sys.exit("kconfig: python3-kconfiglib is missing; run tools/bootstrap")


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def c_string(s):
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            sys.exit("kconfig: non-ASCII character in a configuration value")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def canonical_lines(kconf):
    """CONFIG_NAME=value for every symbol that is set, sorted: the digest's input."""
    lines = []
    for sym in kconf.unique_defined_syms:
        s = sym.config_string
        if s and not s.startswith("#"):
            lines.append(s.strip())
    return sorted(lines)


def inputs_hash(paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(p.encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def load(kconf, args, stamp_path):
    """Fresh merge when the defconfig/fragments changed, else keep the user's .config."""
    fragments = [args.defconfig] + args.fragment
    for p in fragments:
        if not os.path.isfile(p):
            sys.exit(f"kconfig: configuration fragment {p} does not exist")
    digest = inputs_hash(fragments)
    old = None
    if os.path.isfile(stamp_path):
        with open(stamp_path, encoding="utf-8") as f:
            old = f.read().strip()
    if os.path.isfile(args.config) and old == digest:
        kconf.load_config(args.config)
        return digest, False
    for i, p in enumerate(fragments):
        kconf.load_config(p, replace=(i == 0))
    return digest, True


def check_assignments(kconf, fragments):
    """A misspelt or unsatisfiable line in a defconfig is an error, not a silent default."""
    bad = [w for w in kconf.warnings
           if "undefined symbol" in w or "was assigned the value" in w or "malformed" in w]
    if bad:
        first = bad[0].replace("\n", " ")
        sys.exit(f"kconfig: {first} (in {', '.join(fragments)}); fix the defconfig")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kconfig", required=True)
    ap.add_argument("--defconfig", required=True)
    ap.add_argument("--fragment", action="append", default=[])
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args()
    args.config = os.path.join(args.outdir, ".config")

    kconf = kconfiglib.Kconfig(args.kconfig, warn_to_stderr=False)
    kconf.warn_assign_undef = True  # a misspelt symbol in a defconfig must not pass silently
    stamp = os.path.join(args.outdir, "kconfig-inputs.sha256")
    digest, fresh = load(kconf, args, stamp)
    if fresh:
        check_assignments(kconf, [args.defconfig] + args.fragment)
    for w in kconf.warnings:
        print("kconfig: warning: " + w.replace("\n", " "), file=sys.stderr)

    # Write .config through a temporary file so an interrupted run leaves the old one.
    tmp = args.config + ".new"
    kconf.write_config(tmp, header="# ward configuration; edit with the menuconfig target\n")
    with open(tmp, encoding="utf-8") as f:
        write_if_changed(args.config, f.read())
    os.remove(tmp)
    write_if_changed(stamp, digest + "\n")

    gen = os.path.join(args.outdir, "include", "generated")
    tmp = os.path.join(args.outdir, "autoconf.h.new")
    kconf.write_autoconf(tmp)
    with open(tmp, encoding="utf-8") as f:
        write_if_changed(os.path.join(gen, "autoconf.h"), f.read())
    os.remove(tmp)

    text = "\n".join(canonical_lines(kconf)) + "\n"
    sha = hashlib.sha256(text.encode()).hexdigest()
    write_if_changed(os.path.join(gen, "config_digest.h"),
                     "/* Generated by tools/kconfig/kconfig.py; do not edit. */\n"
                     "#ifndef GENERATED_CONFIG_DIGEST_H_\n#define GENERATED_CONFIG_DIGEST_H_\n"
                     f"#define WARD_CONFIG_TEXT {c_string(text)}\n"
                     f"#define WARD_CONFIG_SHA256_HEX \"{sha}\"\n#endif\n")

    cm = ["# Generated by tools/kconfig/kconfig.py; do not edit."]
    for line in canonical_lines(kconf):
        name, _, value = line.partition("=")
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        value = value.replace("\\", "\\\\").replace('"', '\\"')
        cm.append(f'set({name} "{value}")')
    cm.append(f'set(WARD_CONFIG_SHA256 "{sha}")')
    write_if_changed(os.path.join(args.outdir, "config.cmake"), "\n".join(cm) + "\n")
    write_if_changed(os.path.join(args.outdir, "kconfig-inputs.txt"),
                     "\n".join(os.path.abspath(os.path.join(kconf.srctree, p))
                               for p in kconf.kconfig_filenames) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
