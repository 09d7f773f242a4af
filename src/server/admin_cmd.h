/* admin_cmd.h - the admin socket's request line (docs/admin.md), parsed
 * from untrusted bytes into a command. Pure: no I/O, no allocation.
 *
 *   help | sessions [ACCOUNT] | kick ACCOUNT SESSION | halt SYMBOL |
 *   resume SYMBOL | mass-cancel ACCOUNT [SYMBOL] | snapshot | stats |
 *   instruments [SYMBOL]
 *
 * Words are separated by spaces or tabs; a trailing CR is ignored. Numbers
 * are decimal digits, 1..4294967295. A symbol is 1..16 bytes of
 * [A-Za-z0-9._-] (whether it names an instrument is for the caller).
 */
#ifndef XT_SERVER_ADMIN_CMD_H
#define XT_SERVER_ADMIN_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "xt/types.h"

enum {
    XT_ADM_HELP = 1,
    XT_ADM_SESSIONS,
    XT_ADM_KICK,
    XT_ADM_HALT,
    XT_ADM_RESUME,
    XT_ADM_MASS_CANCEL,
    XT_ADM_SNAPSHOT,
    XT_ADM_STATS,
    XT_ADM_INSTRUMENTS,
    XT_ADM_OPS_ /* one past the last */
};

#define XT_ADMIN_LINE_MAX 1024 /* bytes of a request line, without its newline */

typedef struct xt_admin_cmd {
    int op;                         /* XT_ADM_* */
    uint32_t account;               /* kick, mass-cancel; sessions: 0 for all accounts */
    uint32_t session;               /* kick */
    char symbol[XT_SYMBOL_MAX + 1]; /* halt, resume, mass-cancel, instruments; "" when not given */
} xt_admin_cmd_t;

/* Parses line[0..len) (no newline; NUL bytes are just bad bytes). Returns 0
 * with *out set, or -1 with a one-line reason in why (printable ASCII
 * only: it quotes no more of the input than a command word or argument
 * that is itself printable ASCII). */
int xt_admin_parse(const char *line, size_t len, xt_admin_cmd_t *out, char *why, size_t whylen);

/* The command's name ("sessions", "mass-cancel", ...), or "?". */
const char *xt_admin_op_name(int op);
/* Its usage line ("kick ACCOUNT SESSION"), or "?". */
const char *xt_admin_op_usage(int op);

#endif
