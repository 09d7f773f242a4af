/* histogram.h - a small HDR-style latency histogram (the CLI tools, the
 * market-data thread).
 *
 * Log-linear buckets over microseconds: values below 128 µs have a bucket
 * each (1 µs resolution); above, every power of two is split into 64
 * linear sub-buckets (at most 1/64 = 1.6% relative error), up to 2^40 µs
 * (about 12 days). Fixed size, no allocation; the exact minimum and
 * maximum are kept beside the buckets. */
#ifndef XT_SERVER_HISTOGRAM_H
#define XT_SERVER_HISTOGRAM_H

#include <stdint.h>

#define XT_HIST_LINEAR 128 /* values 0..127 have their own bucket */
#define XT_HIST_SUB 64     /* sub-buckets per power of two above that */
#define XT_HIST_MAX_EXP 40 /* values up to 2^40 - 1 */
#define XT_HIST_BUCKETS (XT_HIST_LINEAR + (XT_HIST_MAX_EXP - 7) * XT_HIST_SUB)

typedef struct xt_hist {
    uint64_t count;
    uint64_t min, max;
    uint64_t sum; /* of the values recorded (µs) */
    uint64_t b[XT_HIST_BUCKETS];
} xt_hist_t;

/* Empties h. */
void xt_hist_init(xt_hist_t *h);

/* Records one value (µs); values beyond 2^40 - 1 count as 2^40 - 1. */
void xt_hist_add(xt_hist_t *h, uint64_t v);

/* The value at quantile q (0..1): the highest value of the bucket that
 * holds it, capped at the exact maximum; 0 when h is empty. */
uint64_t xt_hist_quantile(const xt_hist_t *h, double q);

/* The number of values recorded in the buckets up to the one holding v:
 * the values <= v, plus at most the rest of v's bucket (1.6%). */
uint64_t xt_hist_count_le(const xt_hist_t *h, uint64_t v);

#endif
