/* test_admin_cmd.c - the admin socket's request-line parser
 * (src/server/admin_cmd.h): every command with its arguments, the
 * argument counts, numbers and symbols at and past their limits, bytes
 * that are not printable ASCII, and the reasons given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/admin_cmd.h"

static int parse(const char *line, xt_admin_cmd_t *c, char *why, size_t whylen)
{
    why[0] = '\0';
    return xt_admin_parse(line, strlen(line), c, why, whylen);
}

static void commands(void **state)
{
    (void)state;
    xt_admin_cmd_t c;
    char why[256];
    assert_int_equal(parse("help", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_HELP);
    assert_int_equal(parse("sessions", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_SESSIONS);
    assert_int_equal(c.account, 0);
    assert_int_equal(parse("  sessions\t1001 ", &c, why, sizeof why), 0);
    assert_int_equal(c.account, 1001);
    assert_int_equal(parse("kick 1001 4294967295", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_KICK);
    assert_int_equal(c.account, 1001);
    assert_int_equal(c.session, 4294967295u);
    assert_int_equal(parse("halt BTC-USDT", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_HALT);
    assert_string_equal(c.symbol, "BTC-USDT");
    assert_int_equal(parse("resume 600519.SH\r", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_RESUME);
    assert_string_equal(c.symbol, "600519.SH");
    assert_int_equal(parse("mass-cancel 7", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_MASS_CANCEL);
    assert_int_equal(c.account, 7);
    assert_string_equal(c.symbol, "");
    assert_int_equal(parse("mass-cancel 7 A_b.c-9", &c, why, sizeof why), 0);
    assert_string_equal(c.symbol, "A_b.c-9");
    assert_int_equal(parse("snapshot", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_SNAPSHOT);
    assert_int_equal(parse("stats", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_STATS);
    assert_int_equal(parse("instruments", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_INSTRUMENTS);
    assert_string_equal(c.symbol, "");
    assert_int_equal(parse("instruments 600519.SH", &c, why, sizeof why), 0);
    assert_int_equal(c.op, XT_ADM_INSTRUMENTS);
    assert_string_equal(c.symbol, "600519.SH");
    assert_string_equal(xt_admin_op_name(XT_ADM_MASS_CANCEL), "mass-cancel");
    assert_string_equal(xt_admin_op_usage(XT_ADM_KICK), "kick ACCOUNT SESSION");
    assert_string_equal(xt_admin_op_name(0), "?");
}

static void bad(const char *line, const char *words)
{
    xt_admin_cmd_t c;
    char why[256];
    assert_int_equal(parse(line, &c, why, sizeof why), -1);
    if (!strstr(why, words))
        fail_msg("'%s': '%s' not in '%s'", line, words, why);
}

static void errors(void **state)
{
    (void)state;
    bad("", "empty");
    bad(" \t\r", "empty");
    bad("frob", "unknown command 'frob'");
    bad("Help", "unknown command 'Help'");
    bad("halt", "halt needs 1 argument (usage: halt SYMBOL)");
    bad("kick 1", "kick needs 2 arguments");
    bad("mass-cancel", "mass-cancel needs at least 1 argument");
    bad("mass-cancel 1 A B", "mass-cancel needs at most 2 arguments");
    bad("stats x", "stats needs 0 arguments");
    bad("instruments A B", "instruments needs at most 1 argument");
    bad("instruments A/B", "SYMBOL must be");
    bad("a b c d e f g", "unknown command 'a'");
    bad("kick 0 1", "ACCOUNT must be a number");
    bad("kick 1 0", "SESSION must be a number");
    bad("kick 1 4294967296", "SESSION");
    bad("kick 1 99999999999", "SESSION");
    bad("kick +1 1", "ACCOUNT");
    bad("kick 1x 1", "ACCOUNT");
    bad("sessions -5", "ACCOUNT");
    bad("halt ABCDEFGHIJKLMNOPQ", "SYMBOL must be");
    bad("halt A/B", "SYMBOL");
    bad("halt \"x\"", "SYMBOL");
    bad("stats\x01", "printable ASCII");
    bad("st\x7f", "printable ASCII");
    bad("halt \xc3\xa9", "printable ASCII");
    bad("stats\r\r", "printable ASCII");
    char longword[200];
    memset(longword, 'z', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    bad(longword, "unknown command (try help)"); /* not quoted when long */
}

static void limits(void **state)
{
    (void)state;
    xt_admin_cmd_t c;
    char why[256], line[XT_ADMIN_LINE_MAX + 2];
    memset(line, ' ', sizeof line);
    memcpy(line, "stats", 5);
    assert_int_equal(xt_admin_parse(line, XT_ADMIN_LINE_MAX, &c, why, sizeof why), 0);
    assert_int_equal(xt_admin_parse(line, XT_ADMIN_LINE_MAX + 1, &c, why, sizeof why), -1);
    assert_non_null(strstr(why, "longer than"));
    /* a CRLF line's \r is not counted (it was: 1,024 bytes and CRLF were refused) */
    line[XT_ADMIN_LINE_MAX] = '\r';
    assert_int_equal(xt_admin_parse(line, XT_ADMIN_LINE_MAX + 1, &c, why, sizeof why), 0);
    line[XT_ADMIN_LINE_MAX + 1] = '\r';
    assert_int_equal(xt_admin_parse(line, XT_ADMIN_LINE_MAX + 2, &c, why, sizeof why), -1);
    /* a NUL inside the length is a bad byte, not an end */
    assert_int_equal(xt_admin_parse("stats\0x", 7, &c, why, sizeof why), -1);
    assert_int_equal(xt_admin_parse("stats\0x", 5, &c, why, sizeof why), 0);
    /* a small reason buffer is cut, not overrun; NULL is allowed */
    char tiny[8];
    memset(tiny, 'Q', sizeof tiny);
    assert_int_equal(xt_admin_parse("frob", 4, &c, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(xt_admin_parse("frob", 4, &c, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commands),
        cmocka_unit_test(errors),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
