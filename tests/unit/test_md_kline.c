/* test_md_kline.c - the market-data library's K-lines and timeline: the
 * interval alignment in every interval and time zone, gap-free candles and
 * timeline minutes, the trading-day reset. Events are built by hand; every
 * update is captured (copied) by the sink (md_fixture.c). */
#include "md_fixture.h"

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

/* An INSTRUMENT event (a band moved) with its ref, instrument 1. */
static xt_event_t ref_ev(int64_t ref)
{
    return (xt_event_t){.type = XT_EV_INSTRUMENT, .instrument = 1, .price = ref};
}

/* xt_md_follow_ref: the previous close is the band's ref (an ex-rights
 * day's adjusted one), through the day's start; only prev_close and the
 * change follow it, the day's prices and candles stay the trades'; off, a
 * move changes nothing. */
static void test_prev_close_follows_the_ref(void **state)
{
    (void)state;
    const int64_t day2 = S(WED_2024_01_03 + 16 * HOUR); /* Thursday 00:00 Shanghai */
    for (int on = 0; on < 2; on++) {
        fx_t *f = fx_new(8, 8, 28800, 1000);
        assert_int_equal(xt_md_follow_ref(&f->md, 1, on), 0);
        const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
        trade_at(f, day2 - 2 * HOUR * INT64_C(1000000000), 1100, 3); /* 22:00 local, day 1 */
        cap_reset(&f->cap);
        xt_event_t e = ref_ev(1050);
        cmd(f, day2 - S(HOUR), &e, 1); /* the evening's move (23:00): in force from now on */
        assert_int_equal(t->prev_close, on ? 1050 : 1000);
        assert_int_equal(t->last, 1100);
        assert_int_equal(xt_md_change_bp(t), on ? 476 : 1000); /* 50 / 1050 */
        assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), on ? 1 : 0);
        cap_reset(&f->cap);
        cmd(f, day2 - S(HOUR) + S(1), &e, 1); /* the same ref again: nothing to tell */
        assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 0);
        xt_md_advance(&f->md, day2 + S(30)); /* day 2: the ref's, or the close; the prices the close's */
        assert_int_equal(t->prev_close, on ? 1050 : 1100);
        assert_int_equal(t->open, 1100);
        assert_int_equal(t->last, 1100);
        assert_int_equal(xt_md_change_bp(t), 0); /* no trade yet: no change, whatever the ref */
        e = ref_ev(990);                         /* the morning's move, before the first trade */
        cmd(f, day2 + S(HOUR), &e, 1);
        assert_int_equal(t->prev_close, on ? 990 : 1100);
        assert_int_equal(t->last, 1100);
        assert_int_equal(xt_md_change_bp(t), 0);
        assert_int_equal(xt_md_candle(inst1(f), XT_KL_1D)->open, 1100); /* the candles are the trades' */
        e = ref_ev(XT_PRICE_NONE);                                      /* the band taken away: nothing to follow */
        cmd(f, day2 + S(HOUR) + S(1), &e, 1);
        assert_int_equal(t->prev_close, on ? 990 : 1100);
        trade_at(f, day2 + S(2 * HOUR), 1089, 1);
        assert_int_equal(xt_md_change_bp(t), on ? 1000 : -100);
        /* the ref in force set at a start (a state saved before the setting): only when followed */
        assert_int_equal(xt_md_set_ref(&f->md, 1, 1000), 0);
        assert_int_equal(t->prev_close, on ? 1000 : 1100);
        fx_free(f);
    }
    fx_t *f = fx_new(8, 8, 0, 1000);
    assert_int_equal(xt_md_follow_ref(&f->md, 2, 1), XT_EINVAL); /* not added */
    assert_int_equal(xt_md_set_ref(&f->md, 2, 1000), XT_EINVAL);
    fx_free(f);
}

/* xt_md_seed_last: an instrument market data has no trade of takes a
 * last price (the history's, at a start without the saved day): its
 * first flat candles and timeline points are at it, prev_close stays the
 * ref and the change zero; the first trade makes the day as ever. Once
 * the instrument has had a time, a seed changes nothing. */
static void test_seed_last_before_the_first_time(void **state)
{
    (void)state;
    const int64_t t0 = S(WED_2024_01_03 + 10 * HOUR);
    fx_t *f = fx_new(8, 8, 0, 1000);
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(xt_md_seed_last(&f->md, 2, 1200), XT_EINVAL); /* not added */
    assert_int_equal(xt_md_seed_last(&f->md, 1, 0), XT_EINVAL);
    assert_int_equal(xt_md_seed_last(&f->md, 1, XT_PRICE_MAX + 1), XT_EINVAL);
    assert_int_equal(xt_md_seed_last(&f->md, 1, 1200), 0);
    xt_md_advance(&f->md, t0 + S(30));
    assert_int_equal(t->last, 1200);
    assert_true(t->open == 1200 && t->high == 1200 && t->low == 1200);
    assert_int_equal(t->prev_close, 1000); /* the ref */
    assert_int_equal(xt_md_change_bp(t), 0);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        const xt_md_candle_t *c = xt_md_candle(inst1(f), i);
        assert_true(c->open == 1200 && c->close == 1200 && c->volume == 0);
    }
    cap_reset(&f->cap);
    xt_md_advance(&f->md, t0 + S(150)); /* two minutes close, flat at the seed */
    assert_int_equal(f->cap.closed[XT_KL_1M], 2);
    const xt_md_minute_t *pts;
    uint32_t n = xt_md_timeline(inst1(f), &pts);
    assert_true(n == 3 && pts[0].price == 1200 && pts[0].avg_price == 1200);
    assert_int_equal(xt_md_seed_last(&f->md, 1, 1300), 1); /* started: nothing changes */
    assert_int_equal(t->last, 1200);
    trade_at(f, t0 + S(200), 1190, 2);
    assert_true(t->open == 1190 && t->high == 1190 && t->low == 1190 && t->last == 1190);
    assert_int_equal(xt_md_change_bp(t), 1900); /* 190 / 1000 */
    assert_int_equal(xt_md_candle(inst1(f), XT_KL_1M)->open, 1190);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_names),
        cmocka_unit_test(test_align_utc_every_interval),
        cmocka_unit_test(test_align_shanghai_day_at_16_utc),
        cmocka_unit_test(test_align_negative_offset_and_before_1970),
        cmocka_unit_test(test_week_starts_monday),
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
        cmocka_unit_test(test_prev_close_follows_the_ref),
        cmocka_unit_test(test_seed_last_before_the_first_time),
        cmocka_unit_test(test_timeline_full_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
