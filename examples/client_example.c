/* client_example.c - the client SDK (include/xt/client.h) in one page:
 * log in to `xtrading serve` as demo account 1001, print the instruments,
 * buy min_qty lots of 600519.SH at the middle of its price band, print
 * every answer, cancel the order and log out. Walked through in
 * docs/client.md.
 *
 * usage: example_client [HOST:PORT [SYMBOL]]   (default 127.0.0.1:9001 600519.SH)
 * Without a price band the order is priced at 1000 ticks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xt/client.h"
#include "xt/error.h"

typedef struct app {
    const char *symbol;
    xt_msg_instrument_t inst; /* the instrument to trade */
    int found;
    int answers; /* answers received to our requests */
} app_t;

static void on_instrument(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_instrument_t *m)
{
    app_t *app = user;
    (void)c, (void)h;
    printf("instrument %u %-12.16s tick %llde-%u lot %llde-%u min %lld max %lld", m->id, m->symbol,
           (long long)m->tick_m, m->tick_scale, (long long)m->lot_m, m->lot_scale, (long long)m->min_qty,
           (long long)m->max_qty);
    if (m->has_band)
        printf(" band %lld..%lld", (long long)m->band_low, (long long)m->band_high);
    if (m->status == XT_INSTRUMENT_HALTED) /* at login, or later: a halt (XT_LOGIN_STATUS_UPDATES) */
        printf(" HALTED");
    printf("\n");
    if (strncmp(m->symbol, app->symbol, sizeof m->symbol) == 0) {
        app->inst = *m;
        app->found = 1;
    }
}

static void on_accepted(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_accepted_t *m)
{
    (void)c;
    printf("seq %llu ACCEPTED clordid %llu order_id %lld price %lld qty %lld\n", (unsigned long long)h->seq,
           (unsigned long long)m->clordid, (long long)m->order_id, (long long)m->price, (long long)m->qty);
    ((app_t *)user)->answers++;
}

static void on_rejected(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_rejected_t *m)
{
    (void)c;
    printf("seq %llu REJECTED clordid %llu reason %s\n", (unsigned long long)h->seq, (unsigned long long)m->clordid,
           xt_wire_reason_name(m->reason));
    ((app_t *)user)->answers++;
}

static void on_fill(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_fill_t *m)
{
    (void)user, (void)c;
    printf("seq %llu FILL order_id %lld %lld lots at %lld, %lld left\n", (unsigned long long)h->seq,
           (long long)m->order_id, (long long)m->qty, (long long)m->price, (long long)m->remaining);
}

static void on_canceled(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_canceled_t *m)
{
    (void)c;
    printf("seq %llu CANCELED order_id %lld %lld lots, reason %s\n", (unsigned long long)h->seq, (long long)m->order_id,
           (long long)m->qty, xt_wire_reason_name(m->reason));
    if (m->request_clordid)
        ((app_t *)user)->answers++;
}

static void on_server_error(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_error_t *m)
{
    (void)user, (void)c, (void)h;
    printf("ERROR %s: %s\n", xt_wire_error_name(m->code), m->text);
}

static void on_login_rejected(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_login_rejected_t *m)
{
    (void)user, (void)c, (void)h;
    printf("LOGIN_REJECTED %s\n", xt_wire_login_reason_name(m->reason));
}

static void on_close(void *user, xt_client_t *c, int err)
{
    (void)user, (void)c;
    printf("connection closed%s%s\n", err ? ": " : "", err ? xt_strerror(err) : "");
}

/* Polls until `want` answers have arrived. Returns 0 or a negative code. */
static int wait_answers(xt_client_t *c, app_t *app, int want)
{
    for (int i = 0; i < 500 && app->answers < want; i++) {
        int rc = xt_client_poll(c, 10);
        if (rc < 0)
            return rc;
    }
    return app->answers >= want ? 0 : -ETIMEDOUT;
}

static int trade(xt_client_t *c, app_t *app)
{
    const xt_msg_instrument_t *in = &app->inst;
    xt_msg_new_order_t o = {.instrument = in->id, .side = 0 /* BUY */, .type = 0 /* LIMIT */, .qty = in->min_qty};
    o.price = in->has_band ? in->band_low + (in->band_high - in->band_low) / 2 : 1000;
    int rc = xt_client_new_order(c, &o); /* clordid 0: the SDK picks the next one */
    if (rc == 0)
        rc = xt_client_flush(c);
    printf("sent NEW_ORDER clordid %llu: buy %lld lots of %s at %lld ticks\n", (unsigned long long)o.clordid,
           (long long)o.qty, app->symbol, (long long)o.price);
    if (rc || (rc = wait_answers(c, app, 1)) != 0)
        return rc;
    xt_msg_cancel_t x = {.orig_clordid = o.clordid};
    rc = xt_client_cancel(c, &x);
    if (rc == 0)
        rc = xt_client_flush(c);
    printf("sent CANCEL clordid %llu for clordid %llu\n", (unsigned long long)x.clordid, (unsigned long long)o.clordid);
    return rc ? rc : wait_answers(c, app, 2);
}

static int parse_target(int argc, char **argv, char *host, size_t hostlen, unsigned *port)
{
    const char *t = argc > 1 ? argv[1] : "127.0.0.1:9001";
    const char *colon = strrchr(t, ':');
    if (!colon || (size_t)(colon - t) >= hostlen || (*port = (unsigned)atoi(colon + 1)) == 0 || *port > 65535)
        return -1;
    memcpy(host, t, (size_t)(colon - t));
    host[colon - t] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    app_t app = {.symbol = argc > 2 ? argv[2] : "600519.SH"};
    char host[256];
    unsigned port;
    if (parse_target(argc, argv, host, sizeof host, &port) < 0) {
        fprintf(stderr, "usage: example_client [HOST:PORT [SYMBOL]]\n");
        return 2;
    }
    xt_client_config_t cfg = {.host = host,
                              .port = (uint16_t)port,
                              .account = 1001,
                              .key_id = "demo1001",
                              .secret = "demo-secret-1001",
                              .session = 1,
                              .login_flags = XT_LOGIN_STATUS_UPDATES, /* INSTRUMENT again at a halt or resume */
                              .cb = {.on_instrument = on_instrument,
                                     .on_accepted = on_accepted,
                                     .on_rejected = on_rejected,
                                     .on_fill = on_fill,
                                     .on_canceled = on_canceled,
                                     .on_server_error = on_server_error,
                                     .on_login_rejected = on_login_rejected,
                                     .on_close = on_close},
                              .user = &app};
    xt_client_t c;
    int rc = xt_client_init(&c, &cfg);
    if (rc == 0)
        rc = xt_client_connect(&c);
    if (rc == 0)
        rc = xt_client_wait_login(&c, 5000); /* HELLO, signed LOGIN, LOGIN_ACCEPTED, INSTRUMENTs */
    if (rc == 0 && !app.found) {
        fprintf(stderr, "example_client: no instrument %s\n", app.symbol);
        rc = XT_ENOENT;
    }
    if (rc == 0)
        rc = trade(&c, &app);
    if (rc == 0 && (rc = xt_client_logout(&c)) == 0)
        while (xt_client_state(&c) != XT_CLIENT_CLOSED && (rc = xt_client_poll(&c, 1000)) >= 0)
            ;
    if (rc < 0 && rc != -ENOTCONN)
        fprintf(stderr, "example_client: %s\n", xt_strerror(rc));
    xt_client_destroy(&c);
    return rc < 0 && rc != -ENOTCONN ? 1 : 0;
}
