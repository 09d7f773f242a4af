/* test_md.c - the market-data library (src/md): the L2 book and its
 * per-command deltas, the trade tape, the ticker (委比/委差, 涨跌幅, VWAP),
 * K-line alignment in every interval and time zone, gap-free candles and
 * timeline minutes, the trading-day reset, and determinism. Events are
 * built by hand; every update is captured (copied) by the sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md/md.h"
#include "strbuf.h"
#include "xt/error.h"

#define S(x) ((int64_t)(x)*INT64_C(1000000000)) /* seconds -> ns */
#define MIN S(60)
#define HOUR INT64_C(3600) /* seconds */
#define MINUTE INT64_C(60)
/* Calendar anchors (UTC, seconds since the epoch). */
#define MON_2024_01_01 INT64_C(1704067200) /* Monday 00:00 */
#define WED_2024_01_03 INT64_C(1704240000) /* Wednesday 00:00 */
#define AT_10H (S(WED_2024_01_03) + S(10 * HOUR))

/* ---- capture ------------------------------------------------------------------ */

#define MAX_REC 512
#define MAX_LV 64

typedef struct rec {
    xt_md_update_t u;
    xt_md_level_t bids[MAX_LV], asks[MAX_LV];
    xt_md_trade_t trade;
    xt_md_ticker_t ticker;
    xt_md_candle_t candle;
    xt_md_minute_t minute;
} rec_t;

typedef struct cap {
    rec_t rec[MAX_REC];
    size_t n;                        /* recorded (the first MAX_REC) */
    size_t total;                    /* all updates */
    strbuf_t *log;                   /* serialized updates when set */
    size_t kinds[XT_MDU_MINUTE + 1]; /* all updates by kind */
    size_t closed[XT_KL_COUNT];
    int64_t first_closed[XT_KL_COUNT], last_closed[XT_KL_COUNT];
} cap_t;

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

static void sink(void *ctx, const xt_md_update_t *u)
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

static void cap_reset(cap_t *c)
{
    strbuf_t *log = c->log;
    memset(c, 0, sizeof *c);
    c->log = log;
}

/* The index-th recorded update of a kind (and interval for KLINE), or NULL. */
static const rec_t *find_rec(const cap_t *c, int kind, int interval, size_t index)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->rec[i].u.kind == kind && (kind != XT_MDU_KLINE || c->rec[i].u.interval == interval) && index-- == 0)
            return &c->rec[i];
    return NULL;
}

static size_t count_rec(const cap_t *c, int kind, int interval)
{
    size_t n = 0;
    while (find_rec(c, kind, interval, n))
        n++;
    return n;
}

/* ---- fixture and events ---------------------------------------------------------- */

typedef struct fx {
    xt_md_t md;
    cap_t cap;
    uint64_t seq, trade_id;
} fx_t;

static fx_t *fx_new(uint32_t levels, uint32_t tape, int32_t tz, int64_t ref)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    xt_md_config_t cfg = {.max_instruments = 4, .max_levels = levels, .tape = tape};
    assert_int_equal(xt_md_init(&f->md, &cfg, sink, &f->cap), 0);
    assert_int_equal(xt_md_add_instrument(&f->md, 1, "BTC-USDT", ref, tz), 0);
    return f;
}

static void fx_free(fx_t *f)
{
    xt_md_destroy(&f->md);
    free(f);
}

static const xt_md_inst_t *inst1(const fx_t *f)
{
    const xt_md_inst_t *in = xt_md_find(&f->md, 1);
    assert_non_null(in);
    return in;
}

static xt_event_t bk(int side, int64_t price, int64_t qty, uint32_t orders)
{
    xt_event_t e = {.type = XT_EV_BOOK, .side = (uint8_t)side, .instrument = 1, .price = price, .qty = qty};
    e.u.level.orders = orders;
    return e;
}

static xt_event_t tr(fx_t *f, int taker, int64_t price, int64_t qty)
{
    xt_event_t e = {.type = XT_EV_TRADE, .side = (uint8_t)taker, .instrument = 1, .price = price, .qty = qty};
    e.u.trade.trade_id = ++f->trade_id;
    return e;
}

static void batch(fx_t *f, uint64_t seq, int64_t ts, const xt_event_t *ev, uint32_t n, int last)
{
    xt_event_batch_t b = {.seq = seq, .ts = ts, .last = (uint8_t)last, .n = n, .events = ev};
    xt_md_on_batch(&f->md, &b);
}

/* One command in one batch. */
static void cmd(fx_t *f, int64_t ts, const xt_event_t *ev, uint32_t n)
{
    batch(f, ++f->seq, ts, ev, n, 1);
}

static void trade_at(fx_t *f, int64_t ts, int64_t price, int64_t qty)
{
    xt_event_t e = tr(f, XT_BUY, price, qty);
    cmd(f, ts, &e, 1);
}

/* ---- K-line intervals and alignment ------------------------------------------------ */

static void test_interval_names(void **state)
{
    (void)state;
    static const int64_t secs[XT_KL_COUNT] = {60, 180, 300, 900, 1800, 3600, 7200, 14400, 86400, 604800};
    for (int i = 0; i < XT_KL_COUNT; i++) {
        const char *name = xt_kline_interval_name(i);
        assert_non_null(name);
        assert_int_equal(xt_kline_interval_parse(name, strlen(name)), i);
        assert_int_equal(xt_kline_interval_seconds(i), secs[i]);
    }
    assert_string_equal(xt_kline_interval_name(XT_KL_15M), "15m");
    assert_string_equal(xt_kline_interval_name(XT_KL_1W), "1w");
    assert_null(xt_kline_interval_name(-1));
    assert_null(xt_kline_interval_name(XT_KL_COUNT));
    assert_int_equal(xt_kline_interval_parse("2m", 2), -1);
    assert_int_equal(xt_kline_interval_parse("15m", 2), -1);
    assert_int_equal(xt_kline_interval_parse("1h2", 3), -1);
    assert_int_equal(xt_kline_interval_seconds(XT_KL_COUNT), 0);
}

static void test_align_utc_every_interval(void **state)
{
    (void)state;
    int64_t ts = S(WED_2024_01_03 + 13 * HOUR + 47 * MINUTE + 25) + 500000000; /* 13:47:25.5 */
    const int64_t want[XT_KL_COUNT] = {WED_2024_01_03 + 13 * HOUR + 47 * MINUTE,
                                       WED_2024_01_03 + 13 * HOUR + 45 * MINUTE,
                                       WED_2024_01_03 + 13 * HOUR + 45 * MINUTE,
                                       WED_2024_01_03 + 13 * HOUR + 45 * MINUTE,
                                       WED_2024_01_03 + 13 * HOUR + 30 * MINUTE,
                                       WED_2024_01_03 + 13 * HOUR,
                                       WED_2024_01_03 + 12 * HOUR,
                                       WED_2024_01_03 + 12 * HOUR,
                                       WED_2024_01_03,
                                       MON_2024_01_01};
    for (int i = 0; i < XT_KL_COUNT; i++) {
        int64_t start = xt_kline_align(i, ts, 0);
        assert_int_equal(start, S(want[i]));
        assert_int_equal(xt_kline_align(i, start, 0), start);
        assert_int_equal(xt_kline_align(i, start - 1, 0), start - S(xt_kline_interval_seconds(i)));
    }
    assert_int_equal(xt_kline_align(XT_KL_COUNT, ts, 0), ts);
}

static void test_align_shanghai_day_at_16_utc(void **state)
{
    (void)state;
    const int32_t sh = 28800;
    int64_t midnight = S(WED_2024_01_03 + 16 * HOUR); /* Thursday 00:00 in Shanghai */
    assert_int_equal(xt_kline_align(XT_KL_1D, midnight - 1, sh), midnight - S(86400));
    assert_int_equal(xt_kline_align(XT_KL_1D, midnight, sh), midnight);
    assert_int_equal(xt_kline_align(XT_KL_1D, midnight + S(86399), sh), midnight);
    assert_int_equal(xt_kline_align(XT_KL_4H, midnight + S(5400), sh), midnight);
    assert_int_equal(xt_kline_align(XT_KL_4H, midnight - 1, sh), midnight - S(4 * HOUR));
    assert_int_equal(xt_kline_align(XT_KL_2H, midnight + S(3 * HOUR + 3599), sh), midnight + S(7200));
    assert_int_equal(xt_kline_align(XT_KL_1H, midnight + S(1800), sh), midnight);
    /* Monday 2024-01-01 00:00 Shanghai is Sunday 2023-12-31 16:00 UTC. */
    int64_t week = S(MON_2024_01_01 - 8 * HOUR);
    assert_int_equal(xt_kline_align(XT_KL_1W, week, sh), week);
    assert_int_equal(xt_kline_align(XT_KL_1W, week - 1, sh), week - S(604800));
    assert_int_equal(xt_kline_align(XT_KL_1W, week + S(604800) - 1, sh), week);
}

static void test_align_negative_offset_and_before_1970(void **state)
{
    (void)state;
    const int32_t ny = -18000; /* UTC-5 */
    int64_t midnight = S(WED_2024_01_03 + 5 * HOUR);
    assert_int_equal(xt_kline_align(XT_KL_1D, midnight - 1, ny), midnight - S(86400));
    assert_int_equal(xt_kline_align(XT_KL_1D, midnight, ny), midnight);
    assert_int_equal(xt_kline_align(XT_KL_4H, midnight + S(4 * HOUR) - 1, ny), midnight);
    int64_t monday = S(MON_2024_01_01 + 5 * HOUR);
    assert_int_equal(xt_kline_align(XT_KL_1W, monday, ny), monday);
    assert_int_equal(xt_kline_align(XT_KL_1W, monday - 1, ny), monday - S(604800));
    /* Before the epoch: floor, not truncation. 1969-12-29 was a Monday. */
    assert_int_equal(xt_kline_align(XT_KL_1M, -1, 0), -S(60));
    assert_int_equal(xt_kline_align(XT_KL_1D, -1, 0), -S(86400));
    assert_int_equal(xt_kline_align(XT_KL_1W, -1, 0), -S(3 * 86400));
    assert_int_equal(xt_kline_align(XT_KL_1W, 0, 0), -S(3 * 86400));
    assert_int_equal(xt_kline_align(XT_KL_1W, S(4 * 86400), 0), S(4 * 86400));
    assert_int_equal(xt_kline_align(XT_KL_1D, -1, ny), -S(86400 - 18000));
    /* India, +5:30: hours start at :30 UTC. */
    int64_t ts = S(WED_2024_01_03 + 13 * HOUR + 47 * MINUTE);
    assert_int_equal(xt_kline_align(XT_KL_1H, ts, 19800), S(WED_2024_01_03 + 13 * HOUR + 1800));
    assert_int_equal(xt_kline_align(XT_KL_4H, ts, 19800), S(WED_2024_01_03 + 10 * HOUR + 1800));
    assert_int_equal(xt_kline_align(XT_KL_1D, ts, 19800), S(WED_2024_01_03 - 19800));
    /* The ends of the range: no overflow, clamped. */
    assert_int_equal(xt_kline_align(XT_KL_1W, INT64_MIN, -86399), INT64_MIN);
    int64_t hi = xt_kline_align(XT_KL_1W, INT64_MAX, 86399);
    assert_true(hi <= INT64_MAX - 0 && hi > INT64_MAX - S(604800));
}

static void test_week_starts_monday(void **state)
{
    (void)state;
    const int32_t tzs[] = {0, 28800, -18000};
    for (size_t z = 0; z < sizeof tzs / sizeof tzs[0]; z++) {
        int64_t monday = S(MON_2024_01_01 - tzs[z]); /* Monday 00:00 local */
        for (int d = 0; d < 14; d++) {
            int64_t ts = monday + S(d * INT64_C(86400) + 12 * HOUR);
            assert_int_equal(xt_kline_align(XT_KL_1W, ts, tzs[z]), monday + S((d / 7) * 604800));
        }
        /* Sunday 23:59:59.999999999 local is still the week before. */
        assert_int_equal(xt_kline_align(XT_KL_1W, monday + S(604800) - 1, tzs[z]), monday);
    }
}

/* ---- the book ------------------------------------------------------------------------ */

static void assert_level(const xt_md_level_t *l, int64_t price, int64_t qty, uint32_t orders)
{
    assert_int_equal(l->price, price);
    assert_int_equal(l->qty, qty);
    assert_int_equal(l->orders, orders);
}

static void test_book_levels_sorted(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[] = {bk(XT_BUY, 100, 10, 1), bk(XT_BUY, 102, 20, 2), bk(XT_BUY, 101, 30, 3),
                       bk(XT_SELL, 105, 5, 1), bk(XT_SELL, 103, 6, 2), bk(XT_SELL, 104, 7, 3)};
    cmd(f, AT_10H, ev, 6);
    xt_md_level_t out[8];
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 8), 3);
    assert_level(&out[0], 102, 20, 2);
    assert_level(&out[1], 101, 30, 3);
    assert_level(&out[2], 100, 10, 1);
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 8), 3);
    assert_level(&out[0], 103, 6, 2);
    assert_level(&out[1], 104, 7, 3);
    assert_level(&out[2], 105, 5, 1);
    fx_free(f);
}

static void test_book_deltas_and_seq(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t c1[] = {bk(XT_BUY, 100, 10, 1), bk(XT_BUY, 101, 5, 2), bk(XT_SELL, 103, 7, 1)};
    cmd(f, AT_10H, c1, 3);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.seq, 1);
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 101, 5, 2);
    assert_level(&r->bids[1], 100, 10, 1);
    assert_int_equal(r->u.n_changed_asks, 1);
    assert_level(&r->asks[0], 103, 7, 1);
    /* Net changes: 101 twice, 100 gone, 99 in and out (not listed), 104 new. */
    cap_reset(&f->cap);
    xt_event_t c2[] = {bk(XT_BUY, 101, 8, 3), bk(XT_BUY, 101, 9, 4), bk(XT_BUY, 100, 0, 0),
                       bk(XT_BUY, 99, 4, 1),  bk(XT_BUY, 99, 0, 0),  bk(XT_SELL, 104, 2, 1)};
    cmd(f, AT_10H, c2, 6);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.seq, 2);
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 101, 9, 4);
    assert_level(&r->bids[1], 100, 0, 0);
    assert_int_equal(r->u.n_changed_asks, 1);
    assert_level(&r->asks[0], 104, 2, 1);
    /* A level added and removed, or changed and changed back: no update. */
    cap_reset(&f->cap);
    xt_event_t c3[] = {bk(XT_BUY, 102, 1, 1), bk(XT_BUY, 102, 0, 0), bk(XT_BUY, 101, 3, 1), bk(XT_BUY, 101, 9, 4)};
    cmd(f, AT_10H, c3, 4);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    assert_int_equal(xt_md_book_seq(inst1(f)), 2);
    /* Only the order count changed: listed. */
    xt_event_t c4 = bk(XT_BUY, 101, 9, 5);
    cmd(f, AT_10H, &c4, 1);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.seq, 3);
    assert_level(&r->bids[0], 101, 9, 5);
    fx_free(f);
}

static void test_book_one_update_per_multi_batch_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t b1[] = {bk(XT_SELL, 105, 1, 1), bk(XT_SELL, 106, 2, 1)};
    xt_event_t b2[] = {bk(XT_SELL, 107, 3, 1)};
    xt_event_t b3[] = {bk(XT_SELL, 105, 0, 0)};
    batch(f, 7, AT_10H, b1, 2, 0);
    batch(f, 7, AT_10H, b2, 1, 0);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    batch(f, 7, AT_10H, b3, 1, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.seq, 1);
    assert_int_equal(r->u.n_changed_asks, 2);
    assert_level(&r->asks[0], 106, 2, 1);
    assert_level(&r->asks[1], 107, 3, 1);
    /* A command whose last batch never came ends when the next begins. */
    cap_reset(&f->cap);
    xt_event_t b4 = bk(XT_SELL, 108, 1, 1), b5 = bk(XT_SELL, 109, 1, 1);
    batch(f, 8, AT_10H, &b4, 1, 0);
    batch(f, 9, AT_10H, &b5, 1, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 2);
    assert_level(&find_rec(&f->cap, XT_MDU_BOOK, 0, 0)->asks[0], 108, 1, 1);
    assert_level(&find_rec(&f->cap, XT_MDU_BOOK, 0, 1)->asks[0], 109, 1, 1);
    fx_free(f);
}

static void test_book_full_side_drops_worst(void **state)
{
    (void)state;
    fx_t *f = fx_new(3, 8, 0, 100);
    xt_event_t c1[] = {bk(XT_BUY, 100, 1, 1),  bk(XT_BUY, 101, 2, 1),  bk(XT_BUY, 102, 3, 1),
                       bk(XT_SELL, 200, 1, 1), bk(XT_SELL, 201, 2, 1), bk(XT_SELL, 202, 3, 1)};
    cmd(f, AT_10H, c1, 6);
    cap_reset(&f->cap);
    xt_event_t c2[] = {bk(XT_BUY, 103, 4, 1), bk(XT_SELL, 199, 4, 1)};
    cmd(f, AT_10H, c2, 2);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 103, 4, 1);
    assert_level(&r->bids[1], 100, 0, 0);
    assert_int_equal(r->u.n_changed_asks, 2);
    assert_level(&r->asks[0], 199, 4, 1);
    assert_level(&r->asks[1], 202, 0, 0);
    xt_md_level_t out[4];
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 4), 3);
    assert_level(&out[2], 101, 2, 1);
    /* Worse than every kept level on a full side: not tracked, no update. */
    cap_reset(&f->cap);
    xt_event_t c3[] = {bk(XT_BUY, 90, 9, 1), bk(XT_SELL, 250, 9, 1)};
    cmd(f, AT_10H, c3, 2);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    assert_int_equal(xt_md_book_seq(inst1(f)), 2);
    /* A level pushed in and out within one command is not listed. */
    xt_event_t c4[] = {bk(XT_BUY, 104, 1, 1), bk(XT_BUY, 105, 1, 1), bk(XT_BUY, 106, 1, 1), bk(XT_BUY, 107, 1, 1)};
    cmd(f, AT_10H, c4, 4);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.n_changed_bids, 6); /* 107 106 105 new, 103 102 101 gone, 104 not at all */
    assert_int_equal(r->bids[0].price, 107);
    assert_level(&r->bids[3], 103, 0, 0);
    assert_level(&r->bids[5], 101, 0, 0);
    fx_free(f);
}

static void test_depth_query(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[] = {bk(XT_SELL, 110, 1, 1), bk(XT_SELL, 111, 2, 1), bk(XT_SELL, 112, 3, 1)};
    cmd(f, AT_10H, ev, 3);
    xt_md_level_t out[3] = {0};
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 2), 2);
    assert_level(&out[0], 110, 1, 1);
    assert_level(&out[1], 111, 2, 1);
    assert_int_equal(out[2].price, 0); /* untouched */
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 3), 0);
    assert_int_equal(xt_md_depth(inst1(f), 2, out, 3), 0);
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 0), 0);
    fx_free(f);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A subscriber applying the deltas keeps a copy equal to md's depth; with
 * room for every price, md's depth is the full book. */
static void mirror_run(uint32_t levels)
{
    fx_t *f = fx_new(levels, 8, 0, 100);
    int64_t full[2][24] = {{0}}, mirror[2][24] = {{0}}; /* qty by price - 90 */
    uint64_t seq = 0;
    for (int step = 0; step < 3000; step++) {
        xt_event_t ev[6];
        uint32_t n = 1 + (uint32_t)(next_rand() % 6);
        for (uint32_t i = 0; i < n; i++) {
            int side = (int)(next_rand() & 1);
            int64_t px = 90 + (int64_t)(next_rand() % 24), qty = next_rand() % 3 ? (int64_t)(next_rand() % 50) : 0;
            ev[i] = bk(side, px, qty, (uint32_t)qty % 7 + (qty > 0));
            full[side][px - 90] = qty;
        }
        cap_reset(&f->cap);
        cmd(f, AT_10H, ev, n);
        const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
        if (r) {
            assert_int_equal(r->u.seq, ++seq);
            for (uint32_t i = 0; i < r->u.n_changed_bids; i++) {
                assert_true(i == 0 || r->bids[i].price < r->bids[i - 1].price);
                mirror[XT_BUY][r->bids[i].price - 90] = r->bids[i].qty;
            }
            for (uint32_t i = 0; i < r->u.n_changed_asks; i++) {
                assert_true(i == 0 || r->asks[i].price > r->asks[i - 1].price);
                mirror[XT_SELL][r->asks[i].price - 90] = r->asks[i].qty;
            }
        }
        assert_int_equal(xt_md_book_seq(inst1(f)), seq);
        for (int side = 0; side < 2; side++) {
            xt_md_level_t out[24];
            uint32_t k = xt_md_depth(inst1(f), side, out, 24), m = 0;
            assert_true(k <= levels);
            for (int j = 0; j < 24; j++) {
                int p = side == XT_BUY ? 23 - j : j;
                if (mirror[side][p] == 0)
                    continue;
                assert_true(m < k);
                assert_int_equal(out[m].price, 90 + p);
                assert_int_equal(out[m++].qty, mirror[side][p]);
            }
            assert_int_equal(m, k);
            if (levels >= 24)
                assert_memory_equal(mirror[side], full[side], sizeof full[side]);
        }
    }
    fx_free(f);
}

static void test_book_deltas_rebuild_depth(void **state)
{
    (void)state;
    mirror_run(24);
    mirror_run(4);
    mirror_run(1);
}

/* ---- trades and the ticker ---------------------------------------------------------------- */

static void test_tape_ring_wraps(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 4, 0, 100);
    for (int i = 0; i < 6; i++) {
        xt_event_t e = tr(f, i % 2, 100 + i, 10 + i);
        cmd(f, AT_10H + S(i), &e, 1);
    }
    xt_md_trade_t out[8];
    assert_int_equal(xt_md_trades(inst1(f), out, 8), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].trade_id, (uint64_t)i + 3);
        assert_int_equal(out[i].price, 102 + i);
        assert_int_equal(out[i].qty, 12 + i);
        assert_int_equal(out[i].ts, AT_10H + S(i + 2));
        assert_int_equal(out[i].taker_side, i % 2);
    }
    assert_int_equal(xt_md_trades(inst1(f), out, 2), 2);
    assert_int_equal(out[0].trade_id, 5);
    assert_int_equal(out[1].trade_id, 6);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TRADE, 0), 6);
    fx_free(f);
}

static void test_ticker_day_fields(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 10000);
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->open, 10000);
    assert_int_equal(t->best_bid, XT_PRICE_NONE);
    const int64_t px[] = {10010, 9990, 10005}, qty[] = {2, 3, 5};
    __int128 turnover = 0;
    for (int i = 0; i < 3; i++) {
        trade_at(f, AT_10H + S(i), px[i], qty[i]);
        turnover += (__int128)px[i] * qty[i];
    }
    assert_int_equal(t->prev_close, 10000);
    assert_int_equal(t->open, 10010);
    assert_int_equal(t->high, 10010);
    assert_int_equal(t->low, 9990);
    assert_int_equal(t->last, 10005);
    assert_int_equal(t->volume, 10);
    assert_true(t->turnover == turnover);
    assert_int_equal(t->trades, 3);
    assert_int_equal(t->ts, AT_10H + S(2));
    assert_int_equal(xt_md_change_bp(t), 5); /* +0.05 % */
    assert_int_equal(xt_md_vwap(t), 10002);  /* 100015 / 10 = 10001.5, half up */
    fx_free(f);
}

static void test_ticker_top5_weibi_weicha(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[13];
    for (int i = 0; i < 7; i++)
        ev[i] = bk(XT_BUY, 100 - i, 10 * (int64_t)(i + 1), 1); /* 10 20 30 40 50 | 60 70 */
    for (int i = 0; i < 6; i++)
        ev[7 + i] = bk(XT_SELL, 101 + i, 5, 1); /* 5 x5 | 5 */
    cmd(f, AT_10H, ev, 13);
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->best_bid, 100);
    assert_int_equal(t->best_bid_qty, 10);
    assert_int_equal(t->best_ask, 101);
    assert_int_equal(t->best_ask_qty, 5);
    assert_int_equal(t->bid5_qty, 150);
    assert_int_equal(t->ask5_qty, 25);
    assert_int_equal(t->bid5_qty - t->ask5_qty, 125); /* 委差 */
    assert_int_equal(xt_md_weibi_bp(t), 7143);        /* 125/175 = 71.428...% */
    /* A change below the top five: a BOOK update, no TICKER. */
    cap_reset(&f->cap);
    xt_event_t deep = bk(XT_BUY, 95, 1, 1);
    cmd(f, AT_10H, &deep, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 0);
    /* The fifth bid level goes: the sixth moves up into the top five. */
    xt_event_t gone = bk(XT_BUY, 96, 0, 0);
    cmd(f, AT_10H, &gone, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 1);
    assert_int_equal(t->bid5_qty, 10 + 20 + 30 + 40 + 1);
    /* The asks empty: best ask NONE, 委比 +100 %. */
    xt_event_t clear[6];
    for (int i = 0; i < 6; i++)
        clear[i] = bk(XT_SELL, 101 + i, 0, 0);
    cmd(f, AT_10H, clear, 6);
    assert_int_equal(t->best_ask, XT_PRICE_NONE);
    assert_int_equal(t->best_ask_qty, 0);
    assert_int_equal(xt_md_weibi_bp(t), 10000);
    fx_free(f);
}

static int32_t weibi(int64_t bid5, int64_t ask5)
{
    xt_md_ticker_t t = {.bid5_qty = bid5, .ask5_qty = ask5};
    return xt_md_weibi_bp(&t);
}

static int32_t change(int64_t prev, int64_t last)
{
    xt_md_ticker_t t = {.prev_close = prev, .last = last};
    return xt_md_change_bp(&t);
}

static int64_t vwap(__int128 turnover, int64_t volume)
{
    xt_md_ticker_t t = {.turnover = turnover, .volume = volume};
    return xt_md_vwap(&t);
}

static void test_weibi_rounding_and_sign(void **state)
{
    (void)state;
    assert_int_equal(weibi(20001, 19999), 1); /* 0.5 -> 1 */
    assert_int_equal(weibi(19999, 20001), -1);
    assert_int_equal(weibi(2, 1), 3333);
    assert_int_equal(weibi(1, 2), -3333);
    assert_int_equal(weibi(1, 7), -7500);
    assert_int_equal(weibi(3, 1), 5000);
    assert_int_equal(weibi(5, 0), 10000);
    assert_int_equal(weibi(0, 5), -10000);
    assert_int_equal(weibi(0, 0), 0);
    assert_int_equal(weibi(20003, 19997), 2); /* 1.5 -> 2 */
    assert_int_equal(weibi(19997, 20003), -2);
    assert_int_equal(weibi(INT64_MAX, INT64_MAX), 0);
}

static void test_change_bp_rounding(void **state)
{
    (void)state;
    assert_int_equal(change(10000, 10050), 50);
    assert_int_equal(change(20000, 20001), 1); /* 0.5 -> 1 */
    assert_int_equal(change(20000, 19999), -1);
    assert_int_equal(change(3, 4), 3333);
    assert_int_equal(change(3, 2), -3333);
    assert_int_equal(change(0, 5), 0);
    assert_int_equal(change(1, XT_PRICE_MAX), INT32_MAX); /* clamped */
}

static void test_vwap_half_up(void **state)
{
    (void)state;
    assert_int_equal(vwap(21, 2), 11);
    assert_int_equal(vwap(31, 3), 10);
    assert_int_equal(vwap(32, 3), 11);
    assert_int_equal(vwap(0, 0), 0);
    assert_int_equal(vwap((__int128)XT_PRICE_MAX * XT_QTY_MAX * 3, XT_QTY_MAX * 3), XT_PRICE_MAX);
}

static void test_update_order_per_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    xt_event_t c1 = bk(XT_SELL, 101, 5, 1);
    cmd(f, AT_10H, &c1, 1); /* opens the candles and the first minute */
    cap_reset(&f->cap);
    xt_event_t ev[] = {tr(f, XT_BUY, 101, 2), bk(XT_SELL, 101, 3, 1), tr(f, XT_BUY, 101, 3), bk(XT_SELL, 101, 0, 0),
                       bk(XT_BUY, 101, 1, 1)};
    cmd(f, AT_10H + S(1), ev, 5);
    const int want[] = {XT_MDU_TRADE, XT_MDU_TRADE, XT_MDU_BOOK, XT_MDU_TICKER};
    assert_int_equal(f->cap.n, 4 + XT_KL_COUNT + 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->cap.rec[i].u.kind, want[i]);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        assert_int_equal(f->cap.rec[4 + i].u.kind, XT_MDU_KLINE);
        assert_int_equal(f->cap.rec[4 + i].u.interval, i);
        assert_int_equal(f->cap.rec[4 + i].candle.volume, 5);
    }
    assert_int_equal(f->cap.rec[4 + XT_KL_COUNT].u.kind, XT_MDU_MINUTE);
    const rec_t *t = find_rec(&f->cap, XT_MDU_TICKER, 0, 0);
    assert_int_equal(t->ticker.volume, 5);
    assert_int_equal(t->ticker.best_bid, 101);
    assert_int_equal(t->ticker.best_ask, XT_PRICE_NONE);
    assert_int_equal(t->u.ts, AT_10H + S(1));
    /* Unknown instruments and malformed events change nothing. */
    cap_reset(&f->cap);
    xt_event_t bad[] = {bk(XT_BUY, 0, 5, 1),
                        bk(XT_BUY, 101, -1, 1),
                        bk(2, 101, 5, 1),
                        tr(f, XT_BUY, 101, 0),
                        tr(f, XT_BUY, XT_PRICE_MAX + 1, 1),
                        bk(XT_BUY, 99, 5, 1)};
    bad[5].instrument = 77;
    cmd(f, AT_10H + S(2), bad, 6);
    assert_int_equal(f->cap.total, 0);
    fx_free(f);
}

/* ---- K-lines -------------------------------------------------------------------------------- */

static void test_kline_ohlcv_every_interval(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 28800, 100);
    assert_null(xt_md_candle(inst1(f), XT_KL_1M)); /* no time seen yet */
    const int64_t px[] = {100, 105, 98, 101}, qty[] = {1, 2, 3, 4}, sec[] = {5, 10, 20, 50};
    for (int i = 0; i < 4; i++)
        trade_at(f, AT_10H + S(sec[i]), px[i], qty[i]);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        const xt_md_candle_t *c = xt_md_candle(inst1(f), i);
        assert_non_null(c);
        assert_int_equal(c->open_time, xt_kline_align(i, AT_10H, 28800));
        assert_int_equal(c->open, 100);
        assert_int_equal(c->high, 105);
        assert_int_equal(c->low, 98);
        assert_int_equal(c->close, 101);
        assert_int_equal(c->volume, 10);
        assert_true(c->turnover == 100 + 210 + 294 + 404);
        assert_int_equal(c->trades, 4);
        assert_int_equal(c->closed, 0);
        assert_int_equal(count_rec(&f->cap, XT_MDU_KLINE, i), 4); /* one per command */
    }
    assert_null(xt_md_candle(inst1(f), XT_KL_COUNT));
    fx_free(f);
}

static void test_kline_gap_between_trades(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H + S(30), 105, 1);
    cap_reset(&f->cap);
    trade_at(f, AT_10H + S(190), 107, 2); /* 10:03:10 */
    const rec_t *r = find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 0);
    assert_int_equal(r->candle.open_time, AT_10H);
    assert_int_equal(r->candle.closed, 1);
    assert_int_equal(r->candle.close, 105);
    assert_int_equal(r->candle.volume, 1);
    for (int k = 1; k <= 2; k++) {
        r = find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, (size_t)k);
        assert_int_equal(r->candle.open_time, AT_10H + k * MIN);
        assert_int_equal(r->candle.closed, 1);
        assert_int_equal(r->candle.open, 105);
        assert_int_equal(r->candle.high, 105);
        assert_int_equal(r->candle.low, 105);
        assert_int_equal(r->candle.close, 105);
        assert_int_equal(r->candle.volume, 0);
        assert_int_equal(r->candle.trades, 0);
    }
    r = find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 3);
    assert_int_equal(r->candle.open_time, AT_10H + 3 * MIN);
    assert_int_equal(r->candle.closed, 0);
    assert_int_equal(r->candle.open, 107);
    assert_int_equal(r->candle.volume, 2);
    assert_null(find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 4));
    /* The TRADE comes after the closes, the open candle after the TRADE. */
    assert_true(find_rec(&f->cap, XT_MDU_TRADE, 0, 0) > find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 2));
    assert_true(find_rec(&f->cap, XT_MDU_TRADE, 0, 0) < r);
    /* 3m: [10:00, 10:03) closes, [10:03, 10:06) opens, nothing skipped. */
    assert_int_equal(count_rec(&f->cap, XT_MDU_KLINE, XT_KL_3M), 2);
    assert_int_equal(f->cap.closed[XT_KL_3M], 1);
    assert_int_equal(f->cap.closed[XT_KL_5M], 0);
    fx_free(f);
}

static void test_kline_advance_closes_once_opens_flat(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H + S(30), 105, 1);
    cap_reset(&f->cap);
    xt_md_advance(&f->md, AT_10H + MIN);
    assert_int_equal(count_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M), 2);
    const rec_t *r = find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 0);
    assert_int_equal(r->candle.closed, 1);
    assert_int_equal(r->candle.open_time, AT_10H);
    assert_int_equal(r->u.ts, AT_10H + MIN);
    r = find_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M, 1);
    assert_int_equal(r->candle.closed, 0);
    assert_int_equal(r->candle.open_time, AT_10H + MIN);
    assert_int_equal(r->candle.open, 105);
    assert_int_equal(r->candle.volume, 0);
    assert_int_equal(count_rec(&f->cap, XT_MDU_KLINE, XT_KL_3M), 0);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 0);
    /* Within the same minute, or back in time: nothing. */
    cap_reset(&f->cap);
    xt_md_advance(&f->md, AT_10H + MIN + S(30));
    xt_md_advance(&f->md, AT_10H);
    assert_int_equal(f->cap.total, 0);
    /* 10:04: the flat 10:01 closes, 10:02 and 10:03 are skipped flats. */
    xt_md_advance(&f->md, AT_10H + 4 * MIN);
    assert_int_equal(f->cap.closed[XT_KL_1M], 3);
    assert_int_equal(f->cap.first_closed[XT_KL_1M], AT_10H + MIN);
    assert_int_equal(f->cap.last_closed[XT_KL_1M], AT_10H + 3 * MIN);
    assert_int_equal(f->cap.closed[XT_KL_3M], 1);
    assert_int_equal(xt_md_candle(inst1(f), XT_KL_3M)->open_time, AT_10H + 3 * MIN);
    /* A trade in a candle opened flat sets its open. */
    trade_at(f, AT_10H + 4 * MIN + S(10), 110, 1);
    const xt_md_candle_t *c = xt_md_candle(inst1(f), XT_KL_1M);
    assert_int_equal(c->open, 110);
    assert_int_equal(c->low, 110);
    assert_int_equal(f->cap.closed[XT_KL_1M], 3);
    fx_free(f);
}

static void test_kline_starts_at_first_time(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    xt_event_t e = bk(XT_BUY, 99, 1, 1);
    cmd(f, AT_10H + 7 * MIN + S(30), &e, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_KLINE, XT_KL_1M), 1);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        const rec_t *r = find_rec(&f->cap, XT_MDU_KLINE, i, 0);
        assert_non_null(r);
        assert_int_equal(r->candle.closed, 0);
        assert_int_equal(r->candle.open_time, xt_kline_align(i, AT_10H + 7 * MIN + S(30), 0));
        assert_int_equal(r->candle.close, 100); /* the reference price */
    }
    const xt_md_minute_t *pts;
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 1);
    assert_int_equal(pts[0].minute, AT_10H + 7 * MIN);
    /* An instrument without events starts with the first advance. */
    assert_int_equal(xt_md_add_instrument(&f->md, 2, "ETH", 50, 0), 0);
    assert_null(xt_md_candle(xt_md_find(&f->md, 2), XT_KL_1D));
    xt_md_advance(&f->md, AT_10H + 8 * MIN);
    assert_int_equal(xt_md_candle(xt_md_find(&f->md, 2), XT_KL_1D)->open_time, S(WED_2024_01_03));
    assert_int_equal(xt_md_candle(xt_md_find(&f->md, 2), XT_KL_1D)->open, 50);
    fx_free(f);
}

static void test_kline_flat_cap(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H, 105, 1);
    cap_reset(&f->cap);
    int64_t now = AT_10H + 200000 * MIN + S(30);
    xt_md_advance(&f->md, now);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        int64_t len = S(xt_kline_interval_seconds(i)), start = xt_kline_align(i, now, 0);
        int64_t old = xt_kline_align(i, AT_10H, 0), skipped = (start - old) / len - 1;
        int64_t flats = skipped < XT_MD_FLAT_MAX ? skipped : XT_MD_FLAT_MAX;
        assert_int_equal(f->cap.closed[i], flats + 1);
        assert_int_equal(f->cap.first_closed[i], old);
        if (flats > 0)
            assert_int_equal(f->cap.last_closed[i], start - len);
        assert_int_equal(xt_md_candle(inst1(f), i)->open_time, start);
    }
    assert_int_equal(f->cap.closed[XT_KL_1M], XT_MD_FLAT_MAX + 1);
    fx_free(f);
}

static void test_kline_late_timestamp_stays_current(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H + 5 * MIN, 105, 1);
    trade_at(f, AT_10H + 3 * MIN, 104, 2); /* stamped earlier: still 10:05 */
    const xt_md_candle_t *c = xt_md_candle(inst1(f), XT_KL_1M);
    assert_int_equal(c->open_time, AT_10H + 5 * MIN);
    assert_int_equal(c->volume, 3);
    assert_int_equal(c->close, 104);
    assert_int_equal(f->cap.closed[XT_KL_1M], 0);
    fx_free(f);
}

/* Over a long run with trades and advances: each candle closes exactly
 * once, the closed candles of an interval follow each other without gaps,
 * and nothing changes after its close. */
static void test_kline_closed_exactly_once_gap_free(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    int64_t ts = AT_10H, next_open[XT_KL_COUNT];
    int64_t closed_at[XT_KL_COUNT];
    for (int i = 0; i < XT_KL_COUNT; i++)
        closed_at[i] = INT64_MIN;
    trade_at(f, ts, 100, 1);
    for (int i = 0; i < XT_KL_COUNT; i++)
        next_open[i] = xt_kline_align(i, ts, 0);
    for (int step = 0; step < 400; step++) {
        cap_reset(&f->cap);
        ts += S((int64_t)(next_rand() % 1500));
        if (next_rand() % 3)
            trade_at(f, ts, 90 + (int64_t)(next_rand() % 20), 1 + (int64_t)(next_rand() % 5));
        else
            xt_md_advance(&f->md, ts);
        assert_true(f->cap.n < MAX_REC);
        for (size_t k = 0; k < f->cap.n; k++) {
            const rec_t *r = &f->cap.rec[k];
            if (r->u.kind != XT_MDU_KLINE)
                continue;
            int i = r->u.interval;
            assert_true(r->candle.open_time > closed_at[i]); /* never touched after its close */
            if (r->candle.closed) {
                assert_int_equal(r->candle.open_time, next_open[i]);
                closed_at[i] = r->candle.open_time;
                next_open[i] += S(xt_kline_interval_seconds(i));
            }
        }
    }
    for (int i = 0; i < XT_KL_COUNT; i++)
        assert_int_equal(xt_md_candle(inst1(f), i)->open_time, next_open[i]);
    fx_free(f);
}

/* ---- the timeline and the trading day ------------------------------------------------------------- */

static void test_timeline_minutes_and_average(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 1000);
    xt_event_t e = bk(XT_BUY, 999, 1, 1);
    cmd(f, AT_10H, &e, 1);
    const xt_md_minute_t *pts;
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 1);
    assert_int_equal(pts[0].avg_price, 1000); /* no trade yet: the previous close */
    trade_at(f, AT_10H + S(10), 1000, 1);
    trade_at(f, AT_10H + S(20), 1001, 1);
    assert_int_equal(pts[0].avg_price, 1001); /* 1000.5, half up */
    cap_reset(&f->cap);
    xt_md_advance(&f->md, AT_10H + 2 * MIN);
    assert_int_equal(count_rec(&f->cap, XT_MDU_MINUTE, 0), 3); /* 10:00 closed, 10:01 flat, 10:02 opened */
    trade_at(f, AT_10H + 2 * MIN + S(5), 1010, 2);
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 3);
    const int64_t minute[] = {0, 1, 2}, price[] = {1001, 1001, 1010}, avg[] = {1001, 1001, 1005}, vol[] = {2, 0, 2};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pts[i].minute, AT_10H + minute[i] * MIN);
        assert_int_equal(pts[i].price, price[i]);
        assert_int_equal(pts[i].avg_price, avg[i]); /* 4021 / 4 = 1005.25 */
        assert_int_equal(pts[i].volume, vol[i]);
        assert_int_equal(pts[i].closed, i < 2);
    }
    const rec_t *r = find_rec(&f->cap, XT_MDU_MINUTE, 0, 3);
    assert_non_null(r);
    assert_int_equal(r->minute.volume, 2);
    assert_int_equal(r->minute.closed, 0);
    fx_free(f);
}

static void test_day_reset_shanghai(void **state)
{
    (void)state;
    const int64_t day2 = S(WED_2024_01_03 + 16 * HOUR); /* Thursday 00:00 Shanghai */
    fx_t *f = fx_new(8, 8, 28800, 1000);
    trade_at(f, day2 - 2 * MIN + S(30), 1100, 3); /* 23:58:30 local */
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->prev_close, 1000);
    assert_int_equal(xt_md_change_bp(t), 1000);
    cap_reset(&f->cap);
    xt_md_advance(&f->md, day2 + S(30));
    assert_int_equal(t->prev_close, 1100);
    assert_int_equal(t->open, 1100);
    assert_int_equal(t->high, 1100);
    assert_int_equal(t->low, 1100);
    assert_int_equal(t->volume, 0);
    assert_true(t->turnover == 0);
    assert_int_equal(t->trades, 0);
    assert_int_equal(xt_md_change_bp(t), 0);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 1);
    assert_int_equal(f->cap.closed[XT_KL_1D], 1);
    assert_int_equal(f->cap.first_closed[XT_KL_1D], day2 - S(86400));
    /* Minutes: 23:58 closes, 23:59 flat, then the new day's 00:00 opens. */
    assert_int_equal(count_rec(&f->cap, XT_MDU_MINUTE, 0), 3);
    assert_int_equal(find_rec(&f->cap, XT_MDU_MINUTE, 0, 1)->minute.minute, day2 - MIN);
    const xt_md_minute_t *pts;
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 1);
    assert_int_equal(pts[0].minute, day2);
    assert_int_equal(pts[0].avg_price, 1100);
    trade_at(f, day2 + MIN + S(1), 1210, 1);
    assert_int_equal(xt_md_change_bp(t), 1000); /* +10 % on the new previous close */
    assert_int_equal(t->open, 1210);
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 2);
    assert_int_equal(pts[1].avg_price, 1210);
    fx_free(f);
}

static void test_day_reset_across_days_by_trade(void **state)
{
    (void)state;
    const int64_t day = S(WED_2024_01_03);
    fx_t *f = fx_new(8, 8, 0, 1000);
    trade_at(f, day + S(86400) - 2 * MIN, 900, 1); /* Wed 23:58 */
    cap_reset(&f->cap);
    trade_at(f, day + S(3 * 86400) + 2 * MIN, 950, 1); /* Sat 00:02 */
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->prev_close, 900);
    assert_int_equal(t->open, 950);
    assert_int_equal(t->volume, 1);
    assert_int_equal(f->cap.kinds[XT_MDU_TICKER], 1); /* reset and trade: one update */
    assert_int_equal(f->cap.closed[XT_KL_1D], 3);     /* Wed, then flat Thu and Fri */
    const xt_md_minute_t *pts;
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 3);
    assert_int_equal(pts[0].minute, day + S(3 * 86400));
    assert_int_equal(pts[0].price, 900);
    assert_int_equal(pts[0].avg_price, 900);
    assert_int_equal(pts[2].price, 950);
    /* 23:58 closes, 23:59 flat, then 00:00 and 00:01 flat, 00:02 with the trade. */
    assert_int_equal(f->cap.kinds[XT_MDU_MINUTE], 5);
    fx_free(f);
}

static void test_timeline_full_day(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, -18000, 1000);
    int64_t midnight = S(WED_2024_01_03 + 5 * HOUR);
    xt_md_advance(&f->md, midnight);
    xt_md_advance(&f->md, midnight + S(86400) - 1);
    const xt_md_minute_t *pts;
    assert_int_equal(xt_md_timeline(inst1(f), &pts), XT_MD_TIMELINE_MAX);
    assert_int_equal(pts[XT_MD_TIMELINE_MAX - 1].minute, midnight + S(86400) - MIN);
    xt_md_advance(&f->md, midnight + S(86400));
    assert_int_equal(xt_md_timeline(inst1(f), &pts), 1);
    fx_free(f);
}

/* ---- determinism, set-up ---------------------------------------------------------------------------- */

static void feed_random(fx_t *f, uint64_t seed)
{
    uint64_t r = seed;
    int64_t ts = S(WED_2024_01_03) + S(22 * HOUR);
    for (int step = 0; step < 2000; step++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t x = (uint32_t)(r >> 33);
        ts += S(x % 97);
        if (x % 11 == 0) {
            xt_md_advance(&f->md, ts + S(x % 300));
            continue;
        }
        xt_event_t ev[8];
        uint32_t n = 1 + x % 8;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t y = x >> ((i % 4) * 3);
            ev[i] = y % 4 == 0 ? tr(f, (int)(y & 1), 100 + y % 9, 1 + y % 13)
                               : bk((int)(y & 1), (y & 1) ? 101 + y % 7 : 99 - y % 7, (int64_t)(y % 5) * 3, y % 5);
            ev[i].instrument = 1 + (x >> 20) % 3;
        }
        uint64_t seq = ++f->seq;
        if (n > 4) {
            batch(f, seq, ts, ev, 4, 0);
            batch(f, seq, ts, ev + 4, n - 4, 1);
        } else {
            batch(f, seq, ts, ev, n, 1);
        }
    }
}

static void test_determinism(void **state)
{
    (void)state;
    strbuf_t logs[2] = {{0}};
    for (int k = 0; k < 2; k++) {
        fx_t *f = fx_new(6, 16, 28800, 100);
        f->cap.log = &logs[k];
        assert_int_equal(xt_md_add_instrument(&f->md, 2, "ETH", 100, -18000), 0);
        assert_int_equal(xt_md_add_instrument(&f->md, 3, "SOL", 0, 19800), 0);
        feed_random(f, 42);
        fx_free(f);
    }
    assert_true(logs[0].len > 100000);
    assert_int_equal(logs[0].len, logs[1].len);
    assert_string_equal(sb_str(&logs[0]), sb_str(&logs[1]));
    sb_free(&logs[0]);
    sb_free(&logs[1]);
}

static void test_init_and_instruments(void **state)
{
    (void)state;
    xt_md_t md;
    xt_md_config_t bad = {.max_instruments = 2, .max_levels = 0, .tape = 4};
    assert_int_equal(xt_md_init(&md, &bad, NULL, NULL), XT_EINVAL);
    bad.max_levels = (1u << 24) + 1;
    assert_int_equal(xt_md_init(&md, &bad, NULL, NULL), XT_EINVAL);
    xt_md_config_t cfg = {.max_instruments = 2, .max_levels = 4, .tape = 4};
    assert_int_equal(xt_md_init(&md, &cfg, NULL, NULL), 0);
    assert_int_equal(xt_md_add_instrument(&md, 5, NULL, 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A", -1, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A", 100, 86400), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, XT_INSTRUMENT_NONE, "A", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A-VERY-LONG-SYMBOL-NAME-OF-40-CHARACTERS", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A-SYMBOL-OF-EXACTLY-31-BYTES-XY", 100, 0), 0);
    assert_int_equal(xt_md_add_instrument(&md, 5, "B", 100, 0), XT_EEXIST);
    assert_int_equal(xt_md_add_instrument(&md, 9, "A-SYMBOL-OF-EXACTLY-31-BYTES-XY", 100, 0), XT_EEXIST);
    assert_int_equal(xt_md_add_instrument(&md, 9, "B", 100, 0), 0);
    assert_int_equal(xt_md_add_instrument(&md, 10, "C", 100, 0), XT_ECAPACITY);
    const xt_md_inst_t *a = xt_md_find(&md, 5);
    assert_non_null(a);
    assert_int_equal(strlen(xt_md_inst_symbol(a)), 31);
    assert_ptr_equal(xt_md_find_symbol(&md, "B", 1), xt_md_find(&md, 9));
    assert_int_equal(xt_md_inst_id(xt_md_find_symbol(&md, "B", 1)), 9);
    assert_null(xt_md_find_symbol(&md, "BB", 1 + 1));
    assert_null(xt_md_find(&md, 6));
    assert_int_equal(xt_md_book_seq(a), 0);
    xt_md_advance(&md, AT_10H); /* no sink: fine */
    assert_non_null(xt_md_candle(a, XT_KL_1M));
    xt_md_destroy(&md);
}

static void test_advance_leaves_open_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H, 100, 1);
    xt_event_t e = tr(f, XT_BUY, 101, 1);
    batch(f, 50, AT_10H + S(30), &e, 1, 0);
    cap_reset(&f->cap);
    xt_md_advance(&f->md, AT_10H + 5 * MIN);
    assert_int_equal(f->cap.total, 0);
    xt_event_t e2 = tr(f, XT_BUY, 102, 1);
    batch(f, 50, AT_10H + S(30), &e2, 1, 1);
    assert_int_equal(xt_md_candle(inst1(f), XT_KL_1M)->volume, 3);
    xt_md_advance(&f->md, AT_10H + 5 * MIN);
    assert_int_equal(f->cap.closed[XT_KL_1M], 5);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_names),
        cmocka_unit_test(test_align_utc_every_interval),
        cmocka_unit_test(test_align_shanghai_day_at_16_utc),
        cmocka_unit_test(test_align_negative_offset_and_before_1970),
        cmocka_unit_test(test_week_starts_monday),
        cmocka_unit_test(test_book_levels_sorted),
        cmocka_unit_test(test_book_deltas_and_seq),
        cmocka_unit_test(test_book_one_update_per_multi_batch_command),
        cmocka_unit_test(test_book_full_side_drops_worst),
        cmocka_unit_test(test_depth_query),
        cmocka_unit_test(test_book_deltas_rebuild_depth),
        cmocka_unit_test(test_tape_ring_wraps),
        cmocka_unit_test(test_ticker_day_fields),
        cmocka_unit_test(test_ticker_top5_weibi_weicha),
        cmocka_unit_test(test_weibi_rounding_and_sign),
        cmocka_unit_test(test_change_bp_rounding),
        cmocka_unit_test(test_vwap_half_up),
        cmocka_unit_test(test_update_order_per_command),
        cmocka_unit_test(test_kline_ohlcv_every_interval),
        cmocka_unit_test(test_kline_gap_between_trades),
        cmocka_unit_test(test_kline_advance_closes_once_opens_flat),
        cmocka_unit_test(test_kline_starts_at_first_time),
        cmocka_unit_test(test_kline_flat_cap),
        cmocka_unit_test(test_kline_late_timestamp_stays_current),
        cmocka_unit_test(test_kline_closed_exactly_once_gap_free),
        cmocka_unit_test(test_timeline_minutes_and_average),
        cmocka_unit_test(test_day_reset_shanghai),
        cmocka_unit_test(test_day_reset_across_days_by_trade),
        cmocka_unit_test(test_timeline_full_day),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_init_and_instruments),
        cmocka_unit_test(test_advance_leaves_open_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
