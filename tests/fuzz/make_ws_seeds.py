#!/usr/bin/python3
"""Writes the seed corpus of the ws fuzz target (tests/fuzz/corpus/ws/,
deterministic; the fuzzer adds what it discovers). The input layout is that
of tests/fuzz/targets/fuzz_ws.c; run with /usr/bin/python3 from anywhere.

HTTP seeds (byte 0 even, then the request): the RFC 6455 upgrade, plain GETs
and a POST with a body, HTTP/1.0, header forms (any case, lists, folded
lines, bare LF), bad keys and versions, garbage, a TLS hello, a chunked
request, an oversized head.

WebSocket seeds (byte 0 odd, byte 1 the message buffer size index, byte 2
the stop period and TEXT/BINARY bit of the one-message check, then the client
bytes): single and fragmented messages with interleaved control frames,
16- and 64-bit lengths, CLOSE frames good and bad, each kind of protocol
violation, invalid UTF-8, truncated frames."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ws")
KEY = b"\x37\xfa\x21\x3d"

TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0


def frame(op, payload=b"", fin=True, rsv=0, masked=True, lenform=None):
    n = len(payload)
    if lenform is None:
        lenform = 0 if n < 126 else 126 if n <= 0xFFFF else 127
    m = 0x80 if masked else 0
    out = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
    if lenform == 0:
        out += bytes([m | n])
    elif lenform == 126:
        out += bytes([m | 126]) + struct.pack(">H", n)
    else:
        out += bytes([m | 127]) + struct.pack(">Q", n)
    if masked:
        out += KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return out


def ws(cap_index, flags, *frames):
    return bytes([1, cap_index, flags]) + b"".join(frames)


def http(text):
    return b"\x00" + (text.encode("latin-1") if isinstance(text, str) else text)


UPGRADE = ("GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n")

SEEDS = {
    # HTTP request heads
    "http_upgrade": http(UPGRADE),
    "http_upgrade_then_frame": http(UPGRADE.encode() + frame(TEXT, b"Hello")),
    "http_get": http("GET /api/v1/depth?symbol=BTC-USD&levels=20 HTTP/1.1\r\nHost: x\r\n\r\n"),
    "http_get_10_keepalive": http("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    "http_close": http("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
    "http_post_body": http("POST /orders HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"),
    "http_forms": http("GET / HTTP/1.1\r\nuPgRaDe: h2c, WebSocket\r\nconnection: keep-alive\r\n"
                       "CONNECTION:  foo ,\tUPGRADE \r\nsec-websocket-version:  13 \r\n"
                       "X-Folded: a,\r\n b\r\nX-Empty:\r\n\r\n"),
    "http_bare_lf": http("GET /a?b HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\n\n"),
    "http_absolute": http("GET http://example.com:8080/x/y?z=1#frag HTTP/1.1\r\n\r\n"),
    "http_options_star": http("OPTIONS * HTTP/1.1\r\n\r\n"),
    "http_connect": http("CONNECT example.com:443 HTTP/1.1\r\n\r\n"),
    "http_bad_key": http("GET / HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"
                         "Sec-WebSocket-Version: 8\r\n\r\n"),
    "http_two_keys": http("GET / HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
    "http_garbage": http("GARBAGE\r\n"),
    "http_tls_hello": http(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32))),
    "http_version_2": http("GET / HTTP/2.0\r\n\r\n"),
    "http_chunked": http("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    "http_two_lengths": http("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
    "http_long_path": http("GET /" + "p" * 600 + " HTTP/1.1\r\n\r\n"),
    "http_too_large": http("GET / HTTP/1.1\r\nX-Pad: " + "a" * 8300 + "\r\n\r\n"),
    "http_pipelined": http("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
    # WebSocket streams
    "ws_text": ws(5, 0, frame(TEXT, b"Hello")),
    "ws_fragmented_ping": ws(5, 1, frame(TEXT, b"Hel", fin=False), frame(PING, b"p"),
                             frame(CONT, b"", fin=False), frame(PONG), frame(CONT, b"lo"),
                             frame(CLOSE, b"\x03\xe8bye")),
    "ws_binary_16bit": ws(5, 2, frame(BINARY, bytes(range(256)) + bytes(44)), frame(PING, b"x" * 125)),
    "ws_binary_64bit": ws(6, 3, frame(BINARY, bytes(i & 0xFF for i in range(65536))), frame(CLOSE)),
    "ws_utf8_split": ws(5, 4, frame(TEXT, b"\xe2\x82", fin=False), frame(PING),
                        frame(CONT, b"\xac\xf0\x9d\x84", fin=False), frame(CONT, b"\x9e")),
    "ws_utf8_bad": ws(5, 4, frame(TEXT, b"ok"), frame(TEXT, b"\xed\xa0\x80")),
    "ws_utf8_overlong": ws(5, 4, frame(TEXT, b"\xc0\x80")),
    "ws_utf8_above_max": ws(5, 4, frame(TEXT, b"\xf4\x90\x80\x80")),
    "ws_unmasked": ws(5, 0, frame(TEXT, b"ok"), frame(TEXT, b"Hello", masked=False)),
    "ws_rsv": ws(5, 0, frame(TEXT, b"x", rsv=4)),
    "ws_bad_opcode": ws(5, 0, frame(3, b"x")),
    "ws_bad_control_opcode": ws(5, 0, frame(0xB)),
    "ws_ping_too_long": ws(5, 0, frame(PING, b"x" * 126)),
    "ws_ping_fragmented": ws(5, 0, frame(PING, fin=False)),
    "ws_cont_without_start": ws(5, 0, frame(CONT, b"x")),
    "ws_start_inside": ws(5, 0, frame(TEXT, b"a", fin=False), frame(BINARY, b"b")),
    "ws_too_big": ws(2, 0, frame(BINARY, b"1234567"), frame(BINARY, b"12345678")),
    "ws_too_big_fragments": ws(2, 0, frame(TEXT, b"1234", fin=False), frame(CONT, b"5678")),
    "ws_cap_zero": ws(0, 1, frame(TEXT), frame(PING, b"abc"), frame(BINARY, b"a")),
    "ws_close_one_byte": ws(5, 0, frame(CLOSE, b"\x03")),
    "ws_close_bad_code": ws(5, 0, frame(CLOSE, b"\x03\xed")),
    "ws_close_private_code": ws(5, 0, frame(CLOSE, b"\x0f\x9f" + "κόσμε".encode())),
    "ws_close_bad_reason": ws(5, 0, frame(CLOSE, b"\x03\xe8\xce")),
    "ws_nonminimal_16": ws(5, 0, frame(BINARY, b"x" * 100, lenform=126)),
    "ws_nonminimal_64": ws(6, 0, frame(BINARY, b"x" * 1000, lenform=127)),
    "ws_huge_length": ws(5, 0, b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" + KEY + b"\x00"),
    "ws_bit63_length": ws(5, 0, b"\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff" + KEY + b"\x00"),
    "ws_truncated": ws(5, 0, frame(TEXT, b"Hello"), frame(TEXT, b"world")[:-2]),
    "ws_empty": ws(3, 0),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
