/* server.c - xtrading serve: opens the journaled engine, the sessions and the
 * listening socket, runs the engine thread and the gateway, and stops
 * cleanly (see server.h).
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4, eventfd */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "band_move.h"
#include "core/pages.h"
#include "cpus.h"
#include "fd_budget.h"
#include "halts.h"
#include "journal/dir.h"
#include "log.h"
#include "md_history.h"
#include "md_oe.h"
#include "ports.h"
#include "xt/error.h"

_Static_assert(XT_FD_RESERVE >= 64 + 2 * XT_ADOPT_MAX, "the reserve holds the bridges on their way to the gateway");

static int fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return -1;
}

/* The open-file limit raised as far as allowed, and the connection limits
 * cut to what it holds (fd_budget.h); 0, or -1 when it holds too little. */
static int fit_fd_limit(xt_server_t *s, char *why, size_t n)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return 0;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
        getrlimit(RLIMIT_NOFILE, &r);
    }
    uint32_t gw = s->asked_max_connections = s->cfg.max_connections;
    uint32_t md = s->asked_md_max_connections = s->cfg.md_max_connections;
    uint64_t need = xt_fd_budget_need(gw, md, XT_OE_BRIDGES);
    int cut = r.rlim_cur == RLIM_INFINITY ? 0 : xt_fd_budget_fit(&gw, &md, XT_OE_BRIDGES, r.rlim_cur);
    if (cut < 0)
        return fail(why, n, "the open-file limit (%llu) is below the %llu descriptors the server needs at the least",
                    (unsigned long long)r.rlim_cur, (unsigned long long)xt_fd_budget_need(1, 1, XT_OE_BRIDGES));
    xt_log_ev_t e;
    if (cut && xt_log_begin(&e, XT_LOG_WARN,
                            "connection limits cut to the open-file limit; raise it (ulimit -n, LimitNOFILE) or "
                            "lower the limits")) {
        xt_log_u64(&e, "open_file_limit", (uint64_t)r.rlim_cur);
        xt_log_u64(&e, "descriptors_needed", need);
        xt_log_u64(&e, "server.max_connections", gw);
        xt_log_u64(&e, "md.max_connections", md);
        xt_log_end(&e);
    }
    s->cfg.max_connections = gw;
    s->cfg.md_max_connections = md;
    return 0;
}

/* The ports, bound before recovery (ports.h): a port in use ends the start before it touches the data. */
static int bind_ports(xt_server_t *s, char *why, size_t n)
{
    const xt_server_config_t *c = &s->cfg;
    return xt_port_bind("server.listen", c->listen_host, c->listen_port, &s->listen_fd, &s->port, why, n) ||
           xt_port_bind("md.listen", c->md_host, c->md_port, &s->md_lfd, &s->md_port, why, n) ||
           (c->md_tcp_on &&
            xt_port_bind("md.tcp_listen", c->md_tcp_host, c->md_tcp_port, &s->md_tcp_lfd, &s->md_tcp_port, why, n));
}

/* Every instrument the journal defines must still be in the config: one
 * left out would go on trading (it stays defined), under another time zone
 * and with its market-data day reset, without a word. */
static int check_kept(const xt_server_t *s, char *why, size_t n)
{
    for (uint32_t i = 0; i < xt_engine_instrument_count(&s->engine); i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        if (xt_config_instrument_index(&s->cfg, in.symbol) < 0)
            return fail(why, n,
                        "instrument %s is defined in the journal but not in the config%s: instruments cannot be "
                        "removed or renamed; keep its [instrument %s] section (to stop its trading, halt it: "
                        "xtrading admin halt %s)",
                        in.symbol,
                        s->cfg.n_instruments_default ? " (which has no [instrument] sections: the demo "
                                                       "instruments were taken)"
                                                     : "",
                        in.symbol, in.symbol);
    }
    return 0;
}

/* The journal's snapshot failures, to the log (xt_journal_config_t.report). */
static void report_snapshot(void *ctx, uint64_t seq, const char *why)
{
    const xt_server_t *s = ctx;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_ERROR, "snapshot failed")) {
        xt_log_str(&e, "data", s->cfg.data_dir);
        xt_log_u64(&e, "seq", seq);
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
}

/* Engine thread: market data saves its state at the snapshot's point. */
static void snapshot_begun(void *ctx, uint64_t seq)
{
    xt_server_t *s = ctx;
    xt_log_ev_t e;
    if (xt_md_feed_mark(&s->md_feed, seq) < 0 && xt_log_begin(&e, XT_LOG_WARN, "market data: md-state not written")) {
        xt_log_u64(&e, "seq", seq); /* a crash recovering from this snapshot starts the day afresh */
        xt_log_str(&e, "reason", "the engine-to-market-data feed was full when the snapshot began");
        xt_log_end(&e);
    }
}

/* Engine thread, at a timed snapshot with nothing new since snapshot seq:
 * is its md-state there (written by the md thread after snapshot_begun)?
 * If not - the feed was full, a write failed - the snapshot is taken again
 * and market data saves its state with it. */
static int snapshot_current(void *ctx, uint64_t seq)
{
    const xt_server_t *s = ctx;
    char p[XT_PATH_MAX];
    struct stat st;
    return xt_dir_path(p, sizeof p, s->cfg.data_dir, XT_FILE_MD_STATE, seq) == 0 && stat(p, &st) == 0 &&
           S_ISREG(st.st_mode);
}

int xt_server_clock_check(const xt_server_t *s, char *why, size_t n)
{
    int64_t held = xt_market_held_ns();
    if (held <= (int64_t)s->cfg.clock_hold_max_s * INT64_C(1000000000))
        return 0;
    return fail(why, n,
                "the system clock is %.0f s behind the market's time (the latest the journal, market data's state "
                "or the K-line history shows), over server.clock_hold_max_s (%" PRIu32
                "): set the clock right (chronyc makestep), or raise the key to start and hold the market's time "
                "until the clock catches up (docs/deploy.md, The clock)",
                (double)held / 1e9, s->cfg.clock_hold_max_s);
}

/* Defines the configured instruments the journal does not have yet, and
 * moves the bands the config moved. */
static int define_instruments(xt_server_t *s, char *why, size_t n)
{
    int added = 0;
    for (uint32_t k = 0; k < s->cfg.n_instruments; k++) {
        const xt_instrument_def_t *d = &s->cfg.instruments[k];
        uint32_t have = xt_engine_find_symbol(&s->engine, d->symbol, strlen(d->symbol));
        xt_instrument_info_t in;
        int moved = have != XT_INSTRUMENT_NONE && xt_engine_instrument(&s->engine, have, &in) == 0 &&
                    xt_band_move_check(&in.def, d) == 1;
        if (have != XT_INSTRUMENT_NONE && !moved)
            continue;
        xt_cmd_t c = {.type = XT_CMD_INSTRUMENT, .ts = xt_market_ns()};
        c.u.instrument = moved ? xt_band_moved(&in.def, d) : *d;
        xt_sessions_begin(&s->sessions, &c);
        int rc = xt_journal_submit(&s->journal, &c, xt_mono_ns());
        if (rc == XT_ECAPACITY)
            return fail(why, n,
                        "instrument %s: the journal defines %" PRIu32 " instruments and the config more: "
                        "engine.max_instruments (%" PRIu32 ") is too small",
                        d->symbol, xt_engine_instrument_count(&s->engine), s->cfg.engine.max_instruments);
        if (rc)
            return fail(why, n, "instrument %s: %s", d->symbol, xt_strerror(rc));
        if (moved)
            xt_band_move_log(&c.u.instrument);
        added = 1;
    }
    if (added && xt_journal_commit(&s->journal, xt_mono_ns()) != 0)
        return fail(why, n, "journal: %s", xt_journal_failed(&s->journal));
    return 0;
}

static int instrument_frames(xt_server_t *s)
{
    uint32_t n = xt_engine_instrument_count(&s->engine);
    s->instrument_frames = calloc(n ? n : 1, sizeof *s->instrument_frames);
    s->symbols = calloc(n ? n : 1, sizeof *s->symbols);
    s->inst_defs = calloc(n ? n : 1, sizeof *s->inst_defs);
    if (!s->instrument_frames || !s->symbols || !s->inst_defs)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        xt_msg_instrument_t m = {.id = i,
                                 .has_band = (uint8_t)in.has_band,
                                 .tick_m = in.def.tick.m,
                                 .lot_m = in.def.lot.m,
                                 .min_qty = in.min_lots,
                                 .max_qty = in.max_lots,
                                 .band_low = in.has_band ? in.band_low : 0,
                                 .band_high = in.has_band ? in.band_high : 0,
                                 .tick_scale = in.def.tick.scale,
                                 .lot_scale = in.def.lot.scale};
        memcpy(m.symbol, in.symbol, strnlen(in.symbol, sizeof m.symbol));
        xt_wire_put_instrument(s->instrument_frames[i], 0, &m);
        memcpy(s->symbols[i], m.symbol, sizeof m.symbol);
        s->inst_defs[i] = in.def;
    }
    s->n_instruments = n;
    s->halted = calloc(n ? n : 1, sizeof *s->halted); /* then those of the `halted` file (halts.c) */
    return s->halted ? 0 : -1;
}

void xt_server_symbol(const xt_server_t *s, uint32_t i, char out[XT_SYMBOL_MAX + 1])
{
    memcpy(out, s->symbols[i], XT_SYMBOL_MAX + 1);
}

uint32_t xt_server_find_symbol(const xt_server_t *s, const char *symbol)
{
    for (uint32_t i = 0; i < s->n_instruments; i++)
        if (strcmp(s->symbols[i], symbol) == 0)
            return i;
    return XT_NIL;
}

/* engine.prefault: the fixed tables are faulted in at start (pages.h). */
static unsigned page_flags(const xt_server_t *s)
{
    return s->cfg.prefault ? XT_PAGES_TOUCH : 0;
}

static int open_ring(xt_server_t *s)
{
    uint32_t cap = 2;
    while (cap < s->cfg.inbound_ring)
        cap <<= 1;
    /* gateway -> engine only: a snapshot never reads it */
    s->ring.v = xt_pages_alloc(sizeof *s->ring.v * cap, XT_PAGES_NOFORK | page_flags(s));
    s->cancel_ids = calloc(XT_CANCEL_ROUND, sizeof *s->cancel_ids);
    s->ring.mask = cap - 1;
    s->engine_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->gateway_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return s->ring.v && s->cancel_ids && s->engine_efd >= 0 && s->gateway_efd >= 0 ? 0 : -1;
}

/* Does text name directory dir: dir as a word of its own, or a path in it
 * ("data/wal-...log", "data directory data: ...")? Not a word of the text
 * that happens to be dir (a directory named "e" or "the"). */
static int names_dir(const char *text, const char *dir)
{
    size_t n = strlen(dir);
    for (const char *p = text; n && (p = strstr(p, dir)) != NULL; p++) {
        char after = p[n];
        if ((p == text || p[-1] == ' ') && (after == '/' || after == ':' || after == '\0' || after == ' '))
            return 1;
    }
    return 0;
}

/* The snapshot before the newest when the newest has no market-data
 * state and that one has: a kill while the newest was being written
 * leaves it so (its child finishes the snapshot, the dead server's state
 * file never comes). Recovering from it replays one snapshot's interval
 * more and keeps the day's market data (md_state.c); 0: recover from the
 * newest. */
static uint64_t snapshot_with_md_state(const xt_server_t *s)
{
    uint64_t *snaps = NULL, got = 0;
    size_t n = 0;
    char path[XT_CONFIG_PATH_MAX + 48];
    if (xt_dir_list(s->cfg.data_dir, XT_FILE_SNAP, &snaps, &n) == 0 && n >= 2 &&
        xt_dir_path(path, sizeof path, s->cfg.data_dir, XT_FILE_MD_STATE, snaps[n - 1]) == 0 &&
        access(path, F_OK) != 0 &&
        xt_dir_path(path, sizeof path, s->cfg.data_dir, XT_FILE_MD_STATE, snaps[n - 2]) == 0 && access(path, F_OK) == 0)
        got = snaps[n - 2];
    free(snaps);
    return got;
}

/* What a recovery that failed had replayed into the sessions, their
 * message log and the trades kept for market data goes, for another. */
static int recovery_undone(xt_server_t *s)
{
    xt_sessions_destroy(&s->sessions);
    xt_outlog_destroy(&s->log);
    xt_md_replay_free(&s->md_replay);
    s->md_replay.overflow = 0;
    return xt_outlog_init(&s->log, s->cfg.resume_messages, page_flags(s)) ||
           xt_sessions_init(&s->sessions, &s->log, s->cfg.max_sessions, s->cfg.engine.max_orders, page_flags(s));
}

int xt_server_open(xt_server_t *s, const xt_server_config_t *cfg, char *why, size_t n)
{
    memset(s, 0, sizeof *s);
    /* A reload (SIGHUP: systemctl reload, logrotate) or a snapshot request
     * (SIGUSR1) during the start - recovery may take a while - waits for
     * the gateway, which takes it from its signalfd once running: their
     * default action ended the process (status 129), which systemd counts
     * as a clean exit and does not restart. `serve` blocks them from its
     * first line, and SIGTERM and SIGINT too: during the start those end
     * the process at once, logged (start_signals.h). */
    sigset_t early;
    sigemptyset(&early);
    sigaddset(&early, SIGHUP);
    sigaddset(&early, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &early, NULL);
    pthread_rwlock_init(&s->creds_lock, NULL);
    s->cfg = *cfg;
    atomic_store_explicit(&s->open_orders_limit, cfg->open_orders, memory_order_relaxed);
    xt__clock_offset_ns = (int64_t)cfg->clock_offset_ms * 1000000;
    s->listen_fd = s->md_lfd = s->md_tcp_lfd = s->engine_efd = s->gateway_efd = s->md_feed.efd = -1;
    pthread_mutex_init(&s->adopt.lock, NULL);
    pthread_mutex_init(&s->frames_lock, NULL);
    /* What the config alone can refuse ends the start before recovery, which may journal (instruments, a snapshot) */
    if (xt_config_check(cfg, why, n) || fit_fd_limit(s, why, n) || bind_ports(s, why, n) ||
        xt__gw_admin_precheck(s, why, n) || xt_md_history_precheck(s, why, n))
        return -1;
    if (!(s->cpus = calloc(1, sizeof *s->cpus)))
        return fail(why, n, "out of memory");
    if (xt_cpus_prepare(s->cpus, s->cfg.gateway_cpus, s->cfg.engine_cpus, s->cfg.md_cpus, why, n))
        return -1;
    xt_cpus_log(s->cpus);
    int rc = s->cfg.credentials[0] ? xt_creds_load(&s->creds, s->cfg.credentials, why, n) : xt_creds_demo(&s->creds);
    if (rc)
        return why[0] ? -1 : fail(why, n, "credentials: %s", xt_strerror(rc));
    s->cfg.engine.prefault = s->cfg.prefault != 0;
    s->cfg.engine.rules = (uint8_t)s->cfg.rules;
    if (xt_outlog_init(&s->log, s->cfg.resume_messages, page_flags(s)) ||
        xt_sessions_init(&s->sessions, &s->log, s->cfg.max_sessions, s->cfg.engine.max_orders, page_flags(s)))
        return fail(why, n, "out of memory for the sessions and the message log");
    s->md_replay.max = s->cfg.md_replay_trades;
    if (xt_md_feed_init(&s->md_feed, s->cfg.md_feed_records, s->cfg.engine.max_instruments, page_flags(s)))
        return fail(why, n, "out of memory for the market-data feed");
    s->md_feed.lose_bands = s->cfg.md_lose_band_moves != 0;
    xt_journal_config_t jc = s->cfg.journal;
    jc.ext = &s->sessions.ext;
    jc.report = report_snapshot;
    jc.snapshot_begun = snapshot_begun;
    jc.snapshot_current = snapshot_current;
    jc.report_ctx = s;
    jc.preallocate = s->cfg.journal_preallocate ? XT_SPARE_THREAD : XT_SPARE_OFF;
    jc.drop_cache = (uint8_t)s->cfg.journal_drop_cache;
    jc.keep_all_segments = s->cfg.journal_keep_all != 0;
    jc.child_delay_ms = s->cfg.snapshot_delay_ms;
    if (s->cpus->any) /* the spare segment's writer, which the open starts, inherits this: off the pinned CPUs */
        xt_cpus_pin(&s->cpus->rest, "gateway");
    jc.recover_from = snapshot_with_md_state(s);
    rc = xt_journal_open(&s->journal, s->cfg.data_dir, &jc, NULL, &s->cfg.engine, xt_server_sink, s, &s->engine,
                         xt_mono_ns());
    if (rc && jc.recover_from) { /* from the newest, as without it: the day's market data starts afresh */
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_WARN,
                         "recovery from the snapshot with market-data state failed; recovering from the newest")) {
            xt_log_u64(&e, "snapshot", jc.recover_from);
            xt_log_str(&e, "reason", s->journal.recovery.why[0] ? s->journal.recovery.why : xt_strerror(rc));
            xt_log_end(&e);
        }
        jc.recover_from = 0;
        if (recovery_undone(s))
            return fail(why, n, "out of memory for the sessions and the message log");
        rc = xt_journal_open(&s->journal, s->cfg.data_dir, &jc, NULL, &s->cfg.engine, xt_server_sink, s, &s->engine,
                             xt_mono_ns());
    }
    if (s->cpus->any) /* the engine and market-data threads, unless pinned, inherit this */
        xt_cpus_pin(&s->cpus->allowed, "gateway");
    if (rc) { /* the directory named once: most of the journal's reasons name it (a path in it) */
        const char *jwhy = s->journal.recovery.why[0] ? s->journal.recovery.why : xt_strerror(rc);
        return names_dir(jwhy, s->cfg.data_dir) ? fail(why, n, "%s", jwhy)
                                                : fail(why, n, "%s: %s", s->cfg.data_dir, jwhy);
    }
    s->journal_open = 1;
    /* The sessions' tables too small for the journal replayed: messages, and
     * open orders' owners, were lost - and a final snapshot would keep that */
    if (s->sessions.no_room || s->sessions.no_ref) {
        s->journal.cfg.no_snapshot_on_close = 1;
        return s->sessions.no_room
                   ? fail(why, n,
                          "sessions: the journal's commands come from more sessions than server.max_sessions = %" PRIu32
                          " holds: raise it",
                          s->cfg.max_sessions)
                   : fail(why, n,
                          "sessions: the journal's orders rested more at once than engine.max_orders = %" PRIu32
                          " lets the sessions track: raise it",
                          s->cfg.engine.max_orders);
    }
    xt_outlog_release(&s->log); /* recovered messages are history: routed at once */
    /* The market's time goes on from the journal's latest record (read also below a snapshot at its end,
     * when nothing is replayed), checked before this start journals anything. */
    xt_market_floor(s->journal.recovery.max_ts);
    if (xt_server_clock_check(s, why, n) || check_kept(s, why, n) || define_instruments(s, why, n) ||
        instrument_frames(s) || xt_halts_load(s, why, n) || open_ring(s) ||
        xt_metrics_init(&s->met, s->n_instruments, xt_mono_ns()))
        return why[0] ? -1 : fail(why, n, "out of memory");
    xt_outlog_release(&s->log);
    /* market data loads its history and state before it listens; order entry listens after it */
    if (xt_md_server_open(s, why, n) ||
        xt_port_listen("server.listen", s->cfg.listen_host, s->cfg.listen_port, s->listen_fd, why, n))
        return -1;
    /* The threads inherit this mask; the gateway takes the signals from a signalfd. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    xt_halts_saver_start(&s->halts_saver, s, s->gateway_efd); /* after the mask: a thread of its own */
    xt_disk_watch_start(&s->disk, s);
    if (xt_gateway_init(s))
        return fail(why, n, "gateway: out of memory");
    return xt__gw_admin_open(s, why, n);
}

int xt_server_run(xt_server_t *s)
{
    atomic_store(&s->met.running, 1); /* recovered: ready (/readyz) and counting (/metrics) from here */
    if (xt_md_server_start(s))
        return -1;
    if (xt_engine_thread_start(s)) {
        xt_md_server_stop(s);
        return -1;
    }
    xt_cpus_pin(&s->cpus->gateway, "gateway"); /* after the threads began: they do not inherit it */
    xt_gateway_run(s);
    xt_stop_signals_watch(&s->stop_signals); /* the gateway takes no more: logrotate's SIGHUP, till the end */
    xt_engine_thread_join(s);
    xt_md_server_stop(s); /* after the engine: it has published everything */
    return 0;
}

int xt_server_close(xt_server_t *s)
{
    int rc = 0;
    xt_halts_saver_stop(&s->halts_saver); /* a halt's file asked for is written */
    xt_disk_watch_stop(&s->disk);
    xt__gw_admin_close(s); /* removes the socket file: before the final snapshot, which may take a while */
    if (s->journal_open)
        rc = xt_journal_close(&s->journal, xt_mono_ns());
    xt_start_signals_end(&s->stop_signals); /* a SIGHUP from here on: the gateway's last look tells of it */
    xt_gateway_destroy(s);
    xt_halts_saver_destroy(&s->halts_saver); /* after the admin socket's last answers (xt_halts_saved) */
    xt_md_server_close(s);
    xt_md_feed_destroy(&s->md_feed);
    xt_md_replay_free(&s->md_replay);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->md_lfd >= 0) /* bound, and the start failed before market data took it */
        close(s->md_lfd);
    if (s->md_tcp_lfd >= 0)
        close(s->md_tcp_lfd);
    if (s->engine_efd >= 0)
        close(s->engine_efd);
    if (s->gateway_efd >= 0)
        close(s->gateway_efd);
    xt_pages_free(s->ring.v);
    free(s->cancel_ids);
    free(s->cpus);
    free(s->instrument_frames);
    free(s->symbols);
    free(s->inst_defs);
    free((void *)s->halted);
    xt_metrics_destroy(&s->met);
    if (s->journal_open)
        xt_engine_destroy(&s->engine);
    xt_sessions_destroy(&s->sessions);
    xt_outlog_destroy(&s->log);
    xt_creds_free(&s->creds);
    for (uint32_t k = 0; k < s->adopt.n; k++) /* handed over, never taken */
        close(s->adopt.fd[k]);
    pthread_mutex_destroy(&s->adopt.lock);
    pthread_mutex_destroy(&s->frames_lock);
    pthread_rwlock_destroy(&s->creds_lock);
    return rc;
}
