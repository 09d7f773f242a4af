/* manifest.h - the journal's `wal-last` file: the first sequence number of
 * its newest segment, written (through wal-last.tmp, synced, renamed, the
 * directory synced) whenever a segment is created, after the segment is
 * durable. A segment's name says where it starts, but nothing says which
 * is the newest: without this file, a journal whose newest segments were
 * removed reads like one that ends where the remaining ones end, and the
 * commands in them would be lost without a word. Recovery refuses a
 * directory whose newest segment is older than the one named here
 * (docs/journal-format.md). */
#ifndef XT_JOURNAL_MANIFEST_H
#define XT_JOURNAL_MANIFEST_H

#include <stdint.h>

#include "io.h"

#define XT_MANIFEST_FILE "wal-last"

/* Writes first_seq as the newest segment's. Returns 0 or -errno. */
int xt_manifest_write(xt_io_t *io, const char *dir, uint64_t first_seq);

/* Reads it into *first_seq. Returns 0, -ENOENT when there is none (a
 * directory from before the file existed, or a new one), XT_ECORRUPT when
 * it does not check, or another -errno. */
int xt_manifest_read(xt_io_t *io, const char *dir, uint64_t *first_seq);

/* Recovery's check: the newest segment in dir is the one wal-last names,
 * or a newer one (no file: nothing to check). Returns 0, or XT_ECORRUPT /
 * -errno with what is wrong, and what to do, in why. */
int xt_manifest_check(xt_io_t *io, const char *dir, char *why, size_t whylen);

#endif
