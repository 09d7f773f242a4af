/* oe_json.h - order entry in JSON (WebSocket order entry and the REST
 * orders endpoints, docs/websocket.md and docs/rest.md): a JSON request
 * object becomes a binary order-entry frame (docs/protocol.md), and a
 * binary server message becomes JSON. Pure: no I/O, no allocation but
 * jansson's while a request is read; fuzzed by fuzz_oejson.
 *
 * Prices and quantities are decimal strings in the instrument's tick and
 * lot ("1000.00", "0.0010"); a value that is not a whole number of ticks
 * or lots is refused here, before it reaches the gateway.
 */
#ifndef XT_SERVER_OE_JSON_H
#define XT_SERVER_OE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "md_encode.h"
#include "xt/wire.h"

/* The instruments, as the market-data thread knows them: by symbol (id
 * out) and by id; NULL when unknown. */
typedef struct xt_oe_insts {
    const xt_md_sym_t *(*by_symbol)(void *ctx, const char *symbol, uint32_t *id);
    const xt_md_sym_t *(*by_id)(void *ctx, uint32_t id);
    void *ctx;
} xt_oe_insts_t;

enum { XT_OE_NEW = 1, XT_OE_CANCEL, XT_OE_AMEND, XT_OE_MASS_CANCEL, XT_OE_STATUS };

/* The op kind of "order.new", "order.cancel", "order.amend",
 * "order.mass_cancel", "order.status"; 0 for anything else. */
int xt_oe_op(const char *name);

/* 0 when every member of object args is one of names (NULL-terminated),
 * else -1 with why "args has an unknown member: NAME" (NAME cut to 32
 * bytes): a misspelt member is refused rather than read as left out. */
int xt_oe_members_only(json_t *args, const char *const *names, char *why, size_t n);

/* Builds the frame of order op `kind` from its JSON object `args` (fields
 * in docs/websocket.md#order-entry). clordid: the client order id to use
 * when args has no client_order_id (0: it is required), and the
 * request_id of MASS_CANCEL / ORDER_STATUS. order_id: for CANCEL, AMEND
 * and STATUS, an order named outside args (the REST path), else 0.
 * Returns the frame's length with *key set to the id its answer will
 * carry (clordid or request_id), or a negative code with a message in
 * why: XT_ENOENT when the symbol names no instrument, else -1. args
 * NULL (none given) or JSON null is taken as {} for MASS_CANCEL only. */
int xt_oe_frame(const xt_oe_insts_t *in, int kind, json_t *args, uint64_t clordid, int64_t order_id, uint8_t *f,
                uint64_t *key, char *why, size_t whylen);

/* A server message (a whole frame, header checked) as the members of a
 * JSON object, without the braces: "event":"accepted","seq":..,... Returns
 * the length written, 0 when it does not fit cap or the type has no JSON
 * form (HELLO, INSTRUMENT, heartbeats). */
size_t xt_oe_json(const xt_oe_insts_t *in, const uint8_t *f, const xt_wire_hdr_t *h, char *out, size_t cap);

/* What became of a new order by the answer to an ORDER_STATUS sent right
 * behind it (REST's POST /api/v1/orders, docs/rest.md): gathered from the
 * session's FILLs and CANCELED of the order, and that STATUS_REPLY. */
enum { XT_OE_UNKNOWN, XT_OE_OPEN, XT_OE_FILLED, XT_OE_CANCELED };
typedef struct xt_oe_outcome {
    uint32_t instrument;
    uint32_t fills;        /* FILLs of the order */
    int64_t filled;        /* lots */
    int64_t remaining;     /* lots: open when state is XT_OE_OPEN, else 0 */
    uint8_t state;         /* XT_OE_* */
    uint8_t cancel_reason; /* CANCELED's, when state is XT_OE_CANCELED */
} xt_oe_outcome_t;

/* Folds in a FILL or a CANCELED of the order (f a whole frame of that
 * type); then, at the STATUS_REPLY (status_reply NULL: none came, the
 * state stays XT_OE_UNKNOWN unless filled or cancelled), the state. */
void xt_oe_outcome_add(xt_oe_outcome_t *o, const uint8_t *f, const xt_wire_hdr_t *h);
void xt_oe_outcome_end(xt_oe_outcome_t *o, const xt_msg_status_reply_t *status_reply);

/* ,"outcome":{"state":..,"filled":..,"remaining":..,"fills":N,"cancel_reason":..}
 * (o NULL: ,"outcome":null). Returns the length, 0 when it does not fit. */
size_t xt_oe_outcome_json(const xt_oe_insts_t *in, const xt_oe_outcome_t *o, char *out, size_t cap);

/* The key a server message answers: the request's clordid or request_id
 * (REJECTED, ACCEPTED, AMENDED: clordid; CANCELED: request_clordid;
 * STATUS_REPLY, MASS_CANCEL_ACK: request_id); 0 for the others. */
uint64_t xt_oe_answer_key(const uint8_t *f, const xt_wire_hdr_t *h);

/* The HTTP status that best says a REJECTED reason (docs/rest.md). */
int xt_oe_http_status(int reason);

#endif
