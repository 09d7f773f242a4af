/* test_rest.c - the pure parts of the REST endpoints (src/server/md_rest.h):
 * the query-string parser with its percent-decoding, the integer
 * parameters and their ranges, the endpoint routing, the JSON error
 * responses and their strings (escapes, ill-formed UTF-8 as \ufffd); and
 * that md_http.c sends every path under /api/ to REST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <http_parser.h>

#include "server/md_encode.h"
#include "server/md_http.h"
#include "server/md_rest.h"
#include "xt/error.h"

static void query_values(void **state)
{
    (void)state;
    char b[32];
    const char *q = "symbol=BTC-USDT&limit=5&empty=&flag&a%20b=x+y%2Bz&symbol=second";
    assert_int_equal(xt_query_get(q, "symbol", b, sizeof b), 8);
    assert_string_equal(b, "BTC-USDT"); /* the first of two */
    assert_int_equal(xt_query_get(q, "limit", b, sizeof b), 1);
    assert_string_equal(b, "5");
    assert_int_equal(xt_query_get(q, "empty", b, sizeof b), 0);
    assert_string_equal(b, "");
    assert_int_equal(xt_query_get(q, "flag", b, sizeof b), 0);
    assert_int_equal(xt_query_get(q, "a b", b, sizeof b), 5); /* names are decoded too */
    assert_string_equal(b, "x y+z");
    assert_int_equal(xt_query_get(q, "missing", b, sizeof b), XT_ENOENT);
    assert_int_equal(xt_query_get(q, "symbo", b, sizeof b), XT_ENOENT);
    assert_int_equal(xt_query_get("", "symbol", b, sizeof b), XT_ENOENT);
    assert_int_equal(xt_query_get("&&symbol=%41%62&", "symbol", b, sizeof b), 2);
    assert_string_equal(b, "Ab");
    assert_int_equal(xt_query_get("s=%e4%b8%ad", "s", b, sizeof b), 3); /* bytes, UTF-8 or not */
    assert_memory_equal(b, "\xe4\xb8\xad", 4);
}

static void query_faults(void **state)
{
    (void)state;
    char b[8];
    assert_int_equal(xt_query_get("s=%4", "s", b, sizeof b), XT_EPARSE);
    assert_int_equal(xt_query_get("s=%", "s", b, sizeof b), XT_EPARSE);
    assert_int_equal(xt_query_get("s=%zz", "s", b, sizeof b), XT_EPARSE);
    assert_int_equal(xt_query_get("s=a%00b", "s", b, sizeof b), XT_EPARSE); /* no NUL inside a value */
    assert_int_equal(xt_query_get("s=1234567", "s", b, sizeof b), 7);
    assert_int_equal(xt_query_get("s=12345678", "s", b, sizeof b), XT_ERANGE);
    assert_int_equal(xt_query_get("s=%41", "s", b, 1), XT_ERANGE);
    assert_int_equal(xt_query_get("s=x", "s", b, 0), XT_ERANGE);
    /* a bad escape in another parameter does not matter */
    assert_int_equal(xt_query_get("t=%zz&s=ok", "s", b, sizeof b), 2);
}

static void query_numbers(void **state)
{
    (void)state;
    uint64_t u;
    int64_t i;
    assert_int_equal(xt_query_u64("", "limit", 20, 100, 0, &u), 0);
    assert_int_equal(u, 20);
    assert_int_equal(xt_query_u64("limit=100", "limit", 20, 100, 0, &u), 0);
    assert_int_equal(u, 100);
    assert_int_equal(xt_query_u64("limit=101", "limit", 20, 100, 0, &u), XT_ERANGE);
    assert_int_equal(xt_query_u64("limit=0", "limit", 20, 100, 0, &u), XT_ERANGE);
    assert_int_equal(xt_query_u64("limit=0", "limit", 20, 100, 1, &u), 0);
    assert_int_equal(xt_query_u64("limit=", "limit", 20, 100, 0, &u), XT_EPARSE);
    assert_int_equal(xt_query_u64("limit=-1", "limit", 20, 100, 0, &u), XT_EPARSE);
    assert_int_equal(xt_query_u64("limit=1x", "limit", 20, 100, 0, &u), XT_EPARSE);
    assert_int_equal(xt_query_u64("limit=%31%30", "limit", 20, 100, 0, &u), 0);
    assert_int_equal(u, 10);
    assert_int_equal(xt_query_u64("limit=99999999999999999999", "limit", 1, UINT64_MAX, 0, &u), XT_ERANGE);
    /* the whole u64 range, its top too (a trade id's from_id; the guard once stopped 9 short) */
    assert_int_equal(xt_query_u64("id=18446744073709551615", "id", 1, UINT64_MAX, 0, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(xt_query_u64("id=18446744073709551610", "id", 1, UINT64_MAX, 0, &u), 0);
    assert_true(u == UINT64_MAX - 5);
    assert_int_equal(xt_query_u64("id=18446744073709551616", "id", 1, UINT64_MAX, 0, &u), XT_ERANGE);
    assert_int_equal(xt_query_i64("t=-5", "t", 0, -10, 10, &i), 0);
    assert_int_equal(i, -5);
    assert_int_equal(xt_query_i64("t=-", "t", 0, -10, 10, &i), XT_EPARSE);
    assert_int_equal(xt_query_i64("t=11", "t", 0, -10, 10, &i), XT_ERANGE);
    assert_int_equal(xt_query_i64("t=9223372036854775807", "t", 0, INT64_MIN, INT64_MAX, &i), 0);
    assert_true(i == INT64_MAX);
    assert_int_equal(xt_query_i64("t=-9223372036854775808", "t", 0, INT64_MIN, INT64_MAX, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(xt_query_i64("t=9223372036854775808", "t", 0, INT64_MIN, INT64_MAX, &i), XT_ERANGE);
    assert_int_equal(xt_query_i64("", "t", 7, 0, 10, &i), 0);
    assert_int_equal(i, 7);
}

static void routing(void **state)
{
    (void)state;
    assert_int_equal(xt_rest_endpoint("/api/v1/instruments"), XT_REST_INSTRUMENTS);
    assert_int_equal(xt_rest_endpoint("/api/v1/depth"), XT_REST_DEPTH);
    assert_int_equal(xt_rest_endpoint("/api/v1/trades"), XT_REST_TRADES);
    assert_int_equal(xt_rest_endpoint("/api/v1/ticker"), XT_REST_TICKER);
    assert_int_equal(xt_rest_endpoint("/api/v1/klines"), XT_REST_KLINES);
    assert_int_equal(xt_rest_endpoint("/api/v1/timeline"), XT_REST_TIMELINE);
    assert_int_equal(xt_rest_endpoint("/api/v1/depth/"), XT_REST_UNKNOWN);
    assert_int_equal(xt_rest_endpoint("/api/v1/"), XT_REST_UNKNOWN);
    assert_int_equal(xt_rest_endpoint("/api/v2/depth"), XT_REST_UNKNOWN);
    assert_int_equal(xt_rest_endpoint("/api"), XT_REST_UNKNOWN);
    xt_http_req_t req = {.method = HTTP_POST};
    strcpy(req.path, "/api/v1/depth");
    assert_int_equal(xt_http_route(&req), XT_ROUTE_REST); /* any method: REST answers the 405 */
    strcpy(req.path, "/api/anything");
    assert_int_equal(xt_http_route(&req), XT_ROUTE_REST);
    strcpy(req.path, "/apix");
    assert_int_equal(xt_http_route(&req), XT_ROUTE_NOT_FOUND);
}

static void errors(void **state)
{
    (void)state;
    char out[1024];
    int n = xt_rest_error(out, sizeof out, 400, "bad \"parameter\" limit", 1);
    assert_true(n > 0);
    out[n] = 0;
    assert_non_null(strstr(out, "HTTP/1.1 400 "));
    assert_non_null(strstr(out, "Connection: keep-alive"));
    assert_non_null(strstr(out, "\r\n\r\n{\"code\":400,\"msg\":\"bad \\\"parameter\\\" limit\"}\n"));
    assert_int_equal(xt_rest_error(out, 40, 404, "x", 0), XT_ERANGE);
    char big[700];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(xt_rest_error(out, sizeof out, 404, big, 0), XT_ERANGE);
}

/* The JSON strings of every answer (xt_md_json_string, xt_md_json_char):
 * escapes, well-formed UTF-8 kept, ill-formed UTF-8 as \ufffd (one per
 * longest ill-formed start), so an echoed parameter never makes a body
 * that is not UTF-8. */
static void json_strings(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"a\"b\\c\n\r\t", "\"a\\\"b\\\\c\\n\\r\\t\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\""},
        {"\xff", "\"\\ufffd\""}, /* never a UTF-8 byte */
        {"\x80"
         "x",
         "\"\\ufffdx\""}, /* a stray continuation byte */
        {"\xe4\xb8"
         "x",
         "\"\\ufffdx\""},                                         /* a truncated sequence: one U+FFFD */
        {"\xf0\x9f\x98", "\"\\ufffd\""},                          /* truncated by the end */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* an overlong '/' */
        {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},            /* an overlong '/' in 3 bytes */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* a surrogate */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
        {"\xef\xbf\xbd", "\"\xef\xbf\xbd\""},                     /* U+FFFD itself is fine */
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = xt_md_json_string(out, sizeof out, cases[i].in);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
    }
    assert_int_equal(xt_md_json_string(out, 8, "\xff"), 0); /* "\ufffd" and the NUL need 9 */
    assert_int_equal(xt_md_json_string(out, 9, "\xff"), 8);
    char b[1024];
    int n = xt_rest_error(b, sizeof b, 404, "unknown symbol A\xff\xfe", 1); /* a decoded %FF%FE echoed */
    assert_true(n > 0);
    b[n] = 0;
    assert_non_null(strstr(b, "{\"code\":404,\"msg\":\"unknown symbol A\\ufffd\\ufffd\"}\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_values), cmocka_unit_test(query_faults), cmocka_unit_test(query_numbers),
        cmocka_unit_test(routing),      cmocka_unit_test(errors),       cmocka_unit_test(json_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
