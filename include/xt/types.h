/* types.h - the vocabulary of the matching core: sides, order types, time in
 * force, self-trade prevention modes, reasons, limits and the decimal type.
 *
 * Prices and quantities inside the core are int64_t counts of the
 * instrument's tick and lot. Decimals exist only at the edges (text formats,
 * JSON); xt_decimal_t carries them there (see decimal.h).
 */
#ifndef XT_TYPES_H
#define XT_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XT_SYMBOL_MAX 16                      /* [A-Za-z0-9._-]{1,16} */
#define XT_PRICE_MAX ((INT64_C(1) << 48) - 1) /* ticks */
#define XT_QTY_MAX ((INT64_C(1) << 40) - 1)   /* lots */
#define XT_ACCOUNT_MAX UINT32_MAX             /* accounts are 1..2^32-1 */
#define XT_INSTRUMENT_NONE UINT32_MAX         /* "no such instrument" */

/* Sentinels a command may carry in place of a price or quantity; the engine
 * turns them into INVALID_PRICE / INVALID_QTY rejects at the right point of
 * its check order. */
#define XT_PRICE_NONE INT64_MIN          /* no price given ("-") */
#define XT_PRICE_INVALID (INT64_MIN + 1) /* not a tick multiple / out of range */
#define XT_QTY_INVALID INT64_MIN         /* not a lot multiple / out of range */

typedef enum xt_side { XT_BUY = 0, XT_SELL = 1 } xt_side_t;

typedef enum xt_ord_type { XT_LIMIT = 0, XT_MARKET = 1 } xt_ord_type_t;

/* XT_TIF_DEFAULT resolves to GTC for LIMIT and IOC for MARKET. */
typedef enum xt_tif {
    XT_TIF_DEFAULT = 0,
    XT_GTC = 1,
    XT_IOC = 2,
    XT_FOK = 3,
    XT_POST = 4, /* post-only */
} xt_tif_t;

/* Self-trade prevention: what happens when an incoming order meets a
 * resting order of the same account. The incoming order's mode decides.
 * XT_STP_DEFAULT resolves to XT_STP_CN. */
typedef enum xt_stp {
    XT_STP_DEFAULT = 0,
    XT_STP_NONE = 1, /* they trade */
    XT_STP_CN = 2,   /* cancel newest: the incoming remainder; matching stops */
    XT_STP_CO = 3,   /* cancel oldest: the resting order; matching continues */
    XT_STP_CB = 4,   /* cancel both */
} xt_stp_t;

/* Why a command was rejected or an order cancelled. The core uses values
 * below 64; gateways add their own reasons from 64 upwards. */
typedef enum xt_reason {
    XT_R_NONE = 0,
    /* rejects */
    XT_R_UNKNOWN_SYMBOL = 1,
    XT_R_DUPLICATE_ID = 2,
    XT_R_INVALID_TIF = 3,
    XT_R_INVALID_QTY = 4,
    XT_R_INVALID_PRICE = 5,
    XT_R_PRICE_BAND = 6,
    XT_R_UNKNOWN_ORDER = 7,
    XT_R_NOT_OWNER = 8,
    XT_R_POST_ONLY = 9, /* also a cancel reason */
    XT_R_CAPACITY = 10,
    /* cancel reasons */
    XT_R_USER = 11,
    XT_R_IOC = 12,
    XT_R_FOK = 13,
    XT_R_MARKET = 14,
    XT_R_STP = 15,
    XT_R_CORE_MAX_ = 16,
} xt_reason_t;

/* A decimal number m * 10^-scale, scale 0..18. Used only at the edges. */
typedef struct xt_decimal {
    int64_t m;
    uint8_t scale;
} xt_decimal_t;

/* Names as printed by the replay tool ("BUY", "GTC", "CN", "PRICE_BAND").
 * Return "?" for values out of range; never NULL. */
const char *xt_side_name(int side);
const char *xt_ord_type_name(int type);
const char *xt_tif_name(int tif);
const char *xt_stp_name(int stp);
const char *xt_reason_name(int reason);

#ifdef __cplusplus
}
#endif
#endif
