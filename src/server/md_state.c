/* md_state.c - market data's state files in the data directory
 * (docs/journal-format.md, "Market-data state"): `md-state-<seq>` holds
 * the md library's derived state (the day's ticker, the open candles, the
 * timeline, the tape) as it was after command seq, so that the trading day
 * goes on across a restart - a clean one or a crash - instead of starting
 * afresh.
 *
 * Written by the md thread where a snapshot of the engine begins (the
 * engine thread puts a checkpoint record in the feed right after that
 * command's events) and once it has stopped; the newest
 * journal.keep_snapshots files are kept. At start, recovery loads the
 * engine from the snapshot after command S and replays the journal's
 * commands after it; their trades were kept (xt_md_replay_t), and here
 * md-state-S is loaded and those trades replayed into it. Market data is
 * then what the journal's commands make, as `md rebuild` computes it. With
 * no snapshot (S = 0) the trades are replayed into an empty state.
 *
 * None is written once this run has lost trades on their way to market
 * data (a feed overflow, a failed journal commit): from then on the state
 * is not the journal's. Derived data, not synced: a file cut or spoilt by
 * a crash fails its checksum and is not used, and the log says why.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/le.h"
#include "journal/crc32c.h"
#include "log.h"
#include "md_internal.h"
#include "xt/error.h"

#define MAGIC 0x444d5458u /* "XTMD" */
#define VERSION 1
#define HDR 32
#define PREFIX "md-state-"
#define DIGITS 20
#define REPLAY_ADVANCE_NS INT64_C(100000000) /* the md thread's timer */

static const char MISSING[] = "missing";

static int path_of(const mds_t *m, char *p, size_t n, uint64_t seq, const char *suffix)
{
    return snprintf(p, n, "%s/" PREFIX "%020llu%s", m->s->cfg.data_dir, (unsigned long long)seq, suffix) < (int)n ? 0
                                                                                                                  : -1;
}

/* The seq a file name md-state-<20 digits><suffix> names; 0 if it is not one. */
static uint64_t seq_of(const char *name, const char *suffix)
{
    size_t p = sizeof PREFIX - 1;
    if (strncmp(name, PREFIX, p) != 0 || strlen(name) != p + DIGITS + strlen(suffix) ||
        strcmp(name + p + DIGITS, suffix) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = p; i < p + DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The seqs of the md-state files, ascending (malloc'd; NULL when none).
 * Leftover .tmp files (a write a crash cut short) are removed. */
static uint64_t *list_states(const mds_t *m, size_t *n)
{
    *n = 0;
    DIR *d = opendir(m->s->cfg.data_dir);
    if (!d)
        return NULL;
    uint64_t *v = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq = seq_of(e->d_name, "");
        if (seq_of(e->d_name, ".tmp"))
            unlinkat(dirfd(d), e->d_name, 0);
        if (!seq)
            continue;
        if (*n == cap) {
            uint64_t *w = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof *v);
            if (!w)
                break;
            v = w;
        }
        v[(*n)++] = seq;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_u64);
    return v;
}

/* Removes the state files after seq (from = 0: keep the newest `keep`). */
static void remove_states(const mds_t *m, uint64_t after, size_t keep)
{
    size_t n;
    uint64_t *v = list_states(m, &n);
    for (size_t i = 0; i < n; i++)
        if ((after && v[i] > after) || (!after && i + keep < n)) {
            char p[XT_CONFIG_PATH_MAX + 48];
            if (path_of(m, p, sizeof p, v[i], "") == 0)
                unlink(p);
        }
    free(v);
}

/* The file's bytes (malloc'd) when it can be read whole and is at most
 * max bytes; NULL otherwise. */
static uint8_t *read_all(const char *path, size_t max, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    uint8_t *b = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size >= HDR && (uint64_t)st.st_size <= max &&
        (b = malloc((size_t)st.st_size)) != NULL && fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(b);
        b = NULL;
    }
    *n = b ? (size_t)st.st_size : 0;
    fclose(f);
    return b;
}

/* Loads the file at path into md when it holds the state after command
 * `want`. NULL when it did (*instruments: how many it set), else why not
 * (MISSING when there is no such file); md is unchanged then. */
static const char *load_file(mds_t *m, const char *path, uint64_t want, int *instruments)
{
    size_t n;
    uint8_t *b = read_all(path, HDR + xt_md_state_max_size(&m->md), &n);
    if (!b)
        return access(path, F_OK) == 0 ? "unreadable, or of an impossible size" : MISSING;
    uint64_t len = xt_get64(b + 16);
    const char *why = NULL;
    if (xt_get32(b) != MAGIC || xt_get32(b + 4) != VERSION)
        why = "not a version 1 md-state file";
    else if (len != n - HDR || xt_crc32c(b + HDR, n - HDR) != xt_get32(b + 24))
        why = "cut or spoilt (length or checksum)";
    else if (xt_get64(b + 8) != want)
        why = "written at another sequence number than the snapshot recovery started from";
    else if ((*instruments = xt_md_state_decode(&m->md, b + HDR, n - HDR)) < 0)
        why = "its contents do not check";
    free(b);
    return why;
}

/* The trades of the commands recovery replayed, in order, one batch per
 * command, with the md thread's timer (every 100 ms) kept in event time. */
static void replay(mds_t *m, const xt_md_replay_t *rp)
{
    xt_event_t ev[XT_EVENT_BATCH_MAX];
    int64_t advanced = 0;
    for (uint32_t i = 0, k; i < rp->n; i = k) {
        const xt_md_replay_rec_t *r = &rp->v[i];
        for (k = i; k < rp->n && rp->v[k].seq == r->seq && k - i < XT_EVENT_BATCH_MAX; k++) {
            const xt_md_replay_rec_t *t = &rp->v[k];
            ev[k - i] = (xt_event_t){.type = XT_EV_TRADE,
                                     .side = t->side,
                                     .instrument = t->instrument,
                                     .price = t->price,
                                     .qty = t->qty,
                                     .u.trade.trade_id = t->trade_id};
        }
        if (i == 0 || r->ts - advanced >= REPLAY_ADVANCE_NS)
            xt_md_advance(&m->md, advanced = r->ts);
        int last = k == rp->n || rp->v[k].seq != r->seq;
        xt_event_batch_t b = {r->seq, r->ts, 0, (uint8_t)last, k - i, ev};
        xt_md_on_batch(&m->md, &b);
    }
}

static void log_outcome(const char *why, uint64_t from, uint64_t at, int instruments, uint32_t trades, int64_t ns)
{
    xt_log_ev_t e;
    if (why && xt_log_begin(&e, XT_LOG_INFO, "market data: md-state not used; the day's market data starts afresh")) {
        xt_log_str(&e, "reason", why);
        xt_log_u64(&e, "snapshot_seq", from);
        xt_log_u64(&e, "journal_seq", at);
        xt_log_end(&e);
    } else if (!why && xt_log_begin(&e, XT_LOG_INFO, "market data: the day goes on from md-state")) {
        if (from) /* else no file: the journal's trades from the start */
            xt_log_u64(&e, "instruments", (uint64_t)instruments);
        xt_log_u64(&e, "seq", from);
        xt_log_u64(&e, "replayed_trades", trades);
        xt_log_u64(&e, "journal_seq", at);
        xt_log_u64(&e, "load_us", (uint64_t)(ns / 1000));
        xt_log_end(&e);
    }
}

void xt_mds_state_load(mds_t *m)
{
    /* the journal's, before this start journaled any new instrument (those make no market data) */
    const xt_recovery_t *rec = &m->s->journal.recovery;
    uint64_t from = rec->snapshot_seq, at = rec->last_seq;
    xt_md_replay_t *rp = &m->s->md_replay;
    remove_states(m, at, 0); /* written before the journal was cut back: not of this journal */
    char path[XT_CONFIG_PATH_MAX + 48], legacy[XT_CONFIG_PATH_MAX + 16];
    snprintf(legacy, sizeof legacy, "%s/md-state", m->s->cfg.data_dir);
    const char *why = NULL;
    int instruments = 0;
    int64_t t0 = xt_mono_ns();
    if (rp->overflow)
        why = "more trades since the snapshot than can be replayed";
    else if (from) {
        why = path_of(m, path, sizeof path, from, "") ? "data directory path too long"
                                                      : load_file(m, path, from, &instruments);
        if (why == MISSING) /* an older server's, written at a clean stop (its final snapshot) */
            why = load_file(m, legacy, from, &instruments);
        if (why == MISSING)
            why = "there is none for the snapshot recovery started from (a crash before it was written, or a "
                  "run that lost trades on the way to market data)";
    }
    unlink(legacy); /* read once, as that server did */
    if (!why)
        replay(m, rp);
    if (from || rp->n || rp->overflow) /* else a first start: nothing to say */
        log_outcome(why, from, at, instruments, why ? 0 : rp->n, xt_mono_ns() - t0);
    xt_md_replay_free(rp);
}

/* Why this run's state is not the journal's, or NULL. */
static const char *lost(const mds_t *m)
{
    return atomic_load(&m->s->journal_failed) ? "the journal failed: its last batch never reached market data"
           : m->resyncs || atomic_load(&m->s->md_feed.dropped) || atomic_load(&m->s->md_resync)
               ? "the engine-to-market-data feed overflowed: trades were lost on the way"
               : NULL;
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    int rc = fwrite(b, 1, n, f) == n ? 0 : -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}

/* Writes md-state-<seq> (through .tmp). Returns 0 or -errno. */
static int write_state(mds_t *m, uint64_t seq, char *path, size_t pn)
{
    char tmp[XT_CONFIG_PATH_MAX + 48];
    if (path_of(m, path, pn, seq, "") || path_of(m, tmp, sizeof tmp, seq, ".tmp"))
        return -ENAMETOOLONG;
    size_t n = xt_md_state_size(&m->md);
    uint8_t *b = malloc(HDR + n); /* at a snapshot or a stop, not per event */
    if (!b)
        return -ENOMEM;
    xt_md_state_encode(&m->md, b + HDR, n);
    memset(b, 0, HDR);
    xt_put32(b, MAGIC);
    xt_put32(b + 4, VERSION);
    xt_put64(b + 8, seq);
    xt_put64(b + 16, n);
    xt_put32(b + 24, xt_crc32c(b + HDR, n));
    int rc = write_file(tmp, b, HDR + n);
    free(b);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

/* Saves the state after command seq and keeps the newest files; logs why
 * not when it cannot. t0: when the md thread turned to it. */
static void save_at(mds_t *m, uint64_t seq, int64_t t0)
{
    char path[XT_CONFIG_PATH_MAX + 48] = "";
    const char *why = lost(m);
    int rc = why ? 0 : write_state(m, seq, path, sizeof path);
    if (!why && rc == 0) {
        m->checkpoints++;
        m->last_save_bytes = HDR + xt_md_state_size(&m->md);
        m->last_save_us = (uint64_t)(xt_mono_ns() - t0) / 1000;
        uint32_t keep = m->s->cfg.journal.keep_snapshots;
        remove_states(m, 0, keep ? keep : 1);
        return;
    }
    m->checkpoints_off = why != NULL;
    m->checkpoint_failures += why == NULL;
    xt_log_ev_t e;
    if (xt_log_begin(&e, why ? XT_LOG_INFO : XT_LOG_WARN,
                     why ? "market data: md-state not written (from now on in this run); a restart begins the day "
                           "afresh"
                         : "market data: md-state not written")) {
        xt_log_str(&e, "reason", why ? why : strerror(-rc));
        xt_log_u64(&e, "seq", seq);
        if (path[0])
            xt_log_str(&e, "path", path);
        xt_log_end(&e);
    }
}

void xt_mds_state_checkpoint(mds_t *m, uint64_t seq)
{
    /* The history files get every candle closed so far: after a crash the
     * replay from this point makes the ones closed later. */
    int64_t t0 = xt_mono_ns();
    xt_md_history_flush(m->hist, t0);
    if (!m->checkpoints_off)
        save_at(m, seq, t0);
}

void xt_mds_state_save(mds_t *m)
{
    /* at a stop: the last command applied (the engine thread has stopped), where the final snapshot is taken */
    xt_engine_stats_t st;
    xt_engine_stats(&m->s->engine, &st);
    if (!m->s->cfg.journal.no_snapshot_on_close) /* else recovery never starts from this point */
        save_at(m, st.last_seq, xt_mono_ns());
}
