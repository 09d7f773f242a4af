/* event.h - what the matching engine tells the world.
 *
 * Every command produces events, delivered in order to the sink given at
 * engine init, synchronously, from inside xt_engine_apply(), in batches: a
 * command's events arrive in one batch or, for a command with many events
 * (a sweep of a deep book), in several consecutive batches of at most
 * XT_EVENT_BATCH_MAX events, the last one flagged `last`. The batch header
 * carries what all of a command's events share (sequence number, timestamp,
 * command type). Batches and events are borrowed: valid only during the
 * sink call, so copy what you keep. The sink must not change the engine:
 * xt_engine_apply() from inside it returns XT_EBUSY (and the restore
 * functions XT_EINVAL) without touching the command in progress. Read-only
 * queries are fine. The last batch sees the state the command left (its
 * sequence number and state hash included). A batch before it sees the
 * book part-way through the command, and ahead of the events delivered so
 * far: a level may show a quantity of 0, or an order with nothing left
 * that a TRADE of the next batch takes out, and xt_engine_verify() fails
 * there.
 *
 * For one command the order is:
 *   NEW     REJECTED, or ACCEPTED then its TRADEs and CANCELEDs in the order
 *           they happen (a CO/CB cancel of a resting order where it happens;
 *           for CB the resting order's CANCELED before the incoming one's).
 *   CANCEL  REJECTED, or CANCELED.
 *   AMEND   REJECTED, or AMENDED then any TRADEs / CANCELEDs it causes.
 *   INSTRUMENT  INSTRUMENT.
 * BOOK events (price-level changes, when enabled) are interleaved: one per
 * level each time the engine finishes changing that level, after the
 * TRADE/CANCELED events that changed it. A level may be reported more than
 * once in a command, passing through a state no one saw between commands:
 * an amend that raises a quantity at the same price takes the order out of
 * its level (one BOOK) and puts it back at the end (another). Replaying
 * BOOK events onto an empty book rebuilds the aggregated (L2) book exactly;
 * a command's last BOOK for a level is its state after the command.
 */
#ifndef XT_EVENT_H
#define XT_EVENT_H

#include <stdint.h>

#include "xt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum xt_event_type {
    XT_EV_ACCEPTED = 1,   /* a new order passed its checks */
    XT_EV_REJECTED = 2,   /* a new/cancel/amend command broke a rule */
    XT_EV_TRADE = 3,      /* an incoming (taker) order traded with a resting (maker) one */
    XT_EV_CANCELED = 4,   /* (the rest of) an order is gone without trading */
    XT_EV_AMENDED = 5,    /* an amend took effect */
    XT_EV_BOOK = 6,       /* a price level's aggregate changed */
    XT_EV_INSTRUMENT = 7, /* an instrument was defined, or its band moved (engine.h) */
} xt_event_type_t;

enum {
    XT_EVF_PRIORITY_KEPT = 1u << 0, /* AMENDED: changed in place, kept time priority */
};

/* Fields common to all events, then per-type meaning:
 *
 *  type        order_id / account   price             qty              remaining
 *  ACCEPTED    the new order        limit (or NONE)   order qty        order qty
 *  REJECTED    the command's id     -                 -                -
 *  TRADE       the taker            trade price       trade qty        taker's remaining
 *  CANCELED    the cancelled order  its price         cancelled qty    0
 *  AMENDED     the order            new price         new qty          new qty
 *  BOOK        0                    level price       level total qty  0
 *  INSTRUMENT  0                    band's ref (1)    band's low (1)   band's high (1)
 *
 * `side` is the order's side (taker's side for TRADE, the level's side for
 * BOOK); on REJECTED it is 0 whatever the command's side was (keep the
 * command to know it). ord_type/tif/stp are the order's, resolved (never DEFAULT), on
 * ACCEPTED, TRADE (taker), CANCELED and AMENDED. Prices are ticks and
 * quantities lots of `instrument`; XT_PRICE_NONE for a MARKET order.
 * Fields a type does not use are zero. (1) INSTRUMENT's price is the
 * ref of the band now in force, in ticks; XT_PRICE_NONE without a band or
 * when the ref is no whole number of ticks. Its qty and remaining are the
 * band's lowest and highest price in ticks (the limits orders are checked
 * against), both 0 without a band.
 */
typedef struct xt_event {
    uint8_t type;   /* xt_event_type_t */
    uint8_t side;   /* xt_side_t */
    uint8_t reason; /* xt_reason_t: REJECTED, CANCELED; else XT_R_NONE */
    uint8_t flags;  /* XT_EVF_* */
    uint8_t ord_type;
    uint8_t tif;
    uint8_t stp;
    uint8_t reserved;
    uint32_t instrument;
    uint32_t account;
    int64_t order_id;
    int64_t price;
    int64_t qty;
    int64_t remaining;
    union {
        struct {
            uint64_t trade_id; /* 1, 2, 3, ... per engine */
            int64_t maker_id;
            int64_t maker_remaining;
            uint32_t maker_account;
        } trade;
        struct {
            int64_t old_price;
            int64_t old_qty; /* remaining before the amend */
        } amend;
        struct {
            uint32_t orders; /* BOOK: orders at the level after the change */
        } level;
    } u;
} xt_event_t;

#define XT_EVENT_BATCH_MAX 64

/* A run of one command's events. */
typedef struct xt_event_batch {
    uint64_t seq;     /* the command's sequence number */
    int64_t ts;       /* the command's timestamp */
    uint8_t cmd_type; /* xt_cmd_type_t */
    uint8_t last;     /* 1 on the command's final batch */
    uint32_t n;       /* 1..XT_EVENT_BATCH_MAX events (0: SESSION_END's batch) */
    const xt_event_t *events;
} xt_event_batch_t;

/* The event sink. `ctx` is the pointer given at engine init. */
typedef void (*xt_sink_fn)(void *ctx, const xt_event_batch_t *batch);

#ifdef __cplusplus
}
#endif
#endif
