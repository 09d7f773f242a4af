/* query.c - read-only views of the books: best levels, quantities at a
 * price, orders by id, level and order iteration, statistics. */
#include <string.h>

#include "index.h"
#include "internal.h"
#include "ladder.h"
#include "xt/error.h"

static const xt__side_t *side_of(const xt_engine_t *e, uint32_t instrument, int side)
{
    if (instrument >= e->n_instruments || (side != XT_BUY && side != XT_SELL))
        return NULL;
    return &e->instruments[instrument].side[side];
}

static void level_info(const xt__level_t *lv, xt_level_info_t *out)
{
    out->price = lv->price;
    out->qty = lv->qty;
    out->orders = lv->count;
}

int xt_engine_best(const xt_engine_t *e, uint32_t instrument, xt_side_t side, xt_level_info_t *out)
{
    const xt__side_t *s = side_of(e, instrument, side);
    if (!s || s->best == XT__NIL)
        return XT_ENOENT;
    level_info(&e->levels[s->best], out);
    return 0;
}

int64_t xt_engine_qty_at(const xt_engine_t *e, uint32_t instrument, xt_side_t side, int64_t price)
{
    const xt__side_t *s = side_of(e, instrument, side);
    if (!s || price <= 0 || price > XT_PRICE_MAX)
        return 0;
    uint32_t li = xt__ladder_find(e, s, price);
    return li == XT__NIL ? 0 : e->levels[li].qty;
}

static void order_info(const xt__order_t *o, xt_order_info_t *out)
{
    out->id = o->id;
    out->account = o->account;
    out->instrument = o->instrument;
    out->side = o->side;
    out->type = o->type;
    out->tif = o->tif;
    out->stp = o->stp;
    out->price = o->price;
    out->qty = o->qty;
    out->filled = o->filled;
    out->seq = o->seq;
}

int xt_engine_order(const xt_engine_t *e, int64_t id, xt_order_info_t *out)
{
    if (id <= 0)
        return XT_ENOENT;
    uint32_t oi = xt__index_find(e, id);
    if (oi == XT__NIL)
        return XT_ENOENT;
    order_info(&e->orders[oi], out);
    return 0;
}

void xt_level_iter_init(xt_level_iter_t *it, const xt_engine_t *e, uint32_t instrument, xt_side_t side)
{
    const xt__side_t *s = side_of(e, instrument, side);
    it->e = e;
    it->instrument = instrument;
    it->side = (uint8_t)side;
    it->level = s ? s->best : XT__NIL;
}

int xt_level_iter_next(xt_level_iter_t *it, xt_level_info_t *out)
{
    if (it->level == XT__NIL)
        return 0;
    const xt__level_t *lv = &it->e->levels[it->level];
    level_info(lv, out);
    const xt__side_t *s = side_of(it->e, it->instrument, it->side);
    it->level = xt__ladder_next(it->e, s, lv->price, it->side == XT_BUY);
    return 1;
}

void xt_order_iter_init(xt_order_iter_t *it, const xt_engine_t *e, uint32_t instrument, xt_side_t side, int64_t price)
{
    const xt__side_t *s = side_of(e, instrument, side);
    it->e = e;
    it->order = XT__NIL;
    if (s && price > 0 && price <= XT_PRICE_MAX) {
        uint32_t li = xt__ladder_find(e, s, price);
        if (li != XT__NIL)
            it->order = e->levels[li].head;
    }
}

int xt_order_iter_next(xt_order_iter_t *it, xt_order_info_t *out)
{
    if (it->order == XT__NIL)
        return 0;
    const xt__order_t *o = &it->e->orders[it->order];
    order_info(o, out);
    it->order = o->next;
    return 1;
}

void xt_engine_stats(const xt_engine_t *e, xt_engine_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->last_seq = e->last_seq;
    out->trades = e->trades;
    out->instruments = e->n_instruments;
    out->orders = e->orders_used;
    out->levels = e->levels_used;
    out->ladder_nodes = e->nodes_used;
    out->peak_orders = e->order_hwm;
    out->peak_levels = e->level_hwm;
    out->peak_ladder_nodes = e->node_hwm;
    out->cfg = e->cfg;
}
