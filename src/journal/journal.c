/* journal.c - the journaled engine (see journal.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): pipe2, close_range */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "snapshot.h"
#include "xt/error.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

void xt_journal_config_default(xt_journal_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fsync = XT_FSYNC_BATCH;
    cfg->interval_ms = 10;
    cfg->batch_max = 4096;
    cfg->batch_max_us = 1000;
    cfg->segment_bytes = UINT64_C(64) << 20;
    cfg->keep_snapshots = 2;
}

int xt_fsync_policy_parse(const char *s, xt_journal_config_t *cfg)
{
    if (strcmp(s, "batch") == 0)
        cfg->fsync = XT_FSYNC_BATCH;
    else if (strcmp(s, "always") == 0)
        cfg->fsync = XT_FSYNC_ALWAYS;
    else if (strcmp(s, "none") == 0)
        cfg->fsync = XT_FSYNC_NONE;
    else if (strncmp(s, "interval=", 9) == 0) {
        char *end;
        unsigned long ms = strtoul(s + 9, &end, 10);
        if (s[9] < '0' || s[9] > '9' || *end != '\0' || ms == 0 || ms > 60000)
            return XT_EINVAL;
        cfg->fsync = XT_FSYNC_INTERVAL;
        cfg->interval_ms = (uint32_t)ms;
    } else
        return XT_EINVAL;
    return 0;
}

const char *xt_journal_failed(const xt_journal_t *j)
{
    return j->wal.failed ? j->wal.why : NULL;
}

static int sync_now(xt_journal_t *j, int64_t now)
{
    int rc = xt_wal_sync(&j->wal);
    j->last_sync = now;
    return rc;
}

static void schedule_snapshot(xt_journal_t *j, int64_t now)
{
    uint64_t last = j->wal.next_seq - 1;
    j->snap_due_seq = j->cfg.snapshot_every ? last + j->cfg.snapshot_every : 0;
    j->snap_due_time = j->cfg.snapshot_secs ? now + (int64_t)j->cfg.snapshot_secs * NS_PER_S : 0;
}

/* ---- retention ------------------------------------------------------- */

/* A file retention removes. */
typedef struct removal {
    xt_file_kind_t kind;
    uint64_t seq;
} removal_t;

/* The files to remove so that the newest keep_snapshots snapshots and the
 * segments they need stay, counting a snapshot after `with` as there when
 * with > 0 (one being written). malloc'd, or NULL with *n = 0. Listed in
 * the parent, so a snapshot's child only unlinks (after fork in a threaded
 * process, no malloc or readdir). */
static removal_t *plan_removals(const xt_journal_t *j, uint64_t with, size_t *n)
{
    uint64_t *snaps = NULL, *segs = NULL;
    size_t ns = 0, ng = 0;
    removal_t *out = NULL;
    *n = 0;
    if (xt_dir_list(j->dir, XT_FILE_SNAP, &snaps, &ns) != 0)
        ns = 0;
    if (with && (ns == 0 || snaps[ns - 1] < with)) { /* the one being written, the newest */
        uint64_t *v = realloc(snaps, (ns + 1) * sizeof *v);
        if (!v)
            goto done;
        snaps = v;
        snaps[ns++] = with;
    }
    if (ns == 0)
        goto done;
    if (xt_dir_list(j->dir, XT_FILE_WAL, &segs, &ng) != 0)
        ng = 0;
    if (!(out = malloc((ns + ng) * sizeof *out)))
        goto done;
    size_t keep = j->cfg.keep_snapshots ? j->cfg.keep_snapshots : 1;
    for (size_t i = 0; i + keep < ns; i++)
        out[(*n)++] = (removal_t){XT_FILE_SNAP, snaps[i]};
    uint64_t oldest = snaps[ns > keep ? ns - keep : 0];
    /* A segment can go when the next one starts at or before oldest + 1:
     * recovering from `oldest` never reads it. The last segment stays. */
    for (size_t i = 0; !j->cfg.keep_all_segments && i + 1 < ng && segs[i + 1] <= oldest + 1; i++)
        out[(*n)++] = (removal_t){XT_FILE_WAL, segs[i]};
done:
    free(snaps);
    free(segs);
    return out;
}

/* Removes the planned files, then syncs the directory if any went. */
static void remove_planned(xt_journal_t *j, const removal_t *r, size_t n)
{
    int removed = 0;
    char path[XT_PATH_MAX];
    for (size_t i = 0; i < n; i++)
        removed |= xt_dir_path(path, sizeof path, j->dir, r[i].kind, r[i].seq) == 0 && j->io->unlink(j->io, path) == 0;
    if (removed)
        xt_io_sync_dir(j->io, j->dir);
}

/* Keeps the newest keep_snapshots snapshots and the segments they need. */
static void retain(xt_journal_t *j)
{
    size_t n;
    removal_t *r = plan_removals(j, 0, &n);
    remove_planned(j, r, n);
    free(r);
}

/* ---- snapshots ------------------------------------------------------- */

/* retained: the child that wrote it removed what the snapshot made
 * unneeded (else it is done here). */
static void snapshot_done(xt_journal_t *j, int ok, uint64_t seq, const char *why, int retained)
{
    if (ok) {
        j->snapshots++;
        if (seq > j->last_snap_seq)
            j->last_snap_seq = seq;
        if (!retained)
            retain(j);
    } else {
        j->snapshot_failures++;
        snprintf(j->snap_why, sizeof j->snap_why, "%s", why);
        /* the one place every snapshot failure passes: the operator sees it */
        if (j->cfg.report)
            j->cfg.report(j->cfg.report_ctx, seq, why);
        else
            fprintf(stderr, "xtrading: journal %s: snapshot at seq %llu failed: %s\n", j->dir, (unsigned long long)seq,
                    why);
    }
}

/* Reaps a finished snapshot child; wait: block until it ends. */
static void reap(xt_journal_t *j, int wait)
{
    if (j->snap_pid <= 0)
        return;
    int status;
    pid_t r = waitpid(j->snap_pid, &status, wait ? 0 : WNOHANG);
    if (r == 0)
        return;
    j->snap_pid = 0;
    int ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char why[256] = "the snapshot child failed";
    if (j->snap_why_fd >= 0) { /* the child has ended: what it wrote is there, then end of file */
        ssize_t n = ok ? 0 : read(j->snap_why_fd, why, sizeof why - 1);
        if (n > 0)
            why[n] = '\0';
        close(j->snap_why_fd);
        j->snap_why_fd = -1;
    }
    snapshot_done(j, ok, j->snap_seq, ok ? "" : why, 1);
}

/* A snapshot written (and synced) leaves the page cache as rolled segments
 * do (spare.h, journal.drop_cache): it is read again only at a start. Not
 * the one of a clean stop, which the next start reads. */
static void drop_snapshot_pages(xt_journal_t *j, uint64_t seq)
{
    if (!j->spare.drop) /* only where rolled segments are dropped, and the I/O layer can */
        return;
    char path[XT_PATH_MAX];
    xt_dir_path(path, sizeof path, j->dir, XT_FILE_SNAP, seq);
    int fd = j->io->open(j->io, path, O_RDONLY, 0);
    if (fd < 0)
        return;
    j->io->drop_cache(j->io, fd); /* advice: a failure loses nothing */
    j->io->close(j->io, fd);
}

/* Closes fds from..to (inclusive) in a snapshot's child: close_range(2),
 * or one close a descriptor where the kernel lacks it. */
static void close_fds(unsigned from, unsigned to)
{
    if (from > to || close_range(from, to, 0) == 0)
        return;
    struct rlimit rl;
    unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < to ? (unsigned)rl.rlim_cur : to;
    for (unsigned fd = from; fd <= top && fd < (1u << 20); fd++)
        close((int)fd);
}

/* A snapshot's child keeps stdio, the pipe for its reason and the data
 * directory's lock - no other process may write the directory while it
 * does, a server restarted after a crash included - and closes the rest
 * it inherits, which would stay open as long as it writes (seconds on a
 * slow disk): the server's sockets (a client the server had closed saw no
 * end of its connection, a listening port took connections nobody would
 * answer) and the journal's files. It opens what it writes itself. */
static void close_inherited(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    unsigned from = 3;
    if (lo >= 3) {
        close_fds(from, (unsigned)lo - 1);
        from = (unsigned)lo + 1;
    }
    if (hi >= 3 && hi != lo) {
        close_fds(from, (unsigned)hi - 1);
        from = (unsigned)hi + 1;
    }
    close_fds(from, ~0u);
}

/* Takes a snapshot of the engine as it is now - durable, at a batch
 * boundary. */
static int take_snapshot(xt_journal_t *j, int64_t now, int in_process)
{
    if (j->snap_pid > 0 && !in_process)
        return 0; /* one at a time: it stays due until this one is done */
    int rc = xt_wal_write(&j->wal);
    if (rc == 0 && j->wal.synced_seq != j->wal.written_seq)
        rc = sync_now(j, now);
    if (rc)
        return rc;
    int asked = j->snap_requested;
    j->snap_requested = 0;
    schedule_snapshot(j, now);
    uint64_t seq = j->wal.next_seq - 1;
    /* Only the clock made it due, and the newest snapshot holds every
     * command: writing the same state again would cost a fork and the
     * file's bytes for nothing. One asked for (SIGUSR1, admin) is written:
     * an operator waits for it before a backup copy. */
    if (!asked && !in_process && seq == j->last_snap_seq && seq != 0 &&
        (!j->cfg.snapshot_current || j->cfg.snapshot_current(j->cfg.report_ctx, seq))) {
        j->snapshots_current++;
        return 0;
    }
    char why[256];
    if (!in_process && j->cfg.snapshot_begun)
        j->cfg.snapshot_begun(j->cfg.report_ctx, seq);
    if (in_process || j->cfg.snapshot_sync) {
        rc = xt_snapshot_write_ext(j->io, j->dir, j->e, j->cfg.ext, j->snap_buf, XT_SNAP_BUF, why, sizeof why);
        if (rc == 0 && !in_process)
            drop_snapshot_pages(j, seq);
        snapshot_done(j, rc == 0, seq, why, 0);
        return 0; /* a failed snapshot does not fail the journal */
    }
    /* The child removes what its snapshot makes unneeded (planned here):
     * unlinking tens of MB and syncing the directory took the engine thread
     * 6-16 ms. It leaves with _exit: it never flushes the stdio buffers it
     * inherits, so nothing the parent has buffered is written twice. */
    size_t n_old;
    removal_t *old = plan_removals(j, seq, &n_old);
    int why_pipe[2] = {-1, -1}; /* the child's reason for a failure, for the parent's log */
    if (pipe2(why_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        why_pipe[0] = why_pipe[1] = -1;
    int64_t t0 = xt_wal_mono_ns();
    pid_t pid = fork();
    if (pid > 0)
        j->fork_ns_last = xt_wal_mono_ns() - t0;
    if (pid == 0) { /* the child: the engine as of this instant, copy-on-write */
        close_inherited(why_pipe[1], j->lock_fd);
        if (j->cfg.child_delay_ms) {
            struct timespec d = {j->cfg.child_delay_ms / 1000, (long)(j->cfg.child_delay_ms % 1000) * 1000000};
            nanosleep(&d, NULL);
        }
        rc = xt_snapshot_write_ext(j->io, j->dir, j->e, j->cfg.ext, j->snap_buf, XT_SNAP_BUF, why, sizeof why);
        if (rc == 0) {
            drop_snapshot_pages(j, seq);
            remove_planned(j, old, n_old);
        }
        if (rc) /* its reason, for the parent to report (write(2): async-signal-safe) */
            (void)!write(why_pipe[1] >= 0 ? why_pipe[1] : 2, why, strnlen(why, sizeof why - 1));
        _exit(rc ? 1 : 0);
    }
    free(old);
    if (why_pipe[1] >= 0)
        close(why_pipe[1]);
    if (pid < 0) {
        if (why_pipe[0] >= 0)
            close(why_pipe[0]);
        snapshot_done(j, 0, seq, "fork failed", 0);
    } else {
        j->snap_pid = pid;
        j->snap_why_fd = why_pipe[0];
        j->snap_seq = seq;
    }
    return 0;
}

static int snapshot_due(const xt_journal_t *j, int64_t now)
{
    uint64_t last = j->wal.next_seq - 1;
    return j->snap_requested || (j->snap_due_seq && last >= j->snap_due_seq) ||
           (j->snap_due_time && now >= j->snap_due_time);
}

/* ---- the journal ----------------------------------------------------- */

static void remove_stale_tmp(xt_journal_t *j)
{
    uint64_t *tmps = NULL;
    size_t n = 0;
    char path[XT_PATH_MAX];
    for (int k = 0; k < 2; k++) {
        xt_file_kind_t kind = k ? XT_FILE_WAL_TMP : XT_FILE_SNAP_TMP;
        if (xt_dir_list(j->dir, kind, &tmps, &n) == 0)
            for (size_t i = 0; i < n; i++)
                if (xt_dir_path(path, sizeof path, j->dir, kind, tmps[i]) == 0)
                    j->io->unlink(j->io, path);
        free(tmps);
        tmps = NULL;
    }
    /* A spare an earlier run left (never part of the journal) goes now, not
     * when the spare's writer starts after recovery: recovery may write
     * (wal-last, a torn tail's zeros), and on a full disk the spare's
     * segment of space is what lets it. */
    if (snprintf(path, sizeof path, "%s/%s", j->dir, XT_SPARE_FILE) < (int)sizeof path)
        j->io->unlink(j->io, path);
}

int xt_journal_open(xt_journal_t *j, const char *dir, const xt_journal_config_t *cfg, xt_io_t *io,
                    const xt_engine_config_t *ecfg, xt_sink_fn sink, void *ctx, xt_engine_t *e, int64_t now)
{
    memset(j, 0, sizeof *j);
    j->snap_why_fd = -1;
    j->io = io ? io : &xt_io_posix;
    j->e = e;
    j->lock_fd = -1;
    if (cfg)
        j->cfg = *cfg;
    else
        xt_journal_config_default(&j->cfg);
    if (j->cfg.batch_max == 0)
        j->cfg.batch_max = 4096;
    if (j->cfg.segment_bytes == 0)
        j->cfg.segment_bytes = UINT64_C(64) << 20;
    int rc = -ENAMETOOLONG;
    if (strlen(dir) >= sizeof j->dir)
        goto fail;
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    if ((rc = xt_dir_ensure(dir)) != 0) {
        snprintf(j->recovery.why, sizeof j->recovery.why, "data directory %s: %s", dir, strerror(-rc));
        goto fail;
    }
    if ((rc = xt_dir_lock(dir)) < 0) {
        if (rc == XT_ELOCKED) /* not xt_strerror's words: they would name the data directory twice */
            snprintf(j->recovery.why, sizeof j->recovery.why, "data directory %s: in use by another process", dir);
        else
            snprintf(j->recovery.why, sizeof j->recovery.why, "data directory %s: its LOCK file: %s", dir,
                     xt_strerror(rc));
        goto fail;
    }
    j->lock_fd = rc;
    if (!(j->snap_buf = malloc(XT_SNAP_BUF))) {
        rc = -ENOMEM;
        goto fail;
    }
    remove_stale_tmp(j);
    if ((rc = xt_recover_from(j->io, dir, ecfg, sink, ctx, e, j->cfg.ext, 1, j->cfg.recover_from, &j->recovery)) != 0)
        goto fail;
    /* Capacities configured now may differ from the journal's: move the
     * state into an engine with the new ones, and let later records go
     * into a segment that records them. */
    xt_caps_t want = xt_caps_from_config(ecfg), have = xt_caps_of(e);
    if (!xt_caps_equal(&want, &have) && (rc = xt_caps_convert(e, &want)) != 0) {
        xt_engine_stats_t st;
        xt_engine_stats(e, &st);
        snprintf(j->recovery.why, sizeof j->recovery.why,
                 "the recovered state does not fit the configured capacities (%s): it holds %" PRIu32
                 " resting orders at %" PRIu32 " price levels in %" PRIu32 " instruments, against engine.max_orders "
                 "= %" PRIu32 ", engine.max_levels = %" PRIu32 " and engine.max_instruments = %" PRIu32
                 ": raise what is below",
                 xt_strerror(rc), st.orders, st.levels, st.instruments, want.max_orders, want.max_levels,
                 want.max_instruments);
        xt_engine_destroy(e);
        goto fail;
    }
    const char *last = j->recovery.last_path[0] ? j->recovery.last_path : NULL;
    xt_wal_last_t tail = {last, j->recovery.last_first, j->recovery.last_end, j->recovery.last_zeros,
                          j->recovery.last_torn_window};
    rc = xt_wal_open(&j->wal, j->io, dir, &tail, j->recovery.last_seq + 1, j->cfg.segment_bytes,
                     (size_t)j->cfg.batch_max * XT_WAL_RECORD_MAX + 4096,
                     /* a batch is one write() */ last ? &j->recovery.last_caps : &want);
    if (rc == 0)
        xt_wal_set_caps(&j->wal, &want);
    if (rc) {
        snprintf(j->recovery.why, sizeof j->recovery.why, "%s",
                 j->wal.failed ? j->wal.why : "cannot open the journal for appending");
        xt_wal_close(&j->wal);
        xt_engine_destroy(e);
        goto fail;
    }
    /* The next segment made ahead (spare.h): a whole segment of zeros,
     * rounded up to pages (at most XT_SPARE_MAX). Not under `none`, which never syncs: nothing to
     * gain, and its unsynced bytes would be bounded by the torn window. */
    int mode = j->cfg.fsync == XT_FSYNC_NONE ? XT_SPARE_OFF : j->cfg.preallocate;
    uint64_t rounded = (j->cfg.segment_bytes + 4095) & ~UINT64_C(4095);
    off_t spare_size = rounded < (uint64_t)XT_SPARE_MAX ? (off_t)rounded : XT_SPARE_MAX;
    if (xt_spare_start(&j->spare, j->io, dir, spare_size, mode, j->cfg.drop_cache) == 0)
        j->wal.spare = &j->spare;
    j->last_sync = now;
    j->last_snap_seq = j->recovery.snapshot_seq;
    schedule_snapshot(j, now);
    return 0;
fail:
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    j->lock_fd = -1;
    free(j->snap_buf);
    j->snap_buf = NULL;
    return rc;
}

int xt_journal_submit(xt_journal_t *j, xt_cmd_t *cmd, int64_t now)
{
    if (j->wal.failed)
        return XT_EFAILED;
    cmd->seq = j->wal.next_seq;
    int rc = xt_engine_apply(j->e, cmd);
    if (rc)
        return rc;
    if (j->batch_n++ == 0)
        j->batch_start = now;
    if ((rc = xt_wal_append(&j->wal, cmd)) != 0)
        return rc;
    if (j->cfg.fsync == XT_FSYNC_ALWAYS) {
        if ((rc = xt_wal_write(&j->wal)) == 0)
            rc = sync_now(j, now);
    }
    return rc;
}

int xt_journal_commit_due(const xt_journal_t *j, int64_t now)
{
    return j->batch_n >= j->cfg.batch_max ||
           (j->batch_n > 0 && now - j->batch_start >= (int64_t)j->cfg.batch_max_us * 1000);
}

/* The segment still linked and at its path, looked at once a second. */
static int check_path(xt_journal_t *j, int64_t now)
{
    if (now - j->link_checked < NS_PER_S)
        return 0;
    j->link_checked = now;
    return xt_wal_check_linked(&j->wal);
}

int xt_journal_commit(xt_journal_t *j, int64_t now)
{
    int rc = xt_wal_write(&j->wal);
    if (rc == 0)
        rc = check_path(j, now);
    if (rc == 0) {
        switch (j->cfg.fsync) {
        case XT_FSYNC_BATCH:
        case XT_FSYNC_ALWAYS: rc = sync_now(j, now); break;
        case XT_FSYNC_INTERVAL:
            if (now - j->last_sync >= (int64_t)j->cfg.interval_ms * NS_PER_MS)
                rc = sync_now(j, now);
            break;
        default: break;
        }
    }
    j->batch_n = 0;
    if (rc)
        return rc;
    reap(j, 0);
    if (snapshot_due(j, now))
        rc = take_snapshot(j, now, 0);
    return rc;
}

int xt_journal_tick(xt_journal_t *j, int64_t now)
{
    if (j->wal.failed || check_path(j, now) != 0)
        return XT_EFAILED;
    reap(j, 0);
    if (j->cfg.fsync == XT_FSYNC_INTERVAL && j->wal.synced_seq != j->wal.written_seq &&
        now - j->last_sync >= (int64_t)j->cfg.interval_ms * NS_PER_MS)
        return sync_now(j, now);
    if (j->batch_n == 0 && snapshot_due(j, now))
        return take_snapshot(j, now, 0);
    return 0;
}

int xt_journal_snapshot(xt_journal_t *j, int64_t now)
{
    if (j->wal.failed)
        return XT_EFAILED;
    j->snap_requested = 1;
    return j->batch_n == 0 ? take_snapshot(j, now, 0) : 0;
}

int xt_journal_close(xt_journal_t *j, int64_t now)
{
    int rc = 0;
    if (!j->wal.failed) {
        rc = xt_wal_write(&j->wal);
        if (rc == 0)
            rc = sync_now(j, now);
    }
    reap(j, 1);
    if (rc == 0 && !j->wal.failed && !j->cfg.no_snapshot_on_close) {
        if (j->wal.next_seq - 1 > j->last_snap_seq) /* something new to save */
            take_snapshot(j, now, 1);
    }
    xt_wal_close(&j->wal);
    xt_spare_stop(&j->spare);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    j->lock_fd = -1;
    free(j->snap_buf);
    j->snap_buf = NULL;
    return rc;
}
