/* match.c - new orders, cancels and amends: checks, matching, resting.
 *
 * The contract is docs/matching.md. In short: price-time priority, trades
 * at the maker's price, GTC/IOC/FOK/POST, MARKET bounded by the band,
 * self-trade prevention decided by the incoming order's mode, and reject
 * checks in a fixed order where the first failing check wins.
 */
#include "index.h"
#include "internal.h"
#include "ladder.h"

/* The incoming side of a match: a new order, or an amended one re-entering. */
typedef struct taker {
    int64_t id;
    uint32_t account;
    uint32_t instrument;
    uint8_t side, type, tif, stp;
} taker_t;

/* ---- events ----------------------------------------------------------- */

static void emit_reject(xt_engine_t *e, int64_t id, uint32_t account, uint32_t instrument, int reason)
{
    xt_event_t *ev = xt__event(e, XT_EV_REJECTED);
    ev->reason = (uint8_t)reason;
    ev->instrument = instrument;
    ev->order_id = id;
    ev->account = account;
}

/* A new event about order t. */
static xt_event_t *order_event(xt_engine_t *e, uint8_t type, const taker_t *t)
{
    xt_event_t *ev = xt__event(e, type);
    ev->side = t->side;
    ev->ord_type = t->type;
    ev->tif = t->tif;
    ev->stp = t->stp;
    ev->instrument = t->instrument;
    ev->account = t->account;
    ev->order_id = t->id;
    return ev;
}

static void emit_canceled(xt_engine_t *e, const taker_t *t, int64_t price, int64_t qty, int reason)
{
    xt_event_t *ev = order_event(e, XT_EV_CANCELED, t);
    ev->reason = (uint8_t)reason;
    ev->price = price;
    ev->qty = qty;
}

static taker_t taker_of(const xt__order_t *o)
{
    taker_t t = {o->id, o->account, o->instrument, o->side, o->type, o->tif, o->stp};
    return t;
}

static void emit_book(xt_engine_t *e, uint32_t instrument, int side, const xt__level_t *lv)
{
    if (e->cfg.no_book_events)
        return;
    xt_event_t *ev = xt__event(e, XT_EV_BOOK);
    ev->side = (uint8_t)side;
    ev->instrument = instrument;
    ev->price = lv->price;
    ev->qty = lv->qty;
    ev->u.level.orders = lv->count;
}

/* ---- levels and queues ------------------------------------------------ */

/* "Not looked up yet", as opposed to XT__NIL, "looked up: no such level". */
#define LEVEL_UNKNOWN (XT__NIL - 1u)

/* Level at `price` on side s, checking the cached best first. */
static uint32_t find_level(const xt_engine_t *e, xt__side_t *s, int64_t price)
{
    if (s->best != XT__NIL && s->best_price == price)
        return s->best;
    return xt__ladder_lookup(e, s, price);
}

/* Unlinks order oi from its level's queue and takes its qty off the level.
 * Does not free the order or the level. */
static void unlink_order(xt_engine_t *e, xt__level_t *lv, uint32_t oi)
{
    xt__order_t *o = &e->orders[oi];
    if (o->prev == XT__NIL)
        lv->head = o->next;
    else
        e->orders[o->prev].next = o->next;
    if (o->next == XT__NIL)
        lv->tail = o->prev;
    else
        e->orders[o->next].prev = o->prev;
    lv->count--;
    lv->qty -= o->qty;
}

/* Removes an emptied level from side `side` of `in`, moving the best. */
static void drop_level(xt_engine_t *e, xt__instrument_t *in, int side, uint32_t li)
{
    xt__side_t *s = &in->side[side];
    int64_t price = e->levels[li].price;
    xt__ladder_remove(e, s, price);
    if (s->best == li) {
        s->best = xt__ladder_next(e, s, price, side == XT_BUY);
        if (s->best != XT__NIL)
            s->best_price = e->levels[s->best].price;
    }
    s->nlevels--;
    xt__level_release(e, li);
}

/* Appends order oi (fields set, qty > 0) to the back of its price level,
 * creating the level if needed. li: its level, XT__NIL if it has none yet,
 * or LEVEL_UNKNOWN. */
static void rest_quiet(xt_engine_t *e, xt__instrument_t *in, uint32_t oi, uint32_t li);

static void rest(xt_engine_t *e, xt__instrument_t *in, uint32_t oi, uint32_t li)
{
    rest_quiet(e, in, oi, li);
    const xt__order_t *o = &e->orders[oi];
    emit_book(e, o->instrument, o->side, &e->levels[o->level]);
}

void xt__rest_restored(xt_engine_t *e, uint32_t oi)
{
    rest_quiet(e, &e->instruments[e->orders[oi].instrument], oi, LEVEL_UNKNOWN);
}

static void rest_quiet(xt_engine_t *e, xt__instrument_t *in, uint32_t oi, uint32_t li)
{
    xt__order_t *o = &e->orders[oi];
    xt__side_t *s = &in->side[o->side];
    if (li == LEVEL_UNKNOWN)
        li = find_level(e, s, o->price);
    if (li == XT__NIL) {
        li = xt__level_alloc(e);
        xt__level_t *nl = &e->levels[li];
        nl->price = o->price;
        nl->qty = 0;
        nl->head = nl->tail = XT__NIL;
        nl->count = 0;
        xt__ladder_insert(e, s, o->price, li);
        s->nlevels++;
        if (s->best == XT__NIL || xt__better(o->side, o->price, s->best_price)) {
            s->best = li;
            s->best_price = o->price;
        }
    }
    xt__level_t *lv = &e->levels[li];
    o->level = li;
    o->next = XT__NIL;
    o->prev = lv->tail;
    if (lv->tail == XT__NIL)
        lv->head = oi;
    else
        e->orders[lv->tail].next = oi;
    lv->tail = oi;
    lv->count++;
    lv->qty += o->qty;
}

/* ---- matching --------------------------------------------------------- */

/* What matching the incoming order right now would do, worked out without
 * changing anything: how much fills, whether STP ends it, and how many
 * resting orders and price levels it would free. Follows match() exactly. */
typedef struct sim {
    int64_t filled;
    int stopped;
    uint32_t freed_orders;
    uint32_t freed_levels;
} sim_t;

static void simulate(const xt_engine_t *e, const xt__instrument_t *in, const taker_t *t, int64_t limit, int64_t qty,
                     sim_t *r)
{
    int opp = xt__opposite(t->side);
    const xt__side_t *s = &in->side[opp];
    r->filled = 0;
    r->stopped = 0;
    r->freed_orders = r->freed_levels = 0;
    for (uint32_t li = s->best; li != XT__NIL && r->filled < qty;) {
        const xt__level_t *lv = &e->levels[li];
        if (!xt__crosses(t->side, lv->price, limit))
            break;
        if (t->stp == XT_STP_NONE && lv->qty <= qty - r->filled) { /* the whole level goes */
            r->filled += lv->qty;
            r->freed_orders += lv->count;
            r->freed_levels++;
        } else {
            uint32_t gone = 0;
            for (uint32_t oi = lv->head; oi != XT__NIL && r->filled < qty; oi = e->orders[oi].next) {
                const xt__order_t *m = &e->orders[oi];
                if (m->account == t->account && t->stp != XT_STP_NONE) {
                    if (t->stp == XT_STP_CN) {
                        r->stopped = 1;
                        break;
                    }
                    gone++; /* CO and CB cancel the resting order */
                    if (t->stp == XT_STP_CB) {
                        r->stopped = 1;
                        break;
                    }
                    continue;
                }
                int64_t q = qty - r->filled < m->qty ? qty - r->filled : m->qty;
                r->filled += q;
                gone += q == m->qty;
            }
            r->freed_orders += gone;
            r->freed_levels += gone == lv->count;
            if (r->stopped)
                return;
        }
        li = xt__ladder_next(e, s, lv->price, opp == XT_BUY);
    }
}

static void emit_trade(xt_engine_t *e, const taker_t *t, const xt__order_t *m, int64_t price, int64_t q,
                       int64_t taker_left)
{
    xt_event_t *ev = order_event(e, XT_EV_TRADE, t);
    ev->price = price;
    ev->qty = q;
    ev->remaining = taker_left;
    ev->u.trade.trade_id = ++e->trades;
    ev->u.trade.maker_id = m->id;
    ev->u.trade.maker_remaining = m->qty;
    ev->u.trade.maker_account = m->account;
}

/* Removes a resting order that has been unlinked from its level: index and
 * pool. */
static void forget_order(xt_engine_t *e, uint32_t oi)
{
    xt__index_remove(e, e->orders[oi].id);
    xt__order_release(e, oi);
}

/* Matches the incoming order against the opposite side up to `limit`.
 * Returns the quantity left. When self-trade prevention ends the incoming
 * order, its CANCELED is emitted here, *stopped is set and 0 is returned. */
static int64_t match(xt_engine_t *e, xt__instrument_t *in, const taker_t *t, int64_t qty, int64_t limit, int *stopped)
{
    int opp = xt__opposite(t->side);
    xt__side_t *s = &in->side[opp];
    *stopped = 0;
    while (qty > 0 && s->best != XT__NIL && xt__crosses(t->side, s->best_price, limit)) {
        uint32_t li = s->best;
        xt__level_t *lv = &e->levels[li];
        int64_t before = lv->qty;
        int stop = 0;
        uint32_t oi = lv->head;
        while (oi != XT__NIL && qty > 0) {
            xt__order_t *m = &e->orders[oi];
            uint32_t next = m->next;
            if (XT__UNLIKELY(m->account == t->account) && t->stp != XT_STP_NONE) {
                if (t->stp == XT_STP_CN) {
                    stop = 1;
                    break;
                }
                /* CO and CB: the resting order goes. */
                taker_t mk = taker_of(m);
                unlink_order(e, lv, oi);
                emit_canceled(e, &mk, m->price, m->qty, XT_R_STP);
                forget_order(e, oi);
                if (t->stp == XT_STP_CB) {
                    stop = 1;
                    break;
                }
                oi = next;
                continue;
            }
            int64_t q = qty < m->qty ? qty : m->qty;
            m->qty -= q;
            m->filled += q;
            lv->qty -= q;
            qty -= q;
            emit_trade(e, t, m, lv->price, q, qty);
            if (m->qty == 0) {
                unlink_order(e, lv, oi);
                forget_order(e, oi);
            }
            oi = next;
        }
        if (lv->qty != before)
            emit_book(e, t->instrument, opp, lv);
        if (lv->count == 0)
            drop_level(e, in, opp, li);
        if (stop) {
            emit_canceled(e, t, t->type == XT_LIMIT ? limit : XT_PRICE_NONE, qty, XT_R_STP);
            *stopped = 1;
            return 0;
        }
    }
    return qty;
}

/* ---- commands --------------------------------------------------------- */

static int qty_ok(const xt__instrument_t *in, int64_t qty)
{
    return qty != XT_QTY_INVALID && qty >= in->min_lots && qty <= in->max_lots;
}

/* An amend's new remaining quantity: a lot count up to max, and at least
 * min - or, under XT_RULES_2, at least min together with what the order
 * filled already, so that a partly filled order's small remainder can be
 * repriced or reduced while no order is ever smaller than min in all. */
static int amend_qty_ok(const xt_engine_t *e, const xt__instrument_t *in, const xt__order_t *o, int64_t qty)
{
    if (e->cfg.rules == XT_RULES_1 || qty == XT_QTY_INVALID || qty >= in->min_lots)
        return qty_ok(in, qty);
    return qty > 0 && o->filled >= in->min_lots - qty;
}

static int price_ok(int64_t price)
{
    return price > 0 && price <= XT_PRICE_MAX; /* also rules out the sentinels */
}

static int opposite_crosses(const xt__instrument_t *in, int side, int64_t price)
{
    const xt__side_t *s = &in->side[xt__opposite(side)];
    return s->best != XT__NIL && xt__crosses(side, s->best_price, price);
}

/* Room to hold an order that may rest at `price` (GTC or POST), checked
 * before it is accepted so it is never accepted and then found homeless.
 * li: its level if one exists. own_node: it already has an order node (an
 * amend). own_level: it leaves a level of its own first, freeing it (an
 * amend). Only when the pools are short is the match simulated, counting
 * what trading would free; trie nodes are counted conservatively. */
static int can_hold(const xt_engine_t *e, const xt__instrument_t *in, const taker_t *t, int64_t price, int64_t qty,
                    uint32_t li, int own_node, int own_level)
{
    const xt__side_t *own = &in->side[t->side];
    if (li != XT__NIL && e->levels[li].qty > INT64_MAX - qty)
        return 0; /* cannot happen with sane sizes; never overflow a level */
    int orders_ok = own_node || xt__free_orders(e) > 0;
    /* 2 * max height free nodes are always enough for one more level */
    if (XT__LIKELY(orders_ok &&
                   (li != XT__NIL || (xt__free_levels(e) > 0 && xt__free_nodes(e) >= 2 * XT__LADDER_MAX_HEIGHT))))
        return 1;
    int levels_ok = li != XT__NIL || (own_level + xt__free_levels(e) > 0 && xt__ladder_has_room(e, own, price));
    if (orders_ok && levels_ok)
        return 1;
    if (t->tif == XT_POST)
        return opposite_crosses(in, t->side, price); /* crossing: cancelled, never rests */
    sim_t r;
    simulate(e, in, t, price, qty, &r);
    if (r.filled == qty || r.stopped)
        return 1; /* will not rest */
    orders_ok = own_node || xt__free_orders(e) + r.freed_orders > 0;
    levels_ok =
        li != XT__NIL || (own_level + xt__free_levels(e) + r.freed_levels > 0 && xt__ladder_has_room(e, own, price));
    return orders_ok && levels_ok;
}

void xt__on_new(xt_engine_t *e, const xt_order_new_t *o)
{
    uint32_t ii = o->instrument;
    if (ii >= e->n_instruments) {
        emit_reject(e, o->id, o->account, XT_INSTRUMENT_NONE, XT_R_UNKNOWN_SYMBOL);
        return;
    }
    xt__instrument_t *in = &e->instruments[ii];
    if (xt__index_find(e, o->id) != XT__NIL) {
        emit_reject(e, o->id, o->account, ii, XT_R_DUPLICATE_ID);
        return;
    }
    int tif = o->tif;
    if (tif == XT_TIF_DEFAULT)
        tif = o->type == XT_LIMIT ? XT_GTC : XT_IOC;
    if (o->type == XT_MARKET && (tif == XT_GTC || tif == XT_POST)) {
        emit_reject(e, o->id, o->account, ii, XT_R_INVALID_TIF);
        return;
    }
    if (!qty_ok(in, o->qty)) {
        emit_reject(e, o->id, o->account, ii, XT_R_INVALID_QTY);
        return;
    }
    if (o->type == XT_LIMIT ? !price_ok(o->price) : o->price != XT_PRICE_NONE) {
        emit_reject(e, o->id, o->account, ii, XT_R_INVALID_PRICE);
        return;
    }
    if (o->type == XT_LIMIT && (o->price < in->band_low || o->price > in->band_high)) {
        emit_reject(e, o->id, o->account, ii, XT_R_PRICE_BAND);
        return;
    }
    /* A MARKET order's limit is the band edge (the whole ladder if none). */
    int64_t limit = o->type == XT_LIMIT ? o->price : (o->side == XT_BUY ? in->band_high : in->band_low);
    taker_t t = {o->id,
                 o->account,
                 ii,
                 o->side,
                 o->type,
                 (uint8_t)tif,
                 (uint8_t)(o->stp == XT_STP_DEFAULT ? XT_STP_CN : o->stp)};

    uint32_t li = XT__NIL;
    if (tif == XT_GTC || tif == XT_POST) {
        li = find_level(e, &in->side[o->side], o->price);
        if (!can_hold(e, in, &t, o->price, o->qty, li, 0, 0)) {
            emit_reject(e, o->id, o->account, ii, XT_R_CAPACITY);
            return;
        }
    }

    xt_event_t *ev = order_event(e, XT_EV_ACCEPTED, &t);
    ev->price = o->price;
    ev->qty = o->qty;
    ev->remaining = o->qty;

    if (tif == XT_POST && opposite_crosses(in, o->side, o->price)) {
        emit_canceled(e, &t, o->price, o->qty, XT_R_POST_ONLY);
        return;
    }
    if (tif == XT_FOK) {
        sim_t r;
        simulate(e, in, &t, limit, o->qty, &r);
        if (r.filled < o->qty) {
            emit_canceled(e, &t, o->price, o->qty, XT_R_FOK);
            return;
        }
    }
    int stopped;
    int64_t left = match(e, in, &t, o->qty, limit, &stopped);
    if (stopped || left == 0)
        return;
    assert(tif != XT_FOK);
    if (tif == XT_IOC) {
        emit_canceled(e, &t, o->price, left, o->type == XT_MARKET ? XT_R_MARKET : XT_R_IOC);
        return;
    }
    uint32_t oi = xt__order_alloc(e);
    xt__order_t *r = &e->orders[oi];
    r->id = o->id;
    r->price = o->price;
    r->qty = left;
    r->filled = o->qty - left;
    r->seq = e->batch.seq;
    r->account = o->account;
    r->instrument = ii;
    r->side = o->side;
    r->type = o->type;
    r->tif = (uint8_t)tif;
    r->stp = t.stp;
    xt__index_insert(e, o->id, oi);
    rest(e, in, oi, li);
}

void xt__on_cancel(xt_engine_t *e, const xt_order_cancel_t *c)
{
    uint32_t oi = xt__index_find(e, c->id);
    if (oi == XT__NIL) {
        emit_reject(e, c->id, c->account, XT_INSTRUMENT_NONE, XT_R_UNKNOWN_ORDER);
        return;
    }
    xt__order_t *o = &e->orders[oi];
    if (o->account != c->account) {
        emit_reject(e, c->id, c->account, o->instrument, XT_R_NOT_OWNER);
        return;
    }
    xt__instrument_t *in = &e->instruments[o->instrument];
    xt__level_t *lv = &e->levels[o->level];
    uint32_t li = o->level;
    int side = o->side;
    taker_t t = taker_of(o);
    emit_canceled(e, &t, o->price, o->qty, XT_R_USER);
    unlink_order(e, lv, oi);
    forget_order(e, oi);
    emit_book(e, t.instrument, side, lv);
    if (lv->count == 0)
        drop_level(e, in, side, li);
}

void xt__on_amend(xt_engine_t *e, const xt_order_amend_t *a)
{
    uint32_t oi = xt__index_find(e, a->id);
    if (oi == XT__NIL) {
        emit_reject(e, a->id, a->account, XT_INSTRUMENT_NONE, XT_R_UNKNOWN_ORDER);
        return;
    }
    xt__order_t *o = &e->orders[oi];
    uint32_t ii = o->instrument;
    xt__instrument_t *in = &e->instruments[ii];
    int reason = XT_R_NONE;
    if (o->account != a->account)
        reason = XT_R_NOT_OWNER;
    else if (!amend_qty_ok(e, in, o, a->qty))
        reason = XT_R_INVALID_QTY;
    else if (!price_ok(a->price))
        reason = XT_R_INVALID_PRICE;
    else if (a->price < in->band_low || a->price > in->band_high)
        reason = XT_R_PRICE_BAND;
    else if (o->tif == XT_POST && opposite_crosses(in, o->side, a->price))
        reason = XT_R_POST_ONLY;
    taker_t t = taker_of(o);
    int in_place = a->price == o->price && a->qty <= o->qty;
    if (reason == XT_R_NONE && !in_place) {
        /* It leaves its level, then re-enters. At the same price it cannot
         * trade and lands where it was: its level (or, if it was alone, the
         * level and trie nodes it just freed). At a new price it needs room
         * like a new order, with its own node and maybe its old level. */
        const xt__level_t *old = &e->levels[o->level];
        int alone = old->count == 1;
        if (a->price == o->price) {
            if (!alone && old->qty - o->qty > INT64_MAX - a->qty)
                reason = XT_R_CAPACITY;
        } else if (!can_hold(e, in, &t, a->price, a->qty, find_level(e, &in->side[o->side], a->price), 1, alone))
            reason = XT_R_CAPACITY;
    }
    if (reason != XT_R_NONE) {
        emit_reject(e, a->id, a->account, ii, reason);
        return;
    }

    xt_event_t *ev = order_event(e, XT_EV_AMENDED, &t);
    ev->price = a->price;
    ev->qty = a->qty;
    ev->remaining = a->qty;
    ev->u.amend.old_price = o->price;
    ev->u.amend.old_qty = o->qty;
    xt__level_t *lv = &e->levels[o->level];
    if (in_place) {
        ev->flags = XT_EVF_PRIORITY_KEPT;
        if (a->qty != o->qty) {
            lv->qty -= o->qty - a->qty;
            o->qty = a->qty;
            emit_book(e, ii, o->side, lv);
        }
        return;
    }

    /* Out of the queue, then in again as a new arrival. */
    uint32_t li = o->level;
    unlink_order(e, lv, oi);
    emit_book(e, ii, o->side, lv);
    if (lv->count == 0)
        drop_level(e, in, o->side, li);
    int stopped;
    int64_t left = match(e, in, &t, a->qty, a->price, &stopped);
    o = &e->orders[oi];
    if (stopped || left == 0) {
        forget_order(e, oi);
        return;
    }
    o->price = a->price;
    o->qty = left;
    o->filled += a->qty - left;
    o->seq = e->batch.seq;
    rest(e, in, oi, LEVEL_UNKNOWN);
}
