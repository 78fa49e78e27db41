#include "codec/bar.h"
#include "codec/num.h"
#include "base/date.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int bar_symbol_valid(const char *s, size_t n)
{
    if (n == 0 || n > BAR_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '.' || c == '-' || c == '/'));
        if (!ok)
            return 0;
    }
    return 1;
}

int bar_validate(const struct bar *b, struct diag *d)
{
    if (bar_valid(b))
        return ERR_OK;
    static const char *const names[] = {"open", "high", "low", "close"};
    const int64_t prices[] = {b->open, b->high, b->low, b->close};
    char x[NUM_FIXED_STRMAX], y[NUM_FIXED_STRMAX];
    for (int i = 0; i < 4; i++) {
        if (prices[i] <= 0) {
            num_format_fixed(prices[i], x);
            return diag_set(d, ERR_INVALID, "field '%s': price must be positive, got %s", names[i],
                            x);
        }
    }
    if (b->high < b->low) {
        num_format_fixed(b->high, x);
        num_format_fixed(b->low, y);
        return diag_set(d, ERR_INVALID, "field 'high': %s is below low %s", x, y);
    }
    if (b->volume < 0)
        return diag_set(d, ERR_INVALID, "field 'volume': must not be negative, got %lld",
                        (long long)b->volume);
    if (b->vwap != BAR_NONE && b->vwap <= 0) {
        num_format_fixed(b->vwap, x);
        return diag_set(d, ERR_INVALID, "field 'vwap': price must be positive, got %s", x);
    }
    if (b->trades != BAR_NONE && b->trades < 0)
        return diag_set(d, ERR_INVALID, "field 'trades': must not be negative, got %lld",
                        (long long)b->trades);
    return diag_set(d, ERR_INTERNAL,
                    "bar_valid refuses a bar bar_validate finds nothing wrong with");
}

const char *bar_diff_field(const struct bar *a, const struct bar *b)
{
    if (strcmp(a->symbol, b->symbol) != 0)
        return "symbol";
    if (a->date != b->date)
        return "date";
    if (a->open != b->open)
        return "open";
    if (a->high != b->high)
        return "high";
    if (a->low != b->low)
        return "low";
    if (a->close != b->close)
        return "close";
    if (a->volume != b->volume)
        return "volume";
    if (a->vwap != b->vwap)
        return "vwap";
    if (a->trades != b->trades)
        return "trades";
    return NULL;
}

int bar_equal(const struct bar *a, const struct bar *b)
{
    return bar_diff_field(a, b) == NULL;
}

int bar_cmp(const void *pa, const void *pb)
{
    const struct bar *a = pa, *b = pb;
    int c = strcmp(a->symbol, b->symbol);
    if (c)
        return c;
    return (a->date > b->date) - (a->date < b->date);
}

void barvec_init(struct barvec *bv)
{
    bv->v = NULL;
    bv->n = 0;
    bv->cap = 0;
}

void barvec_release(struct barvec *bv)
{
    free(bv->v);
    barvec_init(bv);
}

int barvec_reserve(struct barvec *bv, size_t n)
{
    if (n <= bv->cap)
        return ERR_OK;
    size_t cap = bv->cap ? bv->cap : 256;
    while (cap < n)
        cap *= 2;
    struct bar *v = realloc(bv->v, cap * sizeof *v);
    if (!v)
        return ERR_NOMEM;
    bv->v = v;
    bv->cap = cap;
    return ERR_OK;
}

int barvec_push(struct barvec *bv, const struct bar *b)
{
    if (bv->n == bv->cap) {
        int err = barvec_reserve(bv, bv->n + 1);
        if (err)
            return err;
    }
    bv->v[bv->n++] = *b;
    return ERR_OK;
}
