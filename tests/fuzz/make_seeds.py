#!/usr/bin/python3
"""Writes the hand-made part of the fuzz seed corpora (deterministic).
Run from the repository root; the fuzzers add what they discover."""
import os
import random

R = "tests/fuzz/corpus/replay"
E = "tests/fuzz/corpus/engine"

replay_seeds = {
    "types.txt": """INSTRUMENT A tick=0.01 lot=1
INSTRUMENT B tick=0.5 lot=0.001 min=0.002 max=5 ref=100 band=10
NEW 1 1 A BUY LIMIT 10.00 5
NEW 2 2 A SELL LIMIT 10.00 2 IOC
NEW 3 2 A SELL LIMIT 9.99 9 FOK
NEW 4 3 A SELL LIMIT 10.01 1 POST STP=CO
NEW 5 3 A BUY MARKET - 3
NEW 6 1 B SELL LIMIT 100.5 0.004 STP=CB
NEW 7 1 B BUY LIMIT 101 0.003 STP=NONE
AMEND 1 1 10.02 7
AMEND 6 1 100.5 0.001
CANCEL 1 1
CANCEL 6 2
""",
    "rejects.txt": """INSTRUMENT Y tick=0.01 lot=10 min=20 max=100 ref=10.00 band=10
NEW 1 1 Z BUY LIMIT 10.00 20
NEW 2 1 Y BUY MARKET - 20 GTC
NEW 3 1 Y BUY LIMIT 10.001 20
NEW 4 1 Y BUY LIMIT 10.00 15
NEW 5 1 Y BUY LIMIT 12.00 20
NEW 6 1 Y BUY LIMIT - 20
AMEND 9 1 10.00 20
CANCEL 9 1
""",
    "errors.txt": """INSTRUMENT X tick=0.01 lot=1
INSTRUMENT X tick=0.01 lot=1
NEW 0 1 X BUY LIMIT 1 1
NEW 1 1 X HOLD LIMIT 1 1
BOGUS
NEW 1 1 X BUY LIMIT 99999999999999999999 1
# comment
\t   \r
""",
    "extremes.txt": """INSTRUMENT P tick=0.000001 lot=0.00000001
NEW 1 1 P SELL LIMIT 281474.976710655 1
NEW 2 1 P BUY LIMIT 0.000001 0.00000001
NEW 3 2 P BUY LIMIT 0.262144 0.5
NEW 4 2 P BUY LIMIT 0.262143 0.5
NEW 5 3 P BUY MARKET - 10995.11627775
""",
}

os.makedirs(R, exist_ok=True)
os.makedirs(E, exist_ok=True)
for name, text in replay_seeds.items():
    with open(os.path.join(R, name), "w") as f:
        f.write(text)

# Engine seeds: 8-byte commands (see fuzz_engine.c), a few random streams
# biased to trade: new orders around the mid on both sides, some cancels.
rnd = random.Random(1)
for n in range(8):
    out = bytearray()
    for _ in range(rnd.randint(20, 300)):
        kind = rnd.choice([0, 0, 1, 1, 2, 3])
        inst = rnd.choice([0, 0, 1, 2])
        b0 = kind | inst << 2 | rnd.randrange(4) << 4 | rnd.randrange(2) << 6 | (1 << 7 if rnd.random() < 0.1 else 0)
        off = rnd.randint(-8, 8) & 0xFFFF
        out += bytes([b0, rnd.randrange(64), rnd.randrange(64), rnd.randrange(8),
                      off & 0xFF, off >> 8, rnd.randrange(1, 20), 0])
    with open(os.path.join(E, f"stream{n}.bin"), "wb") as f:
        f.write(out)

# Journal seeds (needs a built binary: make_seeds.py path/to/xtrading): real
# segment records and a real snapshot's body, in the framing fuzz_journal.c
# expects.
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crc32c import crc32c  # noqa: E402

if len(sys.argv) > 1:
    J = "tests/fuzz/corpus/journal"
    os.makedirs(J, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        subprocess.run([sys.argv[1], "replay", "--journal", data, "examples/demo.txt"], check=True,
                       capture_output=True)
        wal = open(os.path.join(data, "wal-00000000000000000001.log"), "rb").read()
        snap = open(os.path.join(data, "snap-00000000000000000025.xts"), "rb").read()
    open(os.path.join(J, "segment-records"), "wb").write(b"\x00" + wal[64:])
    open(os.path.join(J, "segment-whole"), "wb").write(b"\x02" + wal)
    # the same as a version-1 segment (the first matching rules: zeros at 52)
    v1 = bytearray(wal[:64])
    struct.pack_into("<I", v1, 8, 1)
    struct.pack_into("<I", v1, 52, 0)
    struct.pack_into("<I", v1, 60, crc32c(bytes(v1[:60])))
    open(os.path.join(J, "segment-whole-v1"), "wb").write(b"\x02" + bytes(v1) + wal[64:])
    open(os.path.join(J, "segment-torn"), "wb").write(b"\x00" + wal[64:-7])
    ninst, = struct.unpack_from("<I", snap, 40)
    seq, = struct.unpack_from("<Q", snap, 16)
    prefix = bytes([ninst, seq >> 8 & 0xFF, seq & 0xFF, snap[24]]) + snap[32:40] + bytes([63, 31, 3, 159])
    open(os.path.join(J, "snapshot-demo"), "wb").write(b"\x01" + prefix + snap[80:-16])
