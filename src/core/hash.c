/* hash.c - the deterministic state hash.
 *
 * The hash is a function of the logical state only (never of pool indexes
 * or capacities), fed as a stream of 64-bit words:
 *
 *   "XTSTATE1", last_seq, trades, instrument count, then per instrument in
 *   definition order: the symbol (16 bytes, NUL-padded, as two
 *   little-endian words), flags, tick m, tick scale, lot m, lot scale, min
 *   m, min scale, max m, max scale, ref m, ref scale, band m, band scale;
 *   then for BUY then SELL: the number of levels, and per level best first
 *   its price, qty and order count, then per order in queue order: id,
 *   account, qty, filled, seq, type | tif << 8 | stp << 16.
 *
 * Each word w updates h = rotl(h ^ (w * K1), 31) * K2, and the result is
 * passed through the MurmurHash3 64-bit finaliser.
 */
#include <string.h>

#include "internal.h"
#include "ladder.h"

#define K1 UINT64_C(0x87c37b91114253d5)
#define K2 UINT64_C(0x4cf5ad432745937f)

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w * K1;
    h = (h << 31) | (h >> 33);
    return h * K2;
}

static uint64_t le64(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | (uint8_t)p[i];
    return v;
}

static uint64_t mix_decimal(uint64_t h, xt_decimal_t d)
{
    h = mix(h, (uint64_t)d.m);
    return mix(h, d.scale);
}

static uint64_t mix_side(const xt_engine_t *e, const xt__side_t *s, int side, uint64_t h)
{
    h = mix(h, s->nlevels);
    for (uint32_t li = s->best; li != XT__NIL;) {
        const xt__level_t *lv = &e->levels[li];
        h = mix(h, (uint64_t)lv->price);
        h = mix(h, (uint64_t)lv->qty);
        h = mix(h, lv->count);
        for (uint32_t oi = lv->head; oi != XT__NIL; oi = e->orders[oi].next) {
            const xt__order_t *o = &e->orders[oi];
            h = mix(h, (uint64_t)o->id);
            h = mix(h, o->account);
            h = mix(h, (uint64_t)o->qty);
            h = mix(h, (uint64_t)o->filled);
            h = mix(h, o->seq);
            h = mix(h, (uint64_t)o->type | (uint64_t)o->tif << 8 | (uint64_t)o->stp << 16);
        }
        li = xt__ladder_next(e, s, lv->price, side == XT_BUY);
    }
    return h;
}

uint64_t xt_engine_state_hash(const xt_engine_t *e)
{
    uint64_t h = 0;
    h = mix(h, le64("XTSTATE1"));
    h = mix(h, e->last_seq);
    h = mix(h, e->trades);
    h = mix(h, e->n_instruments);
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        const xt__instrument_t *in = &e->instruments[i];
        char sym[16] = {0};
        memcpy(sym, in->def.symbol, in->symlen);
        h = mix(h, le64(sym));
        h = mix(h, le64(sym + 8));
        h = mix(h, in->def.flags);
        h = mix_decimal(h, in->def.tick);
        h = mix_decimal(h, in->def.lot);
        h = mix_decimal(h, in->def.min_qty);
        h = mix_decimal(h, in->def.max_qty);
        h = mix_decimal(h, in->def.ref_price);
        h = mix_decimal(h, in->def.band_pct);
        for (int side = 0; side < 2; side++)
            h = mix_side(e, &in->side[side], side, h);
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}
