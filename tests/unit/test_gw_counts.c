/* test_gw_counts.c - the gateway's count table (src/server/gw_counts.h):
 * counts up and down, keys leaving at 0, a long churn of distinct keys
 * that must leave the table empty (no slot kept by a key seen long ago),
 * and random operations over colliding keys checked against a plain
 * array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "server/gw_counts.h"
#include "xt/error.h"

static uint32_t slots_used(const xt_gw_counts_t *t)
{
    uint32_t n = 0;
    for (uint32_t h = 0; h <= t->mask; h++)
        n += t->counts[h] != 0;
    return n;
}

static void up_and_down(void **state)
{
    (void)state;
    xt_gw_counts_t t;
    assert_int_equal(xt__gw_counts_init(&t, 4), 0);
    assert_true(t.mask + 1 >= 8);
    assert_int_equal(xt__gw_counts_get(&t, 7), 0);
    assert_int_equal(xt__gw_counts_inc(&t, 7), 0);
    assert_int_equal(xt__gw_counts_inc(&t, 7), 0);
    assert_int_equal(xt__gw_counts_inc(&t, 0), 0); /* key 0 is a key like any other */
    assert_int_equal(xt__gw_counts_get(&t, 7), 2);
    assert_int_equal(xt__gw_counts_get(&t, 0), 1);
    assert_int_equal(slots_used(&t), 2);
    xt__gw_counts_dec(&t, 7);
    assert_int_equal(xt__gw_counts_get(&t, 7), 1);
    xt__gw_counts_dec(&t, 7);
    assert_int_equal(xt__gw_counts_get(&t, 7), 0);
    xt__gw_counts_dec(&t, 7); /* none: nothing happens */
    xt__gw_counts_dec(&t, 99);
    assert_int_equal(xt__gw_counts_get(&t, 0), 1);
    assert_int_equal(slots_used(&t), 1);
    xt__gw_counts_dec(&t, 0);
    assert_int_equal(slots_used(&t), 0);
    xt__gw_counts_destroy(&t);
}

/* Many more distinct keys than slots, a few at a time: each leaves its
 * slot when its count falls to 0, so the table ends empty. */
static void churn(void **state)
{
    (void)state;
    xt_gw_counts_t t;
    assert_int_equal(xt__gw_counts_init(&t, 4), 0);
    for (uint32_t k = 1; k <= 100000; k++) {
        assert_int_equal(xt__gw_counts_inc(&t, k), 0);
        if (k > 4)
            xt__gw_counts_dec(&t, k - 4);
        assert_true(slots_used(&t) <= 4);
    }
    for (uint32_t k = 100000 - 3; k <= 100000; k++) {
        assert_int_equal(xt__gw_counts_get(&t, k), 1);
        xt__gw_counts_dec(&t, k);
    }
    assert_int_equal(slots_used(&t), 0);
    xt__gw_counts_destroy(&t);
}

/* Random increments and decrements over keys that share home slots,
 * never more than max_keys keys at once, against a plain array. */
static void random_ops(void **state)
{
    (void)state;
    enum { MAX = 16, KEYS = 64 };
    uint32_t want[KEYS] = {0}, live = 0;
    xt_gw_counts_t t;
    assert_int_equal(xt__gw_counts_init(&t, MAX), 0);
    srand(12345);
    for (int step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t)rand() % KEYS;
        uint32_t key = k * (t.mask + 1); /* every key's home is slot 0 ... */
        if (k & 1)
            key = k; /* ... or spread out */
        if (rand() % 2 && (want[k] > 0 || live < MAX)) {
            live += want[k] == 0;
            want[k]++;
            assert_int_equal(xt__gw_counts_inc(&t, key), 0);
        } else {
            live -= want[k] == 1;
            want[k] -= want[k] > 0;
            xt__gw_counts_dec(&t, key);
        }
        if (step % 97 == 0)
            for (uint32_t j = 0; j < KEYS; j++)
                assert_int_equal(xt__gw_counts_get(&t, j & 1 ? j : j * (t.mask + 1)), want[j]);
        assert_int_equal(slots_used(&t), live);
    }
    xt__gw_counts_destroy(&t);
}

/* Full (a caller past max_keys): refused, never a loop without end. */
static void full(void **state)
{
    (void)state;
    xt_gw_counts_t t;
    assert_int_equal(xt__gw_counts_init(&t, 1), 0);
    uint32_t n = t.mask + 1;
    for (uint32_t k = 0; k < n; k++)
        assert_int_equal(xt__gw_counts_inc(&t, k + 1), 0);
    assert_int_equal(xt__gw_counts_inc(&t, n + 1), XT_ELIMIT);
    assert_int_equal(xt__gw_counts_get(&t, n + 1), 0);
    assert_int_equal(xt__gw_counts_inc(&t, 1), 0); /* a key it holds still counts */
    assert_int_equal(xt__gw_counts_get(&t, 1), 2);
    xt__gw_counts_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(up_and_down),
        cmocka_unit_test(churn),
        cmocka_unit_test(random_ops),
        cmocka_unit_test(full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
