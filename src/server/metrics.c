/* metrics.c - the published figures' storage and histograms (metrics.h),
 * and the Prometheus text helpers the md thread renders them with. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "xt/error.h"

const uint64_t xt_phist_bounds_us[XT_PHIST_BOUNDS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void xt_phist_add(xt_phist_t *h, uint64_t us)
{
    unsigned i = 0;
    while (i < XT_PHIST_BOUNDS && us > xt_phist_bounds_us[i])
        i++;
    xt_ctr_add(&h->b[i], 1);
    xt_ctr_add(&h->sum_us, us);
    xt_ctr_add(&h->count, 1);
}

int xt_metrics_init(xt_metrics_t *x, uint32_t n_inst, int64_t now_mono)
{
    memset(x, 0, sizeof *x);
    x->n_inst = n_inst;
    x->resting = calloc(n_inst ? n_inst : 1, sizeof *x->resting);
    x->levels = calloc(n_inst ? n_inst : 1, sizeof *x->levels);
    atomic_store(&x->last_snapshot_mono, now_mono);
    if (!x->resting || !x->levels) {
        xt_metrics_destroy(x);
        return XT_ENOMEM;
    }
    return 0;
}

void xt_metrics_destroy(xt_metrics_t *x)
{
    free(x->resting);
    free(x->levels);
    x->resting = x->levels = NULL;
}

int xt_metrics_cmd_index(int kind)
{
    switch (kind) {
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

/* "0.0001" for 100 µs: seconds without trailing zeros. */
static void put_le(xt_text_t *t, uint64_t us)
{
    char b[32];
    snprintf(b, sizeof b, "%llu.%06llu", (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
    size_t n = strlen(b);
    while (b[n - 1] == '0')
        b[--n] = 0;
    if (b[n - 1] == '.')
        b[--n] = 0;
    xt_text_printf(t, "%s", b);
}

static void put_tail(xt_text_t *t, const char *name, uint64_t count, uint64_t sum_us)
{
    xt_text_printf(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %llu.%06llu\n%s_count %llu\n", name,
                   (unsigned long long)count, name, (unsigned long long)(sum_us / 1000000),
                   (unsigned long long)(sum_us % 1000000), name, (unsigned long long)count);
}

void xt_text_phist(xt_text_t *t, const char *name, const char *help, const xt_phist_t *h)
{
    xt_text_help(t, name, "histogram", help);
    uint64_t b[XT_PHIST_BOUNDS + 1], cum = 0;
    for (unsigned i = 0; i <= XT_PHIST_BOUNDS; i++)
        b[i] = xt_ctr_get(&h->b[i]);
    for (unsigned i = 0; i < XT_PHIST_BOUNDS; i++) {
        cum += b[i];
        xt_text_printf(t, "%s_bucket{le=\"", name);
        put_le(t, xt_phist_bounds_us[i]);
        xt_text_printf(t, "\"} %llu\n", (unsigned long long)cum);
    }
    /* the count and the buckets are read apart: +Inf is their sum, so it is never below a bucket */
    put_tail(t, name, cum + b[XT_PHIST_BOUNDS], xt_ctr_get(&h->sum_us));
}

void xt_text_hist(xt_text_t *t, const char *name, const char *help, const xt_hist_t *h)
{
    xt_text_help(t, name, "histogram", help);
    for (unsigned i = 0; i < XT_PHIST_BOUNDS; i++) {
        xt_text_printf(t, "%s_bucket{le=\"", name);
        put_le(t, xt_phist_bounds_us[i]);
        xt_text_printf(t, "\"} %llu\n", (unsigned long long)xt_hist_count_le(h, xt_phist_bounds_us[i]));
    }
    put_tail(t, name, h->count, h->sum);
}
