/* index.h - the order-id index: id -> resting order, O(1).
 *
 * Open addressing over a power-of-two table at most half full (capacity
 * >= 2 * max_orders), with Robin Hood ordering: an id being inserted takes
 * the slot of any id that is closer to its own home slot, so within a run
 * of occupied slots ids are in order of their home slots. Each slot records
 * its probe distance. Lookups stop at an empty slot or at an id closer to
 * home than the one sought; deletion shifts the following ids back one slot
 * and stops at an empty slot or at an id already in its home slot. No
 * tombstones, so churn does not degrade it.
 *
 * The hash keeps the low bits of the id and folds the high bits in. Order
 * ids are mostly assigned sequentially (by the gateway, or by a client
 * counting up), and with this hash consecutive ids land in consecutive
 * slots: the ids alive at any moment sit in a few hot cache lines instead of
 * being scattered over the whole table, and almost every id sits in its
 * home slot, so a deletion looks at one neighbour (measured in
 * bench/RESULTS.md). It is not a keyed hash: ids are chosen by
 * authenticated submitters, and the server assigns its own exchange ids.
 */
#ifndef XT_CORE_INDEX_H
#define XT_CORE_INDEX_H

#include "internal.h"

static inline uint64_t xt__id_hash(int64_t id)
{
    uint64_t x = (uint64_t)id;
    return x ^ (x >> 23) ^ (x >> 46);
}

/* Returns the order index for `id`, or XT__NIL. */
static inline uint32_t xt__index_find(const xt_engine_t *e, int64_t id)
{
    const xt__islot_t *t = e->index;
    uint64_t m = e->index_mask;
    uint64_t i = xt__id_hash(id) & m;
    for (uint32_t d = 0;; d++, i = (i + 1) & m) {
        if (t[i].id == id)
            return t[i].order;
        if (t[i].id == 0 || t[i].dist < d)
            return XT__NIL;
    }
}

/* Inserts id -> order; id must not be present. The table can never be
 * full: it holds at most max_orders ids in 2 * max_orders slots. */
static inline void xt__index_insert(xt_engine_t *e, int64_t id, uint32_t order)
{
    xt__islot_t *t = e->index;
    uint64_t m = e->index_mask;
    uint64_t i = xt__id_hash(id) & m;
    xt__islot_t cur = {id, order, 0};
    for (;; i = (i + 1) & m, cur.dist++) {
        if (t[i].id == 0) {
            t[i] = cur;
            return;
        }
        assert(t[i].id != cur.id);
        if (t[i].dist < cur.dist) { /* take from the rich */
            xt__islot_t tmp = t[i];
            t[i] = cur;
            cur = tmp;
        }
    }
}

/* Removes `id`, which must be present. */
static inline void xt__index_remove(xt_engine_t *e, int64_t id)
{
    xt__islot_t *t = e->index;
    uint64_t m = e->index_mask;
    uint64_t i = xt__id_hash(id) & m;
    while (t[i].id != id) {
        assert(t[i].id != 0);
        i = (i + 1) & m;
    }
    for (;;) {
        uint64_t j = (i + 1) & m;
        if (t[j].id == 0 || t[j].dist == 0)
            break;
        t[i] = t[j];
        t[i].dist--;
        i = j;
    }
    t[i].id = 0;
}

#endif
