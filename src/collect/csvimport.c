#include "collect/csvimport.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/barcsv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The file read in blocks, each handed to the bar reader up to its last line break, so that
 * memory does not grow with the file: a regular file can be read again from the start (a pass
 * per group of dates, see csvimport_file); a pipe is read once. */
struct scan {
    const char *path;
    int fd, regular;
    int own;        /* fd was opened here (not the caller's, e.g. standard input) */
    int opened;     /* the first pass has started */
    off_t start;    /* where the first pass started: each pass starts there again */
    struct stat st; /* at open: a file changed between passes is refused */
    char *data;
    size_t cap, len, chunk; /* bytes in data; of them, handed to the reader */
    int eof, started;
    uint64_t total;
    struct barcsv_reader r;
    const struct csvimport_opts *o; /* its progress callback */
    struct csvimport_progress prog;
};

static void scan_progress(struct scan *sc)
{
    if (!sc->o->on_progress)
        return;
    sc->prog.path = sc->path;
    sc->prog.bytes = sc->total;
    sc->prog.size = sc->regular ? (uint64_t)sc->st.st_size : 0;
    sc->o->on_progress(sc->o->progress_ctx, &sc->prog);
}

static void scan_close(struct scan *sc)
{
    if (sc->fd >= 0 && sc->own)
        close(sc->fd);
    sc->fd = -1;
    free(sc->data);
    sc->data = NULL;
}

/* Drop the bytes the reader has had, then read until the buffer is full or the file ends, and
 * hand the reader everything up to the last line break (at the end: everything). */
static int scan_fill(struct scan *sc, struct diag *d)
{
    memmove(sc->data, sc->data + sc->chunk, sc->len - sc->chunk);
    sc->len -= sc->chunk;
    sc->chunk = 0;
    for (;;) {
        while (!sc->eof && sc->len < sc->cap) {
            ssize_t n = read(sc->fd, sc->data + sc->len, sc->cap - sc->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return diag_set(d, ERR_IO, "cannot read '%s': %s", sc->path, strerror(errno));
            sc->eof = n == 0;
            sc->len += (size_t)n;
            sc->total += (uint64_t)n;
            scan_progress(sc);
            if (!sc->regular && sc->total > CSVIMPORT_FILE_MAX)
                return diag_set(d, ERR_TOOBIG, "'%s' is over the limit of %zu bytes", sc->path,
                                CSVIMPORT_FILE_MAX);
        }
        const char *nl = sc->eof ? NULL : memrchr(sc->data, '\n', sc->len);
        if (sc->eof || nl) {
            sc->chunk = sc->eof ? sc->len : (size_t)(nl + 1 - sc->data);
            return ERR_OK;
        }
        if (sc->cap >= CSVIMPORT_LINE_MAX)
            return diag_set(d, ERR_TOOBIG, "%s:%zu: line longer than %zu bytes", sc->path,
                            sc->started ? sc->r.csv.next_line : 1, CSVIMPORT_LINE_MAX);
        char *grown = realloc(sc->data, 2 * sc->cap);
        if (!grown)
            return diag_set(d, ERR_NOMEM, "out of memory reading '%s'", sc->path);
        sc->data = grown;
        sc->cap *= 2;
    }
}

/* Open the file, or start it again from the top, and read its header. */
static int scan_start(struct scan *sc, struct diag *d)
{
    if (!sc->opened) {
        sc->opened = 1;
        if (sc->fd < 0) {
            sc->fd = open(sc->path, O_RDONLY | O_CLOEXEC);
            if (sc->fd < 0)
                return diag_set(d, errno == ENOENT || errno == ENOTDIR ? ERR_NOTFOUND : ERR_IO,
                                "cannot open '%s': %s", sc->path, strerror(errno));
            sc->own = 1;
        }
        if (fstat(sc->fd, &sc->st) != 0)
            return diag_set(d, ERR_IO, "cannot stat '%s': %s", sc->path, strerror(errno));
        if (S_ISDIR(sc->st.st_mode))
            return diag_set(d, ERR_USAGE, "'%s' is a directory, expected a file", sc->path);
        /* A regular file given open (standard input redirected from a file) may have been
         * read from already: its passes start where it stood. */
        sc->regular = S_ISREG(sc->st.st_mode) && (sc->start = lseek(sc->fd, 0, SEEK_CUR)) >= 0;
        sc->cap = CSVIMPORT_BLOCK;
        if (!(sc->data = malloc(sc->cap)))
            return diag_set(d, ERR_NOMEM, "out of memory reading '%s'", sc->path);
    } else {
        struct stat now;
        if (fstat(sc->fd, &now) != 0 || now.st_size != sc->st.st_size ||
            now.st_mtim.tv_sec != sc->st.st_mtim.tv_sec ||
            now.st_mtim.tv_nsec != sc->st.st_mtim.tv_nsec ||
            lseek(sc->fd, sc->start, SEEK_SET) != sc->start)
            return diag_set(d, ERR_IO,
                            "'%s' changed while it was imported: import it again (what was "
                            "stored of it is kept)",
                            sc->path);
    }
    sc->len = sc->chunk = 0;
    sc->eof = sc->started = 0;
    sc->total = 0;
    scan_progress(sc);
    int err = scan_fill(sc, d);
    if (!err)
        err = barcsv_reader_init(&sc->r, sc->path, sc->data, sc->chunk, d);
    sc->started = !err;
    return err;
}

/* The next row, as barcsv_next; ERR_EOF at the end of the file.  A failure to read (ERR_IO,
 * ERR_NOMEM, ERR_TOOBIG) is in d, a bad row in why. */
static int scan_next(struct scan *sc, struct bar *b, struct diag *why, struct diag *d, int *fatal)
{
    for (;;) {
        int rc = barcsv_next(&sc->r, b, why);
        if (rc != ERR_EOF || sc->eof) {
            if (rc == ERR_EOF)
                scan_progress(sc); /* the pass's end, every row counted */
            *fatal = 0;
            return rc;
        }
        size_t line = sc->r.csv.next_line;
        if ((rc = scan_fill(sc, d))) {
            *fatal = 1;
            return rc;
        }
        barcsv_reader_refill(&sc->r, sc->data, sc->chunk, line);
    }
}

/* The rows of the file that the checks take. */
static int row_check(const char *path, size_t line, int rc, const struct bar *b, int32_t today,
                     struct diag *why)
{
    if (rc == ERR_OK)
        rc = check_not_future(path, line, b, today, why);
    if (rc == ERR_OK)
        rc = check_weekday(path, line, b, why);
    return rc;
}

struct batch {
    struct barvec bars;
    size_t *lines, lines_cap;
};

static int batch_push(struct batch *bt, const struct bar *b, size_t line, const char *path,
                      struct diag *d)
{
    if (bt->bars.n == bt->lines_cap) {
        size_t cap = bt->lines_cap ? 2 * bt->lines_cap : 4096;
        size_t *l = realloc(bt->lines, cap * sizeof *l);
        if (!l)
            return diag_set(d, ERR_NOMEM, "out of memory reading '%s'", path);
        bt->lines = l;
        bt->lines_cap = cap;
    }
    bt->lines[bt->bars.n] = line;
    int err = barvec_push(&bt->bars, b);
    if (err)
        return diag_set(d, err, "out of memory reading '%s'", path);
    return ERR_OK;
}

static void batch_clear(struct batch *bt)
{
    barvec_release(&bt->bars);
    barvec_init(&bt->bars);
    free(bt->lines);
    bt->lines = NULL;
    bt->lines_cap = 0;
}

/* Write one batch: its repeats dropped, then the rest to the store. */
static int batch_write(struct barstore *bs, const char *path, const struct csvimport_opts *opts,
                       struct batch *bt, struct conflict_ctx *cc, size_t *bad,
                       struct csvimport_stats *stats, int *store_failed, struct diag *d)
{
    int err = drop_repeats(path, opts, &bt->bars, bt->lines, bad, d);
    if (err)
        return err;
    cc->lines = bt->lines;
    cc->bars = bt->bars.v;
    struct barstore_write_opts wo = {.skip_conflicts = 1, .on_conflict = on_conflict, .ctx = cc};
    struct barstore_write_stats ws = {0};
    err = barstore_write(bs, bt->bars.v, bt->bars.n, &wo, &ws, d);
    *store_failed = err != ERR_OK;
    stats->imported += ws.rows_new;
    stats->present += ws.rows_same;
    stats->conflicts += ws.rows_conflict;
    stats->disputed += ws.rows_disputed;
    stats->days += ws.days_touched;
    if (ws.days_stored && (!stats->days_stored || ws.first_stored < stats->first_stored))
        stats->first_stored = ws.first_stored;
    stats->days_stored += ws.days_stored;
    return err;
}

/* Collect the good rows dated lo..hi in a pass over the file (bad rows were reported by the
 * first pass). */
static int batch_read(struct scan *sc, int32_t today, int32_t lo, int32_t hi, struct batch *bt,
                      struct diag *d)
{
    int err = scan_start(sc, d);
    while (!err) {
        struct bar b;
        struct diag why;
        int fatal;
        int rc = scan_next(sc, &b, &why, d, &fatal);
        if (fatal)
            return rc;
        if (rc == ERR_EOF)
            break;
        rc = row_check(sc->path, barcsv_line(&sc->r), rc, &b, today, &why);
        if (rc == ERR_OK && b.date >= lo && b.date <= hi)
            err = batch_push(bt, &b, barcsv_line(&sc->r), sc->path, d);
    }
    return err;
}

/* The group of dates that starts at lo (per_day: rows a date, from DATE_MIN_YEAR) runs up to
 * the returned date, exclusive: as many dates as fit in batch_rows rows (at least one date,
 * never split); *rows (when not NULL) gets its rows. */
static int32_t next_group(const uint32_t *per_day, int32_t lo, size_t batch_rows, size_t *rows)
{
    const int32_t first_day = date_from_ymd(DATE_MIN_YEAR, 1, 1);
    const int32_t last_day = date_from_ymd(DATE_MAX_YEAR, 12, 31);
    int32_t hi = lo;
    size_t n = per_day[lo - first_day];
    while (hi < last_day && n + per_day[hi + 1 - first_day] <= batch_rows)
        n += per_day[++hi - first_day];
    if (rows)
        *rows = n;
    return hi + 1;
}

/* A file is read once when its good rows fit in one batch.  A larger regular file is read
 * again once per group of dates of at most batch_rows rows (a date's rows are never split, so
 * each day still gets one part, and a symbol and date repeated with other values are in one
 * group), and, with --strict, once more per group before anything is written, since a repeat
 * found in a later group must leave the file unwritten.  Memory is then one group's bars,
 * whatever the size of the file. */
static int import_file(struct barstore *bs, const char *path, int fd,
                       const struct csvimport_opts *opts, struct csvimport_stats *stats,
                       struct diag *d)
{
    int32_t today = cal_ny_date(clock_wall_ms(), NULL);
    size_t batch_rows = opts->batch_rows ? opts->batch_rows : CSVIMPORT_BATCH_ROWS;
    const int32_t first_day = date_from_ymd(DATE_MIN_YEAR, 1, 1);
    const int32_t last_day = date_from_ymd(DATE_MAX_YEAR, 12, 31);
    struct scan sc = {.path = path, .fd = fd, .o = opts};
    struct batch bt = {0};
    barvec_init(&bt.bars);
    size_t bad = 0;
    uint32_t *per_day = NULL; /* good rows per date, once they are more than a batch */
    struct conflict_ctx cc = {path, NULL, NULL, 0, opts->max_report, opts};
    int store_failed = 0;

    /* First pass: every row read, the bad ones reported, the good ones kept while they fit in
     * one batch, then counted by date. */
    int err = scan_start(&sc, d);
    while (!err) {
        struct bar b;
        struct diag why;
        int fatal;
        int rc = scan_next(&sc, &b, &why, d, &fatal);
        if (fatal) {
            err = rc;
            break;
        }
        if (rc == ERR_EOF)
            break;
        stats->rows++;
        sc.prog.rows++;
        rc = row_check(path, barcsv_line(&sc.r), rc, &b, today, &why);
        if (rc == ERR_OK) {
            if (!per_day && bt.bars.n == batch_rows && sc.regular) {
                if (!(per_day = calloc((size_t)(last_day - first_day) + 1, sizeof *per_day))) {
                    err = diag_set(d, ERR_NOMEM, "out of memory reading '%s'", path);
                    break;
                }
                for (size_t i = 0; i < bt.bars.n; i++)
                    per_day[bt.bars.v[i].date - first_day]++;
                batch_clear(&bt);
            }
            if (per_day)
                per_day[b.date - first_day]++;
            else
                err = batch_push(&bt, &b, barcsv_line(&sc.r), path, d);
            continue;
        }
        if (rc == ERR_NOMEM || rc == ERR_IO) {
            err = diag_set(d, rc, "%s", why.text);
            break;
        }
        bad++;
        reject_bad_row(opts, path, &sc.r, &b, &why);
        if (opts->strict) {
            err = diag_set(d, rc, "%s (strict mode: nothing imported from this file)", why.text);
            break;
        }
        if (bad <= opts->max_report)
            log_warn("skipped a bad row", LF_STR("error", why.text));
    }

    if (!err && !per_day) {
        err = batch_write(bs, path, opts, &bt, &cc, &bad, stats, &store_failed, d);
    } else if (!err) {
        /* With --strict every group is checked for repeats before the first is written. */
        sc.prog.groups = 0;
        for (int32_t lo = first_day; lo <= last_day;) {
            size_t n;
            lo = next_group(per_day, lo, batch_rows, &n);
            sc.prog.groups += n > 0;
        }
        for (int writing = !opts->strict; !err && writing <= 1; writing++) {
            sc.prog.checking = !writing;
            sc.prog.group = 0;
            for (int32_t lo = first_day; !err && lo <= last_day;) {
                size_t n;
                int32_t hi = next_group(per_day, lo, batch_rows, &n) - 1;
                if (n) {
                    sc.prog.group++;
                    batch_clear(&bt);
                    err = batch_read(&sc, today, lo, hi, &bt, d);
                    if (!err && !writing)
                        err = drop_repeats(path, opts, &bt.bars, bt.lines, &bad, d);
                    else if (!err)
                        err = batch_write(bs, path, opts, &bt, &cc, &bad, stats, &store_failed, d);
                }
                lo = hi + 1;
            }
        }
    }
    if (bad > opts->max_report)
        log_warn("more bad rows skipped", LF_STR("file", path),
                 LF_INT("not_shown", bad - opts->max_report));
    stats->bad += bad;
    if (err && err != ERR_NOMEM && !store_failed)
        stats->files_failed++; /* the file's fault */
    if (cc.reported > opts->max_report)
        log_warn("more conflicts not shown", LF_STR("file", path),
                 LF_INT("not_shown", cc.reported - opts->max_report));
    stats->files++;
    free(per_day);
    batch_clear(&bt);
    scan_close(&sc);
    return err;
}

int csvimport_file(struct barstore *bs, const char *path, const struct csvimport_opts *opts,
                   struct csvimport_stats *stats, struct diag *d)
{
    return import_file(bs, path, -1, opts, stats, d);
}

int csvimport_fd(struct barstore *bs, int fd, const char *name, const struct csvimport_opts *opts,
                 struct csvimport_stats *stats, struct diag *d)
{
    return import_file(bs, name, fd, opts, stats, d);
}

/* The whole of fd (not closed) into out, up to out's cap. */
static int read_fd(int fd, const char *name, struct buf *out, struct diag *d)
{
    char block[65536];
    for (;;) {
        ssize_t n = read(fd, block, sizeof block);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return diag_set(d, ERR_IO, "cannot read '%s': %s", name, strerror(errno));
        if (n == 0)
            return ERR_OK;
        int err = buf_append(out, block, (size_t)n);
        if (err == ERR_TOOBIG)
            return diag_set(d, err, "'%s' is over the limit of %zu bytes", name, out->max);
        if (err)
            return diag_set(d, err, "out of memory reading '%s'", name);
    }
}

static int import_splits(struct barstore *bs, const char *path, int fd, size_t *added,
                         int32_t *first, struct diag *d)
{
    struct buf data = BUF_INIT((size_t)64 << 20);
    struct splitvec sv;
    splitvec_init(&sv);
    *added = 0;
    if (first)
        *first = INT32_MAX;
    int err = fd < 0 ? file_read(path, &data, d) : read_fd(fd, path, &data, d);
    if (!err)
        err = splitcsv_parse(path, data.data ? data.data : (char *)"", data.len, &sv, d);
    if (!err)
        err = barstore_write_splits(bs, sv.v, sv.n, added, d);
    for (size_t i = 0; !err && *added && first && i < sv.n; i++)
        if (sv.v[i].ex_date < *first)
            *first = sv.v[i].ex_date;
    splitvec_release(&sv);
    buf_release(&data);
    return err;
}

int csvimport_splits(struct barstore *bs, const char *path, size_t *added, int32_t *first,
                     struct diag *d)
{
    return import_splits(bs, path, -1, added, first, d);
}

int csvimport_splits_fd(struct barstore *bs, int fd, const char *name, size_t *added,
                        int32_t *first, struct diag *d)
{
    return import_splits(bs, name, fd, added, first, d);
}
