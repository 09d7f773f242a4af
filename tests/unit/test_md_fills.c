/* test_md_fills.c - the fills kept for GET /api/v1/fills
 * (src/server/md_fills.c): a trade's two fills (a self-trade's too), the
 * ring of each account, the queries (newest, from_id, symbol, limit), the
 * least recently updated account giving up its place (the index stays
 * right after many evictions), the table as bytes (also written by
 * another thread while fills are added: a checkpoint), and the JSON
 * answer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/md_fills.h"
#include "xt/decimal.h"
#include "xt/error.h"

static xt_event_t trade(uint64_t id, uint32_t taker, uint32_t maker, int side, uint32_t inst)
{
    xt_event_t e = {.type = XT_EV_TRADE,
                    .side = (uint8_t)side,
                    .instrument = inst,
                    .account = taker,
                    .order_id = (int64_t)id * 10,
                    .price = 100000,
                    .qty = 10};
    e.u.trade.trade_id = id;
    e.u.trade.maker_id = (int64_t)id * 10 + 1;
    e.u.trade.maker_account = maker;
    return e;
}

static void two_fills(void **state)
{
    (void)state;
    xt_fills_t f;
    xt_fill_t out[8 + 1]; /* a query fills up to limit + 1 */
    assert_int_equal(xt_fills_init(&f, 4, 4), 0);
    xt_event_t e = trade(7, 1001, 1002, XT_BUY, 2);
    xt_fills_on_trade(&f, &e, 555);
    e.type = XT_EV_BOOK; /* ignored */
    xt_fills_on_trade(&f, &e, 556);
    assert_int_equal(xt_fills_query(&f, 1001, UINT32_MAX, 0, 8, out), 1);
    assert_true(out[0].trade_id == 7 && out[0].order_id == 70 && out[0].side == XT_BUY &&
                out[0].liquidity == XT_FILL_TAKER && out[0].ts == 555 && out[0].instrument == 2 &&
                out[0].price == 100000 && out[0].qty == 10);
    assert_int_equal(xt_fills_query(&f, 1002, UINT32_MAX, 0, 8, out), 1);
    assert_true(out[0].trade_id == 7 && out[0].order_id == 71 && out[0].side == XT_SELL &&
                out[0].liquidity == XT_FILL_MAKER);
    assert_int_equal(xt_fills_query(&f, 1003, UINT32_MAX, 0, 8, out), 0);
    e = trade(8, 1003, 1003, XT_SELL, 2); /* a self-trade */
    xt_fills_on_trade(&f, &e, 557);
    assert_int_equal(xt_fills_query(&f, 1003, UINT32_MAX, 0, 8, out), 2);
    assert_true(out[0].liquidity == XT_FILL_TAKER && out[0].side == XT_SELL);
    assert_true(out[1].liquidity == XT_FILL_MAKER && out[1].side == XT_BUY);
    xt_fills_destroy(&f);
    xt_fills_destroy(&f);
    assert_int_equal(xt_fills_init(&f, 0, 4), XT_EINVAL);
    assert_int_equal(xt_fills_init(&f, 4, 0), XT_EINVAL);
}

static void ring_and_queries(void **state)
{
    (void)state;
    xt_fills_t f;
    xt_fill_t out[16 + 1]; /* a query fills up to limit + 1 */
    assert_int_equal(xt_fills_init(&f, 2, 5), 0);
    for (uint64_t id = 1; id <= 8; id++) { /* instruments 0, 1, 0, 1, ... */
        xt_event_t e = trade(id, 1, 2, XT_BUY, (uint32_t)(id % 2 == 0));
        xt_fills_on_trade(&f, &e, (int64_t)id);
    }
    /* the newest 5 kept: 4..8, oldest first */
    uint32_t n = xt_fills_query(&f, 1, UINT32_MAX, 0, 16, out);
    assert_int_equal(n, 5);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(out[i].trade_id, 4 + i);
    n = xt_fills_query(&f, 1, UINT32_MAX, 0, 2, out); /* the newest 2 */
    assert_int_equal(n, 2);
    assert_int_equal(out[0].trade_id, 7);
    assert_int_equal(out[1].trade_id, 8);
    n = xt_fills_query(&f, 1, 0, 0, 16, out); /* instrument 0: the odd ids */
    assert_int_equal(n, 2);
    assert_int_equal(out[0].trade_id, 5);
    assert_int_equal(out[1].trade_id, 7);
    n = xt_fills_query(&f, 1, UINT32_MAX, 6, 2, out); /* from 6, the first 2 */
    assert_int_equal(n, 2);
    assert_int_equal(out[0].trade_id, 6);
    assert_int_equal(out[1].trade_id, 7);
    n = xt_fills_query(&f, 1, 1, 5, 16, out);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].trade_id, 6);
    assert_int_equal(out[1].trade_id, 8);
    assert_int_equal(xt_fills_query(&f, 1, UINT32_MAX, 9, 16, out), 0);
    xt_fills_destroy(&f);
}

/* A self-trade's two fills share a trade id: a page never parts them, or
 * paging on from the last trade id + 1 (docs/rest.md) skipped the second
 * (found by a probe). Trades 1, 2 (a self-trade of account 1), 3. */
static void self_trade_pairs_stay_on_one_page(void **state)
{
    (void)state;
    xt_fills_t f;
    xt_fill_t out[3 + 1];
    assert_int_equal(xt_fills_init(&f, 4, 8), 0);
    xt_event_t e = trade(1, 1, 2, XT_BUY, 0);
    xt_fills_on_trade(&f, &e, 1);
    e = trade(2, 1, 1, XT_BUY, 0);
    xt_fills_on_trade(&f, &e, 2);
    e = trade(3, 1, 2, XT_BUY, 0);
    xt_fills_on_trade(&f, &e, 3);
    /* paging forward one at a time: every fill once */
    uint64_t seen[8], from = 1;
    size_t n_seen = 0;
    for (int pages = 0; pages < 8; pages++) {
        uint32_t n = xt_fills_query(&f, 1, UINT32_MAX, from, 1, out);
        if (n == 0)
            break;
        assert_true(n <= 2);
        for (uint32_t i = 0; i < n; i++)
            seen[n_seen++] = out[i].trade_id;
        from = out[n - 1].trade_id + 1;
    }
    assert_int_equal(n_seen, 4);
    assert_true(seen[0] == 1 && seen[1] == 2 && seen[2] == 2 && seen[3] == 3);
    /* from 2, limit 1: both halves */
    assert_int_equal(xt_fills_query(&f, 1, UINT32_MAX, 2, 1, out), 2);
    assert_true(out[0].liquidity == XT_FILL_TAKER && out[1].liquidity == XT_FILL_MAKER && out[1].trade_id == 2);
    /* the newest 2 end at trade 3; their oldest is half of trade 2: its other half comes too */
    assert_int_equal(xt_fills_query(&f, 1, UINT32_MAX, 0, 2, out), 3);
    assert_true(out[0].trade_id == 2 && out[1].trade_id == 2 && out[2].trade_id == 3);
    assert_int_equal(xt_fills_query(&f, 1, UINT32_MAX, 0, 1, out), 1); /* trade 3 alone: nothing to pair */
    assert_int_equal(out[0].trade_id, 3);
    assert_int_equal(xt_fills_query(&f, 1, UINT32_MAX, 0, 3, out), 3); /* a pair whole inside: limit */
    assert_int_equal(out[0].trade_id, 2);
    xt_fills_destroy(&f);
}

static void eviction(void **state)
{
    (void)state;
    xt_fills_t f;
    xt_fill_t out[4 + 1]; /* a query fills up to limit + 1 */
    assert_int_equal(xt_fills_init(&f, 3, 2), 0);
    xt_fill_t x = {.trade_id = 1, .instrument = 0};
    xt_fills_add(&f, 10, &x);
    xt_fills_add(&f, 11, &x);
    xt_fills_add(&f, 12, &x);
    xt_fills_add(&f, 10, &x); /* 11 is now the least recently updated */
    xt_fills_add(&f, 13, &x);
    assert_int_equal(f.evictions, 1);
    assert_int_equal(xt_fills_query(&f, 11, UINT32_MAX, 0, 4, out), 0);
    assert_int_equal(xt_fills_query(&f, 10, UINT32_MAX, 0, 4, out), 2);
    assert_int_equal(xt_fills_query(&f, 12, UINT32_MAX, 0, 4, out), 1);
    assert_int_equal(xt_fills_query(&f, 13, UINT32_MAX, 0, 4, out), 1);
    xt_fills_destroy(&f);
    /* many accounts through a small table: the index finds every one kept */
    assert_int_equal(xt_fills_init(&f, 64, 1), 0);
    for (uint32_t a = 1; a <= 100000; a++) {
        x.trade_id = a;
        xt_fills_add(&f, a * 7919u, &x);
        if (a % 997 == 0)
            for (uint32_t b = a - 63; b <= a; b++) {
                assert_int_equal(xt_fills_query(&f, b * 7919u, UINT32_MAX, 0, 4, out), 1);
                assert_int_equal(out[0].trade_id, b);
            }
    }
    assert_int_equal(f.evictions, 100000 - 64);
    assert_int_equal(xt_fills_query(&f, 7919u * 1, UINT32_MAX, 0, 4, out), 0);
    xt_fills_destroy(&f);
}

/* Every fill of accounts 1..n_acc in a and b is the same. */
static void same_tables(const xt_fills_t *a, const xt_fills_t *b, uint32_t n_acc)
{
    xt_fill_t x[16 + 1], y[16 + 1]; /* a query fills up to limit + 1 */
    for (uint32_t acc = 1; acc <= n_acc; acc++) {
        uint32_t n = xt_fills_query(a, acc, UINT32_MAX, 0, 16, x);
        assert_int_equal(xt_fills_query(b, acc, UINT32_MAX, 0, 16, y), n);
        assert_memory_equal(x, y, n * sizeof *x);
    }
}

static uint8_t *state_of(const xt_fills_t *f, size_t *n)
{
    *n = xt_fills_state_size(f);
    assert_true(*n <= xt_fills_state_max_size(f));
    uint8_t *b = malloc(*n);
    assert_non_null(b);
    xt_fills_state_encode(f, b);
    return b;
}

/* The table as bytes (md-state's fills): loaded into a table of the same
 * capacities it is the same, down to which account gives up its place
 * next; into smaller ones its newest part; bytes that do not check are
 * refused whole. */
static void state_round_trip(void **state)
{
    (void)state;
    xt_fills_t f, g, h;
    assert_int_equal(xt_fills_init(&f, 4, 3), 0);
    for (uint64_t id = 1; id <= 40; id++) { /* 6 accounts through 4 places, rings wrapping */
        xt_event_t e = trade(id, 1 + (uint32_t)(id * 5 % 6), 1 + (uint32_t)(id * 7 % 6), (int)(id % 2), 1);
        xt_fills_on_trade(&f, &e, (int64_t)id * 1000);
    }
    size_t n, used = 0;
    uint8_t *b = state_of(&f, &n);
    assert_int_equal(xt_fills_state_check(b, n, &used), (int64_t)(n - 4) / XT_FILL_STATE_REC);
    assert_int_equal(used, n);
    assert_int_equal(xt_fills_init(&g, 4, 3), 0);
    xt_fills_state_load(&g, b, (uint32_t)((n - 4) / XT_FILL_STATE_REC));
    same_tables(&f, &g, 6);
    size_t n2;
    uint8_t *b2 = state_of(&g, &n2); /* the same bytes again: the recency order too */
    assert_int_equal(n2, n);
    assert_memory_equal(b, b2, n);
    free(b2);
    xt_fill_t x = {.trade_id = 99, .price = 1, .qty = 1};
    xt_fills_add(&f, 77, &x); /* both give up the same account's place */
    xt_fills_add(&g, 77, &x);
    same_tables(&f, &g, 6);
    /* smaller: two places of two fills keep the two most recent accounts' newest two */
    assert_int_equal(xt_fills_init(&h, 2, 2), 0);
    xt_fills_state_load(&h, b, (uint32_t)((n - 4) / XT_FILL_STATE_REC));
    xt_fill_t y[4 + 1], z[4 + 1]; /* a query fills up to limit + 1 */
    uint32_t kept = 0;
    for (uint32_t acc = 1; acc <= 6; acc++) {
        uint32_t k = xt_fills_query(&h, acc, UINT32_MAX, 0, 4, y);
        if (k == 0)
            continue;
        kept++;
        assert_int_equal(k, 2);
        uint32_t all = xt_fills_query(&g, acc, UINT32_MAX, 0, 4, z);
        assert_memory_equal(y, z + all - 2, 2 * sizeof *y);
    }
    assert_int_equal(kept, 2);
    /* refused: a count past the bytes, a side of 2, a price of 0, padding not zero, a time past 2^62 */
    static const struct {
        size_t at;
        uint8_t v;
    } spoil[] = {{3, 0x7f}, {4 + 48, 2}, {4 + 49, 2}, {4 + 24, 0}, {4 + 55, 1}, {4 + 47, 0x50}};
    for (size_t i = 0; i < sizeof spoil / sizeof spoil[0]; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        if (spoil[i].at == 4 + 24)
            memset(c + 4 + 24, 0, 8);
        else
            c[spoil[i].at] = spoil[i].v;
        assert_int_equal(xt_fills_state_check(c, n, &used), XT_ECORRUPT);
        free(c);
    }
    assert_int_equal(xt_fills_state_check(b, 3, &used), XT_ECORRUPT);
    assert_int_equal(xt_fills_state_check(b, n - 1, &used), XT_ECORRUPT);
    free(b);
    xt_fills_destroy(&f);
    xt_fills_destroy(&g);
    xt_fills_destroy(&h);
}

/* Fills of trade ids from..to-1 among n_acc accounts (ids spread them). */
static void add_trades(xt_fills_t *f, uint64_t from, uint64_t to, uint32_t n_acc)
{
    for (uint64_t id = from; id < to; id++) {
        xt_event_t e = trade(id, 1 + (uint32_t)(id * 5 % n_acc), 1 + (uint32_t)(id * 7 % n_acc), (int)(id % 2), 1);
        xt_fills_on_trade(f, &e, (int64_t)id * 1000);
    }
}

/* A checkpoint gives the bytes xt_fills_state_encode gave at its
 * beginning, however the table changed meanwhile: chunks the owner wrote
 * to first (rings that wrap, accounts giving up their place, places made
 * after the beginning) and chunks left to xt_fills_ckpt_run; and again
 * after it ended. With rings of one chunk and of several (the last one
 * part full, the oldest fill anywhere in the ring). */
static void checkpoint_in(uint32_t places, uint32_t per, uint64_t before, uint64_t during)
{
    xt_fills_t f;
    assert_int_equal(xt_fills_init(&f, places, per), 0);
    add_trades(&f, 1, 1 + before, places - 3); /* some places left */
    for (uint64_t round = 0, id = 1 + before; round < 3; round++) {
        size_t n;
        uint8_t *want = state_of(&f, &n), *got = malloc(n);
        assert_non_null(got);
        memset(got, 0xee, n);
        assert_int_equal(xt_fills_ckpt_begin(&f, got), n);
        add_trades(&f, id, id + 3, places - 3);          /* a few places first */
        add_trades(&f, id + 3, id + during, places + 3); /* new accounts, evictions */
        id += during;
        xt_fills_ckpt_run(&f);
        xt_fills_ckpt_end(&f);
        assert_memory_equal(got, want, n);
        size_t n2;
        uint8_t *now = state_of(&f, &n2); /* the table itself went on */
        assert_true(n2 != n || memcmp(now, want, n) != 0);
        free(now);
        free(want);
        free(got);
    }
    xt_fills_destroy(&f);
}

static void checkpoint_while_adding(void **state)
{
    (void)state;
    checkpoint_in(8, 5, 6, 40);                                  /* rings within one chunk */
    checkpoint_in(8, 2 * XT_FILLS_CKPT_CHUNK + 100, 9000, 2500); /* three chunks, full rings wrapped */
    checkpoint_in(8, 2 * XT_FILLS_CKPT_CHUNK + 100, 1500, 700);  /* rings not full */
}

typedef struct {
    xt_fills_t *f;
} runner_t;

static void *run_checkpoint(void *arg)
{
    xt_fills_ckpt_run(((runner_t *)arg)->f);
    return NULL;
}

/* The same with the checkpoint run by another thread while this one adds
 * fills to every account as fast as it can (the two race for places). */
static void checkpoint_on_another_thread(void **state)
{
    (void)state;
    xt_fills_t f;
    assert_int_equal(xt_fills_init(&f, 64, XT_FILLS_CKPT_CHUNK + 200), 0);
    add_trades(&f, 1, 30000, 60);
    for (int round = 0; round < 20; round++) {
        size_t n;
        uint8_t *want = state_of(&f, &n), *got = malloc(n);
        assert_non_null(got);
        xt_fills_ckpt_begin(&f, got);
        pthread_t th;
        runner_t r = {&f};
        assert_int_equal(pthread_create(&th, NULL, run_checkpoint, &r), 0);
        uint64_t from = 100000 + (uint64_t)round * 5000;
        add_trades(&f, from, from + 5000, 70);
        pthread_join(th, NULL);
        xt_fills_ckpt_end(&f);
        assert_memory_equal(got, want, n);
        free(want);
        free(got);
    }
    xt_fills_destroy(&f);
}

static const xt_md_sym_t *sym_of(void *ctx, uint32_t instrument)
{
    const xt_md_sym_t *syms = ctx;
    return instrument < 2 ? &syms[instrument] : NULL;
}

static void encode(void **state)
{
    (void)state;
    xt_md_sym_t syms[2] = {{"BTC-USDT", "", {1, 2}, {1, 4}}, {"600519.SH", "", {1, 2}, {100, 0}}};
    xt_fill_t v[3] = {{5, 50, 100000, 10, 123, 0, XT_BUY, XT_FILL_TAKER},
                      {6, 61, 170001, 3, 124, 1, XT_SELL, XT_FILL_MAKER},
                      {7, 70, 1, 1, 125, 9, XT_BUY, XT_FILL_MAKER}};
    char out[1024];
    size_t n = xt_fills_encode(out, sizeof out, v, 3, sym_of, syms);
    assert_true(n > 0);
    assert_string_equal(out, "{\"data\":[{\"trade_id\":5,\"order_id\":50,\"symbol\":\"BTC-USDT\",\"side\":\"buy\","
                             "\"liquidity\":\"taker\",\"price\":\"1000.00\",\"qty\":\"0.0010\",\"ts\":123},"
                             "{\"trade_id\":6,\"order_id\":61,\"symbol\":\"600519.SH\",\"side\":\"sell\","
                             "\"liquidity\":\"maker\",\"price\":\"1700.01\",\"qty\":\"300\",\"ts\":124}]}");
    assert_int_equal(n, strlen(out));
    assert_int_equal(xt_fills_encode(out, 9, NULL, 0, sym_of, syms), 0);
    n = xt_fills_encode(out, sizeof out, NULL, 0, sym_of, syms);
    assert_string_equal(out, "{\"data\":[]}");
    size_t two = xt_fills_encode(out, sizeof out, v, 2, sym_of, syms);
    for (size_t cap = 0; cap < two + 8; cap++) /* too small: 0, never a cut answer */
        assert_int_equal(xt_fills_encode(out, cap, v, 2, sym_of, syms), cap > two ? two : 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_fills),
        cmocka_unit_test(ring_and_queries),
        cmocka_unit_test(self_trade_pairs_stay_on_one_page),
        cmocka_unit_test(eviction),
        cmocka_unit_test(state_round_trip),
        cmocka_unit_test(checkpoint_while_adding),
        cmocka_unit_test(checkpoint_on_another_thread),
        cmocka_unit_test(encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
