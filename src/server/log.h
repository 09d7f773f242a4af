/* log.h - the server's log (docs/config.md#log): one event per line, with
 * a time, a level, a message and key=value fields, in logfmt (default) or
 * JSON, to standard error (default) or a file opened for appending (opened
 * again on SIGHUP, for logrotate).
 *
 *   logfmt  ts=2026-11-21T10:00:00.123Z level=info msg="ready" order_entry=127.0.0.1:9001
 *   json    {"ts":"2026-11-21T10:00:00.123Z","level":"info","msg":"ready","order_entry":"127.0.0.1:9001"}
 *
 * An event is built on the caller's stack and written with one write(2),
 * so lines from several threads never interleave:
 *
 *   xt_log_ev_t e;
 *   if (xt_log_begin(&e, XT_LOG_INFO, "ready")) {
 *       xt_log_str(&e, "order_entry", addr);
 *       xt_log_u64(&e, "port", port);
 *       xt_log_end(&e);
 *   }
 *
 * Events below the configured level cost one comparison. Nothing on the
 * order path logs (at debug level neither): the server logs start-up,
 * stops, reloads, snapshots and failures. A line longer than the event
 * buffer is cut, and ends with truncated=true. Until xt_log_open the log
 * writes logfmt at info to stderr.
 */
#ifndef XT_SERVER_LOG_H
#define XT_SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { XT_LOG_DEBUG, XT_LOG_INFO, XT_LOG_WARN, XT_LOG_ERROR };
enum { XT_LOG_LOGFMT, XT_LOG_JSON };

#define XT_LOG_LINE_MAX 4096

typedef struct xt_log_ev {
    char buf[XT_LOG_LINE_MAX];
    size_t len;
    int format;
    int over; /* something did not fit */
} xt_log_ev_t;

/* From xt_log_start_writer until xt_log_stop_writer (or xt_log_close),
 * lines are copied to a ring that a thread of the log's own writes out, so
 * that a log file on a disk that hangs, or a stderr pipe whose reader is
 * away, holds no thread that logs (the gateway's event loop among them).
 * xt_log_end still waits for its line to be written - unless the writer
 * has been in one write(2) for 50 ms: then the line waits in the ring. A
 * line that finds the ring full (256 KiB behind) is lost, counted in
 * xt_log_lines_lost. thread_start (may be NULL) runs first on that thread
 * (its name, its CPUs). Returns 0, or -errno: the callers go on writing
 * their own lines. The stop writes every line in the ring first; from
 * then, callers write their own again. */
int xt_log_start_writer(void (*thread_start)(void *ctx), void *ctx);
void xt_log_stop_writer(void);

/* The level's name ("debug" .. "error"), and the level of a name (-1 when
 * none); the same for the formats ("logfmt", "json"). */
const char *xt_log_level_name(int level);
int xt_log_level_parse(const char *name);
const char *xt_log_format_name(int format);
int xt_log_format_parse(const char *name);

/* Configures the process's log: level, format, and file (NULL or "":
 * standard error). The file is opened with O_APPEND | O_CREAT, mode 0640.
 * Returns 0, or -errno or XT_ENOTFILE (not a regular file: a FIFO would
 * block) with nothing changed. */
int xt_log_open(int level, int format, const char *file);

/* Opens the file again (after logrotate moved it). Returns 0 (also when
 * logging to stderr), or -errno or XT_ENOTFILE with the old file kept. */
int xt_log_reopen(void);
/* xt_log_reopen for a SIGHUP, an error logged when it fails (the old file
 * is still written). */
void xt_log_reopen_for_sighup(void);

/* Back to the defaults (stderr, logfmt, info); closes the file. */
void xt_log_close(void);

/* Lines whose write failed since the start (xt_log_lines_lost_total). */
uint64_t xt_log_lines_lost(void);

/* 1 when an event at level would be written. */
int xt_log_enabled(int level);

/* Starts an event: 1 when it is to be written (then add fields and call
 * xt_log_end), 0 when its level is below the log's. The time is now. */
int xt_log_begin(xt_log_ev_t *e, int level, const char *msg);

/* Pure: starts an event in the given format at time ts_ns (ns since the
 * epoch, UTC) (for the tests; xt_log_begin calls it). */
void xt_log_ev_init(xt_log_ev_t *e, int format, int64_t ts_ns, int level, const char *msg);

/* Fields: a key is [A-Za-z0-9_.]+ (not checked). A string is quoted and
 * escaped as the format needs it (logfmt: quoted when empty or holding a
 * space, '=', '"', a backslash, a control character or ill-formed UTF-8), by the
 * JSON answers' escaper (xt_md_json_char): ill-formed UTF-8 becomes
 * \ufffd, so a line is always valid UTF-8. Numbers and booleans are bare. */
void xt_log_str(xt_log_ev_t *e, const char *key, const char *value);
void xt_log_u64(xt_log_ev_t *e, const char *key, uint64_t value);
void xt_log_i64(xt_log_ev_t *e, const char *key, int64_t value);
void xt_log_bool(xt_log_ev_t *e, const char *key, int value);

/* Pure: ends the line ('\n'; JSON: "}\n"). Returns its length. */
size_t xt_log_ev_finish(xt_log_ev_t *e);

/* Finishes the event and writes it with one write(2). */
void xt_log_end(xt_log_ev_t *e);

/* An event with only a message. */
void xt_log(int level, const char *msg);

#endif
