/* bar.h - one symbol's trading day, the project's basic fact.
 *
 * Prices are fixed-point millionths (codec/num.h); dates are day numbers (base/date.h).
 * vwap and trades are optional in imports: BAR_NONE marks a missing value.
 */
#ifndef CODEC_BAR_H
#define CODEC_BAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* 1 when b satisfies the facts a bar must: positive prices (vwap too, when there is one),
 * high >= low, volume >= 0, trades >= 0.  Inline for the parsers' fast paths. */
static inline int bar_valid(const struct bar *b)
{
    return b->open > 0 && b->high > 0 && b->low > 0 && b->close > 0 && b->high >= b->low &&
           b->volume >= 0 && (b->vwap == BAR_NONE || b->vwap > 0) &&
           (b->trades == BAR_NONE || b->trades >= 0);
}

/* bar_valid, and on failure d names the field and the value ("high 10.5 is below low 11"). */
int bar_validate(const struct bar *b, struct diag *d);

/* 1 when every field is equal. */
int bar_equal(const struct bar *a, const struct bar *b);

/* The name of the first field in which a and b differ, or NULL. */
const char *bar_diff_field(const struct bar *a, const struct bar *b);

/* Order by symbol, then date (for qsort). */
int bar_cmp(const void *a, const void *b);

/* A symbol as two numbers that order as strcmp orders the names: its 16 bytes, zero after the
 * end, read big-endian.  Comparing them costs no call and no walk along the bytes (the
 * readers and the screen compare symbols for every bar). */
struct bar_symkey {
    uint64_t hi, lo;
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bar_symkey_of reads the first byte of memory as the lowest"
#endif

/* symbol: BAR_SYMBOL_MAX + 1 bytes holding a NUL-terminated name (what follows it may be
 * anything). */
static inline struct bar_symkey bar_symkey_of(const char *symbol)
{
    uint64_t a, b;
    memcpy(&a, symbol, 8);
    memcpy(&b, symbol + 8, 8);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    /* The lowest byte flagged is the first zero byte (flags above it may be false). */
    uint64_t za = (a - ones) & ~a & highs, zb = (b - ones) & ~b & highs;
    if (za) {
        unsigned n = (unsigned)__builtin_ctzll(za) / 8;
        a &= n ? ~0ull >> (64 - 8 * n) : 0;
        b = 0;
    } else if (zb) {
        unsigned n = (unsigned)__builtin_ctzll(zb) / 8;
        b &= n ? ~0ull >> (64 - 8 * n) : 0;
    }
    return (struct bar_symkey){__builtin_bswap64(a), __builtin_bswap64(b)};
}

static inline int bar_symkey_cmp(struct bar_symkey x, struct bar_symkey y)
{
    if (x.hi != y.hi)
        return x.hi < y.hi ? -1 : 1;
    return (x.lo > y.lo) - (x.lo < y.lo);
}

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
