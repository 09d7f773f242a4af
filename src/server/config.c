/* config.c - the server's settings (config.h, docs/config.md): the embedded
 * defaults, the INI config file and --set overrides, all driven by one table
 * of keys, and printing them back in the file format (and comparing two
 * settings by that print).
 *
 * Instrument decimals go through the project's decimal parser and every
 * definition is checked by defining it in a scratch engine, so a config that
 * loads is one the engine accepts. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): cpu_set_t (cpus.h) */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "cpus.h"
#include "log.h"
#include "md/md.h"
#include "text_file.h"
#include "xt/decimal.h"
#include "xt/error.h"

#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum kind {
    K_U32,
    K_U64,
    K_POW2,
    K_LISTEN,
    K_PATH,
    K_CREDS,
    K_FSYNC,
    K_MD_LISTEN,
    K_BOOL,
    K_OPTPATH,
    K_MD_TCP_LISTEN,
    K_LOG_LEVEL,
    K_LOG_FORMAT,
    K_ADMIN,
    K_CPUS
};

typedef struct cfg_key {
    const char *section, *name;
    int kind;
    size_t off;
    uint64_t min, max;
} cfg_key_t;

#define F(field) offsetof(xt_server_config_t, field)
#define U32(s, n, field, lo, hi)                                                                                       \
    {                                                                                                                  \
        s, n, K_U32, F(field), lo, hi                                                                                  \
    }
#define U64(s, n, field, lo, hi)                                                                                       \
    {                                                                                                                  \
        s, n, K_U64, F(field), lo, hi                                                                                  \
    }

/* Every key, in the order printed. Ranges are inclusive. */
static const cfg_key_t keys[] = {
    {"server", "listen", K_LISTEN, 0, 0, 0},
    {"server", "credentials", K_CREDS, F(credentials), 0, 0},
    U32("server", "max_connections", max_connections, 1, 1000000),
    U32("server", "max_connections_per_ip", max_connections_per_ip, 1, 1000000),
    U32("server", "max_sessions", max_sessions, 1, 1u << 24),
    U32("server", "max_sessions_per_account", max_sessions_per_account, 1, 1u << 24),
    U32("server", "session_expiry_s", session_expiry_s, 1, 31622400),
    U32("server", "max_frame", max_frame, 104, 65535),
    U32("server", "login_timeout_ms", login_timeout_ms, 100, 600000),
    U32("server", "heartbeat_ms", heartbeat_ms, 100, 60000),
    U32("server", "login_skew_ms", login_skew_ms, 1, 86400000),
    U32("server", "clock_hold_max_s", clock_hold_max_s, 0, 31622400),
    U64("server", "output_limit", output_limit, 65536, UINT64_C(1) << 40),
    U64("server", "resume_messages", resume_messages, 1, UINT64_C(1) << 32),
    {"server", "inbound_ring", K_POW2, F(inbound_ring), 2, 1u << 24},
    {"server", "admin_socket", K_ADMIN, F(admin_socket), 0, 0},
    U32("server", "busy_poll_us", busy_poll_us, 0, 1000000),
    {"server", "gateway_cpus", K_CPUS, F(gateway_cpus), 0, 0},
    {"server", "engine_cpus", K_CPUS, F(engine_cpus), 0, 0},
    {"server", "md_cpus", K_CPUS, F(md_cpus), 0, 0},
    {"journal", "dir", K_PATH, F(data_dir), 0, 0},
    {"journal", "fsync", K_FSYNC, 0, 0, 0},
    U32("journal", "batch_max", journal.batch_max, 1, 1u << 20),
    U32("journal", "batch_max_us", journal.batch_max_us, 0, 1000000),
    U64("journal", "segment_bytes", journal.segment_bytes, 4096, UINT64_C(1) << 40),
    {"journal", "preallocate", K_BOOL, F(journal_preallocate), 0, 1},
    {"journal", "drop_cache", K_BOOL, F(journal_drop_cache), 0, 1},
    U64("journal", "snapshot_every", journal.snapshot_every, 0, UINT64_MAX),
    U32("journal", "snapshot_secs", journal.snapshot_secs, 0, UINT32_MAX),
    U32("journal", "keep_snapshots", journal.keep_snapshots, 1, 1000),
    {"journal", "keep_all_segments", K_BOOL, F(journal_keep_all), 0, 1},
    U32("limits", "rate", rate, 1, 1000000000),
    U32("limits", "burst", burst, 1, 1000000000),
    U32("limits", "open_orders", open_orders, 1, 1u << 30),
    U32("engine", "max_orders", engine.max_orders, 1, 1u << 30),
    U32("engine", "max_levels", engine.max_levels, 1, UINT32_MAX - 1),
    U32("engine", "max_instruments", engine.max_instruments, 1, 1u << 24),
    {"engine", "prefault", K_BOOL, F(prefault), 0, 1},
    U32("engine", "rules", rules, XT_RULES_1, XT_RULES_CURRENT),
    {"md", "listen", K_MD_LISTEN, 0, 0, 0},
    {"md", "tcp_listen", K_MD_TCP_LISTEN, 0, 0, 0},
    U32("md", "max_connections", md_max_connections, 1, 1000000),
    U32("md", "max_connections_per_ip", md_max_connections_per_ip, 1, 1000000),
    U64("md", "output_limit", md_output_limit, 65536, UINT64_C(1) << 40),
    U32("md", "send_buffer", md_send_buffer, 0, 1u << 30),
    U32("md", "max_subscriptions", md_max_subscriptions, 1, 4096),
    U32("md", "max_message", md_max_message, 256, 1u << 20),
    U32("md", "messages_per_s", md_messages_per_s, 1, 1000000),
    U32("md", "ping_ms", md_ping_ms, 100, 3600000),
    U32("md", "http_idle_ms", md_http_idle_ms, 1000, 3600000),
    U32("md", "tcp_heartbeat_ms", md_tcp_heartbeat_ms, 100, 60000),
    U32("md", "tape", md_tape, 1, XT_MD_TAPE_MAX),
    /* at least 64: a cut side is asked for again below half (at 31), so the top-20 channels keep 11 levels of slack */
    U32("md", "max_levels", md_max_levels, 64, 1u << 24),
    {"md", "feed_records", K_POW2, F(md_feed_records), 1024, 1u << 26},
    U32("md", "replay_trades", md_replay_trades, 0, 1u << 28),
    {"md", "history", K_BOOL, F(md_history), 0, 1},
    {"md", "history_dir", K_OPTPATH, F(md_history_dir), 0, 0},
    U32("md", "history_flush_ms", md_history_flush_ms, 0, 60000),
    {"log", "level", K_LOG_LEVEL, F(log_level), 0, 0},
    {"log", "format", K_LOG_FORMAT, F(log_format), 0, 0},
    {"log", "file", K_OPTPATH, F(log_file), 0, 0},
    U32("rest", "recv_window_ms", rest_recv_window_ms, 1, 600000),
    U32("rest", "replay_cache", rest_replay_cache, 1, 1u << 26),
    U32("rest", "fills", rest_fills, 1, 100000),
    U32("rest", "fill_accounts", rest_fill_accounts, 1, 1u << 20),
    U32("rest", "order_timeout_ms", rest_order_timeout_ms, 100, 600000),
    U32("rest", "idle_ms", rest_idle_ms, 1000, 86400000),
    U32("debug", "engine_delay_us", engine_delay_us, 0, 1000000),
    U32("debug", "commit_delay_us", commit_delay_us, 0, 1000000),
    U32("debug", "output_chunks", output_chunks, 0, 16777216),
    U32("debug", "clock_offset_ms", clock_offset_ms, 0, 604800000),
    U32("debug", "snapshot_delay_ms", snapshot_delay_ms, 0, 600000),
    U32("debug", "kline_write_delay_ms", kline_write_delay_ms, 0, 600000),
    U32("debug", "bridge_sndbuf", bridge_sndbuf, 0, 16777216),
    {"debug", "md_lose_band_moves", K_BOOL, F(md_lose_band_moves), 0, 1},
    U64("debug", "disk_free_bytes", disk_free_bytes, 0, UINT64_C(1) << 62),
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const sections[] = {"server", "journal", "limits", "engine", "md", "log", "rest", "debug"};
#define NSECTIONS (sizeof sections / sizeof sections[0])
#define SEC_NONE (-1)
#define SEC_INSTRUMENT ((int)NSECTIONS)

/* The demo instruments of etc/xtrading.conf. */
static const struct {
    const char *symbol, *tick, *lot, *ref, *band;
} demo_instruments[] = {
    {"600519.SH", "0.01", "100", "1700.00", "10"}, /* tz Asia/Shanghai: see demo_instrument() */
    {"000001.SZ", "0.01", "100", "11.50", "10"},
    {"BTC-USDT", "0.01", "0.0001", NULL, NULL},
    {"ETH-USDT", "0.01", "0.001", NULL, NULL},
};

/* ---- small helpers ---------------------------------------------------- */

static void say(char *why, size_t whylen, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void say(char *why, size_t whylen, const char *fmt, ...)
{
    if (why == NULL || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
}

/* Copies s into a buffer of cap bytes, zero-filling the rest. */
static int set_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -1;
    memset(dst, 0, cap);
    memcpy(dst, s, n + 1);
    return 0;
}

/* A value for an error message, shortened if long. */
/* 'text' for an error message: at most 40 bytes of it, and every byte
 * that is not printable ASCII (a config file may be anything) as '?', so
 * that the message never carries a terminal's escape sequences. */
static const char *quoted(const char *s, char buf[56])
{
    size_t n = strlen(s), k = 0;
    buf[k++] = '\'';
    for (size_t i = 0; i < n && i < 40; i++)
        buf[k++] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i]; /* C1 too */
    snprintf(buf + k, 56 - k, "%s'", n > 40 ? "..." : "");
    return buf;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A whole number, digits only. Returns 0 or -1. */
int xt_config_parse_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static void *field(xt_server_config_t *c, const cfg_key_t *k)
{
    return (char *)c + k->off;
}

static const cfg_key_t *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* ---- defaults --------------------------------------------------------- */

static xt_decimal_t dec(const char *s)
{
    xt_decimal_t d = {0, 0};
    int rc = xt_decimal_parse(s, strlen(s), &d);
    assert(rc == 0);
    (void)rc;
    return d;
}

static void demo_instrument(xt_instrument_def_t *d, size_t i)
{
    memset(d, 0, sizeof *d);
    set_str(d->symbol, sizeof d->symbol, demo_instruments[i].symbol);
    d->tick = dec(demo_instruments[i].tick);
    d->lot = dec(demo_instruments[i].lot);
    if (demo_instruments[i].ref) {
        d->flags = XT_DEF_BAND;
        d->ref_price = dec(demo_instruments[i].ref);
        d->band_pct = dec(demo_instruments[i].band);
    }
}

void xt_config_defaults(xt_server_config_t *c)
{
    memset(c, 0, sizeof *c);
    set_str(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 9001;
    c->max_connections = 20000;
    c->max_connections_per_ip = 20000;
    c->max_sessions = 65536;
    c->max_sessions_per_account = 256;
    c->session_expiry_s = 86400;
    c->max_frame = 256;
    c->login_timeout_ms = 5000;
    c->heartbeat_ms = 5000;
    c->login_skew_ms = 30000;
    c->clock_hold_max_s = 300;
    c->output_limit = 4194304;
    c->resume_messages = 1048576;
    c->inbound_ring = 65536;
    set_str(c->data_dir, sizeof c->data_dir, "data");
    xt_journal_config_default(&c->journal);
    c->journal.snapshot_secs = 300;
    c->rate = 100000;
    c->burst = 10000;
    c->open_orders = 100000;
    xt_engine_config_default(&c->engine);
    c->prefault = 1;
    c->rules = XT_RULES_CURRENT;
    c->journal_preallocate = 1;
    c->journal_drop_cache = 1;
    set_str(c->md_host, sizeof c->md_host, "127.0.0.1");
    c->md_port = 8080;
    set_str(c->md_tcp_host, sizeof c->md_tcp_host, "127.0.0.1");
    c->md_tcp_port = 9002;
    c->md_tcp_on = 1;
    c->md_tcp_heartbeat_ms = 5000;
    c->md_max_connections = 60000;
    c->md_max_connections_per_ip = 60000;
    c->md_output_limit = 4194304;
    c->md_send_buffer = 262144;
    c->md_max_subscriptions = 64;
    c->md_max_message = 4096;
    c->md_messages_per_s = 50;
    c->md_ping_ms = 20000;
    c->md_http_idle_ms = 30000;
    c->md_tape = 1000;
    c->md_max_levels = 10000;
    c->md_feed_records = 262144;
    c->md_replay_trades = 1u << 22;
    c->md_history = 1;
    c->md_history_flush_ms = 1000;
    c->log_level = XT_LOG_INFO;
    c->log_format = XT_LOG_LOGFMT;
    c->rest_recv_window_ms = 5000;
    c->rest_replay_cache = 65536;
    c->rest_fills = 1000;
    c->rest_fill_accounts = 4096;
    c->rest_order_timeout_ms = 10000;
    c->rest_idle_ms = 60000;
    c->engine_delay_us = 0;
    c->n_instruments = sizeof demo_instruments / sizeof demo_instruments[0];
    c->n_instruments_default = 1;
    for (size_t i = 0; i < c->n_instruments; i++) {
        demo_instrument(&c->instruments[i], i);
        c->tz_offset[i] = demo_instruments[i].ref ? 8 * 3600 : 0; /* the A-shares trade in Asia/Shanghai */
    }
}

/* ---- values ----------------------------------------------------------- */

/* "host:port": IPv4 dotted, "localhost" (stored as 127.0.0.1) or "*"
 * (stored as 0.0.0.0); port 0..65535. */
static int set_listen(char *out_host, uint16_t *out_port, const char *key, const char *v, char *why, size_t whylen)
{
    char q[56], host[64];
    const char *colon = strrchr(v, ':');
    uint64_t port;
    struct in_addr a;
    size_t hn = colon ? (size_t)(colon - v) : 0;
    if (colon == NULL || hn == 0 || hn >= sizeof host || xt_config_parse_uint(colon + 1, &port) || port > 65535)
        goto bad;
    memcpy(host, v, hn);
    host[hn] = '\0';
    if (strcmp(host, "*") == 0)
        strcpy(host, "0.0.0.0");
    else if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    else if (inet_pton(AF_INET, host, &a) != 1)
        goto bad;
    set_str(out_host, 64, host);
    *out_port = (uint16_t)port;
    return 0;
bad:
    say(why, whylen, "%s must be host:port (IPv4 address, localhost or *; port 0..65535), got %s", key, quoted(v, q));
    return -1;
}

/* md.tcp_listen: host:port, or "off" / "" for no binary market-data port. */
static int set_tcp_listen(xt_server_config_t *c, const char *v, char *why, size_t whylen)
{
    char q[56];
    if (*v == '\0' || strcmp(v, "off") == 0) {
        c->md_tcp_on = 0;
        return 0;
    }
    if (set_listen(c->md_tcp_host, &c->md_tcp_port, "md.tcp_listen", v, why, whylen) != 0) {
        say(why, whylen, "md.tcp_listen must be host:port (IPv4 address, localhost or *; port 0..65535) or off, got %s",
            quoted(v, q));
        return -1;
    }
    c->md_tcp_on = 1;
    return 0;
}

/* The length of path p made absolute as print_path prints it: a relative
 * path is checked as what it names from the working directory, so that a
 * config is valid or not wherever it was named from, and the text `config
 * check` prints (absolute) loads as the config it came from. */
static size_t absolute_len(const char *p)
{
    char cwd[XT_CONFIG_PATH_MAX];
    if (*p == '/' || getcwd(cwd, sizeof cwd) == NULL)
        return strlen(p);
    return strlen(cwd) + 1 + strlen(p);
}

static void clean_path(char *p);

/* The length of path p as print_path prints it: made absolute from the
 * working directory, and cleaned. */
static size_t printed_len(const char *p)
{
    char cwd[XT_CONFIG_PATH_MAX], full[2 * XT_CONFIG_PATH_MAX + 2];
    if (*p == '/' || getcwd(cwd, sizeof cwd) == NULL)
        snprintf(full, sizeof full, "%s", p);
    else
        snprintf(full, sizeof full, "%s/%s", cwd, p);
    clean_path(full);
    return strlen(full);
}

/* A path; relative ones are taken relative to base ("" or a directory
 * ending in '/'). Empty is allowed for the credentials (the demo ones) and
 * the optional paths (their default). */
static int set_path(xt_server_config_t *c, const cfg_key_t *k, const char *v, const char *base, char *why,
                    size_t whylen)
{
    char buf[XT_CONFIG_PATH_MAX];
    if (*v == '\0' && k->kind == K_PATH) {
        say(why, whylen, "%s.%s needs a path", k->section, k->name);
        return -1;
    }
    int n = snprintf(buf, sizeof buf, "%s%s", *v == '/' || *v == '\0' ? "" : base, v);
    if (n < 0 || (size_t)n >= sizeof buf) {
        say(why, whylen, "%s.%s: path too long (at most %d bytes)", k->section, k->name, XT_CONFIG_PATH_MAX - 1);
        return -1;
    }
    /* a relative one counts as what it names from the working directory:
     * `config check` prints it absolute, and must load its own text */
    if (buf[0] && printed_len(buf) >= XT_CONFIG_PATH_MAX) {
        say(why, whylen, "%s.%s: path too long (at most %d bytes, made absolute from the working directory)",
            k->section, k->name, XT_CONFIG_PATH_MAX - 1);
        return -1;
    }
    set_str(field(c, k), XT_CONFIG_PATH_MAX, buf);
    return 0;
}

/* The longest path a Unix socket binds: sun_path less its NUL (107). */
#define ADMIN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* The admin socket's path, n bytes, fits a Unix socket: refused here, or
 * `config check` would accept what `serve` cannot bind. */
static int admin_path_fits(size_t n, const char *what, char *why, size_t whylen)
{
    if (n <= ADMIN_PATH_MAX)
        return 0;
    say(why, whylen, "server.admin_socket must be at most %zu bytes (a Unix socket path), got %zu%s", ADMIN_PATH_MAX, n,
        what);
    return -1;
}

/* server.admin_socket: "off" for none, else a path ("": the default,
 * admin.sock inside journal.dir, checked with the final journal.dir by
 * xt_config_check). */
static int set_admin(xt_server_config_t *c, const cfg_key_t *k, const char *v, const char *base, char *why,
                     size_t whylen)
{
    c->admin_off = strcmp(v, "off") == 0;
    if (c->admin_off) {
        c->admin_socket[0] = '\0';
        return 0;
    }
    if (set_path(c, k, v, base, why, whylen) != 0)
        return -1;
    return admin_path_fits(absolute_len(c->admin_socket),
                           c->admin_socket[0] == '/' ? "" : " (relative: from the working directory)", why, whylen);
}

/* server.*_cpus: a CPU list (cpus.h), or empty; whether this process may
 * run on those CPUs is checked at start (xt_cpus_prepare). */
static int set_cpus(xt_server_config_t *c, const cfg_key_t *k, const char *v, char *why, size_t whylen)
{
    cpu_set_t set;
    char w[128], q[56];
    if (strlen(v) >= XT_CPUS_TEXT) {
        say(why, whylen, "%s.%s: a CPU list of at most %d characters, got %s", k->section, k->name, XT_CPUS_TEXT - 1,
            quoted(v, q));
        return -1;
    }
    if (xt_cpus_parse(v, &set, w, sizeof w)) {
        say(why, whylen, "%s.%s: %s, got %s", k->section, k->name, w, quoted(v, q));
        return -1;
    }
    set_str(field(c, k), XT_CPUS_TEXT, v);
    return 0;
}

/* "batch", "always", "none" or "interval=<ms>"; interval_ms goes back to
 * its default with the other policies, so that printing loses nothing. */
static int set_fsync(xt_server_config_t *c, const char *v, char *why, size_t whylen)
{
    char q[56];
    xt_journal_config_t tmp;
    xt_journal_config_default(&tmp);
    if (xt_fsync_policy_parse(v, &tmp) != 0) {
        say(why, whylen, "journal.fsync must be batch, always, none or interval=<ms> (1..60000), got %s", quoted(v, q));
        return -1;
    }
    c->journal.fsync = tmp.fsync;
    c->journal.interval_ms = tmp.interval_ms;
    return 0;
}

static int set_bool(xt_server_config_t *c, const cfg_key_t *k, const char *v, char *why, size_t whylen)
{
    char q[56];
    if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
        say(why, whylen, "%s.%s must be on or off, got %s", k->section, k->name, quoted(v, q));
        return -1;
    }
    *(uint32_t *)field(c, k) = strcmp(v, "on") == 0;
    return 0;
}

/* log.level and log.format: one of their names (log.h). */
static int set_log_choice(xt_server_config_t *c, const cfg_key_t *k, const char *v, char *why, size_t whylen)
{
    char q[56];
    int level = k->kind == K_LOG_LEVEL;
    int x = level ? xt_log_level_parse(v) : xt_log_format_parse(v);
    if (x < 0) {
        say(why, whylen, "%s.%s must be %s, got %s", k->section, k->name,
            level ? "debug, info, warn or error" : "logfmt or json", quoted(v, q));
        return -1;
    }
    *(uint32_t *)field(c, k) = (uint32_t)x;
    return 0;
}

static int set_number(xt_server_config_t *c, const cfg_key_t *k, const char *v, char *why, size_t whylen)
{
    char q[56];
    uint64_t n;
    int pow2 = k->kind == K_POW2;
    if (xt_config_parse_uint(v, &n) || n < k->min || n > k->max || (pow2 && (n & (n - 1)) != 0)) {
        say(why, whylen, "%s.%s must be %s %" PRIu64 "..%" PRIu64 ", got %s", k->section, k->name,
            pow2 ? "a power of two in" : "a whole number in", k->min, k->max, quoted(v, q));
        return -1;
    }
    if (k->kind == K_U64)
        *(uint64_t *)field(c, k) = n;
    else
        *(uint32_t *)field(c, k) = (uint32_t)n;
    return 0;
}

static int set_value(xt_server_config_t *c, const cfg_key_t *k, const char *v, const char *base, char *why,
                     size_t whylen)
{
    switch (k->kind) {
    case K_LISTEN: return set_listen(c->listen_host, &c->listen_port, "server.listen", v, why, whylen);
    case K_MD_LISTEN: return set_listen(c->md_host, &c->md_port, "md.listen", v, why, whylen);
    case K_MD_TCP_LISTEN: return set_tcp_listen(c, v, why, whylen);
    case K_PATH:
    case K_OPTPATH:
    case K_CREDS: return set_path(c, k, v, base, why, whylen);
    case K_ADMIN: return set_admin(c, k, v, base, why, whylen);
    case K_CPUS: return set_cpus(c, k, v, why, whylen);
    case K_FSYNC: return set_fsync(c, v, why, whylen);
    case K_BOOL: return set_bool(c, k, v, why, whylen);
    case K_LOG_LEVEL:
    case K_LOG_FORMAT: return set_log_choice(c, k, v, why, whylen);
    default: return set_number(c, k, v, why, whylen);
    }
}

static int check_instrument_room(const xt_server_config_t *c, char *why, size_t whylen)
{
    if (c->n_instruments <= c->engine.max_instruments)
        return 0;
    say(why, whylen, "engine.max_instruments (%" PRIu32 ") is below the number of instruments (%" PRIu32 ")",
        c->engine.max_instruments, c->n_instruments);
    return -1;
}

int xt_config_check(const xt_server_config_t *c, char *why, size_t whylen)
{
    if (!c->admin_off && c->admin_socket[0] == '\0' &&
        admin_path_fits(absolute_len(c->data_dir) + strlen("/admin.sock"),
                        " (the default, admin.sock in journal.dir): set server.admin_socket to a shorter path, or off",
                        why, whylen) != 0)
        return -1;
    uint64_t need = 1 + 2 * (uint64_t)c->md_max_levels;
    if (2 * need <= c->md_feed_records)
        return 0;
    say(why, whylen,
        "md.feed_records (%" PRIu32 ") is below twice one instrument's resync, 2 x (1 + 2 x md.max_levels) = "
        "%" PRIu64 " records: raise md.feed_records or lower md.max_levels",
        c->md_feed_records, 2 * need);
    return -1;
}

int xt_config_set(xt_server_config_t *c, const char *key, const char *value, char *why, size_t whylen)
{
    char section[16], q[56];
    const char *dot = strchr(key, '.');
    size_t sn = dot ? (size_t)(dot - key) : 0;
    const cfg_key_t *k = NULL;
    if (dot && sn < sizeof section) {
        memcpy(section, key, sn);
        section[sn] = '\0';
        k = find_key(section, dot + 1);
    }
    if (k == NULL) {
        say(why, whylen, "unknown key %s (want section.key, e.g. server.listen; instruments only in a config file)",
            quoted(key, q));
        return -1;
    }
    if (set_value(c, k, value, "", why, whylen))
        return -1;
    return k->off == F(engine.max_instruments) ? check_instrument_room(c, why, whylen) : 0;
}

/* ---- the file --------------------------------------------------------- */

static const char *const inst_keys[] = {"tick", "lot", "min", "max", "ref", "band"};
#define NINST_KEYS 6

typedef struct loader {
    xt_server_config_t *c;
    const char *path;
    char base[XT_CONFIG_PATH_MAX]; /* the file's directory with '/', or "" */
    unsigned line;
    int section;                                   /* sections[] index, SEC_NONE, SEC_INSTRUMENT */
    unsigned key_line[NKEYS];                      /* where each key was set; 0: not in the file */
    int replaced;                                  /* the file's first instrument cleared the old ones */
    unsigned inst_line[XT_CONFIG_MAX_INSTRUMENTS]; /* header line of each instrument */
    /* the instrument section being read */
    int in_inst;
    unsigned seen;
    int32_t tz;
    uint8_t prev_close_ref; /* `prev_close = ref` in this [instrument] */
    xt_instrument_def_t def;
    char *why;
    size_t whylen;
} loader_t;

static int fail_at(loader_t *L, unsigned line, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int fail_at(loader_t *L, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    say(L->why, L->whylen, "%s:%u: %s", L->path, line, msg);
    return -1;
}

/* The scratch-engine check: 0 if the engine accepts the definition. */
static void discard(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static int engine_accepts(const xt_instrument_def_t *d)
{
    xt_engine_t e;
    xt_engine_config_t ec = {.max_orders = 1, .max_levels = 1, .max_instruments = 1};
    int rc = xt_engine_init(&e, &ec, discard, NULL);
    if (rc == 0)
        rc = xt_engine_restore_instrument(&e, d);
    xt_engine_destroy(&e);
    return rc;
}

/* Ends the instrument section being read (if any) and adds it. */
static int finish_instrument(loader_t *L)
{
    if (!L->in_inst)
        return 0;
    L->in_inst = 0;
    xt_instrument_def_t *d = &L->def;
    unsigned line = L->inst_line[L->c->n_instruments], s = L->seen;
    if ((s & 3u) != 3u)
        return fail_at(L, line, "[instrument %s] needs tick and lot", d->symbol);
    if ((s & 48u) == 32u)
        return fail_at(L, line, "[instrument %s]: band needs ref", d->symbol);
    if ((s & 48u) == 16u)
        return fail_at(L, line, "[instrument %s]: ref needs band", d->symbol);
    if (L->prev_close_ref && !(s & 16u))
        return fail_at(L, line, "[instrument %s]: prev_close = ref needs ref and band", d->symbol);
    if ((s & 12u) == 12u && xt_decimal_cmp(d->max_qty, d->min_qty) < 0)
        return fail_at(L, line, "[instrument %s]: max is below min", d->symbol);
    d->flags = (uint8_t)(((s & 4u) ? XT_DEF_MIN : 0) | ((s & 8u) ? XT_DEF_MAX : 0) | ((s & 16u) ? XT_DEF_BAND : 0));
    /* A band's faults named, before the engine's general refusal below (it
     * takes some no price or market data could use); a tick, ref or band
     * that is not positive is left to it. */
    if ((d->flags & XT_DEF_BAND) && d->tick.m > 0 && d->ref_price.m > 0 && d->band_pct.m >= 0) {
        int64_t ref = 0, low = 0, high = 0;
        char tick[XT_DECIMAL_BUFSZ];
        xt_decimal_format(d->tick, tick);
        int conv = xt_decimal_to_units(d->ref_price, d->tick, &ref);
        if (conv == XT_EINVAL)
            return fail_at(L, line, "[instrument %s]: ref must be a whole number of ticks (tick %s)", d->symbol, tick);
        if (conv != 0 || ref > XT_PRICE_MAX)
            return fail_at(L, line, "[instrument %s]: ref is above the largest price, 2^48 - 1 ticks of %s", d->symbol,
                           tick);
        if (xt_band_limits(d, &low, &high) != 0) /* a ref in range lies in its band: digits past 128 bits */
            return fail_at(L, line,
                           "[instrument %s]: ref and band have too many significant digits to compute the band "
                           "exactly",
                           d->symbol);
    }
    int rc = engine_accepts(d);
    if (rc == XT_ENOMEM)
        return fail_at(L, line, "out of memory");
    if (rc)
        return fail_at(L, line,
                       "[instrument %s]: invalid definition: no whole lot between min and max, or a price band "
                       "outside the price range",
                       d->symbol);
    L->c->tz_offset[L->c->n_instruments] = L->tz;
    L->c->prev_close_ref[L->c->n_instruments] = L->prev_close_ref;
    L->c->instruments[L->c->n_instruments++] = *d;
    return 0;
}

static int begin_instrument(loader_t *L, char *sym)
{
    xt_server_config_t *c = L->c;
    if (!xt_symbol_valid(sym, strlen(sym)))
        return fail_at(L, L->line, "bad instrument symbol %s (want [A-Za-z0-9._-]{1,16})", quoted(sym, (char[56]){0}));
    if (!L->replaced) {
        c->n_instruments = 0;
        c->n_instruments_default = 0;
        L->replaced = 1;
    }
    int i = xt_config_instrument_index(c, sym);
    if (i >= 0)
        return fail_at(L, L->line, "instrument %s already defined on line %u", sym, L->inst_line[i]);
    if (c->n_instruments >= XT_CONFIG_MAX_INSTRUMENTS)
        return fail_at(L, L->line, "too many instruments (at most %d)", XT_CONFIG_MAX_INSTRUMENTS);
    memset(&L->def, 0, sizeof L->def);
    set_str(L->def.symbol, sizeof L->def.symbol, sym);
    L->inst_line[c->n_instruments] = L->line;
    L->seen = 0;
    L->tz = 0;
    L->prev_close_ref = 0;
    L->in_inst = 1;
    L->section = SEC_INSTRUMENT;
    return 0;
}

static int do_section(loader_t *L, char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != ']')
        return fail_at(L, L->line, "bad section header (want [name] or [instrument SYMBOL])");
    s[n - 1] = '\0';
    char *name = trim(s + 1);
    if (finish_instrument(L))
        return -1;
    for (size_t i = 0; i < NSECTIONS; i++)
        if (strcmp(name, sections[i]) == 0) {
            L->section = (int)i;
            return 0;
        }
    if (strcmp(name, "instrument") == 0)
        return fail_at(L, L->line, "[instrument] needs a symbol: [instrument SYMBOL]");
    if (strncmp(name, "instrument", 10) == 0 && is_space(name[10]))
        return begin_instrument(L, trim(name + 11));
    char want[128] = ""; /* from sections[], so that the list cannot fall behind it */
    for (size_t i = 0, k = 0; i < NSECTIONS && k < sizeof want; i++)
        k += (size_t)snprintf(want + k, sizeof want - k, "%s, ", sections[i]);
    return fail_at(L, L->line, "unknown section %s (want %sor instrument SYMBOL)", quoted(name, (char[56]){0}), want);
}

static const struct {
    const char *name;
    int32_t offset;
} fixed_zones[] = {{"UTC", 0},
                   {"Asia/Shanghai", 8 * 3600},
                   {"Asia/Hong_Kong", 8 * 3600},
                   {"Asia/Singapore", 8 * 3600},
                   {"Asia/Tokyo", 9 * 3600},
                   {"Asia/Seoul", 9 * 3600},
                   {"Asia/Kolkata", 5 * 3600 + 1800},
                   {"Asia/Dubai", 4 * 3600}};

void xt_config_format_tz(char *out, size_t cap, int32_t offset_s, const char *utc)
{
    int32_t a = offset_s < 0 ? -offset_s : offset_s;
    if (offset_s == 0)
        snprintf(out, cap, "%s", utc);
    else
        snprintf(out, cap, "%c%02d:%02d", offset_s < 0 ? '-' : '+', (int)(a / 3600 % 100), (int)(a % 3600 / 60));
}

int xt_config_parse_tz(const char *s, int32_t *offset_s)
{
    for (size_t i = 0; i < sizeof fixed_zones / sizeof fixed_zones[0]; i++)
        if (strcmp(s, fixed_zones[i].name) == 0) {
            *offset_s = fixed_zones[i].offset;
            return 0;
        }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return -1;
    for (int i = 1; i < 6; i++)
        if (i != 3 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 14 || m > 59)
        return -1;
    *offset_s = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

static int inst_key(loader_t *L, const char *key, const char *v)
{
    if (strcmp(key, "tz") == 0) {
        char q[56];
        if (xt_config_parse_tz(v, &L->tz) != 0)
            return fail_at(L, L->line, "bad tz %s (want UTC, +HH:MM, -HH:MM or a name such as Asia/Shanghai)",
                           quoted(v, q));
        return 0;
    }
    if (strcmp(key, "prev_close") == 0) {
        char q[56];
        if (strcmp(v, "ref") != 0 && strcmp(v, "close") != 0)
            return fail_at(L, L->line, "bad prev_close %s (want close or ref)", quoted(v, q));
        L->prev_close_ref = strcmp(v, "ref") == 0;
        return 0;
    }
    xt_instrument_def_t *d = &L->def;
    xt_decimal_t *vals[NINST_KEYS] = {&d->tick, &d->lot, &d->min_qty, &d->max_qty, &d->ref_price, &d->band_pct};
    char q[56];
    int k = -1;
    for (int i = 0; i < NINST_KEYS; i++)
        if (strcmp(key, inst_keys[i]) == 0)
            k = i;
    if (k < 0)
        return fail_at(L, L->line, "unknown instrument key %s (want tick, lot, min, max, ref, band, tz or prev_close)",
                       quoted(key, q));
    if (L->seen & (1u << k))
        return fail_at(L, L->line, "%s given twice in [instrument %s]", key, d->symbol);
    L->seen |= 1u << k;
    int rc = xt_decimal_parse(v, strlen(v), vals[k]);
    if (rc == XT_ERANGE)
        return fail_at(L, L->line, "%s out of range: %s", key, quoted(v, q));
    if (rc)
        return fail_at(L, L->line, "bad %s %s (want a decimal such as 0.01)", key, quoted(v, q));
    if (k == 5 ? vals[k]->m < 0 : vals[k]->m <= 0)
        return fail_at(L, L->line, "%s must be %s", key, k == 5 ? ">= 0" : "> 0");
    return 0;
}

static int do_key(loader_t *L, const char *key, const char *v)
{
    if (L->section == SEC_NONE)
        return fail_at(L, L->line, "%s before any [section]", quoted(key, (char[56]){0}));
    if (L->section == SEC_INSTRUMENT)
        return inst_key(L, key, v);
    const char *sec = sections[L->section];
    const cfg_key_t *k = find_key(sec, key);
    if (k == NULL)
        return fail_at(L, L->line, "unknown key %s in [%s]", quoted(key, (char[56]){0}), sec);
    size_t i = (size_t)(k - keys);
    if (L->key_line[i])
        return fail_at(L, L->line, "%s.%s already set on line %u", sec, key, L->key_line[i]);
    L->key_line[i] = L->line;
    char what[400];
    if (set_value(L->c, k, v, L->base, what, sizeof what))
        return fail_at(L, L->line, "%s", what);
    return 0;
}

static int do_line(loader_t *L, char *s)
{
    s = trim(s);
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return do_section(L, s);
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return fail_at(L, L->line, "expected 'key = value', '[section]' or a comment");
    *eq = '\0';
    return do_key(L, trim(s), trim(eq + 1));
}

/* After the last line: the open instrument, and room for the instruments. */
static int finish_file(loader_t *L)
{
    if (finish_instrument(L))
        return -1;
    char what[200];
    if (check_instrument_room(L->c, what, sizeof what) == 0)
        return 0;
    size_t mi = (size_t)(find_key("engine", "max_instruments") - keys);
    unsigned line = L->key_line[mi] ? L->key_line[mi] : L->replaced ? L->inst_line[L->c->n_instruments - 1] : L->line;
    return fail_at(L, line, "%s", what);
}

static int read_lines(loader_t *L, FILE *f)
{
    static char buf[XT_TEXT_LINE_MAX + 1]; /* one config is read at a time (start, config check, SIGHUP's loader) */
    int rc = 0, got;
    while (rc == 0 && (got = xt_text_file_line(f, buf)) == 1) {
        L->line++;
        rc = do_line(L, buf);
    }
    if (rc == 0 && got < 0)
        rc = fail_at(L, L->line + 1, "%s", xt_text_file_error(got));
    return rc == 0 ? finish_file(L) : rc;
}

int xt_config_load(xt_server_config_t *c, const char *path, char *why, size_t whylen)
{
    loader_t *L = calloc(1, sizeof *L);
    if (L == NULL) {
        say(why, whylen, "%s: out of memory", path);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    size_t bn = slash ? (size_t)(slash - path) + 1 : 0;
    FILE *f = NULL;
    int rc = -1;
    if (bn >= sizeof L->base) {
        /* the reason first: a path this long would push it past the message's end */
        say(why, whylen, "path too long (the config file's directory at most %zu bytes): %s", sizeof L->base - 2, path);
        goto done;
    }
    memcpy(L->base, path, bn);
    if ((f = xt_text_file_open(path, XT_CONFIG_FILE_MAX, why, whylen)) == NULL)
        goto done;
    L->c = c;
    L->path = path;
    L->section = SEC_NONE;
    L->why = why;
    L->whylen = whylen;
    rc = read_lines(L, f);
done:
    if (f)
        fclose(f);
    free(L);
    return rc;
}

/* ---- printing --------------------------------------------------------- */

/* Path p (NUL-terminated, in place) with what a lookup reads the same way
 * taken out: an empty or "." component ("//", "/./", a leading "./", a
 * trailing "/" or "/."). ".." stays: after a symbolic link it is not the
 * parent of the link's directory. A trailing "/" stays after a name ending
 * in white space: the file format trims values, so "a /" printed as
 * "a " would load as "a". */
static void clean_path(char *p)
{
    int absolute = *p == '/', more = 0; /* more: something followed the last name kept */
    char *o = p;
    for (const char *r = p; *r;) {
        const char *end = strchr(r, '/');
        size_t n = end ? (size_t)(end - r) : strlen(r);
        if (n > 0 && !(n == 1 && r[0] == '.')) {
            if (o > p || absolute)
                *o++ = '/';
            memmove(o, r, n);
            o += n;
            more = end != NULL;
        } else {
            more = 1;
        }
        r += n + (end != NULL);
    }
    if (o == p) /* nothing but separators and dots */
        *o++ = absolute ? '/' : '.';
    else if (more && is_space(o[-1])) /* (room: the '/' that followed it) */
        *o++ = '/';
    *o = '\0';
}

/* Relative paths print made absolute (from the working directory), so the
 * output means the same wherever it is stored and loaded from; and cleaned
 * (clean_path), so that a reload compares what the paths name - `./a`,
 * `a/` and `a` alike - not how they are spelt (xt_config_diff). */
static void print_path(FILE *f, const char *name, const char *p)
{
    char cwd[XT_CONFIG_PATH_MAX], full[2 * XT_CONFIG_PATH_MAX + 2];
    if (*p == '\0') {
        fprintf(f, "%s =\n", name);
        return;
    }
    if (*p == '/' || getcwd(cwd, sizeof cwd) == NULL)
        snprintf(full, sizeof full, "%s", p);
    else
        snprintf(full, sizeof full, "%s/%s", cwd, p);
    clean_path(full);
    fprintf(f, "%s = %s\n", name, full);
}

static void print_key(const xt_server_config_t *c, const cfg_key_t *k, FILE *f)
{
    const void *p = (const char *)c + k->off;
    switch (k->kind) {
    case K_LISTEN: fprintf(f, "listen = %s:%u\n", c->listen_host, (unsigned)c->listen_port); break;
    case K_MD_LISTEN: fprintf(f, "listen = %s:%u\n", c->md_host, (unsigned)c->md_port); break;
    case K_MD_TCP_LISTEN:
        if (c->md_tcp_on)
            fprintf(f, "tcp_listen = %s:%u\n", c->md_tcp_host, (unsigned)c->md_tcp_port);
        else
            fprintf(f, "tcp_listen = off\n");
        break;
    case K_PATH:
    case K_OPTPATH:
    case K_CREDS: print_path(f, k->name, p); break;
    case K_ADMIN:
        if (c->admin_off)
            fprintf(f, "admin_socket = off\n");
        else
            print_path(f, k->name, p);
        break;
    case K_BOOL: fprintf(f, "%s = %s\n", k->name, *(const uint32_t *)p ? "on" : "off"); break;
    case K_CPUS: fprintf(f, "%s =%s%s\n", k->name, *(const char *)p ? " " : "", (const char *)p); break;
    case K_LOG_LEVEL: fprintf(f, "level = %s\n", xt_log_level_name((int)*(const uint32_t *)p)); break;
    case K_LOG_FORMAT: fprintf(f, "format = %s\n", xt_log_format_name((int)*(const uint32_t *)p)); break;
    case K_FSYNC:
        if (c->journal.fsync == XT_FSYNC_INTERVAL)
            fprintf(f, "fsync = interval=%" PRIu32 "\n", c->journal.interval_ms);
        else
            fprintf(f, "fsync = %s\n",
                    c->journal.fsync == XT_FSYNC_ALWAYS ? "always"
                    : c->journal.fsync == XT_FSYNC_NONE ? "none"
                                                        : "batch");
        break;
    case K_U64: fprintf(f, "%s = %" PRIu64 "\n", k->name, *(const uint64_t *)p); break;
    default: fprintf(f, "%s = %" PRIu32 "\n", k->name, *(const uint32_t *)p); break;
    }
}

static void print_instrument(const xt_server_config_t *c, uint32_t i, FILE *f)
{
    const xt_instrument_def_t *d = &c->instruments[i];
    char b[XT_DECIMAL_BUFSZ];
    fprintf(f, "\n[instrument %s]\n", d->symbol);
    xt_decimal_format(d->tick, b);
    fprintf(f, "tick = %s\n", b);
    xt_decimal_format(d->lot, b);
    fprintf(f, "lot = %s\n", b);
    if (d->flags & XT_DEF_MIN) {
        xt_decimal_format(d->min_qty, b);
        fprintf(f, "min = %s\n", b);
    }
    if (d->flags & XT_DEF_MAX) {
        xt_decimal_format(d->max_qty, b);
        fprintf(f, "max = %s\n", b);
    }
    if (d->flags & XT_DEF_BAND) {
        xt_decimal_format(d->ref_price, b);
        fprintf(f, "ref = %s\n", b);
        xt_decimal_format(d->band_pct, b);
        fprintf(f, "band = %s\n", b);
    }
    char tz[8];
    xt_config_format_tz(tz, sizeof tz, c->tz_offset[i], "UTC");
    fprintf(f, "tz = %s\n", tz);
    if (c->prev_close_ref[i])
        fprintf(f, "prev_close = ref\n");
}

int xt_config_instrument_index(const xt_server_config_t *c, const char *symbol)
{
    for (uint32_t k = 0; k < c->n_instruments; k++)
        if (strcmp(c->instruments[k].symbol, symbol) == 0)
            return (int)k;
    return -1;
}

int xt_config_tz(const xt_server_config_t *c, const char *symbol, int32_t *offset_s)
{
    int k = xt_config_instrument_index(c, symbol);
    if (k < 0)
        return XT_ENOENT;
    *offset_s = c->tz_offset[k];
    return 0;
}

int xt_config_prev_close_ref(const xt_server_config_t *c, const char *symbol)
{
    int k = xt_config_instrument_index(c, symbol);
    return k < 0 ? 0 : c->prev_close_ref[k];
}

void xt_config_print(const xt_server_config_t *c, FILE *f)
{
    const char *sec = "";
    fprintf(f, "# xtrading settings (docs/config.md)\n");
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(sec, keys[i].section) != 0) {
            sec = keys[i].section;
            fprintf(f, "\n[%s]\n", sec);
        }
        print_key(c, &keys[i], f);
    }
    for (uint32_t i = 0; i < c->n_instruments; i++)
        print_instrument(c, i, f);
}

int xt_config_admin_path(const xt_server_config_t *c, char *out, size_t cap)
{
    int n = c->admin_socket[0] ? snprintf(out, cap, "%s", c->admin_socket)
                               : snprintf(out, cap, "%s/admin.sock", c->data_dir);
    return n < 0 || (size_t)n >= cap ? XT_ERANGE : n;
}

/* One setting of a printed config: "SECTION.KEY" and its line, or a whole
 * "[instrument SYMBOL]" section (its lines compared together). */
typedef struct {
    char name[80];
    const char *body;
    size_t len;
} setting_t;

/* The settings of printed config text t into *out (malloc'd); their count, or -1. */
static long settings_of(const char *t, setting_t **out)
{
    size_t n = 0, cap = 64;
    setting_t *v = malloc(cap * sizeof *v);
    char sec[64] = "";
    while (v && *t) {
        size_t len = strcspn(t, "\n");
        if (t[0] == '[') {
            snprintf(sec, sizeof sec, "%.*s", (int)strcspn(t + 1, "]\n"), t + 1);
        } else if (len > 0) {
            int whole = strncmp(sec, "instrument ", 11) == 0;
            if (whole && n > 0 && strcmp(v[n - 1].name, sec) == 0) {
                v[n - 1].len = (size_t)(t + len - v[n - 1].body); /* the section's lines are together */
            } else {
                if (n == cap) {
                    setting_t *w = realloc(v, (cap *= 2) * sizeof *v);
                    if (w == NULL)
                        break;
                    v = w;
                }
                if (whole)
                    snprintf(v[n].name, sizeof v[n].name, "%s", sec);
                else
                    snprintf(v[n].name, sizeof v[n].name, "%s.%.*s", sec, (int)strcspn(t, " =\n"), t);
                v[n].body = t;
                v[n++].len = len;
            }
        }
        t += len + (t[len] != '\0');
    }
    if (v == NULL || *t) {
        free(v);
        return -1;
    }
    *out = v;
    return (long)n;
}

static const setting_t *find_setting(const setting_t *v, long n, const char *name)
{
    for (long i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

/* Appends name to the comma-separated list in key ("a,b"); once one does
 * not fit whole, "..." ends the list. */
static void list_name(char *key, size_t keylen, const char *name, int *full)
{
    if (*full || keylen == 0)
        return;
    size_t have = strlen(key), need = strlen(name) + (have ? 1 : 0);
    if (have + need + 4 <= keylen) { /* room for a later "..." too */
        snprintf(key + have, keylen - have, "%s%s", have ? "," : "", name);
    } else {
        *full = 1;
        snprintf(key + have, keylen - have, "%s", have + 3 < keylen ? "..." : "");
    }
}

int xt_config_diff(const xt_server_config_t *a, const xt_server_config_t *b, char *key, size_t keylen)
{
    char *t[2] = {NULL, NULL};
    size_t n[2];
    const xt_server_config_t *c[2] = {a, b};
    setting_t *v[2] = {NULL, NULL};
    long nv[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        FILE *f = open_memstream(&t[k], &n[k]);
        if (f) {
            xt_config_print(c[k], f);
            fclose(f);
        }
        if (t[k])
            nv[k] = settings_of(t[k], &v[k]);
    }
    int rc = XT_ENOMEM, full = 0;
    if (nv[0] >= 0 && nv[1] >= 0) {
        rc = 0;
        if (keylen > 0)
            key[0] = '\0';
        for (int k = 0; k < 2; k++) /* a's settings in print order, then those only b has */
            for (long i = 0; i < nv[k]; i++) {
                const setting_t *o = find_setting(v[!k], nv[!k], v[k][i].name);
                if (o == NULL || (k == 0 && (o->len != v[k][i].len || memcmp(o->body, v[k][i].body, o->len) != 0))) {
                    rc++;
                    list_name(key, keylen, v[k][i].name, &full);
                }
            }
    }
    free(v[0]);
    free(v[1]);
    free(t[0]);
    free(t[1]);
    return rc;
}
