/* dir.c - the data directory's names, listings and lock (see dir.h). */
#include "dir.h"
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xt/error.h"

static const char *const prefix[] = {"wal-", "snap-", "snap-", "md-state-", "md-state-", "wal-"};
static const char *const suffix[] = {".log", ".xts", ".tmp", "", ".tmp", ".tmp"};

int xt_dir_path(char *buf, size_t n, const char *dir, xt_file_kind_t kind, uint64_t seq)
{
    int k = snprintf(buf, n, "%s/%s%020llu%s", dir, prefix[kind], (unsigned long long)seq, suffix[kind]);
    return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

/* Parses prefix + 20 digits + suffix. */
static int parse_name(const char *name, xt_file_kind_t kind, uint64_t *seq)
{
    size_t pl = strlen(prefix[kind]), sl = strlen(suffix[kind]);
    if (strlen(name) != pl + 20 + sl || strncmp(name, prefix[kind], pl) != 0 ||
        strcmp(name + pl + 20, suffix[kind]) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = pl; i < pl + 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *seq = v;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int xt_dir_list(const char *dir, xt_file_kind_t kind, uint64_t **seqs, size_t *n)
{
    *seqs = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        if (!parse_name(de->d_name, kind, &seq))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(*seqs, cap * sizeof *p);
            if (!p) {
                closedir(d);
                free(*seqs);
                *seqs = NULL;
                return -ENOMEM;
            }
            *seqs = p;
        }
        (*seqs)[(*n)++] = seq;
    }
    closedir(d);
    if (*n)
        qsort(*seqs, *n, sizeof **seqs, cmp_u64);
    return 0;
}

int xt_dir_ensure(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) != 0)
            return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    return -errno;
}

/* DIR/LOCK opened with flags and flock()ed with op (LOCK_NB added). */
static int lock_file(const char *dir, int flags, int op)
{
    char path[XT_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = xt_open_regular(path, flags, 0644); /* a FIFO named LOCK would block the open */
    if (fd < 0)
        return fd;
    if (flock(fd, op | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? XT_ELOCKED : -e;
    }
    return fd;
}

int xt_dir_lock(const char *dir)
{
    return lock_file(dir, O_RDWR | O_CREAT, LOCK_EX);
}

int xt_dir_lock_shared(const char *dir)
{
    return lock_file(dir, O_RDONLY, LOCK_SH);
}
