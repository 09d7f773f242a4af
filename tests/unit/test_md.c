/* test_md.c - the market-data library (src/md): the L2 book and its
 * per-command deltas, the trade tape, the ticker (委比/委差, 涨跌幅, VWAP),
 * determinism and set-up. K-lines and the timeline are in test_md_kline.c.
 * Events are built by hand; every update is captured (copied) by the sink
 * (md_fixture.c). */
#include "md_fixture.h"
#include "xt/command.h"

/* ---- the book ------------------------------------------------------------------------ */

static void assert_level(const xt_md_level_t *l, int64_t price, int64_t qty, uint32_t orders)
{
    assert_int_equal(l->price, price);
    assert_int_equal(l->qty, qty);
    assert_int_equal(l->orders, orders);
}

static void test_book_levels_sorted(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[] = {bk(XT_BUY, 100, 10, 1), bk(XT_BUY, 102, 20, 2), bk(XT_BUY, 101, 30, 3),
                       bk(XT_SELL, 105, 5, 1), bk(XT_SELL, 103, 6, 2), bk(XT_SELL, 104, 7, 3)};
    cmd(f, AT_10H, ev, 6);
    xt_md_level_t out[8];
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 8), 3);
    assert_level(&out[0], 102, 20, 2);
    assert_level(&out[1], 101, 30, 3);
    assert_level(&out[2], 100, 10, 1);
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 8), 3);
    assert_level(&out[0], 103, 6, 2);
    assert_level(&out[1], 104, 7, 3);
    assert_level(&out[2], 105, 5, 1);
    fx_free(f);
}

static void test_book_deltas_and_seq(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t c1[] = {bk(XT_BUY, 100, 10, 1), bk(XT_BUY, 101, 5, 2), bk(XT_SELL, 103, 7, 1)};
    cmd(f, AT_10H, c1, 3);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.seq, 2); /* 2 x the command's seq (xt_md_book_seq) */
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 101, 5, 2);
    assert_level(&r->bids[1], 100, 10, 1);
    assert_int_equal(r->u.n_changed_asks, 1);
    assert_level(&r->asks[0], 103, 7, 1);
    /* Net changes: 101 twice, 100 gone, 99 in and out (not listed), 104 new. */
    cap_reset(&f->cap);
    xt_event_t c2[] = {bk(XT_BUY, 101, 8, 3), bk(XT_BUY, 101, 9, 4), bk(XT_BUY, 100, 0, 0),
                       bk(XT_BUY, 99, 4, 1),  bk(XT_BUY, 99, 0, 0),  bk(XT_SELL, 104, 2, 1)};
    cmd(f, AT_10H, c2, 6);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.seq, 4);
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 101, 9, 4);
    assert_level(&r->bids[1], 100, 0, 0);
    assert_int_equal(r->u.n_changed_asks, 1);
    assert_level(&r->asks[0], 104, 2, 1);
    /* A level added and removed, or changed and changed back: no update. */
    cap_reset(&f->cap);
    xt_event_t c3[] = {bk(XT_BUY, 102, 1, 1), bk(XT_BUY, 102, 0, 0), bk(XT_BUY, 101, 3, 1), bk(XT_BUY, 101, 9, 4)};
    cmd(f, AT_10H, c3, 4);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    assert_int_equal(xt_md_book_seq(inst1(f)), 4);
    /* Only the order count changed: listed. The version is 2 x the
     * command's seq (4): the third command changed nothing. */
    xt_event_t c4 = bk(XT_BUY, 101, 9, 5);
    cmd(f, AT_10H, &c4, 1);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.seq, 8);
    assert_level(&r->bids[0], 101, 9, 5);
    fx_free(f);
}

static void test_book_one_update_per_multi_batch_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t b1[] = {bk(XT_SELL, 105, 1, 1), bk(XT_SELL, 106, 2, 1)};
    xt_event_t b2[] = {bk(XT_SELL, 107, 3, 1)};
    xt_event_t b3[] = {bk(XT_SELL, 105, 0, 0)};
    batch(f, 7, AT_10H, b1, 2, 0);
    batch(f, 7, AT_10H, b2, 1, 0);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    batch(f, 7, AT_10H, b3, 1, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.seq, 14);
    assert_int_equal(r->u.n_changed_asks, 2);
    assert_level(&r->asks[0], 106, 2, 1);
    assert_level(&r->asks[1], 107, 3, 1);
    /* A command whose last batch never came ends when the next begins. */
    cap_reset(&f->cap);
    xt_event_t b4 = bk(XT_SELL, 108, 1, 1), b5 = bk(XT_SELL, 109, 1, 1);
    batch(f, 8, AT_10H, &b4, 1, 0);
    batch(f, 9, AT_10H, &b5, 1, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 2);
    assert_level(&find_rec(&f->cap, XT_MDU_BOOK, 0, 0)->asks[0], 108, 1, 1);
    assert_level(&find_rec(&f->cap, XT_MDU_BOOK, 0, 1)->asks[0], 109, 1, 1);
    fx_free(f);
}

/* The book's version follows the journal: 2 x the sequence number of the
 * command that last changed it, 2 x seq + 1 for the books written again
 * as of seq (a resync, XT_MD_RESYNC), one more when neither is higher;
 * the floor lifts every book, also one that is empty. */
static void test_book_version_is_the_commands_seq(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    struct {
        uint64_t seq;
        uint8_t type;
        int64_t px, qty;
        uint64_t version;
    } steps[] = {
        {10, XT_CMD_NEW, 100, 1, 20},    /* a command's: 2 x seq */
        {10, XT_MD_RESYNC, 100, 2, 21},  /* a resync as of the same command: one above it */
        {11, XT_CMD_CANCEL, 100, 3, 22}, /* the next command: no drift */
        {11, XT_MD_RESYNC, 100, 3, 22},  /* no change: the same version */
        {12, XT_MD_RESYNC, 100, 4, 25},  /* a resync after a command that did not touch this book */
        {12, XT_MD_RESYNC, 100, 5, 26},  /* another resync as of the same command: one more */
        {13, XT_CMD_AMEND, 101, 1, 27},  /* not above the version: one more */
        {20, XT_CMD_NEW, 102, 1, 40},
    };
    uint64_t before = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        xt_event_t e = bk(XT_BUY, steps[i].px, steps[i].qty, 1);
        xt_event_batch_t b = {
            .seq = steps[i].seq, .ts = AT_10H, .cmd_type = steps[i].type, .last = 1, .n = 1, .events = &e};
        cap_reset(&f->cap);
        xt_md_on_batch(&f->md, &b);
        assert_int_equal(xt_md_book_seq(inst1(f)), steps[i].version);
        const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
        assert_int_equal(r != NULL, steps[i].version != before);
        if (r) {
            assert_int_equal(r->u.seq, steps[i].version);
            assert_int_equal(r->u.prev_seq, before);
        }
        before = steps[i].version;
    }
    /* a resync's batches and the command before it at the same seq are two changes */
    xt_event_t a = bk(XT_SELL, 200, 1, 1), c = bk(XT_SELL, 201, 1, 1);
    xt_event_batch_t open = {.seq = 30, .ts = AT_10H, .cmd_type = XT_CMD_NEW, .last = 0, .n = 1, .events = &a};
    xt_event_batch_t resync = {.seq = 30, .ts = AT_10H, .cmd_type = XT_MD_RESYNC, .last = 1, .n = 1, .events = &c};
    cap_reset(&f->cap);
    xt_md_on_batch(&f->md, &open); /* its last batch never came */
    xt_md_on_batch(&f->md, &resync);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 2);
    assert_int_equal(find_rec(&f->cap, XT_MDU_BOOK, 0, 0)->u.seq, 60);
    assert_int_equal(find_rec(&f->cap, XT_MDU_BOOK, 0, 1)->u.seq, 61);
    xt_md_book_seq_floor(&f->md, xt_md_resync_version(40));
    assert_int_equal(xt_md_book_seq(inst1(f)), 81);
    xt_md_book_seq_floor(&f->md, 25); /* never down */
    assert_int_equal(xt_md_book_seq(inst1(f)), 81);
    assert_int_equal(xt_md_add_instrument(&f->md, 2, "EMPTY", 100, 0), 0);
    xt_md_book_seq_floor(&f->md, xt_md_resync_version(41));
    assert_int_equal(xt_md_book_seq(xt_md_find(&f->md, 2)), 83);
    fx_free(f);
}

static void test_book_full_side_drops_worst(void **state)
{
    (void)state;
    fx_t *f = fx_new(3, 8, 0, 100);
    xt_event_t c1[] = {bk(XT_BUY, 100, 1, 1),  bk(XT_BUY, 101, 2, 1),  bk(XT_BUY, 102, 3, 1),
                       bk(XT_SELL, 200, 1, 1), bk(XT_SELL, 201, 2, 1), bk(XT_SELL, 202, 3, 1)};
    cmd(f, AT_10H, c1, 6);
    cap_reset(&f->cap);
    xt_event_t c2[] = {bk(XT_BUY, 103, 4, 1), bk(XT_SELL, 199, 4, 1)};
    cmd(f, AT_10H, c2, 2);
    const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->u.n_changed_bids, 2);
    assert_level(&r->bids[0], 103, 4, 1);
    assert_level(&r->bids[1], 100, 0, 0);
    assert_int_equal(r->u.n_changed_asks, 2);
    assert_level(&r->asks[0], 199, 4, 1);
    assert_level(&r->asks[1], 202, 0, 0);
    xt_md_level_t out[4];
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 4), 3);
    assert_level(&out[2], 101, 2, 1);
    /* Worse than every kept level on a full side: not tracked, no update. */
    cap_reset(&f->cap);
    xt_event_t c3[] = {bk(XT_BUY, 90, 9, 1), bk(XT_SELL, 250, 9, 1)};
    cmd(f, AT_10H, c3, 2);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 0);
    assert_int_equal(xt_md_book_seq(inst1(f)), 4); /* 2 x c2's seq */
    /* A level pushed in and out within one command is not listed. */
    xt_event_t c4[] = {bk(XT_BUY, 104, 1, 1), bk(XT_BUY, 105, 1, 1), bk(XT_BUY, 106, 1, 1), bk(XT_BUY, 107, 1, 1)};
    cmd(f, AT_10H, c4, 4);
    r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
    assert_int_equal(r->u.n_changed_bids, 6); /* 107 106 105 new, 103 102 101 gone, 104 not at all */
    assert_int_equal(r->bids[0].price, 107);
    assert_level(&r->bids[3], 103, 0, 0);
    assert_level(&r->bids[5], 101, 0, 0);
    fx_free(f);
}

static uint32_t depth_prices(const fx_t *f, int side, int64_t *out)
{
    xt_md_level_t lv[MAX_LV];
    uint32_t n = xt_md_depth(inst1(f), side, lv, MAX_LV);
    for (uint32_t i = 0; i < n; i++)
        out[i] = lv[i].price;
    return n;
}

/* A side that was full is complete only down to its worst kept price: a
 * worse level is not taken even with room (the engine may hold levels in
 * between), and once it is down to below half, the instrument is listed,
 * once, for its book to be written again; a reset makes it whole again. */
static void test_book_cut_side_refills(void **state)
{
    (void)state;
    fx_t *f = fx_new(4, 8, 0, 100);
    uint32_t ids[4];
    int64_t px[MAX_LV];
    xt_event_t full[] = {bk(XT_BUY, 100, 1, 1), bk(XT_BUY, 101, 1, 1),  bk(XT_BUY, 102, 1, 1),
                         bk(XT_BUY, 103, 1, 1), bk(XT_SELL, 200, 1, 1), bk(XT_SELL, 201, 1, 1)};
    cmd(f, AT_10H, full, 6);
    xt_event_t c1[] = {bk(XT_BUY, 103, 0, 0), bk(XT_BUY, 99, 5, 1)}; /* 99: past the cut, room or not */
    cmd(f, AT_10H, c1, 2);
    assert_int_equal(depth_prices(f, XT_BUY, px), 3);
    assert_int_equal(px[2], 100);
    xt_event_t c2[] = {bk(XT_BUY, 102, 0, 0), bk(XT_SELL, 200, 0, 0), bk(XT_SELL, 201, 0, 0)};
    cmd(f, AT_10H, c2, 3); /* 2 of 4 left: not below half; the asks were never full */
    assert_int_equal(xt_md_take_refills(&f->md, ids, 4), 0);
    xt_event_t c3[] = {bk(XT_BUY, 101, 0, 0)};
    cmd(f, AT_10H, c3, 1);
    xt_event_t c4[] = {bk(XT_BUY, 100, 0, 0)}; /* empty: still listed once */
    cmd(f, AT_10H, c4, 1);
    assert_int_equal(f->md.refills_asked, 1);
    assert_int_equal(xt_md_take_refills(&f->md, ids, 4), 1);
    assert_int_equal(ids[0], 1);
    assert_int_equal(xt_md_take_refills(&f->md, ids, 4), 0);
    /* The engine's book written again: 99 and the levels under it come back. */
    xt_md_book_reset(&f->md, 1);
    xt_event_t again[] = {bk(XT_BUY, 99, 5, 1), bk(XT_BUY, 98, 1, 1), bk(XT_BUY, 97, 1, 1)};
    cmd(f, AT_10H, again, 3);
    assert_int_equal(depth_prices(f, XT_BUY, px), 3);
    assert_int_equal(px[0], 99);
    assert_int_equal(px[2], 97);
    xt_event_t c5[] = {bk(XT_BUY, 96, 1, 1)}; /* not cut: taken, and now full */
    cmd(f, AT_10H, c5, 1);
    xt_event_t c6[] = {bk(XT_BUY, 95, 1, 1), bk(XT_BUY, 99, 0, 0), bk(XT_BUY, 98, 0, 0), bk(XT_BUY, 97, 0, 0)};
    cmd(f, AT_10H, c6, 4);
    assert_int_equal(depth_prices(f, XT_BUY, px), 1);
    assert_int_equal(px[0], 96);
    /* listed again; a reset before it is taken takes it off the list */
    assert_int_equal(f->md.refills_asked, 2);
    xt_md_book_reset(&f->md, 1);
    assert_int_equal(xt_md_take_refills(&f->md, ids, 4), 0);
    xt_md_book_reset(&f->md, 77); /* unknown: nothing */
    fx_free(f);
    /* One level a side: a cut side asks once it is empty (half of 1 is 0 levels) */
    f = fx_new(1, 8, 0, 100);
    xt_event_t one[] = {bk(XT_SELL, 200, 1, 1), bk(XT_SELL, 201, 1, 1)};
    cmd(f, AT_10H, one, 2);
    xt_event_t gone[] = {bk(XT_SELL, 200, 0, 0)};
    cmd(f, AT_10H, gone, 1);
    assert_int_equal(xt_md_take_refills(&f->md, ids, 4), 1);
    fx_free(f);
}

static void test_depth_query(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[] = {bk(XT_SELL, 110, 1, 1), bk(XT_SELL, 111, 2, 1), bk(XT_SELL, 112, 3, 1)};
    cmd(f, AT_10H, ev, 3);
    xt_md_level_t out[3] = {0};
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 2), 2);
    assert_level(&out[0], 110, 1, 1);
    assert_level(&out[1], 111, 2, 1);
    assert_int_equal(out[2].price, 0); /* untouched */
    assert_int_equal(xt_md_depth(inst1(f), XT_BUY, out, 3), 0);
    assert_int_equal(xt_md_depth(inst1(f), 2, out, 3), 0);
    assert_int_equal(xt_md_depth(inst1(f), XT_SELL, out, 0), 0);
    fx_free(f);
}

/* A subscriber applying the deltas keeps a copy equal to md's depth; with
 * room for every price, md's depth is the full book. */
static void mirror_run(uint32_t levels)
{
    fx_t *f = fx_new(levels, 8, 0, 100);
    int64_t full[2][24] = {{0}}, mirror[2][24] = {{0}}; /* qty by price - 90 */
    uint64_t seq = 0;
    for (int step = 0; step < 3000; step++) {
        xt_event_t ev[6];
        uint32_t n = 1 + (uint32_t)(next_rand() % 6);
        for (uint32_t i = 0; i < n; i++) {
            int side = (int)(next_rand() & 1);
            int64_t px = 90 + (int64_t)(next_rand() % 24), qty = next_rand() % 3 ? (int64_t)(next_rand() % 50) : 0;
            ev[i] = bk(side, px, qty, (uint32_t)qty % 7 + (qty > 0));
            full[side][px - 90] = qty;
        }
        cap_reset(&f->cap);
        cmd(f, AT_10H, ev, n);
        const rec_t *r = find_rec(&f->cap, XT_MDU_BOOK, 0, 0);
        if (r) {
            assert_int_equal(r->u.seq, 2 * f->seq); /* the command's */
            seq = 2 * f->seq;
            for (uint32_t i = 0; i < r->u.n_changed_bids; i++) {
                assert_true(i == 0 || r->bids[i].price < r->bids[i - 1].price);
                mirror[XT_BUY][r->bids[i].price - 90] = r->bids[i].qty;
            }
            for (uint32_t i = 0; i < r->u.n_changed_asks; i++) {
                assert_true(i == 0 || r->asks[i].price > r->asks[i - 1].price);
                mirror[XT_SELL][r->asks[i].price - 90] = r->asks[i].qty;
            }
        }
        assert_int_equal(xt_md_book_seq(inst1(f)), seq);
        for (int side = 0; side < 2; side++) {
            xt_md_level_t out[24];
            uint32_t k = xt_md_depth(inst1(f), side, out, 24), m = 0;
            assert_true(k <= levels);
            for (int j = 0; j < 24; j++) {
                int p = side == XT_BUY ? 23 - j : j;
                if (mirror[side][p] == 0)
                    continue;
                assert_true(m < k);
                assert_int_equal(out[m].price, 90 + p);
                assert_int_equal(out[m++].qty, mirror[side][p]);
            }
            assert_int_equal(m, k);
            if (levels >= 24)
                assert_memory_equal(mirror[side], full[side], sizeof full[side]);
        }
    }
    fx_free(f);
}

static void test_book_deltas_rebuild_depth(void **state)
{
    (void)state;
    mirror_run(24);
    mirror_run(4);
    mirror_run(1);
}

/* ---- trades and the ticker ---------------------------------------------------------------- */

static void test_tape_ring_wraps(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 4, 0, 100);
    for (int i = 0; i < 6; i++) {
        xt_event_t e = tr(f, i % 2, 100 + i, 10 + i);
        cmd(f, AT_10H + S(i), &e, 1);
    }
    xt_md_trade_t out[8];
    assert_int_equal(xt_md_trades(inst1(f), out, 8), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].trade_id, (uint64_t)i + 3);
        assert_int_equal(out[i].price, 102 + i);
        assert_int_equal(out[i].qty, 12 + i);
        assert_int_equal(out[i].ts, AT_10H + S(i + 2));
        assert_int_equal(out[i].taker_side, i % 2);
    }
    assert_int_equal(xt_md_trades(inst1(f), out, 2), 2);
    assert_int_equal(out[0].trade_id, 5);
    assert_int_equal(out[1].trade_id, 6);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TRADE, 0), 6);
    fx_free(f);
}

static void test_ticker_day_fields(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 10000);
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->open, 10000);
    assert_int_equal(t->best_bid, XT_PRICE_NONE);
    const int64_t px[] = {10010, 9990, 10005}, qty[] = {2, 3, 5};
    __int128 turnover = 0;
    for (int i = 0; i < 3; i++) {
        trade_at(f, AT_10H + S(i), px[i], qty[i]);
        turnover += (__int128)px[i] * qty[i];
    }
    assert_int_equal(t->prev_close, 10000);
    assert_int_equal(t->open, 10010);
    assert_int_equal(t->high, 10010);
    assert_int_equal(t->low, 9990);
    assert_int_equal(t->last, 10005);
    assert_int_equal(t->volume, 10);
    assert_true(t->turnover == turnover);
    assert_int_equal(t->trades, 3);
    assert_int_equal(t->ts, AT_10H + S(2));
    assert_int_equal(xt_md_change_bp(t), 5); /* +0.05 % */
    assert_int_equal(xt_md_vwap(t), 10002);  /* 100015 / 10 = 10001.5, half up */
    fx_free(f);
}

static void test_ticker_top5_weibi_weicha(void **state)
{
    (void)state;
    fx_t *f = fx_new(16, 8, 0, 100);
    xt_event_t ev[13];
    for (int i = 0; i < 7; i++)
        ev[i] = bk(XT_BUY, 100 - i, 10 * (int64_t)(i + 1), 1); /* 10 20 30 40 50 | 60 70 */
    for (int i = 0; i < 6; i++)
        ev[7 + i] = bk(XT_SELL, 101 + i, 5, 1); /* 5 x5 | 5 */
    cmd(f, AT_10H, ev, 13);
    const xt_md_ticker_t *t = xt_md_ticker(inst1(f));
    assert_int_equal(t->best_bid, 100);
    assert_int_equal(t->best_bid_qty, 10);
    assert_int_equal(t->best_ask, 101);
    assert_int_equal(t->best_ask_qty, 5);
    assert_int_equal(t->bid5_qty, 150);
    assert_int_equal(t->ask5_qty, 25);
    assert_int_equal(t->bid5_qty - t->ask5_qty, 125); /* 委差 */
    assert_int_equal(xt_md_weibi_bp(t), 7143);        /* 125/175 = 71.428...% */
    /* A change below the top five: a BOOK update, no TICKER. */
    cap_reset(&f->cap);
    xt_event_t deep = bk(XT_BUY, 95, 1, 1);
    cmd(f, AT_10H, &deep, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_BOOK, 0), 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 0);
    /* The fifth bid level goes: the sixth moves up into the top five. */
    xt_event_t gone = bk(XT_BUY, 96, 0, 0);
    cmd(f, AT_10H, &gone, 1);
    assert_int_equal(count_rec(&f->cap, XT_MDU_TICKER, 0), 1);
    assert_int_equal(t->bid5_qty, 10 + 20 + 30 + 40 + 1);
    /* The asks empty: best ask NONE, 委比 +100 %. */
    xt_event_t clear[6];
    for (int i = 0; i < 6; i++)
        clear[i] = bk(XT_SELL, 101 + i, 0, 0);
    cmd(f, AT_10H, clear, 6);
    assert_int_equal(t->best_ask, XT_PRICE_NONE);
    assert_int_equal(t->best_ask_qty, 0);
    assert_int_equal(xt_md_weibi_bp(t), 10000);
    fx_free(f);
}

static int32_t weibi(int64_t bid5, int64_t ask5)
{
    xt_md_ticker_t t = {.bid5_qty = bid5, .ask5_qty = ask5};
    return xt_md_weibi_bp(&t);
}

static int32_t change(int64_t prev, int64_t last)
{
    xt_md_ticker_t t = {.prev_close = prev, .last = last, .trades = 1};
    return xt_md_change_bp(&t);
}

static int64_t vwap(__int128 turnover, int64_t volume)
{
    xt_md_ticker_t t = {.turnover = turnover, .volume = volume};
    return xt_md_vwap(&t);
}

static void test_weibi_rounding_and_sign(void **state)
{
    (void)state;
    assert_int_equal(weibi(20001, 19999), 1); /* 0.5 -> 1 */
    assert_int_equal(weibi(19999, 20001), -1);
    assert_int_equal(weibi(2, 1), 3333);
    assert_int_equal(weibi(1, 2), -3333);
    assert_int_equal(weibi(1, 7), -7500);
    assert_int_equal(weibi(3, 1), 5000);
    assert_int_equal(weibi(5, 0), 10000);
    assert_int_equal(weibi(0, 5), -10000);
    assert_int_equal(weibi(0, 0), 0);
    assert_int_equal(weibi(20003, 19997), 2); /* 1.5 -> 2 */
    assert_int_equal(weibi(19997, 20003), -2);
    assert_int_equal(weibi(INT64_MAX, INT64_MAX), 0);
}

static void test_change_bp_rounding(void **state)
{
    (void)state;
    assert_int_equal(change(10000, 10050), 50);
    assert_int_equal(change(20000, 20001), 1); /* 0.5 -> 1 */
    assert_int_equal(change(20000, 19999), -1);
    assert_int_equal(change(3, 4), 3333);
    assert_int_equal(change(3, 2), -3333);
    assert_int_equal(change(0, 5), 0);
    assert_int_equal(change(1, XT_PRICE_MAX), INT32_MAX);       /* clamped */
    xt_md_ticker_t none = {.prev_close = 10000, .last = 10050}; /* no trade this day: no change */
    assert_int_equal(xt_md_change_bp(&none), 0);
    assert_int_equal(xt_md_change(&none), 0);
    xt_md_ticker_t unpriced = {.prev_close = 10000, .trades = 1}; /* no last: no change at all */
    assert_true(xt_md_change(&unpriced) == XT_PRICE_NONE);
    assert_int_equal(xt_md_change_bp(&unpriced), 0);
}

static void test_vwap_half_up(void **state)
{
    (void)state;
    assert_int_equal(vwap(21, 2), 11);
    assert_int_equal(vwap(31, 3), 10);
    assert_int_equal(vwap(32, 3), 11);
    assert_int_equal(vwap(0, 0), 0);
    assert_int_equal(vwap((__int128)XT_PRICE_MAX * XT_QTY_MAX * 3, XT_QTY_MAX * 3), XT_PRICE_MAX);
}

static void test_update_order_per_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    xt_event_t c1 = bk(XT_SELL, 101, 5, 1);
    cmd(f, AT_10H, &c1, 1); /* opens the candles and the first minute */
    cap_reset(&f->cap);
    xt_event_t ev[] = {tr(f, XT_BUY, 101, 2), bk(XT_SELL, 101, 3, 1), tr(f, XT_BUY, 101, 3), bk(XT_SELL, 101, 0, 0),
                       bk(XT_BUY, 101, 1, 1)};
    cmd(f, AT_10H + S(1), ev, 5);
    const int want[] = {XT_MDU_TRADE, XT_MDU_TRADE, XT_MDU_BOOK, XT_MDU_TICKER};
    assert_int_equal(f->cap.n, 4 + XT_KL_COUNT + 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->cap.rec[i].u.kind, want[i]);
    for (int i = 0; i < XT_KL_COUNT; i++) {
        assert_int_equal(f->cap.rec[4 + i].u.kind, XT_MDU_KLINE);
        assert_int_equal(f->cap.rec[4 + i].u.interval, i);
        assert_int_equal(f->cap.rec[4 + i].candle.volume, 5);
    }
    assert_int_equal(f->cap.rec[4 + XT_KL_COUNT].u.kind, XT_MDU_MINUTE);
    const rec_t *t = find_rec(&f->cap, XT_MDU_TICKER, 0, 0);
    assert_int_equal(t->ticker.volume, 5);
    assert_int_equal(t->ticker.best_bid, 101);
    assert_int_equal(t->ticker.best_ask, XT_PRICE_NONE);
    assert_int_equal(t->u.ts, AT_10H + S(1));
    /* Unknown instruments and malformed events change nothing. */
    cap_reset(&f->cap);
    xt_event_t bad[] = {bk(XT_BUY, 0, 5, 1),
                        bk(XT_BUY, 101, -1, 1),
                        bk(2, 101, 5, 1),
                        tr(f, XT_BUY, 101, 0),
                        tr(f, XT_BUY, XT_PRICE_MAX + 1, 1),
                        bk(XT_BUY, 99, 5, 1)};
    bad[5].instrument = 77;
    cmd(f, AT_10H + S(2), bad, 6);
    assert_int_equal(f->cap.total, 0);
    fx_free(f);
}

/* ---- determinism, set-up ---------------------------------------------------------------------------- */

static void feed_random(fx_t *f, uint64_t seed)
{
    uint64_t r = seed;
    int64_t ts = S(WED_2024_01_03) + S(22 * HOUR);
    for (int step = 0; step < 2000; step++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t x = (uint32_t)(r >> 33);
        ts += S(x % 97);
        if (x % 11 == 0) {
            xt_md_advance(&f->md, ts + S(x % 300));
            continue;
        }
        xt_event_t ev[8];
        uint32_t n = 1 + x % 8;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t y = x >> ((i % 4) * 3);
            ev[i] = y % 4 == 0 ? tr(f, (int)(y & 1), 100 + y % 9, 1 + y % 13)
                               : bk((int)(y & 1), (y & 1) ? 101 + y % 7 : 99 - y % 7, (int64_t)(y % 5) * 3, y % 5);
            ev[i].instrument = 1 + (x >> 20) % 3;
        }
        uint64_t seq = ++f->seq;
        if (n > 4) {
            batch(f, seq, ts, ev, 4, 0);
            batch(f, seq, ts, ev + 4, n - 4, 1);
        } else {
            batch(f, seq, ts, ev, n, 1);
        }
    }
}

static void test_determinism(void **state)
{
    (void)state;
    strbuf_t logs[2] = {{0}};
    for (int k = 0; k < 2; k++) {
        fx_t *f = fx_new(6, 16, 28800, 100);
        f->cap.log = &logs[k];
        assert_int_equal(xt_md_add_instrument(&f->md, 2, "ETH", 100, -18000), 0);
        assert_int_equal(xt_md_add_instrument(&f->md, 3, "SOL", 0, 19800), 0);
        feed_random(f, 42);
        fx_free(f);
    }
    assert_true(logs[0].len > 100000);
    assert_int_equal(logs[0].len, logs[1].len);
    assert_string_equal(sb_str(&logs[0]), sb_str(&logs[1]));
    sb_free(&logs[0]);
    sb_free(&logs[1]);
}

static void test_init_and_instruments(void **state)
{
    (void)state;
    xt_md_t md;
    xt_md_config_t bad = {.max_instruments = 2, .max_levels = 0, .tape = 4};
    assert_int_equal(xt_md_init(&md, &bad, NULL, NULL), XT_EINVAL);
    bad.max_levels = (1u << 24) + 1;
    assert_int_equal(xt_md_init(&md, &bad, NULL, NULL), XT_EINVAL);
    bad.max_levels = 4;
    bad.tape = XT_MD_TAPE_MAX + 1; /* a tape whose state xt_md_state_decode would refuse */
    assert_int_equal(xt_md_init(&md, &bad, NULL, NULL), XT_EINVAL);
    xt_md_config_t cfg = {.max_instruments = 2, .max_levels = 4, .tape = 4};
    assert_int_equal(xt_md_init(&md, &cfg, NULL, NULL), 0);
    assert_int_equal(xt_md_add_instrument(&md, 5, NULL, 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A", -1, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A", 100, 86400), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, XT_INSTRUMENT_NONE, "A", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A-VERY-LONG-SYMBOL-NAME-OF-40-CHARACTERS", 100, 0), XT_EINVAL);
    assert_int_equal(xt_md_add_instrument(&md, 5, "A-SYMBOL-OF-EXACTLY-31-BYTES-XY", 100, 0), 0);
    assert_int_equal(xt_md_add_instrument(&md, 5, "B", 100, 0), XT_EEXIST);
    assert_int_equal(xt_md_add_instrument(&md, 9, "A-SYMBOL-OF-EXACTLY-31-BYTES-XY", 100, 0), XT_EEXIST);
    assert_int_equal(xt_md_add_instrument(&md, 9, "B", 100, 0), 0);
    assert_int_equal(xt_md_add_instrument(&md, 10, "C", 100, 0), XT_ECAPACITY);
    const xt_md_inst_t *a = xt_md_find(&md, 5);
    assert_non_null(a);
    assert_int_equal(strlen(xt_md_inst_symbol(a)), 31);
    assert_ptr_equal(xt_md_find_symbol(&md, "B", 1), xt_md_find(&md, 9));
    assert_int_equal(xt_md_inst_id(xt_md_find_symbol(&md, "B", 1)), 9);
    assert_null(xt_md_find_symbol(&md, "BB", 1 + 1));
    assert_null(xt_md_find(&md, 6));
    assert_int_equal(xt_md_book_seq(a), 0);
    xt_md_advance(&md, AT_10H); /* no sink: fine */
    assert_non_null(xt_md_candle(a, XT_KL_1M));
    xt_md_destroy(&md);
}

static void test_advance_leaves_open_command(void **state)
{
    (void)state;
    fx_t *f = fx_new(8, 8, 0, 100);
    trade_at(f, AT_10H, 100, 1);
    xt_event_t e = tr(f, XT_BUY, 101, 1);
    batch(f, 50, AT_10H + S(30), &e, 1, 0);
    cap_reset(&f->cap);
    xt_md_advance(&f->md, AT_10H + 5 * MIN);
    assert_int_equal(f->cap.total, 0);
    xt_event_t e2 = tr(f, XT_BUY, 102, 1);
    batch(f, 50, AT_10H + S(30), &e2, 1, 1);
    assert_int_equal(xt_md_candle(inst1(f), XT_KL_1M)->volume, 3);
    xt_md_advance(&f->md, AT_10H + 5 * MIN);
    assert_int_equal(f->cap.closed[XT_KL_1M], 5);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_book_levels_sorted),
        cmocka_unit_test(test_book_deltas_and_seq),
        cmocka_unit_test(test_book_one_update_per_multi_batch_command),
        cmocka_unit_test(test_book_version_is_the_commands_seq),
        cmocka_unit_test(test_book_full_side_drops_worst),
        cmocka_unit_test(test_book_cut_side_refills),
        cmocka_unit_test(test_depth_query),
        cmocka_unit_test(test_book_deltas_rebuild_depth),
        cmocka_unit_test(test_tape_ring_wraps),
        cmocka_unit_test(test_ticker_day_fields),
        cmocka_unit_test(test_ticker_top5_weibi_weicha),
        cmocka_unit_test(test_weibi_rounding_and_sign),
        cmocka_unit_test(test_change_bp_rounding),
        cmocka_unit_test(test_vwap_half_up),
        cmocka_unit_test(test_update_order_per_command),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_init_and_instruments),
        cmocka_unit_test(test_advance_leaves_open_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
