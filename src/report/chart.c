/* chart.c - one stock's chart as a PNG (chart.h).  The only file that includes cairo and
 * FreeType. */
#include "report/chart.h"

#include <cairo-ft.h>
#include <cairo.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "codec/num.h"
#include "codec/split.h"
#include "screen/results.h"
#include "store/barstore.h"
#include "store/symlog.h"

#include "base/banned.h"

void chart_series_release(struct chart_series *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- the data ---- */

struct raw {
    int32_t date;
    int64_t high, close;
};

struct collect {
    const char *symbol;
    struct raw *v;
    size_t n, cap;
    /* Symbol changes: the company charted as `symbol` (its name on as_of) may be stored under
     * older names for the days before a change. */
    const struct symchange *changes;
    size_t nchanges;
    int32_t as_of;
};

static int take_named(struct collect *c, int32_t date, const struct bar *bars, size_t n,
                      const char *name);

static int take_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct collect *c = ctx;
    if (!c->nchanges)
        return take_named(c, date, bars, n, c->symbol);
    /* The name of the day first (the bar stored under it, as the screen takes it), then any
     * other name of the company's. */
    const char *want = symchange_name_on(c->changes, c->nchanges, c->symbol, date);
    size_t before = c->n;
    int err = take_named(c, date, bars, n, want);
    for (size_t i = 0; !err && c->n == before && i < n; i++)
        if (strcmp(bars[i].symbol, want) != 0 &&
            strcmp(symchange_name_on(c->changes, c->nchanges, bars[i].symbol, c->as_of),
                   c->symbol) == 0)
            err = take_named(c, date, bars + i, 1, bars[i].symbol);
    return err;
}

static int take_named(struct collect *c, int32_t date, const struct bar *bars, size_t n,
                      const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = strcmp(bars[mid].symbol, name);
        if (k == 0) {
            if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 512;
                struct raw *v = realloc(c->v, cap * sizeof *v);
                if (!v)
                    return ERR_NOMEM;
                c->v = v;
                c->cap = cap;
            }
            c->v[c->n++] = (struct raw){date, bars[mid].high, bars[mid].close};
            return ERR_OK;
        }
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return ERR_OK;
}

/* The product of the symbol's split factors with an ex-date up to t. */
static double growth(const struct split *sp, size_t n, int32_t t)
{
    double g = 1.0;
    for (size_t i = 0; i < n && sp[i].ex_date <= t; i++)
        g *= split_factor(&sp[i]);
    return g;
}

/* The series of c's bars (ascending by date) up to date, split-adjusted as of date. */
static int make_series(const struct collect *c, const struct splitvec *sv, const char *symbol,
                       int32_t date, int window_days, struct chart_series *out, struct diag *d)
{
    int32_t first = date - (CHART_DAYS - 1);
    /* The symbol's splits, in ex-date order (the log is sorted by symbol, then ex-date). */
    size_t s0 = 0;
    while (s0 < sv->n && strcmp(sv->v[s0].symbol, symbol) < 0)
        s0++;
    size_t s1 = s0;
    while (s1 < sv->n && strcmp(sv->v[s1].symbol, symbol) == 0)
        s1++;
    const struct split *sp = sv->v + s0;
    size_t nsp = s1 - s0;
    double g_date = growth(sp, nsp, date);
    snprintf(out->symbol, sizeof out->symbol, "%s", symbol);
    out->date = date;
    out->window_days = window_days;
    size_t shown = 0;
    for (size_t i = 0; i < c->n; i++)
        shown += c->v[i].date >= first && c->v[i].date <= date;
    if (shown == 0) {
        char day[DATE_STRLEN + 1];
        date_format(date, day);
        return diag_set(d, ERR_NOTFOUND, "no bars of %s in the year up to %s", symbol, day);
    }
    out->v = malloc(shown * sizeof *out->v);
    double *high = malloc(c->n * sizeof *high);
    if (!out->v || !high) {
        free(high);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n; i++)
        high[i] = num_fixed_to_double(c->v[i].high) * growth(sp, nsp, c->v[i].date) / g_date;
    size_t j = 0; /* the first bar inside the window of bar i */
    for (size_t i = 0; i < c->n && c->v[i].date <= date; i++) {
        while (c->v[j].date < c->v[i].date - (window_days - 1))
            j++;
        if (c->v[i].date < first)
            continue;
        struct chart_point *p = &out->v[out->n++];
        p->date = c->v[i].date;
        p->close = num_fixed_to_double(c->v[i].close) * growth(sp, nsp, c->v[i].date) / g_date;
        p->peak = 0;
        for (size_t k = j; k <= i; k++)
            if (high[k] >= p->peak) { /* the latest on ties */
                p->peak = high[k];
                p->peak_date = c->v[k].date;
            }
    }
    free(high);
    /* The picture and its caption name the day of the figures they show: the last bar's,
     * which is before the date asked for when that is a weekend or a holiday, or when the
     * stock stopped trading. */
    out->date = out->v[out->n - 1].date;
    /* Counted over every bar read, not only the year's: a window longer than the year can
     * hold a peak from before it. */
    for (size_t i = 0; i < c->n && c->v[i].date <= date; i++)
        out->since_peak += c->v[i].date > out->v[out->n - 1].peak_date;
    return ERR_OK;
}

int chart_load(struct objstore *os, const char *symbol, int32_t date, int window_days,
               struct chart_series *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    if (!bar_symbol_valid(symbol, strlen(symbol))) {
        char q[64];
        diag_quote(q, sizeof q, symbol, strlen(symbol), 40);
        return diag_set(d, ERR_INVALID, "'%s' is not a ticker", q);
    }
    struct barstore *bs = NULL;
    struct splitvec sv;
    splitvec_init(&sv);
    struct collect c = {.symbol = symbol};
    struct symchangevec changes;
    symchangevec_init(&changes);
    int err = barstore_new(os, &bs, d);
    int32_t first_stored;
    if (!err && !date)
        err = barstore_date_range(bs, &first_stored, &date, NULL, d);
    /* The company named symbol on date, with its history under older names. */
    if (!err)
        err = symlog_read_splits(bs, date, &sv, d);
    if (!err)
        err = symlog_read(bs, &changes, d);
    c.changes = changes.v;
    c.nchanges = changes.n;
    c.as_of = date;
    int32_t first = date - (CHART_DAYS - 1);
    if (!err)
        err = barstore_scan(bs, first - (window_days - 1), date, take_day, &c, d);
    if (err == ERR_NOMEM)
        err = diag_set(d, err, "out of memory");
    if (!err)
        err = make_series(&c, &sv, symbol, date, window_days, out, d);
    if (err)
        chart_series_release(out);
    free(c.v);
    splitvec_release(&sv);
    symchangevec_release(&changes);
    barstore_free(bs);
    return err;
}

int chart_load_results(struct objstore *os, const char *symbol, int window_days,
                       struct chart_series *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    if (!bar_symbol_valid(symbol, strlen(symbol))) {
        char q[64];
        diag_quote(q, sizeof q, symbol, strlen(symbol), 40);
        return diag_set(d, ERR_INVALID, "'%s' is not a ticker", q);
    }
    struct barstore *bs = NULL;
    struct splitvec sv;
    splitvec_init(&sv);
    struct collect c = {.symbol = symbol};
    struct buf b = BUF_INIT(BARSTORE_PART_MAX);
    int32_t date = INT32_MIN;
    int err = objstore_get(os, RESULTS_BARS1Y_KEY, &b, NULL, d);
    if (err == ERR_NOTFOUND)
        err = diag_set(d, err, "%s: not written yet (a collection writes it)", RESULTS_BARS1Y_KEY);
    struct barcsv_reader r;
    if (!err)
        err = barcsv_reader_init(&r, RESULTS_BARS1Y_KEY, b.data ? b.data : (char *)"", b.len, d);
    struct bar bar;
    while (!err && (err = barcsv_next(&r, &bar, d)) == ERR_OK) {
        if (bar.date > date)
            date = bar.date;
        if (strcmp(bar.symbol, symbol) != 0)
            continue;
        if (c.n && bar.date <= c.v[c.n - 1].date) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: %s's bars are not in date order",
                           RESULTS_BARS1Y_KEY, barcsv_line(&r), symbol);
            break;
        }
        err = take_day(&c, bar.date, &bar, 1);
        if (err)
            err = diag_set(d, err, "out of memory");
    }
    if (err == ERR_EOF)
        err = date == INT32_MIN ? diag_set(d, ERR_NOTFOUND, "%s holds no bars", RESULTS_BARS1Y_KEY)
                                : ERR_OK;
    if (!err)
        err = barstore_new(os, &bs, d);
    /* bars-1y.csv names every company as on its last date: so must the splits. */
    if (!err)
        err = symlog_read_splits(bs, date, &sv, d);
    if (!err)
        err = make_series(&c, &sv, symbol, date, window_days, out, d);
    if (err)
        chart_series_release(out);
    buf_release(&b);
    free(c.v);
    splitvec_release(&sv);
    barstore_free(bs);
    return err;
}

/* ---- the picture ---- */

/* The font, loaded once per process and path.  cairo may keep the face in its caches after
 * we let go of it, so the FreeType face is freed by cairo itself, when its last reference
 * goes (the user data's destroy function). */
static pthread_mutex_t font_lock = PTHREAD_MUTEX_INITIALIZER; /* the three below; no I/O */
static FT_Library ft_lib;
static cairo_font_face_t *font_face;
static char font_path[512];
static const cairo_user_data_key_t ft_key;

static void ft_face_done(void *p)
{
    FT_Done_Face((FT_Face)p);
}

static int load_font(const char *path, struct diag *d)
{
    if (font_face && strcmp(path, font_path) == 0)
        return ERR_OK;
    if (!ft_lib && FT_Init_FreeType(&ft_lib) != 0)
        return diag_set(d, ERR_INTERNAL, "FreeType could not start");
    FT_Face face;
    if (FT_New_Face(ft_lib, path, 0, &face) != 0) {
        /* A file that is not there is missing input; one that is there but FreeType cannot
         * read is bad input, and says so. */
        FILE *f = fopen(path, "rb");
        if (!f)
            return diag_set(d, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                            "font '%s' could not be loaded: %s", path, strerror(errno));
        fclose(f);
        return diag_set(d, ERR_INVALID,
                        "font '%s' could not be loaded: not a font file (a TrueType font is "
                        "wanted)",
                        path);
    }
    cairo_font_face_t *cf = cairo_ft_font_face_create_for_ft_face(face, 0);
    if (cairo_font_face_status(cf) != CAIRO_STATUS_SUCCESS ||
        cairo_font_face_set_user_data(cf, &ft_key, face, ft_face_done) != CAIRO_STATUS_SUCCESS) {
        cairo_font_face_destroy(cf);
        FT_Done_Face(face);
        return diag_set(d, ERR_NOMEM, "font '%s': out of memory", path);
    }
    if (font_face)
        cairo_font_face_destroy(font_face);
    font_face = cf;
    snprintf(font_path, sizeof font_path, "%s", path);
    return ERR_OK;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    return buf_append(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* Plot area. */
#define PX0 78.0
#define PX1 980.0
#define PY0 104.0
#define PY1 510.0

struct frame {
    cairo_t *cr;
    size_t n;
    double lo, hi;
};

static double fx(const struct frame *f, size_t i)
{
    return f->n > 1 ? PX0 + (PX1 - PX0) * (double)i / (double)(f->n - 1) : (PX0 + PX1) / 2;
}

static double fy(const struct frame *f, double v)
{
    return PY1 - (PY1 - PY0) * (v - f->lo) / (f->hi - f->lo);
}

static void text(cairo_t *cr, double x, double y, double size, const char *s, double align)
{
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, s);
}

static void rgb(cairo_t *cr, unsigned hex, double alpha)
{
    cairo_set_source_rgba(cr, (hex >> 16 & 255) / 255.0, (hex >> 8 & 255) / 255.0,
                          (hex & 255) / 255.0, alpha);
}

static void draw(cairo_t *cr, const struct chart_series *s)
{
    struct frame f = {cr, s->n, HUGE_VAL, -HUGE_VAL};
    for (size_t i = 0; i < s->n; i++) {
        f.lo = fmin(f.lo, s->v[i].close);
        f.hi = fmax(f.hi, fmax(s->v[i].peak, s->v[i].close));
    }
    double pad = (f.hi - f.lo) * 0.06;
    if (!(pad > 0))
        pad = f.hi > 0 ? f.hi * 0.05 : 1.0;
    f.lo = fmax(f.lo - pad, 0);
    f.hi += pad;

    rgb(cr, 0xffffff, 1);
    cairo_paint(cr);
    cairo_set_font_face(cr, font_face);

    /* Price grid and labels. */
    char label[64];
    cairo_set_line_width(cr, 1);
    for (int k = 0; k <= 4; k++) {
        double v = f.lo + (f.hi - f.lo) * k / 4.0, y = round(fy(&f, v)) + 0.5;
        rgb(cr, 0xd8dee4, 1);
        cairo_move_to(cr, PX0, y);
        cairo_line_to(cr, PX1, y);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%.2f", v);
        rgb(cr, 0x5b6570, 1);
        text(cr, PX0 - 8, y + 5, 13, label, 1.0);
    }
    /* A label at the first day of each month. */
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int last_month = -1;
    for (size_t i = 0; i < s->n; i++) {
        int y, m, dd;
        date_to_ymd(s->v[i].date, &y, &m, &dd);
        if (m == last_month)
            continue;
        last_month = m;
        if (i == 0)
            continue;
        double x = round(fx(&f, i)) + 0.5;
        rgb(cr, 0xeef1f4, 1);
        cairo_move_to(cr, x, PY0);
        cairo_line_to(cr, x, PY1);
        cairo_stroke(cr);
        rgb(cr, 0x5b6570, 1);
        if (m == 1)
            snprintf(label, sizeof label, "%s %d", months[m - 1], y);
        else
            snprintf(label, sizeof label, "%s", months[m - 1]);
        text(cr, x, PY1 + 20, 13, label, 0.5);
    }

    /* The drawdown: the area between the peak and the close. */
    cairo_move_to(cr, fx(&f, 0), fy(&f, s->v[0].peak));
    for (size_t i = 1; i < s->n; i++)
        cairo_line_to(cr, fx(&f, i), fy(&f, s->v[i].peak));
    for (size_t i = s->n; i-- > 0;)
        cairo_line_to(cr, fx(&f, i), fy(&f, s->v[i].close));
    cairo_close_path(cr);
    rgb(cr, 0xc62828, 0.16);
    cairo_fill(cr);
    /* The peak, dashed, and the closes. */
    static const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.6);
    rgb(cr, 0xc62828, 1);
    for (size_t i = 0; i < s->n; i++)
        cairo_line_to(cr, fx(&f, i), fy(&f, s->v[i].peak));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 2.2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    rgb(cr, 0x1565c0, 1);
    for (size_t i = 0; i < s->n; i++)
        cairo_line_to(cr, fx(&f, i), fy(&f, s->v[i].close));
    cairo_stroke(cr);
    const struct chart_point *z = &s->v[s->n - 1];
    cairo_arc(cr, fx(&f, s->n - 1), fy(&f, z->close), 4, 0, 2 * M_PI);
    cairo_fill(cr);

    /* The symbol, the date and the last day's figures. */
    char day[DATE_STRLEN + 1], peak_day[DATE_STRLEN + 1];
    date_format(s->date, day);
    date_format(z->peak_date, peak_day);
    size_t since = s->since_peak;
    double dd = z->peak > 0 ? 100.0 * (z->close / z->peak - 1.0) : 0;
    rgb(cr, 0x1b1f24, 1);
    text(cr, 24, 44, 30, s->symbol, 0);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s->symbol, &e);
    rgb(cr, 0x5b6570, 1);
    text(cr, 24 + e.x_advance + 16, 44, 18, day, 0);
    char line[256];
    snprintf(line, sizeof line,
             "Close %.2f   Peak %.2f on %s   Drawdown %s%.1f%%   %zu trading days since the peak",
             z->close, z->peak, peak_day, dd < -0.05 ? "\xE2\x88\x92" : "", fabs(dd), since);
    rgb(cr, 0x1b1f24, 1);
    text(cr, 24, 76, 16, line, 0);
    /* The key. */
    double kx = PX1 - 330, ky = 96;
    rgb(cr, 0x1565c0, 1);
    cairo_rectangle(cr, kx, ky - 6, 22, 3);
    cairo_fill(cr);
    rgb(cr, 0x5b6570, 1);
    text(cr, kx + 28, ky, 13, "close", 0);
    rgb(cr, 0xc62828, 1);
    cairo_rectangle(cr, kx + 80, ky - 6, 22, 2);
    cairo_fill(cr);
    rgb(cr, 0x5b6570, 1);
    snprintf(label, sizeof label, "%d-day peak", s->window_days);
    text(cr, kx + 108, ky, 13, label, 0);
    rgb(cr, 0xc62828, 0.16);
    cairo_rectangle(cr, kx + 210, ky - 10, 22, 12);
    cairo_fill(cr);
    rgb(cr, 0x5b6570, 1);
    text(cr, kx + 238, ky, 13, "drawdown", 0);
}

int chart_png(const struct chart_series *s, const char *font_file, struct buf *png, struct diag *d)
{
    if (s->n == 0)
        return diag_set(d, ERR_INVALID, "%s: no prices to draw", s->symbol);
    for (size_t i = 0; i < s->n; i++)
        if (!isfinite(s->v[i].close) || !isfinite(s->v[i].peak) || s->v[i].close < 0 ||
            s->v[i].peak < 0)
            return diag_set(d, ERR_INVALID, "%s: a price that is not a number", s->symbol);
    /* Charts may be drawn on several threads at once (a bot server): the font is loaded and
     * used under its lock (drawing is in memory only). */
    pthread_mutex_lock(&font_lock);
    int err = load_font(font_file ? font_file : CHART_FONT_DEFAULT, d);
    if (err) {
        pthread_mutex_unlock(&font_lock);
        return err;
    }
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, CHART_WIDTH, CHART_HEIGHT);
    cairo_t *cr = cairo_create(surface);
    draw(cr, s);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    pthread_mutex_unlock(&font_lock);
    size_t before = png->len;
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(surface, to_buf, png);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        png->len = before; /* nothing half-written stays */
        if (png->data)
            png->data[before] = '\0';
        return diag_set(d, st == CAIRO_STATUS_WRITE_ERROR ? ERR_TOOBIG : ERR_INTERNAL,
                        "chart of %s: %s", s->symbol, cairo_status_to_string(st));
    }
    return ERR_OK;
}
