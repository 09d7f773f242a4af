/* settings.c - the server's settings from the command line: the embedded
 * defaults, then config files, then the flags in order (docs/config.md).
 * One code path for `xtrading serve` and `xtrading config check`, so that
 * a check accepts exactly what the server would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The dedicated flags and the key each one sets. */
static const char *const flag_keys[][2] = {
    {"--data", "journal.dir"},
    {"--listen", "server.listen"},
    {"--md-listen", "md.listen"},
    {"--md-tcp-listen", "md.tcp_listen"},
    {"--credentials", "server.credentials"},
    {"--fsync", "journal.fsync"},
};

static int set_key(xt_server_config_t *c, const char *prog, const char *key, const char *val)
{
    char why[512] = "";
    if (xt_config_set(c, key, val, why, sizeof why) != 0) {
        fprintf(stderr, "%s: %s\n", prog, why);
        return XT_CLI_INVALID;
    }
    return 0;
}

static int load_file(xt_server_config_t *c, const char *prog, const char *path)
{
    char why[1024] = "";
    if (xt_config_load(c, path, why, sizeof why) != 0) {
        fprintf(stderr, "%s: %s\n", prog, why);
        return XT_CLI_INVALID;
    }
    return 0;
}

/* --set SECTION.KEY=VALUE */
static int set_flag(xt_server_config_t *c, const char *prog, const char *v)
{
    char key[128];
    const char *eq = strchr(v, '=');
    if (!eq || (size_t)(eq - v) >= sizeof key) {
        fprintf(stderr, "%s: --set needs SECTION.KEY=VALUE, got '%s'\n", prog, v);
        return XT_CLI_USAGE;
    }
    memcpy(key, v, (size_t)(eq - v));
    key[eq - v] = '\0';
    return set_key(c, prog, key, eq + 1);
}

/* One flag and its value; XT_CLI_USAGE for an unknown one. */
static int apply(xt_server_config_t *c, const char *prog, const char *a, const char *v)
{
    if (strcmp(a, "--config") == 0)
        return 0; /* loaded first */
    if (strcmp(a, "--set") == 0)
        return set_flag(c, prog, v);
    for (size_t k = 0; k < sizeof flag_keys / sizeof flag_keys[0]; k++)
        if (strcmp(a, flag_keys[k][0]) == 0)
            return set_key(c, prog, flag_keys[k][1], v);
    fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
    return XT_CLI_USAGE;
}

int xt_cli_settings(xt_server_config_t *c, const char *file, int argc, char **argv, const char *prog,
                    void (*usage)(FILE *))
{
    int rc = 0;
    xt_config_defaults(c);
    if (file && (rc = load_file(c, prog, file)) != 0)
        return rc;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && (rc = load_file(c, prog, argv[i + 1])) != 0)
            return rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s: unknown or missing its value\n", prog, a);
            usage(stderr);
            return XT_CLI_USAGE;
        }
        if ((rc = apply(c, prog, a, argv[++i])) != 0) {
            if (rc == XT_CLI_USAGE)
                usage(stderr);
            return rc;
        }
    }
    return 0;
}
