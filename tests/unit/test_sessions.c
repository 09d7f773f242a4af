/* test_sessions.c - the engine thread's session layer: messages made from
 * events, order ownership, and an exact rebuild after a restart (from a
 * snapshot extension plus the journal tail, and from the journal alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/journal.h"
#include "server/sessions.h"
#include "xt/wire.h"

typedef struct fx {
    char dir[96];
    xt_engine_t e;
    xt_journal_t j;
    xt_outlog_t log;
    xt_sessions_t s;
} fx_t;

static int64_t now = 1;

static void open_fx(fx_t *f)
{
    assert_int_equal(xt_outlog_init(&f->log, 1024), 0);
    assert_int_equal(xt_sessions_init(&f->s, &f->log, 64, 4096), 0);
    xt_journal_config_t jc;
    xt_journal_config_default(&jc);
    jc.fsync = XT_FSYNC_NONE;
    jc.snapshot_sync = 1;
    jc.ext = &f->s.ext;
    xt_engine_config_t ec;
    xt_engine_config_default(&ec);
    ec.max_orders = 4096;
    ec.max_levels = 1024;
    ec.max_instruments = 4;
    ec.max_ladder_nodes = 0;
    assert_int_equal(xt_journal_open(&f->j, f->dir, &jc, NULL, &ec, xt_sessions_sink, &f->s, &f->e, now++), 0);
}

static void close_fx(fx_t *f, int snapshot)
{
    f->j.cfg.no_snapshot_on_close = (uint8_t)!snapshot;
    assert_int_equal(xt_journal_close(&f->j, now++), 0);
    xt_engine_destroy(&f->e);
    xt_sessions_destroy(&f->s);
    xt_outlog_destroy(&f->log);
}

static void submit(fx_t *f, xt_cmd_t *c)
{
    c->ts = now;
    xt_sessions_begin(&f->s, c);
    assert_int_equal(xt_journal_submit(&f->j, c, now++), 0);
    xt_sessions_begin(&f->s, NULL);
}

static void order(fx_t *f, uint32_t account, uint32_t session, uint64_t clordid, int side, int64_t price, int64_t qty)
{
    xt_cmd_t c = {.type = XT_CMD_NEW, .session = session, .clordid = clordid};
    c.u.new_order =
        (xt_order_new_t){(int64_t)xt_journal_next_seq(&f->j), account, 0, (uint8_t)side, XT_LIMIT, 0, 0, price, qty};
    submit(f, &c);
}

static void cancel(fx_t *f, uint32_t account, uint32_t session, uint64_t clordid, int64_t id)
{
    xt_cmd_t c = {.type = XT_CMD_CANCEL, .session = session, .clordid = clordid};
    c.u.cancel = (xt_order_cancel_t){id, account};
    submit(f, &c);
}

static void session_flow(fx_t *f)
{
    xt_cmd_t def = {.type = XT_CMD_INSTRUMENT};
    snprintf(def.u.instrument.symbol, sizeof def.u.instrument.symbol, "TEST");
    def.u.instrument.tick = (xt_decimal_t){1, 2};
    def.u.instrument.lot = (xt_decimal_t){1, 0};
    submit(f, &def);
    order(f, 7, 1, 10, XT_BUY, 100, 5);              /* rests */
    order(f, 7, 1, 11, XT_BUY, 99, 5);               /* rests */
    order(f, 8, 2, 1, XT_SELL, 100, 3);              /* trades 3 with clordid 10 */
    cancel(f, 7, 1, 12, 3);                          /* cancels clordid 11 (order id 3) */
    order(f, 8, 2, 2, XT_SELL, XT_PRICE_INVALID, 3); /* rejected INVALID_PRICE */
    assert_int_equal(xt_journal_commit(&f->j, now++), 0);
}

/* The frame at an outlog position: its type and seq. */
static void frame_at(const xt_outlog_t *l, uint64_t pos, xt_wire_hdr_t *h, uint32_t *account)
{
    xt_outlog_slot_t sl;
    assert_int_equal(xt_outlog_read(l, pos, &sl), 0);
    assert_true(xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, h) > 0);
    *account = sl.account;
}

static void test_messages_and_sequences(void **state)
{
    (void)state;
    fx_t f = {0};
    snprintf(f.dir, sizeof f.dir, "/tmp/xt-test-sessions-%d", (int)getpid());
    open_fx(&f);
    session_flow(&f);
    /* account 7: ACCEPTED, ACCEPTED, FILL(maker), CANCELED; account 8:
     * ACCEPTED, FILL(taker), REJECTED */
    static const uint8_t want7[] = {XT_MSG_ACCEPTED, XT_MSG_ACCEPTED, XT_MSG_FILL, XT_MSG_CANCELED};
    static const uint8_t want8[] = {XT_MSG_ACCEPTED, XT_MSG_FILL, XT_MSG_REJECTED};
    size_t n7 = 0, n8 = 0;
    for (uint64_t p = 0; p < f.log.head; p++) {
        xt_wire_hdr_t h;
        uint32_t acct;
        frame_at(&f.log, p, &h, &acct);
        assert_true(h.flags & XT_WF_SEQUENCED);
        if (acct == 7) {
            assert_true(n7 < sizeof want7);
            assert_int_equal(h.type, want7[n7]);
            assert_int_equal(h.seq, ++n7);
        } else {
            assert_int_equal(acct, 8);
            assert_true(n8 < sizeof want8);
            assert_int_equal(h.type, want8[n8]);
            assert_int_equal(h.seq, ++n8);
        }
    }
    assert_int_equal(n7, 4);
    assert_int_equal(n8, 3);
    uint32_t s7 = xt_sessions_find(&f.s, 7, 1);
    assert_int_not_equal(s7, XT_NIL);
    assert_int_equal(f.s.sess[s7].last_clordid, 12);
    assert_int_equal(xt_sessions_order_by_clordid(&f.s, s7, 10), 2); /* 2 lots left */
    assert_int_equal(xt_sessions_order_by_clordid(&f.s, s7, 11), 0); /* cancelled */
    assert_int_equal(xt_sessions_account_open(&f.s, 7), 1);
    close_fx(&f, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f.dir);
    assert_int_equal(system(cmd), 0);
}

/* Compares two session layers: tables and every outlog slot. */
static void assert_same(const fx_t *a, const fx_t *b)
{
    assert_int_equal(a->s.n_sessions, b->s.n_sessions);
    for (uint32_t i = 0; i < a->s.n_sessions; i++) {
        const xt_sess_t *x = &a->s.sess[i];
        uint32_t k = xt_sessions_find(&b->s, x->account, x->number);
        assert_int_not_equal(k, XT_NIL);
        assert_int_equal(x->next_seq, b->s.sess[k].next_seq);
        assert_int_equal(x->last_clordid, b->s.sess[k].last_clordid);
        assert_int_equal(x->last_pos1, b->s.sess[k].last_pos1);
        assert_int_equal(x->n_open, b->s.sess[k].n_open);
    }
    assert_int_equal(a->log.head, b->log.head);
    for (uint64_t p = 0; p < a->log.head; p++) {
        xt_outlog_slot_t x, y;
        assert_int_equal(xt_outlog_read(&a->log, p, &x), 0);
        assert_int_equal(xt_outlog_read(&b->log, p, &y), 0);
        assert_int_equal(x.len, y.len);
        assert_int_equal(x.prev1, y.prev1);
        /* ts differs by nothing: same journal, same commands */
        assert_memory_equal(x.frame, y.frame, x.len);
    }
}

static void rebuild(int with_snapshot)
{
    fx_t a = {0}, b = {0};
    snprintf(a.dir, 64, "/tmp/xt-test-sessions-r%d-%d", with_snapshot, (int)getpid());
    snprintf(b.dir, sizeof b.dir, "%.64s-copy", a.dir);
    open_fx(&a);
    session_flow(&a);
    if (with_snapshot) {
        assert_int_equal(xt_journal_snapshot(&a.j, now++), 0);
        order(&a, 9, 3, 5, XT_SELL, 99, 2); /* a tail after the snapshot: fills account 7's maker */
        assert_int_equal(xt_journal_commit(&a.j, now++), 0);
    }
    /* a's state stays in memory; b recovers a copy of its directory (the
     * directory lock keeps a second journal off the original) */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s && rm -f %s/LOCK", b.dir, a.dir, b.dir, b.dir);
    assert_int_equal(system(cmd), 0);
    open_fx(&b);
    assert_same(&a, &b);
    close_fx(&b, 0);
    close_fx(&a, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", a.dir, b.dir);
    assert_int_equal(system(cmd), 0);
}

static void test_rebuild_from_journal(void **state)
{
    (void)state;
    rebuild(0);
}

static void test_rebuild_from_snapshot_and_tail(void **state)
{
    (void)state;
    rebuild(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_and_sequences),
        cmocka_unit_test(test_rebuild_from_journal),
        cmocka_unit_test(test_rebuild_from_snapshot_and_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
