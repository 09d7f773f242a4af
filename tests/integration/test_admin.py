#!/usr/bin/python3
"""Integration tests of the admin socket (docs/admin.md) and `xtrading
admin` (docs/cli.md): every command, halt/resume as order-entry clients
see it (HALTED for NEW_ORDER and AMEND; CANCEL, MASS_CANCEL and
ORDER_STATUS still work), kick, an operator's mass cancel over two
sessions of an account, snapshot, stats and sessions, malformed and
over-long request lines, the connection limit, the socket's mode and its
removal at a clean stop, and the client's exit statuses.

Each test starts its own server (test_server.Server: fresh data
directory, ports chosen by the kernel; the admin socket is admin.sock in
the data directory). Waits are for conditions, with deadlines.

usage: test_admin.py path/to/xtrading [name-substring ...]
"""
import asyncio
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_tcp as MT  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402
from xtclient import BUY, SELL, ACCEPTED, CANCELED, AMENDED, ERROR, MASS_CANCEL_ACK, NEW_ORDER, AMEND, R, E  # noqa: E402,E501

TESTS, test = TS.registry()
check = TS.check


def sock_path(srv):
    return os.path.join(srv.data, "admin.sock")


class Admin:
    """One admin connection: request lines out, JSON answer lines in."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        """The next answer line as bytes (without its newline); b"" at EOF."""
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                return b""
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln

    def answer(self):
        ln = self.line()
        check(ln, "the admin connection closed without an answer")
        return json.loads(ln)

    def ask(self, text):
        self.send(text.encode() + b"\n")
        return self.answer()

    def closed(self):
        """True once the server closed the connection (nothing more to read)."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def ask(srv, text):
    a = Admin(sock_path(srv))
    try:
        return a.ask(text)
    finally:
        a.close()


def ok(srv, text):
    j = ask(srv, text)
    check(j.get("ok") is True, f"{text!r}: {j}")
    return j


def err(srv, text, words=()):
    j = ask(srv, text)
    check(j.get("ok") is False and set(j) == {"ok", "error"}, f"{text!r} should be an error answer: {j}")
    for w in words:
        check(w in j["error"], f"{text!r}: {w!r} not in {j['error']!r}")
    return j


def cli(*args, timeout=20):
    r = subprocess.run([TS.XT, "admin", *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------------------
@test
def test_socket_mode_and_lifecycle():
    srv = TS.Server()
    p = sock_path(srv)
    st = os.lstat(p)
    check(stat.S_ISSOCK(st.st_mode), f"{p} is not a socket")
    check(stat.S_IMODE(st.st_mode) == 0o600, f"admin socket mode {oct(stat.S_IMODE(st.st_mode))}, expected 0600")
    check(srv.stop() == 0, "server did not stop cleanly")
    check(not os.path.exists(p), "the admin socket was not removed at a clean stop")
    # a socket file left by a killed server is replaced
    srv.start()
    srv.kill()
    check(os.path.exists(p), "a killed server cannot remove its socket (precondition)")
    srv.start()
    check(ok(srv, "help")["commands"], "a server started over a stale socket answers")
    srv.kill()
    # a file that is not a socket is not removed: the server does not start
    os.unlink(p)
    with open(p, "w") as f:
        f.write("keep me\n")
    r = subprocess.run([TS.XT, "serve", "--data", srv.data, "--listen", "127.0.0.1:0", "--md-listen",
                        "127.0.0.1:0", "--md-tcp-listen", "off"], capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "server.admin_socket" in r.stderr and "not a socket" in r.stderr,
          f"start over a regular file: rc {r.returncode}, {r.stderr[-300:]}")
    with open(p) as f:
        check(f.read() == "keep me\n", "the regular file was changed")
    os.unlink(p)
    # off: no socket; a path of its own
    off = TS.Server({"server.admin_socket": "off"})
    check(not os.path.exists(sock_path(off)), "server.admin_socket=off still made a socket")
    own = os.path.join(off.tmp, "adm.sock")
    mine = TS.Server({"server.admin_socket": own})
    check(stat.S_ISSOCK(os.lstat(own).st_mode), "server.admin_socket path not used")
    a = Admin(own)
    check(a.ask("help")["ok"] is True, "help on a configured path")
    a.close()
    check(mine.stop() == 0, "server with a configured socket path did not stop cleanly")
    check(not os.path.exists(own), "configured socket not removed at a clean stop")
    # a clean stop removes only the socket it made: once its path was deleted and another server's socket
    # made there, the first server's stop removed the second's, which went on without an admin socket
    first = TS.Server({"server.admin_socket": own})
    os.unlink(own)
    second = TS.Server({"server.admin_socket": own})
    check(first.stop() == 0 and os.path.exists(own), "the first server's stop removed the second's socket")
    a = Admin(own)
    check(a.ask("help")["ok"] is True, "the second server's socket answers")
    a.close()
    check(second.stop() == 0 and not os.path.exists(own), "the second server's own socket stays after its stop")


@test
def test_a_start_the_config_refuses_leaves_the_data_alone():
    """An admin socket another server listens on, or an md.history_dir that
    cannot be made, ends the start before recovery: its data directory is
    neither created nor written (a probe saw such a start journal the
    config's instruments and a snapshot first)."""
    first = TS.Server()
    own = sock_path(first)
    fresh = os.path.join(first.tmp, "fresh")

    def serve(*sets):
        cmd = [TS.XT, "serve", "--data", fresh, "--listen", "127.0.0.1:0", "--md-listen", "127.0.0.1:0",
               "--md-tcp-listen", "off"]
        for kv in sets:
            cmd += ["--set", kv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    r = serve(f"server.admin_socket={own}")
    check(r.returncode == 1 and "another server is listening on it" in r.stderr,
          f"a second server on the first's admin socket: rc {r.returncode}, {r.stderr[-300:]}")
    check(not os.path.exists(fresh), f"the refused start made {os.listdir(fresh) if os.path.exists(fresh) else ''}")
    plain = os.path.join(first.tmp, "plain")
    with open(plain, "w") as f:
        f.write("a file\n")
    r = serve(f"md.history_dir={plain}/klines")
    check(r.returncode == 1 and "md.history_dir" in r.stderr and f"{plain}/klines" in r.stderr,
          f"md.history_dir under a file: rc {r.returncode}, {r.stderr[-300:]}")
    check(not os.path.exists(fresh), "the start with a bad md.history_dir made the data directory")
    unusable = os.path.join(first.tmp, "nodir", "adm.sock")
    r = serve(f"server.admin_socket={unusable}")
    check(r.returncode == 1 and "server.admin_socket" in r.stderr and "directory" in r.stderr,
          f"an admin socket in a missing directory: rc {r.returncode}, {r.stderr[-300:]}")
    check(not os.path.exists(fresh), "the start with an unusable admin socket made the data directory")
    # the same data directory with a usable config starts - an md.history_dir inside it too, which the
    # first start makes once it has made the data directory (before, the check before it refused it: a
    # probe); the first server goes on
    second = TS.Server({"md.history_dir": os.path.join(fresh, "candles")}, start=False)
    second.data = fresh
    second.start()
    check(ok(second, "help")["commands"] and ok(first, "help")["commands"], "both servers answer")
    check(os.path.isdir(os.path.join(fresh, "candles")), "the history directory inside the data directory")
    check(second.stop() == 0 and first.stop() == 0, "clean stops")


@test
def test_help_and_malformed_lines():
    srv = TS.Server()
    j = ok(srv, "help")
    for c in ("sessions [ACCOUNT]", "kick ACCOUNT SESSION", "halt SYMBOL", "resume SYMBOL",
              "mass-cancel ACCOUNT [SYMBOL]", "snapshot", "stats", "instruments [SYMBOL]", "help"):
        check(c in j["commands"], f"help lacks {c!r}: {j}")
    err(srv, "", ["empty"])
    err(srv, "   \t ", ["empty"])
    err(srv, "frobnicate", ["unknown command 'frobnicate'"])
    err(srv, 'x"y\\z', ["unknown command"])
    err(srv, "halt", ["usage: halt SYMBOL"])
    err(srv, "halt A B", ["usage: halt SYMBOL"])
    err(srv, "halt NOPE", ["unknown instrument 'NOPE'"])
    err(srv, "halt BTC/USDT", ["SYMBOL"])
    err(srv, "halt ABCDEFGHIJKLMNOPQ", ["SYMBOL"])
    err(srv, "kick 1001", ["usage: kick ACCOUNT SESSION"])
    err(srv, "kick 0 1", ["ACCOUNT"])
    err(srv, "kick 1001 -1", ["SESSION"])
    err(srv, "kick 1001 4294967296", ["SESSION"])
    err(srv, "kick 99 1", ["not known"])
    err(srv, "mass-cancel", ["usage: mass-cancel"])
    err(srv, "mass-cancel x", ["ACCOUNT"])
    err(srv, "mass-cancel 1001 NOPE", ["unknown instrument"])
    err(srv, "sessions 1 2", ["usage: sessions"])
    err(srv, "stats now", ["usage: stats"])
    err(srv, "STATS", ["unknown command"])
    ok(srv, "stats\r")  # a CRLF line
    # bytes that are not printable ASCII, a NUL among them
    for bad in (b"stats\x00\n", b"\x01\x02\n", b"st\xffats\n", "halt BTC-USDT\u00e9\n".encode()):
        a = Admin(sock_path(srv))
        a.send(bad)
        j = a.answer()
        check(j == {"ok": False, "error": "a request is printable ASCII words separated by spaces or tabs"},
              f"{bad!r}: {j}")  # (tabs are taken: it said "by spaces")
        check(a.ask("stats")["ok"] is True, f"the connection serves on after {bad!r}")
        a.close()
    # an over-long line gets an error, then the connection is closed
    a = Admin(sock_path(srv))
    a.send(b"x" * 5000)
    j = a.answer()
    check(j["ok"] is False and j["error"] == "request longer than 1024 bytes; closing", f"over-long line: {j}")

    def ended():  # with an end of stream: the rest of the line, unread, was drained first (before: a reset)
        try:
            return a.s.recv(1) == b""
        except ConnectionResetError:
            raise AssertionError("the over-long line's connection was reset, not closed") from None
    check(TS.wait_for(ended, "the over-long line's connection closed"), "not closed")
    a.close()
    # ... also for a line of 300 KB, still coming when the answer is written: the server shuts its side and
    # drops the rest until the client's end (it read 64 KiB at the close, and the rest reset the client)
    a = Admin(sock_path(srv))

    def send_long():
        try:
            a.s.sendall(b"x" * 300000)
            a.s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # (the test's reads say what came)
    sender = threading.Thread(target=send_long)
    sender.start()
    j = a.answer()
    check(j["ok"] is False and j["error"] == "request longer than 1024 bytes; closing", f"a 300 KB line: {j}")
    check(TS.wait_for(ended, "the 300 KB line's connection closed"), "not closed")
    sender.join(10)
    a.close()
    # a longest line ended by CRLF: its \r is not counted (it was refused, "too long", and closed)
    a = Admin(sock_path(srv))
    a.send(b"sessions" + b" " * 1012 + b"1001\r\n")
    check(a.answer()["ok"] is True, "a 1,024-byte line and CRLF")
    a.send(b"sessions" + b" " * 1013 + b"1001\r\n")
    j = a.answer()
    check(j["ok"] is False and j["error"] == "request longer than 1024 bytes; closing", f"a 1,025-byte line and CRLF: {j}")
    a.close()
    # ... and by LF alone, which fits the server's buffer whole: closed too (it was answered and read on)
    a = Admin(sock_path(srv))
    a.send(b"sessions" + b" " * 1013 + b"1001\n" + b"help\n")
    j = a.answer()
    check(j["ok"] is False and j["error"] == "request longer than 1024 bytes; closing", f"a 1,025-byte line and LF: {j}")
    check(a.line() == b"", "closed after the 1,025-byte line")
    a.close()
    # several lines in one write: one answer each, in order
    a = Admin(sock_path(srv))
    a.send(b"help\nbogus\nstats\n\nhalt ETH-USDT\nresume ETH-USDT\n")
    got = [a.answer() for _ in range(6)]
    check([g["ok"] for g in got] == [True, False, True, False, True, True], f"pipelined answers {got}")
    check("commands" in got[0] and "stats" in got[2] and got[4]["halted"] is True and got[5]["halted"] is False,
          f"pipelined answers out of order: {got}")
    # the last line without its newline is answered once the client stops sending
    a.send(b"stats")
    a.s.shutdown(socket.SHUT_WR)
    check(a.answer()["ok"] is True, "a final line without newline")
    check(a.line() == b"", "closed after the last answer")
    a.close()
    # the server serves on: admin and order entry
    check(ok(srv, "stats")["stats"]["connections"] == 0, "stats after malformed input")
    A = TS.login(srv.port, 1001, 1)
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == ACCEPTED, "order entry after malformed admin input")


@test
def test_idle_and_excess_connections():
    srv = TS.Server()
    conns = [Admin(sock_path(srv)) for _ in range(8)]
    conns[0].send(b"sta")  # a partial line, never finished: blocks nothing
    extra = Admin(sock_path(srv))
    j = json.loads(extra.line())
    check(j["ok"] is False and "too many admin connections" in j["error"], f"9th admin connection: {j}")
    check(extra.line() == b"", "the 9th connection is closed")
    extra.close()
    for c in conns[1:]:
        check(c.ask("stats")["stats"]["admin_connections"] == 8, "admin connections counted")
    A = TS.login(srv.port, 1001, 1)
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == ACCEPTED, "order entry with idle admin clients")
    conns[0].send(b"ts\n")
    check(conns[0].answer()["ok"] is True, "the partial line, finished later")
    conns[1].close()

    def room():
        try:
            a = Admin(sock_path(srv))
            j = a.ask("help")
            a.close()
            return j["ok"]
        except OSError:
            return False
    check(TS.wait_for(room, "a free admin slot after a close"), "no slot freed")
    for c in conns:
        c.close()


@test
def test_an_idle_admin_connection_makes_room():
    """With all 8 admin connections taken, one more closes the one silent
    longest - if it has been for 5 s - with a line saying why, and takes its
    place: forgotten sessions once locked the operators out for as long as
    they stayed open. One that spoke within the 5 s, or waits for an
    answer, stays."""
    srv = TS.Server()
    conns = [Admin(sock_path(srv)) for _ in range(8)]
    time.sleep(5.2)  # the idle time this is about (not a race): every connection silent for 5 s
    check(conns[0].ask("help")["ok"] is True, "conns[0] speaks: no longer the longest silent")
    extra = Admin(sock_path(srv))
    check(extra.ask("help")["ok"] is True, "the 9th connection took an idle one's place")
    j = json.loads(conns[1].line())
    check(j == {"ok": False, "error": "closed: idle, and another admin connection needed its place"}, f"{j}")
    check(conns[1].line() == b"", "the idle connection is closed")
    for c in conns[2:]:  # the others stay, and answer
        check(c.ask("help")["ok"] is True, "another idle connection was closed too")
    j = json.loads(Admin(sock_path(srv)).line())  # all of them spoke just now: none is idle
    check(j["ok"] is False and "too many admin connections" in j["error"], f"a 10th: {j}")
    for c in conns + [extra]:
        c.close()


@test
def test_admin_connections_that_read_nothing_make_room():
    """8 admin connections that sent many requests and read none of the
    answers (a stuck script, a suspended `socat`): once they have neither
    sent nor taken anything for 5 s, a new one takes the place of one of
    them - the operator can still halt and kick. They once held their
    places for as long as they lived: their answers unwritten counted as
    "waiting" (a probe)."""
    srv = TS.Server()
    conns = [Admin(sock_path(srv)) for _ in range(8)]
    for c in conns:  # ~1 MB of answers each: more than a Unix socket holds unread
        c.s.setblocking(False)
        try:
            for _ in range(100):
                c.s.send(b"help\n" * 400)
        except BlockingIOError:
            pass
        c.s.setblocking(True)
    j = json.loads(Admin(sock_path(srv)).line())
    check(j["ok"] is False and "too many admin connections" in j["error"], f"while they are fresh: {j}")
    time.sleep(5.2)  # the idle time this is about (not a race): none of them sent or took anything for 5 s
    extra = Admin(sock_path(srv))
    check(extra.ask("stats")["ok"] is True, "a new connection took the place of one that read nothing")
    for c in conns + [extra]:
        c.close()


@test
def test_halt_and_resume():
    srv = TS.Server(TS.BIG)
    A = TS.login(srv.port, 1001, 1)
    btc, eth = A.inst["BTC-USDT"], A.inst["ETH-USDT"]
    r1 = A.place(btc, SELL, 101000, 5)
    r2 = A.place(btc, SELL, 101100, 4)
    j = ok(srv, "halt BTC-USDT")
    check(j == {"ok": True, "symbol": "BTC-USDT", "halted": True, "changed": True, "saved": True}, f"halt answer {j}")
    check(ok(srv, "halt BTC-USDT")["changed"] is False, "halting twice")
    check(ok(srv, "stats")["stats"]["halted"] == ["BTC-USDT"], "stats lists the halt")
    md = H.W.md_port(srv)

    def status():
        st, j = H.get_json(md, "/api/v1/instruments")
        return {i["symbol"]: i["status"] for i in j["data"]}
    check(status() == {"600519.SH": "trading", "000001.SZ": "trading", "BTC-USDT": "halted", "ETH-USDT": "trading"},
          f"GET /api/v1/instruments while BTC is halted: {status()}")
    vals, _ = H.parse_metrics(H.scrape(md))
    check(H.value(vals, "xt_instrument_halted", symbol="BTC-USDT") == 1 and
          H.value(vals, "xt_instrument_halted", symbol="ETH-USDT") == 0, "xt_instrument_halted")
    # NEW_ORDER: HALTED, unsequenced, with its instrument
    cl = A.new_order(btc, BUY, 100000, 1)
    m = A.answer(cl)
    TS.expect_rej(m, "HALTED", False, NEW_ORDER)
    check(m.instrument == btc, f"HALTED REJECTED names the instrument: {m!r}")
    # AMEND of a resting order: HALTED
    cl = A.amend(order_id=r1.order_id, qty=3)
    TS.expect_rej(A.answer(cl), "HALTED", False, AMEND)
    # CANCEL, ORDER_STATUS and MASS_CANCEL work
    cl = A.cancel(order_id=r2.order_id)
    TS.expect_type(A.answer(cl), CANCELED, order_id=r2.order_id, reason=R["USER"])
    check(A.query(order_id=r1.order_id).remaining == 5, "status of a halted instrument's order")
    # another instrument trades on
    check(A.place(eth, BUY, 200000, 1).type == ACCEPTED, "ETH order while BTC is halted")
    st = ok(srv, "stats")["stats"]
    check(st["rejects"]["engine"].get("HALTED") == 2, f"stats rejects {st['rejects']}")
    j = ok(srv, "resume BTC-USDT")
    check(j["halted"] is False and j["changed"] is True, f"resume answer {j}")
    check(ok(srv, "stats")["stats"]["halted"] == [], "stats after resume")
    check(set(status().values()) == {"trading"}, "GET /api/v1/instruments after resume")
    # market data tells it too: the ticker carries the status, and a halt or resume sends it again
    srv.md_port = md
    W = H.W

    async def ticker_status():
        async with W.websockets.connect(W.url(srv)) as ws:
            await W.send(ws, op="subscribe", id=1, args=["ticker.ETH-USDT"])
            await W.answer_of(ws, 1)
            seen = [(await W.recv(ws))["status"]]  # the snapshot
            loop = asyncio.get_running_loop()
            for cmd, want in (("halt", "halted"), ("resume", "trading")):
                await loop.run_in_executor(None, ok, srv, f"{cmd} ETH-USDT")
                while seen[-1] != want:
                    m = await W.recv(ws, 5)
                    if m.get("ch") == "ticker.ETH-USDT":
                        seen.append(m["status"])
            return seen
    check(W.run(ticker_status()) == ["trading", "halted", "trading"], "ticker status")
    ok(srv, "halt ETH-USDT")
    st, j = H.get_json(md, "/api/v1/ticker?symbol=ETH-USDT")
    check(st == 200 and j["status"] == "halted", f"REST ticker while halted: {j}")
    ok(srv, "resume ETH-USDT")
    check(A.place(btc, BUY, 100000, 1).type == ACCEPTED, "order after resume")
    cl = A.amend(order_id=r1.order_id, qty=3)
    TS.expect_type(A.answer(cl), AMENDED, order_id=r1.order_id, qty=3)
    rid = A.mass_cancel(btc)
    check(A.expect(MASS_CANCEL_ACK, request_id=rid).count == 2, "mass cancel after resume")
    check(ok(srv, "resume BTC-USDT")["changed"] is False, "resuming what is not halted")


@test
def test_a_halts_ticker_does_not_go_ahead_of_an_order():
    """A ticker's `ts` never goes back (docs/websocket.md). An order the
    engine took before a halt (its commit slowed by debug.commit_delay_us, so that
    it reaches market data after market data's 100 ms check saw the halt)
    has an earlier time than that check: the halt's ticker is stamped
    with the instrument's newest update, not the clock, and the order's
    ticker after it does not go back. The halt's once carried the clock's
    time, and the order's came hundreds of ms before it, on the
    WebSocket and the binary ticker alike (a soak found it)."""
    srv = MT.start({"debug.commit_delay_us": 400000})
    srv.md_port = H.W.md_port(srv)
    W = H.W
    A = TS.login(srv.port, 1001, 1)
    btc = A.inst["BTC-USDT"]
    b = MT.Md(srv.md_tcp)
    b.req(MT.SUBSCRIBE, 1, btc, MT.CH_TICKER)
    check(b.answer(1)["type"] == MT.ACK, "binary subscribe")

    async def tickers():
        async with W.websockets.connect(W.url(srv)) as ws:
            await W.send(ws, op="subscribe", id=1, args=["ticker.BTC-USDT", "bbo.BTC-USDT"])
            await W.answer_of(ws, 1)
            seen, bbo = [], []
            while not seen or not bbo:  # the snapshots
                m = await W.recv(ws)
                (seen if m["ch"] == "ticker.BTC-USDT" else bbo).append(m)
            cl = A.new_order(btc, BUY, 100000, 1)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: TS.wait_for(
                lambda: ok(srv, "sessions 1001")["sessions"][0]["last_clordid"] == cl, "the order with the engine"))
            await loop.run_in_executor(None, ok, srv, "halt BTC-USDT")
            while not (seen[-1]["status"] == "halted" and any(m["bid"] for m in seen) and bbo[-1]["bid"]):
                m = await W.recv(ws, 5)
                if m.get("ch") in ("ticker.BTC-USDT", "bbo.BTC-USDT"):
                    (seen if m["ch"] == "ticker.BTC-USDT" else bbo).append(m)
            return seen, bbo[-1]["ts"]
    got, order_ts = W.run(tickers())
    check(got[-1]["bid"] or got[-2]["bid"], f"the order's ticker: {got}")
    ts = [m["ts"] for m in got]
    check(ts == sorted(ts), f"the WebSocket ticker's ts went back: {[(m['status'], m['bid'], m['ts']) for m in got]}")
    halt = next(m for m in got if m["status"] == "halted")
    check(halt["ts"] <= order_ts, f"the halt's ticker ({halt['ts']}) is later than the order it came before "
          f"({order_ts}, its bbo's time)")
    bts = [m["ts"] for m in b.quiet(0.3) if m["type"] == MT.TICKER]
    check(len(bts) >= 3 and bts == sorted(bts), f"the binary ticker's ts went back: {bts}")


@test
def test_instruments():
    """`instruments [SYMBOL]` lists the definitions in force, as order
    entry's login list has them (ids, ticks, lots, band limits); a halt and
    a band moved by a SIGHUP show in it; an unknown symbol is an error; 256
    instruments with long symbols and scales fit in one answer."""
    from decimal import Decimal
    srv = TS.Server()
    A = TS.login(srv.port, 1001, 1)
    j = ok(srv, "instruments")
    got = j["instruments"]
    check([i["id"] for i in got] == list(range(len(A.instruments))), f"ids: {got}")
    for i, m in zip(got, A.instruments):
        tick, lot = Decimal(m.tick_m).scaleb(-m.tick_scale), Decimal(m.lot_m).scaleb(-m.lot_scale)
        check(i["symbol"] == m.symbol and Decimal(i["tick"]) == tick and Decimal(i["lot"]) == lot and
              Decimal(i["min"]) == m.min_qty * lot and Decimal(i["max"]) == m.max_qty * lot, f"{i} against {m!r}")
        if m.has_band:
            check(Decimal(i["band"]["low"]) == m.band_low * tick and Decimal(i["band"]["high"]) == m.band_high * tick,
                  f"band {i} against {m!r}")
        else:
            check(i["band"] is None, f"no band: {i}")
        check(i["halted"] is False, f"halted: {i}")
        check(i["prev_close"] == "close", f"prev_close: {i}")
    sh = next(i for i in got if i["symbol"] == "600519.SH")
    check(sh["band"] == {"ref": "1700.00", "pct": "10", "low": "1530.00", "high": "1870.00"}, f"600519.SH: {sh}")
    ok(srv, "halt ETH-USDT")
    one = ok(srv, "instruments ETH-USDT")["instruments"]
    check(len(one) == 1 and one[0]["symbol"] == "ETH-USDT" and one[0]["halted"] is True, f"one: {one}")
    err(srv, "instruments NOPE", ["unknown instrument 'NOPE'"])
    err(srv, "instruments A B", ["at most 1 argument", "instruments [SYMBOL]"])
    check(srv.stop() == 0, "stop")

    # a config of its own: 256 instruments (the most a config may have) with the longest symbols and
    # scales, and no max (the longest quantity), then a band moved by a SIGHUP
    path = os.path.join(srv.tmp, "many.conf")

    def write(ref):
        with open(path, "w") as f:
            for k in range(256):
                f.write(f"[instrument SYM-{k:04d}.LONGXX]\ntick = 0.000000000000000001\n"
                        f"lot = 0.000000000000000001\nref = 0.000{ref}{k:014d}\nband = 0.999999999999999999\n"
                        + ("prev_close = ref\n\n" if k == 0 else "\n"))
    write(1)
    srv = TS.Server(args=["--config", path])
    j = ok(srv, "instruments")
    got = j["instruments"]
    check(len(got) == 256 and got[255]["symbol"] == "SYM-0255.LONGXX", f"{len(got)} instruments")
    check(len(json.dumps(j)) > 65536, "the answer is not past the 64 KiB it once had")
    check(got[0]["band"]["ref"] == "0.000100000000000000" and got[0]["max"] == "0.000001099511627775", f"{got[0]}")
    check([g["prev_close"] for g in got[:2]] == ["ref", "close"], f"prev_close: {got[:2]}")
    low = Decimal(got[0]["band"]["low"])
    write(2)
    n = len(srv.stderr())
    srv.proc.send_signal(TS.signal.SIGHUP)
    TS.wait_for(lambda: srv.stderr().count("price band moved", n) == 256, "the 256 moves")
    got = ok(srv, "instruments SYM-0000.LONGXX")["instruments"][0]
    check(got["band"]["ref"] == "0.000200000000000000" and Decimal(got["band"]["low"]) > 2 * low - Decimal("1e-18"),
          f"after the reload: {got}")
    check(srv.stop() == 0, "stop")


@test
def test_halts_in_the_binary_protocols():
    """Byte 21 of INSTRUMENT (order entry's list at login, binary market
    data's at the greeting) and of binary market data's TICKER is the
    status, 1 while halted: as of the login or greeting, and a TICKER
    with the new status at a halt or resume, just after an INSTRUMENT
    on the instrument channel (docs/protocol.md, docs/md-binary.md)."""
    srv = TS.Server()
    tcp = next(int(m.group(1)) for m in map(MT.TCP_LINE.search, srv.out) if m)
    c = MT.Md(tcp)
    check(set(c.status.values()) == {0}, f"greeting's statuses before a halt: {c.status}")
    eth = c.inst["ETH-USDT"]
    c.req(MT.SUBSCRIBE, 1, eth, MT.CH_TICKER | MT.CH_INSTRUMENT)
    check(c.answer(1)["type"] == MT.ACK, "subscribe")
    snaps = {}
    while len(snaps) < 2:  # the two snapshots, in no particular order
        m = c.frame()
        snaps[m["type"]] = m
    snap = snaps[MT.TICKER]
    check(snap["flags"] & MT.SNAP and snap["status"] == 0, f"ticker snapshot {snap}")
    check((snaps[MT.INSTRUMENT]["id"], snaps[MT.INSTRUMENT]["status"]) == (eth, 0), f"instrument snapshot {snaps}")
    for cmd, want in (("halt", 1), ("resume", 0)):
        ok(srv, f"{cmd} ETH-USDT")
        m, before = c.until(lambda m: m["type"] == MT.TICKER)  # nothing trades: the next ticker is the status's
        check(m["status"] == want and m["instrument"] == eth and not m["flags"] & MT.SNAP, f"TICKER after {cmd}: {m}")
        check([(b["type"], b["id"], b["status"], b["band"]) for b in before] ==
              [(MT.INSTRUMENT, eth, want, c.band["ETH-USDT"])], f"INSTRUMENT before the TICKER after {cmd}: {before}")
        d = MT.Md(tcp)
        check(d.status == {s: want if s == "ETH-USDT" else 0 for s in d.status}, f"greeting after {cmd}: {d.status}")
        d.sock.close()
        A = TS.login(srv.port, 1001, 1)
        got = {i.symbol: i.status for i in A.instruments}
        check(got == {s: want if s == "ETH-USDT" else 0 for s in got}, f"order entry's list after {cmd}: {got}")
        A.close()
        c.req(MT.SNAPSHOT, 2, eth, MT.CH_TICKER)
        check(c.answer(2)["type"] == MT.ACK, "snapshot")
        snap, _ = c.until(lambda m: m["type"] == MT.TICKER)
        check(snap["flags"] & MT.SNAP and snap["status"] == want, f"ticker snapshot after {cmd}: {snap}")
    c.sock.close()


@test
def test_status_updates_on_order_entry():
    """A session that logs in with LOGIN flag bit 1 (status updates) gets
    INSTRUMENT again, unsequenced, at each halt or resume while it is
    logged in, before anything the server answers after it; one that logs
    in without the flag gets none; a halt of what is halted sends nothing;
    a login in between has the status in its list (docs/protocol.md)."""
    srv = TS.Server()
    A = TS.login(srv.port, 1001, 1, flags=2)
    B = TS.login(srv.port, 1002, 1)
    eth = A.inst["ETH-USDT"]
    # a sequenced message first, so that the pushes' seq (the last sequenced number) is checked against 1
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == ACCEPTED and A.last_seq == 1, "A's first order")

    def since(conn, n):
        """Queries the session (the answer comes after anything queued before) and returns the
        (type, instrument, status) of the INSTRUMENT messages among what arrived since log[n]."""
        conn.query(order_id=123456)
        return [(m.type, m.instrument, m.status) for m in conn.log[n:] if m.type == X.INSTRUMENT]
    a, b = len(A.log), len(B.log)
    ok(srv, "halt ETH-USDT")
    check(since(A, a) == [(X.INSTRUMENT, eth, 1)], f"A after the halt: {A.log[a:]}")
    check(since(B, b) == [], f"B (no flag) after the halt: {B.log[b:]}")
    a = len(A.log)
    check(ok(srv, "halt ETH-USDT")["changed"] is False, "a second halt")
    check(since(A, a) == [], f"A after a halt of what is halted: {A.log[a:]}")
    C = TS.login(srv.port, 1003, 1, flags=3)  # with cancel on disconnect too
    check({i.symbol: i.status for i in C.instruments}["ETH-USDT"] == 1, "C's list at login")
    a, b, c = len(A.log), len(B.log), len(C.log)
    ok(srv, "resume ETH-USDT")
    check(since(A, a) == [(X.INSTRUMENT, eth, 0)], f"A after the resume: {A.log[a:]}")
    check(since(C, c) == [(X.INSTRUMENT, eth, 0)], f"C after the resume: {C.log[c:]}")
    check(since(B, b) == [], f"B after the resume: {B.log[b:]}")
    # the pushed frame is the login list's, but for the status
    m = next(m for m in A.log[a:] if m.type == X.INSTRUMENT)
    first = next(i for i in A.instruments if i.instrument == eth)
    fields = ("instrument", "has_band", "symbol", "tick_m", "lot_m", "min_qty", "max_qty", "band_low", "band_high",
              "tick_scale", "lot_scale")
    check(not m.sequenced and all(m.get(f) == first.get(f) for f in fields), f"pushed {m!r} against {first!r}")
    for conn in (A, B, C):
        conn.close()


@test
def test_halts_outlast_restarts():
    """A halt is kept in the data directory's `halted` file: it outlasts a
    clean stop and a SIGKILL, and ends with `resume` (then no file). A file
    naming an instrument the config no longer has loses that line with a
    warning; one that is not a list of symbols stops the start, as trading
    what may have been halted would be worse."""
    srv = TS.Server()
    path = os.path.join(srv.data, "halted")
    # a file that cannot be written: the halt is in effect, the answer and the log say it is not kept
    os.mkdir(path + ".tmp")
    j = ok(srv, "halt ETH-USDT")
    check(j["halted"] is True and j["saved"] is False and "halted.tmp" in j["error"], f"unsaved halt {j}")
    check(ok(srv, "stats")["stats"]["halted"] == ["ETH-USDT"], "an unsaved halt is in effect")
    TS.wait_stderr(srv, "the halted instruments not saved")
    os.rmdir(path + ".tmp")
    check(not os.path.exists(path), "a file from a failed save")
    check(ok(srv, "halt BTC-USDT")["saved"] is True, "halt not saved")
    with open(path) as f:
        check([ln for ln in f.read().splitlines() if not ln.startswith("#")] == ["BTC-USDT", "ETH-USDT"],
              "the halted file")
    check(srv.stop() == 0, "clean stop")
    srv.start()
    check(ok(srv, "stats")["stats"]["halted"] == ["BTC-USDT", "ETH-USDT"], "halts after a clean stop")
    check("halted instruments stay halted" in srv.stderr() and "BTC-USDT,ETH-USDT" in srv.stderr(), "the log says so")
    A = TS.login(srv.port, 1001, 1)
    TS.expect_rej(A.answer(A.new_order(A.inst["ETH-USDT"], BUY, 200000, 1)), "HALTED", False, NEW_ORDER)
    check(ok(srv, "resume BTC-USDT")["saved"] is True, "resume not saved")
    srv.kill()
    srv.start()
    check(ok(srv, "stats")["stats"]["halted"] == ["ETH-USDT"], "halts after a SIGKILL")
    A = TS.login(srv.port, 1001, 1)
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == ACCEPTED, "BTC after its resume and a restart")
    TS.expect_rej(A.answer(A.new_order(A.inst["ETH-USDT"], BUY, 200000, 1)), "HALTED", False, NEW_ORDER)
    ok(srv, "resume ETH-USDT")
    check(not os.path.exists(path), "a file with nothing halted")
    check(srv.stop() == 0, "clean stop")
    srv.start()
    check(ok(srv, "stats")["stats"]["halted"] == [], "nothing halted")
    A = TS.login(srv.port, 1001, 1)
    check(A.place(A.inst["ETH-USDT"], BUY, 200000, 1).type == ACCEPTED, "ETH after its resume")
    check(srv.stop() == 0, "clean stop")
    # an instrument gone from the config: dropped with a warning; comments, blank lines and CRLF are fine
    with open(path, "w") as f:
        f.write("# by hand\r\n\nGONE-USDT\nBTC-USDT\r\n")
    srv.start()
    check(ok(srv, "stats")["stats"]["halted"] == ["BTC-USDT"], "halts from a hand-written file")
    check("halted instrument not in the config: dropped" in srv.stderr() and "GONE-USDT" in srv.stderr(),
          "the dropped line is logged")
    check(srv.stop() == 0, "clean stop")
    # not a symbol: no start, and the message names the file and line
    for bad in ("BTC-USDT\nBTC USDT\n", "BTC-USDT\n" + "X" * 17 + "\n"):
        with open(path, "w") as f:
            f.write(bad)
        r = subprocess.run([TS.XT, "serve", "--data", srv.data, "--listen", "127.0.0.1:0",
                            "--md-listen", "127.0.0.1:0", "--md-tcp-listen", "off"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and f"{path}:2: not a symbol" in r.stderr, f"a bad file: {r.returncode} {r.stderr}")


@test
def test_kick():
    srv = TS.Server()
    A = TS.login(srv.port, 1001, 1)
    B = TS.login(srv.port, 1002, 1)
    o = A.place(A.inst["BTC-USDT"], BUY, 100000, 2)
    j = ok(srv, "kick 1001 1")
    check(j["kicked"] == {"account": 1001, "session": 1}, f"kick answer {j}")
    got = A.read_until_closed()
    errs = [m for m in got if m.type == ERROR]
    check(len(errs) == 1 and errs[0].code == E["KICKED"], f"kicked session got {got}")
    check(B.query(order_id=123456).type == X.STATUS_REPLY, "another session is untouched")

    def gone():
        s = ok(srv, "sessions 1001")["sessions"]
        return s and s[0]["connected"] is False and s
    s = TS.wait_for(gone, "session 1001/1 shown disconnected")
    check(s[0]["session"] == 1 and s[0]["last_seq"] == 1, f"sessions after kick {s}")
    err(srv, "kick 1001 1", ["not connected"])
    err(srv, "kick 1001 2", ["not known"])
    # the session can log in again and resume; its order is still open (no cancel on disconnect asked)
    A2 = X.Conn(srv.port)
    A2.login(1001, session=1, resume_from=1, heartbeat_ms=TS.HB)
    TS.expect_type(A2.expect(ACCEPTED), ACCEPTED, order_id=o.order_id)
    check(A2.query(order_id=o.order_id).status == 1, "kicked session's order still open")
    check(ok(srv, "sessions 1001")["sessions"][0]["connected"] is True, "logged in again")


@test
def test_a_kick_answers_what_came_before():
    """Requests the gateway read before a kick are answered on the
    connection before its ERROR KICKED (docs/admin.md), as a LOGOUT's ACK
    waits for them; one sent after the kick is not taken. The engine is
    slowed (debug.engine_delay_us) so that the orders are still with it
    at the kick: the ERROR once went out at once, and their answers came
    only in the next login's resend."""
    srv = TS.Server(sets={"debug.engine_delay_us": 1000000})  # a second: the kick comes well within it
    A = TS.login(srv.port, 1001, 1)
    btc = A.inst["BTC-USDT"]
    TS.expect_type(A.place(btc, BUY, 100000, 1), ACCEPTED)
    sent = [A.new_order(btc, BUY, 100000 - k, 1) for k in range(1, 4)]
    TS.wait_for(lambda: ok(srv, "sessions 1001")["sessions"][0]["last_clordid"] == sent[-1],
                "the orders passed on to the engine")
    # still with the engine when the kick comes (else this proves nothing): none answered yet
    check(ok(srv, "sessions 1001")["sessions"][0]["last_seq"] == 1, "the orders were answered before the kick")
    j = ok(srv, "kick 1001 1")
    check(j["kicked"] == {"account": 1001, "session": 1}, f"kick answer {j}")
    late = A.new_order(btc, BUY, 99000, 1)  # after the kick: not taken
    got = A.read_until_closed()
    check([(m.type, m.clordid) for m in got[:-1]] == [(ACCEPTED, c) for c in sent] and got[-1].type == ERROR and
          got[-1].code == E["KICKED"], f"the answers, then ERROR KICKED: {got}")
    check(ok(srv, "sessions 1001")["sessions"][0]["last_clordid"] == sent[-1], f"order {late} was taken")


@test
def test_mass_cancel():
    srv = TS.Server(TS.BIG)
    A1, A2, B, btc, (x1, x2, x3, y1, z1) = TS.mass_cancel_book(srv.port, (100000, 100100, 200000, 100200, 100300))
    j = ok(srv, "mass-cancel 1001 BTC-USDT")
    check(j == {"ok": True, "account": 1001, "symbol": "BTC-USDT", "canceled": 3}, f"mass-cancel answer {j}")
    # the answer comes once the cancels are released: the CANCELED messages are on their way to each owner
    c1 = sorted([A1.expect(CANCELED), A1.expect(CANCELED)], key=lambda m: m.order_id)
    check([m.order_id for m in c1] == sorted([x1.order_id, x2.order_id]), f"A1 CANCELED {c1}")
    check(all(m.reason == R["USER"] and m.request_clordid == 0 and m.sequenced for m in c1), f"{c1}")
    TS.expect_type(A2.expect(CANCELED), CANCELED, order_id=y1.order_id, clordid=y1.clordid, reason=R["USER"])
    check(B.query(order_id=z1.order_id).status == 1, "an operator's mass cancel touched another account")
    check(A1.query(order_id=x3.order_id).status == 1, "mass-cancel of BTC cancelled an ETH order")
    check(not [m for m in TS.quiet(B) if m.type == CANCELED], "B got a CANCELED")
    j = ok(srv, "mass-cancel 1001")
    check(j["canceled"] == 1 and j["symbol"] is None, f"mass-cancel all: {j}")
    TS.expect_type(A1.expect(CANCELED), CANCELED, order_id=x3.order_id)
    check(ok(srv, "mass-cancel 1001")["canceled"] == 0, "nothing left")
    check(ok(srv, "mass-cancel 4242")["canceled"] == 0, "an account without sessions")
    # a disconnected session's orders are cancelled too; its CANCELED waits for a resume
    w = A2.place(btc, SELL, 110000, 1)
    A2.close()
    check(ok(srv, "mass-cancel 1001")["canceled"] == 1, "a disconnected session's order")
    A2 = X.Conn(srv.port)
    A2.login(1001, session=2, resume_from=1, heartbeat_ms=TS.HB)
    TS.expect_type(A2.expect(CANCELED, order_id=w.order_id), CANCELED, reason=R["USER"])


@test
def test_cancels_get_through_a_flood():
    """Cancels take work away: new orders leave them a reserve of the
    engine's inbound ring, and client cancels leave one to the operator's
    mass cancel (docs/protocol.md, OVERLOADED). Before, a flood of new
    orders filled the ring: the cancels sent behind it and the emergency
    mass cancel were refused "overloaded" (stop 49's probe)."""
    srv = TS.Server({**TS.BIG, "server.inbound_ring": 64, "debug.engine_delay_us": 20000})
    A = TS.login(srv.port, 1001, 1)
    btc = A.inst["BTC-USDT"]
    rest = [A.place(btc, BUY, 1000 + k, 1) for k in range(3)]
    flood = range(A.clordid + 1, A.clordid + 401)
    cancels = [flood[-1] + 1 + k for k in range(len(rest))]
    A.send(b"".join(X.encode_new_order(cl, btc, BUY, 500 + cl % 50, 1) for cl in flood) +
           b"".join(X.encode_cancel(cl, order_id=o.order_id) for cl, o in zip(cancels, rest)))
    got, _ = TS.collect_answers(A, [*flood, *cancels], timeout=60)
    over = [cl for cl in flood if got[cl].type == X.REJECTED and got[cl].reason == R["OVERLOADED"]]
    check(over, "the flood did not meet a full ring: nothing tested")
    for cl, o in zip(cancels, rest):
        TS.expect_type(got[cl], CANCELED, order_id=o.order_id, reason=R["USER"])
    # another account floods without a pause while the operator cancels account 1001's orders
    A.clordid = cancels[-1]
    check(ok(srv, "mass-cancel 1001")["canceled"] == len(flood) - len(over), "the flood's orders that rest")
    TS.quiet(A)  # their CANCELED
    eth = A.inst["ETH-USDT"]
    left = {"ETH-USDT": [A.place(eth, BUY, 1000, 1)], "BTC-USDT": [A.place(btc, BUY, 1000 + k, 1) for k in range(2)]}
    F = TS.login(srv.port, 1002, 1)
    stop = threading.Event()

    def flooding():
        cl = 0
        while not stop.is_set():
            F.sock.setblocking(True)
            F.sock.sendall(b"".join(X.encode_new_order(cl + k, btc, SELL, 90000 + k % 50, 1) for k in range(1, 201)))
            cl += 200
            F.sock.setblocking(False)
            try:
                while F.sock.recv(1 << 20):  # the answers, unread: only so that they do not pile up
                    pass
            except BlockingIOError:
                pass
    def overloaded():
        return ok(srv, "stats")["stats"]["rejects"]["gateway"].get("OVERLOADED", 0)
    before = overloaded()
    t = threading.Thread(target=flooding, daemon=True)
    t.start()
    try:
        TS.wait_for(lambda: overloaded() > before, "the flood meeting a full ring")
        for k, sym in enumerate(["ETH-USDT", "BTC-USDT"] + [""] * 8):
            j = ask(srv, f"mass-cancel 1001 {sym}".strip())
            check(j.get("ok") is True, f"round {k}: the operator's mass cancel under a flood: {j}")
            gone = left.pop(sym, [])
            check(j["canceled"] == len(gone), f"round {k}: {j}, {len(gone)} orders of {sym or 'all'} open")
            c = sorted((A.expect(CANCELED) for _ in gone), key=lambda m: m.order_id)
            check([m.order_id for m in c] == [o.order_id for o in gone], f"round {k}: {c}")
    finally:
        stop.set()
        t.join(10)


def snapshots(srv):
    return sorted(f for f in os.listdir(srv.data) if f.startswith("snap-"))


@test
def test_snapshot():
    srv = TS.Server()
    A = TS.login(srv.port, 1001, 1)
    A.place(A.inst["BTC-USDT"], BUY, 100000, 1)
    before = snapshots(srv)
    j = ok(srv, "snapshot")
    check(j == {"ok": True, "snapshot": "requested"}, f"snapshot answer {j}")
    # the child writes snap-*.tmp and renames it: wait for the finished file, then
    # every new file (a leftover .tmp included) is looked at
    TS.wait_for(lambda: [f for f in snapshots(srv) if f not in before and f.endswith(".xts")], "a new snapshot file")
    after = [f for f in snapshots(srv) if f not in before]
    check(len(after) == 1 and after[0].endswith(".xts"), f"new snapshot files {after}")
    st = ok(srv, "stats")["stats"]
    check(st["journal"]["last_snapshot_age_s"] < 30, f"stats after a snapshot {st['journal']}")


@test
def test_failed_snapshot_says_why():
    """A snapshot that fails in its child process (here its file cannot be
    made: a directory holds its .tmp name) is logged by the server with the
    child's own reason (docs/journal.md: `snapshot failed` with `reason`;
    it once said only "the snapshot child failed (its reason is on stderr
    above)"), counted, and does not stop trading."""
    srv = TS.Server()
    A = TS.login(srv.port, 1001, 1)
    A.place(A.inst["BTC-USDT"], BUY, 100000, 1)
    for seq in range(1, 40):  # whatever the last command's number is
        os.mkdir(os.path.join(srv.data, f"snap-{seq:020d}.tmp"))
    check(ok(srv, "snapshot")["ok"] is True, "snapshot requested")
    TS.wait_for(lambda: "snapshot failed" in srv.stderr(), "the failure in the log")
    line = [ln for ln in srv.stderr().splitlines() if "snapshot failed" in ln][0]
    check("level=error" in line and "Is a directory" in line, f"log: {line}")
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == X.ACCEPTED, "trading goes on")


STALL_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* fdatasync and fsync wait while the file XT_TEST_STALL_FILE exists: a disk
 * that hangs; so does opening the file XT_TEST_STALL_OPEN (for writing only
 * when XT_TEST_STALL_OPEN_WRITES is set) while the file
 * XT_TEST_STALL_OPEN_FLAG exists. */
static void stall_while(const char *p)
{
    struct timespec t = {0, 5000000};
    while (p && access(p, F_OK) == 0)
        nanosleep(&t, NULL);
}
static void stall(void)
{
    stall_while(getenv("XT_TEST_STALL_FILE"));
}
static int open_stalled(const char *path, int flags, va_list ap, const char *name)
{
    static int (*real[2])(const char *, int, ...);
    int k = name[4] != '\0';
    if (!real[k])
        real[k] = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
    mode_t mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
    const char *p = getenv("XT_TEST_STALL_OPEN");
    if (p && strcmp(p, path) == 0 && (!getenv("XT_TEST_STALL_OPEN_WRITES") || (flags & O_ACCMODE) != O_RDONLY))
        stall_while(getenv("XT_TEST_STALL_OPEN_FLAG"));
    return real[k](path, flags, mode);
}
int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_stalled(path, flags, ap, "open");
    va_end(ap);
    return fd;
}
int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_stalled(path, flags, ap, "open64");
    va_end(ap);
    return fd;
}
int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    stall();
    return real(fd);
}
int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    stall();
    return real(fd);
}
"""


def stall_env(tmp, stall_open="", writes_only=False):
    """The environment of a server whose fdatasync and fsync hang while the
    file `stall` in tmp exists, and whose open of the path stall_open (for
    writing only, with writes_only) hangs while `stall-open` in tmp exists
    (STALL_SHIM, built in tmp and LD_PRELOAD'ed)."""
    src, lib, flag = (os.path.join(tmp, n) for n in ("stall.c", "stall.so", "stall"))
    open(src, "w").write(STALL_SHIM)
    cc = shutil.which("cc") or shutil.which("gcc")
    check(cc is not None, "a C compiler for the test's fdatasync shim")
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", lib, src, "-ldl"], check=True)
    env = dict(os.environ, LD_PRELOAD=lib, XT_TEST_STALL_FILE=flag, XT_TEST_STALL_OPEN=stall_open,
               XT_TEST_STALL_OPEN_FLAG=os.path.join(tmp, "stall-open"),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    if writes_only:
        env["XT_TEST_STALL_OPEN_WRITES"] = "1"
    return env


def stalling_server(tmp, sets=None, args=(), stall_open=""):
    """A server with stall_env(tmp, stall_open), started; returns (server,
    the path of `stall`)."""
    srv = TS.Server(sets, args, start=False)
    srv.env = stall_env(tmp, stall_open)
    srv.start()
    return srv, os.path.join(tmp, "stall")


def threads(srv):
    """The names of the server's threads."""
    names = []
    for t in os.listdir(f"/proc/{srv.proc.pid}/task"):
        try:
            names.append(open(f"/proc/{srv.proc.pid}/task/{t}/comm").read().strip())
        except OSError:
            pass  # ended meanwhile
    return names


@test
def test_reload_reads_off_the_gateway():
    """SIGHUP reads the files on a thread of its own: while the credentials
    file cannot be opened (an LD_PRELOAD'ed open that waits while a file
    exists; 650,000 keys held order entry ~0.25 s as they were read), orders
    are answered and logins go on; a second SIGHUP meanwhile reads the files
    again once the first is applied; and a stop during a load that never
    ends does not wait for it."""
    tmp = tempfile.mkdtemp(prefix="xt-stall-")
    creds = os.path.join(tmp, "creds")

    def write(accounts):
        with open(creds, "w") as f:
            for acct in accounts:
                f.write(f"{acct} key{acct} {X.signing_key(f's-{acct}').hex()}\n")

    def login(acct, session):
        c = X.Conn(srv.port)
        return c.login(acct, f"key{acct}", f"s-{acct}", session=session, expect_ok=False)

    write([5001])
    srv, _ = stalling_server(tmp, {"server.credentials": creds}, stall_open=creds)
    gate = os.path.join(tmp, "stall-open")
    A = X.Conn(srv.port)
    A.login(5001, "key5001", "s-5001", session=1)
    btc = A.inst["BTC-USDT"]
    write([5001, 5002])
    open(gate, "w").close()
    srv.proc.send_signal(signal.SIGHUP)
    TS.wait_for(lambda: "xt-reload" in threads(srv), "the loader thread")
    srv.proc.send_signal(signal.SIGHUP)  # during the load: read again after it
    for k in range(20):  # the gateway goes on while the loader waits on the file
        check(A.place(btc, BUY, 1000 + k, 1).type == X.ACCEPTED, "an order during the load")
    check(login(5001, 2).type == X.LOGIN_ACCEPTED, "a login during the load")
    check(login(5002, 1).type == X.LOGIN_REJECTED, "the new key before the load is applied")
    check('msg="reloaded"' not in srv.stderr(), "applied while the file could not be opened")
    os.unlink(gate)
    TS.wait_for(lambda: srv.stderr().count('msg="reloaded" credentials_keys=2 ') == 2, "both reloads applied")
    check(login(5002, 1).type == X.LOGIN_ACCEPTED, "the new key after the load")
    # a stop while a load hangs: the server ends all the same
    open(gate, "w").close()
    srv.proc.send_signal(signal.SIGHUP)
    check(A.place(btc, BUY, 2000, 1).type == X.ACCEPTED, "an order during the hung load")
    srv.proc.send_signal(signal.SIGTERM)
    check(srv.proc.wait(20) == 0, "the stop's exit status")
    check(srv.stderr().count('msg="reloaded"') == 2, "the hung load applied")
    os.unlink(gate)
    shutil.rmtree(tmp, ignore_errors=True)


@test
def test_journal_stall_is_told():
    """A journal disk that hangs (an LD_PRELOAD'ed fdatasync that waits
    while a file exists) shows while it hangs: xt_journal_stalled_seconds
    grows and after a second the log says the engine waits on the disk -
    the fsync histogram would have it only once the sync returned, and
    nothing said so before. The gateway goes on meanwhile (another session
    logs in); once the disk answers, the order is ACCEPTED, the log says
    so with how long it took, and the gauge is back to 0."""
    tmp = tempfile.mkdtemp(prefix="xt-stall-")
    srv, flag = stalling_server(tmp)
    md = H.W.md_port(srv)
    A = TS.login(srv.port, 1001, 1)
    btc = A.inst["BTC-USDT"]
    check(A.place(btc, BUY, 100000, 1).type == X.ACCEPTED, "an order before")
    open(flag, "w").close()
    cl = A.new_order(btc, BUY, 100001, 1)  # its batch's sync hangs
    TS.wait_for(lambda: "waited over a second on the disk" in srv.stderr(), "the stall in the log")
    vals = H.wait_metric(md, lambda v: H.value(v, "xt_journal_stalled_seconds") >= 1, "the stall in the gauge")
    B = TS.login(srv.port, 1002, 1)  # the gateway is not held by the disk
    B.close()
    os.unlink(flag)
    m = A.answer(cl)
    check(m.type == X.ACCEPTED, f"the order, once the disk answered: {m!r}")
    TS.wait_for(lambda: "the disk answered" in srv.stderr(), "the end of the stall in the log")
    line = [ln for ln in srv.stderr().splitlines() if "the disk answered" in ln][0]
    check(int(line.split("stalled_ms=")[1].split()[0]) >= 1000, f"how long: {line}")
    H.wait_metric(md, lambda v: H.value(v, "xt_journal_stalled_seconds") < 1, "the gauge back to 0")
    A.close()
    shutil.rmtree(tmp, ignore_errors=True)


@test
def test_halt_on_a_hung_disk():
    """An operator halts an instrument while the disk hangs (fsync waits):
    the halt takes effect and the gateway goes on serving - a session logs
    in - while the `halted` file waits for the disk; the answer comes once
    it is written. The file was written on the gateway thread, which held
    every connection (heartbeats, logins, answers) for as long as the sync
    took."""
    tmp = tempfile.mkdtemp(prefix="xt-stall-")
    srv, flag = stalling_server(tmp)
    A = TS.login(srv.port, 1001, 1)
    open(flag, "w").close()
    adm = Admin(sock_path(srv), timeout=20)
    adm.send(b"halt BTC-USDT\n")
    B = TS.login(srv.port, 1002, 1)  # the gateway is not held by the halt's sync
    check(B.inst["BTC-USDT"] is not None, "B logged in")
    os.unlink(flag)
    j = adm.answer()
    check(j == {"ok": True, "symbol": "BTC-USDT", "halted": True, "changed": True, "saved": True}, f"answer {j}")
    check(open(os.path.join(srv.data, "halted")).read().splitlines()[-1] == "BTC-USDT", "the file")
    adm.close()
    A.close()
    B.close()
    shutil.rmtree(tmp, ignore_errors=True)


@test
def test_halt_answered_across_a_stop():
    """A halt whose file is still being written when the server stops
    (SIGTERM; the disk hangs until market data's port has closed, the
    gateway's loop long over) is answered once the file is written, before
    the server ends: the answer was lost."""
    tmp = tempfile.mkdtemp(prefix="xt-stall-")
    srv, flag = stalling_server(tmp)
    md = H.W.md_port(srv)
    open(flag, "w").close()
    adm = Admin(sock_path(srv), timeout=20)
    adm.send(b"halt BTC-USDT\n")
    TS.wait_for(lambda: "admin: halted" in srv.stderr(), "the halt in effect")
    srv.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: refused(md), "market data's port closed: the loops are over")
    os.unlink(flag)
    j = adm.answer()
    check(j.get("saved") is True and j.get("halted") is True, f"answer {j}")
    check(srv.proc.wait(20) == 0, "the stop's exit status")
    check(open(os.path.join(srv.data, "halted")).read().splitlines()[-1] == "BTC-USDT", "the file")
    adm.close()
    shutil.rmtree(tmp, ignore_errors=True)


@test
def test_log_reopened_during_the_final_wait():
    """A SIGHUP (logrotate's postrotate) once the gateway's loop is over,
    while the stop waits for a snapshot being written, opens log.file
    again: the stop's last lines go to the new file. It was taken only at
    the end, the rotated file got them, a probe found."""
    srv = TS.Server(sets={"debug.snapshot_delay_ms": 4000}, start=False)
    logf = os.path.join(srv.tmp, "srv.log")
    srv.sets["log.file"] = logf
    srv.start()
    md = H.W.md_port(srv)
    srv.proc.send_signal(signal.SIGUSR1)  # a snapshot's child, held 4 s
    TS.wait_for(lambda: TS.children(srv.proc.pid), "the snapshot's child")
    srv.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: refused(md), "market data's port closed: the gateway's loop is over")
    check(TS.children(srv.proc.pid), "the child is still writing: the stop waits for it")
    os.rename(logf, logf + ".1")
    srv.proc.send_signal(signal.SIGHUP)
    check(srv.proc.wait(30) == 0, "the stop's exit status")
    new = open(logf).read() if os.path.exists(logf) else ""
    check('msg="SIGHUP during the stop: nothing reloaded"' in new and 'msg="stopped cleanly"' in new,
          f"the new log.file: {new[-600:]!r}")
    check('msg="stopped cleanly"' not in open(logf + ".1").read(), "the rotated file got the last line")


@test
def test_draining_sessions_shown_while_stopping():
    """While a stop drains a connection (its client reads slowly, its last
    bytes in the sockets), the admin socket shows its session connected, in state "closing", with its
    peer, and counts it in sessions_connected, as deploy.md says: once its
    last bytes were handed to the socket it was listed disconnected and not
    counted, so the drain's holder could not be found, a probe found. A
    kick closes it at once."""
    srv = TS.Server(sets={"server.output_limit": 1 << 26, **TS.BIG})
    c = TS.Conn(srv.port, read_hello=False)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.hello = c.expect(X.HELLO)
    c.login(1001, session=5, heartbeat_ms=TS.HB)
    btc = c.inst["BTC-USDT"]
    # 0.5 MB of ACCEPTED the client does not read: the server's socket takes it all (the connection is
    # shut, its last bytes handed over), the client's does not: the drain waits for the client
    n = 8000
    c.send(b"".join(X.encode_new_order(cl, btc, BUY, 1000 + cl % 100, 1) for cl in range(1, n + 1)))
    adm = Admin(sock_path(srv))
    TS.wait_for(lambda: adm.ask("stats")["stats"]["commands"]["new_order"] >= n, "the orders taken")
    srv.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: "stopping: no new connections" in srv.stderr(), "the drain")
    seen = []

    def closing():
        try:
            st, ss = adm.ask("stats")["stats"], adm.ask("sessions")
        except (OSError, AssertionError) as e:  # the stop is over
            seen.append((None, str(e)))
            return True
        mine = [x for x in ss["sessions"] if x["session"] == 5]
        seen.append((st["sessions_connected"], mine))
        return st["stopping"] and mine and mine[0].get("state") == "closing"
    TS.wait_for(closing, "the session shown closing", timeout=5)
    count, mine = seen[-1]
    check(count is not None and mine, f"never shown closing during the drain: {seen[-3:]}")
    check(count == 1 and mine[0]["connected"] is True and mine[0]["peer"] == "127.0.0.1",
          f"sessions_connected {count}, the session {mine}")
    # a kick closes it at once: the client gets what the sockets took, not the rest
    k = adm.ask("kick 1001 5")
    check(k.get("kicked") == {"account": 1001, "session": 5}, f"the kick of a closing session: {k}")
    try:
        got = [m for m in c.read_until_closed(10) if m.type == ACCEPTED]
    except (ConnectionResetError, X.Closed):
        got = []
    check(len(got) < n, f"{len(got)} of {n} answers read after the kick")
    adm.close()
    c.close()
    check(srv.proc.wait(30) == 0, "the stop's exit status")


@test
def test_waiting_login_shown():
    """A LOGIN that waits for the answers to its session's requests still in
    flight (here a batch whose commit debug.commit_delay_us holds a second)
    shows the session connected, in state "login_wait", as admin.md says,
    and `stats` counts it in sessions_connected: a connection became the
    session's only once logged in, so the state was never shown (the
    session was listed disconnected)."""
    srv = TS.Server(sets={"debug.commit_delay_us": 1000000})
    adm = Admin(sock_path(srv))
    a = TS.login(srv.port, 1001, 6)
    a.new_order(a.inst["BTC-USDT"], BUY, 1000, 1)
    a.close()
    b = TS.Conn(srv.port)
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(b.login(1001, session=6, heartbeat_ms=TS.HB)))
    t.start()
    states, counted = [], []

    def state():
        mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 6]
        return mine[0].get("state") if mine else None

    def waiting():
        states.append(state())
        if states[-1] == "login_wait":  # stats between two looks that both saw it waiting
            n = adm.ask("stats")["stats"]["sessions_connected"]
            states.append(state())
            if states[-1] == "login_wait":
                counted.append(n)
        return counted or accepted
    TS.wait_for(waiting, "the login waiting or done", timeout=10)
    t.join(10)
    check("login_wait" in states, f"the states seen: {states}")
    check(counted == [1], f"sessions_connected while the login waits: {counted}")
    check(accepted and accepted[0].next_seq == 2, f"the login: {accepted}")
    mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 6]
    check(mine[0]["state"] == "live" and mine[0]["connected"] is True, f"after the login: {mine}")
    b.close()
    adm.close()


def waiting_login(srv, adm, session):
    """A LOGIN to 1001/session made to wait (the session's order in a batch
    whose commit debug.commit_delay_us holds), seen waiting by the admin
    socket; returns its connection."""
    a = TS.login(srv.port, 1001, session)
    a.new_order(a.inst["BTC-USDT"], BUY, 1000, 1)
    a.close()
    b = TS.Conn(srv.port)
    key, secret = X.DEMO[1001]
    b.send(X.encode_login(1001, key, secret, session, b.hello.nonce, heartbeat_ms=TS.HB))
    states = []

    def waiting():
        mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == session]
        states.append(mine[0].get("state") if mine else None)
        return states[-1] in ("login_wait", "live")
    TS.wait_for(waiting, "the login waiting or done", timeout=10)
    check(states[-1] == "login_wait", f"the states seen: {states}")
    return b


@test
def test_kick_of_a_waiting_login():
    """`kick` of a session whose new connection's LOGIN waits (shown
    connected, login_wait) closes that connection with ERROR KICKED, and it
    is not logged in: it answered "not connected". A second LOGIN waiting
    behind the first is refused too (a first version refused one)."""
    srv = TS.Server(sets={"debug.commit_delay_us": 1000000})
    adm = Admin(sock_path(srv))
    b = waiting_login(srv, adm, 9)
    b2 = TS.Conn(srv.port)
    key, secret = X.DEMO[1001]
    frame = X.encode_login(1001, key, secret, 9, b2.hello.nonce, heartbeat_ms=TS.HB)
    read = adm.ask("stats")["stats"]["bytes_in"]
    b2.send(frame)  # taken (and so waiting) once the gateway has read its bytes
    TS.wait_for(lambda: adm.ask("stats")["stats"]["bytes_in"] >= read + len(frame), "the second LOGIN read")
    k = adm.ask("kick 1001 9")
    check(k.get("kicked") == {"account": 1001, "session": 9}, f"the kick: {k}")
    for who, conn in (("first", b), ("second", b2)):
        got = conn.read_until_closed(10)
        check([m.type for m in got] == [ERROR] and got[0].code == E["KICKED"], f"the {who} waiting login got {got}")
    mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 9]
    check(mine and mine[0]["connected"] is False, f"after the kick: {mine}")
    c = TS.login(srv.port, 1001, 9)  # the session is as it was: its order answered
    check(c.accepted.next_seq == 2, f"{c.accepted!r}")
    adm.close()


@test
def test_kick_during_a_takeover():
    """A LOGIN taking over a live connection waits for that connection's
    requests in flight; a kick meanwhile closed only the live one, and the
    waiting LOGIN was then accepted - a key revoked and then kicked went on
    trading through it. Now the kick refuses it too, ERROR KICKED. (Found
    by a probe.)"""
    srv = TS.Server(sets={"debug.commit_delay_us": 1000000})
    adm = Admin(sock_path(srv))
    a = TS.login(srv.port, 1001, 9)
    a.new_order(a.inst["BTC-USDT"], BUY, 1000, 1)  # in a batch whose commit takes a second
    b = TS.Conn(srv.port)
    key, secret = X.DEMO[1001]
    frame = X.encode_login(1001, key, secret, 9, b.hello.nonce, heartbeat_ms=TS.HB)
    read = adm.ask("stats")["stats"]["bytes_in"]
    b.send(frame)
    TS.wait_for(lambda: adm.ask("stats")["stats"]["bytes_in"] >= read + len(frame), "the taking-over LOGIN read")
    k = adm.ask("kick 1001 9")
    check(k.get("kicked") == {"account": 1001, "session": 9}, f"the kick: {k}")
    got = b.read_until_closed(10)
    check([m.type for m in got] == [ERROR] and got[0].code == E["KICKED"], f"the taking-over login got {got}")
    got = a.read_until_closed(10)
    check(got and got[-1].type == ERROR and got[-1].code == E["KICKED"], f"the live connection got {got}")

    def gone():  # (the kicked connection is shown "closing" until its last bytes are out)
        mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 9]
        return mine and mine[0]["connected"] is False
    TS.wait_for(gone, "the session disconnected after the kick")
    c = TS.login(srv.port, 1001, 9)
    check(c.accepted.next_seq == 2, f"{c.accepted!r}")
    adm.close()


ENDED_ROW = {"account": 1001, "session": 5, "connected": True, "peer": "127.0.0.1", "state": "closing", "ended": True}


def kicked_and_lingering(srv, account, session):
    """A session with nothing journaled, kicked while the client takes
    none of its last bytes (for up to 3 heartbeat intervals): it ends with
    its connection, which lingers. Returns the client's connection once
    `sessions` lists it `ended`."""
    c = X.Conn(srv.port, read_hello=False)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.hello = c.expect(X.HELLO)
    c.login(account, session=session, heartbeat_ms=60000)  # (the linger is 3 of them)
    c.sock.setblocking(True)
    read = ok(srv, "stats")["stats"]["bytes_in"]
    burst = b"".join(X.encode_status(r, orig_clordid=1) for r in range(1, 5001))  # answers: more than the socket takes
    c.sock.sendall(burst)  # (unsequenced answers: nothing journaled)
    TS.wait_for(lambda: ok(srv, "stats")["stats"]["bytes_in"] >= read + len(burst), "the requests read")
    check(ok(srv, f"kick {account} {session}")["kicked"] == {"account": account, "session": session}, "the kick")
    TS.wait_for(lambda: any(x["session"] == session and x.get("ended") for x in
                            ok(srv, f"sessions {account}")["sessions"]),
                "the session ended with its connection, which is listed")
    return c


@test
def test_a_session_logged_in_again_keeps_the_ended_row():
    """A lingering connection of a session that ended stays listed when a
    new login starts a session of the same number (it was hidden behind
    the new session's row: `stats` counted two connections, `sessions`
    showed one)."""
    srv = TS.Server(TS.BIG)
    c = kicked_and_lingering(srv, 1001, 5)
    d = TS.login(srv.port, 1001, 5)
    rows = [x for x in ok(srv, "sessions 1001")["sessions"] if x["session"] == 5]
    check(len(rows) == 2 and rows[0]["state"] == "live" and rows[1] == ENDED_ROW, f"the rows of 1001/5: {rows}")
    check(ok(srv, "stats")["stats"]["connections"] == 2, "two connections")
    d.close()
    c.close()
    check(srv.running(), "server died")


@test
def test_a_second_kick_finds_a_session_gone_with_its_connection():
    """A kicked session with nothing journaled ends at once, while its
    connection's last bytes wait for a client that takes none (for up to 3
    heartbeat intervals): `sessions` no longer shows it, and a second kick
    answered "not known" - the operator had no way to reset it. The
    second kick now finds the connection by its login and resets it, as
    it resets one shown "closing". `sessions` lists that connection (it
    did not: `stats` counted a connection no row showed), as "closing" and
    "ended"."""
    srv = TS.Server(TS.BIG)
    c = kicked_and_lingering(srv, 1001, 5)

    def row():
        return next((x for x in ok(srv, "sessions 1001")["sessions"] if x["session"] == 5), None)
    check(row() == ENDED_ROW, f"the row of its connection: {row()}")
    check(ok(srv, "sessions 1002")["sessions"] == [], "listed for its own account only")
    j = ok(srv, "kick 1001 5")
    check(j["kicked"] == {"account": 1001, "session": 5}, f"the second kick: {j}")
    c.sock.settimeout(10)
    try:  # reset: what the socket held for the client is dropped, the client sees the end at once
        while c.sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    err(srv, "kick 1001 5", ["not known"])  # nothing left of it now
    check(row() is None, f"still listed: {row()}")
    check(srv.running(), "server died")


@test
def test_expired_session_after_lost_messages():
    """A session gone (no connection) whose last message was lost (one
    engine batch past server.resume_messages: here a maker's fill) kept a
    stale last number in the gateway: once expired it was asked to end with
    that number, the engine - which ends only a session with nothing made
    since - kept it, and so again every expiry period, for good. The gateway
    now asks the engine for its numbers first: it ends, and a new login
    starts it anew (next_seq 1)."""
    srv = TS.Server(sets={"server.resume_messages": 64, "server.session_expiry_s": 1})
    adm = Admin(sock_path(srv))
    TS.lose_messages(srv, [(1001, 7, 1000, 1), (1001, 8, 1001, 40)])  # D's fill first, then C's forty: 83 messages

    def ended():
        return not [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 7]
    TS.wait_for(ended, "the expired session 1001/7 ended", timeout=15)
    d = TS.login(srv.port, 1001, 7)
    check(d.accepted.next_seq == 1, f"a new session: {d.accepted!r}")
    adm.close()


@test
def test_kick_does_not_wait_for_a_logouts_resume():
    """A LOGOUT behind a LOGIN's resume waits for the resume (its ACK after
    the last resent message); a kick of that connection does not: its
    LOGOUT_ACK goes at once, behind what is queued, and the resume stops
    there - a client that reads nothing cannot hold the kick."""
    srv = TS.Server(sets=TS.BIG)
    A = TS.login(srv.port, 1001, 3)
    btc = A.inst["BTC-USDT"]
    n = 35000  # 70,000 messages, 5.6 MB to resend: more than the sockets hold (4 MB here) for a client that reads nothing
    A.send(b"".join(X.encode_new_order(cl, btc, BUY, 1000, 1, tif=X.IOC) for cl in range(1, n + 1)))
    A.answer(n, timeout=60)
    A.close()
    B = TS.Conn(srv.port, read_hello=False)
    B.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    B.hello = B.expect(X.HELLO)
    B.send(X.encode_login(1001, *X.DEMO[1001], 3, B.hello.nonce, 1) + X.encode_logout())
    adm = Admin(sock_path(srv))

    def state():
        mine = [x for x in adm.ask("sessions 1001")["sessions"] if x["session"] == 3]
        return mine and mine[0].get("state")
    TS.wait_for(lambda: state() == "resuming", "the resume running, held by the reader")
    k = adm.ask("kick 1001 3")
    check(k.get("kicked") == {"account": 1001, "session": 3}, f"the kick's answer {k}")
    got = [m for m in B.read_until_closed(30) if m.type != X.SRV_HEARTBEAT]
    seqs = [m.seq for m in got if m.sequenced]
    check(got[-1].type == X.LOGOUT_ACK, f"the connection's last message: {got[-1]!r}")
    check(seqs == list(range(1, len(seqs) + 1)) and len(seqs) < 2 * n,
          f"the resume cut at the kick: {len(seqs)} of {2 * n} resent")
    adm.close()


@test
def test_halt_refused_while_stopping():
    """Once a stop signal has come, halt and resume are refused (as a mass
    cancel is) and answered: one sent during the drain was applied and its
    answer lost, so the operator's last answer could disagree with the
    file the next start reads."""
    srv = TS.Server(sets={"debug.engine_delay_us": 1000000})
    A = TS.login(srv.port, 1001, 1)
    A.place(A.inst["BTC-USDT"], BUY, 100000, 1)  # answered; the engine sleeps 1 s after each batch
    A.new_order(A.inst["BTC-USDT"], BUY, 100001, 1)  # so the drain takes a while
    adm = Admin(sock_path(srv))
    srv.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: "stopping: no new connections" in srv.stderr(), "the drain")
    j = adm.ask("halt BTC-USDT")
    check(j == {"ok": False, "error": "the server is stopping"}, f"answer {j}")
    check(srv.proc.wait(20) == 0, "the stop's exit status")
    check(not os.path.exists(os.path.join(srv.data, "halted")), "nothing halted")
    adm.close()


@test
def test_snapshot_child_holds_no_sockets():
    """A snapshot's child process (forked) keeps only stdio, the pipe for
    its reason and the data directory's lock: it once kept every socket
    and file the server had open, for as long as it wrote (seconds on a
    slow disk), so a client the server closed saw no end of its connection
    and the listening ports took connections nobody answered.
    debug.snapshot_delay_ms holds the child while its descriptors are read."""
    srv = TS.Server(sets={"debug.snapshot_delay_ms": 20000})
    A = TS.login(srv.port, 1001, 1)
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == X.ACCEPTED, "an order")
    check(ok(srv, "snapshot")["ok"] is True, "snapshot requested")
    kids = TS.wait_for(lambda: TS.children(srv.proc.pid), "the snapshot's child")

    def beyond_stdio():
        fds = {}
        for fd in os.listdir(f"/proc/{kids[0]}/fd"):
            try:
                fds[int(fd)] = os.readlink(f"/proc/{kids[0]}/fd/{fd}")
            except OSError:
                pass
        return {fd: what for fd, what in fds.items() if fd > 2}
    last = {}

    def closed():  # the child closes them first thing, but it may not have run yet
        last.clear()
        last.update(beyond_stdio())
        return not any(w.startswith("socket:") or "/wal-" in w for w in last.values())
    try:
        TS.wait_for(closed, "the child's inherited sockets and files closed")
    except AssertionError:
        raise AssertionError(f"the child holds: {last}")
    os.kill(int(kids[0]), signal.SIGKILL)  # the test's delay; trading goes on without the snapshot
    check(sorted(os.path.basename(w) if w.startswith("/") else w.split(":")[0] for w in last.values()) ==
          ["LOCK", "pipe"], f"the child's descriptors: {last}")
    check(A.place(A.inst["BTC-USDT"], BUY, 100000, 1).type == X.ACCEPTED, "trading goes on")
    A.close()


@test
def test_stopping_server_refuses_connections():
    """Once SIGTERM has drained the server, its ports refuse new
    connections while it waits for a snapshot's child and writes the final
    snapshot (seconds, on a slow disk): they were open until the process
    ended, so a client's connection or a /readyz probe was taken and never
    answered."""
    srv = TS.Server(sets={"debug.snapshot_delay_ms": 5000})
    md = H.W.md_port(srv)
    srv.proc.send_signal(signal.SIGUSR1)  # a snapshot: its child waits 5 s
    TS.wait_for(lambda: TS.children(srv.proc.pid), "the snapshot's child")
    srv.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: refused(srv.port) and refused(md), "the ports refusing")
    check(srv.proc.poll() is None, "the server had ended already: nothing shown")
    check(srv.proc.wait(20) == 0, "the stop's exit status")


def refused(port):
    """Is a TCP connection to the port refused? (A reset is not yet: a
    connection still in the listener's backlog when it closes is reset, and
    the next one is refused. Nor is a timeout: a SYN that came as the
    listener closed - in the parent, then in a snapshot's child that had not
    yet closed its copy - is dropped, and retried only after a second.)"""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, TimeoutError):
        return False


@test
def test_output_pool_goes_to_the_readers():
    """Order-entry output buffers come from one pool (debug.output_chunks
    makes it small here: 64 chunks of 16 KiB). Three sessions that send
    more ORDER_STATUS than their sockets can take the answers to and never
    read fill it; a session that reads
    then asks for one more buffer. The connection holding the most output
    is closed SLOW_CONSUMER ("held the most") and its queue dropped, so the
    buffers come free, and the one that reads is served (docs/protocol.md):
    the asker once was the one closed, with its queue kept, so clients that
    do not read held the pool and disconnected every other one.""" 
    srv = TS.Server(sets={"debug.output_chunks": 64, "server.output_limit": 1 << 26, "limits.rate": 1000000000,
                          "limits.burst": 1000000000})
    reader = TS.login(srv.port, 1002, 1)
    hogs = []
    for k in range(3):
        h = X.Conn(srv.port, read_hello=False)
        h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        h.hello = h.expect(X.HELLO)
        h.login(1001, session=10 + k, heartbeat_ms=60000)  # not closed for silence meanwhile
        hogs.append(h)
    # each hog's answers (88-byte STATUS_REPLYs) must be more than its socket can take in, whatever the
    # kernel's autotuning made of the server's send buffer (up to tcp_wmem's maximum: 30,000 answers, 2.6 MB,
    # once fitted there under load, and nothing ran out), and more than the pool besides
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        wmem_max = int(f.read().split()[2])
    answers = (wmem_max + 64 * 16384) * 3 // 2 // 88
    for h in hogs:
        burst = b"".join(X.encode_status(r, orig_clordid=1) for r in range(1, answers + 1))
        h.sock.setblocking(True)
        try:
            h.sock.sendall(burst)
        except OSError:
            pass  # closed (shed) before it took everything
    # the pool ran out: a hog is closing or gone (shed; the old way, closed with its queue kept)
    def live_hogs():
        return {x["session"] for x in ok(srv, "sessions 1001")["sessions"] if x.get("state") == "live"}
    TS.wait_for(lambda: len(live_hogs() & {10, 11, 12}) < 3, "a hog closed", timeout=60)
    q = reader.query(orig_clordid=1, timeout=15)
    check(q.type == X.STATUS_REPLY, f"the reader's answer: {q!r}")
    # the hogs shed are closing or gone. (Their streams end with ERROR SLOW_CONSUMER "output buffers ran out;
    # this connection held the most"; through their 4 KiB windows the rest of what their sockets hold takes
    # many seconds to read, so it is not read here.)
    check(len(live_hogs() & {10, 11, 12}) < 3, "no hog was shed")
    for h in hogs:
        h.close()
    check(ok(srv, "sessions 1002")["sessions"][0]["state"] == "live", "the reader is still live")
    check(reader.query(orig_clordid=1).type == X.STATUS_REPLY, "the reader goes on")


def session_state(srv, account, session):
    return next((x.get("state") for x in ok(srv, f"sessions {account}")["sessions"] if x["session"] == session), None)


def last_words(c, srv, account, session, send):
    """Runs send(c) over and over from a thread until the session's
    connection is closing (admin `sessions`), then reads everything, 4 KiB
    a millisecond, while the thread goes on sending: a client that sends
    faster than it reads, still sending when the server is done with it.
    Returns the messages read."""
    stop = threading.Event()

    def sender():
        try:
            while not stop.is_set():
                send(c)
        except OSError:
            pass  # reset or closed: the server is done with it

    c.sock.setblocking(True)  # sendall waits for room; the reads below wait in select
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        TS.wait_for(lambda: session_state(srv, account, session) != "live", "the connection closing", timeout=60)
        got, t1, how = [], time.monotonic(), "no end in 60 s"
        while time.monotonic() < t1 + 60:
            if not select.select([c.sock], [], [], 1)[0]:
                continue
            try:
                data = c.sock.recv(4096)
            except ConnectionResetError:
                how = "a reset"
                break
            if not data:
                how = "end of file"
                break
            got += c.reader.feed(data)
            time.sleep(0.001)  # the slow reader this is about, not a wait for the server
        print(f"  closing after {t1 - t0:.1f} s; {len(got)} messages read in {time.monotonic() - t1:.1f} s, "
              f"then {how}")
        return got
    finally:
        stop.set()
        t.join(30)


def flood_of_status_requests(srv):
    """Session (1001, 1) on a 64 KiB receive buffer sends ORDER_STATUS in
    bursts of 1,000 from a thread until the server closes it (last_words);
    returns the messages read. (Not smaller: under an MSS of loopback's
    64 KiB, set after the connect, TCP's window updates can stall the
    reading for tens of seconds, a minute once.)"""
    c = X.Conn(srv.port, read_hello=False)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.hello = c.expect(X.HELLO)
    c.login(1001, session=1, heartbeat_ms=60000)
    burst = b"".join(X.encode_status(r, orig_clordid=1) for r in range(1, 1001))
    return last_words(c, srv, 1001, 1, lambda c: c.sock.sendall(burst))


@test
def test_a_closed_slow_consumer_is_told_why():
    """A client that sends faster than it reads goes over
    server.output_limit and is closed with ERROR SLOW_CONSUMER behind
    what its socket holds. It keeps sending after the server is done
    with it: the server shuts its write side and reads on, so the ERROR
    arrives (docs/protocol.md). (It once closed the socket at once; what
    the client sent next drew a reset, and the reset discarded what the
    socket still held for the client: the ERROR with it.)"""
    srv = TS.Server(sets={"server.output_limit": 65536, **TS.BIG})
    got = flood_of_status_requests(srv)
    errs = [m for m in got if m.type == ERROR]
    check(errs and got[-1] is errs[-1] and errs[-1].code == E["SLOW_CONSUMER"],
          f"the last message is ERROR SLOW_CONSUMER: {got[-3:]!r}")
    check("output_limit" in errs[-1].text, f"the ERROR names the limit: {errs[-1].text!r}")
    check(srv.running(), "server died")
    TS.login(srv.port, 1001, 1).close()


@test
def test_the_last_error_has_a_buffer_kept_for_it():
    """Order-entry output buffers come from one pool; the ERROR that closes
    a connection is kept in the connection's own room when no buffer is
    left. Here the pool holds one buffer (debug.output_chunks); a client
    that does not read fills it, and is closed ERROR SLOW_CONSUMER
    "output buffers ran out" - which it reads once it reads. (When no
    buffer was left for the ERROR, the connection closed with a FIN and
    no reason.)"""
    srv = TS.Server(sets={"debug.output_chunks": 1, "server.output_limit": 1 << 26, **TS.BIG})
    got = flood_of_status_requests(srv)
    check(got and got[-1].type == ERROR and got[-1].code == E["SLOW_CONSUMER"],
          f"the last message is ERROR SLOW_CONSUMER: {got[-3:]!r}")
    check("buffers ran out" in got[-1].text, f"the ERROR says why: {got[-1].text!r}")
    check(srv.running(), "server died")


@test
def test_every_connection_closed_for_the_pool_is_told_why():
    """30 clients that do not read run a pool of 16 buffers out at once:
    each of those closed for it (10 at least) has ERROR SLOW_CONSUMER as
    its last message, read once it reads. (A reserve of the pool held one ERROR per buffer: 25 of
    30 once got a bare end of file.)"""
    srv = TS.Server(sets={"debug.output_chunks": 16, "server.output_limit": 1 << 26, **TS.BIG,
                          "server.max_sessions_per_account": 64})
    conns = []
    for k in range(30):
        c = X.Conn(srv.port, read_hello=False)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        c.hello = c.expect(X.HELLO)
        c.login(1001 + k % 4, session=100 + k, heartbeat_ms=60000)
        conns.append(c)
    burst = b"".join(X.encode_status(r, orig_clordid=1) for r in range(1, 3001))
    for c in conns:
        c.sock.setblocking(True)
        try:
            c.sock.sendall(burst)
        except OSError:
            pass  # closed before it took everything

    def closing():  # those the server closes (the others' output fits their sockets and stays)
        return [k for k in range(30) if session_state(srv, 1001 + k % 4, 100 + k) != "live"]
    TS.wait_for(lambda: len(closing()) >= 10, "the pool running out", timeout=60)
    closed, bare = closing(), []
    for k in closed:
        got = conns[k].read_until_closed(60)
        if not got or got[-1].type != ERROR or got[-1].code != E["SLOW_CONSUMER"]:
            bare.append((k, got[-1:]))
    check(not bare, f"{len(bare)} of {len(closed)} closed without their ERROR: {bare[:3]}")
    check(srv.running(), "server died")


@test
def test_stats_and_sessions():
    srv = TS.Server()
    j = ok(srv, "stats")["stats"]
    for k in ("connections", "sessions", "sessions_connected", "admin_connections", "commands", "rejects", "trades",
              "ring", "journal", "halted", "bytes_in", "bytes_out"):
        check(k in j, f"stats lacks {k}: {j}")
    check(j["connections"] == 0 and j["sessions"] == 0 and j["admin_connections"] == 1, f"idle stats {j}")
    A = TS.login(srv.port, 1001, 1)
    B = TS.login(srv.port, 1002, 7)
    btc = A.inst["BTC-USDT"]
    A.place(btc, SELL, 100000, 2)
    B.place(btc, BUY, 100000, 1)
    A.expect(X.FILL)
    A.send(X.encode_new_order(A.next_clordid(), 999, BUY, 1, 1))  # UNKNOWN_INSTRUMENT (gateway)
    A.expect(X.REJECTED)
    j = ok(srv, "stats")["stats"]
    check(j["connections"] == 2 and j["sessions"] == 2 and j["sessions_connected"] == 2, f"stats {j}")
    check(j["commands"]["new_order"] == 3 and j["trades"] == 1, f"stats commands/trades {j}")
    check(j["rejects"]["gateway"] == {"UNKNOWN_INSTRUMENT": 1}, f"stats rejects {j['rejects']}")
    check(j["ring"]["depth"] == 0 and j["ring"]["capacity"] == 65536, f"ring {j['ring']}")
    check(j["journal"]["failed"] is False and j["journal"]["fsyncs"] >= 1, f"journal {j['journal']}")
    s = ok(srv, "sessions")
    check(s["listed"] == 2 and s["omitted"] == 0, f"sessions {s}")
    by = {(x["account"], x["session"]): x for x in s["sessions"]}
    a = by[(1001, 1)]
    check(a["connected"] is True and a["peer"] == "127.0.0.1" and a["state"] == "live" and a["last_seq"] == 2 and
          a["logged_out"] is False, f"session 1001/1 {a}")
    check(by[(1002, 7)]["last_seq"] == 2, f"session 1002/7 {by[(1002, 7)]}")
    s = ok(srv, "sessions 1002")
    check([(x["account"], x["session"]) for x in s["sessions"]] == [(1002, 7)], f"sessions 1002 {s}")
    check(ok(srv, "sessions 55")["sessions"] == [], "sessions of an unknown account")


@test
def test_cli():
    srv = TS.Server()
    rc, out, errtext = cli("--data", srv.data, "stats")
    check(rc == 0 and json.loads(out)["ok"] is True and out.endswith("}\n"), f"admin stats: {rc} {out!r} {errtext}")
    rc, out, _ = cli("--socket", sock_path(srv), "halt", "BTC-USDT")
    check(rc == 0 and json.loads(out)["halted"] is True, f"admin halt: {rc} {out!r}")
    rc, out, _ = cli("--socket", sock_path(srv), "halt", "NOPE")
    check(rc == 1 and "unknown instrument" in json.loads(out)["error"], f"error answer: {rc} {out!r}")
    rc, out, _ = cli("--data", srv.data, "bogus", "words")
    check(rc == 1 and json.loads(out)["ok"] is False, f"unknown command: {rc} {out!r}")
    conf = os.path.join(srv.tmp, "x.conf")
    with open(conf, "w") as f:
        f.write(f"[journal]\ndir = {srv.data}\n")
    rc, out, _ = cli("--config", conf, "mass-cancel", "1001")
    check(rc == 0 and json.loads(out)["canceled"] == 0, f"--config: {rc} {out!r}")
    with open(conf, "w") as f:
        f.write("[server]\nadmin_socket = off\n")
    rc, out, errtext = cli("--config", conf, "stats")
    check(rc == 2 and "off" in errtext, f"admin_socket off: {rc} {errtext!r}")
    rc, out, errtext = cli("--data", os.path.join(srv.tmp, "nothing-here"), "stats")
    check(rc == 2 and "cannot connect" in errtext and out == "", f"no server: {rc} {errtext!r}")
    rc, out, errtext = cli("--data", srv.data)
    check(rc == 2 and "needs a COMMAND" in errtext, f"no command: {rc} {errtext!r}")
    rc, out, errtext = cli("--bogus", "x", "stats")
    check(rc == 2 and "unknown option" in errtext, f"unknown option: {rc} {errtext!r}")
    rc, out, errtext = cli("--socket")
    check(rc == 2 and "needs a value" in errtext, f"--socket without value: {rc} {errtext!r}")
    rc, out, errtext = cli("--data", srv.data, "halt", "a\nb")
    check(rc == 2 and "line break" in errtext, f"newline in an argument: {rc} {errtext!r}")
    rc, out, _ = cli("--help")
    check(rc == 0 and "usage: xtrading admin" in out, f"--help: {rc} {out!r}")
    # after the command too, without asking the server (no socket here): it once sent "halt --help"
    rc, out, errtext = cli("--socket", "/nonexistent/admin.sock", "halt", "--help")
    check(rc == 0 and "usage: xtrading admin" in out, f"halt --help: {rc} {out!r} {errtext!r}")
    # an instrument named like an option: after "--" (which is not sent), a word is a word
    rc, out, errtext = cli("--data", srv.data, "halt", "--", "--help")
    check(rc == 1 and json.loads(out) == {"ok": False, "error": "unknown instrument '--help'"},
          f"halt -- --help: {rc} {out!r} {errtext!r}")
    rc, out, errtext = cli("--data", srv.data, "halt", "--", "BTC-USDT")
    check(rc == 0 and json.loads(out)["halted"] is True, f"halt -- BTC-USDT: {rc} {out!r} {errtext!r}")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
