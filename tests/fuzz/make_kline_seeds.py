#!/usr/bin/python3
"""Writes the seed corpus of the K-line history fuzz target (tests/fuzz/corpus/kline/):
files BTC-USDT.1m.kl laid out from docs/kline-history.md alone, for the
target's instrument (BTC-USDT, tz +08:00, tick 0.01, lot 0.0001): valid ones
(a few records, a header only, the doc's example record, flat candles), an
empty file, a torn header, torn and bad-checksum last records (as many as the
target's pool of 4 holds, and one more), damage before a good last record,
records out of order, and headers refused or for other settings (magic,
version, lengths, checksum, interval, symbol, tz, tick, lot, nonzero zero
fields).

usage: make_kline_seeds.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crc32c import crc32c  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kline")
NS = 10**9
T0 = 1704067200 * NS  # 2024-01-01 00:00 UTC
MIN = 60 * NS
TZ = 28800
SECONDS = [60, 180, 300, 900, 1800, 3600, 7200, 14400, 86400, 604800]


def header(interval=0, secs=None, tz=TZ, tick=(1, 2), lot=(1, 4), symbol=b"BTC-USDT", magic=b"XTKLN001",
           version=1, lengths=(128, 72), zero15=0, crc=None):
    secs = SECONDS[interval % 10] if secs is None else secs
    h = magic + struct.pack("<HHHBBIi", version, lengths[0], lengths[1], interval, zero15, secs, tz)
    h += struct.pack("<qB", *tick) + struct.pack("<qB", *lot) + bytes(6)
    h += symbol.ljust(24, b"\0") + bytes(52)
    assert len(h) == 124
    return h + struct.pack("<I", crc32c(h) if crc is None else crc)


def record(open_time, o, hi, lo, c, volume=0, turnover=0, trades=0, crc=None):
    r = struct.pack("<qqqqqq", open_time, o, hi, lo, c, volume)
    r += struct.pack("<Qq", turnover & (2**64 - 1), turnover >> 64) + struct.pack("<I", trades)
    assert len(r) == 68
    return r + struct.pack("<I", crc32c(r) if crc is None else crc)


def bad(rec):
    """The record with its checksum wrong."""
    return rec[:68] + struct.pack("<I", struct.unpack("<I", rec[68:])[0] ^ 1)


def candles(n, t=T0, px=3000000):
    out = []
    for k in range(n):
        p = px + 100 * (k % 3)
        out.append(record(t + k * MIN, p, p + 100, p - 100, p, 20000, p * 20000, 2))
    return out


def main():
    # the doc's worked example and CRC32C check value
    assert crc32c(b"123456789") == 0xE3069283
    example = record(1704067200000000000, 3000000, 3000100, 3000000, 3000100, 30000, 90001000000, 2)
    assert example[68:] == bytes.fromhex("8c1bc023"), example[68:].hex()
    os.makedirs(OUT, exist_ok=True)
    h = header()
    five = candles(5)
    seeds = {
        "valid_five": h + b"".join(five),
        "valid_example": h + example,
        "valid_flat": h + record(T0, 3000000, 3000000, 3000000, 3000000) + record(T0 + MIN, 3000000, 3000000,
                                                                                  3000000, 3000000),
        "valid_last_max": h + record(2**63 - 1, 1, 1, 1, 1, 1, 1, 1),
        "valid_negative": h + record(-MIN, -5, -1, -9, -3, -7, -(2**100), 0xFFFFFFFF),
        "header_only": h,
        "empty": b"",
        "torn_header": h[:60],
        "torn_record": h + b"".join(five) + five[0][:40],
        "bad_crc_last": h + b"".join(five[:4]) + bad(five[4]),
        "bad_crc_four": h + five[0] + b"".join(bad(r) for r in five[1:5]),  # a pool's worth: cut
        "bad_crc_five": h + b"".join(bad(r) for r in five),  # more than a pool: set aside
        "bad_four_torn": h + five[0] + b"".join(bad(r) for r in five[1:4]) + five[4][:71],
        "bad_four_torn_more": h + five[0] + b"".join(bad(r) for r in five[1:5]) + five[0][:1],
        "zeros_tail": h + five[0] + bytes(72 * 3 + 10),
        "bad_crc_middle": h + five[0] + bad(five[1]) + b"".join(five[2:]),
        "out_of_order": h + five[3] + five[1] + five[4] + five[2],
        "duplicate_last": h + b"".join(five) + five[4],
        "header_bad_crc": header(crc=0) + b"".join(five),
        "header_bad_magic": header(magic=b"XTKLN002") + five[0],
        "header_version_2": header(version=2) + five[0],
        "header_lengths": header(lengths=(128, 80)) + five[0],
        "other_interval": header(interval=1) + five[0],
        "interval_secs_wrong": header(secs=61) + five[0],
        "interval_out_of_range": header(interval=10, secs=60) + five[0],
        "other_symbol": header(symbol=b"ETH-USDT") + five[0],
        "symbol_invalid": header(symbol=b"BTC/USDT") + five[0],
        "symbol_too_long": header(symbol=b"B" * 17) + five[0],
        "other_tz": header(tz=0) + five[0],
        "tz_out_of_range": header(tz=86400) + five[0],
        "other_tick": header(tick=(1, 3)) + five[0],
        "tick_zero": header(tick=(0, 2)) + five[0],
        "other_lot": header(lot=(10, 5)) + five[0],
        "lot_scale_19": header(lot=(1, 19)) + five[0],
        "zero_field_set": header(zero15=1) + five[0],
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
