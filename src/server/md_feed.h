/* md_feed.h - the engine thread's hand-off to the market-data thread.
 *
 * A single-producer single-consumer ring of the events market data needs
 * (BOOK, TRADE, and INSTRUMENT: a band move), each with its command's
 * sequence number and timestamp.
 * The engine thread writes a batch's events as they come and publishes
 * them only after the batch's journal commit, as it does with the
 * sessions' messages: market data never shows a trade that a crash could
 * take back. The engine never waits: when the ring is full the events are
 * counted in `dropped` and their instruments marked in `lost`; the
 * market-data thread then asks for a resync and the engine thread writes
 * the marked instruments' books again (engine_thread.c). Events of an
 * instrument whose book a resync under way is still to write (covered_from)
 * are only marked: that resync covers them. Market data also asks for a
 * book when one it keeps only the best md.max_levels of runs low
 * (`want`): the same pass writes those.
 *
 * Two records are not events: type XT_MD_FEED_RESET (a resync's "every
 * level gone") and XT_MD_FEED_CHECKPOINT (a snapshot of the engine began
 * after command `seq`: market data saves its state there, md_state.c).
 *
 * During recovery the feed is off; the replayed commands' trades are kept
 * in an xt_md_replay_t instead, for market data to replay from its state
 * at the snapshot recovery started from.
 */
#ifndef XT_SERVER_MD_FEED_H
#define XT_SERVER_MD_FEED_H

#include <stdatomic.h>
#include <stdint.h>

#include "xt/event.h"

#define XT_MD_FEED_RESET 0
#define XT_MD_FEED_CHECKPOINT 0xFF

typedef struct xt_md_rec {
    uint64_t seq;
    int64_t ts;
    uint8_t last;   /* the command's final record in the ring */
    uint8_t resync; /* written by xt_md_feed_raw: the books as of command seq (XT_MD_RESYNC) */
    xt_event_t ev;
} xt_md_rec_t;

typedef struct xt_md_feed {
    xt_md_rec_t *v;
    uint64_t mask;
    uint64_t wpos;      /* engine thread: next record to write (unpublished from head on) */
    uint64_t cmd_start; /* engine thread: wpos when the current command began */
    int on;             /* engine thread: feeding (off during recovery) */
    int lose_bands;     /* INSTRUMENT events are lost as in a full ring (debug.md_lose_band_moves) */
    /* engine thread: a resync under way writes the books of instruments
     * >= this later, so their lost events need no other resync and are not
     * counted in `dropped`; UINT32_MAX: none under way */
    uint32_t covered_from;
    uint32_t n_lost; /* instruments in lost */
    uint8_t *lost;   /* engine thread: by instrument, events lost since a resync last wrote its book */
    /* market-data thread -> engine thread: by instrument, a book market data
     * cut at md.max_levels ran low and is to be written again (a refill,
     * xt_md_take_refills); want_any: one was asked since the engine's
     * resync pass began (the pass may have gone past it) */
    _Atomic uint8_t *want;
    _Atomic int want_any;
    int efd; /* wakes the market-data thread */
    _Atomic int sleeping;
    char pad0[64];
    _Atomic uint64_t head; /* published */
    char pad1[56];
    _Atomic uint64_t tail; /* consumed */
    _Atomic uint64_t dropped;
    /* engine thread -> market-data thread: the timestamp of the batch
     * under way, from before its clock read (XT_MD_BATCH_STARTING) until
     * its events are published or dropped (then XT_MD_NO_BATCH), so that
     * market data's clock closes no interval its trades may still fall
     * in: a batch stamped before a boundary and published after market
     * data's clock passed it (a slow commit) counted in the next candle
     * live but in its own after a restart, which had closed and written
     * the candle without it - the trade was in neither. */
    _Atomic int64_t batch_open;
    /* never reset: TRADE and INSTRUMENT events lost (a resync sends the books
     * again, not these): market data's state is not the journal's once nonzero */
    _Atomic uint64_t trades_lost;
} xt_md_feed_t;

/* Allocates 2^k >= records entries (left out of a snapshot's fork; faulted
 * in now with XT_PAGES_TOUCH), the lost marks of `instruments` and the
 * eventfd. Returns 0 or -1. */
int xt_md_feed_init(xt_md_feed_t *f, uint32_t records, uint32_t instruments, unsigned page_flags);

#define XT_MD_BATCH_STARTING INT64_MIN /* batch_open: about to read the clock */
#define XT_MD_NO_BATCH INT64_MAX       /* batch_open: none under way */

/* Market data's clock may close the intervals that end at or before the
 * returned time: `now` (read before this call), held at the batch under
 * way (held at `before`, the last one returned, while a batch reads its
 * clock). Its events are to be read after this call, before the close.
 * Market-data thread. */
int64_t xt_md_feed_horizon(xt_md_feed_t *f, int64_t now, int64_t before);
void xt_md_feed_destroy(xt_md_feed_t *f);

/* Engine thread: copies the batch's BOOK, TRADE and INSTRUMENT events (when on). */
void xt_md_feed_batch(xt_md_feed_t *f, const xt_event_batch_t *b);
/* Engine thread: writes n events as given (type XT_MD_FEED_RESET = reset
 * the instrument's book), the last one flagged last when `last` (the end of a resync
 * command: the reset and the levels that follow it, over several calls),
 * stamped seq (the engine's last command: the books as of it) and ts,
 * flagged resync;
 * what does not fit is dropped. */
void xt_md_feed_raw(xt_md_feed_t *f, const xt_event_t *ev, uint32_t n, uint64_t seq, int64_t ts, int last);
/* Engine thread: a snapshot began after command seq (synced): writes a
 * checkpoint record and publishes the ring; 0. Skipped when the feed is
 * off (recovery; 1) or the ring is full (-1): that checkpoint is not
 * written, nothing else is lost. */
int xt_md_feed_mark(xt_md_feed_t *f, uint64_t seq);
/* Engine thread: after a successful commit, publishes what was written and
 * wakes the consumer if it sleeps. */
void xt_md_feed_publish(xt_md_feed_t *f);
/* Engine thread: after a failed commit, forgets the unpublished records. */
void xt_md_feed_discard(xt_md_feed_t *f);

/* The trades of the commands recovery replays, in order (a command's
 * trades share its seq), for market data to replay (md_state.c). At most
 * `max` (md.replay_trades), in chunks allocated as they come (no copy on
 * growth); past that, or without memory, they are dropped (overflow set)
 * and market data starts the day afresh. */
#define XT_MD_REPLAY_CHUNK 65536u

typedef struct xt_md_replay_rec { /* what market data and the fills take of a trade */
    uint64_t seq, trade_id;
    int64_t ts, price, qty, order_id, maker_id;
    uint32_t instrument, account, maker_account;
    uint8_t side;
} xt_md_replay_rec_t;

typedef struct xt_md_replay {
    xt_md_replay_rec_t **chunk;
    uint32_t n, max, n_chunks;
    int overflow;
} xt_md_replay_t;

/* Keeps the batch's trades. */
void xt_md_replay_add(xt_md_replay_t *r, const xt_event_batch_t *b);
static inline const xt_md_replay_rec_t *xt_md_replay_at(const xt_md_replay_t *r, uint32_t i)
{
    return &r->chunk[i / XT_MD_REPLAY_CHUNK][i % XT_MD_REPLAY_CHUNK];
}
/* Frees the trades (max and overflow stay). */
void xt_md_replay_free(xt_md_replay_t *r);

#endif
