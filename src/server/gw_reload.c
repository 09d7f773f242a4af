/* gw_reload.c - SIGHUP: the credentials and the limits read again while
 * the server runs, and the price bands moved (gw_bands.c) (docs/config.md,
 * "Reloading").
 *
 * The files are read on a thread of its own (a credentials file of a
 * million keys takes the best part of a second to read and hash), so
 * order entry goes on meanwhile; the gateway thread, which owns the
 * credentials (logins) and the token buckets (limits.rate, limits.burst),
 * applies the result when the loader is done (xt__gw_reload_poll). The md
 * thread reads the credentials too (signed REST requests): the swap holds
 * creds_lock for writing, and the old ones are freed after it.
 * limits.open_orders is checked by the engine thread: it reads it from an
 * atomic. All of the new settings are read and checked before any is
 * applied, so a bad file changes nothing. A SIGHUP while a load is under
 * way reads the files once more after it (the last one wins). Every other key keeps the value it had at start (listen
 * addresses, capacities, the journal, the log: they need a restart), and
 * the report says when the file asks for a different one. SIGHUP also opens
 * log.file again (logrotate).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpus.h"
#include "credentials.h"
#include "gateway_internal.h"
#include "log.h"
#include "server.h"

/* One load: what the loader thread read, for the gateway thread to apply. */
struct xt_gw_reload {
    xt_server_t *s;
    pthread_t th;
    int running;      /* gateway thread: th is to be joined */
    int again;        /* gateway thread: a SIGHUP came during the load */
    _Atomic int done; /* loader -> gateway: the fields below are set */
    /* A stop during a load (a file on a disk that hangs) does not wait for
     * it: the gateway sets `abandoned` and the loader frees this when it
     * ends. mu orders that with the loader's wake-up of the gateway. */
    pthread_mutex_t mu;
    int abandoned;
    int rc; /* 0: next (and creds, when next names a file) read */
    xt_creds_t creds;
    char why[XT_CONFIG_WHY_MAX];
    xt_server_config_t next;
};

/* want's instruments as a restart would take them: those cur has, in
 * cur's order and with cur's definitions (a reload moves their bands,
 * gw_bands.c, and a restart would not change the rest: the journal's
 * stays, band_move.c warns of it), each with want's tz and prev_close (a
 * restart's); then those cur lacks. The sections' order does not matter (docs/config.md),
 * and xt_config_diff compares the printed configs line by line. */
static void as_a_restart_takes(xt_server_config_t *want, const xt_server_config_t *cur)
{
    static xt_instrument_def_t in[XT_CONFIG_MAX_INSTRUMENTS];
    int32_t tz[XT_CONFIG_MAX_INSTRUMENTS];
    uint8_t follow[XT_CONFIG_MAX_INSTRUMENTS];
    uint8_t taken[XT_CONFIG_MAX_INSTRUMENTS] = {0};
    uint32_t n = 0;
    for (uint32_t k = 0; k <= cur->n_instruments; k++)
        for (uint32_t j = 0; j < want->n_instruments; j++) /* (k == n_instruments: the rest) */
            if (!taken[j] &&
                (k == cur->n_instruments || strcmp(want->instruments[j].symbol, cur->instruments[k].symbol) == 0)) {
                in[n] = k < cur->n_instruments ? cur->instruments[k] : want->instruments[j];
                tz[n] = want->tz_offset[j];
                follow[n++] = want->prev_close_ref[j];
                taken[j] = 1;
                if (k < cur->n_instruments)
                    break;
            }
    memcpy(want->instruments, in, n * sizeof *in);
    memcpy(want->tz_offset, tz, n * sizeof *tz);
    memcpy(want->prev_close_ref, follow, n * sizeof *follow);
}

/* The keys whose values in next differ from the running one's, other than
 * those a reload applies (xt_config_diff: every key, listed); "" when none
 * does. */
static void restart_key(const xt_server_t *s, const xt_server_config_t *next, char *key, size_t keylen)
{
    static xt_server_config_t want; /* next, but what a reload applies as cur has it */
    const xt_server_config_t *cur = &s->cfg;
    want = *next;
    /* the connection limits as configured, not as cut to the open-file limit at start */
    if (want.max_connections == s->asked_max_connections)
        want.max_connections = cur->max_connections;
    if (want.md_max_connections == s->asked_md_max_connections)
        want.md_max_connections = cur->md_max_connections;
    memcpy(want.credentials, cur->credentials, sizeof want.credentials);
    want.rate = cur->rate;
    want.burst = cur->burst;
    want.open_orders = cur->open_orders;
    as_a_restart_takes(&want, cur);
    if (xt_config_diff(cur, &want, key, keylen) < 0)
        snprintf(key, keylen, "? (out of memory to compare)");
}

/* A reload that changes nothing: one warning with the reason, counted. */
static int refused(xt_server_t *s, const char *why)
{
    xt_metrics_reload(&s->met, 1, 0);
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "SIGHUP: reload refused; nothing changed")) {
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
    return -1;
}

static void report(const xt_server_config_t *next, size_t keys, int bands, const char *restart)
{
    xt_log_ev_t e;
    if (!xt_log_begin(&e, XT_LOG_INFO, "reloaded"))
        return;
    if (next->credentials[0]) {
        xt_log_u64(&e, "credentials_keys", keys);
        xt_log_str(&e, "credentials", next->credentials);
    } else {
        xt_log_str(&e, "credentials", "(the embedded demo accounts, unchanged)");
    }
    xt_log_u64(&e, "limits.rate", next->rate);
    xt_log_u64(&e, "limits.burst", next->burst);
    xt_log_u64(&e, "limits.open_orders", next->open_orders);
    if (bands > 0)
        xt_log_u64(&e, "bands_moving", (uint64_t)bands); /* each told once the engine has journaled it */
    if (restart[0])
        xt_log_str(&e, "needs_restart", restart); /* changed in the config: it takes effect at the next start */
    xt_log_end(&e);
}

/* The config, then the credentials file it names. */
static void load(struct xt_gw_reload *r)
{
    xt_server_t *s = r->s;
    r->why[0] = '\0';
    r->creds = (xt_creds_t){0};
    r->rc = s->reload(s->reload_ctx, &r->next, r->why, sizeof r->why);
    if (r->rc == 0 && r->next.credentials[0])
        r->rc = xt_creds_load(&r->creds, r->next.credentials, r->why, sizeof r->why) ? -1 : 0;
}

/* The loader thread: a load, then the gateway woken to apply it (or, after
 * a stop, r freed). */
static void *load_main(void *arg)
{
    struct xt_gw_reload *r = arg;
    xt_server_t *s = r->s;
    xt_cpus_helper(s->cpus, "reload"); /* off the pinned CPUs: not on the gateway's, which it was started from */
    load(r);
    pthread_mutex_lock(&r->mu);
    atomic_store_explicit(&r->done, 1, memory_order_release);
    int orphan = r->abandoned;
    if (!orphan) {
        uint64_t one = 1;
        ssize_t n = write(s->gateway_efd, &one, sizeof one); /* the gateway applies it at once */
        (void)n;
    }
    pthread_mutex_unlock(&r->mu);
    if (orphan) { /* the server stopped meanwhile */
        xt_creds_free(&r->creds);
        pthread_mutex_destroy(&r->mu);
        free(r);
    }
    return NULL;
}

/* What the loader read, applied (or refused): on the gateway thread. */
static int apply(xt_server_t *s, struct xt_gw_reload *r)
{
    if (r->rc != 0)
        return refused(s, r->why);
    xt_server_config_t *next = &r->next;
    /* A file that drops an instrument the server runs is one the next start
     * refuses, and one with no instrument at all (the embedded ones stand in)
     * is no config of this server's: a file cut short or the wrong one,
     * whose limits (its defaults) must not be taken either. Told before the
     * credentials: a file cut short names none either, and that is not the
     * cause. */
    if (next->n_instruments_default && !s->cfg.n_instruments_default)
        return refused(s, "the config defines no instrument now (the embedded demo ones are only for a start "
                          "without any): a file cut short?");
    for (uint32_t k = 0; k < s->cfg.n_instruments; k++) {
        const char *sym = s->cfg.instruments[k].symbol;
        if (xt_config_instrument_index(next, sym) < 0) {
            char why[160];
            snprintf(why, sizeof why,
                     "the config no longer defines instrument %s (a start would refuse it: a file cut short?)", sym);
            return refused(s, why);
        }
    }
    if (!next->credentials[0] && s->cfg.credentials[0])
        return refused(s, "server.credentials is empty now; the demo accounts are only for a start without a "
                          "credentials file");
    xt_creds_t creds = r->creds; /* taken only now: a refusal leaves them to the caller to free */
    r->creds = (xt_creds_t){0};
    size_t keys = creds.n;
    char restart[256];
    restart_key(s, next, restart, sizeof restart);
    if (next->credentials[0]) {
        xt_creds_t old = s->creds;
        pthread_rwlock_wrlock(&s->creds_lock); /* the md thread reads them for signed REST requests */
        s->creds = creds;
        pthread_rwlock_unlock(&s->creds_lock);
        xt_creds_free(&old);
        memcpy(s->cfg.credentials, next->credentials, sizeof s->cfg.credentials);
    }
    s->cfg.rate = next->rate;
    s->cfg.burst = next->burst;
    s->cfg.open_orders = next->open_orders;
    atomic_store_explicit(&s->open_orders_limit, next->open_orders, memory_order_relaxed);
    int bands = xt__gw_bands_reload(s, next);
    if (bands < 0) {
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_ERROR, "SIGHUP: out of memory: no price band moves"))
            xt_log_end(&e);
    }
    report(next, keys, bands, restart);
    xt_metrics_reload(&s->met, 0, restart[0] != '\0');
    return 0;
}

static void start_load(xt_server_t *s, struct xt_gw_reload *r)
{
    r->again = 0;
    atomic_store_explicit(&r->done, 0, memory_order_relaxed);
    if (pthread_create(&r->th, NULL, load_main, r) == 0) {
        r->running = 1;
        return;
    }
    load(r); /* no thread: read here, order entry waits meanwhile */
    apply(s, r);
    xt_creds_free(&r->creds); /* refused: what was read */
}

void xt__gw_reload(xt_server_t *s)
{
    xt_log_reopen_for_sighup();
    if (!s->reload) {
        refused(s, "this server cannot reload its config");
        return;
    }
    xt_gw_t *g = s->gw;
    if (g->stopping) { /* the log reopened all the same: logrotate's */
        xt__gw_reload_too_late();
        return;
    }
    if (!g->reload) {
        if (!(g->reload = calloc(1, sizeof *g->reload))) {
            refused(s, "out of memory");
            return;
        }
        pthread_mutex_init(&g->reload->mu, NULL);
    }
    g->reload->s = s;
    if (g->reload->running)
        g->reload->again = 1; /* read again once this load is applied: the files may have changed since it began */
    else
        start_load(s, g->reload);
}

void xt__gw_reload_poll(xt_server_t *s)
{
    struct xt_gw_reload *r = s->gw->reload;
    if (!r || !r->running || !atomic_load_explicit(&r->done, memory_order_acquire))
        return;
    pthread_join(r->th, NULL);
    r->running = 0;
    apply(s, r);
    xt_creds_free(&r->creds); /* refused: what was read */
    if (r->again)
        start_load(s, r);
}

void xt__gw_reload_too_late(void)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "SIGHUP during the stop: nothing reloaded"))
        xt_log_end(&e);
}

void xt__gw_reload_destroy(xt_server_t *s)
{
    struct xt_gw_reload *r = s->gw ? s->gw->reload : NULL;
    if (!r)
        return;
    s->gw->reload = NULL;
    if (r->running) { /* a stop during a load: what it reads is not applied */
        xt__gw_reload_too_late();
        pthread_mutex_lock(&r->mu);
        int done = atomic_load(&r->done);
        r->abandoned = !done;
        pthread_mutex_unlock(&r->mu);
        if (!done) { /* it may never end (a hung disk): the stop does not wait, the loader frees r */
            pthread_detach(r->th);
            return;
        }
        pthread_join(r->th, NULL);
    }
    xt_creds_free(&r->creds);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
