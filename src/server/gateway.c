/* gateway.c - the I/O thread: one epoll loop owns every socket
 * (gateway_internal.h; login and resume in gw_login.c, the session table
 * and lifecycle in gw_sessions.c).
 *
 * Per connection: HELLO with a nonce, LOGIN (HMAC-SHA256 check), then
 * requests checked in the order of docs/protocol.md#flow-control and pushed
 * into the engine's inbound ring, or answered at once with a gateway
 * REJECTED. Released outlog messages are routed to their session's
 * connection. Output goes through per-connection chains of pooled chunks,
 * flushed with writev once per loop iteration: many messages, one syscall.
 * Input is read into one buffer all connections share; a connection keeps
 * only a partial frame (under 128 bytes) between reads.
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "core/le.h"
#include "core/pages.h"
#include "gateway_internal.h"
#include "log.h"
#include "xt/error.h"

/* ---- output --------------------------------------------------------------- */

/* A chunk from the pool: a returned one, else the next never used (so
 * the pool's pages are touched only as far as it is ever needed). NULL
 * when the pool is exhausted. */
static xt_gw_chunk_t *chunk_get(xt_gw_t *g)
{
    xt_gw_chunk_t *c = g->free_chunks;
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

/* Is output of c's waiting to be written (its queue, or a last word kept in it)? */
static int has_output(const xt_gw_conn_t *c)
{
    return c->out_head || c->last_off < c->last_len;
}

static void chunk_put(xt_gw_t *g, xt_gw_chunk_t *k)
{
    k->next = g->free_chunks;
    g->free_chunks = k;
}

static void slow_consumer(xt_server_t *s, uint32_t i);

static void mark_dirty(xt_gw_t *g, uint32_t i)
{
    xt_gw_conn_t *c = &g->conns[i];
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = g->dirty_head;
        g->dirty_head = i;
    }
}

static void close_conn(xt_server_t *s, uint32_t i, int cod);
static void shut(xt_server_t *s, uint32_t i);

/* Can live connection c lose its queue to the pool (shed)? Not one whose
 * session logged out: its session ends with the connection, and what it
 * dropped could not be resumed. */
static int sheddable(const xt_gw_t *g, const xt_gw_conn_t *c)
{
    return c->state == C_LIVE && !c->unlimited && c->out_head && (c->sess == XT_NIL || !g->sess[c->sess].logged_out);
}

/* Returns live connection i's queued chunks to the pool, all but the one
 * being written (its stream stays whole frames: a chunk holds whole
 * frames), and queues ERROR SLOW_CONSUMER behind it; the connection
 * closes once that is written. Its sequenced messages stay in the outlog
 * for a resume from the last one it got. */
static void shed(xt_server_t *s, uint32_t i)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    xt_gw_chunk_t *head = c->out_head;
    for (xt_gw_chunk_t *k = head->next, *next; k; k = next) {
        next = k->next;
        c->out_bytes -= k->end - k->start;
        chunk_put(g, k);
    }
    head->next = NULL;
    c->out_tail = head;
    xt__gw_error(s, i, XT_ERR_SLOW_CONSUMER, "output buffers ran out; this connection held the most");
}

/* The output pool is empty and connection `except` needs a chunk: the live
 * connection with the most output queued, if that is more than `than` and
 * spans at least three chunks (so that shedding it frees some even after
 * its ERROR takes one), is shed - so clients that do not read cannot take
 * every other client's buffers: the one that asks keeps its place.
 * Returns whether one was. */
static int evict_hog(xt_server_t *s, uint32_t except, uint64_t than)
{
    xt_gw_t *g = s->gw;
    uint32_t hog = XT_NIL;
    uint64_t most = than > 2 * sizeof g->chunks[0].data ? than : 2 * sizeof g->chunks[0].data;
    for (uint32_t k = 0; k < g->max_conns; k++) { /* a scan, only when the pool is empty */
        const xt_gw_conn_t *c = &g->conns[k];
        if (k != except && c->out_bytes > most && sheddable(g, c)) {
            most = c->out_bytes;
            hog = k;
        }
    }
    if (hog == XT_NIL)
        return 0;
    shed(s, hog);
    return 1;
}

void xt__gw_send(xt_server_t *s, uint32_t i, const uint8_t *f, size_t n)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    if (c->state == C_FREE || c->state == C_CLOSING)
        return;
    if (c->out_bytes + n > s->cfg.output_limit && !c->unlimited)
        return slow_consumer(s, i);
    xt_gw_chunk_t *t = c->out_tail;
    if (!t || t->end + n > sizeof t->data) {
        xt_gw_chunk_t *nc = chunk_get(g);
        while (!nc && !c->unlimited && evict_hog(s, i, c->out_bytes + n))
            nc = chunk_get(g);
        if (!nc && c->unlimited && !c->last_len && n <= sizeof c->last) {
            /* A last word with no chunk to be had: it waits in the
             * connection's own room, written once the queue is (running
             * the pool out once cost a client the ERROR that says why). */
            memcpy(c->last, f, n);
            c->last_len = (uint8_t)n;
            mark_dirty(g, i);
            return;
        }
        if (!nc) { /* the pool is exhausted, and this one holds the most: it is closed */
            if (sheddable(g, c) && c->out_head != c->out_tail)
                shed(s, i); /* its queue goes too */
            else if (!c->unlimited)
                xt__gw_error(s, i, XT_ERR_SLOW_CONSUMER, "output buffers ran out; this connection held the most");
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

uint64_t xt__gw_last_seq(const xt_gw_t *g, const xt_gw_conn_t *c)
{
    if (c->sess == XT_NIL)
        return 0;
    return c->resuming ? c->rs_seq : g->sess[c->sess].last_seq;
}

void xt__gw_send_last(xt_server_t *s, uint32_t i, const uint8_t *f, size_t n)
{
    xt_gw_conn_t *c = &s->gw->conns[i];
    if (c->state == C_FREE || c->state == C_CLOSING)
        return;
    c->unlimited = 1; /* past output_limit, and in c->last when no chunk is left */
    xt__gw_send(s, i, f, n);
    c->state = C_CLOSING;
}

void xt__gw_error(xt_server_t *s, uint32_t i, int code, const char *text)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    xt_msg_error_t m = {.code = (uint16_t)code};
    snprintf(m.text, sizeof m.text, "%s", text);
    uint8_t f[XT_WIRE_MAX];
    xt__gw_send_last(s, i, f, xt_wire_put_error(f, xt__gw_last_seq(g, c), &m));
}

#define RESYNC_TEXT "live messages were lost; log in again and resume"

/* ERROR to every open connection (only the logged-in ones: live_only), which closes. */
static void error_all(xt_server_t *s, int live_only, int code, const char *text)
{
    for (uint32_t i = 0; i < s->gw->max_conns; i++)
        if (!live_only || s->gw->conns[i].state == C_LIVE)
            xt__gw_error(s, i, code, text);
}

/* Over its output limit: the connection gets ERROR (past the limit) and is
 * closed; its sequenced messages stay in the outlog for a resume. */
static void slow_consumer(xt_server_t *s, uint32_t i)
{
    xt__gw_error(s, i, XT_ERR_SLOW_CONSUMER, "output over server.output_limit; log in again and resume");
}

/* Writes what is queued; 0, 1 when a closing connection's last output is
 * written, -1 when the socket failed. */
static int flush_conn(xt_server_t *s, uint32_t i, int64_t now)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    while (c->out_head) {
        struct iovec iov[16];
        int n = 0;
        for (xt_gw_chunk_t *k = c->out_head; k && n < 16; k = k->next)
            iov[n++] = (struct iovec){k->data + k->start, k->end - k->start};
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        xt_sent_add(&c->sent, w);
        c->last_send = now;
        c->out_bytes -= (uint64_t)w;
        xt_ctr_add(&s->met.oe_bytes_out, (uint64_t)w);
        while (w > 0 && c->out_head) {
            xt_gw_chunk_t *k = c->out_head;
            size_t have = k->end - k->start;
            if ((size_t)w < have) {
                k->start += (uint32_t)w;
                break;
            }
            w -= (ssize_t)have;
            c->out_head = k->next;
            chunk_put(g, k);
        }
        if (!c->out_head)
            c->out_tail = NULL;
    }
    while (c->last_off < c->last_len) { /* a last word kept in the connection (xt__gw_send) */
        ssize_t w = write(c->fd, c->last + c->last_off, c->last_len - c->last_off);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->last_off += (uint8_t)w;
        xt_sent_add(&c->sent, w);
        c->last_send = now;
        xt_ctr_add(&s->met.oe_bytes_out, (uint64_t)w);
    }
    return c->state == C_CLOSING;
}

static void flush_dirty(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    while (g->dirty_head != XT_NIL) {
        uint32_t i = g->dirty_head;
        xt_gw_conn_t *c = &g->conns[i];
        g->dirty_head = c->next_dirty;
        c->dirty = 0;
        if (c->state == C_FREE || c->fin)
            continue;
        int r = flush_conn(s, i, now);
        if (r < 0 || (r > 0 && c->adopted)) /* (a bridge's Unix socket: the md thread reads what it holds) */
            close_conn(s, i, 1);
        else if (r > 0)
            shut(s, i);
        if (r != 0)
            continue;
        /* Only a short write arms EPOLLOUT; most flushes drain at once and
         * cost no epoll_ctl. */
        uint8_t want = has_output(c);
        if (want != c->want_out) {
            c->want_out = want;
            xt__gw_events(s, i);
        }
    }
}

/* ---- connections ---------------------------------------------------------- */

void xt__gw_events(xt_server_t *s, uint32_t i)
{
    xt_gw_t *g = s->gw;
    const xt_gw_conn_t *c = &g->conns[i];
    /* (waiting, only its hang-up: a client gone is closed, not logged in) */
    struct epoll_event ev = {(c->state == C_LOGIN_WAIT ? EPOLLRDHUP : EPOLLIN) | (c->want_out ? EPOLLOUT : 0u),
                             {.u64 = i}};
    epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Connection i's session (and the waiting and resume lists) let go of it:
 * at its close, or when its last output is written (shut). cod: its
 * cancel-on-disconnect applies. */
static void let_go(xt_server_t *s, uint32_t i, int cod)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    if (g->n_waiting) /* also one a refusal moved on from C_LOGIN_WAIT: its slot may be reused */
        xt__gw_unwait(g, i);
    xt__gw_resume_stop(g, i);
    if (c->sess != XT_NIL && g->sess[c->sess].conn == i) {
        xt_gw_sess_t *x = &g->sess[c->sess];
        int64_t now = xt_mono_ns();
        x->conn = XT_NIL;
        x->gone_ns = now;
        if (cod && c->cod && !g->stopping) {
            xt_req_t r = {.kind = XT_REQ_SESSION_CANCEL, .account = x->account, .session = x->number};
            uint64_t ticket = xt_req_push(s, &r);
            if (ticket) /* the session is not gone before its cancels are answered */
                x->last_ticket = ticket;
            else if (!x->cod_pending) { /* ring full: retried each loop, never dropped */
                x->cod_pending = 1;
                g->pending_cod[g->n_pending_cod++] = c->sess;
            }
        }
        xt__gw_check_session(s, c->sess, now); /* one with nothing to keep goes at once */
    }
}

/* A closing connection's last output is written. Closed now, it would
 * answer what the client still sends with a reset, and a reset discards
 * what the socket had not delivered yet: the ERROR that says why, to a
 * client that sends faster than it reads (a slow consumer). Instead the
 * write side is shut (its FIN follows the output), the session lets go
 * of it at once, and what comes in is read and dropped; the socket is
 * closed at the client's end of input, once the client has taken
 * everything (timers: nothing left in the socket's send queue), or when
 * it has taken nothing for 3 heartbeat intervals (no write, and the send
 * queue not moving: a slow reader empties megabytes of it long after the
 * last write, and was reset 3 intervals after it, its answers lost). */
static void shut(xt_server_t *s, uint32_t i)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    uint32_t si = c->sess;
    int mine = si != XT_NIL && g->sess[si].conn == i;
    let_go(s, i, 1);
    if (mine && g->sess[si].account != 0) /* not gone with it: shown "closing" till the client has it all */
        g->sess[si].closing_conn = i;
    c->fin = 1;
    shutdown(c->fd, SHUT_WR);
    struct epoll_event ev = {EPOLLIN, {.u64 = i}};
    epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = 0;
}

/* Reads and drops what a shut connection's client still sends; closes it
 * at the end of its input. */
static void drop_input(xt_server_t *s, uint32_t i)
{
    xt_gw_conn_t *c = &s->gw->conns[i];
    for (int rounds = 0; rounds < 4; rounds++) { /* a client that keeps sending cannot hold the thread */
        ssize_t n = read(c->fd, s->gw->rbuf, XT_GW_RBUF);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return close_conn(s, i, 1);
        if (n < 0)
            return;
        xt_ctr_add(&s->met.oe_bytes_in, (uint64_t)n);
    }
}

void xt__gw_logout(xt_server_t *s, uint32_t i)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    c->close_after = C_AFTER_NONE;
    if (c->state == C_LIVE && !c->resuming) { /* everything routed is queued: the session may end */
        xt_gw_sess_t *x = &g->sess[c->sess];
        x->logged_out = 1;
        x->logout_seq = x->last_seq;
    }
    uint8_t o[XT_WIRE_MAX];
    xt__gw_send_last(s, i, o, xt_wire_put_header(o, XT_MSG_LOGOUT_ACK, 0, xt__gw_last_seq(g, c)));
}

void xt__gw_close(xt_server_t *s, uint32_t i)
{
    /* a reset: what the socket still holds for a client that takes
     * nothing is dropped, not left to the kernel to retry */
    struct linger now = {1, 0};
    setsockopt(s->gw->conns[i].fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    close_conn(s, i, 1);
}

static void close_conn(xt_server_t *s, uint32_t i, int cod)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    if (c->state == C_FREE)
        return;
    let_go(s, i, cod);
    if (c->sess != XT_NIL && g->sess[c->sess].closing_conn == i) /* (an entry used again has XT_NIL) */
        g->sess[c->sess].closing_conn = XT_NIL;
    if (!c->adopted)
        xt__gw_counts_dec(&g->ip_conns, c->ip);
    close(c->fd);
    while (c->out_head) {
        xt_gw_chunk_t *k = c->out_head;
        c->out_head = k->next;
        chunk_put(g, k);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
    c->state = C_FREE;
    g->free_next[i] = g->free_head;
    g->free_head = i;
    g->n_conns--;
    xt_ctr_add(&s->met.oe_closed, 1);
}

/* Refuses a connection the gateway has no room for (or is stopping);
 * why: NULL for the connection limits (or the stop). */
static void refuse(xt_server_t *s, int fd, const char *why)
{
    uint8_t f[XT_WIRE_MAX];
    xt_msg_error_t m = {.code = XT_ERR_TOO_MANY_CONNECTIONS};
    snprintf(m.text, sizeof m.text, "%s", why ? why : s->gw->stopping ? "shutting down" : "connection limit reached");
    ssize_t w = write(fd, f, xt_wire_put_error(f, 0, &m));
    (void)w;
    close(fd);
}

/* A new connection: HELLO with its nonce. trusted: handed over by the md
 * thread for REST (its LOGIN needs no signature: the md thread has checked
 * the request's). adopted: from the md thread, not counted against its
 * source address (the md port keeps its own limits). */
static void open_conn(xt_server_t *s, int fd, uint32_t ip, int adopted, int trusted, int64_t now)
{
    xt_gw_t *g = s->gw;
    /* fewer than max_connections are counted: ip_conns has room */
    if (g->free_head == XT_NIL || g->n_conns >= s->cfg.max_connections || g->stopping ||
        (!adopted && (xt__gw_counts_get(&g->ip_conns, ip) >= s->cfg.max_connections_per_ip ||
                      xt__gw_counts_inc(&g->ip_conns, ip) != 0)))
        return refuse(s, fd, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on a socketpair */
    uint32_t i = g->free_head;
    g->free_head = g->free_next[i];
    g->n_conns++;
    xt_ctr_add(&s->met.oe_opened, 1);
    xt_gw_conn_t *c = &g->conns[i];
    memset(c, 0, offsetof(xt_gw_conn_t, in)); /* also not resuming */
    c->fd = fd;
    c->state = C_HELLO;
    c->sess = XT_NIL;
    c->ip = ip;
    c->adopted = (uint8_t)adopted;
    c->trusted = (uint8_t)trusted;
    c->heartbeat_ms = s->cfg.heartbeat_ms;
    c->opened = c->last_recv = c->last_send = now;
    struct epoll_event ev = {EPOLLIN, {.u64 = i}};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
    RAND_bytes(c->nonce, sizeof c->nonce);
    xt_msg_hello_t h = {XT_WIRE_VERSION, s->cfg.heartbeat_ms, {0}, xt_now_ns()};
    memcpy(h.nonce, c->nonce, 16);
    uint8_t f[XT_WIRE_MAX];
    xt__gw_send(s, i, f, xt_wire_put_hello(f, 0, &h));
}

static void accept_all(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    for (;;) {
        struct sockaddr_in a = {0};
        socklen_t al = sizeof a;
        if (s->listen_fd < 0) /* closed: stopping */
            return;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            al = sizeof a;
            fd = xt_fd_spare_accept(&g->spare, s->listen_fd, XT_GW_LISTEN_ID, err, (struct sockaddr *)&a, &al);
            if (fd < 0)
                return;
            xt_ctr_add(&s->met.no_fd_refused[0], 1);
            refuse(s, fd, "the server has no file descriptor left");
            xt_fd_spare_restore(&g->spare);
            continue;
        }
        uint32_t ip = a.sin_family == AF_INET ? ntohl(a.sin_addr.s_addr) : 0;
        open_conn(s, fd, ip, 0, 0, now);
    }
}

int xt_gateway_adopt(xt_server_t *s, int fd, int trusted)
{
    xt_adopt_t *q = &s->adopt;
    pthread_mutex_lock(&q->lock);
    int ok = q->n < XT_ADOPT_MAX && !atomic_load(&s->met.stopping);
    if (ok) {
        q->fd[q->n] = fd;
        q->trusted[q->n++] = (uint8_t)trusted;
        atomic_store(&s->adopt_pending, 1);
    }
    pthread_mutex_unlock(&q->lock);
    if (!ok)
        return XT_ELIMIT;
    uint64_t one = 1;
    ssize_t w = write(s->gateway_efd, &one, sizeof one);
    (void)w;
    return 0;
}

/* The connections the md thread has handed over since the last look. */
static void adopt_all(xt_server_t *s, int64_t now)
{
    if (!atomic_exchange(&s->adopt_pending, 0))
        return;
    xt_adopt_t *q = &s->adopt;
    int fd[XT_ADOPT_MAX];
    uint8_t trusted[XT_ADOPT_MAX];
    pthread_mutex_lock(&q->lock);
    uint32_t n = q->n;
    memcpy(fd, q->fd, n * sizeof fd[0]);
    memcpy(trusted, q->trusted, n);
    q->n = 0;
    pthread_mutex_unlock(&q->lock);
    for (uint32_t k = 0; k < n; k++)
        open_conn(s, fd[k], 0, 1, trusted[k], now);
}

/* ---- requests ------------------------------------------------------------- */

static void gw_reject(xt_server_t *s, uint32_t i, const xt_req_t *r, int reason)
{
    xt_gw_t *g = s->gw;
    xt_msg_rejected_t m;
    xt_req_rejected(r, reason, &m);
    if (reason > 0 && reason < XT_R_GATEWAY_MAX_)
        xt_ctr_add(&s->met.gw_rejects[reason], 1);
    uint8_t f[XT_WIRE_MAX];
    xt__gw_send(s, i, f, xt_wire_put_rejected(f, 0, xt__gw_last_seq(g, &g->conns[i]), &m));
}

/* Are the request's fields in their domains? */
static int fields_ok(const xt_req_t *r)
{
    switch (r->kind) {
    case XT_REQ_NEW: return r->side <= XT_SELL && r->type <= XT_MARKET && r->tif <= XT_POST && r->stp <= XT_STP_CB;
    case XT_REQ_MASS_CANCEL:
    case XT_REQ_OPEN_ORDERS: return 1;
    default: /* CANCEL, AMEND, STATUS: exactly one of orig_clordid / order_id,
              * which is below XT_ORDER_ID_UNKNOWN (that stands for "none") */
        return (r->orig_clordid == 0) != (r->order_id == 0) && r->order_id >= 0 && r->order_id != XT_ORDER_ID_UNKNOWN;
    }
}

static int take_token(xt_server_t *s, xt_gw_sess_t *x, int64_t now)
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
static int gateway_reason(xt_server_t *s, xt_gw_sess_t *x, const xt_req_t *r, int64_t now)
{
    int ordered = r->kind == XT_REQ_NEW || r->kind == XT_REQ_CANCEL || r->kind == XT_REQ_AMEND;
    if (s->gw->stopping)
        return XT_R_SHUTTING_DOWN;
    /* ORDER_STATUS too: the books in memory may hold the failed batch's
     * commands, which are not on disk (docs/protocol.md) */
    if (atomic_load(&s->journal_failed))
        return XT_R_JOURNAL_FAILED;
    if ((ordered && r->clordid == 0) || !fields_ok(r))
        return XT_R_INVALID_FIELD;
    int names_instrument =
        r->kind == XT_REQ_NEW || r->check_instrument || (r->kind == XT_REQ_MASS_CANCEL && r->instrument != UINT32_MAX);
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
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    int kind = xt_metrics_cmd_index(r->kind);
    if (kind >= 0)
        xt_ctr_add(&s->met.commands[kind], 1);
    if (c->state != C_LIVE)
        return gw_reject(s, i, r, XT_R_NOT_LOGGED_IN);
    xt_gw_sess_t *x = &g->sess[c->sess];
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
    if (!g->probe_ticket) { /* one request at a time is timed (xt_order_ack_latency_seconds) */
        g->probe_ticket = ticket;
        g->probe_t0 = now;
    }
    if (r->kind != XT_REQ_MASS_CANCEL && r->kind != XT_REQ_STATUS && r->kind != XT_REQ_OPEN_ORDERS) {
        x->prev_clordid = x->last_clordid;
        x->last_clordid = r->clordid;
    }
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
    case XT_MSG_AMEND:
    case XT_MSG_AMEND_CHECKED: { /* one kind of request: the engine thread checks the instrument */
        xt_msg_amend_t m = {0};
        if (type == XT_MSG_AMEND)
            xt_wire_get_amend(f, &m);
        else
            xt_wire_get_amend_checked(f, &m);
        r.kind = XT_REQ_AMEND;
        r.check_instrument = type == XT_MSG_AMEND_CHECKED;
        r.clordid = m.clordid;
        r.orig_clordid = m.orig_clordid;
        r.order_id = m.order_id;
        r.price = m.price;
        r.qty = m.qty;
        r.instrument = m.instrument;
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
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    if (c->close_after) /* after its LOGOUT or a kick: not taken (docs/protocol.md, admin.md) */
        return;
    switch (h->type) {
    case XT_MSG_LOGIN: xt__gw_login(s, i, f, now); return;
    case XT_MSG_HEARTBEAT: return;
    case XT_MSG_LOGOUT:
        /* Requests read before it are answered on this connection first:
         * the ACK waits for them (xt__gw_finish_waiting), and nothing read
         * after it is taken. (It once came at once, the connection closed
         * under their answers: the orders stood, answered only to a
         * resume.) */
        if (xt__gw_close_after(s, i, C_AFTER_LOGOUT))
            return;
        return xt__gw_logout(s, i);
    default: break;
    }
    xt_req_t r = decode_request(f, h->type);
    if (r.kind == XT_REQ_STATUS && r.order_id == XT_STATUS_LIST_OPEN && c->trusted)
        r.kind = XT_REQ_OPEN_ORDERS; /* REST's GET /api/v1/orders?open=true (md_oe.c) */
    if (r.kind)
        do_request(s, i, &r, now);
    else
        xt__gw_error(s, i, XT_ERR_UNKNOWN_TYPE, "not a client message type");
}

/* Handles the whole frames in b[0..len); returns the bytes used. */
static size_t on_bytes(xt_server_t *s, uint32_t i, const uint8_t *b, size_t len, int64_t now)
{
    const xt_gw_conn_t *c = &s->gw->conns[i];
    size_t at = 0;
    while (c->state == C_HELLO || c->state == C_LOGIN_WAIT || c->state == C_LIVE) {
        xt_wire_hdr_t h;
        int n = xt_wire_frame(b + at, len - at, s->cfg.max_frame, &h);
        if (n == 0)
            break;
        if (n < 0 || h.flags != 0 || (h.type & 0x80)) {
            int code = n < 0 ? -n : (h.type & 0x80) ? XT_ERR_UNKNOWN_TYPE : XT_ERR_MALFORMED;
            xt__gw_error(s, i, code, n < 0 ? xt_wire_error_name(code) : "bad flags or direction");
            break;
        }
        on_frame(s, i, b + at, &h, now);
        at += (size_t)n;
    }
    return at;
}

/* The bytes to read before a login to end the frame begun in b[0..have):
 * its header, then the rest of its length (a bad length is refused once
 * the header is there). */
static size_t hello_want(const uint8_t *b, size_t have)
{
    if (have < XT_WIRE_HDR)
        return XT_WIRE_HDR - have;
    size_t len = xt_get16(b); /* the frame's length (xt/wire.h) */
    return len > have && len <= XT_WIRE_MAX ? len - have : 1;
}

/* Reads into the shared buffer, behind the partial frame the connection
 * kept; only a partial frame is kept again. xt_wire_frame rejects a frame
 * whose length is not its type's as soon as 3 bytes are there, so what
 * waits for more bytes is always shorter than XT_WIRE_MAX.
 * Every frame of what is there is handled before the loop routes any
 * engine answer (route_released): the REST bridge counts on it, sending an
 * order and the ORDER_STATUS behind it in one write so that a status
 * refused at once is answered before the order's ACCEPTED (md_oe_rest.c
 * send_pend, docs/rest.md). */
static void read_conn(xt_server_t *s, uint32_t i, int64_t now)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    uint8_t *b = g->rbuf;
    if (c->fin)
        return drop_input(s, i);
    if (c->state == C_LOGIN_WAIT) { /* waits for its hang-up only (xt__gw_events): the client gone */
        /* what it sent behind the LOGIN is read and dropped first: a close
         * with bytes unread is a reset, where a half-closed client expects
         * its end of file */
        for (int rounds = 0; rounds < 64 && read(c->fd, b, XT_GW_RBUF) > 0; rounds++)
            ;
        return close_conn(s, i, 1);
    }
    for (;;) {
        size_t have = c->inlen;
        memcpy(b, c->in, have);
        /* Before the login, a frame at a time: what a client sends behind a
         * LOGIN that waits for its session's answers (C_LOGIN_WAIT) stays in
         * the socket, unread, until the login is answered (xt__gw_events),
         * and is then taken as a logged-in client's - not refused
         * NOT_LOGGED_IN ahead of the LOGIN_ACCEPTED. */
        size_t want = c->state == C_HELLO ? hello_want(b, have) : XT_GW_RBUF;
        ssize_t n = read(c->fd, b + have, want);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_conn(s, i, 1);
            return;
        }
        if (n < 0)
            return;
        xt_ctr_add(&s->met.oe_bytes_in, (uint64_t)n);
        c->last_recv = now;
        size_t len = have + (size_t)n, at = on_bytes(s, i, b, len, now);
        if (c->state == C_CLOSING) {
            c->inlen = 0;
            return;
        }
        assert(len - at < sizeof c->in);
        memcpy(c->in, b + at, len - at);
        c->inlen = (uint16_t)(len - at);
        if (c->state == C_LOGIN_WAIT) /* its input waits in the socket */
            return xt__gw_events(s, i);
        /* Before the login one read a call (a client that keeps the
         * socket full of frames before logging in held the loop, every
         * other connection waiting); once logged in, on while reads fill
         * the buffer. */
        if (want < XT_GW_RBUF ? c->state != C_LIVE : (size_t)n < XT_GW_RBUF / 2)
            return;
    }
}

/* ---- released messages ----------------------------------------------------- */

/* A request the engine thread answered without journaling it (open-order
 * limit, journal failure) did not use up its clordid: if it is still the
 * session's highest, it may be sent again. */
static void unuse_clordid(xt_gw_t *g, const xt_outlog_slot_t *sl)
{
    xt_wire_hdr_t h;
    if (xt_wire_frame(sl->frame, sl->len, XT_WIRE_MAX, &h) <= 0 || h.type != XT_MSG_REJECTED)
        return;
    xt_msg_rejected_t m;
    xt_wire_get_rejected(sl->frame, &m);
    uint32_t si = xt__gw_sess_find(g, sl->account, sl->session);
    int ordered = m.request == XT_MSG_NEW_ORDER || m.request == XT_MSG_CANCEL || m.request == XT_MSG_AMEND;
    /* The highest goes back to what it was before this request raised it:
     * not to clordid - 1, which the client may never have sent (ids need
     * not be consecutive). Requests sent after it hold it up: then this
     * one stays counted, as one in flight would. */
    xt_gw_sess_t *x = si == XT_NIL ? NULL : &g->sess[si];
    if (ordered && x && m.clordid && x->last_clordid == m.clordid && x->prev_clordid < m.clordid)
        x->last_clordid = x->prev_clordid;
}

/* Does an engine answer (ephemeral slot) go out to its connection now:
 * still the session's, and not resuming (the cursor then sends it)? */
static int deliverable(const xt_gw_t *g, const xt_outlog_slot_t *sl)
{
    if (sl->conn >= g->max_conns)
        return 0;
    const xt_gw_conn_t *c = &g->conns[sl->conn];
    return c->state == C_LIVE && !c->resuming && c->sess != XT_NIL && g->sess[c->sess].account == sl->account &&
           g->sess[c->sess].number == sl->session;
}

/* Messages the engine wrote over before they were routed: counted
 * (xt_order_entry_messages_lost_total) and logged - every connection is
 * closed with RESYNC for it. */
static void report_lost(xt_server_t *s, uint64_t lost)
{
    xt_ctr_add(&s->met.oe_lost, lost);
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN,
                     "order entry: one engine batch made more messages than server.resume_messages holds; those "
                     "written over before they were routed are lost, and every connection is told RESYNC")) {
        xt_log_u64(&e, "lost", lost);
        xt_log_u64(&e, "resume_messages", s->log.cap);
        xt_log_end(&e);
    }
}

/* Sends the released messages to their sessions' connections - except to
 * one that is resuming: its cursor reaches them in the outlog, in order. */
static void route_released(xt_server_t *s)
{
    xt_gw_t *g = s->gw;
    int64_t now = xt_mono_ns();
    /* answered before released: every answer of a request below `answered`
     * is then below `to` */
    uint64_t answered = atomic_load_explicit(&s->answered, memory_order_acquire);
    uint64_t from = atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
    uint64_t to = atomic_load_explicit(&s->log.released, memory_order_acquire);
    uint64_t lost = 0;
    for (uint64_t p = from; p < to; p++) {
        xt_outlog_slot_t sl;
        if (xt_outlog_read(&s->log, p, &sl) != 0) { /* overwritten: only if one batch overflowed the log */
            lost++;
            g->loss_gen++; /* whose it was is unknown: every session's numbers, until told again */
            continue;
        }
        if (sl.flags & XT_OL_CONTROL) {
            if (sl.conn == XT_OL_BAND) /* before the answers after it: their orders met the new band */
                xt__gw_band_answer(s, sl.session, -(int)sl.account);
            else
                xt__gw_on_control(s, &sl, now);
            continue;
        }
        if (sl.flags & XT_OL_EPHEMERAL) {
            unuse_clordid(g, &sl);
            if (deliverable(g, &sl))
                xt__gw_send(s, sl.conn, sl.frame, sl.len);
            continue;
        }
        uint32_t si = xt__gw_sess_find(g, sl.account, sl.session);
        if (si == XT_NIL) /* the engine's word: held even past the per-account limit */
            si = xt__gw_sess_new(g, sl.account, sl.session, now);
        if (si == XT_NIL)
            continue;
        xt_gw_sess_t *x = &g->sess[si];
        /* first: an ERROR it may cause names the last message sent */
        if (x->conn != XT_NIL && !g->conns[x->conn].resuming)
            xt__gw_send(s, x->conn, sl.frame, sl.len);
        xt_wire_hdr_t h;
        if (xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) > 0)
            x->last_seq = h.seq;
        x->last_pos1 = p + 1;
        x->seen_gen = g->loss_gen;
    }
    atomic_store_explicit(&s->log.consumed, to, memory_order_release);
    g->answered = answered;
    if (lost)
        report_lost(s, lost);
    /* Whose messages were lost is unknown: every session must resume. Told
     * before the kicks and LOGOUTs that waited for these answers are
     * finished: their ERROR KICKED or LOGOUT_ACK would say every answer
     * came (a REST bridge then answers its requests still waiting "not
     * taken", md_oe_rest.c), and a LOGOUT would end the session, its lost
     * messages never resumed. And again after: a login finished now must
     * resume too. */
    if (lost)
        error_all(s, 1, XT_ERR_RESYNC, RESYNC_TEXT);
    if (g->n_waiting)
        xt__gw_finish_waiting(s, now);
    if (lost)
        error_all(s, 1, XT_ERR_RESYNC, RESYNC_TEXT);
}

/* ---- timers ------------------------------------------------------------------ */

/* The log tells of a journal write or sync that has held the engine for a
 * second, while it lasts (the fsync histogram has it only once it
 * returns), and when it is over: meanwhile requests are taken and queue
 * up in the inbound ring (OVERLOADED once it is full), their answers
 * wait, heartbeats go on. */
static void journal_watch(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    int64_t since = atomic_load_explicit(&s->met.journal_busy_since, memory_order_relaxed);
    xt_log_ev_t e;
    if (g->stall_logged && since != g->stall_logged) {
        if (xt_log_begin(&e, XT_LOG_INFO, "journal: the disk answered; answers flow again")) {
            xt_log_u64(&e, "stalled_ms", (uint64_t)(now - g->stall_logged) / 1000000); /* to within 50 ms */
            xt_log_end(&e);
        }
        g->stall_logged = 0;
    }
    if (since && since != g->stall_logged && now - since >= 1000000000) {
        if (xt_log_begin(&e, XT_LOG_WARN,
                         "journal: the engine has waited over a second on the disk (a write or sync of the journal); "
                         "requests queue up and their answers wait")) {
            xt_log_str(&e, "data", s->cfg.data_dir);
            xt_log_end(&e);
        }
        g->stall_logged = since;
    }
}

/* Live connection c still holds bytes in its socket that its client is
 * taking: it is sending, though nothing was written lately (no HEARTBEAT
 * amid a stream draining to a slow reader). */
static int still_sending(xt_gw_conn_t *c)
{
    uint32_t held;
    return xt_sent_taken(&c->sent, c->fd, &held) && held > 0;
}

static void timers(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    for (uint32_t i = 0; i < g->max_conns; i++) {
        xt_gw_conn_t *c = &g->conns[i];
        if (c->state == C_FREE)
            continue;
        int64_t hb = (int64_t)c->heartbeat_ms * 1000000;
        if (c->state == C_CLOSING) { /* closed once the client has it all, or took nothing for 3 intervals */
            uint32_t q;
            if (xt_sent_taken(&c->sent, c->fd, &q)) /* the kernel's queue still drains to a client that reads */
                c->last_send = now;
            if ((c->fin && q == 0) || now - c->last_send > 3 * hb)
                close_conn(s, i, 1);
            continue;
        }
        /* (not C_LOGIN_WAIT: its LOGIN came in time, and waits for the
         * engine's answers to requests in flight - as long as a stalled
         * journal takes) */
        if (c->state == C_HELLO && now - c->opened > (int64_t)s->cfg.login_timeout_ms * 1000000)
            xt__gw_error(s, i, XT_ERR_LOGIN_TIMEOUT, "no login in time");
        else if (c->state == C_LIVE && now - c->last_recv > 3 * hb)
            xt__gw_error(s, i, XT_ERR_HEARTBEAT_TIMEOUT, "nothing received for three heartbeat intervals");
        else if (c->state == C_LIVE && now - c->last_send > hb && !c->out_head && still_sending(c))
            c->last_send = now; /* what was written is still going out: not idle */
        else if (c->state == C_LIVE && now - c->last_send > hb && !c->out_head) {
            uint8_t f[XT_WIRE_MAX];
            xt__gw_send(s, i, f, xt_wire_put_header(f, XT_MSG_SERVER_HEARTBEAT, 0, xt__gw_last_seq(g, c)));
            c->last_send = now;
        }
    }
    while (g->n_pending_cod > 0) {
        xt_gw_sess_t *x = &g->sess[g->pending_cod[g->n_pending_cod - 1]];
        xt_req_t r = {.kind = XT_REQ_SESSION_CANCEL, .account = x->account, .session = x->number};
        uint64_t ticket = xt_req_push(s, &r);
        if (!ticket)
            break;
        x->last_ticket = ticket;
        x->cod_pending = 0;
        g->n_pending_cod--;
    }
    xt__gw_sweep(s, now);
    if (atomic_load(&s->journal_failed) && !g->failed_seen) {
        g->failed_seen = 1;
        error_all(s, 1, XT_ERR_RESYNC, "journal failed: answers after the failure are unknown");
        xt__gw_finish_waiting(s, now); /* logins waiting for answers that will not come */
    }
}

/* ---- lifecycle --------------------------------------------------------------- */

int xt_gateway_init(xt_server_t *s)
{
    xt_gw_t *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    s->gw = g;
    g->spare.fd = -1;
    g->max_conns = s->cfg.max_connections;
    /* The gateway's tables are never read by a snapshot: left out of its fork. */
    g->conns = xt_pages_alloc(sizeof *g->conns * g->max_conns, XT_PAGES_NOFORK);
    g->free_next = calloc(g->max_conns, sizeof *g->free_next);
    g->waiting = calloc(g->max_conns, sizeof *g->waiting);
    g->resuming = calloc(g->max_conns, sizeof *g->resuming);
    g->rbuf = malloc(XT_WIRE_MAX + XT_GW_RBUF);
    /* Output pool: two chunks per allowed connection, at least 8,192 (128
     * MiB of address space, touched only as far as it is ever used). */
    g->n_chunks = g->max_conns * 2 > 8192 ? g->max_conns * 2 : 8192;
    if (s->cfg.output_chunks) /* debug.output_chunks: a small pool, for tests */
        g->n_chunks = s->cfg.output_chunks;
    g->chunks = xt_pages_alloc(sizeof *g->chunks * g->n_chunks, XT_PAGES_NOFORK);
    if (!g->conns || !g->free_next || !g->waiting || !g->resuming || !g->rbuf || !g->chunks ||
        xt__gw_counts_init(&g->ip_conns, g->max_conns) != 0 || xt__gw_sessions_init(s, xt_mono_ns()) != 0)
        return -1;
    for (uint32_t i = 0; i < g->max_conns; i++)
        g->free_next[i] = i + 1 < g->max_conns ? i + 1 : XT_NIL;
    g->free_head = 0;
    g->dirty_head = XT_NIL;
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (xt_fd_spare_open(&g->spare, g->ep) != 0)
        return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    g->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g->ep < 0 || g->sfd < 0)
        return -1;
    struct epoll_event ev = {EPOLLIN, {.u64 = XT_GW_LISTEN_ID}};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, s->listen_fd, &ev);
    ev.data.u64 = (uint64_t)XT_NIL + 2;
    epoll_ctl(g->ep, EPOLL_CTL_ADD, s->gateway_efd, &ev);
    ev.data.u64 = (uint64_t)XT_NIL + 3;
    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->sfd, &ev);
    return 0;
}

static void on_signal(xt_server_t *s)
{
    xt_gw_t *g = s->gw;
    struct signalfd_siginfo si;
    while (read(g->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1)
            atomic_store(&s->snapshot_request, 1);
        else if (si.ssi_signo == SIGHUP)
            xt__gw_reload(s);
        else if (!g->stopping) {
            xt_log_ev_t e;
            if (xt_log_begin(&e, XT_LOG_INFO, "stopping: no new connections or orders; draining")) {
                xt_log_str(&e, "signal", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                xt_log_end(&e);
            }
            g->stopping = 1;
            atomic_store(&s->met.stopping, 1);
            epoll_ctl(g->ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
            close(s->listen_fd); /* new connections are refused at once, not left unanswered in the backlog */
            s->listen_fd = -1;
            atomic_store(&s->stop_engine, 1);
            uint64_t one = 1;
            ssize_t n = write(s->engine_efd, &one, sizeof one);
            (void)n;
        }
    }
}

/* The loop comes round at least every 50 ms; a gap of over a second means
 * this thread did not run (the process was stopped - SIGSTOP, a paused
 * VM - or starved, or blocked). Its clients' silence meanwhile is not
 * held against them: their heartbeats and LOGINs wait unread in the
 * sockets. Each connection's clocks move on by the gap, so that a
 * connection is judged on what it sent before and after, and the log
 * says so once. */
#define XT_GW_STALL_NS INT64_C(1000000000)

static void stalled(xt_server_t *s, int64_t gap)
{
    xt_gw_t *g = s->gw;
    for (uint32_t i = 0; i < g->max_conns; i++) {
        xt_gw_conn_t *c = &g->conns[i];
        if (c->state == C_FREE)
            continue;
        c->opened += gap;
        c->last_recv += gap;
        c->last_send += gap; /* a closing one's last output: written once the socket is looked at */
    }
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN,
                     "gateway: the thread did not run for over a second (the process stopped or starved); "
                     "clients are not timed out for that while")) {
        xt_log_u64(&e, "ms", (uint64_t)gap / 1000000);
        xt_log_end(&e);
    }
}

/* Stopping: has every connection's output reached its client? (shut:
 * closed by the timers once delivered) */
static int all_flushed(const xt_gw_t *g)
{
    for (uint32_t i = 0; i < g->max_conns; i++)
        if (g->conns[i].state != C_FREE && (has_output(&g->conns[i]) || g->conns[i].fin))
            return 0;
    return 1;
}

int xt_gateway_run(xt_server_t *s)
{
    xt_gw_t *g = s->gw;
    struct epoll_event evs[256];
    int64_t last_timers = 0, stop_deadline = 0, last_now = 0;
    for (;;) {
        /* Parked only with nothing released to route and no resume that
         * could be topped up: the engine wakes a parked gateway
         * (wake_gateway_if_parked), never an awake one. Within
         * server.busy_poll_us of the last work it polls instead, awake:
         * the engine then writes nothing to wake it. */
        int spin = g->spin_until && xt_mono_ns() < g->spin_until;
        if (!spin) {
            atomic_store_explicit(&s->gateway_sleeping, 1, memory_order_relaxed);
            atomic_thread_fence(memory_order_seq_cst);
        }
        int work = atomic_load_explicit(&s->log.released, memory_order_relaxed) !=
                       atomic_load_explicit(&s->log.consumed, memory_order_relaxed) ||
                   xt__gw_resume_ready(s);
        int n = epoll_wait(g->ep, evs, 256, work || spin ? 0 : 50);
        atomic_store_explicit(&s->gateway_sleeping, 0, memory_order_relaxed);
        int64_t now = xt_mono_ns();
        if (last_now && now - last_now > XT_GW_STALL_NS)
            stalled(s, now - last_now);
        last_now = now;
        uint64_t pushed = atomic_load_explicit(&s->ring.head, memory_order_relaxed); /* only this thread moves it */
        for (int k = 0; k < n; k++) {
            uint64_t id = evs[k].data.u64;
            if (id == XT_GW_LISTEN_ID)
                accept_all(s, now);
            else if (id == (uint64_t)XT_NIL + 2) {
                uint64_t v;
                ssize_t r = read(s->gateway_efd, &v, sizeof v);
                (void)r;
            } else if (id == (uint64_t)XT_NIL + 3)
                on_signal(s);
            else if (id >= XT_GW_ADMIN_ID)
                xt__gw_admin_event(s, id, evs[k].events);
            else {
                uint32_t i = (uint32_t)id;
                if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
                    read_conn(s, i, now);
                if (g->conns[i].state != C_FREE && (evs[k].events & EPOLLOUT))
                    mark_dirty(g, i);
            }
        }
        adopt_all(s, now);
        route_released(s); /* after every read of the loop (read_conn) */
        /* server.busy_poll_us: the window runs from the last request sent
         * to the engine or answer routed, not from heartbeats, timers or
         * the admin socket, which would keep it open on an idle server. */
        if (s->cfg.busy_poll_us && (work || atomic_load_explicit(&s->ring.head, memory_order_relaxed) != pushed))
            g->spin_until = now + (int64_t)s->cfg.busy_poll_us * 1000;
        else if (spin && n == 0)
            xt_cpu_relax();
        xt__gw_admin_tick(s);
        xt__gw_reload_poll(s);
        xt__gw_bands_poll(s);
        if (now - last_timers > 50000000 && n >= 0) { /* not after an EINTR (SIGCONT): the sockets are read first */
            timers(s, now);
            journal_watch(s, now);
            last_timers = now;
            xt_fd_spare_tick(&g->spare, !g->stopping); /* paused listeners tried again every 50 ms */
        }
        xt__gw_refill_all(s, now);
        flush_dirty(s, now);
        if (g->probe_ticket && g->answered >= g->probe_ticket) { /* its answer was routed and written */
            xt_phist_add(&s->met.ack, (uint64_t)(xt_mono_ns() - g->probe_t0) / 1000);
            g->probe_ticket = 0;
        }
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
    xt_gw_t *g = s->gw;
    if (!g)
        return;
    xt__gw_reload_destroy(s);
    xt__gw_bands_destroy(s);
    if (g->ep > 0)
        close(g->ep);
    struct signalfd_siginfo si; /* what came after the loop's last read: a SIGHUP is told, not lost unsaid */
    int hup = 0;
    while (g->sfd > 0 && read(g->sfd, &si, sizeof si) == (ssize_t)sizeof si)
        hup |= si.ssi_signo == SIGHUP;
    if (hup)
        xt__gw_reload_too_late();
    if (g->sfd > 0)
        close(g->sfd);
    xt_fd_spare_close(&g->spare);
    xt__gw_sessions_destroy(g);
    xt_pages_free(g->chunks);
    free(g->waiting);
    free(g->resuming);
    free(g->rbuf);
    xt_pages_free(g->conns);
    free(g->free_next);
    xt__gw_counts_destroy(&g->ip_conns);
    free(g);
    s->gw = NULL;
}
