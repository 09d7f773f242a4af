/* test_md_feed.c - the engine -> market-data ring (src/server/md_feed.h):
 * records written, published and consumed in order with their command's
 * last record flagged; a full ring drops events, counts them and marks
 * their instruments' books lost (a lost trade is counted, not marked: no
 * book to write again); while a resync is under way (covered_from), the
 * events of instruments whose books it is still to write are dropped and
 * marked without being counted, since that resync covers them, and the
 * others still count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "server/md_feed.h"

/* A command of n BOOK events on instrument inst. */
static void command(xt_md_feed_t *f, uint64_t seq, uint32_t inst, uint32_t n)
{
    xt_event_t ev[8] = {0};
    assert_true(n <= 8);
    for (uint32_t i = 0; i < n; i++)
        ev[i] = (xt_event_t){.type = XT_EV_BOOK, .instrument = inst, .price = 100 + i, .qty = 1};
    xt_event_batch_t b = {.seq = seq, .ts = (int64_t)seq, .last = 1, .n = n, .events = ev};
    xt_md_feed_batch(f, &b);
}

static uint64_t dropped(xt_md_feed_t *f)
{
    return atomic_load(&f->dropped);
}

static void consume_all(xt_md_feed_t *f)
{
    atomic_store(&f->tail, atomic_load(&f->head));
}

static int setup(void **state)
{
    xt_md_feed_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(xt_md_feed_init(f, 64, 8, 0), 0); /* 64 records, 8 instruments */
    f->on = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    xt_md_feed_destroy(*state);
    free(*state);
    return 0;
}

static void records_in_order(void **state)
{
    xt_md_feed_t *f = *state;
    assert_int_equal(f->covered_from, UINT32_MAX);
    command(f, 1, 0, 3);
    command(f, 2, 1, 2);
    assert_int_equal(atomic_load(&f->head), 0); /* nothing shown before the commit */
    xt_md_feed_publish(f);
    assert_int_equal(atomic_load(&f->head), 5);
    const uint64_t seqs[5] = {1, 1, 1, 2, 2};
    const uint8_t lasts[5] = {0, 0, 1, 0, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f->v[i].seq, seqs[i]);
        assert_int_equal(f->v[i].last, lasts[i]);
        assert_int_equal(f->v[i].resync, 0);
    }
    assert_int_equal(dropped(f), 0);
}

static void full_ring_counts_drops(void **state)
{
    xt_md_feed_t *f = *state;
    for (uint64_t s = 1; s <= 8; s++)
        command(f, s, (uint32_t)s % 4, 8); /* 64: full */
    assert_int_equal(dropped(f), 0);
    command(f, 9, 2, 5);
    assert_int_equal(dropped(f), 5);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(f->lost[i], i == 2);
    xt_event_t tr = {.type = XT_EV_TRADE, .instrument = 3, .price = 100, .qty = 1};
    xt_event_batch_t b = {.seq = 10, .ts = 10, .last = 1, .n = 1, .events = &tr};
    xt_md_feed_batch(f, &b);
    assert_int_equal(dropped(f), 6);
    assert_int_equal(f->lost[3], 0);
    xt_md_feed_publish(f);
    consume_all(f);
    command(f, 11, 2, 5); /* room again */
    assert_int_equal(dropped(f), 6);
}

/* A resync under way that is still to write instruments >= 2: what they
 * lose is covered, what 0 and 1 (already written) lose counts. */
static void resync_covers_books_still_to_write(void **state)
{
    xt_md_feed_t *f = *state;
    for (uint64_t s = 1; s <= 8; s++)
        command(f, s, 0, 8); /* full */
    f->covered_from = 2;
    command(f, 9, 2, 4);
    command(f, 10, 7, 3);
    assert_int_equal(dropped(f), 0);
    command(f, 11, 1, 2);
    command(f, 12, 0, 1);
    assert_int_equal(dropped(f), 3);
    assert_true(f->lost[0] && f->lost[1] && f->lost[2] && f->lost[7]); /* covered or not, each book is marked */
    assert_true(!f->lost[3] && !f->lost[4]);
    f->covered_from = 0; /* a pass begun, nothing written yet: every book is still to come */
    command(f, 13, 0, 6);
    assert_int_equal(dropped(f), 3);
    f->covered_from = UINT32_MAX; /* the pass ended */
    command(f, 14, 5, 2);
    assert_int_equal(dropped(f), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(full_ring_counts_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_covers_books_still_to_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
