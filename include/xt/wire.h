/* wire.h - the binary order-entry protocol: frames and messages.
 *
 * Byte-by-byte description with a worked session: docs/protocol.md. Every
 * frame is little-endian and starts with a 16-byte header:
 *
 *   0  u16 len     whole frame in bytes, header included
 *   2  u8  type    XT_MSG_*
 *   3  u8  flags   server->client: XT_WF_SEQUENCED if this message takes the
 *                  session sequence number in `seq`; otherwise `seq` is the
 *                  number of the last sequenced message sent before it.
 *                  client->server: 0
 *   4  u32 zero
 *   8  u64 seq
 *
 * Every message type has one fixed length (XT_LEN_*); a frame whose len is
 * not its type's length is malformed. The codec is pure: functions over
 * caller buffers, no I/O, no allocation.
 */
#ifndef XT_WIRE_H
#define XT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "xt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XT_WIRE_VERSION 1
#define XT_WIRE_HDR 16
#define XT_WIRE_MAX 128 /* the largest message of either direction */

enum { XT_WF_SEQUENCED = 1u << 0 };

typedef enum xt_msg_type {
    /* client -> server */
    XT_MSG_LOGIN = 0x01,
    XT_MSG_HEARTBEAT = 0x02,
    XT_MSG_NEW_ORDER = 0x03,
    XT_MSG_CANCEL = 0x04,
    XT_MSG_AMEND = 0x05,
    XT_MSG_MASS_CANCEL = 0x06,
    XT_MSG_ORDER_STATUS = 0x07,
    XT_MSG_LOGOUT = 0x08,
    XT_MSG_AMEND_CHECKED = 0x09, /* AMEND naming the order's instrument (docs/protocol.md) */
    /* server -> client, never sequenced */
    XT_MSG_HELLO = 0x81,
    XT_MSG_LOGIN_ACCEPTED = 0x82,
    XT_MSG_LOGIN_REJECTED = 0x83,
    XT_MSG_INSTRUMENT = 0x84,
    XT_MSG_SERVER_HEARTBEAT = 0x85,
    XT_MSG_ERROR = 0x86,
    XT_MSG_STATUS_REPLY = 0x87,
    XT_MSG_MASS_CANCEL_ACK = 0x88,
    XT_MSG_LOGOUT_ACK = 0x89,
    /* server -> client, sequenced when they come from the journaled engine
     * (REJECTED is unsequenced when the gateway itself rejects) */
    XT_MSG_ACCEPTED = 0x90,
    XT_MSG_REJECTED = 0x91,
    XT_MSG_FILL = 0x92,
    XT_MSG_CANCELED = 0x93,
    XT_MSG_AMENDED = 0x94,
} xt_msg_type_t;

enum {
    XT_LEN_LOGIN = 104,
    XT_LEN_HEARTBEAT = 16,
    XT_LEN_NEW_ORDER = 56,
    XT_LEN_CANCEL = 40,
    XT_LEN_AMEND = 56,
    XT_LEN_MASS_CANCEL = 32,
    XT_LEN_ORDER_STATUS = 40,
    XT_LEN_LOGOUT = 16,
    XT_LEN_AMEND_CHECKED = 64,
    XT_LEN_HELLO = 48,
    XT_LEN_LOGIN_ACCEPTED = 56,
    XT_LEN_LOGIN_REJECTED = 32,
    XT_LEN_INSTRUMENT = 96,
    XT_LEN_SERVER_HEARTBEAT = 16,
    XT_LEN_ERROR = 80,
    XT_LEN_STATUS_REPLY = 88,
    XT_LEN_MASS_CANCEL_ACK = 32,
    XT_LEN_LOGOUT_ACK = 16,
    XT_LEN_ACCEPTED = 64,
    XT_LEN_REJECTED = 48,
    XT_LEN_FILL = 80,
    XT_LEN_CANCELED = 64,
    XT_LEN_AMENDED = 72,
};

/* Order reject / cancel reasons on the wire: the core's xt_reason_t values
 * (1..15) and the gateway's own from 64. */
enum {
    XT_R_RATE_LIMIT = 64,        /* the session's token bucket is empty */
    XT_R_OVERLOADED = 65,        /* the engine's inbound ring is full */
    XT_R_DUPLICATE_CLORDID = 66, /* client order id not above the last one used */
    XT_R_NOT_LOGGED_IN = 67,     /* an order before a successful login */
    XT_R_HALTED = 68,            /* the instrument is halted */
    XT_R_SHUTTING_DOWN = 69,     /* the server is stopping */
    XT_R_OPEN_ORDER_LIMIT = 70,  /* the account has its maximum of open orders */
    XT_R_JOURNAL_FAILED = 71,    /* the journal failed closed; nothing is accepted */
    XT_R_INVALID_FIELD = 72,     /* a field out of its domain (side 7, clordid 0, ...) */
    XT_R_UNKNOWN_INSTRUMENT = 73,
    XT_R_WRONG_INSTRUMENT = 74, /* AMEND_CHECKED of an order on another instrument */
    XT_R_GATEWAY_MAX_ = 75,
};

/* LOGIN_REJECTED reasons. */
enum {
    XT_LR_BAD_VERSION = 1,
    XT_LR_UNKNOWN_KEY = 2, /* no such key id for this account */
    XT_LR_BAD_SIGNATURE = 3,
    XT_LR_CLOCK_SKEW = 4,        /* timestamp outside the server's window */
    XT_LR_RESUME_TOO_OLD = 5,    /* resume_from is older than the retention window */
    XT_LR_RESUME_AHEAD = 6,      /* resume_from is beyond the next sequence number */
    XT_LR_TOO_MANY_SESSIONS = 7, /* the server's session table is full (server.max_sessions) */
    XT_LR_SHUTTING_DOWN = 8,
    XT_LR_ALREADY_LOGGED_IN = 9, /* a second LOGIN on one connection */
    XT_LR_BAD_FIELD = 10,        /* session 0, heartbeat out of range, ... */
    XT_LR_SESSION_LIMIT = 11,    /* a new session beyond server.max_sessions_per_account */
};

/* ERROR codes: the server closes the connection after sending one. */
enum {
    XT_ERR_MALFORMED = 1, /* len does not match the type, bad header */
    XT_ERR_FRAME_TOO_LARGE = 2,
    XT_ERR_UNKNOWN_TYPE = 3,
    XT_ERR_LOGIN_TIMEOUT = 4,     /* no LOGIN in time */
    XT_ERR_HEARTBEAT_TIMEOUT = 5, /* nothing received for 3 heartbeat intervals */
    XT_ERR_SLOW_CONSUMER = 6,     /* output buffer over its limit */
    XT_ERR_RESYNC = 7,            /* messages were lost in the server; log in again and resume */
    XT_ERR_SHUTDOWN = 8,
    XT_ERR_TAKEN_OVER = 9, /* a newer connection logged in to this session */
    XT_ERR_LOGGED_OUT = 10,
    XT_ERR_KICKED = 11, /* an operator closed the session */
    XT_ERR_TOO_MANY_CONNECTIONS = 12,
};

/* OrderStatus reply status. */
enum { XT_OS_UNKNOWN = 0, XT_OS_OPEN = 1 };
/* Fill liquidity. */
enum { XT_LIQ_MAKER = 1, XT_LIQ_TAKER = 2 };
/* LOGIN flags: cancel on disconnect; INSTRUMENT again, unsequenced, at
 * each halt or resume while logged in (docs/protocol.md#0x84-instrument). */
enum { XT_LOGIN_CANCEL_ON_DISCONNECT = 1u << 0, XT_LOGIN_STATUS_UPDATES = 1u << 1 };

typedef struct xt_wire_hdr {
    uint16_t len;
    uint8_t type;
    uint8_t flags;
    uint64_t seq;
} xt_wire_hdr_t;

/* ---- client -> server ---- */

typedef struct xt_msg_login {
    uint16_t version;
    uint16_t flags; /* XT_LOGIN_* */
    uint32_t account;
    char key_id[16];       /* NUL-padded ASCII */
    uint32_t session;      /* client-chosen session number, >= 1 */
    uint32_t heartbeat_ms; /* 0: the server's default */
    uint64_t resume_from;  /* 0: no replay; N: resend sequenced messages from N */
    int64_t timestamp_ns;  /* client wall clock, Unix ns */
    uint8_t signature[32];
} xt_msg_login_t;

typedef struct xt_msg_new_order {
    uint64_t clordid;
    uint32_t instrument;
    uint8_t side, type, tif, stp;
    int64_t price; /* ticks; 0 for MARKET */
    int64_t qty;   /* lots */
} xt_msg_new_order_t;

/* CANCEL, AMEND and ORDER_STATUS name their order by orig_clordid (order
 * placed in this session) or by order_id (any order of the account); one of
 * the two is zero. */
typedef struct xt_msg_cancel {
    uint64_t clordid; /* this request's id */
    uint64_t orig_clordid;
    int64_t order_id;
} xt_msg_cancel_t;

typedef struct xt_msg_amend {
    uint64_t clordid;
    uint64_t orig_clordid;
    int64_t order_id;
    int64_t price;       /* ticks; 0: unchanged */
    int64_t qty;         /* new remaining quantity, lots */
    uint32_t instrument; /* AMEND_CHECKED only: the order's, as the client knows it (price and qty are in its units) */
} xt_msg_amend_t;

typedef struct xt_msg_mass_cancel {
    uint64_t request_id;
    uint32_t instrument; /* UINT32_MAX: every instrument */
} xt_msg_mass_cancel_t;

typedef struct xt_msg_order_status {
    uint64_t request_id;
    uint64_t orig_clordid;
    int64_t order_id;
} xt_msg_order_status_t;

/* ---- server -> client ---- */

typedef struct xt_msg_hello {
    uint16_t version;
    uint32_t heartbeat_ms;
    uint8_t nonce[16];
    int64_t server_time_ns;
} xt_msg_hello_t;

typedef struct xt_msg_login_accepted {
    uint32_t session;
    uint32_t heartbeat_ms;
    uint64_t next_seq;     /* the number the next new sequenced message gets */
    uint64_t resume_from;  /* first message replayed now, 0 if none */
    uint64_t last_clordid; /* the highest client order id used in the session */
    uint32_t instruments;  /* INSTRUMENT messages that follow */
} xt_msg_login_accepted_t;

typedef struct xt_msg_login_rejected {
    uint16_t reason;     /* XT_LR_* */
    uint64_t oldest_seq; /* RESUME_TOO_OLD: the oldest message still kept */
} xt_msg_login_rejected_t;

/* INSTRUMENT's status (docs/admin.md: halt and resume). */
enum { XT_INSTRUMENT_TRADING = 0, XT_INSTRUMENT_HALTED = 1 };
#define XT_INSTRUMENT_STATUS_OFF 21 /* its byte in the frame, set per send over a frame made once */

typedef struct xt_msg_instrument {
    uint32_t id;
    uint8_t has_band;
    char symbol[16]; /* NUL-padded */
    int64_t tick_m;  /* tick = tick_m * 10^-tick_scale */
    int64_t lot_m;
    int64_t min_qty;   /* lots */
    int64_t max_qty;   /* lots */
    int64_t band_low;  /* ticks, 0 without a band */
    int64_t band_high; /* ticks, 0 without a band */
    uint8_t tick_scale, lot_scale;
    uint8_t status; /* XT_INSTRUMENT_TRADING or XT_INSTRUMENT_HALTED, as the list is sent (last: added later) */
} xt_msg_instrument_t;

typedef struct xt_msg_error {
    uint16_t code; /* XT_ERR_* */
    char text[62]; /* NUL-padded */
} xt_msg_error_t;

typedef struct xt_msg_status_reply {
    uint64_t request_id;
    int64_t order_id;
    uint64_t clordid;
    uint32_t instrument;
    uint8_t status; /* XT_OS_* */
    uint8_t side, type, tif;
    int64_t price;
    int64_t remaining;
    int64_t filled;
} xt_msg_status_reply_t;

typedef struct xt_msg_mass_cancel_ack {
    uint64_t request_id;
    uint32_t canceled;
} xt_msg_mass_cancel_ack_t;

typedef struct xt_msg_accepted {
    uint64_t clordid;
    int64_t order_id;
    uint32_t instrument;
    uint8_t side, type, tif, stp;
    int64_t price;
    int64_t qty;
    int64_t ts;
} xt_msg_accepted_t;

typedef struct xt_msg_rejected {
    uint64_t clordid;
    int64_t order_id; /* the target of a cancel / amend, else 0 */
    uint16_t reason;
    uint8_t request; /* the rejected request's type: XT_MSG_NEW_ORDER .. XT_MSG_ORDER_STATUS */
    uint32_t instrument;
    int64_t ts;
} xt_msg_rejected_t;

typedef struct xt_msg_fill {
    uint64_t clordid;
    int64_t order_id;
    uint64_t trade_id;
    uint32_t instrument;
    uint8_t side;
    uint8_t liquidity; /* XT_LIQ_* */
    int64_t price;
    int64_t qty;
    int64_t remaining;
    int64_t ts;
} xt_msg_fill_t;

typedef struct xt_msg_canceled {
    uint64_t clordid; /* the order's */
    int64_t order_id;
    uint32_t instrument;
    uint8_t side;
    uint16_t reason;
    int64_t qty;              /* canceled quantity, lots */
    uint64_t request_clordid; /* the CANCEL request that caused it, else 0 */
    int64_t ts;
} xt_msg_canceled_t;

typedef struct xt_msg_amended {
    uint64_t clordid; /* the AMEND request's */
    int64_t order_id;
    uint64_t orig_clordid;
    int64_t price;
    int64_t qty;
    uint8_t priority_kept;
    int64_t ts;
    uint32_t instrument; /* XT_INSTRUMENT_UNKNOWN: resent from before AMENDED named it (last: old initialisers hold) */
} xt_msg_amended_t;

/* AMENDED's instrument when the server does not know it (docs/protocol.md):
 * the core's "no such instrument". */
#define XT_INSTRUMENT_UNKNOWN XT_INSTRUMENT_NONE
#ifndef __cplusplus
_Static_assert(XT_INSTRUMENT_UNKNOWN == 0xFFFFFFFFu, "docs/protocol.md fixes the wire value");
#endif

/* The length a message of this type must have, or 0 for an unknown type. */
size_t xt_wire_len(uint8_t type);

/* Parses a frame header from buf[0..avail).
 * Returns the frame length (> 0) when a whole frame is there, 0 when more
 * bytes are needed, or a negative XT_ERR_* code (MALFORMED: len < 16, a
 * nonzero reserved field; FRAME_TOO_LARGE: len > max_frame; UNKNOWN_TYPE;
 * MALFORMED: len is not the type's length). Checks as much as the bytes
 * present allow, so a bad length is reported before the frame is whole. */
int xt_wire_frame(const uint8_t *buf, size_t avail, size_t max_frame, xt_wire_hdr_t *hdr);

/* The same framing for another set of messages on this header (the binary
 * market-data port): len_of gives the length a type must have, 0 for a
 * type that set does not take. */
int xt_wire_frame_of(const uint8_t *buf, size_t avail, size_t max_frame, size_t (*len_of)(uint8_t type),
                     xt_wire_hdr_t *hdr);

/* Decoders: body of a frame already accepted by xt_wire_frame() with the
 * matching type. Pure field extraction; the caller checks field domains. */
void xt_wire_get_login(const uint8_t *f, xt_msg_login_t *m);
void xt_wire_get_new_order(const uint8_t *f, xt_msg_new_order_t *m);
void xt_wire_get_cancel(const uint8_t *f, xt_msg_cancel_t *m);
void xt_wire_get_amend(const uint8_t *f, xt_msg_amend_t *m);
void xt_wire_get_amend_checked(const uint8_t *f, xt_msg_amend_t *m);
void xt_wire_get_mass_cancel(const uint8_t *f, xt_msg_mass_cancel_t *m);
void xt_wire_get_order_status(const uint8_t *f, xt_msg_order_status_t *m);
void xt_wire_get_hello(const uint8_t *f, xt_msg_hello_t *m);
void xt_wire_get_login_accepted(const uint8_t *f, xt_msg_login_accepted_t *m);
void xt_wire_get_login_rejected(const uint8_t *f, xt_msg_login_rejected_t *m);
void xt_wire_get_instrument(const uint8_t *f, xt_msg_instrument_t *m);
void xt_wire_get_error(const uint8_t *f, xt_msg_error_t *m);
void xt_wire_get_status_reply(const uint8_t *f, xt_msg_status_reply_t *m);
void xt_wire_get_mass_cancel_ack(const uint8_t *f, xt_msg_mass_cancel_ack_t *m);
void xt_wire_get_accepted(const uint8_t *f, xt_msg_accepted_t *m);
void xt_wire_get_rejected(const uint8_t *f, xt_msg_rejected_t *m);
void xt_wire_get_fill(const uint8_t *f, xt_msg_fill_t *m);
void xt_wire_get_canceled(const uint8_t *f, xt_msg_canceled_t *m);
void xt_wire_get_amended(const uint8_t *f, xt_msg_amended_t *m);

/* Encoders: write the whole frame (header with flags and seq as given,
 * zero padding) into f, which has room for XT_WIRE_MAX bytes. Return the
 * frame length. */
size_t xt_wire_put_header(uint8_t *f, uint8_t type, uint8_t flags, uint64_t seq); /* header-only messages */
size_t xt_wire_put_login(uint8_t *f, const xt_msg_login_t *m);
size_t xt_wire_put_new_order(uint8_t *f, const xt_msg_new_order_t *m);
size_t xt_wire_put_cancel(uint8_t *f, const xt_msg_cancel_t *m);
size_t xt_wire_put_amend(uint8_t *f, const xt_msg_amend_t *m);
size_t xt_wire_put_amend_checked(uint8_t *f, const xt_msg_amend_t *m);
size_t xt_wire_put_mass_cancel(uint8_t *f, const xt_msg_mass_cancel_t *m);
size_t xt_wire_put_order_status(uint8_t *f, const xt_msg_order_status_t *m);
size_t xt_wire_put_hello(uint8_t *f, uint64_t seq, const xt_msg_hello_t *m);
size_t xt_wire_put_login_accepted(uint8_t *f, uint64_t seq, const xt_msg_login_accepted_t *m);
size_t xt_wire_put_login_rejected(uint8_t *f, uint64_t seq, const xt_msg_login_rejected_t *m);
size_t xt_wire_put_instrument(uint8_t *f, uint64_t seq, const xt_msg_instrument_t *m);
size_t xt_wire_put_error(uint8_t *f, uint64_t seq, const xt_msg_error_t *m);
size_t xt_wire_put_status_reply(uint8_t *f, uint64_t seq, const xt_msg_status_reply_t *m);
size_t xt_wire_put_mass_cancel_ack(uint8_t *f, uint64_t seq, const xt_msg_mass_cancel_ack_t *m);
size_t xt_wire_put_accepted(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_accepted_t *m);
size_t xt_wire_put_rejected(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_rejected_t *m);
size_t xt_wire_put_fill(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_fill_t *m);
size_t xt_wire_put_canceled(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_canceled_t *m);
size_t xt_wire_put_amended(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_amended_t *m);

/* Rewrites the flags and seq of an encoded frame in place. */
void xt_wire_set_seq(uint8_t *f, uint8_t flags, uint64_t seq);
/* Rewrites the status of an encoded INSTRUMENT frame in place: halted
 * (nonzero) or trading. */
void xt_wire_set_instrument_status(uint8_t *f, int halted);

/* The login signature: HMAC-SHA256 keyed with the 32-byte signing key
 * (SHA-256 of the API secret) over the 56 bytes
 *   "XTLOGIN1" | nonce[16] | account u32 | key_id[16] | session u32 | timestamp_ns i64
 * (integers little-endian). Fills out with them for the caller's HMAC. */
#define XT_LOGIN_SIGNED_LEN 56
void xt_wire_login_signed_bytes(uint8_t out[XT_LOGIN_SIGNED_LEN], const uint8_t nonce[16], uint32_t account,
                                const char key_id[16], uint32_t session, int64_t timestamp_ns);

/* Names for logs and tools ("RATE_LIMIT", "BAD_SIGNATURE", ...); "?" if unknown. */
const char *xt_wire_reason_name(int reason);
const char *xt_wire_login_reason_name(int reason);
const char *xt_wire_error_name(int code);
const char *xt_wire_type_name(int type);

#ifdef __cplusplus
}
#endif

#endif
