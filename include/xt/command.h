/* command.h - the commands the matching engine accepts.
 *
 * A command is everything that changes engine state. Each carries a
 * sequence number and a timestamp chosen by the caller (the journal, the
 * replay tool, a test): the engine reads no clock and invents no numbers, so
 * the same commands always give the same events and the same state.
 * Sequence numbers must strictly increase from one applied command to the
 * next; timestamps are opaque to the core (nanoseconds by convention).
 *
 * The struct is plain data with no pointers, so it can be journaled and
 * replayed as is.
 */
#ifndef XT_COMMAND_H
#define XT_COMMAND_H

#include <stdint.h>

#include "xt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum xt_cmd_type {
    XT_CMD_INSTRUMENT = 1,  /* define an instrument */
    XT_CMD_NEW = 2,         /* new order */
    XT_CMD_CANCEL = 3,      /* cancel a resting order */
    XT_CMD_AMEND = 4,       /* change a resting order's price and/or quantity */
    XT_CMD_SESSION_END = 5, /* a gateway session ends (no effect on the books) */
} xt_cmd_type_t;

/* Optional fields of an instrument definition. */
enum {
    XT_DEF_MIN = 1u << 0,  /* min_qty given (default: one lot) */
    XT_DEF_MAX = 1u << 1,  /* max_qty given (default: XT_QTY_MAX lots) */
    XT_DEF_BAND = 1u << 2, /* ref_price and band_pct given */
};

/* Instrument definition, in decimals as the operator wrote them.
 * tick > 0, lot > 0; min and max (if given) > 0 with max >= min; ref > 0
 * and band >= 0 (percent) if a band is given. */
typedef struct xt_instrument_def {
    char symbol[XT_SYMBOL_MAX + 1]; /* NUL-terminated, [A-Za-z0-9._-]{1,16} */
    uint8_t flags;                  /* XT_DEF_* */
    xt_decimal_t tick;
    xt_decimal_t lot;
    xt_decimal_t min_qty;
    xt_decimal_t max_qty;
    xt_decimal_t ref_price;
    xt_decimal_t band_pct;
} xt_instrument_def_t;

/* New order. `instrument` is the engine's instrument index, or
 * XT_INSTRUMENT_NONE when the symbol is unknown (rejected UNKNOWN_SYMBOL).
 * price: ticks, or XT_PRICE_NONE (none given) / XT_PRICE_INVALID (given
 * but not a tick multiple); qty: lots, or XT_QTY_INVALID. */
typedef struct xt_order_new {
    int64_t id;       /* > 0, unique among resting orders */
    uint32_t account; /* > 0 */
    uint32_t instrument;
    uint8_t side; /* xt_side_t */
    uint8_t type; /* xt_ord_type_t */
    uint8_t tif;  /* xt_tif_t */
    uint8_t stp;  /* xt_stp_t */
    int64_t price;
    int64_t qty;
} xt_order_new_t;

typedef struct xt_order_cancel {
    int64_t id;
    uint32_t account;
} xt_order_cancel_t;

/* Amend: qty is the new *remaining* quantity. Sentinels as for new orders. */
typedef struct xt_order_amend {
    int64_t id;
    uint32_t account;
    int64_t price;
    int64_t qty;
} xt_order_amend_t;

/* The end of a gateway session (account, session number > 0): the core
 * only takes its sequence number and emits an empty event batch; a gateway
 * forgets the session when it is applied (docs/protocol.md, session
 * lifecycle). Journaled like any command, so recovery forgets it too. */
typedef struct xt_session_end {
    uint32_t account;
    uint32_t session;
} xt_session_end_t;

typedef struct xt_cmd {
    uint8_t type; /* xt_cmd_type_t */
    uint64_t seq;
    int64_t ts;
    /* Origin, for gateways: the session (number, within the command's
     * account) and client order id the command came with. The core ignores
     * both; the journal keeps them so that a gateway can rebuild its
     * sessions from it. 0 and 0: no origin. */
    uint32_t session;
    uint64_t clordid;
    union {
        xt_instrument_def_t instrument;
        xt_order_new_t new_order;
        xt_order_cancel_t cancel;
        xt_order_amend_t amend;
        xt_session_end_t session_end;
    } u;
} xt_cmd_t;

#ifdef __cplusplus
}
#endif
#endif
