/* proc_stats.h - the process as the kernel sees it (/proc/self), for the
 * start-up log's `memory` event and the process_* metrics of GET /metrics
 * (docs/metrics.md): the names and meanings every Prometheus client
 * library exports, so that dashboards made for them work unchanged. */
#ifndef XT_SERVER_PROC_STATS_H
#define XT_SERVER_PROC_STATS_H

#include <stdint.h>

#include "metrics.h"

/* The process, as /proc/self tells it; memory in bytes. */
typedef struct xt_proc_mem {
    int have_stat;                /* 0: /proc/self/stat could not be read (the next four are 0) */
    uint64_t resident;            /* resident set (rss of /proc/self/stat) */
    uint64_t virtual_b;           /* the address space's size (vsize) */
    uint64_t threads;             /* num_threads */
    unsigned long long start_tck; /* starttime: clock ticks after boot */
    int have_huge;                /* 0: smaps_rollup could not be read (kernel < 4.14, no descriptor left) */
    uint64_t huge;                /* AnonHugePages of /proc/self/smaps_rollup: on transparent huge pages */
} xt_proc_mem_t;

/* Reads /proc/self/stat, then /proc/self/smaps_rollup, which walks the
 * page tables under the address space's lock (~0.2 ms for the server's
 * ~0.5 GB, most of it on 2 MiB pages; more on 4 KiB pages, and it waits
 * while a snapshot's fork copies them). What cannot be read is 0, its
 * have_ flag 0. */
void xt_proc_memory(xt_proc_mem_t *m);

/* process_cpu_seconds_total, process_threads, process_start_time_seconds,
 * process_virtual_memory_bytes, process_resident_memory_bytes,
 * xt_memory_huge_pages_bytes (read at most once a second, the figure
 * otherwise the last read's) and process_max_fds; a series whose source
 * cannot be read is left out, never sent as 0. Not process_open_fds:
 * counting /proc/self/fd takes milliseconds at 20,000 descriptors, on the
 * thread that sends market data (xt_connections counts what the server
 * holds). To be called from one thread only (the start time is read once). */
void xt_proc_metrics(xt_text_t *t);

#endif
