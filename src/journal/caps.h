/* caps.h - an engine's capacities and matching rules as the journal records
 * them. Replaying a command gives the same result only with the same
 * capacities (a CAPACITY reject must stay a reject) and the same rules (an
 * amend refused under one revision may be taken under the next), so every
 * segment header says which ones its commands ran with, and every snapshot
 * which capacities. */
#ifndef XT_JOURNAL_CAPS_H
#define XT_JOURNAL_CAPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xt/engine.h"

typedef struct xt_caps {
    uint32_t max_orders, max_levels, max_instruments, max_ladder_nodes;
    uint32_t rules; /* XT_RULES_*, never 0 */
} xt_caps_t;

/* The effective capacities of an engine. */
static inline xt_caps_t xt_caps_of(const xt_engine_t *e)
{
    xt_engine_stats_t st = {0};
    xt_engine_stats(e, &st);
    xt_caps_t c = {st.cfg.max_orders, st.cfg.max_levels, st.cfg.max_instruments, st.cfg.max_ladder_nodes, st.cfg.rules};
    return c;
}

/* The effective capacities a config would give (defaults filled in). */
static inline xt_caps_t xt_caps_from_config(const xt_engine_config_t *cfg)
{
    xt_engine_config_t d;
    xt_engine_config_default(&d);
    xt_caps_t c = {cfg && cfg->max_orders ? cfg->max_orders : d.max_orders,
                   cfg && cfg->max_levels ? cfg->max_levels : d.max_levels,
                   cfg && cfg->max_instruments ? cfg->max_instruments : d.max_instruments, 0,
                   cfg && cfg->rules ? cfg->rules : d.rules};
    uint64_t nodes = (uint64_t)c.max_levels + 16u * (uint64_t)c.max_instruments + 64u;
    c.max_ladder_nodes = cfg && cfg->max_ladder_nodes ? cfg->max_ladder_nodes
                         : nodes > UINT32_MAX - 1u    ? UINT32_MAX - 1u
                                                      : (uint32_t)nodes;
    return c;
}

static inline int xt_caps_equal(const xt_caps_t *a, const xt_caps_t *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* An engine config with these capacities and the other settings of base. */
static inline xt_engine_config_t xt_caps_config(const xt_caps_t *c, const xt_engine_config_t *base)
{
    xt_engine_config_t cfg;
    if (base)
        cfg = *base;
    else
        xt_engine_config_default(&cfg);
    cfg.max_orders = c->max_orders;
    cfg.max_levels = c->max_levels;
    cfg.max_instruments = c->max_instruments;
    cfg.max_ladder_nodes = c->max_ladder_nodes;
    cfg.rules = (uint8_t)c->rules;
    return cfg;
}

/* The machine's physical memory in bytes (UINT64_MAX if unknown). */
uint64_t xt_caps_mem_limit(void);

/* May capacities c, read from a segment header or a snapshot (data that
 * sizes allocations), be taken on? Yes when each is at most the configured
 * one (configured: the engine config in force; NULL: defaults), or - for
 * capacities since lowered - when an engine with them fits in mem_limit
 * bytes. Returns 0; XT_ELIMIT with why naming the first capacity beyond the
 * configured one; XT_ECORRUPT (why says which) for a capacity of 0. */
int xt_caps_check(const xt_caps_t *c, const xt_engine_config_t *configured, uint64_t mem_limit, char *why,
                  size_t whylen);

/* Moves the state of *e into a new engine with capacities c (keeping its
 * sink and other settings); when only the rules differ, *e takes them in
 * place. Returns 0, or an error leaving *e as it was. */
static inline int xt_caps_convert(xt_engine_t *e, const xt_caps_t *c)
{
    xt_engine_stats_t st = {0};
    xt_engine_stats(e, &st);
    xt_caps_t now = {st.cfg.max_orders, st.cfg.max_levels, st.cfg.max_instruments, st.cfg.max_ladder_nodes, c->rules};
    if (xt_caps_equal(&now, c))
        return xt_engine_set_rules(e, c->rules);
    xt_engine_config_t cfg = xt_caps_config(c, &st.cfg);
    xt_engine_t n;
    int rc = xt_engine_init(&n, &cfg, e->sink, e->sink_ctx);
    if (rc)
        return rc;
    if ((rc = xt_engine_copy(&n, e)) != 0) {
        xt_engine_destroy(&n);
        return rc;
    }
    xt_engine_destroy(e);
    *e = n;
    return 0;
}

/* Replay with the capacities c of a segment header (data that sizes the
 * engine): nothing when e has them already, else xt_caps_check against
 * `configured` and this machine's memory, then xt_caps_convert. The one
 * step recovery and `md rebuild` share. Returns 0, or with why saying what:
 * XT_ELIMIT or XT_ECORRUPT from the check, XT_ECORRUPT when e's state does
 * not fit c, another error from the conversion (e unchanged on failure). */
int xt_caps_take(xt_engine_t *e, const xt_engine_config_t *configured, const xt_caps_t *c, char *why, size_t whylen);

#endif
