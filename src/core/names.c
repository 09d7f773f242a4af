/* names.c - printable names of codes and enums. */
#include <string.h>

#include "xt/error.h"
#include "xt/types.h"

const char *xt_strerror(int code)
{
    switch (code) {
    case XT_OK: return "success";
    case XT_EINVAL: return "invalid argument";
    case XT_ENOMEM: return "out of memory";
    case XT_ENOENT: return "not found";
    case XT_EEXIST: return "already exists";
    case XT_ERANGE: return "number out of range";
    case XT_ECAPACITY: return "capacity exhausted";
    case XT_ESEQ: return "sequence number out of order (a command's not above the last; a gap in a client's)";
    case XT_ECORRUPT: return "state corrupt";
    case XT_EPARSE: return "does not parse";
    case XT_ETORN: return "torn record at the end of the journal";
    case XT_EFAILED: return "journal failed closed";
    case XT_ELOCKED: return "data directory in use by another process";
    case XT_ELIMIT: return "a count in the file exceeds the configured capacity";
    case XT_EBUSY: return "the engine was called from inside its own event sink";
    case XT_ENOTFILE: return "not a regular file (a FIFO, device or socket)";
    default: break;
    }
    if (code < 0 && code > -10000)
        return strerror(-code);
    return "unknown error";
}

#define NAME(tab, i) ((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]) && (tab)[i] ? (tab)[i] : "?")

const char *xt_side_name(int side)
{
    static const char *const t[] = {"BUY", "SELL"};
    return NAME(t, side);
}

const char *xt_ord_type_name(int type)
{
    static const char *const t[] = {"LIMIT", "MARKET"};
    return NAME(t, type);
}

const char *xt_tif_name(int tif)
{
    static const char *const t[] = {"DEFAULT", "GTC", "IOC", "FOK", "POST"};
    return NAME(t, tif);
}

const char *xt_stp_name(int stp)
{
    static const char *const t[] = {"DEFAULT", "NONE", "CN", "CO", "CB"};
    return NAME(t, stp);
}

const char *xt_reason_name(int reason)
{
    static const char *const t[] = {
        [XT_R_NONE] = "NONE",
        [XT_R_UNKNOWN_SYMBOL] = "UNKNOWN_SYMBOL",
        [XT_R_DUPLICATE_ID] = "DUPLICATE_ID",
        [XT_R_INVALID_TIF] = "INVALID_TIF",
        [XT_R_INVALID_QTY] = "INVALID_QTY",
        [XT_R_INVALID_PRICE] = "INVALID_PRICE",
        [XT_R_PRICE_BAND] = "PRICE_BAND",
        [XT_R_UNKNOWN_ORDER] = "UNKNOWN_ORDER",
        [XT_R_NOT_OWNER] = "NOT_OWNER",
        [XT_R_POST_ONLY] = "POST_ONLY",
        [XT_R_CAPACITY] = "CAPACITY",
        [XT_R_USER] = "USER",
        [XT_R_IOC] = "IOC",
        [XT_R_FOK] = "FOK",
        [XT_R_MARKET] = "MARKET",
        [XT_R_STP] = "STP",
    };
    return NAME(t, reason);
}
