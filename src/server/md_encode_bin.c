/* md_encode_bin.c - the server's binary market-data messages (md_bin.h,
 * docs/md-binary.md), each written once into a caller buffer and shared by
 * every subscriber. Every frame starts with the 16-byte header of md_bin.h
 * and is zeroed first, so reserved bytes are zero. Body offsets, from the
 * start of the frame:
 *
 * MD_HELLO 0xA0 (48)    16 u16 version  18 u16 -  20 u32 heartbeat_ms  24 u32 instruments
 *                       28 u32 max_subscriptions  32 i64 server_time  40 u32 messages_per_s  44 u32 -
 * ACK 0xA1 (32)         16 u64 request_id  24 u32 instrument  28 u8 channels  29 u8 depth
 *                       30 u8 request type  31 u8 -
 * REJECT 0xA2 (80)      16..31 as ACK  32 u16 reason  34 char[46] text
 * DEPTH_* 0xA3/0xA4     16 u32 instrument  20 u8 flags  21 u8 depth  22 u16 -  24 i64 ts
 *   (48 + 16 n)         32 u64 prev_seq  40 u16 n_bids  42 u16 n_asks  44 u32 -
 *                       48 n_bids x {i64 price, i64 qty}, then n_asks x {i64 price, i64 qty}
 * TRADE 0xA5 (56)       16 u32 instrument  20 u8 flags  21 u8 taker side  22 u16 -  24 i64 ts
 *                       32 u64 trade_id  40 i64 price  48 i64 qty
 * TICKER 0xA6 (168)     16 u32 instrument  20 u8 flags  21 3 -  24 i64 ts  32 i64 prev_close
 *                       40 i64 open  48 i64 high  56 i64 low  64 i64 last  72 i64 volume
 *                       80 u64 turnover (low 64 bits)  88 i64 turnover (high 64 bits)  96 i64 vwap
 *                       104 u64 trades  112 i64 bid  120 i64 bid_qty  128 i64 ask  136 i64 ask_qty
 *                       144 i64 bid5_qty  152 i64 ask5_qty  160 i32 change_bp  164 i32 weibi_bp
 * BBO 0xA7 (64)         16 u32 instrument  20 u8 flags  21 3 -  24 i64 ts
 *                       32 i64 bid  40 i64 bid_qty  48 i64 ask  56 i64 ask_qty
 */
#include <string.h>

#include "core/le.h"
#include "md_bin.h"
#include "xt/types.h"

/* Zeros len bytes at f and writes the header (flags 0). */
static size_t head(uint8_t *f, size_t len, uint8_t type, uint64_t seq)
{
    memset(f, 0, len);
    xt_put16(f, (uint16_t)len);
    f[2] = type;
    xt_put64(f + 8, seq);
    return len;
}

static void puti64(uint8_t *p, int64_t v)
{
    xt_put64(p, (uint64_t)v); /* two's complement */
}

/* A price that does not exist is 0 on the wire. */
static int64_t price(int64_t v)
{
    return v == XT_PRICE_NONE ? 0 : v;
}

/* The start of every data message: instrument, flags, ts. */
static void data_head(uint8_t *f, uint32_t instrument, uint8_t flags, int64_t ts)
{
    xt_put32(f + 16, instrument);
    f[20] = flags;
    puti64(f + 24, ts);
}

static uint8_t whole(int snapshot)
{
    return (uint8_t)(XT_MDB_F_FIRST | XT_MDB_F_LAST | (snapshot ? XT_MDB_F_SNAPSHOT : 0));
}

size_t xt_mdb_enc_hello(uint8_t *out, const xt_mdb_hello_t *h)
{
    size_t n = head(out, XT_MDB_LEN_HELLO, XT_MDB_HELLO, 0);
    xt_put16(out + 16, XT_MDB_VERSION);
    xt_put32(out + 20, h->heartbeat_ms);
    xt_put32(out + 24, h->instruments);
    xt_put32(out + 28, h->max_subscriptions);
    puti64(out + 32, h->server_time);
    xt_put32(out + 40, h->messages_per_s);
    return n;
}

static void answer_body(uint8_t *out, uint8_t request, const xt_mdb_request_t *r)
{
    xt_put64(out + 16, r->request_id);
    xt_put32(out + 24, r->instrument);
    out[28] = r->channels;
    out[29] = r->depth;
    out[30] = request;
}

size_t xt_mdb_enc_ack(uint8_t *out, uint8_t request, const xt_mdb_request_t *r)
{
    size_t n = head(out, XT_MDB_LEN_ACK, XT_MDB_ACK, 0);
    answer_body(out, request, r);
    return n;
}

size_t xt_mdb_enc_reject(uint8_t *out, uint8_t request, const xt_mdb_request_t *r, uint16_t reason, const char *text)
{
    size_t n = head(out, XT_MDB_LEN_REJECT, XT_MDB_REJECT, 0);
    answer_body(out, request, r);
    xt_put16(out + 32, reason);
    size_t k = text ? strnlen(text, XT_MDB_REJECT_TEXT - 1) : 0;
    memcpy(out + 34, text ? text : "", k); /* NUL-padded: the rest is zero */
    return n;
}

/* One depth frame of k levels starting at index `from` of bids + asks. */
static size_t depth_frame(uint8_t *f, uint8_t type, uint32_t instrument, uint8_t depth, uint64_t seq, uint64_t prev_seq,
                          int64_t ts, const xt_md_level_t *bids, uint32_t nb, const xt_md_level_t *asks, uint32_t na,
                          uint32_t from, uint32_t k)
{
    size_t len = head(f, XT_MDB_LEN_DEPTH + (size_t)k * XT_MDB_LEN_LEVEL, type, seq);
    uint32_t kb = from < nb ? (nb - from < k ? nb - from : k) : 0;
    uint8_t flags = (uint8_t)((from == 0 ? XT_MDB_F_FIRST : 0) | (from + k == nb + na ? XT_MDB_F_LAST : 0) |
                              (type == XT_MDB_DEPTH_SNAPSHOT ? XT_MDB_F_SNAPSHOT : 0));
    data_head(f, instrument, flags, ts);
    f[21] = depth;
    xt_put64(f + 32, from == 0 ? prev_seq : seq);
    xt_put16(f + 40, (uint16_t)kb);
    xt_put16(f + 42, (uint16_t)(k - kb));
    uint8_t *p = f + XT_MDB_LEN_DEPTH;
    for (uint32_t i = from; i < from + k; i++, p += XT_MDB_LEN_LEVEL) {
        const xt_md_level_t *l = i < nb ? &bids[i] : &asks[i - nb];
        puti64(p, l->price);
        puti64(p + 8, l->qty);
    }
    return len;
}

size_t xt_mdb_enc_depth(uint8_t *out, size_t cap, uint8_t type, uint32_t instrument, uint8_t depth, uint64_t seq,
                        uint64_t prev_seq, int64_t ts, const xt_md_level_t *bids, uint32_t nb,
                        const xt_md_level_t *asks, uint32_t na)
{
    uint32_t total = nb + na, from = 0;
    size_t n = 0;
    if (type == XT_MDB_DEPTH_SNAPSHOT)
        prev_seq = 0;
    do { /* an empty message is one frame without levels */
        uint32_t k = total - from < XT_MDB_LEVELS_PER_FRAME ? total - from : XT_MDB_LEVELS_PER_FRAME;
        if (cap - n < XT_MDB_LEN_DEPTH + (size_t)k * XT_MDB_LEN_LEVEL)
            return 0;
        n += depth_frame(out + n, type, instrument, depth, seq, prev_seq, ts, bids, nb, asks, na, from, k);
        from += k;
    } while (from < total);
    return n;
}

size_t xt_mdb_enc_trades(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, const xt_md_trade_t *t,
                         uint32_t n)
{
    if (cap / XT_MDB_LEN_TRADE < n)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *f = out + (size_t)i * XT_MDB_LEN_TRADE;
        head(f, XT_MDB_LEN_TRADE, XT_MDB_TRADE, 0);
        uint8_t flags =
            snapshot ? (uint8_t)(XT_MDB_F_SNAPSHOT | (i == 0 ? XT_MDB_F_FIRST : 0) | (i + 1 == n ? XT_MDB_F_LAST : 0))
                     : whole(0);
        data_head(f, instrument, flags, t[i].ts);
        f[21] = t[i].taker_side;
        xt_put64(f + 32, t[i].trade_id);
        puti64(f + 40, t[i].price);
        puti64(f + 48, t[i].qty);
    }
    return (size_t)n * XT_MDB_LEN_TRADE;
}

/* Best bid and offer at off: bid, bid_qty, ask, ask_qty (0, 0 for an empty side). */
static void best(uint8_t *p, const xt_md_ticker_t *t)
{
    int bid = t->best_bid != XT_PRICE_NONE, ask = t->best_ask != XT_PRICE_NONE;
    puti64(p, price(t->best_bid));
    puti64(p + 8, bid ? t->best_bid_qty : 0);
    puti64(p + 16, price(t->best_ask));
    puti64(p + 24, ask ? t->best_ask_qty : 0);
}

size_t xt_mdb_enc_ticker(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, uint64_t seq, int64_t ts,
                         const xt_md_ticker_t *t, int halted)
{
    if (cap < XT_MDB_LEN_TICKER)
        return 0;
    size_t n = head(out, XT_MDB_LEN_TICKER, XT_MDB_TICKER, seq);
    data_head(out, instrument, whole(snapshot), ts);
    out[21] = halted ? XT_INSTRUMENT_HALTED : XT_INSTRUMENT_TRADING;
    const int64_t ohlc[] = {t->prev_close, t->open, t->high, t->low, t->last};
    for (size_t i = 0; i < 5; i++)
        puti64(out + 32 + 8 * i, price(ohlc[i]));
    puti64(out + 72, t->volume);
    unsigned __int128 turnover = (unsigned __int128)t->turnover;
    xt_put64(out + 80, (uint64_t)turnover);
    xt_put64(out + 88, (uint64_t)(turnover >> 64));
    puti64(out + 96, t->volume ? xt_md_vwap(t) : 0);
    xt_put64(out + 104, t->trades);
    best(out + 112, t);
    puti64(out + 144, t->bid5_qty);
    puti64(out + 152, t->ask5_qty);
    xt_put32(out + 160, (uint32_t)(t->last && t->prev_close ? xt_md_change_bp(t) : 0));
    xt_put32(out + 164, (uint32_t)xt_md_weibi_bp(t));
    return n;
}

size_t xt_mdb_enc_bbo(uint8_t *out, size_t cap, uint32_t instrument, int snapshot, uint64_t seq, int64_t ts,
                      const xt_md_ticker_t *t)
{
    if (cap < XT_MDB_LEN_BBO)
        return 0;
    size_t n = head(out, XT_MDB_LEN_BBO, XT_MDB_BBO, seq);
    data_head(out, instrument, whole(snapshot), ts);
    best(out + 32, t);
    return n;
}
