/* start_signals.c - see start_signals.h. */
#include "start_signals.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

static void held(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

void xt_start_signals_block(void)
{
    sigset_t set;
    held(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *watch(void *arg)
{
    xt_start_signals_t *w = arg;
    struct pollfd p[2] = {{.fd = w->sfd, .events = POLLIN}, {.fd = w->efd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0)
            continue; /* EINTR: every signal is blocked here */
        if (p[1].revents)
            return NULL;
        struct signalfd_siginfo si;
        if (!p[0].revents || read(w->sfd, &si, sizeof si) != (ssize_t)sizeof si)
            continue;
        if (w->stopping) { /* SIGHUP */
            xt_log_reopen_for_sighup();
            xt_log_ev_t e;
            if (xt_log_begin(&e, XT_LOG_WARN, "SIGHUP during the stop: nothing reloaded"))
                xt_log_end(&e);
            continue;
        }
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_WARN,
                         "stopped during the start: recovery did not finish; the next start recovers again")) {
            xt_log_str(&e, "signal", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            xt_log_end(&e);
        }
        _exit(0); /* at once, as the signal's own action did: the journal's files are crash-safe */
    }
}

static void start(xt_start_signals_t *w, int stopping)
{
    w->on = 0;
    w->stopping = stopping;
    w->sfd = w->efd = -1;
    sigset_t take;
    sigemptyset(&take);
    if (stopping) {
        sigaddset(&take, SIGHUP);
    } else {
        sigaddset(&take, SIGTERM);
        sigaddset(&take, SIGINT);
    }
    w->sfd = signalfd(-1, &take, SFD_CLOEXEC);
    w->efd = eventfd(0, EFD_CLOEXEC);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal but through its signalfd */
    w->on = w->sfd >= 0 && w->efd >= 0 && pthread_create(&w->thread, NULL, watch, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (w->on)
        return;
    if (w->sfd >= 0)
        close(w->sfd);
    if (w->efd >= 0)
        close(w->efd);
    w->sfd = w->efd = -1;
}

void xt_start_signals_watch(xt_start_signals_t *w)
{
    start(w, 0);
}

void xt_stop_signals_watch(xt_start_signals_t *w)
{
    start(w, 1);
}

void xt_start_signals_end(xt_start_signals_t *w)
{
    if (!w->on) /* never started (a zeroed one too), or ended */
        return;
    uint64_t one = 1;
    while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR) /* a fresh eventfd takes it */
        ;
    pthread_join(w->thread, NULL);
    w->on = 0;
    close(w->sfd);
    close(w->efd);
    w->sfd = w->efd = -1;
}
