/* faultio.c - see faultio.h. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier) */
#include "faultio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static faultio_file_t *by_fd(faultio_t *f, int fd)
{
    for (int i = 0; i < FAULTIO_FILES; i++)
        if (f->files[i].fd == fd && f->files[i].path[0])
            return &f->files[i];
    return NULL;
}

static faultio_file_t *by_path(faultio_t *f, const char *path)
{
    for (int i = 0; i < FAULTIO_FILES; i++)
        if (f->files[i].path[0] && strcmp(f->files[i].path, path) == 0)
            return &f->files[i];
    return NULL;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int f_open(xt_io_t *io, const char *path, int flags, int mode)
{
    faultio_t *f = (faultio_t *)io;
    int existed = access(path, F_OK) == 0;
    int fd = xt_io_posix.open(&xt_io_posix, path, flags, mode);
    if (fd < 0 || is_dir(path))
        return fd;
    faultio_file_t *t = by_path(f, path);
    if (!t)
        for (int i = 0; i < FAULTIO_FILES && !t; i++)
            if (!f->files[i].path[0])
                t = &f->files[i];
    if (!t)
        return fd; /* untracked */
    if (!t->path[0]) {
        snprintf(t->path, sizeof t->path, "%s", path);
        struct stat st;
        fstat(fd, &st);
        t->size = t->synced = existed ? st.st_size : 0;
        t->new_file = !existed;
    }
    if (flags & O_TRUNC)
        t->size = 0;
    t->fd = fd;
    return fd;
}

/* Counts a write and injects the fault due at it: returns 0 to go on
 * (with *n perhaps halved) or -errno. */
static int inject(faultio_t *f, size_t *n)
{
    unsigned k = ++f->writes;
    if (f->fail_write_at && k >= f->fail_write_at) {
        f->failed = 1;
        return -(f->fail_errno ? f->fail_errno : EIO);
    }
    if (f->short_write_at && k == f->short_write_at && *n > 1) {
        *n /= 2;
        f->fail_write_at = k + 1; /* and then the disk is full */
        f->failed = 1;
    }
    return 0;
}

static ssize_t f_write(xt_io_t *io, int fd, const void *buf, size_t n)
{
    faultio_t *f = (faultio_t *)io;
    int rc = inject(f, &n);
    if (rc)
        return rc;
    ssize_t r = xt_io_posix.write(&xt_io_posix, fd, buf, n);
    faultio_file_t *t = by_fd(f, fd);
    if (t && r > 0)
        t->size += r;
    return r;
}

static ssize_t f_pwrite(xt_io_t *io, int fd, const void *buf, size_t n, off_t off)
{
    faultio_t *f = (faultio_t *)io;
    int rc = inject(f, &n);
    if (rc)
        return rc;
    faultio_file_t *t = by_fd(f, fd);
    if (t && off < t->synced) { /* over durable bytes: remembered, and checked to be zeros */
        off_t hi = off + (off_t)n < t->synced ? off + (off_t)n : t->synced;
        char old[4096];
        int rfd = open(t->path, O_RDONLY | O_CLOEXEC); /* fd may be write-only */
        for (off_t at = off; at < hi; at += (off_t)sizeof old) {
            size_t k = hi - at < (off_t)sizeof old ? (size_t)(hi - at) : sizeof old;
            if (rfd < 0 || pread(rfd, old, k, at) != (ssize_t)k)
                f->overwrote_data = 1;
            for (size_t i = 0; i < k && !f->overwrote_data; i++)
                if (old[i])
                    f->overwrote_data = 1;
        }
        if (rfd >= 0)
            close(rfd);
        if (t->ow_hi == 0 || off < t->ow_lo)
            t->ow_lo = off;
        if (hi > t->ow_hi)
            t->ow_hi = hi;
    }
    ssize_t r = xt_io_posix.pwrite(&xt_io_posix, fd, buf, n, off);
    if (t && r > 0 && off + r > t->size)
        t->size = off + r;
    return r;
}

static ssize_t f_pread(xt_io_t *io, int fd, void *buf, size_t n, off_t off)
{
    ((faultio_t *)io)->pread_bytes += n;
    return xt_io_posix.pread(&xt_io_posix, fd, buf, n, off);
}

static int sync_common(faultio_t *f, int fd, int (*real)(xt_io_t *, int))
{
    faultio_file_t *t = by_fd(f, fd);
    if (t) {
        unsigned k = ++f->syncs;
        if (f->fail_sync_at && k >= f->fail_sync_at) {
            f->failed = 1;
            return -(f->fail_errno ? f->fail_errno : EIO);
        }
    } else { /* a directory: creations and renames in it become durable */
        f->dir_syncs++;
        for (int i = 0; i < FAULTIO_FILES; i++)
            f->files[i].new_file = 0;
        for (int i = 0; i < f->nrenames; i++)
            if (f->renames[i].aside[0])
                unlink(f->renames[i].aside); /* the replaced file is gone for good */
        f->nrenames = 0;
    }
    int rc = real(&xt_io_posix, fd);
    if (rc == 0 && t) {
        t->synced = t->size;
        t->ow_lo = t->ow_hi = 0;
    }
    return rc;
}

static int f_fdatasync(xt_io_t *io, int fd)
{
    return sync_common((faultio_t *)io, fd, xt_io_posix.fdatasync);
}

static int f_fsync(xt_io_t *io, int fd)
{
    return sync_common((faultio_t *)io, fd, xt_io_posix.fsync);
}

static int f_ftruncate(xt_io_t *io, int fd, off_t len)
{
    faultio_t *f = (faultio_t *)io;
    int rc = xt_io_posix.ftruncate(&xt_io_posix, fd, len);
    faultio_file_t *t = by_fd(f, fd);
    if (rc == 0 && t) {
        t->size = len;
        if (t->synced > len)
            t->synced = len;
        if (t->ow_hi > len)
            t->ow_hi = t->ow_lo < len ? len : 0;
    }
    return rc;
}

static int f_close(xt_io_t *io, int fd)
{
    faultio_t *f = (faultio_t *)io;
    faultio_file_t *t = by_fd(f, fd);
    if (t)
        t->fd = -1;
    return xt_io_posix.close(&xt_io_posix, fd);
}

static int f_rename(xt_io_t *io, const char *from, const char *to)
{
    faultio_t *f = (faultio_t *)io;
    faultio_rename_t *rn = f->nrenames < 16 ? &f->renames[f->nrenames] : NULL;
    if (rn) { /* a file it replaces comes back if the rename is undone, as on a real file system */
        rn->aside[0] = '\0';
        char aside[sizeof rn->aside];
        snprintf(aside, sizeof aside, "%s.faultio-replaced", to);
        if (access(to, F_OK) == 0 && link(to, aside) == 0)
            snprintf(rn->aside, sizeof rn->aside, "%s", aside);
    }
    int rc = xt_io_posix.rename(&xt_io_posix, from, to);
    if (rc == 0) {
        faultio_file_t *old = by_path(f, to); /* replaced: forgotten, as unlink does */
        if (old) {
            memset(old, 0, sizeof *old);
            old->fd = -1;
        }
        faultio_file_t *t = by_path(f, from);
        if (t)
            snprintf(t->path, sizeof t->path, "%s", to);
        if (rn) {
            snprintf(rn->from, sizeof rn->from, "%s", from);
            snprintf(rn->to, sizeof rn->to, "%s", to);
            f->nrenames++;
        }
    } else if (rn && rn->aside[0]) {
        unlink(rn->aside);
    }
    return rc;
}

static int f_unlink(xt_io_t *io, const char *path)
{
    faultio_t *f = (faultio_t *)io;
    faultio_file_t *t = by_path(f, path);
    if (t) {
        memset(t, 0, sizeof *t);
        t->fd = -1;
    }
    return xt_io_posix.unlink(&xt_io_posix, path);
}

static int f_size(xt_io_t *io, int fd, off_t *size)
{
    (void)io;
    return xt_io_posix.size(&xt_io_posix, fd, size);
}

static int f_drop_cache(xt_io_t *io, int fd)
{
    faultio_t *f = (faultio_t *)io;
    const faultio_file_t *t = by_fd(f, fd);
    f->drops++;
    const char *base = t ? strrchr(t->path, '/') : NULL;
    if (base && strncmp(base + 1, "wal-", 4) == 0)
        f->drops_seg++;
    if (t && (t->synced < t->size || t->ow_hi))
        f->drops_unsynced++;
    return xt_io_posix.drop_cache(&xt_io_posix, fd);
}

void faultio_offer_drop(faultio_t *f)
{
    f->io.drop_cache = f_drop_cache;
}

void faultio_init(faultio_t *f)
{
    memset(f, 0, sizeof *f);
    f->io = (xt_io_t){f_open,   f_write, f_pread, f_fdatasync,           f_fsync, f_ftruncate, f_close, f_rename,
                      f_unlink, f_size,  NULL,    xt_io_posix.seek_data, f_pwrite};
    for (int i = 0; i < FAULTIO_FILES; i++)
        f->files[i].fd = -1;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Puts back the zeros that pwrite overwrote since the last sync: all of
 * them (DROP); after a random part of what was written (TEAR); after a
 * random part turned to garbage (GARBAGE). */
static void undo_overwrite(int fd, const faultio_file_t *t, faultio_loss_t how, uint64_t *rnd)
{
    off_t span = t->ow_hi - t->ow_lo, from = t->ow_lo;
    if (how != FAULTIO_DROP)
        from += (off_t)(next_rand(rnd) % (uint64_t)(span + 1));
    char buf[4096];
    if (how == FAULTIO_GARBAGE)
        for (off_t at = t->ow_lo; at < from; at += (off_t)sizeof buf) {
            size_t k = from - at < (off_t)sizeof buf ? (size_t)(from - at) : sizeof buf;
            for (size_t i = 0; i < k; i++)
                buf[i] = (char)next_rand(rnd);
            if (pwrite(fd, buf, k, at) < 0)
                perror("faultio pwrite");
        }
    memset(buf, 0, sizeof buf);
    for (off_t at = from; at < t->ow_hi; at += (off_t)sizeof buf) {
        size_t k = t->ow_hi - at < (off_t)sizeof buf ? (size_t)(t->ow_hi - at) : sizeof buf;
        if (pwrite(fd, buf, k, at) < 0)
            perror("faultio pwrite");
    }
}

void faultio_power_loss(faultio_t *f, faultio_loss_t how, uint64_t seed)
{
    uint64_t rnd = seed | 1;
    for (int i = f->nrenames - 1; i >= 0; i--) { /* undone, newest first; a file it replaced is back */
        rename(f->renames[i].to, f->renames[i].from);
        if (f->renames[i].aside[0])
            rename(f->renames[i].aside, f->renames[i].to);
    }
    for (int i = 0; i < FAULTIO_FILES; i++) {
        faultio_file_t *t = &f->files[i];
        if (!t->path[0])
            continue;
        for (int r = 0; r < f->nrenames; r++) /* the file is back under its old name */
            if (strcmp(t->path, f->renames[r].to) == 0)
                snprintf(t->path, sizeof t->path, "%s", f->renames[r].from);
        if (t->new_file) {
            unlink(t->path);
            continue;
        }
        off_t keep = t->synced;
        int fd = open(t->path, O_RDWR);
        if (fd < 0)
            continue;
        if (t->ow_hi > t->ow_lo)
            undo_overwrite(fd, t, how, &rnd);
        if (how == FAULTIO_TEAR && t->size > t->synced)
            keep += (off_t)(next_rand(&rnd) % (uint64_t)(t->size - t->synced + 1));
        if (ftruncate(fd, keep) != 0)
            perror("faultio ftruncate");
        if (how == FAULTIO_GARBAGE && t->size > t->synced) {
            char junk[256];
            off_t n = (off_t)(next_rand(&rnd) % (uint64_t)(t->size - t->synced + 1));
            for (off_t at = keep; at < keep + n; at += (off_t)sizeof junk) {
                for (size_t k = 0; k < sizeof junk; k++)
                    junk[k] = (char)next_rand(&rnd);
                size_t len = keep + n - at < (off_t)sizeof junk ? (size_t)(keep + n - at) : sizeof junk;
                if (pwrite(fd, junk, len, at) < 0)
                    perror("faultio pwrite");
            }
        }
        close(fd);
    }
    f->nrenames = 0;
}
