/* cli.h - the xtrading subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 runtime failure (I/O, ...), 2 bad usage or bad input. */
#ifndef XT_CLI_H
#define XT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/config.h"

int xt_cmd_replay(int argc, char **argv);
int xt_cmd_bench(int argc, char **argv);
int xt_cmd_bench_fills(int argc, char **argv);   /* cmd_bench_state.c */
int xt_cmd_bench_mdstate(int argc, char **argv); /* cmd_bench_state.c */
int xt_cmd_journal(int argc, char **argv);
int xt_cmd_serve(int argc, char **argv);
int xt_cmd_loadgen(int argc, char **argv);
int xt_cmd_wsbench(int argc, char **argv);
int xt_cmd_md(int argc, char **argv);
int xt_cmd_config(int argc, char **argv);
int xt_cmd_admin(int argc, char **argv);

/* xt_cli_settings results besides 0 - the exit statuses of `config check`. */
#define XT_CLI_INVALID 1 /* a setting or file that is not valid (message printed) */
#define XT_CLI_USAGE 2   /* an unknown flag, a flag without its value (usage printed) */
#define XT_CLI_HELP 3    /* xt_cli_settings_read: --help was given */

/* The server's settings as `serve` takes them (settings.c): c = the
 * embedded defaults, then `file` (if not NULL), then every `--config FILE`
 * in argv, then the flags (--set SECTION.KEY=VALUE, --listen, --data, ...)
 * in order. argv[0] is skipped. Errors are printed prefixed with `prog`;
 * --help prints usage(stdout) and exits 0. Returns 0, XT_CLI_INVALID or
 * XT_CLI_USAGE. */
int xt_cli_settings(xt_server_config_t *c, const char *file, int argc, char **argv, const char *prog,
                    void (*usage)(FILE *));
/* The same without printing (SIGHUP's reload): the message, without a
 * prefix, in why. Returns 0, XT_CLI_INVALID, XT_CLI_USAGE or XT_CLI_HELP. */
int xt_cli_settings_read(xt_server_config_t *c, const char *file, int argc, char **argv, char *why, size_t whylen);

/* Parses a positive 32-bit count for option `opt`; prints an error and
 * returns 0 when it does not parse. */
int xt_cli_parse_u32(const char *opt, const char *s, unsigned *out);

/* Parses HOST:PORT for option `opt` (port 1..65535, host shorter than
 * host_cap); prints an error and returns 0 when it does not parse. */
int xt_cli_parse_hostport(const char *opt, const char *v, char *host, size_t host_cap, uint16_t *port);

/* Raises the open-file limit to the hard limit; returns the limit now. */
uint64_t xt_cli_raise_nofile(void);

/* The same for a positive 64-bit number (sequence numbers, sizes). */
int xt_cli_parse_u64(const char *opt, const char *s, uint64_t *out);

/* Is argument a "--help" or "-h"? */
int xt_cli_is_help(const char *a);

/* Says that command's option opt was given twice (cli.md: each option is
 * taken once); returns the usage status, XT_CLI_USAGE. */
int xt_cli_given_twice(const char *command, const char *opt);

#endif
