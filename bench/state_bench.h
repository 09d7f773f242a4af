/* state_bench.h - `xtrading bench fills` and `xtrading bench mdstate`:
 * what a snapshot's market-data state (md-state-<seq>) costs the
 * market-data thread, for its two parts (docs/bench.md): the REST fills
 * with a full table, and the instruments' state (tickers, candles,
 * timelines, tapes) of a day's trading. Each run measures the old way
 * (the part encoded and summed on the thread) and the checkpoint (the
 * thread writes what is small; a helper writes the rest and the checksum
 * while the thread goes on). */
#ifndef XT_BENCH_STATE_BENCH_H
#define XT_BENCH_STATE_BENCH_H

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

typedef struct mdstate_bench_opts {
    uint32_t instruments, tape; /* md.max_instruments (all of them trading), md.tape */
    uint32_t minutes;           /* of trading before the snapshots: the timelines' length */
    int runs;
} mdstate_bench_opts_t;

typedef struct mdstate_bench_result {
    uint64_t bytes;
    double whole_ms;       /* the old way: xt_md_state_encode + checksum on the md thread (median) */
    double begin_ms;       /* the checkpoint: the md thread's pause (median) */
    double begin_max_ms;   /* its longest */
    double helper_ms;      /* the helper: the rest + checksum (median) */
    double commands_per_s; /* one-trade commands the md thread took meanwhile */
    double longest_cmd_us; /* its longest command then */
    double quiet_cmd_us;   /* its longest command with no checkpoint under way */
    int identical;         /* every checkpoint equal to the old way's bytes */
} mdstate_bench_result_t;

/* Returns 0, XT_EINVAL (a count of 0, instruments over 2^24, tape over
 * XT_MD_TAPE_MAX, minutes over 1440, runs outside 1..15) or XT_ENOMEM. */
int bench_mdstate(const mdstate_bench_opts_t *o, mdstate_bench_result_t *r);

#endif
