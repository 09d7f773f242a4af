#!/usr/bin/python3
"""Writes the seed corpus of the md-state fuzz target (tests/fuzz/corpus/mdstate/),
payloads laid out from docs/journal-format.md ("Market-data state") alone:
valid states of the target's instruments (ids 1, 2, 3; 3 in UTC+8), one of
an instrument it does not have, and spoilt ones (cut, a bad flag, a negative
volume, too many points).

usage: make_mdstate_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "mdstate")
NS = 10**9
T0 = 1704240000 * NS  # 2024-01-03 00:00 UTC
MIN = 60 * NS


def i128(v):
    return struct.pack("<Qq", v & (2**64 - 1), v >> 64)


def candle(open_time, px, vol=0, trades=0, closed=0):
    return struct.pack("<qqqqqq", open_time, px, px, px, px, vol) + i128(px * vol) + struct.pack("<IB3x", trades,
                                                                                                  closed)


def inst(iid, sym, tz, t, prices, tape):
    """One instrument's record: its day at time t, traded at prices (one a minute from the day start)."""
    day = T0 - tz * NS if tz else T0
    vol = len(prices)
    last = prices[-1] if prices else 100
    rec = struct.pack("<I32si", iid, sym.encode(), tz) + struct.pack("<B7x", 1) + struct.pack("<qq", t, day)
    rec += struct.pack("<qqqqqqq", t, 100, prices[0] if prices else 100, max(prices or [100]), min(prices or [100]),
                       last, vol)
    rec += i128(sum(prices)) + struct.pack("<Q", vol)
    secs = [60, 180, 300, 900, 1800, 3600, 7200, 14400, 86400, 604800]
    for s in secs:
        start = t - (t - day) % (s * NS) if s < 86400 * 7 else day
        rec += candle(start, last, 0, 0, 0)
    rec += bytes(32)
    minutes = [(day + k * MIN, p, p, 1, 1) for k, p in enumerate(prices)]
    rec += struct.pack("<II", len(minutes), len(tape))
    for m in minutes:
        rec += struct.pack("<qqqqB7x", *m)
    for k, (px, qty) in enumerate(tape):
        rec += struct.pack("<QqqqB7x", k + 1, t - (len(tape) - k) * NS, px, qty, k % 2)
    assert len(rec) == 904 + 40 * (len(minutes) + len(tape))
    return rec


def state(*recs):
    return struct.pack("<I", len(recs)) + b"".join(recs)


def main():
    os.makedirs(OUT, exist_ok=True)
    t = T0 + 10 * 3600 * NS
    btc = inst(1, "BTC-USDT", 0, t, [101, 99, 100], [(101, 2), (99, 1), (100, 5)])
    eth = inst(2, "ETH-USDT", 0, t, [], [])
    sh = inst(3, "600519.SH", 8 * 3600, t, [170100], [(170100, 1)] * 6)  # more than the target's tape of 4
    seeds = {
        "valid_three": state(btc, eth, sh),
        "valid_one": state(btc),
        "empty": state(),
        "unknown_instrument": state(inst(9, "NOPE", 0, t, [1], [(1, 1)])),
        "other_tz": state(inst(1, "BTC-USDT", 3600, t, [101], [])),
        "cut": state(btc, eth)[:-1],
        "trailing_byte": state(btc) + b"\0",
        "bad_started": state(btc[:40] + b"\x02" + btc[41:]),
        "negative_volume": state(btc[:112] + struct.pack("<q", -1) + btc[120:]),
        "too_many_points": state(btc[:896] + struct.pack("<I", 1441) + btc[900:]),
        "count_too_large": struct.pack("<I", 0xFFFFFFFF) + btc,
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
