/* cmd_md.c - `xtrading md rebuild|dump`: the K-line history files
 * (docs/kline-history.md). rebuild regenerates them from a data
 * directory's journal; dump prints one file as text. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "journal/dir.h"
#include "journal/io.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/kline_rebuild.h"
#include "server/kline_store.h"
#include "xt/decimal.h"
#include "xt/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading md rebuild DIR [--config FILE] [--out DIR] [--until now|last|NS]\n"
               "       xtrading md dump FILE [--limit N | --tail N] [--raw]\n"
               "\n"
               "rebuild  replays the journal in data directory DIR (serve's --data) from its first\n"
               "         record and rewrites the K-line history files of every instrument it defines,\n"
               "         each atomically. --config: the instruments' tz (and md.history_dir); without\n"
               "         it the tz in the existing files, else UTC. --out: write there instead of the\n"
               "         server's history directory (DIR/klines); without --out DIR must not be in use.\n"
               "         --until: candles close up to now (default: what the server's clock closed),\n"
               "         the last record's time (last), or NS ns since the epoch.\n"
               "dump     prints a history file: a header comment, then one candle per line:\n"
               "         open time (the file's tz), open, high, low, close, volume, turnover, trades.\n"
               "         --raw: open time in ns and integer ticks, lots, tick x lot units.\n"
               "         --limit N: the first N records; --tail N: the last N.\n"
               "Exit status: 0 done, 1 failure (or a bad record found by dump), 2 bad usage.\n");
}

/* ---- formatting ------------------------------------------------------------------ */

static void fmt_time(char *out, size_t cap, int64_t ns, int32_t tz)
{
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        s--;
        frac += 1000000000;
    }
    time_t t = (time_t)(s + tz);
    struct tm tm;
    char zone[16];
    xt_config_format_tz(zone, sizeof zone, tz, "Z");
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, cap, "%lld", (long long)ns);
        return;
    }
    size_t k = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac)
        k += (size_t)snprintf(out + k, cap - k, ".%09lld", (long long)frac);
    snprintf(out + k, cap - k, "%s", zone);
}

static void print_candle(const xt_md_candle_t *c, const xt_kl_header_t *h, int raw)
{
    char t[64], o[XT_DECIMAL_BUFSZ], hi[XT_DECIMAL_BUFSZ], lo[XT_DECIMAL_BUFSZ], cl[XT_DECIMAL_BUFSZ],
        v[XT_DECIMAL_BUFSZ], to[XT_PRODUCT_BUFSZ];
    if (raw) {
        xt_i128_format(c->turnover, 0, to);
        printf("%lld %lld %lld %lld %lld %lld %s %u\n", (long long)c->open_time, (long long)c->open, (long long)c->high,
               (long long)c->low, (long long)c->close, (long long)c->volume, to, c->trades);
        return;
    }
    fmt_time(t, sizeof t, c->open_time, h->tz_offset_s);
    xt_units_format(c->open, h->tick, o);
    xt_units_format(c->high, h->tick, hi);
    xt_units_format(c->low, h->tick, lo);
    xt_units_format(c->close, h->tick, cl);
    xt_units_format(c->volume, h->lot, v);
    xt_i128_mul_format(c->turnover, (__int128)h->tick.m * h->lot.m, (unsigned)h->tick.scale + h->lot.scale, to);
    printf("%s %s %s %s %s %s %s %u\n", t, o, hi, lo, cl, v, to, c->trades);
}

/* ---- dump ------------------------------------------------------------------------ */

typedef struct dump_opts {
    const char *path;
    uint64_t limit, tail;
    int raw;
} dump_opts_t;

static void print_header(const dump_opts_t *o, const xt_kl_header_t *h, uint64_t n)
{
    char tick[XT_DECIMAL_BUFSZ], lot[XT_DECIMAL_BUFSZ], tz[16];
    xt_decimal_format(h->tick, tick);
    xt_decimal_format(h->lot, lot);
    xt_config_format_tz(tz, sizeof tz, h->tz_offset_s, "UTC");
    printf("# %s %s tz %s tick %s lot %s: %llu records\n", h->symbol, xt_kline_interval_name(h->interval), tz, tick,
           lot, (unsigned long long)n);
    printf("# %s open high low close volume turnover trades\n", o->raw ? "open_time_ns" : "open_time");
}

/* The records [from, to) of f. Returns 0, or 1 after a bad record. */
static int dump_records(FILE *f, const xt_kl_header_t *h, uint64_t from, uint64_t to, int raw)
{
    int status = 0;
    int64_t prev = INT64_MIN;
    uint8_t r[XT_KL_RECORD_SIZE];
    if (fseeko(f, (off_t)(XT_KL_HEADER_SIZE + from * XT_KL_RECORD_SIZE), SEEK_SET) != 0)
        return 1;
    for (uint64_t i = from; i < to; i++) {
        xt_md_candle_t c;
        if (fread(r, 1, sizeof r, f) != sizeof r) {
            printf("# record %llu: cannot be read\n", (unsigned long long)i);
            return 1;
        }
        if (xt_kl_record_decode(r, &c) != 0) {
            printf("# record %llu: bad checksum\n", (unsigned long long)i);
            status = 1;
            continue;
        }
        if (i > from && c.open_time <= prev) {
            printf("# record %llu: open time not after the previous record's\n", (unsigned long long)i);
            status = 1;
        }
        prev = c.open_time;
        print_candle(&c, h, raw);
    }
    return status;
}

static int dump(const dump_opts_t *o)
{
    int fd = xt_open_regular(o->path, O_RDONLY, 0); /* a FIFO is refused, not read for ever */
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    uint8_t raw[XT_KL_HEADER_SIZE];
    struct stat sb;
    xt_kl_header_t h;
    char why[160] = "";
    if (fd >= 0 && f == NULL)
        close(fd);
    if (f == NULL || fstat(fileno(f), &sb) != 0) {
        fprintf(stderr, "xtrading md dump: %s: %s\n", o->path, xt_strerror(fd < 0 ? fd : -errno));
        if (f)
            fclose(f);
        return 1;
    }
    if (fread(raw, 1, sizeof raw, f) != sizeof raw || xt_kl_header_decode(raw, &h, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading md dump: %s: %s\n", o->path, why[0] ? why : "too short for a header");
        fclose(f);
        return 1;
    }
    uint64_t body = (uint64_t)sb.st_size - XT_KL_HEADER_SIZE, n = body / XT_KL_RECORD_SIZE;
    uint64_t from = o->tail && o->tail < n ? n - o->tail : 0, to = o->limit && o->limit < n ? o->limit : n;
    print_header(o, &h, n);
    int status = dump_records(f, &h, from, to, o->raw);
    if (body % XT_KL_RECORD_SIZE)
        printf("# %llu bytes of a torn record at the end (the server cuts them when it opens the file)\n",
               (unsigned long long)(body % XT_KL_RECORD_SIZE));
    fclose(f);
    if (fflush(stdout) != 0)
        status = 1;
    return status;
}

static int cmd_dump(int argc, char **argv)
{
    dump_opts_t o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--raw") == 0)
            o.raw = 1;
        else if (xt_cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--limit") == 0 || strcmp(a, "--tail") == 0) {
            if (!xt_cli_parse_u64(a, i + 1 < argc ? argv[i + 1] : NULL, a[2] == 'l' ? &o.limit : &o.tail))
                return 2;
            i++;
        } else if (a[0] != '-' && o.path == NULL)
            o.path = a;
        else {
            fprintf(stderr, "xtrading md dump: unexpected '%s'\n", a);
            return 2;
        }
    }
    if (o.path == NULL || (o.limit && o.tail)) {
        fprintf(stderr, "xtrading md dump: %s\n", o.path ? "--limit and --tail do not go together" : "FILE is missing");
        usage(stderr);
        return 2;
    }
    return dump(&o);
}

/* ---- rebuild ----------------------------------------------------------------------- */

static void print_summary(const char *dir, const char *out, const xt_kl_rebuild_result_t *r, int have_cfg)
{
    char a[64], b[64];
    fmt_time(a, sizeof a, r->first_ts, 0);
    fmt_time(b, sizeof b, r->last_ts, 0);
    printf("%s: %llu journal records (1..%llu), %s .. %s\n", dir, (unsigned long long)r->records,
           (unsigned long long)r->last_seq, r->records ? a : "-", r->records ? b : "-");
    if (r->records) {
        fmt_time(a, sizeof a, r->until_ts, 0);
        printf("candles closed up to %s\n", a);
    }
    printf("instruments: %u (tz from the config: %u, from history files: %u, UTC: %u)\n", r->instruments, r->tz_config,
           r->tz_file, r->instruments - r->tz_config - r->tz_file);
    printf("candles written:");
    for (int i = 0; i < XT_KL_COUNT; i++)
        printf(" %s %llu", xt_kline_interval_name(i), (unsigned long long)r->candles[i]);
    printf("\nhistory files in %s (each rewritten atomically)\n", out);
    if (r->torn_tail)
        fprintf(stderr, "warning: the journal ends in a torn record; it was ignored (recovery cuts it)\n");
    if (r->tz_default[0])
        fprintf(stderr, "note: no tz known for %s: UTC used%s\n", r->tz_default,
                have_cfg ? " (not in the config)" : " (pass --config FILE)");
}

/* DIR's lock, when the server's own history is rewritten: a running
 * server appends to those files. Returns the fd, or -1 after a message. */
static int lock_data(const char *dir)
{
    int fd = xt_dir_lock(dir);
    if (fd == XT_ELOCKED)
        fprintf(stderr,
                "xtrading md rebuild: %s is in use (a server is running): stop it first, or write elsewhere "
                "with --out DIR\n",
                dir);
    else if (fd < 0)
        fprintf(stderr, "xtrading md rebuild: %s: %s\n", dir, fd > -10000 ? strerror(-fd) : xt_strerror(fd));
    return fd < 0 ? -1 : fd;
}

static int cmd_rebuild(int argc, char **argv)
{
    const char *dir = NULL, *cfg_path = NULL, *out = NULL;
    int64_t until = xt_now_ns();
    for (int i = 1; i < argc; i++) {
        if (xt_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc) {
            *(argv[i][2] == 'c' ? &cfg_path : &out) = argv[i + 1];
            i++;
        } else if (strcmp(argv[i], "--until") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end = NULL;
            errno = 0;
            long long ns = v[0] >= '1' && v[0] <= '9' ? strtoll(v, &end, 10) : 0;
            if (strcmp(v, "now") == 0 || strcmp(v, "last") == 0) {
                until = v[0] == 'n' ? xt_now_ns() : 0;
            } else if (end && *end == '\0' && errno == 0 && ns >= 1000000000000000000LL) {
                until = (int64_t)ns; /* from 2001-09-09 on: a time in s or ms is refused, not taken for 1970 */
            } else {
                fprintf(stderr,
                        "xtrading md rebuild: --until must be now, last or ns since the epoch (19 digits), got '%s'\n",
                        v);
                return 2;
            }
        } else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else {
            fprintf(stderr, "xtrading md rebuild: unexpected '%s'\n", argv[i]);
            return 2;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return 2;
    }
    struct stat dst; /* as xtrading journal: a DIR that is not there is a usage error */
    int bad = stat(dir, &dst) != 0 ? errno : S_ISDIR(dst.st_mode) ? 0 : ENOTDIR;
    if (bad) {
        fprintf(stderr, "xtrading md rebuild: %s: %s\n", dir, strerror(bad));
        return 2;
    }
    static xt_server_config_t cfg;
    char why[XT_CONFIG_WHY_MAX] = "", outbuf[XT_PATH_MAX];
    xt_config_defaults(&cfg);
    if (cfg_path && xt_config_load(&cfg, cfg_path, why, sizeof why) != 0) {
        fprintf(stderr, "xtrading md rebuild: %s\n", why);
        return 2;
    }
    int lock = -1;
    if (out == NULL) { /* the server's own history */
        if (cfg_path && cfg.md_history_dir[0])
            out = cfg.md_history_dir;
        snprintf(outbuf, sizeof outbuf, "%s/klines", dir);
        if ((lock = lock_data(dir)) < 0)
            return 1;
    }
    xt_kl_rebuild_opts_t o = {dir, out ? out : outbuf, cfg_path ? &cfg : NULL, until};
    xt_kl_rebuild_result_t res;
    int rc = xt_kl_rebuild(&o, &res, why, sizeof why);
    if (rc)
        fprintf(stderr, "xtrading md rebuild: %s\n", why);
    else
        print_summary(dir, o.out_dir, &res, cfg_path != NULL);
    if (lock >= 0)
        close(lock);
    return rc ? 1 : 0;
}

int xt_cmd_md(int argc, char **argv)
{
    if (argc < 2 || xt_cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "rebuild") == 0)
        return cmd_rebuild(argc - 1, argv + 1);
    if (strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc - 1, argv + 1);
    fprintf(stderr, "xtrading md: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
