#!/usr/bin/python3
"""Integration tests of the plain HTTP endpoints on the market-data port
(docs/http.md): GET /healthz, /readyz and /metrics (docs/metrics.md), 404
and 405, keep-alive, pipelining, and the WebSocket upgrade after a plain
request on the same connection. The metrics text is parsed here and, when
`promtool` is on PATH, checked with `promtool check metrics`; when it is
missing the test fails unless XT_NO_PROMTOOL=1 (scripts/deps.sh test
installs Debian's prometheus package, which has it).

Each test starts its own server (test_server.Server: fresh data directory,
ports chosen by the kernel). Waits are for conditions, with timeouts.

usage: test_http.py path/to/xtrading [name-substring ...]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402

TESTS, test = TS.registry()
check = TS.check


class Http:
    """One HTTP/1.1 connection; responses read by Content-Length."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, method, path, headers=(), body=b""):
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for h in headers:
            head += h + "\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed by the server")
        self.buf += d

    def response(self):
        """(status, {header: value}, body bytes)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def get(self, path, headers=()):
        self.send("GET", path, headers)
        return self.response()

    def closed(self):
        """True when the server closed the connection (nothing more comes)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def get_json(port, path):
    h = Http(port)
    st, hdrs, body = h.get(path)
    h.close()
    check(hdrs.get("content-type") == "application/json", f"{path}: content type {hdrs}")
    return st, json.loads(body)


def parse_metrics(text):
    """{(name, frozenset(labels)): value} and {name: type}, checking each
    sample's family has HELP and TYPE."""
    vals, types, helps = {}, {}, set()
    for ln in text.splitlines():
        if ln.startswith("# HELP "):
            helps.add(ln.split()[2])
        elif ln.startswith("# TYPE "):
            _, _, name, typ = ln.split()
            types[name] = typ
        elif ln:
            m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)', ln)
            check(m is not None, f"bad sample line {ln!r}")
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
            vals[(m.group(1), labels)] = float(m.group(4))
            fam = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
            check(m.group(1) in types or fam in types, f"no TYPE for {ln!r}")
            check(m.group(1) in helps or fam in helps, f"no HELP for {ln!r}")
    return vals, types


def scrape(port, conn=None):
    h = conn or Http(port)
    st, hdrs, body = h.get("/metrics")
    if conn is None:
        h.close()
    check(st == 200, f"/metrics: {st} {body[:200]!r}")
    check(hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"), f"/metrics content type {hdrs}")
    return body.decode()


def promtool(text):
    tool = shutil.which("promtool")
    if tool is None:
        check(os.environ.get("XT_NO_PROMTOOL") == "1",
              "promtool is not on PATH: install Debian's prometheus (scripts/deps.sh test), or XT_NO_PROMTOOL=1")
        print("  note: promtool missing, XT_NO_PROMTOOL=1: not checked", flush=True)
        return
    r = subprocess.run([tool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    check(r.returncode == 0, f"promtool check metrics: {r.stdout.decode()} {r.stderr.decode()}")


def value(vals, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in vals, f"no series {name}{labels}")
    return vals[key]


def wait_metric(port, pred, what, timeout=10):
    end = time.monotonic() + timeout
    while True:
        vals, _ = parse_metrics(scrape(port))
        if pred(vals):
            return vals
        check(time.monotonic() < end, f"metrics: still not {what} after {timeout}s")
        time.sleep(0.05)


def ws_subscribe(port, channel):
    """A WebSocket (test_md_ws.Raw) subscribed to channel, its answer and
    snapshot read. Returns the Raw with a read_text() for the next text
    message."""
    r = W.Raw(port)
    r.upgrade()
    r.frame(1, json.dumps({"op": "subscribe", "id": 1, "args": [channel]}).encode())

    def read_text():
        while True:
            op, data = r.read_frame()
            if op == 1:
                return json.loads(data)
    r.read_text = read_text
    check(read_text() == {"id": 1, "op": "subscribe", "result": "ok"}, "subscribed")
    check(read_text().get("type") == "snapshot", "the channel's snapshot")
    return r


def one_trade(port):
    """Accounts 1001 (A) and 1002 (B) logged in; on BTC-USDT A sells 5 lots
    at 100000 and 1 at 100200, then B buys 2 at 100100, which trades: three
    NEW_ORDERs, one trade, B's FILL read. Returns (A, B, the instrument)."""
    A = TS.login(port, 1001, 1)
    B = TS.login(port, 1002, 1)
    btc = A.inst["BTC-USDT"]
    check(A.place(btc, X.SELL, 100000, 5).type == X.ACCEPTED, "sell")
    check(A.place(btc, X.SELL, 100200, 1).type == X.ACCEPTED, "sell 2")
    check(B.place(btc, X.BUY, 100100, 2).type == X.ACCEPTED, "buy")
    B.expect(X.FILL)
    return A, B, btc


# ---------------------------------------------------------------------------


@test
def test_not_ready_without_room_for_a_journal_segment():
    """/readyz answers 503 while the data directory's filesystem has less
    free than a journal segment (at most 64 MiB): a server restarted on a
    full disk recovered, but would fail closed at its first order (it once
    answered 200). The free space is debug.disk_free_bytes here, one byte
    short of the 4 MiB segment; the real figure (statvfs) on a second
    server with room. Both are in /metrics."""
    s = W.start({"journal.segment_bytes": 4 << 20, "debug.disk_free_bytes": (4 << 20) - 1})
    st, j = get_json(s.md_port, "/readyz")
    check(st == 503 and "less free than a journal segment" in j.get("reason", ""), f"readyz: {st} {j}")
    check(TS.metric(s, "xt_ready") == 0, "xt_ready")
    check(TS.metric(s, "xt_journal_disk_free_bytes") == (4 << 20) - 1, "free bytes")
    t = W.start()
    check(get_json(t.md_port, "/readyz") == (200, {"status": "ok"}), "readyz with room")
    check(TS.metric(t, "xt_journal_disk_free_bytes") >= 64 << 20, "free bytes with room")


@test
def test_health_and_errors():
    """/healthz and /readyz answer 200 {"status":"ok"} once the server has
    recovered; an unknown path is a JSON 404, another method a 405; the
    WebSocket path without an upgrade keeps its 426."""
    s = W.start()
    check(get_json(s.md_port, "/healthz") == (200, {"status": "ok"}), "healthz")
    check(get_json(s.md_port, "/readyz") == (200, {"status": "ok"}), "readyz after recovery")
    check(get_json(s.md_port, "/readyz?verbose=1") == (200, {"status": "ok"}), "a query string is ignored")
    st, j = get_json(s.md_port, "/nothing/here")
    check(st == 404 and j["status"] == "not found" and "reason" in j, f"404: {st} {j}")
    h = Http(s.md_port)
    h.send("POST", "/metrics", body=b"x=1")
    st, hdrs, body = h.response()
    check(st == 405 and json.loads(body)["status"] == "method not allowed", f"405: {st} {body!r}")
    check(h.closed(), "a request with a body is answered, then the connection closed")
    h.close()
    for path in ("/api/v1/ticker?symbol=BTC-USDT", "/api/v1/instruments", "/api/v1/nothing"):
        h = Http(s.md_port)  # a REST path that takes no body: the same (it was kept alive, a probe found)
        h.send("GET", path, body=b"abc")
        st, hdrs, body = h.response()
        check(st in (200, 404) and h.closed(), f"GET {path} with a body: {st}, answered then closed")
        h.close()
    h = Http(s.md_port)
    st, _, _ = h.get("/ws")
    check(st == 426, f"GET /ws without an upgrade: {st}")
    check(h.closed(), "426 closes")
    h.close()


@test
def test_head_limits_are_as_documented():
    """The limits of a request head (docs/http.md): the head within
    md.max_message and 8192 bytes, the target within 2048, its path and its
    query within 511 each - one byte more is a 431 and a close."""
    s = W.start({"md.max_message": 65536})
    pad = "X-Pad: " + "p" * 200

    def status(target, headers=()):
        h = Http(s.md_port)
        h.send("GET", target, headers)
        st, _, body = h.response()
        check(st != 431 or (json.loads(body)["msg"] == "request head too large" and h.closed()), f"431 {body!r}")
        h.close()
        return st

    path = "/" + "a" * 510  # 511 bytes
    for target, want in [(path, 404), (path + "a", 431),
                         ("/healthz?" + "q" * 511, 200), ("/healthz?" + "q" * 512, 431),
                         ("/healthz?" + "&".join(["q=" + "v" * 60] * 8) + "#" + "f" * 1530, 200),
                         ("/healthz?q#" + "f" * 2038, 431)]:
        check(status(target) == want, f"{len(target)}-byte target, {target[:20]}...: not {want}")
    # 37 pads of 209 bytes and the rest: just within 8192, then just past it, md.max_message far above
    base = len("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    fill = 8192 - base - 37 * (len(pad) + 2) - 2 - len("X-Last: ")
    for extra, want in [(0, 200), (1, 431)]:
        hs = [pad] * 37 + ["X-Last: " + "z" * (fill + extra)]
        check(status("/healthz", hs) == want, f"a head of {8192 + extra} bytes: not {want}")


@test
def test_a_slow_reader_of_its_answers_is_not_idle():
    """md.http_idle_ms counts from the last bytes written, not from the
    last answer queued: a client that reads a long backlog of answers
    (here 20 pipelined /metrics, some 370 KB, read slowly) gets every one
    (a review saw it closed after a second, 2 of 40 begun) - and one that
    reads nothing is still closed."""
    s = W.start({"md.http_idle_ms": 1000, "md.ping_ms": 100})
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.md_port))
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", s.md_port))
    stuck.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
    got, t0 = b"", time.monotonic()
    c.settimeout(10)
    while got.count(b"HTTP/1.1 200") < 20 or not got.endswith(b"\n"):
        time.sleep(0.05)  # the pace of a slow reader (not a wait for the server)
        d = c.recv(16384)
        check(d, f"closed after {time.monotonic() - t0:.1f} s, {got.count(b'HTTP/1.1 200')} answers begun")
        got += d
    took = time.monotonic() - t0
    check(took > 1.5, f"read in {took:.1f} s: not slower than md.http_idle_ms, the test proves nothing")
    c.close()
    stuck.settimeout(10)  # it read nothing for as long: closed (its answers dropped), not held for ever
    try:
        while stuck.recv(65536):
            pass
    except ConnectionResetError:
        pass
    check(time.monotonic() - t0 < 12, "the connection that read nothing was not closed")
    stuck.close()


@test
def test_host_header_and_allow():
    """RFC 9112 3.2: an HTTP/1.1 request without Host, or any with two, is
    a 400 and a close (HTTP/1.0 needs none); RFC 9110 15.5.6: every 405
    names what its target takes in Allow - plain endpoints, public REST and
    fills (refused before the signature is read; orders: test_rest_orders)."""
    s = W.start()

    def raw(req):
        c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
        c.sendall(req)
        got = W.read_to_end(c)  # every one of these closes
        c.close()
        return got

    for req, want in [(b"GET /healthz HTTP/1.1\r\n\r\n", b"needs a Host header"),
                      (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"more than one Host"),
                      (b"GET /healthz HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", b"more than one Host"),
                      (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                       b"needs a Host header")]:
        got = raw(req)
        check(got.startswith(b"HTTP/1.1 400") and want in got, f"{req!r}: {got!r}")
    got = raw(b"GET /healthz HTTP/1.0\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 200"), f"HTTP/1.0 without Host: {got!r}")
    got = raw(b"GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 200"), f"an empty Host is one Host (RFC 9112 3.2): {got!r}")
    h = Http(s.md_port)
    for method, path, allow in [("POST", "/metrics", "GET"), ("DELETE", "/healthz", "GET"),
                                ("PUT", "/api/v1/depth?symbol=BTC-USDT", "GET"), ("POST", "/api/v1/fills", "GET")]:
        h.send(method, path)
        st, hdrs, _ = h.response()
        check(st == 405 and hdrs.get("allow") == allow, f"{method} {path}: {st} {hdrs}")
    h.close()


@test
def test_a_trickled_request_is_cut_off():
    """A request whose head (or body) comes a byte at a time is answered
    408 and closed once md.http_idle_ms has passed since its first byte,
    however steadily the bytes come (a slow-request attack held such a
    connection for hours: each byte made it less idle)."""
    s = W.start({"md.http_idle_ms": 1000, "md.ping_ms": 100})
    for start, drip in [(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Pad: " + b"p" * 100),
                        (b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n", b"{" * 200)]:
        c = socket.create_connection(("127.0.0.1", s.md_port), timeout=10)
        c.sendall(start)
        t0, got = time.monotonic(), b""
        for b in drip:
            time.sleep(0.1)  # the attacker's pace (not a wait for the server)
            try:
                c.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            c.setblocking(False)
            try:
                got += c.recv(4096)
            except BlockingIOError:
                pass
            c.setblocking(True)
            if got:
                break
        took = time.monotonic() - t0
        got += W.read_to_end(c)
        c.close()
        check(got.startswith(b"HTTP/1.1 408") and b"md.http_idle_ms" in got, f"{start[:20]!r}: {got!r}")
        check(0.9 < took < 5, f"{start[:20]!r}: answered after {took:.1f} s, md.http_idle_ms 1 s")


@test
def test_keep_alive():
    """Several requests on one connection, one after the other and
    pipelined in one write; `Connection: close` is answered and closes;
    after plain requests the same connection can still become a WebSocket."""
    s = W.start()
    h = Http(s.md_port)
    for path in ("/healthz", "/readyz", "/metrics", "/nope", "/healthz"):
        st, hdrs, _ = h.get(path)
        check(hdrs.get("connection") == "keep-alive", f"{path}: {st} {hdrs}")
    h.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
    check(h.response()[0] == 200 and h.response()[0] == 200, "pipelined requests")
    # a HEAD is answered with the head alone (RFC 9110), whatever the answer: the next answer on the
    # connection starts right after it. The 405s once carried their body, read as the next answer's start.
    for path in ("/healthz", "/api/v1/depth?symbol=BTC-USDT", "/nope", "/api/v1/orders"):
        h.sock.sendall(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        while h.buf.count(b"\r\n\r\n") < 2 or not h.buf.endswith(b"\n"):
            h._fill()
        head, rest = h.buf.split(b"\r\n\r\n", 1)
        check(rest.startswith(b"HTTP/1.1 200") and b"content-length" in head.lower(),
              f"HEAD {path}: after its head {rest[:60]!r}")
        h.buf = rest
        check(h.response()[0] == 200, f"the GET after HEAD {path}")
    # ... also the answers that close the connection: a HEAD of the WebSocket path (426) is the head alone
    g = Http(s.md_port)
    g.sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    got = W.read_to_end(g.sock)
    check(got.startswith(b"HTTP/1.1 426") and got.endswith(b"\r\n\r\n") and got.count(b"\r\n\r\n") == 1,
          f"HEAD / answered {got!r}")
    g.close()
    st, hdrs, _ = h.get("/healthz", ["Connection: close"])
    check(st == 200 and hdrs.get("connection") == "close", f"Connection: close answered {hdrs}")
    check(h.closed(), "closed after a Connection: close request")
    h.close()
    h = Http(s.md_port)
    check(h.get("/healthz")[0] == 200, "healthz before the upgrade")
    h.send("GET", "/ws", ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
    while b"\r\n\r\n" not in h.buf:
        h._fill()
    check(h.buf.startswith(b"HTTP/1.1 101"), f"upgrade after a plain request: {h.buf[:80]!r}")
    vals, _ = parse_metrics(scrape(s.md_port))
    check(value(vals, "xt_connections", protocol="md_ws") == 1, "the upgraded connection counts as md_ws")
    h.close()
    wait_metric(s.md_port, lambda v: value(v, "xt_connections_closed_total", protocol="md_ws") == 1, "ws closed")


@test
def test_pipelined_requests_wait_for_the_reader():
    """A client that pipelines faster than it reads is slowed down, not cut
    off: 300 GET /metrics (tens of KB each) sent at once at md.output_limit
    64 KiB are all answered whole, and the connection stays open. The server reads and serves no more of
    them while the answers queued fill half the limit (docs/http.md), so
    what piles up stays bounded. Before, the first answer over the limit
    closed the connection and every answer still queued was lost (a few of
    300 came)."""
    s = W.start({"md.output_limit": 65536, "md.send_buffer": 4096})
    h = Http(s.md_port)  # (a small SO_RCVBUF here makes loopback TCP wait for window probes: seconds)
    n = 300  # read ~117 at a time (md.max_message, 4 KiB): their answers pile up before any is written
    h.sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    for k in range(n):
        st, _, body = h.response()
        check(st == 200 and body.endswith(b"\n") and b"# TYPE xt_up gauge" in body, f"answer {k}: {st}")
    check(h.get("/healthz")[0] == 200, "the connection after the 300")
    h.close()


@test
def test_an_upgrade_waits_behind_pipelined_answers():
    """A WebSocket upgrade pipelined behind three REST depths of a deep book
    (~200 KB each, each over md.output_limit 64 KiB) waits, as any
    request, until they are written, then gets its 101. Before, it was
    served at once, its 101 did not fit, and it got 503 "server busy" and a
    close (a probe)."""
    s = W.start({"md.output_limit": 65536, "md.send_buffer": 4096, "limits.rate": 1000000, "limits.burst": 1000000})
    n = 8000  # ~200 KB an answer: more than the client's TCP takes unread
    W.deep_book(s, n)
    h = Http.__new__(Http)  # a socket that takes little unread (segments within its window: no probes)
    h.sock, h.buf = socket.socket(), b""
    h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    h.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    h.sock.settimeout(10)
    h.sock.connect(("127.0.0.1", s.md_port))
    get = f"GET /api/v1/depth?symbol={W.SYM}&limit={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    up = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    h.sock.sendall(get * 3 + up)
    check(h.sock.recv(1, socket.MSG_PEEK) != b"", "an answer")
    for k in range(3):
        st, _, body = h.response()
        check(st == 200 and len(json.loads(body)["bids"]) == n, f"depth {k}: {st}")
    while b"\r\n\r\n" not in h.buf:
        h._fill()
    check(h.buf.startswith(b"HTTP/1.1 101"), f"the upgrade: {h.buf[:60]!r}")
    h.close()


@test
def test_a_stop_ends_a_waiting_pipeline():
    """SIGTERM while a connection's pipelined requests wait for it to read
    its answers (md.output_limit 64 KiB, 300 GET /metrics): once the port
    has closed the client reads, and gets the answers queued, whole, then
    the end (a FIN) - not a reset at the stop's 2 s bound, which it got
    when the queue drained with its requests left waiting (a review)."""
    s = W.start({"md.output_limit": 65536, "md.send_buffer": 4096})
    h = Http(s.md_port)
    h.sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 300)
    check(h.sock.recv(1, socket.MSG_PEEK) != b"", "an answer")
    s.proc.send_signal(signal.SIGTERM)
    W.wait_port_closed(s.md_port)
    got = 0
    try:
        while True:
            st, _, body = h.response()
            check(st == 200 and b"# TYPE xt_up gauge" in body, f"answer {got}: {st}")
            got += 1
    except EOFError:
        pass
    except ConnectionResetError:
        check(False, f"reset after {got} answers")
    check(0 < got < 300 and h.buf == b"", f"{got} answers, {len(h.buf)} bytes of one cut")
    check(s.proc.wait(15) == 0, "exit status")
    h.close()


@test
def test_metrics_move():
    """Every documented series is there, valid for promtool; commands,
    rejects, trades, connections, fsyncs and the book gauges follow what
    the orders did."""
    s = W.start()
    port = s.md_port
    text = scrape(port)
    promtool(text)
    vals, types = parse_metrics(text)
    doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../docs/metrics.md")).read()
    for name in types:
        check(f"`{name}`" in doc, f"{name} is not described in docs/metrics.md")
    for name in re.findall(r"^\| `(xt_[a-z_]+)`", doc, re.M):
        check(name in types, f"docs/metrics.md lists {name}, /metrics has no such family")
    check(value(vals, "xt_up") == 1 and value(vals, "xt_ready") == 1, "up and ready")
    check(value(vals, "xt_trades_total") == 0, "no trades yet")
    fsyncs0 = value(vals, "xt_journal_fsyncs_total")
    ws = ws_subscribe(port, "trades.BTC-USDT")
    vals, _ = parse_metrics(scrape(port))
    check(value(vals, "xt_md_send_lag_seconds_count") == 0, "a snapshot is not a live update: not timed")

    A, B, btc = one_trade(s.port)
    check(ws.read_text().get("ch") == "trades.BTC-USDT", "the trade on the WebSocket")
    check(B.answer(B.cancel(orig_clordid=999999)).type == X.REJECTED, "cancel of an unknown order")
    check(B.answer(B.new_order(btc, X.BUY, 100000, 1, clordid=1)).type == X.REJECTED, "duplicate clordid")

    def moved(v):
        return (value(v, "xt_resting_orders", symbol="BTC-USDT") == 2 and
                value(v, "xt_price_levels", symbol="BTC-USDT") == 2)
    vals = wait_metric(port, moved, "two resting orders on two levels")
    check(value(vals, "xt_commands_total", type="new") == 4, "4 NEW_ORDERs")
    check(value(vals, "xt_commands_total", type="cancel") == 1, "1 CANCEL")
    check(value(vals, "xt_commands_total", type="amend") == 0, "no AMEND")
    check(value(vals, "xt_trades_total") == 1, "one trade")
    check(value(vals, "xt_rejects_total", reason="UNKNOWN_ORDER") == 1, "UNKNOWN_ORDER reject")
    check(value(vals, "xt_rejects_total", reason="DUPLICATE_CLORDID") == 1, "DUPLICATE_CLORDID reject")
    check(value(vals, "xt_connections", protocol="order_entry") == 2, "2 order-entry connections")
    check(value(vals, "xt_connections_opened_total", protocol="order_entry") == 2, "2 opened")
    check(value(vals, "xt_order_entry_bytes_received_total") > 0, "bytes in")
    check(value(vals, "xt_order_entry_bytes_sent_total") > 0, "bytes out")
    check(value(vals, "xt_journal_fsyncs_total") > fsyncs0, "the batches were synced")
    check(value(vals, "xt_journal_fsync_seconds_count") > 0, "fsync durations")
    check(value(vals, "xt_md_lag_seconds_count") > 0, "market-data lag recorded")
    check(value(vals, "xt_md_lag_seconds_bucket", le="+Inf") == value(vals, "xt_md_lag_seconds_count"), "+Inf")
    check(value(vals, "xt_seconds_since_snapshot") >= 0, "snapshot age")
    check(value(vals, "xt_order_ack_latency_seconds_count") > 0, "acknowledgement latency sampled")
    check(value(vals, "xt_engine_batch_seconds_count") > 0, "engine batch time")
    n_cmd = value(vals, "xt_engine_command_seconds_count")
    check(0 < n_cmd <= value(vals, "xt_engine_batch_seconds_count"), "engine command time: one sample per batch")
    check(value(vals, "xt_engine_command_seconds_bucket", le="+Inf") == n_cmd, "command +Inf")
    check(value(vals, "xt_engine_command_seconds_bucket", le="0.0000001") <= n_cmd, "ns buckets")
    check(value(vals, "xt_md_send_lag_seconds_count") == 1, "one live trades message written to one subscriber")
    check(value(vals, "xt_md_send_lag_seconds_sum") < 10, "send lag sum in seconds")
    for ring in ("inbound", "outlog", "md_feed"):
        check(value(vals, "xt_ring_depth", ring=ring) >= 0, f"ring {ring}")
    check(value(vals, "xt_journal_unsynced_records") == 0, "fsync=batch: nothing left unsynced")
    check(value(vals, "xt_md_bytes_sent_total") > 0, "md bytes sent (the scrapes' answers)")
    A.close()
    B.close()
    ws.close()
    vals = wait_metric(port, lambda v: value(v, "xt_connections_closed_total", protocol="order_entry") == 2,
                       "order-entry connections closed")
    check(value(vals, "xt_connections", protocol="order_entry") == 0, "no order-entry connections")
    promtool(scrape(port))


@test
def test_every_sync_is_timed():
    """xt_journal_fsync_seconds has a sample for each sync that
    xt_journal_fsyncs_total counts, the syncs of rolls and new segments'
    headers within a batch's write too (64 KiB segments: hundreds of rolls
    in a second of load), and each command's under journal.fsync=always."""
    def settled():
        # the two series are published one after the other, and a scrape
        # between the two reads one ahead (CI under ASan once read 3748
        # against 3747): a pair is read once two scrapes in a row agree
        deadline, last = time.monotonic() + 10, None
        while True:
            vals, _ = parse_metrics(scrape(s.md_port))
            pair = value(vals, "xt_journal_fsyncs_total"), value(vals, "xt_journal_fsync_seconds_count")
            if pair == last:
                return pair
            check(time.monotonic() < deadline, f"the sync counts did not settle: {last} then {pair}")
            last = pair
            time.sleep(0.05)

    s = W.start({"journal.segment_bytes": 65536})
    fsyncs0, count0 = settled()
    segments = 0
    for _ in range(5):  # load until there are rolls enough to tell (a busy machine makes fewer a second)
        W.loadgen(s, seconds=1)
        segments = len([f for f in os.listdir(s.data) if f.startswith("wal-") and f.endswith(".log")])
        if segments > 20:
            break
    fsyncs, count = settled()
    print(f"  {fsyncs - fsyncs0:.0f} syncs, {count - count0:.0f} timed, {segments} segments")
    check(segments > 20, f"only {segments} segments: too few rolls to tell")
    check(fsyncs - fsyncs0 == count - count0, f"{fsyncs - fsyncs0} syncs, {count - count0} timed")
    s.stop()
    # journal.fsync=always: a sync per command, and batches of more than 64 commands (256 in flight):
    # once only the last 64 syncs of a batch were timed (a probe: 323 of 1281)
    s = W.start({"journal.fsync": "always"})
    fsyncs0, count0 = settled()
    W.loadgen(s, seconds=1, conns=16, pipeline=16)
    fsyncs, count = settled()
    print(f"  always: {fsyncs - fsyncs0:.0f} syncs, {count - count0:.0f} timed")
    check(fsyncs - fsyncs0 > 1000 and fsyncs - fsyncs0 == count - count0,
          f"always: {fsyncs - fsyncs0} syncs, {count - count0} timed")
    s.stop()


@test
def test_not_ready_while_stopping():
    """After SIGTERM, while the engine finishes its last batch, /readyz
    answers 503 {"status":"not ready","reason":"shutting down"} on a
    kept-alive connection, and xt_ready is 0. The engine is held 1 s after
    each batch (debug.engine_delay_us), so that window is certain."""
    s = W.start({"debug.engine_delay_us": 1000000})
    h = Http(s.md_port)
    check(h.get("/readyz")[0] == 200, "ready before")
    A = TS.login(s.port, 1001, 1)
    check(A.place(A.inst["BTC-USDT"], X.BUY, 1000, 1).type == X.ACCEPTED, "an order: the engine now sleeps 1 s")
    s.proc.send_signal(TS.signal.SIGTERM)
    end = time.monotonic() + 0.9
    while True:
        st, _, body = h.get("/readyz")
        if st == 503:
            break
        check(time.monotonic() < end, "still ready 0.9 s after SIGTERM")
    check(json.loads(body) == {"status": "not ready", "reason": "shutting down"}, f"503 body {body!r}")
    vals, _ = parse_metrics(scrape(s.md_port, h))
    check(value(vals, "xt_ready") == 0, "xt_ready 0 while stopping")
    check(s.proc.wait(30) == 0, "clean exit")
    h.close()
    A.close()


@test
def test_snapshot_metrics_and_prefault():
    """The snapshot series count this process's snapshots and time the
    last one's fork (docs/metrics.md); engine.prefault (on by default)
    faults the fixed tables in at start - the engine's pools, the sessions'
    tables, the message log, the rings: hundreds of MB at the default
    capacities - and off leaves them to be touched as used."""
    s = W.start()
    vals, _ = parse_metrics(scrape(s.md_port))
    check(value(vals, "xt_journal_snapshots_total") == 0, "no snapshot yet")
    check(value(vals, "xt_journal_snapshot_fork_seconds") == 0, "no fork yet")
    for n in (1, 2):
        s.proc.send_signal(TS.signal.SIGUSR1)
        vals = wait_metric(s.md_port, lambda v: value(v, "xt_journal_snapshots_total") == n, f"snapshot {n} counted")
        check(0 < value(vals, "xt_journal_snapshot_fork_seconds") < 5, f"fork timed: {vals}")
    check(value(vals, "xt_journal_snapshot_failures_total") == 0, "no failure")
    on = TS.rss_kb(s.proc.pid)
    off = W.start({"engine.prefault": "off"})
    lazy = TS.rss_kb(off.proc.pid)
    check(on - lazy > 250 * 1024, f"prefault on: {on} kB resident, off: {lazy} kB")
    off.stop()
    s.stop()


def proc_fields(pid):
    """What the kernel says of process pid, for the process_* series: {name: value}."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k == "AnonHugePages":
                out["huge"] = int(rest.split()[0]) * 1024
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()  # from field 3 (state) on
    hz = os.sysconf("SC_CLK_TCK")
    out["cpu"] = (int(v[11]) + int(v[12])) / hz  # utime, stime: whole ticks, rounded down
    out["threads"] = int(v[17])
    out["virtual"] = int(v[20])
    out["resident"] = int(v[21]) * os.sysconf("SC_PAGESIZE")
    with open(f"/proc/{pid}/limits") as f:
        out["max_fds"] = int(next(ln for ln in f if ln.startswith("Max open files")).split()[3])
    return out


@test
def test_process_metrics():
    """The process_* series every Prometheus client exports, and the part
    of memory on huge pages, agree with what /proc says of the server,
    read just before and just after the scrape: each value between the two
    readings (memory within 2 MiB of them, CPU time within three clock ticks),
    the start time between the test's clock before the start and after
    it; and CPU time grows with load."""
    before = time.time()
    s = W.start()
    after = time.time()
    k0 = proc_fields(s.proc.pid)
    text = scrape(s.md_port)
    k1 = proc_fields(s.proc.pid)
    vals, types = parse_metrics(text)
    for name, typ in (("process_cpu_seconds_total", "counter"), ("process_resident_memory_bytes", "gauge"),
                      ("process_virtual_memory_bytes", "gauge"), ("process_start_time_seconds", "gauge"),
                      ("process_max_fds", "gauge"), ("process_threads", "gauge"),
                      ("xt_memory_huge_pages_bytes", "gauge")):
        check(types.get(name) == typ, f"{name}: TYPE {types.get(name)}, want {typ}")

    def between(name, key, slack):
        lo, hi = sorted((k0[key], k1[key]))
        got = value(vals, name)
        check(lo - slack <= got <= hi + slack, f"{name} {got}, /proc says {k0[key]} before and {k1[key]} after")
    mib, tick = 1 << 20, 1 / os.sysconf("SC_CLK_TCK")
    between("process_resident_memory_bytes", "resident", 2 * mib)
    between("process_virtual_memory_bytes", "virtual", 2 * mib)
    between("xt_memory_huge_pages_bytes", "huge", 2 * mib)
    between("process_threads", "threads", 0)
    between("process_max_fds", "max_fds", 0)
    # /proc's utime and stime are whole ticks, each rounded down, from the same adjusted times getrusage reads
    between("process_cpu_seconds_total", "cpu", 3 * tick)
    check(value(vals, "process_resident_memory_bytes") > 100 * mib, f"prefaulted tables resident: {vals}")
    check(value(vals, "xt_memory_huge_pages_bytes") <= value(vals, "process_resident_memory_bytes"), "huge <= rss")
    start = value(vals, "process_start_time_seconds")
    check(before - 1 <= start <= after + 1, f"start time {start}, test's clock {before} .. {after}")
    cpu0 = value(vals, "process_cpu_seconds_total")
    W.loadgen(s, seconds=1)
    cpu1 = value(parse_metrics(scrape(s.md_port))[0], "process_cpu_seconds_total")
    check(cpu1 > cpu0 + 0.05, f"CPU time under load: {cpu0} then {cpu1}")
    s.stop()


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
