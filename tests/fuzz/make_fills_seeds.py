#!/usr/bin/python3
"""Writes the seed corpus of the fills fuzz target (tests/fuzz/corpus/fills/):
fills sections of md-state files laid out from docs/journal-format.md
("Market-data state") alone: empty, one fill, several accounts with wrapping
rings, more accounts than the target's table holds, and spoilt ones (a count
past the bytes, a side of 2, a price of 0, padding not zero, a time past 2^62).

usage: make_fills_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fills")


def fill(account, trade_id, side=0, liquidity=0, price=100000, qty=10, ts=1704240000 * 10**9, inst=1, pad=0):
    return struct.pack("<IIQqqqqBB", account, inst, trade_id, trade_id * 10, price, qty, ts, side, liquidity) + \
        struct.pack("<6B", pad, 0, 0, 0, 0, 0)


def section(fills, count=None):
    return struct.pack("<I", len(fills) if count is None else count) + b"".join(fills)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "empty": section([]),
        "one": section([fill(1001, 1)]),
        "accounts": section([fill(a, t, side=t % 2, liquidity=(t // 2) % 2) for a in (1001, 1002, 1003)
                             for t in range(1, 4)]),
        "more_accounts": section([fill(a, a) for a in range(1, 9)]),
        "interleaved": section([fill(1 + t % 3, t) for t in range(1, 10)]),
        "trailing_bytes": section([fill(7, 1)]) + b"\x00" * 13,
        "bad_count": section([fill(1, 1)], count=2),
        "bad_side": section([fill(1, 1, side=2)]),
        "bad_price": section([fill(1, 1, price=0)]),
        "bad_pad": section([fill(1, 1, pad=1)]),
        "bad_time": section([fill(1, 1, ts=2**62 + 1)]),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
