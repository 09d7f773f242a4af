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
    const uint64_t lim = (uint64_t)INT64_MAX + (uint64_t)neg; /* -2^63 fits, 2^63 does not */
    const char *runs[2][2] = {{s + int_start, s + int_end}, {s + frac_start, s + frac_end}};
    for (int r = 0; r < 2; r++) {
        for (const char *p = runs[r][0]; p < runs[r][1]; p++) {
            unsigned dgt = (unsigned)(*p - '0');
            if (m > (lim - dgt) / 10) {
                /* Trailing fractional zeros go where the mantissa has no
                 * room for them: "246.91357802469134000" is the value
                 * 246.91357802469134 printed at a longer scale. */
                const char *q = p, *end = runs[r][1];
                while (r == 1 && q < end && *q == '0')
                    q++;
                if (r == 0 || q != end)
                    return XT_ERANGE;
                frac_end = (size_t)(p - s);
                break;
            }
            m = m * 10 + dgt;
        }
    }
    out->m = neg ? (int64_t)(0 - m) : (int64_t)m; /* 0 - m in uint64_t: -2^63 without overflow */
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

/* Writes the n digits in tmp (least significant first, n > scale) with
 * their sign and a point before the last `scale` of them. */
static int put_digits(const char *tmp, int n, unsigned scale, int neg, char *buf)
{
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

int xt_i128_format(__int128 v, unsigned scale, char *buf)
{
    /* 39 digits at most, or scale + 1: with sign, point and NUL within buf */
    if (scale > 2 * XT_DECIMAL_MAX_SCALE) { /* out of contract: nothing, rather than past buf */
        buf[0] = '\0';
        return 0;
    }
    char tmp[XT_DECIMAL_BUFSZ];
    int n = 0;
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0 || n <= (int)scale);
    return put_digits(tmp, n, scale, neg, buf);
}

static unsigned __int128 magnitude(__int128 v)
{
    return v < 0 ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
}

int xt_i128_mul_format(__int128 a, __int128 b, unsigned scale, char *buf)
{
    if (scale > 2 * XT_DECIMAL_MAX_SCALE) { /* out of contract: nothing, rather than past buf */
        buf[0] = '\0';
        return 0;
    }
    __int128 v;
    if (!__builtin_mul_overflow(a, b, &v))
        return xt_i128_format(v, scale, buf);
    /* 128 x 128 -> 256 bits in 64-bit limbs, least significant first. */
    unsigned __int128 x = magnitude(a), y = magnitude(b);
    uint64_t xl[2] = {(uint64_t)x, (uint64_t)(x >> 64)}, yl[2] = {(uint64_t)y, (uint64_t)(y >> 64)}, p[4] = {0};
    for (int i = 0; i < 2; i++) {
        unsigned __int128 carry = 0;
        for (int j = 0; j < 2; j++) {
            unsigned __int128 t = (unsigned __int128)xl[i] * yl[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        p[i + 2] = (uint64_t)carry;
    }
    /* Digits, least significant first, 19 at a time (the remainders of
     * dividing by 10^19). At most 78 of them: 2^256 < 10^78. */
    const uint64_t chunk = UINT64_C(10000000000000000000);
    char tmp[XT_PRODUCT_BUFSZ];
    int n = 0;
    while (p[0] | p[1] | p[2] | p[3]) {
        unsigned __int128 r = 0;
        for (int k = 3; k >= 0; k--) {
            unsigned __int128 cur = r << 64 | p[k];
            p[k] = (uint64_t)(cur / chunk);
            r = cur % chunk;
        }
        for (int d = 0; d < 19; d++, r /= 10)
            tmp[n++] = (char)('0' + (int)(r % 10));
    }
    while (n > (int)scale + 1 && tmp[n - 1] == '0') /* the top chunk's leading zeros */
        n--;
    while (n <= (int)scale)
        tmp[n++] = '0';
    return put_digits(tmp, n, scale, (a < 0) != (b < 0), buf);
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
