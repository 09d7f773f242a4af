/* fuzz_fills.c - libFuzzer target: the input is the fills section of an
 * md-state file (docs/journal-format.md, "Market-data state"), checked by
 * xt_fills_state_check() and, when it checks, loaded by
 * xt_fills_state_load() into a table of 3 accounts x 2 fills.
 *
 * Properties: checking never reads past the input and accepts only what
 * it says it used; a loaded table, encoded, checks and loads into a second
 * table of the same capacities that encodes to the same bytes (the order
 * of the accounts, their fills); queries of any account stay in bounds.
 *
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/md_fills.h"
#include "xt/error.h"

static uint8_t *encode(const xt_fills_t *f, size_t *n)
{
    *n = xt_fills_state_size(f);
    CHECK(*n <= xt_fills_state_max_size(f));
    uint8_t *b = malloc(*n);
    CHECK(b != NULL);
    xt_fills_state_encode(f, b);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t used = 0;
    int64_t count = xt_fills_state_check(data, size, &used);
    if (count < 0) {
        CHECK(count == XT_ECORRUPT);
        return 0;
    }
    CHECK(used <= size && used == 4 + (size_t)count * XT_FILL_STATE_REC);
    xt_fills_t f, g;
    CHECK(xt_fills_init(&f, 3, 2) == 0 && xt_fills_init(&g, 3, 2) == 0);
    xt_fills_state_load(&f, data, (uint32_t)count);
    size_t n, n2, used2 = 0;
    uint8_t *b = encode(&f, &n);
    int64_t again = xt_fills_state_check(b, n, &used2);
    CHECK(again >= 0 && again <= 6 && used2 == n);
    xt_fills_state_load(&g, b, (uint32_t)again);
    uint8_t *b2 = encode(&g, &n2);
    CHECK(n2 == n && memcmp(b, b2, n) == 0);
    xt_fill_t out[4 + 1]; /* a query fills up to limit + 1 */
    for (int64_t i = 0; i < count && i < 64; i++) {
        uint32_t account = (uint32_t)data[4 + i * XT_FILL_STATE_REC] | (uint32_t)data[5 + i * XT_FILL_STATE_REC] << 8 |
                           (uint32_t)data[6 + i * XT_FILL_STATE_REC] << 16 |
                           (uint32_t)data[7 + i * XT_FILL_STATE_REC] << 24;
        CHECK(xt_fills_query(&f, account, UINT32_MAX, 0, 4, out) <= 2);
        CHECK(xt_fills_query(&f, account, 0, 1, 4, out) <= 2);
    }
    free(b);
    free(b2);
    xt_fills_destroy(&f);
    xt_fills_destroy(&g);
    return 0;
}
