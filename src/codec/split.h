/* split.h - stock splits as facts: on ex_date, old_rate shares became new_rate shares.
 *
 * A 2-for-1 split is new_rate 2, old_rate 1; a 1-for-10 reverse split is new_rate 1,
 * old_rate 10.  Prices before ex_date divide by new_rate/old_rate to be comparable with prices
 * from ex_date on.  CSV form: "symbol,ex_date,new_rate,old_rate".
 */
#ifndef CODEC_SPLIT_H
#define CODEC_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "codec/bar.h"

#define SPLITCSV_HEADER "symbol,ex_date,new_rate,old_rate\n"

struct split {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t ex_date;
    int64_t new_rate, old_rate; /* millionths, both positive */
};

struct splitvec {
    struct split *v;
    size_t n, cap;
};

void splitvec_init(struct splitvec *sv);
void splitvec_release(struct splitvec *sv);
int splitvec_push(struct splitvec *sv, const struct split *s);

/* Order by symbol, then ex_date. */
int split_cmp(const void *a, const void *b);

/* new_rate / old_rate: how many shares one old share became. */
double split_factor(const struct split *s);

/* Sane bounds.  One split multiplies the share count by at most 1,000 (a 1000-for-1 split)
 * or divides it by at most 1,000 (a 1-for-1000 reverse split); all the splits of one symbol
 * together by at most 10^9 either way.  Real splits stay far inside (the largest in US large
 * caps are 1-for-200 and 50-for-1; a century of them multiplies to a few thousand), while a
 * factor beyond them is a typo or a unit error whose product would make every adjusted price
 * meaningless, or infinite and then NaN. */
#define SPLIT_FACTOR_MAX  1000.0
#define SPLIT_PRODUCT_MAX 1e9

/* 1 when the factor of s is finite and within [1 / SPLIT_FACTOR_MAX, SPLIT_FACTOR_MAX]. */
int split_factor_ok(const struct split *s);

/* 1 when product (a running product of factors) is within [1 / SPLIT_PRODUCT_MAX,
 * SPLIT_PRODUCT_MAX]. */
int split_product_ok(double product);

/* Check the factors of a sorted log (split_cmp order): each within bounds and each symbol's
 * running product within bounds.  ERR_INVALID naming the symbol, date and factor otherwise. */
int split_check_log(const struct split *s, size_t n, struct diag *d);

/* Parse a whole split CSV (header required, any column order) and append to out.  Bad rows
 * are errors naming name:line and field. */
int splitcsv_parse(const char *name, char *data, size_t len, struct splitvec *out, struct diag *d);

int splitcsv_write(struct buf *out, const struct split *s, size_t n);

#endif
