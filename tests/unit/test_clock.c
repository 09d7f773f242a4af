/* test_clock.c - the market's clock (src/server/clock.h): the wall clock,
 * held at the latest time given while a reading is earlier; a floor set at
 * start counts as given; the wall clock goes on once it passes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/clock.h"

static void holds_while_behind(void **state)
{
    (void)state;
    _Atomic int64_t floor = INT64_MIN;
    assert_int_equal(xt__market_step(&floor, 1000), 1000);
    assert_int_equal(xt__market_step(&floor, 1500), 1500);
    assert_int_equal(xt__market_step(&floor, 900), 1500); /* the clock stepped back: held */
    assert_int_equal(xt__market_step(&floor, 1499), 1500);
    assert_int_equal(xt__market_step(&floor, 1501), 1501); /* caught up: the wall clock again */
    assert_int_equal(floor, 1501);
}

static void floor_from_start(void **state)
{
    (void)state;
    _Atomic int64_t floor = INT64_MIN;
    assert_int_equal(xt__market_step(&floor, 7200), 7200); /* xt_market_floor(7200): the journal's last */
    assert_int_equal(xt__market_step(&floor, 100), 7200);  /* the clock, two hours behind it */
    assert_int_equal(xt__market_step(&floor, 7300), 7300);
}

/* The process's clock: never earlier than a floor set above the wall
 * clock, and how far behind the wall clock is. */
static void process_clock(void **state)
{
    (void)state;
    assert_int_equal(xt_market_held_ns(), 0); /* nothing given yet: not behind (the floor is INT64_MIN) */
    int64_t ahead = xt_now_ns() + INT64_C(3600000000000);
    xt_market_floor(ahead);
    assert_true(xt_market_ns() >= ahead);
    int64_t held = xt_market_held_ns();
    assert_true(held > INT64_C(3500000000000) && held <= INT64_C(3600000000000));
    int64_t a = xt_market_ns(), b = xt_market_ns();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(holds_while_behind),
        cmocka_unit_test(floor_from_start),
        cmocka_unit_test(process_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
