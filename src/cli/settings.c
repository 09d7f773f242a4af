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

static int set_key(xt_server_config_t *c, const char *key, const char *val, char *why, size_t whylen)
{
    return xt_config_set(c, key, val, why, whylen) != 0 ? XT_CLI_INVALID : 0;
}

static int load_file(xt_server_config_t *c, const char *path, char *why, size_t whylen)
{
    return xt_config_load(c, path, why, whylen) != 0 ? XT_CLI_INVALID : 0;
}

/* --set SECTION.KEY=VALUE */
static int set_flag(xt_server_config_t *c, const char *v, char *why, size_t whylen)
{
    char key[128];
    const char *eq = strchr(v, '=');
    if (!eq || (size_t)(eq - v) >= sizeof key) {
        snprintf(why, whylen, "--set needs SECTION.KEY=VALUE, got '%s'", v);
        return XT_CLI_USAGE;
    }
    memcpy(key, v, (size_t)(eq - v));
    key[eq - v] = '\0';
    return set_key(c, key, eq + 1, why, whylen);
}

static int known_flag(const char *a)
{
    if (strcmp(a, "--config") == 0 || strcmp(a, "--set") == 0)
        return 1;
    for (size_t k = 0; k < sizeof flag_keys / sizeof flag_keys[0]; k++)
        if (strcmp(a, flag_keys[k][0]) == 0)
            return 1;
    return 0;
}

/* One flag and its value; XT_CLI_USAGE for an unknown one. */
static int apply(xt_server_config_t *c, const char *a, const char *v, char *why, size_t whylen)
{
    if (strcmp(a, "--config") == 0)
        return 0; /* loaded first */
    if (strcmp(a, "--set") == 0)
        return set_flag(c, v, why, whylen);
    for (size_t k = 0; k < sizeof flag_keys / sizeof flag_keys[0]; k++)
        if (strcmp(a, flag_keys[k][0]) == 0)
            return set_key(c, flag_keys[k][1], v, why, whylen);
    snprintf(why, whylen, "unknown option '%s'", a);
    return XT_CLI_USAGE;
}

/* --help or -h where a flag may stand (every flag takes a value): looked
 * for first, so that help is given even when a file does not load. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2)
        if (xt_cli_is_help(argv[i]))
            return 1;
    return 0;
}

int xt_cli_settings_read(xt_server_config_t *c, const char *file, int argc, char **argv, char *why, size_t whylen)
{
    int rc = 0;
    why[0] = '\0';
    xt_config_defaults(c);
    if (wants_help(argc, argv))
        return XT_CLI_HELP;
    for (int i = 1; i < argc; i += 2) /* bad usage is told before any file is read (status 2, not 1) */
        if (!known_flag(argv[i]) || i + 1 >= argc) {
            snprintf(why, whylen, known_flag(argv[i]) ? "%s: missing its value" : "unknown option '%s'", argv[i]);
            return XT_CLI_USAGE;
        }
    if (file && (rc = load_file(c, file, why, whylen)) != 0)
        return rc;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && (rc = load_file(c, argv[i + 1], why, whylen)) != 0)
            return rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            snprintf(why, whylen, "%s: unknown or missing its value", a);
            return XT_CLI_USAGE;
        }
        if ((rc = apply(c, a, argv[++i], why, whylen)) != 0)
            return rc;
    }
    return xt_config_check(c, why, whylen) ? XT_CLI_INVALID : 0;
}

int xt_cli_settings(xt_server_config_t *c, const char *file, int argc, char **argv, const char *prog,
                    void (*usage)(FILE *))
{
    char why[XT_CONFIG_WHY_MAX];
    int rc = xt_cli_settings_read(c, file, argc, argv, why, sizeof why);
    if (rc == XT_CLI_HELP) {
        usage(stdout);
        exit(0);
    }
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", prog, why);
    if (rc == XT_CLI_USAGE)
        usage(stderr);
    return rc;
}
