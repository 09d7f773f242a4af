/* flow.c - the synthetic liquid-stock flow (see flow.h, docs/bench.md). */
#include "flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xt/engine.h"
#include "xt/error.h"

#define BASE_MID 10000     /* 100.00 at tick 0.01 */
#define RATE 20000.0       /* new orders per simulated second */
#define CANCEL_MEAN 0.0004 /* seconds: most cancels within a millisecond */
#define AMEND_MEAN 0.0002
#define P_IOC 0.15
#define P_KEEP 0.05 /* passive orders never cancelled: the standing book */
#define KEEP_MIN 5  /* ticks: they rest deeper than the fleeting quotes */
#define KEEP_MAX 300
#define P_AMEND 0.20 /* resting orders modified once */
#define P_STALE 0.01 /* cancels aimed at an order long gone */
#define ACCOUNTS 1000
#define MAX_DIST 2000 /* ticks from the mid */

static const char *const names[FLOW_REGIMES] = {"fixed", "normal", "swing25", "swing40", "swing60"};

const char *flow_regime_name(int regime)
{
    return regime >= 0 && regime < FLOW_REGIMES ? names[regime] : "?";
}

int flow_regime_parse(const char *name)
{
    for (int i = 0; i < FLOW_REGIMES; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void flow_instrument(xt_instrument_def_t *def)
{
    memset(def, 0, sizeof *def);
    strcpy(def->symbol, "BENCH");
    def->tick = (xt_decimal_t){1, 2};
    def->lot = (xt_decimal_t){1, 0};
}

/* ---- randomness --------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t rnext(rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(rng_t *r) /* (0, 1) */
{
    return ((double)(rnext(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng_t *r)
{
    return sqrt(-2.0 * log(uniform(r))) * cos(6.283185307179586 * uniform(r));
}

static int64_t below(rng_t *r, int64_t n)
{
    return (int64_t)(rnext(r) % (uint64_t)n);
}

/* Depth profile: weight(d) = d^2 / (1 + (d/3)^4.5) - rising to a peak about
 * three ticks out, then a d^-2.5 power-law tail. Sampled by its CDF. */
typedef struct depth {
    double cdf[MAX_DIST + 1];
} depth_t;

static void depth_init(depth_t *dp)
{
    double acc = 0;
    dp->cdf[0] = 0;
    for (int d = 1; d <= MAX_DIST; d++) {
        acc += (double)d * d / (1.0 + pow(d / 3.0, 4.5));
        dp->cdf[d] = acc;
    }
    for (int d = 1; d <= MAX_DIST; d++)
        dp->cdf[d] /= acc;
}

static int64_t depth_sample(const depth_t *dp, rng_t *r)
{
    double u = uniform(r);
    int lo = 1, hi = MAX_DIST;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (dp->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the mid price -------------------------------------------------------- */

/* Swing shape: a triangular dip of depth `depth` centred mid-run. */
static double swing(int regime, double f)
{
    double depth = 0, half = 0.5;
    switch (regime) {
    case FLOW_SWING25: depth = 0.25, half = 0.40; break;
    case FLOW_SWING40: depth = 0.40, half = 0.30; break;
    case FLOW_SWING60: depth = 0.60, half = 0.10; break;
    default: return 1.0;
    }
    double x = fabs(f - 0.5) / half;
    return x >= 1 ? 1.0 : 1.0 - depth * (1 - x);
}

/* ---- scheduled cancels and modifies: a binary min-heap on time ---------- */

typedef struct action {
    double t;
    int64_t id;
    uint32_t account;
    uint8_t type;
} action_t;

typedef struct heap {
    action_t *a;
    size_t n, cap;
} heap_t;

static int heap_push(heap_t *h, action_t x)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        action_t *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return XT_ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && h->a[(i - 1) / 2].t > x.t) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = x;
    return 0;
}

static action_t heap_pop(heap_t *h)
{
    action_t top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->a[c + 1].t < h->a[c].t)
            c++;
        if (h->a[c].t >= last.t)
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n)
        h->a[i] = last;
    return top;
}

/* ---- generation ------------------------------------------------------------ */

typedef struct gen {
    flow_t *f;
    size_t cap;
    xt_engine_t e;
    uint64_t seq;
    int rested; /* did the last NEW rest? set by the sink */
    int64_t last_id;
} gen_t;

static void gen_sink(void *ctx, const xt_event_batch_t *b)
{
    gen_t *g = ctx;
    for (uint32_t i = 0; i < b->n; i++) {
        const xt_event_t *ev = &b->events[i];
        if (ev->type == XT_EV_BOOK || ev->order_id != g->last_id)
            continue;
        if (ev->type == XT_EV_ACCEPTED)
            g->rested = 1; /* until a trade leaves nothing or a cancel says otherwise */
        else if ((ev->type == XT_EV_TRADE && ev->remaining == 0) || ev->type == XT_EV_CANCELED ||
                 ev->type == XT_EV_REJECTED)
            g->rested = 0;
    }
}

static int emit(gen_t *g, const flow_msg_t *m)
{
    if (g->f->n == g->cap) {
        size_t cap = g->cap * 2;
        flow_msg_t *p = realloc(g->f->msgs, cap * sizeof *p);
        if (!p)
            return XT_ENOMEM;
        g->f->msgs = p;
        g->cap = cap;
    }
    g->f->msgs[g->f->n++] = *m;
    xt_cmd_t c;
    memset(&c, 0, sizeof c);
    flow_to_cmd(m, &c);
    c.seq = ++g->seq;
    g->last_id = m->id;
    g->rested = 0;
    return xt_engine_apply(&g->e, &c);
}

/* A due cancel or modify. Modifies reprice by a tick and/or size up. */
static int do_action(gen_t *g, rng_t *r, const action_t *a)
{
    flow_msg_t m = {.id = a->id, .account = a->account, .type = a->type};
    xt_order_info_t o;
    int alive = xt_engine_order(&g->e, a->id, &o) == 0;
    if (!alive)
        g->f->late++;
    if (a->type == XT_CMD_AMEND) {
        int64_t price = alive ? o.price : 1, qty = alive ? o.qty : 1;
        int k = (int)below(r, 3);
        if (k != 1)
            price += below(r, 2) ? 1 : -1;
        if (k != 0)
            qty += 1 + below(r, 20);
        m.price = price > 0 ? price : 1;
        m.qty = qty;
        g->f->amends++;
    } else
        g->f->cancels++;
    return emit(g, &m);
}

static int new_order(gen_t *g, rng_t *r, const depth_t *dp, int64_t mid, int64_t id, heap_t *h, double t)
{
    flow_msg_t m = {.id = id, .account = (uint32_t)(1 + below(r, ACCOUNTS)), .type = XT_CMD_NEW};
    int keep = 0;
    m.side = (uint8_t)below(r, 2);
    m.qty = 1 + below(r, 100);
    if (uniform(r) < P_IOC) { /* marketable: at or through the opposite best */
        xt_level_info_t best;
        int64_t ref = xt_engine_best(&g->e, 0, m.side == XT_BUY ? XT_SELL : XT_BUY, &best) == 0 ? best.price : mid;
        int64_t through = below(r, 3);
        m.price = m.side == XT_BUY ? ref + through : ref - through;
        m.tif = XT_IOC;
    } else {
        keep = uniform(r) < P_KEEP;
        int64_t d = keep ? KEEP_MIN + below(r, KEEP_MAX - KEEP_MIN + 1) : depth_sample(dp, r);
        m.price = m.side == XT_BUY ? mid - d : mid + d;
        m.tif = XT_TIF_DEFAULT;
    }
    if (m.price < 1)
        m.price = 1;
    g->f->news++;
    int rc = emit(g, &m);
    if (rc || !g->rested)
        return rc;
    /* A fleeting order is cancelled after an exponential delay and, if it
     * is modified, modified before that; a standing order may be modified
     * at any time. What still goes "late" are orders that traded first. */
    double cancel_at = keep ? 0 : t - CANCEL_MEAN * log(uniform(r));
    if (uniform(r) < P_AMEND) {
        double at = keep ? t - AMEND_MEAN * log(uniform(r)) : t + (cancel_at - t) * (0.1 + 0.8 * uniform(r));
        if ((rc = heap_push(h, (action_t){at, id, m.account, XT_CMD_AMEND})))
            return rc;
    }
    if (!keep && (rc = heap_push(h, (action_t){cancel_at, id, m.account, XT_CMD_CANCEL})))
        return rc;
    return 0;
}

int flow_generate(flow_t *f, int regime, size_t orders, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    if (regime < 0 || regime >= FLOW_REGIMES || orders == 0)
        return XT_EINVAL;
    gen_t *g = calloc(1, sizeof *g);
    depth_t *dp = malloc(sizeof *dp);
    heap_t h = {0};
    int rc = XT_ENOMEM;
    if (!g || !dp)
        goto fail;
    g->f = f;
    g->cap = orders * 2 + 1024;
    f->msgs = malloc(g->cap * sizeof *f->msgs);
    xt_engine_config_t cfg = {.max_orders = (uint32_t)(orders + 1024), .max_levels = 1u << 20, .max_instruments = 1};
    if (!f->msgs || (rc = xt_engine_init(&g->e, &cfg, gen_sink, g)) != 0)
        goto fail;
    xt_cmd_t def = {.type = XT_CMD_INSTRUMENT, .seq = ++g->seq};
    flow_instrument(&def.u.instrument);
    if ((rc = xt_engine_apply(&g->e, &def)))
        goto fail_engine;
    depth_init(dp);
    rng_t r = {seed * 0x2545F4914F6CDD1Dull + (uint64_t)regime};
    double sigma = regime == FLOW_FIXED ? 0 : 0.015 / sqrt((double)orders); /* about 1.5% over the run */
    double logw = 0, t = 0;
    f->mid_low = f->mid_high = BASE_MID;
    for (size_t i = 1; i <= orders; i++) {
        t += -log(uniform(&r)) / RATE;
        logw += sigma * normal(&r);
        int64_t mid = (int64_t)llround(BASE_MID * exp(logw) * swing(regime, (double)i / (double)orders));
        if (mid < f->mid_low)
            f->mid_low = mid;
        if (mid > f->mid_high)
            f->mid_high = mid;
        while (h.n && h.a[0].t <= t) {
            action_t a = heap_pop(&h);
            if ((rc = do_action(g, &r, &a)))
                goto fail_engine;
        }
        if (uniform(&r) < P_STALE && i > 1000) { /* a cancel for something long gone */
            action_t a = {t, (int64_t)(i - 500 - (size_t)below(&r, 500)), (uint32_t)(1 + below(&r, ACCOUNTS)),
                          XT_CMD_CANCEL};
            if ((rc = do_action(g, &r, &a)))
                goto fail_engine;
        }
        if ((rc = new_order(g, &r, dp, mid, (int64_t)i, &h, t)))
            goto fail_engine;
    }
    while (h.n) { /* let the pending cancels and modifies arrive */
        action_t a = heap_pop(&h);
        if ((rc = do_action(g, &r, &a)))
            goto fail_engine;
    }
    rc = 0;
fail_engine:
    xt_engine_destroy(&g->e);
fail:
    free(h.a);
    free(dp);
    free(g);
    if (rc)
        flow_free(f);
    return rc;
}

void flow_free(flow_t *f)
{
    free(f->msgs);
    memset(f, 0, sizeof *f);
}
