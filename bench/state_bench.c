/* state_bench.c - `xtrading bench fills` and `bench mdstate`
 * (state_bench.h). fills: a full fills table, then per run the old way
 * (xt_fills_state_encode and the checksum, timed on this thread) and a
 * checkpoint (xt_fills_ckpt_begin here, xt_fills_ckpt_run and the
 * checksum on a helper thread while this thread adds fills to random
 * accounts, each add timed). mdstate: the same with an md of trading
 * instruments (xt_md_state_encode, xt_md_ckpt_*) while this thread
 * consumes one-trade commands. The two ways must give the same bytes. */
#include "state_bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/crc32c.h"
#include "md/md.h"
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
    xt_fills_t *f; /* the checkpoint it runs: of f, else of md */
    xt_md_t *md;
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
    if (h->f)
        xt_fills_ckpt_run(h->f);
    else
        xt_md_ckpt_run(h->md);
    h->crc = xt_crc32c(h->buf, h->n);
    h->us = now_us() - t0;
    atomic_store_explicit(&h->done, 1, memory_order_release);
    return NULL;
}

/* Runs helper h on a thread while the caller's thread does step(ctx)
 * (one timed add or command, its µs) until the helper is done; the count of
 * steps, with the longest in *longest and their rate in *per_s. */
static uint64_t race(helper_t *h, double (*step)(void *ctx), void *ctx, double *longest, double *per_s)
{
    pthread_t th;
    uint64_t n = 0;
    double a0 = now_us();
    *longest = 0;
    if (pthread_create(&th, NULL, helper_main, h) != 0) {
        helper_main(h);
    } else {
        while (!atomic_load_explicit(&h->done, memory_order_acquire)) {
            double d = step(ctx);
            *longest = d > *longest ? d : *longest;
            n++;
        }
        pthread_join(th, NULL);
    }
    double span = now_us() - a0;
    *per_s = span > 0 ? (double)n * 1e6 / span : 0;
    return n;
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

/* Writes every page of b (not zeros: malloc then memset 0 may become a
 * calloc that leaves fresh pages untouched). */
static void fault_in(uint8_t *b, size_t n)
{
    memset(b, 0xa5, n);
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

typedef struct add_step {
    xt_fills_t *f;
    flow_t *w;
} add_step_t;

static double one_add(void *ctx)
{
    add_step_t *a = ctx;
    return timed_adds(a->f, a->w, 1);
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
    add_step_t st = {f, w};
    double longest;
    uint64_t adds = race(&h, one_add, &st, &longest, adds_per_s);
    xt_fills_ckpt_end(f);
    *helper = h.us / 1e3;
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
    fault_in(ref, n); /* the server's buffer is reused from one snapshot to the next */
    fault_in(ck, n);
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

/* ---- bench mdstate ---------------------------------------------------------------- */

#define MIN_NS INT64_C(60000000000)
#define DAY0_NS INT64_C(1795132800000000000) /* a midnight, UTC */

typedef struct md_flow {
    xt_md_t md;
    uint64_t trade_id, rng;
    int64_t ts;
} md_flow_t;

/* One command: a trade on a random instrument at ts; the time advanced
 * as the server's timer does, every 100 ms of it. */
static void md_command(md_flow_t *w, uint32_t instruments)
{
    w->rng = w->rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    uint32_t inst = 1 + (uint32_t)((w->rng >> 33) % instruments);
    xt_event_t ev = {.type = XT_EV_TRADE,
                     .side = (uint8_t)(w->rng >> 20 & 1),
                     .instrument = inst,
                     .price = 100000 + (int64_t)(w->rng >> 40) % 500,
                     .qty = 1 + (int64_t)(w->rng >> 50) % 20};
    ev.u.trade.trade_id = ++w->trade_id;
    xt_event_batch_t b = {w->trade_id, w->ts, 0, 1, 1, &ev};
    xt_md_on_batch(&w->md, &b);
    int64_t before = w->ts;
    w->ts += 20000; /* 20 µs of event time per command */
    if (w->ts / 100000000 != before / 100000000)
        xt_md_advance(&w->md, w->ts);
}

/* The longest of n commands, in µs. */
static double timed_commands(md_flow_t *w, uint32_t instruments, uint64_t n)
{
    double longest = 0;
    for (uint64_t k = 0; k < n; k++) {
        double t0 = now_us();
        md_command(w, instruments);
        double d = now_us() - t0;
        longest = d > longest ? d : longest;
    }
    return longest;
}

/* A trading day's state: every instrument trades every minute of
 * `minutes`, its tape full. */
static int md_fill(md_flow_t *w, const mdstate_bench_opts_t *o)
{
    xt_md_config_t c = {.max_instruments = o->instruments, .max_levels = 8, .tape = o->tape};
    int rc = xt_md_init(&w->md, &c, NULL, NULL);
    if (rc)
        return rc;
    char sym[32];
    for (uint32_t i = 0; i < o->instruments; i++) {
        snprintf(sym, sizeof sym, "S%06u", (unsigned)i + 1);
        if ((rc = xt_md_add_instrument(&w->md, i + 1, sym, 100000, 0)) != 0)
            return rc;
    }
    uint64_t per_minute = o->tape / o->minutes + 1;
    w->ts = DAY0_NS + INT64_C(540) * MIN_NS; /* 09:00 */
    for (uint32_t m = 0; m < o->minutes; m++)
        for (uint32_t i = 0; i < o->instruments; i++)
            for (uint64_t k = 0; k < per_minute; k++) {
                xt_event_t ev = {.type = XT_EV_TRADE,
                                 .side = (uint8_t)(k % 2),
                                 .instrument = i + 1,
                                 .price = 100000 + (int64_t)(k % 100),
                                 .qty = 1 + (int64_t)(k % 7)};
                ev.u.trade.trade_id = ++w->trade_id;
                xt_event_batch_t b = {w->trade_id, w->ts + (int64_t)m * MIN_NS, 0, 1, 1, &ev};
                xt_md_on_batch(&w->md, &b);
            }
    w->ts += (int64_t)o->minutes * MIN_NS;
    xt_md_advance(&w->md, w->ts);
    return 0;
}

typedef struct cmd_step {
    md_flow_t *w;
    uint32_t instruments;
} cmd_step_t;

static double one_command(void *ctx)
{
    cmd_step_t *c = ctx;
    return timed_commands(c->w, c->instruments, 1);
}

static void md_run(md_flow_t *w, const mdstate_bench_opts_t *o, uint8_t *ref, uint8_t *ck, size_t cap,
                   mdstate_bench_result_t *r, double *v /* whole, begin, helper, rate */)
{
    double t0 = now_us();
    size_t n = xt_md_state_encode(&w->md, ref, cap);
    uint32_t crc = xt_crc32c(ref, n);
    v[0] = (now_us() - t0) / 1e3;
    t0 = now_us();
    size_t size = xt_md_ckpt_begin(&w->md, ck, cap);
    v[1] = (now_us() - t0) / 1e3;
    helper_t h = {.md = &w->md, .buf = ck, .n = size};
    cmd_step_t st = {w, o->instruments};
    double longest;
    uint64_t cmds = race(&h, one_command, &st, &longest, &v[3]);
    xt_md_ckpt_end(&w->md);
    v[2] = h.us / 1e3;
    r->bytes = n;
    r->longest_cmd_us = longest > r->longest_cmd_us ? longest : r->longest_cmd_us;
    r->identical &= size == n && h.crc == crc && memcmp(ref, ck, n) == 0;
    double quiet = timed_commands(w, o->instruments, cmds > 0 ? cmds : 1);
    r->quiet_cmd_us = quiet > r->quiet_cmd_us ? quiet : r->quiet_cmd_us;
}

int bench_mdstate(const mdstate_bench_opts_t *o, mdstate_bench_result_t *r)
{
    memset(r, 0, sizeof *r);
    if (o->instruments == 0 || o->instruments > (1u << 24) || o->tape == 0 || o->tape > XT_MD_TAPE_MAX ||
        o->minutes == 0 || o->minutes > XT_MD_TIMELINE_MAX || o->runs < 1 || o->runs > RUNS_MAX)
        return XT_EINVAL;
    md_flow_t *w = calloc(1, sizeof *w);
    if (!w)
        return XT_ENOMEM;
    w->rng = 1;
    int rc = md_fill(w, o);
    size_t cap = rc ? 0 : xt_md_state_size(&w->md) / 8 * 9 + 4096; /* room for the minutes the commands add */
    uint8_t *ref = rc ? NULL : malloc(cap), *ck = rc ? NULL : malloc(cap);
    if (!rc && (!ref || !ck))
        rc = XT_ENOMEM;
    if (!rc) {
        fault_in(ref, cap); /* the server's buffer is reused from one snapshot to the next */
        fault_in(ck, cap);
        double v[4][RUNS_MAX];
        r->identical = 1;
        for (int k = 0; k < o->runs; k++) {
            double one[4];
            md_run(w, o, ref, ck, cap, r, one);
            for (int j = 0; j < 4; j++)
                v[j][k] = one[j];
            r->begin_max_ms = one[1] > r->begin_max_ms ? one[1] : r->begin_max_ms;
        }
        r->whole_ms = median(v[0], o->runs);
        r->begin_ms = median(v[1], o->runs);
        r->helper_ms = median(v[2], o->runs);
        r->commands_per_s = median(v[3], o->runs);
    }
    free(ref);
    free(ck);
    xt_md_destroy(&w->md);
    free(w);
    return rc;
}
