/* decimal.h - exact decimal numbers at the edges of the system.
 *
 * Text and JSON carry prices and quantities as decimals ("10.03", "0.0015");
 * the core works in integer ticks and lots. These functions convert between
 * the two exactly, with no floating point anywhere.
 *
 * Grammar accepted by xt_decimal_parse:  -?[0-9]+(\.[0-9]+)?
 * Trailing zeros after the point are kept in `scale` (so "0.50" has scale
 * 2 and prints with two decimals) unless keeping them would exceed 18
 * decimals, in which case they are dropped. A value that does not fit in
 * int64 with at most 18 decimals is XT_ERANGE ("-9223372036854775808" fits,
 * its positive does not).
 */
#ifndef XT_DECIMAL_H
#define XT_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "xt/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XT_DECIMAL_MAX_SCALE 18
/* Longest text xt_decimal_format / xt_units_format can produce, with NUL:
 * sign, 39 digits of a 128-bit product, point. */
#define XT_DECIMAL_BUFSZ 48

/* Parses s[0..len) as a decimal. Returns 0, XT_EPARSE (not the grammar) or
 * XT_ERANGE (does not fit). `out` is written only on success. */
int xt_decimal_parse(const char *s, size_t len, xt_decimal_t *out);

/* Converts `value` into a count of `unit` (a tick or a lot; unit > 0).
 * Returns 0 and stores the count (which may be <= 0 if value is), XT_EINVAL
 * if value is not an exact multiple of unit, XT_ERANGE if the count does
 * not fit in int64. */
int xt_decimal_to_units(xt_decimal_t value, xt_decimal_t unit, int64_t *out);

/* Writes units * unit with exactly unit.scale decimals ("11.03", "500",
 * "1.5") into buf (at least XT_DECIMAL_BUFSZ bytes) and NUL-terminates it.
 * Returns the length written (0, an empty string, for a scale above 36). */
int xt_units_format(int64_t units, xt_decimal_t unit, char *buf);

#ifdef __SIZEOF_INT128__
/* Writes v (any sign) with `scale` decimals (at most 36) into buf (at
 * least XT_DECIMAL_BUFSZ bytes), NUL-terminated ("-12.50"). Returns the
 * length written; a scale above 36 writes an empty string and returns 0.
 * For sums past int64, such as turnovers. */
int xt_i128_format(__int128 v, unsigned scale, char *buf);

/* Holds a product xt_i128_mul_format writes: 77 digits, sign, point, NUL. */
#define XT_PRODUCT_BUFSZ 96
/* Writes a * b (any signs) exactly, with `scale` decimals (at most 36),
 * into buf (at least XT_PRODUCT_BUFSZ bytes), NUL-terminated. The product
 * may pass 128 bits: a turnover in ticks x lots times one tick x one lot
 * (mantissas) does, for instruments with long ticks and lots. Returns the
 * length written; a scale above 36 writes an empty string and returns 0. */
int xt_i128_mul_format(__int128 a, __int128 b, unsigned scale, char *buf);
#endif

/* Writes the decimal itself ("0.50", "-3") into buf (XT_DECIMAL_BUFSZ bytes).
 * Returns the length written (0, an empty string, for a scale above 36:
 * a decimal's scale is 0..18). */
int xt_decimal_format(xt_decimal_t d, char *buf);

/* Compares two decimals by value: <0, 0 or >0. */
int xt_decimal_cmp(xt_decimal_t a, xt_decimal_t b);

#ifdef __cplusplus
}
#endif
#endif
