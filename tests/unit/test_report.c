/* Unit tests: the HTML report (report/): escaping, numbers, the backtest's equity file, the
 * page built from a local store's results (provisional mark, past candidates across a split,
 * sections present or left out, problems named) and where it is stored (latest.html never
 * turned back to an older date). */
#include "testutil.h"

#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/crypto.h"
#include "codec/barcsv.h"
#include "report/chart.h"
#include "report/equity.h"
#include "report/html.h"
#include "report/report.h"
#include "screen/results.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *esc(const char *s, size_t n)
{
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(html_text(&b, s, n), ERR_OK);
    size_t len;
    char *out = buf_detach(&b, &len);
    return out ? out : calloc(1, 1);
}

static void test_escape_markup(void **state)
{
    (void)state;
    const char *in = "<script>alert('x')</script>&amp;\"q\"";
    char *out = esc(in, strlen(in));
    assert_string_equal(out,
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;&quot;q&quot;");
    free(out);
}

static void test_escape_bytes(void **state)
{
    (void)state;
    /* Controls dropped (tab and newlines become spaces), UTF-8 kept, broken UTF-8 replaced. */
    const char in[] = "a\tb\nc\x01"
                      "d\x7f"
                      "e\xC3\xA9"        /* é */
                      "\xE2\x82\xAC"     /* € */
                      "\xF0\x9F\x93\x89" /* a 4-byte emoji */
                      "\xC0\xAF"         /* overlong '/' */
                      "\xED\xA0\x80"     /* a surrogate */
                      "\xC2\x85"         /* C1 control */
                      "\xE2\x82";        /* cut short at the end */
    char *out = esc(in, sizeof in - 1);
    assert_string_equal(out, "a b cde\xC3\xA9\xE2\x82\xAC\xF0\x9F\x93\x89"
                             "\xEF\xBF\xBD\xEF\xBF\xBD"
                             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                             "\xEF\xBF\xBD\xEF\xBF\xBD");
    free(out);
    /* A NUL inside the bytes is dropped, not an end. */
    out = esc("a\0b", 3);
    assert_string_equal(out, "ab");
    free(out);
}

static void test_numbers(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1024);
    assert_int_equal(html_num(&b, NAN, 2, 0, "n/a"), ERR_OK);
    assert_int_equal(buf_puts(&b, "|"), ERR_OK);
    html_num(&b, INFINITY, 2, 0, "n/a");
    buf_puts(&b, "|");
    html_num(&b, -0.04, 1, 1, "n/a"); /* rounds to zero: no "-0.0" */
    buf_puts(&b, "|");
    html_num(&b, 12.345, 1, 1, "n/a");
    buf_puts(&b, "|");
    html_num(&b, -3.25, 2, 1, "n/a");
    buf_puts(&b, "|");
    html_coord(&b, NAN);
    buf_puts(&b, "|");
    html_coord(&b, 12.04);
    buf_puts(&b, "|");
    html_coord(&b, -0.01);
    buf_puts(&b, "|");
    html_coord(&b, 7.25);
    assert_string_equal(buf_cstr(&b), "n/a|n/a|0.0|+12.3|-3.25|0|12|0|7.3");
    buf_release(&b);
}

static void test_base64(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(crypto_base64_encode((const uint8_t *)"abc", 3, out), 4);
    assert_string_equal(out, "YWJj");
    assert_int_equal(crypto_base64_encode((const uint8_t *)"ab", 2, out), 4);
    assert_string_equal(out, "YWI=");
    assert_int_equal(crypto_base64_encode((const uint8_t *)"", 0, out), 0);
    assert_string_equal(out, "");
    uint8_t h[SHA256_LEN], back[SHA256_LEN + 3];
    crypto_sha256("x", 1, h);
    size_t n = crypto_base64_encode(h, SHA256_LEN, out), nb;
    assert_int_equal(n, 44);
    assert_int_equal(crypto_base64_decode(out, n, back, &nb), 0);
    assert_int_equal(nb, SHA256_LEN);
    assert_memory_equal(back, h, SHA256_LEN);
}

/* ---- the equity file ---- */

static int parse_equity(const char *text, struct report_equity *e, struct diag *d)
{
    memset(e, 0, sizeof *e);
    diag_clear(d);
    return report_parse_equity("equity.csv", text, strlen(text), e, d);
}

static void test_equity_ok(void **state)
{
    (void)state;
    struct report_equity e;
    struct diag d;
    assert_int_equal(parse_equity("\xEF\xBB\xBF"
                                  "Date,Equity,Cash,Positions,Benchmark\r\n"
                                  "2024-01-02,100000,100000,0,100000\r\n"
                                  "2024-01-03,100123.45,-0.01,10,\r\n",
                                  &e, &d),
                     ERR_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.v[0].date, date_from_ymd(2024, 1, 2));
    assert_true(fabs(e.v[1].equity - 100123.45) < 1e-9);
    assert_true(fabs(e.v[1].cash + 0.01) < 1e-9);
    assert_int_equal(e.v[1].positions, 10);
    assert_true(isnan(e.v[1].benchmark));
    report_equity_release(&e);
    assert_int_equal(parse_equity("date,equity,cash,positions,benchmark\n", &e, &d), ERR_OK);
    assert_int_equal(e.n, 0);
    report_equity_release(&e);
}

static void expect_bad(const char *text, const char *msg)
{
    struct report_equity e;
    struct diag d;
    int err = parse_equity(text, &e, &d);
    if (err != ERR_PARSE || !strstr(d.text, msg))
        fail_msg("want ERR_PARSE with '%s', got %s: %s", msg, err_name(err), d.text);
    report_equity_release(&e);
}

static void test_equity_bad(void **state)
{
    (void)state;
    expect_bad("", "equity.csv: empty file");
    expect_bad("date,equity,cash,positions\n", "header: column 5: expected 'benchmark'");
    expect_bad("date,equity,cash,positions,benchmark,extra\n", "expected 5 columns");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-02,1,1,1\n",
               "equity.csv:2: expected 5 fields");
    expect_bad("date,equity,cash,positions,benchmark\n2024-02-30,1,1,1,1\n",
               "equity.csv:2: field 'date': expected a date YYYY-MM-DD, got '2024-02-30'");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-02,-1,1,1,1\n",
               "field 'equity': expected an amount of 0 or more, got '-1'");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-02,1,x,1,1\n", "field 'cash'");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-02,1,1,1.5,1\n", "field 'positions'");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-02,1,1,1,-3\n", "field 'benchmark'");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-03,1,1,1,1\n2024-01-02,1,1,1,1\n",
               "equity.csv:3: field 'date': expected dates in ascending order");
    expect_bad("date,equity,cash,positions,benchmark\n2024-01-03,1,1,1,1\n2024-01-03,1,1,1,1\n",
               "ascending order, each once");
    expect_bad("date,equity,cash,positions,benchmark\n\"2024-01-03,1\n", "equity.csv");
}

/* ---- render ---- */

static char *render(const struct report_data *rd)
{
    struct buf b = BUF_INIT(REPORT_MAX);
    assert_int_equal(report_render(rd, &b), ERR_OK);
    size_t len;
    return buf_detach(&b, &len);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_render_hostile(void **state)
{
    (void)state;
    /* Every string field holds markup, every number is odd: the page must not change shape. */
    struct screen_row rows[3];
    memset(rows, 0, sizeof rows);
    const char *const syms[] = {"<b>X</b>", "\"'&", "A\xff"};
    for (int i = 0; i < 3; i++) {
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "%s", syms[i]);
        rows[i].rank = i + 1;
        rows[i].date = date_from_ymd(2026, 11, 20);
        rows[i].peak_date = rows[i].date - 3;
        rows[i].days_since_peak = i;
    }
    rows[0].close = NAN;
    rows[0].peak = INFINITY;
    rows[0].drawdown_pct = NAN;
    rows[0].change_pct = -INFINITY;
    rows[1].close = 1e300;
    rows[1].peak = 1e300;
    rows[1].drawdown_pct = -1e300;
    rows[1].change_pct = NAN;
    rows[2].close = 5;
    rows[2].peak = 10;
    rows[2].drawdown_pct = -50;
    rows[2].change_pct = -1;
    struct report_closes closes[2];
    memset(closes, 0, sizeof closes);
    snprintf(closes[0].symbol, sizeof closes[0].symbol, "%s", syms[1]);
    closes[0].c.date = rows[0].date;
    closes[0].c.n = 3;
    closes[0].c.closes[0] = NAN;
    closes[0].c.closes[1] = 1e308;
    closes[0].c.closes[2] = -1e308;
    snprintf(closes[1].symbol, sizeof closes[1].symbol, "%s", syms[0]);
    closes[1].c.date = rows[0].date;
    closes[1].c.n = 2;
    closes[1].c.closes[0] = 1;
    closes[1].c.closes[1] = 2;
    /* closes must be sorted by symbol: "\"'&" < "<b>X</b>" */
    struct report_since since[2] = {
        {rows[0].date - 2, 1, "<i>", NAN, NAN, NAN},
        {rows[0].date - 1, 1, "ok", 1, 2, 100},
    };
    struct report_position pos[1] = {{"<svg/onload=x>", NAN, 1, 2, 3, INFINITY, -5}};
    struct report_portfolio pf = {rows[0].date, NAN, NAN, 0, 1, pos, 1};
    struct report_equity_point pts[2] = {{rows[0].date - 1, NAN, 0, 0, INFINITY},
                                         {rows[0].date, 1e308, 0, 3, NAN}};
    struct report_equity eq = {pts, 2, 2};
    struct results_run run;
    memset(&run, 0, sizeof run);
    snprintf(run.error, sizeof run.error, "%s", "<script>alert(1)</script>");
    struct report_data rd = {
        .date = rows[0].date,
        .generated_ms = 0,
        .top = 10,
        .rows = rows,
        .nrows = 3,
        .closes = closes,
        .ncloses = 2,
        .since = since,
        .nsince = 2,
        .provisional = 1,
        .as_of_ms = -5,
        .run = &run,
        .portfolio = &pf,
        .equity = &eq,
        .problems = {"<a href=//evil>"},
        .nproblems = 1,
    };
    char *page = render(&rd);
    assert_null(strstr(page, "<b>"));
    assert_null(strstr(page, "<i>"));
    assert_null(strstr(page, "<svg/onload"));
    assert_null(strstr(page, "<a href=//evil"));
    assert_non_null(strstr(page, "&lt;b&gt;X&lt;/b&gt;"));
    assert_non_null(strstr(page, "&quot;&#39;&amp;"));
    assert_non_null(strstr(page, "A\xEF\xBF\xBD"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_int_equal(count(page, "<script>"), 1);
    /* No NaN or infinity reaches the page as a number (the script, which tests for NaN, is
     * left out of the search). */
    char *script = strstr(page, "<script>");
    assert_non_null(script);
    *script = '\0';
    assert_null(strstr(page, "nan"));
    assert_null(strstr(page, "inf"));
    assert_null(strstr(page, "NaN"));
    *script = '<';
    assert_int_equal(count(page, "<tr>"), count(page, "</tr>"));
    assert_int_equal(count(page, "<td"), count(page, "</td>"));
    assert_int_equal(count(page, "<svg"), count(page, "</svg>"));
    free(page);
}

static void test_render_tables(void **state)
{
    (void)state;
    /* 60 rows; the tables show the top 25 each; drops sorted by change, ties by symbol, rows
     * without a change left out. */
    struct screen_row rows[60];
    memset(rows, 0, sizeof rows);
    int32_t date = date_from_ymd(2026, 11, 20);
    for (int i = 0; i < 60; i++) {
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "S%02d", i);
        rows[i].date = date;
        rows[i].rank = i + 1;
        rows[i].close = 10;
        rows[i].peak = 20;
        rows[i].drawdown_pct = -95.0 + i; /* 12 bins from -95 .. -36 */
        rows[i].change_pct = i % 7 == 0 ? (double)NAN : (i % 5) - 4.0;
        rows[i].peak_date = date - 10;
    }
    struct report_data rd = {.date = date, .top = 25, .rows = rows, .nrows = 60};
    char *page = render(&rd);
    const char *dd = strstr(page, "id=\"drawdowns\"");
    const char *drops = strstr(page, "id=\"drops\"");
    const char *hist = strstr(page, "id=\"histogram\"");
    assert_non_null(dd);
    assert_non_null(drops);
    assert_non_null(hist);
    assert_true(dd < drops && drops < hist);
    char *cut = strstr(dd, "</table>");
    assert_non_null(cut);
    *cut = '\0';
    assert_int_equal(count(dd, "<tr>"), 26); /* the header's and 25 rows */
    assert_non_null(strstr(dd, "<td class=\"s\">S24</td>"));
    assert_null(strstr(dd, "<td class=\"s\">S25</td>"));
    *cut = '<';
    cut = strstr(drops, "</table>");
    *cut = '\0';
    assert_int_equal(count(drops, "<tr>"), 26);
    /* The worst change is -4 (i % 5 == 0, not a multiple of 7): S05 first (S00 has none). */
    const char *first = strstr(drops, "<td class=\"s\">");
    assert_non_null(first);
    assert_memory_equal(first, "<td class=\"s\">S05<", 18);
    assert_null(strstr(drops, ">S00<"));
    *cut = '<';
    /* Every one of the 60 in the histogram: 20 bars, counts summing to 60. */
    size_t sum = 0;
    for (const char *p = hist; (p = strstr(p, ": ")) && p < strstr(hist, "</svg>"); p += 2) {
        unsigned long v;
        if (sscanf(p, ": %lu stocks", &v) == 1)
            sum += v;
    }
    assert_int_equal(sum, 60);
    assert_non_null(strstr(page, "60 stocks ranked; median drawdown -65.5%"));
    /* No portfolio, no backtest, no provisional mark, no history. */
    assert_null(strstr(page, "id=\"s-portfolio\""));
    assert_null(strstr(page, "id=\"s-backtest\""));
    assert_null(strstr(page, "id=\"provisional\""));
    assert_non_null(strstr(page, "No earlier top candidates are recorded yet."));
    free(page);
}

static void test_histogram_edges(void **state)
{
    (void)state;
    /* 0, -0, a drawdown whose fifth underflows to 0, exactly -5, beyond -100. */
    const double dd[] = {0.0, -0.0, -5e-324, -5.0, -5.0000001, -250.0};
    struct screen_row rows[6];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 6; i++) {
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "H%d", i);
        rows[i].rank = i + 1;
        rows[i].drawdown_pct = dd[i];
        rows[i].change_pct = NAN;
    }
    struct report_data rd = {
        .date = date_from_ymd(2026, 11, 20), .top = 6, .rows = rows, .nrows = 6};
    char *page = render(&rd);
    assert_non_null(strstr(page, "<title>0% to &minus;5%: 4 stocks</title>"));
    assert_non_null(strstr(page, "<title>&minus;5% to &minus;10%: 1 stocks</title>"));
    assert_non_null(strstr(page, "<title>&minus;95% to &minus;100%: 1 stocks</title>"));
    free(page);
}

/* ---- from a store ---- */

struct fixture {
    char *dir;
    struct objstore *os;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    struct diag d;
    assert_int_equal(objstore_local_open(f->dir, &f->os, &d), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    objstore_free(f->os);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct screen_row row(int32_t date, int rank, const char *sym, double close, double dd,
                             double change)
{
    struct screen_row r;
    memset(&r, 0, sizeof r);
    r.date = date;
    r.rank = rank;
    snprintf(r.symbol, sizeof r.symbol, "%s", sym);
    r.close = close;
    r.peak = close / (1 + dd / 100);
    r.peak_date = date - 20;
    r.drawdown_pct = dd;
    r.days_since_peak = 2;
    r.change_pct = change;
    r.volume = 1000;
    return r;
}

static void put(struct objstore *os, const char *key, const char *text)
{
    struct diag d;
    assert_int_equal(objstore_put(os, key, text, strlen(text), OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
}

static int32_t D(int m, int d)
{
    return date_from_ymd(2026, m, d);
}

/* Two dates of screens and history, closes of the later one, a split of AAA between them. */
static void fill_store(struct objstore *os)
{
    struct diag d;
    struct screen_row s1[2] = {row(D(11, 19), 1, "AAA", 10, -50, -1),
                               row(D(11, 19), 2, "BBB", 40, -20, 1)};
    struct screen_row s2[3] = {row(D(11, 20), 1, "BBB", 30, -40, -25),
                               row(D(11, 20), 2, "AAA", 6, -30, 20),
                               row(D(11, 20), 3, "CCC", 9, -10, NAN)};
    assert_int_equal(results_write_screen(os, D(11, 19), s1, 2, 1, &d), ERR_OK);
    assert_int_equal(results_append_top(os, D(11, 19), s1, 2, 10, &d), ERR_OK);
    assert_int_equal(results_write_screen(os, D(11, 20), s2, 3, 1, &d), ERR_OK);
    assert_int_equal(results_append_top(os, D(11, 20), s2, 3, 10, &d), ERR_OK);
    put(os, RESULTS_CLOSES_KEY,
        "symbol,date,closes\nAAA,2026-11-20,5;5.5;6\nBBB,2026-11-20,50;40;30\n"
        "CCC,2026-11-19,9;9\n");
    struct barstore *bs;
    assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
    struct split sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.symbol, sizeof sp.symbol, "AAA");
    sp.ex_date = D(11, 20);
    sp.new_rate = 2;
    sp.old_rate = 1;
    size_t added;
    assert_int_equal(barstore_write_splits(bs, &sp, 1, &added, &d), ERR_OK);
    barstore_free(bs);
}

static char *build(struct objstore *os, int32_t date, const struct report_opts *o, int want)
{
    struct buf b = BUF_INIT(REPORT_MAX);
    struct diag d;
    diag_clear(&d);
    int32_t got = 0;
    int err = report_build(os, date, o, &b, &got, &d);
    if (err != want)
        fail_msg("report_build: want %s, got %s: %s", err_name(want), err_name(err), d.text);
    if (err) {
        buf_release(&b);
        return strdup(d.text);
    }
    size_t len;
    return buf_detach(&b, &len);
}

static void test_build_from_store(void **state)
{
    struct fixture *f = *state;
    struct report_opts o = {.now_ms = 1795000000000};
    char *msg = build(f->os, 0, &o, ERR_NOTFOUND);
    assert_non_null(strstr(msg, "no screen in the results yet"));
    free(msg);
    fill_store(f->os);
    msg = build(f->os, D(11, 18), &o, ERR_NOTFOUND);
    assert_non_null(strstr(msg, "no screen of 2026-11-18"));
    free(msg);

    char *page = build(f->os, 0, &o, ERR_OK);
    assert_non_null(strstr(page, "<title>Screener report 2026-11-20</title>"));
    assert_non_null(strstr(page, "3 stocks ranked"));
    /* Sparklines of the date only: AAA and BBB, not CCC (closes of another day). */
    assert_int_equal(count(page, "<path d="), 2);
    /* AAA on 11-19 at 10 is 5 after the 2:1 split; now 6: +20.0 %.  BBB: 40 -> 30, -25 %. */
    assert_non_null(strstr(page, "<td>5.00</td><td>6.00</td><td class=\"pos\">+20.0</td>"));
    assert_non_null(strstr(page, "<td>40.00</td><td>30.00</td><td class=\"neg\">-25.0</td>"));
    assert_non_null(strstr(page, "1 dates, 2 candidates, average -2.5%"));
    assert_null(strstr(page, "id=\"provisional\"")); /* no run recorded */
    assert_null(strstr(page, "id=\"s-backtest\""));
    assert_null(strstr(page, "Left out"));
    free(page);

    /* The run finished at 16:30 New York on the date: provisional. */
    struct results_run run;
    memset(&run, 0, sizeof run);
    run.date = run.end = D(11, 20);
    run.complete = 1;
    run.finished_ms = cal_ny_to_utc_ms(D(11, 20), 16 * 60 + 30);
    struct diag d;
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
    page = build(f->os, 0, &o, ERR_OK);
    assert_non_null(strstr(page, "id=\"provisional\""));
    assert_non_null(strstr(page, "fetched 2026-11-20 16:30 New York"));
    free(page);
    /* ... and not once a run finished after 20:15. */
    run.finished_ms = cal_ny_to_utc_ms(D(11, 20), 20 * 60 + 15);
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
    page = build(f->os, 0, &o, ERR_OK);
    assert_null(strstr(page, "id=\"provisional\""));
    free(page);

    /* The backtest section with the equity file; a damaged one is named, the page made. */
    put(f->os, REPORT_EQUITY_KEY,
        "date,equity,cash,positions,benchmark\n2026-11-19,100000,0,10,100000\n"
        "2026-11-20,110000,0,10,105000\n");
    page = build(f->os, 0, &o, ERR_OK);
    assert_non_null(strstr(page, "id=\"s-backtest\""));
    assert_non_null(strstr(page, "(+10.0%)"));
    assert_non_null(strstr(page, "benchmark +5.0%"));
    free(page);
    /* One date only (the store's first day): both curves still drawn, flat across the chart,
     * not a polyline of one point, which draws nothing. */
    put(f->os, REPORT_EQUITY_KEY,
        "date,equity,cash,positions,benchmark\n2026-11-20,100000,100000,0,100000\n");
    page = build(f->os, 0, &o, ERR_OK);
    assert_non_null(strstr(page, "<polyline class=\"l1\" points=\"50,190 590,190\"/>"));
    assert_non_null(strstr(page, "<polyline class=\"l2\" points=\"50,190 590,190\"/>"));
    free(page);
    put(f->os, REPORT_EQUITY_KEY, "date,equity,cash,positions,benchmark\n2026-11-19,<b>,0,1,1\n");
    page = build(f->os, 0, &o, ERR_OK);
    assert_null(strstr(page, "id=\"s-backtest\""));
    assert_non_null(strstr(page, "Left out: the backtest could not be shown: "
                                 "results/backtest/equity.csv:2: field &#39;equity&#39;: "
                                 "expected an amount of 0 or more, got &#39;&lt;b&gt;&#39;"));
    free(page);
    put(f->os, RESULTS_CLOSES_KEY, "symbol,date,closes\nZZZ,2026-11-20,1\nAAA,2026-11-20,1\n");
    page = build(f->os, 0, &o, ERR_OK);
    assert_non_null(strstr(page, "Left out: the closes for sparklines could not be read"));
    assert_int_equal(count(page, "<path d="), 0);
    free(page);

    /* The portfolio given by the caller. */
    struct report_position pos[2] = {{"AAA", 10, 3, 6, 60, 100, 2}, {"BBB", 1, 40, 30, 30, -25, 1}};
    struct report_portfolio pf = {D(11, 20), 50, 37.5, 2, 0, pos, 2};
    o.portfolio = &pf;
    page = build(f->os, D(11, 19), &o, ERR_OK);
    assert_non_null(strstr(page, "id=\"s-portfolio\""));
    assert_non_null(strstr(page, "the target of +50.0%: +37.5%"));
    assert_non_null(strstr(page, "id=\"target-not-reached\""));
    assert_non_null(strstr(page, "No earlier top candidates")); /* before 11-19: none */
    free(page);
}

static void test_publish_latest(void **state)
{
    struct fixture *f = *state;
    fill_store(f->os);
    struct report_opts o = {.now_ms = 1795000000000};
    struct report_published p;
    struct diag d;
    assert_int_equal(report_publish(f->os, 0, &o, &p, &d), ERR_OK);
    assert_int_equal(p.date, D(11, 20));
    assert_string_equal(p.key, "results/report/2026-11-20.html");
    assert_true(p.latest);
    assert_true(p.bytes > 1000);
    /* An older date afterwards: its own page, latest.html untouched. */
    assert_int_equal(report_publish(f->os, D(11, 19), &o, &p, &d), ERR_OK);
    assert_string_equal(p.key, "results/report/2026-11-19.html");
    assert_false(p.latest);
    struct buf b = BUF_INIT(REPORT_MAX);
    assert_int_equal(objstore_get(f->os, REPORT_LATEST_KEY, &b, NULL, &d), ERR_OK);
    assert_non_null(strstr(buf_cstr(&b), "content=\"2026-11-20\""));
    buf_reset(&b);
    /* The same date again replaces both. */
    o.now_ms += 3600000;
    assert_int_equal(report_publish(f->os, D(11, 20), &o, &p, &d), ERR_OK);
    assert_true(p.latest);
    struct buf dated = BUF_INIT(REPORT_MAX);
    assert_int_equal(objstore_get(f->os, REPORT_LATEST_KEY, &b, NULL, &d), ERR_OK);
    assert_int_equal(objstore_get(f->os, p.key, &dated, NULL, &d), ERR_OK);
    assert_int_equal(b.len, dated.len);
    assert_memory_equal(b.data, dated.data, b.len);
    buf_release(&b);
    buf_release(&dated);
}

/* ---- the chart ---- */

static void test_chart(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct chart_series s;
    assert_int_equal(chart_load(f->os, "A<B", 0, 180, &s, &d), ERR_INVALID);
    /* 400 weekdays of AAA rising to a high of 60 on day 300, then falling; a 2:1 split on
     * day 350, so the raw prices halve there and the adjusted ones do not. */
    struct barstore *bs;
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    int32_t start = date_from_ymd(2025, 6, 2), dates[400];
    struct bar *bars = calloc(800, sizeof *bars);
    size_t nb = 0;
    int32_t t = start;
    for (int i = 0; i < 400; i++, t++) {
        t = tu_weekday_from(t);
        dates[i] = t;
        double c = i <= 300 ? 20 + i * 0.1 : 50 - (i - 300) * 0.2;
        double k = i >= 350 ? 0.5 : 1.0;
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        bars[nb++] =
            tu_bar("AAA", day, c * k, (c + (i == 300 ? 10 : 1)) * k, (c - 1) * k, c * k, 100);
        /* ZZZ's high of 50 on day 78: more than a year before the last day, inside the
         * 180-day window of the year's first days. */
        bars[nb++] = tu_bar("ZZZ", day, 5, i == 78 ? 50 : 6, 4, 5, 100);
    }
    struct barstore_write_stats st;
    assert_int_equal(barstore_write(bs, bars, nb, NULL, &st, &d), ERR_OK);
    struct split sp = {
        .symbol = "AAA", .ex_date = dates[350], .new_rate = 2000000, .old_rate = 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(bs, &sp, 1, &added, &d), ERR_OK);
    assert_int_equal(chart_load_results(f->os, "AAA", 180, &s, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "results/bars-1y.csv: not written yet"));
    assert_int_equal(results_write_exports(f->os, bs, dates[399], &d), ERR_OK);
    barstore_free(bs);
    free(bars);

    /* The series from the results alone is the one from the bar store, the peaks of the
     * year's first days included (ZZZ's, from before the year). */
    const char *const both[] = {"AAA", "ZZZ"};
    for (int k = 0; k < 2; k++) {
        struct chart_series a, b;
        assert_int_equal(chart_load(f->os, both[k], 0, 180, &a, &d), ERR_OK);
        assert_int_equal(chart_load_results(f->os, both[k], 180, &b, &d), ERR_OK);
        assert_int_equal(a.date, b.date);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n && i < b.n; i++) {
            assert_int_equal(a.v[i].date, b.v[i].date);
            assert_true(a.v[i].close == b.v[i].close && a.v[i].peak == b.v[i].peak);
            assert_int_equal(a.v[i].peak_date, b.v[i].peak_date);
        }
        if (k == 1) {
            assert_true(dates[78] < dates[399] - 364); /* before the year */
            assert_true(dates[78] < b.v[0].date && b.v[0].date - dates[78] < 180);
            assert_true(fabs(b.v[0].peak - 50.0) < 1e-9);
            assert_int_equal(b.v[0].peak_date, dates[78]);
        }
        chart_series_release(&a);
        chart_series_release(&b);
    }
    assert_int_equal(chart_load_results(f->os, "BBB", 180, &s, &d), ERR_NOTFOUND);
    /* A damaged archive is named, line and all; one out of date order too. */
    struct buf keep = BUF_INIT(BARSTORE_PART_MAX);
    assert_int_equal(objstore_get(f->os, RESULTS_BARS1Y_KEY, &keep, NULL, &d), ERR_OK);
    static const char *const bad[] = {
        BARCSV_HEADER "AAA,2026-01-05,1,2,1,1,10,,\nAAA,2026-13-01,1,2,1,1,10,,\n",
        BARCSV_HEADER "AAA,2026-01-06,1,2,1,1,10,,\nAAA,2026-01-05,1,2,1,1,10,,\n",
    };
    for (int k = 0; k < 2; k++) {
        assert_int_equal(objstore_put(f->os, RESULTS_BARS1Y_KEY, bad[k], strlen(bad[k]),
                                      OBJ_PUT_ALWAYS, NULL, &d),
                         ERR_OK);
        assert_int_not_equal(chart_load_results(f->os, "AAA", 180, &s, &d), ERR_OK);
        assert_non_null(strstr(d.text, "results/bars-1y.csv:3"));
        assert_null(s.v);
    }
    assert_int_equal(
        objstore_put(f->os, RESULTS_BARS1Y_KEY, keep.data, keep.len, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    buf_release(&keep);

    /* A window longer than the year: ZZZ's peak is day 78's, before the year, and the days
     * since it are counted as the screen counts them, over every bar after it. */
    assert_int_equal(chart_load(f->os, "ZZZ", 0, 500, &s, &d), ERR_OK);
    assert_int_equal(s.v[s.n - 1].peak_date, dates[78]);
    assert_true(s.v[0].date > dates[78]);
    assert_int_equal(s.since_peak, 399 - 78);
    chart_series_release(&s);
    assert_int_equal(chart_load(f->os, "AAA", 0, 180, &s, &d), ERR_OK);
    assert_int_equal(s.since_peak, 399 - 300);
    chart_series_release(&s);
    /* A date after the last bar (a weekend, a holiday, a stock that stopped trading): the
     * series and the picture's date are the last bar's. */
    assert_int_equal(chart_load(f->os, "AAA", dates[399] + 30, 180, &s, &d), ERR_OK);
    assert_int_equal(s.date, dates[399]);
    assert_int_equal(s.v[s.n - 1].date, dates[399]);
    chart_series_release(&s);
    assert_int_equal(chart_load(f->os, "AAA", 0, 180, &s, &d), ERR_OK);
    assert_int_equal(s.date, dates[399]);
    assert_int_equal(s.v[s.n - 1].date, dates[399]);
    assert_true(s.v[0].date >= dates[399] - 364);
    assert_true(s.n >= 255 && s.n <= 262); /* the weekdays of a year */
    /* Prices as of the last day, after the split: its close 15.1 as stored (half of
     * 50 - 99 * 0.2), the peak the high of day 300 (60) halved, still inside the window. */
    assert_true(fabs(s.v[s.n - 1].close - 15.1) < 1e-6);
    assert_true(fabs(s.v[s.n - 1].peak - 30.0) < 1e-6);
    assert_int_equal(s.v[s.n - 1].peak_date, dates[300]);
    /* A day before the split is halved too: day 349 stored 50 - 49 * 0.2 = 40.2. */
    size_t found = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.v[i].date == dates[349]) {
            assert_true(fabs(s.v[i].close - 20.1) < 1e-6);
            found++;
        }
    assert_int_equal(found, 1);
    /* Every peak is at least the close, and no split looks like a crash: no day's close
     * is below half of the day before's. */
    for (size_t i = 0; i < s.n; i++) {
        assert_true(s.v[i].peak >= s.v[i].close - 1e-9 && s.v[i].peak <= 30.0 + 1e-9);
        assert_true(i == 0 || s.v[i].close > 0.9 * s.v[i - 1].close);
    }

    struct buf png = BUF_INIT(CHART_MAX);
    int err = chart_png(&s, NULL, &png, &d); /* DejaVu Sans: fonts-dejavu-core */
    if (err)
        fail_msg("chart_png: %s: %s", err_name(err), d.text);
    assert_true(png.len > 10000 && png.len < CHART_MAX);
    assert_memory_equal(png.data, "\x89PNG\r\n\x1a\n", 8);
    const unsigned char *h = (const unsigned char *)png.data + 16; /* IHDR width, height */
    assert_int_equal((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3], CHART_WIDTH);
    assert_int_equal((h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7], CHART_HEIGHT);
    buf_release(&png);
    struct buf none = BUF_INIT(CHART_MAX);
    assert_int_equal(chart_png(&s, "/no/such/font.ttf", &none, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "font '/no/such/font.ttf' could not be loaded"));
    assert_int_equal(none.len, 0);
    buf_release(&none);
    chart_series_release(&s);

    assert_int_equal(chart_load(f->os, "BBB", 0, 180, &s, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "no bars of BBB in the year up to"));
    /* A year before AAA's first bar: nothing either. */
    assert_int_equal(chart_load(f->os, "AAA", start - 400, 180, &s, &d), ERR_NOTFOUND);
}

/* ---- closes, every row ---- */

struct seen {
    char syms[8][BAR_SYMBOL_MAX + 1];
    size_t n, stop_at;
};

static int on_closes(void *ctx, const char *symbol, const struct results_closes *c)
{
    struct seen *s = ctx;
    assert_true(c->n >= 1);
    snprintf(s->syms[s->n++], sizeof s->syms[0], "%s", symbol);
    return s->n == s->stop_at ? ERR_INVALID : ERR_OK;
}

static void test_closes_each(void **state)
{
    (void)state;
    const char *text =
        "symbol,date,closes\nAAA,2026-11-20,1;2\nBBB,2026-11-20,3\nCCC,2026-11-19,4\n";
    struct seen s = {.stop_at = 0};
    struct diag d;
    assert_int_equal(results_parse_closes_each("c.csv", text, strlen(text), on_closes, &s, &d),
                     ERR_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.syms[2], "CCC");
    struct seen t = {.stop_at = 2};
    assert_int_equal(results_parse_closes_each("c.csv", text, strlen(text), on_closes, &t, &d),
                     ERR_INVALID);
    assert_int_equal(t.n, 2);
    const char *bad = "symbol,date,closes\nBBB,2026-11-20,3\nAAA,2026-11-20,1\n";
    struct seen u = {.stop_at = 0};
    assert_int_equal(results_parse_closes_each("c.csv", bad, strlen(bad), on_closes, &u, &d),
                     ERR_INVALID);
    assert_int_equal(u.n, 1); /* the row out of order is refused before the callback sees it */
    assert_non_null(strstr(d.text, "c.csv:3"));
}

int main(void)
{
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_markup),
        cmocka_unit_test(test_escape_bytes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_equity_ok),
        cmocka_unit_test(test_equity_bad),
        cmocka_unit_test(test_render_hostile),
        cmocka_unit_test(test_render_tables),
        cmocka_unit_test(test_histogram_edges),
        cmocka_unit_test_setup_teardown(test_build_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chart, setup, teardown),
        cmocka_unit_test(test_closes_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
