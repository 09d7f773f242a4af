/* kline_store.h - K-line history files: the closed candles of every
 * instrument and interval, appended to one file each
 * (docs/kline-history.md has every byte).
 *
 *   DIR/<SYMBOL>.<interval>.kl     e.g. klines/BTC-USDT.1m.kl
 *
 * A file is a 128-byte header followed by 72-byte records, little-endian:
 *
 *   header  0 magic "XTKLN001"   8 u16 version (1)   10 u16 header length
 *          (128)   12 u16 record length (72)   14 u8 interval (0 = 1m ..
 *          9 = 1w)   15 u8 zero   16 u32 interval length in seconds
 *          20 i32 tz offset (seconds east of UTC)   24 tick (i64 mantissa,
 *          u8 scale)   33 lot (same)   42 zero   48 symbol (24 bytes,
 *          NUL-padded)   72 zero   124 u32 CRC32C of bytes 0..123
 *   record  0 i64 open_time (ns since the epoch, UTC)   8 i64 open
 *          16 i64 high   24 i64 low   32 i64 close (ticks)   40 i64 volume
 *          (lots)   48 i128 turnover (tick x lot units)   64 u32 trades
 *          68 u32 CRC32C of bytes 0..67
 *
 * Records are closed candles in strictly increasing open_time: a candle
 * whose open_time is not after the file's last one is skipped, so a
 * restart or a replay that offers candles again changes nothing. A candle
 * is written as it comes: one without trades is flat at the price market
 * data had (after a start without its saved day, the newest close of the
 * instrument's files: md_state.c).
 *
 * Writing: candles are buffered in a pool of records allocated at init
 * (no allocation per candle) and written per file - open, one write,
 * close - so no file descriptor is held between writes. xt_kl_store_tick()
 * writes when the oldest buffered record is flush_ms old, at most
 * files_per_tick files per call; a full pool is written at once. Nothing
 * is fsynced as it is written (history is derived data: `xtrading md
 * rebuild` regenerates it from the journal); xt_kl_store_sync() makes
 * what was written durable, at each snapshot's market-data state (a state
 * that says a candle closed must not outlive the candle: a restart does
 * not make it again, md_state.c); a torn last record is cut when the file is next
 * opened, and after a failed write the file's tail is checked again
 * before the next one. In rebuild mode every file is written from scratch
 * to NAME.kl.tmp and xt_kl_store_commit() syncs and renames them.
 *
 * Not thread-safe: one thread (the market-data thread) owns a store.
 */
#ifndef XT_SERVER_KLINE_STORE_H
#define XT_SERVER_KLINE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "journal/dir.h"
#include "journal/io.h"
#include "md/md.h"
#include "xt/types.h"

#define XT_KL_MAGIC "XTKLN001"
#define XT_KL_VERSION 1
#define XT_KL_HEADER_SIZE 128
#define XT_KL_RECORD_SIZE 72
#define XT_KL_SYMBOL_BYTES 24

/* ---- the format ------------------------------------------------------------ */

typedef struct xt_kl_header {
    int interval;        /* xt_kline_interval_t */
    int32_t tz_offset_s; /* seconds east of UTC */
    char symbol[XT_KL_SYMBOL_BYTES];
    xt_decimal_t tick, lot;
} xt_kl_header_t;

void xt_kl_header_encode(uint8_t *out, const xt_kl_header_t *h); /* XT_KL_HEADER_SIZE bytes */
/* Checks magic, version, lengths, checksum, interval and symbol. Returns
 * 0, or XT_ECORRUPT with what is wrong in why. */
int xt_kl_header_decode(const uint8_t *in, xt_kl_header_t *h, char *why, size_t whylen);
void xt_kl_record_encode(uint8_t *out, const xt_md_candle_t *c); /* XT_KL_RECORD_SIZE bytes */
/* Returns 0 (c filled, closed = 1) or XT_ECORRUPT (checksum). */
int xt_kl_record_decode(const uint8_t *in, xt_md_candle_t *c);

/* DIR/SYMBOL.INTERVAL.kl followed by suffix ("" or ".tmp"). Returns 0,
 * XT_EINVAL (a symbol xt_symbol_valid refuses, an interval out of range)
 * or -ENAMETOOLONG. */
int xt_kl_path(char *buf, size_t n, const char *dir, const char *symbol, int interval, const char *suffix);

/* ---- the store ------------------------------------------------------------- */

typedef struct xt_kl_config {
    const char *dir;          /* created (one level) if missing */
    uint32_t max_instruments; /* instrument ids 0 .. max_instruments-1 */
    uint32_t pending;         /* records buffered at most; 0: max_instruments x 20 + 1024 */
    uint32_t flush_ms;        /* the oldest buffered record waits at most this long (plus a tick) */
    uint32_t files_per_tick;  /* files written per xt_kl_store_tick() at most; 0: 256 */
    uint8_t rebuild;          /* write every file afresh as NAME.kl.tmp; commit renames */
    xt_io_t *io;              /* NULL: the real file system */
    /* Called by xt_kl_store_add() for each file it set aside or could not
     * read (why: the path and what), so that each is reported (may be NULL). */
    void (*notice)(void *arg, const char *symbol, const char *why);
    void *notice_arg;
} xt_kl_config_t;

typedef struct xt_kl_file {
    int64_t last_open, last_close; /* of the newest record accepted (valid with has_last) */
    uint32_t head, tail, n;        /* its buffered records, oldest first */
    uint32_t next_dirty;
    uint32_t next_unsynced; /* in the store's list of files written since xt_kl_store_sync */
    uint8_t has_last, dirty, created, unsynced;
    uint8_t check; /* look at the tail again before the next write (after a failure) */
    uint8_t off;   /* an unusable file that could not be set aside: its candles are dropped */
    /* The newest record of a file set aside because only the instrument's
     * tz changed (its prices hold: same tick): the last price it knew,
     * for market data (md_history.h), not a record of this file. */
    uint8_t has_prior;
    int64_t prior_open, prior_close;
} xt_kl_file_t;

typedef struct xt_kl_inst {
    char symbol[XT_SYMBOL_MAX + 1];
    int32_t tz_offset_s;
    xt_decimal_t tick, lot;
    uint8_t used;
} xt_kl_inst_t;

typedef struct xt_kl_pend {
    uint8_t rec[XT_KL_RECORD_SIZE];
    uint32_t next;
} xt_kl_pend_t;

typedef struct xt_kl_stats {
    uint64_t appended;  /* records accepted */
    uint64_t skipped;   /* candles not after the file's last record */
    uint64_t written;   /* records written */
    uint64_t dropped;   /* records lost to failed writes */
    uint64_t errors;    /* failed file operations */
    uint64_t truncated; /* bytes cut from torn tails */
    uint32_t set_aside; /* files renamed to NAME.kl.old (unreadable or for other settings) */
} xt_kl_stats_t;

typedef struct xt_kl_store {
    xt_kl_config_t cfg;
    xt_io_t *io;
    char dir[XT_PATH_MAX];
    xt_kl_inst_t *inst;  /* max_instruments */
    xt_kl_file_t *files; /* max_instruments x XT_KL_COUNT */
    xt_kl_pend_t *pend;  /* cfg.pending */
    uint32_t free_pend, n_pend;
    uint32_t dirty_head, dirty_tail;
    uint32_t unsynced_head; /* files written since the last xt_kl_store_sync (a list) */
    uint8_t dir_unsynced;   /* ... and a file created or set aside since: the directory too */
    uint8_t *wbuf;          /* one file's write: header + every record of the pool */
    int64_t last_flush;
    uint8_t draining; /* a tick left dirty files: the next one goes on at once */
    xt_kl_stats_t st;
    char why[XT_PATH_MAX + 160];      /* the last error */
    char sync_why[XT_PATH_MAX + 160]; /* xt_kl_store_sync's last error */
} xt_kl_store_t;

/* Allocates everything the store will use and creates cfg->dir if needed.
 * Returns 0, XT_EINVAL, XT_ENOMEM or -errno (the directory; why says). */
int xt_kl_store_init(xt_kl_store_t *st, const xt_kl_config_t *cfg);

/* Frees the store; buffered records not yet written are lost (flush first). */
void xt_kl_store_destroy(xt_kl_store_t *st);

/* Registers instrument `id` (symbol copied). Outside rebuild mode its ten
 * files are looked at: a torn tail is cut, the last record read; a file
 * that is unreadable or written for another tz, tick or lot is renamed to
 * NAME.kl.old and started afresh (cfg.notice and st->why say so - st->why
 * only of the last file -, set_aside counts it).
 * Returns 0 (files set aside included), XT_EINVAL, XT_EEXIST or -errno
 * from the file system (the store stays usable). */
int xt_kl_store_add(xt_kl_store_t *st, uint32_t id, const char *symbol, int32_t tz_offset_s, xt_decimal_t tick,
                    xt_decimal_t lot);

/* Buffers a closed candle of instrument id. Returns 0, 1 when skipped (not
 * after the file's last record), XT_EINVAL (not added, not closed, bad
 * interval), or what a forced write of a full pool returned. */
int xt_kl_store_append(xt_kl_store_t *st, uint32_t id, int interval, const xt_md_candle_t *c);

/* Writes what is due at now (ns, any steady clock): see above. Returns 0
 * or the first error (records of a failed write are dropped and counted). */
int xt_kl_store_tick(xt_kl_store_t *st, int64_t now);

/* Writes every buffered record. Returns 0 or the first error. */
int xt_kl_store_flush(xt_kl_store_t *st);

/* Makes what was written durable: fdatasync of each file written since
 * the last call, then the directory when a file was created or set aside
 * meanwhile. Buffered records are not written (xt_kl_store_flush first).
 * Returns 0 or the first error, told in sync_why (the file is tried again
 * at the next call). */
int xt_kl_store_sync(xt_kl_store_t *st);

/* Rebuild mode: writes everything, creates the files of added instruments
 * that got no record (header only), then per file fsync and rename over
 * NAME.kl, and syncs the directory. Returns 0 or the first error. */
int xt_kl_store_commit(xt_kl_store_t *st);

/* Rebuild mode: removes the NAME.kl.tmp files written so far (after a
 * failure; the NAME.kl files are untouched). */
void xt_kl_store_abort(xt_kl_store_t *st);

/* The tz of an existing file's header (for rebuilds without a config).
 * Returns 0 or an error (missing, unreadable). */
int xt_kl_file_tz(const char *dir, const char *symbol, int32_t *tz_offset_s);

#endif
