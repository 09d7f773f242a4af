/* cmd_config.c - xtrading config check FILE: loads and validates a config
 * exactly as `serve` does (xt_cli_settings, then the credentials file) and
 * prints the effective settings in the config file format, so that the
 * output is itself a config giving the same settings (docs/cli.md). No
 * socket is opened and the data directory is not touched. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "server/credentials.h"
#include "xt/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading config check FILE [--data DIR] [--listen HOST:PORT] [--md-listen HOST:PORT]\n"
               "                             [--md-tcp-listen HOST:PORT|off] [--credentials FILE]\n"
               "                             [--fsync POLICY] [--set SECTION.KEY=VALUE ...]\n"
               "\n"
               "Validates FILE and the flags as 'xtrading serve --config FILE ...' would, reads the\n"
               "credentials file it names, and prints the effective settings as a config file.\n"
               "Status: 0 valid, 1 not valid (FILE:LINE: what), 2 bad usage.\n");
}

/* The credentials file, read and checked as the server reads it. */
static int check_credentials(const xt_server_config_t *c)
{
    if (c->credentials[0] == '\0')
        return 0;
    xt_creds_t creds;
    char why[XT_CONFIG_WHY_MAX] = "";
    memset(&creds, 0, sizeof creds);
    int rc = xt_creds_load(&creds, c->credentials, why, sizeof why);
    xt_creds_free(&creds);
    if (rc != 0) {
        fprintf(stderr, "xtrading config: %s\n", why[0] ? why : "credentials: cannot be read");
        return XT_CLI_INVALID;
    }
    return 0;
}

/* log.file as serve would open it (appending, created if missing), without
 * creating it: its directory must let the server create it, an existing
 * one be a file it may write. */
static int check_log_file(const xt_server_config_t *c)
{
    const char *f = c->log_file;
    if (f[0] == '\0')
        return 0;
    char dir[sizeof c->log_file];
    snprintf(dir, sizeof dir, "%s", f);
    struct stat st;
    const char *why = NULL;
    if (stat(f, &st) == 0)
        why = S_ISDIR(st.st_mode)                            ? "is a directory"
              : !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) ? "is a FIFO, socket or block device (serve needs a file)"
              : access(f, W_OK) != 0                         ? strerror(errno)
                                                             : NULL;
    else if (errno != ENOENT)
        why = strerror(errno);
    else if (access(dirname(dir), W_OK | X_OK) != 0)
        why = errno == ENOENT || errno == ENOTDIR ? "its directory does not exist" : "its directory cannot be written";
    if (!why)
        return 0;
    fprintf(stderr, "xtrading config: log.file %s: %s\n", f, why);
    return XT_CLI_INVALID;
}

static int check(int argc, char **argv)
{
    static xt_server_config_t cfg;
    /* argv[0] is "check"; FILE comes first, the flags after it. */
    if (argc >= 2 && xt_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        fprintf(stderr, "xtrading config check: needs a FILE\n");
        usage(stderr);
        return XT_CLI_USAGE;
    }
    int rc = xt_cli_settings(&cfg, argv[1], argc - 1, argv + 1, "xtrading config", usage);
    if (rc == 0)
        rc = check_credentials(&cfg);
    if (rc == 0)
        rc = check_log_file(&cfg);
    if (rc != 0)
        return rc;
    xt_config_print(&cfg, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("xtrading config: standard output");
        return 1;
    }
    return 0;
}

int xt_cmd_config(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return check(argc - 1, argv + 1);
    if (argc >= 2 && xt_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "xtrading config: unknown or missing subcommand%s%s\n", argc >= 2 ? " " : "",
            argc >= 2 ? argv[1] : "");
    usage(stderr);
    return XT_CLI_USAGE;
}
