/* test_engine_api.c - the library API: event fields, malformed commands,
 * instrument definitions, queries and iterators, the state hash, the
 * invariant checker, capacities and statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "xt/xt.h"

#define MAX_EV 256

typedef struct rec {
    xt_event_t ev[MAX_EV];
    int n;
    uint64_t seq[MAX_EV]; /* from each event's batch */
    int64_t ts[MAX_EV];
    uint8_t cmd[MAX_EV];
    int batches, lasts;
} rec_t;

static void record(void *ctx, const xt_event_batch_t *b)
{
    rec_t *r = ctx;
    r->batches++;
    r->lasts += b->last;
    for (uint32_t i = 0; i < b->n; i++) {
        assert_true(r->n < MAX_EV);
        r->seq[r->n] = b->seq;
        r->ts[r->n] = b->ts;
        r->cmd[r->n] = b->cmd_type;
        r->ev[r->n++] = b->events[i];
    }
}

static void nosink(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static xt_decimal_t dec(int64_t m, uint8_t scale)
{
    return (xt_decimal_t){m, scale};
}

static xt_cmd_t instrument(uint64_t seq, const char *sym)
{
    xt_cmd_t c = {.type = XT_CMD_INSTRUMENT, .seq = seq};
    strcpy(c.u.instrument.symbol, sym);
    c.u.instrument.tick = dec(1, 2);
    c.u.instrument.lot = dec(1, 0);
    return c;
}

static xt_cmd_t new_order(uint64_t seq, int64_t id, uint32_t acct, int side, int64_t price, int64_t qty)
{
    xt_cmd_t c = {.type = XT_CMD_NEW, .seq = seq, .ts = (int64_t)seq * 10};
    c.u.new_order = (xt_order_new_t){.id = id,
                                     .account = acct,
                                     .instrument = 0,
                                     .side = (uint8_t)side,
                                     .type = XT_LIMIT,
                                     .price = price,
                                     .qty = qty};
    return c;
}

static xt_cmd_t cancel(uint64_t seq, int64_t id, uint32_t acct)
{
    xt_cmd_t c = {.type = XT_CMD_CANCEL, .seq = seq};
    c.u.cancel.id = id;
    c.u.cancel.account = acct;
    return c;
}

static xt_cmd_t amend(uint64_t seq, int64_t id, uint32_t acct, int64_t price, int64_t qty)
{
    xt_cmd_t c = {.type = XT_CMD_AMEND, .seq = seq};
    c.u.amend = (xt_order_amend_t){id, acct, price, qty};
    return c;
}

static void apply_ok(xt_engine_t *e, xt_cmd_t c)
{
    assert_int_equal(xt_engine_apply(e, &c), 0);
}

static void events_carry_what_clients_need(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].type, XT_EV_INSTRUMENT);
    assert_int_equal(r.ev[0].instrument, 0);
    assert_true(r.ev[0].price == XT_PRICE_NONE); /* no band: no ref */
    assert_int_equal(r.ev[0].qty, 0);            /* and no limits */
    assert_int_equal(r.ev[0].remaining, 0);

    r.n = 0;
    apply_ok(&e, new_order(2, 10, 7, XT_SELL, 1000, 5));
    assert_int_equal(r.n, 2);
    xt_event_t *a = &r.ev[0], *b = &r.ev[1];
    assert_int_equal(a->type, XT_EV_ACCEPTED);
    assert_int_equal(r.cmd[0], XT_CMD_NEW);
    assert_int_equal(r.seq[0], 2);
    assert_int_equal(r.ts[0], 20);
    assert_int_equal(a->order_id, 10);
    assert_int_equal(a->account, 7);
    assert_int_equal(a->side, XT_SELL);
    assert_int_equal(a->ord_type, XT_LIMIT);
    assert_int_equal(a->tif, XT_GTC);    /* resolved */
    assert_int_equal(a->stp, XT_STP_CN); /* resolved */
    assert_int_equal(a->price, 1000);
    assert_int_equal(a->qty, 5);
    assert_int_equal(b->type, XT_EV_BOOK);
    assert_int_equal(b->side, XT_SELL);
    assert_int_equal(b->price, 1000);
    assert_int_equal(b->qty, 5);
    assert_int_equal(b->u.level.orders, 1);

    r.n = 0;
    apply_ok(&e, new_order(3, 11, 8, XT_BUY, 1001, 3));
    assert_int_equal(r.n, 3); /* ACCEPTED, TRADE, BOOK */
    xt_event_t *t = &r.ev[1];
    assert_int_equal(t->type, XT_EV_TRADE);
    assert_int_equal(t->u.trade.trade_id, 1);
    assert_int_equal(t->order_id, 11);
    assert_int_equal(t->account, 8);
    assert_int_equal(t->side, XT_BUY);
    assert_int_equal(t->price, 1000); /* the maker's price */
    assert_int_equal(t->qty, 3);
    assert_int_equal(t->remaining, 0);
    assert_int_equal(t->u.trade.maker_id, 10);
    assert_int_equal(t->u.trade.maker_account, 7);
    assert_int_equal(t->u.trade.maker_remaining, 2);
    assert_int_equal(r.ev[2].type, XT_EV_BOOK);
    assert_int_equal(r.ev[2].qty, 2);

    r.n = 0;
    apply_ok(&e, amend(4, 10, 7, 1000, 1));
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[0].type, XT_EV_AMENDED);
    assert_true(r.ev[0].flags & XT_EVF_PRIORITY_KEPT);
    assert_int_equal(r.ev[0].u.amend.old_price, 1000);
    assert_int_equal(r.ev[0].u.amend.old_qty, 2);
    assert_int_equal(r.ev[0].qty, 1);
    assert_int_equal(r.ev[1].qty, 1);

    r.n = 0;
    apply_ok(&e, amend(5, 10, 7, 1002, 4));
    assert_int_equal(r.ev[0].type, XT_EV_AMENDED);
    assert_false(r.ev[0].flags & XT_EVF_PRIORITY_KEPT);
    assert_int_equal(r.ev[1].type, XT_EV_BOOK); /* old level gone */
    assert_int_equal(r.ev[1].price, 1000);
    assert_int_equal(r.ev[1].qty, 0);
    assert_int_equal(r.ev[2].type, XT_EV_BOOK); /* new level */
    assert_int_equal(r.ev[2].price, 1002);
    assert_int_equal(r.ev[2].qty, 4);

    xt_order_info_t oi;
    assert_int_equal(xt_engine_order(&e, 10, &oi), 0);
    assert_int_equal(oi.filled, 3);
    assert_int_equal(oi.qty, 4);
    assert_int_equal(oi.seq, 5);

    r.n = 0;
    apply_ok(&e, cancel(6, 10, 7));
    assert_int_equal(r.ev[0].type, XT_EV_CANCELED);
    assert_int_equal(r.ev[0].reason, XT_R_USER);
    assert_int_equal(r.ev[0].qty, 4);
    assert_int_equal(r.ev[0].price, 1002);
    assert_int_equal(r.ev[0].instrument, 0);

    r.n = 0;
    apply_ok(&e, cancel(7, 10, 7));
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].type, XT_EV_REJECTED);
    assert_int_equal(r.ev[0].reason, XT_R_UNKNOWN_ORDER);
    assert_int_equal(r.cmd[0], XT_CMD_CANCEL);
    xt_engine_destroy(&e);
}

/* The rules revision: the first refuses an amend below min however much the
 * order filled (a journal written under it replays so); the current one
 * counts the fills. Unknown revisions are refused. */
static void rules_revisions(void **state)
{
    (void)state;
    xt_engine_config_t cfg = {.rules = XT_RULES_CURRENT + 1};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), XT_EINVAL);
    cfg.rules = XT_RULES_1;
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), 0);
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    assert_int_equal(st.cfg.rules, XT_RULES_1);
    xt_cmd_t in = instrument(1, "M");
    in.u.instrument.min_qty = dec(3, 0);
    in.u.instrument.flags = XT_DEF_MIN;
    apply_ok(&e, in);
    apply_ok(&e, new_order(2, 1, 1, XT_SELL, 1000, 5));
    apply_ok(&e, new_order(3, 2, 2, XT_BUY, 1000, 3)); /* 2 of order 1 left */
    apply_ok(&e, amend(4, 1, 1, 1001, 2));
    xt_order_info_t o;
    assert_int_equal(xt_engine_order(&e, 1, &o), 0);
    assert_int_equal(o.price, 1000); /* refused */
    assert_int_equal(xt_engine_set_rules(&e, XT_RULES_CURRENT + 1), XT_EINVAL);
    assert_int_equal(xt_engine_set_rules(&e, 0), 0);
    xt_engine_stats(&e, &st);
    assert_int_equal(st.cfg.rules, XT_RULES_CURRENT);
    apply_ok(&e, amend(5, 1, 1, 1001, 2));
    assert_int_equal(xt_engine_order(&e, 1, &o), 0);
    assert_int_equal(o.price, 1001); /* taken: 3 filled + 2 */
    xt_engine_destroy(&e);
    xt_engine_config_default(&cfg);
    assert_int_equal(cfg.rules, XT_RULES_CURRENT);
}

static void malformed_commands_change_nothing(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    uint64_t h = xt_engine_state_hash(&e);
    r.n = 0;
    xt_cmd_t bad[] = {
        new_order(2, 0, 1, XT_BUY, 100, 1),
        new_order(2, -5, 1, XT_BUY, 100, 1),
        new_order(2, 1, 0, XT_BUY, 100, 1),
        new_order(2, 1, 1, 2, 100, 1),
        cancel(2, 0, 1),
        cancel(2, 1, 0),
        amend(2, -1, 1, 100, 1),
        amend(2, 1, 0, 100, 1),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(xt_engine_apply(&e, &bad[i]), XT_EINVAL);
    xt_cmd_t c = new_order(2, 1, 1, XT_BUY, 100, 1);
    c.u.new_order.type = 2;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = new_order(2, 1, 1, XT_BUY, 100, 1);
    c.u.new_order.tif = 5;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c.u.new_order.tif = 0;
    c.u.new_order.stp = 5;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c.type = 99;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    /* sequence numbers must increase */
    c = new_order(1, 1, 1, XT_BUY, 100, 1);
    assert_int_equal(xt_engine_apply(&e, &c), XT_ESEQ);
    c.seq = 0;
    assert_int_equal(xt_engine_apply(&e, &c), XT_ESEQ);
    assert_int_equal(r.n, 0);
    assert_int_equal(xt_engine_state_hash(&e), h);
    /* none consumed sequence 2 */
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 100, 1));
    /* gaps are fine */
    apply_ok(&e, new_order(1000, 2, 1, XT_BUY, 100, 1));
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    assert_int_equal(st.last_seq, 1000);
    xt_engine_destroy(&e);
}

static void instrument_definitions(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    xt_engine_config_t cfg = {.max_instruments = 2};
    assert_int_equal(xt_engine_init(&e, &cfg, record, &r), 0);
    xt_cmd_t c = instrument(1, "bad sym");
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = instrument(1, "");
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = instrument(1, "T");
    c.u.instrument.tick = dec(0, 0);
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = instrument(1, "T");
    c.u.instrument.lot = dec(-1, 0);
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = instrument(1, "T");
    c.u.instrument.flags = XT_DEF_MIN | XT_DEF_MAX;
    c.u.instrument.min_qty = dec(5, 0);
    c.u.instrument.max_qty = dec(4, 0);
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c.u.instrument.flags = 0x80;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    c = instrument(1, "T");
    c.u.instrument.flags = XT_DEF_BAND;
    c.u.instrument.ref_price = dec(0, 0);
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    assert_int_equal(r.n, 0);

    c = instrument(1, "600519.SH");
    c.u.instrument.lot = dec(100, 0);
    c.u.instrument.flags = XT_DEF_BAND | XT_DEF_MAX;
    c.u.instrument.ref_price = dec(1003, 2);
    c.u.instrument.band_pct = dec(10, 0);
    c.u.instrument.max_qty = dec(1000000, 0);
    apply_ok(&e, c);
    c = instrument(2, "600519.SH");
    assert_int_equal(xt_engine_apply(&e, &c), XT_EEXIST);
    apply_ok(&e, instrument(2, "BTC-USDT"));
    c = instrument(3, "ETH-USDT");
    assert_int_equal(xt_engine_apply(&e, &c), XT_ECAPACITY);

    assert_int_equal(xt_engine_instrument_count(&e), 2);
    assert_int_equal(xt_engine_find_symbol(&e, "BTC-USDT", 8), 1);
    assert_int_equal(xt_engine_find_symbol(&e, "BTC-USDTX", 9), XT_INSTRUMENT_NONE);
    assert_int_equal(xt_engine_find_symbol(&e, "600519.SH", 9), 0);
    xt_instrument_info_t in;
    assert_int_equal(xt_engine_instrument(&e, 0, &in), 0);
    assert_string_equal(in.symbol, "600519.SH");
    assert_true(in.has_band);
    assert_int_equal(in.band_low, 903);
    assert_int_equal(in.band_high, 1103);
    assert_int_equal(in.min_lots, 1);
    assert_int_equal(in.max_lots, 10000);
    assert_int_equal(xt_engine_instrument(&e, 2, &in), XT_ENOENT);
    assert_true(xt_symbol_valid("a.b_c-D9", 8));
    assert_false(xt_symbol_valid("a b", 3));
    assert_false(xt_symbol_valid("ABCDEFGHIJKLMNOPQ", 17));
    xt_engine_destroy(&e);
}

/* Band limits round half up, and stay exact where the intermediate
 * products come close to the 128-bit range (found by fuzz_journal). */
static void band_limits_round_half_up_at_extreme_scales(void **state)
{
    (void)state;
    xt_instrument_def_t d = {.symbol = "B", .tick = dec(1, 0), .lot = dec(1, 0), .flags = XT_DEF_BAND};
    int64_t lo, hi;
    d.ref_price = dec(1500000000000000000, 18); /* 1.5, with a band of 0 % */
    d.band_pct = dec(0, 18);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), 0);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 2);
    d.ref_price = dec(1499999999999999999, 18);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 1);
    /* 1.799999999999999999 * (100 + 1e-18) %: 1.8e18 * 1e20 > 2^127, no
     * trailing zero to drop */
    d.ref_price = dec(1799999999999999999, 18);
    d.band_pct = dec(1, 18);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), XT_ERANGE);
    /* the same sizes written with trailing zeros are the small values they
     * are: 2.000000000000000000 +/- 1.000000000000000000 % on a 0.01 tick
     * (once refused, the product overflowing; found by review) */
    d.tick = dec(1, 2);
    d.ref_price = dec(2000000000000000000, 18);
    d.band_pct = dec(1000000000000000000, 18);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), 0);
    assert_int_equal(lo, 198);
    assert_int_equal(hi, 202);
    d.tick = dec(5, 2); /* 10.025 +/- 10 % on a 0.05 tick: 9.0225 -> 180.45, 11.0275 -> 220.55 */
    d.ref_price = dec(10025, 3);
    d.band_pct = dec(10, 0);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), 0);
    assert_int_equal(lo, 180);
    assert_int_equal(hi, 221);
    /* a band that holds no price: 0.004 +/- 10 % on a 0.01 tick is 0.0036 ..
     * 0.0044, nothing from one tick up; the definition is refused, not a
     * book where every order is PRICE_BAND */
    d.tick = dec(1, 2);
    d.ref_price = dec(4, 3);
    assert_int_equal(xt_band_limits(&d, &lo, &hi), XT_ERANGE);
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, nosink, NULL), 0);
    xt_cmd_t c = {.type = XT_CMD_INSTRUMENT, .seq = 1, .u.instrument = d};
    assert_int_equal(xt_engine_apply(&e, &c), XT_EINVAL);
    d.ref_price = dec(5, 3); /* 0.0045 .. 0.0055: one tick, 0.01 (half up) */
    c.u.instrument = d;
    assert_int_equal(xt_engine_apply(&e, &c), 0);
    xt_instrument_info_t in;
    assert_int_equal(xt_engine_instrument(&e, 0, &in), 0);
    assert_int_equal(in.band_low, 1);
    assert_int_equal(in.band_high, 1);
    xt_engine_destroy(&e);
}

static void queries_and_iterators(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    xt_level_info_t lv;
    assert_int_equal(xt_engine_best(&e, 0, XT_BUY, &lv), XT_ENOENT);
    assert_int_equal(xt_engine_best(&e, 5, XT_BUY, &lv), XT_ENOENT);
    uint64_t seq = 2;
    int64_t bid_prices[] = {100, 99, 100, 97, 4096, 1};
    for (int i = 0; i < 6; i++) {
        r.n = 0;
        apply_ok(&e, new_order(seq++, i + 1, 1, XT_BUY, bid_prices[i], i + 1));
    }
    apply_ok(&e, new_order(seq++, 50, 2, XT_SELL, 5000, 9));
    apply_ok(&e, new_order(seq++, 51, 2, XT_SELL, XT_PRICE_MAX, 1));
    assert_int_equal(xt_engine_best(&e, 0, XT_BUY, &lv), 0);
    assert_int_equal(lv.price, 4096);
    assert_int_equal(xt_engine_best(&e, 0, XT_SELL, &lv), 0);
    assert_int_equal(lv.price, 5000);
    assert_int_equal(xt_engine_qty_at(&e, 0, XT_BUY, 100), 1 + 3);
    assert_int_equal(xt_engine_qty_at(&e, 0, XT_BUY, 98), 0);
    assert_int_equal(xt_engine_qty_at(&e, 0, XT_SELL, XT_PRICE_MAX), 1);
    assert_int_equal(xt_engine_qty_at(&e, 0, XT_SELL, -1), 0);
    assert_int_equal(xt_engine_qty_at(&e, 9, XT_SELL, 100), 0);

    int64_t want[] = {4096, 100, 99, 97, 1};
    xt_level_iter_t it;
    xt_level_iter_init(&it, &e, 0, XT_BUY);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(xt_level_iter_next(&it, &lv), 1);
        assert_int_equal(lv.price, want[i]);
    }
    assert_int_equal(xt_level_iter_next(&it, &lv), 0);
    xt_level_iter_init(&it, &e, 0, XT_SELL);
    assert_int_equal(xt_level_iter_next(&it, &lv), 1);
    assert_int_equal(xt_level_iter_next(&it, &lv), 1);
    assert_int_equal(lv.price, XT_PRICE_MAX);
    assert_int_equal(xt_level_iter_next(&it, &lv), 0);
    xt_level_iter_init(&it, &e, 42, XT_SELL);
    assert_int_equal(xt_level_iter_next(&it, &lv), 0);

    xt_order_iter_t oit;
    xt_order_info_t o;
    xt_order_iter_init(&oit, &e, 0, XT_BUY, 100);
    assert_int_equal(xt_order_iter_next(&oit, &o), 1);
    assert_int_equal(o.id, 1);
    assert_int_equal(xt_order_iter_next(&oit, &o), 1);
    assert_int_equal(o.id, 3);
    assert_int_equal(o.qty, 3);
    assert_int_equal(o.side, XT_BUY);
    assert_int_equal(xt_order_iter_next(&oit, &o), 0);
    xt_order_iter_init(&oit, &e, 0, XT_BUY, 98);
    assert_int_equal(xt_order_iter_next(&oit, &o), 0);
    assert_int_equal(xt_engine_order(&e, 3, &o), 0);
    assert_int_equal(o.price, 100);
    assert_int_equal(xt_engine_order(&e, 77, &o), XT_ENOENT);
    assert_int_equal(xt_engine_order(&e, 0, &o), XT_ENOENT);
    assert_int_equal(xt_engine_verify(&e, NULL), 0);
    xt_engine_destroy(&e);
}

/* Applies the same little session to an engine with the given capacities. */
static uint64_t session_hash(uint32_t max_orders, int swap_last)
{
    xt_engine_t e;
    xt_engine_config_t cfg = {.max_orders = max_orders, .max_levels = max_orders};
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), 0);
    apply_ok(&e, instrument(1, "X"));
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 100, 5));
    apply_ok(&e, new_order(3, 2, 2, XT_SELL, 103, 5));
    apply_ok(&e, new_order(4, 3, 3, XT_SELL, 100, 2));
    apply_ok(&e, cancel(5, 2, 2));
    apply_ok(&e, new_order(6, swap_last ? 5 : 4, 1, XT_BUY, 100, 1));
    apply_ok(&e, new_order(7, swap_last ? 4 : 5, 1, XT_BUY, 100, 1));
    uint64_t h = xt_engine_state_hash(&e);
    xt_engine_destroy(&e);
    return h;
}

static void state_hash(void **state)
{
    (void)state;
    uint64_t a = session_hash(16, 0), b = session_hash(1 << 16, 0), c = session_hash(16, 1);
    assert_int_equal(a, b);     /* capacities are not state */
    assert_int_not_equal(a, c); /* queue order is */
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, nosink, NULL), 0);
    uint64_t h0 = xt_engine_state_hash(&e);
    apply_ok(&e, instrument(1, "X"));
    uint64_t h1 = xt_engine_state_hash(&e);
    apply_ok(&e, cancel(2, 99, 1)); /* rejected, but the sequence moved */
    uint64_t h2 = xt_engine_state_hash(&e);
    apply_ok(&e, new_order(3, 1, 1, XT_BUY, 100, 5));
    uint64_t h3 = xt_engine_state_hash(&e);
    assert_int_not_equal(h0, h1);
    assert_int_not_equal(h1, h2);
    assert_int_not_equal(h2, h3);
    assert_int_equal(xt_engine_state_hash(&e), h3); /* a pure function */
    xt_engine_destroy(&e);
}

/* An INSTRUMENT of a symbol defined before that differs only in ref and
 * band moves the band (matching.md): a command of its own, an event, the
 * state hash; the resting order outside the new band stays. Any other
 * difference is refused, consuming nothing. */
/* xt_instrument_def_diff: by value, and by what is given. */
static void definitions_compared(void **state)
{
    (void)state;
    xt_instrument_def_t a = instrument(1, "X").u.instrument, b = a;
    a.flags = b.flags = XT_DEF_BAND;
    a.ref_price = dec(1000, 2);
    b.ref_price = dec(10, 0);
    a.band_pct = b.band_pct = dec(10, 0);
    b.tick = dec(10, 3);   /* 0.010 */
    a.min_qty = dec(7, 0); /* not given in either: whatever it holds */
    assert_int_equal(xt_instrument_def_diff(&a, &b), 0);
    b.flags |= XT_DEF_MIN; /* given in one only, at the default too */
    b.min_qty = a.lot;
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_MIN);
    a.flags |= XT_DEF_MIN | XT_DEF_MAX;
    b.flags |= XT_DEF_MAX;
    a.min_qty = b.min_qty;
    a.max_qty = dec(100, 0);
    b.max_qty = dec(200, 0);
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_MAX);
    b.max_qty = a.max_qty;
    b.band_pct = dec(5, 0);
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_BAND);
    b.ref_price = dec(11, 0);
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_BAND_ONLY);
    b.flags &= (uint8_t)~XT_DEF_BAND; /* taken away */
    b.ref_price = b.band_pct = dec(0, 0);
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_BAND_ONLY);
    b.tick = dec(5, 2);
    b.lot = dec(2, 0);
    assert_int_equal(xt_instrument_def_diff(&a, &b), XT_DIFF_TICK | XT_DIFF_LOT | XT_DIFF_BAND_ONLY);
}

static void a_band_moves(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e, copy;
    assert_int_equal(xt_engine_init(&e, NULL, record, &r), 0);
    xt_cmd_t c = instrument(1, "X");
    c.u.instrument.flags = XT_DEF_BAND;
    c.u.instrument.ref_price = dec(1000, 2);
    c.u.instrument.band_pct = dec(10, 0);
    r.n = 0;
    apply_ok(&e, c);
    assert_int_equal(r.ev[0].price, 1000); /* the ref, ticks */
    assert_int_equal(r.ev[0].qty, 900);    /* the limits, ticks */
    assert_int_equal(r.ev[0].remaining, 1100);
    apply_ok(&e, new_order(2, 1, 7, XT_SELL, 1090, 5));
    uint64_t h0 = xt_engine_state_hash(&e);
    r.n = 0;
    c.seq = 3;
    c.u.instrument.tick = dec(10, 3); /* 0.010: the same tick */
    c.u.instrument.ref_price = dec(105, 1);
    apply_ok(&e, c);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].type, XT_EV_INSTRUMENT);
    assert_int_equal(r.ev[0].instrument, 0);
    assert_int_equal(r.ev[0].price, 1050); /* 10.5 in ticks of 0.010 */
    assert_int_equal(r.ev[0].qty, 945);    /* the new limits, as the orders are checked against */
    assert_int_equal(r.ev[0].remaining, 1155);
    xt_event_t now; /* the same event made again, as a market-data resync sends it */
    assert_int_equal(xt_engine_instrument_event(&e, 0, &now), 0);
    assert_true(now.type == XT_EV_INSTRUMENT && now.instrument == 0 && now.price == r.ev[0].price &&
                now.qty == r.ev[0].qty && now.remaining == r.ev[0].remaining);
    assert_int_equal(xt_engine_instrument_event(&e, 1, &now), XT_ENOENT);
    assert_int_equal(r.seq[0], 3);
    assert_int_equal(xt_engine_instrument_count(&e), 1);
    xt_instrument_info_t in;
    assert_int_equal(xt_engine_instrument(&e, 0, &in), 0);
    assert_true(in.has_band);
    assert_int_equal(in.band_low, 945);
    assert_int_equal(in.band_high, 1155);
    assert_true(xt_engine_state_hash(&e) != h0);
    r.n = 0;
    apply_ok(&e, new_order(4, 2, 8, XT_SELL, 940, 1));
    assert_int_equal(r.ev[0].type, XT_EV_REJECTED);
    assert_int_equal(r.ev[0].reason, XT_R_PRICE_BAND);
    r.n = 0;
    apply_ok(&e, new_order(5, 3, 8, XT_BUY, 1150, 1)); /* trades with the resting 10.90 */
    assert_int_equal(r.ev[1].type, XT_EV_TRADE);
    assert_int_equal(r.ev[1].price, 1090);

    /* a copy (as a snapshot restores) keeps the band in force */
    assert_int_equal(xt_engine_init(&copy, NULL, nosink, NULL), 0);
    assert_int_equal(xt_engine_copy(&copy, &e), 0);
    assert_int_equal(xt_engine_state_hash(&copy), xt_engine_state_hash(&e));
    assert_int_equal(xt_engine_instrument(&copy, 0, &in), 0);
    assert_int_equal(in.band_low, 945);
    xt_engine_destroy(&copy);

    /* anything but the band: refused, and the sequence number is not taken */
    c.seq = 6;
    c.u.instrument.lot = dec(2, 0);
    assert_int_equal(xt_engine_apply(&e, &c), XT_EEXIST);
    c.u.instrument.lot = dec(1, 0);
    c.u.instrument.flags = XT_DEF_BAND | XT_DEF_MIN;
    c.u.instrument.min_qty = dec(1, 0); /* one lot, as without it: still another definition */
    assert_int_equal(xt_engine_apply(&e, &c), XT_EEXIST);
    c.u.instrument.tick = dec(5, 2);
    c.u.instrument.flags = XT_DEF_BAND;
    assert_int_equal(xt_engine_apply(&e, &c), XT_EEXIST);
    /* the band taken away */
    c.u.instrument.tick = dec(1, 2);
    c.u.instrument.flags = 0;
    r.n = 0;
    apply_ok(&e, c);
    assert_true(r.ev[0].price == XT_PRICE_NONE);
    assert_int_equal(r.ev[0].qty, 0); /* no limits told, though orders are checked within 1..XT_PRICE_MAX */
    assert_int_equal(r.ev[0].remaining, 0);
    assert_int_equal(xt_engine_instrument(&e, 0, &in), 0);
    assert_false(in.has_band);
    assert_int_equal(in.band_low, 1);
    assert_int_equal(in.band_high, XT_PRICE_MAX);
    assert_int_equal(in.def.ref_price.m, 0);
    const char *why = NULL;
    assert_int_equal(xt_engine_verify(&e, &why), 0);
    xt_engine_destroy(&e);
}

/* A snapshot is untrusted: an order whose executed quantity would overflow
 * on its next fill is refused, as is one with a negative one. */
static void restore_refuses_filled_out_of_range(void **state)
{
    (void)state;
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, nosink, NULL), 0);
    xt_cmd_t def = instrument(1, "X");
    assert_int_equal(xt_engine_restore_instrument(&e, &def.u.instrument), 0);
    xt_order_info_t o = {.id = 7,
                         .account = 1,
                         .instrument = 0,
                         .side = XT_BUY,
                         .type = XT_LIMIT,
                         .tif = XT_GTC,
                         .stp = XT_STP_NONE,
                         .price = 100,
                         .qty = 5,
                         .filled = INT64_MAX,
                         .seq = 1};
    assert_int_equal(xt_engine_restore_order(&e, &o), XT_EINVAL);
    o.filled = -1;
    assert_int_equal(xt_engine_restore_order(&e, &o), XT_EINVAL);
    o.filled = INT64_MAX - XT_QTY_MAX;
    assert_int_equal(xt_engine_restore_order(&e, &o), 0);
    const char *why = NULL;
    assert_int_equal(xt_engine_verify(&e, &why), 0);
    xt_engine_destroy(&e);
}

static void verify_detects_corruption(void **state)
{
    (void)state;
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, nosink, NULL), 0);
    apply_ok(&e, instrument(1, "X"));
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 100, 5));
    apply_ok(&e, new_order(3, 2, 1, XT_BUY, 100, 5));
    apply_ok(&e, new_order(4, 3, 1, XT_SELL, 105, 5));
    const char *why = NULL;
    assert_int_equal(xt_engine_verify(&e, &why), 0);

    uint32_t li = e.instruments[0].side[XT_BUY].best;
    e.levels[li].qty += 1;
    assert_int_equal(xt_engine_verify(&e, &why), XT_ECORRUPT);
    assert_string_equal(why, "level total or count differs from its orders");
    e.levels[li].qty -= 1;

    e.instruments[0].side[XT_SELL].best_price = 99;
    assert_int_equal(xt_engine_verify(&e, &why), XT_ECORRUPT);
    e.instruments[0].side[XT_SELL].best_price = 105;

    e.orders[e.levels[li].head].qty = 0;
    e.levels[li].qty -= 5;
    assert_int_equal(xt_engine_verify(&e, &why), XT_ECORRUPT);
    assert_string_equal(why, "resting quantity not positive");
    e.orders[e.levels[li].head].qty = 5;
    e.levels[li].qty += 5;

    e.index[0].id = 999; /* a stray id in the index */
    e.index[0].order = 0;
    assert_int_equal(xt_engine_verify(&e, &why), XT_ECORRUPT);
    xt_engine_destroy(&e);
}

static void crossed_book_is_detected(void **state)
{
    (void)state;
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, nosink, NULL), 0);
    apply_ok(&e, instrument(1, "X"));
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 100, 5));
    apply_ok(&e, new_order(3, 2, 1, XT_SELL, 105, 5));
    /* move the ask below the bid behind the engine's back */
    xt__side_t *s = &e.instruments[0].side[XT_SELL];
    uint32_t li = s->best;
    e.levels[li].price = 100;
    e.orders[e.levels[li].head].price = 100;
    s->best_price = 100;
    const char *why;
    assert_int_equal(xt_engine_verify(&e, &why), XT_ECORRUPT);
    xt_engine_destroy(&e);
}

static void ladder_node_capacity(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    /* enough nodes for one deep path only */
    xt_engine_config_t cfg = {.max_orders = 8, .max_levels = 8, .max_instruments = 1, .max_ladder_nodes = 9};
    assert_int_equal(xt_engine_init(&e, &cfg, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 10, 1)); /* height 1: one node */
    r.n = 0;
    apply_ok(&e, new_order(3, 2, 1, XT_BUY, (int64_t)1 << 40, 1)); /* height 7: needs up to 14 */
    assert_int_equal(r.ev[0].type, XT_EV_REJECTED);
    assert_int_equal(r.ev[0].reason, XT_R_CAPACITY);
    apply_ok(&e, new_order(4, 3, 1, XT_BUY, 11, 1));
    assert_int_equal(xt_engine_verify(&e, NULL), 0);
    xt_engine_destroy(&e);
}

static void extreme_values(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    struct {
        int64_t price, qty;
        int reason;
    } cases[] = {
        {XT_PRICE_MAX, 1, XT_R_NONE},
        {XT_PRICE_MAX + 1, 1, XT_R_INVALID_PRICE},
        {1, XT_QTY_MAX, XT_R_NONE},
        {1, XT_QTY_MAX + 1, XT_R_INVALID_QTY},
        {XT_PRICE_INVALID, 1, XT_R_INVALID_PRICE},
        {XT_PRICE_NONE, 1, XT_R_INVALID_PRICE},
        {5, XT_QTY_INVALID, XT_R_INVALID_QTY},
        {INT64_MAX, 1, XT_R_INVALID_PRICE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.n = 0;
        apply_ok(&e, new_order(2 + i, 100 + (int64_t)i, 1, i == 0 ? XT_SELL : XT_BUY, cases[i].price, cases[i].qty));
        if (cases[i].reason == XT_R_NONE)
            assert_int_equal(r.ev[0].type, XT_EV_ACCEPTED);
        else {
            assert_int_equal(r.ev[0].type, XT_EV_REJECTED);
            assert_int_equal(r.ev[0].reason, cases[i].reason);
        }
    }
    /* market order without a band may sweep to the top of the ladder */
    xt_cmd_t m = new_order(100, 500, 2, XT_BUY, XT_PRICE_NONE, 2);
    m.u.new_order.type = XT_MARKET;
    r.n = 0;
    apply_ok(&e, m);
    assert_int_equal(r.ev[1].type, XT_EV_TRADE);
    assert_int_equal(r.ev[1].price, XT_PRICE_MAX);
    assert_int_equal(xt_engine_verify(&e, NULL), 0);
    xt_engine_destroy(&e);
}

static void book_events_can_be_turned_off(void **state)
{
    (void)state;
    rec_t r = {0};
    xt_engine_t e;
    xt_engine_config_t cfg = {.no_book_events = 1};
    assert_int_equal(xt_engine_init(&e, &cfg, record, &r), 0);
    apply_ok(&e, instrument(1, "X"));
    apply_ok(&e, new_order(2, 1, 1, XT_BUY, 100, 5));
    apply_ok(&e, new_order(3, 2, 2, XT_SELL, 100, 2));
    apply_ok(&e, cancel(4, 1, 1));
    for (int i = 0; i < r.n; i++)
        assert_int_not_equal(r.ev[i].type, XT_EV_BOOK);
    assert_int_equal(r.n, 1 + 1 + 2 + 1);
    xt_engine_destroy(&e);
}

static void long_sweep_spans_batches(void **state)
{
    (void)state;
    rec_t *r = calloc(1, sizeof *r);
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record, r), 0);
    apply_ok(&e, instrument(1, "X"));
    for (int i = 0; i < 100; i++)
        apply_ok(&e, new_order(2 + (uint64_t)i, 1 + i, 1, XT_SELL, 100 + i / 10, 1));
    memset(r, 0, sizeof *r);
    apply_ok(&e, new_order(200, 500, 2, XT_BUY, 1000, 150));
    /* ACCEPTED, 100 TRADEs with a BOOK after each of the 10 levels, the rest resting + its BOOK */
    assert_int_equal(r->n, 1 + 100 + 10 + 1);
    assert_int_equal(r->batches, 2);
    assert_int_equal(r->lasts, 1);
    for (int i = 0; i < r->n; i++)
        assert_int_equal(r->seq[i], 200);
    assert_int_equal(r->ev[0].type, XT_EV_ACCEPTED);
    assert_int_equal(r->ev[1].u.trade.trade_id, 1);
    assert_int_equal(r->ev[r->n - 1].type, XT_EV_BOOK);
    assert_int_equal(r->ev[r->n - 1].qty, 50);
    xt_engine_destroy(&e);
    free(r);
}

/* What the sink of a command's last batch sees: the state the command
 * left - its sequence number, the state hash after it, the book after it.
 * It saw the sequence number and hash of the command before. */
typedef struct last_view {
    xt_engine_t *e;
    uint64_t last_seq, hash;
    int lasts;
} last_view_t;

static void viewing(void *ctx, const xt_event_batch_t *b)
{
    last_view_t *v = ctx;
    if (!b->last)
        return;
    xt_engine_stats_t st;
    xt_engine_stats(v->e, &st);
    v->last_seq = st.last_seq;
    v->hash = xt_engine_state_hash(v->e);
    v->lasts++;
}

static void the_last_batch_sees_the_state_after_the_command(void **state)
{
    (void)state;
    xt_engine_t e;
    last_view_t v = {.e = &e};
    assert_int_equal(xt_engine_init(&e, NULL, viewing, &v), 0);
    apply_ok(&e, instrument(1, "X"));
    for (int i = 0; i < 100; i++) /* the last command's events span two batches */
        apply_ok(&e, new_order(2 + (uint64_t)i, 1 + i, 1, XT_SELL, 100 + i / 10, 1));
    xt_cmd_t cmds[] = {new_order(200, 500, 2, XT_BUY, 1000, 150), cancel(201, 500, 2),
                       (xt_cmd_t){.type = XT_CMD_SESSION_END, .seq = 202, .u.session_end = {1, 1}}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        v.lasts = 0;
        apply_ok(&e, cmds[i]);
        assert_int_equal(v.lasts, 1);
        assert_int_equal(v.last_seq, cmds[i].seq);
        assert_int_equal(v.hash, xt_engine_state_hash(&e));
    }
    xt_engine_destroy(&e);
}

/* A sink that calls back into its engine: apply, restore and copy. */
typedef struct reenter {
    xt_engine_t *e;
    const xt_engine_t *empty; /* a fresh engine with nothing in it: what the sink copies into its own */
    int calls, apply_rc, restore_rc, copy_rc;
    xt_level_info_t best;
    int best_rc;
} reenter_t;

static void reentering(void *ctx, const xt_event_batch_t *b)
{
    reenter_t *r = ctx;
    (void)b;
    r->calls++;
    r->apply_rc = xt_engine_apply(
        r->e,
        &(xt_cmd_t){.type = XT_CMD_NEW,
                    .seq = 100,
                    .u.new_order = {.id = 77, .account = 9, .side = XT_BUY, .type = XT_LIMIT, .price = 150, .qty = 1}});
    r->restore_rc = xt_engine_restore_counters(r->e, 50, 0);
    r->copy_rc = xt_engine_copy(r->e, r->empty);
    r->best_rc = xt_engine_best(r->e, 0, XT_SELL, &r->best);
}

static void the_sink_cannot_change_its_engine(void **state)
{
    (void)state;
    xt_engine_t e, empty;
    reenter_t r = {.e = &e, .empty = &empty};
    assert_int_equal(xt_engine_init(&empty, NULL, nosink, NULL), 0);
    assert_int_equal(xt_engine_init(&e, NULL, reentering, &r), 0);
    /* the first command, one that changes nothing: the restore functions
     * and the copy into the engine are refused there (by the guard, and as
     * the engine has taken a sequence number) */
    xt_cmd_t c = {.type = XT_CMD_SESSION_END, .seq = 1, .u.session_end = {1, 1}};
    assert_int_equal(xt_engine_apply(&e, &c), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.apply_rc, XT_EBUSY);
    assert_int_equal(r.restore_rc, XT_EINVAL);
    assert_int_equal(r.copy_rc, XT_EINVAL);
    c = instrument(2, "X");
    assert_int_equal(xt_engine_apply(&e, &c), 0);
    assert_int_equal(r.apply_rc, XT_EBUSY);
    c = new_order(3, 1, 1, XT_SELL, 200, 2);
    assert_int_equal(xt_engine_apply(&e, &c), 0);
    assert_int_equal(r.apply_rc, XT_EBUSY);
    assert_int_equal(r.best_rc, 0); /* a query is fine: the order it is told about rests */
    assert_int_equal(r.best.price, 200);
    /* nothing of the inner calls happened: the last sequence number is the
     * outer command's, order 77 does not exist, and 4 is next */
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    assert_int_equal(st.last_seq, 3);
    assert_int_equal(st.orders, 1);
    xt_order_info_t o;
    assert_int_equal(xt_engine_order(&e, 77, &o), XT_ENOENT);
    c = cancel(2, 1, 1);
    assert_int_equal(xt_engine_apply(&e, &c), XT_ESEQ);
    r.e = NULL; /* from here the sink is a plain one */
    xt_engine_set_sink(&e, nosink, NULL);
    apply_ok(&e, cancel(4, 1, 1));
    const char *why = NULL;
    assert_int_equal(xt_engine_verify(&e, &why), 0);
    xt_engine_destroy(&e);
    xt_engine_destroy(&empty);
}

static void init_and_stats(void **state)
{
    (void)state;
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, NULL, NULL), XT_EINVAL);
    xt_engine_config_t big = {.max_orders = (1u << 30) + 1};
    assert_int_equal(xt_engine_init(&e, &big, nosink, NULL), XT_EINVAL);
    xt_engine_destroy(&e); /* safe after a failed init */

    xt_engine_config_t cfg = {.max_orders = 100, .max_levels = 50, .max_instruments = 3};
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), 0);
    apply_ok(&e, instrument(1, "X"));
    for (int i = 0; i < 10; i++)
        apply_ok(&e, new_order(2 + (uint64_t)i, i + 1, 1, XT_BUY, 100 + i % 3, 1));
    for (int i = 0; i < 10; i++)
        apply_ok(&e, cancel(20 + (uint64_t)i, i + 1, 1));
    apply_ok(&e, new_order(40, 77, 1, XT_SELL, 100, 1));
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    assert_int_equal(st.orders, 1);
    assert_int_equal(st.levels, 1);
    assert_int_equal(st.peak_orders, 10);
    assert_int_equal(st.peak_levels, 3);
    assert_int_equal(st.instruments, 1);
    assert_int_equal(st.cfg.max_orders, 100);
    assert_int_equal(st.cfg.max_ladder_nodes, 50 + 16 * 3 + 64);
    assert_int_equal(st.last_seq, 40);
    assert_string_equal(xt_strerror(XT_ECAPACITY), "capacity exhausted");
    assert_string_equal(xt_reason_name(XT_R_POST_ONLY), "POST_ONLY");
    assert_string_equal(xt_reason_name(200), "?");
    xt_engine_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_carry_what_clients_need),
        cmocka_unit_test(malformed_commands_change_nothing),
        cmocka_unit_test(rules_revisions),
        cmocka_unit_test(instrument_definitions),
        cmocka_unit_test(definitions_compared),
        cmocka_unit_test(band_limits_round_half_up_at_extreme_scales),
        cmocka_unit_test(queries_and_iterators),
        cmocka_unit_test(state_hash),
        cmocka_unit_test(verify_detects_corruption),
        cmocka_unit_test(crossed_book_is_detected),
        cmocka_unit_test(ladder_node_capacity),
        cmocka_unit_test(extreme_values),
        cmocka_unit_test(book_events_can_be_turned_off),
        cmocka_unit_test(long_sweep_spans_batches),
        cmocka_unit_test(the_sink_cannot_change_its_engine),
        cmocka_unit_test(the_last_batch_sees_the_state_after_the_command),
        cmocka_unit_test(init_and_stats),
        cmocka_unit_test(restore_refuses_filled_out_of_range),
        cmocka_unit_test(a_band_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
