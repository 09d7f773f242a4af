/* gw_login.c - LOGIN on the gateway: checks, takeover, and the resume
 * (see gateway_internal.h).
 *
 * A resume is a cursor into the outlog, not a copy: LOGIN finds the
 * position of the first message to resend (walking the session's chain
 * back), and from then on the connection is topped up from that position
 * whenever its queue is below a high-water mark (half of
 * server.output_limit, at most 256 KiB), reading forward and taking the
 * session's sequenced messages and the engine's answers to this
 * connection. Live messages for the session that are routed meanwhile are
 * not queued directly: they are in the outlog behind the cursor, which
 * reaches them in order. When the cursor catches up with the routing
 * position the connection goes live. So a resume of any size holds at most
 * the high-water mark in memory, never trips SLOW_CONSUMER, and keeps the
 * session's messages in sequence order without a gap or a duplicate.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#include "gateway_internal.h"

#define RESUME_QUEUE (256u << 10) /* bytes a resume keeps queued at most */
#define RESUME_SCAN 65536u        /* outlog positions all top-ups of one loop iteration read, about */
#define RESUME_SCAN_MIN 64u       /* ... but one connection's top-up at least this many */

static void login_reject(xt_server_t *s, uint32_t i, int reason, uint64_t oldest)
{
    xt_msg_login_rejected_t m = {(uint16_t)reason, oldest};
    uint8_t f[XT_WIRE_MAX];
    const xt_gw_conn_t *c = &s->gw->conns[i];
    /* seq: 0 before login; on a session's connection (ALREADY_LOGGED_IN) its last number, as any unsequenced message */
    uint64_t seq = c->state == C_HELLO ? 0 : xt__gw_last_seq(s->gw, c);
    xt__gw_send_last(s, i, f, xt_wire_put_login_rejected(f, seq, &m));
}

static int signature_ok(const xt_cred_t *cr, const xt_gw_conn_t *c, const xt_msg_login_t *m)
{
    uint8_t msg[XT_LOGIN_SIGNED_LEN], mac[32];
    unsigned maclen = 0;
    xt_wire_login_signed_bytes(msg, c->nonce, m->account, m->key_id, m->session, m->timestamp_ns);
    if (!HMAC(EVP_sha256(), cr->sign_key, 32, msg, sizeof msg, mac, &maclen) || maclen != 32)
        return 0;
    return CRYPTO_memcmp(mac, m->signature, 32) == 0;
}

/* The outlog position of the session's message `from` (<= last_seq), found
 * by walking its chain back. Returns 0, or -1 with *oldest (the oldest
 * number still kept, 0 if none) when the outlog no longer holds it.
 * The chain is checked when a snapshot loads (sessions.c), but the walk
 * does not rely on it: it ends where a link does not go strictly back or
 * leaves the session, or at a position the log no longer holds (its slot's
 * stamp) - so at most as many steps as the log has slots, whatever the log
 * or last_seq hold. */
static int resume_start(xt_server_t *s, const xt_gw_sess_t *x, uint64_t from, uint64_t *pos, uint64_t *oldest)
{
    uint64_t want = x->last_seq - from + 1, n = 0, pos1 = x->last_pos1;
    *oldest = 0;
    while (n < want && pos1) {
        xt_outlog_slot_t sl;
        if (xt_outlog_read(&s->log, pos1 - 1, &sl) != 0 || sl.account != x->account || sl.session != x->number)
            break;
        xt_wire_hdr_t h;
        if (xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) <= 0)
            break;
        *oldest = h.seq;
        *pos = pos1 - 1;
        n++;
        if (sl.prev1 >= pos1)
            break; /* not back: the walk ends here, short of `want` */
        pos1 = sl.prev1;
    }
    return n == want ? 0 : -1;
}

static uint64_t resume_high(const xt_server_t *s)
{
    uint64_t h = s->cfg.output_limit / 2;
    return h < RESUME_QUEUE ? h : RESUME_QUEUE;
}

/* Tops connection i up from its resume cursor, up to the high-water mark,
 * `scan` positions at most; live once the cursor reaches the routing
 * position. */
static void refill(xt_server_t *s, uint32_t i, uint32_t scan)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    const xt_gw_sess_t *x = &g->sess[c->sess];
    uint64_t end = atomic_load_explicit(&s->log.consumed, memory_order_relaxed), high = resume_high(s);
    for (uint32_t k = 0; c->rs_pos < end && c->out_bytes < high && k < scan && c->state == C_LIVE; k++) {
        /* Before login_pos only the session's own messages matter (its
         * engine answers come after): past the last of them, the cursor
         * skips the other sessions' messages in between. */
        if (c->rs_seq >= c->rs_last && c->rs_pos < c->login_pos)
            c->rs_pos = c->login_pos;
        if (c->rs_pos >= end)
            break;
        xt_outlog_slot_t sl;
        uint64_t p = c->rs_pos++;
        if (xt_outlog_read(&s->log, p, &sl) != 0)
            return xt__gw_error(s, i, XT_ERR_RESYNC, "the resume fell behind server.resume_messages; resume again");
        if (sl.account != x->account || sl.session != x->number || (sl.flags & XT_OL_CONTROL))
            continue;
        if (sl.flags & XT_OL_EPHEMERAL) { /* an engine answer: this connection's if sent since its login */
            if (sl.conn == i && p >= c->login_pos)
                xt__gw_send(s, i, sl.frame, sl.len);
            continue;
        }
        xt_wire_hdr_t h;
        if (xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) <= 0 || h.seq != c->rs_seq + 1)
            return xt__gw_error(s, i, XT_ERR_RESYNC, "the resumed messages are not in sequence; resume again");
        c->rs_seq = h.seq;
        xt__gw_send(s, i, sl.frame, sl.len);
    }
    if (c->rs_pos >= end && c->state == C_LIVE)
        c->resuming = 0;
}

void xt__gw_refill_all(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    uint64_t high = resume_high(s);
    uint32_t n0 = g->n_resuming;
    if (n0 == 0)
        return;
    /* A resume reads every position from its cursor on, its session's or
     * not: the reads of all of them together are bounded, so that many
     * resumes at once do not hold up the live traffic of one iteration.
     * Past RESUME_SCAN / RESUME_SCAN_MIN resumes (1,024), one iteration
     * tops up that many, from a place that moves round: the bound holds
     * however many resume at once (thousands after a restart), each in
     * its turn. */
    uint32_t scan = RESUME_SCAN / n0 > RESUME_SCAN_MIN ? RESUME_SCAN / n0 : RESUME_SCAN_MIN;
    uint32_t most = RESUME_SCAN / scan < n0 ? RESUME_SCAN / scan : n0;
    uint32_t k = most < n0 ? g->resume_turn % n0 : 0;
    int logout = 0;
    for (uint32_t done = 0; done < most && g->n_resuming > 0; done++) {
        if (k >= g->n_resuming)
            k = 0;
        uint32_t i = g->resuming[k];
        xt_gw_conn_t *c = &g->conns[i];
        if (c->state == C_LIVE && c->resuming && c->out_bytes < high)
            refill(s, i, scan);
        if (c->state == C_LIVE && c->resuming) {
            k++;
            continue;
        }
        c->resuming = 0; /* done, or closing */
        g->resuming[k] = g->resuming[--g->n_resuming];
        logout |= c->state == C_LIVE && c->close_after;
    }
    g->resume_turn = k;
    if (logout) /* its ACK waited for the resume */
        xt__gw_finish_waiting(s, now);
}

int xt__gw_resume_ready(const xt_server_t *s)
{
    const xt_gw_t *g = s->gw;
    uint64_t high = resume_high(s);
    for (uint32_t k = 0; k < g->n_resuming; k++) {
        const xt_gw_conn_t *c = &g->conns[g->resuming[k]];
        if (c->state != C_LIVE || !c->resuming || c->out_bytes < high)
            return 1; /* to top up, or to take off the list */
    }
    return 0;
}

void xt__gw_resume_stop(xt_gw_t *g, uint32_t i)
{
    g->conns[i].resuming = 0;
    for (uint32_t k = 0; k < g->n_resuming; k++)
        if (g->resuming[k] == i) {
            g->resuming[k] = g->resuming[--g->n_resuming];
            return;
        }
}

/* The session LOGIN m names: found, or new if the limits allow. XT_NIL
 * after rejecting the login. */
static uint32_t login_session(xt_server_t *s, uint32_t i, const xt_msg_login_t *m, int64_t now)
{
    xt_gw_t *g = s->gw;
    uint32_t si = xt__gw_sess_find(g, m->account, m->session);
    if (si != XT_NIL)
        return si;
    if (m->resume_from > 1)
        login_reject(s, i, XT_LR_RESUME_AHEAD, 0); /* a new session's next number is 1 */
    else if (xt__gw_counts_get(&g->acct_sessions, m->account) >= s->cfg.max_sessions_per_account)
        login_reject(s, i, XT_LR_SESSION_LIMIT, 0);
    else if ((si = xt__gw_sess_new(g, m->account, m->session, now)) == XT_NIL)
        login_reject(s, i, XT_LR_TOO_MANY_SESSIONS, 0);
    return si;
}

/* Instrument k's INSTRUMENT frame into out, with status halted and seq. */
static void instrument_frame(const xt_server_t *s, uint32_t k, int halted, uint64_t seq, uint8_t *out)
{
    memcpy(out, s->instrument_frames[k], XT_LEN_INSTRUMENT);
    xt_wire_set_instrument_status(out, halted);
    xt_wire_set_seq(out, 0, seq);
}

/* LOGIN_ACCEPTED and the instrument list. */
static void send_accepted(xt_server_t *s, uint32_t i, const xt_gw_sess_t *x, int resend)
{
    const xt_gw_conn_t *c = &s->gw->conns[i];
    const xt_msg_login_t *m = &c->login;
    uint8_t out[XT_WIRE_MAX];
    xt_msg_login_accepted_t a = {m->session,      c->heartbeat_ms, x->last_seq + 1, resend ? m->resume_from : 0,
                                 x->last_clordid, s->n_instruments};
    xt__gw_send(s, i, out, xt_wire_put_login_accepted(out, x->last_seq, &a));
    for (uint32_t k = 0; k < s->n_instruments; k++) { /* the status as of this login: */
        instrument_frame(s, k, atomic_load_explicit(&s->halted[k], memory_order_relaxed), x->last_seq, out);
        xt__gw_send(s, i, out, XT_LEN_INSTRUMENT);
    }
}

/* Called on the gateway thread, which also finishes logins: a connection
 * is either logged in before the flag changed (and gets this) or after
 * (and its list at login has the new status). */
void xt__gw_status_update(xt_server_t *s, uint32_t k, int halted)
{
    xt_gw_t *g = s->gw;
    uint8_t out[XT_WIRE_MAX];
    for (uint32_t i = 0; i < g->max_conns; i++) {
        const xt_gw_conn_t *c = &g->conns[i];
        if (c->state != C_LIVE || !c->status_updates)
            continue;
        instrument_frame(s, k, halted, xt__gw_last_seq(g, c), out);
        xt__gw_send(s, i, out, XT_LEN_INSTRUMENT);
    }
}

/* Accepts a checked login: takes the session over, answers, starts the
 * resume. */
static void finish_login(xt_server_t *s, uint32_t i, int64_t now)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    const xt_msg_login_t *m = &c->login;
    uint32_t si = login_session(s, i, m, now);
    if (si == XT_NIL)
        return;
    xt_gw_sess_t *x = &g->sess[si];
    uint64_t start = 0, oldest = 0;
    int resend = m->resume_from && m->resume_from <= x->last_seq;
    if (m->resume_from > x->last_seq + 1)
        return login_reject(s, i, XT_LR_RESUME_AHEAD, 0);
    if (resend && resume_start(s, x, m->resume_from, &start, &oldest) != 0)
        return login_reject(s, i, XT_LR_RESUME_TOO_OLD, oldest);
    if (x->conn != XT_NIL && x->conn != i) {
        xt__gw_error(s, x->conn, XT_ERR_TAKEN_OVER, "a newer connection logged in to this session");
        g->conns[x->conn].sess = XT_NIL; /* no cancel-on-disconnect for a takeover */
    }
    x->conn = i;
    x->gone_ns = 0;
    x->logged_out = 0;
    if (x->refill_ns == 0) {
        x->tokens = s->cfg.burst;
        x->refill_ns = now;
    }
    c->sess = si;
    c->state = C_LIVE;
    c->cod = (m->flags & XT_LOGIN_CANCEL_ON_DISCONNECT) != 0;
    c->status_updates = (m->flags & XT_LOGIN_STATUS_UPDATES) != 0;
    c->login_pos = atomic_load_explicit(&s->log.consumed, memory_order_relaxed);
    if (m->heartbeat_ms)
        c->heartbeat_ms = m->heartbeat_ms;
    send_accepted(s, i, x, resend);
    if (resend) {
        c->resuming = 1;
        c->rs_pos = start;
        c->rs_seq = m->resume_from - 1;
        c->rs_last = x->last_seq;
        g->resuming[g->n_resuming++] = i;
        refill(s, i, RESUME_SCAN_MIN);
    }
}

/* Does the session have requests the engine has not answered yet? Its new
 * connection waits for their answers (they come first, in order). Once the
 * journal failed none will come (that batch is never released): the login
 * goes ahead, and their outcome is unknown to the client (docs/protocol.md). */
int xt__gw_in_flight(const xt_server_t *s, uint32_t si)
{
    const xt_gw_t *g = s->gw;
    return si != XT_NIL && g->sess[si].last_ticket > g->answered && !g->failed_seen; /* (told RESYNC by then) */
}

int xt__gw_close_after(xt_server_t *s, uint32_t i, int what)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    if (c->state != C_LIVE)
        return 0;
    /* A LOGOUT waits for a resume still running too: the answers to the
     * requests before it come after the resent messages (it took LOGOUT_ACK
     * at once, the rest of the resume and those answers cut off). A kick
     * does not: a slow reader's resume would hold it (docs/admin.md). */
    int in_flight = xt__gw_in_flight(s, c->sess);
    if (what == C_AFTER_KICK ? c->resuming || !in_flight : !c->resuming && !in_flight)
        return 0;
    c->close_after = (uint8_t)what; /* listed once: it takes nothing more (on_frame) */
    g->waiting[g->n_waiting++] = i;
    return 1;
}

void xt__gw_kick(xt_server_t *s, uint32_t i)
{
    xt_gw_conn_t *c = &s->gw->conns[i];
    if (c->close_after) {  /* closes once its answers are out: as its LOGOUT asked, or kicked */
        if (c->resuming) { /* a LOGOUT waiting for its resume: a kick does not wait for one */
            xt__gw_unwait(s->gw, i);
            xt__gw_logout(s, i);
        }
        return;
    }
    /* (WebSocket and REST sessions' bridges too: market data reads a
     * bridge to its end, the ERROR after the answers, md_oe.c
     * xt__oe_send_first.) */
    if (!xt__gw_close_after(s, i, C_AFTER_KICK))
        xt__gw_error(s, i, XT_ERR_KICKED, KICKED_TEXT);
}

void xt__gw_unwait(xt_gw_t *g, uint32_t i)
{
    for (uint32_t k = 0; k < g->n_waiting; k++)
        if (g->waiting[k] == i) { /* listed once: a C_HELLO login, or a live one's LOGOUT or kick */
            g->waiting[k] = g->waiting[--g->n_waiting];
            return;
        }
}

void xt__gw_login(xt_server_t *s, uint32_t i, const uint8_t *f, int64_t now)
{
    xt_gw_t *g = s->gw;
    xt_gw_conn_t *c = &g->conns[i];
    xt_msg_login_t *m = &c->login;
    if (c->state != C_HELLO) /* a second LOGIN (one before the first's answer leaves the waiting list at its close) */
        return login_reject(s, i, XT_LR_ALREADY_LOGGED_IN, 0);
    xt_wire_get_login(f, m);
    if (g->stopping)
        return login_reject(s, i, XT_LR_SHUTTING_DOWN, 0);
    if (m->version != XT_WIRE_VERSION)
        return login_reject(s, i, XT_LR_BAD_VERSION, 0);
    if (m->session == 0 || m->account == 0 || (m->heartbeat_ms && (m->heartbeat_ms < 100 || m->heartbeat_ms > 60000)))
        return login_reject(s, i, XT_LR_BAD_FIELD, 0);
    const xt_cred_t *cr = xt_creds_find(&s->creds, m->account, m->key_id);
    if (!cr)
        return login_reject(s, i, XT_LR_UNKNOWN_KEY, 0);
    int64_t now_ns = xt_now_ns(); /* the distance in uint64_t: any i64 timestamp the client sends fits */
    uint64_t skew = m->timestamp_ns >= now_ns ? (uint64_t)m->timestamp_ns - (uint64_t)now_ns
                                              : (uint64_t)now_ns - (uint64_t)m->timestamp_ns;
    if (!c->trusted && skew > (uint64_t)s->cfg.login_skew_ms * 1000000)
        return login_reject(s, i, XT_LR_CLOCK_SKEW, 0);
    if (!c->trusted && !signature_ok(cr, c, m))
        return login_reject(s, i, XT_LR_BAD_SIGNATURE, 0);
    RAND_bytes(c->nonce, sizeof c->nonce); /* the nonce is spent */
    uint32_t si = xt__gw_sess_find(g, m->account, m->session);
    if (xt__gw_in_flight(s, si) || xt__gw_seq_unknown(s, si)) {
        c->state = C_LOGIN_WAIT; /* also while the session is ending: then it starts anew */
        g->waiting[g->n_waiting++] = i;
        return;
    }
    finish_login(s, i, now);
}

void xt__gw_finish_waiting(xt_server_t *s, int64_t now)
{
    xt_gw_t *g = s->gw;
    for (uint32_t k = 0; k < g->n_waiting;) {
        uint32_t i = g->waiting[k];
        xt_gw_conn_t *c = &g->conns[i];
        if (c->close_after) { /* a LOGOUT's ACK or a kick's ERROR, once the requests before are answered */
            if (c->state == C_LIVE && (xt__gw_in_flight(s, c->sess) || c->resuming)) { /* (a LOGOUT's resume) */
                k++;
                continue;
            }
            g->waiting[k] = g->waiting[--g->n_waiting];
            int what = c->close_after;
            c->close_after = C_AFTER_NONE;
            if (c->state == C_LIVE && what == C_AFTER_KICK)
                xt__gw_error(s, i, XT_ERR_KICKED, KICKED_TEXT);
            else if (c->state == C_LIVE)
                xt__gw_logout(s, i);
            continue;
        }
        uint32_t si = xt__gw_sess_find(g, c->login.account, c->login.session);
        if (c->state == C_LOGIN_WAIT && (xt__gw_in_flight(s, si) || xt__gw_seq_unknown(s, si))) {
            k++;
            continue;
        }
        g->waiting[k] = g->waiting[--g->n_waiting];
        if (c->state == C_LOGIN_WAIT) {
            c->last_recv = now; /* its input was left unread meanwhile: the server's wait, not the client's silence */
            finish_login(s, i, now);
            xt__gw_events(s, i); /* what it sent behind the LOGIN is read now */
        }
    }
}
