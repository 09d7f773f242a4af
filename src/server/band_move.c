/* band_move.c - which config changes of a defined instrument are a band
 * move (band_move.h), by the core's own comparison (xt_instrument_def_diff,
 * which its INSTRUMENT command applies too): the server never sends one
 * the core would refuse, and tells the operator why a change was not
 * applied. */
#include "band_move.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "xt/decimal.h"
#include "xt/engine.h"

int xt_band_move_check(const xt_instrument_def_t *j, const xt_instrument_def_t *d)
{
    static const char *const names[] = {"tick", "lot", "min", "max", "ref", "band"}; /* XT_DIFF_* in order */
    unsigned diff = xt_instrument_def_diff(j, d);
    if (diff == 0)
        return 0;
    if (!(diff & ~(unsigned)XT_DIFF_BAND_ONLY))
        return 1;
    char fields[96] = "";
    for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
        if (diff & (1u << k))
            snprintf(fields + strlen(fields), sizeof fields - strlen(fields), "%s%s", fields[0] ? "," : "", names[k]);
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN,
                     "instrument in the config differs from its definition in the journal; "
                     "the journal's stays in force (only ref and band may change)")) {
        xt_log_str(&e, "symbol", d->symbol);
        xt_log_str(&e, "fields", fields);
        if (diff & XT_DIFF_BAND_ONLY) /* asked for with the others: not made either */
            xt_log_str(&e, "band", "not moved");
        xt_log_end(&e);
    }
    return -1;
}

xt_instrument_def_t xt_band_moved(const xt_instrument_def_t *in_force, const xt_instrument_def_t *cfg)
{
    xt_instrument_def_t d = *in_force;
    d.flags = (uint8_t)((d.flags & ~XT_DEF_BAND) | (cfg->flags & XT_DEF_BAND));
    d.ref_price = cfg->ref_price;
    d.band_pct = cfg->band_pct;
    return d;
}

void xt_band_move_log(const xt_instrument_def_t *d)
{
    xt_log_ev_t e;
    if (!xt_log_begin(&e, XT_LOG_INFO, "instrument's price band moved, as the config says"))
        return;
    char b[XT_DECIMAL_BUFSZ];
    int64_t low, high;
    xt_log_str(&e, "symbol", d->symbol);
    if ((d->flags & XT_DEF_BAND) && xt_band_limits(d, &low, &high) == 0) {
        xt_decimal_format(d->ref_price, b);
        xt_log_str(&e, "ref", b);
        xt_decimal_format(d->band_pct, b);
        xt_log_str(&e, "band", b);
        xt_log_i64(&e, "low_ticks", low);
        xt_log_i64(&e, "high_ticks", high);
    } else
        xt_log_str(&e, "band", "none");
    xt_log_end(&e);
}
