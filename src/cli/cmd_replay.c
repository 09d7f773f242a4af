/* cmd_replay.c - `xtrading replay [options] [FILE]`: drives the engine from a
 * replay-format command file and prints its events (docs/replay-format.md).
 *
 * With --journal DIR every command is journaled first (docs/journal.md): the
 * directory is recovered, commands are submitted in batches, and a batch's
 * events are printed only once the journal says the batch is durable under
 * the fsync policy - so whatever was printed before a crash is in the
 * journal. While the input is idle it keeps the journal's timers going
 * (interval syncs, timed snapshots); SIGUSR1 asks for a snapshot, SIGINT
 * and SIGTERM stop it cleanly (the batch committed, the journal closed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "journal/journal.h"
#include "proto/replay.h"
#include "xt/error.h"
#include "xt/xt.h"

/* ---- input: lines from a file descriptor, knowing when it is drained ---- */

typedef struct input {
    int fd;
    char buf[1 << 16];
    size_t len, pos;
    size_t partial; /* bytes of a line begun but not ended, kept in the caller's line */
    int eof, err;
    const char *name; /* for messages: FILE, or "standard input" */
} input_t;

/* Could a read return at once (buffered data, the end, or fd ready)? */
static int input_ready(input_t *in)
{
    if (in->pos < in->len || in->eof)
        return 1;
    struct pollfd p = {in->fd, POLLIN, 0};
    return poll(&p, 1, 0) != 0;
}

/* Reads one line (without '\n') into line. Returns its length, -1 at the
 * end, -2 if longer than XT_REPLAY_MAX_LINE, -3 on a read error. Without
 * `wait`, returns -4 rather than block in the middle of a line; the part
 * read so far stays in line and the next call goes on with it. */
static ssize_t input_line(input_t *in, char *line, int wait)
{
    size_t n = in->partial;
    in->partial = 0;
    for (;;) {
        if (in->pos == in->len) {
            if (in->eof)
                return n ? (ssize_t)n : -1;
            if (!wait && !input_ready(in)) {
                in->partial = n;
                return -4;
            }
            ssize_t r = read(in->fd, in->buf, sizeof in->buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno == EAGAIN && !wait) { /* a FIFO's, opened non-blocking: nothing yet */
                in->partial = n;
                return -4;
            }
            if (r < 0) {
                in->err = errno;
                return -3;
            }
            in->eof = r == 0;
            in->len = (size_t)r;
            in->pos = 0;
            continue;
        }
        char c = in->buf[in->pos++];
        if (c == '\n')
            return (ssize_t)n;
        if (n == XT_REPLAY_MAX_LINE)
            return -2;
        line[n++] = c;
    }
}

/* Is there nothing more to read right now (buffer empty, fd not ready)? */
static int input_drained(input_t *in)
{
    return in->pos == in->len && !input_ready(in);
}

/* ---- output: events, held until released ---- */

typedef struct output {
    const xt_engine_t *e;
    char *held; /* formatted events not yet released */
    size_t len, cap;
    int seq_prefix; /* --seq: "<seq> " before each line */
    int failed;     /* a write to stdout failed */
} output_t;

static void hold(output_t *o, const char *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1 << 16;
        while (cap < o->len + n)
            cap *= 2;
        char *q = realloc(o->held, cap);
        if (!q) {
            o->failed = 1;
            return;
        }
        o->held = q;
        o->cap = cap;
    }
    memcpy(o->held + o->len, p, n);
    o->len += n;
}

static void on_events(void *ctx, const xt_event_batch_t *b)
{
    output_t *o = ctx;
    char line[XT_REPLAY_LINESZ], pre[24];
    int pn = o->seq_prefix ? snprintf(pre, sizeof pre, "%llu ", (unsigned long long)b->seq) : 0;
    for (uint32_t i = 0; i < b->n; i++) {
        size_t n = xt_replay_format_event(o->e, &b->events[i], line);
        if (n) {
            if (pn > 0)
                hold(o, pre, (size_t)pn);
            hold(o, line, n);
        }
    }
}

static void release(output_t *o)
{
    if (o->len && fwrite(o->held, 1, o->len, stdout) != o->len)
        o->failed = 1;
    o->len = 0;
    if (fflush(stdout) != 0)
        o->failed = 1;
}

static void discard(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static void write_out(void *ctx, const char *p, size_t n)
{
    hold(ctx, p, n);
}

/* ---- options ---- */

typedef struct opts {
    int book, seq_prefix, print_hash;
    const char *path, *journal;
    const char *journal_opt; /* the first option given that only --journal uses */
    xt_engine_config_t ecfg;
    xt_journal_config_t jcfg;
} opts_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading replay [options] [FILE]\n"
               "Reads commands from FILE (stdin if none or '-') and prints the engine's events.\n"
               "  --book                 print the final books after the last command\n"
               "  --seq                  prefix each event line with its command's sequence number\n"
               "  --hash                 print 'HASH <last seq> <state hash>' at the end\n"
               "  --max-orders N         resting-order capacity (default 1048576)\n"
               "  --max-levels N         price-level capacity (default 262144)\n"
               "  --max-instruments N    instrument capacity (default 1024)\n"
               "  --rules R              matching-rule revision, 1 or 2 (default 2, the newest);\n"
               "                         a journal's version-1 segments ran under 1\n"
               "  --journal DIR          journal every command in DIR (recovering it first);\n"
               "                         events print once their command is durable; the options\n"
               "                         below set how the journal works and need --journal\n"
               "  --fsync POLICY         batch (default), always, interval=<ms>, none\n"
               "  --snapshot-every N     snapshot every N commands\n"
               "  --snapshot-secs S      snapshot every S seconds\n"
               "  --keep-snapshots K     snapshots kept (default 2)\n"
               "  --keep-all-segments    delete old snapshots only, never a segment\n"
               "  --segment-bytes B      journal segment size (default 67108864)\n"
               "  --batch-max N          commands per journal batch at most (default 4096)\n"
               "Exit status: 0 done, 1 I/O or journal failure, 2 bad usage or a malformed line.\n");
}

/* The capacity and journal flags stand for config keys (docs/config.md):
 * read as those keys are, with their ranges and errors, so that replay
 * runs what `serve` could. */
static const struct {
    const char *flag, *key;
} as_key[] = {{"--max-orders", "engine.max_orders"},           {"--max-levels", "engine.max_levels"},
              {"--max-instruments", "engine.max_instruments"}, {"--snapshot-secs", "journal.snapshot_secs"},
              {"--keep-snapshots", "journal.keep_snapshots"},  {"--batch-max", "journal.batch_max"},
              {"--snapshot-every", "journal.snapshot_every"},  {"--segment-bytes", "journal.segment_bytes"}};

/* Flag a's place in as_key, or -1. */
static int key_flag(const char *a)
{
    for (size_t k = 0; k < sizeof as_key / sizeof as_key[0]; k++)
        if (strcmp(a, as_key[k].flag) == 0)
            return (int)k;
    return -1;
}

/* Is a one of the options that set how the journal works (--fsync,
 * --keep-all-segments, and the flags of journal.* keys)? */
static int journal_only(const char *a)
{
    int k = key_flag(a);
    return strcmp(a, "--fsync") == 0 || strcmp(a, "--keep-all-segments") == 0 ||
           (k >= 0 && strncmp(as_key[k].key, "journal.", 8) == 0);
}

/* as_key[k]'s flag with its value v, into o: 0, or -1 said why. */
static int set_as_key(opts_t *o, int k, const char *v)
{
    static xt_server_config_t c; /* (large) only its engine and journal settings are used */
    char why[512];
    c.engine = o->ecfg;
    c.journal = o->jcfg;
    if (!v || xt_config_set(&c, as_key[k].key, v, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading replay: %s: %s\n", as_key[k].flag, v ? why : "needs a value");
        return -1;
    }
    o->ecfg = c.engine;
    o->jcfg = c.journal;
    return 0;
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = key_flag(a);
        if (!o->journal_opt && journal_only(a))
            o->journal_opt = a;
        if (strcmp(a, "--book") == 0)
            o->book = 1;
        else if (strcmp(a, "--seq") == 0)
            o->seq_prefix = 1;
        else if (strcmp(a, "--hash") == 0)
            o->print_hash = 1;
        else if (strcmp(a, "--keep-all-segments") == 0) /* journal.keep_all_segments */
            o->jcfg.keep_all_segments = 1;
        else if (xt_cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (k >= 0) {
            if (set_as_key(o, k, v) != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--rules") == 0) {
            unsigned rules = 0;
            if (!xt_cli_parse_u32(a, v, &rules))
                return 2;
            if (rules < XT_RULES_1 || rules > XT_RULES_CURRENT) {
                fprintf(stderr, "xtrading replay: --rules wants a matching-rule revision from %d to %d, got %u\n",
                        XT_RULES_1, XT_RULES_CURRENT, rules);
                return 2;
            }
            o->ecfg.rules = (uint8_t)rules;
            i++;
        } else if (strcmp(a, "--journal") == 0) {
            if (!v || !*v) {
                fprintf(stderr, "xtrading replay: --journal needs a directory\n");
                return 2;
            }
            o->journal = v;
            i++;
        } else if (strcmp(a, "--fsync") == 0) {
            if (!v || xt_fsync_policy_parse(v, &o->jcfg) != 0) {
                fprintf(stderr,
                        "xtrading replay: --fsync wants batch, always, interval=<ms> (1..60000) or none, got '%s'\n",
                        v ? v : "");
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "xtrading replay: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (o->path) {
            fprintf(stderr, "xtrading replay: more than one FILE\n");
            return 2;
        } else
            o->path = a;
    }
    if (o->journal_opt && !o->journal) { /* there is no journal for it to set: a mistake, not a no-op */
        fprintf(stderr, "xtrading replay: %s needs --journal DIR (it sets how the journal works)\n", o->journal_opt);
        return 2;
    }
    return -1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the run ---- */

typedef struct run {
    xt_engine_t e;
    xt_journal_t j;
    int journaled;
    output_t out;
    uint64_t seq; /* without a journal */
    int sigfd;    /* with a journal: SIGINT, SIGTERM, SIGUSR1; else -1 */
    int stop;     /* SIGINT or SIGTERM seen */
} run_t;

/* ---- signals and idle time (with a journal) ---- */

/* The signals are blocked and read from a signalfd, at batch ends and
 * while waiting for input: a stop is never half-way through a batch. */
static int signals_open(run_t *r)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return r->sigfd < 0 ? -1 : 0;
}

/* Handles pending signals. Returns 0, or 1 if the journal failed. */
static int signals_take(run_t *r)
{
    struct signalfd_siginfo si;
    while (r->sigfd >= 0 && read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo != SIGUSR1) {
            r->stop = 1;
            continue;
        }
        fprintf(stderr, "xtrading replay: snapshot requested at sequence %llu\n",
                (unsigned long long)(r->j.wal.next_seq - 1));
        if (xt_journal_snapshot(&r->j, mono_ns()) == XT_EFAILED)
            return 1;
    }
    return 0;
}

/* How long the input may stay idle before the journal's timers need a
 * tick, in ms (-1: never). */
static int tick_ms(const xt_journal_config_t *c)
{
    int ms = -1;
    if (c->fsync == XT_FSYNC_INTERVAL)
        ms = c->interval_ms ? (int)c->interval_ms : 1;
    if (c->snapshot_secs && (ms < 0 || ms > 1000))
        ms = 1000;
    return ms;
}

/* Waits until input can be read, ticking the journal and taking signals
 * meanwhile. Returns 0 (read on), 1 (the journal failed) or 2 (stop). */
static int wait_input(run_t *r, input_t *in)
{
    while (in->pos == in->len && !in->eof) {
        if (signals_take(r))
            return 1;
        if (r->stop)
            return 2;
        struct pollfd p[2] = {{in->fd, POLLIN, 0}, {r->sigfd, POLLIN, 0}};
        int n = poll(p, 2, tick_ms(&r->j.cfg));
        if (n < 0 && errno != EINTR)
            return 0; /* let the read report it */
        if (n > 0 && p[0].revents)
            return 0;
        if (xt_journal_tick(&r->j, mono_ns()) == XT_EFAILED)
            return 1;
    }
    return 0;
}

/* Applies one parsed line. Returns 0, or an error with err filled. */
static int apply_line(run_t *r, const char *line, size_t len, unsigned long lineno, char *err)
{
    if (!r->journaled)
        return xt_replay_apply_line(&r->e, line, len, &r->seq, (int64_t)lineno, err);
    xt_cmd_t cmd;
    int kind;
    int rc = xt_replay_line_cmd(&r->e, line, len, &cmd, &kind, err);
    if (rc || kind == XT_RL_BLANK)
        return rc;
    cmd.ts = wall_ns();
    rc = xt_journal_submit(&r->j, &cmd, mono_ns());
    if (rc == XT_EFAILED)
        snprintf(err, XT_REPLAY_ERRSZ, "journal failed: %s", xt_journal_failed(&r->j));
    else if (rc)
        snprintf(err, XT_REPLAY_ERRSZ, "%s", xt_replay_apply_error(kind, rc));
    return rc;
}

/* Ends a batch: with a journal, commit it first; then release its output.
 * Returns 0 or 1 (journal failed). */
static int end_batch(run_t *r)
{
    if (r->journaled && xt_journal_commit(&r->j, mono_ns()) != 0) {
        r->out.len = 0; /* never released */
        fprintf(stderr, "xtrading replay: journal failed: %s\n", xt_journal_failed(&r->j));
        return 1;
    }
    release(&r->out);
    return 0;
}

/* Reports a journal failure found while idle. */
static int journal_failed(run_t *r)
{
    fprintf(stderr, "xtrading replay: journal failed: %s\n", xt_journal_failed(&r->j));
    return 1;
}

static int feed(run_t *r, input_t *in)
{
    static char line[XT_REPLAY_MAX_LINE];
    unsigned long lineno = 0;
    ssize_t len;
    for (;;) {
        if (r->journaled) {
            int w = wait_input(r, in);
            if (w == 1)
                return journal_failed(r);
            if (w == 2)
                break;
        }
        /* with a journal, never block with a batch open: commit it first */
        if ((len = input_line(in, line, !r->journaled)) == -1)
            break;
        if (len == -4) {
            if (r->j.batch_n > 0 && end_batch(r))
                return 1;
            continue;
        }
        lineno++;
        char err[XT_REPLAY_ERRSZ];
        int rc = 0;
        if (len == -3) {
            fprintf(stderr, "xtrading replay: %s: read error: %s\n", in->name, strerror(in->err));
            end_batch(r);
            return 1;
        }
        if (len == -2) {
            snprintf(err, sizeof err, "line longer than %d bytes", XT_REPLAY_MAX_LINE);
            rc = XT_EPARSE;
        } else
            rc = apply_line(r, line, (size_t)len, lineno, err);
        if (rc) {
            int failed = rc == XT_EFAILED;
            if (end_batch(r) || failed)
                return 1;
            fprintf(stderr, "line %lu: %s\n", lineno, err);
            return 2;
        }
        int64_t now = mono_ns();
        if (!r->journaled) {
            if (r->out.len >= (1u << 16) && end_batch(r))
                return 1;
        } else if (xt_journal_commit_due(&r->j, now) || input_drained(in)) {
            if (end_batch(r))
                return 1;
            if (signals_take(r))
                return journal_failed(r);
            if (r->stop)
                break;
        }
    }
    if (r->stop)
        fprintf(stderr, "xtrading replay: stopped by a signal after sequence %llu\n",
                (unsigned long long)(r->j.wal.next_seq - 1));
    return end_batch(r);
}

static int open_journal(run_t *r, const opts_t *o)
{
    int rc = xt_journal_open(&r->j, o->journal, &o->jcfg, NULL, &o->ecfg, discard, NULL, &r->e, mono_ns());
    if (rc) {
        fprintf(stderr, "xtrading replay: cannot recover %s: %s\n", o->journal,
                r->j.recovery.why[0] ? r->j.recovery.why : xt_strerror(rc));
        return rc == XT_EINVAL ? 2 : 1;
    }
    const xt_recovery_t *rec = &r->j.recovery;
    if (rec->snapshot_ext_bytes || rec->origins) {
        /* A server's: its sessions live in its snapshots (an extension
         * this tool does not keep) and its journal's origins. A snapshot
         * written here - at the stop, with records after the server's last
         * one - would be the one its next start recovers from: every
         * session lost, with its resume window and its client order ids. */
        fprintf(stderr,
                "xtrading replay: %s is a server's data directory (%s): a snapshot written here would lose the "
                "server's sessions; run 'xtrading serve' on it, and read it with 'xtrading journal verify', "
                "'stats' or 'dump'\n",
                o->journal,
                rec->snapshot_ext_bytes ? "its snapshot holds the server's sessions"
                                        : "its journal holds commands of the server's sessions");
        r->j.cfg.no_snapshot_on_close = 1;
        xt_journal_close(&r->j, mono_ns());
        xt_engine_destroy(&r->e);
        return 1;
    }
    if (rec->snapshots_bad)
        fprintf(stderr,
                "xtrading replay: warning: %u newer snapshot(s) did not load (the newest: %s)%s; "
                "recovered from %s %llu; %u set aside as NAME.bad\n",
                rec->snapshots_bad, rec->snapshot_why,
                rec->set_aside < rec->snapshots_bad ? " (see 'xtrading journal stats')" : "",
                rec->snapshot_seq ? "snapshot" : "the journal's start",
                (unsigned long long)(rec->snapshot_seq ? rec->snapshot_seq : 1), rec->set_aside);
    if (rec->skipped_records)
        fprintf(stderr,
                "xtrading replay: warning: read past %llu damaged record(s) before snapshot %llu (%lld bytes at %s "
                "offset %lld): the snapshot holds their effect\n",
                (unsigned long long)rec->skipped_records, (unsigned long long)rec->snapshot_seq,
                (long long)rec->skipped_bytes, rec->skipped_path, (long long)rec->skipped_offset);
    if (rec->tail_cut)
        fprintf(stderr, "xtrading replay: warning: cut a torn tail of %lld bytes: %s\n", (long long)rec->tail_bytes,
                rec->why);
    xt_engine_set_sink(&r->e, on_events, &r->out);
    r->journaled = 1;
    return 0;
}

int xt_cmd_replay(int argc, char **argv)
{
    opts_t o;
    memset(&o, 0, sizeof o);
    xt_engine_config_default(&o.ecfg);
    o.ecfg.no_book_events = 1;
    xt_journal_config_default(&o.jcfg);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;

    input_t *in = calloc(1, sizeof *in);
    run_t *r = calloc(1, sizeof *r);
    if (!in || !r) {
        fprintf(stderr, "xtrading replay: out of memory\n");
        free(in);
        free(r);
        return 1;
    }
    in->fd = 0;
    in->name = o.path && strcmp(o.path, "-") != 0 ? o.path : "standard input";
    /* With a journal, a FIFO's open does not wait for its writer: SIGTERM
     * stops the run cleanly meanwhile (signals are taken while waiting for
     * input, which waits for the writer instead). */
    int flags = O_RDONLY | O_CLOEXEC | (o.journal ? O_NONBLOCK : 0);
    if (o.path && strcmp(o.path, "-") != 0 && (in->fd = open(o.path, flags)) < 0) {
        fprintf(stderr, "xtrading replay: %s: %s\n", o.path, strerror(errno));
        free(in);
        free(r);
        return 1;
    }
    r->out.e = &r->e;
    r->out.seq_prefix = o.seq_prefix;
    r->sigfd = -1;
    int status;
    if (o.journal && signals_open(r) != 0) {
        fprintf(stderr, "xtrading replay: cannot set up signals: %s\n", strerror(errno));
        status = 1;
    } else if (o.journal)
        status = open_journal(r, &o);
    else if ((rc = xt_engine_init(&r->e, &o.ecfg, on_events, &r->out)) != 0) {
        fprintf(stderr, "xtrading replay: cannot create the engine: %s\n", xt_strerror(rc));
        status = rc == XT_EINVAL ? 2 : 1;
    } else
        status = 0;
    if (status == 0) {
        status = feed(r, in);
        if (status == 0 && o.book) {
            xt_replay_write_books(&r->e, write_out, &r->out);
            release(&r->out);
        }
        if (status == 0 && o.print_hash) {
            xt_engine_stats_t st;
            xt_engine_stats(&r->e, &st);
            printf("HASH %llu %016llx\n", (unsigned long long)st.last_seq,
                   (unsigned long long)xt_engine_state_hash(&r->e));
        }
        if (r->journaled && xt_journal_close(&r->j, mono_ns()) != 0 && status == 0) {
            fprintf(stderr, "xtrading replay: journal failed at close: %s\n", xt_journal_failed(&r->j));
            status = 1;
        }
        if (fflush(stdout) != 0 || r->out.failed) {
            fprintf(stderr, "xtrading replay: write error: %s\n", strerror(errno));
            if (status == 0)
                status = 1;
        }
        xt_engine_destroy(&r->e);
    }
    if (in->fd > 0)
        close(in->fd);
    if (r->sigfd >= 0)
        close(r->sigfd);
    free(r->out.held);
    free(in);
    free(r);
    return status;
}
