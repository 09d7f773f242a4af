/* cmd_bench_state.c - `xtrading bench fills` and `xtrading bench mdstate`
 * (bench/state_bench.c, docs/cli.md): what a snapshot's market-data state
 * costs the market-data thread, the old way against the checkpoint. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "state_bench.h"
#include "xt/error.h"

typedef struct u32_opt {
    const char *name;
    unsigned *dst;
} u32_opt_t;

/* Parses argv[2..]: --json, --help (usage on stdout), the options of opts.
 * Returns -1 to go on, else the exit status (0 after --help, 2 on a bad
 * argument: usage on stderr). */
static int parse(int argc, char **argv, const char *cmd, const u32_opt_t *opts, size_t n, int *json,
                 void (*usage)(FILE *))
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            *json = 1;
            continue;
        }
        if (xt_cli_is_help(a)) {
            usage(stdout);
            return 0;
        }
        size_t k = 0;
        while (k < n && strcmp(a, opts[k].name) != 0)
            k++;
        if (k == n) {
            fprintf(stderr, "xtrading bench %s: unknown option '%s'\n", cmd, a);
            usage(stderr);
            return 2;
        }
        if (!xt_cli_parse_u32(a, v, opts[k].dst))
            return 2;
        i++;
    }
    return -1;
}

static void fills_usage(FILE *f)
{
    fprintf(f, "usage: xtrading bench fills [--accounts N] [--per-account N] [--runs R] [--json]\n"
               "  --accounts N     accounts in the fills table, rest.fill_accounts (default 4096)\n"
               "  --per-account N  fills kept per account, rest.fills (default 1000)\n"
               "  --runs R         snapshots measured, medians reported (default 5, max 15)\n"
               "  --json           one JSON object: fills, bytes, whole_ms, begin_ms, helper_ms, ...\n");
}

int xt_cmd_bench_fills(int argc, char **argv)
{
    fills_bench_opts_t o = {.accounts = 4096, .per_account = 1000};
    unsigned runs = 5;
    int json = 0;
    const u32_opt_t opts[] = {{"--accounts", &o.accounts}, {"--per-account", &o.per_account}, {"--runs", &runs}};
    int st = parse(argc, argv, "fills", opts, sizeof opts / sizeof opts[0], &json, fills_usage);
    if (st >= 0)
        return st;
    o.runs = runs > 15 ? 16 : (int)runs;
    fills_bench_result_t r;
    int rc = bench_fills(&o, &r);
    if (rc) {
        fprintf(stderr, "xtrading bench fills: %s\n",
                rc == XT_EINVAL ? "--accounts 1..2^30 and --per-account >= 1, --runs 1..15" : xt_strerror(rc));
        return rc == XT_EINVAL ? 2 : 1;
    }
    if (json)
        printf("{\"accounts\": %u, \"per_account\": %u, \"runs\": %d, \"fills\": %llu, \"bytes\": %llu, "
               "\"whole_ms\": %.3f, \"whole_encode_ms\": %.3f, \"begin_ms\": %.3f, \"begin_max_ms\": %.3f, "
               "\"helper_ms\": %.3f, \"adds_per_s\": %.0f, \"longest_add_us\": %.1f, \"quiet_add_us\": %.1f, "
               "\"identical\": %s}\n",
               o.accounts, o.per_account, o.runs, (unsigned long long)r.fills, (unsigned long long)r.bytes, r.whole_ms,
               r.whole_encode_ms, r.begin_ms, r.begin_max_ms, r.helper_ms, r.adds_per_s, r.longest_add_us,
               r.quiet_add_us, r.identical ? "true" : "false");
    else
        printf("fills table: %u accounts x %u = %llu fills, %.1f MB as bytes; medians of %d snapshots\n"
               "  old way, on the market-data thread: %.2f ms (encode %.2f ms + checksum)\n"
               "  checkpoint: market-data thread %.3f ms (longest %.3f ms); helper thread %.2f ms\n"
               "  adds meanwhile: %.0f/s, longest %.1f us (without a checkpoint: %.1f us)\n"
               "  bytes identical: %s\n",
               o.accounts, o.per_account, (unsigned long long)r.fills, (double)r.bytes / 1e6, o.runs, r.whole_ms,
               r.whole_encode_ms, r.begin_ms, r.begin_max_ms, r.helper_ms, r.adds_per_s, r.longest_add_us,
               r.quiet_add_us, r.identical ? "yes" : "NO");
    return r.identical ? 0 : 1;
}

static void mdstate_usage(FILE *f)
{
    fprintf(f, "usage: xtrading bench mdstate [--instruments N] [--tape N] [--minutes N] [--runs R] [--json]\n"
               "  --instruments N  instruments, all trading (default 5000)\n"
               "  --tape N         trades kept per instrument, md.tape (default 1000)\n"
               "  --minutes N      minutes traded before the snapshots: the timelines (default 240)\n"
               "  --runs R         snapshots measured, medians reported (default 5, max 15)\n"
               "  --json           one JSON object: bytes, whole_ms, begin_ms, helper_ms, ...\n");
}

int xt_cmd_bench_mdstate(int argc, char **argv)
{
    mdstate_bench_opts_t o = {.instruments = 5000, .tape = 1000, .minutes = 240};
    unsigned runs = 5;
    int json = 0;
    const u32_opt_t opts[] = {
        {"--instruments", &o.instruments}, {"--tape", &o.tape}, {"--minutes", &o.minutes}, {"--runs", &runs}};
    int st = parse(argc, argv, "mdstate", opts, sizeof opts / sizeof opts[0], &json, mdstate_usage);
    if (st >= 0)
        return st;
    o.runs = runs > 15 ? 16 : (int)runs;
    mdstate_bench_result_t r;
    int rc = bench_mdstate(&o, &r);
    if (rc) {
        fprintf(stderr, "xtrading bench mdstate: %s\n",
                rc == XT_EINVAL ? "--instruments 1..2^24, --tape 1..1000000, --minutes 1..1440, --runs 1..15"
                                : xt_strerror(rc));
        return rc == XT_EINVAL ? 2 : 1;
    }
    if (json)
        printf("{\"instruments\": %u, \"tape\": %u, \"minutes\": %u, \"runs\": %d, \"bytes\": %llu, "
               "\"whole_ms\": %.3f, \"begin_ms\": %.3f, \"begin_max_ms\": %.3f, \"helper_ms\": %.3f, "
               "\"commands_per_s\": %.0f, \"longest_cmd_us\": %.1f, \"quiet_cmd_us\": %.1f, \"identical\": %s}\n",
               o.instruments, o.tape, o.minutes, o.runs, (unsigned long long)r.bytes, r.whole_ms, r.begin_ms,
               r.begin_max_ms, r.helper_ms, r.commands_per_s, r.longest_cmd_us, r.quiet_cmd_us,
               r.identical ? "true" : "false");
    else
        printf("instruments' state: %u instruments, tape %u, %u minutes: %.1f MB as bytes; medians of %d snapshots\n"
               "  old way, on the market-data thread: %.2f ms (encode + checksum)\n"
               "  checkpoint: market-data thread %.3f ms (longest %.3f ms); helper thread %.2f ms\n"
               "  commands meanwhile: %.0f/s, longest %.1f us (without a checkpoint: %.1f us)\n"
               "  bytes identical: %s\n",
               o.instruments, o.tape, o.minutes, (double)r.bytes / 1e6, o.runs, r.whole_ms, r.begin_ms, r.begin_max_ms,
               r.helper_ms, r.commands_per_s, r.longest_cmd_us, r.quiet_cmd_us, r.identical ? "yes" : "NO");
    return r.identical ? 0 : 1;
}
