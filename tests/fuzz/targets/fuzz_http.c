/* fuzz_http.c - libFuzzer target for the plain HTTP endpoints' routing and
 * answers (src/server/md_http.h), over a stream of pipelined requests as the
 * market-data thread handles them.
 *
 * The input is what a client sends on one connection. Request heads are
 * parsed in turn (xt_http_parse_head); each complete one is routed and
 * answered as md_http.c does: the route must agree with the path and the
 * method, the JSON answer must be a well-formed HTTP/1.1 response whose
 * Content-Length is its body's, with no raw control character in the body
 * but its final newline. A connection that would close (Connection: close,
 * a body, the WebSocket path, an error) ends the stream, as in the server.
 * The last 64 bytes of the input also go through xt_http_json_answer as a
 * reason (escaping). Any violation aborts.
 */
#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"
#include "server/md_http.h"
#include "xt/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c))                                                                                                      \
            abort();                                                                                                   \
    } while (0)

/* Checks a whole response: status line, Content-Length, the body. */
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
        CHECK((unsigned char)*p >= 0x20);
}

static int expected_route(const xt_http_req_t *req)
{
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
        if (route == XT_ROUTE_WS)
            break; /* the upgrade: md_server.c's, fuzzed by fuzz_ws */
        int keep = req.keep_alive && req.content_length == 0;
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
