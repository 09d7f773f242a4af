#!/usr/bin/python3
"""xtclient.py - a client for the xtrading binary order-entry protocol
(version 1), written from docs/protocol.md alone. Standard library only.

    c = Conn(port)                       # connects, reads HELLO
    acc = c.login(1001, "demo1001", "demo-secret-1001", session=1)
    cl = c.new_order(c.inst["BTC-USDT"], BUY, 100000, 5)
    m = c.wait(lambda m: m.name == "ACCEPTED" and m.clordid == cl)

Every decoded server message is a Msg: a dict with attribute access holding
`type`, `name`, `flags`, `seq`, `sequenced`, `len` and the body fields named
as in docs/protocol.md. A Conn checks the session sequence numbers of what it
receives after login: sequenced messages must be contiguous, unsequenced ones
must carry the last sequenced number (AssertionError otherwise).

The module also has frame encoders and decoders usable without a Conn
(encode_*, decode, FrameReader, sign) and a test of itself against the byte
tables of the doc: `python3 xtclient.py selftest`.
"""
import collections
import hashlib
import hmac
import select
import socket
import struct
import time

VERSION = 1
HEADER = struct.Struct("<HBBIQ")  # len, type, flags, reserved, seq
HEADER_LEN = 16
SEQUENCED = 0x01

# client -> server
LOGIN, HEARTBEAT, NEW_ORDER, CANCEL, AMEND, MASS_CANCEL, ORDER_STATUS, LOGOUT, AMEND_CHECKED = range(1, 10)
# server -> client
HELLO, LOGIN_ACCEPTED, LOGIN_REJECTED, INSTRUMENT, SRV_HEARTBEAT, ERROR, STATUS_REPLY, \
    MASS_CANCEL_ACK, LOGOUT_ACK = range(0x81, 0x8A)
ACCEPTED, REJECTED, FILL, CANCELED, AMENDED = range(0x90, 0x95)

BUY, SELL = 0, 1
LIMIT, MARKET = 0, 1
TIF_DEFAULT, GTC, IOC, FOK, POST = range(5)
STP_DEFAULT, STP_NONE, STP_CN, STP_CO, STP_CB = range(5)
ALL_INSTRUMENTS = 0xFFFFFFFF
LOGIN_CANCEL_ON_DISCONNECT = 0x0001
MAKER, TAKER = 1, 2
STATUS_UNKNOWN, STATUS_OPEN = 0, 1

REASONS = {
    1: "UNKNOWN_SYMBOL", 2: "DUPLICATE_ID", 3: "INVALID_TIF", 4: "INVALID_QTY", 5: "INVALID_PRICE",
    6: "PRICE_BAND", 7: "UNKNOWN_ORDER", 8: "NOT_OWNER", 9: "POST_ONLY", 10: "CAPACITY", 11: "USER",
    12: "IOC", 13: "FOK", 14: "MARKET", 15: "STP",
    64: "RATE_LIMIT", 65: "OVERLOADED", 66: "DUPLICATE_CLORDID", 67: "NOT_LOGGED_IN", 68: "HALTED",
    69: "SHUTTING_DOWN", 70: "OPEN_ORDER_LIMIT", 71: "JOURNAL_FAILED", 72: "INVALID_FIELD",
    73: "UNKNOWN_INSTRUMENT",
    74: "WRONG_INSTRUMENT",
}
LOGIN_REASONS = {
    1: "BAD_VERSION", 2: "UNKNOWN_KEY", 3: "BAD_SIGNATURE", 4: "CLOCK_SKEW", 5: "RESUME_TOO_OLD",
    6: "RESUME_AHEAD", 7: "TOO_MANY_SESSIONS", 8: "SHUTTING_DOWN", 9: "ALREADY_LOGGED_IN", 10: "BAD_FIELD",
    11: "SESSION_LIMIT",
}
ERRORS = {
    1: "MALFORMED", 2: "FRAME_TOO_LARGE", 3: "UNKNOWN_TYPE", 4: "LOGIN_TIMEOUT", 5: "HEARTBEAT_TIMEOUT",
    6: "SLOW_CONSUMER", 7: "RESYNC", 8: "SHUTDOWN", 9: "TAKEN_OVER", 10: "LOGGED_OUT", 11: "KICKED",
    12: "TOO_MANY_CONNECTIONS",
}
R = {v: k for k, v in REASONS.items()}
LR = {v: k for k, v in LOGIN_REASONS.items()}
E = {v: k for k, v in ERRORS.items()}


class Msg(dict):
    """A decoded message: a dict whose keys are also attributes."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __repr__(self):
        skip = ("type", "len", "flags", "name", "sequenced", "reserved")
        body = " ".join(f"{k}={v!r}" for k, v in self.items() if k not in skip and not k.startswith("_"))
        return f"<{self.get('name')} {'S' if self.get('sequenced') else 'u'} {body}>"


# ---------------------------------------------------------------------------
# Message layouts. Each: type -> (name, total len, body struct, field names).
# A field named "_" is reserved/padding.

def _layout(name, ln, fmt, fields):
    st = struct.Struct("<" + fmt)
    assert HEADER_LEN + st.size == ln, (name, HEADER_LEN + st.size, ln)
    assert len(fields) == len(st.unpack(bytes(st.size))), name
    return (name, ln, st, fields)


CLIENT_LAYOUTS = {
    LOGIN: _layout("LOGIN", 104, "HHI16sIIQq32sQ",
                   ["version", "login_flags", "account", "key_id", "session", "heartbeat_ms",
                    "resume_from", "timestamp_ns", "signature", "_"]),
    HEARTBEAT: _layout("HEARTBEAT", 16, "", []),
    NEW_ORDER: _layout("NEW_ORDER", 56, "QIBBBBqqQ",
                       ["clordid", "instrument", "side", "ord_type", "tif", "stp", "price", "qty", "_"]),
    CANCEL: _layout("CANCEL", 40, "QQq", ["clordid", "orig_clordid", "order_id"]),
    AMEND: _layout("AMEND", 56, "QQqqq", ["clordid", "orig_clordid", "order_id", "price", "qty"]),
    AMEND_CHECKED: _layout("AMEND_CHECKED", 64, "QQqqqII",
                           ["clordid", "orig_clordid", "order_id", "price", "qty", "instrument", "_"]),
    MASS_CANCEL: _layout("MASS_CANCEL", 32, "QII", ["request_id", "instrument", "_"]),
    ORDER_STATUS: _layout("ORDER_STATUS", 40, "QQq", ["request_id", "orig_clordid", "order_id"]),
    LOGOUT: _layout("LOGOUT", 16, "", []),
}

SERVER_LAYOUTS = {
    HELLO: _layout("HELLO", 48, "HHI16sq", ["version", "_", "heartbeat_ms", "nonce", "server_time"]),
    LOGIN_ACCEPTED: _layout("LOGIN_ACCEPTED", 56, "IIQQQII",
                            ["session", "heartbeat_ms", "next_seq", "resume_from", "last_clordid",
                             "instrument_count", "_"]),
    LOGIN_REJECTED: _layout("LOGIN_REJECTED", 32, "HHIQ", ["reason", "_", "_", "oldest_seq"]),
    INSTRUMENT: _layout("INSTRUMENT", 96, "IBB2s16sqqqqqqBB6s",
                        ["instrument", "has_band", "status", "_", "symbol", "tick_m", "lot_m", "min_qty", "max_qty",
                         "band_low", "band_high", "tick_scale", "lot_scale", "_"]),
    SRV_HEARTBEAT: _layout("HEARTBEAT", 16, "", []),
    ERROR: _layout("ERROR", 80, "H62s", ["code", "text"]),
    STATUS_REPLY: _layout("STATUS_REPLY", 88, "QqQIBBBBqqq16s",
                          ["request_id", "order_id", "clordid", "instrument", "status", "side", "ord_type",
                           "tif", "price", "remaining", "filled", "_"]),
    MASS_CANCEL_ACK: _layout("MASS_CANCEL_ACK", 32, "QII", ["request_id", "count", "_"]),
    LOGOUT_ACK: _layout("LOGOUT_ACK", 16, "", []),
    ACCEPTED: _layout("ACCEPTED", 64, "QqIBBBBqqq",
                      ["clordid", "order_id", "instrument", "side", "ord_type", "tif", "stp", "price", "qty",
                       "ts"]),
    REJECTED: _layout("REJECTED", 48, "QqHBBIq",
                      ["clordid", "order_id", "reason", "request_type", "_", "instrument", "ts"]),
    FILL: _layout("FILL", 80, "QqQIBBHqqqq",
                  ["clordid", "order_id", "trade_id", "instrument", "side", "liquidity", "_", "price", "qty",
                   "remaining", "ts"]),
    CANCELED: _layout("CANCELED", 64, "QqIBBHqQq",
                      ["clordid", "order_id", "instrument", "side", "_", "reason", "qty", "request_clordid",
                       "ts"]),
    AMENDED: _layout("AMENDED", 72, "QqQqqB3sIq",
                     ["clordid", "order_id", "orig_clordid", "price", "qty", "kept_priority", "_", "instrument",
                      "ts"]),
}
SEQUENCED_TYPES = (ACCEPTED, REJECTED, FILL, CANCELED, AMENDED)  # REJECTED only sometimes


class ProtocolError(Exception):
    """The server sent something the doc does not allow (bad length/type)."""


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


def header(ln, typ, flags=0, seq=0, reserved=0):
    return HEADER.pack(ln, typ, flags, reserved, seq)


def _cstr(s, n):
    b = s.encode("ascii") if isinstance(s, str) else bytes(s)
    if len(b) > n:
        raise ValueError(f"{s!r} longer than {n}")
    return b.ljust(n, b"\0")


def encode(typ, **f):
    """Encodes a client->server message (or a server one, for tests) from
    its field values; missing fields are 0."""
    name, ln, st, fields = CLIENT_LAYOUTS.get(typ) or SERVER_LAYOUTS[typ]
    out = []
    for fn, c in zip(fields, _codes(st)):
        v = 0 if fn == "_" else f.get(fn, 0)
        if c.endswith("s"):
            out.append(_cstr(v, int(c[:-1])) if v else b"")
        else:
            out.append(v)
    return header(ln, typ, f.get("_flags", 0), f.get("_seq", 0), f.get("_reserved", 0)) + st.pack(*out)


def _codes(st):
    """Splits a struct format into one code per value: 'HH16sQ' -> H H 16s Q."""
    codes, num = [], ""
    for ch in st.format.lstrip("<"):
        if ch.isdigit():
            num += ch
        elif ch == "s":
            codes.append(num + "s")
            num = ""
        else:
            codes.extend([ch] * (int(num) if num else 1))
            num = ""
    return codes


def decode(frame):
    """Decodes one whole server->client frame into a Msg."""
    if len(frame) < HEADER_LEN:
        raise ProtocolError(f"frame of {len(frame)} bytes")
    ln, typ, flags, reserved, seq = HEADER.unpack_from(frame)
    lay = SERVER_LAYOUTS.get(typ)
    if lay is None:
        raise ProtocolError(f"unknown server message type 0x{typ:02x} (len {ln}): {bytes(frame).hex()}")
    name, want, st, fields = lay
    if ln != want or len(frame) != want:
        raise ProtocolError(f"{name} with len {ln} (doc: {want}): {bytes(frame).hex()}")
    m = Msg(type=typ, name=name, len=ln, flags=flags, seq=seq, sequenced=bool(flags & SEQUENCED),
            reserved=reserved)
    for fn, v in zip(fields, st.unpack_from(frame, HEADER_LEN)):
        if fn == "_":
            continue
        if fn in ("symbol", "key_id"):
            v = v.rstrip(b"\0").decode("ascii", "replace")
        elif fn == "text":
            v = v.split(b"\0", 1)[0].decode("ascii", "replace")
        m[fn] = v
    if typ == REJECTED or typ == CANCELED:
        m["reason_name"] = REASONS.get(m.reason, f"?{m.reason}")
    elif typ == LOGIN_REJECTED:
        m["reason_name"] = LOGIN_REASONS.get(m.reason, f"?{m.reason}")
    elif typ == ERROR:
        m["code_name"] = ERRORS.get(m.code, f"?{m.code}")
    m["_raw"] = bytes(frame)
    return m


class FrameReader:
    """Splits a byte stream into frames by the header's len."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 2:
            ln = self.buf[0] | self.buf[1] << 8
            if ln < HEADER_LEN:
                raise ProtocolError(f"server frame len {ln}: {bytes(self.buf[:32]).hex()}")
            if len(self.buf) < ln:
                break
            out.append(decode(bytes(self.buf[:ln])))
            del self.buf[:ln]
        return out


# ---------------------------------------------------------------------------
# Login signature

def signing_key(secret):
    """K = SHA-256(secret); the credentials file holds K in hex."""
    return hashlib.sha256(secret.encode() if isinstance(secret, str) else secret).digest()


def sign_message(nonce, account, key_id, session, ts):
    assert len(nonce) == 16
    return b"XTLOGIN1" + bytes(nonce) + struct.pack("<I", account) + _cstr(key_id, 16) + \
        struct.pack("<I", session) + struct.pack("<q", ts)


def sign(secret, nonce, account, key_id, session, ts):
    return hmac.new(signing_key(secret), sign_message(nonce, account, key_id, session, ts),
                    hashlib.sha256).digest()


def encode_login(account, key_id, secret, session, nonce, resume_from=0, flags=0, heartbeat_ms=0,
                 ts=None, version=VERSION, signature=None):
    if ts is None:
        ts = time.time_ns()
    if signature is None:
        signature = sign(secret, nonce, account, key_id, session, ts)
    return encode(LOGIN, version=version, login_flags=flags, account=account, key_id=key_id, session=session,
                  heartbeat_ms=heartbeat_ms, resume_from=resume_from, timestamp_ns=ts, signature=signature)


def encode_new_order(clordid, instrument, side, price, qty, ord_type=LIMIT, tif=TIF_DEFAULT, stp=STP_DEFAULT):
    return encode(NEW_ORDER, clordid=clordid, instrument=instrument, side=side, ord_type=ord_type, tif=tif,
                  stp=stp, price=price, qty=qty)


def encode_cancel(clordid, orig_clordid=0, order_id=0):
    return encode(CANCEL, clordid=clordid, orig_clordid=orig_clordid, order_id=order_id)


def encode_amend(clordid, orig_clordid=0, order_id=0, price=0, qty=0):
    return encode(AMEND, clordid=clordid, orig_clordid=orig_clordid, order_id=order_id, price=price, qty=qty)


def encode_amend_checked(clordid, instrument, orig_clordid=0, order_id=0, price=0, qty=0):
    return encode(AMEND_CHECKED, clordid=clordid, orig_clordid=orig_clordid, order_id=order_id, price=price,
                  qty=qty, instrument=instrument)


def encode_mass_cancel(request_id, instrument=ALL_INSTRUMENTS):
    return encode(MASS_CANCEL, request_id=request_id, instrument=instrument)


def encode_status(request_id, orig_clordid=0, order_id=0):
    return encode(ORDER_STATUS, request_id=request_id, orig_clordid=orig_clordid, order_id=order_id)


def encode_heartbeat():
    return header(16, HEARTBEAT)


def encode_logout():
    return header(16, LOGOUT)


DEMO = {a: (f"demo{a}", f"demo-secret-{a}") for a in (1001, 1002, 1003, 1004)}


# ---------------------------------------------------------------------------
# A connection

class Conn:
    """One TCP connection. Received messages go to self.inbox (unconsumed)
    and self.log (everything, in order)."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0, read_hello=True, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.timeout = timeout
        self.reader = FrameReader()
        self.inbox = collections.deque()
        self.log = []
        self.closed = False
        self.hello = None
        self.accepted = None     # LOGIN_ACCEPTED
        self.instruments = []    # INSTRUMENT messages, in order
        self.inst = {}           # symbol -> instrument id
        self.last_seq = None     # last sequenced number seen (checked once logged in)
        self.clordid = 0         # last clordid used by this object
        self.req_id = 0
        self.account = self.session = None
        self.error_seq_ahead = None
        if read_hello:
            self.hello = self.expect(HELLO)

    # -- raw I/O --
    def send(self, data):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def abort(self):
        """Closes with RST (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def fileno(self):
        return self.sock.fileno()

    def _pump(self, timeout):
        """Reads what is available (waiting up to timeout); returns False on
        timeout with nothing read. Raises Closed at EOF."""
        if self.closed:
            raise Closed("connection closed")
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return False
        except (ConnectionResetError, ConnectionAbortedError) as e:
            self.closed = True
            raise Closed(f"reset: {e}") from None
        if not data:
            self.closed = True
            raise Closed("EOF")
        for m in self.reader.feed(data):
            self._check_seq(m)
            self.log.append(m)
            self.inbox.append(m)
        return True

    def _check_seq(self, m):
        if m.type == LOGIN_ACCEPTED:
            self.accepted = m
            ra = m.resume_from
            self.last_seq = (ra - 1) if ra else (m.next_seq - 1)
            self._login_tail = m.instrument_count
            return
        if self.last_seq is None or getattr(self, "_login_tail", 0) > 0 and m.type == INSTRUMENT:
            if m.type == INSTRUMENT:
                self._login_tail -= 1
            return
        if m.sequenced:
            if m.seq != self.last_seq + 1:
                raise AssertionError(f"sequence gap/dup: got seq {m.seq} after {self.last_seq}: {m!r}")
            self.last_seq = m.seq
        elif m.type == ERROR and m.seq > self.last_seq:
            # the doc says "the last sequenced message sent before it"; for an ERROR after messages were
            # dropped (SLOW_CONSUMER) the server reports the session's position instead: recorded, not fatal
            self.error_seq_ahead = (m.seq, self.last_seq)
        elif m.seq != self.last_seq:
            raise AssertionError(f"unsequenced {m.name} carries seq {m.seq}, last sequenced is {self.last_seq}:"
                                 f" {m!r}")

    def recv(self, timeout=None):
        """Next unconsumed message, or None on timeout."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while not self.inbox:
            if not self._pump(end - time.monotonic()) and time.monotonic() >= end:
                return None
        return self.inbox.popleft()

    def wait(self, pred, timeout=None, what=None):
        """Removes and returns the first unconsumed message matching pred,
        reading more as needed; AssertionError on timeout or close."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if pred(m):
                    del self.inbox[i]
                    return m
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timeout waiting for {what or 'a message'}; unconsumed: "
                                     f"{list(self.inbox)[-8:]}")
            try:
                self._pump(left)
            except Closed as e:
                raise AssertionError(f"connection closed ({e}) waiting for {what or 'a message'};"
                                     f" unconsumed: {list(self.inbox)[-8:]}") from None

    def expect(self, typ, timeout=None, **fields):
        """Waits for a message of a type with the given field values."""
        def pred(m):
            return m.type == typ and all(m.get(k) == v for k, v in fields.items())
        name = (SERVER_LAYOUTS[typ][0])
        return self.wait(pred, timeout, f"{name} {fields}")

    def answer(self, clordid, timeout=None):
        """The answer to a NEW_ORDER/CANCEL/AMEND: ACCEPTED, REJECTED, AMENDED
        or CANCELED with request_clordid == clordid."""
        def pred(m):
            return (m.type in (ACCEPTED, REJECTED, AMENDED) and m.clordid == clordid) or \
                (m.type == CANCELED and m.request_clordid == clordid)
        return self.wait(pred, timeout, f"answer to clordid {clordid}")

    def drain(self, quiet=0.2):
        """Reads until nothing arrives for `quiet` seconds; returns the
        messages read (also left unconsumed in inbox)."""
        n = len(self.log)
        while True:
            try:
                if not self._pump(quiet):
                    break
            except Closed:
                break
        return self.log[n:]

    def read_until_closed(self, timeout=None):
        """Reads until EOF; returns the messages that arrived. AssertionError
        if the connection is still open after timeout."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        n = len(self.log)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection not closed after {timeout}s; got {self.log[n:][-5:]}")
            try:
                self._pump(left)
            except Closed:
                return self.log[n:]

    # -- session --
    def login(self, account, key_id=None, secret=None, session=1, resume_from=0, flags=0, heartbeat_ms=0,
              ts=None, version=VERSION, signature=None, expect_ok=True, nonce=None):
        """Sends LOGIN. With expect_ok, waits for LOGIN_ACCEPTED and its
        INSTRUMENT messages and returns LOGIN_ACCEPTED (AssertionError on
        LOGIN_REJECTED); else returns the first LOGIN_* answer."""
        if key_id is None:
            key_id, secret = DEMO[account]
        self.account, self.session = account, session
        self.send(encode_login(account, key_id, secret, session, nonce or self.hello.nonce, resume_from, flags,
                               heartbeat_ms, ts, version, signature))
        m = self.wait(lambda m: m.type in (LOGIN_ACCEPTED, LOGIN_REJECTED, ERROR), None, "login answer")
        if not expect_ok:
            return m
        if m.type != LOGIN_ACCEPTED:
            raise AssertionError(f"login {account}/{session} failed: {m!r}")
        self.instruments = [self.expect(INSTRUMENT) for _ in range(m.instrument_count)]
        self.inst = {i.symbol: i.instrument for i in self.instruments}
        self.clordid = max(self.clordid, m.last_clordid)
        return m

    def next_clordid(self):
        self.clordid += 1
        return self.clordid

    def new_order(self, instrument, side, price, qty, ord_type=LIMIT, tif=TIF_DEFAULT, stp=STP_DEFAULT,
                  clordid=None):
        cl = self.next_clordid() if clordid is None else clordid
        self.send(encode_new_order(cl, instrument, side, price, qty, ord_type, tif, stp))
        return cl

    def cancel(self, orig_clordid=0, order_id=0, clordid=None):
        cl = self.next_clordid() if clordid is None else clordid
        self.send(encode_cancel(cl, orig_clordid, order_id))
        return cl

    def amend(self, orig_clordid=0, order_id=0, price=0, qty=0, clordid=None):
        cl = self.next_clordid() if clordid is None else clordid
        self.send(encode_amend(cl, orig_clordid, order_id, price, qty))
        return cl

    def amend_checked(self, instrument, orig_clordid=0, order_id=0, price=0, qty=0, clordid=None):
        cl = self.next_clordid() if clordid is None else clordid
        self.send(encode_amend_checked(cl, instrument, orig_clordid, order_id, price, qty))
        return cl

    def mass_cancel(self, instrument=ALL_INSTRUMENTS, request_id=None):
        if request_id is None:
            self.req_id += 1
            request_id = self.req_id
        self.send(encode_mass_cancel(request_id, instrument))
        return request_id

    def status(self, orig_clordid=0, order_id=0, request_id=None):
        if request_id is None:
            self.req_id += 1
            request_id = self.req_id
        self.send(encode_status(request_id, orig_clordid, order_id))
        return request_id

    def query(self, orig_clordid=0, order_id=0, timeout=None):
        """ORDER_STATUS and wait for its STATUS_REPLY."""
        rid = self.status(orig_clordid, order_id)
        return self.expect(STATUS_REPLY, timeout, request_id=rid)

    def place(self, instrument, side, price, qty, **kw):
        """NEW_ORDER and wait for its answer (ACCEPTED or REJECTED)."""
        cl = self.new_order(instrument, side, price, qty, **kw)
        return self.answer(cl)

    def heartbeat(self):
        self.send(encode_heartbeat())

    def logout(self):
        self.send(encode_logout())


def connect_login(port, account, session=1, **kw):
    c = Conn(port)
    c.login(account, session=session, **kw)
    return c


# ---------------------------------------------------------------------------
# Self-test against the byte tables of docs/protocol.md

def _selftest():
    # header
    h = header(56, NEW_ORDER)
    assert h == bytes([56, 0, 3, 0, 0, 0, 0, 0]) + bytes(8), h.hex()
    # NEW_ORDER: offsets 16 clordid, 24 instrument, 28 side, 29 type, 30 tif, 31 stp, 32 price, 40 qty
    b = encode_new_order(0x1122334455667788, 0xA1A2A3A4, SELL, 123456, 789, MARKET, FOK, STP_CB)
    assert len(b) == 56
    assert b[16:24] == (0x1122334455667788).to_bytes(8, "little")
    assert b[24:28] == (0xA1A2A3A4).to_bytes(4, "little")
    assert b[28:32] == bytes([1, 1, 3, 4])
    assert b[32:40] == (123456).to_bytes(8, "little") and b[40:48] == (789).to_bytes(8, "little")
    assert b[48:56] == bytes(8)
    # CANCEL / AMEND / MASS_CANCEL / ORDER_STATUS
    b = encode_cancel(7, 8, 9)
    assert len(b) == 40 and b[2] == 4 and struct.unpack_from("<QQq", b, 16) == (7, 8, 9)
    b = encode_amend(7, 0, 9, 10, 11)
    assert len(b) == 56 and b[2] == 5 and struct.unpack_from("<QQqqq", b, 16) == (7, 0, 9, 10, 11)
    b = encode_amend_checked(7, 3, 0, 9, 10, 11)  # AMEND's fields, then 56 instrument, 60 reserved
    assert len(b) == 64 and b[2] == 9 and struct.unpack_from("<QQqqqII", b, 16) == (7, 0, 9, 10, 11, 3, 0)
    b = encode_mass_cancel(5)
    assert len(b) == 32 and b[2] == 6 and b[16:24] == (5).to_bytes(8, "little") and b[24:28] == b"\xff" * 4
    b = encode_status(3, 4, 0)
    assert len(b) == 40 and b[2] == 7 and struct.unpack_from("<QQq", b, 16) == (3, 4, 0)
    assert encode_heartbeat() == bytes([16, 0, 2]) + bytes(13)
    assert encode_logout() == bytes([16, 0, 8]) + bytes(13)
    # LOGIN and the signature message
    nonce = bytes(range(16))
    b = encode_login(1001, "demo1001", "demo-secret-1001", 7, nonce, resume_from=42, flags=1, heartbeat_ms=1000,
                     ts=1700000000123456789)
    assert len(b) == 104 and b[0] == 104 and b[2] == 1
    assert struct.unpack_from("<HHI", b, 16) == (1, 1, 1001)
    assert b[24:40] == b"demo1001" + bytes(8)
    assert struct.unpack_from("<IIQq", b, 40) == (7, 1000, 42, 1700000000123456789)
    assert b[96:104] == bytes(8)
    m = sign_message(nonce, 1001, "demo1001", 7, 1700000000123456789)
    assert len(m) == 56 and m[:8] == b"XTLOGIN1" and m[8:24] == nonce
    assert m[24:28] == (1001).to_bytes(4, "little") and m[28:44] == b"demo1001" + bytes(8)
    assert m[44:48] == (7).to_bytes(4, "little") and m[48:56] == (1700000000123456789).to_bytes(8, "little")
    k = hashlib.sha256(b"demo-secret-1001").digest()
    assert b[64:96] == hmac.new(k, m, hashlib.sha256).digest()
    # server messages: build by offsets, decode
    f = bytearray(64)
    struct.pack_into("<HBBIQ", f, 0, 64, ACCEPTED, 1, 0, 5)
    struct.pack_into("<Q", f, 16, 11)
    struct.pack_into("<q", f, 24, 12)
    struct.pack_into("<I", f, 32, 2)
    f[36:40] = bytes([1, 0, 1, 2])
    struct.pack_into("<qqq", f, 40, 100, 200, 300)
    d = decode(bytes(f))
    assert (d.name, d.seq, d.sequenced, d.clordid, d.order_id, d.instrument, d.side, d.ord_type, d.tif, d.stp,
            d.price, d.qty, d.ts) == ("ACCEPTED", 5, True, 11, 12, 2, 1, 0, 1, 2, 100, 200, 300), d
    f = bytearray(80)
    struct.pack_into("<HBBIQ", f, 0, 80, FILL, 1, 0, 9)
    struct.pack_into("<QqQI", f, 16, 1, 2, 3, 4)
    f[44], f[45] = 1, 2
    struct.pack_into("<qqqq", f, 48, 5, 6, 7, 8)
    d = decode(bytes(f))
    assert (d.clordid, d.order_id, d.trade_id, d.instrument, d.side, d.liquidity, d.price, d.qty, d.remaining,
            d.ts) == (1, 2, 3, 4, 1, 2, 5, 6, 7, 8)
    f = bytearray(64)
    struct.pack_into("<HBBIQ", f, 0, 64, CANCELED, 1, 0, 9)
    struct.pack_into("<QqI", f, 16, 1, 2, 3)
    f[36] = 1
    struct.pack_into("<Hqq", f, 38, 11, 50, 77)
    struct.pack_into("<q", f, 56, 99)
    d = decode(bytes(f))
    assert (d.clordid, d.order_id, d.instrument, d.side, d.reason, d.qty, d.request_clordid, d.ts,
            d.reason_name) == (1, 2, 3, 1, 11, 50, 77, 99, "USER"), d
    f = bytearray(72)
    struct.pack_into("<HBBIQ", f, 0, 72, AMENDED, 1, 0, 9)
    struct.pack_into("<Qqqqq", f, 16, 1, 2, 3, 4, 5)
    f[56] = 1
    struct.pack_into("<Iq", f, 60, 7, 6)
    d = decode(bytes(f))
    assert (d.clordid, d.order_id, d.orig_clordid, d.price, d.qty, d.kept_priority, d.instrument,
            d.ts) == (1, 2, 3, 4, 5, 1, 7, 6)
    f = bytearray(48)
    struct.pack_into("<HBBIQ", f, 0, 48, REJECTED, 0, 0, 4)
    struct.pack_into("<QqH", f, 16, 1, 2, 66)
    f[34] = 3
    struct.pack_into("<Iq", f, 36, 5, 0)
    d = decode(bytes(f))
    assert (d.sequenced, d.seq, d.clordid, d.order_id, d.reason_name, d.request_type, d.instrument) == \
        (False, 4, 1, 2, "DUPLICATE_CLORDID", 3, 5), d
    f = bytearray(96)
    struct.pack_into("<HBBIQ", f, 0, 96, INSTRUMENT, 0, 0, 0)
    struct.pack_into("<IB", f, 16, 1, 1)
    f[24:33] = b"000001.SZ"
    struct.pack_into("<qqqqqq", f, 40, 1, 100, 1, (1 << 40) - 1, 1035, 1265)
    f[88], f[89] = 2, 0
    d = decode(bytes(f))
    assert (d.instrument, d.has_band, d.symbol, d.tick_m, d.lot_m, d.band_low, d.band_high, d.tick_scale) == \
        (1, 1, "000001.SZ", 1, 100, 1035, 1265, 2), d
    f = bytearray(88)
    struct.pack_into("<HBBIQ", f, 0, 88, STATUS_REPLY, 0, 0, 0)
    struct.pack_into("<QqQI", f, 16, 1, 2, 3, 4)
    f[44:48] = bytes([1, 1, 0, 1])
    struct.pack_into("<qqq", f, 48, 5, 6, 7)
    d = decode(bytes(f))
    assert (d.request_id, d.order_id, d.clordid, d.instrument, d.status, d.side, d.ord_type, d.tif, d.price,
            d.remaining, d.filled) == (1, 2, 3, 4, 1, 1, 0, 1, 5, 6, 7)
    f = bytearray(56)
    struct.pack_into("<HBBIQ", f, 0, 56, LOGIN_ACCEPTED, 0, 0, 0)
    struct.pack_into("<IIQQQI", f, 16, 3, 1000, 8, 2, 77, 4)
    d = decode(bytes(f))
    assert (d.session, d.heartbeat_ms, d.next_seq, d.resume_from, d.last_clordid, d.instrument_count) == \
        (3, 1000, 8, 2, 77, 4)
    f = bytearray(48)
    struct.pack_into("<HBBIQ", f, 0, 48, HELLO, 0, 0, 0)
    struct.pack_into("<HHI", f, 16, 1, 0, 1000)
    f[24:40] = nonce
    struct.pack_into("<q", f, 40, 5)
    d = decode(bytes(f))
    assert (d.version, d.heartbeat_ms, d.nonce, d.server_time) == (1, 1000, nonce, 5)
    f = bytearray(80)
    struct.pack_into("<HBBIQH", f, 0, 80, ERROR, 0, 0, 0, 9)
    f[18:28] = b"taken over"
    d = decode(bytes(f))
    assert d.code_name == "TAKEN_OVER" and d.text == "taken over"
    f = bytearray(32)
    struct.pack_into("<HBBIQHHIQ", f, 0, 32, LOGIN_REJECTED, 0, 0, 0, 5, 0, 0, 17)
    d = decode(bytes(f))
    assert d.reason_name == "RESUME_TOO_OLD" and d.oldest_seq == 17
    f = bytearray(32)
    struct.pack_into("<HBBIQQI", f, 0, 32, MASS_CANCEL_ACK, 0, 0, 3, 8, 2)
    d = decode(bytes(f))
    assert d.request_id == 8 and d.count == 2 and d.seq == 3
    # framing: split and joined frames
    fr = FrameReader()
    two = bytes(f) + header(16, SRV_HEARTBEAT, seq=3)
    got = []
    for i in range(len(two)):
        got += fr.feed(two[i:i + 1])
    assert [g.name for g in got] == ["MASS_CANCEL_ACK", "HEARTBEAT"]
    print("xtclient selftest ok")


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["selftest"]:
        _selftest()
    else:
        print(__doc__)
