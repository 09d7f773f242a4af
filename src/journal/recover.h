/* recover.h - rebuilding the engine from a data directory at start-up:
 * the newest snapshot whose checksum verifies (older ones if it does not),
 * then every journal record after it, applied through the same core code.
 *
 * A torn tail - an incomplete or bad last record with nothing valid after
 * it, what a crash leaves - is cut off (the file truncated there, synced)
 * when `fix_tail` is set, and reported. Damage among the records before
 * the snapshot's end, in the segment it ends in, is read past when valid
 * records follow it up to there (reader.h), and reported. Corruption anywhere else stops
 * recovery with the file and offset: `xtrading journal repair` is the tool
 * for that, deliberately not start-up.
 */
#ifndef XT_JOURNAL_RECOVER_H
#define XT_JOURNAL_RECOVER_H

#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "dir.h"
#include "io.h"
#include "snapshot.h"
#include "xt/engine.h"

typedef struct xt_recovery {
    uint64_t snapshot_seq;                /* snapshot used, 0 for none */
    unsigned snapshots_passed;            /* newer good snapshots passed over for the one asked for (xt_recover_from) */
    unsigned snapshots_bad;               /* newer snapshots skipped as unreadable (or passed over, and unreadable) */
    char snapshot_why[XT_PATH_MAX + 256]; /* why the newest of them was */
    /* Those of them that failed their checks (XT_ECORRUPT, not a read
     * error), the newest XT_RECOVER_BAD_MAX; with fix_tail they are renamed
     * to NAME.bad once recovery succeeds (set_aside of them), so that
     * retention never keeps one in place of a good snapshot. */
#define XT_RECOVER_BAD_MAX 16
    uint64_t bad_seq[XT_RECOVER_BAD_MAX];
    unsigned n_bad, set_aside;
    uint64_t snapshot_ext_bytes; /* the snapshot's extension (a server's sessions), 0: none */
    uint64_t origins;            /* records replayed with an origin (a gateway session's commands) */
    uint64_t records;            /* journal records applied */
    uint64_t last_seq;           /* the engine's state is as after this command */
    int64_t max_ts;              /* the latest timestamp of the journal's records read (0: none) */
    int have_wal;                /* the journal has at least one segment */
    char last_path[XT_PATH_MAX]; /* last segment, to append to */
    uint64_t last_first;         /* its first sequence number */
    off_t last_end;              /* end of its valid records */
    off_t last_zeros;            /* zeros after them to the end of the file (preallocated) */
    uint32_t last_torn_window;   /* its header's (segment.h) */
    xt_caps_t last_caps;         /* capacities its records ran with */
    /* Damage among the records the snapshot already holds, read past
     * (reader.h): the records and bytes passed over, the first spot. */
    uint64_t skipped_records;
    off_t skipped_bytes, skipped_offset;
    char skipped_path[XT_PATH_MAX];
    int tail_cut; /* a torn tail was found (and cut if fix_tail) */
    char tail_path[XT_PATH_MAX];
    off_t tail_offset, tail_bytes;
    char why[XT_PATH_MAX + 256]; /* on error; also describes a torn tail */
} xt_recovery_t;

/* Initialises `e` and recovers into it. Each segment's records are replayed
 * with the capacities its header records (a snapshot loads with its own),
 * so the outcome is exactly the original one; cfg gives the other settings
 * and the capacities of a directory that has no journal yet. The sink sees
 * nothing while a snapshot loads, then every event of the replayed
 * records. Returns 0, or an error with rep->why: XT_ECORRUPT, -errno,
 * XT_ETORN (only when !fix_tail), or an engine init error. On error `e`
 * is destroyed. */
int xt_recover(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx, xt_engine_t *e,
               int fix_tail, xt_recovery_t *rep);

/* The same with a snapshot extension (NULL: none), which is loaded with
 * the snapshot (reset when none is used) and told of every replayed
 * command before it is applied, and from snapshot `from` exactly (0: the
 * newest that loads), the newer ones passed over (counted in
 * rep->snapshots_passed when they pass their checks, else in
 * snapshots_bad and set aside as above): the state at the end is the
 * same, replayed from further back. When that snapshot does not load it is an error
 * (XT_ECORRUPT or -ENOENT, rep->why), before the sink saw anything; a
 * caller that wants the newest state then recovers again with 0. */
int xt_recover_from(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx,
                    xt_engine_t *e, const xt_snap_ext_t *ext, int fix_tail, uint64_t from, xt_recovery_t *rep);

#endif
