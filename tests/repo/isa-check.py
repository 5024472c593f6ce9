#!/usr/bin/env python3
"""Does a board's binary use instructions its CPU lacks?

Disassembles each ELF with the board's cross objdump and classifies every instruction. The
board's folder says what its CPU lacks, in `isa-rules` (one rule per line, `#` comments):

    forbid <class>...          classes the CPU does not have (list below)
    allow <function> <why>     a function whose forbidden instructions never run on this CPU
                               (a C library variant chosen at run time from the CPU's hwcaps,
                               an unwinder helper for registers nothing here uses); a name, or
                               a shell pattern (fnmatch) for a family of such helpers
    reject <class> <flags>     self-test: a small vectorisable, atomic C file compiled with
                               these extra flags must be rejected for <class>

Classes, ARM (AArch32):
    vfp      any VFP or Advanced SIMD instruction (a soft-float board)
    neon     Advanced SIMD (NEON)
    d32      d16-d31 (or q8-q15): the FPU has only 16 double registers (VFPv3/v4-D16)
    armv6    ARMv6 additions over ARMv5TE (rev, uxtb, ldrex/strex, SIMD-in-core, umaal...)
    armv7    ARMv6T2/ARMv6K/ARMv7 additions (movw/movt, dmb/dsb/isb, ldrexd, bfi, sdiv...)
    thumb2   32-bit Thumb encodings other than bl/blx
    armv8    ARMv8 AArch32 additions (lda/stl, vsel, vrint, aes, sha, crc32)
Classes, AArch64:
    lse      ARMv8.1 atomics (cas, swp, ldadd...)
    sve      SVE (z or p registers)
    crypto   the optional crypto extension (aes, sha, pmull)

Usage:
    isa-check.py --objdump OBJDUMP --rules FILE ELF...
    isa-check.py --objdump OBJDUMP --rules FILE --self-test CC SOURCE WORKDIR
Exit status: 0 clean (or every self-test rejected as it should be), 1 otherwise.
"""
import argparse
import fnmatch
import os
import re
import shlex
import subprocess
import sys

ARM_CLASSES = {"vfp", "neon", "d32", "armv6", "armv7", "thumb2", "armv8"}
A64_CLASSES = {"lse", "sve", "crypto"}

CONDS = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt",
         "gt", "le", "al"}
# VFPv4 mnemonics (UAL, as objdump prints them). Anything else starting with "v" is NEON or v8.
VFP = {"vldr", "vstr", "vldmia", "vldmdb", "vstmia", "vstmdb", "vldm", "vstm", "vpush", "vpop",
       "vmrs", "vmsr", "vmov", "vcmp", "vcmpe", "vsqrt", "vabs", "vneg", "vadd", "vsub", "vmul",
       "vnmul", "vdiv", "vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms",
       "vcvt", "vcvtr", "vcvtb", "vcvtt"}
V8_FP = re.compile(r"^v(sel|maxnm|minnm|rint[anpmzrx]?|cvt[anpm]|aes|sha|mull\.p64)")
# Integer element types exist only in Advanced SIMD (VFP's integer types are vcvt's .s32/.u32
# and vmov's .32).
NEON_TYPES = re.compile(r"\.(i8|i16|i32|i64|p8|p16|p64|s8|s16|s64|u8|u16|u64|8|16|64)\b")
DREG_HI = re.compile(r"\bd(1[6-9]|2[0-9]|3[01])\b|\bq([89]|1[0-5])\b")
DLIST = re.compile(r"\{\s*d(\d+)\s*-\s*d(\d+)\s*\}")
QREG = re.compile(r"\bq([0-9]|1[0-5])\b")
DREG = re.compile(r"\bd([0-9]|[12][0-9]|3[01])\b")
CORE = re.compile(r"\b(r[0-9]|r1[0-5]|ip|sp|lr|pc|fp|sl|APSR_nzcv)\b")
ARMV6 = re.compile(
    r"^(rev|rev16|revsh|[su]xt(a)?(b|h|b16)|ldrex|strex|cps(ie|id)?|srs\w*|rfe\w*|setend|"
    r"[su]sat16|[su]sat|pkhbt|pkhtb|sel|umaal|sm(lad|lald|lsd|lsld|mla|mls|mul|uad|usd)x?r?|"
    r"u?sada?8|[su]h?(add|sub)(8|16)|[su]?q(add|sub)(8|16)|uq(add|sub)(8|16)|"
    r"[su]h?(asx|sax|addsubx|subaddx)|[su]?q(asx|sax|addsubx|subaddx)|uq(asx|sax)|"
    r"mcrr2|mrrc2)$")
ARMV7 = re.compile(
    r"^(movw|movt|dmb|dsb|isb|clrex|ldrex[bhd]|strex[bhd]|bfi|bfc|[su]bfx|rbit|mls|[su]div|"
    r"pldw|pli|dbg|wfe|wfi|sev|yield|nop|tbb|tbh|cbn?z|it[te]*|orn|ldrht|ldrsbt|ldrsht|strht)$")
ARMV8_A32 = re.compile(r"^(lda|ldaex|stl|stlex)[bhd]?$|^(sevl|hlt|dcps\d|crc32\w*)$")
LSE = re.compile(r"^(casp?|swp|ld(add|clr|eor|set|smax|smin|umax|umin)|"
                 r"st(add|clr|eor|set|smax|smin|umax|umin))(a|al|l)?[bh]?$")
SVE_REG = re.compile(r"\b[zp]([0-9]|[12][0-9]|3[01])(\.[bhsdq])?\b")
CRYPTO = re.compile(r"^(aes[ed]|aesi?mc|sha1[chmpsu]\w*|sha256\w*|sha512\w*|sm3\w*|sm4\w*|"
                    r"eor3|bcax|rax1|xar|pmull2?)$")
NOP_ENCODINGS = {"e320f000", "bf00"}  # the ARMv6K/v7 hint NOP (ARM, Thumb)
LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f]{8}|[0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t(\S+)\s*(.*)$")
FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def die(msg):
    print("isa-check: error: %s" % msg)
    sys.exit(1)


def read_rules(path):
    rules = {"forbid": set(), "allow": set(), "reject": []}
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            kind, rest = words[0], words[1:]
            where = "%s:%d" % (path, n)
            if kind == "forbid" and rest:
                bad = set(rest) - ARM_CLASSES - A64_CLASSES
                if bad:
                    die("%s: unknown class %s" % (where, " ".join(sorted(bad))))
                rules["forbid"] |= set(rest)
            elif kind == "allow" and len(rest) >= 2:
                rules["allow"].add(rest[0])
            elif kind == "reject" and len(rest) >= 2:
                if rest[0] not in ARM_CLASSES | A64_CLASSES:
                    die("%s: unknown class %s" % (where, rest[0]))
                rules["reject"].append((rest[0], " ".join(rest[1:])))
            else:
                die("%s: cannot read '%s' (forbid CLASS..., allow FUNCTION WHY, "
                    "reject CLASS FLAGS)" % (where, line))
    if not rules["forbid"]:
        die("%s forbids nothing" % path)
    return rules


def split_mnemonic(mn):
    """('vmov', '.f32') from 'vmoveq.f32'; the base without its condition code."""
    base, _, types = mn.partition(".")
    types = "." + types if types else ""
    known = VFP | {"ldrex", "strex"}
    if base not in known and len(base) > 2 and base[-2:] in CONDS and (
            base[:-2] in known or ARMV6.match(base[:-2]) or ARMV7.match(base[:-2])):
        base = base[:-2]
    return base, types


def neon(base, types, ops):
    if QREG.search(ops):
        return True
    if not base.startswith("v") or V8_FP.match(base):
        return False
    if base not in VFP:
        return True
    if NEON_TYPES.search(types):
        return True
    has_d = DREG.search(ops) is not None
    if base == "vmov":
        # VFP moves name a core register, an s register or a typed d register; an untyped
        # d-to-d vmov is the Advanced SIMD VORR alias.
        if types in ("", ".32") and has_d and not CORE.search(ops) and "[" not in ops:
            return not re.search(r"\bs\d+\b", ops) and "#" not in ops
        if ".f32" in types and has_d:
            return True
        return False
    if base in ("vldr", "vstr", "vldmia", "vldmdb", "vstmia", "vstmdb", "vldm", "vstm",
                "vpush", "vpop", "vmrs", "vmsr"):
        return False
    # Single precision lives in s registers in VFP; .f32 on a d register is a SIMD pair.
    return has_d and ".f32" in types and ".f64" not in types and ".f16" not in types


def arm_classes(raw, mn, ops):
    base, types = split_mnemonic(mn)
    out = set()
    is_v = base.startswith("v")
    if is_v or re.match(r"^(ldc|stc|mcr|mrc|cdp|mcrr|mrrc)2?l?$", base) and re.search(
            r"\bp1[01]\b", ops):
        out.add("vfp")
    if is_v and neon(base, types, ops):
        out.add("neon")
    if V8_FP.match(base) or ARMV8_A32.match(base):
        out.add("armv8")
    if DREG_HI.search(ops) or any(int(b) >= 16 for _a, b in DLIST.findall(ops)):
        out.add("d32")
    if ARMV6.match(base) and not is_v:
        out.add("armv6")
    if ARMV7.match(base) and not is_v:
        if base != "nop" or raw in NOP_ENCODINGS:  # objdump also calls mov r0, r0 "nop"
            out.add("armv7")
    if " " in raw and base not in ("bl", "blx"):
        out.add("thumb2")
    return out


def a64_classes(mn, ops):
    out = set()
    if LSE.match(mn):
        out.add("lse")
    if SVE_REG.search(ops) or mn in ("ptrue", "whilelo", "whilelt", "rdvl", "addvl", "cntb",
                                      "cntw", "cntd"):
        out.add("sve")
    if CRYPTO.match(mn.split(".")[0]):
        out.add("crypto")
    return out


def allowed(func, patterns):
    return any(fnmatch.fnmatchcase(func, p) for p in patterns)


def scan(objdump, path, rules):
    """{class: {function: (count, first example)}} of forbidden instructions outside allowed
    functions, and the number of instructions read."""
    proc = subprocess.run([objdump, "-d", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        die("%s -d %s failed: %s" % (objdump, path, proc.stderr.strip()[:300]))
    a64 = "aarch64" in proc.stdout[:2000]
    found, count, func = {}, 0, "?"
    for line in proc.stdout.splitlines():
        m = FUNC.match(line)
        if m:
            func = m.group(1)
            continue
        m = LINE.match(line)
        if not m:
            continue
        raw, mn = m.group(2), m.group(3)
        # Operands only: no comments (; @ //) and no <symbol> names, which can be anything.
        # A branch target is printed as a bare hex address ("bl d20 <f>"), which could read as
        # a register: drop "address <symbol>" pairs first.
        ops = re.split(r";|@|//", m.group(4))[0]
        ops = re.sub(r"<[^>]*>", "", re.sub(r"\b[0-9a-f]+\s+<[^>]*>", "", ops))
        if mn.startswith("."):  # literal pools and other data objdump shows as .word
            continue
        count += 1
        classes = a64_classes(mn, ops) if a64 else arm_classes(raw, mn, ops)
        bad = classes & rules["forbid"]
        if not bad or allowed(func, rules["allow"]):
            continue
        for c in bad:
            per = found.setdefault(c, {})
            n, ex = per.get(func, (0, "%s %s" % (mn, ops.strip())))
            per[func] = (n + 1, ex)
    return found, count


def report(path, found, count):
    if not found:
        print("isa-check: %s: %d instructions, none the CPU lacks" % (path, count))
        return True
    for c in sorted(found):
        funcs = found[c]
        total = sum(n for n, _ in funcs.values())
        print("isa-check: %s: %d %s instruction(s) the board's CPU lacks, in %d function(s):"
              % (path, total, c, len(funcs)))
        for f, (n, ex) in sorted(funcs.items(), key=lambda kv: -kv[1][0])[:8]:
            print("    %-40s %4d  e.g. %s" % (f, n, ex))
    return False


def self_test(args, rules):
    """Every 'reject' line: compile the source with its flags; the checker must reject the
    object for that class (proof that the check can fail)."""
    if not rules["reject"]:
        die("%s has no 'reject' line: nothing shows the check can fail" % args.rules)
    os.makedirs(args.self_test[2], exist_ok=True)
    ok = True
    for i, (cls, flags) in enumerate(rules["reject"]):
        obj = os.path.join(args.self_test[2], "bad%d.o" % i)
        cmd = [args.self_test[0]] + shlex.split(flags) + ["-c", args.self_test[1], "-o", obj]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            print("isa-check: self-test: %s failed:\n%s" % (" ".join(cmd), proc.stdout[-800:]))
            ok = False
            continue
        found, count = scan(args.objdump, obj, rules)
        report(obj, found, count)
        if cls in found:
            print("isa-check: self-test: rejected as it must be: %s (%s)" % (cls, flags))
        else:
            print("isa-check: self-test FAILED: an object built with '%s' was not rejected "
                  "for %s" % (flags, cls))
            ok = False
    # And the same source built with the board's own flags passes.
    obj = os.path.join(args.self_test[2], "good.o")
    cmd = [args.self_test[0]] + shlex.split(args.board_flags) + ["-O3", "-c",
                                                                  args.self_test[1], "-o", obj]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        print("isa-check: self-test: %s failed:\n%s" % (" ".join(cmd), proc.stdout[-800:]))
        return False
    found, count = scan(args.objdump, obj, rules)
    if not report(obj, found, count):
        print("isa-check: self-test FAILED: the board's own flags (%s) produce instructions the "
              "board lacks" % args.board_flags)
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objdump", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--self-test", nargs=3, metavar=("CC", "SOURCE", "WORKDIR"))
    ap.add_argument("--board-flags", default="", help="the board's C flags (self-test)")
    ap.add_argument("elf", nargs="*")
    args = ap.parse_args()
    rules = read_rules(args.rules)
    if args.self_test:
        ok = self_test(args, rules)
        print("isa-check: self-test %s" % ("passed" if ok else "FAILED"))
        return 0 if ok else 1
    if not args.elf:
        die("no binaries to check")
    ok = True
    for path in args.elf:
        found, count = scan(args.objdump, path, rules)
        if count < 100:
            die("%s: only %d instructions disassembled; is it an ELF for this board?"
                % (path, count))
        ok = report(path, found, count) and ok
    print("isa-check: %s (forbidden: %s)" % ("clean" if ok else "FAILED",
                                            " ".join(sorted(rules["forbid"]))))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
