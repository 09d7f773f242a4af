/* instrument.c - instrument definitions: validation, quantity limits in lots,
 * price-band limits in ticks, and the symbol table. */
#include <string.h>

#include "internal.h"
#include "ladder.h"
#include "xt/decimal.h"
#include "xt/error.h"

typedef __int128 i128;

static int pow10_i128(int n, i128 *out)
{
    i128 v = 1;
    for (int k = 0; k < n; k++)
        v *= 10;
    *out = v;
    return 0;
}

/* *out = a * b, XT_ERANGE on overflow. */
static int mul(i128 a, i128 b, i128 *out)
{
    return __builtin_mul_overflow(a, b, out) ? XT_ERANGE : 0;
}

/* round_half_up(ref * factor / (100 * 10^bs) / tick) for ref, tick > 0 and
 * factor >= 0 (factor is (100 +/- band) scaled by 10^bs). */
static int band_ticks(xt_decimal_t ref, i128 factor, unsigned bs, xt_decimal_t tick, int64_t *out)
{
    /* ref.m*10^-rs * factor*10^-bs / 100 / (tick.m*10^-ts)
     *   = ref.m * factor * 10^(ts - rs - bs) / (100 * tick.m) */
    i128 num, den = (i128)100 * tick.m, p;
    int e = (int)tick.scale - (int)ref.scale - (int)bs;
    if (mul(ref.m, factor, &num))
        return XT_ERANGE;
    pow10_i128(e >= 0 ? e : -e, &p);
    if (e >= 0 ? mul(num, p, &num) : mul(den, p, &den))
        return XT_ERANGE;
    i128 q = num / den, r = num % den; /* num, den > 0 */
    if (r >= den - r)                  /* half up, without forming 2 * r */
        q++;
    if (q > XT_PRICE_MAX)
        q = XT_PRICE_MAX + (i128)1; /* above any valid price */
    *out = (int64_t)q;
    return 0;
}

/* d without the trailing zeros of its mantissa (the same value): "2.000000"
 * as 2, so that ref * (100 + band) does not overflow 128 bits for values
 * merely written with many decimals. */
static xt_decimal_t trimmed(xt_decimal_t d)
{
    while (d.scale > 0 && d.m % 10 == 0) {
        d.m /= 10;
        d.scale--;
    }
    return d;
}

int xt_band_limits(const xt_instrument_def_t *def, int64_t *low, int64_t *high)
{
    if (!(def->flags & XT_DEF_BAND) || def->ref_price.m <= 0 || def->band_pct.m < 0 || def->tick.m <= 0 ||
        def->band_pct.scale > XT_DECIMAL_MAX_SCALE || def->ref_price.scale > XT_DECIMAL_MAX_SCALE ||
        def->tick.scale > XT_DECIMAL_MAX_SCALE)
        return XT_EINVAL;
    xt_decimal_t ref = trimmed(def->ref_price), band = trimmed(def->band_pct), tick = trimmed(def->tick);
    unsigned bs = band.scale;
    i128 hundred;
    pow10_i128((int)bs, &hundred);
    hundred *= 100;
    int rc = band_ticks(ref, hundred + band.m, bs, tick, high);
    if (rc)
        return rc;
    i128 lf = hundred - band.m;
    if (lf <= 0)
        *low = 1;
    else {
        if ((rc = band_ticks(ref, lf, bs, tick, low)))
            return rc;
        if (*low <= 0)
            *low = 1;
    }
    if (*low > XT_PRICE_MAX || *high < 1) /* wholly above the prices, or below one tick: no price in it */
        return XT_ERANGE;
    if (*high > XT_PRICE_MAX)
        *high = XT_PRICE_MAX;
    return 0;
}

/* qty / lot rounded up (ceil != 0) or down, for qty, lot > 0. */
static int lots_of(xt_decimal_t qty, xt_decimal_t lot, int ceil, int64_t *out)
{
    i128 num = qty.m, den = lot.m, p;
    int e = (int)lot.scale - (int)qty.scale;
    pow10_i128(e >= 0 ? e : -e, &p);
    if (e >= 0 ? mul(num, p, &num) : mul(den, p, &den))
        return XT_ERANGE;
    i128 q = num / den;
    if (ceil && q * den != num)
        q++;
    if (q > XT_QTY_MAX)
        q = XT_QTY_MAX + (i128)1;
    *out = (int64_t)q;
    return 0;
}

int xt_symbol_valid(const char *s, size_t len)
{
    if (len == 0 || len > XT_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

uint32_t xt__symbol_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int scale_ok(xt_decimal_t d)
{
    return d.scale <= XT_DECIMAL_MAX_SCALE;
}

/* Validates a definition and derives its limits into `in`. */
static int derive(const xt_instrument_def_t *def, xt__instrument_t *in)
{
    size_t len = strnlen(def->symbol, sizeof def->symbol);
    if (len > XT_SYMBOL_MAX || !xt_symbol_valid(def->symbol, len))
        return XT_EINVAL;
    if (def->tick.m <= 0 || def->lot.m <= 0 || !scale_ok(def->tick) || !scale_ok(def->lot))
        return XT_EINVAL;
    if (def->flags & ~(unsigned)(XT_DEF_MIN | XT_DEF_MAX | XT_DEF_BAND))
        return XT_EINVAL;
    memset(in, 0, sizeof *in);
    in->def = *def;
    memset(in->def.symbol, 0, sizeof in->def.symbol);
    memcpy(in->def.symbol, def->symbol, len);
    in->symlen = (uint8_t)len;
    in->min_lots = 1;
    in->max_lots = XT_QTY_MAX;
    if (def->flags & XT_DEF_MIN) {
        if (def->min_qty.m <= 0 || !scale_ok(def->min_qty) || lots_of(def->min_qty, def->lot, 1, &in->min_lots))
            return XT_EINVAL;
    } else
        in->def.min_qty = (xt_decimal_t){0, 0};
    if (def->flags & XT_DEF_MAX) {
        if (def->max_qty.m <= 0 || !scale_ok(def->max_qty) || lots_of(def->max_qty, def->lot, 0, &in->max_lots))
            return XT_EINVAL;
        if (in->max_lots > XT_QTY_MAX)
            in->max_lots = XT_QTY_MAX;
    } else
        in->def.max_qty = (xt_decimal_t){0, 0};
    if (in->min_lots > in->max_lots)
        return XT_EINVAL;
    in->band_low = 1;
    in->band_high = XT_PRICE_MAX;
    if (def->flags & XT_DEF_BAND) {
        if (xt_band_limits(def, &in->band_low, &in->band_high))
            return XT_EINVAL;
        in->has_band = 1;
    } else {
        in->def.ref_price = (xt_decimal_t){0, 0};
        in->def.band_pct = (xt_decimal_t){0, 0};
    }
    xt__ladder_init(&in->side[XT_BUY]);
    xt__ladder_init(&in->side[XT_SELL]);
    return 0;
}

/* A field given (flag) in a or b: the same when given in neither, or in
 * both with the same value. */
static int given_differs(const xt_instrument_def_t *a, const xt_instrument_def_t *b, unsigned flag, xt_decimal_t va,
                         xt_decimal_t vb)
{
    if ((a->flags & flag) != (b->flags & flag))
        return 1;
    return (a->flags & flag) && xt_decimal_cmp(va, vb) != 0;
}

unsigned xt_instrument_def_diff(const xt_instrument_def_t *a, const xt_instrument_def_t *b)
{
    unsigned d = 0;
    d |= xt_decimal_cmp(a->tick, b->tick) ? XT_DIFF_TICK : 0u;
    d |= xt_decimal_cmp(a->lot, b->lot) ? XT_DIFF_LOT : 0u;
    d |= given_differs(a, b, XT_DEF_MIN, a->min_qty, b->min_qty) ? XT_DIFF_MIN : 0u;
    d |= given_differs(a, b, XT_DEF_MAX, a->max_qty, b->max_qty) ? XT_DIFF_MAX : 0u;
    d |= given_differs(a, b, XT_DEF_BAND, a->ref_price, b->ref_price) ? XT_DIFF_REF : 0u;
    d |= given_differs(a, b, XT_DEF_BAND, a->band_pct, b->band_pct) ? XT_DIFF_BAND : 0u;
    return d;
}

int64_t xt_instrument_ref_ticks(const xt_instrument_def_t *def)
{
    int64_t ref;
    return (def->flags & XT_DEF_BAND) && xt_decimal_to_units(def->ref_price, def->tick, &ref) == 0 && ref > 0 &&
                   ref <= XT_PRICE_MAX
               ? ref
               : XT_PRICE_NONE;
}

int xt_engine_instrument_event(const xt_engine_t *e, uint32_t index, xt_event_t *out)
{
    if (index >= e->n_instruments)
        return XT_ENOENT;
    const xt__instrument_t *in = &e->instruments[index];
    *out = (xt_event_t){.type = XT_EV_INSTRUMENT,
                        .instrument = index,
                        .price = xt_instrument_ref_ticks(&in->def),
                        .qty = in->has_band ? in->band_low : 0,
                        .remaining = in->has_band ? in->band_high : 0};
    return 0;
}

static void instrument_event(xt_engine_t *e, uint32_t idx)
{
    xt_engine_instrument_event(e, idx, xt__event(e, XT_EV_INSTRUMENT));
}

/* A definition of a symbol already defined that differs at most in its
 * band (ref and band, given or not) moves the band: a daily limit around
 * the previous close (A shares). Resting orders stay where they are, also
 * outside the new band (docs/matching.md). Anything else is XT_EEXIST. */
static int move_band(xt_engine_t *e, uint32_t idx, const xt__instrument_t *to)
{
    xt__instrument_t *in = &e->instruments[idx];
    if (xt_instrument_def_diff(&in->def, &to->def) & ~(unsigned)XT_DIFF_BAND_ONLY)
        return XT_EEXIST;
    in->def.flags = (uint8_t)((in->def.flags & ~XT_DEF_BAND) | (to->def.flags & XT_DEF_BAND));
    in->def.ref_price = to->def.ref_price;
    in->def.band_pct = to->def.band_pct;
    in->has_band = to->has_band;
    in->band_low = to->band_low;
    in->band_high = to->band_high;
    instrument_event(e, idx);
    return 0;
}

int xt__add_instrument(xt_engine_t *e, const xt_instrument_def_t *def, int emit)
{
    xt__instrument_t tmp;
    int rc = derive(def, &tmp);
    if (rc)
        return rc;
    uint32_t have = xt_engine_find_symbol(e, tmp.def.symbol, tmp.symlen);
    if (have != XT_INSTRUMENT_NONE)
        return emit ? move_band(e, have, &tmp) : XT_EEXIST; /* (a restore defines each once) */
    if (e->n_instruments >= e->cfg.max_instruments)
        return XT_ECAPACITY;
    uint32_t idx = e->n_instruments++;
    e->instruments[idx] = tmp;
    uint32_t h = xt__symbol_hash(tmp.def.symbol, tmp.symlen) & e->symtab_mask;
    while (e->symtab[h] != XT__NIL)
        h = (h + 1) & e->symtab_mask;
    e->symtab[h] = idx;

    if (emit)
        instrument_event(e, idx);
    return 0;
}

uint32_t xt_engine_find_symbol(const xt_engine_t *e, const char *symbol, size_t len)
{
    if (len == 0 || len > XT_SYMBOL_MAX)
        return XT_INSTRUMENT_NONE;
    uint32_t h = xt__symbol_hash(symbol, len) & e->symtab_mask;
    for (;;) {
        uint32_t i = e->symtab[h];
        if (i == XT__NIL)
            return XT_INSTRUMENT_NONE;
        const xt__instrument_t *in = &e->instruments[i];
        if (in->symlen == len && memcmp(in->def.symbol, symbol, len) == 0)
            return i;
        h = (h + 1) & e->symtab_mask;
    }
}

uint32_t xt_engine_instrument_count(const xt_engine_t *e)
{
    return e->n_instruments;
}

int xt_engine_instrument(const xt_engine_t *e, uint32_t index, xt_instrument_info_t *out)
{
    if (index >= e->n_instruments)
        return XT_ENOENT;
    const xt__instrument_t *in = &e->instruments[index];
    memset(out, 0, sizeof *out);
    out->index = index;
    memcpy(out->symbol, in->def.symbol, sizeof out->symbol);
    out->def = in->def;
    out->min_lots = in->min_lots;
    out->max_lots = in->max_lots;
    out->has_band = in->has_band;
    out->band_low = in->band_low;
    out->band_high = in->band_high;
    return 0;
}
