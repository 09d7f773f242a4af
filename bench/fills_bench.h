/* fills_bench.h - `xtrading bench fills`: what a snapshot's market-data
 * state costs the market-data thread when the REST fills table is full
 * (docs/bench.md). The same run measures the old way (the whole table
 * encoded and summed on the thread) and the checkpoint (the thread walks
 * the accounts; a helper writes the records and the checksum while the
 * thread goes on adding fills). */
#ifndef XT_BENCH_FILLS_BENCH_H
#define XT_BENCH_FILLS_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct fills_bench_opts {
    uint32_t accounts, per_account; /* rest.fill_accounts, rest.fills */
    int runs;                       /* the medians of */
} fills_bench_opts_t;

typedef struct fills_bench_result {
    uint64_t fills, bytes;
    double whole_ms;        /* the old way: encode + checksum on the md thread (median) */
    double whole_encode_ms; /* of which the encoding */
    double begin_ms;        /* the checkpoint: the md thread's pause (median) */
    double begin_max_ms;    /* its longest */
    double helper_ms;       /* the helper: records + checksum (median) */
    double adds_per_s;      /* fills the md thread added while the helper ran */
    double longest_add_us;  /* its longest add then (a place written first, or waited for) */
    double quiet_add_us;    /* its longest add with no checkpoint under way, as a baseline */
    int identical;          /* every checkpoint equal to the old way's bytes */
} fills_bench_result_t;

/* Returns 0, XT_EINVAL (a count of 0, runs outside 1..15) or XT_ENOMEM. */
int bench_fills(const fills_bench_opts_t *o, fills_bench_result_t *r);

#endif
