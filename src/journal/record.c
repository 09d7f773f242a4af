/* record.c - encoding and decoding of journal records (see record.h). */
#include "record.h"

#include <string.h>

#include "codec.h"
#include "crc32c.h"

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

#define PAYLOAD_NEW 36
#define PAYLOAD_CANCEL 12
#define PAYLOAD_AMEND 28
#define PAYLOAD_INSTRUMENT XT_INSTRUMENT_DEF_BYTES
#define PAYLOAD_SESSION_END 8

size_t xt_record_encode_unsealed(const xt_cmd_t *c, uint8_t *buf)
{
    uint8_t *p = buf + XT_WAL_RECORD_HDR;
    int origin = c->session != 0 || c->clordid != 0;
    p = put_u8(p, (uint8_t)(c->type | (origin ? XT_REC_ORIGIN : 0)));
    switch (c->type) {
    case XT_CMD_NEW: {
        const xt_order_new_t *o = &c->u.new_order;
        p = xt_put64_next(p, (uint64_t)o->id);
        p = xt_put32_next(p, o->account);
        p = xt_put32_next(p, o->instrument);
        p = put_u8(p, o->side);
        p = put_u8(p, o->type);
        p = put_u8(p, o->tif);
        p = put_u8(p, o->stp);
        p = xt_put64_next(p, (uint64_t)o->price);
        p = xt_put64_next(p, (uint64_t)o->qty);
        break;
    }
    case XT_CMD_CANCEL:
        p = xt_put64_next(p, (uint64_t)c->u.cancel.id);
        p = xt_put32_next(p, c->u.cancel.account);
        break;
    case XT_CMD_AMEND:
        p = xt_put64_next(p, (uint64_t)c->u.amend.id);
        p = xt_put32_next(p, c->u.amend.account);
        p = xt_put64_next(p, (uint64_t)c->u.amend.price);
        p = xt_put64_next(p, (uint64_t)c->u.amend.qty);
        break;
    case XT_CMD_INSTRUMENT:
        xt_put_instrument_def(p, &c->u.instrument);
        p += XT_INSTRUMENT_DEF_BYTES;
        break;
    case XT_CMD_SESSION_END:
        p = xt_put32_next(p, c->u.session_end.account);
        p = xt_put32_next(p, c->u.session_end.session);
        break;
    default: return 0;
    }
    if (origin) {
        p = xt_put32_next(p, c->session);
        p = xt_put64_next(p, c->clordid);
    }
    size_t len = (size_t)(p - buf);
    xt_put32_next(buf, (uint32_t)len);
    xt_put64_next(buf + 8, c->seq);
    xt_put64_next(buf + 16, (uint64_t)c->ts);
    return len;
}

void xt_record_seal(uint8_t *buf)
{
    uint32_t len = xt_get32(buf);
    xt_put32(buf + 4, xt_crc32c(buf + 8, len - 8));
}

size_t xt_record_encode(const xt_cmd_t *c, uint8_t *buf)
{
    size_t len = xt_record_encode_unsealed(c, buf);
    if (len)
        xt_record_seal(buf);
    return len;
}

static size_t payload_size(int type)
{
    switch (type) {
    case XT_CMD_NEW: return PAYLOAD_NEW;
    case XT_CMD_CANCEL: return PAYLOAD_CANCEL;
    case XT_CMD_AMEND: return PAYLOAD_AMEND;
    case XT_CMD_INSTRUMENT: return PAYLOAD_INSTRUMENT;
    case XT_CMD_SESSION_END: return PAYLOAD_SESSION_END;
    default: return 0;
    }
}

int xt_record_decode(const uint8_t *buf, size_t avail, xt_cmd_t *c, size_t *len)
{
    if (avail < 4) {
        *len = XT_WAL_RECORD_HDR;
        return XT_REC_SHORT;
    }
    uint32_t n = xt_get32(buf);
    if (n == 0)
        return XT_REC_ZERO;
    if (n < XT_WAL_RECORD_HDR + 1 || n > XT_WAL_RECORD_MAX)
        return XT_REC_BAD;
    *len = n;
    if (avail < n)
        return XT_REC_SHORT;
    if (xt_crc32c(buf + 8, n - 8) != xt_get32(buf + 4))
        return XT_REC_BAD;
    int type = buf[XT_WAL_RECORD_HDR] & ~XT_REC_ORIGIN;
    int origin = (buf[XT_WAL_RECORD_HDR] & XT_REC_ORIGIN) != 0;
    size_t want = payload_size(type);
    if (want == 0 || n != XT_WAL_RECORD_HDR + 1 + want + (origin ? XT_REC_ORIGIN_BYTES : 0))
        return XT_REC_BAD;
    memset(c, 0, sizeof *c);
    c->type = (uint8_t)type;
    c->seq = xt_get64(buf + 8);
    c->ts = (int64_t)xt_get64(buf + 16);
    const uint8_t *p = buf + XT_WAL_RECORD_HDR + 1;
    switch (type) {
    case XT_CMD_NEW: {
        xt_order_new_t *o = &c->u.new_order;
        o->id = (int64_t)xt_get64(p);
        o->account = xt_get32(p + 8);
        o->instrument = xt_get32(p + 12);
        o->side = p[16];
        o->type = p[17];
        o->tif = p[18];
        o->stp = p[19];
        o->price = (int64_t)xt_get64(p + 20);
        o->qty = (int64_t)xt_get64(p + 28);
        break;
    }
    case XT_CMD_CANCEL:
        c->u.cancel.id = (int64_t)xt_get64(p);
        c->u.cancel.account = xt_get32(p + 8);
        break;
    case XT_CMD_AMEND:
        c->u.amend.id = (int64_t)xt_get64(p);
        c->u.amend.account = xt_get32(p + 8);
        c->u.amend.price = (int64_t)xt_get64(p + 12);
        c->u.amend.qty = (int64_t)xt_get64(p + 20);
        break;
    case XT_CMD_SESSION_END:
        c->u.session_end.account = xt_get32(p);
        c->u.session_end.session = xt_get32(p + 4);
        break;
    default: /* XT_CMD_INSTRUMENT */ xt_get_instrument_def(p, &c->u.instrument); break;
    }
    if (origin) {
        p += want;
        c->session = xt_get32(p);
        c->clordid = xt_get64(p + 4);
    }
    return XT_REC_OK;
}
