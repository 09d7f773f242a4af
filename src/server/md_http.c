/* md_http.c - GET /healthz, /readyz and /metrics on the market-data port
 * (docs/http.md, docs/metrics.md), in the md thread. A request that is not
 * a WebSocket upgrade comes here from md_server.c's on_http; the answer is
 * queued like any other output (bounded by md.output_limit), and the
 * connection stays open for the next request unless the client asked for
 * a close, sent a body, or used XT_HTTP_MAX_REQUESTS. The metrics text is
 * rendered on request into buffers sized at start from the instrument
 * count; a text that does not fit is refused (500), never sent cut. */
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "md_http.h"
#include "md_internal.h"
#include "md_oe.h"
#include "md_rest.h"
#include "proc_stats.h"
#include "xt/error.h"

/* ---- routing and answers (pure) ----------------------------------------------- */

xt_http_route_t xt_http_route(const xt_http_req_t *req)
{
    static const struct {
        const char *path;
        xt_http_route_t route;
    } paths[] = {{"/", XT_ROUTE_WS},
                 {"/ws", XT_ROUTE_WS},
                 {"/healthz", XT_ROUTE_HEALTHZ},
                 {"/readyz", XT_ROUTE_READYZ},
                 {"/metrics", XT_ROUTE_METRICS}};
    if (strncmp(req->path, XT_REST_PREFIX, sizeof XT_REST_PREFIX - 1) == 0)
        return XT_ROUTE_REST;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (strcmp(req->path, paths[i].path) != 0)
            continue;
        if (paths[i].route == XT_ROUTE_WS || req->method == HTTP_GET)
            return paths[i].route; /* the upgrade path keeps its own answers (md_server.c) */
        return XT_ROUTE_METHOD;
    }
    return XT_ROUTE_NOT_FOUND;
}

int xt_http_json_answer(char *out, size_t cap, int code, const char *status, const char *reason, int keep_alive)
{
    char body[1280], qs[160], qr[1024]; /* qr: the journal's failure with its path, escaped */
    if (xt_md_json_string(qs, sizeof qs, status) == 0 || (reason && xt_md_json_string(qr, sizeof qr, reason) == 0))
        return XT_ERANGE;
    int n = reason ? snprintf(body, sizeof body, "{\"status\":%s,\"reason\":%s}\n", qs, qr)
                   : snprintf(body, sizeof body, "{\"status\":%s}\n", qs);
    if (n < 0 || (size_t)n >= sizeof body)
        return XT_ERANGE;
    return xt_http_response(out, cap, code, "application/json", body, (size_t)n, keep_alive);
}

/* ---- the metrics text ------------------------------------------------------------ */

/* Readiness wants this much free: a journal segment, at most 64 MiB (a
 * full disk is caught whatever the segment; a segment of gigabytes grows
 * by appends and would hold a server with room for hours not ready). */
static uint64_t disk_floor(const xt_server_t *s)
{
    uint64_t seg = s->cfg.journal.segment_bytes;
    return seg < (UINT64_C(64) << 20) ? seg : UINT64_C(64) << 20;
}

/* Why the server is not ready, or NULL. */
static const char *not_ready(const xt_server_t *s)
{
    if (atomic_load(&s->met.stopping))
        return "shutting down";
    if (atomic_load(&s->journal_failed)) /* (journal_why: written before the flag, never after) */
        return s->journal_why[0] ? s->journal_why : "the journal failed closed: no orders are accepted";
    if (!atomic_load(&s->met.running))
        return "starting: the engine thread is not taking orders yet";
    /* A server restarted on a full disk recovered, and would fail closed
     * at its first order, or its next segment: it is not ready for them. */
    if (xt_disk_watch_free(&s->disk) < disk_floor(s)) /* (sampled off this thread: disk_watch.h) */
        return "the data directory's filesystem has less free than a journal segment (journal.segment_bytes, "
               "at most 64 MiB): the journal fails when it cannot write";
    return NULL;
}

static void put_one(xt_text_t *t, const char *name, const char *type, const char *help, uint64_t v)
{
    xt_text_help(t, name, type, help);
    xt_text_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

static void put_orders(xt_text_t *t, const xt_metrics_t *x)
{
    static const char *const types[XT_MET_CMD_TYPES] = {"new", "cancel", "amend", "mass_cancel", "status"};
    xt_text_help(t, "xt_commands_total", "counter", "Order-entry requests received, by type.");
    for (int i = 0; i < XT_MET_CMD_TYPES; i++)
        xt_text_printf(t, "xt_commands_total{type=\"%s\"} %llu\n", types[i],
                       (unsigned long long)xt_ctr_get(&x->commands[i]));
    xt_text_help(t, "xt_rejects_total", "counter", "Requests rejected, by the protocol's reason name.");
    for (int r = 1; r < XT_R_GATEWAY_MAX_; r++) {
        const char *name = xt_wire_reason_name(r);
        if (name[0] == '?' || (r > XT_R_CAPACITY && r < XT_R_CORE_MAX_)) /* gaps and cancel reasons */
            continue;
        uint64_t v = xt_ctr_get(&x->gw_rejects[r]) + xt_ctr_get(&x->eng_rejects[r]);
        xt_text_printf(t, "xt_rejects_total{reason=\"%s\"} %llu\n", name, (unsigned long long)v);
    }
    put_one(t, "xt_trades_total", "counter", "Trades matched.", xt_ctr_get(&x->trades));
    xt_text_phist(t, "xt_order_ack_latency_seconds",
                  "Gateway read of a request to its answer written (sampled: one request timed at a time).", &x->ack);
    put_one(t, "xt_order_entry_bytes_received_total", "counter", "Bytes read from order-entry connections.",
            xt_ctr_get(&x->oe_bytes_in));
    put_one(t, "xt_order_entry_bytes_sent_total", "counter", "Bytes written to order-entry connections.",
            xt_ctr_get(&x->oe_bytes_out));
    put_one(t, "xt_order_entry_messages_lost_total", "counter",
            "Order-entry messages an engine batch wrote over before they were routed (past server.resume_messages); "
            "every connection was told RESYNC.",
            xt_ctr_get(&x->oe_lost));
}

static void put_conns(xt_text_t *t, const mds_t *m)
{
    const xt_metrics_t *x = &m->s->met;
    uint64_t oe_o = xt_ctr_get(&x->oe_opened), oe_c = xt_ctr_get(&x->oe_closed);
    const char *proto[3] = {"order_entry", "md_ws", "md_binary"};
    uint64_t opened[3] = {oe_o, m->ws_opened, m->bin_opened}, closed[3] = {oe_c, m->ws_closed, m->bin_closed};
    xt_text_help(t, "xt_connections", "gauge", "Connections open now, by protocol.");
    for (int i = 0; i < 3; i++) /* read apart: a close counted before its open reads as 0 */
        xt_text_printf(t, "xt_connections{protocol=\"%s\"} %llu\n", proto[i],
                       (unsigned long long)(opened[i] > closed[i] ? opened[i] - closed[i] : 0));
    xt_text_help(t, "xt_connections_opened_total", "counter", "Connections accepted, by protocol.");
    for (int i = 0; i < 3; i++)
        xt_text_printf(t, "xt_connections_opened_total{protocol=\"%s\"} %llu\n", proto[i],
                       (unsigned long long)opened[i]);
    xt_text_help(t, "xt_connections_closed_total", "counter", "Connections closed, by protocol.");
    for (int i = 0; i < 3; i++)
        xt_text_printf(t, "xt_connections_closed_total{protocol=\"%s\"} %llu\n", proto[i],
                       (unsigned long long)closed[i]);
    xt_text_help(t, "xt_connections_refused_no_descriptor_total", "counter",
                 "Clients accepted with the spare descriptor and refused at once: the process had no descriptor "
                 "left (EMFILE, ENFILE).");
    static const char *const port[3] = {"order_entry", "md", "admin"};
    for (int i = 0; i < 3; i++)
        xt_text_printf(t, "xt_connections_refused_no_descriptor_total{port=\"%s\"} %llu\n", port[i],
                       (unsigned long long)xt_ctr_get(&x->no_fd_refused[i]));
}

static void put_md(xt_text_t *t, const mds_t *m)
{
    put_one(t, "xt_md_slow_consumer_drops_total", "counter",
            "Market-data messages not sent for want of a pooled buffer.", m->drops);
    put_one(t, "xt_md_slow_consumer_disconnects_total", "counter",
            "Market-data connections closed for reading too slowly.", m->slow_closes);
    put_one(t, "xt_md_conflations_total", "counter",
            "Market-data subscriptions that fell behind and skipped their updates until a fresh snapshot.",
            m->conflations);
    put_one(t, "xt_md_feed_resyncs_total", "counter",
            "Times the engine-to-market-data feed overflowed and the books were sent again.", m->resyncs);
    put_one(t, "xt_md_feed_trades_lost_total", "counter",
            "Trades (and band moves) the full engine-to-market-data feed lost: tickers, candles and fills miss them, "
            "and market data's state is not saved for a restart in this run.",
            atomic_load_explicit(&m->s->md_feed.trades_lost, memory_order_relaxed));
    put_one(t, "xt_md_book_refills_total", "counter",
            "Books market data kept only the best md.max_levels of, asked again from the engine as they ran low.",
            m->md.refills_asked);
    xt_text_help(t, "xt_md_connections_refused_total", "counter",
                 "Market-data connections refused at accept: md.max_connections open, or md.max_connections_per_ip "
                 "from the address.");
    xt_text_printf(t, "xt_md_connections_refused_total{reason=\"max_connections\"} %llu\n",
                   (unsigned long long)m->refused_full);
    xt_text_printf(t, "xt_md_connections_refused_total{reason=\"per_ip\"} %llu\n",
                   (unsigned long long)m->refused_per_ip);
    put_one(t, "xt_md_state_saves_total", "counter",
            "Market-data state files (md-state-<seq>) written at snapshots and at a clean stop.",
            atomic_load(&m->save.written));
    put_one(t, "xt_md_state_save_failures_total", "counter",
            "Market-data state files that could not be written (I/O, memory), not counting runs that lost trades.",
            atomic_load(&m->save.failures));
    put_one(t, "xt_md_state_last_save_bytes", "gauge", "Size of the last market-data state file encoded.", m->save.len);
    xt_text_help(
        t, "xt_md_state_last_save_seconds", "gauge",
        "Time market data waited while the last state file was begun (a helper thread finishes and writes it).");
    xt_text_printf(t, "xt_md_state_last_save_seconds %.6f\n", (double)m->save.last_us / 1e6);
    xt_text_help(t, "xt_md_state_last_write_seconds", "gauge",
                 "Time the helper thread took on the last state file: fills, instruments, checksum, write.");
    xt_text_printf(t, "xt_md_state_last_write_seconds %.6f\n", (double)atomic_load(&m->save.write_us) / 1e6);
    xt_text_hist(t, "xt_md_lag_seconds",
                 "From a command's engine timestamp to the market-data thread reading its events.", &m->feed_lag);
    xt_text_hist(t, "xt_md_send_lag_seconds",
                 "From a live update's engine timestamp to the write of a copy of it to a subscriber's socket.",
                 &m->send_lag);
}

/* a - b of two counters read apart; 0 when that came out negative */
static uint64_t depth(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Items waiting in the rings between the threads; the md thread's bytes;
 * the engine's time per batch. */
static void put_rings(xt_text_t *t, const mds_t *m)
{
    xt_server_t *s = m->s;
    uint64_t in = depth(atomic_load(&s->ring.head), atomic_load(&s->ring.tail));
    uint64_t out = depth(atomic_load(&s->log.released), atomic_load(&s->log.consumed));
    uint64_t feed = depth(atomic_load(&s->md_feed.head), atomic_load(&s->md_feed.tail));
    xt_text_help(t, "xt_ring_depth", "gauge", "Items waiting in a ring between threads.");
    xt_text_printf(t, "xt_ring_depth{ring=\"inbound\"} %llu\n", (unsigned long long)in);
    xt_text_printf(t, "xt_ring_depth{ring=\"outlog\"} %llu\n", (unsigned long long)out);
    xt_text_printf(t, "xt_ring_depth{ring=\"md_feed\"} %llu\n", (unsigned long long)feed);
    put_one(t, "xt_md_bytes_received_total", "counter", "Bytes read from market-data connections.", m->bytes_in);
    put_one(t, "xt_md_bytes_sent_total", "counter", "Bytes written to market-data connections.", m->bytes_out);
    xt_text_phist(t, "xt_engine_batch_seconds", "Engine thread time applying one batch of commands, before its commit.",
                  &s->met.batch);
    xt_text_nhist(t, "xt_engine_command_seconds",
                  "Engine thread time applying one request (one sampled per batch), before the commit.",
                  &s->met.command);
}

static void put_journal(xt_text_t *t, const mds_t *m)
{
    const xt_metrics_t *x = &m->s->met;
    put_one(t, "xt_journal_unsynced_records", "gauge", "Journal records written but not yet synced.",
            xt_ctr_get(&x->unsynced));
    put_one(t, "xt_journal_fsyncs_total", "counter", "Data syncs of the journal.", xt_ctr_get(&x->fsyncs));
    int64_t busy = atomic_load_explicit(&x->journal_busy_since, memory_order_relaxed), now = xt_mono_ns();
    xt_text_help(t, "xt_journal_stalled_seconds", "gauge",
                 "How long the engine thread has been in its current journal write or sync (0: in none).");
    xt_text_printf(t, "xt_journal_stalled_seconds %.3f\n", busy && now > busy ? (double)(now - busy) / 1e9 : 0.0);
    xt_text_phist(t, "xt_journal_fsync_seconds",
                  "Duration of a journal sync (a commit's, a roll's; not the start-up's).", &x->fsync);
    put_one(t, "xt_journal_snapshots_total", "counter", "Snapshots written by this process.",
            atomic_load_explicit(&x->snapshots, memory_order_relaxed));
    put_one(t, "xt_journal_snapshot_failures_total", "counter", "Snapshots this process failed to write.",
            atomic_load_explicit(&x->snapshot_failures, memory_order_relaxed));
    uint64_t free_bytes = xt_disk_watch_free(&m->s->disk);
    if (free_bytes != UINT64_MAX)
        put_one(t, "xt_journal_disk_free_bytes", "gauge",
                "Bytes free to the server on the data directory's filesystem (statvfs f_bavail).", free_bytes);
    put_one(t, "xt_journal_spare_misses_total", "counter",
            "Segment rolls that found no preallocated segment ready (journal.preallocate).",
            atomic_load_explicit(&x->spare_misses, memory_order_relaxed));
    int64_t fork_ns = atomic_load_explicit(&x->fork_ns_last, memory_order_relaxed);
    xt_text_help(t, "xt_journal_snapshot_fork_seconds", "gauge",
                 "How long the last snapshot's fork() held the engine thread (0: none yet).");
    xt_text_printf(t, "xt_journal_snapshot_fork_seconds %.6f\n", fork_ns > 0 ? (double)fork_ns / 1e9 : 0.0);
    int64_t since = xt_mono_ns() - atomic_load_explicit(&x->last_snapshot_mono, memory_order_relaxed);
    xt_text_help(t, "xt_seconds_since_snapshot", "gauge",
                 "Seconds since this process last wrote a snapshot, or found at a timed one that the newest holds "
                 "every command (or started).");
    xt_text_printf(t, "xt_seconds_since_snapshot %.3f\n", since > 0 ? (double)since / 1e9 : 0.0);
    const xt_recovery_t *r = &m->s->journal.recovery; /* written before the threads start */
    put_one(t, "xt_journal_recovery_tail_cut_bytes", "gauge",
            "Bytes of a torn journal tail that this start cut (0: none; logged).",
            r->tail_cut ? (uint64_t)r->tail_bytes : 0);
    put_one(t, "xt_journal_recovery_snapshots_skipped", "gauge",
            "Newer snapshots that did not load at this start (recovered from an older one; logged).", r->snapshots_bad);
}

/* SIGHUP reloads (docs/config.md, Reloading): an operator's alert on a
 * refused one, on a file that asks for a restart, or on a daily reload
 * (A-share bands) that did not come. */
static void put_config(xt_text_t *t, const xt_metrics_t *x)
{
    xt_text_help(t, "xt_config_reloads_total", "counter", "SIGHUP reloads of the config, by result.");
    xt_text_printf(t, "xt_config_reloads_total{result=\"applied\"} %llu\n",
                   (unsigned long long)xt_ctr_get(&x->reloads[0]));
    xt_text_printf(t, "xt_config_reloads_total{result=\"refused\"} %llu\n",
                   (unsigned long long)xt_ctr_get(&x->reloads[1]));
    put_one(t, "xt_config_last_reload_successful", "gauge",
            "0 when the last SIGHUP reload was refused (nothing changed; the log says why), else 1.",
            !atomic_load_explicit(&x->reload_refused, memory_order_relaxed));
    xt_text_help(t, "xt_config_last_reload_success_timestamp_seconds", "gauge",
                 "When the config was last read and applied: the last reload applied, or the start.");
    xt_text_printf(t, "xt_config_last_reload_success_timestamp_seconds %.3f\n",
                   (double)atomic_load_explicit(&x->config_applied_ns, memory_order_relaxed) / 1e9);
    put_one(t, "xt_config_needs_restart", "gauge",
            "1 when the last reload applied found keys that only a restart takes (its log line's needs_restart).",
            (uint64_t)atomic_load_explicit(&x->reload_needs_restart, memory_order_relaxed));
    put_one(t, "xt_log_lines_lost_total", "counter",
            "Log lines not written: the write failed (log.file on a full disk or at the file-size limit).",
            xt_log_lines_lost());
}

static void put_books(xt_text_t *t, const mds_t *m)
{
    const xt_metrics_t *x = &m->s->met;
    xt_text_help(t, "xt_instrument_halted", "gauge", "1 while an operator has halted the instrument.");
    for (uint32_t i = 0; i < m->n_inst; i++)
        xt_text_printf(t, "xt_instrument_halted{symbol=\"%s\"} %d\n", m->pub[i].sym[0].symbol, xt_mds_halted(m, i));
    const char *names[2] = {"xt_resting_orders", "xt_price_levels"};
    const char *help[2] = {"Orders resting in the book, per instrument (refreshed every second).",
                           "Price levels in the book, both sides, per instrument (refreshed every second)."};
    for (int k = 0; k < 2; k++) {
        xt_text_help(t, names[k], "gauge", help[k]);
        for (uint32_t i = 0; i < x->n_inst && i < m->n_inst; i++)
            xt_text_printf(t, "%s{symbol=\"%s\"} %llu\n", names[k], m->pub[i].sym[0].symbol,
                           (unsigned long long)xt_ctr_get(k ? &x->levels[i] : &x->resting[i]));
    }
}

int xt_mds_metrics_render(const mds_t *m, char *out, size_t cap)
{
    xt_text_t t = {out, cap, 0, 0};
    put_one(&t, "xt_up", "gauge", "1 while the server runs.", 1);
    put_one(&t, "xt_ready", "gauge", "1 when /readyz answers 200.", not_ready(m->s) == NULL);
    put_one(&t, "xt_journal_failed", "gauge", "1 once the journal failed: no order is accepted until a restart.",
            (uint64_t)atomic_load(&m->s->journal_failed));
    xt_text_help(&t, "xt_market_clock_behind_seconds", "gauge",
                 "How far the system clock is behind the market's time, which holds meanwhile (0: not behind).");
    xt_text_printf(&t, "xt_market_clock_behind_seconds %.3f\n", (double)xt_market_held_ns() / 1e9);
    put_orders(&t, &m->s->met);
    put_conns(&t, m);
    put_md(&t, m);
    xt_mds_oe_metrics(m, &t);
    put_rings(&t, m);
    put_journal(&t, m);
    put_config(&t, &m->s->met);
    put_books(&t, m);
    xt_proc_metrics(&t);
    return t.over || t.len > (size_t)INT32_MAX ? XT_ERANGE : (int)t.len;
}

size_t xt_mds_http_cap(uint32_t n_inst)
{
    return (size_t)65536 + (size_t)n_inst * 256;
}

/* ---- serving ---------------------------------------------------------------------- */

/* Queues bytes as raw pooled messages in pieces that fit a medium buffer
 * (the 64 large ones are the deep books' snapshots': slow WebSocket readers
 * holding them once left HTTP answers none; a large one is taken only when
 * no medium is left), whole or not at all. Returns 0, or
 * XT_MDS_NO_POOL / XT_MDS_FULL with nothing queued. The caller admitted the
 * bytes: md.output_limit is not checked again piece by piece, or an answer
 * alone over it would be cut after its first piece. */
static int queue_pieces(mds_t *m, uint32_t c, const char *p, size_t n)
{
    size_t chunk = m->msg_bytes[MSG_MEDIUM] - XT_WS_HEADER_MAX;
    xt_mds_mark_t at = xt_mds_queue_mark(m, c);
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        uint32_t i = xt_mds_msg_raw(m, p, k);
        int rc = i == NIL ? XT_MDS_NO_POOL : xt_mds_enqueue_admitted(m, c, i);
        xt_mds_msg_drop_if_unused(m, i);
        if (rc != 0) {
            xt_mds_unqueue_to(m, c, at);
            return rc;
        }
        p += k;
        n -= k;
    }
    return 0;
}

/* queue_pieces; when the buffers are all in use, the subscriber holding the
 * most is closed as a slow consumer first, a few at most, as for a live
 * update (md_publish.c): an answer does not give way to a client that
 * stopped reading. 0 or -1. */
static int queue_bytes(mds_t *m, uint32_t c, const char *p, size_t n)
{
    int rc = queue_pieces(m, c, p, n);
    for (int tries = 0; rc == XT_MDS_NO_POOL && tries < 4 && xt_mds_evict_buffer_holder(m); tries++)
        rc = queue_pieces(m, c, p, n);
    return rc == 0 ? 0 : -1;
}

/* The answer to req in m->http_out; its length or a negative error. */
static int answer(mds_t *m, uint32_t c, const xt_http_req_t *req, const char *body, size_t body_len, int keep)
{
    char *o = m->http_out;
    size_t cap = m->http_out_cap;
    const char *why;
    switch (xt_http_route(req)) {
    case XT_ROUTE_HEALTHZ: return xt_http_json_answer(o, cap, 200, "ok", NULL, keep);
    case XT_ROUTE_READYZ:
        why = not_ready(m->s);
        return why ? xt_http_json_answer(o, cap, 503, "not ready", why, keep)
                   : xt_http_json_answer(o, cap, 200, "ok", NULL, keep);
    case XT_ROUTE_METRICS: {
        int n = xt_mds_metrics_render(m, m->http_body, m->http_cap);
        if (n < 0)
            return xt_http_json_answer(o, cap, 500, "error", "the metrics text does not fit its buffer", keep);
        return xt_http_response(o, cap, 200, "text/plain; version=0.0.4; charset=utf-8", m->http_body, (size_t)n, keep);
    }
    case XT_ROUTE_REST: return xt_mds_rest_answer(m, c, req, body, body_len, keep);
    case XT_ROUTE_METHOD:
        return xt_http_add_allow(
            o, cap, xt_http_json_answer(o, cap, 405, "method not allowed", "only GET is served", keep), "GET");
    default:
        return xt_http_json_answer(
            o, cap, 404, "not found",
            "served here: /healthz, /readyz, /metrics, /api/v1/... (docs/rest.md), and the WebSocket at / or /ws",
            keep);
    }
}

/* Ends the HTTP part of a connection: what is queued goes, then the close. */
static void close_after(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    xt_ws_pool_give_buffer(m->wsp, k->in);
    k->in = NULL;
    k->in_len = 0;
    k->state = C_CLOSING;
    k->pong_due = 0;
    k->http_backlog = 0; /* (no request is served any more) */
    if (k->qn == 0)
        xt_mds_close(m, c);
}

/* 1 when n more bytes keep c under md.output_limit - or c has nothing
 * queued: the limit bounds what piles up, not one answer (a GET of 1,000
 * trades may pass a low limit; WebSocket messages go the same way). */
static int fits(const mds_t *m, uint32_t c, size_t n)
{
    uint64_t q = m->conns[c].out_bytes;
    return q == 0 || q + n <= m->s->cfg.md_output_limit;
}

/* An answer that cannot be queued - no buffer for it, even after closing
 * the readers that hold the most: 503, then the close (docs/rest.md). Sent
 * at once when nothing else is queued; otherwise after what is. */
static int busy(mds_t *m, uint32_t c)
{
    int n = xt_rest_error(m->http_out, m->http_out_cap, 503, "server busy: no buffer for the answer", 0);
    if (n > 0)
        xt_mds_http_last(m, c, m->http_out, (size_t)n);
    else
        xt_mds_close(m, c);
    return -1;
}

/* The answers queued to c fill half of md.output_limit, or of the messages
 * one connection may hold: the requests pipelined behind them wait -
 * neither read nor served - until those are written (HTTP's own flow
 * control: a client that pipelines faster than it reads is slowed down,
 * not cut off). An answer is then admitted whole, so a connection holds
 * half the limit and one answer at most. */
static int backlogged(const mds_t *m, uint32_t c)
{
    const mconn_t *k = &m->conns[c];
    return k->out_bytes >= m->s->cfg.md_output_limit / 2 || k->qn >= QNODES_CONN_MAX / 2;
}

/* Does req's path take a body? Only the signed REST requests' do; a body
 * elsewhere is answered, then the connection closed (docs/http.md). */
static int takes_body(const xt_http_req_t *req)
{
    if (xt_http_route(req) != XT_ROUTE_REST)
        return 0;
    xt_rest_endpoint_t e = xt_rest_endpoint(req->path);
    return e == XT_REST_FILLS || e == XT_REST_ORDERS;
}

int xt_mds_http_wait_backlog(mds_t *m, uint32_t c)
{
    if (!backlogged(m, c))
        return 0;
    m->conns[c].http_backlog = 1; /* served once what is queued is written (xt_mds_http_drained) */
    xt_mds_set_input(m, c, 0);
    return 1;
}

int xt_mds_http_serve(mds_t *m, uint32_t c, const xt_http_req_t *req, size_t head_len, size_t body_len)
{
    mconn_t *k = &m->conns[c];
    if (xt_mds_http_wait_backlog(m, c))
        return 1;
    int keep = req->keep_alive && req->content_length == body_len && (body_len == 0 || takes_body(req)) &&
               ++k->http_reqs < XT_HTTP_MAX_REQUESTS;
    size_t used = head_len + body_len;
    k->http_wait = 1;
    k->http_serving = 1;
    int n = answer(m, c, req, (const char *)k->in + head_len, body_len, keep);
    k->http_serving = 0;
    if (n == XT_REST_DEFERRED) { /* answered later (or already, by xt_mds_http_deferred) */
        if (k->state != C_HTTP)
            return -1;
        memmove(k->in, k->in + used, k->in_len - used);
        k->in_len -= (uint32_t)used;
        return k->http_wait ? 1 : 0;
    }
    k->http_wait = 0;
    if (n < 0)
        n = xt_http_json_answer(m->http_out, m->http_out_cap, 500, "error", "the answer does not fit its buffer", 0),
        keep = 0;
    if (n > 0 && req->method == HTTP_HEAD) /* the head alone: a client reads no body after a HEAD */
        n = (int)xt_mds_http_head_only(m->http_out, (size_t)n);
    if (n < 0)
        return busy(m, c);
    if (queue_bytes(m, c, m->http_out, (size_t)n) != 0) /* admitted whole: backlogged above bounds what piles up */
        return busy(m, c);
    if (!keep) {
        close_after(m, c);
        return -1;
    }
    memmove(k->in, k->in + used, k->in_len - used); /* a pipelined request may follow */
    k->in_len -= (uint32_t)used;
    return 0;
}

size_t xt_mds_http_head_only(const char *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return n;
}

void xt_mds_http_last(mds_t *m, uint32_t c, const char *p, size_t n)
{
    mconn_t *k = &m->conns[c];
    /* queued even when nothing waits: the socket then lingers (xt_mds_close_after).
     * A last error line (a few hundred bytes; nothing follows it) is queued
     * past md.output_limit too: behind an answer alone over the limit
     * (fits), a pipelined request's 503 would else close the connection
     * and drop that answer with it. */
    if ((n > 1024 && !fits(m, c, n)) || queue_bytes(m, c, p, n) != 0) {
        if (k->qn == 0) /* else the bytes would land inside an answer partly sent */
            xt_mds_send_direct(m, c, (const uint8_t *)p, n);
        xt_mds_close(m, c);
        return;
    }
    close_after(m, c);
}

void xt_mds_http_stop(mds_t *m, uint32_t c)
{
    close_after(m, c);
}

void xt_mds_http_input_ended(mds_t *m, uint32_t c)
{
    m->conns[c].http_eof = 1;
    xt_mds_set_input(m, c, 0); /* (read, the end would wake the loop at once, again and again) */
    xt_mds_on_http(m, c);      /* (closes it, unless a REST order waits for the gateway) */
}

int xt_mds_http_ends_here(mds_t *m, uint32_t c)
{
    if (!m->conns[c].http_eof)
        return 0;
    close_after(m, c);
    return 1;
}

/* The requests that came behind an answer c waited for are served, and
 * what waits in the socket read again while there is room. */
static void serve_on(mds_t *m, uint32_t c)
{
    mconn_t *k = &m->conns[c];
    xt_mds_on_http(m, c);
    if (k->state == C_HTTP && k->in_paused && !k->http_eof && !k->http_backlog &&
        !(k->http_wait && k->in_len == m->s->cfg.md_max_message))
        xt_mds_set_input(m, c, 1);
}

void xt_mds_http_deferred(mds_t *m, uint32_t c, const char *p, size_t n, int keep)
{
    mconn_t *k = &m->conns[c];
    k->http_wait = 0;
    if (k->state != C_HTTP)
        return;
    /* Admitted whole, as every answer (backlogged bounded the queue when its
     * request was served). Without a buffer for it (or when it was not made:
     * n 0), the order is placed or not, and no answer is sent rather than a
     * 503 that would say it is not: the client asks by its id (docs/rest.md). */
    if (n == 0 || queue_bytes(m, c, p, n) != 0) {
        xt_mds_close(m, c);
        return;
    }
    if (!keep)
        close_after(m, c);
    else if (!k->http_serving) /* the requests pipelined behind it */
        serve_on(m, c);
}

void xt_mds_http_drained(mds_t *m, uint32_t c)
{
    m->conns[c].http_backlog = 0;
    serve_on(m, c);
}
