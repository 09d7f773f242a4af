/* fuzz_oejson.c - libFuzzer target: order entry in JSON (src/server/oe_json.h),
 * the WebSocket order ops and REST order bodies of docs/websocket.md and
 * docs/rest.md. The first input byte picks the op (and whether the order
 * is named by the REST path); the rest is the JSON args.
 *
 * Checked: a request either fails with a message, or becomes a frame that
 * the wire codec reads back as a whole frame of the op's type, whose id is
 * the key returned, and whose price and quantity are positive; the frame's
 * JSON form (for the answer types) is one JSON object. Any violation aborts.
 */
#include <jansson.h>
#include <string.h>

#include "core/le.h"
#include "fuzz.h"
#include "server/oe_json.h"

static xt_md_sym_t sym = {.symbol = "BTC-USDT", .tick = {1, 2}, .lot = {1, 4}};

static const xt_md_sym_t *by_symbol(void *ctx, const char *symbol, uint32_t *id)
{
    (void)ctx;
    *id = 0;
    return strcmp(symbol, "BTC-USDT") == 0 ? &sym : NULL;
}

static const xt_md_sym_t *by_id(void *ctx, uint32_t id)
{
    (void)ctx;
    return id == 0 ? &sym : NULL;
}

/* An amend names the instrument its price and qty were read in (AMEND_CHECKED). */
static const uint8_t types[] = {
    0, XT_MSG_NEW_ORDER, XT_MSG_CANCEL, XT_MSG_AMEND_CHECKED, XT_MSG_MASS_CANCEL, XT_MSG_ORDER_STATUS};

/* The answer types' JSON, from an arbitrary body of the input's bytes. */
static void check_json(const xt_oe_insts_t *in, const uint8_t *data, size_t size)
{
    static const uint8_t answers[] = {XT_MSG_ACCEPTED, XT_MSG_REJECTED,     XT_MSG_FILL,           XT_MSG_CANCELED,
                                      XT_MSG_AMENDED,  XT_MSG_STATUS_REPLY, XT_MSG_MASS_CANCEL_ACK};
    for (size_t t = 0; t < sizeof answers; t++) {
        uint8_t f[XT_WIRE_MAX] = {0};
        memcpy(f + XT_WIRE_HDR, data, size < XT_WIRE_MAX - XT_WIRE_HDR ? size : XT_WIRE_MAX - XT_WIRE_HDR);
        xt_wire_hdr_t h = {.type = answers[t], .seq = size};
        char out[1100];
        out[0] = '{';
        size_t n = xt_oe_json(in, f, &h, out + 1, sizeof out - 2);
        CHECK(n > 0);
        out[n + 1] = '}';
        /* ids are u64: past 2^63 jansson reads them only as reals */
        json_t *j = json_loadb(out, n + 2, JSON_DECODE_INT_AS_REAL, NULL);
        CHECK(json_is_object(j));
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    xt_oe_insts_t in = {by_symbol, by_id, NULL};
    int kind = 1 + data[0] % 5;
    int64_t path_id = (data[0] & 0x80) ? 1234 : 0;
    json_t *args = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    uint8_t f[XT_WIRE_MAX];
    uint64_t key = 0;
    char why[160] = "";
    int n = xt_oe_frame(&in, kind, args, 99, path_id, f, &key, why, sizeof why);
    json_decref(args);
    if (n < 0) {
        CHECK(why[0] != '\0' && strlen(why) < sizeof why);
    } else {
        xt_wire_hdr_t h;
        CHECK(xt_wire_frame(f, (size_t)n, XT_WIRE_MAX, &h) == n && h.type == types[kind]);
        CHECK(xt_get64(f + XT_WIRE_HDR) == key);
        if (kind == XT_OE_NEW) {
            xt_msg_new_order_t m;
            xt_wire_get_new_order(f, &m);
            CHECK(m.qty > 0 && (m.type == XT_MARKET ? m.price == 0 : m.price > 0) && m.clordid > 0);
        }
    }
    check_json(&in, data, size);
    return 0;
}
