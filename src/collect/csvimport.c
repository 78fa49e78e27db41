#include "collect/csvimport.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/barcsv.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

struct conflict_ctx {
    const char *path;
    const size_t *lines;
    const struct bar *bars;
    size_t reported, max_report;
    const struct csvimport_opts *opts;
};

static void on_conflict(void *ctx, size_t index, const struct bar *other, const char *field)
{
    struct conflict_ctx *c = ctx;
    char day[DATE_STRLEN + 1];
    date_format(other->date, day);
    if (c->opts->on_reject) {
        char reason[128];
        snprintf(reason, sizeof reason,
                 "conflicts with the stored bar: field '%s' differs; not imported", field);
        c->opts->on_reject(c->opts->ctx, c->path, c->lines[index], c->bars[index].symbol, day,
                           reason);
    }
    if (c->reported++ >= c->max_report)
        return;
    char where[600];
    snprintf(where, sizeof where, "%s:%zu", c->path, c->lines[index]);
    log_warn("bar conflicts with the stored one; not imported", LF_STR("where", where),
             LF_STR("symbol", c->bars[index].symbol), LF_STR("date", day), LF_STR("field", field));
}

/* "path:line: rest" -> "rest" (the reject file has the file and line in their own columns). */
static const char *strip_where(const char *text, const char *path, size_t line)
{
    size_t pl = strlen(path);
    if (strncmp(text, path, pl) != 0 || text[pl] != ':')
        return text;
    char num[32];
    int nl = snprintf(num, sizeof num, "%zu: ", line);
    if (strncmp(text + pl + 1, num, (size_t)nl) == 0)
        return text + pl + 1 + nl;
    return text;
}

/* Tell the reject hook about a bad row; b is the row as far as it was read (barcsv_next). */
static void reject_bad_row(const struct csvimport_opts *o, const char *path,
                           const struct barcsv_reader *r, const struct bar *b,
                           const struct diag *why)
{
    if (!o->on_reject)
        return;
    size_t line = barcsv_line(r);
    char day[DATE_STRLEN + 1] = "";
    if (b->date != BARCSV_NO_DATE)
        date_format(b->date, day);
    o->on_reject(o->ctx, path, line, b->symbol, day, strip_where(why->text, path, line));
}

/* A bar dated after today in New York cannot have traded yet: a typo in the year, or a file of
 * another kind.  Stored, it would become every reader's "latest date" (the default screen, the
 * report, the bot) and, parts being immutable, stay there. */
static int check_not_future(const char *path, size_t line, const struct bar *b, int32_t today,
                            struct diag *why)
{
    if (b->date <= today)
        return ERR_OK;
    char day[DATE_STRLEN + 1], now[DATE_STRLEN + 1];
    date_format(b->date, day);
    date_format(today, now);
    return diag_set(why, ERR_INVALID,
                    "%s:%zu: %s: field 'date': %s is in the future (today in New York is %s)", path,
                    line, b->symbol, day, now);
}

/* No US exchange trades on a Sunday, nor on a Saturday since the New York Stock Exchange's
 * last Saturday session (1952-05-24).  A weekend bar is a file of another market, or dates
 * turned into days in the wrong time zone (a bar of Monday 00:00 in New York, read in
 * California, is a Sunday's); stored, it would be a trading date of its own for every screen. */
static int check_weekday(const char *path, size_t line, const struct bar *b, struct diag *why)
{
    int wd = date_weekday(b->date);
    if (wd != 0 && (wd != 6 || b->date < date_from_ymd(1952, 6, 1)))
        return ERR_OK;
    char day[DATE_STRLEN + 1];
    date_format(b->date, day);
    return diag_set(why, ERR_INVALID,
                    "%s:%zu: %s: field 'date': %s is a %s, when the market is closed (dates "
                    "converted from timestamps in another time zone?)",
                    path, line, b->symbol, day, wd ? "Saturday" : "Sunday");
}

struct row_ref {
    const struct bar *b;
    size_t i; /* index in the file's bars */
};

static int row_ref_cmp(const void *pa, const void *pb)
{
    const struct row_ref *a = pa, *b = pb;
    int c = strcmp(a->b->symbol, b->b->symbol);
    if (!c)
        c = (a->b->date > b->b->date) - (a->b->date < b->b->date);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Rows of one symbol and date with different values: which one is right cannot be known, so
 * none is imported (as the collector does with a repeated date) and each is a bad row naming
 * another's line.  Stored, the first would have won and the next been called a conflict
 * "with the stored bar".  Equal repeats are left to the store, which keeps one. */
static int drop_repeats(const char *path, const struct csvimport_opts *o, struct barvec *bars,
                        size_t *lines, size_t *bad, struct diag *d)
{
    size_t n = bars->n;
    if (n < 2)
        return ERR_OK;
    struct row_ref *refs = malloc(n * sizeof *refs);
    unsigned char *drop = calloc(n, 1);
    int err = ERR_OK;
    if (!refs || !drop) {
        err = diag_set(d, ERR_NOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (struct row_ref){&bars->v[i], i};
    qsort(refs, n, sizeof *refs, row_ref_cmp);
    for (size_t i = 0; i < n && !err;) {
        size_t j = i + 1;
        int differ = 0;
        while (j < n && strcmp(refs[j].b->symbol, refs[i].b->symbol) == 0 &&
               refs[j].b->date == refs[i].b->date) {
            differ |= !bar_equal(refs[i].b, refs[j].b);
            j++;
        }
        for (size_t k = i; differ && k < j; k++) {
            const struct bar *b = refs[k].b;
            size_t line = lines[refs[k].i], other = lines[refs[k == i ? i + 1 : i].i];
            char day[DATE_STRLEN + 1], why[DIAG_MAX];
            date_format(b->date, day);
            snprintf(why, sizeof why,
                     "%s: %s is repeated at line %zu with different values: none of them imported",
                     b->symbol, day, other);
            ++*bad;
            if (o->on_reject)
                o->on_reject(o->ctx, path, line, b->symbol, day, why);
            if (o->strict) {
                err = diag_set(d, ERR_INVALID,
                               "%s:%zu: %s (strict mode: nothing imported from this file)", path,
                               line, why);
                break;
            }
            if (*bad <= o->max_report) {
                struct diag text;
                diag_set(&text, ERR_INVALID, "%s:%zu: %s", path, line, why);
                log_warn("skipped a bad row", LF_STR("error", text.text));
            }
            drop[refs[k].i] = 1;
        }
        i = j;
    }
    size_t w = 0;
    for (size_t i = 0; i < n && !err; i++) {
        if (drop[i])
            continue;
        bars->v[w] = bars->v[i];
        lines[w++] = lines[i];
    }
    if (!err)
        bars->n = w;
out:
    free(refs);
    free(drop);
    return err;
}

int csvimport_file(struct barstore *bs, const char *path, const struct csvimport_opts *opts,
                   struct csvimport_stats *stats, struct diag *d)
{
    int32_t today = cal_ny_date(clock_wall_ms(), NULL);
    struct buf data = BUF_INIT(CSVIMPORT_FILE_MAX);
    struct barvec bars;
    size_t *lines = NULL, lines_cap = 0;
    barvec_init(&bars);
    int err = file_read(path, &data, d);
    struct barcsv_reader r;
    if (!err)
        err = barcsv_reader_init(&r, path, data.data ? data.data : (char *)"", data.len, d);
    size_t bad = 0;
    while (!err) {
        struct bar b;
        struct diag why;
        int rc = barcsv_next(&r, &b, &why);
        if (rc == ERR_EOF)
            break;
        if (rc == ERR_OK)
            rc = check_not_future(path, barcsv_line(&r), &b, today, &why);
        if (rc == ERR_OK)
            rc = check_weekday(path, barcsv_line(&r), &b, &why);
        if (rc == ERR_OK) {
            stats->rows++;
            if (bars.n == lines_cap) {
                lines_cap = lines_cap ? 2 * lines_cap : 4096;
                size_t *l = realloc(lines, lines_cap * sizeof *l);
                if (!l) {
                    err = diag_set(d, ERR_NOMEM, "out of memory reading '%s'", path);
                    break;
                }
                lines = l;
            }
            lines[bars.n] = barcsv_line(&r);
            if ((err = barvec_push(&bars, &b)))
                diag_set(d, err, "out of memory reading '%s'", path);
            continue;
        }
        if (rc == ERR_NOMEM || rc == ERR_IO) {
            err = diag_set(d, rc, "%s", why.text);
            break;
        }
        stats->rows++;
        bad++;
        reject_bad_row(opts, path, &r, &b, &why);
        if (opts->strict) {
            err = diag_set(d, rc, "%s (strict mode: nothing imported from this file)", why.text);
            break;
        }
        if (bad <= opts->max_report)
            log_warn("skipped a bad row", LF_STR("error", why.text));
    }
    if (!err)
        err = drop_repeats(path, opts, &bars, lines, &bad, d);
    if (!err && bad > opts->max_report)
        log_warn("more bad rows skipped", LF_STR("file", path),
                 LF_INT("not_shown", bad - opts->max_report));
    stats->bad += bad;
    if (err && err != ERR_NOMEM)
        stats->files_failed++; /* the file's fault: nothing of it reached the store */
    if (!err) {
        struct conflict_ctx cc = {path, lines, bars.v, 0, opts->max_report, opts};
        struct barstore_write_opts wo = {
            .skip_conflicts = 1, .on_conflict = on_conflict, .ctx = &cc};
        struct barstore_write_stats ws;
        err = barstore_write(bs, bars.v, bars.n, &wo, &ws, d);
        stats->imported += ws.rows_new;
        stats->present += ws.rows_same;
        stats->conflicts += ws.rows_conflict;
        stats->disputed += ws.rows_disputed;
        stats->days += ws.days_touched;
        if (cc.reported > opts->max_report)
            log_warn("more conflicts not shown", LF_STR("file", path),
                     LF_INT("not_shown", cc.reported - opts->max_report));
    }
    stats->files++;
    free(lines);
    barvec_release(&bars);
    buf_release(&data);
    return err;
}

int csvimport_splits(struct barstore *bs, const char *path, size_t *added, struct diag *d)
{
    struct buf data = BUF_INIT((size_t)64 << 20);
    struct splitvec sv;
    splitvec_init(&sv);
    int err = file_read(path, &data, d);
    if (!err)
        err = splitcsv_parse(path, data.data ? data.data : (char *)"", data.len, &sv, d);
    if (!err)
        err = barstore_write_splits(bs, sv.v, sv.n, added, d);
    splitvec_release(&sv);
    buf_release(&data);
    return err;
}
