/* md_fixture.h - what the market-data unit tests share: a sink that
 * captures (copies) every update, and a fixture with one instrument that
 * takes hand-built events. */
#ifndef XT_TEST_MD_FIXTURE_H
#define XT_TEST_MD_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md/md.h"
#include "strbuf.h"
#include "xt/error.h"

#define S(x) ((int64_t)(x)*INT64_C(1000000000)) /* seconds -> ns */
#define MIN S(60)
#define HOUR INT64_C(3600) /* seconds */
#define MINUTE INT64_C(60)
/* Calendar anchors (UTC, seconds since the epoch). */
#define MON_2024_01_01 INT64_C(1704067200) /* Monday 00:00 */
#define WED_2024_01_03 INT64_C(1704240000) /* Wednesday 00:00 */
#define AT_10H (S(WED_2024_01_03) + S(10 * HOUR))

#define MAX_REC 512
#define MAX_LV 64

typedef struct rec {
    xt_md_update_t u;
    xt_md_level_t bids[MAX_LV], asks[MAX_LV];
    xt_md_trade_t trade;
    xt_md_ticker_t ticker;
    xt_md_candle_t candle;
    xt_md_minute_t minute;
} rec_t;

typedef struct cap {
    rec_t rec[MAX_REC];
    size_t n;                        /* recorded (the first MAX_REC) */
    size_t total;                    /* all updates */
    strbuf_t *log;                   /* serialized updates when set */
    size_t kinds[XT_MDU_MINUTE + 1]; /* all updates by kind */
    size_t closed[XT_KL_COUNT];
    int64_t first_closed[XT_KL_COUNT], last_closed[XT_KL_COUNT];
} cap_t;

typedef struct fx {
    xt_md_t md;
    cap_t cap;
    uint64_t seq, trade_id;
} fx_t;

void sink(void *ctx, const xt_md_update_t *u); /* the md sink: counts and copies each update into a cap_t */
void cap_reset(cap_t *c);
/* The index-th recorded update of a kind (and interval for KLINE), or NULL. */
const rec_t *find_rec(const cap_t *c, int kind, int interval, size_t index);
size_t count_rec(const cap_t *c, int kind, int interval);
/* An md of 4 instruments with instrument 1 "BTC-USDT" added. */
fx_t *fx_new(uint32_t levels, uint32_t tape, int32_t tz, int64_t ref);
void fx_free(fx_t *f);
const xt_md_inst_t *inst1(const fx_t *f);
xt_event_t bk(int side, int64_t price, int64_t qty, uint32_t orders); /* a BOOK event of instrument 1 */
xt_event_t tr(fx_t *f, int taker, int64_t price, int64_t qty);        /* a TRADE event with the next trade id */
void batch(fx_t *f, uint64_t seq, int64_t ts, const xt_event_t *ev, uint32_t n, int last);
void cmd(fx_t *f, int64_t ts, const xt_event_t *ev, uint32_t n); /* one command in one batch */
void trade_at(fx_t *f, int64_t ts, int64_t price, int64_t qty);
uint64_t next_rand(void); /* xorshift, one sequence per process */

#endif
