/* engine.h - the matching engine (libxt core).
 *
 * One engine holds many instruments, each with a price-time priority order
 * book. It is pure computation: no I/O, no clock, no global state, no
 * allocation after xt_engine_init(). Commands go in through
 * xt_engine_apply(); events come out through the sink, synchronously.
 * An engine is not thread-safe: one thread owns it (the single writer);
 * queries may only run on that thread between commands.
 *
 * Matching rules are specified in docs/matching.md.
 */
#ifndef XT_ENGINE_H
#define XT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "xt/command.h"
#include "xt/event.h"
#include "xt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Revisions of the matching rules (docs/matching.md). A rule that changes
 * outcomes gets a new revision; the journal records the revision each
 * segment's commands ran under, so that an old journal replays exactly as
 * it ran. */
#define XT_RULES_1 1 /* an amend's new remaining quantity must be >= min */
#define XT_RULES_2 2 /* ... or, with what the order filled, add up to min */
#define XT_RULES_CURRENT XT_RULES_2

/* Fixed capacities, chosen at init. Zero means the default. */
typedef struct xt_engine_config {
    uint32_t max_orders;       /* resting orders (default 1,048,576) */
    uint32_t max_levels;       /* price levels over all books (default 262,144) */
    uint32_t max_instruments;  /* default 1,024 */
    uint32_t max_ladder_nodes; /* price-ladder trie nodes (default: max_levels
                                  + 16 * max_instruments + 64) */
    uint8_t no_book_events;    /* 1: do not emit XT_EV_BOOK */
    uint8_t prefault;          /* 1: touch every page at init, so that no page
                                  fault (a hidden allocation) ever happens
                                  while matching; costs the full memory */
    uint8_t rules;             /* XT_RULES_*; 0: XT_RULES_CURRENT */
} xt_engine_config_t;

/* The engine. All fields are private: use the functions below. */
typedef struct xt_engine {
    struct xt__order *orders;
    struct xt__level *levels;
    struct xt__node *nodes;
    struct xt__islot *index;
    struct xt__instrument *instruments;
    uint32_t *symtab;
    xt_sink_fn sink;
    void *sink_ctx;
    xt_engine_config_t cfg;
    uint64_t index_mask;
    uint32_t symtab_mask;
    uint32_t n_instruments;
    uint32_t order_free, order_hwm, orders_used;
    uint32_t level_free, level_hwm, levels_used;
    uint32_t node_free, node_hwm, nodes_used;
    uint64_t last_seq;
    uint64_t trades;
    /* the command being applied and its events so far */
    xt_event_batch_t batch;
    xt_event_t *evbuf;
    uint32_t nev;
    uint8_t in_sink; /* the sink is running: a call back into the engine is XT_EBUSY */
} xt_engine_t;

/* Fills `cfg` with the defaults. */
void xt_engine_config_default(xt_engine_config_t *cfg);

/* Initialises `e` with the capacities in `cfg` (NULL: defaults) and the
 * event sink (must not be NULL; `ctx` is passed back to it). Allocates all
 * memory the engine will ever use; untouched pages are not committed by the
 * OS until used, unless cfg->prefault. Returns 0, XT_EINVAL (no sink, a
 * capacity too large: max_orders > 2^30, max_levels or max_ladder_nodes
 * >= 2^32 - 1, max_instruments > 2^24, or rules unknown) or XT_ENOMEM. On failure `e` needs
 * no destroy (destroy is harmless, though). */
int xt_engine_init(xt_engine_t *e, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx);

/* The bytes xt_engine_init allocates for the capacities in cfg (NULL:
 * defaults), or UINT64_MAX when init would refuse them (XT_EINVAL). */
uint64_t xt_engine_footprint(const xt_engine_config_t *cfg);

/* Replaces the event sink (e.g. after recovery, to stop discarding). */
void xt_engine_set_sink(xt_engine_t *e, xt_sink_fn sink, void *ctx);

/* Applies the matching-rule revision `rules` (XT_RULES_*; 0: current) to
 * the commands from now on: replaying a journal written under an older one
 * (between commands only). Returns 0, or XT_EINVAL for an unknown one. */
int xt_engine_set_rules(xt_engine_t *e, unsigned rules);

/* Frees everything xt_engine_init allocated. Safe on a zeroed struct. */
void xt_engine_destroy(xt_engine_t *e);

/* Applies one command, emitting its events to the sink before returning.
 * Returns 0 when the command was processed, whether it was accepted or
 * rejected (a reject is an event). Returns an error, having changed nothing
 * and emitted nothing, when the command is malformed:
 *   XT_ESEQ      cmd->seq <= the last applied sequence number
 *   XT_EINVAL    unknown command type or enum value, id <= 0, account 0,
 *                an invalid instrument definition, SESSION_END with a
 *                session 0
 * (SESSION_END changes nothing but the last sequence number and emits an
 * empty batch: it is gateway bookkeeping kept in the journal.)
 *   XT_EEXIST    INSTRUMENT: the symbol is already defined, and not only
 *                its band differs (a definition that differs at most in
 *                ref and band moves the instrument's band: an
 *                XT_EV_INSTRUMENT event of its index; resting orders stay)
 *   XT_ECAPACITY INSTRUMENT: max_instruments reached
 *   XT_EBUSY     called from inside the engine's own sink (event.h): the
 *                command being applied has not finished
 * A malformed command does not consume its sequence number. */
int xt_engine_apply(xt_engine_t *e, const xt_cmd_t *cmd);

/* ---- instruments ---------------------------------------------------- */

typedef struct xt_instrument_info {
    uint32_t index;
    char symbol[XT_SYMBOL_MAX + 1];
    xt_instrument_def_t def; /* as defined */
    int64_t min_lots;        /* smallest allowed quantity, lots */
    int64_t max_lots;        /* largest allowed quantity, lots */
    int has_band;
    int64_t band_low;  /* ticks; valid when has_band */
    int64_t band_high; /* ticks; valid when has_band */
} xt_instrument_info_t;

/* Number of defined instruments; their indexes are 0..count-1 in the order
 * they were defined. */
uint32_t xt_engine_instrument_count(const xt_engine_t *e);

/* Index of the instrument named symbol[0..len), or XT_INSTRUMENT_NONE. */
uint32_t xt_engine_find_symbol(const xt_engine_t *e, const char *symbol, size_t len);

/* Copies instrument `index`'s description. Returns 0 or XT_ENOENT. */
int xt_engine_instrument(const xt_engine_t *e, uint32_t index, xt_instrument_info_t *out);

/* Is s[0..len) a well-formed symbol: [A-Za-z0-9._-]{1,16}? Returns 1 or 0. */
int xt_symbol_valid(const char *s, size_t len);

/* Computes the band limits of a definition exactly as the engine does:
 * each rounded half-up to the tick, a lower limit <= 0 becoming one tick,
 * an upper one above XT_PRICE_MAX becoming XT_PRICE_MAX. Returns 0,
 * XT_EINVAL (no band or bad values) or XT_ERANGE: the band holds no price
 * (its lower limit above XT_PRICE_MAX, or its upper one below one tick). An
 * instrument definition whose band fails here is XT_EINVAL. */
int xt_band_limits(const xt_instrument_def_t *def, int64_t *low, int64_t *high);

/* The XT_EV_INSTRUMENT event of instrument `index` as it stands now
 * (event.h): its band's ref in ticks (what market data may take as the
 * previous close) and its limits, so that market data tells the ticker's
 * previous close and band together. The engine emits it at a definition
 * and a band move; the server sends it again with a book it resyncs.
 * Returns 0 or XT_ENOENT. */
int xt_engine_instrument_event(const xt_engine_t *e, uint32_t index, xt_event_t *out);

/* A definition's band's ref in ticks (what XT_EV_INSTRUMENT carries):
 * XT_PRICE_NONE without a band, or for a ref that is no whole number of
 * ticks within 1..XT_PRICE_MAX. */
int64_t xt_instrument_ref_ticks(const xt_instrument_def_t *def);

/* What differs between two definitions of a symbol, by value (0.010 is
 * 0.01): XT_DIFF_* bits, 0 when nothing does. A min, max or band given in
 * one and not the other differs (even at its default); one given in
 * neither does not, whatever its fields hold. A definition of a defined
 * symbol that differs in nothing but XT_DIFF_REF and XT_DIFF_BAND moves its
 * band (XT_EEXIST above); anything else is refused. */
enum {
    XT_DIFF_TICK = 1u << 0,
    XT_DIFF_LOT = 1u << 1,
    XT_DIFF_MIN = 1u << 2,
    XT_DIFF_MAX = 1u << 3,
    XT_DIFF_REF = 1u << 4,
    XT_DIFF_BAND = 1u << 5,
};
#define XT_DIFF_BAND_ONLY (XT_DIFF_REF | XT_DIFF_BAND)
unsigned xt_instrument_def_diff(const xt_instrument_def_t *a, const xt_instrument_def_t *b);

/* ---- queries -------------------------------------------------------- */

typedef struct xt_level_info {
    int64_t price; /* ticks */
    int64_t qty;   /* total lots resting at the price */
    uint32_t orders;
} xt_level_info_t;

typedef struct xt_order_info {
    int64_t id;
    uint32_t account;
    uint32_t instrument;
    uint8_t side, type, tif, stp; /* resolved */
    int64_t price;                /* ticks */
    int64_t qty;                  /* remaining lots */
    int64_t filled;               /* lots executed so far */
    uint64_t seq;                 /* sequence of the command that last placed it in the queue */
} xt_order_info_t;

/* Best level of a side. Returns 0, or XT_ENOENT if the side is empty or
 * the instrument does not exist. */
int xt_engine_best(const xt_engine_t *e, uint32_t instrument, xt_side_t side, xt_level_info_t *out);

/* Aggregate quantity resting at `price` on a side (0 if none). */
int64_t xt_engine_qty_at(const xt_engine_t *e, uint32_t instrument, xt_side_t side, int64_t price);

/* The resting order with this id. Returns 0 or XT_ENOENT. */
int xt_engine_order(const xt_engine_t *e, int64_t id, xt_order_info_t *out);

/* Iterates the levels of one side, best first. The engine must not change
 * while an iterator is in use. */
typedef struct xt_level_iter {
    const xt_engine_t *e;
    uint32_t instrument;
    uint8_t side;
    uint32_t level; /* private */
} xt_level_iter_t;

void xt_level_iter_init(xt_level_iter_t *it, const xt_engine_t *e, uint32_t instrument, xt_side_t side);
/* Returns 1 and fills `out` with the next level, or 0 at the end. */
int xt_level_iter_next(xt_level_iter_t *it, xt_level_info_t *out);

/* Iterates the orders at one price level in queue order (oldest first). */
typedef struct xt_order_iter {
    const xt_engine_t *e;
    uint32_t order; /* private */
} xt_order_iter_t;

void xt_order_iter_init(xt_order_iter_t *it, const xt_engine_t *e, uint32_t instrument, xt_side_t side, int64_t price);
/* Returns 1 and fills `out`, or 0 at the end. */
int xt_order_iter_next(xt_order_iter_t *it, xt_order_info_t *out);

typedef struct xt_engine_stats {
    uint64_t last_seq;
    uint64_t trades;
    uint32_t instruments;
    uint32_t orders, levels, ladder_nodes;                /* in use now */
    uint32_t peak_orders, peak_levels, peak_ladder_nodes; /* high-water marks */
    xt_engine_config_t cfg;                               /* effective capacities */
} xt_engine_stats_t;

void xt_engine_stats(const xt_engine_t *e, xt_engine_stats_t *out);

/* ---- restore --------------------------------------------------------- */

/* Rebuilding a saved state (a snapshot) in a fresh engine - one that has
 * applied no command: define the instruments in their original order, put
 * every resting order back in queue order (each goes to the back of its
 * price level), then set the counters. No events are emitted, nothing is
 * matched. Afterwards xt_engine_state_hash() equals the saved state's hash
 * and xt_engine_verify() holds, or the snapshot was not a valid state. */

/* Defines the next instrument. Returns 0, XT_EINVAL (invalid definition,
 * or the engine is not fresh), XT_EEXIST or XT_ECAPACITY. */
int xt_engine_restore_instrument(xt_engine_t *e, const xt_instrument_def_t *def);

/* Puts a resting order back. All fields of `o` are used: it must be a
 * LIMIT order with time in force GTC or POST and a resolved STP mode, in
 * the engine's ranges - price 1..XT_PRICE_MAX, quantity 1..XT_QTY_MAX,
 * filled 0..INT64_MAX - XT_QTY_MAX; not the instrument's present limits
 * (minimum and maximum quantity, price band), which may have changed since
 * the order rested -, on a defined instrument, with an id not resting
 * already, and must not cross the opposite side; its seq is taken as
 * given. Returns 0, XT_EINVAL, XT_EEXIST (duplicate id) or XT_ECAPACITY. */
int xt_engine_restore_order(xt_engine_t *e, const xt_order_info_t *o);

/* Sets the last applied sequence number and the trade counter. Returns 0,
 * or XT_EINVAL if last_seq is below the sequence numbers of restored
 * orders. */
int xt_engine_restore_counters(xt_engine_t *e, uint64_t last_seq, uint64_t trades);

/* Copies the whole logical state of src into the fresh engine dst, which may
 * have other capacities: instruments, resting orders in queue order,
 * counters. Returns 0, XT_EINVAL (dst not fresh) or XT_ECAPACITY (dst too
 * small). The state hashes of the two are then equal. */
int xt_engine_copy(xt_engine_t *dst, const xt_engine_t *src);

/* ---- integrity ------------------------------------------------------ */

/* A deterministic 64-bit hash of the whole logical state: instruments,
 * every resting order in queue order with its fields, the last sequence
 * number and the trade counter. Two engines that applied the same commands
 * have the same hash, whatever their capacities; the layout hashed is in
 * docs/matching.md. O(state). */
uint64_t xt_engine_state_hash(const xt_engine_t *e);

/* Checks every internal invariant: books not crossed, levels sorted, level
 * totals and counts equal to their orders, quantities positive, the id
 * index equal to the set of resting orders, pool accounting. Returns 0, or
 * XT_ECORRUPT with a static description in *why (if why is not NULL).
 * O(state); meant for tests, fuzzing and recovery checks. */
int xt_engine_verify(const xt_engine_t *e, const char **why);

#ifdef __cplusplus
}
#endif
#endif
