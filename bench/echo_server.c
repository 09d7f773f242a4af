/* echo_server.c - `xtrading bench echo`: the physical floor of the
 * order-entry network path. One thread, one epoll loop, the framing of
 * docs/protocol.md, no journal, no matching:
 *
 *   connect        -> HELLO
 *   LOGIN          -> LOGIN_ACCEPTED (no checks) + one INSTRUMENT "ECHO"
 *                     (id 1, tick 0.01, lot 1, no band)
 *   NEW_ORDER      -> ACCEPTED (64 bytes, same clordid, order_id a counter)
 *   CANCEL         -> CANCELED with request_clordid set
 *   AMEND          -> AMENDED
 *   ORDER_STATUS   -> STATUS_REPLY (unknown); MASS_CANCEL -> MASS_CANCEL_ACK
 *   HEARTBEAT      -> HEARTBEAT;  LOGOUT -> LOGOUT_ACK, close
 *
 * Each readable connection is read once (up to 64 KiB) into one shared
 * buffer, every whole frame is answered into one shared output buffer, and
 * the answers go out in one write. A connection whose answers could not all
 * be written keeps the rest in its own buffer and is not read again until
 * that drains (so a client that does not read cannot grow it). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "echo_server.h"
#include "xt/wire.h"

#define READ_MAX 65536
#define STASH_MAX 256 /* a partial frame carried to the next read */
#define OUT_MAX (3 * (READ_MAX + STASH_MAX) + 1024)
#define MAX_EVENTS 256

typedef struct echo_conn {
    int fd;
    int logged_in, closing;
    uint64_t seq;
    uint8_t stash[STASH_MAX];
    size_t stash_len;
    uint8_t *pend; /* answers not yet written */
    size_t pend_len, pend_off, pend_cap;
} echo_conn_t;

typedef struct echo {
    int ep, lfd;
    echo_conn_t **conns; /* by fd */
    size_t nconns;
    int64_t order_id;
    int64_t ts;
    uint8_t in[STASH_MAX + READ_MAX];
    uint8_t out[OUT_MAX];
} echo_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- answers ---- */

static size_t answer_login(echo_t *e, echo_conn_t *c, const uint8_t *f, uint8_t *o)
{
    xt_msg_login_t lg;
    xt_wire_get_login(f, &lg);
    xt_msg_login_accepted_t la = {.session = lg.session,
                                  .heartbeat_ms = lg.heartbeat_ms ? lg.heartbeat_ms : 5000,
                                  .next_seq = c->seq + 1,
                                  .instruments = 1};
    xt_msg_instrument_t in = {.id = 1, .tick_m = 1, .tick_scale = 2, .lot_m = 1, .min_qty = 1, .max_qty = 1000000000};
    memcpy(in.symbol, "ECHO", 4);
    (void)e;
    c->logged_in = 1;
    size_t n = xt_wire_put_login_accepted(o, c->seq, &la);
    return n + xt_wire_put_instrument(o + n, c->seq, &in);
}

static size_t answer_new(echo_t *e, echo_conn_t *c, const uint8_t *f, uint8_t *o)
{
    xt_msg_new_order_t no;
    xt_wire_get_new_order(f, &no);
    xt_msg_accepted_t a = {.clordid = no.clordid,
                           .order_id = ++e->order_id,
                           .instrument = no.instrument,
                           .side = no.side,
                           .type = no.type,
                           .tif = no.tif ? no.tif : 1,
                           .stp = no.stp ? no.stp : 2,
                           .price = no.price,
                           .qty = no.qty,
                           .ts = e->ts};
    return xt_wire_put_accepted(o, XT_WF_SEQUENCED, ++c->seq, &a);
}

static size_t answer_cancel(echo_t *e, echo_conn_t *c, const uint8_t *f, uint8_t *o)
{
    xt_msg_cancel_t cx;
    xt_wire_get_cancel(f, &cx);
    xt_msg_canceled_t a = {.clordid = cx.orig_clordid,
                           .order_id = cx.order_id,
                           .instrument = 1,
                           .reason = 11, /* USER */
                           .qty = 1,
                           .request_clordid = cx.clordid,
                           .ts = e->ts};
    return xt_wire_put_canceled(o, XT_WF_SEQUENCED, ++c->seq, &a);
}

static size_t answer_amend(echo_t *e, echo_conn_t *c, const uint8_t *f, uint8_t *o)
{
    xt_msg_amend_t am;
    xt_wire_get_amend(f, &am);
    xt_msg_amended_t a = {.clordid = am.clordid,
                          .order_id = am.order_id,
                          .orig_clordid = am.orig_clordid,
                          .price = am.price,
                          .qty = am.qty,
                          .ts = e->ts};
    return xt_wire_put_amended(o, XT_WF_SEQUENCED, ++c->seq, &a);
}

static size_t answer_other(echo_conn_t *c, const uint8_t *f, uint8_t type, uint8_t *o)
{
    switch (type) {
    case XT_MSG_ORDER_STATUS: {
        xt_msg_order_status_t q;
        xt_wire_get_order_status(f, &q);
        xt_msg_status_reply_t r = {.request_id = q.request_id};
        return xt_wire_put_status_reply(o, c->seq, &r);
    }
    case XT_MSG_MASS_CANCEL: {
        xt_msg_mass_cancel_t q;
        xt_wire_get_mass_cancel(f, &q);
        xt_msg_mass_cancel_ack_t r = {.request_id = q.request_id};
        return xt_wire_put_mass_cancel_ack(o, c->seq, &r);
    }
    case XT_MSG_HEARTBEAT: return xt_wire_put_header(o, XT_MSG_SERVER_HEARTBEAT, 0, c->seq);
    case XT_MSG_LOGOUT: c->closing = 1; return xt_wire_put_header(o, XT_MSG_LOGOUT_ACK, 0, c->seq);
    }
    xt_msg_error_t err = {.code = XT_ERR_UNKNOWN_TYPE};
    snprintf(err.text, sizeof err.text, "echo: unexpected message type 0x%02x", type);
    c->closing = 1;
    return xt_wire_put_error(o, c->seq, &err);
}

static size_t answer(echo_t *e, echo_conn_t *c, const uint8_t *f, uint8_t type, uint8_t *o)
{
    switch (type) {
    case XT_MSG_LOGIN: return answer_login(e, c, f, o);
    case XT_MSG_NEW_ORDER: return answer_new(e, c, f, o);
    case XT_MSG_CANCEL: return answer_cancel(e, c, f, o);
    case XT_MSG_AMEND: return answer_amend(e, c, f, o);
    }
    return answer_other(c, f, type, o);
}

/* Answers every whole frame of buf[0..len) into e->out; keeps a partial
 * tail in the stash. Returns the answer bytes. */
static size_t answer_all(echo_t *e, echo_conn_t *c, const uint8_t *buf, size_t len)
{
    size_t off = 0, out = 0;
    while (off < len && !c->closing) {
        xt_wire_hdr_t h;
        int n = xt_wire_frame(buf + off, len - off, STASH_MAX, &h);
        if (n == 0)
            break;
        if (n < 0) {
            xt_msg_error_t err = {.code = (uint16_t)-n};
            snprintf(err.text, sizeof err.text, "echo: %s", xt_wire_error_name(-n));
            c->closing = 1;
            return out + xt_wire_put_error(e->out + out, c->seq, &err);
        }
        out += answer(e, c, buf + off, h.type, e->out + out);
        off += (size_t)n;
    }
    c->stash_len = c->closing ? 0 : len - off;
    memcpy(c->stash, buf + off, c->stash_len);
    return out;
}

/* ---- connections ---- */

static void conn_close(echo_t *e, echo_conn_t *c)
{
    epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    e->conns[c->fd] = NULL;
    free(c->pend);
    free(c);
}

static void set_interest(echo_t *e, echo_conn_t *c, int want_out)
{
    struct epoll_event ev = {.events = want_out ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes buf (or what the socket takes of it); keeps the rest as pending.
 * Returns -1 if the connection must be closed. */
static int conn_write(echo_t *e, echo_conn_t *c, const uint8_t *buf, size_t len)
{
    ssize_t n = len ? send(c->fd, buf, len, MSG_NOSIGNAL) : 0;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    size_t done = n > 0 ? (size_t)n : 0;
    if (done == len)
        return c->closing ? -1 : 0;
    if (c->pend_cap < len - done) {
        uint8_t *p = realloc(c->pend, len - done);
        if (!p)
            return -1;
        c->pend = p;
        c->pend_cap = len - done;
    }
    memmove(c->pend, buf + done, len - done);
    c->pend_len = len - done;
    c->pend_off = 0;
    set_interest(e, c, 1);
    return 0;
}

static int conn_writable(echo_t *e, echo_conn_t *c)
{
    ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->pend_off += (size_t)n;
    if (c->pend_off < c->pend_len)
        return 0;
    c->pend_len = c->pend_off = 0;
    if (c->closing)
        return -1;
    set_interest(e, c, 0);
    return 0;
}

static int conn_readable(echo_t *e, echo_conn_t *c)
{
    memcpy(e->in, c->stash, c->stash_len);
    ssize_t n = recv(c->fd, e->in + c->stash_len, READ_MAX, 0);
    if (n <= 0)
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    e->ts = wall_ns();
    size_t out = answer_all(e, c, e->in, c->stash_len + (size_t)n);
    return conn_write(e, c, e->out, out);
}

static void conn_accept(echo_t *e)
{
    for (;;) {
        int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        echo_conn_t *c = (size_t)fd < e->nconns ? calloc(1, sizeof *c) : NULL;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        e->conns[fd] = c;
        uint8_t hello[XT_WIRE_MAX];
        xt_msg_hello_t h = {.version = XT_WIRE_VERSION, .heartbeat_ms = 5000, .server_time_ns = wall_ns()};
        for (size_t i = 0; i < sizeof h.nonce; i++)
            h.nonce[i] = (uint8_t)rand();
        if (conn_write(e, c, hello, xt_wire_put_hello(hello, 0, &h)) < 0)
            conn_close(e, c);
    }
}

/* ---- setup and the loop ---- */

static int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || (size_t)(colon - s) >= hostlen || colon == s)
        return -1;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* Listens on host:port; prints the address actually bound. */
static int listen_on(const char *host, uint16_t port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    char ports[8], addr[INET6_ADDRSTRLEN];
    snprintf(ports, sizeof ports, "%u", port);
    if (getaddrinfo(host, ports, &hints, &res) != 0 || !res)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char serv[8];
    getnameinfo((struct sockaddr *)&ss, len, addr, sizeof addr, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    printf("echo: listening on %s:%s\n", addr, serv);
    fflush(stdout);
    return fd;
}

static void handle(echo_t *e, struct epoll_event *ev)
{
    echo_conn_t *c = ev->data.ptr;
    if (!c) {
        conn_accept(e);
        return;
    }
    int rc = 0;
    if (c->pend_len)
        rc = (ev->events & (EPOLLERR | EPOLLHUP)) && !(ev->events & EPOLLOUT) ? -1 : conn_writable(e, c);
    else if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        rc = conn_readable(e, c);
    if (rc < 0)
        conn_close(e, c);
}

static int serve(echo_t *e)
{
    struct epoll_event evs[MAX_EVENTS];
    while (!g_stop) {
        int n = epoll_wait(e->ep, evs, MAX_EVENTS, 500);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; i++)
            handle(e, &evs[i]);
    }
    return 0;
}

static size_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur > 1u << 22 ? 1u << 22 : (size_t)rl.rlim_cur;
}

static int run(const char *host, uint16_t port)
{
    echo_t *e = calloc(1, sizeof *e);
    int rc = 1;
    if (!e)
        return 1;
    e->nconns = raise_nofile();
    e->conns = calloc(e->nconns, sizeof(echo_conn_t *));
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    e->lfd = listen_on(host, port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!e->conns || e->ep < 0 || e->lfd < 0 || epoll_ctl(e->ep, EPOLL_CTL_ADD, e->lfd, &ev) < 0) {
        fprintf(stderr, "xtrading bench echo: cannot listen on %s:%u: %s\n", host, port, strerror(errno));
        goto done;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = serve(e);
done:
    for (size_t i = 0; e->conns && i < e->nconns; i++)
        if (e->conns[i])
            conn_close(e, e->conns[i]);
    if (e->lfd >= 0)
        close(e->lfd);
    if (e->ep >= 0)
        close(e->ep);
    free(e->conns);
    free(e);
    return rc;
}

int bench_echo_cmd(int argc, char **argv)
{
    char host[256] = "127.0.0.1";
    uint16_t port = 9101;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xtrading bench echo [--listen HOST:PORT]   (default 127.0.0.1:9101)\n");
            return 0;
        }
        if (strcmp(argv[i], "--listen") == 0) {
            const char *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (!v || parse_hostport(v, host, sizeof host, &port) != 0) {
                fprintf(stderr, "xtrading bench echo: --listen needs HOST:PORT, got '%s'\n", v ? v : "");
                return 2;
            }
            i++;
            continue;
        }
        fprintf(stderr, "xtrading bench echo: unknown option '%s'\nusage: xtrading bench echo [--listen HOST:PORT]\n",
                argv[i]);
        return 2;
    }
    return run(host, port);
}
