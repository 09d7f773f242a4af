/* test_wire.c - the binary protocol codec (include/xt/wire.h) against
 * docs/protocol.md: exact bytes of hand-built frames (the layout check),
 * a round trip of every message type, the incremental frame check and its
 * edge cases, the login signature bytes, and the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/le.h"
#include "xt/wire.h"

#define MAXF 256

/* The frame is whole, well formed, of this type and header. */
static void check_frame(const uint8_t *f, size_t n, uint8_t type, uint8_t flags, uint64_t seq)
{
    xt_wire_hdr_t h;
    assert_int_equal(n, xt_wire_len(type));
    assert_int_equal(xt_wire_frame(f, n, MAXF, &h), (int)n);
    assert_int_equal(h.len, n);
    assert_int_equal(h.type, type);
    assert_int_equal(h.flags, flags);
    assert_true(h.seq == seq);
}

static void check_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn)
{
    assert_int_equal(n, wn);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], want[i]);
}

/* ---- exact bytes ---- */

static void bytes_login(void **state)
{
    (void)state;
    xt_msg_login_t m = {.version = 1, .flags = XT_LOGIN_CANCEL_ON_DISCONNECT, .account = 0x11223344};
    memcpy(m.key_id, "key-A\0zzzzzzzzzz", 16); /* garbage after the NUL is not sent */
    m.session = 7;
    m.heartbeat_ms = 2500;
    m.resume_from = 0x0102030405060708u;
    m.timestamp_ns = -2;
    for (int i = 0; i < 32; i++)
        m.signature[i] = (uint8_t)(0xA0 + i);
    static const uint8_t want[XT_LEN_LOGIN] = {
        104,  0,    0x01, 0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, /* header */
        1,    0,                                                                                     /* 16 version */
        1,    0,                                                                                     /* 18 flags */
        0x44, 0x33, 0x22, 0x11,                                                                      /* 20 account */
        'k',  'e',  'y',  '-',  'A',  0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, /* 24 key_id */
        7,    0,    0,    0,                                                                         /* 40 session */
        0xC4, 0x09, 0,    0,                                              /* 44 heartbeat_ms */
        8,    7,    6,    5,    4,    3,    2,    1,                      /* 48 resume_from */
        0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,                   /* 56 timestamp_ns */
        0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, /* 64 signature */
        0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
        0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0,    0,    0,    0,    0,    0,    0,    0, /* 96 reserved */
    };
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_login(f, &m), want, sizeof want);
}

static void bytes_new_order(void **state)
{
    (void)state;
    xt_msg_new_order_t m = {.clordid = 0x0102030405060708u,
                            .instrument = 0x0A0B0C0D,
                            .side = 1,
                            .type = 1,
                            .tif = 3,
                            .stp = 4,
                            .price = 123456789,
                            .qty = 0x0000000100000002};
    static const uint8_t want[XT_LEN_NEW_ORDER] = {
        56,   0,    0x03, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* header */
        8,    7,    6,    5,    4, 3, 2, 1,                         /* 16 clordid */
        0x0D, 0x0C, 0x0B, 0x0A,                                     /* 24 instrument */
        1,    1,    3,    4,                                        /* 28 side type tif stp */
        0x15, 0xCD, 0x5B, 0x07, 0, 0, 0, 0,                         /* 32 price */
        2,    0,    0,    0,    1, 0, 0, 0,                         /* 40 qty */
        0,    0,    0,    0,    0, 0, 0, 0,                         /* 48 reserved */
    };
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_new_order(f, &m), want, sizeof want);
}

static void bytes_fill(void **state)
{
    (void)state;
    xt_msg_fill_t m = {.clordid = 9,
                       .order_id = -7,
                       .trade_id = 0x1122334455667788u,
                       .instrument = 3,
                       .side = 1,
                       .liquidity = XT_LIQ_TAKER,
                       .price = 1234,
                       .qty = 500,
                       .remaining = 0x100000000,
                       .ts = 1700000000123456789};
    static const uint8_t want[XT_LEN_FILL] = {
        80,   0,    0x92, 1,    0,    0,    0,    0,    5, 0, 0, 0, 0, 0, 0, 0, /* header: SEQUENCED, seq 5 */
        9,    0,    0,    0,    0,    0,    0,    0,                            /* 16 clordid */
        0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,                         /* 24 order_id */
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,                         /* 32 trade_id */
        3,    0,    0,    0,                                                    /* 40 instrument */
        1,    2,    0,    0,                                                    /* 44 side liquidity reserved */
        0xD2, 0x04, 0,    0,    0,    0,    0,    0,                            /* 48 price */
        0xF4, 0x01, 0,    0,    0,    0,    0,    0,                            /* 56 qty */
        0,    0,    0,    0,    1,    0,    0,    0,                            /* 64 remaining */
        0x15, 0xCD, 0x85, 0x3D, 0xFE, 0x9C, 0x97, 0x17,                         /* 72 ts */
    };
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_fill(f, XT_WF_SEQUENCED, 5, &m), want, sizeof want);
}

static void bytes_canceled(void **state)
{
    (void)state;
    xt_msg_canceled_t m = {.clordid = 0x1122,
                           .order_id = 0x3344,
                           .instrument = 0x55,
                           .side = 1,
                           .reason = 12,
                           .qty = 77,
                           .request_clordid = 0x99,
                           .ts = 0x0A0B};
    static const uint8_t want[XT_LEN_CANCELED] = {
        64,   0,    0x93, 1, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, /* header */
        0x22, 0x11, 0,    0, 0, 0, 0, 0,                          /* 16 clordid */
        0x44, 0x33, 0,    0, 0, 0, 0, 0,                          /* 24 order_id */
        0x55, 0,    0,    0,                                      /* 32 instrument */
        1,    0,                                                  /* 36 side, reserved */
        12,   0,                                                  /* 38 reason */
        77,   0,    0,    0, 0, 0, 0, 0,                          /* 40 qty */
        0x99, 0,    0,    0, 0, 0, 0, 0,                          /* 48 request_clordid */
        0x0B, 0x0A, 0,    0, 0, 0, 0, 0,                          /* 56 ts */
    };
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_canceled(f, XT_WF_SEQUENCED, 42, &m), want, sizeof want);
}

static void bytes_instrument(void **state)
{
    (void)state;
    xt_msg_instrument_t m = {.id = 2, .has_band = 1, .tick_m = 1, .lot_m = 5, .min_qty = 2, .max_qty = 1000000};
    memcpy(m.symbol, "BTC-USD\0qqqqqqqq", 16);
    m.band_low = 900;
    m.band_high = 1100;
    m.tick_scale = 2;
    m.lot_scale = 8;
    static const uint8_t want[XT_LEN_INSTRUMENT] = {
        96,   0,    0x84, 0,   0,   0,   0,   0, 3, 0, 0, 0, 0, 0, 0, 0, /* header: seq 3 */
        2,    0,    0,    0,                                             /* 16 id */
        1,    0,    0,    0,                                             /* 20 has_band, reserved */
        'B',  'T',  'C',  '-', 'U', 'S', 'D', 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 24 symbol */
        1,    0,    0,    0,   0,   0,   0,   0,                         /* 40 tick_m */
        5,    0,    0,    0,   0,   0,   0,   0,                         /* 48 lot_m */
        2,    0,    0,    0,   0,   0,   0,   0,                         /* 56 min_qty */
        0x40, 0x42, 0x0F, 0,   0,   0,   0,   0,                         /* 64 max_qty */
        0x84, 0x03, 0,    0,   0,   0,   0,   0,                         /* 72 band_low */
        0x4C, 0x04, 0,    0,   0,   0,   0,   0,                         /* 80 band_high */
        2,    8,    0,    0,   0,   0,   0,   0,                         /* 88 scales, reserved */
    };
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_instrument(f, 3, &m), want, sizeof want);
}

static void bytes_small(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    memset(f, 0xEE, sizeof f);
    /* header-only: LOGOUT_ACK with the last sequenced number */
    static const uint8_t logout_ack[16] = {16, 0, 0x89, 0, 0, 0, 0, 0, 0x10, 0x20, 0, 0, 0, 0, 0, 0x80};
    check_bytes(f, xt_wire_put_header(f, XT_MSG_LOGOUT_ACK, 0, 0x8000000000002010u), logout_ack, 16);

    xt_msg_error_t e = {.code = XT_ERR_SLOW_CONSUMER};
    memset(e.text, 'x', sizeof e.text);
    memcpy(e.text, "slow", 5);
    uint8_t want[XT_LEN_ERROR] = {80, 0, 0x86, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 's', 'l', 'o', 'w'};
    memset(f, 0xEE, sizeof f);
    check_bytes(f, xt_wire_put_error(f, 1, &e), want, sizeof want);

    /* a text of all 62 bytes has no NUL and is sent whole */
    memset(e.text, 'y', sizeof e.text);
    memset(want + 18, 'y', 62);
    check_bytes(f, xt_wire_put_error(f, 1, &e), want, sizeof want);

    xt_msg_rejected_t r = {.clordid = 1, .order_id = 2, .reason = XT_R_RATE_LIMIT, .request = 3, .instrument = 4};
    static const uint8_t rej[XT_LEN_REJECTED] = {
        48, 0, 0x91, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        2,  0, 0,    0, 0, 0, 0, 0, 64, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    check_bytes(f, xt_wire_put_rejected(f, 0, 0, &r), rej, sizeof rej);

    xt_wire_set_seq(f, XT_WF_SEQUENCED, 0x0102);
    assert_int_equal(f[3], 1);
    assert_int_equal(f[8], 2);
    assert_int_equal(f[9], 1);
    assert_int_equal(f[10], 0);
    assert_int_equal(f[16], 1); /* body untouched */
}

/* ---- round trips ---- */

#define EQ(a, b, field) assert_true((a).field == (b).field)

static void round_client(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_login_t l = {1, 1, 99, "ab", 3, 1000, 17, -5, {1, 2, 3}}, l2;
    check_frame(f, xt_wire_put_login(f, &l), XT_MSG_LOGIN, 0, 0);
    xt_wire_get_login(f, &l2);
    EQ(l, l2, version), EQ(l, l2, flags), EQ(l, l2, account), EQ(l, l2, session);
    EQ(l, l2, heartbeat_ms), EQ(l, l2, resume_from), EQ(l, l2, timestamp_ns);
    assert_memory_equal(l.key_id, l2.key_id, 16);
    assert_memory_equal(l.signature, l2.signature, 32);

    xt_msg_new_order_t n = {UINT64_MAX, UINT32_MAX, 1, 1, 4, 4, INT64_MIN, INT64_MAX}, n2;
    check_frame(f, xt_wire_put_new_order(f, &n), XT_MSG_NEW_ORDER, 0, 0);
    xt_wire_get_new_order(f, &n2);
    EQ(n, n2, clordid), EQ(n, n2, instrument), EQ(n, n2, side), EQ(n, n2, type);
    EQ(n, n2, tif), EQ(n, n2, stp), EQ(n, n2, price), EQ(n, n2, qty);

    xt_msg_cancel_t c = {5, 6, -7}, c2;
    check_frame(f, xt_wire_put_cancel(f, &c), XT_MSG_CANCEL, 0, 0);
    xt_wire_get_cancel(f, &c2);
    EQ(c, c2, clordid), EQ(c, c2, orig_clordid), EQ(c, c2, order_id);

    xt_msg_amend_t a = {8, 0, 9, 10, -11}, a2;
    check_frame(f, xt_wire_put_amend(f, &a), XT_MSG_AMEND, 0, 0);
    xt_wire_get_amend(f, &a2);
    EQ(a, a2, clordid), EQ(a, a2, orig_clordid), EQ(a, a2, order_id), EQ(a, a2, price), EQ(a, a2, qty);
    a.instrument = 0xA1B2C3D4u;
    check_frame(f, xt_wire_put_amend_checked(f, &a), XT_MSG_AMEND_CHECKED, 0, 0);
    memset(&a2, 0, sizeof a2);
    xt_wire_get_amend_checked(f, &a2);
    EQ(a, a2, clordid), EQ(a, a2, orig_clordid), EQ(a, a2, order_id), EQ(a, a2, price), EQ(a, a2, qty);
    EQ(a, a2, instrument);
    assert_int_equal(f[56], 0xD4); /* docs/protocol.md: u32 instrument at 56, reserved zero at 60 */
    assert_int_equal(f[60] | f[61] | f[62] | f[63], 0);

    xt_msg_mass_cancel_t mc = {12, UINT32_MAX}, mc2;
    check_frame(f, xt_wire_put_mass_cancel(f, &mc), XT_MSG_MASS_CANCEL, 0, 0);
    xt_wire_get_mass_cancel(f, &mc2);
    EQ(mc, mc2, request_id), EQ(mc, mc2, instrument);

    xt_msg_order_status_t os = {13, 14, 15}, os2;
    check_frame(f, xt_wire_put_order_status(f, &os), XT_MSG_ORDER_STATUS, 0, 0);
    xt_wire_get_order_status(f, &os2);
    EQ(os, os2, request_id), EQ(os, os2, orig_clordid), EQ(os, os2, order_id);

    check_frame(f, xt_wire_put_header(f, XT_MSG_HEARTBEAT, 0, 0), XT_MSG_HEARTBEAT, 0, 0);
    check_frame(f, xt_wire_put_header(f, XT_MSG_LOGOUT, 0, 0), XT_MSG_LOGOUT, 0, 0);
}

static void round_server_unsequenced(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_hello_t h = {1, 5000, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 0xFF}, -123}, h2;
    check_frame(f, xt_wire_put_hello(f, 0, &h), XT_MSG_HELLO, 0, 0);
    xt_wire_get_hello(f, &h2);
    EQ(h, h2, version), EQ(h, h2, heartbeat_ms), EQ(h, h2, server_time_ns);
    assert_memory_equal(h.nonce, h2.nonce, 16);

    xt_msg_login_accepted_t la = {3, 1000, 101, 90, 55, 4}, la2;
    check_frame(f, xt_wire_put_login_accepted(f, 100, &la), XT_MSG_LOGIN_ACCEPTED, 0, 100);
    xt_wire_get_login_accepted(f, &la2);
    EQ(la, la2, session), EQ(la, la2, heartbeat_ms), EQ(la, la2, next_seq);
    EQ(la, la2, resume_from), EQ(la, la2, last_clordid), EQ(la, la2, instruments);

    xt_msg_login_rejected_t lr = {XT_LR_RESUME_TOO_OLD, 77}, lr2;
    check_frame(f, xt_wire_put_login_rejected(f, 1, &lr), XT_MSG_LOGIN_REJECTED, 0, 1);
    xt_wire_get_login_rejected(f, &lr2);
    EQ(lr, lr2, reason), EQ(lr, lr2, oldest_seq);

    xt_msg_instrument_t in = {7, 0, "", 1, 2, 3, 4, 5, 6, 7, 8, XT_INSTRUMENT_HALTED}, in2;
    memcpy(in.symbol, "ABCDEFGHIJKLMNOP", 16); /* all 16 bytes, no NUL */
    check_frame(f, xt_wire_put_instrument(f, 2, &in), XT_MSG_INSTRUMENT, 0, 2);
    assert_int_equal(f[21], 1); /* docs/protocol.md: byte 21 (not the code's constant) */
    xt_wire_get_instrument(f, &in2);
    EQ(in, in2, id), EQ(in, in2, has_band), EQ(in, in2, tick_m), EQ(in, in2, lot_m), EQ(in, in2, min_qty);
    EQ(in, in2, max_qty), EQ(in, in2, band_low), EQ(in, in2, band_high), EQ(in, in2, tick_scale);
    EQ(in, in2, lot_scale), EQ(in, in2, status);
    assert_memory_equal(in.symbol, in2.symbol, 16);

    xt_msg_error_t e = {XT_ERR_TAKEN_OVER, "taken over by a newer connection"}, e2;
    check_frame(f, xt_wire_put_error(f, 3, &e), XT_MSG_ERROR, 0, 3);
    xt_wire_get_error(f, &e2);
    EQ(e, e2, code);
    assert_memory_equal(e.text, e2.text, sizeof e.text);

    xt_msg_status_reply_t s = {1, 2, 3, 4, XT_OS_OPEN, 1, 0, 3, 5, 6, 7}, s2;
    check_frame(f, xt_wire_put_status_reply(f, 4, &s), XT_MSG_STATUS_REPLY, 0, 4);
    xt_wire_get_status_reply(f, &s2);
    EQ(s, s2, request_id), EQ(s, s2, order_id), EQ(s, s2, clordid), EQ(s, s2, instrument), EQ(s, s2, status);
    EQ(s, s2, side), EQ(s, s2, type), EQ(s, s2, tif), EQ(s, s2, price), EQ(s, s2, remaining), EQ(s, s2, filled);

    xt_msg_mass_cancel_ack_t mca = {44, 3}, mca2;
    check_frame(f, xt_wire_put_mass_cancel_ack(f, 5, &mca), XT_MSG_MASS_CANCEL_ACK, 0, 5);
    xt_wire_get_mass_cancel_ack(f, &mca2);
    EQ(mca, mca2, request_id), EQ(mca, mca2, canceled);

    check_frame(f, xt_wire_put_header(f, XT_MSG_SERVER_HEARTBEAT, 0, 6), XT_MSG_SERVER_HEARTBEAT, 0, 6);
    check_frame(f, xt_wire_put_header(f, XT_MSG_LOGOUT_ACK, 0, 7), XT_MSG_LOGOUT_ACK, 0, 7);
}

static void round_server_sequenced(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_accepted_t a = {1, 2, 3, 1, 0, 1, 2, 4, 5, 6}, a2;
    check_frame(f, xt_wire_put_accepted(f, XT_WF_SEQUENCED, 8, &a), XT_MSG_ACCEPTED, 1, 8);
    xt_wire_get_accepted(f, &a2);
    EQ(a, a2, clordid), EQ(a, a2, order_id), EQ(a, a2, instrument), EQ(a, a2, side), EQ(a, a2, type);
    EQ(a, a2, tif), EQ(a, a2, stp), EQ(a, a2, price), EQ(a, a2, qty), EQ(a, a2, ts);

    xt_msg_rejected_t r = {9, 10, 7, XT_MSG_CANCEL, 0, 11}, r2;
    check_frame(f, xt_wire_put_rejected(f, XT_WF_SEQUENCED, 9, &r), XT_MSG_REJECTED, 1, 9);
    xt_wire_get_rejected(f, &r2);
    EQ(r, r2, clordid), EQ(r, r2, order_id), EQ(r, r2, reason), EQ(r, r2, request), EQ(r, r2, instrument);
    EQ(r, r2, ts);

    xt_msg_fill_t fl = {12, 13, 14, 15, 0, XT_LIQ_MAKER, 16, 17, 18, 19}, fl2;
    check_frame(f, xt_wire_put_fill(f, XT_WF_SEQUENCED, 10, &fl), XT_MSG_FILL, 1, 10);
    xt_wire_get_fill(f, &fl2);
    EQ(fl, fl2, clordid), EQ(fl, fl2, order_id), EQ(fl, fl2, trade_id), EQ(fl, fl2, instrument);
    EQ(fl, fl2, side), EQ(fl, fl2, liquidity), EQ(fl, fl2, price), EQ(fl, fl2, qty), EQ(fl, fl2, remaining);
    EQ(fl, fl2, ts);

    xt_msg_canceled_t c = {20, 21, 22, 1, 11, 23, 24, 25}, c2;
    check_frame(f, xt_wire_put_canceled(f, XT_WF_SEQUENCED, 11, &c), XT_MSG_CANCELED, 1, 11);
    xt_wire_get_canceled(f, &c2);
    EQ(c, c2, clordid), EQ(c, c2, order_id), EQ(c, c2, instrument), EQ(c, c2, side), EQ(c, c2, reason);
    EQ(c, c2, qty), EQ(c, c2, request_clordid), EQ(c, c2, ts);

    xt_msg_amended_t am = {26, 27, 28, 29, 30, 1, 31, 32}, am2;
    check_frame(f, xt_wire_put_amended(f, XT_WF_SEQUENCED, UINT64_MAX, &am), XT_MSG_AMENDED, 1, UINT64_MAX);
    assert_int_equal(xt_get32(f + 60), 32); /* protocol.md: the instrument at 60, 57..59 reserved */
    assert_int_equal(f[57] | f[58] | f[59], 0);
    xt_wire_get_amended(f, &am2);
    EQ(am, am2, clordid), EQ(am, am2, order_id), EQ(am, am2, orig_clordid), EQ(am, am2, price);
    EQ(am, am2, qty), EQ(am, am2, priority_kept), EQ(am, am2, instrument), EQ(am, am2, ts);
}

/* ---- xt_wire_frame ---- */

static void frame_lengths(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        size_t len;
    } t[] = {
        {0x01, 104}, {0x02, 16}, {0x03, 56}, {0x04, 40}, {0x05, 56}, {0x06, 32}, {0x07, 40}, {0x08, 16},
        {0x09, 64},  {0x81, 48}, {0x82, 56}, {0x83, 32}, {0x84, 96}, {0x85, 16}, {0x86, 80}, {0x87, 88},
        {0x88, 32},  {0x89, 16}, {0x90, 64}, {0x91, 48}, {0x92, 80}, {0x93, 64}, {0x94, 72},
    };
    int known = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(xt_wire_len(t[i].type), t[i].len);
        assert_true(t[i].len <= XT_WIRE_MAX);
    }
    for (int type = 0; type < 256; type++)
        known += xt_wire_len((uint8_t)type) != 0;
    assert_int_equal(known, sizeof t / sizeof t[0]);
}

static void frame_prefixes(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX + 8];
    xt_msg_login_t l = {.version = 1, .account = 1, .session = 1};
    size_t n = xt_wire_put_login(f, &l);
    memset(f + n, 0xAB, 8); /* whatever follows does not matter */
    xt_wire_hdr_t h;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(xt_wire_frame(f, k, MAXF, &h), 0);
    assert_int_equal(xt_wire_frame(f, n, MAXF, &h), (int)n);
    assert_int_equal(xt_wire_frame(f, n + 8, MAXF, &h), (int)n);
    assert_int_equal(xt_wire_frame(f, n, MAXF, NULL), (int)n);
    assert_int_equal(xt_wire_frame(NULL, 0, MAXF, &h), 0);
    /* the flags byte is the server's business, not the framer's */
    f[3] = 0xFF;
    assert_int_equal(xt_wire_frame(f, n, MAXF, &h), (int)n);
    assert_int_equal(h.flags, 0xFF);
}

/* xt_wire_frame on every prefix of b: 0 below `at`, rc from `at` on. */
static void expect_at(const uint8_t *b, size_t n, size_t max, size_t at, int rc)
{
    for (size_t k = 0; k <= n; k++)
        assert_int_equal(xt_wire_frame(b, k, max, NULL), k < at ? 0 : rc);
}

static void frame_errors(void **state)
{
    (void)state;
    uint8_t b[XT_WIRE_MAX] = {0};
    b[0] = 15, b[2] = XT_MSG_HEARTBEAT; /* len < 16 */
    expect_at(b, 16, MAXF, 2, -XT_ERR_MALFORMED);
    b[0] = 0; /* len 0 */
    expect_at(b, 16, MAXF, 2, -XT_ERR_MALFORMED);
    b[0] = 1, b[1] = 1; /* 257 */
    expect_at(b, 16, MAXF, 2, -XT_ERR_FRAME_TOO_LARGE);
    b[0] = 0xFF, b[1] = 0xFF;
    expect_at(b, 16, MAXF, 2, -XT_ERR_FRAME_TOO_LARGE);
    b[0] = 104, b[1] = 0, b[2] = XT_MSG_LOGIN; /* valid, but over a smaller maximum */
    expect_at(b, 104, 100, 2, -XT_ERR_FRAME_TOO_LARGE);
    expect_at(b, 104, 104, 104, 104);
    b[0] = 16;
    static const uint8_t unknown[] = {0x00, 0x0A, 0x10, 0x7F, 0x80, 0x8A, 0x8F, 0x95, 0xFF};
    for (size_t i = 0; i < sizeof unknown; i++) {
        b[2] = unknown[i];
        expect_at(b, 16, MAXF, 3, -XT_ERR_UNKNOWN_TYPE);
    }
    b[0] = 40, b[2] = XT_MSG_NEW_ORDER; /* NEW_ORDER is 56 */
    expect_at(b, 56, MAXF, 3, -XT_ERR_MALFORMED);
    b[0] = 200; /* within max_frame, but not the type's */
    expect_at(b, 200, MAXF, 3, -XT_ERR_MALFORMED);
    b[0] = 16, b[2] = XT_MSG_HEARTBEAT;
    for (size_t i = 4; i < 8; i++) { /* each reserved byte, seen as soon as it arrives */
        memset(b + 4, 0, 4);
        b[i] = 0x80;
        expect_at(b, 16, MAXF, i + 1, -XT_ERR_MALFORMED);
    }
}

static void frame_back_to_back(void **state)
{
    (void)state;
    uint8_t buf[3 * XT_WIRE_MAX];
    size_t n = 0;
    xt_msg_new_order_t o = {.clordid = 1, .instrument = 1, .price = 100, .qty = 1};
    n += xt_wire_put_new_order(buf + n, &o);
    n += xt_wire_put_header(buf + n, XT_MSG_HEARTBEAT, 0, 0);
    xt_msg_cancel_t c = {.clordid = 2, .orig_clordid = 1};
    n += xt_wire_put_cancel(buf + n, &c);
    assert_int_equal(n, 56 + 16 + 40);
    static const uint8_t types[] = {XT_MSG_NEW_ORDER, XT_MSG_HEARTBEAT, XT_MSG_CANCEL};
    size_t off = 0;
    for (size_t i = 0; i < 3; i++) {
        xt_wire_hdr_t h;
        int rc = xt_wire_frame(buf + off, n - off, MAXF, &h);
        assert_int_equal(rc, (int)xt_wire_len(types[i]));
        assert_int_equal(h.type, types[i]);
        off += (size_t)rc;
    }
    assert_int_equal(off, n);
    assert_int_equal(xt_wire_frame(buf + off, 0, MAXF, NULL), 0);
    /* a bad second frame behind a good one: the first still parses */
    buf[56 + 2] = 0x42;
    assert_int_equal(xt_wire_frame(buf, n, MAXF, NULL), 56);
    assert_int_equal(xt_wire_frame(buf + 56, n - 56, MAXF, NULL), -XT_ERR_UNKNOWN_TYPE);
}

/* ---- login signature ---- */

static void login_signed(void **state)
{
    (void)state;
    uint8_t nonce[16], out[XT_LOGIN_SIGNED_LEN + 1];
    for (int i = 0; i < 16; i++)
        nonce[i] = (uint8_t)(0xF0 + i);
    out[XT_LOGIN_SIGNED_LEN] = 0x5A;
    xt_wire_login_signed_bytes(out, nonce, 0x01020304, "k1\0garbagegarbag", 0x0A0B0C0D, -3);
    static const uint8_t want[XT_LOGIN_SIGNED_LEN] = {
        'X',  'T',  'L',  'O',  'G',  'I',  'N',  '1',                                      /* 0 */
        0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, /* 8 nonce */
        0xFE, 0xFF,                                                                         /* */
        4,    3,    2,    1,                                                                /* 24 account */
        'k',  '1',  0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    /* 28 key_id */
        0,    0,                                                                            /* */
        0x0D, 0x0C, 0x0B, 0x0A,                                                             /* 44 session */
        0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,                                     /* 48 timestamp */
    };
    check_bytes(out, XT_LOGIN_SIGNED_LEN, want, sizeof want);
    assert_int_equal(out[XT_LOGIN_SIGNED_LEN], 0x5A);

    /* the key id bytes are those LOGIN carries */
    xt_msg_login_t l = {.version = 1};
    memcpy(l.key_id, "k1\0garbagegarbag", 16);
    uint8_t f[XT_WIRE_MAX];
    xt_wire_put_login(f, &l);
    assert_memory_equal(f + 24, out + 28, 16);
}

/* ---- names ---- */

static void names(void **state)
{
    (void)state;
    assert_string_equal(xt_wire_reason_name(1), "UNKNOWN_SYMBOL");
    assert_string_equal(xt_wire_reason_name(6), "PRICE_BAND");
    assert_string_equal(xt_wire_reason_name(11), "USER");
    assert_string_equal(xt_wire_reason_name(15), "STP");
    assert_string_equal(xt_wire_reason_name(XT_R_RATE_LIMIT), "RATE_LIMIT");
    assert_string_equal(xt_wire_reason_name(66), "DUPLICATE_CLORDID");
    assert_string_equal(xt_wire_reason_name(71), "JOURNAL_FAILED");
    assert_string_equal(xt_wire_reason_name(XT_R_UNKNOWN_INSTRUMENT), "UNKNOWN_INSTRUMENT");
    assert_string_equal(xt_wire_reason_name(XT_R_WRONG_INSTRUMENT), "WRONG_INSTRUMENT");
    static const int bad_reasons[] = {0, 16, 63, 75, -1, 1000, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_reasons / sizeof bad_reasons[0]; i++)
        assert_string_equal(xt_wire_reason_name(bad_reasons[i]), "?");

    assert_string_equal(xt_wire_login_reason_name(XT_LR_BAD_VERSION), "BAD_VERSION");
    assert_string_equal(xt_wire_login_reason_name(3), "BAD_SIGNATURE");
    assert_string_equal(xt_wire_login_reason_name(XT_LR_BAD_FIELD), "BAD_FIELD");
    assert_string_equal(xt_wire_login_reason_name(0), "?");
    assert_string_equal(xt_wire_login_reason_name(XT_LR_SESSION_LIMIT), "SESSION_LIMIT");
    assert_string_equal(xt_wire_login_reason_name(12), "?");

    assert_string_equal(xt_wire_error_name(XT_ERR_MALFORMED), "MALFORMED");
    assert_string_equal(xt_wire_error_name(7), "RESYNC");
    assert_string_equal(xt_wire_error_name(XT_ERR_TOO_MANY_CONNECTIONS), "TOO_MANY_CONNECTIONS");
    assert_string_equal(xt_wire_error_name(0), "?");
    assert_string_equal(xt_wire_error_name(13), "?");
    assert_string_equal(xt_wire_error_name(-1), "?");

    assert_string_equal(xt_wire_type_name(XT_MSG_NEW_ORDER), "NEW_ORDER");
    assert_string_equal(xt_wire_type_name(XT_MSG_LOGIN), "LOGIN");
    assert_string_equal(xt_wire_type_name(XT_MSG_HEARTBEAT), "HEARTBEAT");
    assert_string_equal(xt_wire_type_name(XT_MSG_SERVER_HEARTBEAT), "SERVER_HEARTBEAT");
    assert_string_equal(xt_wire_type_name(XT_MSG_MASS_CANCEL_ACK), "MASS_CANCEL_ACK");
    assert_string_equal(xt_wire_type_name(XT_MSG_AMENDED), "AMENDED");
    assert_string_equal(xt_wire_type_name(0), "?");
    assert_string_equal(xt_wire_type_name(0x95), "?");
    assert_string_equal(xt_wire_type_name(0x103), "?");
    assert_string_equal(xt_wire_type_name(-1), "?");
    for (int type = 0; type < 256; type++)
        assert_true((xt_wire_len((uint8_t)type) != 0) == (strcmp(xt_wire_type_name(type), "?") != 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_login),
        cmocka_unit_test(bytes_new_order),
        cmocka_unit_test(bytes_fill),
        cmocka_unit_test(bytes_canceled),
        cmocka_unit_test(bytes_instrument),
        cmocka_unit_test(bytes_small),
        cmocka_unit_test(round_client),
        cmocka_unit_test(round_server_unsequenced),
        cmocka_unit_test(round_server_sequenced),
        cmocka_unit_test(frame_lengths),
        cmocka_unit_test(frame_prefixes),
        cmocka_unit_test(frame_errors),
        cmocka_unit_test(frame_back_to_back),
        cmocka_unit_test(login_signed),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
