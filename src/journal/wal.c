/* wal.c - appending to the journal (see wal.h). */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Creates the segment that starts at `first`: header written, synced, and
 * the directory synced, before any record goes in. With `replace`, an
 * empty segment of that name is there: the new one is written as
 * wal-<first>.tmp and renamed over it, so that a crash leaves one or the
 * other - never neither, which recovery would take for a journal whose
 * files are missing (a snapshot with no segment). */
static int create_segment(xt_wal_t *w, uint64_t first, int64_t created, int replace)
{
    char tmp[XT_PATH_MAX];
    int rc = xt_dir_path(w->path, sizeof w->path, w->dir, XT_FILE_WAL, first);
    if (rc == 0 && replace)
        rc = xt_dir_path(tmp, sizeof tmp, w->dir, XT_FILE_WAL_TMP, first);
    if (rc)
        return fail(w, rc, "name");
    const char *at = replace ? tmp : w->path;
    int fd = w->io->open(w->io, at, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL) | O_APPEND, 0644);
    if (fd < 0)
        return fail(w, fd, "create");
    w->fd = fd;
    uint8_t hdr[XT_SEG_HDR];
    xt_segment_header(hdr, first, created, &w->caps);
    if ((rc = xt_io_write_all(w->io, fd, hdr, sizeof hdr)) != 0)
        return fail(w, rc, "write header of");
    if ((rc = w->io->fdatasync(w->io, fd)) != 0)
        return fail(w, rc, "sync header of");
    if (replace && (rc = w->io->rename(w->io, tmp, w->path)) != 0) /* fd now writes the segment itself */
        return fail(w, rc, "replace");
    if ((rc = xt_io_sync_dir(w->io, w->dir)) != 0)
        return fail(w, rc, "sync directory of");
    if ((rc = xt_manifest_write(w->io, w->dir, first)) != 0) /* only now: it never names a segment not durable */
        return fail(w, rc, "name as the newest (" XT_MANIFEST_FILE ")");
    w->seg_size = XT_SEG_HDR;
    return 0;
}

int xt_wal_open(xt_wal_t *w, xt_io_t *io, const char *dir, const char *last_path, off_t end, uint64_t next_seq,
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
    if (!last_path)
        return create_segment(w, next_seq, 0, 0);
    if (strlen(last_path) >= sizeof w->path)
        return -ENAMETOOLONG;
    snprintf(w->path, sizeof w->path, "%s", last_path);
    int fd = io->open(io, last_path, O_WRONLY | O_APPEND, 0);
    if (fd < 0)
        return fail(w, fd, "open");
    w->fd = fd;
    off_t size;
    int rc = io->size(io, fd, &size);
    if (rc)
        return fail(w, rc, "stat");
    if (size != end) /* recovery truncates a torn tail before appending */
        return fail(w, EINVAL, "unexpected size of");
    w->seg_size = end;
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

/* Starts a new segment: the old one is made durable first, so that only the
 * last segment can ever end in a torn record. */
/* The timestamp of the first record waiting to be written: the new
 * segment's `created`. */
static int64_t first_ts(const xt_wal_t *w)
{
    return w->len >= XT_WAL_RECORD_HDR ? (int64_t)xt_get64(w->buf + 16) : 0;
}

static int roll_over(xt_wal_t *w)
{
    if (w->seg_size == XT_SEG_HDR) { /* no records yet: replace it, same name */
        w->io->close(w->io, w->fd);
        w->fd = -1;
        return create_segment(w, w->written_seq + 1, first_ts(w), 1);
    }
    int rc = w->io->fdatasync(w->io, w->fd);
    if (rc)
        return fail(w, rc, "sync");
    w->synced_seq = w->written_seq;
    w->syncs++;
    w->io->close(w->io, w->fd);
    w->fd = -1;
    return create_segment(w, w->written_seq + 1, first_ts(w), 0);
}

int xt_wal_write(xt_wal_t *w)
{
    if (w->failed)
        return XT_EFAILED;
    if (w->len == 0)
        return 0;
    if ((uint64_t)w->seg_size >= w->segment_bytes || w->roll) {
        int rc = roll_over(w);
        if (rc)
            return rc;
        w->roll = 0;
    }
    for (size_t off = 0; off < w->len; off += xt_get32(w->buf + off))
        xt_record_seal(w->buf + off);
    int rc = xt_io_write_all(w->io, w->fd, w->buf, w->len);
    if (rc)
        return fail(w, rc, "write");
    w->seg_size += (off_t)w->len;
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
    int rc = w->io->fdatasync(w->io, w->fd);
    if (rc)
        return fail(w, rc, "sync");
    w->synced_seq = w->written_seq;
    w->syncs++;
    return 0;
}

void xt_wal_close(xt_wal_t *w)
{
    if (w->fd >= 0)
        w->io->close(w->io, w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
}
