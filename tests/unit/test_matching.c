/* test_matching.c - every rule of the matching contract (docs/matching.md),
 * each stated as replay input and the output the contract demands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "script.h"

#define X "INSTRUMENT X tick=0.01 lot=1\n"
/* Y: lot 10, min 20, max 100, band 9.00 .. 11.00 */
#define Y "INSTRUMENT Y tick=0.01 lot=10 min=20 max=100 ref=10.00 band=10\n"

/* ---- resting and priority ------------------------------------------------ */

static void rest_and_book_order(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "NEW 2 2 X BUY LIMIT 10.01 3\n"
                    "NEW 3 3 X BUY LIMIT 10.00 4\n"
                    "NEW 4 4 X SELL LIMIT 10.05 2\n"
                    "NEW 5 5 X SELL LIMIT 10.03 6\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\nACCEPTED 5\n"
                  "BOOK X BUY 10.01 2:3\n"
                  "BOOK X BUY 10.00 1:5 3:4\n"
                  "BOOK X SELL 10.03 5:6\n"
                  "BOOK X SELL 10.05 4:2\n");
}

static void fifo_within_level(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 5\n"
                    "NEW 2 2 X SELL LIMIT 10.00 5\n"
                    "NEW 3 3 X SELL LIMIT 10.00 5\n"
                    "NEW 4 4 X BUY LIMIT 10.00 7\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"
                  "TRADE X 10.00 5 1 4\n"
                  "TRADE X 10.00 2 2 4\n"
                  "BOOK X SELL 10.00 2:3 3:5\n");
}

static void fifo_after_cancel_in_middle(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 5\n"
                    "NEW 2 2 X SELL LIMIT 10.00 5\n"
                    "NEW 3 3 X SELL LIMIT 10.00 5\n"
                    "CANCEL 2 2\n"
                    "NEW 4 4 X SELL LIMIT 10.00 1\n"
                    "NEW 5 5 X BUY LIMIT 10.00 8\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\n"
                  "CANCELED 2 5 USER\n"
                  "ACCEPTED 4\nACCEPTED 5\n"
                  "TRADE X 10.00 5 1 5\n"
                  "TRADE X 10.00 3 3 5\n"
                  "BOOK X SELL 10.00 3:2 4:1\n");
}

static void fifo_after_cancel_at_head_and_tail(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 1\n"
                    "NEW 2 1 X BUY LIMIT 10.00 2\n"
                    "NEW 3 1 X BUY LIMIT 10.00 3\n"
                    "NEW 4 1 X BUY LIMIT 10.00 4\n"
                    "CANCEL 1 1\n"
                    "CANCEL 4 1\n"
                    "NEW 5 1 X BUY LIMIT 10.00 5\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"
                  "CANCELED 1 1 USER\nCANCELED 4 4 USER\nACCEPTED 5\n"
                  "BOOK X BUY 10.00 2:2 3:3 5:5\n");
}

static void sweep_at_maker_prices(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.03 2\n"
                    "NEW 2 2 X SELL LIMIT 10.01 2\n"
                    "NEW 3 3 X SELL LIMIT 10.02 2\n"
                    "NEW 4 4 X BUY LIMIT 10.05 5\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"
                  "TRADE X 10.01 2 2 4\n"
                  "TRADE X 10.02 2 3 4\n"
                  "TRADE X 10.03 1 1 4\n"
                  "BOOK X SELL 10.03 1:1\n");
}

static void sell_sweep_at_maker_prices(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 9.97 2\n"
                    "NEW 2 2 X BUY LIMIT 9.99 2\n"
                    "NEW 3 3 X BUY LIMIT 9.98 2\n"
                    "NEW 4 4 X SELL LIMIT 9.90 7\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"
                  "TRADE X 9.99 2 2 4\n"
                  "TRADE X 9.98 2 3 4\n"
                  "TRADE X 9.97 2 1 4\n"
                  "BOOK X SELL 9.90 4:1\n");
}

static void marketable_limit_stops_at_its_price(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.01 2\n"
                    "NEW 2 2 X SELL LIMIT 10.02 2\n"
                    "NEW 3 3 X SELL LIMIT 10.03 2\n"
                    "NEW 4 4 X BUY LIMIT 10.02 10\n"
                    "NEW 5 5 X SELL LIMIT 10.00 7\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"
                  "TRADE X 10.01 2 1 4\n"
                  "TRADE X 10.02 2 2 4\n"
                  "ACCEPTED 5\n"
                  "TRADE X 10.02 6 4 5\n"
                  "BOOK X SELL 10.00 5:1\n"
                  "BOOK X SELL 10.03 3:2\n");
}

/* ---- time in force ------------------------------------------------------- */

static void ioc_remainder_cancelled(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 3\n"
                    "NEW 2 2 X BUY LIMIT 10.00 5 IOC\n"
                    "NEW 3 3 X BUY LIMIT 10.00 5 IOC\n"
                    "NEW 4 3 X SELL LIMIT 10.05 1\n"
                    "NEW 5 4 X BUY LIMIT 10.05 1 IOC\n",
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "TRADE X 10.00 3 1 2\n"
                  "CANCELED 2 2 IOC\n"
                  "ACCEPTED 3\nCANCELED 3 5 IOC\n"
                  "ACCEPTED 4\nACCEPTED 5\nTRADE X 10.05 1 4 5\n");
}

static void fok_fills_across_levels(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 3\n"
                    "NEW 2 2 X SELL LIMIT 10.01 3\n"
                    "NEW 3 3 X BUY LIMIT 10.01 6 FOK\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\n"
                  "TRADE X 10.00 3 1 3\n"
                  "TRADE X 10.01 3 2 3\n");
}

static void fok_not_fillable_leaves_book_alone(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 3\n"
                    "NEW 2 2 X SELL LIMIT 10.02 3\n"
                    "NEW 3 3 X BUY LIMIT 10.01 4 FOK\n"
                    "NEW 4 3 X BUY LIMIT 10.02 7 FOK\n",
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "ACCEPTED 3\nCANCELED 3 4 FOK\n"
                  "ACCEPTED 4\nCANCELED 4 7 FOK\n"
                  "BOOK X SELL 10.00 1:3\n"
                  "BOOK X SELL 10.02 2:3\n");
}

static void fok_follows_stp(void **state)
{
    (void)state;
    /* Account 7 owns the first order in the queue. */
    EXPECT_SCRIPT(X "NEW 1 7 X SELL LIMIT 10.00 3\n"
                    "NEW 2 8 X SELL LIMIT 10.00 3\n"
                    "NEW 3 7 X BUY LIMIT 10.00 3 FOK\n"         /* CN: stops at once */
                    "NEW 4 7 X BUY LIMIT 10.00 3 FOK STP=CB\n"  /* CB: stops too */
                    "NEW 5 7 X BUY LIMIT 10.00 4 FOK STP=CO\n"  /* CO: only 3 left for it */
                    "NEW 6 7 X BUY LIMIT 10.00 3 FOK STP=CO\n", /* CO: executes, own order goes */
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "ACCEPTED 3\nCANCELED 3 3 FOK\n"
                  "ACCEPTED 4\nCANCELED 4 3 FOK\n"
                  "ACCEPTED 5\nCANCELED 5 4 FOK\n"
                  "ACCEPTED 6\nCANCELED 1 3 STP\nTRADE X 10.00 3 2 6\n");
}

static void fok_self_trade_allowed_with_stp_none(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 7 X SELL LIMIT 10.00 3\n"
                    "NEW 2 7 X BUY LIMIT 10.00 2 FOK STP=NONE\n",
                  "ACCEPTED 1\nACCEPTED 2\nTRADE X 10.00 2 1 2\n"
                  "BOOK X SELL 10.00 1:1\n");
}

static void fok_enough_before_own_order(void **state)
{
    (void)state;
    /* The own order sits behind enough quantity: CN never reaches it. */
    EXPECT_SCRIPT(X "NEW 1 8 X SELL LIMIT 10.00 3\n"
                    "NEW 2 7 X SELL LIMIT 10.00 3\n"
                    "NEW 3 7 X BUY LIMIT 10.00 3 FOK\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nTRADE X 10.00 3 1 3\n"
                  "BOOK X SELL 10.00 2:3\n");
}

static void post_only(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.01 3\n"
                    "NEW 2 2 X BUY LIMIT 10.01 1 POST\n" /* would trade */
                    "NEW 3 1 X BUY LIMIT 10.02 1 POST\n" /* would trade, even with its own account */
                    "NEW 4 2 X BUY LIMIT 10.00 1 POST\n" /* rests */
                    "NEW 5 3 X SELL LIMIT 10.00 1 POST\n"
                    "NEW 6 3 X SELL LIMIT 10.01 2 POST\n",
                  "ACCEPTED 1\n"
                  "ACCEPTED 2\nCANCELED 2 1 POST_ONLY\n"
                  "ACCEPTED 3\nCANCELED 3 1 POST_ONLY\n"
                  "ACCEPTED 4\n"
                  "ACCEPTED 5\nCANCELED 5 1 POST_ONLY\n"
                  "ACCEPTED 6\n"
                  "BOOK X BUY 10.00 4:1\n"
                  "BOOK X SELL 10.01 1:3 6:2\n");
}

static void market_orders(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 2\n"
                    "NEW 2 2 X SELL LIMIT 10.50 2\n"
                    "NEW 3 3 X BUY MARKET - 3\n"
                    "NEW 4 3 X BUY MARKET - 5\n"
                    "NEW 5 3 X SELL MARKET - 1\n"
                    "NEW 6 3 X BUY MARKET - 1 IOC\n"
                    "NEW 7 3 X BUY MARKET - 1 FOK\n",
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "ACCEPTED 3\nTRADE X 10.00 2 1 3\nTRADE X 10.50 1 2 3\n"
                  "ACCEPTED 4\nTRADE X 10.50 1 2 4\nCANCELED 4 4 MARKET\n"
                  "ACCEPTED 5\nCANCELED 5 1 MARKET\n"
                  "ACCEPTED 6\nCANCELED 6 1 MARKET\n"
                  "ACCEPTED 7\nCANCELED 7 1 FOK\n");
}

static void market_fok_executes(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 2\n"
                    "NEW 2 2 X BUY LIMIT 9.00 2\n"
                    "NEW 3 3 X SELL MARKET - 3 FOK\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\n"
                  "TRADE X 10.00 2 1 3\nTRADE X 9.00 1 2 3\n"
                  "BOOK X BUY 9.00 2:1\n");
}

static void market_trades_inside_band(void **state)
{
    (void)state;
    /* Y's band is 9.00 .. 11.00 inclusive; a market order may trade at the edge. */
    EXPECT_SCRIPT(Y "NEW 1 1 Y SELL LIMIT 11.00 20\n"
                    "NEW 2 1 Y SELL LIMIT 10.00 20\n"
                    "NEW 3 2 Y BUY MARKET - 50\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\n"
                  "TRADE Y 10.00 20 2 3\nTRADE Y 11.00 20 1 3\nCANCELED 3 10 MARKET\n");
}

static void market_tif_and_price_rules(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 3 X BUY MARKET - 1 GTC\n"
                    "NEW 2 3 X BUY MARKET - 1 POST\n"
                    "NEW 3 3 X BUY MARKET 10.00 1\n"
                    "NEW 4 3 X SELL MARKET - 1 POST\n",
                  "REJECTED 1 INVALID_TIF\nREJECTED 2 INVALID_TIF\nREJECTED 3 INVALID_PRICE\n"
                  "REJECTED 4 INVALID_TIF\n");
}

/* ---- self-trade prevention ----------------------------------------------- */

/* Account 5 owns order 2, second in the 10.00 queue. */
#define STP_BOOK                                                                                                       \
    X "NEW 1 9 X SELL LIMIT 10.00 2\n"                                                                                 \
      "NEW 2 5 X SELL LIMIT 10.00 2\n"                                                                                 \
      "NEW 3 9 X SELL LIMIT 10.01 2\n"
#define STP_HEAD "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nACCEPTED 4\n"

static void stp_cancel_newest(void **state)
{
    (void)state;
    const char *want = STP_HEAD "TRADE X 10.00 2 1 4\nCANCELED 4 4 STP\n"
                                "BOOK X SELL 10.00 2:2\nBOOK X SELL 10.01 3:2\n";
    EXPECT_SCRIPT(STP_BOOK "NEW 4 5 X BUY LIMIT 10.01 6 STP=CN\n", want);
    EXPECT_SCRIPT(STP_BOOK "NEW 4 5 X BUY LIMIT 10.01 6\n", want); /* CN is the default */
}

static void stp_cancel_oldest(void **state)
{
    (void)state;
    EXPECT_SCRIPT(STP_BOOK "NEW 4 5 X BUY LIMIT 10.01 6 STP=CO\n",
                  STP_HEAD "TRADE X 10.00 2 1 4\nCANCELED 2 2 STP\nTRADE X 10.01 2 3 4\n"
                           "BOOK X BUY 10.01 4:2\n");
}

static void stp_cancel_both(void **state)
{
    (void)state;
    EXPECT_SCRIPT(STP_BOOK "NEW 4 5 X BUY LIMIT 10.01 6 STP=CB\n",
                  STP_HEAD "TRADE X 10.00 2 1 4\nCANCELED 2 2 STP\nCANCELED 4 4 STP\n"
                           "BOOK X SELL 10.01 3:2\n");
}

static void stp_none_trades_with_itself(void **state)
{
    (void)state;
    EXPECT_SCRIPT(STP_BOOK "NEW 4 5 X BUY LIMIT 10.01 6 STP=NONE\n",
                  STP_HEAD "TRADE X 10.00 2 1 4\nTRADE X 10.00 2 2 4\nTRADE X 10.01 2 3 4\n");
}

static void stp_on_sell_side_and_ioc(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 5 X BUY LIMIT 10.00 2\n"
                    "NEW 2 6 X BUY LIMIT 9.99 2\n"
                    "NEW 3 5 X SELL LIMIT 9.99 3 IOC\n"         /* CN: nothing trades */
                    "NEW 4 5 X SELL LIMIT 9.99 3 IOC STP=CO\n", /* CO: own bid goes, then trade */
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "ACCEPTED 3\nCANCELED 3 3 STP\n"
                  "ACCEPTED 4\nCANCELED 1 2 STP\nTRADE X 9.99 2 2 4\nCANCELED 4 1 IOC\n");
}

static void stp_options_in_any_order(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 5 X BUY LIMIT 10.00 2\n"
                    "NEW 2 5 X SELL LIMIT 10.00 3 STP=CO IOC\n",
                  "ACCEPTED 1\nACCEPTED 2\nCANCELED 1 2 STP\nCANCELED 2 3 IOC\n");
}

/* ---- cancel ---------------------------------------------------------------- */

static void cancel_rules(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "CANCEL 1 2\n"
                    "CANCEL 1 1\n"
                    "CANCEL 1 1\n"
                    "CANCEL 99 1\n"
                    "NEW 2 1 X BUY LIMIT 10.00 5\n"
                    "NEW 3 2 X SELL LIMIT 10.00 2\n"
                    "CANCEL 2 1\n"
                    "NEW 4 1 X BUY LIMIT 10.00 5\n"
                    "NEW 5 2 X SELL LIMIT 10.00 5\n"
                    "CANCEL 4 1\n",
                  "ACCEPTED 1\n"
                  "REJECTED 1 NOT_OWNER\n"
                  "CANCELED 1 5 USER\n"
                  "REJECTED 1 UNKNOWN_ORDER\n"
                  "REJECTED 99 UNKNOWN_ORDER\n"
                  "ACCEPTED 2\nACCEPTED 3\nTRADE X 10.00 2 2 3\n"
                  "CANCELED 2 3 USER\n" /* what is left */
                  "ACCEPTED 4\nACCEPTED 5\nTRADE X 10.00 5 4 5\n"
                  "REJECTED 4 UNKNOWN_ORDER\n"); /* filled: gone */
}

/* ---- amend ----------------------------------------------------------------- */

static void amend_down_in_place_keeps_priority(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "NEW 2 2 X BUY LIMIT 10.00 5\n"
                    "AMEND 1 1 10.00 3\n"
                    "AMEND 2 2 10.00 5\n" /* unchanged: still in place */
                    "NEW 3 3 X SELL LIMIT 10.00 4\n",
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "AMENDED 1 10.00 3\n"
                  "AMENDED 2 10.00 5\n"
                  "ACCEPTED 3\nTRADE X 10.00 3 1 3\nTRADE X 10.00 1 2 3\n"
                  "BOOK X BUY 10.00 2:4\n");
}

static void amend_up_loses_priority(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "NEW 2 2 X BUY LIMIT 10.00 5\n"
                    "AMEND 1 1 10.00 6\n",
                  "ACCEPTED 1\nACCEPTED 2\nAMENDED 1 10.00 6\n"
                  "BOOK X BUY 10.00 2:5 1:6\n");
}

static void amend_alone_up_keeps_level(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.00 5\n"
                    "AMEND 1 1 10.00 9\n"
                    "NEW 2 2 X BUY LIMIT 10.00 9\n",
                  "ACCEPTED 1\nAMENDED 1 10.00 9\nACCEPTED 2\nTRADE X 10.00 9 1 2\n");
}

static void amend_price_loses_priority(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "NEW 2 2 X BUY LIMIT 10.01 5\n"
                    "AMEND 1 1 10.01 5\n"
                    "NEW 3 3 X BUY LIMIT 10.02 1\n"
                    "AMEND 3 3 10.01 1\n"
                    "AMEND 2 2 10.01 4\n", /* smaller at same price: in place */
                  "ACCEPTED 1\nACCEPTED 2\nAMENDED 1 10.01 5\n"
                  "ACCEPTED 3\nAMENDED 3 10.01 1\nAMENDED 2 10.01 4\n"
                  "BOOK X BUY 10.01 2:4 1:5 3:1\n");
}

static void amend_into_cross_trades_then_rests(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.02 3\n"
                    "NEW 2 2 X SELL LIMIT 10.03 3\n"
                    "NEW 3 3 X BUY LIMIT 10.00 5\n"
                    "AMEND 3 3 10.02 5\n",
                  "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\n"
                  "AMENDED 3 10.02 5\nTRADE X 10.02 3 1 3\n"
                  "BOOK X BUY 10.02 3:2\n"
                  "BOOK X SELL 10.03 2:3\n");
}

static void amend_into_cross_fully_filled(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.02 3\n"
                    "NEW 2 3 X BUY LIMIT 10.00 5\n"
                    "AMEND 2 3 10.02 2\n"
                    "CANCEL 2 3\n",
                  "ACCEPTED 1\nACCEPTED 2\n"
                  "AMENDED 2 10.02 2\nTRADE X 10.02 2 1 2\n"
                  "REJECTED 2 UNKNOWN_ORDER\n"
                  "BOOK X SELL 10.02 1:1\n");
}

static void amend_into_cross_uses_its_stp(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 3 X SELL LIMIT 10.02 3\n"
                    "NEW 2 3 X BUY LIMIT 10.00 5 STP=CO\n"
                    "AMEND 2 3 10.02 5\n",
                  "ACCEPTED 1\nACCEPTED 2\nAMENDED 2 10.02 5\nCANCELED 1 3 STP\n"
                  "BOOK X BUY 10.02 2:5\n");
    EXPECT_SCRIPT(X "NEW 1 3 X SELL LIMIT 10.02 3\n"
                    "NEW 2 3 X BUY LIMIT 10.00 5\n"
                    "AMEND 2 3 10.02 5\n"
                    "CANCEL 2 3\n",
                  "ACCEPTED 1\nACCEPTED 2\nAMENDED 2 10.02 5\nCANCELED 2 5 STP\n"
                  "REJECTED 2 UNKNOWN_ORDER\n"
                  "BOOK X SELL 10.02 1:3\n");
}

static void amend_post_only(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X SELL LIMIT 10.02 3\n"
                    "NEW 2 2 X BUY LIMIT 10.00 5 POST\n"
                    "AMEND 2 2 10.02 5\n"
                    "AMEND 2 2 10.01 5\n",
                  "ACCEPTED 1\nACCEPTED 2\nREJECTED 2 POST_ONLY\nAMENDED 2 10.01 5\n"
                  "BOOK X BUY 10.01 2:5\n"
                  "BOOK X SELL 10.02 1:3\n");
}

static void amend_rejects_in_order(void **state)
{
    (void)state;
    EXPECT_SCRIPT(Y "NEW 1 1 Y BUY LIMIT 10.00 50\n"
                    "AMEND 2 1 10.00 50\n"
                    "AMEND 1 2 0 0\n"
                    "AMEND 1 1 10.001 5\n"
                    "AMEND 1 1 10.001 50\n"
                    "AMEND 1 1 12.00 50\n"
                    "AMEND 1 1 - 50\n"
                    "AMEND 1 1 10.00 0\n"
                    "AMEND 1 1 10.00 10\n"
                    "AMEND 1 1 10.00 110\n"
                    "AMEND 1 1 0 50\n"
                    "AMEND 1 1 -1 50\n"
                    "AMEND 1 1 8.99 50\n"
                    "AMEND 1 1 11.00 100\n",
                  "ACCEPTED 1\n"
                  "REJECTED 2 UNKNOWN_ORDER\n"
                  "REJECTED 1 NOT_OWNER\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "REJECTED 1 INVALID_PRICE\n"
                  "REJECTED 1 PRICE_BAND\n"
                  "REJECTED 1 INVALID_PRICE\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "REJECTED 1 INVALID_PRICE\n"
                  "REJECTED 1 INVALID_PRICE\n"
                  "REJECTED 1 PRICE_BAND\n"
                  "AMENDED 1 11.00 100\n"
                  "BOOK Y BUY 11.00 1:100\n");
}

/* min counts what the order filled: a partly filled order's remainder below
 * min may stay, be repriced or be reduced; an order that filled nothing may
 * not go below min, and max still bounds the remainder. */
static void amend_below_min_counts_what_filled(void **state)
{
    (void)state;
    EXPECT_SCRIPT(Y "NEW 1 1 Y SELL LIMIT 10.00 50\n"
                    "NEW 2 2 Y BUY LIMIT 10.00 40\n"
                    "AMEND 1 1 10.00 10\n"
                    "AMEND 1 1 10.50 10\n"
                    "NEW 3 1 Y SELL LIMIT 10.20 20\n"
                    "AMEND 3 1 10.20 10\n"
                    "AMEND 1 1 10.50 0\n"
                    "AMEND 1 1 10.50 110\n"
                    "NEW 4 3 Y BUY LIMIT 10.20 30\n" /* fills 3, then 10 of 4 rest */
                    "AMEND 4 3 10.10 10\n",          /* 20 filled + 10: taken */
                  "ACCEPTED 1\nACCEPTED 2\nTRADE Y 10.00 40 1 2\n"
                  "AMENDED 1 10.00 10\n"
                  "AMENDED 1 10.50 10\n"
                  "ACCEPTED 3\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "REJECTED 1 INVALID_QTY\n"
                  "ACCEPTED 4\nTRADE Y 10.20 20 3 4\n"
                  "AMENDED 4 10.10 10\n"
                  "BOOK Y BUY 10.10 4:10\n"
                  "BOOK Y SELL 10.50 1:10\n");
}

/* ---- new-order checks ------------------------------------------------------ */

static void new_order_rejects_in_order(void **state)
{
    (void)state;
    EXPECT_SCRIPT(Y "NEW 1 1 Z BUY LIMIT 10.001 5 FOK\n"
                    "NEW 2 1 Y BUY LIMIT 10.00 50\n"
                    "NEW 2 1 Y BUY MARKET 10.001 5 GTC\n"
                    "NEW 3 1 Y BUY MARKET 10.001 5 GTC\n"
                    "NEW 3 1 Y BUY LIMIT 12.001 5\n"
                    "NEW 3 1 Y BUY LIMIT 12.001 50\n"
                    "NEW 3 1 Y BUY LIMIT 12.00 50\n"
                    "NEW 3 1 Y BUY LIMIT - 50\n"
                    "NEW 3 1 Y BUY LIMIT 0 50\n"
                    "NEW 3 1 Y BUY LIMIT -10.00 50\n"
                    "NEW 3 1 Y BUY LIMIT 10.00 0\n"
                    "NEW 3 1 Y BUY LIMIT 10.00 -50\n"
                    "NEW 3 1 Y BUY LIMIT 10.00 10\n"
                    "NEW 3 1 Y BUY LIMIT 10.00 110\n"
                    "NEW 3 1 Y BUY LIMIT 10.00 100\n"
                    "NEW 4 1 Y SELL MARKET - 20 POST\n"
                    "NEW 5 1 y BUY LIMIT 10.00 50\n"
                    "NEW 6 1 Y.SH.EXTRA.LONG.NAME BUY LIMIT 10.00 50\n",
                  "REJECTED 1 UNKNOWN_SYMBOL\n"
                  "ACCEPTED 2\n"
                  "REJECTED 2 DUPLICATE_ID\n"
                  "REJECTED 3 INVALID_TIF\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "REJECTED 3 INVALID_PRICE\n"
                  "REJECTED 3 PRICE_BAND\n"
                  "REJECTED 3 INVALID_PRICE\n"
                  "REJECTED 3 INVALID_PRICE\n"
                  "REJECTED 3 INVALID_PRICE\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "REJECTED 3 INVALID_QTY\n"
                  "ACCEPTED 3\n"
                  "REJECTED 4 INVALID_TIF\n"
                  "REJECTED 5 UNKNOWN_SYMBOL\n"
                  "REJECTED 6 UNKNOWN_SYMBOL\n"
                  "BOOK Y BUY 10.00 2:50 3:100\n");
}

static void min_quantity_not_a_lot_multiple(void **state)
{
    (void)state;
    /* min 150 with lot 100: the smallest allowed quantity is 200. */
    EXPECT_SCRIPT("INSTRUMENT A tick=0.01 lot=100 min=150 max=1050\n"
                  "NEW 1 1 A BUY LIMIT 10.00 100\n"
                  "NEW 2 1 A BUY LIMIT 10.00 200\n"
                  "NEW 3 1 A BUY LIMIT 10.00 1000\n"
                  "NEW 4 1 A BUY LIMIT 10.00 1100\n",
                  "REJECTED 1 INVALID_QTY\nACCEPTED 2\nACCEPTED 3\nREJECTED 4 INVALID_QTY\n"
                  "BOOK A BUY 10.00 2:200 3:1000\n");
}

static void band_rounding(void **state)
{
    (void)state;
    /* 10.03 * 1.1 = 11.033 -> 11.03; 10.03 * 0.9 = 9.027 -> 9.03 */
    EXPECT_SCRIPT("INSTRUMENT A tick=0.01 lot=100 ref=10.03 band=10\n"
                  "NEW 1 1 A BUY LIMIT 11.03 100\n"
                  "NEW 2 1 A BUY LIMIT 11.04 100\n"
                  "NEW 3 1 A BUY LIMIT 9.03 100\n"
                  "NEW 4 1 A BUY LIMIT 9.02 100\n",
                  "ACCEPTED 1\nREJECTED 2 PRICE_BAND\nACCEPTED 3\nREJECTED 4 PRICE_BAND\n"
                  "BOOK A BUY 11.03 1:100\nBOOK A BUY 9.03 3:100\n");
    /* Half up: 10.05 * 1.1 = 11.055 -> 11.06; 10.05 * 0.9 = 9.045 -> 9.05 */
    EXPECT_SCRIPT("INSTRUMENT B tick=0.01 lot=1 ref=10.05 band=10\n"
                  "NEW 1 1 B BUY LIMIT 11.06 1\n"
                  "NEW 2 1 B BUY LIMIT 11.07 1\n"
                  "NEW 3 1 B BUY LIMIT 9.05 1\n"
                  "NEW 4 1 B BUY LIMIT 9.04 1\n",
                  "ACCEPTED 1\nREJECTED 2 PRICE_BAND\nACCEPTED 3\nREJECTED 4 PRICE_BAND\n"
                  "BOOK B BUY 11.06 1:1\nBOOK B BUY 9.05 3:1\n");
    /* A decimal percentage and a coarse tick: 30000 * 1.075 = 32250, 27750 */
    EXPECT_SCRIPT("INSTRUMENT C tick=0.5 lot=0.001 ref=30000 band=7.5\n"
                  "NEW 1 1 C BUY LIMIT 32250 0.001\n"
                  "NEW 2 1 C BUY LIMIT 32250.5 0.001\n"
                  "NEW 3 1 C BUY LIMIT 27750 0.001\n"
                  "NEW 4 1 C BUY LIMIT 27749.5 0.001\n",
                  "ACCEPTED 1\nREJECTED 2 PRICE_BAND\nACCEPTED 3\nREJECTED 4 PRICE_BAND\n"
                  "BOOK C BUY 32250.0 1:0.001\nBOOK C BUY 27750.0 3:0.001\n");
}

static void band_lower_limit_at_least_one_tick(void **state)
{
    (void)state;
    /* band 150%: lower = -0.50 -> one tick; band 100%: lower = 0 -> one tick */
    EXPECT_SCRIPT("INSTRUMENT C tick=0.01 lot=1 ref=1.00 band=150\n"
                  "INSTRUMENT D tick=0.01 lot=1 ref=1.00 band=100\n"
                  "NEW 1 1 C BUY LIMIT 0.01 1\n"
                  "NEW 2 1 C BUY LIMIT 2.50 1\n"
                  "NEW 3 1 C BUY LIMIT 2.51 1\n"
                  "NEW 4 1 D BUY LIMIT 0.01 1\n"
                  "NEW 5 1 D BUY LIMIT 2.00 1\n"
                  "NEW 6 1 D BUY LIMIT 2.01 1\n",
                  "ACCEPTED 1\nACCEPTED 2\nREJECTED 3 PRICE_BAND\n"
                  "ACCEPTED 4\nACCEPTED 5\nREJECTED 6 PRICE_BAND\n"
                  "BOOK C BUY 2.50 2:1\nBOOK C BUY 0.01 1:1\n"
                  "BOOK D BUY 2.00 5:1\nBOOK D BUY 0.01 4:1\n");
}

static void decimal_lots_and_ticks(void **state)
{
    (void)state;
    EXPECT_SCRIPT("INSTRUMENT BTC-USDT tick=0.5 lot=0.001\n"
                  "NEW 1 1 BTC-USDT SELL LIMIT 30000.5 0.0015\n"
                  "NEW 2 1 BTC-USDT SELL LIMIT 30000.25 0.002\n"
                  "NEW 3 1 BTC-USDT SELL LIMIT 30000.5 0.002\n"
                  "NEW 4 2 BTC-USDT BUY LIMIT 30001 0.0010\n"
                  "NEW 5 2 BTC-USDT BUY LIMIT 29999.50 1.5\n",
                  "REJECTED 1 INVALID_QTY\nREJECTED 2 INVALID_PRICE\nACCEPTED 3\n"
                  "ACCEPTED 4\nTRADE BTC-USDT 30000.5 0.001 3 4\nACCEPTED 5\n"
                  "BOOK BTC-USDT BUY 29999.5 5:1.500\n"
                  "BOOK BTC-USDT SELL 30000.5 3:0.001\n");
}

static void lots_of_hundred(void **state)
{
    (void)state;
    EXPECT_SCRIPT("INSTRUMENT 600519.SH tick=0.01 lot=100\n"
                  "NEW 1 1 600519.SH BUY LIMIT 1700.00 500\n"
                  "NEW 2 2 600519.SH SELL LIMIT 1699.99 150\n"
                  "NEW 3 2 600519.SH SELL LIMIT 1699.99 200\n",
                  "ACCEPTED 1\nREJECTED 2 INVALID_QTY\nACCEPTED 3\nTRADE 600519.SH 1700.00 200 1 3\n"
                  "BOOK 600519.SH BUY 1700.00 1:300\n");
}

static void id_reuse_after_fill_and_cancel(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                    "NEW 1 2 X SELL LIMIT 10.05 5\n"
                    "NEW 2 2 X SELL LIMIT 10.00 5\n"
                    "NEW 1 3 X SELL LIMIT 10.05 5\n" /* free again after its fill */
                    "CANCEL 1 3\n"
                    "NEW 1 4 X BUY LIMIT 9.00 1\n" /* free again after the cancel */
                    "NEW 7 1 X BUY LIMIT 8.00 1 IOC\n"
                    "NEW 7 1 X BUY LIMIT 8.00 1 IOC\n" /* an IOC never rests */
                    "NEW 1 1 X SELL LIMIT 9.50 1 IOC\n",
                  "ACCEPTED 1\nREJECTED 1 DUPLICATE_ID\nACCEPTED 2\nTRADE X 10.00 5 1 2\n"
                  "ACCEPTED 1\nCANCELED 1 5 USER\nACCEPTED 1\n"
                  "ACCEPTED 7\nCANCELED 7 1 IOC\nACCEPTED 7\nCANCELED 7 1 IOC\n"
                  "REJECTED 1 DUPLICATE_ID\n"
                  "BOOK X BUY 9.00 1:1\n");
}

/* ---- capacity -------------------------------------------------------------- */

static void capacity_orders(void **state)
{
    (void)state;
    xt_engine_config_t cfg = {.max_orders = 2, .max_levels = 8};
    EXPECT_SCRIPT_CFG(&cfg,
                      X "NEW 1 1 X BUY LIMIT 10.00 1\n"
                        "NEW 2 1 X BUY LIMIT 10.01 1\n"
                        "NEW 3 1 X BUY LIMIT 10.00 1\n"  /* no room: rejected */
                        "NEW 4 2 X SELL LIMIT 10.01 1\n" /* fills fully: needs no room */
                        "NEW 5 2 X SELL LIMIT 10.05 1\n"
                        "NEW 6 2 X SELL LIMIT 10.06 1\n"
                        "NEW 7 2 X SELL LIMIT 10.00 3 IOC\n" /* IOC never needs room */
                        "NEW 8 2 X SELL LIMIT 10.06 1\n"
                        "NEW 9 2 X SELL LIMIT 10.07 1 POST\n"
                        "NEW 10 1 X BUY LIMIT 10.05 1 POST\n" /* crosses: cancelled, needs no room */
                        "CANCEL 8 2\n"
                        "NEW 9 2 X SELL LIMIT 10.07 1 POST\n",
                      "ACCEPTED 1\nACCEPTED 2\nREJECTED 3 CAPACITY\n"
                      "ACCEPTED 4\nTRADE X 10.01 1 2 4\n"
                      "ACCEPTED 5\nREJECTED 6 CAPACITY\n"
                      "ACCEPTED 7\nTRADE X 10.00 1 1 7\nCANCELED 7 2 IOC\n"
                      "ACCEPTED 8\nREJECTED 9 CAPACITY\n"
                      "ACCEPTED 10\nCANCELED 10 1 POST_ONLY\n"
                      "CANCELED 8 1 USER\nACCEPTED 9\n"
                      "BOOK X SELL 10.05 5:1\nBOOK X SELL 10.07 9:1\n");
}

static void capacity_freed_by_its_own_trades(void **state)
{
    (void)state;
    /* Full, but what the order's own matching frees is enough for it. */
    xt_engine_config_t cfg = {.max_orders = 1, .max_levels = 1};
    EXPECT_SCRIPT_CFG(&cfg,
                      X "NEW 1 1 X SELL LIMIT 10.00 1\n"
                        "NEW 2 2 X BUY LIMIT 10.00 2\n"         /* the fill frees node and level */
                        "NEW 3 2 X SELL LIMIT 10.00 5 STP=CO\n" /* CO frees them */
                        "NEW 4 1 X BUY LIMIT 10.00 1\n"         /* fills fully: needs nothing */
                        "NEW 5 2 X BUY LIMIT 10.00 1\n"         /* CN stops it: never rests */
                        "NEW 6 2 X BUY LIMIT 9.00 1\n",         /* would rest: no room */
                      "ACCEPTED 1\nACCEPTED 2\nTRADE X 10.00 1 1 2\n"
                      "ACCEPTED 3\nCANCELED 2 1 STP\n"
                      "ACCEPTED 4\nTRADE X 10.00 1 3 4\n"
                      "ACCEPTED 5\nCANCELED 5 1 STP\n"
                      "REJECTED 6 CAPACITY\n"
                      "BOOK X SELL 10.00 3:4\n");
}

static void capacity_levels_and_amend(void **state)
{
    (void)state;
    xt_engine_config_t cfg = {.max_orders = 10, .max_levels = 1};
    EXPECT_SCRIPT_CFG(&cfg,
                      X "NEW 1 1 X BUY LIMIT 10.00 1\n"
                        "NEW 2 1 X BUY LIMIT 10.00 1\n"
                        "NEW 3 1 X BUY LIMIT 9.99 1\n"
                        "NEW 4 2 X SELL LIMIT 10.01 1 POST\n"
                        "AMEND 2 1 9.99 1\n"  /* its level stays: no level for 9.99 */
                        "AMEND 1 1 10.00 5\n" /* same level: fine */
                        "CANCEL 2 1\n"
                        "AMEND 1 1 9.99 5\n" /* alone: its level is freed first */
                        "AMEND 1 1 9.99 7\n",
                      "ACCEPTED 1\nACCEPTED 2\nREJECTED 3 CAPACITY\nREJECTED 4 CAPACITY\n"
                      "REJECTED 2 CAPACITY\nAMENDED 1 10.00 5\nCANCELED 2 1 USER\n"
                      "AMENDED 1 9.99 5\nAMENDED 1 9.99 7\n"
                      "BOOK X BUY 9.99 1:7\n");
}

static void capacity_amend_freed_by_trades(void **state)
{
    (void)state;
    /* Amending into a cross that empties the only other level makes room. */
    xt_engine_config_t cfg = {.max_orders = 10, .max_levels = 2};
    EXPECT_SCRIPT_CFG(&cfg,
                      X "NEW 1 1 X SELL LIMIT 10.02 1\n"
                        "NEW 2 2 X BUY LIMIT 10.00 1\n"
                        "NEW 3 2 X BUY LIMIT 10.00 1\n"
                        "AMEND 3 2 10.01 1\n"  /* no third level */
                        "AMEND 3 2 10.02 3\n", /* trades 1, frees 10.02, rests there */
                      "ACCEPTED 1\nACCEPTED 2\nACCEPTED 3\nREJECTED 3 CAPACITY\n"
                      "AMENDED 3 10.02 3\nTRADE X 10.02 1 1 3\n"
                      "BOOK X BUY 10.02 3:2\nBOOK X BUY 10.00 2:1\n");
}

/* ---- output formats --------------------------------------------------------- */

static void quantities_print_in_lot_decimals(void **state)
{
    (void)state;
    EXPECT_SCRIPT("INSTRUMENT E tick=0.001 lot=0.01\n"
                  "NEW 1 1 E SELL LIMIT 1.5 2.5\n"
                  "NEW 2 2 E BUY LIMIT 1.500 0.5 IOC\n"
                  "CANCEL 1 1\n",
                  "ACCEPTED 1\nACCEPTED 2\nTRADE E 1.500 0.50 1 2\nCANCELED 1 2.00 USER\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rest_and_book_order),
        cmocka_unit_test(fifo_within_level),
        cmocka_unit_test(fifo_after_cancel_in_middle),
        cmocka_unit_test(fifo_after_cancel_at_head_and_tail),
        cmocka_unit_test(sweep_at_maker_prices),
        cmocka_unit_test(sell_sweep_at_maker_prices),
        cmocka_unit_test(marketable_limit_stops_at_its_price),
        cmocka_unit_test(ioc_remainder_cancelled),
        cmocka_unit_test(fok_fills_across_levels),
        cmocka_unit_test(fok_not_fillable_leaves_book_alone),
        cmocka_unit_test(fok_follows_stp),
        cmocka_unit_test(fok_self_trade_allowed_with_stp_none),
        cmocka_unit_test(fok_enough_before_own_order),
        cmocka_unit_test(post_only),
        cmocka_unit_test(market_orders),
        cmocka_unit_test(market_fok_executes),
        cmocka_unit_test(market_trades_inside_band),
        cmocka_unit_test(market_tif_and_price_rules),
        cmocka_unit_test(stp_cancel_newest),
        cmocka_unit_test(stp_cancel_oldest),
        cmocka_unit_test(stp_cancel_both),
        cmocka_unit_test(stp_none_trades_with_itself),
        cmocka_unit_test(stp_on_sell_side_and_ioc),
        cmocka_unit_test(stp_options_in_any_order),
        cmocka_unit_test(cancel_rules),
        cmocka_unit_test(amend_down_in_place_keeps_priority),
        cmocka_unit_test(amend_up_loses_priority),
        cmocka_unit_test(amend_alone_up_keeps_level),
        cmocka_unit_test(amend_price_loses_priority),
        cmocka_unit_test(amend_into_cross_trades_then_rests),
        cmocka_unit_test(amend_into_cross_fully_filled),
        cmocka_unit_test(amend_into_cross_uses_its_stp),
        cmocka_unit_test(amend_post_only),
        cmocka_unit_test(amend_below_min_counts_what_filled),
        cmocka_unit_test(amend_rejects_in_order),
        cmocka_unit_test(new_order_rejects_in_order),
        cmocka_unit_test(min_quantity_not_a_lot_multiple),
        cmocka_unit_test(band_rounding),
        cmocka_unit_test(band_lower_limit_at_least_one_tick),
        cmocka_unit_test(decimal_lots_and_ticks),
        cmocka_unit_test(lots_of_hundred),
        cmocka_unit_test(id_reuse_after_fill_and_cancel),
        cmocka_unit_test(capacity_orders),
        cmocka_unit_test(capacity_freed_by_its_own_trades),
        cmocka_unit_test(capacity_levels_and_amend),
        cmocka_unit_test(capacity_amend_freed_by_trades),
        cmocka_unit_test(quantities_print_in_lot_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
