/* fuzz_ws.c - libFuzzer target for the HTTP/WebSocket codec (src/net/ws.h).
 *
 * Byte 0 picks the mode.
 *
 * Even: the rest is the start of an HTTP request. Parsed whole, growing one
 * byte at a time, and in two calls cut where a hash of the input says: the
 * first nonzero answer of each way must be the same (at the same length, the
 * head's, when it is complete) with the same request. A complete head ends
 * in LF and its fields are NUL-terminated; the handshake answer and an HTTP
 * response are built from it.
 *
 * Odd: byte 1 picks the message buffer size, byte 2 how often the callback
 * stops the feed, the rest is what a client sends after the handshake. Fed
 * whole, byte by byte, and in random pieces (from a hash of the input) with
 * stops and resumes: the messages (a hash of opcode, length and bytes), their
 * count, the result and r->error must be the same each way; a failed reader
 * must call nothing again. Every message is checked against rules restated
 * here (a code-point UTF-8 decoder, the close codes of RFC 6455 §7.4).
 * Then the same bytes, as the payload of one masked TEXT or BINARY message
 * (one frame, or two fragments around a PING), must come back whole, or fail
 * with exactly 1009 (too big) or 1007 (text that is not UTF-8 - at the first
 * fragment already when that fragment begins no UTF-8 text).
 *
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net/ws.h"
#include "xt/error.h"

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- rules restated ---- */

/* UTF-8 by decoding code points: shortest form, no surrogates, <= U+10FFFF. */
static int ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i], min;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            k = 1, c &= 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            k = 2, c &= 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            k = 3, c &= 0x07, min = 0x10000;
        else
            return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            c = c << 6 | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* p[0..n) begins some UTF-8 text: it is UTF-8 with up to 3 bytes more
 * (every continuation byte a sequence may need is one of 80, 90, A0). */
static int ref_utf8_prefix(const uint8_t *p, size_t n)
{
    static const uint8_t more[] = {0x80, 0x90, 0xA0};
    uint8_t *t = malloc(n + 3);
    CHECK(t != NULL);
    if (n)
        memcpy(t, p, n);
    int ok = ref_utf8(t, n);
    for (int a = 0; a < 3 && !ok; a++) {
        t[n] = more[a];
        ok = ref_utf8(t, n + 1);
        for (int b = 0; b < 3 && !ok; b++) {
            t[n + 1] = more[b];
            ok = ref_utf8(t, n + 2);
            for (int c = 0; c < 3 && !ok; c++) {
                t[n + 2] = more[c];
                ok = ref_utf8(t, n + 3);
            }
        }
    }
    free(t);
    return ok;
}

static int ref_close_code(unsigned c)
{
    static const unsigned ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (c == ok[i])
            return 1;
    return c >= 3000 && c <= 4999;
}

/* ---- WebSocket streams ---- */

typedef struct rec {
    size_t cap;
    int stop_every;
    int count;
    uint64_t hash;
} rec_t;

static int rec_fn(void *ctx, const xt_ws_msg_t *m)
{
    rec_t *r = ctx;
    CHECK(m->data != NULL || m->len == 0);
    switch (m->opcode) {
    case XT_WS_OP_TEXT: CHECK(ref_utf8(m->data, m->len)); /* fall through */
    case XT_WS_OP_BINARY: CHECK(m->len <= r->cap); break;
    case XT_WS_OP_CLOSE:
        CHECK(m->len != 1 && m->len <= 125);
        if (m->len >= 2)
            CHECK(ref_close_code((unsigned)m->data[0] << 8 | m->data[1]) && ref_utf8(m->data + 2, m->len - 2));
        break;
    case XT_WS_OP_PING:
    case XT_WS_OP_PONG: CHECK(m->len <= 125); break;
    default: CHECK(0);
    }
    uint8_t h[9] = {(uint8_t)m->opcode};
    for (int i = 0; i < 8; i++)
        h[1 + i] = (uint8_t)((uint64_t)m->len >> (8 * i));
    r->hash = fnv(fnv(r->hash, h, sizeof h), m->data, m->len);
    r->count++;
    return r->stop_every && r->count % r->stop_every == 0;
}

typedef struct outcome {
    int rc, error, count;
    uint64_t hash;
} outcome_t;

/* One feed of reader r at *at: the rest (rng NULL, step 0), step bytes, or
 * a random size; resumes after a stop. Returns 1 once r is done. */
static int feed_once(xt_ws_reader_t *r, rec_t *rec, const uint8_t *s, size_t n, size_t *at, int *rc, size_t step,
                     uint64_t *rng)
{
    if (*rc < 0 || (*at >= n && *rc == 0))
        return 1;
    size_t piece = n - *at;
    if (rng)
        piece = (size_t)(next_rand(rng) % (next_rand(rng) & 1 ? 8 : 3000)) + 1;
    else if (step)
        piece = step;
    if (piece > n - *at)
        piece = n - *at;
    *rc = xt_ws_reader_feed(r, s + *at, piece, rec_fn, rec);
    if (*rc > 0) {
        CHECK(r->in_pos <= piece);
        *at += r->in_pos;
        return 0;
    }
    *at += piece;
    if (*rc < 0) {
        CHECK(*rc == -r->error && xt_ws_reader_idle(r)); /* a failed reader gives its scratch back */
        int before = rec->count;
        CHECK(xt_ws_reader_feed(r, s, n, rec_fn, rec) == *rc && rec->count == before);
        return 1;
    }
    return 0;
}

/* Feeds s[0..n) to two readers sharing one pool, in turns, each in its own
 * pieces; both must see the same messages. Their scratch changes hands
 * whenever they go idle, so state left in a context given back would show. */
static outcome_t run(const uint8_t *s, size_t n, xt_ws_pool_t *pool, int stop_every, size_t step, uint64_t *rng)
{
    xt_ws_reader_t r[2];
    rec_t rec[2];
    size_t at[2] = {0, 0};
    int rc[2] = {0, 0}, done[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        xt_ws_reader_init(&r[k], pool);
        rec[k] = (rec_t){.cap = xt_ws_pool_msg_cap(pool), .stop_every = stop_every, .hash = 0xcbf29ce484222325ull};
    }
    while (!done[0] || !done[1])
        for (int k = 0; k < 2; k++)
            if (!done[k])
                done[k] = feed_once(&r[k], &rec[k], s, n, &at[k], &rc[k], step, rng);
    CHECK(rc[0] == rc[1] && r[0].error == r[1].error && rec[0].count == rec[1].count && rec[0].hash == rec[1].hash);
    CHECK(xt_ws_reader_idle(&r[0]) == xt_ws_reader_idle(&r[1]));
    CHECK(xt_ws_pool_in_use(pool) == (xt_ws_reader_idle(&r[0]) ? 0u : 2u));
    outcome_t o = {.rc = rc[0], .error = r[0].error, .count = rec[0].count, .hash = rec[0].hash};
    xt_ws_reader_destroy(&r[0]);
    xt_ws_reader_destroy(&r[1]);
    CHECK(xt_ws_pool_in_use(pool) == 0);
    return o;
}

static void same(const outcome_t *a, const outcome_t *b)
{
    CHECK(a->rc == b->rc && a->error == b->error && a->count == b->count && a->hash == b->hash);
}

/* Appends a masked client frame. */
static size_t put_frame(uint8_t *o, int fin, int op, const uint8_t key[4], const uint8_t *p, size_t n)
{
    size_t h = xt_ws_frame_header(o, op, n);
    o[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    o[1] |= 0x80;
    memcpy(o + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        o[h + i] = p[i] ^ key[i % 4];
    return h + n;
}

/* Our header, read back per RFC 6455 §5.2. */
static void check_header(uint64_t len)
{
    uint8_t h[XT_WS_HEADER_MAX];
    size_t n = xt_ws_frame_header(h, XT_WS_OP_BINARY, len);
    CHECK(h[0] == 0x82 && (h[1] & 0x80) == 0);
    uint64_t got = h[1] & 0x7F;
    size_t ext = got == 126 ? 2 : got == 127 ? 8 : 0;
    CHECK(n == 2 + ext);
    if (ext)
        got = 0;
    for (size_t i = 0; i < ext; i++)
        got = got << 8 | h[2 + i];
    CHECK(got == len && (ext != 2 || len >= 126) && (ext != 8 || len > 0xFFFF));
}

static int expect_fn(void *ctx, const xt_ws_msg_t *m)
{
    const xt_ws_msg_t *want = ctx;
    if (m->opcode == XT_WS_OP_PING)
        return 0;
    CHECK(m->opcode == want->opcode && m->len == want->len && memcmp(m->data, want->data, m->len) == 0);
    return 7;
}

/* p[0..n) as the payload of one message, whole or in two fragments. */
static void one_message(const uint8_t *p, size_t n, xt_ws_pool_t *pool, int op, uint64_t seed)
{
    uint8_t *s = malloc(n + (size_t)3 * (XT_WS_HEADER_MAX + 4) + 125); /* three headers, a PING of up to 125 bytes */
    CHECK(s != NULL);
    uint8_t key[4] = {(uint8_t)seed, (uint8_t)(seed >> 8), (uint8_t)(seed >> 16), (uint8_t)(seed >> 24)};
    size_t k = (seed >> 32) % (n + 1), len = 0;
    if (seed & 1) {
        len = put_frame(s, 1, op, key, p, n);
    } else {
        len = put_frame(s, 0, op, key, p, k);
        len += put_frame(s + len, 1, XT_WS_OP_PING, key, p, k < 125 ? k : 125);
        len += put_frame(s + len, 1, XT_WS_OP_CONT, key, p + k, n - k);
    }
    size_t cap = xt_ws_pool_msg_cap(pool);
    xt_ws_reader_t r;
    xt_ws_reader_init(&r, pool);
    xt_ws_msg_t want = {.opcode = op, .data = p, .len = n};
    int rc = xt_ws_reader_feed(&r, s, len, expect_fn, &want);
    if (op == XT_WS_OP_TEXT && !(seed & 1) && k <= cap && !ref_utf8_prefix(p, k))
        CHECK(rc == -XT_WS_CLOSE_BAD_DATA); /* failed at the first fragment (RFC 6455 8.1), before the second's size */
    else if (n > cap)
        CHECK(rc == -XT_WS_CLOSE_TOO_BIG);
    else if (op == XT_WS_OP_TEXT && !ref_utf8(p, n))
        CHECK(rc == -XT_WS_CLOSE_BAD_DATA);
    else
        CHECK(rc == 7 && r.in_pos == len);
    xt_ws_reader_destroy(&r);
    free(s);
}

static void fuzz_frames(const uint8_t *data, size_t size, uint64_t seed)
{
    static const size_t caps[8] = {0, 1, 7, 125, 126, 1000, 65536, 70000};
    if (size < 3)
        return;
    size_t cap = caps[data[1] % 8];
    int stop_every = data[2] % 4;
    const uint8_t *s = data + 3;
    size_t n = size - 3;
    xt_ws_pool_t *pool = NULL;
    CHECK(xt_ws_pool_create(&pool, cap, 2) == 0);
    outcome_t whole = run(s, n, pool, 0, 0, NULL);
    outcome_t bytes = run(s, n, pool, 0, 1, NULL);
    same(&whole, &bytes);
    uint64_t rng = seed | 1;
    outcome_t rnd = run(s, n, pool, stop_every, 0, &rng);
    same(&whole, &rnd);
    outcome_t stops = run(s, n, pool, 1, 0, NULL);
    same(&whole, &stops);
    one_message(s, n, pool, data[2] & 4 ? XT_WS_OP_TEXT : XT_WS_OP_BINARY, seed);
    check_header(n);
    check_header((seed >> (seed & 63)) & 0x7FFFFFFFFFFFFFFFull);
    xt_ws_pool_destroy(pool);
}

/* ---- HTTP request heads ---- */

static void same_req(const xt_http_req_t *a, const xt_http_req_t *b)
{
    CHECK(a->method == b->method && strcmp(a->path, b->path) == 0 && strcmp(a->query, b->query) == 0);
    CHECK(a->keep_alive == b->keep_alive && a->upgrade_websocket == b->upgrade_websocket);
    CHECK(a->ws_version_ok == b->ws_version_ok && strcmp(a->ws_key, b->ws_key) == 0);
    CHECK(a->content_length == b->content_length);
}

static void check_req(const uint8_t *h, int rc, const xt_http_req_t *req)
{
    CHECK(rc <= XT_HTTP_HEAD_MAX && h[rc - 1] == '\n');
    CHECK(memchr(req->path, 0, sizeof req->path) && memchr(req->query, 0, sizeof req->query));
    size_t kn = strnlen(req->ws_key, sizeof req->ws_key);
    CHECK(kn == 0 || kn == 24);
    CHECK(req->keep_alive <= 1 && req->upgrade_websocket <= 1 && req->ws_version_ok <= 1);
    char out[1024];
    if (kn)
        CHECK(xt_ws_handshake_response(req->ws_key, out, sizeof out) == 129);
    size_t qn = strlen(req->query);
    int n = xt_http_response(out, sizeof out, 200, "text/plain", req->query, qn, req->keep_alive);
    CHECK(n > 0 && (size_t)n <= sizeof out && memcmp(out + (size_t)n - qn, req->query, qn) == 0);
}

static void fuzz_head(const uint8_t *h, size_t n, uint64_t seed)
{
    xt_http_parser_t p;
    xt_http_req_t whole, part;
    xt_http_parser_init(&p);
    int rc = xt_http_parse_head(&p, h, n, &whole);
    CHECK(rc == 0 || rc == XT_EPARSE || rc == XT_ERANGE || (rc > 0 && (size_t)rc <= n));
    if (rc > 0)
        check_req(h, rc, &whole);
    xt_http_parser_init(&p); /* growing one byte at a time */
    int got = 0;
    size_t k = 0;
    while (got == 0 && k < n)
        got = xt_http_parse_head(&p, h, ++k, &part);
    CHECK(got == rc);
    if (rc > 0) {
        CHECK(k == (size_t)rc);
        same_req(&whole, &part);
    }
    xt_http_parser_init(&p); /* two calls */
    got = xt_http_parse_head(&p, h, (size_t)(seed % (n + 1)), &part);
    if (got == 0)
        got = xt_http_parse_head(&p, h, n, &part);
    CHECK(got == rc);
    if (rc > 0)
        same_req(&whole, &part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint64_t seed = fnv(0xcbf29ce484222325ull, data, size);
    if (data[0] & 1)
        fuzz_frames(data, size, seed);
    else
        fuzz_head(data + 1, size - 1, seed);
    return 0;
}
