/* cmd_serve.c - xtrading serve: the order-entry server on the embedded
 * defaults, a config file, and flags (docs/cli.md, docs/config.md). */
#include <stdio.h>

#include "cli.h"
#include "server/server.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading serve [--config FILE] [--data DIR] [--listen HOST:PORT] [--md-listen HOST:PORT]\n"
               "                      [--md-tcp-listen HOST:PORT|off] [--credentials FILE]\n"
               "                      [--fsync batch|always|none|interval=MS] [--set SECTION.KEY=VALUE ...]\n"
               "\n"
               "Runs the order-entry server (docs/protocol.md), the market-data WebSocket\n"
               "(docs/websocket.md) and binary market data over TCP (docs/md-binary.md). Without\n"
               "a config it runs on the embedded defaults: demo instruments, demo accounts, data\n"
               "in ./data, 127.0.0.1:9001, 127.0.0.1:8080 and 127.0.0.1:9002.\n"
               "SIGTERM/SIGINT stop it cleanly (final snapshot); SIGUSR1 takes a snapshot; SIGHUP reloads the\n"
               "credentials file and limits.rate, limits.burst, limits.open_orders.\n");
}

static void print_start(const xt_server_t *s)
{
    const xt_recovery_t *r = &s->journal.recovery;
    fprintf(stderr, "xtrading: data %s: recovered from snapshot %llu + %llu journal records; next sequence %llu\n",
            s->cfg.data_dir, (unsigned long long)r->snapshot_seq, (unsigned long long)r->records,
            (unsigned long long)xt_journal_next_seq(&s->journal));
    if (!s->cfg.credentials[0]) {
        printf("demo accounts (account key_id secret) - for trying it out only:\n");
        for (const char *const *l = xt_creds_demo_lines(); *l; l++)
            printf("  %s\n", *l);
    }
    printf("instruments:");
    for (uint32_t i = 0; i < xt_engine_instrument_count(&s->engine); i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        printf(" %u=%s", i, in.symbol);
    }
    printf("\nxtrading: market data on ws://%s:%u/ (WebSocket JSON, docs/websocket.md; try: "
           "{\"op\":\"subscribe\",\"id\":1,\"args\":[\"depth5.BTC-USDT\"]})\n",
           s->cfg.md_host, (unsigned)s->md_port);
    if (s->cfg.md_tcp_on)
        printf("xtrading: binary market data on tcp://%s:%u/ (docs/md-binary.md)\n", s->cfg.md_tcp_host,
               (unsigned)s->md_tcp_port);
    printf("xtrading: ready: order entry on %s:%u (binary protocol, docs/protocol.md; try: "
           "build/release/example_client)\n",
           s->cfg.listen_host, (unsigned)s->port);
    fflush(stdout);
}

/* SIGHUP: the config file and the flags of the start, read again. */
typedef struct args {
    int argc;
    char **argv;
} args_t;

static int reload(void *ctx, xt_server_config_t *out, char *why, size_t whylen)
{
    const args_t *a = ctx;
    if (xt_cli_settings(out, NULL, a->argc, a->argv, "xtrading serve (SIGHUP)", usage) == 0)
        return 0;
    snprintf(why, whylen, "the config could not be read (the error is above)");
    return -1;
}

int xt_cmd_serve(int argc, char **argv)
{
    static xt_server_config_t cfg;
    if (xt_cli_settings(&cfg, NULL, argc, argv, "xtrading serve", usage) != 0)
        return 2;
    static xt_server_t srv;
    char why[2048] = "";
    if (xt_server_open(&srv, &cfg, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading serve: %s\n", why);
        xt_server_close(&srv);
        return 1;
    }
    static args_t args;
    args = (args_t){argc, argv};
    srv.reload = reload;
    srv.reload_ctx = &args;
    print_start(&srv);
    int rc = xt_server_run(&srv);
    const char *failed = xt_journal_failed(&srv.journal);
    if (xt_server_close(&srv) != 0 || rc != 0 || failed) {
        fprintf(stderr, "xtrading serve: stopped with an error%s%s\n", failed ? ": " : "", failed ? failed : "");
        return 1;
    }
    fprintf(stderr, "xtrading: stopped cleanly\n");
    return 0;
}
