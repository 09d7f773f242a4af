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

#include "cli.h"
#include "histogram.h"
#include "xt/client.h"
#include "xt/error.h"
#include "xt/types.h"

#define MAX_INST 256
#define MAX_OPEN 64          /* tracked open orders per connection */
#define MAX_ACCOUNTS 64
#define CONNECT_WINDOW 512   /* connections connecting / logging in at once */
#define PORTS_PER_SOURCE 20000
#define FIXED_MID 3000000    /* ticks, for instruments without a band */
#define DRAIN_NS 2000000000LL
#define TICK_NS 250000000LL
#define LATE_NS 1000000LL

enum { REQ_NEW, REQ_CANCEL, REQ_AMEND };
enum { PH_CONNECT, PH_RUN, PH_DRAIN, PH_DONE };

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
    uint32_t outstanding, owed, n_open;
    int64_t owed_sched;
    lg_slot_t *slots;
    lg_open_t open[MAX_OPEN];
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
    uint32_t n, ring_mask, max_out, open_cap;
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
    g_stop = 1;
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

static lg_open_t *open_find(lg_conn_t *c, uint64_t clordid)
{
    for (uint32_t i = 0; i < c->n_open; i++)
        if (c->open[i].clordid == clordid)
            return &c->open[i];
    return NULL;
}

static void open_remove(lg_conn_t *c, lg_open_t *o)
{
    if (o)
        *o = c->open[--c->n_open];
}

/* A random open order with no cancel/amend in flight, or NULL. */
static lg_open_t *open_pick(lg_conn_t *c)
{
    if (c->n_open == 0)
        return NULL;
    uint32_t start = (uint32_t)(rnd(c) % c->n_open);
    for (uint32_t i = 0; i < c->n_open; i++) {
        lg_open_t *o = &c->open[(start + i) % c->n_open];
        if (!o->pending)
            return o;
    }
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

static void build_new(lg_t *lg, lg_conn_t *c, xt_msg_new_order_t *m, uint32_t *inst_idx)
{
    *inst_idx = (uint32_t)(rnd(c) % lg->n_inst);
    const lg_inst_t *in = &lg->inst[*inst_idx];
    int buy = (int)(rnd(c) & 1);
    int64_t d;
    if (rnd(c) % 10 == 0) {
        d = -(int64_t)(rnd(c) % 3) - 1; /* crossing: 1..3 ticks through the middle */
    } else {
        d = (int64_t)pow(rnd01(c), -1.0 / 1.5); /* passive, P(d > x) = x^-1.5 */
        d = d > 200 ? 200 : d;
    }
    m->instrument = in->id;
    m->side = buy ? XT_BUY : XT_SELL;
    m->type = XT_LIMIT;
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
    if (type == REQ_NEW && c->n_open >= lg->open_cap)
        type = REQ_CANCEL; /* keep the book per connection bounded */
    *target = type == REQ_NEW ? NULL : open_pick(c);
    if (type != REQ_NEW && !*target)
        type = c->n_open >= lg->open_cap ? -1 : REQ_NEW;
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
