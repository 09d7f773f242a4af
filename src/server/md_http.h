/* md_http.h - the plain HTTP endpoints of the market-data port
 * (docs/http.md): GET /healthz, /readyz and /metrics beside the WebSocket
 * upgrade on / and /ws. The routing and the JSON answers are pure
 * functions over caller buffers (fuzzed by tests/fuzz/targets/fuzz_http.c);
 * serving them is md_http.c's part of the md thread (md_internal.h). */
#ifndef XT_SERVER_MD_HTTP_H
#define XT_SERVER_MD_HTTP_H

#include <stddef.h>

#include "net/ws.h"

#define XT_HTTP_MAX_REQUESTS 1000 /* on one kept-alive connection; the last one is answered with a close */

typedef enum xt_http_route {
    XT_ROUTE_WS,        /* / or /ws: the WebSocket upgrade (md_server.c) */
    XT_ROUTE_HEALTHZ,   /* GET /healthz */
    XT_ROUTE_READYZ,    /* GET /readyz */
    XT_ROUTE_METRICS,   /* GET /metrics */
    XT_ROUTE_NOT_FOUND, /* any other path: 404 */
    XT_ROUTE_METHOD,    /* a known path with a method other than GET: 405 */
    XT_ROUTE_REST,      /* any method on a path under /api/: md_rest.h (docs/rest.md) */
} xt_http_route_t;

/* Where a parsed request goes (the query string is REST's). */
xt_http_route_t xt_http_route(const xt_http_req_t *req);

/* Writes a whole response with a JSON body {"status":status} or, when
 * reason is not NULL, {"status":status,"reason":reason} (escaped). Returns
 * its length or XT_ERANGE / XT_EINVAL as xt_http_response. */
int xt_http_json_answer(char *out, size_t cap, int code, const char *status, const char *reason, int keep_alive);

#endif
