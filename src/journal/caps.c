/* caps.c - checking capacities read from a journal segment or a snapshot
 * before an engine is allocated with them (see caps.h). */
#include "caps.h"

#include <stdio.h>
#include <unistd.h>

#include "xt/error.h"

uint64_t xt_caps_mem_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
        return UINT64_MAX; /* unknown: only the configured capacities bound them */
    return (uint64_t)pages * (uint64_t)size;
}

int xt_caps_check(const xt_caps_t *c, const xt_engine_config_t *configured, uint64_t mem_limit, char *why,
                  size_t whylen)
{
    static const char *const names[] = {"max_orders", "max_levels", "max_instruments", "max_ladder_nodes"};
    xt_caps_t cfg = xt_caps_from_config(configured);
    const uint32_t have[] = {c->max_orders, c->max_levels, c->max_instruments, c->max_ladder_nodes};
    const uint32_t allowed[] = {cfg.max_orders, cfg.max_levels, cfg.max_instruments, cfg.max_ladder_nodes};
    if (c->rules == 0 || c->rules > XT_RULES_CURRENT) {
        snprintf(why, whylen, "matching rules %u are unknown to this build (%u is the newest)", c->rules,
                 XT_RULES_CURRENT);
        return XT_ECORRUPT;
    }
    int over = -1;
    for (int k = 0; k < 4; k++) {
        if (have[k] == 0) {
            snprintf(why, whylen, "%s is 0", names[k]);
            return XT_ECORRUPT;
        }
        if (over < 0 && have[k] > allowed[k])
            over = k;
    }
    if (over < 0)
        return 0;
    xt_engine_config_t e = xt_caps_config(c, configured);
    uint64_t need = xt_engine_footprint(&e);
    if (need <= mem_limit)
        return 0; /* larger than configured, but an engine this machine can hold: capacities since lowered */
    if (need == UINT64_MAX)
        snprintf(why, whylen, "%s %u exceeds engine.%s %u and the engine's limits", names[over], have[over],
                 names[over], allowed[over]);
    else
        snprintf(why, whylen,
                 "%s %u exceeds engine.%s %u, and an engine of these capacities needs %llu MiB, more "
                 "than this machine's %llu MiB",
                 names[over], have[over], names[over], allowed[over], (unsigned long long)(need >> 20),
                 (unsigned long long)(mem_limit >> 20));
    return XT_ELIMIT;
}

int xt_caps_take(xt_engine_t *e, const xt_engine_config_t *configured, const xt_caps_t *c, char *why, size_t whylen)
{
    xt_caps_t now = xt_caps_of(e);
    if (xt_caps_equal(&now, c))
        return 0;
    int rc = xt_caps_check(c, configured, xt_caps_mem_limit(), why, whylen);
    if (rc)
        return rc;
    if ((rc = xt_caps_convert(e, c)) != 0) {
        snprintf(why, whylen, "cannot take on the capacities it records: %s", xt_strerror(rc));
        return rc == XT_ECAPACITY ? XT_ECORRUPT : rc;
    }
    return 0;
}
