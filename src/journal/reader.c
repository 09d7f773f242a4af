/* reader.c - sequential, checked reading of the journal (see reader.h). */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "record.h"
#include "segment.h"
#include "xt/error.h"

#define WINDOW (1u << 20)

static int last_segment(const xt_wal_reader_t *r)
{
    return r->seg + 1 == r->nsegs;
}

/* Records where and why reading stopped: `what`, then `detail` if any. */
static int fail(xt_wal_reader_t *r, int rc, off_t offset, const char *what, const char *detail)
{
    r->stopped = rc;
    r->offset = offset;
    snprintf(r->why, sizeof r->why, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    return rc;
}

/* Sizes the current file again: a running server writes it, and its roll
 * cuts the zeros off a preallocated segment (wal.c), never a record, so a
 * reader beside it can find the end of that file earlier than it was.
 * Returns whether it got shorter. */
static int resize(xt_wal_reader_t *r)
{
    off_t now = 0;
    if (r->io->size(r->io, r->fd, &now) != 0)
        return 0;
    int shorter = now < r->file_size;
    r->file_size = now;
    return shorter;
}

/* Drops the window from pos on, so that the next fill reads the file again
 * (as it is now). */
static void reload(xt_wal_reader_t *r)
{
    r->len = r->pos;
    resize(r);
}

/* Do the bytes at off (avail of them in the window, at pos) differ in the
 * file now? 0 also when it cannot tell. */
static int changed(xt_wal_reader_t *r, off_t off, size_t avail)
{
    uint8_t now[XT_WAL_RECORD_MAX];
    size_t n = avail < sizeof now ? avail : sizeof now;
    return xt_io_pread_all(r->io, r->fd, now, n, off) == 0 && memcmp(now, r->buf + r->pos, n) != 0;
}

/* Refills the window so that at least `need` bytes are available from pos,
 * or everything up to the end of the file. Returns 0 or -errno. */
static int fill(xt_wal_reader_t *r, size_t need)
{
    size_t have = r->len - r->pos;
    if (have >= need)
        return 0;
    memmove(r->buf, r->buf + r->pos, have);
    r->buf_off += (off_t)r->pos;
    r->pos = 0;
    r->len = have;
    off_t at = r->buf_off + (off_t)have;
    size_t want = r->cap - have;
    if (at >= r->file_size)
        want = 0;
    else if ((off_t)want > r->file_size - at)
        want = (size_t)(r->file_size - at);
    if (want == 0)
        return 0;
    int rc = xt_io_pread_all(r->io, r->fd, r->buf + have, want, at);
    if (rc == -ENODATA && resize(r)) /* a roll cut the zeros off: read what is left */
        return fill(r, need);
    if (rc)
        return rc;
    r->len += want;
    return 0;
}

static int open_segment(xt_wal_reader_t *r)
{
    if (r->fd >= 0)
        r->io->close(r->io, r->fd);
    r->fd = -1;
    uint64_t name_seq = r->segs[r->seg];
    int rc = xt_dir_path(r->path, sizeof r->path, r->dir, XT_FILE_WAL, name_seq);
    if (rc)
        return rc;
    if ((r->fd = r->io->open(r->io, r->path, O_RDONLY, 0)) < 0) {
        rc = r->fd;
        r->fd = -1;
        return fail(r, rc, 0, "cannot open", xt_strerror(rc));
    }
    if ((rc = r->io->size(r->io, r->fd, &r->file_size)) != 0)
        return rc;
    r->pos = r->len = 0;
    r->buf_off = 0;
    r->end_offset = 0;
    r->torn_window = 0;
    uint8_t hdr[XT_SEG_HDR];
    uint64_t first = 0;
    if (r->file_size < XT_SEG_HDR || xt_io_pread_all(r->io, r->fd, hdr, XT_SEG_HDR, 0) != 0 ||
        !xt_segment_header_ok(hdr, &first, &r->caps, &r->torn_window)) {
        /* A segment created just before a crash may have no valid header;
         * if it is the last one and holds nothing else, that is a torn tail. */
        if (last_segment(r) && r->file_size <= XT_SEG_HDR) {
            if (r->expect == 0) /* where the journal would have gone on */
                r->expect = name_seq;
            return fail(r, XT_ETORN, 0, "incomplete segment header", NULL);
        }
        uint32_t version, rules;
        if (r->file_size >= XT_SEG_HDR && xt_segment_header_newer(hdr, &version, &rules)) {
            char what[sizeof r->why]; /* not damage: refused, and never cut (XT_ELIMIT: repair leaves it) */
            snprintf(what, sizeof what,
                     "written by a newer build (segment version %u, rules %u): this build cannot replay it; do not "
                     "repair it, run that build",
                     version, rules);
            return fail(r, XT_ELIMIT, 0, what, NULL);
        }
        return fail(r, XT_ECORRUPT, 0, "bad segment header", NULL);
    }
    if (first != name_seq)
        return fail(r, XT_ECORRUPT, 0, "segment header disagrees with the file name", NULL);
    if (r->expect != 0 && first != r->expect)
        return fail(r, XT_ECORRUPT, 0, "sequence gap between segments", NULL);
    r->expect = first;
    r->buf_off = XT_SEG_HDR;
    r->end_offset = XT_SEG_HDR;
    return 0;
}

int xt_wal_reader_open(xt_wal_reader_t *r, xt_io_t *io, const char *dir, uint64_t from)
{
    memset(r, 0, sizeof *r);
    r->io = io;
    r->fd = -1;
    r->from = from ? from : 1;
    if (strlen(dir) >= sizeof r->dir)
        return -ENAMETOOLONG;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    int rc = xt_dir_list(dir, XT_FILE_WAL, &r->segs, &r->nsegs);
    if (rc)
        return rc;
    if (r->nsegs == 0)
        return -ENOENT;
    /* the last segment that starts at or before `from` */
    if (r->segs[0] > r->from) {
        snprintf(r->why, sizeof r->why, "the journal starts at sequence %llu, after %llu",
                 (unsigned long long)r->segs[0], (unsigned long long)r->from);
        return XT_ECORRUPT;
    }
    while (r->seg + 1 < r->nsegs && r->segs[r->seg + 1] <= r->from)
        r->seg++;
    if (!(r->buf = malloc(WINDOW)))
        return -ENOMEM;
    r->cap = WINDOW;
    return open_segment(r);
}

/* Reads the current file from *at on, a hole (never written: a file
 * extended by truncate or a seek) skipped unread - or a file with a
 * terabyte hole would be read byte by byte for an hour - into w (at most
 * cap bytes), *at moved past the hole. Returns the bytes read, 0 at the end
 * of the file, -1 when it cannot read. A file a roll cut meanwhile is read
 * as it is now. */
static ssize_t read_window(xt_wal_reader_t *r, off_t *at, uint8_t *w, size_t cap)
{
    for (;;) {
        off_t data = r->io->seek_data ? r->io->seek_data(r->io, r->fd, *at) : *at;
        if (data == -ENXIO) /* nothing but a hole to the end */
            return 0;
        if (data > *at)
            *at = data;
        if (*at >= r->file_size)
            return 0;
        size_t n = r->file_size - *at < (off_t)cap ? (size_t)(r->file_size - *at) : cap;
        int rc = xt_io_pread_all(r->io, r->fd, w, n, *at);
        if (rc == 0)
            return (ssize_t)n;
        if (rc != -ENODATA || !resize(r))
            return -1;
    }
}

/* The first valid record numbered min_seq..max_seq after `off` in the
 * current file: 1 with its offset and number in *at_out and *seq_out, 0
 * for none, -1 when it cannot tell. */
static int find_record_after(xt_wal_reader_t *r, off_t off, uint64_t min_seq, uint64_t max_seq, off_t *at_out,
                             uint64_t *seq_out)
{
    uint8_t *w = malloc(WINDOW + XT_WAL_RECORD_MAX);
    if (!w)
        return -1;
    int found = 0;
    for (off_t at = off + 1; !found; at += WINDOW) {
        ssize_t got = read_window(r, &at, w, WINDOW + XT_WAL_RECORD_MAX);
        if (got < 0) {
            found = -1;
            break;
        }
        size_t n = (size_t)got;
        if (n <= XT_WAL_RECORD_HDR)
            break;
        for (size_t p = 0; p < WINDOW && p + XT_WAL_RECORD_HDR < n; p++) {
            uint32_t len = xt_record_peek_len(w + p);
            if (len <= XT_WAL_RECORD_HDR || len > XT_WAL_RECORD_MAX || p + len > n)
                continue;
            xt_cmd_t c;
            size_t l;
            if (xt_record_decode(w + p, n - p, &c, &l) == XT_REC_OK && c.seq >= min_seq && c.seq <= max_seq) {
                *at_out = at + (off_t)p;
                *seq_out = c.seq;
                found = 1;
                break;
            }
        }
    }
    free(w);
    return found;
}

/* Is there a record numbered min_seq or above anywhere after `off` in the
 * current file? (With r->expect: decides between a torn tail and
 * corruption.) 1 also when it cannot tell. */
static int valid_record_after(xt_wal_reader_t *r, off_t off, uint64_t min_seq)
{
    off_t at;
    uint64_t seq;
    return find_record_after(r, off, min_seq, UINT64_MAX, &at, &seq) != 0;
}

/* A bad spot at off where record r->expect should be, below `from`: the
 * records up to `from` are read only to reach it (a snapshot holds their
 * effect), so damage among them need not stop the reading. Reading goes on
 * at the next valid record numbered after the bad one and not after
 * `from`, found by a scan of this file (its checksum and number make a
 * false find as unlikely as a checksum collision); the records passed over
 * are counted (skipped_*). Returns 1 when it did, 0 when there is none. */
static int skip_unneeded(xt_wal_reader_t *r, off_t off)
{
    off_t at;
    uint64_t seq;
    if (r->expect >= r->from || find_record_after(r, off, r->expect + 1, r->from, &at, &seq) != 1)
        return 0;
    if (r->skipped_records == 0) {
        snprintf(r->skipped_path, sizeof r->skipped_path, "%s", r->path);
        r->skipped_offset = off;
    }
    r->skipped_records += seq - r->expect;
    r->skipped_bytes += at - off;
    r->expect = seq;
    r->buf_off = at;
    r->pos = r->len = 0;
    return 1;
}

/* Is everything from off to the end of the current file zeros? Holes are
 * skipped unread. Returns 1 or 0 (also when it cannot tell). */
static int zeros_to_end(xt_wal_reader_t *r, off_t off)
{
    uint8_t *w = malloc(WINDOW);
    if (!w)
        return 0;
    int zero = 1;
    for (off_t at = off; zero;) {
        ssize_t n = read_window(r, &at, w, WINDOW);
        if (n <= 0) {
            zero = n == 0;
            break;
        }
        for (ssize_t i = 0; i < n && zero; i++)
            zero = w[i] == 0;
        at += n;
    }
    free(w);
    return zero;
}

#define SECTOR 512 /* what a disk writes whole, at least */

/* Was the bad record at off written whole, and damaged afterwards? In a
 * preallocated segment its bytes were zeros before the writes, which only
 * append whole records, so a sector that reached the disk holds what its
 * page held then: the bytes written so far, zeros after them - zeros that
 * begin at the sector's start or where a record begins. A record the last
 * writes did not wholly reach therefore has a sector that is zeros from
 * the record's start (or the sector's, if later) to the sector's end, or
 * the file ends inside it: a tear. Zeros that begin inside the record and
 * stop at the sector's end are the record's own (a u64's high bytes): the
 * next sector, not zeros, shows the write went on. One whose every sector
 * holds something past the record's start was written whole, and the records
 * after it were synced and acknowledged - if it also carries the sequence
 * number expected there (not stale bytes a file system showed where the
 * segment grew by appending) and its bytes are still those read a moment
 * ago and still bad (not a record a running server was writing). seen:
 * the n_seen bytes read at off. Returns 1, or 0 (a tear, or cannot tell). */
static int written_whole(xt_wal_reader_t *r, off_t off, const uint8_t *seen, size_t n_seen)
{
    uint8_t b[2 * SECTOR]; /* a record (at most XT_WAL_RECORD_MAX bytes) spans two sectors at most */
    off_t first = off / SECTOR * SECTOR;
    size_t n = r->file_size - first < (off_t)sizeof b ? (size_t)(r->file_size - first) : sizeof b;
    size_t at = (size_t)(off - first); /* at most SECTOR - 1: the record and the next one end within b */
    if (n < at + XT_WAL_RECORD_HDR || xt_io_pread_all(r->io, r->fd, b, n, first) != 0)
        return 0;
    const uint8_t *rec = b + at;
    uint32_t len = xt_record_peek_len(rec);
    size_t ext = len > XT_WAL_RECORD_HDR && len <= XT_WAL_RECORD_MAX ? len : XT_WAL_RECORD_HDR; /* else its header */
    xt_cmd_t cmd;
    size_t l;
    /* ours: the sequence number expected here, or (that field the damaged
     * one) the next record, valid, right after it with the next number */
    int ours = xt_get64(rec + 8) == r->expect ||
               (ext == len && at + ext < n && xt_record_decode(rec + ext, n - at - ext, &cmd, &l) == XT_REC_OK &&
                cmd.seq == r->expect + 1);
    if (!ours || at + ext > n || memcmp(rec, seen, n_seen < ext ? n_seen : ext) != 0 ||
        xt_record_decode(rec, n - at, &cmd, &l) == XT_REC_OK)
        return 0;
    for (size_t s = 0; s < at + ext; s += SECTOR) {
        size_t sn = n - s < SECTOR ? n - s : SECTOR, z = sn; /* z: where the sector's trailing zeros begin */
        while (z > 0 && b[s + z - 1] == 0)
            z--;
        if (s + z <= (at > s ? at : s)) /* nothing of it from the record's start on: it did not reach the disk */
            return 0;
    }
    return 1;
}

static int bad_record(xt_wal_reader_t *r, off_t off, const char *what)
{
    if (!last_segment(r)) { /* the one after it named: a stray file with a segment's name is seen there */
        char next[96];
        snprintf(next, sizeof next, "in a segment that is not the last (wal-%020llu.log follows it)",
                 (unsigned long long)r->segs[r->seg + 1]);
        return fail(r, XT_ECORRUPT, off, what, next);
    }
    /* In a preallocated segment, records within the window after the bad
     * spot may be the unsynced rest of the last write, whose pages reached
     * the disk in another order (segment.h); records beyond it were synced
     * - and so were all after a record written whole (looked at first,
     * before the scan a running server's writes can outrun). */
    int whole = r->torn_window && written_whole(r, off, r->buf + r->pos, r->len - r->pos);
    r->records_follow = valid_record_after(r, whole ? off : off + (off_t)r->torn_window, r->expect);
    if (r->records_follow)
        return fail(r, XT_ECORRUPT, off, what,
                    whole ? "damaged after it was written (no tear: its sectors are whole), and valid records follow it"
                          : "valid records follow it");
    return fail(r, XT_ETORN, off, what, "at the end of the journal");
}

int xt_wal_reader_next(xt_wal_reader_t *r, xt_cmd_t *cmd)
{
    if (r->stopped)
        return r->stopped;
    if (r->at_end)
        return 0;
    for (;;) {
        int rc = fill(r, XT_WAL_RECORD_MAX);
        if (rc)
            return fail(r, rc, r->buf_off + (off_t)r->pos, "read error", xt_strerror(rc));
        size_t avail = r->len - r->pos;
        off_t off = r->buf_off + (off_t)r->pos;
        if (avail == 0) { /* end of this file */
            if (last_segment(r))
                return 0;
            r->seg++;
            if ((rc = open_segment(r)) != 0)
                return rc;
            continue;
        }
        size_t len = 0;
        int st = xt_record_decode(r->buf + r->pos, avail, cmd, &len);
        int live = st != XT_REC_OK && last_segment(r) && r->torn_window; /* a running server may write here */
        if (live && off != r->reread_at) {
            /* Read again before deciding: beside a running server, the zeros
             * read into the window a moment ago may be records by now. */
            r->reread_at = off;
            r->rereads = 0;
            reload(r);
            continue;
        }
        /* Zeros to the end of a preallocated segment are its end; in one
         * that grew by appending they are a torn tail (cut and reported). */
        if (live && zeros_to_end(r, off)) {
            r->at_end = 1;
            r->zero_tail = r->file_size - off;
            return 0;
        }
        /* Not zeros to the end, but the bytes here changed since they were
         * read: a record written meanwhile (zeros, then a record part
         * copied, then the whole one: a few changes at most). */
        if (live && r->rereads < 4 && changed(r, off, avail)) {
            r->rereads++;
            reload(r);
            continue;
        }
        if (st != XT_REC_OK && skip_unneeded(r, off))
            continue;
        if (st == XT_REC_SHORT)
            return bad_record(r, off, "incomplete record");
        if (st == XT_REC_ZERO)
            return bad_record(r, off, "zeros where a record should start");
        if (st == XT_REC_BAD)
            return bad_record(r, off, "bad record (length, checksum or type)");
        if (cmd->seq != r->expect)
            return fail(r, XT_ECORRUPT, off, "record out of sequence", NULL);
        r->pos += len;
        r->expect++;
        r->last_seq = cmd->seq;
        r->max_ts = cmd->ts > r->max_ts ? cmd->ts : r->max_ts;
        r->end_offset = r->buf_off + (off_t)r->pos;
        if (cmd->seq >= r->from)
            return 1;
    }
}

void xt_wal_reader_close(xt_wal_reader_t *r)
{
    if (r->fd >= 0)
        r->io->close(r->io, r->fd);
    free(r->segs);
    free(r->buf);
    r->fd = -1;
    r->segs = NULL;
    r->buf = NULL;
}

int xt_wal_reader_record_after(xt_wal_reader_t *r, uint64_t min_seq)
{
    if (r->fd < 0)
        return 1;
    /* from the record reading stopped at itself: one out of sequence is valid, and may be such a record */
    return valid_record_after(r, (r->offset >= XT_SEG_HDR ? r->offset : XT_SEG_HDR) - 1, min_seq);
}
