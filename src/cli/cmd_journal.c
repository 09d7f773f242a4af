/* cmd_journal.c - `xtrading journal dump|verify|stats|repair DIR`: looking
 * into a data directory and fixing it (docs/journal.md). Only `repair`
 * changes anything, and only after keeping a copy of what it removes. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): SEEK_DATA, SEEK_HOLE */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "journal/caps.h"
#include "journal/codec.h"
#include "journal/dir.h"
#include "journal/manifest.h"
#include "journal/reader.h"
#include "journal/recover.h"
#include "journal/segment.h"
#include "journal/snapshot.h"
#include "proto/replay.h"
#include "xt/error.h"
#include "xt/xt.h"

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

/* Prints "LEVEL: MSG" unless this process printed it before, and says
 * whether it did: verify replays from the start and from each snapshot,
 * and what several of them meet - a bad record, a record that does not
 * apply, a segment's header, a torn tail - is told, and counted, once. */
/* 1 the first time text s, hashed from seed, is seen here (the last 64
 * kept), then 0. */
static int first_time(const char *s, uint64_t seed)
{
    static uint64_t seen[64];
    static unsigned n;
    uint64_t h = 14695981039346656037ull ^ seed; /* FNV-1a */
    for (const char *p = s; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (unsigned k = 0; k < n && k < 64; k++)
        if (seen[k] == h)
            return 0;
    seen[n++ % 64] = h;
    return 1;
}

static int tell_once(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tell_once(const char *level, const char *fmt, ...)
{
    char msg[XT_PATH_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (!first_time(msg, 0))
        return 0;
    fprintf(stderr, "%s: %s\n", level, msg);
    return 1;
}

/* Reads segment capacities and rules as they come and keeps the engine in
 * step, bounded as recovery bounds them (xt_caps_take, against the
 * defaults); a refusal is reported here (once), naming the file and the
 * field. Returns 0, 1 refused and told, 2 refused and told before. */
static int follow_caps(xt_engine_t *e, const xt_wal_reader_t *r, size_t *seg_seen)
{
    if (r->seg == *seg_seen)
        return 0;
    *seg_seen = r->seg;
    char why[256];
    if (xt_caps_take(e, NULL, &r->caps, why, sizeof why) == 0)
        return 0;
    return tell_once("error", "%s: %s", r->path, why) ? 1 : 2;
}

/* Whether replay's flags (--max-orders, --max-levels, --max-instruments)
 * give the same capacities for a and b. */
static int same_replay_caps(const xt_caps_t *a, const xt_caps_t *b)
{
    return a->max_orders == b->max_orders && a->max_levels == b->max_levels && a->max_instruments == b->max_instruments;
}

/* The oldest snapshot that loads, for a journal that no longer starts at 1.
 * Returns its seq (e initialised), or 0. */
static uint64_t oldest_snapshot(const char *dir, xt_engine_t *e, uint64_t after)
{
    uint64_t *snaps = NULL, found = 0;
    size_t n = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &n);
    for (size_t i = 0; i < n && !found; i++) {
        if (snaps[i] <= after)
            continue;
        char why[XT_PATH_MAX + 256];
        if (xt_snapshot_load_seq(&xt_io_posix, dir, snaps[i], NULL, quiet, NULL, e, NULL, NULL, why, sizeof why) == 0)
            found = snaps[i];
    }
    free(snaps);
    return found;
}

/* Where reading starts: from seq 1 on an empty engine, or from the oldest
 * snapshot whose journal can be read after it - a segment missing or with
 * a bad header after an older one is told on stderr, and *damaged set, as
 * recovery, which starts at the newest, does not need it. Returns the base
 * seq (0 = from scratch) or -1 with a message. */
static long long open_base(const char *dir, xt_engine_t *e, xt_wal_reader_t *r, int *no_wal, int *damaged)
{
    *no_wal = 0;
    *damaged = 0;
    int rc = xt_wal_reader_open(r, &xt_io_posix, dir, 1);
    if (rc == 0 || rc == XT_ETORN) { /* torn: reading reports it */
        if (xt_engine_init(e, NULL, quiet, NULL) == 0)
            return 0;
        xt_wal_reader_close(r);
        fprintf(stderr, "xtrading journal: out of memory\n");
        return -1;
    }
    if (rc == -ENOENT) {
        *no_wal = 1;
        xt_wal_reader_close(r);
        uint64_t s = oldest_snapshot(dir, e, 0);
        if (s)
            return (long long)s;
        if (xt_engine_init(e, NULL, quiet, NULL) == 0)
            return 0;
        fprintf(stderr, "xtrading journal: out of memory\n");
        return -1;
    }
    if (rc == XT_ELIMIT) { /* a newer build's segment: not a journal that starts late */
        fprintf(stderr, "xtrading journal: %s: %s\n", r->path[0] ? r->path : dir, r->why);
        xt_wal_reader_close(r);
        return -1;
    }
    xt_wal_reader_close(r);
    uint64_t s = 0;
    while ((s = oldest_snapshot(dir, e, s)) != 0) {
        if ((rc = xt_wal_reader_open(r, &xt_io_posix, dir, s + 1)) == 0 || rc == XT_ETORN) /* torn: reading tells */
            return (long long)s;
        fprintf(stderr, "xtrading journal: %s: %s\n", r->path[0] ? r->path : dir, r->why[0] ? r->why : xt_strerror(rc));
        xt_wal_reader_close(r);
        xt_engine_destroy(e);
        *damaged = 1; /* a newer snapshot may be read past it */
    }
    if (!*damaged)
        fprintf(stderr, "xtrading journal: %s: the journal does not start at 1 and no snapshot loads\n", dir);
    return -1;
}

/* 1 the first time a damaged spot (file, offset) is told, then 0: the
 * replays of verify meet one spot again, from the start and from
 * snapshots, reading into it or past it. */
static int first_at(const char *path, off_t off)
{
    return first_time(path, (uint64_t)off * 0x9E3779B97F4A7C15ull + 1); /* (never a message's seed, 0) */
}

static int manifest_refused; /* wal-last names a newest segment missing or without a header: not cut, refused */

/* Reports how reading ended. Returns 0 (clean or torn tail) or 1. */
static int report_end(int rc, const xt_wal_reader_t *r)
{
    if (rc == 0 || (r->path[0] && !first_at(r->path, r->offset)))
        return 0;
    if (rc == XT_ETORN) {
        tell_once("warning", "%s offset %lld: %s%s", r->path, (long long)r->offset, r->why,
                  manifest_refused ? "" : " (recovery cuts it)");
        return 0;
    }
    return tell_once("error", "%s offset %lld: %s", r->path, (long long)r->offset,
                     r->why[0] ? r->why : xt_strerror(rc));
}

/* Damage among records a snapshot holds: start-up reads past it (the
 * snapshot has their effect), but it is no torn tail and nothing cuts it
 * - and a replay from the start, and md rebuild, need those records. what:
 * the reader's why (its kind is said: what comes before its first ": "),
 * or NULL. Told once per spot: 1 the first time, then 0. */
static int tell_before_snapshot(const char *path, off_t off, const char *what)
{
    if (!first_at(path, off))
        return 0;
    if (!what || !what[0])
        what = "damaged records";
    const char *colon = strstr(what, ": ");
    int kind = colon ? (int)(colon - what) : (int)strlen(what);
    return tell_once("error",
                     "%s offset %lld: %.*s, among records a snapshot holds: start-up reads past them (the snapshot "
                     "has their effect; nothing is cut), but a replay from the start and 'md rebuild' need them "
                     "(restore the file from a replica or backup)",
                     path, (long long)off, kind, what);
}

/* Does start-up, reading on from snapshot `snap`, get past the damage at
 * path, offset off? It reads past a bad record only with a valid one
 * numbered up to the snapshot's end + 1 after it (reader.c
 * skip_unneeded), never past a record out of sequence, nor a last record
 * the snapshot holds with nothing valid after it: there it stops, and
 * refuses to start (the snapshot "ahead of the journal"). */
static int startup_reads_past(const char *dir, uint64_t snap, const char *path, off_t off)
{
    xt_wal_reader_t r;
    xt_cmd_t c;
    int rc = xt_wal_reader_open(&r, &xt_io_posix, dir, snap + 1);
    if (rc == 0)
        while ((rc = xt_wal_reader_next(&r, &c)) == 1)
            ;
    int stopped_there = rc != 0 && r.path[0] && strcmp(r.path, path) == 0 && r.offset == off;
    int opened = rc == 0 || r.fd >= 0 || r.path[0];
    xt_wal_reader_close(&r);
    return opened && !stopped_there;
}

/* What start-up recovery refuses besides a bad record, which `verify` and
 * `stats` report the same way: wal-last naming a newest segment that is
 * missing or has no valid header (xt_manifest_check, recovery's own
 * check). Returns 0, or 1 after reporting it. */
static int manifest_problem(const char *dir)
{
    char why[XT_PATH_MAX + 512];
    if (xt_manifest_check(&xt_io_posix, dir, why, sizeof why) == 0)
        return 0;
    fprintf(stderr, "error: %s\n", why);
    manifest_refused = 1;
    return 1;
}

/* The other thing start-up refuses that reads as sound: a snapshot (one
 * that checks) beyond the journal's end `end`, or with no journal segment
 * at all (have_wal 0) - recovery would start from it and stops there
 * (recover.c). Returns 0, or 1 after reporting it. */
static int snapshot_ahead(uint64_t snap, int have_wal, uint64_t end)
{
    if (have_wal && snap <= end)
        return 0;
    if (have_wal)
        fprintf(stderr, "error: snapshot %llu is ahead of the journal's end %llu\n", (unsigned long long)snap,
                (unsigned long long)end);
    else
        fprintf(stderr, "error: snapshot %llu, but no journal segment\n", (unsigned long long)snap);
    return 1;
}

/* ---- dump ------------------------------------------------------------- */

/* Prints the state of a snapshot base as replay commands that rebuild it.
 * Returns how many of its resting orders had filled part of their
 * quantity: a NEW line carries only what remains (the format has no way to
 * say what filled), which the rules may answer otherwise. */
static uint64_t dump_state(const xt_engine_t *e)
{
    uint64_t partly_filled = 0;
    char line[XT_REPLAY_LINESZ];
    uint32_t n = xt_engine_instrument_count(e);
    for (uint32_t i = 0; i < n; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(e, i, &in);
        xt_cmd_t c = {.type = XT_CMD_INSTRUMENT};
        c.u.instrument = in.def;
        xt_replay_format_cmd(e, &c, line);
        fputs(line, stdout);
    }
    for (uint32_t i = 0; i < n; i++)
        for (int side = XT_BUY; side <= XT_SELL; side++) {
            xt_level_iter_t it;
            xt_level_info_t lv;
            xt_level_iter_init(&it, e, i, (xt_side_t)side);
            while (xt_level_iter_next(&it, &lv)) {
                xt_order_iter_t oit;
                xt_order_info_t o;
                xt_order_iter_init(&oit, e, i, (xt_side_t)side, lv.price);
                while (xt_order_iter_next(&oit, &o)) {
                    xt_cmd_t c = {.type = XT_CMD_NEW};
                    c.u.new_order =
                        (xt_order_new_t){o.id, o.account, o.instrument, o.side, o.type, o.tif, o.stp, o.price, o.qty};
                    xt_replay_format_cmd(e, &c, line);
                    fputs(line, stdout);
                    partly_filled += o.filled > 0;
                }
            }
        }
    return partly_filled;
}

static int dump(const char *dir, uint64_t from, int replay_format)
{
    xt_engine_t e;
    xt_wal_reader_t r;
    int no_wal, damaged;
    int refused = manifest_problem(dir); /* what it can read is dumped; the status says the rest is lost */
    long long base = open_base(dir, &e, &r, &no_wal, &damaged);
    if (base < 0)
        return 1;
    if (base > 0 && replay_format) {
        printf("# the state of snapshot %lld, as commands that rebuild it\n", base);
        uint64_t partly_filled = dump_state(&e);
        if (partly_filled)
            fprintf(stderr,
                    "xtrading journal dump: %llu resting order%s of snapshot %lld had filled part of %s quantity: "
                    "%s NEW %s only what remains, which 'replay' refuses where it is below the "
                    "instrument's min (INVALID_QTY), and an amend of %s may be answered otherwise than in the "
                    "journal\n",
                    (unsigned long long)partly_filled, partly_filled == 1 ? "" : "s", base,
                    partly_filled == 1 ? "its" : "their", partly_filled == 1 ? "its" : "their",
                    partly_filled == 1 ? "line carries" : "lines carry", partly_filled == 1 ? "it" : "them");
    } else if (base > 0)
        printf("# the journal starts after snapshot %lld\n", base);
    int rc = 0, status = damaged;
    if (!no_wal) {
        xt_cmd_t c;
        char line[XT_REPLAY_LINESZ];
        size_t seg = (size_t)-1;
        uint32_t rules = XT_RULES_CURRENT;
        uint64_t older_to = 0; /* the last command dumped of older rules, 0: none */
        int rules_told = 1;    /* the rules of what is dumped next are said (the newest need no line) */
        xt_caps_t caps = xt_caps_from_config(NULL); /* replay's defaults need no line either */
        int caps_told = 1;
        while ((rc = xt_wal_reader_next(&r, &c)) == 1) {
            if (follow_caps(&e, &r, &seg) != 0) {
                status = 1; /* reported */
                rc = 0;
                break;
            }
            if (r.caps.rules != rules) { /* `replay` runs one revision: say where the segments' change */
                rules = r.caps.rules;
                rules_told = 0;
            }
            if (!same_replay_caps(&r.caps, &caps)) { /* nor does it follow the capacities: say them */
                caps = r.caps;
                caps_told = 0;
            }
            if (c.seq >= from || (replay_format && c.type == XT_CMD_INSTRUMENT)) {
                if (!rules_told) /* at the first line dumped under them */
                    printf("# matching rules %u from sequence %llu\n", rules, (unsigned long long)c.seq);
                if (!caps_told) /* as replay's flags */
                    printf("# capacities --max-orders %u --max-levels %u --max-instruments %u from sequence %llu\n",
                           caps.max_orders, caps.max_levels, caps.max_instruments, (unsigned long long)c.seq);
                rules_told = caps_told = 1;
                if (rules != XT_RULES_CURRENT)
                    older_to = c.seq;
                xt_replay_format_cmd(&e, &c, line); /* before apply: names as the command saw them */
                if (!replay_format)
                    printf("%llu %lld ", (unsigned long long)c.seq, (long long)c.ts);
                fputs(line, stdout);
            }
            int arc = xt_engine_apply(&e, &c); /* recovery refuses such a record too */
            if (arc != 0) {
                fprintf(stderr, "error: %s: record %llu does not apply: %s\n", r.path, (unsigned long long)c.seq,
                        xt_strerror(arc));
                status = 1;
                rc = 0;
                break;
            }
        }
        status |= report_end(rc, &r);
        if ((rc == 0 || rc == XT_ETORN) && from > 1 && r.expect <= from) /* printed nothing: said why */
            fprintf(stderr, "xtrading journal dump: the journal ends at sequence %llu: nothing from --from %llu\n",
                    (unsigned long long)(r.expect - 1), (unsigned long long)from);
        xt_wal_reader_close(&r);
        if (replay_format && older_to)
            fprintf(stderr,
                    "xtrading journal dump: the commands up to sequence %llu ran under older matching rules%s: "
                    "'xtrading replay --rules R' re-creates those of revision R exactly (the '# matching rules' "
                    "lines say where they change); 'xtrading journal verify' replays each segment under its own\n",
                    (unsigned long long)older_to, rules != XT_RULES_CURRENT ? "" : " than the later ones");
    }
    xt_engine_destroy(&e);
    if (fflush(stdout) != 0)
        status = 1;
    return status | refused;
}

/* ---- verify ----------------------------------------------------------- */

typedef struct snap {
    uint64_t seq, hash;
    int ok;
} snap_t;

/* Replays the journal from `from` into e (already holding the state
 * before it) to the end. Returns 0, or 1 after reporting corruption;
 * *ended: it reached the journal's end (clean, or a torn tail). Damage
 * before `from` is read past (reader.h). With snaps: checks the hash at
 * each snapshot's sequence number. */
static int replay_to_end(const char *dir, xt_engine_t *e, uint64_t from, snap_t *snaps, size_t ns, uint64_t newest,
                         uint64_t *records, int *problems, int *ended)
{
    *ended = 0;
    xt_wal_reader_t r;
    int rc = xt_wal_reader_open(&r, &xt_io_posix, dir, from);
    if (rc == -ENOENT) {
        xt_wal_reader_close(&r);
        *ended = 1;
        return 0;
    }
    if (rc && rc != XT_ETORN) { /* torn: reading reports it */
        int told = r.path[0] ? report_end(rc, &r) : tell_once("error", "%s", r.why[0] ? r.why : xt_strerror(rc));
        xt_wal_reader_close(&r);
        return told; /* (as the replay that read into it first said it: once) */
    }
    xt_cmd_t c;
    size_t seg = (size_t)-1, k = 0;
    int stopped = 0; /* at a record told here: not a way of ending the reader reports */
    while ((rc = xt_wal_reader_next(&r, &c)) == 1) {
        int caps = follow_caps(e, &r, &seg);
        if (caps) {
            *problems += caps == 1;
            stopped = 1;
            break;
        }
        if ((rc = xt_engine_apply(e, &c)) != 0) {
            *problems += tell_once("error", "%s: record %llu does not apply: %s", r.path, (unsigned long long)c.seq,
                                   xt_strerror(rc));
            stopped = 1;
            break;
        }
        (*records)++;
        while (k < ns && snaps[k].seq < c.seq)
            k++;
        if (k < ns && snaps[k].seq == c.seq && snaps[k].ok) {
            uint64_t h = xt_engine_state_hash(e);
            if (h != snaps[k].hash) {
                fprintf(stderr, "error: at sequence %llu the journal gives state %016llx, the snapshot %016llx\n",
                        (unsigned long long)c.seq, (unsigned long long)h, (unsigned long long)snaps[k].hash);
                (*problems)++;
            } else
                printf("snapshot %llu: agrees with the journal replayed to it\n", (unsigned long long)c.seq);
        }
    }
    *ended = !stopped && (rc == 0 || rc == XT_ETORN);
    int bad;
    if (!stopped && (rc == XT_ETORN || rc == XT_ECORRUPT) && r.path[0] && r.expect <= newest &&
        startup_reads_past(dir, newest, r.path, r.offset)) {
        *ended = 0; /* not the journal's end: a replay from the snapshot goes on past it */
        bad = tell_before_snapshot(r.path, r.offset, rc == XT_ETORN ? NULL : r.why); /* (torn: no tail) */
    } else {
        bad = stopped ? 0 : report_end(rc, &r);
    }
    if (r.skipped_records) /* below `from`: read past, as start-up does - but damage all the same */
        *problems += tell_before_snapshot(r.skipped_path, r.skipped_offset, NULL);
    xt_wal_reader_close(&r);
    return bad;
}

/* A directory with no segment and no snapshot (a wrong path, a copy that
 * failed) is no empty journal: said as verify says it, status 1 (and
 * repair leaves no LOCK there). */
static int no_journal(const char *dir, const char *verb)
{
    uint64_t *seqs = NULL;
    size_t n = 0, m = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &seqs, &n);
    free(seqs);
    seqs = NULL;
    xt_dir_list(dir, XT_FILE_WAL, &seqs, &m);
    free(seqs);
    if (n || m)
        return 0;
    fprintf(stderr, "xtrading journal: %s: no journal segment and no snapshot: nothing to %s\n", dir, verb);
    return 1;
}

static int verify(const char *dir)
{
    int problems = manifest_problem(dir);
    if (no_journal(dir, "verify"))
        return 1;
    uint64_t *seqs = NULL;
    size_t ns = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &seqs, &ns);
    snap_t *snaps = calloc(ns ? ns : 1, sizeof *snaps);
    if (!snaps) {
        fprintf(stderr, "xtrading journal: out of memory\n");
        free(seqs);
        return 1;
    }
    for (size_t i = 0; i < ns; i++) {
        char path[XT_PATH_MAX], why[XT_PATH_MAX + 256] = "snapshot path too long";
        xt_snapshot_info_t info;
        snaps[i].seq = seqs[i];
        int ok = xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, seqs[i]) == 0 &&
                 xt_snapshot_check(&xt_io_posix, path, &info, why, sizeof why) == 0;
        if (ok && info.seq != seqs[i]) { /* said as it is, not as the hash and record mismatches it makes */
            snprintf(why, sizeof why, "%s: named for seq %llu but holds the state after %llu (recovery sets it aside)",
                     path, (unsigned long long)seqs[i], (unsigned long long)info.seq);
            ok = 0;
        }
        if (ok) {
            snaps[i].ok = 1;
            snaps[i].hash = info.state_hash;
        } else {
            fprintf(stderr, "error: %s\n", why);
            problems++;
        }
    }
    /* 1. from the start (or the oldest snapshot), checking every record */
    xt_engine_t e;
    xt_wal_reader_t r;
    int no_wal, damaged;
    long long base = open_base(dir, &e, &r, &no_wal, &damaged);
    problems += damaged;
    if (base < 0) {
        printf("nothing replayed: NOT verified (%d problem%s: the errors above)\n", problems + 1, problems ? "s" : "");
        free(seqs);
        free(snaps);
        return 1;
    }
    if (!no_wal)
        xt_wal_reader_close(&r);
    uint64_t records = 0;
    int ended;               /* else the journal's end is not known yet: a snapshot after the damage may reach it */
    uint64_t final_from = 0; /* the replay whose final state the others are compared with: 0 from the start */
    uint64_t newest = 0;     /* the newest snapshot that checks: damage before it is read past at start-up */
    for (size_t i = 0; i < ns; i++)
        newest = snaps[i].ok && snaps[i].seq > newest ? snaps[i].seq : newest;
    if (replay_to_end(dir, &e, (uint64_t)base + 1, snaps, ns, newest, &records, &problems, &ended))
        problems++;
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    uint64_t final = xt_engine_state_hash(&e);
    const char *why;
    if (xt_engine_verify(&e, &why) != 0) {
        fprintf(stderr, "error: the replayed state is inconsistent: %s\n", why);
        problems++;
    }
    xt_engine_destroy(&e);
    printf("journal: %llu records replayed from %s %lld\n", (unsigned long long)records, base ? "snapshot" : "sequence",
           base ? base : 1);
    /* 2. from each snapshot to the end: the same final state */
    for (size_t i = 0; i < ns; i++) {
        if (!snaps[i].ok)
            continue;
        if (ended && snapshot_ahead(snaps[i].seq, !no_wal, st.last_seq)) {
            problems++;
            continue;
        }
        if ((long long)snaps[i].seq <= base) /* (older ones: not loaded, or their journal told above) */
            continue;
        char path[XT_PATH_MAX], w[XT_PATH_MAX + 256];
        xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, snaps[i].seq);
        if (xt_snapshot_load(&xt_io_posix, path, NULL, quiet, NULL, &e, NULL, w, sizeof w) != 0) {
            fprintf(stderr, "error: %s\n", w);
            problems++;
            continue;
        }
        uint64_t n = 0;
        int p0 = problems, its_end;
        if (replay_to_end(dir, &e, snaps[i].seq + 1, NULL, 0, newest, &n, &problems, &its_end))
            problems++;
        uint64_t h = xt_engine_state_hash(&e);
        if (!ended && its_end) { /* the first to reach the end, past the damage: the others compare with it */
            ended = 1;
            final = h;
            final_from = snaps[i].seq;
            xt_engine_stats(&e, &st);
            printf("snapshot %llu: replaying the rest of the journal from it reaches its end, past the damage\n",
                   (unsigned long long)snaps[i].seq);
        } else if (!its_end) {
            /* stopped at damage, told once above */
        } else if (h != final) {
            char other[48] = "the start";
            if (final_from)
                snprintf(other, sizeof other, "snapshot %llu", (unsigned long long)final_from);
            fprintf(stderr, "error: from snapshot %llu the journal ends in state %016llx, from %s %016llx\n",
                    (unsigned long long)snaps[i].seq, (unsigned long long)h, other, (unsigned long long) final);
            problems++;
        } else if (problems == p0)
            printf("snapshot %llu: replaying the rest of the journal from it gives the same final state\n",
                   (unsigned long long)snaps[i].seq);
        xt_engine_destroy(&e);
    }
    if (problems)
        printf("last seq %llu, state hash %016llx: NOT verified (%d problem%s: the errors above)\n",
               (unsigned long long)st.last_seq, (unsigned long long) final, problems, problems == 1 ? "" : "s");
    else
        printf("last seq %llu, state hash %016llx: verified\n", (unsigned long long)st.last_seq,
               (unsigned long long) final);
    free(seqs);
    free(snaps);
    return problems ? 1 : 0;
}

/* ---- stats ------------------------------------------------------------ */

static off_t file_size(const char *dir, xt_file_kind_t kind, uint64_t seq)
{
    char path[XT_PATH_MAX];
    struct stat st;
    if (xt_dir_path(path, sizeof path, dir, kind, seq) != 0 || stat(path, &st) != 0)
        return -1;
    return st.st_size;
}

/* ", format N, rules R" of segment seq's header, for stats: which builds
 * can read it (docs/journal-format.md, "Compatibility"); then the
 * capacities its commands ran with. */
static void print_segment_kind(const char *dir, uint64_t seq)
{
    char path[XT_PATH_MAX];
    uint8_t h[XT_SEG_HDR];
    uint64_t first;
    xt_caps_t caps;
    uint32_t version = 0, rules = 0;
    int fd = xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, seq) == 0 ? xt_open_regular(path, O_RDONLY, 0) : -1;
    int got = fd >= 0 && xt_io_pread_all(&xt_io_posix, fd, h, sizeof h, 0) == 0;
    if (fd >= 0)
        close(fd);
    if (got && xt_segment_header_ok(h, &first, &caps, NULL))
        printf(", format %u, rules %u, max_orders %u, max_levels %u, max_instruments %u", xt_get32(h + 8), caps.rules,
               caps.max_orders, caps.max_levels, caps.max_instruments);
    else if (got && xt_segment_header_newer(h, &version, &rules))
        printf(", format %u, rules %u (a newer build's)", version, rules);
    else
        printf(", header bad");
}

typedef struct snap_check {
    int ok;
    xt_snapshot_info_t info;
    char why[XT_PATH_MAX + 256];
} snap_check_t;

static int stats(const char *dir)
{
    uint64_t *segs = NULL, *snaps = NULL;
    size_t ng = 0, ns = 0;
    int rc = xt_dir_list(dir, XT_FILE_WAL, &segs, &ng);
    if (rc) {
        fprintf(stderr, "xtrading journal: %s: %s\n", dir, strerror(-rc));
        return 1;
    }
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
    snap_check_t *checks = calloc(ns ? ns : 1, sizeof *checks);
    if (!checks) {
        fprintf(stderr, "xtrading journal: out of memory\n");
        free(segs);
        free(snaps);
        return 1;
    }
    uint64_t newest_good = 0; /* the snapshot recovery would start from */
    for (size_t i = 0; i < ns; i++) {
        char path[XT_PATH_MAX];
        xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, snaps[i]);
        checks[i].ok = xt_snapshot_check(&xt_io_posix, path, &checks[i].info, checks[i].why, sizeof checks[i].why) == 0;
        if (checks[i].ok && snaps[i] > newest_good)
            newest_good = snaps[i];
    }
    long long bytes = 0;
    for (size_t i = 0; i < ng; i++)
        bytes += file_size(dir, XT_FILE_WAL, segs[i]);
    printf("segments: %zu, %lld bytes\n", ng, bytes);
    /* every record counts, whatever its type: the total is the journal's length */
    uint64_t count[XT_CMD_SESSION_END + 1] = {0}, total = 0, first = 0, last = 0, end = 0;
    off_t zeros = 0, zeros_at = 0;
    int status = manifest_problem(dir), read_ok = 1;
    /* from its first segment, wherever that starts; past damage (told),
     * from the next segment, so the records after it are counted too - or,
     * damage among records the newest snapshot holds, from the snapshot on,
     * as start-up reads it */
    uint64_t resume = 0; /* a sequence number to read from, not a segment's start */
    for (size_t at = 0; at < ng;) {
        xt_wal_reader_t r;
        xt_cmd_t c;
        size_t seg = (size_t)-1;
        if ((rc = xt_wal_reader_open(&r, &xt_io_posix, dir, resume ? resume : segs[at])) == 0)
            while ((rc = xt_wal_reader_next(&r, &c)) == 1) {
                char why[256];
                if (r.seg != seg) {
                    seg = r.seg;
                    if (xt_caps_check(&r.caps, NULL, xt_caps_mem_limit(), why, sizeof why) != 0) {
                        fprintf(stderr, "error: %s: %s\n", r.path, why); /* start-up refuses them */
                        status = 1;
                    }
                }
                if (!first)
                    first = c.seq;
                last = c.seq;
                total++;
                if ((unsigned)c.type < sizeof count / sizeof count[0])
                    count[c.type]++;
            }
        int before = (rc == XT_ETORN || rc == XT_ECORRUPT) && !resume && r.path[0] && r.expect <= newest_good &&
                     startup_reads_past(dir, newest_good, r.path, r.offset);
        if (before)
            status |= tell_before_snapshot(r.path, r.offset, rc == XT_ETORN ? NULL : r.why) | 1;
        else
            status |= report_end(rc, &r);
        read_ok = !before && (rc == 0 || rc == XT_ETORN); /* else where the journal ends is not known */
        end = r.expect ? r.expect - 1 : 0;                /* an empty newest segment included, as recovery takes it */
        if (rc == 0) {
            zeros = r.zero_tail;
            zeros_at = r.end_offset;
        }
        uint64_t stopped_in = r.seg < r.nsegs ? r.segs[r.seg] : segs[at]; /* the segment reading stopped in */
        xt_wal_reader_close(&r);
        if (read_ok)
            break;
        if (before && stopped_in == segs[ng - 1]) { /* in the last segment: on from the snapshot, as start-up reads */
            resume = newest_good + 1;
            continue;
        }
        size_t was = at;
        while (at < ng && segs[at] <= stopped_in)
            at++;
        at += at == was; /* on, whatever the reader listed (a segment removed meanwhile) */
    }
    printf("records: %llu (instrument %llu, new %llu, cancel %llu, amend %llu, session_end %llu), sequence "
           "%llu..%llu\n",
           (unsigned long long)total, (unsigned long long)count[XT_CMD_INSTRUMENT],
           (unsigned long long)count[XT_CMD_NEW], (unsigned long long)count[XT_CMD_CANCEL],
           (unsigned long long)count[XT_CMD_AMEND], (unsigned long long)count[XT_CMD_SESSION_END],
           (unsigned long long)first, (unsigned long long)last);
    for (size_t i = 0; i < ng; i++) {
        printf("  wal-%020llu.log  %lld bytes", (unsigned long long)segs[i],
               (long long)file_size(dir, XT_FILE_WAL, segs[i]));
        print_segment_kind(dir, segs[i]);
        if (i + 1 == ng && zeros > 0) /* a preallocated segment: records, then zeros */
            printf(" (records end at %lld; %lld bytes of zeros follow, preallocated)", (long long)zeros_at,
                   (long long)zeros);
        printf("\n");
    }
    printf("snapshots: %zu\n", ns);
    for (size_t i = 0; i < ns; i++) {
        const xt_snapshot_info_t *info = &checks[i].info;
        if (checks[i].ok) {
            printf("  snap-%020llu.xts  %lld bytes, %llu orders, %u instruments, state hash %016llx\n",
                   (unsigned long long)snaps[i], (long long)file_size(dir, XT_FILE_SNAP, snaps[i]),
                   (unsigned long long)info->orders, info->instruments, (unsigned long long)info->state_hash);
            if (read_ok)
                status |= snapshot_ahead(snaps[i], ng > 0, end);
        } else {
            printf("  snap-%020llu.xts  BAD: %s\n", (unsigned long long)snaps[i], checks[i].why);
            fprintf(stderr, "error: %s\n", checks[i].why); /* as verify reports it (cli.md) */
            status = 1;
        }
    }
    if (ng && segs[0] > newest_good + 1) { /* as recovery's reader refuses it */
        fprintf(stderr,
                "error: the journal starts at sequence %llu, after %llu: the commands between are in no segment "
                "and no snapshot\n",
                (unsigned long long)segs[0], (unsigned long long)newest_good + 1);
        status = 1;
    }
    free(checks);
    free(segs);
    free(snaps);
    return status;
}

/* ---- repair ----------------------------------------------------------- */

static int all_zeros(const char *b, size_t n)
{
    return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* Copies [off, end) of src into the backup directory under its own name,
 * and syncs the copy. Holes, and blocks of zeros (a preallocated
 * segment's rest), stay holes in the copy: a sparse terabyte behind the
 * damage (a probe's) would fill the disk. Returns 0 or -errno. */
static int save_tail(const char *src, off_t off, const char *backup)
{
    const char *base = strrchr(src, '/');
    char dst[XT_PATH_MAX];
    if (snprintf(dst, sizeof dst, "%s/%s", backup, base ? base + 1 : src) >= (int)sizeof dst)
        return -ENAMETOOLONG;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = in < 0 || out < 0 ? -errno : 0;
    struct stat st;
    if (rc == 0 && fstat(in, &st) != 0)
        rc = -errno;
    off_t end = rc == 0 ? st.st_size : 0, at = off;
    char buf[1 << 16];
    while (rc == 0 && at < end) {
        off_t data = lseek(in, at, SEEK_DATA), hole;
        if (data < 0 && errno == ENXIO) /* nothing but a hole from here on */
            break;
        if (data < 0) /* a file system without SEEK_DATA: all of it is data */
            data = at, hole = end;
        else if ((hole = lseek(in, data, SEEK_HOLE)) < 0 || hole > end)
            hole = end;
        for (at = data; rc == 0 && at < hole;) {
            size_t want = hole - at < (off_t)sizeof buf ? (size_t)(hole - at) : sizeof buf;
            ssize_t n = pread(in, buf, want, at);
            if (n <= 0) {
                rc = n < 0 ? -errno : -EIO; /* (shorter than fstat said: changed underneath) */
                break;
            }
            if (!all_zeros(buf, (size_t)n))
                rc = xt_io_pwrite_all(&xt_io_posix, out, buf, (size_t)n, at - off);
            at += n;
        }
        at = hole;
    }
    if (rc == 0 && ftruncate(out, end > off ? end - off : 0) != 0) /* its size, the zeros at its end too */
        rc = -errno;
    if (rc == 0 && fsync(out) != 0)
        rc = -errno;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Makes DIR/repair-<time>[-k] for what repair removes. Returns 0 or -errno. */
static int make_backup_dir(const char *dir, char *backup, size_t n)
{
    int err = -EEXIST;
    for (int k = 0; k < 100 && err == -EEXIST; k++) { /* repair-<time>, or -<k> after it if taken */
        int len = k ? snprintf(backup, n, "%s/repair-%lld-%d", dir, (long long)time(NULL), k)
                    : snprintf(backup, n, "%s/repair-%lld", dir, (long long)time(NULL));
        err = len >= (int)n ? -ENAMETOOLONG : mkdir(backup, 0755) != 0 ? -errno : 0;
    }
    return err ? err : xt_io_sync_dir(&xt_io_posix, dir);
}

/* The newest snapshot at or below `at_most` that recovery could start from
 * (it loads and its name matches its contents), or 0. */
static uint64_t usable_snapshot(const char *dir, uint64_t at_most)
{
    uint64_t *snaps = NULL, found = 0;
    size_t n = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &n);
    for (size_t i = n; i-- > 0 && !found;) {
        char why[XT_PATH_MAX + 256];
        xt_engine_t e;
        if (snaps[i] <= at_most && xt_snapshot_load_seq(&xt_io_posix, dir, snaps[i], NULL, quiet, NULL, &e, NULL, NULL,
                                                        why, sizeof why) == 0) {
            found = snaps[i];
            xt_engine_destroy(&e);
        }
    }
    free(snaps);
    return found;
}

/* After a cut: does the directory recover now, and to what? */
static int check_recovers(const char *dir)
{
    xt_engine_config_t cfg;
    xt_engine_config_default(&cfg);
    xt_engine_t e;
    xt_recovery_t rep;
    int rc = xt_recover(&xt_io_posix, dir, &cfg, quiet, NULL, &e, 0, &rep);
    if (rc) {
        fprintf(stderr, "xtrading journal repair: %s still does not recover: %s\n", dir,
                rep.why[0] ? rep.why : xt_strerror(rc));
        return 1;
    }
    xt_engine_destroy(&e);
    if (rep.snapshot_seq)
        printf("%s: recovery now starts from snapshot %llu and ends at sequence %llu\n", dir,
               (unsigned long long)rep.snapshot_seq, (unsigned long long)rep.last_seq);
    else
        printf("%s: recovery now replays the journal from the start to sequence %llu\n", dir,
               (unsigned long long)rep.last_seq);
    return 0;
}

/* Cuts the journal where r stopped: keeps a copy of the rest of that
 * segment, of every later segment and of every snapshot beyond `keep` in
 * backup, then truncates (or removes) the segment and removes the rest.
 * Returns 0 or -errno. */
static int cut_journal(const char *dir, const xt_wal_reader_t *r, uint64_t keep, const char *backup)
{
    int err = save_tail(r->path, r->offset, backup);
    for (size_t i = r->seg + 1; i < r->nsegs && !err; i++) {
        char p[XT_PATH_MAX];
        xt_dir_path(p, sizeof p, dir, XT_FILE_WAL, r->segs[i]);
        if (!(err = save_tail(p, 0, backup)) && unlink(p) != 0)
            err = -errno;
    }
    uint64_t *snaps = NULL;
    size_t ns = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
    for (size_t i = 0; i < ns && !err; i++) {
        if (snaps[i] <= keep)
            continue;
        char p[XT_PATH_MAX], q[2 * XT_PATH_MAX];
        xt_dir_path(p, sizeof p, dir, XT_FILE_SNAP, snaps[i]);
        snprintf(q, sizeof q, "%s/%s", backup, strrchr(p, '/') + 1);
        if (rename(p, q) != 0)
            err = -errno;
    }
    free(snaps);
    if (!err) /* the copies and moved snapshots are durable before anything is cut */
        err = xt_io_sync_dir(&xt_io_posix, backup);
    if (!err) {
        int fd = open(r->path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || (r->offset == 0 ? unlink(r->path) : ftruncate(fd, r->offset)) != 0 || fsync(fd) != 0)
            err = -errno;
        if (fd >= 0)
            close(fd);
    }
    if (!err)
        err = xt_io_sync_dir(&xt_io_posix, dir);
    return err;
}

/* wal-last names the newest segment left (or goes, with none): after a
 * repair removed or added segments. Returns 0 or -errno. */
static int mark_newest(const char *dir)
{
    uint64_t *segs = NULL;
    size_t n = 0;
    int err = xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    if (err == 0 && n)
        err = xt_manifest_write(&xt_io_posix, dir, segs[n - 1]);
    else if (err == 0) {
        char p[XT_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, XT_MANIFEST_FILE);
        err = unlink(p) != 0 && errno != ENOENT ? -errno : xt_io_sync_dir(&xt_io_posix, dir);
    }
    free(segs);
    return err;
}

/* An empty segment that starts at `first`, with the capacities of
 * snapshot `snap` (created and synced). Returns 0 or an error. */
static int new_segment(const char *dir, uint64_t first, uint64_t snap)
{
    xt_engine_t e;
    char why[XT_PATH_MAX + 256];
    int err = xt_snapshot_load_seq(&xt_io_posix, dir, snap, NULL, quiet, NULL, &e, NULL, NULL, why, sizeof why);
    if (err)
        return err;
    xt_caps_t caps = xt_caps_of(&e);
    xt_engine_destroy(&e);
    /* It holds no record, so its rules change no replay: the first ones,
     * which every build reads (a rollback build too, engine.rules = 1); a
     * server under other rules replaces it at its first command. */
    caps.rules = XT_RULES_1;
    xt_wal_t w;
    err = xt_wal_open(&w, &xt_io_posix, dir, NULL, first, 0, 4096, &caps);
    xt_wal_close(&w);
    return err;
}

/* Does the journal hold commands after snapshot `snap` beyond where r
 * stopped: a segment that starts after it (other than the one reading
 * stopped in), or a valid record numbered above it after the damage? */
static int commands_after(xt_wal_reader_t *r, int bad, uint64_t snap)
{
    for (size_t i = 0; i < r->nsegs; i++)
        if (r->segs[i] > snap && !(r->path[0] && i == r->seg))
            return 1;
    return bad && r->path[0] && xt_wal_reader_record_after(r, snap + 1);
}

/* The journal, as far as it reads, ends before snapshot `snap`, which
 * holds the state recovery needs, and nothing after it is in the journal:
 * every segment (none reaches the snapshot) and every other snapshot (an
 * older one's journal no longer runs on; a newer one does not load) go to
 * backup, and an empty segment that
 * starts at snap + 1 lets recovery, and `verify`, go on from the snapshot.
 * Returns 0 or an error. */
static int restart_at_snapshot(const char *dir, const xt_wal_reader_t *r, uint64_t snap, const char *backup)
{
    int err = 0;
    uint64_t *snaps = NULL;
    size_t ns = 0;
    xt_dir_list(dir, XT_FILE_SNAP, &snaps, &ns);
    for (size_t i = 0; i < r->nsegs + ns && !err; i++) {
        int seg = i < r->nsegs;
        uint64_t seq = seg ? r->segs[i] : snaps[i - r->nsegs];
        if (!seg && seq == snap) /* older ones lead nowhere now; newer ones do not load */
            continue;
        char p[XT_PATH_MAX], q[2 * XT_PATH_MAX];
        xt_dir_path(p, sizeof p, dir, seg ? XT_FILE_WAL : XT_FILE_SNAP, seq);
        snprintf(q, sizeof q, "%s/%s", backup, strrchr(p, '/') + 1);
        if (rename(p, q) != 0)
            err = -errno;
    }
    free(snaps);
    if (!err)
        err = xt_io_sync_dir(&xt_io_posix, backup);
    if (!err)
        err = xt_io_sync_dir(&xt_io_posix, dir);
    return err ? err : new_segment(dir, snap + 1, snap);
}

/* verify on a directory nothing writes meanwhile. A server holds its LOCK
 * (exclusively) while it runs, and so does the snapshot child of a server
 * killed mid-snapshot until that snapshot is written and old files are
 * deleted: read then, verify saw files vanish and reported a disagreement.
 * So the LOCK is taken shared (a server does not start meanwhile), waiting
 * up to 10 s for such a child; a directory without a LOCK file (a copy) is
 * read as it is. */
static int verify_quiet_dir(const char *dir)
{
    int fd = xt_dir_lock_shared(dir);
    for (int tries = 0; fd == XT_ELOCKED; tries++) {
        if (tries == 500) {
            fprintf(stderr,
                    "xtrading journal verify: %s is in use (a running server, or the snapshot the child of a killed "
                    "server is still writing): stop the server, or verify when the snapshot is done\n",
                    dir);
            return 1;
        }
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        fd = xt_dir_lock_shared(dir);
    }
    /* fd < 0 otherwise: no LOCK file (a copy), or one that cannot be locked here - read as it is */
    int rc = verify(dir);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Corruption with sound data after it (valid records past the damage, or
 * later segments: what was synced, so perhaps acknowledged orders) is cut
 * only when the operator says so: says what a cut would remove and how to
 * go on. A torn tail holds nothing acknowledged and needs no --force. */
static void refuse_cut(const char *dir, const xt_wal_reader_t *r, uint64_t end)
{
    size_t later = r->nsegs - r->seg - 1;
    /* (valid records within the segment are looked for only in the last
     * one; behind a bad segment header none can be told) */
    fprintf(stderr, "xtrading journal repair: %s: %s at %s offset %lld: a cut there would remove %s", dir, r->why,
            r->path, (long long)r->offset,
            r->records_follow ? "what follows, valid records among it"
            : r->offset == 0  ? "the whole segment"
                              : "the rest of the segment");
    if (later)
        fprintf(stderr,
                ", and %zu later segment%s (the newest from sequence %llu; the cut would end the journal at %llu)",
                later, later == 1 ? "" : "s", (unsigned long long)r->segs[r->nsegs - 1], (unsigned long long)end);
    fprintf(stderr,
            ", which may hold acknowledged orders: restore the directory from a replica or backup; to cut anyway (no "
            "copy exists, or what follows was never acknowledged), run 'xtrading journal repair %s --force'\n",
            dir);
}

/* Repairs what start-up recovery trips over: it reads the journal from
 * where recovery would (after the newest snapshot that loads), and cuts it
 * at the first bad place found there - nothing recovery does not read is
 * touched. Corruption with sound data after it is cut only with `force`. */
static int repair(const char *dir, int force)
{
    int lock = xt_dir_lock(dir);
    if (lock < 0) { /* as recovery says it: the LOCK file named, when it is what failed */
        fprintf(stderr, "xtrading journal repair: %s: %s%s\n", dir,
                lock == XT_ELOCKED ? "" : "its LOCK file: ", xt_strerror(lock));
        return 1;
    }
    uint64_t snap = usable_snapshot(dir, UINT64_MAX), from = snap + 1;
    xt_wal_reader_t r;
    xt_cmd_t c;
    uint64_t marked = 0;
    int mrc = xt_manifest_read(&xt_io_posix, dir, &marked);
    int rc = xt_wal_reader_open(&r, &xt_io_posix, dir, from);
    uint64_t newest = r.nsegs ? r.segs[r.nsegs - 1] : 0;
    if (rc == 0)
        while ((rc = xt_wal_reader_next(&r, &c)) == 1)
            ;
    int status = 1;
    /* where the journal ends once cut: the last good record read, else just
     * before the segment (or snapshot) reading started at */
    uint64_t end = r.expect ? r.expect - 1 : snap;
    int bad = rc != 0 && rc != -ENOENT, cuttable = (rc == XT_ETORN || rc == XT_ECORRUPT) && r.path[0];
    if (snap && (rc == -ENOENT || end < snap || (bad && r.expect == 0)) && (!bad || cuttable)) {
        /* Recovery refuses a journal that ends before the snapshot (or in
         * the header of the segment it must start in). The snapshot has the
         * state: go on from it, rather than cut back to an older one and
         * lose the commands between - unless commands after it are still
         * there, past the damage, which a cut would lose. */
        char backup[XT_PATH_MAX];
        int err = 0, lost = commands_after(&r, bad, snap);
        if (lost && !force)
            fprintf(stderr,
                    "xtrading journal repair: %s: %s%s%s, before snapshot %llu; commands after the snapshot follow it, "
                    "which repair would cut away: restore the directory from a replica or backup, or (no copy "
                    "exists) run 'xtrading journal repair %s --force' to go on from the snapshot without them\n",
                    dir, bad ? r.why : "the journal ends", bad ? " at " : "", bad ? r.path : "",
                    (unsigned long long)snap, dir);
        else if ((err = make_backup_dir(dir, backup, sizeof backup)) == 0 &&
                 (err = restart_at_snapshot(dir, &r, snap, backup)) == 0) {
            printf("%s: the journal %s, before snapshot %llu: kept the snapshot and started the journal again after "
                   "it; the segments%s and older snapshots are in %s\n",
                   dir,
                   rc == -ENOENT ? "has no segment"
                   : bad         ? "is spoilt"
                                 : "ends",
                   (unsigned long long)snap,
                   lost ? " (with the commands after the snapshot, which are lost: --force)" : " before it", backup);
            status = check_recovers(dir);
        }
        if (err)
            fprintf(stderr, "xtrading journal repair: %s: %s\n", dir, xt_strerror(err));
    } else if ((rc == 0 || rc == -ENOENT) && ((mrc != 0 && mrc != -ENOENT) || (mrc == 0 && marked > newest))) {
        /* the newest segments are gone (or wal-last is spoilt): the journal ends where the rest ends */
        int err = mark_newest(dir);
        if (err)
            fprintf(stderr, "xtrading journal repair: %s: %s\n", dir, xt_strerror(err));
        else {
            if (mrc != 0)
                printf("%s: %s could not be read (%s): written again", dir, XT_MANIFEST_FILE, xt_strerror(mrc));
            else
                printf("%s: the journal's newest segment, from sequence %llu, is missing: the journal now ends at "
                       "sequence %llu (the commands after it are lost)",
                       dir, (unsigned long long)marked, (unsigned long long)(r.expect ? r.expect - 1 : 0));
            printf("\n");
            status = check_recovers(dir);
        }
    } else if (rc == 0 || rc == -ENOENT) {
        printf("%s: recovery reads the journal without a fault, nothing to repair%s\n", dir,
               snap ? " (records before the newest snapshot are not read; 'xtrading journal verify' checks them)" : "");
        status = 0;
    } else if (!cuttable) {
        fprintf(stderr, "xtrading journal repair: %s: %s\n", dir, r.why[0] ? r.why : xt_strerror(rc));
    } else if (rc == XT_ECORRUPT && !force) {
        refuse_cut(dir, &r, end);
    } else {
        char backup[XT_PATH_MAX];
        int err = make_backup_dir(dir, backup, sizeof backup);
        if (!err)
            err = cut_journal(dir, &r, end, backup);
        uint64_t *segs = NULL;
        size_t ng = 0;
        if (!err && snap && xt_dir_list(dir, XT_FILE_WAL, &segs, &ng) == 0 && ng == 0)
            err = new_segment(dir, end + 1, snap); /* the cut took the only segment: the journal goes on at end + 1 */
        free(segs);
        if (!err)
            err = mark_newest(dir);
        if (err)
            fprintf(stderr, "xtrading journal repair: %s: %s\n", dir, xt_strerror(err));
        else {
            printf("%s: %s at %s offset %lld: cut there; the journal now ends at sequence %llu; removed data kept "
                   "in %s\n",
                   dir, r.why, r.path, (long long)r.offset, (unsigned long long)end, backup);
            status = check_recovers(dir);
        }
    }
    xt_wal_reader_close(&r);
    close(lock);
    return status;
}

/* ---- the command ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading journal <dump|verify|stats|repair> DIR [options]\n"
               "  dump DIR [--from SEQ] [--format text|replay]\n"
               "              print the journaled commands; --format replay re-creates them, so\n"
               "              'xtrading journal dump DIR --format replay | xtrading replay --book'\n"
               "              reproduces the journaled session's final book\n"
               "  verify DIR  check every record and snapshot; replay from the start and from each\n"
               "              snapshot; print the final state hash; exit 1 on any disagreement\n"
               "  stats DIR   segments, records by type, sequence range, snapshots\n"
               "  repair DIR [--force]\n"
               "              cut the journal at its first bad record, keeping a copy of what is\n"
               "              removed in DIR/repair-<time>/; valid records after the damage (or\n"
               "              later segments) are cut only with --force\n");
}

/* --help or -h anywhere: `journal dump --help` asks for help, it does not
 * name a directory (and no option here takes "--help" as its value). */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (xt_cli_is_help(argv[i]))
            return 1;
    return 0;
}

int xt_cmd_journal(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    /* DIR is the one argument that is neither an option nor an option's
     * value, wherever it stands (`dump --from 3 DIR` as `dump DIR --from 3`) */
    const char *sub = argv[1], *dir = NULL;
    int dir_at = 0;
    for (int i = 2; i < argc && !dir; i++) {
        if (strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--format") == 0)
            i++;
        else if (strncmp(argv[i], "--", 2) != 0)
            dir = argv[dir_at = i];
    }
    if (!dir) {
        fprintf(stderr, "xtrading journal %s: no DIR given\n", sub);
        usage(stderr);
        return 2;
    }
    struct stat st;
    int bad = stat(dir, &st) != 0 ? errno : 0;
    if (bad || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "xtrading journal: %s: %s\n", dir, bad ? strerror(bad) : "not a directory");
        return 2;
    }
    if (strcmp(sub, "dump") == 0) {
        uint64_t from = 1;
        int replay_format = 0;
        for (int i = 2; i < argc; i++) {
            if (i == dir_at)
                continue;
            const char *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (strcmp(argv[i], "--from") == 0) {
                if (!xt_cli_parse_u64("--from", v, &from)) /* (it said why) */
                    return 2;
                i++;
            } else if (strcmp(argv[i], "--format") == 0) {
                if (!v || (strcmp(v, "text") != 0 && strcmp(v, "replay") != 0)) {
                    fprintf(stderr, "xtrading journal dump: --format takes text or replay, got '%s'\n", v ? v : "");
                    return 2;
                }
                replay_format = strcmp(v, "replay") == 0;
                i++;
            } else {
                fprintf(stderr, "xtrading journal dump: %s '%s'\n",
                        argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
                return 2;
            }
        }
        return no_journal(dir, "dump") ? 1 : dump(dir, from, replay_format);
    }
    if (strcmp(sub, "repair") == 0 && argc == 4 && strcmp(argv[dir_at == 2 ? 3 : 2], "--force") == 0)
        return no_journal(dir, "repair") ? 1 : repair(dir, 1);
    int known = strcmp(sub, "verify") == 0 || strcmp(sub, "stats") == 0 || strcmp(sub, "repair") == 0;
    if (argc != 3 && known) {
        const char *extra = argv[dir_at == 2 ? 3 : 2]; /* (the usage alone did not say what was wrong) */
        fprintf(stderr, "xtrading journal %s: unexpected argument '%s'\n", sub, extra);
        usage(stderr);
        return 2;
    }
    if (strcmp(sub, "verify") == 0)
        return verify_quiet_dir(dir);
    if (strcmp(sub, "stats") == 0)
        return no_journal(dir, "count") ? 1 : stats(dir);
    if (strcmp(sub, "repair") == 0)
        return no_journal(dir, "repair") ? 1 : repair(dir, 0);
    fprintf(stderr, "xtrading journal: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}
