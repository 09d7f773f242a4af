/* snapshot.h - the engine's whole state in one file.
 *
 * Layout (little-endian), also in docs/journal-format.md:
 *
 *   header, 80 bytes
 *     0   8  magic "XTSNAP01"
 *     8   4  version (1)
 *     12  4  header length (80)
 *     16  8  last_seq: the last command applied
 *     24  8  trades: the trade counter
 *     32  8  state hash (xt_engine_state_hash) of the state saved
 *     40  4  number of instruments
 *     44  4  zero
 *     48  8  number of resting orders
 *     56  16 the engine's capacities: max_orders, max_levels,
 *            max_instruments, max_ladder_nodes (u32 each)
 *     72  8  extension bytes (0: none)
 *   instruments, 72 bytes each, in definition order
 *     symbol 16 bytes NUL-padded, flags u8, then tick, lot, min, max, ref,
 *     band as (m i64, scale u8)
 *   orders, 56 bytes each: per instrument, BUY then SELL, levels best
 *   first, orders in queue order
 *     0 id i64, 8 price i64, 16 qty i64, 24 filled i64, 32 seq u64,
 *     40 account u32, 44 instrument u32, 48 side, 49 type, 50 tif, 51 stp,
 *     52 zero u32
 *   extension: the bytes an xt_snap_ext_t wrote (the server's sessions)
 *   trailer, 16 bytes: magic "XTSNPEND", CRC32C of everything before the
 *   trailer (u32), zero (u32)
 *
 * Written as snap-<seq>.tmp, fsynced, renamed to snap-<seq>.xts, directory
 * fsynced: a crash leaves either the old set of snapshots or the new one,
 * never a partial file under the final name.
 */
#ifndef XT_JOURNAL_SNAPSHOT_H
#define XT_JOURNAL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "io.h"
#include "xt/engine.h"

#define XT_SNAP_BUF (1u << 20) /* a good size for the staging buffer */

typedef struct xt_snapshot_info {
    uint64_t seq, trades, state_hash, orders, ext_bytes;
    uint32_t instruments;
    xt_caps_t caps;
} xt_snapshot_info_t;

/* An extension: more state saved in the same file, after the orders, and
 * covered by the same checksum - the server keeps its sessions in it. All
 * callbacks get `ctx`. */
typedef struct xt_snap_ext {
    void *ctx;
    uint64_t (*size)(void *ctx); /* bytes write() will emit */
    void (*write)(void *ctx, void (*put)(void *out, const void *p, size_t n), void *out);
    /* Reads exactly len bytes with get() (0, or -1 at a read error);
     * returns 0, XT_ELIMIT when a count exceeds the capacity the extension
     * was set up with, or -1 if the bytes do not make sense - with what is
     * wrong, naming the field, in why (whylen bytes). */
    int (*load)(void *ctx, uint64_t len, int (*get)(void *in, void *p, size_t n), void *in, char *why, size_t whylen);
    void (*reset)(void *ctx);                       /* back to empty */
    void (*on_cmd)(void *ctx, const xt_cmd_t *cmd); /* recovery: before each replayed command */
} xt_snap_ext_t;

/* Writes e's state into dir as snap-<last_seq>.xts. buf (cap bytes, at
 * least 4096) stages the output - passed in so that a forked child
 * allocates nothing. Returns 0 or -errno with a message in why. */
int xt_snapshot_write(xt_io_t *io, const char *dir, const xt_engine_t *e, uint8_t *buf, size_t cap, char *why,
                      size_t whylen);
/* The same with an extension (ext may be NULL). */
int xt_snapshot_write_ext(xt_io_t *io, const char *dir, const xt_engine_t *e, const xt_snap_ext_t *ext, uint8_t *buf,
                          size_t cap, char *why, size_t whylen);

/* Checks the file at path (size, magic, checksum), initialises e with the
 * capacities it records (other settings from base; sink and ctx as given),
 * restores the state and checks its hash. The recorded capacities size the
 * engine's memory, so they are first bounded (xt_caps_check: at most base's
 * capacities, or an engine that fits in this machine's memory). Returns 0,
 * XT_ECORRUPT (why says what), XT_ELIMIT (a capacity or count over those
 * bounds; why names the field), an engine init error, or -errno; on failure
 * e is not initialised. `info` may be NULL. */
int xt_snapshot_load(xt_io_t *io, const char *path, const xt_engine_config_t *base, xt_sink_fn sink, void *ctx,
                     xt_engine_t *e, xt_snapshot_info_t *info, char *why, size_t whylen);
/* The same, also loading the extension into ext (when not NULL; without
 * one, the file's extension bytes are skipped). */
int xt_snapshot_load_ext(xt_io_t *io, const char *path, const xt_engine_config_t *base, xt_sink_fn sink, void *ctx,
                         xt_engine_t *e, const xt_snap_ext_t *ext, xt_snapshot_info_t *info, char *why, size_t whylen);

/* Loads the snapshot named for seq in dir (as xt_snapshot_load_ext) and
 * also checks that its contents are the state after seq, as its name says:
 * a snapshot recovery may start from. On a mismatch e is destroyed, ext
 * reset and XT_ECORRUPT returned. */
int xt_snapshot_load_seq(xt_io_t *io, const char *dir, uint64_t seq, const xt_engine_config_t *base, xt_sink_fn sink,
                         void *ctx, xt_engine_t *e, const xt_snap_ext_t *ext, xt_snapshot_info_t *info, char *why,
                         size_t whylen);

/* Only reads and checks the header and checksum. */
int xt_snapshot_check(xt_io_t *io, const char *path, xt_snapshot_info_t *info, char *why, size_t whylen);
/* The same for the snapshot named for seq in dir, which must also hold the
 * state after seq, as xt_snapshot_load_seq checks (XT_ECORRUPT if not). */
int xt_snapshot_check_seq(xt_io_t *io, const char *dir, uint64_t seq, char *why, size_t whylen);

#endif
