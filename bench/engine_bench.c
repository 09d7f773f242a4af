/* engine_bench.c - `xtrading bench engine`: replays the synthetic flow of
 * each regime into fresh engines and measures (docs/bench.md):
 *
 *   ring      messages/s with every event copied into a single-producer
 *             single-consumer ring and consumed by a second thread (the
 *             realistic figure: the engine thread hands events on)
 *   inthread  messages/s with the consumer work done in the sink itself
 *   latency   per-message time (TSC) in the ring configuration:
 *             p50 / p99 / p99.9 / max
 *   peak resting orders and price levels
 *
 * Each figure is the median of --runs runs (default 5).
 */
#define _GNU_SOURCE 1 /* pthread_setaffinity_np */ /* NOLINT(bugprone-reserved-identifier) */
#include "engine_bench.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_ring.h"
#include "flow.h"
#include "xt/xt.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t ticks(void)
{
    return __rdtsc();
}
#else
static inline uint64_t ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Ticks per nanosecond, measured against CLOCK_MONOTONIC over 200 ms. */
static double tick_rate(void)
{
    double t0 = now_s();
    uint64_t c0 = ticks();
    while (now_s() - t0 < 0.2)
        ;
    return (double)(ticks() - c0) / ((now_s() - t0) * 1e9);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
}

/* ---- the consumer's work per event: what a gateway or market-data thread
 * would at least do - look at the event and keep a few aggregates. ------- */

typedef struct tally {
    uint64_t events, trades, volume, book, check;
} tally_t;

static inline void consume(tally_t *t, const xt_event_t *ev)
{
    t->events++;
    t->check += (uint64_t)ev->order_id ^ (uint64_t)ev->price;
    if (ev->type == XT_EV_TRADE) {
        t->trades++;
        t->volume += (uint64_t)ev->qty;
    } else if (ev->type == XT_EV_BOOK)
        t->book += (uint64_t)ev->qty;
}

static void inthread_sink(void *ctx, const xt_event_batch_t *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        consume(ctx, &b->events[i]);
}

/* ---- ring configuration ----------------------------------------------- */

typedef struct ring_run {
    event_ring_t ring;
    tally_t tally;
    atomic_int done;
    int cpu;
} ring_run_t;

static void ring_sink(void *ctx, const xt_event_batch_t *b)
{
    event_ring_push_n(&((ring_run_t *)ctx)->ring, b->events, b->n);
}

static void *consumer(void *arg)
{
    ring_run_t *rr = arg;
    pin(rr->cpu);
    for (;;) {
        const xt_event_t *ev = event_ring_peek(&rr->ring);
        if (ev) {
            consume(&rr->tally, ev);
            event_ring_next(&rr->ring);
            continue;
        }
        if (atomic_load_explicit(&rr->done, memory_order_acquire) && event_ring_empty(&rr->ring))
            break;
        event_ring_release(&rr->ring);
        event_ring_idle();
    }
    event_ring_release(&rr->ring);
    return NULL;
}

/* ---- one run ------------------------------------------------------------ */

typedef enum mode { MODE_INTHREAD, MODE_RING, MODE_LATENCY } mode_t_;

typedef struct run_result {
    double msgs_per_s;
    uint32_t *lat; /* MODE_LATENCY: ticks per message */
    xt_engine_stats_t stats;
    tally_t tally;
} run_result_t;

static int engine_for(xt_engine_t *e, const flow_t *f, xt_sink_fn sink, void *ctx)
{
    xt_engine_config_t cfg = {
        .max_orders = (uint32_t)(f->news + 1024), .max_levels = 1u << 16, .max_instruments = 1, .prefault = 1};
    int rc = xt_engine_init(e, &cfg, sink, ctx);
    if (rc)
        return rc;
    xt_cmd_t def = {.type = XT_CMD_INSTRUMENT, .seq = 1};
    flow_instrument(&def.u.instrument);
    return xt_engine_apply(e, &def);
}

static int run_once(const flow_t *f, mode_t_ mode, run_result_t *res)
{
    ring_run_t *rr = NULL;
    tally_t tally = {0};
    xt_engine_t e;
    pthread_t th;
    int rc;
    if (mode == MODE_INTHREAD)
        rc = engine_for(&e, f, inthread_sink, &tally);
    else {
        rr = calloc(1, sizeof *rr);
        if (!rr || event_ring_init(&rr->ring, 1u << 12) != 0) {
            free(rr);
            return XT_ENOMEM;
        }
        rr->cpu = 1;
        rc = engine_for(&e, f, ring_sink, rr);
        if (rc == 0 && pthread_create(&th, NULL, consumer, rr) != 0)
            rc = -errno;
    }
    if (rc) {
        if (rr)
            event_ring_destroy(&rr->ring);
        free(rr);
        return rc;
    }
    pin(0);
    xt_cmd_t c;
    memset(&c, 0, sizeof c);
    const flow_msg_t *m = f->msgs;
    uint32_t *lat = res->lat;
    double t0 = now_s();
    if (mode == MODE_LATENCY) {
        for (size_t i = 0; i < f->n; i++) {
            flow_to_cmd(&m[i], &c);
            c.seq = i + 2;
            c.ts = (int64_t)i;
            uint64_t a = ticks();
            xt_engine_apply(&e, &c);
            event_ring_flush(&rr->ring); /* a message's events are handed on before it counts as done */
            uint64_t b = ticks();
            lat[i] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
        }
    } else {
        for (size_t i = 0; i < f->n; i++) {
            flow_to_cmd(&m[i], &c);
            c.seq = i + 2;
            c.ts = (int64_t)i;
            xt_engine_apply(&e, &c);
        }
    }
    if (rr) {
        event_ring_flush(&rr->ring);
        atomic_store_explicit(&rr->done, 1, memory_order_release);
        pthread_join(th, NULL);
        tally = rr->tally;
    }
    double t1 = now_s();
    res->msgs_per_s = (double)f->n / (t1 - t0);
    res->tally = tally;
    xt_engine_stats(&e, &res->stats);
    xt_engine_destroy(&e);
    if (rr) {
        event_ring_destroy(&rr->ring);
        free(rr);
    }
    return 0;
}

/* ---- statistics --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double pctl(const uint32_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* ---- the regimes ---------------------------------------------------------- */

#define MAX_RUNS 15

/* Everything measured for one regime across its runs. */
typedef struct regime_runs {
    flow_t flow;
    bench_result_t res;
    double ring[MAX_RUNS], inthread[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS], p999[MAX_RUNS], mx[MAX_RUNS];
} regime_runs_t;

static int generate(regime_runs_t *rr, int regime, const bench_opts_t *o)
{
    double g0 = now_s();
    int rc = flow_generate(&rr->flow, regime, o->orders, o->seed);
    if (rc)
        return rc;
    bench_result_t *out = &rr->res;
    const flow_t *f = &rr->flow;
    memset(out, 0, sizeof *out);
    out->regime = regime;
    out->messages = f->n;
    out->news = f->news;
    out->cancels = f->cancels;
    out->amends = f->amends;
    out->late = f->late;
    out->mid_low = f->mid_low;
    out->mid_high = f->mid_high;
    out->gen_s = now_s() - g0;
    return 0;
}

/* Run k of one regime: in-thread, ring, then latency. `lat` holds at least
 * flow.n entries. */
static int measure(regime_runs_t *rr, int k, const bench_opts_t *o, double tick_ns, uint32_t *lat)
{
    const flow_t *f = &rr->flow;
    bench_result_t *out = &rr->res;
    run_result_t r = {.lat = lat};
    int rc = run_once(f, MODE_INTHREAD, &r);
    if (rc)
        return rc;
    rr->inthread[k] = r.msgs_per_s;
    out->peak_orders = r.stats.peak_orders; /* the same flow: the same peaks in every mode */
    out->peak_levels = r.stats.peak_levels;
    out->trades = r.stats.trades;
    out->events = r.tally.events;
    if (o->inthread_only)
        return 0;
    if ((rc = run_once(f, MODE_RING, &r)))
        return rc;
    rr->ring[k] = r.msgs_per_s;
    if (r.tally.events != out->events) /* the consumer must see every event */
        return XT_ECORRUPT;
    if ((rc = run_once(f, MODE_LATENCY, &r)))
        return rc;
    qsort(lat, f->n, sizeof *lat, cmp_u32);
    rr->p50[k] = pctl(lat, f->n, 0.50) / tick_ns;
    rr->p99[k] = pctl(lat, f->n, 0.99) / tick_ns;
    rr->p999[k] = pctl(lat, f->n, 0.999) / tick_ns;
    rr->mx[k] = lat[f->n - 1] / tick_ns;
    return 0;
}

static void summarise(regime_runs_t *rr, const bench_opts_t *o)
{
    bench_result_t *out = &rr->res;
    out->inthread_msgs_per_s = median(rr->inthread, o->runs);
    if (o->inthread_only) /* the ring and the latencies: not measured (0) */
        return;
    out->msgs_per_s = median(rr->ring, o->runs);
    out->p50_ns = median(rr->p50, o->runs);
    out->p99_ns = median(rr->p99, o->runs);
    out->p999_ns = median(rr->p999, o->runs);
    out->max_ns = median(rr->mx, o->runs);
}

/* All flows are generated first, then the runs go round-robin over the
 * regimes: on a shared machine a few seconds of interference then spoil
 * one run of several regimes, which the medians absorb, instead of every
 * run of one regime. */
int bench_engine(const bench_opts_t *o, bench_report_fn report, void *ctx)
{
    if (o->runs < 1 || o->runs > MAX_RUNS || o->orders < 1000)
        return XT_EINVAL;
    double tick_ns = tick_rate();
    regime_runs_t *rr = calloc(FLOW_REGIMES, sizeof *rr);
    uint32_t *lat = NULL;
    int n = 0, rc = XT_ENOMEM;
    if (!rr)
        return rc;
    for (int regime = 0; regime < FLOW_REGIMES; regime++)
        if (o->regime < 0 || regime == o->regime)
            if ((rc = generate(&rr[n++], regime, o)) != 0) {
                n--;
                goto done;
            }
    size_t most = 0;
    for (int i = 0; i < n; i++)
        most = rr[i].flow.n > most ? rr[i].flow.n : most;
    rc = XT_ENOMEM;
    if (!(lat = malloc(most * sizeof *lat)))
        goto done;
    rc = 0;
    for (int k = 0; k < o->runs && rc == 0; k++)
        for (int i = 0; i < n && rc == 0; i++)
            rc = measure(&rr[i], k, o, tick_ns, lat);
    for (int i = 0; i < n && rc == 0; i++) {
        summarise(&rr[i], o);
        report(ctx, &rr[i].res);
    }
done:
    for (int i = 0; i < n; i++)
        flow_free(&rr[i].flow);
    free(lat);
    free(rr);
    return rc;
}
