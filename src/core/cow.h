/* cow.h - the claim protocol of a checkpoint written by a helper thread
 * while its owner goes on changing the table (copy on write, by hand):
 * the market-data state's instruments (md/state.c) and the REST fills
 * (server/md_fills.c).
 *
 * The table is cut into units (a chunk of a ring, an instrument's closed
 * minutes). At the checkpoint's beginning the owner marks the units that
 * hold something of it PENDING. A unit goes PENDING -> CLAIMED -> DONE:
 * whichever thread swaps it to CLAIMED first writes its bytes as they are
 * and releases DONE. The helper claims every unit in turn; the owner,
 * about to change a unit, claims it first, or waits while the helper is
 * writing it (one unit: microseconds), and changes it only once it has
 * seen DONE (acquire) - so every unit is written as it was at the
 * beginning. OUT (never marked) and DONE (of an earlier checkpoint) both
 * mean nothing to do.
 */
#ifndef XT_CORE_COW_H
#define XT_CORE_COW_H

#include <stdatomic.h>
#include <stdint.h>

enum { XT_COW_OUT = 0, XT_COW_PENDING, XT_COW_CLAIMED, XT_COW_DONE };

/* 1 when the caller now holds the unit and must write it, then call
 * xt_cow_done; 0 when it was not PENDING. */
static inline int xt_cow_claim(_Atomic uint8_t *st)
{
    uint8_t want = XT_COW_PENDING;
    return atomic_compare_exchange_strong_explicit(st, &want, XT_COW_CLAIMED, memory_order_acquire,
                                                   memory_order_acquire);
}

static inline void xt_cow_done(_Atomic uint8_t *st)
{
    atomic_store_explicit(st, XT_COW_DONE, memory_order_release);
}

/* Returns once the unit is not being written by the other thread. */
static inline void xt_cow_wait(_Atomic uint8_t *st)
{
    while (atomic_load_explicit(st, memory_order_acquire) == XT_COW_CLAIMED)
        ; /* one unit: microseconds */
}

/* 1 when the unit still has to be written (PENDING or CLAIMED). */
static inline int xt_cow_open(_Atomic uint8_t *st)
{
    uint8_t s = atomic_load_explicit(st, memory_order_acquire);
    return s == XT_COW_PENDING || s == XT_COW_CLAIMED;
}

/* Marks a unit of a checkpoint that is beginning (relaxed: the hand-over
 * to the helper thread, pthread_create, publishes it). */
static inline void xt_cow_mark(_Atomic uint8_t *st)
{
    atomic_store_explicit(st, XT_COW_PENDING, memory_order_relaxed);
}

#endif
