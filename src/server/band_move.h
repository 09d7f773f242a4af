#ifndef XT_SERVER_BAND_MOVE_H
#define XT_SERVER_BAND_MOVE_H

#include <stddef.h>

#include "xt/command.h"

/* An instrument, once defined in the journal, keeps its tick, lot, min and
 * max; the config may move only its price band (ref and band: a daily
 * limit around the previous close). Both a start (server.c) and a SIGHUP
 * (gw_bands.c) decide with this what a config's instrument asks of the
 * definition in force. */

/* 0: cfg says what in_force says (0.010 is 0.01; min, max and band given
 * or not as there). 1: it changes the band only (ref, band, given or not):
 * a band move. -1: it changes something else too (tick, lot, or min or max,
 * also a min or max written where there was none, at its default value
 * too, as the core compares them); nothing of it is applied, and the log
 * is told which fields (one warning). */
int xt_band_move_check(const xt_instrument_def_t *in_force, const xt_instrument_def_t *cfg);

/* in_force with cfg's band: the definition a band move journals. */
xt_instrument_def_t xt_band_moved(const xt_instrument_def_t *in_force, const xt_instrument_def_t *cfg);

/* The log's line for a band moved to d's (its limits in ticks). */
void xt_band_move_log(const xt_instrument_def_t *d);

#endif
