/* cli.h - the xtrading subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 runtime failure (I/O, ...), 2 bad usage or bad input. */
#ifndef XT_CLI_H
#define XT_CLI_H

#include <stddef.h>
#include <stdint.h>

int xt_cmd_replay(int argc, char **argv);
int xt_cmd_bench(int argc, char **argv);
int xt_cmd_journal(int argc, char **argv);
int xt_cmd_serve(int argc, char **argv);
int xt_cmd_loadgen(int argc, char **argv);
int xt_cmd_wsbench(int argc, char **argv);
int xt_cmd_md(int argc, char **argv);

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

#endif
