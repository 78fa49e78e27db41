/* Unit tests: the default backtest kept in the results (backtest/backtest_results.h): the four
 * files are the backtest's own output, the curve samples the equity file, summary.json reads
 * back exactly, the deadline is kept (skipped before, stopped during, nothing half written),
 * and every malformed summary is refused naming the member. */
#include "testutil.h"

#include "backtest/backtest_results.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct objstore *os;
    struct barstore *bs;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct diag d;
    f->dir = tu_mkdtemp();
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    assert_int_equal(objstore_local_open(tu_path(f->dir, "store"), &f->os, &d), ERR_OK);
    assert_int_equal(barstore_new(f->os, &f->bs, &d), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_source(NULL);
    barstore_free(f->bs);
    objstore_free(f->os);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* 15 symbols on 150 days: five crash to a fifth of their price on day 20 and triple by day
 * 80 (so the default target, +100 % for the best 5, is reached), the others drift. */
static void put_market(struct fixture *f)
{
    struct barvec bv;
    barvec_init(&bv);
    int32_t base = date_from_ymd(2024, 1, 1);
    for (int t = 0; t < 150; t++) {
        char day[DATE_STRLEN + 1];
        date_format(base + t, day);
        for (int k = 0; k < 15; k++) {
            char sym[16];
            snprintf(sym, sizeof sym, "S%02d", k);
            double p = 100.0 + 3.0 * sin(0.2 * t + k) + 0.1 * k * t;
            if (k < 5 && t >= 20)
                p = 20.0 * (1.0 + 2.0 * fmin(1.0, (t - 20) / 60.0)) + 0.1 * k;
            struct bar b = tu_bar(sym, day, p, p + 0.5, p - 0.5, p, 10000);
            assert_int_equal(barvec_push(&bv, &b), ERR_OK);
        }
    }
    struct diag d;
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bv.v, bv.n, NULL, &ws, &d), ERR_OK);
    barvec_release(&bv);
}

static char *get_text(struct objstore *os, const char *key)
{
    struct buf b = BUF_INIT((size_t)64 << 20);
    struct diag d;
    assert_int_equal(objstore_get(os, key, &b, NULL, &d), ERR_OK);
    buf_putc(&b, '\0');
    return buf_detach(&b, NULL);
}

static int absent(struct objstore *os, const char *key)
{
    struct buf b = BUF_INIT((size_t)64 << 20);
    struct diag d;
    int err = objstore_get(os, key, &b, NULL, &d);
    buf_release(&b);
    return err == ERR_NOTFOUND;
}

struct files {
    struct buf equity, trades;
};

static int to_equity(void *ctx, const struct backtest_day *day)
{
    return backtest_equity_csv(&((struct files *)ctx)->equity, day);
}

static int to_trades(void *ctx, const struct backtest_trade *t)
{
    return backtest_trade_csv(&((struct files *)ctx)->trades, t);
}

static void test_refresh_writes_the_results(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    put_market(f);
    struct backtest_refresh_opts ro = {0};
    enum backtest_refresh_outcome outcome;
    struct backtest_stored s;
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, &s, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESHED);

    /* The files are what `screener backtest` with the defaults writes. */
    struct backtest_opts o;
    backtest_opts_default(&o);
    struct files want = {BUF_INIT((size_t)64 << 20), BUF_INIT((size_t)64 << 20)};
    buf_puts(&want.equity, BACKTEST_EQUITY_HEADER);
    buf_puts(&want.trades, BACKTEST_TRADES_HEADER);
    struct backtest_sink sink = {to_equity, to_trades, &want};
    struct backtest_summary sum;
    struct backtest_stats st;
    int32_t first = date_from_ymd(2024, 1, 1), last = first + 149;
    assert_int_equal(backtest_run(f->bs, first, last, &o, 1, &sink, NULL, &sum, &st, &d), ERR_OK);
    assert_true(sum.trades > 0); /* the target was reached: closed trades to show */
    char *equity = get_text(f->os, BACKTEST_EQUITY_KEY);
    char *trades = get_text(f->os, BACKTEST_TRADES_KEY);
    assert_string_equal(equity, buf_cstr(&want.equity));
    assert_string_equal(trades, buf_cstr(&want.trades));
    assert_non_null(strstr(trades, ",target\n"));
    struct buf csv = BUF_INIT(1 << 20);
    assert_int_equal(
        backtest_write_summaries(&csv, BACKTEST_FORMAT_CSV, NULL, 0, NULL, &sum, 1, NULL, 0),
        ERR_OK);
    char *summary_csv = get_text(f->os, BACKTEST_SUMMARY_CSV_KEY);
    assert_string_equal(summary_csv, buf_cstr(&csv));

    /* summary.json: the same numbers, exactly, and 32 points of the equity file. */
    struct backtest_stored back;
    assert_int_equal(backtest_stored_read(f->os, &back, &d), ERR_OK);
    assert_true(back.sum.total_return_pct == sum.total_return_pct);
    assert_true(back.sum.max_drawdown_pct == sum.max_drawdown_pct);
    assert_true(back.sum.sharpe == sum.sharpe);
    assert_true(back.sum.benchmark_return_pct == sum.benchmark_return_pct);
    assert_int_equal(back.sum.trades, sum.trades);
    assert_int_equal(back.sum.start, first);
    assert_int_equal(back.sum.end, last);
    assert_int_equal(back.opts.top, 10);
    assert_int_equal(back.opts.every, 5);
    assert_true(back.survivorship);
    assert_int_equal(back.ncurve, BACKTEST_CURVE_POINTS);
    assert_int_equal(back.curve_date[0], first);
    assert_int_equal(back.curve_date[BACKTEST_CURVE_POINTS - 1], last);
    for (size_t k = 0; k < back.ncurve; k++) {
        /* Point k is date k * 149 / 31 of T, and its equity row. */
        int32_t date = first + (int32_t)(k * 149 / 31);
        assert_int_equal(back.curve_date[k], date);
        char day[DATE_STRLEN + 1], line[128];
        date_format(date, day);
        snprintf(line, sizeof line, "\n%s,%.6f,", day, back.curve_equity[k]);
        assert_non_null(strstr(equity, line));
        assert_true(back.curve_equity[k] == s.curve_equity[k]);
    }
    free(equity);
    free(trades);
    free(summary_csv);
    buf_release(&csv);
    buf_release(&want.equity);
    buf_release(&want.trades);
}

static void test_stored_round_trip(void **state)
{
    (void)state;
    struct backtest_stored s;
    memset(&s, 0, sizeof s);
    backtest_opts_default(&s.opts);
    s.opts.stop_pct = 25;
    s.opts.max_hold = 60;
    s.computed_ms = 1795296000123LL;
    s.duration_ms = 1234;
    s.sum = (struct backtest_summary){.start = date_from_ymd(2020, 1, 2),
                                      .end = date_from_ymd(2024, 12, 31),
                                      .trading_days = 1258,
                                      .final_equity = 123456.789,
                                      .total_return_pct = 23.456789,
                                      .cagr_pct = 4.321,
                                      .vol_pct = NAN,
                                      .sharpe = NAN,
                                      .max_drawdown_pct = -33.3,
                                      .trades = 0,
                                      .win_rate_pct = NAN,
                                      .avg_hold_days = NAN,
                                      .exposure_pct = 97.5,
                                      .benchmark_return_pct = -1.0 / 3.0,
                                      .signal_dates = 251,
                                      .buys_dropped = 3};
    s.ncurve = 2;
    s.curve_date[0] = s.sum.start;
    s.curve_date[1] = s.sum.end;
    s.curve_equity[0] = s.curve_benchmark[0] = 100000;
    s.curve_equity[1] = 0.1 + 0.2;
    s.curve_benchmark[1] = 1e-7;
    s.survivorship = 1;
    struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
    assert_int_equal(backtest_stored_json(&a, &s), ERR_OK);
    struct backtest_stored back;
    struct diag d;
    assert_int_equal(backtest_stored_parse("x", a.data, a.len, &back, &d), ERR_OK);
    assert_true(isnan(back.sum.sharpe) && isnan(back.sum.win_rate_pct));
    assert_true(back.opts.stop_pct == 25 && back.opts.max_hold == 60);
    assert_true(back.curve_equity[1] == 0.1 + 0.2);
    assert_int_equal(backtest_stored_json(&b, &back), ERR_OK);
    assert_string_equal(buf_cstr(&a), buf_cstr(&b));
    buf_release(&a);
    buf_release(&b);
}

/* A clock that moves `step` ms each time it is read. */
static int64_t now_ms = 1800000000000LL, step = 1;
static int64_t tick_wall(void *ctx)
{
    (void)ctx;
    return now_ms += step;
}
static int64_t tick_mono(void *ctx)
{
    (void)ctx;
    return now_ms++ * 1000;
}
static void tick_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    now_ms += ms;
}

static void test_refresh_keeps_the_deadline(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    enum backtest_refresh_outcome outcome;
    /* No bars: nothing to run. */
    struct backtest_refresh_opts ro = {0};
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, NULL, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESH_EMPTY);
    put_market(f);
    struct clock_source src = {tick_wall, tick_mono, tick_sleep, NULL};
    clock_set_source(&src);
    /* Less than the minimum left: not started. */
    ro.deadline_ms = now_ms + BACKTEST_REFRESH_MIN_MS - 10;
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, NULL, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESH_SKIPPED);
    assert_true(absent(f->os, BACKTEST_SUMMARY_JSON_KEY));
    assert_true(absent(f->os, BACKTEST_EQUITY_KEY));
    /* No deadline: done, and its duration is recorded. */
    ro.deadline_ms = 0;
    struct backtest_stored s;
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, &s, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESHED);
    assert_true(s.duration_ms > 0);
    /* A previous refresh that took 60 s needs 120 s: with 100 s left it is not started, and
     * the results stay as they were. */
    s.duration_ms = 60000;
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(backtest_stored_json(&b, &s), ERR_OK);
    assert_int_equal(
        objstore_put(f->os, BACKTEST_SUMMARY_JSON_KEY, b.data, b.len, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    ro.deadline_ms = now_ms + 100000;
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, NULL, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESH_SKIPPED);
    char *after = get_text(f->os, BACKTEST_SUMMARY_JSON_KEY);
    assert_string_equal(after, buf_cstr(&b));
    /* With 130 s left it runs. */
    ro.deadline_ms = now_ms + 130000;
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, NULL, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESHED);
    free(after);
    buf_release(&b);
}

static void test_refresh_stops_mid_way(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    enum backtest_refresh_outcome outcome;
    put_market(f);
    const char old[] = "what an earlier run left";
    assert_int_equal(
        objstore_put(f->os, BACKTEST_EQUITY_KEY, old, sizeof old - 1, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    /* Each read of the clock moves it 40 ms; the run reads it once a date.  The minimum and
     * 100 ms left: the check lets it start, and the deadline passes after a few dates. */
    struct clock_source src = {tick_wall, tick_mono, tick_sleep, NULL};
    clock_set_source(&src);
    step = 40;
    struct backtest_refresh_opts ro = {now_ms + BACKTEST_REFRESH_MIN_MS + 100};
    assert_int_equal(backtest_refresh(f->os, f->bs, &ro, &outcome, NULL, &d), ERR_OK);
    assert_int_equal(outcome, BACKTEST_REFRESH_STOPPED);
    char *equity = get_text(f->os, BACKTEST_EQUITY_KEY);
    assert_string_equal(equity, old);
    assert_true(absent(f->os, BACKTEST_TRADES_KEY));
    assert_true(absent(f->os, BACKTEST_SUMMARY_JSON_KEY));
    step = 1;
    free(equity);
}

static void expect_bad(const char *json, const char *part)
{
    struct backtest_stored s;
    struct diag d;
    diag_clear(&d);
    int err = backtest_stored_parse("summary.json", json, strlen(json), &s, &d);
    if (err == ERR_OK || !strstr(d.text, part))
        fail_msg("%s\n--- got %s: %s\n--- want a part: %s", json, err_name(err), d.text, part);
    assert_true(err == ERR_PARSE || err == ERR_INVALID);
}

static void test_stored_malformed(void **state)
{
    (void)state;
    /* A good document to break one member at a time. */
    struct backtest_stored s;
    memset(&s, 0, sizeof s);
    backtest_opts_default(&s.opts);
    s.sum.start = date_from_ymd(2024, 1, 2);
    s.sum.end = date_from_ymd(2024, 12, 31);
    s.sum.trading_days = 251;
    s.sum.win_rate_pct = NAN;
    s.ncurve = 1;
    s.curve_date[0] = s.sum.start;
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(backtest_stored_json(&b, &s), ERR_OK);
    struct backtest_stored back;
    struct diag d;
    assert_int_equal(backtest_stored_parse("ok", b.data, b.len, &back, &d), ERR_OK);
    const char *good = buf_cstr(&b);
    struct {
        const char *from, *to, *part;
    } cases[] = {
        {"\"top\":10", "\"top\":0", "member 'top': expected a whole number from 1 to 1000"},
        {"\"top\":10", "\"top\":\"10\"", "member 'top' is string, expected number"},
        {"\"top\":10,", "", "member 'top' is missing"},
        {"\"start\":\"2024-01-02\"", "\"start\":\"2024-13-02\"",
         "member 'start': expected a date YYYY-MM-DD, got '2024-13-02'"},
        {"\"start\":\"2024-01-02\"", "\"start\":\"2025-01-02\"", "member 'end': before 'start'"},
        {"\"max_drawdown_pct\":0", "\"max_drawdown_pct\":5",
         "member 'max_drawdown_pct': expected a number from -100 to 0"},
        {"\"win_rate_pct\":null", "\"win_rate_pct\":101", "member 'win_rate_pct'"},
        {"\"final_equity\":0", "\"final_equity\":null",
         "member 'final_equity' is null, expected number"},
        {"\"curve\":[{", "\"curve\":[3,{", "curve[0]: expected an object, got number"},
        {"\"curve\":[{\"date\":\"2024-01-02\"", "\"curve\":[{\"date\":\"2023-01-02\"",
         "curve[0]: member 'date': expected dates ascending within start and end"},
        {"\"survivorship_bias\":false", "\"survivorship_bias\":0",
         "member 'survivorship_bias' is number, expected boolean"},
        {"\"warnings\":[]", "\"warnings\":[1]", "member 'warnings': element 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(good, cases[i].from);
        assert_non_null(at);
        char text[4096];
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, cases[i].to,
                 at + strlen(cases[i].from));
        expect_bad(text, cases[i].part);
    }
    expect_bad("[]", "expected an object, got array");
    expect_bad("{\"top\":", "summary.json");
    expect_bad(
        "{\"computed_ms\":1,\"duration_ms\":1,\"top\":10,\"every\":5,\"target_pct\":100,"
        "\"signal_top\":5,\"stop_pct\":null,\"max_hold\":null,\"cost_bps\":5,\"capital\":1,"
        "\"window_days\":180,\"min_bars\":30,\"start\":\"2024-01-02\",\"end\":\"2024-01-02\","
        "\"trading_days\":1,\"final_equity\":1,\"total_return_pct\":0,\"cagr_pct\":null,"
        "\"vol_pct\":null,\"sharpe\":null,\"max_drawdown_pct\":0,\"trades\":0,"
        "\"win_rate_pct\":null,\"avg_hold_days\":null,\"exposure_pct\":0,"
        "\"benchmark_return_pct\":0,\"signal_dates\":0,\"buys_dropped\":0,"
        "\"survivorship_bias\":true,\"curve\":[],\"warnings\":[]}",
        "member 'curve': expected 1 to 32 points, got 0");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refresh_writes_the_results, setup, teardown),
        cmocka_unit_test(test_stored_round_trip),
        cmocka_unit_test_setup_teardown(test_refresh_keeps_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_stops_mid_way, setup, teardown),
        cmocka_unit_test(test_stored_malformed),
    };
    return cmocka_run_group_tests_name("backtest_results", tests, NULL, NULL);
}
