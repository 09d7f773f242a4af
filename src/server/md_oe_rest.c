/* md_oe_rest.c - the REST orders endpoints (docs/rest.md, "Orders") over
 * one bridge per account (md_oe.h): each request becomes one binary
 * request, waits for the message that answers it, and that message becomes
 * the HTTP answer. A POST is followed by an ORDER_STATUS of its order: the
 * answer waits for that status's answer too, and carries the outcome of
 * the order's command (its FILLs and CANCELED in between). */
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/le.h"
#include "md_oe_internal.h"
#include "md_rest.h"
#include "xt/error.h"

static int is_bridge_of(const oe_bridge_t *x, uint32_t account)
{
    return x->fd >= 0 && x->rest && x->owner == account && x->state != B_LOGOUT;
}

/* The account's live REST bridge, or NIL. A cache by account, checked on
 * every hit, saves walking the 1,024 bridges (a cache line each) per
 * request; a miss walks them and fills it. */
static uint32_t find_bridge(mds_t *m, uint32_t account)
{
    uint32_t *slot = &m->oe->rest_cache[account % XT_OE_REST_CACHE];
    if (*slot < XT_OE_BRIDGES && is_bridge_of(&m->oe->b[*slot], account))
        return *slot;
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++)
        if (is_bridge_of(&m->oe->b[b], account))
            return *slot = b;
    return NIL;
}

static void refuse_used_up(mds_t *m, uint32_t b, uint32_t pi);

/* Sends pending request pi on bridge b (live): an id of the session's
 * unless the client chose one (none left: a 409). A send that fails closes
 * the bridge, which answers pi as not sent when the gateway never had the
 * whole frame, else as sent. */
static void send_pend(mds_t *m, uint32_t b, uint32_t pi)
{
    oe_pend_t *p = &m->oe->pend[pi];
    /* request ids (status, list, mass cancel) need not increase, as on a WebSocket */
    p->key = xt__oe_take_id(&m->oe->b[b], p->frame, p->kind != P_STATUS && p->kind != P_LIST && p->kind != P_MASS);
    if (p->key == 0)
        return refuse_used_up(m, b, pi);
    if (p->kind != P_NEW) {
        xt__oe_send_first(m, b, p->frame, p->flen, p->flen, &p->sent); /* on failure p is answered and free */
        return;
    }
    /* An ORDER_STATUS of the order goes right behind it: the gateway
     * answers it after every earlier request of the session is applied,
     * so its answer ends what the order's command did.
     * Both go in one write: the gateway reads them together, so a status
     * it refuses at once (RATE_LIMIT) is answered before the order's
     * ACCEPTED, never after it (docs/rest.md: "outcome":null).
     * Its request_id is the order's client order id with the top bit flipped:
     * none of the session's ids is used up (the next POST without one still
     * gets one more than the highest used); answers are matched by type as
     * well, so the order's own answers never match it. (An order whose id
     * is 2^63 gets request_id 0, which matches nothing: "outcome":null.) */
    uint8_t f[2 * XT_WIRE_MAX];
    memcpy(f, p->frame, p->flen);
    p->status_key = p->key ^ UINT64_C(1) << 63;
    xt_msg_order_status_t st = {.request_id = p->status_key, .orig_clordid = p->key};
    xt_wire_put_order_status(f + p->flen, &st);
    /* on failure p is answered: 503 when the order did not go whole, else 504 (sent, outcome unknown) */
    xt__oe_send_first(m, b, f, (size_t)p->flen + XT_LEN_ORDER_STATUS, p->flen, &p->sent);
}

/* The HTTP answer to pending request pi, which leaves its bridge's list
 * (prev: the one before it there, NIL if first). */
static void answer(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, int status, const char *body, size_t n)
{
    oe_bridge_t *x = &m->oe->b[b];
    oe_pend_t *p = &m->oe->pend[pi];
    if (prev == NIL)
        x->pend_head = p->next;
    else
        m->oe->pend[prev].next = p->next;
    if (x->pend_tail == pi)
        x->pend_tail = prev;
    if (p->kind == P_LIST)
        m->oe->lists[p->list].pend = NIL;
    uint32_t c = p->conn;
    p->next = m->oe->free_pend;
    m->oe->free_pend = pi;
    m->oe->waiting--;
    if (c == NIL)
        return;
    m->conns[c].oe_pend = 0;
    int len = xt_http_response(m->http_out, m->http_out_cap, status, "application/json", body, n, p->keep);
    xt_mds_http_deferred(m, c, m->http_out, len < 0 ? 0 : (size_t)len, p->keep);
}

static void answer_error(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, int status, const char *msg)
{
    char body[704], q[640];
    if (xt_md_json_string(q, sizeof q, msg) == 0)
        strcpy(q, "\"?\"");
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"msg\":%s}\n", status, q);
    answer(m, b, pi, prev, status, body, (size_t)n);
}

/* Request pi cannot be sent: the session's ids are used up. */
static void refuse_used_up(mds_t *m, uint32_t b, uint32_t pi)
{
    uint32_t prev = NIL;
    for (uint32_t q = m->oe->b[b].pend_head; q != pi; q = m->oe->pend[q].next)
        prev = q;
    answer_error(m, b, pi, prev, 409, XT_OE_IDS_USED_UP " (client_order_id)");
}

/* A POST's answer: ACCEPTED f with its outcome o (NULL: "outcome":null). */
static void answer_accepted(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, const uint8_t *f, const xt_wire_hdr_t *h,
                            const xt_oe_outcome_t *o)
{
    char body[1400];
    xt_oe_insts_t in = xt__oe_insts(m);
    body[0] = '{';
    size_t n = 1, k = xt_oe_json(&in, f, h, body + n, sizeof body - n);
    size_t w = k ? xt_oe_outcome_json(&in, o, body + n + k, sizeof body - n - k - 2) : 0;
    if (w == 0)
        return answer_error(m, b, pi, prev, 500, "the answer does not fit");
    n += k + w;
    body[n++] = '}';
    body[n++] = '\n';
    answer(m, b, pi, prev, 200, body, n);
}

/* The answer of POST pi, whose ACCEPTED came: r the STATUS_REPLY behind
 * it; NULL when none came (the state is what the FILLs and CANCELED
 * tell, else unknown). */
static void answer_new(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, const xt_msg_status_reply_t *r)
{
    oe_pend_t *p = &m->oe->pend[pi];
    xt_oe_outcome_end(&p->outcome, r);
    answer_accepted(m, b, pi, prev, p->accepted, &p->accepted_hdr, &p->outcome);
}

/* The bridge closed (why, with status: 503 the session's connection
 * closed or is overloaded, 504 a request's deadline passed, 500 a bad
 * frame): each waiting request gets one answer that says what became of
 * it. Not sent: 503, nothing was done. Sent, a read: the status. Sent, an
 * order, cancel or amend: 504, its outcome unknown - the gateway may have
 * acted on it before the session closed - unless the gateway's ERROR was
 * KICKED: it came after the answers to every request the gateway took
 * before the kick, and the gateway took nothing after it (gw_login.c
 * xt__gw_kick; a REST session never resumes, so it is always waited
 * for), so a request still unanswered was not taken: 503, nothing done. */
void xt__oe_rest_closed(mds_t *m, uint32_t b, int status, const char *why)
{
    oe_bridge_t *x = &m->oe->b[b];
    const char *reason = why[0] ? why : "the order-entry session closed";
    char msg[512];
    while (x->pend_head != NIL) {
        const oe_pend_t *p = &m->oe->pend[x->pend_head];
        int st = status ? status : 503;
        if (p->kind == P_NEW && p->stage == 1) { /* accepted; what followed is not known */
            answer_new(m, b, x->pend_head, NIL, NULL);
            continue;
        }
        if (!p->sent) {
            st = 503;
            snprintf(msg, sizeof msg, "%s before this request was sent: nothing was done", reason);
        } else if (x->close_code == XT_ERR_KICKED) {
            st = 503;
            snprintf(msg, sizeof msg, "%s after this request was sent, and it was not taken: nothing was done", reason);
        } else if (p->kind != P_STATUS && p->kind != P_LIST) {
            st = 504;
            snprintf(
                msg, sizeof msg,
                "%s after this request was sent: the outcome of this request is unknown; GET /api/v1/orders/{id} or "
                "/api/v1/orders?open=true tells",
                reason);
        } else {
            snprintf(msg, sizeof msg, "%s: this read may be sent again", reason);
        }
        answer_error(m, b, x->pend_head, NIL, st, msg);
    }
}

void xt_mds_oe_stalled(mds_t *m, int64_t gap)
{
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        oe_bridge_t *x = &m->oe->b[b];
        if (x->fd < 0)
            continue;
        x->last_out += gap;
        x->last_used += gap;
        for (uint32_t pi = x->pend_head; pi != NIL; pi = m->oe->pend[pi].next)
            m->oe->pend[pi].at += gap;
    }
}

void xt__oe_rest_deadlines(mds_t *m, int64_t now)
{
    int64_t limit = (int64_t)m->s->cfg.rest_order_timeout_ms * 1000000;
    for (uint32_t b = 0; b < XT_OE_BRIDGES; b++) {
        const oe_bridge_t *x = &m->oe->b[b];
        /* the oldest waits longest: answers come in any order, requests join at the tail */
        if (x->fd >= 0 && x->rest && x->pend_head != NIL && now - m->oe->pend[x->pend_head].at > limit)
            xt__oe_close(m, b, 504,
                         "order entry gave the account's oldest request no answer within rest.order_timeout_ms, so "
                         "its order session was closed");
    }
}

void xt__oe_rest_hello(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    xt_msg_login_t l = {.version = XT_WIRE_VERSION,
                        .account = x->owner,
                        .session = XT_OE_REST_SESSION,
                        .heartbeat_ms = 60000,
                        .timestamp_ns = xt_now_ns()};
    memcpy(l.key_id, x->key_id, strlen(x->key_id));
    uint8_t f[XT_WIRE_MAX];
    x->state = B_LOGIN;
    xt__oe_send(m, b, f, xt_wire_put_login(f, &l));
}

static void on_login(mds_t *m, uint32_t b, const uint8_t *f, const xt_wire_hdr_t *h)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (h->type == XT_MSG_LOGIN_REJECTED) {
        xt_msg_login_rejected_t r;
        xt_wire_get_login_rejected(f, &r);
        const char *name = xt_wire_login_reason_name(r.reason);
        snprintf(x->close_why, sizeof x->close_why, "the order session's login was rejected: %s", name ? name : "?");
        return; /* the gateway closes the bridge: the requests are answered then */
    }
    x->state = B_LIVE; /* next_request is past the session's last client order id (md_oe.c, on_frame) */
    xt__oe_rest_send_unsent(m, b);
}

void xt__oe_rest_forget(mds_t *m, uint32_t pi)
{
    oe_pend_t *p = &m->oe->pend[pi];
    p->conn = NIL;
    if (p->sent)
        return; /* the gateway has it: its answer is awaited, and goes nowhere */
    oe_bridge_t *x = &m->oe->b[p->bridge];
    uint32_t prev = NIL;
    for (uint32_t q = x->pend_head; q != NIL && q != pi; q = m->oe->pend[q].next)
        prev = q;
    answer(m, p->bridge, pi, prev, 0, NULL, 0); /* (to no one: the entry goes) */
}

void xt__oe_rest_send_unsent(mds_t *m, uint32_t b)
{
    oe_bridge_t *x = &m->oe->b[b];
    /* A failed send closes the bridge and frees every request, and the
     * answers may reopen the slot: its generation tells. */
    uint32_t gen = x->gen;
    for (uint32_t pi = x->pend_head, next; pi != NIL && x->fd >= 0 && x->gen == gen; pi = next) {
        next = m->oe->pend[pi].next;
        if (!m->oe->pend[pi].sent) {
            if (!xt__oe_fits(m, b, 2)) /* the rest waits for room, in order (EPOLLOUT) */
                return;
            send_pend(m, b, pi);
        }
    }
}

/* Does message type `type` answer a request of kind k? */
static int answers(int type, int k, const uint8_t *f)
{
    switch (type) {
    case XT_MSG_ACCEPTED: return k == P_NEW;
    case XT_MSG_AMENDED: return k == P_AMEND;
    case XT_MSG_CANCELED: return k == P_CANCEL;
    case XT_MSG_STATUS_REPLY: return k == P_STATUS || k == P_LIST;
    case XT_MSG_MASS_CANCEL_ACK: return k == P_MASS;
    case XT_MSG_REJECTED: {
        xt_msg_rejected_t r;
        xt_wire_get_rejected(f, &r);
        return (k == P_NEW && r.request == XT_MSG_NEW_ORDER) || (k == P_CANCEL && r.request == XT_MSG_CANCEL) ||
               (k == P_AMEND && r.request == XT_MSG_AMEND) ||
               ((k == P_STATUS || k == P_LIST) && r.request == XT_MSG_ORDER_STATUS) ||
               (k == P_MASS && r.request == XT_MSG_MASS_CANCEL);
    }
    default: return 0;
    }
}

/* The list of open orders, one STATUS_REPLY more; at the end marker the answer. */
static void list_reply(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, const uint8_t *f, const xt_wire_hdr_t *end)
{
    oe_list_t *l = &m->oe->lists[m->oe->pend[pi].list];
    xt_msg_status_reply_t r;
    xt_wire_get_status_reply(f, &r);
    if (r.order_id != 0) {
        if (l->n < XT_OPEN_ORDERS_MAX)
            l->v[l->n++] = r;
        return;
    }
    xt_oe_insts_t in = xt__oe_insts(m);
    xt_text_t t = {m->http_body, m->http_cap, 0, 0};
    xt_text_printf(&t, "{\"data\":[");
    for (uint32_t k = 0; k < l->n && !t.over; k++) {
        uint8_t fr[XT_WIRE_MAX];
        /* the items were made with the end marker, so its seq is theirs: the session's last sequenced number */
        xt_wire_hdr_t h = {.type = XT_MSG_STATUS_REPLY, .seq = end->seq};
        xt_wire_put_status_reply(fr, 0, &l->v[k]);
        xt_text_printf(&t, "%s{", k ? "," : "");
        size_t n = t.over ? 0 : xt_oe_json(&in, fr, &h, t.p + t.len, t.cap - t.len);
        t.over |= n == 0;
        t.len += n;
        xt_text_printf(&t, "}");
    }
    xt_text_printf(&t, "],\"left_out\":%lld}\n", (long long)r.filled);
    if (t.over)
        return answer_error(m, b, pi, prev, 500, "the list does not fit the answer buffer");
    answer(m, b, pi, prev, 200, t.p, t.len);
}

static int is_open(const uint8_t *f)
{
    xt_msg_status_reply_t r;
    xt_wire_get_status_reply(f, &r);
    return r.status == XT_OS_OPEN;
}

/* The answer for a request: the message's JSON, with the status. */
static void reply(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, const uint8_t *f, const xt_wire_hdr_t *h)
{
    int status = 200;
    char body[1200];
    size_t n = 0;
    if (h->type == XT_MSG_REJECTED) {
        xt_msg_rejected_t r;
        xt_wire_get_rejected(f, &r);
        status = xt_oe_http_status(r.reason);
        const char *name = xt_wire_reason_name(r.reason);
        n = (size_t)snprintf(body, sizeof body, "{\"code\":%d,\"msg\":\"%s\",", status, name ? name : "REJECTED");
    } else if (h->type == XT_MSG_STATUS_REPLY && !is_open(f)) {
        return answer_error(m, b, pi, prev, 404, "no open order of this account has that id");
    } else {
        body[n++] = '{';
    }
    xt_oe_insts_t in = xt__oe_insts(m);
    size_t k = xt_oe_json(&in, f, h, body + n, sizeof body - n - 2);
    if (k == 0)
        return answer_error(m, b, pi, prev, 500, "the answer does not fit");
    n += k;
    body[n++] = '}';
    body[n++] = '\n';
    answer(m, b, pi, prev, status, body, n);
}

/* A FILL or CANCELED of an order whose POST waits for the status behind it. */
static void gather(mds_t *m, oe_bridge_t *x, const uint8_t *f, const xt_wire_hdr_t *h)
{
    uint64_t clordid;
    if (h->type == XT_MSG_FILL) {
        xt_msg_fill_t fl;
        xt_wire_get_fill(f, &fl);
        clordid = fl.clordid;
    } else {
        xt_msg_canceled_t c;
        xt_wire_get_canceled(f, &c);
        clordid = c.clordid;
    }
    for (uint32_t pi = x->pend_head; pi != NIL; pi = m->oe->pend[pi].next) {
        oe_pend_t *p = &m->oe->pend[pi];
        if (p->kind == P_NEW && p->stage == 1 && p->key == clordid) {
            xt_oe_outcome_add(&p->outcome, f, h);
            return;
        }
    }
}

/* A STATUS_REPLY, or a REJECTED of an ORDER_STATUS. */
static int is_status_answer(const uint8_t *f, const xt_wire_hdr_t *h)
{
    if (h->type == XT_MSG_STATUS_REPLY)
        return 1;
    if (h->type != XT_MSG_REJECTED)
        return 0;
    xt_msg_rejected_t r;
    xt_wire_get_rejected(f, &r);
    return r.request == XT_MSG_ORDER_STATUS;
}

/* The answer to the status behind POST pi: after the ACCEPTED it ends the
 * outcome; before it (the gateway refused the status at once, e.g.
 * RATE_LIMIT) the ACCEPTED is answered when it comes, without one. */
static void on_status_behind(mds_t *m, uint32_t b, uint32_t pi, uint32_t prev, const uint8_t *f, const xt_wire_hdr_t *h)
{
    oe_pend_t *p = &m->oe->pend[pi];
    if (p->stage == 0) {
        p->no_status = 1;
        return;
    }
    xt_msg_status_reply_t r;
    if (h->type == XT_MSG_STATUS_REPLY)
        xt_wire_get_status_reply(f, &r);
    answer_new(m, b, pi, prev, h->type == XT_MSG_STATUS_REPLY ? &r : NULL);
}

void xt__oe_rest_message(mds_t *m, uint32_t b, const uint8_t *f, const xt_wire_hdr_t *h)
{
    oe_bridge_t *x = &m->oe->b[b];
    if (h->type == XT_MSG_LOGIN_ACCEPTED || h->type == XT_MSG_LOGIN_REJECTED)
        return on_login(m, b, f, h);
    if (h->type == XT_MSG_ERROR) {
        xt__oe_error_why(x, f);
        return;
    }
    if (h->type == XT_MSG_FILL || h->type == XT_MSG_CANCELED)
        gather(m, x, f, h);
    uint64_t key = xt_oe_answer_key(f, h);
    if (key == 0)
        return; /* other fills and unsolicited cancels: GET /api/v1/fills and /orders tell them */
    uint32_t prev = NIL;
    for (uint32_t pi = x->pend_head; pi != NIL; prev = pi, pi = m->oe->pend[pi].next) {
        oe_pend_t *p = &m->oe->pend[pi];
        if (p->kind == P_NEW && p->status_key == key && is_status_answer(f, h)) /* the status behind a POST */
            return on_status_behind(m, b, pi, prev, f, h);
        if (!p->sent || p->key != key || !answers(h->type, p->kind, f))
            continue;
        if (p->kind == P_LIST && h->type == XT_MSG_STATUS_REPLY)
            return list_reply(m, b, pi, prev, f, h);
        if (p->kind == P_NEW && h->type == XT_MSG_ACCEPTED && p->status_key && !p->no_status) {
            p->stage = 1; /* the answer waits for the status behind it */
            p->accepted_hdr = *h;
            memcpy(p->accepted, f, sizeof p->accepted);
            xt_msg_accepted_t a;
            xt_wire_get_accepted(f, &a);
            p->outcome = (xt_oe_outcome_t){.instrument = a.instrument, .remaining = a.qty};
            return;
        }
        if (p->kind == P_NEW && h->type == XT_MSG_ACCEPTED)
            return answer_accepted(m, b, pi, prev, f, h, NULL); /* no status behind it */
        return reply(m, b, pi, prev, f, h);
    }
}

/* ---- requests -------------------------------------------------------------------- */

/* "/api/v1/orders" -> 0, "/api/v1/orders/123" -> 123, anything else -> -1. */
static int64_t path_id(const char *path)
{
    static const char base[] = "/api/v1/orders";
    if (strncmp(path, base, sizeof base - 1) != 0)
        return -1;
    const char *p = path + sizeof base - 1;
    if (*p == '\0')
        return 0;
    if (*p++ != '/' || *p == '\0' || strlen(p) > 18 || strspn(p, "0123456789") != strlen(p))
        return -1;
    int64_t v = strtoll(p, NULL, 10);
    return v > 0 ? v : -1;
}

/* Does the query string name nothing but symbol (or nothing at all)? A
 * mass cancel refuses anything else - ?Symbol=, ?sym=, ?symbol[]= - rather
 * than ignore it and cancel every instrument. */
static int only_symbol(const char *q)
{
    while (*q) {
        size_t len = strcspn(q, "&");
        if (!(len >= 6 && strncmp(q, "symbol", 6) == 0 && (len == 6 || q[6] == '=')))
            return 0;
        q += len;
        q += *q == '&';
    }
    return 1;
}

/* The request's frame into p (its id 0: assigned when sent), or an error
 * answer's length in m->http_out. */
static int build(mds_t *m, const xt_http_req_t *req, const char *body, size_t body_len, int keep, oe_pend_t *p)
{
    int64_t id = path_id(req->path);
    int kind = 0, pk = 0;
    if (id < 0)
        return xt_rest_error(m->http_out, m->http_out_cap, 404, "no such endpoint", keep);
    if (req->method == HTTP_POST && id == 0)
        kind = XT_OE_NEW, pk = P_NEW;
    else if (req->method == HTTP_PUT && id > 0)
        kind = XT_OE_AMEND, pk = P_AMEND;
    else if (req->method == HTTP_DELETE && id > 0)
        kind = XT_OE_CANCEL, pk = P_CANCEL;
    else if (req->method == HTTP_DELETE) /* every open order of the account, or of ?symbol= */
        kind = XT_OE_MASS_CANCEL, pk = P_MASS;
    else if (req->method == HTTP_GET && id > 0)
        kind = XT_OE_STATUS, pk = P_STATUS;
    else if (req->method == HTTP_GET) {
        char v[8];
        if (xt_query_get(req->query, "open", v, sizeof v) < 0 || strcmp(v, "true") != 0)
            return xt_rest_error(m->http_out, m->http_out_cap, 400,
                                 "only open orders are listed (open=true); fills: /api/v1/fills", keep);
        xt_msg_order_status_t s = {.order_id = XT_STATUS_LIST_OPEN};
        p->flen = (uint8_t)xt_wire_put_order_status(p->frame, &s);
        p->kind = P_LIST;
        return 0;
    } else /* /api/v1/orders takes GET, POST, DELETE; /api/v1/orders/ID GET, PUT, DELETE */
        return xt_http_add_allow(m->http_out, m->http_out_cap,
                                 xt_rest_error(m->http_out, m->http_out_cap, 405, "method not allowed here", keep),
                                 id ? "GET, PUT, DELETE" : "GET, POST, DELETE");
    json_error_t jerr = {0}; /* only json_loadb fills it */
    json_t *args = body_len ? json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    char sym[XT_SYMBOL_MAX + 2];
    if (pk == P_MASS && !only_symbol(req->query)) {
        json_decref(args); /* ?Symbol=X, ?sym=X: not a cancel of everything */
        return xt_rest_error(m->http_out, m->http_out_cap, 400,
                             "a mass cancel's query takes only symbol (none: every instrument)", keep);
    }
    int qs = pk == P_MASS ? xt_query_get(req->query, "symbol", sym, sizeof sym) : XT_ENOENT;
    if (qs < 0 && qs != XT_ENOENT) {
        json_decref(args);
        return xt_rest_error(m->http_out, m->http_out_cap, qs == XT_ERANGE ? 404 : 400,
                             qs == XT_ERANGE ? "unknown symbol" : "the query's symbol does not decode", keep);
    }
    if (qs >= 0 && json_is_object(args) && json_object_get(args, "symbol")) {
        json_decref(args);
        return xt_rest_error(m->http_out, m->http_out_cap, 400, "symbol both in the query and in the body", keep);
    }
    /* a symbol that cannot be set must not leave the request without one: that cancels everything */
    if (qs >= 0 && json_is_object(args) && json_object_set_new(args, "symbol", json_string(sym)) != 0) {
        json_decref(args);
        return xt_rest_error(m->http_out, m->http_out_cap, 404, "unknown symbol", keep);
    }
    if (!json_is_object(args)) {
        int big = !args && json_error_code(&jerr) == json_error_numeric_overflow; /* an id past 2^63 - 1 */
        json_decref(args);
        return xt_rest_error(m->http_out, m->http_out_cap, 400,
                             big ? "a number in the body is past 2^63 - 1: send ids as strings of digits"
                                 : "the body must be a JSON object",
                             keep);
    }
    char why[160];
    uint64_t key;
    xt_oe_insts_t in = xt__oe_insts(m);
    int n = xt_oe_frame(&in, kind, args, OE_ID_NEXT, id, p->frame, &key, why, sizeof why);
    json_decref(args);
    if (n < 0)
        return xt_rest_error(m->http_out, m->http_out_cap, n == XT_ENOENT ? 404 : 400, why, keep);
    if (key == OE_ID_NEXT) /* none given: one of ours when it is sent */
        xt_put64(p->frame + OE_ID_OFFSET, 0);
    p->flen = (uint8_t)n;
    p->kind = (uint8_t)pk;
    return 0;
}

/* A key the client chose that a request still waiting already has. */
static int key_taken(const mds_t *m, const oe_bridge_t *x, const oe_pend_t *p)
{
    uint64_t key = xt_get64(p->frame + OE_ID_OFFSET);
    for (uint32_t pi = x->pend_head; key && pi != NIL; pi = m->oe->pend[pi].next)
        if (xt_get64(m->oe->pend[pi].frame + OE_ID_OFFSET) == key)
            return 1;
    return 0;
}

int xt_mds_oe_rest(mds_t *m, uint32_t c, uint32_t account, const char *key_id, const xt_http_req_t *req,
                   const char *body, size_t body_len, int keep)
{
    xt_oe_t *o = m->oe;
    if (o->free_pend == NIL)
        return xt_rest_error(m->http_out, m->http_out_cap, 503, "too many order requests waiting; try again", 0);
    uint32_t pi = o->free_pend;
    oe_pend_t *p = &o->pend[pi];
    uint32_t next_free = p->next; /* taken off the free list only once the request is accepted below */
    memset(p, 0, sizeof *p);
    p->next = next_free;
    int n = build(m, req, body, body_len, keep, p);
    if (n != 0)
        return n;
    uint32_t b = find_bridge(m, account);
    if (b == NIL && (b = xt__oe_open(m, 1, account)) != NIL) {
        snprintf(o->b[b].key_id, sizeof o->b[b].key_id, "%s", key_id);
        o->rest_cache[account % XT_OE_REST_CACHE] = b;
    }
    if (b == NIL && atomic_load(&m->s->met.stopping)) /* (the gateway takes no connection once it stops) */
        return xt_rest_error(m->http_out, m->http_out_cap, 503, "SHUTTING_DOWN", 0);
    if (b == NIL)
        return xt_rest_error(m->http_out, m->http_out_cap, 503, "no room for another order session; try later", 0);
    oe_bridge_t *x = &o->b[b];
    if (key_taken(m, x, p))
        return xt_rest_error(m->http_out, m->http_out_cap, 409, "a request with this id is still in progress", keep);
    if (p->kind == P_LIST) {
        uint32_t l = 0;
        while (l < XT_OE_LISTS && o->lists[l].pend != NIL)
            l++;
        if (l == XT_OE_LISTS)
            return xt_rest_error(m->http_out, m->http_out_cap, 503, "too many order lists being made; try again", keep);
        o->lists[l].pend = pi;
        o->lists[l].n = 0;
        p->list = l;
    }
    o->free_pend = p->next;
    o->waiting++;
    p->next = NIL;
    p->conn = c;
    p->bridge = b;
    p->at = m->mono; /* not m->now: a step of the wall clock must not time requests out */
    p->keep = (uint8_t)keep;
    if (x->pend_tail == NIL)
        x->pend_head = pi;
    else
        o->pend[x->pend_tail].next = pi;
    x->pend_tail = pi;
    x->last_used = m->mono;
    m->conns[c].oe_pend = pi + 1;
    if (x->state == B_LIVE && xt__oe_fits(m, b, 2)) /* else it waits its turn: the login, or room (EPOLLOUT) */
        send_pend(m, b, pi);
    return XT_REST_DEFERRED;
}
