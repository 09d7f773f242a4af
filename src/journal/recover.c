/* recover.c - start-up recovery (see recover.h). */
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "reader.h"
#include "segment.h"
#include "snapshot.h"
#include "xt/error.h"

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

/* Loads the newest snapshot that verifies into `e`. Returns 0 with
 * rep->snapshot_seq set (0: none found, e initialised fresh with cfg), an
 * init error, or XT_ELIMIT with rep->why: a snapshot that checks but holds
 * more than this process is set up for (a capacity or count read from it
 * over its bound) stops recovery - an older snapshot would not be the
 * newest state, and the operator has a setting to change. */
static int load_snapshot(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_engine_t *e,
                         const xt_snap_ext_t *ext, uint64_t from, xt_recovery_t *rep)
{
    uint64_t *snaps = NULL;
    size_t n = 0;
    int rc = xt_dir_list(dir, XT_FILE_SNAP, &snaps, &n);
    if (rc && rc != -ENOENT)
        return rc;
    rc = 0;
    for (size_t i = n; i-- > 0;) {
        char why[XT_PATH_MAX + 256];
        if (from && snaps[i] < from)
            continue;
        /* xt_recover_from: that one only. A newer one passed over (its
         * market-data state missing: a kill while that was written) is still
         * checked - size, checksum, sequence - so that one that fails is set
         * aside as any bad newer snapshot is: kept, retention would count it
         * as the newest and delete the older good one recovery started from,
         * and the segments that one needs. */
        int passed = from && snaps[i] > from;
        xt_snapshot_info_t info;
        memset(&info, 0, sizeof info);
        int lrc = passed ? xt_snapshot_check_seq(io, dir, snaps[i], why, sizeof why)
                         : xt_snapshot_load_seq(io, dir, snaps[i], cfg, quiet, NULL, e, ext, &info, why, sizeof why);
        if (lrc == 0 && passed) {
            rep->snapshots_passed++;
            continue;
        }
        if (lrc == 0) {
            rep->snapshot_seq = snaps[i];
            rep->snapshot_ext_bytes = info.ext_bytes;
            break;
        }
        if (from && snaps[i] == from) {
            snprintf(rep->why, sizeof rep->why, "%s", why);
            rc = lrc == XT_ELIMIT ? lrc : XT_ECORRUPT;
            break;
        }
        if (lrc == XT_ELIMIT) {
            snprintf(rep->why, sizeof rep->why, "%s", why);
            rc = lrc;
            break;
        }
        if (rep->snapshots_bad++ == 0)
            snprintf(rep->snapshot_why, sizeof rep->snapshot_why, "%s", why);
        if (lrc == XT_ECORRUPT && rep->n_bad < XT_RECOVER_BAD_MAX)
            rep->bad_seq[rep->n_bad++] = snaps[i];
    }
    free(snaps);
    if (from && !rep->snapshot_seq && !rc) {
        snprintf(rep->why, sizeof rep->why, "no snapshot %" PRIu64, from);
        rc = -ENOENT;
    }
    if (!rep->snapshot_seq && ext)
        ext->reset(ext->ctx);
    if (rc)
        return rc;
    return rep->snapshot_seq ? 0 : xt_engine_init(e, cfg, quiet, NULL);
}

/* In a preallocated segment the torn bytes are put back to zeros, the
 * file keeping its size (and the writer its preallocated space): from the
 * tear to the last byte that is not zero. *end is that byte's end. fd is
 * open for reading and writing. Returns 0 or -errno. */
static int zero_torn(xt_io_t *io, int fd, off_t from, off_t size, off_t *end)
{
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    *end = from;
    for (off_t at = from; rc == 0 && at < size; at += CHUNK) {
        size_t n = size - at < CHUNK ? (size_t)(size - at) : CHUNK;
        rc = xt_io_pread_all(io, fd, buf, n, at);
        for (size_t i = n; rc == 0 && i > 0; i--)
            if (buf[i - 1]) {
                *end = at + (off_t)i;
                break;
            }
    }
    memset(buf, 0, CHUNK);
    for (off_t at = from; rc == 0 && at < *end; at += CHUNK)
        rc = xt_io_pwrite_all(io, fd, buf, *end - at < CHUNK ? (size_t)(*end - at) : CHUNK, at);
    free(buf);
    return rc;
}

/* Cuts the torn tail the reader stopped at. */
static int cut_tail(xt_io_t *io, const char *dir, const xt_wal_reader_t *r, xt_recovery_t *rep)
{
    int fd = io->open(io, r->path, O_RDWR, 0);
    if (fd < 0)
        return fd;
    off_t size = 0;
    int rc = io->size(io, fd, &size);
    if (rc == 0 && r->offset >= XT_SEG_HDR && r->torn_window) { /* preallocated: zeros again, not cut off */
        off_t end = r->offset;
        rc = zero_torn(io, fd, r->offset, size, &end);
        if (rc == 0)
            rc = io->fdatasync(io, fd);
        io->close(io, fd);
        rep->tail_bytes = end - r->offset;
        rep->last_zeros = size - r->offset;
        return rc;
    }
    if (rc == 0 && r->offset == 0) { /* not even a header: the segment goes */
        io->close(io, fd);
        rc = io->unlink(io, r->path);
        if (rc == 0)
            rc = xt_io_sync_dir(io, dir);
        rep->tail_bytes = size;
        return rc;
    }
    if (rc == 0)
        rc = io->ftruncate(io, fd, r->offset);
    if (rc == 0)
        rc = io->fsync(io, fd);
    io->close(io, fd);
    rep->tail_bytes = size - r->offset;
    return rc;
}

/* Moves e to the capacities of the segment r reads (xt_caps_take).
 * Returns 0 or an error with rep->why. */
static int take_caps(xt_engine_t *e, const xt_engine_config_t *cfg, const xt_wal_reader_t *r, xt_recovery_t *rep)
{
    char cwhy[256];
    int rc = xt_caps_take(e, cfg, &r->caps, cwhy, sizeof cwhy);
    if (rc)
        snprintf(rep->why, sizeof rep->why, "%s: %.200s", r->path, cwhy);
    return rc;
}

/* Applies every record after the snapshot. */
static int replay(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_engine_t *e, const xt_snap_ext_t *ext,
                  int fix_tail, xt_recovery_t *rep)
{
    xt_wal_reader_t r;
    uint64_t from = rep->snapshot_seq + 1;
    int rc = xt_manifest_check(io, dir, rep->why, sizeof rep->why);
    if (rc)
        return rc;
    rc = xt_wal_reader_open(&r, io, dir, from);
    if (rc == -ENOENT) { /* no journal at all: a new directory, unless a snapshot says there was one */
        xt_wal_reader_close(&r);
        if (rep->snapshot_seq == 0)
            return 0;
        snprintf(rep->why, sizeof rep->why,
                 "snapshot %llu, but no journal segment: the journal files are missing; restore them from a replica "
                 "or backup, or go on from the snapshot with 'xtrading journal repair' (commands after it, if any, "
                 "are lost)",
                 (unsigned long long)rep->snapshot_seq);
        return XT_ECORRUPT;
    }
    rep->have_wal = 1;
    if (rc && rc != XT_ETORN) { /* torn: the segment to start in was being created */
        snprintf(rep->why, sizeof rep->why, "%s%s%s", r.path, r.path[0] ? ": " : "", r.why);
        xt_wal_reader_close(&r);
        return rc;
    }
    xt_cmd_t cmd;
    size_t seg_seen = (size_t)-1;
    while (rc == 0 && (rc = xt_wal_reader_next(&r, &cmd)) == 1) {
        rc = 0;                  /* 1: a record */
        if (r.seg != seg_seen) { /* a new segment: replay with its capacities */
            seg_seen = r.seg;
            if ((rc = take_caps(e, cfg, &r, rep)) != 0)
                break;
        }
        if (ext)
            ext->on_cmd(ext->ctx, &cmd);
        int arc = xt_engine_apply(e, &cmd);
        if (arc) {
            snprintf(rep->why, sizeof rep->why, "%s offset %lld: record %llu does not apply: %s", r.path,
                     (long long)(r.end_offset), (unsigned long long)cmd.seq, xt_strerror(arc));
            rc = XT_ECORRUPT;
            break;
        }
        rep->records++;
        rep->origins += cmd.session != 0 || cmd.clordid != 0;
    }
    rep->max_ts = r.max_ts; /* the records below the snapshot are read too: its time when none follow */
    rep->skipped_records = r.skipped_records;
    rep->skipped_bytes = r.skipped_bytes;
    rep->skipped_offset = r.skipped_offset;
    snprintf(rep->skipped_path, sizeof rep->skipped_path, "%s", r.skipped_path);
    if ((rc == 0 || rc == XT_ETORN) && r.expect < from) {
        /* the journal would continue below the snapshot: nothing is cut, a
         * tear there is damage to what the snapshot followed, not a crash's */
        snprintf(rep->why, sizeof rep->why,
                 "snapshot %llu is ahead of the journal, which ends before %llu%s%s%s: journal files are missing or "
                 "cut; restore them from a replica or backup, or go on from the snapshot with 'xtrading journal "
                 "repair' (commands after it, if any, are lost)",
                 (unsigned long long)rep->snapshot_seq, (unsigned long long)r.expect, rc ? " (" : "", rc ? r.path : "",
                 rc ? ", torn)" : "");
        rc = XT_ECORRUPT;
    } else if (rc == XT_ETORN) {
        rep->tail_cut = 1;
        snprintf(rep->tail_path, sizeof rep->tail_path, "%s", r.path);
        rep->tail_offset = r.offset;
        snprintf(rep->why, sizeof rep->why, "%s offset %lld: %s", r.path, (long long)r.offset, r.why);
        if (fix_tail)
            rc = cut_tail(io, dir, &r, rep);
    } else if (rc < 0) {
        if (rep->why[0] == '\0')
            snprintf(rep->why, sizeof rep->why, "%s offset %lld: %s", r.path, (long long)r.offset, r.why);
    }
    if (rc == 0) {
        if (r.offset == 0 && rep->tail_cut) /* the last segment was removed */
            rep->last_path[0] = '\0';
        else {
            snprintf(rep->last_path, sizeof rep->last_path, "%s", r.path);
            rep->last_first = r.segs[r.seg];
            rep->last_end = rep->tail_cut ? r.offset : r.end_offset;
            if (!rep->tail_cut)
                rep->last_zeros = r.zero_tail; /* (cut_tail sets it after a tear) */
            rep->last_torn_window = r.torn_window;
            rep->last_caps = r.caps;
        }
    }
    xt_wal_reader_close(&r);
    return rc;
}

int xt_recover(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx, xt_engine_t *e,
               int fix_tail, xt_recovery_t *rep)
{
    return xt_recover_from(io, dir, cfg, sink, ctx, e, NULL, fix_tail, 0, rep);
}

/* rep->why, followed by what the snapshots that did not load said. */
static void say_snapshots_bad(xt_recovery_t *rep)
{
    char head[64];
    snprintf(head, sizeof head, "; %u newer snapshot%s did not load (", rep->snapshots_bad,
             rep->snapshots_bad == 1 ? "" : "s");
    const char *parts[] = {head, rep->snapshot_why, ")"};
    size_t n = strnlen(rep->why, sizeof rep->why - 1);
    for (size_t i = 0; i < 3; i++) { /* cut when long */
        size_t k = strlen(parts[i]);
        k = k < sizeof rep->why - 1 - n ? k : sizeof rep->why - 1 - n;
        memcpy(rep->why + n, parts[i], k);
        n += k;
    }
    rep->why[n] = 0;
}

/* Renames the snapshots that failed their checks to NAME.bad: kept for
 * the operator, no longer counted by retention (journal.c), which would
 * otherwise keep a bad newest one and delete the older good one this
 * start recovered from. */
static void set_aside(xt_io_t *io, const char *dir, xt_recovery_t *rep)
{
    for (unsigned i = 0; i < rep->n_bad; i++) {
        char path[XT_PATH_MAX], bad[XT_PATH_MAX + 8];
        if (xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, rep->bad_seq[i]) != 0)
            continue;
        snprintf(bad, sizeof bad, "%s.bad", path);
        rep->set_aside += io->rename(io, path, bad) == 0;
    }
    if (rep->set_aside)
        xt_io_sync_dir(io, dir);
}

int xt_recover_from(xt_io_t *io, const char *dir, const xt_engine_config_t *cfg, xt_sink_fn sink, void *ctx,
                    xt_engine_t *e, const xt_snap_ext_t *ext, int fix_tail, uint64_t from, xt_recovery_t *rep)
{
    memset(rep, 0, sizeof *rep);
    int rc = load_snapshot(io, dir, cfg, e, ext, from, rep);
    if (rc) {
        if (!rep->why[0])
            snprintf(rep->why, sizeof rep->why, "cannot create the engine: %s", xt_strerror(rc));
        return rc;
    }
    xt_engine_set_sink(e, sink, ctx); /* replayed records' events go to the caller */
    rc = replay(io, dir, cfg, e, ext, fix_tail, rep);
    if (rc == 0) {
        const char *bad;
        if (xt_engine_verify(e, &bad) != 0) {
            snprintf(rep->why, sizeof rep->why, "recovered state is inconsistent: %s", bad);
            rc = XT_ECORRUPT;
        }
    }
    if (rc) {
        if (rep->snapshots_bad) /* the cause may be theirs: with them, the journal would have sufficed */
            say_snapshots_bad(rep);
        xt_engine_destroy(e);
        return rc;
    }
    if (fix_tail)
        set_aside(io, dir, rep);
    xt_engine_stats_t st;
    xt_engine_stats(e, &st);
    rep->last_seq = st.last_seq;
    return 0;
}
