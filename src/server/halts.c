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
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "journal/io.h"
#include "log.h"
#include "server.h"
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
    char path[XT_CONFIG_PATH_MAX + 16], tmp[XT_CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, XT_HALTS_FILE);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", s->cfg.data_dir, XT_HALTS_FILE);
    static char text[HALTS_MAX_BYTES]; /* the gateway thread's alone */
    size_t n = (size_t)snprintf(text, sizeof text, "# halted by an operator (xtrading admin halt/resume)\n");
    uint32_t halted = 0;
    for (uint32_t i = 0; i < s->n_instruments; i++)
        if (atomic_load_explicit(&s->halted[i], memory_order_relaxed) && n + XT_SYMBOL_MAX + 2 <= sizeof text) {
            char sym[XT_SYMBOL_MAX + 1];
            xt_server_symbol(s, i, sym);
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", sym);
            halted++;
        }
    int rc;
    if (halted == 0) { /* nothing to keep: no file, as before any halt */
        rc = io->unlink(io, path);
        if (rc && rc != -ENOENT)
            return fail(why, whylen, rc, path, "cannot remove it");
        return (rc = xt_io_sync_dir(io, s->cfg.data_dir)) ? fail(why, whylen, rc, s->cfg.data_dir, "sync") : 0;
    }
    int fd = io->open(io, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(why, whylen, fd, tmp, "cannot create it");
    rc = xt_io_write_all(io, fd, text, n);
    if (rc == 0)
        rc = io->fsync(io, fd);
    int rc2 = io->close(io, fd);
    if (rc || (rc = rc2)) {
        io->unlink(io, tmp);
        return fail(why, whylen, rc, tmp, "cannot write it");
    }
    if ((rc = io->rename(io, tmp, path)) != 0) {
        io->unlink(io, tmp);
        return fail(why, whylen, rc, path, "cannot replace it");
    }
    return (rc = xt_io_sync_dir(io, s->cfg.data_dir)) ? fail(why, whylen, rc, s->cfg.data_dir, "sync") : 0;
}

/* The file's bytes into buf (at most cap - 1, NUL-terminated): its
 * length, 0 for no file, or a negative error. */
static ssize_t read_all(const char *path, char *buf, size_t cap)
{
    xt_io_t *io = &xt_io_posix;
    int fd = io->open(io, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    off_t size = 0;
    int rc = io->size(io, fd, &size);
    if (rc == 0 && (size < 0 || (uint64_t)size > cap - 1)) /* cap - 1: the NUL */
        rc = XT_ELIMIT;
    if (rc == 0)
        rc = xt_io_pread_all(io, fd, buf, (size_t)size, 0);
    io->close(io, fd);
    if (rc)
        return rc;
    buf[size] = '\0';
    return size;
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
    static char text[HALTS_MAX_BYTES + 1];
    ssize_t len = read_all(path, text, sizeof text);
    if (len < 0) {
        fail(why, whylen, (int)len, path, len == XT_ELIMIT ? "too large" : "cannot read it");
        return -1;
    }
    char list[256] = "";
    size_t listed = 0;
    unsigned line = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        line++;
        size_t n = (size_t)(eol - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n > 0 && p[0] != '#') {
            if (!xt_symbol_valid(p, n)) {
                snprintf(why, whylen, "%s:%u: not a symbol ([A-Za-z0-9._-]{1,16}, one a line); fix or remove the file",
                         path, line);
                return -1;
            }
            p[n] = '\0';
            uint32_t i = xt_engine_find_symbol(&s->engine, p, n);
            if (i == XT_INSTRUMENT_NONE || i >= s->n_instruments) {
                log_dropped(path, line, p);
            } else {
                atomic_store_explicit(&s->halted[i], 1, memory_order_relaxed);
                if (listed + n + 2 < sizeof list)
                    listed += (size_t)snprintf(list + listed, sizeof list - listed, "%s%s", listed ? "," : "", p);
            }
        }
        p = eol + (nl != NULL);
    }
    xt_log_ev_t e;
    if (listed && xt_log_begin(&e, XT_LOG_INFO, "halted instruments stay halted (xtrading admin resume SYMBOL)")) {
        xt_log_str(&e, "symbols", list);
        xt_log_str(&e, "path", path);
        xt_log_end(&e);
    }
    return 0;
}
