/* embed.c - the smallest useful program on libxt: one instrument, a few
 * orders, every event printed, then a look at the book. Built and run by
 * the test suite; walked through in docs/library.md. */
#include <stdio.h>
#include <string.h>

#include "xt/xt.h"

/* Events arrive in batches, one or more per command, during xt_engine_apply. */
static void on_events(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < b->n; i++) {
        const xt_event_t *ev = &b->events[i];
        switch (ev->type) {
        case XT_EV_ACCEPTED:
            printf("seq %llu: order %lld accepted\n", (unsigned long long)b->seq, (long long)ev->order_id);
            break;
        case XT_EV_TRADE:
            printf("seq %llu: trade #%llu %lld lots at %lld ticks, maker %lld, taker %lld\n",
                   (unsigned long long)b->seq, (unsigned long long)ev->u.trade.trade_id, (long long)ev->qty,
                   (long long)ev->price, (long long)ev->u.trade.maker_id, (long long)ev->order_id);
            break;
        case XT_EV_BOOK:
            printf("seq %llu: %s level %lld now %lld lots\n", (unsigned long long)b->seq, xt_side_name(ev->side),
                   (long long)ev->price, (long long)ev->qty);
            break;
        case XT_EV_REJECTED:
        case XT_EV_CANCELED:
            printf("seq %llu: order %lld %s %s\n", (unsigned long long)b->seq, (long long)ev->order_id,
                   ev->type == XT_EV_REJECTED ? "rejected" : "cancelled", xt_reason_name(ev->reason));
            break;
        default: break;
        }
    }
}

int main(void)
{
    xt_engine_t e;
    xt_engine_config_t cfg;
    xt_engine_config_default(&cfg);
    cfg.max_orders = 1024; /* capacities are fixed here, for good */
    cfg.max_levels = 256;
    int rc = xt_engine_init(&e, &cfg, on_events, NULL);
    if (rc) {
        fprintf(stderr, "init: %s\n", xt_strerror(rc));
        return 1;
    }

    uint64_t seq = 0; /* the caller numbers commands: the journal's job in a server */
    xt_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = XT_CMD_INSTRUMENT;
    c.seq = ++seq;
    strcpy(c.u.instrument.symbol, "BTC-USDT");
    c.u.instrument.tick = (xt_decimal_t){1, 2}; /* 0.01 */
    c.u.instrument.lot = (xt_decimal_t){1, 4};  /* 0.0001 */
    if ((rc = xt_engine_apply(&e, &c)) != 0) {
        fprintf(stderr, "instrument: %s\n", xt_strerror(rc));
        return 1;
    }
    uint32_t btc = xt_engine_find_symbol(&e, "BTC-USDT", 8);

    /* Decimals are converted at the edge: 67000.10 USDT at tick 0.01. */
    int64_t ask;
    xt_decimal_t px = {6700010, 2};
    xt_decimal_to_units(px, c.u.instrument.tick, &ask);

    struct {
        int64_t id;
        uint32_t account;
        int side;
        int64_t price, qty;
    } orders[] = {
        {1, 100, XT_SELL, ask, 500}, /* 0.05 BTC */
        {2, 100, XT_SELL, ask + 10, 800},
        {3, 200, XT_BUY, ask + 10, 1500}, /* sweeps both levels, rests 0.0200 */
        {4, 200, XT_BUY, ask, 0},         /* INVALID_QTY */
    };
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        memset(&c, 0, sizeof c);
        c.type = XT_CMD_NEW;
        c.seq = ++seq;
        c.ts = 1700000000000000000LL + (int64_t)i; /* opaque to the core */
        c.u.new_order = (xt_order_new_t){.id = orders[i].id,
                                         .account = orders[i].account,
                                         .instrument = btc,
                                         .side = (uint8_t)orders[i].side,
                                         .type = XT_LIMIT,
                                         .price = orders[i].price,
                                         .qty = orders[i].qty};
        xt_engine_apply(&e, &c);
    }

    xt_level_info_t best;
    if (xt_engine_best(&e, btc, XT_BUY, &best) == 0)
        printf("best bid: %lld lots at %lld ticks (%u orders)\n", (long long)best.qty, (long long)best.price,
               best.orders);
    printf("state hash %016llx\n", (unsigned long long)xt_engine_state_hash(&e));
    xt_engine_destroy(&e);
    return 0;
}
