/* md_state.c - market data's state files in the data directory
 * (docs/journal-format.md, "Market-data state"): `md-state-<seq>` holds
 * the md library's derived state (the day's ticker, the open candles, the
 * timeline, the tape) and the fills of GET /api/v1/fills (md_fills.h) as
 * they were after command seq, so that the trading day goes on across a
 * restart - a clean one or a crash - instead of starting afresh.
 *
 * Written where a snapshot of the engine begins (the engine thread puts a
 * checkpoint record in the feed right after that command's events; the md
 * thread begins checkpoints of the md library's state and of the fills
 * when it reads it, into a buffer it reuses (kept out of the snapshot's
 * fork), writing only each instrument's fixed part; a helper thread
 * writes the rest - the timelines, tapes and fills, while the md thread
 * goes on (xt_md_ckpt_*, xt_fills_ckpt_*) - sums the checksum and writes
 * the file, so market data waits for the small part only) and at a clean stop (by the
 * main thread, once the md thread has stopped, at the final snapshot's
 * seq). A file is kept while the snapshot of its seq exists, and so are
 * those newer than the newest snapshot (theirs may still be being
 * written). At start,
 * recovery loads the engine from the snapshot after command S and replays
 * the journal's commands after it; their trades were kept
 * (xt_md_replay_t), and here md-state-S is loaded and those trades
 * replayed into it, so market data goes on as it was at the crash. With
 * no snapshot (S = 0) the trades are replayed into an empty state.
 * Instruments the state does not restore (all, when it is not used) take
 * their last price from the K-line history first, not the ref.
 *
 * None is written once this run has lost trades on their way to market
 * data (a feed overflow, a failed journal commit): from then on the state
 * is not the journal's. A file is written once the K-line history has
 * written and synced the candles closed before it (md_history.h): a
 * restart remakes only those that close after the state, so a state that
 * outlived its candles (a machine crash) left a hole in the files. The
 * file itself is not synced (hundreds of MB at most, which the kernel
 * writes back in its own time): one cut or spoilt by a crash fails its
 * checksum and is not used, and the log says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/le.h"
#include "core/pages.h"
#include "journal/caps.h"
#include "journal/crc32c.h"
#include "journal/dir.h"
#include "journal/io.h"
#include "log.h"
#include "md_internal.h"
#include "xt/error.h"

#define MAGIC 0x444d5458u /* "XTMD" */
#define VERSION 2         /* 1: no fills section (still read) */
#define HDR 32
#define HISTORY_WAIT_MS 5000 /* for the K-line history's candles, at most (a disk that hangs) */

static const char MISSING[] = "missing";

static int path_of(const mds_t *m, char *p, size_t n, uint64_t seq, xt_file_kind_t kind)
{
    return xt_dir_path(p, n, m->s->cfg.data_dir, kind, seq);
}

/* The seqs of the md-state files, ascending (malloc'd; NULL when none or
 * the directory cannot be listed). Leftover .tmp files (a write a crash
 * cut short) are removed. */
static uint64_t *list_states(const mds_t *m, size_t *n)
{
    uint64_t *v = NULL;
    size_t nt;
    if (xt_dir_list(m->s->cfg.data_dir, XT_FILE_MD_STATE_TMP, &v, &nt) == 0)
        for (size_t i = 0; i < nt; i++) {
            char p[XT_CONFIG_PATH_MAX + 48];
            if (path_of(m, p, sizeof p, v[i], XT_FILE_MD_STATE_TMP) == 0)
                unlink(p);
        }
    free(v);
    if (xt_dir_list(m->s->cfg.data_dir, XT_FILE_MD_STATE, &v, n) != 0)
        *n = 0;
    return v;
}

static void remove_state(const mds_t *m, uint64_t seq)
{
    char p[XT_CONFIG_PATH_MAX + 48];
    if (path_of(m, p, sizeof p, seq, XT_FILE_MD_STATE) == 0)
        unlink(p);
}

/* At start: removes the files after the journal's last command (of a
 * journal since cut back: not of this one). */
static void remove_after(const mds_t *m, uint64_t last)
{
    size_t n;
    uint64_t *v = list_states(m, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i] > last)
            remove_state(m, v[i]);
    free(v);
}

/* After writing a file: removes those whose snapshot is gone (the journal
 * keeps journal.keep_snapshots) or never came (it failed). Those after the
 * newest snapshot stay: their snapshots may still be being written (at a
 * stop, the final one and a child's before it) - but not at the start
 * (`starting`), when none is: every file without its snapshot goes then
 * (one set aside as .bad, deleted, or cut short by a crash). */
static void prune(const mds_t *m, int starting)
{
    size_t n, ns = 0;
    uint64_t *v = list_states(m, &n), *snaps = NULL;
    if (xt_dir_list(m->s->cfg.data_dir, XT_FILE_SNAP, &snaps, &ns) == 0)
        for (size_t i = 0, k = 0; i < n; i++) {
            while (k < ns && snaps[k] < v[i])
                k++;
            if (k < ns ? snaps[k] != v[i] : starting) /* none of this seq, and a newer one exists or none is due */
                remove_state(m, v[i]);
        }
    free(snaps);
    free(v);
}

/* The file's bytes (malloc'd) when it can be read whole and is at most
 * max bytes; NULL otherwise. */
static uint8_t *read_all(const char *path, size_t max, size_t *n)
{
    xt_io_t *io = &xt_io_posix;
    int fd = io->open(io, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0); /* a FIFO in its place does not block */
    if (fd < 0)
        return NULL;
    struct stat st;
    uint8_t *b = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= HDR && (uint64_t)st.st_size <= max &&
        (b = malloc((size_t)st.st_size)) != NULL && xt_io_pread_all(io, fd, b, (size_t)st.st_size, 0) != 0) {
        free(b);
        b = NULL;
    }
    *n = b ? (size_t)st.st_size : 0;
    io->close(io, fd);
    return b;
}

/* Loads the file at path into md and the fills when it holds the state
 * after command `want`. NULL when it did (*instruments: how many it set),
 * else why not (MISSING when there is no such file); nothing is changed
 * then. */
static const char *load_file(mds_t *m, const char *path, uint64_t want, int *instruments, int *skipped)
{
    /* The fills section is bounded by the machine's memory, not by today's rest.fills and
     * rest.fill_accounts: a file written with larger ones is loaded in its newest part. */
    uint64_t mem = xt_caps_mem_limit();
    size_t fills_max = mem < SIZE_MAX / 2 ? (size_t)mem : SIZE_MAX / 2;
    size_t n;
    uint8_t *b = read_all(path, HDR + xt_md_state_max_size(&m->md) + fills_max, &n);
    if (!b)
        return access(path, F_OK) == 0 ? "unreadable, or of an impossible size" : MISSING;
    uint32_t version = xt_get32(b + 4);
    size_t fills_len = 0;
    int64_t fills = 0;
    const char *why = NULL;
    if (xt_get32(b) != MAGIC || (version != 1 && version != 2))
        why = "not a version 1 or 2 md-state file";
    else if (xt_get64(b + 16) != n - HDR || xt_crc32c(b + HDR, n - HDR) != xt_get32(b + 24))
        why = "cut or spoilt (length or checksum)";
    else if (xt_get64(b + 8) != want)
        why = "written at another sequence number than the snapshot recovery started from";
    else if (version == 2 && (fills = xt_fills_state_check(b + HDR, n - HDR, &fills_len)) < 0)
        why = "its fills do not check";
    else if ((*instruments = xt_md_state_decode(&m->md, b + HDR + fills_len, n - HDR - fills_len)) < 0)
        why = "its contents do not check";
    else {
        xt_fills_state_load(&m->fills, b + HDR, (uint32_t)fills);
        /* records for no instrument as it is now: instruments cannot be removed or renamed, so a changed tz */
        *skipped = (int)xt_get32(b + HDR + fills_len) - *instruments;
    }
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
        const xt_md_replay_rec_t *r = xt_md_replay_at(rp, i);
        for (k = i; k < rp->n && xt_md_replay_at(rp, k)->seq == r->seq && k - i < XT_EVENT_BATCH_MAX; k++) {
            const xt_md_replay_rec_t *t = xt_md_replay_at(rp, k);
            ev[k - i] = (xt_event_t){
                .type = XT_EV_TRADE,
                .side = t->side,
                .instrument = t->instrument,
                .account = t->account,
                .order_id = t->order_id,
                .price = t->price,
                .qty = t->qty,
                .u.trade = {.trade_id = t->trade_id, .maker_id = t->maker_id, .maker_account = t->maker_account}};
        }
        if (i == 0 || r->ts - advanced >= XT_MD_ADVANCE_NS)
            xt_md_advance(&m->md, advanced = r->ts);
        int last = k == rp->n || xt_md_replay_at(rp, k)->seq != r->seq;
        xt_event_batch_t b = {r->seq, r->ts, 0, (uint8_t)last, k - i, ev};
        xt_md_on_batch(&m->md, &b);
        for (uint32_t j = 0; j < k - i; j++) /* GET /api/v1/fills */
            xt_fills_on_trade(&m->fills, &ev[j], r->ts);
    }
}

/* The instruments the saved day did not restore (all of them when it was
 * not used) know no trade: their last price is the K-line history's, so
 * their flat candles until the next trade are those the files go on from.
 * Before the replay, whose trades come after it. Returns how many took one. */
static uint32_t seed_from_history(mds_t *m)
{
    uint32_t n = 0;
    for (uint32_t i = 0; m->hist && i < m->n_inst; i++) {
        int64_t px = xt_md_history_last_price(m->hist, i);
        n += px != XT_PRICE_NONE && xt_md_seed_last(&m->md, i, px) == 0;
    }
    return n;
}

static void log_outcome(const char *why, uint64_t from, uint64_t at, int instruments, int skipped, uint32_t trades,
                        uint32_t seeded, int64_t ns)
{
    xt_log_ev_t e;
    if (!why && skipped > 0 &&
        xt_log_begin(&e, XT_LOG_WARN,
                     "market data: md-state records of instruments whose time zone (tz) changed are not used; "
                     "their day starts afresh")) {
        xt_log_u64(&e, "instruments", (uint64_t)skipped);
        xt_log_end(&e);
    }
    /* a warning: the day's tickers, candles and trades are gone from market data (the journal has them) */
    if (why && xt_log_begin(&e, XT_LOG_WARN, "market data: md-state not used; the day's market data starts afresh")) {
        xt_log_str(&e, "reason", why);
        xt_log_u64(&e, "prices_from_history", seeded);
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
    remove_after(m, at);
    prune(m, 1); /* and those of snapshots gone since (set aside, deleted): a run that writes none kept them */
    char path[XT_CONFIG_PATH_MAX + 48], legacy[XT_CONFIG_PATH_MAX + 16];
    snprintf(legacy, sizeof legacy, "%s/md-state", m->s->cfg.data_dir);
    const char *why = NULL;
    int instruments = 0, skipped = 0;
    int64_t t0 = xt_mono_ns();
    if (rp->overflow)
        why = "more trades since the snapshot than md.replay_trades (or no memory for them)";
    else if (from) {
        why = path_of(m, path, sizeof path, from, XT_FILE_MD_STATE) ? "data directory path too long"
                                                                    : load_file(m, path, from, &instruments, &skipped);
        if (why == MISSING) /* an older server's, written at a clean stop (its final snapshot) */
            why = load_file(m, legacy, from, &instruments, &skipped);
        if (why == MISSING)
            why = "there is none for the snapshot recovery started from (a crash before it was written, or a "
                  "run that lost trades on the way to market data)";
    }
    unlink(legacy); /* read once, as that server did */
    uint32_t seeded = seed_from_history(m);
    if (!why)
        replay(m, rp);
    if (from || rp->n || rp->overflow) /* else a first start: nothing to say */
        log_outcome(why, from, at, instruments, skipped, why ? 0 : rp->n, seeded, xt_mono_ns() - t0);
    xt_md_replay_free(rp);
}

/* Why this run's state is not the journal's, or NULL. */
static const char *lost(const mds_t *m)
{
    return atomic_load(&m->s->journal_failed) ? "the journal failed: its last batch never reached market data"
           : atomic_load(&m->s->md_feed.trades_lost) /* lost levels only: the resync sent the books again */
               ? "the engine-to-market-data feed overflowed: trades (or band moves) were lost on the way"
               : NULL;
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
    xt_io_t *io = &xt_io_posix;
    int fd = io->open(io, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fd;
    int rc = xt_io_write_all(io, fd, b, n), rc2 = io->close(io, fd);
    return rc ? rc : rc2;
}

static void log_not_written(const char *why, uint64_t seq, const char *path, int lost_trades)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, lost_trades ? XT_LOG_INFO : XT_LOG_WARN,
                     lost_trades ? "market data: md-state not written (from now on in this run); a restart goes "
                                   "on from an earlier one only if recovery starts at its snapshot, else begins the "
                                   "day afresh"
                                 : "market data: md-state not written")) {
        xt_log_str(&e, "reason", why);
        xt_log_u64(&e, "seq", seq);
        if (path && path[0])
            xt_log_str(&e, "path", path);
        xt_log_end(&e);
    }
}

/* Ends the encoding encode_state began: the fills' records, then the
 * header with the checksum. */
static void finish_encoding(mds_t *m)
{
    uint8_t *b = m->save.buf;
    size_t n = m->save.len - HDR;
    xt_fills_ckpt_run(&m->fills);
    xt_md_ckpt_run(&m->md);
    memset(b, 0, HDR);
    xt_put32(b, MAGIC);
    xt_put32(b + 4, VERSION);
    xt_put64(b + 8, m->save.seq);
    xt_put64(b + 16, n);
    xt_put32(b + 24, xt_crc32c(b + HDR, n));
}

/* Finishes the file in m->save and writes it (through .tmp), then prunes;
 * counts and logs the outcome. On the helper thread, or the caller's at a
 * stop. */
static void write_saved(mds_t *m)
{
    char path[XT_CONFIG_PATH_MAX + 48], tmp[XT_CONFIG_PATH_MAX + 48];
    uint64_t seq = m->save.seq;
    int64_t t0 = xt_mono_ns();
    finish_encoding(m);
    char why[XT_PATH_MAX + 160];
    int hrc = xt_md_history_wait(m->hist, m->save.hist, HISTORY_WAIT_MS, why, sizeof why);
    if (hrc == -ETIMEDOUT)
        snprintf(why, sizeof why, "the history's writer took longer than %d s (a slow disk)", HISTORY_WAIT_MS / 1000);
    else if (hrc == -ECANCELED)
        snprintf(why, sizeof why, "the next snapshot came before the history's writer was done (a slow disk)");
    if (hrc) { /* written all the same: without it a restart begins the day afresh, whatever the crash */
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_WARN,
                         "market data: md-state written before the K-line history's candles were synced; a crash "
                         "before the next md-state may leave a hole in the history files that xtrading md rebuild "
                         "fills")) {
            xt_log_str(&e, "reason", why);
            xt_log_u64(&e, "seq", seq);
            xt_log_end(&e);
        }
    }
    int rc =
        path_of(m, path, sizeof path, seq, XT_FILE_MD_STATE) || path_of(m, tmp, sizeof tmp, seq, XT_FILE_MD_STATE_TMP)
            ? -ENAMETOOLONG
            : write_file(tmp, m->save.buf, m->save.len);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    atomic_store(&m->save.write_us, (uint64_t)(xt_mono_ns() - t0) / 1000);
    if (rc) {
        if (rc != -ENAMETOOLONG)
            unlink(tmp);
        atomic_fetch_add(&m->save.failures, 1);
        log_not_written(strerror(-rc), seq, path, 0);
        return;
    }
    atomic_fetch_add(&m->save.written, 1);
    prune(m, 0);
}

static void *writer_main(void *arg)
{
    write_saved(arg);
    return NULL;
}

/* Waits for the helper thread writing the last file, if any; the
 * checkpoints it ran end. */
static void join_writer(mds_t *m)
{
    if (m->save.running) {
        pthread_join(m->save.th, NULL);
        m->save.running = 0;
    }
    xt_fills_ckpt_end(&m->fills);
    xt_md_ckpt_end(&m->md);
}

static void free_buffer(mds_t *m)
{
    if (m->save.buf)
        xt_pages_free(m->save.buf);
    m->save.buf = NULL;
    m->save.cap = 0;
}

/* Room for n bytes in m->save.buf (grown as needed: rarely, at a
 * snapshot). Its own mapping, left out of fork(): the snapshot's child is
 * forked just as this buffer is written, and every page written while the
 * child lives would be copied first. Returns 0 or -ENOMEM. */
static int buffer_room(mds_t *m, size_t n)
{
    if (n <= m->save.cap)
        return 0;
    size_t cap = n + n / 4;
    void *b = xt_pages_alloc(cap, XT_PAGES_NOFORK);
    if (!b)
        return -ENOMEM;
    free_buffer(m);
    m->save.buf = b;
    m->save.cap = cap;
    return 0;
}

/* Begins encoding the state after command seq into m->save: the
 * checkpoints of the fills and of the md library's state begun (the
 * instruments' fixed parts noted here), finish_encoding runs them.
 * Returns 0, -ENOMEM, or -EINVAL (md's size changed between the two
 * calls: cannot happen on one thread). */
static int encode_state(mds_t *m, uint64_t seq)
{
    size_t nf = xt_fills_state_size(&m->fills), n = nf + xt_md_state_size(&m->md);
    if (buffer_room(m, HDR + n))
        return -ENOMEM;
    uint8_t *b = m->save.buf;
    /* md's first: it is the one that can refuse (a cap short of its size), and then nothing is begun */
    if (xt_md_ckpt_begin(&m->md, b + HDR + nf, n - nf) != n - nf)
        return -EINVAL;
    xt_fills_ckpt_begin(&m->fills, b + HDR);
    m->save.len = HDR + n;
    m->save.seq = seq;
    return 0;
}

/* Saves the state after command seq: begun here (market data waits that
 * long), finished and written by a helper thread when `helper` (else
 * here) once the K-line history's flush `hist` is done; logs why not when
 * it cannot. */
static void save_at(mds_t *m, uint64_t seq, int helper, uint64_t hist)
{
    const char *why = lost(m);
    if (why) {
        m->checkpoints_off = 1;
        log_not_written(why, seq, NULL, 1);
        prune(m, 0); /* the older files go all the same, as retention removes their snapshots */
        return;
    }
    int64_t t0 = xt_mono_ns(); /* the wait for the last file's writer counts: md waits for it */
    /* The last one (a snapshot ago): as a rule long done. One still
     * waiting for the K-line history (a slow disk, or snapshots closer
     * than the history's sync) is let go to write at once: market data
     * never waits for the history's disk. */
    xt_md_history_cancel_waits(m->hist, m->save.hist);
    join_writer(m);
    int rc = encode_state(m, seq);
    if (rc) {
        atomic_fetch_add(&m->save.failures, 1);
        log_not_written(strerror(-rc), seq, NULL, 0);
        return;
    }
    m->save.last_us = (uint64_t)(xt_mono_ns() - t0) / 1000;
    m->save.hist = hist;
    if (helper && pthread_create(&m->save.th, NULL, writer_main, m) == 0) { /* publishes the checkpoint */
        m->save.running = 1;
        return;
    }
    write_saved(m);
    join_writer(m); /* no thread: ends the checkpoints */
}

void xt_mds_state_checkpoint(mds_t *m, uint64_t seq)
{
    /* The candles closed before this point are in no restart's replay:
     * written and synced now, not md.history_flush_ms later (a crash in
     * between lost them), by the history's own thread; the state is
     * written after them. */
    uint64_t hist = xt_md_history_flush_soon(m->hist);
    if (!m->checkpoints_off && seq > 0)
        save_at(m, seq, 1, hist);
}

void xt_mds_state_save(mds_t *m)
{
    /* at a stop: the last command applied (the engine thread has stopped), where the final snapshot is taken */
    xt_engine_stats_t st;
    xt_engine_stats(&m->s->engine, &st);
    if (!m->s->cfg.journal.no_snapshot_on_close && st.last_seq > 0) /* else recovery never starts from here */
        save_at(m, st.last_seq, 0, xt_md_history_flush_soon(m->hist));
    join_writer(m);
}

void xt_mds_state_close(mds_t *m)
{
    join_writer(m);
    free_buffer(m);
}
