/* test_oe_json.c - order entry in JSON (src/server/oe_json.h): requests to
 * binary frames (decimals to ticks and lots, defaults, every refusal),
 * server messages to JSON read back with jansson, and the ids a bridge
 * gives requests that name none (md_oe.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/le.h"
#include "server/md_oe_internal.h"
#include "server/oe_json.h"
#include "xt/error.h"
#include "xt/types.h"

static xt_md_sym_t btc = {.symbol = "BTC-USDT", .tick = {1, 2}, .lot = {1, 4}};

static const xt_md_sym_t *by_symbol(void *ctx, const char *symbol, uint32_t *id)
{
    (void)ctx;
    *id = 7;
    return strcmp(symbol, "BTC-USDT") == 0 ? &btc : NULL;
}

static const xt_md_sym_t *by_id(void *ctx, uint32_t id)
{
    (void)ctx;
    return id == 7 ? &btc : NULL;
}

static const xt_oe_insts_t insts = {by_symbol, by_id, NULL};

static int frame(int kind, const char *args, uint64_t clordid, int64_t order_id, uint8_t *f, uint64_t *key, char *why)
{
    json_t *j = json_loads(args, 0, NULL);
    int n = xt_oe_frame(&insts, kind, j, clordid, order_id, f, key, why, 160);
    json_decref(j);
    return n;
}

static void new_order_frame(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    uint64_t key = 0;
    char why[160];
    int n = frame(XT_OE_NEW,
                  "{\"symbol\":\"BTC-USDT\",\"side\":\"SELL\",\"price\":\"1000.5\",\"qty\":\"0.0020\","
                  "\"tif\":\"ioc\",\"stp\":\"cb\",\"client_order_id\":\"42\"}",
                  0, 0, f, &key, why);
    assert_int_equal(n, XT_LEN_NEW_ORDER);
    xt_msg_new_order_t m;
    xt_wire_get_new_order(f, &m);
    assert_int_equal(key, 42);
    assert_int_equal(m.clordid, 42);
    assert_int_equal(m.instrument, 7);
    assert_int_equal(m.side, XT_SELL);
    assert_int_equal(m.type, XT_LIMIT);
    assert_int_equal(m.tif, XT_IOC);
    assert_int_equal(m.stp, XT_STP_CB);
    assert_int_equal(m.price, 100050); /* ticks of 0.01 */
    assert_int_equal(m.qty, 20);       /* lots of 0.0001 */
    /* defaults: the clordid given by the caller, tif and stp the engine's */
    n = frame(XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"type\":\"market\",\"qty\":1}", 9, 0, f, &key,
              why);
    assert_int_equal(n, XT_LEN_NEW_ORDER);
    xt_wire_get_new_order(f, &m);
    assert_int_equal(m.clordid, 9);
    assert_int_equal(m.type, XT_MARKET);
    assert_int_equal(m.tif, 0);
    assert_int_equal(m.price, 0);
    assert_int_equal(m.qty, 10000);
}

static void refusals(void **state)
{
    (void)state;
    static const struct {
        int kind;
        const char *args, *word;
        int rc; /* 0 here: -1 */
    } bad[] = {
        {XT_OE_NEW, "[]", "object"},
        {XT_OE_NEW, "{\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1\"}", "symbol is required"},
        {XT_OE_NEW, "{\"symbol\":\"X\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1\"}", "unknown symbol", XT_ENOENT},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"up\",\"price\":\"1\",\"qty\":\"1\"}", "side"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1.001\",\"qty\":\"1\"}", "price"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"-1\",\"qty\":\"1\"}", "price"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1e3\"}", "qty"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"qty\":\"1\"}", "needs a price"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"type\":\"market\",\"price\":\"1\",\"qty\":\"1\"}",
         "no price"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1\",\"client_order_id\":-1}",
         "client_order_id"},
        {XT_OE_CANCEL, "{\"client_order_id\":1}", "exactly one"},
        {XT_OE_CANCEL, "{\"client_order_id\":1,\"order_id\":5,\"orig_client_order_id\":2}", "exactly one"},
        {XT_OE_AMEND, "{\"client_order_id\":1,\"order_id\":5,\"qty\":\"1\"}", "symbol"},
        {XT_OE_STATUS, "{}", "exactly one"},
        {XT_OE_MASS_CANCEL, "{\"symbol\":\"NOPE\"}", "unknown symbol", XT_ENOENT},
        {XT_OE_STATUS, "{\"orig_client_order_id\":\"18446744073709551616\"}", "past"},     /* 2^64 */
        {XT_OE_STATUS, "{\"orig_client_order_id\":\"99999999999999999999\"}", "past"},     /* 20 digits */
        {XT_OE_STATUS, "{\"orig_client_order_id\":\"184467440737095516150\"}", "integer"}, /* 21 */
        {XT_OE_CANCEL, "{\"client_order_id\":\"18446744073709551615\",\"order_id\":5}", "at most"},
        {XT_OE_CANCEL, "{\"client_order_id\":1,\"order_id\":\"9223372036854775807\"}", "out of range"}, /* 2^63-1 */
        {XT_OE_STATUS, "{\"order_id\":\"9223372036854775808\"}", "out of range"},                       /* 2^63 */
        /* a 19th decimal is named as such, not as too many digits (the mantissa, 15, is small) */
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"0.0000000000000000015\",\"qty\":\"1\"}",
         "price is out of range: more than 18 decimals"},
        {XT_OE_NEW, "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"99999999999999999999\"}",
         "qty is out of range: more digits than a 63-bit mantissa"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t f[XT_WIRE_MAX];
        uint64_t key;
        char why[160];
        assert_int_equal(frame(bad[i].kind, bad[i].args, 0, 0, f, &key, why), bad[i].rc ? bad[i].rc : -1);
        if (!strstr(why, bad[i].word))
            fail_msg("%s: '%s' has no '%s'", bad[i].args, why, bad[i].word);
    }
}

/* Ids over 10^19, as the binary protocol takes them (a probe found them
 * refused): up to 2^64 - 1 for the order a request names, 2^64 - 2 for
 * the request's own id (2^64 - 1 means "none chosen"). */
static void ids_over_ten_to_the_nineteenth(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    uint64_t key;
    char why[160];
    assert_int_equal(frame(XT_OE_STATUS, "{\"orig_client_order_id\":\"18446744073709551615\"}", 9, 0, f, &key, why),
                     XT_LEN_ORDER_STATUS);
    xt_msg_order_status_t st;
    xt_wire_get_order_status(f, &st);
    assert_true(st.orig_clordid == UINT64_MAX);
    assert_int_equal(
        frame(XT_OE_CANCEL, "{\"client_order_id\":\"18446744073709551614\",\"order_id\":5}", 0, 0, f, &key, why),
        XT_LEN_CANCEL);
    xt_msg_cancel_t c;
    xt_wire_get_cancel(f, &c);
    assert_true(c.clordid == UINT64_MAX - 1 && key == UINT64_MAX - 1);
    assert_int_equal(frame(XT_OE_STATUS, "{\"order_id\":\"9223372036854775806\"}", 9, 0, f, &key, why),
                     XT_LEN_ORDER_STATUS); /* the largest order_id */
    xt_wire_get_order_status(f, &st);
    assert_true(st.order_id == INT64_MAX - 1);
}

static void cancel_by_path_id(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    uint64_t key;
    char why[160];
    assert_int_equal(frame(XT_OE_CANCEL, "{}", 77, 1234, f, &key, why), XT_LEN_CANCEL);
    xt_msg_cancel_t m;
    xt_wire_get_cancel(f, &m);
    assert_int_equal(m.clordid, 77);
    assert_int_equal(m.order_id, 1234);
    assert_int_equal(m.orig_clordid, 0);
    assert_int_equal(key, 77);
}

/* A message's JSON, wrapped in braces, parsed back. */
static json_t *as_json(const uint8_t *f)
{
    xt_wire_hdr_t h;
    assert_true(xt_wire_frame(f, XT_WIRE_MAX, XT_WIRE_MAX, &h) > 0);
    char out[1024];
    out[0] = '{';
    size_t n = xt_oe_json(&insts, f, &h, out + 1, sizeof out - 2);
    assert_true(n > 0);
    out[n + 1] = '}';
    json_t *j = json_loadb(out, n + 2, 0, NULL);
    assert_non_null(j);
    return j;
}

static void messages_as_json(void **state)
{
    (void)state;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_fill_t fill = {5, 99, 3, 7, XT_BUY, XT_LIQ_MAKER, 100050, 20, 0, 123};
    xt_wire_put_fill(f, XT_WF_SEQUENCED, 12, &fill);
    json_t *j = as_json(f);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "fill");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 12);
    assert_true(json_is_true(json_object_get(j, "sequenced")));
    assert_string_equal(json_string_value(json_object_get(j, "price")), "1000.50");
    assert_string_equal(json_string_value(json_object_get(j, "qty")), "0.0020");
    assert_string_equal(json_string_value(json_object_get(j, "remaining")), "0.0000");
    assert_string_equal(json_string_value(json_object_get(j, "liquidity")), "maker");
    assert_string_equal(json_string_value(json_object_get(j, "side")), "buy");
    assert_int_equal(xt_oe_answer_key(f, &(xt_wire_hdr_t){.type = XT_MSG_FILL}), 0);
    json_decref(j);
    xt_msg_rejected_t rj = {8, 0, XT_R_DUPLICATE_CLORDID, XT_MSG_NEW_ORDER, 7, 1};
    xt_wire_put_rejected(f, 0, 12, &rj);
    j = as_json(f);
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "DUPLICATE_CLORDID");
    assert_string_equal(json_string_value(json_object_get(j, "request")), "new");
    assert_false(json_is_true(json_object_get(j, "sequenced")));
    assert_int_equal(xt_oe_answer_key(f, &(xt_wire_hdr_t){.type = XT_MSG_REJECTED}), 8);
    assert_int_equal(xt_oe_http_status(XT_R_DUPLICATE_CLORDID), 409);
    assert_int_equal(xt_oe_http_status(XT_R_RATE_LIMIT), 429);
    json_decref(j);
    xt_msg_amended_t am = {9, 99, 5, 100050, 10, 1, 123, 7};
    xt_wire_put_amended(f, XT_WF_SEQUENCED, 13, &am);
    j = as_json(f);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "amended");
    assert_string_equal(json_string_value(json_object_get(j, "symbol")), "BTC-USDT");
    assert_string_equal(json_string_value(json_object_get(j, "price")), "1000.50");
    assert_string_equal(json_string_value(json_object_get(j, "qty")), "0.0010");
    assert_int_equal(json_integer_value(json_object_get(j, "price_ticks")), 100050);
    assert_int_equal(json_integer_value(json_object_get(j, "qty_lots")), 10);
    assert_int_equal(xt_oe_answer_key(f, &(xt_wire_hdr_t){.type = XT_MSG_AMENDED}), 9);
    json_decref(j);
    xt_msg_status_reply_t st = {.request_id = 4};
    xt_wire_put_status_reply(f, 12, &st);
    j = as_json(f);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "unknown");
    assert_null(json_object_get(j, "order_id"));
    json_decref(j);
    /* a message that does not fit its buffer is not cut */
    xt_wire_hdr_t h;
    xt_wire_put_fill(f, XT_WF_SEQUENCED, 12, &fill);
    xt_wire_frame(f, XT_WIRE_MAX, XT_WIRE_MAX, &h);
    char small[40];
    assert_int_equal(xt_oe_json(&insts, f, &h, small, sizeof small), 0);
}

/* The ids of requests sent on a bridge (md_oe.c, xt__oe_take_id): a
 * request that names no client order id takes one more than the highest
 * the session has used, so it is never a DUPLICATE_CLORDID after ids the
 * client chose; request ids of status and mass cancel come from the same
 * count, and a client's own request id does not move it. */
static void bridge_ids(void **state)
{
    (void)state;
    oe_bridge_t x = {.next_request = 5}; /* as after a login reporting last_client_order_id 5 */
    uint8_t f[XT_WIRE_MAX];
    uint64_t key = 0;
    char why[160];
    const char *omitted = "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1\"}";
    assert_true(frame(XT_OE_NEW, omitted, OE_ID_NEXT, 0, f, &key, why) > 0);
    assert_true(key == OE_ID_NEXT);
    xt_put64(f + OE_ID_OFFSET, 0);
    assert_int_equal(xt__oe_take_id(&x, f, 1), 6);
    assert_int_equal(xt_get64(f + OE_ID_OFFSET), 6); /* written into the frame */
    assert_true(frame(XT_OE_NEW,
                      "{\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"1\",\"qty\":\"1\","
                      "\"client_order_id\":40}",
                      OE_ID_NEXT, 0, f, &key, why) > 0);
    assert_int_equal(xt__oe_take_id(&x, f, 1), 40);
    assert_int_equal(x.next_request, 40); /* the client's id moves the count on */
    xt_put64(f + OE_ID_OFFSET, 0);
    assert_int_equal(xt__oe_take_id(&x, f, 1), 41);
    xt_put64(f + OE_ID_OFFSET, 90); /* a request id the client chose: not a client order id */
    assert_int_equal(xt__oe_take_id(&x, f, 0), 90);
    assert_int_equal(x.next_request, 41);
    xt_put64(f + OE_ID_OFFSET, 0);
    assert_int_equal(xt__oe_take_id(&x, f, 0), 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_order_frame),
        cmocka_unit_test(refusals),
        cmocka_unit_test(ids_over_ten_to_the_nineteenth),
        cmocka_unit_test(cancel_by_path_id),
        cmocka_unit_test(messages_as_json),
        cmocka_unit_test(bridge_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
