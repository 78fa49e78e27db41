#include "screen/results.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "codec/crypto.h"
#include "codec/csv.h"
#include "codec/json.h"
#include "codec/num.h"
#include "screen/screen_run.h"
#include "store/symlog.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* The largest objects read back.  A full screen is ~100 bytes a symbol; the history grows by
 * ~1 KB a trading day (25 years: ~6 MB); closes.csv is ~600 bytes a symbol. */
#define SCREEN_MAX  ((size_t)16 << 20)
#define HISTORY_MAX ((size_t)128 << 20)
#define CLOSES_MAX  ((size_t)16 << 20)
#define RUN_MAX     ((size_t)64 << 10)
#define MAX_FIELDS  16

/* ---- the screen CSV ---- */

enum {
    C_DATE,
    C_RANK,
    C_SYMBOL,
    C_CLOSE,
    C_PEAK,
    C_PEAK_DATE,
    C_DRAWDOWN,
    C_DAYS,
    C_CHANGE,
    C_VOLUME,
    C_NCOLS
};

static const char *const screen_cols[C_NCOLS] = {
    "date",      "rank",         "symbol",          "close",      "peak",
    "peak_date", "drawdown_pct", "days_since_peak", "change_pct", "volume",
};

void results_screen_key(int32_t date, char *key)
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    snprintf(key, OBJ_KEY_MAX, "results/screen/%.4s/%s.csv", day, day);
}

void results_screen_release(struct results_screen *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

void results_history_release(struct results_history *h)
{
    free(h->rows);
    memset(h, 0, sizeof *h);
}

static int rows_push(struct screen_row **v, size_t *n, size_t *cap, const struct screen_row *r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        struct screen_row *p = realloc(*v, c * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = *r;
    return ERR_OK;
}

static int bad_field(struct diag *d, int err, const char *name, size_t line, const char *field,
                     const struct csv_field *f, const char *expected)
{
    char q[64];
    diag_quote(q, sizeof q, f->ptr, f->len, 40);
    return diag_set(d, err, "%s:%zu: field '%s': expected %s, got '%s'", name, line, field,
                    expected, q);
}

/* Start reading data and check that the header is exactly cols (any case, blanks around
 * names ignored; a spreadsheet's byte order mark is skipped). */
static int read_header(struct csv_reader *r, const char *name, char *data, size_t len,
                       const char *const *cols, size_t ncols, struct diag *d)
{
    struct csv_field f[MAX_FIELDS];
    size_t n;
    csv_reader_init(r, data, len);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
    int err = csv_next(r, f, MAX_FIELDS, &n, d);
    if (err == ERR_EOF)
        return diag_set(d, ERR_PARSE, "%s: empty file, expected a header row starting with '%s'",
                        name, cols[0]);
    if (err)
        return diag_prefix(d, err, "%s", name);
    for (size_t i = 0; i < ncols; i++) {
        if (i >= n)
            return diag_set(d, ERR_PARSE, "%s:%zu: header: column %zu: expected '%s', got none",
                            name, r->line, i + 1, cols[i]);
        if (!csv_field_is(&f[i], cols[i])) {
            char q[64];
            diag_quote(q, sizeof q, f[i].ptr, f[i].len, 40);
            return diag_set(d, ERR_PARSE, "%s:%zu: header: column %zu: expected '%s', got '%s'",
                            name, r->line, i + 1, cols[i], q);
        }
    }
    if (n > ncols) {
        char q[64];
        diag_quote(q, sizeof q, f[ncols].ptr, f[ncols].len, 40);
        return diag_set(d, ERR_PARSE, "%s:%zu: header: expected %zu columns, got '%s' after '%s'",
                        name, r->line, ncols, q, cols[ncols - 1]);
    }
    return ERR_OK;
}

/* A non-negative decimal (prices written with 4 decimals may round down to 0). */
static int parse_price(const struct csv_field *f, double *out)
{
    int64_t v;
    int err = num_parse_fixed(f->ptr, f->len, &v);
    if (err)
        return err;
    if (v < 0)
        return ERR_INVALID;
    *out = num_fixed_to_double(v);
    return ERR_OK;
}

/* A percentage.  "-0.0000" (a tiny loss, rounded) stays negative zero, so that a row read
 * back is written again with the same bytes. */
static int parse_pct(const struct csv_field *f, double *out)
{
    int64_t v;
    int err = num_parse_fixed(f->ptr, f->len, &v);
    if (err)
        return err;
    *out = num_fixed_to_double(v);
    if (v == 0 && f->len && f->ptr[0] == '-')
        *out = -0.0;
    return ERR_OK;
}

static int parse_whole(const struct csv_field *f, int64_t min, int64_t max, int64_t *out)
{
    int err = num_parse_int(f->ptr, f->len, out);
    if (err)
        return err;
    return *out < min || *out > max ? ERR_INVALID : ERR_OK;
}

static int parse_row(const char *name, size_t line, const struct csv_field *f, struct screen_row *r,
                     struct diag *d)
{
    int err;
    int64_t v;
    memset(r, 0, sizeof *r);
    if (date_parse(f[C_DATE].ptr, f[C_DATE].len, &r->date))
        return bad_field(d, ERR_PARSE, name, line, "date", &f[C_DATE], "a date YYYY-MM-DD");
    if ((err = parse_whole(&f[C_RANK], 1, INT_MAX, &v)))
        return bad_field(d, err, name, line, "rank", &f[C_RANK], "a whole number, 1 or more");
    r->rank = (int)v;
    const struct csv_field *sym = &f[C_SYMBOL];
    if (!bar_symbol_valid(sym->ptr, sym->len))
        return bad_field(d, ERR_INVALID, name, line, "symbol", sym,
                         "a ticker of 1-15 characters A-Z 0-9 . - /");
    memcpy(r->symbol, sym->ptr, sym->len);
    r->symbol[sym->len] = '\0';
    if ((err = parse_price(&f[C_CLOSE], &r->close)))
        return bad_field(d, err, name, line, "close", &f[C_CLOSE], "a price, 0 or more");
    if ((err = parse_price(&f[C_PEAK], &r->peak)))
        return bad_field(d, err, name, line, "peak", &f[C_PEAK], "a price, 0 or more");
    if (date_parse(f[C_PEAK_DATE].ptr, f[C_PEAK_DATE].len, &r->peak_date))
        return bad_field(d, ERR_PARSE, name, line, "peak_date", &f[C_PEAK_DATE],
                         "a date YYYY-MM-DD");
    if (r->peak_date > r->date)
        return bad_field(d, ERR_INVALID, name, line, "peak_date", &f[C_PEAK_DATE],
                         "a date on or before the row's date");
    if ((err = parse_pct(&f[C_DRAWDOWN], &r->drawdown_pct)))
        return bad_field(d, err, name, line, "drawdown_pct", &f[C_DRAWDOWN], "a percentage");
    if ((err = parse_whole(&f[C_DAYS], 0, INT_MAX, &v)))
        return bad_field(d, err, name, line, "days_since_peak", &f[C_DAYS],
                         "a whole number, 0 or more");
    r->days_since_peak = (int)v;
    r->change_pct = (double)NAN;
    if (f[C_CHANGE].len && (err = parse_pct(&f[C_CHANGE], &r->change_pct)))
        return bad_field(d, err, name, line, "change_pct", &f[C_CHANGE], "a percentage or nothing");
    if ((err = parse_whole(&f[C_VOLUME], 0, INT64_MAX, &r->volume)))
        return bad_field(d, err, name, line, "volume", &f[C_VOLUME], "a whole number, 0 or more");
    return ERR_OK;
}

/* A (date, symbol) seen on a line, to find a symbol listed twice on a date. */
struct seen {
    int32_t date;
    char symbol[BAR_SYMBOL_MAX + 1];
    size_t line;
};

static int seen_cmp(const void *pa, const void *pb)
{
    const struct seen *a = pa, *b = pb;
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    int c = strcmp(a->symbol, b->symbol);
    if (c)
        return c;
    return (a->line > b->line) - (a->line < b->line);
}

static int check_unique(const char *name, struct seen *s, size_t n, struct diag *d)
{
    if (n < 2)
        return ERR_OK;
    qsort(s, n, sizeof *s, seen_cmp);
    for (size_t i = 1; i < n; i++) {
        if (s[i].date == s[i - 1].date && strcmp(s[i].symbol, s[i - 1].symbol) == 0) {
            char day[DATE_STRLEN + 1];
            date_format(s[i].date, day);
            return diag_set(d, ERR_INVALID,
                            "%s:%zu: field 'symbol': '%s' is listed twice on %s (line %zu too)",
                            name, s[i].line, s[i].symbol, day, s[i - 1].line);
        }
    }
    return ERR_OK;
}

/* Parse the rows of a screen CSV in data (written on: quoted fields are unescaped in place)
 * and append them to *rows.  one_date: every row must carry the date of the first (a screen);
 * otherwise dates ascend (the history).  Either way ranks ascend within a date and a symbol
 * appears once a date. */
static int parse_rows(const char *name, char *data, size_t len, int one_date,
                      struct screen_row **rows, size_t *n, size_t *cap, struct diag *d)
{
    struct csv_reader r;
    int err = read_header(&r, name, data, len, screen_cols, C_NCOLS, d);
    if (err)
        return err;
    struct seen *seen = NULL;
    size_t nseen = 0, seen_cap = 0;
    struct csv_field f[MAX_FIELDS];
    size_t nf;
    for (;;) {
        if ((err = csv_next(&r, f, MAX_FIELDS, &nf, d)) == ERR_EOF) {
            err = check_unique(name, seen, nseen, d);
            break;
        }
        if (err) {
            err = diag_prefix(d, err, "%s", name); /* the tokenizer names the line */
            break;
        }
        if (nf != C_NCOLS) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: expected %d fields as in the header, got %zu",
                           name, r.line, C_NCOLS, nf);
            break;
        }
        struct screen_row row;
        if ((err = parse_row(name, r.line, f, &row, d)))
            break;
        if (*n) {
            const struct screen_row *prev = &(*rows)[*n - 1];
            char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
            date_format(row.date, a);
            date_format(prev->date, b);
            if (one_date && row.date != prev->date) {
                err = diag_set(d, ERR_INVALID,
                               "%s:%zu: field 'date': a screen holds one date, got %s after %s",
                               name, r.line, a, b);
                break;
            }
            if (row.date < prev->date) {
                err = diag_set(d, ERR_INVALID,
                               "%s:%zu: field 'date': expected dates in ascending order, got %s "
                               "after %s",
                               name, r.line, a, b);
                break;
            }
            if (row.date == prev->date && row.rank <= prev->rank) {
                err = diag_set(d, ERR_INVALID,
                               "%s:%zu: field 'rank': expected ranks in ascending order, got %d "
                               "after %d",
                               name, r.line, row.rank, prev->rank);
                break;
            }
        }
        if (nseen == seen_cap) {
            size_t c = seen_cap ? seen_cap * 2 : 64;
            struct seen *p = realloc(seen, c * sizeof *p);
            if (!p) {
                err = diag_set(d, ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            seen = p;
            seen_cap = c;
        }
        seen[nseen].date = row.date;
        memcpy(seen[nseen].symbol, row.symbol, sizeof row.symbol);
        seen[nseen++].line = r.line;
        if ((err = rows_push(rows, n, cap, &row))) {
            diag_set(d, err, "%s: out of memory", name);
            break;
        }
    }
    free(seen);
    return err;
}

/* A writable copy of data for the tokenizer, which unescapes in place.  Exactly len bytes (no
 * terminator: the parsers never look past the end, and the sanitizers should see it if one
 * did). */
static char *copy_input(const char *data, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, data, len);
    return p;
}

int results_parse_screen(const char *name, const char *data, size_t len, struct results_screen *out,
                         struct diag *d)
{
    char *text = copy_input(data, len);
    if (!text)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    int err = parse_rows(name, text, len, 1, &out->rows, &out->n, &out->cap, d);
    if (out->n)
        out->date = out->rows[0].date;
    free(text);
    return err;
}

int results_parse_top(const char *name, const char *data, size_t len, struct results_history *out,
                      struct diag *d)
{
    char *text = copy_input(data, len);
    if (!text)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    int err = parse_rows(name, text, len, 0, &out->rows, &out->n, &out->cap, d);
    free(text);
    return err;
}

static int write_rows_csv(struct buf *out, const struct screen_row *a, size_t na,
                          const struct screen_row *b, size_t nb, const struct screen_row *c,
                          size_t nc)
{
    struct screen_opts o;
    screen_opts_default(&o);
    struct screen_writer w;
    int err = screen_writer_begin(&w, out, SCREEN_FORMAT_CSV, &o);
    if (!err)
        err = screen_writer_rows(&w, out, a, na);
    if (!err)
        err = screen_writer_rows(&w, out, b, nb);
    if (!err)
        err = screen_writer_rows(&w, out, c, nc);
    if (!err)
        err = screen_writer_end(&w, out);
    return err;
}

/* What the writers take from the caller: rows of one date, ranks ascending. */
static int check_rows(int32_t date, const struct screen_row *rows, size_t n, struct diag *d)
{
    char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
    for (size_t i = 0; i < n; i++) {
        if (rows[i].date != date) {
            date_format(rows[i].date, a);
            date_format(date, b);
            return diag_set(d, ERR_INVALID, "results: row %zu ('%s') is of %s, not %s", i + 1,
                            rows[i].symbol, a, b);
        }
        if (rows[i].rank < 1 || (i && rows[i].rank <= rows[i - 1].rank))
            return diag_set(d, ERR_INVALID, "results: row %zu ('%s') has rank %d out of order",
                            i + 1, rows[i].symbol, rows[i].rank);
    }
    return ERR_OK;
}

/* ---- conditional read-modify-write ---- */

/* What an rmw_fn asks of its object in *keep. */
enum {
    RMW_WRITE = 0, /* replace it with out */
    RMW_KEEP = 1,  /* leave it as it is */
    /* Its current content cannot be read: put a copy of it aside (rmw_aside_key) before it is
     * replaced with out, so that nothing is lost while the object itself works again. */
    RMW_ASIDE = 2,
};

/* Build the new content of key into out from its current content (data NULL when the object
 * is absent; data is a private writable copy), and say in *keep what to do (RMW_*). */
typedef int (*rmw_fn)(void *ctx, const char *key, char *data, size_t len, struct buf *out,
                      int *keep, struct diag *d);

/* One read-modify-write of rmw_many. */
struct rmw_item {
    const char *key;
    size_t max;
    rmw_fn fn;
    void *ctx;
    /* When not NULL: a write of the batch's first round that this one needs; when that fails,
     * this one is not attempted and fails with its error. */
    const struct objstore_req *after;
    int err;
    struct diag *d;
    /* The work: */
    struct buf cur, out;
    int exists, done, attempt;
};

static void rmw_end(struct rmw_item *it, int err)
{
    it->err = err;
    it->done = 1;
}

/* A parse of stored results that failed on the content (not for want of memory): the object
 * is damaged. */
static int unreadable(int err)
{
    return err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG;
}

/* "results/damaged/top_candidates-<16 hex digits of the content's SHA-256>.csv" for key
 * "results/top_candidates.csv": named by the content, so that a copy put aside twice is one. */
static void rmw_aside_key(const char *key, const char *data, size_t len, char out[OBJ_KEY_MAX])
{
    uint8_t h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    crypto_sha256(data, len, h);
    crypto_hex(h, SHA256_LEN, hex);
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(out, OBJ_KEY_MAX, "results/damaged/%.*s-%.16s%s", stem, base, hex, dot ? dot : "");
}

/* Put it->cur aside (RMW_ASIDE), before anything replaces it; an error keeps the object. */
static int rmw_put_aside(struct objstore *os, struct rmw_item *it)
{
    char aside[OBJ_KEY_MAX];
    rmw_aside_key(it->key, buf_cstr(&it->cur), it->cur.len, aside);
    struct diag pd = {{0}};
    int err = objstore_put(os, aside, buf_cstr(&it->cur), it->cur.len, OBJ_PUT_CREATE, NULL, &pd);
    if (err && err != ERR_EXISTS)
        return diag_set(it->d, err,
                        "%s is damaged and is kept as it is: its copy could not be "
                        "put aside as %s: %s",
                        it->key, aside, pd.text);
    log_warn("DAMAGED RESULTS REPLACED: the unreadable content is kept aside, and what it held "
             "is computed again from the bars",
             LF_STR("key", it->key), LF_STR("kept_as", aside), LF_STR("error", it->d->text));
    diag_clear(it->d);
    return ERR_OK;
}

/* Read each key with its etag, let its fn rewrite it, put it back only if nobody changed it
 * meanwhile (If-Match, or create-if-absent), and start over (that key alone) when somebody did:
 * what one rmw does per key, with the reads of every key in flight together and then the
 * writes (objstore_batch).  first (n_first requests, may be 0) go with the first reads.
 * Each item's outcome is in its err and d. */
static void rmw_many(struct objstore *os, struct rmw_item *items, size_t n,
                     struct objstore_req *first, size_t n_first)
{
    struct objstore_req *reqs = calloc(n + n_first, sizeof *reqs);
    size_t *of = calloc(n ? n : 1, sizeof *of);
    for (size_t i = 0; i < n; i++) {
        struct rmw_item *it = &items[i];
        buf_init(&it->cur, it->max);
        buf_init(&it->out, it->max);
        it->done = it->exists = 0;
        it->attempt = 1;
        if (!reqs || !of)
            rmw_end(it, diag_set(it->d, ERR_NOMEM, "%s: out of memory", it->key));
    }
    for (int round = 0; reqs && of; round++) {
        /* The reads. */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            struct rmw_item *it = &items[i];
            if (it->done)
                continue;
            buf_reset(&it->cur);
            buf_reset(&it->out);
            reqs[m] = (struct objstore_req){.op = OBJ_REQ_GET, .key = it->key, .out = &it->cur};
            of[m++] = i;
        }
        size_t nf = round == 0 ? n_first : 0;
        if (!m && !nf)
            break;
        if (nf)
            memcpy(reqs + m, first, nf * sizeof *first);
        objstore_batch(os, reqs, m + nf, NULL);
        if (nf)
            memcpy(first, reqs + m, nf * sizeof *first);
        /* The new contents. */
        size_t w = 0;
        for (size_t k = 0; k < m; k++) {
            struct rmw_item *it = &items[of[k]];
            struct objstore_req *g = &reqs[k];
            if (it->after && it->after->err) {
                *it->d = it->after->d;
                rmw_end(it, it->after->err);
                continue;
            }
            int err = g->err;
            it->exists = err == ERR_OK;
            if (err && err != ERR_NOTFOUND) {
                *it->d = g->d;
                rmw_end(it, err);
                continue;
            }
            char *work = NULL;
            if (it->exists && !(work = copy_input(buf_cstr(&it->cur), it->cur.len))) {
                rmw_end(it, diag_set(it->d, ERR_NOMEM, "%s: out of memory", it->key));
                continue;
            }
            int keep = RMW_WRITE;
            err = it->fn(it->ctx, it->key, work, it->cur.len, &it->out, &keep, it->d);
            free(work);
            if (!err && keep == RMW_ASIDE && it->exists)
                err = rmw_put_aside(os, it);
            if (err || keep == RMW_KEEP) {
                rmw_end(it, err);
                continue;
            }
            if (it->exists && it->out.len == it->cur.len &&
                memcmp(buf_cstr(&it->out), buf_cstr(&it->cur), it->cur.len) == 0) {
                rmw_end(it, ERR_OK); /* already so: a rerun writes nothing */
                continue;
            }
            struct objstore_req put = {
                .op = OBJ_REQ_PUT,
                .key = it->key,
                .data = buf_cstr(&it->out),
                .len = it->out.len,
                .mode = it->exists ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE,
            };
            memcpy(put.etag, g->etag, sizeof put.etag);
            reqs[w] = put;
            of[w++] = of[k];
        }
        /* The writes, each on the condition of its own read. */
        for (size_t k = 0; k < w; k++)
            reqs[k].if_match = reqs[k].mode == OBJ_PUT_IF_MATCH ? reqs[k].etag : NULL;
        objstore_batch(os, reqs, w, NULL);
        for (size_t k = 0; k < w; k++) {
            struct rmw_item *it = &items[of[k]];
            int err = reqs[k].err;
            if (err != ERR_PRECONDITION && err != ERR_EXISTS &&
                !(it->exists && err == ERR_NOTFOUND)) {
                if (err)
                    *it->d = reqs[k].d;
                rmw_end(it, err);
                continue;
            }
            log_info("another writer changed the object first: reading it again",
                     LF_STR("key", it->key), LF_INT("attempt", it->attempt));
            if (++it->attempt > RESULTS_WRITE_ATTEMPTS)
                rmw_end(it, diag_set(it->d, ERR_PRECONDITION,
                                     "'%s': gave up after %d attempts, another writer changed it "
                                     "each time",
                                     it->key, RESULTS_WRITE_ATTEMPTS));
        }
    }
    for (size_t i = 0; i < n; i++) {
        buf_release(&items[i].cur);
        buf_release(&items[i].out);
    }
    free(reqs);
    free(of);
}

/* One read-modify-write (rmw_many). */
static int rmw(struct objstore *os, const char *key, size_t max, rmw_fn fn, void *ctx,
               struct diag *d)
{
    struct rmw_item it = {.key = key, .max = max, .fn = fn, .ctx = ctx, .d = d};
    rmw_many(os, &it, 1, NULL, 0);
    return it.err;
}

/* ---- screens ---- */

struct latest_ctx {
    int32_t date;
    const char *data;
    size_t len;
};

static int replace_latest(void *ctx, const char *key, char *data, size_t len, struct buf *out,
                          int *keep, struct diag *d)
{
    struct latest_ctx *l = ctx;
    if (data) {
        struct results_screen cur = {0};
        struct diag pd;
        int err = parse_rows(key, data, len, 1, &cur.rows, &cur.n, &cur.cap, &pd);
        if (err)
            /* It is derived from the bars: replace it rather than keep a broken copy. */
            log_warn("replacing an unreadable latest screen", LF_STR("key", key),
                     LF_STR("error", pd.text));
        else if (cur.n && cur.rows[0].date > l->date)
            *keep = RMW_KEEP;
        free(cur.rows);
    }
    int err = *keep == RMW_KEEP ? ERR_OK : buf_append(out, l->data, l->len);
    return err ? diag_set(d, err, "%s: %s", key, err_str(err)) : ERR_OK;
}

int results_write_screen(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                         int latest, struct diag *d)
{
    int err = check_rows(date, rows, n, d);
    if (err)
        return err;
    struct buf b = BUF_INIT(SCREEN_MAX);
    char key[OBJ_KEY_MAX];
    results_screen_key(date, key);
    if ((err = write_rows_csv(&b, rows, n, NULL, 0, NULL, 0)))
        err = diag_set(d, err, "%s: %s", key, err_str(err));
    if (!err)
        err = objstore_put(os, key, buf_cstr(&b), b.len, OBJ_PUT_ALWAYS, NULL, d);
    if (!err && latest) {
        struct latest_ctx l = {date, buf_cstr(&b), b.len};
        err = rmw(os, RESULTS_LATEST_KEY, SCREEN_MAX, replace_latest, &l, d);
    }
    buf_release(&b);
    return err;
}

int results_read_latest(struct objstore *os, struct results_latest *cache, struct diag *d)
{
    struct buf b = BUF_INIT(SCREEN_MAX);
    char etag[OBJ_ETAG_MAX] = "", empty[1] = "";
    int err = objstore_get(os, RESULTS_LATEST_KEY, &b, etag, d);
    if (!err && cache->valid && strcmp(etag, cache->etag) == 0) {
        buf_release(&b);
        return ERR_OK;
    }
    struct results_screen fresh = {0};
    if (!err)
        err = parse_rows(RESULTS_LATEST_KEY, b.data ? b.data : empty, b.len, 1, &fresh.rows,
                         &fresh.n, &fresh.cap, d);
    buf_release(&b);
    if (err) {
        results_screen_release(&fresh);
        return err;
    }
    fresh.date = fresh.n ? fresh.rows[0].date : 0;
    results_screen_release(&cache->screen);
    cache->screen = fresh;
    memcpy(cache->etag, etag, sizeof etag);
    cache->valid = 1;
    return ERR_OK;
}

void results_latest_release(struct results_latest *cache)
{
    results_screen_release(&cache->screen);
    memset(cache, 0, sizeof *cache);
}

int results_read_screen(struct objstore *os, int32_t date, struct results_screen *out,
                        struct diag *d)
{
    char key[OBJ_KEY_MAX];
    if (date)
        results_screen_key(date, key);
    else
        snprintf(key, sizeof key, "%s", RESULTS_LATEST_KEY);
    struct buf b = BUF_INIT(SCREEN_MAX);
    char empty[1] = "";
    memset(out, 0, sizeof *out);
    int err = objstore_get(os, key, &b, NULL, d);
    if (!err) {
        err = parse_rows(key, b.data ? b.data : empty, b.len, 1, &out->rows, &out->n, &out->cap, d);
        out->date = out->n ? out->rows[0].date : date;
    }
    if (!err && date && out->date != date) {
        char a[DATE_STRLEN + 1], want[DATE_STRLEN + 1];
        date_format(out->date, a);
        date_format(date, want);
        err = diag_set(d, ERR_INVALID, "%s: holds the screen of %s, expected %s", key, a, want);
    }
    if (err && err != ERR_NOTFOUND)
        results_screen_release(out);
    buf_release(&b);
    return err;
}

/* ---- the history of top candidates ---- */

struct top_ctx {
    int32_t date;
    const struct screen_row *rows;
    size_t n;
};

static int merge_top(void *ctx, const char *key, char *data, size_t len, struct buf *out, int *keep,
                     struct diag *d)
{
    const struct top_ctx *t = ctx;
    struct results_history h = {0};
    int err = data ? parse_rows(key, data, len, 0, &h.rows, &h.n, &h.cap, d) : ERR_OK;
    if (unreadable(err)) {
        /* Derived from the bars: the day's rows now, the other dates filled again from the
         * bars (results_fill_top), the damaged content kept aside. */
        h.n = 0;
        *keep = RMW_ASIDE;
        err = ERR_OK;
    }
    if (!err) {
        size_t lo = 0, hi;
        while (lo < h.n && h.rows[lo].date < t->date)
            lo++;
        for (hi = lo; hi < h.n && h.rows[hi].date == t->date;)
            hi++;
        if ((err = write_rows_csv(out, h.rows, lo, t->rows, t->n, h.rows + hi, h.n - hi)))
            err = diag_set(d, err, "%s: %s", key, err_str(err));
    }
    results_history_release(&h);
    return err;
}

int results_append_top(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                       size_t top, struct diag *d)
{
    int err = check_rows(date, rows, n, d);
    if (err)
        return err;
    struct top_ctx t = {date, rows, top && top < n ? top : n};
    return rmw(os, RESULTS_TOP_KEY, HISTORY_MAX, merge_top, &t, d);
}

static void exports_reqs(const struct results_exports *x, struct objstore_req w[2]);
static int exports_outcome(const struct objstore_req w[2], struct diag *d);

void results_write_day(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                       size_t top, struct results_day *out)
{
    results_write_day_with(os, date, rows, n, top, NULL, out);
}

void results_write_day_with(struct objstore *os, int32_t date, const struct screen_row *rows,
                            size_t n, size_t top, const struct results_exports *x,
                            struct results_day *out)
{
    memset(out, 0, sizeof *out);
    /* first: the dated screen, then the exports' two writes, all with the first reads. */
    struct objstore_req first[3];
    size_t nx = 0;
    if (x)
        exports_reqs(x, first + 1);
    out->screen_err = check_rows(date, rows, n, &out->screen_d);
    if (out->screen_err) {
        out->top_err = out->screen_err;
        out->top_d = out->screen_d;
        if (x) { /* nothing of the day's is written: the exports alone */
            objstore_batch(os, first + 1, 2, NULL);
            out->exports_err = exports_outcome(first + 1, &out->exports_d);
        }
        return;
    }
    struct buf b = BUF_INIT(SCREEN_MAX);
    char key[OBJ_KEY_MAX];
    results_screen_key(date, key);
    int err = write_rows_csv(&b, rows, n, NULL, 0, NULL, 0);
    if (err)
        out->screen_err = diag_set(&out->screen_d, err, "%s: %s", key, err_str(err));
    first[0] = (struct objstore_req){
        .op = OBJ_REQ_PUT, .key = key, .data = buf_cstr(&b), .len = b.len, .mode = OBJ_PUT_ALWAYS};
    struct latest_ctx l = {date, buf_cstr(&b), b.len};
    struct top_ctx t = {date, rows, top && top < n ? top : n};
    struct rmw_item items[2] = {
        {.key = RESULTS_TOP_KEY, .max = HISTORY_MAX, .fn = merge_top, .ctx = &t, .d = &out->top_d},
        {.key = RESULTS_LATEST_KEY,
         .max = SCREEN_MAX,
         .fn = replace_latest,
         .ctx = &l,
         .after = &first[0],
         .d = &out->screen_d},
    };
    if (x)
        nx = 2;
    /* The dated screen goes with the reads; latest.csv is written only once it is in. */
    size_t skip = out->screen_err ? 1 : 0; /* no dated screen to write */
    rmw_many(os, items, out->screen_err ? 1 : 2, first + skip, 1 - skip + nx);
    out->top_err = items[0].err;
    if (!out->screen_err)
        out->screen_err = items[1].err;
    if (x)
        out->exports_err = exports_outcome(first + 1, &out->exports_d);
    buf_release(&b);
}

/* ---- the newest stored date's results ---- */

static int keep_newest(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct results_newest *out = ctx;
    out->date = date;
    if (!n)
        return ERR_OK;
    if (!(out->rows = malloc(n * sizeof *rows)))
        return ERR_NOMEM;
    memcpy(out->rows, rows, n * sizeof *rows);
    out->n = n;
    return ERR_OK;
}

int results_write_newest(struct objstore *os, struct barstore *bs, struct results_newest *out,
                         struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct screen_opts so;
    screen_opts_default(&so);
    so.by = SCREEN_BY_DRAWDOWN;
    so.top = 0;
    struct screen_run_stats rs;
    struct diag sd = {{0}};
    int err = screen_run(bs, &so, INT32_MIN, INT32_MIN, keep_newest, out, &rs, &sd);
    if (err == ERR_NOTFOUND) { /* nothing stored yet: nothing to rank */
        free(out->rows);
        memset(out, 0, sizeof *out);
        return ERR_OK;
    }
    if (err) {
        free(out->rows);
        memset(out, 0, sizeof *out);
        if (!sd.text[0])
            diag_set(&sd, err, "%s", err_str(err));
        log_warn("results not written", LF_STR("results", "screen"), LF_STR("error", sd.text));
        *d = sd;
        return diag_prefix(d, err, "results not written: screening the newest day");
    }
    /* The screen, the top candidates and the exports: their requests in flight together (the
     * exports depend on nothing the others write). */
    static const char *const parts[] = {"screen", "top candidates", "exports"};
    struct results_exports x;
    struct diag xd = {{0}};
    struct log_timer t = log_timer_start("results exports");
    int xerr = results_exports_make(bs, out->date, &x, &xd);
    struct results_day day;
    results_write_day_with(os, out->date, out->rows, out->n, RESULTS_TOP_DEFAULT, xerr ? NULL : &x,
                           &day);
    if (!xerr) {
        xerr = day.exports_err;
        xd = day.exports_d;
        results_exports_release(&x);
    }
    log_timer_end(&t, xerr);
    int first = ERR_OK;
    for (int i = 0; i < 3; i++) {
        const struct diag *pd = i == 0 ? &day.screen_d : i == 1 ? &day.top_d : &xd;
        int perr = i == 0 ? day.screen_err : i == 1 ? day.top_err : xerr;
        if (!perr)
            continue;
        log_warn("results not written", LF_STR("results", parts[i]), LF_STR("error", pd->text));
        if (!first)
            first = diag_set(d, perr, "results (%s) not written: %s", parts[i], pd->text);
    }
    return first;
}

int results_newest_current(struct objstore *os, int32_t date, int *current, struct diag *d)
{
    *current = 0;
    char dated[OBJ_KEY_MAX];
    results_screen_key(date, dated);
    struct buf latest = BUF_INIT(SCREEN_MAX);
    struct strvec keys[3] = {STRVEC_INIT, STRVEC_INIT, STRVEC_INIT};
    const char *const want[3] = {dated, RESULTS_CLOSES_KEY, RESULTS_BARS1Y_KEY};
    struct objstore_req reqs[4] = {{.op = OBJ_REQ_GET, .key = RESULTS_LATEST_KEY, .out = &latest}};
    for (int i = 0; i < 3; i++)
        reqs[i + 1] = (struct objstore_req){.op = OBJ_REQ_LIST, .key = want[i], .keys = &keys[i]};
    objstore_batch(os, reqs, 4, NULL);
    int err = ERR_OK, there = 1;
    for (int i = 0; i < 4 && !err; i++) {
        if (reqs[i].err == ERR_NOTFOUND && i == 0)
            there = 0;
        else if (reqs[i].err)
            err = diag_set(d, reqs[i].err, "%s", reqs[i].d.text);
    }
    for (int i = 0; i < 3 && !err; i++) {
        int found = 0;
        for (size_t k = 0; k < keys[i].n; k++)
            found |= strcmp(keys[i].v[k], want[i]) == 0;
        there &= found;
    }
    if (!err && there) {
        struct results_screen s = {0};
        struct diag ignored;
        /* An unreadable latest.csv is replaced by the next write: not current. */
        *current = results_parse_screen(RESULTS_LATEST_KEY, buf_cstr(&latest), latest.len, &s,
                                        &ignored) == ERR_OK &&
                   (s.n == 0 || s.date >= date);
        results_screen_release(&s);
    }
    for (int i = 0; i < 3; i++)
        strvec_release(&keys[i]);
    buf_release(&latest);
    return err;
}

int results_read_top(struct objstore *os, struct results_history *out, struct diag *d)
{
    struct buf b = BUF_INIT(HISTORY_MAX);
    char empty[1] = "";
    memset(out, 0, sizeof *out);
    int err = objstore_get(os, RESULTS_TOP_KEY, &b, NULL, d);
    if (!err)
        err = parse_rows(RESULTS_TOP_KEY, b.data ? b.data : empty, b.len, 0, &out->rows, &out->n,
                         &out->cap, d);
    if (err)
        results_history_release(out);
    buf_release(&b);
    return err;
}

/* ---- past picks from day one ---- */

struct fill {
    const int32_t *missing; /* ascending */
    size_t nmissing, next;  /* the next missing date a pass may meet */
    int64_t deadline_ms;
    int stopped;
    struct screen_row *rows; /* the new rows, ascending by date then rank */
    size_t n, cap;
    size_t dates_added;
};

static int fill_emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct fill *f = ctx;
    while (f->next < f->nmissing && f->missing[f->next] < date)
        f->next++;
    if (f->next == f->nmissing || f->missing[f->next] != date)
        return ERR_OK; /* already in the history */
    if (f->deadline_ms && clock_wall_ms() >= f->deadline_ms) {
        f->stopped = 1;
        return ERR_TIMEOUT;
    }
    f->dates_added += n > 0;
    for (size_t i = 0; i < n; i++)
        if (rows_push(&f->rows, &f->n, &f->cap, &rows[i]))
            return ERR_NOMEM;
    return ERR_OK;
}

/* Merge the new rows (dates the history lacked) into the current history. */
static int merge_fill(void *ctx, const char *key, char *data, size_t len, struct buf *out,
                      int *keep, struct diag *d)
{
    const struct fill *f = ctx;
    struct results_history h = {0}, m = {0};
    int err = data ? parse_rows(key, data, len, 0, &h.rows, &h.n, &h.cap, d) : ERR_OK;
    if (unreadable(err)) { /* as merge_top */
        h.n = 0;
        *keep = RMW_ASIDE;
        err = ERR_OK;
    }
    size_t i = 0, j = 0;
    while (!err && (i < h.n || j < f->n)) {
        if (j == f->n || (i < h.n && h.rows[i].date <= f->rows[j].date)) {
            int32_t date = h.rows[i].date;
            while (j < f->n && f->rows[j].date == date) /* another writer put it there */
                j++;
            for (; !err && i < h.n && h.rows[i].date == date; i++)
                err = rows_push(&m.rows, &m.n, &m.cap, &h.rows[i]);
        } else {
            err = rows_push(&m.rows, &m.n, &m.cap, &f->rows[j++]);
        }
        if (err)
            err = diag_set(d, err, "%s: out of memory", key);
    }
    if (!err && (err = write_rows_csv(out, m.rows, m.n, NULL, 0, NULL, 0)))
        err = diag_set(d, err, "%s: %s", key, err_str(err));
    results_history_release(&h);
    results_history_release(&m);
    return err;
}

int results_fill_top(struct objstore *os, struct barstore *bs, size_t top, int64_t deadline_ms,
                     struct results_fill_stats *stats, struct diag *d)
{
    memset(stats, 0, sizeof *stats);
    stats->complete = 1;
    struct screen_opts so;
    screen_opts_default(&so);
    so.by = SCREEN_BY_DRAWDOWN;
    so.top = top;
    struct bar_index idx = {0};
    struct results_history h = {0};
    struct fill f = {.deadline_ms = deadline_ms};
    int32_t *missing = NULL;
    struct log_timer t = log_timer_start("history fill");
    int err = barstore_index(bs, INT32_MIN, INT32_MAX, &idx, d);
    if (!err && (err = results_read_top(os, &h, d)) != ERR_OK &&
        (err == ERR_NOTFOUND || unreadable(err))) {
        /* None, or damaged (merge_fill puts it aside): every date is missing. */
        results_history_release(&h);
        memset(&h, 0, sizeof h);
        diag_clear(d);
        err = ERR_OK;
    }
    if (!err && idx.ndays && !(missing = malloc(idx.ndays * sizeof *missing)))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    stats->dates_stored = idx.ndays;
    /* The stored dates whose window holds min_bars stored dates and that the history lacks:
     * both lists ascend, so one walk finds them. */
    size_t lo = 0, k = 0;
    for (size_t i = 0; !err && i < idx.ndays; i++) {
        int32_t date = idx.days[i].date;
        while (idx.days[lo].date < date - (so.window_days - 1))
            lo++;
        while (k < h.n && h.rows[k].date < date)
            k++;
        if (i - lo + 1 >= (size_t)so.min_bars && !(k < h.n && h.rows[k].date == date))
            missing[stats->dates_missing++] = date;
    }
    f.missing = missing;
    f.nmissing = stats->dates_missing;
    /* One pass per group of missing dates: a pass reads from window - 1 days before its first
     * date, so a missing date within the window of the previous one joins its pass. */
    for (size_t g = 0; !err && !f.stopped && g < f.nmissing;) {
        size_t e = g;
        while (e + 1 < f.nmissing && missing[e + 1] - missing[e] < so.window_days)
            e++;
        struct screen_run_stats rs;
        f.next = g;
        err = screen_run(bs, &so, missing[g], missing[e], fill_emit, &f, &rs, d);
        stats->passes++;
        stats->days_read += rs.days_read;
        if (err == ERR_TIMEOUT && f.stopped)
            err = ERR_OK;
        else if (err == ERR_NOMEM)
            err = diag_set(d, err, "out of memory");
        g = e + 1;
    }
    if (!err && f.n)
        err = rmw(os, RESULTS_TOP_KEY, HISTORY_MAX, merge_fill, &f, d);
    stats->dates_added = f.dates_added;
    stats->complete = !f.stopped;
    if (f.stopped)
        log_warn("history fill: stopped at the deadline, the next run continues",
                 LF_INT("dates_added", f.dates_added),
                 LF_INT("dates_missing", stats->dates_missing));
    log_timer_end(&t, err);
    free(f.rows);
    free(missing);
    results_history_release(&h);
    bar_index_release(&idx);
    return err;
}

/* ---- closes and the bar archive ---- */

static const char *const closes_cols[] = {"symbol", "date", "closes"};
#define CLOSES_HEADER "symbol,date,closes\n"

/* A symbol's last RESULTS_CLOSES closes as stored (raw), in a ring: oldest at head. */
struct csym {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t dates[RESULTS_CLOSES];
    int64_t closes[RESULTS_CLOSES];
    size_t head, len;
};

struct exports {
    struct buf *bars;
    struct csym *syms; /* sorted by symbol between days */
    size_t nsyms, cap;
    int32_t recent[RESULTS_CLOSES_RECENT_DAYS]; /* the latest days scanned, a ring */
    size_t ndays;
    struct diag *d;
    /* The export names every company as it is named on the export's date. */
    int32_t as_of;
    const struct symchange *changes;
    size_t nchanges;
    struct barvec day;
};

static int csym_cmp(const void *a, const void *b)
{
    return strcmp(((const struct csym *)a)->symbol, ((const struct csym *)b)->symbol);
}

static void csym_push(struct csym *c, int32_t date, int64_t close)
{
    size_t i = (c->head + c->len) % RESULTS_CLOSES;
    c->dates[i] = date;
    c->closes[i] = close;
    if (c->len < RESULTS_CLOSES)
        c->len++;
    else
        c->head = (c->head + 1) % RESULTS_CLOSES;
}

static int export_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct exports *x = ctx;
    int err = ERR_OK;
    if (x->nchanges) {
        size_t dropped;
        x->day.n = 0;
        if (barvec_reserve(&x->day, n))
            return diag_set(x->d, ERR_NOMEM, "out of memory");
        memcpy(x->day.v, bars, n * sizeof *bars);
        x->day.n = n;
        if (symchange_map_day(x->changes, x->nchanges, x->as_of, &x->day, &dropped))
            return diag_set(x->d, ERR_NOMEM, "out of memory");
        bars = x->day.v;
        n = x->day.n;
    }
    for (size_t i = 0; i < n && !err; i++)
        err = barcsv_write_row(x->bars, &bars[i]);
    if (err)
        return diag_set(x->d, err, "%s: %s (the limit is %zu bytes)", RESULTS_BARS1Y_KEY,
                        err_str(err), x->bars->max);
    x->recent[x->ndays++ % RESULTS_CLOSES_RECENT_DAYS] = date;

    /* The day's bars and the table are both sorted by symbol: walk them together; a symbol
     * seen for the first time goes to the end, and the table is sorted again after the day. */
    size_t nold = x->nsyms, j = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bar *b = &bars[i];
        int c = -1;
        while (j < nold && (c = strcmp(x->syms[j].symbol, b->symbol)) < 0)
            j++;
        struct csym *s;
        if (j < nold && c == 0) {
            s = &x->syms[j++];
        } else {
            if (x->nsyms == x->cap) {
                size_t cap = x->cap ? x->cap * 2 : 1024;
                struct csym *p = realloc(x->syms, cap * sizeof *p);
                if (!p)
                    return diag_set(x->d, ERR_NOMEM, "out of memory");
                x->syms = p;
                x->cap = cap;
            }
            s = &x->syms[x->nsyms++];
            memset(s, 0, sizeof *s);
            memcpy(s->symbol, b->symbol, sizeof s->symbol);
        }
        csym_push(s, date, b->close);
    }
    if (x->nsyms > nold)
        qsort(x->syms, x->nsyms, sizeof *x->syms, csym_cmp);
    return ERR_OK;
}

/* One symbol's line: closes split-adjusted as of date exactly as the screen engine computes
 * them (raw times the factors up to the bar, divided by the factors up to date), so the last
 * one is the close the screen shows. */
static int closes_line(struct buf *out, const struct csym *c, const struct split *sp, size_t nsp,
                       int32_t date)
{
    double g_date = 1.0;
    for (size_t k = 0; k < nsp && sp[k].ex_date <= date; k++)
        g_date *= split_factor(&sp[k]);
    char day[DATE_STRLEN + 1];
    date_format(c->dates[(c->head + c->len - 1) % RESULTS_CLOSES], day);
    int err = buf_printf(out, "%s,%s,", c->symbol, day);
    double g = 1.0;
    size_t k = 0;
    for (size_t i = 0; i < c->len && !err; i++) {
        size_t at = (c->head + i) % RESULTS_CLOSES;
        while (k < nsp && sp[k].ex_date <= c->dates[at])
            g *= split_factor(&sp[k++]);
        /* ";" and the close; the first close goes without the ";".  Without splits, the
         * text printf would give, made in integers where that is exact. */
        char num[1 + DBL_MAX_10_EXP + 8];
        num[0] = ';';
        size_t len = nsp ? 0 : num_format_4dp(c->closes[at], num + 1);
        if (!len) {
            double close_s = (double)c->closes[at] * g;
            int w = snprintf(num + 1, sizeof num - 1, "%.4f",
                             close_s / g_date / (double)NUM_FIXED_SCALE);
            if (w < 0 || (size_t)w >= sizeof num - 1)
                return ERR_INVALID;
            len = (size_t)w;
        }
        err = buf_append(out, i ? num : num + 1, i ? len + 1 : len);
    }
    return err ? err : buf_putc(out, '\n');
}

static int write_closes(struct buf *out, const struct exports *x, const struct splitvec *splits,
                        int32_t date)
{
    int32_t cutoff = INT32_MIN;
    if (x->ndays >= RESULTS_CLOSES_RECENT_DAYS)
        cutoff = x->recent[x->ndays % RESULTS_CLOSES_RECENT_DAYS]; /* the oldest of the ring */
    int err = buf_puts(out, CLOSES_HEADER);
    size_t k = 0; /* splits and symbols are both sorted by symbol */
    for (size_t i = 0; i < x->nsyms && !err; i++) {
        const struct csym *c = &x->syms[i];
        while (k < splits->n && strcmp(splits->v[k].symbol, c->symbol) < 0)
            k++;
        size_t end = k;
        while (end < splits->n && strcmp(splits->v[end].symbol, c->symbol) == 0)
            end++;
        if (c->dates[(c->head + c->len - 1) % RESULTS_CLOSES] >= cutoff)
            err = closes_line(out, c, splits->v + k, end - k, date);
        k = end;
    }
    return err;
}

int results_exports_make(struct barstore *bs, int32_t date, struct results_exports *out,
                         struct diag *d)
{
    buf_init(&out->bars, BARSTORE_PART_MAX);
    buf_init(&out->closes, CLOSES_MAX);
    struct splitvec splits;
    splitvec_init(&splits);
    struct symchangevec changes;
    symchangevec_init(&changes);
    struct exports x = {.bars = &out->bars, .d = d, .as_of = date};
    barvec_init(&x.day);
    int err = symlog_read_splits(bs, date, &splits, d);
    if (!err)
        err = symlog_read(bs, &changes, d);
    x.changes = changes.v;
    x.nchanges = changes.n;
    if (!err && (err = barcsv_write_header(&out->bars)))
        err = diag_set(d, err, "%s: %s", RESULTS_BARS1Y_KEY, err_str(err));
    if (!err)
        err = barstore_scan(bs, date - (RESULTS_BARS_DAYS - 1), date, export_day, &x, d);
    if (!err && (err = write_closes(&out->closes, &x, &splits, date)))
        err = diag_set(d, err, "%s: %s (the limit is %zu bytes)", RESULTS_CLOSES_KEY, err_str(err),
                       out->closes.max);
    free(x.syms);
    barvec_release(&x.day);
    symchangevec_release(&changes);
    splitvec_release(&splits);
    if (err)
        results_exports_release(out);
    return err;
}

void results_exports_release(struct results_exports *x)
{
    buf_release(&x->bars);
    buf_release(&x->closes);
}

/* The exports' two writes, unconditional (each file is derived from the bars). */
static void exports_reqs(const struct results_exports *x, struct objstore_req w[2])
{
    w[0] = (struct objstore_req){.op = OBJ_REQ_PUT,
                                 .key = RESULTS_BARS1Y_KEY,
                                 .data = buf_cstr(&x->bars),
                                 .len = x->bars.len};
    w[1] = (struct objstore_req){.op = OBJ_REQ_PUT,
                                 .key = RESULTS_CLOSES_KEY,
                                 .data = buf_cstr(&x->closes),
                                 .len = x->closes.len};
}

/* The first of the two writes' failures. */
static int exports_outcome(const struct objstore_req w[2], struct diag *d)
{
    for (int i = 0; i < 2; i++)
        if (w[i].err) {
            *d = w[i].d;
            return w[i].err;
        }
    return ERR_OK;
}

int results_write_exports(struct objstore *os, struct barstore *bs, int32_t date, struct diag *d)
{
    struct log_timer t = log_timer_start("results exports");
    struct results_exports x;
    int err = results_exports_make(bs, date, &x, d);
    if (!err) { /* both at once (objstore_batch); the first failure is the one reported */
        struct objstore_req w[2];
        exports_reqs(&x, w);
        err = objstore_batch(os, w, 2, d);
        results_exports_release(&x);
    }
    log_timer_end(&t, err);
    return err;
}

static int parse_closes_field(const char *name, size_t line, const struct csv_field *f, double *out,
                              size_t *n, struct diag *d)
{
    const char *p = f->ptr, *end = f->ptr + f->len;
    *n = 0;
    for (;;) {
        const char *q = p;
        while (q < end && *q != ';')
            q++;
        struct csv_field item = {p, (size_t)(q - p)};
        char what[64];
        snprintf(what, sizeof what, "close %zu: a price, 0 or more", *n + 1);
        if (*n == RESULTS_CLOSES)
            return diag_set(d, ERR_INVALID, "%s:%zu: field 'closes': expected at most %d closes",
                            name, line, RESULTS_CLOSES);
        int err = parse_price(&item, &out[*n]);
        if (err)
            return bad_field(d, err, name, line, "closes", &item, what);
        (*n)++;
        if (q == end)
            return ERR_OK;
        p = q + 1;
    }
}

static int parse_closes(const char *name, const char *data, size_t len, const char *symbol,
                        struct results_closes *out, results_closes_fn fn, void *ctx, struct diag *d)
{
    char *text = copy_input(data, len);
    if (!text)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    struct csv_reader r;
    int err = read_header(&r, name, text, len, closes_cols, 3, d);
    int found = 0;
    char prev[BAR_SYMBOL_MAX + 1] = "";
    struct csv_field f[MAX_FIELDS];
    size_t nf;
    size_t slen = symbol ? strlen(symbol) : 0;
    while (!err) {
        /* Looking one symbol up (a reader does on every /stock), rows that do not start with
         * it are passed over unread; they are ours and plain (no quotes).  Without a symbol
         * every row is checked in full. */
        while (
            symbol && r.p < r.end &&
            !((size_t)(r.end - r.p) > slen && memcmp(r.p, symbol, slen) == 0 && r.p[slen] == ',')) {
            char *nl = memchr(r.p, '\n', (size_t)(r.end - r.p));
            r.p = nl ? nl + 1 : r.end;
            r.next_line++;
        }
        if ((err = csv_next(&r, f, MAX_FIELDS, &nf, d)) == ERR_EOF) {
            err = ERR_OK;
            break;
        }
        if (err) {
            err = diag_prefix(d, err, "%s", name);
            break;
        }
        if (nf != 3) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: expected 3 fields as in the header, got %zu",
                           name, r.line, nf);
            break;
        }
        const struct csv_field *sym = &f[0];
        if (!bar_symbol_valid(sym->ptr, sym->len)) {
            err = bad_field(d, ERR_INVALID, name, r.line, "symbol", sym,
                            "a ticker of 1-15 characters A-Z 0-9 . - /");
            break;
        }
        char s[BAR_SYMBOL_MAX + 1];
        memcpy(s, sym->ptr, sym->len);
        s[sym->len] = '\0';
        if (prev[0] && strcmp(s, prev) <= 0) {
            err = bad_field(d, ERR_INVALID, name, r.line, "symbol", sym,
                            "symbols in ascending order, each once");
            break;
        }
        memcpy(prev, s, sizeof s);
        struct results_closes c;
        if (date_parse(f[1].ptr, f[1].len, &c.date)) {
            err = bad_field(d, ERR_PARSE, name, r.line, "date", &f[1], "a date YYYY-MM-DD");
            break;
        }
        if ((err = parse_closes_field(name, r.line, &f[2], c.closes, &c.n, d)))
            break;
        if (symbol && strcmp(s, symbol) == 0) {
            *out = c;
            found = 1;
        }
        if (fn && (err = fn(ctx, s, &c)))
            break;
    }
    if (!err && symbol && !found) {
        char q[64];
        diag_quote(q, sizeof q, symbol, strlen(symbol), 40);
        err = diag_set(d, ERR_NOTFOUND, "%s: no closes for '%s'", name, q);
    }
    free(text);
    return err;
}

int results_parse_closes(const char *name, const char *data, size_t len, const char *symbol,
                         struct results_closes *out, struct diag *d)
{
    return parse_closes(name, data, len, symbol, out, NULL, NULL, d);
}

int results_parse_closes_each(const char *name, const char *data, size_t len, results_closes_fn fn,
                              void *ctx, struct diag *d)
{
    return parse_closes(name, data, len, NULL, NULL, fn, ctx, d);
}

int results_read_closes_each(struct objstore *os, results_closes_fn fn, void *ctx, struct diag *d)
{
    struct buf b = BUF_INIT(CLOSES_MAX);
    int err = objstore_get(os, RESULTS_CLOSES_KEY, &b, NULL, d);
    if (!err)
        err = parse_closes(RESULTS_CLOSES_KEY, buf_cstr(&b), b.len, NULL, NULL, fn, ctx, d);
    buf_release(&b);
    return err;
}

int results_read_closes(struct objstore *os, const char *symbol, struct results_closes *out,
                        struct diag *d)
{
    struct buf b = BUF_INIT(CLOSES_MAX);
    int err = objstore_get(os, RESULTS_CLOSES_KEY, &b, NULL, d);
    if (!err)
        err = results_parse_closes(RESULTS_CLOSES_KEY, buf_cstr(&b), b.len, symbol, out, d);
    buf_release(&b);
    return err;
}

/* ---- the last run ---- */

static int put_date(struct buf *b, const char *key, int32_t date)
{
    if (!date)
        return buf_printf(b, ",\"%s\":null", key);
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    return buf_printf(b, ",\"%s\":\"%s\"", key, day);
}

int results_run_json(const struct results_run *r, struct buf *out, struct diag *d)
{
    struct buf b = BUF_INIT(RUN_MAX);
    /* A human-readable copy of finished_ms: "2026-11-20T21:05:00.123Z". */
    int64_t day = r->finished_ms / 86400000, ms = r->finished_ms % 86400000;
    if (ms < 0) {
        ms += 86400000;
        day--;
    }
    char when[DATE_STRLEN + 1];
    date_format((int32_t)day, when);
    int err = buf_printf(&b, "{\"finished_ms\":%lld,\"finished\":\"%sT%02d:%02d:%02d.%03dZ\"",
                         (long long)r->finished_ms, when, (int)(ms / 3600000),
                         (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
    if (!err)
        err = put_date(&b, "date", r->date);
    if (!err)
        err = put_date(&b, "end", r->end);
    if (!err)
        err = put_date(&b, "final_day", r->final_day);
    if (!err)
        err = buf_printf(&b, ",\"bars_revised\":%llu,\"symbol_changes_new\":%llu",
                         (unsigned long long)r->bars_revised,
                         (unsigned long long)r->symbol_changes_new);
    if (!err)
        err = buf_printf(&b,
                         ",\"complete\":%s,\"symbols\":%llu,\"symbols_fetched\":%llu,"
                         "\"symbols_failed\":%llu,\"bars_new\":%llu,\"requests\":%llu,"
                         "\"retries\":%llu,\"errors\":%llu,\"duration_ms\":%lld,\"error\":\"",
                         r->complete ? "true" : "false", (unsigned long long)r->symbols,
                         (unsigned long long)r->symbols_fetched,
                         (unsigned long long)r->symbols_failed, (unsigned long long)r->bars_new,
                         (unsigned long long)r->requests, (unsigned long long)r->retries,
                         (unsigned long long)r->errors, (long long)r->duration_ms);
    /* The text is ours and ASCII; anything else becomes '?' so the JSON is always UTF-8. */
    char text[sizeof r->error];
    size_t n = strnlen(r->error, sizeof r->error - 1);
    for (size_t i = 0; i < n; i++)
        text[i] = (unsigned char)r->error[i] < 0x80 ? r->error[i] : '?';
    if (!err)
        err = buf_json_escape(&b, text, n);
    if (!err)
        err = buf_puts(&b, "\"}\n");
    if (err) {
        buf_release(&b);
        return diag_set(d, err, "%s: %s", RESULTS_RUN_KEY, err_str(err));
    }
    *out = b;
    return err;
}

int results_write_run(struct objstore *os, const struct results_run *r, struct diag *d)
{
    struct buf b = BUF_INIT(0);
    int err = results_run_json(r, &b, d);
    if (!err)
        err = objstore_put(os, RESULTS_RUN_KEY, buf_cstr(&b), b.len, OBJ_PUT_ALWAYS, NULL, d);
    buf_release(&b);
    return err;
}

static const struct jv *member(const char *name, const struct jv *root, const char *key,
                               enum jv_type type, int *err, struct diag *d)
{
    if (*err)
        return NULL;
    const struct jv *v = jv_get(root, key);
    if (!v) {
        *err = diag_set(d, ERR_INVALID, "%s: member '%s' is missing", name, key);
        return NULL;
    }
    if (jv_type(v) != type && !(type == JV_STRING && jv_type(v) == JV_NULL)) {
        *err = diag_set(d, ERR_INVALID, "%s: member '%s' is %s, expected %s", name, key,
                        jv_type_name(jv_type(v)), jv_type_name(type));
        return NULL;
    }
    return v;
}

static void get_count(const char *name, const struct jv *root, const char *key, uint64_t *out,
                      int *err, struct diag *d)
{
    const struct jv *v = member(name, root, key, JV_NUMBER, err, d);
    int64_t x;
    if (v && (jv_int(v, &x) || x < 0))
        *err = diag_set(d, ERR_INVALID, "%s: member '%s': expected a whole number, 0 or more", name,
                        key);
    else if (v)
        *out = (uint64_t)x;
}

static void get_ms(const char *name, const struct jv *root, const char *key, int64_t *out, int *err,
                   struct diag *d)
{
    uint64_t v = 0;
    get_count(name, root, key, &v, err, d);
    *out = (int64_t)v;
}

static void get_date(const char *name, const struct jv *root, const char *key, int32_t *out,
                     int *err, struct diag *d)
{
    const struct jv *v = member(name, root, key, JV_STRING, err, d);
    size_t len;
    const char *s = v ? jv_str(v, &len) : NULL;
    *out = 0;
    if (s && date_parse(s, len, out)) {
        char q[64];
        diag_quote(q, sizeof q, s, len, 40);
        *err = diag_set(d, ERR_INVALID,
                        "%s: member '%s': expected a date YYYY-MM-DD or null, "
                        "got '%s'",
                        name, key, q);
    }
}

int results_parse_run(const char *name, const char *data, size_t len, struct results_run *out,
                      struct diag *d)
{
    struct jv *root;
    int err = jv_parse(data, len, &root, d);
    if (err)
        return diag_prefix(d, err, "%s", name);
    memset(out, 0, sizeof *out);
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_INVALID, "%s: expected an object, got %s", name,
                       jv_type_name(jv_type(root)));
        jv_free(root);
        return err;
    }
    get_ms(name, root, "finished_ms", &out->finished_ms, &err, d);
    get_date(name, root, "date", &out->date, &err, d);
    get_date(name, root, "end", &out->end, &err, d);
    const struct jv *v = member(name, root, "complete", JV_BOOL, &err, d);
    if (v)
        jv_bool(v, &out->complete);
    get_count(name, root, "symbols", &out->symbols, &err, d);
    get_count(name, root, "symbols_fetched", &out->symbols_fetched, &err, d);
    get_count(name, root, "symbols_failed", &out->symbols_failed, &err, d);
    get_count(name, root, "bars_new", &out->bars_new, &err, d);
    get_count(name, root, "requests", &out->requests, &err, d);
    get_count(name, root, "retries", &out->retries, &err, d);
    get_count(name, root, "errors", &out->errors, &err, d);
    get_ms(name, root, "duration_ms", &out->duration_ms, &err, d);
    if (jv_get(root, "final_day"))
        get_date(name, root, "final_day", &out->final_day, &err, d);
    if (jv_get(root, "bars_revised"))
        get_count(name, root, "bars_revised", &out->bars_revised, &err, d);
    if (jv_get(root, "symbol_changes_new"))
        get_count(name, root, "symbol_changes_new", &out->symbol_changes_new, &err, d);
    v = member(name, root, "error", JV_STRING, &err, d);
    size_t n = 0;
    const char *s = v ? jv_str(v, &n) : NULL;
    if (v && !s)
        err = diag_set(d, ERR_INVALID, "%s: member 'error' is null, expected string", name);
    else if (s && n >= sizeof out->error)
        err = diag_set(d, ERR_INVALID, "%s: member 'error': expected at most %zu bytes, got %zu",
                       name, sizeof out->error - 1, n);
    else if (s)
        memcpy(out->error, s, n + 1);
    jv_free(root);
    return err;
}

/* ---- recomputing written results ---- */

struct rewrite {
    struct objstore *os;
    const int32_t *dates;
    size_t ndates, top, *rewritten;
    struct diag *d;
};

static int date_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int rewrite_emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct rewrite *w = ctx;
    if (!bsearch(&date, w->dates, w->ndates, sizeof *w->dates, date_cmp))
        return ERR_OK;
    int err = results_write_screen(w->os, date, rows, n, 0, w->d);
    if (!err)
        err = results_append_top(w->os, date, rows, n, w->top, w->d);
    if (!err)
        (*w->rewritten)++;
    return err;
}

int results_rewrite(struct objstore *os, struct barstore *bs, const struct screen_opts *so,
                    int32_t from, int32_t to, size_t top, size_t *rewritten, struct diag *d)
{
    *rewritten = 0;
    if (from > to)
        return ERR_OK;
    /* The dates with written results: a screen file, or rows in the history. */
    struct strvec keys = STRVEC_INIT;
    struct results_history h = {0};
    int32_t *dates = NULL;
    size_t n = 0, cap = 0;
    int err = objstore_list(os, "results/screen/", &keys, d);
    if (!err) {
        err = results_read_top(os, &h, d);
        if (err == ERR_NOTFOUND || unreadable(err)) { /* damaged: each date written repairs it */
            results_history_release(&h);
            memset(&h, 0, sizeof h);
            diag_clear(d);
            err = ERR_OK;
        }
    }
    for (size_t i = 0; !err && i < keys.n + h.n; i++) {
        int32_t date;
        if (i < keys.n) {
            const char *k = keys.v[i];
            size_t kl = strlen(k);
            /* results/screen/YYYY/YYYY-MM-DD.csv */
            if (kl != 15 + 5 + DATE_STRLEN + 4 || date_parse(k + 20, DATE_STRLEN, &date))
                continue;
        } else {
            date = h.rows[i - keys.n].date;
        }
        if (date < from || date > to)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int32_t *v = realloc(dates, cap * sizeof *v);
            if (!v) {
                err = diag_set(d, ERR_NOMEM, "out of memory");
                break;
            }
            dates = v;
        }
        dates[n++] = date;
    }
    strvec_release(&keys);
    results_history_release(&h);
    if (!err && n) {
        qsort(dates, n, sizeof *dates, date_cmp);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || dates[u - 1] != dates[i])
                dates[u++] = dates[i];
        struct rewrite w = {os, dates, u, top, rewritten, d};
        struct screen_run_stats st;
        /* rewrite_emit writes as it goes: the store is read on this thread. */
        err = screen_run_inline(bs, so, dates[0], dates[u - 1], rewrite_emit, &w, &st, d);
    }
    free(dates);
    return err;
}

int results_run_provisional(const struct results_run *r, int32_t date)
{
    return r->final_day != 0 && date > r->final_day && (r->date == 0 || date <= r->date);
}

int results_read_run(struct objstore *os, struct results_run *out, struct diag *d)
{
    struct buf b = BUF_INIT(RUN_MAX);
    int err = objstore_get(os, RESULTS_RUN_KEY, &b, NULL, d);
    if (!err)
        err = results_parse_run(RESULTS_RUN_KEY, buf_cstr(&b), b.len, out, d);
    buf_release(&b);
    return err;
}
