/* diff.c - the differential driver (see diff.h). */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void l2_apply(diff_t *d, const xt_event_t *ev)
{
    if (ev->instrument >= REF_MAX_INSTRUMENTS) {
        d->fault = "BOOK event for an unknown instrument";
        return;
    }
    diff_l2_t *v = d->l2[ev->instrument][ev->side];
    int *n = &d->l2n[ev->instrument][ev->side];
    int i = 0;
    while (i < *n && v[i].price != ev->price)
        i++;
    if (ev->qty == 0) {
        if (i == *n || ev->u.level.orders != 0) {
            d->fault = "BOOK removal of a level not in the L2 mirror";
            return;
        }
        v[i] = v[--*n];
        return;
    }
    if (i == *n) {
        if (*n == DIFF_MAX_L2) {
            d->fault = "L2 mirror full";
            return;
        }
        (*n)++;
    }
    v[i].price = ev->price;
    v[i].qty = ev->qty;
    v[i].orders = ev->u.level.orders;
}

static void on_event(diff_t *d, const xt_event_t *ev)
{
    if (ev->instrument < REF_MAX_INSTRUMENTS)
        d->touched |= 1u << ev->instrument;
    if (ev->type == XT_EV_BOOK) {
        l2_apply(d, ev);
        return;
    }
    if (ev->type == XT_EV_TRADE) {
        if (ev->u.trade.trade_id != d->last_trade_id + 1)
            d->fault = "trade ids are not consecutive";
        d->last_trade_id = ev->u.trade.trade_id;
        if (ev->qty <= 0 || ev->remaining < 0 || ev->u.trade.maker_remaining < 0)
            d->fault = "trade with a non-positive quantity or negative remainder";
    }
    ref_format_event(ev, &d->ev);
}

static void sink(void *ctx, const xt_event_batch_t *b)
{
    diff_t *d = ctx;
    if (b->seq != d->seq)
        d->fault = "batch carries the wrong sequence number";
    if (b->n == 0 || b->n > XT_EVENT_BATCH_MAX)
        d->fault = "batch size out of range";
    if (d->saw_last)
        d->fault = "a batch after the command's last one";
    d->saw_last = b->last;
    for (uint32_t i = 0; i < b->n; i++)
        on_event(d, &b->events[i]);
}

int diff_init(diff_t *d, const xt_engine_config_t *cfg)
{
    memset(d, 0, sizeof *d);
    ref_init(&d->m);
    return xt_engine_init(&d->e, cfg, sink, d);
}

void diff_free(diff_t *d)
{
    xt_engine_destroy(&d->e);
    ref_free(&d->m);
    sb_free(&d->ev);
}

int diff_instrument(diff_t *d, const xt_instrument_def_t *def, int64_t min_lots, int64_t max_lots, int64_t band_low,
                    int64_t band_high)
{
    xt_cmd_t c = {.type = XT_CMD_INSTRUMENT, .seq = ++d->seq};
    c.u.instrument = *def;
    int rc = xt_engine_apply(&d->e, &c);
    if (rc == 0)
        ref_add_instrument(&d->m, min_lots, max_lots, band_low, band_high);
    else
        d->seq--;
    return rc;
}

static xt_instrument_def_t def_of(const char *sym, xt_decimal_t tick, xt_decimal_t lot)
{
    xt_instrument_def_t d;
    memset(&d, 0, sizeof d);
    strcpy(d.symbol, sym);
    d.tick = tick;
    d.lot = lot;
    return d;
}

int diff_define_fixture(diff_t *d)
{
    xt_instrument_def_t a = def_of("A", (xt_decimal_t){1, 2}, (xt_decimal_t){1, 0});
    xt_instrument_def_t b = def_of("B", (xt_decimal_t){1, 2}, (xt_decimal_t){100, 0});
    b.flags = XT_DEF_MIN | XT_DEF_MAX | XT_DEF_BAND;
    b.min_qty = (xt_decimal_t){200, 0};
    b.max_qty = (xt_decimal_t){10000, 0};
    b.ref_price = (xt_decimal_t){1000, 2};
    b.band_pct = (xt_decimal_t){5, 0};
    xt_instrument_def_t c = def_of("C", (xt_decimal_t){5, 1}, (xt_decimal_t){1, 3});
    int rc;
    if ((rc = diff_instrument(d, &a, 1, XT_QTY_MAX, 1, XT_PRICE_MAX)) ||
        (rc = diff_instrument(d, &b, 2, 100, 950, 1050)) ||
        (rc = diff_instrument(d, &c, 1, XT_QTY_MAX, 1, XT_PRICE_MAX)))
        return rc;
    return 0;
}

xt_cmd_t diff_band_move_b(diff_t *d, int64_t ref)
{
    xt_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = XT_CMD_INSTRUMENT;
    xt_instrument_info_t in;
    if (xt_engine_instrument(&d->e, 1, &in) != 0)
        abort();
    c.u.instrument = in.def;
    if (ref == 0) {
        c.u.instrument.flags &= (uint8_t)~XT_DEF_BAND;
        c.u.instrument.ref_price = c.u.instrument.band_pct = (xt_decimal_t){0, 0};
        ref_expect_band(&d->m, 1, 1, XT_PRICE_MAX);
    } else {
        c.u.instrument.flags |= XT_DEF_BAND;
        c.u.instrument.ref_price = (xt_decimal_t){ref, 2};
        c.u.instrument.band_pct = (xt_decimal_t){5, 0};
        ref_expect_band(&d->m, 1, ref - ref / 20, ref + ref / 20);
    }
    return c;
}

/* Appends the engine's book of one instrument in the model's text form. */
static void engine_book(const xt_engine_t *e, uint32_t inst, strbuf_t *out)
{
    for (int side = 0; side < 2; side++) {
        xt_level_iter_t it;
        xt_level_info_t lv;
        xt_level_iter_init(&it, e, inst, (xt_side_t)side);
        while (xt_level_iter_next(&it, &lv)) {
            xt_order_iter_t oit;
            xt_order_info_t o;
            sb_printf(out, "%c %lld", side == XT_BUY ? 'B' : 'S', (long long)lv.price);
            xt_order_iter_init(&oit, e, inst, (xt_side_t)side, lv.price);
            while (xt_order_iter_next(&oit, &o))
                sb_printf(out, " %lld:%lld", (long long)o.id, (long long)o.qty);
            sb_printf(out, "\n");
        }
    }
}

static const char *check_l2(diff_t *d, uint32_t inst)
{
    for (int side = 0; side < 2; side++) {
        xt_level_iter_t it;
        xt_level_info_t lv;
        int count = 0;
        xt_level_iter_init(&it, &d->e, inst, (xt_side_t)side);
        while (xt_level_iter_next(&it, &lv)) {
            count++;
            int found = 0;
            for (int i = 0; i < d->l2n[inst][side]; i++) {
                const diff_l2_t *x = &d->l2[inst][side][i];
                if (x->price == lv.price) {
                    found = x->qty == lv.qty && x->orders == lv.orders;
                    break;
                }
            }
            if (!found)
                return "L2 rebuilt from BOOK events differs from the engine's levels";
        }
        if (count != d->l2n[inst][side])
            return "L2 rebuilt from BOOK events has extra levels";
    }
    return NULL;
}

const char *diff_step(diff_t *d, xt_cmd_t *cmd)
{
    cmd->seq = ++d->seq;
    cmd->ts = (int64_t)cmd->seq * 1000;
    sb_clear(&d->ev);
    d->fault = NULL;
    d->saw_last = 0;
    d->touched = 0;
    int rc = xt_engine_apply(&d->e, cmd);
    if (rc) {
        fprintf(stderr, "engine refused command type %d: %s\n", cmd->type, xt_strerror(rc));
        return "engine returned an error for a well-formed command";
    }
    if (d->fault)
        return d->fault;
    if (!d->saw_last)
        return "the command's last batch never came";
    ref_apply(&d->m, cmd);
    const char *got = sb_str(&d->ev), *want = sb_str(&d->m.out);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "events differ at seq %llu\n--- engine\n%s--- model\n%s", (unsigned long long)cmd->seq, got,
                want);
        return "engine and model events differ";
    }
    const char *why;
    if (xt_engine_verify(&d->e, &why) != 0) {
        fprintf(stderr, "invariant broken at seq %llu: %s\n", (unsigned long long)cmd->seq, why);
        return why;
    }
    /* Books change only where events say so; every 16th command all are
     * compared anyway, in case the engine changed one silently. */
    uint32_t check = cmd->seq % 16 == 0 ? ~0u : d->touched;
    for (uint32_t i = 0; i < d->m.n_inst; i++) {
        if (!(check & (1u << i)))
            continue;
        strbuf_t eb = {0}, mb = {0};
        engine_book(&d->e, i, &eb);
        ref_book(&d->m, i, &mb);
        int same = strcmp(sb_str(&eb), sb_str(&mb)) == 0;
        if (!same)
            fprintf(stderr, "books differ at seq %llu, instrument %u\n--- engine\n%s--- model\n%s",
                    (unsigned long long)cmd->seq, i, sb_str(&eb), sb_str(&mb));
        sb_free(&eb);
        sb_free(&mb);
        if (!same)
            return "engine and model books differ";
        if ((why = check_l2(d, i)) != NULL)
            return why;
    }
    return NULL;
}
