/* histogram.c - log-linear latency buckets (histogram.h). Bucket of v:
 * v itself below 128; else with e = floor(log2 v) - 6 (so that v >> e is
 * in 64..127), 128 + (e - 1) * 64 + (v >> e) - 64. */
#include "histogram.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < XT_HIST_LINEAR)
        return (unsigned)v;
    unsigned e = (unsigned)(63 - __builtin_clzll(v)) - 6;
    return XT_HIST_LINEAR + (e - 1) * XT_HIST_SUB + (unsigned)(v >> e) - XT_HIST_SUB;
}

/* The highest value that falls into bucket i. */
static uint64_t bucket_high(unsigned i)
{
    if (i < XT_HIST_LINEAR)
        return i;
    unsigned e = (i - XT_HIST_LINEAR) / XT_HIST_SUB + 1;
    uint64_t sub = (i - XT_HIST_LINEAR) % XT_HIST_SUB + XT_HIST_SUB;
    return ((sub + 1) << e) - 1;
}

void xt_hist_init(xt_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

void xt_hist_add(xt_hist_t *h, uint64_t v)
{
    const uint64_t top = (1ULL << XT_HIST_MAX_EXP) - 1;
    if (v > top)
        v = top;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->b[bucket_of(v)]++;
}

uint64_t xt_hist_quantile(const xt_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.5), seen = 0;
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < XT_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

uint64_t xt_hist_count_le(const xt_hist_t *h, uint64_t v)
{
    const uint64_t top = (1ULL << XT_HIST_MAX_EXP) - 1;
    unsigned last = bucket_of(v > top ? top : v);
    uint64_t n = 0;
    for (unsigned i = 0; i <= last; i++)
        n += h->b[i];
    return n;
}
