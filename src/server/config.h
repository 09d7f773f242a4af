/* config.h - the server's settings: embedded defaults, a config file, and
 * command-line overrides, in that order.
 *
 * File format (docs/config.md, commented example in etc/xtrading.conf): INI.
 * `# comment` and `; comment` lines, `[section]` headers, `key = value`
 * lines; instruments are sections named `[instrument SYMBOL]`. Unknown
 * sections or keys, bad values and duplicate instruments are errors that
 * name the file and line. Relative paths in the file are relative to the
 * file's directory; on the command line, to the working directory.
 *
 * Keys (section.key = default):
 *   server.listen = 127.0.0.1:9001       host:port (port 0: any free port)
 *   server.credentials = (embedded demo accounts)   path of the credentials file
 *   server.max_connections = 20000
 *   server.max_connections_per_ip = 20000
 *   server.max_sessions = 65536          sessions known at once (live or resumable)
 *   server.max_sessions_per_account = 256   of them, per account
 *   server.session_expiry_s = 86400      a disconnected session is forgotten after this, once
 *                                        nothing of it is left to resume (docs/protocol.md)
 *   server.max_frame = 256               bytes, 104..65535
 *   server.login_timeout_ms = 5000
 *   server.heartbeat_ms = 5000           default heartbeat interval
 *   server.login_skew_ms = 30000
 *   server.clock_hold_max_s = 300        a start with the system clock further behind the
 *                                        market's time (clock.h) is refused
 *   server.output_limit = 4194304        bytes queued to one connection
 *   server.resume_messages = 1048576     sequenced messages kept for resume
 *   server.inbound_ring = 65536          requests queued to the engine
 *   server.admin_socket =                the admin Unix socket (docs/admin.md); empty:
 *                                        admin.sock inside journal.dir; "off": none
 *   server.busy_poll_us = 0              the gateway and engine threads poll this long for
 *                                        work before they park; 0: park at once
 *   server.gateway_cpus =                CPU lists the gateway, engine and market-data threads
 *   server.engine_cpus =                 are pinned to ("2", "2-3", "0,2"); empty: not pinned
 *   server.md_cpus =
 *   journal.dir = data
 *   journal.fsync = batch                batch | always | none | interval=<ms>
 *   journal.batch_max = 4096
 *   journal.batch_max_us = 1000
 *   journal.segment_bytes = 67108864
 *   journal.preallocate = on             the next segment written ahead as zeros (cheaper syncs)
 *   journal.drop_cache = on              a rolled segment's pages leave the page cache
 *   journal.snapshot_every = 0           commands; 0: not by count
 *   journal.snapshot_secs = 300          0: not by time
 *   journal.keep_snapshots = 2
 *   limits.rate = 100000                 orders/s per session (token bucket)
 *   limits.burst = 10000
 *   limits.open_orders = 100000          open orders per account
 *   engine.max_orders = 1048576
 *   engine.max_levels = 262144
 *   engine.max_instruments = 1024
 *   md.listen = 127.0.0.1:8080           HTTP/WebSocket market data (docs/websocket.md)
 *   md.tcp_listen = 127.0.0.1:9002       binary market data (docs/md-binary.md); "off" or "": none
 *   md.max_connections = 60000
 *   md.output_limit = 4194304            bytes queued to one WebSocket connection
 *   md.send_buffer = 262144              SO_SNDBUF of each WebSocket socket; 0: the kernel's autotuning
 *   md.max_subscriptions = 64            per connection
 *   md.max_message = 4096                bytes of one inbound WebSocket message
 *   md.messages_per_s = 50               inbound messages per connection per second
 *   md.ping_ms = 20000                   server ping interval; no pong by the next: closed
 *   md.tcp_heartbeat_ms = 5000           binary: HEARTBEAT after this long idle; silent 3x: closed
 *   md.tape = 1000                       recent trades kept per instrument
 *   md.max_levels = 10000                depth levels kept per side per instrument
 *   md.feed_records = 262144             engine -> market-data ring (power of two)
 *   md.history = on                      K-line history files (docs/kline-history.md); on | off
 *   md.history_dir =                     empty: <journal.dir>/klines
 *   md.history_flush_ms = 1000           closed candles are written within about this long
 *   log.level = info                     debug | info | warn | error (log.h)
 *   log.format = logfmt                  logfmt | json
 *   log.file =                           empty: standard error; else appended to (reopened on SIGHUP)
 *   rest.recv_window_ms = 5000           signed REST requests: |timestamp - server clock| at most this
 *   rest.replay_cache = 65536            signatures remembered within the window (docs/rest.md)
 *   rest.fills = 1000                    fills kept per account for GET /api/v1/fills
 *   rest.fill_accounts = 4096            accounts whose fills are kept (the least recently updated make room)
 *   rest.order_timeout_ms = 10000        a REST order request without an answer this long is answered 504
 *   rest.idle_ms = 60000                 an account's REST order connection idle this long is closed (no LOGOUT)
 *   debug.engine_delay_us = 0            test hook: the engine thread sleeps this long per batch
 *   debug.clock_offset_ms = 0            test hook: the server's clock runs this far ahead
 *   debug.snapshot_delay_ms = 0          test hook: a snapshot's child waits this long before it writes
 *   debug.kline_write_delay_ms = 0       test hook: the K-line history's writer waits this long per snapshot
 *   [instrument SYM]  tick, lot (required); min, max (quantities), ref (price)
 *                     and band (percent, needs ref) optional - decimals as in
 *                     docs/replay-format.md; tz (UTC, +HH:MM, -HH:MM or
 *                     Asia/Shanghai-like names of fixed-offset zones) for
 *                     market-data candles, default UTC
 */
#ifndef XT_SERVER_CONFIG_H
#define XT_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "journal/journal.h"
#include "xt/command.h"
#include "xt/engine.h"

#define XT_CONFIG_PATH_MAX 1024
/* A why buffer that holds "FILE:LINE: what" whatever the length of FILE's
 * path (PATH_MAX) - a smaller one cut the line and the reason off. */
#define XT_CONFIG_WHY_MAX (XT_PATH_MAX + 640)
#define XT_CONFIG_FILE_MAX (1 << 20) /* bytes: a config file larger is refused */
#define XT_CONFIG_MAX_INSTRUMENTS 256
#define XT_CPUS_TEXT 64 /* server.*_cpus: the longest CPU list accepted, NUL included (cpus.h) */

typedef struct xt_server_config {
    /* server */
    char listen_host[64];
    uint16_t listen_port;
    char credentials[XT_CONFIG_PATH_MAX]; /* "" : the embedded demo credentials */
    uint32_t max_connections, max_connections_per_ip, max_sessions, max_sessions_per_account, session_expiry_s;
    uint32_t max_frame, login_timeout_ms, heartbeat_ms, login_skew_ms;
    uint32_t clock_hold_max_s; /* the most the clock may be behind the market's time at start */
    uint64_t output_limit, resume_messages;
    uint32_t inbound_ring;
    char admin_socket[XT_CONFIG_PATH_MAX]; /* "": <data_dir>/admin.sock (unless admin_off) */
    uint8_t admin_off;                     /* server.admin_socket = off: no admin socket */
    uint32_t busy_poll_us;                 /* poll this long for work before parking (gateway, engine) */
    char gateway_cpus[XT_CPUS_TEXT];       /* CPU lists the threads are pinned to (cpus.h); "": not pinned */
    char engine_cpus[XT_CPUS_TEXT];
    char md_cpus[XT_CPUS_TEXT];
    /* journal */
    char data_dir[XT_CONFIG_PATH_MAX];
    xt_journal_config_t journal;
    /* limits */
    uint32_t rate, burst, open_orders;
    /* engine */
    xt_engine_config_t engine;
    uint32_t prefault;            /* engine.prefault: fault the fixed tables in at start (sets engine.prefault) */
    uint32_t rules;               /* engine.rules: the matching rules new segments run under (sets engine.rules) */
    uint32_t journal_preallocate; /* journal.preallocate: roll into segments made ahead (journal.preallocate) */
    uint32_t journal_drop_cache;  /* journal.drop_cache: rolled segments leave the page cache */
    uint32_t journal_keep_all;    /* journal.keep_all_segments: retention deletes no segment */
    /* md */
    char md_host[64];
    uint16_t md_port;
    char md_tcp_host[64];
    uint16_t md_tcp_port;
    uint8_t md_tcp_on; /* md.tcp_listen is not "off" */
    uint32_t md_max_connections, md_max_subscriptions, md_max_message, md_messages_per_s, md_ping_ms, md_send_buffer;
    uint32_t md_http_idle_ms; /* a plain HTTP connection with no request and no answer for this long is closed */
    uint32_t md_tcp_heartbeat_ms;
    uint64_t md_output_limit;
    uint32_t md_tape, md_max_levels, md_feed_records;
    uint32_t md_replay_trades;                /* trades kept during recovery for market data to replay; 0: none */
    uint32_t md_max_connections_per_ip;       /* market-data connections from one IPv4 address at most */
    uint32_t md_history, md_history_flush_ms; /* K-line history files: on (1) / off (0) */
    char md_history_dir[XT_CONFIG_PATH_MAX];  /* "": <data_dir>/klines */
    /* log (log.h) */
    uint32_t log_level, log_format;    /* XT_LOG_INFO, XT_LOG_LOGFMT */
    char log_file[XT_CONFIG_PATH_MAX]; /* "": standard error */
    /* rest (docs/rest.md): signed requests, fills */
    uint32_t rest_recv_window_ms, rest_replay_cache, rest_fills, rest_fill_accounts, rest_order_timeout_ms;
    uint32_t rest_idle_ms;
    /* debug */
    uint32_t engine_delay_us;
    uint32_t commit_delay_us;      /* the engine thread sleeps this long before each commit: a slow disk (tests) */
    uint32_t output_chunks;        /* the order-entry output pool's 16 KiB chunks; 0: as sized at start (tests) */
    uint32_t clock_offset_ms;      /* xt_now_ns() runs this far ahead of the system clock */
    uint32_t snapshot_delay_ms;    /* a snapshot's child waits this long before it writes (tests) */
    uint32_t kline_write_delay_ms; /* the K-line history's writer waits this long per snapshot (tests) */
    uint32_t bridge_sndbuf;        /* SO_SNDBUF asked for a WebSocket/REST order bridge; 0: 1 MiB (tests) */
    uint32_t md_lose_band_moves;   /* the md feed loses INSTRUMENT events as a full ring would (tests) */
    uint64_t disk_free_bytes;      /* the free space disk_watch reports instead of statvfs's; 0: statvfs's (tests) */
    /* instruments, in the order given */
    uint32_t n_instruments;
    uint8_t n_instruments_default; /* the demo instruments: no [instrument] section was read */
    xt_instrument_def_t instruments[XT_CONFIG_MAX_INSTRUMENTS];
    int32_t tz_offset[XT_CONFIG_MAX_INSTRUMENTS]; /* seconds east of UTC, per instrument */
    /* `prev_close = ref`: market data's previous close is the band's ref
     * (xt_md_follow_ref), not the day's last close; per instrument */
    uint8_t prev_close_ref[XT_CONFIG_MAX_INSTRUMENTS];
} xt_server_config_t;

/* The embedded defaults: the settings above, and the demo instruments of
 * etc/xtrading.conf (600519.SH, BTC-USDT, ...). */
void xt_config_defaults(xt_server_config_t *c);

/* Reads a config file on top of c. Instruments in the file replace the
 * embedded ones (all of them, if the file has any). Returns 0, or -1 with
 * "FILE:LINE: what is wrong" in why. */
int xt_config_load(xt_server_config_t *c, const char *path, char *why, size_t whylen);

/* Sets one key ("server.listen", "limits.rate", ...) from text, as a
 * --set section.key=value flag does. Returns 0 or -1 with a message. */
int xt_config_set(xt_server_config_t *c, const char *key, const char *value, char *why, size_t whylen);

/* What no single key can check, once every source is read: the default
 * admin socket (admin.sock in journal.dir) must fit a Unix socket path,
 * and one instrument's market-data resync (1 + 2 x md.max_levels records)
 * must fit in half of md.feed_records. Returns 0 or -1 with a message. */
int xt_config_check(const xt_server_config_t *c, char *why, size_t whylen);

/* A whole number, decimal digits only, up to UINT64_MAX: 0, or -1 for
 * anything else (empty, sign, space, overflow). Shared by the config and
 * credentials parsers. */
int xt_config_parse_uint(const char *s, uint64_t *out);

/* A time zone for candles: "UTC", "+HH:MM", "-HH:MM" or a fixed-offset
 * zone name (Asia/Shanghai, Asia/Hong_Kong, Asia/Singapore, Asia/Tokyo,
 * Asia/Seoul, Asia/Kolkata, Asia/Dubai). Returns 0 or -1. */
int xt_config_parse_tz(const char *s, int32_t *offset_s);
/* The other way: offset_s as "+HH:MM" or "-HH:MM", or `utc` for 0 (a
 * named zone comes out as its offset). */
void xt_config_format_tz(char *out, size_t cap, int32_t offset_s, const char *utc);

/* The admin socket's path (server.admin_socket, or <journal.dir>/admin.sock)
 * into out. Returns its length, or XT_ERANGE when it does not fit cap
 * (the socket is off: the caller checks admin_off first). */
int xt_config_admin_path(const xt_server_config_t *c, char *out, size_t cap);

/* The index in c->instruments of the config's [instrument SYMBOL], or -1
 * when the config does not define it. */
int xt_config_instrument_index(const xt_server_config_t *c, const char *symbol);
/* The tz of the config's [instrument SYMBOL] into *offset_s (seconds east
 * of UTC). Returns 0, or XT_ENOENT (*offset_s untouched) when the config
 * does not define symbol. */
int xt_config_tz(const xt_server_config_t *c, const char *symbol, int32_t *offset_s);
/* Whether the config's instrument symbol has `prev_close = ref` (0 for one it lacks). */
int xt_config_prev_close_ref(const xt_server_config_t *c, const char *symbol);

/* The settings that differ between a and b, compared as xt_config_print
 * prints them (so every key is), listed into key, comma-separated: each
 * "SECTION.KEY", or "instrument SYMBOL" for an instrument that differs or
 * that only one defines; a's in print order, then those only b has. When
 * keylen is short, as many whole names as fit, then "...". Returns how
 * many differ (0: key ""), or XT_ENOMEM. */
int xt_config_diff(const xt_server_config_t *a, const xt_server_config_t *b, char *key, size_t keylen);

/* Prints the effective settings in the config file format (loadable again). */
void xt_config_print(const xt_server_config_t *c, FILE *f);

#endif
