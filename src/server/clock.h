/* clock.h - the server's clocks.
 *
 * xt_now_ns(): the wall clock (CLOCK_REALTIME, plus the test hook
 * debug.clock_offset_ms). xt_mono_ns(): CLOCK_MONOTONIC, for intervals.
 *
 * xt_market_ns(): the time the market runs on - the engine's batch
 * timestamps (journaled, so replay and `md rebuild` see the same) and the
 * market-data thread's clock (candles, the timeline, the throttled
 * channels). It is the wall clock, but never earlier than a time it has
 * already given, here or before a restart (xt_market_floor): when the
 * system clock steps back (an NTP correction, a VM restored), the market's
 * time holds where it was until the wall clock catches up, so no trade is
 * stamped before the one before it, no candle is reopened, and what
 * recovery rebuilds from the journal is what the running server showed.
 * Logs, LOGIN clock-skew checks and HELLO keep the wall clock.
 */
#ifndef XT_SERVER_CLOCK_H
#define XT_SERVER_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

int64_t xt_now_ns(void);    /* CLOCK_REALTIME (+ xt__clock_offset_ns) */
int64_t xt_system_ns(void); /* CLOCK_REALTIME alone: the host's time, for operators (metrics' timestamps) */
int64_t xt_mono_ns(void);   /* CLOCK_MONOTONIC */

/* The market's time now (above); any thread. */
int64_t xt_market_ns(void);
/* Raises the market's time to at least t (at start: the journal's last
 * timestamp, market data's state and history); any thread. */
void xt_market_floor(int64_t t);
/* How far the wall clock is behind the market's time, ns (0: not behind). */
int64_t xt_market_held_ns(void);

/* The step behind xt_market_ns(), on a given floor and wall-clock reading:
 * max(wall, *floor), raising *floor to it (for the unit test). */
int64_t xt__market_step(_Atomic int64_t *floor, int64_t wall);

extern int64_t xt__clock_offset_ns; /* the test hook debug.clock_offset_ms, in ns */

#endif
