/* Unit tests: the screen engine, against hand-computed cases and against a naive
 * recomputation of docs/definitions.md#the-screen on seeded random markets (gaps, splits,
 * ties, short histories). */
#include "testutil.h"

#include "base/date.h"
#include "base/log.h"
#include "codec/num.h"
#include "screen/screen.h"
#include "screen/screen_run.h"
#include "store/barstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t day_of(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), 0);
    return d;
}

static void feed(struct screen *s, const struct bar *bars, size_t n)
{
    struct diag d;
    assert_int_equal(screen_add_day(s, bars[0].date, bars, n, &d), ERR_OK);
}

static void test_hand_computed(void **state)
{
    (void)state;
    struct screen_opts o;
    screen_opts_default(&o);
    o.window_days = 5;
    o.min_bars = 2;
    o.top = 0;
    struct screen *s;
    struct diag d;
    assert_int_equal(screen_new(&o, NULL, 0, &s, &d), ERR_OK);
    /* AAA: highs 50 (Jan 1), 40, 50 (Jan 3, ties the first: the later one is the peak),
     * then a gap, then Jan 8 whose window [Jan 4, Jan 8] no longer holds those peaks. */
    struct bar b1 = tu_bar("AAA", "2024-01-01", 45, 50, 44, 48, 10);
    struct bar b2 = tu_bar("AAA", "2024-01-02", 40, 40, 38, 39, 10);
    struct bar b3 = tu_bar("AAA", "2024-01-03", 45, 50, 42, 44, 10);
    struct bar b4 = tu_bar("AAA", "2024-01-04", 40, 41, 35, 36, 10);
    struct bar b5 = tu_bar("AAA", "2024-01-08", 33, 34, 30, 30, 10);
    const struct screen_row *rows;
    size_t n;
    feed(s, &b1, 1);
    assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
    assert_int_equal(n, 0); /* one bar: not eligible with min_bars 2 */
    feed(s, &b2, 1);
    feed(s, &b3, 1);
    feed(s, &b4, 1);
    assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].peak == 50.0);
    assert_int_equal(rows[0].peak_date, day_of("2024-01-03"));
    assert_int_equal(rows[0].days_since_peak, 1);
    assert_true(fabs(rows[0].drawdown_pct - (-28.0)) < 1e-12);
    assert_true(fabs(rows[0].change_pct - 100.0 * (36.0 / 44.0 - 1.0)) < 1e-12);
    feed(s, &b5, 1);
    assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].peak == 41.0);
    assert_int_equal(rows[0].peak_date, day_of("2024-01-04"));
    assert_int_equal(rows[0].days_since_peak, 1);
    assert_true(fabs(rows[0].drawdown_pct - 100.0 * (30.0 - 41.0) / 41.0) < 1e-12);
    assert_int_equal(rows[0].rank, 1);
    /* Days must come in order. */
    assert_int_equal(screen_add_day(s, b4.date, &b4, 1, &d), ERR_INVALID);
    screen_free(s);
}

/* A day's bar with bytes left over after the end of its symbol (as in a reused array). */
static struct bar junk_bar(const char *symbol, const char *day, char junk)
{
    struct bar b = tu_bar("X", day, 10, 11, 9, 10, 100);
    memset(b.symbol, junk, sizeof b.symbol);
    memcpy(b.symbol, symbol, strlen(symbol) + 1);
    return b;
}

/* The order of a day's symbols is strcmp's, whatever their lengths and whatever follows their
 * end; a repeat or a step back is refused; a symbol is the same one from day to day. */
static void test_symbol_order(void **state)
{
    (void)state;
    static const char *const sorted[] = {
        "A",           "AA", "AAA.B", "AB",    "ABCDEFGHIJ", "ABCDEFGHIK",
        "ABCDEFGHIKA", "B",  "BRK.B", "BRK/B", "Z",          "ZZZZZZZZZZZZZZZ"};
    const size_t n = sizeof sorted / sizeof *sorted;
    struct screen_opts o;
    screen_opts_default(&o);
    o.min_bars = 1;
    o.top = 0;
    struct screen *s;
    struct diag d;
    assert_int_equal(screen_new(&o, NULL, 0, &s, &d), ERR_OK);
    struct bar day[16];
    for (size_t i = 0; i < n; i++)
        day[i] = junk_bar(sorted[i], "2024-01-02", 'Z');
    assert_int_equal(screen_add_day(s, day[0].date, day, n, &d), ERR_OK);
    /* The next day: every other symbol, the same ones. */
    size_t m = 0;
    for (size_t i = 0; i < n; i += 2)
        day[m++] = junk_bar(sorted[i], "2024-01-03", (char)('A' + i));
    assert_int_equal(screen_add_day(s, day[0].date, day, m, &d), ERR_OK);
    assert_int_equal(screen_symbols(s), n);
    const struct screen_row *rows;
    size_t nrows;
    assert_int_equal(screen_rank(s, &rows, &nrows), ERR_OK);
    assert_int_equal(nrows, m);
    /* A repeat (what follows the end differs, and grows), and two symbols out of order (equal
     * in their first 8 bytes, then not). */
    const char *const repeat[] = {"AA", "AB", "AB"}, *const back[] = {"ABCDEFGHIK", "ABCDEFGHIJ"};
    const char *const shorter[] = {"AA", "A"};
    const char *const *bad[] = {repeat, back, shorter};
    const size_t nbad[] = {3, 2, 2};
    const char *const days[] = {"2024-01-04", "2024-01-05", "2024-01-08"};
    for (size_t t = 0; t < 3; t++) {
        for (size_t i = 0; i < nbad[t]; i++)
            day[i] = junk_bar(bad[t][i], days[t], (char)('A' + i));
        assert_int_equal(screen_add_day(s, day[0].date, day, nbad[t], &d), ERR_INVALID);
        assert_non_null(strstr(d.text, "sorted by symbol without repeats"));
    }
    screen_free(s);
}

static void test_split_is_not_a_crash(void **state)
{
    (void)state;
    struct screen_opts o;
    screen_opts_default(&o);
    o.min_bars = 1;
    struct split sp = {"SPLT", day_of("2024-06-10"), 2000000, 1000000};
    struct screen *s;
    struct diag d;
    assert_int_equal(screen_new(&o, &sp, 1, &s, &d), ERR_OK);
    struct bar pre = tu_bar("SPLT", "2024-06-07", 200, 210, 195, 200, 1000);
    struct bar post = tu_bar("SPLT", "2024-06-10", 100, 101, 97, 99, 2000);
    feed(s, &pre, 1);
    feed(s, &post, 1);
    const struct screen_row *rows;
    size_t n;
    assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_true(fabs(rows[0].change_pct - (-1.0)) < 1e-12); /* 99 vs 200/2, not -50.5% */
    assert_true(rows[0].peak == 105.0);                     /* 210 / 2 */
    assert_true(rows[0].close == 99.0);
    assert_true(fabs(rows[0].drawdown_pct - 100.0 * (99.0 - 105.0) / 105.0) < 1e-12);
    screen_free(s);
}

static void test_ties_and_top(void **state)
{
    (void)state;
    struct screen_opts o;
    screen_opts_default(&o);
    o.min_bars = 1;
    o.top = 2;
    struct screen *s;
    struct diag d;
    assert_int_equal(screen_new(&o, NULL, 0, &s, &d), ERR_OK);
    struct bar day1[] = {
        tu_bar("AAA", "2024-01-01", 10, 20, 9, 10, 1),
        tu_bar("BBB", "2024-01-01", 10, 20, 9, 10, 1),
        tu_bar("CCC", "2024-01-01", 10, 20, 9, 15, 1),
        tu_bar("DDD", "2024-01-01", 10, 20, 9, 5, 1),
    };
    feed(s, day1, 4);
    const struct screen_row *rows;
    size_t n;
    assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].symbol, "DDD");
    assert_string_equal(rows[1].symbol, "AAA"); /* ties AAA and BBB at -50%: by symbol */
    assert_int_equal(rows[1].rank, 2);
    assert_true(isnan(rows[0].change_pct));
    screen_free(s);
}

/* A symbol whose numbers are NaN (here: split factors whose product overflowed, which the
 * store refuses, fed to the engine directly) must not move anybody else: it ranks last. */
static void test_nan_never_misorders(void **state)
{
    (void)state;
    struct split sp[25];
    for (int i = 0; i < 25; i++) {
        sp[i] = (struct split){"AAA", day_of("2024-01-02"), INT64_MAX / 2, 1};
        sp[i].ex_date = day_of("2024-01-02") + i;
    }
    for (int top = 0; top <= 2; top += 2) {
        struct screen_opts o;
        screen_opts_default(&o);
        o.min_bars = 1;
        o.top = top;
        struct screen *s;
        struct diag d;
        assert_int_equal(screen_new(&o, sp, 25, &s, &d), ERR_OK);
        struct bar day1[] = {
            tu_bar("AAA", "2024-01-01", 10, 20, 9, 10, 1),
            tu_bar("BBB", "2024-01-01", 10, 20, 9, 18, 1),
            tu_bar("CCC", "2024-01-01", 10, 20, 9, 10, 1),
        };
        struct bar day2[] = {
            tu_bar("AAA", "2024-02-01", 10, 20, 9, 10, 1),
            tu_bar("BBB", "2024-02-01", 10, 20, 9, 18, 1),
            tu_bar("CCC", "2024-02-01", 10, 20, 9, 10, 1),
        };
        feed(s, day1, 3);
        feed(s, day2, 3);
        const struct screen_row *rows;
        size_t n;
        assert_int_equal(screen_rank(s, &rows, &n), ERR_OK);
        assert_true(isnan(rows[n - 1].drawdown_pct) || n == 2);
        assert_string_equal(rows[0].symbol, "CCC"); /* -50% */
        assert_string_equal(rows[1].symbol, "BBB"); /* -10% */
        if (top == 0) {
            assert_int_equal(n, 3);
            assert_string_equal(rows[2].symbol, "AAA");
            assert_true(isnan(rows[2].drawdown_pct));
        }
        screen_free(s);
    }
}

/* ---- the naive recomputation ---- */

struct market {
    struct barvec bars; /* sorted by date, then symbol */
    struct splitvec splits;
    int32_t first, last;
};

/* Product of the factors of sym's splits with after < ex_date <= upto. */
static double factor_between(const struct market *m, const char *sym, int32_t after, int32_t upto)
{
    double f = 1.0;
    for (size_t i = 0; i < m->splits.n; i++) {
        const struct split *sp = &m->splits.v[i];
        if (strcmp(sp->symbol, sym) == 0 && sp->ex_date > after && sp->ex_date <= upto)
            f *= split_factor(sp);
    }
    return f;
}

static double px(int64_t micro)
{
    return (double)micro / 1e6;
}

static size_t naive_rank(const struct market *m, const struct screen_opts *o, int32_t day,
                         struct screen_row *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->bars.n; i++) {
        const struct bar *b = &m->bars.v[i];
        if (b->date != day)
            continue;
        int32_t start = day - (o->window_days - 1);
        int count = 0;
        double peak = 0, vol_sum = 0;
        int32_t peak_date = 0;
        const struct bar *prev = NULL;
        for (size_t k = 0; k < m->bars.n; k++) {
            const struct bar *x = &m->bars.v[k];
            if (strcmp(x->symbol, b->symbol) != 0 || x->date > day)
                continue;
            double f = factor_between(m, x->symbol, x->date, day);
            if (x->date < day && (!prev || x->date > prev->date))
                prev = x;
            if (x->date < start)
                continue;
            count++;
            vol_sum += (double)x->volume * f;
            /* Compared as raw price x the symbol's split factors up to the bar's date, as the
             * engine does: the factors (2, 3, 1.5, 0.25) are exact in binary, so values that are
             * equal on paper compare equal, and ties fall to the symbol as the definition says. */
            double high = (double)x->high * factor_between(m, x->symbol, INT32_MIN, x->date);
            if (count == 1 || high > peak || (high == peak && x->date > peak_date)) {
                peak = high;
                peak_date = x->date;
            }
        }
        if (count < o->min_bars)
            continue;
        if (o->min_price && b->close < o->min_price)
            continue;
        if (o->min_volume && vol_sum / count < (double)o->min_volume)
            continue;
        if (o->by == SCREEN_BY_CHANGE && !prev)
            continue;
        struct screen_row *r = &out[n++];
        memset(r, 0, sizeof *r);
        r->date = day;
        snprintf(r->symbol, sizeof r->symbol, "%s", b->symbol);
        double g = factor_between(m, b->symbol, INT32_MIN, day);
        double close = (double)b->close * g;
        r->close = px(b->close);
        r->peak = peak / g / 1e6;
        r->peak_date = peak_date;
        r->drawdown_pct = 100.0 * (close - peak) / peak;
        r->days_since_peak = 0;
        for (size_t k = 0; k < m->bars.n; k++) {
            const struct bar *x = &m->bars.v[k];
            if (strcmp(x->symbol, b->symbol) == 0 && x->date > peak_date && x->date <= day)
                r->days_since_peak++;
        }
        r->change_pct =
            prev ? 100.0 * (close / ((double)prev->close *
                                     factor_between(m, b->symbol, INT32_MIN, prev->date)) -
                            1.0)
                 : (double)NAN;
        r->volume = b->volume;
    }
    /* Sort: metric ascending, then symbol (insertion sort: the lists are short). */
    for (size_t i = 1; i < n; i++) {
        struct screen_row r = out[i];
        double key = o->by == SCREEN_BY_CHANGE ? r.change_pct : r.drawdown_pct;
        size_t k = i;
        while (k > 0) {
            double pk = o->by == SCREEN_BY_CHANGE ? out[k - 1].change_pct : out[k - 1].drawdown_pct;
            if (pk < key || (pk == key && strcmp(out[k - 1].symbol, r.symbol) < 0))
                break;
            out[k] = out[k - 1];
            k--;
        }
        out[k] = r;
    }
    if (o->top && n > o->top)
        n = o->top;
    for (size_t i = 0; i < n; i++)
        out[i].rank = (int)i + 1;
    return n;
}

static int64_t cents(double dollars)
{
    return (int64_t)llround(dollars * 100.0) * 10000;
}

static void make_market(uint64_t *rng, struct market *m, const struct screen_opts *o)
{
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE",   "FFF",
                                       "GGG", "HHH", "III", "JJJ", "TWINA", "TWINB"};
    const size_t nsyms = sizeof syms / sizeof syms[0];
    barvec_init(&m->bars);
    splitvec_init(&m->splits);
    m->first = day_of("2020-01-01") + (int32_t)(tu_rand(rng) % 1000);
    int ndays = 60 + (int)(tu_rand(rng) % 400);
    m->last = m->first + ndays - 1;
    (void)o;
    double price[12];
    int32_t from[12], to[12];
    for (size_t s = 0; s < nsyms; s++) {
        price[s] = 5 + tu_uniform(rng) * 200;
        /* Some symbols start late or stop early: windows that begin before the data. */
        from[s] =
            m->first + (tu_uniform(rng) < 0.3 ? (int32_t)(tu_rand(rng) % (unsigned)ndays) : 0);
        to[s] =
            tu_uniform(rng) < 0.2 ? from[s] + (int32_t)(tu_rand(rng) % (unsigned)ndays) : m->last;
        if (s < nsyms - 1 && tu_uniform(rng) < 0.35) {
            struct split sp;
            snprintf(sp.symbol, sizeof sp.symbol, "%s", syms[s]);
            sp.ex_date = m->first + (int32_t)(tu_rand(rng) % (unsigned)ndays);
            static const int64_t ratios[][2] = {{2, 1}, {3, 1}, {3, 2}, {1, 4}};
            size_t r = tu_rand(rng) % 4;
            sp.new_rate = ratios[r][0] * 1000000;
            sp.old_rate = ratios[r][1] * 1000000;
            splitvec_push(&m->splits, &sp);
            if (strcmp(syms[s], "TWINA") == 0) {
                snprintf(sp.symbol, sizeof sp.symbol, "TWINB");
                splitvec_push(&m->splits, &sp);
            }
        }
    }
    if (m->splits.n > 1)
        qsort(m->splits.v, m->splits.n, sizeof *m->splits.v, split_cmp);
    double recent_high[12] = {0};
    for (int32_t day = m->first; day <= m->last; day++) {
        if (tu_uniform(rng) < 0.3)
            continue; /* not a trading day */
        struct bar twin;
        int have_twin = 0;
        for (size_t s = 0; s < nsyms; s++) {
            if (day < from[s] || day > to[s])
                continue;
            if (strcmp(syms[s], "TWINB") == 0) {
                if (have_twin) {
                    snprintf(twin.symbol, sizeof twin.symbol, "TWINB");
                    barvec_push(&m->bars, &twin);
                }
                continue;
            }
            if (tu_uniform(rng) < 0.12)
                continue; /* a gap in this symbol's history */
            double f = factor_between(m, syms[s], INT32_MIN, day);
            double r = (tu_uniform(rng) - 0.5) * 0.12;
            if (tu_uniform(rng) < 0.03)
                r = -0.3 * tu_uniform(rng);
            price[s] *= 1 + r;
            if (price[s] < 1)
                price[s] = 1;
            double raw = price[s] / f;
            double open = raw * (1 + (tu_uniform(rng) - 0.5) * 0.02);
            double high = fmax(open, raw) * (1 + tu_uniform(rng) * 0.02);
            double low = fmin(open, raw) * (1 - tu_uniform(rng) * 0.02);
            /* Now and then repeat an earlier high exactly: ties for the peak. */
            if (recent_high[s] > high && recent_high[s] < high * 1.05 && tu_uniform(rng) < 0.5)
                high = recent_high[s];
            struct bar b;
            memset(&b, 0, sizeof b);
            snprintf(b.symbol, sizeof b.symbol, "%s", syms[s]);
            b.date = day;
            b.open = cents(open);
            b.close = cents(raw);
            b.high = cents(high);
            b.low = cents(low);
            if (b.low < 10000)
                b.low = 10000;
            if (b.open < b.low)
                b.open = b.low;
            if (b.close < b.low)
                b.close = b.low;
            if (b.high < b.open)
                b.high = b.open;
            if (b.high < b.close)
                b.high = b.close;
            recent_high[s] = (double)b.high / 1e6;
            b.volume = (int64_t)(1000 + tu_rand(rng) % 100000);
            b.vwap = BAR_NONE;
            b.trades = BAR_NONE;
            barvec_push(&m->bars, &b);
            if (strcmp(syms[s], "TWINA") == 0) {
                twin = b;
                have_twin = 1;
            }
        }
    }
}

static void assert_close(double a, double b, const char *what, const char *sym, int32_t day)
{
    if (isnan(a) && isnan(b))
        return;
    if (!(fabs(a - b) <= 1e-9 * (1 + fabs(b)))) {
        char s[11];
        date_format(day, s);
        fail_msg("%s %s %s: engine %.12f, naive %.12f", s, sym, what, a, b);
    }
}

struct collect {
    const struct market *m;
    const struct screen_opts *o;
    size_t days, rows;
    struct screen_row *naive;
};

static int check_day(void *ctx, int32_t day, const struct screen_row *rows, size_t n)
{
    struct collect *c = ctx;
    size_t nn = naive_rank(c->m, c->o, day, c->naive);
    char s[11];
    date_format(day, s);
    if (n != nn)
        fail_msg("%s: engine ranked %zu, naive %zu", s, n, nn);
    for (size_t i = 0; i < n; i++) {
        const struct screen_row *a = &rows[i], *b = &c->naive[i];
        if (strcmp(a->symbol, b->symbol) != 0)
            fail_msg("%s rank %zu: engine %s, naive %s", s, i + 1, a->symbol, b->symbol);
        assert_int_equal(a->rank, b->rank);
        assert_int_equal(a->date, day);
        assert_int_equal(a->peak_date, b->peak_date);
        assert_int_equal(a->days_since_peak, b->days_since_peak);
        assert_int_equal(a->volume, b->volume);
        assert_close(a->close, b->close, "close", a->symbol, day);
        assert_close(a->peak, b->peak, "peak", a->symbol, day);
        assert_close(a->drawdown_pct, b->drawdown_pct, "drawdown", a->symbol, day);
        assert_close(a->change_pct, b->change_pct, "change", a->symbol, day);
    }
    c->days++;
    c->rows += n;
    return 0;
}

static void test_against_naive(void **state)
{
    (void)state;
    uint64_t rng = tu_seed("screen vs naive");
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    char *dir = tu_mkdtemp();
    size_t total_rows = 0;
    for (int round = 0; round < 40; round++) {
        struct screen_opts o;
        screen_opts_default(&o);
        static const int windows[] = {1, 5, 30, 180};
        o.window_days = windows[tu_rand(&rng) % 4];
        static const int mins[] = {1, 2, 5, 30};
        o.min_bars = mins[tu_rand(&rng) % 4];
        if (o.min_bars > o.window_days)
            o.min_bars = o.window_days;
        o.by = tu_rand(&rng) % 2 ? SCREEN_BY_CHANGE : SCREEN_BY_DRAWDOWN;
        o.top = tu_rand(&rng) % 3 == 0 ? 0 : 1 + tu_rand(&rng) % 6;
        if (tu_rand(&rng) % 4 == 0)
            o.min_price = 20000000;
        if (tu_rand(&rng) % 4 == 0)
            o.min_volume = 40000;
        struct market m;
        make_market(&rng, &m, &o);

        char sub[64];
        snprintf(sub, sizeof sub, "round%d", round);
        struct objstore *os;
        struct barstore *bs;
        struct diag d;
        assert_int_equal(objstore_open(tu_path(dir, sub), &os, &d), ERR_OK);
        assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
        struct barstore_write_stats st;
        assert_int_equal(barstore_write(bs, m.bars.v, m.bars.n, NULL, &st, &d), ERR_OK);
        size_t added;
        if (m.splits.n)
            assert_int_equal(barstore_write_splits(bs, m.splits.v, m.splits.n, &added, &d), ERR_OK);

        /* A random range, often starting where windows reach before the data. */
        int32_t span = m.last - m.first + 1;
        int32_t from = m.first + (int32_t)(tu_rand(&rng) % (unsigned)span);
        int32_t to = from + (int32_t)(tu_rand(&rng) % 90);
        struct collect c = {&m, &o, 0, 0, calloc(64, sizeof(struct screen_row))};
        struct screen_run_stats rs;
        int err = screen_run(bs, &o, from, to, check_day, &c, &rs, &d);
        if (err != ERR_OK && err != ERR_NOTFOUND)
            fail_msg("screen_run: %s", d.text);
        total_rows += c.rows;
        free(c.naive);
        barstore_free(bs);
        objstore_free(os);
        barvec_release(&m.bars);
        splitvec_release(&m.splits);
    }
    printf("# %zu ranked rows checked against the naive recomputation\n", total_rows);
    assert_true(total_rows > 100);
    tu_rmrf(dir);
    free(dir);
}

/* A number the CSV writer must print as "%.4f" does: near ties, at the limits of the
 * writer's own conversion, negative zero, tiny values and the largest a row can hold (a price
 * of 2^63 millionths, a change of 10^20 %), random ones. */
static double csv_number(uint64_t *seed)
{
    static const double edge[] = {0.0,
                                  -0.0,
                                  0.00005,
                                  0.00015,
                                  -0.00005,
                                  1.00005,
                                  2.50005,
                                  0.12345,
                                  99.99995,
                                  -99.99995,
                                  1e15,
                                  -1e15,
                                  1e-300,
                                  -1e-300,
                                  214748.3647,
                                  214748.3648,
                                  214748.36475,
                                  9.2e20,
                                  123.4567,
                                  0.5,
                                  49.99994999,
                                  49.99995001,
                                  -37.641849999999998};
    switch (tu_rand(seed) % 4) {
    case 0:
        return edge[tu_rand(seed) % (sizeof edge / sizeof *edge)];
    case 1: /* k / 10^5 with a 5 at the end: a decimal tie that binary cannot hold */
        return ((double)(tu_rand(seed) % 100000000) * 10 + 5) / 100000.0 *
               (tu_rand(seed) % 2 ? 1 : -1);
    case 2: /* a price in millionths, as the screen makes them */
        return (double)(tu_rand(seed) % 10000000000ull) / NUM_FIXED_SCALE;
    default:
        return (tu_uniform(seed) - 0.5) * pow(10, (double)(tu_rand(seed) % 16) - 4);
    }
}

/* The CSV rows against printf's "%.4f" for every number. */
static void test_csv_numbers(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("csv_numbers");
    struct screen_opts o = {0};
    o.window_days = 20;
    for (int iter = 0; iter < 20000; iter++) {
        struct screen_row r = {0};
        r.date = 19000;
        r.rank = (int)(tu_rand(&seed) % 1000);
        snprintf(r.symbol, sizeof r.symbol, "%s", iter % 2 ? "BRK.B" : "ABCDEFGHIJKLMNO");
        r.close = csv_number(&seed);
        r.peak = csv_number(&seed);
        r.peak_date = 18000;
        r.drawdown_pct = csv_number(&seed);
        r.days_since_peak = (int)(tu_rand(&seed) % 100000);
        r.change_pct = tu_rand(&seed) % 8 ? csv_number(&seed) : (double)NAN;
        r.volume = (int64_t)(tu_rand(&seed) >> 1);
        struct buf got = BUF_INIT(1 << 12);
        struct screen_writer w;
        assert_int_equal(screen_writer_begin(&w, &got, SCREEN_FORMAT_CSV, &o), ERR_OK);
        buf_reset(&got);
        assert_int_equal(screen_writer_rows(&w, &got, &r, 1), ERR_OK);
        char change[400] = "", want[2048];
        if (!isnan(r.change_pct))
            snprintf(change, sizeof change, "%.4f", r.change_pct);
        snprintf(want, sizeof want, "2022-01-08,%d,%s,%.4f,%.4f,2019-04-14,%.4f,%d,%s,%lld\n",
                 r.rank, r.symbol, r.close, r.peak, r.drawdown_pct, r.days_since_peak, change,
                 (long long)r.volume);
        if (strcmp(buf_cstr(&got), want) != 0) {
            fprintf(stderr, "got  %swant %s", buf_cstr(&got), want);
            fail();
        }
        buf_release(&got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),       cmocka_unit_test(test_split_is_not_a_crash),
        cmocka_unit_test(test_nan_never_misorders), cmocka_unit_test(test_ties_and_top),
        cmocka_unit_test(test_against_naive),       cmocka_unit_test(test_symbol_order),
        cmocka_unit_test(test_csv_numbers),
    };
    return cmocka_run_group_tests_name("screen", tests, NULL, NULL);
}
