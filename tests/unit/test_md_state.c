/* test_md_state.c - the market-data state as bytes (src/md/state.c): a
 * state saved and loaded into a fresh md (with the same book) gives the
 * same products and the same updates for whatever comes next; instruments
 * that changed are skipped; bytes that do not check change nothing; a
 * checkpoint written while commands go on gives the bytes of its
 * beginning. */
#include <pthread.h>

#include "md_fixture.h"

#include "core/le.h"

/* A day of trading on instrument 1: a book, then trades every 7 minutes
 * from 09:00, with advances between. */
static void trade_a_day(fx_t *f, int64_t from, int n)
{
    xt_event_t book[] = {bk(XT_BUY, 99, 10, 1), bk(XT_BUY, 98, 5, 2), bk(XT_SELL, 101, 7, 1), bk(XT_SELL, 102, 3, 1)};
    cmd(f, from, book, 4);
    for (int k = 0; k < n; k++) {
        int64_t ts = from + k * 7 * MIN + S(k % 13);
        trade_at(f, ts, 95 + (int64_t)(next_rand() % 11), 1 + (int64_t)(next_rand() % 5));
        xt_md_advance(&f->md, ts + S(30));
    }
}

/* The same book as f's, by hand, in a fresh fixture (its own time). */
static fx_t *same_book(const fx_t *f, uint32_t tape, int32_t tz)
{
    fx_t *g = fx_new(16, tape, tz, 100);
    xt_md_level_t lv[16];
    xt_event_t ev[32];
    uint32_t n = 0;
    for (int side = XT_BUY; side <= XT_SELL; side++) {
        uint32_t k = xt_md_depth(inst1(f), side, lv, 16);
        for (uint32_t i = 0; i < k; i++)
            ev[n++] = bk(side, lv[i].price, lv[i].qty, lv[i].orders);
    }
    cmd(g, S(WED_2024_01_03), ev, n);
    return g;
}

static uint8_t *encoded(const fx_t *f, size_t *n)
{
    *n = xt_md_state_size(&f->md);
    assert_true(*n <= xt_md_state_max_size(&f->md));
    uint8_t *b = malloc(*n);
    assert_non_null(b);
    assert_int_equal(xt_md_state_encode(&f->md, b, *n), *n);
    assert_int_equal(xt_md_state_encode(&f->md, b, *n - 1), 0);
    return b;
}

/* f's state is still the n bytes was (encoded before), which it frees. */
static void assert_state_still(const fx_t *f, uint8_t *was, size_t n)
{
    size_t k;
    uint8_t *now = encoded(f, &k);
    assert_int_equal(k, n);
    assert_memory_equal(was, now, n);
    free(now);
    free(was);
}

static void assert_same_products(const xt_md_inst_t *a, const xt_md_inst_t *b)
{
    const xt_md_ticker_t *x = xt_md_ticker(a), *y = xt_md_ticker(b);
    assert_int_equal(x->prev_close, y->prev_close);
    assert_int_equal(x->open, y->open);
    assert_int_equal(x->high, y->high);
    assert_int_equal(x->low, y->low);
    assert_int_equal(x->last, y->last);
    assert_int_equal(x->volume, y->volume);
    assert_true(x->turnover == y->turnover);
    assert_int_equal(x->trades, y->trades);
    assert_int_equal(x->best_bid, y->best_bid);
    assert_int_equal(x->ask5_qty, y->ask5_qty);
    for (int i = 0; i < XT_KL_COUNT; i++)
        assert_memory_equal(xt_md_candle(a, i), xt_md_candle(b, i), sizeof(xt_md_candle_t));
    const xt_md_minute_t *p, *q;
    uint32_t n = xt_md_timeline(a, &p);
    assert_int_equal(xt_md_timeline(b, &q), n);
    assert_memory_equal(p, q, n * sizeof *p);
    xt_md_trade_t ta[8], tb[8];
    n = xt_md_trades(a, ta, 8);
    assert_int_equal(xt_md_trades(b, tb, 8), n);
    assert_memory_equal(ta, tb, n * sizeof *ta);
}

static void test_loaded_state_goes_on_the_same(void **state)
{
    (void)state;
    fx_t *a = fx_new(16, 8, 8 * 3600, 100);
    trade_a_day(a, S(WED_2024_01_03 + 9 * HOUR), 40);
    size_t n;
    uint8_t *b = encoded(a, &n);
    fx_t *g = same_book(a, 8, 8 * 3600);
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 1);
    assert_same_products(inst1(a), inst1(g));
    /* what comes next - trades, minutes, the local day and the week ending - makes the same updates */
    strbuf_t la = {0}, lg = {0};
    a->cap.log = &la;
    g->cap.log = &lg;
    for (int k = 0; k < 30; k++) {
        int64_t ts = S(WED_2024_01_03 + 16 * HOUR) + k * 97 * MIN;
        int64_t px = 95 + (int64_t)(next_rand() % 11), qty = 1 + (int64_t)(next_rand() % 5);
        trade_at(a, ts, px, qty);
        g->trade_id = a->trade_id - 1;
        trade_at(g, ts, px, qty);
        xt_md_advance(&a->md, ts + 5 * MIN);
        xt_md_advance(&g->md, ts + 5 * MIN);
    }
    assert_true(la.len > 1000);
    assert_string_equal(sb_str(&la), sb_str(&lg));
    assert_same_products(inst1(a), inst1(g));
    sb_free(&la);
    sb_free(&lg);
    free(b);
    fx_free(a);
    fx_free(g);
}

static void test_changed_instruments_and_smaller_tapes(void **state)
{
    (void)state;
    fx_t *a = fx_new(16, 8, 0, 100);
    trade_a_day(a, S(WED_2024_01_03 + 9 * HOUR), 20);
    size_t n;
    uint8_t *b = encoded(a, &n);
    /* another time zone: its candles align otherwise, so it starts afresh */
    fx_t *g = same_book(a, 8, 3600);
    size_t n0;
    uint8_t *before = encoded(g, &n0);
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 0);
    assert_state_still(g, before, n0);
    fx_free(g);
    /* a smaller tape keeps the newest trades */
    g = same_book(a, 3, 0);
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 1);
    xt_md_trade_t ta[8], tg[8];
    uint32_t k = xt_md_trades(inst1(a), ta, 8);
    assert_int_equal(xt_md_trades(inst1(g), tg, 8), 3);
    assert_memory_equal(ta + k - 3, tg, 3 * sizeof *tg);
    trade_at(g, S(WED_2024_01_03 + 23 * HOUR), 100, 1); /* the ring goes on from there */
    assert_int_equal(xt_md_trades(inst1(g), tg, 8), 3);
    assert_int_equal(tg[2].price, 100);
    assert_memory_equal(ta + k - 2, tg, 2 * sizeof *tg);
    fx_free(g);
    /* a larger tape: all of them, and the next goes after them */
    g = same_book(a, 16, 0);
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 1);
    trade_at(g, S(WED_2024_01_03 + 23 * HOUR), 100, 1);
    xt_md_trade_t t16[16];
    assert_int_equal(xt_md_trades(inst1(g), t16, 16), k + 1);
    assert_memory_equal(ta, t16, k * sizeof *ta);
    assert_int_equal(t16[k].price, 100);
    fx_free(g);
    /* an instrument the md does not have is skipped */
    g = fx_new(16, 8, 0, 100);
    assert_int_equal(xt_md_add_instrument(&g->md, 2, "ETH-USDT", 50, 0), 0);
    b[4] = 2; /* the record's id: 2, whose symbol differs */
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 0);
    fx_free(g);
    free(b);
    fx_free(a);
}

static void test_bad_bytes_change_nothing(void **state)
{
    (void)state;
    fx_t *a = fx_new(16, 8, 0, 100);
    assert_int_equal(xt_md_add_instrument(&a->md, 2, "ETH-USDT", 50, 0), 0);
    trade_a_day(a, S(WED_2024_01_03 + 9 * HOUR), 20);
    size_t n;
    uint8_t *b = encoded(a, &n);
    fx_t *g = same_book(a, 8, 0);
    assert_int_equal(xt_md_add_instrument(&g->md, 2, "ETH-USDT", 50, 0), 0);
    size_t n0;
    uint8_t *before = encoded(g, &n0);
    /* the second record spoilt: the first, good, is not applied either */
    size_t second = 4 + 896 + 8 + (size_t)(xt_get32(b + 4 + 896) + xt_get32(b + 4 + 900)) * 40;
    assert_true(xt_get32(b + second + 896) > 0 && second + 904 + 40 <= n); /* ETH started: a point to spoil */
    static const struct {
        size_t at;
        uint8_t v;
    } spoil[] = {{4 + 40, 2},             /* started 2 */
                 {4 + 48 + 7, 0x80},      /* time negative */
                 {4 + 64 + 48 + 7, 0x80}, /* the ticker's volume negative */
                 {4 + 896, 0xff},         /* 255 more timeline minutes than there are */
                 {4 + 56, 1},             /* the day starts off local midnight */
                 {4 + 904, 1}};           /* a timeline point off the minute */
    for (size_t k = 0; k < sizeof spoil / sizeof spoil[0]; k++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        c[second + spoil[k].at - 4] ^= spoil[k].v;
        assert_int_equal(xt_md_state_decode(&g->md, c, n), XT_ECORRUPT);
        free(c);
    }
    assert_int_equal(xt_md_state_decode(&g->md, b, n - 1), XT_ECORRUPT); /* cut */
    uint8_t *longer = calloc(1, n + 1);
    memcpy(longer, b, n);
    assert_int_equal(xt_md_state_decode(&g->md, longer, n + 1), XT_ECORRUPT); /* a byte too many */
    free(longer);
    assert_state_still(g, before, n0);
    assert_int_equal(xt_md_state_decode(&g->md, b, n), 2);
    free(b);
    fx_free(a);
    fx_free(g);
}

/* n trades on instrument inst at ts, one command. */
static void trades_on(fx_t *f, uint32_t inst, int64_t ts, int n)
{
    xt_event_t ev[64];
    for (int i = 0; i < n && i < 64; i++) {
        ev[i] = tr(f, i % 2 ? XT_BUY : XT_SELL, 95 + (int64_t)(next_rand() % 11), 1 + (int64_t)(next_rand() % 5));
        ev[i].instrument = inst;
    }
    cmd(f, ts, ev, (uint32_t)(n < 64 ? n : 64));
}

/* Minutes of trading from ts on instruments 1..3 (2 and 3 less), with
 * advances: tapes wrap, minutes close. Returns the time after. */
static int64_t trade_minutes(fx_t *f, int64_t ts, int minutes, int per_minute)
{
    for (int m = 0; m < minutes; m++, ts += MIN) {
        trades_on(f, 1, ts, per_minute);
        trades_on(f, 2, ts + S(1), per_minute / 4 + 1);
        if (m % 3 == 0)
            trades_on(f, 3, ts + S(2), 2);
        xt_md_advance(&f->md, ts + S(30));
    }
    return ts;
}

static uint8_t *begun(fx_t *f, size_t *n, uint8_t **want)
{
    *want = encoded(f, n);
    uint8_t *got = malloc(*n);
    assert_non_null(got);
    memset(got, 0xee, *n);
    assert_int_equal(xt_md_ckpt_begin(&f->md, got, *n - 1), 0); /* too small: nothing begun */
    assert_int_equal(xt_md_ckpt_begin(&f->md, got, *n), *n);
    return got;
}

static void assert_checkpoint(fx_t *f, uint8_t *got, uint8_t *want, size_t n)
{
    xt_md_ckpt_end(&f->md);
    assert_memory_equal(got, want, n);
    size_t k;
    uint8_t *now = encoded(f, &k); /* md itself went on */
    assert_true(k != n || memcmp(now, want, n) != 0);
    free(now);
    free(want);
    free(got);
}

static void *run_checkpoint(void *md)
{
    xt_md_ckpt_run(md);
    return NULL;
}

/* A checkpoint gives the bytes xt_md_state_encode gave at its beginning
 * while the md goes on: trades into every tape chunk (a tape of three
 * chunks that wraps, one part full), minutes closing and opening, an
 * instrument's first time, one added after the beginning, a new day that
 * starts its timeline over; then the same with the checkpoint on another
 * thread. */
static void test_checkpoint_while_trading(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 2 * XT_MD_CKPT_CHUNK + 176, 8 * 3600, 100);
    assert_int_equal(xt_md_add_instrument(&f->md, 2, "ETH-USDT", 100, 0), 0);
    assert_int_equal(xt_md_add_instrument(&f->md, 3, "600519.SH", 100, 8 * 3600), 0);
    int64_t ts = trade_minutes(f, AT_10H, 40, 40); /* instrument 1's tape wraps, 2's does not */
    size_t n;
    uint8_t *want, *got = begun(f, &n, &want);
    ts = trade_minutes(f, ts, 3, 50); /* the owner writes first */
    assert_int_equal(xt_md_add_instrument(&f->md, 4, "BNB-USDT", 100, 0), 0);
    trades_on(f, 4, ts, 3);
    xt_md_ckpt_run(&f->md);
    assert_checkpoint(f, got, want, n);

    got = begun(f, &n, &want);
    ts = trade_minutes(f, ts + S(86400), 2, 10); /* the next day: timelines start over */
    xt_md_ckpt_run(&f->md);
    assert_checkpoint(f, got, want, n);

    for (int round = 0; round < 10; round++) {
        got = begun(f, &n, &want);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, run_checkpoint, &f->md), 0);
        ts = trade_minutes(f, ts, 30, 60);
        pthread_join(th, NULL);
        assert_checkpoint(f, got, want, n);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaded_state_goes_on_the_same),
        cmocka_unit_test(test_changed_instruments_and_smaller_tapes),
        cmocka_unit_test(test_bad_bytes_change_nothing),
        cmocka_unit_test(test_checkpoint_while_trading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
