/* gw_bands.c - a SIGHUP moves the price bands the config moved
 * (docs/config.md, "Reloading"), as a start does (server.c): an A-share
 * daily limit around the previous close, set before the open without a
 * restart.
 *
 * The gateway thread queues one XT_REQ_BAND_MOVE per instrument moved to
 * the engine, where it is journaled like any command and takes its place
 * among the orders: an order the engine took before the move was checked
 * against the old band, one after it against the new. The engine's answer
 * is a control slot in the outlog (XT_OL_BAND), in its place among the
 * answers, released with its batch; routing it (xt__gw_band_answer) puts
 * the new band in the login list's frame and pushes that frame to each
 * logged-in connection that asked for status updates, before any answer
 * of a request the engine took after the move. The market-data thread,
 * seeing frames_gen move, makes its binary greeting's list again. One move
 * per instrument is in flight at a time; a reload during it queues the
 * next, sent once it is answered. None of this is on the order path: the
 * poll returns at once with nothing queued or in flight.
 *
 * A move is not made once the journal has failed closed or the server is
 * stopping (the log says so for each; the next start moves the band, as
 * the config says).
 */
#include <stdlib.h>
#include <string.h>

#include "band_move.h"
#include "gateway_internal.h"
#include "log.h"
#include "xt/engine.h"
#include "xt/error.h"

struct xt_gw_bands {
    xt_instrument_def_t *want; /* the latest asked for: in force, once what is queued and in flight is applied */
    xt_instrument_def_t *sent; /* the move in flight */
    uint8_t *flight;           /* sent, not answered yet */
    uint8_t *queued;           /* want is yet to be sent */
    uint32_t n_queued, n_flight;
};

static struct xt_gw_bands *bands(xt_server_t *s)
{
    xt_gw_t *g = s->gw;
    if (g->bands)
        return g->bands;
    uint32_t n = s->n_instruments ? s->n_instruments : 1;
    struct xt_gw_bands *b = calloc(1, sizeof *b);
    if (!b || !(b->want = calloc(n, sizeof *b->want)) || !(b->sent = calloc(n, sizeof *b->sent)) ||
        !(b->flight = calloc(n, 1)) || !(b->queued = calloc(n, 1))) {
        if (b) {
            free(b->want);
            free(b->sent);
            free(b->flight);
        }
        free(b);
        return NULL;
    }
    memcpy(b->want, s->inst_defs, s->n_instruments * sizeof *b->want);
    return g->bands = b;
}

/* Why no move can be made now, or NULL. */
static const char *cannot_move(const xt_server_t *s)
{
    if (atomic_load(&s->journal_failed))
        return "the journal failed closed; the next start moves it, as the config says";
    if (s->gw->stopping)
        return "the server is stopping; the next start moves it, as the config says";
    return NULL;
}

static void not_moved(const xt_server_t *s, uint32_t i, const char *why)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_ERROR, "SIGHUP: the price band did not move")) {
        xt_log_str(&e, "symbol", s->symbols[i]);
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
}

int xt__gw_bands_reload(xt_server_t *s, const xt_server_config_t *next)
{
    struct xt_gw_bands *b = bands(s);
    if (!b)
        return -1;
    const char *why = cannot_move(s);
    int moves = 0;
    for (uint32_t k = 0; k < next->n_instruments; k++) {
        const xt_instrument_def_t *d = &next->instruments[k];
        uint32_t i =
            xt_server_find_symbol(s, d->symbol); /* none: a new instrument, which needs a restart (gw_reload.c) */
        if (i == XT_NIL || xt_band_move_check(&b->want[i], d) != 1)
            continue;
        if (why) {
            not_moved(s, i, why);
            continue;
        }
        b->want[i] = xt_band_moved(&b->want[i], d);
        b->n_queued += !b->queued[i];
        b->queued[i] = 1;
        moves++;
    }
    xt__gw_bands_poll(s);
    return moves;
}

/* Instrument i's frame with d's band, for the logins and greetings to come. */
static void set_frame(xt_server_t *s, uint32_t i, const xt_instrument_def_t *d)
{
    xt_msg_instrument_t m;
    int64_t low = 0, high = 0;
    int has = (d->flags & XT_DEF_BAND) && xt_band_limits(d, &low, &high) == 0; /* as the core derives it */
    pthread_mutex_lock(&s->frames_lock);
    xt_wire_get_instrument(s->instrument_frames[i], &m);
    m.has_band = (uint8_t)has;
    m.band_low = has ? low : 0;
    m.band_high = has ? high : 0;
    xt_wire_put_instrument(s->instrument_frames[i], 0, &m);
    pthread_mutex_unlock(&s->frames_lock);
    atomic_fetch_add_explicit(&s->frames_gen, 1, memory_order_release);
}

void xt__gw_band_answer(xt_server_t *s, uint32_t i, int rc)
{
    struct xt_gw_bands *b = s->gw->bands;
    if (!b || i >= s->n_instruments || !b->flight[i])
        return;
    b->flight[i] = 0;
    b->n_flight--;
    if (rc != 0) { /* the core refused it: not expected, as the comparison is the core's own */
        not_moved(s, i, xt_strerror(rc));
        if (!b->queued[i]) /* a later reload asking for it tries again */
            b->want[i] = s->inst_defs[i];
        return;
    }
    s->inst_defs[i] = b->sent[i];
    set_frame(s, i, &b->sent[i]);
    xt_band_move_log(&b->sent[i]);
    xt__gw_status_update(s, i, atomic_load_explicit(&s->halted[i], memory_order_relaxed));
}

void xt__gw_bands_poll(xt_server_t *s)
{
    struct xt_gw_bands *b = s->gw->bands;
    if (!b || (!b->n_queued && !b->n_flight))
        return;
    /* After a journal failure nothing more is released (the engine stores
     * `released` before the flag): once what was is routed, a move still
     * in flight will never be answered. During a stop one in flight is
     * (the engine drains its ring); what is queued is not sent. The flag
     * first, so that why is set whenever it is. */
    int failed = atomic_load(&s->journal_failed);
    const char *why = cannot_move(s);
    int unanswered = failed && atomic_load_explicit(&s->log.released, memory_order_acquire) ==
                                   atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
    for (uint32_t i = 0; i < s->n_instruments; i++) {
        if ((b->flight[i] && unanswered) || (b->queued[i] && why)) {
            not_moved(s, i, why);
            b->n_queued -= b->queued[i];
            b->queued[i] = 0;
            if (unanswered) {
                b->n_flight -= b->flight[i];
                b->flight[i] = 0;
            }
            b->want[i] = b->flight[i] ? b->sent[i] : s->inst_defs[i]; /* what is or will be in force */
            continue;
        }
        if (!b->queued[i] || b->flight[i])
            continue;
        xt_req_t r = {.kind = XT_REQ_BAND_MOVE, .instrument = i};
        xt_req_set_band(&r, &b->want[i]);
        if (!xt_req_push(s, &r))
            continue; /* the ring is full: tried again at the next poll */
        b->sent[i] = b->want[i];
        b->flight[i] = 1;
        b->queued[i] = 0;
        b->n_queued--;
        b->n_flight++;
    }
}

void xt__gw_bands_destroy(xt_server_t *s)
{
    struct xt_gw_bands *b = s->gw ? s->gw->bands : NULL;
    if (!b)
        return;
    s->gw->bands = NULL;
    free(b->want);
    free(b->sent);
    free(b->flight);
    free(b->queued);
    free(b);
}
