/* cmd_replay.c - `xtrading replay [--book] [FILE]`: drives the engine from a
 * replay-format command file and prints its events (docs/replay-format.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "proto/replay.h"
#include "xt/error.h"
#include "xt/xt.h"

typedef struct replay_out {
    FILE *f;
    const xt_engine_t *e;
    int failed; /* a write to stdout failed */
} replay_out_t;

static void on_events(void *ctx, const xt_event_batch_t *b)
{
    replay_out_t *out = ctx;
    char line[XT_REPLAY_LINESZ];
    for (uint32_t i = 0; i < b->n; i++) {
        size_t n = xt_replay_format_event(out->e, &b->events[i], line);
        if (n && fwrite(line, 1, n, out->f) != n)
            out->failed = 1;
    }
}

static void write_out(void *ctx, const char *p, size_t n)
{
    replay_out_t *out = ctx;
    if (fwrite(p, 1, n, out->f) != n)
        out->failed = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading replay [--book] [--max-orders N] [--max-levels N] [--max-instruments N] [FILE]\n"
               "Reads commands from FILE (stdin if none or '-') and prints the engine's events.\n"
               "  --book               print the final books after the last command\n"
               "  --max-orders N       resting-order capacity (default 1048576)\n"
               "  --max-levels N       price-level capacity (default 262144)\n"
               "  --max-instruments N  instrument capacity (default 1024)\n"
               "Exit status: 0 done, 1 I/O error, 2 bad usage or a malformed line.\n");
}

/* Parses the options into cfg/book/path. Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, xt_engine_config_t *cfg, int *book, const char **path)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned *target = NULL;
        if (strcmp(a, "--book") == 0)
            *book = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--max-orders") == 0)
            target = &cfg->max_orders;
        else if (strcmp(a, "--max-levels") == 0)
            target = &cfg->max_levels;
        else if (strcmp(a, "--max-instruments") == 0)
            target = &cfg->max_instruments;
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "xtrading replay: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (*path) {
            fprintf(stderr, "xtrading replay: more than one FILE\n");
            return 2;
        } else
            *path = a;
        if (target) {
            if (!xt_cli_parse_u32(a, i + 1 < argc ? argv[i + 1] : NULL, target))
                return 2;
            i++;
        }
    }
    return -1;
}

/* Reads one line without its '\n' into buf (XT_REPLAY_MAX_LINE bytes).
 * Returns its length, -1 at the end of the input, -2 if it is longer than
 * the buffer (the input is not read further: the run stops there). */
static ssize_t read_line(FILE *in, char *buf)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(in)) != EOF && c != '\n') {
        if (n == XT_REPLAY_MAX_LINE)
            return -2;
        buf[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return -1;
    return (ssize_t)n;
}

/* Feeds every line of `in` to the engine. Returns the exit status. */
static int run(xt_engine_t *e, FILE *in)
{
    static char line[XT_REPLAY_MAX_LINE];
    ssize_t len;
    unsigned long lineno = 0;
    uint64_t seq = 0;
    int status = 0;
    while ((len = read_line(in, line)) != -1) {
        lineno++;
        char err[XT_REPLAY_ERRSZ];
        if (len == -2)
            snprintf(err, sizeof err, "line longer than %d bytes", XT_REPLAY_MAX_LINE);
        if (len == -2 || xt_replay_apply_line(e, line, (size_t)len, &seq, (int64_t)lineno, err) != 0) {
            fflush(stdout);
            fprintf(stderr, "line %lu: %s\n", lineno, err);
            status = 2;
            break;
        }
    }
    if (status == 0 && ferror(in)) {
        fprintf(stderr, "xtrading replay: read error: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

int xt_cmd_replay(int argc, char **argv)
{
    int book = 0;
    const char *path = NULL;
    xt_engine_config_t cfg;
    xt_engine_config_default(&cfg);
    cfg.no_book_events = 1;
    int rc = parse_args(argc, argv, &cfg, &book, &path);
    if (rc >= 0)
        return rc;

    FILE *in = stdin;
    if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "r"))) {
        fprintf(stderr, "xtrading replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    replay_out_t out = {stdout, NULL, 0};
    xt_engine_t e;
    if ((rc = xt_engine_init(&e, &cfg, on_events, &out)) != 0) {
        fprintf(stderr, "xtrading replay: cannot create the engine: %s\n", xt_strerror(rc));
        if (in != stdin)
            fclose(in);
        return rc == XT_EINVAL ? 2 : 1;
    }
    out.e = &e;
    int status = run(&e, in);
    if (status == 0 && book)
        xt_replay_write_books(&e, write_out, &out);
    if (fflush(stdout) != 0 || out.failed) {
        fprintf(stderr, "xtrading replay: write error: %s\n", strerror(errno));
        if (status == 0)
            status = 1;
    }
    if (in != stdin)
        fclose(in);
    xt_engine_destroy(&e);
    return status;
}
