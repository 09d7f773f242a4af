/* proc_stats.h - the process as the kernel sees it (/proc/self), for the
 * start-up log's `memory` event and the process_* metrics of GET /metrics
 * (docs/metrics.md): the names and meanings every Prometheus client
 * library exports, so that dashboards made for them work unchanged. */
#ifndef XT_SERVER_PROC_STATS_H
#define XT_SERVER_PROC_STATS_H

#include <stdint.h>

#include "metrics.h"

/* Bytes; 0 where unreadable. */
typedef struct xt_proc_mem {
    uint64_t resident;  /* Rss */
    uint64_t huge;      /* AnonHugePages: on transparent huge pages */
    uint64_t virtual_b; /* the address space's size */
} xt_proc_mem_t;

/* Reads /proc/self/smaps_rollup (a walk of the page tables: ~0.2 ms for
 * the server's ~0.5 GB, most of it on 2 MiB pages) and /proc/self/statm. */
void xt_proc_memory(xt_proc_mem_t *m);

/* process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds,
 * process_max_fds, process_threads and xt_memory_huge_pages_bytes.
 * Not process_open_fds: counting /proc/self/fd takes milliseconds at
 * 20,000 descriptors, on the thread that sends market data
 * (xt_connections counts what the server holds). */
void xt_proc_metrics(xt_text_t *t);

#endif
