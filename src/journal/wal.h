/* wal.h - appending to the journal: records are encoded into a batch
 * buffer, written with one write() per batch and made durable with one
 * fdatasync(); segments roll over at a size bound.
 *
 * A new segment is a preallocated one (spare.h) when a spare is ready: the
 * records then overwrite its zeros and its size does not change, so a sync
 * writes only data. At the roll the zeros after its records are cut off.
 *
 * Any write, sync or file error fails the journal closed: every later call
 * returns XT_EFAILED and `why` says what happened. Nothing already on disk
 * is touched - records only go after the last one - so a failed journal is
 * recovered at the next start like a crashed one. fdatasync is never
 * retried after an error (the kernel may have dropped the dirty pages).
 */
#ifndef XT_JOURNAL_WAL_H
#define XT_JOURNAL_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "dir.h"
#include "io.h"
#include "spare.h"
#include "xt/command.h"

typedef struct xt_wal {
    xt_io_t *io;
    char dir[XT_PATH_MAX];
    char path[XT_PATH_MAX]; /* current segment */
    int fd;
    off_t seg_size;         /* end of the records in the current segment */
    off_t file_size;        /* of its file: larger in a preallocated segment (zeros after the records) */
    off_t synced_size;      /* how much of it is durable */
    uint32_t torn_window;   /* of the current segment: 0, or XT_WAL_TORN_WINDOW if preallocated */
    xt_spare_t *spare;      /* preallocated segments to roll into; NULL: none */
    uint64_t segment_bytes; /* roll over once a segment reaches this size */
    xt_caps_t caps;         /* written into new segments' headers */
    int roll;               /* start a new segment at the next write */
    uint64_t next_seq;      /* sequence number of the next record */
    uint64_t written_seq;   /* last record handed to write() */
    uint64_t synced_seq;    /* last record made durable */
    uint8_t *buf;           /* records not yet written, sealed (crc) as written */
    size_t len, cap;
    int failed;
    int err;
    char why[XT_PATH_MAX + 256];
    /* statistics */
    uint64_t writes, syncs, bytes;
    int64_t sync_ns_last; /* duration of the last sync */
    /* Told each sync's duration in microseconds, on the thread that
     * synced, when set: every one, the torn window's and the rolls' within
     * a write as well as a commit's - under journal.fsync=always, one per
     * command of a batch (the server's histogram; a ring of the last 64
     * read between batches once timed only 64 of a batch's). */
    void (*on_sync)(void *ctx, uint64_t us);
    void *on_sync_ctx;
} xt_wal_t;

/* CLOCK_MONOTONIC in ns: the journal's durations (syncs, a snapshot's fork). */
int64_t xt_wal_mono_ns(void);

/* The last segment, as recovery found it. */
typedef struct xt_wal_last {
    const char *path;     /* NULL: there is none */
    uint64_t first;       /* its first sequence number */
    off_t end;            /* end of its valid records */
    off_t zeros;          /* zeros after them to the end of the file (preallocated), which the records overwrite */
    uint32_t torn_window; /* its header's */
} xt_wal_last_t;

/* Opens the journal in dir for appending after `last` (synced first: what
 * a crashed process left in the page cache counts as written; wal-last
 * written again if it does not name it: a directory from before the file,
 * or a crash between a segment's creation and the file's), or, with
 * last NULL or last->path NULL, creates the first segment for next_seq.
 * Returns 0 or -errno / XT_EFAILED. */
int xt_wal_open(xt_wal_t *w, xt_io_t *io, const char *dir, const xt_wal_last_t *last, uint64_t next_seq,
                uint64_t segment_bytes, size_t batch_bytes, const xt_caps_t *caps);

/* The engine's capacities change: later records go into a new segment that
 * says so. */
void xt_wal_set_caps(xt_wal_t *w, const xt_caps_t *caps);

/* Adds cmd (cmd->seq must be next_seq) to the batch. A full batch buffer is
 * written (not synced) first. Returns 0 or XT_EFAILED - also for a command
 * that cannot be journaled (out of sequence, unknown type), since the
 * caller has applied it already. */
int xt_wal_append(xt_wal_t *w, const xt_cmd_t *cmd);

/* A segment that grew by appending rolls into a ready spare when it holds
 * no record, or at least this many bytes of them (xt_wal_write). */
#define XT_WAL_EARLY_ROLL (1 << 20)

/* Writes the batch (rolling the segment over first if it is full, or if
 * it grew by appending and a spare is ready) at the end of the segment's
 * records; in a preallocated segment, with syncs
 * between its parts where it would leave more than XT_WAL_TORN_WINDOW
 * bytes unsynced. Returns 0 or XT_EFAILED. */
int xt_wal_write(xt_wal_t *w);

/* Makes everything written durable. Returns 0 or XT_EFAILED. */
int xt_wal_sync(xt_wal_t *w);

/* Fails the journal closed (XT_EFAILED, why set) when the segment is no
 * longer in its directory: unlinked, or its path now names another file
 * or none - the data directory removed or moved while the server runs,
 * where every record would be lost at the next start. The journal checks
 * once a second (journal.c check_path), not at every sync: an fstat right
 * behind each fdatasync of a preallocated segment made those syncs a
 * third slower (bench/RESULTS.md). 0 while it is there. */
int xt_wal_check_linked(xt_wal_t *w);

/* Closes the current segment (after xt_wal_write/xt_wal_sync as wanted). */
void xt_wal_close(xt_wal_t *w);

#endif
