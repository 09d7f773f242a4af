/* kline.c - time in market data: the ten K-line intervals and their
 * alignment to an instrument's local time, the candles, the 分时 timeline
 * and the local trading day.
 *
 * Alignment is floor division in local time (ts + offset), in __int128 so
 * that no timestamp or offset can overflow; weeks are counted from Monday
 * 1969-12-29 00:00 local (1970-01-01 was a Thursday).
 *
 * Gap-free: moving time past an interval's end closes the open candle
 * (emitted once, closed=1), emits every skipped interval as a closed flat
 * candle at the previous close (at most XT_MD_FLAT_MAX, the newest), and
 * opens the current one flat (emitted later, by the flush). The timeline
 * works the same way per minute, within one local day: a new day fills the
 * rest of the old day, resets the ticker's day fields and starts again at
 * local midnight.
 */
#include <assert.h>
#include <string.h>

#include "md/internal.h"

static const char *const names[XT_KL_COUNT] = {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w"};
static const int64_t seconds[XT_KL_COUNT] = {60, 180, 300, 900, 1800, 3600, 7200, 14400, 86400, 604800};

#define DAY_S INT64_C(86400)
#define MINUTE_NS (INT64_C(60) * XT__MD_NS)
#define WEEK_SHIFT_S (3 * DAY_S) /* Thursday 1970-01-01 - Monday 1969-12-29 */
#define ALL_INTERVALS ((uint16_t)((1u << XT_KL_COUNT) - 1u))

const char *xt_kline_interval_name(int interval)
{
    return interval >= 0 && interval < XT_KL_COUNT ? names[interval] : NULL;
}

int xt_kline_interval_parse(const char *name, size_t len)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < XT_KL_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

int64_t xt_kline_interval_seconds(int interval)
{
    return interval >= 0 && interval < XT_KL_COUNT ? seconds[interval] : 0;
}

static __int128 floor_div(__int128 n, __int128 d)
{
    __int128 q = n / d;
    if (n % d != 0 && (n < 0) != (d < 0))
        q--;
    return q;
}

static int64_t clamp64(__int128 v)
{
    if (v < INT64_MIN)
        return INT64_MIN;
    if (v > INT64_MAX)
        return INT64_MAX;
    return (int64_t)v;
}

int64_t xt_kline_align(int interval, int64_t ts, int32_t tz_offset_s)
{
    if (interval < 0 || interval >= XT_KL_COUNT)
        return ts;
    __int128 len = (__int128)seconds[interval] * XT__MD_NS;
    __int128 off = (__int128)tz_offset_s * XT__MD_NS;
    if (interval == XT_KL_1W)
        off += (__int128)WEEK_SHIFT_S * XT__MD_NS;
    return clamp64(floor_div((__int128)ts + off, len) * len - off);
}

/* ---- candles ------------------------------------------------------------- */

static void emit_candle(const xt_md_t *md, const xt_md_inst_t *in, int i, const xt_md_candle_t *c, int64_t ts)
{
    xt_md_update_t u = {0};
    u.kind = XT_MDU_KLINE;
    u.interval = (uint8_t)i;
    u.instrument = in->id;
    u.ts = ts;
    u.candle = c;
    xt__md_emit(md, &u);
}

static void flat_candle(xt_md_candle_t *c, int64_t open_time, int64_t px, uint8_t closed)
{
    memset(c, 0, sizeof *c);
    c->open_time = open_time;
    c->open = c->high = c->low = c->close = px;
    c->closed = closed;
}

/* Moves interval i to the one holding t: close, flats, open (dirty). */
static void roll_candle(const xt_md_t *md, xt_md_inst_t *in, int i, int64_t t, int64_t ts)
{
    xt_md_candle_t *c = &in->k[i];
    int64_t start = xt_kline_align(i, t, in->tz);
    if (start <= c->open_time)
        return;
    c->closed = 1;
    emit_candle(md, in, i, c, ts);
    __int128 len = (__int128)seconds[i] * XT__MD_NS;
    __int128 skipped = ((__int128)start - c->open_time) / len - 1;
    __int128 first = skipped > XT_MD_FLAT_MAX ? skipped - XT_MD_FLAT_MAX : 0;
    int64_t px = in->ticker.last;
    for (__int128 j = first; j < skipped; j++) {
        xt_md_candle_t f;
        flat_candle(&f, clamp64((__int128)start - (skipped - j) * len), px, 1);
        emit_candle(md, in, i, &f, ts);
    }
    flat_candle(c, start, px, 0);
    in->kline_dirty |= (uint16_t)(1u << i);
}

/* ---- the timeline ---------------------------------------------------------- */

static void emit_minute(const xt_md_t *md, const xt_md_inst_t *in, const xt_md_minute_t *m, int64_t ts)
{
    xt_md_update_t u = {0};
    u.kind = XT_MDU_MINUTE;
    u.instrument = in->id;
    u.ts = ts;
    u.minute = m;
    xt__md_emit(md, &u);
}

/* Appends a minute at the current price and day average (the last slot is
 * reused should a day ever hold more points than it has minutes). */
static xt_md_minute_t *add_minute(xt_md_inst_t *in, int64_t minute, uint8_t closed)
{
    assert(in->tl_n < XT_MD_TIMELINE_MAX);
    if (in->tl_n < XT_MD_TIMELINE_MAX)
        in->tl_n++;
    xt_md_minute_t *m = &in->tl[in->tl_n - 1];
    m->minute = minute;
    m->price = in->ticker.last;
    m->avg_price = xt__md_day_avg(in);
    m->volume = 0;
    m->closed = closed;
    return m;
}

/* Flat closed minutes for [from, to), at most a day's worth. */
static void fill_minutes(const xt_md_t *md, xt_md_inst_t *in, __int128 from, __int128 to, int64_t ts)
{
    for (int n = 0; from < to && n < XT_MD_TIMELINE_MAX; from += MINUTE_NS, n++)
        emit_minute(md, in, add_minute(in, clamp64(from), 1), ts);
}

static void new_day(xt_md_inst_t *in, int64_t day, int64_t ts)
{
    xt_md_ticker_t *t = &in->ticker;
    if (!in->follow_ref || t->prev_close == 0) /* else the ref's stays (xt_md_follow_ref) */
        t->prev_close = t->last;
    t->open = t->high = t->low = t->last;
    t->volume = 0;
    t->turnover = 0;
    t->trades = 0;
    t->ts = ts;
    in->ticker_dirty = 1;
    in->day_start = day;
    in->tl_n = 0;
}

static void roll_timeline(const xt_md_t *md, xt_md_inst_t *in, int64_t t, int64_t ts)
{
    xt_md_minute_t *cur = &in->tl[in->tl_n - 1];
    int64_t minute = xt_kline_align(XT_KL_1M, t, in->tz);
    if (minute <= cur->minute)
        return;
    cur->closed = 1;
    emit_minute(md, in, cur, ts);
    __int128 from = (__int128)cur->minute + MINUTE_NS;
    int64_t day = xt_kline_align(XT_KL_1D, t, in->tz);
    if (day > in->day_start) {
        fill_minutes(md, in, from, (__int128)in->day_start + DAY_S * XT__MD_NS, ts);
        xt__md_ckpt_guard(md, in, 0); /* the new day's minutes overwrite the old ones */
        new_day(in, day, ts);
        from = day;
    }
    fill_minutes(md, in, from, minute, ts);
    add_minute(in, minute, 0);
    in->minute_dirty = 1;
}

/* ---- the instrument's time --------------------------------------------------- */

void xt__md_time_start(xt_md_inst_t *in, int64_t t)
{
    for (int i = 0; i < XT_KL_COUNT; i++)
        flat_candle(&in->k[i], xt_kline_align(i, t, in->tz), in->ticker.last, 0);
    in->kline_dirty = ALL_INTERVALS;
    in->day_start = xt_kline_align(XT_KL_1D, t, in->tz);
    in->tl_n = 0;
    add_minute(in, xt_kline_align(XT_KL_1M, t, in->tz), 0);
    in->minute_dirty = 1;
    in->t = t;
    in->started = 1;
}

void xt__md_time_roll(const xt_md_t *md, xt_md_inst_t *in, int64_t t, int64_t ts)
{
    if (!in->started || t <= in->t)
        return;
    in->t = t;
    /* Every boundary of every interval (and of the timeline) is a minute
     * boundary: the lengths and the week's shift are whole minutes and the
     * zone offset is applied alike. Inside the current minute nothing rolls,
     * which spares the common case ten 128-bit divisions. */
    if ((__int128)t < (__int128)in->k[XT_KL_1M].open_time + MINUTE_NS)
        return;
    for (int i = 0; i < XT_KL_COUNT; i++)
        roll_candle(md, in, i, t, ts);
    roll_timeline(md, in, t, ts);
}

void xt__md_time_trade(xt_md_inst_t *in, int64_t price, int64_t qty)
{
    for (int i = 0; i < XT_KL_COUNT; i++) {
        xt_md_candle_t *c = &in->k[i];
        if (c->trades == 0) {
            c->open = c->high = c->low = price;
        } else {
            c->high = price > c->high ? price : c->high;
            c->low = price < c->low ? price : c->low;
        }
        c->close = price;
        c->volume = xt__md_sat_add(c->volume, qty);
        c->turnover += (__int128)price * qty;
        if (c->trades < UINT32_MAX)
            c->trades++;
    }
    in->kline_dirty = ALL_INTERVALS;
    xt_md_minute_t *m = &in->tl[in->tl_n - 1];
    m->price = price;
    m->volume = xt__md_sat_add(m->volume, qty);
    m->avg_price = xt__md_day_avg(in);
    in->minute_dirty = 1;
}

void xt__md_time_flush(const xt_md_t *md, xt_md_inst_t *in, int64_t ts)
{
    for (int i = 0; i < XT_KL_COUNT; i++)
        if (in->kline_dirty & (1u << i))
            emit_candle(md, in, i, &in->k[i], ts);
    in->kline_dirty = 0;
    if (in->minute_dirty && in->tl_n > 0)
        emit_minute(md, in, &in->tl[in->tl_n - 1], ts);
    in->minute_dirty = 0;
}
