/* wal.c - appending to the journal (see wal.h). */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "manifest.h"
#include "record.h"
#include "segment.h"
#include "xt/error.h"

static int fail(xt_wal_t *w, int err, const char *what)
{
    if (!w->failed) {
        w->failed = 1;
        w->err = err;
        snprintf(w->why, sizeof w->why, "%s %s: %s", what, w->path, strerror(err < 0 ? -err : err));
    }
    return XT_EFAILED;
}

int64_t xt_wal_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* fdatasync(fd), timed and counted (syncs, on_sync): 0 or -errno. */
static int timed_sync(xt_wal_t *w, int fd)
{
    int64_t t0 = xt_wal_mono_ns();
    int rc = w->io->fdatasync(w->io, fd);
    if (rc)
        return rc;
    w->sync_ns_last = xt_wal_mono_ns() - t0;
    w->syncs++;
    if (w->on_sync)
        w->on_sync(w->on_sync_ctx, (uint64_t)w->sync_ns_last / 1000u);
    return 0;
}

/* Writes the new segment's header into the spare and renames the spare to
 * the segment's name (w->path): a crash before the rename leaves the spare,
 * which the next start removes; after it, a segment of zeros after its
 * header, which reads as one with no records. Returns 0, XT_EFAILED, or 1
 * when the spare cannot be opened (the caller creates the segment as
 * without one). */
static int from_spare(xt_wal_t *w, uint64_t first, int64_t created)
{
    int fd = w->io->open(w->io, w->spare->path, O_WRONLY, 0);
    if (fd < 0) /* gone (removed by hand?): the segment is created as without a spare */
        return 1;
    w->fd = fd;
    uint8_t hdr[XT_SEG_HDR];
    xt_segment_header(hdr, first, created, &w->caps, XT_WAL_TORN_WINDOW);
    int rc = xt_io_pwrite_all(w->io, fd, hdr, sizeof hdr, 0);
    if (rc)
        return fail(w, rc, "write header of");
    if ((rc = timed_sync(w, fd)) != 0)
        return fail(w, rc, "sync header of");
    if ((rc = w->io->rename(w->io, w->spare->path, w->path)) != 0)
        return fail(w, rc, "rename the spare to");
    w->file_size = w->spare->size;
    w->torn_window = XT_WAL_TORN_WINDOW;
    return 0;
}

/* Creates the segment that starts at `first`: header written, synced, and
 * the directory synced, before any record goes in - into a spare if one is
 * ready. With `replace`, an empty segment of that name is there: the new
 * one is written as wal-<first>.tmp (or the spare) and renamed over it, so
 * that a crash leaves one or the other - never neither, which recovery
 * would take for a journal whose files are missing (a snapshot with no
 * segment). */
static int create_segment(xt_wal_t *w, uint64_t first, int64_t created, int replace)
{
    char tmp[XT_PATH_MAX];
    int rc = xt_dir_path(w->path, sizeof w->path, w->dir, XT_FILE_WAL, first);
    if (rc == 0 && replace)
        rc = xt_dir_path(tmp, sizeof tmp, w->dir, XT_FILE_WAL_TMP, first);
    if (rc)
        return fail(w, rc, "name");
    int spare = w->spare && xt_spare_take(w->spare);
    if (spare && (rc = from_spare(w, first, created)) < 0)
        return rc;
    if (spare && rc == 1) { /* it was ready, and is gone */
        xt_spare_lost(w->spare);
        spare = 0;
    }
    if (!spare) {
        const char *at = replace ? tmp : w->path;
        int fd = w->io->open(w->io, at, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL), 0644);
        if (fd < 0)
            return fail(w, fd, "create");
        w->fd = fd;
        uint8_t hdr[XT_SEG_HDR];
        xt_segment_header(hdr, first, created, &w->caps, 0);
        if ((rc = xt_io_write_all(w->io, fd, hdr, sizeof hdr)) != 0)
            return fail(w, rc, "write header of");
        if ((rc = timed_sync(w, fd)) != 0)
            return fail(w, rc, "sync header of");
        if (replace && (rc = w->io->rename(w->io, tmp, w->path)) != 0) /* fd now writes the segment itself */
            return fail(w, rc, "replace");
        w->file_size = XT_SEG_HDR;
        w->torn_window = 0;
    }
    if ((rc = xt_io_sync_dir(w->io, w->dir)) != 0)
        return fail(w, rc, "sync directory of");
    if ((rc = xt_manifest_write(w->io, w->dir, first)) != 0) /* only now: it never names a segment not durable */
        return fail(w, rc, "name as the newest (" XT_MANIFEST_FILE ")");
    w->seg_size = w->synced_size = XT_SEG_HDR;
    if (spare)
        xt_spare_again(w->spare);
    return 0;
}

int xt_wal_open(xt_wal_t *w, xt_io_t *io, const char *dir, const xt_wal_last_t *last, uint64_t next_seq,
                uint64_t segment_bytes, size_t batch_bytes, const xt_caps_t *caps)
{
    memset(w, 0, sizeof *w);
    w->io = io;
    w->caps = *caps;
    w->fd = -1;
    w->next_seq = next_seq;
    w->written_seq = w->synced_seq = next_seq - 1;
    w->segment_bytes = segment_bytes;
    if (strlen(dir) >= sizeof w->dir)
        return -ENAMETOOLONG;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->cap = batch_bytes < 4096 ? 4096 : batch_bytes;
    if (!(w->buf = malloc(w->cap)))
        return -ENOMEM;
    if (!last || !last->path)
        return create_segment(w, next_seq, 0, 0);
    if (strlen(last->path) >= sizeof w->path)
        return -ENAMETOOLONG;
    snprintf(w->path, sizeof w->path, "%s", last->path);
    int fd = io->open(io, last->path, O_WRONLY, 0);
    if (fd < 0)
        return fail(w, fd, "open");
    w->fd = fd;
    off_t size;
    int rc = io->size(io, fd, &size);
    if (rc)
        return fail(w, rc, "stat");
    if (size != last->end + last->zeros) /* recovery truncates a torn tail before appending */
        return fail(w, EINVAL, "unexpected size of");
    if ((rc = timed_sync(w, fd)) != 0)
        return fail(w, rc, "sync");
    uint64_t marked = 0;
    if ((xt_manifest_read(io, dir, &marked) != 0 || marked != last->first) &&
        (rc = xt_manifest_write(io, dir, last->first)) != 0)
        return fail(w, rc, "name as the newest (" XT_MANIFEST_FILE ")");
    w->seg_size = w->synced_size = last->end;
    w->file_size = size;
    w->torn_window = last->torn_window;
    return 0;
}

void xt_wal_set_caps(xt_wal_t *w, const xt_caps_t *caps)
{
    if (!xt_caps_equal(&w->caps, caps)) {
        w->caps = *caps;
        w->roll = 1;
    }
}

int xt_wal_append(xt_wal_t *w, const xt_cmd_t *cmd)
{
    if (w->failed)
        return XT_EFAILED;
    /* The caller has applied cmd already: a command that cannot be journaled
     * must stop everything, or its results could be released. */
    if (cmd->seq != w->next_seq)
        return fail(w, EINVAL, "command out of sequence for");
    if (w->len + XT_WAL_RECORD_MAX > w->cap) {
        int rc = xt_wal_write(w);
        if (rc)
            return rc;
    }
    size_t n = xt_record_encode_unsealed(cmd, w->buf + w->len); /* sealed by xt_wal_write */
    if (n == 0)
        return fail(w, EINVAL, "command of unknown type for");
    w->len += n;
    w->next_seq++;
    return 0;
}

/* The timestamp of the first record waiting to be written: the new
 * segment's `created`. */
static int64_t first_ts(const xt_wal_t *w)
{
    return w->len >= XT_WAL_RECORD_HDR ? (int64_t)xt_get64(w->buf + 16) : 0;
}

int xt_wal_check_linked(xt_wal_t *w)
{
    if (w->failed)
        return XT_EFAILED;
    int rc = w->io->linked && w->fd >= 0 ? w->io->linked(w->io, w->fd, w->path) : 0;
    return rc ? fail(w, rc, "the data directory no longer holds") : 0;
}

/* fdatasync of the current segment: all written so far is durable. */
static int sync_file(xt_wal_t *w)
{
    int rc = timed_sync(w, w->fd);
    if (rc)
        return fail(w, rc, "sync");
    w->synced_size = w->seg_size;
    w->synced_seq = w->written_seq;
    return 0;
}

/* Starts a new segment: the old one is made durable first, with its size
 * that of its records (the zeros of a preallocated one cut off), so that
 * only the last segment can ever end in a torn record or in zeros. */
static int roll_over(xt_wal_t *w)
{
    if (w->seg_size == XT_SEG_HDR) { /* no records yet: replace it, same name */
        w->io->close(w->io, w->fd);
        w->fd = -1;
        return create_segment(w, w->written_seq + 1, first_ts(w), 1);
    }
    int rc;
    if (w->file_size > w->seg_size) {
        if ((rc = w->io->ftruncate(w->io, w->fd, w->seg_size)) != 0)
            return fail(w, rc, "cut the zeros after the records of");
        w->file_size = w->seg_size;
    }
    if ((rc = sync_file(w)) != 0) /* the new size too: it is what finds the data */
        return rc;
    if (w->spare) /* before the next spare is asked for: it takes the pages freed */
        xt_spare_retire(w->spare, w->fd);
    else
        w->io->close(w->io, w->fd);
    w->fd = -1;
    return create_segment(w, w->written_seq + 1, first_ts(w), 0);
}

/* How many bytes of whole records from buf[done] fit in what the torn
 * window leaves unsynced: a sync then falls between two records, so that a
 * tear begins at or after it (segment.h). 0: sync first. */
static size_t within_window(const xt_wal_t *w, size_t done)
{
    off_t room = w->synced_size + (off_t)w->torn_window - w->seg_size;
    if ((off_t)(w->len - done) <= room)
        return w->len - done;
    size_t n = 0;
    while (done + n < w->len && (off_t)(n + xt_get32(w->buf + done + n)) <= room)
        n += xt_get32(w->buf + done + n);
    return n;
}

int xt_wal_write(xt_wal_t *w)
{
    if (w->failed)
        return XT_EFAILED;
    if (w->len == 0)
        return 0;
    /* A segment that grew by appending (the first of a new directory, one
     * after a roll that found no spare ready, one an older build wrote)
     * rolls into a preallocated one once a spare is ready, not a segment
     * later: its syncs commit file-system metadata (spare.h). If it holds
     * records, only past XT_WAL_EARLY_ROLL of them: a segment of a few
     * records is not worth one of its own (retention could then drop a
     * new directory's first records after its second snapshot), and a
     * small journal (tests, tools) stays where it is, whenever the spare's
     * thread is done. */
    off_t held = w->seg_size - XT_SEG_HDR;
    int to_spare =
        w->torn_window == 0 && w->spare && (held == 0 || held >= XT_WAL_EARLY_ROLL) && xt_spare_ready(w->spare);
    /* A batch that would run past a preallocated segment's end goes into
     * the next one when it is ready: past the end the file grows, which
     * its sync must commit, and on a full disk fails while the spare's
     * space, reserved for this, lies unused. (Not a segment_bytes over the
     * spare's 1 GiB: that one goes on growing.) */
    int past_end = w->file_size > w->seg_size && (uint64_t)w->file_size >= w->segment_bytes &&
                   w->seg_size + (off_t)w->len > w->file_size && w->spare && xt_spare_ready(w->spare);
    if ((uint64_t)w->seg_size >= w->segment_bytes || w->roll || to_spare || past_end) {
        int rc = roll_over(w);
        if (rc)
            return rc;
        w->roll = 0;
    }
    for (size_t off = 0; off < w->len; off += xt_get32(w->buf + off))
        xt_record_seal(w->buf + off);
    for (size_t done = 0; done < w->len;) {
        size_t n = w->len - done;
        if (w->torn_window) /* never more than the window unsynced (segment.h) */
            n = within_window(w, done);
        if (n == 0) {
            int rc = sync_file(w); /* the records written before are durable then */
            if (rc)
                return rc;
            continue;
        }
        int rc = xt_io_pwrite_all(w->io, w->fd, w->buf + done, n, w->seg_size);
        if (rc)
            return fail(w, rc, "write");
        w->seg_size += (off_t)n;
        if (w->seg_size > w->file_size)
            w->file_size = w->seg_size;
        done += n;
    }
    w->bytes += w->len;
    w->writes++;
    w->len = 0;
    w->written_seq = w->next_seq - 1;
    return 0;
}

int xt_wal_sync(xt_wal_t *w)
{
    if (w->failed)
        return XT_EFAILED;
    if (w->synced_seq == w->written_seq)
        return 0;
    return sync_file(w);
}

void xt_wal_close(xt_wal_t *w)
{
    if (w->fd >= 0)
        w->io->close(w->io, w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
}
