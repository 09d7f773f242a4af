/* server.h - xtrading serve: the engine thread and the gateway (I/O) thread
 * around a journaled engine (DESIGN.md §1).
 *
 *   gateway thread  epoll over every socket: frames, login, rate limits,
 *                   gateway rejects; requests into the inbound ring
 *   engine thread   drains the ring in batches: sessions_begin + journal
 *                   submit per request, one commit per batch, then releases
 *                   the batch's messages in the outlog and wakes the gateway
 *   gateway thread  sends released messages to the sessions' connections
 *
 * The inbound ring is bounded: when it is full the gateway answers
 * OVERLOADED at once. Nothing blocks the gateway on the engine.
 */
#ifndef XT_SERVER_SERVER_H
#define XT_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "credentials.h"
#include "disk_watch.h"
#include "halts.h"
#include "journal/journal.h"
#include "md_feed.h"
#include "metrics.h"
#include "outlog.h"
#include "sessions.h"
#include "start_signals.h"
#include "xt/wire.h"

/* A request from the gateway to the engine thread. Its kind is the client
 * message type it came as, or one the gateway makes: XT_REQ_SESSION_CANCEL
 * (cancel on disconnect) and XT_REQ_SESSION_END (forget a session that is
 * gone, docs/protocol.md#session-lifecycle: journaled as SESSION_END when it
 * has no open orders; answered with a control slot in the outlog, ENDED or
 * KEPT). XT_REQ_ADMIN_CANCEL is an operator's mass cancel of an account
 * (gw_admin.c, docs/admin.md): conn is the admin connection's slot, and the
 * engine leaves the count of cancelled orders in admin_canceled[conn]
 * before it releases the batch. XT_REQ_BAND_MOVE moves instrument's price
 * band (a SIGHUP's, gw_bands.c): the engine journals its definition with
 * the ref and band the request carries (xt_req_band) and answers with a
 * control slot (outlog.h, XT_OL_BAND). XT_REQ_SESSION_SEQ asks for a
 * session's numbers after the gateway lost messages (gw_sessions.c
 * xt__gw_seq_unknown): answered with a control slot, XT_OL_SEQ. */
enum {
    XT_REQ_NEW = XT_MSG_NEW_ORDER,
    XT_REQ_CANCEL = XT_MSG_CANCEL,
    XT_REQ_AMEND = XT_MSG_AMEND,
    XT_REQ_MASS_CANCEL = XT_MSG_MASS_CANCEL,
    XT_REQ_STATUS = XT_MSG_ORDER_STATUS,
    XT_REQ_SESSION_CANCEL = 0x40,
    XT_REQ_SESSION_END = 0x41,
    XT_REQ_OPEN_ORDERS = 0x42,
    XT_REQ_ADMIN_CANCEL = 0x43,
    XT_REQ_BAND_MOVE = 0x44,
    XT_REQ_SESSION_SEQ = 0x45,
};

/* ORDER_STATUS with this order_id on a trusted (REST) connection lists the
 * account's open orders: one STATUS_REPLY each, XT_OPEN_ORDERS_MAX at
 * most, then one with order_id 0 and status UNKNOWN that ends the list and
 * carries in `filled` how many open orders were left out. */
#define XT_STATUS_LIST_OPEN (-1)
#define XT_OPEN_ORDERS_MAX 1000

#define XT_ADMIN_CONNS 8 /* admin socket connections at once (gw_admin.c) */

typedef struct xt_req {
    uint8_t kind;
    uint8_t side, type, tif, stp;
    uint8_t check_instrument; /* AMEND_CHECKED: the order must be on `instrument` */
    uint32_t conn;
    uint32_t account, session;
    uint32_t instrument;
    uint64_t clordid; /* NEW/CANCEL/AMEND: the client order id; MASS_CANCEL/STATUS: the request_id;
                         SESSION_END: the session's last sequence number the gateway has routed */
    uint64_t orig_clordid;
    int64_t order_id, price, qty;
} xt_req_t;

/* XT_REQ_BAND_MOVE carries d's ref and band in the order fields: ref in
 * price and type (mantissa, scale), band in qty and tif, side 1 when the
 * band is given (XT_DEF_BAND). */
static inline void xt_req_set_band(xt_req_t *r, const xt_instrument_def_t *d)
{
    r->price = d->ref_price.m;
    r->type = d->ref_price.scale;
    r->qty = d->band_pct.m;
    r->tif = d->band_pct.scale;
    r->side = (d->flags & XT_DEF_BAND) != 0;
}

/* def with the band r carries. */
static inline void xt_req_band(const xt_req_t *r, xt_instrument_def_t *def)
{
    def->ref_price = (xt_decimal_t){r->price, r->type};
    def->band_pct = (xt_decimal_t){r->qty, r->tif};
    def->flags = (uint8_t)((def->flags & ~XT_DEF_BAND) | (r->side ? XT_DEF_BAND : 0));
}

/* A request a client sent (it is answered), not one the gateway made for
 * itself (0x40 on, but the open-order list, which came as ORDER_STATUS). */
static inline int xt_req_from_client(int kind)
{
    return kind < XT_REQ_SESSION_CANCEL || kind == XT_REQ_OPEN_ORDERS;
}

/* The client message type a request of this kind came as: the kind
 * itself, except the list of open orders, which came as ORDER_STATUS.
 * What REJECTED's `request` and the command metrics name. */
static inline int xt_req_message(int kind)
{
    return kind == XT_REQ_OPEN_ORDERS ? XT_MSG_ORDER_STATUS : kind;
}

/* The unsequenced REJECTED answering r (gateway or engine thread). */
void xt_req_rejected(const xt_req_t *r, int reason, xt_msg_rejected_t *m);

/* Single-producer single-consumer ring of requests. */
typedef struct xt_req_ring {
    xt_req_t *v;
    uint32_t mask;
    _Atomic uint64_t head; /* producer */
    char pad[56];
    _Atomic uint64_t tail; /* consumer */
} xt_req_ring_t;

/* Connections the md thread hands to the gateway (order entry over
 * WebSocket and REST, md_oe.c): the gateway's end of a socketpair each. */
#define XT_ADOPT_MAX 64
typedef struct xt_adopt {
    pthread_mutex_t lock;
    uint32_t n;
    int fd[XT_ADOPT_MAX];
    uint8_t trusted[XT_ADOPT_MAX];
} xt_adopt_t;

typedef struct xt_server {
    xt_server_config_t cfg;
    uint32_t asked_max_connections, asked_md_max_connections; /* as configured; cfg has them fitted (fd_budget.h) */
    xt_creds_t creds; /* the gateway thread's (logins; replaced by SIGHUP); the md thread reads them too (signed
                         REST requests), under a read lock of creds_lock, which the swap takes for writing */
    pthread_rwlock_t creds_lock;
    xt_engine_t engine;
    xt_journal_t journal;
    xt_outlog_t log;
    xt_sessions_t sessions;
    xt_req_ring_t ring;
    int engine_efd;  /* wakes the engine thread */
    int gateway_efd; /* wakes the gateway thread */
    _Atomic int engine_sleeping;
    _Atomic int gateway_sleeping; /* set by the gateway around epoll_wait: only then does a batch wake it */
    _Atomic uint64_t answered;    /* ring index below which every request's answer is released */
    int64_t *cancel_ids;          /* engine thread: scratch for mass cancels (XT_CANCEL_ROUND) */
    int64_t batch_ts, batch_mono; /* engine thread: the batch's command timestamp and its monotonic time */
    _Atomic int stop_engine;      /* drain the ring, then stop */
    _Atomic int engine_done;
    _Atomic int journal_failed;
    char journal_why[384]; /* /readyz's reason, with why it failed: written once, before journal_failed is set */
    _Atomic int snapshot_request;
    pthread_t engine_thread;
    /* market data (md_server.c): fed by the engine thread through md_feed */
    xt_md_feed_t md_feed;
    xt_md_replay_t md_replay; /* recovery's trades, until market data has replayed them */
    _Atomic int md_resync;    /* md thread -> engine: rewrite the books into the feed; 0 once all are */
    uint32_t md_resync_next;  /* engine thread: the next instrument to rewrite */
    struct xt_md_server *mds;
    pthread_t md_thread;
    int md_started;
    xt_start_signals_t stop_signals; /* SIGHUP once the gateway's loop is over */
    uint16_t md_port;                /* bound (md.listen may ask for port 0) */
    uint16_t md_tcp_port;            /* bound, when md.tcp_listen is on */
    int md_lfd;                      /* bound before recovery (ports.h); market data listens on it and takes it */
    int md_tcp_lfd;                  /* likewise, when md.tcp_listen is on */
    /* instrument list for logins. The frames' band moves at a SIGHUP
     * (gw_bands.c): the gateway thread writes them holding frames_lock and
     * then raises frames_gen; another thread reads them only holding the
     * lock (the md thread's binary greeting, md_tcp.c). The symbols are
     * the frames' and never change: any thread reads them (xt_server_symbol). */
    uint32_t n_instruments;
    uint8_t (*instrument_frames)[XT_LEN_INSTRUMENT];
    char (*symbols)[XT_SYMBOL_MAX + 1];
    pthread_mutex_t frames_lock;
    _Atomic uint32_t frames_gen;
    /* the definitions in force (the engine's, read at start); after the
     * start the gateway thread's alone (gw_bands.c) */
    xt_instrument_def_t *inst_defs;
    struct xt_cpus *cpus; /* the CPUs each thread is pinned to (cpus.h; server.*_cpus) */
    /* the gateway's own state (gateway.c) */
    struct xt_gateway *gw;
    int listen_fd;
    uint16_t port;
    int journal_open;
    xt_adopt_t adopt; /* md thread -> gateway (xt_gateway_adopt) */
    _Atomic int adopt_pending;
    /* SIGHUP (gw_reload.c): the caller's way to read the config again (the
     * same file and flags as at start; NULL: SIGHUP only says it cannot).
     * The engine thread reads limits.open_orders from open_orders_limit,
     * which a reload may change. */
    int (*reload)(void *ctx, xt_server_config_t *out, char *why, size_t whylen);
    void *reload_ctx;
    _Atomic uint32_t open_orders_limit;
    xt_metrics_t met; /* published for GET /metrics and /readyz (metrics.h) */
    /* the admin socket (gw_admin.c, docs/admin.md). halted: per instrument,
     * written by the gateway thread, read by the engine thread, which
     * rejects NEW_ORDER and AMEND of a halted instrument HALTED. */
    _Atomic uint8_t *halted;
    xt_halts_saver_t halts_saver;                    /* writes the `halted` file off the gateway thread (halts.h) */
    xt_disk_watch_t disk;                            /* the data directory's free space (disk_watch.h) */
    _Atomic uint32_t admin_canceled[XT_ADMIN_CONNS]; /* engine -> admin: XT_REQ_ADMIN_CANCEL's count */
} xt_server_t;

/* Opens everything: config in, journal recovered, instruments defined,
 * listening. Prints nothing; errors to why. Returns 0 or -1. */
int xt_server_open(xt_server_t *s, const xt_server_config_t *cfg, char *why, size_t whylen);

/* Runs until SIGTERM/SIGINT (signals must be blocked in the caller, which
 * is done here for the threads it starts); then drains and stops. SIGUSR1
 * takes a snapshot; SIGHUP reloads the credentials and limits.rate, burst
 * and open_orders, and moves the price bands the config moved
 * (xt__gw_reload, gw_bands.c). Returns 0 on a clean stop. */
int xt_server_run(xt_server_t *s);

/* Instrument i's symbol (any thread). */
void xt_server_symbol(const xt_server_t *s, uint32_t i, char out[XT_SYMBOL_MAX + 1]);
/* The instrument named symbol (NUL-terminated), or XT_NIL (any thread). */
uint32_t xt_server_find_symbol(const xt_server_t *s, const char *symbol);

/* Closes the journal (final snapshot) and frees everything. */
int xt_server_close(xt_server_t *s);

/* Any thread (the md thread): hands fd, a connected socket, to the gateway
 * as an order-entry connection; it greets it with HELLO. trusted: a REST
 * bridge, whose LOGIN is taken without a signature or clock check (the
 * caller has authenticated the account). Returns 0, or XT_ELIMIT (fd not
 * taken: the hand-over queue is full or the server is stopping). */
int xt_gateway_adopt(xt_server_t *s, int fd, int trusted);

/* gw_reload.c: SIGHUP, on the gateway thread. Opens log.file again, and
 * starts reading the config again with s->reload on a thread of its own;
 * xt__gw_reload_poll, called by the gateway's loop, then applies what can
 * change while running: the credentials (the file read again),
 * limits.rate, limits.burst, limits.open_orders, and the price bands
 * (queued to the engine: gw_bands.c). Anything that cannot be
 * read leaves every setting as it was. Reports one event in the log (with
 * the first other key the file changed, which needs a restart).
 * xt__gw_reload_destroy waits for a load under way and frees it. A
 * SIGHUP once the stop began, and a load it cuts short, reload nothing:
 * xt__gw_reload_too_late says so in the log. */
void xt__gw_reload(xt_server_t *s);
void xt__gw_reload_poll(xt_server_t *s);
void xt__gw_reload_destroy(xt_server_t *s);
void xt__gw_reload_too_late(void);

/* gw_admin.c: the admin Unix socket (server.admin_socket), served by the
 * gateway thread. Open after xt_gateway_init (creates the socket, mode
 * 0600, replacing a stale one; nothing when the key is off); close removes
 * the socket file. Returns 0 or -1 with why. */
/* Before recovery: the admin socket's path is free (or a stale socket's)
 * and, when configured, its directory usable; -1 and why if not. */
int xt__gw_admin_precheck(const xt_server_t *s, char *why, size_t whylen);
int xt__gw_admin_open(xt_server_t *s, char *why, size_t whylen);
void xt__gw_admin_close(xt_server_t *s);

/* engine_thread.c */
#define XT_CANCEL_ROUND 4096 /* orders a mass cancel collects at a time */
int xt_engine_thread_start(xt_server_t *s);
void xt_engine_thread_join(xt_server_t *s);
/* Queues r for the engine thread. Returns its ticket (ring index + 1: its
 * answer is released once `answered` reaches it), or 0 when the ring is
 * full - for r's kind: new orders, amends and status questions leave a
 * reserve to cancels, client cancels one to the server's own. */
uint64_t xt_req_push(xt_server_t *s, const xt_req_t *r);
/* Any thread: wakes the engine thread if it is parked (once per park). */
void xt_engine_wake(xt_server_t *s);

/* engine_thread.c: the engine's event sink (sessions, then market data). */
void xt_server_sink(void *ctx, const xt_event_batch_t *b);

/* md_server.c: the market-data thread, its HTTP/WebSocket port and its
 * binary TCP port (md_tcp.c). */
int xt_md_server_open(xt_server_t *s, char *why, size_t whylen); /* listens; before the engine thread starts */
int xt_md_server_start(xt_server_t *s);
void xt_md_server_stop(xt_server_t *s); /* joins */
void xt_md_server_close(xt_server_t *s);

/* server.c: 0, or -1 with why when the system clock is further behind
 * the market's time than server.clock_hold_max_s (clock.h). */
int xt_server_clock_check(const xt_server_t *s, char *why, size_t n);

/* gateway.c */
int xt_gateway_init(xt_server_t *s);
int xt_gateway_run(xt_server_t *s); /* returns when stopped */
void xt_gateway_destroy(xt_server_t *s);

/* A hint inside a spin-wait (server.busy_poll_us): x86's PAUSE, which
 * leaves the core's pipeline to its sibling hyperthread and keeps the
 * loop's exit from being mispredicted; nothing elsewhere but a compiler
 * barrier. */
static inline void xt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#endif
