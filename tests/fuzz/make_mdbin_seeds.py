#!/usr/bin/python3
"""Writes the seed corpus of the binary market-data fuzz target
(tests/fuzz/corpus/mdbin/, deterministic; the fuzzer adds what it
discovers). Layouts are those of docs/md-binary.md; run with
/usr/bin/python3 from anywhere.

Seeds: one valid frame of each client type; a session's stream; frames
with nonzero flags, seq and body padding (valid: not read); truncated
frames; a bad length, an unknown type (order entry's and the server's own),
a nonzero reserved header field, a frame over 32 bytes; a good frame then
a bad one; and depth levels for the encoder pass."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "mdbin")


def header(ln, typ, flags=0, reserved=0, seq=0):
    return struct.pack("<HBBIQ", ln, typ, flags, reserved, seq)


def request(typ, request_id, instrument, channels, depth, pad=0):
    return header(32, typ) + struct.pack("<QIBBH", request_id, instrument, channels, depth, pad)


HEARTBEAT = header(16, 0x02)
SUB = request(0x20, 7, 2, 0x03, 5)
UNSUB = request(0x21, 8, 2, 0x01, 5)
SNAP = request(0x22, 9, 0, 0x0F, 0)


def seeds():
    s = {}
    s["valid_heartbeat"] = HEARTBEAT
    s["valid_subscribe"] = SUB
    s["valid_unsubscribe"] = UNSUB
    s["valid_snapshot"] = SNAP
    s["stream_session"] = SUB + HEARTBEAT + request(0x20, 10, 1, 0x0D, 20) + SNAP + UNSUB + HEARTBEAT
    s["stream_tail"] = SUB + SNAP[:21]
    s["unread_bytes"] = header(32, 0x20, flags=0xFF, seq=2**64 - 1) + SUB[16:30] + b"\xff\xfe"
    s["every_channel_bit"] = request(0x20, 2**64 - 1, 2**32 - 1, 0xFF, 0xFF)
    s["trunc_1"] = SUB[:1]
    s["trunc_2"] = SUB[:2]
    s["trunc_header"] = SUB[:9]
    s["bad_len_short"] = header(15, 0x02)[:16]
    s["bad_len_zero"] = bytes(16)
    s["bad_len_type"] = header(16, 0x20)
    s["bad_len_heartbeat"] = header(32, 0x02) + bytes(16)
    s["bad_len_large"] = struct.pack("<HBB", 33, 0x20, 0) + bytes(30)
    s["bad_len_max"] = struct.pack("<HBB", 0xFFFF, 0x20, 0)
    s["bad_type_login"] = header(32, 0x01) + bytes(16)
    s["bad_type_server"] = header(16, 0x85)
    s["bad_type_depth"] = header(32, 0xA4) + bytes(16)
    s["bad_reserved"] = header(32, 0x21, reserved=1 << 16) + UNSUB[16:]
    s["good_then_bad"] = SUB + HEARTBEAT + header(16, 0x7F) + SNAP
    s["good_then_short"] = HEARTBEAT + b"\x05\x00"
    levels = b"".join(struct.pack("<qq", 3000000 - i, i + 1) for i in range(12))
    s["levels"] = bytes([5]) + levels[1:] + SUB
    s["levels_neg"] = b"".join(struct.pack("<qq", -i, -(2 ** 63)) for i in range(4))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
