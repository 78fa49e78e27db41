/* bar.h - one symbol's trading day, the project's basic fact.
 *
 * Prices are fixed-point millionths (codec/num.h); dates are day numbers (base/date.h).
 * vwap and trades are optional in imports: BAR_NONE marks a missing value.
 */
#ifndef CODEC_BAR_H
#define CODEC_BAR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define BAR_SYMBOL_MAX 15
#define BAR_NONE       INT64_MIN

struct bar {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t date;
    int64_t open, high, low, close; /* millionths of a dollar */
    int64_t volume;
    int64_t vwap;   /* millionths, or BAR_NONE */
    int64_t trades; /* or BAR_NONE */
    /* Set by the bar store's reader: the bar was fetched before its date's settle time
     * (docs/definitions.md#provisional-and-final-bars).  Not a column of a part; never compared. */
    uint8_t provisional;
};

/* A ticker: 1..15 characters of A-Z, 0-9, '.', '-' and '/', starting with a letter or digit.
 * Returns 1 when valid. */
int bar_symbol_valid(const char *s, size_t n);

/* Check the facts a bar must satisfy: positive prices, high >= low, volume >= 0, trades >= 0.
 * On failure d names the field and the value ("high 10.5 is below low 11"). */
int bar_validate(const struct bar *b, struct diag *d);

/* 1 when every field is equal. */
int bar_equal(const struct bar *a, const struct bar *b);

/* The name of the first field in which a and b differ, or NULL. */
const char *bar_diff_field(const struct bar *a, const struct bar *b);

/* Order by symbol, then date (for qsort). */
int bar_cmp(const void *a, const void *b);

/* A growable array of bars (used by readers, writers and tests). */
struct barvec {
    struct bar *v;
    size_t n, cap;
};

void barvec_init(struct barvec *bv);
void barvec_release(struct barvec *bv);
int barvec_push(struct barvec *bv, const struct bar *b);
int barvec_reserve(struct barvec *bv, size_t n);

#endif
