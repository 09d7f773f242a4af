/* flow.h - synthetic order flow of a liquid stock, for the engine benchmark
 * (DESIGN.md section 5; parameters in docs/bench.md).
 *
 * A mid price follows geometric Brownian motion, optionally bent by a
 * regime's swing. Orders are placed passively around it with a power-law
 * depth profile peaking a few ticks out, quantities 1-100; about 15% are
 * marketable IOC orders; about 20% of resting orders are modified (a tick
 * and/or a larger size) and about 95% cancelled, mostly within a
 * millisecond of simulated time; some cancels and modifies arrive after
 * their order has traded away. Deterministic for a given seed.
 *
 * The generator runs its own engine while generating, so that cancels and
 * modifies target the orders that really rest. The result is a compact
 * message array replayed by the benchmark into fresh engines.
 */
#ifndef XT_BENCH_FLOW_H
#define XT_BENCH_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "xt/command.h"

typedef enum flow_regime {
    FLOW_FIXED = 0, /* constant mid: a deep standing book */
    FLOW_NORMAL,    /* GBM, about 2% range */
    FLOW_SWING25,   /* GBM plus a 25% fall and recovery */
    FLOW_SWING40,
    FLOW_SWING60, /* a flash crash: 60% down and back within 20% of the day */
    FLOW_REGIMES
} flow_regime_t;

const char *flow_regime_name(int regime);
int flow_regime_parse(const char *name); /* -1 if unknown */

/* One message, 32 bytes (xt_cmd_t is larger than the benchmark should
 * stream from memory; the bench expands each into a command). */
typedef struct flow_msg {
    int64_t id;
    int64_t price; /* ticks; NEW and AMEND */
    int64_t qty;   /* lots;  NEW and AMEND */
    uint32_t account;
    uint8_t type; /* XT_CMD_NEW / CANCEL / AMEND */
    uint8_t side;
    uint8_t tif;
    uint8_t pad;
} flow_msg_t;

typedef struct flow {
    flow_msg_t *msgs;
    size_t n;
    size_t news, cancels, amends;
    size_t late;               /* cancels/amends whose order was already gone */
    int64_t mid_low, mid_high; /* ticks, over the run */
} flow_t;

/* The instrument every flow trades: tick 0.01, lot 1, no band. */
void flow_instrument(xt_instrument_def_t *def);

/* Generates `orders` new orders and their cancels and modifies. Returns 0,
 * or an XT_E* error. Free with flow_free. */
int flow_generate(flow_t *f, int regime, size_t orders, uint64_t seed);
void flow_free(flow_t *f);

/* Expands message i into a command (seq and ts set by the caller). */
static inline void flow_to_cmd(const flow_msg_t *m, xt_cmd_t *c)
{
    c->type = m->type;
    switch (m->type) {
    case XT_CMD_NEW:
        c->u.new_order.id = m->id;
        c->u.new_order.account = m->account;
        c->u.new_order.instrument = 0;
        c->u.new_order.side = m->side;
        c->u.new_order.type = 0; /* LIMIT */
        c->u.new_order.tif = m->tif;
        c->u.new_order.stp = 0;
        c->u.new_order.price = m->price;
        c->u.new_order.qty = m->qty;
        break;
    case XT_CMD_CANCEL:
        c->u.cancel.id = m->id;
        c->u.cancel.account = m->account;
        break;
    default:
        c->u.amend.id = m->id;
        c->u.amend.account = m->account;
        c->u.amend.price = m->price;
        c->u.amend.qty = m->qty;
        break;
    }
}

#endif
