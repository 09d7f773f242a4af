#!/usr/bin/python3
"""Integration tests of WebSocket order entry on the market-data port
(docs/websocket.md, "Order entry"), with the Python `websockets` client:
auth.challenge and a login signed as a binary LOGIN is (docs/protocol.md),
order.new / cancel / amend / mass_cancel / status, the private `orders`
channel (accepted, fills with maker/taker, canceled, amended), the gateway's
session rules (DUPLICATE_CLORDID, RATE_LIMIT, bad signature, resume after a
reconnect, cancel on disconnect), bad requests answered without a
disconnect, and nothing sent behind a connection's CLOSE (a raw WebSocket,
test_md_ws.Raw, logged in by hand).

Each test starts its own server; waits are for messages, with timeouts.

usage: test_ws_orders.py path/to/xtrading [name-substring ...]
"""
import asyncio
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_admin as A  # noqa: E402
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402
import websockets  # noqa: E402  (python3-websockets)

TESTS, test = TS.registry()
check = TS.check
SYM = "BTC-USDT"
SECRET = {a: f"demo-secret-{a}" for a in (1001, 1002, 1003, 1004)}


class Client:
    """One WebSocket connection: requests by id, and the `orders` events."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.answers = {}
        self.events = []

    async def recv_one(self, timeout=5.0):
        m = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if m.get("ch") == "orders":
            self.events.append(m)
        elif "id" in m:
            self.answers[m["id"]] = m
        return m

    async def call(self, op, args=None, timeout=5.0):
        self.next_id += 1
        rid = self.next_id
        req = {"op": op, "id": rid}
        if args is not None:
            req["args"] = args
        await self.ws.send(json.dumps(req))
        deadline = time.monotonic() + timeout
        while rid not in self.answers:
            await self.recv_one(max(0.01, deadline - time.monotonic()))
        return self.answers.pop(rid)

    async def event(self, pred, timeout=5.0):
        """The first `orders` event (seen or to come) that pred accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for k, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(k)
            await self.recv_one(max(0.01, deadline - time.monotonic()))

    async def login(self, account, session=1, secret=None, resume_from=0, cod=False, ts=None, key_id=None):
        ch = await self.call("auth.challenge")
        check("result" in ch, f"challenge: {ch}")
        nonce = bytes.fromhex(ch["result"]["nonce"])
        key_id = key_id or f"demo{account}"
        ts = ts if ts is not None else time.time_ns()
        sig = X.sign(secret or SECRET[account], nonce, account, key_id, session, ts).hex()
        return await self.call("login", {"account": account, "key_id": key_id, "session": session,
                                         "timestamp": ts, "signature": sig, "resume_from": resume_from,
                                         "cancel_on_disconnect": cod})


def run(s, go):
    """asyncio.run(go(connect)): connect() opens a Client on s's market-data
    port. Every connection opened is closed when go ends, also when a check
    in it fails (left open, each held the event loop's end for seconds)."""
    async def main():
        opened = []

        async def connect():
            c = Client(await websockets.connect(W.url(s), max_size=None))
            opened.append(c)
            return c
        try:
            await go(connect)
        finally:
            for c in opened:
                await c.ws.close()
    asyncio.run(main())


def new(cl, side, price, qty, **kw):
    a = {"symbol": SYM, "side": side, "type": "limit", "price": price, "qty": qty, "client_order_id": cl}
    a.update(kw)
    return a


@test
def test_login_order_fill_cancel():
    s = W.start({"limits.rate": 100000, "limits.burst": 100000})

    async def go(connect):
        a, b = await connect(), await connect()
        r = await a.login(1001)
        check(r.get("result", {}).get("session") == 1, f"login: {r}")
        check((await b.login(1002))["result"]["next_seq"] == 1, "b login")
        r = await a.call("order.new", new(1, "sell", "1000.00", "0.0050"))
        check(r["result"] == {"client_order_id": 1}, f"order.new answer {r}")
        acc = await a.event(lambda e: e["event"] == "accepted" and e["client_order_id"] == 1)
        check(acc["symbol"] == SYM and acc["side"] == "sell" and acc["price"] == "1000.00" and
              acc["qty"] == "0.0050" and acc["sequenced"] and acc["seq"] == 1, f"accepted {acc}")
        await b.call("order.new", new(7, "buy", "1000.00", "0.0020", tif="ioc"))
        tf = await b.event(lambda e: e["event"] == "fill")
        mf = await a.event(lambda e: e["event"] == "fill")
        check(tf["liquidity"] == "taker" and mf["liquidity"] == "maker" and tf["trade_id"] == mf["trade_id"] and
              tf["qty"] == "0.0020" and mf["remaining"] == "0.0030" and mf["order_id"] == acc["order_id"],
              f"fills {tf} {mf}")
        await a.call("order.amend", {"symbol": SYM, "client_order_id": 2, "orig_client_order_id": 1,
                                     "qty": "0.0010"})
        am = await a.event(lambda e: e["event"] == "amended")
        check(am["orig_client_order_id"] == 1 and am["symbol"] == SYM and am["qty"] == "0.0010" and
              am["price"] == "1000.00" and am["qty_lots"] == 10, f"amended {am}")
        st = await a.call("order.status", {"order_id": acc["order_id"]})
        rid = st["result"]["request_id"]
        sr = await a.event(lambda e: e["event"] == "status" and e["request_id"] == rid)
        check(sr["status"] == "open" and sr["remaining"] == "0.0010" and sr["filled"] == "0.0020", f"status {sr}")
        await a.call("order.cancel", {"client_order_id": 3, "order_id": acc["order_id"]})
        cx = await a.event(lambda e: e["event"] == "canceled")
        check(cx["request_client_order_id"] == 3 and cx["qty"] == "0.0010", f"canceled {cx}")
        # the same session rules as the binary gateway
        await a.call("order.new", new(3, "sell", "1001.00", "0.0001"))
        rj = await a.event(lambda e: e["event"] == "rejected")
        check(rj["reason"] == "DUPLICATE_CLORDID" and not rj["sequenced"], f"duplicate {rj}")

    run(s, go)


@test
def test_logout_ends_the_session_quietly():
    """logout answers "ok" and ends the order session without a `closed`
    event (that one tells of a session lost, not of one ended as asked);
    orders are then refused 401, the connection keeps its market data, and
    a new login goes on with the session's numbers."""
    s = W.start()

    async def go(connect):
        a = await connect()
        check((await a.login(1001))["result"]["next_seq"] == 1, "login")
        await a.call("order.new", new(1, "sell", "1000.00", "0.0050"))
        await a.event(lambda e: e["event"] == "accepted")
        check((await a.call("subscribe", [f"bbo.{SYM}"])).get("result") == "ok", "subscribe")
        check((await a.call("logout")).get("result") == "ok", "logout")
        # the bridge gone (a `closed` would be queued before it goes), then a ping behind whatever was queued
        end = time.monotonic() + 5
        while True:
            vals, _ = H.parse_metrics(H.scrape(s.md_port))
            if H.value(vals, "xt_md_order_sessions", kind="websocket") == 0:
                break
            check(time.monotonic() < end, "the order session is still counted after logout")
            await asyncio.sleep(0.02)
        check((await a.call("ping")).get("result") == "pong", "ping")
        check(not [e for e in a.events if e["event"] == "closed"], f"events after logout: {a.events}")
        r = await a.call("order.new", new(2, "sell", "1000.00", "0.0050"))
        check(r.get("error", {}).get("code") == 401, f"an order after logout: {r}")
        b = await connect()  # market data still flows to a: b's order moves the best bid
        await b.login(1002)
        await b.call("order.new", new(1, "buy", "999.00", "0.0001"))
        while True:
            m = await a.recv_one()
            if m.get("ch") == f"bbo.{SYM}" and m.get("bid") == "999.00":
                break
        r = await a.login(1001)
        check(r["result"]["next_seq"] == 2 and r["result"]["last_client_order_id"] == 1, f"login again: {r}")

    run(s, go)


@test
def test_string_ids_of_64_bytes_come_back():
    """An id string of up to 64 bytes of UTF-8 (docs/websocket.md) comes back
    the same in the answer - market data's, order entry's, and the login's,
    which waits for the gateway - whatever its escapes take: 64 control
    characters are 384 bytes written as \\u0001. (The limit was on the escaped
    echo: 13 control characters or 13 "é" were refused 400 with `id: null`.)
    65 bytes are refused."""
    s = W.start()
    ids = ["a" * 64, "\u00e9" * 32, "\u4e2d" * 21, "\U0001f600" * 16, "\x01" * 64, '"' * 64, "\\" * 64]

    async def go(connect):
        a = await connect()
        for k, rid in enumerate(ids):
            check(len(rid.encode()) <= 64, f"the test's id {k} is too long")
            for op in ("ping", "auth.challenge"):
                await a.ws.send(json.dumps({"op": op, "id": rid}))
                m = json.loads(await asyncio.wait_for(a.ws.recv(), 5))
                check(m.get("id") == rid and "result" in m, f"{op} with id {k}: {m}")
        for rid in ("a" * 65, "\u00e9" * 32 + "a"):
            await a.ws.send(json.dumps({"op": "ping", "id": rid}))
            m = json.loads(await asyncio.wait_for(a.ws.recv(), 5))
            check(m.get("id") is None and m.get("error", {}).get("code") == 400, f"an id of 65 bytes: {m}")
        # the login's answer comes from the gateway, with the id kept meanwhile
        ch = await a.call("auth.challenge")
        nonce = bytes.fromhex(ch["result"]["nonce"])
        ts = time.time_ns()
        sig = X.sign(SECRET[1001], nonce, 1001, "demo1001", 1, ts).hex()
        await a.ws.send(json.dumps({"op": "login", "id": ids[4], "args": {
            "account": 1001, "key_id": "demo1001", "session": 1, "timestamp": ts, "signature": sig}}))
        m = json.loads(await asyncio.wait_for(a.ws.recv(), 5))
        check(m.get("id") == ids[4] and m.get("result", {}).get("session") == 1, f"login: {m}")

    run(s, go)


@test
def test_orders_sent_behind_the_login_wait_for_its_answer():
    """The session rules are the binary protocol's (docs/websocket.md): a
    client need not wait for the login's answer to send its first orders
    (docs/protocol.md). What comes behind a login is read once the gateway
    has answered it: orders behind an accepted login are placed, answered
    after the login; behind a refused one they are refused 401 after the
    login's 401. (They were refused 401 "not logged in" before the login's
    own answer.)"""
    s = W.start()

    async def pipelined(a, secret):
        ch = await a.call("auth.challenge")
        nonce = bytes.fromhex(ch["result"]["nonce"])
        ts = time.time_ns()
        sig = X.sign(secret, nonce, 1001, "demo1001", 1, ts).hex()
        msgs = [json.dumps({"op": "login", "id": "L", "args": {
            "account": 1001, "key_id": "demo1001", "session": 1, "timestamp": ts, "signature": sig}})]
        msgs += [json.dumps({"op": "order.new", "id": f"o{k}", "args": new(k, "buy", "900.00", "0.0001")})
                 for k in range(1, 4)]
        await a.ws.send(msgs[0])  # (the websockets client writes each message as it is given: back to back)
        for t in msgs[1:]:
            await a.ws.send(t)
        got = []
        while len(got) < 4:
            m = await a.recv_one()
            if "id" in m and "ch" not in m:
                got.append(m)
        return got

    async def go(connect):
        a = await connect()
        got = await pipelined(a, SECRET[1001])
        check([m["id"] for m in got] == ["L", "o1", "o2", "o3"], f"answers out of order: {got}")
        check(got[0].get("result", {}).get("session") == 1, f"login: {got[0]}")
        check([m.get("result") for m in got[1:]] == [{"client_order_id": k} for k in (1, 2, 3)], f"orders: {got}")
        for k in (1, 2, 3):
            await a.event(lambda e, k=k: e["event"] == "accepted" and e["client_order_id"] == k)
        b = await connect()
        got = await pipelined(b, "not-the-secret")
        check([m["id"] for m in got] == ["L", "o1", "o2", "o3"], f"answers out of order: {got}")
        check(all(m.get("error", {}).get("code") == 401 for m in got), f"a refused login: {got}")
        check((await b.call("ping")).get("result") == "pong", "the connection reads on")

    run(s, go)
    # the login and 60 orders in one write, more than md.max_message (4,096) bytes of them behind it
    r = W.Raw(s.md_port)
    r.upgrade()
    ch = raw_call(r, {"op": "auth.challenge", "id": "c"})
    ts = time.time_ns()
    sig = X.sign(SECRET[1002], bytes.fromhex(ch["result"]["nonce"]), 1002, "demo1002", 1, ts)
    burst = text({"op": "login", "id": "L", "args": {"account": 1002, "key_id": "demo1002", "session": 1,
                                                     "timestamp": ts, "signature": sig.hex()}})
    burst += b"".join(text({"op": "order.new", "id": k, "args": new(k, "buy", "900.00", "0.0001")})
                      for k in range(1, 61))
    check(len(burst) > 8192, f"the write is {len(burst)} bytes")
    r.sock.sendall(burst)
    ids, accepted = [], 0
    while len(ids) < 61 or accepted < 60:
        op, data = r.read_frame()
        m = json.loads(data)
        if m.get("ch") == "orders":
            accepted += m["event"] == "accepted"
        else:
            check("result" in m, f"an answer: {m}")
            ids.append(m["id"])
    check(ids == ["L"] + list(range(1, 61)), f"answers: {ids}")
    r.close()


@test
def test_a_client_that_stops_reading_behind_its_login_owes_its_pongs():
    """A client that stopped reading: 1,500 answers unread fill its queue,
    then a login and an order. The login's answer waits in the order
    session, paused for the client's queue, and the client's input waits
    behind the login - but its pongs are owed as for any client not
    reading: it is closed "no pong" (md.ping_ms), not held for ever with
    its connection, session and buffers. (Found by a review.)"""
    s = W.start({"md.messages_per_s": 1000000, "md.ping_ms": 200, "md.send_buffer": 4608})
    r = W.Raw(s.md_port, rcvbuf=4096)
    r.upgrade()
    ch = raw_call(r, {"op": "auth.challenge", "id": "c"})
    ts = time.time_ns()
    sig = X.sign(SECRET[1001], bytes.fromhex(ch["result"]["nonce"]), 1001, "demo1001", 1, ts)
    r.sock.sendall(b"".join(text({"op": "ping", "id": k}) for k in range(1500)))
    r.sock.sendall(text({"op": "login", "id": "L", "args": {"account": 1001, "key_id": "demo1001", "session": 1,
                                                            "timestamp": ts, "signature": sig.hex()}}) +
                   text({"op": "order.new", "id": 1, "args": new(1, "buy", "900.00", "0.0001")}))

    def ws_conns():
        vals, _ = H.parse_metrics(H.scrape(s.md_port))
        return H.value(vals, "xt_connections", protocol="md_ws")
    TS.wait_for(lambda: ws_conns() == 0, "closed for its missing pongs")
    r.close()


@test
def test_bad_requests_and_login_failures():
    s = W.start()

    async def go(connect):
        a = await connect()
        r = await a.call("order.new", new(1, "buy", "1.00", "0.0001"))
        check(r["error"]["code"] == 401, f"order before login {r}")
        r = await a.call("login", {"account": 1001})
        check(r["error"]["code"] == 400, f"login before challenge {r}")
        r = await a.login(1001, secret="wrong")
        check(r["error"]["code"] == 401 and "BAD_SIGNATURE" in r["error"]["msg"], f"bad signature {r}")
        r = await a.login(1001, ts=time.time_ns() - 3600 * 10**9)
        check("CLOCK_SKEW" in r["error"]["msg"], f"skew {r}")
        ch = await a.call("auth.challenge")
        check("nonce" in ch.get("result", {}), f"challenge: {ch}")
        r = await a.call("login", {"account": 1001, "key_id": "demo1001", "session": 1, "timestamp": 1,
                                   "signature": "00" * 32, "resume_from": -1})
        check(r["error"]["code"] == 400 and "resume_from" in r["error"]["msg"], f"negative resume_from {r}")
        r = await a.call("login", {"account": 1001, "key_id": "demo1001", "session": 1, "timestamp": 1,
                                   "signature": "00" * 32, "cancel_on_disconnect": 1})
        check(r["error"]["code"] == 400 and "cancel_on_disconnect" in r["error"]["msg"],
              f"cancel_on_disconnect not a boolean (before: taken as false, silently) {r}")
        r = await a.call("login", {"account": 1001, "key_id": "demo1001", "session": 1, "timestamp": 1,
                                   "signature": "00" * 32, "cancel_on_disconect": True})
        check(r["error"]["code"] == 400 and r["error"]["msg"] == "args has an unknown member: cancel_on_disconect",
              f"a misspelt member is refused (before: ignored, and the orders stayed at the close) {r}")
        r = await a.call("login", {"account": 1001, "key_id": "demo1001", "session": 0, "timestamp": 1,
                                   "signature": "00" * 32})
        check(r["error"]["code"] == 400 and r["error"]["msg"].startswith("session must be"), f"session 0: {r}")
        r = await a.login(1001)
        check("result" in r, f"login after failures {r}")
        for args, word in [({"symbol": "NOPE", "side": "buy", "price": "1", "qty": "1", "client_order_id": 1},
                            "unknown symbol"),  # a 404, as over REST and for channels (websocket.md)
                           (new(1, "buy", "1000.001", "0.0001"), "price"),
                           (new(1, "buy", "1000.00", "0.00001"), "qty"),
                           (new(1, "up", "1000.00", "0.0001"), "side"),
                           ({"symbol": SYM, "side": "buy", "qty": "0.0001", "client_order_id": 1}, "price"),
                           (new(0, "buy", "1000.00", "0.0001"), "client_order_id")]:
            r = await a.call("order.new", args)
            code = 404 if word == "unknown symbol" else 400
            check(r.get("error", {}).get("code") == code and word in r["error"]["msg"], f"{args}: {r}")
        # a member the op does not take is refused, not ignored: "time_in_force" read as nothing
        # placed a GTC where an IOC was meant (a probe found it)
        for op, args, name in [("order.new", new(1, "buy", "1000.00", "0.0001", time_in_force="ioc"),
                                "time_in_force"),
                               ("order.cancel", {"client_order_id": 7, "order_id": 5, "symbol": SYM}, "symbol"),
                               ("order.amend", {"symbol": SYM, "order_id": 5, "qty": "1", "side": "buy"}, "side"),
                               ("order.status", {"order_id": 5, "x" * 50: 1}, "x" * 32 + "...")]:
            r = await a.call(op, args)
            check(r.get("error", {}).get("code") == 400 and
                  r["error"]["msg"] == "args has an unknown member: " + name, f"{op} {args}: {r}")
        r = await a.call("order.amend", {"symbol": SYM, "order_id": 5, "price": "1000.00"})
        check(r["error"]["code"] == 400 and r["error"]["msg"] == "qty is required, above 0",
              f"an amend without qty is told so (before: 'client_order_id and qty are required') {r}")
        r = await a.call("order.cancel", {"client_order_id": 5})
        check(r["error"]["code"] == 400, f"cancel naming no order {r}")
        r = await a.call("order.new", "not an object")
        check(r["error"]["code"] == 400, f"args not an object {r}")
        r = await a.call("order.status")
        check(r["error"]["code"] == 400 and "args" in r["error"]["msg"], f"no args {r}")
        r = await a.call("ping")  # market data still served on the same connection
        check(r["result"] == "pong", f"ping {r}")
        r = await a.call("order.new", new(1, "buy", "1000.00", "0.0001"))
        check("result" in r, f"a good order after the bad ones {r}")
        await a.event(lambda e: e["event"] == "accepted")

    run(s, go)


@test
def test_resume_and_cancel_on_disconnect():
    s = W.start()

    async def go(connect):
        a = await connect()
        r = await a.login(1001, session=5, cod=False)
        check(r.get("result", {}).get("session") == 5, f"login: {r}")
        for k in range(1, 4):
            await a.call("order.new", new(k, "buy", f"{990 + k}.00", "0.0001"))
        for k in range(1, 4):
            await a.event(lambda e, k=k: e["event"] == "accepted" and e["client_order_id"] == k)
        await a.ws.close()
        b = await connect()
        r = await b.login(1001, session=5, resume_from=2)
        check(r["result"]["resume_from"] == 2 and r["result"]["last_client_order_id"] == 3, f"resume {r}")
        got = [await b.event(lambda e: e["event"] == "accepted") for _ in range(2)]
        check([e["seq"] for e in got] == [2, 3], f"resent {got}")
        await b.ws.close()
        c = await connect()
        r = await c.login(1002, session=1, cod=True)
        check("result" in r, f"login with cancel on disconnect: {r}")
        await c.call("order.new", new(1, "sell", "2000.00", "0.0001"))
        acc = await c.event(lambda e: e["event"] == "accepted")
        await c.ws.close()
        d = await connect()
        r = await d.login(1002, session=1, resume_from=1)
        check(r.get("result", {}).get("resume_from") == 1, f"resume: {r}")
        cx = await d.event(lambda e: e["event"] == "canceled")
        check(cx["reason"] == "USER" and cx["order_id"] == acc["order_id"] and cx["client_order_id"] == 1 and
              cx["request_client_order_id"] == 0, f"cancel on disconnect {cx}")

    run(s, go)


@test
def test_a_reading_client_gets_any_backlog():
    """The `orders` channel is paced to the client: a resume of 3,000
    messages (~1 MB of JSON) and then one taker's 3,000 fills, each far past
    md.output_limit (64 KiB here), reach a client that reads, in sequence
    and without a close; the rest waits in order entry meanwhile
    (xt_md_order_session_pauses_total). Before, the server read the
    session's messages as fast as order entry sent them and closed the
    client "slow consumer" at 64 KiB, on every login again: the resume
    could never finish."""
    s = W.start({**TS.BIG, "md.output_limit": 65536})
    n = 3000
    a = TS.login(s.port, 1001, session=7)
    inst = a.inst[SYM]
    got, _ = TS.collect_answers(a, [a.new_order(inst, TS.BUY, 100000, 1) for _ in range(n)], timeout=30)
    check(all(m.type == TS.ACCEPTED for m in got.values()), "not all bids accepted")

    async def go(connect):
        c = await connect()
        r = await c.login(1001, session=7, resume_from=1)
        check(r.get("result", {}).get("resume_from") == 1, f"resume: {r}")
        seqs = [(await c.event(lambda e: e["event"] == "accepted", timeout=20))["seq"] for _ in range(n)]
        check(seqs == list(range(1, n + 1)), f"resent {seqs[:3]}...{seqs[-3:]}")
        b = TS.login(s.port, 1002)
        b.new_order(inst, TS.SELL, 0, n, ord_type=TS.MARKET)
        fills = [await c.event(lambda e: e["event"] == "fill", timeout=20) for _ in range(n)]
        check([f["seq"] for f in fills] == list(range(n + 1, 2 * n + 1)) and
              all(f["liquidity"] == "maker" for f in fills), f"fills {fills[:2]}...")
        check((await c.call("ping")).get("result") == "pong", "the connection after the backlog")
        b.close()
    run(s, go)
    check(W.md_metric(s, "xt_md_order_session_pauses_total") > 0, "never paused: the test shows nothing")
    check(W.md_metric(s, "xt_md_slow_consumer_disconnects_total") == 0, "a slow-consumer close")


@test
def test_rate_limit_and_mass_cancel():
    s = W.start({"limits.rate": 5, "limits.burst": 5})

    async def go(connect):
        a = await connect()
        r = await a.login(1003)
        check("result" in r, f"login: {r}")
        for k in range(1, 9):
            await a.ws.send(json.dumps({"op": "order.new", "id": f"raw{k}",
                                        "args": new(k, "buy", "900.00", "0.0001")}))
        rj = await a.event(lambda e: e["event"] == "rejected", timeout=5)
        check(rj["reason"] == "RATE_LIMIT", f"rate limit {rj}")
        deadline = time.monotonic() + 5  # until the bucket (5/s) has a token for the mass cancel
        while True:
            r = await a.call("order.mass_cancel", {"symbol": SYM})
            check("request_id" in r.get("result", {}), f"mass cancel answer {r}")
            rid = r["result"]["request_id"]
            ack = await a.event(lambda e: e.get("request_id") == rid or
                                (e["event"] == "rejected" and e["request"] == "mass_cancel" and
                                                 e["client_order_id"] == rid))
            if ack["event"] == "mass_cancel_ack" or time.monotonic() > deadline:
                break
            check(ack["reason"] == "RATE_LIMIT" and ack["request"] == "mass_cancel", f"mass cancel reject {ack}")
        check(ack["event"] == "mass_cancel_ack" and ack["canceled"] == 5, f"mass cancel {ack}")

    run(s, go)


@test
def test_mass_cancel_without_args():
    """order.mass_cancel's args are all optional: none at all cancels every
    open order of the account, on every instrument."""
    s = W.start({"limits.rate": 100000, "limits.burst": 100000})

    async def go(connect):
        a = await connect()
        r = await a.login(1002)
        check("result" in r, f"login: {r}")
        for k, sym in ((1, SYM), (2, "ETH-USDT")):
            r = await a.call("order.new", new(k, "buy", "900.00", "0.01", symbol=sym))
            check("result" in r, f"order {k}: {r}")
            await a.event(lambda e, k=k: e["event"] == "accepted" and e["client_order_id"] == k)
        r = await a.call("order.mass_cancel", {"Symbol": SYM})  # misspelt: refused, not "every instrument"
        check(r.get("error", {}).get("code") == 400 and "only symbol" in r["error"]["msg"], f"misspelt {r}")
        r = await a.call("order.mass_cancel")
        check("request_id" in r.get("result", {}), f"mass cancel without args: {r}")
        ack = await a.event(lambda e: e.get("request_id") == r["result"]["request_id"])
        check(ack["event"] == "mass_cancel_ack" and ack["canceled"] == 2, f"mass cancel {ack}")
        await a.ws.send(json.dumps({"op": "order.mass_cancel", "id": "n", "args": None}))
        while "n" not in a.answers:
            await a.recv_one(5)
        r = a.answers.pop("n")
        check("request_id" in r.get("result", {}), f"mass cancel with args null: {r}")

    run(s, go)


@test
def test_md_rate_holds_all_but_session_orders():
    """md.messages_per_s holds every command of a connection, an open but
    unfinished login included; only the order requests of a logged-in
    session are left to the gateway's limits.rate."""
    s = W.start({"md.messages_per_s": "5", "limits.rate": 100000, "limits.burst": 100000})

    async def burst(cl, reqs):
        """Sends reqs at once; the answers (429s carry id null) until each
        request has one."""
        for r in reqs:
            await cl.ws.send(json.dumps(r))
        got = []
        while len(got) < len(reqs):
            m = await cl.recv_one()
            if "id" in m:  # not an `orders` event
                got.append(m)
        return got

    def refused(got):
        return sum(1 for m in got if m.get("error", {}).get("code") == 429)

    async def go(connect):
        a = await connect()
        await a.ws.send(json.dumps({"op": "auth.challenge", "id": "c"}))
        # 12 at once: however a second's boundary splits them, one side has more than 5
        got = await burst(a, [{"op": "ping", "id": k} for k in range(12)])
        check(refused(got) > 0, f"no 429 after auth.challenge: {got}")
        b = await connect()
        r = await b.login(1003)
        check("result" in r, f"login: {r}")
        got = await burst(b, [{"op": "order.new", "id": f"o{k}", "args": new(k + 1, "buy", "900.00", "0.0001")}
                              for k in range(12)])
        check(refused(got) == 0 and all("result" in m for m in got), f"session orders refused: {got}")
        got = await burst(b, [{"op": "ping", "id": k} for k in range(12)])
        check(refused(got) > 0, f"no 429 for a logged-in connection's market-data commands: {got}")

    run(s, go)


@test
def test_logins_in_progress_are_capped():
    """Anonymous clients cannot hold the order-entry bridges: at most 8
    logins in progress (auth.challenge answered, no session yet) from one
    address and 256 in total; a finished login or a closed connection
    makes room again; /metrics counts them."""
    s = W.start({"server.login_timeout_ms": 60000})  # none ends by itself during the test

    async def go(connect):
        async def from_addr(ip):
            c = Client(await websockets.connect(W.url(s), max_size=None, local_addr=(ip, 0)))
            opened.append(c)
            return c

        def nonce(r):
            return "nonce" in r.get("result", {})

        opened = []
        try:
            here = [await connect() for _ in range(9)]
            got = [await c.call("auth.challenge") for c in here]
            check(all(nonce(r) for r in got[:8]), f"first 8 challenges: {got[:8]}")
            check(got[8].get("error", {}).get("code") == 429 and "address" in got[8]["error"]["msg"],
                  f"9th from one address: {got[8]}")
            other = await from_addr("127.0.0.2")
            r = await other.call("auth.challenge")
            check(nonce(r), f"another address: {r}")
            r = await here[0].login(1001)  # a new challenge on its own bridge, then a session
            check("result" in r, f"login: {r}")
            r = await here[8].call("auth.challenge")
            check(nonce(r), f"after a login finished: {r}")
            r = await (await connect()).call("auth.challenge")
            check(r.get("error", {}).get("code") == 429, f"8 again in progress: {r}")
            await here[1].ws.close()
            r = await (await connect()).call("auth.challenge")
            check(nonce(r), f"after a connection closed: {r}")
            # 256 in total: 8 from here, 1 from 127.0.0.2, 247 more from other addresses
            ips = [f"127.0.{1 + k // 8}.{3 + k % 8}" for k in range(247)]
            many = [await from_addr(ip) for ip in ips]
            got = [await c.call("auth.challenge") for c in many]
            check(all(nonce(r) for r in got), f"up to 256: {[r for r in got if not nonce(r)][:3]}")
            r = await (await from_addr("127.0.200.1")).call("auth.challenge")
            check(r.get("error", {}).get("code") == 503 and "in progress" in r["error"]["msg"], f"257th: {r}")
            vals, _ = H.parse_metrics(H.scrape(s.md_port))
            got = {k: H.value(vals, "xt_md_order_sessions", kind=k) for k in ("websocket", "websocket_login", "rest")}
            check(got == {"websocket": 1, "websocket_login": 256, "rest": 0}, f"sessions {got}")
            got = {k: H.value(vals, "xt_md_order_sessions_refused_total", reason=k)
                   for k in ("address", "logins", "no_room")}
            check(got == {"address": 2, "logins": 1, "no_room": 0}, f"refused {got}")
            r = await here[0].call("order.new", new(1, "buy", "1000.00", "0.0001"))
            check("result" in r, f"the logged-in session still trades: {r}")
            await here[0].event(lambda e: e["event"] == "accepted")
        finally:
            for c in opened:
                await c.ws.close()

    run(s, go)


def text(cmd):
    """One masked text frame holding the JSON command."""
    return W.frame_bytes(1, json.dumps(cmd).encode())


def raw_call(r, cmd):
    """Sends cmd on the raw WebSocket r (test_md_ws.Raw) and reads until its
    answer; returns it."""
    r.sock.sendall(text(cmd))
    while True:
        op, data = r.read_frame()
        m = json.loads(data) if op == 1 else {}
        if "ch" not in m and m.get("id") == cmd["id"]:
            return m


def raw_login(r, account, session=1):
    """auth.challenge and login on the raw WebSocket r, signed as a binary
    LOGIN (docs/websocket.md, "Logging in"); returns the login's answer."""
    ch = raw_call(r, {"op": "auth.challenge", "id": "challenge"})
    check("result" in ch, f"challenge: {ch}")
    ts = time.time_ns()
    sig = X.sign(SECRET[account], bytes.fromhex(ch["result"]["nonce"]), account, f"demo{account}", session, ts)
    return raw_call(r, {"op": "login", "id": "login", "args": {
        "account": account, "key_id": f"demo{account}", "session": session, "timestamp": ts,
        "signature": sig.hex()}})


@test
def test_a_paced_backlog_leaves_room_for_market_data():
    """The orders channel's backlog takes at most half of md.output_limit:
    a client that stopped reading during a long resume still has room for
    its market data, and 40 trades of other accounts meanwhile do not close
    it (trades cannot be conflated). Before, the backlog filled the queue to
    within ~1 KB of the limit, and the trades closed it "slow consumer"."""
    s = W.start({**TS.BIG, "md.output_limit": 65536, "md.send_buffer": 4096, "md.ping_ms": 3600000})
    a = TS.login(s.port, 1001, session=7)
    inst = a.inst[SYM]
    got, _ = TS.collect_answers(a, [a.new_order(inst, TS.BUY, 100000, 1) for _ in range(3000)], timeout=30)
    check(all(m.type == TS.ACCEPTED for m in got.values()), "not all bids accepted")
    r = W.Raw(s.md_port, rcvbuf=4096)
    r.upgrade()
    check(raw_call(r, {"op": "subscribe", "id": "s", "args": [f"trades.{SYM}"]}).get("result") == "ok", "subscribe")
    ch = raw_call(r, {"op": "auth.challenge", "id": "c"})
    ts = time.time_ns()
    sig = X.sign(SECRET[1001], bytes.fromhex(ch["result"]["nonce"]), 1001, "demo1001", 7, ts)
    login = raw_call(r, {"op": "login", "id": "l", "args": {"account": 1001, "key_id": "demo1001", "session": 7,
                                                            "timestamp": ts, "signature": sig.hex(),
                                                            "resume_from": 1}})
    check("result" in login, f"login {login}")
    TS.wait_for(lambda: W.md_metric(s, "xt_md_order_session_pauses_total") > 0, "the backlog paused", 20)
    c3, c4 = TS.login(s.port, 1003), TS.login(s.port, 1004)
    for _ in range(40):
        c3.place(inst, TS.SELL, 200000, 1)
        c4.answer(c4.new_order(inst, TS.BUY, 200000, 1))

    def traded():
        with urllib.request.urlopen(f"http://127.0.0.1:{s.md_port}/api/v1/trades?symbol={SYM}&limit=100") as h:
            return len(json.loads(h.read())["data"]) >= 40
    TS.wait_for(traded, "the trades at market data", 20)
    check(W.md_metric(s, "xt_md_slow_consumer_disconnects_total") == 0, "the stalled reader was closed")
    seqs, trades = [], 0
    while len(seqs) < 3000 or trades < 40:
        op, data = r.read_frame()
        check(op == 1, f"frame {op} {data[:80]!r}")
        m = json.loads(data)
        if m.get("ch") == "orders" and m["event"] == "accepted":
            seqs.append(m["seq"])
        elif m.get("ch") == f"trades.{SYM}" and m.get("type") == "update":
            trades += len(m["data"])
    check(seqs == list(range(1, 3001)), f"resent {seqs[:3]}...{seqs[-3:]}")
    r.close()


def burst(sets, n, read_after_a_pause=False):
    """n order.new in one write on a logged-in raw WebSocket, sent by a
    thread while this one reads (once the server has paused the client's
    input, with read_after_a_pause): every order gets its `result` and its
    `accepted`, and nothing else comes. Returns the server."""
    s = W.start({**TS.BIG, **sets})
    r = W.Raw(s.md_port)
    r.upgrade()
    check("result" in raw_login(r, 1001), "login")
    data = b"".join(text({"op": "order.new", "id": k, "args": new(k, "buy", "1000", "0.0001")})
                    for k in range(1, n + 1))
    r.sock.settimeout(120)  # for the whole sendall, which waits while the server holds the client back
    sender = threading.Thread(target=r.sock.sendall, args=(data,), daemon=True)
    sender.start()  # the server reads it as it can while this thread reads the answers
    deadline = time.monotonic() + 120
    while read_after_a_pause and not W.md_metric(s, "xt_md_order_session_input_pauses_total"):
        check(time.monotonic() < deadline - 90, "the client's input was never paused")
    results, accepted, other = [], [], []
    while (len(results) < n or len(accepted) < n) and time.monotonic() < deadline:
        op, payload = r.read_frame()
        check(op == 1, f"frame {op} {payload[:80]!r}")
        m = json.loads(payload)
        if m.get("ch") == "orders" and m.get("event") == "accepted":
            accepted.append(m["client_order_id"])
        elif "result" in m and m.get("op") == "order.new":
            results.append(m["id"])
        else:
            other.append(m)
            check(len(other) < 5, f"not an order's answer: {other}")
    sender.join(10)
    check(results == list(range(1, n + 1)), f"{len(results)} results of {n}, in order; also {other[:3]}")
    check(accepted == list(range(1, n + 1)), f"{len(accepted)} accepted of {n}, in order; also {other[:3]}")
    r.close()
    return s


@test
def test_a_burst_waits_for_the_gateway():
    """20,000 order.new in one write - far more than the bridge to the
    gateway holds (a socket of ~1 MiB, each frame charged ~768 bytes) - are
    all passed on and answered (docs/websocket.md, order entry). (The
    server once closed the session "order entry is overloaded" at the
    first frame the bridge's socket, then ~212 KB, could not take: about
    the 280th.)"""
    s = burst({}, 20000)
    print(f"  input paused {W.md_metric(s, 'xt_md_order_session_input_pauses_total'):.0f} times")


@test
def test_a_client_that_reads_its_answers_late_is_paced():
    """A client that sends 20,000 order.new and reads nothing until the
    server stops reading it, with a queue of 64 KiB (md.output_limit: a few
    hundred answers): its input waits while its own unread answers fill
    half of the queue, and every order is passed on and answered, in order,
    once it reads. (Its input used to be read on as far as the bridge took
    it, and the connection was closed 1008 "slow consumer: answers not
    read" - also when a reader merely fell behind, as a loaded CI machine
    once made this file's 20,000-order test do.)"""
    burst({"md.output_limit": 65536}, 20000, read_after_a_pause=True)


@test
def test_a_full_bridge_pauses_its_client():
    """With the bridge's socket at its smallest (debug.bridge_sndbuf: about
    8 KiB, ten frames), 5,000 order.new in one write fill it over and over:
    the server stops reading the client while it is full and reads on as
    the gateway takes its frames, so every order is passed on and answered,
    in order, and the pauses are counted."""
    s = burst({"debug.bridge_sndbuf": 4096}, 5000)
    pauses = W.md_metric(s, "xt_md_order_session_input_pauses_total")
    check(pauses > 0, "the client's input was never paused")
    print(f"  input paused {pauses:.0f} times")


@test
def test_a_kick_during_a_burst_is_told_after_what_came_before():
    """An operator kicks a WebSocket order session while a burst of
    order.new waits for room in a tiny bridge (debug.bridge_sndbuf): the
    `closed` event says KICKED, behind the `accepted` events of every order
    the gateway took, as on a binary connection (admin.md). (The server
    found the gateway's end closed when it next sent, and closed the bridge
    without reading what the gateway had written: the ERROR and the last
    answers; `closed` then said "the order-entry session closed". Later the
    kick told a WebSocket session at once, and the orders the engine still
    had were answered only in the next login's resend.)"""
    s = W.start({**TS.BIG, "debug.bridge_sndbuf": 4096})
    r = W.Raw(s.md_port)
    r.upgrade()
    check("result" in raw_login(r, 1002, 5), "login")
    n = 10000
    data = b"".join(text({"op": "order.new", "id": k, "args": new(k, "buy", "1000", "0.0001")})
                    for k in range(1, n + 1))
    r.sock.settimeout(120)

    def send():
        try:
            r.sock.sendall(data)
        except OSError:
            pass  # the server may stop reading once the session is closed
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    accepted, closed, kicked = set(), None, False
    while closed is None:
        op, payload = r.read_frame()
        check(op == 1, f"frame {op} {payload[:80]!r}")
        m = json.loads(payload)
        if m.get("ch") == "orders" and m.get("event") == "accepted":
            accepted.add(m["client_order_id"])
        elif m.get("ch") == "orders" and m.get("event") == "closed":
            closed = m["reason"]
        if not kicked and len(accepted) >= 100:
            A.ok(s, "kick 1002 5")
            kicked = True
    check(closed.startswith("KICKED:"), f"closed: {closed!r}")
    r.close()
    sender.join(30)
    c = X.Conn(s.port)
    acc = c.login(1002, session=5, resume_from=1)
    resent = [c.wait(lambda m: m.sequenced, what="resent") for _ in range(acc.next_seq - 1)]
    placed = {m.clordid for m in resent if m.type == X.ACCEPTED}
    check(accepted and accepted <= placed, f"{len(accepted - placed)} accepted events of orders not placed")
    check(placed <= accepted, f"{len(placed - accepted)} orders placed without an accepted event before `closed`")


@test
def test_a_kick_of_a_slow_reader_is_told_after_every_answer():
    """An operator kicks a WebSocket order session whose client reads
    slowly, thousands of answers still to read, and goes on sending
    orders: every order the gateway took is told `accepted` before
    `closed`, which says KICKED; the orders sent after the gateway closed
    the session are answered 503. (The server found the gateway's end
    closed at such an order, read only what the client's queue had room
    for, and closed the bridge: `closed` said "the order-entry session
    closed", and the answers still unread were lost.)"""
    s = W.start({**TS.BIG, "md.output_limit": 65536})
    r = W.Raw(s.md_port, rcvbuf=4096)
    r.upgrade()
    check("result" in raw_login(r, 1002, 7), "login")
    n = 3000
    r.sock.settimeout(60)
    burst = b"".join(text({"op": "order.new", "id": k, "args": new(k, "buy", "1000", "0.0001")})
                     for k in range(1, n + 1))
    sender = threading.Thread(target=r.sock.sendall, args=(burst,), daemon=True)
    sender.start()
    accepted, closed, kicked, frames, not_passed, cl = set(), None, False, 0, 0, n
    while closed is None:
        op, payload = r.read_frame()
        check(op == 1, f"frame {op} {payload[:80]!r}")
        m = json.loads(payload)
        frames += 1
        if m.get("ch") == "orders" and m.get("event") == "accepted":
            accepted.add(m["client_order_id"])
        elif m.get("ch") == "orders" and m.get("event") == "closed":
            closed = m["reason"]
        elif "error" in m:
            check(m["error"]["code"] == 503, f"an order refused otherwise: {m}")
            not_passed += 1
        if not kicked and len(accepted) >= 100 and not sender.is_alive():  # (one writer at a time)
            A.ok(s, "kick 1002 7")
            kicked = True
        if kicked and frames % 20 == 0:  # more orders as the client reads on: one finds the gateway gone
            cl += 1
            r.sock.sendall(text({"op": "order.new", "id": cl, "args": new(cl, "buy", "1000", "0.0001")}))
    check(closed.startswith("KICKED:"), f"closed: {closed!r}")
    r.close()
    c = X.Conn(s.port)
    acc = c.login(1002, session=7, resume_from=1)
    resent = [c.wait(lambda m: m.sequenced, what="resent") for _ in range(acc.next_seq - 1)]
    placed = {m.clordid for m in resent if m.type == X.ACCEPTED}
    check(accepted == placed, f"{len(placed - accepted)} orders placed without an accepted event before `closed`, "
                              f"{len(accepted - placed)} accepted events of orders not placed")
    check(not_passed >= 1, "no order was sent after the gateway closed the session (test too weak)")


@test
def test_cancel_on_disconnect_at_the_close():
    """A WebSocket closed by its client (CLOSE answered, the TCP connection
    still open while the server lingers for its end) ends its order session
    at once: cancel on disconnect cancels the resting order now. Before,
    it waited for the client's end of input or up to two md.ping_ms rounds
    (an hour here)."""
    s = W.start({"md.ping_ms": 3600000})
    r = W.Raw(s.md_port)
    r.upgrade()
    ch = raw_call(r, {"op": "auth.challenge", "id": "c"})
    ts = time.time_ns()
    sig = X.sign(SECRET[1001], bytes.fromhex(ch["result"]["nonce"]), 1001, "demo1001", 3, ts)
    login = raw_call(r, {"op": "login", "id": "l", "args": {"account": 1001, "key_id": "demo1001", "session": 3,
                                                            "timestamp": ts, "signature": sig.hex(),
                                                            "cancel_on_disconnect": True}})
    check("result" in login, f"login {login}")
    r.sock.sendall(text({"op": "order.new", "id": "o", "args": new(1, "buy", "1000.00", "0.0001")}))
    oid = None
    while oid is None:
        op, data = r.read_frame()
        m = json.loads(data)
        oid = m["order_id"] if m.get("ch") == "orders" and m["event"] == "accepted" else None
    r.frame(8, struct.pack("!H", 1000))
    check(r.until_close()[0] == 1000, "the server's answer to the CLOSE")
    b = TS.login(s.port, 1001, session=4)
    TS.wait_for(lambda: b.query(order_id=oid).status != 1, "cancel on disconnect of the closed WebSocket", 10)
    r.close()


@test
def test_every_challenge_is_answered():
    """Two auth.challenge in one write, before the gateway's HELLO is here:
    the first gets the nonce, the second a 409 at once. Before, the second
    took the first's place and the first was never answered. A challenge
    while a logout waits is refused too (its answer would have taken the
    logout's id); the logout is answered, and a new challenge after it is."""
    s = W.start()
    r = W.Raw(s.md_port)
    r.upgrade(text({"op": "auth.challenge", "id": 1}) + text({"op": "auth.challenge", "id": 2}))
    got = {}
    while len(got) < 2:
        op, data = r.read_frame()
        m = json.loads(data)
        check(m.get("id") in (1, 2) and m["id"] not in got, f"unexpected {m}")
        got[m["id"]] = m
    check(len(got[1]["result"]["nonce"]) == 32, f"the first challenge: {got[1]}")
    check(got[2]["error"] == {"code": 409, "msg": "an auth.challenge is waiting for its answer"}, f"{got[2]}")
    r.close()
    r = W.Raw(s.md_port)
    r.upgrade()
    check("result" in raw_login(r, 1001), "login")
    r.sock.sendall(text({"op": "logout", "id": "out"}) + text({"op": "auth.challenge", "id": "again"}))
    got = {}
    while len(got) < 2:
        op, data = r.read_frame()
        m = json.loads(data)
        got[m["id"]] = m
    check(got["out"].get("result") == "ok", f"logout {got['out']}")
    check(got["again"]["error"]["code"] == 409, f"challenge during the logout {got['again']}")
    check("result" in raw_call(r, {"op": "auth.challenge", "id": "after"}), "a challenge after the logout")
    r.close()


@test
def test_a_challenge_at_the_gateways_limit_is_answered():
    """With the gateway at server.max_connections the bridge's connection is
    refused: the challenge is answered 503 and counted no_room. Before, it
    was never answered (a stray `closed` event came instead)."""
    s = W.start({"server.max_connections": 1})
    c = X.Conn(s.port)  # the one connection the gateway takes (its HELLO read: the gateway holds it)
    r = W.Raw(s.md_port)
    r.upgrade(text({"op": "auth.challenge", "id": 1}))
    op, data = r.read_frame()
    m = json.loads(data)
    check(m == {"id": 1, "error": {"code": 503, "msg": "no room for another order-entry session; try later"}},
          f"the challenge's answer: {m}")
    vals, _ = H.parse_metrics(H.scrape(s.md_port))
    got = H.value(vals, "xt_md_order_sessions_refused_total", reason="no_room")
    check(got == 1, f"no_room {got}")
    check(H.value(vals, "xt_md_order_sessions", kind="websocket_login") == 0, "no login in progress")
    c.close()
    m = raw_call(r, {"op": "auth.challenge", "id": 2})  # room again once a connection goes
    for _ in range(100):
        if "result" in m:
            break
        check(m.get("error", {}).get("code") == 503, f"challenge 2: {m}")
        time.sleep(0.05)  # the gateway sees the binary connection's close in its next loop
        m = raw_call(r, {"op": "auth.challenge", "id": 2})
    check(len(m.get("result", {}).get("nonce", "")) == 32, f"a challenge with room: {m}")
    r.close()


@test
def test_a_stop_tells_the_order_session_before_the_close():
    """SIGTERM with orders in flight: the WebSocket's order session hears
    the gateway's SHUTDOWN (a `closed` event) before the 1001 close. Before,
    the market-data thread could stop before it had read the bridge, and the
    event was lost in most runs. Three stops, each with its own server."""
    for round_ in range(3):
        s = W.start()
        r = W.Raw(s.md_port)
        r.upgrade()
        check("result" in raw_login(r, 1001), "login")
        r.sock.sendall(b"".join(text({"op": "order.new", "id": 100 + k, "args": new(k + 1, "buy", "900.00", "0.0001")})
                                for k in range(20)))
        s.proc.send_signal(signal.SIGTERM)
        code, reason, seen = r.until_close(10)
        msgs = [json.loads(d) for op, d in seen if op == 1]
        closed = [m for m in msgs if m.get("ch") == "orders" and m.get("event") == "closed"]
        check(code == 1001, f"round {round_}: close {code} {reason}")
        check(len(closed) == 1 and closed[0]["reason"].startswith("SHUTDOWN"),
              f"round {round_}: closed events {closed}; last messages {msgs[-3:]}")
        r.close()
        check(s.proc.wait(10) == 0, f"round {round_}: exit status")


def gateway_session(s, account, session):
    """The admin socket's view of one session (docs/admin.md, `sessions`)."""
    got = [x for x in A.ok(s, f"sessions {account}")["sessions"] if x["session"] == session]
    check(len(got) == 1, f"session {account}/{session}: {got}")
    return got[0]


def wait_session(s, account, session, pred, what, timeout=10):
    end = time.monotonic() + timeout
    while True:
        x = gateway_session(s, account, session)
        if pred(x):
            return x
        check(time.monotonic() < end, f"session {account}/{session} still not {what} after {timeout}s: {x}")
        time.sleep(0.02)


@test
def test_nothing_follows_the_close():
    """An `orders` event that reaches a connection after its CLOSE is
    queued is not sent behind it (docs/websocket.md: "Nothing follows a
    CLOSE: an order answered after it (its result came before) is among
    the session's messages, which a login with resume_from replays").

    Made so without a race, on a raw WebSocket that stops reading: 1,500
    pings, whose answers (~100 KB, under half of md.output_limit and of a
    connection's 4,128 queue nodes, as far as a logged-in client's input is
    read while its answers wait unread, docs/websocket.md) the small socket
    buffers (md.send_buffer, the client's SO_RCVBUF) cannot take, leave the
    connection a backlog queued on the server; then order.new and the
    client's CLOSE in one write, read by the server together: the order
    goes to the gateway and the CLOSE (1000) is queued behind the backlog,
    both before any answer of the gateway can be read. The CLOSE ends the
    order session at once (its bridge goes: cancel on disconnect is not
    held up by the backlog), after the gateway had the order, whose
    ACCEPTED is among the session's messages (the admin socket's last_seq).
    The client then reads to the end: the answers, the order's `result`,
    the CLOSE, and nothing after it. A new login with resume_from gets the
    `accepted`. (That the connection was still open, its CLOSE held back,
    when its bridge went is checked too (xt_connections): without a backlog
    the test would show nothing, and it fails instead.)"""
    s = W.start({"md.messages_per_s": 1000000, "md.send_buffer": 4096, "md.ping_ms": 3600000,
                 "limits.rate": 100000, "limits.burst": 100000})
    r = W.Raw(s.md_port, rcvbuf=4096)
    r.upgrade()
    check("result" in raw_login(r, 1001), "raw login")
    pings = 1500  # a backlog the socket buffers cannot take, within the 2,064 queued answers read on
    r.sock.sendall(b"".join(text({"op": "ping", "id": k}) for k in range(pings)) +
                   text({"op": "order.new", "id": "o1", "args": new(1, "sell", "2000.00", "0.0001")}))
    # the order behind them reached the gateway: every ping before it has been answered (queued)
    wait_session(s, 1001, 1, lambda x: x["last_seq"] == 1, "past the first order's ACCEPTED")
    r.sock.sendall(text({"op": "order.new", "id": "o2", "args": new(2, "sell", "2001.00", "0.0001")}) +
                   W.frame_bytes(8, struct.pack("!H", 1000)))
    wait_session(s, 1001, 1, lambda x: x["last_seq"] == 2 and not x["connected"],
                 "past the second order's ACCEPTED, its connection gone with the CLOSE")
    vals = H.wait_metric(s.md_port, lambda v: H.value(v, "xt_md_order_sessions", kind="websocket") == 0,
                         "without the closed WebSocket's order session")
    check(H.value(vals, "xt_connections", protocol="md_ws") == 1,
          "the WebSocket closed before its bridge: its backlog did not hold its CLOSE back, nothing was shown")
    frames = []
    r.sock.settimeout(10)
    while True:  # until the server closes the connection
        try:
            frames.append(r.read_frame())
        except EOFError:
            break
    r.close()
    ops = [op for op, _ in frames]
    after = [d for _, d in frames[ops.index(8) + 1:]] if 8 in ops else "no CLOSE at all"
    check(8 in ops and ops.index(8) == len(ops) - 1, f"the CLOSE is not the last frame; after it: {after}")
    check(struct.unpack("!H", frames[-1][1][:2])[0] == 1000, f"close code {frames[-1][1]!r}")
    got = [json.loads(d) for op, d in frames[:-1]]
    check(ops[:-1] == [1] * len(got), f"opcodes {set(ops)}")
    check([m.get("id") for m in got[:pings]] == list(range(pings)) and
          all(m.get("result") == "pong" for m in got[:pings]), "the pings' answers, in order")
    rest = got[pings:]
    # the orders' events wait while the backlog holds the queue (over the 1,056 messages they may fill): with
    # the session gone at the CLOSE, they are among the session's messages only
    check(rest == [{"id": "o1", "op": "order.new", "result": {"client_order_id": 1}},
                   {"id": "o2", "op": "order.new", "result": {"client_order_id": 2}}],
          f"before the CLOSE: o1's and o2's results; got {rest}")

    async def go(connect):
        c = await connect()
        r = await c.login(1001, resume_from=1)
        check(r.get("result", {}).get("resume_from") == 1, f"resume: {r}")
        acc = [await c.event(lambda e: e["event"] == "accepted") for _ in range(2)]
        check([(e["seq"], e["client_order_id"], e["price"]) for e in acc] == [(1, 1, "2000.00"), (2, 2, "2001.00")],
              f"the accepted events the closing connection did not get, resent: {acc}")

    run(s, go)


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
