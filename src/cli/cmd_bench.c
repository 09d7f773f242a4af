/* cmd_bench.c - `xtrading bench engine|journal|fills|echo`: the
 * benchmarks of bench/ (docs/bench.md). Each prints a table or lines, or
 * with --json one JSON object. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "echo_server.h"
#include "engine_bench.h"
#include "flow.h"
#include "journal_bench.h"
#include "xt/error.h"

typedef struct report {
    int json;
    int inthread; /* --inthread: the ring and the latencies were not measured */
    int count;
    double worst;
    int worst_regime;
} report_t;

/* A figure, or what stands for one not measured (--inthread): JSON null,
 * "-" in the table. */
static const char *figure(char buf[32], const report_t *rep, double v, int json)
{
    if (rep->inthread)
        return json ? "null" : "-";
    snprintf(buf, 32, "%.0f", v);
    return buf;
}

static void on_result(void *ctx, const bench_result_t *r)
{
    report_t *rep = ctx;
    double mine = rep->inthread ? r->inthread_msgs_per_s : r->msgs_per_s; /* the worst of what was measured */
    if (rep->count == 0 || mine < rep->worst) {
        rep->worst = mine;
        rep->worst_regime = r->regime;
    }
    char b[5][32];
    int js = rep->json;
    const char *ring = figure(b[0], rep, r->msgs_per_s, js), *p50 = figure(b[1], rep, r->p50_ns, js),
               *p99 = figure(b[2], rep, r->p99_ns, js), *p999 = figure(b[3], rep, r->p999_ns, js),
               *mx = figure(b[4], rep, r->max_ns, js);
    if (js) {
        printf("%s\"%s\": {\"msgs_per_s\": %s, \"inthread_msgs_per_s\": %.0f, \"p50_ns\": %s, "
               "\"p99_ns\": %s, \"p999_ns\": %s, \"max_ns\": %s, \"messages\": %zu, \"new\": %zu, "
               "\"cancel\": %zu, \"amend\": %zu, \"late\": %zu, \"events\": %llu, \"trades\": %llu, "
               "\"peak_orders\": %u, \"peak_levels\": %u, \"mid_low\": %lld, \"mid_high\": %lld}",
               rep->count ? ",\n  " : "{\n  ", flow_regime_name(r->regime), ring, r->inthread_msgs_per_s, p50, p99,
               p999, mx, r->messages, r->news, r->cancels, r->amends, r->late, (unsigned long long)r->events,
               (unsigned long long)r->trades, r->peak_orders, r->peak_levels, (long long)r->mid_low,
               (long long)r->mid_high);
    } else {
        if (rep->count == 0)
            printf("%-8s %9s %11s %11s %7s %7s %7s %8s %9s %7s %7s\n", "regime", "messages", "ring msg/s",
                   "inthr msg/s", "p50 ns", "p99 ns", "p999 ns", "max ns", "trades", "peak_o", "peak_l");
        printf("%-8s %9zu %11s %11.0f %7s %7s %7s %8s %9llu %7u %7u\n", flow_regime_name(r->regime), r->messages, ring,
               r->inthread_msgs_per_s, p50, p99, p999, mx, (unsigned long long)r->trades, r->peak_orders,
               r->peak_levels);
    }
    fflush(stdout);
    rep->count++;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading bench engine [--orders N] [--seed S] [--runs R] [--regime NAME] [--inthread] [--json]\n"
               "       xtrading bench journal --help;  xtrading bench fills --help;  xtrading bench mdstate --help\n"
               "       xtrading bench echo [--listen HOST:PORT]\n"
               "  --orders N     new orders per regime, about 2N messages (default 1000000)\n"
               "  --seed S       flow seed (default 1)\n"
               "  --runs R       runs per figure, the median is reported (default 5, max 15)\n"
               "  --regime NAME  fixed, normal, swing25, swing40 or swing60 (default: all)\n"
               "  --inthread     only the in-thread sink figure (no consumer thread)\n"
               "  --json         one JSON object: per regime msgs_per_s, p50_ns, p99_ns, p999_ns, ...;\n"
               "                 and worst_msgs_per_s\n");
}

/* ---- bench journal ---- */

typedef struct jreport {
    int json, count;
} jreport_t;

static void on_journal(void *ctx, const char *kind, const void *p)
{
    jreport_t *rep = ctx;
    const char *sep = rep->count++ ? ",\n  " : "{\n  ";
    if (strcmp(kind, "policy") == 0) {
        const journal_policy_result_t *r = p;
        if (rep->json)
            printf("%s\"%s\": {\"cmds_per_s\": %.0f, \"mb_per_s\": %.1f, \"commands\": %zu, \"syncs\": %zu, "
                   "\"sync_p50_us\": %.0f, \"sync_p99_us\": %.0f, \"sync_max_us\": %.0f}",
                   sep, r->policy, r->cmds_per_s, r->mb_per_s, r->commands, r->syncs, r->sync_p50_us, r->sync_p99_us,
                   r->sync_max_us);
        else
            printf("policy %-12s %10.0f cmds/s %7.1f MB/s  %8zu commands %7zu syncs  fsync p50 %5.0f us  p99 %5.0f "
                   "us  max %6.0f us\n",
                   r->policy, r->cmds_per_s, r->mb_per_s, r->commands, r->syncs, r->sync_p50_us, r->sync_p99_us,
                   r->sync_max_us);
    } else if (strcmp(kind, "recovery") == 0) {
        const journal_recovery_result_t *r = p;
        if (rep->json)
            printf("%s\"recovery\": {\"records\": %zu, \"bytes\": %llu, \"records_per_s\": %.0f, \"seconds\": %.3f}",
                   sep, r->records, (unsigned long long)r->bytes, r->records_per_s, r->seconds);
        else
            printf("recovery  %zu records (%.0f MB) in %.3f s: %.0f records/s\n", r->records, (double)r->bytes / 1e6,
                   r->seconds, r->records_per_s);
    } else {
        const journal_snapshot_result_t *r = p;
        if (rep->json)
            printf("%s\"snapshot\": {\"resting\": %zu, \"bytes\": %llu, \"write_ms\": %.1f, \"copy_ms\": %.2f, "
                   "\"fork_ms\": %.2f, \"longest_command_ms\": %.3f, \"longest_sync_ms\": %.2f, "
                   "\"longest_pause_ms\": %.2f, \"baseline_pause_ms\": %.2f, \"forked_ok\": %s}",
                   sep, r->resting, (unsigned long long)r->bytes, r->write_ms, r->copy_ms, r->fork_ms,
                   r->longest_command_ms, r->longest_sync_ms, r->longest_pause_ms, r->baseline_pause_ms,
                   r->forked_ok ? "true" : "false");
        else
            printf("snapshot  %zu resting orders, %.0f MB: written in %.1f ms in-process; an engine copy %.2f ms; "
                   "forked: fork() %.2f ms, longest command %.3f ms, longest journal sync %.2f ms, longest pause "
                   "%.2f ms (%.2f ms without a snapshot)%s\n",
                   r->resting, (double)r->bytes / 1e6, r->write_ms, r->copy_ms, r->fork_ms, r->longest_command_ms,
                   r->longest_sync_ms, r->longest_pause_ms, r->baseline_pause_ms,
                   r->forked_ok ? "" : " - THE FORKED SNAPSHOT FAILED");
    }
    fflush(stdout);
}

static void journal_usage(FILE *f)
{
    fprintf(f, "usage: xtrading bench journal [--orders N] [--batch N] [--always N] [--recovery-records N]\n"
               "                              [--resting N] [--runs R] [--dir DIR]\n"
               "                              [--only policies|recovery|snapshot] [--json]\n"
               "  --orders N            flow size, new orders (default 1000000, about 2M commands)\n"
               "  --batch N             commands per commit (default 4096)\n"
               "  --always N            commands for the 'always' policy (default 20000)\n"
               "  --recovery-records N  journal length for the recovery figure (default 10000000)\n"
               "  --resting N           resting orders for the snapshot figures (default 1000000)\n"
               "  --runs R              recovery: best of R (default 3)\n"
               "  --dir DIR             where the files go (default $TMPDIR or /tmp)\n"
               "  --only WHICH          one part: policies, recovery or snapshot (default all three)\n"
               "  --json                one JSON object instead of the readable report\n");
}

static int bench_journal_cmd(int argc, char **argv)
{
    journal_bench_opts_t o = {.orders = 1000000,
                              .batch = 4096,
                              .always_commands = 20000,
                              .recovery_records = 10000000,
                              .resting = 1000000,
                              .runs = 3};
    jreport_t rep = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned n;
        size_t *target = NULL;
        if (strcmp(a, "--json") == 0)
            rep.json = 1;
        else if (xt_cli_is_help(a)) {
            journal_usage(stdout);
            return 0;
        } else if (strcmp(a, "--dir") == 0) {
            if (!v || !v[0]) {
                fprintf(stderr, "xtrading bench journal: --dir needs a directory\n");
                return 2;
            }
            o.dir = v;
            i++;
        } else if (strcmp(a, "--only") == 0) {
            if (!v || (strcmp(v, "policies") != 0 && strcmp(v, "recovery") != 0 && strcmp(v, "snapshot") != 0)) {
                fprintf(stderr, "xtrading bench journal: --only takes policies, recovery or snapshot, got '%s'\n",
                        v ? v : "");
                return 2;
            }
            o.only = v;
            i++;
        } else if (strcmp(a, "--runs") == 0) {
            if (!xt_cli_parse_u32(a, v, &n))
                return 2;
            o.runs = (int)n;
            i++;
        } else {
            if (strcmp(a, "--orders") == 0)
                target = &o.orders;
            else if (strcmp(a, "--batch") == 0)
                target = &o.batch;
            else if (strcmp(a, "--always") == 0)
                target = &o.always_commands;
            else if (strcmp(a, "--recovery-records") == 0)
                target = &o.recovery_records;
            else if (strcmp(a, "--resting") == 0)
                target = &o.resting;
            if (!target) {
                fprintf(stderr, "xtrading bench journal: unknown option '%s'\n", a);
                journal_usage(stderr);
                return 2;
            }
            if (!xt_cli_parse_u32(a, v, &n))
                return 2;
            *target = n;
            i++;
        }
    }
    if (o.orders < 1000 || o.batch == 0) {
        fprintf(stderr, "xtrading bench journal: --orders must be >= 1000\n");
        return 2;
    }
    struct stat st; /* named here: the benchmark's own error would not say which directory */
    const char *base = bench_journal_base(&o);
    int bad = stat(base, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (bad) {
        fprintf(stderr, "xtrading bench journal: %s %s: %s\n", o.dir ? "--dir" : "the temporary directory", base,
                strerror(bad));
        return 1;
    }
    int rc = bench_journal(&o, on_journal, &rep);
    if (rep.json)
        printf("%s\n", rep.count ? "\n}" : "{}");
    if (rc) {
        fprintf(stderr, "xtrading bench journal: %s\n", xt_strerror(rc));
        return 1;
    }
    return 0;
}

int xt_cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "mdstate") == 0)
        return xt_cmd_bench_mdstate(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "journal") == 0)
        return bench_journal_cmd(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "fills") == 0)
        return xt_cmd_bench_fills(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "echo") == 0)
        return bench_echo_cmd(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "engine") != 0) {
        if (argc >= 2 && xt_cli_is_help(argv[1])) {
            usage(stdout);
            return 0;
        }
        if (argc >= 2)
            fprintf(stderr, "xtrading bench: unknown %s '%s' (subcommands: engine, journal, fills, mdstate, echo)\n",
                    argv[1][0] == '-' ? "option" : "subcommand", argv[1]);
        usage(stderr);
        return 2;
    }
    unsigned runs_arg = 5;
    bench_opts_t o = {.orders = 1000000, .seed = 1, .runs = 5, .regime = -1};
    report_t rep = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned n;
        if (strcmp(a, "--json") == 0)
            rep.json = 1;
        else if (strcmp(a, "--inthread") == 0)
            o.inthread_only = rep.inthread = 1;
        else if (xt_cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--orders") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--runs") == 0) {
            if (!xt_cli_parse_u32(a, v, &n))
                return 2;
            if (a[2] == 'o')
                o.orders = n;
            else if (a[2] == 's')
                o.seed = n;
            else {
                o.runs = n > 1000 ? 1000 : (int)n; /* (out of range either way: said as given) */
                runs_arg = n;
            }
            i++;
        } else if (strcmp(a, "--regime") == 0) {
            if (!v || (o.regime = flow_regime_parse(v)) < 0) {
                fprintf(stderr, "xtrading bench: unknown regime '%s'\n", v ? v : "");
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "xtrading bench: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    int rc = bench_engine(&o, on_result, &rep);
    if (rc) {
        if (rc == XT_EINVAL)
            fprintf(stderr, "xtrading bench: --orders must be >= 1000 and --runs 1..15, got --orders %zu --runs %u\n",
                    o.orders, runs_arg);
        else
            fprintf(stderr, "xtrading bench: %s\n", xt_strerror(rc));
        return rc == XT_EINVAL ? 2 : 1;
    }
    if (rep.json)
        printf(",\n  \"worst_regime\": \"%s\",\n  \"%s\": %.0f,\n  \"orders\": %zu,\n  \"seed\": %llu,\n"
               "  \"runs\": %d\n}\n",
               flow_regime_name(rep.worst_regime), rep.inthread ? "worst_inthread_msgs_per_s" : "worst_msgs_per_s",
               rep.worst, o.orders, (unsigned long long)o.seed, o.runs);
    else
        printf("worst: %s at %.0f msgs/s (%s)\n", flow_regime_name(rep.worst_regime), rep.worst,
               rep.inthread ? "in-thread" : "ring");
    return 0;
}
