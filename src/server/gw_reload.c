/* gw_reload.c - SIGHUP: the credentials and the limits read again while
 * the server runs (docs/config.md, "Reloading").
 *
 * Runs on the gateway thread, which owns the credentials (logins) and the
 * token buckets (limits.rate, limits.burst). The md thread reads the
 * credentials too (signed REST requests): the swap holds creds_lock for
 * writing, and the old ones are freed after it. limits.open_orders is checked
 * by the engine thread: it reads it from an atomic. All of the new settings
 * are read and checked before any is applied, so a bad file changes
 * nothing. Every other key keeps the value it had at start (listen
 * addresses, capacities, the journal, the log: they need a restart), and
 * the report says when the file asks for a different one. SIGHUP also opens
 * log.file again (logrotate).
 */
#include <stdio.h>
#include <string.h>

#include "credentials.h"
#include "log.h"
#include "server.h"

/* The first key whose value in next differs from the running one's, other
 * than those a reload applies (xt_config_diff: every key); "" when none
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
    if (xt_config_diff(cur, &want, key, keylen) < 0)
        snprintf(key, keylen, "? (out of memory to compare)");
}

/* A reload that changes nothing: one warning with the reason. */
static int refused(const char *why)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "SIGHUP: reload refused; nothing changed")) {
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
    return -1;
}

static void report(const xt_server_config_t *next, size_t keys, const char *restart)
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
    if (restart[0])
        xt_log_str(&e, "needs_restart", restart); /* changed in the config: it takes effect at the next start */
    xt_log_end(&e);
}

int xt__gw_reload(xt_server_t *s)
{
    static xt_server_config_t next; /* large; the gateway thread is the only caller */
    char why[1024] = "";
    int rc = xt_log_reopen(); /* log.file, moved away by logrotate: a new one */
    xt_log_ev_t e;
    if (rc && xt_log_begin(&e, XT_LOG_ERROR, "SIGHUP: cannot open log.file again; still writing the old one")) {
        xt_log_str(&e, "reason", strerror(-rc));
        xt_log_end(&e);
    }
    if (!s->reload)
        return refused("this server cannot reload its config");
    if (s->reload(s->reload_ctx, &next, why, sizeof why) != 0)
        return refused(why);
    xt_creds_t creds = {0};
    if (next.credentials[0]) {
        if (xt_creds_load(&creds, next.credentials, why, sizeof why) != 0)
            return refused(why);
    } else if (s->cfg.credentials[0]) {
        return refused("server.credentials is empty now; the demo accounts are only for a start without a "
                       "credentials file");
    }
    size_t keys = creds.n;
    char restart[96];
    restart_key(s, &next, restart, sizeof restart);
    if (next.credentials[0]) {
        xt_creds_t old = s->creds;
        pthread_rwlock_wrlock(&s->creds_lock); /* the md thread reads them for signed REST requests */
        s->creds = creds;
        pthread_rwlock_unlock(&s->creds_lock);
        xt_creds_free(&old);
        memcpy(s->cfg.credentials, next.credentials, sizeof s->cfg.credentials);
    }
    s->cfg.rate = next.rate;
    s->cfg.burst = next.burst;
    s->cfg.open_orders = next.open_orders;
    atomic_store_explicit(&s->open_orders_limit, next.open_orders, memory_order_relaxed);
    report(&next, keys, restart);
    return 0;
}
