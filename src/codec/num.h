/* num.h - exact decimal parsing and formatting.
 *
 * Prices are fixed-point integers in millionths (1 = 0.000001), so parsing is exact, equal
 * prices compare equal, and a bar written and read back is the same bar.  Inputs with more
 * than six decimals are rounded half away from zero.
 */
#ifndef CODEC_NUM_H
#define CODEC_NUM_H

#include <stddef.h>
#include <stdint.h>

#define NUM_FIXED_SCALE    1000000
#define NUM_FIXED_DECIMALS 6
#define NUM_FIXED_STRMAX   32 /* enough for any int64 in fixed-point with sign and NUL */

/* Parse an optionally signed decimal ("-12", "+3.5", "0.000001", ".5", "5.") of exactly n bytes
 * into millionths.  Returns ERR_OK, ERR_PARSE (not a decimal) or ERR_INVALID (out of range). */
int num_parse_fixed(const char *s, size_t n, int64_t *out);

/* Parse an optionally signed integer of exactly n bytes; a fraction of zeros ("1200.0") is
 * accepted, since spreadsheets and pandas write counts that way.  ERR_PARSE / ERR_INVALID. */
int num_parse_int(const char *s, size_t n, int64_t *out);

/* Format millionths with the fewest decimals that keep the value ("187.15", "100", "0.0001").
 * Returns the length written (no more than NUM_FIXED_STRMAX - 1). */
size_t num_format_fixed(int64_t v, char out[NUM_FIXED_STRMAX]);

/* Millionths with four decimals, the text printf("%.4f", v / 1e6) gives, made without floating
 * point: returns its length, or 0 (nothing written) when that needs the double's own rounding
 * (a value halfway between two ten-thousandths), or for a negative value or one of a billion or
 * more.  For the exports' closes, a thousand symbols times a year each run. */
size_t num_format_4dp(int64_t v, char out[NUM_FIXED_STRMAX]);

/* Format an integer; returns the length. */
size_t num_format_int(int64_t v, char out[24]);

static inline double num_fixed_to_double(int64_t v)
{
    return (double)v / NUM_FIXED_SCALE;
}

#endif
