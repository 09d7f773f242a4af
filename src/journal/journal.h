/* journal.h - a matching engine made durable: every command is applied and
 * appended to the write-ahead journal, and its results may be released only
 * once xt_journal_commit() says so.
 *
 *   open     recover the data directory into the engine (snapshot + journal
 *            tail), cut a torn tail, take the directory's lock
 *   submit   apply one command (its events go to the sink - hold them) and
 *            append its record to the current batch
 *   commit   end the batch: write it with one write() and, per the fsync
 *            policy, make it durable with one fdatasync(); when it returns
 *            0, release the batch's results
 *   tick     between batches: interval syncs, snapshot bookkeeping
 *   close    commit, final snapshot, release the lock
 *
 * Policies (docs/journal-format.md#durability):
 *   batch     commit writes and syncs; nothing released is ever lost
 *   always    every submit writes and syncs its own record
 *   interval  commit writes; a sync runs when `interval_ms` has passed since
 *             the last one (at commit or tick). A process crash loses
 *             nothing written; a machine crash can lose what was released
 *             in the last interval_ms
 *   none      commit writes, syncs only at a segment roll, a snapshot and
 *             close (benchmarks only)
 *
 * Snapshots are taken at a batch boundary after a sync - so a snapshot
 * never holds a command the journal may lose - every `snapshot_every`
 * commands and/or `snapshot_secs` seconds, on request, and at close. They
 * are written by a forked child (copy-on-write: the engine goes on at once)
 * unless `snapshot_sync`; one at a time - one that falls due while another
 * is being written is taken at the first batch boundary after that. After each one, all but the newest
 * `keep_snapshots` snapshots are deleted, with the journal segments only
 * they needed.
 *
 * Failures close the journal (see wal.h): submit and commit then return
 * XT_EFAILED, xt_journal_failed() says why, and nothing more may be
 * released; the process should stop accepting commands.
 *
 * Time is passed in by the caller (monotonic nanoseconds) - the journal
 * reads no clock except to time its own syncs for statistics.
 */
#ifndef XT_JOURNAL_JOURNAL_H
#define XT_JOURNAL_JOURNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "io.h"
#include "recover.h"
#include "spare.h"
#include "wal.h"
#include "xt/engine.h"

typedef enum xt_fsync_policy {
    XT_FSYNC_BATCH = 0,
    XT_FSYNC_ALWAYS = 1,
    XT_FSYNC_INTERVAL = 2,
    XT_FSYNC_NONE = 3,
} xt_fsync_policy_t;

typedef struct xt_journal_config {
    int fsync;                 /* xt_fsync_policy_t; default batch */
    uint32_t interval_ms;      /* XT_FSYNC_INTERVAL; default 10 */
    uint32_t batch_max;        /* commands per batch before commit is due; default 4096 */
    uint32_t batch_max_us;     /* age of a batch before commit is due; default 1000 */
    uint64_t segment_bytes;    /* default 64 MiB */
    uint64_t snapshot_every;   /* commands between snapshots; 0: not by count */
    uint32_t snapshot_secs;    /* seconds between snapshots; 0: not by time */
    uint32_t keep_snapshots;   /* default 2 */
    uint8_t keep_all_segments; /* retention deletes old snapshots only, never a segment (md rebuild needs record 1) */
    uint8_t no_snapshot_on_close;
    uint8_t snapshot_sync;    /* write snapshots in this process, not a child */
    uint8_t preallocate;      /* xt_spare_mode_t: roll into preallocated segments (spare.h); not with fsync none */
    uint8_t drop_cache;       /* with preallocate: a rolled segment's pages leave the page cache (spare.h) */
    uint32_t child_delay_ms;  /* tests: a snapshot's child waits this long before it writes */
    const xt_snap_ext_t *ext; /* more state in each snapshot (the server's sessions); NULL: none */
    uint64_t recover_from;    /* recovery starts from this snapshot exactly (xt_recover_from); 0: the newest */
    /* A failed snapshot is reported with this (the server's log); NULL: a line on stderr. */
    void (*report)(void *ctx, uint64_t seq, const char *why);
    /* Told, on the thread that commits, when a snapshot of the engine as
     * after `seq` begins (synced, at a batch boundary; not the one at
     * close), so derived state can be saved at the same point; NULL: no. */
    void (*snapshot_begun)(void *ctx, uint64_t seq);
    /* Asked when a timed snapshot finds snapshot `seq` holding every
     * command already: 1 when what snapshot_begun saves beside it is there
     * too (the snapshot is not written again), 0 to write it anyway (and
     * call snapshot_begun). NULL: 1. */
    int (*snapshot_current)(void *ctx, uint64_t seq);
    void *report_ctx; /* for all three */
} xt_journal_config_t;

/* Parses "batch", "always", "none" or "interval=<ms>" into cfg. Returns 0
 * or XT_EINVAL. */
int xt_fsync_policy_parse(const char *s, xt_journal_config_t *cfg);

typedef struct xt_journal {
    xt_io_t *io;
    char dir[XT_PATH_MAX];
    int lock_fd;
    xt_engine_t *e;
    xt_journal_config_t cfg;
    xt_wal_t wal;
    xt_spare_t spare;
    xt_recovery_t recovery;
    uint32_t batch_n;
    int64_t batch_start, last_sync;
    int64_t link_checked;  /* when the segment's path was last checked (xt_wal_check_linked) */
    uint64_t snap_due_seq; /* snapshot when the last seq reaches this; 0: never */
    int64_t snap_due_time; /* or when now reaches this; 0: never */
    int snap_requested;
    pid_t snap_pid;
    int snap_why_fd;        /* the child's reason for a failure comes through this pipe (-1: none) */
    uint64_t snap_seq;      /* of the snapshot being written */
    uint64_t last_snap_seq; /* of the newest snapshot written or found */
    uint8_t *snap_buf;
    uint64_t snapshots, snapshot_failures;
    uint64_t snapshots_current; /* timed snapshots not written: the newest held every command already */
    char snap_why[256];
    int64_t fork_ns_last; /* duration of the last snapshot fork() */
} xt_journal_t;

/* Fills cfg with the defaults. */
void xt_journal_config_default(xt_journal_config_t *cfg);

/* Creates dir if needed, locks it, recovers it into `e` (initialised here
 * with ecfg, sink, ctx; the sink sees the replayed records' events) and
 * opens the journal for appending. Returns 0, or an error with a message in
 * j->recovery.why (XT_ELOCKED, XT_ECORRUPT, -errno, ...). io NULL: the
 * real file system. */
int xt_journal_open(xt_journal_t *j, const char *dir, const xt_journal_config_t *cfg, xt_io_t *io,
                    const xt_engine_config_t *ecfg, xt_sink_fn sink, void *ctx, xt_engine_t *e, int64_t now);

/* Applies cmd (its seq is assigned here) and appends it to the batch.
 * Returns 0; an engine error for a malformed command (nothing changed,
 * nothing journaled); or XT_EFAILED. */
int xt_journal_submit(xt_journal_t *j, xt_cmd_t *cmd, int64_t now);

/* Is the batch due for a commit (size or age bound)? */
int xt_journal_commit_due(const xt_journal_t *j, int64_t now);

/* Ends the batch; 0 means its results may be released. Also starts a due
 * snapshot. Returns 0 or XT_EFAILED. */
int xt_journal_commit(xt_journal_t *j, int64_t now);

/* Between batches: interval sync, snapshot child reaped. Returns 0 or
 * XT_EFAILED. */
int xt_journal_tick(xt_journal_t *j, int64_t now);

/* Asks for a snapshot at the next batch boundary (now, if there is no
 * batch open). */
int xt_journal_snapshot(xt_journal_t *j, int64_t now);

/* Commits, waits for a running snapshot, takes the final one (unless
 * configured off or the journal failed), closes everything. The engine is
 * left to the caller. Returns 0 or the first error. */
int xt_journal_close(xt_journal_t *j, int64_t now);

/* NULL while healthy, else why the journal failed closed. */
const char *xt_journal_failed(const xt_journal_t *j);

/* The sequence number the next command will get. */
static inline uint64_t xt_journal_next_seq(const xt_journal_t *j)
{
    return j->wal.next_seq;
}

#endif
