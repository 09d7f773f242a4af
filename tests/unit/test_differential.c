/* test_differential.c - random command streams through the engine and the
 * reference model (tests/support/refmodel.c) side by side. After every
 * command: the same events, the same books, the engine's invariants
 * (xt_engine_verify: never crossed, quantities positive, level totals equal
 * their orders, id index equal to the book) and the L2 book rebuilt from
 * BOOK events equal to the engine's levels.
 *
 * XT_DIFF_SEEDS and XT_DIFF_STEPS (environment) scale the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"

typedef struct rnd {
    uint64_t s;
} rnd_t;

static uint64_t next(rnd_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int64_t below(rnd_t *r, int64_t n)
{
    return (int64_t)(next(r) % (uint64_t)n);
}

static int pct(rnd_t *r, int p)
{
    return below(r, 100) < p;
}

/* A stream profile: how many ids compete, how wide prices spread. */
typedef struct profile {
    const char *name;
    int64_t ids;    /* ids drawn from 1..ids: small means many duplicates */
    int64_t spread; /* ticks either side of the mid */
} profile_t;

static const int64_t mids[3] = {1000, 1000, 60000};

static int64_t gen_price(rnd_t *r, const profile_t *p, int inst)
{
    int k = (int)below(r, 100);
    if (k < 3)
        return XT_PRICE_INVALID;
    if (k < 5)
        return XT_PRICE_NONE;
    if (k < 6)
        return -below(r, 3);
    int64_t spread = inst == 1 ? p->spread + 60 : p->spread; /* B: reach past its band */
    return mids[inst] + below(r, 2 * spread + 1) - spread;
}

static int64_t gen_qty(rnd_t *r, int inst)
{
    int k = (int)below(r, 100);
    if (k < 3)
        return XT_QTY_INVALID;
    if (k < 5)
        return -below(r, 2);
    return inst == 1 ? 1 + below(r, 110) : 1 + below(r, 12);
}

/* The account that owns `id` most of the time, any account otherwise. */
static uint32_t gen_account_for(rnd_t *r, const xt_engine_t *e, int64_t id)
{
    xt_order_info_t o;
    if (pct(r, 80) && xt_engine_order(e, id, &o) == 0)
        return o.account;
    return (uint32_t)(1 + below(r, 4));
}

static xt_cmd_t gen_cmd(rnd_t *r, const profile_t *p, const xt_engine_t *e)
{
    xt_cmd_t c;
    memset(&c, 0, sizeof c);
    int k = (int)below(r, 100);
    int64_t id = 1 + below(r, p->ids);
    if (k < 55) {
        xt_order_new_t *o = &c.u.new_order;
        c.type = XT_CMD_NEW;
        o->id = id;
        o->account = (uint32_t)(1 + below(r, 4));
        int inst = (int)below(r, 3);
        o->instrument = pct(r, 2) ? XT_INSTRUMENT_NONE : (uint32_t)inst;
        o->side = (uint8_t)below(r, 2);
        o->type = pct(r, 15) ? XT_MARKET : XT_LIMIT;
        static const uint8_t tifs[] = {0,      0,      0,      0,      0,       0,      0,
                                       0,      0,      0,      XT_GTC, XT_GTC,  XT_GTC, XT_IOC,
                                       XT_IOC, XT_IOC, XT_FOK, XT_FOK, XT_POST, XT_POST};
        o->tif = tifs[below(r, 20)];
        o->stp = (uint8_t)(pct(r, 40) ? 0 : 1 + below(r, 4));
        o->price = o->type == XT_MARKET ? (pct(r, 95) ? XT_PRICE_NONE : mids[inst]) : gen_price(r, p, inst);
        o->qty = gen_qty(r, inst);
    } else if (k < 78) {
        c.type = XT_CMD_CANCEL;
        c.u.cancel.id = id;
        c.u.cancel.account = gen_account_for(r, e, id);
    } else {
        c.type = XT_CMD_AMEND;
        xt_order_info_t o;
        int inst = xt_engine_order(e, id, &o) == 0 ? (int)o.instrument : (int)below(r, 3);
        c.u.amend.id = id;
        c.u.amend.account = gen_account_for(r, e, id);
        c.u.amend.price = gen_price(r, p, inst);
        c.u.amend.qty = gen_qty(r, inst);
        if (pct(r, 30) && xt_engine_order(e, id, &o) == 0) { /* in place, or close to it */
            c.u.amend.price = o.price;
            c.u.amend.qty = o.qty - below(r, 3) + 1;
        }
    }
    return c;
}

/* B's band moved (a daily limit, docs/matching.md "Moving the band"): ref
 * 9.00 .. 11.00 in steps of 0.20 around its mid; one move in five takes the
 * band away. */
static xt_cmd_t gen_band_move(rnd_t *r, diff_t *d)
{
    return diff_band_move_b(d, pct(r, 20) ? 0 : 900 + 20 * below(r, 11));
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

static void run_profile(const profile_t *p)
{
    int seeds = env_int("XT_DIFF_SEEDS", 25), steps = env_int("XT_DIFF_STEPS", 3000);
    long commands = 0, trades = 0, moves = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        diff_t *d = malloc(sizeof *d);
        assert_non_null(d);
        xt_engine_config_t cfg = {.max_orders = 8192, .max_levels = 4096, .max_instruments = 4};
        assert_int_equal(diff_init(d, &cfg), 0);
        assert_int_equal(diff_define_fixture(d), 0);
        rnd_t r = {(uint64_t)seed * 7919u + (uint64_t)p->ids};
        for (int i = 0; i < steps; i++) {
            int move = below(&r, 200) == 0;
            xt_cmd_t c = move ? gen_band_move(&r, d) : gen_cmd(&r, p, &d->e);
            moves += move;
            const char *why = diff_step(d, &c);
            if (why)
                fail_msg("profile %s seed %d step %d: %s", p->name, seed, i, why);
            commands++;
        }
        trades += (long)d->last_trade_id;
        diff_free(d);
        free(d);
    }
    /* The streams must actually exercise matching, not just rejects. */
    assert_true(trades > commands / 20);
    assert_true(moves > 0);
    printf("# profile %s: %ld commands, %ld trades, %ld band moves, all agree\n", p->name, commands, trades, moves);
}

static void crowded_ids_narrow_prices(void **state)
{
    (void)state;
    profile_t p = {"crowded", 40, 5};
    run_profile(&p);
}

static void many_ids_wide_prices(void **state)
{
    (void)state;
    profile_t p = {"wide", 3000, 40};
    run_profile(&p);
}

static void deep_queues(void **state)
{
    (void)state;
    profile_t p = {"deep", 1500, 1};
    run_profile(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crowded_ids_narrow_prices),
        cmocka_unit_test(many_ids_wide_prices),
        cmocka_unit_test(deep_queues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
