/* proc_stats.c - the process's memory, CPU, start time and limits from
 * /proc/self and getrusage/getrlimit (proc_stats.h). */
#include "proc_stats.h"

#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Fields 20 (num_threads), 22 (starttime, clock ticks after boot), 23
 * (vsize, bytes) and 24 (rss, pages) of /proc/self/stat, which the kernel
 * fills without taking the address space's lock; counted after the
 * command name's closing parenthesis, which the name itself may contain.
 * Returns 0 or -1. */
static int stat_fields(unsigned long long v[4])
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    /* from field 3 (state) on */
    return sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %*s %llu %llu %llu",
                  &v[0], &v[1], &v[2], &v[3]) == 4
               ? 0
               : -1;
}

/* AnonHugePages of /proc/self/smaps_rollup into m (have_huge, huge). */
static void huge_pages(xt_proc_mem_t *m)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "re");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) {
                m->huge = (uint64_t)kb << 10;
                m->have_huge = 1;
                break;
            }
        fclose(f);
    }
}

/* The fields of /proc/self/stat into m (have_stat and the four after it). */
static void stat_memory(xt_proc_mem_t *m)
{
    unsigned long long v[4];
    long page = sysconf(_SC_PAGESIZE);
    if (stat_fields(v) == 0 && page > 0) {
        m->have_stat = 1;
        m->threads = v[0];
        m->start_tck = v[1];
        m->virtual_b = v[2];
        m->resident = v[3] * (unsigned long long)page;
    }
}

void xt_proc_memory(xt_proc_mem_t *m)
{
    memset(m, 0, sizeof *m);
    stat_memory(m);
    huge_pages(m);
}

/* The process's start, seconds since the Unix epoch: the boot time
 * (/proc/stat "btime") plus its start after boot. 0 where unreadable. */
static double start_time(unsigned long long start_ticks)
{
    FILE *f = fopen("/proc/stat", "re");
    long hz = sysconf(_SC_CLK_TCK);
    if (!f)
        return 0;
    char line[256];
    unsigned long long boot = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &boot) == 1)
            break;
    fclose(f);
    return boot && hz > 0 ? (double)boot + (double)start_ticks / (double)hz : 0;
}

void xt_proc_metrics(xt_text_t *t)
{
    static double started; /* read once: only the market-data thread renders */
    /* smaps_rollup at most once a second: a client asking for /metrics
     * back to back would else keep this thread walking page tables
     * (~0.3 ms a read), ahead of every market-data client's messages */
    static xt_proc_mem_t huge;
    static int64_t huge_read; /* 0: never */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        xt_text_help(t, "process_cpu_seconds_total", "counter", "User and system CPU time of all threads, seconds.");
        xt_text_printf(t, "process_cpu_seconds_total %.6f\n", cpu);
    }
    xt_proc_mem_t m = {0};
    stat_memory(&m);
    int64_t now = xt_mono_ns();
    if (!huge_read || now - huge_read >= 1000000000) {
        huge = (xt_proc_mem_t){0};
        huge_pages(&huge);
        huge_read = now;
    }
    m.have_huge = huge.have_huge;
    m.huge = huge.huge;
    if (m.have_stat) { /* a series that cannot be read is left out, never sent as 0 */
        xt_text_help(t, "process_threads", "gauge", "Threads of the process.");
        xt_text_printf(t, "process_threads %llu\n", (unsigned long long)m.threads);
        if (started == 0)
            started = start_time(m.start_tck);
        if (started > 0) {
            xt_text_help(t, "process_start_time_seconds", "gauge",
                         "Start time of the process since the Unix epoch, seconds.");
            xt_text_printf(t, "process_start_time_seconds %.2f\n", started);
        }
        xt_text_help(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        xt_text_printf(t, "process_virtual_memory_bytes %llu\n", (unsigned long long)m.virtual_b);
        xt_text_help(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        xt_text_printf(t, "process_resident_memory_bytes %llu\n", (unsigned long long)m.resident);
    }
    if (m.have_huge) {
        xt_text_help(t, "xt_memory_huge_pages_bytes", "gauge",
                     "Resident memory on transparent huge pages (AnonHugePages), bytes.");
        xt_text_printf(t, "xt_memory_huge_pages_bytes %llu\n", (unsigned long long)m.huge);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        xt_text_help(t, "process_max_fds", "gauge", "The open-file limit (RLIMIT_NOFILE, soft) after start-up.");
        xt_text_printf(t, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}
