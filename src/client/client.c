/* client.c - the client SDK (include/xt/client.h): one nonblocking TCP
 * connection to the order-entry server, driven by the caller's event loop.
 *
 * The input buffer holds at most one partial frame after each read; the
 * output buffer holds encoded requests until one write sends them all.
 * Sequenced messages at or below last_seq are duplicates (a resume that
 * overlaps what was delivered) and are dropped. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xt/client.h"
#include "xt/error.h"

#define DEFAULT_BUF 65536
#define MIN_BUF 256
#define CLOCK_OFFSET_MAX_MS (INT64_C(366) * 86400 * 1000) /* a year: far beyond any skew, no overflow */
#define MAX_FRAME 256
#define LOGIN_TIMEOUT_NS 10000000000LL

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- init / destroy ---- */

static int resolve(const char *host, uint16_t port, int numeric, struct sockaddr_storage *out, socklen_t *len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = numeric ? AI_NUMERICHOST : 0};
    struct addrinfo *res = NULL;
    char ports[8];
    snprintf(ports, sizeof ports, "%u", (unsigned)port);
    if (getaddrinfo(host, ports, &hints, &res) != 0 || !res)
        return -ENOENT;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int check_config(const xt_client_config_t *cfg)
{
    if (!cfg || !cfg->host || !cfg->key_id || !cfg->secret || cfg->account == 0 || cfg->session == 0)
        return XT_EINVAL;
    if (!cfg->key_id[0] || strlen(cfg->key_id) > 16 ||
        (cfg->heartbeat_ms && (cfg->heartbeat_ms < 100 || cfg->heartbeat_ms > 60000)))
        return XT_EINVAL;
    if ((cfg->rbuf_size && cfg->rbuf_size < MIN_BUF) || (cfg->wbuf_size && cfg->wbuf_size < MIN_BUF))
        return XT_EINVAL;
    if (cfg->rbuf_size > 0xffffffffu || cfg->wbuf_size > 0xffffffffu)
        return XT_EINVAL;
    if (cfg->clock_offset_ms > CLOCK_OFFSET_MAX_MS || cfg->clock_offset_ms < -CLOCK_OFFSET_MAX_MS)
        return XT_EINVAL;
    return 0;
}

int xt_client_init(xt_client_t *c, const xt_client_config_t *cfg)
{
    int rc = check_config(cfg);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->cfg = *cfg;
    if (!c->cfg.rbuf_size)
        c->cfg.rbuf_size = DEFAULT_BUF;
    if (!c->cfg.wbuf_size)
        c->cfg.wbuf_size = DEFAULT_BUF;
    rc = resolve(cfg->host, cfg->port, 0, &c->addr, &c->addr_len);
    if (rc == 0 && cfg->bind_addr)
        rc = resolve(cfg->bind_addr, 0, 1, &c->src, &c->src_len);
    if (rc)
        return rc;
    memcpy(c->key_id, cfg->key_id, strlen(cfg->key_id));
    SHA256((const unsigned char *)cfg->secret, strlen(cfg->secret), c->key);
    c->cfg.host = c->cfg.key_id = c->cfg.secret = c->cfg.bind_addr = NULL;
    c->hb_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 5000;
    if (cfg->resume_from) {
        c->last_seq = cfg->resume_from - 1;
        c->have_seq = 1;
    }
    return 0;
}

void xt_client_destroy(xt_client_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = XT_CLIENT_CLOSED;
    free(c->rbuf);
    free(c->wbuf);
    c->rbuf = c->wbuf = NULL;
    memset(c->key, 0, sizeof c->key);
    c->hb_ms = 0; /* xt_client_connect refuses it from here */
}

/* ---- closing ---- */

/* Closes the socket and tells the user why (err 0: orderly). Returns err. */
static int shut(xt_client_t *c, int err)
{
    if (c->fd < 0)
        return err;
    close(c->fd);
    c->fd = -1;
    c->state = XT_CLIENT_CLOSED;
    c->server_closing = 0;
    c->write_err = 0;
    c->rlen = c->wlen = c->woff = 0;
    c->gen++;
    if (err && c->cfg.cb.on_error)
        c->cfg.cb.on_error(c->cfg.user, c, err);
    if (c->cfg.cb.on_close)
        c->cfg.cb.on_close(c->cfg.user, c, err);
    return err;
}

int xt_client_close(xt_client_t *c)
{
    shut(c, 0);
    return 0;
}

/* ---- connecting ---- */

static int open_socket(xt_client_t *c)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->src_len) {
        /* let connect() pick the port, so the 4-tuple (not the source port
         * alone) must be unique: many more connections per source address */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&c->src, c->src_len) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
    }
    return fd;
}

static int alloc_buffers(xt_client_t *c)
{
    if (!c->rbuf)
        c->rbuf = malloc(c->cfg.rbuf_size);
    if (!c->wbuf)
        c->wbuf = malloc(c->cfg.wbuf_size);
    return c->rbuf && c->wbuf ? 0 : XT_ENOMEM;
}

int xt_client_connect(xt_client_t *c)
{
    if (c->hb_ms == 0) /* destroyed (or never initialised): its key is gone */
        return -EINVAL;
    if (c->fd >= 0)
        return -EISCONN;
    int rc = alloc_buffers(c);
    if (rc)
        return rc;
    int fd = open_socket(c);
    if (fd < 0)
        return fd;
    c->rlen = c->wlen = c->woff = 0;
    c->instruments_left = 0;
    c->state_ns = c->last_rx_ns = c->last_tx_ns = now_ns();
    if (connect(fd, (struct sockaddr *)&c->addr, c->addr_len) == 0) {
        c->state = XT_CLIENT_AWAIT_HELLO;
    } else if (errno == EINPROGRESS) {
        c->state = XT_CLIENT_CONNECTING;
    } else {
        rc = -errno;
        close(fd);
        return rc;
    }
    c->fd = fd;
    return 0;
}

int xt_client_reconnect(xt_client_t *c)
{
    if (c->fd >= 0) {
        shut(c, 0);
        if (c->fd >= 0) /* its on_close connected already (a usual reconnect policy): one connection, not -EISCONN */
            return 0;
    }
    return xt_client_connect(c);
}

/* Completes a nonblocking connect. Returns 0 or the connect error (the
 * connection is closed then). */
static int finish_connect(xt_client_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        return shut(c, -err);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) < 0)
        return errno == ENOTCONN ? 0 : shut(c, -errno); /* still connecting */
    c->state = XT_CLIENT_AWAIT_HELLO;
    c->state_ns = c->last_rx_ns = now_ns();
    return 0;
}

/* ---- writing ---- */

/* Callbacks of the connection now open are running: its input buffer is
 * theirs (reads refused -EBUSY) and a send failing there leaves the rest to
 * the read under way. */
static int in_dispatch(const xt_client_t *c)
{
    return c->dispatching && c->dispatch_gen == c->gen;
}

/* A send failed (the server closed: its reset): what it sent before -
 * the answers, its ERROR saying why - is still in the socket, and is
 * read and delivered first (docs/protocol.md); then the close with err,
 * unless reading closed it already. Requests from the callbacks meanwhile
 * are refused (-ESHUTDOWN: the server is closing). */
static int write_failed(xt_client_t *c, int err)
{
    if (c->draining || in_dispatch(c)) { /* (in a callback: the read under way goes on to the close) */
        if (!c->server_closing)
            c->closing_ns = now_ns();
        c->server_closing = 1;
        if (!c->write_err)
            c->write_err = err; /* on_readable reads to the socket's end, then closes with it */
        c->wlen = c->woff = 0;
        return err;
    }
    c->draining = 1;
    c->server_closing = 1;
    c->closing_ns = now_ns();
    unsigned gen = c->gen;
    int rc = 0;
    char one;
    do /* (on_readable stops at a short read: on while the socket holds more) */
        rc = xt_client_on_readable(c);
    while (rc == 0 && c->gen == gen && recv(c->fd, &one, 1, MSG_PEEK | MSG_DONTWAIT) == 1);
    c->draining = 0;
    if (c->gen != gen || c->fd < 0) /* closed while reading: told why there */
        return rc ? rc : -ECONNRESET;
    return shut(c, err);
}

static int write_out(xt_client_t *c)
{
    if (c->state == XT_CLIENT_CONNECTING) {
        int rc = finish_connect(c);
        if (rc || c->state == XT_CLIENT_CONNECTING)
            return rc;
    }
    int wrote = 0;
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return write_failed(c, -errno);
        }
        c->woff += (size_t)n;
        wrote = 1;
    }
    if (c->woff == c->wlen)
        c->woff = c->wlen = 0;
    if (wrote)
        c->last_tx_ns = now_ns();
    return 0;
}

int xt_client_flush(xt_client_t *c)
{
    if (c->fd < 0)
        return -ENOTCONN;
    return write_out(c);
}

int xt_client_on_writable(xt_client_t *c)
{
    return xt_client_flush(c);
}

int xt_client_wants_write(const xt_client_t *c)
{
    return c->fd >= 0 && (c->state == XT_CLIENT_CONNECTING || c->woff < c->wlen);
}

/* Room for one more frame at the end of the output buffer, or NULL when
 * it is full and the socket would block (*rc = -EAGAIN) or failed. */
static uint8_t *out_room(xt_client_t *c, int *rc)
{
    *rc = 0;
    if (c->wlen + XT_WIRE_MAX <= c->cfg.wbuf_size)
        return c->wbuf + c->wlen;
    if (c->state != XT_CLIENT_CONNECTING && (*rc = write_out(c)) != 0)
        return NULL;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
    }
    if (c->wlen + XT_WIRE_MAX <= c->cfg.wbuf_size)
        return c->wbuf + c->wlen;
    *rc = -EAGAIN;
    return NULL;
}

/* ---- login ---- */

static int send_login(xt_client_t *c, const xt_msg_hello_t *h)
{
    xt_msg_login_t m = {.version = XT_WIRE_VERSION,
                        .flags = c->cfg.login_flags,
                        .account = c->cfg.account,
                        .session = c->cfg.session,
                        .heartbeat_ms = c->cfg.heartbeat_ms,
                        .resume_from = c->have_seq ? c->last_seq + 1 : 0,
                        .timestamp_ns = wall_ns() + c->cfg.clock_offset_ms * 1000000};
    memcpy(m.key_id, c->key_id, sizeof m.key_id);
    uint8_t msg[XT_LOGIN_SIGNED_LEN];
    unsigned len = sizeof m.signature;
    xt_wire_login_signed_bytes(msg, h->nonce, m.account, m.key_id, m.session, m.timestamp_ns);
    if (!HMAC(EVP_sha256(), c->key, sizeof c->key, msg, sizeof msg, m.signature, &len))
        return shut(c, XT_EINVAL);
    int rc;
    uint8_t *f = out_room(c, &rc);
    if (!f)
        return rc ? rc : shut(c, -ENOBUFS);
    c->wlen += xt_wire_put_login(f, &m);
    c->state = XT_CLIENT_LOGIN_SENT;
    c->state_ns = now_ns();
    return write_out(c);
}

static void login_accepted(xt_client_t *c, const xt_msg_login_accepted_t *m)
{
    c->state = XT_CLIENT_LOGGED_IN;
    c->hb_ms = m->heartbeat_ms ? m->heartbeat_ms : c->hb_ms;
    c->instruments_left = m->instruments;
    if (m->last_clordid > c->last_clordid)
        c->last_clordid = m->last_clordid;
    if (m->resume_from == 0 || !c->have_seq) {
        uint64_t first = m->resume_from ? m->resume_from : m->next_seq;
        c->last_seq = first ? first - 1 : 0;
        c->have_seq = 1;
    }
}

/* ---- reading and dispatch ---- */

/* A heartbeat interval the server announced: 0 (none) or 100..60000 ms
 * (docs/protocol.md); anything else would be a broken server, and the
 * timers could not represent it. */
static int heartbeat_ok(uint32_t ms)
{
    return ms == 0 || (ms >= 100 && ms <= 60000);
}

/* Logged in or logging out: where order messages and INSTRUMENT belong. */
static int in_session(const xt_client_t *c)
{
    return c->state == XT_CLIENT_LOGGED_IN || c->state == XT_CLIENT_LOGGING_OUT;
}

/* Sequence bookkeeping for a sequenced message: 1 to deliver it, 0 for a
 * duplicate. Reports a gap through on_error (and delivers). */
static int sequenced(xt_client_t *c, const xt_wire_hdr_t *h)
{
    if (!(h->flags & XT_WF_SEQUENCED))
        return 1;
    if (c->have_seq && h->seq <= c->last_seq)
        return 0;
    if (c->have_seq && h->seq != c->last_seq + 1 && c->cfg.cb.on_error)
        c->cfg.cb.on_error(c->cfg.user, c, XT_ESEQ);
    c->last_seq = h->seq;
    c->have_seq = 1;
    return 1;
}

static int on_session_msg(xt_client_t *c, const uint8_t *f, const xt_wire_hdr_t *h)
{
    const xt_client_callbacks_t *cb = &c->cfg.cb;
    void *u = c->cfg.user;
    switch (h->type) {
    case XT_MSG_HELLO: {
        xt_msg_hello_t m;
        xt_wire_get_hello(f, &m);
        if (c->state != XT_CLIENT_AWAIT_HELLO || !heartbeat_ok(m.heartbeat_ms))
            return shut(c, -EPROTO);
        if (m.heartbeat_ms && !c->cfg.heartbeat_ms)
            c->hb_ms = m.heartbeat_ms;
        unsigned gen = c->gen;
        if (cb->on_hello)
            cb->on_hello(u, c, h, &m);
        if (c->gen != gen || c->state != XT_CLIENT_AWAIT_HELLO)
            return 0; /* on_hello closed or reconnected (a new connection waits for its own HELLO) */
        int rc = send_login(c, &m);
        /* a LOGIN the server's reset refused: the read under way delivers
         * what it sent (its ERROR) and closes (write_err) */
        return rc && c->fd >= 0 && c->write_err ? 0 : rc;
    }
    case XT_MSG_LOGIN_ACCEPTED: {
        xt_msg_login_accepted_t m;
        xt_wire_get_login_accepted(f, &m);
        if (c->state != XT_CLIENT_LOGIN_SENT || !heartbeat_ok(m.heartbeat_ms))
            return shut(c, -EPROTO); /* an answer to no LOGIN */
        login_accepted(c, &m);
        if (cb->on_login_accepted)
            cb->on_login_accepted(u, c, h, &m);
        return 0;
    }
    case XT_MSG_LOGIN_REJECTED: {
        xt_msg_login_rejected_t m;
        xt_wire_get_login_rejected(f, &m);
        if (c->state != XT_CLIENT_LOGIN_SENT)
            return shut(c, -EPROTO);
        if (cb->on_login_rejected)
            cb->on_login_rejected(u, c, h, &m);
        return shut(c, -EACCES);
    }
    case XT_MSG_INSTRUMENT: {
        xt_msg_instrument_t m;
        xt_wire_get_instrument(f, &m);
        if (!in_session(c))
            return shut(c, -EPROTO);
        if (c->instruments_left)
            c->instruments_left--;
        if (cb->on_instrument)
            cb->on_instrument(u, c, h, &m);
        return 0;
    }
    case XT_MSG_SERVER_HEARTBEAT:
        if (cb->on_heartbeat)
            cb->on_heartbeat(u, c, h);
        return 0;
    case XT_MSG_ERROR: {
        xt_msg_error_t m;
        xt_wire_get_error(f, &m);
        m.text[sizeof m.text - 1] = '\0';
        if (!c->server_closing)
            c->closing_ns = c->last_rx_ns; /* the time of the read that brought it */
        c->server_closing = 1;             /* the server closes the connection behind an ERROR */
        if (cb->on_server_error)
            cb->on_server_error(u, c, h, &m);
        return 0;
    }
    case XT_MSG_LOGOUT_ACK:
        if (c->state != XT_CLIENT_LOGGING_OUT)
            return shut(c, -EPROTO); /* the server ends a session it was not asked to with an ERROR */
        if (cb->on_logout_ack)
            cb->on_logout_ack(u, c, h);
        return shut(c, 0);
    }
    return 1; /* not a session message */
}

static int on_order_msg(xt_client_t *c, const uint8_t *f, const xt_wire_hdr_t *h)
{
    const xt_client_callbacks_t *cb = &c->cfg.cb;
    void *u = c->cfg.user;
    union {
        xt_msg_status_reply_t sr;
        xt_msg_mass_cancel_ack_t mc;
        xt_msg_accepted_t ac;
        xt_msg_rejected_t rj;
        xt_msg_fill_t fi;
        xt_msg_canceled_t ca;
        xt_msg_amended_t am;
    } m;
    if (!in_session(c))
        return shut(c, -EPROTO); /* an answer before the login's */
    if (!sequenced(c, h))
        return 0;
    switch (h->type) {
    case XT_MSG_STATUS_REPLY:
        xt_wire_get_status_reply(f, &m.sr);
        if (cb->on_status_reply)
            cb->on_status_reply(u, c, h, &m.sr);
        return 0;
    case XT_MSG_MASS_CANCEL_ACK:
        xt_wire_get_mass_cancel_ack(f, &m.mc);
        if (cb->on_mass_cancel_ack)
            cb->on_mass_cancel_ack(u, c, h, &m.mc);
        return 0;
    case XT_MSG_ACCEPTED:
        xt_wire_get_accepted(f, &m.ac);
        if (cb->on_accepted)
            cb->on_accepted(u, c, h, &m.ac);
        return 0;
    case XT_MSG_REJECTED:
        xt_wire_get_rejected(f, &m.rj);
        if (cb->on_rejected)
            cb->on_rejected(u, c, h, &m.rj);
        return 0;
    case XT_MSG_FILL:
        xt_wire_get_fill(f, &m.fi);
        if (cb->on_fill)
            cb->on_fill(u, c, h, &m.fi);
        return 0;
    case XT_MSG_CANCELED:
        xt_wire_get_canceled(f, &m.ca);
        if (cb->on_canceled)
            cb->on_canceled(u, c, h, &m.ca);
        return 0;
    case XT_MSG_AMENDED:
        xt_wire_get_amended(f, &m.am);
        if (cb->on_amended)
            cb->on_amended(u, c, h, &m.am);
        return 0;
    }
    return shut(c, -EPROTO); /* a client->server type from the server */
}

/* Dispatches the whole frames in the input buffer from *off on, moving
 * *off past each. Returns 0, or the error that closed the connection. */
static int dispatch_frames(xt_client_t *c, size_t *off)
{
    unsigned gen = c->gen;
    while (*off < c->rlen) {
        xt_wire_hdr_t h;
        int n = xt_wire_frame(c->rbuf + *off, c->rlen - *off, MAX_FRAME, &h);
        if (n == 0)
            break;
        if (n < 0)
            return shut(c, -EPROTO);
        const uint8_t *f = c->rbuf + *off;
        *off += (size_t)n;
        int rc = on_session_msg(c, f, &h);
        if (rc == 1)
            rc = on_order_msg(c, f, &h);
        if (rc || c->gen != gen)
            return rc;
    }
    return 0;
}

/* Dispatches every whole frame in the input buffer. Returns 0, or the
 * error that closed the connection. */
static int dispatch(xt_client_t *c)
{
    size_t off = 0;
    unsigned gen = c->gen, outer_gen = c->dispatch_gen;
    int outer = c->dispatching; /* (a callback that closed the connection it was given may read the next one) */
    c->dispatching = 1;         /* a send failing in a callback does not read again meanwhile (write_failed) */
    c->dispatch_gen = gen;
    int rc = dispatch_frames(c, &off);
    c->dispatching = outer;
    c->dispatch_gen = outer_gen;
    if (rc || c->gen != gen)
        return rc;
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return 0;
}

int xt_client_on_readable(xt_client_t *c)
{
    if (in_dispatch(c))
        return -EBUSY; /* from a callback: the read under way owns the input buffer */
    if (c->fd < 0)
        return -ENOTCONN;
    if (c->state == XT_CLIENT_CONNECTING) {
        int rc = finish_connect(c);
        if (rc || c->state == XT_CLIENT_CONNECTING)
            return rc;
    }
    unsigned gen = c->gen;
    for (;;) {
        size_t room = c->cfg.rbuf_size - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) /* (after a send failed in a callback: the end) */
                return c->write_err ? shut(c, c->write_err) : 0;
            return shut(c, -errno);
        }
        if (n == 0)
            return shut(c, -ECONNRESET); /* (a LOGOUT_ACK closed it with 0: here the server closed without one) */
        c->rlen += (size_t)n;
        c->last_rx_ns = now_ns();
        int rc = dispatch(c);
        if (rc || c->gen != gen)
            return rc;
        if ((size_t)n < room && !c->write_err)
            return 0;
    }
}

/* ---- timers and the blocking helpers ---- */

/* After the server's ERROR: no heartbeats (the server reads nothing more,
 * and xt_client_heartbeat() would refuse -ESHUTDOWN), only the wait for
 * the server's close, for `limit` ns from the ERROR. A close that waits
 * unread in the socket is left to on_readable (on_close(-ECONNRESET)). */
static int closing_tick(xt_client_t *c, int64_t now, int64_t limit)
{
    int64_t left = c->closing_ns + limit - now;
    if (left >= 0)
        return (int)(left / 1000000) + 1;
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return shut(c, -errno);
    return shut(c, -ETIMEDOUT);
}

int xt_client_tick(xt_client_t *c)
{
    if (c->fd < 0)
        return 1000;
    int64_t now = now_ns(), hb = (int64_t)c->hb_ms * 1000000;
    if (c->state < XT_CLIENT_LOGGED_IN && now - c->state_ns > LOGIN_TIMEOUT_NS)
        return shut(c, -ETIMEDOUT);
    if (c->server_closing)
        return closing_tick(c, now, 3 * hb);
    if (c->state < XT_CLIENT_LOGGED_IN)
        return 100;
    if (now - c->last_rx_ns > 3 * hb) {
        /* Silent only if nothing waits unread: a caller that did not poll
         * for a while has the server's heartbeats (or its ERROR, or its
         * end) in the socket, and on_readable takes them next. */
        uint8_t b;
        if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
            return shut(c, -ETIMEDOUT);
        c->last_rx_ns = now;
    }
    if (now - c->last_tx_ns >= hb) { /* (logged in, or logging out) */
        int rc = xt_client_heartbeat(c);
        if (rc == 0)
            rc = write_out(c);
        if (rc && rc != -EAGAIN)
            return rc;
    }
    int64_t due = c->last_tx_ns + hb - now;
    if (due < 1000000)
        due = 1000000;
    return (int)(due / 1000000);
}

int xt_client_poll(xt_client_t *c, int timeout_ms)
{
    if (in_dispatch(c))
        return -EBUSY;
    if (c->fd < 0)
        return -ENOTCONN;
    int t = xt_client_tick(c);
    if (t < 0)
        return t;
    if (timeout_ms < 0 || t < timeout_ms)
        timeout_ms = t;
    struct pollfd p = {.fd = c->fd, .events = POLLIN | (xt_client_wants_write(c) ? POLLOUT : 0)};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int rc = 0;
    if (n > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP)))
        rc = xt_client_on_writable(c);
    if (rc == 0 && n > 0 && c->fd >= 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)))
        rc = xt_client_on_readable(c);
    if (rc == 0 && c->fd >= 0)
        rc = write_out(c);
    if (rc == 0 && c->fd < 0 && n == 0)
        rc = -ENOTCONN;
    return rc ? rc : n > 0;
}

int xt_client_wait_login(xt_client_t *c, int timeout_ms)
{
    if (in_dispatch(c))
        return -EBUSY;
    int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
    while (c->state != XT_CLIENT_LOGGED_IN || c->instruments_left > 0) {
        int64_t left = (end - now_ns()) / 1000000;
        if (left <= 0)
            return -ETIMEDOUT;
        int rc = xt_client_poll(c, (int)left);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- requests ---- */

/* Room for a request frame when logged in, else NULL with *rc set. */
static uint8_t *request_room(xt_client_t *c, int *rc)
{
    if (c->state != XT_CLIENT_LOGGED_IN || c->server_closing) {
        *rc = c->state == XT_CLIENT_LOGGED_IN ? -ESHUTDOWN : -ENOTCONN;
        return NULL;
    }
    return out_room(c, rc);
}

static void take_clordid(xt_client_t *c, uint64_t *clordid)
{
    if (*clordid == 0)
        *clordid = c->last_clordid + 1;
    if (*clordid > c->last_clordid)
        c->last_clordid = *clordid;
}

int xt_client_new_order(xt_client_t *c, xt_msg_new_order_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    take_clordid(c, &m->clordid);
    c->wlen += xt_wire_put_new_order(f, m);
    return 0;
}

int xt_client_cancel(xt_client_t *c, xt_msg_cancel_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    take_clordid(c, &m->clordid);
    c->wlen += xt_wire_put_cancel(f, m);
    return 0;
}

int xt_client_amend(xt_client_t *c, xt_msg_amend_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    take_clordid(c, &m->clordid);
    c->wlen += xt_wire_put_amend(f, m);
    return 0;
}

int xt_client_amend_checked(xt_client_t *c, xt_msg_amend_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    take_clordid(c, &m->clordid);
    c->wlen += xt_wire_put_amend_checked(f, m);
    return 0;
}

int xt_client_mass_cancel(xt_client_t *c, const xt_msg_mass_cancel_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    c->wlen += xt_wire_put_mass_cancel(f, m);
    return 0;
}

int xt_client_order_status(xt_client_t *c, const xt_msg_order_status_t *m)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    c->wlen += xt_wire_put_order_status(f, m);
    return 0;
}

int xt_client_heartbeat(xt_client_t *c)
{
    /* also while a LOGOUT waits for its ACK, which may wait for answers or
     * a resume: a silent client is closed HEARTBEAT_TIMEOUT then too */
    int rc;
    uint8_t *f = c->state == XT_CLIENT_LOGGING_OUT && !c->server_closing ? out_room(c, &rc) : request_room(c, &rc);
    if (!f)
        return rc;
    c->wlen += xt_wire_put_header(f, XT_MSG_HEARTBEAT, 0, 0);
    return 0;
}

int xt_client_logout(xt_client_t *c)
{
    int rc;
    uint8_t *f = request_room(c, &rc);
    if (!f)
        return rc;
    c->wlen += xt_wire_put_header(f, XT_MSG_LOGOUT, 0, 0);
    c->state = XT_CLIENT_LOGGING_OUT;
    return 0;
}

int xt_client_set_resume(xt_client_t *c, uint64_t resume_from)
{
    if (c->fd >= 0)
        return -EISCONN;
    c->have_seq = resume_from != 0;
    c->last_seq = resume_from ? resume_from - 1 : 0;
    return 0;
}

/* ---- accessors ---- */

uint64_t xt_client_next_clordid(xt_client_t *c)
{
    return ++c->last_clordid;
}

xt_client_state_t xt_client_state(const xt_client_t *c)
{
    return c->state;
}

uint64_t xt_client_last_seq(const xt_client_t *c)
{
    return c->last_seq;
}

uint32_t xt_client_heartbeat_ms(const xt_client_t *c)
{
    return c->hb_ms;
}

size_t xt_client_pending(const xt_client_t *c)
{
    return c->wlen - c->woff;
}

void *xt_client_user(const xt_client_t *c)
{
    return c->cfg.user;
}

int xt_client_fd(const xt_client_t *c)
{
    return c->fd;
}

int64_t xt_client_rx_ns(const xt_client_t *c)
{
    return c->last_rx_ns;
}
