/* decimal.c - exact decimal parsing, unit conversion and formatting. */
#include "xt/decimal.h"

#include <string.h>

#include "xt/error.h"

static const int64_t pow10_tab[19] = {
    1,
    10,
    100,
    1000,
    10000,
    100000,
    1000000,
    10000000,
    100000000,
    1000000000,
    10000000000,
    100000000000,
    1000000000000,
    10000000000000,
    100000000000000,
    1000000000000000,
    10000000000000000,
    100000000000000000,
    1000000000000000000,
};

int xt_decimal_parse(const char *s, size_t len, xt_decimal_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    size_t int_start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_end = i;
    if (int_end == int_start)
        return XT_EPARSE;
    size_t frac_start = i, frac_end = i;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_end = i;
        if (frac_end == frac_start)
            return XT_EPARSE;
    }
    if (i != len)
        return XT_EPARSE;
    /* Drop trailing fractional zeros beyond what 18 decimals can hold. */
    while (frac_end - frac_start > XT_DECIMAL_MAX_SCALE && s[frac_end - 1] == '0')
        frac_end--;
    if (frac_end - frac_start > XT_DECIMAL_MAX_SCALE)
        return XT_ERANGE;

    uint64_t m = 0;
    const uint64_t lim = (uint64_t)INT64_MAX;
    const char *runs[2][2] = {{s + int_start, s + int_end}, {s + frac_start, s + frac_end}};
    for (int r = 0; r < 2; r++) {
        for (const char *p = runs[r][0]; p < runs[r][1]; p++) {
            unsigned dgt = (unsigned)(*p - '0');
            if (m > (lim - dgt) / 10)
                return XT_ERANGE;
            m = m * 10 + dgt;
        }
    }
    out->m = neg ? -(int64_t)m : (int64_t)m;
    out->scale = (uint8_t)(frac_end - frac_start);
    return 0;
}

int xt_decimal_to_units(xt_decimal_t value, xt_decimal_t unit, int64_t *out)
{
    if (unit.m <= 0 || unit.scale > XT_DECIMAL_MAX_SCALE || value.scale > XT_DECIMAL_MAX_SCALE)
        return XT_EINVAL;
    /* value / unit = value.m * 10^(unit.scale - value.scale) / unit.m */
    __int128 num = value.m;
    __int128 den = unit.m;
    int e = (int)unit.scale - (int)value.scale;
    if (e >= 0)
        num *= pow10_tab[e];
    else
        den *= pow10_tab[-e];
    if (num % den != 0)
        return XT_EINVAL;
    __int128 q = num / den;
    if (q > INT64_MAX || q < -INT64_MAX)
        return XT_ERANGE;
    *out = (int64_t)q;
    return 0;
}

int xt_i128_format(__int128 v, unsigned scale, char *buf)
{
    char tmp[XT_DECIMAL_BUFSZ];
    int n = 0;
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0 || n <= (int)scale);
    int len = 0;
    if (neg)
        buf[len++] = '-';
    for (int k = n - 1; k >= 0; k--) {
        buf[len++] = tmp[k];
        if (k == (int)scale && scale > 0)
            buf[len++] = '.';
    }
    buf[len] = '\0';
    return len;
}

int xt_units_format(int64_t units, xt_decimal_t unit, char *buf)
{
    return xt_i128_format((__int128)units * unit.m, unit.scale, buf);
}

int xt_decimal_format(xt_decimal_t d, char *buf)
{
    return xt_i128_format(d.m, d.scale, buf);
}

int xt_decimal_cmp(xt_decimal_t a, xt_decimal_t b)
{
    __int128 x = a.m, y = b.m;
    if (a.scale < b.scale)
        x *= pow10_tab[b.scale - a.scale];
    else
        y *= pow10_tab[a.scale - b.scale];
    return (x > y) - (x < y);
}
