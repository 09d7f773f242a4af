/* gw_reload.c - SIGHUP: the credentials and the limits read again while
 * the server runs (docs/config.md, "Reloading").
 *
 * Runs on the gateway thread, which owns the credentials (logins) and the
 * token buckets (limits.rate, limits.burst). limits.open_orders is checked
 * by the engine thread: it reads it from an atomic. All of the new settings
 * are read and checked before any is applied, so a bad file changes
 * nothing. Every other key keeps the value it had at start (listen
 * addresses, capacities, the journal: they need a restart), and the report
 * line says when the file asks for a different one.
 */
#include <stdio.h>
#include <string.h>

#include "credentials.h"
#include "server.h"

/* Keys whose new value needs a restart: the first one that differs, or NULL. */
static const char *restart_key(const xt_server_config_t *a, const xt_server_config_t *b)
{
    if (strcmp(a->listen_host, b->listen_host) != 0 || a->listen_port != b->listen_port)
        return "server.listen";
    if (strcmp(a->md_host, b->md_host) != 0 || a->md_port != b->md_port)
        return "md.listen";
    if (strcmp(a->data_dir, b->data_dir) != 0)
        return "journal.dir";
    if (strcmp(a->admin_socket, b->admin_socket) != 0 || a->admin_off != b->admin_off)
        return "server.admin_socket";
    if (a->n_instruments != b->n_instruments)
        return "instruments";
    if (a->max_sessions != b->max_sessions || a->max_connections != b->max_connections)
        return "server capacities";
    return NULL;
}

int xt__gw_reload(xt_server_t *s)
{
    static xt_server_config_t next; /* large; the gateway thread is the only caller */
    char why[1024] = "";
    if (!s->reload) {
        fprintf(stderr, "xtrading: SIGHUP: this server cannot reload its config; nothing changed\n");
        return -1;
    }
    if (s->reload(s->reload_ctx, &next, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading: SIGHUP: %s; nothing changed\n", why);
        return -1;
    }
    xt_creds_t creds = {0};
    const char *creds_note = "credentials unchanged (the embedded demo accounts)";
    char note[XT_CONFIG_PATH_MAX + 64];
    if (next.credentials[0]) {
        if (xt_creds_load(&creds, next.credentials, why, sizeof why) != 0) {
            fprintf(stderr, "xtrading: SIGHUP: %s; nothing changed\n", why);
            return -1;
        }
        snprintf(note, sizeof note, "credentials %zu keys from %s", creds.n, next.credentials);
        creds_note = note;
    } else if (s->cfg.credentials[0]) {
        fprintf(stderr, "xtrading: SIGHUP: server.credentials is empty now; the demo accounts are only for a "
                        "start without a credentials file; nothing changed\n");
        return -1;
    }
    if (next.credentials[0]) {
        xt_creds_free(&s->creds);
        s->creds = creds;
        memcpy(s->cfg.credentials, next.credentials, sizeof s->cfg.credentials);
    }
    s->cfg.rate = next.rate;
    s->cfg.burst = next.burst;
    s->cfg.open_orders = next.open_orders;
    atomic_store_explicit(&s->open_orders_limit, next.open_orders, memory_order_relaxed);
    const char *rk = restart_key(&s->cfg, &next);
    fprintf(stderr, "xtrading: reloaded: %s; limits.rate %u, limits.burst %u, limits.open_orders %u%s%s%s\n",
            creds_note, next.rate, next.burst, next.open_orders, rk ? "; " : "", rk ? rk : "",
            rk ? " changed in the config: it takes effect at the next start" : "");
    return 0;
}
