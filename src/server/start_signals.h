/* start_signals.h - SIGTERM and SIGINT while `serve` starts (recovery may
 * take minutes): a thread of its own takes them from a signalfd, logs the
 * stop and ends the process with status 0, as a stop after the start
 * would; what recovery has written is crash-safe, and the next start
 * recovers again. SIGHUP and SIGUSR1 are held for the gateway, which takes
 * every one of the four from its own signalfd once the server runs. */
#ifndef XT_SERVER_START_SIGNALS_H
#define XT_SERVER_START_SIGNALS_H

#include <pthread.h>

typedef struct xt_start_signals {
    pthread_t thread;
    int sfd, efd, on;
} xt_start_signals_t;

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the calling thread (the
 * threads it starts later inherit that); first thing, before anything
 * that takes time. */
void xt_start_signals_block(void);
/* Starts the thread (after the log is open: it logs). Without it (no
 * thread, no descriptor) a SIGTERM waits for the gateway, as SIGHUP does. */
void xt_start_signals_watch(xt_start_signals_t *w);
/* Stops and joins the thread; a SIGTERM it has not taken stays pending for
 * the gateway. Twice, or without a watch, is fine. */
void xt_start_signals_end(xt_start_signals_t *w);

#endif
