#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_journal_restore (tests/fuzz/corpus/journal_restore/): journal
store images framed as ward/transport/journal.h documents (36-byte header, CRC-32 of header
bytes 0..31 and the payload), healthy and damaged the ways a crash or a bad sector damages
them. Usage: gen_journal_corpus.py OUTDIR"""
import os
import struct
import sys
import zlib


def rec(typ, sev, boot, seq, payload=b""):
    head = struct.pack("<HBBHH16sQ", 0x5752, typ, sev, len(payload), 0, boot, seq)
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def ev(boot, seq, sev=1, payload=b'{"k":"temp","v":42}'):
    return rec(1, sev, boot, seq, payload)


def ack(boot, seq):
    return rec(2, 0, boot, seq)


A = b"boot-a".ljust(16, b"\0")
B = b"boot-b".ljust(16, b"\0")
images = {
    "empty": b"",
    "one": ev(A, 1),
    "two_boots_ack": ev(A, 1) + ev(A, 2) + ev(B, 1, 2) + ack(A, 1),
    "torn_tail": (ev(A, 1) + ev(A, 2))[:-7],
    "bad_sector": ev(A, 1) + b"\xff" * 40 + ev(A, 3, 2),
    "flipped_crc": ev(A, 1)[:-1] + b"\x00" + ev(A, 2),
    "over_cap": b"".join(ev(A, s, s % 3) for s in range(1, 25)),
    "many_boots": b"".join(ev(bytes([b]) * 16, 1, b % 3) for b in range(12)),
    "max_payload": ev(A, 1, 2, b"p" * 512) + ev(A, 2, 0, b"q" * 512),
    "duplicate": ev(A, 5) + ev(A, 5) + ev(A, 4),
    "ack_first": ack(A, 9) + ev(A, 3) + ev(A, 10),
    "zero_len": ev(A, 1, 0, b""),
    "bad_type": rec(3, 0, A, 1) + ev(A, 2),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in images.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
