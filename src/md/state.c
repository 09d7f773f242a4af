/* state.c - the derived state of market data as bytes (md.h,
 * xt_md_state_*), so that a server that stops cleanly starts again with
 * the day it had: ticker, open candles, timeline, tape.
 *
 * Not saved: the books (the engine's, loaded at start), best bid/offer
 * and the top-five sums (from the books), book versions. Little-endian,
 * fixed layout, documented in docs/journal-format.md ("Market-data
 * state"). The decoder takes untrusted bytes: every count and value is
 * checked before it is used, and a record that does not check changes
 * nothing.
 */
#include <string.h>

#include "core/cow.h"
#include "core/le.h"
#include "md/internal.h"
#include "xt/error.h"

#define INST_FIXED XT__MD_INST_FIXED /* id .. candles, then the two counts */
#define CANDLE_BYTES 72
#define POINT_BYTES XT__MD_POINT_BYTES /* a timeline minute or a tape trade */
#define TIME_MAX (INT64_C(1) << 62)
#define MINUTE_NS (INT64_C(60) * XT__MD_NS)
#define DAY_NS (INT64_C(86400) * XT__MD_NS)

static uint8_t *put64(uint8_t *p, int64_t v)
{
    return xt_put64_next(p, (uint64_t)v);
}

static uint8_t *put128(uint8_t *p, __int128 v)
{
    xt_put128(p, v);
    return p + 16;
}

static int64_t get64(const uint8_t **p)
{
    return (int64_t)xt_get64_next(p);
}

static __int128 get128(const uint8_t **p)
{
    __int128 v = xt_get128(*p);
    *p += 16;
    return v;
}

static size_t inst_size(const xt_md_inst_t *in)
{
    return INST_FIXED + 8 + (size_t)(in->tl_n + in->tape_n) * POINT_BYTES;
}

size_t xt_md_state_max_size(const xt_md_t *md)
{
    return 4 + (size_t)md->n_inst * (INST_FIXED + 8 + (XT_MD_TIMELINE_MAX + (size_t)XT_MD_TAPE_MAX) * POINT_BYTES);
}

size_t xt_md_state_size(const xt_md_t *md)
{
    size_t n = 4;
    for (uint32_t s = 0; s < md->n_inst; s++)
        n += inst_size(&md->inst[s]);
    return n;
}

static uint8_t *put_candle(uint8_t *p, const xt_md_candle_t *c)
{
    p = put64(p, c->open_time);
    p = put64(p, c->open);
    p = put64(p, c->high);
    p = put64(p, c->low);
    p = put64(p, c->close);
    p = put64(p, c->volume);
    p = put128(p, c->turnover);
    xt_put32(p, c->trades);
    p[4] = c->closed;
    memset(p + 5, 0, 3);
    return p + 8;
}

/* The fixed part and the two counts. */
static uint8_t *put_fixed(uint8_t *p, const xt_md_inst_t *in)
{
    uint8_t *start = p;
    memset(p, 0, INST_FIXED);
    xt_put32(p, in->id);
    memcpy(p + 4, in->symbol, strlen(in->symbol));
    xt_put32(p + 36, (uint32_t)in->tz);
    p[40] = in->started;
    p = put64(p + 48, in->t);
    p = put64(p, in->day_start);
    const xt_md_ticker_t *t = &in->ticker;
    p = put64(p, t->ts);
    p = put64(p, t->prev_close);
    p = put64(p, t->open);
    p = put64(p, t->high);
    p = put64(p, t->low);
    p = put64(p, t->last);
    p = put64(p, t->volume);
    p = put128(p, t->turnover);
    p = put64(p, (int64_t)t->trades);
    for (int i = 0; i < XT_KL_COUNT; i++)
        p = put_candle(p, &in->k[i]);
    p = start + INST_FIXED;
    xt_put32(p, in->tl_n);
    xt_put32(p + 4, in->tape_n);
    return p + 8;
}

static void put_minute(uint8_t *p, const xt_md_minute_t *m)
{
    memset(p, 0, POINT_BYTES);
    put64(put64(put64(put64(p, m->minute), m->price), m->avg_price), m->volume);
    p[32] = m->closed;
}

static void put_trade(uint8_t *p, const xt_md_trade_t *r)
{
    memset(p, 0, POINT_BYTES);
    put64(put64(put64(put64(p, (int64_t)r->trade_id), r->ts), r->price), r->qty);
    p[32] = r->taker_side;
}

/* The tape's oldest slot. */
static uint32_t tape_oldest(const xt_md_inst_t *in)
{
    return (in->tape_head + in->tape_cap - in->tape_n) % in->tape_cap;
}

static uint8_t *put_inst(uint8_t *p, const xt_md_inst_t *in)
{
    p = put_fixed(p, in);
    for (uint32_t i = 0; i < in->tl_n; i++, p += POINT_BYTES)
        put_minute(p, &in->tl[i]);
    uint32_t at = tape_oldest(in);
    for (uint32_t i = 0; i < in->tape_n; i++, p += POINT_BYTES) {
        put_trade(p, &in->tape[at]);
        at = at + 1u == in->tape_cap ? 0 : at + 1u;
    }
    return p;
}

size_t xt_md_state_encode(const xt_md_t *md, uint8_t *out, size_t cap)
{
    size_t n = xt_md_state_size(md);
    if (n > cap)
        return 0;
    xt_put32(out, md->n_inst);
    uint8_t *p = out + 4;
    for (uint32_t s = 0; s < md->n_inst; s++)
        p = put_inst(p, &md->inst[s]);
    return n;
}

/* ---- a checkpoint (md.h, xt_md_ckpt_*; the protocol in core/cow.h) -------- */

static _Atomic uint8_t *unit(const struct xt__md_ckpt *ck, uint32_t slot, uint32_t u)
{
    return &ck->state[(size_t)slot * ck->units + u];
}

/* Unit u of slot s at its place in the output. */
static void write_unit(const xt_md_t *md, uint32_t s, uint32_t u)
{
    const xt_md_inst_t *in = &md->inst[s];
    const xt__md_ckpt_inst_t *w = &md->ck->inst[s];
    if (u == 0) { /* the fixed part and the open minute as begin found them, the closed minutes */
        const uint8_t *fixed = md->ck->fixed + (size_t)s * XT__MD_CKPT_FIXED;
        memcpy(md->ck->out + w->at, fixed, INST_FIXED + 8);
        for (uint32_t i = 0; i + 1 < w->tl_n; i++)
            put_minute(md->ck->out + w->tl_at + (size_t)i * POINT_BYTES, &in->tl[i]);
        if (w->tl_n > 0)
            memcpy(md->ck->out + w->tl_at + (size_t)(w->tl_n - 1) * POINT_BYTES, fixed + INST_FIXED + 8, POINT_BYTES);
        return;
    }
    uint32_t cap = in->tape_cap, end = u * XT_MD_CKPT_CHUNK;
    for (uint32_t slot = (u - 1) * XT_MD_CKPT_CHUNK; slot < end && slot < cap; slot++) {
        uint32_t age = slot >= w->tape_oldest ? slot - w->tape_oldest : slot + cap - w->tape_oldest;
        if (age < w->tape_n)
            put_trade(md->ck->out + w->tape_at + (size_t)age * POINT_BYTES, &in->tape[slot]);
    }
}

static int claim(const xt_md_t *md, uint32_t s, uint32_t u)
{
    if (!xt_cow_claim(unit(md->ck, s, u)))
        return 0;
    write_unit(md, s, u);
    xt_cow_done(unit(md->ck, s, u));
    return 1;
}

void xt__md_ckpt_write(const xt_md_t *md, const xt_md_inst_t *in, uint32_t u)
{
    uint32_t s = (uint32_t)(in - md->inst);
    if (s < md->ck->n && xt_cow_open(unit(md->ck, s, u)) && !claim(md, s, u))
        xt_cow_wait(unit(md->ck, s, u));
}

size_t xt_md_ckpt_begin(xt_md_t *md, uint8_t *out, size_t cap)
{
    size_t n = xt_md_state_size(md), at = 4;
    if (md->inst == NULL || n > cap)
        return 0;
    struct xt__md_ckpt *ck = md->ck;
    xt_put32(out, md->n_inst);
    for (uint32_t s = 0; s < md->n_inst; s++) {
        const xt_md_inst_t *in = &md->inst[s];
        xt__md_ckpt_inst_t *w = &ck->inst[s];
        uint8_t *fixed = ck->fixed + (size_t)s * XT__MD_CKPT_FIXED;
        put_fixed(fixed, in);
        w->at = at;
        w->tl_at = at + INST_FIXED + 8;
        w->tl_n = in->tl_n;
        w->tape_at = w->tl_at + (size_t)in->tl_n * POINT_BYTES;
        w->tape_n = in->tape_n;
        w->tape_oldest = tape_oldest(in);
        if (in->tl_n > 0) /* the open minute changes with every trade: noted here */
            put_minute(fixed + INST_FIXED + 8, &in->tl[in->tl_n - 1]);
        xt_cow_mark(unit(ck, s, 0));
        for (uint32_t u = 1; u < ck->units && in->tape_n > 0; u++)
            xt_cow_mark(unit(ck, s, u));
        at = w->tape_at + (size_t)in->tape_n * POINT_BYTES;
    }
    ck->out = out;
    ck->n = md->n_inst;
    ck->active = 1;
    return n;
}

void xt_md_ckpt_run(xt_md_t *md)
{
    const struct xt__md_ckpt *ck = md->ck;
    for (uint32_t s = 0; s < ck->n; s++)
        for (uint32_t u = 0; u < ck->units; u++)
            claim(md, s, u);
    for (uint32_t s = 0; s < ck->n; s++) /* those the owner claimed first */
        for (uint32_t u = 0; u < ck->units; u++)
            xt_cow_wait(unit(ck, s, u));
}

void xt_md_ckpt_end(xt_md_t *md)
{
    if (md->ck)
        md->ck->active = 0;
}

/* ---- decoding ---------------------------------------------------------------- */

static int time_ok(int64_t t)
{
    return t >= 0 && t <= TIME_MAX;
}

static int price_ok(int64_t p)
{
    return p >= 0 && p <= XT_PRICE_MAX;
}

/* A turnover that volume lots can have made at prices up to XT_PRICE_MAX. */
static int turnover_ok(__int128 turnover, int64_t volume)
{
    return volume >= 0 && turnover >= 0 && turnover <= (__int128)volume * XT_PRICE_MAX;
}

static int get_candle(const uint8_t **p, xt_md_candle_t *c)
{
    c->open_time = get64(p);
    c->open = get64(p);
    c->high = get64(p);
    c->low = get64(p);
    c->close = get64(p);
    c->volume = get64(p);
    c->turnover = get128(p);
    c->trades = xt_get32(*p);
    c->closed = (*p)[4];
    *p += 8;
    return time_ok(c->open_time) && price_ok(c->open) && price_ok(c->high) && price_ok(c->low) && price_ok(c->close) &&
           turnover_ok(c->turnover, c->volume) && c->closed <= 1;
}

static int get_ticker(const uint8_t **p, xt_md_ticker_t *t)
{
    t->ts = get64(p);
    t->prev_close = get64(p);
    t->open = get64(p);
    t->high = get64(p);
    t->low = get64(p);
    t->last = get64(p);
    t->volume = get64(p);
    t->turnover = get128(p);
    t->trades = (uint64_t)get64(p);
    return time_ok(t->ts) && price_ok(t->prev_close) && price_ok(t->open) && price_ok(t->high) && price_ok(t->low) &&
           price_ok(t->last) && turnover_ok(t->turnover, t->volume);
}

/* One instrument's record at p (n bytes left): its values into v, its
 * timeline and tape into tl and tape (each NULL: checked only; tape keeps
 * the newest tape_cap). Returns its length, or 0 if it does not check. */
static size_t get_inst(const uint8_t *p, size_t n, xt_md_inst_t *v, xt_md_minute_t *tl, uint32_t tape_cap,
                       xt_md_trade_t *tape)
{
    if (n < INST_FIXED + 8)
        return 0;
    const uint8_t *q = p;
    v->id = xt_get32(q);
    memcpy(v->symbol, q + 4, XT__MD_SYMBOL_MAX + 1);
    v->tz = (int32_t)xt_get32(q + 36);
    v->started = q[40];
    q += 48;
    v->t = get64(&q);
    v->day_start = get64(&q);
    int ok = v->symbol[XT__MD_SYMBOL_MAX] == '\0' && v->started <= 1 && time_ok(v->t) && time_ok(v->day_start) &&
             v->tz > -86400 && v->tz < 86400 && get_ticker(&q, &v->ticker);
    for (int i = 0; i < XT_KL_COUNT; i++)
        ok &= get_candle(&q, &v->k[i]);
    /* started: what kline.c keeps at its time t - the open candles and the day that hold t */
    ok &= !v->started || xt_kline_align(XT_KL_1D, v->t, v->tz) == v->day_start;
    for (int i = 0; i < XT_KL_COUNT && v->started; i++)
        ok &= v->k[i].open_time == xt_kline_align(i, v->t, v->tz) && v->k[i].closed == 0;
    uint32_t tl_n = xt_get32(p + INST_FIXED), tape_n = xt_get32(p + INST_FIXED + 4);
    /* started: the current minute is the last point (kline.c writes to it) */
    if (!ok || tl_n > XT_MD_TIMELINE_MAX || tape_n > XT_MD_TAPE_MAX || (v->started && tl_n == 0) ||
        (uint64_t)(tl_n + tape_n) * POINT_BYTES > n - INST_FIXED - 8)
        return 0;
    q = p + INST_FIXED + 8;
    int64_t prev = v->day_start - MINUTE_NS;
    for (uint32_t i = 0; i < tl_n; i++, q += POINT_BYTES) {
        const uint8_t *r = q;
        xt_md_minute_t m = {get64(&r), get64(&r), get64(&r), get64(&r), q[32]};
        if (!time_ok(m.minute) || !price_ok(m.price) || !price_ok(m.avg_price) || m.volume < 0 || m.closed > 1)
            return 0;
        /* whole minutes of the day, rising: the day never holds more points than it has minutes */
        if (v->started &&
            (m.minute <= prev || m.minute >= v->day_start + DAY_NS || (m.minute - v->day_start) % MINUTE_NS))
            return 0;
        prev = m.minute;
        if (tl)
            tl[i] = m;
    }
    /* started: the last point is the open minute that holds t */
    if (v->started && (prev != xt_kline_align(XT_KL_1M, v->t, v->tz) || q[32 - POINT_BYTES] != 0))
        return 0;
    v->tl_n = tl_n;
    uint32_t skip = tape_n > tape_cap ? tape_n - tape_cap : 0; /* a smaller tape now: the newest */
    v->tape_n = tape_n - skip;
    for (uint32_t i = 0; i < tape_n; i++, q += POINT_BYTES) {
        const uint8_t *r = q;
        xt_md_trade_t t = {(uint64_t)get64(&r), get64(&r), get64(&r), get64(&r), q[32]};
        if (!time_ok(t.ts) || !price_ok(t.price) || t.qty <= 0 || t.taker_side > XT_SELL)
            return 0;
        if (tape && i >= skip)
            tape[i - skip] = t;
    }
    return INST_FIXED + 8 + (size_t)(tl_n + tape_n) * POINT_BYTES;
}

/* The values of a checked record into its instrument (timeline and tape
 * are in place already). */
static void apply(xt_md_inst_t *in, const xt_md_inst_t *v)
{
    xt_md_ticker_t *t = &in->ticker;
    int64_t bb = t->best_bid, bbq = t->best_bid_qty, ba = t->best_ask, baq = t->best_ask_qty;
    int64_t b5 = t->bid5_qty, a5 = t->ask5_qty;
    *t = v->ticker;
    t->best_bid = bb, t->best_bid_qty = bbq, t->best_ask = ba, t->best_ask_qty = baq;
    t->bid5_qty = b5, t->ask5_qty = a5;
    memcpy(in->k, v->k, sizeof in->k);
    in->tl_n = v->tl_n;
    in->day_start = v->day_start;
    in->t = v->t;
    in->started = v->started;
    in->tape_n = v->tape_n;
    in->tape_head = v->tape_n == in->tape_cap ? 0 : v->tape_n;
    in->ticker_dirty = in->minute_dirty = 0;
    in->kline_dirty = 0;
}

/* The instrument a record names, if it is still the same one. */
static xt_md_inst_t *target(xt_md_t *md, const xt_md_inst_t *v)
{
    xt_md_inst_t *in = (xt_md_inst_t *)xt_md_find(md, v->id);
    if (in == NULL || strcmp(in->symbol, v->symbol) != 0 || in->tz != v->tz)
        return NULL; /* gone, renamed, or its candles aligned otherwise now */
    return in;
}

/* Has a record for this slot been seen (md->touched: the slots so far)?
 * Notes it if not. */
static int seen(xt_md_t *md, const xt_md_inst_t *in)
{
    uint32_t slot = (uint32_t)(in - md->inst);
    for (uint32_t i = 0; i < md->n_touched; i++)
        if (md->touched[i] == slot)
            return 1;
    md->touched[md->n_touched++] = slot;
    return 0;
}

int xt_md_state_decode(xt_md_t *md, const uint8_t *p, size_t n)
{
    if (md->inst == NULL || p == NULL || n < 4 || n > SIZE_MAX / 2 || md->in_cmd)
        return XT_EINVAL;
    uint32_t count = xt_get32(p), restored = 0;
    for (int pass = 0; pass < 2; pass++) { /* all checked first: a bad file changes nothing */
        size_t at = 4;
        for (uint32_t k = 0; k < count; k++) {
            xt_md_inst_t v;
            memset(&v, 0, sizeof v);
            xt_md_inst_t *in = NULL;
            size_t len = get_inst(p + at, n - at, &v, NULL, md->cfg.tape, NULL);
            int twice = !pass && len && (in = target(md, &v)) != NULL && seen(md, in);
            if (len == 0 || twice) { /* an instrument named twice: not a file the encoder wrote */
                md->n_touched = 0;
                return XT_ECORRUPT;
            }
            if (pass && (in = target(md, &v)) != NULL) {
                get_inst(p + at, n - at, &v, in->tl, in->tape_cap, in->tape);
                apply(in, &v);
                restored++;
            }
            at += len;
        }
        md->n_touched = 0; /* the scratch of seen() */
        if (at != n)
            return XT_ECORRUPT;
    }
    return (int)restored;
}
