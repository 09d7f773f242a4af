/* md_oe.c - the bridges of order entry through the market-data port: the
 * socketpairs handed to the gateway, their frames both ways, and the
 * WebSocket order-entry commands (see md_oe.h; REST: md_oe_rest.c). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): SOCK_NONBLOCK, SOCK_CLOEXEC */
#include "md_oe.h"

#include <errno.h>
#include <jansson.h>
#include <linux/sockios.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/le.h"
#include "credentials.h"
#include "md_cmd.h"
#include "md_oe_internal.h"
#include "xt/error.h"

#define HEARTBEAT_NS (20 * 1000000000LL) /* bridges ask the gateway for 60 s: three of ours per interval */
#define OUT_MAX 1024                     /* one JSON message pushed to a WebSocket */
/* A bridge's socket: each frame sent is a buffer of its own in the kernel,
 * charged at about 768 bytes however short it is (a bridge sends one per
 * message), so the send buffer is asked for large: 1 MiB (the kernel
 * doubles it, within net.core.wmem_max). */
#define BRIDGE_SNDBUF (1 << 20)
#define FRAME_CHARGE 1024 /* at most, of the send buffer, one frame to the gateway */
/* bytes of WebSocket input at least per message that sends a frame (a 6-byte head, `{"op":...}`) */
#define WS_MSG_MIN 16
#define READ_MIN 256 /* input read at a time at least; less room pauses it */

static const xt_md_sym_t *sym_by_symbol(void *ctx, const char *symbol, uint32_t *id)
{
    mds_t *m = ctx;
    const xt_md_inst_t *in = xt_md_find_symbol(&m->md, symbol, strlen(symbol));
    if (!in)
        return NULL;
    *id = xt_md_inst_id(in);
    return &m->pub[*id].sym[XT_TH_LIVE];
}

static const xt_md_sym_t *sym_by_id(void *ctx, uint32_t id)
{
    mds_t *m = ctx;
    return id < m->n_inst ? &m->pub[id].sym[XT_TH_LIVE] : NULL;
}

xt_oe_insts_t xt__oe_insts(mds_t *m)
{
    return (xt_oe_insts_t){sym_by_symbol, sym_by_id, m};
}

int xt_mds_oe_init(mds_t *m)
{
    xt_oe_t *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    m->oe = o;
    o->b = calloc(XT_OE_BRIDGES, sizeof *o->b);
    o->pend = calloc(XT_OE_PENDING, sizeof *o->pend);
    o->lists = calloc(XT_OE_LISTS, sizeof *o->lists);
    if (!o->b || !o->pend || !o->lists)
        return -1;
    for (uint32_t i = 0; i < XT_OE_BRIDGES; i++) {
        o->b[i].fd = -1;
        o->b[i].next_free = i + 1 < XT_OE_BRIDGES ? i + 1 : NIL;
    }
    for (uint32_t i = 0; i < XT_OE_PENDING; i++)
        o->pend[i].next = i + 1 < XT_OE_PENDING ? i + 1 : NIL;
    for (uint32_t i = 0; i < XT_OE_LISTS; i++)
        o->lists[i].pend = NIL;
    for (uint32_t i = 0; i < XT_OE_REST_CACHE; i++)
        o->rest_cache[i] = NIL;
    o->free_b = 0;
    o->free_pend = 0;
    return 0;
}

void xt_mds_oe_destroy(mds_t *m)
{
    xt_oe_t *o = m->oe;
    if (!o)
        return;
    for (uint32_t i = 0; o->b && i < XT_OE_BRIDGES; i++)
        if (o->b[i].fd >= 0)
            close(o->b[i].fd);
    free(o->b);
    free(o->pend);
    free(o->lists);
    free(o);
    m->oe = NULL;
}

/* ---- bridges ------------------------------------------------------------------- */

uint32_t xt__oe_open(mds_t *m, int rest, uint32_t owner)
{
    xt_oe_t *o = m->oe;
    int sv[2];
    if (o->free_b == NIL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        o->refused[OE_REFUSED_NO_ROOM]++;
        return NIL;
    }
    if (xt_gateway_adopt(m->s, sv[1], rest) != 0) {
        close(sv[0]);
        close(sv[1]);
        o->refused[OE_REFUSED_NO_ROOM]++;
        return NIL;
    }
    uint32_t b = o->free_b;
    oe_bridge_t *x = &o->b[b];
    o->free_b = x->next_free;
    uint32_t gen = x->gen + 1;
    memset(x, 0, sizeof *x);
    x->gen = gen;
    x->fd = sv[0];
    x->state = B_HELLO;
    x->rest = (uint8_t)rest;
    x->owner = owner;
    x->pend_head = x->pend_tail = NIL;
    x->last_out = x->last_used = m->mono;
    int want = m->s->cfg.bridge_sndbuf ? (int)m->s->cfg.bridge_sndbuf : BRIDGE_SNDBUF, got = 0;
    socklen_t gl = sizeof got;
    setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    x->sndbuf = getsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &got, &gl) == 0 && got > 0 ? (uint32_t)got : 0;
    struct epoll_event ev = {EPOLLIN, {.u64 = XT_OE_EV | b}};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, x->fd, &ev);
    x->armed = 1;
    return b;
}

/* Bridge b's epoll registration: EPOLLIN unless paused for its client's
 * reading, EPOLLOUT while its client's input waits for room. */
static void bridge_arm(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    uint32_t want = (x->paused ? 0u : (uint32_t)EPOLLIN) | (x->full ? (uint32_t)EPOLLOUT : 0u);
    struct epoll_event ev = {want, {.u64 = XT_OE_EV | b}};
    if (want)
        epoll_ctl(m->ep, x->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, x->fd, &ev);
    else if (x->armed)
        epoll_ctl(m->ep, EPOLL_CTL_DEL, x->fd, NULL);
    x->armed = want != 0;
}

/* Bytes bridge x's socket holds for the gateway (what its send buffer is
 * charged); -1 when that is not known (no send buffer size, a failed
 * ioctl): the bridge is not paced then. */
static int64_t bridge_queued(const oe_bridge_t *x)
{
    int queued = 0;
    if (!x->sndbuf || ioctl(x->fd, SIOCOUTQ, &queued) != 0 || queued < 0)
        return -1;
    return queued;
}

/* What bridge x's socket takes before a send fails, given what it holds. */
static size_t bridge_room(const oe_bridge_t *x, int64_t queued)
{
    return (uint64_t)queued < x->sndbuf ? x->sndbuf - (size_t)queued : 0;
}

static void mark_full(mds_t *m, uint32_t b)
{
    m->oe->b[b].full = 1;
    bridge_arm(m, b);
}

int xt__oe_fits(mds_t *m, uint32_t b, size_t frames)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (x->full)
        return 0; /* (what waits goes first) */
    int64_t queued = bridge_queued(x);
    if (queued < 0 || bridge_room(x, queued) / FRAME_CHARGE >= frames)
        return 1;
    mark_full(m, b);
    return 0;
}

/* Input of connection k that its own queue has room to answer: each
 * request read is answered at once (its `result`, or an error) into that
 * queue, which also holds the session's `orders` events (paced to half of
 * it, xt_mds_oe_drained). The answers may fill the other half: in queued
 * messages, and in bytes at most OUT_MAX each, per WS_MSG_MIN read. */
static size_t answers_room(const mds_t *m, const mconn_t *k)
{
    const uint32_t max_msgs = QNODES_CONN_MAX / 2;
    uint64_t half = m->s->cfg.md_output_limit / 2;
    if (k->qn >= max_msgs || k->out_bytes >= half)
        return 0;
    uint64_t by_msgs = (uint64_t)(max_msgs - k->qn) * WS_MSG_MIN;
    uint64_t by_bytes = (half - k->out_bytes) / (OUT_MAX / WS_MSG_MIN);
    return (size_t)(by_msgs < by_bytes ? by_msgs : by_bytes);
}

static size_t pause_input(mds_t *m, uint32_t c)
{
    xt_mds_set_input(m, c, 0);
    m->oe->input_pauses++;
    return 0;
}

size_t xt_mds_oe_input_room(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    /* A client that sends faster than it reads its answers waits for its
     * queue to drain (an empty queue has room for READ_MIN: the drain comes,
     * flush_conn reads on), rather than be closed "answers not read". */
    size_t own = answers_room(m, k);
    if (own < READ_MIN) {
        k->oe_backlog = 1;
        return pause_input(m, c);
    }
    uint32_t b = k->oe;
    oe_bridge_t *x = b ? &m->oe->b[b - 1] : NULL;
    int64_t queued = x && x->fd >= 0 ? bridge_queued(x) : -1;
    if (queued < 0)
        return own;
    size_t bytes = bridge_room(x, queued) / FRAME_CHARGE * WS_MSG_MIN;
    bytes = bytes < own ? bytes : own;
    /* (a bridge at most a quarter full is read on however little: its
     * EPOLLOUT, which comes at a quarter, would wake a pause at once; the
     * smallest send buffer the kernel keeps has room for 3 frames then) */
    if (bytes >= READ_MIN || (bytes && (uint64_t)queued * 4 <= x->sndbuf))
        return bytes;
    mark_full(m, b - 1);
    return pause_input(m, c);
}

/* Bridge b has room again, or is closing: its WebSocket client's input
 * goes on; a REST bridge's requests waiting for room are sent. */
static void bridge_unfull(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (!x->full)
        return;
    x->full = 0;
    if (x->fd >= 0)
        bridge_arm(m, b);
    if (x->rest) {
        if (x->fd >= 0 && x->state == B_LIVE)
            xt__oe_rest_send_unsent(m, b);
    } else if (x->owner != NIL && m->conns[x->owner].oe == b + 1)
        xt_mds_set_input(m, x->owner, 1);
}

void xt__oe_close(mds_t *m, uint32_t b, int status, const char *why)
{
    xt_oe_t *o = m->oe;
    oe_bridge_t *x = &o->b[b];
    if (x->fd < 0)
        return;
    epoll_ctl(m->ep, EPOLL_CTL_DEL, x->fd, NULL);
    close(x->fd);
    x->fd = -1;
    x->armed = 0;
    bridge_unfull(m, b); /* its client reads on: what it sends now is answered "not logged in" */
    /* Closed before its HELLO: the gateway refused the connection (at
     * server.max_connections: ERROR TOO_MANY_CONNECTIONS, the code it also
     * gives while stopping). No session began: a WebSocket's challenge is
     * answered, not told closed. */
    int refused = x->state == B_HELLO,
        no_room = refused && x->close_code == XT_ERR_TOO_MANY_CONNECTIONS && !atomic_load(&m->s->met.stopping);
    if (no_room)
        o->refused[OE_REFUSED_NO_ROOM]++;
    if (x->rest)
        xt__oe_rest_closed(m, b, status, why);
    else if (refused && x->owner != NIL && m->conns[x->owner].oe == b + 1) {
        m->conns[x->owner].oe = 0;
        if (x->wait_op == OE_WAIT_CHALLENGE)
            xt_mds_answer_error(m, x->owner, x->wait_id, 503,
                                no_room ? "no room for another order-entry session; try later" : why);
    } else if (x->owner != NIL && m->conns[x->owner].oe == b + 1) {
        m->conns[x->owner].oe = 0;
        char t[256], q[160];
        if (xt_md_json_string(q, sizeof q, why) == 0)
            strcpy(q, "\"?\"");
        int n = snprintf(t, sizeof t, "{\"ch\":\"orders\",\"event\":\"closed\",\"reason\":%s}", q);
        xt_mds_answer(m, x->owner, t, (size_t)n);
    }
    uint32_t owner = x->owner;
    x->state = B_FREE;
    x->next_free = o->free_b;
    o->free_b = b;
    if (!x->rest && owner != NIL && m->conns[owner].oe == 0) /* closed with a login unanswered: read on */
        xt_mds_ws_release(m, owner);
}

uint64_t xt__oe_take_id(oe_bridge_t *x, uint8_t *f, int ordered)
{
    uint64_t id = xt_get64(f + OE_ID_OFFSET);
    if (id == 0) {
        if (x->next_request == UINT64_MAX)
            return 0; /* used up: 0 is no id (the gateway refuses it, unmatched) */
        id = ++x->next_request;
        xt_put64(f + OE_ID_OFFSET, id);
    } else if (ordered && id > x->next_request) {
        x->next_request = id;
    }
    return id;
}

int xt__oe_send(mds_t *m, uint32_t b, const uint8_t *f, size_t n)
{
    return xt__oe_send_first(m, b, f, n, n, NULL);
}

int xt__oe_send_first(mds_t *m, uint32_t b, const uint8_t *f, size_t n, size_t first, uint8_t *first_sent)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (x->ended)
        return -1;
    ssize_t w = send(x->fd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= (ssize_t)first && first_sent)
        *first_sent = 1; /* the gateway has the first frame whole, whatever becomes of the rest */
    if (w == (ssize_t)n) {
        x->last_out = m->mono;
        return 0;
    }
    /* The gateway reads its sockets in every loop: a full socketpair means
     * it is far behind; a frame cut in two would spoil the stream. A
     * closed one: the gateway ended the session (its ERROR, if it sent
     * one, may be behind frames not read yet). It was once told as
     * "overloaded". */
    int gone = w < 0 && (errno == EPIPE || errno == ECONNRESET);
    if (gone && !x->rest) {
        /* A WebSocket's bridge is read to its end at its client's pace, as
         * epoll reports it (xt_mds_oe_event): the answers the gateway sent
         * before it closed - a kick's ERROR waits for the answers to what
         * the gateway had read, however many - then the ERROR that says
         * why, told in the `closed` event at the end. Nothing more is
         * passed on meanwhile. (It once read at most 64 rounds here, none
         * while paused, and closed: the ERROR of a kick during a burst was
         * lost.) */
        x->ended = 1;
        return -1;
    }
    if (gone && !x->draining) {
        /* What the gateway sent before it closed is read first - the
         * answers, the ERROR that says why (a kick during a burst lost
         * both); the reading ends in the bridge's close, at its end. */
        uint32_t gen = x->gen;
        x->draining = 1;
        for (int k = 0; k < 64 && x->gen == gen && x->fd >= 0; k++) /* up to its end (a paused one reads nothing) */
            xt_mds_oe_event(m, b, EPOLLIN);
        if (x->gen != gen || x->fd < 0) /* closed (and its slot maybe another bridge's now) */
            return -1;
        x->draining = 0;
    }
    xt__oe_close(m, b, 503,
                 !gone             ? "order entry is overloaded: the session's connection was closed"
                 : x->close_why[0] ? x->close_why
                                   : "the order-entry session closed");
    return -1;
}

void xt_mds_oe_read_to_end(mds_t *m)
{
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        const oe_bridge_t *x = &m->oe->b[b];
        uint32_t gen = x->gen;
        /* a paused bridge reads nothing: its client's queue is full, and its close says the rest */
        for (int k = 0; k < 64 && x->fd >= 0 && x->gen == gen && !x->paused; k++)
            xt_mds_oe_event(m, b, EPOLLIN);
    }
}

void xt_mds_oe_timers(mds_t *m)
{
    xt_oe_t *o = m->oe;
    if (o->waiting && m->mono - o->last_deadlines >= 100000000LL) {
        o->last_deadlines = m->mono;
        xt__oe_rest_deadlines(m, m->mono);
    }
    if (m->mono - o->last_timers < 1000000000LL)
        return;
    o->last_timers = m->mono;
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        oe_bridge_t *x = &o->b[b];
        if (x->fd < 0 || (x->state != B_LIVE && x->state != B_LOGOUT)) /* (a LOGOUT's ACK may wait: beats go on) */
            continue;
        if (x->state == B_LIVE && x->rest && x->pend_head == NIL &&
            m->mono - x->last_used > (int64_t)m->s->cfg.rest_idle_ms * 1000000) {
            /* Closed without a LOGOUT: a session logged out with nothing
             * open ends at once, and its client order ids with it, so a
             * client's retry of an order it already placed would place it
             * again. Disconnected, the session lasts as any other does
             * (protocol.md, "Session lifecycle"); the next request logs in
             * to it again. */
            xt__oe_close(m, b, 0, "");
        } else if (m->mono - x->last_out > HEARTBEAT_NS && !x->full) { /* full: the gateway is reading it */
            uint8_t f[XT_WIRE_MAX];
            xt__oe_send(m, b, f, xt_wire_put_header(f, XT_MSG_HEARTBEAT, 0, 0));
        }
    }
}

void xt_mds_oe_metrics(const mds_t *m, xt_text_t *t)
{
    const xt_oe_t *o = m->oe;
    uint64_t ws = 0, logins = 0, rest = 0;
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        const oe_bridge_t *x = &o->b[b];
        if (x->fd < 0)
            continue;
        if (x->rest)
            rest++;
        else if (x->state == B_LIVE || x->state == B_LOGOUT)
            ws++;
        else
            logins++;
    }
    xt_text_help(t, "xt_md_order_sessions", "gauge",
                 "Order sessions bridged from the market-data port to the gateway, by kind.");
    xt_text_printf(t, "xt_md_order_sessions{kind=\"websocket\"} %llu\n", (unsigned long long)ws);
    xt_text_printf(t, "xt_md_order_sessions{kind=\"websocket_login\"} %llu\n", (unsigned long long)logins);
    xt_text_printf(t, "xt_md_order_sessions{kind=\"rest\"} %llu\n", (unsigned long long)rest);
    xt_text_help(t, "xt_md_order_sessions_refused_total", "counter",
                 "New order sessions refused, by reason: logins in progress from one address or in all, no room.");
    static const char *const why[OE_REFUSED_KINDS] = {"address", "logins", "no_room"};
    for (int k = 0; k < OE_REFUSED_KINDS; k++)
        xt_text_printf(t, "xt_md_order_sessions_refused_total{reason=\"%s\"} %llu\n", why[k],
                       (unsigned long long)o->refused[k]);
    xt_text_help(t, "xt_md_order_session_pauses_total", "counter",
                 "Times a WebSocket order session's messages waited in order entry for its client to read.");
    xt_text_printf(t, "xt_md_order_session_pauses_total %llu\n", (unsigned long long)o->pauses);
    xt_text_help(t, "xt_md_order_session_input_pauses_total", "counter",
                 "Times a WebSocket order session's client was not read until order entry took its messages.");
    xt_text_printf(t, "xt_md_order_session_input_pauses_total %llu\n", (unsigned long long)o->input_pauses);
    xt_text_help(t, "xt_md_rest_orders_waiting", "gauge", "REST order requests waiting for the gateway's answer.");
    xt_text_printf(t, "xt_md_rest_orders_waiting %u\n", o->waiting);
}

/* Connection c lets its order-entry bridge b go: closed quietly (no
 * `closed` event) and owned by nobody. */
static void detach(mds_t *m, uint32_t c, uint32_t b)
{
    bridge_unfull(m, b); /* while c is its owner: c's input, paused for it, goes on (a lingering close reads) */
    m->conns[c].oe = 0;
    m->oe->b[b].owner = NIL;
    xt__oe_close(m, b, 0, "");
    xt_mds_ws_release(m, c); /* a login refused: what came behind it is read now (and refused) */
}

void xt_mds_oe_conn_closed(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    k->oe_hold = 0; /* what a login held goes with the connection (xt_mds_close gives `in` back) */
    if (k->oe)
        detach(m, c, k->oe - 1);
    if (k->oe_pend) {
        xt__oe_rest_forget(m, k->oe_pend - 1);
        k->oe_pend = 0;
    }
}

void xt__oe_error_why(oe_bridge_t *x, const uint8_t *f)
{
    xt_msg_error_t e;
    xt_wire_get_error(f, &e);
    const char *name = xt_wire_error_name(e.code);
    snprintf(x->close_why, sizeof x->close_why, "%s: %.62s", name ? name : "ERROR", e.text);
    x->close_code = e.code;
}

/* ---- the WebSocket side -------------------------------------------------------- */

static void ws_answer(mds_t *m, uint32_t c, const char *id, const char *op, const char *result)
{
    char t[OUT_MAX];
    int n = snprintf(t, sizeof t, "{\"id\":%s,\"op\":\"%s\",\"result\":%s}", id, op, result);
    if (n > 0 && (size_t)n < sizeof t)
        xt_mds_answer(m, c, t, (size_t)n);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Refuses (answered, 1) a new login from connection c while XT_OE_LOGINS
 * are in progress, or XT_OE_LOGINS_PER_IP from its address. */
static int logins_full(mds_t *m, uint32_t c, const char *id)
{
    uint32_t all = 0, here = 0, ip = m->conns[c].ip;
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        const oe_bridge_t *x = &m->oe->b[b];
        if (x->fd < 0 || x->rest || x->state == B_LIVE || x->state == B_LOGOUT)
            continue;
        all++;
        here += x->ip == ip;
    }
    if (here >= XT_OE_LOGINS_PER_IP) {
        m->oe->refused[OE_REFUSED_ADDRESS]++;
        xt_mds_answer_error(m, c, id, 429, "too many order-entry logins in progress from this address; try later");
    } else if (all >= XT_OE_LOGINS) {
        m->oe->refused[OE_REFUSED_LOGINS]++;
        xt_mds_answer_error(m, c, id, 503, "too many order-entry logins in progress; try later");
    }
    return here >= XT_OE_LOGINS_PER_IP || all >= XT_OE_LOGINS;
}

static void on_challenge(mds_t *m, uint32_t c, const char *id)
{
    mconn_t *k = &m->conns[c];
    if (!k->oe) {
        if (logins_full(m, c, id))
            return;
        uint32_t b = xt__oe_open(m, 0, c);
        if (b == NIL)
            return xt_mds_answer_error(m, c, id, 503, "no room for another order-entry session; try later");
        k->oe = b + 1;
        m->oe->b[b].ip = k->ip;
    }
    oe_bridge_t *x = &m->oe->b[k->oe - 1];
    if (x->state == B_LIVE || x->state == B_LOGIN)
        return xt_mds_answer_error(m, c, id, 409, "already logged in");
    if (x->state == B_LOGOUT) /* its answer carries wait_id: the logout's */
        return xt_mds_answer_error(m, c, id, 409, "logging out: wait for the logout's answer");
    if (x->wait_op == OE_WAIT_CHALLENGE) /* one id waits for the HELLO: a second would take its answer */
        return xt_mds_answer_error(m, c, id, 409, "an auth.challenge is waiting for its answer");
    snprintf(x->wait_id, sizeof x->wait_id, "%s", id);
    x->wait_op = OE_WAIT_CHALLENGE;
    if (x->state == B_READY) /* the HELLO is here already */
        xt__oe_ws_hello(m, k->oe - 1);
}

void xt__oe_ws_hello(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (x->wait_op != OE_WAIT_CHALLENGE)
        return;
    char r[160], nonce[33];
    hex(x->nonce, 16, nonce);
    snprintf(r, sizeof r, "{\"nonce\":\"%s\",\"server_time\":%lld}", nonce, (long long)x->server_time);
    ws_answer(m, x->owner, x->wait_id, "auth.challenge", r);
    x->wait_op = 0;
}

/* LOGIN from {"account","key_id","session","timestamp","signature",
 * "resume_from","cancel_on_disconnect"}; a refusal names the member. */
static int login_frame(json_t *a, uint8_t *f, char *why, size_t n)
{
    static const char *const login_members[] = {
        "account", "key_id", "session", "timestamp", "signature", "resume_from", "cancel_on_disconnect", NULL};
    xt_msg_login_t l = {.version = XT_WIRE_VERSION, .heartbeat_ms = 60000};
    json_t *acc = json_object_get(a, "account"), *ses = json_object_get(a, "session"),
           *ts = json_object_get(a, "timestamp"), *rf = json_object_get(a, "resume_from"),
           *cod = json_object_get(a, "cancel_on_disconnect");
    const char *key = json_string_value(json_object_get(a, "key_id")),
               *sig = json_string_value(json_object_get(a, "signature")), *bad = NULL;
    if (!json_is_object(a))
        bad = "login needs args: account, key_id, session, timestamp, signature";
    else if (xt_oe_members_only(a, login_members, why, n))
        return -1; /* (a misspelt cancel_on_disconnect left the orders on the book at the close) */
    else if (!json_is_integer(acc) || json_integer_value(acc) <= 0 || json_integer_value(acc) > UINT32_MAX)
        bad = "account must be an integer, 1..4294967295";
    else if (!key || strlen(key) > 16)
        bad = "key_id must be a string of at most 16 bytes";
    else if (!json_is_integer(ses) || json_integer_value(ses) <= 0 || json_integer_value(ses) >= XT_OE_REST_SESSION)
        bad = "session must be an integer, 1..4294967294";
    else if (!json_is_integer(ts))
        bad = "timestamp must be an integer (nanoseconds since the epoch)";
    else if (!sig || xt_hex32_parse(sig, l.signature) != 0)
        bad = "signature must be 64 hex digits";
    else if (rf && (!json_is_integer(rf) || json_integer_value(rf) < 0))
        bad = "resume_from must be an integer, 0 or more";
    else if (cod && !json_is_boolean(cod))
        bad = "cancel_on_disconnect must be true or false";
    if (bad) {
        snprintf(why, n, "%s", bad);
        return -1;
    }
    l.account = (uint32_t)json_integer_value(acc);
    l.session = (uint32_t)json_integer_value(ses);
    l.timestamp_ns = (int64_t)json_integer_value(ts);
    l.resume_from = rf ? (uint64_t)json_integer_value(rf) : 0;
    memcpy(l.key_id, key, strlen(key));
    if (json_is_true(cod))
        l.flags |= XT_LOGIN_CANCEL_ON_DISCONNECT;
    return (int)xt_wire_put_login(f, &l);
}

static void on_login(mds_t *m, uint32_t c, const char *id, json_t *args)
{
    mconn_t *k = &m->conns[c];
    oe_bridge_t *x = k->oe ? &m->oe->b[k->oe - 1] : NULL;
    if (!x || x->state == B_HELLO)
        return xt_mds_answer_error(m, c, id, 400, "ask for auth.challenge first, and sign its nonce");
    if (x->state != B_READY)
        return xt_mds_answer_error(
            m, c, id, 409, x->state == B_LOGOUT ? "logging out: wait for the logout's answer" : "already logged in");
    uint8_t f[XT_WIRE_MAX];
    char why[160];
    int n = login_frame(args, f, why, sizeof why);
    if (n < 0)
        return xt_mds_answer_error(m, c, id, 400, why);
    snprintf(x->wait_id, sizeof x->wait_id, "%s", id);
    x->wait_op = OE_WAIT_LOGIN;
    x->state = B_LOGIN;
    /* what the client sent behind the login is read once it is answered,
     * as over the binary protocol (md_server.c, hold) */
    if (xt__oe_send(m, k->oe - 1, f, (size_t)n) == 0)
        k->oe_hold = 1;
}

int xt_mds_oe_waits_for_reader(const mds_t *m, uint32_t c)
{
    uint32_t b = m->conns[c].oe;
    return b && m->oe->b[b - 1].paused;
}

int xt_mds_oe_live(const mds_t *m, uint32_t c)
{
    uint32_t b = m->conns[c].oe;
    return b && m->oe->b[b - 1].state == B_LIVE;
}

static void on_order(mds_t *m, uint32_t c, const char *id, const char *op, int kind, json_t *args)
{
    if (!xt_mds_oe_live(m, c))
        return xt_mds_answer_error(m, c, id, 401, "not logged in");
    mconn_t *k = &m->conns[c];
    oe_bridge_t *x = &m->oe->b[k->oe - 1];
    uint8_t f[XT_WIRE_MAX];
    uint64_t key = 0;
    char why[160];
    xt_oe_insts_t in = xt__oe_insts(m);
    int n = xt_oe_frame(&in, kind, args, OE_ID_NEXT, 0, f, &key, why, sizeof why);
    if (n < 0) /* an unknown symbol is a 404, as over REST and for channels */
        return xt_mds_answer_error(m, c, id, n == XT_ENOENT ? 404 : 400, why);
    if (key == OE_ID_NEXT)
        xt_put64(f + OE_ID_OFFSET, 0);
    key = xt__oe_take_id(x, f, kind != XT_OE_MASS_CANCEL && kind != XT_OE_STATUS);
    if (key == 0)
        return xt_mds_answer_error(m, c, id, 409, XT_OE_IDS_USED_UP);
    if (xt__oe_send(m, k->oe - 1, f, (size_t)n) != 0) /* the bridge closed: its `closed` event says why */
        return xt_mds_answer_error(m, c, id, 503, "not passed on: the order session closed");
    char r[96];
    const char *name = kind == XT_OE_MASS_CANCEL || kind == XT_OE_STATUS ? "request_id" : "client_order_id";
    snprintf(r, sizeof r, "{\"%s\":%llu}", name, (unsigned long long)key);
    ws_answer(m, c, id, op, r);
}

int xt_mds_oe_command(mds_t *m, uint32_t c, json_t *root)
{
    const char *op = json_string_value(json_object_get(root, "op"));
    int kind = xt_oe_op(op);
    char id[XT_MDCMD_ID_MAX];
    if (!(kind || (op && (!strcmp(op, "auth.challenge") || !strcmp(op, "login") || !strcmp(op, "logout")))) ||
        xt_md_cmd_id(json_object_get(root, "id"), id) != 0) /* a bad id is answered as market data answers it */
        return 0;
    json_t *args = json_object_get(root, "args");
    if (kind)
        on_order(m, c, id, op, kind, args);
    else if (!strcmp(op, "auth.challenge"))
        on_challenge(m, c, id);
    else if (!strcmp(op, "login"))
        on_login(m, c, id, args);
    else if (xt_mds_oe_live(m, c)) { /* logout */
        oe_bridge_t *x = &m->oe->b[m->conns[c].oe - 1];
        snprintf(x->wait_id, sizeof x->wait_id, "%s", id);
        x->wait_op = OE_WAIT_LOGOUT;
        x->state = B_LOGOUT;
        uint8_t f[XT_WIRE_MAX];
        xt__oe_send(m, m->conns[c].oe - 1, f, xt_wire_put_header(f, XT_MSG_LOGOUT, 0, 0));
    } else
        xt_mds_answer_error(m, c, id, 401, "not logged in");
    return 1;
}

/* A server message for a WebSocket's session: answers to login / logout,
 * else pushed on its `orders` channel. */
static void ws_message(mds_t *m, uint32_t b, const uint8_t *f, const xt_wire_hdr_t *h)
{
    oe_bridge_t *x = &m->oe->b[b];
    uint32_t c = x->owner;
    char t[OUT_MAX], r[256];
    if (h->type == XT_MSG_LOGIN_ACCEPTED) {
        xt_msg_login_accepted_t a;
        xt_wire_get_login_accepted(f, &a);
        x->state = B_LIVE;
        snprintf(r, sizeof r, "{\"session\":%u,\"next_seq\":%llu,\"resume_from\":%llu,\"last_client_order_id\":%llu}",
                 a.session, (unsigned long long)a.next_seq, (unsigned long long)a.resume_from,
                 (unsigned long long)a.last_clordid);
        ws_answer(m, c, x->wait_id, "login", r);
        xt_mds_ws_release(m, c); /* the commands sent behind the login: read now, behind its answer */
        return;
    }
    if (h->type == XT_MSG_LOGIN_REJECTED) {
        xt_msg_login_rejected_t a;
        xt_wire_get_login_rejected(f, &a);
        const char *why = xt_wire_login_reason_name(a.reason);
        xt_mds_answer_error(m, c, x->wait_id, 401, why ? why : "login rejected");
        detach(m, c, b); /* the bridge is spent: a new challenge opens another */
        return;
    }
    if (h->type == XT_MSG_LOGOUT_ACK) { /* the session ended as asked: no `closed` follows, the bridge goes */
        ws_answer(m, c, x->wait_id, "logout", "\"ok\"");
        detach(m, c, b);
        return;
    }
    if (h->type == XT_MSG_ERROR) {
        xt__oe_error_why(x, f);
        return;
    }
    xt_oe_insts_t in = xt__oe_insts(m);
    memcpy(t, "{\"ch\":\"orders\",", 15);
    size_t n = xt_oe_json(&in, f, h, t + 15, sizeof t - 16);
    if (n == 0)
        return; /* INSTRUMENT, heartbeats */
    t[15 + n] = '}';
    if (xt_mds_reply(m, c, t, 16 + n) != 0) /* never a gap in the stream: the client resumes instead */
        xt_mds_close_with(m, c, XT_WS_CLOSE_POLICY, "slow consumer: log in again with resume_from");
}

static void on_frame(mds_t *m, uint32_t b, const uint8_t *f, const xt_wire_hdr_t *h)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (h->type == XT_MSG_LOGIN_ACCEPTED) { /* ids the server chooses go on from the session's last */
        xt_msg_login_accepted_t a;
        xt_wire_get_login_accepted(f, &a);
        if (a.last_clordid > x->next_request)
            x->next_request = a.last_clordid;
    }
    if (h->type == XT_MSG_HELLO) {
        xt_msg_hello_t hello;
        xt_wire_get_hello(f, &hello);
        memcpy(x->nonce, hello.nonce, 16);
        x->server_time = hello.server_time_ns;
        x->state = B_READY;
        if (x->rest)
            xt__oe_rest_hello(m, b);
        else
            xt__oe_ws_hello(m, b);
        return;
    }
    if (x->rest)
        xt__oe_rest_message(m, b, f, h);
    else if (x->owner != NIL)
        ws_message(m, b, f, h);
}

/* Flow control of a WebSocket's order session (docs/websocket.md): the
 * gateway's frames are read only as far as the owner's queue can take
 * their messages, so a client that reads is never closed for a backlog
 * (a long resume, a sweep's fills) - the rest waits in the gateway, which
 * paces a resume to the bridge's socket and holds live messages up to
 * server.output_limit, as for a binary client. The orders take at most
 * half the connection's limits (md.output_limit, and a quarter of the
 * shared queue nodes one connection may hold), so its market data and
 * command answers keep room. A frame of at least OE_FRAME_MIN bytes
 * (MASS_CANCEL_ACK) makes one message of at most OE_GROWTH times its size
 * (an ACCEPTED with a 16-byte symbol: ~5). */
#define OE_FRAME_MIN 32
#define OE_GROWTH 8
#define OE_QUEUE_MAX (QNODES_PER_CONN + QNODES_SHARED_MAX / 4)

/* The bytes of frames bridge x may read now. */
static size_t ws_budget(const mds_t *m, const oe_bridge_t *x)
{
    const mconn_t *k = &m->conns[x->owner];
    uint64_t half = m->s->cfg.md_output_limit / 2;
    uint64_t bytes = k->out_bytes >= half ? 0 : (half - k->out_bytes) / OE_GROWTH;
    uint64_t frames = k->qn >= OE_QUEUE_MAX ? 0 : (uint64_t)(OE_QUEUE_MAX - k->qn) * OE_FRAME_MIN;
    return (size_t)(bytes < frames ? bytes : frames);
}

static void pause_bridge(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    x->paused = 1;
    bridge_arm(m, b);
    m->oe->pauses++;
}

void xt_mds_oe_drained(mds_t *m, uint32_t c)
{
    const mconn_t *k = &m->conns[c];
    oe_bridge_t *x = &m->oe->b[k->oe - 1];
    /* again once the queue is empty: not a pause and a read per message,
     * and the snapshots a conflated channel owes (sent at an empty queue,
     * flush_conn) are not starved by a long backlog */
    if (!x->paused || x->fd < 0 || k->qn)
        return;
    x->paused = 0;
    bridge_arm(m, k->oe - 1);
}

void xt_mds_oe_event(mds_t *m, uint32_t b, uint32_t events)
{
    oe_bridge_t *x = &m->oe->b[b];
    /* Room again; or the gateway's end is gone: a WebSocket's client reads
     * on (and a paused bridge leaves epoll), while a REST bridge reads what
     * the gateway sent first - its answers, its ERROR - and closes at the
     * end of it (sending its waiting requests now would close it first,
     * answering them all "outcome unknown"). */
    if ((events & EPOLLOUT && !(events & (EPOLLERR | EPOLLHUP))) || (events & (EPOLLERR | EPOLLHUP) && !x->rest))
        bridge_unfull(m, b);
    if (x->paused || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    /* An answer can close b and reopen its slot for another bridge (an
     * HTTP answer, the pipelined request behind it, a failed send): the
     * rest of buf is the old bridge's then, not the new one's. */
    uint32_t gen = x->gen;
    for (int rounds = 0; rounds < 8 && x->fd >= 0; rounds++) {
        uint8_t buf[XT_WIRE_MAX + 8192];
        size_t room = sizeof buf - x->in_len;
        if (!x->rest && x->owner != NIL) {
            size_t budget = ws_budget(m, x);
            if (budget < (size_t)x->in_len + XT_WIRE_MAX) /* not a whole frame more: wait for the client to read */
                return pause_bridge(m, b);
            room = budget - x->in_len < room ? budget - x->in_len : room;
        }
        memcpy(buf, x->in, x->in_len);
        ssize_t r = read(x->fd, buf + x->in_len, room);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            xt__oe_close(m, b, 503, x->close_why[0] ? x->close_why : "the order-entry session closed");
            return;
        }
        if (r < 0)
            return;
        size_t len = x->in_len + (size_t)r, at = 0;
        for (;;) {
            xt_wire_hdr_t h;
            int fl = xt_wire_frame(buf + at, len - at, XT_WIRE_MAX, &h);
            if (fl < 0) {
                xt__oe_close(m, b, 500, "bad frame from the gateway");
                return;
            }
            if (fl == 0)
                break;
            on_frame(m, b, buf + at, &h);
            at += (size_t)fl;
            if (x->fd < 0 || x->gen != gen)
                return;
        }
        x->in_len = (uint16_t)(len - at);
        memcpy(x->in, buf + at, x->in_len);
        if ((size_t)r < room)
            return;
    }
}
