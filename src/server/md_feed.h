/* md_feed.h - the engine thread's hand-off to the market-data thread.
 *
 * A single-producer single-consumer ring of the events market data needs
 * (BOOK and TRADE), each with its command's sequence number and timestamp.
 * The engine thread writes a batch's events as they come and publishes
 * them only after the batch's journal commit, as it does with the
 * sessions' messages: market data never shows a trade that a crash could
 * take back. The engine never waits: when the ring is full the events are
 * counted in `dropped`; the market-data thread then asks for a resync and
 * the engine thread writes its books again (engine_thread.c).
 */
#ifndef XT_SERVER_MD_FEED_H
#define XT_SERVER_MD_FEED_H

#include <stdatomic.h>
#include <stdint.h>

#include "xt/event.h"

typedef struct xt_md_rec {
    uint64_t seq;
    int64_t ts;
    uint8_t last; /* the command's final record in the ring */
    xt_event_t ev;
} xt_md_rec_t;

typedef struct xt_md_feed {
    xt_md_rec_t *v;
    uint64_t mask;
    uint64_t wpos;      /* engine thread: next record to write (unpublished from head on) */
    uint64_t cmd_start; /* engine thread: wpos when the current command began */
    int on;             /* engine thread: feeding (off during recovery) */
    int efd;            /* wakes the market-data thread */
    _Atomic int sleeping;
    char pad0[64];
    _Atomic uint64_t head; /* published */
    char pad1[56];
    _Atomic uint64_t tail; /* consumed */
    _Atomic uint64_t dropped;
} xt_md_feed_t;

/* Allocates 2^k >= records entries and the eventfd. Returns 0 or -1. */
int xt_md_feed_init(xt_md_feed_t *f, uint32_t records);
void xt_md_feed_destroy(xt_md_feed_t *f);

/* Engine thread: copies the batch's BOOK and TRADE events (when on). */
void xt_md_feed_batch(xt_md_feed_t *f, const xt_event_batch_t *b);
/* Engine thread: writes n events as given (type 0 = reset the instrument's
 * book), the last one flagged last when `last` (the end of a resync
 * command: the reset and the levels that follow it, over several calls);
 * what does not fit is dropped. */
void xt_md_feed_raw(xt_md_feed_t *f, const xt_event_t *ev, uint32_t n, int64_t ts, int last);
/* Engine thread: after a successful commit, publishes what was written and
 * wakes the consumer if it sleeps. */
void xt_md_feed_publish(xt_md_feed_t *f);
/* Engine thread: after a failed commit, forgets the unpublished records. */
void xt_md_feed_discard(xt_md_feed_t *f);

#endif
