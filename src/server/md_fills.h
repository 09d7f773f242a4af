/* md_fills.h - the newest fills of each account, kept by the market-data
 * thread for GET /api/v1/fills (docs/rest.md, "Fills").
 *
 * Every TRADE of the engine's feed makes two fills: the taker's (its
 * order, its side, "taker") and the maker's (the resting order, the other
 * side, "maker"); a self-trade makes both for the same account. Each
 * account keeps its newest `per_account` fills in a ring. The table is
 * allocated at start for `accounts` accounts (rest.fill_accounts): when a
 * fill comes for one more account, the account updated least recently
 * gives up its place and its fills (counted in `evictions`). Nothing is
 * allocated after xt_fills_init. The table goes into the market-data
 * state file (xt_fills_state_*, md_state.c), so it is kept across a
 * restart; a feed overflow (a resync) loses the trades it dropped. Owned
 * by one thread; only a checkpoint (xt_fills_ckpt_*) is written by
 * another while the owner goes on.
 */
#ifndef XT_SERVER_MD_FILLS_H
#define XT_SERVER_MD_FILLS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "md_encode.h"
#include "xt/decimal.h"
#include "xt/event.h"

#define XT_FILLS_LIMIT_MAX 1000 /* fills asked for in one answer, at most (a self-trade's pair may add one) */
/* One fill in an answer, at most: the fixed text, two 20-digit ids and the
 * time, a symbol, side, liquidity and two decimals (xt_fills_encode). */
#define XT_FILL_JSON_MAX (89 + 3 * 20 + XT_SYMBOL_MAX + 4 + 5 + 2 * (XT_DECIMAL_BUFSZ - 1))

enum { XT_FILL_TAKER = 0, XT_FILL_MAKER = 1 };

typedef struct xt_fill {
    uint64_t trade_id;
    int64_t order_id;
    int64_t price; /* ticks */
    int64_t qty;   /* lots */
    int64_t ts;    /* the trade's command timestamp, ns since the epoch */
    uint32_t instrument;
    uint8_t side;      /* XT_BUY / XT_SELL: the account's order's side */
    uint8_t liquidity; /* XT_FILL_TAKER / XT_FILL_MAKER */
} xt_fill_t;

typedef struct xt_fill_acct {
    uint32_t account;
    uint32_t head, n;    /* the ring: its oldest fill, its count */
    uint32_t prev, next; /* the recency list */
} xt_fill_acct_t;

#define XT_FILLS_CKPT_CHUNK 512 /* ring slots a checkpoint writes as one (28 KB of records) */

/* A place as a checkpoint found it. */
typedef struct xt_fills_ckpt_place {
    size_t at;                 /* its first record's offset in the output */
    uint32_t account, head, n; /* its ring then */
} xt_fills_ckpt_place_t;

/* A checkpoint under way (xt_fills_ckpt_begin): the table's bytes as they
 * were at its beginning, written by another thread while the owner goes
 * on. A chunk of a ring the owner is about to write to is written first,
 * by whichever thread claims it. */
typedef struct xt_fills_ckpt {
    uint8_t *out;                 /* the section being written */
    xt_fills_ckpt_place_t *place; /* by place */
    _Atomic uint8_t *state;       /* by place and chunk: not in it, to be written, being written, written */
    uint32_t n;                   /* places at the beginning: 0..n-1, every one in it */
    uint32_t chunks;              /* per place */
    int active;                   /* the owner's: begun and not yet ended */
} xt_fills_ckpt_t;

typedef struct xt_fills {
    xt_fill_t *v;         /* cap_accounts rings of per_account */
    xt_fill_acct_t *acct; /* cap_accounts places */
    uint32_t *index;      /* account -> place + 1 (0: empty), open addressing, linear probes */
    uint32_t index_mask;
    uint32_t n_accounts, cap_accounts, per_account;
    uint32_t newest, oldest; /* the recency list's ends (UINT32_MAX: empty) */
    uint64_t evictions;      /* accounts that gave up their place */
    xt_fill_t *scratch;      /* XT_FILLS_LIMIT_MAX + 1: a query's answer */
    xt_fills_ckpt_t ck;
} xt_fills_t;

/* Allocates the table. Returns 0, XT_EINVAL (a count of 0, accounts over
 * 2^30) or XT_ENOMEM. */
int xt_fills_init(xt_fills_t *f, uint32_t accounts, uint32_t per_account);
/* Frees it; twice is fine. */
void xt_fills_destroy(xt_fills_t *f);

/* Keeps x as the newest fill of account (its oldest goes when full). */
void xt_fills_add(xt_fills_t *f, uint32_t account, const xt_fill_t *x);
/* The two fills of a TRADE event (ts: its command's timestamp); other
 * events are ignored. */
void xt_fills_on_trade(xt_fills_t *f, const xt_event_t *ev, int64_t ts);

/* Up to limit (<= XT_FILLS_LIMIT_MAX) fills of account into out, oldest
 * first: with from_id 0 the newest ones, else the first ones whose
 * trade_id >= from_id; only those of instrument unless it is UINT32_MAX.
 * The two fills of a self-trade (one trade id) are never parted: the
 * answer holds the second too, limit + 1 fills (out has room for them), so
 * that paging on from the last trade id + 1 misses none. Returns the
 * count. */
uint32_t xt_fills_query(const xt_fills_t *f, uint32_t account, uint32_t instrument, uint64_t from_id, uint32_t limit,
                        xt_fill_t *out);

/* The symbol, tick and lot of an instrument, or NULL. */
typedef const xt_md_sym_t *(*xt_fills_sym_fn)(void *ctx, uint32_t instrument);

/* {"data":[{"trade_id":..,"order_id":..,"symbol":"..","side":"buy"|"sell",
 * "liquidity":"maker"|"taker","price":"1000.00","qty":"0.0010","ts":..},...]}
 * with prices and quantities in the instrument's tick and lot as the
 * market data prints them (xt_units_format); a fill of an instrument sym
 * does not know is left out. Returns the length, or 0 when cap is too
 * small. */
size_t xt_fills_encode(char *out, size_t cap, const xt_fill_t *v, uint32_t n, xt_fills_sym_fn sym, void *ctx);

/* ---- the table as bytes (docs/journal-format.md, "Market-data state") ----
 * u32 count, then count records of XT_FILL_STATE_REC bytes, the accounts
 * from the least recently updated to the most, each one's fills oldest
 * first. Loading them with xt_fills_add in that order gives the same
 * table (or, with smaller capacities, its newest part). */
#define XT_FILL_STATE_REC 56

/* Bytes xt_fills_state_encode writes. */
size_t xt_fills_state_size(const xt_fills_t *f);
/* The most bytes a table of these capacities can take. */
size_t xt_fills_state_max_size(const xt_fills_t *f);
/* Writes xt_fills_state_size(f) bytes to out. */
void xt_fills_state_encode(const xt_fills_t *f, uint8_t *out);
/* Checks the section at the start of p (untrusted, n bytes): returns its
 * record count and sets *used to its length, or XT_ECORRUPT when it does
 * not check (a count past n, a side or liquidity not 0 or 1, a price
 * outside 1..XT_PRICE_MAX, a qty outside 1..XT_QTY_MAX, a time outside
 * 0..2^62, padding not zero). */
int64_t xt_fills_state_check(const uint8_t *p, size_t n, size_t *used);
/* Adds the records of a section that checked, in order. */
void xt_fills_state_load(xt_fills_t *f, const uint8_t *p, uint32_t count);

/* ---- the table as bytes while it changes: a checkpoint ----
 * The same bytes as xt_fills_state_encode at the moment of
 * xt_fills_ckpt_begin, written by another thread while the owner goes on
 * adding fills: the owner's pause is a walk of the accounts, not the copy
 * of every fill (up to rest.fills x rest.fill_accounts records). A fill
 * added to a part of an account's ring whose records are not yet written
 * writes that part (XT_FILLS_CKPT_CHUNK records) first, or waits for the
 * thread writing it: microseconds.
 *
 * Begins one into out, which must hold xt_fills_state_size(f) bytes and
 * is not touched by the caller until xt_fills_ckpt_run returns. On the
 * owner's thread, not while one is active; returns the section's size. */
size_t xt_fills_ckpt_begin(xt_fills_t *f, uint8_t *out);
/* Writes the checkpoint's records; returns once every one is written
 * (those the owner wrote too). On any one thread, once per begin. */
void xt_fills_ckpt_run(xt_fills_t *f);
/* Ends the checkpoint, after xt_fills_ckpt_run returned (e.g. its thread
 * was joined). On the owner's thread; until then every add checks it. */
void xt_fills_ckpt_end(xt_fills_t *f);

#endif
