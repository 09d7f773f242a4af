/* ladder.c - the 64-ary bitmap trie behind each book side (see ladder.h). */
#include "ladder.h"

static inline unsigned digit(int64_t price, unsigned height)
{
    return (unsigned)((uint64_t)price >> (6 * height)) & 63;
}

static inline uint32_t node_alloc(xt_engine_t *e)
{
    uint32_t i = e->node_free;
    if (i != XT__NIL)
        e->node_free = e->nodes[i].slot[0];
    else {
        assert(e->node_hwm < e->cfg.max_ladder_nodes);
        i = e->node_hwm++;
    }
    e->nodes_used++;
    e->nodes[i].mask = 0;
    return i;
}

static inline void node_release(xt_engine_t *e, uint32_t i)
{
    e->nodes[i].slot[0] = e->node_free;
    e->node_free = i;
    e->nodes_used--;
}

/* Level at price, and the leaf holding (or that would hold) it if any. */
static uint32_t find_in(const xt_engine_t *e, const xt__side_t *s, int64_t price, uint32_t *leaf)
{
    *leaf = XT__NIL;
    if (s->leaf != XT__NIL && (price >> 6) == s->leaf_key) {
        const xt__node_t *lf = &e->nodes[s->leaf];
        unsigned d = (unsigned)price & 63;
        return (lf->mask >> d) & 1 ? lf->slot[d] : XT__NIL;
    }
    if (s->root == XT__NIL || ((uint64_t)price >> (6 * s->height)) != 0)
        return XT__NIL;
    uint32_t n = s->root;
    for (unsigned h = s->height - 1u;; h--) {
        const xt__node_t *nd = &e->nodes[n];
        unsigned d = digit(price, h);
        if (h == 0) {
            *leaf = n;
            return (nd->mask >> d) & 1 ? nd->slot[d] : XT__NIL;
        }
        if (!((nd->mask >> d) & 1))
            return XT__NIL;
        n = nd->slot[d];
    }
}

uint32_t xt__ladder_find(const xt_engine_t *e, const xt__side_t *s, int64_t price)
{
    uint32_t leaf;
    return find_in(e, s, price, &leaf);
}

uint32_t xt__ladder_lookup(const xt_engine_t *e, xt__side_t *s, int64_t price)
{
    uint32_t leaf, li = find_in(e, s, price, &leaf);
    if (leaf != XT__NIL) {
        s->leaf = leaf;
        s->leaf_key = price >> 6;
    }
    return li;
}

int xt__ladder_has_room(const xt_engine_t *e, const xt__side_t *s, int64_t price)
{
    /* Upper bound on the nodes an insert can allocate: new roots to grow
     * the trie plus one node per level of the path. */
    unsigned need = xt__ladder_height_for(price);
    if (s->root != XT__NIL && s->height > need)
        need = s->height;
    need *= 2;
    return xt__free_nodes(e) >= need;
}

void xt__ladder_insert(xt_engine_t *e, xt__side_t *s, int64_t price, uint32_t level)
{
    unsigned d = digit(price, 0);
    if (s->leaf != XT__NIL && (price >> 6) == s->leaf_key) {
        xt__node_t *lf = &e->nodes[s->leaf];
        assert(!((lf->mask >> d) & 1));
        lf->mask |= UINT64_C(1) << d;
        lf->slot[d] = level;
        return;
    }
    unsigned h = xt__ladder_height_for(price);
    if (s->root == XT__NIL) {
        s->root = node_alloc(e);
        s->height = (uint8_t)h;
    }
    while (s->height < h) { /* grow: the old root becomes child 0 */
        uint32_t r = node_alloc(e);
        e->nodes[r].mask = 1;
        e->nodes[r].slot[0] = s->root;
        s->root = r;
        s->height++;
    }
    uint32_t n = s->root;
    for (unsigned lv = s->height - 1u; lv > 0; lv--) {
        unsigned dd = digit(price, lv);
        if (!((e->nodes[n].mask >> dd) & 1)) {
            uint32_t c = node_alloc(e);
            e->nodes[n].mask |= UINT64_C(1) << dd;
            e->nodes[n].slot[dd] = c;
        }
        n = e->nodes[n].slot[dd];
    }
    assert(!((e->nodes[n].mask >> d) & 1));
    e->nodes[n].mask |= UINT64_C(1) << d;
    e->nodes[n].slot[d] = level;
    s->leaf = n;
    s->leaf_key = price >> 6;
}

void xt__ladder_remove(xt_engine_t *e, xt__side_t *s, int64_t price)
{
    if (s->leaf != XT__NIL && (price >> 6) == s->leaf_key) {
        xt__node_t *lf = &e->nodes[s->leaf];
        uint64_t m = lf->mask & ~(UINT64_C(1) << (price & 63));
        if (m != 0) { /* the leaf stays: nothing above it changes */
            lf->mask = m;
            return;
        }
    }
    uint32_t path[XT__LADDER_MAX_HEIGHT];
    uint32_t n = s->root;
    for (unsigned lv = s->height - 1u;; lv--) {
        path[lv] = n;
        if (lv == 0)
            break;
        n = e->nodes[n].slot[digit(price, lv)];
    }
    for (unsigned lv = 0; lv < s->height; lv++) {
        xt__node_t *nd = &e->nodes[path[lv]];
        nd->mask &= ~(UINT64_C(1) << digit(price, lv));
        if (nd->mask != 0) {
            if (lv == 0) {
                s->leaf = path[0];
                s->leaf_key = price >> 6;
            }
            return;
        }
        if (path[lv] == s->leaf)
            s->leaf = XT__NIL;
        node_release(e, path[lv]);
    }
    s->root = XT__NIL; /* the whole trie emptied */
    s->height = 0;
}

/* Level of the smallest (desc == 0) or largest key under node n at height h. */
static uint32_t extreme(const xt_engine_t *e, uint32_t n, unsigned h, int desc)
{
    for (;;) {
        uint64_t m = e->nodes[n].mask;
        assert(m != 0);
        unsigned b = desc ? 63u - (unsigned)__builtin_clzll(m) : (unsigned)__builtin_ctzll(m);
        if (h == 0)
            return e->nodes[n].slot[b];
        n = e->nodes[n].slot[b];
        h--;
    }
}

uint32_t xt__ladder_next(const xt_engine_t *e, const xt__side_t *s, int64_t price, int desc)
{
    if (s->leaf != XT__NIL && (price >> 6) == s->leaf_key) { /* most often the answer is next door */
        const xt__node_t *lf = &e->nodes[s->leaf];
        unsigned d = (unsigned)price & 63;
        uint64_t m = desc ? lf->mask & ((UINT64_C(1) << d) - 1) : lf->mask & (~UINT64_C(1) << d);
        if (m)
            return lf->slot[desc ? 63u - (unsigned)__builtin_clzll(m) : (unsigned)__builtin_ctzll(m)];
    }
    if (s->root == XT__NIL)
        return XT__NIL;
    unsigned top = s->height - 1u;
    if (((uint64_t)price >> (6 * s->height)) != 0) /* above every key */
        return desc ? extreme(e, s->root, top, 1) : XT__NIL;

    /* Walk down along price as far as the trie goes. */
    uint32_t path[XT__LADDER_MAX_HEIGHT];
    uint32_t n = s->root;
    unsigned lv = top;
    for (;;) {
        path[lv] = n;
        unsigned d = digit(price, lv);
        if (lv == 0 || !((e->nodes[n].mask >> d) & 1))
            break;
        n = e->nodes[n].slot[d];
        lv--;
    }
    /* Climb until a node has an occupied slot strictly beyond our digit. */
    for (;; lv++) {
        const xt__node_t *nd = &e->nodes[path[lv]];
        unsigned d = digit(price, lv);
        uint64_t m = desc ? nd->mask & ((UINT64_C(1) << d) - 1) : nd->mask & (~UINT64_C(1) << d);
        if (m) {
            unsigned b = desc ? 63u - (unsigned)__builtin_clzll(m) : (unsigned)__builtin_ctzll(m);
            return lv == 0 ? nd->slot[b] : extreme(e, nd->slot[b], lv - 1, desc);
        }
        if (lv == top)
            return XT__NIL;
    }
}
