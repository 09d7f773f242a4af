/* fuzz_engine.c - libFuzzer target: the engine driven by fuzzer-chosen
 * commands, differentially against the reference model
 * (tests/support/refmodel.c), with every invariant checked after every
 * command (tests/support/diff.c). Any disagreement aborts.
 *
 * Input: 8 bytes per command.
 *   b0  bits 0-1 kind (0,1 NEW; 2 CANCEL; 3 AMEND), bits 2-3 instrument
 *       (3 = unknown), bits 4-5 account - 1, bit 6 side, bit 7 MARKET
 *   b1  order id (1..64)
 *   b2  bits 0-2 tif (5..7: default), bits 3-5 stp (5..7: default)
 *   b3  price selector: 250 none, 251 invalid, 252 zero, 253 negative,
 *       254 the price maximum, 255 a far price; otherwise an offset
 *   b4-5 price offset from the instrument's mid (int16, scaled by b3 & 7)
 *   b6-7 quantity (b7 = 255: invalid; else 1 + (b6 | b7 << 8) % 400)
 * A CANCEL whose b2 has bits 0-5 all set is instead a move of instrument
 * B's price band: ref 9.00 + 0.20 * (b3 % 11), or no band when b3 >= 220.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static const int64_t mids[3] = {1000, 1000, 60000};

static int64_t decode_price(const uint8_t *b, int inst)
{
    switch (b[3]) {
    case 250: return XT_PRICE_NONE;
    case 251: return XT_PRICE_INVALID;
    case 252: return 0;
    case 253: return -1;
    case 254: return XT_PRICE_MAX;
    case 255: return (int64_t)1 << (6 * (1 + b[4] % 7)); /* trie height boundaries */
    default: break;
    }
    int16_t off = (int16_t)(b[4] | b[5] << 8);
    int64_t p = mids[inst < 3 ? inst : 0] + (int64_t)(off % 64) * (1 + (b[3] & 7));
    return p;
}

static int64_t decode_qty(const uint8_t *b)
{
    if (b[7] == 255)
        return XT_QTY_INVALID;
    return 1 + (int64_t)((b[6] | b[7] << 8) % 400);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size / 8 > 2000)
        return 0; /* the model is O(n) per step; keep inputs fast */
    diff_t *d = malloc(sizeof *d);
    /* ids are 1..64, so at most 64 orders and levels ever rest */
    xt_engine_config_t cfg = {.max_orders = 128, .max_levels = 128, .max_instruments = 4};
    if (!d || diff_init(d, &cfg) != 0 || diff_define_fixture(d) != 0)
        abort();
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *b = data + i;
        int kind = b[0] & 3, inst = (b[0] >> 2) & 3;
        uint32_t acct = 1u + ((b[0] >> 4) & 3);
        int64_t id = 1 + b[1] % 64;
        xt_cmd_t c;
        memset(&c, 0, sizeof c);
        if (kind <= 1) {
            xt_order_new_t *o = &c.u.new_order;
            c.type = XT_CMD_NEW;
            o->id = id;
            o->account = acct;
            o->instrument = inst == 3 ? XT_INSTRUMENT_NONE : (uint32_t)inst;
            o->side = (b[0] >> 6) & 1;
            o->type = (b[0] >> 7) & 1;
            o->tif = (b[2] & 7) > 4 ? 0 : (uint8_t)(b[2] & 7);
            o->stp = ((b[2] >> 3) & 7) > 4 ? 0 : (uint8_t)((b[2] >> 3) & 7);
            o->price = o->type == XT_MARKET && b[3] < 128 ? XT_PRICE_NONE : decode_price(b, inst);
            o->qty = decode_qty(b);
        } else if (kind == 2 && (b[2] & 63) == 63) { /* B's band moved (or taken away: b[3] >= 220) */
            c = diff_band_move_b(d, b[3] >= 220 ? 0 : 900 + 20 * (b[3] % 11));
        } else if (kind == 2) {
            c.type = XT_CMD_CANCEL;
            c.u.cancel.id = id;
            c.u.cancel.account = acct;
        } else {
            c.type = XT_CMD_AMEND;
            c.u.amend.id = id;
            c.u.amend.account = acct;
            c.u.amend.price = decode_price(b, inst);
            c.u.amend.qty = decode_qty(b);
        }
        const char *why = diff_step(d, &c);
        if (why) {
            fprintf(stderr, "command %zu: %s\n", i / 8, why);
            abort();
        }
    }
    diff_free(d);
    free(d);
    return 0;
}
