/* cli.h - the xtrading subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 runtime failure (I/O, ...), 2 bad usage or bad input. */
#ifndef XT_CLI_H
#define XT_CLI_H

#include <stdint.h>

int xt_cmd_replay(int argc, char **argv);
int xt_cmd_bench(int argc, char **argv);
int xt_cmd_journal(int argc, char **argv);
int xt_cmd_serve(int argc, char **argv);
int xt_cmd_loadgen(int argc, char **argv);
int xt_cmd_wsbench(int argc, char **argv);

/* Parses a positive 32-bit count for option `opt`; prints an error and
 * returns 0 when it does not parse. */
int xt_cli_parse_u32(const char *opt, const char *s, unsigned *out);

/* The same for a positive 64-bit number (sequence numbers, sizes). */
int xt_cli_parse_u64(const char *opt, const char *s, uint64_t *out);

#endif
