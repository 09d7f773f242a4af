/* md.h - market data derived from the matching engine's events: L2 depth
 * and best bid/offer, the trade tape, the ticker (with 委比/委差), K-lines in
 * ten intervals and the 分时 timeline.
 *
 * Pure: no I/O, no clock, no allocation after xt_md_init(). Time comes from
 * the events (the batch timestamp) and from xt_md_advance(); the same events
 * and advances give the same updates, bit for bit. Prices are ticks and
 * quantities lots of the instrument, as in the core; turnover is in
 * tick x lot units (__int128: it can pass 2^63 over a long day).
 *
 * Use: xt_md_init(), xt_md_add_instrument() for each instrument, then feed
 * every event batch of the engine (in order) to xt_md_on_batch(), and call
 * xt_md_advance(now) now and then (a timer) so candles and timeline minutes
 * close when their time is up even without trades. Updates come out through
 * the sink given at init, synchronously, from inside those calls; the
 * update and everything it points to are borrowed for the call only.
 *
 * Order of the updates of one command, per instrument it touched: first
 * the candles and timeline minutes its time closed (with the flat ones of
 * any gap), then a TRADE per trade as they come, then at the command's end
 * (its `last` batch) BOOK, TICKER, the changed KLINEs (1m first) and the
 * MINUTE. xt_md_advance() gives the closes, then TICKER (a new day), the
 * opened KLINEs and MINUTE.
 *
 * Time zones: each instrument has a fixed offset from UTC in seconds
 * (Asia/Shanghai = +28800). Day, 2h, 4h and week candles and the timeline's
 * trading day align to local midnight (weeks start on Monday 00:00 local).
 * Zones with daylight saving are not modelled.
 */
#ifndef XT_MD_H
#define XT_MD_H

#include <stddef.h>
#include <stdint.h>

#include "xt/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- K-line intervals ------------------------------------------------------ */

typedef enum xt_kline_interval {
    XT_KL_1M,
    XT_KL_3M,
    XT_KL_5M,
    XT_KL_15M,
    XT_KL_30M,
    XT_KL_1H,
    XT_KL_2H,
    XT_KL_4H,
    XT_KL_1D,
    XT_KL_1W,
    XT_KL_COUNT
} xt_kline_interval_t;

/* "1m" "3m" "5m" "15m" "30m" "1h" "2h" "4h" "1d" "1w"; NULL when out of range. */
const char *xt_kline_interval_name(int interval);
/* The interval named (as above), or -1. */
int xt_kline_interval_parse(const char *name, size_t len);
/* The interval's length in seconds (1w = 604800); 0 when out of range. */
int64_t xt_kline_interval_seconds(int interval);
/* The start (ns since the epoch, UTC) of the interval holding ts, for an
 * instrument tz_offset_s seconds east of UTC (floor: right for times before
 * 1970 and negative offsets; INT64_MIN if the start is not representable).
 * ts itself when the interval is out of range. */
int64_t xt_kline_align(int interval, int64_t ts, int32_t tz_offset_s);

/* ---- the products ------------------------------------------------------------ */

typedef struct xt_md_level {
    int64_t price;
    int64_t qty;     /* total resting quantity */
    uint32_t orders; /* resting orders at the level */
} xt_md_level_t;

typedef struct xt_md_trade {
    uint64_t trade_id;
    int64_t ts;
    int64_t price;
    int64_t qty;
    uint8_t taker_side; /* xt_side_t of the incoming order */
} xt_md_trade_t;

typedef struct xt_md_candle {
    int64_t open_time; /* ns, UTC: start of the interval */
    int64_t open, high, low, close;
    int64_t volume;
    __int128 turnover;
    uint32_t trades;
    uint8_t closed; /* 1: the interval is over; this candle will not change */
} xt_md_candle_t;
/* An interval without trades is flat at the previous close (volume 0); its
 * first trade sets open, high, low and close. When time jumps more than
 * XT_MD_FLAT_MAX intervals, only the last XT_MD_FLAT_MAX flat candles before
 * the new one are emitted (the older ones are skipped). */
#define XT_MD_FLAT_MAX 100000

/* The ticker over the current trading day (since local midnight). Before the
 * day's first trade open/high/low/last are the previous close and the
 * volumes are zero. */
typedef struct xt_md_ticker {
    int64_t ts;         /* of the last event that changed it */
    int64_t prev_close; /* the reference price, then each day's last close */
    int64_t open, high, low, last;
    int64_t volume;
    __int128 turnover;
    uint64_t trades;
    int64_t best_bid, best_bid_qty; /* XT_PRICE_NONE / 0 when the side is empty */
    int64_t best_ask, best_ask_qty;
    int64_t bid5_qty, ask5_qty; /* Σ qty of the top five levels per side */
} xt_md_ticker_t;

/* 委比 in basis points of a percent (x100: 2550 = 25.50 %), 0 when both sides
 * are empty; 委差 = bid5_qty - ask5_qty. Rounded half away from zero. */
int32_t xt_md_weibi_bp(const xt_md_ticker_t *t);
/* 涨跌 = last - prev_close in ticks: XT_PRICE_NONE without last or
 * prev_close, 0 before the day's first trade (last is then the close
 * before, which a ref followed may not be). */
int64_t xt_md_change(const xt_md_ticker_t *t);
/* 涨跌幅: xt_md_change / prev_close in hundredths of a percent, rounded
 * half away from zero (0 where xt_md_change is 0 or XT_PRICE_NONE). */
int32_t xt_md_change_bp(const xt_md_ticker_t *t);
/* VWAP in ticks (turnover / volume rounded half up), or 0 without volume. */
int64_t xt_md_vwap(const xt_md_ticker_t *t);

/* 分时: one point per minute of the trading day. */
typedef struct xt_md_minute {
    int64_t minute;    /* ns, UTC: start of the minute */
    int64_t price;     /* last trade price at the minute's end (carried forward) */
    int64_t avg_price; /* cumulative turnover / volume since the day start, ticks, half up */
    int64_t volume;    /* traded in this minute */
    uint8_t closed;
} xt_md_minute_t;
#define XT_MD_TIMELINE_MAX 1440 /* minutes in a day */
#define XT_MD_TAPE_MAX 1000000  /* the longest tape (xt_md_config_t.tape, md.tape): a state file bounds it too */

/* ---- updates --------------------------------------------------------------- */

typedef enum xt_md_update_kind {
    XT_MDU_BOOK = 1, /* the instrument's book changed (once per command that changed it) */
    XT_MDU_TRADE,    /* one trade */
    XT_MDU_TICKER,   /* the ticker changed (once per command, after BOOK/TRADEs) */
    XT_MDU_KLINE,    /* a candle changed, opened or closed */
    XT_MDU_MINUTE,   /* a timeline minute changed or closed */
} xt_md_update_kind_t;

typedef struct xt_md_update {
    uint8_t kind;
    uint8_t interval; /* KLINE */
    uint32_t instrument;
    int64_t ts;        /* the event (or advance) time that caused it */
    uint64_t seq;      /* BOOK: the book's version after the change (see xt_md_book_seq) */
    uint64_t prev_seq; /* BOOK: its version before */
    /* BOOK: the levels that changed, each with its new absolute qty (0 =
     * gone), bids then asks; prices distinct per side, best first. Net
     * changes over the command: a level changed and changed back is not
     * listed. A level pushed out of a full side (max_levels) is listed as
     * gone; a level worse than a side that was ever full kept is not
     * tracked (xt_md_take_refills). */
    const xt_md_level_t *changed_bids, *changed_asks;
    uint32_t n_changed_bids, n_changed_asks;
    const xt_md_trade_t *trade;   /* TRADE */
    const xt_md_ticker_t *ticker; /* TICKER */
    const xt_md_candle_t *candle; /* KLINE */
    const xt_md_minute_t *minute; /* MINUTE */
} xt_md_update_t;

typedef void (*xt_md_sink_fn)(void *ctx, const xt_md_update_t *u);

/* ---- the state ----------------------------------------------------------- */

typedef struct xt_md_config {
    uint32_t max_instruments;
    uint32_t max_levels; /* per side per instrument; deeper levels are dropped from md only
                          * (the worst goes when a better one arrives on a full side); a
                          * side cut so is refilled from the engine (xt_md_take_refills) */
    uint32_t tape;       /* recent trades kept per instrument, 1..XT_MD_TAPE_MAX */
} xt_md_config_t;

typedef struct xt_md_inst xt_md_inst_t; /* private (md.c) */

typedef struct xt_md {
    xt_md_config_t cfg;
    xt_md_sink_fn sink;
    void *ctx;
    xt_md_inst_t *inst; /* cfg.max_instruments, indexed by slot */
    uint32_t *slot_of;  /* instrument id -> slot, open addressing */
    uint32_t slot_mask;
    uint32_t n_inst;
    int64_t now; /* latest time seen */
    /* Scratch for BOOK updates, sized at init. */
    xt_md_level_t *scratch;
    /* The command being consumed: the slots it touched, in order. */
    uint32_t *touched;
    uint32_t n_touched;
    /* Instruments whose books are to be written again (xt_md_take_refills),
     * at most one entry each; and how many were ever asked. */
    uint32_t *refills;
    uint32_t n_refills;
    uint64_t refills_asked;
    uint8_t in_cmd;
    uint64_t cmd_seq;
    int64_t cmd_ts;
    uint8_t cmd_type;       /* of the command being consumed: XT_MD_RESYNC for the books written again */
    struct xt__md_ckpt *ck; /* a checkpoint (xt_md_ckpt_*; private, in the block) */
} xt_md_t;

/* Sets up the tables (the only allocation: one block for every instrument,
 * sized by cfg). sink may be NULL (queries only). Returns 0, XT_EINVAL (zero
 * sizes, or any above 2^24) or XT_ENOMEM. */
int xt_md_init(xt_md_t *md, const xt_md_config_t *cfg, xt_md_sink_fn sink, void *ctx);
void xt_md_destroy(xt_md_t *md);

/* Starts tracking an instrument. symbol (1..31 bytes) is copied.
 * ref_price is the previous close for the first day (0 or XT_PRICE_NONE:
 * none, as xt_instrument_ref_ticks gives it without a band). Returns 0,
 * XT_EEXIST (id or symbol taken), XT_ECAPACITY or XT_EINVAL (symbol NULL,
 * empty or longer than 31 bytes, id XT_INSTRUMENT_NONE, ref_price outside
 * 0..XT_PRICE_MAX, |tz| >= 1 day). */
int xt_md_add_instrument(xt_md_t *md, uint32_t id, const char *symbol, int64_t ref_price, int32_t tz_offset_s);

/* The last price of an instrument market data has no trade of (after a
 * start without its saved day: the K-line history's newest close): the
 * ticker's last, open, high and low until its first trade, and so the
 * flat candles and timeline points before it. prev_close stays as it is
 * (the ref). Only before the instrument's first time (xt_md_advance or a
 * batch): returns 0, 1 when it has had one (nothing changed), or
 * XT_EINVAL (not added, price outside 1..XT_PRICE_MAX). */
int xt_md_seed_last(xt_md_t *md, uint32_t id, int64_t price);

/* on: the instrument's previous close is the ref of its price band (the
 * A-share 前收盘, which an ex-rights day adjusts), not the last close:
 * each INSTRUMENT event with a ref (event.h) sets prev_close to it, and a
 * new day keeps it. Only prev_close (and so the change) follows the ref:
 * the day's prices, candles and timeline are the trades' as ever. Off (as
 * added): INSTRUMENT events are ignored and a new day's prev_close is the
 * last close. Returns 0, or XT_EINVAL for an instrument not added. */
int xt_md_follow_ref(xt_md_t *md, uint32_t id, int on);
/* The ref in force now, for an instrument that follows it: prev_close
 * set to it (a start whose saved state predates the setting, or a feed
 * that lost a move). Nothing for one that does not, or an invalid ref.
 * Returns 0, or XT_EINVAL for an instrument not added. */
int xt_md_set_ref(xt_md_t *md, uint32_t id, int64_t ref);

/* Consumes one batch of engine events (every batch, in order). BOOK and
 * TRADE events drive the products, and INSTRUMENT events the previous
 * close of an instrument that follows its ref; the rest are ignored. Events of an
 * instrument that was not added, or with a price, quantity or side out of
 * range, are ignored. A batch with a new seq while a command is still open
 * (its `last` batch lost) ends that command first. A batch ts earlier than
 * an instrument's time counts as its time (time never goes back). */
void xt_md_on_batch(xt_md_t *md, const xt_event_batch_t *b);

/* Depth beyond max_levels. A side that reaches max_levels levels is
 * taken to be cut there: the engine may hold more, worse ones. md keeps
 * it complete down to its worst kept price (levels worse than that are
 * not taken, even as room comes free, since levels between them would be
 * missing), and once cancels and trades bring such a side below half
 * of max_levels, its instrument is listed here, once, for its
 * book to be written again by the engine: a reset (xt_md_book_reset),
 * then the engine's best levels as an XT_MD_RESYNC command. Takes up to
 * max listed instruments into out, oldest first; returns how many. */
uint32_t xt_md_take_refills(xt_md_t *md, uint32_t *out, uint32_t max);
/* The instrument's book is about to be written again from the engine (its
 * levels deleted, then the engine's, best first): no side is cut until
 * one is full again, and it may be listed for a refill again. */
void xt_md_book_reset(xt_md_t *md, uint32_t instrument);

/* Closes candles and timeline minutes whose time is over at `now` (ns,
 * UTC), opening the flat ones that follow (gap-free). Time never goes
 * back: an earlier `now` than seen (batch ts or advance) is ignored. An
 * instrument in the middle of a multi-batch command is left to the next
 * call. */
void xt_md_advance(xt_md_t *md, int64_t now);

/* How often the server's md thread calls xt_md_advance (ns). Recovery's
 * replay of trades and `md rebuild` call it at the same pace in event
 * time, so that they close the same candles as the live thread did. */
#define XT_MD_ADVANCE_NS INT64_C(100000000)

/* ---- queries (borrowed pointers valid until the next call that changes md) -- */

/* The instrument's slot data, NULL if unknown. (By symbol: the first added
 * with that symbol.) */
/* The latest time md has applied (a batch's, an advance's, or one loaded
 * with xt_md_state_decode); INT64_MIN before any. */
int64_t xt_md_time(const xt_md_t *md);
const xt_md_inst_t *xt_md_find(const xt_md_t *md, uint32_t instrument);
const xt_md_inst_t *xt_md_find_symbol(const xt_md_t *md, const char *symbol, size_t len);
uint32_t xt_md_inst_id(const xt_md_inst_t *in);
const char *xt_md_inst_symbol(const xt_md_inst_t *in);
/* Its time zone, seconds east of UTC; whether its previous close is the
 * band's ref (xt_md_follow_ref). */
int32_t xt_md_inst_tz(const xt_md_inst_t *in);
int xt_md_inst_follows_ref(const xt_md_inst_t *in);
/* xt_event_batch_t.cmd_type of batches that write the books again as of
 * command seq (after lost events, or at start): not a command of its own. */
#define XT_MD_RESYNC 0xFF

/* The book's version: 2 x the sequence number (xt_event_batch_t.seq) of
 * the command that last changed it, or 2 x seq + 1 for a change written by
 * an XT_MD_RESYNC batch of seq; one more than the version before if that
 * is not higher. Strictly increasing, and every command and every resync
 * of it has versions of its own; 0 until the first change. */
uint64_t xt_md_book_seq(const xt_md_inst_t *in);
/* The version of the books as of command seq written again (XT_MD_RESYNC). */
static inline uint64_t xt_md_resync_version(uint64_t seq)
{
    return 2 * seq + 1;
}
/* Raises every book's version to at least v: a server that starts from a
 * journal whose last command is seq, with v = xt_md_resync_version(seq),
 * so versions go on, never below one sent before. */
void xt_md_book_seq_floor(xt_md_t *md, uint64_t v);
/* Copies the best `max` levels of a side (XT_BUY / XT_SELL), best
 * first; returns how many. */
uint32_t xt_md_depth(const xt_md_inst_t *in, int side, xt_md_level_t *out, uint32_t max);
const xt_md_ticker_t *xt_md_ticker(const xt_md_inst_t *in);
/* The current candle of an interval (the open one, or the last closed one
 * when nothing newer exists); NULL before any time was seen. */
const xt_md_candle_t *xt_md_candle(const xt_md_inst_t *in, int interval);
/* The recent trades, oldest first: copies up to max (the newest ones);
 * returns how many. */
uint32_t xt_md_trades(const xt_md_inst_t *in, xt_md_trade_t *out, uint32_t max);
/* The day's timeline so far, oldest first (up to 1440 points). */
uint32_t xt_md_timeline(const xt_md_inst_t *in, const xt_md_minute_t **points);

/* ---- the derived state as bytes (state.c; docs/journal-format.md) ---------- */

/* What a server saves at a clean stop and loads at its next start, so the
 * day goes on: per instrument its ticker (but best bid/offer and the
 * top-five sums, which come from the book), the ten candles, the
 * timeline, the tape, its time. Not the books. */
size_t xt_md_state_size(const xt_md_t *md);
/* The most bytes xt_md_state_decode can take for md's instruments (a file
 * larger cannot be one). */
size_t xt_md_state_max_size(const xt_md_t *md);
/* Writes xt_md_state_size() bytes to out; 0 (nothing written) if cap is
 * less. */
size_t xt_md_state_encode(const xt_md_t *md, uint8_t *out, size_t cap);
/* Loads bytes from xt_md_state_encode (untrusted: everything is checked,
 * and bytes that do not check change nothing) into the instruments added
 * already with the same id, symbol and time zone; others are skipped, and
 * a tape larger than md's keeps its newest trades. Call it between
 * commands; the books and best prices are left as they are. Returns how
 * many instruments took their state, XT_ECORRUPT or XT_EINVAL. */
int xt_md_state_decode(xt_md_t *md, const uint8_t *p, size_t n);

/* ---- the same bytes while the state changes: a checkpoint ----------------
 * The bytes xt_md_state_encode gives at the moment of xt_md_ckpt_begin,
 * written by another thread while the owner goes on consuming commands:
 * the owner's pause is a copy of each instrument's fixed part (ticker,
 * candles, the open minute: ~900 bytes) into a table of md's own, not its
 * timeline and tape (up to 40 bytes x (1,440 + md.tape) each), and it
 * touches no page of the output but the first. Before the owner writes a part of a
 * tape (XT_MD_CKPT_CHUNK trades) or starts a new day's timeline that the
 * checkpoint has not written yet, it writes that part itself, or waits for
 * the thread writing it (core/cow.h).
 *
 * Begins one into out (cap bytes, at least xt_md_state_size; not touched
 * by the caller until xt_md_ckpt_run returns). On the owner's thread, not
 * while one is active. Returns the bytes, or 0 (nothing begun) if cap is
 * less. */
#define XT_MD_CKPT_CHUNK 512
size_t xt_md_ckpt_begin(xt_md_t *md, uint8_t *out, size_t cap);
/* Writes the rest; returns once all of it is written (what the owner
 * wrote too). On any one thread, once per begin. */
void xt_md_ckpt_run(xt_md_t *md);
/* Ends it, after xt_md_ckpt_run returned. On the owner's thread. */
void xt_md_ckpt_end(xt_md_t *md);

#ifdef __cplusplus
}
#endif
#endif
