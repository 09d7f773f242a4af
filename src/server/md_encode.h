/* md_encode.h - market-data messages as JSON text (docs/websocket.md), each
 * written once into a caller buffer and shared by every subscriber.
 *
 * Prices and quantities are decimal strings in the instrument's own units
 * ("1700.01", "0.0015"), times are nanoseconds since the epoch (UTC) as
 * JSON integers; a price not known yet (no trade and no reference price)
 * is null. Every function returns the length written, or 0 when cap
 * is too small (the caller then sends nothing, or less).
 */
#ifndef XT_SERVER_MD_ENCODE_H
#define XT_SERVER_MD_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "md/md.h"
#include "xt/decimal.h"
#include "xt/types.h"

/* What the encoder needs to know of an instrument. */
typedef struct xt_md_sym {
    char symbol[32];
    char suffix[8]; /* after the symbol in channel names: "", "@100ms", "@1000ms" */
    xt_decimal_t tick, lot;
} xt_md_sym_t;

/* The channel kinds (one subscription names one kind of one instrument). */
enum {
    XT_CH_BBO,
    XT_CH_DEPTH5,
    XT_CH_DEPTH10,
    XT_CH_DEPTH20,
    XT_CH_DEPTH, /* the full book */
    XT_CH_TRADES,
    XT_CH_TICKER,
    XT_CH_TIMELINE,
    XT_CH_KLINE, /* + interval: XT_CH_KLINE .. XT_CH_KLINE + XT_KL_COUNT - 1 */
    /* the binary protocol's channels (md_bin.h, docs/md-binary.md): live only, no names */
    XT_CH_BIN_BBO = XT_CH_KLINE + XT_KL_COUNT,
    XT_CH_BIN_DEPTH5,
    XT_CH_BIN_DEPTH10,
    XT_CH_BIN_DEPTH20,
    XT_CH_BIN_DEPTH,
    XT_CH_BIN_TRADES,
    XT_CH_BIN_TICKER,
    XT_CH_BIN_INSTRUMENT,
    XT_CH_KINDS
};

/* "depth5", "kline.1m", ... (the channel name without ".SYMBOL"); NULL for
 * the binary kinds. */
const char *xt_ch_kind_name(int kind, char buf[16]);

/* depth5/10/20/depth and bbo: a snapshot (prev_seq < 0: none) or a delta. */
size_t xt_md_enc_depth(char *out, size_t cap, const xt_md_sym_t *sym, int kind, int snapshot, uint64_t seq,
                       int64_t prev_seq, int64_t ts, const xt_md_level_t *bids, uint32_t nb, const xt_md_level_t *asks,
                       uint32_t na);
size_t xt_md_enc_bbo(char *out, size_t cap, const xt_md_sym_t *sym, uint64_t seq, int64_t ts, const xt_md_ticker_t *t);
size_t xt_md_enc_trades(char *out, size_t cap, const xt_md_sym_t *sym, int snapshot, int64_t ts,
                        const xt_md_trade_t *tr, uint32_t n);
/* What the ticker says of trading on the instrument: halted, and the
 * price band in force (ticks; band_high 0: none). */
typedef struct xt_md_trading {
    int halted;
    int64_t band_low, band_high;
} xt_md_trading_t;
size_t xt_md_enc_ticker(char *out, size_t cap, const xt_md_sym_t *sym, int64_t ts, const xt_md_ticker_t *t,
                        xt_md_trading_t tr);
/* The band of tr as JSON: {"low":"1530.00","high":"1870.00"} or null (the
 * ticker's and GET /api/v1/instruments'). Returns the length, NUL-terminated. */
#define XT_MD_BAND_BUFSZ (2 * XT_DECIMAL_BUFSZ + 32)
size_t xt_md_enc_band(char out[XT_MD_BAND_BUFSZ], xt_md_trading_t tr, xt_decimal_t tick);
size_t xt_md_enc_kline(char *out, size_t cap, const xt_md_sym_t *sym, int interval, int64_t ts,
                       const xt_md_candle_t *c);
/* A list of candles, oldest first (the REST klines answer, docs/rest.md):
 * {"ch":"kline.1m.S","ts":..,"type":"snapshot","data":[CANDLE,...]}, each
 * CANDLE as the data of xt_md_enc_kline. */
size_t xt_md_enc_klines(char *out, size_t cap, const xt_md_sym_t *sym, int interval, int64_t ts,
                        const xt_md_candle_t *c, uint32_t n);
size_t xt_md_enc_timeline(char *out, size_t cap, const xt_md_sym_t *sym, int snapshot, int64_t ts,
                          const xt_md_minute_t *pts, uint32_t n);

/* s as a JSON string, NUL-ended: quoted, each character as
 * xt_md_json_char writes it. Returns the length, or 0 when cap is too
 * small. */
size_t xt_md_json_string(char *out, size_t cap, const char *s);

/* The JSON escape of the character that starts s (NUL-ended), the one
 * escaper of the server's JSON answers and its log (log.c): into out,
 * *len its length. '"' and '\\' are escaped, as are the control
 * characters (\n \r \t, the others and DEL as \u00XX); well-formed UTF-8
 * is copied, and an ill-formed sequence (its longest ill-formed start, 1..3
 * bytes: a stray byte, a truncated sequence, an overlong, a surrogate) is
 * written as \ufffd, so the output is always valid UTF-8. Returns the
 * bytes of s taken (1..4); 0 at the NUL. Pure; for the answers' messages
 * and the log, not the market-data encoders' hot path. */
#define XT_JSON_CHAR_MAX 6
size_t xt_md_json_char(const char *s, char out[XT_JSON_CHAR_MAX], size_t *len);

#endif
