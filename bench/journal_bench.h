/* journal_bench.h - the journal benchmark behind `xtrading bench journal`. */
#ifndef XT_BENCH_JOURNAL_BENCH_H
#define XT_BENCH_JOURNAL_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct journal_bench_opts {
    size_t orders;           /* flow size: new orders (about 2x commands) */
    size_t batch;            /* commands per commit */
    size_t always_commands;  /* commands for the `always` policy (one fsync each) */
    size_t recovery_records; /* journal length for the recovery figure */
    size_t resting;          /* resting orders for the snapshot figures */
    int runs;                /* recovery: best of */
    const char *dir;         /* where to put files (NULL: $TMPDIR or /tmp) */
    const char *only;        /* "policies", "recovery", "snapshot" or NULL */
} journal_bench_opts_t;

typedef struct journal_policy_result {
    const char *policy;
    size_t commands, syncs;
    uint64_t bytes;
    double cmds_per_s, mb_per_s, sync_p50_us, sync_p99_us, sync_max_us;
} journal_policy_result_t;

typedef struct journal_recovery_result {
    size_t records;
    uint64_t bytes;
    double records_per_s, seconds;
} journal_recovery_result_t;

typedef struct journal_snapshot_result {
    size_t resting;
    uint64_t bytes;
    double write_ms, fork_ms, longest_pause_ms, baseline_pause_ms;
    double copy_ms;            /* the alternative: copying the engine for a writer thread */
    double longest_command_ms; /* a single command while the child writes */
    double longest_sync_ms;    /* the journal's fdatasync while the child writes */
    int forked_ok;
} journal_snapshot_result_t;

/* kind: "policy", "recovery" or "snapshot"; r points at the matching struct. */
typedef void (*journal_bench_report_fn)(void *ctx, const char *kind, const void *r);

int bench_journal(const journal_bench_opts_t *o, journal_bench_report_fn report, void *ctx);
/* Where the benchmark makes its directories: o->dir, else $TMPDIR, else /tmp. */
const char *bench_journal_base(const journal_bench_opts_t *o);

#endif
