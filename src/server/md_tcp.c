/* md_tcp.c - binary market data over TCP (docs/md-binary.md) on the
 * market-data thread: the md.tcp_listen listener, the greeting (MD_HELLO
 * and the INSTRUMENT list), reading and answering requests (SUBSCRIBE,
 * UNSUBSCRIBE, SNAPSHOT, HEARTBEAT), heartbeats and ERROR-then-close.
 *
 * Binary connections are slots of the same connection table as the
 * WebSocket ones (state C_BIN, flag `bin`), under the same
 * md.max_connections, with the same output queues, message pool,
 * subscriptions, owed snapshots and slow-consumer handling (md_conn.c,
 * md_publish.c); their channels are the XT_CH_BIN_* kinds. Public market
 * data: no login. Frames are parsed by md_cmd_bin.c and built by
 * md_encode_bin.c; what goes out is raw frames (no WebSocket header). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): MSG_NOSIGNAL and friends */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/le.h"
#include "md_bin.h"
#include "md_internal.h"

/* ---- messages ---------------------------------------------------------------- */

uint32_t xt_mds_msg_raw(mds_t *m, const void *frames, size_t len)
{
    uint32_t i = xt_mds_msg_alloc(m, len);
    if (i == NIL) {
        m->drops++;
        return NIL;
    }
    memcpy(m->msgs[i].data, frames, len);
    m->msgs[i].len = (uint32_t)len;
    return i;
}

int xt_mds_reply_raw(mds_t *m, uint32_t c, const void *frames, size_t len)
{
    uint32_t i = xt_mds_msg_raw(m, frames, len);
    if (i == NIL)
        return XT_MDS_NO_POOL;
    int rc = xt_mds_enqueue(m, c, i);
    xt_mds_msg_drop_if_unused(m, i);
    return rc;
}

static size_t error_frame(uint8_t f[XT_WIRE_MAX], int code, const char *text)
{
    xt_msg_error_t e = {.code = (uint16_t)code};
    snprintf(e.text, sizeof e.text, "%s", text);
    return xt_wire_put_error(f, 0, &e);
}

/* ---- the listener and the greeting ------------------------------------------------ */

/* INSTRUMENT frames per message of the medium class. */
static size_t list_per(const mds_t *m)
{
    return (m->msg_bytes[MSG_MEDIUM] - XT_WS_HEADER_MAX) / XT_LEN_INSTRUMENT;
}

/* The INSTRUMENT frames of order entry as market data last read them
 * (pub[].frame), in messages of the medium class, each with the status
 * market data has told (pub[].halted), held for every greeting to queue. Made again at a halt, a
 * resume or a band move (xt_mds_bin_list_refresh) into the second array made at start,
 * then the two swap: a greeting queued before keeps its copies. Returns 0,
 * or -1 with the old list kept (the pool was empty; no client's drop to
 * count, so not xt_mds_msg_raw). */
static int make_list(mds_t *m)
{
    size_t per = list_per(m);
    uint32_t *list = m->bin_list_next, made = 0;
    for (size_t first = 0; first < m->n_inst; first += per) {
        size_t k = m->n_inst - first < per ? m->n_inst - first : per;
        uint32_t g = xt_mds_msg_alloc(m, k * XT_LEN_INSTRUMENT);
        if (g == NIL) {
            while (made > 0)
                xt_mds_msg_unref(m, list[--made]);
            return -1;
        }
        uint8_t *d = m->msgs[g].data;
        for (size_t i = 0; i < k; i++)
            xt_mds_bin_instrument(m, (uint32_t)(first + i), d + i * XT_LEN_INSTRUMENT);
        m->msgs[g].len = (uint32_t)(k * XT_LEN_INSTRUMENT);
        m->msgs[g].refs = 1;
        list[made++] = g;
    }
    for (uint32_t i = 0; i < m->n_bin_list; i++)
        xt_mds_msg_unref(m, m->bin_list[i]);
    m->bin_list_next = m->bin_list;
    m->bin_list = list;
    m->n_bin_list = made;
    m->bin_list_gen = m->bands_gen;
    return 0;
}

size_t xt_mds_bin_instrument(mds_t *m, uint32_t slot, uint8_t *out)
{
    memcpy(out, m->pub[slot].frame, XT_LEN_INSTRUMENT);
    xt_wire_set_instrument_status(out, m->pub[slot].halted);
    return XT_LEN_INSTRUMENT;
}

void xt_mds_bin_list_refresh(mds_t *m)
{
    if (m->bin_lfd >= 0)
        m->bin_list_stale = make_list(m) != 0; /* tried again at the next tick */
}

int xt_mds_bin_open(mds_t *m, char *why, size_t n)
{
    const xt_server_config_t *cfg = &m->s->cfg;
    if (!cfg->md_tcp_on)
        return 0;
    if (xt_mds_listen("md.tcp_listen", cfg->md_tcp_host, cfg->md_tcp_port, &m->s->md_tcp_lfd, &m->bin_lfd, why, n))
        return -1;
    struct epoll_event ev = {EPOLLIN, {.u64 = EV_LISTEN_BIN}};
    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->bin_lfd, &ev);
    size_t chunks = (m->n_inst + list_per(m) - 1) / list_per(m) + 1; /* (+1: none is 0 bytes) */
    m->bin_list = calloc(chunks, sizeof *m->bin_list);
    m->bin_list_next = calloc(chunks, sizeof *m->bin_list_next);
    if (!m->bin_list || !m->bin_list_next || make_list(m)) {
        snprintf(why, n, "market data: out of memory");
        return -1;
    }
    return 0;
}

void xt_mds_bin_close(mds_t *m)
{
    if (m->bin_lfd >= 0)
        close(m->bin_lfd);
    m->bin_lfd = -1;
    free(m->bin_list);
    free(m->bin_list_next);
    m->bin_list = m->bin_list_next = NULL;
}

void xt_mds_bin_refuse(mds_t *m, int fd, const char *why)
{
    uint8_t f[XT_WIRE_MAX];
    size_t n = error_frame(f, XT_ERR_TOO_MANY_CONNECTIONS, why);
    ssize_t w = send(fd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    (void)m;
    close(fd);
}

void xt_mds_bin_greet(mds_t *m, uint32_t c)
{
    const xt_server_config_t *cfg = &m->s->cfg;
    mconn_t *k = &m->conns[c];
    k->last_in = k->last_out = m->mono;
    if (c >= m->bin_hi)
        m->bin_hi = c + 1;
    uint8_t f[XT_MDB_LEN_HELLO];
    xt_mdb_hello_t h = {cfg->md_tcp_heartbeat_ms, m->n_inst, cfg->md_max_subscriptions, cfg->md_messages_per_s,
                        xt_now_ns()};
    int rc = xt_mds_reply_raw(m, c, f, xt_mdb_enc_hello(f, &h));
    for (uint32_t i = 0; i < m->n_bin_list && rc == 0; i++)
        rc = xt_mds_enqueue(m, c, m->bin_list[i]);
    if (rc != 0)
        xt_mds_close_with(m, c, XT_ERR_TOO_MANY_CONNECTIONS, "server busy: no buffer for the greeting");
}

/* ---- requests ---------------------------------------------------------------------- */

/* 0, or -1 when c is closing (xt_mds_answer_raw). */
static int answer(mds_t *m, uint32_t c, uint8_t type, const xt_mdb_request_t *r)
{
    uint8_t f[XT_MDB_LEN_ACK];
    return xt_mds_answer_raw(m, c, f, xt_mdb_enc_ack(f, type, r));
}

static int reject(mds_t *m, uint32_t c, uint8_t type, const xt_mdb_request_t *r, uint16_t reason, const char *text)
{
    uint8_t f[XT_MDB_LEN_REJECT];
    xt_mds_answer_raw(m, c, f, xt_mdb_enc_reject(f, type, r, reason, text));
    return -1;
}

/* The channels a request names, or -1 after a REJECT. */
static int resolve(mds_t *m, uint32_t c, uint8_t type, const xt_mdb_request_t *r, uint32_t chs[XT_MDB_CHANNELS_MAX])
{
    static const struct {
        uint8_t bit;
        int kind;
    } other[] = {{XT_MDB_CH_TRADES, XT_CH_BIN_TRADES},
                 {XT_MDB_CH_TICKER, XT_CH_BIN_TICKER},
                 {XT_MDB_CH_BBO, XT_CH_BIN_BBO},
                 {XT_MDB_CH_INSTRUMENT, XT_CH_BIN_INSTRUMENT}};
    _Static_assert(1 + sizeof other / sizeof other[0] == XT_MDB_CHANNELS_MAX, "depth and the others: chs[] holds all");
    int depth = r->depth == 0    ? XT_CH_BIN_DEPTH
                : r->depth == 5  ? XT_CH_BIN_DEPTH5
                : r->depth == 10 ? XT_CH_BIN_DEPTH10
                : r->depth == 20 ? XT_CH_BIN_DEPTH20
                                 : -1;
    if (r->instrument >= m->n_inst)
        return reject(m, c, type, r, XT_MDB_R_UNKNOWN_INSTRUMENT, "unknown instrument id");
    if (r->channels == 0 || (r->channels & ~XT_MDB_CH_ALL))
        return reject(m, c, type, r, XT_MDB_R_BAD_CHANNELS, "channels must be nonzero, within 0x1F");
    if ((r->channels & XT_MDB_CH_DEPTH) && depth < 0)
        return reject(m, c, type, r, XT_MDB_R_BAD_DEPTH, "depth must be 0 (whole book), 5, 10 or 20");
    int n = 0;
    if (r->channels & XT_MDB_CH_DEPTH)
        chs[n++] = xt_mds_ch(r->instrument, depth, XT_TH_LIVE);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (r->channels & other[i].bit)
            chs[n++] = xt_mds_ch(r->instrument, other[i].kind, XT_TH_LIVE);
    return n;
}

/* All or nothing; then the ACK, then a snapshot of each channel (owed:
 * its updates wait for it). */
static void subscribe(mds_t *m, uint32_t c, const xt_mdb_request_t *r, const uint32_t *chs, int n)
{
    uint32_t fresh = 0, added[XT_MDB_CHANNELS_MAX], na = 0;
    for (int i = 0; i < n; i++)
        fresh += xt_mds_find_sub(m, c, chs[i]) == NIL;
    if (m->conns[c].n_subs + fresh > m->s->cfg.md_max_subscriptions) {
        reject(m, c, XT_MDB_SUBSCRIBE, r, XT_MDB_R_TOO_MANY_SUBSCRIPTIONS, "over md.max_subscriptions");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (xt_mds_find_sub(m, c, chs[i]) != NIL)
            continue;
        if (xt_mds_subscribe(m, c, chs[i]) == NIL) {
            while (na-- > 0)
                xt_mds_unsubscribe(m, c, added[na]);
            reject(m, c, XT_MDB_SUBSCRIBE, r, XT_MDB_R_SERVER_FULL, "the server's subscription table is full");
            return;
        }
        added[na++] = chs[i];
    }
    if (answer(m, c, XT_MDB_SUBSCRIBE, r) != 0)
        return; /* closing: no snapshot is owed */
    for (int i = 0; i < n; i++)
        xt_mds_owe_snapshot(m, xt_mds_find_sub(m, c, chs[i]));
}

/* ACK, then each channel's snapshot: owed when subscribed, sent now when
 * not. A REJECT BUSY instead when those do not fit the queue now (one
 * answer: an ACK and then a REJECT once said two things). */
static void snapshot(mds_t *m, uint32_t c, const xt_mdb_request_t *r, const uint32_t *chs, int n)
{
    if (!xt_mds_snapshots_fit(m, c, chs, (uint32_t)n)) {
        reject(m, c, XT_MDB_SNAPSHOT, r, XT_MDB_R_BUSY, "busy: snapshots over md.output_limit now"); /* (45 at most) */
        return;
    }
    if (answer(m, c, XT_MDB_SNAPSHOT, r) != 0)
        return;
    for (int i = 0; i < n; i++) {
        uint32_t sub = xt_mds_find_sub(m, c, chs[i]);
        if (sub != NIL)
            xt_mds_owe_snapshot(m, sub);
        else if (xt_mds_answered(m, c, xt_mds_send_snapshot(m, c, chs[i], 1)) != 0)
            return; /* no buffer, even after closing the holders: an ERROR, as for an answer */
    }
}

static void on_frame(mds_t *m, uint32_t c, const uint8_t *f, const xt_wire_hdr_t *h)
{
    if (h->type == XT_MSG_HEARTBEAT)
        return; /* it was input: last_in is set */
    xt_mdb_request_t r;
    uint32_t chs[XT_MDB_CHANNELS_MAX];
    xt_mdb_get_request(f, &r);
    if (xt_mds_over_rate(m, c)) {
        reject(m, c, h->type, &r, XT_MDB_R_RATE_LIMIT, "over md.messages_per_s requests this second");
        return;
    }
    int n = resolve(m, c, h->type, &r, chs);
    if (n < 0)
        return;
    if (h->type == XT_MDB_SUBSCRIBE) {
        subscribe(m, c, &r, chs, n);
    } else if (h->type == XT_MDB_UNSUBSCRIBE) {
        for (int i = 0; i < n; i++)
            xt_mds_unsubscribe(m, c, chs[i]);
        answer(m, c, XT_MDB_UNSUBSCRIBE, &r);
    } else {
        snapshot(m, c, &r, chs, n);
    }
}

/* ---- input ------------------------------------------------------------------------- */

static void bad_frame(mds_t *m, uint32_t c, int code, const uint8_t *f)
{
    char text[64];
    if (code == XT_ERR_UNKNOWN_TYPE)
        snprintf(text, sizeof text, "unknown message type 0x%02x", f[2]);
    else if (code == XT_ERR_FRAME_TOO_LARGE)
        snprintf(text, sizeof text, "frame of %u bytes: at most %d here", (unsigned)xt_get16(f), XT_MDB_IN_MAX);
    else
        snprintf(text, sizeof text, "malformed frame: bad length or reserved bytes");
    xt_mds_close_with(m, c, (uint16_t)code, text);
}

/* Frames what arrived: n bytes at p behind the part of a frame kept from
 * the last read (k->in, under XT_MDB_IN_MAX bytes; any longer is refused by
 * xt_mdb_frame before it is whole). The part left at the end is kept in a
 * buffer of the shared pool, held only while there is one, so an idle
 * connection holds none. Returns 0, or -1 once the connection is closing or
 * closed. */
static int feed(mds_t *m, uint32_t c, const uint8_t *p, size_t n)
{
    mconn_t *k = &m->conns[c];
    uint8_t buf[XT_MDB_IN_MAX + 4096];
    assert(k->in_len < XT_MDB_IN_MAX && n <= sizeof buf - XT_MDB_IN_MAX);
    size_t len = k->in_len;
    if (len)
        memcpy(buf, k->in, len);
    memcpy(buf + len, p, n);
    len += n;
    size_t off = 0;
    for (;;) {
        xt_wire_hdr_t h;
        int r = xt_mdb_frame(buf + off, len - off, &h);
        if (r < 0) {
            bad_frame(m, c, -r, buf + off);
            return -1;
        }
        if (r == 0)
            break;
        if (h.flags != 0) { /* as order entry: a client sends 0 */
            xt_mds_close_with(m, c, XT_ERR_MALFORMED, "bad flags: a client sends 0");
            return -1;
        }
        on_frame(m, c, buf + off, &h);
        off += (size_t)r;
        if (k->state != C_BIN)
            return -1;
    }
    k->in_len = (uint32_t)(len - off);
    if (k->in_len == 0) {
        xt_ws_pool_give_buffer(m->wsp, k->in);
        k->in = NULL;
        return 0;
    }
    if (!k->in && !(k->in = xt_ws_pool_take_buffer(m->wsp))) { /* only when memory is short */
        xt_mds_bin_close_with(m, c, XT_ERR_TOO_MANY_CONNECTIONS, "server busy: no read buffer");
        return -1;
    }
    memcpy(k->in, buf + off, k->in_len);
    return 0;
}

void xt_mds_bin_read(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    for (int rounds = 0; rounds < 4 && k->state != C_FREE; rounds++) {
        uint8_t buf[4096]; /* feed() takes at most this much at once */
        ssize_t n = read(k->fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            xt_mds_close(m, c);
            return;
        }
        if (n < 0 || k->state != C_BIN) /* closing: what the client sends is ignored */
            return;
        k->last_in = m->mono;
        m->bytes_in += (uint64_t)n;
        if (feed(m, c, buf, (size_t)n) != 0 || (size_t)n < sizeof buf)
            return;
    }
}

/* ---- heartbeats and closing ---------------------------------------------------------- */

/* A HEARTBEAT to each connection that had nothing queued or written for
 * md.tcp_heartbeat_ms - and whose kernel's queue is not still draining to
 * it (sent.h: a stream the client is still taking is not silence, though
 * a full socket wakes the writer seldom; as the gateway's); a client
 * silent for three of them is closed. Runs every
 * quarter interval (at the loop's 100 ms at the longest). */
void xt_mds_bin_timers(mds_t *m)
{
    int64_t hb = (int64_t)m->s->cfg.md_tcp_heartbeat_ms * 1000000;
    if (m->bin_lfd < 0 || m->mono - m->bin_last_scan < hb / 4)
        return;
    m->bin_last_scan = m->mono;
    uint32_t g = NIL;
    for (uint32_t c = 0; c < m->bin_hi; c++) {
        mconn_t *k = &m->conns[c];
        if (k->state != C_BIN)
            continue;
        if (m->mono - k->last_in > 3 * hb) {
            xt_mds_close_gone(m, c, XT_ERR_HEARTBEAT_TIMEOUT, "nothing received for three heartbeat intervals");
            continue;
        }
        if (m->mono - k->last_out < hb || k->qn) /* (behind a queue it would come no sooner than the queue) */
            continue;
        uint32_t held;
        if (xt_sent_taken(&k->sent, k->fd, &held) && held > 0) {
            k->last_out = m->mono; /* still going out: not idle */
            continue;
        }
        if (g == NIL) {
            uint8_t f[XT_WIRE_HDR];
            g = xt_mds_msg_raw(m, f, xt_wire_put_header(f, XT_MSG_SERVER_HEARTBEAT, 0, 0));
        }
        if (g != NIL)
            xt_mds_enqueue(m, c, g);
    }
    xt_mds_msg_drop_if_unused(m, g);
}

void xt_mds_bin_close_with(mds_t *m, uint32_t c, uint16_t code, const char *reason)
{
    mconn_t *k = &m->conns[c];
    uint8_t f[XT_WIRE_MAX];
    if (k->state != C_BIN) { /* closing already */
        xt_mds_close(m, c);
        return;
    }
    int err = code == XT_WS_CLOSE_GOING_AWAY  ? XT_ERR_SHUTDOWN
              : code == XT_WS_CLOSE_POLICY    ? XT_ERR_SLOW_CONSUMER
              : code == XT_WS_CLOSE_TRY_AGAIN ? XT_ERR_TOO_MANY_CONNECTIONS /* "server busy" */
                                              : code;
    xt_mds_close_after(m, c, f, error_frame(f, err, reason),
                       err == XT_ERR_SLOW_CONSUMER || err == XT_ERR_HEARTBEAT_TIMEOUT || err == XT_ERR_SHUTDOWN);
}
