/* faultio.h - a journal I/O layer for tests (src/journal/io.h) that works on
 * the real files but can
 *   - fail the n-th write, or the n-th sync, with a chosen errno;
 *   - make the n-th write short (half its bytes), then fail the next;
 *   - simulate power loss afterwards: every file loses what was written
 *     after its last sync (DROP), or keeps a random part of it (TEAR), or
 *     gets random bytes instead (GARBAGE) - appended or written over zeros
 *     with pwrite; files created, and renames made, since their directory
 *     was last synced are undone.
 * Counting starts at 1; 0 means never. */
#ifndef XT_TEST_FAULTIO_H
#define XT_TEST_FAULTIO_H

#include <stdint.h>
#include <sys/types.h>

#include "journal/io.h"

#define FAULTIO_FILES 64

typedef enum faultio_loss { FAULTIO_DROP, FAULTIO_TEAR, FAULTIO_GARBAGE } faultio_loss_t;

typedef struct faultio_file {
    char path[512];
    int fd;       /* -1 when closed */
    off_t size;   /* as written */
    off_t synced; /* durable */
    int new_file; /* created since its directory was last synced */
    /* Bytes below `synced` overwritten by pwrite since the last sync (none
     * when ow_hi is 0). A power loss puts zeros back there (all, some or
     * garbage, as for appended bytes): the journal overwrites only the
     * zeros of a preallocated segment, and faultio_t.overwrote_data says
     * if anything else was overwritten. */
    off_t ow_lo, ow_hi;
} faultio_file_t;

typedef struct faultio_rename {
    char from[512], to[512];
    char aside[540]; /* the file the rename replaced, hard-linked here until the directory is synced; "" if none */
} faultio_rename_t;

typedef struct faultio {
    xt_io_t io; /* first: a faultio_t * is an xt_io_t * */
    unsigned writes, syncs, dir_syncs;
    unsigned fail_write_at, short_write_at, fail_sync_at;
    int fail_errno;       /* default EIO */
    int failed;           /* a fault was injected */
    uint64_t pread_bytes; /* asked for by pread, all files */
    int overwrote_data;   /* a pwrite below a file's synced size replaced bytes that were not zeros */
    /* With faultio_offer_drop: drop_cache calls, those of journal segments
     * (wal-*), and those on a file with bytes written since its last sync
     * (the journal drops a segment only once it is cut and synced, and a
     * snapshot once synced: a guard, which the fsync=batch journals of the
     * crash test cannot trip; the kernel would write dirty pages back
     * rather than lose them). */
    unsigned drops, drops_seg, drops_unsynced;
    faultio_file_t files[FAULTIO_FILES];
    faultio_rename_t renames[16];
    int nrenames;
} faultio_t;

void faultio_init(faultio_t *f);

/* Offers the optional drop_cache op (io.h), which faultio_init leaves out,
 * so that tests that run the spare's thread through faultio (it makes
 * spares with opens, writes, syncs and closes on that thread) do not also
 * have it close rolled segments there; faultio is not thread-safe. For
 * inline spares (XT_SPARE_INLINE) or none. */
void faultio_offer_drop(faultio_t *f);

/* Applies a power loss to every file touched, as described above. */
void faultio_power_loss(faultio_t *f, faultio_loss_t how, uint64_t seed);

#endif
