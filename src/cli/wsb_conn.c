/* wsb_conn.c - one market-data client connection of `xtrading wsbench`
 * (wsbench.h): non-blocking connect, the HTTP upgrade, RFC 6455 frames,
 * the subscribe exchange, and the timing of every data message.
 *
 * Server -> client frames are parsed here by hand rather than with wslay's
 * frame layer (which src/net/ws.c uses for the server side): a wslay frame
 * context holds a 4 KiB input buffer of its own and pulls bytes through a
 * recv callback, so 100,000 connections would cost 400 MB and a copy of
 * every byte, while the server's frames are unmasked and the header is a
 * few bytes. Here every connection reads into one shared buffer and keeps
 * only a 14-byte header, a payload count and the first WSB_PREFIX bytes of
 * each message (which carry "ch", "ts" and "type"). Client frames are
 * masked, as RFC 6455 requires, with keys from a xorshift generator (good
 * enough for a load tool; a browser must use a strong source).
 *
 * Messages: {"ch":"NAME","ts":NS[,"type":"snapshot"]...} is data, timed as
 * CLOCK_REALTIME at the read minus ts; {"id":N,...} answers a subscribe
 * (an "error" member: refused). --nats: the WebSocket payloads are the
 * NATS text protocol as one stream (INFO, MSG, PING, PONG, +OK, -ERR); the
 * subscription is CONNECT + SUB per channel + PING, and its PONG is the
 * acknowledgement; the MSG payloads are the same JSON data messages. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): memmem */
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/ws.h"
#include "wsbench.h"
#include "xt/error.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define REPORT_MAX 5 /* examples printed per kind of error */

enum { OP_CONT = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xA };
enum { NS_LINE, NS_PAYLOAD, NS_CRLF };

int64_t wsb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t wsb_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rnd(wsb_t *b)
{
    b->rng ^= b->rng >> 12; /* xorshift64* */
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t conn_index(const wsb_t *b, const wsb_conn_t *c)
{
    return (uint32_t)(c - b->c);
}

static int connecting(const wsb_conn_t *c)
{
    return c->state == CS_CONNECTING || c->state == CS_HTTP || c->state == CS_SUBSCRIBING;
}

static void set_events(wsb_t *b, wsb_conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events | (c->pend_len ? EPOLLOUT : 0), .data.u32 = conn_index(b, c)};
    epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static uint32_t base_events(const wsb_conn_t *c)
{
    return c->state == CS_STALLED ? EPOLLRDHUP : c->state == CS_CONNECTING ? EPOLLOUT : EPOLLIN;
}

void wsb_conn_close(wsb_t *b, wsb_conn_t *c, uint64_t *counter)
{
    if (c->fd < 0)
        return;
    if (connecting(c)) {
        b->inflight--;
        b->failed++;
    } else if (c->state == CS_LIVE) {
        b->live--;
    }
    if (counter)
        (*counter)++;
    close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->state = CS_DONE;
    free(c->pend);
    c->pend = NULL;
    c->pend_len = c->pend_off = 0;
}

/* The server ended the connection: a close frame (cls from its code) or
 * EOF / reset (CL_EOF). */
static void ended_by_server(wsb_t *b, wsb_conn_t *c, int cls)
{
    uint64_t *counter = &b->st.handshake_failed;
    if (c->state == CS_LIVE) {
        b->st.closes[cls]++;
        counter = &b->st.lost;
        if (b->st.lost < REPORT_MAX)
            fprintf(stderr, "xtrading wsbench: connection %u closed by the server (%s)\n", conn_index(b, c),
                    cls == CL_EOF ? "no close frame" : "close frame");
    } else if (c->state == CS_STALLED || c->state == CS_DRAIN) {
        b->st.stalled_closes[cls]++;
        counter = &b->st.stalled_closed;
    } else if (b->failed < REPORT_MAX) {
        fprintf(stderr, "xtrading wsbench: connection %u: closed by the server while connecting\n", conn_index(b, c));
    }
    wsb_conn_close(b, c, counter);
}

static int flush_pend(wsb_t *b, wsb_conn_t *c)
{
    while (c->pend_off < c->pend_len) {
        ssize_t w = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (w < 0) {
            ended_by_server(b, c, CL_EOF);
            return -1;
        }
        c->pend_off += (uint32_t)w;
    }
    free(c->pend);
    c->pend = NULL;
    c->pend_len = c->pend_off = 0;
    set_events(b, c, base_events(c));
    return 0;
}

/* Sends n bytes; what the socket does not take now waits in c->pend
 * (allocated only then: a full socket buffer on a connection that
 * sends a few control frames is rare). Returns 0, or -1 when closed. */
static int conn_send(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n)
{
    if (c->pend_len == 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            ended_by_server(b, c, CL_EOF);
            return -1;
        }
        w = w < 0 ? 0 : w;
        p += w;
        n -= (size_t)w;
        if (n == 0)
            return 0;
    }
    uint8_t *q = realloc(c->pend, c->pend_len + n);
    if (!q) {
        wsb_conn_close(b, c, &b->st.protocol_errors);
        return -1;
    }
    memcpy(q + c->pend_len, p, n);
    c->pend = q;
    c->pend_len += (uint32_t)n;
    set_events(b, c, base_events(c));
    return 0;
}

/* A masked client frame (RFC 6455 §5.2) with one FIN fragment. */
static size_t ws_frame(wsb_t *b, uint8_t *out, int opcode, const void *payload, size_t len)
{
    size_t h = xt_ws_frame_header(out, opcode, len); /* the server's header, then the mask bit and key */
    out[1] |= 0x80;
    uint64_t key = rnd(b);
    uint8_t *mask = out + h;
    memcpy(mask, &key, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t k = 0; k < len; k++)
        out[h + k] = p[k] ^ mask[k & 3];
    return h + len;
}

static int send_frame(wsb_t *b, wsb_conn_t *c, int opcode, const void *payload, size_t len)
{
    uint8_t *out = (uint8_t *)b->scratch + 8192;
    return conn_send(b, c, out, ws_frame(b, out, opcode, payload, len));
}

/* ---- the subscription ---- */

/* xtrading: {"op":"subscribe","id":N,"args":[...]} per WSB_SUB_CHUNK channels. */
static int send_subscribe(wsb_t *b, wsb_conn_t *c)
{
    uint32_t i = conn_index(b, c), k = b->o.per_conn;
    c->acks_due = 0;
    for (uint32_t j0 = 0; j0 < k; j0 += WSB_SUB_CHUNK) {
        char *s = b->scratch;
        size_t n = (size_t)sprintf(s, "{\"op\":\"subscribe\",\"id\":%u,\"args\":[", (unsigned)(j0 / WSB_SUB_CHUNK + 1));
        for (uint32_t j = j0; j < k && j < j0 + WSB_SUB_CHUNK; j++)
            n += (size_t)sprintf(s + n, "%s\"%s\"", j > j0 ? "," : "", b->ch[wsb_channel_of(b, i, j)]);
        n += (size_t)sprintf(s + n, "]}");
        c->acks_due++;
        if (send_frame(b, c, OP_TEXT, s, n) < 0)
            return -1;
    }
    return 0;
}

/* NATS: CONNECT, SUB <channel> <sid> each, PING (its PONG: all subscribed). */
static int send_nats_subscribe(wsb_t *b, wsb_conn_t *c)
{
    uint32_t i = conn_index(b, c);
    char *s = b->scratch;
    size_t n = (size_t)sprintf(s, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n");
    for (uint32_t j = 0; j < b->o.per_conn; j++)
        n += (size_t)sprintf(s + n, "SUB %s %u\r\n", b->ch[wsb_channel_of(b, i, j)], (unsigned)j + 1);
    n += (size_t)sprintf(s + n, "PING\r\n");
    c->acks_due = 1;
    return send_frame(b, c, OP_BINARY, s, n);
}

static void subscribed(wsb_t *b, wsb_conn_t *c)
{
    b->inflight--;
    b->subscribed++;
    if (c->stalled) {
        c->state = CS_STALLED; /* stops reading: only a close is noticed */
        b->st.stalled++;
        set_events(b, c, base_events(c));
    } else {
        c->state = CS_LIVE;
        b->live++;
    }
}

/* ---- data messages ---- */

/* Does connection i subscribe to channel u? (its channels are a run of
 * per_conn consecutive ones, wrapping, starting at i * per_conn) */
static int owns(const wsb_t *b, uint32_t i, uint32_t u)
{
    uint32_t first = (uint32_t)((uint64_t)i * b->o.per_conn % b->n_ch);
    return (u + b->n_ch - first) % b->n_ch < b->o.per_conn;
}

static void report_bad(wsb_t *b, uint64_t *counter, const char *what, const uint8_t *p, size_t n)
{
    if ((*counter)++ < REPORT_MAX)
        fprintf(stderr, "xtrading wsbench: %s: %.*s\n", what, (int)(n > 120 ? 120 : n), (const char *)p);
    (void)b;
}

/* A data message {"ch":...}: p[0..n) is its start. */
static void on_data(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n, int64_t rx_ns)
{
    const uint8_t *end = p + n, *name = p + 7, *q = NULL;
    if (n >= 7 && memcmp(p, "{\"ch\":\"", 7) == 0)
        q = memchr(name, '"', (size_t)(end - name));
    if (!q || end - q < 8 || memcmp(q, "\",\"ts\":", 7) != 0 || q[7] < '0' || q[7] > '9') {
        report_bad(b, &b->st.bad_messages, "a data message without ch and ts", p, n);
        return;
    }
    size_t name_len = (size_t)(q - name);
    int64_t ts = 0;
    for (q += 7; q < end && *q >= '0' && *q <= '9' && ts < INT64_MAX / 10 - 9; q++)
        ts = ts * 10 + (*q - '0');
    /* a throttled channel (name@100ms) sends its conflated state as a
     * snapshot each time, stamped with the newest event in it: timed like
     * an update */
    int snapshot = end - q >= 18 && memcmp(q, ",\"type\":\"snapshot\"", 18) == 0 && !memchr(name, '@', name_len);
    b->st.all_snapshots += snapshot;
    if (c->state != CS_LIVE || !b->counting) {
        b->st.warm_messages++;
        return;
    }
    uint32_t u = wsb_channel_find(b, (const char *)name, name_len);
    if (u == WSB_NIL || !owns(b, conn_index(b, c), u))
        report_bad(b, &b->st.wrong_channel, "a message on a channel not subscribed", p, n);
    b->st.messages++;
    if (snapshot) {
        b->st.snapshots++;
        return;
    }
    b->st.updates++;
    int64_t lat = rx_ns - ts;
    if (lat < 0)
        b->st.negative_latency++;
    xt_hist_add(&b->st.hist, lat > 0 ? (uint64_t)lat / 1000 : 0);
}

/* A complete message (or its first fragment). Returns -1 when closed. */
static int on_message(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n, int64_t rx_ns)
{
    if (n >= 7 && memcmp(p, "{\"ch\":\"", 7) == 0) {
        on_data(b, c, p, n, rx_ns);
        return 0;
    }
    if (n >= 6 && memcmp(p, "{\"id\":", 6) == 0 && c->state == CS_SUBSCRIBING) {
        if (memmem(p, n, "\"error\"", 7)) {
            if (b->st.subscribe_errors < REPORT_MAX)
                fprintf(stderr, "xtrading wsbench: subscribe refused: %.*s\n", (int)n, (const char *)p);
            wsb_conn_close(b, c, &b->st.subscribe_errors);
            return -1;
        }
        if (--c->acks_due == 0)
            subscribed(b, c);
        return 0;
    }
    b->st.other_replies++;
    return 0;
}

/* ---- NATS over WebSocket ---- */

static int nats_line(wsb_t *b, wsb_conn_t *c, wsb_nats_t *t)
{
    char *l = t->line;
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r')
        l[--n] = '\0';
    if (strncmp(l, "MSG ", 4) == 0) {
        const char *last = strrchr(l, ' ');
        t->payload_left = (uint32_t)strtoul(last + 1, NULL, 10);
        t->pre_len = 0;
        t->st = t->payload_left ? NS_PAYLOAD : NS_CRLF;
        t->crlf_left = 2;
        if (c->state == CS_LIVE && b->counting)
            b->st.bytes += t->payload_left;
        return 0;
    }
    if (strcmp(l, "PING") == 0)
        return send_frame(b, c, OP_BINARY, "PONG\r\n", 6);
    if (strcmp(l, "PONG") == 0 && c->state == CS_SUBSCRIBING && c->acks_due && --c->acks_due == 0)
        subscribed(b, c);
    if (strncmp(l, "-ERR", 4) == 0) {
        if (c->state == CS_SUBSCRIBING) {
            if (b->st.subscribe_errors < REPORT_MAX)
                fprintf(stderr, "xtrading wsbench: nats: %s\n", l);
            wsb_conn_close(b, c, &b->st.subscribe_errors);
            return -1;
        }
        report_bad(b, &b->st.protocol_errors, "nats", (const uint8_t *)l, n);
    }
    return 0;
}

/* The NATS byte stream carried by the data frames. Returns -1 when closed. */
static int nats_feed(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n, int64_t rx_ns)
{
    wsb_nats_t *t = c->nt;
    const uint8_t *end = p + n;
    while (p < end && c->fd >= 0) {
        size_t avail = (size_t)(end - p);
        if (t->st == NS_LINE) {
            const uint8_t *nl = memchr(p, '\n', avail);
            size_t take = nl ? (size_t)(nl - p) + 1 : avail;
            size_t keep = WSB_NATS_LINE - 1 - t->line_len;
            keep = take < keep ? take : keep;
            memcpy(t->line + t->line_len, p, keep);
            t->line_len = (uint16_t)(t->line_len + keep);
            p += take;
            if (nl) {
                t->line[t->line_len - (t->line[t->line_len - 1] == '\n')] = '\0';
                t->line_len = 0;
                if (nats_line(b, c, t) < 0)
                    return -1;
            }
        } else if (t->st == NS_PAYLOAD) {
            size_t take = avail < t->payload_left ? avail : t->payload_left;
            size_t keep = WSB_PREFIX - t->pre_len;
            keep = take < keep ? take : keep;
            memcpy(t->pre + t->pre_len, p, keep);
            t->pre_len = (uint16_t)(t->pre_len + keep);
            p += take;
            t->payload_left -= (uint32_t)take;
            if (t->payload_left == 0) {
                t->st = NS_CRLF;
                t->crlf_left = 2;
                on_data(b, c, t->pre, t->pre_len, rx_ns);
            }
        } else {
            size_t take = avail < t->crlf_left ? avail : t->crlf_left;
            p += take;
            t->crlf_left = (uint8_t)(t->crlf_left - take);
            if (t->crlf_left == 0)
                t->st = NS_LINE;
        }
    }
    return c->fd >= 0 ? 0 : -1;
}

/* ---- frames ---- */

static int close_class(const uint8_t *p, size_t n)
{
    unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
    switch (code) {
    case 1000: return CL_1000;
    case 1001: return CL_1001;
    case 1008: return n >= 9 && memcmp(p + 2, "no pong", 7) == 0 ? CL_NO_PONG : CL_1008;
    case 1011: return CL_1011;
    default: return CL_OTHER;
    }
}

static int protocol_error(wsb_t *b, wsb_conn_t *c, const char *what)
{
    if (b->st.protocol_errors < REPORT_MAX)
        fprintf(stderr, "xtrading wsbench: connection %u: %s\n", conn_index(b, c), what);
    wsb_conn_close(b, c, &b->st.protocol_errors);
    return -1;
}

/* The end of a frame's payload. Returns -1 when the connection closed. */
static int frame_end(wsb_t *b, wsb_conn_t *c, int64_t rx_ns)
{
    c->in_frame = 0;
    switch (c->opcode) {
    case OP_PING: return send_frame(b, c, OP_PONG, c->pre, c->pre_len);
    case OP_PONG: return 0;
    case OP_CLOSE:
        if (c->state == CS_LIVE && b->st.lost < REPORT_MAX && c->pre_len >= 2)
            fprintf(stderr, "xtrading wsbench: close frame %u '%.*s'\n", (unsigned)c->pre[0] << 8 | c->pre[1],
                    (int)(c->pre_len - 2), (const char *)c->pre + 2);
        ended_by_server(b, c, close_class(c->pre, c->pre_len));
        return -1;
    case OP_CONT: c->in_frag = !c->fin; return 0;
    default: /* the first (or only) frame of a message: its start is all we need */
        c->in_frag = !c->fin;
        return c->nt ? 0 : on_message(b, c, c->pre, c->pre_len, rx_ns);
    }
}

/* A complete frame header in c->hdr. Returns -1 when the connection closed. */
static int frame_begin(wsb_t *b, wsb_conn_t *c, int64_t rx_ns)
{
    const uint8_t *h = c->hdr;
    uint64_t len = xt_ws_header_payload_len(h);
    c->opcode = h[0] & 0x0f;
    c->fin = h[0] >> 7;
    c->hdr_len = 0;
    if (h[0] & 0x70)
        return protocol_error(b, c, "RSV bits set (no extension was negotiated)");
    if (h[1] & 0x80)
        return protocol_error(b, c, "a masked frame from the server");
    if (c->opcode >= OP_CLOSE ? c->opcode > OP_PONG || !c->fin || len > 125
                              : c->opcode > OP_BINARY || (c->opcode == OP_CONT) != (c->in_frag != 0))
        return protocol_error(b, c, "a bad frame (opcode, fragmentation or control length)");
    c->capture = c->opcode != OP_CONT;
    c->pre_len = 0;
    c->remaining = len;
    c->in_frame = 1;
    if (c->opcode < OP_CLOSE && !c->nt && c->state == CS_LIVE && b->counting)
        b->st.bytes += len;
    return len == 0 ? frame_end(b, c, rx_ns) : 0;
}

/* Frames from the server. Returns -1 when the connection closed. */
static int feed_frames(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n, int64_t rx_ns)
{
    const uint8_t *end = p + n;
    while (p < end) {
        if (!c->in_frame) {
            size_t need = xt_ws_header_size(c->hdr, c->hdr_len);
            while (c->hdr_len < need && p < end) {
                c->hdr[c->hdr_len++] = *p++;
                need = xt_ws_header_size(c->hdr, c->hdr_len);
            }
            if (c->hdr_len == need && frame_begin(b, c, rx_ns) < 0)
                return -1;
            continue;
        }
        size_t take = (uint64_t)(end - p) < c->remaining ? (size_t)(end - p) : (size_t)c->remaining;
        if (c->nt && c->opcode < OP_CLOSE) {
            if (nats_feed(b, c, p, take, rx_ns) < 0)
                return -1;
        } else if (c->capture && c->pre_len < WSB_PREFIX) {
            size_t keep = (size_t)(WSB_PREFIX - c->pre_len);
            keep = keep < take ? keep : take;
            memcpy(c->pre + c->pre_len, p, keep);
            c->pre_len = (uint16_t)(c->pre_len + keep);
        }
        p += take;
        c->remaining -= take;
        if (c->remaining == 0 && frame_end(b, c, rx_ns) < 0)
            return -1;
    }
    return 0;
}

/* ---- the handshake ---- */

/* The response head (kept: its first WSB_PREFIX bytes). Returns the bytes
 * of p it used, or -1 when the connection closed. */
static long http_head(wsb_t *b, wsb_conn_t *c, const uint8_t *p, size_t n)
{
    static const char crlf2[] = "\r\n\r\n";
    size_t k = 0;
    while (k < n && c->http_match < 4) {
        uint8_t ch = p[k++];
        if (c->pre_len < WSB_PREFIX)
            c->pre[c->pre_len++] = ch;
        c->http_match = ch == (uint8_t)crlf2[c->http_match] ? c->http_match + 1 : ch == '\r';
    }
    if (c->http_match < 4)
        return (long)k;
    if (c->pre_len < 12 || memcmp(c->pre, "HTTP/1.", 7) != 0 || memcmp(c->pre + 9, "101", 3) != 0) {
        const uint8_t *eol = memchr(c->pre, '\r', c->pre_len);
        if (b->st.handshake_failed < REPORT_MAX)
            fprintf(stderr, "xtrading wsbench: connection %u: upgrade refused: %.*s\n", conn_index(b, c),
                    (int)(eol ? eol - c->pre : c->pre_len), (const char *)c->pre);
        wsb_conn_close(b, c, &b->st.handshake_failed);
        return -1;
    }
    c->pre_len = 0;
    c->state = CS_SUBSCRIBING;
    if ((c->nt ? send_nats_subscribe(b, c) : send_subscribe(b, c)) < 0)
        return -1;
    return (long)k;
}

static int send_handshake(wsb_t *b, wsb_conn_t *c)
{
    uint8_t raw[16];
    unsigned char key[32];
    uint64_t r0 = rnd(b), r1 = rnd(b);
    memcpy(raw, &r0, 8);
    memcpy(raw + 8, &r1, 8);
    EVP_EncodeBlock(key, raw, 16);
    int n = snprintf(b->scratch, 8192,
                     "GET / HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     b->o.host, (unsigned)b->o.port, (const char *)key);
    c->state = CS_HTTP;
    c->http_match = 0;
    c->pre_len = 0;
    return conn_send(b, c, (const uint8_t *)b->scratch, (size_t)n);
}

/* ---- the socket ---- */

int wsb_conn_start(wsb_t *b, uint32_t i)
{
    wsb_conn_t *c = &b->c[i];
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->stalled && b->o.stall_rcvbuf) {
        int sz = (int)b->o.stall_rcvbuf; /* a small window: the stall reaches the server sooner */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    if (b->n_sources) {
        /* connect() picks the port, so the 4-tuple must be unique, not the
         * source port alone: many more connections per source address */
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002u + i % b->n_sources)};
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
            goto fail;
    }
    if (connect(fd, (struct sockaddr *)&b->dst, sizeof b->dst) < 0 && errno != EINPROGRESS)
        goto fail;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = i};
    if (epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        goto fail;
    c->fd = fd;
    c->state = CS_CONNECTING;
    c->t_start = wsb_mono_ns();
    b->inflight++;
    return 0;
fail:;
    int e = -errno;
    close(fd);
    c->state = CS_DONE;
    return e;
}

static void on_connected(wsb_t *b, wsb_conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        if (b->st.connect_failed < REPORT_MAX)
            fprintf(stderr, "xtrading wsbench: connection %u: connect: %s\n", conn_index(b, c), xt_strerror(-err));
        wsb_conn_close(b, c, &b->st.connect_failed);
        return;
    }
    if (send_handshake(b, c) == 0)
        set_events(b, c, base_events(c));
}

/* Reads what the socket has (at most two buffers' worth: fairness). */
static void read_conn(wsb_t *b, wsb_conn_t *c)
{
    for (int k = 0; k < 2 && c->fd >= 0 && c->state != CS_STALLED; k++) {
        ssize_t r = read(c->fd, b->rbuf, WSB_RBUF);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0) {
            ended_by_server(b, c, CL_EOF);
            return;
        }
        int64_t rx_ns = wsb_real_ns();
        const uint8_t *p = b->rbuf;
        size_t n = (size_t)r;
        if (c->state == CS_HTTP) {
            long used = http_head(b, c, p, n);
            if (used < 0)
                return;
            p += used;
            n -= (size_t)used;
        }
        if (feed_frames(b, c, p, n, rx_ns) < 0 || (size_t)r < WSB_RBUF)
            return;
    }
}

void wsb_conn_event(wsb_t *b, uint32_t i, uint32_t events)
{
    wsb_conn_t *c = &b->c[i];
    if (c->fd < 0)
        return;
    if (c->state == CS_CONNECTING) {
        on_connected(b, c);
        return;
    }
    if (c->state == CS_STALLED && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        wsb_conn_resume(b, c); /* the server ended it: read on to the close frame */
        events |= EPOLLIN;
    }
    if ((events & EPOLLOUT) && c->pend_len && flush_pend(b, c) < 0)
        return;
    if (c->state != CS_STALLED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
        read_conn(b, c);
}

void wsb_conn_resume(wsb_t *b, wsb_conn_t *c)
{
    if (c->fd < 0 || c->state != CS_STALLED)
        return;
    c->state = CS_DRAIN;
    set_events(b, c, base_events(c));
}
