#!/usr/bin/python3
"""Integration tests of binary market data over TCP (docs/md-binary.md) of
`xtrading serve`, through a client written here from that doc alone
(standard library: socket and struct). Orders come from `xtrading loadgen`
and from the Python order-entry client (xtclient.py).

Each test starts its own server (test_server.Server: fresh data directory,
ports chosen by the kernel). Tests wait for specific messages with
timeouts; a fixed wait is used only to show that something does NOT
arrive, to let a stalled client fall behind, or to pace a client's own
heartbeats.

usage: test_md_tcp.py path/to/xtrading [name-substring ...]
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402

TCP_LINE = re.compile(r"binary market data on tcp://127\.0\.0\.1:(\d+)/")
SYM = "BTC-USDT"
TESTS, test = TS.registry()
check = TS.check

# ---- the protocol, from docs/md-binary.md ------------------------------------------

HDR = struct.Struct("<HBBIQ")  # len, type, flags, reserved, seq
C_HEARTBEAT, SUBSCRIBE, UNSUBSCRIBE, SNAPSHOT = 0x02, 0x20, 0x21, 0x22
INSTRUMENT, HEARTBEAT, ERROR = 0x84, 0x85, 0x86
MD_HELLO, ACK, REJECT, DEPTH_SNAPSHOT, DEPTH_DELTA, TRADE, TICKER, BBO = range(0xA0, 0xA8)
CH_DEPTH, CH_TRADES, CH_TICKER, CH_BBO, CH_INSTRUMENT = 1, 2, 4, 8, 16
FIRST, LAST, SNAP = 1, 2, 4
R_UNKNOWN_INSTRUMENT, R_BAD_CHANNELS, R_BAD_DEPTH, R_TOO_MANY_SUBSCRIPTIONS, R_SERVER_FULL, R_RATE_LIMIT, \
    R_BUSY = range(1, 8)
E_MALFORMED, E_FRAME_TOO_LARGE, E_UNKNOWN_TYPE, E_HEARTBEAT_TIMEOUT, E_SLOW_CONSUMER, E_SHUTDOWN, \
    E_TOO_MANY_CONNECTIONS = 1, 2, 3, 5, 6, 8, 12
LENGTHS = {INSTRUMENT: 96, HEARTBEAT: 16, ERROR: 80, MD_HELLO: 48, ACK: 32, REJECT: 80, TRADE: 56, TICKER: 168,
           BBO: 64}
TICKER_FIELDS = ["instrument", "flags", "status", "ts", "prev_close", "open", "high", "low", "last", "volume", "turnover_lo",
                 "turnover_hi", "vwap", "trades", "bid", "bid_qty", "ask", "ask_qty", "bid5_qty", "ask5_qty",
                 "change_bp", "weibi_bp"]


def request(typ, request_id, instrument, channels, depth=0):
    return HDR.pack(32, typ, 0, 0, 0) + struct.pack("<QIBBH", request_id, instrument, channels, depth, 0)


def decode(f):
    ln, typ, flags, reserved, seq = HDR.unpack_from(f)
    check(flags == 0 and reserved == 0, f"header flags/reserved not 0: {f[:16].hex()}")
    m = {"type": typ, "len": ln, "seq": seq}
    if typ in LENGTHS:
        check(ln == LENGTHS[typ], f"type 0x{typ:02x} with len {ln}")
    if typ == MD_HELLO:
        v = struct.unpack_from("<HHIIIqII", f, 16)
        m.update(version=v[0], heartbeat_ms=v[2], instruments=v[3], max_subscriptions=v[4], server_time=v[5],
                 messages_per_s=v[6])
    elif typ == INSTRUMENT:
        v = struct.unpack_from("<IBB2x16sqqqqqqBB", f, 16)
        m.update(id=v[0], has_band=v[1], status=v[2], symbol=v[3].rstrip(b"\0").decode(), tick_m=v[4], lot_m=v[5],
                 band=(v[1], v[8], v[9]), tick_scale=v[10], lot_scale=v[11])
    elif typ == ERROR:
        code, text = struct.unpack_from("<H62s", f, 16)
        m.update(code=code, text=text.split(b"\0")[0].decode())
    elif typ in (ACK, REJECT):
        v = struct.unpack_from("<QIBBBB", f, 16)
        m.update(request_id=v[0], instrument=v[1], channels=v[2], depth=v[3], request=v[4])
        if typ == REJECT:
            reason, text = struct.unpack_from("<H46s", f, 32)
            m.update(reason=reason, text=text.split(b"\0")[0].decode())
    elif typ in (DEPTH_SNAPSHOT, DEPTH_DELTA):
        inst, flags, depth, _, ts, prev, nb, na, _ = struct.unpack_from("<IBBHqQHHI", f, 16)
        check(ln == 48 + 16 * (nb + na), f"depth frame len {ln} with {nb}+{na} levels")
        lv = [struct.unpack_from("<qq", f, 48 + 16 * i) for i in range(nb + na)]
        m.update(instrument=inst, flags=flags, depth=depth, ts=ts, prev_seq=prev, bids=lv[:nb], asks=lv[nb:])
    elif typ == TRADE:
        inst, flags, side, _, ts, tid, price, qty = struct.unpack_from("<IBBHqQqq", f, 16)
        m.update(instrument=inst, flags=flags, side=side, ts=ts, trade_id=tid, price=price, qty=qty)
    elif typ == TICKER:
        m.update(zip(TICKER_FIELDS, struct.unpack_from("<IBB2xqqqqqqqQqqQqqqqqqii", f, 16)))
        m["turnover"] = m["turnover_hi"] << 64 | m["turnover_lo"]
    elif typ == BBO:
        m.update(zip(["instrument", "flags", "ts", "bid", "bid_qty", "ask", "ask_qty"],
                     struct.unpack_from("<IB3xqqqqq", f, 16)))
    return m


class Md:
    """One connection: reads MD_HELLO and the INSTRUMENT list, then frames."""

    def __init__(self, port, rcvbuf=None, greet=True, source=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.buf = bytearray()
        self.inst = {}
        self.status = {}  # symbol -> INSTRUMENT's status byte (1: halted) as of the greeting
        self.band = {}  # symbol -> (has_band, band low, band high) as of the greeting
        if greet:
            self.hello = self.frame()
            check(self.hello["type"] == MD_HELLO, f"first message: {self.hello}")
            for _ in range(self.hello["instruments"]):
                i = self.frame()
                check(i["type"] == INSTRUMENT, f"expected INSTRUMENT: {i}")
                self.inst[i["symbol"]] = i["id"]
                self.status[i["symbol"]] = i["status"]
                self.band[i["symbol"]] = i["band"]

    def send(self, b):
        self.sock.sendall(b)

    def req(self, typ, rid, inst, channels, depth=0):
        self.send(request(typ, rid, inst, channels, depth))

    def frame(self, timeout=5):
        """The next frame, decoded; socket.timeout, or EOFError at EOF."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                ln = self.buf[0] | self.buf[1] << 8
                check(ln >= 16, f"frame len {ln}")
                if len(self.buf) >= ln:
                    f = bytes(self.buf[:ln])
                    del self.buf[:ln]
                    return decode(f)
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError("closed")
            self.buf += d

    def until(self, pred, timeout=5):
        """Reads until pred(frame); returns (frame, frames before it)."""
        end = time.monotonic() + timeout
        seen = []
        while True:
            m = self.frame(max(0.01, end - time.monotonic()))
            if pred(m):
                return m, seen
            seen.append(m)

    def answer(self, rid, timeout=5):
        return self.until(lambda m: m["type"] in (ACK, REJECT) and m["request_id"] == rid, timeout)[0]

    def quiet(self, t=0.5):
        """Everything that arrives until t seconds pass without a frame."""
        got = []
        while True:
            try:
                got.append(self.frame(t))
            except socket.timeout:
                return got

    def until_eof(self, timeout=10):
        got = []
        end = time.monotonic() + timeout
        while True:
            try:
                got.append(self.frame(max(0.01, end - time.monotonic())))
            except (EOFError, ConnectionResetError):
                return got

    def close(self):
        self.sock.close()


class Book:
    """A client's depth of one (instrument, depth) channel, per the doc:
    DEPTH_SNAPSHOT frames replace it (FIRST clears), DEPTH_DELTA frames set
    absolute quantities (0 = gone); a frame whose prev_seq is not the last
    seq applied is a gap."""

    def __init__(self):
        self.side = None
        self.seq = None
        self.gaps = self.deltas = self.snapshots = 0
        self.complete = False

    def apply(self, m):
        if m["type"] == DEPTH_SNAPSHOT and m["flags"] & FIRST:
            check(m["prev_seq"] == 0 and m["flags"] & SNAP, f"snapshot's first frame: {m}")
            self.side = ({}, {})
            self.snapshots += 1
        else:
            check(self.side is not None, f"a depth frame before any snapshot: {m}")
            if m["prev_seq"] != self.seq:
                self.gaps += 1
            if m["flags"] & FIRST:
                self.deltas += 1
        check(not (m["flags"] & FIRST) or self.complete or self.seq is None, "a message inside a message")
        for k, levels in ((0, m["bids"]), (1, m["asks"])):
            for p, q in levels:
                if q == 0:
                    check(p in self.side[k], f"removes level {p} it never had")
                    del self.side[k][p]
                else:
                    self.side[k][p] = q
        self.seq = m["seq"]
        self.complete = bool(m["flags"] & LAST)

    def levels(self, k):
        return sorted(self.side[k].items(), key=lambda pq: -pq[0] if k == 0 else pq[0])


def is_depth(m, inst, depth):
    return m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA) and m["instrument"] == inst and m["depth"] == depth


def fresh_snapshot(s, inst, depth):
    """A new connection's snapshot of (inst, depth): (bids, asks, seq, frames)."""
    c = Md(s.md_tcp)
    c.req(SUBSCRIBE, 1, inst, CH_DEPTH, depth)
    check(c.answer(1)["type"] == ACK, "subscribe")
    b, frames = Book(), []
    while not (frames and b.complete):
        m = c.frame()
        if is_depth(m, inst, depth):
            check(m["type"] == DEPTH_SNAPSHOT, f"a delta before the snapshot ended: {m}")
            frames.append(m)
            b.apply(m)
    c.close()
    return b.levels(0), b.levels(1), b.seq, frames


# ---- harness ------------------------------------------------------------------------


def start(sets=None, args=()):
    s = TS.Server(sets, args)
    s.md_tcp = None
    for line in s.out:
        m = TCP_LINE.search(line)
        if m:
            s.md_tcp = int(m.group(1))
    check(s.md_tcp or "--md-tcp-listen" in args, f"no binary market-data line in {s.out}")
    return s


def loadgen(s, seconds=1.5, conns=4, pipeline=8, extra=()):
    out = subprocess.run([TS.XT, "loadgen", "--connect", f"127.0.0.1:{s.port}", "--connections", str(conns),
                          "--pipeline", str(pipeline), "--duration", str(seconds), "--warmup", "0", "--json",
                          *extra], capture_output=True, timeout=60)
    check(out.returncode == 0, f"loadgen failed: {out.stderr.decode()[-500:]}")
    r = json.loads(out.stdout)
    check(r["acked"] > 0, f"loadgen got nothing acked: {r}")
    return r


def in_background(fn, *a):
    """Runs fn(*a) in a thread; .join() re-raises its exception."""
    box = {}

    def run():
        try:
            fn(*a)
        except BaseException as e:  # noqa: B902
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join()
        if "e" in box:
            raise box["e"]
    t.finish = join
    return t


# ---- tests --------------------------------------------------------------------------

@test
def test_greeting_and_requests():
    s = start({"md.max_subscriptions": 7, "md.messages_per_s": 40, "md.tcp_heartbeat_ms": 3000})
    loadgen(s, 0.5)
    c = Md(s.md_tcp)
    h = c.hello
    check(h["version"] == 1 and h["heartbeat_ms"] == 3000 and h["instruments"] == 4, f"hello: {h}")
    check(h["max_subscriptions"] == 7 and h["messages_per_s"] == 40, f"hello limits: {h}")
    check(abs(h["server_time"] - time.time_ns()) < 60e9, f"server time {h['server_time']}")
    check(sorted(c.inst) == sorted(["600519.SH", "000001.SZ", "BTC-USDT", "ETH-USDT"]), f"instruments {c.inst}")
    o = TS.login(s.port, 1001)
    check(c.inst == o.inst, f"md ids {c.inst} != order entry's {o.inst}")
    i = c.inst[SYM]
    # every channel, the whole book and the top 5: an ACK first, then one snapshot each
    c.req(SUBSCRIBE, 11, i, CH_DEPTH | CH_TRADES | CH_TICKER | CH_BBO, 0)
    c.req(SUBSCRIBE, 12, i, CH_DEPTH, 5)
    a, before = c.until(lambda m: m["type"] in (ACK, REJECT))
    check(not before and a["type"] == ACK, f"ack: {a} after {before}")
    check((a["request_id"], a["instrument"], a["channels"], a["depth"], a["request"]) == (11, i, 15, 0, SUBSCRIBE),
          f"ack echoes the request: {a}")
    got = {}
    trades = []

    def done():
        return all(k in got for k in ("ack12", ("depth", 5), TICKER, BBO)) and \
            got.get(("depth", 0), {}).get("last") and trades and trades[-1]["flags"] & LAST
    while not done():
        m = c.frame()
        check(m.get("ts", 2e18) > 1.6e18, f"no event timestamp: {m}")
        if m["type"] == ACK:
            check(m["request_id"] == 12, f"second ack {m}")
            got["ack12"] = m
        elif m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA):
            check(m["type"] == DEPTH_SNAPSHOT or ("depth", m["depth"]) in got, f"delta before snapshot: {m}")
            first = got.setdefault(("depth", m["depth"]), m)
            first["last"] = first.get("last") or bool(m["flags"] & LAST)
        elif m["type"] == TRADE:
            trades.append(m)
            got.setdefault("trade", m)
        else:
            got.setdefault(m["type"], m)
    for k in (("depth", 0), ("depth", 5), TICKER, BBO):
        m = got[k]
        check(m["flags"] & SNAP and m["flags"] & FIRST and m["seq"] > 0 and m["instrument"] == i, f"{k}: {m}")
    check(len(got[("depth", 5)]["bids"]) <= 5 and len(got[("depth", 5)]["asks"]) <= 5, "depth 5 too deep")
    snap_trades = [t for t in trades if t["flags"] & SNAP]
    check(0 < len(snap_trades) <= 100 and snap_trades[0]["flags"] & FIRST, f"trades snapshot: {snap_trades[:2]}")
    ids = [t["trade_id"] for t in snap_trades]
    check(ids == sorted(ids), "trades snapshot not oldest first")
    # UNSUBSCRIBE: ACK, and nothing of those channels after it
    c.req(UNSUBSCRIBE, 13, i, CH_DEPTH | CH_TRADES | CH_TICKER | CH_BBO, 0)
    check(c.answer(13)["type"] == ACK, "unsubscribe")
    c.req(UNSUBSCRIBE, 14, i, CH_TRADES | CH_BBO)  # not subscribed: ACK all the same
    check(c.answer(14)["type"] == ACK, "unsubscribe of nothing")
    # an order joining the best bid (or making one): the top 5, the ticker and the bbo change
    bids5 = got[("depth", 5)]["bids"]
    o.place(i, X.BUY, bids5[0][0] if bids5 else 2000000, 3)
    d5 = c.until(lambda m: m["type"] == DEPTH_DELTA)[0]
    check(d5["depth"] == 5, f"an unsubscribed channel still sends: {d5}")
    for m in c.quiet(0.3):
        check(m["type"] == DEPTH_DELTA and m["depth"] == 5, f"after unsubscribe: {m}")
    # SNAPSHOT of a channel not subscribed: ACK, then its snapshot, once
    c.req(SNAPSHOT, 15, i, CH_TICKER)
    a, before = c.until(lambda m: m["type"] in (ACK, REJECT))
    check(a["type"] == ACK and a["request"] == SNAPSHOT and not before, f"snapshot ack {a} after {before}")
    t = c.frame()
    check(t["type"] == TICKER and t["flags"] == FIRST | LAST | SNAP and t["trades"] > 0, f"ticker snapshot {t}")
    # SNAPSHOT of a subscribed depth: the chain restarts at it
    c.req(SNAPSHOT, 16, i, CH_DEPTH, 5)
    check(c.answer(16)["type"] == ACK, "snapshot ack")
    m = c.frame()
    check(m["type"] == DEPTH_SNAPSHOT and m["depth"] == 5 and m["seq"] >= d5["seq"], f"depth snapshot {m}")
    c.close()
    o.close()


@test
def test_depth_rebuilt_equals_snapshot():
    """The whole book, top 5 and top 20 rebuilt from snapshot + deltas equal
    fresh snapshots; the seq chain of a reading client has no gap."""
    s = start({"md.max_subscriptions": 8})
    loadgen(s, 0.5)
    c = Md(s.md_tcp)
    i = c.inst[SYM]
    books = {d: Book() for d in (0, 5, 20)}
    for d in books:
        c.req(SUBSCRIBE, d + 1, i, CH_DEPTH, d)
    t = in_background(loadgen, s, 2.0)
    while t.is_alive():
        try:
            m = c.frame(0.2)
        except socket.timeout:
            continue
        if m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA):
            books[m["depth"]].apply(m)
    t.finish()
    for m in c.quiet(0.5):
        if m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA):
            books[m["depth"]].apply(m)
    for d, b in books.items():
        check(b.gaps == 0, f"depth {d}: {b.gaps} gaps in the seq chain of a reading client")
        check(b.deltas > 50 and b.snapshots == 1, f"depth {d}: {b.deltas} deltas, {b.snapshots} snapshots")
        check(b.complete, f"depth {d}: ends inside a message")
        bids, asks, seq, _ = fresh_snapshot(s, i, d)
        check(b.levels(0) == bids, f"depth {d} bids: rebuilt {b.levels(0)[:5]} != snapshot {bids[:5]}")
        check(b.levels(1) == asks, f"depth {d} asks: rebuilt {b.levels(1)[:5]} != snapshot {asks[:5]}")
        check(seq == b.seq, f"depth {d}: seq {b.seq} != snapshot's {seq}")
        check(d == 0 or (len(bids) <= d and len(asks) <= d), f"depth {d} holds more")
    c.close()


@test
def test_trades_ticker_bbo_agree_with_orders():
    """Orders placed through order entry: the trades, the ticker, the bbo
    and the top 5 say exactly what they did."""
    s = start()
    c = Md(s.md_tcp)
    i = c.inst[SYM]
    c.req(SUBSCRIBE, 1, i, CH_TRADES | CH_TICKER | CH_BBO | CH_DEPTH, 5)
    check(c.answer(1)["type"] == ACK, "subscribe")
    snaps = c.quiet(0.3)
    check({m["type"] for m in snaps} == {TICKER, BBO, DEPTH_SNAPSHOT}, f"snapshots {snaps}")  # no trade yet
    seller, buyer = TS.login(s.port, 1001), TS.login(s.port, 1002)
    for price, qty in ((3000000, 5), (3000100, 7), (3000200, 9)):
        check(seller.place(i, X.SELL, price, qty).type == X.ACCEPTED, "sell accepted")
    cl = buyer.new_order(i, X.BUY, 3000150, 10)
    fills = [buyer.expect(X.FILL, clordid=cl), buyer.expect(X.FILL, clordid=cl)]
    t1, _ = c.until(lambda m: m["type"] == TRADE)
    t2 = c.frame()
    tk, between = c.until(lambda m: m["type"] == TICKER and m["trades"] == 2)
    for t, f, (p, q) in ((t1, fills[0], (3000000, 5)), (t2, fills[1], (3000100, 5))):
        check(t["type"] == TRADE and t["flags"] == FIRST | LAST, f"live trade {t}")
        check((t["price"], t["qty"], t["side"], t["trade_id"]) == (p, q, X.BUY, f.trade_id), f"{t} vs {f}")
        check(t["ts"] == f.ts, f"trade ts {t['ts']} != fill ts {f.ts}")
    check(t2["trade_id"] > t1["trade_id"], "trade ids increase")
    want = {"open": 3000000, "high": 3000100, "low": 3000000, "last": 3000100, "volume": 10, "trades": 2,
            "turnover": 5 * 3000000 + 5 * 3000100, "vwap": 3000050, "bid": 0, "bid_qty": 0, "ask": 3000100,
            "ask_qty": 2, "bid5_qty": 0, "ask5_qty": 11, "weibi_bp": -10000, "prev_close": 0, "change_bp": 0}
    for k, v in want.items():
        check(tk[k] == v, f"ticker {k} = {tk[k]}, want {v}: {tk}")
    check(tk["flags"] == FIRST | LAST and tk["ts"] == t2["ts"], f"ticker {tk}")
    bbos = [m for m in between + c.quiet(0.3) if m["type"] == BBO]
    b = bbos[-1] if bbos else None
    check(b is not None and (b["bid"], b["bid_qty"], b["ask"], b["ask_qty"]) == (0, 0, 3000100, 2), f"bbo {b}")
    check(b["seq"] == tk["seq"], f"bbo seq {b['seq']} != ticker's {tk['seq']}")
    bids, asks, seq, _ = fresh_snapshot(s, i, 5)
    check(bids == [] and asks == [(3000100, 2), (3000200, 9)] and seq == tk["seq"], f"depth {bids} {asks} {seq}")
    # a new subscriber's trades snapshot: the two trades, oldest first, SNAPSHOT on each
    n = Md(s.md_tcp)
    n.req(SUBSCRIBE, 2, i, CH_TRADES)
    check(n.answer(2)["type"] == ACK, "subscribe")
    a, b2 = n.frame(), n.frame()
    check([x["trade_id"] for x in (a, b2)] == [t1["trade_id"], t2["trade_id"]], f"snapshot {a} {b2}")
    check(a["flags"] == SNAP | FIRST and b2["flags"] == SNAP | LAST, f"snapshot flags {a['flags']} {b2['flags']}")
    check(n.quiet(0.3) == [], "more than the snapshot")
    for x in (c, n, seller, buyer):
        x.close()


@test
def test_big_book_snapshot_split():
    """A book of 4,200 bid levels: its snapshot takes two frames in a row,
    whole and in order; the next delta chains from it."""
    s = start(TS.BIG)
    o = TS.login(s.port, 1001)
    i = o.inst[SYM]
    n_bids = 4200
    cls = [o.next_clordid() for _ in range(n_bids + 3)]
    orders = [X.encode_new_order(cl, i, X.BUY, 1000000 + k, 1 + k % 7) for k, cl in enumerate(cls[:n_bids])]
    orders += [X.encode_new_order(cl, i, X.SELL, 2000000 + k, 3) for k, cl in enumerate(cls[n_bids:])]
    o.send(b"".join(orders))
    got, _ = TS.collect_answers(o, cls, timeout=60)
    check(all(m.type == X.ACCEPTED for m in got.values()), "an order was rejected")
    bids, asks, seq, frames = fresh_snapshot(s, i, 0)
    check(len(frames) == 2, f"{len(frames)} frames for {n_bids + 3} levels")
    check([f["flags"] for f in frames] == [FIRST | SNAP, LAST | SNAP], f"flags {[f['flags'] for f in frames]}")
    check(all(f["seq"] == seq for f in frames) and frames[1]["prev_seq"] == seq, "seq/prev_seq of the frames")
    check(all(f["len"] <= 65535 and len(f["bids"]) + len(f["asks"]) <= 4092 for f in frames), "frame too big")
    check(len(frames[0]["bids"]) == 4092 and frames[0]["asks"] == [], "first frame: the best 4,092 bids")
    check(bids == [(1000000 + k, 1 + k % 7) for k in reversed(range(n_bids))], "bids")
    check(asks == [(2000000 + k, 3) for k in range(3)], "asks")
    # the same, on a subscription that then takes a delta
    c = Md(s.md_tcp)
    c.req(SUBSCRIBE, 1, i, CH_DEPTH, 0)
    b = Book()
    c.answer(1)
    while not (b.side is not None and b.complete):
        b.apply(c.frame())
    o2 = TS.login(s.port, 1002)
    o2.place(i, X.SELL, 1004199, 1)  # takes one lot of the best bid: 7 -> 6 (k = 4199: 1 + 4199 % 7 = 7)
    d = c.until(lambda m: m["type"] == DEPTH_DELTA)[0]
    b.apply(d)
    check(d["prev_seq"] == seq and b.gaps == 0, f"delta {d} after snapshot seq {seq}")
    check(d["bids"] == [(1004199, 6)] and d["asks"] == [], f"delta levels {d}")
    for x in (c, o, o2):
        x.close()


def expect_error(c, code):
    got = c.until_eof()
    check(got and got[-1]["type"] == ERROR, f"no ERROR before the close: {got[-3:]}")
    check(got[-1]["code"] == code and got[-1]["text"], f"ERROR {got[-1]}, want code {code}")
    return got


@test
def test_malformed_frames_close_only_their_connection():
    s = start()
    good = Md(s.md_tcp)
    i = good.inst[SYM]
    good.req(SUBSCRIBE, 1, i, CH_DEPTH, 0)
    check(good.answer(1)["type"] == ACK, "subscribe")
    bad = [(b"\x05\x00", E_MALFORMED),                                           # len under 16
           (HDR.pack(40, SUBSCRIBE, 0, 0, 0), E_FRAME_TOO_LARGE),                 # over 32
           (X.encode_login(1001, "demo1001", "demo-secret-1001", 1, bytes(16)), E_FRAME_TOO_LARGE),
           (HDR.pack(16, 0x01, 0, 0, 0), E_UNKNOWN_TYPE),                         # order entry's LOGIN
           (HDR.pack(16, HEARTBEAT, 0, 0, 0), E_UNKNOWN_TYPE),                    # the server's heartbeat
           (HDR.pack(16, SUBSCRIBE, 0, 0, 0), E_MALFORMED),                       # not its length
           (HDR.pack(32, SUBSCRIBE, 0, 1, 0) + bytes(16), E_MALFORMED),           # reserved header field
           (request(SUBSCRIBE, 2, i, CH_TICKER)[:3] + b"\x01" + request(SUBSCRIBE, 2, i, CH_TICKER)[4:],
            E_MALFORMED),                                                         # flags
           (request(SUBSCRIBE, 2, i, CH_TICKER) + b"\x10\x00\x7f", E_UNKNOWN_TYPE)]  # good, then bad
    for data, code in bad:
        c = Md(s.md_tcp)
        c.send(data)
        expect_error(c, code)
        c.close()
    # the answers to requests before a bad frame in the same write come first (a probe found them dropped)
    c = Md(s.md_tcp)
    c.send(request(SUBSCRIBE, 4, i, CH_TICKER) + request(SUBSCRIBE, 5, i, CH_BBO) + HDR.pack(16, 0x7f, 0, 0, 0))
    got = expect_error(c, E_UNKNOWN_TYPE)
    acks = [m.get("request_id") for m in got if m["type"] == ACK]
    check(acks == [4, 5], f"ACKs before the ERROR: {acks} in {[m['type'] for m in got]}")
    c.close()
    # frames split anywhere are fine: a request one byte at a time
    c = Md(s.md_tcp)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in request(SUBSCRIBE, 3, i, CH_BBO) + HDR.pack(16, C_HEARTBEAT, 0, 0, 0):
        c.send(bytes([b]))
    check(c.answer(3)["type"] == ACK, "a request sent byte by byte")
    # the others are unaffected
    o = TS.login(s.port, 1001)
    o.place(i, X.BUY, 2500000, 4)
    d = good.until(lambda m: m["type"] == DEPTH_DELTA)[0]
    check(d["bids"] == [(2500000, 4)], f"the good connection's delta {d}")
    check(c.until(lambda m: m["type"] == BBO and not m["flags"] & SNAP)[0]["bid"] == 2500000, "bbo")
    for x in (good, c, o):
        x.close()


@test
def test_slow_consumers():
    """Clients that stop reading: depth is conflated (a snapshot when the
    client reads again, the chain restarting there, counted in
    xt_md_conflations_total), a trades subscriber gets ERROR SLOW_CONSUMER
    and is closed; a reading client misses nothing."""
    # the stalled clients send nothing: no heartbeat timeout for as long as the load may take
    s = start({"md.output_limit": 262144, "md.send_buffer": 4096, "md.tcp_heartbeat_ms": 60000})
    good = Md(s.md_tcp)
    syms = list(good.inst)
    i = good.inst[SYM]
    good.req(SUBSCRIBE, 1, i, CH_DEPTH | CH_TRADES | CH_TICKER, 0)
    check(good.answer(1)["type"] == ACK, "subscribe")
    slow_depth, slow_trades = Md(s.md_tcp, rcvbuf=4096), Md(s.md_tcp, rcvbuf=4096)
    for c, extra in ((slow_depth, 0), (slow_trades, CH_TRADES)):
        for k, x in enumerate(syms):  # much more than the reading client takes
            c.req(SUBSCRIBE, 10 + k, good.inst[x], CH_DEPTH | CH_TICKER | CH_BBO | extra, 0)
            c.req(SUBSCRIBE, 20 + k, good.inst[x], CH_DEPTH, 20)
    book, trade_ids, ticker = Book(), [], None

    def take(m):
        nonlocal ticker
        if m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA):
            book.apply(m)
        elif m["type"] == TICKER:
            ticker = m
        elif m["type"] == TRADE and not m["flags"] & SNAP:
            trade_ids.append(m["trade_id"])
    s.md_port = ws_port(s)  # its /metrics
    # Load, then read what the stalled depth client has: until it got a second snapshot (how much load
    # that takes depends on the machine's speed, so more rounds of load if need be, each as long as the
    # first, from the empty queue the reading left); the reading client reads throughout. A round the
    # stalled client was not conflated in leaves its chain whole.
    sb, rounds = Book(), 0
    while sb.snapshots < 2:
        check(rounds < 10, f"the stalled depth client got {sb.snapshots} snapshots in {rounds} rounds of load "
                           f"(conflation expected; xt_md_conflations_total "
                           f"{W.md_metric(s, 'xt_md_conflations_total')})")
        t = in_background(loadgen, s, 3.0, 4, 8, ("--rate", "3000"))
        while t.is_alive():
            try:
                take(good.frame(0.2))
            except socket.timeout:
                pass
        t.finish()
        for m in good.quiet(0.5):
            take(m)
        for m in slow_depth.quiet(1.0):
            check(m["type"] != ERROR, f"the depth client was closed: {m}")
            if is_depth(m, i, 0):
                sb.apply(m)
        rounds += 1
    check(book.gaps == 0 and book.snapshots == 1, f"reading client: {book.gaps} gaps, {book.snapshots} snapshots")
    check(trade_ids == sorted(set(trade_ids)) and trade_ids, "trade ids not increasing")
    check(ticker["trades"] == len(trade_ids), f"reading client got {len(trade_ids)} of {ticker['trades']} trades")
    # the stalled depth client: a consistent chain, the same book, the conflation counted
    check(sb.gaps == 0 and sb.complete, "the stalled client's chain breaks outside a snapshot")
    for k in (0, 1):
        check(sb.levels(k) == book.levels(k), f"stalled client's side {k} != the reading client's")
    check(W.md_metric(s, "xt_md_conflations_total") >= 1, "a conflation not counted")
    # the stalled trades client: closed, with the reason, once its trades fill the last quarter
    # of its queue (the rest holds conflated updates): more load if need be
    good.close()
    W.load_until_slow_close(s, 0, "the stalled trades client")  # the only one that can be closed
    expect_error(slow_trades, E_SLOW_CONSUMER)
    for c in (slow_depth, slow_trades):
        c.close()


@test
def test_unread_answers_close_not_drop():
    """A client that sends SUBSCRIBEs (each owing snapshots) faster than it
    reads, until an ACK does not fit its queue, is closed with ERROR
    SLOW_CONSUMER after answers in order with no gap, and the server goes
    on. Before, an ACK that did not fit was dropped; then, closing the
    connection there, the snapshots still to be owed named subscriptions
    the close had removed: the server crashed (a review found it)."""
    s = start({"md.messages_per_s": 1000000, "md.send_buffer": 4096, "md.ping_ms": 3600000})
    c = Md(s.md_tcp, rcvbuf=4096)
    btc = c.inst[SYM]
    n = 12000  # past the queue's 4,128 messages plus what the socket buffers hold
    reqs = b"".join(request(SUBSCRIBE if k % 2 == 0 else UNSUBSCRIBE, k, btc, CH_BBO) for k in range(n))
    s.md_port = ws_port(s)
    base = W.md_metric(s, "xt_md_bytes_received_total")
    c.send(reqs)
    # nothing is read until the server has read (and so answered) them or closed the connection for them: a
    # slow server (ASan) would keep up
    TS.wait_for(lambda: W.md_metric(s, "xt_md_bytes_received_total") >= base + len(reqs) or
                W.md_metric(s, "xt_md_slow_consumer_disconnects_total") > 0, "the requests read", 30)
    got = expect_error(c, E_SLOW_CONSUMER)
    rids = [m["request_id"] for m in got if m["type"] == ACK]
    check(rids == list(range(len(rids))) and len(rids) < n, f"ACKs out of order, missing or all there: {len(rids)}")
    c.close()
    d = Md(s.md_tcp)  # the server is still there
    d.req(SUBSCRIBE, 1, d.inst[SYM], CH_BBO)
    check(d.answer(1)["type"] == ACK, "a new connection's SUBSCRIBE")
    d.close()
    check(s.running(), "the server ended")


@test
def test_heartbeats():
    s = start({"md.tcp_heartbeat_ms": 200})
    quiet_c = Md(s.md_tcp)
    t0 = time.monotonic()
    check(quiet_c.hello["heartbeat_ms"] == 200, "heartbeat_ms")
    got = expect_error(quiet_c, E_HEARTBEAT_TIMEOUT)
    took = time.monotonic() - t0
    check(any(m["type"] == HEARTBEAT for m in got), "no HEARTBEAT from an idle server")
    check(0.55 <= took < 3.0, f"closed after {took:.2f}s (3 x 200 ms expected)")
    # a client that sends heartbeats stays, and gets the server's
    c = Md(s.md_tcp)
    beats, end = 0, time.monotonic() + 1.5
    while time.monotonic() < end:
        c.send(HDR.pack(16, C_HEARTBEAT, 0, 0, 0))
        try:
            m = c.frame(0.1)
            check(m["type"] == HEARTBEAT and m["seq"] == 0, f"unexpected {m}")
            beats += 1
        except socket.timeout:
            pass
    check(3 <= beats <= 12, f"{beats} server heartbeats in 1.5 s at 200 ms")
    c.req(SNAPSHOT, 5, 0, CH_BBO)
    check(c.answer(5)["type"] == ACK, "still served")
    c.close()


@test
def test_limits_and_rejects():
    s = start({"md.max_subscriptions": 3, "md.messages_per_s": 5})
    c = Md(s.md_tcp)
    i = c.inst[SYM]
    cases = [(SUBSCRIBE, 99, CH_TRADES, 0, R_UNKNOWN_INSTRUMENT),
             (SUBSCRIBE, i, 0, 0, R_BAD_CHANNELS),
             (SNAPSHOT, i, 0x20 | CH_BBO, 0, R_BAD_CHANNELS),
             (UNSUBSCRIBE, i, CH_DEPTH, 7, R_BAD_DEPTH),
             (SUBSCRIBE, i, CH_DEPTH | CH_TRADES | CH_TICKER | CH_BBO, 5, R_TOO_MANY_SUBSCRIPTIONS)]
    for k, (typ, inst, ch, depth, reason) in enumerate(cases):
        c.req(typ, 100 + k, inst, ch, depth)
        a = c.answer(100 + k)
        check(a["type"] == REJECT and a["reason"] == reason and a["request"] == typ and a["text"], f"{a}")
        check((a["instrument"], a["channels"], a["depth"]) == (inst, ch, depth), f"echo {a}")
    # nothing of the refused subscribe was subscribed: three fit, and a fourth does not
    c2 = Md(s.md_tcp)
    c2.req(SUBSCRIBE, 1, i, CH_TRADES | CH_BBO, 77)  # depth is ignored without the depth bit
    check(c2.answer(1)["type"] == ACK, "subscribe, depth ignored")
    for rid in (2, 3):  # the second is already held: no new subscription, a new snapshot after its ACK
        c2.req(SUBSCRIBE, rid, i, CH_DEPTH, 20)
        check(c2.answer(rid)["type"] == ACK, "subscribe depth 20")
        m = c2.until(lambda m: m["type"] in (DEPTH_SNAPSHOT, DEPTH_DELTA))[0]
        check(m["type"] == DEPTH_SNAPSHOT and m["depth"] == 20, f"after ACK {rid}: {m}")
    c2.req(SUBSCRIBE, 4, i, CH_DEPTH, 10)
    a = c2.answer(4)
    check(a["type"] == REJECT and a["reason"] == R_TOO_MANY_SUBSCRIPTIONS, f"a fourth subscription: {a}")
    # over messages_per_s: refused, not executed, the connection stays
    c3 = Md(s.md_tcp)
    c3.send(b"".join(request(SNAPSHOT, 200 + k, i, CH_BBO) for k in range(8)))
    got = c3.quiet(0.3)
    answers = [m for m in got if m["type"] in (ACK, REJECT)]
    check([a["type"] for a in answers] == [ACK] * 5 + [REJECT] * 3, f"{[a['type'] for a in answers]}")
    check([a["request_id"] for a in answers] == list(range(200, 208)), "answers in order")
    check(all(a["reason"] == R_RATE_LIMIT for a in answers[5:]), "RATE_LIMIT")
    bbos = [m for m in got if m["type"] == BBO]
    check(len(bbos) == 5 and all(m["flags"] & SNAP for m in bbos), f"{len(bbos)} snapshots for 5 requests done")
    for x in (c, c2, c3):
        x.close()


@test
def test_no_heartbeat_amid_a_stream_being_taken():
    """A slow reader taking a long stream gets no HEARTBEAT amid it, though
    the server writes nothing for longer than md.tcp_heartbeat_ms while
    the kernel's buffers (md.send_buffer's default, 256 KiB, doubled) drain
    to it: what its TCP takes is not silence (docs/md-binary.md). 20
    full-depth snapshots of a 4,000-level book (~1.3 MB), read at ~400
    KB/s, md.tcp_heartbeat_ms 500. Before, HEARTBEATs came between the
    snapshots' frames, every half second of the drain."""
    s = start({"md.tcp_heartbeat_ms": 500, "md.messages_per_s": 100000, "limits.rate": 1000000,
               "limits.burst": 1000000})
    W.deep_book(s, 4000)
    c = Md(s.md_tcp)
    i = c.inst[SYM]
    c.send(b"".join(request(SNAPSHOT, k + 1, i, CH_DEPTH, 0) for k in range(20)))
    c.sock.setblocking(False)
    frames, last_hb, stream = [], time.monotonic(), 0
    ends = 0
    while ends < 20:
        if time.monotonic() - last_hb > 0.1:  # the client's own heartbeats: it is not silent
            c.send(HDR.pack(16, C_HEARTBEAT, 0, 0, 0))
            last_hb = time.monotonic()
        try:
            d = c.sock.recv(4096)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        check(d != b"", f"closed after {stream} bytes")
        stream += len(d)
        c.buf += d
        while len(c.buf) >= 2 and len(c.buf) >= (c.buf[0] | c.buf[1] << 8):
            ln = c.buf[0] | c.buf[1] << 8
            frames.append(decode(bytes(c.buf[:ln])))
            del c.buf[:ln]
            ends += frames[-1]["type"] == DEPTH_SNAPSHOT and frames[-1]["flags"] & LAST != 0
        time.sleep(0.01)  # the slow reader's pace: 4 KiB each 10 ms (not a wait for the server)
    kinds = [m["type"] for m in frames]
    first, last = kinds.index(DEPTH_SNAPSHOT), len(kinds) - 1 - kinds[::-1].index(DEPTH_SNAPSHOT)
    beats = kinds[first:last].count(HEARTBEAT)  # (one once the stream is all taken is due, and may share a read)
    print(f"  {stream} bytes, {len(frames)} frames, {beats} heartbeats amid the snapshots")
    check(stream > 1 << 20, f"a stream of {stream} bytes: within the kernel's buffers, the test shows nothing")
    check(beats == 0, f"{beats} HEARTBEATs amid the stream")
    c.sock.close()


@test
def test_connection_limit_shutdown_and_off():
    s = start({"md.max_connections": 3})
    ws = socket.create_connection(("127.0.0.1", ws_port(s)))  # a WebSocket-port connection counts too
    a, b = Md(s.md_tcp), Md(s.md_tcp)
    c = Md(s.md_tcp, greet=False)
    m = c.frame()
    check(m["type"] == ERROR and m["code"] == E_TOO_MANY_CONNECTIONS, f"over md.max_connections: {m}")
    check(c.until_eof() == [], "more after the ERROR")
    a.req(SUBSCRIBE, 1, a.inst[SYM], CH_DEPTH, 5)
    check(a.answer(1)["type"] == ACK, "the others are served")
    check(s.stop() == 0, "clean stop")
    for x in (a, b):
        got = x.until_eof()
        check(got and got[-1]["type"] == ERROR and got[-1]["code"] == E_SHUTDOWN, f"at shutdown: {got[-2:]}")
    ws.close()
    off = start(args=["--md-tcp-listen", "off"])
    check(off.md_tcp is None and any("market data on ws://" in line for line in off.out), f"{off.out}")


@test
def test_connections_per_address():
    """md.max_connections_per_ip counts an address's WebSocket-port and
    binary connections together: over it a binary connection gets ERROR
    TOO_MANY_CONNECTIONS and an HTTP one 429, each counted in
    xt_md_connections_refused_total{reason="per_ip"}; a closed connection
    gives its place back; another address is not limited by this one's."""
    s = start({"md.max_connections_per_ip": 2})
    ws = socket.create_connection(("127.0.0.1", ws_port(s)))
    a = Md(s.md_tcp)
    c = Md(s.md_tcp, greet=False)
    m = c.frame()
    check(m["type"] == ERROR and m["code"] == E_TOO_MANY_CONNECTIONS and "per_ip" in m["text"],
          f"over md.max_connections_per_ip: {m}")
    check(c.until_eof() == [], "more after the ERROR")
    h = socket.create_connection(("127.0.0.1", ws_port(s)))   # answered at once, before any request
    got = b""
    while (d := h.recv(4096)):
        got += d
    check(got.startswith(b"HTTP/1.1 429") and b"max_connections_per_ip" in got, f"HTTP over the limit: {got!r}")
    other = Md(s.md_tcp, source="127.0.0.2")   # another address has its own count
    a.req(SUBSCRIBE, 1, a.inst[SYM], CH_DEPTH, 5)
    check(a.answer(1)["type"] == ACK, "the address's connections are served")
    other.close()
    ws.close()
    end = time.monotonic() + 10
    while True:   # the closed WebSocket-port connection's place is free once the server has seen the close
        st, _, body = H.Http(ws_port(s)).get("/metrics")
        if st == 200:
            break
        check(time.monotonic() < end, "the place of a closed connection never came back")
        time.sleep(0.05)
    refused = H.value(H.parse_metrics(body.decode())[0], "xt_md_connections_refused_total", reason="per_ip")
    check(refused >= 2, f"refusals counted: {refused}")


def ws_port(s):
    for line in s.out:
        m = re.search(r"market data on ws://127\.0\.0\.1:(\d+)/", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no WebSocket line")


@test
def test_greeting_after_a_band_move():
    """A band moved by a SIGHUP (docs/config.md, Reloading) is in the
    INSTRUMENT list of every greeting after it, as in order entry's login
    list, and in GET /api/v1/instruments and the ticker: a WebSocket
    subscriber is sent it once, in the ticker that has the new previous
    close too (prev_close = ref), or once with the band alone (BBB, whose
    previous close is the day's); the one before it had the old band. A
    connection greeted before it is sent INSTRUMENT again on the
    instrument channel (docs/md-binary.md, Instrument), once."""
    path = os.path.join(TS.tempfile.mkdtemp(prefix="xt-md-band-"), "band.conf")
    conf = ("[instrument AAA]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\nprev_close = ref\n"
            "[instrument BBB]\ntick = 0.01\nlot = 1\nref = {ref}\nband = 10\n")
    with open(path, "w") as f:
        f.write(conf.format(ref="100.00"))
    s = start(args=["--config", path])
    s.md_port = ws_port(s)
    check(Md(s.md_tcp).band["AAA"] == (1, 9000, 11000), "the band at first")
    old, plain = Md(s.md_tcp), Md(s.md_tcp)  # greeted before the move
    aaa = old.inst["AAA"]
    old.req(SUBSCRIBE, 1, aaa, CH_INSTRUMENT)
    snap, before = old.until(lambda m: m["type"] == INSTRUMENT)
    check([m["type"] for m in before] == [ACK] and (snap["id"], snap["band"], snap["status"]) == (aaa, (1, 9000, 11000), 0),
          f"the instrument channel's snapshot: {before} {snap}")
    plain.req(SUBSCRIBE, 1, aaa, CH_TICKER)
    check(plain.answer(1)["type"] == ACK, "subscribe ticker")
    rest_band = lambda: H.get_json(s.md_port, "/api/v1/instruments")[1]["data"][0]["band"]  # noqa: E731
    check(rest_band() == {"low": "90.00", "high": "110.00"}, f"REST at first: {rest_band()}")

    async def tickers_of_the_move():
        """The ticker's previous close and band: its snapshot's, then every
        ticker from the reload on until a trade's, which is placed once the
        instrument channel had the move (market data's 100 ms pass that
        used to send the ticker again has then run)."""
        async with W.websockets.connect(W.url(s)) as ws:
            await W.send(ws, op="subscribe", id=1, args=["ticker.AAA", "ticker.BBB"])
            await W.answer_of(ws, 1)
            seen, bbb = [], []
            while not seen or not bbb:
                m = await W.recv(ws)
                (seen if m["ch"] == "ticker.AAA" else bbb).append((m["prev_close"], m["band"], m["last"], m["ask"]))
            with open(path, "w") as f:
                f.write(conf.format(ref="110.00"))
            s.proc.send_signal(TS.signal.SIGHUP)
            m, before = old.until(lambda m: m["type"] == INSTRUMENT)
            check(before == [] and (m["id"], m["band"], m["status"], m["symbol"]) == (aaa, (1, 9900, 12100), 0, "AAA"),
                  f"the instrument channel after the move: {before} {m}")
            A, B = TS.login(s.port, 1001), TS.login(s.port, 1002)
            check(A.place(A.inst["AAA"], X.SELL, 10500, 1).type == X.ACCEPTED, "sell")
            check(B.place(B.inst["AAA"], X.BUY, 10500, 1).type == X.ACCEPTED, "buy")
            A.close()
            B.close()
            while seen[-1][2] != "105.00" or len(bbb) < 2:  # (BBB's move may come last in its drain)
                m = await W.recv(ws, 5)
                if m.get("ch") in ("ticker.AAA", "ticker.BBB"):
                    (seen if m["ch"] == "ticker.AAA" else bbb).append(
                        (m["prev_close"], m["band"], m["last"], m["ask"]))
            return seen, bbb
    got, bbb = W.run(tickers_of_the_move())
    old_band, new_band = {"low": "90.00", "high": "110.00"}, {"low": "99.00", "high": "121.00"}
    check(got[0] == ("100.00", old_band, "100.00", None) and got[1] == ("110.00", new_band, "100.00", None) and
          got[2] == ("110.00", new_band, "100.00", "105.00") and got[-1] == ("110.00", new_band, "105.00", None) and
          len(got) == 4, f"the tickers: the snapshot, the move's once, the sell's, the trade's: {got}")
    check(bbb == [("100.00", old_band, "100.00", None), ("100.00", new_band, "100.00", None)],
          f"BBB's: the snapshot, the move's once: {bbb}")
    st, j = H.get_json(s.md_port, "/api/v1/ticker?symbol=AAA")
    check(j["band"] == {"low": "99.00", "high": "121.00"} and j["status"] == "trading", f"REST ticker: {j}")
    TS.wait_stderr(s, "price band moved")
    # market data makes its list again at its next tick after the move
    TS.wait_for(lambda: Md(s.md_tcp).band["AAA"] == (1, 9900, 12100), "the moved band in a greeting")
    TS.wait_for(lambda: rest_band() == {"low": "99.00", "high": "121.00"}, "the moved band in REST")
    check(TS.login(s.port, 1001).instruments[0].band_low == 9900, "order entry's list")
    # the connection greeted before had the new band on its instrument channel once (above); the ticker's
    # alone: nothing but the trade's tickers
    for c in (old, plain):  # an ACK comes behind anything queued before it
        c.req(UNSUBSCRIBE, 2, aaa, CH_INSTRUMENT)
        a, before = c.until(lambda m: m["type"] == ACK)
        check(a["request_id"] == 2 and [m["type"] for m in before if m["type"] != TICKER] == [],
              f"nothing else of the move: {before}")
    old.req(SNAPSHOT, 3, aaa, CH_INSTRUMENT)  # unsubscribed: a snapshot is sent now, the band in force
    check(old.answer(3)["type"] == ACK, "snapshot")
    check(old.until(lambda m: m["type"] == INSTRUMENT)[0]["band"] == (1, 9900, 12100), "the snapshot after the move")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
