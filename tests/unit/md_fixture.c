/* md_fixture.c - the capture sink and the fixture of the market-data unit
 * tests (md_fixture.h). */
#include "md_fixture.h"

static void log_update(strbuf_t *sb, const xt_md_update_t *u)
{
    sb_printf(sb, "%u %u %u %lld %llu", u->kind, u->interval, u->instrument, (long long)u->ts,
              (unsigned long long)u->seq);
    for (uint32_t i = 0; u->kind == XT_MDU_BOOK && i < u->n_changed_bids; i++)
        sb_printf(sb, " b%lld:%lld:%u", (long long)u->changed_bids[i].price, (long long)u->changed_bids[i].qty,
                  u->changed_bids[i].orders);
    for (uint32_t i = 0; u->kind == XT_MDU_BOOK && i < u->n_changed_asks; i++)
        sb_printf(sb, " a%lld:%lld:%u", (long long)u->changed_asks[i].price, (long long)u->changed_asks[i].qty,
                  u->changed_asks[i].orders);
    if (u->trade)
        sb_printf(sb, " T%llu,%lld,%lld,%u", (unsigned long long)u->trade->trade_id, (long long)u->trade->price,
                  (long long)u->trade->qty, u->trade->taker_side);
    if (u->ticker) {
        const xt_md_ticker_t *t = u->ticker;
        sb_printf(sb, " K%lld,%lld,%lld,%lld,%lld,%lld,%lld,%llu,%lld,%lld,%lld,%lld,%lld,%lld",
                  (long long)t->prev_close, (long long)t->open, (long long)t->high, (long long)t->low,
                  (long long)t->last, (long long)t->volume, (long long)t->turnover, (unsigned long long)t->trades,
                  (long long)t->best_bid, (long long)t->best_bid_qty, (long long)t->best_ask,
                  (long long)t->best_ask_qty, (long long)t->bid5_qty, (long long)t->ask5_qty);
    }
    if (u->candle) {
        const xt_md_candle_t *c = u->candle;
        sb_printf(sb, " C%lld,%lld,%lld,%lld,%lld,%lld,%lld,%u,%u", (long long)c->open_time, (long long)c->open,
                  (long long)c->high, (long long)c->low, (long long)c->close, (long long)c->volume,
                  (long long)c->turnover, c->trades, c->closed);
    }
    if (u->minute)
        sb_printf(sb, " M%lld,%lld,%lld,%lld,%u", (long long)u->minute->minute, (long long)u->minute->price,
                  (long long)u->minute->avg_price, (long long)u->minute->volume, u->minute->closed);
    sb_printf(sb, "\n");
}

void sink(void *ctx, const xt_md_update_t *u)
{
    cap_t *c = ctx;
    c->total++;
    c->kinds[u->kind]++;
    if (c->log)
        log_update(c->log, u);
    if (u->kind == XT_MDU_KLINE && u->candle->closed) {
        if (c->closed[u->interval]++ == 0)
            c->first_closed[u->interval] = u->candle->open_time;
        c->last_closed[u->interval] = u->candle->open_time;
    }
    if (c->n == MAX_REC)
        return;
    rec_t *r = &c->rec[c->n++];
    memset(r, 0, sizeof *r);
    r->u = *u;
    assert_true(u->n_changed_bids <= MAX_LV && u->n_changed_asks <= MAX_LV);
    if (u->n_changed_bids)
        memcpy(r->bids, u->changed_bids, u->n_changed_bids * sizeof *r->bids);
    if (u->n_changed_asks)
        memcpy(r->asks, u->changed_asks, u->n_changed_asks * sizeof *r->asks);
    r->u.changed_bids = r->u.changed_asks = NULL;
    r->u.trade = NULL;
    r->u.ticker = NULL;
    r->u.candle = NULL;
    r->u.minute = NULL;
    if (u->trade)
        r->trade = *u->trade;
    if (u->ticker)
        r->ticker = *u->ticker;
    if (u->candle)
        r->candle = *u->candle;
    if (u->minute)
        r->minute = *u->minute;
}

void cap_reset(cap_t *c)
{
    strbuf_t *log = c->log;
    memset(c, 0, sizeof *c);
    c->log = log;
}

const rec_t *find_rec(const cap_t *c, int kind, int interval, size_t index)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->rec[i].u.kind == kind && (kind != XT_MDU_KLINE || c->rec[i].u.interval == interval) && index-- == 0)
            return &c->rec[i];
    return NULL;
}

size_t count_rec(const cap_t *c, int kind, int interval)
{
    size_t n = 0;
    while (find_rec(c, kind, interval, n))
        n++;
    return n;
}

fx_t *fx_new(uint32_t levels, uint32_t tape, int32_t tz, int64_t ref)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    xt_md_config_t cfg = {.max_instruments = 4, .max_levels = levels, .tape = tape};
    assert_int_equal(xt_md_init(&f->md, &cfg, sink, &f->cap), 0);
    assert_int_equal(xt_md_add_instrument(&f->md, 1, "BTC-USDT", ref, tz), 0);
    return f;
}

void fx_free(fx_t *f)
{
    xt_md_destroy(&f->md);
    free(f);
}

const xt_md_inst_t *inst1(const fx_t *f)
{
    const xt_md_inst_t *in = xt_md_find(&f->md, 1);
    assert_non_null(in);
    return in;
}

xt_event_t bk(int side, int64_t price, int64_t qty, uint32_t orders)
{
    xt_event_t e = {.type = XT_EV_BOOK, .side = (uint8_t)side, .instrument = 1, .price = price, .qty = qty};
    e.u.level.orders = orders;
    return e;
}

xt_event_t tr(fx_t *f, int taker, int64_t price, int64_t qty)
{
    xt_event_t e = {.type = XT_EV_TRADE, .side = (uint8_t)taker, .instrument = 1, .price = price, .qty = qty};
    e.u.trade.trade_id = ++f->trade_id;
    return e;
}

void batch(fx_t *f, uint64_t seq, int64_t ts, const xt_event_t *ev, uint32_t n, int last)
{
    xt_event_batch_t b = {.seq = seq, .ts = ts, .last = (uint8_t)last, .n = n, .events = ev};
    xt_md_on_batch(&f->md, &b);
}

void cmd(fx_t *f, int64_t ts, const xt_event_t *ev, uint32_t n)
{
    batch(f, ++f->seq, ts, ev, n, 1);
}

void trade_at(fx_t *f, int64_t ts, int64_t price, int64_t qty)
{
    xt_event_t e = tr(f, XT_BUY, price, qty);
    cmd(f, ts, &e, 1);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
