/* sessions.c - sessions, order ownership and message making on the engine
 * thread (see sessions.h).
 *
 * Snapshot extension layout (little-endian), docs/journal-format.md:
 *   0  u32 magic "XTSE", 4 u32 version 2, 8 u32 sessions, 12 u32 refs,
 *   16 u64 outlog head, 24 u64 first position kept, 32 u64 messages made
 *   sessions (the live ones, in table order), 32 bytes each: account u32,
 *     number u32, next_seq u64, last_clordid u64, last_pos1 u64
 *   open orders, 24 bytes each, per session in its list order: order_id i64,
 *     clordid u64, session (its place in the list above) u32, zero u32
 *   outlog slots from the first kept position to head, 112 bytes each:
 *     prev1 u64, account u32, session u32, conn u32, len u16, flags u8,
 *     zero u8, frame 88 bytes
 * Every count is checked against this process's capacities (XT_ELIMIT,
 * naming the setting) and against the extension's length before it is
 * used. Once loaded, the links are checked (check_links): a resume walks
 * them (gw_login.c), so each must go back, stay on its session and count
 * down by one - a crafted one could otherwise send that walk round a cycle.
 */
#include "sessions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/pages.h"
#include "journal/codec.h"
#include "xt/error.h"
#include "xt/wire.h"

#define EXT_MAGIC 0x45535458u /* "XTSE" */
/* Version 2: kept AMENDED frames name their instrument (bytes 60..63).
 * Version 1's with zeros there are read as XT_INSTRUMENT_UNKNOWN (amended_v1). */
#define EXT_VERSION 2
#define EXT_HDR 40
#define EXT_SESS 32
#define EXT_REF 24
#define EXT_SLOT 112

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = 16;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

static void clear(xt_sessions_t *s)
{
    s->n_sessions = s->n_live = 0;
    s->n_acct = 0;
    s->free_sess = s->free_acct = XT_NIL;
    memset(s->sess_buckets, 0xff, sizeof(uint32_t) * (s->sess_mask + 1));
    memset(s->acct_buckets, 0xff, sizeof(uint32_t) * (s->sess_mask + 1));
    memset(s->id_buckets, 0xff, sizeof(uint32_t) * (s->ref_mask + 1));
    memset(s->cl_buckets, 0xff, sizeof(uint32_t) * (s->ref_mask + 1));
    for (uint32_t i = 0; i < s->max_refs; i++) {
        s->refs[i].sess = XT_NIL;
        s->refs[i].next = i + 1 < s->max_refs ? i + 1 : XT_NIL;
    }
    s->free_ref = 0;
    s->messages = 0;
    s->log->head = 0;
    atomic_store(&s->log->released, 0);
    atomic_store(&s->log->consumed, 0);
}

static void ext_reset(void *ctx)
{
    clear(ctx);
}

static uint64_t ext_size(void *ctx);
static void ext_write(void *ctx, void (*put)(void *out, const void *p, size_t n), void *out);
static int ext_load(void *ctx, uint64_t len, int (*get)(void *in, void *p, size_t n), void *in, char *why, size_t wn);

static void ext_on_cmd(void *ctx, const xt_cmd_t *cmd)
{
    xt_sessions_begin(ctx, cmd);
}

int xt_sessions_init(xt_sessions_t *s, xt_outlog_t *log, uint32_t max_sessions, uint32_t max_orders,
                     unsigned page_flags)
{
    memset(s, 0, sizeof *s);
    s->log = log;
    s->max_sessions = max_sessions;
    s->sess_mask = pow2_at_least(2ull * max_sessions) - 1;
    s->max_refs = max_orders + 16;
    s->ref_mask = pow2_at_least(2ull * s->max_refs) - 1;
    /* pages.c: read by a snapshot's child, so inherited (no XT_PAGES_NOFORK) */
    s->sess = xt_pages_alloc(sizeof *s->sess * max_sessions, page_flags);
    s->acct = xt_pages_alloc(sizeof *s->acct * max_sessions, page_flags);
    s->sess_buckets = xt_pages_alloc(sizeof(uint32_t) * (s->sess_mask + 1), page_flags);
    s->acct_buckets = xt_pages_alloc(sizeof(uint32_t) * (s->sess_mask + 1), page_flags);
    s->refs = xt_pages_alloc(sizeof *s->refs * s->max_refs, page_flags);
    s->id_buckets = xt_pages_alloc(sizeof(uint32_t) * (s->ref_mask + 1), page_flags);
    s->cl_buckets = xt_pages_alloc(sizeof(uint32_t) * (s->ref_mask + 1), page_flags);
    if (!s->sess || !s->acct || !s->sess_buckets || !s->acct_buckets || !s->refs || !s->id_buckets || !s->cl_buckets) {
        xt_sessions_destroy(s);
        return XT_ENOMEM;
    }
    if (getrandom(&s->salt, sizeof s->salt, GRND_NONBLOCK) != (ssize_t)sizeof s->salt)
        s->salt = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL; /* no entropy yet: still not chosen by clients */
    clear(s);
    s->cur_sess = XT_NIL;
    s->ext = (xt_snap_ext_t){s, ext_size, ext_write, ext_load, ext_reset, ext_on_cmd};
    return 0;
}

void xt_sessions_destroy(xt_sessions_t *s)
{
    xt_pages_free(s->sess);
    xt_pages_free(s->acct);
    xt_pages_free(s->sess_buckets);
    xt_pages_free(s->acct_buckets);
    xt_pages_free(s->refs);
    xt_pages_free(s->id_buckets);
    xt_pages_free(s->cl_buckets);
    memset(s, 0, sizeof *s);
}

/* ---- tables ------------------------------------------------------------- */

static uint32_t sess_bucket(const xt_sessions_t *s, uint32_t account, uint32_t number)
{
    return (uint32_t)(mix((((uint64_t)account << 32) | number) ^ s->salt) & s->sess_mask);
}

uint32_t xt_sessions_find(const xt_sessions_t *s, uint32_t account, uint32_t number)
{
    for (uint32_t i = s->sess_buckets[sess_bucket(s, account, number)]; i != XT_NIL; i = s->sess[i].hnext)
        if (s->sess[i].account == account && s->sess[i].number == number)
            return i;
    return XT_NIL;
}

static xt_acct_t *acct_find(const xt_sessions_t *s, uint32_t account)
{
    for (uint32_t i = s->acct_buckets[mix(account ^ s->salt) & s->sess_mask]; i != XT_NIL; i = s->acct[i].hnext)
        if (s->acct[i].account == account)
            return &s->acct[i];
    return NULL;
}

uint32_t xt_sessions_account_open(const xt_sessions_t *s, uint32_t account)
{
    const xt_acct_t *a = acct_find(s, account);
    return a ? a->open : 0;
}

uint32_t xt_sessions_account_first(const xt_sessions_t *s, uint32_t account)
{
    const xt_acct_t *a = acct_find(s, account);
    return a ? a->first_sess : XT_NIL;
}

static uint32_t acct_bucket(const xt_sessions_t *s, uint32_t account)
{
    return (uint32_t)(mix(account ^ s->salt) & s->sess_mask);
}

/* Finds or creates; XT_NIL when the table is full. A free entry is reused
 * first. */
static uint32_t sess_get(xt_sessions_t *s, uint32_t account, uint32_t number)
{
    uint32_t i = xt_sessions_find(s, account, number);
    if (i != XT_NIL || s->n_live == s->max_sessions)
        return i;
    if (s->free_sess != XT_NIL) {
        i = s->free_sess;
        s->free_sess = s->sess[i].hnext;
    } else
        i = s->n_sessions++;
    s->n_live++;
    xt_sess_t *x = &s->sess[i];
    memset(x, 0, sizeof *x);
    x->account = account;
    x->number = number;
    x->next_seq = 1;
    x->open_head = XT_NIL;
    uint32_t b = sess_bucket(s, account, number);
    x->hnext = s->sess_buckets[b];
    s->sess_buckets[b] = i;
    xt_acct_t *a = acct_find(s, account);
    if (!a) { /* never more accounts than live sessions: an entry is free */
        uint32_t ai = s->free_acct;
        if (ai != XT_NIL)
            s->free_acct = s->acct[ai].hnext;
        else
            ai = s->n_acct++;
        a = &s->acct[ai];
        a->account = account;
        a->open = 0;
        a->first_sess = XT_NIL;
        uint32_t ab = acct_bucket(s, account);
        a->hnext = s->acct_buckets[ab];
        s->acct_buckets[ab] = ai;
    }
    x->acct_next = a->first_sess;
    a->first_sess = i;
    return i;
}

/* Forgets session i (no open orders): out of its hash chain and its
 * account's list; the account goes too when it was its last session. */
static void sess_free(xt_sessions_t *s, uint32_t i)
{
    xt_sess_t *x = &s->sess[i];
    uint32_t *p = &s->sess_buckets[sess_bucket(s, x->account, x->number)];
    while (*p != i)
        p = &s->sess[*p].hnext;
    *p = x->hnext;
    uint32_t *ap = &s->acct_buckets[acct_bucket(s, x->account)];
    while (s->acct[*ap].account != x->account)
        ap = &s->acct[*ap].hnext;
    uint32_t ai = *ap;
    xt_acct_t *a = &s->acct[ai];
    for (uint32_t *q = &a->first_sess; *q != XT_NIL; q = &s->sess[*q].acct_next)
        if (*q == i) {
            *q = x->acct_next;
            break;
        }
    if (a->first_sess == XT_NIL) {
        *ap = a->hnext;
        a->account = 0;
        a->hnext = s->free_acct;
        s->free_acct = ai;
    }
    memset(x, 0, sizeof *x);
    x->open_head = x->acct_next = XT_NIL;
    x->hnext = s->free_sess;
    s->free_sess = i;
    s->n_live--;
}

/* Exchange order ids are journal sequence numbers, assigned here, so the
 * identity keeps neighbouring orders in neighbouring buckets: the tables are
 * far larger than the caches and a mixing hash cost a miss per lookup. */
static uint32_t id_bucket(const xt_sessions_t *s, int64_t id)
{
    return (uint32_t)((uint64_t)id & s->ref_mask);
}

/* Clients mostly number their orders in sequence: blocks of 64 clordids
 * share a keyed hash of (session, clordid / 64) and keep their order inside
 * it, so one session's recent orders stay together, while a client cannot
 * choose clordids that meet in one chain (the key is random per process;
 * which bucket an entry has is not state). */
static uint32_t cl_bucket(const xt_sessions_t *s, uint32_t sess, uint64_t clordid)
{
    uint64_t block = mix((clordid >> 6) ^ s->salt ^ ((uint64_t)sess << 40));
    return (uint32_t)(((block << 6) | (clordid & 63)) & s->ref_mask);
}

static uint32_t ref_find(const xt_sessions_t *s, int64_t id)
{
    for (uint32_t i = s->id_buckets[id_bucket(s, id)]; i != XT_NIL; i = s->refs[i].hnext_id)
        if (s->refs[i].order_id == id)
            return i;
    return XT_NIL;
}

const xt_ordref_t *xt_sessions_ref(const xt_sessions_t *s, int64_t order_id)
{
    uint32_t i = ref_find(s, order_id);
    return i == XT_NIL ? NULL : &s->refs[i];
}

int64_t xt_sessions_order_by_clordid(const xt_sessions_t *s, uint32_t sess, uint64_t clordid)
{
    for (uint32_t i = s->cl_buckets[cl_bucket(s, sess, clordid)]; i != XT_NIL; i = s->refs[i].hnext_cl)
        if (s->refs[i].sess == sess && s->refs[i].clordid == clordid)
            return s->refs[i].order_id;
    return 0;
}

static void ref_add(xt_sessions_t *s, uint32_t sess, int64_t id, uint64_t clordid)
{
    uint32_t i = s->free_ref;
    if (i == XT_NIL) { /* more orders resting than the table was sized for: a journal replayed under the larger */
        s->no_ref++;   /* capacities its segments ran with, engine.max_orders lowered since (the start refuses) */
        return;
    }
    xt_ordref_t *r = &s->refs[i];
    s->free_ref = r->next;
    r->order_id = id;
    r->clordid = clordid;
    r->sess = sess;
    xt_sess_t *x = &s->sess[sess];
    r->prev = XT_NIL;
    r->next = x->open_head;
    if (x->open_head != XT_NIL)
        s->refs[x->open_head].prev = i;
    x->open_head = i;
    x->n_open++;
    uint32_t b = id_bucket(s, id);
    r->hnext_id = s->id_buckets[b];
    s->id_buckets[b] = i;
    b = cl_bucket(s, sess, clordid);
    r->hnext_cl = s->cl_buckets[b];
    r->hprev_cl = XT_NIL;
    if (r->hnext_cl != XT_NIL)
        s->refs[r->hnext_cl].hprev_cl = i;
    s->cl_buckets[b] = i;
    xt_acct_t *a = acct_find(s, x->account);
    if (a)
        a->open++;
}

/* Order ids are ours (sequence numbers): their chains stay short. */
static void unchain_id(xt_sessions_t *s, uint32_t *head, uint32_t i)
{
    for (uint32_t *p = head; *p != XT_NIL; p = &s->refs[*p].hnext_id)
        if (*p == i) {
            *p = s->refs[i].hnext_id;
            return;
        }
}

static void unchain_cl(xt_sessions_t *s, uint32_t i)
{
    const xt_ordref_t *r = &s->refs[i];
    if (r->hprev_cl != XT_NIL)
        s->refs[r->hprev_cl].hnext_cl = r->hnext_cl;
    else
        s->cl_buckets[cl_bucket(s, r->sess, r->clordid)] = r->hnext_cl;
    if (r->hnext_cl != XT_NIL)
        s->refs[r->hnext_cl].hprev_cl = r->hprev_cl;
}

static void ref_remove(xt_sessions_t *s, uint32_t i)
{
    xt_ordref_t *r = &s->refs[i];
    xt_sess_t *x = &s->sess[r->sess];
    unchain_id(s, &s->id_buckets[id_bucket(s, r->order_id)], i);
    unchain_cl(s, i);
    if (r->prev != XT_NIL)
        s->refs[r->prev].next = r->next;
    else
        x->open_head = r->next;
    if (r->next != XT_NIL)
        s->refs[r->next].prev = r->prev;
    x->n_open--;
    xt_acct_t *a = acct_find(s, x->account);
    if (a && a->open)
        a->open--;
    r->sess = XT_NIL;
    r->next = s->free_ref;
    s->free_ref = i;
}

/* ---- messages ------------------------------------------------------------ */

static void emit(xt_sessions_t *s, uint32_t sess, uint8_t *frame, size_t len)
{
    xt_sess_t *x = &s->sess[sess];
    xt_wire_set_seq(frame, XT_WF_SEQUENCED, x->next_seq++);
    uint64_t pos = xt_outlog_append(s->log, x->account, x->number, x->last_pos1, 0, 0, frame, (uint16_t)len);
    x->last_pos1 = pos + 1;
    s->messages++;
}

void xt_sessions_ephemeral(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t conn, uint8_t *frame,
                           uint16_t len)
{
    uint32_t i = xt_sessions_find(s, account, number);
    uint64_t last = i == XT_NIL ? 0 : s->sess[i].next_seq - 1;
    xt_wire_set_seq(frame, 0, last);
    xt_outlog_append(s->log, account, number, 0, conn, XT_OL_EPHEMERAL, frame, len);
}

void xt_sessions_control(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t code)
{
    static const uint8_t none[1] = {0};
    xt_outlog_append(s->log, account, number, 0, code, XT_OL_CONTROL, none, 0);
}

void xt_sessions_answer(xt_sessions_t *s, uint32_t account, uint32_t number, uint32_t code)
{
    uint32_t i = xt_sessions_find(s, account, number);
    const xt_sess_t *x = i == XT_NIL ? NULL : &s->sess[i];
    xt_outlog_append_control(s->log, account, number, code, x ? x->next_seq - 1 : 0, x ? x->last_pos1 : 0);
}

void xt_sessions_begin(xt_sessions_t *s, const xt_cmd_t *cmd)
{
    s->cur = cmd;
    s->cur_sess = XT_NIL;
}

static uint32_t cmd_account(const xt_cmd_t *c)
{
    switch (c->type) {
    case XT_CMD_NEW: return c->u.new_order.account;
    case XT_CMD_CANCEL: return c->u.cancel.account;
    case XT_CMD_AMEND: return c->u.amend.account;
    default: return 0;
    }
}

/* The command's session, created on its first event: only applied (hence
 * journaled) commands change session state. */
static uint32_t origin(xt_sessions_t *s)
{
    const xt_cmd_t *c = s->cur;
    if (s->cur_sess != XT_NIL || !c || c->session == 0)
        return s->cur_sess;
    s->cur_sess = sess_get(s, cmd_account(c), c->session);
    s->no_room += s->cur_sess == XT_NIL;
    if (s->cur_sess != XT_NIL && c->clordid > s->sess[s->cur_sess].last_clordid)
        s->sess[s->cur_sess].last_clordid = c->clordid;
    return s->cur_sess;
}

static int64_t wire_price(int64_t p)
{
    return p == XT_PRICE_NONE ? 0 : p;
}

static uint8_t request_type(uint8_t cmd_type)
{
    return cmd_type == XT_CMD_CANCEL ? XT_MSG_CANCEL : cmd_type == XT_CMD_AMEND ? XT_MSG_AMEND : XT_MSG_NEW_ORDER;
}

static void on_accepted(xt_sessions_t *s, uint32_t o, const xt_event_t *e, int64_t ts)
{
    ref_add(s, o, e->order_id, s->cur->clordid);
    uint8_t f[XT_WIRE_MAX];
    xt_msg_accepted_t m = {s->cur->clordid, e->order_id, e->instrument,        e->side, e->ord_type,
                           e->tif,          e->stp,      wire_price(e->price), e->qty,  ts};
    emit(s, o, f, xt_wire_put_accepted(f, XT_WF_SEQUENCED, 0, &m));
}

/* Another account's open order is answered as one that is not open
 * (UNKNOWN_ORDER), as ORDER_STATUS answers it: no account learns which of
 * another's orders are open. (The core's reason is still counted,
 * xt_rejects_total{reason="NOT_OWNER"}, for the operator.) */
static uint8_t told_reason(uint8_t reason)
{
    return reason == XT_R_NOT_OWNER ? XT_R_UNKNOWN_ORDER : reason;
}

static void on_rejected(xt_sessions_t *s, uint32_t o, const xt_event_batch_t *b, const xt_event_t *e)
{
    uint8_t f[XT_WIRE_MAX];
    int is_new = b->cmd_type == XT_CMD_NEW;
    int64_t named = is_new || e->order_id == XT_ORDER_ID_UNKNOWN ? 0 : e->order_id;
    xt_msg_rejected_t m = {
        s->cur->clordid, named, told_reason(e->reason), request_type(b->cmd_type), is_new ? e->instrument : 0, b->ts};
    emit(s, o, f, xt_wire_put_rejected(f, XT_WF_SEQUENCED, 0, &m));
}

static void fill(xt_sessions_t *s, int64_t id, const xt_event_t *e, int maker, int64_t ts)
{
    uint32_t i = ref_find(s, id);
    if (i == XT_NIL)
        return;
    const xt_ordref_t *r = &s->refs[i];
    int64_t remaining = maker ? e->u.trade.maker_remaining : e->remaining;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_fill_t m = {r->clordid,
                       id,
                       e->u.trade.trade_id,
                       e->instrument,
                       (uint8_t)(maker ? !e->side : e->side),
                       maker ? XT_LIQ_MAKER : XT_LIQ_TAKER,
                       e->price,
                       e->qty,
                       remaining,
                       ts};
    emit(s, r->sess, f, xt_wire_put_fill(f, XT_WF_SEQUENCED, 0, &m));
    if (remaining == 0)
        ref_remove(s, i);
}

static void on_canceled(xt_sessions_t *s, uint32_t o, const xt_event_batch_t *b, const xt_event_t *e)
{
    uint32_t i = ref_find(s, e->order_id);
    if (i == XT_NIL)
        return;
    uint32_t owner = s->refs[i].sess;
    int by_request = b->cmd_type == XT_CMD_CANCEL && o != XT_NIL;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_canceled_t m = {s->refs[i].clordid,
                           e->order_id,
                           e->instrument,
                           e->side,
                           e->reason,
                           e->qty,
                           by_request && o == owner ? s->cur->clordid : 0,
                           b->ts};
    emit(s, owner, f, xt_wire_put_canceled(f, XT_WF_SEQUENCED, 0, &m));
    if (by_request && o != owner && s->cur->clordid) { /* the requester gets its answer too */
        m.request_clordid = s->cur->clordid;
        emit(s, o, f, xt_wire_put_canceled(f, XT_WF_SEQUENCED, 0, &m));
    }
    ref_remove(s, i);
}

static void on_amended(xt_sessions_t *s, uint32_t o, const xt_event_batch_t *b, const xt_event_t *e)
{
    uint32_t i = ref_find(s, e->order_id);
    if (i == XT_NIL)
        return;
    uint32_t owner = s->refs[i].sess;
    uint8_t f[XT_WIRE_MAX];
    xt_msg_amended_t m = {o == owner ? s->cur->clordid : 0,
                          e->order_id,
                          s->refs[i].clordid,
                          e->price,
                          e->qty,
                          (uint8_t)((e->flags & XT_EVF_PRIORITY_KEPT) != 0),
                          b->ts,
                          e->instrument};
    emit(s, owner, f, xt_wire_put_amended(f, XT_WF_SEQUENCED, 0, &m));
    if (o != XT_NIL && o != owner && s->cur->clordid) {
        m.clordid = s->cur->clordid;
        emit(s, o, f, xt_wire_put_amended(f, XT_WF_SEQUENCED, 0, &m));
    }
}

/* SESSION_END, applied: the session is forgotten (the engine thread
 * journals one only for a session without open orders; a replayed one
 * finds the same state). */
static void end_session(xt_sessions_t *s)
{
    if (!s->cur || s->cur->type != XT_CMD_SESSION_END)
        return;
    uint32_t i = xt_sessions_find(s, s->cur->u.session_end.account, s->cur->u.session_end.session);
    if (i != XT_NIL && s->sess[i].n_open == 0)
        sess_free(s, i);
}

void xt_sessions_sink(void *ctx, const xt_event_batch_t *b)
{
    xt_sessions_t *s = ctx;
    if (b->cmd_type == XT_CMD_SESSION_END)
        return end_session(s);
    uint32_t o = origin(s);
    for (uint32_t k = 0; k < b->n; k++) {
        const xt_event_t *e = &b->events[k];
        switch (e->type) {
        case XT_EV_ACCEPTED:
            if (o != XT_NIL)
                on_accepted(s, o, e, b->ts);
            break;
        case XT_EV_REJECTED:
            if (o != XT_NIL)
                on_rejected(s, o, b, e);
            break;
        case XT_EV_TRADE:
            fill(s, e->order_id, e, 0, b->ts);
            fill(s, e->u.trade.maker_id, e, 1, b->ts);
            break;
        case XT_EV_CANCELED: on_canceled(s, o, b, e); break;
        case XT_EV_AMENDED: on_amended(s, o, b, e); break;
        default: break;
        }
    }
}

/* ---- snapshot extension ------------------------------------------------- */

static uint64_t first_kept(const xt_sessions_t *s)
{
    return s->log->head > s->log->cap ? s->log->head - s->log->cap : 0;
}

static uint32_t count_refs(const xt_sessions_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_sessions; i++)
        n += s->sess[i].n_open; /* 0 for a free entry */
    return n;
}

static uint64_t ext_size(void *ctx)
{
    xt_sessions_t *s = ctx;
    return EXT_HDR + (uint64_t)s->n_live * EXT_SESS + (uint64_t)count_refs(s) * EXT_REF +
           (s->log->head - first_kept(s)) * EXT_SLOT;
}

static void ext_write(void *ctx, void (*put)(void *out, const void *p, size_t n), void *out)
{
    xt_sessions_t *s = ctx;
    uint8_t b[EXT_SLOT];
    memset(b, 0, sizeof b);
    xt_put32(b, EXT_MAGIC);
    xt_put32(b + 4, EXT_VERSION);
    xt_put32(b + 8, s->n_live);
    xt_put32(b + 12, count_refs(s));
    xt_put64(b + 16, s->log->head);
    xt_put64(b + 24, first_kept(s));
    xt_put64(b + 32, s->messages);
    put(out, b, EXT_HDR);
    for (uint32_t i = 0; i < s->n_sessions; i++) { /* the live ones, in index order: numbered 0, 1, ... */
        const xt_sess_t *x = &s->sess[i];
        if (x->account == 0)
            continue;
        xt_put32(b, x->account);
        xt_put32(b + 4, x->number);
        xt_put64(b + 8, x->next_seq);
        xt_put64(b + 16, x->last_clordid);
        xt_put64(b + 24, x->last_pos1);
        put(out, b, EXT_SESS);
    }
    for (uint32_t i = 0, k = 0; i < s->n_sessions; i++) {
        if (s->sess[i].account == 0)
            continue;
        for (uint32_t r = s->sess[i].open_head; r != XT_NIL; r = s->refs[r].next) {
            memset(b, 0, EXT_REF);
            xt_put64(b, (uint64_t)s->refs[r].order_id);
            xt_put64(b + 8, s->refs[r].clordid);
            xt_put32(b + 16, k); /* the session's number in the list above */
            put(out, b, EXT_REF);
        }
        k++;
    }
    for (uint64_t p = first_kept(s); p < s->log->head; p++) {
        const xt_outlog_slot_t *sl = &s->log->slots[p % s->log->cap];
        memset(b, 0, sizeof b);
        xt_put64(b, sl->prev1);
        xt_put32(b + 8, sl->account);
        xt_put32(b + 12, sl->session);
        xt_put32(b + 16, sl->conn);
        b[20] = (uint8_t)sl->len;
        b[21] = (uint8_t)(sl->len >> 8);
        b[22] = sl->flags;
        /* the frame's own bytes: after them the slot may hold the tail of a
         * longer message it carried before (the zeros of b stand there) */
        memcpy(b + 24, sl->frame, sl->len < XT_OUTLOG_FRAME ? sl->len : XT_OUTLOG_FRAME);
        put(out, b, EXT_SLOT);
    }
}

typedef int (*get_fn)(void *in, void *p, size_t n);

static int bad(char *why, size_t n, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(char *why, size_t n, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return rc;
}

static int load_sessions(xt_sessions_t *s, uint32_t n, uint64_t head, get_fn get, void *in, char *why, size_t wn)
{
    uint8_t b[EXT_SESS];
    for (uint32_t k = 0; k < n; k++) {
        if (get(in, b, EXT_SESS) != 0)
            return bad(why, wn, -1, "sessions: read error");
        uint32_t account = xt_get32(b), number = xt_get32(b + 4);
        uint64_t next_seq = xt_get64(b + 8), last_pos1 = xt_get64(b + 24);
        if (account == 0 || number == 0)
            return bad(why, wn, -1, "sessions: session %u is account %u, number %u (both must be >= 1)", k, account,
                       number);
        if (next_seq == 0 || last_pos1 > head)
            return bad(why, wn, -1, "sessions: session %u (%u/%u): next_seq %llu, last message %llu of %llu", k,
                       account, number, (unsigned long long)next_seq, (unsigned long long)last_pos1,
                       (unsigned long long)head);
        uint32_t i = sess_get(s, account, number);
        if (i != k)
            return bad(why, wn, -1, "sessions: session %u (%u/%u) listed twice", k, account, number);
        s->sess[i].next_seq = next_seq;
        s->sess[i].last_clordid = xt_get64(b + 16);
        s->sess[i].last_pos1 = last_pos1;
    }
    return 0;
}

static int load_refs(xt_sessions_t *s, uint32_t n, get_fn get, void *in, char *why, size_t wn)
{
    uint8_t b[EXT_REF];
    for (uint32_t k = 0; k < n; k++) {
        if (get(in, b, EXT_REF) != 0)
            return bad(why, wn, -1, "sessions: read error");
        int64_t id = (int64_t)xt_get64(b);
        uint32_t sess = xt_get32(b + 16);
        if (sess >= s->n_sessions || id <= 0 || ref_find(s, id) != XT_NIL || s->free_ref == XT_NIL)
            return bad(why, wn, -1, "sessions: open order %u (id %lld, session %u of %u) is invalid or listed twice", k,
                       (long long)id, sess, s->n_sessions);
        ref_add(s, sess, id, xt_get64(b + 8));
    }
    return 0;
}

/* A version 1 extension's AMENDED frame from before AMENDED named its
 * instrument has zeros there, and 0 is an instrument: it is told as
 * unknown instead. (Builds between the two changes wrote version 1 with
 * the instrument in place: those are kept.) */
static void amended_v1(uint8_t *frame, uint16_t len)
{
    if (len == XT_LEN_AMENDED && frame[2] == XT_MSG_AMENDED && xt_get32(frame + 60) == 0)
        xt_put32(frame + 60, XT_INSTRUMENT_UNKNOWN);
}

/* The first position of [first, head) the log keeps. A smaller
 * server.resume_messages than the snapshot was taken with: the oldest
 * messages are read and dropped (resuming that far back is refused, as it
 * would be had they aged out). */
static uint64_t loaded_from(const xt_sessions_t *s, uint64_t first, uint64_t head)
{
    return head - first > s->log->cap ? head - s->log->cap : first;
}

static int load_log(xt_sessions_t *s, uint64_t first, uint64_t head, int version, get_fn get, void *in, char *why,
                    size_t wn)
{
    uint64_t keep_from = loaded_from(s, first, head);
    uint8_t b[EXT_SLOT];
    s->log->head = keep_from;
    for (uint64_t p = first; p < head; p++) {
        if (get(in, b, EXT_SLOT) != 0)
            return bad(why, wn, -1, "sessions: read error");
        if (p < keep_from)
            continue;
        uint16_t len = (uint16_t)(b[20] | b[21] << 8);
        xt_wire_hdr_t hdr; /* the frame must be one the protocol has, of the length its slot says; */
        if (len > 0 &&     /* 0: a control slot (xt_sessions_control), no message */
            (len > XT_OUTLOG_FRAME || xt_wire_frame(b + 24, len, XT_OUTLOG_FRAME, &hdr) != (int)len))
            return bad(why, wn, -1, "sessions: message %llu (%u bytes) is not a whole protocol message",
                       (unsigned long long)p, len);
        if (version == 1)
            amended_v1(b + 24, len);
        xt_outlog_append(s->log, xt_get32(b + 8), xt_get32(b + 12), xt_get64(b), xt_get32(b + 16), b[22], b + 24, len);
    }
    xt_outlog_release(s->log);
    atomic_store(&s->log->consumed, head);
    return 0;
}

/* The counts of the header, checked against the capacities this process
 * was set up with (XT_ELIMIT) and against the extension's length (-1)
 * before anything is read by them. */
static int check_counts(const xt_sessions_t *s, uint64_t len, const uint8_t *h, char *why, size_t wn)
{
    uint32_t ns = xt_get32(h + 8), nr = xt_get32(h + 12);
    uint64_t head = xt_get64(h + 16), first = xt_get64(h + 24);
    if (ns > s->max_sessions)
        return bad(why, wn, XT_ELIMIT, "sessions: %u sessions, more than server.max_sessions = %u: raise it", ns,
                   s->max_sessions);
    if (nr > s->max_refs)
        return bad(why, wn, XT_ELIMIT, "sessions: %u open orders, more than engine.max_orders + 16 = %u", nr,
                   s->max_refs);
    if (head < first || head > XT_OUTLOG_POS_MAX)
        return bad(why, wn, -1, "sessions: message log positions %llu..%llu", (unsigned long long)first,
                   (unsigned long long)head);
    uint64_t fixed = EXT_HDR + (uint64_t)ns * EXT_SESS + (uint64_t)nr * EXT_REF;
    if (len < fixed || (len - fixed) / EXT_SLOT != head - first || (len - fixed) % EXT_SLOT != 0)
        return bad(why, wn, -1, "sessions: %llu bytes for %u sessions, %u open orders and %llu messages",
                   (unsigned long long)len, ns, nr, (unsigned long long)(head - first));
    uint64_t made = xt_get64(h + 32); /* each message made took one position */
    if (made > head)
        return bad(why, wn, -1, "sessions: %llu messages made, more than the %llu log positions",
                   (unsigned long long)made, (unsigned long long)head);
    return 0;
}

/* ---- links, checked once everything is loaded ---------------------------- */

/* The sequence number of a kept sequenced message; -1 for another slot. */
static int slot_seq(const xt_outlog_slot_t *sl, uint64_t *seq)
{
    xt_wire_hdr_t h;
    if ((sl->flags & (XT_OL_EPHEMERAL | XT_OL_CONTROL)) || sl->len == 0 ||
        xt_wire_frame(sl->frame, sl->len, XT_OUTLOG_FRAME, &h) != (int)sl->len || !(h.flags & XT_WF_SEQUENCED))
        return -1;
    *seq = h.seq;
    return 0;
}

/* Message `seq` of (account, number), at position `at` (a session's next
 * message: at the head), links to pos1 as emit() makes it: to nothing when
 * it is the session's first, else strictly back, to a position the log
 * no longer holds (below `from`: not read, a slot there may be stale) or
 * to that session's message seq - 1. */
static int check_link(const xt_sessions_t *s, uint64_t from, uint64_t at, uint64_t pos1, uint32_t account,
                      uint32_t number, uint64_t seq, char *why, size_t wn)
{
    if ((seq == 1) != (pos1 == 0))
        return bad(why, wn, -1, "sessions: message %llu of %u/%u at position %llu: %s", (unsigned long long)seq,
                   account, number, (unsigned long long)at,
                   seq == 1 ? "its session's first, yet it links to a previous one" : "it links to no previous one");
    if (pos1 > at)
        return bad(why, wn, -1,
                   "sessions: message %llu of %u/%u at position %llu links to position %llu, not an earlier one",
                   (unsigned long long)seq, account, number, (unsigned long long)at, (unsigned long long)(pos1 - 1));
    if (pos1 == 0 || pos1 - 1 < from)
        return 0;
    xt_outlog_slot_t sl;
    uint64_t prev = 0;
    if (xt_outlog_read(s->log, pos1 - 1, &sl) != 0 || slot_seq(&sl, &prev) != 0 || sl.account != account ||
        sl.session != number || prev != seq - 1)
        return bad(why, wn, -1,
                   "sessions: message %llu of %u/%u at position %llu links to position %llu, which is not its "
                   "session's message %llu",
                   (unsigned long long)seq, account, number, (unsigned long long)at, (unsigned long long)(pos1 - 1),
                   (unsigned long long)(seq - 1));
    return 0;
}

/* Every kept slot's link: a sequenced message's as check_link, none for
 * an unsequenced or control slot (never on a chain). */
static int check_log_links(const xt_sessions_t *s, uint64_t from, char *why, size_t wn)
{
    for (uint64_t p = from; p < s->log->head; p++) {
        xt_outlog_slot_t sl;
        uint64_t seq = 0;
        if (xt_outlog_read(s->log, p, &sl) != 0)
            return bad(why, wn, -1, "sessions: message %llu was not kept", (unsigned long long)p);
        int sequenced = !(sl.flags & (XT_OL_EPHEMERAL | XT_OL_CONTROL));
        if (!sequenced && sl.prev1 != 0)
            return bad(why, wn, -1, "sessions: unsequenced slot %llu links to position + 1 = %llu",
                       (unsigned long long)p, (unsigned long long)sl.prev1);
        if (sequenced && slot_seq(&sl, &seq) != 0)
            return bad(why, wn, -1, "sessions: message %llu is not a sequenced message", (unsigned long long)p);
        if (sequenced && check_link(s, from, p, sl.prev1, sl.account, sl.session, seq, why, wn) != 0)
            return -1;
    }
    return 0;
}

/* Each session's next_seq: the messages it has had (next_seq - 1) are some
 * of those made, all sessions' together too (a session ended by SESSION_END
 * took its own with it), and its last message, when kept, is numbered
 * next_seq - 1. */
static int check_session_links(const xt_sessions_t *s, uint64_t from, char *why, size_t wn)
{
    uint64_t sum = 0; /* each term <= messages <= XT_OUTLOG_POS_MAX (check_counts): no overflow */
    for (uint32_t i = 0; i < s->n_sessions; i++) {
        const xt_sess_t *x = &s->sess[i];
        if (x->account == 0)
            continue;
        if (x->next_seq - 1 <= s->messages)
            sum += x->next_seq - 1;
        if (x->next_seq - 1 > s->messages || sum > s->messages)
            return bad(why, wn, -1, "sessions: session %u (%u/%u): next_seq %llu, beyond the %llu messages made%s", i,
                       x->account, x->number, (unsigned long long)x->next_seq, (unsigned long long)s->messages,
                       x->next_seq - 1 > s->messages ? "" : " (all sessions' next_seq - 1 together)");
        if (check_link(s, from, s->log->head, x->last_pos1, x->account, x->number, x->next_seq, why, wn) != 0)
            return -1;
    }
    return 0;
}

/* The loaded log's positions start at `from`. */
static int check_links(const xt_sessions_t *s, uint64_t from, char *why, size_t wn)
{
    if (check_log_links(s, from, why, wn) != 0 || check_session_links(s, from, why, wn) != 0)
        return -1;
    return 0;
}

static int ext_load(void *ctx, uint64_t len, get_fn get, void *in, char *why, size_t wn)
{
    xt_sessions_t *s = ctx;
    clear(s);
    if (len == 0)
        return 0;
    uint8_t h[EXT_HDR];
    if (len < EXT_HDR || get(in, h, EXT_HDR) != 0 || xt_get32(h) != EXT_MAGIC ||
        (xt_get32(h + 4) != 1 && xt_get32(h + 4) != EXT_VERSION))
        return bad(why, wn, -1, "sessions: not a version 1 or 2 sessions extension");
    int rc = check_counts(s, len, h, why, wn);
    if (rc)
        return rc;
    uint32_t ns = xt_get32(h + 8), nr = xt_get32(h + 12);
    uint64_t head = xt_get64(h + 16), first = xt_get64(h + 24);
    if (load_sessions(s, ns, head, get, in, why, wn) || load_refs(s, nr, get, in, why, wn) ||
        load_log(s, first, head, (int)xt_get32(h + 4), get, in, why, wn))
        return -1;
    s->messages = xt_get64(h + 32);
    return check_links(s, loaded_from(s, first, head), why, wn);
}
