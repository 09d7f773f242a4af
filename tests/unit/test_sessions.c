/* test_sessions.c - the engine thread's session layer: messages made from
 * events, order ownership, and an exact rebuild after a restart (from a
 * snapshot extension plus the journal tail, and from the journal alone);
 * sessions ended by SESSION_END (and rebuilt so); snapshot counts bounded by
 * the configured capacities; crafted message-log links and next_seq
 * refused; the answers to the gateway's questions about a session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/codec.h"
#include "journal/crc32c.h"
#include "journal/dir.h"
#include "journal/journal.h"
#include "server/sessions.h"
#include "tmpdir.h"
#include "xt/error.h"
#include "xt/wire.h"

typedef struct fx {
    char dir[96];
    xt_engine_t e;
    xt_journal_t j;
    xt_outlog_t log;
    xt_sessions_t s;
} fx_t;

static int64_t now = 1;

/* f's journal in a new scratch directory /tmp/NAME-XXXXXX (tmpdir.h). */
static void fx_dir(fx_t *f, const char *name)
{
    snprintf(f->dir, sizeof f->dir, "%s", tmpdir_make(name));
}

static xt_engine_config_t engine_config(void)
{
    xt_engine_config_t ec;
    xt_engine_config_default(&ec);
    ec.max_orders = 4096;
    ec.max_levels = 1024;
    ec.max_instruments = 4;
    ec.max_ladder_nodes = 0;
    return ec;
}

/* Opens f with a session table of max_sessions; returns xt_journal_open's
 * result (on failure the session layer is destroyed). */
static int open_fx_with(fx_t *f, uint32_t max_sessions)
{
    assert_int_equal(xt_outlog_init(&f->log, 1024, 0), 0);
    assert_int_equal(xt_sessions_init(&f->s, &f->log, max_sessions, 4096, 0), 0);
    xt_journal_config_t jc;
    xt_journal_config_default(&jc);
    jc.fsync = XT_FSYNC_NONE;
    jc.snapshot_sync = 1;
    jc.ext = &f->s.ext;
    xt_engine_config_t ec = engine_config();
    int rc = xt_journal_open(&f->j, f->dir, &jc, NULL, &ec, xt_sessions_sink, &f->s, &f->e, now++);
    if (rc) {
        xt_sessions_destroy(&f->s);
        xt_outlog_destroy(&f->log);
    }
    return rc;
}

static void open_fx(fx_t *f)
{
    assert_int_equal(open_fx_with(f, 64), 0);
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

static void end_session(fx_t *f, uint32_t account, uint32_t session)
{
    xt_cmd_t c = {.type = XT_CMD_SESSION_END};
    c.u.session_end = (xt_session_end_t){account, session};
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
    fx_dir(&f, "xt-test-sessions");
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
    tmpdir_remove(f.dir);
}

/* Compares two session layers: tables (not their layout) and every outlog
 * slot. */
static void assert_same(const fx_t *a, const fx_t *b)
{
    assert_int_equal(a->s.n_live, b->s.n_live);
    for (uint32_t i = 0; i < a->s.n_sessions; i++) {
        const xt_sess_t *x = &a->s.sess[i];
        if (x->account == 0)
            continue;
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

/* Sessions ending and starting again: 8/2 ends (nothing open), 7/1 is
 * kept while it has an open order, 8/2 comes back as a new session in a
 * freed entry. */
static void end_flow(fx_t *f)
{
    uint32_t used = f->s.n_sessions, live = f->s.n_live;
    uint32_t s7 = xt_sessions_find(&f->s, 7, 1);
    assert_int_not_equal(s7, XT_NIL);
    uint64_t next7 = f->s.sess[s7].next_seq;
    int open7 = f->s.sess[s7].n_open > 0; /* unless a tail filled it */
    end_session(f, 8, 2);
    end_session(f, 7, 1);
    assert_int_equal(xt_journal_commit(&f->j, now++), 0);
    assert_int_equal(xt_sessions_find(&f->s, 8, 2), XT_NIL);
    assert_int_equal(xt_sessions_account_first(&f->s, 8), XT_NIL);
    if (open7) {
        assert_int_equal(xt_sessions_find(&f->s, 7, 1), s7);
        assert_int_equal(f->s.sess[s7].next_seq, next7);
    } else
        assert_int_equal(xt_sessions_find(&f->s, 7, 1), XT_NIL);
    assert_int_equal(f->s.n_live, live - 1 - !open7);
    uint64_t head = f->log.head;
    order(f, 8, 2, 1, XT_SELL, 101, 1); /* clordid 1 again: a new session */
    assert_int_equal(xt_journal_commit(&f->j, now++), 0);
    uint32_t s8 = xt_sessions_find(&f->s, 8, 2);
    assert_int_not_equal(s8, XT_NIL);
    assert_int_equal(f->s.n_sessions, used); /* the freed entry, reused */
    assert_int_equal(f->s.sess[s8].next_seq, 2);
    assert_int_equal(f->s.sess[s8].last_clordid, 1);
    assert_int_equal(xt_sessions_account_open(&f->s, 8), 1);
    xt_outlog_slot_t sl;
    assert_int_equal(xt_outlog_read(&f->log, head, &sl), 0);
    assert_int_equal(sl.prev1, 0); /* not chained to the old session's messages */
    xt_wire_hdr_t h;
    assert_true(xt_wire_frame(sl.frame, sl.len, XT_WIRE_MAX, &h) > 0);
    assert_int_equal(h.type, XT_MSG_ACCEPTED);
    assert_int_equal(h.seq, 1);
}

/* with_snapshot: 0 none, 1 a snapshot before the flow, 2 after it. */
static void rebuild_flow(int with_snapshot, void (*flow)(fx_t *))
{
    fx_t a = {0}, b = {0};
    snprintf(a.dir, 64, "/tmp/xt-test-sessions-r%d-%d", with_snapshot, (int)getpid());
    snprintf(b.dir, sizeof b.dir, "%.64s-copy", a.dir);
    open_fx(&a);
    session_flow(&a);
    if (flow && with_snapshot == 2)
        flow(&a); /* the snapshot then holds a table with a free entry */
    if (with_snapshot) {
        assert_int_equal(xt_journal_snapshot(&a.j, now++), 0);
        order(&a, 9, 3, 5, XT_SELL, 99, 2); /* a tail after the snapshot: fills account 7's maker */
        assert_int_equal(xt_journal_commit(&a.j, now++), 0);
    }
    if (flow && with_snapshot != 2)
        flow(&a);
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

static void rebuild(int with_snapshot)
{
    rebuild_flow(with_snapshot, NULL);
}

static void test_rebuild_from_journal(void **state)
{
    (void)state;
    rebuild(0);
}

/* SESSION_END forgets a session without open orders (and only such), the
 * entry is reused, and recovery - from the journal alone, from a snapshot
 * before the ends, or from one taken after them - gives the same table and
 * log. */
static void test_session_end_and_rebuild(void **state)
{
    (void)state;
    rebuild_flow(0, end_flow);
    rebuild_flow(1, end_flow);
    rebuild_flow(2, end_flow);
}

/* ---- snapshot counts ------------------------------------------------------ */

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

/* Writes a snapshot of a session flow (and what `more` adds, if given)
 * into f->dir and closes; returns its path in path, and the offset of the
 * sessions extension in it. */
static off_t snapshot_of(fx_t *f, void (*more)(fx_t *), char *path)
{
    open_fx(f);
    session_flow(f);
    if (more)
        more(f);
    assert_int_equal(xt_journal_snapshot(&f->j, now++), 0);
    xt_engine_stats_t st;
    xt_engine_stats(&f->e, &st);
    xt_dir_path(path, XT_PATH_MAX, f->dir, XT_FILE_SNAP, st.last_seq);
    off_t ext = 80 + (off_t)st.instruments * 72 + (off_t)st.orders * 56;
    close_fx(f, 0);
    return ext;
}

/* Overwrites n bytes at `at` in a snapshot and fixes its CRC: a crafted
 * file that checks. */
static void patch_snapshot(const char *path, off_t at, const void *p, size_t n)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 16);
    uint8_t *b = malloc((size_t)size);
    assert_non_null(b);
    rewind(fp);
    assert_int_equal(fread(b, 1, (size_t)size, fp), (size_t)size);
    memcpy(b + at, p, n);
    xt_put32(b + size - 8, xt_crc32c(b, (size_t)size - 16));
    rewind(fp);
    assert_int_equal(fwrite(b, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    free(b);
}

/* The instrument of the first AMENDED kept in log (0x12345678: none). */
static uint32_t first_amended_instrument(const xt_outlog_t *log)
{
    for (uint64_t p = 0; p < log->head; p++) {
        xt_wire_hdr_t h;
        uint32_t account;
        frame_at(log, p, &h, &account);
        if (h.type == XT_MSG_AMENDED) {
            xt_outlog_slot_t sl;
            assert_int_equal(xt_outlog_read(log, p, &sl), 0);
            xt_msg_amended_t m;
            xt_wire_get_amended(sl.frame, &m);
            return m.instrument;
        }
    }
    return 0x12345678;
}

/* Loads the snapshot at path with the sessions extension (a table of 64,
 * a log of log_cap slots); returns the result, why filled, and (amended
 * not NULL) the instrument of the first AMENDED it keeps. */
static int load_crafted_cap(const char *path, uint64_t log_cap, char *why, size_t n, uint32_t *amended)
{
    xt_outlog_t log;
    xt_sessions_t s;
    xt_engine_t e;
    assert_int_equal(xt_outlog_init(&log, log_cap, 0), 0);
    assert_int_equal(xt_sessions_init(&s, &log, 64, 4096, 0), 0);
    xt_engine_config_t ec = engine_config();
    why[0] = '\0';
    int rc = xt_snapshot_load_ext(&xt_io_posix, path, &ec, quiet, NULL, &e, &s.ext, NULL, why, n);
    if (rc == 0 && amended)
        *amended = first_amended_instrument(&log);
    if (rc == 0)
        xt_engine_destroy(&e);
    xt_sessions_destroy(&s);
    xt_outlog_destroy(&log);
    return rc;
}

static int load_crafted(const char *path, char *why, size_t n, uint32_t *amended)
{
    return load_crafted_cap(path, 1024, why, n, amended);
}

/* A snapshot whose counts exceed what the server is configured for stops
 * recovery, naming the setting, instead of falling back to an older state
 * (here: the journal alone, rebuilding a table that silently lacks a
 * session). */
static void test_snapshot_sessions_over_capacity(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX];
    fx_dir(&f, "xt-test-sessions-cap");
    snapshot_of(&f, NULL, path);
    fx_t g = {0};
    snprintf(g.dir, sizeof g.dir, "%s", f.dir);
    assert_int_equal(open_fx_with(&g, 1), XT_ELIMIT); /* the snapshot holds 2 sessions */
    if (!strstr(g.j.recovery.why, "server.max_sessions"))
        fail_msg("recovery says '%s'", g.j.recovery.why);
    tmpdir_remove(f.dir);
}

/* Crafted extensions (CRC fixed, so they check): every count is bounded
 * before it is used, and the error names the field. */
static void test_snapshot_crafted_counts(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX], why[512], cmd[2 * XT_PATH_MAX + 32];
    fx_dir(&f, "xt-test-sessions-craft");
    off_t ext = snapshot_of(&f, NULL, path);
    assert_int_equal(load_crafted(path, why, sizeof why, NULL), 0);
    snprintf(cmd, sizeof cmd, "cp %s %s.orig", path, path);
    assert_int_equal(system(cmd), 0);
    static const struct {
        off_t at;
        uint8_t bytes[8];
        size_t n;
        int rc;
        const char *says;
    } cases[] = {
        {8, {0xff, 0xff, 0xff, 0x7f}, 4, XT_ELIMIT, "server.max_sessions"}, /* sessions */
        {12, {0xff, 0xff, 0xff, 0xff}, 4, XT_ELIMIT, "open orders"},        /* open-order refs */
        {24, {0, 0, 0, 0, 0, 0, 0, 0x80}, 8, XT_ECORRUPT, "positions"},     /* first kept > head */
        {16, {0, 0, 0, 0, 0, 0, 0, 0x10}, 8, XT_ECORRUPT, "messages"},      /* 2^60 messages: the product wraps */
        {40, {0, 0, 0, 0}, 4, XT_ECORRUPT, "account 0"},                    /* the first session's account */
        {48, {0, 0, 0, 0, 0, 0, 0, 0}, 8, XT_ECORRUPT, "next_seq 0"},       /* its next_seq */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(cmd, sizeof cmd, "cp %s.orig %s", path, path);
        assert_int_equal(system(cmd), 0);
        patch_snapshot(path, ext + cases[k].at, cases[k].bytes, cases[k].n);
        int rc = load_crafted(path, why, sizeof why, NULL);
        if (rc != cases[k].rc || !strstr(why, cases[k].says))
            fail_msg("case %zu: rc %d (%s), want %d and '%s'", k, rc, why, cases[k].rc, cases[k].says);
    }
    tmpdir_remove(f.dir);
}

/* ---- crafted links ------------------------------------------------------- */

/* A snapshot file read whole, and where its sessions extension's parts
 * are. */
typedef struct snapfile {
    uint8_t *b;
    size_t n;
    off_t ext, sess, slots; /* the extension, its sessions, its log slots */
    uint64_t first;         /* the log position of the first slot */
} snapfile_t;

static void snap_read(const char *path, off_t ext, snapfile_t *f)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    f->n = (size_t)ftell(fp);
    rewind(fp);
    f->b = malloc(f->n);
    assert_non_null(f->b);
    assert_int_equal(fread(f->b, 1, f->n, fp), f->n);
    fclose(fp);
    f->ext = ext;
    f->sess = ext + 40;
    f->slots = f->sess + (off_t)xt_get32(f->b + ext + 8) * 32 + (off_t)xt_get32(f->b + ext + 12) * 24;
    f->first = xt_get64(f->b + ext + 24);
}

/* The log position of message seq of account's session (one per account
 * in these flows). */
static uint64_t snap_pos(const snapfile_t *f, uint32_t account, uint64_t seq)
{
    uint64_t head = xt_get64(f->b + f->ext + 16);
    for (uint64_t p = f->first; p < head; p++) {
        const uint8_t *sl = f->b + f->slots + (off_t)(p - f->first) * 112;
        if (xt_get32(sl + 8) == account && sl[22] == 0 && xt_get64(sl + 24 + 8) == seq)
            return p;
    }
    fail_msg("no message %llu of account %u", (unsigned long long)seq, account);
    return 0;
}

/* The offset of the prev1 field of the slot at position p. */
static off_t snap_prev1_at(const snapfile_t *f, uint64_t p)
{
    return f->slots + (off_t)(p - f->first) * 112;
}

static void put64le(uint8_t b[8], uint64_t v)
{
    xt_put64(b, v);
}

/* Crafted links (CRC fixed, so the file checks): a chain a resume would
 * walk that does not go back, or leaves its session, and a session's
 * next_seq beyond the messages made, are refused naming what is wrong;
 * the file as written loads. Recovery falls back to the journal. */
static void test_snapshot_crafted_links(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX], why[512], cmd[3 * XT_PATH_MAX + 32];
    fx_dir(&f, "xt-test-sessions-links");
    off_t ext = snapshot_of(&f, NULL, path);
    if (load_crafted(path, why, sizeof why, NULL) != 0)
        fail_msg("as written: %s", why);
    snapfile_t sf;
    snap_read(path, ext, &sf);
    /* account 7 (session 0 in the list): seqs 1..4; account 8 (session 1): 1..3 */
    uint64_t a7s2 = snap_pos(&sf, 7, 2), a7s3 = snap_pos(&sf, 7, 3), a8s3 = snap_pos(&sf, 8, 3);
    uint64_t head = xt_get64(sf.b + ext + 16);
    assert_true(a7s2 < a7s3 && a7s2 < a8s3);
    snprintf(cmd, sizeof cmd, "cp %s %s.orig", path, path);
    assert_int_equal(system(cmd), 0);
    struct patch {
        off_t at;
        uint64_t v;
    };
    const struct {
        struct patch p[2];
        const char *says;
    } cases[] = {
        {{{snap_prev1_at(&sf, a7s2), a7s2 + 1}}, "not an earlier one"},          /* prev1: itself */
        {{{snap_prev1_at(&sf, a7s2), a7s3 + 1}}, "not an earlier one"},          /* prev1: forward */
        {{{snap_prev1_at(&sf, a8s3), a7s2 + 1}}, "not its session's message 2"}, /* another session's */
        {{{snap_prev1_at(&sf, a7s2), 0}}, "no previous one"},                    /* the chain cut short */
        {{{sf.sess + 8, UINT64_C(1) << 62}}, "beyond the 7 messages made"},      /* next_seq 2^62 */
        {{{sf.sess + 8, UINT64_C(1) << 62}, {snap_prev1_at(&sf, a7s2), a7s2 + 1}}, "not an earlier one"},
        {{{sf.sess + 8, 6}}, "not its session's message 5"},         /* next_seq one too many */
        {{{sf.sess + 8, 5}, {sf.sess + 32 + 8, 4}}, ""},             /* as written: loads */
        {{{sf.sess + 32 + 8, 5}}, "all sessions' next_seq"},         /* 4 + 4 messages of 7 made */
        {{{sf.sess + 24, a8s3 + 1}}, "not its session's message 4"}, /* last_pos1: account 8's */
        {{{ext + 32, head + 1}}, "more than the"},                   /* messages made > head */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(cmd, sizeof cmd, "cp %s.orig %s", path, path);
        assert_int_equal(system(cmd), 0);
        for (size_t i = 0; i < 2 && cases[k].p[i].at; i++) {
            uint8_t v[8];
            put64le(v, cases[k].p[i].v);
            patch_snapshot(path, cases[k].p[i].at, v, 8);
        }
        int rc = load_crafted(path, why, sizeof why, NULL);
        int want = cases[k].says[0] ? XT_ECORRUPT : 0;
        if (rc != want || (want && !strstr(why, cases[k].says)))
            fail_msg("case %zu: rc %d (%s), want %d and '%s'", k, rc, why, want, cases[k].says);
    }
    /* recovery: the snapshot with a self-linked message is skipped, the
     * journal rebuilds the same sessions */
    snprintf(cmd, sizeof cmd, "cp %s.orig %s && rm %s.orig", path, path, path);
    assert_int_equal(system(cmd), 0);
    uint8_t v[8];
    put64le(v, a7s2 + 1);
    patch_snapshot(path, snap_prev1_at(&sf, a7s2), v, 8);
    fx_t g = {0};
    snprintf(g.dir, sizeof g.dir, "%s", f.dir);
    open_fx(&g);
    assert_int_equal(g.j.recovery.snapshot_seq, 0);
    assert_int_equal(g.j.recovery.snapshots_bad, 1);
    uint32_t s7 = xt_sessions_find(&g.s, 7, 1);
    assert_int_not_equal(s7, XT_NIL);
    assert_int_equal(g.s.sess[s7].next_seq, 5);
    xt_outlog_slot_t sl;
    assert_int_equal(xt_outlog_read(&g.log, a7s2, &sl), 0);
    assert_true(sl.prev1 <= a7s2);
    close_fx(&g, 0);
    free(sf.b);
    tmpdir_remove(f.dir);
}

/* 1100 orders resting from account 7: more messages than the log's 1024
 * slots, so the snapshot's oldest links name positions it no longer has. */
static void many_orders(fx_t *f)
{
    for (uint64_t k = 0; k < 1100; k++)
        order(f, 7, 1, 100 + k, XT_BUY, 50, 1);
    assert_int_equal(xt_journal_commit(&f->j, now++), 0);
}

/* A log that has wrapped keeps links to positions it dropped: they load,
 * into a log as large and into a smaller one (which drops more). */
static void test_snapshot_wrapped_links_load(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX], why[512];
    fx_dir(&f, "xt-test-sessions-wrap");
    off_t ext = snapshot_of(&f, many_orders, path);
    snapfile_t sf;
    snap_read(path, ext, &sf);
    assert_true(sf.first > 0); /* wrapped */
    free(sf.b);
    if (load_crafted_cap(path, 1024, why, sizeof why, NULL) != 0)
        fail_msg("cap 1024: %s", why);
    if (load_crafted_cap(path, 16, why, sizeof why, NULL) != 0)
        fail_msg("cap 16: %s", why);
    tmpdir_remove(f.dir);
}

/* A kept slot holds its frame's bytes and zeros after them, as
 * journal-format.md says: a slot reused by a shorter message (the log
 * wrapped) wrote the longer one's tail to the snapshot - old message data
 * on disk, and snapshots of one state that differed. */
static void test_snapshot_slots_hold_only_their_frame(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX];
    fx_dir(&f, "xt-test-sessions-tail");
    off_t ext = snapshot_of(&f, many_orders, path);
    snapfile_t sf;
    snap_read(path, ext, &sf);
    assert_true(sf.first > 0); /* wrapped: the flow's longer messages were in slots reused since */
    uint64_t head = xt_get64(sf.b + sf.ext + 16);
    for (uint64_t p = sf.first; p < head; p++) {
        const uint8_t *sl = sf.b + snap_prev1_at(&sf, p);
        unsigned len = sl[20] | (unsigned)sl[21] << 8;
        assert_true(len <= 88);
        for (unsigned k = len; k < 88; k++)
            if (sl[24 + k] != 0)
                fail_msg("slot at %llu: length %u, byte %u is %u", (unsigned long long)p, len, k, sl[24 + k]);
    }
    free(sf.b);
    tmpdir_remove(f.dir);
}

/* The instrument of the first AMENDED the snapshot at path keeps, loaded. */
static uint32_t loaded_amended_instrument(const char *path)
{
    char why[256];
    uint32_t got = 0;
    if (load_crafted(path, why, sizeof why, &got) != 0)
        fail_msg("load: %s", why);
    return got;
}

/* Amends clordid 10 (order 2, 2 left after the flow) down to 1. */
static void amend_clordid_10(fx_t *f)
{
    xt_cmd_t c = {.type = XT_CMD_AMEND, .session = 1, .clordid = 13};
    c.u.amend = (xt_order_amend_t){2, 7, 100, 1};
    submit(f, &c);
    assert_int_equal(xt_journal_commit(&f->j, now++), 0);
}

/* A version 1 extension (from before AMENDED named its instrument: zeros
 * there, and 0 is an instrument) loads with the instrument unknown. */
static void test_snapshot_v1_amended_instrument_unknown(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX];
    fx_dir(&f, "xt-test-sessions-v1");
    off_t ext = snapshot_of(&f, amend_clordid_10, path);
    assert_int_equal(loaded_amended_instrument(path), 0); /* version 2: the instrument, 0 here */
    /* the same as version 1 wrote it: the version field, and zeros at 60..63 (as now) */
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t b[1 << 16];
    size_t n = fread(b, 1, sizeof b, fp);
    fclose(fp);
    off_t slot = -1;
    for (size_t at = (size_t)ext; at + 24 + 72 <= n && slot < 0; at++)
        if (b[at + 24] == 72 && b[at + 25] == 0 && b[at + 26] == XT_MSG_AMENDED && xt_get32(b + at + 24 + 60) == 0)
            slot = (off_t)at;
    assert_true(slot > ext);
    uint8_t one[4] = {1, 0, 0, 0};
    patch_snapshot(path, ext + 4, one, 4);
    assert_int_equal(loaded_amended_instrument(path), XT_INSTRUMENT_UNKNOWN);
    /* version 1 written by a build that already named the instrument: kept */
    uint8_t five[4] = {5, 0, 0, 0};
    patch_snapshot(path, slot + 24 + 60, five, 4);
    assert_int_equal(loaded_amended_instrument(path), 5);
    tmpdir_remove(f.dir);
}

/* The answer to a gateway's question about a session (XT_REQ_SESSION_SEQ
 * after lost messages, SESSION_END's KEPT): a control slot with no frame
 * whose values are the session's last number and its last message's
 * position + 1 - 0 and 0 for a session the table does not have. A
 * snapshot holding it loads (a load copies len bytes of a frame: 0). */
static void test_session_answers(void **state)
{
    (void)state;
    fx_t f = {0};
    char path[XT_PATH_MAX], why[256];
    fx_dir(&f, "xt-test-sessions-answer");
    open_fx(&f);
    session_flow(&f);
    uint32_t i = xt_sessions_find(&f.s, 7, 1);
    assert_int_not_equal(i, XT_NIL);
    uint64_t last = f.s.sess[i].next_seq - 1, pos1 = f.s.sess[i].last_pos1;
    assert_int_equal(last, 4); /* ACCEPTED, ACCEPTED, FILL, CANCELED */
    assert_true(pos1 > 0 && pos1 <= f.log.head);
    uint64_t at = f.log.head;
    xt_sessions_answer(&f.s, 7, 1, XT_OL_SEQ);
    xt_sessions_answer(&f.s, 9, 9, XT_OL_SEQ);
    xt_sessions_answer(&f.s, 7, 1, XT_OL_KEPT);
    static const struct {
        uint32_t account, code;
        uint64_t last;
    } want[] = {{7, XT_OL_SEQ, 4}, {9, XT_OL_SEQ, 0}, {7, XT_OL_KEPT, 4}};
    for (size_t k = 0; k < 3; k++) {
        xt_outlog_slot_t sl;
        assert_int_equal(xt_outlog_read(&f.log, at + k, &sl), 0);
        assert_int_equal(sl.flags, XT_OL_CONTROL);
        assert_int_equal(sl.len, 0);
        assert_int_equal(sl.prev1, 0); /* on no session's chain */
        assert_int_equal(sl.account, want[k].account);
        assert_int_equal(sl.conn, want[k].code);
        assert_int_equal(xt_get64(sl.frame), want[k].last);
        assert_int_equal(xt_get64(sl.frame + 8), want[k].account == 7 ? pos1 : 0);
    }
    assert_int_equal(f.log.head, at + 3);
    assert_int_equal(xt_journal_commit(&f.j, now++), 0);
    assert_int_equal(xt_journal_snapshot(&f.j, now++), 0);
    xt_engine_stats_t st;
    xt_engine_stats(&f.e, &st);
    xt_dir_path(path, sizeof path, f.dir, XT_FILE_SNAP, st.last_seq);
    close_fx(&f, 0);
    assert_int_equal(load_crafted(path, why, sizeof why, NULL), 0);
    tmpdir_remove(f.dir);
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
        cmocka_unit_test(test_session_end_and_rebuild),
        cmocka_unit_test(test_snapshot_sessions_over_capacity),
        cmocka_unit_test(test_snapshot_crafted_counts),
        cmocka_unit_test(test_snapshot_v1_amended_instrument_unknown),
        cmocka_unit_test(test_snapshot_crafted_links),
        cmocka_unit_test(test_snapshot_wrapped_links_load),
        cmocka_unit_test(test_snapshot_slots_hold_only_their_frame),
        cmocka_unit_test(test_session_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
