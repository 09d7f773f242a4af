/* md.c - market data from the engine's events: the per-instrument L2 book
 * and its per-command deltas, the trade tape, the ticker, commands and
 * advances, instrument lookup and the queries. Candles and the timeline
 * are in kline.c.
 *
 * Memory: xt_md_init() makes one block holding every instrument's slot,
 * book, change set, tape and timeline, the id hash table, the touched list
 * and the BOOK scratch; nothing is allocated afterwards.
 *
 * The book: each side is a sorted array of at most max_levels levels,
 * worst first and best last, so that changes at the top (the common case)
 * move little. On a full side a new level better than the worst pushes the
 * worst out; one worse than every kept level is ignored.
 *
 * Deltas: the first time a command touches a price, the level's state before
 * the command goes into the side's change set (sorted like the book). At the
 * command's end every price there whose state differs now is reported. An
 * entry for a price that was absent before is dropped as soon as the price
 * leaves the book again, so the set holds at most the prices in the book
 * before the command plus those in it now: 2 x max_levels.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "md/internal.h"
#include "xt/error.h"

#define CFG_MAX (UINT32_C(1) << 24)
#define EMPTY_SLOT UINT32_MAX
#define TOP_N 5

/* ---- arithmetic ------------------------------------------------------------ */

int64_t xt__md_div_half_up(__int128 n, int64_t d)
{
    __int128 q = n / d, r = n % d;
    if (r < 0) {
        q--;
        r += d;
    }
    if (2 * r >= d)
        q++;
    if (q > INT64_MAX)
        return INT64_MAX;
    return q < INT64_MIN ? INT64_MIN : (int64_t)q;
}

int64_t xt__md_day_avg(const xt_md_inst_t *in)
{
    const xt_md_ticker_t *t = &in->ticker;
    if (t->volume > 0)
        return xt__md_div_half_up(t->turnover, t->volume);
    return in->follow_ref ? t->prev_close : t->last; /* the last close, or a seed (xt_md_seed_last) */
}

/* n / d rounded half away from zero, d != 0, clamped to int32. */
static int32_t div_half_away32(__int128 n, __int128 d)
{
    if (d < 0) {
        n = -n;
        d = -d;
    }
    __int128 a = n < 0 ? -n : n;
    __int128 q = a / d;
    if (2 * (a % d) >= d)
        q++;
    if (n < 0)
        q = -q;
    if (q > INT32_MAX)
        return INT32_MAX;
    return q < INT32_MIN ? INT32_MIN : (int32_t)q;
}

int32_t xt_md_weibi_bp(const xt_md_ticker_t *t)
{
    __int128 sum = (__int128)t->bid5_qty + t->ask5_qty;
    if (sum == 0)
        return 0;
    return div_half_away32(((__int128)t->bid5_qty - t->ask5_qty) * 10000, sum);
}

int64_t xt_md_change(const xt_md_ticker_t *t)
{
    if (t->last == 0 || t->prev_close == 0)
        return XT_PRICE_NONE;
    return t->trades ? t->last - t->prev_close : 0; /* none before the day's first trade, whatever the ref */
}

int32_t xt_md_change_bp(const xt_md_ticker_t *t)
{
    int64_t c = xt_md_change(t);
    return c == XT_PRICE_NONE ? 0 : div_half_away32((__int128)c * 10000, t->prev_close);
}

int64_t xt_md_vwap(const xt_md_ticker_t *t)
{
    return t->volume > 0 ? xt__md_div_half_up(t->turnover, t->volume) : 0;
}

/* ---- init, instruments ------------------------------------------------------- */

/* Reserves count elements of size bytes at *off (16-aligned); 0 or -1 on overflow. */
static int reserve(size_t *off, size_t count, size_t size, size_t *at)
{
    size_t bytes, end;
    *at = (*off + 15u) & ~(size_t)15u;
    if (*at < *off || __builtin_mul_overflow(count, size, &bytes) || __builtin_add_overflow(*at, bytes, &end))
        return -1;
    *off = end;
    return 0;
}

typedef struct layout {
    size_t inst, lv, tape, tl, slots, touched, refills, scratch, ck, ck_inst, ck_state, ck_fixed, total;
} layout_t;

/* A checkpoint's claim units per slot: the timeline's minutes, the tape's chunks. */
static uint32_t ckpt_units(const xt_md_config_t *c)
{
    return 1u + (c->tape + XT_MD_CKPT_CHUNK - 1u) / XT_MD_CKPT_CHUNK;
}

static int plan(const xt_md_config_t *c, uint32_t n_slots, layout_t *l)
{
    size_t n = c->max_instruments, off = 0, lv;
    if (__builtin_mul_overflow(n, (size_t)c->max_levels * 6u, &lv)) /* book 2L, changes 4L */
        return -1;
    int bad = reserve(&off, n, sizeof(xt_md_inst_t), &l->inst) | reserve(&off, lv, sizeof(xt_md_level_t), &l->lv) |
              reserve(&off, n, (size_t)c->tape * sizeof(xt_md_trade_t), &l->tape) |
              reserve(&off, n, XT_MD_TIMELINE_MAX * sizeof(xt_md_minute_t), &l->tl) |
              reserve(&off, n_slots, sizeof(uint32_t), &l->slots) | reserve(&off, n, sizeof(uint32_t), &l->touched) |
              reserve(&off, n, sizeof(uint32_t), &l->refills) |
              reserve(&off, (size_t)c->max_levels * 4u, sizeof(xt_md_level_t), &l->scratch) |
              reserve(&off, 1, sizeof(struct xt__md_ckpt), &l->ck) |
              reserve(&off, n, sizeof(xt__md_ckpt_inst_t), &l->ck_inst) |
              reserve(&off, n, ckpt_units(c), &l->ck_state) | reserve(&off, n, XT__MD_CKPT_FIXED, &l->ck_fixed);
    l->total = off;
    return bad;
}

static void carve(xt_md_t *md, char *base, const layout_t *l)
{
    size_t L = md->cfg.max_levels;
    md->inst = (xt_md_inst_t *)(void *)(base + l->inst);
    md->slot_of = (uint32_t *)(void *)(base + l->slots);
    md->touched = (uint32_t *)(void *)(base + l->touched);
    md->refills = (uint32_t *)(void *)(base + l->refills);
    md->scratch = (xt_md_level_t *)(void *)(base + l->scratch);
    md->ck = (struct xt__md_ckpt *)(void *)(base + l->ck);
    md->ck->inst = (xt__md_ckpt_inst_t *)(void *)(base + l->ck_inst);
    md->ck->state = (_Atomic uint8_t *)(void *)(base + l->ck_state);
    md->ck->fixed = (uint8_t *)(base + l->ck_fixed);
    md->ck->units = ckpt_units(&md->cfg);
    xt_md_level_t *lv = (xt_md_level_t *)(void *)(base + l->lv);
    xt_md_trade_t *tape = (xt_md_trade_t *)(void *)(base + l->tape);
    xt_md_minute_t *tl = (xt_md_minute_t *)(void *)(base + l->tl);
    for (size_t i = 0; i < md->cfg.max_instruments; i++) {
        xt_md_inst_t *in = &md->inst[i];
        xt_md_level_t *mine = lv + i * 6u * L;
        in->lv[0] = mine;
        in->lv[1] = mine + L;
        in->chg[0] = mine + 2u * L;
        in->chg[1] = mine + 4u * L;
        in->tape = tape + i * md->cfg.tape;
        in->tape_cap = md->cfg.tape;
        in->tl = tl + i * XT_MD_TIMELINE_MAX;
    }
    memset(md->slot_of, 0xff, ((size_t)md->slot_mask + 1u) * sizeof(uint32_t));
}

int xt_md_init(xt_md_t *md, const xt_md_config_t *cfg, xt_md_sink_fn sink, void *ctx)
{
    memset(md, 0, sizeof *md);
    if (cfg == NULL || cfg->max_instruments == 0 || cfg->max_levels == 0 || cfg->tape == 0 ||
        cfg->max_instruments > CFG_MAX || cfg->max_levels > CFG_MAX || cfg->tape > XT_MD_TAPE_MAX)
        return XT_EINVAL;
    uint32_t n_slots = 2;
    while (n_slots < 2u * cfg->max_instruments)
        n_slots <<= 1;
    md->cfg = *cfg;
    md->sink = sink;
    md->ctx = ctx;
    md->slot_mask = n_slots - 1u;
    md->now = INT64_MIN;
    layout_t l;
    if (plan(cfg, n_slots, &l) != 0)
        return XT_ENOMEM;
    char *base = calloc(1, l.total);
    if (base == NULL)
        return XT_ENOMEM;
    carve(md, base, &l);
    return 0;
}

void xt_md_destroy(xt_md_t *md)
{
    free(md->inst); /* the block */
    memset(md, 0, sizeof *md);
}

static uint32_t hash_id(uint32_t id)
{
    return id * UINT32_C(2654435761);
}

static xt_md_inst_t *lookup(const xt_md_t *md, uint32_t id)
{
    if (md->inst == NULL)
        return NULL;
    for (uint32_t h = hash_id(id) & md->slot_mask;; h = (h + 1u) & md->slot_mask) {
        uint32_t s = md->slot_of[h];
        if (s == EMPTY_SLOT)
            return NULL;
        if (md->inst[s].id == id)
            return &md->inst[s];
    }
}

int xt_md_add_instrument(xt_md_t *md, uint32_t id, const char *symbol, int64_t ref_price, int32_t tz_offset_s)
{
    size_t len = symbol ? strnlen(symbol, XT__MD_SYMBOL_MAX + 1) : 0;
    if (ref_price == XT_PRICE_NONE)
        ref_price = 0;
    if (md->inst == NULL || len == 0 || len > XT__MD_SYMBOL_MAX || id == XT_INSTRUMENT_NONE || ref_price < 0 ||
        ref_price > XT_PRICE_MAX || tz_offset_s <= -86400 || tz_offset_s >= 86400)
        return XT_EINVAL;
    /* A truncated or repeated symbol would make xt_md_find_symbol() name the wrong instrument or none. */
    if (lookup(md, id) != NULL || xt_md_find_symbol(md, symbol, len) != NULL)
        return XT_EEXIST;
    if (md->n_inst == md->cfg.max_instruments)
        return XT_ECAPACITY;
    uint32_t slot = md->n_inst++;
    xt_md_inst_t *in = &md->inst[slot];
    in->id = id;
    in->tz = tz_offset_s;
    memcpy(in->symbol, symbol, len);
    in->symbol[len] = '\0';
    xt_md_ticker_t *t = &in->ticker;
    t->prev_close = t->open = t->high = t->low = t->last = ref_price;
    t->best_bid = t->best_ask = XT_PRICE_NONE;
    uint32_t h = hash_id(id) & md->slot_mask;
    while (md->slot_of[h] != EMPTY_SLOT)
        h = (h + 1u) & md->slot_mask;
    md->slot_of[h] = slot;
    return 0;
}

int xt_md_seed_last(xt_md_t *md, uint32_t id, int64_t price)
{
    xt_md_inst_t *in = lookup(md, id);
    if (in == NULL || price <= 0 || price > XT_PRICE_MAX)
        return XT_EINVAL;
    if (in->started)
        return 1;
    xt_md_ticker_t *t = &in->ticker;
    t->open = t->high = t->low = t->last = price;
    return 0;
}

/* ---- the book ---------------------------------------------------------------- */

/* Sort key: ascending from the worst level to the best. Prices are checked
 * to be within 0..XT_PRICE_MAX, so the negation cannot overflow. */
static int64_t key(int side, int64_t price)
{
    return side == XT_BUY ? price : -price;
}

/* The first index whose level is not worse than price. */
static uint32_t lower_bound(const xt_md_level_t *a, uint32_t n, int side, int64_t price)
{
    int64_t k = key(side, price);
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (key(side, a[mid].price) < k)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

/* Records price's state before the command (old, or NULL: absent) unless
 * the command touched it already. Returns its index in the change set. */
static uint32_t chg_touch(const xt_md_t *md, xt_md_inst_t *in, int side, int64_t price, const xt_md_level_t *old)
{
    xt_md_level_t *c = in->chg[side];
    uint32_t n = in->n_chg[side];
    uint32_t pos = lower_bound(c, n, side, price);
    if (pos < n && c[pos].price == price)
        return pos;
    assert(n < 2u * md->cfg.max_levels); /* see the top of the file */
    (void)md;
    memmove(c + pos + 1, c + pos, (size_t)(n - pos) * sizeof *c);
    if (old != NULL)
        c[pos] = *old;
    else
        c[pos] = (xt_md_level_t){.price = price};
    in->n_chg[side] = n + 1u;
    return pos;
}

/* The price at change-set index pos has just left the book. */
static void chg_gone(xt_md_inst_t *in, int side, uint32_t pos)
{
    xt_md_level_t *c = in->chg[side];
    if (c[pos].qty != 0)
        return; /* it was there before: a change to report */
    in->n_chg[side]--;
    memmove(c + pos, c + pos + 1, (size_t)(in->n_chg[side] - pos) * sizeof *c);
}

/* A level of a cut side left: below half its capacity, the instrument
 * asks for its book again (xt_md_take_refills), once until it is reset. */
static void cut_shrunk(xt_md_t *md, xt_md_inst_t *in, int side)
{
    if (in->cut[side] == 0 || in->refill || 2u * in->n_lv[side] >= md->cfg.max_levels)
        return;
    in->refill = 1;
    md->refills[md->n_refills++] = in->id; /* at most once per instrument: room for all */
    md->refills_asked++;
}

static int worse(int side, int64_t price, int64_t than)
{
    return side == XT_BUY ? price < than : price > than;
}

static void book_apply(xt_md_t *md, xt_md_inst_t *in, int side, int64_t price, int64_t qty, uint32_t orders)
{
    xt_md_level_t *a = in->lv[side];
    uint32_t n = in->n_lv[side];
    uint32_t pos = lower_bound(a, n, side, price);
    if (pos < n && a[pos].price == price) {
        uint32_t c = chg_touch(md, in, side, price, &a[pos]);
        if (qty > 0) {
            a[pos].qty = qty;
            a[pos].orders = orders;
            return;
        }
        in->n_lv[side] = n - 1u;
        memmove(a + pos, a + pos + 1, (size_t)(n - pos - 1u) * sizeof *a);
        chg_gone(in, side, c);
        cut_shrunk(md, in, side);
        return;
    }
    if (qty == 0 || (in->cut[side] != 0 && worse(side, price, in->cut[side])))
        return; /* gone, or past where a cut side is complete: not tracked */
    if (n == md->cfg.max_levels) {
        if (pos == 0)
            return; /* worse than every kept level */
        /* The worst goes: [1, pos) moves down, the new level takes pos - 1. */
        chg_gone(in, side, chg_touch(md, in, side, a[0].price, &a[0]));
        memmove(a, a + 1, (size_t)(pos - 1u) * sizeof *a);
        pos--;
    } else {
        memmove(a + pos + 1, a + pos, (size_t)(n - pos) * sizeof *a);
        in->n_lv[side] = ++n;
    }
    a[pos] = (xt_md_level_t){.price = price, .qty = qty, .orders = orders};
    chg_touch(md, in, side, price, NULL);
    if (n == md->cfg.max_levels) /* full: the engine may hold worse levels */
        in->cut[side] = a[0].price;
}

/* The net changes of the command, best first, into out; returns how many. */
static uint32_t book_changes(xt_md_inst_t *in, int side, xt_md_level_t *out)
{
    const xt_md_level_t *a = in->lv[side], *c = in->chg[side];
    uint32_t n = in->n_lv[side], k = 0;
    for (uint32_t i = in->n_chg[side]; i-- > 0;) {
        uint32_t pos = lower_bound(a, n, side, c[i].price);
        xt_md_level_t now = {.price = c[i].price};
        if (pos < n && a[pos].price == c[i].price)
            now = a[pos];
        if (now.qty != c[i].qty || now.orders != c[i].orders)
            out[k++] = now;
    }
    in->n_chg[side] = 0;
    return k;
}

static void book_flush(const xt_md_t *md, xt_md_inst_t *in, int64_t ts)
{
    xt_md_level_t *bids = md->scratch, *asks = md->scratch + 2 * (size_t)md->cfg.max_levels;
    uint32_t nb = book_changes(in, XT_BUY, bids), na = book_changes(in, XT_SELL, asks);
    if (nb + na == 0)
        return;
    /* The version follows the journal's sequence numbers, so it goes on
     * across restarts (md.h, xt_md_book_seq). */
    uint64_t prev = in->book_seq;
    uint64_t v = md->cmd_type == XT_MD_RESYNC ? xt_md_resync_version(md->cmd_seq) : 2 * md->cmd_seq;
    in->book_seq = v > prev ? v : prev + 1;
    xt_md_update_t u = {0};
    u.prev_seq = prev;
    u.kind = XT_MDU_BOOK;
    u.instrument = in->id;
    u.ts = ts;
    u.seq = in->book_seq;
    u.changed_bids = bids;
    u.n_changed_bids = nb;
    u.changed_asks = asks;
    u.n_changed_asks = na;
    xt__md_emit(md, &u);
}

/* Best price and qty and the top-five sum of a side into the ticker;
 * returns whether anything changed. */
static int ticker_side(xt_md_inst_t *in, int side, int64_t *best, int64_t *best_qty, int64_t *sum5)
{
    const xt_md_level_t *a = in->lv[side];
    uint32_t n = in->n_lv[side];
    int64_t px = XT_PRICE_NONE, qty = 0, sum = 0;
    if (n > 0) {
        px = a[n - 1u].price;
        qty = a[n - 1u].qty;
    }
    for (uint32_t i = 0; i < n && i < TOP_N; i++)
        sum = xt__md_sat_add(sum, a[n - 1u - i].qty);
    int changed = px != *best || qty != *best_qty || sum != *sum5;
    *best = px;
    *best_qty = qty;
    *sum5 = sum;
    return changed;
}

/* ---- trades, commands, time ------------------------------------------------------ */

static void on_trade(const xt_md_t *md, xt_md_inst_t *in, const xt_event_t *e, int64_t ts)
{
    xt__md_ckpt_guard(md, in, 1u + in->tape_head / XT_MD_CKPT_CHUNK);
    xt_md_trade_t *tr = &in->tape[in->tape_head];
    *tr = (xt_md_trade_t){
        .trade_id = e->u.trade.trade_id, .ts = ts, .price = e->price, .qty = e->qty, .taker_side = e->side};
    in->tape_head = in->tape_head + 1u == in->tape_cap ? 0 : in->tape_head + 1u;
    if (in->tape_n < in->tape_cap)
        in->tape_n++;
    xt_md_ticker_t *t = &in->ticker;
    if (t->trades == 0) {
        t->open = t->high = t->low = e->price;
    } else {
        t->high = e->price > t->high ? e->price : t->high;
        t->low = e->price < t->low ? e->price : t->low;
    }
    t->last = e->price;
    t->volume = xt__md_sat_add(t->volume, e->qty);
    t->turnover += (__int128)e->price * e->qty;
    t->trades++;
    t->ts = ts;
    in->ticker_dirty = 1;
    xt__md_time_trade(in, e->price, e->qty);
    xt_md_update_t u = {0};
    u.kind = XT_MDU_TRADE;
    u.instrument = in->id;
    u.ts = ts;
    u.trade = tr;
    xt__md_emit(md, &u);
}

/* The end of a command (or an advance) for one instrument: BOOK, TICKER,
 * then the candles and the minute. */
static void flush(const xt_md_t *md, xt_md_inst_t *in, int64_t ts)
{
    book_flush(md, in, ts);
    xt_md_ticker_t *t = &in->ticker;
    int top = ticker_side(in, XT_BUY, &t->best_bid, &t->best_bid_qty, &t->bid5_qty);
    top |= ticker_side(in, XT_SELL, &t->best_ask, &t->best_ask_qty, &t->ask5_qty);
    if (top) {
        t->ts = ts;
        in->ticker_dirty = 1;
    }
    if (in->ticker_dirty) {
        xt_md_update_t u = {0};
        u.kind = XT_MDU_TICKER;
        u.instrument = in->id;
        u.ts = ts;
        u.ticker = t;
        xt__md_emit(md, &u);
        in->ticker_dirty = 0;
    }
    xt__md_time_flush(md, in, ts);
}

static void end_command(xt_md_t *md)
{
    for (uint32_t i = 0; i < md->n_touched; i++) {
        xt_md_inst_t *in = &md->inst[md->touched[i]];
        flush(md, in, md->cmd_ts);
        in->in_cmd = 0;
    }
    md->n_touched = 0;
    md->in_cmd = 0;
}

/* The first event of the current command for this instrument: its time. */
static void touch(xt_md_t *md, xt_md_inst_t *in, int64_t ts)
{
    if (in->in_cmd)
        return;
    in->in_cmd = 1;
    md->touched[md->n_touched++] = (uint32_t)(in - md->inst);
    if (!in->started) {
        xt__md_ckpt_guard(md, in, 0); /* a timeline from its first minute */
        xt__md_time_start(in, ts);
    } else {
        xt__md_time_roll(md, in, ts, ts); /* no-op unless ts is newer */
    }
}

static int valid_price(int64_t p)
{
    return p > 0 && p <= XT_PRICE_MAX;
}

int xt_md_follow_ref(xt_md_t *md, uint32_t id, int on)
{
    xt_md_inst_t *in = lookup(md, id);
    if (in == NULL)
        return XT_EINVAL;
    in->follow_ref = on != 0;
    return 0;
}

/* Whether ref is a new previous close for in: it follows its ref, and
 * this one is a price and another than the one it has. */
static int ref_moves(const xt_md_inst_t *in, int64_t ref)
{
    return in != NULL && in->follow_ref && valid_price(ref) && in->ticker.prev_close != ref;
}

/* Only the ticker's prev_close (and so its change) follows the ref: the
 * day's prices, the candles and the timeline are the trades', whatever
 * the ref. */
static void take_ref(xt_md_inst_t *in, int64_t ref, int64_t ts)
{
    in->ticker.prev_close = ref;
    in->ticker.ts = ts;
    in->ticker_dirty = 1;
}

int xt_md_set_ref(xt_md_t *md, uint32_t id, int64_t ref)
{
    xt_md_inst_t *in = lookup(md, id);
    if (in == NULL)
        return XT_EINVAL;
    if (ref_moves(in, ref))
        take_ref(in, ref, in->ticker.ts);
    return 0;
}

/* A band moved (or was defined) with a ref (its TICKER at the command's end). */
static void on_ref(xt_md_t *md, const xt_event_t *e, int64_t ts)
{
    xt_md_inst_t *in = lookup(md, e->instrument);
    if (!ref_moves(in, e->price))
        return;
    touch(md, in, ts); /* after the time's day roll: the move is in the day it came in */
    take_ref(in, e->price, ts);
}

static void on_event(xt_md_t *md, const xt_event_t *e, int64_t ts)
{
    if (e->type == XT_EV_INSTRUMENT) {
        on_ref(md, e, ts);
        return;
    }
    if ((e->type != XT_EV_BOOK && e->type != XT_EV_TRADE) || e->side > XT_SELL || !valid_price(e->price))
        return;
    if (e->type == XT_EV_BOOK ? e->qty < 0 : e->qty <= 0 || e->qty > XT_QTY_MAX)
        return;
    xt_md_inst_t *in = lookup(md, e->instrument);
    if (in == NULL)
        return;
    touch(md, in, ts);
    if (e->type == XT_EV_BOOK)
        book_apply(md, in, e->side, e->price, e->qty, e->qty > 0 ? e->u.level.orders : 0);
    else
        on_trade(md, in, e, ts);
}

void xt_md_on_batch(xt_md_t *md, const xt_event_batch_t *b)
{
    if (md->inst == NULL || b == NULL)
        return;
    if (md->in_cmd && (b->seq != md->cmd_seq || b->cmd_type != md->cmd_type))
        end_command(md); /* the previous command's last batch never came */
    md->in_cmd = 1;
    md->cmd_seq = b->seq;
    md->cmd_ts = b->ts;
    md->cmd_type = b->cmd_type;
    if (b->ts > md->now)
        md->now = b->ts;
    for (uint32_t i = 0; i < b->n; i++)
        on_event(md, &b->events[i], b->ts);
    if (b->last)
        end_command(md);
}

void xt_md_advance(xt_md_t *md, int64_t now)
{
    if (md->inst == NULL || now < md->now)
        return;
    md->now = now;
    for (uint32_t s = 0; s < md->n_inst; s++) {
        xt_md_inst_t *in = &md->inst[s];
        if (in->in_cmd || (in->started && now <= in->t))
            continue;
        if (!in->started) {
            xt__md_ckpt_guard(md, in, 0);
            xt__md_time_start(in, now);
        } else {
            xt__md_time_roll(md, in, now, now);
        }
        flush(md, in, now);
    }
}

uint32_t xt_md_take_refills(xt_md_t *md, uint32_t *out, uint32_t max)
{
    uint32_t n = md->n_refills < max ? md->n_refills : max;
    memcpy(out, md->refills, (size_t)n * sizeof *out);
    md->n_refills -= n;
    memmove(md->refills, md->refills + n, (size_t)md->n_refills * sizeof *out);
    return n;
}

void xt_md_book_reset(xt_md_t *md, uint32_t instrument)
{
    xt_md_inst_t *in = lookup(md, instrument);
    if (in == NULL)
        return;
    in->cut[XT_BUY] = in->cut[XT_SELL] = 0;
    if (!in->refill)
        return;
    in->refill = 0; /* and off the list, if it is still there */
    for (uint32_t i = 0; i < md->n_refills; i++)
        if (md->refills[i] == instrument) {
            md->n_refills--;
            memmove(md->refills + i, md->refills + i + 1, (size_t)(md->n_refills - i) * sizeof *md->refills);
            break;
        }
}

/* ---- queries ------------------------------------------------------------------- */

int64_t xt_md_time(const xt_md_t *md)
{
    int64_t t = md->now;
    for (uint32_t s = 0; md->inst && s < md->n_inst; s++)
        if (md->inst[s].started && md->inst[s].t > t)
            t = md->inst[s].t;
    return t;
}

const xt_md_inst_t *xt_md_find(const xt_md_t *md, uint32_t instrument)
{
    return lookup(md, instrument);
}

const xt_md_inst_t *xt_md_find_symbol(const xt_md_t *md, const char *symbol, size_t len)
{
    if (symbol == NULL || len > XT__MD_SYMBOL_MAX)
        return NULL;
    for (uint32_t s = 0; s < md->n_inst; s++) {
        const xt_md_inst_t *in = &md->inst[s];
        if (memcmp(in->symbol, symbol, len) == 0 && in->symbol[len] == '\0')
            return in;
    }
    return NULL;
}

uint32_t xt_md_inst_id(const xt_md_inst_t *in)
{
    return in->id;
}

const char *xt_md_inst_symbol(const xt_md_inst_t *in)
{
    return in->symbol;
}

int32_t xt_md_inst_tz(const xt_md_inst_t *in)
{
    return in->tz;
}

int xt_md_inst_follows_ref(const xt_md_inst_t *in)
{
    return in->follow_ref;
}

uint64_t xt_md_book_seq(const xt_md_inst_t *in)
{
    return in->book_seq;
}

void xt_md_book_seq_floor(xt_md_t *md, uint64_t v)
{
    for (uint32_t s = 0; md->inst && s < md->n_inst; s++)
        if (md->inst[s].book_seq < v)
            md->inst[s].book_seq = v;
}

uint32_t xt_md_depth(const xt_md_inst_t *in, int side, xt_md_level_t *out, uint32_t max)
{
    if (side != XT_BUY && side != XT_SELL)
        return 0;
    uint32_t n = in->n_lv[side] < max ? in->n_lv[side] : max;
    for (uint32_t i = 0; i < n; i++)
        out[i] = in->lv[side][in->n_lv[side] - 1u - i];
    return n;
}

const xt_md_ticker_t *xt_md_ticker(const xt_md_inst_t *in)
{
    return &in->ticker;
}

const xt_md_candle_t *xt_md_candle(const xt_md_inst_t *in, int interval)
{
    if (!in->started || interval < 0 || interval >= XT_KL_COUNT)
        return NULL;
    return &in->k[interval];
}

uint32_t xt_md_trades(const xt_md_inst_t *in, xt_md_trade_t *out, uint32_t max)
{
    uint32_t n = in->tape_n < max ? in->tape_n : max;
    uint32_t at = (in->tape_head + in->tape_cap - n) % in->tape_cap;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = in->tape[at];
        at = at + 1u == in->tape_cap ? 0 : at + 1u;
    }
    return n;
}

uint32_t xt_md_timeline(const xt_md_inst_t *in, const xt_md_minute_t **points)
{
    *points = in->tl;
    return in->tl_n;
}
