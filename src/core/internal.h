/* internal.h - private data structures of the matching core.
 *
 * Memory is a handful of arrays allocated once at init; objects refer to
 * each other by 32-bit index (XT__NIL = none), never by pointer, so the
 * state is position-independent and cheap to copy.
 *
 *   orders[]  64-byte resting orders, a doubly-linked FIFO per price level
 *   levels[]  32-byte price levels: price, total qty, head/tail, count
 *   nodes[]   price-ladder trie nodes (ladder.c)
 *   index[]   open-addressing hash: order id -> order (index.h)
 *
 * Each pool hands out objects LIFO from a free list and otherwise bumps a
 * high-water mark, so a freed object is reused while it is still in cache
 * and pages above the high-water mark are never touched.
 */
#ifndef XT_CORE_INTERNAL_H
#define XT_CORE_INTERNAL_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "xt/engine.h"

#define XT__NIL UINT32_MAX
/* An order's executed quantity stays below this, so the next fill (at most
 * XT_QTY_MAX) cannot overflow; restore and verify refuse more (a snapshot is
 * untrusted input). */
#define XT_FILLED_MAX (INT64_MAX - XT_QTY_MAX)
#define XT__LADDER_MAX_HEIGHT 8 /* 64^8 = 2^48 > XT_PRICE_MAX */

#if defined(__GNUC__)
#define XT__LIKELY(x) __builtin_expect(!!(x), 1)
#define XT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define XT__LIKELY(x) (x)
#define XT__UNLIKELY(x) (x)
#endif

typedef struct xt__order {
    int64_t id;
    int64_t price;
    int64_t qty;    /* remaining */
    int64_t filled; /* executed so far */
    uint64_t seq;   /* command that placed it in its queue */
    uint32_t next;  /* towards the back of the queue; free-list link */
    uint32_t prev;
    uint32_t level;
    uint32_t account;
    uint32_t instrument;
    uint8_t side, type, tif, stp;
} xt__order_t;

typedef struct xt__level {
    int64_t price;
    int64_t qty; /* sum of its orders' qty */
    uint32_t head, tail;
    uint32_t count;
    uint32_t next_free;
} xt__level_t;

/* A 64-ary trie node: bit d of mask says slot[d] is used. In a leaf
 * (height 0) the slots are level indexes; otherwise child node indexes. */
typedef struct xt__node {
    uint64_t mask;
    uint32_t slot[64];
} xt__node_t;

typedef struct xt__side {
    uint32_t root;      /* trie root node or NIL */
    uint32_t best;      /* best level or NIL */
    int64_t best_price; /* valid when best != NIL */
    uint32_t nlevels;
    uint8_t height;   /* trie covers prices [0, 64^height) */
    uint32_t leaf;    /* the leaf last used, or NIL: a one-entry cache */
    int64_t leaf_key; /* price >> 6 of the prices that leaf holds */
} xt__side_t;

typedef struct xt__instrument {
    xt__side_t side[2]; /* XT_BUY, XT_SELL */
    int64_t min_lots, max_lots;
    int64_t band_low, band_high; /* [1, XT_PRICE_MAX] when no band */
    uint8_t has_band;
    uint8_t symlen;
    xt_instrument_def_t def;
} xt__instrument_t;

typedef struct xt__islot {
    int64_t id; /* 0 = empty */
    uint32_t order;
    uint32_t dist; /* probe distance from the id's home slot */
} xt__islot_t;

_Static_assert(sizeof(xt__order_t) == 64, "order node is one cache line");
_Static_assert(sizeof(xt__level_t) == 32, "level is half a cache line");
_Static_assert(sizeof(xt_event_t) == 80, "events stay small: no rep stos, few cache lines");

/* ---- pools ------------------------------------------------------------ */

static inline uint32_t xt__order_alloc(xt_engine_t *e)
{
    uint32_t i = e->order_free;
    if (i != XT__NIL)
        e->order_free = e->orders[i].next;
    else {
        assert(e->order_hwm < e->cfg.max_orders);
        i = e->order_hwm++;
    }
    e->orders_used++;
    return i;
}

static inline void xt__order_release(xt_engine_t *e, uint32_t i)
{
    e->orders[i].next = e->order_free;
    e->orders[i].id = 0;
    e->order_free = i;
    e->orders_used--;
}

static inline uint32_t xt__level_alloc(xt_engine_t *e)
{
    uint32_t i = e->level_free;
    if (i != XT__NIL)
        e->level_free = e->levels[i].next_free;
    else {
        assert(e->level_hwm < e->cfg.max_levels);
        i = e->level_hwm++;
    }
    e->levels_used++;
    return i;
}

static inline void xt__level_release(xt_engine_t *e, uint32_t i)
{
    e->levels[i].next_free = e->level_free;
    e->level_free = i;
    e->levels_used--;
}

static inline uint32_t xt__free_orders(const xt_engine_t *e)
{
    return e->cfg.max_orders - e->orders_used;
}

static inline uint32_t xt__free_levels(const xt_engine_t *e)
{
    return e->cfg.max_levels - e->levels_used;
}

static inline uint32_t xt__free_nodes(const xt_engine_t *e)
{
    return e->cfg.max_ladder_nodes - e->nodes_used;
}

/* ---- events ----------------------------------------------------------- */

/* engine.c: hands the buffered events to the sink as one batch. */
void xt__flush_events(xt_engine_t *e, int last);

/* A new zeroed event of `type`, written in place in the engine's batch
 * buffer (a full buffer is flushed first). Fill it before asking for the
 * next one. */
static inline xt_event_t *xt__event(xt_engine_t *e, uint8_t type)
{
    if (XT__UNLIKELY(e->nev == XT_EVENT_BATCH_MAX))
        xt__flush_events(e, 0);
    /* Zeroed with five 16-byte stores (evbuf is 64-byte aligned, events 80
     * bytes, so each is 16-byte aligned). A memset here became `rep stos`
     * in GCC 12 - trimmed around the fields set next and expanded as a
     * string instruction - and cost 11% of the engine's time. */
    typedef long long zero16_t __attribute__((vector_size(16), may_alias, aligned(16)));
    xt_event_t *ev = &e->evbuf[e->nev++];
    zero16_t *z = (zero16_t *)(void *)ev;
    _Static_assert(sizeof(xt_event_t) == 5 * sizeof(zero16_t), "event is five 16-byte blocks");
    for (int i = 0; i < 5; i++)
        z[i] = (zero16_t){0, 0};
    ev->type = type;
    return ev;
}

/* ---- shared between the core's files ---------------------------------- */

/* match.c */
void xt__on_new(xt_engine_t *e, const xt_order_new_t *o);
/* puts order oi (fields set) at the back of its level, no events; restore.c */
void xt__rest_restored(xt_engine_t *e, uint32_t oi);
void xt__on_cancel(xt_engine_t *e, const xt_order_cancel_t *c);
void xt__on_amend(xt_engine_t *e, const xt_order_amend_t *a);

/* instrument.c: defines an instrument; emit = 0 when restoring */
int xt__add_instrument(xt_engine_t *e, const xt_instrument_def_t *def, int emit);
uint32_t xt__symbol_hash(const char *s, size_t len);

static inline int xt__opposite(int side)
{
    return side ^ 1;
}

/* Does a resting price on the opposite side satisfy an incoming limit?
 * Written without a branch on the side: sides arrive at random, and a
 * mispredicted branch costs more than both comparisons. */
static inline int xt__crosses(int incoming_side, int64_t resting_price, int64_t limit)
{
    int sell = incoming_side == XT_SELL;
    return ((resting_price <= limit) & !sell) | ((resting_price >= limit) & sell);
}

/* Is price `a` better than `b` for a resting order on `side`? (No branch.) */
static inline int xt__better(int side, int64_t a, int64_t b)
{
    int sell = side == XT_SELL;
    return ((a > b) & !sell) | ((a < b) & sell);
}

#endif
