/* ladder.h - the price ladder of one book side: price -> level, in order.
 *
 * A 64-ary bitmap trie keyed by the price in ticks (a small radix tree in
 * the spirit of a van Emde Boas layout): each node holds a 64-bit occupancy
 * mask and 64 slots; leaves map prices to levels. Height h covers prices
 * [0, 64^h): three levels for prices below 262,144 ticks, four below 16.7M.
 *
 * Why this and not a flat array or a balanced tree (measured, see
 * bench/RESULTS.md and docs/matching.md): lookup, insert and delete touch h
 * nodes, and the nodes around the best price are hot in cache; finding the
 * next level after the best empties is a bit scan (ctz/clz) in the same
 * leaf in almost all cases; memory grows with the number of occupied
 * 64-tick windows, not with the price range, so a 60% swing costs nothing
 * extra. All nodes come from one engine-wide pool.
 *
 * Each side also remembers the leaf it used last. Nearly all activity is
 * within 64 ticks of the best price, so most lookups, inserts, removals and
 * next-level searches touch that one leaf and nothing above it.
 */
#ifndef XT_CORE_LADDER_H
#define XT_CORE_LADDER_H

#include "internal.h"

/* Level at `price` or XT__NIL. */
uint32_t xt__ladder_find(const xt_engine_t *e, const xt__side_t *s, int64_t price);

/* The same, remembering the leaf it reached (for the matching path). */
uint32_t xt__ladder_lookup(const xt_engine_t *e, xt__side_t *s, int64_t price);

/* Records level `level` at `price` (not present). The caller has checked
 * xt__ladder_has_room(). */
void xt__ladder_insert(xt_engine_t *e, xt__side_t *s, int64_t price, uint32_t level);

/* Forgets `price` (present), freeing nodes that become empty. */
void xt__ladder_remove(xt_engine_t *e, xt__side_t *s, int64_t price);

/* The level following `price` in the side's priority order: the next lower
 * price for bids (desc != 0), the next higher for asks. `price` itself
 * need not be present. Returns XT__NIL when there is none. */
uint32_t xt__ladder_next(const xt_engine_t *e, const xt__side_t *s, int64_t price, int desc);

/* Can a new level at `price` be inserted with the free nodes left? */
int xt__ladder_has_room(const xt_engine_t *e, const xt__side_t *s, int64_t price);

/* Smallest trie height whose range [0, 64^h) contains price (price >= 0). */
static inline unsigned xt__ladder_height_for(int64_t price)
{
    unsigned bits = price > 0 ? 64u - (unsigned)__builtin_clzll((uint64_t)price) : 1u;
    return (bits + 5) / 6;
}

/* A new side: no trie, no best, no cached leaf. */
static inline void xt__ladder_init(xt__side_t *s)
{
    s->root = s->best = s->leaf = XT__NIL;
    s->height = 0;
    s->nlevels = 0;
}

#endif
