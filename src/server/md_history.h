/* md_history.h - the K-line history files (kline_store.h,
 * docs/kline-history.md) as the server runs them: opened for every
 * instrument at start (md.history, md.history_dir), fed every closed
 * candle from the md sink, and written by a thread of its own
 * (`xt-klines`), so that a disk that is slow or hangs never holds the
 * market-data thread (its subscribers, /readyz, /metrics, REST) up.
 *
 * The market-data thread hands closed candles over through a ring and
 * keeps the last few of each file (RECENT) for GET /api/v1/klines, which
 * reads the file and then those: what the writer has not written yet is
 * still answered. A ring with no room (the writer stuck on the disk for
 * longer than the ring holds) loses candles, counted and told in the log;
 * `xtrading md rebuild` regenerates the files from the journal. */
#ifndef XT_SERVER_MD_HISTORY_H
#define XT_SERVER_MD_HISTORY_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kline_store.h"
#include "md/md.h"

struct xt_server;

#define XT_MD_HISTORY_RECENT 8 /* closed candles kept per file for REST */

typedef struct xt_md_history_msg {
    uint32_t id, interval;
    xt_md_candle_t c;
} xt_md_history_msg_t;

/* Per file, on the market-data thread: its last candles as the store
 * writes them (kline_store.h: a candle not after the file's last is
 * skipped). */
typedef struct xt_md_history_recent {
    xt_md_candle_t c[XT_MD_HISTORY_RECENT]; /* a ring: the newest at (head - 1) */
    int64_t last_open, last_close;          /* of the file's newest candle, as the store has it (has_last) */
    int64_t prior_open, prior_close;        /* of a file set aside for a tz change (xt_kl_file_t's) */
    uint32_t head, n;
    uint8_t has_last, has_prior;
} xt_md_history_recent_t;

typedef struct xt_md_history {
    xt_kl_store_t st; /* the writer thread's once it runs (dir: read by any) */
    int64_t newest;   /* xt_md_history_newest, found at open */
    /* market-data thread -> writer: single producer, single consumer */
    xt_md_history_msg_t *ring;
    uint64_t mask;
    _Atomic uint64_t head, tail;
    _Atomic uint64_t lost;          /* candles the ring had no room for */
    xt_md_history_recent_t *recent; /* market-data thread: by file (instrument x interval) */
    uint32_t max_instruments;
    int live; /* the market-data thread runs: a full ring loses a candle instead of waiting */
    pthread_t th;
    cpu_set_t rest; /* where the writer runs when pin (server.*_cpus set) */
    int pin;
    uint32_t delay_ms; /* debug.kline_write_delay_ms: each snapshot's write waits this long first (tests) */
    pthread_mutex_t mu;
    pthread_cond_t cv, flushed;
    uint64_t flush_asked, flush_done; /* under mu: xt_md_history_live waits for the writer */
    uint64_t sync_asked;              /* under mu: the last ask that also syncs (xt_md_history_flush_soon) */
    uint64_t cancel_upto;             /* under mu: xt_md_history_wait of tickets up to this returns at once */
    int sync_failed;                  /* under mu: a sync failed in this run (for good: below) ... */
    char sync_why[XT_PATH_MAX + 160]; /* ... and why (under mu) */
    int stop, started;                /* stop: under mu */
    /* writer thread: what the log has been told */
    uint64_t errors_reported, lost_reported;
    int64_t last_report;
} xt_md_history_t;

/* Allocates and opens the history for every instrument of s->engine and
 * starts its writer thread, or sets *out to NULL when md.history is off.
 * Files cut or set aside are reported in the log. Returns 0, or -1 with a
 * message in why (the directory cannot be made, out of memory, no thread). */
int xt_md_history_open(struct xt_server *s, xt_md_history_t **out, char *why, size_t whylen);

/* Before recovery, so that a bad md.history_dir ends the start before it
 * journals anything: creates the configured directory if missing (one
 * level, as the open). The default, in the data directory, is left to the
 * open. Returns 0, or -1 with a message in why. */
int xt_md_history_precheck(const struct xt_server *s, char *why, size_t whylen);

/* The end of the newest candle in the files (ns; INT64_MIN for none, or
 * h NULL): market data's clock had passed it when that candle was written. */
int64_t xt_md_history_newest(const xt_md_history_t *h);

/* The md sink's share: hands a closed candle to the writer (anything else
 * is ignored). Until xt_md_history_live, a full ring is waited for (the
 * replay at start loses nothing); after, a candle that finds it full is
 * lost and counted. */
void xt_md_history_on_update(xt_md_history_t *h, const xt_md_update_t *u);
/* The market-data thread runs from now on: on_update never waits. Waits
 * for the writer to write what start-up handed over (the replay, the
 * first advance after a downtime: maybe more than the RECENT candles
 * GET /api/v1/klines has besides the files). */
void xt_md_history_live(xt_md_history_t *h);
/* Asks the writer to write everything handed over so far, now rather
 * than md.history_flush_ms later, and to sync every file written since
 * the last such ask, without waiting for it: at each snapshot's md-state,
 * whose restart remakes only the candles that close after it - so the
 * state is written once those before are durable (xt_md_history_wait).
 * Returns the ask's ticket (0: h is NULL). */
uint64_t xt_md_history_flush_soon(xt_md_history_t *h);
/* Waits up to timeout_ms for the writer to have done ask `ticket` (any
 * thread). Returns 0 (done, or ticket 0); -ETIMEDOUT; -ECANCELED when
 * xt_md_history_cancel_waits let it go first; or -EIO when a sync has
 * failed in this run, with why (the file and error) in why[0..n). A failed
 * sync counts for good: after a writeback error the kernel may mark the
 * pages clean and a later fdatasync succeed with the data never written,
 * so no later sync can say what it lost. */
int xt_md_history_wait(xt_md_history_t *h, uint64_t ticket, uint32_t timeout_ms, char *why, size_t n);
/* Lets every wait for a ticket up to `ticket` return now (-ECANCELED): the
 * market-data thread, which must not wait for the disk, at its next
 * snapshot while the last one's state still waits for the history. */
void xt_md_history_cancel_waits(xt_md_history_t *h, uint64_t ticket);

/* The last closed candles handed over for instrument id and interval,
 * oldest first, into out (XT_MD_HISTORY_RECENT at most); returns how
 * many. Market-data thread. */
uint32_t xt_md_history_recent(const xt_md_history_t *h, uint32_t id, int interval, xt_md_candle_t *out);

/* The close of the newest candle (the latest end) in instrument id's
 * files as they were at open - or set aside at open because the
 * instrument's tz changed - the 1m file's on a tie: the last price the
 * history knows, for market data that knows none (a start without its
 * saved day). XT_PRICE_NONE with no record (or h NULL). Market-data
 * thread, before it hands candles over. */
int64_t xt_md_history_last_price(const xt_md_history_t *h, uint32_t id);

/* Stops the writer once it has written everything handed over, and frees
 * h (NULL: nothing). */
void xt_md_history_close(xt_md_history_t *h);

#endif
