/* md_conn.c - the market-data thread's message pool, connection output
 * queues and subscription tables (see md_internal.h).
 *
 * Messages are pooled and reference-counted: an update is framed once and
 * the same bytes are queued to every subscriber; each connection writes its
 * queue with writev. Pools are sized at start; an empty pool is counted
 * (drops) and handled like a slow consumer, never a crash. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): MSG_NOSIGNAL and friends */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "md_internal.h"
#include "md_oe.h"

/* ---- messages -------------------------------------------------------------- */

uint32_t xt_mds_msg_alloc(mds_t *m, size_t payload)
{
    size_t need = payload + XT_WS_HEADER_MAX;
    int k = 0;
    while (k < MSG_CLASSES && need > m->msg_bytes[k])
        k++;
    while (k < MSG_CLASSES && m->msg_free[k] == NIL) /* a bigger buffer rather than none */
        k++;
    if (k == MSG_CLASSES)
        return NIL;
    uint32_t *head = &m->msg_free[k];
    uint32_t i = *head;
    *head = m->msgs[i].next_free;
    m->msgs[i].refs = 0;
    m->msgs[i].ev_ts = 0;
    return i;
}

void xt_mds_msg_unref(mds_t *m, uint32_t i)
{
    msg_t *g = &m->msgs[i];
    if (--g->refs == 0) {
        uint32_t *head = &m->msg_free[g->cls];
        g->next_free = *head;
        *head = i;
    }
}

/* Frames payload (len bytes, already in m->scratch) into a pooled message. */
uint32_t xt_mds_msg_make(mds_t *m, int opcode, const char *payload, size_t len)
{
    uint32_t i = xt_mds_msg_alloc(m, len);
    if (i == NIL) {
        m->drops++;
        return NIL;
    }
    msg_t *g = &m->msgs[i];
    size_t h = xt_ws_frame_header(g->data, opcode, len);
    memcpy(g->data + h, payload, len);
    g->len = (uint32_t)(h + len);
    return i;
}

/* ---- connections ---------------------------------------------------------- */

void xt_mds_mark_dirty(mds_t *m, uint32_t c)
{
    if (!m->conns[c].dirty) {
        m->conns[c].dirty = 1;
        m->conns[c].next_dirty = m->dirty_head;
        m->dirty_head = c;
    }
}

void xt_mds_owe_snapshot(mds_t *m, uint32_t sub)
{
    uint32_t c = m->subs[sub].conn;
    m->subs[sub].stale = 1;
    m->conns[c].has_stale = 1;
    xt_mds_mark_dirty(m, c);
}

void xt_mds_retry_owed(mds_t *m)
{
    while (m->owed_head != NIL) {
        uint32_t c = m->owed_head;
        m->owed_head = m->conns[c].next_owed;
        m->conns[c].owed = 0;
        if (m->conns[c].state == C_WS || m->conns[c].state == C_BIN)
            xt_mds_mark_dirty(m, c);
    }
}

/* A connection's queue length becomes n: the nodes past its own
 * QNODES_PER_CONN come from (or go back to) the part all share. Every
 * connection can so always queue QNODES_PER_CONN messages, however many
 * others stopped reading: a few clients that never read took the whole
 * pool, and then every subscriber was conflated or closed, and HTTP
 * answers and upgrades failed, until pings closed them (~40 s). */
static void queue_len(mds_t *m, mconn_t *k, uint32_t n)
{
    uint32_t before = k->qn > QNODES_PER_CONN ? k->qn - QNODES_PER_CONN : 0,
             after = n > QNODES_PER_CONN ? n - QNODES_PER_CONN : 0;
    m->q_shared = m->q_shared - before + after;
    k->qn = n;
}

/* Drops the first queued message (sent, or the connection is closing). */
static void pop(mds_t *m, mconn_t *k)
{
    uint32_t q = k->qh;
    xt_mds_msg_unref(m, m->qnodes[q].msg);
    k->qh = m->qnodes[q].next;
    m->qnodes[q].next = m->free_qnode;
    m->free_qnode = q;
    queue_len(m, k, k->qn - 1);
}

/* Drops the queued messages from node q to the end, none of them partly
 * sent; the queue then holds `left`, ending at node `tail`. */
static void drop_from(mds_t *m, mconn_t *k, uint32_t q, uint32_t left, uint32_t tail)
{
    while (q != NIL) {
        uint32_t next = m->qnodes[q].next;
        k->out_bytes -= m->msgs[m->qnodes[q].msg].len;
        xt_mds_msg_unref(m, m->qnodes[q].msg);
        m->qnodes[q].next = m->free_qnode;
        m->free_qnode = q;
        q = next;
    }
    if (left) {
        m->qnodes[tail].next = NIL;
        k->qt = tail;
    }
    queue_len(m, k, left);
}

/* Drops every queued message but the first (whose bytes are partly sent). */
static void drop_all_but_first(mds_t *m, mconn_t *k)
{
    drop_from(m, k, m->qnodes[k->qh].next, 1, k->qh);
}

xt_mds_mark_t xt_mds_queue_mark(const mds_t *m, uint32_t c)
{
    return (xt_mds_mark_t){m->conns[c].qn, m->conns[c].qt};
}

void xt_mds_unqueue_to(mds_t *m, uint32_t c, xt_mds_mark_t at)
{
    mconn_t *k = &m->conns[c];
    if (k->qn > at.qn)
        drop_from(m, k, at.qn ? m->qnodes[at.qt].next : k->qh, at.qn, at.qt);
}

void xt_mds_drop_queue(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (k->qn && k->qoff) {
        drop_all_but_first(m, k);
        return;
    }
    while (k->qn) {
        k->out_bytes -= m->msgs[m->qnodes[k->qh].msg].len;
        pop(m, k);
    }
}

void xt_mds_close(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (k->state == C_FREE)
        return;
    xt_mds_oe_conn_closed(m, c);
    xt_mds_unsubscribe_all(m, c);
    while (k->qn)
        pop(m, k);
    epoll_ctl(m->ep, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    xt__gw_counts_dec(&m->ip_conns, k->ip);
    m->ws_closed += k->ws;
    m->bin_closed += k->bin;
    /* the scratch held: a request head or a binary frame's start (k->in), or a reader's item; the reader of a
     * connection never upgraded is zeroed (accept_conns) and holds none */
    xt_ws_pool_give_buffer(m->wsp, k->in);
    k->in = NULL;
    k->oe_hold = 0;
    xt_ws_reader_destroy(&k->rd);
    k->state = C_FREE;
    k->subs = m->free_conn; /* free list through subs */
    m->free_conn = c;
    m->n_conns--;
}

/* Sends a connection-private frame now if it fits the socket, best effort
 * (a CLOSE on the way out). */
void xt_mds_send_direct(mds_t *m, uint32_t c, const uint8_t *p, size_t n)
{
    ssize_t w = send(m->conns[c].fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    m->bytes_out += w > 0 ? (uint64_t)w : 0;
    xt_sent_add(&m->conns[c].sent, w);
}

void xt_mds_close_after(mds_t *m, uint32_t c, const uint8_t *f, size_t n, int drop)
{
    mconn_t *k = &m->conns[c];
    /* Queued even when nothing waits: once it is out, flush_dirty shuts
     * the write side and the socket closes at the client's end of input
     * (or the second ping round, md_server.c). Closed at once, a client still
     * sending (the rest of an oversized message) would get a reset, which
     * can discard the CLOSE before it is read. No channel adds to the
     * queue from here on, and its order session ends now (cancel on
     * disconnect is not held up by the lingering). */
    xt_mds_unsubscribe_all(m, c);
    xt_mds_oe_conn_closed(m, c);
    if (drop)
        xt_mds_drop_queue(m, c); /* all but the message partly on the wire */
    k->pong_due = 0;
    k->state = C_CLOSING;
    /* The last message, past md.output_limit: behind the rest of a message
     * partly sent that is alone over the limit (a deep snapshot), it could
     * not be queued, and the socket closed with that message cut short and
     * no CLOSE or ERROR (a probe). Bounded: nothing follows it. */
    uint32_t g = xt_mds_msg_raw(m, f, n);
    int rc = g == NIL ? -1 : xt_mds_enqueue_admitted(m, c, g);
    if (rc != 0 && g != NIL && !drop) { /* the queue's messages at their most: it goes instead */
        xt_mds_drop_queue(m, c);
        rc = xt_mds_enqueue_admitted(m, c, g);
    }
    xt_mds_msg_drop_if_unused(m, g);
    if (rc != 0) {
        if (k->qn == 0) /* no buffer for it: sent if the socket takes it */
            xt_mds_send_direct(m, c, f, n);
        xt_mds_close(m, c);
    } else
        k->shut = 1;
}

void xt_mds_close_with(mds_t *m, uint32_t c, uint16_t code, const char *reason)
{
    uint8_t f[128];
    mconn_t *k = &m->conns[c];
    if (k->bin) { /* an ERROR frame instead (md_tcp.c) */
        xt_mds_bin_close_with(m, c, code, reason);
        return;
    }
    if (k->state == C_CLOSING) /* its CLOSE is queued already, maybe behind a half-sent frame: a second would tear it */
        return;
    size_t n = xt_ws_close_frame(f, code, reason);
    if (k->state != C_WS) { /* no WebSocket yet: best effort */
        xt_mds_send_direct(m, c, f, n);
        xt_mds_close(m, c);
        return;
    }
    /* A client that does not keep up, or the server stopping (market data
     * behind: stale once the client comes back, which takes snapshots; the
     * stop waits 2 s at most): the queue goes - but for an order session's
     * answers at the stop, which the client is owed. */
    xt_mds_close_after(m, c, f, n, code == XT_WS_CLOSE_POLICY || (code == XT_WS_CLOSE_GOING_AWAY && !k->oe));
}

static int flush_conn(mds_t *m, uint32_t c);

void xt_mds_close_gone(mds_t *m, uint32_t c, uint16_t code, const char *reason)
{
    xt_mds_close_with(m, c, code, reason);
    if (m->conns[c].state != C_FREE) {
        flush_conn(m, c);
        xt_mds_close(m, c);
    }
}

int xt_mds_over_rate(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (m->mono - k->sec_start >= 1000000000LL) {
        k->sec_start = m->mono;
        k->msgs_this_sec = 0;
    }
    return ++k->msgs_this_sec > m->s->cfg.md_messages_per_s;
}

/* The bytes of k's queue that count against md.output_limit: all but a
 * first message that alone is over it (queued onto an empty queue: a deep
 * snapshot, a long `list`), which the messages behind it do not find in
 * their way - else an answer behind it closed its client, however fast
 * that read. */
static uint64_t counted(const mds_t *m, const mconn_t *k)
{
    const msg_t *g = k->qn ? &m->msgs[m->qnodes[k->qh].msg] : NULL;
    return g && g->len > m->s->cfg.md_output_limit ? k->out_bytes - (g->len - k->qoff) : k->out_bytes;
}

/* c's queue cannot take message i within `quarters` of its limits. */
static int over(const mds_t *m, const mconn_t *k, uint32_t i, unsigned quarters)
{
    uint64_t limit = m->s->cfg.md_output_limit, bytes = limit - limit / 4 * (4 - quarters);
    return (quarters && k->out_bytes && counted(m, k) + m->msgs[i].len > bytes) ||
           k->qn >= QNODES_CONN_MAX / 4 * (quarters ? quarters : 4);
}

/* Queues message i to connection c, within `quarters` of its limits (4:
 * all of them; 3: an update that can be conflated; 0: md.output_limit is
 * not checked, for the pieces of an admitted answer). Returns 0, or
 * XT_MDS_FULL / NO_POOL when c is over its limits (nothing queued).
 * md.output_limit bounds what piles up: one message always goes onto an
 * empty queue, so an answer or a snapshot larger than the limit (a `list`
 * of 4,096 channels at the 64 KiB minimum) is sent, not taken for a slow
 * consumer. A message that cannot be conflated (trades, answers, a CLOSE)
 * over the limits first has what the socket takes written: the queue may
 * be full of what one read's commands or one batch's trades made, for a
 * client that reads (the flush comes at the loop's end). */
static int enqueue(mds_t *m, uint32_t c, uint32_t i, unsigned quarters)
{
    mconn_t *k = &m->conns[c];
    if (k->shut || k->state == C_FREE) /* (closed in a nested call: an eviction's close that freed it) */
        return XT_MDS_FULL;
    if (over(m, k, i, quarters) && (quarters < 4 || xt_mds_write_now(m, c) != 0 || over(m, k, i, quarters)))
        return XT_MDS_FULL;
    uint32_t q = m->free_qnode; /* (after the write: it frees nodes) */
    if (q == NIL || (k->qn >= QNODES_PER_CONN && m->q_shared >= QNODES_SHARED)) {
        m->drops++; /* the shared part is used up (queue_len) */
        return XT_MDS_NO_POOL;
    }
    m->free_qnode = m->qnodes[q].next;
    m->qnodes[q] = (qnode_t){i, NIL};
    if (k->qn)
        m->qnodes[k->qt].next = q;
    else
        k->qh = q;
    queue_len(m, k, k->qn + 1);
    k->qt = q;
    k->out_bytes += m->msgs[i].len;
    k->last_out = m->mono;
    m->msgs[i].refs++;
    xt_mds_mark_dirty(m, c);
    return 0;
}

int xt_mds_enqueue(mds_t *m, uint32_t c, uint32_t i)
{
    return enqueue(m, c, i, 4);
}

int xt_mds_enqueue_conflatable(mds_t *m, uint32_t c, uint32_t i)
{
    return enqueue(m, c, i, 3);
}

int xt_mds_enqueue_admitted(mds_t *m, uint32_t c, uint32_t i)
{
    return enqueue(m, c, i, 0);
}

/* A reply to one connection (command answers, snapshots). */
int xt_mds_reply(mds_t *m, uint32_t c, const char *text, size_t len)
{
    uint32_t i = xt_mds_msg_make(m, XT_WS_OP_TEXT, text, len);
    if (i == NIL)
        return XT_MDS_NO_POOL;
    int rc = xt_mds_enqueue(m, c, i);
    xt_mds_msg_drop_if_unused(m, i);
    return rc;
}

static int closing(const mconn_t *k)
{
    return k->shut || k->state == C_CLOSING || k->state == C_FREE;
}

int xt_mds_room(mds_t *m, uint32_t c, uint64_t bytes, uint32_t msgs)
{
    mconn_t *k = &m->conns[c];
    uint64_t limit = m->s->cfg.md_output_limit;
    if (k->out_bytes && counted(m, k) + bytes > limit) /* what the socket takes first, as enqueue does */
        xt_mds_write_now(m, c);
    /* an empty queue takes one message (and its answer) however large, as enqueue does; not more */
    return !k->shut && ((k->out_bytes == 0 && msgs <= 2) || counted(m, k) + bytes <= limit) &&
           k->qn + msgs <= QNODES_CONN_MAX;
}

/* rc: the answer's xt_mds_reply(_raw); c not closing. */
static int answered(mds_t *m, uint32_t c, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == XT_MDS_FULL) {
        m->slow_closes++;
        xt_mds_close_with(m, c, XT_WS_CLOSE_POLICY, "slow consumer: answers not read");
    } else
        xt_mds_close_with(m, c, XT_WS_CLOSE_TRY_AGAIN, "server busy: no buffer for an answer");
    return -1;
}

int xt_mds_answered(mds_t *m, uint32_t c, int rc)
{
    return closing(&m->conns[c]) ? -1 : answered(m, c, rc);
}

int xt_mds_answer(mds_t *m, uint32_t c, const char *text, size_t len)
{
    return closing(&m->conns[c]) ? -1 : answered(m, c, xt_mds_reply(m, c, text, len));
}

int xt_mds_answer_raw(mds_t *m, uint32_t c, const void *frames, size_t len)
{
    return closing(&m->conns[c]) ? -1 : answered(m, c, xt_mds_reply_raw(m, c, frames, len));
}

/* ---- channels and subscriptions -------------------------------------------- */

uint32_t xt_mds_find_sub(mds_t *m, uint32_t c, uint32_t ch)
{
    for (uint32_t i = m->conns[c].subs; i != NIL; i = m->subs[i].conn_next)
        if (m->subs[i].ch == ch)
            return i;
    return NIL;
}

static void sub_unlink(mds_t *m, uint32_t i)
{
    sub_t *x = &m->subs[i];
    if (x->ch_prev != NIL)
        m->subs[x->ch_prev].ch_next = x->ch_next;
    else
        m->ch_head[x->ch] = x->ch_next;
    if (x->ch_next != NIL)
        m->subs[x->ch_next].ch_prev = x->ch_prev;
}

void xt_mds_unsubscribe_all(mds_t *m, uint32_t c)
{
    uint32_t i = m->conns[c].subs;
    while (i != NIL) {
        uint32_t next = m->subs[i].conn_next;
        sub_unlink(m, i);
        m->subs[i].conn_next = m->free_sub;
        m->free_sub = i;
        i = next;
    }
    m->conns[c].subs = NIL;
    m->conns[c].n_subs = 0;
}

int xt_mds_unsubscribe(mds_t *m, uint32_t c, uint32_t ch)
{
    uint32_t *p = &m->conns[c].subs;
    for (; *p != NIL; p = &m->subs[*p].conn_next)
        if (m->subs[*p].ch == ch) {
            uint32_t i = *p;
            *p = m->subs[i].conn_next;
            sub_unlink(m, i);
            m->subs[i].conn_next = m->free_sub;
            m->free_sub = i;
            m->conns[c].n_subs--;
            return 0;
        }
    return -1;
}

uint32_t xt_mds_subscribe(mds_t *m, uint32_t c, uint32_t ch)
{
    uint32_t i = m->free_sub;
    if (i == NIL)
        return NIL;
    m->free_sub = m->subs[i].conn_next;
    sub_t *x = &m->subs[i];
    *x = (sub_t){c, ch, NIL, m->ch_head[ch], m->conns[c].subs, 0};
    if (x->ch_next != NIL)
        m->subs[x->ch_next].ch_prev = i;
    m->ch_head[ch] = i;
    m->conns[c].subs = i;
    m->conns[c].n_subs++;
    return i;
}

/* ---- output ------------------------------------------------------------------ */

/* Messages per writev. A backlog (a burst, or a client that fell behind)
 * goes out in few syscalls: on loopback a writev's fixed cost is several
 * times that of copying one update, and that is what bounds fan-out. */
#define MD_WRITEV_MAX 64

/* Writes what c's socket takes of its queue now. Returns 0, or -1 when the
 * socket failed. */
static int write_queue(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    while (k->qn) {
        struct iovec iov[MD_WRITEV_MAX];
        int n = 0;
        for (uint32_t q = k->qh, j = 0; j < k->qn && n < MD_WRITEV_MAX; j++, q = m->qnodes[q].next) {
            msg_t *g = &m->msgs[m->qnodes[q].msg];
            uint32_t off = j == 0 ? k->qoff : 0;
            iov[n++] = (struct iovec){g->data + off, g->len - off};
        }
        ssize_t w = writev(k->fd, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        xt_sent_add(&k->sent, w);
        k->last_out = m->mono; /* (sending, not idle: a client reading a long backlog of answers) */
        k->out_bytes -= (uint64_t)w;
        m->bytes_out += (uint64_t)w;
        int64_t now = 0; /* read once per writev, when it ends a live update */
        while (w > 0) {
            msg_t *g = &m->msgs[m->qnodes[k->qh].msg];
            size_t have = g->len - k->qoff;
            if ((size_t)w < have) {
                k->qoff += (uint32_t)w;
                break;
            }
            w -= (ssize_t)have;
            k->qoff = 0;
            if (g->ev_ts) {
                now = now ? now : xt_now_ns(); /* for the lag only: the wall clock, no shared write */
                xt_hist_add(&m->send_lag, now > g->ev_ts ? (uint64_t)(now - g->ev_ts) / 1000 : 0);
            }
            pop(m, k);
        }
    }
    return 0;
}

int xt_mds_write_now(mds_t *m, uint32_t c)
{
    return m->conns[c].state == C_FREE || m->conns[c].fin ? 0 : write_queue(m, c);
}

static int flush_conn(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (write_queue(m, c) != 0)
        return -1;
    if (k->qn) /* the socket is full: EPOLLOUT comes back here */
        return 0;
    if (k->oe_backlog) { /* drained: its answers read, the client's requests are read on */
        k->oe_backlog = 0;
        xt_mds_set_input(m, c, 1);
    }
    if (k->oe) /* drained: a paused order session reads on, behind the owed snapshots below */
        xt_mds_oe_drained(m, c);
    if (k->http_backlog) { /* drained: the requests pipelined behind its answers are served on */
        xt_mds_http_drained(m, c);
        /* what they queued is flush_dirty's (c is dirty again); closing
         * with nothing left (the stop came while it waited): its FIN */
        return k->state == C_CLOSING && k->qn == 0 ? -1 : 0;
    }
    if (k->has_stale) { /* drained: each channel that owes a snapshot gets it now */
        k->has_stale = 0;
        for (uint32_t i = k->subs; i != NIL; i = m->subs[i].conn_next) {
            if (!m->subs[i].stale)
                continue;
            if (xt_mds_send_snapshot(m, c, m->subs[i].ch, 0) != 0) { /* no buffer: retried at the next tick */
                k->has_stale = 1;
                if (!k->owed) {
                    k->owed = 1;
                    k->next_owed = m->owed_head;
                    m->owed_head = c;
                }
                break;
            }
            m->subs[i].stale = 0;
        }
    }
    return k->state == C_CLOSING && k->qn == 0 ? -1 : 0;
}

/* c's epoll mask: input unless paused, output while something is queued. */
static void arm(mds_t *m, uint32_t c)
{
    const mconn_t *k = &m->conns[c];
    struct epoll_event ev = {(k->in_paused ? 0u : EPOLLIN) | (k->want_out ? EPOLLOUT : 0u), {.u64 = c}};
    epoll_ctl(m->ep, EPOLL_CTL_MOD, k->fd, &ev);
}

void xt_mds_set_input(mds_t *m, uint32_t c, int on)
{
    if (on && m->conns[c].oe_hold) /* (a bridge with room again, a drained queue) */
        return;
    m->conns[c].in_paused = (uint8_t)!on;
    arm(m, c);
}

void xt_mds_flush_dirty(mds_t *m)
{
    while (m->dirty_head != NIL) {
        uint32_t c = m->dirty_head;
        mconn_t *k = &m->conns[c];
        m->dirty_head = k->next_dirty;
        k->dirty = 0;
        if (k->state == C_FREE)
            continue;
        int r = flush_conn(m, c);
        if (k->state == C_FREE)
            continue;
        if (r != 0) {
            /* Its last message is written. Closing now, with requests of
             * the client's still unread, would send a reset, and a reset
             * can discard that message at the client before it is read (a
             * slow consumer's ERROR, its reason lost): the write side is
             * shut instead, what comes is read and dropped, and the socket
             * closes at the client's end of input, or after a ping round
             * (md_server.c). */
            if (!k->fin) {
                k->fin = 1;
                shutdown(k->fd, SHUT_WR);
                struct epoll_event ev = {EPOLLIN, {.u64 = c}}; /* its end of input, not writability */
                epoll_ctl(m->ep, EPOLL_CTL_MOD, k->fd, &ev);
                k->want_out = 0;
            }
            continue;
        }
        uint8_t want = k->qn != 0;
        if (want != k->want_out) {
            k->want_out = want;
            arm(m, c);
        }
    }
}

void xt_mds_msg_drop_if_unused(mds_t *m, uint32_t i)
{
    if (i != NIL && m->msgs[i].refs == 0) {
        m->msgs[i].refs = 1;
        xt_mds_msg_unref(m, i);
    }
}
