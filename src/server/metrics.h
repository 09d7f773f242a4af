/* metrics.h - the figures the server's threads publish for GET /metrics
 * (docs/metrics.md), and the fixed-bucket histograms they use.
 *
 * Each field has exactly one writing thread (named beside it) and is
 * published with relaxed stores: a writer adds with a load and a store (no
 * locked instruction), the md thread reads with relaxed loads when it
 * renders the text. No lock, no syscall on any hot path. Values read
 * together may come from slightly different moments; every counter only
 * grows, so each series is monotonic on its own.
 */
#ifndef XT_SERVER_METRICS_H
#define XT_SERVER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "xt/wire.h"

/* A Prometheus histogram with one writer: counts per bucket, not
 * cumulative (b[XT_PHIST_BOUNDS]: above the last bound, +Inf), and the sum
 * of the values; the count is the sum of b. The bounds (le) are
 * xt_phist_bounds, 100, 250, 500, 1000 .. 10,000,000 (1-2.5-5 steps), in
 * the histogram's unit: microseconds for an xt_phist_t (0.0001 .. 10 s),
 * nanoseconds for an xt_nhist_t (100 ns .. 10 ms: for what takes well
 * under 100 µs, the engine's time per command). */
#define XT_PHIST_BOUNDS 16
extern const uint64_t xt_phist_bounds[XT_PHIST_BOUNDS];

typedef struct xt_phist {
    _Atomic uint64_t b[XT_PHIST_BOUNDS + 1];
    _Atomic uint64_t sum; /* in the histogram's unit */
} xt_phist_t;

typedef xt_phist_t xt_nhist_t; /* the same in nanoseconds */

/* Adds n to a counter that only the calling thread writes. */
static inline void xt_ctr_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline uint64_t xt_ctr_get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* Records one value, in the histogram's unit, by its single writer. */
void xt_phist_add(xt_phist_t *h, uint64_t v);

/* The client commands counted by type (xt_commands_total). */
enum { XT_MET_NEW, XT_MET_CANCEL, XT_MET_AMEND, XT_MET_MASS_CANCEL, XT_MET_STATUS, XT_MET_CMD_TYPES };

typedef struct xt_metrics {
    /* gateway thread */
    _Atomic uint64_t commands[XT_MET_CMD_TYPES];
    _Atomic uint64_t gw_rejects[XT_R_GATEWAY_MAX_]; /* rejects the gateway answered itself */
    _Atomic uint64_t oe_opened, oe_closed;          /* order-entry connections */
    _Atomic uint64_t no_fd_refused[3]; /* clients refused for want of a descriptor: order entry, md, admin */
    _Atomic uint64_t oe_bytes_in, oe_bytes_out;
    _Atomic uint64_t oe_lost; /* outlog messages written over before the gateway routed them (RESYNC) */
    _Atomic int stopping;     /* a stop signal came: no longer ready */
    xt_phist_t ack;           /* request read -> its answer written, one request in flight sampled at a time */
    /* SIGHUP reloads (gw_reload.c): applied, refused; whether the last
     * was refused; whether the last applied one found keys only a restart
     * takes; when the config was last read and applied (or the start) */
    _Atomic uint64_t reloads[2];
    _Atomic int reload_refused, reload_needs_restart;
    _Atomic int64_t config_applied_ns; /* CLOCK_REALTIME, ns since the epoch */
    /* engine thread */
    _Atomic uint64_t eng_rejects[XT_R_GATEWAY_MAX_]; /* REJECTED events and the engine thread's own rejects */
    _Atomic uint64_t trades;
    _Atomic uint64_t fsyncs;            /* the journal's data syncs, the segment headers' included */
    xt_phist_t fsync;                   /* duration of each commit's sync */
    xt_phist_t batch;                   /* engine thread time per batch: its commands applied, before the commit */
    xt_nhist_t command;                 /* engine thread time applying one request, one sampled per batch */
    uint64_t batches;                   /* engine thread: batches applied (picks the request to time) */
    _Atomic uint64_t unsynced;          /* journal records written but not yet synced, after the last commit */
    _Atomic int64_t journal_busy_since; /* monotonic ns since the engine thread is in a journal write or sync; 0: not */
    _Atomic int64_t last_snapshot_mono; /* when the newest snapshot was written, or the server started */
    _Atomic uint64_t snapshots, snapshot_failures; /* the journal's counts (this process) */
    _Atomic uint64_t spare_misses;                 /* segment rolls that found no preallocated segment ready */
    _Atomic int64_t fork_ns_last;                  /* the last snapshot's fork() on the engine thread */
    _Atomic int running;                /* recovery done, until the engine thread stops (set in xt_server_run) */
    uint32_t n_inst;                    /* set before the threads start */
    _Atomic uint64_t *resting, *levels; /* per instrument, refreshed at most every second */
    int64_t last_books;                 /* engine thread: when resting/levels were last refreshed */
    uint64_t seen_snapshots;            /* engine thread: snapshots already published (written, and timed
                                           ones found current) */
} xt_metrics_t;

/* Allocates the per-instrument gauges (and takes now as the time the
 * config was applied). Returns 0 or XT_ENOMEM. */
int xt_metrics_init(xt_metrics_t *x, uint32_t n_inst, int64_t now_mono);
void xt_metrics_destroy(xt_metrics_t *x);

/* A SIGHUP's outcome, counted: refused (nothing changed), or applied and
 * whether keys were left for a restart. */
void xt_metrics_reload(xt_metrics_t *x, int refused, int needs_restart);

/* The metrics index of a request kind (XT_REQ_*), or -1. */
int xt_metrics_cmd_index(int kind);

/* ---- Prometheus text into a caller buffer ---------------------------------------- */

/* Text appended to p[0..cap): once something does not fit, `over` is set
 * and nothing more is appended (the caller refuses the result rather than
 * sending it cut). */
typedef struct xt_text {
    char *p;
    size_t cap, len;
    int over;
} xt_text_t;

void xt_text_printf(xt_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* # HELP and # TYPE lines. */
void xt_text_help(xt_text_t *t, const char *name, const char *type, const char *help);
/* A histogram in seconds, cumulative le buckets 0.0001 .. 10 and +Inf. */
void xt_text_phist(xt_text_t *t, const char *name, const char *help, const xt_phist_t *h);
/* A histogram in seconds from ns buckets: le 0.0000001 .. 0.01 and +Inf. */
void xt_text_nhist(xt_text_t *t, const char *name, const char *help, const xt_nhist_t *h);
/* The same from a log-linear µs histogram (histogram.h) of the calling thread. */
void xt_text_hist(xt_text_t *t, const char *name, const char *help, const xt_hist_t *h);

#endif
