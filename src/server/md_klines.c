/* md_klines.c - GET /api/v1/klines (docs/rest.md), in the md thread: the
 * closed candles of one instrument and interval from its history file
 * (kline_store.h, docs/kline-history.md), then the last few handed to its
 * writer, which may not have written them yet (md_history.h), then the
 * current candle from memory, each when its
 * open_time is in [start, end]. The file's records are fixed-size in
 * strictly increasing open_time: a binary search finds the range (a few
 * 8-byte preads), one pread of at most `limit` records reads it, so a
 * request costs the md thread a bounded, small read. Candles go into the
 * md server's buffers (sized at start), never into allocated memory. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/le.h"
#include "journal/io.h"
#include "md_internal.h"
#include "md_rest.h"
#include "xt/error.h"

#define KL_LIMIT_DEFAULT 500
#define KL_LIMIT_MAX 1000
/* The records of one request are read into m->scratch (msg_bytes[MSG_LARGE] >= LARGE_MIN). */
_Static_assert((size_t)KL_LIMIT_MAX *XT_KL_RECORD_SIZE <= LARGE_MIN, "klines: scratch too small for limit");

/* The candles collected: a window of at most lim, the newest kept when
 * !from_start (a ring: first is the oldest), the oldest otherwise. */
typedef struct kl_acc {
    xt_md_candle_t *c;
    uint32_t lim, n, first;
    int from_start;
    int64_t start, end, last; /* last: open_time of the newest taken (INT64_MIN: none) */
} kl_acc_t;

static void take(kl_acc_t *a, const xt_md_candle_t *c)
{
    if (c->open_time < a->start || c->open_time > a->end || c->open_time <= a->last)
        return;
    if (a->n < a->lim) {
        a->c[(a->first + a->n++) % a->lim] = *c;
    } else if (!a->from_start) {
        a->c[a->first] = *c;
        a->first = (a->first + 1) % a->lim;
    } else {
        return;
    }
    a->last = c->open_time;
}

/* open_time of record i, or INT64_MAX when it cannot be read. */
static int64_t open_time_at(int fd, uint64_t i)
{
    uint8_t b[8];
    off_t off = (off_t)(XT_KL_HEADER_SIZE + i * XT_KL_RECORD_SIZE);
    return pread(fd, b, sizeof b, off) == (ssize_t)sizeof b ? (int64_t)xt_get64(b) : INT64_MAX;
}

/* The first record whose open_time is >= t (after: > t), in 0..n. */
static uint64_t search(int fd, uint64_t n, int64_t t, int after)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t v = open_time_at(fd, mid);
        if (after ? v <= t : v < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The file's records in range, read into m->scratch and taken. */
static void from_file(mds_t *m, const char *symbol, int interval, kl_acc_t *a)
{
    char path[XT_PATH_MAX + 64];
    uint8_t h[XT_KL_HEADER_SIZE];
    xt_kl_header_t hd;
    struct stat sb;
    if (xt_kl_path(path, sizeof path, m->hist->st.dir, symbol, interval, "") != 0)
        return;
    int fd = xt_open_regular(path, O_RDONLY, 0); /* a FIFO there must not hold the market-data thread */
    if (fd < 0)
        return;
    if (fstat(fd, &sb) != 0 || sb.st_size < XT_KL_HEADER_SIZE || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
        xt_kl_header_decode(h, &hd, path, sizeof path) != 0) {
        close(fd);
        return;
    }
    uint64_t n = ((uint64_t)sb.st_size - XT_KL_HEADER_SIZE) / XT_KL_RECORD_SIZE; /* a torn tail is not read */
    uint64_t from, to;
    if (a->from_start) {
        from = search(fd, n, a->start, 0);
        to = n - from > a->lim ? from + a->lim : n;
    } else {
        to = search(fd, n, a->end, 1);
        from = to > a->lim ? to - a->lim : 0;
    }
    size_t bytes = (size_t)(to - from) * XT_KL_RECORD_SIZE;
    ssize_t got = bytes ? pread(fd, m->scratch, bytes, (off_t)(XT_KL_HEADER_SIZE + from * XT_KL_RECORD_SIZE)) : 0;
    close(fd);
    for (ssize_t off = 0; got > 0 && off + XT_KL_RECORD_SIZE <= got; off += XT_KL_RECORD_SIZE) {
        xt_md_candle_t c;
        if (xt_kl_record_decode((const uint8_t *)m->scratch + off, &c) != 0)
            break; /* a bad record: what comes after it is not trusted either */
        take(a, &c);
    }
}

/* The last closed candles handed to the writer, which may not have
 * written them yet (md_history.h): those newer than the file's. */
static void from_recent(mds_t *m, uint32_t id, int interval, kl_acc_t *a)
{
    xt_md_candle_t c[XT_MD_HISTORY_RECENT];
    uint32_t n = xt_md_history_recent(m->hist, id, interval, c);
    for (uint32_t i = 0; i < n; i++)
        take(a, &c[i]);
}

/* The parameters but symbol and limit; 0 or 400 with why set. */
static int params(const char *query, int *interval, kl_acc_t *a, char *why, size_t n)
{
    char b[16];
    int k = xt_query_get(query, "interval", b, sizeof b);
    if (k == XT_ENOENT) {
        snprintf(why, n, "missing parameter interval");
        return 400;
    }
    if (k <= 0 || (*interval = xt_kline_interval_parse(b, (size_t)k)) < 0) {
        snprintf(why, n, "bad parameter interval: expected one of 1m 3m 5m 15m 30m 1h 2h 4h 1d 1w");
        return 400;
    }
    const char *names[2] = {"start", "end"};
    int64_t *vals[2] = {&a->start, &a->end};
    for (int i = 0; i < 2; i++)
        if (xt_query_i64(query, names[i], i ? INT64_MAX : INT64_MIN, INT64_MIN, INT64_MAX, vals[i]) != 0) {
            snprintf(why, n, "bad parameter %s: expected an integer, nanoseconds since the epoch (UTC)", names[i]);
            return 400;
        }
    if (a->start > a->end) {
        snprintf(why, n, "bad parameter end: before start");
        return 400;
    }
    a->from_start = xt_query_get(query, "start", b, sizeof b) != XT_ENOENT;
    uint64_t lim;
    if (xt_query_u64(query, "limit", KL_LIMIT_DEFAULT, KL_LIMIT_MAX, 0, &lim) != 0) {
        snprintf(why, n, "bad parameter limit: expected an integer 1..%d", KL_LIMIT_MAX);
        return 400;
    }
    a->lim = (uint32_t)lim;
    return 0;
}

size_t xt_mds_klines_body(mds_t *m, const xt_md_inst_t *in, const char *query, char *why, size_t whylen, int *code)
{
    int interval = 0;
    kl_acc_t a = {.c = (xt_md_candle_t *)(void *)m->http_out, .last = INT64_MIN};
    if ((*code = params(query, &interval, &a, why, whylen)) != 0)
        return 0;
    /* the window lives in http_out, then in order in scratch: both hold KL_LIMIT_MAX candles (LARGE_MIN) */
    _Static_assert(KL_LIMIT_MAX * sizeof(xt_md_candle_t) <= LARGE_MIN, "the klines window fits the buffers");
    uint32_t id = xt_md_inst_id(in);
    const xt_md_sym_t *sym = &m->pub[id].sym[XT_TH_LIVE];
    if (m->hist) {
        from_file(m, sym->symbol, interval, &a);
        from_recent(m, id, interval, &a);
    }
    const xt_md_candle_t *cur = xt_md_candle(in, interval);
    if (cur)
        take(&a, cur);
    xt_md_candle_t *ordered = (xt_md_candle_t *)(void *)m->scratch;
    for (uint32_t i = 0; i < a.n; i++)
        ordered[i] = a.c[(a.first + i) % a.lim];
    const inst_pub_t *p = &m->pub[id];
    *code = 200;
    return xt_md_enc_klines(m->http_body, m->http_cap, sym, interval, p->last_ts ? p->last_ts : m->now, ordered, a.n);
}
