/* verify.c - exhaustive invariant check of the engine state (tests, fuzzing,
 * recovery). Each failure names the broken invariant. */
#include "index.h"
#include "internal.h"
#include "ladder.h"
#include "xt/error.h"

#define FAIL(msg)                                                                                                      \
    do {                                                                                                               \
        if (why)                                                                                                       \
            *why = (msg);                                                                                              \
        return XT_ECORRUPT;                                                                                            \
    } while (0)

/* Counts the nodes reachable from a subtree and checks no node is empty. */
static int count_nodes(const xt_engine_t *e, uint32_t n, unsigned h, uint64_t *nodes, uint64_t *leaves_slots)
{
    if (n >= e->node_hwm)
        return -1;
    const xt__node_t *nd = &e->nodes[n];
    if (nd->mask == 0)
        return -1;
    (*nodes)++;
    if (h == 0) {
        *leaves_slots += (uint64_t)__builtin_popcountll(nd->mask);
        return 0;
    }
    for (uint64_t m = nd->mask; m; m &= m - 1)
        if (count_nodes(e, nd->slot[__builtin_ctzll(m)], h - 1, nodes, leaves_slots))
            return -1;
    return 0;
}

/* Is the side's cached leaf really the trie's leaf for its key? */
static int leaf_cache_ok(const xt_engine_t *e, const xt__side_t *s)
{
    if (s->leaf == XT__NIL)
        return 1;
    if (s->root == XT__NIL || s->leaf_key < 0 || ((uint64_t)s->leaf_key >> (6 * (s->height - 1u))) != 0)
        return 0;
    uint32_t n = s->root;
    for (unsigned h = s->height - 1u; h > 0; h--) {
        unsigned d = (unsigned)((uint64_t)s->leaf_key >> (6 * (h - 1u))) & 63;
        if (!((e->nodes[n].mask >> d) & 1))
            return 0;
        n = e->nodes[n].slot[d];
    }
    return n == s->leaf;
}

static int verify_side(const xt_engine_t *e, uint32_t ii, int side, const char **why, uint64_t *orders,
                       uint64_t *levels, uint64_t *nodes)
{
    const xt__side_t *s = &e->instruments[ii].side[side];
    uint64_t slots = 0, nlev = 0;
    if (s->root != XT__NIL && count_nodes(e, s->root, s->height - 1u, nodes, &slots))
        FAIL("ladder trie has an empty or out-of-range node");
    if (!leaf_cache_ok(e, s))
        FAIL("cached ladder leaf is not the trie's leaf for its prices");
    if ((s->root == XT__NIL) != (s->best == XT__NIL))
        FAIL("best level cache disagrees with the ladder");
    if (s->best != XT__NIL && s->best_price != e->levels[s->best].price)
        FAIL("cached best price differs from the best level's price");
    if (s->best != XT__NIL && xt__ladder_next(e, s, s->best_price, side != XT_BUY) != XT__NIL)
        FAIL("a level is better than the cached best");
    int64_t prev_price = 0;
    for (uint32_t li = s->best; li != XT__NIL;) {
        if (li >= e->level_hwm)
            FAIL("level index out of range");
        const xt__level_t *lv = &e->levels[li];
        if (nlev && !xt__better(side, prev_price, lv->price))
            FAIL("levels out of price order");
        if (lv->price <= 0 || lv->price > XT_PRICE_MAX)
            FAIL("level price out of range");
        if (xt__ladder_find(e, s, lv->price) != li)
            FAIL("ladder does not map a level's price to it");
        int64_t sum = 0;
        uint32_t cnt = 0, prev = XT__NIL;
        for (uint32_t oi = lv->head; oi != XT__NIL; oi = e->orders[oi].next) {
            if (oi >= e->order_hwm)
                FAIL("order index out of range");
            const xt__order_t *o = &e->orders[oi];
            if (o->qty <= 0 || o->qty > XT_QTY_MAX)
                FAIL("resting quantity not positive");
            if (o->filled < 0 || o->filled > XT_FILLED_MAX)
                FAIL("filled quantity out of range");
            if (o->id <= 0 || o->level != li || o->price != lv->price || o->side != side || o->instrument != ii)
                FAIL("order fields disagree with its level");
            if (o->prev != prev)
                FAIL("queue back-link broken");
            if (xt__index_find(e, o->id) != oi)
                FAIL("id index does not map a resting order to itself");
            if (o->type != XT_LIMIT || (o->tif != XT_GTC && o->tif != XT_POST))
                FAIL("a resting order is not a GTC/POST limit order");
            sum += o->qty;
            cnt++;
            prev = oi;
            if (cnt > e->orders_used)
                FAIL("queue cycle");
        }
        if (lv->tail != prev)
            FAIL("level tail is not its last order");
        if (cnt == 0)
            FAIL("empty level left in the book");
        if (sum != lv->qty || cnt != lv->count)
            FAIL("level total or count differs from its orders");
        *orders += cnt;
        nlev++;
        prev_price = lv->price;
        li = xt__ladder_next(e, s, lv->price, side == XT_BUY);
    }
    if (nlev != slots || nlev != s->nlevels)
        FAIL("level count differs from the ladder");
    *levels += nlev;
    return 0;
}

int xt_engine_verify(const xt_engine_t *e, const char **why)
{
    uint64_t orders = 0, levels = 0, nodes = 0;
    for (uint32_t i = 0; i < e->n_instruments; i++) {
        for (int side = 0; side < 2; side++) {
            int rc = verify_side(e, i, side, why, &orders, &levels, &nodes);
            if (rc)
                return rc;
        }
        const xt__instrument_t *in = &e->instruments[i];
        if (in->side[XT_BUY].best != XT__NIL && in->side[XT_SELL].best != XT__NIL &&
            in->side[XT_BUY].best_price >= in->side[XT_SELL].best_price)
            FAIL("book is crossed");
    }
    if (orders != e->orders_used)
        FAIL("resting orders differ from the order pool's count");
    if (levels != e->levels_used)
        FAIL("levels differ from the level pool's count");
    if (nodes != e->nodes_used)
        FAIL("ladder nodes differ from the node pool's count");
    uint64_t ids = 0;
    for (uint64_t k = 0; k <= e->index_mask; k++)
        if (e->index[k].id != 0) {
            ids++;
            uint32_t oi = e->index[k].order;
            if (oi >= e->order_hwm || e->orders[oi].id != e->index[k].id)
                FAIL("id index entry points at the wrong order");
            if (((k - xt__id_hash(e->index[k].id)) & e->index_mask) != e->index[k].dist)
                FAIL("id index slot records the wrong probe distance");
            uint64_t next = (k + 1) & e->index_mask;
            if (e->index[next].id != 0 && e->index[next].dist > e->index[k].dist + 1)
                FAIL("id index breaks Robin Hood order");
        }
    if (ids != orders)
        FAIL("id index holds ids that are not resting");
    return 0;
}
