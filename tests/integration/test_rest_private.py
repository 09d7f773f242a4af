#!/usr/bin/python3
"""Integration tests of the signed REST endpoints on the market-data port
(docs/rest.md, "Signed requests", "Fills"): every refusal of the signature
check with its status and message (a header missing or malformed 400, an
unknown key 401, a bad signature 401, a timestamp out of the receive
window 401, a replay 401, the replay cache full 503) and that a fresh
signature of the same request passes; GET /api/v1/fills after trades
placed with the binary client, for the maker and the taker, with the
symbol filter, limit and from_id, and nothing for another account; a key
changed by SIGHUP; /api/v1/orders signed before order entry sees it.

Each test starts its own server (test_server.Server: fresh data directory,
ports chosen by the kernel). Waits are for conditions, with timeouts.

usage: test_rest_private.py path/to/xtrading [name-substring ...]
"""
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402
from xtrest import RestClient, sign  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
SYM = "BTC-USDT"
FAST = {"md.messages_per_s": "100000"}


def start(sets=None, args=()):
    return W.start(dict(FAST, **(sets or {})), args)


def demo(s, account):
    return RestClient(s.md_port, account, f"demo{account}", f"demo-secret-{account}")


def refused(r, status, words):
    st, j = r
    check(st == status, f"status {st}, expected {status}: {j}")
    check(isinstance(j, dict) and set(j) == {"code", "msg"} and j["code"] == status, f"error body {j}")
    check(words in j["msg"], f"{words!r} not in {j['msg']!r}")


def now_ms():
    return int(time.time() * 1000)


@test
def test_refusals():
    """Each check of the signature in turn, with its status and message."""
    s = start()
    c = demo(s, 1001)
    fills = "/api/v1/fills"
    st, j = c.request("GET", fills)
    check(st == 200 and j == {"data": []}, f"a signed request: {st} {j}")
    check(c.last_headers.get("connection") == "keep-alive", f"kept alive: {c.last_headers}")
    for name in ("X-XT-Account", "X-XT-Key", "X-XT-Timestamp", "X-XT-Signature"):
        refused(c.request("GET", fills, omit=(name,)), 400, f"missing or malformed {name} header")
    refused(c.request("GET", fills, headers={"X-XT-Account": "10x1"}), 400, "X-XT-Account")
    refused(c.request("GET", fills, ts_ms="17e11"), 400, "X-XT-Timestamp")
    refused(c.request("GET", fills, signature="abc"), 400, "X-XT-Signature")
    refused(c.request("GET", fills, signature="g" * 64), 400, "X-XT-Signature")
    other = RestClient(s.md_port, 1001, "nokey", "demo-secret-1001")
    refused(other.request("GET", fills), 401, "unknown account or key")
    other = RestClient(s.md_port, 9999, "demo1001", "demo-secret-1001")
    refused(other.request("GET", fills), 401, "unknown account or key")
    refused(c.request("GET", fills, ts_ms=now_ms() - 60000), 401, "timestamp outside the receive window")
    refused(c.request("GET", fills, ts_ms=now_ms() + 60000), 401, "timestamp outside the receive window")
    refused(c.request("GET", fills, signature="0" * 64), 401, "bad signature")
    wrong = RestClient(s.md_port, 1001, "demo1001", "not-the-secret")
    refused(wrong.request("GET", fills), 401, "bad signature")
    # another account's key signs for its own account only
    refused(c.request("GET", fills, headers={"X-XT-Account": "1002"}), 401, "unknown account or key")
    # an exact replay is refused; a fresh signature of the same request passes
    ts = now_ms()
    sig = sign("demo-secret-1001", ts, "GET", fills + "?limit=5")
    check(c.request("GET", fills + "?limit=5", ts_ms=ts, signature=sig)[0] == 200, "first")
    refused(c.request("GET", fills + "?limit=5", ts_ms=ts, signature=sig), 401, "replayed request")
    refused(c.request("GET", fills + "?limit=5", ts_ms=ts, signature=sig.upper()), 401, "replayed request")
    check(c.request("GET", fills + "?limit=5", ts_ms=ts + 1)[0] == 200, "a fresh signature")
    # upper-case hex; an empty query is signed as sent
    ts = now_ms()
    check(c.request("GET", fills + "?", ts_ms=ts, signature=sign("demo-secret-1001", ts, "GET", fills + "?").upper())
          [0] == 200, "upper-case hex, '?' kept in the target")
    # the signature covers the target
    refused(c.request("GET", fills + "?limit=5", signature=sign("demo-secret-1001", ts + 7, "GET", fills),
                      ts_ms=ts + 7), 401, "bad signature")
    # other method on fills; the public endpoints stay unsigned
    refused(c.request("POST", fills), 405, "only GET")
    st, j = H.get_json(s.md_port, "/api/v1/instruments")
    check(st == 200 and j["data"], f"a public endpoint, unsigned: {st} {j}")
    check(s.running(), "server running")


@test
def test_window_and_full_cache():
    """rest.recv_window_ms bounds the timestamp; a replay cache full of live
    signatures answers 503, and makes room as they expire. (A window of 4 s:
    the two signatures must still be live when the third request comes,
    however slowly a loaded machine runs the three.)"""
    s = start({"rest.recv_window_ms": "4000", "rest.replay_cache": "2"})
    c = demo(s, 1002)
    refused(c.request("GET", "/api/v1/fills", ts_ms=now_ms() - 8000), 401, "receive window")
    check(c.request("GET", "/api/v1/fills", ts_ms=now_ms() - 500)[0] == 200, "inside the window")
    check(c.request("GET", "/api/v1/fills?a")[0] == 200, "second")
    refused(c.request("GET", "/api/v1/fills?b"), 503, "try again later")
    end = time.monotonic() + 15
    while True:
        st, j = c.request("GET", "/api/v1/fills?c")
        if st == 200:
            break
        check(st == 503 and time.monotonic() < end, f"after the window: {st} {j}")
        time.sleep(0.2)


def wait_fills(c, target, n, timeout=10):
    """The fills answer once it holds n fills (the md thread is behind the
    order-entry answers by a little)."""
    end = time.monotonic() + timeout
    while True:
        st, j = c.request("GET", target)
        check(st == 200, f"{target}: {st} {j}")
        if len(j["data"]) >= n:
            return j["data"]
        check(time.monotonic() < end, f"{target}: {n} fills expected, got {j}")
        time.sleep(0.05)


@test
def test_fills():
    """Fills of the maker and the taker of trades placed with the binary
    client; filters; another account sees none."""
    s = start()
    A = TS.login(s.port, 1001, 1)
    B = TS.login(s.port, 1002, 1)
    btc, eth = A.inst[SYM], A.inst["ETH-USDT"]
    a1 = A.place(btc, X.SELL, 100000, 50000)  # 5 @ 1000.00
    check(a1.type == X.ACCEPTED, "sell")
    b1 = B.place(btc, X.BUY, 100100, 20000)  # takes 2 @ 1000.00
    check(b1.type == X.ACCEPTED, "buy")
    bf = B.expect(X.FILL)
    b2 = B.place(btc, X.BUY, 100000, 10000)  # takes 1 more
    B.expect(X.FILL)
    a2 = A.place(eth, X.BUY, 200000, 3000)  # 3 @ 2000.00 on ETH, resting
    e1 = B.place(eth, X.SELL, 199900, 1000)  # B takes 1 of it: B is the seller, taker
    check(a2.type == X.ACCEPTED and e1.type == X.ACCEPTED, "eth")
    B.expect(X.FILL)
    ca, cb, cc = demo(s, 1001), demo(s, 1002), demo(s, 1003)
    fa = wait_fills(ca, "/api/v1/fills", 3)
    fb = wait_fills(cb, "/api/v1/fills", 3)
    check(len(fa) == 3 and len(fb) == 3, f"{fa} {fb}")
    want_a = [(bf.trade_id, a1.order_id, SYM, "sell", "maker", "1000.00", "2.0000"),
              (bf.trade_id + 1, a1.order_id, SYM, "sell", "maker", "1000.00", "1.0000"),
              (bf.trade_id + 2, a2.order_id, "ETH-USDT", "buy", "maker", "2000.00", "1.000")]
    want_b = [(bf.trade_id, b1.order_id, SYM, "buy", "taker", "1000.00", "2.0000"),
              (bf.trade_id + 1, b2.order_id, SYM, "buy", "taker", "1000.00", "1.0000"),
              (bf.trade_id + 2, e1.order_id, "ETH-USDT", "sell", "taker", "2000.00", "1.000")]
    for got, want in ((fa, want_a), (fb, want_b)):
        check([(f["trade_id"], f["order_id"], f["symbol"], f["side"], f["liquidity"], f["price"], f["qty"])
               for f in got] == want, f"fills {got}, expected {want}")
        check(all(set(f) == {"trade_id", "order_id", "symbol", "side", "liquidity", "price", "qty", "ts"}
                  for f in got), f"fields {got}")
        check(all(TS.near_now(f["ts"]) for f in got), f"ts {got}")
    check(fa[0]["ts"] == bf.ts, f"ts of the trade {fa[0]['ts']} {bf.ts}")
    # filters: symbol, limit (the newest), from_id (the first ones from it)
    j = cb.request("GET", f"/api/v1/fills?symbol={SYM}")[1]["data"]
    check([f["order_id"] for f in j] == [b1.order_id, b2.order_id], f"symbol filter {j}")
    j = cb.request("GET", "/api/v1/fills?limit=1")[1]["data"]
    check([f["trade_id"] for f in j] == [bf.trade_id + 2], f"limit=1: the newest {j}")
    j = cb.request("GET", f"/api/v1/fills?from_id={bf.trade_id + 1}&limit=1")[1]["data"]
    check([f["trade_id"] for f in j] == [bf.trade_id + 1], f"from_id {j}")
    for zero in ("0", "000"):  # the oldest first, as any from_id: it was taken as none, the newest (a probe)
        j = cb.request("GET", f"/api/v1/fills?from_id={zero}&limit=1")[1]["data"]
        check([f["trade_id"] for f in j] == [bf.trade_id], f"from_id={zero}: the oldest {j}")
    j = cb.request("GET", f"/api/v1/fills?symbol={SYM}&from_id={bf.trade_id + 2}")[1]["data"]
    check(j == [], f"from_id past the symbol's fills {j}")
    check(cc.request("GET", "/api/v1/fills") == (200, {"data": []}), "another account sees none")
    refused(cb.request("GET", "/api/v1/fills?symbol=NOPE"), 404, "unknown symbol NOPE")
    refused(cb.request("GET", "/api/v1/fills?limit=0"), 400, "bad parameter limit")
    refused(cb.request("GET", "/api/v1/fills?limit=1001"), 400, "bad parameter limit")
    refused(cb.request("GET", "/api/v1/fills?from_id=x"), 400, "bad parameter from_id")


@test
def test_self_trade_and_ring():
    """A self-trade gives the account both fills; rest.fills keeps the newest."""
    s = start({"rest.fills": "3"})
    A = TS.login(s.port, 1003, 1)
    btc = A.inst[SYM]
    for i in range(3):
        check(A.place(btc, X.SELL, 100000 + i, 10000).type == X.ACCEPTED, "sell")
        check(A.place(btc, X.BUY, 100000 + i, 10000, stp=X.STP_NONE).type == X.ACCEPTED, "self buy")
    c = demo(s, 1003)
    end = time.monotonic() + 10
    while True:
        j = c.request("GET", "/api/v1/fills")[1]["data"]
        if j and j[-1]["price"] == "1000.02":
            break
        check(time.monotonic() < end, f"fills {j}")
        time.sleep(0.05)
    check(len(j) == 3, f"rest.fills = 3 kept {j}")
    check([(f["price"], f["liquidity"], f["side"]) for f in j] ==
          [("1000.01", "maker", "sell"), ("1000.02", "taker", "buy"), ("1000.02", "maker", "sell")], f"{j}")
    check(j[1]["trade_id"] == j[2]["trade_id"], f"one trade, two fills {j}")


@test
def test_reloaded_key():
    """SIGHUP replaces the credentials the md thread checks signatures with."""
    tmp = tempfile.mkdtemp(prefix="xt-rest-reload-")
    try:
        creds, conf = os.path.join(tmp, "creds"), os.path.join(tmp, "xt.conf")

        def write(secret):
            with open(creds, "w") as f:
                f.write(f"5001 key5001 {X.signing_key(secret).hex()}\n")

        write("first")
        with open(conf, "w") as f:
            f.write("[server]\ncredentials = creds\n")
        s = start(args=["--config", conf])
        old, new = (RestClient(s.md_port, 5001, "key5001", k) for k in ("first", "second"))
        check(old.request("GET", "/api/v1/fills")[0] == 200, "the key of the file")
        refused(new.request("GET", "/api/v1/fills"), 401, "bad signature")
        write("second")
        s.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10
        while new.request("GET", "/api/v1/fills")[0] != 200:
            check(time.monotonic() < end, "the new key never worked")
            time.sleep(0.05)
        refused(old.request("GET", "/api/v1/fills"), 401, "bad signature")
        refused(demo(s, 1001).request("GET", "/api/v1/fills"), 401, "unknown account or key")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test
def test_orders_signed():
    """/api/v1/orders is signed before order entry sees it (test_rest_orders.py
    tests the orders themselves)."""
    s = start()
    c = demo(s, 1001)
    st, j = c.request("GET", "/api/v1/orders?open=true")
    check(st == 200 and j == {"data": [], "left_out": 0}, f"empty open list {st} {j}")
    refused(c.request("GET", "/api/v1/orders/12"), 404, "no open order")
    refused(c.request("GET", "/api/v1/orders", signature="0" * 64), 401, "bad signature")
    refused(c.request("GET", "/api/v1/orders", omit=("X-XT-Key",)), 400, "X-XT-Key")
    refused(c.request("GET", "/api/v1/orders/1/2"), 404, "unknown path")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
