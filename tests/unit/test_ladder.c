/* test_ladder.c - the price ladder (64-ary bitmap trie) and the order-id
 * index against trivially correct references, over price and id patterns
 * that stress them: dense runs, sparse spreads over the whole price range,
 * 64^k boundaries, and ids that collide in the hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "index.h"
#include "internal.h"
#include "ladder.h"

static void nosink(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define NPRICES 2000

/* Reference: a plain array of present prices. */
static int present[NPRICES];
static int64_t prices[NPRICES];

static int64_t ref_next(int64_t p, int desc)
{
    int64_t best = -1;
    for (int i = 0; i < NPRICES; i++) {
        if (!present[i])
            continue;
        int64_t q = prices[i];
        if (desc ? (q < p && (best < 0 || q > best)) : (q > p && (best < 0 || q < best)))
            best = q;
    }
    return best;
}

static void run_pattern(int64_t (*gen)(int), unsigned steps)
{
    xt_engine_t e;
    xt_engine_config_t cfg = {.max_orders = 16, .max_levels = NPRICES + 1, .max_ladder_nodes = 40 * NPRICES};
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), 0);
    xt__side_t s = {.root = XT__NIL, .best = XT__NIL};
    memset(present, 0, sizeof present);
    for (int i = 0; i < NPRICES; i++) {
        prices[i] = gen(i);
        for (int j = 0; j < i; j++)
            if (prices[j] == prices[i])
                prices[i] = 0; /* duplicates unused */
    }
    for (unsigned step = 0; step < steps; step++) {
        int i = (int)(next_rand() % NPRICES);
        if (prices[i] == 0)
            continue;
        if (present[i]) {
            assert_int_equal(xt__ladder_find(&e, &s, prices[i]), (uint32_t)i);
            xt__ladder_remove(&e, &s, prices[i]);
            present[i] = 0;
        } else {
            assert_int_equal(xt__ladder_find(&e, &s, prices[i]), XT__NIL);
            assert_true(xt__ladder_has_room(&e, &s, prices[i]));
            xt__ladder_insert(&e, &s, prices[i], (uint32_t)i);
            present[i] = 1;
        }
        /* next in both directions from a present price and from a random one */
        int64_t probe = (step & 1) ? prices[i] : (int64_t)(next_rand() % (uint64_t)XT_PRICE_MAX) + 1;
        for (int desc = 0; desc < 2; desc++) {
            int64_t want = ref_next(probe, desc);
            uint32_t got = xt__ladder_next(&e, &s, probe, desc);
            if (want < 0)
                assert_int_equal(got, XT__NIL);
            else {
                assert_int_not_equal(got, XT__NIL);
                assert_int_equal(prices[got], want);
            }
        }
    }
    /* drain: the trie must give every node back */
    for (int i = 0; i < NPRICES; i++)
        if (present[i])
            xt__ladder_remove(&e, &s, prices[i]);
    assert_int_equal(s.root, XT__NIL);
    assert_int_equal(e.nodes_used, 0);
    xt_engine_destroy(&e);
}

static int64_t dense(int i)
{
    return 10000 + i;
}
static int64_t sparse(int i)
{
    return (int64_t)((uint64_t)(i + 1) * 140737488355ull % (uint64_t)XT_PRICE_MAX) + 1;
}
static int64_t boundaries(int i)
{
    /* 64^k - 1, 64^k, 64^k + 1 for k = 1..8, then small values */
    int k = i / 3 + 1, r = i % 3;
    if (k <= 8) {
        int64_t p = (int64_t)1 << (6 * k);
        int64_t v = p - 1 + r;
        return v > XT_PRICE_MAX ? XT_PRICE_MAX - r : v;
    }
    return i;
}
static int64_t clustered(int i)
{
    return (int64_t)(i % 50) + (int64_t)(i / 50) * 100000;
}

static void ladder_dense(void **state)
{
    (void)state;
    run_pattern(dense, 20000);
}
static void ladder_sparse(void **state)
{
    (void)state;
    run_pattern(sparse, 20000);
}
static void ladder_boundaries(void **state)
{
    (void)state;
    run_pattern(boundaries, 20000);
}
static void ladder_clustered(void **state)
{
    (void)state;
    run_pattern(clustered, 20000);
}

static void index_against_reference(void **state)
{
    (void)state;
    enum { N = 512 };
    xt_engine_t e;
    xt_engine_config_t cfg = {.max_orders = N};
    assert_int_equal(xt_engine_init(&e, &cfg, nosink, NULL), 0);
    /* ids that collide: multiples of the table size, runs, and huge values */
    int64_t ids[3 * N];
    for (int i = 0; i < N; i++) {
        ids[i] = (int64_t)(i + 1) * (int64_t)(e.index_mask + 1);
        ids[N + i] = 1000000 + i; /* disjoint from the multiples above */
        ids[2 * N + i] = INT64_MAX - i;
    }
    char live[3 * N] = {0};
    int nlive = 0;
    for (int step = 0; step < 200000; step++) {
        int k = (int)(next_rand() % (3 * N));
        uint32_t got = xt__index_find(&e, ids[k]);
        if (live[k]) {
            assert_int_equal(got, (uint32_t)k);
            xt__index_remove(&e, ids[k]);
            live[k] = 0;
            nlive--;
        } else {
            assert_int_equal(got, XT__NIL);
            if (nlive < N) {
                xt__index_insert(&e, ids[k], (uint32_t)k);
                live[k] = 1;
                nlive++;
            }
        }
    }
    for (int k = 0; k < 3 * N; k++)
        assert_int_equal(xt__index_find(&e, ids[k]), live[k] ? (uint32_t)k : XT__NIL);
    xt_engine_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ladder_dense),
        cmocka_unit_test(ladder_sparse),
        cmocka_unit_test(ladder_boundaries),
        cmocka_unit_test(ladder_clustered),
        cmocka_unit_test(index_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
