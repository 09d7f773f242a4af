/* md_internal.h - the market-data thread's state, shared by its files:
 * md_conn.c (message pool, connection queues, subscriptions),
 * md_publish.c (encoding, fan-out, throttled channels), md_server.c (the
 * loop, HTTP upgrade, commands, lifecycle) and md_tcp.c (the binary
 * protocol's connections, docs/md-binary.md). Only that thread touches any
 * of it. */
#ifndef XT_SERVER_MD_INTERNAL_H
#define XT_SERVER_MD_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fd_budget.h"
#include "gw_counts.h"
#include "histogram.h"
#include "md/md.h"
#include "md_encode.h"
#include "md_fills.h"
#include "md_history.h"
#include "net/ws.h"
#include "rest_auth.h"
#include "sent.h"
#include "server.h"
#include "xt/decimal.h"

#define NIL UINT32_MAX
#define QNODES_PER_CONN 32     /* queue nodes in the shared pool per allowed connection */
#define QNODES_SHARED 65536    /* and beyond those, for all connections together ... */
#define QNODES_SHARED_MAX 4096 /* ... of which one connection holds this many at most */
#define QNODES_CONN_MAX (QNODES_PER_CONN + QNODES_SHARED_MAX) /* a connection's queue at most */
/* Pooled messages in three sizes (frame header + payload): most updates fit
 * the first, snapshots of deep books need the last. */
enum { MSG_TINY, MSG_SMALL, MSG_MEDIUM, MSG_LARGE, MSG_CLASSES };
#define TINY_BYTES ((size_t)512)
#define SMALL_BYTES ((size_t)4096)
#define MEDIUM_BYTES ((size_t)32768)
#define LARGE_MIN ((size_t)256 * 1024)            /* or a whole book of md.max_levels per side, if larger */
#define LEVEL_TEXT_MAX (2 * XT_DECIMAL_BUFSZ + 8) /* ["price","qty"], */
#define N_LARGE 64
#define XT_MDS_TRADE_BATCH 128 /* live trades in one message at most (a medium one) */
#define EV_LISTEN ((uint64_t)NIL + 1)
#define EV_FEED ((uint64_t)NIL + 2)
#define EV_STOP ((uint64_t)NIL + 3)
#define EV_LISTEN_BIN ((uint64_t)NIL + 4)

/* Throttles: a channel is KIND.SYMBOL with an optional @100ms / @1000ms. */
enum { XT_TH_LIVE, XT_TH_100MS, XT_TH_1000MS, XT_TH_COUNT };
#define XT_TH_TICK_NS 100000000LL /* the throttles' clock */

typedef struct msg {
    uint8_t *data;
    uint32_t len, refs, next_free;
    uint8_t cls;
    int64_t ev_ts; /* a live update's engine timestamp (xt_md_send_lag_seconds); 0: any other message */
} msg_t;

/* A connection's output queue is a list of nodes from a shared pool, so it
 * is bounded by md.output_limit in bytes, not by a count per connection. */
typedef struct qnode {
    uint32_t msg, next;
} qnode_t;

typedef struct sub {
    uint32_t conn, ch;
    uint32_t ch_prev, ch_next; /* in the channel's list */
    uint32_t conn_next;        /* in the connection's list */
    uint8_t stale;             /* a snapshot is owed: updates are skipped until it is queued */
} sub_t;

enum { C_FREE, C_HTTP, C_WS, C_CLOSING, C_BIN };

typedef struct mconn {
    int fd;
    uint8_t state, pong_due, dirty, has_stale, want_out, owed;
    uint8_t shut;       /* its last message (a CLOSE, a binary ERROR) is queued: nothing may follow it */
    uint8_t fin;        /* ... and written: the write side is shut, the socket closes at the client's end of input */
    uint8_t in_paused;  /* not read (no EPOLLIN): HTTP, its buffer full behind a waiting REST order request;
                           WebSocket, its order-entry bridge full or its own queue (xt_mds_oe_input_room) */
    uint8_t oe_backlog; /* ... paused for the answers in its own queue: read on once it drains (flush_conn) */
    uint8_t oe_hold;    /* ... paused behind a login the gateway has not answered: the bytes read after it wait
                           in `in` (xt_mds_ws_release) */
    uint32_t subs, n_subs, next_dirty, next_owed; /* owed: on the retry list (a snapshot could not be queued) */
    uint32_t qh, qt, qn, qoff; /* queue: first and last node, count; bytes of qh's message already sent */
    uint64_t out_bytes;
    uint32_t in_len, msgs_this_sec;
    int64_t sec_start; /* m->mono: when the messages_per_s window began */
    xt_ws_reader_t rd;
    uint8_t *in; /* from wsp (md.max_message bytes) or NULL: C_HTTP: the request head so far; binary: the
                  * part of a frame that has come, while there is one; WebSocket: what came behind a login
                  * waiting for its answer (oe_hold) */
    /* the binary protocol (md_tcp.c) */
    uint8_t bin;               /* accepted on md.tcp_listen: C_BIN, then C_CLOSING */
    uint8_t ws;                /* upgraded to WebSocket (counted in xt_connections{protocol="md_ws"}) */
    uint16_t http_reqs;        /* plain HTTP requests answered on this connection (md_http.c) */
    uint8_t http_wait;         /* a REST order request waits for its answer: nothing more is read as requests */
    uint8_t http_serving;      /* inside xt_mds_http_serve (a deferred answer that comes at once is not re-entered) */
    uint8_t http_eof;          /* the client's end of input came: what it sent is answered, then it closes */
    uint8_t http_backlog;      /* not read nor served while the answers queued before fill half its queue:
                                  read on once they are written (xt_mds_http_drained) */
    xt_sent_t sent;            /* what it was written and has taken (sent.h; md_server.c timers) */
    uint32_t oe;               /* its order-entry bridge + 1 (md_oe.c), 0: none */
    uint32_t oe_pend;          /* the REST order request it waits for + 1, 0: none */
    int64_t last_in, last_out; /* m->mono when bytes last came in / a message was last queued or bytes written */
    int64_t req_start;         /* m->mono when the request being read (head or body) began to come; 0: none */
    uint32_t ip;               /* the peer's IPv4 address, host order (0: not IPv4) */
} mconn_t;

typedef struct inst_pub {
    xt_md_sym_t sym[XT_TH_COUNT]; /* one per throttle: the channel name's suffix */
    uint64_t depth_seq[3];        /* seq of the last depth5/10/20 message */
    uint32_t nb[3], na[3];
    xt_md_level_t top[3][2][20]; /* last published top-N per side */
    uint8_t top_valid[3];        /* 0: nobody subscribed to depthN at the last book change; top is stale */
    int64_t bb, bbq, ba, baq;    /* last published bbo */
    uint64_t bbo_seq;
    /* the latest time of its updates (a candle the clock closed may be
     * later than an order taken before it and read after it): the ts of
     * snapshots and throttled messages, and the least a live ticker's */
    int64_t last_ts;
    uint8_t halted; /* the status the last ticker told (xt_mds_halts_tick) */
    /* the price band in force, ticks, 0: none: at start order entry's
     * frame's, then as the engine's INSTRUMENT events tell it, in their
     * place among the commands (xt_mds_take_band), so that one ticker
     * tells a move's previous close and band together */
    int64_t band_low, band_high;
    uint8_t band_moved;  /* since the last WebSocket ticker: sent at its command's end (xt_mds_bands_tell) */
    uint8_t frame_moved; /* frame's band, since the instrument channel last had it (xt_mds_halts_tick) */
    /* order entry's INSTRUMENT frame as market data last read it: the
     * binary greeting, the instrument channel's snapshot and its pushes
     * all send this one, with `halted` */
    uint8_t frame[XT_LEN_INSTRUMENT];
} inst_pub_t;

/* A throttled channel's state. */
typedef struct ch_state {
    uint8_t pending;        /* changed since its last message; listed in pending[] */
    uint64_t last_trade_id; /* trades@: the last trade id sent */
} ch_state_t;

struct xt_md_server {
    xt_server_t *s;
    xt_md_t md;
    xt_md_history_t *hist; /* K-line history files; NULL when md.history is off */
    int ep, lfd, stop_efd;
    uint32_t max_conns;
    mconn_t *conns;
    xt_ws_pool_t *wsp; /* scratch shared by the connections: HTTP heads, then WebSocket readers mid-frame */
    uint32_t free_conn, n_conns, dirty_head, owed_head;
    sub_t *subs;
    uint32_t n_sub_cap, free_sub;
    uint32_t n_ch;                  /* n_inst * XT_CH_KINDS * XT_TH_COUNT */
    uint32_t *ch_head;              /* per channel: first sub */
    ch_state_t *chs;                /* per channel */
    uint32_t *pending[XT_TH_COUNT]; /* per throttle: channels changed since the last tick */
    uint32_t n_pending[XT_TH_COUNT];
    uint32_t n_inst;
    inst_pub_t *pub;
    qnode_t *qnodes;
    uint32_t n_qnodes, free_qnode;
    msg_t *msgs;
    size_t msg_bytes[MSG_CLASSES]; /* buffer size of each class */
    uint8_t *msg_mem[MSG_CLASSES];
    uint32_t msg_count[MSG_CLASSES], msg_free[MSG_CLASSES];
    int64_t now;     /* the loop's wall clock (xt_now_ns): messages' times, candles, the throttle ticks */
    int64_t horizon; /* what candles and the timeline are closed at: now, held at a batch under way (md_feed.h) */
    int64_t mono;    /* the loop's monotonic clock: every interval (pings, idle, rate windows, heartbeats) */
    int64_t last_ping, last_advance, last_tick; /* xt_mono_ns */
    uint8_t clock_behind;                       /* the wall clock was last seen behind the market's (logged) */
    uint64_t ticks;
    char *scratch; /* encode buffer, msg_bytes[MSG_LARGE] */
    xt_md_level_t *lv_b, *lv_a;
    xt_md_trade_t *tape; /* tape_cap entries */
    /* The live trades of the command being read, of one instrument, sent as
     * one message per channel (md_publish.c, xt_mds_flush_trades): a sweep
     * of thousands of levels is not thousands of messages per subscriber. */
    uint32_t tape_cap;
    uint32_t n_trade_batch, trade_batch_slot; /* the last n of the slot's tape (md) */
    uint32_t hog_none_at;     /* q_shared when evict_hog last found nobody to close: not looked again below it */
    int64_t evict_rest_until; /* md_publish.c evict_buffer_holder: closes that freed no buffer rest until then */
    uint32_t q_shared;        /* queue nodes connections hold beyond their QNODES_PER_CONN (md_conn.c) */
    uint64_t drops, slow_closes, conflations; /* conflations: subscriptions that fell behind (md_publish.c) */
    xt_hist_t feed_lag;                       /* µs from each command's engine timestamp to its reading here */
    xt_hist_t send_lag;  /* µs from a live update's engine timestamp to the writev that ends a copy of it */
    int64_t ev_ts;       /* the engine timestamp of the feed records being consumed (drain_feed), else 0 */
    uint64_t resyncs;    /* feed overflows: the books were sent again */
    struct {             /* md_state.c: the md-state files */
        uint8_t *buf;    /* the last one encoded (reused) */
        size_t cap, len; /* buf's size, the file's */
        uint64_t seq;    /* of the file in buf */
        uint64_t hist;   /* the K-line history's flush it waits for (xt_md_history_wait): 0 none */
        pthread_t th;    /* the helper thread writing it */
        int running;     /* th to be joined */
        _Atomic uint64_t written, failures;
        uint64_t last_us;          /* the md thread's time on the last one begun (its size: len) */
        _Atomic uint64_t write_us; /* finish_encoding and the write of the last one (on the helper) */
    } save;
    int checkpoints_off;  /* this run lost trades on the way here: no md-state from now on */
    uint8_t bands_untold; /* some pub[].band_moved is set: its WebSocket ticker is due (xt_mds_bands_tell) */
    /* the binary protocol (md_tcp.c) */
    int bin_lfd;
    uint32_t bin_hi;                /* binary connections are in slots below this */
    uint32_t *bin_list, n_bin_list; /* the INSTRUMENT frames: messages held for every greeting */
    uint32_t *bin_list_next;        /* as large: the next list is made into it (make_list), then they swap */
    uint8_t bin_list_stale;         /* a halt or resume is not in them yet (the pool was empty) */
    uint32_t bin_list_gen;          /* the bands_gen of the frames they were made of (a band moved since: again) */
    uint32_t bands_gen;             /* the frames_gen pub[].frame were read at (xt_mds_frames_read) */
    int64_t bin_last_scan;
    /* plain HTTP (md_http.c): a body (the metrics text, a REST answer) in http_body, a whole response in
     * http_out (the body and its head) */
    char *http_body, *http_out;
    size_t http_cap, http_out_cap; /* their sizes: http_out_cap = http_cap + 1024 */
    uint64_t ws_opened, ws_closed, bin_opened, bin_closed;
    xt_gw_counts_t ip_conns;               /* open connections per IPv4 source address */
    xt_fd_spare_t spare;                   /* for a client that comes when no descriptor is left (fd_budget.h) */
    uint64_t refused_full, refused_per_ip; /* connections refused: md.max_connections, .._per_ip */
    uint64_t bytes_in, bytes_out;          /* on every md connection: WebSocket, plain HTTP, binary */
    struct xt_oe *oe;                      /* order entry through this port (md_oe.h) */
    /* the private REST endpoints (md_rest.c, docs/rest.md) */
    xt_replay_cache_t replay; /* signatures seen within rest.recv_window_ms */
    xt_fills_t fills;         /* each account's newest fills, from the feed's trades */
};

typedef struct xt_md_server mds_t;

/* md_conn.c: messages */
uint32_t xt_mds_msg_make(mds_t *m, int opcode, const char *payload, size_t len); /* NIL when the pool is empty */
uint32_t xt_mds_msg_alloc(mds_t *m, size_t payload);
void xt_mds_msg_unref(mds_t *m, uint32_t i);
void xt_mds_msg_drop_if_unused(mds_t *m, uint32_t i); /* after a fan-out that queued it nowhere */
/* md_conn.c: connections */
/* 0; XT_MDS_FULL when c is over its own limits (md.output_limit, its
 * share of the queue nodes, a last message queued); XT_MDS_NO_POOL when the
 * nodes all connections share are used up - no fault of c's. */
enum { XT_MDS_FULL = -1, XT_MDS_NO_POOL = -2 };
int xt_mds_enqueue(mds_t *m, uint32_t c, uint32_t i);
/* The same for an update that can be conflated: XT_MDS_FULL already at
 * three quarters of c's limits (messages and md.output_limit), so that the
 * last quarter is kept for what cannot be - trades, answers. Else one
 * engine batch (a mass cancel of thousands of orders: a depth delta each on
 * every depth channel) filled the queue before the socket could drain it,
 * and the trade behind it closed a client reading as fast as it could. */
int xt_mds_enqueue_conflatable(mds_t *m, uint32_t c, uint32_t i);
/* The same without md.output_limit's check: for the pieces of an answer
 * the caller admitted whole (md_http.c: an answer alone may pass the limit,
 * and cut after its first piece it would be spoilt). */
int xt_mds_enqueue_admitted(mds_t *m, uint32_t c, uint32_t i);

/* Writes what c's socket takes of its queue at once, in the middle of a
 * fan-out: for a message that cannot be conflated (trades) and finds the
 * queue full - one engine batch's trades (a sweep of thousands of orders)
 * are all made before the loop comes round to write, and a client that
 * reads as fast as it can has had no chance to. The rest of what a drained
 * queue brings (owed snapshots, order sessions read on) waits for
 * xt_mds_flush_dirty as before. Returns 0, or -1 when the socket failed. */
int xt_mds_write_now(mds_t *m, uint32_t c);
/* A text message to c alone: 0, XT_MDS_FULL or XT_MDS_NO_POOL (also when
 * no message buffer is free). */
int xt_mds_reply(mds_t *m, uint32_t c, const char *text, size_t len);
/* A command's answer to c: text (a WebSocket text message) or frames
 * (binary). One that cannot be queued closes c saying why - 1008 "slow
 * consumer" when its own queue is full (it sends commands and does not
 * read the answers), 1013 "server busy" when the shared pools are out - so
 * that no command is left without an answer on a connection that stays
 * open. Returns 0, or -1 when c is closing or closed (by this, or before):
 * nothing more is to be done for it (no snapshot owed). */
int xt_mds_answer(mds_t *m, uint32_t c, const char *text, size_t len);
int xt_mds_answer_raw(mds_t *m, uint32_t c, const void *frames, size_t len);
/* md_server.c: {"id":ID,"error":{"code":CODE,"msg":"MSG"}} to c (id already JSON: a number, a string or null) */
void xt_mds_answer_error(mds_t *m, uint32_t c, const char *id, int code, const char *msg);
/* Counts a request of c (a WebSocket command, a binary request, a REST call) against md.messages_per_s in
 * the current second; 1 when it is over. */
int xt_mds_over_rate(mds_t *m, uint32_t c);
void xt_mds_send_direct(mds_t *m, uint32_t c, const uint8_t *p, size_t n);
/* Sends the framed bytes f as the connection's last message, then closes
 * it (a CLOSE, a binary ERROR). Behind what is queued, so that the answers
 * to the client's earlier requests still reach it; with drop (a client
 * that does not keep up), or when the queue is at md.output_limit, behind
 * only the message partly on the wire, the rest of the queue dropped. */
void xt_mds_close_after(mds_t *m, uint32_t c, const uint8_t *f, size_t n, int drop);
void xt_mds_close(mds_t *m, uint32_t c);
/* Closes with a CLOSE of code and reason (binary: an ERROR), through
 * xt_mds_close_after; what is queued is dropped only for 1008 (slow
 * consumer, no pong), 1001 (the server stopping) and the binary
 * HEARTBEAT_TIMEOUT. */
void xt_mds_close_with(mds_t *m, uint32_t c, uint16_t code, const char *reason);
/* The same for a peer presumed gone (no pong, no heartbeat): the CLOSE (or
 * ERROR) goes if the socket takes it now, and the connection closes at
 * once instead of lingering for the peer's end of input. */
void xt_mds_close_gone(mds_t *m, uint32_t c, uint16_t code, const char *reason);
void xt_mds_mark_dirty(mds_t *m, uint32_t c);
/* c read or not (EPOLLIN on or off; its EPOLLOUT kept): off while an HTTP
 * connection's buffer is full of requests pipelined behind one that waits
 * for the gateway (on again by xt_mds_http_deferred once there is room),
 * or while a WebSocket's order-entry bridge is full (md_oe.c). Never on
 * while a login holds the input (oe_hold): xt_mds_ws_release turns it on. */
void xt_mds_set_input(mds_t *m, uint32_t c, int on);
/* Where c's queue ends now, and taking back what was queued to it since
 * (nothing of it written: no write may come between), so that a message in
 * several pieces is queued whole or not at all. */
typedef struct xt_mds_mark {
    uint32_t qn, qt;
} xt_mds_mark_t;
xt_mds_mark_t xt_mds_queue_mark(const mds_t *m, uint32_t c);
void xt_mds_unqueue_to(mds_t *m, uint32_t c, xt_mds_mark_t at);
/* md_publish.c: the buffers are all in use: the subscriber with the most
 * bytes queued is closed as a slow consumer. 0 when nobody holds any. */
int xt_mds_evict_buffer_holder(mds_t *m);
/* md_server.c: c's login (order entry) is answered, or will not be: the
 * commands held behind it (oe_hold) are read now, and c's input goes on.
 * Nothing held: nothing done. */
void xt_mds_ws_release(mds_t *m, uint32_t c);
void xt_mds_owe_snapshot(mds_t *m, uint32_t sub); /* sent from the flush once the queue has drained */
void xt_mds_retry_owed(mds_t *m);                 /* each throttle tick: owed connections flush again */
void xt_mds_flush_dirty(mds_t *m);
/* md_conn.c: subscriptions */
uint32_t xt_mds_find_sub(mds_t *m, uint32_t c, uint32_t ch);
uint32_t xt_mds_subscribe(mds_t *m, uint32_t c, uint32_t ch); /* NIL when the table is full */
int xt_mds_unsubscribe(mds_t *m, uint32_t c, uint32_t ch);
void xt_mds_unsubscribe_all(mds_t *m, uint32_t c);

/* md_publish.c */
static inline uint32_t xt_mds_ch(uint32_t slot, int kind, int th)
{
    return (slot * XT_CH_KINDS + (uint32_t)kind) * XT_TH_COUNT + (uint32_t)th;
}
/* Channel ch's snapshot to c: 0, or XT_MDS_FULL / XT_MDS_NO_POOL. When the
 * buffers are all in use the subscriber holding the most is closed first,
 * as for an update. admitted: queued past md.output_limit (the caller made
 * room for it: xt_mds_snapshots_fit). */
int xt_mds_send_snapshot(mds_t *m, uint32_t c, uint32_t ch, int admitted);
/* 1 when the snapshots of chs[0..n) that c does not subscribe (sent at
 * once, not owed), and an answer, fit c's queue now (xt_mds_room). */
int xt_mds_snapshots_fit(mds_t *m, uint32_t c, const uint32_t *chs, uint32_t n);
/* 1 when `bytes` more in `msgs` messages fit c's queue (md.output_limit -
 * or the queue is empty and they are one message and its answer - and its
 * messages), after writing what the socket takes; 0 when not, or c is
 * closing. */
int xt_mds_room(mds_t *m, uint32_t c, uint64_t bytes, uint32_t msgs);
/* An answer's xt_mds_reply(_raw) result rc, as xt_mds_answer takes it: 0;
 * else c is closed 1008 / 1013 (or was closing): -1. */
int xt_mds_answered(mds_t *m, uint32_t c, int rc);
void xt_mds_on_update(void *ctx, const xt_md_update_t *u); /* the md sink */
void xt_mds_flush_trades(mds_t *m); /* the trades on_update holds back, out (after the feed is read) */

/* Is instrument i halted now (the admin socket's flag, docs/admin.md)? */
static inline int xt_mds_halted(const mds_t *m, uint32_t i)
{
    return i < m->s->n_instruments && atomic_load_explicit(&m->s->halted[i], memory_order_relaxed);
}

/* What instrument i's ticker says of trading: halted (as given) and its
 * price band in force (pub[]). */
static inline xt_md_trading_t xt_mds_trading(const mds_t *m, uint32_t i, int halted)
{
    return (xt_md_trading_t){halted, m->pub[i].band_low, m->pub[i].band_high};
}

/* Every 100 ms: an instrument halted or resumed since sends its ticker
 * again with the new status; one whose frame's band moved since, or
 * whose status changed, its INSTRUMENT on the binary instrument channel. */
void xt_mds_halts_tick(mds_t *m);
/* The feed's INSTRUMENT event e (a band move, or a resync's band in
 * force): the band it carries becomes pub[].band_low/high, before md
 * takes the event (its previous close), so the ticker that follows tells
 * both. */
void xt_mds_take_band(mds_t *m, const xt_event_t *e);
/* At the end of a command taken from the feed: a band that moved without
 * a ticker going out since (prev_close stayed) sends the ticker now,
 * stamped ts (the command's; never before the instrument's latest
 * update). A move is a command of its own, always its last record (a
 * lost one comes with its book's resync, which ends in a last record
 * too). */
void xt_mds_bands_tell(mds_t *m, int64_t ts);
/* The binary greeting's INSTRUMENT frames made again with each
 * instrument's told status (md_tcp.c). */
void xt_mds_bin_list_refresh(mds_t *m);
/* Instrument slot's INSTRUMENT frame into out (XT_LEN_INSTRUMENT bytes):
 * order entry's as market data last read it, with the status it has told
 * (md_tcp.c). */
size_t xt_mds_bin_instrument(mds_t *m, uint32_t slot, uint8_t *out);
/* pub[].frame read from order entry's frames, when a reload has moved a
 * band since (frames_gen; md_publish.c): a changed band's INSTRUMENT is
 * sent again on the binary instrument channel (pub[].frame_moved). */
void xt_mds_frames_read(mds_t *m);
/* At start: pub[].frame and the band in force (band_low/high) from them. */
void xt_mds_frames_start(mds_t *m);
/* md_state.c: the md-state files of the data directory (docs/journal-format.md) */
void xt_mds_state_load(mds_t *m);                     /* at start, before the books: the day goes on */
void xt_mds_state_checkpoint(mds_t *m, uint64_t seq); /* md thread: a snapshot began after seq */
void xt_mds_state_save(mds_t *m);                     /* once the md thread has stopped */
void xt_mds_state_close(mds_t *m);                    /* the helper thread joined, the buffer freed */
void xt_mds_throttle_tick(mds_t *m);                  /* every XT_TH_TICK_NS */

/* md_http.c: a request that is not a WebSocket upgrade, its head
 * head_len bytes of c->in and its body the body_len bytes after. Returns 0
 * when the connection stays in C_HTTP for the next request (the bytes after
 * the request moved to the start of c->in), 1 when it waits for a REST
 * order's answer (xt_mds_http_deferred; nothing more is read as requests
 * meanwhile), -1 when it is closed or closing. */
int xt_mds_http_serve(mds_t *m, uint32_t c, const xt_http_req_t *req, size_t head_len, size_t body_len);
/* md_http.c: 1 when c's queued answers fill half of md.output_limit (or of
 * its messages): the request waits, neither served nor read, until they
 * are written (xt_mds_http_drained); else 0. */
int xt_mds_http_wait_backlog(mds_t *m, uint32_t c);
/* md_http.c: the answer to a request that waited (xt_mds_oe_rest); the
 * connection then reads its next request, or closes unless keep. */
void xt_mds_http_deferred(mds_t *m, uint32_t c, const char *p, size_t n, int keep);
/* The last answer on an HTTP connection (an error about its request): it
 * goes behind the answers still queued, then the connection closes; at
 * once when nothing is queued (best effort). */
void xt_mds_http_last(mds_t *m, uint32_t c, const char *p, size_t n);
/* md_http.c: the server stops: plain HTTP connection c reads no more
 * requests; the answers queued go (md_server.c stop_drain), then the close. */
void xt_mds_http_stop(mds_t *m, uint32_t c);
/* md_http.c: c's queue held half of md.output_limit (http_backlog) and has
 * drained: the requests pipelined behind are served, and c read again. */
void xt_mds_http_drained(mds_t *m, uint32_t c);

/* The client's end of input on plain HTTP connection c (a half-close
 * behind its requests: HTTP/1.0 clients, `nc -N`): its requests are
 * answered - a REST order waiting for the gateway too - then c closes; a
 * request cut short by the end is dropped. */
void xt_mds_http_input_ended(mds_t *m, uint32_t c);

/* Called where xt_mds_on_http needs more bytes: after the client's end of
 * input none come, and c closes behind its answers. Returns 1 then. */
int xt_mds_http_ends_here(mds_t *m, uint32_t c);
/* The length of answer p[0..n) without its body: the answer to a HEAD
 * request (RFC 9110), its Content-Length still the body's. */
size_t xt_mds_http_head_only(const char *p, size_t n);
/* md_server.c: the request heads (and bodies) c has received, in turn. */
void xt_mds_on_http(mds_t *m, uint32_t c);
/* md_rest.c: a request for a path under /api/ (docs/rest.md), with its
 * body (body_len bytes; NULL when 0): the whole response into m->http_out.
 * Returns its length, XT_REST_DEFERRED (md_oe.h) when an order-entry
 * answer will be queued later, or a negative error. */
int xt_mds_rest_answer(mds_t *m, uint32_t c, const xt_http_req_t *req, const char *body, size_t body_len, int keep);
/* md_rest.c: the private endpoints' state (replay cache, fills), sized by
 * rest.*; 0 or -1 (out of memory). Destroy: after the thread stopped. */
int xt_mds_rest_init(mds_t *m);
void xt_mds_rest_destroy(mds_t *m);
/* md_klines.c: the body of /api/v1/klines for in into m->http_body (its
 * length; 0 when it does not fit), *code 200; or *code 400 with why. */
size_t xt_mds_klines_body(mds_t *m, const xt_md_inst_t *in, const char *query, char *why, size_t whylen, int *code);
/* The Prometheus text (docs/metrics.md) into out. Returns its length or
 * XT_ERANGE when cap is too small. */
int xt_mds_metrics_render(const mds_t *m, char *out, size_t cap);
/* The buffer size for n_inst instruments. */
size_t xt_mds_http_cap(uint32_t n_inst);

/* md_server.c: listens on the socket xt_server_open bound to host:port (ports.h) and takes it from *bound_fd
 * into *fd; key names it in why. 0 or -1. */
int xt_mds_listen(const char *key, const char *host, uint16_t port, int *bound_fd, int *fd, char *why, size_t n);
/* md_conn.c: drops what c has queued but the part of a message already on the wire */
void xt_mds_drop_queue(mds_t *m, uint32_t c);
/* md_tcp.c: the binary protocol (docs/md-binary.md) */
static inline int xt_mds_kind_bin(int kind)
{
    return kind >= XT_CH_BIN_BBO;
}
uint32_t xt_mds_msg_raw(mds_t *m, const void *frames, size_t len); /* framed bytes; NIL when the pool is empty */
int xt_mds_reply_raw(mds_t *m, uint32_t c, const void *frames, size_t len);
int xt_mds_bin_open(mds_t *m, char *why, size_t n); /* after the epoll set exists; md.tcp_listen off: nothing */
void xt_mds_bin_close(mds_t *m);
void xt_mds_bin_refuse(mds_t *m, int fd, const char *why); /* over a connection limit: ERROR, close */
void xt_mds_bin_greet(mds_t *m, uint32_t c);               /* a new connection: MD_HELLO, INSTRUMENTs */
void xt_mds_bin_read(mds_t *m, uint32_t c);                /* EPOLLIN */
void xt_mds_bin_timers(mds_t *m);                          /* heartbeats */
/* ERROR (code: XT_ERR_*, or the WebSocket code the shared code passes:
 * 1001 SHUTDOWN, 1008 SLOW_CONSUMER), then the close. */
void xt_mds_bin_close_with(mds_t *m, uint32_t c, uint16_t code, const char *reason);

#endif
