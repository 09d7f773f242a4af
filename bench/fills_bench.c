/* fills_bench.c - `xtrading bench fills` (fills_bench.h): a full fills
 * table, then per run the old way (xt_fills_state_encode and the
 * checksum, timed on this thread) and a checkpoint (xt_fills_ckpt_begin
 * here, xt_fills_ckpt_run and the checksum on a helper thread while this
 * thread adds fills to random accounts, each add timed). The two must
 * give the same bytes. */
#include "fills_bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/crc32c.h"
#include "server/md_fills.h"
#include "xt/error.h"

#define RUNS_MAX 15

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

typedef struct helper {
    xt_fills_t *f;
    const uint8_t *buf;
    size_t n;
    uint32_t crc;
    double us;
    _Atomic int done;
} helper_t;

static void *helper_main(void *arg)
{
    helper_t *h = arg;
    double t0 = now_us();
    xt_fills_ckpt_run(h->f);
    h->crc = xt_crc32c(h->buf, h->n);
    h->us = now_us() - t0;
    atomic_store_explicit(&h->done, 1, memory_order_release);
    return NULL;
}

typedef struct flow {
    uint64_t id, rng;
    uint32_t accounts;
} flow_t;

/* One more fill: to account 1 + i % accounts when i is given, else to a
 * random one (as trades come). */
static void add_one(xt_fills_t *f, flow_t *w, const uint64_t *i)
{
    w->rng = w->rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    uint32_t account = 1 + (uint32_t)((i ? *i : w->rng >> 33) % w->accounts);
    uint64_t id = ++w->id;
    xt_fill_t x = {.trade_id = id,
                   .order_id = (int64_t)id * 2,
                   .price = 100000 + (int64_t)(id % 1000),
                   .qty = 1 + (int64_t)(id % 50),
                   .ts = (int64_t)id * 1000,
                   .instrument = (uint32_t)(id % 4),
                   .side = (uint8_t)(id % 2),
                   .liquidity = (uint8_t)(id / 2 % 2)};
    xt_fills_add(f, account, &x);
}

/* The longest of n adds, in µs. */
static double timed_adds(xt_fills_t *f, flow_t *w, uint64_t n)
{
    double longest = 0;
    for (uint64_t k = 0; k < n; k++) {
        double t0 = now_us();
        add_one(f, w, NULL);
        double d = now_us() - t0;
        longest = d > longest ? d : longest;
    }
    return longest;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One run: the old way into ref, then a checkpoint into ck raced by adds. */
static void one_run(xt_fills_t *f, flow_t *w, uint8_t *ref, uint8_t *ck, size_t n, fills_bench_result_t *r,
                    double *whole, double *encode, double *begin, double *helper, double *adds_per_s)
{
    double t0 = now_us();
    xt_fills_state_encode(f, ref);
    double t1 = now_us();
    uint32_t crc = xt_crc32c(ref, n);
    *whole = (now_us() - t0) / 1e3;
    *encode = (t1 - t0) / 1e3;

    t0 = now_us();
    size_t size = xt_fills_state_size(f); /* md_state.c sizes its buffer first too */
    xt_fills_ckpt_begin(f, ck);
    *begin = (now_us() - t0) / 1e3;
    helper_t h = {.f = f, .buf = ck, .n = size};
    pthread_t th;
    uint64_t adds = 0;
    double longest = 0, a0 = now_us();
    if (pthread_create(&th, NULL, helper_main, &h) != 0) {
        helper_main(&h);
    } else {
        while (!atomic_load_explicit(&h.done, memory_order_acquire)) {
            double d = timed_adds(f, w, 1);
            longest = d > longest ? d : longest;
            adds++;
        }
        pthread_join(th, NULL);
    }
    double span = now_us() - a0;
    xt_fills_ckpt_end(f);
    *helper = h.us / 1e3;
    *adds_per_s = span > 0 ? (double)adds * 1e6 / span : 0;
    r->longest_add_us = longest > r->longest_add_us ? longest : r->longest_add_us;
    r->identical &= size == n && h.crc == crc && memcmp(ref, ck, n) == 0;
    double quiet = timed_adds(f, w, adds > 0 ? adds : 1);
    r->quiet_add_us = quiet > r->quiet_add_us ? quiet : r->quiet_add_us;
}

int bench_fills(const fills_bench_opts_t *o, fills_bench_result_t *r)
{
    memset(r, 0, sizeof *r);
    if (o->accounts == 0 || o->per_account == 0 || o->runs < 1 || o->runs > RUNS_MAX)
        return XT_EINVAL;
    xt_fills_t f;
    int rc = xt_fills_init(&f, o->accounts, o->per_account);
    if (rc)
        return rc;
    flow_t w = {.rng = 1, .accounts = o->accounts};
    for (uint64_t i = 0; i < (uint64_t)o->accounts * o->per_account; i++) /* every ring full */
        add_one(&f, &w, &i);
    size_t n = xt_fills_state_size(&f);
    uint8_t *ref = malloc(n), *ck = malloc(n);
    if (!ref || !ck) {
        free(ref);
        free(ck);
        xt_fills_destroy(&f);
        return XT_ENOMEM;
    }
    memset(ref, 0, n); /* faulted in: the server's buffer is reused from one snapshot to the next */
    memset(ck, 0, n);
    double whole[RUNS_MAX], encode[RUNS_MAX], begin[RUNS_MAX], helper[RUNS_MAX], rate[RUNS_MAX];
    r->identical = 1;
    for (int k = 0; k < o->runs; k++) {
        one_run(&f, &w, ref, ck, n, r, &whole[k], &encode[k], &begin[k], &helper[k], &rate[k]);
        r->begin_max_ms = begin[k] > r->begin_max_ms ? begin[k] : r->begin_max_ms;
    }
    r->fills = (n - 4) / XT_FILL_STATE_REC;
    r->bytes = n;
    r->whole_ms = median(whole, o->runs);
    r->whole_encode_ms = median(encode, o->runs);
    r->begin_ms = median(begin, o->runs);
    r->helper_ms = median(helper, o->runs);
    r->adds_per_s = median(rate, o->runs);
    free(ref);
    free(ck);
    xt_fills_destroy(&f);
    return 0;
}
