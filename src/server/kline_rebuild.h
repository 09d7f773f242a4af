/* kline_rebuild.h - regenerates the K-line history files from the journal
 * (`xtrading md rebuild`, docs/kline-history.md).
 *
 * Every record of the journal, from sequence number 1, goes through a fresh
 * engine (with the capacities each segment records, as recovery does) and
 * the market-data library. Time advances before a record that is 100 ms or
 * more after the last advance, to its timestamp (what the server's
 * market-data timer does), and at the end to until_ns (what the server's
 * clock closed meanwhile: the wall clock, for the server's own files), or
 * to the last record's time when that is later or until_ns is 0, so
 * candles close - and empty intervals are filled flat - up to then; the
 * candle still open is not written. Instruments start when the journal
 * defines them.
 *
 * The journal is read twice: first to check all of it (a corrupt record
 * stops the rebuild before any file is touched) and count its instruments,
 * then to replay it. A journal that no longer starts at 1 (its first
 * segments were deleted with old snapshots) cannot give the history before
 * its start: that is an error, nothing is written. A torn last record is
 * ignored (recovery would cut it).
 *
 * The files are written as NAME.kl.tmp and each renamed over NAME.kl once
 * complete and synced, for every instrument the journal defines; other
 * files in the directory are left alone. */
#ifndef XT_SERVER_KLINE_REBUILD_H
#define XT_SERVER_KLINE_REBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "md/md.h"

typedef struct xt_kl_rebuild_opts {
    const char *data_dir;          /* the journal's directory */
    const char *out_dir;           /* where the history files go (created if missing) */
    const xt_server_config_t *cfg; /* tz of each symbol; NULL: none */
    int64_t until_ns;              /* time closes up to at the end (above); 0: the last record's */
} xt_kl_rebuild_opts_t;

typedef struct xt_kl_rebuild_result {
    uint64_t records; /* journal records replayed */
    uint64_t last_seq;
    int64_t first_ts, last_ts;     /* of the first and last record */
    int64_t until_ts;              /* time advanced to at the end */
    uint32_t instruments;          /* defined by the journal */
    uint32_t tz_config, tz_file;   /* instruments whose tz came from the config, from a history file */
    char tz_default[256];          /* symbols that got UTC for want of either (space-separated, cut) */
    uint64_t candles[XT_KL_COUNT]; /* records written per interval */
    int torn_tail;                 /* the journal ends in a torn record, ignored */
} xt_kl_rebuild_result_t;

/* Rebuilds; see above. tz per instrument: the config's, else the one in the
 * header of an existing history file of the instrument (in out_dir, else
 * in data_dir/klines), else UTC. Returns 0, or an error with a message in
 * why. */
int xt_kl_rebuild(const xt_kl_rebuild_opts_t *o, xt_kl_rebuild_result_t *res, char *why, size_t whylen);

#endif
