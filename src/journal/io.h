/* io.h - the file operations the journal uses, behind a table of function
 * pointers, so that tests can put a layer in between that injects faults
 * (ENOSPC, EIO, short writes, failing fsync) or simulates power loss (drop
 * what was written after the last sync, tear the last write).
 *
 * Every function returns what its POSIX namesake does, except that errors
 * are returned as -errno instead of -1 with errno set. Paths are full paths.
 */
#ifndef XT_JOURNAL_IO_H
#define XT_JOURNAL_IO_H

#include <stddef.h>
#include <sys/types.h>

typedef struct xt_io xt_io_t;

struct xt_io {
    int (*open)(xt_io_t *io, const char *path, int flags, int mode);
    ssize_t (*write)(xt_io_t *io, int fd, const void *buf, size_t n);
    ssize_t (*pread)(xt_io_t *io, int fd, void *buf, size_t n, off_t off);
    int (*fdatasync)(xt_io_t *io, int fd);
    int (*fsync)(xt_io_t *io, int fd); /* also used on directories */
    int (*ftruncate)(xt_io_t *io, int fd, off_t len);
    int (*close)(xt_io_t *io, int fd);
    int (*rename)(xt_io_t *io, const char *from, const char *to);
    int (*unlink)(xt_io_t *io, const char *path);
    int (*size)(xt_io_t *io, int fd, off_t *size);
    /* Optional (NULL: not offered). Starts writing [off, off+len) to disk
     * and, with wait, waits for it - sync_file_range(2). Snapshots use it
     * to trickle their data out, so that a big final flush never holds up
     * the journal's own syncs. Not a durability guarantee. */
    int (*writeback)(xt_io_t *io, int fd, off_t off, off_t len, int wait);
    /* Optional (NULL: not offered). The first offset at or after off that
     * holds data, past any hole (lseek(2) SEEK_DATA): -ENXIO when only a
     * hole follows; another error, or off itself, when it cannot tell. */
    off_t (*seek_data)(xt_io_t *io, int fd, off_t off);
    /* Writes at off without moving the file offset (pwrite(2)). The
     * journal writes its records with it: into a preallocated segment they
     * overwrite zeros, and the file's size does not change. */
    ssize_t (*pwrite)(xt_io_t *io, int fd, const void *buf, size_t n, off_t off);
    /* Optional (NULL: not offered). Drops the file's clean pages from the
     * page cache (posix_fadvise(2) POSIX_FADV_DONTNEED): a rolled journal
     * segment, which the server does not read again (spare.h). */
    int (*drop_cache)(xt_io_t *io, int fd);
    /* Optional (NULL: not checked). 0 while fd's file is still linked and
     * still the file at path; -ENOENT (-ENOTDIR) once it is not: its
     * directory removed or moved (fstat's link count, stat's inode).
     * Another error is 0: it cannot tell. */
    int (*linked)(xt_io_t *io, int fd, const char *path);
};

/* The real thing. Its open refuses what is not a regular file (a FIFO,
 * device or socket, where reading would block for ever or never end) with
 * XT_ENOTFILE, unless flags ask for a directory. */
extern xt_io_t xt_io_posix;

/* open(2) of path with O_CLOEXEC, refusing anything but a regular file
 * (O_DIRECTORY in flags: a directory) with XT_ENOTFILE - without blocking on
 * a FIFO's open. Returns the fd or a negative code (-errno). */
int xt_open_regular(const char *path, int flags, int mode);
/* The same, taking character devices too when char_devices is set (a log
 * file may be /dev/null; a device's writes block as stderr's do). */
int xt_open_file(const char *path, int flags, int mode, int char_devices);

/* Writes all of buf, retrying short writes and EINTR. Returns 0 or -errno
 * (a write that keeps returning 0 is -EIO). */
int xt_io_write_all(xt_io_t *io, int fd, const void *buf, size_t n);

/* Writes all of buf at off, as xt_io_write_all does. Returns 0 or -errno. */
int xt_io_pwrite_all(xt_io_t *io, int fd, const void *buf, size_t n, off_t off);

/* Reads exactly n bytes at off. Returns 0, -errno, or -ENODATA at end of file. */
int xt_io_pread_all(xt_io_t *io, int fd, void *buf, size_t n, off_t off);

/* fsync of a directory, so that creating, renaming or removing a file in it
 * is durable. Returns 0 or -errno. */
int xt_io_sync_dir(xt_io_t *io, const char *dir);

/* Replaces dir/name by buf[0..n) durably: written to dir/name.tmp, synced,
 * renamed over dir/name, the directory synced - a crash leaves the old
 * file or the new one, never a part. Returns 0 or -errno (the .tmp is
 * removed on failure). */
int xt_io_replace_file(xt_io_t *io, const char *dir, const char *name, const void *buf, size_t n);

#endif
