/* cpus.c - CPU lists and thread pinning (cpus.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): cpu_set_t, pthread_setaffinity_np */
#include "cpus.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SYNTAX "a CPU list is numbers and ranges separated by commas, e.g. 2 or 0,2-3"

/* Where a fork's child goes (xt_cpus_t.rest): pthread_atfork's handlers
 * take no argument, hence file scope; written before the threads start,
 * read in a child. */
static cpu_set_t child_mask;
static pthread_once_t child_handler_once = PTHREAD_ONCE_INIT;

/* A decimal CPU number at *p, moved past it. */
static int number(const char **p, unsigned long *v, char *why, size_t n)
{
    if (**p < '0' || **p > '9') {
        snprintf(why, n, SYNTAX);
        return -1;
    }
    char *end;
    errno = 0;
    *v = strtoul(*p, &end, 10);
    if (errno || *v >= CPU_SETSIZE) {
        snprintf(why, n, "CPU %.*s is past the highest that can be named, %d", (int)(end - *p < 64 ? end - *p : 64), *p,
                 CPU_SETSIZE - 1);
        return -1;
    }
    *p = end;
    return 0;
}

int xt_cpus_parse(const char *list, cpu_set_t *set, char *why, size_t n)
{
    CPU_ZERO(set);
    for (const char *p = list; *p;) {
        unsigned long lo, hi;
        if (number(&p, &lo, why, n))
            return -1;
        hi = lo;
        if (*p == '-') {
            p++;
            if (number(&p, &hi, why, n))
                return -1;
            if (hi < lo) {
                snprintf(why, n, "the CPU range %lu-%lu runs backwards", lo, hi);
                return -1;
            }
        }
        for (unsigned long c = lo; c <= hi; c++)
            CPU_SET(c, set);
        if (*p == ',' && p[1] >= '0' && p[1] <= '9')
            p++;
        else if (*p) {
            snprintf(why, n, SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* set as a CPU list ("0-3,6"), cut short (ending "...") if it does not fit out[n]. */
static void list_text(const cpu_set_t *set, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
            e++;
        int w = e > c ? snprintf(out + k, n - k, "%s%d-%d", k ? "," : "", c, e)
                      : snprintf(out + k, n - k, "%s%d", k ? "," : "", c);
        if (w < 0 || (size_t)w >= n - k) {
            snprintf(out + (n > 4 ? n - 4 : 0), n > 4 ? 4 : n, "...");
            return;
        }
        k += (size_t)w;
        c = e;
    }
}

/* A child starts on its parent's CPU and a wider mask would not move it:
 * only a mask without that CPU does. */
static void child_leaves_pinned_cpus(void)
{
    (void)sched_setaffinity(0, sizeof child_mask, &child_mask); /* a system call: fine in a fork's child */
}

static void register_child_handler(void)
{
    (void)pthread_atfork(NULL, NULL, child_leaves_pinned_cpus);
}

int xt_cpus_prepare(xt_cpus_t *c, const char *gateway, const char *engine, const char *md, char *why, size_t n)
{
    const char *keys[3] = {"server.gateway_cpus", "server.engine_cpus", "server.md_cpus"};
    const char *lists[3] = {gateway, engine, md};
    cpu_set_t *sets[3] = {&c->gateway, &c->engine, &c->md};
    memset(c, 0, sizeof *c);
    if (sched_getaffinity(0, sizeof c->allowed, &c->allowed) != 0) {
        snprintf(why, n, "cannot read the CPUs this process may run on: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        char w[128];
        if (xt_cpus_parse(lists[i], sets[i], w, sizeof w)) {
            snprintf(why, n, "%s: %s", keys[i], w);
            return -1;
        }
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, sets[i]) && !CPU_ISSET(cpu, &c->allowed)) {
                char may[64];
                list_text(&c->allowed, may, sizeof may);
                snprintf(why, n,
                         "%s: CPU %d is not one this process may run on (%s: the machine's, or what taskset or "
                         "the container's cpuset allow)",
                         keys[i], cpu, may);
                return -1;
            }
        c->any |= CPU_COUNT(sets[i]) > 0;
    }
    cpu_set_t pinned;
    CPU_OR(&pinned, &c->gateway, &c->engine);
    CPU_OR(&pinned, &pinned, &c->md);
    CPU_XOR(&c->rest, &c->allowed, &pinned); /* pinned is within allowed */
    if (CPU_COUNT(&c->rest) == 0)
        c->rest = c->allowed;
    child_mask = c->any ? c->rest : c->allowed; /* a handler registered before stays harmless */
    if (c->any)
        (void)pthread_once(&child_handler_once, register_child_handler);
    return 0;
}

void xt_cpus_log(const xt_cpus_t *c)
{
    xt_log_ev_t e;
    if (!c->any || !xt_log_begin(&e, XT_LOG_INFO, "threads pinned"))
        return;
    const char *names[4] = {"gateway", "engine", "md", "others"};
    const cpu_set_t *sets[4] = {&c->gateway, &c->engine, &c->md, &c->rest};
    for (int i = 0; i < 4; i++) {
        char t[64];
        list_text(CPU_COUNT(sets[i]) ? sets[i] : &c->allowed, t, sizeof t);
        xt_log_str(&e, names[i], t);
    }
    xt_log_end(&e);
}

void xt_cpus_helper(const xt_cpus_t *c, const char *name)
{
    if (c && c->any)
        xt_cpus_pin(&c->rest, name);
    char comm[16]; /* the kernel's limit, with its NUL */
    snprintf(comm, sizeof comm, "xt-%s", name);
    pthread_setname_np(pthread_self(), comm);
}

int xt_cpus_pin(const cpu_set_t *set, const char *thread)
{
    if (CPU_COUNT(set) == 0)
        return 0;
    int rc = pthread_setaffinity_np(pthread_self(), sizeof *set, set);
    xt_log_ev_t e;
    if (rc && xt_log_begin(&e, XT_LOG_ERROR, "could not pin a thread to its CPUs; it runs where the kernel puts it")) {
        xt_log_str(&e, "thread", thread);
        xt_log_str(&e, "error", strerror(rc));
        xt_log_end(&e);
    }
    return -rc;
}
