/* clock.c - the server's clocks (see clock.h). */
#include "clock.h"

#include <time.h>

int64_t xt__clock_offset_ns; /* debug.clock_offset_ms: set before any thread starts */

/* The latest market time given (or set by xt_market_floor). */
static _Atomic int64_t market_floor = INT64_MIN;

int64_t xt_system_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t xt_now_ns(void)
{
    return xt_system_ns() + xt__clock_offset_ns;
}

int64_t xt_mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* seq_cst (free on x86: a plain load, a lock cmpxchg): market data's
 * clock relies on the floor's accesses and md_feed's batch_open being in
 * one total order (xt_md_feed_horizon) - relaxed ones could pass a
 * seq_cst store or load on weaker CPUs (aarch64). */
int64_t xt__market_step(_Atomic int64_t *floor, int64_t wall)
{
    int64_t f = atomic_load(floor);
    while (wall > f)
        if (atomic_compare_exchange_weak(floor, &f, wall))
            return wall;
    return f; /* the wall clock is behind a time already given: hold it */
}

int64_t xt_market_ns(void)
{
    return xt__market_step(&market_floor, xt_now_ns());
}

void xt_market_floor(int64_t t)
{
    (void)xt__market_step(&market_floor, t);
}

int64_t xt_market_held_ns(void)
{
    int64_t f = atomic_load_explicit(&market_floor, memory_order_relaxed), now = xt_now_ns();
    return f > now ? f - now : 0; /* (never f - now unchecked: f starts at INT64_MIN) */
}
