/* engine.c - engine lifetime and command dispatch. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pages.h"
#include "xt/error.h"

#define DEFAULT_MAX_ORDERS (1u << 20)
#define DEFAULT_MAX_LEVELS (1u << 18)
#define DEFAULT_MAX_INSTRUMENTS 1024u
#define LIMIT_MAX_ORDERS (1u << 30)
#define LIMIT_MAX_OBJECTS (UINT32_MAX - 1u)

void xt_engine_config_default(xt_engine_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_orders = DEFAULT_MAX_ORDERS;
    cfg->max_levels = DEFAULT_MAX_LEVELS;
    cfg->max_instruments = DEFAULT_MAX_INSTRUMENTS;
    cfg->rules = XT_RULES_CURRENT;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* aligned_alloc wants a size that is a multiple of the alignment. */
static void *alloc_lines(size_t n, size_t size)
{
    size_t bytes = n * size;
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* cfg with the defaults filled in; 0, or XT_EINVAL for a capacity beyond
 * the limits. */
static int effective(const xt_engine_config_t *cfg, xt_engine_config_t *c)
{
    xt_engine_config_default(c);
    if (cfg) {
        if (cfg->max_orders)
            c->max_orders = cfg->max_orders;
        if (cfg->max_levels)
            c->max_levels = cfg->max_levels;
        if (cfg->max_instruments)
            c->max_instruments = cfg->max_instruments;
        c->max_ladder_nodes = cfg->max_ladder_nodes;
        c->no_book_events = cfg->no_book_events;
        c->prefault = cfg->prefault;
        if (cfg->rules)
            c->rules = cfg->rules;
    }
    if (c->max_ladder_nodes == 0) {
        uint64_t n = (uint64_t)c->max_levels + 16u * (uint64_t)c->max_instruments + 64u;
        c->max_ladder_nodes = n > LIMIT_MAX_OBJECTS ? LIMIT_MAX_OBJECTS : (uint32_t)n;
    }
    if (c->max_orders > LIMIT_MAX_ORDERS || c->max_levels > LIMIT_MAX_OBJECTS ||
        c->max_ladder_nodes > LIMIT_MAX_OBJECTS || c->max_instruments > (1u << 24) || c->rules > XT_RULES_CURRENT)
        return XT_EINVAL;
    return 0;
}

uint64_t xt_engine_footprint(const xt_engine_config_t *cfg)
{
    xt_engine_config_t c;
    if (effective(cfg, &c) != 0)
        return UINT64_MAX;
    return (uint64_t)c.max_orders * sizeof(xt__order_t) + (uint64_t)c.max_levels * sizeof(xt__level_t) +
           (uint64_t)c.max_ladder_nodes * sizeof(xt__node_t) +
           pow2_at_least(2 * (uint64_t)c.max_orders) * sizeof(xt__islot_t) +
           (uint64_t)c.max_instruments * sizeof(xt__instrument_t) +
           pow2_at_least(2 * (uint64_t)c.max_instruments) * sizeof(uint32_t) +
           (uint64_t)XT_EVENT_BATCH_MAX * sizeof(xt_event_t);
}

int xt_engine_init(xt_engine_t *e, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx)
{
    memset(e, 0, sizeof *e);
    if (sink == NULL)
        return XT_EINVAL;
    xt_engine_config_t c;
    if (effective(cfg, &c) != 0)
        return XT_EINVAL;
    e->cfg = c;
    e->sink = sink;
    e->sink_ctx = ctx;

    uint64_t islots = pow2_at_least(2 * (uint64_t)c.max_orders);
    uint32_t syms = (uint32_t)pow2_at_least(2 * (uint64_t)c.max_instruments);
    /* The pools: big, so from pages.c (2 MiB pages: a snapshot's fork
     * copies far fewer page tables). Zeroed; with prefault, faulted in. */
    unsigned pf = c.prefault ? XT_PAGES_TOUCH : 0;
    e->orders = xt_pages_alloc((size_t)c.max_orders * sizeof(xt__order_t), pf);
    e->levels = xt_pages_alloc((size_t)c.max_levels * sizeof(xt__level_t), pf);
    e->nodes = xt_pages_alloc((size_t)c.max_ladder_nodes * sizeof(xt__node_t), pf);
    e->index = xt_pages_alloc(islots * sizeof(xt__islot_t), pf);
    e->instruments = calloc(c.max_instruments, sizeof(xt__instrument_t));
    e->symtab = malloc(syms * sizeof(uint32_t));
    e->evbuf = alloc_lines(XT_EVENT_BATCH_MAX, sizeof(xt_event_t));
    if (!e->orders || !e->levels || !e->nodes || !e->index || !e->instruments || !e->symtab || !e->evbuf) {
        xt_engine_destroy(e);
        return XT_ENOMEM;
    }
    memset(e->symtab, 0xff, syms * sizeof(uint32_t));
    e->index_mask = islots - 1;
    e->symtab_mask = syms - 1;
    e->order_free = e->level_free = e->node_free = XT__NIL;
    return 0;
}

void xt_engine_set_sink(xt_engine_t *e, xt_sink_fn sink, void *ctx)
{
    e->sink = sink;
    e->sink_ctx = ctx;
}

int xt_engine_set_rules(xt_engine_t *e, unsigned rules)
{
    if (rules > XT_RULES_CURRENT)
        return XT_EINVAL;
    e->cfg.rules = (uint8_t)(rules ? rules : XT_RULES_CURRENT);
    return 0;
}

void xt_engine_destroy(xt_engine_t *e)
{
    xt_pages_free(e->orders);
    xt_pages_free(e->levels);
    xt_pages_free(e->nodes);
    xt_pages_free(e->index);
    free(e->instruments);
    free(e->symtab);
    free(e->evbuf);
    memset(e, 0, sizeof *e);
}

static int valid_order_ref(int64_t id, uint32_t account)
{
    return id > 0 && account > 0;
}

static int valid_new(const xt_order_new_t *o)
{
    return valid_order_ref(o->id, o->account) && o->side <= XT_SELL && o->type <= XT_MARKET && o->tif <= XT_POST &&
           o->stp <= XT_STP_CB;
}

/* Not inlined: with the in_sink stores, GCC's LTO inlined it into the event
 * helpers and stopped inlining order_event into the matching instead (+2%
 * instructions in `bench engine` under callgrind; out of line, +0.6%). */
__attribute__((noinline)) void xt__flush_events(xt_engine_t *e, int last)
{
    e->batch.last = (uint8_t)last;
    e->batch.n = e->nev;
    e->batch.events = e->evbuf;
    e->in_sink = 1;
    e->sink(e->sink_ctx, &e->batch);
    e->in_sink = 0;
    e->nev = 0;
}

int xt_engine_apply(xt_engine_t *e, const xt_cmd_t *cmd)
{
    if (e->in_sink) /* the sink called back: the command in progress would be spoiled */
        return XT_EBUSY;
    if (cmd->seq <= e->last_seq)
        return XT_ESEQ;
    e->batch.seq = cmd->seq;
    e->batch.ts = cmd->ts;
    e->batch.cmd_type = cmd->type;
    switch (cmd->type) {
    case XT_CMD_NEW:
        if (!valid_new(&cmd->u.new_order))
            return XT_EINVAL;
        xt__on_new(e, &cmd->u.new_order);
        break;
    case XT_CMD_CANCEL:
        if (!valid_order_ref(cmd->u.cancel.id, cmd->u.cancel.account))
            return XT_EINVAL;
        xt__on_cancel(e, &cmd->u.cancel);
        break;
    case XT_CMD_AMEND:
        if (!valid_order_ref(cmd->u.amend.id, cmd->u.amend.account))
            return XT_EINVAL;
        xt__on_amend(e, &cmd->u.amend);
        break;
    case XT_CMD_INSTRUMENT: {
        int rc = xt__add_instrument(e, &cmd->u.instrument, 1);
        if (rc)
            return rc;
        break;
    }
    case XT_CMD_SESSION_END: /* no state of the core's: an empty batch */
        if (cmd->u.session_end.account == 0 || cmd->u.session_end.session == 0)
            return XT_EINVAL;
        break;
    default: return XT_EINVAL;
    }
    /* every command that gets this far emitted its events (none for
     * SESSION_END); the sequence number is taken first, so that the last
     * batch's sink sees the state the command left (its hash included) */
    e->last_seq = cmd->seq;
    xt__flush_events(e, 1);
    return 0;
}
