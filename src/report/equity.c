#include "report/equity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/date.h"
#include "codec/csv.h"
#include "codec/num.h"

#include "base/banned.h"

enum { E_DATE, E_EQUITY, E_CASH, E_POSITIONS, E_BENCHMARK, E_NCOLS };
static const char *const cols[E_NCOLS] = {"date", "equity", "cash", "positions", "benchmark"};

void report_equity_release(struct report_equity *e)
{
    free(e->v);
    memset(e, 0, sizeof *e);
}

static int bad(struct diag *d, const char *name, size_t line, const char *field,
               const struct csv_field *f, const char *expected)
{
    char q[64];
    diag_quote(q, sizeof q, f->ptr, f->len, 40);
    return diag_set(d, ERR_PARSE, "%s:%zu: field '%s': expected %s, got '%s'", name, line, field,
                    expected, q);
}

static int money(const struct csv_field *f, double *out)
{
    int64_t v;
    int err = num_parse_fixed(f->ptr, f->len, &v);
    if (!err)
        *out = num_fixed_to_double(v);
    return err;
}

static int parse_row(const char *name, size_t line, const struct csv_field *f,
                     struct report_equity_point *p, struct diag *d)
{
    if (date_parse(f[E_DATE].ptr, f[E_DATE].len, &p->date))
        return bad(d, name, line, "date", &f[E_DATE], "a date YYYY-MM-DD");
    if (money(&f[E_EQUITY], &p->equity) || p->equity < 0)
        return bad(d, name, line, "equity", &f[E_EQUITY], "an amount of 0 or more");
    if (money(&f[E_CASH], &p->cash))
        return bad(d, name, line, "cash", &f[E_CASH], "an amount");
    if (num_parse_int(f[E_POSITIONS].ptr, f[E_POSITIONS].len, &p->positions) || p->positions < 0 ||
        p->positions > 1000000)
        return bad(d, name, line, "positions", &f[E_POSITIONS], "a whole number 0..1000000");
    p->benchmark = (double)NAN;
    if (f[E_BENCHMARK].len && (money(&f[E_BENCHMARK], &p->benchmark) || p->benchmark < 0))
        return bad(d, name, line, "benchmark", &f[E_BENCHMARK], "an amount of 0 or more, or empty");
    return ERR_OK;
}

int report_parse_equity(const char *name, const char *data, size_t len, struct report_equity *out,
                        struct diag *d)
{
    if (len > REPORT_EQUITY_MAX)
        return diag_set(d, ERR_TOOBIG, "%s: %zu bytes, more than the %zu accepted", name, len,
                        REPORT_EQUITY_MAX);
    char *text = malloc(len + 1);
    if (!text)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    memcpy(text, data, len);
    text[len] = '\0';
    struct csv_reader r;
    csv_reader_init(&r, text, len);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    struct csv_field f[E_NCOLS + 1];
    size_t nf;
    int err = csv_next(&r, f, E_NCOLS + 1, &nf, d);
    if (err == ERR_EOF) {
        err = diag_set(d, ERR_PARSE, "%s: empty file, expected the header '%s,%s,%s,%s,%s'", name,
                       cols[0], cols[1], cols[2], cols[3], cols[4]);
        goto out;
    }
    if (err) {
        err = diag_prefix(d, err == ERR_TOOBIG ? ERR_PARSE : err, "%s", name);
        goto out;
    }
    for (size_t i = 0; i < E_NCOLS; i++) {
        if (i >= nf || !csv_field_is(&f[i], cols[i])) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: header: column %zu: expected '%s'", name, r.line,
                           i + 1, cols[i]);
            goto out;
        }
    }
    if (nf != E_NCOLS) {
        err = diag_set(d, ERR_PARSE, "%s:%zu: header: expected %d columns", name, r.line, E_NCOLS);
        goto out;
    }
    for (;;) {
        err = csv_next(&r, f, E_NCOLS + 1, &nf, d);
        if (err == ERR_EOF) {
            err = ERR_OK;
            break;
        }
        if (err) {
            err = diag_prefix(d, err == ERR_TOOBIG ? ERR_PARSE : err, "%s", name);
            break;
        }
        if (nf != E_NCOLS) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: expected %d fields as in the header, got %zu",
                           name, r.line, E_NCOLS, nf);
            break;
        }
        struct report_equity_point p;
        if ((err = parse_row(name, r.line, f, &p, d)))
            break;
        if (out->n && p.date <= out->v[out->n - 1].date) {
            err = bad(d, name, r.line, "date", &f[E_DATE], "dates in ascending order, each once");
            break;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 256;
            struct report_equity_point *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                err = diag_set(d, ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = p;
    }
out:
    free(text);
    return err;
}
