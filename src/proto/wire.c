/* wire.c - codec of the binary order-entry protocol (include/xt/wire.h).
 *
 * The byte layout of every frame is docs/protocol.md. Each message is a
 * table of its fields by offset from the start of the frame (the 16-byte
 * header is bytes 0..15), checked against the doc's table line by line;
 * one loop decodes and one encodes every message from those tables.
 * Integers are little-endian, assembled byte by byte; nothing is cast from
 * or to a struct. Encoders zero the whole frame first, so every reserved
 * and padding byte is zero, and write char[N] fields NUL-padded (bytes
 * after the first NUL are zero). Decoders copy char[N] fields as they are:
 * the caller bounds them by N.
 *
 * Pure code: no I/O, no allocation, no global state beyond constant tables.
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "core/le.h"
#include "xt/types.h"
#include "xt/wire.h"

/* ---- little-endian fields ---- */

/* Little-endian fields from core/le.h; i64 fields are their two's
 * complement (implementation-defined, true of gcc and clang). */

static void puti64(uint8_t *p, int64_t v)
{
    xt_put64(p, (uint64_t)v);
}

/* Writes char[n] NUL-padded: src up to its first NUL (at most n bytes),
 * zeros after. */
static void put_str(uint8_t *dst, const char *src, size_t n)
{
    size_t k = 0;
    while (k < n && src[k] != '\0')
        k++;
    memcpy(dst, src, k);
    memset(dst + k, 0, n - k);
}

/* The codec's helpers are inlined into each message's encoder and decoder,
 * and their loops over a message's fields (at most 11) unrolled: with the
 * table a constant there, each field becomes one load and one store. The
 * engine thread encodes every answer and the gateway decodes every
 * request: ~170 instructions per message before, ~18 after. */
#define XT_CODEC_INLINE static inline __attribute__((always_inline))

/* ---- message types ---- */

typedef struct kind {
    uint8_t len; /* 0: unknown type */
    const char *name;
} kind_t;

static const kind_t kinds[256] = {
    [XT_MSG_LOGIN] = {XT_LEN_LOGIN, "LOGIN"},
    [XT_MSG_HEARTBEAT] = {XT_LEN_HEARTBEAT, "HEARTBEAT"},
    [XT_MSG_NEW_ORDER] = {XT_LEN_NEW_ORDER, "NEW_ORDER"},
    [XT_MSG_CANCEL] = {XT_LEN_CANCEL, "CANCEL"},
    [XT_MSG_AMEND] = {XT_LEN_AMEND, "AMEND"},
    [XT_MSG_MASS_CANCEL] = {XT_LEN_MASS_CANCEL, "MASS_CANCEL"},
    [XT_MSG_ORDER_STATUS] = {XT_LEN_ORDER_STATUS, "ORDER_STATUS"},
    [XT_MSG_LOGOUT] = {XT_LEN_LOGOUT, "LOGOUT"},
    [XT_MSG_AMEND_CHECKED] = {XT_LEN_AMEND_CHECKED, "AMEND_CHECKED"},
    [XT_MSG_HELLO] = {XT_LEN_HELLO, "HELLO"},
    [XT_MSG_LOGIN_ACCEPTED] = {XT_LEN_LOGIN_ACCEPTED, "LOGIN_ACCEPTED"},
    [XT_MSG_LOGIN_REJECTED] = {XT_LEN_LOGIN_REJECTED, "LOGIN_REJECTED"},
    [XT_MSG_INSTRUMENT] = {XT_LEN_INSTRUMENT, "INSTRUMENT"},
    [XT_MSG_SERVER_HEARTBEAT] = {XT_LEN_SERVER_HEARTBEAT, "SERVER_HEARTBEAT"},
    [XT_MSG_ERROR] = {XT_LEN_ERROR, "ERROR"},
    [XT_MSG_STATUS_REPLY] = {XT_LEN_STATUS_REPLY, "STATUS_REPLY"},
    [XT_MSG_MASS_CANCEL_ACK] = {XT_LEN_MASS_CANCEL_ACK, "MASS_CANCEL_ACK"},
    [XT_MSG_LOGOUT_ACK] = {XT_LEN_LOGOUT_ACK, "LOGOUT_ACK"},
    [XT_MSG_ACCEPTED] = {XT_LEN_ACCEPTED, "ACCEPTED"},
    [XT_MSG_REJECTED] = {XT_LEN_REJECTED, "REJECTED"},
    [XT_MSG_FILL] = {XT_LEN_FILL, "FILL"},
    [XT_MSG_CANCELED] = {XT_LEN_CANCELED, "CANCELED"},
    [XT_MSG_AMENDED] = {XT_LEN_AMENDED, "AMENDED"},
};

size_t xt_wire_len(uint8_t type)
{
    return kinds[type].len;
}

/* ---- framing ---- */

/* Each check runs as soon as the bytes it needs are present, in the order
 * of those bytes, so a stream gives the same answer however it is split.
 * Inlined into both entry points, so that xt_wire_frame (every frame the
 * gateway reads or routes) looks its type up directly, not through
 * len_of. */
static inline int frame_of(const uint8_t *buf, size_t avail, size_t max_frame, size_t (*len_of)(uint8_t type),
                           xt_wire_hdr_t *hdr)
{
    if (avail < 2)
        return 0;
    size_t len = xt_get16(buf);
    if (len > max_frame)
        return -XT_ERR_FRAME_TOO_LARGE;
    if (len < XT_WIRE_HDR)
        return -XT_ERR_MALFORMED;
    if (avail < 3)
        return 0;
    size_t want = len_of(buf[2]);
    if (want == 0)
        return -XT_ERR_UNKNOWN_TYPE;
    if (len != want)
        return -XT_ERR_MALFORMED;
    for (size_t i = 4; i < 8 && i < avail; i++)
        if (buf[i] != 0)
            return -XT_ERR_MALFORMED;
    if (avail < len)
        return 0;
    if (hdr) {
        hdr->len = (uint16_t)len;
        hdr->type = buf[2];
        hdr->flags = buf[3];
        hdr->seq = xt_get64(buf + 8);
    }
    return (int)len;
}

int xt_wire_frame(const uint8_t *buf, size_t avail, size_t max_frame, xt_wire_hdr_t *hdr)
{
    return frame_of(buf, avail, max_frame, xt_wire_len, hdr);
}

int xt_wire_frame_of(const uint8_t *buf, size_t avail, size_t max_frame, size_t (*len_of)(uint8_t type),
                     xt_wire_hdr_t *hdr)
{
    return frame_of(buf, avail, max_frame, len_of, hdr);
}

/* Zeros len bytes at f and writes a header into them. */
XT_CODEC_INLINE size_t write_hdr(uint8_t *f, size_t len, uint8_t type, uint8_t flags, uint64_t seq)
{
    memset(f, 0, len);
    xt_put16(f, (uint16_t)len);
    f[2] = type;
    f[3] = flags;
    xt_put64(f + 8, seq);
    return len;
}

/* The header of a frame with a body: the type's length, zero body. */
XT_CODEC_INLINE size_t put_hdr(uint8_t *f, uint8_t type, uint8_t flags, uint64_t seq)
{
    size_t len = xt_wire_len(type);
    assert(len > XT_WIRE_HDR);
    return write_hdr(f, len, type, flags, seq);
}

/* Always a 16-byte frame; meant for the header-only types. */
size_t xt_wire_put_header(uint8_t *f, uint8_t type, uint8_t flags, uint64_t seq)
{
    assert(xt_wire_len(type) == XT_WIRE_HDR);
    return write_hdr(f, XT_WIRE_HDR, type, flags, seq);
}

void xt_wire_set_seq(uint8_t *f, uint8_t flags, uint64_t seq)
{
    f[3] = flags;
    xt_put64(f + 8, seq);
}

void xt_wire_set_instrument_status(uint8_t *f, int halted)
{
    f[XT_INSTRUMENT_STATUS_OFF] = halted ? XT_INSTRUMENT_HALTED : XT_INSTRUMENT_TRADING;
}

/* ---- message layouts ----
 *
 * Each message is a table of its body's fields: offset in the frame, then
 * the struct member - read line by line against docs/protocol.md. An
 * integer field's width is its member's; STR fields are char[N] written
 * NUL-padded; BYTES are copied as they are. One pair of loops below reads
 * and writes every message, so decoder and encoder cannot disagree. */

enum { F_INT = 0, F_STR = 1, F_BYTES = 2 };

typedef struct field {
    uint8_t at;   /* offset in the frame */
    uint8_t kind; /* F_* */
    uint8_t size; /* bytes: the member's */
    uint8_t off;  /* offsetof the member */
} field_t;

/* One field per line, as in the doc's tables: */
/* clang-format off */
#define MEMBER_SIZE(T, m) ((uint8_t)sizeof(((T *)0)->m))
#define INT(T, at, m) {at, F_INT, MEMBER_SIZE(T, m), (uint8_t)offsetof(T, m)}
#define STR(T, at, m) {at, F_STR, MEMBER_SIZE(T, m), (uint8_t)offsetof(T, m)}
#define BYTES(T, at, m) {at, F_BYTES, MEMBER_SIZE(T, m), (uint8_t)offsetof(T, m)}

static const field_t login_fields[] = {
    INT(xt_msg_login_t, 16, version),
    INT(xt_msg_login_t, 18, flags),
    INT(xt_msg_login_t, 20, account),
    STR(xt_msg_login_t, 24, key_id),
    INT(xt_msg_login_t, 40, session),
    INT(xt_msg_login_t, 44, heartbeat_ms),
    INT(xt_msg_login_t, 48, resume_from),
    INT(xt_msg_login_t, 56, timestamp_ns),
    BYTES(xt_msg_login_t, 64, signature),
};

static const field_t new_order_fields[] = {
    INT(xt_msg_new_order_t, 16, clordid),
    INT(xt_msg_new_order_t, 24, instrument),
    INT(xt_msg_new_order_t, 28, side),
    INT(xt_msg_new_order_t, 29, type),
    INT(xt_msg_new_order_t, 30, tif),
    INT(xt_msg_new_order_t, 31, stp),
    INT(xt_msg_new_order_t, 32, price),
    INT(xt_msg_new_order_t, 40, qty),
};

static const field_t cancel_fields[] = {
    INT(xt_msg_cancel_t, 16, clordid),
    INT(xt_msg_cancel_t, 24, orig_clordid),
    INT(xt_msg_cancel_t, 32, order_id),
};

static const field_t amend_fields[] = {
    INT(xt_msg_amend_t, 16, clordid),
    INT(xt_msg_amend_t, 24, orig_clordid),
    INT(xt_msg_amend_t, 32, order_id),
    INT(xt_msg_amend_t, 40, price),
    INT(xt_msg_amend_t, 48, qty),
};

static const field_t amend_checked_fields[] = { /* AMEND's, then the instrument (60: reserved, zero) */
    INT(xt_msg_amend_t, 16, clordid), INT(xt_msg_amend_t, 24, orig_clordid), INT(xt_msg_amend_t, 32, order_id),
    INT(xt_msg_amend_t, 40, price),   INT(xt_msg_amend_t, 48, qty),          INT(xt_msg_amend_t, 56, instrument),
};

static const field_t mass_cancel_fields[] = {
    INT(xt_msg_mass_cancel_t, 16, request_id),
    INT(xt_msg_mass_cancel_t, 24, instrument),
};

static const field_t order_status_fields[] = {
    INT(xt_msg_order_status_t, 16, request_id),
    INT(xt_msg_order_status_t, 24, orig_clordid),
    INT(xt_msg_order_status_t, 32, order_id),
};

static const field_t hello_fields[] = {
    INT(xt_msg_hello_t, 16, version),
    INT(xt_msg_hello_t, 20, heartbeat_ms),
    BYTES(xt_msg_hello_t, 24, nonce),
    INT(xt_msg_hello_t, 40, server_time_ns),
};

static const field_t login_accepted_fields[] = {
    INT(xt_msg_login_accepted_t, 16, session),
    INT(xt_msg_login_accepted_t, 20, heartbeat_ms),
    INT(xt_msg_login_accepted_t, 24, next_seq),
    INT(xt_msg_login_accepted_t, 32, resume_from),
    INT(xt_msg_login_accepted_t, 40, last_clordid),
    INT(xt_msg_login_accepted_t, 48, instruments),
};

static const field_t login_rejected_fields[] = {
    INT(xt_msg_login_rejected_t, 16, reason),
    INT(xt_msg_login_rejected_t, 24, oldest_seq),
};

static const field_t instrument_fields[] = {
    INT(xt_msg_instrument_t, 16, id),
    INT(xt_msg_instrument_t, 20, has_band),
    INT(xt_msg_instrument_t, XT_INSTRUMENT_STATUS_OFF, status),
    STR(xt_msg_instrument_t, 24, symbol),
    INT(xt_msg_instrument_t, 40, tick_m),
    INT(xt_msg_instrument_t, 48, lot_m),
    INT(xt_msg_instrument_t, 56, min_qty),
    INT(xt_msg_instrument_t, 64, max_qty),
    INT(xt_msg_instrument_t, 72, band_low),
    INT(xt_msg_instrument_t, 80, band_high),
    INT(xt_msg_instrument_t, 88, tick_scale),
    INT(xt_msg_instrument_t, 89, lot_scale),
};

static const field_t error_fields[] = {
    INT(xt_msg_error_t, 16, code),
    STR(xt_msg_error_t, 18, text),
};

static const field_t status_reply_fields[] = {
    INT(xt_msg_status_reply_t, 16, request_id),
    INT(xt_msg_status_reply_t, 24, order_id),
    INT(xt_msg_status_reply_t, 32, clordid),
    INT(xt_msg_status_reply_t, 40, instrument),
    INT(xt_msg_status_reply_t, 44, status),
    INT(xt_msg_status_reply_t, 45, side),
    INT(xt_msg_status_reply_t, 46, type),
    INT(xt_msg_status_reply_t, 47, tif),
    INT(xt_msg_status_reply_t, 48, price),
    INT(xt_msg_status_reply_t, 56, remaining),
    INT(xt_msg_status_reply_t, 64, filled),
};

static const field_t mass_cancel_ack_fields[] = {
    INT(xt_msg_mass_cancel_ack_t, 16, request_id),
    INT(xt_msg_mass_cancel_ack_t, 24, canceled),
};

static const field_t accepted_fields[] = {
    INT(xt_msg_accepted_t, 16, clordid),
    INT(xt_msg_accepted_t, 24, order_id),
    INT(xt_msg_accepted_t, 32, instrument),
    INT(xt_msg_accepted_t, 36, side),
    INT(xt_msg_accepted_t, 37, type),
    INT(xt_msg_accepted_t, 38, tif),
    INT(xt_msg_accepted_t, 39, stp),
    INT(xt_msg_accepted_t, 40, price),
    INT(xt_msg_accepted_t, 48, qty),
    INT(xt_msg_accepted_t, 56, ts),
};

static const field_t rejected_fields[] = {
    INT(xt_msg_rejected_t, 16, clordid),
    INT(xt_msg_rejected_t, 24, order_id),
    INT(xt_msg_rejected_t, 32, reason),
    INT(xt_msg_rejected_t, 34, request),
    INT(xt_msg_rejected_t, 36, instrument),
    INT(xt_msg_rejected_t, 40, ts),
};

static const field_t fill_fields[] = {
    INT(xt_msg_fill_t, 16, clordid),
    INT(xt_msg_fill_t, 24, order_id),
    INT(xt_msg_fill_t, 32, trade_id),
    INT(xt_msg_fill_t, 40, instrument),
    INT(xt_msg_fill_t, 44, side),
    INT(xt_msg_fill_t, 45, liquidity),
    INT(xt_msg_fill_t, 48, price),
    INT(xt_msg_fill_t, 56, qty),
    INT(xt_msg_fill_t, 64, remaining),
    INT(xt_msg_fill_t, 72, ts),
};

static const field_t canceled_fields[] = {
    INT(xt_msg_canceled_t, 16, clordid),
    INT(xt_msg_canceled_t, 24, order_id),
    INT(xt_msg_canceled_t, 32, instrument),
    INT(xt_msg_canceled_t, 36, side),
    INT(xt_msg_canceled_t, 38, reason),
    INT(xt_msg_canceled_t, 40, qty),
    INT(xt_msg_canceled_t, 48, request_clordid),
    INT(xt_msg_canceled_t, 56, ts),
};

static const field_t amended_fields[] = {
    INT(xt_msg_amended_t, 16, clordid),
    INT(xt_msg_amended_t, 24, order_id),
    INT(xt_msg_amended_t, 32, orig_clordid),
    INT(xt_msg_amended_t, 40, price),
    INT(xt_msg_amended_t, 48, qty),
    INT(xt_msg_amended_t, 56, priority_kept),
    INT(xt_msg_amended_t, 60, instrument),
    INT(xt_msg_amended_t, 64, ts),
};
/* clang-format on */

/* Integers go through the host's own integer of the member's width (signed
 * members share their unsigned counterpart's representation), copied in
 * and out with memcpy: no alignment or aliasing assumptions. */
XT_CODEC_INLINE void get_fields(const uint8_t *f, const field_t *v, size_t n, void *msg)
{
    uint8_t *m = msg;
#pragma GCC unroll 16
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = f + v[i].at;
        uint8_t *dst = m + v[i].off;
        uint16_t b16;
        uint32_t b32;
        uint64_t b64;
        if (v[i].kind != F_INT || v[i].size == 1) {
            memcpy(dst, src, v[i].size);
            continue;
        }
        switch (v[i].size) {
        case 2:
            b16 = xt_get16(src);
            memcpy(dst, &b16, 2);
            break;
        case 4:
            b32 = xt_get32(src);
            memcpy(dst, &b32, 4);
            break;
        default:
            b64 = xt_get64(src);
            memcpy(dst, &b64, 8);
            break;
        }
    }
}

/* Writes a whole frame: header, zero body, the fields. */
XT_CODEC_INLINE size_t put_fields(uint8_t *f, uint8_t type, uint8_t flags, uint64_t seq, const field_t *v, size_t n,
                                  const void *msg)
{
    const uint8_t *m = msg;
    size_t len = put_hdr(f, type, flags, seq);
#pragma GCC unroll 16
    for (size_t i = 0; i < n; i++) {
        uint8_t *dst = f + v[i].at;
        const uint8_t *src = m + v[i].off;
        if (v[i].kind == F_STR) {
            put_str(dst, (const char *)src, v[i].size);
            continue;
        }
        if (v[i].kind == F_BYTES || v[i].size == 1) {
            memcpy(dst, src, v[i].size);
            continue;
        }
        uint16_t b16;
        uint32_t b32;
        uint64_t b64;
        switch (v[i].size) {
        case 2:
            memcpy(&b16, src, 2);
            xt_put16(dst, b16);
            break;
        case 4:
            memcpy(&b32, src, 4);
            xt_put32(dst, b32);
            break;
        default:
            memcpy(&b64, src, 8);
            xt_put64(dst, b64);
            break;
        }
    }
    return len;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The public decoder and encoder of one message, over its table. Client
 * messages carry no seq; server messages take one, sequenced ones flags too.
 * (T is a type name: it cannot be parenthesised.) */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define GET(name, T)                                                                                                   \
    void xt_wire_get_##name(const uint8_t *f, T *m)                                                                    \
    {                                                                                                                  \
        get_fields(f, name##_fields, COUNT(name##_fields), m);                                                         \
    }
#define CODEC_CLIENT(name, T, type)                                                                                    \
    GET(name, T)                                                                                                       \
    size_t xt_wire_put_##name(uint8_t *f, const T *m)                                                                  \
    {                                                                                                                  \
        return put_fields(f, type, 0, 0, name##_fields, COUNT(name##_fields), m);                                      \
    }
#define CODEC_SERVER(name, T, type)                                                                                    \
    GET(name, T)                                                                                                       \
    size_t xt_wire_put_##name(uint8_t *f, uint64_t seq, const T *m)                                                    \
    {                                                                                                                  \
        return put_fields(f, type, 0, seq, name##_fields, COUNT(name##_fields), m);                                    \
    }
#define CODEC_SEQUENCED(name, T, type)                                                                                 \
    GET(name, T)                                                                                                       \
    size_t xt_wire_put_##name(uint8_t *f, uint8_t flags, uint64_t seq, const T *m)                                     \
    {                                                                                                                  \
        return put_fields(f, type, flags, seq, name##_fields, COUNT(name##_fields), m);                                \
    }
// NOLINTEND(bugprone-macro-parentheses)

CODEC_CLIENT(login, xt_msg_login_t, XT_MSG_LOGIN)
CODEC_CLIENT(new_order, xt_msg_new_order_t, XT_MSG_NEW_ORDER)
CODEC_CLIENT(cancel, xt_msg_cancel_t, XT_MSG_CANCEL)
CODEC_CLIENT(amend, xt_msg_amend_t, XT_MSG_AMEND)
CODEC_CLIENT(amend_checked, xt_msg_amend_t, XT_MSG_AMEND_CHECKED)
CODEC_CLIENT(mass_cancel, xt_msg_mass_cancel_t, XT_MSG_MASS_CANCEL)
CODEC_CLIENT(order_status, xt_msg_order_status_t, XT_MSG_ORDER_STATUS)
CODEC_SERVER(hello, xt_msg_hello_t, XT_MSG_HELLO)
CODEC_SERVER(login_accepted, xt_msg_login_accepted_t, XT_MSG_LOGIN_ACCEPTED)
CODEC_SERVER(login_rejected, xt_msg_login_rejected_t, XT_MSG_LOGIN_REJECTED)
CODEC_SERVER(instrument, xt_msg_instrument_t, XT_MSG_INSTRUMENT)
CODEC_SERVER(error, xt_msg_error_t, XT_MSG_ERROR)
CODEC_SERVER(status_reply, xt_msg_status_reply_t, XT_MSG_STATUS_REPLY)
CODEC_SERVER(mass_cancel_ack, xt_msg_mass_cancel_ack_t, XT_MSG_MASS_CANCEL_ACK)
CODEC_SEQUENCED(accepted, xt_msg_accepted_t, XT_MSG_ACCEPTED)
CODEC_SEQUENCED(rejected, xt_msg_rejected_t, XT_MSG_REJECTED)
CODEC_SEQUENCED(fill, xt_msg_fill_t, XT_MSG_FILL)
CODEC_SEQUENCED(canceled, xt_msg_canceled_t, XT_MSG_CANCELED)
CODEC_SEQUENCED(amended, xt_msg_amended_t, XT_MSG_AMENDED)

/* ---- login signature ---- */

void xt_wire_login_signed_bytes(uint8_t out[XT_LOGIN_SIGNED_LEN], const uint8_t nonce[16], uint32_t account,
                                const char key_id[16], uint32_t session, int64_t timestamp_ns)
{
    static const uint8_t magic[8] = {'X', 'T', 'L', 'O', 'G', 'I', 'N', '1'};
    memcpy(out, magic, sizeof magic);
    memcpy(out + 8, nonce, 16);
    xt_put32(out + 24, account);
    put_str(out + 28, key_id, 16); /* as LOGIN carries it: NUL-padded */
    xt_put32(out + 44, session);
    puti64(out + 48, timestamp_ns);
}

/* ---- names ---- */

#define NAME(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] ? (tab)[i] : "?")

const char *xt_wire_reason_name(int reason)
{
    static const char *const gw[XT_R_GATEWAY_MAX_] = {
        [XT_R_RATE_LIMIT] = "RATE_LIMIT",
        [XT_R_OVERLOADED] = "OVERLOADED",
        [XT_R_DUPLICATE_CLORDID] = "DUPLICATE_CLORDID",
        [XT_R_NOT_LOGGED_IN] = "NOT_LOGGED_IN",
        [XT_R_HALTED] = "HALTED",
        [XT_R_SHUTTING_DOWN] = "SHUTTING_DOWN",
        [XT_R_OPEN_ORDER_LIMIT] = "OPEN_ORDER_LIMIT",
        [XT_R_JOURNAL_FAILED] = "JOURNAL_FAILED",
        [XT_R_INVALID_FIELD] = "INVALID_FIELD",
        [XT_R_UNKNOWN_INSTRUMENT] = "UNKNOWN_INSTRUMENT",
        [XT_R_WRONG_INSTRUMENT] = "WRONG_INSTRUMENT",
    };
    if (reason >= 1 && reason < XT_R_CORE_MAX_)
        return xt_reason_name(reason); /* core reasons, 1..15 */
    return NAME(gw, reason);
}

const char *xt_wire_login_reason_name(int reason)
{
    static const char *const t[] = {
        [XT_LR_BAD_VERSION] = "BAD_VERSION",
        [XT_LR_UNKNOWN_KEY] = "UNKNOWN_KEY",
        [XT_LR_BAD_SIGNATURE] = "BAD_SIGNATURE",
        [XT_LR_CLOCK_SKEW] = "CLOCK_SKEW",
        [XT_LR_RESUME_TOO_OLD] = "RESUME_TOO_OLD",
        [XT_LR_RESUME_AHEAD] = "RESUME_AHEAD",
        [XT_LR_TOO_MANY_SESSIONS] = "TOO_MANY_SESSIONS",
        [XT_LR_SHUTTING_DOWN] = "SHUTTING_DOWN",
        [XT_LR_ALREADY_LOGGED_IN] = "ALREADY_LOGGED_IN",
        [XT_LR_BAD_FIELD] = "BAD_FIELD",
        [XT_LR_SESSION_LIMIT] = "SESSION_LIMIT",
    };
    return NAME(t, reason);
}

const char *xt_wire_error_name(int code)
{
    static const char *const t[] = {
        [XT_ERR_MALFORMED] = "MALFORMED",
        [XT_ERR_FRAME_TOO_LARGE] = "FRAME_TOO_LARGE",
        [XT_ERR_UNKNOWN_TYPE] = "UNKNOWN_TYPE",
        [XT_ERR_LOGIN_TIMEOUT] = "LOGIN_TIMEOUT",
        [XT_ERR_HEARTBEAT_TIMEOUT] = "HEARTBEAT_TIMEOUT",
        [XT_ERR_SLOW_CONSUMER] = "SLOW_CONSUMER",
        [XT_ERR_RESYNC] = "RESYNC",
        [XT_ERR_SHUTDOWN] = "SHUTDOWN",
        [XT_ERR_TAKEN_OVER] = "TAKEN_OVER",
        [XT_ERR_LOGGED_OUT] = "LOGGED_OUT",
        [XT_ERR_KICKED] = "KICKED",
        [XT_ERR_TOO_MANY_CONNECTIONS] = "TOO_MANY_CONNECTIONS",
    };
    return NAME(t, code);
}

const char *xt_wire_type_name(int type)
{
    if (type < 0 || type > 255 || kinds[type].name == NULL)
        return "?";
    return kinds[type].name;
}
