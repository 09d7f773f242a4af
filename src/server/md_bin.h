/* md_bin.h - binary market data over TCP (docs/md-binary.md): the codec.
 * The encoders (md_encode_bin.c) write whole frames into a caller buffer;
 * the inbound parser (md_cmd_bin.c) frames and decodes what a client sends.
 * Pure: no I/O, no allocation, no global state.
 *
 * The framing is the order-entry protocol's (docs/protocol.md), little-endian:
 *
 *   0  u16 len     whole frame in bytes, header included
 *   2  u8  type    below
 *   3  u8  flags   0
 *   4  u32 zero
 *   8  u64 seq     server -> client: DEPTH_*, BBO and TICKER carry the
 *                  instrument's book version; everything else 0.
 *                  client -> server: 0
 *
 * Types (length in parentheses; DEPTH_* have 48 bytes + 16 per level):
 *   client -> server  0x02 HEARTBEAT (16)  0x20 SUBSCRIBE  0x21 UNSUBSCRIBE  0x22 SNAPSHOT (32 each)
 *   server -> client  0x84 INSTRUMENT (96)  0x85 HEARTBEAT (16)  0x86 ERROR (80): as in order entry;
 *                     0xA0 MD_HELLO (48)  0xA1 ACK (32)  0xA2 REJECT (80)
 *                     0xA3 DEPTH_SNAPSHOT  0xA4 DEPTH_DELTA  0xA5 TRADE (56)  0xA6 TICKER (168)  0xA7 BBO (64)
 * The body layouts are in md_encode_bin.c (server messages) and
 * md_cmd_bin.c (client messages), offset by offset as in the doc.
 */
#ifndef XT_SERVER_MD_BIN_H
#define XT_SERVER_MD_BIN_H

#include <stddef.h>
#include <stdint.h>

#include "md/md.h"
#include "xt/wire.h"

#define XT_MDB_VERSION 1

enum {
    /* client -> server (and XT_MSG_HEARTBEAT) */
    XT_MDB_SUBSCRIBE = 0x20,
    XT_MDB_UNSUBSCRIBE = 0x21,
    XT_MDB_SNAPSHOT = 0x22,
    /* server -> client (and XT_MSG_INSTRUMENT, XT_MSG_SERVER_HEARTBEAT, XT_MSG_ERROR) */
    XT_MDB_HELLO = 0xA0,
    XT_MDB_ACK = 0xA1,
    XT_MDB_REJECT = 0xA2,
    XT_MDB_DEPTH_SNAPSHOT = 0xA3,
    XT_MDB_DEPTH_DELTA = 0xA4,
    XT_MDB_TRADE = 0xA5,
    XT_MDB_TICKER = 0xA6,
    XT_MDB_BBO = 0xA7,
};

enum {
    XT_MDB_LEN_REQUEST = 32, /* SUBSCRIBE, UNSUBSCRIBE, SNAPSHOT */
    XT_MDB_LEN_HELLO = 48,
    XT_MDB_LEN_ACK = 32,
    XT_MDB_LEN_REJECT = 80,
    XT_MDB_LEN_DEPTH = 48, /* + XT_MDB_LEN_LEVEL per level */
    XT_MDB_LEN_LEVEL = 16,
    XT_MDB_LEN_TRADE = 56,
    XT_MDB_LEN_TICKER = 168,
    XT_MDB_LEN_BBO = 64,
};

#define XT_MDB_IN_MAX 32             /* the longest client frame */
#define XT_MDB_LEVELS_PER_FRAME 4092 /* (65535 - 48) / 16: a longer depth message is split */
#define XT_MDB_REJECT_TEXT 46

/* SUBSCRIBE / UNSUBSCRIBE / SNAPSHOT channel bits. */
enum {
    XT_MDB_CH_DEPTH = 1,
    XT_MDB_CH_TRADES = 2,
    XT_MDB_CH_TICKER = 4,
    XT_MDB_CH_BBO = 8,
    XT_MDB_CH_INSTRUMENT = 16, /* INSTRUMENT, then again at each change of its band or status */
    XT_MDB_CH_ALL = 31,
};
#define XT_MDB_CHANNELS_MAX 5 /* the subscriptions one request names, at most */

/* Data message flags (body byte 20). A message may span frames: FIRST on
 * its first, LAST on its last (both on a one-frame message). SNAPSHOT:
 * state sent on subscribe, on a SNAPSHOT request or after conflation, not
 * an update. */
enum { XT_MDB_F_FIRST = 1, XT_MDB_F_LAST = 2, XT_MDB_F_SNAPSHOT = 4 };

/* REJECT reasons. */
enum {
    XT_MDB_R_UNKNOWN_INSTRUMENT = 1,
    XT_MDB_R_BAD_CHANNELS = 2,           /* channel bits 0 or unknown */
    XT_MDB_R_BAD_DEPTH = 3,              /* depth not 0, 5, 10 or 20 */
    XT_MDB_R_TOO_MANY_SUBSCRIPTIONS = 4, /* over md.max_subscriptions on this connection */
    XT_MDB_R_SERVER_FULL = 5,            /* the server's subscription table is full */
    XT_MDB_R_RATE_LIMIT = 6,             /* over md.messages_per_s requests this second */
    XT_MDB_R_BUSY = 7,                   /* a snapshot could not be queued: try again */
};

/* The body of SUBSCRIBE, UNSUBSCRIBE and SNAPSHOT; ACK and REJECT echo it. */
typedef struct xt_mdb_request {
    uint64_t request_id;
    uint32_t instrument;
    uint8_t channels; /* XT_MDB_CH_* */
    uint8_t depth;    /* with XT_MDB_CH_DEPTH: 0 the whole book, or 5, 10, 20 levels */
} xt_mdb_request_t;

typedef struct xt_mdb_hello {
    uint32_t heartbeat_ms;      /* md.tcp_heartbeat_ms */
    uint32_t instruments;       /* INSTRUMENT frames that follow */
    uint32_t max_subscriptions; /* md.max_subscriptions */
    uint32_t messages_per_s;    /* md.messages_per_s */
    int64_t server_time;        /* ns since the epoch */
} xt_mdb_hello_t;

/* ---- client -> server (md_cmd_bin.c) ------------------------------------ */

/* The length a client frame of this type must have, or 0 for a type the
 * market-data port does not take. */
size_t xt_mdb_request_len(uint8_t type);

/* Frames what a client sent, as xt_wire_frame() does for order entry:
 * returns the frame length (> 0) when a whole frame is at buf, 0 when more
 * bytes are needed, or a negative XT_ERR_* code: FRAME_TOO_LARGE (len over
 * XT_MDB_IN_MAX), MALFORMED (len under 16, a nonzero reserved header field,
 * len not the type's length), UNKNOWN_TYPE. Each check runs as soon as the
 * bytes it needs are there, in the order of those bytes, so any split of
 * a stream gives the same answer. hdr may be NULL. */
int xt_mdb_frame(const uint8_t *buf, size_t avail, xt_wire_hdr_t *hdr);

/* The body of a SUBSCRIBE / UNSUBSCRIBE / SNAPSHOT frame accepted by
 * xt_mdb_frame(); the caller checks the values. */
void xt_mdb_get_request(const uint8_t *f, xt_mdb_request_t *r);

/* Writes a request frame of `type` (32 bytes, reserved bytes zero) into f. */
size_t xt_mdb_put_request(uint8_t *f, uint8_t type, const xt_mdb_request_t *r);

/* ---- server -> client (md_encode_bin.c) ------------------------------------ */

/* Fixed-size messages: out has room for their length. Return it. */
size_t xt_mdb_enc_hello(uint8_t *out, const xt_mdb_hello_t *h);
size_t xt_mdb_enc_ack(uint8_t *out, uint8_t request, const xt_mdb_request_t *r);
/* text is cut to 45 bytes and NUL-padded. */
size_t xt_mdb_enc_reject(uint8_t *out, uint8_t request, const xt_mdb_request_t *r, uint16_t reason, const char *text);

/* The messages below write into out[0..cap) and return the bytes written,
 * or 0 when cap is too small (nothing usable is written then). Prices are
 * ticks and quantities lots; a price that does not exist (an empty side,
 * no trade yet) is 0. */

/* A depth snapshot (type XT_MDB_DEPTH_SNAPSHOT: prev_seq unused) or delta
 * (XT_MDB_DEPTH_DELTA), bids then asks, as one or more frames of at most
 * XT_MDB_LEVELS_PER_FRAME levels. Every frame has header seq = seq; the
 * first has prev_seq (0 for a snapshot), the others seq, so a client that
 * checks "prev_seq == the last seq I applied" on every frame sees no gap
 * inside a message. depth: 0 (whole book), 5, 10 or 20. */
size_t xt_mdb_enc_depth(uint8_t *out, size_t cap, uint8_t type, uint32_t instrument, uint8_t depth, uint64_t seq,
                        uint64_t prev_seq, int64_t ts, const xt_md_level_t *bids, uint32_t nb,
                        const xt_md_level_t *asks, uint32_t na);
/* n TRADE frames, oldest first. snapshot: the subscribe snapshot (SNAPSHOT
 * on each, FIRST on the first, LAST on the last); else each is FIRST|LAST. */
size_t xt_mdb_enc_trades(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, const xt_md_trade_t *t,
                         uint32_t n);
/* seq: the book version the ticker's best bid/ask belong to; halted: the
 * status byte (XT_INSTRUMENT_*). */
size_t xt_mdb_enc_ticker(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, uint64_t seq, int64_t ts,
                         const xt_md_ticker_t *t, int halted);
size_t xt_mdb_enc_bbo(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, uint64_t seq, int64_t ts,
                      const xt_md_ticker_t *t);

#endif
