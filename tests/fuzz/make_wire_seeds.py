#!/usr/bin/python3
"""Writes the seed corpus of the wire fuzz target (tests/fuzz/corpus/wire/,
deterministic; the fuzzer adds what it discovers). Layouts are those of
docs/protocol.md; run with /usr/bin/python3 from anywhere.

Seeds: one valid frame of each type; client and server streams of several
frames; frames with nonzero body padding and garbage after a string's NUL
(valid, the codec must ignore them); truncated frames; frames with a bad
length, an unknown type, a nonzero reserved header field, over max_frame;
a good frame followed by a bad one."""
import os
import re
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "wire")
SEQ = 1  # header flags bit 0

# type: (name, len, body format after the 16-byte header)
TYPES = {
    0x01: ("login", 104, "<HHI16sIIQq32s8x"),
    0x02: ("heartbeat", 16, "<"),
    0x03: ("new_order", 56, "<QIBBBBqq8x"),
    0x04: ("cancel", 40, "<QQq"),
    0x05: ("amend", 56, "<QQqqq"),
    0x06: ("mass_cancel", 32, "<QI4x"),
    0x07: ("order_status", 40, "<QQq"),
    0x08: ("logout", 16, "<"),
    0x09: ("amend_checked", 64, "<QQqqqI4x"),
    0x81: ("hello", 48, "<H2xI16sq"),
    0x82: ("login_accepted", 56, "<IIQQQI4x"),
    0x83: ("login_rejected", 32, "<H6xQ"),
    0x84: ("instrument", 96, "<IBB2x16sqqqqqqBB6x"),
    0x85: ("server_heartbeat", 16, "<"),
    0x86: ("error", 80, "<H62s"),
    0x87: ("status_reply", 88, "<QqQIBBBBqqq16x"),
    0x88: ("mass_cancel_ack", 32, "<QI4x"),
    0x89: ("logout_ack", 16, "<"),
    0x90: ("accepted", 64, "<QqIBBBBqqq"),
    0x91: ("rejected", 48, "<QqHBxIq"),
    0x92: ("fill", 80, "<QqQIBB2xqqqq"),
    0x93: ("canceled", 64, "<QqIBxHqQq"),
    0x94: ("amended", 72, "<QqQqqB3xIq"),
}


def frame(t, *fields, flags=0, seq=0):
    name, n, fmt = TYPES[t]
    body = struct.pack(fmt, *fields)
    assert 16 + len(body) == n, name
    return struct.pack("<HBBIQ", n, t, flags, 0, seq) + body


NONCE = bytes(range(0xF0, 0x100))
SIG = bytes(range(0xA0, 0xC0))
TS = 1700000000123456789

VALID = {
    0x01: frame(0x01, 1, 1, 42, b"key-A", 3, 1000, 0, TS, SIG),
    0x02: frame(0x02),
    0x03: frame(0x03, 7, 1, 0, 0, 0, 0, 1234, 10),
    0x04: frame(0x04, 8, 7, 0),
    0x05: frame(0x05, 9, 0, 1001, 1235, 5),
    0x06: frame(0x06, 10, 0xFFFFFFFF),
    0x07: frame(0x07, 11, 7, 0),
    0x08: frame(0x08),
    0x09: frame(0x09, 12, 0, 1001, 1235, 5, 1),
    0x81: frame(0x81, 1, 5000, NONCE, TS),
    0x82: frame(0x82, 3, 1000, 5, 2, 6, 2, seq=4),
    0x83: frame(0x83, 5, 17),
    0x84: frame(0x84, 1, 1, 1, b"BTC-USD", 1, 1, 1, 1000000, 900, 1100, 2, 8, seq=4),
    0x85: frame(0x85, seq=9),
    0x86: frame(0x86, 1, b"malformed frame"),
    0x87: frame(0x87, 11, 1001, 7, 1, 1, 0, 0, 1, 1234, 6, 4, seq=9),
    0x88: frame(0x88, 10, 3, seq=9),
    0x89: frame(0x89, seq=9),
    0x90: frame(0x90, 7, 1001, 1, 0, 0, 1, 2, 1234, 10, TS, flags=SEQ, seq=5),
    0x91: frame(0x91, 8, 1001, 7, 0x04, 0, TS, flags=SEQ, seq=6),
    0x92: frame(0x92, 7, 1001, 77, 1, 0, 1, 1234, 4, 6, TS, flags=SEQ, seq=7),
    0x93: frame(0x93, 7, 1001, 1, 0, 11, 6, 8, TS, flags=SEQ, seq=8),
    0x94: frame(0x94, 9, 1001, 7, 1235, 5, 0, 2, TS, flags=SEQ, seq=9),
}


def pad_offsets(t):
    """Offsets of the reserved bytes of a type's body ('x' in its format)."""
    offs, off = [], 16
    for count, code in re.findall(r"(\d*)([a-zA-Z?])", TYPES[t][2]):
        size = struct.calcsize("<" + count + code)
        if code == "x":
            offs += range(off, off + size)
        off += size
    return offs


def with_bytes(f, changes):
    b = bytearray(f)
    for off, v in changes.items():
        b[off] = v
    return bytes(b)


def seeds():
    s = {}
    for t, f in VALID.items():
        s["valid_" + TYPES[t][0]] = f
    client = [0x01, 0x03, 0x03, 0x05, 0x09, 0x04, 0x06, 0x07, 0x02, 0x08]
    server = [0x81, 0x82, 0x84, 0x84, 0x90, 0x92, 0x93, 0x94, 0x91, 0x87, 0x88, 0x85, 0x89]
    s["stream_client"] = b"".join(VALID[t] for t in client)
    s["stream_server"] = b"".join(VALID[t] for t in server)
    s["stream_every_type"] = b"".join(VALID.values())
    s["stream_client_tail"] = s["stream_client"] + VALID[0x03][:23]
    # valid, with nonzero padding the codec must drop
    s["pad_new_order"] = with_bytes(VALID[0x03], {48: 0xFF, 55: 1})
    s["pad_instrument"] = with_bytes(VALID[0x84], {22: 9, 23: 9, 33: ord("x"), 90: 1, 95: 2})
    s["pad_login_key"] = with_bytes(VALID[0x01], {30: ord("z"), 39: ord("z"), 96: 1})
    s["pad_error_text"] = with_bytes(VALID[0x86], {40: ord("q"), 79: ord("q")})
    s["pad_fill_amended"] = with_bytes(VALID[0x92], {46: 1, 47: 2}) + with_bytes(VALID[0x94], {57: 3, 59: 4})
    s["pad_every_type"] = b"".join(with_bytes(f, {o: 0xFF for o in pad_offsets(t)}) for t, f in VALID.items())
    s["client_flags_seq"] = with_bytes(VALID[0x03], {3: 0xFF, 8: 1, 15: 0x80})
    # truncated
    s["trunc_1"] = VALID[0x03][:1]
    s["trunc_header"] = VALID[0x01][:9]
    s["trunc_body"] = VALID[0x92][:79]
    # errors
    s["bad_len_short"] = with_bytes(VALID[0x02], {0: 15})
    s["bad_len_zero"] = bytes(16)
    s["bad_len_type"] = with_bytes(VALID[0x03], {0: 40})
    s["bad_len_long"] = with_bytes(VALID[0x02], {0: 24}) + bytes(8)
    s["bad_len_large"] = struct.pack("<HBBIQ", 257, 0x03, 0, 0, 0) + bytes(64)
    s["bad_len_max"] = struct.pack("<HBBIQ", 0xFFFF, 0x01, 0, 0, 0)
    s["bad_type"] = with_bytes(VALID[0x02], {2: 0x7F})
    s["bad_reserved"] = with_bytes(VALID[0x04], {6: 1})
    s["good_then_bad"] = VALID[0x01] + VALID[0x03] + with_bytes(VALID[0x04], {2: 0x95}) + VALID[0x02]
    s["good_then_short"] = VALID[0x02] + b"\x08\x00"
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
