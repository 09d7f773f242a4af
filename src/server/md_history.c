/* md_history.c - K-line history in the server (see md_history.h): the
 * store configured from the server's settings and instruments, its writer
 * thread, and its failures reported in the log (log.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): pthread_setname_np */
#include "md_history.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cpus.h"
#include "journal/dir.h"
#include "log.h"
#include "server.h"
#include "xt/error.h"

#define REPORT_EVERY_NS (INT64_C(60) * 1000000000)

static int64_t newest_in(const xt_kl_store_t *st);
static void *writer_main(void *arg);

/* A file set aside or unreadable at start: one warning each. */
static void file_notice(void *arg, const char *symbol, const char *why)
{
    (void)arg;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "K-line history")) {
        xt_log_str(&e, "symbol", symbol);
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
}

/* Every instrument's files: torn tails cut, unusable files set aside
 * (file_notice tells of each). */
static void add_instruments(xt_server_t *s, xt_kl_store_t *st)
{
    uint32_t n = xt_engine_instrument_count(&s->engine);
    for (uint32_t i = 0; i < n; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        int32_t tz = 0; /* UTC unless the config says (as the md thread aligns candles) */
        xt_config_tz(&s->cfg, in.symbol, &tz);
        int rc = xt_kl_store_add(st, i, in.symbol, tz, in.def.tick, in.def.lot);
        xt_log_ev_t e; /* (the files' own failures were told by file_notice) */
        if ((rc == XT_EINVAL || rc == XT_EEXIST) && xt_log_begin(&e, XT_LOG_WARN, "K-line history")) {
            xt_log_str(&e, "symbol", in.symbol);
            xt_log_str(&e, "reason", xt_strerror(rc));
            xt_log_end(&e);
        }
    }
    xt_log_ev_t e;
    if (st->st.truncated && xt_log_begin(&e, XT_LOG_WARN, "K-line history: cut torn records at the ends of files")) {
        xt_log_u64(&e, "bytes", st->st.truncated);
        xt_log_end(&e);
    }
}

int xt_md_history_precheck(const xt_server_t *s, char *why, size_t whylen)
{
    const char *d = s->cfg.md_history_dir, *data = s->cfg.data_dir;
    size_t n = strlen(data);
    /* one inside a data directory not made yet (a first start): made once
     * that is, by xt_md_history_open, which says so if it cannot be */
    if (n && strncmp(d, data, n) == 0 && (d[n] == '/' || data[n - 1] == '/') && access(data, F_OK) != 0)
        return 0;
    int rc = s->cfg.md_history && d[0] ? xt_dir_ensure(d) : 0;
    if (rc)
        snprintf(why, whylen, "K-line history (md.history_dir) %s: %s (md.history = off runs without it)", d,
                 strerror(-rc));
    return rc ? -1 : 0;
}

int xt_md_history_open(xt_server_t *s, xt_md_history_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (!s->cfg.md_history)
        return 0;
    char dir[XT_PATH_MAX];
    const char *d = s->cfg.md_history_dir;
    if (d[0] == '\0' && snprintf(dir, sizeof dir, "%s/klines", s->cfg.data_dir) < (int)sizeof dir)
        d = dir;
    uint32_t n = xt_engine_instrument_count(&s->engine);
    xt_kl_config_t kc = {
        .dir = d, .max_instruments = n ? n : 1, .flush_ms = s->cfg.md_history_flush_ms, .notice = file_notice};
    xt_md_history_t *h = calloc(1, sizeof *h);
    int rc = h ? xt_kl_store_init(&h->st, &kc) : XT_ENOMEM;
    if (rc) {
        snprintf(why, whylen, "K-line history (md.history_dir) %s: %s (md.history = off runs without it)",
                 d[0] ? d : "(empty)", h && h->st.why[0] ? h->st.why : xt_strerror(rc));
        free(h);
        return -1;
    }
    add_instruments(s, &h->st);
    h->newest = newest_in(&h->st);
    h->max_instruments = kc.max_instruments;
    h->recent = calloc((size_t)kc.max_instruments * XT_KL_COUNT, sizeof *h->recent);
    for (size_t i = 0; h->recent && i < (size_t)kc.max_instruments * XT_KL_COUNT; i++) {
        const xt_kl_file_t *f = &h->st.files[i]; /* before the writer runs, whose they are from then on */
        h->recent[i].has_last = f->has_last;
        h->recent[i].last_open = f->last_open;
        h->recent[i].last_close = f->last_close;
        h->recent[i].has_prior = f->has_prior;
        h->recent[i].prior_open = f->prior_open;
        h->recent[i].prior_close = f->prior_close;
    }
    uint64_t cap = 64;
    while (cap < h->st.cfg.pending)
        cap <<= 1;
    h->mask = cap - 1;
    h->ring = calloc(cap, sizeof *h->ring);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, &ca);
    pthread_cond_init(&h->flushed, &ca); /* (xt_md_history_wait's deadline is monotonic) */
    pthread_condattr_destroy(&ca);
    if (s->cpus && s->cpus->any) { /* off the pinned CPUs, as the spare's writer */
        h->rest = s->cpus->rest;
        h->pin = 1;
    }
    h->delay_ms = s->cfg.kline_write_delay_ms;
    /* Created with every signal blocked: it must never take the gateway's
     * (SIGTERM's default action would end the process). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int created = h->ring && h->recent && pthread_create(&h->th, NULL, writer_main, h) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!created) {
        snprintf(why, whylen, "K-line history: %s (md.history = off runs without it)",
                 h->ring && h->recent ? "cannot start its writer thread" : "out of memory");
        xt_md_history_close(h);
        return -1;
    }
    h->started = 1;
    *out = h;
    return 0;
}

int64_t xt_md_history_newest(const xt_md_history_t *h)
{
    return h ? h->newest : INT64_MIN;
}

int64_t xt_md_history_last_price(const xt_md_history_t *h, uint32_t id)
{
    int64_t price = XT_PRICE_NONE, end = INT64_MIN;
    for (int i = 0; h && id < h->max_instruments && i < XT_KL_COUNT; i++) {
        const xt_md_history_recent_t *r = &h->recent[id * XT_KL_COUNT + (uint32_t)i];
        int64_t len = xt_kline_interval_seconds(i) * INT64_C(1000000000);
        if (r->has_last && r->last_open <= INT64_MAX - len && r->last_open + len > end) { /* strictly: 1m on a tie */
            end = r->last_open + len;
            price = r->last_close;
        }
        if (r->has_prior && r->prior_open <= INT64_MAX - len && r->prior_open + len > end) {
            end = r->prior_open + len;
            price = r->prior_close;
        }
    }
    return price;
}

static int64_t newest_in(const xt_kl_store_t *st)
{
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < (size_t)st->cfg.max_instruments * XT_KL_COUNT; i++) {
        const xt_kl_file_t *f = &st->files[i];
        int64_t len = xt_kline_interval_seconds((int)(i % XT_KL_COUNT)) * INT64_C(1000000000);
        if (!f->has_last || f->last_open > INT64_MAX - len) /* (a file's time, checked by its CRC only) */
            continue;
        if (f->last_open + len > newest)
            newest = f->last_open + len;
    }
    return newest;
}

void xt_md_history_on_update(xt_md_history_t *h, const xt_md_update_t *u)
{
    if (!h || u->kind != XT_MDU_KLINE || !u->candle->closed || u->instrument >= h->max_instruments ||
        u->interval >= XT_KL_COUNT)
        return;
    xt_md_history_recent_t *r = &h->recent[u->instrument * XT_KL_COUNT + u->interval];
    xt_md_candle_t c = *u->candle;
    if (r->has_last && c.open_time <= r->last_open)
        return; /* the file has it (the store would skip it too) */
    r->has_last = 1;
    r->last_open = c.open_time;
    r->last_close = c.close;
    r->c[r->head] = c;
    r->head = (r->head + 1) % XT_MD_HISTORY_RECENT;
    r->n += r->n < XT_MD_HISTORY_RECENT;
    uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
    while (head - atomic_load_explicit(&h->tail, memory_order_acquire) > h->mask) {
        if (h->live) { /* the writer is stuck (the disk): market data does not wait for it */
            atomic_fetch_add_explicit(&h->lost, 1, memory_order_relaxed);
            return;
        }
        pthread_mutex_lock(&h->mu); /* the replay at start: the writer makes room */
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    h->ring[head & h->mask] = (xt_md_history_msg_t){u->instrument, u->interval, c};
    atomic_store_explicit(&h->head, head + 1, memory_order_release);
    if (head + 1 - atomic_load_explicit(&h->tail, memory_order_relaxed) == (h->mask + 1) / 2) {
        pthread_mutex_lock(&h->mu); /* half full: the writer takes them now, not at its next tick */
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

/* Asks the writer to write everything handed over so far (and with sync,
 * to sync what was written since the last sync); returns the ask's
 * number, which flush_done reaches once it is done. */
static uint64_t ask_flush(xt_md_history_t *h, int sync)
{
    pthread_mutex_lock(&h->mu);
    uint64_t want = ++h->flush_asked;
    if (sync)
        h->sync_asked = want;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return want;
}

void xt_md_history_live(xt_md_history_t *h)
{
    if (!h)
        return;
    uint64_t want = ask_flush(h, 0);
    pthread_mutex_lock(&h->mu);
    while (h->flush_done < want)
        pthread_cond_wait(&h->flushed, &h->mu);
    pthread_mutex_unlock(&h->mu);
    h->live = 1;
}

uint64_t xt_md_history_flush_soon(xt_md_history_t *h)
{
    return h ? ask_flush(h, 1) : 0;
}

int xt_md_history_wait(xt_md_history_t *h, uint64_t ticket, uint32_t timeout_ms, char *why, size_t n)
{
    if (!h || ticket == 0)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    int rc = 0;
    pthread_mutex_lock(&h->mu);
    while (h->flush_done < ticket && rc == 0)
        if (h->cancel_upto >= ticket)
            rc = -ECANCELED;
        else if (pthread_cond_timedwait(&h->flushed, &h->mu, &until) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    if (rc == 0 && h->sync_failed) {
        rc = -EIO;
        snprintf(why, n, "%s", h->sync_why);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void xt_md_history_cancel_waits(xt_md_history_t *h, uint64_t ticket)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    if (ticket > h->cancel_upto)
        h->cancel_upto = ticket;
    pthread_cond_broadcast(&h->flushed);
    pthread_mutex_unlock(&h->mu);
}

uint32_t xt_md_history_recent(const xt_md_history_t *h, uint32_t id, int interval, xt_md_candle_t *out)
{
    if (!h || id >= h->max_instruments || interval < 0 || interval >= XT_KL_COUNT)
        return 0;
    const xt_md_history_recent_t *r = &h->recent[id * XT_KL_COUNT + (uint32_t)interval];
    for (uint32_t i = 0; i < r->n; i++)
        out[i] = r->c[(r->head + XT_MD_HISTORY_RECENT - r->n + i) % XT_MD_HISTORY_RECENT];
    return r->n;
}

static void report(xt_md_history_t *h, int64_t now)
{
    const xt_kl_stats_t *t = &h->st.st;
    uint64_t lost = atomic_load_explicit(&h->lost, memory_order_relaxed);
    if ((t->errors == h->errors_reported && lost == h->lost_reported) ||
        ((h->errors_reported || h->lost_reported) && now - h->last_report < REPORT_EVERY_NS))
        return;
    h->errors_reported = t->errors;
    h->lost_reported = lost;
    h->last_report = now;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN,
                     "K-line history: candles not written; xtrading md rebuild regenerates the files")) {
        xt_log_str(&e, "reason", t->errors ? h->st.why : "the writer fell behind (a slow disk): its queue was full");
        xt_log_u64(&e, "failed_writes", t->errors);
        xt_log_u64(&e, "candles_lost", t->dropped + lost);
        xt_log_end(&e);
    }
}

/* The candles handed over, into the store. */
static void take_all(xt_md_history_t *h)
{
    uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
    for (; tail < head; tail++) {
        const xt_md_history_msg_t *x = &h->ring[tail & h->mask];
        xt_kl_store_append(&h->st, x->id, (int)x->interval, &x->c); /* a full pool is written at once */
        atomic_store_explicit(&h->tail, tail + 1, memory_order_release);
    }
}

/* The writer: every 100 ms (or when the ring is half full) the candles
 * handed over, then what is due (md.history_flush_ms); at the stop,
 * everything. */
static void *writer_main(void *arg)
{
    xt_md_history_t *h = arg;
    if (h->pin)
        xt_cpus_pin(&h->rest, "klines");
    pthread_setname_np(pthread_self(), "xt-klines");
    for (;;) {
        pthread_mutex_lock(&h->mu);
        if (!h->stop && h->flush_asked == h->flush_done) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            t.tv_nsec += 100000000;
            if (t.tv_nsec >= 1000000000) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&h->cv, &h->mu, &t);
        }
        int stop = h->stop;
        uint64_t flush = h->flush_asked;
        int sync = h->sync_asked > h->flush_done;
        pthread_mutex_unlock(&h->mu);
        take_all(h);
        int64_t now = xt_mono_ns();
        if (flush != h->flush_done) { /* flush_done: written only here */
            if (h->delay_ms && sync)  /* the test hook debug.kline_write_delay_ms: a slow disk */
                nanosleep(&(struct timespec){h->delay_ms / 1000, (long)(h->delay_ms % 1000) * 1000000}, NULL);
            xt_kl_store_flush(&h->st);
            int failed = sync && xt_kl_store_sync(&h->st) != 0;
            pthread_mutex_lock(&h->mu);
            if (failed && !h->sync_failed) { /* the first failure is told for the rest of the run */
                h->sync_failed = 1;
                memcpy(h->sync_why, h->st.sync_why, sizeof h->sync_why);
            }
            h->flush_done = flush;
            pthread_cond_broadcast(&h->flushed);
            pthread_mutex_unlock(&h->mu);
        }
        if (stop) { /* (synced too: a stop without a final snapshot asked for no sync) */
            xt_kl_store_flush(&h->st);
            xt_kl_store_sync(&h->st);
            report(h, h->last_report + REPORT_EVERY_NS);
            return NULL;
        }
        xt_kl_store_tick(&h->st, now);
        report(h, now);
    }
}

void xt_md_history_close(xt_md_history_t *h)
{
    if (h == NULL)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL); /* it writes everything handed over first */
    }
    pthread_cond_destroy(&h->cv);
    pthread_cond_destroy(&h->flushed);
    pthread_mutex_destroy(&h->mu);
    xt_kl_store_destroy(&h->st);
    free(h->ring);
    free(h->recent);
    free(h);
}
