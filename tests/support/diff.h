/* diff.h - differential driver: applies each command to the engine and to
 * the reference model, then checks that they agree (events and books), that
 * the engine's invariants hold (xt_engine_verify) and that the L2 book
 * rebuilt from BOOK events equals the engine's levels. Used by the
 * differential unit test and the engine fuzz target. */
#ifndef XT_TEST_DIFF_H
#define XT_TEST_DIFF_H

#include "refmodel.h"
#include "xt/xt.h"

#define DIFF_MAX_L2 512

typedef struct diff_l2 {
    int64_t price, qty;
    uint32_t orders;
} diff_l2_t;

typedef struct diff {
    xt_engine_t e;
    ref_model_t m;
    strbuf_t ev; /* engine events of the current command, model text form */
    uint64_t seq;
    uint64_t last_trade_id;
    const char *fault; /* set by the sink on an event-level disagreement */
    int saw_last;      /* the current command's final batch arrived */
    uint32_t touched;  /* instruments named by the current command's events */
    diff_l2_t l2[REF_MAX_INSTRUMENTS][2][DIFF_MAX_L2];
    int l2n[REF_MAX_INSTRUMENTS][2];
} diff_t;

/* Returns 0 or an engine init error. `d` is large: allocate it. */
int diff_init(diff_t *d, const xt_engine_config_t *cfg);
void diff_free(diff_t *d);

/* Defines an instrument in both; the model gets the limits the test worked
 * out by hand. Returns the engine's xt_engine_apply result. */
int diff_instrument(diff_t *d, const xt_instrument_def_t *def, int64_t min_lots, int64_t max_lots, int64_t band_low,
                    int64_t band_high);

/* The standard fixture: three instruments with hand-worked limits.
 *   0 "A"  tick 0.01, lot 1                                   (no band)
 *   1 "B"  tick 0.01, lot 100, min 200, max 10000, ref 10.00, band 5%
 *          -> 2..100 lots, prices 950..1050 ticks
 *   2 "C"  tick 0.5, lot 0.001                                (no band)
 * Returns 0 or the first engine error. */
int diff_define_fixture(diff_t *d);

/* The INSTRUMENT command that moves fixture instrument B's band to ref
 * (ticks, a multiple of 20, so that its 5% is whole ticks) or, with ref 0,
 * takes it away; the model is told the limits (ref_expect_band). Pass it
 * to diff_step. */
xt_cmd_t diff_band_move_b(diff_t *d, int64_t ref);

/* Applies cmd (seq/ts assigned here) to both and compares. Returns NULL when
 * they agree, else a description (details on stderr). */
const char *diff_step(diff_t *d, xt_cmd_t *cmd);

#endif
