/* md_server.c - the market-data thread: derives depth, trades, tickers,
 * K-lines and 分时 from the engine's feed (src/md) and serves them over
 * WebSocket on the md port (docs/websocket.md), in its own epoll loop:
 * accepting, the HTTP upgrade, reading frames and commands, the feed, the
 * timers (md advance, throttle ticks, pings) and the lifecycle. What goes
 * out is built in md_publish.c and queued in md_conn.c. Nothing here ever
 * makes the engine wait. The binary protocol's listener (md.tcp_listen,
 * docs/md-binary.md) is in this loop too; its connections are md_tcp.c's.
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4, pthread_setname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/pages.h"
#include "cpus.h"
#include "log.h"
#include "md_cmd.h"
#include "md_http.h"
#include "md_internal.h"
#include "md_oe.h"
#include "md_rest.h"
#include "oe_json.h"
#include "ports.h"
#include "rest_signed.h"
#include "xt/error.h"
/* ---- commands ---------------------------------------------------------------- */

#define ANSWER_MAX 16384
#define TAPE_BATCH_MAX 2000 /* trades in one @100ms / @1000ms trades message, at most */

/* 0, or -1 when c is closing (xt_mds_answer). */
static int answer(mds_t *m, uint32_t c, const char *fmt_id, const char *op, const char *body)
{
    int n = snprintf(m->scratch, ANSWER_MAX, "{\"id\":%s,\"op\":\"%s\",%s}", fmt_id, op, body);
    return n > 0 && n < ANSWER_MAX ? xt_mds_answer(m, c, m->scratch, (size_t)n) : 0;
}

void xt_mds_answer_error(mds_t *m, uint32_t c, const char *id, int code, const char *msg)
{
    char q[512];
    if (xt_md_json_string(q, sizeof q, msg) == 0)
        strcpy(q, "\"?\"");
    int n = snprintf(m->scratch, ANSWER_MAX, "{\"id\":%s,\"error\":{\"code\":%d,\"msg\":%s}}", id, code, q);
    if (n > 0 && n < ANSWER_MAX)
        xt_mds_answer(m, c, m->scratch, (size_t)n);
}

/* Resolves every arg to a channel id first: all or nothing. */
static int resolve(mds_t *m, const xt_md_cmd_t *cmd, uint32_t *chs, char *why, size_t n)
{
    for (uint32_t a = 0; a < cmd->n_args; a++) {
        const char *sym;
        size_t sl;
        int th;
        int kind = xt_md_channel_parse(cmd->args[a], &sym, &sl, &th);
        const xt_md_inst_t *in = kind >= 0 ? xt_md_find_symbol(&m->md, sym, sl) : NULL;
        if (in == NULL) {
            snprintf(why, n, "unknown channel %s", cmd->args[a]);
            return -1;
        }
        chs[a] = xt_mds_ch(xt_md_inst_id(in), kind, th);
    }
    return 0;
}

/* Every name of md.max_subscriptions' largest 4,096 fits one large message:
 * kind (< 16), '.', symbol, suffix (< 8), quotes and comma. */
_Static_assert(4096 * (15 + 1 + XT_SYMBOL_MAX + 7 + 3) + 128 <= LARGE_MIN, "a list answer fits a large message");
_Static_assert(XT_MDCMD_MAX_ARGS <= 64, "a subscribe's channels fit the mask of those it added");
#define FILLS_ANSWER_MAX ((size_t)(XT_FILLS_LIMIT_MAX + 1) * (XT_FILL_JSON_MAX + 1) + 16) /* {"data":[...]}\n */

/* The answer to `list`, built in scratch. */
static void send_list(mds_t *m, uint32_t c, const char *id)
{
    size_t cap = m->msg_bytes[MSG_LARGE] - XT_WS_HEADER_MAX;
    int k = snprintf(m->scratch, cap, "{\"id\":%s,\"op\":\"list\",\"result\":[", id);
    for (uint32_t i = m->conns[c].subs; i != NIL && k > 0 && (size_t)k < cap; i = m->subs[i].conn_next) {
        char b[16];
        uint32_t ch = m->subs[i].ch;
        const xt_md_sym_t *sym = &m->pub[ch / XT_TH_COUNT / XT_CH_KINDS].sym[ch % XT_TH_COUNT];
        k += snprintf(m->scratch + k, cap - (size_t)k, "%s\"%s.%s%s\"", i == m->conns[c].subs ? "" : ",",
                      xt_ch_kind_name((int)(ch / XT_TH_COUNT % XT_CH_KINDS), b), sym->symbol, sym->suffix);
    }
    if (k > 0 && (size_t)k + 2 < cap) {
        memcpy(m->scratch + k, "]}", 2);
        xt_mds_answer(m, c, m->scratch, (size_t)k + 2);
    }
}

/* The md thread's own figures (docs/websocket.md, "stats"). */
static void send_stats(mds_t *m, uint32_t c, const char *id)
{
    const xt_hist_t *h = &m->feed_lag;
    char body[768];
    snprintf(body, sizeof body,
             "\"result\":{\"connections\":%u,\"feed_lag_us\":{\"count\":%llu,\"p50\":%llu,\"p99\":%llu,"
             "\"p999\":%llu,\"max\":%llu},\"feed_resyncs\":%llu,\"book_refills\":%llu,\"slow_drops\":%llu,"
             "\"slow_closes\":%llu,\"conflations\":%llu,\"feed_trades_lost\":%llu},\"ts\":%lld",
             m->n_conns, (unsigned long long)h->count, (unsigned long long)xt_hist_quantile(h, 0.5),
             (unsigned long long)xt_hist_quantile(h, 0.99), (unsigned long long)xt_hist_quantile(h, 0.999),
             (unsigned long long)(h->count ? h->max : 0), (unsigned long long)m->resyncs,
             (unsigned long long)m->md.refills_asked, (unsigned long long)m->drops, (unsigned long long)m->slow_closes,
             (unsigned long long)m->conflations,
             (unsigned long long)atomic_load_explicit(&m->s->md_feed.trades_lost, memory_order_relaxed),
             (long long)xt_now_ns());
    answer(m, c, id, "stats", body);
}

/* A throttled trades channel getting its first subscriber starts after the
 * newest trade (its subscribers have the snapshot). */
static void start_channel(mds_t *m, uint32_t ch)
{
    if (m->ch_head[ch] != NIL || ch % XT_TH_COUNT == XT_TH_LIVE || ch / XT_TH_COUNT % XT_CH_KINDS != XT_CH_TRADES)
        return;
    xt_md_trade_t last;
    const xt_md_inst_t *in = xt_md_find(&m->md, ch / XT_TH_COUNT / XT_CH_KINDS);
    m->chs[ch].last_trade_id = in && xt_md_trades(in, &last, 1) == 1 ? last.trade_id : 0;
}

#define TOO_MANY "too many messages per second"

/* A command: counted against md.messages_per_s unless it is an order of a
 * logged-in order session (the gateway's limits.rate holds those), parsed
 * once, then order entry's (md_oe.c) or market data's. Without such a
 * session nothing is parsed once the count is over. */
static void on_command(mds_t *m, uint32_t c, const char *text, size_t len)
{
    xt_md_cmd_t cmd;
    char why[160];
    uint32_t chs[XT_MDCMD_MAX_ARGS] = {0};
    int live = xt_mds_oe_live(m, c);
    if (!live && xt_mds_over_rate(m, c))
        return xt_mds_answer_error(m, c, "null", 429, TOO_MANY);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (live && !(root && xt_oe_op(json_string_value(json_object_get(root, "op")))) && xt_mds_over_rate(m, c)) {
        json_decref(root);
        return xt_mds_answer_error(m, c, "null", 429, TOO_MANY);
    }
    if (root && xt_mds_oe_command(m, c, root)) {
        json_decref(root);
        return;
    }
    int parsed = root != NULL, rc = parsed ? xt_md_cmd_read(root, &cmd, why, sizeof why) : -1;
    json_decref(root);
    if (rc != 0) {
        xt_mds_answer_error(m, c, parsed ? cmd.id : "null", 400, parsed ? why : "bad JSON");
        return;
    }
    static const char *const names[] = {"", "subscribe", "unsubscribe", "snapshot", "list", "ping", "stats"};
    if (cmd.op == XT_MDOP_PING || cmd.op == XT_MDOP_LIST || cmd.op == XT_MDOP_STATS) {
        char body[64];
        if (cmd.op == XT_MDOP_LIST) {
            send_list(m, c, cmd.id);
        } else if (cmd.op == XT_MDOP_STATS) {
            send_stats(m, c, cmd.id);
        } else {
            snprintf(body, sizeof body, "\"result\":\"pong\",\"ts\":%lld", (long long)xt_now_ns()); /* wall clock */
            answer(m, c, cmd.id, names[cmd.op], body);
        }
        return;
    }
    if (resolve(m, &cmd, chs, why, sizeof why) != 0) {
        xt_mds_answer_error(m, c, cmd.id, 404, why);
        return;
    }
    uint32_t fresh = 0; /* the subscriptions it adds: a channel named twice is one */
    for (uint32_t a = 0; a < cmd.n_args && cmd.op == XT_MDOP_SUBSCRIBE; a++) {
        uint32_t b = 0;
        while (b < a && chs[b] != chs[a])
            b++;
        fresh += b == a && xt_mds_find_sub(m, c, chs[a]) == NIL;
    }
    if (m->conns[c].n_subs + fresh > m->s->cfg.md_max_subscriptions) {
        xt_mds_answer_error(m, c, cmd.id, 429, "too many subscriptions on this connection");
        return;
    }
    uint64_t added = 0; /* bit a: chs[a] subscribed by this command (XT_MDCMD_MAX_ARGS <= 64) */
    for (uint32_t a = 0; a < cmd.n_args; a++) {
        if (cmd.op == XT_MDOP_UNSUBSCRIBE) {
            xt_mds_unsubscribe(m, c, chs[a]);
            continue;
        }
        if (cmd.op != XT_MDOP_SUBSCRIBE || xt_mds_find_sub(m, c, chs[a]) != NIL)
            continue;
        start_channel(m, chs[a]);
        if (xt_mds_subscribe(m, c, chs[a]) == NIL) {
            while (a-- > 0) /* all or nothing: what this command added (not what was there before it) */
                if (added >> a & 1)
                    xt_mds_unsubscribe(m, c, chs[a]);
            xt_mds_answer_error(m, c, cmd.id, 503, "the server's subscription table is full");
            return;
        }
        added |= (uint64_t)1 << a;
    }
    /* A `snapshot` of channels not subscribed is one answer: `ok` and the
     * snapshots behind it, or, when they do not fit the queue now, a 503
     * alone. Once it was `ok`, then a 503 for the same id and no snapshot
     * (a probe). */
    if (cmd.op == XT_MDOP_SNAPSHOT && !xt_mds_snapshots_fit(m, c, chs, cmd.n_args)) {
        xt_mds_answer_error(m, c, cmd.id, 503,
                            "server busy: the snapshots do not fit this connection's queue now (md.output_limit); "
                            "read what is queued, then ask again");
        return;
    }
    if (answer(m, c, cmd.id, names[cmd.op], "\"result\":\"ok\"") != 0 || cmd.op == XT_MDOP_UNSUBSCRIBE)
        return; /* closing (the answer did not fit): no snapshot is owed */
    for (uint32_t a = 0; a < cmd.n_args; a++) {
        uint32_t sub = xt_mds_find_sub(m, c, chs[a]);
        if (sub != NIL) /* queued behind the answer; updates wait for it */
            xt_mds_owe_snapshot(m, sub);
        else if (xt_mds_answered(m, c, xt_mds_send_snapshot(m, c, chs[a], 1)) != 0)
            return; /* no buffer, even after closing the holders: closed 1013, as for an answer */
    }
}

/* ---- input --------------------------------------------------------------------- */

typedef struct conn_ref { /* the reader callback's context */
    mds_t *m;
    uint32_t c;
} conn_ref_t;

static int on_ws_msg(void *ctx, const xt_ws_msg_t *msg)
{
    const conn_ref_t *r = ctx;
    mds_t *m = r->m;
    uint32_t c = r->c;
    mconn_t *k = &m->conns[c];
    switch (msg->opcode) {
    case XT_WS_OP_TEXT: /* a login sent to the gateway holds what follows it (feed_ws) */
        on_command(m, c, (const char *)msg->data, msg->len);
        return k->state == C_FREE || k->oe_hold;
    case XT_WS_OP_BINARY: xt_mds_close_with(m, c, 1003, "text frames only"); return 1;
    case XT_WS_OP_PING: {
        uint32_t g = xt_mds_msg_make(m, XT_WS_OP_PONG, (const char *)msg->data, msg->len);
        if (g != NIL && xt_mds_enqueue(m, c, g) != 0) {
            m->msgs[g].refs = 1;
            xt_mds_msg_unref(m, g);
        }
        return 0;
    }
    case XT_WS_OP_PONG: k->pong_due = 0; return 0;
    case XT_WS_OP_CLOSE: xt_mds_close_with(m, c, XT_WS_CLOSE_NORMAL, ""); return 1;
    default: return 0;
    }
}

/* The reason sent with the close code of a failed xt_ws_reader_feed. */
static const char *feed_failure(int r)
{
    if (r == -XT_WS_CLOSE_TOO_BIG)
        return "message too big";
    if (r == -XT_WS_CLOSE_BAD_DATA)
        return "text that is not UTF-8";
    return r == -XT_WS_CLOSE_TRY_AGAIN ? "server busy" : "protocol error";
}

static int feed_ws(mds_t *m, uint32_t c, const uint8_t *p, size_t n);

/* The feed stopped behind a login: the n bytes read after it wait in k->in
 * and c is not read until the login is answered (xt_mds_ws_release), as
 * the binary gateway reads no frame behind a LOGIN before answering it -
 * an order pipelined behind the login is then placed, not refused "not
 * logged in". n fits: a connection with a login to come reads at most
 * md.max_message bytes at once (read_conn). Without a buffer to be had
 * (memory short) they are read on now, and answered as before the login. */
static void hold(mds_t *m, uint32_t c, const uint8_t *p, size_t n)
{
    mconn_t *k = &m->conns[c];
    if (n > 0 && (n > xt_ws_pool_msg_cap(m->wsp) || (k->in = xt_ws_pool_take_buffer(m->wsp)) == NULL)) {
        k->oe_hold = 0;
        feed_ws(m, c, p, n);
        return;
    }
    if (n > 0)
        memcpy(k->in, p, n);
    k->in_len = (uint32_t)n;
    xt_mds_set_input(m, c, 0);
}

/* Feeds n bytes of WebSocket frames to c's reader; closes c after a
 * violation. Returns the feed's result. */
static int feed_ws(mds_t *m, uint32_t c, const uint8_t *p, size_t n)
{
    mconn_t *k = &m->conns[c];
    conn_ref_t ref = {m, c};
    int r = xt_ws_reader_feed(&k->rd, p, n, on_ws_msg, &ref);
    if (r < 0 && k->state != C_FREE)
        xt_mds_close_with(m, c, (uint16_t)-r, feed_failure(r));
    else if (r > 0 && k->state == C_WS && k->oe_hold)
        hold(m, c, p + k->rd.in_pos, n - k->rd.in_pos);
    return r;
}

void xt_mds_ws_release(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (!k->oe_hold)
        return;
    k->oe_hold = 0;
    uint8_t *p = k->in;
    size_t n = k->in_len;
    k->in = NULL;
    k->in_len = 0;
    static const uint8_t none[1];
    if (k->state == C_WS) /* also with n = 0: the reader may keep messages it took and did not process yet */
        feed_ws(m, c, p ? p : none, n); /* (may hold again) */
    xt_ws_pool_give_buffer(m->wsp, p);
    if (k->state == C_WS || k->state == C_CLOSING) /* (closing: it reads, to see the client's end) */
        xt_mds_set_input(m, c, 1);
}

/* head: the request was a HEAD (known once its head parsed): no body. */
static void http_answer(mds_t *m, uint32_t c, int status, const char *msg, int head)
{
    char out[1024];
    int n = xt_rest_error(out, sizeof out, status, msg, 0);
    if (n > 0) /* behind the answers to the requests before it */
        xt_mds_http_last(m, c, out, head ? xt_mds_http_head_only(out, (size_t)n) : (size_t)n);
    else
        xt_mds_close(m, c);
}

/* More bytes are needed for c's next request: the time its first came is
 * kept (a request trickled in a byte at a time is cut off at
 * md.http_idle_ms, however busy it keeps the connection: http_timers). */
static void request_pending(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (k->in_len == 0)
        k->req_start = 0;
    else if (k->req_start == 0)
        k->req_start = m->mono;
}

/* Request heads on a plain HTTP connection: each answered in turn (md_http.c)
 * until one is a WebSocket upgrade, the connection closes, a REST order
 * request waits for its answer, or more bytes are needed. A body (REST
 * only: Content-Length, head and body within md.max_message) is read whole
 * before its request is served. */
void xt_mds_on_http(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    xt_http_req_t req;
    int rc;
    for (;;) {
        if (k->state != C_HTTP || k->http_wait)
            return;
        xt_http_parser_t hp;
        xt_http_parser_init(&hp);
        rc = xt_http_parse_head(&hp, k->in, k->in_len, &req);
        if (rc == 0 && k->in_len == m->s->cfg.md_max_message)
            rc = XT_ERANGE;
        if (rc == 0) {
            request_pending(m, c);
            xt_mds_http_ends_here(m, c);
            return;
        }
        if (rc < 0) {
            http_answer(m, c, rc == XT_ERANGE ? 431 : 400, rc == XT_ERANGE ? "request head too large" : "bad request",
                        0);
            return;
        }
        if (req.hosts > 1 || (req.http_1_1 && req.hosts == 0)) { /* RFC 9112 3.2: a MUST */
            http_answer(m, c, 400, req.hosts ? "more than one Host header" : "an HTTP/1.1 request needs a Host header",
                        req.method == HTTP_HEAD);
            return;
        }
        if (xt_http_route(&req) == XT_ROUTE_WS) {
            if (xt_mds_http_ends_here(m, c)) /* behind its end of input: it could not send a frame, nor pong */
                return;
            if (xt_mds_http_wait_backlog(m, c)) /* as a request: behind answers filling half the queue, it waits */
                return;
            break;
        }
        /* a body elsewhere is not read: answered, then the connection closes */
        uint64_t body = xt_http_route(&req) == XT_ROUTE_REST ? req.content_length : 0;
        if (body > m->s->cfg.md_max_message - (uint64_t)rc) {
            http_answer(m, c, 413, "the request head and body together are over md.max_message bytes",
                        req.method == HTTP_HEAD);
            return;
        }
        if ((uint64_t)k->in_len < (uint64_t)rc + body) {
            request_pending(m, c);
            xt_mds_http_ends_here(m, c); /* the rest of the body, unless its end of input came */
            return;
        }
        k->req_start = 0;
        if (xt_mds_http_serve(m, c, &req, (size_t)rc, (size_t)body) != 0)
            return;
    }
    /* RFC 6455 4.1-4.2: an HTTP/1.1 GET without a body; a version the
     * server does not speak is a 426, which names the one it does
     * (xt_http_response) */
    if (!req.upgrade_websocket || !req.ws_version_ok || !req.ws_key[0] || req.method != HTTP_GET ||
        req.content_length || !req.http_1_1) {
        http_answer(m, c, req.upgrade_websocket && req.ws_version_ok ? 400 : 426,
                    "a WebSocket upgrade (HTTP/1.1 GET, version 13, no body) is expected here",
                    req.method == HTTP_HEAD);
        return;
    }
    char out[512];
    int n = xt_ws_handshake_response(req.ws_key, out, sizeof out);
    if (n <= 0) {
        http_answer(m, c, 400, "bad Sec-WebSocket-Key", 0);
        return;
    }
    uint32_t g = xt_mds_msg_raw(m, out, (size_t)n); /* admitted: the wait above bounded the queue */
    int qrc = g == NIL ? XT_MDS_NO_POOL : xt_mds_enqueue_admitted(m, c, g);
    xt_mds_msg_drop_if_unused(m, g);
    if (qrc != 0) {
        http_answer(m, c, 503, "server busy", 0);
        return;
    }
    uint8_t *head = k->in; /* frames may have come right behind the head */
    size_t more = k->in_len - (size_t)rc;
    k->in = NULL;
    k->in_len = 0;
    k->state = C_WS;
    k->ws = 1;
    m->ws_opened++;
    k->pong_due = 0;
    xt_ws_reader_init(&k->rd, m->wsp);
    if (k->in_paused) /* its buffer was full behind a REST order that waited: read again (feed_ws may hold it) */
        xt_mds_set_input(m, c, 1);
    if (more)
        feed_ws(m, c, head + rc, more);
    xt_ws_pool_give_buffer(m->wsp, head);
}

/* ev: the epoll events that woke it. */
static void read_conn(mds_t *m, uint32_t c, uint32_t ev)
{
    mconn_t *k = &m->conns[c];
    if (k->in_paused && !k->fin) {
        /* Input off: a hang-up or an error, the client is gone; or an
         * EPOLLIN of this same batch, from before an event earlier in it
         * paused c (a REST order's answer that served the requests behind
         * it into a backlog): read later. Once closed for it, queued answers
         * and all, an order's among them. */
        if (ev & (EPOLLHUP | EPOLLERR))
            xt_mds_close(m, c);
        return;
    }
    for (int rounds = 0; rounds < 4 && k->state != C_FREE; rounds++) {
        uint8_t buf[4096];
        ssize_t n;
        if (k->state == C_HTTP && k->in_len == m->s->cfg.md_max_message) {
            /* Only while a REST order request waits: the requests pipelined
             * behind it fill the buffer. The rest waits in the socket, not
             * read, until its answer comes (xt_mds_http_deferred). (A 431 and
             * a close here once left the waiting order placed with no
             * answer, and the requests behind it unanswered.) */
            xt_mds_set_input(m, c, 0);
            return;
        }
        size_t want = sizeof buf;
        if (k->state == C_WS && k->oe) { /* what it sends must fit its order-entry bridge */
            size_t room = xt_mds_oe_input_room(m, c);
            if (room == 0)
                return; /* paused; the bridge's EPOLLOUT resumes it */
            if (!xt_mds_oe_live(m, c) && room > xt_ws_pool_msg_cap(m->wsp))
                room = xt_ws_pool_msg_cap(m->wsp); /* a login may come: what follows it must fit a buffer (hold) */
            want = room < want ? room : want;
        }
        if (k->state == C_HTTP)
            n = read(k->fd, k->in + k->in_len, m->s->cfg.md_max_message - k->in_len);
        else
            n = read(k->fd, buf, want);
        if (n == 0 && k->state == C_HTTP) { /* a half-close: its requests are answered first */
            xt_mds_http_input_ended(m, c);
            return;
        }
        if (n == 0 && k->state == C_CLOSING && k->qn && !k->fin) {
            /* closing after its last answer, not all written yet: written
             * first (the client may have ended its side only), then closed
             * (xt_mds_flush_dirty), or at the ping round if never taken */
            xt_mds_set_input(m, c, 0);
            return;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            xt_mds_close(m, c);
            return;
        }
        if (n < 0 || k->state == C_CLOSING) /* closing: what the client sends is ignored */
            return;
        m->bytes_in += (uint64_t)n;
        if (k->state == C_HTTP) {
            k->in_len += (uint32_t)n;
            k->last_in = m->mono;
            xt_mds_on_http(m, c);
            continue;
        }
        int r = feed_ws(m, c, buf, (size_t)n);
        if (r != 0 || (size_t)n < want)
            return;
    }
}

enum { REFUSE_FULL, REFUSE_PER_IP, REFUSE_NO_FD };

/* A connection over md.max_connections (REFUSE_FULL), over
 * md.max_connections_per_ip, or taken with the spare descriptor: a binary
 * one gets ERROR TOO_MANY_CONNECTIONS, another 503 (429 per address). */
static void refuse(mds_t *m, int fd, uint8_t bin, int reason)
{
    static const char *const whys[] = {"md.max_connections reached",
                                       "md.max_connections_per_ip reached from this address",
                                       "the server has no file descriptor left"};
    const char *why = whys[reason];
    int full = reason != REFUSE_PER_IP;
    m->refused_full += reason == REFUSE_FULL;
    m->refused_per_ip += reason == REFUSE_PER_IP;
    if (reason == REFUSE_NO_FD)
        xt_ctr_add(&m->s->met.no_fd_refused[1], 1);
    /* What the client sent already (a request head) is read and dropped: a
     * socket closed with unread input is reset, and the reset can discard
     * the answer before the client reads it. */
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    if (bin) {
        xt_mds_bin_refuse(m, fd, why);
        return;
    }
    char out[512];
    int n = xt_rest_error(out, sizeof out, full ? 503 : 429, why, 0);
    ssize_t w = n > 0 ? send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
    (void)w;
    close(fd);
}

/* bin: from the binary listener (md_tcp.c takes it from there). */
static void accept_conns(mds_t *m, uint8_t bin)
{
    for (;;) {
        struct sockaddr_in a = {0};
        socklen_t al = sizeof a;
        int lfd = bin ? m->bin_lfd : m->lfd,
            fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            al = sizeof a;
            if ((fd = xt_fd_spare_accept(&m->spare, lfd, bin ? EV_LISTEN_BIN : EV_LISTEN, err, (struct sockaddr *)&a,
                                         &al)) < 0)
                return;
            refuse(m, fd, bin, REFUSE_NO_FD);
            xt_fd_spare_restore(&m->spare);
            continue;
        }
        uint32_t ip = a.sin_family == AF_INET ? ntohl(a.sin_addr.s_addr) : 0;
        int full = m->free_conn == NIL;
        if (full || xt__gw_counts_get(&m->ip_conns, ip) >= m->s->cfg.md_max_connections_per_ip) {
            refuse(m, fd, bin, full ? REFUSE_FULL : REFUSE_PER_IP);
            continue;
        }
        uint8_t *head = bin ? NULL : xt_ws_pool_take_buffer(m->wsp); /* for the HTTP request head */
        if (!bin && !head) { /* cannot happen below md.max_connections, unless memory is short */
            close(fd);
            continue;
        }
        int one = 1, sndbuf = (int)m->s->cfg.md_send_buffer;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (sndbuf) /* bounds what a stalled client holds in the kernel, beside md.output_limit */
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        uint32_t c = m->free_conn;
        mconn_t *k = &m->conns[c];
        m->free_conn = k->subs;
        /* A slot closed in this round may still be on the dirty or the
         * owed list: its links stay, or a second push would corrupt them. */
        mconn_t keep = *k;
        memset(k, 0, sizeof *k);
        k->dirty = keep.dirty;
        k->next_dirty = keep.next_dirty;
        k->owed = keep.owed;
        k->next_owed = keep.next_owed;
        k->fd = fd;
        k->in = head; /* NULL for a binary connection */
        k->state = bin ? C_BIN : C_HTTP;
        k->bin = bin;
        k->subs = NIL;
        k->sec_start = m->mono;
        k->last_in = m->mono;
        k->ip = ip;
        xt__gw_counts_inc(&m->ip_conns, ip); /* room: at most max_conns addresses have connections */
        m->n_conns++;
        m->bin_opened += bin;
        struct epoll_event ev = {EPOLLIN, {.u64 = c}};
        epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev);
        if (bin)
            xt_mds_bin_greet(m, c);
    }
}

/* ---- the feed and timers ------------------------------------------------------ */

/* Consumes what the engine published: a command's records form one batch. */
/* The n events in ev, from records like r (the same command), to md. */
static void hand_on(mds_t *m, xt_event_t *ev, uint32_t *n, const xt_md_rec_t *r, int last)
{
    xt_event_batch_t b = {r->seq, r->ts, r->resync ? XT_MD_RESYNC : 0, (uint8_t)last, *n, ev};
    xt_md_on_batch(&m->md, &b);
    *n = 0;
}

/* The books md cut at md.max_levels that ran low, to be written again by
 * the engine's resync pass (md_feed.h, `want`): the flag of each, then
 * want_any, then md_resync (the pass reads them in the other order). */
static void ask_refills(mds_t *m)
{
    xt_md_feed_t *f = &m->s->md_feed;
    uint32_t ids[64], n;
    int any = 0;
    while ((n = xt_md_take_refills(&m->md, ids, 64)) > 0)
        for (uint32_t i = 0; i < n; i++)
            if (ids[i] < f->n_lost) {
                atomic_store_explicit(&f->want[ids[i]], 1, memory_order_relaxed);
                any = 1;
            }
    if (!any)
        return;
    atomic_store(&f->want_any, 1);
    atomic_store(&m->s->md_resync, 1);
    xt_engine_wake(m->s); /* an idle engine writes it now, not at its next tick */
}

static void drain_feed(mds_t *m)
{
    xt_md_feed_t *f = &m->s->md_feed;
    uint64_t t = atomic_load_explicit(&f->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&f->head, memory_order_acquire);
    xt_event_t ev[XT_EVENT_BATCH_MAX];
    uint32_t n = 0;
    int64_t now = t < h ? xt_now_ns() : 0; /* for the lag only: the wall clock, no shared write */
    for (; t < h; t++) {
        const xt_md_rec_t *r = &f->v[t & f->mask];
        if (r->ev.type == XT_MD_FEED_RESET) { /* resync: every level gone, then the engine's levels, in one command */
            if (n)                            /* a command whose last record was lost: what came of it goes first */
                hand_on(m, ev, &n, &f->v[(t - 1) & f->mask], 0);
            m->ev_ts = 0; /* a resync's messages are not timed */
            xt_md_book_reset(&m->md, r->ev.instrument);
            /* the band in force: a band move among the events lost (its limits, its ref: xt_md_follow_ref) */
            ev[n] = r->ev;
            ev[n].type = XT_EV_INSTRUMENT;
            xt_mds_take_band(m, &ev[n++]);
            const xt_md_inst_t *in = xt_md_find(&m->md, r->ev.instrument);
            uint32_t cap = m->s->cfg.md_max_levels;
            uint32_t nb = in ? xt_md_depth(in, XT_BUY, m->lv_b, cap) : 0;
            uint32_t na = in ? xt_md_depth(in, XT_SELL, m->lv_a, cap) : 0;
            for (uint32_t i = 0; i < nb + na; i++) {
                const xt_md_level_t *l = i < nb ? &m->lv_b[i] : &m->lv_a[i - nb];
                ev[n++] = (xt_event_t){.type = XT_EV_BOOK,
                                       .side = i < nb ? XT_BUY : XT_SELL,
                                       .instrument = r->ev.instrument,
                                       .price = l->price};
                if (n == XT_EVENT_BATCH_MAX)
                    hand_on(m, ev, &n, r, 0);
            }
            if (r->last) { /* the engine's book is empty: the resync ends here (n may be 0) */
                hand_on(m, ev, &n, r, 1);
                xt_mds_bands_tell(m, r->ts);
            }
            continue;
        }
        if (r->ev.type == XT_MD_FEED_CHECKPOINT) { /* after a command's last record: n is 0 */
            /* what was read goes back to the engine first (the record too): encoding takes a while */
            uint64_t seq = r->seq;
            atomic_store_explicit(&f->tail, t + 1, memory_order_release);
            xt_mds_state_checkpoint(m, seq);
            continue;
        }
        xt_fills_on_trade(&m->fills, &r->ev, r->ts); /* GET /api/v1/fills */
        if (r->ev.type == XT_EV_INSTRUMENT)          /* before md takes it: its ticker tells the new band */
            xt_mds_take_band(m, &r->ev);
        ev[n++] = r->ev;
        if (!r->resync) {
            m->ev_ts = r->ts; /* stamps the live messages these events make (xt_md_send_lag_seconds) */
            if (r->last)      /* the market-data lag: engine -> here, the journal commit included */
                xt_hist_add(&m->feed_lag, now > r->ts ? (uint64_t)(now - r->ts) / 1000 : 0);
        }
        if (r->last || n == XT_EVENT_BATCH_MAX)
            hand_on(m, ev, &n, r, r->last);
        if (r->last && m->bands_untold) /* a band move's ticker, when no other told it: in the command's place */
            xt_mds_bands_tell(m, r->ts);
    }
    if (n) /* a command whose last record was lost (the ring was full): md ends it at the next one */
        hand_on(m, ev, &n, &f->v[(t - 1) & f->mask], 0);
    xt_mds_flush_trades(m); /* timed as the command's (ev_ts) */
    m->ev_ts = 0;
    atomic_store_explicit(&f->tail, t, memory_order_release);
    if (atomic_load_explicit(&f->dropped, memory_order_relaxed) && !atomic_load(&m->s->md_resync)) {
        atomic_store(&f->dropped, 0);
        atomic_store(&m->s->md_resync, 1);
        m->resyncs++;
    }
    ask_refills(m);
}

/* The wall clock behind the market's time (clock.h) by more than a
 * second, or no longer: told in the log once each way. */
static void clock_check(mds_t *m)
{
    int64_t held = xt_market_held_ns();
    int behind = held > INT64_C(1000000000) || (m->clock_behind && held > 0);
    if (behind == m->clock_behind)
        return;
    m->clock_behind = (uint8_t)behind;
    xt_log_ev_t e;
    if (behind && xt_log_begin(&e, XT_LOG_WARN,
                               "the system clock is behind the market's time: market time holds until it catches up")) {
        xt_log_i64(&e, "behind_ms", held / 1000000);
        xt_log_i64(&e, "market_time_ns", xt_market_ns());
        xt_log_end(&e);
    } else if (!behind && xt_log_begin(&e, XT_LOG_INFO, "the system clock caught up with the market's time")) {
        xt_log_end(&e);
    }
}

/* Plain HTTP connection c has had no request and no answer for
 * md.http_idle_ms - none waiting either: a REST order's answer may take up
 * to rest.order_timeout_ms (closed here, it had none). An answer counts
 * while it is still being read: the client took some of it since the last
 * look (sent.h; a client reading a long backlog slowly takes a while to
 * come to the end of what the kernel holds, and the server writes nothing
 * meanwhile). */
static int http_idle(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    if (k->http_wait)
        return 0;
    if (xt_sent_taken(&k->sent, k->fd, NULL)) /* (also with nothing queued here: all of it may be in the kernel) */
        k->last_out = m->mono;
    int64_t last = k->last_in > k->last_out ? k->last_in : k->last_out;
    return m->mono - last > (int64_t)m->s->cfg.md_http_idle_ms * 1000000;
}

/* Plain HTTP connection c has been sending one request (head, or body)
 * for longer than md.http_idle_ms: bytes that keep coming do not make it
 * less idle (the slow-request attack holds a connection open with a byte
 * every few seconds). */
static int http_slow(const mds_t *m, uint32_t c)
{
    const mconn_t *k = &m->conns[c];
    return !k->http_wait && k->req_start && m->mono - k->req_start > (int64_t)m->s->cfg.md_http_idle_ms * 1000000;
}

/* The intervals run on the monotonic clock: the market's (m->now) holds
 * still while the wall clock is behind it (clock.h), and the timers must
 * not. */
static void timers(mds_t *m)
{
    if (m->mono - m->last_advance >= XT_MD_ADVANCE_NS) {
        m->last_advance = m->mono;
        xt_md_advance(&m->md, m->horizon); /* not past a batch under way (md_feed.h) */
        clock_check(m);
    }
    if (m->mono - m->last_tick >= XT_TH_TICK_NS) {
        /* on a 100 ms grid; a late wake-up does not shift it */
        m->last_tick = m->mono - m->mono % XT_TH_TICK_NS;
        xt_mds_halts_tick(m); /* before the throttled channels: a status change goes out in this tick */
        xt_mds_throttle_tick(m);
        xt_mds_retry_owed(m);
        xt_fd_spare_tick(&m->spare, 1); /* paused listeners tried again every 100 ms */
    }
    xt_mds_bin_timers(m);
    xt_mds_oe_timers(m);
    if (m->mono - m->last_ping < (int64_t)m->s->cfg.md_ping_ms * 1000000)
        return;
    m->last_ping = m->mono;
    uint32_t g = xt_mds_msg_make(m, XT_WS_OP_PING, "xt", 2);
    if (g != NIL) /* held through the loop: a close in it (an HTTP answer's eviction) may drop every other holder */
        m->msgs[g].refs++;
    for (uint32_t c = 0; c < m->max_conns; c++) {
        mconn_t *k = &m->conns[c];
        if (k->state == C_CLOSING) {
            /* closed once its client has it all, or has taken nothing for a
             * whole round: a slow reader of a backlog queued before its
             * CLOSE (or ERROR, or last answer) was cut off at the second
             * round, and its client's next ping or heartbeat reset */
            uint32_t q;
            int moving = xt_sent_taken(&k->sent, k->fd, &q);
            int has_all = k->fin && q == 0;
            if (!has_all && moving)
                k->pong_due = 0;
            else if (has_all || k->pong_due++)
                xt_mds_close(m, c);
        }
        if (k->state == C_HTTP && http_slow(m, c))
            http_answer(m, c, 408, "the request did not come whole within md.http_idle_ms", 0);
        else if (k->state == C_HTTP && http_idle(m, c))
            xt_mds_close(m, c);
        if (k->state != C_WS)
            continue;
        /* (paused for its order-entry bridge, its pong waits unread; paused
         * for its own unread answers, it has had a round to read them - also
         * with its input held behind a login whose answer waits for it to
         * read: without, a client that stopped reading was held for ever) */
        if (k->pong_due && (!k->in_paused || k->oe_backlog || (k->oe_hold && xt_mds_oe_waits_for_reader(m, c)))) {
            if (xt_sent_taken(&k->sent, k->fd, NULL)) /* its ping waits behind what it is still reading */
                continue;
            xt_mds_close_gone(m, c, XT_WS_CLOSE_POLICY, "no pong");
            continue;
        }
        /* A ping that cannot be queued for want of a pooled buffer (the
         * message, or the shared queue nodes, which clients that stopped
         * reading may hold) is no fault of this connection's: no pong is
         * owed for it. One over its own limits is not keeping up, and owes
         * one as before. */
        if ((g == NIL ? XT_MDS_NO_POOL : xt_mds_enqueue(m, c, g)) == XT_MDS_NO_POOL)
            continue;
        k->pong_due = 1;
    }
    if (g != NIL)
        xt_mds_msg_unref(m, g);
}

/* ---- the loop and lifecycle ------------------------------------------------------ */

/* As the gateway's (gateway.c, stalled): the loop comes round at least
 * every 100 ms, so a gap of over a second means this thread did not run -
 * and its clients' silence meanwhile is not held against them: every
 * connection's last input and the ping round move on by the gap. */
static void stalled(mds_t *m, int64_t gap)
{
    for (uint32_t c = 0; c < m->max_conns; c++)
        if (m->conns[c].state != C_FREE) {
            m->conns[c].last_in += gap;
            if (m->conns[c].req_start)
                m->conns[c].req_start += gap;
        }
    m->last_ping += gap;
    xt_mds_oe_stalled(m, gap);
}

/* One epoll_wait's events (the listeners' too, until stop_drain closes
 * them). Returns 1 when the stop was asked. */
static int dispatch(mds_t *m, const struct epoll_event *evs, int n)
{
    int stop = 0;
    for (int i = 0; i < n; i++) {
        uint64_t id = evs[i].data.u64;
        if (id == EV_LISTEN || id == EV_LISTEN_BIN)
            accept_conns(m, id == EV_LISTEN_BIN);
        else if (id == EV_FEED || id == EV_STOP) {
            uint64_t v;
            ssize_t r = read(id == EV_FEED ? m->s->md_feed.efd : m->stop_efd, &v, sizeof v);
            (void)r;
            stop |= id == EV_STOP;
        } else if ((id & XT_OE_EV) == XT_OE_EV) {
            xt_mds_oe_event(m, (uint32_t)id, evs[i].events);
        } else if (m->conns[id].state != C_FREE) {
            if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && m->conns[id].bin)
                xt_mds_bin_read(m, (uint32_t)id);
            else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                read_conn(m, (uint32_t)id, evs[i].events);
            if (m->conns[id].state != C_FREE && (evs[i].events & EPOLLOUT))
                xt_mds_mark_dirty(m, (uint32_t)id);
        }
    }
    return stop;
}

#define STOP_DRAIN_NS INT64_C(2000000000) /* the gateway's bound too (docs/deploy.md, Stopping) */

/* The stop, once every connection has its last message queued (a CLOSE
 * 1001, an ERROR SHUTDOWN, an HTTP connection's answers): for up to 2 s,
 * as the gateway does for its sessions, what is queued goes to the clients
 * that read - the rest of a message partly written, a WebSocket order
 * session's last answers - and each socket closes once its client's TCP
 * has taken it all, or at the client's end of input. The ports close
 * first: nobody new comes. Before, one flush wrote what the sockets took
 * and every socket closed: a slow reader got a message cut short and no
 * CLOSE, an HTTP client an answer cut mid-body (a probe). */
static void stop_drain(mds_t *m)
{
    struct epoll_event evs[256];
    int64_t end = xt_mono_ns() + STOP_DRAIN_NS;
    if (m->lfd >= 0)
        close(m->lfd);
    if (m->bin_lfd >= 0)
        close(m->bin_lfd);
    m->lfd = m->bin_lfd = -1; /* (paused for want of a descriptor: out of epoll already, and not put back) */
    for (;;) {
        xt_mds_flush_dirty(m);
        for (uint32_t c = 0; c < m->max_conns; c++)
            if (m->conns[c].state != C_FREE && m->conns[c].fin && xt_sent_held(m->conns[c].fd) == 0)
                xt_mds_close(m, c);
        int64_t left = end - xt_mono_ns();
        if (m->n_conns == 0 || left <= 0)
            return;
        int n = epoll_wait(m->ep, evs, 256, left > 10000000 ? 10 : (int)(left / 1000000) + 1);
        m->now = xt_market_ns();
        m->mono = xt_mono_ns();
        dispatch(m, evs, n);
    }
}

static void *md_main(void *arg)
{
    mds_t *m = arg;
    xt_md_feed_t *f = &m->s->md_feed;
    xt_cpus_pin(&m->s->cpus->md, "md"); /* before the name: a thread named is a thread pinned */
    pthread_setname_np(pthread_self(), "xt-md");
    xt_md_history_live(m->hist); /* from now on a writer stuck on the disk loses candles, never holds this thread */
    struct epoll_event evs[256];
    int64_t last_mono = 0;
    for (;;) {
        atomic_store(&f->sleeping, 1);
        int pending = atomic_load(&f->head) != atomic_load(&f->tail);
        int64_t to_tick = (m->last_tick + XT_TH_TICK_NS - xt_mono_ns()) / 1000000 + 1;
        int timeout = pending || m->dirty_head != NIL ? 0 : to_tick < 1 ? 1 : to_tick > 100 ? 100 : (int)to_tick;
        int n = epoll_wait(m->ep, evs, 256, timeout);
        atomic_store(&f->sleeping, 0);
        m->now = xt_market_ns();
        m->mono = xt_mono_ns(); /* a step of the wall clock must not hold off or hurry a timer */
        if (last_mono && m->mono - last_mono > INT64_C(1000000000))
            stalled(m, m->mono - last_mono);
        last_mono = m->mono;
        int stop = dispatch(m, evs, n);
        m->horizon = xt_md_feed_horizon(f, m->now, m->horizon); /* before the feed is read */
        drain_feed(m);
        if (n >= 0) /* not after an EINTR (SIGCONT): the sockets are read first */
            timers(m);
        xt_mds_flush_dirty(m);
        if (stop)
            break;
    }
    /* The gateway's last words to the order sessions, before the CLOSEs: a
     * flush can drain a paused bridge's client and so let it read on, once
     * more. A 1001 CLOSE drops the market data queued before it, not an
     * order session's answers (xt_mds_close_with). */
    for (int k = 0; k < 2; k++) {
        xt_mds_oe_read_to_end(m);
        xt_mds_flush_dirty(m);
    }
    for (uint32_t c = 0; c < m->max_conns; c++) {
        const mconn_t *k = &m->conns[c];
        if (k->state == C_FREE || k->state == C_CLOSING) /* (closing: its last message queued already) */
            continue;
        if (!k->ws && !k->bin) /* plain HTTP: its answers queued go, then the close */
            xt_mds_http_stop(m, c);
        else
            xt_mds_close_with(m, c, XT_WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    stop_drain(m);
    for (uint32_t c = 0; c < m->max_conns; c++) /* then every socket goes: those still closing too */
        if (m->conns[c].state != C_FREE)
            xt_mds_close(m, c);
    return NULL;
}

int xt_mds_listen(const char *key, const char *host, uint16_t port, int *bound_fd, int *fd, char *why, size_t n)
{
    *fd = *bound_fd;
    *bound_fd = -1;
    return xt_port_listen(key, host, port, *fd, why, n);
}

static int listen_md(mds_t *m, char *why, size_t n)
{
    const xt_server_config_t *cfg = &m->s->cfg;
    return xt_mds_listen("md.listen", cfg->md_host, cfg->md_port, &m->s->md_lfd, &m->lfd, why, n);
}

/* Market data's big tables are left out of fork(): the snapshot's child (journal.c) never reads them,
 * so fork copies fewer page tables - it stops the engine thread for its length - and the md thread's
 * writes while the child lives copy no pages. Touched as used (4 KiB pages). */
static void *table(size_t bytes)
{
    return xt_pages_alloc(bytes, XT_PAGES_NOFORK);
}

static int alloc_tables(mds_t *m)
{
    const xt_server_config_t *cfg = &m->s->cfg;
    m->max_conns = cfg->md_max_connections;
    m->n_sub_cap = m->max_conns * 8 + 1024;
    size_t book = (size_t)2 * cfg->md_max_levels * LEVEL_TEXT_MAX + 4096;
    const size_t *bytes = m->msg_bytes;
    m->msg_bytes[MSG_TINY] = TINY_BYTES;
    m->msg_bytes[MSG_SMALL] = SMALL_BYTES;
    m->msg_bytes[MSG_MEDIUM] = MEDIUM_BYTES;
    m->msg_bytes[MSG_LARGE] = book > LARGE_MIN ? book : LARGE_MIN;
    m->msg_count[MSG_TINY] = m->max_conns * 8 + 65536;
    m->msg_count[MSG_SMALL] = m->max_conns / 4 + 4096;
    m->msg_count[MSG_MEDIUM] = m->max_conns / 16 + 1024;
    m->msg_count[MSG_LARGE] = N_LARGE;
    uint32_t n_msgs = 0;
    for (int k = 0; k < MSG_CLASSES; k++)
        n_msgs += m->msg_count[k];
    m->conns = table((size_t)m->max_conns * sizeof *m->conns);
    /* A connection holds at most one item, but for the moment of its upgrade: its request head is still
     * held while its reader takes an item for the frames that came right behind the head; and while its
     * login holds its input (hold): the bytes read behind the login, its reader keeping one too - at most
     * one per login in progress (XT_OE_LOGINS), so every connection still finds its own. */
    xt_ws_pool_create(&m->wsp, cfg->md_max_message, m->max_conns + 1 + XT_OE_LOGINS);
    m->subs = table((size_t)m->n_sub_cap * sizeof *m->subs);
    m->n_ch = m->n_inst * XT_CH_KINDS * XT_TH_COUNT;
    m->ch_head = malloc(sizeof *m->ch_head * (m->n_ch + 1));
    m->chs = calloc(m->n_ch + 1, sizeof *m->chs);
    for (int th = 0; th < XT_TH_COUNT; th++)
        m->pending[th] = malloc(sizeof *m->pending[th] * (m->n_ch / XT_TH_COUNT + 1));
    m->tape_cap = cfg->md_tape < TAPE_BATCH_MAX ? cfg->md_tape : TAPE_BATCH_MAX;
    m->pub = calloc(m->n_inst + 1, sizeof *m->pub);
    m->n_qnodes = m->max_conns * QNODES_PER_CONN + QNODES_SHARED;
    m->qnodes = table(sizeof *m->qnodes * m->n_qnodes);
    m->msgs = table((size_t)n_msgs * sizeof *m->msgs);
    for (int k = 0; k < MSG_CLASSES; k++)
        m->msg_mem[k] = table(m->msg_count[k] * bytes[k]); /* pages are touched as messages are used */
    m->scratch = malloc(m->msg_bytes[MSG_LARGE]);
    m->lv_b = calloc(cfg->md_max_levels, sizeof *m->lv_b);
    m->lv_a = calloc(cfg->md_max_levels, sizeof *m->lv_a);
    m->tape = calloc(m->tape_cap > 100 ? m->tape_cap : 100, sizeof *m->tape);
    m->http_cap = xt_mds_http_cap(m->n_inst);
    if (m->http_cap < m->msg_bytes[MSG_LARGE]) /* a REST answer is as large as a WebSocket snapshot */
        m->http_cap = m->msg_bytes[MSG_LARGE];
    if (m->http_cap < FILLS_ANSWER_MAX) /* and as the most fills one answer holds */
        m->http_cap = FILLS_ANSWER_MAX;
    m->http_body = malloc(m->http_cap);
    m->http_out_cap = m->http_cap + 1024; /* the body and the response head */
    m->http_out = malloc(m->http_out_cap);
    if (!m->conns || !m->wsp || !m->subs || !m->ch_head || !m->chs || !m->pending[0] || !m->pending[1] ||
        !m->pending[2] || !m->pub || !m->qnodes || !m->msgs || !m->msg_mem[0] || !m->msg_mem[1] || !m->msg_mem[2] ||
        !m->msg_mem[3] || !m->scratch || !m->lv_b || !m->lv_a || !m->tape || !m->http_body || !m->http_out ||
        xt__gw_counts_init(&m->ip_conns, m->max_conns) != 0)
        return -1;
    m->free_conn = m->free_sub = m->dirty_head = m->owed_head = m->free_qnode = NIL;
    for (int k = 0; k < MSG_CLASSES; k++)
        m->msg_free[k] = NIL;
    for (uint32_t i = m->n_qnodes; i-- > 0;) {
        m->qnodes[i].next = m->free_qnode;
        m->free_qnode = i;
    }
    for (uint32_t c = m->max_conns; c-- > 0;) {
        m->conns[c].subs = m->free_conn;
        m->free_conn = c;
    }
    for (uint32_t i = m->n_sub_cap; i-- > 0;) {
        m->subs[i].conn_next = m->free_sub;
        m->free_sub = i;
    }
    for (uint32_t i = 0; i < m->n_ch; i++)
        m->ch_head[i] = NIL;
    for (uint32_t i = n_msgs, k = MSG_CLASSES - 1, base = n_msgs - m->msg_count[k]; i-- > 0;) {
        while (i < base)
            base -= m->msg_count[--k];
        msg_t *g = &m->msgs[i];
        g->cls = (uint8_t)k;
        g->data = m->msg_mem[k] + (size_t)(i - base) * bytes[k];
        g->next_free = m->msg_free[k];
        m->msg_free[k] = i;
    }
    return 0;
}

/* The instruments that follow their ref (`prev_close = ref`) take the one
 * in force, after the saved state: one saved before a move since (the
 * replay after it has trades only), or before the setting was made, has
 * an older one. */
static void refs_in_force(mds_t *m)
{
    for (uint32_t i = 0; i < m->n_inst; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&m->s->engine, i, &in);
        xt_md_set_ref(&m->md, i, xt_instrument_ref_ticks(&in.def));
    }
}

/* The engine's instruments, into md. */
static int load_instruments(mds_t *m)
{
    const xt_engine_t *e = &m->s->engine;
    for (uint32_t i = 0; i < m->n_inst; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(e, i, &in);
        int32_t tz = 0; /* UTC for an instrument the config no longer names */
        xt_config_tz(&m->s->cfg, in.symbol, &tz);
        /* the previous close: the ref (none without a band, or for one that is no price: an older config's) */
        if (xt_md_add_instrument(&m->md, i, in.symbol, xt_instrument_ref_ticks(&in.def), tz) ||
            xt_md_follow_ref(&m->md, i, xt_config_prev_close_ref(&m->s->cfg, in.symbol)))
            return -1;
        inst_pub_t *p = &m->pub[i];
        static const char *const suffix[XT_TH_COUNT] = {"", "@100ms", "@1000ms"};
        for (int th = 0; th < XT_TH_COUNT; th++) {
            xt_md_sym_t *y = &p->sym[th];
            snprintf(y->symbol, sizeof y->symbol, "%s", in.symbol);
            snprintf(y->suffix, sizeof y->suffix, "%s", suffix[th]);
            y->tick = in.def.tick;
            y->lot = in.def.lot;
        }
        p->bb = p->ba = XT_PRICE_NONE;
        p->halted = (uint8_t)xt_mds_halted(m, i); /* the `halted` file's, loaded before: told from the start */
    }
    xt_mds_frames_start(m); /* the start's bands: no ticker to send again */
    return 0;
}

/* The engine's current books, into md: after the day's state (md_state.c),
 * so the trades it replays are timed by the journal, not by this start. */
static void load_books(mds_t *m)
{
    const xt_engine_t *e = &m->s->engine;
    xt_engine_stats_t st;
    xt_engine_stats(e, &st);
    /* The books as of the journal's last command, written as a resync of
     * it: every version above those sent before the start (md.h). */
    int64_t now = xt_market_ns();
    for (uint32_t i = 0; i < m->n_inst; i++)
        for (int side = XT_BUY; side <= XT_SELL; side++) {
            xt_level_iter_t it;
            xt_level_info_t l;
            xt_level_iter_init(&it, e, i, (xt_side_t)side);
            while (xt_level_iter_next(&it, &l)) {
                xt_event_t z = {.type = XT_EV_BOOK,
                                .side = (uint8_t)side,
                                .instrument = i,
                                .price = l.price,
                                .qty = l.qty,
                                .u.level.orders = l.orders};
                xt_event_batch_t b = {st.last_seq, now, XT_MD_RESYNC, 0, 1, &z};
                xt_md_on_batch(&m->md, &b);
            }
        }
    xt_event_batch_t end = {st.last_seq, now, XT_MD_RESYNC, 1, 0, NULL};
    xt_md_on_batch(&m->md, &end);
    xt_md_book_seq_floor(&m->md, xt_md_resync_version(st.last_seq)); /* the empty books too */
    for (uint32_t i = 0; i < m->n_inst; i++)                         /* bbo carries the version as of its last change */
        m->pub[i].bbo_seq = xt_md_book_seq(xt_md_find(&m->md, i));
}

int xt_md_server_open(xt_server_t *s, char *why, size_t n)
{
    mds_t *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    s->mds = m;
    m->s = s;
    xt_hist_init(&m->feed_lag);
    xt_hist_init(&m->send_lag);
    m->ep = m->lfd = m->stop_efd = m->bin_lfd = m->spare.fd = -1;
    m->n_inst = xt_engine_instrument_count(&s->engine);
    xt_md_config_t mc = {s->cfg.engine.max_instruments, s->cfg.md_max_levels, s->cfg.md_tape};
    if (alloc_tables(m) || xt_mds_oe_init(m) || xt_md_init(&m->md, &mc, xt_mds_on_update, m)) {
        snprintf(why, n,
                 "market data: out of memory (its tables are sized by engine.max_instruments = %" PRIu32
                 " and md.max_connections = %" PRIu32 ")",
                 s->cfg.engine.max_instruments, s->cfg.md_max_connections);
        return -1;
    }
    if (load_instruments(m)) {
        snprintf(why, n, "market data: cannot take the engine's instruments");
        return -1;
    }
    if (xt_mds_rest_init(m)) {
        snprintf(why, n, "market data: out of memory for rest.replay_cache, or rest.fills x rest.fill_accounts");
        return -1;
    }
    if (xt_md_history_open(s, &m->hist, why, n))
        return -1;
    /* The market's time goes on from the latest this data shows (clock.h):
     * the journal's latest record (xt_server_open), the history's
     * candles and market data's state. */
    xt_market_floor(xt_md_history_newest(m->hist));
    xt_mds_state_load(m); /* after the history, so what the replay and the first advance close reaches it */
    refs_in_force(m);
    xt_market_floor(xt_md_time(&m->md));
    if (xt_server_clock_check(s, why, n)) /* with what market data showed too */
        return -1;
    m->now = xt_market_ns();
    clock_check(m);
    load_books(m);
    /* The intervals the server was down for close now, not at the thread's
     * first tick: so the history's writer has them before market data
     * serves (xt_md_history_live), more than the few GET /api/v1/klines
     * keeps in memory when the downtime was long. */
    m->now = xt_market_ns(); /* not before load_books' time: an advance to an earlier one is ignored */
    m->horizon = m->now;
    xt_md_advance(&m->md, m->now);
    xt_mds_flush_trades(m); /* the replay's last ones: nobody subscribes yet, none is sent later */
    /* An instrument this start made no update of (no level, no trade, no
     * candle closed: a restart within the minute) is as of the start: its
     * snapshots' time stays, and no later ticker goes back from it. */
    for (uint32_t i = 0; i < m->n_inst; i++)
        if (m->pub[i].last_ts == 0)
            m->pub[i].last_ts = m->now;
    if (listen_md(m, why, n))
        return -1;
    m->ep = epoll_create1(EPOLL_CLOEXEC);
    m->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->ep < 0 || m->stop_efd < 0 || xt_fd_spare_open(&m->spare, m->ep) != 0) {
        snprintf(why, n, "market data: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {EPOLLIN, {.u64 = EV_LISTEN}};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev);
    ev.data.u64 = EV_FEED;
    epoll_ctl(m->ep, EPOLL_CTL_ADD, s->md_feed.efd, &ev);
    ev.data.u64 = EV_STOP;
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->stop_efd, &ev);
    if (xt_mds_bin_open(m, why, n))
        return -1;
    /* Last, as it removes the clean stop's file (rest_signed.h). A data
     * directory with a journal had an earlier run (one that wrote no
     * segment served no request: it never got ready). */
    if (xt_rest_signed_load(s->cfg.data_dir, s->journal.recovery.have_wal, xt_now_ns() / 1000000,
                            s->cfg.rest_recv_window_ms, &m->replay, why, n))
        return -1;
    s->md_feed.on = 1;
    return 0;
}

int xt_md_server_start(xt_server_t *s)
{
    if (pthread_create(&s->md_thread, NULL, md_main, s->mds) != 0)
        return -1;
    s->md_started = 1;
    return 0;
}

void xt_md_server_stop(xt_server_t *s)
{
    if (!s->md_started)
        return;
    uint64_t one = 1;
    ssize_t w = write(s->mds->stop_efd, &one, sizeof one);
    (void)w;
    pthread_join(s->md_thread, NULL);
    s->md_started = 0;
    /* Its ports are closed now, not after the final snapshot (xtrading
     * stop, then xt_md_server_close): a probe of /readyz or a new client
     * is refused at once instead of waiting for an answer nobody sends. */
    if (s->mds->lfd >= 0)
        close(s->mds->lfd);
    s->mds->lfd = -1;
    if (s->mds->bin_lfd >= 0)
        close(s->mds->bin_lfd);
    s->mds->bin_lfd = -1;
    xt_rest_signed_save(s->cfg.data_dir, &s->mds->replay); /* no signature is checked any more */
    xt_mds_state_save(s->mds); /* the engine stopped first: md has everything it published */
}

void xt_md_server_close(xt_server_t *s)
{
    mds_t *m = s->mds;
    if (!m)
        return;
    xt_md_history_close(m->hist); /* the thread has stopped: what it handed over is written */
    xt_mds_state_close(m);
    xt_md_destroy(&m->md);
    xt_mds_bin_close(m);
    if (m->lfd >= 0)
        close(m->lfd);
    if (m->ep >= 0)
        close(m->ep);
    if (m->stop_efd >= 0)
        close(m->stop_efd);
    xt_fd_spare_close(&m->spare);
    xt_ws_pool_destroy(m->wsp);
    free(m->ch_head);
    free(m->chs);
    for (int th = 0; th < XT_TH_COUNT; th++)
        free(m->pending[th]);
    free(m->pub);
    xt_pages_free(m->conns);
    xt_pages_free(m->subs);
    xt_pages_free(m->qnodes);
    xt_pages_free(m->msgs);
    for (int k = 0; k < MSG_CLASSES; k++)
        xt_pages_free(m->msg_mem[k]);
    free(m->scratch);
    free(m->lv_b);
    free(m->lv_a);
    free(m->tape);
    free(m->http_body);
    free(m->http_out);
    xt_mds_oe_destroy(m);
    xt_mds_rest_destroy(m);
    xt__gw_counts_destroy(&m->ip_conns);
    free(m);
    s->mds = NULL;
}
