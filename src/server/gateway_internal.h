/* gateway_internal.h - the order-entry gateway's own state (the I/O
 * thread's; nothing here is touched by another thread), shared by its
 * files:
 *
 *   gateway.c      the epoll loop, connections, output, requests, routing
 *                  of released outlog messages, timers
 *   gw_login.c     LOGIN, takeover, and the resume cursor that refills a
 *                  connection from the outlog as its socket drains
 *   gw_sessions.c  the session table, sessions per account, and the session
 *                  lifecycle (docs/protocol.md#session-lifecycle)
 *   gw_admin.c     the admin Unix socket (docs/admin.md)
 *   gw_counts.c    the count tables of the limits per account and per
 *                  source address (gw_counts.h)
 */
#ifndef XT_SERVER_GATEWAY_INTERNAL_H
#define XT_SERVER_GATEWAY_INTERNAL_H

#include <stdint.h>

#include "fd_budget.h"
#include "gw_counts.h"
#include "sent.h"
#include "server.h"

#define XT_GW_CHUNK 16384
#define XT_GW_RBUF 65536 /* the read buffer all connections share */
#define XT_GW_SWEEP 4096 /* sessions the lifecycle sweep looks at per timer tick */

typedef struct xt_gw_chunk {
    struct xt_gw_chunk *next;
    uint32_t start, end;
    uint8_t data[XT_GW_CHUNK - 24];
} xt_gw_chunk_t;

/* C_LOGIN_WAIT: the login checked out, but requests the session sent on an
 * earlier connection are still unanswered; it is accepted once their
 * answers are released, so that they are among the resent messages.
 * C_CLOSING: its last output (ERROR, LOGOUT_ACK) queued; once that is
 * written (a bridge from the md thread is closed then) the write side is
 * shut (fin) and it is closed at the client's
 * end of input or once the client has it all; closed without it when the
 * socket takes nothing for 3 heartbeat intervals. */
enum { C_FREE = 0, C_HELLO, C_LOGIN_WAIT, C_LIVE, C_CLOSING };
/* What a live connection does once its session's answers are out (close_after). */
enum { C_AFTER_NONE = 0, C_AFTER_LOGOUT, C_AFTER_KICK };

typedef struct xt_gw_conn {
    int fd;
    uint8_t state;
    uint8_t cod;
    uint8_t status_updates; /* LOGIN flag: INSTRUMENT again at each halt or resume */
    uint16_t inlen;         /* bytes of a partial frame kept in `in` */
    uint32_t sess;          /* gateway session index, XT_NIL before login */
    uint32_t ip;
    uint32_t heartbeat_ms;
    int64_t opened, last_recv, last_send;
    xt_sent_t sent; /* what it was written and has taken (sent.h: a slow reader is still being sent to) */
    xt_gw_chunk_t *out_head, *out_tail;
    uint64_t out_bytes;
    uint8_t nonce[16];
    xt_msg_login_t login; /* C_LOGIN_WAIT: the login to finish (then, the login it made) */
    uint8_t dirty;
    uint8_t want_out;  /* EPOLLOUT is armed: output waits for the socket */
    uint8_t unlimited; /* its last word (ERROR, LOGOUT_ACK, LOGIN_REJECTED): past output_limit, in `last` if need be */
    uint8_t fin;       /* C_CLOSING, its last output written: the write side is shut, input dropped (shut) */
    uint8_t resuming;  /* the resume cursor below is still behind the live stream */
    /* its LOGOUT or a kick came with requests in flight (C_AFTER_*): the
     * LOGOUT_ACK or ERROR KICKED waits for their answers, and nothing read
     * after it is taken (xt__gw_close_after) */
    uint8_t close_after;
    uint8_t adopted; /* handed over by the md thread (xt_gateway_adopt): no source address */
    uint8_t trusted; /* ... for REST: its LOGIN is not signed (the md thread checked the request) */
    uint32_t next_dirty;
    uint64_t rs_pos;            /* resume: the next outlog position to read */
    uint64_t rs_seq;            /* resume: the last sequenced number queued */
    uint64_t rs_last;           /* resume: the session's last sequenced number at login (before login_pos) */
    uint64_t login_pos;         /* routing position at login: engine answers from here on are this connection's */
    uint8_t last_len, last_off; /* a last word in `last` (no chunk was left for it), written after the queue */
    _Static_assert(XT_WIRE_MAX <= UINT8_MAX, "last_len and last_off count bytes of one message");
    uint8_t last[XT_WIRE_MAX];
    uint8_t in[XT_WIRE_MAX]; /* a partial frame (always shorter than its type's length) */
} xt_gw_conn_t;

typedef struct xt_gw_sess {
    uint32_t account, number; /* account 0: a free entry (hnext links the free list) */
    uint64_t last_seq;        /* last sequenced message routed */
    uint64_t last_pos1;       /* its outlog position + 1 */
    uint64_t last_clordid;    /* highest passed to the engine */
    uint64_t prev_clordid;    /* last_clordid before the latest request raised it (unuse_clordid) */
    uint64_t last_ticket;     /* of its last request queued to the engine (xt_req_push) */
    uint64_t logout_seq;      /* last_seq when LOGOUT was answered */
    uint64_t seen_gen;        /* g->loss_gen when last_seq was last known right (xt__gw_seq_unknown) */
    int64_t gone_ns;          /* monotonic time it lost its connection; 0 while it has one */
    uint32_t conn;
    uint32_t closing_conn; /* its connection's last bytes still leaving (shut), XT_NIL: none (admin's "closing") */
    uint32_t hnext;
    double tokens;
    int64_t refill_ns;
    uint8_t cod_pending; /* in pending_cod */
    uint8_t logged_out;  /* LOGOUT answered with nothing left to send */
    uint8_t ending;      /* XT_REQ_SESSION_END queued; its answer is not routed yet */
    uint8_t admin_mark;  /* gw_admin.c: counted once (0 between its commands) */
} xt_gw_sess_t;

typedef struct xt_gateway {
    xt_gw_conn_t *conns;
    uint32_t *free_next;
    xt_gw_sess_t *sess;
    uint32_t *buckets;
    xt_gw_chunk_t *chunks, *free_chunks; /* the output pool, allocated at start */
    xt_gw_counts_t acct_sessions;        /* sessions per account (gw_sessions.c) */
    xt_gw_counts_t ip_conns;             /* connections per source address; adopted ones are not counted */

    uint32_t *pending_cod; /* sessions whose cancel-on-disconnect waits for ring space */
    uint32_t *waiting;     /* connections waiting for their session's answers: C_LOGIN_WAIT, close_after */
    uint32_t resume_turn;  /* where the next round of resume top-ups begins (gw_login.c) */
    uint32_t *resuming;    /* connections with a resume in progress */
    uint8_t *rbuf;         /* XT_WIRE_MAX + XT_GW_RBUF: a kept partial frame, then what read() returns */
    uint64_t answered;     /* requests below this ticket have their answers routed */
    int64_t stall_logged;  /* the journal_busy_since of a stall the log has told of (timers); 0: none */
    uint64_t probe_ticket; /* the request whose acknowledgement latency is being timed, 0: none */
    int64_t probe_t0;      /* when it was read */
    int64_t spin_until;    /* server.busy_poll_us: epoll is polled, not waited on, until then (0: never) */
    int ep, sfd;
    uint32_t max_conns, n_conns, free_head;
    uint32_t n_sess; /* entries ever used (live or free) */
    uint32_t live_sess, max_sess, free_sess, sweep_at, mask;
    uint32_t n_chunks, chunks_used; /* chunks handed out at least once */
    uint32_t dirty_head;
    uint32_t n_pending_cod, n_waiting, n_resuming;
    int stopping;
    int failed_seen;
    uint64_t loss_gen;           /* outlog positions found written over before they were routed (route_released) */
    uint64_t asks, ask_last;     /* questions about sessions not yet answered (gw_sessions.c ask); the last's ticket */
    struct xt_gw_admin *admin;   /* gw_admin.c; NULL: no admin socket */
    struct xt_gw_reload *reload; /* gw_reload.c: the SIGHUP loader; NULL until the first */
    struct xt_gw_bands *bands;   /* gw_bands.c: the band moves of SIGHUPs; NULL until the first */
    xt_fd_spare_t spare;         /* for a client that comes when no descriptor is left (fd_budget.h) */
} xt_gw_t;

/* gateway.c */
/* Queues a frame to connection i (dropped once it is closing; over
 * output_limit: SLOW_CONSUMER). */
void xt__gw_send(xt_server_t *s, uint32_t i, const uint8_t *f, size_t n);
/* Queues connection i's last message (ERROR, LOGOUT_ACK, LOGIN_REJECTED):
 * past output_limit, and kept in the connection itself when the output
 * pool has no chunk left; the connection closes once it is written
 * (gateway.c shut). Nothing once it is closing. */
void xt__gw_send_last(xt_server_t *s, uint32_t i, const uint8_t *f, size_t n);
/* Sets the epoll events connection i waits for from its state: input,
 * but only its hang-up while its LOGIN waits (C_LOGIN_WAIT: what the
 * client sent behind it stays unread until it is answered; a client gone
 * meanwhile is closed, not logged in); output while some is queued
 * (want_out). */
void xt__gw_events(xt_server_t *s, uint32_t i);
/* Closes connection i now, with a reset: what it still has to send, in
 * its queue or its socket, is dropped. */
void xt__gw_close(xt_server_t *s, uint32_t i);
/* Queues ERROR as the last message. */
void xt__gw_error(xt_server_t *s, uint32_t i, int code, const char *text);
/* The seq an unsequenced message to c carries: the last sequenced number
 * sent on it (a resume's position while one runs). */
uint64_t xt__gw_last_seq(const xt_gw_t *g, const xt_gw_conn_t *c);

/* gw_login.c */
/* A LOGIN frame on connection i. */
void xt__gw_login(xt_server_t *s, uint32_t i, const uint8_t *f, int64_t now);
/* Instrument k was halted or resumed: INSTRUMENT k with its new status to
 * every logged-in connection that asked for it at its LOGIN. */
void xt__gw_status_update(xt_server_t *s, uint32_t k, int halted);

/* gw_bands.c: the price bands a reload's config moved (next: its config),
 * queued to the engine; returns how many (-1: out of memory). The poll,
 * from the gateway's loop, sends what the ring had no room for. The
 * answer comes routed as an XT_OL_BAND control slot: instrument i's move
 * made (rc 0) or refused (an XT_E* code). */
int xt__gw_bands_reload(xt_server_t *s, const xt_server_config_t *next);
void xt__gw_bands_poll(xt_server_t *s);
void xt__gw_band_answer(xt_server_t *s, uint32_t i, int rc);
void xt__gw_bands_destroy(xt_server_t *s);
/* Finishes the waiting logins (and LOGOUTs, and kicks) whose sessions
 * have all their answers out. */
void xt__gw_finish_waiting(xt_server_t *s, int64_t now);
/* Live connection i's LOGOUT_ACK or ERROR KICKED (C_AFTER_LOGOUT, _KICK)
 * waits for the engine's answers to the requests it sent before, when
 * some are still to come, and a LOGOUT_ACK for the resume still running:
 * 1 (listed in `waiting`; xt__gw_finish_waiting sends it), else 0 (send
 * it now). */
int xt__gw_close_after(xt_server_t *s, uint32_t i, int what);
/* An operator's kick of connection i: ERROR KICKED, and the close - after
 * the answers to the requests it sent before (binary, WebSocket and REST
 * alike); what it sends after is not taken. */
void xt__gw_kick(xt_server_t *s, uint32_t i);
#define KICKED_TEXT "closed by an operator"
/* Are answers to session si's requests still to come from the engine? */
int xt__gw_in_flight(const xt_server_t *s, uint32_t si);
/* gateway.c: LOGOUT_ACK on connection i, which then closes; the session
 * ends once nothing of it is left. */
void xt__gw_logout(xt_server_t *s, uint32_t i);
/* Tops up every resume whose connection has room (and finishes the
 * LOGOUTs that waited for one that ended); does one have room? */
void xt__gw_refill_all(xt_server_t *s, int64_t now);
/* Takes connection i off the list of logins waiting for answers. */
void xt__gw_unwait(xt_gw_t *g, uint32_t i);
int xt__gw_resume_ready(const xt_server_t *s);
/* Connection i is closed: no resume for it any more. */
void xt__gw_resume_stop(xt_gw_t *g, uint32_t i);

/* gw_admin.c: epoll ids from XT_GW_ADMIN_ID up are the admin socket's
 * (the listener, then one per admin connection). */
#define XT_GW_ADMIN_ID ((uint64_t)1 << 40)
/* The order-entry listener's epoll id (the connections' are their slots). */
#define XT_GW_LISTEN_ID ((uint64_t)XT_NIL + 1)
void xt__gw_admin_event(xt_server_t *s, uint64_t id, uint32_t events);
/* Answers the admin requests whose engine work is released (after routing). */
void xt__gw_admin_tick(xt_server_t *s);

/* gw_sessions.c */
int xt__gw_sessions_init(xt_server_t *s, int64_t now); /* tables, and the sessions as recovered */
void xt__gw_sessions_destroy(xt_gw_t *g);
uint32_t xt__gw_sess_find(const xt_gw_t *g, uint32_t account, uint32_t number);
/* A new entry (XT_NIL when the table is full), disconnected since now. */
uint32_t xt__gw_sess_new(xt_gw_t *g, uint32_t account, uint32_t number, int64_t now);
/* Forgets session si now, or asks the engine to, if it is gone (no
 * connection, nothing in flight, logged out or expired). */
void xt__gw_check_session(xt_server_t *s, uint32_t si, int64_t now);
/* Runs xt__gw_check_session over the next XT_GW_SWEEP entries. */
void xt__gw_sweep(xt_server_t *s, int64_t now);
/* Does connection c's LOGIN to session (account, number) wait? */
static inline int xt__gw_login_waits_for(const xt_gw_conn_t *c, uint32_t account, uint32_t number)
{
    return c->state == C_LOGIN_WAIT && c->login.account == account && c->login.session == number;
}
/* The connection whose LOGIN to x waits (C_LOGIN_WAIT), XT_NIL if none:
 * it becomes x's connection only once logged in. (The waiting list also
 * holds live connections waiting to log out or be kicked.) */
uint32_t xt__gw_login_waiting(const xt_gw_t *g, const xt_gw_sess_t *x);
/* The engine's answer to XT_REQ_SESSION_END or XT_REQ_SESSION_SEQ (a
 * control slot). */
void xt__gw_on_control(xt_server_t *s, const xt_outlog_slot_t *sl, int64_t now);
/* Are session si's numbers (last_seq, last_pos1) unknown, messages having
 * been lost since its last one routed? Then the engine is asked for them
 * (XT_REQ_SESSION_SEQ) once nothing of the session is in flight, and
 * the login or sweep waits: 1. 0 when known (or si is XT_NIL). */
int xt__gw_seq_unknown(xt_server_t *s, uint32_t si);

#endif
