/* proc_stats.c - the process's memory, CPU, start time and limits from
 * /proc/self and getrusage/getrlimit (proc_stats.h). */
#include "proc_stats.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void xt_proc_memory(xt_proc_mem_t *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "Rss: %llu kB", &kb) == 1)
                m->resident = (uint64_t)kb << 10;
            else if (sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
                m->huge = (uint64_t)kb << 10;
        }
        fclose(f);
    }
    f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long long pages;
        long page = sysconf(_SC_PAGESIZE);
        if (fscanf(f, "%llu", &pages) == 1 && page > 0)
            m->virtual_b = (uint64_t)pages * (uint64_t)page;
        fclose(f);
    }
}

/* Fields 20 (num_threads) and 22 (starttime, clock ticks after boot) of
 * /proc/self/stat; counted after the command name's closing parenthesis,
 * which the name itself may contain. Returns 0 or -1. */
static int stat_fields(unsigned long long *threads, unsigned long long *start_ticks)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* after ") ": field 3 (state) .. */
    return sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %*s %llu", threads,
                  start_ticks) == 2
               ? 0
               : -1;
}

/* The boot time, seconds since the Unix epoch (/proc/stat "btime"), or 0. */
static unsigned long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long t = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &t) == 1)
            break;
    fclose(f);
    return t;
}

void xt_proc_metrics(xt_text_t *t)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        xt_text_help(t, "process_cpu_seconds_total", "counter", "User and system CPU time of all threads, seconds.");
        xt_text_printf(t, "process_cpu_seconds_total %.6f\n", cpu);
    }
    xt_proc_mem_t m;
    xt_proc_memory(&m);
    xt_text_help(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    xt_text_printf(t, "process_resident_memory_bytes %llu\n", (unsigned long long)m.resident);
    xt_text_help(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    xt_text_printf(t, "process_virtual_memory_bytes %llu\n", (unsigned long long)m.virtual_b);
    xt_text_help(t, "xt_memory_huge_pages_bytes", "gauge",
                 "Resident memory on transparent huge pages (AnonHugePages), bytes.");
    xt_text_printf(t, "xt_memory_huge_pages_bytes %llu\n", (unsigned long long)m.huge);
    unsigned long long threads, start;
    long hz = sysconf(_SC_CLK_TCK);
    unsigned long long boot = boot_time();
    if (stat_fields(&threads, &start) == 0) {
        xt_text_help(t, "process_threads", "gauge", "Threads of the process.");
        xt_text_printf(t, "process_threads %llu\n", threads);
        if (boot && hz > 0) {
            xt_text_help(t, "process_start_time_seconds", "gauge",
                         "Start time of the process since the Unix epoch, seconds.");
            xt_text_printf(t, "process_start_time_seconds %.2f\n", (double)boot + (double)start / (double)hz);
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        xt_text_help(t, "process_max_fds", "gauge", "The open-file limit (RLIMIT_NOFILE, soft) after start-up.");
        xt_text_printf(t, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}
