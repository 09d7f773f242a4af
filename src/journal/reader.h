/* reader.h - reads the journal's records in order, across segments,
 * checking every checksum and that sequence numbers run on without gaps.
 *
 * A bad or incomplete record ends the reading either as a torn tail or as
 * corruption:
 *   - XT_ETORN: it is in the last segment and no valid record with a later
 *     sequence number follows it there - what a crash during the last
 *     write leaves. `path` and `offset` say where the valid part ends.
 *   - XT_ECORRUPT: anything else (a bad record followed by valid ones, a
 *     bad record in an earlier segment, a sequence gap, a bad header of a
 *     segment that has records). `path`, `offset` and `why` say what.
 * In the last segment, zeros from where a record should start to the end
 * of the file are its clean end (a preallocated segment, segment.h), and
 * a bad spot whose only valid records after it lie within the segment's
 * torn_window is a torn tail - if it looks torn: a record whole on the
 * disk that fails its checksum, with valid records after it, is
 * corruption (reader.c written_whole).
 *
 * Records below `from` are read only to reach it (the caller has their
 * effect: a snapshot). A bad spot among them does not stop the reading
 * when a valid record numbered after it and not after `from` follows in
 * the same segment: reading goes on there, and the records passed over
 * are counted (skipped_*); the caller says so.
 *
 * The reader never changes a file.
 */
#ifndef XT_JOURNAL_READER_H
#define XT_JOURNAL_READER_H

#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "dir.h"
#include "io.h"
#include "xt/command.h"

typedef struct xt_wal_reader {
    xt_io_t *io;
    char dir[XT_PATH_MAX];
    uint64_t *segs; /* first sequence numbers, ascending */
    size_t nsegs, seg;
    int fd;
    off_t file_size;
    uint8_t *buf; /* a window of the current file */
    size_t cap, len, pos;
    off_t buf_off;   /* file offset of buf[0] */
    uint64_t from;   /* records below this are read and checked but not returned */
    uint64_t expect; /* next sequence number; 0 before the first record */
    /* where reading stopped, and why */
    char path[XT_PATH_MAX];
    off_t offset;
    char why[160];
    int records_follow;   /* at a bad record in the last segment: valid records were found after it */
    xt_caps_t caps;       /* of the segment being read: replay with these */
    uint64_t last_seq;    /* of the last good record */
    int64_t max_ts;       /* the latest timestamp of the good records (those below `from` included) */
    off_t end_offset;     /* just after the last good record in `path` */
    off_t zero_tail;      /* at the clean end: the zeros after end_offset (a preallocated segment's) */
    uint32_t torn_window; /* of the segment being read (segment.h) */
    int stopped;          /* why reading stopped, once it has (sticky) */
    int at_end;           /* the zeros at the end of the last segment were found */
    off_t reread_at;      /* a bad spot read again from the file (a preallocated last segment) */
    int rereads;          /* how often since, for bytes that changed under it */
    /* Damage below `from` read past (reader.c skip_unneeded): the records
     * passed over, the bytes, and where the first such spot is. */
    uint64_t skipped_records;
    off_t skipped_bytes, skipped_offset;
    char skipped_path[XT_PATH_MAX];
} xt_wal_reader_t;

/* Opens the journal in dir to read records from sequence number `from`
 * (1: everything). Returns 0, -ENOENT if there are no segments,
 * XT_ECORRUPT (with why) if the segments cannot contain `from`, or what
 * the header of the segment to start in gives: XT_ETORN if it is the last
 * segment and was being created (nothing after `expect - 1` exists), else
 * XT_ECORRUPT. After XT_ETORN, xt_wal_reader_next() returns it again. */
int xt_wal_reader_open(xt_wal_reader_t *r, xt_io_t *io, const char *dir, uint64_t from);

/* The next record into *cmd: returns 1, 0 at the clean end, XT_ETORN,
 * XT_ECORRUPT or -errno (see above); once it has returned an error it
 * returns the same one again. After 0 or XT_ETORN, `path` and `end_offset`
 * give the append position: the last segment and the end of its valid
 * records (offset 0: the segment has no valid header). `expect` is then
 * the sequence number the journal would continue with. */
int xt_wal_reader_next(xt_wal_reader_t *r, xt_cmd_t *cmd);

/* After XT_ETORN or XT_ECORRUPT: does a valid record numbered min_seq or
 * above lie after where reading stopped, in the segment it stopped in
 * (after its header, when the header was bad)? Returns 1 (also when it
 * cannot tell) or 0. For repair, which must not cut such records away. */
int xt_wal_reader_record_after(xt_wal_reader_t *r, uint64_t min_seq);

void xt_wal_reader_close(xt_wal_reader_t *r);

#endif
