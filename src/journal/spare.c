/* spare.c - the next journal segment, preallocated (see spare.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): pthread_setname_np */
#include "spare.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Zeros are written from here (never written to: the pages stay the
 * kernel's shared zero page, no memory), one chunk at a time. */
static uint8_t zeros[1u << 18];

/* Has the thread been told to stop? (A spare half made is then dropped,
 * so that a clean stop does not wait for a segment of zeros.) */
static int stopping(xt_spare_t *s)
{
    if (s->mode != XT_SPARE_THREAD)
        return 0;
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Writes the spare: s->size zeros, synced. Each chunk is written back
 * and waited for before the next (sync_file_range), so that the disk sees
 * a trickle, not a burst that the journal's own syncs would queue behind:
 * with 4 MiB steps a journal sync's p99 rose from 0.45 to 1.8 ms while a
 * spare was written, with 256 KiB steps it did not (bench/RESULTS.md).
 * Returns 0 or -errno. */
static int make(xt_spare_t *s)
{
    int fd = s->io->open(s->io, s->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    int rc = 0;
    for (off_t at = 0; rc == 0 && at < s->size;) {
        size_t n = s->size - at < (off_t)sizeof zeros ? (size_t)(s->size - at) : sizeof zeros;
        rc = stopping(s) ? -ECANCELED : xt_io_pwrite_all(s->io, fd, zeros, n, at);
        if (rc == 0 && s->io->writeback)
            s->io->writeback(s->io, fd, at, (off_t)n, 1);
        at += (off_t)n;
    }
    if (rc == 0)
        rc = s->io->fdatasync(s->io, fd);
    int crc = s->io->close(s->io, fd);
    if (rc == 0)
        rc = crc;
    if (rc)
        s->io->unlink(s->io, s->path);
    return rc;
}

/* A rolled segment's last step: its pages dropped (with drop), closed. */
static void release(xt_spare_t *s, int fd)
{
    if (s->drop)
        s->io->drop_cache(s->io, fd); /* advice: a failure loses nothing */
    s->io->close(s->io, fd);
}

static void *run(void *arg)
{
    xt_spare_t *s = arg;
    pthread_setname_np(pthread_self(), "xt-spare"); /* in top, perf and /proc/PID/task */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->want && !s->stop && s->n_retired == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->n_retired) { /* first: the spare then takes the pages they free */
            int fds[XT_SPARE_RETIRED], n = s->n_retired;
            memcpy(fds, s->retired, sizeof fds);
            s->n_retired = 0;
            pthread_mutex_unlock(&s->mu);
            for (int i = 0; i < n; i++)
                release(s, fds[i]);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->stop)
            break;
        s->want = 0;
        if (s->ready) /* one is there, perhaps being renamed in: never write over it */
            continue;
        s->busy = 1;
        pthread_mutex_unlock(&s->mu);
        int rc = make(s);
        pthread_mutex_lock(&s->mu);
        s->busy = 0;
        s->err = rc;
        if (rc == 0) {
            s->ready = 1;
            s->made++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void make_inline(xt_spare_t *s)
{
    s->err = make(s);
    if (s->err == 0) {
        s->ready = 1;
        s->made++;
    }
}

int xt_spare_start(xt_spare_t *s, xt_io_t *io, const char *dir, off_t size, int mode, int drop)
{
    memset(s, 0, sizeof *s); /* mode XT_SPARE_OFF until it is started */
    s->io = io;
    s->size = size;
    s->drop = mode != XT_SPARE_OFF && drop && io->drop_cache; /* else closed where it was, as before */
    int k = snprintf(s->path, sizeof s->path, "%s/%s", dir, XT_SPARE_FILE);
    if (k < 0 || (size_t)k >= sizeof s->path)
        return -ENAMETOOLONG;
    io->unlink(io, s->path); /* an earlier run's: how far it was made is unknown */
    if (mode == XT_SPARE_OFF)
        return 0;
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->want = 1;
    if (mode == XT_SPARE_INLINE) {
        s->want = 0;
        make_inline(s);
        return 0;
    }
    /* The thread takes no signals: the server handles SIGTERM and the like
     * on its own threads (signalfd), and a signal delivered here would
     * take the default action - end the process. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        s->mode = XT_SPARE_OFF;
        s->drop = 0; /* nothing dropped either (journal.c reads it for snapshots) */
        return -rc;
    }
    return 0;
}

int xt_spare_take(xt_spare_t *s)
{
    if (s->mode == XT_SPARE_OFF)
        return 0;
    if (s->mode == XT_SPARE_INLINE && !s->ready) /* the last one failed: try again now */
        make_inline(s);
    pthread_mutex_lock(&s->mu);
    int got = s->ready;
    s->ready = 0;
    if (!got) {
        s->missed++;
        if (!s->busy && !s->want) { /* none is being made (the last one failed, disk full?): ask again */
            s->want = 1;
            pthread_cond_signal(&s->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return got;
}

int xt_spare_ready(xt_spare_t *s)
{
    if (s->mode == XT_SPARE_OFF)
        return 0;
    pthread_mutex_lock(&s->mu);
    int ready = s->ready;
    pthread_mutex_unlock(&s->mu);
    return ready;
}

void xt_spare_retire(xt_spare_t *s, int fd)
{
    if (s->mode == XT_SPARE_THREAD && s->drop) {
        pthread_mutex_lock(&s->mu);
        int queued = s->n_retired < XT_SPARE_RETIRED;
        if (queued) {
            s->retired[s->n_retired++] = fd;
            pthread_cond_signal(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        if (queued)
            return;
    }
    release(s, fd);
}

void xt_spare_again(xt_spare_t *s)
{
    if (s->mode == XT_SPARE_INLINE)
        make_inline(s);
    else if (s->mode == XT_SPARE_THREAD) {
        pthread_mutex_lock(&s->mu);
        s->want = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

void xt_spare_lost(xt_spare_t *s)
{
    s->missed++; /* (only the thread that takes counts) */
    xt_spare_again(s);
}

const char *xt_spare_state(xt_spare_t *s, char *buf, size_t n)
{
    if (s->mode == XT_SPARE_OFF)
        return "off";
    pthread_mutex_lock(&s->mu);
    if (s->busy && s->err)
        snprintf(buf, n, "being written again; the last one failed: %s", strerror(-s->err));
    else if (s->busy)
        snprintf(buf, n, "being written");
    else if (s->ready)
        snprintf(buf, n, "ready");
    else if (s->err)
        snprintf(buf, n, "the last one failed: %s", strerror(-s->err));
    else
        snprintf(buf, n, "none (removed?); asked for");
    pthread_mutex_unlock(&s->mu);
    return buf;
}

void xt_spare_stop(xt_spare_t *s)
{
    if (s->mode == XT_SPARE_OFF)
        return;
    if (s->mode == XT_SPARE_THREAD) { /* (a thread that could not start left mode OFF) */
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    s->io->unlink(s->io, s->path);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    s->mode = XT_SPARE_OFF;
}
