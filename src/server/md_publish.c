/* md_publish.c - market data to subscribers: every derived update of
 * libxtmd is encoded once per channel and fanned out (md_conn.c queues the
 * shared bytes); snapshots on subscribe and after a slow consumer drains;
 * the throttled channels (@100ms, @1000ms) sent from a tick.
 *
 * Slow consumers: a subscriber whose queue is over its limits has its
 * depth, bbo, ticker, K-line, timeline and (binary) instrument subscriptions marked stale
 * (updates skipped; a snapshot each once drained); a trades subscriber
 * cannot be conflated: what its socket takes is written at once, and if
 * the update still does not fit it is closed with 1008 "slow consumer".
 *
 * The binary protocol's channels (docs/md-binary.md, XT_CH_BIN_*) are
 * published beside the JSON ones from the same updates and diffs, encoded
 * by md_encode_bin.c; they are live only. */
#include <string.h>

#include "md_bin.h"
#include "md_internal.h"

/* ---- channels ------------------------------------------------------------ */

static const int depth_n[3] = {5, 10, 20};
#define CAP (m->msg_bytes[MSG_LARGE] - XT_WS_HEADER_MAX) /* the largest message there is */
#define TRADES_SNAPSHOT 100                              /* trades in a trades snapshot */
#define BIN ((uint8_t *)m->scratch)                      /* the scratch, for binary frames */

static uint32_t ch_slot(uint32_t ch)
{
    return ch / XT_TH_COUNT / XT_CH_KINDS;
}

static int ch_kind(uint32_t ch)
{
    return (int)(ch / XT_TH_COUNT % XT_CH_KINDS);
}

static int ch_th(uint32_t ch)
{
    return (int)(ch % XT_TH_COUNT);
}

/* Whether anyone listens to (slot, kind), live or throttled. */
static int watched(const mds_t *m, uint32_t slot, int kind)
{
    for (int th = XT_TH_LIVE; th < XT_TH_COUNT; th++)
        if (m->ch_head[xt_mds_ch(slot, kind, th)] != NIL)
            return 1;
    return 0;
}

/* depthN's published top from the book as it is now. */
static void refresh_top(mds_t *m, uint32_t slot, int d)
{
    inst_pub_t *p = &m->pub[slot];
    const xt_md_inst_t *in = xt_md_find(&m->md, slot);
    p->nb[d] = xt_md_depth(in, XT_BUY, p->top[d][0], (uint32_t)depth_n[d]);
    p->na[d] = xt_md_depth(in, XT_SELL, p->top[d][1], (uint32_t)depth_n[d]);
    p->depth_seq[d] = xt_md_book_seq(in);
    p->top_valid[d] = 1;
}

/* The trades newer than after, up to the tape size, into m->tape. */
static uint32_t trades_after(mds_t *m, const xt_md_inst_t *in, uint64_t after)
{
    uint32_t n = xt_md_trades(in, m->tape, m->tape_cap), k = 0;
    while (k < n && m->tape[k].trade_id <= after)
        k++;
    memmove(m->tape, m->tape + k, sizeof m->tape[0] * (n - k));
    return n - k;
}

/* A binary channel's snapshot, encoded into m->scratch (encode_state). */
static size_t encode_bin_state(mds_t *m, uint32_t ch, const xt_md_inst_t *in, int64_t ts)
{
    uint32_t slot = ch_slot(ch), n;
    int kind = ch_kind(ch);
    inst_pub_t *p = &m->pub[slot];
    const xt_md_ticker_t *t = xt_md_ticker(in);
    switch (kind) {
    case XT_CH_BIN_BBO: return xt_mdb_enc_bbo(BIN, CAP, slot, 1, p->bbo_seq, ts, t);
    case XT_CH_BIN_TICKER: return xt_mdb_enc_ticker(BIN, CAP, slot, 1, xt_md_book_seq(in), ts, t, p->halted);
    case XT_CH_BIN_INSTRUMENT: return xt_mds_bin_instrument(m, slot, BIN);
    case XT_CH_BIN_TRADES:
        n = xt_md_trades(in, m->tape, TRADES_SNAPSHOT);
        return xt_mdb_enc_trades(BIN, CAP, slot, 1, m->tape, n);
    case XT_CH_BIN_DEPTH: {
        uint32_t lim = m->s->cfg.md_max_levels;
        uint32_t nb = xt_md_depth(in, XT_BUY, m->lv_b, lim), na = xt_md_depth(in, XT_SELL, m->lv_a, lim);
        return xt_mdb_enc_depth(BIN, CAP, XT_MDB_DEPTH_SNAPSHOT, slot, 0, xt_md_book_seq(in), 0, ts, m->lv_b, nb,
                                m->lv_a, na);
    }
    default: { /* depth5, depth10, depth20: the published top, as the JSON ones */
        int d = kind - XT_CH_BIN_DEPTH5;
        if (!p->top_valid[d])
            refresh_top(m, slot, d);
        return xt_mdb_enc_depth(BIN, CAP, XT_MDB_DEPTH_SNAPSHOT, slot, (uint8_t)depth_n[d], p->depth_seq[d], 0, ts,
                                p->top[d][0], p->nb[d], p->top[d][1], p->na[d]);
    }
    }
}

/* A channel's current state, encoded into m->scratch: its snapshot (for a
 * new subscriber, a `snapshot` command, a slow consumer that drained) or,
 * when !snapshot, what a throttled channel sends at its tick (the same,
 * but trades since the last tick and the timeline's current minute). */
static size_t encode_state(mds_t *m, uint32_t ch, int snapshot)
{
    uint32_t slot = ch_slot(ch);
    int kind = ch_kind(ch);
    const inst_pub_t *p = &m->pub[slot];
    const xt_md_sym_t *sym = &p->sym[ch_th(ch)];
    const xt_md_inst_t *in = xt_md_find(&m->md, slot);
    char *o = m->scratch;
    if (in == NULL)
        return 0;
    const xt_md_ticker_t *t = xt_md_ticker(in);
    int64_t ts = p->last_ts ? p->last_ts : m->now;
    if (xt_mds_kind_bin(kind))
        return encode_bin_state(m, ch, in, ts);
    switch (kind) {
    case XT_CH_BBO: return xt_md_enc_bbo(o, CAP, sym, p->bbo_seq, ts, t);
    case XT_CH_DEPTH5:
    case XT_CH_DEPTH10:
    case XT_CH_DEPTH20: {
        int d = kind - XT_CH_DEPTH5;
        if (!p->top_valid[d])
            refresh_top(m, slot, d);
        return xt_md_enc_depth(o, CAP, sym, kind, 1, p->depth_seq[d], -1, ts, p->top[d][0], p->nb[d], p->top[d][1],
                               p->na[d]);
    }
    case XT_CH_DEPTH: {
        uint32_t lim = m->s->cfg.md_max_levels; /* all md keeps: the large class is sized for it */
        uint32_t nb = xt_md_depth(in, XT_BUY, m->lv_b, lim), na = xt_md_depth(in, XT_SELL, m->lv_a, lim);
        return xt_md_enc_depth(o, CAP, sym, kind, 1, xt_md_book_seq(in), -1, ts, m->lv_b, nb, m->lv_a, na);
    }
    case XT_CH_TRADES: {
        if (snapshot) {
            uint32_t n = xt_md_trades(in, m->tape, TRADES_SNAPSHOT);
            return xt_md_enc_trades(o, CAP, sym, 1, ts, m->tape, n);
        }
        ch_state_t *st = &m->chs[ch];
        uint32_t n = trades_after(m, in, st->last_trade_id);
        if (n == 0)
            return 0;
        st->last_trade_id = m->tape[n - 1].trade_id;
        return xt_md_enc_trades(o, CAP, sym, 0, m->tape[n - 1].ts, m->tape, n);
    }
    case XT_CH_TICKER: return xt_md_enc_ticker(o, CAP, sym, ts, t, xt_mds_trading(m, slot, m->pub[slot].halted));
    case XT_CH_TIMELINE: {
        const xt_md_minute_t *pts;
        uint32_t n = xt_md_timeline(in, &pts);
        if (!snapshot && n)
            return xt_md_enc_timeline(o, CAP, sym, 0, ts, pts + n - 1, 1);
        return xt_md_enc_timeline(o, CAP, sym, 1, ts, pts, n);
    }
    default: {
        const xt_md_candle_t *cd = xt_md_candle(in, kind - XT_CH_KLINE);
        return cd ? xt_md_enc_kline(o, CAP, sym, kind - XT_CH_KLINE, ts, cd) : 0;
    }
    }
}

static uint32_t make_evicting(mds_t *m, int kind, size_t n, uint32_t ch);

int xt_mds_send_snapshot(mds_t *m, uint32_t c, uint32_t ch, int admitted)
{
    size_t n = encode_state(m, ch, 1);
    if (n == 0) /* nothing to send (or too big for any buffer) */
        return 0;
    /* Without eviction, clients that never read held the large buffers,
     * and every reader's deep snapshot (and the updates behind it) waited
     * for the ping rounds to close them, ~60 s (a probe). */
    uint32_t g = make_evicting(m, ch_kind(ch), n, NIL);
    int rc = g == NIL ? XT_MDS_NO_POOL : admitted ? xt_mds_enqueue_admitted(m, c, g) : xt_mds_enqueue(m, c, g);
    xt_mds_msg_drop_if_unused(m, g);
    return rc;
}

int xt_mds_snapshots_fit(mds_t *m, uint32_t c, const uint32_t *chs, uint32_t n)
{
    uint64_t bytes = 512; /* the answer */
    uint32_t msgs = 1;
    for (uint32_t a = 0; a < n; a++)
        if (xt_mds_find_sub(m, c, chs[a]) == NIL) {
            bytes += encode_state(m, chs[a], 1) + XT_WS_HEADER_MAX;
            msgs++;
        }
    return xt_mds_room(m, c, bytes, msgs);
}

enum { HOLD_NODES, HOLD_BYTES, HOLD_CLOSING };

/* Connection c, as a candidate of biggest_holder's `by`. */
static int holder(const mds_t *m, const mconn_t *k, int by)
{
    if (by != HOLD_CLOSING)
        return (k->state == C_WS || k->state == C_BIN) && !k->shut;
    /* closing already, its first message a large one (market data, not an
     * order session's answers or a lone CLOSE) that it alone holds */
    const msg_t *head = k->qn ? &m->msgs[m->qnodes[k->qh].msg] : NULL;
    return k->state == C_CLOSING && (k->ws || k->bin) && head && head->cls >= MSG_MEDIUM && head->refs == 1;
}

/* The subscriber connection holding the most - queue nodes (HOLD_NODES),
 * or queued bytes: open (HOLD_BYTES), or closing with a large message it
 * alone holds first (HOLD_CLOSING) - above `floor`; NIL when none does. */
static uint32_t biggest_holder(const mds_t *m, int by, uint64_t floor)
{
    uint32_t hog = NIL;
    for (uint32_t c = 0; c < m->max_conns; c++) {
        const mconn_t *k = &m->conns[c];
        uint64_t held = by == HOLD_NODES ? k->qn : k->out_bytes;
        if (held > floor && holder(m, k, by)) {
            floor = held;
            hog = c;
        }
    }
    return hog;
}

/* Closes connection c as a slow consumer (counted in slow_closes). */
static void evict(mds_t *m, uint32_t c, const char *why)
{
    m->slow_closes++;
    xt_mds_close_with(m, c, XT_WS_CLOSE_POLICY, why);
}

/* The shared part of the queue nodes (md_conn.c queue_len) has less than
 * one connection's most left: the subscriber holding the most of it - one
 * that stopped reading - is closed as a slow consumer, so that the ones
 * that read do not find it empty and get conflated or closed in its
 * place. Here, before a fan-out, not inside one: a close changes the
 * subscriber lists a fan-out walks. */
static void evict_hog(mds_t *m)
{
    uint32_t hog = biggest_holder(m, HOLD_NODES, QNODES_PER_CONN);
    m->hog_none_at = hog == NIL ? m->q_shared : 0;
    if (hog != NIL)
        evict(m, hog, "slow consumer: it held the most of the shared queue");
}

/* A message pool is out: the subscriber with the most bytes queued - the
 * one furthest behind, pinning messages no one else still holds - is closed
 * as a slow consumer, as evict_hog does for the queue nodes. Without it,
 * subscribers that stopped reading at different times (each pinning up to
 * md.output_limit of trade batches of their own) could use up a size class,
 * and every trades subscriber of the next update would be closed in their
 * place (an HTTP answer's too: md_http.c). Returns 0 when nobody holds anything. */
int xt_mds_evict_buffer_holder(mds_t *m)
{
    /* One closed already and still holding buffers - the rest of a message
     * it has not taken, its CLOSE behind - goes at once, the message cut
     * short: closed gracefully, a client that reads nothing frees nothing
     * until the ping rounds (~60 s), and meanwhile every reader's deep
     * snapshot waited (a probe). */
    uint32_t gone = biggest_holder(m, HOLD_CLOSING, 0);
    if (gone != NIL) {
        xt_mds_close(m, gone);
        return 1;
    }
    uint32_t hog = biggest_holder(m, HOLD_BYTES, 0);
    if (hog != NIL)
        evict(m, hog, "slow consumer: it held the most of the message buffers");
    return hog != NIL;
}

static uint32_t make_update(mds_t *m, int kind, size_t n)
{
    return xt_mds_kind_bin(kind) ? xt_mds_msg_raw(m, m->scratch, n) : xt_mds_msg_make(m, XT_WS_OP_TEXT, m->scratch, n);
}

/* The update or snapshot in m->scratch (n bytes) as a pooled message. When
 * the buffers are all in use, the subscriber holding the most is closed
 * first, up to four (while channel ch, unless NIL, has subscribers left):
 * when every subscriber holds the same messages (one sweep's batches, all
 * queued within one read of the feed), a close frees nothing, and none is
 * closed again for 100 ms. */
static uint32_t make_evicting(mds_t *m, int kind, size_t n, uint32_t ch)
{
    uint32_t g = make_update(m, kind, n);
    if (g == NIL && n + XT_WS_HEADER_MAX <= m->msg_bytes[MSG_LARGE] /* else no close would help */ &&
        m->mono >= m->evict_rest_until) {
        for (int tries = 0;
             g == NIL && tries < 4 && (ch == NIL || m->ch_head[ch] != NIL) && xt_mds_evict_buffer_holder(m); tries++)
            g = make_update(m, kind, n);
        if (g == NIL) /* nobody's close freed one: not again for every update of the burst */
            m->evict_rest_until = m->mono + 100000000LL;
    }
    return g;
}

/* Sends the encoded update (m->scratch, n bytes) to every subscriber of ch. */
static void fan_out(mds_t *m, uint32_t ch, size_t n)
{
    if (n == 0 || m->ch_head[ch] == NIL)
        return;
    if (m->q_shared > QNODES_SHARED - QNODES_SHARED_MAX && m->q_shared > m->hog_none_at)
        evict_hog(m); /* not again per fan-out while it finds nobody and the shared part does not grow */
    int kind = ch_kind(ch);
    uint32_t g = make_evicting(m, kind, n, ch); /* (no buffer still: conflated or closed as below) */
    if (g != NIL && ch_th(ch) == XT_TH_LIVE)
        m->msgs[g].ev_ts = m->ev_ts; /* throttled channels' messages wait for their tick by design: not timed */
    for (uint32_t i = m->ch_head[ch], next; i != NIL; i = next) {
        next = m->subs[i].ch_next;
        sub_t *x = &m->subs[i];
        if (x->stale)
            continue;
        int trades = kind == XT_CH_TRADES || kind == XT_CH_BIN_TRADES; /* cannot be conflated */
        int rc = g == NIL ? XT_MDS_NO_POOL : (trades ? xt_mds_enqueue : xt_mds_enqueue_conflatable)(m, x->conn, g);
        if (rc == 0)
            continue;
        if (trades) {
            m->slow_closes++;
            xt_mds_close_with(m, x->conn, XT_WS_CLOSE_POLICY, "slow consumer");
        } else {
            x->stale = 1; /* stale ones were skipped above: each conflation counts once */
            m->conns[x->conn].has_stale = 1;
            m->conflations++;
        }
    }
    xt_mds_msg_drop_if_unused(m, g);
}

/* The throttled channels of (slot, kind) have news for their next tick. */
static void touch_throttled(mds_t *m, uint32_t slot, int kind)
{
    for (int th = XT_TH_100MS; th < XT_TH_COUNT; th++) {
        uint32_t ch = xt_mds_ch(slot, kind, th);
        if (m->ch_head[ch] != NIL && !m->chs[ch].pending) {
            m->chs[ch].pending = 1;
            m->pending[th][m->n_pending[th]++] = ch;
        }
    }
}

void xt_mds_throttle_tick(mds_t *m)
{
    m->ticks++;
    for (int th = XT_TH_100MS; th < XT_TH_COUNT; th++) {
        if (th == XT_TH_1000MS && m->ticks % 10 != 0)
            continue;
        for (uint32_t i = 0; i < m->n_pending[th]; i++) {
            uint32_t ch = m->pending[th][i];
            m->chs[ch].pending = 0;
            if (m->ch_head[ch] != NIL)
                fan_out(m, ch, encode_state(m, ch, 0));
        }
        m->n_pending[th] = 0;
    }
}

/* ---- updates ------------------------------------------------------------- */

static uint32_t diff_levels(const xt_md_level_t *old, uint32_t no, const xt_md_level_t *now, uint32_t nn,
                            xt_md_level_t *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t j = 0;
        while (j < no && old[j].price != now[i].price)
            j++;
        if (j == no || old[j].qty != now[i].qty)
            out[k++] = now[i];
    }
    for (uint32_t j = 0; j < no; j++) {
        uint32_t i = 0;
        while (i < nn && now[i].price != old[j].price)
            i++;
        if (i == nn)
            out[k++] = (xt_md_level_t){old[j].price, 0, 0};
    }
    return k;
}

static void on_book(mds_t *m, uint32_t slot, const xt_md_update_t *u)
{
    inst_pub_t *p = &m->pub[slot];
    const xt_md_inst_t *in = xt_md_find(&m->md, u->instrument);
    uint32_t ch = xt_mds_ch(slot, XT_CH_DEPTH, XT_TH_LIVE);
    if (m->ch_head[ch] != NIL)
        fan_out(m, ch,
                xt_md_enc_depth(m->scratch, CAP, &p->sym[0], XT_CH_DEPTH, 0, u->seq, (int64_t)u->prev_seq, u->ts,
                                u->changed_bids, u->n_changed_bids, u->changed_asks, u->n_changed_asks));
    ch = xt_mds_ch(slot, XT_CH_BIN_DEPTH, XT_TH_LIVE);
    if (m->ch_head[ch] != NIL)
        fan_out(m, ch,
                xt_mdb_enc_depth(BIN, CAP, XT_MDB_DEPTH_DELTA, slot, 0, u->seq, u->prev_seq, u->ts, u->changed_bids,
                                 u->n_changed_bids, u->changed_asks, u->n_changed_asks));
    touch_throttled(m, slot, XT_CH_DEPTH);
    for (int d = 0; d < 3; d++) {
        /* depthN is diffed only while someone listens; the top is rebuilt
         * when someone does again (every new subscriber awaits a snapshot) */
        if (!watched(m, slot, XT_CH_DEPTH5 + d) && !watched(m, slot, XT_CH_BIN_DEPTH5 + d)) {
            p->top_valid[d] = 0;
            continue;
        }
        if (!p->top_valid[d]) {
            refresh_top(m, slot, d);
            continue;
        }
        xt_md_level_t nb[20], na[20], db[40], da[40];
        uint32_t cb = xt_md_depth(in, XT_BUY, nb, (uint32_t)depth_n[d]);
        uint32_t ca = xt_md_depth(in, XT_SELL, na, (uint32_t)depth_n[d]);
        uint32_t kb = diff_levels(p->top[d][0], p->nb[d], nb, cb, db);
        uint32_t ka = diff_levels(p->top[d][1], p->na[d], na, ca, da);
        if (kb + ka == 0)
            continue;
        ch = xt_mds_ch(slot, XT_CH_DEPTH5 + d, XT_TH_LIVE);
        if (m->ch_head[ch] != NIL)
            fan_out(m, ch,
                    xt_md_enc_depth(m->scratch, CAP, &p->sym[0], XT_CH_DEPTH5 + d, 0, u->seq, (int64_t)p->depth_seq[d],
                                    u->ts, db, kb, da, ka));
        ch = xt_mds_ch(slot, XT_CH_BIN_DEPTH5 + d, XT_TH_LIVE);
        if (m->ch_head[ch] != NIL)
            fan_out(m, ch,
                    xt_mdb_enc_depth(BIN, CAP, XT_MDB_DEPTH_DELTA, slot, (uint8_t)depth_n[d], u->seq, p->depth_seq[d],
                                     u->ts, db, kb, da, ka));
        memcpy(p->top[d][0], nb, sizeof nb[0] * cb);
        memcpy(p->top[d][1], na, sizeof na[0] * ca);
        p->nb[d] = cb;
        p->na[d] = ca;
        p->depth_seq[d] = u->seq;
        touch_throttled(m, slot, XT_CH_DEPTH5 + d);
    }
}

/* A live ticker's time: ts, or the instrument's latest update's should
 * ts be before it (a band move learned from a resync, whose records carry
 * the engine's last batch's time): no ticker goes back from another or
 * from a snapshot, which carries that time too. */
static int64_t ticker_time(const inst_pub_t *p, int64_t ts)
{
    return ts < p->last_ts ? p->last_ts : ts;
}

/* The binary ticker channel's live message. The status is the one told
 * (pub.halted, changed by xt_mds_halts_tick), not the live flag: a halt
 * then shows first in the message that announces it, once. */
static void bin_ticker(mds_t *m, uint32_t slot, int64_t ts, const xt_md_ticker_t *t)
{
    uint32_t ch = xt_mds_ch(slot, XT_CH_BIN_TICKER, XT_TH_LIVE);
    if (m->ch_head[ch] != NIL)
        fan_out(
            m, ch,
            xt_mdb_enc_ticker(BIN, CAP, slot, 0, xt_md_book_seq(xt_md_find(&m->md, slot)), ts, t, m->pub[slot].halted));
}

static void on_ticker(mds_t *m, uint32_t slot, const xt_md_update_t *u)
{
    inst_pub_t *p = &m->pub[slot];
    const xt_md_ticker_t *t = u->ticker;
    if (t->best_bid != p->bb || t->best_bid_qty != p->bbq || t->best_ask != p->ba || t->best_ask_qty != p->baq) {
        p->bb = t->best_bid, p->bbq = t->best_bid_qty, p->ba = t->best_ask, p->baq = t->best_ask_qty;
        p->bbo_seq = xt_md_book_seq(xt_md_find(&m->md, u->instrument));
        uint32_t ch = xt_mds_ch(slot, XT_CH_BBO, XT_TH_LIVE);
        if (m->ch_head[ch] != NIL)
            fan_out(m, ch, xt_md_enc_bbo(m->scratch, CAP, &p->sym[0], p->bbo_seq, u->ts, t));
        touch_throttled(m, slot, XT_CH_BBO);
        ch = xt_mds_ch(slot, XT_CH_BIN_BBO, XT_TH_LIVE);
        if (m->ch_head[ch] != NIL)
            fan_out(m, ch, xt_mdb_enc_bbo(BIN, CAP, slot, 0, p->bbo_seq, u->ts, t));
    }
    int64_t ts = ticker_time(p, u->ts);
    uint32_t ch = xt_mds_ch(slot, XT_CH_TICKER, XT_TH_LIVE);
    if (m->ch_head[ch] != NIL)
        fan_out(m, ch, xt_md_enc_ticker(m->scratch, CAP, &p->sym[0], ts, t, xt_mds_trading(m, slot, p->halted)));
    touch_throttled(m, slot, XT_CH_TICKER);
    p->band_moved = 0; /* told */
    bin_ticker(m, slot, ts, t);
}

/* The trades held back (xt_mds_on_update) to the live trades channels,
 * WebSocket and binary: one message each. */
void xt_mds_flush_trades(mds_t *m)
{
    uint32_t n = m->n_trade_batch, slot = m->trade_batch_slot;
    if (n == 0)
        return;
    m->n_trade_batch = 0;
    uint32_t ws = xt_mds_ch(slot, XT_CH_TRADES, XT_TH_LIVE), bin = xt_mds_ch(slot, XT_CH_BIN_TRADES, XT_TH_LIVE);
    const xt_md_inst_t *in = xt_md_find(&m->md, slot);
    if ((m->ch_head[ws] == NIL && m->ch_head[bin] == NIL) || in == NULL)
        return;
    n = xt_md_trades(in, m->tape, n); /* the batch: the newest n of the tape (n <= tape_cap, md.tape) */
    if (n == 0)
        return;
    if (m->ch_head[ws] != NIL)
        fan_out(m, ws, xt_md_enc_trades(m->scratch, CAP, &m->pub[slot].sym[0], 0, m->tape[n - 1].ts, m->tape, n));
    if (m->ch_head[bin] != NIL)
        fan_out(m, bin, xt_mdb_enc_trades(BIN, CAP, slot, 0, m->tape, n));
}

/* A closed candle or minute goes to the throttled channels at once too: a
 * throttle conflates changes, it never hides a close. */
static void on_closable(mds_t *m, uint32_t slot, int kind, const xt_md_update_t *u, int closed)
{
    const inst_pub_t *p = &m->pub[slot];
    for (int th = XT_TH_LIVE; th < XT_TH_COUNT; th++) {
        uint32_t ch = xt_mds_ch(slot, kind, th);
        if (th != XT_TH_LIVE && !closed)
            continue;
        if (m->ch_head[ch] == NIL)
            continue;
        size_t n = kind == XT_CH_TIMELINE
                       ? xt_md_enc_timeline(m->scratch, CAP, &p->sym[th], 0, u->ts, u->minute, 1)
                       : xt_md_enc_kline(m->scratch, CAP, &p->sym[th], u->interval, u->ts, u->candle);
        fan_out(m, ch, n);
    }
    if (!closed)
        touch_throttled(m, slot, kind);
}

/* The md sink: every derived update, encoded once per channel. */
void xt_mds_on_update(void *ctx, const xt_md_update_t *u)
{
    mds_t *m = ctx;
    if (u->instrument >= m->n_inst) /* slot = the engine's instrument index */
        return;
    uint32_t slot = u->instrument;
    /* A command's trades are held back and go out together, before anything
     * else: its BOOK and TICKER come after them (md.h), as before. */
    if (u->kind != XT_MDU_TRADE || slot != m->trade_batch_slot)
        xt_mds_flush_trades(m);
    if (u->ts > m->pub[slot].last_ts)
        m->pub[slot].last_ts = u->ts;
    switch (u->kind) {
    case XT_MDU_BOOK: on_book(m, slot, u); break;
    case XT_MDU_TICKER: on_ticker(m, slot, u); break;
    case XT_MDU_TRADE:
        m->trade_batch_slot = slot; /* the trade is in md's tape: counted only */
        if (++m->n_trade_batch == XT_MDS_TRADE_BATCH || m->n_trade_batch == m->tape_cap)
            xt_mds_flush_trades(m); /* now: the slot's next trade goes into the tape before its update */
        touch_throttled(m, slot, XT_CH_TRADES);
        break;
    case XT_MDU_KLINE:
        xt_md_history_on_update(m->hist, u);
        on_closable(m, slot, XT_CH_KLINE + u->interval, u, u->candle->closed);
        break;
    case XT_MDU_MINUTE: on_closable(m, slot, XT_CH_TIMELINE, u, u->minute->closed); break;
    default: break;
    }
}

/* Order entry's frames into pub[].frame; each changed band's
 * frame_moved set when `announce`. */
static void copy_frames(mds_t *m, int announce)
{
    xt_server_t *s = m->s;
    m->bands_gen = atomic_load_explicit(&s->frames_gen, memory_order_acquire); /* before: a later move reads again */
    pthread_mutex_lock(&s->frames_lock); /* the gateway moves a band in them (gw_bands.c) */
    for (uint32_t i = 0; i < m->n_inst && i < s->n_instruments; i++) {
        xt_msg_instrument_t now, was;
        xt_wire_get_instrument(s->instrument_frames[i], &now);
        xt_wire_get_instrument(m->pub[i].frame, &was);
        m->pub[i].frame_moved |= announce && (was.has_band != now.has_band || was.band_low != now.band_low ||
                                              was.band_high != now.band_high);
        memcpy(m->pub[i].frame, s->instrument_frames[i], XT_LEN_INSTRUMENT);
    }
    pthread_mutex_unlock(&s->frames_lock);
}

void xt_mds_frames_read(mds_t *m)
{
    copy_frames(m, 1);
}

void xt_mds_frames_start(mds_t *m)
{
    copy_frames(m, 0);
    for (uint32_t i = 0; i < m->n_inst; i++) { /* later the engine's events move it (xt_mds_take_band) */
        xt_msg_instrument_t f;
        xt_wire_get_instrument(m->pub[i].frame, &f);
        m->pub[i].band_low = f.has_band ? f.band_low : 0;
        m->pub[i].band_high = f.has_band ? f.band_high : 0;
    }
}

void xt_mds_take_band(mds_t *m, const xt_event_t *e)
{
    if (e->instrument >= m->n_inst)
        return;
    inst_pub_t *p = &m->pub[e->instrument];
    int has = e->qty > 0 && e->remaining >= e->qty; /* (0, 0): none */
    int64_t low = has ? e->qty : 0, high = has ? e->remaining : 0;
    if (low == p->band_low && high == p->band_high)
        return;
    p->band_low = low;
    p->band_high = high;
    p->band_moved = 1;
    m->bands_untold = 1;
}

/* Instrument i's WebSocket ticker, sent again (its status or band),
 * stamped ts or, were that earlier, its latest update's time (the
 * throttled ticker's too). Returns the ts it carries. */
static int64_t ticker_again(mds_t *m, uint32_t i, const xt_md_inst_t *in, int64_t ts)
{
    inst_pub_t *p = &m->pub[i];
    ts = p->last_ts = ticker_time(p, ts);
    p->band_moved = 0;
    uint32_t ch = xt_mds_ch(i, XT_CH_TICKER, XT_TH_LIVE);
    if (m->ch_head[ch] != NIL)
        fan_out(m, ch,
                xt_md_enc_ticker(m->scratch, CAP, &p->sym[0], ts, xt_md_ticker(in), xt_mds_trading(m, i, p->halted)));
    touch_throttled(m, i, XT_CH_TICKER);
    return ts;
}

void xt_mds_bands_tell(mds_t *m, int64_t ts)
{
    if (!m->bands_untold)
        return;
    m->bands_untold = 0;
    for (uint32_t i = 0; i < m->n_inst; i++) { /* (engine.max_instruments at most; a move is rare) */
        const xt_md_inst_t *in = xt_md_find(&m->md, i);
        if (m->pub[i].band_moved && in != NULL)
            ticker_again(m, i, in, ts);
    }
}

void xt_mds_halts_tick(mds_t *m)
{
    uint32_t gen = atomic_load_explicit(&m->s->frames_gen, memory_order_relaxed);
    if (gen != m->bands_gen)
        xt_mds_frames_read(m);
    int changed = 0;
    for (uint32_t i = 0; i < m->n_inst; i++) {
        uint8_t h = (uint8_t)xt_mds_halted(m, i);
        const xt_md_inst_t *in = xt_md_find(&m->md, i);
        inst_pub_t *p = &m->pub[i];
        int moved = p->frame_moved;
        p->frame_moved = 0;
        if ((h == p->halted && !moved) || in == NULL)
            continue;
        int status = h != p->halted;
        p->halted = h;
        changed |= status;
        /* stamped with the instrument's newest update, not the clock: an
         * order the engine took before this tick may still be on its way
         * here, and its ticker would go back in time */
        int64_t ts = status ? ticker_again(m, i, in, p->last_ts ? p->last_ts : m->now) : 0;
        /* the binary ticker has no band: the instrument channel tells both */
        uint32_t ch = xt_mds_ch(i, XT_CH_BIN_INSTRUMENT, XT_TH_LIVE);
        if (m->ch_head[ch] != NIL)
            fan_out(m, ch, xt_mds_bin_instrument(m, i, BIN));
        if (status)
            bin_ticker(m, i, ts, xt_md_ticker(in));
    }
    /* the binary greeting's INSTRUMENT list says the status and the band too */
    if (changed || m->bin_list_stale || m->bands_gen != m->bin_list_gen)
        xt_mds_bin_list_refresh(m);
}
