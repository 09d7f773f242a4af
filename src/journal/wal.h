/* wal.h - appending to the journal: records are encoded into a batch
 * buffer, written with one write() per batch and made durable with one
 * fdatasync(); segments roll over at a size bound.
 *
 * Any write, sync or file error fails the journal closed: every later call
 * returns XT_EFAILED and `why` says what happened. Nothing already on disk
 * is touched - the journal only ever appends - so a failed journal is
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
#include "xt/command.h"

typedef struct xt_wal {
    xt_io_t *io;
    char dir[XT_PATH_MAX];
    char path[XT_PATH_MAX]; /* current segment */
    int fd;
    off_t seg_size;
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
} xt_wal_t;

/* Opens the journal in dir for appending. `last` is the last segment
 * (path, its first sequence number) and `end` the end of its valid records,
 * as recovery found them; last_path NULL means there is none and the first
 * segment is created for next_seq. Returns 0 or -errno / XT_EFAILED. */
int xt_wal_open(xt_wal_t *w, xt_io_t *io, const char *dir, const char *last_path, off_t end, uint64_t next_seq,
                uint64_t segment_bytes, size_t batch_bytes, const xt_caps_t *caps);

/* The engine's capacities change: later records go into a new segment that
 * says so. */
void xt_wal_set_caps(xt_wal_t *w, const xt_caps_t *caps);

/* Adds cmd (cmd->seq must be next_seq) to the batch. A full batch buffer is
 * written (not synced) first. Returns 0 or XT_EFAILED - also for a command
 * that cannot be journaled (out of sequence, unknown type), since the
 * caller has applied it already. */
int xt_wal_append(xt_wal_t *w, const xt_cmd_t *cmd);

/* Writes the batch (rolling the segment over first if it is full).
 * Returns 0 or XT_EFAILED. */
int xt_wal_write(xt_wal_t *w);

/* Makes everything written durable. Returns 0 or XT_EFAILED. */
int xt_wal_sync(xt_wal_t *w);

/* Closes the current segment (after xt_wal_write/xt_wal_sync as wanted). */
void xt_wal_close(xt_wal_t *w);

#endif
