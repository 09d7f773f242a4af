/* test_ws.c - WebSocket frames (src/net/ws.c, ws_reader.c): inbound frames
 * through wslay with every check of RFC 6455 (masking, reserved bits,
 * fragmentation, control frames, UTF-8, CLOSE payloads, lengths), every
 * split of the bytes and stops in the middle giving the same messages, the
 * scratch shared by the readers, and the outbound frame headers. HTTP heads
 * are in test_http_head.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/ws.h"
#include "xt/error.h"

/* ---- inbound frames: helpers ----------------------------------------------------- */

static const uint8_t mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends a client frame at out + *at. lenform 0: the shortest length
 * encoding, else 126 or 127 forced. */
static void put_frame_x(uint8_t *out, size_t *at, int fin, int rsv, int op, int masked, int lenform,
                        const void *payload, size_t n)
{
    uint8_t *o = out + *at;
    size_t h = 0;
    o[h++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    uint8_t m = masked ? 0x80 : 0;
    if (lenform == 0)
        lenform = n < 126 ? 0 : n <= 0xFFFF ? 126 : 127;
    if (lenform == 0) {
        o[h++] = (uint8_t)(m | n);
    } else if (lenform == 126) {
        o[h++] = m | 126;
        o[h++] = (uint8_t)(n >> 8);
        o[h++] = (uint8_t)n;
    } else {
        o[h++] = m | 127;
        for (int i = 0; i < 8; i++)
            o[h++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    if (masked) {
        memcpy(o + h, mask_key, 4);
        h += 4;
    }
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        o[h + i] = masked ? (uint8_t)(p[i] ^ mask_key[i % 4]) : p[i];
    *at += h + n;
}

static void put_frame(uint8_t *out, size_t *at, int fin, int op, const void *payload, size_t n)
{
    put_frame_x(out, at, fin, 0, op, 1, 0, payload, n);
}

/* The messages seen: opcode, length (4 bytes), data, one after another. */
typedef struct rec {
    uint8_t *log;
    size_t len, cap;
    int count;
    int stop_every; /* return 1 from every stop_every-th message; 0 never */
} rec_t;

static int rec_fn(void *ctx, const xt_ws_msg_t *m)
{
    rec_t *r = ctx;
    assert_true(r->len + 5 + m->len <= r->cap);
    r->log[r->len++] = (uint8_t)m->opcode;
    for (int i = 0; i < 4; i++)
        r->log[r->len++] = (uint8_t)(m->len >> (8 * i));
    if (m->len)
        memcpy(r->log + r->len, m->data, m->len);
    r->len += m->len;
    r->count++;
    return r->stop_every && r->count % r->stop_every == 0;
}

typedef struct result {
    uint8_t *log;
    size_t len;
    int count;
    int rc; /* of the last feed */
} result_t;

#define LOG_CAP (1u << 20)

/* Feeds s[0..n) in pieces that end at cuts[0..ncuts) (then the rest), with
 * a message buffer of cap bytes; resumes after a stop. */
static result_t run_cuts(const uint8_t *s, size_t n, size_t cap, const size_t *cuts, size_t ncuts, int stop_every)
{
    xt_ws_reader_t r;
    xt_ws_pool_t *pool = NULL;
    rec_t rec = {.log = malloc(LOG_CAP), .cap = LOG_CAP, .stop_every = stop_every};
    assert_int_equal(xt_ws_pool_create(&pool, cap, 1), 0);
    assert_non_null(rec.log);
    xt_ws_reader_init(&r, pool);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (end < at)
            continue;
        for (;;) {
            rc = xt_ws_reader_feed(&r, s + at, end - at, rec_fn, &rec);
            if (rc < 0) {
                assert_int_equal(r.error, -rc);
                at = end;
                break;
            }
            if (rc == 0) {
                at = end;
                break;
            }
            assert_int_equal(rc, 1);
            assert_true(r.in_pos <= end - at);
            at += r.in_pos;
        }
    }
    if (rc < 0) { /* failed for good: calls nothing */
        int before = rec.count;
        assert_int_equal(xt_ws_reader_feed(&r, s, n, rec_fn, &rec), rc);
        assert_int_equal(rec.count, before);
    }
    xt_ws_reader_destroy(&r);
    assert_int_equal(xt_ws_pool_in_use(pool), 0);
    xt_ws_pool_destroy(pool);
    return (result_t){.log = rec.log, .len = rec.len, .count = rec.count, .rc = rc};
}

static result_t run_whole(const uint8_t *s, size_t n, size_t cap)
{
    return run_cuts(s, n, cap, NULL, 0, 0);
}

static void same_result(const result_t *a, const result_t *b)
{
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->log, b->log, a->len);
}

/* Every split gives the whole run's result: each cut position, byte by
 * byte, and stops after every message. Returns the whole run's result. */
static result_t run_all_splits(const uint8_t *s, size_t n, size_t cap)
{
    result_t whole = run_whole(s, n, cap);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t k = 0; k <= n; k++) {
        result_t one = run_cuts(s, n, cap, &k, 1, 0);
        same_result(&whole, &one);
        free(one.log);
    }
    for (size_t k = 0; k <= n; k++)
        cuts[k] = k;
    result_t bytes = run_cuts(s, n, cap, cuts, n + 1, 0);
    same_result(&whole, &bytes);
    free(bytes.log);
    result_t stops = run_cuts(s, n, cap, NULL, 0, 1);
    same_result(&whole, &stops);
    free(stops.log);
    result_t both = run_cuts(s, n, cap, cuts, n + 1, 2);
    same_result(&whole, &both);
    free(both.log);
    free(cuts);
    return whole;
}

/* The i-th message of a result. */
static void msg_at(const result_t *res, int i, int *op, const uint8_t **data, size_t *len)
{
    size_t at = 0;
    for (int k = 0;; k++) {
        assert_true(at + 5 <= res->len);
        uint32_t n = res->log[at + 1] | (uint32_t)res->log[at + 2] << 8 | (uint32_t)res->log[at + 3] << 16 |
                     (uint32_t)res->log[at + 4] << 24;
        if (k == i) {
            *op = res->log[at];
            *data = res->log + at + 5;
            *len = n;
            return;
        }
        at += 5 + n;
    }
}

static void expect_msg(const result_t *res, int i, int op, const void *data, size_t len)
{
    int got_op;
    const uint8_t *got;
    size_t got_len;
    msg_at(res, i, &got_op, &got, &got_len);
    assert_int_equal(got_op, op);
    assert_int_equal(got_len, len);
    if (len)
        assert_memory_equal(got, data, len);
}

/* One stream through every split; its result. */
static result_t check_stream(const uint8_t *s, size_t n, size_t cap, int want_rc, int want_count)
{
    result_t res = run_all_splits(s, n, cap);
    assert_int_equal(res.rc, want_rc);
    assert_int_equal(res.count, want_count);
    return res;
}

static void check_fails(const uint8_t *s, size_t n, size_t cap, int want_rc, int want_count)
{
    result_t res = check_stream(s, n, cap, want_rc, want_count);
    free(res.log);
}

/* ---- inbound frames: tests ------------------------------------------------------- */

static void ws_text_single(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "Hello", 5);
    /* RFC 6455 §5.7: a masked "Hello" */
    static const uint8_t rfc[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_memory_equal(s, rfc, sizeof rfc);
    result_t res = check_stream(s, n, 64, 0, 1);
    expect_msg(&res, 0, XT_WS_OP_TEXT, "Hello", 5);
    free(res.log);
}

static void ws_fragmented_with_ping(void **state)
{
    (void)state;
    uint8_t s[128];
    size_t n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "Hel", 3);
    put_frame(s, &n, 1, XT_WS_OP_PING, "p", 1);
    put_frame(s, &n, 0, XT_WS_OP_CONT, "", 0);
    put_frame(s, &n, 1, XT_WS_OP_PONG, "", 0);
    put_frame(s, &n, 1, XT_WS_OP_CONT, "lo", 2);
    put_frame(s, &n, 0, XT_WS_OP_BINARY, "\x00\x01", 2);
    put_frame(s, &n, 1, XT_WS_OP_CONT, "\x02", 1);
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "", 0);
    put_frame(s, &n, 1, XT_WS_OP_CLOSE,
              "\x03\xe8"
              "bye",
              5);
    result_t res = check_stream(s, n, 16, 0, 6);
    expect_msg(&res, 0, XT_WS_OP_PING, "p", 1);
    expect_msg(&res, 1, XT_WS_OP_PONG, "", 0);
    expect_msg(&res, 2, XT_WS_OP_TEXT, "Hello", 5);
    expect_msg(&res, 3, XT_WS_OP_BINARY, "\x00\x01\x02", 3);
    expect_msg(&res, 4, XT_WS_OP_TEXT, "", 0);
    expect_msg(&res, 5, XT_WS_OP_CLOSE,
               "\x03\xe8"
               "bye",
               5);
    free(res.log);
}

static void ws_unmasked(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "ok", 2);
    put_frame_x(s, &n, 1, 0, XT_WS_OP_TEXT, 0, 0, "Hello", 5);
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "never", 5);
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 1);
    n = 0; /* unmasked control frame, empty */
    put_frame_x(s, &n, 1, 0, XT_WS_OP_PING, 0, 0, "", 0);
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
}

static void ws_rsv_and_opcodes(void **state)
{
    (void)state;
    for (int rsv = 1; rsv < 8; rsv++) {
        uint8_t s[64];
        size_t n = 0;
        put_frame_x(s, &n, 1, rsv, XT_WS_OP_TEXT, 1, 0, "x", 1);
        check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
        n = 0;
        put_frame_x(s, &n, 1, rsv, XT_WS_OP_PING, 1, 0, "", 0);
        check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
    }
    static const int bad_ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++) {
        uint8_t s[64];
        size_t n = 0;
        put_frame(s, &n, 1, bad_ops[i], "x", 1);
        check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
        n = 0;
        put_frame(s, &n, 1, bad_ops[i], "", 0);
        check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
    }
}

static void ws_bad_control(void **state)
{
    (void)state;
    uint8_t big[200], s[256];
    memset(big, 'b', sizeof big);
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_PING, big, 125); /* the largest allowed */
    result_t res = check_stream(s, n, 8, 0, 1);
    expect_msg(&res, 0, XT_WS_OP_PING, big, 125);
    free(res.log);
    static const int ops[] = {XT_WS_OP_PING, XT_WS_OP_PONG, XT_WS_OP_CLOSE};
    for (size_t i = 0; i < 3; i++) {
        n = 0;
        put_frame(s, &n, 1, ops[i], big, 126);
        check_fails(s, n, 1024, -XT_WS_CLOSE_PROTOCOL, 0);
        n = 0; /* fragmented */
        put_frame(s, &n, 0, ops[i], "", 0);
        check_fails(s, n, 1024, -XT_WS_CLOSE_PROTOCOL, 0);
    }
}

static void ws_bad_fragmentation(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_CONT, "x", 1); /* continuation without start */
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "a", 1);
    put_frame(s, &n, 0, XT_WS_OP_CONT, "", 0); /* after a whole message */
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 1);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "a", 1);
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "b", 1); /* a new message inside one */
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 0);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_BINARY, "a", 1);
    put_frame(s, &n, 1, XT_WS_OP_PING, "", 0);
    put_frame(s, &n, 0, XT_WS_OP_BINARY, "", 0);
    check_fails(s, n, 64, -XT_WS_CLOSE_PROTOCOL, 1);
}

static void ws_too_big(void **state)
{
    (void)state;
    uint8_t s[256], p[100];
    memset(p, 'x', sizeof p);
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 10); /* exactly the cap */
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 11);
    check_fails(s, n, 10, -XT_WS_CLOSE_TOO_BIG, 1);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, p, 6);
    put_frame(s, &n, 1, XT_WS_OP_PING, p, 20); /* control frames do not count */
    put_frame(s, &n, 0, XT_WS_OP_CONT, p, 4);
    put_frame(s, &n, 1, XT_WS_OP_CONT, p, 1);
    check_fails(s, n, 10, -XT_WS_CLOSE_TOO_BIG, 1);
    n = 0; /* a huge 64-bit length: refused on its header and first byte */
    s[n++] = 0x82;
    s[n++] = 0xFF;
    static const uint8_t len[8] = {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    memcpy(s + n, len, 8);
    n += 8;
    memcpy(s + n, mask_key, 4);
    n += 4;
    s[n++] = 0;
    check_fails(s, n, 1000, -XT_WS_CLOSE_TOO_BIG, 0);
    s[3] = 0xFF; /* bit 63 set: wslay refuses it */
    s[2] = 0xFF;
    check_fails(s, n, 1000, -XT_WS_CLOSE_PROTOCOL, 0);
    /* a message buffer of 0 bytes: only empty messages */
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "", 0);
    put_frame(s, &n, 1, XT_WS_OP_PING, "abc", 3);
    put_frame(s, &n, 1, XT_WS_OP_BINARY, "a", 1);
    check_fails(s, n, 0, -XT_WS_CLOSE_TOO_BIG, 2);
}

/* A header announcing more than a message may hold is refused on its own
 * (so is one that breaks the rules): wslay hands a frame back only with
 * payload, so a client that sends the header and stops was left open
 * (probe). Within the cap it waits. */
static void ws_too_big_on_its_header(void **state)
{
    (void)state;
    uint8_t s[32];
    size_t n = 0;
    s[n++] = 0x81; /* TEXT, 16-bit length 300 > the cap of 299 */
    s[n++] = 0xFE;
    s[n++] = 0x01;
    s[n++] = 0x2C;
    memcpy(s + n, mask_key, 4);
    check_fails(s, n + 4, 299, -XT_WS_CLOSE_TOO_BIG, 0);
    check_fails(s, n + 4, 300, 0, 0); /* the cap: it waits for the payload */
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "ab", 2); /* a message before it is delivered first */
    s[n++] = 0x82;                               /* BINARY, 64-bit length 2^40 */
    s[n++] = 0xFF;
    static const uint8_t len[8] = {0, 0, 0, 1, 0, 0, 0, 0};
    memcpy(s + n, len, 8);
    n += 8;
    memcpy(s + n, mask_key, 4);
    check_fails(s, n + 4, 1000, -XT_WS_CLOSE_TOO_BIG, 1);
    n = 0; /* a continuation counts what its message holds already */
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "abcdef", 6);
    s[n++] = 0x80; /* CONT, length 5: 11 in all */
    s[n++] = 0x85;
    memcpy(s + n, mask_key, 4);
    check_fails(s, n + 4, 10, -XT_WS_CLOSE_TOO_BIG, 0);
    check_fails(s, n + 4, 11, 0, 0);
    /* any fault a header shows is found on it alone, in the order a first
     * piece is checked: unmasked before too big */
    static const uint8_t unmasked[2] = {0x81, 0x05};
    check_fails(unmasked, 2, 10, -XT_WS_CLOSE_PROTOCOL, 0);
    static const uint8_t rsv[6] = {0xC1, 0x85, 1, 2, 3, 4};
    check_fails(rsv, 6, 1000, -XT_WS_CLOSE_PROTOCOL, 0);
}

static void ws_bad_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int alone_bad; /* its first byte alone is no start of UTF-8 */
    } bad[] = {
        {"\xC0\x80", 2, 1},         /* overlong NUL */
        {"\xC1\xBF", 2, 1},         /* overlong */
        {"\xE0\x80\x80", 3, 0},     /* overlong */
        {"\xE0\x9F\xBF", 3, 0},     /* overlong U+07FF */
        {"\xF0\x80\x80\x80", 4, 0}, /* overlong */
        {"\xF0\x8F\xBF\xBF", 4, 0}, /* overlong U+FFFF */
        {"\xED\xA0\x80", 3, 0},     /* U+D800 */
        {"\xED\xBF\xBF", 3, 0},     /* U+DFFF */
        {"\xF4\x90\x80\x80", 4, 0}, /* U+110000 */
        {"\xF5\x80\x80\x80", 4, 1}, /* lead byte over F4 */
        {"\xFE", 1, 1},             /* never in UTF-8 */
        {"\xFF", 1, 1},             /* never in UTF-8 */
        {"\x80", 1, 1},             /* lone continuation */
        {"a\xE2\x82", 3, 0},        /* truncated at the end */
        {"\xE2\x82"
         "a",
         3, 0},                          /* truncated inside */
        {"abcdefgh\xCE\xBA\xE1", 11, 0}, /* after an ASCII run */
        {"\xF0\x9D\x84", 3, 0},          /* truncated 4-byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t s[64];
        size_t n = 0;
        put_frame(s, &n, 1, XT_WS_OP_TEXT, bad[i].s, bad[i].n);
        check_fails(s, n, 64, -XT_WS_CLOSE_BAD_DATA, 0);
        n = 0; /* the same bytes are a fine binary message */
        put_frame(s, &n, 1, XT_WS_OP_BINARY, bad[i].s, bad[i].n);
        check_fails(s, n, 64, 0, 1);
        n = 0; /* fragmented: a first byte that starts no UTF-8 fails at once, before the ping */
        put_frame(s, &n, 0, XT_WS_OP_TEXT, bad[i].s, 1);
        put_frame(s, &n, 1, XT_WS_OP_PING, "", 0);
        put_frame(s, &n, 1, XT_WS_OP_CONT, bad[i].s + 1, bad[i].n - 1);
        check_fails(s, n, 64, -XT_WS_CLOSE_BAD_DATA, !bad[i].alone_bad);
    }
}

/* RFC 6455 8.1: text found not UTF-8 fails the connection there, not at
 * the end of its message - which a client may never send. */
static void ws_utf8_fails_early(void **state)
{
    (void)state;
    uint8_t s[128];
    size_t n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "ok\xFF", 3); /* a first fragment, no end yet */
    check_fails(s, n, 64, -XT_WS_CLOSE_BAD_DATA, 0);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "ok", 2);
    put_frame(s, &n, 0, XT_WS_OP_CONT, "\xED\xA0", 2); /* a surrogate's start, in a later fragment */
    check_fails(s, n, 64, -XT_WS_CLOSE_BAD_DATA, 0);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "ok\xF4\x8F", 4); /* a sequence cut short: waits for its end */
    check_fails(s, n, 64, 0, 0);
    n = 0;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "ok\xF4\x90", 4); /* past U+10FFFF whatever comes */
    check_fails(s, n, 64, -XT_WS_CLOSE_BAD_DATA, 0);
    char text[40];
    memset(text, 'a', sizeof text);
    text[5] = (char)0xC0;
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, text, sizeof text); /* one frame, the first 10 bytes of it here */
    check_fails(s, n - (sizeof text - 10), 64, -XT_WS_CLOSE_BAD_DATA, 0);
    text[5] = 'a'; /* the same, fine: waits */
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, text, sizeof text);
    check_fails(s, n - (sizeof text - 10), 64, 0, 0);
}

static void ws_utf8_split_fragments(void **state)
{
    (void)state;
    /* U+007F U+0080 U+07FF U+0800 U+D7FF U+E000 U+FFFF U+10000 U+10FFFF, € and 𝄞 */
    static const char text[] = "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
                               "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xE2\x82\xAC\xF0\x9D\x84\x9E";
    size_t tn = sizeof text - 1;
    for (size_t k = 0; k <= tn; k++) { /* two fragments, split at every byte */
        uint8_t s[128];
        size_t n = 0;
        put_frame(s, &n, 0, XT_WS_OP_TEXT, text, k);
        put_frame(s, &n, 1, XT_WS_OP_PONG, "", 0);
        put_frame(s, &n, 1, XT_WS_OP_CONT, text + k, tn - k);
        result_t res = run_whole(s, n, 64);
        assert_int_equal(res.rc, 0);
        assert_int_equal(res.count, 2);
        expect_msg(&res, 1, XT_WS_OP_TEXT, text, tn);
        free(res.log);
    }
    uint8_t s[256];
    size_t n = 0;
    for (size_t i = 0; i < tn; i++) /* one byte per fragment */
        put_frame(s, &n, i + 1 == tn, i ? XT_WS_OP_CONT : XT_WS_OP_TEXT, text + i, 1);
    result_t res = check_stream(s, n, 64, 0, 1);
    expect_msg(&res, 0, XT_WS_OP_TEXT, text, tn);
    free(res.log);
}

static void ws_close_payloads(void **state)
{
    (void)state;
    static const unsigned ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999};
    static const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t s[64], p[2] = {(uint8_t)(ok[i] >> 8), (uint8_t)ok[i]};
        size_t n = 0;
        put_frame(s, &n, 1, XT_WS_OP_CLOSE, p, 2);
        check_fails(s, n, 0, 0, 1);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t s[64], p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        size_t n = 0;
        put_frame(s, &n, 1, XT_WS_OP_CLOSE, p, 2);
        check_fails(s, n, 0, -XT_WS_CLOSE_PROTOCOL, 0);
    }
    uint8_t s[64];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "", 0); /* no code: fine */
    check_fails(s, n, 0, 0, 1);
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "\x03", 1); /* one byte */
    check_fails(s, n, 0, -XT_WS_CLOSE_PROTOCOL, 0);
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "\x03\xe8\xce\xba\xe1\xbd\xb9", 7); /* UTF-8 reason */
    check_fails(s, n, 0, 0, 1);
    n = 0;
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "\x03\xe8\xce\xba\xe1\xbd", 6); /* truncated reason */
    check_fails(s, n, 0, -XT_WS_CLOSE_BAD_DATA, 0);
}

static void ws_lengths(void **state)
{
    (void)state;
    size_t big = 70000;
    uint8_t *p = malloc(big), *s = malloc(2 * big + 64);
    assert_non_null(p);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 126);   /* smallest 16-bit */
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 300);   /* 16-bit */
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 65535); /* largest 16-bit */
    put_frame(s, &n, 0, XT_WS_OP_BINARY, p, 65536); /* smallest 64-bit */
    put_frame(s, &n, 1, XT_WS_OP_CONT, p + 65536, big - 65536);
    assert_int_equal(s[1], 0x80 | 126);
    result_t whole = run_whole(s, n, big);
    assert_int_equal(whole.rc, 0);
    assert_int_equal(whole.count, 4);
    expect_msg(&whole, 0, XT_WS_OP_BINARY, p, 126);
    expect_msg(&whole, 1, XT_WS_OP_BINARY, p, 300);
    expect_msg(&whole, 2, XT_WS_OP_BINARY, p, 65535);
    expect_msg(&whole, 3, XT_WS_OP_BINARY, p, big);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t k = 0; k <= n; k++)
        cuts[k] = k;
    result_t bytes = run_cuts(s, n, big, cuts, n + 1, 0);
    same_result(&whole, &bytes);
    for (size_t k = 0; k <= n; k++)
        cuts[k] = k * 4093 % (n + 1);
    result_t odd = run_cuts(s, n, big, cuts, n / 4093 + 1, 1);
    same_result(&whole, &odd);
    free(whole.log);
    free(bytes.log);
    free(odd.log);
    free(cuts);
    /* non-minimal length encodings are refused */
    n = 0;
    put_frame_x(s, &n, 1, 0, XT_WS_OP_BINARY, 1, 126, p, 125);
    check_fails(s, n, big, -XT_WS_CLOSE_PROTOCOL, 0);
    n = 0;
    put_frame_x(s, &n, 1, 0, XT_WS_OP_BINARY, 1, 127, p, 65535);
    check_fails(s, n, big, -XT_WS_CLOSE_PROTOCOL, 0);
    free(p);
    free(s);
}

static void ws_every_split(void **state)
{
    (void)state;
    uint8_t s[1024], p[300];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)i;
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "{\"op\":\"subscribe\"}", 18);
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "\xE2\x82", 2);
    put_frame(s, &n, 1, XT_WS_OP_PING, "12345678", 8);
    put_frame(s, &n, 1, XT_WS_OP_CONT, "\xAC", 1);
    put_frame(s, &n, 1, XT_WS_OP_BINARY, p, 300);
    put_frame(s, &n, 1, XT_WS_OP_PONG, "", 0);
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "\x03\xe8", 2);
    size_t good = n;
    result_t res = check_stream(s, n, 512, 0, 6);
    expect_msg(&res, 1, XT_WS_OP_PING, "12345678", 8);
    expect_msg(&res, 2, XT_WS_OP_TEXT, "\xE2\x82\xAC", 3);
    expect_msg(&res, 3, XT_WS_OP_BINARY, p, 300);
    free(res.log);
    /* ending in a violation, or in the middle of a frame */
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "\xFF", 1);
    check_fails(s, n, 512, -XT_WS_CLOSE_BAD_DATA, 6);
    check_fails(s, good + 5, 512, 0, 6);
    check_fails(s, good - 1, 512, 0, 5);
}

static void ws_stop_and_resume(void **state)
{
    (void)state;
    uint8_t s[128];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "one", 3);
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "two", 3);
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, "", 0);
    xt_ws_pool_t *pool = NULL;
    assert_int_equal(xt_ws_pool_create(&pool, 16, 1), 0);
    xt_ws_reader_t r;
    rec_t rec = {.log = malloc(1024), .cap = 1024, .stop_every = 1};
    xt_ws_reader_init(&r, pool);
    assert_int_equal(xt_ws_reader_feed(&r, s, n, rec_fn, &rec), 1);
    assert_int_equal(rec.count, 1);
    assert_int_equal(r.in_pos, n); /* all taken: wslay holds the rest */
    assert_int_equal(xt_ws_reader_feed(&r, NULL, 0, rec_fn, &rec), 1);
    assert_int_equal(xt_ws_reader_feed(&r, s + n, 0, rec_fn, &rec), 1);
    assert_int_equal(rec.count, 3);
    rec.stop_every = 0;
    assert_int_equal(xt_ws_reader_feed(&r, NULL, 0, rec_fn, &rec), 0);
    assert_int_equal(rec.count, 3);
    assert_true(xt_ws_reader_idle(&r)); /* every byte parsed: the scratch went back */
    xt_ws_reader_destroy(&r);
    xt_ws_reader_destroy(&r); /* twice is fine */
    xt_ws_pool_destroy(pool);
    free(rec.log);
}

/* Readers hold scratch only mid-frame: many connections, one item; a reader
 * that finds none fails with 1013 and the others go on. */
static void ws_shared_scratch(void **state)
{
    (void)state;
    uint8_t s[256];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "hello", 5);
    size_t one = n;
    put_frame(s, &n, 0, XT_WS_OP_TEXT, "frag", 4);
    put_frame(s, &n, 1, XT_WS_OP_CONT, "ment", 4);
    xt_ws_pool_t *pool = NULL;
    assert_int_equal(xt_ws_pool_create(&pool, 64, 1), 0);
    xt_ws_reader_t r[100];
    rec_t rec = {.log = malloc(1 << 16), .cap = 1 << 16};
    for (int i = 0; i < 100; i++) { /* whole frames: each reader is idle again after its feed */
        xt_ws_reader_init(&r[i], pool);
        assert_int_equal(xt_ws_reader_feed(&r[i], s, n, rec_fn, &rec), 0);
        assert_true(xt_ws_reader_idle(&r[i]));
    }
    assert_int_equal(rec.count, 200);
    assert_int_equal(xt_ws_pool_allocated(pool), 1);
    assert_int_equal(xt_ws_pool_in_use(pool), 0);
    /* r[0] stops mid-header, mid-payload, mid-message: it keeps the item. */
    size_t cuts[] = {1, 4, one + 3, one + 10, n - 2, n};
    size_t at = 0;
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        assert_int_equal(xt_ws_reader_feed(&r[0], s + at, cuts[k] - at, rec_fn, &rec), 0);
        at = cuts[k];
        assert_int_equal(xt_ws_reader_idle(&r[0]), at == one || at == n);
        if (!xt_ws_reader_idle(&r[0])) { /* r[1] finds no scratch: 1013, for good */
            xt_ws_reader_init(&r[1], pool);
            assert_int_equal(xt_ws_reader_feed(&r[1], s, n, rec_fn, &rec), -XT_WS_CLOSE_TRY_AGAIN);
            assert_int_equal(r[1].error, XT_WS_CLOSE_TRY_AGAIN);
            assert_true(xt_ws_reader_idle(&r[1]));
        }
    }
    assert_int_equal(rec.count, 202);
    assert_int_equal(xt_ws_pool_in_use(pool), 0);
    /* A buffer taken for an HTTP head counts as an item. */
    uint8_t *b = xt_ws_pool_take_buffer(pool);
    assert_non_null(b);
    assert_null(xt_ws_pool_take_buffer(pool));
    xt_ws_reader_init(&r[2], pool);
    assert_int_equal(xt_ws_reader_feed(&r[2], s, 3, rec_fn, &rec), -XT_WS_CLOSE_TRY_AGAIN);
    xt_ws_pool_give_buffer(pool, b);
    /* A reader destroyed mid-frame, and one failed mid-frame, give a usable item back. */
    xt_ws_reader_init(&r[3], pool);
    assert_int_equal(xt_ws_reader_feed(&r[3], s, 4, rec_fn, &rec), 0);
    xt_ws_reader_destroy(&r[3]);
    uint8_t bad[] = {0x81, 0x05, 'x'}; /* unmasked */
    xt_ws_reader_init(&r[4], pool);
    assert_int_equal(xt_ws_reader_feed(&r[4], bad, sizeof bad, rec_fn, &rec), -XT_WS_CLOSE_PROTOCOL);
    assert_true(xt_ws_reader_idle(&r[4]));
    xt_ws_reader_init(&r[5], pool);
    assert_int_equal(xt_ws_reader_feed(&r[5], s, n, rec_fn, &rec), 0);
    assert_int_equal(rec.count, 204);
    assert_int_equal(xt_ws_pool_in_use(pool), 0);
    assert_int_equal(xt_ws_pool_allocated(pool), 1);
    xt_ws_pool_destroy(pool);
    free(rec.log);
}

/* A callback that closes its connection destroys the reader mid-feed. */
static int destroy_fn(void *ctx, const xt_ws_msg_t *m)
{
    (void)m;
    xt_ws_reader_destroy(ctx);
    return 0;
}

static void ws_destroyed_by_callback(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = 0;
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "one", 3);
    put_frame(s, &n, 1, XT_WS_OP_TEXT, "two", 3);
    xt_ws_pool_t *pool = NULL;
    assert_int_equal(xt_ws_pool_create(&pool, 16, 1), 0);
    xt_ws_reader_t r;
    xt_ws_reader_init(&r, pool);
    assert_int_equal(xt_ws_reader_feed(&r, s, n, destroy_fn, &r), 0);
    assert_true(xt_ws_reader_idle(&r));
    assert_int_equal(xt_ws_pool_in_use(pool), 0);
    xt_ws_pool_destroy(pool);
}

/* ---- outbound frames ------------------------------------------------------------- */

static void ws_frame_headers(void **state)
{
    (void)state;
    uint8_t h[XT_WS_HEADER_MAX];
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_TEXT, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_BINARY, 125), 2);
    assert_memory_equal(h, "\x82\x7D", 2);
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_TEXT, 126), 4);
    assert_memory_equal(h, "\x81\x7E\x00\x7E", 4);
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_TEXT, 65535), 4);
    assert_memory_equal(h, "\x81\x7E\xFF\xFF", 4);
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_TEXT, 65536), 10);
    assert_memory_equal(h, "\x81\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(xt_ws_frame_header(h, XT_WS_OP_PONG, 0x0102030405060708ull), 10);
    assert_memory_equal(h, "\x8A\x7F\x01\x02\x03\x04\x05\x06\x07\x08", 10);
}

static void ws_close_frames(void **state)
{
    (void)state;
    uint8_t out[127];
    assert_int_equal(xt_ws_close_frame(out, 1000, "bye"), 7);
    assert_memory_equal(out,
                        "\x88\x05\x03\xE8"
                        "bye",
                        7);
    assert_int_equal(xt_ws_close_frame(out, 1001, NULL), 4);
    assert_memory_equal(out, "\x88\x02\x03\xE9", 4);
    assert_int_equal(xt_ws_close_frame(out, 0, "ignored"), 2);
    assert_memory_equal(out, "\x88\x00", 2);
    char reason[200];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    assert_int_equal(xt_ws_close_frame(out, 1008, reason), 127);
    assert_int_equal(out[1], 125);
    /* a 2-byte character straddling byte 123 is left out whole */
    memcpy(reason + 122, "\xCE\xBA", 2);
    assert_int_equal(xt_ws_close_frame(out, 1008, reason), 4 + 122);
    memset(reason, 'r', sizeof reason - 1);
    memcpy(reason + 121, "\xE2\x82\xAC", 3);
    assert_int_equal(xt_ws_close_frame(out, 1008, reason), 4 + 121);
    memset(reason, 'r', sizeof reason - 1);
    memcpy(reason + 120, "\xE2\x82\xAC", 3); /* ends exactly at 123 */
    assert_int_equal(xt_ws_close_frame(out, 1008, reason), 4 + 123);
    /* what we send, our own reader accepts (once masked) */
    uint8_t s[160];
    size_t n = 0;
    size_t len = xt_ws_close_frame(out, 1011, reason);
    put_frame(s, &n, 1, XT_WS_OP_CLOSE, out + 2, len - 2);
    check_fails(s, n, 0, 0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ws_text_single),
        cmocka_unit_test(ws_fragmented_with_ping),
        cmocka_unit_test(ws_unmasked),
        cmocka_unit_test(ws_rsv_and_opcodes),
        cmocka_unit_test(ws_bad_control),
        cmocka_unit_test(ws_bad_fragmentation),
        cmocka_unit_test(ws_too_big),
        cmocka_unit_test(ws_too_big_on_its_header),
        cmocka_unit_test(ws_bad_utf8),
        cmocka_unit_test(ws_utf8_split_fragments),
        cmocka_unit_test(ws_utf8_fails_early),
        cmocka_unit_test(ws_close_payloads),
        cmocka_unit_test(ws_lengths),
        cmocka_unit_test(ws_every_split),
        cmocka_unit_test(ws_stop_and_resume),
        cmocka_unit_test(ws_shared_scratch),
        cmocka_unit_test(ws_destroyed_by_callback),
        cmocka_unit_test(ws_frame_headers),
        cmocka_unit_test(ws_close_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
