#!/usr/bin/python3
"""Writes the seed corpus of the md-state fuzz target (tests/fuzz/corpus/mdstate/),
payloads laid out from docs/journal-format.md ("Market-data state") alone:
valid states of the target's instruments (ids 1, 2, 3; 3 in UTC+8), one of
an instrument it does not have, and spoilt ones (cut, a bad flag, a negative
volume, too many points, an instrument twice, a turnover its volume cannot
have made, a time its open candles do not hold).

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


SECONDS = [60, 180, 300, 900, 1800, 3600, 7200, 14400, 86400, 604800]
WEEK_SHIFT = 3 * 86400  # weeks start on Monday; 1970-01-01 was a Thursday


def align(secs, t, tz):
    """The start of the interval of secs seconds holding t (ns), in local time tz (s east of UTC)."""
    length, off = secs * NS, tz * NS + (WEEK_SHIFT * NS if secs == 604800 else 0)
    return (t + off) // length * length - off


def inst(iid, sym, tz, t, prices, tape):
    """One instrument's record at time t (ns): traded at prices, one a minute
    from its local midnight, the last minute (t's) open; the open candles
    hold t, the last one of them took the last price."""
    day = align(86400, t, tz)
    last = prices[-1] if prices else 100
    vol = len(prices)
    rec = struct.pack("<I32si", iid, sym.encode(), tz) + struct.pack("<B7x", 1) + struct.pack("<qq", t, day)
    rec += struct.pack("<qqqqqqq", t, 100, prices[0] if prices else 100, max(prices or [100]), min(prices or [100]),
                       last, vol)
    rec += i128(sum(prices)) + struct.pack("<Q", vol)
    for secs in SECONDS:
        rec += candle(align(secs, t, tz), last, 0, 0, 0)
    rec += bytes(32)
    minutes = [(day + k * MIN, p, p, 1, 1) for k, p in enumerate(prices[:-1])]
    minutes.append((align(60, t, tz), last, last, 1 if prices else 0, 0))  # the open minute: t's
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
    t = T0 + 10 * 3600 * NS + 17 * NS
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
        "named_twice": state(btc, btc),
        "turnover_past_volume": state(btc[:120] + i128(3 * (2**48))[:16] + btc[136:]),
        "minute_not_t": state(btc[:48] + struct.pack("<q", t + 3600 * NS) + btc[56:]),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
