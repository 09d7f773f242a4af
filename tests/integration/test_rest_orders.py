#!/usr/bin/python3
"""Integration tests of the signed REST order endpoints (docs/rest.md,
"Orders"): POST /api/v1/orders, PUT and DELETE /api/v1/orders/{id},
GET /api/v1/orders/{id} and GET /api/v1/orders?open=true, each answered
after the gateway's answer, with the gateway's session rules (client order
ids, DUPLICATE_CLORDID 409, RATE_LIMIT 429, unknown order 404), errors as
{"code","msg"}, keep-alive and pipelining behind a waiting request, orders
from the binary protocol seen by the account's open-order list, a restart
(the REST session resumes its client order ids), and a POST whose order
session closed between its `accepted` and the status behind it.

Each test starts its own server; waits are for answers, with timeouts.

usage: test_rest_orders.py path/to/xtrading [name-substring ...]
"""
import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_admin as A  # noqa: E402
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402
import xtrest as XR  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
SYM = "BTC-USDT"
FAST = {"md.messages_per_s": "100000", "limits.rate": 100000, "limits.burst": 100000}


def client(s, account=1001):
    return XR.RestClient(s.md_port, account, f"demo{account}", f"demo-secret-{account}")


def order(side, price, qty, **kw):
    o = {"symbol": SYM, "side": side, "price": price, "qty": qty}
    o.update(kw)
    return o


def raw_post(account, body, nudge=0, ts_ms=None):
    """A signed POST /api/v1/orders as bytes (its timestamp ts_ms, or now
    nudged by `nudge` ms, so that equal bodies are not replays)."""
    data = json.dumps(body).encode()
    ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000) + nudge)
    sig = XR.sign(f"demo-secret-{account}", ts, "POST", "/api/v1/orders", data)
    return (f"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nX-XT-Account: {account}\r\nX-XT-Key: demo{account}\r\n"
            f"X-XT-Timestamp: {ts}\r\nX-XT-Signature: {sig}\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


def read_answers(sock, count):
    got = b""
    sock.settimeout(5)
    while got.count(b"HTTP/1.1 ") < count or not got.endswith(b"\n"):
        d = sock.recv(65536)
        check(d, f"closed after {got!r}")
        got += d
    return got


def ok(c, method, target, body=None, status=200):
    st, j = c.request(method, target, body)
    check(st == status, f"{method} {target} {body}: status {st}, expected {status}: {j}")
    if status != 200:
        check(j["code"] == status and isinstance(j["msg"], str), f"error body {j}")
    return j


@test
def test_place_fill_amend_cancel():
    s = W.start(FAST)
    a, b = client(s, 1001), client(s, 1002)
    j = ok(a, "POST", "/api/v1/orders", order("sell", "1000.00", "0.0050"))
    check(j["event"] == "accepted" and j["price"] == "1000.00" and j["qty"] == "0.0050" and
          j["client_order_id"] == 1 and j["order_id"] > 0, f"accepted {j}")
    oid = j["order_id"]
    k = ok(a, "POST", "/api/v1/orders", order("sell", "1001.00", "0.0010", client_order_id=50))
    check(k["client_order_id"] == 50, f"chosen id {k}")
    j2 = ok(a, "POST", "/api/v1/orders", order("sell", "1002.00", "0.0010"))
    check(j2["client_order_id"] == 51, f"ids continue after a chosen one {j2}")
    t = ok(b, "POST", "/api/v1/orders", order("buy", "1000.00", "0.0020", tif="ioc"))
    check(t["event"] == "accepted" and t["tif"] == "ioc", f"taker {t}")
    st = ok(a, "GET", f"/api/v1/orders/{oid}")
    check(st["status"] == "open" and st["remaining"] == "0.0030" and st["filled"] == "0.0020", f"status {st}")
    am = ok(a, "PUT", f"/api/v1/orders/{oid}", {"symbol": SYM, "qty": "0.0010", "price": "1000.50"})
    check(am["event"] == "amended" and am["symbol"] == SYM and am["qty"] == "0.0010" and am["price"] == "1000.50" and
          am["qty_lots"] == 10 and am["price_ticks"] == 100050, f"amended {am}")
    vals, _ = H.parse_metrics(H.scrape(s.md_port))
    n = {k: H.value(vals, "xt_md_order_sessions", kind=k) for k in ("websocket", "websocket_login", "rest")}
    check(n == {"websocket": 0, "websocket_login": 0, "rest": 2} and H.value(vals, "xt_md_rest_orders_waiting") == 0,
          f"order sessions of accounts a and b: {n}")
    lst = ok(a, "GET", "/api/v1/orders?open=true")
    ids = sorted(o["order_id"] for o in lst["data"])
    check(ids == sorted([oid, k["order_id"], j2["order_id"]]) and lst["left_out"] == 0, f"open list {lst}")
    one = ok(a, "GET", f"/api/v1/orders/{oid}")
    check(one["seq"] > 0 and all(o["seq"] == one["seq"] and not o["sequenced"] for o in lst["data"]),
          f"list items carry the session's last seq, as a single GET does: {one['seq']} {lst}")
    cx = ok(a, "DELETE", f"/api/v1/orders/{oid}")
    check(cx["event"] == "canceled" and cx["order_id"] == oid and cx["qty"] == "0.0010", f"canceled {cx}")
    ok(a, "DELETE", f"/api/v1/orders/{oid}", status=404)  # gone: the engine's UNKNOWN_ORDER
    ok(a, "GET", f"/api/v1/orders/{oid}", status=404)
    ok(b, "GET", f"/api/v1/orders/{k['order_id']}", status=404)  # another account's order
    ok(b, "DELETE", f"/api/v1/orders/{k['order_id']}", status=404)
    check(a.last_headers.get("connection") == "keep-alive", "kept alive")
    fills = ok(a, "GET", "/api/v1/fills")
    check(any(f["order_id"] == oid and f["liquidity"] == "maker" for f in fills["data"]), f"fills {fills}")


@test
def test_amend_names_the_orders_instrument():
    """PUT reads qty and price in the tick and lot of the body's symbol: an
    order on another instrument is refused 400 WRONG_INSTRUMENT and left
    as it was (the amend goes to the gateway as AMEND_CHECKED). Before, an
    ETH order amended with symbol BTC-USDT took 0.0030 BTC's 30 lots as
    30 of ETH's: 0.030 ETH, ten times the size meant."""
    s = W.start(FAST)
    a = client(s, 1002)
    eth = ok(a, "POST", "/api/v1/orders", {"symbol": "ETH-USDT", "side": "sell", "price": "50000.00", "qty": "0.005"})
    oid = eth["order_id"]
    j = ok(a, "PUT", f"/api/v1/orders/{oid}", {"symbol": SYM, "qty": "0.0030"}, status=400)
    check(j["msg"] == "WRONG_INSTRUMENT" and j["event"] == "rejected", f"wrong symbol: {j}")
    st = ok(a, "GET", f"/api/v1/orders/{oid}")
    check(st["remaining"] == "0.005" and st["price"] == "50000.00", f"the order changed: {st}")
    am = ok(a, "PUT", f"/api/v1/orders/{oid}", {"symbol": "ETH-USDT", "qty": "0.003"})
    check(am["event"] == "amended" and am["qty"] == "0.003" and am["qty_lots"] == 3, f"amended {am}")


def outcome(j, state, filled, remaining, fills, cancel_reason=None):
    o = j.get("outcome")
    check(j["event"] == "accepted" and o == {"state": state, "filled": filled, "remaining": remaining,
                                             "fills": fills, "cancel_reason": cancel_reason},
          f"outcome {o}, want {state} {filled} {remaining} {fills} {cancel_reason}: {j}")


@test
def test_post_answers_the_outcome():
    """POST's answer is the ACCEPTED with what the order's command did: an
    ORDER_STATUS goes right behind the order and its answer ends the
    fills and the cancel gathered."""
    s = W.start(FAST)
    a, b = client(s, 1001), client(s, 1002)
    outcome(ok(a, "POST", "/api/v1/orders", order("sell", "1000.00", "0.0050")), "open", "0.0000", "0.0050", 0)
    outcome(ok(b, "POST", "/api/v1/orders", order("buy", "1000.00", "0.0010", tif="post")),
            "canceled", "0.0000", "0.0000", 0, "POST_ONLY")
    outcome(ok(b, "POST", "/api/v1/orders", order("buy", "1000.00", "0.0100", tif="fok")),
            "canceled", "0.0000", "0.0000", 0, "FOK")
    outcome(ok(b, "POST", "/api/v1/orders", order("buy", "1000.00", "0.0020")), "filled", "0.0020", "0.0000", 1)
    outcome(ok(a, "POST", "/api/v1/orders", order("sell", "1000.00", "0.0010")), "open", "0.0000", "0.0010", 0)
    outcome(ok(b, "POST", "/api/v1/orders", order("buy", "1000.00", "0.0080", tif="ioc")),
            "canceled", "0.0040", "0.0000", 2, "IOC")
    outcome(ok(b, "POST", "/api/v1/orders", order("buy", "999.00", "0.0030")), "open", "0.0000", "0.0030", 0)
    outcome(ok(a, "POST", "/api/v1/orders", order("sell", "999.00", "0.0050")), "open", "0.0030", "0.0020", 1)
    j = ok(a, "POST", "/api/v1/orders", order("sell", "999.00", "0.0010"))
    check(j["client_order_id"] == 4, f"the status behind each POST uses up none of the session's ids: {j}")
    # ids up to 2^64 - 2 chosen, 2^64 - 1 taken by the server, then none is left: 409, not an id 0 (a review
    # found the count wrapping to 0, whose answer matched nothing: the request timed out and so did the others)
    c = client(s, 1004)
    j = ok(c, "POST", "/api/v1/orders", order("sell", "1500.00", "0.0001", client_order_id="18446744073709551614"))
    check(j["client_order_id"] == 2**64 - 2 and j["outcome"]["state"] == "open", f"id 2^64-2: {j}")
    j = ok(c, "POST", "/api/v1/orders", order("sell", "1500.00", "0.0001"))
    check(j["client_order_id"] == 2**64 - 1 and j["outcome"]["state"] == "open", f"id 2^64-1: {j}")
    j = ok(c, "POST", "/api/v1/orders", order("sell", "1500.00", "0.0001"), status=409)
    check("used up" in j["msg"], f"ids used up: {j}")
    ok(c, "GET", "/api/v1/orders?open=true", status=409)
    # the status refused at once (the session's rate limit): the ACCEPTED alone, outcome null
    s = W.start(dict(FAST, **{"limits.rate": 1, "limits.burst": 1}))
    j = ok(client(s, 1003), "POST", "/api/v1/orders", order("sell", "1000.00", "0.0050"))
    check(j["event"] == "accepted" and j["outcome"] is None, f"outcome null: {j}")


@test
def test_errors_and_session_rules():
    s = W.start({"md.messages_per_s": "100000", "limits.rate": 3, "limits.burst": 3})
    a = client(s, 1003)
    ok(a, "POST", "/api/v1/orders", order("buy", "900.00", "0.0001", client_order_id=10))
    j = ok(a, "POST", "/api/v1/orders", order("buy", "900.00", "0.0001", client_order_id=10), status=409)
    check(j["msg"] == "DUPLICATE_CLORDID" and j["event"] == "rejected", f"duplicate {j}")
    for body, status, word in [("not json", 400, "JSON object"),
                               (order("buy", "900.001", "0.0001"), 400, "price"),
                               (order("buy", "900.00", "0"), 400, "qty"),
                               ({"symbol": "NOPE", "side": "buy", "price": "1", "qty": "1"}, 404, "unknown symbol NOPE"),
                               (order("sideways", "900.00", "0.0001"), 400, "side"),
                               # an unknown member is refused, not ignored (a probe's "time_in_force":"ioc"
                               # placed a GTC; its "clientOrderId" left a retry free to place it twice)
                               (order("buy", "900.00", "0.0001", time_in_force="ioc"), 400,
                                "args has an unknown member: time_in_force"),
                               (order("buy", "900.00", "0.0001", clientOrderId=777), 400,
                                "unknown member: clientOrderId"),
                               # a JSON number past 2^63 - 1 (jansson's limit) is told as such
                               (order("buy", "900.00", "0.0001", client_order_id=2**64 - 2), 400,
                                "send ids as strings")]:
        j = ok(a, "POST", "/api/v1/orders", body, status=status)
        check(word in j["msg"], f"{body}: {j}")
    j = ok(a, "DELETE", "/api/v1/orders/5", {"order_id": 6}, status=400)
    check(j["msg"] == "order_id is in the path: the body names no order", f"two order ids {j}")
    j = ok(a, "PUT", "/api/v1/orders/5", {"symbol": SYM, "qty": "0.0001", "tif": "ioc"}, status=400)
    check(j["msg"] == "args has an unknown member: tif", f"an amend takes no tif {j}")
    ok(a, "GET", "/api/v1/orders", status=400)          # open=true only
    ok(a, "PATCH", "/api/v1/orders/5", status=405)
    check(a.last_headers.get("allow") == "GET, PUT, DELETE", f"a 405 names what is taken: {a.last_headers}")
    ok(a, "POST", "/api/v1/orders/5", status=405)
    ok(a, "PUT", "/api/v1/orders", status=405)
    check(a.last_headers.get("allow") == "GET, POST, DELETE", f"a 405 names what is taken: {a.last_headers}")
    ok(a, "GET", "/api/v1/orders/abc", status=404)
    seen = set()
    for _ in range(10):  # the bucket holds 3: the gateway's RATE_LIMIT, as 429
        st, j = a.request("POST", "/api/v1/orders", order("buy", "900.00", "0.0001"))
        seen.add(st)
        if st == 429:
            check(j["msg"] == "RATE_LIMIT", f"rate limit {j}")
            break
    check(429 in seen and seen <= {200, 429}, f"statuses {seen}: no 429, or not only 200 before it")
    # the list of open orders is a request too: the gateway's REJECTED for it names ORDER_STATUS
    st, j = a.request("GET", "/api/v1/orders?open=true")
    check(st == 429 and j["msg"] == "RATE_LIMIT", f"open orders over the rate limit: {st} {j}")
    st, j = a.request("POST", "/api/v1/orders", order("buy", "900.00", "0.0001"), signature="00" * 32)
    check(st == 401, f"bad signature {st} {j}")


def split_answers(data):
    """The HTTP answers in data, in order: [(status, body bytes)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        check(sep and head.startswith(b"HTTP/1.1 "), f"not an answer: {data[:200]!r}")
        n = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
        out.append((int(head.split()[1]), rest[:n]))
        data = rest[n:]
    return out


def read_to_end(sock, timeout=15):
    got, deadline = b"", time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        d = sock.recv(65536)
        if not d:
            return got
        got += d
        check(time.monotonic() < deadline, f"not closed within {timeout} s, after {got!r}")


@test
def test_a_half_close_gets_every_answer():
    """A client that ends its side right behind its requests (a half-close:
    HTTP/1.0 clients, `printf ... | nc -N`) gets every answer - a POST
    waiting for a slow engine too - and then the close; a request cut short
    by the end is dropped. (Before: the end of input closed the connection
    at once, dropping the answers queued and the POST's to come: a probe saw
    ten orders placed and none answered.)"""
    s = W.start(dict(FAST, **{"debug.engine_delay_us": 300000}))
    for _ in range(20):  # one request, then the end: most of these were lost
        c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
        c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        c.shutdown(socket.SHUT_WR)
        got = split_answers(read_to_end(c))
        check([st for st, _ in got] == [200], f"a half-closed /healthz: {got}")
        c.close()
    c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
              raw_post(1001, order("sell", "1234.00", "0.0001", client_order_id=77)) +
              f"GET /api/v1/ticker?symbol={SYM} HTTP/1.1\r\nHost: x\r\n\r\n".encode() +
              b"GET /readyz HTTP/1.1\r\nHo")  # cut short: dropped
    c.shutdown(socket.SHUT_WR)
    got = split_answers(read_to_end(c))
    check([st for st, _ in got] == [200, 200, 200], f"answers {got}")
    post = json.loads(got[1][1])
    check(post["event"] == "accepted" and post["client_order_id"] == 77 and post["outcome"]["state"] == "open",
          f"the POST's answer {post}")
    check(json.loads(got[2][1])["ch"] == f"ticker.{SYM}", f"the ticker behind it {got[2]}")
    # a WebSocket upgrade behind the end: the POST is answered, the upgrade not - a WebSocket that can
    # send nothing, not even a pong, was left open for good (a review found it)
    c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
    c.sendall(raw_post(1001, order("sell", "1235.00", "0.0001", client_order_id=78)) +
              b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    c.shutdown(socket.SHUT_WR)
    got = split_answers(read_to_end(c))
    check([st for st, _ in got] == [200], f"a POST and an upgrade behind the end: {got}")
    # a body cut short by the end: dropped, and the connection closed at once (not at the idle close)
    c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
    c.sendall(raw_post(1001, order("sell", "1236.00", "0.0001", client_order_id=79))[:-5])
    c.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    check(read_to_end(c, timeout=5) == b"", "an answer to a request cut short")
    check(time.monotonic() - t0 < 5, "not closed at once")


@test
def test_an_answer_that_backlogs_its_connection_keeps_it():
    """A REST order's answer comes (an event from its order session) and
    serves the 60 GET /metrics pipelined behind it, which backlog the
    connection (md.output_limit 64 KiB): its input is paused. When the same
    turn of the loop also held that connection's input (the client sent
    more meanwhile; 40 other connections keep the loop busy so that it
    does), the connection was taken for hung up and closed - every answer
    lost, the order's too, though placed. 30 tries: before, a few in each
    run were cut off (found by a review)."""
    s = W.start({"md.output_limit": 65536, "md.messages_per_s": 1000000, "limits.rate": 1000000,
                 "limits.burst": 1000000, "md.max_connections_per_ip": 1000})
    get = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    busy = [socket.create_connection(("127.0.0.1", s.md_port)) for _ in range(40)]
    for t in range(30):
        h = socket.create_connection(("127.0.0.1", s.md_port))
        h.sendall(raw_post(1001, order("buy", "900.00", "0.0001"), t) + get * 60)
        time.sleep(0.001 * (t % 3))  # (jitter: where the client's next bytes fall against the order's answer)
        for b in busy:
            b.send(get * 2)
        time.sleep(0.0005 * (t % 5))
        h.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for b in busy:
            read_answers(b, 2)
        try:
            got = split_answers(read_answers(h, 62))
        except ConnectionResetError:
            check(False, f"try {t}: reset")
        check(len(got) == 62 and got[0][0] == 200 and json.loads(got[0][1]).get("event") == "accepted",
              f"try {t}: {len(got)} answers, the order's {got[:1]}")
        h.close()
    for b in busy:
        b.close()


@test
def test_an_order_during_the_stop_is_shutting_down():
    """A REST order of an account with no order session yet, sent while the
    server stops (the gateway takes no new connection; here it waits up to
    2 s for a binary session that reads nothing), is answered 503
    SHUTTING_DOWN - not "no room for another order session; try later",
    which it was (a probe)."""
    s = W.start()
    slow = X.Conn(s.port)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.login(1003, session=1, heartbeat_ms=TS.HB)
    slow.send(b"".join(X.encode_status(i + 1, order_id=5) for i in range(9000)))  # answers it does not read
    s.proc.send_signal(signal.SIGTERM)
    TS.wait_for(lambda: H.get_json(s.md_port, "/readyz")[1].get("reason") == "shutting down", "the stop begun")
    h = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
    h.sendall(raw_post(1002, order("buy", "900.00", "0.0001")))
    st, body = split_answers(read_answers(h, 1))[0]
    check(st == 503 and json.loads(body)["msg"] == "SHUTTING_DOWN", f"{st} {body!r}")
    h.close()
    slow.close()
    check(s.proc.wait(15) == 0, "exit status")


@test
def test_a_waiting_request_is_not_closed_as_idle():
    """md.http_idle_ms closes a connection with no request and no answer
    for that long - never one whose REST order request waits for the
    gateway (before: closed with the order placed and no answer, when the
    wait passed the idle time), and counted from the answer."""
    s = W.start(dict(FAST, **{"debug.engine_delay_us": 1000000, "journal.batch_max": 1, "md.http_idle_ms": 1000,
                              "md.ping_ms": 100, "rest.order_timeout_ms": 20000}))
    ok(client(s), "GET", "/api/v1/orders?open=true")  # answered; then the engine rests a second
    c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
    t0 = time.monotonic()
    c.sendall(raw_post(1001, order("sell", "1234.00", "0.0001", client_order_id=5)))
    head = b""
    while b"\r\n\r\n" not in head:  # its order and its status go in two batches: about 2 s
        d = c.recv(65536)
        check(d, f"closed after {time.monotonic() - t0:.2f} s with the order waiting, after {head!r}")
        head += d
    answered = time.monotonic()
    check(answered - t0 > 1.2 and head.startswith(b"HTTP/1.1 200"),
          f"answered after {answered - t0:.2f} s (not past the idle time: the test proves nothing): {head[:80]!r}")
    while c.recv(65536):  # then idle: closed after md.http_idle_ms from the answer
        pass
    idle = time.monotonic() - answered
    check(0.9 < idle < 5, f"closed {idle:.2f} s after the answer")


@test
def test_binary_orders_listed_and_pipelining():
    s = W.start(FAST)
    bc = TS.login(s.port, 1004, 3)
    bc.new_order(bc.inst[SYM], X.BUY, 99000, 7)
    m = bc.expect(X.ACCEPTED)
    a = client(s, 1004)
    lst = ok(a, "GET", "/api/v1/orders?open=true")
    check([o["order_id"] for o in lst["data"]] == [m.get("order_id")] and lst["data"][0]["price"] == "990.00",
          f"binary order listed {lst}")
    # two requests in one write: the second is read only after the first is answered
    sock = socket.create_connection(("127.0.0.1", s.md_port))
    reqs = b"".join(raw_post(1004, order("buy", "980.00", "0.0001", client_order_id=100 + k), k) for k in (1, 2))
    sock.sendall(reqs)
    got = read_answers(sock, 2)
    check(got.count(b"HTTP/1.1 200") == 2, f"two answers: {got!r}")
    check(got.index(b'"client_order_id":101') < got.index(b'"client_order_id":102'), f"in order: {got!r}")
    sock.close()
    # 20 in one write, ~6 KB: more than a connection's buffer (md.max_message, 4 KiB) holds behind the waiting
    # first. The rest waits in the socket, not read, and every one is answered, in order. Once the full buffer
    # was a 431 and a close: the first order placed with no answer, the ones behind it unanswered.
    sock = socket.create_connection(("127.0.0.1", s.md_port))
    reqs = b"".join(raw_post(1004, order("buy", "970.00", "0.0001", client_order_id=200 + k), k) for k in range(20))
    check(len(reqs) > 4096, f"{len(reqs)} bytes: not past the buffer, the test would show nothing")
    sock.sendall(reqs)
    got = read_answers(sock, 20)
    check(got.count(b"HTTP/1.1 200") == 20, f"20 answers: {got[:300]!r}")
    ids = [int(x) for x in re.findall(rb'"client_order_id":(\d+)', got)]
    check(ids == list(range(200, 220)), f"in order: {ids}")
    sock.close()
    # DELETE of the binary session's order through REST: the same account
    cx = ok(a, "DELETE", f"/api/v1/orders/{m.get('order_id')}")
    check(cx["event"] == "canceled", f"cancel {cx}")
    c = bc.expect(X.CANCELED)
    check(c.get("order_id") == m.get("order_id"), "the binary session sees its order cancelled")


@test
def test_concurrent_requests():
    """Requests of several accounts and connections waiting at once each get
    their own answer."""
    s = W.start(FAST)
    socks = []
    for k in range(6):
        sock = socket.create_connection(("127.0.0.1", s.md_port))
        sock.sendall(raw_post(1001 + k % 2, order("buy", f"{900 + k}.00", "0.0001", client_order_id=500 + k), k))
        socks.append(sock)
    for k, sock in enumerate(socks):
        got = read_answers(sock, 1)
        check(got.startswith(b"HTTP/1.1 200") and f'"client_order_id":{500 + k}'.encode() in got and
              f'"price":"{900 + k}.00"'.encode() in got, f"answer {k}: {got!r}")
        sock.close()


@test
def test_requests_wait_for_room_in_the_bridge():
    """200 POSTs of one account on 200 connections at once, with the bridge
    to the gateway at its smallest (debug.bridge_sndbuf: about 8 KiB, ten
    frames): what it cannot take waits in the server, in order, and goes
    as the gateway reads, so each is placed and answered 200 (docs/rest.md).
    (A full bridge was closed "order entry is overloaded", its requests
    answered 503 or 504.)"""
    s = W.start({**FAST, "debug.bridge_sndbuf": 4096, "md.max_connections_per_ip": 1000})
    n = 200
    socks = [socket.create_connection(("127.0.0.1", s.md_port)) for _ in range(n)]
    reqs = [raw_post(1001, order("buy", "900.00", "0.0001", client_order_id=700 + k), k) for k in range(n)]
    for sock, req in zip(socks, reqs):
        sock.sendall(req)
    for k, sock in enumerate(socks):
        got = read_answers(sock, 1)
        check(got.startswith(b"HTTP/1.1 200") and f'"client_order_id":{700 + k}'.encode() in got,
              f"answer {k}: {got[:300]!r}")
        sock.close()
    opened = ok(client(s), "GET", "/api/v1/orders?open=true")
    ids = sorted(o["client_order_id"] for o in opened["data"]) if isinstance(opened, dict) else []
    check(ids == list(range(700, 700 + n)), f"open orders {ids[:5]}... ({len(ids)})")


@test
def test_crossing_posts_each_get_one_outcome():
    """Two accounts' POSTs crossing at one price, from eight connections at
    once, five pipelined on each: every one gets exactly one 200 whose
    outcome adds up (open: filled + remaining = qty; filled: all of it),
    and every trade GET /fills has is in its taker's outcome."""
    s = W.start(FAST)
    socks = []
    for k in range(8):
        acct, side = (1001, "sell") if k % 2 else (1002, "buy")
        sock = socket.create_connection(("127.0.0.1", s.md_port))
        sock.sendall(b"".join(raw_post(acct, order(side, "1000.00", "0.0003"), 10 * k + j) for j in range(5)))
        socks.append((acct, sock))
    filled = {1001: 0, 1002: 0}
    for acct, sock in socks:
        got = read_answers(sock, 5).decode()
        answers = [json.loads(b.split("\r\n\r\n", 1)[1]) for b in got.split("HTTP/1.1 ")[1:]]
        check(len(answers) == 5 and got.count("HTTP/1.1 200") == 5, f"five 200s: {got!r}")
        for j in answers:
            o = j["outcome"]
            f, r = int(o["filled"].replace(".", "")), int(o["remaining"].replace(".", ""))
            check((o["state"] == "open" and f + r == 3 and r > 0) or (o["state"] == "filled" and f == 3 and r == 0),
                  f"outcome adds up: {j}")
            filled[acct] += f
        sock.close()
    total = {}
    for acct in (1001, 1002):
        fl = ok(client(s, acct), "GET", "/api/v1/fills")
        total[acct] = sum(int(x["qty"].replace(".", "")) for x in fl["data"])
    # every trade is in its taker's outcome (its own command's fill), and in its maker's only when the maker's
    # status came after it
    traded = total[1001]
    check(traded > 0 and total[1002] == traded and traded <= filled[1001] + filled[1002] <= 2 * traded,
          f"outcomes filled {filled}, fills {total}")


@test
def test_no_answer_in_time_is_a_504():
    """An order request the gateway does not answer within
    rest.order_timeout_ms (here: an engine that rests a second after each
    batch) is answered 504, outcome unknown, instead of waiting for ever;
    the connection goes on, and so does the account's next request."""
    s = W.start(dict(FAST, **{"debug.engine_delay_us": 1000000, "rest.order_timeout_ms": 100}))
    a = client(s)
    # answered (one request, one batch); the engine rests a second. (Not a POST: its order and the status behind
    # it may go to the engine in two batches, two seconds, and its own answer come by the deadline.)
    ok(a, "GET", "/api/v1/orders?open=true")
    t0 = time.monotonic()
    j = ok(a, "POST", "/api/v1/orders", order("sell", "1000.00", "0.0050"), status=504)
    waited = time.monotonic() - t0
    check("outcome of this request is unknown" in j["msg"] and "rest.order_timeout_ms" in j["msg"], f"504 body {j}")
    check(0.1 <= waited < 0.9, f"answered after {waited:.2f} s: not by the deadline, or by the slow engine")
    vals, _ = H.parse_metrics(H.scrape(s.md_port))
    check(H.value(vals, "xt_md_rest_orders_waiting") == 0, "requests still counted as waiting")
    # the same connection: a new order session, as slow; the read is answered by the same deadline, and says
    # whether it was sent (then it may be sent again) or not (then nothing was done)
    st, j = a.request("GET", "/api/v1/orders?open=true")
    check((st, j["code"]) in ((503, 503), (504, 504)) and "rest.order_timeout_ms" in j["msg"] and
          ("before this request was sent: nothing was done" in j["msg"] if st == 503 else
           "this read may be sent again" in j["msg"]), f"second answer {st} {j}")
    # the outcome: the order went in after all, as the list tells with an engine at full speed
    check(s.stop() == 0, "stop")
    s.sets["debug.engine_delay_us"] = 0
    s.start()
    s.md_port = W.md_port(s)
    st, j = client(s).request_after_restart("GET", "/api/v1/orders?open=true")
    check(st == 200 and [o["price"] for o in j["data"]] == ["1000.00"], f"open orders {st} {j}")


@test
def test_session_closed_after_the_accepted():
    """A POST whose `accepted` came, but whose order session then closed
    before the status behind the order was answered, is answered 200 with
    what was gathered (docs/rest.md: "When the session closes after the
    `accepted` but before the status's answer ..."), not 504 and not at the
    deadline. Made so without a race: the order sweeps 900 resting orders
    in one command, whose ACCEPTED and FILLs are released together and
    queued to the REST bridge in one go, and server.output_limit is at its
    minimum, 65,536 bytes: the ACCEPTED (64 bytes) and 818 FILLs (80 each)
    fit, the 819th makes the bridge a slow consumer, which the gateway
    closes behind them (ERROR SLOW_CONSUMER), so the status's answer never
    comes. The answer: `state` unknown (the order's last FILL did not
    come), `filled` and `fills` as gathered, `remaining` 0; the next
    request logs in again, and GET /api/v1/orders/{id} and /fills tell the
    rest, as the docs promise."""
    s = W.start(dict(FAST, **{"server.output_limit": 65536}))
    bc = TS.login(s.port, 1002, 1)
    for _ in range(3):  # 900 sells of one lot at one price, 300 a write (their ACCEPTEDs stay under the limit)
        cls = [bc.next_clordid() for _ in range(300)]
        bc.send(b"".join(X.encode_new_order(cl, bc.inst[SYM], X.SELL, 100000, 1) for cl in cls))
        for cl in cls:
            check(bc.answer(cl).type == X.ACCEPTED, f"maker {cl} not accepted")
    bc.close()  # its 900 maker FILLs would overflow it too: a disconnected session just keeps them
    a = client(s, 1001)
    ok(a, "GET", "/api/v1/orders?open=true")  # the account's order session logged in, its output sent
    j = ok(a, "POST", "/api/v1/orders", order("buy", "1000.00", "0.1000"))
    oid = j["order_id"]
    outcome(j, "unknown", "0.0818", "0.0000", 818)  # (65536 - 64) // 80 FILLs fit behind the ACCEPTED
    check(j["qty"] == "0.1000" and j["price"] == "1000.00" and j["side"] == "buy", f"accepted {j}")
    # the rest: the order swept all 900 and rests with 100 lots, its fills all kept
    st = ok(a, "GET", f"/api/v1/orders/{oid}")
    check(st["status"] == "open" and st["filled"] == "0.0900" and st["remaining"] == "0.0100", f"status {st}")
    fl = ok(a, "GET", f"/api/v1/fills?symbol={SYM}&limit=1000")
    mine = [f for f in fl["data"] if f["order_id"] == oid]
    check(len(mine) == 900 and all(f["liquidity"] == "taker" and f["qty"] == "0.0001" for f in mine),
          f"{len(mine)} taker fills of order {oid} in /fills")
    vals, _ = H.parse_metrics(H.scrape(s.md_port))
    check(H.value(vals, "xt_md_rest_orders_waiting") == 0, "requests still counted as waiting")


def send_raw(s, data):
    """One raw request on a connection of its own: (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", s.md_port), timeout=5) as sock:
        sock.sendall(data)
        got = read_answers(sock, 1)
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def rest_signed_mark(s):
    """The timestamps of DATA/rest-signed (docs/journal-format.md), or None
    when there is no file."""
    try:
        with open(os.path.join(s.data, "rest-signed")) as f:
            return [int(line) for line in f.read().splitlines() if line and not line.startswith("#")]
    except FileNotFoundError:
        return None


@test
def test_rest_session_survives_restart():
    """The REST session's ids go on after a restart; and a signed request
    taken before it is not taken again, though the replay cache starts
    empty (a replayed POST without a client_order_id placed a second
    order, a helper's probe found). A clean stop leaves the latest
    timestamp it took in DATA/rest-signed: the next start refuses those up
    to it only and serves a later one at once (it refused every one for
    rest.recv_window_ms after the start). After a crash nothing is known:
    refused for the window from the start, and a clean stop then hands
    that bound on."""
    s = W.start(FAST)
    a = client(s, 1001)
    j = ok(a, "POST", "/api/v1/orders", order("buy", "990.00", "0.0001", client_order_id=70))
    ahead_ts = int(time.time() * 1000) + 4000  # signed ahead, within the window for 9 s
    ahead = raw_post(1001, order("buy", "991.00", "0.0001"), ts_ms=ahead_ts)
    st, first = send_raw(s, ahead)
    check(st == 200 and first["event"] == "accepted", f"the POST signed ahead: {st} {first}")
    check(rest_signed_mark(s) is None, "rest-signed is there while the server runs")
    check(s.stop() == 0, "the server did not stop cleanly")
    check(rest_signed_mark(s) == [ahead_ts], f"rest-signed after the clean stop: {rest_signed_mark(s)}, "
          f"the latest timestamp taken {ahead_ts}")
    s.start()
    s.md_port = W.md_port(s)
    check(rest_signed_mark(s) is None, "rest-signed is left after the start")
    st, again = send_raw(s, ahead)
    check(st == 503 and again["msg"].startswith(XR.SIGNED_BEFORE_START), f"the same POST after the restart: {st} {again}")
    a = client(s, 1001)
    st, _ = a.request("GET", "/api/v1/orders?open=true", ts_ms=ahead_ts)  # any request of a timestamp taken
    check(st == 503, f"a GET signed at the latest timestamp taken: {st}")
    st, lst = a.request("GET", "/api/v1/orders?open=true", ts_ms=ahead_ts + 1)
    check(st == 200, f"a GET signed after the latest timestamp taken, at once: {st} {lst}")
    a.last_ts = ahead_ts + 1  # (the clock may not have passed it yet)
    check(sorted(o["order_id"] for o in lst["data"]) == sorted([j["order_id"], first["order_id"]]),
          f"the POST was placed once: {lst}")
    ok(a, "POST", "/api/v1/orders", order("buy", "990.00", "0.0001", client_order_id=70), status=409)
    k = ok(a, "POST", "/api/v1/orders", order("buy", "990.00", "0.0001"))
    check(k["client_order_id"] > first["client_order_id"] == 71, f"ids continue after a restart {k}")
    # a crash: its requests are not known
    s.kill()
    before = int(time.time() * 1000)
    s.start()
    s.md_port = W.md_port(s)
    a = client(s, 1001)
    st, _ = a.request("GET", "/api/v1/orders?open=true")  # signed now: within the window of the start
    check(st == 503, f"signed at the restart after a crash: {st}")
    check(s.stop() == 0, "the server did not stop cleanly")
    mark = rest_signed_mark(s)
    check(mark and len(mark) == 1 and mark[0] >= before + 5000,
          f"rest-signed after a run that took nothing: {mark}, the start's window ends after {before + 5000}")
    s.start()
    s.md_port = W.md_port(s)
    a = client(s, 1001)
    st, lst = a.request_after_restart("GET", "/api/v1/orders?open=true")
    check(st == 200, f"served once the window passed: {st} {lst}")
    check(j["order_id"] in [o["order_id"] for o in lst["data"]] and
          k["order_id"] in [o["order_id"] for o in lst["data"]], f"kept {lst}")


@test
def test_mass_cancel():
    """DELETE /api/v1/orders cancels the account's open orders (of
    ?symbol= only, or all), from every session, and answers how many."""
    s = W.start(FAST)
    a, b = client(s, 1001), client(s, 1002)
    mine = [ok(a, "POST", "/api/v1/orders", order("buy", p, "0.0001"))["order_id"] for p in ("900.00", "901.00")]
    eth = ok(a, "POST", "/api/v1/orders", {"symbol": "ETH-USDT", "side": "buy", "price": "100.00", "qty": "0.001"})
    other = ok(b, "POST", "/api/v1/orders", order("buy", "902.00", "0.0001"))["order_id"]
    j = ok(a, "DELETE", "/api/v1/orders?symbol=BTC-USDT")
    check(j["event"] == "mass_cancel_ack" and j["canceled"] == 2, f"mass cancel of one symbol {j}")
    open_ids = [o["order_id"] for o in ok(a, "GET", "/api/v1/orders?open=true")["data"]]
    check(open_ids == [eth["order_id"]], f"left open: {open_ids}, expected the ETH order only (cancelled {mine})")
    for target, body, status in [("/api/v1/orders?symbol=NOPE", None, 404),
                                 ("/api/v1/orders?symbol=", None, 404),
                                 ("/api/v1/orders?symbol=ETH-USDT", {"symbol": "ETH-USDT"}, 400),
                                 # misspelt: refused, not taken as "every instrument" (a review found it)
                                 ("/api/v1/orders?Symbol=ETH-USDT", None, 400),
                                 ("/api/v1/orders?symbol[]=ETH-USDT", None, 400),
                                 ("/api/v1/orders?symbol=ETH-USDT&all=1", None, 400),
                                 ("/api/v1/orders", {"Symbol": "ETH-USDT"}, 400),
                                 ("/api/v1/orders", {"symbols": ["ETH-USDT"]}, 400)]:
        ok(a, "DELETE", target, body, status=status)
    check([o["order_id"] for o in ok(a, "GET", "/api/v1/orders?open=true")["data"]] == [eth["order_id"]],
          "a refused mass cancel cancels nothing")
    j = ok(a, "DELETE", "/api/v1/orders")
    check(j["canceled"] == 1, f"mass cancel of all {j}")
    check(ok(a, "GET", "/api/v1/orders?open=true")["data"] == [], "nothing left open")
    check([o["order_id"] for o in ok(b, "GET", "/api/v1/orders?open=true")["data"]] == [other],
          "another account's order is not touched")


@test
def test_a_kick_answers_the_post_the_gateway_had():
    """An operator kicks the account's REST order session while a POST is
    with the engine (slowed, debug.engine_delay_us): the POST gets its
    order's outcome, as a binary connection's requests are answered before
    its ERROR KICKED (docs/admin.md), and the next request logs in again.
    The kick once told the REST bridge at once: the POST was answered 504,
    its outcome unknown. A POST sent after the kick, while the gateway
    waits for the first one's answer, is not taken: 503, nothing was done
    (it was answered 504, outcome unknown), and it may be sent again as it
    was."""
    s = W.start(dict(FAST, **{"debug.engine_delay_us": 1000000}))  # a second: the kick comes well within it
    a, b = client(s, 1001), client(s, 1001)  # (one request at a time on each)
    ok(a, "GET", "/api/v1/orders?open=true")  # the account's order session logged in
    first, got = rest_session(s), {}
    t = post_in_flight(s, a, first, got)
    A.ok(s, f"kick 1001 {rest_session(s)['session']}")
    late = order("buy", "999.00", "0.0001", client_order_id=first["last_clordid"] + 10)
    st, j = client(s, 1001).request("POST", "/api/v1/orders", late)  # answered once the first one is
    check(st == 503 and j["msg"].endswith("after this request was sent, and it was not taken: nothing was done"),
          f"the POST sent after the kick: {st} {j}")
    t.join(30)
    check(not t.is_alive(), "the POST got no answer")
    st, j = got["r"]
    check(st == 200, f"the POST: {st} {j}")
    outcome(j, "open", "0.0000", "0.0001", 0)
    check(ok(b, "GET", f"/api/v1/orders/{j['order_id']}")["status"] == "open", "the order after the kick")
    check([o["order_id"] for o in ok(b, "GET", "/api/v1/orders?open=true")["data"]] == [j["order_id"]],
          "only the POST before the kick placed an order")
    outcome(ok(b, "POST", "/api/v1/orders", late), "open", "0.0000", "0.0001", 0)  # its id unused: it is taken now


def rest_session(s):
    """The admin's view of account 1001's REST order session."""
    ss = [x for x in A.ok(s, "sessions 1001")["sessions"] if x.get("peer") == "rest"]
    check(len(ss) == 1, f"the REST session in {ss}")
    return ss[0]


def post_in_flight(s, a, first, got):
    """A POST on client a (in a thread; its (status, body) into got["r"]),
    passed on to the engine and not yet answered: the engine is slowed
    (debug.engine_delay_us). first: rest_session(s) before it."""
    t = threading.Thread(target=lambda: got.update(r=a.request("POST", "/api/v1/orders",
                                                               order("buy", "1000.00", "0.0001"))))
    t.start()
    TS.wait_for(lambda: rest_session(s)["last_clordid"] > first["last_clordid"], "the POST passed on to the engine")
    # still with the engine when the kick comes (else this proves nothing): not answered yet
    check(rest_session(s)["last_seq"] == first["last_seq"], "the POST was answered before the kick")
    return t


@test
def test_a_kick_that_lost_answers_says_resync():
    """A kick whose wait ends with answers lost (one engine batch wrote
    more than half of server.resume_messages, so the gateway could not read
    them all): the session is told RESYNC, not KICKED, and the POST in
    flight is answered 504, outcome unknown - its order was placed. Told
    KICKED (the gateway finished the kick before it saw the loss), the
    REST bridge took every request still waiting for "not taken" and
    answered the POST 503 "nothing was done"."""
    s = W.start(dict(FAST, **{"debug.engine_delay_us": 1000000, "server.resume_messages": 16}))
    a, b = client(s, 1001), client(s, 1001)
    ok(a, "GET", "/api/v1/orders?open=true")
    other = TS.login(s.port, 1002)
    inst = other.inst[SYM]
    check(other.place(inst, TS.BUY, 100000, 1).type == TS.ACCEPTED, "the first order")  # the engine sleeps now
    first, got = rest_session(s), {}
    t = post_in_flight(s, a, first, got)
    for _ in range(20):  # in the POST's batch: 22 answers, over the 8 the gateway may fall behind by
        other.new_order(inst, TS.BUY, 100000, 1)
    A.ok(s, f"kick 1001 {rest_session(s)['session']}")
    t.join(30)
    check(not t.is_alive(), "the POST got no answer")
    st, j = got["r"]
    check(st == 504 and j["msg"].startswith("RESYNC: ") and "the outcome of this request is unknown" in j["msg"],
          f"the POST whose answer was lost: {st} {j}")
    placed = ok(b, "GET", "/api/v1/orders?open=true")["data"]
    check(len(placed) == 1 and placed[0]["price"] == "1000.00", f"the POST's order is open: {placed}")


def rest_sessions(s):
    body = H.scrape(s.md_port)
    m = re.search(r'^xt_md_order_sessions\{kind="rest"\} (\d+)$', body, re.M)
    check(m, "xt_md_order_sessions{kind=\"rest\"} not in /metrics")
    return int(m.group(1))


@test
def test_ids_survive_the_idle_close():
    """An account's REST order session idle for rest.idle_ms is closed
    without a LOGOUT: with no order open, a LOGOUT would end the session
    and its client order ids with it, so a retry after the pause placed the
    order again (a helper's probe found it). Its ids go on instead."""
    s = W.start(dict(FAST, **{"rest.idle_ms": 1000}))
    a = client(s, 1002)
    j = ok(a, "POST", "/api/v1/orders", order("buy", "1.00", "0.0001", tif="ioc", client_order_id=500))
    check(j["event"] == "accepted" and j["outcome"]["state"] == "canceled", f"an IOC that rests nothing {j}")
    check(rest_sessions(s) == 1, "the REST session's bridge is open")
    deadline = time.monotonic() + 10  # idle_ms, checked once a second
    while rest_sessions(s) != 0:
        check(time.monotonic() < deadline, "the idle REST bridge was not closed within 10 s")
        time.sleep(0.1)
    j = ok(a, "POST", "/api/v1/orders", order("buy", "1.00", "0.0001", tif="ioc", client_order_id=500), status=409)
    check(j["msg"] == "DUPLICATE_CLORDID", f"the retry is a duplicate {j}")
    k = ok(a, "POST", "/api/v1/orders", order("buy", "1.00", "0.0001", tif="ioc"))
    check(k["client_order_id"] == 501, f"ids go on after the idle close {k}")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
