/* md_oe.h - order entry through the market-data port (docs/websocket.md,
 * "Order entry", and docs/rest.md, "Orders"), in the md thread.
 *
 * Neither WebSocket nor REST order entry has a session logic of its own:
 * each opens a *bridge*, a socketpair whose other end the gateway adopts
 * as an ordinary order-entry connection (xt_gateway_adopt), and speaks the
 * binary protocol (docs/protocol.md) on it. So the session rules are the
 * gateway's by construction: the same login check, the same reasons, the
 * same client-order-id idempotency, token bucket, open-order limit,
 * resume and cancel-on-disconnect.
 *
 *   WebSocket  one bridge per logged-in connection. `auth.challenge`
 *              opens it and returns the gateway's HELLO nonce; `login`
 *              sends the client's signed LOGIN through (the gateway checks
 *              the signature); every server message of the session is then
 *              pushed as JSON on the connection's `orders` channel.
 *   REST       one bridge per account, logged in to session
 *              XT_OE_REST_SESSION as a trusted connection: the md thread
 *              has checked the request's signature (rest_auth.c). Each
 *              request waits for its answer (the HTTP connection reads
 *              nothing more meanwhile).
 */
#ifndef XT_SERVER_MD_OE_H
#define XT_SERVER_MD_OE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "metrics.h"
#include "net/ws.h"

struct xt_md_server;

#define XT_REST_DEFERRED 0             /* the REST answer will be queued later */
#define XT_OE_REST_SESSION 4294967295u /* the session number REST orders are placed in */
#define XT_OE_BRIDGES 1024             /* bridges at once: WebSocket order sessions and REST accounts */
/* WebSocket logins in progress (auth.challenge answered, no session yet;
 * the gateway ends one after server.login_timeout_ms): capped so that
 * anonymous clients cannot take the bridges of sessions and REST. */
#define XT_OE_LOGINS (XT_OE_BRIDGES / 4) /* in total */
#define XT_OE_LOGINS_PER_IP 8            /* from one IPv4 address */
#define XT_OE_PENDING 4096               /* REST requests waiting for their answers */
#define XT_OE_LISTS 4                    /* GET /api/v1/orders?open=true answers being gathered at once */

/* Tables, at start. Returns 0 or -1. */
int xt_mds_oe_init(struct xt_md_server *m);
void xt_mds_oe_destroy(struct xt_md_server *m);

/* An epoll event on bridge b (its data is XT_OE_EV | b). */
#define XT_OE_EV ((uint64_t)2 << 32)
void xt_mds_oe_event(struct xt_md_server *m, uint32_t b, uint32_t events);

/* The bridges' metrics (docs/metrics.md): order sessions by kind, REST
 * requests waiting, sessions refused. */
void xt_mds_oe_metrics(const struct xt_md_server *m, xt_text_t *t);

/* Connection c's queue has drained (md_conn.c flush_conn): its order
 * session's bridge, paused while the queue was full, is read again. */
void xt_mds_oe_drained(struct xt_md_server *m, uint32_t c);

/* How many bytes connection c (a WebSocket) may be read now: what its
 * messages could send to its order-entry bridge must fit the bridge's
 * socket (each message sends at most one frame; SIZE_MAX: no bridge).
 * 0: too little room; its input is paused until the gateway has read
 * some (the bridge's EPOLLOUT resumes it). A burst of orders waits in the
 * client's socket instead of closing its session as overloaded. */
size_t xt_mds_oe_input_room(struct xt_md_server *m, uint32_t c);

/* At a stop, after the gateway has closed every connection: what each
 * bridge still holds - its last answers, the ERROR SHUTDOWN - is read to
 * its end, so a WebSocket hears its `closed` event before the close frame
 * (its epoll event may not have come before the md thread's stop did). */
void xt_mds_oe_read_to_end(struct xt_md_server *m);

/* Heartbeats on the bridges; REST bridges idle for a minute are closed. */
void xt_mds_oe_timers(struct xt_md_server *m);

/* The md thread did not run for `gap` ns (md_server.c): the bridges'
 * clocks and the REST requests' waits move on by it, so a stop of the
 * server's own is not answered 504 (rest.order_timeout_ms). */
void xt_mds_oe_stalled(struct xt_md_server *m, int64_t gap);

/* A WebSocket command (parsed; the caller keeps root) whose op is an
 * order-entry one (auth.challenge, login, logout, order.*): handled, 1;
 * any other op, or an id market data refuses, 0. */
int xt_mds_oe_command(struct xt_md_server *m, uint32_t c, json_t *root);

/* Is connection c logged in to an order session? Its order requests
 * (order.*) are held to the gateway's limits.rate instead of
 * md.messages_per_s; everything else, auth.* included, is not. */
int xt_mds_oe_live(const struct xt_md_server *m, uint32_t c);
/* Is c's order-entry bridge paused for c's own unread queue (its client
 * not reading)? A connection whose input a login holds (oe_hold) then
 * owes its pong as one paused for its backlog does: the login's answer
 * waits in the paused bridge for the client to read. */
int xt_mds_oe_waits_for_reader(const struct xt_md_server *m, uint32_t c);

/* Connection c is closing: its bridge goes (the gateway sees the session's
 * connection close), its waiting REST request is forgotten. */
void xt_mds_oe_conn_closed(struct xt_md_server *m, uint32_t c);

/* Serves an authenticated /api/v1/orders request for account (key_id: the
 * key that signed it). Returns the answer's length in m->http_out as
 * xt_mds_rest_answer does, or XT_REST_DEFERRED when the answer will be
 * queued later (xt_mds_http_deferred). */
int xt_mds_oe_rest(struct xt_md_server *m, uint32_t c, uint32_t account, const char *key_id, const xt_http_req_t *req,
                   const char *body, size_t body_len, int keep);

#endif
