/* fuzz_kline.c - libFuzzer target: K-line history files
 * (docs/kline-history.md) are read from the data directory at start, and a
 * disk can hold anything.
 *
 * The input is the whole file BTC-USDT.1m.kl in a private directory. The
 * codecs decode its header and each whole record; then a store (one
 * instrument, a pool of 4 records) adds BTC-USDT (tz +08:00, tick 0.01,
 * lot 0.0001) over it, is offered a flat candle (written as given), a
 * traded one and stale ones (flushed), and is opened again. An input whose
 * header checksum is wrong runs a second time with it corrected, so the
 * checks of the header's fields are reached too.
 *
 * Properties, from the doc and kline_store.h: no crash or out-of-bounds
 * access; a header or record that decodes had a good CRC32C and encodes
 * back to the same bytes (the header: those the format defines; all 128
 * when its zero fields are zero); at open, a file with a bad magic,
 * version, length, checksum or settings is renamed to NAME.kl.old as it
 * was, a good one keeps every byte up to its last record with a good
 * checksum (an incomplete record and bad ones after it cut, unless more
 * than one pool's worth: then set aside), a file shorter than a header is
 * emptied or set aside; candles not after the file's last record are
 * skipped, a flat one is written as market data closed it, and the file ends up
 * exactly as what was kept (or a new header in the doc's layout) followed
 * by the new records in the doc's layout; opening it again cuts nothing,
 * sets nothing aside and skips the same candles; no other file appears.
 * Any violation aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "journal/crc32c.h"
#include "server/kline_store.h"
#include "xt/decimal.h"
#include "xt/error.h"

#define HDR XT_KL_HEADER_SIZE
#define REC XT_KL_RECORD_SIZE
#define SYM "BTC-USDT"
#define TZ 28800
#define TICK ((xt_decimal_t){1, 2})
#define LOT ((xt_decimal_t){1, 4})
#define PENDING 4
#define FLUSH_MS 1
#define MS INT64_C(1000000)
#define T0 INT64_C(1704067200000000000) /* 2024-01-01 00:00 UTC */

static const char *dir; /* fuzz_dir */
static char path[XT_PATH_MAX], old[XT_PATH_MAX + 8];

/* ---- the format as the doc gives it ---------------------------------------- */

static void put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int crc_ok(const uint8_t *p, size_t len)
{
    return get(p + len - 4, 4) == xt_crc32c(p, len - 4);
}

/* The header of the instrument's 1m file. */
static void our_header(uint8_t *b)
{
    memset(b, 0, HDR);
    memcpy(b, "XTKLN001", 8); /* NOLINT(bugprone-not-null-terminated-result): 8 bytes, no NUL */
    put(b + 8, 1, 2);
    put(b + 10, HDR, 2);
    put(b + 12, REC, 2);
    put(b + 16, 60, 4);
    put(b + 20, (uint32_t)TZ, 4);
    put(b + 24, 1, 8);
    b[32] = 2;
    put(b + 33, 1, 8);
    b[41] = 4;
    memcpy(b + 48, SYM, sizeof SYM);
    put(b + 124, xt_crc32c(b, 124), 4);
}

static void our_record(uint8_t *r, const xt_md_candle_t *c)
{
    const int64_t v[6] = {c->open_time, c->open, c->high, c->low, c->close, c->volume};
    for (size_t i = 0; i < 6; i++)
        put(r + 8 * i, (uint64_t)v[i], 8);
    put(r + 48, (uint64_t)c->turnover, 8);
    put(r + 56, (uint64_t)(c->turnover >> 64), 8);
    put(r + 64, c->trades, 4);
    put(r + 68, xt_crc32c(r, 68), 4);
}

/* The fields the format defines (not its zero fields, the symbol's padding
 * after its NUL or the checksum, which covers them) are equal. */
static int same_defined(const uint8_t *a, const uint8_t *b)
{
    size_t sym = strnlen((const char *)b + 48, XT_KL_SYMBOL_BYTES);
    return memcmp(a, b, 15) == 0 && memcmp(a + 16, b + 16, 26) == 0 && sym < XT_KL_SYMBOL_BYTES &&
           memcmp(a + 48, b + 48, sym + 1) == 0;
}

static int zero_fields_zero(const uint8_t *b)
{
    static const uint8_t zero[52];
    size_t sym = strnlen((const char *)b + 48, XT_KL_SYMBOL_BYTES);
    for (size_t i = 48 + sym; i < 48 + XT_KL_SYMBOL_BYTES; i++)
        if (b[i])
            return 0;
    return b[15] == 0 && memcmp(b + 42, zero, 6) == 0 && memcmp(b + 72, zero, 52) == 0;
}

/* ---- the codecs on any bytes ------------------------------------------------ */

static void check_header_codec(const uint8_t *in)
{
    uint8_t *raw = malloc(HDR), *again = malloc(HDR); /* exact sizes: ASan sees any overread */
    CHECK(raw && again);
    memcpy(raw, in, HDR);
    xt_kl_header_t h;
    char why[160] = "";
    int rc = xt_kl_header_decode(raw, &h, why, sizeof why);
    if (rc == 0) {
        CHECK(crc_ok(raw, HDR) && memcmp(raw, XT_KL_MAGIC, 8) == 0);
        CHECK(h.interval >= 0 && h.interval < XT_KL_COUNT);
        CHECK(h.tz_offset_s > -86400 && h.tz_offset_s < 86400); /* the doc: within a day of UTC */
        CHECK(h.tick.m > 0 && h.tick.scale <= XT_DECIMAL_MAX_SCALE && h.lot.m > 0 &&
              h.lot.scale <= XT_DECIMAL_MAX_SCALE); /* positive units */
        CHECK(memchr(h.symbol, 0, sizeof h.symbol) != NULL && strlen(h.symbol) >= 1 && strlen(h.symbol) <= 16);
        xt_kl_header_encode(again, &h);
        CHECK(same_defined(again, raw));
        CHECK(!zero_fields_zero(raw) || memcmp(again, raw, HDR) == 0);
    } else {
        CHECK(rc == XT_ECORRUPT && why[0] != '\0');
    }
    free(raw);
    free(again);
}

static void check_record_codec(const uint8_t *in)
{
    uint8_t *raw = malloc(REC), *again = malloc(REC), *ours = malloc(REC);
    CHECK(raw && again && ours);
    memcpy(raw, in, REC);
    xt_md_candle_t c;
    if (xt_kl_record_decode(raw, &c) == 0) {
        CHECK(crc_ok(raw, REC) && c.closed == 1);
        xt_kl_record_encode(again, &c);
        our_record(ours, &c);
        CHECK(memcmp(again, raw, REC) == 0 && memcmp(ours, raw, REC) == 0);
    } else {
        CHECK(!crc_ok(raw, REC));
    }
    free(raw);
    free(again);
    free(ours);
}

/* ---- the store ------------------------------------------------------------- */

static void write_file(const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && (n == 0 || fwrite(d, 1, n, f) == n));
    CHECK(fclose(f) == 0);
}

/* The whole file, or NULL when it does not exist. */
static uint8_t *read_file(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    struct stat s;
    CHECK(fstat(fileno(f), &s) == 0);
    *n = (size_t)s.st_size;
    uint8_t *b = malloc(*n ? *n : 1);
    CHECK(b && (*n == 0 || fread(b, 1, *n, f) == *n));
    fclose(f);
    return b;
}

static int same_file(const char *p, const uint8_t *d, size_t n)
{
    size_t m;
    uint8_t *b = read_file(p, &m);
    int same = b && m == n && (n == 0 || memcmp(b, d, n) == 0);
    free(b);
    return same;
}

/* Only NAME.kl and NAME.kl.old can be in the directory. */
static void check_dir(int want_old)
{
    DIR *d = opendir(dir);
    CHECK(d);
    struct dirent *de;
    int has_old = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, SYM ".1m.kl") == 0)
            continue;
        CHECK(strcmp(de->d_name, SYM ".1m.kl.old") == 0);
        has_old = 1;
    }
    closedir(d);
    CHECK(has_old == want_old);
}

static void clear_dir(void)
{
    unlink(path);
    unlink(old);
}

static void open_store(xt_kl_store_t *st)
{
    xt_kl_config_t cfg = {.dir = dir, .max_instruments = 1, .pending = PENDING, .flush_ms = FLUSH_MS};
    CHECK(xt_kl_store_init(st, &cfg) == 0);
    CHECK(xt_kl_store_add(st, 0, SYM, TZ, TICK, LOT) == 0);
}

static xt_md_candle_t candle(int64_t t, int64_t o, int64_t h, int64_t l, int64_t c, int64_t v, uint32_t n)
{
    xt_md_candle_t k = {t, o, h, l, c, v, (__int128)c * v, n, 1};
    return k;
}

/* What opening must do with the file d[0..n): per the doc, the header
 * refused (bad magic, version, lengths, checksum) or for another symbol,
 * interval, tz, tick or lot sets the file aside; otherwise the incomplete
 * record and the records with a bad checksum at its end are cut, unless
 * they are more than one write can have carried (the pool). A header that
 * differs from ours only in its zero fields or padding is ambiguous in the
 * doc: the store must do what xt_kl_header_decode says. */
typedef struct expect {
    int aside;
    size_t keep;
    int has_last;
    int64_t last_open;
} expect_t;

static expect_t model(const uint8_t *d, size_t n)
{
    expect_t e = {0};
    uint8_t ours[HDR];
    our_header(ours);
    xt_kl_header_t h;
    int ok = crc_ok(d, HDR) && same_defined(d, ours);
    if (ok && !zero_fields_zero(d))
        ok = xt_kl_header_decode(d, &h, NULL, 0) == 0;
    if (!ok) {
        e.aside = 1;
        return e;
    }
    size_t keep = HDR + (n - HDR) / REC * REC;
    while (keep > HDR && !crc_ok(d + keep - REC, REC))
        keep -= REC;
    if (n - keep > (size_t)PENDING * REC) {
        e.aside = 1;
        return e;
    }
    e.keep = keep;
    if (keep > HDR) {
        e.has_last = 1;
        e.last_open = (int64_t)get(d + keep - REC, 8);
    }
    return e;
}

static void fuzz_store(const uint8_t *d, size_t n)
{
    clear_dir();
    write_file(d, n);
    xt_kl_store_t st;
    open_store(&st);

    /* at open */
    expect_t e = {.aside = -1};
    size_t m = 0;
    if (n >= HDR) {
        e = model(d, n);
    } else if (st.st.set_aside == 0) { /* a header torn at creation: emptied */
        uint8_t *b = read_file(path, &m);
        CHECK(b == NULL || m == 0);
        CHECK(st.st.truncated == (b ? n : 0));
        free(b);
        e.aside = 0;
    } else {
        e.aside = 1;
    }
    if (e.aside) {
        CHECK(st.st.set_aside == 1 && access(path, F_OK) != 0 && same_file(old, d, n));
    } else if (n >= HDR) {
        CHECK(st.st.set_aside == 0 && same_file(path, d, e.keep) && st.st.truncated == n - e.keep);
    }
    check_dir(e.aside);

    /* candles: stale ones skipped, a flat one as given */
    uint8_t *want = malloc(HDR + e.keep + (size_t)2 * REC);
    CHECK(want);
    size_t wn = e.keep;
    if (wn)
        memcpy(want, d, wn);
    else
        our_header(want), wn = HDR;
    if (e.has_last)
        CHECK(xt_kl_store_append(&st, 0, XT_KL_1M, &(xt_md_candle_t){.open_time = e.last_open, .closed = 1}) == 1);
    int64_t now = 1000 * MS;
    CHECK(xt_kl_store_tick(&st, now) == 0);
    int64_t t1 = e.has_last ? e.last_open + (e.last_open < INT64_MAX) : T0;
    int later = !e.has_last || e.last_open < INT64_MAX;
    xt_md_candle_t flat = candle(t1, 6, 6, 6, 6, 0, 0);
    CHECK(xt_kl_store_append(&st, 0, XT_KL_1M, &flat) == !later);
    if (later) {
        our_record(want + wn, &flat);
        wn += REC;
    }
    CHECK(xt_kl_store_tick(&st, now + FLUSH_MS * MS + 100 * MS) == 0);
    CHECK(same_file(path, want, wn)); /* without a later candle, what was kept */
    if (later && t1 < INT64_MAX) {
        xt_md_candle_t traded = candle(t1 + 1, 10, 12, 9, 11, 3, 2);
        CHECK(xt_kl_store_append(&st, 0, XT_KL_1M, &traded) == 0);
        CHECK(xt_kl_store_append(&st, 0, XT_KL_1M, &flat) == 1);
        our_record(want + wn, &traded);
        wn += REC;
    }
    CHECK(xt_kl_store_flush(&st) == 0);
    CHECK(st.st.errors == 0 && st.st.dropped == 0);
    CHECK(same_file(path, want, wn));
    check_dir(e.aside);
    xt_kl_store_destroy(&st);

    /* opened again: nothing to cut or set aside, the last candle skipped */
    open_store(&st);
    CHECK(st.st.truncated == 0 && st.st.set_aside == 0);
    if (wn > HDR) {
        xt_md_candle_t last;
        CHECK(xt_kl_record_decode(want + wn - REC, &last) == 0);
        CHECK(xt_kl_store_append(&st, 0, XT_KL_1M, &last) == 1);
    }
    CHECK(xt_kl_store_flush(&st) == 0);
    CHECK(same_file(path, want, wn));
    check_dir(e.aside);
    xt_kl_store_destroy(&st);
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir) {
        CHECK(xt_crc32c("123456789", 9) == 0xE3069283u);
        dir = fuzz_dir("kline");
        CHECK(xt_kl_path(path, sizeof path, dir, SYM, XT_KL_1M, "") == 0);
        snprintf(old, sizeof old, "%s.old", path);
    }
    if (size > 1 << 16)
        return 0;
    uint8_t head[HDR] = {0};
    memcpy(head, data, size < HDR ? size : HDR);
    check_header_codec(head);
    for (size_t off = HDR; off + REC <= size; off += REC)
        check_record_codec(data + off);
    fuzz_store(data, size);
    if (size >= HDR && !crc_ok(data, HDR)) { /* again with the header's checksum right */
        uint8_t *sealed = malloc(size);
        CHECK(sealed);
        memcpy(sealed, data, size);
        put(sealed + 124, xt_crc32c(sealed, 124), 4);
        check_header_codec(sealed);
        fuzz_store(sealed, size);
        free(sealed);
    }
    return 0;
}
