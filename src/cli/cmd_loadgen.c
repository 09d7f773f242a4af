/* cmd_loadgen.c - `xtrading loadgen`: one epoll thread drives N client SDK
 * connections (include/xt/client.h) against `xtrading serve` or
 * `xtrading bench echo` and measures request -> first answer latency.
 *
 * Flow: each connection is its own session (account round robin, session
 * base + i). New orders go to a random instrument, a few lots, priced a
 * power-law distance passive from the middle of the band (or a fixed mid of
 * 3,000,000 ticks), about 10% a few ticks through the middle so trades
 * happen; cancels and amends target the connection's own open orders,
 * tracked from ACCEPTED / FILL / CANCELED / AMENDED.
 *
 * Open loop (--rate R > 0): request k (all connections together) is
 * scheduled at t0 + k / R on connection k mod N, and its latency runs from
 * that scheduled time, so a generator or server that falls behind shows up
 * as latency, never as a silently lower rate. A connection that cannot send
 * (window full, socket full) owes the request and sends it as soon as it
 * can, still timed from its schedule. Closed loop (--rate 0): every
 * connection keeps --pipeline requests outstanding; latency runs from the
 * send. The first answer of a request is ACCEPTED, REJECTED, AMENDED or a
 * CANCELED naming it as request_clordid; outstanding requests are found by
 * clordid in a per-connection ring of slots. Docs: docs/cli.md. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): epoll_pwait2 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "server/histogram.h"
#include "xt/client.h"
#include "xt/error.h"
#include "xt/types.h"

#define MAX_INST 256
#define MIN_OPEN 64 /* tracked open orders per connection, at least (the account share allowing) */
#define MAX_PIPELINE 65536
#define MAX_RATE 1e8    /* --rate: requests/s in all */
#define MAX_SECONDS 1e9 /* --duration, --warmup: their ns fit an int64 */
#define DUE_STEP 65536  /* open-loop requests handled per turn of the event loop at most */
#define MAX_ACCOUNTS 64
#define CONNECT_WINDOW 512 /* connections connecting / logging in at once */
#define PORTS_PER_SOURCE 20000
#define FIXED_MID 3000000 /* ticks, for instruments without a band */
#define DRAIN_NS 2000000000LL
#define TICK_NS 250000000LL
#define LATE_NS 1000000LL

enum { REQ_NEW, REQ_CANCEL, REQ_AMEND };
enum { PH_CONNECT, PH_RUN, PH_IDLE, PH_DRAIN, PH_DONE }; /* PH_IDLE: --idle, heartbeats only */

typedef struct lg_account {
    uint32_t account;
    char key_id[17];
    char secret[128];
} lg_account_t;

typedef struct lg_opts {
    char host[256];
    uint16_t port;
    uint32_t conns, pipeline, session_base;
    double rate, duration, warmup;
    int64_t clock_offset_ms; /* the logins' timestamps run this far ahead (xt_client_config_t) */
    int duration_set, idle, json;
    unsigned mix[3]; /* weights: new, cancel, amend */
    lg_account_t acct[MAX_ACCOUNTS];
    uint32_t n_acct;
} lg_opts_t;

typedef struct lg_inst {
    uint32_t id;
    int64_t mid, low, high, min_qty, max_qty;
} lg_inst_t;

/* An outstanding request, at slots[clordid & mask]. */
typedef struct lg_slot {
    uint64_t clordid; /* 0: free */
    uint64_t target;  /* CANCEL/AMEND: the order's clordid; NEW: instrument index */
    int64_t sched_ns;
    uint8_t type, measured;
} lg_slot_t;

typedef struct lg_open {
    uint64_t clordid;
    int64_t price, qty;
    uint32_t inst;
    uint8_t side, pending;
} lg_open_t;

struct lg;

typedef struct lg_conn {
    xt_client_t cl;
    struct lg *lg;
    int reg_fd, reg_out;
    uint8_t up, connecting, dead, dirty;
    uint64_t rng;
    uint32_t outstanding, owed, n_open, new_out; /* new_out: NEW orders sent, not answered yet */
    int64_t owed_sched;
    lg_slot_t *slots;
    /* Open orders: dense (open_pick draws from it), found by clordid
     * through an open-addressed index of positions + 1 (0: empty). */
    lg_open_t *open;
    uint32_t *open_ix;
} lg_conn_t;

typedef struct lg_stats {
    uint64_t sent, acked, rejected, unanswered, lost, server_errors, seq_gaps, fills, late, unsent;
    uint64_t rejects[256];
    int64_t max_delay_ns;
    xt_hist_t hist;
} lg_stats_t;

typedef struct lg {
    lg_opts_t o;
    lg_conn_t *c;
    uint32_t n, n_init, ring_mask, max_out, open_cap, open_mask; /* n_init: clients initialised */
    int ep, phase;
    lg_inst_t inst[MAX_INST];
    uint32_t n_inst;
    uint32_t logged_in, failed, inflight, next_connect;
    uint64_t total_out; /* outstanding requests over all connections */
    int64_t t0, t_measure, t_end, t_stop;
    double interval_ns;
    uint64_t k; /* open loop: the next request's global index */
    uint32_t *dirty, n_dirty;
    lg_stats_t st;
} lg_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = g_stop + 1; /* the first stops sending, a second skips the drain */
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rnd(lg_conn_t *c)
{
    /* xorshift64* */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1DULL;
}

static double rnd01(lg_conn_t *c)
{
    return (double)((rnd(c) >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
}

/* ---- the connection's open orders ---- */

static uint32_t open_home(const lg_conn_t *c, uint64_t clordid)
{
    return (uint32_t)((clordid * 0x9E3779B97F4A7C15ULL) >> 32) & c->lg->open_mask;
}

/* The index slot that holds clordid's position, or the empty one where it would go. */
static uint32_t open_slot(const lg_conn_t *c, uint64_t clordid)
{
    uint32_t h = open_home(c, clordid);
    while (c->open_ix[h] && c->open[c->open_ix[h] - 1u].clordid != clordid)
        h = (h + 1u) & c->lg->open_mask;
    return h;
}

static lg_open_t *open_find(lg_conn_t *c, uint64_t clordid)
{
    uint32_t at = c->open_ix[open_slot(c, clordid)];
    return at ? &c->open[at - 1u] : NULL;
}

/* Appends an order; the caller keeps n_open below open_cap. */
static void open_add(lg_conn_t *c, const lg_open_t *o)
{
    c->open[c->n_open] = *o;
    c->open_ix[open_slot(c, o->clordid)] = ++c->n_open;
}

static void open_remove(lg_conn_t *c, lg_open_t *o)
{
    if (!o)
        return;
    uint32_t mask = c->lg->open_mask, hole = open_slot(c, o->clordid);
    /* Backward-shift deletion: later entries of the probe run that may sit
     * at the hole move into it, so lookups never need tombstones. */
    for (uint32_t j = (hole + 1u) & mask; c->open_ix[j]; j = (j + 1u) & mask) {
        uint32_t home = open_home(c, c->open[c->open_ix[j] - 1u].clordid);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            c->open_ix[hole] = c->open_ix[j];
            hole = j;
        }
    }
    c->open_ix[hole] = 0;
    lg_open_t *last = &c->open[--c->n_open];
    if (o != last) { /* the last one takes the freed position */
        *o = *last;
        c->open_ix[open_slot(c, o->clordid)] = (uint32_t)(o - c->open) + 1u;
    }
}

/* A random open order with no cancel/amend in flight, or NULL. */
static lg_open_t *open_pick(lg_conn_t *c)
{
    if (c->n_open == 0)
        return NULL;
    /* from a random start, wrapping once: no division per step (this runs
     * per request, and most tracked orders may have a request in flight) */
    uint32_t start = (uint32_t)(rnd(c) % c->n_open);
    for (uint32_t i = start; i < c->n_open; i++)
        if (!c->open[i].pending)
            return &c->open[i];
    for (uint32_t i = 0; i < start; i++)
        if (!c->open[i].pending)
            return &c->open[i];
    return NULL;
}

/* ---- building requests ---- */

static int64_t clamp_price(const lg_inst_t *in, int64_t p)
{
    if (in->high > 0 && p > in->high)
        p = in->high;
    if (in->low > 0 && p < in->low)
        p = in->low;
    return p < 1 ? 1 : p;
}

/* The distance d >= 1 for which P(d > x) = x^-1.5, capped at MAX_PASSIVE:
 * d = floor(u^(-1/1.5)) for u uniform in (0, 1], i.e. the largest d with
 * u <= d^-1.5. Found in a table made once: pow() per order cost the
 * generator 5% of its CPU, and the generator shares the machine with the
 * server it measures. */
#define MAX_PASSIVE 200
static double g_passive_at[MAX_PASSIVE + 1]; /* [d] = d^-1.5, decreasing */

static void passive_init(void)
{
    for (int d = 1; d <= MAX_PASSIVE; d++)
        g_passive_at[d] = pow((double)d, -1.5);
}

static int64_t passive_distance(double u)
{
    int lo = 1, hi = MAX_PASSIVE; /* invariant: u <= g_passive_at[lo] */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (u <= g_passive_at[mid])
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void build_new(lg_t *lg, lg_conn_t *c, xt_msg_new_order_t *m, uint32_t *inst_idx)
{
    *inst_idx = (uint32_t)(rnd(c) % lg->n_inst);
    const lg_inst_t *in = &lg->inst[*inst_idx];
    int buy = (int)(rnd(c) & 1);
    int64_t d;
    if (rnd(c) % 10 == 0) {
        d = -(int64_t)(rnd(c) % 3) - 1; /* crossing: 1..3 ticks through the middle */
    } else {
        d = passive_distance(rnd01(c)); /* passive, P(d > x) = x^-1.5 */
    }
    m->instrument = in->id;
    m->side = buy ? XT_BUY : XT_SELL;
    m->type = XT_LIMIT;
    m->stp = XT_STP_NONE; /* the few accounts trade with themselves too: fills happen */
    m->price = clamp_price(in, buy ? in->mid - d : in->mid + d);
    m->qty = in->min_qty * (int64_t)(1 + rnd(c) % 4);
    if (in->max_qty > 0 && m->qty > in->max_qty)
        m->qty = in->min_qty;
}

static void build_amend(lg_t *lg, lg_conn_t *c, const lg_open_t *o, xt_msg_amend_t *m)
{
    const lg_inst_t *in = &lg->inst[o->inst];
    m->orig_clordid = o->clordid;
    m->qty = o->qty;
    if (rnd(c) & 1) {
        m->price = clamp_price(in, o->price + (o->side == XT_BUY ? -1 : 1)); /* one tick further back */
    } else if (o->qty > in->min_qty && (rnd(c) & 1)) {
        m->qty = o->qty - in->min_qty; /* size down: keeps priority */
    } else {
        m->qty = o->qty + in->min_qty; /* size up */
        if (in->max_qty > 0 && m->qty > in->max_qty)
            m->qty = o->qty;
    }
}

static int pick_type(lg_t *lg, lg_conn_t *c, lg_open_t **target)
{
    unsigned total = lg->o.mix[0] + lg->o.mix[1] + lg->o.mix[2];
    unsigned r = (unsigned)(rnd(c) % total);
    int type = r < lg->o.mix[0] ? REQ_NEW : r < lg->o.mix[0] + lg->o.mix[1] ? REQ_CANCEL : REQ_AMEND;
    /* Orders in flight count: each may rest, and every resting order must
     * be tracked (and so cancelled some time), or the book only grows. */
    uint32_t may_rest = c->n_open + c->new_out;
    if (type == REQ_NEW && may_rest >= lg->open_cap)
        type = REQ_CANCEL; /* keep the book per connection bounded */
    *target = type == REQ_NEW ? NULL : open_pick(c);
    if (type != REQ_NEW && !*target)
        type = may_rest >= lg->open_cap ? -1 : REQ_NEW;
    return type;
}

/* Encodes one request of the configured mix. Returns 0 and fills the
 * slot, or a negative code when nothing could be sent now. */
static int send_request(lg_t *lg, lg_conn_t *c, lg_slot_t *s)
{
    lg_open_t *o;
    int type = pick_type(lg, c, &o), rc;
    if (type < 0)
        return -EAGAIN;
    s->type = (uint8_t)type;
    if (type == REQ_NEW) {
        xt_msg_new_order_t m = {.clordid = s->clordid};
        uint32_t idx;
        build_new(lg, c, &m, &idx);
        s->target = idx;
        return xt_client_new_order(&c->cl, &m);
    }
    s->target = o->clordid;
    if (type == REQ_CANCEL) {
        xt_msg_cancel_t m = {.clordid = s->clordid, .orig_clordid = o->clordid};
        rc = xt_client_cancel(&c->cl, &m);
    } else {
        xt_msg_amend_t m = {.clordid = s->clordid};
        build_amend(lg, c, o, &m);
        rc = xt_client_amend(&c->cl, &m);
    }
    if (rc == 0)
        o->pending = 1;
    return rc;
}

static void mark_dirty(lg_t *lg, lg_conn_t *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        lg->dirty[lg->n_dirty++] = (uint32_t)(c - lg->c);
    }
}

/* Sends one request scheduled at sched. Returns 0, or -1 when the
 * connection cannot take one now. */
static int send_one(lg_t *lg, lg_conn_t *c, int64_t sched, int64_t now)
{
    if (!c->up || c->outstanding >= lg->max_out)
        return -1;
    uint64_t id = xt_client_next_clordid(&c->cl);
    lg_slot_t *s = &c->slots[id & lg->ring_mask];
    if (s->clordid)
        return -1; /* an old request still holds the slot */
    s->clordid = id;
    if (send_request(lg, c, s) != 0) {
        s->clordid = 0;
        return -1;
    }
    s->sched_ns = sched;
    s->measured = sched >= lg->t_measure && sched < lg->t_end;
    c->new_out += s->type == REQ_NEW;
    c->outstanding++;
    lg->total_out++;
    if (s->measured) {
        lg->st.sent++;
        if (now - sched > LATE_NS)
            lg->st.late++;
        if (now - sched > lg->st.max_delay_ns)
            lg->st.max_delay_ns = now - sched;
    }
    mark_dirty(lg, c);
    return 0;
}

/* ---- answers ---- */

/* The first answer to request clordid: records its latency, frees its
 * slot and copies it to *out. Returns 0 if clordid was outstanding. */
static int answered(lg_conn_t *c, uint64_t clordid, int rejected, uint16_t reason, lg_slot_t *out)
{
    lg_t *lg = c->lg;
    lg_slot_t *s = &c->slots[clordid & lg->ring_mask];
    if (s->clordid != clordid || clordid == 0)
        return -1;
    *out = *s;
    s->clordid = 0;
    c->new_out -= out->type == REQ_NEW;
    c->outstanding--;
    lg->total_out--;
    if (!out->measured)
        return 0;
    int64_t lat = xt_client_rx_ns(&c->cl) - out->sched_ns; /* received then: one clock read per read() */
    xt_hist_add(&lg->st.hist, lat > 0 ? (uint64_t)lat / 1000 : 0);
    if (rejected) {
        lg->st.rejected++;
        lg->st.rejects[reason > 255 ? 255 : reason]++;
    } else {
        lg->st.acked++;
    }
    return 0;
}

/* Gives up on the connection's outstanding and owed requests: they count
 * as unanswered and unsent. */
static void drop_outstanding(lg_t *lg, lg_conn_t *c)
{
    lg->st.unsent += c->owed;
    c->owed = 0;
    for (uint32_t i = 0; i <= lg->ring_mask && c->outstanding; i++)
        if (c->slots[i].clordid) {
            lg->st.unanswered += c->slots[i].measured;
            c->new_out -= c->slots[i].type == REQ_NEW;
            c->slots[i].clordid = 0;
            c->outstanding--;
            lg->total_out--;
        }
}

static void on_login_accepted(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_login_accepted_t *m)
{
    lg_conn_t *c = user;
    (void)cl, (void)h, (void)m;
    c->up = 1;
    if (c->connecting) {
        c->connecting = 0;
        c->lg->inflight--;
        c->lg->logged_in++;
    }
}

static void on_instrument(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_instrument_t *m)
{
    lg_t *lg = ((lg_conn_t *)user)->lg;
    (void)cl, (void)h;
    for (uint32_t i = 0; i < lg->n_inst; i++)
        if (lg->inst[i].id == m->id)
            return;
    if (lg->n_inst == MAX_INST || m->min_qty <= 0)
        return;
    lg_inst_t *in = &lg->inst[lg->n_inst++];
    in->id = m->id;
    in->min_qty = m->min_qty;
    in->max_qty = m->max_qty;
    in->low = m->has_band ? m->band_low : 0;
    in->high = m->has_band ? m->band_high : 0;
    in->mid = m->has_band ? m->band_low + (m->band_high - m->band_low) / 2 : FIXED_MID;
}

static void on_accepted(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_accepted_t *m)
{
    lg_conn_t *c = user;
    lg_slot_t s;
    (void)cl, (void)h;
    if (answered(c, m->clordid, 0, 0, &s) != 0 || s.type != REQ_NEW || c->n_open == c->lg->open_cap)
        return; /* (open_cap cannot be reached: NEW orders in flight count toward it) */
    open_add(c,
             &(lg_open_t){
                 .clordid = m->clordid, .price = m->price, .qty = m->qty, .inst = (uint32_t)s.target, .side = m->side});
}

static void on_rejected(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_rejected_t *m)
{
    lg_conn_t *c = user;
    lg_slot_t s;
    (void)cl, (void)h;
    if (answered(c, m->clordid, 1, m->reason, &s) != 0 || s.type == REQ_NEW)
        return;
    lg_open_t *o = open_find(c, s.target);
    if (o && m->reason == XT_R_UNKNOWN_ORDER)
        open_remove(c, o);
    else if (o)
        o->pending = 0;
}

static void on_fill(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_fill_t *m)
{
    lg_conn_t *c = user;
    (void)cl, (void)h;
    c->lg->st.fills++;
    lg_open_t *o = open_find(c, m->clordid);
    if (o && m->remaining <= 0)
        open_remove(c, o);
    else if (o)
        o->qty = m->remaining;
}

static void on_canceled(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_canceled_t *m)
{
    lg_conn_t *c = user;
    lg_slot_t s;
    (void)cl, (void)h;
    if (m->request_clordid)
        answered(c, m->request_clordid, 0, 0, &s);
    open_remove(c, open_find(c, m->clordid));
}

static void on_amended(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_amended_t *m)
{
    lg_conn_t *c = user;
    lg_slot_t s;
    (void)cl, (void)h;
    answered(c, m->clordid, 0, 0, &s);
    lg_open_t *o = open_find(c, m->orig_clordid);
    if (!o)
        return;
    o->pending = 0;
    o->price = m->price ? m->price : o->price;
    o->qty = m->qty;
    if (o->qty <= 0)
        open_remove(c, o);
}

static void on_server_error(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_error_t *m)
{
    lg_t *lg = ((lg_conn_t *)user)->lg;
    (void)cl, (void)h;
    if (lg->st.server_errors++ < 5)
        fprintf(stderr, "xtrading loadgen: server error %s: %.62s\n", xt_wire_error_name(m->code), m->text);
}

static void on_login_rejected(void *user, xt_client_t *cl, const xt_wire_hdr_t *h, const xt_msg_login_rejected_t *m)
{
    lg_t *lg = ((lg_conn_t *)user)->lg;
    (void)cl, (void)h;
    if (lg->failed < 5)
        fprintf(stderr, "xtrading loadgen: login rejected: %s\n", xt_wire_login_reason_name(m->reason));
}

static void on_error(void *user, xt_client_t *cl, int err)
{
    lg_t *lg = ((lg_conn_t *)user)->lg;
    (void)cl;
    if (err == XT_ESEQ)
        lg->st.seq_gaps++;
}

static void on_close(void *user, xt_client_t *cl, int err)
{
    lg_conn_t *c = user;
    lg_t *lg = c->lg;
    (void)cl;
    c->reg_fd = -1;
    c->reg_out = 0;
    c->dead = 1;
    if (c->connecting) {
        c->connecting = 0;
        lg->inflight--;
        if (lg->failed++ < 5 && err != -EACCES)
            fprintf(stderr, "xtrading loadgen: connection %u: %s\n", (unsigned)(c - lg->c), xt_strerror(err));
    } else if (c->up && lg->phase != PH_DONE) {
        lg->st.lost++;
        if (lg->st.lost <= 5)
            fprintf(stderr, "xtrading loadgen: connection %u lost: %s\n", (unsigned)(c - lg->c), xt_strerror(err));
    }
    c->up = 0;
    drop_outstanding(lg, c);
}

/* ---- the event loop ---- */

/* Keeps the epoll registration in step with the client's socket and
 * write interest. */
static void sync_epoll(lg_t *lg, lg_conn_t *c)
{
    int fd = xt_client_fd(&c->cl), out = xt_client_wants_write(&c->cl);
    if (fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - lg->c)};
    if (fd != c->reg_fd) {
        if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
            c->reg_fd = fd;
            c->reg_out = out;
        }
    } else if (out != c->reg_out && epoll_ctl(lg->ep, EPOLL_CTL_MOD, fd, &ev) == 0) {
        c->reg_out = out;
    }
}

static void flush_dirty(lg_t *lg)
{
    for (uint32_t i = 0; i < lg->n_dirty; i++) {
        lg_conn_t *c = &lg->c[lg->dirty[i]];
        c->dirty = 0;
        if (xt_client_fd(&c->cl) >= 0)
            xt_client_flush(&c->cl);
        sync_epoll(lg, c);
    }
    lg->n_dirty = 0;
}

/* Open loop: sends what this connection owes, oldest first. */
static void catch_up(lg_t *lg, lg_conn_t *c, int64_t now)
{
    while (c->owed && send_one(lg, c, c->owed_sched, now) == 0) {
        c->owed--;
        c->owed_sched += (int64_t)(lg->interval_ns * lg->n);
    }
}

/* Closed loop: tops the connection up to --pipeline outstanding. */
static void refill(lg_t *lg, lg_conn_t *c, int64_t now)
{
    while (c->outstanding < lg->max_out && send_one(lg, c, now, now) == 0)
        ;
}

static int64_t sched_of(const lg_t *lg, uint64_t k)
{
    return lg->t0 + (int64_t)((double)k * lg->interval_ns);
}

/* Open loop: every request whose time has come, round robin over the
 * connections. A connection that cannot send owes the request. At most
 * DUE_STEP of them a call (then 1: more are due), so that a schedule the
 * loop cannot keep up with still lets the event loop read answers and
 * see a signal. */
static int send_due(lg_t *lg, int64_t now)
{
    if (lg->n == 0)
        return 0;
    uint32_t steps = 0;
    for (int64_t t; (t = sched_of(lg, lg->k)) <= now && t < lg->t_end; lg->k++) {
        if (steps++ == DUE_STEP)
            return 1;
        lg_conn_t *c = &lg->c[lg->k % lg->n];
        if (c->dead || !c->up) {
            lg->st.unsent += t >= lg->t_measure;
            continue;
        }
        if (c->owed == 0 && send_one(lg, c, t, now) == 0)
            continue;
        if (c->owed++ == 0)
            c->owed_sched = t;
    }
    return 0;
}

static void on_event(lg_t *lg, const struct epoll_event *ev, int64_t now)
{
    lg_conn_t *c = &lg->c[ev->data.u32];
    if (xt_client_fd(&c->cl) != c->reg_fd)
        return; /* stale: closed earlier in this batch */
    int rc = 0;
    if (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        rc = xt_client_on_writable(&c->cl);
    if (rc == 0 && xt_client_fd(&c->cl) >= 0 && (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        xt_client_on_readable(&c->cl);
    if (c->up && lg->phase == PH_RUN) {
        if (lg->o.rate > 0)
            catch_up(lg, c, now);
        else
            refill(lg, c, now);
    }
    mark_dirty(lg, c);
}

/* Waits for socket events until `until` (monotonic ns) at the latest. */
static void wait_events(lg_t *lg, int64_t until)
{
    struct epoll_event evs[1024];
    int64_t wait = until - mono_ns();
    if (wait < 0)
        wait = 0;
    struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
    int n = epoll_pwait2(lg->ep, evs, 1024, &ts, NULL);
    if (n < 0 && errno == ENOSYS)
        n = epoll_wait(lg->ep, evs, 1024, (int)((wait + 999999) / 1000000));
    int64_t now = mono_ns();
    for (int i = 0; i < n; i++)
        on_event(lg, &evs[i], now);
    flush_dirty(lg);
}

static void tick_all(lg_t *lg)
{
    for (uint32_t i = 0; i < lg->n; i++) {
        lg_conn_t *c = &lg->c[i];
        if (xt_client_fd(&c->cl) >= 0) {
            xt_client_tick(&c->cl);
            sync_epoll(lg, c);
        }
    }
}

/* ---- phases ---- */

static int conn_init(lg_t *lg, uint32_t i)
{
    lg_conn_t *c = &lg->c[i];
    const lg_account_t *a = &lg->o.acct[i % lg->o.n_acct];
    char src[32];
    uint32_t sources = (lg->n + PORTS_PER_SOURCE - 1) / PORTS_PER_SOURCE;
    int bind_src = lg->n > PORTS_PER_SOURCE && strncmp(lg->o.host, "127.", 4) == 0;
    snprintf(src, sizeof src, "127.0.0.%u", 2 + i % (sources > 250 ? 250 : sources));
    size_t buf = lg->o.idle ? 2048 : lg->n > 1000 ? 8192 : 65536;
    xt_client_config_t cfg = {.host = lg->o.host,
                              .port = lg->o.port,
                              .bind_addr = bind_src ? src : NULL,
                              .account = a->account,
                              .key_id = a->key_id,
                              .secret = a->secret,
                              .session = lg->o.session_base + i,
                              .login_flags = XT_LOGIN_CANCEL_ON_DISCONNECT,
                              .clock_offset_ms = lg->o.clock_offset_ms,
                              .rbuf_size = buf,
                              .wbuf_size = buf,
                              .cb = {.on_login_accepted = on_login_accepted,
                                     .on_login_rejected = on_login_rejected,
                                     .on_instrument = on_instrument,
                                     .on_server_error = on_server_error,
                                     .on_accepted = on_accepted,
                                     .on_rejected = on_rejected,
                                     .on_fill = on_fill,
                                     .on_canceled = on_canceled,
                                     .on_amended = on_amended,
                                     .on_error = on_error,
                                     .on_close = on_close},
                              .user = c};
    c->lg = lg;
    c->reg_fd = -1;
    c->rng = 0x9E3779B97F4A7C15ULL * (i + 1) ^ (uint64_t)mono_ns();
    c->slots = calloc((size_t)lg->ring_mask + 1, sizeof *c->slots);
    c->open = calloc(lg->open_cap, sizeof *c->open);
    c->open_ix = calloc((size_t)lg->open_mask + 1, sizeof *c->open_ix);
    if (!c->slots || !c->open || !c->open_ix)
        return XT_ENOMEM;
    return xt_client_init(&c->cl, &cfg);
}

/* Starts connections while fewer than CONNECT_WINDOW are in progress. */
static void start_connects(lg_t *lg)
{
    while (lg->next_connect < lg->n && lg->inflight < CONNECT_WINDOW && !g_stop) {
        lg_conn_t *c = &lg->c[lg->next_connect++];
        int rc = xt_client_connect(&c->cl);
        if (rc) {
            c->dead = 1;
            if (lg->failed++ < 5)
                fprintf(stderr, "xtrading loadgen: connect: %s\n", xt_strerror(rc));
            continue;
        }
        c->connecting = 1;
        lg->inflight++;
        sync_epoll(lg, c);
        mark_dirty(lg, c);
    }
    flush_dirty(lg);
}

static void connect_all(lg_t *lg)
{
    int64_t next_tick = mono_ns() + TICK_NS;
    while (!g_stop && (lg->next_connect < lg->n || lg->inflight > 0)) {
        start_connects(lg);
        wait_events(lg, mono_ns() + 50000000);
        if (mono_ns() >= next_tick) {
            tick_all(lg);
            next_tick = mono_ns() + TICK_NS;
        }
    }
    /* the INSTRUMENT messages follow LOGIN_ACCEPTED; give them a moment */
    for (int i = 0; i < 100 && lg->n_inst == 0 && lg->logged_in > 0 && !g_stop; i++)
        wait_events(lg, mono_ns() + 10000000);
}

/* The measured run: open or closed loop until the end, then a drain. */
static void run_load(lg_t *lg)
{
    int64_t now = mono_ns(), next_tick = now + TICK_NS, drain_end = 0;
    lg->t0 = now;
    lg->t_measure = now + (int64_t)(lg->o.warmup * 1e9);
    lg->t_end = lg->t_measure + (int64_t)(lg->o.duration * 1e9);
    lg->phase = PH_RUN;
    for (uint32_t i = 0; i < lg->n && lg->o.rate == 0; i++)
        refill(lg, &lg->c[i], now);
    flush_dirty(lg);
    for (;;) {
        now = mono_ns();
        if (lg->phase == PH_RUN && (now >= lg->t_end || g_stop)) {
            while (lg->o.rate > 0 && !g_stop && send_due(lg, now)) /* the last ones before t_end */
                ;
            flush_dirty(lg);
            lg->phase = PH_DRAIN;
            lg->t_stop = now < lg->t_end ? now : lg->t_end;
            drain_end = now + DRAIN_NS;
        }
        if (lg->phase == PH_DRAIN && (lg->total_out == 0 || now >= drain_end || g_stop > 1))
            break;
        int64_t until = now + 100000000;
        if (lg->phase == PH_RUN && lg->o.rate > 0) {
            send_due(lg, now);
            flush_dirty(lg);
            int64_t next = sched_of(lg, lg->k);
            until = next < until ? next : until;
        }
        wait_events(lg, until);
        if (mono_ns() >= next_tick) {
            tick_all(lg);
            next_tick = mono_ns() + TICK_NS;
        }
    }
    for (uint32_t i = 0; i < lg->n; i++)
        drop_outstanding(lg, &lg->c[i]); /* not answered within the drain */
}

/* --idle: hold the sessions, heartbeats only, until a signal or --duration. */
static void run_idle(lg_t *lg)
{
    int64_t end = mono_ns() + (int64_t)(lg->o.duration * 1e9);
    /* the line says the sessions are up (scripts wait for it); with --json
     * it goes to stderr, so that stdout is the one JSON object */
    FILE *f = lg->o.json ? stderr : stdout;
    fprintf(f, "idle: %u sessions logged in\n", lg->logged_in);
    fflush(f);
    lg->phase = PH_IDLE; /* not PH_RUN: every read (a heartbeat) would top the window up with orders */
    while (!g_stop && (!lg->o.duration_set || mono_ns() < end)) {
        wait_events(lg, mono_ns() + TICK_NS);
        tick_all(lg);
    }
}

/* ---- the report ---- */

static double measured_s(const lg_t *lg)
{
    int64_t end = lg->t_stop ? lg->t_stop : lg->t_end;
    double s = (double)(end - lg->t_measure) / 1e9;
    return s > 0 ? s : 0;
}

static int rate_achieved(const lg_t *lg)
{
    if (lg->o.rate <= 0)
        return 1;
    double want = lg->o.rate * measured_s(lg);
    return (double)lg->st.sent >= 0.99 * want && lg->st.max_delay_ns < 100 * LATE_NS;
}

/* The mean latency, µs: with the throughput it gives the requests
 * outstanding on average (Little's law), the window a closed loop kept. */
static double mean_us(const lg_stats_t *st)
{
    return st->hist.count ? (double)st->hist.sum / (double)st->hist.count : 0;
}

static void print_json(const lg_t *lg)
{
    const lg_stats_t *st = &lg->st;
    double secs = measured_s(lg);
    uint64_t errors = st->unanswered + st->lost + st->server_errors + st->seq_gaps;
    printf(
        "{\"sent\": %llu, \"acked\": %llu, \"rejected\": %llu, \"errors\": %llu, \"orders_per_s\": %.0f, "
        "\"p50_us\": %llu, \"p90_us\": %llu, \"p99_us\": %llu, \"p999_us\": %llu, \"max_us\": %llu, "
        "\"mean_us\": %.1f, \"connections\": %u, \"failed_connections\": %u, \"rate\": %.10g, \"rate_achieved\": %s, "
        "\"pipeline\": %u, \"duration_s\": %.3f, \"warmup_s\": %.3f, \"unanswered\": %llu, "
        "\"lost_connections\": %llu, \"unsent\": %llu, \"late\": %llu, \"max_send_delay_us\": %lld, "
        "\"fills\": %llu, \"rejects\": {",
        (unsigned long long)st->sent, (unsigned long long)st->acked, (unsigned long long)st->rejected,
        (unsigned long long)errors, secs > 0 ? (double)(st->acked + st->rejected) / secs : 0,
        (unsigned long long)xt_hist_quantile(&st->hist, 0.5), (unsigned long long)xt_hist_quantile(&st->hist, 0.9),
        (unsigned long long)xt_hist_quantile(&st->hist, 0.99), (unsigned long long)xt_hist_quantile(&st->hist, 0.999),
        (unsigned long long)st->hist.max, mean_us(st), lg->logged_in, lg->failed, lg->o.rate,
        rate_achieved(lg) ? "true" : "false", lg->o.rate > 0 ? 0 : lg->o.pipeline, secs, lg->o.warmup,
        (unsigned long long)st->unanswered, (unsigned long long)st->lost, (unsigned long long)st->unsent,
        (unsigned long long)st->late, (long long)(st->max_delay_ns / 1000), (unsigned long long)st->fills);
    const char *sep = "";
    for (int r = 0; r < 256; r++)
        if (st->rejects[r]) {
            printf("%s\"%s\": %llu", sep, xt_wire_reason_name(r), (unsigned long long)st->rejects[r]);
            sep = ", ";
        }
    printf("}}\n");
}

static void print_text(const lg_t *lg)
{
    const lg_stats_t *st = &lg->st;
    double secs = measured_s(lg);
    uint64_t errors = st->unanswered + st->lost + st->server_errors + st->seq_gaps;
    printf("loadgen: %u connections (%u failed) to %s:%u, ", lg->logged_in, lg->failed, lg->o.host, lg->o.port);
    if (lg->o.rate > 0)
        printf("open loop at %.10g requests/s, ", lg->o.rate);
    else
        printf("closed loop, pipeline %u, ", lg->o.pipeline);
    printf("%.1f s measured after %.1f s warmup\n", secs, lg->o.warmup);
    printf("sent        %llu (%.0f/s)\n", (unsigned long long)st->sent, secs > 0 ? (double)st->sent / secs : 0);
    printf("acked       %llu\n", (unsigned long long)st->acked);
    printf("rejected    %llu", (unsigned long long)st->rejected);
    const char *sep = " (";
    for (int r = 0; r < 256; r++)
        if (st->rejects[r]) {
            printf("%s%s %llu", sep, xt_wire_reason_name(r), (unsigned long long)st->rejects[r]);
            sep = ", ";
        }
    printf("%s\n", *sep == ',' ? ")" : "");
    printf("errors      %llu (unanswered %llu, lost connections %llu, server errors %llu, sequence gaps %llu)\n",
           (unsigned long long)errors, (unsigned long long)st->unanswered, (unsigned long long)st->lost,
           (unsigned long long)st->server_errors, (unsigned long long)st->seq_gaps);
    printf("fills       %llu\n", (unsigned long long)st->fills);
    printf("orders/s    %.0f (answered requests per second)\n",
           secs > 0 ? (double)(st->acked + st->rejected) / secs : 0);
    printf("latency us  p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu  mean %.1f\n",
           (unsigned long long)xt_hist_quantile(&st->hist, 0.5), (unsigned long long)xt_hist_quantile(&st->hist, 0.9),
           (unsigned long long)xt_hist_quantile(&st->hist, 0.99),
           (unsigned long long)xt_hist_quantile(&st->hist, 0.999), (unsigned long long)st->hist.max, mean_us(st));
    if (lg->o.rate > 0)
        printf("rate        target %.10g/s %s: sent %.1f%% of schedule, %llu sent > 1 ms late, max send delay %lld us, "
               "%llu never sent\n",
               lg->o.rate, rate_achieved(lg) ? "achieved" : "NOT achieved",
               secs > 0 ? 100.0 * (double)st->sent / (lg->o.rate * secs) : 0, (unsigned long long)st->late,
               (long long)(st->max_delay_ns / 1000), (unsigned long long)st->unsent);
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: xtrading loadgen [options]\n"
               "  --connect HOST:PORT   server (default 127.0.0.1:9001)\n"
               "  --connections N       connections, each its own session (default 1)\n"
               "  --rate R              requests/s over all connections, open loop; 0: closed loop (default 0)\n"
               "  --pipeline D          closed loop: outstanding requests per connection, 1..65536 (default 16)\n"
               "  --duration S          measured seconds (default 10)\n"
               "  --warmup S            seconds before measuring (default 1)\n"
               "  --accounts A,B,...    demo accounts (key id demoA, secret demo-secret-A; default 1001..1004)\n"
               "  --account A --key-id K --secret S   one account with its own credentials\n"
               "  --session-base N      connection i uses session N + i (default 1)\n"
               "  --mix new=60,cancel=30,amend=10     request mix, weights\n"
               "  --clock-offset-ms N   sign logins N ms ahead of this host's clock, for a server run with\n"
               "                        debug.clock_offset_ms = N (default 0)\n"
               "  --idle                log in, print 'idle: N sessions logged in' (on stderr with --json),\n"
               "                        send only heartbeats until SIGINT/SIGTERM (or --duration if given)\n"
               "  --json                one JSON object on stdout\n");
}

static int parse_num(const char *opt, const char *v, double min, double max, double *out)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *v == '\0' || *end != '\0' || !(d >= min) || d > max) {
        fprintf(stderr, "xtrading loadgen: %s needs a number from %g to %g, got '%s'\n", opt, min, max, v ? v : "");
        return -1;
    }
    *out = d;
    return 0;
}

static void demo_account(lg_account_t *a, uint32_t id)
{
    a->account = id;
    snprintf(a->key_id, sizeof a->key_id, "demo%u", (unsigned)id);
    snprintf(a->secret, sizeof a->secret, "demo-secret-%u", (unsigned)id);
}

static int parse_accounts(lg_opts_t *o, const char *v)
{
    char buf[1024];
    o->n_acct = 0;
    int len = snprintf(buf, sizeof buf, "%s", v ? v : ""), too_many = 0;
    for (char *rest = buf, *t; len < (int)sizeof buf && (t = strsep(&rest, ",")) != NULL;) {
        unsigned id; /* (an empty item is refused, not skipped) */
        if (!xt_cli_parse_u32("--accounts", t, &id))
            return -1;
        if ((too_many = o->n_acct == MAX_ACCOUNTS) != 0)
            break;
        demo_account(&o->acct[o->n_acct++], id);
    }
    if (len >= (int)sizeof buf || too_many) { /* (refused without a reason before) */
        fprintf(stderr, "xtrading loadgen: --accounts takes at most %d accounts in %zu bytes\n", MAX_ACCOUNTS,
                sizeof buf - 1);
        return -1;
    }
    return o->n_acct ? 0 : -1;
}

static int parse_mix(lg_opts_t *o, const char *v)
{
    static const char *const names[3] = {"new", "cancel", "amend"};
    char buf[256];
    memset(o->mix, 0, sizeof o->mix);
    unsigned seen = 0;
    if (snprintf(buf, sizeof buf, "%s", v ? v : "") >= (int)sizeof buf)
        goto bad;
    for (char *rest = buf, *t; (t = strsep(&rest, ",")) != NULL;) {
        char *eq = strchr(t, '='), *end;
        int k = -1;
        for (int i = 0; i < 3 && eq; i++)
            if ((size_t)(eq - t) == strlen(names[i]) && strncmp(t, names[i], (size_t)(eq - t)) == 0)
                k = i;
        unsigned long w = eq ? strtoul(eq + 1, &end, 10) : 0;
        if (k < 0 || !(eq[1] >= '0' && eq[1] <= '9') || *end || w > 1000000 || (seen & (1u << k)))
            goto bad; /* (each name once: a second one overrode the first unsaid) */
        seen |= 1u << k;
        o->mix[k] = (unsigned)w;
    }
    if (o->mix[0] > 0)
        return 0;
bad:
    fprintf(stderr, "xtrading loadgen: --mix needs new=N,cancel=N,amend=N (each at most once) with new > 0, got '%s'\n",
            v ? v : "");
    return -1;
}

/* One option that takes a value. Returns 0, or -1 (message printed). */
static int parse_valued(lg_opts_t *o, const char *a, const char *v, lg_account_t *one)
{
    double d;
    unsigned n;
    if (strcmp(a, "--connect") == 0)
        return xt_cli_parse_hostport(a, v, o->host, sizeof o->host, &o->port) ? 0 : -1;
    if (strcmp(a, "--connections") == 0 || strcmp(a, "--pipeline") == 0 || strcmp(a, "--session-base") == 0 ||
        strcmp(a, "--account") == 0) {
        if (!xt_cli_parse_u32(a, v, &n))
            return -1;
        if (a[2] == 'p' && n > MAX_PIPELINE) {
            fprintf(stderr, "xtrading loadgen: --pipeline is at most %u\n", MAX_PIPELINE);
            return -1;
        }
        *(a[2] == 'c' ? &o->conns : a[2] == 'p' ? &o->pipeline : a[2] == 's' ? &o->session_base : &one->account) = n;
        return 0;
    }
    if (strcmp(a, "--rate") == 0 || strcmp(a, "--duration") == 0 || strcmp(a, "--warmup") == 0) {
        /* rate: a schedule this tool can walk (each due request is a step of
         * the loop); seconds: their ns must fit an int64 */
        if (parse_num(a, v, a[2] == 'd' ? 0.001 : 0, a[2] == 'r' ? MAX_RATE : MAX_SECONDS, &d) < 0)
            return -1;
        *(a[2] == 'r' ? &o->rate : a[2] == 'd' ? &o->duration : &o->warmup) = d;
        o->duration_set |= a[2] == 'd';
        return 0;
    }
    if (strcmp(a, "--key-id") == 0 || strcmp(a, "--secret") == 0) {
        int key = a[2] == 'k';
        size_t max = key ? sizeof one->key_id - 1 : sizeof one->secret - 1;
        if (!v || !*v || strlen(v) > max) {
            fprintf(stderr, "xtrading loadgen: %s takes 1..%zu characters, got %zu\n", a, max, v ? strlen(v) : 0);
            return -1;
        }
        return snprintf(key ? one->key_id : one->secret, max + 1, "%s", v) < 0;
    }
    if (strcmp(a, "--accounts") == 0)
        return parse_accounts(o, v);
    if (strcmp(a, "--clock-offset-ms") == 0) { /* as the server's debug.clock_offset_ms: 0..604,800,000 */
        if (parse_num(a, v, 0, 604800000, &d) < 0)
            return -1;
        if (d > 604800000 || d != (double)(int64_t)d) {
            fprintf(stderr, "xtrading loadgen: --clock-offset-ms is a whole number 0..604800000\n");
            return -1;
        }
        o->clock_offset_ms = (int64_t)d;
        return 0;
    }
    if (strcmp(a, "--mix") == 0)
        return parse_mix(o, v);
    if (v)
        fprintf(stderr, "xtrading loadgen: unknown option or bad value: %s %s\n", a, v);
    else
        fprintf(stderr, "xtrading loadgen: unknown option or a value missing: %s\n", a);
    return -1;
}

/* Returns 0, 1 for --help, or -1 on a bad flag. */
static int parse_opts(lg_opts_t *o, int argc, char **argv)
{
    lg_account_t one = {0};
    *o = (lg_opts_t){.conns = 1, .pipeline = 16, .session_base = 1, .duration = 10, .warmup = 1, .mix = {60, 30, 10}};
    strcpy(o->host, "127.0.0.1");
    o->port = 9001;
    for (uint32_t i = 0; i < 4; i++)
        demo_account(&o->acct[i], 1001 + i);
    o->n_acct = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (xt_cli_is_help(a))
            return 1;
        if (strcmp(a, "--idle") == 0 || strcmp(a, "--json") == 0) {
            *(a[2] == 'i' ? &o->idle : &o->json) = 1;
            continue;
        }
        if (parse_valued(o, a, i + 1 < argc ? argv[i + 1] : NULL, &one) < 0)
            return -1;
        i++;
    }
    if (one.account || one.key_id[0] || one.secret[0]) {
        if (!one.account || !one.key_id[0] || !one.secret[0]) {
            fprintf(stderr, "xtrading loadgen: --account, --key-id and --secret go together\n");
            return -1;
        }
        o->acct[0] = one;
        o->n_acct = 1;
    }
    if ((uint64_t)o->session_base + o->conns - 1 > UINT32_MAX) {
        fprintf(stderr, "xtrading loadgen: --session-base + --connections is beyond 2^32\n");
        return -1;
    }
    return 0;
}

/* ---- setup ---- */

static void raise_nofile(uint32_t conns)
{
    uint64_t limit = xt_cli_raise_nofile();
    if (limit < (uint64_t)conns + 16)
        fprintf(stderr, "xtrading loadgen: warning: open file limit %llu is below %u connections\n",
                (unsigned long long)limit, conns);
}

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* Window sizes: outstanding requests and open orders per connection. */
static void size_windows(lg_t *lg)
{
    uint32_t open_loop = 131072 / lg->n;
    open_loop = open_loop < 32 ? 32 : open_loop > 2048 ? 2048 : open_loop;
    lg->max_out = lg->o.rate > 0 ? open_loop : lg->o.pipeline;
    lg->ring_mask = pow2_at_least(lg->max_out * 2) - 1;
    /* Open orders per connection: the connections' share of 60,000 per
     * account (under the server's default open_orders, 100,000), and at
     * most MIN_OPEN - or, closed loop, the pipeline if deeper: with fewer
     * than `pipeline` tracked orders every one could have a cancel in
     * flight, and the window could not fill. */
    uint32_t share = (uint32_t)(60000ULL * lg->o.n_acct / lg->n);
    uint32_t most = lg->o.rate == 0 && lg->o.pipeline > MIN_OPEN ? lg->o.pipeline : MIN_OPEN;
    lg->open_cap = share < 2 ? 2 : share > most ? most : share;
    lg->open_mask = pow2_at_least(lg->open_cap * 2) - 1;
    lg->interval_ns = lg->o.rate > 0 ? 1e9 / lg->o.rate : 0;
}

static int lg_setup(lg_t *lg)
{
    lg->n = lg->o.conns;
    size_windows(lg);
    passive_init();
    lg->c = calloc(lg->n, sizeof *lg->c);
    lg->dirty = calloc(lg->n, sizeof *lg->dirty);
    lg->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!lg->c || !lg->dirty || lg->ep < 0)
        return XT_ENOMEM;
    xt_hist_init(&lg->st.hist);
    for (uint32_t i = 0; i < lg->n; i++, lg->n_init++) {
        int rc = conn_init(lg, i);
        if (rc) {
            fprintf(stderr, "xtrading loadgen: %s:%u: %s\n", lg->o.host, lg->o.port,
                    rc == -ENOENT ? "host does not resolve" : xt_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void lg_teardown(lg_t *lg)
{
    lg->phase = PH_DONE;
    for (uint32_t i = 0; lg->c && i < lg->n; i++) {
        if (i < lg->n_init)
            xt_client_destroy(&lg->c[i].cl);
        free(lg->c[i].slots);
        free(lg->c[i].open);
        free(lg->c[i].open_ix);
    }
    if (lg->ep >= 0)
        close(lg->ep);
    free(lg->c);
    free(lg->dirty);
}

static int lg_run(lg_t *lg)
{
    connect_all(lg);
    if (lg->logged_in == 0) {
        fprintf(stderr, "xtrading loadgen: no connection could log in to %s:%u\n", lg->o.host, lg->o.port);
        return 1;
    }
    if (lg->o.idle) {
        run_idle(lg);
        if (lg->o.json)
            printf("{\"idle_sessions\": %u, \"failed_connections\": %u, \"lost_connections\": %llu}\n", lg->logged_in,
                   lg->failed, (unsigned long long)lg->st.lost);
        return 0;
    }
    if (lg->n_inst == 0) {
        fprintf(stderr, "xtrading loadgen: the server announced no instruments\n");
        return 1;
    }
    run_load(lg);
    lg->phase = PH_DONE;
    if (lg->o.json)
        print_json(lg);
    else
        print_text(lg);
    return 0;
}

int xt_cmd_loadgen(int argc, char **argv)
{
    lg_t *lg = calloc(1, sizeof *lg);
    if (!lg)
        return 1;
    lg->ep = -1;
    int rc = parse_opts(&lg->o, argc, argv);
    if (rc) {
        if (rc > 0)
            usage(stdout);
        else
            fprintf(stderr, "usage: xtrading loadgen [options]; 'xtrading loadgen --help' lists them\n");
        free(lg);
        return rc > 0 ? 0 : 2;
    }
    raise_nofile(lg->o.conns);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = lg_setup(lg) ? 1 : lg_run(lg);
    lg_teardown(lg);
    free(lg);
    return rc;
}
