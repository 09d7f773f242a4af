/* test_log.c - src/server/log.c: events formatted as logfmt and as JSON
 * (quoting and escaping of quotes, backslashes, newlines and control
 * characters; numbers and booleans bare), lines cut at the buffer with
 * truncated=true and still well formed (cut between two characters),
 * ill-formed UTF-8 written as \ufffd, the level and format names, and
 * writing to a file: appended, filtered by level, opened again after a
 * rename (logrotate); a log file that stops taking lines loses them,
 * counted and said once on stderr. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): F_SETPIPE_SZ */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/log.h"
#include "tmpdir.h"

#define TS INT64_C(1795258488123456789) /* 2026-11-21T10:54:48.123Z */

static const char *finish(xt_log_ev_t *e)
{
    xt_log_ev_finish(e);
    e->buf[e->len] = 0;
    return e->buf;
}

static void add_fields(xt_log_ev_t *e)
{
    xt_log_str(e, "plain", "127.0.0.1:9001");
    xt_log_str(e, "space", "a b");
    xt_log_str(e, "quote", "say \"hi\"");
    xt_log_str(e, "lines", "one\ntwo\r\tx\\y");
    xt_log_str(e, "ctl", "\x01=");
    xt_log_str(e, "empty", "");
    xt_log_u64(e, "n", 18446744073709551615ULL);
    xt_log_i64(e, "neg", -42);
    xt_log_bool(e, "ok", 1);
}

static void logfmt_line(void **state)
{
    (void)state;
    static xt_log_ev_t e;
    xt_log_ev_init(&e, XT_LOG_LOGFMT, TS, XT_LOG_WARN, "disk \"full\"\nsoon");
    add_fields(&e);
    assert_string_equal(finish(&e), "ts=2026-11-21T10:54:48.123Z level=warn msg=\"disk \\\"full\\\"\\nsoon\""
                                    " plain=127.0.0.1:9001 space=\"a b\" quote=\"say \\\"hi\\\"\""
                                    " lines=\"one\\ntwo\\r\\tx\\\\y\" ctl=\"\\u0001=\" empty=\"\""
                                    " n=18446744073709551615 neg=-42 ok=true\n");
}

static void json_line(void **state)
{
    (void)state;
    static xt_log_ev_t e;
    xt_log_ev_init(&e, XT_LOG_JSON, TS, XT_LOG_INFO, "ready");
    add_fields(&e);
    assert_string_equal(finish(&e), "{\"ts\":\"2026-11-21T10:54:48.123Z\",\"level\":\"info\",\"msg\":\"ready\","
                                    "\"plain\":\"127.0.0.1:9001\",\"space\":\"a b\",\"quote\":\"say \\\"hi\\\"\","
                                    "\"lines\":\"one\\ntwo\\r\\tx\\\\y\",\"ctl\":\"\\u0001=\",\"empty\":\"\","
                                    "\"n\":18446744073709551615,\"neg\":-42,\"ok\":true}\n");
}

/* A message longer than the buffer is cut inside its quotes, which are
 * closed; a field that does not fit is left out whole. */
static void truncated(void **state)
{
    (void)state;
    static char big[XT_LOG_LINE_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    for (int f = XT_LOG_LOGFMT; f <= XT_LOG_JSON; f++) {
        static xt_log_ev_t e;
        xt_log_ev_init(&e, f, TS, XT_LOG_ERROR, big);
        xt_log_str(&e, "after", "y");
        const char *s = finish(&e);
        assert_true(strlen(s) <= XT_LOG_LINE_MAX);
        const char *end = f == XT_LOG_JSON ? "xxx\",\"truncated\":true}\n" : "xxx\" truncated=true\n";
        assert_string_equal(s + strlen(s) - strlen(end), end);
        assert_null(strstr(s, "after"));
        xt_log_ev_init(&e, f, TS, XT_LOG_ERROR, "m");
        big[XT_LOG_LINE_MAX - 20] = 0;
        xt_log_str(&e, "first", "1");
        xt_log_str(&e, "long", big); /* does not fit: left out */
        big[XT_LOG_LINE_MAX - 20] = 'x';
        s = finish(&e);
        assert_non_null(strstr(s, f == XT_LOG_JSON ? "\"first\":\"1\"" : "first=1"));
        assert_null(strstr(s, "long"));
        assert_non_null(strstr(s, "truncated"));
    }
}

/* Ill-formed UTF-8 becomes \ufffd (one per longest ill-formed start) in
 * both formats, and quotes a logfmt value; well-formed UTF-8 is kept, bare
 * in logfmt. */
static void invalid_utf8(void **state)
{
    (void)state;
    static xt_log_ev_t e;
    /* a stray continuation byte, a truncated 3-byte sequence, an overlong '/', a surrogate, a 0xFF, then U+1F600 */
    const char *bad = "a\x80"
                      "b\xe2\x82"
                      "c\xc0\xaf"
                      "d\xed\xa0\x80"
                      "e\xff\xf0\x9f\x98\x80";
    const char *esc = "a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffde\\ufffd\xf0\x9f\x98\x80";
    char want[256];
    xt_log_ev_init(&e, XT_LOG_JSON, TS, XT_LOG_INFO, bad);
    xt_log_str(&e, "v", "caf\xc3\xa9");
    snprintf(want, sizeof want,
             "{\"ts\":\"2026-11-21T10:54:48.123Z\",\"level\":\"info\",\"msg\":\"%s\",\"v\":\"caf\xc3\xa9\"}\n", esc);
    assert_string_equal(finish(&e), want);
    xt_log_ev_init(&e, XT_LOG_LOGFMT, TS, XT_LOG_INFO, "m");
    xt_log_str(&e, "ok", "caf\xc3\xa9");
    xt_log_str(&e, "bad", "x\xfe");
    xt_log_str(&e, "cut", "\xe4\xb8"); /* a 3-byte sequence without its last byte */
    assert_string_equal(finish(&e), "ts=2026-11-21T10:54:48.123Z level=info msg=\"m\" ok=caf\xc3\xa9 bad=\"x\\ufffd\""
                                    " cut=\"\\ufffd\"\n");
}

/* A line cut inside a string of multi-byte characters is cut between two
 * of them: what is left is whole characters, then the closing quote. */
static void truncated_utf8(void **state)
{
    (void)state;
    static char big[XT_LOG_LINE_MAX * 2 + 1];
    for (size_t i = 0; i + 3 < sizeof big; i += 3)
        memcpy(big + i, "\xe4\xb8\xad", 3); /* U+4E2D */
    for (int f = XT_LOG_LOGFMT; f <= XT_LOG_JSON; f++) {
        static xt_log_ev_t e;
        xt_log_ev_init(&e, f, TS, XT_LOG_ERROR, big);
        const char *s = finish(&e);
        const char *end = f == XT_LOG_JSON ? "\xe4\xb8\xad\",\"truncated\":true}\n" : "\xe4\xb8\xad\" truncated=true\n";
        assert_string_equal(s + strlen(s) - strlen(end), end); /* a prefix of the message ending in a whole one */
        assert_true(strlen(s) <= XT_LOG_LINE_MAX);
    }
}

static void names(void **state)
{
    (void)state;
    assert_int_equal(xt_log_level_parse("debug"), XT_LOG_DEBUG);
    assert_int_equal(xt_log_level_parse("warn"), XT_LOG_WARN);
    assert_int_equal(xt_log_level_parse("error"), XT_LOG_ERROR);
    assert_int_equal(xt_log_level_parse("warning"), -1);
    assert_int_equal(xt_log_format_parse("json"), XT_LOG_JSON);
    assert_int_equal(xt_log_format_parse("logfmt"), XT_LOG_LOGFMT);
    assert_int_equal(xt_log_format_parse("text"), -1);
    assert_string_equal(xt_log_level_name(XT_LOG_INFO), "info");
    assert_string_equal(xt_log_format_name(XT_LOG_JSON), "json");
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void to_a_file(void **state)
{
    (void)state;
    char dir[256], path[300], moved[300];
    snprintf(dir, sizeof dir, "%s", tmpdir_make("xt-log"));
    snprintf(path, sizeof path, "%s/xt.log", dir);
    snprintf(moved, sizeof moved, "%s/xt.log.1", dir);
    FILE *f = fopen(path, "w");
    fputs("before\n", f);
    fclose(f);
    assert_int_equal(xt_log_open(XT_LOG_WARN, XT_LOG_JSON, path), 0);
    assert_false(xt_log_enabled(XT_LOG_INFO));
    xt_log(XT_LOG_INFO, "not written");
    xt_log(XT_LOG_ERROR, "written");
    const char *s = slurp(path);
    assert_int_equal(strncmp(s, "before\n{\"ts\":\"", 14), 0);
    assert_non_null(strstr(s, "\"level\":\"error\",\"msg\":\"written\"}\n"));
    assert_null(strstr(s, "not written"));
    assert_int_equal(rename(path, moved), 0); /* logrotate */
    assert_int_equal(xt_log_reopen(), 0);
    xt_log(XT_LOG_WARN, "new file");
    assert_non_null(strstr(slurp(path), "\"msg\":\"new file\""));
    assert_null(strstr(slurp(moved), "new file"));
    xt_log_close();
    assert_true(xt_log_enabled(XT_LOG_INFO));
    assert_int_equal(xt_log_open(XT_LOG_INFO, XT_LOG_LOGFMT, "/nonexistent-dir/xt.log"), -2); /* -ENOENT */
    tmpdir_remove(dir);
}

/* A line the file-size limit cuts short (SIGXFSZ ignored, as main.c
 * does: the write is short, then fails EFBIG) is counted lost, and the
 * next line written starts on a line of its own: it was joined to the
 * half line. */
static void cut_short_at_the_size_limit(void **state)
{
    (void)state;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s", tmpdir_make("xt-log-cut"));
    snprintf(path, sizeof path, "%s/xt.log", dir);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &old), 0);
    struct rlimit was, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = 40;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(xt_log_open(XT_LOG_INFO, XT_LOG_LOGFMT, path), 0);
    uint64_t lost = xt_log_lines_lost();
    xt_log(XT_LOG_WARN, "a line longer than the forty bytes the file may hold"); /* cut at 40 */
    xt_log(XT_LOG_WARN, "another");                                              /* nothing written */
    assert_int_equal(xt_log_lines_lost(), lost + 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    xt_log(XT_LOG_WARN, "after");
    const char *s = slurp(path);
    const char *nl = strchr(s, '\n');
    assert_non_null(nl);
    assert_int_equal(nl - s, 40); /* the half line, ended */
    assert_int_equal(strncmp(nl + 1, "ts=", 3), 0);
    assert_non_null(strstr(nl + 1, "msg=\"after\"\n"));
    xt_log_close();
    assert_int_equal(sigaction(SIGXFSZ, &old, NULL), 0);
    tmpdir_remove(dir);
}

/* Reads a pipe to its end (the disk that hung answers again). */
static void *drain(void *arg)
{
    char b[65536];
    while (read(*(int *)arg, b, sizeof b) > 0)
        ;
    return NULL;
}

/* The log file stops taking lines (a disk that hangs: here a pipe nobody
 * reads put in the file's place): callers go on, the writer's 256 KiB queue
 * fills, and the lines that find it full are lost - counted, and said once
 * on stderr, as a failed write is (they were counted without a word). */
static void a_full_queue_is_told(void **state)
{
    (void)state;
    char dir[256], path[300], errpath[300], link[64], target[300];
    snprintf(dir, sizeof dir, "%s", tmpdir_make("xt-log-full"));
    snprintf(path, sizeof path, "%s/xt.log", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    assert_int_equal(xt_log_open(XT_LOG_INFO, XT_LOG_LOGFMT, path), 0);
    int logfd = -1; /* the log's descriptor: the one open on path */
    for (int fd = 3; fd < 1024 && logfd < 0; fd++) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0 && (target[n] = 0, strcmp(target, path) == 0))
            logfd = fd;
    }
    assert_true(logfd >= 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    assert_int_equal(dup2(p[1], logfd), logfd);
    close(p[1]);
    int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(2);
    assert_true(err >= 0 && saved >= 0);
    dup2(err, 2);
    assert_int_equal(xt_log_start_writer(NULL, NULL), 0);
    uint64_t lost = xt_log_lines_lost();
    for (int i = 0; i < 4000; i++) /* ~100 bytes each: past the pipe and the queue */
        xt_log(XT_LOG_WARN, "a line of a log whose file hangs, one of four thousand, padded to about a hundred");
    uint64_t now_lost = xt_log_lines_lost();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain, &p[0]), 0);
    xt_log_stop_writer(); /* writes what the queue holds, once the "disk" takes it */
    xt_log_close();       /* (closes logfd: the pipe's end, and so the drain's) */
    pthread_join(t, NULL);
    close(p[0]);
    dup2(saved, 2);
    close(saved);
    close(err);
    assert_true(now_lost > lost);
    const char *s = slurp(errpath);
    const char *told = strstr(s, "the log writer's queue is full");
    assert_non_null(told);
    assert_null(strstr(told + 1, "the log writer's queue is full")); /* once for the run of them */
    assert_non_null(strstr(s, "xt_log_lines_lost_total"));
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logfmt_line),
        cmocka_unit_test(json_line),
        cmocka_unit_test(truncated),
        cmocka_unit_test(names),
        cmocka_unit_test(to_a_file),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(truncated_utf8),
        cmocka_unit_test(cut_short_at_the_size_limit),
        cmocka_unit_test(a_full_queue_is_told),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
