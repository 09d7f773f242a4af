/* replay.h - the replay text format: one command per line in, one event per
 * line out. Specified in docs/replay-format.md.
 *
 * Pure functions over caller buffers: parsing a line needs nothing but the
 * line; turning it into an engine command needs the engine only to look up
 * symbols, ticks and lots (read-only).
 */
#ifndef XT_PROTO_REPLAY_H
#define XT_PROTO_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "xt/engine.h"

typedef enum xt_replay_kind {
    XT_RL_BLANK = 0, /* blank or comment-only line */
    XT_RL_INSTRUMENT,
    XT_RL_NEW,
    XT_RL_CANCEL,
    XT_RL_AMEND,
    XT_RL_SESSION_END,
} xt_replay_kind_t;

/* A parsed line, decimals as written. */
typedef struct xt_replay_line {
    int kind; /* xt_replay_kind_t */
    xt_instrument_def_t def;
    int64_t id;
    uint32_t account;
    uint32_t session;               /* SESSION_END */
    char symbol[XT_SYMBOL_MAX + 1]; /* NEW; empty if the token cannot be a symbol */
    uint8_t side, type, tif, stp;
    uint8_t has_price; /* 0 for "-" */
    xt_decimal_t price;
    xt_decimal_t qty;
} xt_replay_line_t;

#define XT_REPLAY_ERRSZ 128
#define XT_REPLAY_MAX_LINE 4096 /* bytes, without the newline */

/* Parses line[0..len) (no newline needed; a trailing '\r' is ignored).
 * Returns 0 and fills `out`, or XT_EPARSE / XT_ERANGE with a message in
 * err (XT_REPLAY_ERRSZ bytes). */
int xt_replay_parse(const char *line, size_t len, xt_replay_line_t *out, char *err);

/* Builds the engine command for a parsed line (kind != BLANK): resolves the
 * symbol (or the amended order's instrument) and converts decimals into
 * ticks and lots, using the XT_PRICE_* / XT_QTY_* sentinels where they do
 * not convert. cmd->seq and cmd->ts are left 0 for the caller. */
void xt_replay_to_cmd(const xt_engine_t *e, const xt_replay_line_t *l, xt_cmd_t *cmd);

/* Formats one event as a replay output line with its '\n' into buf (at
 * least XT_REPLAY_LINESZ bytes). Returns the length, or 0 for events the
 * format does not print (BOOK, INSTRUMENT). `e` supplies symbols, ticks
 * and lots. */
#define XT_REPLAY_LINESZ 256
size_t xt_replay_format_event(const xt_engine_t *e, const xt_event_t *ev, char *buf);

/* Formats a command as a replay-format line with its '\n' (at most
 * XT_REPLAY_LINESZ bytes with the NUL), such that replaying it gives the
 * same engine command: e is the engine *before* cmd is applied (it supplies
 * symbols, ticks, lots, and an amended order's instrument). Sentinels print
 * as values that break the same rule at the same check: a missing price as
 * "-", an unconvertible price or quantity as "0", an unknown instrument as
 * "?". A SESSION_END (gateway bookkeeping: it only takes its sequence
 * number) prints as "SESSION_END account session". Returns the length. */
size_t xt_replay_format_cmd(const xt_engine_t *e, const xt_cmd_t *cmd, char *buf);

/* Parses one line and applies it to the engine: the whole of what the
 * replay tool does per line. Blank and comment lines do nothing. A command
 * gets sequence number ++*seq and timestamp ts. Returns 0, or XT_EPARSE /
 * XT_ERANGE / an engine error with the message for "line N: <reason>" in
 * err (XT_REPLAY_ERRSZ bytes); then nothing was applied and *seq is
 * unchanged. Events go to the engine's sink as usual. */
int xt_replay_apply_line(xt_engine_t *e, const char *line, size_t len, uint64_t *seq, int64_t ts, char *err);

/* The first half of xt_replay_apply_line, for callers that apply commands
 * their own way (through a journal): checks and parses one line and, unless
 * it is blank (*kind == XT_RL_BLANK), converts it into cmd (seq and ts left
 * to the caller). Returns 0, or XT_EPARSE / XT_ERANGE with err filled. */
int xt_replay_line_cmd(const xt_engine_t *e, const char *line, size_t len, xt_cmd_t *cmd, int *kind, char *err);

/* The message for an engine error on a line of this kind ("instrument
 * defined again with another tick, ...", ...), as xt_replay_apply_line writes it. */
const char *xt_replay_apply_error(int kind, int rc);

/* Output sink for the book listing. */
typedef void (*xt_replay_write_fn)(void *ctx, const char *p, size_t n);

/* Writes the final books as BOOK lines: instruments in byte order of
 * symbol, bids best first then asks best first, one line per level with
 * its orders in queue order. Returns 0 or XT_ENOMEM. */
int xt_replay_write_books(const xt_engine_t *e, xt_replay_write_fn write, void *ctx);

#endif
