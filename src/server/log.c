/* log.c - the server's log (log.h): events formatted as logfmt or JSON
 * lines in the caller's buffer, written with one write(2) to stderr or a
 * file opened for appending - by the caller, or, once the writer thread
 * runs, by that thread from a ring the callers copy their lines into. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"      /* xt_mono_ns */
#include "journal/io.h" /* xt_open_file */
#include "md_encode.h"  /* xt_md_json_char: the one JSON escaper */
#include "xt/error.h"

#define TAIL_RESERVE 32 /* room kept for ' truncated=true' / ',"truncated":true' and the end */
/* lines waiting for the writer thread: 64 of the longest, thousands of most */
#define RING_BYTES ((size_t)256 * 1024)
/* a write(2) of the writer's this old: its file or pipe hangs, and callers no longer wait for it */
#define STUCK_NS (50 * 1000000LL)

static struct {
    _Atomic int level;
    _Atomic int format;
    int fd; /* 2, or the file (replaced in place by xt_log_reopen with dup2) */
    char path[PATH_MAX];
    _Atomic uint64_t lost;   /* lines whose write failed */
    _Atomic int failing;     /* the last write failed: said once on stderr */
    int cut;                 /* a line was cut short: the next one written ends it first (under `writing`) */
    pthread_mutex_t writing; /* one line at a time: a line cut short is ended before any other follows it */
} lg = {XT_LOG_INFO, XT_LOG_LOGFMT, 2, "", 0, 0, 0, PTHREAD_MUTEX_INITIALIZER};

/* The writer thread's ring, under lg.writing. Bytes [tail, head) (counted
 * from the start; the place is the count modulo RING_BYTES) are whole lines
 * waiting; callers only add past head, so the writer writes [tail, head)
 * without the lock. cut belongs to the writer while it runs. */
static struct {
    char buf[RING_BYTES];
    uint64_t head, tail;
    int on;                 /* lines go to the ring (the writer thread runs, and takes them) */
    int stop;               /* the writer stops once it has written every line */
    int joinable;           /* started, not joined yet */
    pthread_cond_t more;    /* a line for the writer */
    pthread_cond_t written; /* tail moved (CLOCK_MONOTONIC, for the callers' timed waits) */
    int64_t writing_since;  /* CLOCK_MONOTONIC ns the writer's write(2) began, 0 when in none */
    pthread_t thread;
    void (*thread_start)(void *);
    void *thread_ctx;
} ring = {.more = PTHREAD_COND_INITIALIZER, .written = PTHREAD_COND_INITIALIZER};

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"logfmt", "json"};

const char *xt_log_level_name(int level)
{
    return level >= XT_LOG_DEBUG && level <= XT_LOG_ERROR ? level_names[level] : "?";
}

int xt_log_level_parse(const char *name)
{
    for (int i = XT_LOG_DEBUG; i <= XT_LOG_ERROR; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *xt_log_format_name(int format)
{
    return format == XT_LOG_JSON ? format_names[1] : format_names[0];
}

int xt_log_format_parse(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

/* A regular file or a character device (/dev/null): a FIFO would block
 * the open until a reader came (at start before the signals are set up,
 * on the gateway thread at SIGHUP), and every line while its reader is
 * away. Returns the fd, -errno or XT_ENOTFILE (a FIFO, a socket). */
static int open_file(const char *path)
{
    return xt_open_file(path, O_WRONLY | O_APPEND | O_CREAT, 0640, 1);
}

int xt_log_open(int level, int format, const char *file)
{
    int fd = 2;
    if (file && file[0]) {
        if (strlen(file) >= sizeof lg.path)
            return -ENAMETOOLONG;
        fd = open_file(file);
        if (fd < 0)
            return fd;
    }
    if (lg.fd != 2)
        close(lg.fd);
    lg.fd = fd;
    snprintf(lg.path, sizeof lg.path, "%s", fd == 2 ? "" : file);
    atomic_store(&lg.level, level);
    atomic_store(&lg.format, format);
    return 0;
}

int xt_log_reopen(void)
{
    if (lg.fd == 2)
        return 0;
    int fd = open_file(lg.path);
    if (fd < 0)
        return fd;
    int rc = dup2(fd, lg.fd) < 0 ? -errno : 0; /* the same descriptor number: writers never see it closed */
    close(fd);
    return rc;
}

void xt_log_reopen_for_sighup(void)
{
    int rc = xt_log_reopen(); /* log.file, moved away by logrotate: a new one */
    xt_log_ev_t e;
    if (rc && xt_log_begin(&e, XT_LOG_ERROR, "SIGHUP: cannot open log.file again; still writing the old one")) {
        xt_log_str(&e, "reason", xt_strerror(rc));
        xt_log_end(&e);
    }
}

void xt_log_close(void)
{
    xt_log_stop_writer();
    lg.cut = 0;
    atomic_store(&lg.failing, 0);
    if (lg.fd != 2)
        close(lg.fd);
    lg.fd = 2;
    lg.path[0] = 0;
    atomic_store(&lg.level, XT_LOG_INFO);
    atomic_store(&lg.format, XT_LOG_LOGFMT);
}

int xt_log_enabled(int level)
{
    return level >= atomic_load_explicit(&lg.level, memory_order_relaxed);
}

/* ---- formatting (pure) ------------------------------------------------------------ */

static void put(xt_log_ev_t *e, const char *s, size_t n)
{
    if (e->over || e->len + n > sizeof e->buf - TAIL_RESERVE) {
        e->over = 1;
        return;
    }
    memcpy(e->buf + e->len, s, n);
    e->len += n;
}

static void puts_(xt_log_ev_t *e, const char *s)
{
    put(e, s, strlen(s));
}

/* logfmt: a value is quoted when it is empty, holds a space or '=', or
 * any character the escaper changes (", \, controls, ill-formed UTF-8). */
static int needs_quotes(const char *s)
{
    if (*s == 0)
        return 1;
    for (size_t n; *s; s += n) {
        char esc[XT_JSON_CHAR_MAX];
        size_t len;
        n = xt_md_json_char(s, esc, &len);
        if (*s == ' ' || *s == '=' || len != n || memcmp(esc, s, n) != 0)
            return 1;
    }
    return 0;
}

/* One escaped character of a quoted string, keeping a byte for the
 * closing quote. */
static void put_in_quotes(xt_log_ev_t *e, const char *s, size_t n)
{
    if (e->len + n + 1 > sizeof e->buf - TAIL_RESERVE)
        e->over = 1;
    if (e->over)
        return;
    memcpy(e->buf + e->len, s, n);
    e->len += n;
}

/* s quoted and escaped by xt_md_json_char (the same for JSON and logfmt:
 * ", \, \n \r \t, other controls as \u00XX, ill-formed UTF-8 as \ufffd).
 * Cut where the buffer ends, between two characters, but always closed. */
static void put_quoted(xt_log_ev_t *e, const char *s)
{
    put(e, "\"", 1);
    if (e->over)
        return;
    for (size_t n; *s && !e->over; s += n) {
        char esc[XT_JSON_CHAR_MAX];
        size_t len;
        n = xt_md_json_char(s, esc, &len);
        put_in_quotes(e, esc, len);
    }
    e->buf[e->len++] = '"'; /* put_in_quotes kept room for it */
}

/* The separator and the key: ' key=' or ',"key":'. */
static void put_key(xt_log_ev_t *e, const char *key)
{
    if (e->format == XT_LOG_JSON) {
        put(e, ",", 1);
        put_quoted(e, key);
        put(e, ":", 1);
    } else {
        put(e, " ", 1);
        puts_(e, key);
        put(e, "=", 1);
    }
}

void xt_log_ev_init(xt_log_ev_t *e, int format, int64_t ts_ns, int level, const char *msg)
{
    e->len = 0;
    e->over = 0;
    e->format = format;
    time_t secs = (time_t)(ts_ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[64];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts_ns / 1000000 % 1000));
    if (format == XT_LOG_JSON) {
        puts_(e, "{\"ts\":\"");
        puts_(e, ts);
        puts_(e, "\",\"level\":\"");
        puts_(e, xt_log_level_name(level));
        puts_(e, "\",\"msg\":");
    } else {
        puts_(e, "ts=");
        puts_(e, ts);
        puts_(e, " level=");
        puts_(e, xt_log_level_name(level));
        puts_(e, " msg=");
    }
    put_quoted(e, msg);
}

void xt_log_str(xt_log_ev_t *e, const char *key, const char *value)
{
    size_t at = e->len;
    put_key(e, key);
    if (e->format == XT_LOG_JSON || needs_quotes(value))
        put_quoted(e, value);
    else
        puts_(e, value);
    if (e->over) /* a field is written whole or not at all */
        e->len = at;
}

static void put_number(xt_log_ev_t *e, const char *key, const char *digits)
{
    size_t at = e->len;
    put_key(e, key);
    puts_(e, digits);
    if (e->over)
        e->len = at;
}

void xt_log_u64(xt_log_ev_t *e, const char *key, uint64_t value)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)value);
    put_number(e, key, b);
}

void xt_log_i64(xt_log_ev_t *e, const char *key, int64_t value)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)value);
    put_number(e, key, b);
}

void xt_log_bool(xt_log_ev_t *e, const char *key, int value)
{
    put_number(e, key, value ? "true" : "false");
}

size_t xt_log_ev_finish(xt_log_ev_t *e)
{
    const char *tail = e->format == XT_LOG_JSON ? (e->over ? ",\"truncated\":true}\n" : "}\n")
                                                : (e->over ? " truncated=true\n" : "\n");
    size_t n = strlen(tail); /* fits: TAIL_RESERVE was kept */
    memcpy(e->buf + e->len, tail, n);
    e->len += n;
    return e->len;
}

/* ---- writing ---------------------------------------------------------------------- */

int xt_log_begin(xt_log_ev_t *e, int level, const char *msg)
{
    if (!xt_log_enabled(level))
        return 0;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    xt_log_ev_init(e, atomic_load_explicit(&lg.format, memory_order_relaxed),
                   (int64_t)t.tv_sec * 1000000000 + t.tv_nsec, level, msg);
    return 1;
}

/* n lines not written (or not whole): counted (xt_log_lines_lost_total);
 * the first failure of a run of them is told on stderr when the log is a
 * file - a full disk or the file-size limit (SIGXFSZ is ignored, main.c)
 * would otherwise lose lines without a word. */
static void lost_lines(int err, uint64_t n)
{
    atomic_fetch_add_explicit(&lg.lost, n, memory_order_relaxed);
    if (lg.fd != 2 && !atomic_exchange_explicit(&lg.failing, 1, memory_order_relaxed)) {
        errno = err;
        if (err)
            dprintf(2,
                    "xtrading: log.file %s: a write failed (%m): log lines are lost until one succeeds, counted in "
                    "xt_log_lines_lost_total\n",
                    lg.path);
        else /* the writer's queue is full: its file takes no lines (a disk that hangs) */
            dprintf(2,
                    "xtrading: log.file %s: the log writer's queue is full, its file is not taking lines: log lines "
                    "are lost until a write succeeds, counted in xt_log_lines_lost_total\n",
                    lg.path);
    }
}

/* Writes whole lines, the n bytes of v[0..cnt) (cnt <= 2), to lg.fd: after
 * a line cut short (a full disk, the file-size limit), a newline first, in
 * the same writev - so the next line is neither joined to the half one nor
 * parted from its own start. On a failure the lines not written whole are
 * lost (counted). One caller at a time: under lg.writing, or the writer
 * thread. */
static void write_lines(const struct iovec *lines, int cnt, size_t n)
{
    int cut = lg.cut, err = 0;
    struct iovec iov[3] = {{(void *)"\n", 1}};
    for (int k = 0; k < cnt; k++)
        iov[1 + k] = lines[k];
    struct iovec *v = cut ? iov : iov + 1;
    int left_iov = cnt + cut;
    size_t left = n + (size_t)cut, done = 0;
    while (left > 0) { /* one writev unless interrupted or short (a full disk) */
        ssize_t w = writev(lg.fd, v, left_iov);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)w;
        left -= (size_t)w;
        for (size_t k = (size_t)w; k > 0 && left_iov > 0;) { /* skip what was written */
            size_t take = k < v->iov_len ? k : v->iov_len;
            v->iov_base = (char *)v->iov_base + take;
            v->iov_len -= take;
            k -= take;
            if (v->iov_len == 0) {
                v++;
                left_iov--;
            }
        }
    }
    if (!err) {
        lg.cut = 0;
        if (atomic_load_explicit(&lg.failing, memory_order_relaxed)) /* (not a store per line) */
            atomic_store_explicit(&lg.failing, 0, memory_order_relaxed);
        return;
    }
    /* what is left: whole lines, and the rest of one written in part (its
     * newline among what is left too); still owed: a newline, after a part */
    size_t wrote = done > (size_t)cut ? done - (size_t)cut : 0; /* of the lines */
    uint64_t lost = 0;
    unsigned char last = '\n';
    size_t at = 0;
    for (int k = 0; k < cnt; at += lines[k].iov_len, k++)
        for (size_t b = 0; b < lines[k].iov_len; b++) {
            unsigned char ch = ((const unsigned char *)lines[k].iov_base)[b];
            if (at + b < wrote)
                last = ch;
            else
                lost += ch == '\n';
        }
    lg.cut = (cut && done == 0) || last != '\n';
    lost_lines(err, lost ? lost : 1);
}

/* Under lg.writing: waits until the writer has written the ring up to
 * byte `upto` - so that a line is in its file when the caller goes on, as
 * when callers wrote their own (an operator, a test, reading the log after
 * an event, finds it there) - unless the writer is stuck in a write(2)
 * (STUCK_NS: a disk or a pipe that hangs), which no caller waits for. Not
 * on the writer's own thread (its thread_start may log). */
static void wait_written(uint64_t upto)
{
    if (pthread_equal(pthread_self(), ring.thread))
        return;
    while (ring.on && ring.tail < upto) {
        int64_t now = xt_mono_ns();
        if (ring.writing_since && now - ring.writing_since > STUCK_NS)
            return;
        int64_t until = now + 10000000; /* then looks again whether the writer is stuck */
        struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
        pthread_cond_timedwait(&ring.written, &lg.writing, &ts);
    }
}

void xt_log_end(xt_log_ev_t *e)
{
    size_t n = xt_log_ev_finish(e);
    pthread_mutex_lock(&lg.writing);
    if (ring.on) { /* copied for the writer thread: a disk or a pipe that hangs holds no caller */
        if (RING_BYTES - (ring.head - ring.tail) >= n) {
            size_t at = (size_t)(ring.head % RING_BYTES), first = RING_BYTES - at < n ? RING_BYTES - at : n;
            memcpy(ring.buf + at, e->buf, first);
            memcpy(ring.buf, e->buf + first, n - first);
            ring.head += n;
            pthread_cond_signal(&ring.more);
            wait_written(ring.head);
        } else /* the writer is that far behind: its file or pipe is not taking lines (said once, as a failure) */
            lost_lines(0, 1);
        pthread_mutex_unlock(&lg.writing);
        return;
    }
    /* One writer at a time (log lines are few; the order path logs none). */
    struct iovec line = {e->buf, n};
    write_lines(&line, 1, n);
    pthread_mutex_unlock(&lg.writing);
}

static void *writer_main(void *arg)
{
    (void)arg;
    if (ring.thread_start)
        ring.thread_start(ring.thread_ctx);
    pthread_mutex_lock(&lg.writing);
    for (;;) {
        while (ring.head == ring.tail && !ring.stop)
            pthread_cond_wait(&ring.more, &lg.writing);
        if (ring.head == ring.tail) { /* stopped, and everything written: callers write their own again */
            ring.on = 0;
            break;
        }
        uint64_t from = ring.tail, to = ring.head;
        ring.writing_since = xt_mono_ns();
        pthread_mutex_unlock(&lg.writing);
        size_t at = (size_t)(from % RING_BYTES), n = (size_t)(to - from);
        size_t first = RING_BYTES - at < n ? RING_BYTES - at : n;
        struct iovec v[2] = {{ring.buf + at, first}, {ring.buf, n - first}};
        write_lines(v, n > first ? 2 : 1, n);
        pthread_mutex_lock(&lg.writing);
        ring.writing_since = 0;
        ring.tail = to;
        pthread_cond_broadcast(&ring.written);
    }
    pthread_mutex_unlock(&lg.writing);
    return NULL;
}

int xt_log_start_writer(void (*thread_start)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&lg.writing);
    int rc = 0;
    if (!ring.joinable) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_destroy(&ring.written);
        pthread_cond_init(&ring.written, &ca);
        pthread_condattr_destroy(&ca);
        ring.stop = 0;
        ring.thread_start = thread_start;
        ring.thread_ctx = ctx;
        rc = -pthread_create(&ring.thread, NULL, writer_main, NULL);
        ring.on = ring.joinable = rc == 0;
    }
    pthread_mutex_unlock(&lg.writing);
    return rc;
}

void xt_log_stop_writer(void)
{
    pthread_mutex_lock(&lg.writing);
    int joinable = ring.joinable;
    ring.joinable = 0;
    ring.stop = 1;
    pthread_cond_signal(&ring.more);
    pthread_mutex_unlock(&lg.writing);
    if (joinable)
        pthread_join(ring.thread, NULL);
}

uint64_t xt_log_lines_lost(void)
{
    return atomic_load_explicit(&lg.lost, memory_order_relaxed);
}

void xt_log(int level, const char *msg)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, level, msg))
        xt_log_end(&e);
}
