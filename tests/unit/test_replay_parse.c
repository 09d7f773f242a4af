/* test_replay_parse.c - the replay text format: what is well formed, what
 * stops the run with "line N: <reason>", and the event and book output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/replay.h"
#include "script.h"
#include "xt/error.h"

#define X "INSTRUMENT X tick=0.01 lot=1\n"

/* Runs script and checks that it stops at line `line` with a reason that
 * contains `reason`, after printing `before`. */
static void expect_error(const char *script, const char *before, int line, const char *reason)
{
    strbuf_t out = {0};
    int got = script_run(script, NULL, 1, &out);
    assert_int_equal(got, line);
    char head[32];
    snprintf(head, sizeof head, "line %d: ", line);
    const char *err = strstr(sb_str(&out), head);
    assert_non_null(err);
    assert_non_null(strstr(err, reason));
    assert_int_equal((size_t)(err - sb_str(&out)), strlen(before));
    assert_memory_equal(sb_str(&out), before, strlen(before));
    sb_free(&out);
}

static void comments_blanks_and_spacing(void **state)
{
    (void)state;
    EXPECT_SCRIPT("# a comment\n"
                  "\n"
                  "   \t  \n"
                  "INSTRUMENT X   tick=0.01\tlot=1   # trailing comment\n"
                  "  NEW 1 1 X BUY LIMIT 10.00 5  \r\n"
                  "NEW 2 1 X BUY LIMIT 10.00 5#glued comment\n"
                  "CANCEL 2 1",
                  "ACCEPTED 1\nACCEPTED 2\nCANCELED 2 5 USER\nBOOK X BUY 10.00 1:5\n");
}

static void instrument_fields_any_order(void **state)
{
    (void)state;
    EXPECT_SCRIPT("INSTRUMENT Q band=10 lot=1 ref=10.00 max=9 min=2 tick=0.01\n"
                  "NEW 1 1 Q BUY LIMIT 11.01 2\n"
                  "NEW 2 1 Q BUY LIMIT 11.00 1\n"
                  "NEW 3 1 Q BUY LIMIT 11.00 10\n"
                  "NEW 4 1 Q BUY LIMIT 11.00 9\n",
                  "REJECTED 1 PRICE_BAND\nREJECTED 2 INVALID_QTY\nREJECTED 3 INVALID_QTY\nACCEPTED 4\n"
                  "BOOK Q BUY 11.00 4:9\n");
}

static void malformed_lines(void **state)
{
    (void)state;
    expect_error("FOO 1 2\n", "", 1, "unknown command 'FOO'");
    expect_error("new 1 2\n", "", 1, "unknown command");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00\n", "", 2, "NEW takes 8 to 10 fields, got 7");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5 GTC STP=CN EXTRA\n", "", 2, "NEW takes 8 to 10 fields, got 11");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5\nCANCEL 1\n", "ACCEPTED 1\n", 3, "CANCEL takes 3 fields, got 2");
    expect_error(X "AMEND 1 1 10.00\n", "", 2, "AMEND takes 5 fields, got 4");
    expect_error(X "NEW x 1 X BUY LIMIT 10.00 5\n", "", 2, "bad order id 'x'");
    expect_error(X "NEW 0 1 X BUY LIMIT 10.00 5\n", "", 2, "order id must be");
    expect_error(X "NEW -3 1 X BUY LIMIT 10.00 5\n", "", 2, "bad order id");
    expect_error(X "NEW 9223372036854775808 1 X BUY LIMIT 10.00 5\n", "", 2, "order id must be");
    expect_error(X "NEW 1 4294967296 X BUY LIMIT 10.00 5\n", "", 2, "account must be");
    expect_error(X "NEW 1 0 X BUY LIMIT 10.00 5\n", "", 2, "account must be");
    expect_error(X "NEW 1 1 X HOLD LIMIT 10.00 5\n", "", 2, "bad side");
    expect_error(X "NEW 1 1 X BUY STOP 10.00 5\n", "", 2, "bad order type");
    expect_error(X "NEW 1 1 X BUY LIMIT ten 5\n", "", 2, "bad price 'ten'");
    expect_error(X "NEW 1 1 X BUY LIMIT 1e3 5\n", "", 2, "bad price");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 -\n", "", 2, "bad quantity '-'");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 99999999999999999999\n", "", 2, "quantity out of range");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5 DAY\n", "", 2, "bad option");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5 IOC FOK\n", "", 2, "time in force given twice");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5 STP=CN STP=CO\n", "", 2, "STP given twice");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5 STP=XX\n", "", 2, "bad option");
    expect_error("INSTRUMENT\n", "", 1, "needs a symbol");
    expect_error("INSTRUMENT X tick=0.01\n", "", 1, "needs a symbol, tick= and lot=");
    expect_error("INSTRUMENT X tick=0.01 min=1 max=2\n", "", 1, "needs tick= and lot=");
    expect_error("INSTRUMENT X tick=0 lot=1\n", "", 1, "tick must be > 0");
    expect_error("INSTRUMENT X tick=0.01 lot=-1\n", "", 1, "lot must be > 0");
    expect_error("INSTRUMENT X tick=0.01 lot=1 ref=10\n", "", 1, "ref= and band= go together");
    expect_error("INSTRUMENT X tick=0.01 lot=1 ref=10 band=-1\n", "", 1, "band must be >= 0");
    expect_error("INSTRUMENT X tick=0.01 lot=1 size=3\n", "", 1, "unknown INSTRUMENT field");
    expect_error("INSTRUMENT X tick=0.01 lot=1 lot=2\n", "", 1, "repeated INSTRUMENT field");
    expect_error("INSTRUMENT X tick=0.01 lot=1 min=5 max=4\n", "", 1, "max is below min");
    expect_error("INSTRUMENT X tick=0.01 lot=100 min=150 max=190\n", "", 1, "invalid instrument definition");
    expect_error("INSTRUMENT BAD/SYM tick=0.01 lot=1\n", "", 1, "bad symbol");
    expect_error("INSTRUMENT ABCDEFGHIJKLMNOPQ tick=0.01 lot=1\n", "", 1, "bad symbol");
    expect_error(X "INSTRUMENT X tick=0.001 lot=1\n", "", 2,
                 "instrument defined again with another tick, lot, min or max (only ref and band may change)");
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5\nNEW 2 1 X BUY\x01 LIMIT 10.00 5\n", "ACCEPTED 1\n", 3,
                 "control character");
}

static void first_error_stops_the_run(void **state)
{
    (void)state;
    expect_error(X "NEW 1 1 X BUY LIMIT 10.00 5\n"
                   "NEW 2 2 X SELL LIMIT 10.00 2\n"
                   "BOGUS\n"
                   "NEW 3 1 X SELL LIMIT 10.00 2\n",
                 "ACCEPTED 1\nACCEPTED 2\nTRADE X 10.00 2 1 2\n", 4, "unknown command");
}

static void rule_breaks_are_rejects_not_errors(void **state)
{
    (void)state;
    EXPECT_SCRIPT(X "NEW 1 1 NOPE BUY LIMIT 10.00 5\n"
                    "NEW 2 1 X BUY LIMIT 10.001 5\n"
                    "NEW 3 1 X BUY LIMIT 10.00 1.5\n"
                    "CANCEL 77 1\n"
                    "AMEND 77 1 10.00 5\n"
                    "AMEND 77 1 - 5\n",
                  "REJECTED 1 UNKNOWN_SYMBOL\nREJECTED 2 INVALID_PRICE\nREJECTED 3 INVALID_QTY\n"
                  "REJECTED 77 UNKNOWN_ORDER\nREJECTED 77 UNKNOWN_ORDER\nREJECTED 77 UNKNOWN_ORDER\n");
}

static void parse_fills_fields(void **state)
{
    (void)state;
    xt_replay_line_t l;
    char err[XT_REPLAY_ERRSZ];
    const char *s = "NEW 42 7 BTC-USDT SELL LIMIT 30000.5 0.002 STP=CB FOK";
    assert_int_equal(xt_replay_parse(s, strlen(s), &l, err), 0);
    assert_int_equal(l.kind, XT_RL_NEW);
    assert_int_equal(l.id, 42);
    assert_int_equal(l.account, 7);
    assert_string_equal(l.symbol, "BTC-USDT");
    assert_int_equal(l.side, XT_SELL);
    assert_int_equal(l.type, XT_LIMIT);
    assert_int_equal(l.tif, XT_FOK);
    assert_int_equal(l.stp, XT_STP_CB);
    assert_true(l.has_price);
    assert_int_equal(l.price.m, 300005);
    assert_int_equal(l.price.scale, 1);
    assert_int_equal(l.qty.m, 2);
    assert_int_equal(l.qty.scale, 3);
    s = "   # only a comment";
    assert_int_equal(xt_replay_parse(s, strlen(s), &l, err), 0);
    assert_int_equal(l.kind, XT_RL_BLANK);
    s = "AMEND 9223372036854775807 4294967295 - 1";
    assert_int_equal(xt_replay_parse(s, strlen(s), &l, err), 0);
    assert_int_equal(l.id, INT64_MAX);
    assert_int_equal(l.account, UINT32_MAX);
    assert_false(l.has_price);
}

static void record_seq(void *ctx, const xt_event_batch_t *b)
{
    *(uint64_t *)ctx = b->seq;
}

static void sequence_numbers_count_commands(void **state)
{
    (void)state;
    /* Blank lines and comments take no sequence number; a bad line consumes
     * none; each command gets the next one, stamped on its events. */
    uint64_t last_ev_seq = 0, seq = 0;
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, NULL, record_seq, &last_ev_seq), 0);
    char err[XT_REPLAY_ERRSZ];
    const char *lines[] = {"# comment", "", X, "NEW 1 1 X BUY LIMIT nope 5", "NEW 1 1 X BUY LIMIT 10.00 5"};
    int want_rc[] = {0, 0, 0, XT_EPARSE, 0};
    uint64_t want_seq[] = {0, 0, 1, 1, 2};
    for (int i = 0; i < 5; i++) {
        size_t n = strcspn(lines[i], "\n");
        assert_int_equal(xt_replay_apply_line(&e, lines[i], n, &seq, i + 1, err), want_rc[i]);
        assert_int_equal(seq, want_seq[i]);
    }
    assert_int_equal(last_ev_seq, 2);
    xt_engine_destroy(&e);
}

/* SESSION_END, which the journal holds (the end of a gateway session),
 * parses, takes a sequence number and no event, and a dump prints it as
 * the same line: a server's journal dumped and replayed ends at its own
 * sequence number and state hash. */
static void session_end_round_trips(void **state)
{
    (void)state;
    xt_replay_line_t l;
    char err[XT_REPLAY_ERRSZ], line[XT_REPLAY_LINESZ];
    const char *s = "SESSION_END 1001 4294967295";
    assert_int_equal(xt_replay_parse(s, strlen(s), &l, err), 0);
    assert_int_equal(l.kind, XT_RL_SESSION_END);
    assert_int_equal(l.account, 1001);
    assert_int_equal(l.session, UINT32_MAX);
    xt_engine_t e;
    uint64_t last_ev_seq = 0, seq = 0;
    assert_int_equal(xt_engine_init(&e, NULL, record_seq, &last_ev_seq), 0);
    xt_cmd_t c;
    xt_replay_to_cmd(&e, &l, &c);
    assert_int_equal(c.type, XT_CMD_SESSION_END);
    size_t n = xt_replay_format_cmd(&e, &c, line);
    assert_int_equal(n, strlen(s) + 1);
    assert_memory_equal(line, "SESSION_END 1001 4294967295\n", n);
    assert_int_equal(xt_replay_apply_line(&e, s, strlen(s), &seq, 1, err), 0);
    assert_int_equal(seq, 1);
    xt_engine_stats_t st;
    xt_engine_stats(&e, &st);
    assert_int_equal(st.last_seq, 1);
    xt_engine_destroy(&e);
    expect_error("SESSION_END 1\n", "", 1, "SESSION_END takes 3 fields, got 2");
    expect_error("SESSION_END 1 0\n", "", 1, "session must be");
    expect_error("SESSION_END 0 1\n", "", 1, "account must be");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comments_blanks_and_spacing),
        cmocka_unit_test(instrument_fields_any_order),
        cmocka_unit_test(malformed_lines),
        cmocka_unit_test(first_error_stops_the_run),
        cmocka_unit_test(rule_breaks_are_rejects_not_errors),
        cmocka_unit_test(parse_fills_fields),
        cmocka_unit_test(sequence_numbers_count_commands),
        cmocka_unit_test(session_end_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
