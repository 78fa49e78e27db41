#include "codec/split.h"
#include "codec/csv.h"
#include "codec/num.h"
#include "base/date.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void splitvec_init(struct splitvec *sv)
{
    sv->v = NULL;
    sv->n = 0;
    sv->cap = 0;
}

void splitvec_release(struct splitvec *sv)
{
    free(sv->v);
    splitvec_init(sv);
}

int splitvec_push(struct splitvec *sv, const struct split *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        struct split *v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = *s;
    return ERR_OK;
}

int split_cmp(const void *pa, const void *pb)
{
    const struct split *a = pa, *b = pb;
    int c = strcmp(a->symbol, b->symbol);
    if (c)
        return c;
    return (a->ex_date > b->ex_date) - (a->ex_date < b->ex_date);
}

double split_factor(const struct split *s)
{
    return (double)s->new_rate / (double)s->old_rate;
}

int split_factor_ok(const struct split *s)
{
    if (s->new_rate <= 0 || s->old_rate <= 0)
        return 0;
    double f = split_factor(s);
    return isfinite(f) && f <= SPLIT_FACTOR_MAX && f >= 1.0 / SPLIT_FACTOR_MAX;
}

int split_product_ok(double product)
{
    return isfinite(product) && product <= SPLIT_PRODUCT_MAX && product >= 1.0 / SPLIT_PRODUCT_MAX;
}

static void factor_text(const struct split *s, char *out, size_t cap)
{
    char a[NUM_FIXED_STRMAX], b[NUM_FIXED_STRMAX];
    num_format_fixed(s->new_rate, a);
    num_format_fixed(s->old_rate, b);
    snprintf(out, cap, "%s-for-%s", a, b);
}

int split_check_log(const struct split *s, size_t n, struct diag *d)
{
    double product = 1.0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(s[i - 1].symbol, s[i].symbol) != 0)
            product = 1.0;
        char day[DATE_STRLEN + 1], f[2 * NUM_FIXED_STRMAX + 8];
        date_format(s[i].ex_date, day);
        factor_text(&s[i], f, sizeof f);
        if (!split_factor_ok(&s[i]))
            return diag_set(d, ERR_INVALID,
                            "split %s %s: factor %s is outside the sane range (at most %g either "
                            "way)",
                            s[i].symbol, day, f, SPLIT_FACTOR_MAX);
        product *= split_factor(&s[i]);
        if (!split_product_ok(product))
            return diag_set(d, ERR_INVALID,
                            "split %s %s: factor %s makes the symbol's splits multiply to %g, "
                            "outside the sane range (at most %g either way)",
                            s[i].symbol, day, f, product, SPLIT_PRODUCT_MAX);
    }
    return ERR_OK;
}

enum { S_SYMBOL, S_EX_DATE, S_NEW, S_OLD, S_NCOLS };

int splitcsv_parse(const char *name, char *data, size_t len, struct splitvec *out, struct diag *d)
{
    static const char *const names[S_NCOLS] = {"symbol", "ex_date", "new_rate", "old_rate"};
    struct csv_reader r;
    struct csv_field f[16];
    size_t n;
    int col[S_NCOLS] = {-1, -1, -1, -1};
    csv_reader_init(&r, data, len);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3; /* a byte order mark from a spreadsheet */
    int err = csv_next(&r, f, 16, &n, d);
    if (err == ERR_EOF)
        return diag_set(d, ERR_PARSE, "%s: empty file, expected a header row", name);
    if (err)
        return diag_prefix(d, err, "%s", name);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < S_NCOLS; c++) {
            if (!csv_field_is(&f[i], names[c]))
                continue;
            if (col[c] >= 0)
                return diag_set(d, ERR_PARSE, "%s:1: column '%s' appears twice", name, names[c]);
            col[c] = (int)i;
        }
    }
    for (int c = 0; c < S_NCOLS; c++)
        if (col[c] < 0)
            return diag_set(d, ERR_PARSE, "%s:1: header lacks column '%s'", name, names[c]);
    size_t ncols = n;
    while ((err = csv_next(&r, f, 16, &n, d)) == ERR_OK) {
        struct split s;
        char q[64];
        if (n != ncols)
            return diag_set(d, ERR_PARSE, "%s:%zu: expected %zu fields, got %zu", name, r.line,
                            ncols, n);
        const struct csv_field *sym = &f[col[S_SYMBOL]];
        if (!bar_symbol_valid(sym->ptr, sym->len)) {
            diag_quote(q, sizeof q, sym->ptr, sym->len, 40);
            return diag_set(d, ERR_INVALID, "%s:%zu: field 'symbol': not a ticker: '%s'", name,
                            r.line, q);
        }
        memcpy(s.symbol, sym->ptr, sym->len);
        s.symbol[sym->len] = '\0';
        const struct csv_field *day = &f[col[S_EX_DATE]];
        if (date_parse(day->ptr, day->len, &s.ex_date)) {
            diag_quote(q, sizeof q, day->ptr, day->len, 40);
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'ex_date': expected YYYY-MM-DD, got '%s'",
                            name, r.line, q);
        }
        int64_t *rates[2] = {&s.new_rate, &s.old_rate};
        for (int k = 0; k < 2; k++) {
            const struct csv_field *rf = &f[col[S_NEW + k]];
            if (num_parse_fixed(rf->ptr, rf->len, rates[k]) || *rates[k] <= 0) {
                diag_quote(q, sizeof q, rf->ptr, rf->len, 40);
                return diag_set(d, ERR_INVALID,
                                "%s:%zu: field '%s': expected a positive number, got '%s'", name,
                                r.line, names[S_NEW + k], q);
            }
        }
        if (!split_factor_ok(&s)) {
            char ft[2 * NUM_FIXED_STRMAX + 8];
            factor_text(&s, ft, sizeof ft);
            return diag_set(d, ERR_INVALID,
                            "%s:%zu: %s: split factor %s is outside the sane range (at most %g "
                            "either way)",
                            name, r.line, s.symbol, ft, SPLIT_FACTOR_MAX);
        }
        if ((err = splitvec_push(out, &s)))
            return diag_set(d, err, "%s: %s", name, err_str(err));
    }
    if (err != ERR_EOF)
        return diag_prefix(d, err, "%s", name);
    return ERR_OK;
}

int splitcsv_write(struct buf *out, const struct split *s, size_t n)
{
    int err = buf_puts(out, SPLITCSV_HEADER);
    for (size_t i = 0; i < n && !err; i++) {
        char day[DATE_STRLEN + 1], a[NUM_FIXED_STRMAX], b[NUM_FIXED_STRMAX];
        date_format(s[i].ex_date, day);
        num_format_fixed(s[i].new_rate, a);
        num_format_fixed(s[i].old_rate, b);
        err = buf_printf(out, "%s,%s,%s,%s\n", s[i].symbol, day, a, b);
    }
    return err;
}
