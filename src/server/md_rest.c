/* md_rest.c - the REST endpoints (docs/rest.md, md_rest.h), in the md
 * thread. The signed ones: the signature is checked (rest_auth.c) under
 * the credentials' read lock, then /api/v1/fills is answered from the
 * fills kept here (md_fills.c) and /api/v1/orders goes to order entry
 * (md_oe.h). md_http.c routes every path under /api/ here; the answer is
 * built from the same state and with the same encoders (md_encode.h) as
 * the WebSocket snapshots, into the md server's HTTP buffers (sized at
 * start: nothing is allocated per request), and queued by md_http.c like
 * any other output. K-line history is read from its files by md_klines.c,
 * bounded by the request's limit. */
#include "md_rest.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "credentials.h"
#include "md_internal.h"
#include "md_oe.h"
#include "xt/decimal.h"
#include "xt/error.h"

/* ---- pure parts ------------------------------------------------------------------ */

xt_rest_endpoint_t xt_rest_endpoint(const char *path)
{
    static const char *const names[] = {"instruments", "depth",    "trades", "ticker",
                                        "klines",      "timeline", "fills",  "orders"};
    static const char v1[] = "/api/v1/", orders[] = "/api/v1/orders/";
    if (strncmp(path, v1, sizeof v1 - 1) != 0)
        return XT_REST_UNKNOWN;
    if (strncmp(path, orders, sizeof orders - 1) == 0) {
        const char *id = path + sizeof orders - 1;
        size_t n = strlen(id);
        return n >= 1 && n <= 64 && strchr(id, '/') == NULL ? XT_REST_ORDERS : XT_REST_UNKNOWN;
    }
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(path + sizeof v1 - 1, names[i]) == 0)
            return (xt_rest_endpoint_t)i;
    return XT_REST_UNKNOWN;
}

/* Percent-decodes p[0..n) into out (cap bytes with the NUL). Returns the
 * length, XT_EPARSE or XT_ERANGE. */
static int decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    if (cap == 0)
        return XT_ERANGE;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)p[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (n - i < 3)
                return XT_EPARSE;
            int hi = xt_hex_digit(p[i + 1]), lo = xt_hex_digit(p[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return XT_EPARSE;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (k + 1 >= cap)
            return XT_ERANGE;
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    return (int)k;
}

int xt_query_get(const char *query, const char *name, char *out, size_t cap)
{
    const char *p = query;
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        char nb[64];
        if (len > 0 && decode(p, nlen, nb, sizeof nb) >= 0 && strcmp(nb, name) == 0)
            return eq ? decode(eq + 1, len - nlen - 1, out, cap) : decode(p, 0, out, cap);
        p += len;
        if (*p == '&')
            p++;
    }
    return XT_ENOENT;
}

/* The value of parameter `name` as decimal digits after an optional '-'
 * (when neg_ok): 0 with *mag and *neg set, XT_ENOENT when absent, XT_EPARSE
 * or XT_ERANGE (over 2^64 - 1, or the value does not fit 32 bytes). */
static int query_digits(const char *query, const char *name, int neg_ok, uint64_t *mag, int *neg)
{
    char b[32];
    int n = xt_query_get(query, name, b, sizeof b);
    if (n == XT_ENOENT || n == XT_ERANGE)
        return n;
    if (n <= 0)
        return XT_EPARSE;
    int i = *neg = neg_ok && b[0] == '-';
    if (i == n)
        return XT_EPARSE;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (b[i] < '0' || b[i] > '9')
            return XT_EPARSE;
        uint64_t d = (uint64_t)(b[i] - '0');
        if (v > (UINT64_MAX - d) / 10) /* (exact: 18446744073709551615 itself is taken) */
            return XT_ERANGE;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

int xt_query_u64(const char *query, const char *name, uint64_t def, uint64_t max, int zero_ok, uint64_t *out)
{
    uint64_t v;
    int neg, rc = query_digits(query, name, 0, &v, &neg);
    if (rc == XT_ENOENT) {
        *out = def;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v > max || (v == 0 && !zero_ok))
        return XT_ERANGE;
    *out = v;
    return 0;
}

int xt_query_i64(const char *query, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    uint64_t v;
    int neg, rc = query_digits(query, name, 1, &v, &neg);
    if (rc == XT_ENOENT) {
        *out = def;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return XT_ERANGE;
    int64_t s = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (s < min || s > max)
        return XT_ERANGE;
    *out = s;
    return 0;
}

int xt_rest_error(char *out, size_t cap, int code, const char *msg, int keep_alive)
{
    char body[640], qm[560];
    if (xt_md_json_string(qm, sizeof qm, msg) == 0)
        return XT_ERANGE;
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"msg\":%s}\n", code, qm);
    if (n < 0 || (size_t)n >= sizeof body)
        return XT_ERANGE;
    return xt_http_response(out, cap, code, "application/json", body, (size_t)n, keep_alive);
}

/* ---- answers from the market data ------------------------------------------------ */

/* A request's outcome: code 200 with the body in m->http_body, or an error. */
typedef struct rest_res {
    int code;
    size_t len; /* of the body (200) */
    char msg[200];
} rest_res_t;

__attribute__((format(printf, 3, 4))) static void fail(rest_res_t *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->code = code;
    vsnprintf(r->msg, sizeof r->msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(ap);
}

/* The instrument named by the symbol parameter, or NULL with r set. */
static const xt_md_inst_t *symbol_of(mds_t *m, const char *query, rest_res_t *r)
{
    char b[64];
    int n = xt_query_get(query, "symbol", b, sizeof b);
    if (n == XT_ENOENT) {
        fail(r, 400, "missing parameter %s", "symbol");
        return NULL;
    }
    if (n <= 0) {
        fail(r, 400, "bad parameter %s", "symbol");
        return NULL;
    }
    const xt_md_inst_t *in = xt_md_find_symbol(&m->md, b, (size_t)n);
    if (in == NULL)
        fail(r, 404, "unknown symbol %s", b);
    return in;
}

/* The limit parameter (1..max, def when absent), or 0 with r set. */
static uint32_t limit_of(const char *query, uint32_t def, uint32_t max, rest_res_t *r)
{
    uint64_t v;
    if (xt_query_u64(query, "limit", def, max, 0, &v) == 0)
        return (uint32_t)v;
    fail(r, 400, "bad parameter limit: expected an integer 1..%u", max);
    return 0;
}

static const xt_md_sym_t *sym_of(mds_t *m, const xt_md_inst_t *in)
{
    return &m->pub[xt_md_inst_id(in)].sym[XT_TH_LIVE];
}

static int64_t ts_of(mds_t *m, const xt_md_inst_t *in)
{
    const inst_pub_t *p = &m->pub[xt_md_inst_id(in)];
    return p->last_ts ? p->last_ts : m->now;
}

/* {"data":[{"symbol":"BTC-USDT","id":0,"tick":"0.01","lot":"0.0001",...},...]} and a newline */
static void instruments(mds_t *m, rest_res_t *r)
{
    xt_text_t t = {m->http_body, m->http_cap, 0, 0};
    const char *sep = "";
    xt_text_printf(&t, "{\"data\":[");
    for (uint32_t i = 0; i < m->n_inst; i++) {
        const xt_md_inst_t *in = xt_md_find(&m->md, i);
        if (in == NULL)
            continue;
        const xt_md_sym_t *s = sym_of(m, in);
        char tick[XT_DECIMAL_BUFSZ], lot[XT_DECIMAL_BUFSZ];
        xt_decimal_format(s->tick, tick);
        xt_decimal_format(s->lot, lot);
        uint32_t id = xt_md_inst_id(in);
        xt_text_printf(&t,
                       "%s{\"symbol\":\"%s\",\"id\":%u,\"tick\":\"%s\",\"lot\":\"%s\",\"status\":\"%s\",\"band\":", sep,
                       s->symbol, id, tick, lot, xt_mds_halted(m, id) ? "halted" : "trading");
        char band[XT_MD_BAND_BUFSZ];
        xt_md_enc_band(band, xt_mds_trading(m, id, 0), s->tick);
        char zone[8]; /* as config.md writes it: UTC, +HH:MM, -HH:MM */
        xt_config_format_tz(zone, sizeof zone, xt_md_inst_tz(in), "UTC");
        xt_text_printf(&t, "%s,\"tz\":\"%s\",\"prev_close\":\"%s\"}", band, zone,
                       xt_md_inst_follows_ref(in) ? "ref" : "close");
        sep = ",";
    }
    xt_text_printf(&t, "]}\n");
    if (t.over) {
        fail(r, 500, "%s", "the answer does not fit its buffer");
        return;
    }
    r->code = 200;
    r->len = t.len;
}

/* One instrument's endpoints but klines. */
static void one(mds_t *m, xt_rest_endpoint_t e, const char *query, rest_res_t *r)
{
    const xt_md_inst_t *in = symbol_of(m, query, r);
    if (in == NULL)
        return;
    const xt_md_sym_t *sym = sym_of(m, in);
    char *o = m->http_body;
    size_t cap = m->http_cap, n = 0;
    int64_t ts = ts_of(m, in);
    uint32_t lim;
    switch (e) {
    case XT_REST_DEPTH: {
        if ((lim = limit_of(query, 20, m->s->cfg.md_max_levels, r)) == 0)
            return;
        uint32_t nb = xt_md_depth(in, XT_BUY, m->lv_b, lim), na = xt_md_depth(in, XT_SELL, m->lv_a, lim);
        n = xt_md_enc_depth(o, cap, sym, XT_CH_DEPTH, 1, xt_md_book_seq(in), -1, ts, m->lv_b, nb, m->lv_a, na);
        break;
    }
    case XT_REST_TRADES: {
        if ((lim = limit_of(query, 100 < m->tape_cap ? 100 : m->tape_cap, m->tape_cap, r)) == 0)
            return;
        uint32_t nt = xt_md_trades(in, m->tape, lim);
        n = xt_md_enc_trades(o, cap, sym, 1, ts, m->tape, nt);
        break;
    }
    case XT_REST_TICKER:
        n = xt_md_enc_ticker(o, cap, sym, ts, xt_md_ticker(in),
                             xt_mds_trading(m, xt_md_inst_id(in), xt_mds_halted(m, xt_md_inst_id(in))));
        break;
    case XT_REST_TIMELINE: {
        const xt_md_minute_t *pts;
        uint32_t np = xt_md_timeline(in, &pts);
        n = xt_md_enc_timeline(o, cap, sym, 1, ts, pts, np);
        break;
    }
    default: n = xt_mds_klines_body(m, in, query, r->msg, sizeof r->msg, &r->code); break;
    }
    if (r->code != 0 && r->code != 200)
        return;
    if (n == 0 || n + 1 >= cap) {
        fail(r, 500, "%s", "the answer does not fit its buffer");
        return;
    }
    o[n++] = '\n';
    r->code = 200;
    r->len = n;
}

/* ---- the signed endpoints ----------------------------------------------------------- */

int xt_mds_rest_init(mds_t *m)
{
    const xt_server_config_t *cfg = &m->s->cfg;
    if (xt_replay_init(&m->replay, cfg->rest_replay_cache) != 0)
        return -1;
    return xt_fills_init(&m->fills, cfg->rest_fill_accounts, cfg->rest_fills) != 0 ? -1 : 0;
}

void xt_mds_rest_destroy(mds_t *m)
{
    xt_replay_destroy(&m->replay);
    xt_fills_destroy(&m->fills);
}

static const xt_md_sym_t *fill_sym(void *ctx, uint32_t instrument)
{
    mds_t *m = ctx;
    return instrument < m->n_inst ? &m->pub[instrument].sym[XT_TH_LIVE] : NULL;
}

/* GET /api/v1/fills?symbol=&limit=&from_id= of account into m->http_body. */
static void fills(mds_t *m, uint32_t account, const char *query, rest_res_t *r)
{
    uint32_t inst = UINT32_MAX, lim;
    char b[8];
    if (xt_query_get(query, "symbol", b, sizeof b) != XT_ENOENT) {
        const xt_md_inst_t *in = symbol_of(m, query, r);
        if (in == NULL)
            return;
        inst = xt_md_inst_id(in);
    }
    if ((lim = limit_of(query, 100, XT_FILLS_LIMIT_MAX, r)) == 0)
        return;
    uint64_t from;
    if (xt_query_u64(query, "from_id", 0, UINT64_MAX, 1, &from) != 0) {
        fail(r, 400, "%s", "bad parameter from_id: expected a trade id, an integer");
        return;
    }
    /* Given, it pages from the oldest up (0 too: trade ids start at 1);
     * xt_fills_query's 0 is its absence, the newest. */
    if (from == 0 && xt_query_get(query, "from_id", b, sizeof b) != XT_ENOENT)
        from = 1;
    uint32_t n = xt_fills_query(&m->fills, account, inst, from, lim, m->fills.scratch);
    size_t len = xt_fills_encode(m->http_body, m->http_cap, m->fills.scratch, n, fill_sym, m);
    if (len == 0 || len + 1 >= m->http_cap) {
        fail(r, 500, "%s", "the answer does not fit its buffer");
        return;
    }
    m->http_body[len++] = '\n';
    r->code = 200;
    r->len = len;
}

/* A signed request: the signature checked (under the credentials' read
 * lock: SIGHUP swaps them on the gateway thread), then fills or orders. */
static int private_answer(mds_t *m, uint32_t c, xt_rest_endpoint_t e, const xt_http_req_t *req, const char *body,
                          size_t body_len, int keep)
{
    char *o = m->http_out;
    size_t cap = m->http_out_cap;
    if (e == XT_REST_FILLS && req->method != HTTP_GET)
        return xt_http_add_allow(o, cap, xt_rest_error(o, cap, 405, "only GET is served", keep), "GET");
    if (xt_mds_over_rate(m, c))
        return xt_rest_error(o, cap, 429, "too many requests: over md.messages_per_s on this connection", keep);
    xt_server_t *s = m->s;
    pthread_rwlock_rdlock(&s->creds_lock);
    xt_auth_result_t a =
        xt_rest_authenticate(&s->creds, &m->replay, req, http_method_str((enum http_method)req->method), body, body_len,
                             xt_now_ns() / 1000000, s->cfg.rest_recv_window_ms); /* the client's clock: the wall's */
    pthread_rwlock_unlock(&s->creds_lock);
    if (a.status != 0)
        return xt_rest_error(o, cap, a.status, a.msg, keep);
    if (e == XT_REST_ORDERS)
        return xt_mds_oe_rest(m, c, a.account, req->auth.v[XT_AUTH_KEY], req, body, body_len, keep);
    rest_res_t r = {0};
    fills(m, a.account, req->query, &r);
    if (r.code != 200)
        return xt_rest_error(o, cap, r.code, r.msg, keep);
    return xt_http_response(o, cap, 200, "application/json", m->http_body, r.len, keep);
}

int xt_mds_rest_answer(mds_t *m, uint32_t c, const xt_http_req_t *req, const char *body, size_t body_len, int keep)
{
    char *o = m->http_out;
    size_t cap = m->http_out_cap;
    rest_res_t r = {0};
    xt_rest_endpoint_t e = xt_rest_endpoint(req->path);
    if (e == XT_REST_FILLS || e == XT_REST_ORDERS)
        return private_answer(m, c, e, req, body, body_len, keep);
    if (e == XT_REST_UNKNOWN)
        fail(&r, 404, "%s",
             "unknown path; served: /api/v1/instruments, depth, trades, ticker, klines, timeline, fills, orders "
             "(docs/rest.md)");
    else if (req->method != HTTP_GET)
        fail(&r, 405, "%s", "only GET is served");
    else if (xt_mds_over_rate(m, c))
        fail(&r, 429, "%s", "too many requests: over md.messages_per_s on this connection");
    else if (e == XT_REST_INSTRUMENTS)
        instruments(m, &r);
    else
        one(m, e, req->query, &r);
    if (r.code == 405)
        return xt_http_add_allow(o, cap, xt_rest_error(o, cap, r.code, r.msg, keep), "GET");
    if (r.code != 200)
        return xt_rest_error(o, cap, r.code, r.msg, keep);
    return xt_http_response(o, cap, 200, "application/json", m->http_body, r.len, keep);
}
