/* test_http_head.c - src/net/ws.c's HTTP side: request heads parsed with
 * http-parser (the upgrade fields, header forms, limits, any split of the
 * bytes, garbage), the WebSocket handshake answer (RFC 6455's example key)
 * and the HTTP responses. The frames are in test_ws.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <http_parser.h>

#include "net/ws.h"
#include "xt/error.h"

/* ---- HTTP request heads ---------------------------------------------------------- */

static const char upgrade_req[] = "GET /chat?room=1&x=2 HTTP/1.1\r\n"
                                  "Host: server.example.com\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Origin: http://example.com\r\n"
                                  "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "\r\n";

/* Parses s whole with a fresh parser. */
static int parse(const char *s, size_t n, xt_http_req_t *req)
{
    xt_http_parser_t p;
    xt_http_parser_init(&p);
    return xt_http_parse_head(&p, (const uint8_t *)s, n, req);
}

static int parse_str(const char *s, xt_http_req_t *req)
{
    return parse(s, strlen(s), req);
}

static void req_equal(const xt_http_req_t *a, const xt_http_req_t *b)
{
    assert_int_equal(a->method, b->method);
    assert_string_equal(a->path, b->path);
    assert_string_equal(a->query, b->query);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_int_equal(a->upgrade_websocket, b->upgrade_websocket);
    assert_int_equal(a->ws_version_ok, b->ws_version_ok);
    assert_string_equal(a->ws_key, b->ws_key);
    assert_true(a->content_length == b->content_length);
}

static void http_valid_upgrade(void **state)
{
    (void)state;
    xt_http_req_t req;
    size_t n = strlen(upgrade_req);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\x81\x85", upgrade_req); /* the first frame, right behind the head */
    assert_int_equal(parse(buf, n + 2, &req), (int)n);
    assert_int_equal(req.method, HTTP_GET);
    assert_string_equal(req.path, "/chat");
    assert_string_equal(req.query, "room=1&x=2");
    assert_int_equal(req.keep_alive, 1);
    assert_int_equal(req.upgrade_websocket, 1);
    assert_int_equal(req.ws_version_ok, 1);
    assert_string_equal(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_true(req.content_length == 0);
}

static void http_header_forms(void **state)
{
    (void)state;
    xt_http_req_t req;
    /* any case, token lists, several Connection headers, folded lines, an
     * empty header value, HTTP/1.0 */
    const char *s = "GET / HTTP/1.0\r\nX-Empty:\r\nuPgRaDe: h2c, WebSocket\r\nconnection: keep-alive\r\n"
                    "CONNECTION:  foo ,\tUPGRADE \r\nsec-websocket-version:  13 \r\n"
                    "SEC-WEBSOCKET-KEY:   dGhlIHNhbXBsZSBub25jZQ==  \r\nX-Folded: a,\r\n b\r\n\r\n";
    assert_int_equal(parse_str(s, &req), (int)strlen(s));
    assert_int_equal(req.upgrade_websocket, 1);
    assert_int_equal(req.ws_version_ok, 1);
    assert_int_equal(req.keep_alive, 1);
    assert_string_equal(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_string_equal(req.path, "/");
    assert_string_equal(req.query, "");
    /* lookalike tokens do not count */
    s = "GET / HTTP/1.1\r\nUpgrade: websockets\r\nConnection: upgraded\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.upgrade_websocket, 0);
    s = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.upgrade_websocket, 0);
    s = "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.upgrade_websocket, 0);
    /* bare LF line ends */
    s = "GET /a?b HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\n\n";
    assert_int_equal(parse_str(s, &req), (int)strlen(s));
    assert_int_equal(req.upgrade_websocket, 1);
    assert_string_equal(req.path, "/a");
    assert_string_equal(req.query, "b");
}

static void http_missing_or_bad_key(void **state)
{
    (void)state;
    xt_http_req_t req;
    const char *s = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(parse_str(s, &req), (int)strlen(s));
    assert_int_equal(req.upgrade_websocket, 1);
    assert_string_equal(req.ws_key, "");
    static const char *bad[] = {
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n",   /* 23 characters */
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==A\r\n", /* 25 */
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2*jZQ==\r\n",  /* not base64 */
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "Sec-WebSocket-Key:\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char h[512];
        snprintf(h, sizeof h, "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
        assert_int_equal(parse_str(h, &req), (int)strlen(h));
        assert_string_equal(req.ws_key, "");
    }
}

static void http_wrong_version(void **state)
{
    (void)state;
    xt_http_req_t req;
    static const char *vers[] = {"8", "13, 8", "130", "1 3", "", "13\r\nSec-WebSocket-Version: 8"};
    for (size_t i = 0; i < sizeof vers / sizeof vers[0]; i++) {
        char h[256];
        snprintf(h, sizeof h, "GET / HTTP/1.1\r\nSec-WebSocket-Version: %s\r\n\r\n", vers[i]);
        assert_int_equal(parse_str(h, &req), (int)strlen(h));
        assert_int_equal(req.ws_version_ok, 0);
    }
    assert_true(parse_str("GET / HTTP/1.1\r\n\r\n", &req) > 0);
    assert_int_equal(req.ws_version_ok, 0);
}

static void http_not_upgrade(void **state)
{
    (void)state;
    xt_http_req_t req;
    const char *s = "GET /api/v1/depth?symbol=BTC-USD&levels=20 HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(parse_str(s, &req), (int)strlen(s));
    assert_int_equal(req.method, HTTP_GET);
    assert_string_equal(req.path, "/api/v1/depth");
    assert_string_equal(req.query, "symbol=BTC-USD&levels=20");
    assert_int_equal(req.keep_alive, 1);
    assert_int_equal(req.upgrade_websocket, 0);
    assert_string_equal(req.ws_key, "");
    s = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.keep_alive, 0);
    s = "GET / HTTP/1.0\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.keep_alive, 0);
    /* a body: the head's length is returned, the body is the caller's */
    s = "POST /orders HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(parse_str(s, &req), (int)strlen(s) - 5);
    assert_int_equal(req.method, HTTP_POST);
    assert_true(req.content_length == 5);
    /* absolute-form */
    s = "GET http://example.com:8080/x/y?z=1#frag HTTP/1.1\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_string_equal(req.path, "/x/y");
    assert_string_equal(req.query, "z=1");
    s = "OPTIONS * HTTP/1.1\r\n\r\n";
    assert_true(parse_str(s, &req) > 0);
    assert_int_equal(req.method, HTTP_OPTIONS);
    assert_string_equal(req.path, "*");
}

static void http_split_everywhere(void **state)
{
    (void)state;
    size_t n = strlen(upgrade_req);
    xt_http_req_t whole, part;
    assert_int_equal(parse(upgrade_req, n, &whole), (int)n);
    for (size_t k = 0; k <= n; k++) { /* two calls: k bytes, then all */
        xt_http_parser_t p;
        xt_http_parser_init(&p);
        memset(&part, 0xEE, sizeof part);
        assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)upgrade_req, k, &part), k == n ? (int)n : 0);
        assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)upgrade_req, n, &part), (int)n);
        req_equal(&whole, &part);
    }
    xt_http_parser_t p; /* byte by byte */
    xt_http_parser_init(&p);
    for (size_t k = 1; k < n; k++)
        assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)upgrade_req, k, &part), 0);
    assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)upgrade_req, n, &part), (int)n);
    req_equal(&whole, &part);
    /* complete: the same answer again, also with more bytes behind */
    char more[1024];
    snprintf(more, sizeof more, "%s", upgrade_req);
    memset(more + n, 'x', 100);
    assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)more, n + 100, &part), (int)n);
    req_equal(&whole, &part);
}

static void http_too_large(void **state)
{
    (void)state;
    static char big[XT_HTTP_HEAD_MAX + 256];
    xt_http_req_t req;
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX-Pad: ");
    memset(big + n, 'a', sizeof big - (size_t)n);
    assert_int_equal(parse(big, sizeof big, &req), XT_ERANGE);
    assert_int_equal(parse(big, XT_HTTP_HEAD_MAX, &req), XT_ERANGE);
    assert_int_equal(parse(big, XT_HTTP_HEAD_MAX - 1, &req), 0);
    xt_http_parser_t p;
    xt_http_parser_init(&p);
    for (size_t k = 1; k < XT_HTTP_HEAD_MAX; k++)
        assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)big, k, &req), 0);
    assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)big, XT_HTTP_HEAD_MAX, &req), XT_ERANGE);
    assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)big, sizeof big, &req), XT_ERANGE);
    /* a head of exactly XT_HTTP_HEAD_MAX bytes is fine */
    static const char end[4] = {'\r', '\n', '\r', '\n'};
    memcpy(big + XT_HTTP_HEAD_MAX - 4, end, sizeof end);
    assert_int_equal(parse(big, sizeof big, &req), XT_HTTP_HEAD_MAX);
    /* fields that do not fit req */
    char h[2048];
    n = snprintf(h, sizeof h, "GET /");
    memset(h + n, 'p', 600);
    snprintf(h + n + 600, sizeof h - (size_t)n - 600, " HTTP/1.1\r\n\r\n");
    assert_int_equal(parse_str(h, &req), XT_ERANGE);
    n = snprintf(h, sizeof h, "GET /?");
    memset(h + n, 'q', 600);
    snprintf(h + n + 600, sizeof h - (size_t)n - 600, " HTTP/1.1\r\n\r\n");
    assert_int_equal(parse_str(h, &req), XT_ERANGE);
    n = snprintf(h, sizeof h, "GET / HTTP/1.1\r\nConnection: ");
    memset(h + n, 'c', 300);
    snprintf(h + n + 300, sizeof h - (size_t)n - 300, "\r\n\r\n");
    assert_int_equal(parse_str(h, &req), XT_ERANGE);
    /* a long value of another header is fine */
    n = snprintf(h, sizeof h, "GET /%.*s HTTP/1.1\r\nX-Long: ", 510, big + 100);
    memset(h + n, 'c', 1000);
    snprintf(h + n + 1000, sizeof h - (size_t)n - 1000, "\r\n\r\n");
    assert_int_equal(parse_str(h, &req), (int)strlen(h));
    assert_int_equal(strlen(req.path), 511);
}

static void http_garbage(void **state)
{
    (void)state;
    xt_http_req_t req;
    static const char *bad[] = {
        "GARBAGE\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.2\r\n\r\n",
        "GET / HTTP/0.9\r\n\r\n",
        "GET / FTP/1.1\r\n",
        "GET /\x01 HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nBad\"Header: x\r\n",
        "GET / HTTP/1.1\r\nContent-Length: x\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\x81",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n", /* white space before the colon: RFC 9112 5.1 */
        "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\n\r\nX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_str(bad[i], &req);
        if (i == sizeof bad / sizeof bad[0] - 1) {
            assert_int_equal(rc, (int)strlen(bad[i]) - 1); /* leading CRLF is allowed */
            continue;
        }
        if (rc != XT_EPARSE)
            fail_msg("case %zu: got %d", i, rc);
        /* remembered */
        xt_http_parser_t p;
        xt_http_parser_init(&p);
        size_t n = strlen(bad[i]);
        int first = 0;
        for (size_t k = 1; k <= n && first == 0; k++)
            first = xt_http_parse_head(&p, (const uint8_t *)bad[i], k, &req);
        assert_int_equal(first, XT_EPARSE);
        assert_int_equal(xt_http_parse_head(&p, (const uint8_t *)bad[i], n, &req), XT_EPARSE);
    }
}

static void http_reinit_next_request(void **state)
{
    (void)state;
    const char *two = "GET /a HTTP/1.1\r\n\r\nGET /b?c HTTP/1.1\r\nConnection: close\r\n\r\n";
    xt_http_parser_t p;
    xt_http_req_t req;
    xt_http_parser_init(&p);
    int n = xt_http_parse_head(&p, (const uint8_t *)two, strlen(two), &req);
    assert_int_equal(n, 19);
    assert_string_equal(req.path, "/a");
    xt_http_parser_init(&p);
    int m = xt_http_parse_head(&p, (const uint8_t *)two + n, strlen(two) - (size_t)n, &req);
    assert_int_equal(m, (int)strlen(two) - n);
    assert_string_equal(req.path, "/b");
    assert_string_equal(req.query, "c");
    assert_int_equal(req.keep_alive, 0);
}

/* ---- responses ------------------------------------------------------------------- */

static void ws_accept_rfc(void **state)
{
    (void)state;
    char out[256];
    const char *want = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    int n = xt_ws_handshake_response("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof out);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
    memset(out, 'Z', sizeof out);
    assert_int_equal(xt_ws_handshake_response("dGhlIHNhbXBsZSBub25jZQ==", out, (size_t)n), n);
    assert_memory_equal(out, want, (size_t)n);
    assert_int_equal(out[n], 'Z'); /* no room for the NUL: none written */
    assert_int_equal(xt_ws_handshake_response("dGhlIHNhbXBsZSBub25jZQ==", out, (size_t)n - 1), XT_ERANGE);
    /* RFC 6455 §1.3 computes the key + GUID string the same way */
    assert_int_equal(xt_ws_handshake_response("x3JJHMbDL1EzLkh9GBhXDw==", out, sizeof out), n);
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n"));
}

/* Host lines are counted (RFC 9112 3.2: the server refuses none in
 * HTTP/1.1, or two); the value is not kept, so no length refuses it. */
static void http_host_count(void **state)
{
    (void)state;
    xt_http_req_t req;
    char big[600];
    static const struct {
        const char *head;
        int hosts;
    } want[] = {
        {"GET / HTTP/1.1\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nhOST:\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nHost: a\r\n\r\n", 2},
        {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\nHost: c\r\n\r\n", 2},
        {"GET / HTTP/1.1\r\nHosts: a\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(parse_str(want[i].head, &req) > 0);
        assert_int_equal(req.hosts, want[i].hosts);
    }
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: %0400d\r\n\r\n", 1);
    assert_true(parse_str(big, &req) > 0);
    assert_int_equal(req.hosts, 1);
}

static void http_responses(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *line;
    } want[] = {
        {200, "HTTP/1.1 200 OK\r\n"},
        {101, "HTTP/1.1 101 Switching Protocols\r\n"},
        {400, "HTTP/1.1 400 Bad Request\r\n"},
        {401, "HTTP/1.1 401 Unauthorized\r\n"},
        {403, "HTTP/1.1 403 Forbidden\r\n"},
        {404, "HTTP/1.1 404 Not Found\r\n"},
        {405, "HTTP/1.1 405 Method Not Allowed\r\n"},
        {408, "HTTP/1.1 408 Request Timeout\r\n"},
        {409, "HTTP/1.1 409 Conflict\r\n"},
        {426, "HTTP/1.1 426 Upgrade Required\r\n"},
        {429, "HTTP/1.1 429 Too Many Requests\r\n"},
        {431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
        {500, "HTTP/1.1 500 Internal Server Error\r\n"},
        {503, "HTTP/1.1 503 Service Unavailable\r\n"},
    };
    char out[512];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int n = xt_http_response(out, sizeof out, want[i].status, NULL, NULL, 0, 0);
        assert_true(n > 0);
        assert_memory_equal(out, want[i].line, strlen(want[i].line));
    }
    const char *full = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
                       "Connection: keep-alive\r\n\r\n{\"a\":1}";
    int n = xt_http_response(out, sizeof out, 200, "application/json", "{\"a\":1}", 7, 1);
    assert_int_equal(n, (int)strlen(full));
    assert_memory_equal(out, full, (size_t)n);
    assert_int_equal(xt_http_response(out, (size_t)n, 200, "application/json", "{\"a\":1}", 7, 1), n);
    assert_int_equal(xt_http_response(out, (size_t)n - 1, 200, "application/json", "{\"a\":1}", 7, 1), XT_ERANGE);
    const char *closing = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    n = xt_http_response(out, sizeof out, 404, NULL, NULL, 0, 0);
    assert_int_equal(n, (int)strlen(closing));
    assert_memory_equal(out, closing, (size_t)n);
    n = xt_http_response(out, sizeof out, 426, NULL, NULL, 0, 0);
    assert_true(n > 0 && (size_t)n < sizeof out);
    out[n] = '\0';
    assert_non_null(strstr(out, "\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"));
    assert_int_equal(xt_http_response(out, sizeof out, 200, "text/plain\r\nX: y", NULL, 0, 0), XT_EINVAL);
    assert_int_equal(xt_http_response(out, sizeof out, 99, NULL, NULL, 0, 0), XT_EINVAL);
    const char *allowed = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, PUT\r\nContent-Type: application/json\r\n"
                          "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}";
    int a = (int)strlen(allowed);
    n = xt_http_response(out, sizeof out, 405, "application/json", "{}", 2, 1);
    assert_int_equal(xt_http_add_allow(out, sizeof out, n, "GET, PUT"), a);
    assert_memory_equal(out, allowed, (size_t)a);
    n = xt_http_response(out, sizeof out, 405, "application/json", "{}", 2, 1);
    assert_int_equal(xt_http_add_allow(out, (size_t)a, n, "GET, PUT"), a); /* just room */
    n = xt_http_response(out, sizeof out, 405, "application/json", "{}", 2, 1);
    assert_int_equal(xt_http_add_allow(out, (size_t)a - 1, n, "GET, PUT"), XT_ERANGE);
    assert_int_equal(xt_http_add_allow(out, sizeof out, XT_ERANGE, "GET"), XT_ERANGE); /* an error passes through */
    assert_int_equal(xt_http_add_allow(out, sizeof out, 4, "GET"), XT_EINVAL);         /* no status line */
    assert_int_equal(xt_http_response(out, sizeof out, 600, NULL, NULL, 0, 0), XT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_valid_upgrade),       cmocka_unit_test(http_header_forms),
        cmocka_unit_test(http_missing_or_bad_key),  cmocka_unit_test(http_wrong_version),
        cmocka_unit_test(http_not_upgrade),         cmocka_unit_test(http_split_everywhere),
        cmocka_unit_test(http_too_large),           cmocka_unit_test(http_garbage),
        cmocka_unit_test(http_reinit_next_request), cmocka_unit_test(ws_accept_rfc),
        cmocka_unit_test(http_responses),           cmocka_unit_test(http_host_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
