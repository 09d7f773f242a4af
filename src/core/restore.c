/* restore.c - rebuilding a saved state (snapshot) in a fresh engine. */
#include "index.h"
#include "internal.h"
#include "ladder.h"
#include "xt/error.h"

/* Fresh: no command applied and no counters set, and none being applied
 * (the first command's sink runs before its sequence number is taken).
 * Instruments and orders may already have been restored. */
static int fresh(const xt_engine_t *e)
{
    return e->last_seq == 0 && e->trades == 0 && !e->in_sink;
}

int xt_engine_restore_instrument(xt_engine_t *e, const xt_instrument_def_t *def)
{
    if (!fresh(e) || e->orders_used != 0)
        return XT_EINVAL;
    return xt__add_instrument(e, def, 0);
}

static int order_valid(const xt_engine_t *e, const xt_order_info_t *o)
{
    return o->instrument < e->n_instruments && o->id > 0 && o->account > 0 && o->side <= XT_SELL &&
           o->type == XT_LIMIT && (o->tif == XT_GTC || o->tif == XT_POST) && o->stp >= XT_STP_NONE &&
           o->stp <= XT_STP_CB && o->price > 0 && o->price <= XT_PRICE_MAX && o->qty > 0 && o->qty <= XT_QTY_MAX &&
           o->filled >= 0 && o->filled <= XT_FILLED_MAX;
}

int xt_engine_restore_order(xt_engine_t *e, const xt_order_info_t *o)
{
    if (!fresh(e) || !order_valid(e, o))
        return XT_EINVAL;
    if (xt__index_find(e, o->id) != XT__NIL)
        return XT_EEXIST;
    xt__instrument_t *in = &e->instruments[o->instrument];
    const xt__side_t *opp = &in->side[xt__opposite(o->side)];
    if (opp->best != XT__NIL && xt__crosses(o->side, opp->best_price, o->price))
        return XT_EINVAL; /* a saved book is never crossed */
    xt__side_t *own = &in->side[o->side];
    uint32_t li = xt__ladder_find(e, own, o->price);
    if (xt__free_orders(e) == 0 || (li == XT__NIL ? xt__free_levels(e) == 0 || !xt__ladder_has_room(e, own, o->price)
                                                  : e->levels[li].qty > INT64_MAX - o->qty))
        return XT_ECAPACITY;
    uint32_t oi = xt__order_alloc(e);
    xt__order_t *r = &e->orders[oi];
    r->id = o->id;
    r->price = o->price;
    r->qty = o->qty;
    r->filled = o->filled;
    r->seq = o->seq;
    r->account = o->account;
    r->instrument = o->instrument;
    r->side = o->side;
    r->type = o->type;
    r->tif = o->tif;
    r->stp = o->stp;
    xt__index_insert(e, o->id, oi);
    xt__rest_restored(e, oi);
    return 0;
}

int xt_engine_restore_counters(xt_engine_t *e, uint64_t last_seq, uint64_t trades)
{
    if (!fresh(e))
        return XT_EINVAL;
    /* every restored order was placed by a command at or before last_seq */
    for (uint32_t i = 0; i < e->order_hwm; i++)
        if (e->orders[i].id != 0 && e->orders[i].seq > last_seq)
            return XT_EINVAL;
    e->last_seq = last_seq;
    e->trades = trades;
    return 0;
}

static int copy_side(xt_engine_t *dst, const xt_engine_t *src, uint32_t inst, xt_side_t side)
{
    xt_level_iter_t it;
    xt_level_info_t lv;
    xt_level_iter_init(&it, src, inst, side);
    while (xt_level_iter_next(&it, &lv)) {
        xt_order_iter_t oit;
        xt_order_info_t o;
        xt_order_iter_init(&oit, src, inst, side, lv.price);
        while (xt_order_iter_next(&oit, &o)) {
            int rc = xt_engine_restore_order(dst, &o);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int xt_engine_copy(xt_engine_t *dst, const xt_engine_t *src)
{
    if (!fresh(dst) || dst->n_instruments != 0 || dst->orders_used != 0)
        return XT_EINVAL;
    int rc = 0;
    for (uint32_t i = 0; i < src->n_instruments && rc == 0; i++)
        rc = xt_engine_restore_instrument(dst, &src->instruments[i].def);
    for (uint32_t i = 0; i < src->n_instruments && rc == 0; i++) {
        rc = copy_side(dst, src, i, XT_BUY);
        if (rc == 0)
            rc = copy_side(dst, src, i, XT_SELL);
    }
    if (rc == 0)
        rc = xt_engine_restore_counters(dst, src->last_seq, src->trades);
    return rc;
}
