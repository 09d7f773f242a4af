#!/usr/bin/python3
"""snapshot_history.py - what a snapshot's K-line history sync costs: two
builds of the server against each other in one run, alternating
(bench/RESULTS.md).

    bench/snapshot_history.py OLD_BIN NEW_BIN [ROUNDS] [INSTRUMENTS] [RATE]

Each round starts a fresh `serve` of each binary with a config of
INSTRUMENTS (default 256, the most a config names) UTC instruments, its
clock (the test hook debug.clock_offset_ms) 12 s before a UTC midnight
that starts no week. One trade in each instrument before midnight; the
midnight closes its 1m .. 1d candles (9 history files each, written
md.history_flush_ms = 1 s later, left to the kernel's writeback); 2 s
after it the admin `snapshot`. Measured: from sending `snapshot` to the
snapshot's md-state file in the data directory (since stop 51 it is
written once the history files written since the last snapshot are
synced: here every file). With RATE (orders/s, default 0: none), NEW_BIN's
loadgen sends that many over 64 connections from midnight - 4 s to
midnight + 6 s (the snapshot at + 2 s), to see what the syncs do to order
entry's latency. Prints one line per run: round, old|new, ms to the
md-state, how many history files hold a candle (9 per instrument), and
the loadgen's p99 / p99.9 / max in microseconds.
"""
import json
import subprocess
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_admin as A  # noqa: E402
import test_server as TS  # noqa: E402
from xtclient import BUY, SELL, FILL  # noqa: E402

NS = 1_000_000_000
DAY = 86400 * NS


def next_midnight(t):
    d = t // DAY + 1
    if (d + 3) % 7 == 0:  # a Monday's midnight would close the week too
        d += 1
    return d * DAY


def config(n):
    f = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    for i in range(n):
        f.write(f"[instrument S{i:03d}]\ntick = 0.01\nlot = 1\n\n")
    f.close()
    return f.name


def run(binary, loadgen, conf, n, rate):
    TS.XT = binary
    midnight = next_midnight(time.time_ns() + 60 * NS)
    offset_ms = (midnight - 12 * NS - time.time_ns()) // 1_000_000
    srv = TS.Server({"debug.clock_offset_ms": offset_ms}, args=["--config", conf])

    def now():
        return time.time_ns() + offset_ms * 1_000_000
    a = TS.login(srv.port, 1001, ts=now())
    b = TS.login(srv.port, 1002, ts=now())
    for i in range(n):
        inst = a.inst[f"S{i:03d}"]
        a.place(inst, SELL, 10000, 1)
        cl = b.new_order(inst, BUY, 10000, 1)
        b.expect(FILL, clordid=cl)
    if now() > midnight - 5 * NS:
        raise SystemExit("too slow: the trades did not land before midnight - 5 s")
    time.sleep((midnight - 4 * NS - now()) / NS)
    lg = None
    if rate:
        lg = subprocess.Popen([loadgen, "loadgen", "--connect", f"127.0.0.1:{srv.port}", "--connections", "64",
                               "--rate", str(rate), "--duration", "10", "--clock-offset-ms", str(offset_ms), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep((midnight + 2 * NS - now()) / NS)

    def states():
        return {f for f in os.listdir(srv.data) if re.fullmatch(r"md-state-\d+", f)}
    before = states()
    t0 = time.monotonic()
    A.ok(srv, "snapshot")
    while not states() - before:
        if time.monotonic() - t0 > 60:
            raise SystemExit("no md-state within 60 s")
        time.sleep(0.001)
    ms = (time.monotonic() - t0) * 1000
    hist = os.path.join(srv.data, "klines")
    files = sum(1 for f in os.listdir(hist) if f.endswith(".kl") and os.path.getsize(f"{hist}/{f}") > 128)
    lat = ""
    if lg:
        d = json.loads(lg.communicate(timeout=60)[0])
        lat = f" p99 {d['p99_us']} p999 {d['p999_us']} max {d['max_us']} us"
    srv.stop()
    return ms, files, lat


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    rate = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    conf = config(n)
    try:
        for r in range(1, rounds + 1):
            for name, binary in (("old", old), ("new", new)):
                ms, files, lat = run(binary, new, conf, n, rate)
                print(f"{r} {name} {ms:.1f} ms {files} files{lat}", flush=True)
    finally:
        os.unlink(conf)


if __name__ == "__main__":
    main()
