/* test_decimal.c - exact decimals: parsing, unit conversion, formatting, and
 * the band-limit arithmetic built on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xt/xt.h"

static xt_decimal_t dec(const char *s)
{
    xt_decimal_t d;
    assert_int_equal(xt_decimal_parse(s, strlen(s), &d), 0);
    return d;
}

static void parse_valid(void **state)
{
    (void)state;
    xt_decimal_t d = dec("10.03");
    assert_int_equal(d.m, 1003);
    assert_int_equal(d.scale, 2);
    d = dec("-0.50");
    assert_int_equal(d.m, -50);
    assert_int_equal(d.scale, 2);
    d = dec("007");
    assert_int_equal(d.m, 7);
    assert_int_equal(d.scale, 0);
    d = dec("9223372036854775807");
    assert_int_equal(d.m, INT64_MAX);
    /* the range is int64's: -2^63 fits (and formats back to the same text) */
    d = dec("-9223372036854775808");
    assert_true(d.m == INT64_MIN);
    char b[XT_DECIMAL_BUFSZ];
    xt_decimal_format(d, b);
    assert_string_equal(b, "-9223372036854775808");
    d = dec("-9.223372036854775808");
    assert_true(d.m == INT64_MIN);
    assert_int_equal(d.scale, 18);
    d = dec("-922337203685477580.800"); /* a zero the mantissa has no room for */
    assert_true(d.m == INT64_MIN);
    assert_int_equal(d.scale, 1);
    d = dec("0.000000000000000001");
    assert_int_equal(d.m, 1);
    assert_int_equal(d.scale, 18);
    /* zeros beyond 18 decimals are dropped, not refused */
    d = dec("1.50000000000000000000000");
    assert_int_equal(xt_decimal_cmp(d, dec("1.5")), 0);
    /* and so are those the mantissa has no room for: a price printed at
     * the scale of a tick of 17 decimals parses back */
    d = dec("246.91357802469134000"); /* only as many as needed go */
    assert_int_equal(d.m, INT64_C(2469135780246913400));
    assert_int_equal(d.scale, 16);
    assert_int_equal(xt_decimal_cmp(d, dec("246.91357802469134")), 0);
    d = dec("92233720368547758.070");
    assert_int_equal(d.m, INT64_MAX);
    assert_int_equal(d.scale, 2);
    d = dec("922337203685477580.700");
    assert_int_equal(d.m, INT64_MAX);
    assert_int_equal(d.scale, 1);
}

static void parse_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"", "-", ".", "5.", ".5", "+5", "1e5", "1.2.3", "12a", " 1", "1 ", "--1", "0x10", "1,5"};
    xt_decimal_t d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(xt_decimal_parse(bad[i], strlen(bad[i]), &d), XT_EPARSE);
    assert_int_equal(xt_decimal_parse("9223372036854775808", 19, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("-9223372036854775809", 20, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("-922337203685477580.9", 21, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("0.0000000000000000001", 21, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("92233720368547758.08", 20, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("92233720368547758.0700001", 25, &d), XT_ERANGE);
    assert_int_equal(xt_decimal_parse("9223372036854775808.0", 21, &d), XT_ERANGE); /* the integer part never */
}

static void to_units(void **state)
{
    (void)state;
    int64_t u;
    assert_int_equal(xt_decimal_to_units(dec("10.03"), dec("0.01"), &u), 0);
    assert_int_equal(u, 1003);
    assert_int_equal(xt_decimal_to_units(dec("10.030"), dec("0.01"), &u), 0);
    assert_int_equal(u, 1003);
    assert_int_equal(xt_decimal_to_units(dec("30000.5"), dec("0.5"), &u), 0);
    assert_int_equal(u, 60001);
    assert_int_equal(xt_decimal_to_units(dec("500"), dec("100"), &u), 0);
    assert_int_equal(u, 5);
    assert_int_equal(xt_decimal_to_units(dec("-2"), dec("1"), &u), 0);
    assert_int_equal(u, -2);
    assert_int_equal(xt_decimal_to_units(dec("0"), dec("0.01"), &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(xt_decimal_to_units(dec("10.001"), dec("0.01"), &u), XT_EINVAL);
    assert_int_equal(xt_decimal_to_units(dec("150"), dec("100"), &u), XT_EINVAL);
    assert_int_equal(xt_decimal_to_units(dec("0.0015"), dec("0.001"), &u), XT_EINVAL);
    assert_int_equal(xt_decimal_to_units(dec("30000.25"), dec("0.5"), &u), XT_EINVAL);
    assert_int_equal(xt_decimal_to_units(dec("9223372036854775807"), dec("0.1"), &u), XT_ERANGE);
    assert_int_equal(xt_decimal_to_units(dec("1"), dec("0"), &u), XT_EINVAL);
}

static void format(void **state)
{
    (void)state;
    char b[XT_DECIMAL_BUFSZ];
    xt_units_format(1103, dec("0.01"), b);
    assert_string_equal(b, "11.03");
    xt_units_format(3, dec("0.5"), b);
    assert_string_equal(b, "1.5");
    xt_units_format(5, dec("100"), b);
    assert_string_equal(b, "500");
    xt_units_format(1, dec("0.001"), b);
    assert_string_equal(b, "0.001");
    xt_units_format(-7, dec("0.01"), b);
    assert_string_equal(b, "-0.07");
    xt_units_format(4, dec("0.50"), b);
    assert_string_equal(b, "2.00");
    xt_units_format(INT64_MAX, dec("9223372036854775807"), b); /* a 128-bit product */
    assert_string_equal(b, "85070591730234615847396907784232501249");
    xt_decimal_format(dec("-0.50"), b);
    assert_string_equal(b, "-0.50");
    /* a scale out of contract writes nothing rather than past the buffer
     * (the widest in contract: -1 at 36 decimals, 39 bytes with the NUL) */
    assert_int_equal(xt_i128_format(-1, 36, b), 39);
    assert_string_equal(b, "-0.000000000000000000000000000000000001");
    memset(b, 'x', sizeof b);
    assert_int_equal(xt_decimal_format((xt_decimal_t){1, 46}, b), 0);
    assert_string_equal(b, "");
    assert_int_equal(xt_i128_format(-1, 80, b), 0);
    assert_int_equal(xt_units_format(1, (xt_decimal_t){1, 50}, b), 0);
    char p[XT_PRODUCT_BUFSZ];
    assert_int_equal(xt_i128_mul_format(-1, 1, 93, p), 0);
    assert_string_equal(p, "");
    assert_true(xt_decimal_cmp(dec("1.5"), dec("1.50")) == 0);
    assert_true(xt_decimal_cmp(dec("1.49"), dec("1.5")) < 0);
    assert_true(xt_decimal_cmp(dec("-1"), dec("-2")) > 0);
}

/* Products past 128 bits (turnovers of long ticks and lots) print exactly;
 * the expected strings are a * b written out by Python's integers. */
static void product_format(void **state)
{
    (void)state;
    char b[XT_PRODUCT_BUFSZ];
    const __int128 m = 12345678901234567; /* tick = lot = 0.12345678901234567 */
    xt_i128_mul_format(2000 * 1000, m * m, 34, b);
    assert_string_equal(b, "30483.1575064776691053193511354978000000");
    xt_i128_mul_format((__int128)((INT64_C(1) << 48) - 1) * ((INT64_C(1) << 40) - 1), (__int128)1000000000000, 0, b);
    assert_string_equal(b, "309485009821062494236442625000000000000");
    xt_i128_mul_format(-((__int128)1 << 100), (__int128)1 << 30, 5, b);
    assert_string_equal(b, "-13611294676837538538534984297270728.45824");
    xt_i128_mul_format((__int128)1 << 70, (__int128)1 << 70, 36, b);
    assert_string_equal(b, "1393796.574908163946345982392040522594123776");
    xt_i128_mul_format(3, (__int128)1 << 126, 36, b);
    assert_string_equal(b, "255.211775190703847597530955573826158592");
    __int128 most = (__int128)(((unsigned __int128)1 << 127) - 1);
    assert_int_equal(xt_i128_mul_format(most, most, 0, b), 77);
    assert_string_equal(b, "28948022309329048855892746252171976962977213799489202546401021394546514198529");
    xt_i128_mul_format(-most - 1, -1, 0, b); /* INT128_MIN's magnitude */
    assert_string_equal(b, "170141183460469231731687303715884105728");
    xt_i128_mul_format(7, 3, 4, b); /* within 128 bits: as xt_i128_format */
    assert_string_equal(b, "0.0021");
}

static xt_instrument_def_t band_def(const char *tick, const char *ref, const char *band)
{
    xt_instrument_def_t d;
    memset(&d, 0, sizeof d);
    strcpy(d.symbol, "T");
    d.tick = dec(tick);
    d.lot = dec("1");
    d.ref_price = dec(ref);
    d.band_pct = dec(band);
    d.flags = XT_DEF_BAND;
    return d;
}

static void band_limits(void **state)
{
    (void)state;
    struct {
        const char *tick, *ref, *band;
        int64_t low, high;
    } cases[] = {
        {"0.01", "10.03", "10", 903, 1103},        /* the contract's example */
        {"0.01", "10.05", "10", 905, 1106},        /* 9.045 and 11.055 round half up */
        {"0.01", "10.00", "7.5", 925, 1075},       /* decimal percentage */
        {"0.5", "30000", "5", 57000, 63000},       /* coarse tick */
        {"0.01", "1.00", "100", 1, 200},           /* lower 0 -> one tick */
        {"0.01", "1.00", "150", 1, 250},           /* lower < 0 -> one tick */
        {"0.01", "0.01", "10", 1, 1},              /* 0.009 and 0.011 -> 0.01 */
        {"0.01", "10.00", "0", 1000, 1000},        /* no band width */
        {"0.05", "10.01", "10", 180, 220},         /* ref not on the tick: 9.009 -> 9.00, 11.011 -> 11.00 */
        {"0.001", "2.345", "33.3333", 1563, 3127}, /* 1.5633.. and 3.12666.. */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xt_instrument_def_t d = band_def(cases[i].tick, cases[i].ref, cases[i].band);
        int64_t lo, hi;
        assert_int_equal(xt_band_limits(&d, &lo, &hi), 0);
        assert_int_equal(lo, cases[i].low);
        assert_int_equal(hi, cases[i].high);
    }
    xt_instrument_def_t d = band_def("0.01", "10", "10");
    int64_t lo, hi;
    d.flags = 0;
    assert_int_equal(xt_band_limits(&d, &lo, &hi), XT_EINVAL);
    d = band_def("0.000000000000000001", "9223372036854775807", "10");
    assert_int_equal(xt_band_limits(&d, &lo, &hi), XT_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_valid), cmocka_unit_test(parse_invalid),  cmocka_unit_test(to_units),
        cmocka_unit_test(format),      cmocka_unit_test(product_format), cmocka_unit_test(band_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
