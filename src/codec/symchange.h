/* symchange.h - symbol changes as facts: from `date` on, the company that traded as old_symbol
 * trades as new_symbol (FB became META on 2022-06-09).
 *
 * The history of the old symbol continues under the new one.  Bars stay stored under the
 * symbol they traded under; readers give every bar the company's name *on the bar's date*
 * (symchange_name_on), so that a screen of a date before the change shows the old symbol and
 * one after it shows the new symbol with the whole history behind it.
 *
 * CSV form: "old_symbol,new_symbol,date".
 */
#ifndef CODEC_SYMCHANGE_H
#define CODEC_SYMCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "codec/bar.h"
#include "codec/split.h"

#define SYMCHANGECSV_HEADER "old_symbol,new_symbol,date\n"

struct symchange {
    char old_symbol[BAR_SYMBOL_MAX + 1];
    char new_symbol[BAR_SYMBOL_MAX + 1];
    int32_t date; /* the first day traded under new_symbol */
};

struct symchangevec {
    struct symchange *v;
    size_t n, cap;
};

void symchangevec_init(struct symchangevec *v);
void symchangevec_release(struct symchangevec *v);
int symchangevec_push(struct symchangevec *v, const struct symchange *c);

/* Order by date, then old_symbol, then new_symbol. */
int symchange_cmp(const void *a, const void *b);

/* 1 when both symbols are valid tickers and differ. */
int symchange_valid(const struct symchange *c);

/* Sort v and drop exact repeats.  Two changes of one old symbol on one date to different new
 * symbols contradict each other: ERR_CONFLICT naming them (v is left sorted). */
int symchange_normalize(struct symchangevec *v, struct diag *d);

/* The name on `date` of the company whose bar is stored under `symbol`: later names for a bar
 * dated on or after a change, earlier names for one dated before (a vendor that serves a
 * renamed company's whole history under its new name).  v sorted (symchange_cmp).  Returns
 * symbol itself or a new_symbol / old_symbol of v. */
const char *symchange_name_on(const struct symchange *v, size_t n, const char *symbol,
                              int32_t date);

/* Give a day's bars (all of one date) their names on as_of (SYMCHANGE_BAR_DATE: on the bars'
 * own date), sorted by symbol.  Two bars that end up with one name (the same day stored under
 * the old and the new symbol) keep one: the bar stored under that very name; *dropped counts
 * the others. */
#define SYMCHANGE_BAR_DATE INT32_MIN
int symchange_map_day(const struct symchange *v, size_t n, int32_t as_of, struct barvec *bars,
                      size_t *dropped);

/* A day's bars (all of date, sorted by symbol) as a reader uses them: *bars and *nbars left as
 * they are when every bar already carries its name of that date, else pointed at a copy in
 * scratch with the names given (symchange_map_day).  ERR_NOMEM is the only error. */
int symchange_day_names(const struct symchange *v, size_t n, int32_t date, const struct bar **bars,
                        size_t *nbars, struct barvec *scratch);

/* Give the split facts the names on as_of (SYMCHANGE_BAR_DATE: on their ex-dates), so that a
 * split recorded under the old symbol applies to the history under the new one; sorted by
 * symbol and ex_date, two facts that end up equal keep one. */
void symchange_map_splits(const struct symchange *v, size_t n, int32_t as_of, struct splitvec *sv);

/* Parse a whole symbol-change CSV (header required, any column order) and append to out. */
int symchangecsv_parse(const char *name, char *data, size_t len, struct symchangevec *out,
                       struct diag *d);

int symchangecsv_write(struct buf *out, const struct symchange *v, size_t n);

#endif
