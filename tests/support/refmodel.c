/* refmodel.c - the reference model (see refmodel.h). Clarity over speed. */
#include "refmodel.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xt/types.h"

#define EMIT(m, ...) sb_printf(&(m)->out, __VA_ARGS__)

void ref_init(ref_model_t *m)
{
    memset(m, 0, sizeof *m);
}

void ref_free(ref_model_t *m)
{
    sb_free(&m->out);
}

uint32_t ref_add_instrument(ref_model_t *m, int64_t min_lots, int64_t max_lots, int64_t band_low, int64_t band_high)
{
    ref_inst_t *in = &m->inst[m->n_inst];
    in->min_lots = min_lots;
    in->max_lots = max_lots;
    in->band_low = band_low;
    in->band_high = band_high;
    return m->n_inst++;
}

static int find(const ref_model_t *m, int64_t id)
{
    for (int i = 0; i < m->n; i++)
        if (m->o[i].id == id)
            return i;
    return -1;
}

static void remove_at(ref_model_t *m, int i)
{
    memmove(&m->o[i], &m->o[i + 1], (size_t)(m->n - i - 1) * sizeof m->o[0]);
    m->n--;
}

static int crosses(int side, int64_t resting, int64_t limit)
{
    return side == XT_BUY ? resting <= limit : resting >= limit;
}

/* The best resting order the incoming one can meet: best price, then oldest. */
static int best_opposite(const ref_model_t *m, uint32_t inst, int side, int64_t limit)
{
    int best = -1;
    for (int i = 0; i < m->n; i++) {
        const ref_order_t *r = &m->o[i];
        if (r->inst != inst || r->side == side || !crosses(side, r->price, limit))
            continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const ref_order_t *b = &m->o[best];
        int better = side == XT_BUY ? r->price < b->price : r->price > b->price;
        if (better || (r->price == b->price && r->time < b->time))
            best = i;
    }
    return best;
}

typedef struct incoming {
    int64_t id;
    uint32_t account, inst;
    int side, type, tif, stp;
    int64_t qty, limit;
    int64_t filled; /* traded before this entry (an amended order's) */
} incoming_t;

/* Matches; returns the quantity left, -1 if STP cancelled the incoming order. */
static int64_t match(ref_model_t *m, const incoming_t *in)
{
    int64_t left = in->qty;
    while (left > 0) {
        int b = best_opposite(m, in->inst, in->side, in->limit);
        if (b < 0)
            break;
        ref_order_t *r = &m->o[b];
        if (r->account == in->account && in->stp != XT_STP_NONE) {
            if (in->stp == XT_STP_CN) {
                EMIT(m, "CANCELED %lld %lld STP\n", (long long)in->id, (long long)left);
                return -1;
            }
            EMIT(m, "CANCELED %lld %lld STP\n", (long long)r->id, (long long)r->qty);
            remove_at(m, b);
            if (in->stp == XT_STP_CB) {
                EMIT(m, "CANCELED %lld %lld STP\n", (long long)in->id, (long long)left);
                return -1;
            }
            continue;
        }
        int64_t q = left < r->qty ? left : r->qty;
        EMIT(m, "TRADE %u %lld %lld %lld %lld\n", in->inst, (long long)r->price, (long long)q, (long long)r->id,
             (long long)in->id);
        left -= q;
        r->qty -= q;
        r->filled += q;
        if (r->qty == 0)
            remove_at(m, b);
    }
    return left;
}

static void rest(ref_model_t *m, const incoming_t *in, int64_t qty)
{
    if (m->n == REF_MAX_ORDERS)
        abort(); /* tests size their streams below this */
    ref_order_t *r = &m->o[m->n++];
    r->id = in->id;
    r->account = in->account;
    r->inst = in->inst;
    r->side = in->side;
    r->tif = in->tif;
    r->stp = in->stp;
    r->price = in->limit;
    r->qty = qty;
    r->filled = in->filled + (in->qty - qty);
    r->time = ++m->clock;
}

static int qty_ok(const ref_inst_t *in, int64_t q)
{
    return q != XT_QTY_INVALID && q >= in->min_lots && q <= in->max_lots;
}

static int price_ok(int64_t p)
{
    return p > 0 && p <= XT_PRICE_MAX;
}

static int would_cross(const ref_model_t *m, uint32_t inst, int side, int64_t price)
{
    return best_opposite(m, inst, side, price) >= 0;
}

static const char *new_reject(const ref_model_t *m, const xt_order_new_t *o, int tif)
{
    if (o->instrument >= m->n_inst)
        return "UNKNOWN_SYMBOL";
    const ref_inst_t *in = &m->inst[o->instrument];
    if (find(m, o->id) >= 0)
        return "DUPLICATE_ID";
    if (o->type == XT_MARKET && (tif == XT_GTC || tif == XT_POST))
        return "INVALID_TIF";
    if (!qty_ok(in, o->qty))
        return "INVALID_QTY";
    if (o->type == XT_LIMIT ? !price_ok(o->price) : o->price != XT_PRICE_NONE)
        return "INVALID_PRICE";
    if (o->type == XT_LIMIT && (o->price < in->band_low || o->price > in->band_high))
        return "PRICE_BAND";
    return NULL;
}

static void on_new(ref_model_t *m, const xt_order_new_t *o)
{
    int tif = o->tif ? o->tif : (o->type == XT_LIMIT ? XT_GTC : XT_IOC);
    const char *why = new_reject(m, o, tif);
    if (why) {
        EMIT(m, "REJECTED %lld %s\n", (long long)o->id, why);
        return;
    }
    const ref_inst_t *ins = &m->inst[o->instrument];
    incoming_t in = {o->id, o->account, o->instrument, o->side, o->type, tif, o->stp ? o->stp : XT_STP_CN, o->qty,
                     0,     0};
    in.limit = o->type == XT_LIMIT ? o->price : (o->side == XT_BUY ? ins->band_high : ins->band_low);
    EMIT(m, "ACCEPTED %lld\n", (long long)o->id);
    if (tif == XT_POST && would_cross(m, in.inst, in.side, in.limit)) {
        EMIT(m, "CANCELED %lld %lld POST_ONLY\n", (long long)o->id, (long long)o->qty);
        return;
    }
    if (tif == XT_FOK) {
        /* Try it on a copy; keep the copy only if everything filled. */
        ref_model_t *copy = malloc(sizeof *copy);
        if (!copy)
            abort();
        memcpy(copy, m, offsetof(ref_model_t, o) + (size_t)m->n * sizeof m->o[0]);
        copy->n = m->n;
        copy->clock = m->clock;
        copy->out = (strbuf_t){0};
        int64_t left = match(copy, &in);
        if (left != 0) {
            EMIT(m, "CANCELED %lld %lld FOK\n", (long long)o->id, (long long)o->qty);
        } else {
            memcpy(m->o, copy->o, (size_t)copy->n * sizeof m->o[0]);
            m->n = copy->n;
            EMIT(m, "%s", sb_str(&copy->out));
        }
        sb_free(&copy->out);
        free(copy);
        return;
    }
    int64_t left = match(m, &in);
    if (left <= 0)
        return;
    if (tif == XT_IOC)
        EMIT(m, "CANCELED %lld %lld %s\n", (long long)o->id, (long long)left, o->type == XT_MARKET ? "MARKET" : "IOC");
    else
        rest(m, &in, left);
}

static void on_cancel(ref_model_t *m, const xt_order_cancel_t *c)
{
    int i = find(m, c->id);
    if (i < 0) {
        EMIT(m, "REJECTED %lld UNKNOWN_ORDER\n", (long long)c->id);
        return;
    }
    if (m->o[i].account != c->account) {
        EMIT(m, "REJECTED %lld NOT_OWNER\n", (long long)c->id);
        return;
    }
    EMIT(m, "CANCELED %lld %lld USER\n", (long long)c->id, (long long)m->o[i].qty);
    remove_at(m, i);
}

static void on_amend(ref_model_t *m, const xt_order_amend_t *a)
{
    int i = find(m, a->id);
    const char *why = NULL;
    if (i < 0)
        why = "UNKNOWN_ORDER";
    else {
        ref_order_t *r = &m->o[i];
        const ref_inst_t *ins = &m->inst[r->inst];
        if (r->account != a->account)
            why = "NOT_OWNER";
        else if (!qty_ok(ins, a->qty) && !(a->qty != XT_QTY_INVALID && a->qty > 0 && a->qty <= ins->max_lots &&
                                           r->filled + a->qty >= ins->min_lots))
            why = "INVALID_QTY"; /* matching.md: min counts what the order filled too */
        else if (!price_ok(a->price))
            why = "INVALID_PRICE";
        else if (a->price < ins->band_low || a->price > ins->band_high)
            why = "PRICE_BAND";
        else if (r->tif == XT_POST && would_cross(m, r->inst, r->side, a->price))
            why = "POST_ONLY";
    }
    if (why) {
        EMIT(m, "REJECTED %lld %s\n", (long long)a->id, why);
        return;
    }
    ref_order_t r = m->o[i];
    EMIT(m, "AMENDED %lld %lld %lld\n", (long long)a->id, (long long)a->price, (long long)a->qty);
    if (a->price == r.price && a->qty <= r.qty) {
        m->o[i].qty = a->qty;
        return;
    }
    remove_at(m, i);
    incoming_t in = {r.id, r.account, r.inst, r.side, XT_LIMIT, r.tif, r.stp, a->qty, a->price, r.filled};
    int64_t left = match(m, &in);
    if (left > 0)
        rest(m, &in, left);
}

void ref_expect_band(ref_model_t *m, uint32_t inst, int64_t band_low, int64_t band_high)
{
    m->next_band.set = 1;
    m->next_band.inst = inst;
    m->next_band.band_low = band_low;
    m->next_band.band_high = band_high;
}

/* Only the band changes: orders resting outside it stay (docs/matching.md). */
static void on_band_move(ref_model_t *m)
{
    if (!m->next_band.set || m->next_band.inst >= m->n_inst)
        return;
    ref_inst_t *in = &m->inst[m->next_band.inst];
    in->band_low = m->next_band.band_low;
    in->band_high = m->next_band.band_high;
    m->next_band.set = 0;
    sb_printf(&m->out, "INSTRUMENT %u\n", m->next_band.inst);
}

void ref_apply(ref_model_t *m, const xt_cmd_t *cmd)
{
    sb_clear(&m->out);
    switch (cmd->type) {
    case XT_CMD_NEW: on_new(m, &cmd->u.new_order); break;
    case XT_CMD_CANCEL: on_cancel(m, &cmd->u.cancel); break;
    case XT_CMD_AMEND: on_amend(m, &cmd->u.amend); break;
    case XT_CMD_INSTRUMENT: on_band_move(m); break;
    default: break;
    }
}

static int cmp_priority(const void *pa, const void *pb)
{
    const ref_order_t *a = pa, *b = pb;
    if (a->side != b->side)
        return a->side - b->side; /* bids first */
    if (a->price != b->price) {
        int asc = a->price < b->price ? -1 : 1;
        return a->side == XT_BUY ? -asc : asc;
    }
    return a->time < b->time ? -1 : 1;
}

void ref_book(const ref_model_t *m, uint32_t inst, strbuf_t *out)
{
    ref_order_t *v = malloc(sizeof(ref_order_t) * (size_t)(m->n + 1));
    if (!v)
        abort();
    int k = 0;
    for (int i = 0; i < m->n; i++)
        if (m->o[i].inst == inst)
            v[k++] = m->o[i];
    qsort(v, (size_t)k, sizeof *v, cmp_priority);
    for (int i = 0; i < k; i++) {
        if (i == 0 || v[i].side != v[i - 1].side || v[i].price != v[i - 1].price)
            sb_printf(out, "%s%c %lld", i ? "\n" : "", v[i].side == XT_BUY ? 'B' : 'S', (long long)v[i].price);
        sb_printf(out, " %lld:%lld", (long long)v[i].id, (long long)v[i].qty);
    }
    if (k)
        sb_printf(out, "\n");
    free(v);
}

void ref_format_event(const xt_event_t *ev, strbuf_t *out)
{
    switch (ev->type) {
    case XT_EV_ACCEPTED: sb_printf(out, "ACCEPTED %lld\n", (long long)ev->order_id); break;
    case XT_EV_REJECTED:
        sb_printf(out, "REJECTED %lld %s\n", (long long)ev->order_id, xt_reason_name(ev->reason));
        break;
    case XT_EV_TRADE:
        sb_printf(out, "TRADE %u %lld %lld %lld %lld\n", ev->instrument, (long long)ev->price, (long long)ev->qty,
                  (long long)ev->u.trade.maker_id, (long long)ev->order_id);
        break;
    case XT_EV_CANCELED:
        sb_printf(out, "CANCELED %lld %lld %s\n", (long long)ev->order_id, (long long)ev->qty,
                  xt_reason_name(ev->reason));
        break;
    case XT_EV_AMENDED:
        sb_printf(out, "AMENDED %lld %lld %lld\n", (long long)ev->order_id, (long long)ev->price, (long long)ev->qty);
        break;
    case XT_EV_INSTRUMENT: sb_printf(out, "INSTRUMENT %u\n", ev->instrument); break;
    default: break;
    }
}
