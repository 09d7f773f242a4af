/* band_move.c - which config changes of a defined instrument are a band
 * move (band_move.h). The core decides the same for the INSTRUMENT command
 * it is given (instrument.c move_band); this is the server's side, which
 * must not send one the core would refuse, and tells the operator why a
 * change was not applied. */
#include "band_move.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "xt/decimal.h"
#include "xt/engine.h"

static int same(xt_decimal_t a, xt_decimal_t b)
{
    return xt_decimal_cmp(a, b) == 0;
}

int xt_band_move_check(const xt_instrument_def_t *j, const xt_instrument_def_t *d)
{
    char fields[96] = "";
    unsigned given = (unsigned)(j->flags ^ d->flags); /* min, max, band: given in one and not in the other */
    const struct {
        const char *name;
        int same;
    } f[] = {{"tick", same(j->tick, d->tick)},
             {"lot", same(j->lot, d->lot)},
             {"min", same(j->min_qty, d->min_qty) && !(given & XT_DEF_MIN)},
             {"max", same(j->max_qty, d->max_qty) && !(given & XT_DEF_MAX)},
             {"ref", same(j->ref_price, d->ref_price)},
             {"band", same(j->band_pct, d->band_pct) && !(given & XT_DEF_BAND)}};
    int band_only = 1;
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        if (!f[k].same) {
            snprintf(fields + strlen(fields), sizeof fields - strlen(fields), "%s%s", fields[0] ? "," : "", f[k].name);
            band_only &= k >= 4; /* ref, band */
        }
    if (!fields[0])
        return 0;
    if (band_only)
        return 1;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN,
                     "instrument in the config differs from its definition in the journal; "
                     "the journal's stays in force (only ref and band may change)")) {
        xt_log_str(&e, "symbol", d->symbol);
        xt_log_str(&e, "fields", fields);
        if (strstr(fields, "ref") || strstr(fields, "band")) /* asked for with the others: not made either */
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
