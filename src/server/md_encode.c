/* md_encode.c - market-data JSON messages (see md_encode.h). */
#include "md_encode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/ws.h"
#include "xt/decimal.h"

/* A bounded writer: once full it stays full and the result is 0. */
typedef struct w {
    char *p;
    size_t cap, n;
    int full;
} w_t;

static void put(w_t *w, const char *s, size_t n)
{
    if (w->full || w->n + n >= w->cap) {
        w->full = 1;
        return;
    }
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void puts_(w_t *w, const char *s)
{
    put(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(w_t *w, const char *fmt, ...)
{
    char b[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b)
        w->full = 1;
    else
        put(w, b, (size_t)n);
}

static size_t done(w_t *w)
{
    return w->full ? 0 : w->n;
}

/* "1700.01": units of `unit` as a JSON string; null for XT_PRICE_NONE. */
static void units(w_t *w, int64_t v, xt_decimal_t unit)
{
    if (v == XT_PRICE_NONE) {
        puts_(w, "null");
        return;
    }
    char b[XT_DECIMAL_BUFSZ];
    int n = xt_units_format(v, unit, b);
    put(w, "\"", 1);
    put(w, b, (size_t)n);
    put(w, "\"", 1);
}

/* A price that may not exist yet: the engine's prices are > 0, so 0 here
 * means "no trade and no reference price so far" and is sent as null. */
static void price(w_t *w, int64_t v, xt_decimal_t tick)
{
    units(w, v == 0 ? XT_PRICE_NONE : v, tick);
}

/* A 128-bit count of 10^-scale as a decimal string. */
/* A turnover: v (ticks x lots) times unit (one tick x one lot), exact -
 * it may pass 128 bits. */
static void big(w_t *w, __int128 v, __int128 unit, unsigned scale)
{
    char b[XT_PRODUCT_BUFSZ + 2];
    b[0] = '"';
    size_t k = 1 + (size_t)xt_i128_mul_format(v, unit, scale, b + 1);
    b[k++] = '"';
    put(w, b, k);
}

/* Hundredths as "12.34" / "-0.05". */
static void hundredths(w_t *w, int64_t v)
{
    int64_t a = v < 0 ? -v : v;
    putf(w, "\"%s%" PRId64 ".%02" PRId64 "\"", v < 0 ? "-" : "", a / 100, a % 100);
}

const char *xt_ch_kind_name(int kind, char buf[16])
{
    static const char *const names[] = {"bbo", "depth5", "depth10", "depth20", "depth", "trades", "ticker", "timeline"};
    if (kind >= 0 && kind < XT_CH_KLINE)
        return names[kind];
    if (kind >= XT_CH_KLINE && kind < XT_CH_KLINE + XT_KL_COUNT) {
        snprintf(buf, 16, "kline.%s", xt_kline_interval_name(kind - XT_CH_KLINE));
        return buf;
    }
    return NULL;
}

static void head(w_t *w, const xt_md_sym_t *sym, int kind, int64_t ts)
{
    char b[16];
    putf(w, "{\"ch\":\"%s.", xt_ch_kind_name(kind, b));
    puts_(w, sym->symbol);
    puts_(w, sym->suffix);
    putf(w, "\",\"ts\":%" PRId64, ts);
}

static void levels(w_t *w, const xt_md_sym_t *sym, const xt_md_level_t *l, uint32_t n)
{
    put(w, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        put(w, i ? ",[" : "[", i ? 2 : 1);
        units(w, l[i].price, sym->tick);
        put(w, ",", 1);
        units(w, l[i].qty, sym->lot);
        put(w, "]", 1);
    }
    put(w, "]", 1);
}

size_t xt_md_enc_depth(char *out, size_t cap, const xt_md_sym_t *sym, int kind, int snapshot, uint64_t seq,
                       int64_t prev_seq, int64_t ts, const xt_md_level_t *bids, uint32_t nb, const xt_md_level_t *asks,
                       uint32_t na)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, kind, ts);
    putf(&w, ",\"type\":\"%s\",\"seq\":%" PRIu64, snapshot ? "snapshot" : "delta", seq);
    if (!snapshot)
        putf(&w, ",\"prev_seq\":%" PRId64, prev_seq);
    puts_(&w, ",\"bids\":");
    levels(&w, sym, bids, nb);
    puts_(&w, ",\"asks\":");
    levels(&w, sym, asks, na);
    puts_(&w, "}");
    return done(&w);
}

static void best(w_t *w, const xt_md_sym_t *sym, const char *name, int64_t price, int64_t qty)
{
    putf(w, ",\"%s\":", name);
    units(w, price, sym->tick);
    putf(w, ",\"%s_qty\":", name);
    units(w, price == XT_PRICE_NONE ? XT_PRICE_NONE : qty, sym->lot);
}

size_t xt_md_enc_bbo(char *out, size_t cap, const xt_md_sym_t *sym, uint64_t seq, int64_t ts, const xt_md_ticker_t *t)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, XT_CH_BBO, ts);
    putf(&w, ",\"seq\":%" PRIu64, seq);
    best(&w, sym, "bid", t->best_bid, t->best_bid_qty);
    best(&w, sym, "ask", t->best_ask, t->best_ask_qty);
    puts_(&w, "}");
    return done(&w);
}

size_t xt_md_enc_trades(char *out, size_t cap, const xt_md_sym_t *sym, int snapshot, int64_t ts,
                        const xt_md_trade_t *tr, uint32_t n)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, XT_CH_TRADES, ts);
    putf(&w, ",\"type\":\"%s\",\"data\":[", snapshot ? "snapshot" : "update");
    for (uint32_t i = 0; i < n; i++) {
        putf(&w, "%s{\"id\":%" PRIu64 ",\"ts\":%" PRId64 ",\"price\":", i ? "," : "", tr[i].trade_id, tr[i].ts);
        units(&w, tr[i].price, sym->tick);
        puts_(&w, ",\"qty\":");
        units(&w, tr[i].qty, sym->lot);
        putf(&w, ",\"side\":\"%s\"}", tr[i].taker_side == XT_SELL ? "sell" : "buy");
    }
    puts_(&w, "]}");
    return done(&w);
}

size_t xt_md_enc_ticker(char *out, size_t cap, const xt_md_sym_t *sym, int64_t ts, const xt_md_ticker_t *t,
                        xt_md_trading_t tr)
{
    w_t w = {out, cap, 0, 0};
    unsigned money_scale = (unsigned)sym->tick.scale + sym->lot.scale;
    __int128 unit = (__int128)sym->tick.m * sym->lot.m; /* one tick x one lot in 10^-money_scale */
    head(&w, sym, XT_CH_TICKER, ts);
    const char *names[] = {"prev_close", "open", "high", "low", "last"};
    const int64_t vals[] = {t->prev_close, t->open, t->high, t->low, t->last};
    for (int i = 0; i < 5; i++) {
        putf(&w, ",\"%s\":", names[i]);
        price(&w, vals[i], sym->tick);
    }
    int64_t change = xt_md_change(t);
    puts_(&w, ",\"change\":");
    units(&w, change, sym->tick);
    puts_(&w, ",\"change_pct\":");
    if (change != XT_PRICE_NONE)
        hundredths(&w, xt_md_change_bp(t));
    else
        puts_(&w, "null");
    puts_(&w, ",\"volume\":");
    units(&w, t->volume, sym->lot);
    puts_(&w, ",\"turnover\":");
    big(&w, t->turnover, unit, money_scale);
    puts_(&w, ",\"vwap\":");
    units(&w, t->volume ? xt_md_vwap(t) : XT_PRICE_NONE, sym->tick);
    putf(&w, ",\"trades\":%" PRIu64, t->trades);
    best(&w, sym, "bid", t->best_bid, t->best_bid_qty);
    best(&w, sym, "ask", t->best_ask, t->best_ask_qty);
    puts_(&w, ",\"weibi\":");
    hundredths(&w, xt_md_weibi_bp(t));
    puts_(&w, ",\"weicha\":");
    units(&w, t->bid5_qty - t->ask5_qty, sym->lot);
    puts_(&w, tr.halted ? ",\"status\":\"halted\",\"band\":" : ",\"status\":\"trading\",\"band\":");
    char band[XT_MD_BAND_BUFSZ];
    xt_md_enc_band(band, tr, sym->tick);
    puts_(&w, band);
    puts_(&w, "}");
    return done(&w);
}

size_t xt_md_enc_band(char out[XT_MD_BAND_BUFSZ], xt_md_trading_t tr, xt_decimal_t tick)
{
    w_t w = {out, XT_MD_BAND_BUFSZ - 1, 0, 0};
    if (tr.band_high) {
        puts_(&w, "{\"low\":");
        price(&w, tr.band_low, tick);
        puts_(&w, ",\"high\":");
        price(&w, tr.band_high, tick);
        puts_(&w, "}");
    } else {
        puts_(&w, "null");
    }
    size_t n = done(&w);
    out[n] = '\0';
    return n;
}

/* One candle as {"t":...,"closed":...}. */
static void candle(w_t *w, const xt_md_sym_t *sym, const xt_md_candle_t *c)
{
    unsigned money_scale = (unsigned)sym->tick.scale + sym->lot.scale;
    __int128 unit = (__int128)sym->tick.m * sym->lot.m;
    putf(w, "{\"t\":%" PRId64, c->open_time);
    const char *names[] = {"open", "high", "low", "close"};
    const int64_t vals[] = {c->open, c->high, c->low, c->close};
    for (int i = 0; i < 4; i++) {
        putf(w, ",\"%s\":", names[i]);
        price(w, vals[i], sym->tick);
    }
    puts_(w, ",\"volume\":");
    units(w, c->volume, sym->lot);
    puts_(w, ",\"turnover\":");
    big(w, c->turnover, unit, money_scale);
    putf(w, ",\"trades\":%" PRIu32 ",\"closed\":%s}", c->trades, c->closed ? "true" : "false");
}

size_t xt_md_enc_kline(char *out, size_t cap, const xt_md_sym_t *sym, int interval, int64_t ts, const xt_md_candle_t *c)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, XT_CH_KLINE + interval, ts);
    puts_(&w, ",\"data\":");
    candle(&w, sym, c);
    puts_(&w, "}");
    return done(&w);
}

size_t xt_md_enc_klines(char *out, size_t cap, const xt_md_sym_t *sym, int interval, int64_t ts,
                        const xt_md_candle_t *c, uint32_t n)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, XT_CH_KLINE + interval, ts);
    puts_(&w, ",\"type\":\"snapshot\",\"data\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put(&w, ",", 1);
        candle(&w, sym, &c[i]);
    }
    puts_(&w, "]}");
    return done(&w);
}

size_t xt_md_enc_timeline(char *out, size_t cap, const xt_md_sym_t *sym, int snapshot, int64_t ts,
                          const xt_md_minute_t *pts, uint32_t n)
{
    w_t w = {out, cap, 0, 0};
    head(&w, sym, XT_CH_TIMELINE, ts);
    putf(&w, ",\"type\":\"%s\",\"data\":[", snapshot ? "snapshot" : "update");
    for (uint32_t i = 0; i < n; i++) {
        putf(&w, "%s{\"t\":%" PRId64 ",\"price\":", i ? "," : "", pts[i].minute);
        price(&w, pts[i].price, sym->tick);
        puts_(&w, ",\"avg_price\":");
        price(&w, pts[i].avg_price, sym->tick);
        puts_(&w, ",\"volume\":");
        units(&w, pts[i].volume, sym->lot);
        putf(&w, ",\"closed\":%s}", pts[i].closed ? "true" : "false");
    }
    puts_(&w, "]}");
    return done(&w);
}

/* The two-byte escapes: \" \\ \n \r \t; 0 for another character. */
static char short_escape(unsigned char c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
    }
}

size_t xt_md_json_char(const char *s, char out[XT_JSON_CHAR_MAX], size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)*s;
    size_t n, bad = 0;
    *len = 0;
    if (c == 0)
        return 0;
    out[0] = '\\';
    if ((out[1] = short_escape(c)) != 0) {
        *len = 2;
        return 1;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        *len = 6;
        return 1;
    }
    if ((n = xt_utf8_seq((const uint8_t *)s, 4, &bad)) == 0) { /* 4: NUL-terminated, read no further */
        memcpy(out, "\\ufffd", 6);
        *len = 6;
        return bad;
    }
    memcpy(out, s, n);
    *len = n;
    return n;
}

size_t xt_md_json_string(char *out, size_t cap, const char *s)
{
    w_t w = {out, cap, 0, 0};
    put(&w, "\"", 1);
    for (size_t n; *s; s += n) {
        char e[XT_JSON_CHAR_MAX];
        size_t len;
        n = xt_md_json_char(s, e, &len);
        put(&w, e, len);
    }
    put(&w, "\"", 1);
    if (!w.full)
        out[w.n] = '\0';
    return done(&w);
}
