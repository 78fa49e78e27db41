#include "codec/symchange.h"
#include "base/date.h"
#include "codec/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void symchangevec_init(struct symchangevec *v)
{
    v->v = NULL;
    v->n = 0;
    v->cap = 0;
}

void symchangevec_release(struct symchangevec *v)
{
    free(v->v);
    symchangevec_init(v);
}

int symchangevec_push(struct symchangevec *v, const struct symchange *c)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        struct symchange *p = realloc(v->v, cap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = *c;
    return ERR_OK;
}

int symchange_cmp(const void *pa, const void *pb)
{
    const struct symchange *a = pa, *b = pb;
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    int c = strcmp(a->old_symbol, b->old_symbol);
    return c ? c : strcmp(a->new_symbol, b->new_symbol);
}

int symchange_valid(const struct symchange *c)
{
    size_t a = strnlen(c->old_symbol, sizeof c->old_symbol);
    size_t b = strnlen(c->new_symbol, sizeof c->new_symbol);
    return a < sizeof c->old_symbol && b < sizeof c->new_symbol &&
           bar_symbol_valid(c->old_symbol, a) && bar_symbol_valid(c->new_symbol, b) &&
           strcmp(c->old_symbol, c->new_symbol) != 0;
}

int symchange_normalize(struct symchangevec *v, struct diag *d)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof *v->v, symchange_cmp);
    size_t w = 0;
    for (size_t i = 0; i < v->n; i++)
        if (w == 0 || symchange_cmp(&v->v[w - 1], &v->v[i]) != 0)
            v->v[w++] = v->v[i];
    v->n = w;
    for (size_t i = 1; i < v->n; i++) {
        const struct symchange *a = &v->v[i - 1], *b = &v->v[i];
        if (a->date == b->date && strcmp(a->old_symbol, b->old_symbol) == 0) {
            char day[DATE_STRLEN + 1];
            date_format(a->date, day);
            return diag_set(d, ERR_CONFLICT,
                            "symbol change of %s on %s: recorded both as %s and as %s",
                            a->old_symbol, day, a->new_symbol, b->new_symbol);
        }
    }
    return ERR_OK;
}

const char *symchange_name_on(const struct symchange *v, size_t n, const char *symbol, int32_t date)
{
    /* Forward through the changes made on or before date, each later than the last one
     * taken (so that a ticker that comes back to an earlier name cannot loop). */
    int32_t last = INT32_MIN;
    for (size_t i = 0; i < n && v[i].date <= date; i++)
        if (v[i].date > last && strcmp(v[i].old_symbol, symbol) == 0) {
            symbol = v[i].new_symbol;
            last = v[i].date;
        }
    /* Backward through the changes made after date, each earlier than the last one taken. */
    last = INT32_MAX;
    for (size_t i = n; i-- > 0 && v[i].date > date;)
        if (v[i].date < last && strcmp(v[i].new_symbol, symbol) == 0) {
            symbol = v[i].old_symbol;
            last = v[i].date;
        }
    return symbol;
}

struct mapped {
    const char *name;
    int renamed;
    size_t at;
};

static int mapped_cmp(const void *pa, const void *pb)
{
    const struct mapped *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    if (a->renamed != b->renamed)
        return a->renamed - b->renamed;
    return (a->at > b->at) - (a->at < b->at);
}

int symchange_map_day(const struct symchange *v, size_t n, int32_t as_of, struct barvec *bars,
                      size_t *dropped)
{
    *dropped = 0;
    if (n == 0 || bars->n == 0)
        return ERR_OK;
    int any = 0;
    for (size_t i = 0; i < bars->n && !any; i++)
        any = symchange_name_on(v, n, bars->v[i].symbol,
                                as_of == SYMCHANGE_BAR_DATE ? bars->v[i].date : as_of) !=
              bars->v[i].symbol;
    if (!any)
        return ERR_OK;
    struct mapped *m = malloc(bars->n * sizeof *m);
    struct bar *out = malloc(bars->n * sizeof *out);
    if (!m || !out) {
        free(m);
        free(out);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < bars->n; i++) {
        const char *name = symchange_name_on(v, n, bars->v[i].symbol,
                                             as_of == SYMCHANGE_BAR_DATE ? bars->v[i].date : as_of);
        m[i] = (struct mapped){name, name != bars->v[i].symbol, i};
    }
    qsort(m, bars->n, sizeof *m, mapped_cmp);
    size_t w = 0;
    for (size_t i = 0; i < bars->n; i++) {
        if (w && strcmp(out[w - 1].symbol, m[i].name) == 0 &&
            out[w - 1].date == bars->v[m[i].at].date) {
            (*dropped)++;
            continue;
        }
        out[w] = bars->v[m[i].at];
        memcpy(out[w].symbol, m[i].name, strlen(m[i].name) + 1);
        w++;
    }
    memcpy(bars->v, out, w * sizeof *out);
    bars->n = w;
    free(m);
    free(out);
    return ERR_OK;
}

void symchange_map_splits(const struct symchange *v, size_t n, int32_t as_of, struct splitvec *sv)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < sv->n; i++) {
        const char *name = symchange_name_on(
            v, n, sv->v[i].symbol, as_of == SYMCHANGE_BAR_DATE ? sv->v[i].ex_date : as_of);
        if (name != sv->v[i].symbol)
            memmove(sv->v[i].symbol, name, strlen(name) + 1);
    }
    if (sv->n > 1)
        qsort(sv->v, sv->n, sizeof *sv->v, split_cmp);
    size_t w = 0;
    for (size_t i = 0; i < sv->n; i++)
        if (w == 0 || split_cmp(&sv->v[w - 1], &sv->v[i]) != 0)
            sv->v[w++] = sv->v[i];
    sv->n = w;
}

enum { C_OLD, C_NEW, C_DATE, C_NCOLS };

int symchangecsv_parse(const char *name, char *data, size_t len, struct symchangevec *out,
                       struct diag *d)
{
    static const char *const names[C_NCOLS] = {"old_symbol", "new_symbol", "date"};
    struct csv_reader r;
    struct csv_field f[16];
    size_t n;
    int col[C_NCOLS] = {-1, -1, -1};
    csv_reader_init(&r, data, len);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    int err = csv_next(&r, f, 16, &n, d);
    if (err == ERR_EOF)
        return diag_set(d, ERR_PARSE, "%s: empty file, expected a header row", name);
    if (err)
        return diag_prefix(d, err, "%s", name);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < C_NCOLS; c++) {
            if (!csv_field_is(&f[i], names[c]))
                continue;
            if (col[c] >= 0)
                return diag_set(d, ERR_PARSE, "%s:1: column '%s' appears twice", name, names[c]);
            col[c] = (int)i;
        }
    for (int c = 0; c < C_NCOLS; c++)
        if (col[c] < 0)
            return diag_set(d, ERR_PARSE, "%s:1: header lacks column '%s'", name, names[c]);
    size_t ncols = n;
    while ((err = csv_next(&r, f, 16, &n, d)) == ERR_OK) {
        struct symchange c;
        char q[64];
        memset(&c, 0, sizeof c);
        if (n != ncols)
            return diag_set(d, ERR_PARSE, "%s:%zu: expected %zu fields, got %zu", name, r.line,
                            ncols, n);
        char *syms[2] = {c.old_symbol, c.new_symbol};
        for (int k = 0; k < 2; k++) {
            const struct csv_field *sf = &f[col[C_OLD + k]];
            if (!bar_symbol_valid(sf->ptr, sf->len)) {
                diag_quote(q, sizeof q, sf->ptr, sf->len, 40);
                return diag_set(d, ERR_INVALID, "%s:%zu: field '%s': not a ticker: '%s'", name,
                                r.line, names[C_OLD + k], q);
            }
            memcpy(syms[k], sf->ptr, sf->len);
            syms[k][sf->len] = '\0';
        }
        if (strcmp(c.old_symbol, c.new_symbol) == 0)
            return diag_set(d, ERR_INVALID, "%s:%zu: %s is changed to itself", name, r.line,
                            c.old_symbol);
        const struct csv_field *day = &f[col[C_DATE]];
        if (date_parse(day->ptr, day->len, &c.date)) {
            diag_quote(q, sizeof q, day->ptr, day->len, 40);
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'date': expected YYYY-MM-DD, got '%s'",
                            name, r.line, q);
        }
        if ((err = symchangevec_push(out, &c)))
            return diag_set(d, err, "%s: %s", name, err_str(err));
    }
    if (err != ERR_EOF)
        return diag_prefix(d, err, "%s", name);
    return ERR_OK;
}

int symchangecsv_write(struct buf *out, const struct symchange *v, size_t n)
{
    int err = buf_puts(out, SYMCHANGECSV_HEADER);
    for (size_t i = 0; i < n && !err; i++) {
        char day[DATE_STRLEN + 1];
        date_format(v[i].date, day);
        err = buf_printf(out, "%s,%s,%s\n", v[i].old_symbol, v[i].new_symbol, day);
    }
    return err;
}

int symchange_day_names(const struct symchange *v, size_t n, int32_t date, const struct bar **bars,
                        size_t *nbars, struct barvec *scratch)
{
    int any = 0;
    for (size_t i = 0; i < *nbars && !any; i++)
        any = symchange_name_on(v, n, (*bars)[i].symbol, date) != (*bars)[i].symbol;
    if (!any)
        return ERR_OK;
    scratch->n = 0;
    if (barvec_reserve(scratch, *nbars))
        return ERR_NOMEM;
    memcpy(scratch->v, *bars, *nbars * sizeof **bars);
    scratch->n = *nbars;
    size_t dropped;
    int err = symchange_map_day(v, n, SYMCHANGE_BAR_DATE, scratch, &dropped);
    if (err)
        return err;
    *bars = scratch->v;
    *nbars = scratch->n;
    return ERR_OK;
}
