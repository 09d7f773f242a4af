/* disk_watch.h - the free space of the data directory's filesystem,
 * sampled once a second by a thread of its own: statvfs can block on a
 * hung filesystem (NFS, FUSE), and the threads that serve clients only
 * read the figure (/readyz, /metrics; docs/http.md, docs/metrics.md). */
#ifndef XT_SERVER_DISK_WATCH_H
#define XT_SERVER_DISK_WATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct xt_server;

typedef struct xt_disk_watch {
    const struct xt_server *s;
    _Atomic uint64_t free_bytes; /* UINT64_MAX: not known (statvfs failed) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int on, stop;
} xt_disk_watch_t;

/* Takes the first sample here, then starts the thread (none when it
 * cannot: the figure then stays that first one). */
void xt_disk_watch_start(xt_disk_watch_t *w, const struct xt_server *s);
/* Bytes free to the server there, as last sampled; UINT64_MAX when not known. */
uint64_t xt_disk_watch_free(const xt_disk_watch_t *w);
/* Stops and joins the thread. Twice, or without a start, is fine. */
void xt_disk_watch_stop(xt_disk_watch_t *w);

#endif
