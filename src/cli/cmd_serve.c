/* cmd_serve.c - xtrading serve: the order-entry server on the embedded
 * defaults, a config file, and flags (docs/cli.md, docs/config.md). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "server/cpus.h"
#include "server/log.h"
#include "server/proc_stats.h"
#include "server/server.h"
#include "server/start_signals.h"
#include "xt/error.h"

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
               "credentials file and limits.rate, limits.burst, limits.open_orders, and moves the price bands\n"
               "(ref, band) the config moved.\n");
}

/* The system's transparent-huge-page mode: the bracketed word of
 * /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never"). */
static void thp_mode(char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return;
    char line[128], word[32];
    const char *b;
    if (fgets(line, sizeof line, f) && (b = strchr(line, '[')) && sscanf(b, "[%31[a-z]]", word) == 1)
        snprintf(out, n, "%s", word);
    fclose(f);
}

/* With engine.prefault the fixed tables are resident and meant to sit on
 * 2 MiB pages (core/pages.h); the log says how much did. With transparent
 * huge pages "never" it is a warning: every snapshot's fork then copies
 * the page tables of all of it, more than with engine.prefault=off. */
static void log_memory(const xt_server_t *s)
{
    xt_proc_mem_t mem;
    char thp[32];
    xt_proc_memory(&mem);
    thp_mode(thp, sizeof thp);
    int warn = s->cfg.prefault && strcmp(thp, "never") == 0;
    xt_log_ev_t e;
    if (xt_log_begin(&e, warn ? XT_LOG_WARN : XT_LOG_INFO, "memory")) {
        xt_log_u64(&e, "resident_mb", mem.resident >> 20);
        xt_log_u64(&e, "huge_pages_mb", mem.huge >> 20);
        xt_log_str(&e, "transparent_hugepages", thp);
        xt_log_bool(&e, "prefault", s->cfg.prefault != 0);
        if (warn)
            xt_log_str(&e, "warning",
                       "transparent huge pages are off: a snapshot's fork copies the page tables of every "
                       "prefaulted page (set them to madvise, or engine.prefault=off)");
        xt_log_end(&e);
    }
}

/* Is host (a listen address, dotted IPv4: the config stores "localhost"
 * as 127.0.0.1 and "*" as 0.0.0.0) reachable from this host only? */
static int loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0;
}

static void log_start(const xt_server_t *s)
{
    const xt_recovery_t *r = &s->journal.recovery;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_INFO, "recovered")) {
        xt_log_str(&e, "data", s->cfg.data_dir);
        xt_log_u64(&e, "snapshot", r->snapshot_seq);
        xt_log_u64(&e, "records", r->records);
        xt_log_u64(&e, "next_seq", xt_journal_next_seq(&s->journal));
        xt_log_end(&e);
    }
    if (r->snapshots_bad &&
        xt_log_begin(&e, XT_LOG_WARN, "newer snapshots did not load: recovered from an older one")) {
        xt_log_u64(&e, "snapshots_bad", r->snapshots_bad);
        xt_log_u64(&e, "snapshot", r->snapshot_seq); /* 0: from the journal's start */
        xt_log_str(&e, "reason", r->snapshot_why);   /* the newest one's */
        xt_log_u64(&e, "set_aside", r->set_aside);   /* renamed NAME.bad: those that failed their checks */
        if (r->set_aside < r->snapshots_bad)         /* the others are NAME.bad: stats lists them no more */
            xt_log_str(&e, "see", "xtrading journal stats DIR");
        xt_log_end(&e);
    }
    if (r->snapshots_passed &&
        xt_log_begin(&e, XT_LOG_INFO,
                     "recovered from the snapshot before the newest, which has no market-data state (a kill while "
                     "it was written), so that the day's market data can go on")) {
        xt_log_u64(&e, "snapshot", r->snapshot_seq);
        xt_log_u64(&e, "snapshots_passed", r->snapshots_passed);
        xt_log_end(&e);
    }
    if (r->skipped_records &&
        xt_log_begin(&e, XT_LOG_WARN,
                     "damaged journal records before the snapshot read past: the snapshot holds their effect, so "
                     "nothing is lost, but 'xtrading journal verify' and 'md rebuild' need them (restore the file "
                     "from a replica or backup)")) {
        xt_log_str(&e, "path", r->skipped_path);
        xt_log_u64(&e, "offset", (uint64_t)r->skipped_offset);
        xt_log_u64(&e, "records", r->skipped_records);
        xt_log_u64(&e, "bytes", (uint64_t)r->skipped_bytes);
        xt_log_u64(&e, "snapshot", r->snapshot_seq);
        xt_log_end(&e);
    }
    if (r->tail_cut && xt_log_begin(&e, XT_LOG_WARN, "cut a torn tail of the journal")) {
        xt_log_str(&e, "path", r->tail_path);
        xt_log_u64(&e, "offset", (uint64_t)r->tail_offset);
        xt_log_u64(&e, "bytes", (uint64_t)r->tail_bytes);
        xt_log_str(&e, "reason", r->why);
        xt_log_end(&e);
    }
    log_memory(s);
    if (!s->cfg.credentials[0] && (!loopback(s->cfg.listen_host) || !loopback(s->cfg.md_host)) &&
        xt_log_begin(&e, XT_LOG_WARN,
                     "the demo accounts, whose secrets are published, are open on an address other hosts may reach; "
                     "set server.credentials (docs/config.md#credentials)")) {
        xt_log_str(&e, "order_entry", s->cfg.listen_host);
        xt_log_str(&e, "md_http", s->cfg.md_host);
        xt_log_end(&e);
    }
    char a[96];
    if (xt_log_begin(&e, XT_LOG_INFO, "ready")) {
        snprintf(a, sizeof a, "%s:%u", s->cfg.listen_host, (unsigned)s->port);
        xt_log_str(&e, "order_entry", a);
        snprintf(a, sizeof a, "%s:%u", s->cfg.md_host, (unsigned)s->md_port);
        xt_log_str(&e, "md_http", a);
        snprintf(a, sizeof a, "%s:%u", s->cfg.md_tcp_host, (unsigned)s->md_tcp_port);
        xt_log_str(&e, "md_tcp", s->cfg.md_tcp_on ? a : "off");
        xt_log_u64(&e, "instruments", xt_engine_instrument_count(&s->engine));
        xt_log_bool(&e, "demo_accounts", !s->cfg.credentials[0]);
        xt_log_end(&e);
    }
}

/* The banner on stdout, for a person at a terminal (and the tests): the
 * demo accounts, the instruments, the ports. */
static void print_start(const xt_server_t *s)
{
    log_start(s);
    if (!s->cfg.credentials[0]) {
        printf("demo accounts (account key_id secret) - for trying it out only:\n");
        for (const char *const *l = xt_creds_demo_lines(); *l; l++)
            printf("  %s\n", *l);
    }
    printf("instruments:");
    char example[XT_SYMBOL_MAX + 1] = "BTC-USDT"; /* the demo's if the config has it, else its first */
    for (uint32_t i = 0; i < xt_engine_instrument_count(&s->engine); i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        printf(" %u=%s", i, in.symbol);
        if (i == 0 || strcmp(in.symbol, "BTC-USDT") == 0)
            snprintf(example, sizeof example, "%s", in.symbol);
    }
    printf("\nxtrading: market data on ws://%s:%u/ (WebSocket JSON, docs/websocket.md; try: "
           "{\"op\":\"subscribe\",\"id\":1,\"args\":[\"depth5.%s\"]})\n",
           s->cfg.md_host, (unsigned)s->md_port, example);
    if (s->cfg.md_tcp_on)
        printf("xtrading: binary market data on tcp://%s:%u/ (docs/md-binary.md)\n", s->cfg.md_tcp_host,
               (unsigned)s->md_tcp_port);
    /* The example client is named where it was built (make run's tree); an
     * installed server has none: the SDK's docs then. */
    const char *client = "build/release/example_client";
    int built = access(client, X_OK) == 0;
    printf("xtrading: ready: order entry on %s:%u (binary protocol, docs/protocol.md; %s%s)\n", s->cfg.listen_host,
           (unsigned)s->port, built ? "try: " : "a client: docs/client.md", built ? client : "");
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
    return xt_cli_settings_read(out, NULL, a->argc, a->argv, why, whylen) == 0 ? 0 : -1;
}

/* An error that stops the server: to the log, and to stderr as well when
 * the log goes to a file (so that whoever started it sees why). */
static void log_failure(const xt_server_config_t *cfg, const char *msg, const char *why)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_ERROR, msg)) {
        if (why && why[0])
            xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
    if (cfg->log_file[0])
        fprintf(stderr, "xtrading serve: %s%s%s\n", msg, why && why[0] ? ": " : "", why ? why : "");
}

/* The log's writer thread (log.h), off the pinned CPUs as the other helpers. */
static void log_thread_start(void *cpus)
{
    xt_cpus_helper(cpus, "log");
}

int xt_cmd_serve(int argc, char **argv)
{
    xt_start_signals_block(); /* a SIGHUP from the moment of exec waits for the gateway, not the default action */
    static xt_server_config_t cfg;
    if (xt_cli_settings(&cfg, NULL, argc, argv, "xtrading serve", usage) != 0)
        return 2;
    int rc = xt_log_open((int)cfg.log_level, (int)cfg.log_format, cfg.log_file);
    if (rc) {
        fprintf(stderr, "xtrading serve: log.file %s: %s\n", cfg.log_file, xt_strerror(rc));
        return 2; /* a bad setting, as `config check` says (docs/cli.md): a restart does not mend it */
    }
    static xt_start_signals_t start_signals;
    xt_start_signals_watch(&start_signals);
    static xt_server_t srv;
    char why[XT_CONFIG_WHY_MAX] = "";
    int opened = xt_server_open(&srv, &cfg, why, sizeof why);
    xt_start_signals_end(&start_signals); /* from here the gateway takes SIGTERM: a clean stop */
    if (opened != 0) {
        log_failure(&cfg, "cannot start", why);
        xt_server_close(&srv);
        return 1;
    }
    static xt_cpus_t log_cpus; /* a copy: the writer outlives the server's (xt_server_close frees it) */
    log_cpus = *srv.cpus;
    if (xt_log_start_writer(log_thread_start, &log_cpus) != 0) /* else each thread writes its own lines */
        xt_log(XT_LOG_WARN, "the log's writer thread did not start: a log that hangs holds the thread logging");
    static args_t args;
    args = (args_t){argc, argv};
    srv.reload = reload;
    srv.reload_ctx = &args;
    print_start(&srv);
    rc = xt_server_run(&srv);
    const char *failed = xt_journal_failed(&srv.journal);
    uint64_t last = xt_journal_next_seq(&srv.journal) - 1;
    if (xt_server_close(&srv) != 0 || rc != 0 || failed) {
        log_failure(&cfg, "stopped with an error", failed);
        xt_log_close(); /* (its lines written) */
        return 1;
    }
    /* Commands after the newest snapshot: its final one failed ("snapshot
     * failed" said why). Nothing is lost - the journal has them, synced -
     * but the next start replays them: said, not hidden in snapshot=N. */
    int unsaved = last > srv.journal.last_snap_seq;
    xt_log_ev_t e;
    if (xt_log_begin(&e, unsaved ? XT_LOG_WARN : XT_LOG_INFO,
                     unsaved ? "stopped cleanly, but the final snapshot failed: the next start replays the journal "
                               "after the snapshot named"
                             : "stopped cleanly")) {
        xt_log_u64(&e, "last_seq", last);
        xt_log_u64(&e, "snapshot", srv.journal.last_snap_seq);
        xt_log_end(&e);
    }
    xt_log_close();
    return 0;
}
