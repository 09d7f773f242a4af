/* md_rest.h - the REST endpoints of the market-data port (docs/rest.md):
 * the public GET /api/v1/instruments, depth, trades, ticker, klines and
 * timeline, and the signed /api/v1/fills and /api/v1/orders (rest_auth.h),
 * beside /healthz, /readyz, /metrics (md_http.h) and the WebSocket
 * upgrade. The routing, the query-string parser and the error
 * bodies are pure functions over caller buffers (unit-tested in
 * tests/unit/test_rest.c, fuzzed by tests/fuzz/targets/fuzz_http.c);
 * answering them from the market data is md_rest.c's part of the md
 * thread (xt_mds_rest_answer, md_internal.h). */
#ifndef XT_SERVER_MD_REST_H
#define XT_SERVER_MD_REST_H

#include <stddef.h>
#include <stdint.h>

#define XT_REST_PREFIX "/api/" /* every path under it is REST's: its 404 and 405 are JSON {"code","msg"} */

typedef enum xt_rest_endpoint {
    XT_REST_INSTRUMENTS, /* /api/v1/instruments */
    XT_REST_DEPTH,       /* /api/v1/depth?symbol=&limit= */
    XT_REST_TRADES,      /* /api/v1/trades?symbol=&limit= */
    XT_REST_TICKER,      /* /api/v1/ticker?symbol= */
    XT_REST_KLINES,      /* /api/v1/klines?symbol=&interval=&start=&end=&limit= */
    XT_REST_TIMELINE,    /* /api/v1/timeline?symbol= */
    XT_REST_FILLS,       /* /api/v1/fills?symbol=&limit=&from_id= (signed) */
    XT_REST_ORDERS,      /* /api/v1/orders and /api/v1/orders/{id} (signed; md_oe.h) */
    XT_REST_UNKNOWN,     /* another path under /api/: 404 */
} xt_rest_endpoint_t;

/* The endpoint of a path (undecoded, without the query). /api/v1/orders/X
 * is XT_REST_ORDERS for any X of 1..64 bytes without a '/'. */
xt_rest_endpoint_t xt_rest_endpoint(const char *path);

/* The value of the first parameter called name in query (the undecoded
 * text after '?': name=value pairs split by '&', names compared after
 * decoding), percent-decoded ('+' is a space) into out, NUL-terminated.
 * A parameter without '=' has the value "". Returns the value's length,
 * XT_ENOENT when absent, XT_EPARSE when the name's value has a bad escape
 * (not %XX hex) or decodes to a NUL, XT_ERANGE when it does not fit cap-1
 * bytes. */
int xt_query_get(const char *query, const char *name, char *out, size_t cap);

/* An unsigned decimal parameter: *out = def when absent. Returns 0, or
 * XT_EPARSE (empty, not all digits, an escape error), XT_ERANGE (above
 * max, or 0 when zero_ok is 0). */
int xt_query_u64(const char *query, const char *name, uint64_t def, uint64_t max, int zero_ok, uint64_t *out);

/* A signed decimal parameter (an optional '-'): as xt_query_u64, with the
 * range min..max. */
int xt_query_i64(const char *query, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);

/* Writes a whole response with the JSON body {"code":code,"msg":msg}
 * (escaped) and a final newline. Returns its length, or XT_ERANGE /
 * XT_EINVAL as xt_http_response. */
int xt_rest_error(char *out, size_t cap, int code, const char *msg, int keep_alive);

#endif
