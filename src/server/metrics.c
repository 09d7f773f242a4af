/* metrics.c - the published figures' storage and histograms (metrics.h),
 * and the Prometheus text helpers the md thread renders them with. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "server.h"
#include "xt/error.h"

const uint64_t xt_phist_bounds[XT_PHIST_BOUNDS] = {100,   250,    500,    1000,   2500,    5000,    10000,   25000,
                                                   50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void xt_phist_add(xt_phist_t *h, uint64_t v)
{
    unsigned i = 0;
    while (i < XT_PHIST_BOUNDS && v > xt_phist_bounds[i])
        i++;
    xt_ctr_add(&h->b[i], 1);
    xt_ctr_add(&h->sum, v);
}

int xt_metrics_init(xt_metrics_t *x, uint32_t n_inst, int64_t now_mono)
{
    memset(x, 0, sizeof *x);
    x->n_inst = n_inst;
    x->resting = calloc(n_inst ? n_inst : 1, sizeof *x->resting);
    x->levels = calloc(n_inst ? n_inst : 1, sizeof *x->levels);
    atomic_store(&x->last_snapshot_mono, now_mono);
    atomic_store(&x->config_applied_ns, xt_system_ns()); /* the start's config; the host's time: for time() */
    if (!x->resting || !x->levels) {
        xt_metrics_destroy(x);
        return XT_ENOMEM;
    }
    return 0;
}

void xt_metrics_reload(xt_metrics_t *x, int refused, int needs_restart)
{
    xt_ctr_add(&x->reloads[refused != 0], 1);
    atomic_store_explicit(&x->reload_refused, refused != 0, memory_order_relaxed);
    if (refused)
        return;
    atomic_store_explicit(&x->config_applied_ns, xt_system_ns(), memory_order_relaxed);
    atomic_store_explicit(&x->reload_needs_restart, needs_restart != 0, memory_order_relaxed);
}

void xt_metrics_destroy(xt_metrics_t *x)
{
    free(x->resting);
    free(x->levels);
    x->resting = x->levels = NULL;
}

int xt_metrics_cmd_index(int kind)
{
    switch (xt_req_message(kind)) {
    case XT_REQ_NEW: return XT_MET_NEW;
    case XT_REQ_CANCEL: return XT_MET_CANCEL;
    case XT_REQ_AMEND: return XT_MET_AMEND;
    case XT_REQ_MASS_CANCEL: return XT_MET_MASS_CANCEL;
    case XT_REQ_STATUS: return XT_MET_STATUS;
    default: return -1;
    }
}

void xt_text_printf(xt_text_t *t, const char *fmt, ...)
{
    if (t->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len)
        t->over = 1;
    else
        t->len += (size_t)n;
}

void xt_text_help(xt_text_t *t, const char *name, const char *type, const char *help)
{
    xt_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "0.0001" for 100 µs (v = 100, digits = 6): seconds without trailing
 * zeros, from v in units of 10^-digits s. */
static void put_le(xt_text_t *t, uint64_t v, int digits)
{
    uint64_t per_s = digits == 9 ? 1000000000ULL : 1000000ULL;
    char b[40];
    snprintf(b, sizeof b, "%llu.%0*llu", (unsigned long long)(v / per_s), digits, (unsigned long long)(v % per_s));
    size_t n = strlen(b);
    while (b[n - 1] == '0')
        b[--n] = 0;
    if (b[n - 1] == '.')
        b[--n] = 0;
    xt_text_printf(t, "%s", b);
}

/* +Inf, _sum (sum in units of 10^-digits s) and _count. */
static void put_tail(xt_text_t *t, const char *name, uint64_t count, uint64_t sum, int digits)
{
    uint64_t per_s = digits == 9 ? 1000000000ULL : 1000000ULL;
    xt_text_printf(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %llu.%0*llu\n%s_count %llu\n", name,
                   (unsigned long long)count, name, (unsigned long long)(sum / per_s), digits,
                   (unsigned long long)(sum % per_s), name, (unsigned long long)count);
}

/* A histogram in seconds: cumulative le buckets from its per-bucket
 * counts (units of 10^-digits s), +Inf, _sum and _count. */
static void put_phist(xt_text_t *t, const char *name, const char *help, const xt_phist_t *h, int digits)
{
    xt_text_help(t, name, "histogram", help);
    uint64_t cum = 0;
    for (unsigned i = 0; i < XT_PHIST_BOUNDS; i++) {
        cum += xt_ctr_get(&h->b[i]);
        xt_text_printf(t, "%s_bucket{le=\"", name);
        put_le(t, xt_phist_bounds[i], digits);
        xt_text_printf(t, "\"} %llu\n", (unsigned long long)cum);
    }
    /* the count and the buckets are read apart: +Inf is their sum, so it is never below a bucket */
    put_tail(t, name, cum + xt_ctr_get(&h->b[XT_PHIST_BOUNDS]), xt_ctr_get(&h->sum), digits);
}

void xt_text_phist(xt_text_t *t, const char *name, const char *help, const xt_phist_t *h)
{
    put_phist(t, name, help, h, 6);
}

void xt_text_nhist(xt_text_t *t, const char *name, const char *help, const xt_nhist_t *h)
{
    put_phist(t, name, help, h, 9);
}

void xt_text_hist(xt_text_t *t, const char *name, const char *help, const xt_hist_t *h)
{
    xt_text_help(t, name, "histogram", help);
    for (unsigned i = 0; i < XT_PHIST_BOUNDS; i++) {
        xt_text_printf(t, "%s_bucket{le=\"", name);
        put_le(t, xt_phist_bounds[i], 6);
        xt_text_printf(t, "\"} %llu\n", (unsigned long long)xt_hist_count_le(h, xt_phist_bounds[i]));
    }
    put_tail(t, name, h->count, h->sum, 6);
}
