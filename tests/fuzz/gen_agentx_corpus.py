#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_agentx_pdu (tests/fuzz/corpus/agentx_pdu/): AgentX PDUs as a
master (snmpd) sends them, built from RFC 2741 section 6 in both byte orders, plus the broken
ones a faulty master might send. Usage: gen_agentx_corpus.py OUTDIR"""
import os
import struct
import sys

NBO = 0x10


def u32(v, be):
    return struct.pack(">I" if be else "<I", v)


def u16(v, be):
    return struct.pack(">H" if be else "<H", v)


def oid(subs, be, include=0):
    prefix = 0
    if len(subs) >= 5 and subs[:4] == [1, 3, 6, 1] and 0 < subs[4] < 256:
        prefix, subs = subs[4], subs[5:]
    return bytes([len(subs), prefix, include, 0]) + b"".join(u32(s, be) for s in subs)


def pdu(typ, payload, be=True, flags=0, sid=7, tid=1, pid=1):
    f = flags | (NBO if be else 0)
    return (bytes([1, typ, f, 0]) + u32(sid, be) + u32(tid, be) + u32(pid, be) +
            u32(len(payload), be) + payload)


def ranges(pairs, be):
    return b"".join(oid(a, be, inc) + oid(b, be) for a, inc, b in pairs)


ENT = [1, 3, 6, 1, 2, 1, 47, 1, 1, 1]
SENS = [1, 3, 6, 1, 2, 1, 99, 1, 1]
WARD = [1, 3, 6, 1, 4, 1, 32473, 1]
items = {}
for be in (True, False):
    tag = "be" if be else "le"
    items["get_" + tag] = pdu(5, ranges([(WARD + [1, 1, 1, 0], 0, [])], be), be)
    items["getnext_" + tag] = pdu(6, ranges([(SENS, 0, SENS[:-1] + [2])], be), be)
    items["getbulk_" + tag] = pdu(7, u16(0, be) + u16(10, be) + ranges([(ENT, 0, [])], be), be)
    items["response_" + tag] = pdu(18, u32(100, be) + u16(0, be) + u16(0, be), be)
items["getnext_include"] = pdu(6, ranges([(WARD + [1, 2, 1, 3, 1], 1, [])], True))
items["get_many"] = pdu(5, ranges([(WARD + [1, 2, 1, c, 1], 0, []) for c in range(2, 13)], True))
items["bulk_nonrep"] = pdu(7, u16(1, True) + u16(5, True) +
                           ranges([(WARD + [1, 1, 1], 0, []), (SENS, 0, [])], True))
items["context"] = pdu(5, struct.pack(">I", 3) + b"abc\0" + ranges([(WARD, 0, [])], True),
                       flags=0x08)
items["testset"] = pdu(8, b"")
items["close"] = pdu(2, bytes([5, 0, 0, 0]))
items["two_in_one"] = items["get_be"] + items["getnext_be"]
items["response_error"] = pdu(18, u32(1, True) + u16(263, True) + u16(0, True))
# Broken: a length past the payload, an OID too long, a bad version, an odd payload length.
items["bad_version"] = bytes([2]) + items["get_be"][1:]
items["odd_length"] = pdu(5, b"\0\0\0")[:-3] + b"\0\0\0"
items["long_oid"] = pdu(6, bytes([200, 0, 0, 0]) + b"\0" * 800)
items["truncated"] = items["getbulk_be"][:-6]
items["huge_length"] = items["get_be"][:16] + u32(0x7ffffff0, True)
items["garbage"] = bytes(range(256))
items["empty"] = b""

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in items.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
