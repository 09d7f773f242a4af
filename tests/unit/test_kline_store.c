/* test_kline_store.c - the K-line history files (src/server/kline_store.c)
 * and their rebuild from a journal (kline_rebuild.c): the codecs, file
 * names, buffered appends and when they are written, the skip rule, flat
 * candles as market data closed them, torn tails and headers, files for other
 * settings set aside, failed writes (injected), rebuild mode's
 * write-sync-rename, and a rebuild from a journal written here with chosen
 * timestamps - including one whose first segment is gone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultio.h"
#include "journal/codec.h"
#include "journal/crc32c.h"
#include "journal/dir.h"
#include "journal/journal.h"
#include "server/kline_rebuild.h"
#include "server/kline_store.h"
#include "tmpdir.h"
#include "xt/xt.h"

#define NS INT64_C(1000000000)
#define MIN (60 * NS)
#define T0 (INT64_C(1704067200) * NS) /* Monday 2024-01-01 00:00 UTC */
#define TICK ((xt_decimal_t){1, 2})
#define LOT ((xt_decimal_t){1, 4})

/* ---- helpers --------------------------------------------------------- */

static xt_md_candle_t candle(int64_t t, int64_t o, int64_t h, int64_t l, int64_t c, int64_t v, uint32_t n)
{
    xt_md_candle_t k = {t, o, h, l, c, v, (__int128)c * v, n, 1};
    return k;
}

static void path_of(char *buf, const char *dir, const char *sym, int iv, const char *suffix)
{
    assert_int_equal(xt_kl_path(buf, XT_PATH_MAX, dir, sym, iv, suffix), 0);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The records of a history file (header checked), at most max. */
static size_t read_file(const char *path, xt_kl_header_t *h, xt_md_candle_t *out, size_t max)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t raw[XT_KL_HEADER_SIZE];
    assert_int_equal(fread(raw, 1, sizeof raw, f), sizeof raw);
    assert_int_equal(xt_kl_header_decode(raw, h, NULL, 0), 0);
    size_t n = 0;
    uint8_t r[XT_KL_RECORD_SIZE];
    while (n < max && fread(r, 1, sizeof r, f) == sizeof r)
        assert_int_equal(xt_kl_record_decode(r, &out[n++]), 0);
    fclose(f);
    return n;
}

static void open_store(xt_kl_store_t *st, const char *dir, xt_io_t *io, uint32_t pending, int rebuild)
{
    xt_kl_config_t c = {.dir = dir, .max_instruments = 4, .pending = pending, .flush_ms = 100, .io = io};
    c.rebuild = (uint8_t)rebuild;
    assert_int_equal(xt_kl_store_init(st, &c), 0);
}

static void append_ok(xt_kl_store_t *st, uint32_t id, int iv, xt_md_candle_t c)
{
    assert_int_equal(xt_kl_store_append(st, id, iv, &c), 0);
}

/* A store in dir through faultio f, with instrument 0 "X" and one 1m
 * candle written. */
static void one_candle_written(xt_kl_store_t *st, const char *dir, faultio_t *f)
{
    faultio_init(f);
    open_store(st, dir, &f->io, 0, 0);
    assert_int_equal(xt_kl_store_add(st, 0, "X", 0, TICK, LOT), 0);
    append_ok(st, 0, XT_KL_1M, candle(T0, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_flush(st), 0);
}

/* ---- the format -------------------------------------------------------- */

static void codecs_round_trip(void **state)
{
    (void)state;
    xt_kl_header_t h = {XT_KL_4H, -(5 * 3600 + 1800), "A.b_c-9", {5, 1}, {1000, 3}}, g;
    uint8_t raw[XT_KL_HEADER_SIZE];
    char why[160];
    xt_kl_header_encode(raw, &h);
    assert_memory_equal(raw, "XTKLN001\x01\x00\x80\x00\x48\x00\x07\x00", 16);
    assert_int_equal(raw[16] | raw[17] << 8, 14400);
    assert_int_equal(xt_kl_header_decode(raw, &g, why, sizeof why), 0);
    assert_int_equal(g.interval, XT_KL_4H);
    assert_int_equal(g.tz_offset_s, h.tz_offset_s);
    assert_string_equal(g.symbol, "A.b_c-9");
    assert_true(g.tick.m == 5 && g.tick.scale == 1 && g.lot.m == 1000 && g.lot.scale == 3);
    static const struct {
        size_t at;
        const char *why;
    } bad[] = {{0, "magic"}, {8, "version"}, {12, "length"}, {60, "checksum"}, {123, "checksum"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[XT_KL_HEADER_SIZE];
        memcpy(b, raw, sizeof b);
        b[bad[i].at] ^= 0x40;
        why[0] = '\0';
        assert_int_equal(xt_kl_header_decode(b, &g, why, sizeof why), XT_ECORRUPT);
        assert_non_null(strstr(why, bad[i].why));
    }
    xt_md_candle_t c = candle(-T0, 1, INT64_MAX, -3, 4, 5, UINT32_MAX), d;
    c.turnover = -((__int128)1 << 100) - 7;
    uint8_t r[XT_KL_RECORD_SIZE];
    xt_kl_record_encode(r, &c);
    assert_int_equal(xt_kl_record_decode(r, &d), 0);
    assert_memory_equal(&c, &d, offsetof(xt_md_candle_t, closed));
    assert_true(d.turnover == c.turnover && d.trades == UINT32_MAX && d.closed == 1);
    for (size_t i = 0; i < sizeof r; i++) { /* any flipped bit is caught */
        r[i] ^= 0x10;
        assert_int_equal(xt_kl_record_decode(r, &d), XT_ECORRUPT);
        r[i] ^= 0x10;
    }
}

static void file_names(void **state)
{
    (void)state;
    char p[XT_PATH_MAX];
    assert_int_equal(xt_kl_path(p, sizeof p, "d", "BTC-USDT", XT_KL_15M, ""), 0);
    assert_string_equal(p, "d/BTC-USDT.15m.kl");
    assert_int_equal(xt_kl_path(p, sizeof p, "d", "..", XT_KL_1W, ".tmp"), 0); /* never a directory */
    assert_string_equal(p, "d/...1w.kl.tmp");
    assert_int_equal(xt_kl_path(p, sizeof p, "d", "a/b", XT_KL_1M, ""), XT_EINVAL);
    assert_int_equal(xt_kl_path(p, sizeof p, "d", "", XT_KL_1M, ""), XT_EINVAL);
    assert_int_equal(xt_kl_path(p, sizeof p, "d", "X", XT_KL_COUNT, ""), XT_EINVAL);
    assert_int_equal(xt_kl_path(p, 8, "d", "LONGNAME", XT_KL_1M, ""), -ENAMETOOLONG);
}

/* ---- appending ----------------------------------------------------------- */

static void append_skip_flat_reopen(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX];
    xt_kl_store_t st;
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 2, "X", 3600, TICK, LOT), 0);
    assert_int_equal(xt_kl_store_add(&st, 2, "X", 3600, TICK, LOT), XT_EEXIST);
    assert_int_equal(xt_kl_store_add(&st, 4, "Y", 0, TICK, LOT), XT_EINVAL);
    xt_md_candle_t c = candle(T0, 100, 110, 90, 105, 7, 3);
    assert_int_equal(xt_kl_store_append(&st, 1, XT_KL_1M, &c), XT_EINVAL); /* not added */
    c.closed = 0;
    assert_int_equal(xt_kl_store_append(&st, 2, XT_KL_1M, &c), XT_EINVAL); /* still open */
    append_ok(&st, 2, XT_KL_1M, candle(T0, 100, 110, 90, 105, 7, 3));
    /* flat: as market data closed it (it knows the last price: md_state.c) */
    append_ok(&st, 2, XT_KL_1M, candle(T0 + MIN, 105, 105, 105, 105, 0, 0));
    c = candle(T0 + MIN, 200, 200, 200, 200, 1, 1);
    assert_int_equal(xt_kl_store_append(&st, 2, XT_KL_1M, &c), 1); /* not after the last */
    c.open_time = T0;
    assert_int_equal(xt_kl_store_append(&st, 2, XT_KL_1M, &c), 1);
    path_of(p, dir, "X", XT_KL_1M, "");
    assert_int_equal(file_size(p), -1); /* buffered */
    assert_int_equal(xt_kl_store_flush(&st), 0);
    assert_int_equal(st.st.written, 2);
    assert_int_equal(st.st.skipped, 2);
    xt_kl_store_destroy(&st);

    xt_kl_header_t h;
    xt_md_candle_t got[8];
    assert_int_equal(read_file(p, &h, got, 8), 2);
    assert_int_equal(h.tz_offset_s, 3600);
    assert_string_equal(h.symbol, "X");
    assert_true(got[0].open_time == T0 && got[0].high == 110 && got[0].trades == 3 && got[0].turnover == 735);
    assert_true(got[1].open_time == T0 + MIN && got[1].open == 105 && got[1].low == 105 && got[1].close == 105);

    /* a new store (a restart) knows the file's last record */
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 3600, TICK, LOT), 0);
    c = candle(T0 + MIN, 5, 5, 5, 5, 1, 1);
    assert_int_equal(xt_kl_store_append(&st, 0, XT_KL_1M, &c), 1);
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 5 * MIN, 9, 9, 9, 9, 0, 0)); /* flat after a gap: as given */
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 6 * MIN, 120, 130, 120, 125, 2, 2));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    assert_int_equal(read_file(p, &h, got, 8), 4);
    assert_true(got[2].open_time == T0 + 5 * MIN && got[2].open == 9 && got[2].close == 9 && got[2].volume == 0);
    assert_true(got[3].open == 120 && got[3].close == 125);
    tmpdir_remove(dir);
}

/* Instrument X's 1m file in dir with n candles, written by a store of
 * `pending` (0: the default); its path into p. Returns its size. */
static off_t one_minute_file(const char *dir, int n, uint32_t pending, char *p)
{
    xt_kl_store_t st;
    open_store(&st, dir, NULL, pending, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    for (int i = 0; i < n; i++)
        append_ok(&st, 0, XT_KL_1M, candle(T0 + i * MIN, 100 + i, 100 + i, 100 + i, 100 + i, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    path_of(p, dir, "X", XT_KL_1M, "");
    off_t size = XT_KL_HEADER_SIZE + n * XT_KL_RECORD_SIZE;
    assert_int_equal(file_size(p), size);
    return size;
}

static void torn_tails_are_cut(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX];
    xt_kl_store_t st;
    off_t good = one_minute_file(dir, 3, 0, p);
    /* a bad last record and half of another after it */
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, good - 5, SEEK_SET), 0);
    fputc(0x55, f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    for (int i = 0; i < 40; i++)
        fputc(i, f);
    fclose(f);
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    assert_int_equal(st.st.truncated, 40 + XT_KL_RECORD_SIZE);
    assert_int_equal(file_size(p), good - XT_KL_RECORD_SIZE);
    /* the cut record's interval comes again (the server restarted within it) */
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 2 * MIN, 7, 8, 6, 7, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    xt_kl_header_t h;
    xt_md_candle_t got[8];
    assert_int_equal(read_file(p, &h, got, 8), 3);
    assert_true(got[2].open_time == T0 + 2 * MIN && got[2].close == 7 && got[2].trades == 1);

    /* a header torn when the file was created: the file starts again */
    path_of(p, dir, "X", XT_KL_5M, "");
    f = fopen(p, "wb");
    assert_non_null(f);
    fputs("XTKLN", f);
    fclose(f);
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    assert_int_equal(file_size(p), 0);
    append_ok(&st, 0, XT_KL_5M, candle(T0, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    assert_int_equal(read_file(p, &h, got, 8), 1);
    tmpdir_remove(dir);
}

/* Spoils the checksum of each of the last `bad` records of the file at p,
 * `size` bytes long. */
static void spoil_last(const char *p, off_t size, int bad)
{
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    for (int k = 0; k < bad; k++) {
        assert_int_equal(fseek(f, size - (off_t)(k + 1) * XT_KL_RECORD_SIZE + 3, SEEK_SET), 0);
        int ch = fgetc(f);
        assert_int_equal(fseek(f, -1, SEEK_CUR), 0);
        fputc(ch ^ 0x5a, f);
    }
    fclose(f);
}

/* More bad records at the end than one write holds (pending): not a torn
 * write, so nothing is cut; the file is set aside whole. */
static void damage_past_one_write_is_set_aside(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX], old[XT_PATH_MAX + 8];
    xt_kl_store_t st;
    off_t size = one_minute_file(dir, 12, 4, p);
    snprintf(old, sizeof old, "%s.old", p);
    static const int bads[3] = {1, 4, 5}; /* up to 4 (pending): a torn write, cut; 5: set aside */
    for (int k = 0; k < 3; k++) {
        int bad = bads[k];
        spoil_last(p, size, bad);
        open_store(&st, dir, NULL, 4, 0);
        assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
        if (bad <= 4) {
            assert_int_equal(st.st.truncated, bad * XT_KL_RECORD_SIZE);
            assert_int_equal(st.st.set_aside, 0);
            size -= bad * XT_KL_RECORD_SIZE;
            assert_int_equal(file_size(p), size);
        } else {
            assert_int_equal(st.st.truncated, 0);
            assert_int_equal(st.st.set_aside, 1);
            assert_non_null(strstr(st.why, "than one write holds"));
            assert_int_equal(file_size(p), -1);
            assert_int_equal(file_size(old), size); /* kept whole */
        }
        xt_kl_store_destroy(&st);
    }
    tmpdir_remove(dir);
    /* every record bad, one more than a write holds: set aside too, not cut to the header */
    dir = tmpdir_make("xt-kline");
    size = one_minute_file(dir, 5, 4, p);
    snprintf(old, sizeof old, "%s.old", p);
    spoil_last(p, size, 5);
    open_store(&st, dir, NULL, 4, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    assert_int_equal(st.st.truncated, 0);
    assert_int_equal(st.st.set_aside, 1);
    assert_int_equal(file_size(old), size);
    xt_kl_store_destroy(&st);
    tmpdir_remove(dir);
}

static void files_for_other_settings_set_aside(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX], old[XT_PATH_MAX + 8];
    xt_kl_store_t st;
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    append_ok(&st, 0, XT_KL_1D, candle(T0, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    path_of(p, dir, "X", XT_KL_1D, "");
    snprintf(old, sizeof old, "%s.old", p);
    /* the instrument's tz changed: old candles are aligned differently */
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 8 * 3600, TICK, LOT), 0);
    assert_int_equal(st.st.set_aside, 1);
    assert_non_null(strstr(st.why, "another tz"));
    /* its last close is kept as a price (the tick is the same), not as a record */
    assert_true(st.files[XT_KL_1D].has_prior && !st.files[XT_KL_1D].has_last);
    assert_true(st.files[XT_KL_1D].prior_open == T0 && st.files[XT_KL_1D].prior_close == 1);
    assert_int_equal(file_size(p), -1);
    assert_int_equal(file_size(old), XT_KL_HEADER_SIZE + XT_KL_RECORD_SIZE);
    append_ok(&st, 0, XT_KL_1D, candle(T0 - 8 * 3600 * NS, 2, 2, 2, 2, 1, 1)); /* no last record now */
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    xt_kl_header_t h;
    xt_md_candle_t got[2];
    assert_int_equal(read_file(p, &h, got, 2), 1);
    assert_int_equal(h.tz_offset_s, 8 * 3600);
    /* garbage where a header should be */
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fputs("garbage!", f);
    fclose(f);
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 8 * 3600, TICK, LOT), 0);
    assert_int_equal(st.st.set_aside, 1);
    assert_non_null(strstr(st.why, "bad magic"));
    xt_kl_store_destroy(&st);
    tmpdir_remove(dir);
}

static void written_when_due(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[3][XT_PATH_MAX];
    xt_kl_store_t st;
    xt_kl_config_t c = {.dir = dir, .max_instruments = 3, .flush_ms = 100, .files_per_tick = 2};
    assert_int_equal(xt_kl_store_init(&st, &c), 0);
    const char *sym[3] = {"A", "B", "C"};
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(xt_kl_store_add(&st, i, sym[i], 0, TICK, LOT), 0);
        path_of(p[i], dir, sym[i], XT_KL_1H, "");
    }
    int64_t t = 5 * NS;
    assert_int_equal(xt_kl_store_tick(&st, t), 0); /* idle */
    for (uint32_t i = 0; i < 3; i++)
        append_ok(&st, i, XT_KL_1H, candle(T0, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_tick(&st, t + 99 * 1000000), 0);
    assert_int_equal(file_size(p[0]), -1);
    assert_int_equal(xt_kl_store_tick(&st, t + 100 * 1000000), 0); /* due: two files per tick */
    assert_true(file_size(p[0]) > 0 && file_size(p[1]) > 0 && file_size(p[2]) == -1);
    assert_int_equal(xt_kl_store_tick(&st, t + 101 * 1000000), 0); /* the rest at once */
    assert_true(file_size(p[2]) > 0);
    assert_int_equal(st.n_pend, 0);
    xt_kl_store_destroy(&st);
    tmpdir_remove(dir);
}

static void full_pool_is_written_at_once(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX];
    xt_kl_store_t st;
    open_store(&st, dir, NULL, 4, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    for (int i = 0; i < 10; i++)
        append_ok(&st, 0, XT_KL_3M, candle(T0 + 3 * i * MIN, 10 + i, 10 + i, 10 + i, 10 + i, 1, 1));
    assert_true(st.n_pend <= 4);
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    path_of(p, dir, "X", XT_KL_3M, "");
    xt_kl_header_t h;
    xt_md_candle_t got[16];
    assert_int_equal(read_file(p, &h, got, 16), 10);
    for (int i = 0; i < 10; i++)
        assert_true(got[i].open_time == T0 + 3 * i * MIN && got[i].close == 10 + i);
    tmpdir_remove(dir);
}

static void failed_writes_leave_whole_records(void **state)
{
    (void)state;
    static const int how[2] = {0, 1}; /* a failed write; a short one followed by a failure */
    for (int k = 0; k < 2; k++) {
        char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX];
        faultio_t f;
        xt_kl_store_t st;
        one_candle_written(&st, dir, &f);
        if (how[k])
            f.short_write_at = f.writes + 1;
        else
            f.fail_write_at = f.writes + 1;
        f.fail_errno = ENOSPC;
        append_ok(&st, 0, XT_KL_1M, candle(T0 + MIN, 2, 2, 2, 2, 1, 1));
        append_ok(&st, 0, XT_KL_1M, candle(T0 + 2 * MIN, 3, 3, 3, 3, 1, 1));
        assert_int_not_equal(xt_kl_store_flush(&st), 0);
        assert_int_equal(st.st.dropped, 2);
        assert_int_equal(st.st.errors, 1);
        assert_non_null(strstr(st.why, "X.1m.kl: "));
        f.fail_write_at = 0; /* space again: later candles are written */
        append_ok(&st, 0, XT_KL_1M, candle(T0 + 3 * MIN, 4, 4, 4, 4, 1, 1));
        assert_int_equal(xt_kl_store_flush(&st), 0);
        xt_kl_store_destroy(&st);
        path_of(p, dir, "X", XT_KL_1M, "");
        xt_kl_header_t h;
        xt_md_candle_t got[8];
        assert_int_equal(file_size(p), XT_KL_HEADER_SIZE + 2 * XT_KL_RECORD_SIZE);
        assert_int_equal(read_file(p, &h, got, 8), 2);
        assert_true(got[0].close == 1 && got[1].open_time == T0 + 3 * MIN && got[1].close == 4);
        tmpdir_remove(dir);
    }
}

/* What xt_kl_store_sync makes durable survives a power loss: each file
 * written since the last sync is fdatasynced once, the directory once
 * when a file was created; what was written after it is lost (a file
 * created after it entirely), as the kernel's page cache is. */
static void synced_candles_survive_a_power_loss(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX];
    faultio_t f;
    faultio_init(&f);
    xt_kl_store_t st;
    open_store(&st, dir, &f.io, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    assert_int_equal(xt_kl_store_add(&st, 1, "Y", 0, TICK, LOT), 0);
    assert_int_equal(xt_kl_store_add(&st, 2, "Z", 0, TICK, LOT), 0);
    append_ok(&st, 0, XT_KL_1M, candle(T0, 1, 1, 1, 1, 1, 1));
    append_ok(&st, 0, XT_KL_5M, candle(T0, 1, 1, 1, 1, 1, 1));
    append_ok(&st, 1, XT_KL_1M, candle(T0, 2, 2, 2, 2, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    append_ok(&st, 0, XT_KL_1M, candle(T0 + MIN, 3, 3, 3, 3, 1, 1)); /* a second write of X.1m */
    assert_int_equal(xt_kl_store_flush(&st), 0);
    unsigned syncs = f.syncs, dir_syncs = f.dir_syncs;
    assert_int_equal(xt_kl_store_sync(&st), 0);
    assert_int_equal(f.syncs - syncs, 3); /* X.1m once, X.5m, Y.1m */
    assert_int_equal(f.dir_syncs - dir_syncs, 1);
    assert_int_equal(xt_kl_store_sync(&st), 0); /* nothing written since: nothing to do */
    assert_int_equal(f.syncs - syncs, 3);
    assert_int_equal(f.dir_syncs - dir_syncs, 1);
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 2 * MIN, 4, 4, 4, 4, 1, 1)); /* written, not synced */
    append_ok(&st, 2, XT_KL_1M, candle(T0, 5, 5, 5, 5, 1, 1));           /* a new file, not synced */
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    faultio_power_loss(&f, FAULTIO_DROP, 1);
    xt_kl_header_t h;
    xt_md_candle_t got[8];
    path_of(p, dir, "X", XT_KL_1M, "");
    assert_int_equal(read_file(p, &h, got, 8), 2);
    assert_true(got[0].close == 1 && got[1].close == 3);
    path_of(p, dir, "X", XT_KL_5M, "");
    assert_int_equal(read_file(p, &h, got, 8), 1);
    path_of(p, dir, "Y", XT_KL_1M, "");
    assert_int_equal(read_file(p, &h, got, 8), 1);
    path_of(p, dir, "Z", XT_KL_1M, "");
    assert_int_equal(file_size(p), -1);
    tmpdir_remove(dir);
}

/* A sync that fails is told in sync_why (not as a failed write: the
 * candles are written), the file's tail is looked at again before its
 * next write, and it is synced again at the next call - which cannot say
 * what the failed one lost (the kernel may have marked the pages clean):
 * md_history.h counts a failure for the rest of the run. */
static void a_failed_sync_is_tried_again(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline");
    faultio_t f;
    xt_kl_store_t st;
    one_candle_written(&st, dir, &f);
    f.fail_sync_at = f.syncs + 1;
    assert_int_equal(xt_kl_store_sync(&st), -EIO);
    assert_non_null(strstr(st.sync_why, "X.1m.kl: "));
    assert_int_equal(st.st.errors, 0);
    assert_true(st.files[XT_KL_1M].check); /* (instrument 0's 1m file) */
    f.fail_sync_at = 0;
    unsigned syncs = f.syncs;
    assert_int_equal(xt_kl_store_sync(&st), 0);
    assert_int_equal(f.syncs - syncs, 1);
    xt_kl_store_destroy(&st);
    tmpdir_remove(dir);
}

/* A file checked again before a write (its last write failed) that has
 * more bad records at its end than one write holds is set aside then, and
 * the write starts a new file. */
static void damage_found_before_a_write_is_set_aside(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX], old[XT_PATH_MAX + 8];
    faultio_t f;
    faultio_init(&f);
    xt_kl_store_t st;
    open_store(&st, dir, &f.io, 4, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    for (int i = 0; i < 8; i++)
        append_ok(&st, 0, XT_KL_1M, candle(T0 + i * MIN, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    f.fail_write_at = f.writes + 1;
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 8 * MIN, 2, 2, 2, 2, 1, 1));
    assert_int_not_equal(xt_kl_store_flush(&st), 0);
    f.fail_write_at = 0;
    path_of(p, dir, "X", XT_KL_1M, "");
    snprintf(old, sizeof old, "%s.old", p);
    off_t size = XT_KL_HEADER_SIZE + 8 * XT_KL_RECORD_SIZE;
    assert_int_equal(file_size(p), size);
    spoil_last(p, size, 5);
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 9 * MIN, 3, 3, 3, 3, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    assert_int_equal(st.st.set_aside, 1);
    assert_int_equal(st.st.truncated, 0);
    xt_kl_store_destroy(&st);
    assert_int_equal(file_size(old), size);
    xt_kl_header_t h;
    xt_md_candle_t got[4];
    assert_int_equal(read_file(p, &h, got, 4), 1);
    assert_true(got[0].open_time == T0 + 9 * MIN && got[0].close == 3);
    tmpdir_remove(dir);
}

static void rebuild_mode_replaces_atomically(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), p[XT_PATH_MAX], tmp[XT_PATH_MAX];
    xt_kl_store_t st;
    open_store(&st, dir, NULL, 0, 0);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    for (int i = 0; i < 5; i++)
        append_ok(&st, 0, XT_KL_1M, candle(T0 + i * MIN, 1, 1, 1, 1, 1, 1));
    assert_int_equal(xt_kl_store_flush(&st), 0);
    xt_kl_store_destroy(&st);
    path_of(p, dir, "X", XT_KL_1M, "");
    path_of(tmp, dir, "X", XT_KL_1M, ".tmp");

    /* a failed rebuild leaves the files as they were, and no .tmp */
    open_store(&st, dir, NULL, 0, 1);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    append_ok(&st, 0, XT_KL_1M, candle(T0 + 10 * MIN, 2, 2, 2, 2, 1, 1)); /* the old records are not there */
    assert_int_equal(xt_kl_store_flush(&st), 0);
    assert_int_equal(file_size(tmp), XT_KL_HEADER_SIZE + XT_KL_RECORD_SIZE);
    xt_kl_store_abort(&st);
    xt_kl_store_destroy(&st);
    assert_int_equal(file_size(tmp), -1);
    assert_int_equal(file_size(p), XT_KL_HEADER_SIZE + 5 * XT_KL_RECORD_SIZE);

    open_store(&st, dir, NULL, 2, 1);
    assert_int_equal(xt_kl_store_add(&st, 0, "X", 0, TICK, LOT), 0);
    assert_int_equal(xt_kl_store_add(&st, 3, "Z", 0, TICK, LOT), 0);
    for (int i = 0; i < 3; i++) /* the pool of two is written twice: appended after the first */
        append_ok(&st, 0, XT_KL_1M, candle(T0 + i * MIN, 2, 2, 2, 2, 1, 1));
    assert_int_equal(file_size(p), XT_KL_HEADER_SIZE + 5 * XT_KL_RECORD_SIZE);
    assert_int_equal(xt_kl_store_commit(&st), 0);
    xt_kl_store_destroy(&st);
    assert_int_equal(file_size(tmp), -1);
    xt_kl_header_t h;
    xt_md_candle_t got[8];
    assert_int_equal(read_file(p, &h, got, 8), 3);
    assert_int_equal(got[0].close, 2);
    for (int i = 0; i < XT_KL_COUNT; i++) { /* every file of every instrument, empty or not */
        path_of(p, dir, "Z", i, "");
        assert_int_equal(file_size(p), XT_KL_HEADER_SIZE);
    }
    int32_t tz = 1;
    assert_int_equal(xt_kl_file_tz(dir, "Z", &tz), 0);
    assert_int_equal(tz, 0);
    assert_int_not_equal(xt_kl_file_tz(dir, "W", &tz), 0);
    tmpdir_remove(dir);
}

/* ---- rebuild from a journal ------------------------------------------------ */

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static void submit(xt_journal_t *j, xt_cmd_t *c)
{
    assert_int_equal(xt_journal_submit(j, c, 0), 0);
    assert_int_equal(xt_journal_commit(j, 0), 0);
}

static void order(xt_journal_t *j, int64_t ts, int64_t id, uint32_t account, int side, int64_t px, int64_t qty)
{
    xt_cmd_t c = {.type = XT_CMD_NEW, .ts = ts};
    c.u.new_order = (xt_order_new_t){id, account, 0, (uint8_t)side, XT_LIMIT, XT_TIF_DEFAULT, XT_STP_DEFAULT, px, qty};
    submit(j, &c);
}

/* A journal: instrument X at T0 + 10 s, a trade of 2 at 100 at T0 + 20 s,
 * of 1 at 102 and 3 at 101 at T0 + 3 min 5 s, and `rest` resting orders at
 * T0 + 7 min 30 s. */
static void write_journal(const char *dir, uint64_t segment_bytes, int rest)
{
    xt_journal_config_t jc;
    xt_journal_config_default(&jc);
    jc.fsync = XT_FSYNC_NONE;
    jc.no_snapshot_on_close = 1;
    if (segment_bytes)
        jc.segment_bytes = segment_bytes;
    xt_engine_config_t ec = {.max_orders = 1024, .max_levels = 256, .max_instruments = 4};
    xt_journal_t j;
    xt_engine_t e;
    assert_int_equal(xt_journal_open(&j, dir, &jc, NULL, &ec, quiet, NULL, &e, 0), 0);
    xt_cmd_t c = {.type = XT_CMD_INSTRUMENT, .ts = T0 + 10 * NS};
    strcpy(c.u.instrument.symbol, "X");
    c.u.instrument.tick = TICK;
    c.u.instrument.lot = LOT;
    submit(&j, &c);
    order(&j, T0 + 20 * NS, 1, 1, XT_SELL, 100, 2);
    order(&j, T0 + 20 * NS, 2, 2, XT_BUY, 100, 2);
    order(&j, T0 + 185 * NS, 3, 1, XT_SELL, 102, 1);
    order(&j, T0 + 185 * NS, 4, 1, XT_SELL, 101, 3);
    order(&j, T0 + 185 * NS, 5, 2, XT_BUY, 102, 4);
    for (int i = 0; i < rest; i++)
        order(&j, T0 + 450 * NS, 100 + i, 1, XT_SELL, 200 + i, 1);
    assert_int_equal(xt_journal_close(&j, 0), 0);
    xt_engine_destroy(&e);
}

static void rebuild_from_a_journal(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), out[XT_PATH_MAX], p[XT_PATH_MAX], why[512];
    write_journal(dir, 0, 1);
    snprintf(out, sizeof out, "%s/k", dir);
    static xt_server_config_t cfg;
    xt_config_defaults(&cfg);
    cfg.n_instruments = 1;
    strcpy(cfg.instruments[0].symbol, "X");
    cfg.tz_offset[0] = -3600;
    xt_kl_rebuild_opts_t o = {dir, out, &cfg};
    xt_kl_rebuild_result_t r;
    assert_int_equal(xt_kl_rebuild(&o, &r, why, sizeof why), 0);
    assert_int_equal(r.records, 7);
    assert_int_equal(r.instruments, 1);
    assert_int_equal(r.tz_config, 1);
    assert_true(r.first_ts == T0 + 10 * NS && r.last_ts == T0 + 450 * NS);
    /* 1m: 00:00 .. 00:06 closed at 00:07:30 (gap-free); 3m: 00:00, 00:03; 5m: 00:00 */
    assert_int_equal(r.candles[XT_KL_1M], 7);
    assert_int_equal(r.candles[XT_KL_3M], 2);
    assert_int_equal(r.candles[XT_KL_5M], 1);
    assert_int_equal(r.candles[XT_KL_15M], 0);
    xt_kl_header_t h;
    xt_md_candle_t got[16];
    path_of(p, out, "X", XT_KL_1M, "");
    assert_int_equal(read_file(p, &h, got, 16), 7);
    assert_int_equal(h.tz_offset_s, -3600);
    assert_true(got[0].open_time == T0 && got[0].close == 100 && got[0].volume == 2 && got[0].trades == 1);
    assert_true(got[1].trades == 0 && got[1].close == 100 && got[2].close == 100);
    assert_true(got[3].open_time == T0 + 3 * MIN && got[3].open == 101 && got[3].high == 102 && got[3].low == 101 &&
                got[3].close == 102 && got[3].volume == 4 && got[3].trades == 2 && got[3].turnover == 101 * 3 + 102);
    assert_true(got[6].open_time == T0 + 6 * MIN && got[6].close == 102 && got[6].trades == 0);
    path_of(p, out, "X", XT_KL_5M, "");
    assert_int_equal(read_file(p, &h, got, 16), 1);
    assert_true(got[0].open == 100 && got[0].close == 102 && got[0].volume == 6 && got[0].trades == 3);

    /* the same again without a config: the tz from the files just written */
    o.cfg = NULL;
    xt_kl_rebuild_result_t r2;
    assert_int_equal(xt_kl_rebuild(&o, &r2, why, sizeof why), 0);
    assert_int_equal(r2.tz_file, 1);
    assert_memory_equal(r.candles, r2.candles, sizeof r.candles);
    tmpdir_remove(dir);
}

static void rebuild_refuses_a_journal_not_from_the_start(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), out[XT_PATH_MAX], why[512];
    write_journal(dir, 4096, 100); /* several segments */
    uint64_t *segs = NULL;
    size_t n = 0;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &n), 0);
    assert_true(n >= 2);
    char first[XT_PATH_MAX];
    assert_int_equal(xt_dir_path(first, sizeof first, dir, XT_FILE_WAL, segs[0]), 0);
    free(segs);
    assert_int_equal(unlink(first), 0); /* as snapshot retention deletes it */
    snprintf(out, sizeof out, "%s/k", dir);
    xt_kl_rebuild_opts_t o = {dir, out, NULL};
    xt_kl_rebuild_result_t r;
    assert_int_equal(xt_kl_rebuild(&o, &r, why, sizeof why), XT_ECORRUPT);
    assert_non_null(strstr(why, "the journal starts at record"));
    assert_non_null(strstr(why, "cannot be rebuilt"));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0); /* nothing written */
    /* no journal at all */
    o.data_dir = out;
    assert_int_equal(xt_kl_rebuild(&o, &r, why, sizeof why), XT_ENOENT);
    assert_non_null(strstr(why, "no journal"));
    tmpdir_remove(dir);
}

/* A segment header's capacities size the rebuild's engine: bounded as
 * recovery bounds them (xt_caps_take), before anything is allocated. */
static void rebuild_bounds_recorded_capacities(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-kline"), out[XT_PATH_MAX], seg[XT_PATH_MAX], why[512];
    write_journal(dir, 0, 1);
    uint64_t *segs = NULL;
    size_t n = 0;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &n), 0);
    assert_int_equal(xt_dir_path(seg, sizeof seg, dir, XT_FILE_WAL, segs[0]), 0);
    free(segs);
    uint8_t h[64];
    FILE *f = fopen(seg, "r+b");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    xt_put32(h + 32, 1u << 30);       /* max_orders */
    xt_put32(h + 36, UINT32_MAX - 1); /* max_levels */
    xt_put32(h + 44, UINT32_MAX - 1); /* max_ladder_nodes */
    xt_put32(h + 60, xt_crc32c(h, 60));
    rewind(f);
    assert_int_equal(fwrite(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    snprintf(out, sizeof out, "%s/k", dir);
    xt_kl_rebuild_opts_t o = {dir, out, NULL};
    xt_kl_rebuild_result_t r;
    assert_int_equal(xt_kl_rebuild(&o, &r, why, sizeof why), XT_ELIMIT);
    if (!strstr(why, "max_orders 1073741824 exceeds engine.max_orders"))
        fail_msg("rebuild says '%s'", why);
    char p[XT_PATH_MAX];
    struct stat sb;
    path_of(p, out, "X", XT_KL_1M, "");
    assert_int_not_equal(stat(p, &sb), 0); /* nothing written */
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codecs_round_trip),
        cmocka_unit_test(file_names),
        cmocka_unit_test(append_skip_flat_reopen),
        cmocka_unit_test(torn_tails_are_cut),
        cmocka_unit_test(damage_past_one_write_is_set_aside),
        cmocka_unit_test(damage_found_before_a_write_is_set_aside),
        cmocka_unit_test(files_for_other_settings_set_aside),
        cmocka_unit_test(written_when_due),
        cmocka_unit_test(full_pool_is_written_at_once),
        cmocka_unit_test(failed_writes_leave_whole_records),
        cmocka_unit_test(synced_candles_survive_a_power_loss),
        cmocka_unit_test(a_failed_sync_is_tried_again),
        cmocka_unit_test(rebuild_mode_replaces_atomically),
        cmocka_unit_test(rebuild_from_a_journal),
        cmocka_unit_test(rebuild_refuses_a_journal_not_from_the_start),
        cmocka_unit_test(rebuild_bounds_recorded_capacities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
