/* md_cmd.h - the WebSocket market-data commands (docs/websocket.md), parsed
 * with jansson:
 *
 *   {"op":"subscribe","id":1,"args":["depth20.600519.SH","trades.BTC-USDT"]}
 *   {"op":"unsubscribe","id":2,"args":[...]}   {"op":"snapshot","id":3,"args":[...]}
 *   {"op":"list","id":4}                        {"op":"ping","id":5}
 *   {"op":"stats","id":6}
 *
 * `id` is optional: an integer (|id| <= 2^53) or a string of up to 64 bytes
 * (of UTF-8: the limit is on what the client sent, not on its escaped echo),
 * echoed in the answer. Pure: no I/O; fuzzed by fuzz_mdcmd.
 */
#ifndef XT_SERVER_MD_CMD_H
#define XT_SERVER_MD_CMD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { XT_MDOP_SUBSCRIBE = 1, XT_MDOP_UNSUBSCRIBE, XT_MDOP_SNAPSHOT, XT_MDOP_LIST, XT_MDOP_PING, XT_MDOP_STATS };

#define XT_MDCMD_MAX_ARGS 64
#define XT_MDCMD_ARG_MAX 64
/* The id as JSON text: a string of 64 bytes escaped, at worst 6 characters
 * each ("\u0001"), its quotes and the NUL. */
#define XT_MDCMD_ID_MAX (64 * 6 + 3)

typedef struct xt_md_cmd {
    int op;
    char id[XT_MDCMD_ID_MAX]; /* the id as JSON text ("7", "\"abc\""), or "null" */
    uint32_t n_args;
    char args[XT_MDCMD_MAX_ARGS][XT_MDCMD_ARG_MAX];
} xt_md_cmd_t;

/* Parses one command. Returns 0, or -1 with a message for the client in
 * why (and cmd->id set when the id itself could be read). */
int xt_md_cmd_parse(const char *text, size_t len, xt_md_cmd_t *cmd, char *why, size_t whylen);
/* The same from a command already parsed (the caller keeps root). */
int xt_md_cmd_read(json_t *root, xt_md_cmd_t *cmd, char *why, size_t whylen);
/* A command's id member (NULL: absent) as the JSON text answers echo
 * ("7", "\"abc\"", "null"). Returns 0, or -1 when it is neither an integer
 * (|id| <= 2^53) nor a string of up to 64 bytes. */
int xt_md_cmd_id(json_t *id, char out[XT_MDCMD_ID_MAX]);

/* A channel name: KIND.SYMBOL[@100ms|@1000ms] with KIND one of bbo depth5
 * depth10 depth20 depth trades ticker timeline kline.<interval>. Returns
 * the kind (XT_CH_*), sets *sym / *sym_len to the symbol part and
 * *throttle to 0 (live), 1 (@100ms) or 2 (@1000ms); or returns -1. */
int xt_md_channel_parse(const char *name, const char **sym, size_t *sym_len, int *throttle);

#endif
