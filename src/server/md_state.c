/* md_state.c - the market-data state file `md-state` in the data
 * directory (docs/journal-format.md, "Market-data state"): written when
 * the md thread has stopped after a clean stop, read at the next start, so
 * the day's ticker, the open candles, the timeline and the tape go on
 * across a restart instead of starting afresh.
 *
 * It is read once (removed at start) and used only when it was written at
 * the sequence number the journal recovered to: then the md state it
 * holds is exactly the one those commands made. After a crash the day
 * starts afresh, as before. None is written when the run lost trades on
 * their way to md (a feed overflow, a journal failure). Derived data: not
 * synced; a file cut or spoilt by a crash fails its checksum and is
 * ignored.
 */
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

static int path_of(const mds_t *m, char *p, size_t n, const char *suffix)
{
    return snprintf(p, n, "%s/md-state%s", m->s->cfg.data_dir, suffix) < (int)n ? 0 : -1;
}

/* At a stop: the last command applied (the engine thread has stopped). */
static uint64_t engine_seq(const mds_t *m)
{
    xt_engine_stats_t st;
    xt_engine_stats(&m->s->engine, &st);
    return st.last_seq;
}

static void log_ignored(const char *why, uint64_t seq, uint64_t at)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_INFO, "market data: md-state not used; the day's market data starts afresh")) {
        xt_log_str(&e, "reason", why);
        if (seq)
            xt_log_u64(&e, "state_seq", seq);
        xt_log_u64(&e, "journal_seq", at);
        xt_log_end(&e);
    }
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

void xt_mds_state_load(mds_t *m)
{
    char path[XT_CONFIG_PATH_MAX + 16];
    if (path_of(m, path, sizeof path, ""))
        return;
    /* the journal's, before this start journaled any new instrument (those make no market data) */
    uint64_t at = m->s->journal.recovery.last_seq;
    size_t max = HDR + xt_md_state_max_size(&m->md);
    size_t n;
    uint8_t *b = read_all(path, max, &n);
    int there = access(path, F_OK) == 0;
    /* read once: a later start must not take it for a journal that was cut back and grew to the same seq */
    if (there && unlink(path) != 0 && b) {
        free(b);
        return log_ignored("cannot be removed after reading (it could be taken again later)", 0, at);
    }
    if (!b) {
        if (there)
            log_ignored("unreadable, or of an impossible size", 0, at);
        return;
    }
    uint64_t seq = xt_get64(b + 8), len = xt_get64(b + 16);
    const char *why = NULL;
    if (xt_get32(b) != MAGIC || xt_get32(b + 4) != VERSION)
        why = "not a version 1 md-state file";
    else if (len != n - HDR || xt_crc32c(b + HDR, n - HDR) != xt_get32(b + 24))
        why = "cut or spoilt (length or checksum)";
    else if (seq != at)
        why = "written at another sequence number than the journal's (a crash since, or an older file)";
    int rc = why ? 0 : xt_md_state_decode(&m->md, b + HDR, n - HDR);
    if (!why && rc < 0)
        why = "its contents do not check";
    free(b);
    if (why)
        return log_ignored(why, seq, at);
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_INFO, "market data: the day goes on from md-state")) {
        xt_log_u64(&e, "instruments", (uint64_t)rc);
        xt_log_u64(&e, "seq", seq);
        xt_log_end(&e);
    }
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

void xt_mds_state_save(mds_t *m)
{
    char path[XT_CONFIG_PATH_MAX + 16], tmp[XT_CONFIG_PATH_MAX + 16];
    if (path_of(m, path, sizeof path, "") || path_of(m, tmp, sizeof tmp, ".tmp"))
        return;
    /* Trades the feed dropped (ever, in this run) or that a failed journal
     * commit discarded are missing from md: no state, rather than a wrong one. */
    const char *lost = atomic_load(&m->s->journal_failed)
                           ? "the journal failed: its last batch never reached market data"
                       : m->resyncs || atomic_load(&m->s->md_feed.dropped) || atomic_load(&m->s->md_resync)
                           ? "the engine-to-market-data feed overflowed: trades were lost on the way"
                           : NULL;
    size_t n = xt_md_state_size(&m->md);
    uint8_t *b = lost ? NULL : malloc(HDR + n);
    int rc = b ? 0 : -ENOMEM;
    if (b) {
        xt_md_state_encode(&m->md, b + HDR, n);
        memset(b, 0, HDR);
        xt_put32(b, MAGIC);
        xt_put32(b + 4, VERSION);
        xt_put64(b + 8, engine_seq(m));
        xt_put64(b + 16, n);
        xt_put32(b + 24, xt_crc32c(b + HDR, n));
        rc = write_file(tmp, b, HDR + n);
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -errno;
        free(b);
    }
    if (rc == 0)
        return;
    unlink(tmp);
    unlink(path); /* an older state must not be taken for this stop's */
    xt_log_ev_t e;
    if (xt_log_begin(&e, lost ? XT_LOG_INFO : XT_LOG_WARN,
                     "market data: md-state not written; the next start begins the day afresh")) {
        xt_log_str(&e, "reason", lost ? lost : strerror(-rc));
        xt_log_str(&e, "path", path);
        xt_log_end(&e);
    }
}
