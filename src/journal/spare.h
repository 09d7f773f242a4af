/* spare.h - the next journal segment, preallocated before it is needed.
 *
 * An append changes a file's size, and ext4 must then commit its own
 * metadata journal at every fdatasync: on this project's machine a 100 KB
 * batch synced in 240-370 us appended, 150 us written over zeros already
 * on disk (bench/RESULTS.md). So the journal writes into a segment whose
 * bytes are all written (zeros) and synced before its header goes in: the
 * sync then writes only the data. Making that file costs a segment's worth
 * of writes, so it is made ahead, as DIR/wal-spare, and the roll to a new
 * segment writes the header into it and renames it (wal.c).
 *
 * Modes: XT_SPARE_THREAD makes it in a thread of its own (the server; the
 * I/O layer must be safe to use from two threads, as xt_io_posix is);
 * XT_SPARE_INLINE makes it on the caller's thread at start and after each
 * take (tests that inject faults, so that every operation goes through
 * their layer in a known order). A spare that cannot be made (disk full)
 * is no failure of the journal: the roll then creates the segment as
 * before (counted in `missed`), and asks for another. The spare is at most
 * XT_SPARE_MAX bytes: a larger segment grows past it by appending.
 *
 * The segment a roll leaves, written and synced, is handed back here
 * (xt_spare_retire): with `drop`, its pages leave the page cache before the
 * next spare is written, and that spare's writes can take the pages just
 * freed. Without it the page cache grows by every byte the journal writes
 * until the kernel reclaims (under a container's memory limit too). On
 * this project's VM, while its free memory was new to the host, the
 * spare's thread then spent a quarter of a core at 2 M orders/s copying
 * zeros into new pages; once the memory had been used, a few percent
 * either way (bench/RESULTS.md). The server does not read
 * a rolled segment while it runs: recovery and the journal tools read it
 * from the disk.
 */
#ifndef XT_JOURNAL_SPARE_H
#define XT_JOURNAL_SPARE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dir.h"
#include "io.h"

#define XT_SPARE_FILE "wal-spare"
#define XT_SPARE_MAX (INT64_C(1) << 30)
/* Rolled segments waiting for the thread to drop and close them; more are
 * dropped and closed on the caller's thread (rolls come a segment apart). */
#define XT_SPARE_RETIRED 4

typedef enum xt_spare_mode { XT_SPARE_OFF = 0, XT_SPARE_THREAD = 1, XT_SPARE_INLINE = 2 } xt_spare_mode_t;

typedef struct xt_spare {
    xt_io_t *io;
    int mode;
    int drop; /* drop rolled segments' pages from the page cache */
    char path[XT_PATH_MAX];
    off_t size;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want, ready, stop, busy;   /* under mu; busy: being written */
    int err;                       /* the last failure to make one (-errno), 0 after a success; under mu */
    int retired[XT_SPARE_RETIRED]; /* rolled segments' descriptors to drop and close; under mu */
    int n_retired;
    uint64_t made, missed; /* spares made; rolls that found none ready */
} xt_spare_t;

/* Removes a spare left by an earlier run (how far it was made is unknown)
 * and, unless mode is XT_SPARE_OFF, starts making one of `size` bytes for
 * dir. drop: rolled segments handed to xt_spare_retire leave the page
 * cache (not with XT_SPARE_OFF). Returns 0 or -errno (the thread could not
 * start). */
int xt_spare_start(xt_spare_t *s, xt_io_t *io, const char *dir, off_t size, int mode, int drop);

/* Is a spare ready? 1: its file (s->path, s->size bytes of zeros, synced)
 * is the caller's to rename, and xt_spare_again() must follow; 0: none. */
int xt_spare_take(xt_spare_t *s);

/* Is a spare ready? Takes nothing and counts no miss: a segment that grew
 * by appending rolls into it as soon as it is (wal.c). */
int xt_spare_ready(xt_spare_t *s);

/* Takes a rolled segment's descriptor (written, synced, written no more)
 * and closes it: with drop, after dropping its pages (io->drop_cache), on
 * the spare's thread before it makes the next spare (XT_SPARE_THREAD) or
 * here (XT_SPARE_INLINE); otherwise at once, here. Call it before
 * xt_spare_again(), so that the spare takes the pages freed. */
void xt_spare_retire(xt_spare_t *s, int fd);

/* Asks for the next spare, after a take. */
void xt_spare_again(xt_spare_t *s);

/* The spare taken could not be opened (removed by hand?): counted as a
 * miss, and another asked for. */
void xt_spare_lost(xt_spare_t *s);

/* What the spare is doing, in words, into buf: "being written", "ready",
 * the last failure, or none. */
const char *xt_spare_state(xt_spare_t *s, char *buf, size_t n);

/* Stops the thread and removes an unused spare. */
void xt_spare_stop(xt_spare_t *s);

#endif
