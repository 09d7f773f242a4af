/* fuzz.h - what every fuzz target shares: libFuzzer's entry point,
 * CHECK, which aborts (a finding for libFuzzer, a failure for the corpus
 * replay of standalone.c) when a property does not hold, and a private
 * directory for the targets whose input is a file. */
#ifndef XT_FUZZ_H
#define XT_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c))                                                                                                      \
            abort();                                                                                                   \
    } while (0)

static inline char *fuzz_dir_path(void)
{
    static char path[80]; /* (one per target: each is one file) */
    return path;
}

/* Removes the private directory and every file in it (at exit). */
static inline void fuzz_dir_remove(void)
{
    const char *dir = fuzz_dir_path();
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char p[sizeof e->d_name + 96];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The target's private directory, made at the first call - in /dev/shm
 * when it may be written (no disk per input), else in /tmp - and removed
 * with what it holds at exit. Returns its path. */
static inline const char *fuzz_dir(const char *name)
{
    char *dir = fuzz_dir_path();
    if (!dir[0]) {
        snprintf(dir, 80, "%s/xt-fuzz-%s-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
        CHECK(mkdtemp(dir) != NULL);
        atexit(fuzz_dir_remove);
    }
    return dir;
}

#endif
