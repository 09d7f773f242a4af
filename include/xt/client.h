/* client.h - the C client SDK for the binary order-entry protocol
 * (docs/protocol.md; guide in docs/client.md).
 *
 * Event-loop friendly, after wslay: the client owns one nonblocking TCP
 * socket and two buffers, and is driven from outside -
 *
 *   poll/epoll on xt_client_fd() for reading, and for writing while
 *   xt_client_wants_write() is true (register the fd again after every
 *   connect/reconnect, whatever its number: see xt_client_fd());
 *   on readiness call xt_client_on_readable() / xt_client_on_writable();
 *   call xt_client_tick() now and then (it returns when it wants to run
 *   again): client heartbeats and the server-silence check.
 *
 * Every server message is delivered through a callback (NULL callbacks
 * are ignored). Requests (xt_client_new_order(), ...) are encoded into the
 * output buffer and written in one write by xt_client_flush(), by
 * xt_client_on_writable(), or when the buffer fills - so many orders cost
 * one system call. xt_client_poll() wraps all of this for simple blocking
 * programs.
 *
 * Login is automatic: after xt_client_connect() the client waits for HELLO
 * and answers it with a LOGIN signed with HMAC-SHA256 under the key
 * SHA-256(secret). The client remembers the last sequenced message it
 * delivered; xt_client_reconnect() logs in again with resume_from = that
 * + 1, and sequenced messages at or below it are dropped, so each is
 * delivered once.
 *
 * Memory: the caller owns the xt_client_t. Buffers are allocated by the
 * first xt_client_connect() and freed by xt_client_destroy(); nothing is
 * allocated per message. A client is used by one thread at a time.
 * Message pointers passed to callbacks are borrowed until the callback
 * returns. Callbacks may send requests and may call xt_client_close() or
 * xt_client_reconnect(); they must not call xt_client_destroy().
 *
 * Return codes: 0 on success, a negative -errno (socket errors, -EAGAIN
 * output buffer full, -ENOTCONN not logged in, -ESHUTDOWN a request after
 * the server's ERROR, -EPROTO the server broke the protocol, -ETIMEDOUT,
 * -EACCES login rejected, -EPIPE a write to a closed connection) or a
 * negative XT_E* code (include/xt/error.h). xt_strerror() names both.
 *
 * Signals: the SDK writes with send(MSG_NOSIGNAL) and never raises
 * SIGPIPE; a write to a connection the peer closed fails with -EPIPE (or
 * -ECONNRESET) and closes the client (on_error, then on_close, with that
 * code), whatever the program's SIGPIPE disposition.
 */
#ifndef XT_CLIENT_H
#define XT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "xt/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xt_client xt_client_t;

/* Connection states, in the order a connection passes through them. */
typedef enum xt_client_state {
    XT_CLIENT_CLOSED = 0,  /* no socket */
    XT_CLIENT_CONNECTING,  /* TCP connect in progress */
    XT_CLIENT_AWAIT_HELLO, /* connected, waiting for HELLO */
    XT_CLIENT_LOGIN_SENT,  /* LOGIN queued or sent, waiting for the answer */
    XT_CLIENT_LOGGED_IN,   /* LOGIN_ACCEPTED received: requests may be sent */
    XT_CLIENT_LOGGING_OUT, /* LOGOUT sent, waiting for LOGOUT_ACK */
} xt_client_state_t;

/* Callbacks: `user` is xt_client_config_t.user; `h` is the frame header
 * (h->flags & XT_WF_SEQUENCED, h->seq). Any of them may be NULL. */
typedef struct xt_client_callbacks {
    void (*on_hello)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_hello_t *m);
    void (*on_login_accepted)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_login_accepted_t *m);
    void (*on_login_rejected)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_login_rejected_t *m);
    void (*on_instrument)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_instrument_t *m);
    void (*on_heartbeat)(void *user, xt_client_t *c, const xt_wire_hdr_t *h);
    /* the server's ERROR message (the server closes the connection next:
     * requests are refused -ESHUTDOWN from here, and the client reads on
     * until the close, on_close(-ECONNRESET); see xt_client_tick()) */
    void (*on_server_error)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_error_t *m);
    void (*on_status_reply)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_status_reply_t *m);
    void (*on_mass_cancel_ack)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_mass_cancel_ack_t *m);
    void (*on_logout_ack)(void *user, xt_client_t *c, const xt_wire_hdr_t *h);
    void (*on_accepted)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_accepted_t *m);
    void (*on_rejected)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_rejected_t *m);
    void (*on_fill)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_fill_t *m);
    void (*on_canceled)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_canceled_t *m);
    void (*on_amended)(void *user, xt_client_t *c, const xt_wire_hdr_t *h, const xt_msg_amended_t *m);
    /* A local problem: `err` is a negative code. Not fatal by itself -
     * XT_ESEQ reports a gap in the sequence numbers; a fatal error is
     * followed by on_close with the same code: every close with a nonzero
     * code (login rejected -EACCES, -ECONNRESET, -ECONNREFUSED, -EPROTO,
     * -ETIMEDOUT, -EPIPE, ...) calls on_error(err) first, then
     * on_close(err). A close with 0 calls on_close only. */
    void (*on_error)(void *user, xt_client_t *c, int err);
    /* The connection is closed: `err` is 0 after LOGOUT_ACK,
     * xt_client_close() or xt_client_reconnect(), else why (-ECONNRESET
     * when the server closed, also after its ERROR, and after a LOGOUT it
     * answered with an ERROR (RESYNC: resume) instead of LOGOUT_ACK;
     * -ECONNREFUSED;
     * -EPROTO; -ETIMEDOUT; -EACCES after LOGIN_REJECTED; -EPIPE a write to
     * a connection the server had closed; another -errno of the socket).
     * The socket is already closed (xt_client_fd() is -1), which also took
     * it out of any epoll set. The client may be reconnected from here;
     * register the new socket then (xt_client_fd()). */
    void (*on_close)(void *user, xt_client_t *c, int err);
} xt_client_callbacks_t;

/* Everything xt_client_init() needs. Strings are copied; nothing here is
 * referenced after xt_client_init() returns (except `user`). */
typedef struct xt_client_config {
    const char *host;      /* server name or address (IPv4/IPv6) */
    uint16_t port;         /* server port */
    const char *bind_addr; /* numeric source address (IPv4/IPv6) to bind before
                            * connecting, or NULL; a name is refused: -ENOENT */
    uint32_t account;      /* >= 1 */
    const char *key_id;    /* API key id, 1..16 characters */
    const char *secret;    /* API secret; only SHA-256(secret) is kept */
    uint32_t session;      /* session number, >= 1 */
    uint32_t heartbeat_ms; /* 0: the server's default; else 100..60000 */
    uint16_t login_flags;  /* XT_LOGIN_CANCEL_ON_DISCONNECT, ... */
    uint64_t resume_from;  /* first login: 0 = only new messages, N = resend from N */
    size_t rbuf_size;      /* input buffer bytes (0: 65536; at least 256) */
    size_t wbuf_size;      /* output buffer bytes (0: 65536; at least 256) */
    xt_client_callbacks_t cb;
    void *user; /* passed to every callback */
    /* ms added to the wall clock for the login's timestamp (0: none): for a
     * server whose clock runs ahead (debug.clock_offset_ms) or behind this
     * host's by more than its server.login_skew_ms */
    int64_t clock_offset_ms;
} xt_client_config_t;

/* Initialises c from cfg: resolves cfg->host (getaddrinfo, may block) and
 * cfg->bind_addr (numeric only: getaddrinfo with AI_NUMERICHOST) and
 * derives the signing key. Does not connect. Returns 0; XT_EINVAL
 * (account 0, session 0, key id empty or longer than 16, missing host/key/secret,
 * bad heartbeat, buffer sizes below 256, a clock_offset_ms beyond a year
 * either way); -ENOENT if the host does not
 * resolve or bind_addr is not a numeric address (a name such as
 * "localhost" included). A bind_addr that is not on this host, or of the
 * other family than the host's address, passes here and fails in
 * xt_client_connect() (bind). On error nothing needs destroying. */
int xt_client_init(xt_client_t *c, const xt_client_config_t *cfg);

/* Closes the socket (without LOGOUT, on_close not called) and frees the
 * buffers. Only for a client that xt_client_init() accepted; it may be
 * initialised again afterwards. */
void xt_client_destroy(xt_client_t *c);

/* Starts a nonblocking connect (binding the source address first if one
 * was configured) and allocates the buffers on first use. Login then
 * proceeds by itself as the socket is driven. Returns 0 (state
 * CONNECTING, or AWAIT_HELLO when the connect finished at once); -EISCONN
 * if a connection is open; -EINVAL for a client destroyed (initialise it
 * again first); XT_ENOMEM; -errno from socket/bind/connect
 * (-EADDRNOTAVAIL when local ports ran out, ...). */
int xt_client_connect(xt_client_t *c);

/* Closes the current connection (if any: on_close(0)) and connects again
 * (a new socket: register xt_client_fd() again); the login
 * asks for resume_from = xt_client_last_seq() + 1, or the configured
 * resume_from if nothing was ever received. Unwritten output is discarded:
 * resend requests whose answer never came with the same clordid (the
 * server answers a duplicate with DUPLICATE_CLORDID and the original
 * answer is among the resent messages). Returns as xt_client_connect();
 * 0 too when on_close itself connected (that connection is kept). When
 * on_close's own connect failed at once, this one tries again, once. */
int xt_client_reconnect(xt_client_t *c);

/* What the next login asks for, while the client is closed: resume_from N
 * (resend from N), or 0 (only new messages; then last_seq starts again at
 * the login's next_seq - 1). After LOGIN_REJECTED RESUME_TOO_OLD, pass its
 * oldest kept number to accept the loss of those before it; after
 * RESUME_AHEAD the session has ended (a LOGOUT with nothing open, or
 * server.session_expiry_s) and its numbers start again: pass 0. Returns 0,
 * or -EISCONN while a connection is open. */
int xt_client_set_resume(xt_client_t *c, uint64_t resume_from);

/* Closes the socket now, without LOGOUT; calls on_close(0) if a connection
 * was open. Returns 0. */
int xt_client_close(xt_client_t *c);

/* The socket, or -1 when closed. Borrowed: do not close it. Every
 * connect/reconnect opens a new socket, and the close before it took the
 * old one out of any epoll set - yet the new one often has the same
 * number (close(), then socket() takes the lowest free number). So after
 * every xt_client_connect()/xt_client_reconnect() that returned 0
 * (including one made in on_close), register xt_client_fd() with your
 * event loop again whatever its number (epoll: EPOLL_CTL_ADD, or
 * EPOLL_CTL_MOD falling back to ADD on ENOENT); never compare numbers to
 * decide whether it changed. */
int xt_client_fd(const xt_client_t *c);

/* CLOCK_MONOTONIC ns at which the last read that returned data did: the
 * receive time of every message being dispatched to a callback now (a
 * latency measurement needs no clock read of its own). */
int64_t xt_client_rx_ns(const xt_client_t *c);

/* Reads what is available (until the socket would block) and dispatches
 * every whole frame to the callbacks. Returns 0 while the connection is
 * usable or after an orderly close (state CLOSED, on_close(0) called);
 * a negative code when the connection failed and was closed (on_close was
 * called with the same code); -ENOTCONN when there is no connection;
 * -EBUSY, doing nothing, when called from a callback of the connection
 * being read (it, and xt_client_poll()/xt_client_wait_login(), which read
 * too, belong in the event loop: the read under way delivers the rest when
 * the callback returns; a callback that closed the client, or on_close,
 * may connect again and read the new connection). A request from a callback that fails because the server
 * closed makes this read go on to the socket's end and close
 * (on_close(-ECONNRESET), or the send's code): it never returns 0 with a
 * dead connection left open. A server breaking the protocol - a frame
 * that does not parse, a type the server does not send, an answer to no
 * request (LOGIN_ACCEPTED/REJECTED without a LOGIN, order messages or
 * INSTRUMENT before the login's answer, LOGOUT_ACK without a LOGOUT), a
 * heartbeat interval (HELLO, LOGIN_ACCEPTED) outside 100..60000 ms - 0
 * says none: the interval in use stays - closes it with -EPROTO. */
int xt_client_on_readable(xt_client_t *c);

/* Completes a pending connect, then writes queued output until the socket
 * would block. Returns as xt_client_on_readable(). */
int xt_client_on_writable(xt_client_t *c);

/* Same as xt_client_on_writable(): write queued output now. Call it after
 * queueing a batch of requests. It returns 0 also when not everything was
 * written: the socket took only part (it would block), or the connect is
 * still in progress. The rest stays queued - xt_client_pending() > 0,
 * xt_client_wants_write() 1 - until xt_client_on_writable() (on
 * writability), a later flush, or xt_client_poll() writes it. */
int xt_client_flush(xt_client_t *c);

/* 1 while the caller should wait for writability (connect in progress or
 * output queued), else 0. */
int xt_client_wants_write(const xt_client_t *c);

/* Timers: queues a HEARTBEAT when nothing was written for heartbeat_ms,
 * and closes the connection with -ETIMEDOUT when nothing was read for
 * 3 x heartbeat_ms and nothing waits unread in the socket (a caller that
 * did not poll for a while is not taken for a silent server), or no
 * HELLO/login answer came within 10 s. After the server's ERROR it sends
 * no heartbeat (the server reads no more; that is no failure) and only
 * waits for the server's close, which on_readable reads (on_close with
 * -ECONNRESET); if the server has not closed 3 x heartbeat_ms after the
 * ERROR (and no end of file waits unread), it closes the connection with
 * -ETIMEDOUT. Returns the milliseconds until it wants to run again (>= 1)
 * or a negative code if the connection was closed by the check (or by
 * the failed write of a heartbeat); with no connection, 1000. */
int xt_client_tick(xt_client_t *c);

/* Blocking convenience (not from a callback: -EBUSY, see
 * xt_client_on_readable()): runs xt_client_tick(), waits up to timeout_ms
 * (-1: until the next timer is due) for the socket, handles it and
 * flushes queued output. It may return early when a timer is due. Returns
 * 1 if the socket was ready, 0 on timeout, or a negative code (the
 * connection failed and was closed, on_close called with that code;
 * -ENOTCONN when it is closed). After the server's ERROR it goes on
 * reading until the server closes: then it returns -ECONNRESET. */
int xt_client_poll(xt_client_t *c, int timeout_ms);

/* Blocking convenience (not from a callback: -EBUSY): polls until
 * logged in with every announced
 * INSTRUMENT received, for up to timeout_ms. Returns 0; -EACCES if the
 * login was rejected (see on_login_rejected); -ETIMEDOUT when timeout_ms
 * ran out (the connection is left as it is: poll on, or
 * xt_client_close()) - or when the client's own timers closed the
 * connection (no HELLO or login answer in 10 s, a silent server:
 * on_close(-ETIMEDOUT) was called, xt_client_state() is
 * XT_CLIENT_CLOSED); another negative code if the connection failed. */
int xt_client_wait_login(xt_client_t *c, int timeout_ms);

/* Requests. Each encodes one frame into the output buffer; nothing is
 * written until xt_client_flush()/on_writable()/poll(), or until the
 * buffer is full (then it is written first). A clordid of 0 is replaced
 * by xt_client_next_clordid() and written back into *m. All return 0;
 * -ENOTCONN unless logged in; -ESHUTDOWN once the server sent ERROR (it
 * closes the connection: on_server_error, then on_close; the request was
 * not sent); -EAGAIN if the output buffer is full and the
 * socket would block (wait for writability, then retry); a negative code
 * if the connection failed while writing. The server's answer arrives
 * through the callbacks (docs/protocol.md, "Answers per request"). */
int xt_client_new_order(xt_client_t *c, xt_msg_new_order_t *m);
int xt_client_cancel(xt_client_t *c, xt_msg_cancel_t *m);
int xt_client_amend(xt_client_t *c, xt_msg_amend_t *m);
/* AMEND_CHECKED: an amend that names the order's instrument (m->instrument);
 * refused WRONG_INSTRUMENT when the order is on another. */
int xt_client_amend_checked(xt_client_t *c, xt_msg_amend_t *m);
int xt_client_mass_cancel(xt_client_t *c, const xt_msg_mass_cancel_t *m);
int xt_client_order_status(xt_client_t *c, const xt_msg_order_status_t *m);
/* HEARTBEAT: logged in, or logging out (until LOGOUT_ACK). */
int xt_client_heartbeat(xt_client_t *c);
/* LOGOUT: state LOGGING_OUT (xt_client_tick() goes on sending heartbeats:
 * the ACK may wait for answers or a resume); after LOGOUT_ACK the client
 * closes (on_close with 0). */
int xt_client_logout(xt_client_t *c);

/* Reserves a fresh clordid for this session: one above the highest the
 * client has used or the server reported in LOGIN_ACCEPTED. */
uint64_t xt_client_next_clordid(xt_client_t *c);

xt_client_state_t xt_client_state(const xt_client_t *c);

/* The sequence number of the last sequenced message delivered (or, right
 * after a login without resume, next_seq - 1); 0 if none yet. */
uint64_t xt_client_last_seq(const xt_client_t *c);

/* The heartbeat interval in force (LOGIN_ACCEPTED, else HELLO, else the
 * configured one), milliseconds. */
uint32_t xt_client_heartbeat_ms(const xt_client_t *c);

/* Bytes queued and not yet written. */
size_t xt_client_pending(const xt_client_t *c);

/* The user pointer from the config. */
void *xt_client_user(const xt_client_t *c);

/* ---- private: the layout is exposed only so that callers can allocate
 * clients (in arrays, on the stack). Do not touch the fields. ---- */
struct xt_client {
    int fd;
    xt_client_state_t state;
    xt_client_config_t cfg; /* host/key_id/secret/bind_addr cleared */
    struct sockaddr_storage addr, src;
    socklen_t addr_len, src_len;
    char key_id[16];
    uint8_t key[32]; /* SHA-256(secret) */
    uint8_t *rbuf, *wbuf;
    size_t rlen, wlen, woff;
    uint64_t last_seq; /* last sequenced message delivered */
    uint64_t last_clordid;
    uint32_t hb_ms;
    uint32_t instruments_left;
    unsigned gen;          /* bumped on every close, to stop dispatching */
    int have_seq;          /* last_seq is meaningful */
    int server_closing;    /* an ERROR came: the server closes; requests are refused -ESHUTDOWN */
    int draining;          /* a send failed: what the socket holds is read before the close */
    int dispatching;       /* callbacks run: a failed send leaves the reading to the read under way */
    unsigned dispatch_gen; /* ... for the connection of this gen (a callback that closed it may read the next) */
    int write_err;         /* that send's code: the read under way reads to the end, then closes with it */
    int64_t last_tx_ns, last_rx_ns, state_ns;
    int64_t closing_ns; /* when the ERROR came (server_closing) */
};

#ifdef __cplusplus
}
#endif

#endif
