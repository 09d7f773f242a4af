/* fuzz_http.c - libFuzzer target for the plain HTTP endpoints' routing and
 * answers (src/server/md_http.h) and the REST endpoints' routing, query
 * parsing and error answers (src/server/md_rest.h), over a stream of
 * pipelined requests as the market-data thread handles them.
 *
 * The input is what a client sends on one connection. Request heads are
 * parsed in turn (xt_http_parse_head); each complete one is routed and
 * answered as md_http.c does: the route must agree with the path and the
 * method, the JSON answer must be a well-formed HTTP/1.1 response whose
 * Content-Length is its body's, with no raw control character in the body
 * but its final newline, and the body valid UTF-8 (ill-formed bytes of the
 * request are quoted as \ufffd). A connection that would close (Connection: close,
 * a body, the WebSocket path, an error) ends the stream, as in the server.
 * A path under /api/ goes to REST: its endpoint must agree with the path,
 * every parameter the endpoints read is parsed from the query (a decoded
 * value holds no NUL, fits its buffer, and its length is what was
 * returned; a number parsed is in its range), and the {"code","msg"} error
 * answer quoting the value must be well formed. The request target is
 * kept whole (it begins with the path, and holds the query), the X-XT-*
 * headers fit their bounds, and the signature check of every request
 * (src/server/rest_auth.c, with the demo credentials) answers one of its
 * statuses without crashing.
 * The last 64 bytes of the input also go through xt_http_json_answer as a
 * reason (escaping). Any violation aborts.
 */
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net/ws.h"
#include "server/credentials.h"
#include "server/md_http.h"
#include "server/md_rest.h"
#include "server/rest_auth.h"
#include "xt/error.h"

/* 1 when s[0..n) is UTF-8 (RFC 3629), decoded on its own here: each
 * sequence's code point, in the range its length may take, and no surrogate. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (k == 0 || n - i < k)
            return 0;
        uint32_t cp = k == 1 ? c : c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k;
    }
    return 1;
}

/* Checks a whole response: status line, Content-Length, the body (UTF-8
 * whatever bytes the request had: ill-formed ones are answered as \ufffd). */
static void check_response(const char *out, int n, int code)
{
    CHECK(n > 0 && n < 4096);
    CHECK(memcmp(out, "HTTP/1.1 ", 9) == 0);
    CHECK(atoi(out + 9) == code);
    const char *end = strstr(out, "\r\n\r\n");
    CHECK(end != NULL);
    const char *cl = strstr(out, "Content-Length: ");
    CHECK(cl != NULL && cl < end);
    size_t body = (size_t)(out + n - (end + 4));
    CHECK((size_t)strtoul(cl + 16, NULL, 10) == body);
    CHECK(body >= 2 && end[4] == '{' && out[n - 1] == '\n' && out[n - 2] == '}');
    for (const char *p = end + 4; p < out + n - 1; p++)
        CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    CHECK(utf8_ok((const unsigned char *)end + 4, body));
}

static int expected_route(const xt_http_req_t *req)
{
    if (strncmp(req->path, "/api/", 5) == 0)
        return XT_ROUTE_REST;
    if (strcmp(req->path, "/") == 0 || strcmp(req->path, "/ws") == 0)
        return XT_ROUTE_WS;
    int known =
        strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0 || strcmp(req->path, "/metrics") == 0;
    if (!known)
        return XT_ROUTE_NOT_FOUND;
    if (req->method != HTTP_GET)
        return XT_ROUTE_METHOD;
    return strcmp(req->path, "/healthz") == 0  ? XT_ROUTE_HEALTHZ
           : strcmp(req->path, "/readyz") == 0 ? XT_ROUTE_READYZ
                                               : XT_ROUTE_METRICS;
}

/* The REST side of a request: routing, the parameters, an error answer. */
static void check_rest(const xt_http_req_t *req, int keep)
{
    static const char *const names[] = {"instruments", "depth",    "trades", "ticker",
                                        "klines",      "timeline", "fills",  "orders"};
    static const char *const params[] = {"symbol", "limit", "interval", "start", "end", "x"};
    xt_rest_endpoint_t e = xt_rest_endpoint(req->path);
    int known = -1;
    for (int i = 0; i < 8; i++)
        if (strncmp(req->path, "/api/v1/", 8) == 0 && strcmp(req->path + 8, names[i]) == 0)
            known = i;
    const char *id = req->path + 15;
    if (strncmp(req->path, "/api/v1/orders/", 15) == 0 && *id && strlen(id) <= 64 && !strchr(id, '/'))
        known = XT_REST_ORDERS;
    CHECK(known < 0 ? e == XT_REST_UNKNOWN : (int)e == known);
    char v[64], msg[128], out[4096];
    for (int i = 0; i < 6; i++) {
        memset(v, 'Z', sizeof v);
        int n = xt_query_get(req->query, params[i], v, sizeof v);
        CHECK(n == XT_ENOENT || n == XT_EPARSE || n == XT_ERANGE || (n >= 0 && n < (int)sizeof v));
        if (n < 0)
            continue;
        CHECK(v[n] == '\0' && memchr(v, '\0', (size_t)n) == NULL);
        uint64_t u;
        int64_t s;
        int r = xt_query_u64(req->query, params[i], 7, 1000, 0, &u);
        CHECK(r == XT_EPARSE || r == XT_ERANGE || (r == 0 && u >= 1 && u <= 1000));
        r = xt_query_i64(req->query, params[i], 0, -5000, INT64_MAX, &s);
        CHECK(r == XT_EPARSE || r == XT_ERANGE || (r == 0 && s >= -5000));
        snprintf(msg, sizeof msg, "unknown symbol %s", v);
        int k = xt_rest_error(out, sizeof out, 404, msg, keep);
        check_response(out, k, 404);
    }
}

/* The raw target, the X-XT-* headers, and the signature check. */
static void check_auth(const xt_http_req_t *req)
{
    static xt_creds_t creds;
    static xt_replay_cache_t rc;
    if (rc.v == NULL) {
        CHECK(xt_creds_demo(&creds) == 0);
        CHECK(xt_replay_init(&rc, 64) == 0);
    }
    CHECK(strlen(req->target) <= XT_HTTP_TARGET_MAX);
    if (req->target[0] == '/')
        CHECK(strncmp(req->target, req->path, strlen(req->path)) == 0);
    if (req->query[0])
        CHECK(strstr(req->target, req->query) != NULL);
    for (int i = 0; i < XT_AUTH_HEADERS; i++) {
        CHECK(strlen(req->auth.v[i]) <= XT_AUTH_VALUE_MAX);
        CHECK(!(req->auth.bad & (1u << i)) || req->auth.v[i][0] == '\0');
        CHECK((req->auth.seen & (1u << i)) || req->auth.v[i][0] == '\0');
    }
    xt_auth_result_t a =
        xt_rest_authenticate(&creds, &rc, req, "GET", req->query, strlen(req->query), INT64_C(1700000000000), 5000);
    CHECK(a.status == 0 || ((a.status == 400 || a.status == 401 || a.status == 503) && a.msg != NULL));
    CHECK(a.status != 0 || (a.account >= 1001 && a.account <= 1004));
}

static void check_reason(const uint8_t *data, size_t size)
{
    char reason[65], out[4096];
    size_t n = size < 64 ? size : 64;
    memcpy(reason, data + size - n, n);
    reason[n] = 0;
    int r = xt_http_json_answer(out, sizeof out, 503, "not ready", reason, 1);
    if (r != XT_ERANGE)
        check_response(out, r, 503);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    for (int requests = 0; requests < 64 && at < size; requests++) {
        xt_http_parser_t hp;
        xt_http_req_t req;
        xt_http_parser_init(&hp);
        int rc = xt_http_parse_head(&hp, data + at, size - at, &req);
        if (rc <= 0)
            break;
        CHECK((size_t)rc <= size - at);
        xt_http_route_t route = xt_http_route(&req);
        CHECK((int)route == expected_route(&req));
        check_auth(&req);
        if (route == XT_ROUTE_WS)
            break; /* the upgrade: md_server.c's, fuzzed by fuzz_ws */
        int keep = req.keep_alive && req.content_length == 0;
        if (route == XT_ROUTE_REST) {
            check_rest(&req, keep);
            if (!keep)
                break;
            at += (size_t)rc;
            continue;
        }
        static const int codes[] = {[XT_ROUTE_HEALTHZ] = 200,
                                    [XT_ROUTE_READYZ] = 503,
                                    [XT_ROUTE_METRICS] = 500,
                                    [XT_ROUTE_NOT_FOUND] = 404,
                                    [XT_ROUTE_METHOD] = 405};
        char out[4096];
        int n = xt_http_json_answer(out, sizeof out, codes[route], "status",
                                    route == XT_ROUTE_HEALTHZ ? NULL : req.path, keep);
        if (n == XT_ERANGE) /* a path too long to quote in the reason: not what the server sends */
            n = xt_http_json_answer(out, sizeof out, codes[route], "status", NULL, keep);
        CHECK(n > 0 && n < (int)sizeof out);
        out[n] = '\0'; /* the answer is n bytes, not a string: the checks below search it as one */
        check_response(out, n, codes[route]);
        CHECK((strstr(out, "Connection: keep-alive") != NULL) == (keep != 0));
        if (!keep)
            break;
        at += (size_t)rc;
    }
    if (size > 0)
        check_reason(data, size);
    return 0;
}
