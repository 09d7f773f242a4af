/* dir.h - the data directory: file names and listings.
 *
 *   wal-<first seq, 20 digits>.log   journal segments
 *   snap-<seq, 20 digits>.xts        snapshots (after the command with that seq)
 *   snap-<seq, 20 digits>.tmp        a snapshot being written
 *   md-state-<seq, 20 digits>        market data's state at that snapshot (the server's md_state.c)
 *   md-state-<seq, 20 digits>.tmp    one being written
 *   LOCK                             held (flock) by the process writing
 */
#ifndef XT_JOURNAL_DIR_H
#define XT_JOURNAL_DIR_H

#include <stddef.h>
#include <stdint.h>

#define XT_PATH_MAX 4096

typedef enum xt_file_kind {
    XT_FILE_WAL,
    XT_FILE_SNAP,
    XT_FILE_SNAP_TMP,
    XT_FILE_MD_STATE,
    XT_FILE_MD_STATE_TMP,
    XT_FILE_WAL_TMP /* a segment's new header, renamed over its empty segment */
} xt_file_kind_t;

/* dir/name of a file of `kind` for `seq`. Returns 0, or -ENAMETOOLONG. */
int xt_dir_path(char *buf, size_t n, const char *dir, xt_file_kind_t kind, uint64_t seq);

/* The sequence numbers of the files of `kind` in dir, ascending. *seqs is
 * malloc'd (free it), *n its length. Returns 0 or -errno. */
int xt_dir_list(const char *dir, xt_file_kind_t kind, uint64_t **seqs, size_t *n);

/* Creates dir if missing (one level). Returns 0 or -errno. */
int xt_dir_ensure(const char *dir);

/* Takes the directory's lock file; returns its fd (keep it open) or
 * XT_ELOCKED / -errno. */
int xt_dir_lock(const char *dir);
/* The same lock shared, for a reader that wants nothing written meanwhile
 * (a writer's xt_dir_lock then fails); the file is not created: -ENOENT
 * for a directory without one (a copy). */
int xt_dir_lock_shared(const char *dir);

#endif
