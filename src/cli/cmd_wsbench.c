/* cmd_wsbench.c - `xtrading wsbench`: N WebSocket market-data clients on one
 * epoll thread against `xtrading serve` (or, --nats, against nats-server's
 * WebSocket listener), measuring delivered messages/s, the latency from each
 * update's event timestamp to its receipt, errors, the slow-consumer
 * isolation of --stall, and the server's memory per connection. With
 * --nats-publish it is instead the publisher of the NATS baseline.
 *
 * Channels: --channels is a comma-separated list of names or templates with
 * {SYM}; the universe is every template for each --symbols symbol, in that
 * order (symbol-major), then the literal names. Connection i subscribes to
 * the --per-conn channels starting at universe index i * per_conn, wrapping.
 * Connections are opened --connect-window at a time (each counts until its
 * subscription is acknowledged); the run (warmup, then the measured window)
 * starts when all are done. The protocol side is wsb_conn.c. Docs:
 * docs/cli.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "wsbench.h"
#include "xt/error.h"

#define PORTS_PER_SOURCE 20000
#define MAX_CHANNELS 65536
#define FD_RESERVE 64 /* descriptors kept for stdio, epoll, /proc reads */
#define CONNECT_TIMEOUT_NS 10000000000LL
#define STALL_DRAIN_NS 10000000000LL
#define SWEEP_NS 250000000LL
#define PROGRESS_NS 5000000000LL
#define PUB_BUF ((size_t)4 * 1024 * 1024)

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = g_stop + 1; /* the first ends the run, a second skips the drain */
}

/* ---- the channel universe ---- */

static uint32_t hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t k = 0; k < n; k++)
        h = (h ^ (uint8_t)s[k]) * 16777619u;
    return h;
}

/* name[0..len) is channel ch (with its throttle suffix: the server echoes it). */
static int name_eq(const char *ch, const char *name, size_t len)
{
    return strncmp(ch, name, len) == 0 && ch[len] == '\0';
}

uint32_t wsb_channel_find(const wsb_t *b, const char *name, size_t len)
{
    for (uint32_t h = hash_name(name, len) & b->hash_mask;; h = (h + 1) & b->hash_mask) {
        uint32_t u = b->hash[h];
        if (u == WSB_NIL || name_eq(b->ch[u], name, len))
            return u;
    }
}

uint32_t wsb_channel_of(const wsb_t *b, uint32_t i, uint32_t j)
{
    return (uint32_t)(((uint64_t)i * b->o.per_conn + j) % b->n_ch);
}

static void hash_put(wsb_t *b, const char *name, size_t len, uint32_t u)
{
    uint32_t h = hash_name(name, len) & b->hash_mask;
    while (b->hash[h] != WSB_NIL) {
        if (name_eq(b->ch[b->hash[h]], name, len))
            return; /* a duplicate: the first one stays */
        h = (h + 1) & b->hash_mask;
    }
    b->hash[h] = u;
}

static int add_channel(wsb_t *b, const char *tmpl, const char *sym)
{
    const char *at = sym ? strstr(tmpl, "{SYM}") : NULL;
    char *out = b->ch[b->n_ch];
    int n = at ? snprintf(out, WSB_CH_MAX, "%.*s%s%s", (int)(at - tmpl), tmpl, sym, at + 5)
               : snprintf(out, WSB_CH_MAX, "%s", tmpl);
    if (n <= 0 || n >= WSB_CH_MAX || b->n_ch == MAX_CHANNELS || strpbrk(out, " \t\"\\{}")) {
        fprintf(stderr,
                "xtrading wsbench: bad channel '%s' (at most %d bytes, no spaces, quotes or braces; at most %d)\n", out,
                WSB_CH_MAX - 1, MAX_CHANNELS);
        return -1;
    }
    b->n_ch++;
    return 0;
}

/* Reads --symbols: a file (if one by that name exists: symbols separated by
 * white space or commas, # comments) or a comma-separated list. Returns a
 * malloc'd buffer whose tokens are NUL-separated, *count of them. */
static char *read_symbols(const char *arg, uint32_t *count)
{
    struct stat st;
    FILE *f = stat(arg, &st) == 0 && S_ISREG(st.st_mode) ? fopen(arg, "r") : NULL; /* else: the list itself */
    size_t cap = strlen(arg) + 1, len = 0;
    char *buf = NULL;
    if (f) {
        cap = (size_t)st.st_size + 1;
        buf = malloc(cap);
        len = buf ? fread(buf, 1, cap - 1, f) : 0;
        if (buf && ferror(f)) {
            fprintf(stderr, "xtrading wsbench: --symbols %s: read error\n", arg);
            free(buf);
            buf = NULL;
        }
        fclose(f);
    } else if ((buf = malloc(cap)) != NULL) {
        len = cap - 1;
        memcpy(buf, arg, len);
    }
    if (!buf)
        return NULL;
    buf[len] = '\0';
    *count = 0;
    char *w = buf;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (char *s2 = NULL, *t = strtok_r(line, ", \t\r", &s2); t; t = strtok_r(NULL, ", \t\r", &s2)) {
            size_t n = strlen(t) + 1;
            memmove(w, t, n);
            w += n;
            (*count)++;
        }
    }
    return buf;
}

/* The universe: each {SYM} template for each symbol, then the literals. */
static int build_universe(wsb_t *b)
{
    uint32_t n_sym = 0, n_tmpl = 0, n_lit = 0;
    char *syms = read_symbols(b->o.symbols, &n_sym), *tmpls = read_symbols(b->o.channels, &n_tmpl);
    int rc = -1;
    if (!syms || !tmpls)
        goto out;
    const char *t = tmpls;
    for (uint32_t k = 0; k < n_tmpl; k++, t += strlen(t) + 1)
        n_lit += strstr(t, "{SYM}") == NULL;
    uint64_t total = (uint64_t)(n_tmpl - n_lit) * n_sym + n_lit;
    if (total == 0 || total > MAX_CHANNELS) {
        fprintf(stderr, "xtrading wsbench: %llu channels (from --channels and --symbols): need 1..%d\n",
                (unsigned long long)total, MAX_CHANNELS);
        goto out;
    }
    b->ch = calloc(total, sizeof *b->ch);
    if (!b->ch)
        goto out;
    const char *s = syms;
    for (uint32_t k = 0; k < n_sym && n_tmpl > n_lit; k++, s += strlen(s) + 1) {
        t = tmpls;
        for (uint32_t m = 0; m < n_tmpl; m++, t += strlen(t) + 1)
            if (strstr(t, "{SYM}") && add_channel(b, t, s) < 0)
                goto out;
    }
    t = tmpls;
    for (uint32_t m = 0; m < n_tmpl; m++, t += strlen(t) + 1)
        if (!strstr(t, "{SYM}") && add_channel(b, t, NULL) < 0)
            goto out;
    uint32_t size = 4;
    while (size < b->n_ch * 4)
        size <<= 1;
    b->hash = malloc(size * sizeof *b->hash);
    if (!b->hash)
        goto out;
    memset(b->hash, 0xff, size * sizeof *b->hash);
    b->hash_mask = size - 1;
    for (uint32_t u = 0; u < b->n_ch; u++)
        hash_put(b, b->ch[u], strlen(b->ch[u]), u);
    if (b->o.per_conn == 0)
        b->o.per_conn = n_tmpl > n_lit ? n_tmpl - n_lit : n_lit;
    if (b->o.per_conn == 0 || b->o.per_conn > b->n_ch) {
        fprintf(stderr, "xtrading wsbench: --per-conn %u: the universe has %u channels\n", b->o.per_conn, b->n_ch);
        goto out;
    }
    rc = 0;
out:
    free(syms);
    free(tmpls);
    return rc;
}

/* ---- setup ---- */

static int resolve(const char *host, uint16_t port, struct sockaddr_in *out)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -ENOENT;
    memcpy(out, res->ai_addr, sizeof *out);
    out->sin_port = htons(port);
    freeaddrinfo(res);
    return 0;
}

static int wsb_setup(wsb_t *b)
{
    uint64_t limit = xt_cli_raise_nofile();
    if (b->o.conns + FD_RESERVE > limit) {
        uint32_t can = limit > FD_RESERVE ? (uint32_t)(limit - FD_RESERVE) : 1;
        fprintf(stderr,
                "xtrading wsbench: the open file limit (%llu, the hard limit; raising it needs root / "
                "CAP_SYS_RESOURCE: ulimit -Hn) allows %u connections, not %u: opening %u\n",
                (unsigned long long)limit, can, b->o.conns, can);
        b->o.conns = can;
    }
    b->n = b->o.conns;
    if (resolve(b->o.host, b->o.port, &b->dst) < 0) {
        fprintf(stderr, "xtrading wsbench: %s does not resolve\n", b->o.host);
        return -1;
    }
    if (b->n > PORTS_PER_SOURCE && (ntohl(b->dst.sin_addr.s_addr) >> 24) == 127) {
        uint32_t sources = (b->n + PORTS_PER_SOURCE - 1) / PORTS_PER_SOURCE;
        b->n_sources = sources > 250 ? 250 : sources;
    }
    if (build_universe(b) < 0)
        return -2; /* bad --channels / --symbols / --per-conn: usage */
    b->c = calloc(b->n, sizeof *b->c);
    b->nt = b->o.nats ? calloc(b->n, sizeof *b->nt) : NULL;
    b->rbuf = malloc(WSB_RBUF);
    b->scratch = malloc(16384);
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!b->c || (b->o.nats && !b->nt) || !b->rbuf || !b->scratch || b->ep < 0) {
        fprintf(stderr, "xtrading wsbench: out of memory\n");
        return -1;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        wsb_conn_t *c = &b->c[i];
        c->fd = -1;
        c->nt = b->nt ? &b->nt[i] : NULL;
        /* --stall f: connection i stalls when floor((i+1)f) > floor(if), so
         * round(n f) of them, spread evenly, the same in every run */
        c->stalled = (uint64_t)((double)(i + 1) * b->o.stall) > (uint64_t)((double)i * b->o.stall);
    }
    b->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)wsb_mono_ns();
    xt_hist_init(&b->st.hist);
    return 0;
}

static void wsb_teardown(wsb_t *b)
{
    for (uint32_t i = 0; b->c && i < b->n; i++)
        wsb_conn_close(b, &b->c[i], NULL);
    if (b->ep >= 0)
        close(b->ep);
    free(b->c);
    free(b->nt);
    free(b->rbuf);
    free(b->scratch);
    free(b->ch);
    free(b->hash);
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* ---- the loop ---- */

static void wait_events(wsb_t *b, int64_t until)
{
    struct epoll_event evs[1024];
    int64_t wait = until - wsb_mono_ns();
    int n = epoll_wait(b->ep, evs, 1024, wait > 0 ? (int)((wait + 999999) / 1000000) : 0);
    for (int k = 0; k < n; k++)
        wsb_conn_event(b, evs[k].data.u32, evs[k].events);
}

static void sweep_timeouts(wsb_t *b, int64_t now)
{
    for (uint32_t i = 0; i < b->next_connect; i++) {
        wsb_conn_t *c = &b->c[i];
        if (c->fd >= 0 && c->state >= CS_CONNECTING && c->state <= CS_SUBSCRIBING &&
            now - c->t_start > CONNECT_TIMEOUT_NS) {
            if (b->st.timeouts < 5)
                fprintf(stderr, "xtrading wsbench: connection %u: no subscription after 10 s\n", i);
            wsb_conn_close(b, c, &b->st.timeouts);
        }
    }
}

/* Opens every connection, --connect-window at a time, until each is
 * subscribed (or failed). */
static void connect_all(wsb_t *b)
{
    int64_t now = wsb_mono_ns(), next_sweep = now + SWEEP_NS, next_progress = now + PROGRESS_NS;
    while (!g_stop && (b->next_connect < b->n || b->inflight > 0)) {
        while (b->next_connect < b->n && b->inflight < b->o.window) {
            uint32_t i = b->next_connect++;
            int rc = wsb_conn_start(b, i);
            if (rc) {
                b->failed++;
                if (b->st.connect_failed++ < 5)
                    fprintf(stderr, "xtrading wsbench: connection %u: %s\n", i, xt_strerror(rc));
            }
        }
        wait_events(b, wsb_mono_ns() + 50000000);
        now = wsb_mono_ns();
        if (now >= next_sweep) {
            sweep_timeouts(b, now);
            next_sweep = now + SWEEP_NS;
        }
        if (now >= next_progress) {
            fprintf(stderr, "xtrading wsbench: connecting: %u of %u subscribed, %u in flight, %u failed\n",
                    b->live + (uint32_t)b->st.stalled, b->n, b->inflight, b->failed);
            next_progress = now + PROGRESS_NS;
        }
    }
}

/* The warmup and the measured window; returns the measured seconds. */
static double run(wsb_t *b)
{
    int64_t t0 = wsb_mono_ns(), t_measure = t0 + (int64_t)(b->o.warmup * 1e9);
    int64_t t_end = t_measure + (int64_t)(b->o.duration * 1e9), now = t0;
    while (!g_stop && (now = wsb_mono_ns()) < t_end) {
        b->counting = now >= t_measure;
        int64_t until = now + 100000000;
        until = !b->counting && t_measure < until ? t_measure : t_end < until ? t_end : until;
        wait_events(b, until);
    }
    b->counting = 0;
    int64_t stop = now < t_end ? now : t_end;
    return stop > t_measure ? (double)(stop - t_measure) / 1e9 : 0;
}

/* The stalled connections read again, discarding, so that a close by the
 * server (a close frame behind the unread data, or a reset) is seen. */
static void drain_stalled(wsb_t *b)
{
    uint32_t open = 0;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->c[i].fd >= 0 && (b->c[i].state == CS_STALLED || b->c[i].state == CS_DRAIN)) {
            wsb_conn_resume(b, &b->c[i]);
            open++;
        }
    int64_t end = wsb_mono_ns() + STALL_DRAIN_NS;
    while (open && g_stop < 2 && wsb_mono_ns() < end && b->st.stalled_closed < b->st.stalled)
        wait_events(b, wsb_mono_ns() + 50000000);
}

/* ---- the report ---- */

typedef struct wsb_result {
    double secs, connect_s;
    long rss_before, rss_after, rss_end;
    uint64_t fd_limit;
    uint32_t requested, subscribed, counted;
} wsb_result_t;

static uint64_t total_errors(const wsb_stats_t *st)
{
    return st->connect_failed + st->handshake_failed + st->subscribe_errors + st->timeouts + st->lost +
           st->protocol_errors + st->bad_messages + st->wrong_channel;
}

static double ms(const wsb_stats_t *st, double q)
{
    return (double)(q >= 1 ? st->hist.max : xt_hist_quantile(&st->hist, q)) / 1000.0;
}

static double per_conn_kb(const wsb_result_t *r)
{
    return r->rss_before >= 0 && r->rss_after >= 0 && r->subscribed
               ? (double)(r->rss_after - r->rss_before) / r->subscribed
               : -1;
}

static void print_closes(const uint64_t *cl)
{
    static const char *const names[CL_N] = {"1000", "1001", "1008", "1008_no_pong", "1011", "other", "eof"};
    const char *sep = "";
    printf("{");
    for (int k = 0; k < CL_N; k++)
        if (cl[k]) {
            printf("%s\"%s\": %llu", sep, names[k], (unsigned long long)cl[k]);
            sep = ", ";
        }
    printf("}");
}

static void print_json(const wsb_t *b, const wsb_result_t *r)
{
    const wsb_stats_t *st = &b->st;
    double s = r->secs > 0 ? r->secs : 1, kb = per_conn_kb(r);
    char kbs[32];
    snprintf(kbs, sizeof kbs, kb >= 0 ? "%.2f" : "null", kb);
    printf("{\"mode\": \"%s\", \"connections\": %u, \"requested\": %u, \"connected\": %u, \"fd_limit\": %llu, "
           "\"channels_per_conn\": %u, \"universe_channels\": %u, \"duration_s\": %.3f, \"warmup_s\": %.3f, "
           "\"connect_s\": %.3f, \"delivered_per_s\": %.0f, \"updates_per_s\": %.0f, \"mbytes_per_s\": %.2f, "
           "\"updates_per_sub_s\": %.3f, \"messages\": %llu, \"updates\": %llu, \"snapshots\": %llu, "
           "\"all_snapshots\": %llu, "
           "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"errors\": %llu, "
           "\"connect_failed\": %llu, \"handshake_failed\": %llu, \"subscribe_errors\": %llu, \"timeouts\": %llu, "
           "\"lost\": %llu, \"protocol_errors\": %llu, \"bad_messages\": %llu, \"wrong_channel\": %llu, "
           "\"negative_latency\": %llu, \"closed_by_server\": %llu, \"close_codes\": ",
           b->o.nats ? "nats" : "xtrading", b->n, r->requested, b->subscribed, (unsigned long long)r->fd_limit,
           b->o.per_conn, b->n_ch, r->secs, b->o.warmup, r->connect_s, (double)st->messages / s,
           (double)st->updates / s, (double)st->bytes / s / 1e6,
           r->counted ? (double)st->updates / s / ((double)r->counted * b->o.per_conn) : 0,
           (unsigned long long)st->messages, (unsigned long long)st->updates, (unsigned long long)st->snapshots,
           (unsigned long long)st->all_snapshots, ms(st, 0.5), ms(st, 0.99), ms(st, 0.999), ms(st, 1),
           (unsigned long long)total_errors(st), (unsigned long long)st->connect_failed,
           (unsigned long long)st->handshake_failed, (unsigned long long)st->subscribe_errors,
           (unsigned long long)st->timeouts, (unsigned long long)st->lost, (unsigned long long)st->protocol_errors,
           (unsigned long long)st->bad_messages, (unsigned long long)st->wrong_channel,
           (unsigned long long)st->negative_latency, (unsigned long long)st->lost);
    print_closes(st->closes);
    printf(", \"stall\": %g, \"stalled\": %llu, \"stalled_closed_by_server\": %llu, \"stalled_close_codes\": ",
           b->o.stall, (unsigned long long)st->stalled, (unsigned long long)st->stalled_closed);
    print_closes(st->stalled_closes);
    printf(", \"server_rss_before_kb\": %ld, \"server_rss_after_kb\": %ld, \"server_rss_end_kb\": %ld, "
           "\"server_rss_per_conn_kb\": %s}\n",
           r->rss_before, r->rss_after, r->rss_end, kbs);
}

static void print_text(const wsb_t *b, const wsb_result_t *r)
{
    const wsb_stats_t *st = &b->st;
    double s = r->secs > 0 ? r->secs : 1, kb = per_conn_kb(r);
    printf("wsbench: %u of %u connections to %s %s:%u subscribed in %.1f s (%u failed), %u channels each "
           "of %u; %.1f s measured after %.1f s warmup\n",
           b->subscribed, b->n, b->o.nats ? "nats-server" : "xtrading", b->o.host, (unsigned)b->o.port, r->connect_s,
           b->failed, b->o.per_conn, b->n_ch, r->secs, b->o.warmup);
    if (r->requested != b->n)
        printf("limited    %u connections requested; the open file limit %llu allows %u\n", r->requested,
               (unsigned long long)r->fd_limit, b->n);
    printf("delivered  %llu messages, %.0f/s (%.2f MB/s), %llu snapshots (%llu in all); %.3f updates/s per "
           "subscription\n",
           (unsigned long long)st->messages, (double)st->messages / s, (double)st->bytes / s / 1e6,
           (unsigned long long)st->snapshots, (unsigned long long)st->all_snapshots,
           r->counted ? (double)st->updates / s / ((double)r->counted * b->o.per_conn) : 0);
    printf("latency ms p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (event ts -> receive, %llu updates%s)\n", ms(st, 0.5),
           ms(st, 0.99), ms(st, 0.999), ms(st, 1), (unsigned long long)st->updates,
           st->negative_latency ? ", some negative: counted as 0" : "");
    printf("errors     %llu (connect %llu, handshake %llu, subscribe %llu, timeouts %llu, closed by the server %llu, "
           "protocol %llu, bad messages %llu, wrong channel %llu)\n",
           (unsigned long long)total_errors(st), (unsigned long long)st->connect_failed,
           (unsigned long long)st->handshake_failed, (unsigned long long)st->subscribe_errors,
           (unsigned long long)st->timeouts, (unsigned long long)st->lost, (unsigned long long)st->protocol_errors,
           (unsigned long long)st->bad_messages, (unsigned long long)st->wrong_channel);
    if (b->o.stall > 0)
        printf("stalled    %llu connections stopped reading after their ack; the server closed %llu of them "
               "(1008 slow consumer: %llu, 1008 no pong: %llu, without a close frame read: %llu)\n",
               (unsigned long long)st->stalled, (unsigned long long)st->stalled_closed,
               (unsigned long long)st->stalled_closes[CL_1008], (unsigned long long)st->stalled_closes[CL_NO_PONG],
               (unsigned long long)st->stalled_closes[CL_EOF]);
    if (b->o.server_pid)
        printf("server     pid %ld: VmRSS %ld KB before, %ld KB connected, %ld KB at the end: %.2f KB per "
               "connection\n",
               b->o.server_pid, r->rss_before, r->rss_after, r->rss_end, kb);
}

/* ---- the NATS publisher (--nats-publish) ---- */

/* One PUB: a depth-like JSON payload of about `size` bytes. */
static size_t pub_one(char *out, const char *ch, uint64_t seq, uint32_t size)
{
    char pl[4096];
    int n = snprintf(pl, sizeof pl, "{\"ch\":\"%s\",\"ts\":%lld,\"seq\":%llu,\"prev_seq\":%llu,\"bids\":[", ch,
                     (long long)wsb_real_ns(), (unsigned long long)seq, (unsigned long long)(seq - 1));
    for (int lvl = 0; (uint32_t)n + 40 < size && n < 3900; lvl++)
        n += snprintf(pl + n, sizeof pl - (size_t)n, "%s[\"%d.%02d\",\"%d\"]", lvl ? "," : "", 3000 - lvl / 100,
                      99 - lvl % 100, 1 + (int)(seq * 7 + (uint64_t)lvl) % 50);
    n += snprintf(pl + n, sizeof pl - (size_t)n, "],\"asks\":[[\"3000.01\",\"%d\"]]}", 1 + (int)(seq % 40));
    return (size_t)sprintf(out, "PUB %s %d\r\n%s\r\n", ch, n, pl);
}

/* Answers PING; reports -ERR. Returns -1 when the server closed. */
static int pub_read(int fd, char *out, size_t *out_len)
{
    char in[8192];
    ssize_t r = read(fd, in, sizeof in - 1);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (r <= 0)
        return 0;
    in[r] = '\0';
    for (const char *p = in; (p = strstr(p, "PING\r\n")) != NULL; p += 6)
        if (*out_len + 6 < PUB_BUF)
            *out_len += (size_t)sprintf(out + *out_len, "PONG\r\n");
    const char *err = strstr(in, "-ERR");
    if (err)
        fprintf(stderr, "xtrading wsbench: nats: %.*s\n", (int)strcspn(err, "\r\n"), err);
    return 0;
}

/* Publishes --rate messages/s round robin over the universe, open loop:
 * message k is due at start + k / rate and stamped when written. */
static int run_publisher(wsb_t *b)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char *out = malloc(PUB_BUF);
    if (fd < 0 || !out || connect(fd, (struct sockaddr *)&b->dst, sizeof b->dst) < 0) {
        fprintf(stderr, "xtrading wsbench: nats %s:%u: %s\n", b->o.host, (unsigned)b->o.port, strerror(errno));
        free(out);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    size_t len = (size_t)sprintf(out, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n");
    uint64_t k = 0, dropped = 0;
    int64_t t0 = wsb_mono_ns(), end = t0 + (int64_t)((b->o.warmup + b->o.duration) * 1e9), now = t0;
    double interval = 1e9 / b->o.rate;
    fprintf(stderr, "xtrading wsbench: publishing %.0f messages/s over %u channels\n", b->o.rate, b->n_ch);
    size_t head = 0; /* out[head..len) is still to send; compacted only when the room runs short */
    while (!g_stop && (!b->o.duration_set || now < end)) {
        if (head > 0 && (head == len || len + 4400 >= PUB_BUF)) {
            memmove(out, out + head, len - head);
            len -= head;
            head = 0;
        }
        for (; t0 + (int64_t)((double)k * interval) <= now; k++) {
            if (len + 4400 < PUB_BUF) /* pub_one writes at most ~4,100 bytes */
                len += pub_one(out + len, b->ch[k % b->n_ch], k / b->n_ch + 1, b->o.size);
            else
                dropped++; /* nats-server does not keep up: the socket and the buffer are full */
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t w = len > head ? send(fd, out + head, len - head, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
        if (w > 0)
            head += (size_t)w;
        int64_t next = t0 + (int64_t)((double)k * interval), wait = next - wsb_mono_ns();
        pfd.events = (short)(POLLIN | (len > head ? POLLOUT : 0));
        if (poll(&pfd, 1, wait > 0 ? (int)((wait + 999999) / 1000000) : 0) > 0 && (pfd.revents & (POLLIN | POLLHUP)) &&
            pub_read(fd, out, &len) < 0) {
            fprintf(stderr, "xtrading wsbench: nats closed the publisher's connection\n");
            break;
        }
        now = wsb_mono_ns();
    }
    double secs = (double)(now - t0) / 1e9;
    printf(b->o.json ? "{\"published\": %llu, \"dropped\": %llu, \"rate\": %.0f, \"achieved_per_s\": %.0f}\n"
                     : "published %llu messages (%llu dropped), target %.0f/s, achieved %.0f/s\n",
           (unsigned long long)(k - dropped), (unsigned long long)dropped, b->o.rate,
           secs > 0 ? (double)(k - dropped) / secs : 0);
    free(out);
    close(fd);
    return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading wsbench [options]\n"
               "  --connect HOST:PORT   market-data WebSocket (default 127.0.0.1:8080)\n"
               "  --connections N       WebSocket connections (default 1, up to the open file limit)\n"
               "  --channels LIST       channel names or templates with {SYM}, comma-separated\n"
               "                        (default depth.{SYM},trades.{SYM})\n"
               "  --symbols FILE|LIST   symbols for {SYM} (default 600519.SH,000001.SZ,BTC-USDT,ETH-USDT)\n"
               "  --per-conn K          channels per connection: connection i takes K consecutive ones of the\n"
               "                        universe from i*K (default: the number of templates)\n"
               "  --duration S          measured seconds (default 10)\n"
               "  --warmup S            seconds before measuring (default 2)\n"
               "  --stall F             fraction of connections that stop reading after their ack (default 0)\n"
               "  --stall-rcvbuf B      SO_RCVBUF of the stalled connections (default 0: the system's)\n"
               "  --server-pid PID      sample the server's VmRSS before and after connecting\n"
               "  --connect-window N    connections connecting at once (default 512)\n"
               "  --nats                speak NATS over WebSocket (nats-server's websocket listener)\n"
               "  --nats-publish HOST:PORT  instead: publish to nats-server (plain NATS) over the same\n"
               "                        channels: --rate R messages/s in all (default 1000), --size B bytes each\n"
               "                        (default 220), until SIGINT/SIGTERM or --duration (+ --warmup)\n"
               "  --json                one JSON object\n");
}

static int parse_num(const char *opt, const char *v, double min, double max, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *v == '\0' || *end != '\0' || !(d >= min) || d > max) {
        fprintf(stderr, "xtrading wsbench: %s needs a number in %g..%g, got '%s'\n", opt, min, max, v ? v : "");
        return -1;
    }
    *out = d;
    return 0;
}

/* One option that takes a value. Returns 0, or -1 (message printed). */
static int parse_valued(wsb_opts_t *o, const char *a, const char *v)
{
    double d;
    unsigned n;
    if (strcmp(a, "--connect") == 0 || strcmp(a, "--nats-publish") == 0) {
        o->publish |= a[2] == 'n';
        return xt_cli_parse_hostport(a, v, o->host, sizeof o->host, &o->port) ? 0 : -1;
    }
    if (strcmp(a, "--connections") == 0 || strcmp(a, "--per-conn") == 0 || strcmp(a, "--connect-window") == 0 ||
        strcmp(a, "--size") == 0) {
        if (!xt_cli_parse_u32(a, v, &n))
            return -1;
        if ((a[2] == 'p' && n > WSB_MAX_PER_CONN) || (a[2] == 's' && (n < 64 || n > 3800)) || n > 10000000) {
            fprintf(stderr, "xtrading wsbench: %s %u is out of range\n", a, n);
            return -1;
        }
        *(a[2] == 'p' ? &o->per_conn : a[2] == 's' ? &o->size : a[9] == 'i' ? &o->conns : &o->window) = n;
        if (a[2] == 's')
            o->publisher_flag = a;
        return 0;
    }
    if (strcmp(a, "--duration") == 0 || strcmp(a, "--warmup") == 0 || strcmp(a, "--stall") == 0 ||
        strcmp(a, "--rate") == 0) {
        double min = a[2] == 'd' || a[2] == 'r' ? 0.001 : 0, max = a[2] == 's' ? 1 : 1e9;
        if (parse_num(a, v, min, max, &d) < 0)
            return -1;
        *(a[2] == 'd' ? &o->duration : a[2] == 'w' ? &o->warmup : a[2] == 's' ? &o->stall : &o->rate) = d;
        o->duration_set |= a[2] == 'd';
        if (a[2] == 'r')
            o->publisher_flag = a;
        return 0;
    }
    if (strcmp(a, "--stall-rcvbuf") == 0 || strcmp(a, "--server-pid") == 0) {
        char *end;
        long l = v ? strtol(v, &end, 10) : -1;
        if (!v || *v == '\0' || *end || l < 0 || l > 1 << 30) {
            fprintf(stderr, "xtrading wsbench: %s needs a number, got '%s'\n", a, v ? v : "");
            return -1;
        }
        if (a[3] == 't')
            o->stall_rcvbuf = (uint32_t)l;
        else
            o->server_pid = l;
        return 0;
    }
    if ((strcmp(a, "--channels") == 0 || strcmp(a, "--symbols") == 0) && v && *v) {
        *(a[2] == 'c' ? &o->channels : &o->symbols) = v;
        return 0;
    }
    if (v)
        fprintf(stderr, "xtrading wsbench: unknown option or bad value: %s %s\n", a, v);
    else
        fprintf(stderr, "xtrading wsbench: unknown option or a value missing: %s\n", a);
    return -1;
}

/* Returns 0, 1 for --help, or -1 on a bad flag. */
static int parse_opts(wsb_opts_t *o, int argc, char **argv)
{
    *o = (wsb_opts_t){.conns = 1,
                      .window = 512,
                      .size = 220,
                      .duration = 10,
                      .warmup = 2,
                      .rate = 1000,
                      .channels = "depth.{SYM},trades.{SYM}",
                      .symbols = "600519.SH,000001.SZ,BTC-USDT,ETH-USDT"};
    strcpy(o->host, "127.0.0.1");
    o->port = 8080;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (xt_cli_is_help(a))
            return 1;
        if (strcmp(a, "--json") == 0 || strcmp(a, "--nats") == 0) {
            *(a[2] == 'j' ? &o->json : &o->nats) = 1;
            continue;
        }
        if (parse_valued(o, a, i + 1 < argc ? argv[i + 1] : NULL) < 0)
            return -1;
        i++;
    }
    if (o->publisher_flag && !o->publish) { /* (ignored before: a run that was not the one asked for) */
        fprintf(stderr, "xtrading wsbench: %s is an option of --nats-publish\n", o->publisher_flag);
        return -1;
    }
    if (o->server_pid && rss_kb(o->server_pid) < 0) { /* (reported as -1 KB before) */
        fprintf(stderr, "xtrading wsbench: --server-pid %ld: no such process (or its memory cannot be read)\n",
                o->server_pid);
        return -1;
    }
    return 0;
}

static int wsb_run(wsb_t *b, uint32_t requested)
{
    wsb_result_t r = {.requested = requested, .rss_before = rss_kb(b->o.server_pid), .rss_after = -1, .rss_end = -1};
    struct rlimit rl;
    r.fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
    int64_t t0 = wsb_mono_ns();
    connect_all(b);
    r.connect_s = (double)(wsb_mono_ns() - t0) / 1e9;
    r.rss_after = rss_kb(b->o.server_pid);
    r.subscribed = b->live + (uint32_t)(b->st.stalled - b->st.stalled_closed); /* open now */
    if (b->live == 0 && b->st.stalled == 0) {
        fprintf(stderr, "xtrading wsbench: no connection could subscribe at %s:%u\n", b->o.host, (unsigned)b->o.port);
        return 1;
    }
    r.secs = run(b);
    r.counted = b->live;
    r.rss_end = rss_kb(b->o.server_pid);
    drain_stalled(b);
    if (b->o.json)
        print_json(b, &r);
    else
        print_text(b, &r);
    return 0;
}

int xt_cmd_wsbench(int argc, char **argv)
{
    wsb_t *b = calloc(1, sizeof *b);
    if (!b)
        return 1;
    b->ep = -1;
    int rc = parse_opts(&b->o, argc, argv);
    if (rc) {
        if (rc > 0)
            usage(stdout);
        else
            fprintf(stderr, "usage: xtrading wsbench [options]; 'xtrading wsbench --help' lists them\n");
        free(b);
        return rc > 0 ? 0 : 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    uint32_t requested = b->o.conns;
    if (b->o.publish) {
        b->o.conns = 1;
        rc = wsb_setup(b);
        rc = rc == -2 ? 2 : rc < 0 ? 1 : run_publisher(b);
    } else {
        rc = wsb_setup(b);
        rc = rc == -2 ? 2 : rc < 0 ? 1 : wsb_run(b, requested);
    }
    wsb_teardown(b);
    free(b);
    return rc;
}
