/* test_journal_prealloc.c - preallocated journal segments (spare.h,
 * docs/journal-format.md#preallocated-segments): rolls into spares, zeros
 * as the end of the last segment, torn writes within the torn window, a
 * reader beside the writer, a spare that fails, the header's torn_window,
 * a segment that grew by appending moving to a spare once one is
 * ready, and rolled segments leaving the page cache. */
#define _GNU_SOURCE /* usleep, truncate */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/codec.h"
#include "journal/crc32c.h"
#include "journal/dir.h"
#include "journal/journal.h"
#include "journal/reader.h"
#include "journal/segment.h"
#include "journal_fixture.h"
#include "tmpdir.h"
#include "xt/xt.h"

/* The largest journal segment file in dir. */
static off_t largest_segment(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    off_t most = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "wal-", 4) != 0 || strstr(e->d_name, ".log") == NULL)
            continue;
        char p[XT_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        most = st.st_size > most ? st.st_size : most;
    }
    closedir(d);
    return most;
}

/* Rolls into preallocated segments (spare.h, made inline): the last
 * segment keeps the spare's size while records overwrite its zeros, every
 * earlier one is cut to its records (a reader refuses zeros in one) and
 * none ran past the spare's size (a batch that would goes into the next
 * one: the file never grows, so a full disk cannot fail it there), the
 * spare is there while the journal is open and gone after, and a restart
 * reads the zeros as the end and goes on over them. */
static void rolls_into_preallocated_segments(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(6, 700);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 8 << 10;
    c.preallocate = XT_SPARE_INLINE;
    char spare[XT_PATH_MAX], seg[XT_PATH_MAX];
    snprintf(spare, sizeof spare, "%s/%s", dir, XT_SPARE_FILE);
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    assert_int_equal(size_of(spare), 8 << 10);
    assert_int_equal(run(&a->j, v, 0, 600, 20), 600);
    assert_true(a->j.spare.made >= 3);
    assert_int_equal(a->j.spare.missed, 0);
    assert_int_equal(a->j.wal.torn_window, XT_WAL_TORN_WINDOW);
    last_segment(dir, seg);
    assert_int_equal(size_of(seg), 8 << 10);
    assert_true(largest_segment(dir) <= (8 << 10));
    off_t end = a->j.wal.seg_size;
    assert_true(end < (8 << 10));
    done(a);
    assert_int_equal(access(spare, F_OK), -1);
    reopened_t *b = reopen(dir, &c, NULL);
    assert_int_equal(b->rc, 0);
    assert_false(b->j.recovery.tail_cut);
    assert_int_equal(b->j.recovery.last_end, end);
    assert_int_equal(b->j.recovery.last_zeros, (8 << 10) - end);
    assert_int_equal(last_seq(&b->e), 600);
    assert_int_equal(run(&b->j, v, 600, 700, 20), 700);
    done(b);
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_false(d->j.recovery.tail_cut);
    assert_int_equal(last_seq(&d->e), 700);
    assert_int_equal(xt_engine_state_hash(&d->e), clean_hash(v, 700, NULL));
    done(d);
    tmpdir_remove(dir);
    free(v);
}

/* Does a record of the segment at path end exactly at off? */
static int record_boundary(const char *path, off_t off)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t len[4];
    off_t at = XT_SEG_HDR;
    while (at < off && fseeko(f, at, SEEK_SET) == 0 && fread(len, 1, 4, f) == 4 && xt_get32(len) > 0)
        at += xt_get32(len);
    fclose(f);
    return at == off;
}

/* The length of the record at off of the segment at path. */
static off_t record_len(const char *path, off_t off)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t len[4];
    assert_int_equal(fseeko(f, off, SEEK_SET), 0);
    assert_int_equal(fread(len, 1, 4, f), 4);
    fclose(f);
    assert_true(xt_get32(len) > 24); /* a header and more */
    return (off_t)xt_get32(len);
}

/* The first record of the segment at path that starts at or after at. */
static off_t record_at_or_after(const char *path, off_t at)
{
    off_t rec = XT_SEG_HDR;
    while (rec < at)
        rec += record_len(path, rec);
    return rec;
}

/* The first record of the segment at path, from at on and ending before
 * end, that crosses a sector boundary with a zero byte right before it
 * (its own: a u64's high bytes), or 0. A probe flipped one byte of such
 * a record and recovery took it for a tear: the sector's zeros "began
 * inside it" - and cut 12,529 acknowledged commands after it. */
static off_t record_with_zeros_at_a_sector_end(const char *path, off_t at, off_t end)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    off_t found = 0;
    for (off_t rec = record_at_or_after(path, at); !found && rec < end;) {
        off_t len = record_len(path, rec), b = (rec / 512 + 1) * 512;
        uint8_t z;
        if (b < rec + len && rec + len < end && pread(fd, &z, 1, b - 1) == 1 && z == 0)
            found = rec;
        rec += len;
    }
    close(fd);
    return found;
}

/* Journals the n commands v in dir, the last segment preallocated (the
 * empty first one rolled into the spare), with *c set up for it; returns
 * where its records end. */
static off_t in_a_preallocated_segment(const char *dir, const xt_cmd_t *v, size_t n, xt_journal_config_t *c)
{
    *c = jcfg();
    c->segment_bytes = 16 << 20;
    c->preallocate = XT_SPARE_INLINE;
    reopened_t *a = reopen(dir, c, NULL);
    assert_int_equal(run(&a->j, v, 0, 20, 20), 20);
    a->j.wal.roll = 1;
    assert_int_equal(run(&a->j, v, 20, n, 100), n);
    assert_int_equal(a->j.wal.torn_window, XT_WAL_TORN_WINDOW);
    off_t end = a->j.wal.seg_size;
    done(a);
    return end;
}

static void zero_bytes(const char *path, off_t at, size_t n)
{
    char z[4096] = {0};
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0 && n <= sizeof z);
    assert_int_equal(pwrite(fd, z, n, at), (ssize_t)n);
    close(fd);
}

/* A preallocated segment's pages reach the disk in any order: a crash can
 * leave zeros amid the last, unsynced, write with its later records intact.
 * That is a torn tail, cut at the zeros: its bytes become zeros again (the
 * file keeps its preallocated size) and the journal goes on over them. The same zeros with more than the
 * torn window of records after them are damage to synced records: refused.
 * Under a policy that syncs rarely, the journal syncs at the window. */
static void a_torn_write_in_a_preallocated_segment(void **state)
{
    (void)state;
    size_t n = 120000; /* over 4 MiB of records */
    xt_cmd_t *v = gen(7, n);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 16 << 20;
    c.preallocate = XT_SPARE_INLINE;
    c.fsync = XT_FSYNC_INTERVAL;
    c.interval_ms = 60000; /* never by time here: only the torn window syncs */
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(run(&a->j, v, 0, 20, 20), 20); /* the empty first segment is replaced by the spare */
    a->j.wal.roll = 1;                              /* and a roll to the next spare: a sync of the roll's */
    off_t synced = 0;
    for (size_t i = 20; i < n; i += 1000) {
        assert_int_equal(run(&a->j, v, i, i + 1000 < n ? i + 1000 : n, 1000), i + 1000 < n ? i + 1000 : n);
        assert_true(a->j.wal.seg_size - a->j.wal.synced_size <= (off_t)XT_WAL_TORN_WINDOW);
        if (a->j.wal.synced_size != synced) { /* a sync between two records: a tear begins at or after it */
            synced = a->j.wal.synced_size;
            assert_true(record_boundary(a->j.wal.path, synced));
        }
    }
    assert_int_equal(a->j.wal.torn_window, XT_WAL_TORN_WINDOW);
    assert_true(a->j.wal.seg_size > (off_t)XT_WAL_TORN_WINDOW + 4096);
    assert_true(a->j.wal.syncs >= 2); /* the roll's and the window's */
    off_t end = a->j.wal.seg_size;
    done(a);
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    zero_bytes(seg, (end - 3000) / 512 * 512, 512); /* a sector of the last write never written (a whole one) */
    reopened_t *b = reopen(dir, &c, NULL);
    if (b->rc != 0)
        fail_msg("refused: %s", b->j.recovery.why);
    assert_true(b->j.recovery.tail_cut); /* the torn bytes are zeros again; the file keeps its size */
    assert_true(b->j.recovery.tail_bytes > 0 && b->j.recovery.tail_bytes <= 3000 + 128);
    off_t size = size_of(seg);
    assert_int_equal(size, 16 << 20);
    assert_int_equal(b->j.recovery.last_zeros, size - b->j.recovery.tail_offset);
    uint64_t last = last_seq(&b->e);
    assert_true(last < n && last > n - 100);
    assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, last, NULL));
    assert_int_equal(run(&b->j, v, last, last + 50, 10), last + 50); /* over the zeros, as before the tear */
    done(b);
    assert_int_equal(size_of(seg), size);
    reopened_t *g = reopen(dir, &c, NULL);
    assert_int_equal(g->rc, 0);
    assert_false(g->j.recovery.tail_cut);
    assert_int_equal(xt_engine_state_hash(&g->e), clean_hash(v, last + 50, NULL));
    done(g);
    zero_bytes(seg, XT_SEG_HDR + 4096, 512); /* early in the segment: synced records follow */
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, XT_ECORRUPT);
    assert_non_null(strstr(d->j.recovery.why, "valid records follow"));
    done(d);
    tmpdir_remove(dir);
    free(v);
}

/* A byte flipped in a synced record within the torn window of a
 * preallocated segment's end: the record is whole on disk (no sector of
 * it holds the zeros a tear leaves), so it was damaged after it was
 * written, and the records after it were synced and acknowledged: refused
 * as corruption, as anywhere else. It was cut as a torn tail, with every
 * record after it (a probe lost 666 acknowledged commands to one byte).
 * A flip in the very last record, with nothing after it, is still cut. */
static void a_flipped_byte_in_the_window_is_corruption(void **state)
{
    (void)state;
    size_t n = 3000;
    xt_cmd_t *v = gen(8, n);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c;
    off_t end = in_a_preallocated_segment(dir, v, n, &c);
    assert_true(end < (off_t)XT_WAL_TORN_WINDOW); /* every record within the window */
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    off_t rec = record_at_or_after(seg, end / 2);
    static const off_t where[] = {30, 8}; /* in its payload; in its sequence number (the next record vouches) */
    for (int k = 0; k < 2; k++) {
        flip_byte(seg, rec + where[k]);
        reopened_t *b = reopen(dir, &c, NULL);
        assert_int_equal(b->rc, XT_ECORRUPT);
        assert_non_null(strstr(b->j.recovery.why, "damaged after it was written"));
        done(b);
        flip_byte(seg, rec + where[k]); /* back */
    }
    rec = record_with_zeros_at_a_sector_end(seg, end / 4, end - 1000);
    assert_true(rec > 0);
    flip_byte(seg, rec + 4); /* its checksum */
    reopened_t *z = reopen(dir, &c, NULL);
    assert_int_equal(z->rc, XT_ECORRUPT);
    assert_non_null(strstr(z->j.recovery.why, "damaged after it was written"));
    done(z);
    flip_byte(seg, rec + 4);
    flip_byte(seg, end - 10); /* the last record: nothing after it */
    reopened_t *d = reopen(dir, &c, NULL);
    assert_int_equal(d->rc, 0);
    assert_true(d->j.recovery.tail_cut);
    assert_int_equal(last_seq(&d->e), n - 1);
    done(d);
    tmpdir_remove(dir);
    free(v);
}

/* Power losses as a disk makes them, within the torn window of a
 * preallocated segment written without a sync: each sector of the
 * unsynced part reached the disk as its page was at some moment - whole,
 * or its records up to one of them and zeros after (a write appends whole
 * records), or none of it. Every such image recovers (a torn tail, never
 * "damaged after it was written"), to a prefix of the commands, with every
 * synced command kept: the sectors' test of a tear (reader.c
 * written_whole) never takes a power loss for damage. */
static void power_losses_in_the_window_are_tears(void **state)
{
    (void)state;
    size_t n = 4000;
    xt_cmd_t *v = gen(9, n);
    for (int round = 0; round < 24; round++) {
        char *dir = tmpdir_make("xt-journal");
        xt_journal_config_t c = jcfg();
        c.segment_bytes = 16 << 20;
        c.preallocate = XT_SPARE_INLINE;
        c.fsync = XT_FSYNC_INTERVAL;
        c.interval_ms = 600000; /* no sync by time: the window's records stay unsynced */
        reopened_t *a = reopen(dir, &c, NULL);
        assert_int_equal(run(&a->j, v, 0, 20, 20), 20);
        a->j.wal.roll = 1; /* into the spare, synced at the roll */
        size_t synced_n = 20 + (size_t)(rnd() % 1000);
        assert_int_equal(run(&a->j, v, 20, synced_n, 50), synced_n);
        assert_int_equal(xt_wal_sync(&a->j.wal), 0);
        off_t synced = a->j.wal.synced_size, end;
        assert_int_equal(run(&a->j, v, synced_n, n, 1 + rnd() % 200), n);
        end = a->j.wal.seg_size;
        done(a);
        char seg[XT_PATH_MAX];
        last_segment(dir, seg);
        int fd = open(seg, O_RDWR);
        assert_true(fd >= 0);
        for (off_t s = synced / 512 * 512; s < end; s += 512) {
            uint8_t b[512];
            assert_int_equal(pread(fd, b, 512, s), 512);
            off_t cut = 512; /* where this sector's zeros begin: whole */
            unsigned pick = (unsigned)(rnd() % 4);
            if (pick == 0) {
                cut = 0;            /* none of it */
            } else if (pick == 1) { /* up to a record that starts in it (at or after the synced end) */
                off_t at = XT_SEG_HDR, starts[16];
                int k = 0;
                uint8_t len[4];
                while (at < s + 512 && pread(fd, len, 4, at) == 4 && xt_get32(len) > 0) {
                    if (at >= s && at >= synced && k < 16)
                        starts[k++] = at;
                    at += xt_get32(len);
                }
                if (k)
                    cut = starts[rnd() % (uint64_t)k] - s;
            }
            if (s + cut < synced)
                cut = synced - s; /* synced bytes are on the disk */
            memset(b + cut, 0, 512 - (size_t)cut);
            assert_int_equal(pwrite(fd, b, 512, s), 512);
        }
        close(fd);
        reopened_t *b = reopen(dir, &c, NULL);
        if (b->rc != 0)
            fail_msg("round %d refused: %s", round, b->j.recovery.why);
        uint64_t last = last_seq(&b->e);
        assert_true(last >= synced_n && last <= n);
        assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, last, NULL));
        done(b);
        tmpdir_remove(dir);
    }
    free(v);
}

/* A reader beside a running server meets a record the server is still
 * copying in (half of it there, zeros after) and the server finishes the
 * batch while the reader looks further on: still a torn tail, never
 * "damaged after it was written" - the record is looked at before the
 * scan, and only bytes that stay what was read, and bad, are damage (a
 * review's harness, which made the first version of the check say so). */
static struct {
    uint8_t *saved;
    size_t n;
    off_t at, trigger;
    char path[XT_PATH_MAX];
    int restored;
} mid;

static ssize_t finishing_pread(xt_io_t *io, int fd, void *buf, size_t n, off_t off)
{
    if (!mid.restored && off >= mid.trigger) { /* the server's copy goes on and completes */
        int w = open(mid.path, O_WRONLY);
        assert_true(w >= 0);
        assert_int_equal(pwrite(w, mid.saved, mid.n, mid.at), (ssize_t)mid.n);
        close(w);
        mid.restored = 1;
    }
    return xt_io_posix.pread(io, fd, buf, n, off);
}

static void a_record_being_written_beside_a_reader(void **state)
{
    (void)state;
    size_t n = 3000;
    xt_cmd_t *v = gen(10, n);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c;
    off_t end = in_a_preallocated_segment(dir, v, n, &c);
    last_segment(dir, mid.path);
    off_t rec = record_at_or_after(mid.path, end / 2);
    mid.at = rec + record_len(mid.path, rec) / 2; /* the copy stopped halfway through it */
    mid.n = (size_t)(end - mid.at);
    mid.saved = malloc(mid.n);
    int fd = open(mid.path, O_RDWR);
    assert_true(fd >= 0 && mid.saved);
    assert_int_equal(pread(fd, mid.saved, mid.n, mid.at), (ssize_t)mid.n);
    uint8_t *z = calloc(1, mid.n);
    assert_int_equal(pwrite(fd, z, mid.n, mid.at), (ssize_t)mid.n);
    close(fd);
    mid.trigger = rec + XT_WAL_TORN_WINDOW;
    mid.restored = 0;
    xt_io_t io = xt_io_posix;
    io.pread = finishing_pread;
    xt_wal_reader_t r;
    xt_cmd_t cmd;
    assert_int_equal(xt_wal_reader_open(&r, &io, dir, 1), 0);
    int rc;
    while ((rc = xt_wal_reader_next(&r, &cmd)) == 1)
        ;
    if (rc != XT_ETORN)
        fail_msg("rc %d at %lld: %s", rc, (long long)r.offset, r.why);
    assert_int_equal(r.offset, rec);
    xt_wal_reader_close(&r);
    free(z);
    free(mid.saved);
    tmpdir_remove(dir);
    free(v);
}

/* Reads r to its end, after the n records read so far: the count of
 * records in all. A reader error fails the test with its place and why. */
static uint64_t read_to_end(xt_wal_reader_t *r, uint64_t n)
{
    xt_cmd_t cmd;
    int rc;
    while ((rc = xt_wal_reader_next(r, &cmd)) == 1)
        n++;
    if (rc != 0)
        fail_msg("%s offset %lld: %s", r->path, (long long)r->offset, r->why);
    return n;
}

/* A reader beside a running server: the roll cuts the zeros off the
 * preallocated segment it is reading (after it was sized, before it was
 * read to the end). The reader finds the end of the records, not damage. */
static void a_reader_beside_a_roll(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(8, 30000); /* over 1 MiB: the reader reads it in more than one window */
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 4 << 20;
    c.preallocate = XT_SPARE_INLINE;
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(run(&a->j, v, 0, 10, 10), 10); /* the empty first segment is replaced by the spare */
    assert_int_equal(run(&a->j, v, 10, 30000, 1000), 30000);
    off_t end = a->j.wal.seg_size;
    char seg[XT_PATH_MAX];
    snprintf(seg, sizeof seg, "%s", a->j.wal.path);
    xt_wal_reader_t r;
    xt_cmd_t cmd;
    assert_int_equal(xt_wal_reader_open(&r, &xt_io_posix, dir, 1), 0);
    uint64_t n = 0;
    while (n < 20) /* into the preallocated segment: it is open and sized */
        n += xt_wal_reader_next(&r, &cmd) == 1;
    assert_int_equal(truncate(seg, end), 0); /* the roll, as wal.c makes it */
    assert_int_equal(read_to_end(&r, n), 30000);
    xt_wal_reader_close(&r);
    done(a);
    tmpdir_remove(dir);
    free(v);
}

/* A reader beside a running server, again: it read zeros after the last
 * record into its window, and the server has written records there since.
 * It reads them, not a torn tail. */
static void a_reader_beside_a_writer(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(9, 400);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.preallocate = XT_SPARE_INLINE;
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(run(&a->j, v, 0, 10, 10), 10); /* the empty first segment is replaced by the spare */
    assert_int_equal(run(&a->j, v, 10, 200, 50), 200);
    xt_wal_reader_t r;
    xt_cmd_t cmd;
    assert_int_equal(xt_wal_reader_open(&r, &xt_io_posix, dir, 1), 0);
    uint64_t n = 0;
    while (n < 20) /* into the preallocated segment: its window holds the zeros after record 200 */
        n += xt_wal_reader_next(&r, &cmd) == 1;
    assert_int_equal(run(&a->j, v, 200, 400, 50), 400); /* written over those zeros */
    assert_int_equal(read_to_end(&r, n), 400);
    xt_wal_reader_close(&r);
    done(a);
    tmpdir_remove(dir);
    free(v);
}

/* The spare's thread (the server's mode): a spare that cannot be made
 * (here: a directory in its place) is a miss at the next take, which asks
 * for another; once the way is clear, it is made and taken. */
static int spare_state_is(xt_spare_t *sp, const char *prefix)
{
    char buf[160];
    return strncmp(xt_spare_state(sp, buf, sizeof buf), prefix, strlen(prefix)) == 0;
}

static void a_failed_spare_is_asked_for_again(void **state)
{
    (void)state;
    char *dir = tmpdir_make("xt-journal");
    char path[XT_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, XT_SPARE_FILE);
    assert_int_equal(mkdir(path, 0755), 0);
    xt_spare_t sp;
    assert_int_equal(xt_spare_start(&sp, &xt_io_posix, dir, 8192, XT_SPARE_THREAD, 0), 0);
    for (int i = 0; !spare_state_is(&sp, "the last one failed"); i++) {
        assert_true(i < 10000); /* 10 s */
        usleep(1000);
    }
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(xt_spare_take(&sp), 0); /* a miss, and another asked for */
    assert_int_equal(sp.missed, 1);
    for (int i = 0; !spare_state_is(&sp, "ready"); i++) {
        assert_true(i < 10000);
        usleep(1000);
    }
    assert_int_equal(size_of(path), 8192);
    assert_int_equal(xt_spare_take(&sp), 1);
    xt_spare_again(&sp);
    xt_spare_stop(&sp);
    assert_int_equal(access(path, F_OK), -1);
    tmpdir_remove(dir);
}

/* A header's torn_window is 0 or XT_WAL_TORN_WINDOW: recovery trusts it to
 * tell a tear from damage, so any other value makes the header bad. */
static void a_header_with_another_torn_window_is_bad(void **state)
{
    (void)state;
    xt_caps_t caps = {64, 32, 4, 160, XT_RULES_CURRENT}, got;
    uint8_t h[XT_SEG_HDR];
    uint64_t first;
    uint32_t window = 1;
    for (int k = 0; k < 4; k++) {
        uint32_t w = k == 0 ? 0 : k == 1 ? XT_WAL_TORN_WINDOW : k == 2 ? 1u << 30 : 64;
        xt_segment_header(h, 7, 0, &caps, w);
        int ok = xt_segment_header_ok(h, &first, &got, &window);
        assert_int_equal(ok, k < 2);
        if (ok)
            assert_int_equal(window, w);
    }
}

/* The header's zeros are checked (journal-format.md): version 1 with a
 * rules field, or anything at offset 56, makes it bad though its CRC
 * checks. Both were taken. */
static void a_header_with_bytes_where_zeros_belong_is_bad(void **state)
{
    (void)state;
    uint8_t h[XT_SEG_HDR];
    uint64_t first;
    uint32_t window;
    xt_caps_t got;
    for (int k = 0; k < 4; k++) {
        xt_caps_t caps = {64, 32, 4, 160, k < 2 ? XT_RULES_1 : XT_RULES_CURRENT};
        xt_segment_header(h, 7, 0, &caps, 0);
        assert_true(xt_segment_header_ok(h, &first, &got, &window)); /* as written: fine */
        xt_put32(h + (k % 2 ? 56 : 52), 2);
        xt_put32(h + 60, xt_crc32c(h, 60));
        assert_int_equal(xt_segment_header_ok(h, &first, &got, &window), k == 2); /* v2's rules 2: its own field */
    }
}

/* How many segments dir holds. */
static size_t segments(const char *dir)
{
    uint64_t *v = NULL;
    size_t n = 0;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &v, &n), 0);
    free(v);
    return n;
}

/* A segment that grew by appending moves to a preallocated one at the first
 * write after a spare is ready, not a segment later: the first segment of
 * a new directory before any record (replaced under its name), and one
 * written with journal.preallocate off once it holds XT_WAL_EARLY_ROLL
 * bytes of records (kept, cut to them); a smaller one stays. */
static void an_appending_segment_rolls_into_a_spare(void **state)
{
    (void)state;
    size_t n = 20000; /* over XT_WAL_EARLY_ROLL of records */
    xt_cmd_t *v = gen(8, n + 200);
    char *dir = tmpdir_make("xt-journal");
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 64 << 20;
    c.preallocate = XT_SPARE_INLINE; /* ready at open */
    reopened_t *a = reopen(dir, &c, NULL);
    assert_int_equal(a->rc, 0);
    assert_int_equal(a->j.wal.torn_window, 0); /* created before the spare */
    assert_int_equal(run(&a->j, v, 0, 100, 20), 100);
    assert_int_equal(a->j.wal.torn_window, XT_WAL_TORN_WINDOW);
    assert_int_equal(segments(dir), 1); /* the empty one replaced, same name */
    char seg[XT_PATH_MAX];
    last_segment(dir, seg);
    assert_int_equal(size_of(seg), 64 << 20);
    assert_int_equal(a->j.spare.missed, 0);
    done(a);
    tmpdir_remove(dir);

    for (int big = 0; big < 2; big++) {
        size_t pre = big ? n : 100;
        dir = tmpdir_make("xt-journal");
        c.preallocate = XT_SPARE_OFF;
        a = reopen(dir, &c, NULL);
        assert_int_equal(run(&a->j, v, 0, pre, 200), pre);
        assert_int_equal(a->j.wal.torn_window, 0);
        assert_int_equal(a->j.wal.seg_size - XT_SEG_HDR >= XT_WAL_EARLY_ROLL, big);
        done(a);
        c.preallocate = XT_SPARE_INLINE;
        reopened_t *b = reopen(dir, &c, NULL);
        assert_int_equal(b->rc, 0);
        assert_int_equal(last_seq(&b->e), pre);
        assert_int_equal(run(&b->j, v, pre, pre + 200, 20), pre + 200);
        assert_int_equal(b->j.wal.torn_window, big ? XT_WAL_TORN_WINDOW : 0);
        assert_int_equal(segments(dir), big ? 2 : 1); /* the appended one kept, cut to its records */
        done(b);
        reopened_t *d = reopen(dir, &c, NULL);
        assert_int_equal(d->rc, 0);
        assert_false(d->j.recovery.tail_cut);
        assert_int_equal(last_seq(&d->e), pre + 200);
        assert_int_equal(xt_engine_state_hash(&d->e), clean_hash(v, pre + 200, NULL));
        done(d);
        tmpdir_remove(dir);
    }
    free(v);
}

/* ---- rolled segments leave the page cache (spare.h) ------------------- */

/* What the counting layer saw: each drop_cache's file, how many of its
 * pages were in the page cache before and after (-1: not measured), and on
 * which thread. Nothing asserts there (it may be the spare's thread). */
typedef struct drop_seen {
    pthread_mutex_t mu;
    int n, failed;
    ino_t ino[64];
    off_t size[64];
    long before[64], after[64];
    pthread_t thread[64];
} drop_seen_t;

static drop_seen_t seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
static xt_io_t counting_io;

/* Pages of fd's file in the page cache (mincore of a mapping; through a
 * descriptor of its own: the journal's is write-only); -1 on failure. */
static long resident(int wfd, off_t size)
{
    long page = sysconf(_SC_PAGESIZE), n = (long)((size + page - 1) / page), in = 0;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", wfd);
    int fd = open(self, O_RDONLY);
    if (fd < 0)
        return -1;
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unsigned char *v = malloc((size_t)n);
    if (m == MAP_FAILED || !v || mincore(m, (size_t)size, v) != 0)
        in = -1;
    for (long i = 0; in >= 0 && i < n; i++)
        in += v[i] & 1;
    free(v);
    if (m != MAP_FAILED)
        munmap(m, (size_t)size);
    return in;
}

static int counting_drop(xt_io_t *io, int fd)
{
    (void)io;
    struct stat st;
    int ok = fstat(fd, &st) == 0;
    long before = ok ? resident(fd, st.st_size) : -1;
    int rc = xt_io_posix.drop_cache(&xt_io_posix, fd);
    long after = ok ? resident(fd, st.st_size) : -1;
    pthread_mutex_lock(&seen.mu);
    if (!ok || before < 0 || after < 0 || rc != 0 || seen.n == 64) {
        seen.failed++;
    } else {
        seen.ino[seen.n] = st.st_ino;
        seen.size[seen.n] = st.st_size;
        seen.before[seen.n] = before;
        seen.after[seen.n] = after;
        seen.thread[seen.n] = pthread_self();
        seen.n++;
    }
    pthread_mutex_unlock(&seen.mu);
    return rc;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Does the file system keep a file's written pages in the page cache
 * (those whose behaviour is known: ext4, XFS, btrfs)? Elsewhere (tmpfs,
 * whose pages are the file; ZFS, with a cache of its own) only what was
 * cached is checked. */
static int page_cached_fs(const struct statfs *fs)
{
    return fs->f_type == 0xEF53 || fs->f_type == 0x58465342 || fs->f_type == (__typeof__(fs->f_type))0x9123683E;
}

/* With drop_cache, every segment a roll leaves (all but the last) has its
 * pages dropped once, after it was cut to its records and synced - on the
 * spare's thread (XT_SPARE_THREAD) or inline - and closed; none is dropped
 * without it or without spares. The segments (6,000 bytes) are shorter
 * than the spares (8 KiB), so a roll has zeros to cut; and the journal
 * syncs only at the roll (interval of a minute), so a segment's last pages
 * are dirty until the roll's own sync: a drop before the cut or the sync
 * would see another size or leave pages in the cache. */
static void rolled_segments_leave_the_page_cache(void **state)
{
    (void)state;
    counting_io = xt_io_posix;
    counting_io.drop_cache = counting_drop;
    xt_cmd_t *v = gen(6, 700);
    for (int k = 0; k < 4; k++) {
        int mode = k == 3 ? XT_SPARE_OFF : k == 0 ? XT_SPARE_INLINE : XT_SPARE_THREAD;
        int drop = k != 2;
        char *dir = tmpdir_make("xt-journal");
        struct statfs fs;
        assert_int_equal(statfs(dir, &fs), 0);
        xt_journal_config_t c = jcfg();
        c.segment_bytes = 6000;
        c.fsync = XT_FSYNC_INTERVAL;
        c.interval_ms = 60000;
        c.preallocate = (uint8_t)mode;
        c.drop_cache = (uint8_t)drop;
        seen.n = seen.failed = 0;
        int fds = open_fds();
        xt_engine_t e;
        xt_journal_t j;
        assert_int_equal(xt_journal_open(&j, dir, &c, &counting_io, NULL, quiet, NULL, &e, 0), 0);
        assert_int_equal(run(&j, v, 0, 600, 20), 600);
        xt_journal_close(&j, 0); /* joins the spare's thread: every drop is done */
        xt_engine_destroy(&e);
        assert_int_equal(open_fds(), fds); /* every segment closed */
        assert_int_equal(seen.failed, 0);
        uint64_t *segs;
        size_t n;
        assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &n), 0);
        assert_true(n >= 4);
        if (mode == XT_SPARE_OFF || !drop) {
            assert_int_equal(seen.n, 0);
        } else {
            assert_int_equal(seen.n, (int)n - 1);
            for (size_t i = 0; i + 1 < n; i++) {
                char path[XT_PATH_MAX];
                struct stat st;
                xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, segs[i]);
                assert_int_equal(stat(path, &st), 0);
                assert_true(st.st_size < (8 << 10)); /* its zeros were cut */
                int found = 0;
                for (int d = 0; d < seen.n; d++) {
                    if (seen.ino[d] != st.st_ino)
                        continue;
                    found++;
                    assert_int_equal(seen.size[d], st.st_size); /* cut to its records before */
                    assert_int_equal(pthread_equal(seen.thread[d], pthread_self()) != 0, mode == XT_SPARE_INLINE);
                    if (page_cached_fs(&fs))
                        assert_true(seen.before[d] > 0);
                    if (seen.before[d] > 0)
                        assert_int_equal(seen.after[d], 0); /* synced before: clean pages go */
                }
                assert_int_equal(found, 1);
            }
        }
        free(segs);
        tmpdir_remove(dir);
    }
    free(v);
}

/* A snapshot taken while the journal runs (in a child, or in process with
 * snapshot_sync) leaves the page cache too when rolled segments do, and
 * stays in it when they do not; the one of a clean stop stays (the next
 * start reads it). Checked where the file system caches. */
static void snapshots_leave_the_page_cache(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(7, 600);
    for (int k = 0; k < 5; k++) {
        int drop = k < 2 || k == 4, in_child = k % 2, at_close = k == 4;
        char *dir = tmpdir_make("xt-journal");
        struct statfs fs;
        assert_int_equal(statfs(dir, &fs), 0);
        xt_journal_config_t c = jcfg();
        c.preallocate = XT_SPARE_THREAD;
        c.drop_cache = (uint8_t)drop;
        c.snapshot_sync = (uint8_t)!in_child;
        c.no_snapshot_on_close = (uint8_t)!at_close;
        xt_engine_t e;
        xt_journal_t j;
        assert_int_equal(xt_journal_open(&j, dir, &c, NULL, NULL, quiet, NULL, &e, 0), 0);
        assert_int_equal(run(&j, v, 0, 600, 20), 600);
        if (!at_close)
            assert_int_equal(xt_journal_snapshot(&j, 0), 0);
        xt_journal_close(&j, 0); /* waits for the child; the stop's own snapshot only at_close */
        xt_engine_destroy(&e);
        assert_int_equal(j.snapshots, 1);
        char path[XT_PATH_MAX];
        xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, 600);
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        long in = resident(fd, st.st_size);
        close(fd);
        assert_true(in >= 0);
        if (page_cached_fs(&fs)) {
            if (drop && !at_close)
                assert_int_equal(in, 0);
            else
                assert_true(in > 0);
        }
        tmpdir_remove(dir);
    }
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rolls_into_preallocated_segments),
        cmocka_unit_test(a_torn_write_in_a_preallocated_segment),
        cmocka_unit_test(a_flipped_byte_in_the_window_is_corruption),
        cmocka_unit_test(power_losses_in_the_window_are_tears),
        cmocka_unit_test(a_record_being_written_beside_a_reader),
        cmocka_unit_test(a_reader_beside_a_roll),
        cmocka_unit_test(a_reader_beside_a_writer),
        cmocka_unit_test(a_failed_spare_is_asked_for_again),
        cmocka_unit_test(a_header_with_another_torn_window_is_bad),
        cmocka_unit_test(a_header_with_bytes_where_zeros_belong_is_bad),
        cmocka_unit_test(an_appending_segment_rolls_into_a_spare),
        cmocka_unit_test(rolled_segments_leave_the_page_cache),
        cmocka_unit_test(snapshots_leave_the_page_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
