/* test_mdbin.c - the binary market-data codec (src/server/md_bin.h) against
 * docs/md-binary.md: the worked example's exact bytes, every server
 * message's fields at the doc's offsets (read back here byte by byte,
 * independently of the codec), depth messages split over frames, and the
 * inbound frame parser: every accepted type, any split, each error in the
 * doc's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/md_bin.h"
#include "xt/types.h"

#define TS 1795244272100609899LL

/* A little-endian field of n bytes at p. */
static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int64_t rdi(const uint8_t *p)
{
    return (int64_t)rd(p, 8);
}

static void check_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn)
{
    assert_int_equal(n, wn);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], want[i]);
}

static void check_header(const uint8_t *f, size_t len, uint8_t type, uint64_t seq)
{
    assert_int_equal(rd(f, 2), len);
    assert_int_equal(f[2], type);
    assert_int_equal(f[3], 0);
    assert_int_equal(rd(f + 4, 4), 0);
    assert_true(rd(f + 8, 8) == seq);
}

/* ---- the worked example of docs/md-binary.md ---- */

static void example_subscribe_ack(void **state)
{
    (void)state;
    static const uint8_t sub[] = {0x20, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00, 0x00};
    static const uint8_t ack[] = {0x20, 0x00, 0xa1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x20, 0x00};
    xt_mdb_request_t r = {7, 2, XT_MDB_CH_DEPTH | XT_MDB_CH_TRADES, 5}, back;
    uint8_t f[64];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_mdb_put_request(f, XT_MDB_SUBSCRIBE, &r), sub, sizeof sub);
    assert_int_equal(xt_mdb_frame(f, sizeof sub, NULL), 32);
    xt_mdb_get_request(f, &back);
    assert_memory_equal(&back, &r, sizeof r);
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_mdb_enc_ack(f, XT_MDB_SUBSCRIBE, &r), ack, sizeof ack);
}

static void example_depth_and_trade(void **state)
{
    (void)state;
    static const uint8_t snap[] = {0x50, 0x00, 0xa3, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x05, 0x00, 0x00, 0x6b, 0x8f, 0x9c, 0x63,
                                   0x27, 0xfd, 0xe9, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                   0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbf, 0xc6, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc1, 0xc6, 0x2d, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t trade[] = {0x38, 0x00, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x53, 0x93, 0x9c, 0x63,
                                    0x27, 0xfd, 0xe9, 0x18, 0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbf, 0xc6,
                                    0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t delta[] = {0x40, 0x00, 0xa4, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa6, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00, 0x00, 0x53, 0x93,
                                    0x9c, 0x63, 0x27, 0xfd, 0xe9, 0x18, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xbf, 0xc6, 0x2d, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    xt_md_level_t bid = {2999999, 19, 1}, ask = {3000001, 21, 2}, gone = {2999999, 0, 0};
    xt_md_trade_t t = {52, TS + 1000, 2999999, 19, XT_SELL};
    uint8_t f[256];
    memset(f, 0xEE, sizeof f);
    /* prev_seq is ignored for a snapshot: 0 goes out */
    size_t n = xt_mdb_enc_depth(f, sizeof f, XT_MDB_DEPTH_SNAPSHOT, 2, 5, 165, 99, TS, &bid, 1, &ask, 1);
    check_bytes(f, n, snap, sizeof snap);
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_mdb_enc_trades(f, sizeof f, 2, 0, &t, 1), trade, sizeof trade);
    memset(f, 0xEE, sizeof f);
    n = xt_mdb_enc_depth(f, sizeof f, XT_MDB_DEPTH_DELTA, 2, 5, 166, 165, TS + 1000, &gone, 1, NULL, 0);
    check_bytes(f, n, delta, sizeof delta);
}

/* ---- each message at the doc's offsets ---- */

static void hello_ack_reject(void **state)
{
    (void)state;
    uint8_t f[128];
    memset(f, 0xEE, sizeof f);
    xt_mdb_hello_t h = {5000, 4, 64, 50, -3};
    assert_int_equal(xt_mdb_enc_hello(f, &h), 48);
    check_header(f, 48, 0xA0, 0);
    assert_int_equal(rd(f + 16, 2), 1);
    assert_int_equal(rd(f + 18, 2), 0);
    assert_int_equal(rd(f + 20, 4), 5000);
    assert_int_equal(rd(f + 24, 4), 4);
    assert_int_equal(rd(f + 28, 4), 64);
    assert_int_equal(rdi(f + 32), -3);
    assert_int_equal(rd(f + 40, 4), 50);
    assert_int_equal(rd(f + 44, 4), 0);

    xt_mdb_request_t r = {UINT64_MAX - 1, 0xA1B2C3D4, 0x0F, 20};
    memset(f, 0xEE, sizeof f);
    assert_int_equal(xt_mdb_enc_reject(f, XT_MDB_SNAPSHOT, &r, XT_MDB_R_BUSY,
                                       "a text longer than forty-six bytes is cut at forty-five"),
                     80);
    check_header(f, 80, 0xA2, 0);
    assert_true(rd(f + 16, 8) == UINT64_MAX - 1);
    assert_int_equal(rd(f + 24, 4), 0xA1B2C3D4);
    assert_int_equal(f[28], 0x0F);
    assert_int_equal(f[29], 20);
    assert_int_equal(f[30], 0x22);
    assert_int_equal(f[31], 0);
    assert_int_equal(rd(f + 32, 2), 7);
    assert_memory_equal(f + 34, "a text longer than forty-six bytes is cut at f", 45);
    assert_int_equal(f[79], 0);
    memset(f, 0xEE, sizeof f);
    xt_mdb_enc_reject(f, XT_MDB_SUBSCRIBE, &r, XT_MDB_R_RATE_LIMIT, "short");
    assert_memory_equal(f + 34, "short", 6);
    for (int i = 40; i < 80; i++)
        assert_int_equal(f[i], 0);
}

static void ticker_and_bbo(void **state)
{
    (void)state;
    xt_md_ticker_t t = {.ts = 1,
                        .prev_close = 170000,
                        .open = 169999,
                        .high = 170002,
                        .low = 169998,
                        .last = 171700,
                        .volume = 3400,
                        .turnover = (__int128)578001300 * 1000000000000LL, /* over 2^64 */
                        .trades = 17,
                        .best_bid = 169999,
                        .best_bid_qty = 5,
                        .best_ask = XT_PRICE_NONE,
                        .best_ask_qty = 7,
                        .bid5_qty = 500,
                        .ask5_qty = 300};
    uint8_t f[256];
    memset(f, 0xEE, sizeof f);
    assert_int_equal(xt_mdb_enc_ticker(f, 167, 3, 0, 9, TS, &t, 0), 0); /* too small */
    assert_int_equal(xt_mdb_enc_ticker(f, 168, 3, 1, 9, TS, &t, 0), 168);
    check_header(f, 168, 0xA6, 9);
    assert_int_equal(rd(f + 16, 4), 3);
    assert_int_equal(f[20], XT_MDB_F_FIRST | XT_MDB_F_LAST | XT_MDB_F_SNAPSHOT);
    assert_int_equal(rd(f + 21, 3), 0); /* status 0: trading */
    assert_int_equal(rdi(f + 24), TS);
    const int64_t ohlc[] = {170000, 169999, 170002, 169998, 171700};
    for (int i = 0; i < 5; i++)
        assert_int_equal(rdi(f + 32 + 8 * i), ohlc[i]);
    assert_int_equal(rdi(f + 72), 3400);
    unsigned __int128 turnover = (unsigned __int128)rd(f + 88, 8) << 64 | rd(f + 80, 8);
    assert_true((__int128)turnover == t.turnover);
    assert_int_equal(rdi(f + 96), xt_md_vwap(&t));
    assert_int_equal(rd(f + 104, 8), 17);
    assert_int_equal(rdi(f + 112), 169999);
    assert_int_equal(rdi(f + 120), 5);
    assert_int_equal(rdi(f + 128), 0); /* no ask: price and quantity 0 */
    assert_int_equal(rdi(f + 136), 0);
    assert_int_equal(rdi(f + 144), 500);
    assert_int_equal(rdi(f + 152), 300);
    assert_int_equal((int32_t)rd(f + 160, 4), 100); /* 1.00 % */
    assert_int_equal((int32_t)rd(f + 164, 4), 2500);
    t.last = t.prev_close = 0; /* no price yet: change 0 */
    t.bid5_qty = 100;
    t.ask5_qty = 300; /* 委比 -50 % */
    xt_mdb_enc_ticker(f, 168, 3, 0, 9, TS, &t, 1);
    assert_int_equal(f[20], XT_MDB_F_FIRST | XT_MDB_F_LAST);
    assert_int_equal(f[21], 1); /* halted */
    assert_int_equal(rd(f + 22, 2), 0);
    assert_int_equal((int32_t)rd(f + 160, 4), 0);
    assert_int_equal((int32_t)rd(f + 164, 4), -5000);

    memset(f, 0xEE, sizeof f);
    assert_int_equal(xt_mdb_enc_bbo(f, 63, 3, 0, 9, TS, &t), 0);
    assert_int_equal(xt_mdb_enc_bbo(f, 64, 3, 0, 11, TS, &t), 64);
    check_header(f, 64, 0xA7, 11);
    assert_int_equal(rd(f + 16, 4), 3);
    assert_int_equal(f[20], XT_MDB_F_FIRST | XT_MDB_F_LAST);
    assert_int_equal(rd(f + 21, 3), 0);
    assert_int_equal(rdi(f + 24), TS);
    assert_int_equal(rdi(f + 32), 169999);
    assert_int_equal(rdi(f + 40), 5);
    assert_int_equal(rdi(f + 48), 0);
    assert_int_equal(rdi(f + 56), 0);
}

static void trades_snapshot_flags(void **state)
{
    (void)state;
    xt_md_trade_t t[3] = {{1, 10, 100, 1, XT_BUY}, {2, 20, 101, 2, XT_SELL}, {9, 30, 102, 3, XT_BUY}};
    uint8_t f[3 * 56];
    assert_int_equal(xt_mdb_enc_trades(f, sizeof f - 1, 7, 1, t, 3), 0);
    assert_int_equal(xt_mdb_enc_trades(f, sizeof f, 7, 1, t, 0), 0); /* none: nothing */
    assert_int_equal(xt_mdb_enc_trades(f, sizeof f, 7, 1, t, 3), 3 * 56);
    const uint8_t flags[3] = {XT_MDB_F_SNAPSHOT | XT_MDB_F_FIRST, XT_MDB_F_SNAPSHOT, XT_MDB_F_SNAPSHOT | XT_MDB_F_LAST};
    for (int i = 0; i < 3; i++) {
        const uint8_t *p = f + 56 * i;
        check_header(p, 56, 0xA5, 0);
        assert_int_equal(rd(p + 16, 4), 7);
        assert_int_equal(p[20], flags[i]);
        assert_int_equal(p[21], t[i].taker_side);
        assert_int_equal(rd(p + 22, 2), 0);
        assert_int_equal(rdi(p + 24), t[i].ts);
        assert_int_equal(rd(p + 32, 8), t[i].trade_id);
        assert_int_equal(rdi(p + 40), t[i].price);
        assert_int_equal(rdi(p + 48), t[i].qty);
    }
    assert_int_equal(xt_mdb_enc_trades(f, sizeof f, 7, 1, t, 1), 56);
    assert_int_equal(f[20], XT_MDB_F_SNAPSHOT | XT_MDB_F_FIRST | XT_MDB_F_LAST);
}

/* A message of nb + na levels split into frames: every frame within the
 * u16 length, at most 4,092 levels, FIRST/LAST where they belong, the
 * prev_seq chain unbroken, and the levels (bids then asks) all there. */
static void check_split(uint8_t type, uint32_t nb, uint32_t na)
{
    xt_md_level_t *b = calloc(nb + 1, sizeof *b), *a = calloc(na + 1, sizeof *a);
    assert_non_null(b);
    assert_non_null(a);
    for (uint32_t i = 0; i < nb; i++)
        b[i] = (xt_md_level_t){1000000 - i, i + 1, 1};
    for (uint32_t i = 0; i < na; i++)
        a[i] = (xt_md_level_t){1000001 + i, 7 * i + 1, 1};
    uint32_t total = nb + na, frames = total ? (total + 4091) / 4092 : 1;
    size_t need = 48 * (size_t)frames + 16 * (size_t)total;
    uint8_t *f = malloc(need);
    assert_non_null(f);
    assert_int_equal(xt_mdb_enc_depth(f, need - 1, type, 4, 0, 500, 400, TS, b, nb, a, na), 0);
    assert_int_equal(xt_mdb_enc_depth(f, need, type, 4, 0, 500, 400, TS, b, nb, a, na), need);
    uint64_t last = type == XT_MDB_DEPTH_SNAPSHOT ? 0 : 400;
    uint32_t seen_b = 0, seen_a = 0;
    size_t off = 0;
    for (uint32_t k = 0; k < frames; k++) {
        const uint8_t *p = f + off;
        uint32_t fb = (uint32_t)rd(p + 40, 2), fa = (uint32_t)rd(p + 42, 2);
        check_header(p, 48 + 16 * ((size_t)fb + fa), type, 500);
        assert_true(fb + fa <= XT_MDB_LEVELS_PER_FRAME);
        uint8_t want = (uint8_t)((k == 0 ? XT_MDB_F_FIRST : 0) | (k + 1 == frames ? XT_MDB_F_LAST : 0) |
                                 (type == XT_MDB_DEPTH_SNAPSHOT ? XT_MDB_F_SNAPSHOT : 0));
        assert_int_equal(p[20], want);
        assert_int_equal(rd(p + 16, 4), 4);
        assert_int_equal(rdi(p + 24), TS);
        assert_true(rd(p + 32, 8) == last); /* prev_seq */
        last = rd(p + 8, 8);
        assert_true(fa == 0 || seen_b + fb == nb); /* asks only after every bid */
        for (uint32_t i = 0; i < fb + fa; i++) {
            const uint8_t *l = p + 48 + 16 * i;
            const xt_md_level_t *w = i < fb ? &b[seen_b + i] : &a[seen_a + i - fb];
            assert_int_equal(rdi(l), w->price);
            assert_int_equal(rdi(l + 8), w->qty);
        }
        seen_b += fb;
        seen_a += fa;
        off += rd(p, 2);
    }
    assert_int_equal(off, need);
    assert_int_equal(seen_b, nb);
    assert_int_equal(seen_a, na);
    free(f);
    free(a);
    free(b);
}

static void depth_split(void **state)
{
    (void)state;
    check_split(XT_MDB_DEPTH_SNAPSHOT, 0, 0); /* an empty book: one frame */
    check_split(XT_MDB_DEPTH_DELTA, 0, 0);    /* a change that changed nothing back */
    check_split(XT_MDB_DEPTH_SNAPSHOT, 4092, 0);
    check_split(XT_MDB_DEPTH_SNAPSHOT, 4092, 1);
    check_split(XT_MDB_DEPTH_DELTA, 3000, 3000);
    check_split(XT_MDB_DEPTH_SNAPSHOT, 10000, 10000);
    check_split(XT_MDB_DEPTH_DELTA, 0, 8185);
}

/* ---- the inbound parser ---- */

static void parser_accepts(void **state)
{
    (void)state;
    assert_int_equal(xt_mdb_request_len(0x02), 16);
    assert_int_equal(xt_mdb_request_len(0x20), 32);
    assert_int_equal(xt_mdb_request_len(0x21), 32);
    assert_int_equal(xt_mdb_request_len(0x22), 32);
    for (int t = 0; t < 256; t++)
        if (t != 0x02 && (t < 0x20 || t > 0x22))
            assert_int_equal(xt_mdb_request_len((uint8_t)t), 0);
    uint8_t s[16 + 3 * 32];
    memset(s, 0, 16);
    s[0] = 16;
    s[2] = 0x02;
    s[3] = 0xFF; /* flags and seq are not checked (the doc says 0) */
    s[15] = 1;
    xt_mdb_request_t r = {1, 2, 3, 4};
    for (int i = 0; i < 3; i++)
        xt_mdb_put_request(s + 16 + 32 * i, (uint8_t)(0x20 + i), &r);
    /* whole, then every prefix of each frame needs more */
    size_t off = 0;
    for (int k = 0; k < 4; k++) {
        size_t len = k == 0 ? 16 : 32;
        for (size_t have = 0; have < len; have++)
            assert_int_equal(xt_mdb_frame(s + off, have, NULL), 0);
        xt_wire_hdr_t h;
        assert_int_equal(xt_mdb_frame(s + off, sizeof s - off, &h), (int)len);
        assert_int_equal(h.len, len);
        assert_int_equal(h.type, k == 0 ? 0x02 : 0x1F + k);
        off += len;
    }
    assert_int_equal(off, sizeof s);
}

static void parser_errors(void **state)
{
    (void)state;
    uint8_t f[64];
    xt_mdb_request_t r = {1, 2, 3, 4};
    xt_mdb_put_request(f, XT_MDB_SUBSCRIBE, &r);
    /* over 32: FRAME_TOO_LARGE from the length alone */
    f[0] = 33;
    assert_int_equal(xt_mdb_frame(f, 2, NULL), -XT_ERR_FRAME_TOO_LARGE);
    f[0] = 0xFF;
    f[1] = 0xFF;
    assert_int_equal(xt_mdb_frame(f, 2, NULL), -XT_ERR_FRAME_TOO_LARGE);
    f[1] = 0;
    /* under 16: MALFORMED */
    for (int len = 0; len < 16; len++) {
        f[0] = (uint8_t)len;
        assert_int_equal(xt_mdb_frame(f, 2, NULL), -XT_ERR_MALFORMED);
    }
    /* types the port does not take, order entry's and the server's own included */
    static const uint8_t bad[] = {0x00, 0x01, 0x03, 0x08, 0x1F, 0x23, 0x84, 0x85, 0x86, 0xA0, 0xA1, 0xA5, 0xFF};
    f[0] = 32;
    for (size_t i = 0; i < sizeof bad; i++) {
        f[2] = bad[i];
        assert_int_equal(xt_mdb_frame(f, 2, NULL), 0);
        assert_int_equal(xt_mdb_frame(f, 3, NULL), -XT_ERR_UNKNOWN_TYPE);
    }
    /* a length that is not the type's */
    f[2] = XT_MDB_SUBSCRIBE;
    f[0] = 16;
    assert_int_equal(xt_mdb_frame(f, 3, NULL), -XT_ERR_MALFORMED);
    f[2] = XT_MSG_HEARTBEAT;
    f[0] = 32;
    assert_int_equal(xt_mdb_frame(f, 3, NULL), -XT_ERR_MALFORMED);
    /* the reserved header field, as soon as its byte is there */
    xt_mdb_put_request(f, XT_MDB_UNSUBSCRIBE, &r);
    for (int i = 4; i < 8; i++) {
        f[i] = 1;
        assert_int_equal(xt_mdb_frame(f, (size_t)i, NULL), 0);
        assert_int_equal(xt_mdb_frame(f, (size_t)i + 1, NULL), -XT_ERR_MALFORMED);
        assert_int_equal(xt_mdb_frame(f, 32, NULL), -XT_ERR_MALFORMED);
        f[i] = 0;
    }
    /* body reserved bytes are ignored */
    f[30] = f[31] = 0xFF;
    assert_int_equal(xt_mdb_frame(f, 32, NULL), 32);
    /* the size check comes first: a huge frame of an unknown type */
    f[0] = 0x00;
    f[1] = 0x10;
    f[2] = 0x77;
    assert_int_equal(xt_mdb_frame(f, 3, NULL), -XT_ERR_FRAME_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_subscribe_ack), cmocka_unit_test(example_depth_and_trade),
        cmocka_unit_test(hello_ack_reject),      cmocka_unit_test(ticker_and_bbo),
        cmocka_unit_test(trades_snapshot_flags), cmocka_unit_test(depth_split),
        cmocka_unit_test(parser_accepts),        cmocka_unit_test(parser_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
