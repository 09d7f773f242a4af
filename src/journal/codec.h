/* codec.h - the fields journal files are made of, shared by segments,
 * records and snapshots: little-endian integers written byte by byte (so
 * the format does not depend on the host's byte order or alignment; from
 * core/le.h),
 * decimals, and the 71-byte instrument definition. */
#ifndef XT_JOURNAL_CODEC_H
#define XT_JOURNAL_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/le.h"
#include "xt/command.h"

/* A decimal as its mantissa (i64) then its scale (u8): 9 bytes. */
#define XT_DEC_BYTES 9

static inline void xt_put_dec(uint8_t *p, xt_decimal_t d)
{
    xt_put64(p, (uint64_t)d.m);
    p[8] = d.scale;
}

static inline xt_decimal_t xt_get_dec(const uint8_t *p)
{
    xt_decimal_t d = {(int64_t)xt_get64(p), p[8]};
    return d;
}

/* An instrument definition: symbol (16 bytes, NUL-padded), flags u8, then
 * tick, lot, min_qty, max_qty, ref_price, band_pct as decimals. */
#define XT_INSTRUMENT_DEF_BYTES (16 + 1 + 6 * XT_DEC_BYTES)

static inline void xt_put_instrument_def(uint8_t *p, const xt_instrument_def_t *d)
{
    memset(p, 0, 16);
    memcpy(p, d->symbol, strnlen(d->symbol, 16));
    p[16] = d->flags;
    const xt_decimal_t v[6] = {d->tick, d->lot, d->min_qty, d->max_qty, d->ref_price, d->band_pct};
    for (size_t i = 0; i < 6; i++)
        xt_put_dec(p + 17 + XT_DEC_BYTES * i, v[i]);
}

/* Fills *d (zeroed first; the symbol NUL-terminated). */
static inline void xt_get_instrument_def(const uint8_t *p, xt_instrument_def_t *d)
{
    memset(d, 0, sizeof *d);
    memcpy(d->symbol, p, 16);
    d->flags = p[16];
    xt_decimal_t *v[6] = {&d->tick, &d->lot, &d->min_qty, &d->max_qty, &d->ref_price, &d->band_pct};
    for (size_t i = 0; i < 6; i++)
        *v[i] = xt_get_dec(p + 17 + XT_DEC_BYTES * i);
}

#endif
