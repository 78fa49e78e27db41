#include "collect/universe.h"
#include "codec/csv.h"
#include "codec/num.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define TICKER_RULE "expected 1-15 characters A-Z 0-9 . - /, starting with a letter or digit"
#define QUOTE_MAX   40

/* Share classes as iShares writes them and as Alpaca lists them.  Only cases known to be
 * classes belong here: HUBB or FWONA end in a class-like letter and are tickers as they are. */
static const struct {
    const char *ishares, *alpaca;
} share_classes[] = {
    {"BFA", "BF.A"},   {"BFB", "BF.B"},   {"BRKB", "BRK.B"}, {"CWENA", "CWEN.A"}, {"GEFB", "GEF.B"},
    {"HEIA", "HEI.A"}, {"LENB", "LEN.B"}, {"MOGA", "MOG.A"}, {"UHALB", "UHAL.B"},
};

struct parse {
    struct universe *u;
    const char *src; /* u->source, for messages */
    int (*known)(void *ctx, const char *symbol);
    void *known_ctx;
    size_t max_symbols, max_problems;
    size_t cap, problems_cap;
    struct diag *d;
};

const char *universe_problem_kind_name(enum universe_problem_kind kind)
{
    switch (kind) {
    case UNIVERSE_INVALID:
        return "invalid";
    case UNIVERSE_DUPLICATE:
        return "duplicate";
    case UNIVERSE_UNRESOLVED:
        return "unresolved";
    }
    return "unknown";
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s))
        ++*s;
    while (*e > *s && is_blank((*e)[-1]))
        --*e;
}

static int starts_with(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* 1 when the field, blanks trimmed, starts with prefix (ASCII case ignored). */
static int field_starts_ci(const struct csv_field *f, const char *prefix)
{
    const char *s = f->ptr, *e = f->ptr + f->len;
    trim(&s, &e);
    size_t n = strlen(prefix);
    if ((size_t)(e - s) < n)
        return 0;
    struct csv_field head = {s, n};
    return csv_field_is(&head, prefix);
}

/* The end of the line starting at p: its '\n', or end. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* Keep the problem if it is among the max_problems lowest lines seen so far. */
static int problem_add(struct parse *ps, enum universe_problem_kind kind, size_t line,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int problem_add(struct parse *ps, enum universe_problem_kind kind, size_t line,
                       const char *fmt, ...)
{
    struct universe *u = ps->u;
    size_t *count = kind == UNIVERSE_INVALID     ? &u->invalid
                    : kind == UNIVERSE_DUPLICATE ? &u->duplicates
                                                 : &u->unresolved;
    ++*count;
    struct universe_problem *slot;
    if (u->nproblems < ps->max_problems) {
        if (u->nproblems == ps->problems_cap) {
            size_t cap = ps->problems_cap ? ps->problems_cap * 2 : 16;
            if (cap > ps->max_problems)
                cap = ps->max_problems;
            struct universe_problem *v = realloc(u->problems, cap * sizeof *v);
            if (!v)
                return diag_set(ps->d, ERR_NOMEM, "%s: out of memory", ps->src);
            u->problems = v;
            ps->problems_cap = cap;
        }
        slot = &u->problems[u->nproblems++];
    } else {
        u->problems_dropped++;
        size_t worst = 0;
        for (size_t i = 1; i < u->nproblems; i++)
            if (u->problems[i].line > u->problems[worst].line)
                worst = i;
        if (u->nproblems == 0 || u->problems[worst].line <= line)
            return ERR_OK;
        slot = &u->problems[worst];
    }
    slot->kind = kind;
    slot->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot->text, sizeof slot->text, fmt, ap);
    va_end(ap);
    return ERR_OK;
}

static int entry_add(struct parse *ps, const char *symbol, const char *ticker, size_t line,
                     struct universe_entry **out)
{
    struct universe *u = ps->u;
    if (u->n == ps->max_symbols)
        return diag_set(ps->d, ERR_TOOBIG, "%s:%zu: more than %zu symbols", ps->src, line,
                        ps->max_symbols);
    if (u->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct universe_entry *v = realloc(u->v, cap * sizeof *v);
        if (!v)
            return diag_set(ps->d, ERR_NOMEM, "%s: out of memory", ps->src);
        u->v = v;
        ps->cap = cap;
    }
    struct universe_entry *e = &u->v[u->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
    snprintf(e->ticker, sizeof e->ticker, "%s", ticker);
    e->line = line;
    e->weight = UNIVERSE_NONE;
    *out = e;
    return ERR_OK;
}

/* Upper-case s[0..n) into out and check it is a ticker; 0 when it is not. */
static int ticker_from(const char *s, size_t n, char out[BAR_SYMBOL_MAX + 1])
{
    if (n == 0 || n > BAR_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        out[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[n] = '\0';
    return bar_symbol_valid(out, n);
}

static int report_invalid(struct parse *ps, size_t line, const char *s, size_t n)
{
    char q[64];
    diag_quote(q, sizeof q, s, n, QUOTE_MAX);
    return problem_add(ps, UNIVERSE_INVALID, line, "'%s' is not a ticker (%s)", q, TICKER_RULE);
}

static int parse_list(struct parse *ps, const char *p, const char *end)
{
    for (size_t line = 1; p < end; line++) {
        const char *e = line_end(p, end);
        const char *hash = memchr(p, '#', (size_t)(e - p));
        const char *s = p, *t = hash ? hash : e;
        p = e < end ? e + 1 : end;
        trim(&s, &t);
        if (s == t)
            continue;
        char sym[BAR_SYMBOL_MAX + 1];
        int err;
        if (!ticker_from(s, (size_t)(t - s), sym)) {
            if ((err = report_invalid(ps, line, s, (size_t)(t - s))))
                return err;
            continue;
        }
        struct universe_entry *ent;
        if ((err = entry_add(ps, sym, sym, line, &ent)))
            return err;
        if (ps->known && !ps->known(ps->known_ctx, sym))
            ent->unresolved = 1;
    }
    return ERR_OK;
}

/* ABCB -> ABC.B: 0 when the ticker has no such form. */
static int dotted(const char *t, char out[BAR_SYMBOL_MAX + 1])
{
    size_t n = strlen(t);
    if (n < 2 || n + 1 > BAR_SYMBOL_MAX || strpbrk(t, ".-/") || t[n - 1] < 'A' || t[n - 1] > 'Z')
        return 0;
    memcpy(out, t, n - 1);
    out[n - 1] = '.';
    out[n] = t[n - 1];
    out[n + 1] = '\0';
    return bar_symbol_valid(out, n + 1);
}

/* Alpaca's symbol for an iShares ticker (see universe_opts.known); *unresolved when the
 * resolver knew it in no form. */
static void resolve(const struct parse *ps, const char *t, char out[BAR_SYMBOL_MAX + 1],
                    int *unresolved)
{
    const char *table = NULL;
    for (size_t i = 0; i < sizeof share_classes / sizeof share_classes[0]; i++)
        if (strcmp(t, share_classes[i].ishares) == 0)
            table = share_classes[i].alpaca;
    *unresolved = 0;
    if (table) {
        if (!ps->known || ps->known(ps->known_ctx, table)) {
            snprintf(out, BAR_SYMBOL_MAX + 1, "%s", table);
        } else if (ps->known(ps->known_ctx, t)) {
            snprintf(out, BAR_SYMBOL_MAX + 1, "%s", t);
        } else {
            snprintf(out, BAR_SYMBOL_MAX + 1, "%s", table);
            *unresolved = 1;
        }
        return;
    }
    snprintf(out, BAR_SYMBOL_MAX + 1, "%s", t);
    if (!ps->known || ps->known(ps->known_ctx, t))
        return;
    char dot[BAR_SYMBOL_MAX + 1];
    if (dotted(t, dot) && ps->known(ps->known_ctx, dot))
        snprintf(out, BAR_SYMBOL_MAX + 1, "%s", dot);
    else
        *unresolved = 1;
}

/* The end of the holdings table: the end of the input, a blank line (no-break spaces, as
 * Latin-1 0xA0 or UTF-8 C2 A0, and empty quotes count as blank) or the disclaimer. */
static int table_ends(const char *p, const char *end)
{
    if (p >= end)
        return 1;
    const char *e = line_end(p, end);
    if (starts_with(p, e, "\"The content") || starts_with(p, e, "The content"))
        return 1;
    for (const char *q = p; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == 0xC2 && q + 1 < e && (unsigned char)q[1] == 0xA0)
            q++;
        else if (!is_blank((char)c) && c != 0xA0 && c != '"')
            return 0;
    }
    return 1;
}

/* A trimmed copy of the field in *out; NULL when it is blank or "-". */
static int field_dup(const struct csv_field *f, char **out)
{
    const char *s = f->ptr, *e = f->ptr + f->len;
    trim(&s, &e);
    *out = NULL;
    if (s == e || (e - s == 1 && *s == '-'))
        return ERR_OK;
    char *copy = malloc((size_t)(e - s) + 1);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, s, (size_t)(e - s));
    copy[e - s] = '\0';
    *out = copy;
    return ERR_OK;
}

/* "1,234.5" as millionths; UNIVERSE_NONE when it is not a number. */
static int64_t weight_of(const struct csv_field *f)
{
    char digits[48];
    size_t n = 0;
    const char *s = f->ptr, *e = f->ptr + f->len;
    trim(&s, &e);
    for (; s < e; s++) {
        if (*s == ',')
            continue;
        if (n == sizeof digits)
            return UNIVERSE_NONE;
        digits[n++] = *s;
    }
    int64_t v;
    return n && num_parse_fixed(digits, n, &v) == ERR_OK ? v : UNIVERSE_NONE;
}

/* The value of a "Fund Holdings as of,"Jul 17, 2026"" preamble line, quoted for display. */
static void read_as_of(struct universe *u, char *p, const char *end)
{
    struct csv_reader r;
    struct csv_field f[4];
    size_t n;
    csv_reader_init(&r, p, (size_t)(line_end(p, end) - p));
    if (csv_next(&r, f, 4, &n, NULL) != ERR_OK || n < 2)
        return;
    const char *s = f[1].ptr, *e = f[1].ptr + f[1].len;
    trim(&s, &e);
    if (e - s == 1 && *s == '-')
        return;
    diag_quote(u->as_of, sizeof u->as_of, s, (size_t)(e - s), QUOTE_MAX);
}

enum { C_TICKER, C_NAME, C_SECTOR, C_CLASS, C_EXCHANGE, C_WEIGHT, C_NCOLS };

static int parse_ishares(struct parse *ps, char *header, char *end, size_t header_line)
{
    static const char *const names[C_NCOLS] = {"Ticker",      "Name",     "Sector",
                                               "Asset Class", "Exchange", "Weight (%)"};
    struct csv_reader r;
    struct csv_field f[UNIVERSE_COLUMNS_MAX];
    size_t n;
    int col[C_NCOLS] = {-1, -1, -1, -1, -1, -1};
    csv_reader_init(&r, header, (size_t)(end - header));
    r.next_line = header_line;
    int err = csv_next(&r, f, UNIVERSE_COLUMNS_MAX, &n, ps->d);
    if (err)
        return diag_prefix(ps->d, ERR_PARSE, "%s: holdings header", ps->src);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < C_NCOLS; c++) {
            if (!csv_field_is(&f[i], names[c]))
                continue;
            if (col[c] >= 0)
                return diag_set(ps->d, ERR_PARSE, "%s:%zu: holdings header names '%s' twice",
                                ps->src, header_line, names[c]);
            col[c] = (int)i;
        }
    }
    static const int required[] = {C_TICKER, C_CLASS};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        int c = required[i];
        if (col[c] < 0)
            return diag_set(ps->d, ERR_PARSE,
                            "%s:%zu: holdings header lacks column '%s' (this line starts "
                            "with 'Ticker,', so the input is read as an iShares holdings file)",
                            ps->src, header_line, names[c]);
    }
    size_t ncols = n;
    struct universe *u = ps->u;
    while (!table_ends(r.p, end)) {
        err = csv_next(&r, f, UNIVERSE_COLUMNS_MAX, &n, ps->d);
        if (err == ERR_EOF)
            break;
        if (err)
            return diag_prefix(ps->d, ERR_PARSE, "%s", ps->src);
        if (n != ncols)
            return diag_set(ps->d, ERR_PARSE,
                            "%s:%zu: expected %zu fields as in the header on line %zu, got %zu",
                            ps->src, r.line, ncols, header_line, n);
        u->rows++;
        if (!csv_field_is(&f[col[C_CLASS]], "Equity")) {
            u->not_equity++;
            continue;
        }
        const struct csv_field *tf = &f[col[C_TICKER]];
        const char *s = tf->ptr, *e = tf->ptr + tf->len;
        trim(&s, &e);
        if (s == e || (e - s == 1 && *s == '-') ||
            (col[C_EXCHANGE] >= 0 && field_starts_ci(&f[col[C_EXCHANGE]], "NO MARKET"))) {
            u->unlisted++;
            continue;
        }
        char ticker[BAR_SYMBOL_MAX + 1], symbol[BAR_SYMBOL_MAX + 1];
        if (!ticker_from(s, (size_t)(e - s), ticker)) {
            if ((err = report_invalid(ps, r.line, s, (size_t)(e - s))))
                return err;
            continue;
        }
        int unresolved;
        resolve(ps, ticker, symbol, &unresolved);
        struct universe_entry *ent;
        if ((err = entry_add(ps, symbol, ticker, r.line, &ent)))
            return err;
        ent->unresolved = unresolved;
        if ((col[C_NAME] >= 0 && field_dup(&f[col[C_NAME]], &ent->name)) ||
            (col[C_SECTOR] >= 0 && field_dup(&f[col[C_SECTOR]], &ent->sector)))
            return diag_set(ps->d, ERR_NOMEM, "%s: out of memory", ps->src);
        if (col[C_WEIGHT] >= 0)
            ent->weight = weight_of(&f[col[C_WEIGHT]]);
    }
    return ERR_OK;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct universe_entry *a = pa, *b = pb;
    int c = strcmp(a->symbol, b->symbol);
    if (c)
        return c;
    return (a->line > b->line) - (a->line < b->line);
}

static int problem_cmp(const void *pa, const void *pb)
{
    const struct universe_problem *a = pa, *b = pb;
    if (a->line != b->line)
        return (a->line > b->line) - (a->line < b->line);
    return ((int)a->kind > (int)b->kind) - ((int)a->kind < (int)b->kind);
}

static void entry_release(struct universe_entry *e)
{
    free(e->name);
    free(e->sector);
    e->name = e->sector = NULL;
}

/* Sort, drop repeats, report what is left doubtful, and refuse an empty result. */
static int finish(struct parse *ps)
{
    struct universe *u = ps->u;
    int err;
    if (u->n > 1)
        qsort(u->v, u->n, sizeof *u->v, entry_cmp);
    size_t w = 0;
    for (size_t i = 0; i < u->n; i++) {
        struct universe_entry *e = &u->v[i];
        if (w > 0 && strcmp(u->v[w - 1].symbol, e->symbol) == 0) {
            const struct universe_entry *first = &u->v[w - 1];
            if (strcmp(e->ticker, e->symbol) != 0)
                err = problem_add(ps, UNIVERSE_DUPLICATE, e->line,
                                  "'%s' (written '%s') repeats line %zu; skipped", e->symbol,
                                  e->ticker, first->line);
            else
                err = problem_add(ps, UNIVERSE_DUPLICATE, e->line, "'%s' repeats line %zu; skipped",
                                  e->symbol, first->line);
            entry_release(e);
            if (err)
                return err;
            continue;
        }
        if (w != i) {
            u->v[w] = *e;
            e->name = e->sector = NULL; /* moved: the slot must not free them again */
        }
        w++;
    }
    u->n = w;
    for (size_t i = 0; i < u->n; i++) {
        const struct universe_entry *e = &u->v[i];
        if (strcmp(e->ticker, e->symbol) != 0)
            u->mapped++;
        if (!e->unresolved)
            continue;
        char dot[BAR_SYMBOL_MAX + 1];
        if (strcmp(e->ticker, e->symbol) != 0)
            err = problem_add(ps, UNIVERSE_UNRESOLVED, e->line,
                              "neither '%s' nor '%s' is a known symbol; kept as '%s'", e->symbol,
                              e->ticker, e->symbol);
        else if (u->format == UNIVERSE_ISHARES && dotted(e->ticker, dot))
            err = problem_add(ps, UNIVERSE_UNRESOLVED, e->line,
                              "neither '%s' nor '%s' is a known symbol; kept as '%s'", e->ticker,
                              dot, e->ticker);
        else
            err = problem_add(ps, UNIVERSE_UNRESOLVED, e->line, "'%s' is not a known symbol; kept",
                              e->symbol);
        if (err)
            return err;
    }
    if (u->nproblems > 1)
        qsort(u->problems, u->nproblems, sizeof *u->problems, problem_cmp);
    if (u->n > 0)
        return ERR_OK;
    if (u->format == UNIVERSE_ISHARES)
        return diag_set(ps->d, ERR_PARSE,
                        "%s: no equity rows in the holdings table (%zu rows: %zu not equity, "
                        "%zu unlisted, %zu not a ticker)",
                        ps->src, u->rows, u->not_equity, u->unlisted, u->invalid);
    if (u->invalid > 0)
        return diag_set(ps->d, ERR_PARSE,
                        "%s: no symbols; %zu invalid line%s, the first is line %zu: %s", ps->src,
                        u->invalid, u->invalid == 1 ? "" : "s", u->problems[0].line,
                        u->problems[0].text);
    return diag_set(ps->d, ERR_PARSE, "%s: no symbols, only blank lines and comments", ps->src);
}

int universe_parse(const char *data, size_t len, const char *source_name,
                   const struct universe_opts *opts, struct universe *out, struct diag *d)
{
    static const struct universe_opts defaults;
    if (!opts)
        opts = &defaults;
    memset(out, 0, sizeof *out);
    const char *name = source_name ? source_name : "input";
    diag_quote(out->source, sizeof out->source, name, strlen(name), UNIVERSE_SOURCE_MAX / 2);
    struct parse ps = {
        .u = out,
        .src = out->source,
        .known = opts->known,
        .known_ctx = opts->known_ctx,
        .max_symbols = opts->max_symbols ? opts->max_symbols : UNIVERSE_SYMBOLS_MAX,
        .max_problems = opts->max_problems ? opts->max_problems : UNIVERSE_PROBLEMS_MAX,
        .d = d,
    };
    size_t max_bytes = opts->max_bytes ? opts->max_bytes : UNIVERSE_INPUT_MAX;
    if (len > max_bytes)
        return diag_set(d, ERR_TOOBIG, "%s: %zu bytes, over the limit of %zu", out->source, len,
                        max_bytes);
    const char *nul = len ? memchr(data, '\0', len) : NULL;
    if (nul) {
        size_t line = 1;
        for (const char *p = data; p < nul; p++)
            line += *p == '\n';
        return diag_set(d, ERR_PARSE,
                        "%s:%zu: NUL byte; expected UTF-8 or ASCII text (a UTF-16 file?)",
                        out->source, line);
    }
    /* The CSV tokenizer unescapes in place, so it works on a copy. */
    char *copy = malloc(len + 1);
    if (!copy)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", out->source);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    char *p = copy, *end = copy + len;
    if (starts_with(p, end, "\xEF\xBB\xBF"))
        p += 3;

    /* A holdings file starts its table with a Ticker column; a plain list cannot have such a
     * line (',' is not part of a ticker), nor the preamble's "Fund Holdings as of". */
    char *header = NULL, *as_of = NULL;
    size_t header_line = 0, as_of_line = 0, line = 1;
    for (char *q = p; q < end && !header; line++) {
        char *e = (char *)line_end(q, end);
        if (starts_with(q, e, "Ticker,") || starts_with(q, e, "\"Ticker\",")) {
            header = q;
            header_line = line;
        } else if (!as_of && starts_with(q, e, "Fund Holdings as of")) {
            as_of = q;
            as_of_line = line;
        }
        q = e < end ? e + 1 : end;
    }
    int err;
    if (header) {
        out->format = UNIVERSE_ISHARES;
        if (as_of)
            read_as_of(out, as_of, header);
        err = parse_ishares(&ps, header, end, header_line);
    } else if (as_of) {
        err = diag_set(d, ERR_PARSE,
                       "%s:%zu: an iShares holdings preamble, but no table header line starting "
                       "with 'Ticker,' follows",
                       out->source, as_of_line);
    } else {
        out->format = UNIVERSE_LIST;
        err = parse_list(&ps, p, end);
    }
    if (!err)
        err = finish(&ps);
    free(copy);
    if (err)
        universe_release(out);
    return err;
}

void universe_release(struct universe *u)
{
    for (size_t i = 0; i < u->n; i++)
        entry_release(&u->v[i]);
    free(u->v);
    free(u->problems);
    memset(u, 0, sizeof *u);
}

int universe_format_list(const struct universe *u, struct buf *out)
{
    int err;
    const char *plural = u->n == 1 ? "" : "s";
    if (u->format == UNIVERSE_ISHARES && u->as_of[0])
        err = buf_printf(out, "# %s (iShares holdings as of %s): %zu symbol%s\n", u->source,
                         u->as_of, u->n, plural);
    else if (u->format == UNIVERSE_ISHARES)
        err = buf_printf(out, "# %s (iShares holdings): %zu symbol%s\n", u->source, u->n, plural);
    else
        err = buf_printf(out, "# %s: %zu symbol%s\n", u->source, u->n, plural);
    for (size_t i = 0; i < u->n && !err; i++) {
        if (!(err = buf_puts(out, u->v[i].symbol)))
            err = buf_putc(out, '\n');
    }
    return err;
}

static int find_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct universe_entry *)elem)->symbol);
}

const struct universe_entry *universe_find(const struct universe *u, const char *symbol)
{
    if (u->n == 0)
        return NULL;
    return bsearch(symbol, u->v, u->n, sizeof *u->v, find_cmp);
}
