/* internal.h - private state of the market-data library, shared by md.c
 * (book, tape, ticker, lookup, queries) and kline.c (intervals, candles,
 * the timeline and the trading day).
 */
#ifndef XT_MD_INTERNAL_H
#define XT_MD_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "md/md.h"

#define XT__MD_NS INT64_C(1000000000)
#define XT__MD_SYMBOL_MAX 31

struct xt_md_inst {
    uint32_t id;
    int32_t tz; /* seconds east of UTC */
    char symbol[XT__MD_SYMBOL_MAX + 1];
    /* The book: per side a sorted array of max_levels, worst first, best
     * last. chg: the levels the current command touched, as they were
     * before it (qty 0: absent), sorted like the book, 2 x max_levels. */
    xt_md_level_t *lv[2], *chg[2];
    uint32_t n_lv[2], n_chg[2];
    /* A side that was full (max_levels) may hold fewer levels than the
     * engine: cut[side] is then the worst price it is complete down to
     * (0: complete). A level worse than it is not taken - levels between
     * would be missing - and once such a side falls below half its
     * capacity the instrument asks for its book again (refill). */
    int64_t cut[2];
    uint8_t refill; /* asked (xt_md_take_refills), not yet written again (xt_md_book_reset) */
    uint64_t book_seq;
    /* The tape: a ring of tape_cap trades; head is the next write. */
    xt_md_trade_t *tape;
    uint32_t tape_cap, tape_head, tape_n;
    xt_md_ticker_t ticker;
    xt_md_candle_t k[XT_KL_COUNT];
    /* The timeline of the trading day that starts at day_start. */
    xt_md_minute_t *tl;
    uint32_t tl_n;
    int64_t day_start;
    int64_t t;          /* the latest time applied (valid once started) */
    uint8_t started;    /* some time was seen: candles and timeline exist */
    uint8_t in_cmd;     /* touched by the command being consumed */
    uint8_t follow_ref; /* prev_close is the band's ref (xt_md_follow_ref), not the day's close */
    uint8_t ticker_dirty, minute_dirty;
    uint16_t kline_dirty; /* bit per interval */
};

/* A checkpoint (state.c, xt_md_ckpt_*): per slot, where its bytes go in
 * the output and what its timeline and tape held at the beginning, and
 * its fixed part and open minute as they were then (written by the owner
 * into `fixed`, a table of its own, so that the owner touches none of the
 * output's pages); per slot, `units` claim states (core/cow.h): 0 the
 * fixed part and the timeline, 1.. the tape's chunks of XT_MD_CKPT_CHUNK
 * slots. */
#define XT__MD_INST_FIXED 896 /* state.c: an instrument's record up to its counts */
#define XT__MD_POINT_BYTES 40 /* state.c: a minute or a trade */
#define XT__MD_CKPT_FIXED (XT__MD_INST_FIXED + 8 + XT__MD_POINT_BYTES) /* the record, its counts, a minute */

typedef struct xt__md_ckpt_inst {
    size_t at, tl_at, tape_at;
    uint32_t tl_n, tape_n, tape_oldest;
} xt__md_ckpt_inst_t;

struct xt__md_ckpt {
    uint8_t *out;
    uint8_t *fixed;           /* by slot, XT__MD_CKPT_FIXED bytes */
    xt__md_ckpt_inst_t *inst; /* by slot */
    _Atomic uint8_t *state;   /* by slot and unit */
    uint32_t units, n;        /* per slot; slots in it */
    int active;
};

/* The owner is about to change unit u of in (0: its timeline, whose
 * claim also copies its fixed part; 1 + c: its tape's chunk c) while a
 * checkpoint may be under way. */
void xt__md_ckpt_write(const xt_md_t *md, const xt_md_inst_t *in, uint32_t u);
static inline void xt__md_ckpt_guard(const xt_md_t *md, const xt_md_inst_t *in, uint32_t u)
{
    if (md->ck->active)
        xt__md_ckpt_write(md, in, u);
}

static inline void xt__md_emit(const xt_md_t *md, const xt_md_update_t *u)
{
    if (md->sink)
        md->sink(md->ctx, u);
}

/* a + b for b >= 0, saturating at INT64_MAX. */
static inline int64_t xt__md_sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* n / d rounded half up (to +infinity at .5), d > 0, clamped to int64. */
int64_t xt__md_div_half_up(__int128 n, int64_t d);
/* The day's average price: turnover / volume half up; without volume the
 * last price (prev_close for an instrument that follows its ref). */
int64_t xt__md_day_avg(const xt_md_inst_t *in);

/* kline.c: the instrument's time. start: the first time seen opens flat
 * candles and the first timeline minute. roll: moves to t > in->t, closing
 * what is over (emitted at once) and opening what follows (left dirty);
 * a new local day resets the ticker's day fields. trade: adds a trade to
 * the open candles and minute (after the ticker took it). flush: emits the
 * dirty candles and minute with update time ts. */
void xt__md_time_start(xt_md_inst_t *in, int64_t t);
void xt__md_time_roll(const xt_md_t *md, xt_md_inst_t *in, int64_t t, int64_t ts);
void xt__md_time_trade(xt_md_inst_t *in, int64_t price, int64_t qty);
void xt__md_time_flush(const xt_md_t *md, xt_md_inst_t *in, int64_t ts);

#endif
