/* start_signals.h - the signals `serve` takes while its gateway, which
 * takes every one of them from its own signalfd while the server runs,
 * does not:
 * - while it starts (recovery may take minutes), SIGTERM and SIGINT: a
 *   thread of its own takes them from a signalfd, logs the stop and ends
 *   the process with status 0, as a stop after the start would; what
 *   recovery has written is crash-safe, and the next start recovers again.
 *   SIGHUP and SIGUSR1 are held for the gateway.
 * - once its loop has ended, while the stop waits for the engine, market
 *   data's state and the final snapshot (seconds on a big book), SIGHUP:
 *   the thread opens log.file again (logrotate's postrotate) and says
 *   nothing was reloaded, as the gateway does for one during its drain.
 *   The rest stay pending: the stop is under way. */
#ifndef XT_SERVER_START_SIGNALS_H
#define XT_SERVER_START_SIGNALS_H

#include <pthread.h>

typedef struct xt_start_signals {
    pthread_t thread;
    int sfd, efd, on;
    int stopping; /* the stop's watch (xt_stop_signals_watch) */
} xt_start_signals_t;

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the calling thread (the
 * threads it starts later inherit that); first thing, before anything
 * that takes time. */
void xt_start_signals_block(void);
/* Starts the thread (after the log is open: it logs). Without it (no
 * thread, no descriptor) a SIGTERM waits for the gateway, as SIGHUP does. */
void xt_start_signals_watch(xt_start_signals_t *w);
/* Starts the stop's thread (SIGHUP), once the gateway's loop has ended.
 * Without it a SIGHUP waits for the gateway's last look (a warning only). */
void xt_stop_signals_watch(xt_start_signals_t *w);
/* Stops and joins the thread; a SIGTERM it has not taken stays pending for
 * the gateway. Twice, or without a watch (a zeroed one, or one whose
 * thread did not start), is fine. */
void xt_start_signals_end(xt_start_signals_t *w);

#endif
