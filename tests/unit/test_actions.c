/* test_actions.c - corporate actions that change identities: symbol changes as facts, their
 * log in the store, and screens that carry a renamed company's history over. */
#include "testutil.h"

#include "base/date.h"
#include "base/log.h"
#include "codec/symchange.h"
#include "backtest/backtest.h"
#include "report/chart.h"
#include "report/report.h"
#include "screen/results.h"
#include "screen/screen_run.h"
#include "store/barstore.h"
#include "store/symlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t day_of(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

static struct symchange change(const char *old, const char *new, const char *date)
{
    struct symchange c;
    memset(&c, 0, sizeof c);
    snprintf(c.old_symbol, sizeof c.old_symbol, "%s", old);
    snprintf(c.new_symbol, sizeof c.new_symbol, "%s", new);
    c.date = day_of(date);
    return c;
}

static void test_name_on(void **state)
{
    (void)state;
    /* A chain (A -> B -> C), and a ticker that comes back (X -> Y -> X). */
    struct symchange v[] = {change("A", "B", "2020-03-02"), change("X", "Y", "2020-06-01"),
                            change("B", "C", "2021-03-01"), change("Y", "X", "2022-01-03")};
    struct symchangevec sv = {v, 4, 4};
    struct diag d;
    assert_int_equal(symchange_normalize(&sv, &d), ERR_OK);
    assert_string_equal(symchange_name_on(v, 4, "A", day_of("2020-02-28")), "A");
    assert_string_equal(symchange_name_on(v, 4, "A", day_of("2020-03-02")), "B");
    assert_string_equal(symchange_name_on(v, 4, "A", day_of("2021-05-03")), "C");
    /* A bar served under a later name, dated before the change: its name then. */
    assert_string_equal(symchange_name_on(v, 4, "C", day_of("2020-01-02")), "A");
    assert_string_equal(symchange_name_on(v, 4, "C", day_of("2020-12-01")), "B");
    assert_string_equal(symchange_name_on(v, 4, "X", day_of("2020-05-01")), "X");
    assert_string_equal(symchange_name_on(v, 4, "X", day_of("2021-05-03")), "Y");
    assert_string_equal(symchange_name_on(v, 4, "X", day_of("2022-05-02")), "X");
    assert_string_equal(symchange_name_on(v, 4, "Y", day_of("2022-05-02")), "X");
    assert_string_equal(symchange_name_on(v, 4, "Q", day_of("2022-05-02")), "Q");
    /* Two different new names for one change contradict each other. */
    struct symchange w[] = {change("FB", "META", "2022-06-09"), change("FB", "MET", "2022-06-09")};
    struct symchangevec sw = {w, 2, 2};
    assert_int_equal(symchange_normalize(&sw, &d), ERR_CONFLICT);
    assert_non_null(strstr(d.text, "FB"));
}

static void test_map_day_and_splits(void **state)
{
    (void)state;
    struct symchange v[] = {change("FB", "META", "2022-06-09")};
    /* A day before the change stored under both names (a vendor that serves the renamed
     * company's history under the new name): one bar, under the name of that day. */
    struct barvec day;
    barvec_init(&day);
    struct bar a = tu_bar("META", "2022-06-08", 190, 195, 188, 194, 100);
    struct bar b = tu_bar("FB", "2022-06-08", 190, 195, 188, 194, 100);
    struct bar c = tu_bar("AAPL", "2022-06-08", 140, 150, 139, 148, 100);
    assert_int_equal(barvec_push(&day, &a), ERR_OK);
    assert_int_equal(barvec_push(&day, &c), ERR_OK);
    assert_int_equal(barvec_push(&day, &b), ERR_OK);
    size_t dropped;
    assert_int_equal(symchange_map_day(v, 1, SYMCHANGE_BAR_DATE, &day, &dropped), ERR_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(day.n, 2);
    assert_string_equal(day.v[0].symbol, "AAPL");
    assert_string_equal(day.v[1].symbol, "FB");
    barvec_release(&day);
    /* A split recorded under the old symbol after the change belongs to the new name. */
    struct split sp[] = {{"FB", 0, 2000000, 1000000}, {"FB", 0, 3000000, 1000000}};
    sp[0].ex_date = day_of("2021-01-04");
    sp[1].ex_date = day_of("2022-07-01");
    struct splitvec sv = {sp, 2, 2};
    symchange_map_splits(v, 1, SYMCHANGE_BAR_DATE, &sv);
    assert_int_equal(sv.n, 2);
    assert_string_equal(sp[0].symbol, "FB");
    assert_string_equal(sp[1].symbol, "META");
    /* A reader's view of a day: left as it is when every name is already that day's, else a
     * copy with the names given. */
    struct bar before[] = {c, b}, after[] = {c, tu_bar("META", "2022-06-10", 1, 1, 1, 1, 1)};
    struct barvec scratch;
    barvec_init(&scratch);
    const struct bar *view = before;
    size_t nview = 2;
    assert_int_equal(symchange_day_names(v, 1, day_of("2022-06-08"), &view, &nview, &scratch),
                     ERR_OK);
    assert_ptr_equal(view, before);
    after[0].date = after[1].date;
    after[1] = tu_bar("FB", "2022-06-10", 1, 1, 1, 1, 1);
    view = after;
    assert_int_equal(symchange_day_names(v, 1, day_of("2022-06-10"), &view, &nview, &scratch),
                     ERR_OK);
    assert_ptr_equal(view, scratch.v);
    assert_int_equal(nview, 2);
    assert_string_equal(view[1].symbol, "META");
    assert_string_equal(after[1].symbol, "FB"); /* the caller's bars are not changed */
    barvec_release(&scratch);
}

static void test_symlog(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    char *dir = tu_mkdtemp();
    struct objstore *os;
    struct barstore *bs;
    struct diag d;
    assert_int_equal(objstore_open(dir, &os, &d), ERR_OK);
    assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
    struct symchange c[] = {change("FB", "META", "2022-06-09"), change("TWTR", "X", "2023-07-24")};
    size_t added;
    assert_int_equal(symlog_write(bs, c, 2, &added, &d), ERR_OK);
    assert_int_equal(added, 2);
    /* Again: a no-op, nothing new written. */
    assert_int_equal(symlog_write(bs, c, 1, &added, &d), ERR_OK);
    assert_int_equal(added, 0);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(os, SYMLOG_PREFIX, &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    /* A contradiction and a change to itself are refused, nothing written. */
    struct symchange bad = change("FB", "MVRS", "2022-06-09");
    assert_int_equal(symlog_write(bs, &bad, 1, &added, &d), ERR_CONFLICT);
    assert_non_null(strstr(d.text, "FB"));
    bad = change("FB", "FB", "2022-06-10");
    assert_int_equal(symlog_write(bs, &bad, 1, &added, &d), ERR_INVALID);
    struct symchangevec got;
    symchangevec_init(&got);
    assert_int_equal(symlog_read(bs, &got, &d), ERR_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.v[0].new_symbol, "META");
    symchangevec_release(&got);
    /* Two writers racing with contradicting facts: the store still reads, the part first in
     * name order wins for every reader, and verify counts the disagreement. */
    const char *other = "old_symbol,new_symbol,date\nFB,MVRS,2022-06-09\n";
    char name[32], key[OBJ_KEY_MAX];
    barstore_part_name(other, strlen(other), name);
    snprintf(key, sizeof key, SYMLOG_PREFIX "%s", name);
    assert_int_equal(objstore_put(os, key, other, strlen(other), OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    const char *winner = strcmp(key, keys.v[0]) < 0 ? "MVRS" : "META";
    symchangevec_init(&got);
    assert_int_equal(symlog_read(bs, &got, &d), ERR_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.v[0].new_symbol, winner);
    symchangevec_release(&got);
    size_t nc, nd;
    assert_int_equal(symlog_verify(bs, &nc, &nd, &d), ERR_OK);
    assert_int_equal(nc, 2);
    assert_int_equal(nd, 1);
    assert_int_equal(objstore_del(os, key, &d), ERR_OK);
    /* A damaged part is named, never used silently. */
    strvec_release(&keys);
    assert_int_equal(objstore_list(os, SYMLOG_PREFIX, &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    const char *edited = "old_symbol,new_symbol,date\nFB,META,2022-06-10\n";
    assert_int_equal(objstore_put(os, keys.v[0], edited, strlen(edited), OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    symchangevec_init(&got);
    assert_int_equal(symlog_read(bs, &got, &d), ERR_DAMAGED);
    assert_non_null(strstr(d.text, keys.v[0]));
    symchangevec_release(&got);
    strvec_release(&keys);
    barstore_free(bs);
    objstore_free(os);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

struct rows {
    char text[4096];
    size_t len;
    double meta_peak, meta_close;
    int meta_days, fb_rows, meta_rows;
};

static int keep_rows(void *ctx, int32_t date, const struct screen_row *r, size_t n)
{
    struct rows *x = ctx;
    (void)date;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].symbol, "FB") == 0)
            x->fb_rows++;
        if (strcmp(r[i].symbol, "META") == 0) {
            x->meta_rows++;
            x->meta_peak = r[i].peak;
            x->meta_close = r[i].close;
            x->meta_days = r[i].days_since_peak;
        }
    }
    return 0;
}

struct report_fixture {
    struct objstore *os;
    struct diag *d;
};

static int write_results(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct report_fixture *f = ctx;
    if (results_write_screen(f->os, date, rows, n, 1, f->d) ||
        results_append_top(f->os, date, rows, n, RESULTS_TOP_DEFAULT, f->d))
        fail_msg("results: %s", f->d->text);
    return 0;
}

static int keep_trade(void *ctx, const struct backtest_trade *t)
{
    struct backtest_trade *last = ctx;
    *last = *t;
    return 0;
}

/* 40 weekdays of FB rising to a peak of 300 (raw) on its 20th day, then falling; a 2-for-1
 * split recorded under FB on the 30th day; from the 36th day the company is META (also served
 * under META for the days before, as a vendor's mapping does). */
static void test_screen_carries_history_over(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    char *dir = tu_mkdtemp();
    struct objstore *os;
    struct barstore *bs;
    struct diag d;
    assert_int_equal(objstore_open(dir, &os, &d), ERR_OK);
    assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
    struct barvec all;
    barvec_init(&all);
    int32_t t = day_of("2024-01-01"), days[40];
    for (int i = 0; i < 40; i++, t++) {
        t = tu_weekday_from(t);
        days[i] = t;
        double p = i < 20 ? 200 + 5 * i : 295 - 3 * (i - 20);
        if (i >= 29)
            p /= 2; /* the split */
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        struct bar b =
            tu_bar(i >= 35 ? "META" : "FB", day, p, i == 19 ? 300 : p + 1, p - 1, p, 1000);
        assert_int_equal(barvec_push(&all, &b), ERR_OK);
        if (i >= 30 && i < 35) { /* the vendor's mapped history, stored too */
            snprintf(b.symbol, sizeof b.symbol, "META");
            assert_int_equal(barvec_push(&all, &b), ERR_OK);
        }
        struct bar o = tu_bar("AAPL", day, 100, 101, 99, 100, 1000);
        assert_int_equal(barvec_push(&all, &o), ERR_OK);
    }
    struct barstore_write_opts wo = {0};
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(bs, all.v, all.n, &wo, &ws, &d), ERR_OK);
    struct split sp = {"FB", days[29], 2000000, 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(bs, &sp, 1, &added, &d), ERR_OK);

    struct screen_opts so;
    screen_opts_default(&so);
    so.top = 0;
    so.min_bars = 15;
    struct screen_run_stats st;
    /* Without the change recorded, META is a new symbol with too few bars of its own. */
    struct rows x = {0};
    assert_int_equal(screen_run(bs, &so, days[39], days[39], keep_rows, &x, &st, &d), ERR_OK);
    assert_int_equal(x.meta_rows, 0);

    struct symchange c = change("FB", "META", "2024-01-01");
    c.date = days[35];
    assert_int_equal(symlog_write(bs, &c, 1, &added, &d), ERR_OK);
    memset(&x, 0, sizeof x);
    assert_int_equal(screen_run(bs, &so, days[39], days[39], keep_rows, &x, &st, &d), ERR_OK);
    /* META carries FB's window: the peak of 300 on FB's 20th day, split-adjusted to 150. */
    assert_int_equal(x.meta_rows, 1);
    assert_int_equal(x.fb_rows, 0);
    assert_true(fabs(x.meta_peak - 150.0) < 1e-9);
    assert_int_equal(x.meta_days, 20);
    assert_true(fabs(x.meta_close - (295 - 3 * 19) / 2.0) < 1e-9);
    /* Before the change, the company is FB, once (the bars stored under META for those days
     * are the same days, not a second company). */
    memset(&x, 0, sizeof x);
    assert_int_equal(screen_run(bs, &so, days[30], days[34], keep_rows, &x, &st, &d), ERR_OK);
    assert_int_equal(x.fb_rows, 5);
    assert_int_equal(x.meta_rows, 0);

    /* The exports of the last day name the company META for the whole year, once a day, and
     * its closes are split-adjusted across the change. */
    assert_int_equal(results_write_exports(os, bs, days[39], &d), ERR_OK);
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(objstore_get(os, RESULTS_BARS1Y_KEY, &b, NULL, &d), ERR_OK);
    assert_null(strstr(buf_cstr(&b), "\nFB,"));
    size_t meta = 0;
    for (const char *p = buf_cstr(&b); (p = strstr(p, "\nMETA,")) != NULL; p++)
        meta++;
    assert_int_equal(meta, 40);
    buf_reset(&b);
    assert_int_equal(objstore_get(os, RESULTS_CLOSES_KEY, &b, NULL, &d), ERR_OK);
    assert_null(strstr(buf_cstr(&b), "\nFB,"));
    assert_non_null(strstr(buf_cstr(&b), "\nMETA,"));
    char line[64], last[DATE_STRLEN + 1];
    date_format(days[39], last);
    snprintf(line, sizeof line, "\nMETA,%s,100.0000;102.5000;", last); /* 200, 205 halved */
    assert_non_null(strstr(buf_cstr(&b), line));
    buf_release(&b);
    /* And so does its chart, from the store and from the exports: the peak of FB's 20th day,
     * split-adjusted. */
    struct chart_series cs;
    assert_int_equal(chart_load(os, "META", days[39], 180, &cs, &d), ERR_OK);
    assert_int_equal(cs.n, 40);
    assert_true(fabs(cs.v[39].peak - 150.0) < 1e-9);
    assert_int_equal(cs.v[39].peak_date, days[19]);
    chart_series_release(&cs);
    assert_int_equal(chart_load_results(os, "META", 180, &cs, &d), ERR_OK);
    assert_int_equal(cs.n, 40);
    assert_true(fabs(cs.v[39].peak - 150.0) < 1e-9);
    assert_true(fabs(cs.v[0].close - 100.0) < 1e-9);
    chart_series_release(&cs);

    /* The backtest buys FB after its peak and holds it: across the change, as META, split
     * included (not a position whose bars stopped). */
    struct backtest_opts bo;
    backtest_opts_default(&bo);
    bo.top = 1;
    bo.every = 1;
    bo.target_pct = 1000;
    bo.stop_pct = 0;
    bo.max_hold = 0;
    bo.screen.min_bars = 15;
    struct backtest_trade held;
    memset(&held, 0, sizeof held);
    struct backtest_sink sink = {.trade = keep_trade, .ctx = &held};
    struct backtest_summary sum;
    struct backtest_stats bst;
    assert_int_equal(backtest_run(bs, days[20], days[39], &bo, 1, &sink, NULL, &sum, &bst, &d),
                     ERR_OK);
    assert_string_equal(held.symbol, "META");
    assert_int_equal(held.reason, BACKTEST_OPEN);
    assert_int_equal(held.entry_date, days[21]);
    assert_true(fabs(held.exit_price - (295 - 3 * 19) / 2.0) < 1e-9);

    /* The report of the last day values FB, a candidate before the change, at META's close. */
    struct screen_opts ro;
    screen_opts_default(&ro);
    ro.top = 0;
    ro.min_bars = 15;
    struct report_fixture rf = {os, &d};
    assert_int_equal(screen_run(bs, &ro, days[30], days[30], write_results, &rf, &st, &d), ERR_OK);
    assert_int_equal(screen_run(bs, &ro, days[39], days[39], write_results, &rf, &st, &d), ERR_OK);
    struct report_opts rpo = {0};
    struct buf html = BUF_INIT(1 << 22);
    assert_int_equal(report_build(os, days[39], &rpo, &html, NULL, &d), ERR_OK);
    const char *fb = strstr(buf_cstr(&html), ">FB<");
    assert_non_null(fb);
    /* then 132.50 (FB's close on its 31st day, after the split), now 119.00: -10.2 % */
    assert_non_null(strstr(fb, "132.50"));
    assert_non_null(strstr(fb, "119.00"));
    buf_release(&html);
    barvec_release(&all);
    barstore_free(bs);
    objstore_free(os);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_on),
        cmocka_unit_test(test_map_day_and_splits),
        cmocka_unit_test(test_symlog),
        cmocka_unit_test(test_screen_carries_history_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
