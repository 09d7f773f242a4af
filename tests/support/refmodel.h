/* refmodel.h - a deliberately simple reference model of the matching
 * contract (docs/matching.md), for differential testing against the engine.
 *
 * Linear scans over one array of resting orders; no pools, no trees, no
 * caches. FOK is decided by running the match on a copy of the model. It
 * shares nothing with src/core except the public enums.
 *
 * The model consumes the engine's command structs (ticks and lots, with
 * the XT_PRICE_* / XT_QTY_* sentinels) and writes what should happen as
 * text, one event per line, in ticks and lots:
 *   ACCEPTED id | REJECTED id REASON | TRADE inst price qty maker taker |
 *   CANCELED id qty REASON | AMENDED id price qty | INSTRUMENT inst
 */
#ifndef XT_TEST_REFMODEL_H
#define XT_TEST_REFMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"
#include "xt/command.h"
#include "xt/event.h"

#define REF_MAX_ORDERS 4096
#define REF_MAX_INSTRUMENTS 8

typedef struct ref_inst {
    int64_t min_lots, max_lots;
    int64_t band_low, band_high; /* 1 and XT_PRICE_MAX when no band */
} ref_inst_t;

typedef struct ref_order {
    int64_t id;
    uint32_t account;
    uint32_t inst;
    int side, tif, stp;
    int64_t price, qty;
    int64_t filled; /* traded so far, over all its amends */
    uint64_t time;  /* arrival in the queue: smaller is older */
} ref_order_t;

typedef struct ref_model {
    ref_inst_t inst[REF_MAX_INSTRUMENTS];
    uint32_t n_inst;
    struct {
        int set;
        uint32_t inst;
        int64_t band_low, band_high;
    } next_band; /* ref_expect_band */
    ref_order_t o[REF_MAX_ORDERS];
    int n;
    uint64_t clock;
    strbuf_t out; /* event text of the current command */
} ref_model_t;

void ref_init(ref_model_t *m);
void ref_free(ref_model_t *m);

/* Declares an instrument with limits worked out independently by the test. */
uint32_t ref_add_instrument(ref_model_t *m, int64_t min_lots, int64_t max_lots, int64_t band_low, int64_t band_high);

/* The band the next INSTRUMENT command moves instrument inst to, with
 * limits worked out by the test (the model knows no decimals): ref_apply
 * then moves it and writes "INSTRUMENT inst". Resting orders stay. */
void ref_expect_band(ref_model_t *m, uint32_t inst, int64_t band_low, int64_t band_high);

/* Applies one NEW/CANCEL/AMEND command, or an INSTRUMENT one that moves a
 * band (ref_expect_band); the events are in m->out (replaced on every
 * call). */
void ref_apply(ref_model_t *m, const xt_cmd_t *cmd);

/* Appends the book of one instrument as lines "B|S price id:qty ..." best
 * first, bids then asks. */
void ref_book(const ref_model_t *m, uint32_t inst, strbuf_t *out);

/* Appends the model's text for an engine event (nothing for BOOK events;
 * "INSTRUMENT inst" for an instrument defined or its band moved). */
void ref_format_event(const xt_event_t *ev, strbuf_t *out);

#endif
