/* gw_admin.c - the admin socket (docs/admin.md): a Unix stream socket
 * (server.admin_socket, mode 0600) served by the gateway thread's epoll
 * loop, for `xtrading admin`.
 *
 * Up to XT_ADMIN_CONNS connections; one more gets an error line and is
 * closed. Each sends request lines (admin_cmd.h) and gets one JSON object
 * per line back, in order: the next line is read only once the answer to
 * the last one is written. A line longer than XT_ADMIN_LINE_MAX closes the
 * connection after an error answer. A mass cancel goes through the
 * engine's inbound ring (XT_REQ_ADMIN_CANCEL) and is answered once the
 * engine has released it; a full ring is an error answer at once. Nothing
 * here blocks: sockets are non-blocking, and an answer that the client
 * does not read stays in its buffer (XT_ADMIN_OUT) until it does.
 *
 * Everything is allocated at open; serving allocates nothing.
 */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin_cmd.h"
#include "gateway_internal.h"
#include "halts.h"
#include "log.h"
#include "md_encode.h"
#include "xt/decimal.h"
#include "xt/error.h"

#define XT_ADMIN_OUT 131072   /* bytes of one answer at most: `instruments` of 256 at any scale */
#define XT_ADMIN_LIST_MAX 256 /* sessions listed in one answer at most */

typedef struct adm_conn {
    int fd; /* -1: free */
    uint32_t inlen;
    uint32_t out_at, out_len;
    uint32_t events;    /* the epoll mask it is registered with */
    uint64_t ticket;    /* a mass cancel waiting for the engine, 0: none */
    uint64_t halt_save; /* a halt or resume waiting for its file (xt_halts_saved), 0: none */
    uint8_t halt_want, halt_changed;
    uint8_t eof;                    /* the client sent its last byte */
    uint8_t closing;                /* closed once the answer is written */
    uint8_t draining;               /* answered, its side shut (FIN): what the client still sends is dropped */
    int64_t drain_until;            /* monotonic ns: then it is closed, its end of input or not */
    int64_t last_active;            /* monotonic ns: accepted, or the client's last bytes (make_room) */
    int64_t last_out;               /* monotonic ns: accepted, or the last bytes of an answer written */
    xt_admin_cmd_t pending;         /* the mass cancel the ticket is for */
    char in[XT_ADMIN_LINE_MAX + 2]; /* a longest line, its \r (not counted) and one byte more */
    char out[XT_ADMIN_OUT];
} adm_conn_t;

typedef struct xt_gw_admin {
    int fd; /* the listening socket */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev; /* the socket file made at start: removed at the stop only if the path is still it */
    ino_t ino;
    uint32_t n_conns, n_waiting; /* open; with a ticket or a halt's save */
    uint32_t n_draining;         /* draining (see adm_conn_t) */
    adm_conn_t c[XT_ADMIN_CONNS];
} xt_gw_admin_t;

/* ---- the answer ------------------------------------------------------------- */

/* Appends s as a JSON string. */
static void json_str(xt_text_t *t, const char *s)
{
    char b[512];
    if (xt_md_json_string(b, sizeof b, s) == 0)
        t->over = 1;
    else
        xt_text_printf(t, "%s", b);
}

static xt_text_t answer_begin(adm_conn_t *a)
{
    return (xt_text_t){a->out, sizeof a->out - 1, 0, 0};
}

/* Ends the answer (one line) and queues it; an answer that did not fit
 * becomes an error answer. */
static void answer_end(adm_conn_t *a, xt_text_t *t)
{
    if (t->over) {
        *t = answer_begin(a);
        xt_text_printf(t, "{\"ok\":false,\"error\":\"the answer is too large\"}");
    }
    a->out[t->len++] = '\n';
    a->out_at = 0;
    a->out_len = (uint32_t)t->len;
}

static void answer_error(adm_conn_t *a, const char *why)
{
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":false,\"error\":");
    json_str(&t, why);
    xt_text_printf(&t, "}");
    answer_end(a, &t);
}

/* ---- the commands ------------------------------------------------------------ */

static void cmd_help(adm_conn_t *a)
{
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"commands\":[");
    for (int op = XT_ADM_HELP; op < XT_ADM_OPS_; op++) {
        xt_text_printf(&t, "%s", op > XT_ADM_HELP ? "," : "");
        json_str(&t, xt_admin_op_usage(op));
    }
    xt_text_printf(&t, "]}");
    answer_end(a, &t);
}

static const char *conn_state(const xt_gw_conn_t *c)
{
    switch (c->state) {
    case C_HELLO: return "hello";
    case C_LOGIN_WAIT: return "login_wait";
    case C_LIVE: return c->resuming ? "resuming" : "live";
    default: return "closing";
    }
}

/* The connection shown for x: its own; else one closing (its last bytes
 * leaving), or one whose LOGIN to it waits; XT_NIL: none. */
static uint32_t shown_conn(const xt_gw_t *g, const xt_gw_sess_t *x)
{
    if (x->conn != XT_NIL)
        return x->conn;
    return x->closing_conn != XT_NIL ? x->closing_conn : xt__gw_login_waiting(g, x);
}

static void peer_json(xt_text_t *t, const xt_gw_conn_t *c)
{
    if (c->adopted) /* WebSocket or REST order entry, bridged by the md thread (md_oe.h) */
        xt_text_printf(t, ",\"peer\":\"%s\"", c->trusted ? "rest" : "websocket");
    else
        xt_text_printf(t, ",\"peer\":\"%u.%u.%u.%u\"", c->ip >> 24, (c->ip >> 16) & 255, (c->ip >> 8) & 255,
                       c->ip & 255);
}

static void session_json(xt_server_t *s, xt_text_t *t, const xt_gw_sess_t *x)
{
    const xt_gw_t *g = s->gw;
    uint32_t ci = shown_conn(g, x);
    xt_text_printf(t, "{\"account\":%u,\"session\":%u,\"connected\":%s", x->account, x->number,
                   ci != XT_NIL ? "true" : "false");
    if (ci != XT_NIL) {
        const xt_gw_conn_t *c = &g->conns[ci];
        peer_json(t, c);
        xt_text_printf(t, ",\"state\":\"%s\"", conn_state(c));
    } else {
        int64_t gone = x->gone_ns ? (xt_mono_ns() - x->gone_ns) / 1000000000 : 0;
        xt_text_printf(t, ",\"disconnected_s\":%lld", (long long)gone);
    }
    xt_text_printf(t, ",\"last_seq\":%llu,\"last_clordid\":%llu,\"logged_out\":%s}", (unsigned long long)x->last_seq,
                   (unsigned long long)x->last_clordid, x->logged_out ? "true" : "false");
}

/* A connection that logged in to a session and is shut (its write side:
 * its last bytes leaving, the client not yet taking them). */
static int is_shut_logged_in(const xt_gw_conn_t *c)
{
    return c->state == C_CLOSING && c->fin && c->sess != XT_NIL;
}

/* The row of a connection whose session ended with it (lingering_conn):
 * only what the connection knows - the session's numbers went with it. */
static void ended_session_json(xt_text_t *t, const xt_gw_conn_t *c)
{
    xt_text_printf(t, "{\"account\":%u,\"session\":%u,\"connected\":true", c->login.account, c->login.session);
    peer_json(t, c);
    xt_text_printf(t, ",\"state\":\"closing\",\"ended\":true}");
}

/* sessions [ACCOUNT]: the gateway's session table, then the connections of
 * sessions that ended with them (so that every connection `stats` counts
 * for a session, and each one `kick` can reach, is seen);
 * XT_ADMIN_LIST_MAX rows at most. */
static void cmd_sessions(xt_server_t *s, adm_conn_t *a, uint32_t account)
{
    const xt_gw_t *g = s->gw;
    xt_text_t t = answer_begin(a);
    uint32_t listed = 0, omitted = 0;
    xt_text_printf(&t, "{\"ok\":true,\"sessions\":[");
    for (uint32_t i = 0; i < g->n_sess; i++) {
        const xt_gw_sess_t *x = &g->sess[i];
        if (x->account == 0 || (account && x->account != account))
            continue;
        if (listed == XT_ADMIN_LIST_MAX) {
            omitted++;
            continue;
        }
        xt_text_printf(&t, "%s", listed++ ? "," : "");
        session_json(s, &t, x);
    }
    for (uint32_t i = 0; i < g->max_conns; i++) {
        const xt_gw_conn_t *c = &g->conns[i];
        if (!is_shut_logged_in(c) || (account && c->login.account != account))
            continue;
        uint32_t si = xt__gw_sess_find(g, c->login.account, c->login.session);
        if (si != XT_NIL && shown_conn(g, &g->sess[si]) == i) /* its session's row shows it */
            continue;
        if (listed == XT_ADMIN_LIST_MAX) {
            omitted++;
            continue;
        }
        xt_text_printf(&t, "%s", listed++ ? "," : "");
        ended_session_json(&t, c);
    }
    xt_text_printf(&t, "],\"listed\":%u,\"omitted\":%u}", listed, omitted);
    answer_end(a, &t);
}

/* A connection of session account/session shut (its write side: its last
 * bytes leaving) after the session ended with it - one with nothing to
 * keep goes at once, so no session shows it "closing" - whose client is
 * not taking those bytes; XT_NIL if none. Found by the login it made. */
static uint32_t lingering_conn(const xt_gw_t *g, uint32_t account, uint32_t session)
{
    for (uint32_t i = 0; i < g->max_conns; i++) {
        const xt_gw_conn_t *c = &g->conns[i];
        if (is_shut_logged_in(c) && c->login.account == account && c->login.session == session)
            return i;
    }
    return XT_NIL;
}

static void cmd_kick(xt_server_t *s, adm_conn_t *a, const xt_admin_cmd_t *cmd)
{
    xt_gw_t *g = s->gw;
    uint32_t si = xt__gw_sess_find(g, cmd->account, cmd->session);
    uint32_t ci = si == XT_NIL ? XT_NIL : shown_conn(g, &g->sess[si]);
    char why[128];
    uint32_t lingering = ci == XT_NIL ? lingering_conn(g, cmd->account, cmd->session) : XT_NIL;
    if (ci == XT_NIL && lingering == XT_NIL) {
        snprintf(why, sizeof why, "session %u/%u is %s", cmd->account, cmd->session,
                 si == XT_NIL ? "not known" : "not connected");
        return answer_error(a, why);
    }
    /* Every login that waits for the session is refused as a live
     * connection is kicked: one waiting for a disconnected session's
     * requests in flight (a second behind the first), and one taking over
     * the live connection kicked here - else it was logged in once the
     * kicked one's answers were out (a key revoked, then kicked, went on
     * trading through it). */
    for (uint32_t k = g->n_waiting; k-- > 0;) { /* from the end: xt__gw_unwait moves the last into k */
        uint32_t w = g->waiting[k];
        if (xt__gw_login_waits_for(&g->conns[w], cmd->account, cmd->session)) {
            xt__gw_unwait(g, w);
            xt__gw_error(s, w, XT_ERR_KICKED, KICKED_TEXT);
        }
    }
    if (lingering != XT_NIL) /* kicked once, its session gone with it: reset, as one shown "closing" is */
        xt__gw_close(s, lingering);
    else if (ci == g->sess[si].conn)
        xt__gw_kick(s, ci);
    else if (ci == g->sess[si].closing_conn) /* its last bytes in the socket, the client not taking them: */
        xt__gw_close(s, ci);                 /* a stop's drain it holds */
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"kicked\":{\"account\":%u,\"session\":%u}}", cmd->account, cmd->session);
    answer_end(a, &t);
}

/* halt / resume SYMBOL: the flag the engine thread checks. */
static void cmd_halt(xt_server_t *s, adm_conn_t *a, const xt_admin_cmd_t *cmd)
{
    uint32_t i = xt_server_find_symbol(s, cmd->symbol);
    if (i == XT_NIL) {
        char why[64];
        snprintf(why, sizeof why, "unknown instrument '%s'", cmd->symbol);
        return answer_error(a, why);
    }
    if (s->gw->stopping) /* as a mass cancel: once the drain began, nothing changes */
        return answer_error(a, "the server is stopping");
    uint8_t want = cmd->op == XT_ADM_HALT;
    uint8_t was = atomic_exchange_explicit(&s->halted[i], want, memory_order_relaxed);
    if (was != want)
        xt__gw_status_update(s, i, want);
    xt_log_ev_t e;
    if (was != want && xt_log_begin(&e, XT_LOG_INFO, want ? "admin: halted" : "admin: resumed")) {
        xt_log_str(&e, "symbol", cmd->symbol);
        xt_log_end(&e);
    }
    /* The file is written each time, so that one that failed before is
     * mended by the next halt or resume - by the saver's thread, the
     * answer once it is (xt__gw_admin_tick). In effect either way: a halt
     * that cannot be kept still halts until the server stops. */
    a->halt_save = xt_halts_save_later(&s->halts_saver);
    a->halt_want = want;
    a->halt_changed = was != want;
    a->pending = *cmd;
    s->gw->admin->n_waiting++;
}

/* The answer to a halt or resume whose file is written (saved 1) or not (-1). */
static void halt_answer(adm_conn_t *a, int saved, const char *err)
{
    xt_log_ev_t e;
    if (saved < 0 &&
        xt_log_begin(&e, XT_LOG_WARN, "admin: the halted instruments not saved: a restart would not keep this")) {
        xt_log_str(&e, "symbol", a->pending.symbol);
        xt_log_str(&e, "reason", err);
        xt_log_end(&e);
    }
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"symbol\":\"%s\",\"halted\":%s,\"changed\":%s,\"saved\":%s", a->pending.symbol,
                   a->halt_want ? "true" : "false", a->halt_changed ? "true" : "false", saved > 0 ? "true" : "false");
    if (saved < 0) {
        xt_text_printf(&t, ",\"error\":");
        json_str(&t, err);
    }
    xt_text_printf(&t, "}");
    answer_end(a, &t);
}

static void cmd_mass_cancel(xt_server_t *s, adm_conn_t *a, uint32_t slot, const xt_admin_cmd_t *cmd)
{
    uint32_t inst = UINT32_MAX;
    if (cmd->symbol[0] && (inst = xt_server_find_symbol(s, cmd->symbol)) == XT_NIL) {
        char why[64];
        snprintf(why, sizeof why, "unknown instrument '%s'", cmd->symbol);
        return answer_error(a, why);
    }
    if (s->gw->stopping || atomic_load(&s->journal_failed))
        return answer_error(a, s->gw->stopping ? "the server is stopping" : "the journal failed");
    xt_req_t r = {.kind = XT_REQ_ADMIN_CANCEL, .conn = slot, .account = cmd->account, .instrument = inst};
    uint64_t ticket = xt_req_push(s, &r);
    if (!ticket)
        return answer_error(a, "overloaded: the engine's inbound ring is full; try again");
    a->ticket = ticket; /* answered by xt__gw_admin_tick */
    a->pending = *cmd;
    s->gw->admin->n_waiting++;
}

static void cmd_snapshot(xt_server_t *s, adm_conn_t *a)
{
    /* neither takes one: not an "ok" for nothing */
    if (s->gw->stopping || atomic_load(&s->journal_failed))
        return answer_error(a, s->gw->stopping ? "the server is stopping (its last snapshot is taken at the stop)"
                                               : "the journal failed: no snapshot is taken until a restart");
    atomic_store(&s->snapshot_request, 1);
    uint64_t one = 1;
    ssize_t n = write(s->engine_efd, &one, sizeof one); /* a parked engine takes it now */
    (void)n;
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"snapshot\":\"requested\"}");
    answer_end(a, &t);
}

/* {"NAME":count,...} of the non-zero counters of a reject table. */
static void rejects_json(xt_text_t *t, const _Atomic uint64_t *v)
{
    int first = 1;
    xt_text_printf(t, "{");
    for (int r = 1; r < XT_R_GATEWAY_MAX_; r++) {
        uint64_t n = xt_ctr_get(&v[r]);
        if (n) {
            xt_text_printf(t, "%s\"%s\":%llu", first ? "" : ",", xt_wire_reason_name(r), (unsigned long long)n);
            first = 0;
        }
    }
    xt_text_printf(t, "}");
}

static void stats_sessions(xt_server_t *s, xt_text_t *t)
{
    xt_gw_t *g = s->gw;
    uint32_t connected = 0;
    for (uint32_t i = 0; i < g->n_sess; i++)
        connected += g->sess[i].account != 0 && (g->sess[i].conn != XT_NIL || g->sess[i].closing_conn != XT_NIL);
    /* and those shown by a login that waits (session_json), each once */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < g->n_waiting; k++) {
            const xt_gw_conn_t *c = &g->conns[g->waiting[k]];
            uint32_t si = c->state == C_LOGIN_WAIT ? xt__gw_sess_find(g, c->login.account, c->login.session) : XT_NIL;
            if (si == XT_NIL || g->sess[si].conn != XT_NIL || g->sess[si].closing_conn != XT_NIL)
                continue;
            connected += pass == 0 && !g->sess[si].admin_mark;
            g->sess[si].admin_mark = pass == 0; /* set by the first pass, cleared by the second */
        }
    const xt_metrics_t *m = &s->met;
    xt_text_printf(t,
                   "\"connections\":%u,\"connections_opened\":%llu,\"connections_closed\":%llu,"
                   "\"sessions\":%u,\"sessions_connected\":%u,\"admin_connections\":%u,"
                   "\"bytes_in\":%llu,\"bytes_out\":%llu,",
                   g->n_conns, (unsigned long long)xt_ctr_get(&m->oe_opened),
                   (unsigned long long)xt_ctr_get(&m->oe_closed), g->live_sess, connected, g->admin->n_conns,
                   (unsigned long long)xt_ctr_get(&m->oe_bytes_in), (unsigned long long)xt_ctr_get(&m->oe_bytes_out));
}

static void stats_engine(xt_server_t *s, xt_text_t *t)
{
    const xt_metrics_t *m = &s->met;
    static const char *const names[XT_MET_CMD_TYPES] = {"new_order", "cancel", "amend", "mass_cancel", "order_status"};
    xt_text_printf(t, "\"commands\":{");
    for (int k = 0; k < XT_MET_CMD_TYPES; k++)
        xt_text_printf(t, "%s\"%s\":%llu", k ? "," : "", names[k], (unsigned long long)xt_ctr_get(&m->commands[k]));
    xt_text_printf(t, "},\"rejects\":{\"gateway\":");
    rejects_json(t, m->gw_rejects);
    xt_text_printf(t, ",\"engine\":");
    rejects_json(t, m->eng_rejects);
    uint64_t head = atomic_load(&s->ring.head), tail = atomic_load(&s->ring.tail);
    int64_t snap = atomic_load_explicit(&m->last_snapshot_mono, memory_order_relaxed);
    xt_text_printf(t,
                   "},\"trades\":%llu,\"ring\":{\"depth\":%llu,\"capacity\":%llu},"
                   "\"journal\":{\"fsyncs\":%llu,\"unsynced\":%llu,\"failed\":%s,\"last_snapshot_age_s\":%.3f},",
                   (unsigned long long)xt_ctr_get(&m->trades), (unsigned long long)(head - tail),
                   (unsigned long long)s->ring.mask + 1, (unsigned long long)xt_ctr_get(&m->fsyncs),
                   (unsigned long long)xt_ctr_get(&m->unsynced), atomic_load(&s->journal_failed) ? "true" : "false",
                   (double)(xt_mono_ns() - snap) / 1e9);
}

static void cmd_stats(xt_server_t *s, adm_conn_t *a)
{
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"stats\":{");
    stats_sessions(s, &t);
    stats_engine(s, &t);
    xt_text_printf(&t, "\"halted\":[");
    for (uint32_t i = 0, n = 0; i < s->n_instruments; i++)
        if (atomic_load_explicit(&s->halted[i], memory_order_relaxed)) {
            char sym[XT_SYMBOL_MAX + 1];
            xt_server_symbol(s, i, sym);
            xt_text_printf(&t, "%s", n++ ? "," : "");
            json_str(&t, sym);
        }
    xt_text_printf(&t, "],\"stopping\":%s}}", s->gw->stopping ? "true" : "false");
    answer_end(a, &t);
}

/* One instrument's definition in force: the one a SIGHUP's band move
 * updates (gw_bands.c), on this thread. Prices and quantities as
 * decimals, the band's limits as prices too. */
static void instrument_json(xt_server_t *s, xt_text_t *t, uint32_t i)
{
    const xt_instrument_def_t *d = &s->inst_defs[i];
    xt_msg_instrument_t m;
    xt_wire_get_instrument(s->instrument_frames[i], &m);
    char tick[XT_DECIMAL_BUFSZ], lot[XT_DECIMAL_BUFSZ], min[XT_DECIMAL_BUFSZ], max[XT_DECIMAL_BUFSZ];
    xt_decimal_format(d->tick, tick);
    xt_decimal_format(d->lot, lot);
    xt_units_format(m.min_qty, d->lot, min);
    xt_units_format(m.max_qty, d->lot, max);
    xt_text_printf(t, "{\"id\":%u,\"symbol\":", i);
    json_str(t, s->symbols[i]);
    xt_text_printf(t, ",\"tick\":\"%s\",\"lot\":\"%s\",\"min\":\"%s\",\"max\":\"%s\",\"band\":", tick, lot, min, max);
    if (m.has_band) {
        char ref[XT_DECIMAL_BUFSZ], pct[XT_DECIMAL_BUFSZ], low[XT_DECIMAL_BUFSZ], high[XT_DECIMAL_BUFSZ];
        xt_decimal_format(d->ref_price, ref);
        xt_decimal_format(d->band_pct, pct);
        xt_units_format(m.band_low, d->tick, low);
        xt_units_format(m.band_high, d->tick, high);
        xt_text_printf(t, "{\"ref\":\"%s\",\"pct\":\"%s\",\"low\":\"%s\",\"high\":\"%s\"}", ref, pct, low, high);
    } else {
        xt_text_printf(t, "null");
    }
    xt_text_printf(t, ",\"prev_close\":\"%s\"", xt_config_prev_close_ref(&s->cfg, s->symbols[i]) ? "ref" : "close");
    xt_text_printf(t, ",\"halted\":%s}", atomic_load_explicit(&s->halted[i], memory_order_relaxed) ? "true" : "false");
}

/* instruments [SYMBOL]: the definitions in force, bands and halts. */
static void cmd_instruments(xt_server_t *s, adm_conn_t *a, const xt_admin_cmd_t *cmd)
{
    uint32_t only = XT_NIL;
    if (cmd->symbol[0] && (only = xt_server_find_symbol(s, cmd->symbol)) == XT_NIL) {
        char why[64];
        snprintf(why, sizeof why, "unknown instrument '%s'", cmd->symbol);
        return answer_error(a, why);
    }
    xt_text_t t = answer_begin(a);
    xt_text_printf(&t, "{\"ok\":true,\"instruments\":[");
    for (uint32_t i = 0, n = 0; i < s->n_instruments; i++)
        if (only == XT_NIL || i == only) {
            xt_text_printf(&t, "%s", n++ ? "," : "");
            instrument_json(s, &t, i);
        }
    xt_text_printf(&t, "]}");
    answer_end(a, &t);
}

/* One request line: its answer queued (or, for a mass cancel, its ticket set). */
static void on_line(xt_server_t *s, uint32_t slot, const char *line, size_t len)
{
    adm_conn_t *a = &s->gw->admin->c[slot];
    xt_admin_cmd_t cmd;
    char why[256];
    if (xt_admin_parse(line, len, &cmd, why, sizeof why) != 0)
        return answer_error(a, why);
    switch (cmd.op) {
    case XT_ADM_HELP: return cmd_help(a);
    case XT_ADM_SESSIONS: return cmd_sessions(s, a, cmd.account);
    case XT_ADM_KICK: return cmd_kick(s, a, &cmd);
    case XT_ADM_HALT:
    case XT_ADM_RESUME: return cmd_halt(s, a, &cmd);
    case XT_ADM_INSTRUMENTS: return cmd_instruments(s, a, &cmd);
    case XT_ADM_MASS_CANCEL: return cmd_mass_cancel(s, a, slot, &cmd);
    case XT_ADM_SNAPSHOT: return cmd_snapshot(s, a);
    default: return cmd_stats(s, a);
    }
}

/* ---- connections ------------------------------------------------------------- */

static void conn_close(xt_gw_admin_t *ad, uint32_t slot)
{
    adm_conn_t *a = &ad->c[slot];
    /* What the client sent and nobody read (the rest of a line too long):
     * a Unix socket closed with it unread resets the peer, whose read of
     * the answer before then fails ECONNRESET instead of ending in EOF. */
    char sink[4096];
    for (int k = 0; k < 16 && recv(a->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; k++)
        ;
    close(a->fd); /* also leaves the epoll set */
    a->fd = -1;
    ad->n_draining -= a->draining;
    a->draining = 0;
    if (a->ticket || a->halt_save) /* the cancel or the save still runs; its outcome is not read */
        ad->n_waiting--;
    a->ticket = a->halt_save = 0;
    ad->n_conns--;
}

/* Waiting for the engine (a mass cancel) or the halts' saver. */
static int waits(const adm_conn_t *a)
{
    return a->ticket != 0 || a->halt_save != 0;
}

static int busy(const adm_conn_t *a)
{
    return waits(a) || a->out_at < a->out_len;
}

/* Writes what is queued: 0, or -1 when the connection is to be closed. */
static int flush_out(adm_conn_t *a)
{
    while (a->out_at < a->out_len) {
        ssize_t w = send(a->fd, a->out + a->out_at, a->out_len - a->out_at, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno == EINTR ? 0 : -1;
        a->out_at += (uint32_t)w;
        a->last_out = xt_mono_ns();
    }
    return 0;
}

/* Answers the complete lines in `in`, one at a time, while nothing is in
 * flight. At EOF a last line without its newline counts too. */
static void take_lines(xt_server_t *s, uint32_t slot)
{
    adm_conn_t *a = &s->gw->admin->c[slot];
    while (!busy(a) && !a->closing && a->inlen > 0) {
        char *nl = memchr(a->in, '\n', a->inlen);
        size_t len = nl ? (size_t)(nl - a->in) : a->inlen;
        /* too long: more than the limit without a \r ending it (its \n, if
         * any, to come) - the line whole in the buffer or not (1,025 bytes
         * and the newline fit it: once answered as an error and read on,
         * where the docs close) */
        if (len - (len && a->in[len - 1] == '\r') > XT_ADMIN_LINE_MAX) {
            char m[64];
            snprintf(m, sizeof m, "request longer than %d bytes; closing", XT_ADMIN_LINE_MAX);
            answer_error(a, m);
            a->closing = 1;
            return;
        }
        if (!nl && !a->eof)
            return;
        on_line(s, slot, a->in, len);
        size_t used = nl ? len + 1 : len;
        memmove(a->in, a->in + used, a->inlen - used);
        a->inlen -= (uint32_t)used;
        if (flush_out(a) != 0) { /* the client is gone: nothing more to answer */
            a->closing = 1;
            a->out_at = a->out_len = 0;
        }
    }
}

/* Reads what the socket has, as far as `in` has room; -1 on an error. */
static int read_in(adm_conn_t *a)
{
    while (!a->eof && a->inlen < sizeof a->in) {
        ssize_t n = read(a->fd, a->in + a->inlen, sizeof a->in - a->inlen);
        if (n == 0)
            a->eof = 1;
        else if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        else {
            a->inlen += (uint32_t)n;
            a->last_active = xt_mono_ns();
        }
    }
    return 0;
}

#define XT_ADMIN_DRAIN_NS (2 * 1000000000LL)

static void arm(xt_server_t *s, uint32_t slot, uint32_t want)
{
    adm_conn_t *a = &s->gw->admin->c[slot];
    if (want != a->events) {
        struct epoll_event ev = {want, {.u64 = XT_GW_ADMIN_ID + 1 + slot}};
        epoll_ctl(s->gw->ep, EPOLL_CTL_MOD, a->fd, &ev);
        a->events = want;
    }
}

/* A connection to close (a line too long) whose client may still be
 * sending: its answer written, its side is shut (FIN) and what comes is
 * read and dropped until the client's end of input, for at most
 * XT_ADMIN_DRAIN_NS - closed with input unread, the socket would reset
 * the client, whose read of the answer could fail ECONNRESET instead of
 * ending in EOF (the first 64 KiB were read at the close: a longer line,
 * still coming, got the reset). 1: still draining; 0: closed. */
static int drain(xt_server_t *s, uint32_t slot)
{
    xt_gw_admin_t *ad = s->gw->admin;
    adm_conn_t *a = &ad->c[slot];
    if (!a->draining) {
        shutdown(a->fd, SHUT_WR);
        a->draining = 1;
        a->drain_until = xt_mono_ns() + XT_ADMIN_DRAIN_NS;
        ad->n_draining++;
    }
    char sink[4096];
    for (int k = 0; k < 64; k++) {
        ssize_t n = recv(a->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        conn_close(ad, slot); /* its end of input (or an error) */
        return 0;
    }
    arm(s, slot, EPOLLIN);
    return 1;
}

/* Moves connection `slot` on as far as it can go, then re-arms epoll for
 * what it waits for: input (idle), output (an answer not written), or
 * nothing (the engine). Closes it when it is done. */
static void pump(xt_server_t *s, uint32_t slot)
{
    xt_gw_admin_t *ad = s->gw->admin;
    adm_conn_t *a = &ad->c[slot];
    if (a->draining) {
        drain(s, slot);
        return;
    }
    for (int round = 0; round < 64; round++) {
        if (flush_out(a) != 0 || (!busy(a) && !a->closing && read_in(a) != 0))
            return conn_close(ad, slot);
        uint32_t before = a->inlen;
        take_lines(s, slot);
        if (busy(a) || a->closing || a->eof || (a->inlen == before && a->inlen < sizeof a->in))
            break;
    }
    if (!busy(a) && a->closing && !a->eof) {
        drain(s, slot);
        return;
    }
    if (!busy(a) && (a->closing || (a->eof && a->inlen == 0)))
        return conn_close(ad, slot);
    arm(s, slot, waits(a) ? 0 : a->out_at < a->out_len ? EPOLLOUT : a->eof ? 0 : EPOLLIN);
}

void xt__gw_admin_tick(xt_server_t *s)
{
    xt_gw_admin_t *ad = s->gw->admin;
    if (ad && ad->n_draining) {
        int64_t now = xt_mono_ns();
        for (uint32_t k = 0; k < XT_ADMIN_CONNS; k++)
            if (ad->c[k].fd >= 0 && ad->c[k].draining && now >= ad->c[k].drain_until)
                conn_close(ad, k);
    }
    if (!ad || ad->n_waiting == 0)
        return;
    int failed = atomic_load(&s->journal_failed);
    for (uint32_t k = 0; k < XT_ADMIN_CONNS; k++) {
        adm_conn_t *a = &ad->c[k];
        if (a->fd >= 0 && a->halt_save) {
            char err[512] = "";
            int saved = xt_halts_saved(&s->halts_saver, a->halt_save, err, sizeof err);
            if (saved == 0)
                continue;
            a->halt_save = 0;
            ad->n_waiting--;
            halt_answer(a, saved, err);
            pump(s, k);
            continue;
        }
        if (a->fd < 0 || !a->ticket || (s->gw->answered < a->ticket && !failed))
            continue;
        int done = s->gw->answered >= a->ticket;
        a->ticket = 0;
        ad->n_waiting--;
        if (!done) {
            answer_error(a, "the journal failed: the mass cancel is not done");
        } else {
            xt_text_t t = answer_begin(a);
            xt_text_printf(&t, "{\"ok\":true,\"account\":%u,\"symbol\":", a->pending.account);
            if (a->pending.symbol[0])
                json_str(&t, a->pending.symbol);
            else
                xt_text_printf(&t, "null");
            xt_text_printf(&t, ",\"canceled\":%u}", atomic_load_explicit(&s->admin_canceled[k], memory_order_relaxed));
            answer_end(a, &t);
        }
        pump(s, k);
    }
}

/* The later of a connection's last bytes in and out. */
static int64_t last_heard(const adm_conn_t *a)
{
    return a->last_active > a->last_out ? a->last_active : a->last_out;
}

/* All slots taken: the connection idle longest - nothing asked of the
 * engine in flight, and for XT_ADMIN_IDLE_NS neither a byte from it nor a
 * byte of an answer taken by it - is closed with a line saying why, so that
 * forgotten sessions (a `socat` left open, or suspended with answers
 * unread: those once locked the operators out) do not lock the operators
 * out. Returns its slot, or XT_ADMIN_CONNS when every one is in use. */
#define XT_ADMIN_IDLE_NS (5 * 1000000000LL)
static uint32_t make_room(xt_gw_admin_t *ad, int64_t now)
{
    uint32_t idle = XT_ADMIN_CONNS;
    for (uint32_t k = 0; k < XT_ADMIN_CONNS; k++) {
        const adm_conn_t *a = &ad->c[k];
        if (!waits(a) && !a->closing && now - last_heard(a) >= XT_ADMIN_IDLE_NS &&
            (idle == XT_ADMIN_CONNS || last_heard(a) < last_heard(&ad->c[idle])))
            idle = k;
    }
    if (idle == XT_ADMIN_CONNS)
        return idle;
    static const char line[] = "{\"ok\":false,\"error\":\"closed: idle, and another admin connection needed its "
                               "place\"}\n";
    if (!busy(&ad->c[idle])) { /* (behind an answer not taken it would land inside it) */
        ssize_t w = send(ad->c[idle].fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
    }
    conn_close(ad, idle);
    return idle;
}

static void accept_admin(xt_server_t *s)
{
    xt_gw_admin_t *ad = s->gw->admin;
    for (;;) {
        int fd = accept4(ad->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), spared = fd < 0, err = errno;
        /* out of descriptors: taken with the gateway's spare (fd_budget.h) and refused */
        if (spared && (fd = xt_fd_spare_accept(&s->gw->spare, ad->fd, XT_GW_ADMIN_ID, err, NULL, NULL)) < 0)
            return;
        if (spared)
            xt_ctr_add(&s->met.no_fd_refused[2], 1);
        uint32_t k = 0;
        while (k < XT_ADMIN_CONNS && ad->c[k].fd >= 0)
            k++;
        int64_t now = xt_mono_ns();
        if (k == XT_ADMIN_CONNS && !spared)
            k = make_room(ad, now);
        if (k == XT_ADMIN_CONNS || spared) {
            static const char busy_line[] = "{\"ok\":false,\"error\":\"too many admin connections\"}\n";
            static const char no_fd_line[] = "{\"ok\":false,\"error\":\"the server has no file descriptor left\"}\n";
            const char *line = spared ? no_fd_line : busy_line;
            ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            close(fd);
            if (spared)
                xt_fd_spare_restore(&s->gw->spare);
            continue;
        }
        adm_conn_t *a = &ad->c[k];
        memset(a, 0, offsetof(adm_conn_t, in));
        a->fd = fd;
        a->events = EPOLLIN;
        a->last_active = a->last_out = now;
        ad->n_conns++;
        struct epoll_event ev = {EPOLLIN, {.u64 = XT_GW_ADMIN_ID + 1 + k}};
        if (epoll_ctl(s->gw->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            conn_close(ad, k);
    }
}

void xt__gw_admin_event(xt_server_t *s, uint64_t id, uint32_t events)
{
    xt_gw_admin_t *ad = s->gw->admin;
    if (!ad)
        return;
    if (id == XT_GW_ADMIN_ID)
        return accept_admin(s);
    uint64_t slot = id - XT_GW_ADMIN_ID - 1;
    if (slot >= XT_ADMIN_CONNS || ad->c[slot].fd < 0)
        return;
    /* hung up while the engine works: nobody is left to answer (and the
     * hang-up would be reported on every wait) */
    if ((events & (EPOLLHUP | EPOLLERR)) && waits(&ad->c[slot]))
        return conn_close(ad, (uint32_t)slot);
    pump(s, (uint32_t)slot);
}

/* ---- the socket ------------------------------------------------------------------ */

static int fail(char *why, size_t whylen, const char *path, const char *what, int err)
{
    snprintf(why, whylen, "server.admin_socket %s: %s%s%s", path, what, err ? ": " : "", err ? strerror(err) : "");
    return -1;
}

/* 0: nothing at the path; 1: a socket file left by a server that was
 * killed; -1 (why): one that a live process listens on, or a file that is
 * no socket, which is left alone. */
static int check_path(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : fail(why, whylen, path, "cannot be checked", errno);
    if (!S_ISSOCK(st.st_mode))
        return fail(why, whylen, path, "exists and is not a socket (not removed)", 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int live = fd >= 0 && (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN);
    if (fd >= 0)
        close(fd);
    return live ? fail(why, whylen, path, "another server is listening on it", 0) : 1;
}

static int clear_stale(const char *path, char *why, size_t whylen)
{
    int rc = check_path(path, why, whylen);
    if (rc == 1 && unlink(path) != 0 && errno != ENOENT)
        return fail(why, whylen, path, "the stale socket cannot be removed", errno);
    return rc < 0 ? -1 : 0;
}

static int admin_path(const xt_server_t *s, char *path, size_t n, char *why, size_t whylen)
{
    if (xt_config_admin_path(&s->cfg, path, n) < 0)
        return fail(why, whylen, s->cfg.admin_socket[0] ? s->cfg.admin_socket : s->cfg.data_dir, "the path is too long",
                    0);
    if (strlen(path) >= sizeof((xt_gw_admin_t *)0)->path)
        return fail(why, whylen, path, "longer than 107 bytes, a Unix socket's limit; set a shorter path", 0);
    return 0;
}

int xt__gw_admin_precheck(const xt_server_t *s, char *why, size_t whylen)
{
    if (s->cfg.admin_off)
        return 0;
    char path[XT_CONFIG_PATH_MAX + 16];
    if (admin_path(s, path, sizeof path, why, whylen) || check_path(path, why, whylen) < 0)
        return -1;
    if (!s->cfg.admin_socket[0]) /* in the data directory, which recovery creates */
        return 0;
    char dir[sizeof path];
    memcpy(dir, path, strlen(path) + 1);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    struct stat st;
    if (stat(slash ? dir : ".", &st) != 0)
        return fail(why, whylen, path, "its directory cannot be used", errno);
    if (!S_ISDIR(st.st_mode))
        return fail(why, whylen, path, "its directory cannot be used", ENOTDIR);
    if (access(slash ? dir : ".", W_OK | X_OK) != 0)
        return fail(why, whylen, path, "its directory cannot be used", errno);
    return 0;
}

/* Binds and listens at ad->path, mode 0600. */
static int listen_admin(xt_gw_admin_t *ad, char *why, size_t whylen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, ad->path, strlen(ad->path) + 1);
    ad->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ad->fd < 0)
        return fail(why, whylen, ad->path, "socket", errno);
    mode_t old = umask(0177); /* no other thread runs yet: owner-only from the start */
    int rc = bind(ad->fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    umask(old);
    if (rc != 0)
        return fail(why, whylen, ad->path, "cannot be created", err);
    struct stat st;
    if (chmod(ad->path, 0600) != 0 || lstat(ad->path, &st) != 0 || listen(ad->fd, 16) != 0) {
        err = errno;
        unlink(ad->path);
        return fail(why, whylen, ad->path, "cannot be set up", err);
    }
    ad->dev = st.st_dev;
    ad->ino = st.st_ino;
    return 0;
}

int xt__gw_admin_open(xt_server_t *s, char *why, size_t whylen)
{
    if (s->cfg.admin_off)
        return 0;
    char path[XT_CONFIG_PATH_MAX + 16];
    if (admin_path(s, path, sizeof path, why, whylen))
        return -1;
    xt_gw_admin_t *ad = calloc(1, sizeof *ad);
    if (!ad)
        return fail(why, whylen, path, "out of memory", 0);
    ad->fd = -1;
    for (uint32_t k = 0; k < XT_ADMIN_CONNS; k++)
        ad->c[k].fd = -1;
    s->gw->admin = ad;
    memcpy(ad->path, path, strlen(path) + 1);
    if (clear_stale(path, why, whylen) != 0 || listen_admin(ad, why, whylen) != 0) {
        ad->path[0] = '\0'; /* not ours to remove */
        return -1;
    }
    struct epoll_event ev = {EPOLLIN, {.u64 = XT_GW_ADMIN_ID}};
    if (epoll_ctl(s->gw->ep, EPOLL_CTL_ADD, ad->fd, &ev) != 0)
        return fail(why, whylen, path, "epoll", errno);
    return 0;
}

void xt__gw_admin_close(xt_server_t *s)
{
    xt_gw_admin_t *ad = s->gw ? s->gw->admin : NULL;
    if (!ad)
        return;
    for (uint32_t k = 0; k < XT_ADMIN_CONNS; k++) {
        adm_conn_t *a = &ad->c[k];
        if (a->fd >= 0 && a->halt_save) { /* asked for before the stop: the saver has written it by now */
            char err[512] = "";
            int saved = xt_halts_saved(&s->halts_saver, a->halt_save, err, sizeof err);
            a->halt_save = 0;
            ad->n_waiting--;
            halt_answer(a, saved ? saved : -1, saved ? err : "the server stopped before the file was written");
        }
        if (a->fd >= 0) {
            flush_out(a); /* answers queued at the stop: short lines, the socket takes them */
            conn_close(ad, k);
        }
    }
    if (ad->fd >= 0) {
        close(ad->fd);
        /* Not a file someone put at the path since (another server's socket,
         * after this one's was deleted): only the one made at start. */
        struct stat st;
        if (ad->path[0] && lstat(ad->path, &st) == 0 && st.st_dev == ad->dev && st.st_ino == ad->ino)
            unlink(ad->path);
    }
    free(ad);
    s->gw->admin = NULL;
}
