/* gw_sessions.c - the gateway's session table and the session lifecycle
 * (docs/protocol.md#session-lifecycle; see gateway_internal.h).
 *
 * An entry exists while a session is connected, has something a client may
 * still resume, or has open orders. It is created at LOGIN (counted against
 * server.max_sessions and server.max_sessions_per_account) or when the
 * engine reports a message for a session it does not hold. A session is
 * *gone* when it has no connection, no login waiting for it, no request in
 * flight, no cancel-on-disconnect pending, and a full token bucket (so a
 * new session is no way around the rate limit); then:
 *
 *   - never had a sequenced message: the engine does not know it, the entry
 *     is freed at once;
 *   - logged out with every message sent, or disconnected for
 *     server.session_expiry_s with its last message out of the resume
 *     window: the engine is asked to end it (XT_REQ_SESSION_END). It does so
 *     - journaled, so recovery does too - unless the session has open
 *     orders. The entry is freed when the answer is routed; a LOGIN to the
 *     session meanwhile waits for it (last_ticket), and then finds a new
 *     session (sequence numbers and client order ids from the start).
 */
#include <stdlib.h>
#include <string.h>

#include "core/le.h"
#include "core/pages.h"
#include "gateway_internal.h"

static uint32_t sess_bucket(const xt_gw_t *g, uint32_t account, uint32_t number)
{
    uint64_t x = ((uint64_t)account << 32 | number) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(x >> 32) & g->mask;
}

uint32_t xt__gw_sess_find(const xt_gw_t *g, uint32_t account, uint32_t number)
{
    for (uint32_t i = g->buckets[sess_bucket(g, account, number)]; i != XT_NIL; i = g->sess[i].hnext)
        if (g->sess[i].account == account && g->sess[i].number == number)
            return i;
    return XT_NIL;
}

uint32_t xt__gw_sess_new(xt_gw_t *g, uint32_t account, uint32_t number, int64_t now)
{
    /* at most max_sessions accounts have a session: acct_sessions has room */
    if (g->live_sess == g->max_sess || xt__gw_counts_inc(&g->acct_sessions, account) != 0)
        return XT_NIL;
    uint32_t i = g->free_sess;
    if (i != XT_NIL)
        g->free_sess = g->sess[i].hnext;
    else
        i = g->n_sess++;
    g->live_sess++;
    xt_gw_sess_t *x = &g->sess[i];
    memset(x, 0, sizeof *x);
    x->account = account;
    x->number = number;
    x->conn = x->closing_conn = XT_NIL;
    x->gone_ns = now;
    x->seen_gen = g->loss_gen; /* new to the gateway now: what the engine says of it comes after */
    uint32_t b = sess_bucket(g, account, number);
    x->hnext = g->buckets[b];
    g->buckets[b] = i;
    return i;
}

static void sess_free(xt_gw_t *g, uint32_t i)
{
    xt_gw_sess_t *x = &g->sess[i];
    uint32_t *p = &g->buckets[sess_bucket(g, x->account, x->number)];
    while (*p != i)
        p = &g->sess[*p].hnext;
    *p = x->hnext;
    xt__gw_counts_dec(&g->acct_sessions, x->account);
    memset(x, 0, sizeof *x);
    x->conn = x->closing_conn = XT_NIL;
    x->hnext = g->free_sess;
    g->free_sess = i;
    g->live_sess--;
}

/* ---- lifecycle ------------------------------------------------------------- */

uint32_t xt__gw_login_waiting(const xt_gw_t *g, const xt_gw_sess_t *x)
{
    for (uint32_t k = 0; k < g->n_waiting; k++) {
        if (xt__gw_login_waits_for(&g->conns[g->waiting[k]], x->account, x->number))
            return g->waiting[k];
    }
    return XT_NIL;
}

/* Would the token bucket be full by now? */
static int bucket_full(const xt_server_t *s, const xt_gw_sess_t *x, int64_t now)
{
    if (x->refill_ns == 0)
        return 1;
    return x->tokens + (double)(now - x->refill_ns) * 1e-9 * s->cfg.rate >= (double)s->cfg.burst;
}

/* Is the session's last message out of the outlog (nothing left to resume)?
 * Positions below consumed - cap have been written over. */
static int aged_out(const xt_server_t *s, const xt_gw_sess_t *x)
{
    uint64_t routed = atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
    return x->last_pos1 == 0 || (routed > s->log.cap && x->last_pos1 - 1 < routed - s->log.cap);
}

/* Queues a question about a session (XT_REQ_SESSION_END, _SEQ), whose
 * answer is a control slot in the outlog: at most a quarter of its slots
 * in answers not yet routed, so that a burst of them (the logins after a
 * RESYNC, the sessions of a sweep) cannot overflow it and lose messages.
 * The ticket, or 0 when that many wait or the ring is full. */
static uint64_t ask(xt_server_t *s, const xt_req_t *r)
{
    xt_gw_t *g = s->gw;
    if (g->asks && g->answered >= g->ask_last)
        g->asks = 0; /* all answered */
    if (g->asks >= (s->log.cap + 3) / 4)
        return 0;
    uint64_t ticket = xt_req_push(s, r);
    if (ticket) {
        g->asks++;
        g->ask_last = ticket;
    }
    return ticket;
}

void xt__gw_check_session(xt_server_t *s, uint32_t si, int64_t now)
{
    xt_gw_t *g = s->gw;
    xt_gw_sess_t *x = &g->sess[si];
    if (g->stopping || atomic_load_explicit(&s->journal_failed, memory_order_relaxed) || x->account == 0 ||
        x->conn != XT_NIL || x->ending || x->cod_pending || x->last_ticket > g->answered || !bucket_full(s, x, now))
        return;
    /* Decided on the numbers the gateway has. After lost messages they may
     * be behind the engine's (xt__gw_seq_unknown), but that errs only
     * towards acting - a last_seq of 0, one equal to logout_seq, an older
     * last_pos1 (aged out) - so a session to forget or end is asked about
     * first and decided again, and one that stays is not asked at all (an
     * ask for every session gone after a loss would be a burst of answers
     * of its own). */
    int forget = x->last_seq == 0; /* nothing journaled from it: the engine does not know it */
    int logged_out = x->logged_out && x->last_seq == x->logout_seq;
    int expired = now - x->gone_ns >= (int64_t)s->cfg.session_expiry_s * 1000000000 && aged_out(s, x);
    /* (a login waiting for it: a walk of the waiting list, only for a session the sweep would act on) */
    if ((!forget && !logged_out && !expired) || xt__gw_login_waiting(g, x) != XT_NIL || xt__gw_seq_unknown(s, si))
        return;
    if (forget)
        return sess_free(g, si);
    xt_req_t r = {.kind = XT_REQ_SESSION_END, .account = x->account, .session = x->number, .clordid = x->last_seq};
    uint64_t ticket = ask(s, &r);
    if (!ticket)
        return; /* too many asked, or the ring is full: a later sweep asks again */
    x->ending = 1;
    x->last_ticket = ticket;
}

int xt__gw_seq_unknown(xt_server_t *s, uint32_t si)
{
    xt_gw_t *g = s->gw;
    if (si == XT_NIL)
        return 0;
    xt_gw_sess_t *x = &g->sess[si];
    /* once the journal failed nothing more is answered (nor sent) */
    if (x->seen_gen == g->loss_gen || g->failed_seen)
        return 0;
    if (x->last_ticket > g->answered) /* asked, or its requests' answers may tell */
        return 1;
    xt_req_t r = {.kind = XT_REQ_SESSION_SEQ, .account = x->account, .session = x->number};
    uint64_t ticket = ask(s, &r);
    if (ticket) /* else asked at the next look: the login waits, the sweep comes by again */
        x->last_ticket = ticket;
    return 1;
}

void xt__gw_sweep(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    for (uint32_t k = 0; k < XT_GW_SWEEP && k < g->n_sess; k++) {
        if (g->sweep_at >= g->n_sess)
            g->sweep_at = 0;
        xt__gw_check_session(s, g->sweep_at++, now);
    }
}

void xt__gw_on_control(xt_server_t *s, const xt_outlog_slot_t *sl, int64_t now)
{
    xt_gw_t *g = s->gw;
    uint32_t si = xt__gw_sess_find(g, sl->account, sl->session);
    if (si == XT_NIL)
        return;
    xt_gw_sess_t *x = &g->sess[si];
    if (sl->conn == XT_OL_SEQ || sl->conn == XT_OL_KEPT) { /* the engine's numbers, as of this place in the log */
        x->last_seq = xt_get64(sl->frame);
        x->last_pos1 = xt_get64(sl->frame + 8);
        x->seen_gen = g->loss_gen;
    }
    if (sl->conn == XT_OL_SEQ || !x->ending)
        return;
    x->ending = 0;
    if (sl->conn == XT_OL_ENDED && x->conn == XT_NIL) /* a login meanwhile waits for this answer: no connection */
        return sess_free(g, si);
    /* kept: it has open orders; looked at again after another expiry period */
    x->logged_out = 0;
    x->gone_ns = now;
}

/* ---- start and end ----------------------------------------------------------- */

int xt__gw_sessions_init(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    g->max_sess = s->cfg.max_sessions;
    g->free_sess = XT_NIL;
    g->mask = 1;
    while (g->mask < 2 * g->max_sess)
        g->mask <<= 1;
    g->buckets = malloc(sizeof *g->buckets * g->mask);
    g->mask -= 1;
    g->sess = xt_pages_alloc(sizeof *g->sess * g->max_sess, XT_PAGES_NOFORK); /* a snapshot never reads it */
    g->pending_cod = calloc(g->max_sess, sizeof *g->pending_cod);
    if (!g->buckets || !g->sess || !g->pending_cod || xt__gw_counts_init(&g->acct_sessions, g->max_sess) != 0)
        return -1;
    memset(g->buckets, 0xff, sizeof *g->buckets * (g->mask + 1));
    /* the sessions as recovered; their history is not routed again */
    const xt_sessions_t *t = &s->sessions;
    for (uint32_t k = 0; k < t->n_sessions; k++) {
        const xt_sess_t *e = &t->sess[k];
        if (e->account == 0)
            continue;
        uint32_t i = xt__gw_sess_new(g, e->account, e->number, now);
        if (i == XT_NIL)
            return -1;
        g->sess[i].last_seq = e->next_seq - 1;
        g->sess[i].last_pos1 = e->last_pos1;
        g->sess[i].last_clordid = e->last_clordid;
    }
    atomic_store(&s->log.consumed, atomic_load(&s->log.released));
    return 0;
}

void xt__gw_sessions_destroy(xt_gw_t *g)
{
    free(g->buckets);
    xt__gw_counts_destroy(&g->acct_sessions);
    xt_pages_free(g->sess);
    free(g->pending_cod);
}
