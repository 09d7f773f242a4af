/* test_config.c - the server's config (defaults, file, --set, print) and
 * credentials (file, lookup, demo keys, SHA-256 signing keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "server/credentials.h"
#include "xt/decimal.h"
#include "xt/error.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static const char *write_file(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xt_test_config.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A file of the source tree, found from this file's path. */
static const char *src_path(const char *rel)
{
    static char buf[2][1024];
    static int k;
    const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_config.c");
    k ^= 1;
    if (tail == NULL)
        snprintf(buf[k], sizeof buf[k], "%s", rel);
    else
        snprintf(buf[k], sizeof buf[k], "%.*s%s", (int)(tail - me), me, rel);
    return buf[k];
}

static void dec_equal(xt_decimal_t a, xt_decimal_t b)
{
    assert_int_equal(a.m, b.m);
    assert_int_equal(a.scale, b.scale);
}

static void def_equal(const xt_instrument_def_t *a, const xt_instrument_def_t *b)
{
    assert_string_equal(a->symbol, b->symbol);
    assert_int_equal(a->flags, b->flags);
    dec_equal(a->tick, b->tick);
    dec_equal(a->lot, b->lot);
    dec_equal(a->min_qty, b->min_qty);
    dec_equal(a->max_qty, b->max_qty);
    dec_equal(a->ref_price, b->ref_price);
    dec_equal(a->band_pct, b->band_pct);
}

/* Every setting, field by field. */
static void config_equal(const xt_server_config_t *a, const xt_server_config_t *b)
{
    assert_string_equal(a->listen_host, b->listen_host);
    assert_int_equal(a->listen_port, b->listen_port);
    assert_string_equal(a->credentials, b->credentials);
    assert_int_equal(a->max_connections, b->max_connections);
    assert_int_equal(a->max_connections_per_ip, b->max_connections_per_ip);
    assert_int_equal(a->max_sessions, b->max_sessions);
    assert_int_equal(a->max_frame, b->max_frame);
    assert_int_equal(a->login_timeout_ms, b->login_timeout_ms);
    assert_int_equal(a->heartbeat_ms, b->heartbeat_ms);
    assert_int_equal(a->login_skew_ms, b->login_skew_ms);
    assert_int_equal(a->clock_hold_max_s, b->clock_hold_max_s);
    assert_int_equal(a->output_limit, b->output_limit);
    assert_int_equal(a->resume_messages, b->resume_messages);
    assert_int_equal(a->inbound_ring, b->inbound_ring);
    assert_string_equal(a->data_dir, b->data_dir);
    assert_memory_equal(&a->journal, &b->journal, sizeof a->journal);
    assert_int_equal(a->rate, b->rate);
    assert_int_equal(a->burst, b->burst);
    assert_int_equal(a->open_orders, b->open_orders);
    assert_memory_equal(&a->engine, &b->engine, sizeof a->engine);
    assert_int_equal(a->engine_delay_us, b->engine_delay_us);
    assert_int_equal(a->clock_offset_ms, b->clock_offset_ms);
    assert_int_equal(a->md_history, b->md_history);
    assert_int_equal(a->md_history_flush_ms, b->md_history_flush_ms);
    assert_string_equal(a->md_history_dir, b->md_history_dir);
    assert_int_equal(a->rest_recv_window_ms, b->rest_recv_window_ms);
    assert_int_equal(a->rest_idle_ms, b->rest_idle_ms);
    assert_int_equal(a->rules, b->rules);
    assert_int_equal(a->rest_replay_cache, b->rest_replay_cache);
    assert_int_equal(a->rest_fills, b->rest_fills);
    assert_int_equal(a->rest_fill_accounts, b->rest_fill_accounts);
    assert_string_equal(a->admin_socket, b->admin_socket);
    assert_int_equal(a->admin_off, b->admin_off);
    assert_int_equal(a->busy_poll_us, b->busy_poll_us);
    assert_string_equal(a->gateway_cpus, b->gateway_cpus);
    assert_string_equal(a->engine_cpus, b->engine_cpus);
    assert_string_equal(a->md_cpus, b->md_cpus);
    assert_int_equal(a->n_instruments, b->n_instruments);
    for (uint32_t i = 0; i < a->n_instruments; i++) {
        def_equal(&a->instruments[i], &b->instruments[i]);
        assert_int_equal(a->tz_offset[i], b->tz_offset[i]);
        assert_int_equal(a->prev_close_ref[i], b->prev_close_ref[i]);
    }
}

static xt_decimal_t D(const char *s)
{
    xt_decimal_t d;
    assert_int_equal(xt_decimal_parse(s, strlen(s), &d), 0);
    return d;
}

static void discard(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

/* ---- config ----------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    xt_server_config_t c;
    xt_journal_config_t j;
    xt_engine_config_t e;
    xt_config_defaults(&c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 9001);
    assert_string_equal(c.credentials, "");
    assert_int_equal(c.max_connections, 20000);
    assert_int_equal(c.max_connections_per_ip, 20000);
    assert_int_equal(c.max_sessions, 65536);
    assert_int_equal(c.max_frame, 256);
    assert_int_equal(c.login_timeout_ms, 5000);
    assert_int_equal(c.heartbeat_ms, 5000);
    assert_int_equal(c.login_skew_ms, 30000);
    assert_int_equal(c.output_limit, 4194304);
    assert_int_equal(c.resume_messages, 1048576);
    assert_int_equal(c.inbound_ring, 65536);
    assert_string_equal(c.data_dir, "data");
    xt_journal_config_default(&j);
    j.snapshot_secs = 300;
    assert_memory_equal(&c.journal, &j, sizeof j);
    assert_int_equal(c.rate, 100000);
    assert_int_equal(c.burst, 10000);
    assert_int_equal(c.open_orders, 100000);
    xt_engine_config_default(&e);
    assert_memory_equal(&c.engine, &e, sizeof e);
    assert_int_equal(c.engine_delay_us, 0);
    assert_int_equal(c.rest_recv_window_ms, 5000);
    assert_int_equal(c.rest_idle_ms, 60000);
    assert_int_equal(c.rest_replay_cache, 65536);
    assert_int_equal(c.rest_fills, 1000);
    assert_int_equal(c.rest_fill_accounts, 4096);
    assert_int_equal(c.n_instruments, 4);
    assert_string_equal(c.instruments[0].symbol, "600519.SH");
    assert_string_equal(c.instruments[1].symbol, "000001.SZ");
    assert_string_equal(c.instruments[2].symbol, "BTC-USDT");
    assert_string_equal(c.instruments[3].symbol, "ETH-USDT");
    dec_equal(c.instruments[0].ref_price, D("1700.00"));
    dec_equal(c.instruments[0].band_pct, D("10"));
    dec_equal(c.instruments[1].ref_price, D("11.50"));
    dec_equal(c.instruments[2].lot, D("0.0001"));
    dec_equal(c.instruments[3].lot, D("0.001"));
    assert_int_equal(c.instruments[0].flags, XT_DEF_BAND);
    assert_int_equal(c.instruments[2].flags, 0);
}

/* The default instruments are ones the engine accepts. */
static void test_default_instruments_valid(void **state)
{
    (void)state;
    xt_server_config_t c;
    xt_engine_t e;
    xt_engine_config_t ec = {.max_orders = 16, .max_levels = 16, .max_instruments = 8};
    xt_config_defaults(&c);
    assert_int_equal(xt_engine_init(&e, &ec, discard, NULL), 0);
    for (uint32_t i = 0; i < c.n_instruments; i++)
        assert_int_equal(xt_engine_restore_instrument(&e, &c.instruments[i]), 0);
    xt_engine_destroy(&e);
}

static const char every_key[] = "# every key\n"
                                "; another comment\n"
                                "\n"
                                "[server]\n"
                                "listen = *:7001\n"
                                "credentials = creds.txt\n"
                                "max_connections = 100\n"
                                "max_connections_per_ip = 10\n"
                                "max_sessions = 1000\n"
                                "max_frame = 104\n"
                                "login_timeout_ms = 1000\n"
                                "heartbeat_ms = 100\n"
                                "login_skew_ms = 5000\n"
                                "clock_hold_max_s = 0\n"
                                "output_limit = 65536\n"
                                "resume_messages = 1000\n"
                                "inbound_ring = 1024\n"
                                "busy_poll_us = 250\n"
                                "engine_cpus = 0,2-3\n"
                                "gateway_cpus = 1\n"
                                "md_cpus = 4-5\n"
                                "  [ journal ]  \n"
                                "dir = /var/lib/xt\n"
                                "fsync = interval=50\n"
                                "batch_max = 64\n"
                                "batch_max_us = 200\n"
                                "segment_bytes = 1048576\n"
                                "snapshot_every = 100000\n"
                                "snapshot_secs = 0\n"
                                "keep_snapshots = 3\n"
                                "[limits]\n"
                                "rate = 500\n"
                                "burst = 50\n"
                                "open_orders = 7\n"
                                "[engine]\n"
                                "max_orders = 4096\n"
                                "max_levels = 2048\n"
                                "max_instruments = 4\n"
                                "rules = 1\n"
                                "[rest]\n"
                                "recv_window_ms = 250\n"
                                "idle_ms = 2000\n"
                                "replay_cache = 8\n"
                                "fills = 3\n"
                                "fill_accounts = 2\n"
                                "[debug]\n"
                                "engine_delay_us = 10\n"
                                "[instrument AAPL]\n"
                                "tick = 0.01\n"
                                "lot = 1\n"
                                "min = 1\n"
                                "max = 10000\n"
                                "ref = 190.50\n"
                                "band = 7.5\n"
                                "prev_close = ref\n"
                                "[instrument X.Y_Z-1]\n"
                                "prev_close = close\n"
                                "\ttick=0.5\t\r\n"
                                "lot=0.001\n";

static void test_every_key(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    const char *p = write_file("every.conf", every_key);
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 7001);
    assert_string_equal(c.credentials, tmp_path("creds.txt")); /* relative to the file */
    assert_int_equal(c.max_connections, 100);
    assert_int_equal(c.max_connections_per_ip, 10);
    assert_int_equal(c.max_sessions, 1000);
    assert_int_equal(c.max_frame, 104);
    assert_int_equal(c.login_timeout_ms, 1000);
    assert_int_equal(c.heartbeat_ms, 100);
    assert_int_equal(c.login_skew_ms, 5000);
    assert_int_equal(c.clock_hold_max_s, 0);
    assert_int_equal(c.output_limit, 65536);
    assert_int_equal(c.resume_messages, 1000);
    assert_int_equal(c.inbound_ring, 1024);
    assert_int_equal(c.busy_poll_us, 250);
    assert_string_equal(c.engine_cpus, "0,2-3");
    assert_string_equal(c.gateway_cpus, "1");
    assert_string_equal(c.md_cpus, "4-5");
    assert_string_equal(c.data_dir, "/var/lib/xt");
    assert_int_equal(c.journal.fsync, XT_FSYNC_INTERVAL);
    assert_int_equal(c.journal.interval_ms, 50);
    assert_int_equal(c.journal.batch_max, 64);
    assert_int_equal(c.journal.batch_max_us, 200);
    assert_int_equal(c.journal.segment_bytes, 1048576);
    assert_int_equal(c.journal.snapshot_every, 100000);
    assert_int_equal(c.journal.snapshot_secs, 0);
    assert_int_equal(c.journal.keep_snapshots, 3);
    assert_int_equal(c.rate, 500);
    assert_int_equal(c.burst, 50);
    assert_int_equal(c.open_orders, 7);
    assert_int_equal(c.engine.max_orders, 4096);
    assert_int_equal(c.engine.max_levels, 2048);
    assert_int_equal(c.engine.max_instruments, 4);
    assert_int_equal(c.rules, XT_RULES_1);
    assert_int_equal(c.engine_delay_us, 10);
    assert_int_equal(c.rest_recv_window_ms, 250);
    assert_int_equal(c.rest_idle_ms, 2000);
    assert_int_equal(c.rest_replay_cache, 8);
    assert_int_equal(c.rest_fills, 3);
    assert_int_equal(c.rest_fill_accounts, 2);
    /* the file's instruments replace the demo ones */
    assert_int_equal(c.n_instruments, 2);
    const xt_instrument_def_t *a = &c.instruments[0], *b = &c.instruments[1];
    assert_string_equal(a->symbol, "AAPL");
    assert_int_equal(a->flags, XT_DEF_MIN | XT_DEF_MAX | XT_DEF_BAND);
    dec_equal(a->tick, D("0.01"));
    dec_equal(a->lot, D("1"));
    dec_equal(a->min_qty, D("1"));
    dec_equal(a->max_qty, D("10000"));
    dec_equal(a->ref_price, D("190.50"));
    dec_equal(a->band_pct, D("7.5"));
    assert_string_equal(b->symbol, "X.Y_Z-1");
    assert_int_equal(b->flags, 0);
    dec_equal(b->tick, D("0.5"));
    dec_equal(b->lot, D("0.001"));
    assert_int_equal(c.prev_close_ref[0], 1);
    assert_int_equal(c.prev_close_ref[1], 0);
    assert_int_equal(xt_config_prev_close_ref(&c, "AAPL"), 1);
    assert_int_equal(xt_config_prev_close_ref(&c, "X.Y_Z-1"), 0);
    assert_int_equal(xt_config_prev_close_ref(&c, "NONE"), 0);
}

/* A file with no instrument sections keeps the instruments it had. */
static void test_no_instruments_keeps(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    const char *p = write_file("noinst.conf", "[limits]\nrate = 9\n");
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), 0);
    assert_int_equal(c.rate, 9);
    assert_int_equal(c.n_instruments, 4);
}

/* c as xt_config_print prints it; the caller frees it. (Not inlined: gcc
 * takes the stream's pointers to buf and len, kept until fclose, for
 * dangling ones.) */
static __attribute__((noinline)) char *printed(const xt_server_config_t *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    xt_config_print(c, f);
    fclose(f);
    return buf;
}

static void test_relative_paths(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "", want[600];
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    xt_config_defaults(&c);
    const char *p = write_file("paths.conf", "[journal]\ndir = d/x\n[server]\ncredentials = /abs/creds\n");
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), 0);
    assert_string_equal(c.data_dir, tmp_path("d/x"));
    assert_string_equal(c.credentials, "/abs/creds");
    /* a file named without a directory: relative to the working directory */
    assert_int_equal(chdir(tmpdir), 0);
    xt_config_defaults(&c);
    assert_int_equal(xt_config_load(&c, "paths.conf", why, sizeof why), 0);
    assert_string_equal(c.data_dir, "d/x");
    /* printed made absolute */
    char *buf = printed(&c);
    char here[512];
    assert_non_null(getcwd(here, sizeof here));
    snprintf(want, sizeof want, "\ndir = %s/d/x\n", here);
    assert_non_null(strstr(buf, want));
    assert_non_null(strstr(buf, "\ncredentials = /abs/creds\n"));
    free(buf);
    assert_int_equal(chdir(cwd), 0);
    /* --set: relative to the working directory, stored as given */
    assert_int_equal(xt_config_set(&c, "journal.dir", "rel/dir", why, sizeof why), 0);
    assert_string_equal(c.data_dir, "rel/dir");
}

/* Loads text, expects failure with a message starting "FILE:LINE: " and
 * containing `part`. */
static void expect_error(const char *text, unsigned line, const char *part)
{
    xt_server_config_t c;
    char why[512] = "", prefix[600];
    xt_config_defaults(&c);
    const char *p = write_file("bad.conf", text);
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), -1);
    snprintf(prefix, sizeof prefix, "%s:%u: ", p, line);
    if (strncmp(why, prefix, strlen(prefix)) != 0 || strstr(why, part) == NULL)
        fail_msg("got \"%s\", want \"%s...%s...\"", why, prefix, part);
}

static void expect_loads(const char *text)
{
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    if (xt_config_load(&c, write_file("good.conf", text), why, sizeof why) != 0)
        fail_msg("refused: %s", why);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("[server]\nnope = 1\n", 2, "unknown key 'nope' in [server]");
    expect_error("# c\n[servers]\n", 2, "unknown section 'servers'");
    expect_error("[rests]\n", 1,
                 "unknown section 'rests' (want server, journal, limits, engine, md, log, rest, debug, or");
    expect_error("rate = 1\n", 1, "before any [section]");
    expect_error("[limits]\nrate\n", 2, "expected 'key = value'");
    /* a Windows editor's mark: named (it was "expected 'key = value'") */
    expect_error("\xef\xbb\xbf[limits]\nrate = 1\n", 1, "starts with a UTF-8 byte-order mark (EF BB BF)");
    expect_error("\xef\xbb\xbf# c\n", 1, "byte-order mark");
    expect_error("[limits\n", 1, "bad section header");
    expect_error("[limits]\nrate = 1\nburst = 2\nrate = 3\n", 4, "limits.rate already set on line 2");
    expect_error("[limits]\nrate = 0\n", 2, "limits.rate must be a whole number in 1..1000000000, got '0'");
    expect_error("[limits]\nrate = 12x\n", 2, "limits.rate must be");
    expect_error("[limits]\nrate = -1\n", 2, "limits.rate must be");
    expect_error("[limits]\nrate = 99999999999999999999999\n", 2, "limits.rate must be");
    expect_error("[limits]\nrate =\n", 2, "limits.rate must be");
    expect_error("[server]\nmax_frame = 103\n", 2, "server.max_frame must be a whole number in 104..65535");
    expect_error("[server]\nmax_frame = 65536\n", 2, "server.max_frame must be");
    expect_error("[server]\ninbound_ring = 1000\n", 2, "power of two");
    expect_error("[server]\nlisten = 127.0.0.1:65536\n", 2, "server.listen must be host:port");
    expect_error("[server]\nlisten = 127.0.0.1\n", 2, "server.listen must be host:port");
    expect_error("[server]\nlisten = example.com:80\n", 2, "server.listen must be host:port");
    expect_error("[server]\nlisten = :80\n", 2, "server.listen must be host:port");
    expect_error("[server]\nlisten = 1.2.3:80\n", 2, "server.listen must be host:port");
    expect_error("[journal]\nfsync = sometimes\n", 2, "journal.fsync must be batch, always, none or interval=<ms>");
    expect_error("[journal]\nfsync = interval=0\n", 2, "journal.fsync must be");
    expect_error("[journal]\ndir =\n", 2, "journal.dir needs a path");
    expect_error("[journal]\nkeep_snapshots = 0\n", 2, "journal.keep_snapshots must be");
    expect_error("[engine]\nmax_orders = 0\n", 2, "engine.max_orders must be");
    expect_error("[engine]\nrules = 3\n", 2, "engine.rules must be a whole number in 1..2");
    expect_error("[engine]\nrules = 0\n", 2, "engine.rules must be a whole number in 1..2");
    expect_error("[engine]\nmax_instruments = 3\n", 2,
                 "engine.max_instruments (3) is below the number of instruments (4)");
    expect_error("[engine]\nmax_instruments = 1\n[instrument A]\ntick=1\nlot=1\n[instrument B]\ntick=1\nlot=1\n", 2,
                 "engine.max_instruments (1)");
}

static void test_instrument_errors(void **state)
{
    (void)state;
    expect_error("[instrument]\n", 1, "needs a symbol");
    expect_error("[instrument BAD/SYM]\n", 1, "bad instrument symbol 'BAD/SYM'");
    expect_error("[instrument ABCDEFGHIJKLMNOPQ]\n", 1, "bad instrument symbol");
    expect_error("[instrument A]\ntick = 1\nlot = 1\n\n[instrument A]\ntick = 1\nlot = 1\n", 5,
                 "instrument A already defined on line 1");
    expect_error("[instrument A]\ntick = 1\nsize = 3\n", 3, "unknown instrument key 'size'");
    expect_error("[instrument A]\ntick = 1\ntick = 2\n", 3, "tick given twice");
    expect_error("[instrument A]\ntick = 0.0x\n", 2, "bad tick '0.0x'");
    expect_error("[instrument A]\ntick = .5\n", 2, "bad tick");
    expect_error("[instrument A]\ntick = 1\nlot = 99999999999999999999\n", 3, "lot out of range");
    expect_error("[instrument A]\ntick = 0\n", 2, "tick must be > 0");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nband = -1\n", 4, "band must be >= 0");
    expect_error("[instrument A]\ntick = 1\n[limits]\n", 1, "[instrument A] needs tick and lot");
    expect_error("# x\n[instrument A]\nlot = 1\n", 2, "[instrument A] needs tick and lot");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nband = 10\n", 1, "band needs ref");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nref = 10\n", 1, "ref needs band");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nprev_close = ref\n", 1, "prev_close = ref needs ref and band");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nprev_close = last\n", 4,
                 "bad prev_close 'last' (want close or ref)");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nmin = 10\nmax = 5\n", 1, "max is below min");
    /* no whole lot between min and max: the engine's own check */
    expect_error("[instrument A]\ntick = 1\nlot = 10\nmin = 11\nmax = 19\n", 1, "invalid definition");
    /* what the engine takes but no price or market data could use */
    expect_error("[instrument A]\ntick = 0.01\nlot = 1\nref = 10.005\nband = 10\n", 1,
                 "ref must be a whole number of ticks (tick 0.01)");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nref = 312749974122950\nband = 10\n", 1,
                 "ref is above the largest price, 2^48 - 1 ticks of 1");
    expect_error("[instrument A]\ntick = 1\nlot = 1\nref = 0.4\nband = 10\n", 1, "ref must be a whole number");
    expect_error("[instrument A]\ntick = 0.000001\nlot = 1\nref = 9000000000000000000\nband = 100\n", 1,
                 "ref is above the largest price"); /* past int64 ticks */
    expect_loads("[instrument A]\ntick = 1\nlot = 1\nref = 281474976710655\nband = 0\n");
    expect_loads("[instrument A]\ntick = 0.5\nlot = 1\nref = 1.50\nband = 10\n");
    /* trailing zeros are no digits: once "ref is above the largest price" for a ref of 200 ticks */
    expect_loads("[instrument A]\ntick = 0.01\nlot = 1\nref = 2.000000000000000000\nband = 1.000000000000000000\n");
    /* 2^48 - 1 ticks of 0.009999: a mantissa of 2.8e18, times (100 + 1e-18) % past 128 bits */
    expect_error("[instrument A]\ntick = 0.009999\nlot = 1\nref = 2814468292129.839345\n"
                 "band = 0.000000000000000001\n",
                 1, "ref and band have too many significant digits to compute the band exactly");
}

static void test_missing_file(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    assert_int_equal(xt_config_load(&c, tmp_path("absent.conf"), why, sizeof why), -1);
    assert_non_null(strstr(why, "absent.conf: No such file"));
}

static void test_set(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    assert_int_equal(xt_config_set(&c, "server.listen", "localhost:0", why, sizeof why), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 0);
    assert_int_equal(xt_config_set(&c, "server.listen", "10.1.2.3:65535", why, sizeof why), 0);
    assert_string_equal(c.listen_host, "10.1.2.3");
    assert_int_equal(c.listen_port, 65535);
    assert_int_equal(xt_config_set(&c, "limits.rate", "77", why, sizeof why), 0);
    assert_int_equal(c.rate, 77);
    assert_int_equal(xt_config_set(&c, "journal.fsync", "always", why, sizeof why), 0);
    assert_int_equal(c.journal.fsync, XT_FSYNC_ALWAYS);
    assert_int_equal(xt_config_set(&c, "journal.snapshot_every", "18446744073709551615", why, sizeof why), 0);
    assert_true(c.journal.snapshot_every == UINT64_MAX);
    assert_int_equal(xt_config_set(&c, "server.credentials", "", why, sizeof why), 0);
    assert_string_equal(c.credentials, "");
    assert_int_equal(xt_config_set(&c, "server.credentials", "my/creds", why, sizeof why), 0);
    assert_string_equal(c.credentials, "my/creds");
    assert_int_equal(xt_config_set(&c, "limits.nope", "1", why, sizeof why), -1);
    assert_non_null(strstr(why, "unknown key 'limits.nope'"));
    assert_int_equal(xt_config_set(&c, "rate", "1", why, sizeof why), -1);
    assert_int_equal(xt_config_set(&c, "instrument.tick", "1", why, sizeof why), -1);
    assert_int_equal(xt_config_set(&c, "server.max_frame", "100000", why, sizeof why), -1);
    assert_string_equal(why, "server.max_frame must be a whole number in 104..65535, got '100000'");
    assert_int_equal(c.max_frame, 256);
    assert_int_equal(xt_config_set(&c, "engine.max_instruments", "2", why, sizeof why), -1);
    assert_non_null(strstr(why, "below the number of instruments (4)"));
}

/* --set after a file overrides it. */
static void test_set_overrides_file(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    const char *p = write_file("over.conf", "[limits]\nrate = 5\nburst = 6\n");
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), 0);
    assert_int_equal(xt_config_set(&c, "limits.rate", "8", why, sizeof why), 0);
    assert_int_equal(c.rate, 8);
    assert_int_equal(c.burst, 6);
}

static void round_trip(const xt_server_config_t *c)
{
    xt_server_config_t d;
    char why[512] = "";
    const char *p = tmp_path("printed.conf");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    xt_config_print(c, f);
    fclose(f);
    /* loaded over something different, so every value must come from the file */
    xt_config_defaults(&d);
    d.n_instruments = 1;
    d.rate = 1;
    d.journal.fsync = XT_FSYNC_NONE;
    strcpy(d.gateway_cpus, "9"); /* an empty list printed must load as empty */
    strcpy(d.engine_cpus, "9");
    strcpy(d.md_cpus, "9");
    if (xt_config_load(&d, p, why, sizeof why) != 0)
        fail_msg("%s", why);
    config_equal(c, &d);
}

static void test_print_round_trip(void **state)
{
    (void)state;
    xt_server_config_t c;
    char why[512] = "";
    xt_config_defaults(&c);
    assert_int_equal(xt_config_set(&c, "journal.dir", "/srv/xt data", why, sizeof why), 0);
    round_trip(&c);
    const char *p = write_file("every.conf", every_key);
    assert_int_equal(xt_config_load(&c, p, why, sizeof why), 0);
    round_trip(&c);
    assert_int_equal(xt_config_set(&c, "journal.fsync", "none", why, sizeof why), 0);
    assert_int_equal(xt_config_set(&c, "server.credentials", "", why, sizeof why), 0);
    round_trip(&c);
}

/* The shipped example config loads and equals the embedded defaults. */
static void test_example_config(void **state)
{
    (void)state;
    xt_server_config_t c, d;
    char why[512] = "";
    xt_config_defaults(&c);
    xt_config_defaults(&d);
    if (xt_config_load(&d, src_path("etc/xtrading.conf"), why, sizeof why) != 0)
        fail_msg("%s", why);
    /* the file's relative paths are relative to etc/ */
    assert_string_equal(d.data_dir, src_path("etc/data"));
    memcpy(d.data_dir, c.data_dir, sizeof d.data_dir);
    config_equal(&c, &d);
}

/* ---- credentials ------------------------------------------------------ */

static void hex32(const char *hex, uint8_t out[32])
{
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void test_sha256(void **state)
{
    (void)state;
    uint8_t got[32], want[32];
    xt_creds_sign_key("abc", 3, got);
    hex32("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
    assert_memory_equal(got, want, 32);
    xt_creds_sign_key("", 0, got);
    hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
    assert_memory_equal(got, want, 32);
}

static void wire_id(const char *s, char out[16])
{
    memset(out, 0, 16);
    memcpy(out, s, strnlen(s, 16));
}

static void test_demo_creds(void **state)
{
    (void)state;
    xt_creds_t c;
    uint8_t want[32];
    char id[16];
    assert_int_equal(xt_creds_demo(&c), 0);
    assert_int_equal(c.n, 4);
    /* printf %s demo-secret-1001 | sha256sum */
    hex32("a4c4e155eeb156726f9109dd9b61371876b9d8af841bbb3b86dc8a08a74687a0", want);
    wire_id("demo1001", id);
    const xt_cred_t *k = xt_creds_find(&c, 1001, id);
    assert_non_null(k);
    assert_memory_equal(k->sign_key, want, 32);
    hex32("f9ab3f9d7fd6f4a45784d1f8c7c6cd50b4e01377b265de77fbf6dbe1bf1c8b6b", want);
    wire_id("demo1004", id);
    k = xt_creds_find(&c, 1004, id);
    assert_non_null(k);
    assert_memory_equal(k->sign_key, want, 32);
    assert_null(xt_creds_find(&c, 1003, id)); /* key id of another account */
    const char *const *lines = xt_creds_demo_lines();
    assert_string_equal(lines[0], "1001 demo1001 demo-secret-1001");
    assert_string_equal(lines[3], "1004 demo1004 demo-secret-1004");
    assert_null(lines[4]);
    /* each line's secret gives its account's signing key */
    for (int i = 0; lines[i]; i++) {
        unsigned acct;
        char kid[17], secret[64];
        uint8_t sk[32];
        assert_int_equal(sscanf(lines[i], "%u %16s %63s", &acct, kid, secret), 3);
        xt_creds_sign_key(secret, strlen(secret), sk);
        wire_id(kid, id);
        k = xt_creds_find(&c, acct, id);
        assert_non_null(k);
        assert_memory_equal(k->sign_key, sk, 32);
    }
    xt_creds_free(&c);
    assert_null(c.v);
    assert_int_equal(c.n, 0);
}

#define K1 "a4c4e155eeb156726f9109dd9b61371876b9d8af841bbb3b86dc8a08a74687a0"
#define K2 "0B8DCCEB945FD4ABFE7B89332D954D54A177E6BBB9A5E6170A6809E5EFB67A38"

static void test_creds_load(void **state)
{
    (void)state;
    xt_creds_t c;
    char why[512] = "", id[16];
    uint8_t want[32];
    const char *p = write_file("creds", "# accounts\n"
                                        "\n"
                                        "7 zeta " K1 "  # trailing comment\n"
                                        "\t5   alpha.key_1-x\t" K2 "\r\n"
                                        "5 abcdefghijklmnop " K1 "\n"
                                        "4294967295 a " K2 "\n");
    assert_int_equal(xt_creds_load(&c, p, why, sizeof why), 0);
    assert_int_equal(c.n, 4);
    /* sorted by (account, key_id) */
    assert_int_equal(c.v[0].account, 5);
    assert_string_equal(c.v[0].key_id, "abcdefghijklmnop");
    assert_string_equal(c.v[1].key_id, "alpha.key_1-x");
    assert_int_equal(c.v[2].account, 7);
    assert_int_equal(c.v[3].account, UINT32_MAX);
    wire_id("alpha.key_1-x", id);
    const xt_cred_t *k = xt_creds_find(&c, 5, id);
    assert_non_null(k);
    hex32(K2, want);
    assert_memory_equal(k->sign_key, want, 32);
    wire_id("abcdefghijklmnop", id); /* 16 characters: no NUL on the wire */
    assert_non_null(xt_creds_find(&c, 5, id));
    wire_id("zeta", id);
    assert_non_null(xt_creds_find(&c, 7, id));
    assert_null(xt_creds_find(&c, 5, id));
    id[5] = 'x'; /* not NUL-padded: no match */
    assert_null(xt_creds_find(&c, 7, id));
    wire_id("zet", id);
    assert_null(xt_creds_find(&c, 7, id));
    xt_creds_free(&c);
}

static void creds_error(const char *text, unsigned line, const char *part)
{
    xt_creds_t c;
    char why[512] = "", prefix[600];
    const char *p = write_file("badcreds", text);
    assert_int_equal(xt_creds_load(&c, p, why, sizeof why), -1);
    assert_null(c.v);
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%u: ", p, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", p);
    if (strncmp(why, prefix, strlen(prefix)) != 0 || strstr(why, part) == NULL)
        fail_msg("got \"%s\", want \"%s...%s...\"", why, prefix, part);
    /* never the key material */
    assert_null(strstr(why, "a4c4e1"));
    assert_null(strstr(why, "0b8dcc"));
    assert_null(strstr(why, "0B8DCC"));
    assert_null(strstr(why, "s3cret"));
}

static void test_creds_errors(void **state)
{
    (void)state;
    creds_error("1 a " K1 "\n# x\n1 b a4c4e1" K1 "\n", 3, "bad signing key (want 64 hex digits");
    creds_error("1 a a4c4e155eeb156726f9109dd9b61371876b9d8af841bbb3b86dc8a08a74687aZ\n", 1, "bad signing key");
    creds_error("1 a a4c4e1\n", 1, "bad signing key");
    creds_error("1 a s3cret\n", 1, "bad signing key");
    creds_error("0 a " K1 "\n", 1, "bad account");
    creds_error("4294967296 a " K1 "\n", 1, "bad account");
    creds_error("x1 a " K1 "\n", 1, "bad account");
    creds_error(K1 " a 1\n", 1, "bad account");
    creds_error("1 abcdefghijklmnopq " K1 "\n", 1, "bad key id");
    creds_error("1 a/b " K1 "\n", 1, "bad key id");
    creds_error("1 a\n", 1, "want <account> <key_id> <signing key");
    creds_error("1 a " K1 " s3cret\n", 1, "want <account> <key_id>");
    creds_error("2 k " K1 "\n1 k " K2 "\n\n2 k " K2 "\n", 4, "account 2 key id k is already defined on line 1");
    creds_error("# nothing\n", 0, "no keys");
    creds_error("", 0, "no keys");
}

static void test_creds_example(void **state)
{
    (void)state;
    xt_creds_t c, d;
    char why[512] = "";
    if (xt_creds_load(&c, src_path("etc/credentials.example"), why, sizeof why) != 0)
        fail_msg("%s", why);
    assert_int_equal(xt_creds_demo(&d), 0);
    assert_int_equal(c.n, d.n);
    assert_memory_equal(c.v, d.v, d.n * sizeof *d.v);
    xt_creds_free(&c);
    xt_creds_free(&d);
}

/* md.history (on/off), md.history_dir (empty: the default), the flush
 * interval and the clock test hook; all printed and loaded back. */
static void test_history_keys(void **state)
{
    (void)state;
    static xt_server_config_t c;
    char why[512];
    xt_config_defaults(&c);
    assert_int_equal(c.md_history, 1);
    assert_string_equal(c.md_history_dir, "");
    assert_int_equal(c.md_history_flush_ms, 1000);
    assert_int_equal(c.clock_offset_ms, 0);
    assert_int_equal(xt_config_set(&c, "journal.dir", "/srv/xt", why, sizeof why), 0); /* prints as it is */
    assert_int_equal(xt_config_set(&c, "md.history", "off", why, sizeof why), 0);
    assert_int_equal(c.md_history, 0);
    assert_int_not_equal(xt_config_set(&c, "md.history", "yes", why, sizeof why), 0);
    assert_non_null(strstr(why, "md.history must be on or off"));
    assert_int_equal(xt_config_set(&c, "md.history_dir", "/var/lib/xt/klines", why, sizeof why), 0);
    assert_string_equal(c.md_history_dir, "/var/lib/xt/klines");
    assert_int_equal(xt_config_set(&c, "md.history_flush_ms", "0", why, sizeof why), 0);
    assert_int_not_equal(xt_config_set(&c, "md.history_flush_ms", "60001", why, sizeof why), 0);
    assert_int_equal(xt_config_set(&c, "debug.clock_offset_ms", "604800000", why, sizeof why), 0);
    assert_int_not_equal(xt_config_set(&c, "debug.clock_offset_ms", "604800001", why, sizeof why), 0);
    round_trip(&c);
    assert_int_equal(xt_config_set(&c, "md.history_dir", "", why, sizeof why), 0);
    assert_int_equal(xt_config_set(&c, "md.history", "on", why, sizeof why), 0);
    round_trip(&c);
}

/* server.admin_socket: empty (admin.sock in journal.dir), a path, or off;
 * printed and loaded back; a restart key for SIGHUP. */
static void test_admin_socket_key(void **state)
{
    (void)state;
    static xt_server_config_t c;
    char why[512];
    xt_config_defaults(&c);
    assert_string_equal(c.admin_socket, "");
    assert_int_equal(c.admin_off, 0);
    assert_int_equal(xt_config_set(&c, "journal.dir", "/srv/xt", why, sizeof why), 0); /* prints as it is */
    round_trip(&c);
    assert_int_equal(xt_config_set(&c, "server.admin_socket", "off", why, sizeof why), 0);
    assert_int_equal(c.admin_off, 1);
    char *buf = printed(&c);
    assert_non_null(strstr(buf, "\nadmin_socket = off\n"));
    free(buf);
    round_trip(&c);
    assert_int_equal(xt_config_set(&c, "server.admin_socket", "/run/xt/admin.sock", why, sizeof why), 0);
    assert_int_equal(c.admin_off, 0);
    assert_string_equal(c.admin_socket, "/run/xt/admin.sock");
    round_trip(&c);
    assert_int_equal(xt_config_set(&c, "server.admin_socket", "", why, sizeof why), 0);
    assert_string_equal(c.admin_socket, "");
    assert_int_equal(c.admin_off, 0);
}

/* md.tcp_listen (host:port or off) and md.tcp_heartbeat_ms, set and
 * printed back. */
static void test_md_tcp_keys(xt_server_config_t *c)
{
    char why[512];
    xt_config_defaults(c);
    assert_int_equal(c->md_tcp_on, 1);
    assert_string_equal(c->md_tcp_host, "127.0.0.1");
    assert_int_equal(c->md_tcp_port, 9002);
    assert_int_equal(c->md_tcp_heartbeat_ms, 5000);
    assert_int_equal(xt_config_set(c, "md.tcp_listen", "off", why, sizeof why), 0);
    assert_int_equal(c->md_tcp_on, 0);
    char *buf = printed(c);
    assert_non_null(strstr(buf, "\ntcp_listen = off\n"));
    free(buf);
    assert_int_not_equal(xt_config_set(c, "md.tcp_listen", "9002", why, sizeof why), 0);
    assert_non_null(strstr(why, "md.tcp_listen must be host:port"));
    assert_non_null(strstr(why, "or off"));
    assert_int_equal(c->md_tcp_on, 0); /* a bad value changes nothing */
    assert_int_equal(xt_config_set(c, "md.tcp_listen", "*:0", why, sizeof why), 0);
    assert_int_equal(c->md_tcp_on, 1);
    assert_string_equal(c->md_tcp_host, "0.0.0.0");
    assert_int_equal(c->md_tcp_port, 0);
    assert_int_equal(xt_config_set(c, "md.tcp_listen", "", why, sizeof why), 0);
    assert_int_equal(c->md_tcp_on, 0);
    assert_int_equal(xt_config_set(c, "md.tcp_listen", "localhost:9100", why, sizeof why), 0);
    assert_int_equal(xt_config_set(c, "md.tcp_heartbeat_ms", "250", why, sizeof why), 0);
    assert_int_equal(c->md_tcp_heartbeat_ms, 250);
    assert_int_not_equal(xt_config_set(c, "md.tcp_heartbeat_ms", "99", why, sizeof why), 0);
    assert_int_not_equal(xt_config_set(c, "md.tcp_heartbeat_ms", "60001", why, sizeof why), 0);
    buf = printed(c);
    assert_non_null(strstr(buf, "\ntcp_listen = 127.0.0.1:9100\n"));
    assert_non_null(strstr(buf, "\ntcp_heartbeat_ms = 250\n"));
    free(buf);
    xt_config_defaults(c);
}

static void test_md_keys_and_tz(void **state)
{
    (void)state;
    static xt_server_config_t c;
    char why[512];
    xt_config_defaults(&c);
    assert_string_equal(c.md_host, "127.0.0.1");
    assert_int_equal(c.md_port, 8080);
    assert_int_equal(c.tz_offset[0], 8 * 3600); /* 600519.SH */
    assert_int_equal(c.tz_offset[2], 0);        /* BTC-USDT */
    assert_int_equal(xt_config_set(&c, "md.listen", "*:0", why, sizeof why), 0);
    assert_string_equal(c.md_host, "0.0.0.0");
    assert_int_equal(c.md_port, 0);
    assert_int_not_equal(xt_config_set(&c, "md.listen", "nohost", why, sizeof why), 0);
    assert_non_null(strstr(why, "md.listen"));
    assert_int_not_equal(xt_config_set(&c, "md.feed_records", "5000", why, sizeof why), 0); /* a power of two */
    assert_int_equal(xt_config_set(&c, "md.feed_records", "8192", why, sizeof why), 0);
    assert_int_equal(c.md_feed_records, 8192);
    /* one instrument's resync, 1 + 2 x md.max_levels records, in half the ring */
    assert_int_not_equal(xt_config_check(&c, why, sizeof why), 0); /* 2 x 20001 > 8192 */
    assert_non_null(strstr(why, "md.feed_records (8192)"));
    assert_non_null(strstr(why, "40002"));
    /* at least 64, so that the top-20 channels of a cut side stay whole until its refill (docs/config.md) */
    assert_int_not_equal(xt_config_set(&c, "md.max_levels", "63", why, sizeof why), 0);
    assert_non_null(strstr(why, "md.max_levels must be a whole number in 64..16777216, got '63'"));
    assert_int_equal(xt_config_set(&c, "md.max_levels", "64", why, sizeof why), 0);
    assert_int_equal(xt_config_set(&c, "md.max_levels", "2047", why, sizeof why), 0);
    assert_int_equal(xt_config_check(&c, why, sizeof why), 0); /* 2 x 4095 = 8190 */
    assert_int_equal(xt_config_set(&c, "md.max_levels", "2048", why, sizeof why), 0);
    assert_int_not_equal(xt_config_check(&c, why, sizeof why), 0);                          /* 2 x 4097 = 8194 */
    assert_int_equal(xt_config_set(&c, "md.feed_records", "67108864", why, sizeof why), 0); /* 2^26 */
    assert_int_equal(xt_config_set(&c, "md.max_levels", "16777215", why, sizeof why), 0);
    assert_int_equal(xt_config_check(&c, why, sizeof why), 0); /* 2 x (2^25 - 1) */
    assert_int_equal(xt_config_set(&c, "md.max_levels", "16777216", why, sizeof why), 0);
    assert_int_not_equal(xt_config_check(&c, why, sizeof why), 0); /* 2 x (2^25 + 1) */
    xt_server_config_t d;
    xt_config_defaults(&d);
    assert_int_equal(xt_config_check(&d, why, sizeof why), 0);
    assert_int_not_equal(xt_config_set(&c, "md.output_limit", "100", why, sizeof why), 0);
    test_md_tcp_keys(&c);
    static const struct {
        const char *s;
        int ok;
        int32_t off;
    } tz[] = {{"UTC", 1, 0},
              {"Asia/Shanghai", 1, 28800},
              {"Asia/Kolkata", 1, 19800},
              {"+05:45", 1, 20700},
              {"-03:30", 1, -12600},
              {"+14:00", 1, 50400},
              {"+15:00", 0, 0},
              {"+08:60", 0, 0},
              {"08:00", 0, 0},
              {"+8:00", 0, 0},
              {"Europe/London", 0, 0},
              {"", 0, 0}};
    for (size_t i = 0; i < sizeof tz / sizeof tz[0]; i++) {
        int32_t off = 12345;
        assert_int_equal(xt_config_parse_tz(tz[i].s, &off) == 0, tz[i].ok);
        if (tz[i].ok)
            assert_int_equal(off, tz[i].off);
    }
}

/* xt_config_diff lists the settings that differ, whichever key or
 * instrument each is (what a SIGHUP reports as needs_restart). */
static void test_diff(void **state)
{
    (void)state;
    static xt_server_config_t a, b;
    char why[512], key[96];
    xt_config_defaults(&a);
    xt_config_defaults(&b);
    assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 0);
    assert_string_equal(key, "");
    static const struct {
        const char *set, *value, *key;
    } one[] = {
        {"md.tcp_listen", "off", "md.tcp_listen"},
        {"journal.fsync", "always", "journal.fsync"},
        {"server.max_frame", "128", "server.max_frame"},
        {"log.level", "warn", "log.level"},
        {"debug.engine_delay_us", "5", "debug.engine_delay_us"},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        xt_config_defaults(&b);
        assert_int_equal(xt_config_set(&b, one[i].set, one[i].value, why, sizeof why), 0);
        assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 1);
        assert_string_equal(key, one[i].key);
    }
    xt_config_defaults(&b); /* an instrument changed, dropped, added */
    b.instruments[1].tick.m *= 10;
    assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 1);
    assert_string_equal(key, "instrument 000001.SZ");
    xt_config_defaults(&b);
    b.n_instruments--;
    assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 1);
    assert_string_equal(key, "instrument ETH-USDT");
    assert_int_equal(xt_config_diff(&b, &a, key, sizeof key), 1);
    assert_string_equal(key, "instrument ETH-USDT");
    /* every difference: a's in print order, then what only b has; a short buffer ends in "..." */
    assert_int_equal(xt_config_set(&b, "limits.rate", "7", why, sizeof why), 0);
    assert_int_equal(xt_config_set(&b, "log.level", "warn", why, sizeof why), 0);
    assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 3);
    assert_string_equal(key, "limits.rate,log.level,instrument ETH-USDT");
    assert_int_equal(xt_config_diff(&b, &a, key, sizeof key), 3);
    assert_string_equal(key, "limits.rate,log.level,instrument ETH-USDT");
    b.instruments[0].lot.m *= 10;
    assert_int_equal(xt_config_diff(&a, &b, key, sizeof key), 4);
    assert_string_equal(key, "limits.rate,log.level,instrument 600519.SH,instrument ETH-USDT");
    char small[25], tiny[4];
    assert_int_equal(xt_config_diff(&a, &b, small, sizeof small), 4);
    assert_string_equal(small, "limits.rate,log.level...");
    assert_int_equal(xt_config_diff(&a, &b, tiny, sizeof tiny), 4);
    assert_string_equal(tiny, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_instruments_valid),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_no_instruments_keeps),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_instrument_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_set_overrides_file),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_demo_creds),
        cmocka_unit_test(test_creds_load),
        cmocka_unit_test(test_creds_errors),
        cmocka_unit_test(test_creds_example),
        cmocka_unit_test(test_md_keys_and_tz),
        cmocka_unit_test(test_history_keys),
        cmocka_unit_test(test_admin_socket_key),
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
