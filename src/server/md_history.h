/* md_history.h - the market-data thread's K-line history files
 * (kline_store.h, docs/kline-history.md) as the server runs them: opened
 * for every instrument at start (md.history, md.history_dir), fed every
 * closed candle from the md sink, written from the thread's timer
 * (md.history_flush_ms) and at close. Only the market-data thread touches
 * it once the server runs. */
#ifndef XT_SERVER_MD_HISTORY_H
#define XT_SERVER_MD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "kline_store.h"
#include "md/md.h"

struct xt_server;

typedef struct xt_md_history {
    xt_kl_store_t st;
    uint64_t errors_reported; /* store errors already told on stderr */
    int64_t last_report;
} xt_md_history_t;

/* Allocates and opens the history for every instrument of s->engine, or
 * sets *out to NULL when md.history is off. Files cut or set aside are
 * reported on stderr. Returns 0, or -1 with a message in why (the
 * directory cannot be made, out of memory). */
int xt_md_history_open(struct xt_server *s, xt_md_history_t **out, char *why, size_t whylen);

/* The end of the newest candle in the files (ns; INT64_MIN for none, or
 * h NULL): market data's clock had passed it when that candle was written. */
int64_t xt_md_history_newest(const xt_md_history_t *h);

/* The md sink's share: appends a closed candle (anything else is ignored). */
void xt_md_history_on_update(xt_md_history_t *h, const xt_md_update_t *u);

/* From the thread's timer: writes what is due; failures go to stderr, at
 * most once a minute. now: ns of a steady clock (xt_mono_ns). */
void xt_md_history_tick(xt_md_history_t *h, int64_t now);

/* Writes everything buffered and frees h (NULL: nothing). */
void xt_md_history_close(xt_md_history_t *h);

#endif
