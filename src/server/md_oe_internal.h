/* md_oe_internal.h - the state of order entry through the market-data
 * port (md_oe.h), shared by md_oe.c (bridges, WebSocket) and md_oe_rest.c
 * (REST). The md thread's only. */
#ifndef XT_SERVER_MD_OE_INTERNAL_H
#define XT_SERVER_MD_OE_INTERNAL_H

#include <stdint.h>

#include "md_cmd.h"
#include "md_internal.h"
#include "md_oe.h"
#include "oe_json.h"

/* B_HELLO: waiting for the gateway's HELLO; B_READY: HELLO here, no LOGIN
 * sent; B_LOGIN: LOGIN sent; B_LIVE: logged in; B_LOGOUT: LOGOUT sent. */
enum { B_FREE, B_HELLO, B_READY, B_LOGIN, B_LIVE, B_LOGOUT };
enum { OE_WAIT_CHALLENGE = 1, OE_WAIT_LOGIN, OE_WAIT_LOGOUT };
/* What a REST request waits for. */
enum { P_NEW = 1, P_CANCEL, P_AMEND, P_STATUS, P_LIST, P_MASS };

typedef struct oe_bridge {
    int fd; /* the md thread's end; -1: free */
    uint8_t state, rest;
    uint8_t wait_op;  /* WebSocket: the command waiting for the gateway (OE_WAIT_*) */
    uint8_t paused;   /* WebSocket: not read (out of epoll) until the owner's queue drains (xt_mds_oe_drained) */
    uint8_t full;     /* too full for what comes next: the owner's input, or REST's requests, wait for EPOLLOUT */
    uint8_t armed;    /* in epoll (bridge_arm) */
    uint8_t draining; /* REST: a send found the gateway's end closed: what it sent is being read (xt__oe_send_first) */
    uint8_t ended; /* WebSocket: a send found the gateway's end closed: nothing more is sent, it is read to its end */
    uint16_t in_len;
    uint32_t owner; /* WebSocket: the connection (NIL once it closed); REST: the account */
    uint32_t next_free;
    uint32_t gen;                  /* counts the slot's bridges: one closed and another opened in it is told apart */
    uint32_t ip;                   /* WebSocket: the owner's address (XT_OE_LOGINS_PER_IP) */
    uint64_t next_request;         /* the highest client order id or request id used (xt__oe_take_id) */
    int64_t last_out, last_used;   /* m->mono: a frame sent; a REST request served */
    int64_t server_time;           /* HELLO's */
    uint32_t sndbuf;               /* the send buffer of fd, as the kernel counts it (xt_mds_oe_input_room) */
    uint8_t nonce[16];             /* HELLO's */
    uint32_t pend_head, pend_tail; /* REST: requests waiting, oldest first */
    char key_id[17];               /* REST: the key the bridge logged in with */
    char wait_id[XT_MDCMD_ID_MAX]; /* WebSocket: the id of the waiting command */
    char close_why[96];            /* the gateway's ERROR, told when the bridge closes */
    uint16_t close_code;           /* and its code (XT_ERR_*; 0: none came) */
    uint8_t in[XT_WIRE_MAX];       /* a partial frame */
} oe_bridge_t;

typedef struct oe_pend {
    uint32_t conn; /* the HTTP connection waiting; NIL: it closed */
    uint32_t next; /* in the bridge's list, or the free list */
    uint8_t kind;  /* P_* */
    uint8_t keep;  /* keep-alive after the answer */
    uint8_t sent;  /* its frame went to the gateway (else it waits for the login) */
    uint8_t flen;
    uint32_t list;   /* P_LIST: its slot in lists */
    uint32_t bridge; /* the bridge whose list holds it */
    int64_t at;      /* when it came, monotonic ns (rest.order_timeout_ms) */
    uint64_t key;    /* the clordid or request_id its answer carries */
    uint8_t frame[XT_WIRE_MAX];
    /* P_NEW: an ORDER_STATUS of the order goes right behind it (its
     * request_id status_key), so that its answer ends what the order's
     * command did (docs/rest.md): from the ACCEPTED (kept in `accepted`,
     * stage 1) to that answer, the order's FILLs and CANCELED are gathered. */
    uint8_t stage;
    uint8_t no_status; /* the ORDER_STATUS was refused: answered at the ACCEPTED, outcome null */
    uint64_t status_key;
    xt_oe_outcome_t outcome;
    xt_wire_hdr_t accepted_hdr;
    uint8_t accepted[XT_LEN_ACCEPTED];
} oe_pend_t;

/* A GET /api/v1/orders?open=true answer being gathered. */
typedef struct oe_list {
    uint32_t pend; /* NIL: free */
    uint32_t n;
    xt_msg_status_reply_t v[XT_OPEN_ORDERS_MAX];
} oe_list_t;

/* Why a new order session was refused. */
enum { OE_REFUSED_ADDRESS, OE_REFUSED_LOGINS, OE_REFUSED_NO_ROOM, OE_REFUSED_KINDS };

#define XT_OE_REST_CACHE 512 /* find_bridge's cache, by account */

typedef struct xt_oe {
    uint32_t rest_cache[XT_OE_REST_CACHE]; /* a bridge that was the account's (checked on use), or NIL */
    oe_bridge_t *b;
    oe_pend_t *pend;
    oe_list_t *lists;
    uint32_t free_b, free_pend;
    int64_t last_timers;
    int64_t last_deadlines;             /* xt_mono_ns, as the requests' times */
    uint32_t waiting;                   /* REST requests waiting (taken from the free list) */
    uint64_t refused[OE_REFUSED_KINDS]; /* new order sessions refused, by OE_REFUSED_*
                                           (xt_md_order_sessions_refused_total) */
    uint64_t pauses;       /* a WebSocket session's bridge paused for its client (xt_md_order_session_pauses_total) */
    uint64_t input_pauses; /* a WebSocket client not read for its full bridge (..._input_pauses_total) */
} xt_oe_t;

xt_oe_insts_t xt__oe_insts(mds_t *m);
/* A new bridge handed to the gateway; NIL when there is no room. */
uint32_t xt__oe_open(mds_t *m, int rest, uint32_t owner);
/* Closes bridge b; REST requests waiting on it are answered status/why. */
void xt__oe_close(mds_t *m, uint32_t b, int status, const char *why);
/* Every request's clordid / request_id is its first field. */
#define OE_ID_OFFSET XT_WIRE_HDR
#define OE_ID_NEXT UINT64_MAX /* xt_oe_frame's default id: none chosen, one is taken when sent */
/* The id of request frame f about to go on bridge x: f's own, or, when
 * its id field is 0 (the client chose none), one more than the highest the
 * session has used (written into f). ordered: f's id is a client order id
 * (NEW, CANCEL, AMEND), which the gateway wants strictly increasing: a
 * higher one the client chose moves the count on. 0 when f has none and
 * the session's count is at 2^64 - 1: nothing is written, the caller
 * refuses the request. */
uint64_t xt__oe_take_id(oe_bridge_t *x, uint8_t *f, int ordered);
/* The 409's text when xt__oe_take_id has none left (WebSocket and REST). */
#define XT_OE_IDS_USED_UP "the session's ids are used up (the last was 18446744073709551615): name one"

/* Can bridge b take `frames` more frames now (its socket's send buffer)?
 * If not it is marked full and armed for EPOLLOUT, which sends a REST
 * bridge's unsent requests (xt__oe_rest_send_unsent) or reads a WebSocket
 * owner's input on. */
int xt__oe_fits(mds_t *m, uint32_t b, size_t frames);
/* Sends one frame; on failure the bridge is closed and -1 returned. */
int xt__oe_send(mds_t *m, uint32_t b, const uint8_t *f, size_t n);
/* Sends the n bytes of frames f in one write, so that the gateway reads
 * them together; sets *first_sent once the first `first` bytes (a whole
 * frame) went, even when the rest did not and the bridge is closed. (On
 * Linux a send this small to a Unix stream socket goes whole or not at
 * all, EAGAIN; the partial case is kept right all the same.) */
int xt__oe_send_first(mds_t *m, uint32_t b, const uint8_t *f, size_t n, size_t first, uint8_t *first_sent);
void xt__oe_ws_hello(mds_t *m, uint32_t b);
/* The gateway's ERROR frame f, kept to be told when the bridge closes. */
void xt__oe_error_why(oe_bridge_t *x, const uint8_t *f);
/* md_oe_rest.c */
void xt__oe_rest_hello(mds_t *m, uint32_t b);
void xt__oe_rest_message(mds_t *m, uint32_t b, const uint8_t *f, const xt_wire_hdr_t *h);
void xt__oe_rest_closed(mds_t *m, uint32_t b, int status, const char *why);
/* Sends REST bridge b's requests not sent yet, oldest first, as far as
 * it takes them (the login's answer came, or room came back). */
void xt__oe_rest_send_unsent(mds_t *m, uint32_t b);
/* The HTTP connection of waiting request pi closed: its answer goes
 * nowhere; not sent to the gateway yet, it is dropped (nothing done: a
 * client that sends it again does not place it twice). */
void xt__oe_rest_forget(mds_t *m, uint32_t pi);
/* Closes the REST bridges whose oldest request has waited past
 * rest.order_timeout_ms: their requests are answered 504. */
void xt__oe_rest_deadlines(mds_t *m, int64_t now);

#endif
