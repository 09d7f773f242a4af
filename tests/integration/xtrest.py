#!/usr/bin/python3
"""A tiny client of the signed REST endpoints (docs/rest.md, "Signed
requests"), standard library only.

    c = RestClient(8080, 1001, "demo1001", "demo-secret-1001")
    status, body = c.request("GET", "/api/v1/fills?symbol=BTC-USDT")

The signature is HMAC-SHA256 with the key SHA-256(secret) over
"<timestamp>\\n<METHOD>\\n<request target>\\n<body>". Tests may forge a
request: ts_ms (the X-XT-Timestamp), signature (the hex sent instead of
the right one), omit (header names left out), headers (more headers).
"""
import hashlib
import hmac
import http.client
import json
import time


SIGNED_BEFORE_START = "signed for a time an earlier run of the server could have taken it"


def sign(secret, ts, method, target, body=b""):
    """The hex signature of a request."""
    key = hashlib.sha256(secret.encode()).digest()
    msg = f"{ts}\n{method}\n{target}\n".encode() + body
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


class RestClient:
    def __init__(self, port, account, key_id, secret, host="127.0.0.1", timeout=10):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.account, self.key_id, self.secret = account, key_id, secret
        self.last_headers = {}
        self.last_ts = 0

    def request(self, method, target, body=None, ts_ms=None, signature=None, omit=(), headers=None):
        """Sends a signed request; returns (status, the JSON body or None)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":"))
        data = body.encode() if isinstance(body, str) else (body or b"")
        if ts_ms is None:  # a later timestamp than the last: two same requests are not a replay
            ts_ms = max(int(time.time() * 1000), self.last_ts + 1)
            self.last_ts = ts_ms
        ts = str(ts_ms)
        h = {"X-XT-Account": str(self.account), "X-XT-Key": self.key_id, "X-XT-Timestamp": ts,
             "X-XT-Signature": signature or sign(self.secret, ts, method, target, data)}
        for name in omit:
            h.pop(name, None)
        h.update(headers or {})
        if data:
            h["Content-Type"] = "application/json"
        self.conn.request(method, target, body=data or None, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        self.last_headers = {k.lower(): v for k, v in r.getheaders()}
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw

    def request_after_restart(self, method, target, body=None, timeout=15):
        """request(), signed again while it is refused for the restart's
        window (docs/rest.md: for rest.recv_window_ms after a start on a
        data directory with a journal, 503 SIGNED_BEFORE_START) - as a
        client does after a restart. A read, or a request with its own
        client_order_id: a retry places nothing twice."""
        end = time.monotonic() + timeout
        while True:
            st, j = self.request(method, target, body)
            if not (st == 503 and isinstance(j, dict) and j["msg"].startswith(SIGNED_BEFORE_START)):
                return st, j
            if time.monotonic() > end:
                raise AssertionError(f"still refused for the restart's window after {timeout}s: {j}")
            time.sleep(0.05)

    def close(self):
        self.conn.close()
