/* main.c - the xtrading binary: dispatches to subcommands. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

#ifndef XT_VERSION
#define XT_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading <command> [options]\n"
               "\n"
               "commands:\n"
               "  replay [--book] [FILE]   run a replay-format command file through the engine\n"
               "                           (--journal DIR: durably, recovering DIR first)\n"
               "  journal dump|verify|stats|repair DIR\n"
               "                           inspect, check or repair a data directory\n"
               "  serve [--config FILE]    run the order-entry server (embedded defaults without a config)\n"
               "  config check FILE        validate a config (as serve would), print the effective settings\n"
               "  admin COMMAND [ARGS]     a running server's admin socket: sessions, kick, halt, resume,\n"
               "                           mass-cancel, snapshot, stats, instruments (docs/admin.md)\n"
               "  md rebuild|dump          K-line history: regenerate it from the journal, print a file\n"
               "  loadgen [options]        drive a server with many connections, measure acks\n"
               "  wsbench [options]        many market-data WebSocket clients: delivered/s, latency, memory\n"
               "  bench engine|journal|fills|mdstate|echo\n"
               "                           the benchmarks (docs/bench.md)\n"
               "  version                  print the version\n"
               "  help                     this text\n"
               "\n"
               "Run 'xtrading <command> --help' for a command's options; docs/cli.md has them all.\n");
}

/* The command's name in the parsers' messages: "xtrading journal dump",
 * as the command's own messages say it (main sets it). */
static char prog[64] = "xtrading";

int xt_cli_parse_u32(const char *opt, const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || *s == '\0' || *s == '-' || *end != '\0' || errno || v == 0 || v > 0xffffffffUL) {
        fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", prog, opt, s ? s : "");
        return 0;
    }
    *out = (unsigned)v;
    return 1;
}

int xt_cli_parse_hostport(const char *opt, const char *v, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon = v ? strrchr(v, ':') : NULL;
    char *end;
    unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || colon == v || (size_t)(colon - v) >= host_cap || colon[1] == '\0' || *end || p == 0 || p > 65535) {
        fprintf(stderr, "%s: %s needs HOST:PORT, got '%s'\n", prog, opt, v ? v : "");
        return 0;
    }
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    *port = (uint16_t)p;
    return 1;
}

uint64_t xt_cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

int xt_cli_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int xt_cli_given_twice(const char *command, const char *opt)
{
    fprintf(stderr, "%s: %s given twice; each option is taken once\n", command, opt);
    return XT_CLI_USAGE;
}

int xt_cli_parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || *s < '0' || *s > '9' || *end != '\0' || errno || v == 0) {
        fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", prog, opt, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

/* --help or -h after options: the command's words before its first option
 * and the help alone, so that help is printed wherever it stands
 * (docs/cli.md) - even after an option a command would refuse first, or
 * take the help as its value. Returns the new argc (argv rewritten in
 * place), or argc unchanged. */
static int help_after_options(int argc, char **argv)
{
    int first_opt = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return argc; /* what follows is arguments, not options (admin halt -- --help) */
        /* admin: "-h" after its command is a symbol (cli.md), only --help is help */
        if (xt_cli_is_help(argv[i]) && !(strcmp(argv[1], "admin") == 0 && strcmp(argv[i], "-h") == 0)) {
            if (!first_opt || first_opt == i)
                return argc; /* no option before it: the command sees it as it is */
            argv[first_opt] = argv[i];
            argv[first_opt + 1] = NULL;
            return first_opt + 1;
        }
        if (!first_opt && argv[i][0] == '-' && argv[i][1] != '\0')
            first_opt = i;
    }
    return argc;
}

/* An option given twice, as `replay --journal A --journal B`: the index of
 * the second, else 0. The last one was taken without a word, and the
 * operator may well think the commands went into A (a probe's). Not asked
 * when help is (printed wherever it stands). Options end at "--"; values
 * do not start with "--". */
static int repeated_option(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (xt_cli_is_help(argv[i]))
            return 0;
        for (int j = 2; j < i && strncmp(argv[i], "--", 2) == 0; j++)
            if (strcmp(argv[i], argv[j]) == 0)
                return i;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* A write past the file-size limit (RLIMIT_FSIZE) fails EFBIG, as a
     * full disk fails ENOSPC, and is handled as one (the journal fails
     * closed, a snapshot fails and says why): SIGXFSZ's own action killed
     * the process, not a word logged. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    argc = help_after_options(argc, argv);
    const char *cmd = argv[1];
    int sub = (strcmp(cmd, "journal") == 0 || strcmp(cmd, "md") == 0 || strcmp(cmd, "bench") == 0) && argc > 2 &&
              argv[2][0] != '-';
    snprintf(prog, sizeof prog, "xtrading %.20s%s%.20s", cmd, sub ? " " : "", sub ? argv[2] : "");
    /* serve and config check layer their settings in order (cli.md), as
     * --set does; admin's loop checks its own options (its command's words
     * are the server's) */
    int again = strcmp(cmd, "serve") != 0 && strcmp(cmd, "config") != 0 && strcmp(cmd, "admin") != 0
                    ? repeated_option(argc, argv)
                    : 0;
    if (again)
        return xt_cli_given_twice(prog, argv[again]);
    if (strcmp(cmd, "replay") == 0)
        return xt_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return xt_cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "journal") == 0)
        return xt_cmd_journal(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return xt_cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "config") == 0)
        return xt_cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "admin") == 0)
        return xt_cmd_admin(argc - 1, argv + 1);
    if (strcmp(cmd, "md") == 0)
        return xt_cmd_md(argc - 1, argv + 1);
    if (strcmp(cmd, "loadgen") == 0)
        return xt_cmd_loadgen(argc - 1, argv + 1);
    if (strcmp(cmd, "wsbench") == 0)
        return xt_cmd_wsbench(argc - 1, argv + 1);
    int version = strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0;
    int help = strcmp(cmd, "help") == 0 || xt_cli_is_help(cmd);
    int asked_help = 0;
    for (int i = 2; i < argc; i++)
        asked_help |= xt_cli_is_help(argv[i]);
    if ((version || help) && argc > 2 && !asked_help) { /* (taken and ignored before) */
        fprintf(stderr, "xtrading %s: takes no arguments, got '%s'\n\n", version ? "version" : "help", argv[2]);
        usage(stderr);
        return 2;
    }
    if (version && argc == 2) {
        printf("xtrading %s\n", XT_VERSION);
        return 0;
    }
    if (version || help) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "xtrading: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
