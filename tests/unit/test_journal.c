/* test_journal.c - the write-ahead journal, snapshots and recovery: records,
 * torn tails, corruption, snapshots and retention, capacities across
 * restarts, fail-closed on injected I/O errors, simulated power loss, the
 * fsync policies. (Preallocated segments: test_journal_prealloc.c.) */
#define _GNU_SOURCE /* SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
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
#include "journal/manifest.h"
#include "journal/reader.h"
#include "journal/record.h"
#include "journal/segment.h"
#include "journal/snapshot.h"
#include "journal_fixture.h"
#include "tmpdir.h"
#include "xt/xt.h"

/* ---- records --------------------------------------------------------- */

static void record_round_trip(void **state)
{
    (void)state;
    xt_cmd_t in[7];
    memset(in, 0, sizeof in);
    in[0].type = XT_CMD_INSTRUMENT;
    strcpy(in[0].u.instrument.symbol, "ABCDEFGHIJKLMNOP");
    in[0].u.instrument.flags = XT_DEF_MIN | XT_DEF_MAX | XT_DEF_BAND;
    in[0].u.instrument.tick = (xt_decimal_t){5, 1};
    in[0].u.instrument.lot = (xt_decimal_t){1, 18};
    in[0].u.instrument.min_qty = (xt_decimal_t){INT64_MAX, 0};
    in[0].u.instrument.band_pct = (xt_decimal_t){-1, 3};
    in[1].type = XT_CMD_NEW;
    in[1].u.new_order =
        (xt_order_new_t){INT64_MAX, UINT32_MAX, XT_INSTRUMENT_NONE, 1, 1, 4, 4, XT_PRICE_NONE, XT_QTY_INVALID};
    in[2].type = XT_CMD_NEW;
    in[2].u.new_order = (xt_order_new_t){1, 1, 0, 0, 0, 0, 0, XT_PRICE_INVALID, XT_QTY_MAX};
    in[3].type = XT_CMD_CANCEL;
    in[3].u.cancel = (xt_order_cancel_t){42, 7};
    in[4].type = XT_CMD_AMEND;
    in[4].u.amend = (xt_order_amend_t){42, 7, -5, 0};
    in[5].type = XT_CMD_NEW;
    in[5].u.new_order = (xt_order_new_t){9, 2, 3, 1, 0, 2, 3, XT_PRICE_MAX, 1};
    in[6].type = XT_CMD_SESSION_END;
    in[6].u.session_end = (xt_session_end_t){UINT32_MAX, 3};
    for (int i = 0; i < 7; i++) {
        in[i].seq = UINT64_MAX - (uint64_t)i;
        in[i].ts = INT64_MIN + i;
        uint8_t buf[XT_WAL_RECORD_MAX];
        size_t n = xt_record_encode(&in[i], buf), len;
        assert_true(n > XT_WAL_RECORD_HDR && n <= XT_WAL_RECORD_MAX);
        xt_cmd_t out;
        assert_int_equal(xt_record_decode(buf, n, &out, &len), XT_REC_OK);
        assert_int_equal(len, n);
        assert_int_equal(out.type, in[i].type);
        assert_int_equal(out.seq, in[i].seq);
        assert_int_equal(out.ts, in[i].ts);
        assert_memory_equal(&out.u, &in[i].u,
                            in[i].type == XT_CMD_INSTRUMENT ? sizeof(xt_instrument_def_t)
                            : in[i].type == XT_CMD_NEW      ? sizeof(xt_order_new_t)
                            : in[i].type == XT_CMD_CANCEL   ? sizeof(xt_order_cancel_t)
                            : in[i].type == XT_CMD_AMEND    ? sizeof(xt_order_amend_t)
                                                            : sizeof(xt_session_end_t));
        /* every byte matters: a flip anywhere is caught */
        for (size_t k = 0; k < n; k++) {
            buf[k] ^= 1;
            int st = xt_record_decode(buf, n, &out, &len);
            assert_true(st != XT_REC_OK);
            buf[k] ^= 1;
        }
        for (size_t k = 0; k < n; k++) /* and a cut anywhere */
            assert_int_equal(xt_record_decode(buf, k, &out, &len), XT_REC_SHORT);
    }
    uint8_t zeros[XT_WAL_RECORD_MAX] = {0};
    xt_cmd_t out;
    size_t len;
    assert_int_equal(xt_record_decode(zeros, sizeof zeros, &out, &len), XT_REC_ZERO);
    xt_cmd_t bad = {.type = 99};
    uint8_t buf[XT_WAL_RECORD_MAX];
    assert_int_equal(xt_record_encode(&bad, buf), 0);
}

/* ---- recovery ---------------------------------------------------------- */

static void write_close_recover(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(1, 3000);
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 16 << 10; /* several segments */
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    assert_int_equal(run(&a->j, v, 0, 3000, 37), 3000);
    uint64_t h = xt_engine_state_hash(&a->e);
    assert_int_equal(h, clean_hash(v, 3000, NULL));
    done(a);
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    assert_int_equal(b->j.recovery.records, 3000);
    assert_int_equal(last_seq(&b->e), 3000);
    assert_int_equal(xt_engine_state_hash(&b->e), h);
    assert_int_equal(xt_journal_next_seq(&b->j), 3001);
    /* and it goes on where it stopped */
    xt_cmd_t *w = gen(2, 500);
    assert_int_equal(run(&b->j, w, 1, 500, 50), 500);
    done(b);
    uint64_t *segs;
    size_t n;
    xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    assert_true(n > 3);
    free(segs);
    free(v);
    free(w);
    tmpdir_remove(dir);
}

static void torn_tail_is_cut(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(3, 400);
    for (int cut = 1; cut < 60; cut += 3) {
        char *dir = tmpdir_make("xt-journal");
        xt_journal_config_t c = jcfg();
        reopened_t *a = reopen(dir, &c, NULL);
        assert_int_equal(run(&a->j, v, 0, 400, 400), 400);
        done(a);
        char seg[XT_PATH_MAX];
        last_segment(dir, seg);
        off_t size = size_of(seg);
        assert_int_equal(truncate(seg, size - cut), 0);
        reopened_t *b = reopen(dir, &c, NULL);
        assert_int_equal(b->rc, 0);
        uint64_t last = last_seq(&b->e);
        assert_true(last >= 398 && last < 400);
        assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, last, NULL));
        /* cut back to the last whole record - unless the cut fell on one */
        assert_true(b->j.recovery.tail_cut ? size_of(seg) < size - cut : size_of(seg) == size - cut);
        done(b);
        tmpdir_remove(dir);
    }
    free(v);
}

/* A crash while a segment was being created leaves it with no (or half a)
 * header. When it is the segment recovery starts in - the first one of a
 * new directory, or one created just after the snapshot recovery starts
 * from - it is a torn tail too: removed, and the journal goes on. */
static void torn_segment_header_where_recovery_starts(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(31, 200);
    for (int header_bytes = 0; header_bytes <= 40; header_bytes += 40) {
        /* 1. a fresh directory whose first segment never got its header */
        char *dir = tmpdir_make("xt-journal");
        char seg[XT_PATH_MAX];
        xt_dir_path(seg, sizeof seg, dir, XT_FILE_WAL, 1);
        FILE *f = fopen(seg, "wb");
        assert_non_null(f);
        for (int i = 0; i < header_bytes; i++)
            fputc("XTWAL001"[i % 8], f);
        fclose(f);
        xt_journal_config_t c = jcfg();
        reopened_t *a = reopen(dir, &c, NULL);
        assert_int_equal(a->rc, 0);
        assert_true(a->j.recovery.tail_cut);
        assert_int_equal(last_seq(&a->e), 0);
        assert_int_equal(run(&a->j, v, 0, 100, 10), 100);
        done(a);

        /* 2. a snapshot at 100, then a segment for 101 that was being created */
        c.no_snapshot_on_close = 0;
        reopened_t *b = reopen(dir, &c, NULL); /* takes the snapshot at close */
        assert_int_equal(b->rc, 0);
        done(b);
        xt_dir_path(seg, sizeof seg, dir, XT_FILE_WAL, 101);
        f = fopen(seg, "wb");
        assert_non_null(f);
        for (int i = 0; i < header_bytes; i++)
            fputc(0, f);
        fclose(f);
        c.no_snapshot_on_close = 1;
        reopened_t *d = reopen(dir, &c, NULL);
        assert_int_equal(d->rc, 0);
        assert_true(d->j.recovery.tail_cut);
        assert_int_equal(d->j.recovery.snapshot_seq, 100);
        assert_int_equal(last_seq(&d->e), 100);
        assert_int_equal(run(&d->j, v, 100, 200, 10), 200);
        assert_int_equal(xt_engine_state_hash(&d->e), clean_hash(v, 200, NULL));
        done(d);
        reopened_t *g = reopen(dir, &c, NULL);
        assert_int_equal(g->rc, 0);
        assert_false(g->j.recovery.tail_cut);
        assert_int_equal(xt_engine_state_hash(&g->e), clean_hash(v, 200, NULL));
        done(g);
        tmpdir_remove(dir);
    }
    free(v);
}

/* A last segment extended by a hole (a truncate, a seek past the end): the
 * hole is a torn tail, cut, and not read - telling a torn tail from
 * corruption once read a terabyte hole byte by byte. */
static void a_hole_after_the_end_is_not_read(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(5, 300);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(run(&a->j, v, 0, 300, 100), 300);
    done(a);
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    off_t size = size_of(seg), hole = (off_t)1 << 30;
    assert_int_equal(truncate(seg, size + hole), 0);
    int fd = open(seg, O_RDONLY);
    assert_true(fd >= 0);
    /* where the file system cannot report holes, every byte must be read */
    int holes = lseek(fd, size + 4096, SEEK_DATA) < 0 && errno == ENXIO;
    close(fd);
    faultio_t f;
    faultio_init(&f);
    xt_engine_t e;
    xt_journal_t j;
    assert_int_equal(xt_journal_open(&j, dir, &c, &f.io, NULL, quiet, NULL, &e, 0), 0);
    assert_true(j.recovery.tail_cut);
    assert_int_equal(j.recovery.tail_bytes, hole);
    assert_int_equal(last_seq(&e), 300);
    assert_int_equal(size_of(seg), size);
    if (holes)
        assert_true(f.pread_bytes < (4u << 20)); /* the records, not the gigabyte */
    else
        print_message("note: this file system reports no holes; the hole was read (%llu bytes)\n",
                      (unsigned long long)f.pread_bytes);
    xt_journal_close(&j, 0);
    xt_engine_destroy(&e);
    tmpdir_remove(dir);
    free(v);
}

/* A segment with no records yet is replaced (same name) when the
 * capacities change before its first record: through wal-<seq>.tmp renamed
 * over it, so a crash never leaves neither (a snapshot with no segment is
 * refused). A .tmp left by a crash is removed at the next start. */
static void an_empty_segment_is_replaced_whole(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(6, 50);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    xt_engine_config_t small = {.max_orders = 1024, .max_levels = 256, .max_instruments = 4};
    xt_engine_config_t big = {.max_orders = 2048, .max_levels = 512, .max_instruments = 4};
    reopened_t *a = reopen(dir, &c, &small); /* a new directory: wal-1, its header only */
    assert_int_equal(a->rc, 0);
    done(a);
    char seg[XT_PATH_MAX], tmp[XT_PATH_MAX];
    last_segment(dir, seg);
    assert_int_equal(size_of(seg), XT_SEG_HDR);
    xt_dir_path(tmp, sizeof tmp, dir, XT_FILE_WAL_TMP, 7);
    FILE *f = fopen(tmp, "w"); /* a crash's leftover */
    assert_non_null(f);
    fclose(f);
    reopened_t *b = reopen(dir, &c, &big);
    assert_int_equal(b->rc, 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(run(&b->j, v, 0, 50, 10), 50); /* the first write replaces wal-1 */
    done(b);
    uint64_t *segs = NULL, *tmps = NULL;
    size_t ns = 0, nt = 0;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &ns), 0);
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL_TMP, &tmps, &nt), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(segs[0], 1);
    assert_int_equal(nt, 0);
    free(segs);
    free(tmps);
    reopened_t *d = reopen(dir, &c, &big);
    assert_int_equal(d->rc, 0);
    assert_int_equal(xt_engine_state_hash(&d->e), clean_hash(v, 50, &big));
    done(d);
    tmpdir_remove(dir);
    free(v);
}

/* Power loss after an empty segment was replaced (new capacities before
 * its first record) and written to: through the fault-injecting layer,
 * every acknowledged command is there. */
static void power_loss_after_an_empty_segment_is_replaced(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        xt_cmd_t *v = gen(9 + (uint64_t)mode, 50);
        char *dir = tmpdir_make("xt-journal");
        xt_journal_config_t c = jcfg();
        xt_engine_config_t small = {.max_orders = 1024, .max_levels = 256, .max_instruments = 4};
        xt_engine_config_t big = {.max_orders = 2048, .max_levels = 512, .max_instruments = 4};
        reopened_t *a = reopen(dir, &c, &small); /* wal-1, its header only */
        assert_int_equal(a->rc, 0);
        done(a);
        faultio_t f;
        faultio_init(&f);
        xt_engine_t e;
        xt_journal_t j;
        assert_int_equal(xt_journal_open(&j, dir, &c, &f.io, &big, quiet, NULL, &e, 0), 0);
        assert_int_equal(run(&j, v, 0, 50, 10), 50); /* the first write replaces wal-1 */
        faultio_power_loss(&f, (faultio_loss_t)mode, 7);
        vanish(&j, &e); /* the process is gone: no close */
        reopened_t *b = reopen(dir, &c, &big);
        if (b->rc != 0)
            fail_msg("power loss %d after the replace: %s", mode, b->j.recovery.why);
        assert_int_equal(last_seq(&b->e), 50);
        assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, 50, &big));
        done(b);
        tmpdir_remove(dir);
        free(v);
    }
}

/* Zeros after the last record of a segment that grew by appending are a
 * torn tail (cut); so is garbage. (A preallocated segment's zeros are its
 * end: test_journal_prealloc.c.) */
static void zeros_and_garbage_after_the_end(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(4, 300);
    for (int garbage = 0; garbage < 2; garbage++) {
        char *dir = tmpdir_make("xt-journal");
        xt_journal_config_t c = jcfg();
        reopened_t *a = reopen(dir, &c, NULL);
        run(&a->j, v, 0, 300, 100);
        done(a);
        char seg[XT_PATH_MAX];
        last_segment(dir, seg);
        off_t size = size_of(seg);
        FILE *f = fopen(seg, "ab");
        for (int i = 0; i < 4096; i++)
            fputc(garbage ? (int)(rnd() & 0xff) : 0, f);
        fclose(f);
        reopened_t *b = reopen(dir, &c, NULL);
        assert_int_equal(b->rc, 0);
        assert_true(b->j.recovery.tail_cut);
        assert_int_equal(last_seq(&b->e), 300);
        assert_int_equal(size_of(seg), size);
        done(b);
        tmpdir_remove(dir);
    }
    free(v);
}

static void corruption_in_the_middle_refuses(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(5, 500);
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 500, 64);
    done(a);
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    flip_byte(seg, 64 + 1000); /* somewhere in the first records */
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "wal-00000000000000000001.log"));
    assert_non_null(strstr(b->j.recovery.why, "offset"));
    assert_non_null(strstr(b->j.recovery.why, "valid records follow"));
    done(b);
    flip_byte(seg, 64 + 1000); /* put back: fine again */
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_int_equal(last_seq(&d->e), 500);
    done(d);
    free(v);
    tmpdir_remove(dir);
}

/* Damage among the records a snapshot holds, in the segment recovery
 * starts in: they are read only to reach the snapshot's end, so recovery
 * reads past the bad record (a flipped byte; a length so spoilt that it
 * points past the segment) to the next valid one, says so, and ends in
 * the same state; damage after the snapshot's end still refuses. */
static void damage_before_the_snapshot_is_read_past(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(8, 600);
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 400, 50);
    assert_int_equal(xt_journal_snapshot(&a->j, 0), 0);
    run(&a->j, v, 400, 600, 50);
    done(a);
    uint64_t h = clean_hash(v, 600, NULL);
    char seg[XT_PATH_MAX];
    last_segment(dir, seg); /* one segment: records 1..600 */
    flip_byte(seg, 64 + 1000);
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    assert_int_equal(b->j.recovery.snapshot_seq, 400);
    assert_int_equal(b->j.recovery.records, 200);
    assert_int_equal(xt_engine_state_hash(&b->e), h);
    assert_true(b->j.recovery.skipped_records >= 1 && b->j.recovery.skipped_records < 400);
    assert_true(b->j.recovery.skipped_offset <= 64 + 1000 && b->j.recovery.skipped_bytes > 0);
    assert_string_equal(b->j.recovery.skipped_path, seg);
    assert_int_equal(b->j.recovery.tail_cut, 0);
    done(b);
    assert_int_equal(size_of(seg) > 64 + 1000, 1); /* nothing cut */
    /* a record's length spoilt too (its first byte): the scan finds the next one */
    xt_wal_reader_t r;
    assert_int_equal(xt_wal_reader_open(&r, &xt_io_posix, dir, 1), 0);
    xt_cmd_t cmd;
    off_t rec10 = 0;
    while (xt_wal_reader_next(&r, &cmd) == 1 && cmd.seq < 9)
        ;
    rec10 = r.end_offset; /* record 9's end: record 10 starts here */
    xt_wal_reader_close(&r);
    flip_byte(seg, rec10 + 3);
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_int_equal(xt_engine_state_hash(&d->e), h);
    assert_int_equal(d->j.recovery.skipped_offset, rec10);
    done(d);
    /* reading from 1 still stops at the first: nothing is skipped there */
    assert_int_equal(xt_wal_reader_open(&r, &xt_io_posix, dir, 1), 0);
    int rc;
    while ((rc = xt_wal_reader_next(&r, &cmd)) == 1)
        ;
    assert_int_equal(rc, XT_ECORRUPT);
    assert_int_equal(r.offset, rec10);
    assert_int_equal(r.skipped_records, 0);
    xt_wal_reader_close(&r);
    /* damage after the snapshot's end: refused as ever */
    assert_int_equal(xt_wal_reader_open(&r, &xt_io_posix, dir, 401), 0);
    off_t rec450 = 0;
    while (xt_wal_reader_next(&r, &cmd) == 1 && cmd.seq < 449)
        ;
    rec450 = r.end_offset;
    xt_wal_reader_close(&r);
    flip_byte(seg, rec450 + 20);
    reopened_t *g = reopen(dir, &c, NULL);
    assert_int_equal(g->rc, XT_ECORRUPT);
    assert_non_null(strstr(g->j.recovery.why, "valid records follow"));
    done(g);
    free(v);
    tmpdir_remove(dir);
}

static void corruption_in_an_earlier_segment_refuses(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(6, 2000);
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 8 << 10;
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 2000, 50);
    done(a);
    uint64_t *segs;
    size_t n;
    xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    assert_true(n >= 3);
    char seg[XT_PATH_MAX];
    xt_dir_path(seg, sizeof seg, dir, XT_FILE_WAL, segs[1]);
    flip_byte(seg, size_of(seg) - 3); /* its very last record */
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "not the last"));
    char next[64]; /* the segment after it named: a stray file with a segment's name would be seen there */
    snprintf(next, sizeof next, "wal-%020llu.log follows it", (unsigned long long)segs[2]);
    assert_non_null(strstr(b->j.recovery.why, next));
    done(b);
    free(segs);
    free(v);
    tmpdir_remove(dir);
}

/* ---- snapshots ----------------------------------------------------------- */

typedef struct begun {
    uint64_t seq[16];
    unsigned n;
} begun_t;

/* snapshot_begun: the seqs it was told, in order */
static void note_begun(void *ctx, uint64_t seq)
{
    begun_t *b = ctx;
    if (b->n < 16)
        b->seq[b->n] = seq;
    b->n++;
}

static void snapshots_and_retention(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(7, 5000);
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 8 << 10;
    c.snapshot_every = 1000;
    c.keep_snapshots = 2;
    begun_t begun = {{0}, 0};
    c.snapshot_begun = note_begun; /* told each snapshot's seq as it begins, not the one at close */
    c.report_ctx = &begun;
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 5000, 100);
    assert_int_equal(a->j.snapshots, 5);
    assert_int_equal(begun.n, 5);
    for (unsigned i = 0; i < begun.n; i++)
        assert_int_equal(begun.seq[i], 1000 * (i + 1));
    assert_int_equal(xt_journal_snapshot(&a->j, 0), 0); /* on request, between batches: told too */
    assert_int_equal(begun.n, 6);
    assert_int_equal(begun.seq[5], 5000);
    done(a);
    assert_int_equal(begun.n, 6);
    uint64_t *snaps, *segs;
    size_t ns, ng;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
    xt_dir_list(dir, XT_FILE_WAL, &segs, &ng);
    assert_int_equal(ns, 2);
    assert_int_equal(snaps[0], 4000);
    assert_int_equal(snaps[1], 5000);
    assert_true(segs[0] > 1);         /* the early segments went */
    assert_true(segs[0] <= 4000 + 1); /* but not those the oldest snapshot needs */
    uint64_t h = clean_hash(v, 5000, NULL);

    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    assert_int_equal(b->j.recovery.snapshot_seq, 5000);
    assert_int_equal(xt_engine_state_hash(&b->e), h);
    done(b);

    /* the newest snapshot is damaged: the older one and the journal do */
    char snap[XT_PATH_MAX];
    xt_dir_path(snap, sizeof snap, dir, XT_FILE_SNAP, 5000);
    assert_int_equal(truncate(snap, size_of(snap) - 10), 0);
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_int_equal(d->j.recovery.snapshot_seq, 4000);
    assert_int_equal(d->j.recovery.snapshots_bad, 1);
    assert_int_equal(d->j.recovery.records, 1000);
    assert_int_equal(xt_engine_state_hash(&d->e), h);
    /* set aside as snap-....xts.bad: retention no longer counts it as one
     * of the two it keeps, and would not delete 4000 for it */
    assert_int_equal(d->j.recovery.set_aside, 1);
    char bad[XT_PATH_MAX + 8];
    snprintf(bad, sizeof bad, "%s.bad", snap);
    assert_int_equal(access(bad, F_OK), 0);
    assert_int_not_equal(access(snap, F_OK), 0);
    done(d);

    /* both damaged (a flipped byte): the journal no longer starts at 1 */
    unlink(snap);
    xt_dir_path(snap, sizeof snap, dir, XT_FILE_SNAP, 4000);
    flip_byte(snap, 100);
    reopened_t *g = reopen(dir, &c, NULL);
    assert_int_equal(g->rc, XT_ECORRUPT);
    assert_non_null(strstr(g->j.recovery.why, "starts at"));
    assert_non_null(strstr(g->j.recovery.why, "; 1 newer snapshot did not load (")); /* the cause told */
    assert_int_equal(access(snap, F_OK), 0); /* a failed start renames nothing */
    done(g);
    free(snaps);
    free(segs);
    free(v);
    tmpdir_remove(dir);
}

static void snapshot_in_a_child_process(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(8, 3000);
    xt_journal_config_t c = jcfg();
    c.snapshot_sync = 0; /* fork */
    c.snapshot_every = 1000;
    c.keep_snapshots = 5;
    c.no_snapshot_on_close = 0;
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 3000, 100);
    done(a); /* waits for the child, then takes one in-process at 3000 */
    uint64_t *snaps;
    size_t ns;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
    /* The one at 2000 is taken at a later batch boundary, or not at all,
     * if the child writing the one at 1000 is still running then. */
    assert_true(ns >= 2);
    assert_int_equal(snaps[0], 1000);
    assert_int_equal(snaps[ns - 1], 3000);
    for (size_t i = 0; i < ns; i++) {
        char path[XT_PATH_MAX], why[XT_PATH_MAX + 256];
        xt_engine_t e;
        xt_snapshot_info_t info;
        xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, snaps[i]);
        assert_int_equal(xt_snapshot_load(&xt_io_posix, path, NULL, quiet, NULL, &e, &info, why, sizeof why), 0);
        assert_int_equal(info.seq, snaps[i]);
        assert_int_equal(xt_engine_state_hash(&e), clean_hash(v, snaps[i], NULL));
        xt_engine_destroy(&e);
    }
    free(snaps);
    /* keep_snapshots = 1 with children: each child removes the older ones and the segments (planned by the
     * parent); at the end one snapshot is left, and the journal recovers from it */
    char *dir2 = tmpdir_make("xt-journal");
    c.keep_snapshots = 1;
    c.no_snapshot_on_close = 1;
    c.segment_bytes = 8 << 10;
    reopened_t *b = reopen(dir2, &c, NULL);
    run(&b->j, v, 0, 3000, 100);
    done(b); /* waits for the last child */
    uint64_t *segs;
    size_t ng;
    xt_dir_list(dir2, XT_FILE_SNAP, &snaps, &ns);
    xt_dir_list(dir2, XT_FILE_WAL, &segs, &ng);
    assert_int_equal(ns, 1);
    assert_true(segs[0] > 1 && segs[0] <= snaps[0] + 1);
    reopened_t *r = reopen(dir2, &c, NULL);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->j.recovery.snapshot_seq, snaps[0]);
    assert_int_equal(xt_engine_state_hash(&r->e), clean_hash(v, 3000, NULL));
    done(r);
    free(snaps);
    free(segs);
    tmpdir_remove(dir2);
    free(v);
    tmpdir_remove(dir);
}

/* A snapshot whose writing fails (disk full) part-way through a large book
 * reports it, leaves no file behind, and never writes past its buffer. */
static void failed_snapshot_write_is_clean(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_engine_config_t ec = {.max_orders = 50000, .max_levels = 4096};
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, &ec, quiet, NULL), 0);
    xt_cmd_t *def = gen(1, 1); /* the instrument */
    xt_cmd_t c = def[0];
    free(def);
    c.seq = 1;
    assert_int_equal(xt_engine_apply(&e, &c), 0);
    for (int64_t i = 1; i <= 40000; i++) { /* 40,000 resting orders: ~2.2 MB */
        xt_cmd_t o = {.type = XT_CMD_NEW, .seq = (uint64_t)i + 1};
        o.u.new_order = (xt_order_new_t){.id = i,
                                         .account = 1,
                                         .side = (uint8_t)(i & 1),
                                         .qty = 1,
                                         .price = (i & 1) ? 2000 + i % 1000 : 1000 - i % 900};
        assert_int_equal(xt_engine_apply(&e, &o), 0);
    }
    uint8_t *buf = malloc(XT_SNAP_BUF);
    for (unsigned at = 1; at <= 3; at++) {
        faultio_t f;
        faultio_init(&f);
        f.fail_write_at = at;
        f.fail_errno = ENOSPC;
        char why[XT_PATH_MAX + 256];
        assert_int_equal(xt_snapshot_write(&f.io, dir, &e, buf, XT_SNAP_BUF, why, sizeof why), -ENOSPC);
        assert_non_null(strstr(why, strerror(ENOSPC)));
        uint64_t *snaps, *tmps;
        size_t ns, nt;
        xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
        xt_dir_list(dir, XT_FILE_SNAP_TMP, &tmps, &nt);
        assert_int_equal(ns + nt, 0);
        free(snaps);
        free(tmps);
    }
    free(buf);
    xt_engine_destroy(&e);
    tmpdir_remove(dir);
}

static void stale_tmp_snapshot_removed(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    char tmp[XT_PATH_MAX];
    xt_dir_path(tmp, sizeof tmp, dir, XT_FILE_SNAP_TMP, 77);
    FILE *f = fopen(tmp, "w");
    fputs("half a snapshot", f);
    fclose(f);
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    assert_int_not_equal(access(tmp, F_OK), 0);
    done(a);
    tmpdir_remove(dir);
}

static const char *dir_file(const char *dir, const char *name)
{
    static char p[XT_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* wal-last names the newest segment: a journal whose newest segments are
 * gone is refused, not taken for one that ends earlier. */
static void manifest_names_the_newest_segment(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(12, 1500);
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 8 << 10;
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    uint64_t marked = 0;
    assert_int_equal(xt_manifest_read(&xt_io_posix, dir, &marked), 0);
    assert_int_equal(marked, 1); /* the new directory's first segment */
    assert_int_equal(run(&a->j, v, 0, 1500, 50), 1500);
    done(a);
    uint64_t *segs = NULL;
    size_t n = 0;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &n), 0);
    assert_true(n >= 4);
    assert_int_equal(xt_manifest_read(&xt_io_posix, dir, &marked), 0);
    assert_int_equal(marked, segs[n - 1]);
    /* a directory from before the file: it opens, and gets one */
    unlink(dir_file(dir, "wal-last"));
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    done(b);
    assert_int_equal(xt_manifest_read(&xt_io_posix, dir, &marked), 0);
    assert_int_equal(marked, segs[n - 1]);
    /* the newest two segments gone: refused, naming the one missing */
    char p[XT_PATH_MAX];
    for (size_t i = n - 2; i < n; i++) {
        xt_dir_path(p, sizeof p, dir, XT_FILE_WAL, segs[i]);
        assert_int_equal(unlink(p), 0);
    }
    b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "is missing"));
    done(b);
    /* all of them gone, and no snapshot: refused, not an empty engine */
    for (size_t i = 0; i + 2 < n; i++) {
        xt_dir_path(p, sizeof p, dir, XT_FILE_WAL, segs[i]);
        assert_int_equal(unlink(p), 0);
    }
    b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "segments are all missing"));
    done(b);
    /* a spoilt file: refused, naming it */
    FILE *f = fopen(dir_file(dir, "wal-last"), "w");
    fputs("junk", f);
    fclose(f);
    b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "wal-last"));
    done(b);
    free(segs);
    free(v);
    tmpdir_remove(dir);
}

static void snapshot_ahead_of_the_journal_refuses(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(9, 2000);
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 8 << 10;
    c.snapshot_every = 500; /* the oldest, at 500, keeps the segments after it */
    c.keep_snapshots = 10;
    reopened_t *a = reopen(dir, &c, NULL);
    run(&a->j, v, 0, 2000, 100);
    done(a); /* snapshots at 500, 1000, 1500, 2000 */
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    unlink(seg); /* the journal's end is lost, the snapshot is not */
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "newest segment, the one from sequence"));
    assert_non_null(strstr(b->j.recovery.why, "is missing"));
    done(b);
    unlink(dir_file(dir, "wal-last")); /* a directory from before wal-last: the snapshot's check */
    b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ECORRUPT);
    assert_non_null(strstr(b->j.recovery.why, "ahead of the journal"));
    done(b);
    free(v);
    tmpdir_remove(dir);
}

/* ---- capacities ----------------------------------------------------------- */

static void capacity_outcome_survives_new_capacities(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t v[5];
    memset(v, 0, sizeof v);
    v[0].type = XT_CMD_INSTRUMENT;
    strcpy(v[0].u.instrument.symbol, "C");
    v[0].u.instrument.tick = (xt_decimal_t){1, 0};
    v[0].u.instrument.lot = (xt_decimal_t){1, 0};
    for (int i = 1; i <= 3; i++) {
        v[i].type = XT_CMD_NEW;
        v[i].u.new_order = (xt_order_new_t){.id = i, .account = 1, .side = XT_BUY, .price = 10 + i, .qty = 1};
    }
    xt_journal_config_t c = jcfg();
    xt_engine_config_t small = {.max_orders = 2, .max_levels = 8, .max_instruments = 2};
    reopened_t *a = reopen(dir, &c, &small);
    run(&a->j, v, 0, 4, 4); /* the third order is rejected: CAPACITY */
    xt_order_info_t o;
    assert_int_equal(xt_engine_order(&a->e, 3, &o), XT_ENOENT);
    uint64_t h = xt_engine_state_hash(&a->e);
    done(a);

    xt_engine_config_t big = {.max_orders = 100, .max_levels = 100, .max_instruments = 4};
    reopened_t *b = reopen(dir, &c, &big);
    assert_int_equal(b->rc, 0);
    assert_int_equal(xt_engine_state_hash(&b->e), h); /* order 3 stayed rejected */
    xt_engine_stats_t st;
    xt_engine_stats(&b->e, &st);
    assert_int_equal(st.cfg.max_orders, 100);
    v[4].type = XT_CMD_NEW;
    v[4].u.new_order = (xt_order_new_t){.id = 3, .account = 1, .side = XT_BUY, .price = 20, .qty = 1};
    run(&b->j, v, 4, 5, 1); /* now it fits */
    assert_int_equal(xt_engine_order(&b->e, 3, &o), 0);
    uint64_t h2 = xt_engine_state_hash(&b->e);
    done(b);
    uint64_t *segs;
    size_t n;
    xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    assert_int_equal(n, 2); /* the new capacities started a new segment */
    free(segs);
    /* reopening with the small capacities again: replays each segment with
     * its own, then converts - and order 3's place is kept */
    xt_engine_config_t mid = {.max_orders = 3, .max_levels = 8, .max_instruments = 2};
    reopened_t *d = reopen(dir, &c, &mid);
    assert_int_equal(d->rc, 0);
    assert_int_equal(xt_engine_state_hash(&d->e), h2);
    done(d);
    tmpdir_remove(dir);
}

/* The version of a segment's header (offset 8) and its rules (offset 52). */
static void segment_version(const char *dir, uint64_t first, uint32_t *version, uint32_t *rules)
{
    char path[XT_PATH_MAX];
    xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, first);
    uint8_t h[XT_SEG_HDR];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    *version = xt_get32(h + 8);
    *rules = xt_get32(h + 52);
}

/* A journal written under the first matching rules (a format-1 segment)
 * replays under them: an amend they refused stays refused, though the
 * current rules take it. Commands after the restart go into a new segment
 * (version 2, recording the rules), and both segments replay each under
 * its own, through a snapshot taken under the old rules too. */
static void amend_outcome_survives_new_rules(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t v[5];
    memset(v, 0, sizeof v);
    v[0].type = XT_CMD_INSTRUMENT;
    strcpy(v[0].u.instrument.symbol, "R");
    v[0].u.instrument.tick = (xt_decimal_t){1, 0};
    v[0].u.instrument.lot = (xt_decimal_t){1, 0};
    v[0].u.instrument.min_qty = (xt_decimal_t){3, 0};
    v[0].u.instrument.flags = XT_DEF_MIN;
    v[1].type = XT_CMD_NEW;
    v[1].u.new_order = (xt_order_new_t){.id = 1, .account = 1, .side = XT_SELL, .price = 10, .qty = 5};
    v[2].type = XT_CMD_NEW; /* fills 3 of order 1: 2 left, below min */
    v[2].u.new_order = (xt_order_new_t){.id = 2, .account = 2, .side = XT_BUY, .price = 10, .qty = 3};
    v[3].type = XT_CMD_AMEND; /* reprices the 2 left */
    v[3].u.amend = (xt_order_amend_t){.id = 1, .account = 1, .price = 11, .qty = 2};
    v[4] = v[3];
    xt_journal_config_t c = jcfg();
    c.snapshot_every = 2; /* a snapshot under the old rules, before the amend */
    xt_engine_config_t old_rules = {.rules = XT_RULES_1};
    reopened_t *a = reopen(dir, &c, &old_rules);
    assert_int_equal(a->rc, 0);
    run(&a->j, v, 0, 4, 1);
    xt_order_info_t o;
    assert_int_equal(xt_engine_order(&a->e, 1, &o), 0);
    assert_int_equal(o.price, 10); /* refused: 2 < min */
    uint64_t h = xt_engine_state_hash(&a->e);
    vanish(&a->j, &a->e); /* a crash: recovery replays the journal's end */
    free(a);
    uint32_t version, rules;
    segment_version(dir, 1, &version, &rules);
    assert_int_equal(version, 1);
    assert_int_equal(rules, 0);

    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    assert_int_equal(xt_engine_state_hash(&b->e), h); /* still refused */
    xt_engine_stats_t st;
    xt_engine_stats(&b->e, &st);
    assert_int_equal(st.cfg.rules, XT_RULES_CURRENT);
    run(&b->j, v, 4, 5, 1); /* the same amend, live: now taken */
    assert_int_equal(xt_engine_order(&b->e, 1, &o), 0);
    assert_int_equal(o.price, 11);
    assert_int_equal(o.qty, 2);
    uint64_t h2 = xt_engine_state_hash(&b->e);
    vanish(&b->j, &b->e);
    free(b);
    uint64_t *segs;
    size_t n;
    xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    assert_int_equal(n, 2); /* the new rules started a new segment */
    segment_version(dir, segs[1], &version, &rules);
    assert_int_equal(segs[1], 5);
    free(segs);
    assert_int_equal(version, 2);
    assert_int_equal(rules, XT_RULES_CURRENT);

    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_int_equal(xt_engine_state_hash(&d->e), h2);
    done(d);
    tmpdir_remove(dir);
}

/* Overwrites n bytes at `at` of the file and recomputes the CRC32C of
 * [0, crc_at) into crc_at: a crafted file whose checksum holds. */
static void patch_with_crc(const char *path, off_t at, const void *p, size_t n, off_t crc_from_end, off_t crc_at_abs)
{
    off_t size = size_of(path);
    uint8_t *b = malloc((size_t)size);
    assert_non_null(b);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
    memcpy(b + at, p, n);
    off_t crc_at = crc_at_abs >= 0 ? crc_at_abs : size - crc_from_end;
    off_t covered = crc_at_abs >= 0 ? crc_at_abs : size - 16;
    uint32_t crc = xt_crc32c(b, (size_t)covered);
    xt_put32(b + crc_at, crc);
    rewind(f);
    assert_int_equal(fwrite(b, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    free(b);
}

/* A segment whose header checks but names a newer format version or rule
 * revision was written by a newer build: refused as that (XT_ELIMIT, which
 * repair does not cut), never as damage, whose advice is to cut it. */
static void a_newer_builds_segment_is_not_damage(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        char *dir = tmpdir_make("xt-journal");
        xt_cmd_t *v = gen(5, 200);
        xt_journal_config_t c = jcfg();
        reopened_t *a = reopen(dir, &c, NULL);
        run(&a->j, v, 0, 200, 50);
        vanish(&a->j, &a->e);
        free(a);
        char seg[XT_PATH_MAX];
        last_segment(dir, seg);
        uint8_t w[4];
        xt_put32(w, 3); /* version 3, or version 2 with rules 3 */
        patch_with_crc(seg, k == 0 ? 8 : 52, w, sizeof w, 0, 60);
        reopened_t *b = reopen(dir, &c, NULL);
        assert_int_equal(b->rc, XT_ELIMIT);
        assert_non_null(strstr(b->j.recovery.why, "written by a newer build"));
        done(b);
        free(v);
        tmpdir_remove(dir);
    }
}

/* Capacities read from a snapshot or a segment header size the engine's
 * memory: beyond the configured ones they are taken only when such an
 * engine fits in the machine's memory (capacities since lowered); absurd
 * ones stop recovery with an error naming the field, before anything is
 * allocated. */
static void recorded_capacities_are_bounded(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(11, 500);
    xt_journal_config_t c = jcfg();
    xt_engine_config_t small = {.max_orders = 1024, .max_levels = 256, .max_instruments = 4};
    reopened_t *a = reopen(dir, &c, &small);
    run(&a->j, v, 0, 500, 50);
    assert_int_equal(xt_journal_snapshot(&a->j, 0), 0);
    done(a);
    char snap[XT_PATH_MAX], seg[XT_PATH_MAX], why[XT_PATH_MAX + 256], cmd[5 * XT_PATH_MAX];
    xt_dir_path(snap, sizeof snap, dir, XT_FILE_SNAP, 500);
    last_segment(dir, seg);
    snprintf(cmd, sizeof cmd, "cp %s %s.orig && cp %s %s.orig", snap, snap, seg, seg);
    assert_int_equal(system(cmd), 0);
    xt_engine_t e;
    /* twice the configured: an engine this machine holds - loads */
    uint8_t caps[16];
    for (int k = 0; k < 4; k++)
        xt_put32(caps + 4 * k, 2048);
    patch_with_crc(snap, 56, caps, 16, 8, -1);
    assert_int_equal(xt_snapshot_load(&xt_io_posix, snap, &small, quiet, NULL, &e, NULL, why, sizeof why), 0);
    xt_engine_destroy(&e);
    /* 2^30 orders and 2^32 - 2 levels and nodes: hundreds of GiB */
    xt_put32(caps, 1u << 30);
    xt_put32(caps + 4, UINT32_MAX - 1);
    xt_put32(caps + 8, 4);
    xt_put32(caps + 12, UINT32_MAX - 1);
    patch_with_crc(snap, 56, caps, 16, 8, -1);
    assert_int_equal(xt_snapshot_load(&xt_io_posix, snap, &small, quiet, NULL, &e, NULL, why, sizeof why), XT_ELIMIT);
    if (!strstr(why, "max_orders 1073741824 exceeds engine.max_orders 1024"))
        fail_msg("load says '%s'", why);
    /* recovery stops there: no silent fallback to the journal */
    reopened_t *b = reopen(dir, &c, &small);
    assert_int_equal(b->rc, XT_ELIMIT);
    assert_non_null(strstr(b->j.recovery.why, "max_orders"));
    done(b);
    /* the same capacities in a segment header (CRC of bytes 0..59 at 60) */
    snprintf(cmd, sizeof cmd, "cp %s.orig %s && rm -f %s", snap, snap, snap);
    assert_int_equal(system(cmd), 0);
    patch_with_crc(seg, 32, caps, 16, 0, 60);
    b = reopen(dir, &c, &small);
    assert_int_equal(b->rc, XT_ELIMIT);
    if (!strstr(b->j.recovery.why, "max_levels 4294967294 exceeds engine.max_levels 256") &&
        !strstr(b->j.recovery.why, "max_orders 1073741824"))
        fail_msg("recovery says '%s'", b->j.recovery.why);
    done(b);
    /* the originals recover */
    snprintf(cmd, sizeof cmd, "cp %s.orig %s && rm -f %s.orig %s.orig", seg, seg, seg, snap);
    assert_int_equal(system(cmd), 0);
    b = reopen(dir, &c, &small);
    assert_int_equal(b->rc, 0);
    assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, 500, &small));
    done(b);
    free(v);
    tmpdir_remove(dir);
}

/* ---- fail closed ---------------------------------------------------------- */

/* Runs with a fault, then recovers with the real file system and checks
 * that every acknowledged command is there, and the state is exactly a
 * prefix of the stream. */
static void fault_case(unsigned fail_write, unsigned short_write, unsigned fail_sync, int err)
{
    char *dir = tmpdir_make("xt-journal");
    xt_cmd_t *v = gen(10 + fail_write + short_write + fail_sync, 3000);
    faultio_t f;
    faultio_init(&f);
    f.fail_errno = err;
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 16 << 10;
    xt_engine_t e;
    xt_journal_t j;
    assert_int_equal(xt_journal_open(&j, dir, &c, &f.io, NULL, quiet, NULL, &e, 0), 0);
    /* counted as if the first segment's header were the only write and sync of the open (it also writes wal-last) */
    f.fail_write_at = fail_write ? f.writes + fail_write - 1 : 0;
    f.short_write_at = short_write ? f.writes + short_write - 1 : 0;
    f.fail_sync_at = fail_sync ? f.syncs + fail_sync - 1 : 0;
    size_t acked = run(&j, v, 0, 3000, 64);
    assert_true(f.failed);
    assert_true(acked < 3000);
    assert_non_null(xt_journal_failed(&j));
    assert_non_null(strstr(xt_journal_failed(&j), strerror(err)));
    xt_cmd_t more = v[0];
    assert_int_equal(xt_journal_submit(&j, &more, 0), XT_EFAILED); /* stays closed */
    assert_int_equal(xt_journal_commit(&j, 0), XT_EFAILED);
    xt_journal_close(&j, 0);
    xt_engine_destroy(&e);

    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    uint64_t last = last_seq(&b->e);
    assert_true(last >= acked);
    assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, last, NULL));
    done(b);
    free(v);
    tmpdir_remove(dir);
}

static void fails_closed_on_enospc(void **state)
{
    (void)state;
    for (unsigned k = 2; k < 40; k += 5)
        fault_case(k, 0, 0, ENOSPC);
}

static void fails_closed_on_eio(void **state)
{
    (void)state;
    fault_case(17, 0, 0, EIO);
}

static void fails_closed_after_a_short_write(void **state)
{
    (void)state;
    for (unsigned k = 3; k < 30; k += 7)
        fault_case(0, k, 0, ENOSPC);
}

static void fails_closed_when_fsync_fails(void **state)
{
    (void)state;
    for (unsigned k = 2; k < 30; k += 4)
        fault_case(0, 0, k, EIO);
}

/* The data directory removed, or moved, under a running journal: what it
 * writes there is lost at the next start, so it fails closed - within a
 * second, once its segment is unlinked or its path names another file or
 * none - and nothing more is acknowledged. (A probe's rm -rf went
 * unnoticed: orders were acknowledged for seconds into unlinked files.) */
static void fails_closed_when_its_directory_goes(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(12, 300);
    xt_journal_config_t c = jcfg();
    for (int moved = 0; moved < 2; moved++) {
        char *dir = tmpdir_make("xt-journal"), away[XT_PATH_MAX];
        snprintf(away, sizeof away, "%s-away", dir);
        reopened_t *a = reopen(dir, &c, NULL);
        assert_int_equal(a->rc, 0);
        assert_int_equal(run(&a->j, v, 0, 100, 50), 100);
        if (moved)
            assert_int_equal(rename(dir, away), 0);
        else
            assert_int_equal(unlink(a->j.wal.path), 0);
        assert_int_equal(run(&a->j, v, 100, 150, 50), 150); /* within the second: still synced */
        xt_cmd_t cmd = v[150];
        assert_int_equal(xt_journal_submit(&a->j, &cmd, 0), 0);
        assert_int_equal(xt_journal_commit(&a->j, 2000000000), XT_EFAILED);
        assert_non_null(xt_journal_failed(&a->j));
        assert_non_null(strstr(xt_journal_failed(&a->j), "the data directory no longer holds"));
        xt_cmd_t more = v[0];
        assert_int_equal(xt_journal_submit(&a->j, &more, 0), XT_EFAILED);
        done(a);
        if (moved)
            assert_int_equal(rename(away, dir), 0);
        tmpdir_remove(dir);
    }
    free(v);
}

/* ---- power loss ------------------------------------------------------------ */

static void power_loss(void **state)
{
    (void)state;
    static const char *const modes[] = {"drop", "tear", "garbage"};
    for (int mode = 0; mode < 3; mode++)
        for (uint64_t seed = 1; seed <= 40; seed++) {
            char *dir = tmpdir_make("xt-journal");
            rnd_state = seed * 31 + (uint64_t)mode;
            size_t n = 200 + rnd() % 2000;
            xt_cmd_t *v = gen(seed, n);
            faultio_t f;
            faultio_init(&f);
            xt_journal_config_t c = jcfg();
            c.segment_bytes = 4 << 10;
            c.snapshot_every = 300 + seed * 7;
            c.fsync = seed % 4 == 0 ? XT_FSYNC_ALWAYS : XT_FSYNC_BATCH;
            xt_engine_t e;
            xt_journal_t j;
            assert_int_equal(xt_journal_open(&j, dir, &c, &f.io, NULL, quiet, NULL, &e, 0), 0);
            size_t acked = run(&j, v, 0, n, 1 + seed % 90);
            assert_int_equal(acked, n);
            /* unsynced work in flight: part of a batch submitted, not committed */
            for (size_t i = 1; i < 1 + seed % 50 && i < n; i++) {
                xt_cmd_t cmd = v[i];
                xt_journal_submit(&j, &cmd, 0);
            }
            xt_wal_write(&j.wal); /* written, not synced */
            faultio_power_loss(&f, (faultio_loss_t)mode, seed);
            vanish(&j, &e); /* the process is gone: no close */

            reopened_t *b = reopen(dir, &c, NULL);
            if (b->rc != 0)
                fail_msg("power loss (%s, seed %llu): %s", modes[mode], (unsigned long long)seed, b->j.recovery.why);
            uint64_t last = last_seq(&b->e);
            assert_true(last >= acked); /* nothing acknowledged is lost */
            uint64_t want = last <= n ? clean_hash(v, last, NULL) : 0;
            if (last > n) { /* the uncommitted tail survived too */
                xt_cmd_t *w = malloc((last) * sizeof *w);
                memcpy(w, v, n * sizeof *w);
                for (size_t i = n; i < last; i++)
                    w[i] = v[1 + (i - n)];
                want = clean_hash(w, last, NULL);
                free(w);
            }
            assert_int_equal(xt_engine_state_hash(&b->e), want);
            done(b);
            free(v);
            tmpdir_remove(dir);
        }
}

/* ---- policies, locking ---------------------------------------------------- */

static void fsync_policies(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(11, 1000);
    const char *names[] = {"batch", "always", "interval=5", "none"};
    for (int p = 0; p < 4; p++) {
        char *dir = tmpdir_make("xt-journal");
        faultio_t f;
        faultio_init(&f);
        xt_journal_config_t c = jcfg();
        assert_int_equal(xt_fsync_policy_parse(names[p], &c), 0);
        xt_engine_t e;
        xt_journal_t j;
        assert_int_equal(xt_journal_open(&j, dir, &c, &f.io, NULL, quiet, NULL, &e, 0), 0);
        unsigned base = f.syncs; /* creating the first segment */
        int64_t now = 0;
        for (size_t i = 0; i < 1000; i += 100) {
            for (size_t k = i; k < i + 100; k++) {
                xt_cmd_t cmd = v[k];
                assert_int_equal(xt_journal_submit(&j, &cmd, now), 0);
            }
            now += 2000000; /* 2 ms per batch */
            assert_int_equal(xt_journal_commit(&j, now), 0);
        }
        unsigned syncs = f.syncs - base;
        switch (p) {
        case 0: assert_int_equal(syncs, 10); break;   /* one per batch */
        case 1: assert_int_equal(syncs, 1000); break; /* one per command */
        case 2: assert_int_equal(syncs, 3); break;    /* 5 ms apart: at 6, 12 and 18 ms */
        default: assert_int_equal(syncs, 0); break;
        }
        if (p == 2) { /* an idle tick syncs what is written once the interval is up */
            assert_int_equal(xt_journal_tick(&j, now + 1000000), 0);
            unsigned before = f.syncs;
            assert_int_equal(xt_journal_tick(&j, now + 6000000), 0);
            assert_int_equal(f.syncs, before + 1);
        }
        xt_journal_close(&j, now);
        xt_engine_destroy(&e);
        tmpdir_remove(dir);
    }
    xt_journal_config_t c;
    assert_int_equal(xt_fsync_policy_parse("interval=0", &c), XT_EINVAL);
    assert_int_equal(xt_fsync_policy_parse("interval=x", &c), XT_EINVAL);
    assert_int_equal(xt_fsync_policy_parse("sometimes", &c), XT_EINVAL);
    free(v);
}

static int beside_saved;
static uint64_t begun_seq;

static int saved_beside(void *ctx, uint64_t seq)
{
    (void)ctx;
    (void)seq;
    return beside_saved;
}

static void begun(void *ctx, uint64_t seq)
{
    *(uint64_t *)ctx = seq;
}

/* journal.snapshot_secs on an idle journal: a timed snapshot whose state
 * the newest snapshot holds already is not written again (the probe saw a
 * 118 MB snapshot rewritten every interval); one asked for is. */
static void a_timed_snapshot_with_nothing_new_is_not_written(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(12, 200);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.snapshot_secs = 1;
    xt_engine_t e;
    xt_journal_t j;
    assert_int_equal(xt_journal_open(&j, dir, &c, NULL, NULL, quiet, NULL, &e, 0), 0);
    const int64_t s = 1000000000;
    for (size_t k = 0; k < 100; k++) {
        xt_cmd_t cmd = v[k];
        assert_int_equal(xt_journal_submit(&j, &cmd, 1), 0);
    }
    assert_int_equal(xt_journal_commit(&j, 1), 0);
    assert_int_equal(xt_journal_tick(&j, s + s / 10), 0); /* due, 100 new commands: written */
    assert_int_equal(j.snapshots, 1);
    assert_int_equal(j.last_snap_seq, 100);
    assert_int_equal(xt_journal_tick(&j, 2 * s + s / 5), 0); /* due, nothing new */
    assert_int_equal(j.snapshots, 1);
    assert_int_equal(j.snapshots_current, 1);
    assert_int_equal(xt_journal_tick(&j, 2 * s + s / 2), 0); /* not due again until a second later */
    assert_int_equal(j.snapshots_current, 1);
    assert_int_equal(xt_journal_snapshot(&j, 3 * s), 0); /* asked for: written, new or not */
    assert_int_equal(j.snapshots, 2);
    xt_cmd_t cmd = v[100];
    assert_int_equal(xt_journal_submit(&j, &cmd, 3 * s), 0);
    assert_int_equal(xt_journal_commit(&j, 3 * s), 0);
    assert_int_equal(xt_journal_tick(&j, 4 * s + s / 10), 0); /* due, one new command */
    assert_int_equal(j.snapshots, 3);
    assert_int_equal(j.last_snap_seq, 101);
    assert_int_equal(j.snapshots_current, 1);
    /* what is saved beside the snapshot (the server's md-state) is missing:
     * the snapshot is taken again, and snapshot_begun told */
    j.cfg.snapshot_current = saved_beside;
    j.cfg.snapshot_begun = begun;
    j.cfg.report_ctx = &begun_seq;
    beside_saved = 0;
    assert_int_equal(xt_journal_tick(&j, 5 * s + s / 10), 0);
    assert_int_equal(j.snapshots, 4);
    assert_int_equal(begun_seq, 101);
    beside_saved = 1;
    assert_int_equal(xt_journal_tick(&j, 6 * s + s / 5), 0);
    assert_int_equal(j.snapshots, 4);
    assert_int_equal(j.snapshots_current, 2);
    xt_journal_close(&j, 7 * s);
    xt_engine_destroy(&e);
    tmpdir_remove(dir);
    free(v);
}

static void directory_is_locked(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, XT_ELOCKED);
    done(b);
    done(a);
    reopened_t *d = reopen(dir, &c, NULL); /* released at close */
    assert_int_equal(d->rc, 0);
    done(d);
    tmpdir_remove(dir);
}

static void malformed_commands_are_not_journaled(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    reopened_t *a = reopen(dir, &c, NULL);
    xt_cmd_t bad = {.type = XT_CMD_CANCEL};
    bad.u.cancel = (xt_order_cancel_t){0, 1};
    assert_int_equal(xt_journal_submit(&a->j, &bad, 0), XT_EINVAL);
    xt_cmd_t *v = gen(12, 10);
    run(&a->j, v, 0, 10, 10);
    done(a);
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(last_seq(&b->e), 10); /* no gap for the malformed one */
    done(b);
    free(v);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_round_trip),
        cmocka_unit_test(fails_closed_when_its_directory_goes),
        cmocka_unit_test(write_close_recover),
        cmocka_unit_test(torn_tail_is_cut),
        cmocka_unit_test(torn_segment_header_where_recovery_starts),
        cmocka_unit_test(zeros_and_garbage_after_the_end),
        cmocka_unit_test(a_hole_after_the_end_is_not_read),
        cmocka_unit_test(an_empty_segment_is_replaced_whole),
        cmocka_unit_test(power_loss_after_an_empty_segment_is_replaced),
        cmocka_unit_test(corruption_in_the_middle_refuses),
        cmocka_unit_test(damage_before_the_snapshot_is_read_past),
        cmocka_unit_test(corruption_in_an_earlier_segment_refuses),
        cmocka_unit_test(snapshots_and_retention),
        cmocka_unit_test(snapshot_in_a_child_process),
        cmocka_unit_test(failed_snapshot_write_is_clean),
        cmocka_unit_test(stale_tmp_snapshot_removed),
        cmocka_unit_test(snapshot_ahead_of_the_journal_refuses),
        cmocka_unit_test(manifest_names_the_newest_segment),
        cmocka_unit_test(capacity_outcome_survives_new_capacities),
        cmocka_unit_test(amend_outcome_survives_new_rules),
        cmocka_unit_test(a_newer_builds_segment_is_not_damage),
        cmocka_unit_test(recorded_capacities_are_bounded),
        cmocka_unit_test(fails_closed_on_enospc),
        cmocka_unit_test(fails_closed_on_eio),
        cmocka_unit_test(fails_closed_after_a_short_write),
        cmocka_unit_test(fails_closed_when_fsync_fails),
        cmocka_unit_test(power_loss),
        cmocka_unit_test(fsync_policies),
        cmocka_unit_test(a_timed_snapshot_with_nothing_new_is_not_written),
        cmocka_unit_test(directory_is_locked),
        cmocka_unit_test(malformed_commands_are_not_journaled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
