/* engine_bench.h - the engine benchmark behind `xtrading bench engine`. */
#ifndef XT_BENCH_ENGINE_BENCH_H
#define XT_BENCH_ENGINE_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_opts {
    size_t orders; /* new orders per regime (about 2x messages) */
    uint64_t seed;
    int runs;   /* measurements per figure; the median is reported */
    int regime; /* -1: all */
    int inthread_only;
} bench_opts_t;

typedef struct bench_result {
    int regime;
    size_t messages, news, cancels, amends, late;
    uint64_t events, trades;
    int64_t mid_low, mid_high;
    double gen_s;
    double msgs_per_s;          /* ring configuration */
    double inthread_msgs_per_s; /* consumer work in the sink */
    double p50_ns, p99_ns, p999_ns, max_ns;
    uint32_t peak_orders, peak_levels;
} bench_result_t;

typedef void (*bench_report_fn)(void *ctx, const bench_result_t *r);

/* Runs the regimes, reporting each as it finishes. Returns 0 or an error. */
int bench_engine(const bench_opts_t *o, bench_report_fn report, void *ctx);

#endif
