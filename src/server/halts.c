/* halts.c - the data directory's `halted` file (halts.h): the symbols of
 * the halted instruments, one a line, written whole on each halt and
 * resume and read at start.
 *
 * Not a journal record: a halt changes no book and no order, and the
 * orders it refuses are not journaled (docs/admin.md), so replaying the
 * journal gives the same state with or without it. What must survive is
 * the operator's decision, and a small file that is synced before the
 * admin answer says "saved" keeps it. */
#include "halts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpus.h"
#include "journal/io.h"
#include "log.h"
#include "server.h"
#include "text_file.h"
#include "xt/error.h"

#define HALTS_MAX_BYTES 65536 /* far above XT_CONFIG_MAX_INSTRUMENTS (256) symbols */

static int fail(char *why, size_t whylen, int rc, const char *path, const char *what)
{
    snprintf(why, whylen, "%s: %s: %s", path, what, xt_strerror(rc));
    return rc;
}

int xt_halts_save(const xt_server_t *s, char *why, size_t whylen)
{
    xt_io_t *io = &xt_io_posix;
    static char text[HALTS_MAX_BYTES]; /* one call at a time (halts.h) */
    size_t n = (size_t)snprintf(text, sizeof text, "# halted by an operator (xtrading admin halt/resume)\n");
    uint32_t halted = 0;
    for (uint32_t i = 0; i < s->n_instruments; i++)
        if (atomic_load_explicit(&s->halted[i], memory_order_relaxed) && n + XT_SYMBOL_MAX + 2 <= sizeof text) {
            char sym[XT_SYMBOL_MAX + 1];
            xt_server_symbol(s, i, sym);
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", sym);
            halted++;
        }
    char path[XT_CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, XT_HALTS_FILE);
    int rc;
    if (halted) /* through halted.tmp, synced and renamed */
        return (rc = xt_io_replace_file(io, s->cfg.data_dir, XT_HALTS_FILE, text, n))
                   ? fail(why, whylen, rc, path, "cannot write it through " XT_HALTS_FILE ".tmp")
                   : 0;
    rc = io->unlink(io, path); /* nothing to keep: no file, as before any halt */
    if (rc && rc != -ENOENT)
        return fail(why, whylen, rc, path, "cannot remove it");
    return (rc = xt_io_sync_dir(io, s->cfg.data_dir)) ? fail(why, whylen, rc, s->cfg.data_dir, "sync") : 0;
}

static void *saver_main(void *arg)
{
    xt_halts_saver_t *h = arg;
    xt_cpus_helper(h->s->cpus, "halts");
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->done == h->want && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->done == h->want)
            break;
        uint64_t n = h->want; /* the state now covers every save asked for so far */
        pthread_mutex_unlock(&h->mu);
        char why[sizeof h->why] = "";
        int rc = xt_halts_save(h->s, why, sizeof why);
        pthread_mutex_lock(&h->mu);
        h->done = n;
        h->rc = rc;
        memcpy(h->why, why, sizeof why);
        uint64_t one = 1;
        ssize_t w = write(h->wake_fd, &one, sizeof one); /* the admin's answer waits */
        (void)w;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int xt_halts_saver_start(xt_halts_saver_t *h, const xt_server_t *s, int wake_fd)
{
    memset(h, 0, sizeof *h);
    h->s = s;
    h->wake_fd = wake_fd;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->on = pthread_create(&h->thread, NULL, saver_main, h) == 0;
    return 0;
}

uint64_t xt_halts_save_later(xt_halts_saver_t *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t n = ++h->want;
    if (h->on) {
        pthread_cond_signal(&h->cv);
    } else { /* no thread: here, now */
        h->rc = xt_halts_save(h->s, h->why, sizeof h->why);
        h->done = n;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

int xt_halts_saved(xt_halts_saver_t *h, uint64_t n, char *why, size_t whylen)
{
    pthread_mutex_lock(&h->mu);
    int r = h->done < n ? 0 : h->rc == 0 ? 1 : -1;
    if (r < 0)
        snprintf(why, whylen, "%s", h->why);
    pthread_mutex_unlock(&h->mu);
    return r;
}

void xt_halts_saver_stop(xt_halts_saver_t *h)
{
    if (!h->s)
        return;
    if (h->on) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
        h->on = 0;
    }
}

void xt_halts_saver_destroy(xt_halts_saver_t *h)
{
    if (!h->s)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    h->s = NULL;
}

static void log_dropped(const char *path, unsigned line, const char *sym)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "halted instrument not in the config: dropped")) {
        xt_log_str(&e, "path", path);
        xt_log_u64(&e, "line", line);
        xt_log_str(&e, "symbol", sym);
        xt_log_end(&e);
    }
}

int xt_halts_load(xt_server_t *s, char *why, size_t whylen)
{
    char path[XT_CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, XT_HALTS_FILE);
    FILE *f = xt_text_file_open(path, HALTS_MAX_BYTES, why, whylen); /* a regular file, bounded */
    if (f == NULL)
        return errno == ENOENT ? 0 : -1; /* none: nothing halted */
    char buf[XT_TEXT_LINE_MAX + 1], list[256] = "";
    size_t listed = 0;
    unsigned line = 0;
    int got;
    while ((got = xt_text_file_line(f, buf)) == 1) {
        line++;
        size_t n = strlen(buf); /* the line ending goes, nothing else (a '\r' inside is not a symbol's) */
        if (n && buf[n - 1] == '\n')
            buf[--n] = '\0';
        if (n && buf[n - 1] == '\r')
            buf[--n] = '\0';
        if (n == 0 || buf[0] == '#')
            continue;
        if (!xt_symbol_valid(buf, n))
            break;
        uint32_t i = xt_engine_find_symbol(&s->engine, buf, n);
        if (i == XT_INSTRUMENT_NONE || i >= s->n_instruments) {
            log_dropped(path, line, buf);
            continue;
        }
        atomic_store_explicit(&s->halted[i], 1, memory_order_relaxed);
        if (listed + n + 2 < sizeof list)
            listed += (size_t)snprintf(list + listed, sizeof list - listed, "%s%s", listed ? "," : "", buf);
    }
    int err = errno; /* (a read error's, for xt_text_file_error) */
    fclose(f);
    errno = err;
    if (got < 0) {
        snprintf(why, whylen, "%s:%u: %s", path, line + 1, xt_text_file_error(got));
        return -1;
    }
    if (got != 0) { /* a line that is not a symbol */
        snprintf(why, whylen, "%s:%u: not a symbol ([A-Za-z0-9._-]{1,16}, one a line); fix or remove the file", path,
                 line);
        return -1;
    }
    xt_log_ev_t e;
    if (listed && xt_log_begin(&e, XT_LOG_INFO, "halted instruments stay halted (xtrading admin resume SYMBOL)")) {
        xt_log_str(&e, "symbols", list);
        xt_log_str(&e, "path", path);
        xt_log_end(&e);
    }
    return 0;
}
