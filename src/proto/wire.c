/* wire.c - codec of the binary order-entry protocol (include/xt/wire.h).
 *
 * The byte layout of every frame is docs/protocol.md; each decoder and
 * encoder below names its fields by their offsets from the start of the
 * frame (the 16-byte header is bytes 0..15), so a function can be checked
 * against the doc's table line by line. Integers are assembled byte by byte
 * little-endian; nothing is cast from or to a struct. Encoders zero the
 * whole frame first, so every reserved and padding byte is zero, and write
 * char[N] fields NUL-padded (bytes after the first NUL are zero). Decoders
 * copy char[N] fields as they are: the caller bounds them by N.
 *
 * Pure code: no I/O, no allocation, no global state beyond constant tables.
 */
#include <assert.h>
#include <string.h>

#include "core/le.h"
#include "xt/types.h"
#include "xt/wire.h"

/* ---- little-endian fields ---- */

/* Little-endian fields from core/le.h; i64 fields are their two's
 * complement (implementation-defined, true of gcc and clang). */
static int64_t geti64(const uint8_t *p)
{
    return (int64_t)xt_get64(p);
}

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
 * of those bytes, so a stream gives the same answer however it is split. */
int xt_wire_frame(const uint8_t *buf, size_t avail, size_t max_frame, xt_wire_hdr_t *hdr)
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
    size_t want = xt_wire_len(buf[2]);
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

/* Zeros len bytes at f and writes a header into them. */
static size_t write_hdr(uint8_t *f, size_t len, uint8_t type, uint8_t flags, uint64_t seq)
{
    memset(f, 0, len);
    xt_put16(f, (uint16_t)len);
    f[2] = type;
    f[3] = flags;
    xt_put64(f + 8, seq);
    return len;
}

/* The header of a frame with a body: the type's length, zero body. */
static size_t put_hdr(uint8_t *f, uint8_t type, uint8_t flags, uint64_t seq)
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

/* ---- client -> server ---- */

void xt_wire_get_login(const uint8_t *f, xt_msg_login_t *m)
{
    m->version = xt_get16(f + 16);
    m->flags = xt_get16(f + 18);
    m->account = xt_get32(f + 20);
    memcpy(m->key_id, f + 24, 16);
    m->session = xt_get32(f + 40);
    m->heartbeat_ms = xt_get32(f + 44);
    m->resume_from = xt_get64(f + 48);
    m->timestamp_ns = geti64(f + 56);
    memcpy(m->signature, f + 64, 32);
}

size_t xt_wire_put_login(uint8_t *f, const xt_msg_login_t *m)
{
    size_t n = put_hdr(f, XT_MSG_LOGIN, 0, 0);
    xt_put16(f + 16, m->version);
    xt_put16(f + 18, m->flags);
    xt_put32(f + 20, m->account);
    put_str(f + 24, m->key_id, 16);
    xt_put32(f + 40, m->session);
    xt_put32(f + 44, m->heartbeat_ms);
    xt_put64(f + 48, m->resume_from);
    puti64(f + 56, m->timestamp_ns);
    memcpy(f + 64, m->signature, 32);
    return n;
}

void xt_wire_get_new_order(const uint8_t *f, xt_msg_new_order_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->instrument = xt_get32(f + 24);
    m->side = f[28];
    m->type = f[29];
    m->tif = f[30];
    m->stp = f[31];
    m->price = geti64(f + 32);
    m->qty = geti64(f + 40);
}

size_t xt_wire_put_new_order(uint8_t *f, const xt_msg_new_order_t *m)
{
    size_t n = put_hdr(f, XT_MSG_NEW_ORDER, 0, 0);
    xt_put64(f + 16, m->clordid);
    xt_put32(f + 24, m->instrument);
    f[28] = m->side;
    f[29] = m->type;
    f[30] = m->tif;
    f[31] = m->stp;
    puti64(f + 32, m->price);
    puti64(f + 40, m->qty);
    return n;
}

void xt_wire_get_cancel(const uint8_t *f, xt_msg_cancel_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->orig_clordid = xt_get64(f + 24);
    m->order_id = geti64(f + 32);
}

size_t xt_wire_put_cancel(uint8_t *f, const xt_msg_cancel_t *m)
{
    size_t n = put_hdr(f, XT_MSG_CANCEL, 0, 0);
    xt_put64(f + 16, m->clordid);
    xt_put64(f + 24, m->orig_clordid);
    puti64(f + 32, m->order_id);
    return n;
}

void xt_wire_get_amend(const uint8_t *f, xt_msg_amend_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->orig_clordid = xt_get64(f + 24);
    m->order_id = geti64(f + 32);
    m->price = geti64(f + 40);
    m->qty = geti64(f + 48);
}

size_t xt_wire_put_amend(uint8_t *f, const xt_msg_amend_t *m)
{
    size_t n = put_hdr(f, XT_MSG_AMEND, 0, 0);
    xt_put64(f + 16, m->clordid);
    xt_put64(f + 24, m->orig_clordid);
    puti64(f + 32, m->order_id);
    puti64(f + 40, m->price);
    puti64(f + 48, m->qty);
    return n;
}

void xt_wire_get_mass_cancel(const uint8_t *f, xt_msg_mass_cancel_t *m)
{
    m->request_id = xt_get64(f + 16);
    m->instrument = xt_get32(f + 24);
}

size_t xt_wire_put_mass_cancel(uint8_t *f, const xt_msg_mass_cancel_t *m)
{
    size_t n = put_hdr(f, XT_MSG_MASS_CANCEL, 0, 0);
    xt_put64(f + 16, m->request_id);
    xt_put32(f + 24, m->instrument);
    return n;
}

void xt_wire_get_order_status(const uint8_t *f, xt_msg_order_status_t *m)
{
    m->request_id = xt_get64(f + 16);
    m->orig_clordid = xt_get64(f + 24);
    m->order_id = geti64(f + 32);
}

size_t xt_wire_put_order_status(uint8_t *f, const xt_msg_order_status_t *m)
{
    size_t n = put_hdr(f, XT_MSG_ORDER_STATUS, 0, 0);
    xt_put64(f + 16, m->request_id);
    xt_put64(f + 24, m->orig_clordid);
    puti64(f + 32, m->order_id);
    return n;
}

/* ---- server -> client, unsequenced ---- */

void xt_wire_get_hello(const uint8_t *f, xt_msg_hello_t *m)
{
    m->version = xt_get16(f + 16);
    m->heartbeat_ms = xt_get32(f + 20);
    memcpy(m->nonce, f + 24, 16);
    m->server_time_ns = geti64(f + 40);
}

size_t xt_wire_put_hello(uint8_t *f, uint64_t seq, const xt_msg_hello_t *m)
{
    size_t n = put_hdr(f, XT_MSG_HELLO, 0, seq);
    xt_put16(f + 16, m->version);
    xt_put32(f + 20, m->heartbeat_ms);
    memcpy(f + 24, m->nonce, 16);
    puti64(f + 40, m->server_time_ns);
    return n;
}

void xt_wire_get_login_accepted(const uint8_t *f, xt_msg_login_accepted_t *m)
{
    m->session = xt_get32(f + 16);
    m->heartbeat_ms = xt_get32(f + 20);
    m->next_seq = xt_get64(f + 24);
    m->resume_from = xt_get64(f + 32);
    m->last_clordid = xt_get64(f + 40);
    m->instruments = xt_get32(f + 48);
}

size_t xt_wire_put_login_accepted(uint8_t *f, uint64_t seq, const xt_msg_login_accepted_t *m)
{
    size_t n = put_hdr(f, XT_MSG_LOGIN_ACCEPTED, 0, seq);
    xt_put32(f + 16, m->session);
    xt_put32(f + 20, m->heartbeat_ms);
    xt_put64(f + 24, m->next_seq);
    xt_put64(f + 32, m->resume_from);
    xt_put64(f + 40, m->last_clordid);
    xt_put32(f + 48, m->instruments);
    return n;
}

void xt_wire_get_login_rejected(const uint8_t *f, xt_msg_login_rejected_t *m)
{
    m->reason = xt_get16(f + 16);
    m->oldest_seq = xt_get64(f + 24);
}

size_t xt_wire_put_login_rejected(uint8_t *f, uint64_t seq, const xt_msg_login_rejected_t *m)
{
    size_t n = put_hdr(f, XT_MSG_LOGIN_REJECTED, 0, seq);
    xt_put16(f + 16, m->reason);
    xt_put64(f + 24, m->oldest_seq);
    return n;
}

void xt_wire_get_instrument(const uint8_t *f, xt_msg_instrument_t *m)
{
    m->id = xt_get32(f + 16);
    m->has_band = f[20];
    memcpy(m->symbol, f + 24, 16);
    m->tick_m = geti64(f + 40);
    m->lot_m = geti64(f + 48);
    m->min_qty = geti64(f + 56);
    m->max_qty = geti64(f + 64);
    m->band_low = geti64(f + 72);
    m->band_high = geti64(f + 80);
    m->tick_scale = f[88];
    m->lot_scale = f[89];
}

size_t xt_wire_put_instrument(uint8_t *f, uint64_t seq, const xt_msg_instrument_t *m)
{
    size_t n = put_hdr(f, XT_MSG_INSTRUMENT, 0, seq);
    xt_put32(f + 16, m->id);
    f[20] = m->has_band;
    put_str(f + 24, m->symbol, 16);
    puti64(f + 40, m->tick_m);
    puti64(f + 48, m->lot_m);
    puti64(f + 56, m->min_qty);
    puti64(f + 64, m->max_qty);
    puti64(f + 72, m->band_low);
    puti64(f + 80, m->band_high);
    f[88] = m->tick_scale;
    f[89] = m->lot_scale;
    return n;
}

void xt_wire_get_error(const uint8_t *f, xt_msg_error_t *m)
{
    m->code = xt_get16(f + 16);
    memcpy(m->text, f + 18, 62);
}

size_t xt_wire_put_error(uint8_t *f, uint64_t seq, const xt_msg_error_t *m)
{
    size_t n = put_hdr(f, XT_MSG_ERROR, 0, seq);
    xt_put16(f + 16, m->code);
    put_str(f + 18, m->text, 62);
    return n;
}

void xt_wire_get_status_reply(const uint8_t *f, xt_msg_status_reply_t *m)
{
    m->request_id = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->clordid = xt_get64(f + 32);
    m->instrument = xt_get32(f + 40);
    m->status = f[44];
    m->side = f[45];
    m->type = f[46];
    m->tif = f[47];
    m->price = geti64(f + 48);
    m->remaining = geti64(f + 56);
    m->filled = geti64(f + 64);
}

size_t xt_wire_put_status_reply(uint8_t *f, uint64_t seq, const xt_msg_status_reply_t *m)
{
    size_t n = put_hdr(f, XT_MSG_STATUS_REPLY, 0, seq);
    xt_put64(f + 16, m->request_id);
    puti64(f + 24, m->order_id);
    xt_put64(f + 32, m->clordid);
    xt_put32(f + 40, m->instrument);
    f[44] = m->status;
    f[45] = m->side;
    f[46] = m->type;
    f[47] = m->tif;
    puti64(f + 48, m->price);
    puti64(f + 56, m->remaining);
    puti64(f + 64, m->filled);
    return n;
}

void xt_wire_get_mass_cancel_ack(const uint8_t *f, xt_msg_mass_cancel_ack_t *m)
{
    m->request_id = xt_get64(f + 16);
    m->canceled = xt_get32(f + 24);
}

size_t xt_wire_put_mass_cancel_ack(uint8_t *f, uint64_t seq, const xt_msg_mass_cancel_ack_t *m)
{
    size_t n = put_hdr(f, XT_MSG_MASS_CANCEL_ACK, 0, seq);
    xt_put64(f + 16, m->request_id);
    xt_put32(f + 24, m->canceled);
    return n;
}

/* ---- server -> client, sequenced (REJECTED also unsequenced) ---- */

void xt_wire_get_accepted(const uint8_t *f, xt_msg_accepted_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->instrument = xt_get32(f + 32);
    m->side = f[36];
    m->type = f[37];
    m->tif = f[38];
    m->stp = f[39];
    m->price = geti64(f + 40);
    m->qty = geti64(f + 48);
    m->ts = geti64(f + 56);
}

size_t xt_wire_put_accepted(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_accepted_t *m)
{
    size_t n = put_hdr(f, XT_MSG_ACCEPTED, flags, seq);
    xt_put64(f + 16, m->clordid);
    puti64(f + 24, m->order_id);
    xt_put32(f + 32, m->instrument);
    f[36] = m->side;
    f[37] = m->type;
    f[38] = m->tif;
    f[39] = m->stp;
    puti64(f + 40, m->price);
    puti64(f + 48, m->qty);
    puti64(f + 56, m->ts);
    return n;
}

void xt_wire_get_rejected(const uint8_t *f, xt_msg_rejected_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->reason = xt_get16(f + 32);
    m->request = f[34];
    m->instrument = xt_get32(f + 36);
    m->ts = geti64(f + 40);
}

size_t xt_wire_put_rejected(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_rejected_t *m)
{
    size_t n = put_hdr(f, XT_MSG_REJECTED, flags, seq);
    xt_put64(f + 16, m->clordid);
    puti64(f + 24, m->order_id);
    xt_put16(f + 32, m->reason);
    f[34] = m->request;
    xt_put32(f + 36, m->instrument);
    puti64(f + 40, m->ts);
    return n;
}

void xt_wire_get_fill(const uint8_t *f, xt_msg_fill_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->trade_id = xt_get64(f + 32);
    m->instrument = xt_get32(f + 40);
    m->side = f[44];
    m->liquidity = f[45];
    m->price = geti64(f + 48);
    m->qty = geti64(f + 56);
    m->remaining = geti64(f + 64);
    m->ts = geti64(f + 72);
}

size_t xt_wire_put_fill(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_fill_t *m)
{
    size_t n = put_hdr(f, XT_MSG_FILL, flags, seq);
    xt_put64(f + 16, m->clordid);
    puti64(f + 24, m->order_id);
    xt_put64(f + 32, m->trade_id);
    xt_put32(f + 40, m->instrument);
    f[44] = m->side;
    f[45] = m->liquidity;
    puti64(f + 48, m->price);
    puti64(f + 56, m->qty);
    puti64(f + 64, m->remaining);
    puti64(f + 72, m->ts);
    return n;
}

void xt_wire_get_canceled(const uint8_t *f, xt_msg_canceled_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->instrument = xt_get32(f + 32);
    m->side = f[36];
    m->reason = xt_get16(f + 38);
    m->qty = geti64(f + 40);
    m->request_clordid = xt_get64(f + 48);
    m->ts = geti64(f + 56);
}

size_t xt_wire_put_canceled(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_canceled_t *m)
{
    size_t n = put_hdr(f, XT_MSG_CANCELED, flags, seq);
    xt_put64(f + 16, m->clordid);
    puti64(f + 24, m->order_id);
    xt_put32(f + 32, m->instrument);
    f[36] = m->side;
    xt_put16(f + 38, m->reason);
    puti64(f + 40, m->qty);
    xt_put64(f + 48, m->request_clordid);
    puti64(f + 56, m->ts);
    return n;
}

void xt_wire_get_amended(const uint8_t *f, xt_msg_amended_t *m)
{
    m->clordid = xt_get64(f + 16);
    m->order_id = geti64(f + 24);
    m->orig_clordid = xt_get64(f + 32);
    m->price = geti64(f + 40);
    m->qty = geti64(f + 48);
    m->priority_kept = f[56];
    m->ts = geti64(f + 64);
}

size_t xt_wire_put_amended(uint8_t *f, uint8_t flags, uint64_t seq, const xt_msg_amended_t *m)
{
    size_t n = put_hdr(f, XT_MSG_AMENDED, flags, seq);
    xt_put64(f + 16, m->clordid);
    puti64(f + 24, m->order_id);
    xt_put64(f + 32, m->orig_clordid);
    puti64(f + 40, m->price);
    puti64(f + 48, m->qty);
    f[56] = m->priority_kept;
    puti64(f + 64, m->ts);
    return n;
}

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
