/* engine_thread.c - the single writer: drains the inbound ring in batches,
 * journals and applies each request, commits the batch with one write and
 * (per policy) one fdatasync, then releases the batch's messages to the
 * gateway. Parks on an eventfd when idle; polls the ring first only with
 * server.busy_poll_us (busy_poll).
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): pthread_setname_np */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cpus.h"
#include "log.h"
#include "server.h"
#include "xt/error.h"

/* The ring's slots request r must leave free (docs/protocol.md,
 * OVERLOADED): one that adds work (a new order, an amend, a status
 * question) leaves the last eighth and a 32nd to those that take work
 * away, and a client's cancel leaves the last 32nd to the server's own (an
 * admin mass cancel, cancel on disconnect, band moves, session ends) - so
 * the cancels, and the operator's emergency mass cancel, are not starved
 * by the flood they are meant for. */
static uint64_t kept_free(const xt_req_ring_t *q, int kind)
{
    uint64_t size = (uint64_t)q->mask + 1;
    switch (kind) {
    case XT_REQ_NEW:
    case XT_REQ_AMEND:
    case XT_REQ_STATUS:
    case XT_REQ_OPEN_ORDERS: return size / 8 + size / 32;
    case XT_REQ_CANCEL:
    case XT_REQ_MASS_CANCEL: return size / 32;
    default: return 0;
    }
}

uint64_t xt_req_push(xt_server_t *s, const xt_req_t *r)
{
    xt_req_ring_t *q = &s->ring;
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (h - t + kept_free(q, r->kind) > q->mask)
        return 0;
    q->v[h & q->mask] = *r;
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    xt_engine_wake(s);
    return h + 1;
}

void xt_engine_wake(xt_server_t *s)
{
    if (atomic_exchange_explicit(&s->engine_sleeping, 0, memory_order_seq_cst)) { /* one wake-up per park */
        uint64_t one = 1;
        ssize_t n = write(s->engine_efd, &one, sizeof one);
        (void)n;
    }
}

static void wake_gateway(xt_server_t *s)
{
    uint64_t one = 1;
    ssize_t n = write(s->gateway_efd, &one, sizeof one);
    (void)n;
}

/* After a batch is released: a write(2) only when the gateway is parked
 * (or about to be). Pairs with the fence in xt_gateway_run: either the
 * gateway sees the new `released` before it blocks, or this sees it asleep. */
static void wake_gateway_if_parked(xt_server_t *s)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange_explicit(&s->gateway_sleeping, 0, memory_order_relaxed))
        wake_gateway(s);
}

void xt_req_rejected(const xt_req_t *r, int reason, xt_msg_rejected_t *m)
{
    *m = (xt_msg_rejected_t){r->clordid,
                             r->order_id, /* as sent */
                             (uint16_t)reason,
                             (uint8_t)xt_req_message(r->kind), /* a list of open orders is answered as ORDER_STATUS */
                             r->kind == XT_REQ_NEW || r->kind == XT_REQ_MASS_CANCEL ? r->instrument : 0,
                             0};
}

static void reply_reject(xt_server_t *s, const xt_req_t *r, int reason)
{
    uint8_t f[XT_WIRE_MAX];
    xt_msg_rejected_t m;
    xt_req_rejected(r, reason, &m);
    if (reason > 0 && reason < XT_R_GATEWAY_MAX_)
        xt_ctr_add(&s->met.eng_rejects[reason], 1);
    size_t n = xt_wire_put_rejected(f, 0, 0, &m);
    xt_sessions_ephemeral(&s->sessions, r->account, r->session, r->conn, f, (uint16_t)n);
}

/* The journal failed: from now on no order is accepted (fail closed) until
 * a restart. Said once, with why, in the log; /readyz and the
 * xt_journal_failed gauge say it too. */
static void journal_fail(xt_server_t *s)
{
    if (atomic_load_explicit(&s->journal_failed, memory_order_relaxed))
        return;
    const char *why = xt_journal_failed(&s->journal);
    why = why ? why : "unknown";
    snprintf(s->journal_why, sizeof s->journal_why, "the journal failed closed: no orders are accepted (%s)", why);
    atomic_store(&s->journal_failed, 1); /* after journal_why: a reader that sees the flag sees the text */
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_ERROR, "the journal failed closed: no order is accepted until a restart")) {
        xt_log_str(&e, "data", s->cfg.data_dir);
        xt_log_str(&e, "reason", why);
        xt_log_end(&e);
    }
}

/* Journals and applies one command; answers the request itself when the
 * command cannot be journaled. Returns what the journal did (0: applied). */
static int submit(xt_server_t *s, const xt_req_t *r, xt_cmd_t *c)
{
    c->ts = s->batch_ts;
    xt_sessions_begin(&s->sessions, c);
    int rc = xt_journal_submit(&s->journal, c, s->batch_mono);
    if (rc == XT_EFAILED) {
        journal_fail(s);
        if (r)
            reply_reject(s, r, XT_R_JOURNAL_FAILED);
    } else if (rc != 0 && r) {
        reply_reject(s, r, XT_R_INVALID_FIELD);
    }
    xt_sessions_begin(&s->sessions, NULL);
    return rc;
}

/* The order a request names: by order id, or by clordid in its session
 * (XT_ORDER_ID_UNKNOWN when that names none). */
static int64_t target(xt_server_t *s, const xt_req_t *r)
{
    if (r->order_id)
        return r->order_id;
    uint32_t i = xt_sessions_find(&s->sessions, r->account, r->session);
    int64_t id = i == XT_NIL ? 0 : xt_sessions_order_by_clordid(&s->sessions, i, r->orig_clordid);
    return id ? id : XT_ORDER_ID_UNKNOWN;
}

/* A command from a session the table has no room for would be applied
 * without an answer: it is refused instead (CAPACITY, unsequenced). The
 * gateway admits no more sessions than the table holds, so this is a
 * safety net; its lookup runs only when the table is full. */
static int no_room(xt_server_t *s, const xt_req_t *r)
{
    if (!xt_sessions_full(&s->sessions) || xt_sessions_find(&s->sessions, r->account, r->session) != XT_NIL)
        return 0;
    reply_reject(s, r, XT_R_CAPACITY);
    return 1;
}

/* Is instrument i halted (gw_admin.c)? The gateway set the flag before it
 * pushed any request that must see it: the ring's release/acquire orders
 * them. */
static int halted(const xt_server_t *s, uint32_t i)
{
    return i < s->n_instruments && atomic_load_explicit(&s->halted[i], memory_order_relaxed);
}

static void on_new(xt_server_t *s, const xt_req_t *r)
{
    if (halted(s, r->instrument)) {
        reply_reject(s, r, XT_R_HALTED);
        return;
    }
    if (xt_sessions_account_open(&s->sessions, r->account) >=
        atomic_load_explicit(&s->open_orders_limit, memory_order_relaxed)) {
        reply_reject(s, r, XT_R_OPEN_ORDER_LIMIT);
        return;
    }
    if (no_room(s, r))
        return;
    xt_cmd_t c = {.type = XT_CMD_NEW, .session = r->session, .clordid = r->clordid};
    c.u.new_order = (xt_order_new_t){(int64_t)xt_journal_next_seq(&s->journal),
                                     r->account,
                                     r->instrument,
                                     r->side,
                                     r->type,
                                     r->tif,
                                     r->stp,
                                     r->price,
                                     r->qty};
    submit(s, r, &c);
}

static void on_cancel(xt_server_t *s, const xt_req_t *r)
{
    if (no_room(s, r))
        return;
    xt_cmd_t c = {.type = XT_CMD_CANCEL, .session = r->session, .clordid = r->clordid};
    c.u.cancel = (xt_order_cancel_t){target(s, r), r->account};
    submit(s, r, &c);
}

static void on_amend(xt_server_t *s, const xt_req_t *r)
{
    if (no_room(s, r))
        return;
    int64_t id = target(s, r), price = r->price;
    xt_order_info_t o;
    int found = xt_engine_order(&s->engine, id, &o) == 0;
    if (found && o.account == r->account) { /* else the core says NOT_OWNER */
        int why = r->check_instrument && o.instrument != r->instrument ? XT_R_WRONG_INSTRUMENT /* another's units */
                  : halted(s, o.instrument)                            ? XT_R_HALTED
                                                                       : 0;
        if (why) {
            reply_reject(s, r, why);
            return;
        }
    }
    if (price == 0)
        price = found ? o.price : XT_PRICE_NONE;
    xt_cmd_t c = {.type = XT_CMD_AMEND, .session = r->session, .clordid = r->clordid};
    c.u.amend = (xt_order_amend_t){id, r->account, price, r->qty};
    submit(s, r, &c);
}

/* Adds to s->cancel_ids (holding n) the open orders of session i, of one
 * instrument or of all (UINT32_MAX), up to XT_CANCEL_ROUND. Returns the
 * new count. */
static uint32_t collect(xt_server_t *s, uint32_t i, uint32_t instrument, uint32_t n)
{
    const xt_sessions_t *ss = &s->sessions;
    for (uint32_t k = ss->sess[i].open_head; k != XT_NIL && n < XT_CANCEL_ROUND; k = ss->refs[k].next) {
        xt_order_info_t o;
        int64_t id = ss->refs[k].order_id;
        if (instrument == UINT32_MAX || (xt_engine_order(&s->engine, id, &o) == 0 && o.instrument == instrument))
            s->cancel_ids[n++] = id;
    }
    return n;
}

/* Cancels the open orders of one session (or, when only_sess is XT_NIL, of
 * all the account's sessions), of one instrument or all. Each cancel is its
 * own journaled command from the order's own session. Returns how many went. */
static uint32_t cancel_all(xt_server_t *s, uint32_t account, uint32_t only_sess, uint32_t instrument)
{
    uint32_t done = 0;
    for (;;) { /* in rounds: the lists change as orders go */
        uint32_t n = 0;
        if (only_sess != XT_NIL)
            n = collect(s, only_sess, instrument, 0);
        else
            for (uint32_t i = xt_sessions_account_first(&s->sessions, account); i != XT_NIL;
                 i = s->sessions.sess[i].acct_next)
                n = collect(s, i, instrument, n);
        uint32_t round = 0;
        for (uint32_t k = 0; k < n; k++) {
            const xt_ordref_t *ref = xt_sessions_ref(&s->sessions, s->cancel_ids[k]);
            xt_cmd_t c = {.type = XT_CMD_CANCEL, .session = s->sessions.sess[ref->sess].number};
            c.u.cancel = (xt_order_cancel_t){s->cancel_ids[k], account};
            submit(s, NULL, &c);
            round += xt_sessions_ref(&s->sessions, s->cancel_ids[k]) == NULL;
        }
        done += round;
        if (round == 0 || atomic_load(&s->journal_failed))
            return done;
    }
}

static void on_mass_cancel(xt_server_t *s, const xt_req_t *r)
{
    uint32_t n = cancel_all(s, r->account, XT_NIL, r->instrument);
    uint8_t f[XT_WIRE_MAX];
    xt_msg_mass_cancel_ack_t m = {r->clordid, n};
    size_t len = xt_wire_put_mass_cancel_ack(f, 0, &m);
    xt_sessions_ephemeral(&s->sessions, r->account, r->session, r->conn, f, (uint16_t)len);
}

static void status_reply(xt_server_t *s, const xt_req_t *r, const xt_msg_status_reply_t *m)
{
    uint8_t f[XT_WIRE_MAX];
    size_t len = xt_wire_put_status_reply(f, 0, m);
    xt_sessions_ephemeral(&s->sessions, r->account, r->session, r->conn, f, (uint16_t)len);
}

/* The STATUS_REPLY to r about open order id (placed as clordid). */
static xt_msg_status_reply_t open_reply(const xt_req_t *r, int64_t id, uint64_t clordid, const xt_order_info_t *o)
{
    return (xt_msg_status_reply_t){r->clordid, id,     clordid,  o->instrument, XT_OS_OPEN, o->side,
                                   o->type,    o->tif, o->price, o->qty,        o->filled};
}

static void on_status(xt_server_t *s, const xt_req_t *r)
{
    int64_t id = target(s, r);
    xt_order_info_t o;
    xt_msg_status_reply_t m = {.request_id = r->clordid};
    if (id != XT_ORDER_ID_UNKNOWN && xt_engine_order(&s->engine, id, &o) == 0 && o.account == r->account) {
        const xt_ordref_t *ref = xt_sessions_ref(&s->sessions, id);
        m = open_reply(r, id, ref ? ref->clordid : 0, &o);
    }
    status_reply(s, r, &m);
}

/* The account's open orders, from every session, then the end marker
 * (XT_STATUS_LIST_OPEN). */
static void on_open_orders(xt_server_t *s, const xt_req_t *r)
{
    const xt_sessions_t *ss = &s->sessions;
    uint32_t listed = 0, left = 0;
    for (uint32_t i = xt_sessions_account_first(ss, r->account); i != XT_NIL; i = ss->sess[i].acct_next)
        for (uint32_t k = ss->sess[i].open_head; k != XT_NIL; k = ss->refs[k].next) {
            xt_order_info_t o;
            if (listed == XT_OPEN_ORDERS_MAX) {
                left++;
                continue;
            }
            if (xt_engine_order(&s->engine, ss->refs[k].order_id, &o) != 0)
                continue; /* not open: cannot happen, the open lists follow the book */
            xt_msg_status_reply_t m = open_reply(r, ss->refs[k].order_id, ss->refs[k].clordid, &o);
            status_reply(s, r, &m);
            listed++;
        }
    xt_msg_status_reply_t end = {.request_id = r->clordid, .filled = left};
    status_reply(s, r, &end);
}

/* The gateway found the session gone (docs/protocol.md#session-lifecycle).
 * Without open orders, and with no message made since the last one the
 * gateway had routed (r->clordid: say, a mass cancel of the account that
 * was ahead in the ring cancelled its orders), it is forgotten - journaled,
 * so that recovery forgets it at the same point - else kept. Either way the
 * gateway gets the answer in the outlog, in order with the session's
 * messages. */
static void on_session_end(xt_server_t *s, const xt_req_t *r)
{
    uint32_t i = xt_sessions_find(&s->sessions, r->account, r->session);
    const xt_sess_t *x = i == XT_NIL ? NULL : &s->sessions.sess[i];
    if (x && x->n_open == 0 && x->next_seq - 1 == r->clordid) {
        xt_cmd_t c = {.type = XT_CMD_SESSION_END};
        c.u.session_end = (xt_session_end_t){r->account, r->session};
        submit(s, NULL, &c);
        i = xt_sessions_find(&s->sessions, r->account, r->session);
    }
    xt_sessions_answer(&s->sessions, r->account, r->session, i == XT_NIL ? XT_OL_ENDED : XT_OL_KEPT);
}

/* A SIGHUP moved r->instrument's band (gw_bands.c): its definition in
 * force with the band r carries, journaled. The outcome goes to the
 * gateway in its place among the answers (outlog.h, XT_OL_BAND). */
static void on_band_move(xt_server_t *s, const xt_req_t *r)
{
    xt_instrument_info_t in;
    int rc = xt_engine_instrument(&s->engine, r->instrument, &in);
    if (rc == 0) {
        xt_cmd_t c = {.type = XT_CMD_INSTRUMENT};
        c.u.instrument = in.def;
        xt_req_band(r, &c.u.instrument);
        rc = submit(s, NULL, &c);
    }
    xt_sessions_control(&s->sessions, (uint32_t)-rc, r->instrument, XT_OL_BAND);
}

static void handle(xt_server_t *s, const xt_req_t *r)
{
    if (atomic_load_explicit(&s->journal_failed, memory_order_relaxed) && r->kind != XT_REQ_STATUS &&
        r->kind != XT_REQ_OPEN_ORDERS) {
        if (xt_req_from_client(r->kind))             /* (the gateway's own: it sees journal_failed itself) */
            reply_reject(s, r, XT_R_JOURNAL_FAILED); /* released only if a later commit succeeds: none will */
        return;
    }
    switch (r->kind) {
    case XT_REQ_NEW: on_new(s, r); break;
    case XT_REQ_CANCEL: on_cancel(s, r); break;
    case XT_REQ_AMEND: on_amend(s, r); break;
    case XT_REQ_MASS_CANCEL: on_mass_cancel(s, r); break;
    case XT_REQ_STATUS: on_status(s, r); break;
    case XT_REQ_OPEN_ORDERS: on_open_orders(s, r); break;
    case XT_REQ_SESSION_END: on_session_end(s, r); break;
    case XT_REQ_SESSION_SEQ: xt_sessions_answer(&s->sessions, r->account, r->session, XT_OL_SEQ); break;
    case XT_REQ_ADMIN_CANCEL:             /* an operator's (gw_admin.c): the count goes back in admin_canceled */
        assert(r->conn < XT_ADMIN_CONNS); /* the admin slot that asked; a release build still checks */
        uint32_t n = cancel_all(s, r->account, XT_NIL, r->instrument);
        if (r->conn < XT_ADMIN_CONNS)
            atomic_store_explicit(&s->admin_canceled[r->conn], n, memory_order_relaxed);
        break;
    case XT_REQ_BAND_MOVE: on_band_move(s, r); break;
    case XT_REQ_SESSION_CANCEL: {
        uint32_t i = xt_sessions_find(&s->sessions, r->account, r->session);
        if (i != XT_NIL)
            cancel_all(s, r->account, i, UINT32_MAX);
        break;
    }
    default: break;
    }
}

/* server.busy_poll_us: polls the ring, while less than that has passed
 * since the last batch (s->batch_mono), for 10 ms at most: the loop's
 * journal tick, snapshot requests and market-data resyncs keep the pace
 * the sleep in park gives them. Meanwhile engine_sleeping stays 0, so the
 * gateway makes no write(2) to wake it. Returns 0 once the window is
 * over (park then sleeps), else 1. */
static int busy_poll(xt_server_t *s)
{
    xt_req_ring_t *q = &s->ring;
    int64_t now = xt_mono_ns(), end = s->batch_mono + (int64_t)s->cfg.busy_poll_us * 1000;
    if (now >= end)
        return 0;
    if (end - now > 10000000)
        end = now + 10000000;
    for (uint32_t k = 1;; k++) {
        if (atomic_load_explicit(&q->head, memory_order_acquire) !=
                atomic_load_explicit(&q->tail, memory_order_relaxed) ||
            atomic_load_explicit(&s->stop_engine, memory_order_relaxed))
            return 1;
        if ((k & 63) == 0 && xt_mono_ns() >= end) /* a clock read per 64 looks */
            return 1;
        xt_cpu_relax();
    }
}

/* Waits for work: a request, or the next journal tick. */
static void park(xt_server_t *s)
{
    if (s->cfg.busy_poll_us && busy_poll(s))
        return;
    atomic_store(&s->engine_sleeping, 1);
    xt_req_ring_t *q = &s->ring;
    if (atomic_load(&q->head) == atomic_load(&q->tail) && !atomic_load(&s->stop_engine)) {
        struct pollfd p = {s->engine_efd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0) {
            uint64_t v;
            ssize_t n = read(s->engine_efd, &v, sizeof v);
            (void)n;
        }
    }
    atomic_store(&s->engine_sleeping, 0);
}

/* The engine thread is in the journal's write or sync (since `since`),
 * or out of it (0): xt_journal_stalled_seconds, and the gateway's log of
 * a stall (gateway.c journal_watch), read it. A disk that hangs shows
 * while it hangs, not only once its sync returns. */
static void journal_busy(xt_server_t *s, int64_t since)
{
    atomic_store_explicit(&s->met.journal_busy_since, since, memory_order_relaxed);
}

/* Back-pressure: the gateway must have read most of the outlog before the
 * engine writes more, so nothing unread is overwritten. */
static void wait_for_gateway(xt_server_t *s)
{
    while (s->log.head - atomic_load(&s->log.consumed) > s->log.cap / 2 && !atomic_load(&s->engine_done)) {
        wake_gateway(s);
        struct timespec t = {0, 100000};
        nanosleep(&t, NULL);
    }
}

/* The test hooks' sleeps (debug.engine_delay_us, commit_delay_us). */
static void sleep_us(uint32_t us)
{
    struct timespec d = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&d, NULL);
}

void xt_server_sink(void *ctx, const xt_event_batch_t *b)
{
    xt_server_t *s = ctx;
    if (atomic_load_explicit(&s->met.running, memory_order_relaxed)) /* not what recovery replays */
        for (uint32_t i = 0; i < b->n; i++) {
            const xt_event_t *e = &b->events[i];
            if (e->type == XT_EV_TRADE)
                xt_ctr_add(&s->met.trades, 1);
            else if (e->type == XT_EV_REJECTED && e->reason < XT_R_GATEWAY_MAX_)
                xt_ctr_add(&s->met.eng_rejects[e->reason], 1);
        }
    xt_sessions_sink(&s->sessions, b);
    if (s->md_feed.on)
        xt_md_feed_batch(&s->md_feed, b);
    else /* recovery: market data replays these from its state at the snapshot (md_state.c) */
        xt_md_replay_add(&s->md_replay, b);
}

/* Instrument i's book as of command `last`: a reset record (type 0, else
 * the INSTRUMENT event of the band in force: a lost band move's), then its
 * levels as BOOK events, best first, up to md.max_levels a side (what
 * market data keeps), the last record flagged `last`, so market data takes
 * reset and levels as one change and sends the net difference. At most
 * 1 + 2 * md.max_levels records. */
static void resync_book(xt_server_t *s, uint32_t i, uint64_t last)
{
    xt_md_feed_t *f = &s->md_feed;
    xt_event_t ev[XT_EVENT_BATCH_MAX];
    if (xt_engine_instrument_event(&s->engine, i, &ev[0]) != 0)
        ev[0] = (xt_event_t){.instrument = i, .price = XT_PRICE_NONE};
    ev[0].type = XT_MD_FEED_RESET;
    uint32_t k = 1;
    for (int side = XT_BUY; side <= XT_SELL; side++) {
        xt_level_iter_t it;
        xt_level_info_t l;
        xt_level_iter_init(&it, &s->engine, i, (xt_side_t)side);
        for (uint32_t taken = 0; taken < s->cfg.md_max_levels && xt_level_iter_next(&it, &l); taken++) {
            if (k == XT_EVENT_BATCH_MAX) { /* written before the next, so the last call always has one */
                xt_md_feed_raw(f, ev, k, last, s->batch_ts, 0);
                k = 0;
            }
            ev[k++] = (xt_event_t){.type = XT_EV_BOOK,
                                   .side = (uint8_t)side,
                                   .instrument = i,
                                   .price = l.price,
                                   .qty = l.qty,
                                   .u.level.orders = l.orders};
        }
    }
    xt_md_feed_raw(f, ev, k, last, s->batch_ts, 1); /* k >= 1: its last record flagged last */
}

/* The market-data thread lost events (the feed was full) and asks for the
 * books again: those of the instruments whose events were lost (md_feed.h,
 * `lost`), and those it asked to have refilled (`want`). They are written instrument by instrument, each as of the
 * last command applied, as long as half the ring stays free for the live
 * commands' events: an instrument whose records at most (1 + 2 *
 * md.max_levels) do not fit in what is left of that half waits for the
 * next turn of the loop (after the next batch, or an idle tick; no book is
 * walked twice to count it), and commands go
 * on meanwhile (the engine never waits for market data). A resync never
 * drops records of its own, which would ask for another resync, for ever:
 * one instrument's fits in half the ring (xt_config_check). */
static void md_resync(xt_server_t *s)
{
    xt_md_feed_t *f = &s->md_feed;
    if (!atomic_load_explicit(&s->md_resync, memory_order_acquire) ||
        atomic_load(&s->journal_failed)) { /* the books may hold commands never released */
        f->covered_from = UINT32_MAX;
        return;
    }
    uint64_t cap = f->mask + 1, used = f->wpos - atomic_load_explicit(&f->tail, memory_order_acquire);
    if (used >= cap / 2)
        return;
    uint64_t budget = cap / 2 - used;
    /* Records lost so far (only this thread writes the feed) belong to
     * commands applied by now: this pass writes every marked book as of one
     * of them or later, so they need no other resync. (Market data reset the
     * count when it asked, but a command still being applied then may have
     * lost more after: without this, a second resync.) Losses between the
     * pass's turns count only for the books it has passed (f->covered_from):
     * market data then asks again, for those. */
    if (s->md_resync_next == 0) {
        atomic_store_explicit(&f->dropped, 0, memory_order_relaxed);
        (void)atomic_exchange(&f->want_any, 0); /* the refills asked so far: this pass sees them (an acquire) */
    }
    uint32_t n = xt_engine_instrument_count(&s->engine);
    xt_engine_stats_t st;
    xt_engine_stats(&s->engine, &st);
    uint64_t last = st.last_seq; /* every command applied is released here: the books as of this one */
    uint64_t most = 1 + 2 * (uint64_t)s->cfg.md_max_levels;              /* an instrument's records at most */
    for (uint32_t i = s->md_resync_next; i < n && budget >= most; i++) { /* written only where the most fits */
        s->md_resync_next = f->covered_from = i + 1; /* a loss of its own from here on needs another pass */
        if (i >= f->n_lost)
            continue;
        int refill = atomic_load_explicit(&f->want[i], memory_order_relaxed) &&
                     atomic_exchange_explicit(&f->want[i], 0, memory_order_relaxed);
        if (!f->lost[i] && !refill)
            continue;
        f->lost[i] = 0;
        uint64_t before = f->wpos;
        resync_book(s, i, last);
        budget -= f->wpos - before;
    }
    xt_md_feed_publish(f);
    if (s->md_resync_next < n) {
        f->covered_from = s->md_resync_next; /* the books still to write, as of a later command */
        return;
    }
    s->md_resync_next = 0;
    f->covered_from = UINT32_MAX;
    atomic_store(&s->md_resync, 0); /* market data may ask again: for events lost meanwhile */
    /* A refill asked during the pass may be for a book it had passed. Read
     * after the store above: a refill asked after this read sets md_resync
     * after it too. */
    if (atomic_exchange(&f->want_any, 0))
        atomic_store(&s->md_resync, 1);
}

/* Each of the journal's syncs once the server is ready, as it is made (on
 * the engine thread, xt_wal_t.on_sync): xt_journal_fsync_seconds. */
static void sync_timed(void *met, uint64_t us)
{
    xt_phist_add(&((xt_metrics_t *)met)->fsync, us);
}

/* The journal's syncs and snapshots, and now and then the books' sizes,
 * for GET /metrics (metrics.h). */
static void publish_metrics(xt_server_t *s)
{
    xt_metrics_t *x = &s->met;
    const xt_journal_t *j = &s->journal;
    int64_t now = xt_mono_ns();
    atomic_store_explicit(&x->fsyncs, j->wal.syncs, memory_order_relaxed); /* (each timed as made: sync_timed) */
    atomic_store_explicit(&x->unsynced, j->wal.written_seq - j->wal.synced_seq, memory_order_relaxed);
    /* A timed snapshot not written because the newest holds every command
     * counts as one: the journal tail recovery would replay is no longer. */
    if (j->snapshots + j->snapshots_current != x->seen_snapshots) {
        x->seen_snapshots = j->snapshots + j->snapshots_current;
        atomic_store_explicit(&x->last_snapshot_mono, now, memory_order_relaxed);
    }
    atomic_store_explicit(&x->snapshots, j->snapshots, memory_order_relaxed);
    atomic_store_explicit(&x->snapshot_failures, j->snapshot_failures, memory_order_relaxed);
    if (j->spare.missed != atomic_load_explicit(&x->spare_misses, memory_order_relaxed)) { /* a roll missed */
        atomic_store_explicit(&x->spare_misses, j->spare.missed, memory_order_relaxed);    /* only this thread writes */
        char state[160];
        xt_log_ev_t e;
        if (xt_log_begin(&e, XT_LOG_WARN,
                         "journal: no preallocated segment was ready at a roll; it grows by "
                         "appending (slower syncs) until one is")) {
            xt_log_u64(&e, "misses", j->spare.missed);
            xt_log_str(&e, "spare", xt_spare_state(&s->journal.spare, state, sizeof state));
            xt_log_end(&e);
        }
    }
    atomic_store_explicit(&x->fork_ns_last, j->fork_ns_last, memory_order_relaxed);
    if (now - x->last_books < 1000000000LL)
        return;
    x->last_books = now;
    for (uint32_t i = 0; i < x->n_inst; i++) { /* O(levels): once a second */
        uint64_t orders = 0, levels = 0;
        for (int side = XT_BUY; side <= XT_SELL; side++) {
            xt_level_iter_t it;
            xt_level_info_t l;
            xt_level_iter_init(&it, &s->engine, i, (xt_side_t)side);
            while (xt_level_iter_next(&it, &l)) {
                orders += l.orders;
                levels++;
            }
        }
        atomic_store_explicit(&x->resting[i], orders, memory_order_relaxed);
        atomic_store_explicit(&x->levels[i], levels, memory_order_relaxed);
    }
}

#define XT_REQ_PREFETCH 4 /* requests ahead (one 64-byte line each) */

/* Handles requests t .. t+n-1 of the ring. One of them, at a position
 * that moves from batch to batch, is timed for xt_engine_command_seconds
 * (two clock reads per batch, not per request). */
static void apply_batch(xt_server_t *s, uint64_t t, uint64_t n)
{
    xt_req_ring_t *q = &s->ring;
    uint64_t probe = s->met.batches++ % n;
    for (uint64_t k = 0; k < n; k++) {
        /* The gateway wrote these slots on the other core: ask for one a few
         * requests ahead, so that its line is here when its turn comes (perf:
         * a quarter of handle's time was the wait on a request's first byte).
         * Only within the batch: a slot past it may still be being written. */
        if (k + XT_REQ_PREFETCH < n)
            __builtin_prefetch(&q->v[(t + k + XT_REQ_PREFETCH) & q->mask]);
        if (k != probe) {
            handle(s, &q->v[(t + k) & q->mask]);
            continue;
        }
        int64_t t0 = xt_mono_ns();
        handle(s, &q->v[(t + k) & q->mask]);
        int64_t d = xt_mono_ns() - t0;
        xt_phist_add(&s->met.command, d > 0 ? (uint64_t)d : 0);
    }
}

static void *engine_main(void *arg)
{
    xt_server_t *s = arg;
    xt_req_ring_t *q = &s->ring;
    /* Named for top -H, perf and /proc/PID/task/TID/comm. */
    xt_cpus_pin(&s->cpus->engine, "engine"); /* before the name: a thread named is a thread pinned */
    pthread_setname_np(pthread_self(), "xt-engine");
    s->journal.wal.on_sync = sync_timed;
    s->journal.wal.on_sync_ctx = &s->met;
    s->met.seen_snapshots = s->journal.snapshots + s->journal.snapshots_current;
    atomic_store_explicit(&s->met.fsyncs, s->journal.wal.syncs, memory_order_relaxed);
    for (;;) {
        publish_metrics(s);
        if (atomic_exchange(&s->snapshot_request, 0)) {
            int64_t t0 = xt_mono_ns();
            journal_busy(s, t0); /* its sync first */
            xt_journal_snapshot(&s->journal, t0);
            journal_busy(s, 0);
        }
        md_resync(s);
        uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        if (h == t) {
            if (atomic_load(&s->stop_engine)) {
                /* The ring read again once the stop is seen: a request the
                 * gateway pushed before it set the stop may have come after
                 * h was read, and is done and answered first (it could be
                 * left in the ring, taken and never answered). */
                if (atomic_load_explicit(&q->head, memory_order_acquire) == t)
                    break;
                continue;
            }
            int64_t t0 = xt_mono_ns();
            journal_busy(s, t0); /* an interval sync, a snapshot */
            int rc = xt_journal_tick(&s->journal, t0);
            journal_busy(s, 0);
            if (rc == XT_EFAILED)
                journal_fail(s);
            park(s);
            continue;
        }
        wait_for_gateway(s);
        uint64_t n = h - t < s->cfg.journal.batch_max ? h - t : s->cfg.journal.batch_max;
        atomic_store(&s->md_feed.batch_open, XT_MD_BATCH_STARTING); /* before the clock read: md_feed.h */
        s->batch_ts = xt_market_ns(); /* one clock read per batch: its commands share the timestamp */
        atomic_store(&s->md_feed.batch_open, s->batch_ts);
        s->batch_mono = xt_mono_ns();
        apply_batch(s, t, n);
        atomic_store_explicit(&q->tail, t + n, memory_order_release);
        if (s->cfg.commit_delay_us) /* a test hook: a disk that takes this long, the batch stamped before it */
            sleep_us(s->cfg.commit_delay_us);
        int64_t applied = xt_mono_ns();
        xt_phist_add(&s->met.batch, (uint64_t)(applied - s->batch_mono) / 1000);
        journal_busy(s, applied);
        int rc = xt_journal_commit(&s->journal, applied);
        journal_busy(s, 0);
        if (rc != 0) {
            journal_fail(s); /* nothing of this batch is released, ever */
            xt_md_feed_discard(&s->md_feed);
        } else {
            xt_outlog_release(&s->log);
            xt_md_feed_publish(&s->md_feed);
            atomic_store_explicit(&s->answered, t + n, memory_order_release);
            wake_gateway_if_parked(s);
        }
        atomic_store(&s->md_feed.batch_open, XT_MD_NO_BATCH); /* after the publish: its events are there to read */
        if (atomic_load(&s->journal_failed))
            wake_gateway(s);
        if (s->cfg.engine_delay_us)
            sleep_us(s->cfg.engine_delay_us);
    }
    atomic_store(&s->met.running, 0);
    atomic_store(&s->engine_done, 1);
    wake_gateway(s);
    return NULL;
}

int xt_engine_thread_start(xt_server_t *s)
{
    return pthread_create(&s->engine_thread, NULL, engine_main, s) == 0 ? 0 : -1;
}

void xt_engine_thread_join(xt_server_t *s)
{
    atomic_store(&s->stop_engine, 1);
    uint64_t one = 1;
    ssize_t n = write(s->engine_efd, &one, sizeof one);
    (void)n;
    pthread_join(s->engine_thread, NULL);
}
