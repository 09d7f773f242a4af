/* gateway.c - the I/O thread: one epoll loop owns every socket.
 *
 * Per connection: HELLO with a nonce, LOGIN (HMAC-SHA256 check), then
 * requests checked in the order of docs/protocol.md#flow-control and pushed
 * into the engine's inbound ring, or answered at once with a gateway
 * REJECTED. Released outlog messages are routed to their session's
 * connection. Output goes through per-connection chains of pooled chunks,
 * flushed with writev once per loop iteration: many messages, one syscall.
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server.h"
#include "xt/error.h"

#define CHUNK 16384
#define INBUF 4096
#define NIL UINT32_MAX

typedef struct chunk {
    struct chunk *next;
    uint32_t start, end;
    uint8_t data[CHUNK - 24];
} chunk_t;

/* C_LOGIN_WAIT: the login checked out, but requests the session sent on an
 * earlier connection are still unanswered; it is accepted once their
 * answers are released, so that they are among the resent messages. */
enum { C_FREE = 0, C_HELLO, C_LOGIN_WAIT, C_LIVE, C_CLOSING };

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t cod;
    uint16_t inlen;
    uint32_t sess; /* gateway session index, NIL before login */
    uint32_t ip;
    uint32_t heartbeat_ms;
    int64_t opened, last_recv, last_send;
    chunk_t *out_head, *out_tail;
    uint64_t out_bytes;
    uint8_t nonce[16];
    xt_msg_login_t login; /* C_LOGIN_WAIT: the login to finish */
    uint8_t dirty;
    uint8_t want_out;  /* EPOLLOUT is armed: output waits for the socket */
    uint8_t unlimited; /* a resume in progress, or the final ERROR: past output_limit */
    uint32_t next_dirty;
    uint8_t in[INBUF];
} conn_t;

typedef struct gsess {
    uint32_t account, number;
    uint64_t last_seq;     /* last sequenced message routed */
    uint64_t last_pos1;    /* its outlog position + 1 */
    uint64_t last_clordid; /* highest passed to the engine */
    uint64_t last_ticket;  /* of its last request queued to the engine (xt_req_push) */
    uint32_t conn;
    uint32_t hnext;
    double tokens;
    int64_t refill_ns;
    uint8_t cod_pending; /* in pending_cod */
} gsess_t;

typedef struct xt_gateway {
    int ep, sfd;
    conn_t *conns;
    uint32_t max_conns, n_conns, free_head;
    uint32_t *free_next;
    gsess_t *sess;
    uint32_t n_sess, max_sess, *buckets, mask;
    chunk_t *chunks, *free_chunks;  /* the output pool, allocated at start */
    uint32_t n_chunks, chunks_used; /* chunks handed out at least once */
    uint32_t dirty_head;
    uint64_t *scratch;                      /* resume walk */
    uint32_t *ip_keys, *ip_counts, ip_mask; /* 2 x max_connections slots or more: never full */
    uint8_t *ip_used;
    uint32_t *pending_cod, n_pending_cod; /* sessions whose cancel-on-disconnect waits for ring space */
    uint32_t *waiting, n_waiting;         /* connections in C_LOGIN_WAIT */
    uint64_t answered;                    /* requests below this ticket have their answers routed */
    int stopping;
    int failed_seen;
} gw_t;

/* ---- output --------------------------------------------------------------- */

/* A chunk from the pool: a returned one, else the next never used (so
 * the pool's pages are touched only as far as it is ever needed). NULL
 * when the pool is exhausted. */
static chunk_t *chunk_get(gw_t *g)
{
    chunk_t *c = g->free_chunks;
    if (c)
        g->free_chunks = c->next;
    else if (g->chunks_used < g->n_chunks)
        c = &g->chunks[g->chunks_used++];
    if (c) {
        c->next = NULL;
        c->start = c->end = 0;
    }
    return c;
}

static void slow_consumer(xt_server_t *s, uint32_t i);

static void mark_dirty(gw_t *g, uint32_t i)
{
    conn_t *c = &g->conns[i];
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = g->dirty_head;
        g->dirty_head = i;
    }
}

static void close_conn(xt_server_t *s, uint32_t i, int cod);
static uint64_t last_seq_of(const gw_t *g, const conn_t *c);

static void send_frame(xt_server_t *s, uint32_t i, const uint8_t *f, size_t n)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    if (c->state == C_FREE || c->state == C_CLOSING)
        return;
    if (c->out_bytes + n > s->cfg.output_limit && !c->unlimited)
        return slow_consumer(s, i);
    chunk_t *t = c->out_tail;
    if (!t || t->end + n > sizeof t->data) {
        chunk_t *nc = chunk_get(g);
        if (!nc) { /* the pool is exhausted: the connection holding more is closed */
            if (!c->unlimited)
                slow_consumer(s, i);
            c->state = C_CLOSING;
            mark_dirty(g, i);
            return;
        }
        if (t)
            t->next = nc;
        else
            c->out_head = nc;
        c->out_tail = t = nc;
    }
    memcpy(t->data + t->end, f, n);
    t->end += (uint32_t)n;
    c->out_bytes += n;
    mark_dirty(g, i);
}

static uint64_t last_seq_of(const gw_t *g, const conn_t *c)
{
    return c->sess == NIL ? 0 : g->sess[c->sess].last_seq;
}

static void send_error(xt_server_t *s, uint32_t i, int code, const char *text)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    if (c->state == C_FREE || c->state == C_CLOSING)
        return;
    xt_msg_error_t m = {.code = (uint16_t)code};
    snprintf(m.text, sizeof m.text, "%s", text);
    uint8_t f[XT_WIRE_MAX];
    send_frame(s, i, f, xt_wire_put_error(f, last_seq_of(g, c), &m));
    c->state = C_CLOSING;
}

/* ERROR to every open connection (only the logged-in ones: live_only), which closes. */
static void error_all(xt_server_t *s, int live_only, int code, const char *text)
{
    for (uint32_t i = 0; i < s->gw->max_conns; i++)
        if (!live_only || s->gw->conns[i].state == C_LIVE)
            send_error(s, i, code, text);
}

/* Over its output limit: the connection gets ERROR (past the limit) and is
 * closed; its sequenced messages stay in the outlog for a resume. */
static void slow_consumer(xt_server_t *s, uint32_t i)
{
    s->gw->conns[i].unlimited = 1;
    send_error(s, i, XT_ERR_SLOW_CONSUMER, "output over server.output_limit; log in again and resume");
}

/* Writes what is queued; 0, or -1 when the connection is to be closed. */
static int flush_conn(xt_server_t *s, uint32_t i, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    while (c->out_head) {
        struct iovec iov[16];
        int n = 0;
        for (chunk_t *k = c->out_head; k && n < 16; k = k->next)
            iov[n++] = (struct iovec){k->data + k->start, k->end - k->start};
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->last_send = now;
        c->out_bytes -= (uint64_t)w;
        while (w > 0 && c->out_head) {
            chunk_t *k = c->out_head;
            size_t have = k->end - k->start;
            if ((size_t)w < have) {
                k->start += (uint32_t)w;
                break;
            }
            w -= (ssize_t)have;
            c->out_head = k->next;
            k->next = g->free_chunks;
            g->free_chunks = k;
        }
        if (!c->out_head)
            c->out_tail = NULL;
    }
    return c->state == C_CLOSING ? -1 : 0;
}

static void flush_dirty(xt_server_t *s, int64_t now)
{
    gw_t *g = s->gw;
    while (g->dirty_head != NIL) {
        uint32_t i = g->dirty_head;
        conn_t *c = &g->conns[i];
        g->dirty_head = c->next_dirty;
        c->dirty = 0;
        if (c->state == C_FREE)
            continue;
        if (flush_conn(s, i, now) != 0) {
            close_conn(s, i, 1);
            continue;
        }
        /* Only a short write arms EPOLLOUT; most flushes drain at once and
         * cost no epoll_ctl. */
        uint8_t want = c->out_head != NULL;
        if (want != c->want_out) {
            struct epoll_event ev = {EPOLLIN | (want ? EPOLLOUT : 0), {.u64 = i}};
            epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
            c->want_out = want;
        }
    }
}

/* ---- sessions ------------------------------------------------------------- */

static uint32_t sess_bucket(const gw_t *g, uint32_t account, uint32_t number)
{
    uint64_t x = ((uint64_t)account << 32 | number) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(x >> 32) & g->mask;
}

static uint32_t sess_find(const gw_t *g, uint32_t account, uint32_t number)
{
    for (uint32_t i = g->buckets[sess_bucket(g, account, number)]; i != NIL; i = g->sess[i].hnext)
        if (g->sess[i].account == account && g->sess[i].number == number)
            return i;
    return NIL;
}

static uint32_t sess_get(gw_t *g, uint32_t account, uint32_t number)
{
    uint32_t i = sess_find(g, account, number);
    if (i != NIL || g->n_sess == g->max_sess)
        return i;
    i = g->n_sess++;
    gsess_t *x = &g->sess[i];
    memset(x, 0, sizeof *x);
    x->account = account;
    x->number = number;
    x->conn = NIL;
    x->refill_ns = 0;
    uint32_t b = sess_bucket(g, account, number);
    x->hnext = g->buckets[b];
    g->buckets[b] = i;
    return i;
}

/* ---- connections ---------------------------------------------------------- */

/* The live-connection count of a source address. Open addressing: a slot
 * whose count fell to 0 keeps its key so that the probe chains through it
 * stay intact, and is taken over by the next new address that probes past
 * it. create 0: NULL if the address has no slot; 1: NULL only when every
 * slot is held by an address with live connections. */
static uint32_t *ip_count(gw_t *g, uint32_t ip, int create)
{
    uint32_t h = (ip * 2654435761u) & g->ip_mask, spare = NIL;
    for (uint32_t k = 0; k <= g->ip_mask; k++, h = (h + 1) & g->ip_mask) {
        if (!g->ip_used[h]) {
            if (spare == NIL)
                spare = h;
            break;
        }
        if (g->ip_keys[h] == ip)
            return &g->ip_counts[h];
        if (g->ip_counts[h] == 0 && spare == NIL)
            spare = h;
    }
    if (!create || spare == NIL)
        return NULL;
    g->ip_used[spare] = 1;
    g->ip_keys[spare] = ip;
    g->ip_counts[spare] = 0;
    return &g->ip_counts[spare];
}

static void close_conn(xt_server_t *s, uint32_t i, int cod)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    if (c->state == C_FREE)
        return;
    for (uint32_t k = 0; c->state == C_LOGIN_WAIT && k < g->n_waiting; k++)
        if (g->waiting[k] == i) { /* listed once: only a C_HELLO login waits */
            g->waiting[k] = g->waiting[--g->n_waiting];
            break;
        }
    if (c->sess != NIL) {
        gsess_t *x = &g->sess[c->sess];
        if (x->conn == i) {
            x->conn = NIL;
            if (cod && c->cod && !g->stopping) {
                xt_req_t r = {.kind = XT_REQ_SESSION_CANCEL, .account = x->account, .session = x->number};
                if (xt_req_push(s, &r) != 0 && !x->cod_pending) { /* ring full: retried each loop, never dropped */
                    x->cod_pending = 1;
                    g->pending_cod[g->n_pending_cod++] = c->sess;
                }
            }
        }
    }
    uint32_t *ipc = ip_count(g, c->ip, 0);
    if (ipc && *ipc)
        (*ipc)--;
    close(c->fd);
    while (c->out_head) {
        chunk_t *k = c->out_head;
        c->out_head = k->next;
        k->next = g->free_chunks;
        g->free_chunks = k;
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
    c->state = C_FREE;
    g->free_next[i] = g->free_head;
    g->free_head = i;
    g->n_conns--;
}

static void accept_all(xt_server_t *s, int64_t now)
{
    gw_t *g = s->gw;
    for (;;) {
        struct sockaddr_in a = {0};
        socklen_t al = sizeof a;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        uint32_t ip = a.sin_family == AF_INET ? ntohl(a.sin_addr.s_addr) : 0;
        uint32_t *ipc = ip_count(g, ip, 1);
        if (g->free_head == NIL || g->n_conns >= s->cfg.max_connections || !ipc ||
            *ipc >= s->cfg.max_connections_per_ip || g->stopping) {
            uint8_t f[XT_WIRE_MAX];
            xt_msg_error_t m = {.code = XT_ERR_TOO_MANY_CONNECTIONS};
            snprintf(m.text, sizeof m.text, "%s", g->stopping ? "shutting down" : "connection limit reached");
            ssize_t w = write(fd, f, xt_wire_put_error(f, 0, &m));
            (void)w;
            close(fd);
            continue;
        }
        (*ipc)++;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        uint32_t i = g->free_head;
        g->free_head = g->free_next[i];
        g->n_conns++;
        conn_t *c = &g->conns[i];
        memset(c, 0, offsetof(conn_t, in));
        c->fd = fd;
        c->state = C_HELLO;
        c->sess = NIL;
        c->ip = ip;
        c->heartbeat_ms = s->cfg.heartbeat_ms;
        c->opened = c->last_recv = c->last_send = now;
        struct epoll_event ev = {EPOLLIN, {.u64 = i}};
        epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
        RAND_bytes(c->nonce, sizeof c->nonce);
        xt_msg_hello_t h = {XT_WIRE_VERSION, s->cfg.heartbeat_ms, {0}, xt_now_ns()};
        memcpy(h.nonce, c->nonce, 16);
        uint8_t f[XT_WIRE_MAX];
        send_frame(s, i, f, xt_wire_put_hello(f, 0, &h));
    }
}

/* ---- login ---------------------------------------------------------------- */

static void login_reject(xt_server_t *s, uint32_t i, int reason, uint64_t oldest)
{
    xt_msg_login_rejected_t m = {(uint16_t)reason, oldest};
    uint8_t f[XT_WIRE_MAX];
    send_frame(s, i, f, xt_wire_put_login_rejected(f, 0, &m));
    s->gw->conns[i].state = C_CLOSING;
}

static int signature_ok(const xt_cred_t *cr, const conn_t *c, const xt_msg_login_t *m)
{
    uint8_t msg[XT_LOGIN_SIGNED_LEN], mac[32];
    unsigned maclen = 0;
    xt_wire_login_signed_bytes(msg, c->nonce, m->account, m->key_id, m->session, m->timestamp_ns);
    if (!HMAC(EVP_sha256(), cr->sign_key, 32, msg, sizeof msg, mac, &maclen) || maclen != 32)
        return 0;
    return CRYPTO_memcmp(mac, m->signature, 32) == 0;
}

/* Collects the positions of the session's messages from `from` on, oldest
 * first, into g->scratch. Returns the count, or -1 with *oldest set when
 * the outlog no longer holds all of them. */
static int64_t resume_walk(xt_server_t *s, const gsess_t *x, uint64_t from, uint64_t *oldest)
{
    gw_t *g = s->gw;
    uint64_t want = x->last_seq - from + 1, n = 0, pos1 = x->last_pos1;
    *oldest = 0;
    /* More than the outlog holds cannot all be there: walk only to find the
     * oldest kept (at most cap steps), storing nothing - scratch has cap
     * entries. */
    int store = want <= s->log.cap;
    while (n < want && pos1) {
        xt_outlog_slot_t sl;
        if (xt_outlog_read(&s->log, pos1 - 1, &sl) != 0)
            break;
        xt_wire_hdr_t h;
        if (xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) <= 0)
            break;
        *oldest = h.seq;
        if (store)
            g->scratch[want - 1 - n] = pos1 - 1;
        n++;
        pos1 = sl.prev1;
    }
    return n == want && store ? (int64_t)n : -1;
}

/* Accepts a checked login: takes the session over, answers, resends. */
static void finish_login(xt_server_t *s, uint32_t i, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    const xt_msg_login_t *m = &c->login;
    uint32_t si = sess_get(g, m->account, m->session);
    if (si == NIL)
        return login_reject(s, i, XT_LR_TOO_MANY_SESSIONS, 0);
    gsess_t *x = &g->sess[si];
    int64_t n = 0;
    uint64_t oldest = 0;
    if (m->resume_from > x->last_seq + 1)
        return login_reject(s, i, XT_LR_RESUME_AHEAD, 0);
    if (m->resume_from && m->resume_from <= x->last_seq && (n = resume_walk(s, x, m->resume_from, &oldest)) < 0)
        return login_reject(s, i, XT_LR_RESUME_TOO_OLD, oldest);
    if (x->conn != NIL && x->conn != i) {
        send_error(s, x->conn, XT_ERR_TAKEN_OVER, "a newer connection logged in to this session");
        g->conns[x->conn].sess = NIL; /* no cancel-on-disconnect for a takeover */
    }
    x->conn = i;
    if (x->refill_ns == 0) {
        x->tokens = s->cfg.burst;
        x->refill_ns = now;
    }
    c->sess = si;
    c->state = C_LIVE;
    c->cod = (m->flags & XT_LOGIN_CANCEL_ON_DISCONNECT) != 0;
    if (m->heartbeat_ms)
        c->heartbeat_ms = m->heartbeat_ms;
    uint8_t out[XT_WIRE_MAX];
    xt_msg_login_accepted_t a = {m->session,      c->heartbeat_ms, x->last_seq + 1, n ? m->resume_from : 0,
                                 x->last_clordid, s->n_instruments};
    send_frame(s, i, out, xt_wire_put_login_accepted(out, x->last_seq, &a));
    for (uint32_t k = 0; k < s->n_instruments; k++) {
        memcpy(out, s->instrument_frames[k], XT_LEN_INSTRUMENT);
        xt_wire_set_seq(out, 0, x->last_seq);
        send_frame(s, i, out, XT_LEN_INSTRUMENT);
    }
    c->unlimited = 1; /* the resent messages may exceed output_limit: they are bounded by the outlog */
    for (int64_t k = 0; k < n; k++) {
        xt_outlog_slot_t sl;
        if (xt_outlog_read(&s->log, g->scratch[k], &sl) != 0) {
            send_error(s, i, XT_ERR_RESYNC, "messages were overwritten during the resume; resume again");
            return;
        }
        send_frame(s, i, sl.frame, sl.len);
    }
    c->unlimited = 0;
}

/* Checks a LOGIN; finishes it now, or once the session's requests from an
 * earlier connection are answered (C_LOGIN_WAIT). */
static void do_login(xt_server_t *s, uint32_t i, const uint8_t *f, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    xt_msg_login_t *m = &c->login;
    if (c->state != C_HELLO)
        return login_reject(s, i, XT_LR_ALREADY_LOGGED_IN, 0);
    xt_wire_get_login(f, m);
    if (g->stopping)
        return login_reject(s, i, XT_LR_SHUTTING_DOWN, 0);
    if (m->version != XT_WIRE_VERSION)
        return login_reject(s, i, XT_LR_BAD_VERSION, 0);
    if (m->session == 0 || m->account == 0 || (m->heartbeat_ms && (m->heartbeat_ms < 100 || m->heartbeat_ms > 60000)))
        return login_reject(s, i, XT_LR_BAD_FIELD, 0);
    const xt_cred_t *cr = xt_creds_find(&s->creds, m->account, m->key_id);
    if (!cr)
        return login_reject(s, i, XT_LR_UNKNOWN_KEY, 0);
    int64_t skew = m->timestamp_ns - xt_now_ns();
    if (skew < 0)
        skew = -skew;
    if (skew > (int64_t)s->cfg.login_skew_ms * 1000000)
        return login_reject(s, i, XT_LR_CLOCK_SKEW, 0);
    if (!signature_ok(cr, c, m))
        return login_reject(s, i, XT_LR_BAD_SIGNATURE, 0);
    RAND_bytes(c->nonce, sizeof c->nonce); /* the nonce is spent */
    uint32_t si = sess_find(g, m->account, m->session);
    if (si != NIL && g->sess[si].last_ticket > g->answered) {
        c->state = C_LOGIN_WAIT;
        g->waiting[g->n_waiting++] = i;
        return;
    }
    finish_login(s, i, now);
}

/* Finishes the waiting logins whose sessions have all their answers out. */
static void finish_waiting(xt_server_t *s, int64_t now)
{
    gw_t *g = s->gw;
    for (uint32_t k = 0; k < g->n_waiting;) {
        uint32_t i = g->waiting[k];
        conn_t *c = &g->conns[i];
        uint32_t si = sess_find(g, c->login.account, c->login.session);
        if (c->state == C_LOGIN_WAIT && si != NIL && g->sess[si].last_ticket > g->answered) {
            k++;
            continue;
        }
        g->waiting[k] = g->waiting[--g->n_waiting];
        if (c->state == C_LOGIN_WAIT)
            finish_login(s, i, now);
    }
}

/* ---- requests ------------------------------------------------------------- */

static void gw_reject(xt_server_t *s, uint32_t i, const xt_req_t *r, int reason)
{
    gw_t *g = s->gw;
    xt_msg_rejected_t m;
    xt_req_rejected(r, reason, &m);
    uint8_t f[XT_WIRE_MAX];
    send_frame(s, i, f, xt_wire_put_rejected(f, 0, last_seq_of(g, &g->conns[i]), &m));
}

/* Are the request's fields in their domains? */
static int fields_ok(const xt_req_t *r)
{
    switch (r->kind) {
    case XT_REQ_NEW: return r->side <= XT_SELL && r->type <= XT_MARKET && r->tif <= XT_POST && r->stp <= XT_STP_CB;
    case XT_REQ_MASS_CANCEL: return 1;
    default: /* CANCEL, AMEND, STATUS: exactly one of orig_clordid / order_id */
        return (r->orig_clordid == 0) != (r->order_id == 0) && r->order_id >= 0;
    }
}

static int take_token(xt_server_t *s, gsess_t *x, int64_t now)
{
    double add = (double)(now - x->refill_ns) * 1e-9 * s->cfg.rate;
    x->refill_ns = now;
    x->tokens = x->tokens + add > s->cfg.burst ? s->cfg.burst : x->tokens + add;
    if (x->tokens < 1.0)
        return 0;
    x->tokens -= 1.0;
    return 1;
}

/* Wire price/qty of NEW and AMEND to the core's: out-of-range values become
 * the sentinels the core rejects with INVALID_PRICE / INVALID_QTY
 * (journaled, sequenced). */
static void to_core(xt_req_t *r)
{
    if (r->kind == XT_REQ_NEW && r->type == XT_MARKET && r->price == 0)
        r->price = XT_PRICE_NONE; /* a MARKET order with a price is the core's INVALID_PRICE */
    else if ((r->kind == XT_REQ_NEW || r->price != 0) && (r->price <= 0 || r->price > XT_PRICE_MAX))
        r->price = XT_PRICE_INVALID;
    if (r->qty <= 0 || r->qty > XT_QTY_MAX)
        r->qty = XT_QTY_INVALID;
}

/* The gateway's reason to refuse r at once (docs/protocol.md, flow
 * control, in that order), or 0. */
static int gateway_reason(xt_server_t *s, gsess_t *x, const xt_req_t *r, int64_t now)
{
    int ordered = r->kind == XT_REQ_NEW || r->kind == XT_REQ_CANCEL || r->kind == XT_REQ_AMEND;
    if (s->gw->stopping)
        return XT_R_SHUTTING_DOWN;
    if (atomic_load(&s->journal_failed))
        return XT_R_JOURNAL_FAILED;
    if ((ordered && r->clordid == 0) || !fields_ok(r))
        return XT_R_INVALID_FIELD;
    int names_instrument = r->kind == XT_REQ_NEW || (r->kind == XT_REQ_MASS_CANCEL && r->instrument != UINT32_MAX);
    if (names_instrument && r->instrument >= s->n_instruments)
        return XT_R_UNKNOWN_INSTRUMENT;
    if (ordered && r->clordid <= x->last_clordid)
        return XT_R_DUPLICATE_CLORDID;
    return take_token(s, x, now) ? 0 : XT_R_RATE_LIMIT;
}

/* Every request gets exactly one answer: from the engine, or a REJECTED
 * from here. */
static void do_request(xt_server_t *s, uint32_t i, xt_req_t *r, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    if (c->state != C_LIVE)
        return gw_reject(s, i, r, XT_R_NOT_LOGGED_IN);
    gsess_t *x = &g->sess[c->sess];
    r->conn = i;
    r->account = x->account;
    r->session = x->number;
    int why = gateway_reason(s, x, r, now);
    if (why)
        return gw_reject(s, i, r, why);
    if (r->kind == XT_REQ_NEW || r->kind == XT_REQ_AMEND)
        to_core(r);
    uint64_t ticket = xt_req_push(s, r);
    if (!ticket) {
        x->tokens += 1.0; /* not used */
        return gw_reject(s, i, r, XT_R_OVERLOADED);
    }
    x->last_ticket = ticket;
    if (r->kind != XT_REQ_MASS_CANCEL && r->kind != XT_REQ_STATUS)
        x->last_clordid = r->clordid;
}

/* A client request frame as an xt_req_t (kind 0 for any other type). */
static xt_req_t decode_request(const uint8_t *f, uint8_t type)
{
    xt_req_t r = {.kind = type};
    switch (type) {
    case XT_MSG_NEW_ORDER: {
        xt_msg_new_order_t m;
        xt_wire_get_new_order(f, &m);
        r.side = m.side;
        r.type = m.type;
        r.tif = m.tif;
        r.stp = m.stp;
        r.instrument = m.instrument;
        r.clordid = m.clordid;
        r.price = m.price;
        r.qty = m.qty;
        return r;
    }
    case XT_MSG_CANCEL: {
        xt_msg_cancel_t m;
        xt_wire_get_cancel(f, &m);
        r.clordid = m.clordid;
        r.orig_clordid = m.orig_clordid;
        r.order_id = m.order_id;
        return r;
    }
    case XT_MSG_AMEND: {
        xt_msg_amend_t m;
        xt_wire_get_amend(f, &m);
        r.clordid = m.clordid;
        r.orig_clordid = m.orig_clordid;
        r.order_id = m.order_id;
        r.price = m.price;
        r.qty = m.qty;
        return r;
    }
    case XT_MSG_MASS_CANCEL: {
        xt_msg_mass_cancel_t m;
        xt_wire_get_mass_cancel(f, &m);
        r.clordid = m.request_id;
        r.instrument = m.instrument;
        return r;
    }
    case XT_MSG_ORDER_STATUS: {
        xt_msg_order_status_t m;
        xt_wire_get_order_status(f, &m);
        r.clordid = m.request_id;
        r.orig_clordid = m.orig_clordid;
        r.order_id = m.order_id;
        return r;
    }
    default: r.kind = 0; return r;
    }
}

static void on_frame(xt_server_t *s, uint32_t i, const uint8_t *f, const xt_wire_hdr_t *h, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    switch (h->type) {
    case XT_MSG_LOGIN: do_login(s, i, f, now); return;
    case XT_MSG_HEARTBEAT: return;
    case XT_MSG_LOGOUT: {
        uint8_t o[XT_WIRE_MAX];
        send_frame(s, i, o, xt_wire_put_header(o, XT_MSG_LOGOUT_ACK, 0, last_seq_of(g, c)));
        c->state = C_CLOSING;
        return;
    }
    default: break;
    }
    xt_req_t r = decode_request(f, h->type);
    if (r.kind)
        do_request(s, i, &r, now);
    else
        send_error(s, i, XT_ERR_UNKNOWN_TYPE, "not a client message type");
}

static void read_conn(xt_server_t *s, uint32_t i, int64_t now)
{
    gw_t *g = s->gw;
    conn_t *c = &g->conns[i];
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_conn(s, i, 1);
            return;
        }
        if (n < 0)
            return;
        c->last_recv = now;
        c->inlen += (uint16_t)n;
        size_t at = 0;
        while (c->state == C_HELLO || c->state == C_LOGIN_WAIT || c->state == C_LIVE) {
            xt_wire_hdr_t h;
            int len = xt_wire_frame(c->in + at, c->inlen - at, s->cfg.max_frame, &h);
            if (len == 0)
                break;
            if (len < 0 || h.flags != 0 || (h.type & 0x80)) {
                int code = len < 0 ? -len : (h.type & 0x80) ? XT_ERR_UNKNOWN_TYPE : XT_ERR_MALFORMED;
                send_error(s, i, code, len < 0 ? xt_wire_error_name(code) : "bad flags or direction");
                break;
            }
            on_frame(s, i, c->in + at, &h, now);
            at += (size_t)len;
        }
        memmove(c->in, c->in + at, c->inlen - at);
        c->inlen -= (uint16_t)at;
        if (c->state == C_CLOSING)
            return;
        if ((size_t)n < INBUF / 2)
            return;
    }
}

/* ---- released messages ----------------------------------------------------- */

/* A request the engine thread answered without journaling it (open-order
 * limit, journal failure) did not use up its clordid: if it is still the
 * session's highest, it may be sent again. */
static void unuse_clordid(gw_t *g, const xt_outlog_slot_t *sl)
{
    xt_wire_hdr_t h;
    if (xt_wire_frame(sl->frame, sl->len, XT_WIRE_MAX, &h) <= 0 || h.type != XT_MSG_REJECTED)
        return;
    xt_msg_rejected_t m;
    xt_wire_get_rejected(sl->frame, &m);
    uint32_t si = sess_find(g, sl->account, sl->session);
    int ordered = m.request == XT_MSG_NEW_ORDER || m.request == XT_MSG_CANCEL || m.request == XT_MSG_AMEND;
    if (ordered && si != NIL && m.clordid && g->sess[si].last_clordid == m.clordid)
        g->sess[si].last_clordid = m.clordid - 1;
}

static void route_released(xt_server_t *s)
{
    gw_t *g = s->gw;
    /* answered before released: every answer of a request below `answered`
     * is then below `to` */
    uint64_t answered = atomic_load_explicit(&s->answered, memory_order_acquire);
    uint64_t from = atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
    uint64_t to = atomic_load_explicit(&s->log.released, memory_order_acquire);
    int lost = 0;
    for (uint64_t p = from; p < to; p++) {
        xt_outlog_slot_t sl;
        if (xt_outlog_read(&s->log, p, &sl) != 0) { /* overwritten: only if one batch overflowed the log */
            lost = 1;
            continue;
        }
        if (sl.flags & XT_OL_EPHEMERAL) {
            unuse_clordid(g, &sl);
            if (sl.conn < g->max_conns && g->conns[sl.conn].state == C_LIVE && g->conns[sl.conn].sess != NIL &&
                g->sess[g->conns[sl.conn].sess].account == sl.account &&
                g->sess[g->conns[sl.conn].sess].number == sl.session)
                send_frame(s, sl.conn, sl.frame, sl.len);
            continue;
        }
        uint32_t si = sess_get(g, sl.account, sl.session);
        if (si == NIL)
            continue;
        gsess_t *x = &g->sess[si];
        if (x->conn != NIL) /* first: an ERROR it may cause names the last message sent */
            send_frame(s, x->conn, sl.frame, sl.len);
        xt_wire_hdr_t h;
        if (xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) > 0)
            x->last_seq = h.seq;
        x->last_pos1 = p + 1;
    }
    atomic_store_explicit(&s->log.consumed, to, memory_order_release);
    g->answered = answered;
    if (g->n_waiting)
        finish_waiting(s, xt_mono_ns());
    if (lost) /* whose messages were lost is unknown: every session must resume */
        error_all(s, 1, XT_ERR_RESYNC, "live messages were lost; log in again and resume");
}

/* ---- timers ------------------------------------------------------------------ */

static void timers(xt_server_t *s, int64_t now)
{
    gw_t *g = s->gw;
    for (uint32_t i = 0; i < g->max_conns; i++) {
        conn_t *c = &g->conns[i];
        if (c->state != C_HELLO && c->state != C_LOGIN_WAIT && c->state != C_LIVE)
            continue;
        int64_t hb = (int64_t)c->heartbeat_ms * 1000000;
        if (c->state != C_LIVE && now - c->opened > (int64_t)s->cfg.login_timeout_ms * 1000000)
            send_error(s, i, XT_ERR_LOGIN_TIMEOUT, "no login in time");
        else if (c->state == C_LIVE && now - c->last_recv > 3 * hb)
            send_error(s, i, XT_ERR_HEARTBEAT_TIMEOUT, "nothing received for three heartbeat intervals");
        else if (c->state == C_LIVE && now - c->last_send > hb && !c->out_head) {
            uint8_t f[XT_WIRE_MAX];
            send_frame(s, i, f, xt_wire_put_header(f, XT_MSG_SERVER_HEARTBEAT, 0, last_seq_of(g, c)));
            c->last_send = now;
        }
    }
    while (g->n_pending_cod > 0) {
        gsess_t *x = &g->sess[g->pending_cod[g->n_pending_cod - 1]];
        xt_req_t r = {.kind = XT_REQ_SESSION_CANCEL, .account = x->account, .session = x->number};
        if (xt_req_push(s, &r) != 0)
            break;
        x->cod_pending = 0;
        g->n_pending_cod--;
    }
    if (atomic_load(&s->journal_failed) && !g->failed_seen) {
        g->failed_seen = 1;
        error_all(s, 1, XT_ERR_RESYNC, "journal failed: answers after the failure are unknown");
    }
}

/* ---- lifecycle --------------------------------------------------------------- */

int xt_gateway_init(xt_server_t *s)
{
    gw_t *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    s->gw = g;
    g->max_conns = s->cfg.max_connections;
    g->conns = calloc(g->max_conns, sizeof *g->conns);
    g->free_next = calloc(g->max_conns, sizeof *g->free_next);
    g->max_sess = s->cfg.max_sessions;
    g->mask = 1;
    while (g->mask < 2 * g->max_sess)
        g->mask <<= 1;
    g->buckets = malloc(sizeof *g->buckets * g->mask);
    g->mask -= 1;
    g->ip_mask = 1;
    while (g->ip_mask < 2 * g->max_conns)
        g->ip_mask <<= 1;
    g->ip_keys = calloc(g->ip_mask, sizeof *g->ip_keys);
    g->ip_counts = calloc(g->ip_mask, sizeof *g->ip_counts);
    g->ip_used = calloc(g->ip_mask, sizeof *g->ip_used);
    g->ip_mask -= 1;
    g->sess = calloc(g->max_sess, sizeof *g->sess);
    g->scratch = calloc(s->log.cap, sizeof *g->scratch);
    g->pending_cod = calloc(g->max_sess, sizeof *g->pending_cod);
    g->waiting = calloc(g->max_conns, sizeof *g->waiting);
    /* Output pool: two chunks per allowed connection, at least 8,192 (128
     * MiB of address space, touched only as far as it is ever used). */
    g->n_chunks = g->max_conns * 2 > 8192 ? g->max_conns * 2 : 8192;
    g->chunks = calloc(g->n_chunks, sizeof *g->chunks);
    if (!g->conns || !g->free_next || !g->buckets || !g->sess || !g->scratch || !g->pending_cod || !g->waiting ||
        !g->chunks || !g->ip_keys || !g->ip_counts || !g->ip_used)
        return -1;
    memset(g->buckets, 0xff, sizeof *g->buckets * (g->mask + 1));
    for (uint32_t i = 0; i < g->max_conns; i++)
        g->free_next[i] = i + 1 < g->max_conns ? i + 1 : NIL;
    g->free_head = 0;
    g->dirty_head = NIL;
    /* the sessions as recovered */
    for (uint32_t k = 0; k < s->sessions.n_sessions; k++) {
        const xt_sess_t *e = &s->sessions.sess[k];
        uint32_t i = sess_get(g, e->account, e->number);
        if (i == NIL)
            return -1;
        g->sess[i].last_seq = e->next_seq - 1;
        g->sess[i].last_pos1 = e->last_pos1;
        g->sess[i].last_clordid = e->last_clordid;
    }
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    g->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g->ep < 0 || g->sfd < 0)
        return -1;
    struct epoll_event ev = {EPOLLIN, {.u64 = (uint64_t)NIL + 1}};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, s->listen_fd, &ev);
    ev.data.u64 = (uint64_t)NIL + 2;
    epoll_ctl(g->ep, EPOLL_CTL_ADD, s->gateway_efd, &ev);
    ev.data.u64 = (uint64_t)NIL + 3;
    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->sfd, &ev);
    return 0;
}

static void on_signal(xt_server_t *s)
{
    gw_t *g = s->gw;
    struct signalfd_siginfo si;
    while (read(g->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1)
            atomic_store(&s->snapshot_request, 1);
        else if (!g->stopping) {
            g->stopping = 1;
            epoll_ctl(g->ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
            atomic_store(&s->stop_engine, 1);
            uint64_t one = 1;
            ssize_t n = write(s->engine_efd, &one, sizeof one);
            (void)n;
        }
    }
}

static int all_flushed(const gw_t *g)
{
    for (uint32_t i = 0; i < g->max_conns; i++)
        if (g->conns[i].state != C_FREE && g->conns[i].out_head)
            return 0;
    return 1;
}

int xt_gateway_run(xt_server_t *s)
{
    gw_t *g = s->gw;
    struct epoll_event evs[256];
    int64_t last_timers = 0, stop_deadline = 0;
    for (;;) {
        /* Parked only with nothing released to route: the engine wakes a
         * parked gateway (wake_gateway_if_parked), never an awake one. */
        atomic_store_explicit(&s->gateway_sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        int work = atomic_load_explicit(&s->log.released, memory_order_relaxed) !=
                   atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
        int n = epoll_wait(g->ep, evs, 256, work ? 0 : 50);
        atomic_store_explicit(&s->gateway_sleeping, 0, memory_order_relaxed);
        int64_t now = xt_mono_ns();
        for (int k = 0; k < n; k++) {
            uint64_t id = evs[k].data.u64;
            if (id == (uint64_t)NIL + 1)
                accept_all(s, now);
            else if (id == (uint64_t)NIL + 2) {
                uint64_t v;
                ssize_t r = read(s->gateway_efd, &v, sizeof v);
                (void)r;
            } else if (id == (uint64_t)NIL + 3)
                on_signal(s);
            else {
                uint32_t i = (uint32_t)id;
                if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                    read_conn(s, i, now);
                if (g->conns[i].state != C_FREE && (evs[k].events & EPOLLOUT))
                    mark_dirty(g, i);
            }
        }
        route_released(s);
        if (now - last_timers > 50000000) {
            timers(s, now);
            last_timers = now;
        }
        flush_dirty(s, now);
        if (g->stopping && atomic_load(&s->engine_done)) {
            route_released(s); /* the last answers, then a goodbye */
            if (!stop_deadline) {
                stop_deadline = now + 2000000000LL;
                error_all(s, 0, XT_ERR_SHUTDOWN, "the server is stopping; log in again and resume");
            }
            flush_dirty(s, now);
            if (all_flushed(g) || now > stop_deadline)
                break;
        }
    }
    for (uint32_t i = 0; i < g->max_conns; i++)
        if (g->conns[i].state != C_FREE)
            close_conn(s, i, 0);
    return 0;
}

void xt_gateway_destroy(xt_server_t *s)
{
    gw_t *g = s->gw;
    if (!g)
        return;
    if (g->ep > 0)
        close(g->ep);
    if (g->sfd > 0)
        close(g->sfd);
    free(g->chunks);
    free(g->pending_cod);
    free(g->waiting);
    free(g->conns);
    free(g->free_next);
    free(g->buckets);
    free(g->ip_keys);
    free(g->ip_counts);
    free(g->ip_used);
    free(g->sess);
    free(g->scratch);
    free(g);
    s->gw = NULL;
}
