/* cpus.h - the server's threads pinned to CPUs (server.gateway_cpus,
 * server.engine_cpus, server.md_cpus; docs/config.md): a CPU list in the
 * kernel's format ("3", "2-3", "0,2-3"), or empty for no pinning. */
#ifndef XT_SERVER_CPUS_H
#define XT_SERVER_CPUS_H

#include <sched.h>
#include <stddef.h>

#include "config.h" /* XT_CPUS_TEXT */

/* Parses list into *set (empty: an empty set). Returns 0, or -1 with why
 * (e.g. "CPU 4096 is past the highest that can be named, 1023"). */
int xt_cpus_parse(const char *list, cpu_set_t *set, char *why, size_t n);

typedef struct xt_cpus {
    cpu_set_t gateway, engine, md; /* each empty: that thread not pinned */
    cpu_set_t allowed;             /* what the process may run on, at start */
    cpu_set_t rest;                /* allowed but none of the three lists (allowed if that leaves none) */
    int any;                       /* some list is set */
} xt_cpus_t;

/* Parses the three lists and checks that each names only CPUs this process
 * may run on (sched_getaffinity: a container's cpuset, taskset, systemd's
 * CPUAffinity=). When any is set, a fork's child (the snapshot writer,
 * forked by the engine thread) moves to `rest` at once, so that it does
 * not write the snapshot on the engine's CPU. Before the threads start.
 * Returns 0, or -1 with why naming the key. */
int xt_cpus_prepare(xt_cpus_t *c, const char *gateway, const char *engine, const char *md, char *why, size_t n);

/* The log's "threads pinned" event (info): each thread's CPU list (the
 * process's whole one where not pinned), "others" for the spare's writer,
 * a snapshot's child, the K-line history's writer and the reload's
 * reader. Nothing when no list is set. */
void xt_cpus_log(const xt_cpus_t *c);

/* Pins the calling thread to set (nothing when it is empty); a failure
 * (a CPU gone offline since the start) is logged, naming the thread, and
 * the thread runs where the kernel puts it. Returns 0 or -errno. */
int xt_cpus_pin(const cpu_set_t *set, const char *thread);

/* A helper thread's start, on itself: named "xt-<name>" (top, perf,
 * /proc/PID/task) and, when a list is set (c not NULL), pinned to `rest`,
 * off the CPUs the lists name. */
void xt_cpus_helper(const xt_cpus_t *c, const char *name);

#endif
