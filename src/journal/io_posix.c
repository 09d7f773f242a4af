/* io_posix.c - the journal's file operations on the real file system. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): fdatasync, O_DIRECTORY */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "xt/error.h"

static int neg(int rc)
{
    return rc < 0 ? -errno : rc;
}

int xt_open_regular(const char *path, int flags, int mode)
{
    return xt_open_file(path, flags, mode, 0);
}

/* What xt_open_file opens: a regular file, a character device if asked. */
static int taken(mode_t m, int char_devices)
{
    return S_ISREG(m) || (char_devices && S_ISCHR(m));
}

int xt_open_file(const char *path, int flags, int mode, int char_devices)
{
    if (flags & O_DIRECTORY)
        return neg(open(path, flags | O_CLOEXEC, mode));
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer, for writing a reader */
    int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, mode);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO && stat(path, &st) == 0 && !taken(st.st_mode, char_devices))
            return XT_ENOTFILE; /* a FIFO opened for writing with no reader, a socket */
        return -e;              /* (a device without its driver: said as such) */
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!taken(st.st_mode, char_devices)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : XT_ENOTFILE; /* "Is a directory": said as what it is */
    }
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int p_open(xt_io_t *io, const char *path, int flags, int mode)
{
    (void)io;
    return xt_open_regular(path, flags, mode);
}

static ssize_t p_write(xt_io_t *io, int fd, const void *buf, size_t n)
{
    (void)io;
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

static ssize_t p_pread(xt_io_t *io, int fd, void *buf, size_t n, off_t off)
{
    (void)io;
    ssize_t r = pread(fd, buf, n, off);
    return r < 0 ? -errno : r;
}

static int p_fdatasync(xt_io_t *io, int fd)
{
    (void)io;
    return neg(fdatasync(fd));
}

static int p_fsync(xt_io_t *io, int fd)
{
    (void)io;
    return neg(fsync(fd));
}

static int p_ftruncate(xt_io_t *io, int fd, off_t len)
{
    (void)io;
    return neg(ftruncate(fd, len));
}

static int p_close(xt_io_t *io, int fd)
{
    (void)io;
    return neg(close(fd));
}

static int p_rename(xt_io_t *io, const char *from, const char *to)
{
    (void)io;
    return neg(rename(from, to));
}

static int p_unlink(xt_io_t *io, const char *path)
{
    (void)io;
    return neg(unlink(path));
}

static int p_size(xt_io_t *io, int fd, off_t *size)
{
    (void)io;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    *size = st.st_size;
    return 0;
}

static int p_writeback(xt_io_t *io, int fd, off_t off, off_t len, int wait)
{
    (void)io;
    unsigned flags = SYNC_FILE_RANGE_WRITE;
    if (wait)
        flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
    return neg(sync_file_range(fd, off, len, flags));
}

static off_t p_seek_data(xt_io_t *io, int fd, off_t off)
{
    (void)io;
    off_t r = lseek(fd, off, SEEK_DATA);
    return r < 0 ? -errno : r;
}

static ssize_t p_pwrite(xt_io_t *io, int fd, const void *buf, size_t n, off_t off)
{
    (void)io;
    ssize_t r = pwrite(fd, buf, n, off);
    return r < 0 ? -errno : r;
}

static int p_drop_cache(xt_io_t *io, int fd)
{
    (void)io;
    return -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* (returns the error, not -1) */
}

/* Only "gone" fails: another error (EACCES from a parent's mode changed,
 * ESTALE or EIO on a network file system) cannot tell, and the next look
 * may (a journal failed closed for it would stop trading for good). */
static int p_linked(xt_io_t *io, int fd, const char *path)
{
    (void)io;
    struct stat a, b;
    if (fstat(fd, &a) != 0)
        return 0;
    if (a.st_nlink == 0)
        return -ENOENT;
    if (stat(path, &b) != 0)
        return errno == ENOENT || errno == ENOTDIR ? -errno : 0;
    return a.st_ino != b.st_ino || a.st_dev != b.st_dev ? -ENOENT : 0;
}

xt_io_t xt_io_posix = {p_open,   p_write, p_pread,     p_fdatasync, p_fsync,  p_ftruncate,  p_close, p_rename,
                       p_unlink, p_size,  p_writeback, p_seek_data, p_pwrite, p_drop_cache, p_linked};

/* Writes all of buf, retrying short writes and EINTR: with write() when
 * off is negative, else with pwrite() at off. */
static int write_loop(xt_io_t *io, int fd, const char *p, size_t n, off_t off)
{
    int zero = 0;
    while (n > 0) {
        ssize_t r = off < 0 ? io->write(io, fd, p, n) : io->pwrite(io, fd, p, n, off);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return (int)r;
        if (r == 0 && ++zero > 2)
            return -EIO;
        p += r;
        n -= (size_t)r;
        if (off >= 0)
            off += r;
    }
    return 0;
}

int xt_io_write_all(xt_io_t *io, int fd, const void *buf, size_t n)
{
    return write_loop(io, fd, buf, n, -1);
}

int xt_io_pwrite_all(xt_io_t *io, int fd, const void *buf, size_t n, off_t off)
{
    return off < 0 ? -EINVAL : write_loop(io, fd, buf, n, off);
}

int xt_io_pread_all(xt_io_t *io, int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = io->pread(io, fd, p, n, off);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return (int)r;
        if (r == 0)
            return -ENODATA;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int xt_io_sync_dir(xt_io_t *io, const char *dir)
{
    int fd = io->open(io, dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int rc = io->fsync(io, fd);
    io->close(io, fd);
    return rc;
}

int xt_io_replace_file(xt_io_t *io, const char *dir, const char *name, const void *buf, size_t n)
{
    char path[4096], tmp[4096];
    int a = snprintf(path, sizeof path, "%s/%s", dir, name), b = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    if (a < 0 || b < 0 || (size_t)b >= sizeof tmp)
        return -ENAMETOOLONG;
    int fd = io->open(io, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fd;
    int rc = xt_io_write_all(io, fd, buf, n);
    if (rc == 0)
        rc = io->fsync(io, fd);
    int rc2 = io->close(io, fd);
    if (rc == 0)
        rc = rc2;
    if (rc == 0)
        rc = io->rename(io, tmp, path);
    if (rc) {
        io->unlink(io, tmp);
        return rc;
    }
    return xt_io_sync_dir(io, dir);
}
