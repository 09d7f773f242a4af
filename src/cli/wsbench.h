/* wsbench.h - internals of `xtrading wsbench` (docs/cli.md), shared by its
 * two files: wsb_conn.c, one market-data client connection (TCP connect,
 * the WebSocket handshake and frames, the subscribe exchange of xtrading or
 * of NATS-over-WebSocket, and the classification and timing of each
 * message); cmd_wsbench.c, the command (options, the channel assignment,
 * the epoll loop and its phases, the report, the NATS publisher).
 *
 * One thread, one epoll set. Each connection's state is a fixed struct
 * allocated at start (no allocation per message); all connections read
 * into one shared buffer, and only the first WSB_PREFIX bytes of each
 * message are kept: enough for {"ch":"<name>","ts":<ns>,"type":"snapshot". */
#ifndef XT_CLI_WSBENCH_H
#define XT_CLI_WSBENCH_H

#include <netinet/in.h>
#include <stdint.h>

#include "server/histogram.h"

#define WSB_PREFIX 192                /* bytes of a message kept for parsing */
#define WSB_CH_MAX 80                 /* a channel name, NUL included */
#define WSB_MAX_PER_CONN 64           /* the server's md.max_subscriptions default */
#define WSB_SUB_CHUNK 32              /* channels per subscribe message (md.max_message: 4096 bytes) */
#define WSB_NATS_LINE 128             /* NATS protocol line bytes kept */
#define WSB_RBUF ((size_t)256 * 1024) /* the shared read buffer */
#define WSB_NIL UINT32_MAX

/* Connection states. */
enum { CS_IDLE, CS_CONNECTING, CS_HTTP, CS_SUBSCRIBING, CS_LIVE, CS_STALLED, CS_DRAIN, CS_DONE };

/* How a connection ended, for the close counts. */
enum { CL_1000, CL_1001, CL_1008, CL_NO_PONG, CL_1011, CL_OTHER, CL_EOF, CL_N }; /* CL_NO_PONG: 1008 "no pong" */

/* The NATS text protocol, parsed as a stream across WebSocket frames. */
typedef struct wsb_nats {
    uint8_t st; /* NS_LINE, NS_PAYLOAD, NS_CRLF */
    uint8_t crlf_left;
    uint16_t line_len; /* bytes of the line so far (kept: up to WSB_NATS_LINE) */
    uint16_t pre_len;
    uint32_t payload_left;
    char line[WSB_NATS_LINE];
    uint8_t pre[WSB_PREFIX]; /* the start of the MSG payload */
} wsb_nats_t;

typedef struct wsb_conn {
    int fd;
    uint8_t state, stalled;
    uint8_t hdr_len, in_frame, capture, in_frag, opcode, fin;
    uint8_t http_match; /* bytes of "\r\n\r\n" matched at the end of the response head */
    uint16_t acks_due;  /* subscribe answers (NATS: the PONG) still to come */
    uint16_t pre_len;
    uint64_t remaining; /* payload bytes of the current frame still to come */
    int64_t t_start;    /* monotonic ns: connect started (timeouts) */
    uint8_t *pend;      /* bytes the socket did not take (rare: only when it is full) */
    uint32_t pend_len, pend_off;
    uint8_t hdr[14];
    uint8_t pre[WSB_PREFIX]; /* the start of the current message or control frame */
    wsb_nats_t *nt;          /* --nats: the stream state */
} wsb_conn_t;

typedef struct wsb_opts {
    char host[256];
    uint16_t port;
    uint32_t conns, per_conn, window, stall_rcvbuf, size;
    double duration, warmup, stall, rate;
    int json, nats, publish, duration_set;
    const char *publisher_flag; /* --rate or --size given: the publisher's alone */
    long server_pid;
    const char *channels, *symbols;
} wsb_opts_t;

typedef struct wsb_stats {
    uint64_t messages, snapshots, updates, bytes; /* measured: counted connections, in the window */
    uint64_t warm_messages;                       /* before or after the window, or stalled */
    uint64_t all_snapshots;                       /* every snapshot, the initial ones included */
    uint64_t wrong_channel, bad_messages, negative_latency, other_replies;
    uint64_t connect_failed, handshake_failed, subscribe_errors, timeouts, lost, protocol_errors;
    uint64_t closes[CL_N]; /* non-stalled connections the server closed, by how */
    uint64_t stalled, stalled_closed;
    uint64_t stalled_closes[CL_N]; /* stalled ones */
    xt_hist_t hist;                /* event ts -> receive, µs, updates only */
} wsb_stats_t;

typedef struct wsb {
    wsb_opts_t o;
    wsb_conn_t *c;
    wsb_nats_t *nt;
    uint32_t n;
    int ep;
    struct sockaddr_in dst;
    uint32_t n_sources;     /* 0: no source binding, else 127.0.0.2 .. 127.0.0.(1 + n_sources) */
    char (*ch)[WSB_CH_MAX]; /* the channel universe */
    uint32_t n_ch, hash_mask;
    uint32_t *hash; /* name -> channel index (open addressing) */
    uint32_t inflight, next_connect, live, failed, subscribed;
    int counting; /* messages received now are measured */
    uint64_t rng;
    uint8_t *rbuf;
    char *scratch;
    wsb_stats_t st;
} wsb_t;

/* The clocks, in ns. */
int64_t wsb_mono_ns(void);
int64_t wsb_real_ns(void);

/* The channel index of name[0..len), or WSB_NIL. */
uint32_t wsb_channel_find(const wsb_t *b, const char *name, size_t len);

/* The channel of connection i's subscription j (j < per_conn). */
uint32_t wsb_channel_of(const wsb_t *b, uint32_t i, uint32_t j);

/* Starts connection i: socket, source binding, non-blocking connect,
 * registration. Returns 0, or a negative errno (the connection is then
 * CS_DONE and counted as failed). */
int wsb_conn_start(wsb_t *b, uint32_t i);

/* Handles epoll events for connection i. */
void wsb_conn_event(wsb_t *b, uint32_t i, uint32_t events);

/* Closes connection c (no close frame) and bumps *counter (may be NULL).
 * A connection still connecting counts as failed, a live one no longer
 * as live. */
void wsb_conn_close(wsb_t *b, wsb_conn_t *c, uint64_t *counter);

/* Stalled connection: start reading again, discarding, to see whether the
 * server closed it (CS_DRAIN). */
void wsb_conn_resume(wsb_t *b, wsb_conn_t *c);

#endif
