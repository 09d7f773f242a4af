/* rest_signed.c - the data directory's `rest-signed` file (rest_signed.h):
 * one line, the latest timestamp (milliseconds since the epoch) a signed
 * REST request could have had and been taken by the run that wrote it. */
#include "rest_signed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "journal/io.h"
#include "log.h"
#include "text_file.h"
#include "xt/error.h"

#define REST_SIGNED_MAX_BYTES 4096
#define TS_DIGITS_MAX 15 /* as the X-XT-Timestamp header's (rest_auth.h) */

/* A file there that tells nothing: the warning. */
static void not_used(const char *path, const char *why)
{
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "the REST requests the earlier run signed are not known: file not used")) {
        xt_log_str(&e, "path", path);
        xt_log_str(&e, "why", why);
        xt_log_end(&e);
    }
}

/* The file's timestamp into *ms: 1, or 0 when it holds none (logged). */
static int read_mark(FILE *f, const char *path, int64_t *ms)
{
    char buf[XT_TEXT_LINE_MAX + 1];
    const char *bad = "not one timestamp of up to 15 decimal digits";
    int got, found = 0;
    while ((got = xt_text_file_line(f, buf)) == 1) {
        size_t n = strcspn(buf, "\r\n");
        if (n == 0 || buf[0] == '#')
            continue;
        int64_t v = 0;
        size_t k = 0;
        while (k < n && k < TS_DIGITS_MAX && buf[k] >= '0' && buf[k] <= '9')
            v = v * 10 + (buf[k++] - '0');
        if (found || k == 0 || k != n) {
            found = 0;
            break;
        }
        *ms = v;
        found = 1;
    }
    if (got < 0)
        bad = xt_text_file_error(got);
    if (got == 0 && found)
        return 1;
    not_used(path, bad);
    return 0;
}

int xt_rest_signed_load(const char *dir, int have_run, int64_t now_ms, uint32_t window_ms, xt_replay_cache_t *rc,
                        char *why, size_t whylen)
{
    xt_io_t *io = &xt_io_posix;
    char path[XT_CONFIG_PATH_MAX + sizeof "/" XT_REST_SIGNED_FILE];
    snprintf(path, sizeof path, "%s/%s", dir, XT_REST_SIGNED_FILE);
    char open_why[512];
    FILE *f = xt_text_file_open(path, REST_SIGNED_MAX_BYTES, open_why, sizeof open_why);
    int there = f != NULL || errno != ENOENT;
    int64_t ms = 0;
    int known = 0;
    if (f != NULL) {
        known = read_mark(f, path, &ms);
        fclose(f);
    } else if (there) {
        not_used(path, open_why);
    }
    if (known) {
        rc->earlier_run_until_ms = ms;
    } else if (have_run || there) {
        rc->earlier_run_until_ms = now_ms + (int64_t)window_ms;
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_INFO,
                         "signed REST requests refused for rest.recv_window_ms: the earlier run's are not known")) {
            xt_log_u64(&e, "recv_window_ms", window_ms);
            xt_log_end(&e);
        }
    }
    if (!there)
        return 0;
    int rc_io = io->unlink(io, path);
    if (rc_io == 0 || rc_io == -ENOENT)
        rc_io = xt_io_sync_dir(io, dir);
    if (rc_io != 0) {
        snprintf(why, whylen, "%s: cannot remove it (a clean stop's, which a later start must not believe): %s", path,
                 xt_strerror(rc_io));
        return -1;
    }
    return 0;
}

void xt_rest_signed_save(const char *dir, const xt_replay_cache_t *rc)
{
    int64_t ms = rc->earlier_run_until_ms > rc->latest_taken_ms ? rc->earlier_run_until_ms : rc->latest_taken_ms;
    if (ms < 0)
        ms = 0;
    char text[256];
    int n = snprintf(text, sizeof text,
                     "# the latest timestamp (ms) of a signed REST request this run could have taken, written at "
                     "its clean stop (docs/rest.md)\n%" PRId64 "\n",
                     ms);
    int rc_io = xt_io_replace_file(&xt_io_posix, dir, XT_REST_SIGNED_FILE, text, (size_t)n);
    xt_log_ev_t e;
    if (rc_io != 0 && xt_log_begin(&e, XT_LOG_WARN,
                                   "cannot save the REST requests signed: the next start refuses signed requests "
                                   "for rest.recv_window_ms")) {
        xt_log_str(&e, "path", dir);
        xt_log_str(&e, "file", XT_REST_SIGNED_FILE);
        xt_log_str(&e, "why", xt_strerror(rc_io));
        xt_log_end(&e);
    }
}
