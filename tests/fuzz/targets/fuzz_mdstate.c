/* fuzz_mdstate.c - libFuzzer target: the input is the payload of an
 * md-state file (docs/journal-format.md, "Market-data state"), loaded by
 * xt_md_state_decode() into an md with three instruments (ids 1, 2 and 3,
 * the last in another time zone).
 *
 * Properties: decoding never crashes or reads out of bounds; bytes that do
 * not check change nothing (the md's own state, encoded, is the same
 * before and after); bytes that do are loaded, and then encoding the md
 * and decoding that into a second md with the same instruments gives the
 * same state again; whatever was loaded, a trade and a day of time
 * afterwards run without undefined behaviour (UBSan in the sanitizer
 * build).
 *
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "md/md.h"
#include "xt/error.h"

#define T0 INT64_C(1704240000000000000) /* 2024-01-03 00:00 UTC */

static void make(xt_md_t *md)
{
    xt_md_config_t cfg = {.max_instruments = 4, .max_levels = 8, .tape = 4};
    CHECK(xt_md_init(md, &cfg, NULL, NULL) == 0);
    CHECK(xt_md_add_instrument(md, 1, "BTC-USDT", 100, 0) == 0);
    CHECK(xt_md_add_instrument(md, 2, "ETH-USDT", 50, 0) == 0);
    CHECK(xt_md_add_instrument(md, 3, "600519.SH", 170000, 8 * 3600) == 0);
    CHECK(xt_md_follow_ref(md, 3, 1) == 0); /* its previous close is its band's ref */
    xt_event_t ev[2] = {{.type = XT_EV_BOOK, .side = XT_BUY, .instrument = 1, .price = 99, .qty = 5},
                        {.type = XT_EV_TRADE, .side = XT_BUY, .instrument = 1, .price = 101, .qty = 2}};
    ev[0].u.level.orders = 1;
    ev[1].u.trade.trade_id = 1;
    xt_event_batch_t b = {.seq = 1, .ts = T0, .last = 1, .n = 2, .events = ev};
    xt_md_on_batch(md, &b);
}

static uint8_t *encode(const xt_md_t *md, size_t *n)
{
    *n = xt_md_state_size(md);
    uint8_t *b = malloc(*n);
    CHECK(b && xt_md_state_encode(md, b, *n) == *n);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xt_md_t md, again;
    make(&md);
    size_t n0, n1;
    uint8_t *before = encode(&md, &n0);
    int rc = xt_md_state_decode(&md, data, size);
    uint8_t *after = encode(&md, &n1);
    if (rc < 0) {
        CHECK(rc == XT_ECORRUPT || (rc == XT_EINVAL && size < 4));
        CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
    } else {
        CHECK(rc <= 3);
        make(&again);
        CHECK(xt_md_state_decode(&again, after, n1) == 3);
        size_t n2;
        uint8_t *twice = encode(&again, &n2);
        CHECK(n2 == n1 && memcmp(twice, after, n1) == 0);
        free(twice);
        xt_md_destroy(&again);
    }
    xt_event_t t[2] = {{.type = XT_EV_TRADE, .side = XT_SELL, .instrument = 1, .price = 100, .qty = 3},
                       {.type = XT_EV_INSTRUMENT, .instrument = 3, .price = 168000}}; /* a band move */
    t[0].u.trade.trade_id = 2;
    xt_event_batch_t b = {.seq = 2, .ts = T0 + INT64_C(3600000000000), .last = 1, .n = 2, .events = t};
    xt_md_on_batch(&md, &b);
    xt_md_advance(&md, T0 + INT64_C(86400000000000));
    free(before);
    free(after);
    xt_md_destroy(&md);
    return 0;
}
