/* disk_watch.c - see disk_watch.h. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): pthread_timedjoin_np */
#include "disk_watch.h"

#include <pthread.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cpus.h"
#include "server.h"

static void sample(xt_disk_watch_t *w)
{
    struct statvfs v;
    uint64_t free_bytes = w->s->cfg.disk_free_bytes /* debug.disk_free_bytes */ ? w->s->cfg.disk_free_bytes
                          : statvfs(w->s->cfg.data_dir, &v) == 0                ? (uint64_t)v.f_bavail * v.f_frsize
                                                                                : UINT64_MAX;
    atomic_store_explicit(&w->free_bytes, free_bytes, memory_order_relaxed);
}

static void *watch_main(void *arg)
{
    xt_disk_watch_t *w = arg;
    xt_cpus_helper(w->s->cpus, "disk");
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_sec += 1;
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &at) == 0)
            ; /* woken early: only a stop ends the wait */
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        sample(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void xt_disk_watch_start(xt_disk_watch_t *w, const xt_server_t *s)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    sample(w);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    w->on = pthread_create(&w->thread, NULL, watch_main, w) == 0;
}

uint64_t xt_disk_watch_free(const xt_disk_watch_t *w)
{
    return atomic_load_explicit(&w->free_bytes, memory_order_relaxed);
}

void xt_disk_watch_stop(xt_disk_watch_t *w)
{
    if (!w->on)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->on = 0;
    /* A thread held by a hung filesystem is left to the process's exit:
     * the stop does not wait on it (its state, in the server's, lives on). */
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += 1;
    if (pthread_timedjoin_np(w->thread, NULL, &at) != 0) {
        pthread_detach(w->thread);
        return;
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}
