#!/usr/bin/python3
"""Integration tests of the public REST endpoints on the market-data port
(docs/rest.md): GET /api/v1/instruments, depth, trades, ticker, klines and
timeline, checked against the orders sent and against the WebSocket
snapshot of the same channel; every error status with its JSON body
{"code","msg"}; several REST requests on one kept-alive connection.

Each test starts its own server (test_server.Server: fresh data directory,
ports chosen by the kernel). Waits are for conditions, with timeouts.

usage: test_rest.py path/to/xtrading [name-substring ...]
"""
import collections
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_history as MH  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402
from xtrest import RestClient  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
SYM = "BTC-USDT"
FAST = {"md.messages_per_s": "100000"}  # no 429 in the tests that do not look for it


def get(h, path, status=200):
    """GET on the connection h: the JSON body, after checking the status,
    the content type and keep-alive."""
    st, hdrs, body = h.get(path)
    check(st == status, f"{path}: status {st}, expected {status}: {body!r}")
    check(hdrs.get("content-type") == "application/json", f"{path}: content type {hdrs}")
    check(hdrs.get("connection") == "keep-alive", f"{path}: not kept alive {hdrs}")
    check(body.endswith(b"\n"), f"{path}: no final newline")
    return json.loads(body)


def error(h, path, status, words):
    j = get(h, path, status)
    check(set(j) == {"code", "msg"} and j["code"] == status, f"{path}: error body {j}")
    for w in words:
        check(w in j["msg"], f"{path}: {w!r} not in {j['msg']!r}")


def trade_some(s):
    """BTC-USDT: sells 5 @ 1000.00 and 1 @ 1002.00, a buy 2 @ 1001.00 that
    trades 2 @ 1000.00, bids 1 @ 999.00 and 3 @ 998.00."""
    A = TS.login(s.port, 1001, 1)
    B = TS.login(s.port, 1002, 1)
    btc = A.inst[SYM]
    check(A.place(btc, X.SELL, 100000, 50000).type == X.ACCEPTED, "sell")
    check(A.place(btc, X.SELL, 100200, 10000).type == X.ACCEPTED, "sell 2")
    check(B.place(btc, X.BUY, 100100, 20000).type == X.ACCEPTED, "buy")
    B.expect(X.FILL)
    check(B.place(btc, X.BUY, 99900, 10000).type == X.ACCEPTED, "bid 1")
    check(B.place(btc, X.BUY, 99800, 30000).type == X.ACCEPTED, "bid 2")
    return A, B


def wait_depth(h, pred, what, timeout=10):
    end = time.monotonic() + timeout
    while True:
        j = get(h, f"/api/v1/depth?symbol={SYM}")
        if pred(j):
            return j
        check(time.monotonic() < end, f"timed out waiting for {what}: {j}")
        time.sleep(0.05)


def ws_snapshots(port, channels):
    """{channel: the snapshot message} from one WebSocket subscription."""
    r = W.Raw(port)
    r.upgrade()
    r.frame(1, json.dumps({"op": "subscribe", "id": 1, "args": channels}).encode())
    seen = {}
    while len(seen) < len(channels):
        op, data = r.read_frame()
        m = json.loads(data)
        if "ch" in m:
            seen.setdefault(m["ch"], m)
    r.close()
    return seen


def day_state(s):
    """The day's market data of SYM as REST tells it: ticker, tape, the
    timeline's volume and last price, the open day candle."""
    h = H.Http(s.md_port)
    tk = get(h, f"/api/v1/ticker?symbol={SYM}")
    tape = get(h, f"/api/v1/trades?symbol={SYM}")["data"]
    tl = get(h, f"/api/v1/timeline?symbol={SYM}")["data"]
    day = get(h, f"/api/v1/klines?symbol={SYM}&interval=1d&limit=1")["data"]
    h.close()
    return tk, tape, (sum(float(p["volume"]) for p in tl), tl[-1]["price"] if tl else None), day


def restart(s):
    check(s.stop() == 0, "clean stop")
    s.start()
    s.md_port = W.md_port(s)


def states(s):
    """{seq: path} of the md-state files in the data directory."""
    return {int(n[9:]): os.path.join(s.data, n) for n in os.listdir(s.data)
            if n.startswith("md-state-") and n[9:].isdigit() and len(n) == 29}


def snapshot(s, timeout=10):
    """SIGUSR1 (docs/cli.md): a snapshot, then its md state (a newer
    md-state file); returns its seq once the snapshot's file is there and
    the child that wrote it has gone (it holds the directory's lock)."""
    newest = max(states(s), default=0)
    s.proc.send_signal(signal.SIGUSR1)
    end = time.monotonic() + timeout
    while max(states(s), default=0) == newest or \
            not os.path.exists(os.path.join(s.data, f"snap-{max(states(s)):020d}.xts")) or TS.children(s.proc.pid):
        check(time.monotonic() < end, f"no snapshot with its md-state: {sorted(states(s))}")
        time.sleep(0.05)
    return max(states(s))


def last_seq(s):
    """The engine's last seq, from the log line of a clean stop (while the
    stopped run's log is kept, before the next start)."""
    for line in reversed(s.stderr().splitlines()):
        if "stopped cleanly" in line:
            return int(line.split("last_seq=")[1].split()[0])
    check(False, "no 'stopped cleanly' line")


@test
def test_day_goes_on_after_a_clean_restart():
    """A clean stop saves the md state (data/md-state-<seq>, at the final
    snapshot) and the next start goes on with it: ticker, tape, timeline
    and the open candles are what they were."""
    s = W.start(FAST)
    A, B = trade_some(s)
    wait_depth(h := H.Http(s.md_port), lambda j: len(j["bids"]) == 2, "two bid levels")
    h.close()
    before = day_state(s)
    check(before[0]["trades"] == 1 and before[0]["volume"] == "2.0000" and len(before[1]) == 1, f"before {before}")
    A.close()
    B.close()
    restart(s)
    snap = int(s.stderr().split('msg="recovered"')[1].split("snapshot=")[1].split()[0])
    check(sorted(states(s)) == [snap], f"one state, at the final snapshot's seq {snap}: {sorted(states(s))}")
    after = day_state(s)
    same = {k: v for k, v in after[0].items() if k != "ts"}  # ts: the newest message's, the books' load here
    check(same == {k: v for k, v in before[0].items() if k != "ts"}, f"ticker: before {before[0]}, after {after[0]}")
    check(after[1:] == before[1:], f"tape, timeline, day candle: before {before[1:]}, after {after[1:]}")
    check("the day goes on from md-state" in s.stderr() and "replayed_trades=0" in s.stderr(),
          "the log says the state was used")


def tape_and_minutes(s):
    """SYM's trade tape [(id, ts)] and its 1m candles [(t, trades)] from REST."""
    h = H.Http(s.md_port)
    tape = [(x["id"], x["ts"]) for x in get(h, f"/api/v1/trades?symbol={SYM}")["data"]]
    kl = [(c["t"], c["trades"]) for c in get(h, f"/api/v1/klines?symbol={SYM}&interval=1m&limit=1000")["data"]]
    h.close()
    return tape, kl


@test
def test_clock_behind_the_market():
    """The market's time never goes back (docs/deploy.md, "The clock"): a
    server that traded two hours ahead (debug.clock_offset_ms) starts again
    on the system clock, two hours behind the journal: refused by default
    (server.clock_hold_max_s, 300 s), naming the key; with the key raised
    it starts and says so (log, xt_market_clock_behind_seconds), and a
    trade now is stamped no earlier
    than the one before it and lands in a 1m candle no earlier than its
    (before, it was stamped two hours back, in a candle before the last);
    signed REST requests, timed by the wall clock, are still served; a
    crash and a start after it give the same tape and candles."""
    two_h = 7_200_000
    s = W.start(dict(FAST, **{"debug.clock_offset_ms": two_h, "journal.snapshot_secs": 0,
                              "server.login_skew_ms": 3 * two_h}))  # the test client signs with the system clock
    A, B = trade_some(s)
    A.close()
    B.close()
    tape0, kl0 = tape_and_minutes(s)
    check(len(tape0) == 1 and tape0[0][1] > time.time_ns() + two_h * 1_000_000 * 0.9, f"a trade two hours ahead: {tape0}")
    check(s.stop() == 0, "clean stop")
    s.sets["debug.clock_offset_ms"] = 0
    try:
        s.start(timeout=10)
        refused = False
    except AssertionError:
        refused = True
    check(refused and not s.running(), "a start two hours behind the journal was not refused")
    check("server.clock_hold_max_s" in s.stderr() and "behind the market's time" in s.stderr(),
          f"the refusal does not say why: {s.stderr()[-600:]}")
    s.sets["server.clock_hold_max_s"] = 3 * 3600
    # without market data's state and history the journal alone tells the time: its last record, read
    # below the final snapshot (nothing is replayed after a clean stop)
    for n in os.listdir(s.data):
        if n.startswith("md-state-"):
            os.remove(os.path.join(s.data, n))
    shutil.rmtree(os.path.join(s.data, "klines"), ignore_errors=True)
    s.start()
    s.md_port = W.md_port(s)
    check("the system clock is behind the market's time" in s.stderr(), "the log says the clock is behind")
    vals, _ = H.parse_metrics(H.scrape(s.md_port))
    behind = H.value(vals, "xt_market_clock_behind_seconds")
    check(6000 < behind <= 7300, f"xt_market_clock_behind_seconds {behind}")
    fills_of(s, 1002)  # a signed request, timed by the client's (the wall) clock: 200 while the market's holds
    A = TS.login(s.port, 1001, 1)
    check(A.place(A.inst[SYM], X.SELL, 99900, 10000).type == X.ACCEPTED, "a sell into 1002's bid at 999.00")
    A.expect(X.FILL)
    A.close()
    deadline = time.monotonic() + 10
    while True:
        live = tape_and_minutes(s)
        if [tr for tr in live[0] if tr[0] == 2]:
            break
        check(time.monotonic() < deadline, f"the second trade never reached market data: {live}")
        time.sleep(0.05)
    tape1, kl1 = live  # (the day afresh: no md-state)
    second = [tr for tr in tape1 if tr[0] == 2][0]
    check(second[1] >= tape0[0][1], f"the trade after the start stamped before the one before it: {second}, {tape0}")
    traded = [t for t, n in kl1 if n]
    check(traded and traded[0] >= kl0[-1][0], f"1m candles with trades: {kl1}, before {kl0}")
    snapshot(s)  # market data's state again (the day went on afresh), then a crash
    s.kill()
    s.start()
    s.md_port = W.md_port(s)
    check(tape_and_minutes(s) == live, f"after a crash: {tape_and_minutes(s)}, live {live}")


def fills_of(s, account):
    """GET /api/v1/fills of a demo account (signed, docs/rest.md)."""
    c = RestClient(s.md_port, account, f"demo{account}", f"demo-secret-{account}")
    st, j = c.request_after_restart("GET", "/api/v1/fills")  # (a read: sent again while a restart's window refuses it)
    check(st == 200, f"fills of {account}: {st} {j}")
    return j["data"]


@test
def test_prev_close_follows_the_ref():
    """`prev_close = ref` (docs/config.md, [instrument]): the ticker's
    previous close is the band's ref - a reload that moves it (an
    ex-rights day's adjusted 前收盘) moves prev_close and the change with
    it; an instrument without the key keeps the day's. It outlasts a crash
    (after the snapshot's md-state) and a clean restart; an instrument set
    to follow its ref at a restart takes the ref in force."""
    path = os.path.join(tempfile.mkdtemp(prefix="xt-prevclose-"), "ref.conf")
    conf = ("[instrument AAA]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\nprev_close = ref\n\n"
            "[instrument BBB]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\n")
    with open(path, "w") as f:
        f.write(conf.format(ref="100.00"))
    s = W.start(FAST, ["--config", path])
    A, B = TS.login(s.port, 1001, 1), TS.login(s.port, 1002, 1)
    for sym in ("AAA", "BBB"):  # a trade at 105.00 each
        check(A.place(A.inst[sym], X.SELL, 10500, 1).type == X.ACCEPTED, f"{sym} sell")
        check(B.place(B.inst[sym], X.BUY, 10500, 1).type == X.ACCEPTED, f"{sym} buy")
        A.expect(X.FILL)
    A.close()
    B.close()

    def tickers():
        h = H.Http(s.md_port)
        t = {sym: get(h, f"/api/v1/ticker?symbol={sym}") for sym in ("AAA", "BBB")}
        h.close()
        return {sym: (v["prev_close"], v["last"], v["change"], v["change_pct"]) for sym, v in t.items()}
    before = {"AAA": ("100.00", "105.00", "5.00", "5.00"), "BBB": ("100.00", "105.00", "5.00", "5.00")}
    TS.wait_for(lambda: tickers() == before, f"the tickers before the move: {tickers()}")
    snap = snapshot(s)  # md-state with prev_close 100.00: the move after it is replayed after a crash
    n = len(s.stderr())
    with open(path, "w") as f:
        f.write(conf.format(ref="104.50"))
    s.proc.send_signal(signal.SIGHUP)
    TS.wait_for(lambda: s.stderr()[n:].count("price band moved") == 2, "both bands moved")
    after = {"AAA": ("104.50", "105.00", "0.50", "0.48"), "BBB": ("100.00", "105.00", "5.00", "5.00")}
    TS.wait_for(lambda: tickers() == after, f"the tickers after the move: {tickers()}")
    s.kill()
    s.start()
    s.md_port = W.md_port(s)
    check(f"seq={snap} replayed_trades=0" in s.stderr(), f"the snapshot's md-state, the move replayed: "
          f"{s.stderr()[-600:]}")
    check(tickers() == after, f"the tickers after a crash: {tickers()}")
    restart(s)
    check(tickers() == after, f"the tickers after a clean restart: {tickers()}")
    # BBB set to follow its ref too (a restart's): the ref in force at once, over its saved close
    with open(path, "w") as f:
        f.write(conf.format(ref="104.50") + "prev_close = ref\n")
    restart(s)
    check(tickers() == {"AAA": after["AAA"], "BBB": after["AAA"]}, f"BBB switched: {tickers()}")


@test
def test_a_lost_band_move_comes_with_the_resync():
    """A band move lost on its way to market data (a full feed, which
    debug.md_lose_band_moves makes of every move) is learnt from the
    resync that follows (docs/websocket.md, ticker): the ticker's band
    and, for an instrument that follows its ref, its previous close are
    the move's, as for a move that got through."""
    path = os.path.join(tempfile.mkdtemp(prefix="xt-lostmove-"), "ref.conf")
    conf = ("[instrument AAA]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\nprev_close = ref\n\n"
            "[instrument BBB]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\n")
    with open(path, "w") as f:
        f.write(conf.format(ref="100.00"))
    s = W.start({**FAST, "debug.md_lose_band_moves": "on"}, ["--config", path])

    def tickers():
        h = H.Http(s.md_port)
        t = {sym: get(h, f"/api/v1/ticker?symbol={sym}") for sym in ("AAA", "BBB")}
        h.close()
        return {sym: (v["prev_close"], v["band"]) for sym, v in t.items()}

    def resyncs():
        return H.value(H.parse_metrics(H.scrape(s.md_port))[0], "xt_md_feed_resyncs_total")
    was = {"low": "90.00", "high": "110.00"}
    check(tickers() == {"AAA": ("100.00", was), "BBB": ("100.00", was)}, f"the tickers at first: {tickers()}")
    check(resyncs() == 0, "a resync before the move")
    with open(path, "w") as f:
        f.write(conf.format(ref="104.50"))
    s.proc.send_signal(signal.SIGHUP)
    now = {"low": "94.05", "high": "114.95"}
    want, got = {"AAA": ("104.50", now), "BBB": ("100.00", now)}, [None]

    def moved():
        got[0] = tickers()
        return got[0] == want
    try:
        TS.wait_for(moved, "the tickers after the move")
    except AssertionError:
        raise AssertionError(f"the tickers after the move: {got[0]}, want {want}")
    check(resyncs() >= 1, "the move was not lost: no resync counted")


@test
def test_day_goes_on_after_a_crash():
    """A snapshot writes md-state-<its seq>; after a crash market data
    loads the state of the snapshot recovery started from and replays the
    journal's trades after it: no trade is missing from the day, nor
    from the accounts' fills (GET /api/v1/fills). A state is kept while
    its snapshot is (journal.keep_snapshots), and the newest always; one
    that does not check, or of another seq, is not used (the day starts
    afresh, the log says why); one past the journal's end (a journal since
    cut back) is removed at start."""
    s = W.start(dict(FAST, **{"journal.keep_snapshots": 2}))
    A, B = trade_some(s)   # one trade; bids 1 @ 999.00 and 3 @ 998.00
    A.close()
    B.close()

    def sell_into_bid(price=99900):
        a = TS.login(s.port, 1001, 1)
        check(a.place(a.inst[SYM], X.SELL, price, 1000).type == X.ACCEPTED, "a sell that trades with a bid")
        a.expect(X.FILL)
        a.close()

    def crash():
        s.kill()
        s.start()
        s.md_port = W.md_port(s)

    sell_into_bid()
    first = snapshot(s)                   # after 2 trades
    sell_into_bid()                      # one more after it
    before = day_state(s)
    check(before[0]["trades"] == 3 and len(before[1]) == 3, f"3 trades before the crash: {before}")
    fills = {a: fills_of(s, a) for a in (1001, 1002)}
    check(len(fills[1001]) == 3 and len(fills[1002]) == 3, f"3 fills each: {fills}")
    crash()
    check({a: fills_of(s, a) for a in (1001, 1002)} == fills, "the fills after the crash")
    after = day_state(s)
    check({k: v for k, v in after[0].items() if k != "ts"} == {k: v for k, v in before[0].items() if k != "ts"},
          f"ticker after the crash: before {before[0]}, after {after[0]}")
    check(after[1:] == before[1:], f"tape, timeline, day candle: before {before[1:]}, after {after[1:]}")
    check(f"seq={first} replayed_trades=1" in s.stderr(), "the log: the snapshot's state and one trade replayed")

    # three more snapshots: a state goes with its snapshot (keep_snapshots = 2), the newest stays
    for _ in range(3):
        sell_into_bid()
        third = snapshot(s)
    snaps = sorted(int(n[5:25]) for n in os.listdir(s.data) if n.startswith("snap-") and n.endswith(".xts"))
    kept = sorted(states(s))
    # (a state goes at the save after its snapshot went: the journal removes that snapshot only once the
    # newer one is written, after the state of the newer one)
    check(len(snaps) == 2 and first not in kept and third in kept and len(kept) <= len(snaps) + 1,
          f"states {kept}, snapshots {snaps}, first {first}")

    # a state that does not check: not used, the day starts afresh
    sell_into_bid(99800)
    s.kill()
    with open(states(s)[third], "r+b") as f:
        f.seek(40)
        byte = f.read(1)
        f.seek(40)
        f.write(bytes([byte[0] ^ 0xFF]))
    s.start()
    s.md_port = W.md_port(s)
    tk = day_state(s)[0]
    check(tk["trades"] == 0 and tk["volume"] == "0.0000", f"afresh with a spoilt state: {tk}")
    check("md-state not used" in s.stderr() and "checksum" in s.stderr(), "the log says why")
    check(any("level=warn" in ln for ln in s.stderr().splitlines() if "md-state not used" in ln),
          "a warning: the day's market data is gone (it was an info line)")

    # an older state's bytes under the final snapshot's name: refused; a state past the journal's end: removed
    sell_into_bid()
    older = snapshot(s)
    sell_into_bid()
    check(s.stop() == 0, "stop")
    final = last_seq(s)
    check(older in states(s) and max(states(s)) == final, f"states at the stop {sorted(states(s))}")
    ahead = final + 1000
    shutil.copy(states(s)[final], os.path.join(s.data, f"md-state-{ahead:020d}"))
    shutil.copy(states(s)[older], states(s)[final])
    s.start()
    s.md_port = W.md_port(s)
    check(ahead not in states(s), f"a state past the journal's end is removed: {sorted(states(s))}")
    check("another sequence number" in s.stderr(), "the log says why")
    check(day_state(s)[0]["trades"] == 0, "afresh")


@test
def test_replay_trades_limit():
    """More trades since the snapshot than md.replay_trades: the day starts
    afresh after a crash, as the log says; within it (and with no snapshot
    at all: from an empty state) it goes on."""
    s = W.start(dict(FAST, **{"md.replay_trades": 2}))
    A, B = trade_some(s)
    check(A.place(A.inst[SYM], X.SELL, 99900, 1000).type == X.ACCEPTED, "a second trade")
    A.expect(X.FILL)
    A.close()
    B.close()
    s.kill()
    s.start()
    s.md_port = W.md_port(s)
    check(day_state(s)[0]["trades"] == 2, "two trades replayed from the start of the journal")
    check(" seq=0 replayed_trades=2 " in s.stderr(), "the log: no snapshot, two trades")
    A = TS.login(s.port, 1001, 1)
    check(A.place(A.inst[SYM], X.SELL, 99900, 1000).type == X.ACCEPTED, "a third trade")
    A.expect(X.FILL)
    A.close()
    s.kill()
    s.start()
    s.md_port = W.md_port(s)
    check(day_state(s)[0]["trades"] == 0, "afresh: three trades to replay")
    check("md-state not used" in s.stderr() and "md.replay_trades" in s.stderr(), "the log says why")


def day_totals(s):
    """(the sum of the tickers' trade counts, the highest trade id on the
    tapes): equal when the day holds every trade the engine made."""
    h = H.Http(s.md_port)
    total = top = 0
    for i in get(h, "/api/v1/instruments")["data"]:
        total += get(h, f"/api/v1/ticker?symbol={i['symbol']}")["trades"]
        tape = get(h, f"/api/v1/trades?symbol={i['symbol']}")["data"]
        top = max([top] + [int(t["id"]) for t in tape])
    h.close()
    return total, top


def all_fills(s, account):
    """Every fill GET /api/v1/fills has of a demo account, paged by from_id
    (a page may end between a self-trade's two fills: the last trade id is
    asked again and its fills counted once)."""
    c = RestClient(s.md_port, account, f"demo{account}", f"demo-secret-{account}")
    seen, frm = {}, 1
    while True:
        st, j = c.request_after_restart("GET", f"/api/v1/fills?limit=1000&from_id={frm}")
        check(st == 200, f"fills of {account}: {st} {j}")
        for f in j["data"]:
            seen[(f["trade_id"], f["liquidity"])] = f
        if len(j["data"]) < 1000:
            c.close()
            return list(seen.values())
        frm = j["data"][-1]["trade_id"]


def trading(s):
    """loadgen trading on every instrument of s at 5,000 orders/s (30 s at
    most): kill it when done."""
    return subprocess.Popen([TS.XT, "loadgen", "--connect", f"127.0.0.1:{s.port}", "--connections", "4",
                             "--rate", "5000", "--duration", "30", "--warmup", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_trades(s, n):
    """Waits until the day holds n trades; returns how many it holds."""
    end = time.monotonic() + 20
    while (t := day_totals(s)[0]) < n:
        check(time.monotonic() < end, f"only {t} trades, waiting for {n}")
        time.sleep(0.05)
    return t


@test
def test_day_survives_a_crash_under_load():
    """Killed while orders trade on every instrument, after a snapshot:
    the restart's day counts every trade the journal holds - those before
    the snapshot from its md state, those after it replayed - once, and so
    do the accounts' fills: the snapshot's were written by a helper thread
    while trades went on adding to them (docs/journal-format.md)."""
    s = W.start(dict(FAST, **{"rest.fills": "100000", "rest.fill_accounts": "16"}))  # room for every fill
    gen = trading(s)
    try:
        at_snap = wait_trades(s, 200)
        snap = snapshot(s)
        wait_trades(s, at_snap + 300)  # well past the snapshot (market data shows committed trades only)
        s.kill()
    finally:
        gen.kill()
        gen.wait()
    s.start()
    s.md_port = W.md_port(s)
    total, top = day_totals(s)
    check(total == top and total >= at_snap + 300, f"the day's trades {total}, the last trade id {top}")
    line = s.stderr().split("the day goes on from md-state")[1].split("\n")[0]
    check(f" seq={snap} " in line and int(line.split("replayed_trades=")[1].split()[0]) > 0,
          f"the snapshot's state, then the trades after it: {line}")
    per_trade = collections.Counter(f["trade_id"] for a in (1001, 1002, 1003, 1004) for f in all_fills(s, a))
    check(per_trade == collections.Counter({t: 2 for t in range(1, top + 1)}),
          f"a taker's and a maker's fill for each of the {top} trades: "
          f"{sorted(t for t in range(1, top + 1) if per_trade[t] != 2)[:10]} are not")


def two_snapshots_and_a_kill():
    """A server trading under load takes two snapshots and is killed; the
    newest's md-state is removed, as a kill while it was written leaves it.
    Returns (the server, the older snapshot's seq, the newest's)."""
    s = W.start(FAST)  # journal.keep_snapshots = 2: the snapshot before the newest is kept, with its segments
    gen = trading(s)
    try:
        first = snapshot(s)
        wait_trades(s, day_totals(s)[0] + 200)
        newest = snapshot(s)
        wait_trades(s, day_totals(s)[0] + 200)
        s.kill()
    finally:
        gen.kill()
        gen.wait()
    os.unlink(states(s)[newest])
    return s, first, newest


@test
def test_day_survives_a_kill_during_a_snapshot():
    """A kill while a snapshot is written can leave the snapshot (its child
    finishes it) without its md-state file (the dead server's). The next
    start recovers from the snapshot before it, whose md-state there is,
    replaying one interval more, so the day's market data goes on with
    every trade (docs/journal-format.md); it once started the day afresh.
    Here: two snapshots under load, the newest's md-state removed, a kill."""
    s, first, _ = two_snapshots_and_a_kill()
    s.start()
    s.md_port = W.md_port(s)
    total, top = day_totals(s)
    check(total == top and total >= 400, f"the day's trades {total}, the last trade id {top}")
    err = s.stderr()
    check(f"snapshot={first} snapshots_passed=1" in err, f"recovered from the snapshot before the newest: {err}")
    line = err.split("the day goes on from md-state")[1].split("\n")[0]
    check(f" seq={first} " in line, f"the older snapshot's state: {line}")


@test
def test_a_damaged_snapshot_without_md_state_is_set_aside():
    """The newest snapshot, without its md-state (so passed over for the
    one before it, as above), is also damaged: it is set aside as
    snap-<seq>.xts.bad with a warning, as a damaged newest snapshot with
    its md-state is. It was kept: retention then counted it as the newest
    and deleted the older good one this start had recovered from, with the
    segments it needs (a probe found it; journal verify failed from then
    on, and one more damaged snapshot left a server that would not start)."""
    s, first, newest = two_snapshots_and_a_kill()
    snap = os.path.join(s.data, f"snap-{newest:020d}.xts")
    TS.spoil_middle(snap)
    s.start()
    err = s.stderr()
    check("newer snapshots did not load" in err and "set_aside=1" in err and f"snapshot={first}" in err,
          f"the start's log: {err}")
    check(os.path.exists(snap + ".bad") and not os.path.exists(snap), "the damaged snapshot not set aside")
    check(s.stop() == 0, "the clean stop")  # its snapshot, then retention: two kept
    kept = sorted(int(n[5:25]) for n in os.listdir(s.data) if n.startswith("snap-") and n.endswith(".xts"))
    check(len(kept) == 2 and kept[0] == first, f"retention kept {kept}, not the good {first} and the stop's")
    v = subprocess.run([TS.XT, "journal", "verify", s.data], capture_output=True, text=True, timeout=120)
    check(v.returncode == 0, f"journal verify: {v.stdout} {v.stderr}")


@test
def test_a_failed_recovery_from_the_older_snapshot_starts_from_the_newest():
    """When recovering from the snapshot before the newest (the newest has
    no md-state) fails - here a journal segment between the two is gone -
    the server recovers again from the newest, as it did before, with what
    the failed attempt had replayed until then undone: the day's market data starts
    afresh, and a session's resent messages are those it got, once each."""
    s = W.start(dict(FAST, **{"journal.keep_snapshots": "3", "journal.segment_bytes": "16384"}))
    a, b = TS.login(s.port, 1001, 1), TS.login(s.port, 1002, 1)
    inst = a.inst[SYM]

    def trades(n):
        for _ in range(n):
            check(a.place(inst, TS.SELL, 100000, 1).type == TS.ACCEPTED, "sell")
            check(b.place(inst, TS.BUY, 100000, 1).type == TS.ACCEPTED, "buy")
    trades(5)
    first = snapshot(s)
    trades(600)  # over 100 KiB of journal: whole segments between the two snapshots
    newest = snapshot(s)
    trades(5)
    a.query(orig_clordid=1)  # answered behind the fills of b's last buy: a has every message
    sent = [m for m in a.log if m.sequenced]
    s.kill()
    os.unlink(states(s)[newest])
    segs = sorted(int(n[4:24]) for n in os.listdir(s.data) if n.startswith("wal-") and n.endswith(".log"))
    # a segment the older snapshot's replay reaches after others, which the newest's does not need
    gap = next((f for f, nxt in zip(segs, segs[1:]) if first + 1 < f and nxt <= newest + 1), None)
    check(gap, f"no segment between the snapshots {first} and {newest}: {segs}")
    with open(os.path.join(s.data, f"wal-{gap:020d}.log"), "r+b") as f:  # spoilt in its middle: not a torn tail
        f.seek(8192)
        f.write(b"\xff" * 64)
    s.start()
    s.md_port = W.md_port(s)
    err = s.stderr()
    check("recovery from the snapshot with market-data state failed; recovering from the newest" in err and
          f"snapshot={first}" in err and "md-state not used" in err, f"the start's log: {err}")
    c = X.Conn(s.port)
    acc = c.login(1001, session=1, resume_from=1)
    check(acc.next_seq - 1 == sent[-1].seq, f"next_seq {acc.next_seq} after {sent[-1].seq}")
    got = [c.wait(lambda m: m.sequenced, what="resent") for _ in range(sent[-1].seq)]
    check([(m.seq, m.type) for m in got] == [(m.seq, m.type) for m in sent], "resent messages differ")
    check(c.query(orig_clordid=1).type == TS.STATUS_REPLY, "the session goes on")


@test
def test_instruments():
    s = W.start(FAST)
    h = H.Http(s.md_port)
    j = get(h, "/api/v1/instruments")
    got = [(i["symbol"], i["id"], i["tick"], i["lot"]) for i in j["data"]]
    check(got == [("600519.SH", 0, "0.01", "100"), ("000001.SZ", 1, "0.01", "100"),
                  ("BTC-USDT", 2, "0.01", "0.0001"), ("ETH-USDT", 3, "0.01", "0.001")], f"instruments {got}")
    check(all(i["status"] == "trading" for i in j["data"]), f"status {j}")  # "halted": test_admin
    bands = [i["band"] for i in j["data"]]  # 1700.00 and 11.50 ±10%; a band moved by a reload: test_md_tcp
    check(bands == [{"low": "1530.00", "high": "1870.00"}, {"low": "10.35", "high": "12.65"}, None, None],
          f"bands {bands}")
    zones = [(i["tz"], i["prev_close"]) for i in j["data"]]  # Asia/Shanghai is +08:00
    check(zones == [("+08:00", "close"), ("+08:00", "close"), ("UTC", "close"), ("UTC", "close")], f"zones {zones}")
    h.close()
    conf = os.path.join(tempfile.mkdtemp(prefix="xt-rest-test-"), "zones.conf")
    with open(conf, "w") as f:
        f.write("[instrument W]\ntick = 0.01\nlot = 1\ntz = -05:30\n\n"
                "[instrument E]\ntick = 0.01\nlot = 1\nref = 10.00\nband = 10\nprev_close = ref\ntz = +14:00\n")
    s = W.start(FAST, args=("--config", conf))
    h = H.Http(s.md_port)
    zones = [(i["symbol"], i["tz"], i["prev_close"]) for i in get(h, "/api/v1/instruments")["data"]]
    check(zones == [("W", "-05:30", "close"), ("E", "+14:00", "ref")], f"zones {zones}")
    h.close()


@test
def test_market_data_endpoints():
    """depth, trades, ticker and timeline agree with the orders sent and
    are, byte for byte once parsed, the WebSocket snapshots."""
    s = W.start(FAST)
    A, B = trade_some(s)
    h = H.Http(s.md_port)
    d = wait_depth(h, lambda j: len(j["bids"]) == 2, "two bid levels")
    check(d["ch"] == f"depth.{SYM}" and d["type"] == "snapshot" and d["seq"] > 0, f"depth head {d}")
    check(d["bids"] == [["999.00", "1.0000"], ["998.00", "3.0000"]], f"bids {d['bids']}")
    check(d["asks"] == [["1000.00", "3.0000"], ["1002.00", "1.0000"]], f"asks {d['asks']}")
    d1 = get(h, f"/api/v1/depth?symbol={SYM}&limit=1")
    check(d1["bids"] == d["bids"][:1] and d1["asks"] == d["asks"][:1], f"limit=1: {d1}")
    t = get(h, f"/api/v1/trades?symbol={SYM}")
    check(len(t["data"]) == 1 and t["type"] == "snapshot", f"trades {t}")
    tr = t["data"][0]
    check((tr["price"], tr["qty"], tr["side"]) == ("1000.00", "2.0000", "buy"), f"trade {tr}")
    tk = get(h, f"/api/v1/ticker?symbol={SYM}")
    check((tk["last"], tk["volume"], tk["trades"], tk["bid"], tk["ask"]) == ("1000.00", "2.0000", 1, "999.00",
                                                                            "1000.00"), f"ticker {tk}")
    tl = get(h, f"/api/v1/timeline?symbol={SYM}")
    check(tl["ch"] == f"timeline.{SYM}" and tl["data"] and tl["data"][-1]["price"] == "1000.00", f"timeline {tl}")
    check(sum(float(p["volume"]) for p in tl["data"]) == 2.0, f"timeline volume {tl}")
    ws = ws_snapshots(s.md_port, [f"depth.{SYM}", f"trades.{SYM}", f"ticker.{SYM}", f"timeline.{SYM}"])
    check(ws[f"depth.{SYM}"] == d, f"depth: REST {d} WS {ws[f'depth.{SYM}']}")
    check(ws[f"trades.{SYM}"] == t, f"trades: REST {t} WS {ws[f'trades.{SYM}']}")
    check(ws[f"ticker.{SYM}"] == tk, f"ticker: REST {tk} WS {ws[f'ticker.{SYM}']}")
    check(ws[f"timeline.{SYM}"] == tl, f"timeline: REST {tl} WS {ws[f'timeline.{SYM}']}")
    e = get(h, "/api/v1/depth?symbol=ETH-USDT")
    check(e["bids"] == [] and e["asks"] == [], f"an empty book {e}")
    check(get(h, "/api/v1/trades?symbol=ETH%2DUSDT")["data"] == [], "percent-decoded symbol, no trades")
    h.close()
    A.close()
    B.close()


@test
def test_long_ticks_and_lots():
    """Money past 128 bits prints exactly: with tick = lot =
    0.12345678901234567, one tick x one lot is a 33-digit mantissa, and a
    turnover of 2,000 ticks x 1,000 lots (an ODD trade) passes 2^127 - it
    came out negative once (the ticker and the K-lines, on REST and the
    WebSocket). BIG's trade at the largest price and quantity too."""
    from decimal import Decimal, getcontext
    getcontext().prec = 100
    d = tempfile.mkdtemp(prefix="xt-long-")
    conf = os.path.join(d, "long.conf")
    with open(conf, "w") as f:
        f.write("[instrument ODD]\ntick = 0.12345678901234567\nlot = 0.12345678901234567\n\n"
                "[instrument BIG]\ntick = 1000000\nlot = 1000000\n")
    s = W.start(FAST, ["--config", conf])
    A = TS.login(s.port, 1001, 1)
    B = TS.login(s.port, 1002, 1)
    pmax, qmax = (1 << 48) - 1, (1 << 40) - 1
    for sym, px, qty in (("ODD", 2000, 1000), ("BIG", pmax, qmax)):
        check(A.place(A.inst[sym], X.SELL, px, qty).type == X.ACCEPTED, f"{sym}: sell")
        check(B.place(B.inst[sym], X.BUY, px, qty).type == X.ACCEPTED, f"{sym}: buy")
        B.expect(X.FILL)
    h = H.Http(s.md_port)
    for sym, tick, px, qty in (("ODD", "0.12345678901234567", 2000, 1000), ("BIG", "1000000", pmax, qmax)):
        unit = Decimal(tick)
        want = Decimal(px) * unit * Decimal(qty) * unit
        tk = wait_for(lambda: get(h, f"/api/v1/ticker?symbol={sym}"), lambda j: j["trades"] == 1, f"{sym} ticker")
        check(Decimal(tk["turnover"]) == want and not tk["turnover"].startswith("-"),
              f"{sym}: turnover {tk['turnover']}, want {want}")
        k = get(h, f"/api/v1/klines?symbol={sym}&interval=1m")
        check(Decimal(k["data"][-1]["turnover"]) == want, f"{sym}: 1m candle's turnover {k['data'][-1]}")
        ws = ws_snapshots(s.md_port, [f"ticker.{sym}"])
        check(ws[f"ticker.{sym}"]["turnover"] == tk["turnover"], f"{sym}: WebSocket {ws[f'ticker.{sym}']}")
    h.close()
    A.close()
    B.close()
    s.stop()
    shutil.rmtree(d, ignore_errors=True)


def wait_for(get_one, pred, what, timeout=10):
    end = time.monotonic() + timeout
    while True:
        j = get_one()
        if pred(j):
            return j
        check(time.monotonic() < end, f"{what}: {j}")
        time.sleep(0.02)


@test
def test_errors():
    """Every error is {"code":N,"msg":...} with the status N; the
    connection stays open after each."""
    s = W.start(FAST)
    h = H.Http(s.md_port)
    error(h, "/api/v1/depth", 400, ["missing parameter symbol"])
    error(h, "/api/v1/depth?symbol=", 400, ["bad parameter symbol"])
    error(h, "/api/v1/depth?symbol=NOPE", 404, ["unknown symbol NOPE"])
    error(h, "/api/v1/ticker?symbol=%zz", 400, ["bad parameter symbol"])
    error(h, f"/api/v1/depth?symbol={SYM}&limit=0", 400, ["bad parameter limit", "1..10000"])
    error(h, f"/api/v1/depth?symbol={SYM}&limit=10001", 400, ["bad parameter limit"])
    error(h, f"/api/v1/trades?symbol={SYM}&limit=x", 400, ["bad parameter limit", "1..1000"])
    error(h, "/api/v1/nothing", 404, ["unknown path"])
    error(h, "/api/v2/ticker", 404, ["unknown path"])
    h.send("DELETE", f"/api/v1/ticker?symbol={SYM}")
    st, hdrs, body = h.response()
    check(st == 405 and json.loads(body) == {"code": 405, "msg": "only GET is served"}, f"405: {st} {body!r}")
    check(get(h, "/healthz") == {"status": "ok"}, "the health endpoints keep their bodies")
    h.close()


@test
def test_rate_limit():
    """Over md.messages_per_s REST requests in a second on one connection:
    429, and the connection stays usable."""
    s = W.start({"md.messages_per_s": "5"})
    h = H.Http(s.md_port)
    codes = []
    for _ in range(8):
        h.send("GET", "/api/v1/instruments")
    for _ in range(8):
        st, _, body = h.response()
        codes.append(st)
        if st == 429:
            j = json.loads(body)
            check(j["code"] == 429 and "md.messages_per_s" in j["msg"], f"429 body {j}")
    check(codes.count(200) == 5 and codes.count(429) == 3, f"statuses {codes}")
    time.sleep(1.1)
    check(get(h, "/api/v1/instruments")["data"], "allowed again the next second")
    h.close()


NS = 1_000_000_000
T0 = 1704067200 * NS  # 2024-01-01 00:00 UTC


def write_history(d, n):
    """d/BTC-USDT.1m.kl with n closed one-minute candles from T0: candle k
    opens at 1000.00 + k ticks, closes a tick higher, volume k+1 lots."""
    os.makedirs(d, exist_ok=True)
    h = struct.pack("<8sHHHBBIiqBqB6x24s52x", b"XTKLN001", 1, 128, 72, 0, 0, 60, 0, 1, 2, 1, 4, SYM.encode())
    out = h + struct.pack("<I", MH.crc32c(h))
    for k in range(n):
        o = 100000 + k
        r = struct.pack("<qqqqqqQqI", T0 + k * 60 * NS, o, o + 1, o, o + 1, k + 1, o * (k + 1), 0, 1)
        out += r + struct.pack("<I", MH.crc32c(r))
    with open(os.path.join(d, f"{SYM}.1m.kl"), "wb") as f:
        f.write(out)


@test
def test_klines():
    """Closed candles from the history file (by start, by end, bounded by
    limit), then the current candle from memory, as the kline.1m
    channel's data; the parameter errors."""
    tmp = tempfile.mkdtemp(prefix="xt-rest-kl-")
    try:
        write_history(tmp, 20)
        s = W.start({**FAST, "md.history_dir": tmp})
        h = H.Http(s.md_port)
        base = f"/api/v1/klines?symbol={SYM}&interval=1m"
        j = get(h, f"{base}&start={T0}&limit=3")
        check(j["ch"] == f"kline.1m.{SYM}" and j["type"] == "snapshot", f"head {j}")
        check([c["t"] for c in j["data"]] == [T0, T0 + 60 * NS, T0 + 120 * NS], f"start, limit 3: {j['data']}")
        c = j["data"][1]
        check(c == {"t": T0 + 60 * NS, "open": "1000.01", "high": "1000.02", "low": "1000.01", "close": "1000.02",
                    "volume": "0.0002", "turnover": "0.200002", "trades": 1, "closed": True}, f"candle {c}")
        j = get(h, f"{base}&start={T0 + 90 * NS}&end={T0 + 240 * NS}")
        check([c["t"] for c in j["data"]] == [T0 + k * 60 * NS for k in (2, 3, 4)], f"start..end: {j['data']}")
        j = get(h, f"{base}&end={T0 + 19 * 60 * NS}&limit=4")
        check([c["t"] for c in j["data"]] == [T0 + k * 60 * NS for k in (16, 17, 18, 19)], f"end, limit 4: {j['data']}")
        check(len(get(h, f"{base}&end={T0 + 19 * 60 * NS}")["data"]) == 20, "every record (default limit 500)")
        check(get(h, f"{base}&end={T0 - 1}")["data"] == [], "nothing before the file")
        j = get(h, f"{base}&limit=2")
        check(j["data"][0]["t"] == T0 + 19 * 60 * NS and j["data"][0]["closed"], f"the newest closed: {j['data']}")
        cur = j["data"][1]
        check(not cur["closed"] and cur["t"] > T0 + 19 * 60 * NS, f"the current candle: {cur}")
        ws = ws_snapshots(s.md_port, [f"kline.1m.{SYM}"])[f"kline.1m.{SYM}"]
        check(ws["data"]["t"] != cur["t"] or ws["data"] == cur, f"current: REST {cur} WS {ws['data']}")
        check(get(h, f"/api/v1/klines?symbol=ETH-USDT&interval=1h&end={T0}")["data"] == [], "no file")
        error(h, f"/api/v1/klines?symbol={SYM}", 400, ["missing parameter interval"])
        error(h, f"{base[:-2]}2m", 400, ["bad parameter interval"])
        error(h, f"{base}&start=abc", 400, ["bad parameter start"])
        error(h, f"{base}&start=5&end=4", 400, ["bad parameter end"])
        error(h, f"{base}&limit=1001", 400, ["bad parameter limit", "1..1000"])
        error(h, "/api/v1/klines?interval=1m", 400, ["missing parameter symbol"])
        h.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test
def test_busy():
    """md.output_limit bounds what piles up, not one answer: a GET of 1,000
    trades (~100 KB) alone on an idle connection at 64 KiB is served (it
    was once refused on any connection), and a second pipelined behind it
    waits until the first is written, then is served too (it was a 503
    {"code","msg"} and a close)."""
    s = W.start({**FAST, "md.output_limit": "65536", "md.send_buffer": "4096", "limits.rate": "1000000",
                 "limits.burst": "1000000"})
    A = TS.login(s.port, 1001, 1)
    B = TS.login(s.port, 1002, 1)
    btc = A.inst[SYM]
    check(A.place(btc, X.SELL, 100000, 1000).type == X.ACCEPTED, "sell")
    cls = [B.new_order(btc, X.BUY, 100000, 1) for _ in range(900)]
    TS.collect_answers(B, cls, timeout=30)
    h = H.Http(s.md_port)
    end = time.monotonic() + 10
    while len(get(h, f"/api/v1/trades?symbol={SYM}&limit=500")["data"]) < 500:
        check(time.monotonic() < end, "500 trades on the tape")
        time.sleep(0.05)
    h.close()
    h = H.Http(s.md_port)
    check(len(get(h, f"/api/v1/trades?symbol={SYM}&limit=1000")["data"]) == 900, "a large answer alone (900 trades)")
    h.close()
    # two pipelined, unread: the second finds the first still queued (md.send_buffer 4 KiB, the client's
    # receive buffer small) and over half the limit: it waits until the first is written, and is then
    # answered (before, a 503 and a close)
    h = H.Http(s.md_port)
    h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = f"GET /api/v1/trades?symbol={SYM}&limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    h.sock.sendall(req + req)
    for k in range(2):
        st, _, body = h.response()
        check(st == 200 and len(json.loads(body)["data"]) == 900, f"answer {k}: {st}")
    check(h.get("/healthz")[0] == 200, "the connection after both")
    h.close()
    h = H.Http(s.md_port)
    check(len(get(h, f"/api/v1/trades?symbol={SYM}&limit=10")["data"]) == 10, "a smaller answer is served")
    h.close()
    A.close()
    B.close()


@test
def test_keep_alive():
    """Several REST requests on one connection, one by one and pipelined;
    Connection: close is answered and closes."""
    s = W.start(FAST)
    h = H.Http(s.md_port)
    for p in ("/api/v1/instruments", f"/api/v1/ticker?symbol={SYM}", f"/api/v1/depth?symbol={SYM}&limit=5",
              "/api/v1/nope", f"/api/v1/trades?symbol={SYM}", f"/api/v1/timeline?symbol={SYM}", "/healthz"):
        h.send("GET", p)
        st, hdrs, _ = h.response()
        check(hdrs.get("connection") == "keep-alive", f"{p}: {st} {hdrs}")
    h.sock.sendall(b"".join(f"GET /api/v1/ticker?symbol={SYM} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                            for _ in range(3)))
    for _ in range(3):
        check(h.response()[0] == 200, "pipelined")
    st, hdrs, _ = h.get("/api/v1/instruments", ["Connection: close"])
    check(st == 200 and hdrs.get("connection") == "close", f"close: {st} {hdrs}")
    check(h.closed(), "closed after Connection: close")
    h.close()


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
