/* journal_bench.c - `xtrading bench journal` (docs/bench.md):
 *
 *   policies   the engine flow (bench/flow.c) journaled under each fsync
 *              policy in batches of --batch commands: commands/s, bytes/s,
 *              and the latency of each commit's fdatasync (p50, p99, max)
 *   recovery   a journal of --recovery-records records recovered from
 *              scratch: records/s (the journal is in the page cache; a
 *              cold read adds the disk's sequential read time)
 *   snapshot   an engine holding --resting resting orders (capacity for 100,000
 *              more), driven by a flow of 100,000 orders: the time to write
 *              a snapshot in-process, and with the fork-based snapshot the
 *              fork() itself and the longest single pause of matching - any
 *              command or commit (fdatasync included) from the fork to the
 *              child's end, copy-on-write faults included - against the
 *              longest pause of the same flow without a snapshot
 *
 * Files go to a fresh directory under --dir (default $TMPDIR or /tmp),
 * removed afterwards. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): mkdtemp, nftw */
#include "journal_bench.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "journal/journal.h"
#include "journal/recover.h"
#include "journal/snapshot.h"
#include "xt/error.h"
#include "xt/xt.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* The bench's own directory, depth first, without a shell (--dir is the
 * user's text). */
static void rm_rf(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench journal: could not remove %s: %s\n", dir, strerror(errno));
}

/* Every phase starts with nothing dirty in the page cache, so that the
 * writeback of an earlier phase does not land in this one's figures. */
const char *bench_journal_base(const journal_bench_opts_t *o)
{
    const char *tmp = getenv("TMPDIR");
    return o->dir ? o->dir : tmp ? tmp : "/tmp";
}

static int make_dir(const journal_bench_opts_t *o, char *out, size_t n)
{
    sync();
    snprintf(out, n, "%s/xt-bench-journal-XXXXXX", bench_journal_base(o));
    return mkdtemp(out) ? 0 : -errno;
}

/* The instrument command every flow trades on, then the flow itself. */
static void cmd_at(const flow_t *f, size_t i, xt_cmd_t *c)
{
    memset(c, 0, sizeof *c);
    if (i == 0) {
        c->type = XT_CMD_INSTRUMENT;
        flow_instrument(&c->u.instrument);
        return;
    }
    const size_t n = f->n;
    if (n == 0)
        return;
    const uint64_t lap = (i - 1) / n;
    flow_to_cmd(&f->msgs[(i - 1) - lap * n], c);
    if (lap > 0) { /* a second lap: ids shifted so they stay fresh */
        int64_t shift = (int64_t)(lap * (f->news + 1));
        if (c->type == XT_CMD_NEW)
            c->u.new_order.id += shift;
        else if (c->type == XT_CMD_CANCEL)
            c->u.cancel.id += shift;
        else
            c->u.amend.id += shift;
    }
}

/* ---- policies --------------------------------------------------------- */

static int bench_policy(const journal_bench_opts_t *o, const flow_t *f, const char *policy, size_t commands,
                        journal_bench_report_fn report, void *ctx)
{
    char dir[4096];
    int rc = make_dir(o, dir, sizeof dir);
    if (rc)
        return rc;
    xt_journal_config_t jc;
    xt_journal_config_default(&jc);
    /* "batch+prealloc": batch, into preallocated segments (journal.preallocate) written by their thread while
     * the journal runs, as in the server; the first one is waited for */
    const char *plus = strchr(policy, '+');
    char name[32];
    snprintf(name, sizeof name, "%.*s", plus ? (int)(plus - policy) : (int)strlen(policy), policy);
    xt_fsync_policy_parse(name, &jc);
    jc.preallocate = plus ? XT_SPARE_THREAD : XT_SPARE_OFF;
    jc.batch_max = (uint32_t)o->batch;
    jc.no_snapshot_on_close = 1;
    xt_engine_config_t ec = {.max_orders = (uint32_t)(f->news + 1024), .max_levels = 1u << 16, .prefault = 1};
    xt_engine_t e;
    xt_journal_t j;
    if ((rc = xt_journal_open(&j, dir, &jc, NULL, &ec, quiet, NULL, &e, now_ns())) != 0) {
        rm_rf(dir);
        return rc;
    }
    if (plus)
        for (int ready = 0; !ready && j.spare.mode; usleep(1000)) {
            pthread_mutex_lock(&j.spare.mu);
            ready = j.spare.ready || j.spare.err; /* or it could not be made: the run measures appending */
            pthread_mutex_unlock(&j.spare.mu);
        }
    j.wal.roll = plus != NULL; /* the first segment, made before the spare, is replaced by it at once */
    size_t per = jc.fsync == XT_FSYNC_ALWAYS || o->batch == 0 ? 1 : o->batch;
    size_t nsyncs = 0, cap = commands / per + 16;
    int64_t *lat = malloc(cap * sizeof *lat);
    if (lat == NULL) {
        xt_journal_close(&j, now_ns());
        xt_engine_destroy(&e);
        rm_rf(dir);
        return XT_ENOMEM;
    }
    int64_t t0 = now_ns();
    for (size_t i = 0; i < commands && rc == 0;) {
        size_t end = i + o->batch < commands ? i + o->batch : commands;
        for (; i < end && rc == 0; i++) {
            xt_cmd_t c;
            cmd_at(f, i, &c);
            uint64_t before = j.wal.syncs;
            rc = xt_journal_submit(&j, &c, 0);
            if (j.wal.syncs != before && nsyncs < cap)
                lat[nsyncs++] = j.wal.sync_ns_last;
        }
        uint64_t before = j.wal.syncs;
        if (rc == 0)
            rc = xt_journal_commit(&j, now_ns());
        if (j.wal.syncs != before && nsyncs < cap)
            lat[nsyncs++] = j.wal.sync_ns_last;
    }
    int64_t t1 = now_ns();
    journal_policy_result_t r = {.policy = policy, .commands = commands, .bytes = j.wal.bytes, .syncs = nsyncs};
    r.cmds_per_s = (double)commands / ((double)(t1 - t0) * 1e-9);
    r.mb_per_s = (double)j.wal.bytes / ((double)(t1 - t0) * 1e-9) / 1e6;
    qsort(lat, nsyncs, sizeof *lat, cmp_i64);
    r.sync_p50_us = (double)pct(lat, nsyncs, 0.5) / 1e3;
    r.sync_p99_us = (double)pct(lat, nsyncs, 0.99) / 1e3;
    r.sync_max_us = nsyncs ? (double)lat[nsyncs - 1] / 1e3 : 0;
    free(lat);
    xt_journal_close(&j, now_ns());
    xt_engine_destroy(&e);
    rm_rf(dir);
    if (rc == 0)
        report(ctx, "policy", &r);
    return rc;
}

/* The baseline, measured in the same run: the same commands applied to
 * the same engine with no journal at all. */
static int bench_no_journal(const flow_t *f, size_t commands, journal_bench_report_fn report, void *ctx)
{
    xt_engine_config_t ec = {.max_orders = (uint32_t)(f->news + 1024), .max_levels = 1u << 16, .prefault = 1};
    xt_engine_t e;
    int rc = xt_engine_init(&e, &ec, quiet, NULL);
    if (rc)
        return rc;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < commands && rc == 0; i++) {
        xt_cmd_t c;
        cmd_at(f, i, &c);
        c.seq = i + 1;
        rc = xt_engine_apply(&e, &c);
    }
    int64_t t1 = now_ns();
    xt_engine_destroy(&e);
    journal_policy_result_t r = {.policy = "no-journal", .commands = commands};
    r.cmds_per_s = (double)commands / ((double)(t1 - t0) * 1e-9);
    if (rc == 0)
        report(ctx, "policy", &r);
    return rc;
}

/* ---- recovery --------------------------------------------------------- */

static int bench_recovery(const journal_bench_opts_t *o, const flow_t *f, journal_bench_report_fn report, void *ctx)
{
    char dir[4096];
    int rc = make_dir(o, dir, sizeof dir);
    if (rc)
        return rc;
    xt_journal_config_t jc;
    xt_journal_config_default(&jc);
    jc.fsync = XT_FSYNC_NONE;
    jc.batch_max = 65536;
    jc.segment_bytes = UINT64_C(256) << 20;
    jc.no_snapshot_on_close = 1;
    size_t laps = (o->recovery_records + f->n - 1) / f->n;
    xt_engine_config_t ec = {.max_orders = (uint32_t)((f->news + 1024) * (laps + 1)), .max_levels = 1u << 18};
    xt_engine_t e;
    xt_journal_t j;
    if ((rc = xt_journal_open(&j, dir, &jc, NULL, &ec, quiet, NULL, &e, 0)) != 0) {
        rm_rf(dir);
        return rc;
    }
    size_t n = o->recovery_records;
    for (size_t i = 0; i < n && rc == 0; i++) {
        xt_cmd_t c;
        cmd_at(f, i, &c);
        if ((rc = xt_journal_submit(&j, &c, 0)) == 0 && xt_journal_commit_due(&j, 0))
            rc = xt_journal_commit(&j, 0);
    }
    if (rc == 0)
        rc = xt_journal_commit(&j, 0);
    uint64_t hash = xt_engine_state_hash(&e), bytes = j.wal.bytes;
    xt_journal_close(&j, 0);
    xt_engine_destroy(&e);
    journal_recovery_result_t r = {.records = n, .bytes = bytes};
    for (int k = 0; k < o->runs && rc == 0; k++) { /* best of runs: the page cache warm */
        xt_recovery_t rep;
        int64_t t0 = now_ns();
        rc = xt_recover(&xt_io_posix, dir, &ec, quiet, NULL, &e, 1, &rep);
        int64_t t1 = now_ns();
        if (rc)
            break;
        if (xt_engine_state_hash(&e) != hash || rep.records != n)
            rc = XT_ECORRUPT;
        xt_engine_destroy(&e);
        double s = (double)(t1 - t0) * 1e-9;
        if (s > 0 && (double)n / s > r.records_per_s) {
            r.records_per_s = (double)n / s;
            r.seconds = s;
        }
    }
    rm_rf(dir);
    if (rc == 0)
        report(ctx, "recovery", &r);
    return rc;
}

/* ---- snapshot --------------------------------------------------------- */

/* A book of `resting` orders: bids below 100.00 and asks above, over a few
 * thousand levels, with account and size varied. */
static void resting_cmd(size_t i, xt_cmd_t *c)
{
    memset(c, 0, sizeof *c);
    if (i == 0) {
        c->type = XT_CMD_INSTRUMENT;
        flow_instrument(&c->u.instrument);
        return;
    }
    int side = (int)(i & 1);
    int64_t depth = 1 + (int64_t)((i * 2654435761u) % 2000);
    c->type = XT_CMD_NEW;
    c->u.new_order = (xt_order_new_t){.id = (int64_t)i,
                                      .account = 1 + (uint32_t)(i % 997),
                                      .side = (uint8_t)side,
                                      .type = XT_LIMIT,
                                      .price = side == XT_BUY ? 10000 - depth : 10000 + depth,
                                      .qty = 1 + (int64_t)(i % 100)};
}

static int bench_snapshot(const journal_bench_opts_t *o, const flow_t *f, journal_bench_report_fn report, void *ctx)
{
    char dir[4096];
    int rc = make_dir(o, dir, sizeof dir);
    if (rc)
        return rc;
    xt_journal_config_t jc;
    xt_journal_config_default(&jc); /* batch: a sync per commit, as a server runs */
    jc.batch_max = 4096;
    jc.no_snapshot_on_close = 1;
    jc.keep_snapshots = 3;
    xt_engine_config_t ec = {
        .max_orders = (uint32_t)(o->resting + f->news + 4096), .max_levels = 1u << 18, .prefault = 1};
    xt_engine_t e;
    xt_journal_t j;
    if ((rc = xt_journal_open(&j, dir, &jc, NULL, &ec, quiet, NULL, &e, 0)) != 0) {
        rm_rf(dir);
        return rc;
    }
    for (size_t i = 0; i <= o->resting && rc == 0; i++) {
        xt_cmd_t c;
        resting_cmd(i, &c);
        if ((rc = xt_journal_submit(&j, &c, 0)) == 0 && xt_journal_commit_due(&j, 0))
            rc = xt_journal_commit(&j, 0);
    }
    if (rc == 0)
        rc = xt_journal_commit(&j, 0);
    journal_snapshot_result_t r = {.resting = o->resting};
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    r.resting = st.orders;
    /* 1. written in this process: the whole time, and the file */
    char why[4096 + 256];
    int64_t t0 = now_ns();
    if (rc == 0 && (rc = xt_snapshot_write(&xt_io_posix, dir, &e, j.snap_buf, XT_SNAP_BUF, why, sizeof why)) != 0)
        fprintf(stderr, "bench journal: %s\n", why);
    r.write_ms = (double)(now_ns() - t0) / 1e6;
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/snap-%020llu.xts", dir, (unsigned long long)st.last_seq);
    FILE *fp = fopen(path, "rb");
    if (fp) {
        fseek(fp, 0, SEEK_END);
        r.bytes = (uint64_t)ftell(fp);
        fclose(fp);
    }
    /* 1b. the design not taken: a consistent copy for a writer thread
     * would stall matching for as long as xt_engine_copy takes, into an
     * engine of the same size allocated (and faulted in) beforehand */
    xt_engine_t copy;
    if (rc == 0 && xt_engine_init(&copy, &ec, quiet, NULL) == 0) {
        t0 = now_ns();
        if (xt_engine_copy(&copy, &e) == 0)
            r.copy_ms = (double)(now_ns() - t0) / 1e6;
        xt_engine_destroy(&copy);
    }
    /* 2. forked while the flow goes on: the longest pause of a command or
     * a commit, from the fork to the child's end (plus a little) */
    int64_t longest = 0, fork_ns = 0, base_longest = 0, longest_cmd = 0, longest_sync = 0;
    size_t i0 = o->resting + 1, k = 0;
    for (int phase = 0; phase < 2 && rc == 0; phase++) { /* 0: no snapshot, for comparison */
        int64_t worst = 0, t_start = now_ns();
        int started = 0;
        for (; rc == 0; k++) {
            xt_cmd_t c;
            flow_to_cmd(&f->msgs[k % f->n], &c);
            int64_t shift = (int64_t)(i0 + (k / f->n) * (f->news + 1));
            if (c.type == XT_CMD_NEW)
                c.u.new_order.id += shift;
            else if (c.type == XT_CMD_CANCEL)
                c.u.cancel.id += shift;
            else
                c.u.amend.id += shift;
            int64_t a = now_ns();
            rc = xt_journal_submit(&j, &c, 0);
            if (phase == 1 && started && now_ns() - a > longest_cmd)
                longest_cmd = now_ns() - a;
            if (rc == 0 && (k % 64 == 63)) {
                if (phase == 1 && !started) {
                    xt_journal_snapshot(&j, 0); /* taken at this commit: fork */
                    started = 1;
                }
                rc = xt_journal_commit(&j, 0);
                if (phase == 1 && started && fork_ns == 0 && j.snap_pid > 0)
                    fork_ns = j.fork_ns_last;
                else if (phase == 1 && started && j.wal.sync_ns_last > longest_sync)
                    longest_sync = j.wal.sync_ns_last;
            }
            int64_t d = now_ns() - a;
            if (d > worst)
                worst = d;
            if (phase == 0 && now_ns() - t_start > 500000000) /* half a second of the plain flow */
                break;
            if (phase == 1 && started && j.snap_pid == 0 && now_ns() - t_start > 100000000)
                break; /* the child is done */
            if (phase == 1 && started && k % 4096 == 0)
                xt_journal_tick(&j, 0); /* reaps the child when it ends */
        }
        if (phase == 0)
            base_longest = worst;
        else
            longest = worst;
    }
    r.fork_ms = (double)fork_ns / 1e6;
    r.longest_command_ms = (double)longest_cmd / 1e6;
    r.longest_sync_ms = (double)longest_sync / 1e6;
    r.longest_pause_ms = (double)longest / 1e6;
    r.baseline_pause_ms = (double)base_longest / 1e6;
    r.forked_ok = j.snapshots > 0 && j.snapshot_failures == 0;
    xt_journal_close(&j, 0);
    xt_engine_destroy(&e);
    rm_rf(dir);
    if (rc == 0)
        report(ctx, "snapshot", &r);
    return rc;
}

int bench_journal(const journal_bench_opts_t *o, journal_bench_report_fn report, void *ctx)
{
    flow_t f;
    int rc = flow_generate(&f, FLOW_NORMAL, o->orders, 1);
    if (rc)
        return rc;
    static const char *const policies[] = {"batch", "batch+prealloc", "interval=10", "none", "always"};
    if (!o->only || strcmp(o->only, "policies") == 0)
        rc = bench_no_journal(&f, f.n + 1, report, ctx);
    for (int p = 0; p < 5 && rc == 0; p++) {
        if (o->only && strcmp(o->only, "policies") != 0)
            break;
        size_t n = p == 4 ? o->always_commands : f.n + 1;
        rc = bench_policy(o, &f, policies[p], n, report, ctx);
    }
    if (rc == 0 && (!o->only || strcmp(o->only, "recovery") == 0))
        rc = bench_recovery(o, &f, report, ctx);
    flow_free(&f);
    /* The snapshot phase measures a process holding the book, not this
     * benchmark's big flow: it drives a small flow of its own. */
    if (rc == 0 && (!o->only || strcmp(o->only, "snapshot") == 0) &&
        (rc = flow_generate(&f, FLOW_NORMAL, 100000, 2)) == 0) {
        rc = bench_snapshot(o, &f, report, ctx);
        flow_free(&f);
    }
    return rc;
}
