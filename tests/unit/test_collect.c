/* test_collect.c - the collector's pure parts: Alpaca URLs and page parsers, the rate limiter,
 * backoff; and its deadline, against the Alpaca simulator on 127.0.0.1. */
#include "testutil.h"

#include "base/clock.h"
#include "base/date.h"
#include "base/calendar.h"
#include "base/log.h"
#include "collect/alpaca.h"
#include "collect/collector.h"
#include "codec/barcsv.h"
#include "collect/csvimport.h"
#include "net/fetch.h"
#include "net/ratelimit.h"
#include "screen/results.h"
#include "screen/screen_run.h"
#include "sim/alpaca_sim.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

struct problems {
    int n;
    char last[400];
};

static void on_problem(void *ctx, const char *symbol, const char *what)
{
    struct problems *p = ctx;
    p->n++;
    snprintf(p->last, sizeof p->last, "%s: %s", symbol, what);
}

static void test_bars_url(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1 << 16);
    const char *syms[] = {"AAPL", "BRK.B", "X/Y"};
    /* 2024-01-02 05:00Z .. 2024-01-03 21:00Z */
    assert_int_equal(alpaca_bars_url(&b, "http://h:1/", syms, 3, 1704171600000LL, 1704315600000LL,
                                     "sip", "a+b/c="),
                     ERR_OK);
    assert_string_equal(buf_cstr(&b),
                        "http://h:1/v2/stocks/bars?symbols=AAPL,BRK.B,X%2FY&timeframe=1Day"
                        "&start=2024-01-02T05:00:00Z&end=2024-01-03T21:00:00Z&limit=10000"
                        "&adjustment=raw&feed=sip&sort=asc&page_token=a%2Bb%2Fc%3D");
    buf_release(&b);
}

static void test_parse_bars(void **state)
{
    (void)state;
    const char *page =
        "{\"bars\":{\"AAPL\":[{\"t\":\"2024-01-02T05:00:00Z\",\"o\":187.15,\"h\":188.44,"
        "\"l\":183.885,\"c\":185.64,\"v\":82488674,\"n\":1009074,\"vw\":185.9465},"
        "{\"t\":\"2023-09-29T04:00:00Z\",\"o\":170,\"h\":171,\"l\":169,\"c\":170.5,"
        "\"v\":5000000000}]},\"next_page_token\":\"QUFQTA==\"}";
    struct alpaca_page p;
    alpaca_page_init(&p);
    struct problems pr = {0};
    struct diag d;
    assert_int_equal(alpaca_parse_bars(page, strlen(page), &p, on_problem, &pr, &d), ERR_OK);
    assert_int_equal(p.bars.n, 2);
    assert_int_equal(pr.n, 0);
    assert_string_equal(p.next_token, "QUFQTA==");
    const struct bar *b = &p.bars.v[0];
    assert_string_equal(b->symbol, "AAPL");
    assert_int_equal(b->date, day("2024-01-02"));
    assert_true(b->open == 187150000 && b->low == 183885000 && b->vwap == 185946500);
    assert_true(b->volume == 82488674 && b->trades == 1009074);
    /* Summer time: 04:00Z is midnight in New York; volume beyond 32 bits survives. */
    assert_int_equal(p.bars.v[1].date, day("2023-09-29"));
    assert_true(p.bars.v[1].volume == 5000000000LL);
    assert_true(p.bars.v[1].trades == BAR_NONE && p.bars.v[1].vwap == BAR_NONE);
    alpaca_page_release(&p);
}

static void test_parse_bars_problems(void **state)
{
    (void)state;
    struct {
        const char *bar, *expect;
    } cases[] = {
        {"{\"t\":\"2024-01-02T05:00:00Z\",\"o\":\"abc\",\"h\":1,\"l\":1,\"c\":1,\"v\":1}",
         "'o' is a string"},
        {"{\"t\":\"2024-01-02T05:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":0,\"v\":1}", "close"},
        {"{\"t\":\"2024-01-02T05:00:00Z\",\"o\":1,\"h\":1,\"l\":2,\"c\":1.5,\"v\":1}", "high"},
        {"{\"t\":\"2024-01-02T00:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}",
         "not midnight New York"},
        {"{\"t\":\"yesterday\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}", "RFC 3339"},
        {"{\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1}", "'t' is missing"},
        {"{\"t\":\"2024-01-02T05:00:00Z\",\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"v\":1.5}",
         "whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char page[600];
        snprintf(page, sizeof page, "{\"bars\":{\"ZZ\":[%s]},\"next_page_token\":null}",
                 cases[i].bar);
        struct alpaca_page p;
        alpaca_page_init(&p);
        struct problems pr = {0};
        struct diag d;
        assert_int_equal(alpaca_parse_bars(page, strlen(page), &p, on_problem, &pr, &d), ERR_OK);
        assert_int_equal(p.bars.n, 0);
        assert_int_equal(p.bad, 1);
        assert_int_equal(pr.n, 1);
        if (!strstr(pr.last, cases[i].expect))
            fail_msg("case %zu: '%s' does not mention '%s'", i, pr.last, cases[i].expect);
        assert_string_equal(p.next_token, "");
        alpaca_page_release(&p);
    }
}

static void test_parse_bars_page_errors(void **state)
{
    (void)state;
    const char *pages[] = {
        "{\"bars\":{\"A\":[",
        "[]",
        "{\"next_page_token\":null}",
        "{\"bars\":[],\"next_page_token\":null}",
        "{\"bars\":{},\"next_page_token\":5}",
        "{\"bars\":{},\"bars\":{}}",
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        struct alpaca_page p;
        alpaca_page_init(&p);
        struct diag d = {{0}};
        assert_int_equal(alpaca_parse_bars(pages[i], strlen(pages[i]), &p, NULL, NULL, &d),
                         ERR_PARSE);
        assert_true(d.text[0] != '\0');
        alpaca_page_release(&p);
    }
}

struct all_problems {
    int n;
    char text[2000];
};

static void count_problems(void *ctx, const char *symbol, const char *what)
{
    struct all_problems *p = ctx;
    size_t len = strlen(p->text);
    p->n++;
    snprintf(p->text + len, sizeof p->text - len, "%s%s\n", symbol, what);
}

static void test_parse_actions(void **state)
{
    (void)state;
    const char *page =
        "{\"corporate_actions\":{\"forward_splits\":[{\"id\":\"x\",\"symbol\":\"ABCD\","
        "\"new_rate\":4,\"old_rate\":1,\"ex_date\":\"2026-06-10\"}],\"reverse_splits\":"
        "[{\"symbol\":\"WXYZ\",\"new_rate\":1,\"old_rate\":20,\"ex_date\":\"2026-08-03\"}],"
        "\"cash_dividends\":[{\"symbol\":\"ABCD\",\"rate\":0.25}],"
        "\"stock_dividends\":[{\"id\":\"y\",\"symbol\":\"EFGH\",\"cusip\":\"1\",\"rate\":0.05,"
        "\"process_date\":\"2026-09-01\",\"ex_date\":\"2026-09-02\"},{\"symbol\":\"EFGH\","
        "\"rate\":-1,\"ex_date\":\"2026-09-03\"}],"
        "\"unit_splits\":[{\"id\":\"u\",\"old_symbol\":\"UNIT\",\"old_cusip\":\"1\",\"old_rate\":1,"
        "\"new_symbol\":\"UNIT\",\"new_cusip\":\"2\",\"new_rate\":3,\"alternate_symbol\":\"UNITW\","
        "\"alternate_cusip\":\"3\",\"alternate_rate\":0.5,\"process_date\":\"2026-10-07\","
        "\"effective_date\":\"2026-10-05\"},{\"old_symbol\":\"HUGE\",\"old_rate\":1,"
        "\"new_symbol\":\"HUGE\",\"new_rate\":1e9,\"effective_date\":\"2026-10-05\"},"
        "{\"old_symbol\":\"NAN\",\"old_rate\":0,\"new_rate\":1,\"effective_date\":\"2026-10-05\"}],"
        "\"name_changes\":[{\"id\":\"n\",\"old_symbol\":\"FB\",\"old_cusip\":\"30303M102\","
        "\"new_symbol\":\"META\",\"new_cusip\":\"30303M102\",\"process_date\":\"2022-06-09\"},"
        "{\"old_symbol\":\"SAME\",\"new_symbol\":\"SAME\",\"process_date\":\"2022-06-09\"}]},"
        "\"next_page_token\":null}";
    struct splitvec sv;
    struct symchangevec cv;
    splitvec_init(&sv);
    symchangevec_init(&cv);
    char next[ALPACA_TOKEN_MAX];
    struct diag d;
    struct all_problems pr = {0};
    assert_int_equal(
        alpaca_parse_actions(page, strlen(page), &sv, &cv, next, count_problems, &pr, &d), ERR_OK);
    assert_string_equal(sv.v[0].symbol, "ABCD");
    assert_true(split_factor(&sv.v[0]) == 4.0);
    assert_true(split_factor(&sv.v[1]) == 0.05);
    assert_int_equal(sv.v[1].ex_date, day("2026-08-03"));
    /* A 5 % stock dividend is a price factor of 1.05; a negative rate is left out. */
    assert_int_equal(sv.n, 4);
    assert_string_equal(sv.v[2].symbol, "EFGH");
    assert_int_equal(sv.v[2].new_rate, 1050000);
    assert_int_equal(sv.v[2].old_rate, 1000000);
    assert_int_equal(sv.v[2].ex_date, day("2026-09-02"));
    /* A unit split is a price factor of new_rate / old_rate on its effective date; one of a
     * billion (or of a zero rate) is refused, by name. */
    assert_string_equal(sv.v[3].symbol, "UNIT");
    assert_true(split_factor(&sv.v[3]) == 3.0);
    assert_int_equal(sv.v[3].ex_date, day("2026-10-05"));
    assert_int_equal(pr.n, 4);
    assert_non_null(strstr(pr.text,
                           "a unit split left out: HUGE 2026-10-05: unit split 1e+09-for-1 "
                           "is outside the sane range"));
    /* A name change takes effect on its process date; a symbol "changed" to itself is not one. */
    assert_int_equal(cv.n, 1);
    assert_string_equal(cv.v[0].old_symbol, "FB");
    assert_string_equal(cv.v[0].new_symbol, "META");
    assert_int_equal(cv.v[0].date, day("2022-06-09"));
    assert_string_equal(next, "");
    splitvec_release(&sv);
    symchangevec_release(&cv);
}

static void test_ratelimit_window(void **state)
{
    (void)state;
    struct ratelimit rl;
    assert_int_equal(ratelimit_init(&rl, 3, 1000, NULL), ERR_OK);
    int64_t now = 5000;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ratelimit_wait_ms(&rl, now), 0);
        ratelimit_record(&rl, now);
        now += 100;
    }
    /* Three started at 5000, 5100, 5200: the fourth waits for 5000 to leave the window. */
    int64_t w = ratelimit_wait_ms(&rl, now);
    assert_true(w >= 1000 - 300 && w <= 1000 - 300 + rl.margin_ms);
    /* Never more than `limit` starts in any window, whatever the pattern. */
    int64_t starts[200];
    size_t n = 0;
    uint64_t seed = tu_seed("ratelimit");
    for (int step = 0; step < 2000 && n < 200; step++) {
        now += (int64_t)(tu_rand(&seed) % 120);
        if (ratelimit_wait_ms(&rl, now) == 0 && tu_rand(&seed) % 2) {
            ratelimit_record(&rl, now);
            starts[n++] = now;
        }
    }
    for (size_t i = 3; i < n; i++)
        assert_true(starts[i] - starts[i - 3] >= 1000);
    /* A server-side block is obeyed. */
    ratelimit_block_until(&rl, now + 5000);
    assert_true(ratelimit_wait_ms(&rl, now) >= 5000);
    ratelimit_release(&rl);
}

static void test_ratelimit_parse(void **state)
{
    (void)state;
    size_t n;
    int64_t w;
    struct diag d;
    assert_int_equal(ratelimit_parse("200/60s", &n, &w, &d), ERR_OK);
    assert_true(n == 200 && w == 60000);
    assert_int_equal(ratelimit_parse("20/500ms", &n, &w, &d), ERR_OK);
    assert_true(n == 20 && w == 500);
    const char *bad[] = {"",        "200",   "200/", "0/60s", "200/60",
                         "200/60m", "-1/5s", "2/0s", "abc/5s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ratelimit_parse(bad[i], &n, &w, &d), ERR_INVALID);
}

static void test_backoff(void **state)
{
    (void)state;
    uint64_t rng = 1;
    for (int attempt = 1; attempt <= 8; attempt++) {
        int64_t full = 500LL << (attempt - 1);
        if (full > 20000)
            full = 20000;
        for (int k = 0; k < 50; k++) {
            int64_t b = fetch_backoff_ms(500, 20000, attempt, &rng);
            assert_true(b >= full / 2 && b <= full);
        }
    }
}

/* ---- the collector's deadline ---- */

/* The system clock, with the wall clock moved on by `jump` once the test says so. */
static int64_t jump_ms;
static int64_t jumped_wall_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           __atomic_load_n(&jump_ms, __ATOMIC_SEQ_CST);
}
static int64_t real_mono_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static void real_sleep_ms(void *ctx, int64_t ms)
{
    (void)ctx;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}
static const struct clock_source jumpy_clock = {jumped_wall_ms, real_mono_us, real_sleep_ms, NULL};

/* After the first page, time moves past the deadline. */
static void jump_after_first_page(void *ctx, const struct collect_stats *st)
{
    (void)ctx;
    if (st->bar_pages == 1)
        __atomic_store_n(&jump_ms, (int64_t)3600 * 1000 * 2, __ATOMIC_SEQ_CST);
}

/* A split injected into the simulated market by the next collect_setup (split_symbol: the
 * index of the symbol), published actions_delay trading days after its ex-date. */
static struct split setup_split;
static long setup_split_symbol = -1;
static int setup_actions_delay;
/* And, when their symbol index is set, a unit split and a symbol change (to a new ticker). */
static struct split setup_unit_split;
static long setup_unit_symbol = -1;
static struct symchange setup_rename;
static long setup_rename_symbol = -1;

static void collect_setup(struct tu_world *cf)
{
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 11;
    so.nsymbols = 10;
    assert_int_equal(date_parse("2026-11-20", 10, &so.last_day), ERR_OK);
    so.first_day = so.last_day - 200;
    if (setup_split_symbol >= 0) { /* the same market, with the split */
        struct alpaca_sim *probe;
        struct diag d;
        if (alpaca_sim_new(&so, &probe, &d))
            fail_msg("alpaca sim: %s", d.text);
        snprintf(setup_split.symbol, sizeof setup_split.symbol, "%s",
                 alpaca_sim_symbol(probe, (size_t)setup_split_symbol));
        so.splits = &setup_split;
        so.nsplits = 1;
        so.actions_delay = setup_actions_delay;
        if (setup_unit_symbol >= 0) {
            snprintf(setup_unit_split.symbol, sizeof setup_unit_split.symbol, "%s",
                     alpaca_sim_symbol(probe, (size_t)setup_unit_symbol));
            so.unit_splits = &setup_unit_split;
            so.nunit_splits = 1;
        }
        if (setup_rename_symbol >= 0) {
            snprintf(setup_rename.old_symbol, sizeof setup_rename.old_symbol, "%s",
                     alpaca_sim_symbol(probe, (size_t)setup_rename_symbol));
            so.renames = &setup_rename;
            so.nrenames = 1;
        }
        alpaca_sim_free(probe);
        setup_split_symbol = setup_unit_symbol = setup_rename_symbol = -1;
    }
    tu_world_start(cf, &so);
}

static void collect_options(struct tu_world *cf, struct collect_opts *co)
{
    collect_opts_default(co);
    co->data_url = cf->url;
    co->key_id = "SIMKEY";
    co->secret_key = "SIMSECRET";
    co->http = cf->http;
    co->now_ms = 1795348800000LL; /* 2026-11-22T12:00Z, a Sunday: the end is 2026-11-20 */
    co->history_days = 100;
    co->skip_actions = 1;
    co->fetch.concurrency = 1;
    /* Room for about two symbols a request: several batches, run one after the other. */
    co->max_url = strlen(cf->url) + 600 + 10;
}

/* How many symbols have their bars up to the end, and that they are the first ones. */
static size_t symbols_complete(struct tu_world *cf, int32_t end)
{
    int32_t last[10];
    struct diag d;
    assert_int_equal(barstore_last_dates(cf->bs, cf->symbols, cf->n, end, 10, last, &d), ERR_OK);
    size_t k = 0;
    while (k < cf->n && last[k] == end)
        k++;
    for (size_t i = k; i < cf->n; i++)
        assert_true(last[i] == INT32_MIN);
    return k;
}

static void test_collect_deadline(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct tu_world cf;
    collect_setup(&cf);
    struct collect_opts co;
    struct collect_stats st;
    struct diag d = {{0}};

    /* A deadline already gone: nothing is started, everything is left for the rerun. */
    collect_options(&cf, &co);
    co.deadline_ms = 1;
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_TIMEOUT);
    assert_true(st.symbols_not_attempted == cf.n && st.bars_new == 0 && st.fetch.requests == 0);
    assert_non_null(strstr(d.text, "deadline"));
    assert_non_null(strstr(d.text, "a rerun completes them"));
    assert_true(st.chains >= 4);

    /* The deadline passes after the first page: the chains in flight finish, no new one
     * starts, the stored symbols have no holes. */
    clock_set_source(&jumpy_clock);
    collect_options(&cf, &co);
    co.deadline_ms = clock_wall_ms() + 3600 * 1000;
    co.on_progress = jump_after_first_page;
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_TIMEOUT);
    clock_set_source(NULL);
    __atomic_store_n(&jump_ms, 0, __ATOMIC_SEQ_CST);
    assert_true(st.bar_pages == 1 && st.chains_done == 1);
    size_t done = symbols_complete(&cf, st.end);
    assert_true(done >= 1 && done < cf.n);
    assert_true(st.symbols_not_attempted == cf.n - done);
    assert_true(st.symbols_done == done);

    /* The rerun, without a deadline, completes the rest. */
    collect_options(&cf, &co);
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_true(st.symbols_not_attempted == 0);
    /* Every symbol is planned: the complete ones for their last days again (the settle
     * window), which are all stored and unchanged. */
    assert_true(st.symbols_planned == cf.n);
    assert_true(st.bars_same >= done * 3 && st.bars_revised == 0 && st.bars_conflict == 0);
    assert_int_equal(symbols_complete(&cf, st.end), cf.n);
    tu_world_stop(&cf);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* A host clock ahead of Alpaca's: a request ending 15 minutes before the host's clock reaches
 * into Alpaca's last 15 minutes, which the free plan refuses with a 403 that is not about
 * credentials.  A small lead is absorbed by the margin; a larger one is retried with an earlier
 * end; refused credentials still stop the run. */
/* 2026-11-20 (a Friday) 16:00 New York, moving on with the real clock: the collector and the
 * simulator in this process share it. */
static int64_t friday_wall_ms(void *ctx)
{
    (void)ctx;
    static int64_t start_us;
    int64_t now = real_mono_us(NULL);
    if (!start_us)
        start_us = now;
    return 1795208400000LL + (now - start_us) / 1000;
}
static const struct clock_source friday_clock = {friday_wall_ms, real_mono_us, real_sleep_ms, NULL};

static void test_collect_recent_data_refusal(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct tu_world cf;
    collect_setup(&cf);
    struct collect_opts co;
    struct collect_stats st;
    struct diag d = {{0}};
    int32_t market_end; /* the simulated market's last day, before the clock's today */
    assert_int_equal(date_parse("2026-11-20", 10, &market_end), ERR_OK);

    clock_set_source(&friday_clock);
    collect_options(&cf, &co);
    co.close_minute = 0; /* today's bar is asked for, up to the latest instant allowed */
    co.now_ms = clock_wall_ms() + 60 * 1000; /* a minute ahead */
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_int_equal(st.recent_data_refusals, 0);
    assert_int_equal(symbols_complete(&cf, market_end), cf.n);

    tu_world_renew_store(&cf);
    collect_options(&cf, &co);
    co.close_minute = 0;
    co.now_ms = clock_wall_ms() + 10 * 60 * 1000; /* ten minutes ahead */
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_true(st.recent_data_refusals >= 1);
    assert_int_equal(symbols_complete(&cf, market_end), cf.n);

    /* Refused credentials are still fatal (exit 7). */
    tu_world_renew_store(&cf);
    collect_options(&cf, &co);
    co.close_minute = 0;
    co.now_ms = clock_wall_ms() + 10 * 60 * 1000;
    co.secret_key = "WRONG";
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_AUTH);
    assert_int_equal(st.recent_data_refusals, 0);
    clock_set_source(NULL);
    tu_world_stop(&cf);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* A weekday the exchange did not open, unknown to the calendar (here: the simulated market is
 * built while the calendar knows the day is closed, and the collector runs after it has
 * forgotten): the daily run that asks for it finds no bar for any symbol, records the day as
 * closed instead of reporting 25 symbols without data, and the next run skips it. */
static void test_collect_learns_closed_day(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    int32_t closed, last;
    assert_int_equal(date_parse("2026-11-18", 10, &closed), ERR_OK);
    assert_int_equal(date_parse("2026-11-20", 10, &last), ERR_OK);
    assert_int_equal(cal_learn_closed(&closed, 1), ERR_OK);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = 25;
    so.last_day = last;
    so.first_day = last - 120;
    struct tu_world cf;
    tu_world_start(&cf, &so);
    struct diag d = {{0}};
    cal_forget_learned();
    assert_true(cal_is_trading_day(closed));
    const char *const *syms = cf.symbols;
    struct collect_opts co;
    struct collect_stats st;
    /* Up to the evening before. */
    collect_options(&cf, &co);
    co.max_url = 8192;
    co.now_ms = cal_ny_to_utc_ms(closed - 1, 17 * 60);
    assert_int_equal(collect_run(cf.bs, syms, 25, &co, &st, &d), ERR_OK);
    assert_int_equal(st.closed_days_learned, 0);
    assert_int_equal(st.symbols_no_data, 0);
    /* The evening of the closed day. */
    co.now_ms = cal_ny_to_utc_ms(closed, 17 * 60);
    assert_int_equal(collect_run(cf.bs, syms, 25, &co, &st, &d), ERR_OK);
    assert_int_equal(st.end, closed);
    assert_int_equal(st.symbols_planned, 25);
    assert_int_equal(st.symbols_no_data, 0);
    assert_int_equal(st.closed_days_learned, 1);
    assert_false(cal_is_trading_day(closed));
    int32_t *days;
    size_t n;
    assert_int_equal(barstore_closed_days(cf.bs, &days, &n, &d), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(days[0], closed);
    free(days);
    /* A later run (a new process: the calendar learns it from the store) skips the day. */
    cal_forget_learned();
    co.now_ms = cal_ny_to_utc_ms(closed + 1, 17 * 60);
    assert_int_equal(collect_run(cf.bs, syms, 25, &co, &st, &d), ERR_OK);
    assert_false(cal_is_trading_day(closed));
    assert_int_equal(st.symbols_no_data, 0);
    assert_int_equal(st.bars_new, 25);
    assert_int_equal(st.closed_days_learned, 0);
    cal_forget_learned();
    tu_world_stop(&cf);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

static void test_recent_data_refusal_recognised(void **state)
{
    (void)state;
    const char sip[] = "{\"message\":\"subscription does not permit querying recent SIP data\"}";
    const char old[] = "{\"code\":42210000,\"message\":\"your subscription does not permit "
                       "querying data from the past 15 minutes\"}";
    const char auth[] = "{\"message\":\"forbidden.\"}";
    assert_true(alpaca_is_recent_data_refusal(403, sip, sizeof sip - 1));
    assert_true(alpaca_is_recent_data_refusal(422, old, sizeof old - 1));
    assert_false(alpaca_is_recent_data_refusal(403, auth, sizeof auth - 1));
    assert_false(alpaca_is_recent_data_refusal(401, sip, sizeof sip - 1));
    assert_false(alpaca_is_recent_data_refusal(403, NULL, 0));
}

/* The simulator's clock, set by the test. */
static int64_t week_now_ms;

static int64_t week_wall_ms(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&week_now_ms, __ATOMIC_SEQ_CST);
}

static const struct clock_source week_clock = {week_wall_ms, real_mono_us, real_sleep_ms, NULL};

static void set_week_now(int32_t day, int minute)
{
    __atomic_store_n(&week_now_ms, cal_ny_to_utc_ms(day, minute), __ATOMIC_SEQ_CST);
}

struct screened {
    char text[8192];
    size_t len;
};

static int screened_emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct screened *sc = ctx;
    for (size_t i = 0; i < n && sc->len < sizeof sc->text - 100; i++)
        sc->len += (size_t)snprintf(
            sc->text + sc->len, sizeof sc->text - sc->len, "%d %d %s %.6f %.6f %.6f\n", (int)date,
            rows[i].rank, rows[i].symbol, rows[i].close, rows[i].drawdown_pct, rows[i].change_pct);
    return 0;
}

static void screen_week(struct barstore *bs, int32_t from, int32_t to, struct screened *out)
{
    struct screen_opts so;
    screen_opts_default(&so);
    so.min_bars = 5;
    struct screen_run_stats st;
    struct diag d;
    memset(out, 0, sizeof *out);
    if (screen_run(bs, &so, from, to, screened_emit, out, &st, &d) != ERR_OK)
        fail_msg("screen: %s", d.text);
    assert_true(out->len > 0);
}

static struct screen_opts results_opts(void)
{
    struct screen_opts so;
    screen_opts_default(&so);
    so.by = SCREEN_BY_DRAWDOWN;
    so.top = 0;
    return so;
}

static int write_day(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct tu_world *cf = ctx;
    struct diag d;
    if (results_write_screen(cf->os, date, rows, n, 1, &d) ||
        results_append_top(cf->os, date, rows, n, RESULTS_TOP_DEFAULT, &d))
        fail_msg("results: %s", d.text);
    return 0;
}

/* What a collection leaves: the day's results, and those of earlier dates whose bars the run
 * changed, recomputed. */
static void day_results(struct tu_world *cf, int32_t day, const struct collect_stats *st)
{
    struct screen_opts so = results_opts();
    struct screen_run_stats rs;
    struct diag d;
    assert_int_equal(screen_run(cf->bs, &so, day, day, write_day, cf, &rs, &d), ERR_OK);
    size_t redone;
    assert_int_equal(results_rewrite(cf->os, cf->bs, &so, st->changed_from, day - 1,
                                     RESULTS_TOP_DEFAULT, &redone, &d),
                     ERR_OK);
    if (st->changed_from < day)
        assert_int_equal(redone, (size_t)cal_trading_days(st->changed_from, day - 1));
}

struct expect_ctx {
    struct tu_world *cf;
    struct results_history *top;
    size_t checked;
};

static int check_results(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct expect_ctx *e = ctx;
    struct results_screen got = {0};
    struct diag d;
    assert_int_equal(results_read_screen(e->cf->os, date, &got, &d), ERR_OK);
    assert_int_equal(got.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got.rows[i].symbol, rows[i].symbol);
        assert_int_equal(got.rows[i].rank, rows[i].rank);
        assert_true(fabs(got.rows[i].close - rows[i].close) < 1e-6);
        assert_true(fabs(got.rows[i].drawdown_pct - rows[i].drawdown_pct) < 1e-3);
    }
    size_t k = 0;
    for (size_t i = 0; i < e->top->n; i++) {
        const struct screen_row *r = &e->top->rows[i];
        if (r->date != date)
            continue;
        assert_true(k < n);
        assert_string_equal(r->symbol, rows[k].symbol);
        assert_true(fabs(r->drawdown_pct - rows[k].drawdown_pct) < 1e-3);
        k++;
    }
    assert_int_equal(k, n < RESULTS_TOP_DEFAULT ? n : RESULTS_TOP_DEFAULT);
    results_screen_release(&got);
    e->checked++;
    return 0;
}

static void results_equal_screen(struct tu_world *cf, struct barstore *final, int32_t from,
                                 int32_t to)
{
    struct results_history top = {0};
    struct diag d;
    assert_int_equal(results_read_top(cf->os, &top, &d), ERR_OK);
    struct expect_ctx e = {cf, &top, 0};
    struct screen_opts so = results_opts();
    struct screen_run_stats rs;
    assert_int_equal(screen_run(final, &so, from, to, check_results, &e, &rs, &d), ERR_OK);
    assert_int_equal(e.checked, (size_t)(to - from + 1));
    results_history_release(&top);
}

/* The lines of a screen's text that name a symbol on a date. */
static int screened_has(const struct screened *sc, int32_t date, const char *symbol)
{
    char needle[64];
    snprintf(needle, sizeof needle, "%d ", (int)date);
    for (const char *p = sc->text; (p = strstr(p, needle)) != NULL; p++) {
        if (p != sc->text && p[-1] != '\n')
            continue;
        const char *sym = strchr(p + strlen(needle), ' ');
        if (sym && strncmp(sym + 1, symbol, strlen(symbol)) == 0 && sym[1 + strlen(symbol)] == ' ')
            return 1;
    }
    return 0;
}

/* A week of daily collections at 16:30 New York, while the day's bar still changes (until
 * 20:00 by the simulator's clock): each evening's bars are provisional, the next run fetches
 * them again and records the changes as revisions, and at the end the store holds exactly
 * the final bars, and screens as a store collected after the week does.  Corporate actions
 * arrive late during the week: a unit split, a split and a symbol change. */
static void test_collect_week_of_provisional_bars(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct tu_world cf;
    /* A 2-for-1 split of the third symbol on Wednesday, published on Friday; a 3-for-1 unit
     * split of the fifth on Tuesday, published on Thursday; the seventh renamed NEWCO from
     * Wednesday, published on Friday. */
    int32_t wed;
    assert_int_equal(date_parse("2026-11-18", 10, &wed), ERR_OK);
    setup_split = (struct split){.ex_date = wed, .new_rate = 2000000, .old_rate = 1000000};
    setup_split_symbol = 2;
    setup_unit_split = (struct split){.ex_date = wed - 1, .new_rate = 3000000, .old_rate = 1000000};
    setup_unit_symbol = 4;
    setup_rename = (struct symchange){.new_symbol = "NEWCO", .date = wed};
    setup_rename_symbol = 6;
    setup_actions_delay = 2;
    collect_setup(&cf);
    char old_name[BAR_SYMBOL_MAX + 1];
    snprintf(old_name, sizeof old_name, "%s", cf.symbols[6]);
    struct collect_opts co;
    struct collect_stats st;
    struct diag d = {{0}};
    int32_t mon, fri;
    assert_int_equal(date_parse("2026-11-16", 10, &mon), ERR_OK);
    fri = mon + 4;
    clock_set_source(&week_clock);

    /* History up to the Friday before, collected on the Saturday: final. */
    set_week_now(mon - 2, 12 * 60);
    collect_options(&cf, &co);
    co.now_ms = 0;
    co.skip_actions = 0;
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_int_equal(st.bars_provisional, 0);

    size_t revised = 0;
    for (int32_t day = mon; day <= fri; day++) {
        set_week_now(day, 16 * 60 + 30);
        collect_options(&cf, &co);
        co.now_ms = 0;
        co.skip_actions = 0;
        assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
        /* The unit split is found on Thursday and the split on Friday, two days after their
         * dates; so is the symbol change, on Friday. */
        assert_int_equal(st.splits_new, day >= wed + 1 ? 1 : 0);
        assert_int_equal(st.symbol_changes_new, day == fri ? 1 : 0);
        if (day == fri)
            assert_int_equal(st.changed_from, wed);
        else if (day == wed + 1)
            assert_int_equal(st.changed_from, wed - 1);
        else if (day > mon)
            assert_int_equal(st.changed_from, day - 1); /* yesterday's bars revised */
        day_results(&cf, day, &st);
        assert_int_equal(st.end, day);
        /* Until the symbol change is known, the old symbol is asked for and has no bars from
         * Wednesday on. */
        size_t trading = day >= wed ? cf.n - 1 : cf.n;
        assert_int_equal(st.bars_provisional, trading); /* today's */
        assert_int_equal(st.bars_conflict, 0);
        /* Yesterday's provisional bars, fetched again after their settle time: every one
         * changed (volume at least). */
        assert_int_equal(st.bars_revised, day == mon ? 0 : day > wed ? cf.n - 1 : cf.n);
        revised += st.bars_revised;
        /* Today's bars are stored as provisional, yesterday's as final. */
        struct bar_index idx;
        struct barvec v;
        barvec_init(&v);
        assert_int_equal(barstore_index(cf.bs, day - 1, day, &idx, &d), ERR_OK);
        assert_int_equal(idx.days[idx.ndays - 1].date, day);
        assert_int_equal(barstore_read_day(cf.bs, &idx, idx.ndays - 1, &v, &d), ERR_OK);
        assert_int_equal(v.n, trading);
        for (size_t i = 0; i < v.n; i++)
            assert_int_equal(v.v[i].provisional, 1);
        if (idx.ndays == 2) {
            assert_int_equal(barstore_read_day(cf.bs, &idx, 0, &v, &d), ERR_OK);
            for (size_t i = 0; i < v.n; i++)
                assert_int_equal(v.v[i].provisional, 0);
        }
        int32_t prov;
        assert_int_equal(barstore_first_provisional(cf.bs, day, 10, &prov, &d), ERR_OK);
        assert_int_equal(prov, day);
        barvec_release(&v);
        bar_index_release(&idx);
    }
    assert_int_equal(revised, 4 * cf.n - 2);
    /* Saturday: Friday's bars become final; nothing is provisional any more.  The renamed
     * company is asked for under its new name, from the day after its last stored bar. */
    set_week_now(fri + 1, 12 * 60);
    collect_options(&cf, &co);
    co.now_ms = 0;
    co.skip_actions = 0;
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_int_equal(st.changed_from, wed);
    assert_int_equal(st.bars_new, 3); /* NEWCO, Wednesday to Friday */
    day_results(&cf, fri, &st);
    assert_int_equal(st.bars_revised, cf.n - 1);
    assert_int_equal(st.bars_provisional, 0);
    int32_t prov;
    assert_int_equal(barstore_first_provisional(cf.bs, fri, 10, &prov, &d), ERR_OK);
    assert_int_equal(prov, INT32_MAX);
    /* A later run finds nothing to change. */
    assert_int_equal(collect_run(cf.bs, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_int_equal(st.bars_revised + st.bars_new + st.bars_finalized, 0);

    /* The same range collected once, after the week, from final data. */
    char *dir2 = tu_mkdtemp();
    struct objstore *os2;
    struct barstore *bs2;
    assert_int_equal(objstore_open(dir2, &os2, &d), ERR_OK);
    assert_int_equal(barstore_new(os2, &bs2, &d), ERR_OK);
    set_week_now(fri + 2, 12 * 60);
    collect_options(&cf, &co);
    co.now_ms = 0;
    co.start = mon - 2 - co.history_days + 1;
    co.skip_actions = 0;
    assert_int_equal(collect_run(bs2, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_true(st.splits_new >= 2);
    assert_int_equal(st.symbol_changes_new, 1);
    /* The next run asks for the new name; the vendor gives its whole history under it, and
     * the days before the change are those already stored under the old name. */
    assert_int_equal(collect_run(bs2, cf.symbols, cf.n, &co, &st, &d), ERR_OK);
    assert_int_equal(st.bars_new, 3);
    assert_int_equal(st.bars_conflict + st.bars_duplicate, 0);
    /* The results written during the week (and recomputed after the revisions and the late
     * split) are a screen of the final data. */
    results_equal_screen(&cf, bs2, mon, fri);
    struct screened a, b;
    screen_week(cf.bs, mon, fri, &a);
    screen_week(bs2, mon, fri, &b);
    assert_int_equal(a.len, b.len);
    assert_string_equal(a.text, b.text);
    /* The renamed company: under its old symbol until Tuesday, under the new one from
     * Wednesday, with the old symbol's history behind it (it has only three bars of its own,
     * fewer than the screen's minimum of five). */
    assert_true(screened_has(&a, mon, old_name) && screened_has(&a, wed - 1, old_name));
    assert_false(screened_has(&a, mon, "NEWCO"));
    for (int32_t day = wed; day <= fri; day++) {
        assert_true(screened_has(&a, day, "NEWCO"));
        assert_false(screened_has(&a, day, old_name));
    }
    /* And bar for bar. */
    for (int32_t day = mon; day <= fri; day++) {
        struct bar_index i1, i2;
        struct barvec v1, v2;
        barvec_init(&v1);
        barvec_init(&v2);
        assert_int_equal(barstore_index(cf.bs, day, day, &i1, &d), ERR_OK);
        assert_int_equal(barstore_index(bs2, day, day, &i2, &d), ERR_OK);
        assert_int_equal(barstore_read_day(cf.bs, &i1, 0, &v1, &d), ERR_OK);
        assert_int_equal(barstore_read_day(bs2, &i2, 0, &v2, &d), ERR_OK);
        assert_int_equal(v1.n, v2.n);
        for (size_t i = 0; i < v1.n; i++)
            assert_true(bar_equal(&v1.v[i], &v2.v[i]));
        barvec_release(&v1);
        barvec_release(&v2);
        bar_index_release(&i1);
        bar_index_release(&i2);
    }
    barstore_free(bs2);
    objstore_free(os2);
    tu_rmrf(dir2);
    free(dir2);
    clock_set_source(NULL);
    tu_world_stop(&cf);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* The settle window: 3 trading days unless SCREENER_SETTLE_DAYS says more; a value that is not
 * a whole number from 3 to 10 is refused naming the variable, before any request. */
static void test_settle_days(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct diag d = {{0}};
    int n = 0;
    unsetenv("SCREENER_SETTLE_DAYS");
    assert_int_equal(collect_settle_days(&n, &d), ERR_OK);
    assert_int_equal(n, 3);
    static const struct {
        const char *v;
        int want;
    } cases[] = {{"", 3},     {"3", 3},
                 {"5", 5},    {"10", 10},
                 {"2", -1},   {"0", -1},
                 {"-4", -1},  {"11", -1},
                 {"5x", -1},  {"x", -1},
                 {" 4", -1},  {"4.5", -1},
                 {"1e1", -1}, {"99999999999999999999", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("SCREENER_SETTLE_DAYS", cases[i].v, 1);
        d.text[0] = '\0';
        int err = collect_settle_days(&n, &d);
        if (cases[i].want < 0) {
            assert_int_equal(err, ERR_USAGE);
            assert_non_null(strstr(d.text, "SCREENER_SETTLE_DAYS"));
            assert_non_null(strstr(d.text, "from 3 to 10"));
        } else {
            assert_int_equal(err, ERR_OK);
            assert_int_equal(n, cases[i].want);
        }
    }

    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = 4;
    so.first_day = so.last_day - 60;
    struct tu_world cf;
    tu_world_start(&cf, &so);
    const char *const *syms = cf.symbols;
    struct collect_opts co;
    struct collect_stats st;
    collect_options(&cf, &co);
    co.now_ms = cal_ny_to_utc_ms(so.last_day, 20 * 60 + 30); /* Friday 2026-11-20, final */
    unsetenv("SCREENER_SETTLE_DAYS");
    assert_int_equal(collect_run(cf.bs, syms, 4, &co, &st, &d), ERR_OK);
    int32_t want;
    assert_int_equal(date_parse("2026-11-18", 10, &want), ERR_OK); /* Wed, Thu, Fri */
    assert_int_equal(st.refetch_from, want);
    setenv("SCREENER_SETTLE_DAYS", "5", 1);
    assert_int_equal(collect_run(cf.bs, syms, 4, &co, &st, &d), ERR_OK);
    assert_int_equal(date_parse("2026-11-16", 10, &want), ERR_OK); /* Monday to Friday */
    assert_int_equal(st.refetch_from, want);
    assert_int_equal(st.bars_same, 4 * 5);
    setenv("SCREENER_SETTLE_DAYS", "2", 1);
    assert_int_equal(collect_run(cf.bs, syms, 4, &co, &st, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "SCREENER_SETTLE_DAYS"));
    assert_int_equal(st.bar_requests, 0);
    /* An explicit window below the minimum is refused too. */
    unsetenv("SCREENER_SETTLE_DAYS");
    co.refetch_days = 2;
    assert_int_equal(collect_run(cf.bs, syms, 4, &co, &st, &d), ERR_USAGE);
    unsetenv("SCREENER_SETTLE_DAYS");
    tu_world_stop(&cf);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* An imported bar dated after today in New York is a bad row: stored, it would be every
 * reader's latest date for good.  The day is New York's, not UTC's: at 23:30 New York on
 * 2026-11-20 it is already 2026-11-21 in UTC, and a bar of 2026-11-21 has not traded yet. */
static int64_t late_friday_wall_ms(void *ctx)
{
    (void)ctx;
    return 1795235400000LL; /* 2026-11-21T04:30:00Z */
}
static const struct clock_source late_friday_clock = {late_friday_wall_ms, real_mono_us,
                                                      real_sleep_ms, NULL};

struct import_rejects {
    int n;
    char symbol[16], date[16], reason[256];
};

static void on_import_reject(void *ctx, const char *path, size_t line, const char *symbol,
                             const char *date, const char *reason)
{
    struct import_rejects *r = ctx;
    (void)path;
    (void)line;
    r->n++;
    snprintf(r->symbol, sizeof r->symbol, "%s", symbol);
    snprintf(r->date, sizeof r->date, "%s", date);
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

struct import_store {
    char *dir;
    struct objstore *os;
    struct barstore *bs;
};

static void import_store_open(struct import_store *s)
{
    struct diag d = {{0}};
    s->dir = tu_mkdtemp();
    assert_int_equal(objstore_open(tu_path(s->dir, "store"), &s->os, &d), ERR_OK);
    assert_int_equal(barstore_new(s->os, &s->bs, &d), ERR_OK);
}

static void import_store_close(struct import_store *s)
{
    barstore_free(s->bs);
    objstore_free(s->os);
    tu_rmrf(s->dir);
    free(s->dir);
}

/* A row refused for its values (a price not positive, high below low) was read: the reject
 * hook, and so the rejects file, gets its symbol and date; a row whose date is not a date
 * gets its symbol only. */
static void test_import_rejects_name_symbol_and_date(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct import_store store;
    import_store_open(&store);
    char *dir = store.dir;
    struct barstore *bs = store.bs;
    struct diag d = {{0}};
    const char *rows[][4] = {
        {"AAA,2024-01-02,-1,11,9,10,100\n", "AAA", "2024-01-02", "price must be positive"},
        {"BBB,2024-01-03,10,8,9,10,100\n", "BBB", "2024-01-03", "8 is below low 9"},
        {"CCC,2024-01-04,10,11,9,10,-5\n", "CCC", "2024-01-04", "must not be negative"},
        {"DDD,01/05/2024,10,11,9,10,100\n", "DDD", "", "expected a date YYYY-MM-DD"},
        {"eee,2024-01-08,10,11,9,10,100\n", "", "", "expected a ticker"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char csv[256], path[512];
        snprintf(csv, sizeof csv, "symbol,date,open,high,low,close,volume\n%s", rows[i][0]);
        snprintf(path, sizeof path, "%s", tu_path(dir, "bars.csv"));
        tu_write_file(path, csv, strlen(csv));
        struct import_rejects rj = {0};
        struct csvimport_opts o = {.max_report = 20, .on_reject = on_import_reject, .ctx = &rj};
        struct csvimport_stats st = {0};
        assert_int_equal(csvimport_file(bs, path, &o, &st, &d), ERR_OK);
        assert_int_equal(st.bad, 1);
        assert_int_equal(rj.n, 1);
        assert_string_equal(rj.symbol, rows[i][1]);
        assert_string_equal(rj.date, rows[i][2]);
        assert_non_null(strstr(rj.reason, rows[i][3]));
    }
    import_store_close(&store);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* No market trades on a Sunday, nor on a Saturday after 1952-05-24 (the last Saturday
 * session): such a bar is a bad row naming the weekday; Saturdays of the older history are
 * kept. */
static void test_import_refuses_weekend_dates(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct import_store store;
    import_store_open(&store);
    char *dir = store.dir;
    struct barstore *bs = store.bs;
    struct diag d = {{0}};
    const char csv[] = "symbol,date,open,high,low,close,volume\n"
                       "AAA,2024-01-26,10,11,9,10,100\n"  /* Friday */
                       "AAA,2024-01-27,10,11,9,10,100\n"  /* Saturday */
                       "AAA,2024-01-28,10,11,9,10,100\n"  /* Sunday */
                       "AAA,1952-05-24,10,11,9,10,100\n"  /* the last Saturday session */
                       "AAA,1952-06-07,10,11,9,10,100\n"; /* a Saturday after it */
    char path[512];
    snprintf(path, sizeof path, "%s", tu_path(dir, "bars.csv"));
    tu_write_file(path, csv, sizeof csv - 1);
    struct import_rejects rj = {0};
    struct csvimport_opts o = {.max_report = 20, .on_reject = on_import_reject, .ctx = &rj};
    struct csvimport_stats st = {0};
    assert_int_equal(csvimport_file(bs, path, &o, &st, &d), ERR_OK);
    assert_int_equal(st.imported, 2);
    assert_int_equal(st.bad, 3);
    assert_int_equal(rj.n, 3);
    assert_string_equal(rj.symbol, "AAA");
    assert_string_equal(rj.date, "1952-06-07");
    assert_non_null(strstr(rj.reason, "1952-06-07 is a Saturday, when the market is closed"));
    int32_t first, last;
    size_t ndays;
    assert_int_equal(barstore_date_range(bs, &first, &last, &ndays, &d), ERR_OK);
    assert_int_equal(first, day("1952-05-24"));
    assert_int_equal(last, day("2024-01-26"));
    assert_int_equal(ndays, 2);
    o.strict = 1;
    struct csvimport_stats st2 = {0};
    assert_int_equal(csvimport_file(bs, path, &o, &st2, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "bars.csv:3: AAA: field 'date': 2024-01-27 is a Saturday"));
    import_store_close(&store);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* Every stored bar, in date then symbol order. */
static int collect_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    (void)date;
    struct barvec *all = ctx;
    for (size_t i = 0; i < n; i++)
        if (barvec_push(all, &bars[i]))
            return ERR_NOMEM;
    return ERR_OK;
}

static void stored_bars(struct barstore *bs, struct barvec *out)
{
    struct diag d = {{0}};
    barvec_init(out);
    assert_int_equal(barstore_scan(bs, INT32_MIN, INT32_MAX, collect_day, out, &d), ERR_OK);
}

struct import_counts {
    int n;
    size_t lines[16];
};

static void count_reject(void *ctx, const char *path, size_t line, const char *symbol,
                         const char *date, const char *reason)
{
    (void)path, (void)symbol, (void)date, (void)reason;
    struct import_counts *c = ctx;
    if (c->n < 16)
        c->lines[c->n] = line;
    c->n++;
}

/* A reject hook that changes the file it is told about, as another program writing to it
 * while it is imported. */
static void append_on_reject(void *ctx, const char *path, size_t line, const char *symbol,
                             const char *date, const char *reason)
{
    (void)line, (void)symbol, (void)date, (void)reason;
    int *n = ctx;
    if ((*n)++ == 0) {
        FILE *f = fopen(path, "a");
        assert_non_null(f);
        fputs("ZZZ,2024-01-02,10,11,9,10,100,,\n", f);
        fclose(f);
    }
}

/* csv written to DIR/bars.csv, whose path goes to path (512 bytes). */
static void write_bars_csv(const char *dir, const struct buf *csv, char *path)
{
    snprintf(path, 512, "%s", tu_path(dir, "bars.csv"));
    tu_write_file(path, csv->data, csv->len);
}

/* A file of more good rows than a group is stored a group of dates at a time, the file read
 * again for each: the store, the counts and the rejects are those of one reading, each day
 * gets one part, a repeat with other values is found in whatever group it falls, --strict
 * writes nothing when a late group has one, and a file changed between readings is refused. */
static void test_import_in_groups(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct buf csv = BUF_INIT(1 << 20);
    buf_puts(&csv, BARCSV_HEADER);
    const char *syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    for (size_t s = 0; s < 5; s++) {
        int32_t t = day("2024-01-02");
        for (int i = 0; i < 12; i++, t = tu_weekday_from(t + 1)) {
            struct bar b = tu_bar(syms[s], "2024-01-02", 10 + i, 12 + i, 9 + i, 11 + i, 100);
            b.date = t;
            barcsv_write_row(&csv, &b);
            if (s == 1 && i == 3)
                buf_puts(&csv, "BBB,2024-01-05,x,1,1,1,1,,\n"); /* a bad row: line 18 */
        }
    }
    buf_puts(&csv, "CCC,2024-01-12,10,13,9,11,100,,\n");  /* differs from line 33 */
    buf_puts(&csv, "AAA,2024-01-03,11,13,10,12,100,,\n"); /* repeats line 3 */
    char *dir = tu_mkdtemp();
    char path[512];
    write_bars_csv(dir, &csv, path);

    struct import_store one, grouped;
    import_store_open(&one);
    import_store_open(&grouped);
    struct import_counts c1 = {0}, c2 = {0};
    struct csvimport_opts o1 = {.max_report = 20, .on_reject = count_reject, .ctx = &c1};
    struct csvimport_opts o2 = o1;
    o2.ctx = &c2;
    o2.batch_rows = 7; /* a day's five rows a group */
    struct csvimport_stats s1 = {0}, s2 = {0};
    struct diag d = {{0}};
    assert_int_equal(csvimport_file(one.bs, path, &o1, &s1, &d), ERR_OK);
    assert_int_equal(csvimport_file(grouped.bs, path, &o2, &s2, &d), ERR_OK);
    assert_int_equal(s1.imported, 59); /* 60 less CCC of 2024-01-12, repeated otherwise */
    assert_int_equal(s1.present, 1);   /* the equal repeat */
    assert_int_equal(s2.imported, s1.imported);
    assert_int_equal(s2.present, s1.present);
    assert_int_equal(s2.rows, s1.rows);
    assert_int_equal(s2.bad, 3);
    assert_int_equal(s2.bad, s1.bad);
    assert_int_equal(s2.days, 12);
    assert_int_equal(c1.n, 3);
    assert_int_equal(c2.n, 3);
    assert_int_equal(c2.lines[0], 18);
    struct barvec b1, b2;
    stored_bars(one.bs, &b1);
    stored_bars(grouped.bs, &b2);
    assert_int_equal(b2.n, 59);
    assert_int_equal(b1.n, b2.n);
    for (size_t i = 0; i < b1.n; i++)
        assert_true(bar_equal(&b1.v[i], &b2.v[i]));
    barvec_release(&b1);
    barvec_release(&b2);
    struct bar_index idx = {0};
    assert_int_equal(barstore_index(grouped.bs, INT32_MIN, INT32_MAX, &idx, &d), ERR_OK);
    assert_int_equal(idx.ndays, 12);
    for (size_t i = 0; i < idx.ndays; i++)
        assert_int_equal(idx.days[i].nparts, 1);
    bar_index_release(&idx);

    /* --strict: the repeat is in the last group but fails the file before the first. */
    struct import_store strict;
    import_store_open(&strict);
    struct csvimport_opts os = {.max_report = 20, .strict = 1, .batch_rows = 7};
    struct csvimport_stats s3 = {0};
    buf_reset(&csv);
    buf_puts(&csv, BARCSV_HEADER);
    for (size_t s = 0; s < 5; s++) {
        int32_t t = day("2024-01-02");
        for (int i = 0; i < 12; i++, t = tu_weekday_from(t + 1)) {
            struct bar b = tu_bar(syms[s], "2024-01-02", 10 + i, 12 + i, 9 + i, 11 + i, 100);
            b.date = t;
            barcsv_write_row(&csv, &b);
        }
    }
    buf_puts(&csv, "CCC,2024-01-17,10,13,9,11,100,,\n");
    tu_write_file(path, csv.data, csv.len);
    assert_int_equal(csvimport_file(strict.bs, path, &os, &s3, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "CCC: 2024-01-17 is repeated at line"));
    assert_int_equal(s3.files_failed, 1);
    int32_t first, last;
    assert_int_equal(barstore_date_range(strict.bs, &first, &last, NULL, &d), ERR_NOTFOUND);
    import_store_close(&strict);

    /* The file changes after its first reading. */
    struct import_store changed;
    import_store_open(&changed);
    buf_puts(&csv, "BAD,2024-01-02,x,1,1,1,1,,\n");
    tu_write_file(path, csv.data, csv.len);
    int calls = 0;
    struct csvimport_opts oc = {
        .max_report = 20, .on_reject = append_on_reject, .ctx = &calls, .batch_rows = 7};
    struct csvimport_stats s4 = {0};
    assert_int_equal(csvimport_file(changed.bs, path, &oc, &s4, &d), ERR_IO);
    assert_non_null(strstr(d.text, "changed while it was imported"));
    assert_int_equal(s4.files_failed, 1);
    import_store_close(&changed);

    import_store_close(&one);
    import_store_close(&grouped);
    buf_release(&csv);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* Rows of five symbols on twelve weekdays from 2024-01-02, symbol after symbol, appended to
 * csv. */
static void five_by_twelve(struct buf *csv)
{
    const char *syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    for (size_t s = 0; s < 5; s++) {
        int32_t t = day("2024-01-02");
        for (int i = 0; i < 12; i++, t = tu_weekday_from(t + 1)) {
            struct bar b = tu_bar(syms[s], "2024-01-02", 10 + i, 12 + i, 9 + i, 11 + i, 100);
            b.date = t;
            barcsv_write_row(csv, &b);
        }
    }
}

/* Standard input ("-"): a descriptor given open is read from where it stands, again from
 * there for each group of a regular file, read once and held when it is a pipe, and left
 * open; split facts too. */
static void test_import_from_a_descriptor(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct buf csv = BUF_INIT(1 << 20);
    buf_puts(&csv, "not,a,header\n"); /* read by someone before: not ours */
    size_t skip = csv.len;
    buf_puts(&csv, BARCSV_HEADER);
    five_by_twelve(&csv);
    char *dir = tu_mkdtemp();
    char path[512];
    write_bars_csv(dir, &csv, path);
    struct diag d = {{0}};

    /* A regular file, in groups of dates. */
    struct import_store reg;
    import_store_open(&reg);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, (off_t)skip, SEEK_SET), (off_t)skip);
    struct csvimport_opts o = {.max_report = 20, .batch_rows = 7};
    struct csvimport_stats s1 = {0};
    assert_int_equal(csvimport_fd(reg.bs, fd, "<stdin>", &o, &s1, &d), ERR_OK);
    assert_int_equal(s1.imported, 60);
    assert_int_equal(s1.bad, 0);
    assert_int_equal(s1.days, 12);
    assert_true(fcntl(fd, F_GETFD) != -1); /* still open */
    close(fd);
    import_store_close(&reg);

    /* A pipe: read once; a bad row is named by the name given. */
    struct import_store piped;
    import_store_open(&piped);
    buf_puts(&csv, "ZZZ,2024-01-02,x,1,1,1,1,,\n");
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_true(csv.len - skip < 65536); /* fits in the pipe's buffer */
    assert_int_equal(write(p[1], csv.data + skip, csv.len - skip), (ssize_t)(csv.len - skip));
    close(p[1]);
    struct csvimport_stats s2 = {0};
    struct import_counts c = {0};
    o.on_reject = count_reject;
    o.ctx = &c;
    assert_int_equal(csvimport_fd(piped.bs, p[0], "<stdin>", &o, &s2, &d), ERR_OK);
    assert_int_equal(s2.imported, 60);
    assert_int_equal(s2.bad, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.lines[0], 62);
    assert_true(fcntl(p[0], F_GETFD) != -1);
    close(p[0]);
    /* Split facts from a pipe. */
    static const char splits[] = "symbol,ex_date,new_rate,old_rate\nAAA,2024-01-10,2,1\n";
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], splits, sizeof splits - 1), (ssize_t)(sizeof splits - 1));
    close(p[1]);
    size_t added = 99;
    assert_int_equal(csvimport_splits_fd(piped.bs, p[0], "<stdin>", &added, NULL, &d), ERR_OK);
    assert_int_equal(added, 1);
    close(p[0]);
    import_store_close(&piped);

    buf_release(&csv);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

struct progress_seen {
    size_t calls, starts, max_rows, groups, last_group, checking;
    uint64_t max_bytes, size;
};

static void seen_progress(void *ctx, const struct csvimport_progress *p)
{
    struct progress_seen *s = ctx;
    s->calls++;
    s->starts += p->bytes == 0;
    if (p->bytes > s->max_bytes)
        s->max_bytes = p->bytes;
    if (p->rows > s->max_rows)
        s->max_rows = p->rows;
    s->size = p->size;
    s->groups = p->groups;
    s->checking += p->checking;
    if (p->groups)
        assert_true(p->group >= 1 && p->group <= p->groups);
    s->last_group = p->group;
}

/* The progress callback: told at the start of each pass and as blocks are read, with the
 * file's size, the rows of the first pass, and the group being read again. */
static void test_import_progress(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct buf csv = BUF_INIT(1 << 20);
    buf_puts(&csv, BARCSV_HEADER);
    five_by_twelve(&csv);
    char *dir = tu_mkdtemp();
    char path[512];
    write_bars_csv(dir, &csv, path);
    struct diag d = {{0}};
    struct progress_seen seen = {0};
    struct import_store st;
    import_store_open(&st);
    struct csvimport_opts o = {
        .max_report = 20, .on_progress = seen_progress, .progress_ctx = &seen};
    struct csvimport_stats s1 = {0};
    assert_int_equal(csvimport_file(st.bs, path, &o, &s1, &d), ERR_OK);
    assert_int_equal(seen.starts, 1); /* one pass */
    assert_int_equal(seen.max_bytes, csv.len);
    assert_int_equal(seen.size, csv.len);
    assert_int_equal(seen.max_rows, 60);
    assert_int_equal(seen.groups, 0);
    import_store_close(&st);

    /* In groups of a day (five rows), with --strict: checked, then stored, 12 groups each. */
    memset(&seen, 0, sizeof seen);
    import_store_open(&st);
    o.batch_rows = 7;
    o.strict = 1;
    struct csvimport_stats s2 = {0};
    assert_int_equal(csvimport_file(st.bs, path, &o, &s2, &d), ERR_OK);
    assert_int_equal(s2.imported, 60);
    assert_int_equal(seen.starts, 1 + 2 * 12);
    assert_int_equal(seen.groups, 12);
    assert_int_equal(seen.last_group, 12);
    assert_true(seen.checking > 0);
    import_store_close(&st);
    buf_release(&csv);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* A file of several read blocks: rows across a block's end are whole, lines are numbered on,
 * and a line longer than a block is read (and judged) whole. */
static void test_import_in_blocks(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    size_t nsyms = 2000, ndays = 60;
    struct buf csv = BUF_INIT((size_t)64 << 20);
    buf_puts(&csv, BARCSV_HEADER);
    size_t line = 1, bad_line = 0, long_line = 0;
    for (size_t s = 0; s < nsyms; s++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%04zu", s);
        int32_t t = day("2024-01-02");
        for (size_t i = 0; i < ndays; i++, t = tu_weekday_from(t + 1)) {
            struct bar b = tu_bar(sym, "2024-01-02", 10.25, 12.5, 9.75, 11.5, 1000 + (double)i);
            b.date = t;
            barcsv_write_row(&csv, &b);
            line++;
        }
        if (s == 1500) {
            buf_puts(&csv, "S1500,2024-01-02,x,1,1,1,1,,\n");
            bad_line = ++line;
        }
        if (s == 1700) {
            buf_puts(&csv, "S1700,2024-01-02,1,1,1,1,");
            for (size_t k = 0; k < CSVIMPORT_BLOCK + 100; k++)
                buf_puts(&csv, "9");
            buf_puts(&csv, ",,\n");
            long_line = ++line;
        }
    }
    assert_true(csv.len > 2 * CSVIMPORT_BLOCK);
    char *dir = tu_mkdtemp();
    char path[512];
    write_bars_csv(dir, &csv, path);
    struct import_store st;
    import_store_open(&st);
    struct import_counts c = {0};
    struct csvimport_opts o = {.max_report = 20, .on_reject = count_reject, .ctx = &c};
    struct csvimport_stats s = {0};
    struct diag d = {{0}};
    assert_int_equal(csvimport_file(st.bs, path, &o, &s, &d), ERR_OK);
    assert_int_equal(s.imported, nsyms * ndays);
    assert_int_equal(s.bad, 2);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.lines[0], bad_line);
    assert_int_equal(c.lines[1], long_line);
    import_store_close(&st);
    buf_release(&csv);
    tu_rmrf(dir);
    free(dir);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

static void test_import_refuses_future_dates(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct import_store store;
    import_store_open(&store);
    char *dir = store.dir;
    struct barstore *bs = store.bs;
    struct diag d = {{0}};
    const char csv[] = "symbol,date,open,high,low,close,volume\n"
                       "AAA,2026-11-20,10,11,9,10,100\n"
                       "AAA,2026-11-21,10,11,9,10,100\n";
    char path[512];
    snprintf(path, sizeof path, "%s", tu_path(dir, "bars.csv"));
    tu_write_file(path, csv, sizeof csv - 1);
    clock_set_source(&late_friday_clock);

    struct import_rejects rj = {0};
    struct csvimport_opts o = {.max_report = 20, .on_reject = on_import_reject, .ctx = &rj};
    struct csvimport_stats st = {0};
    assert_int_equal(csvimport_file(bs, path, &o, &st, &d), ERR_OK);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.bad, 1);
    assert_int_equal(st.files_failed, 0);
    assert_int_equal(rj.n, 1);
    assert_string_equal(rj.symbol, "AAA");
    assert_string_equal(rj.date, "2026-11-21");
    assert_non_null(strstr(rj.reason, "2026-11-21 is in the future (today in New York is "
                                      "2026-11-20)"));
    int32_t first, last;
    assert_int_equal(barstore_date_range(bs, &first, &last, NULL, &d), ERR_OK);
    assert_int_equal(last, day("2026-11-20"));

    /* --strict: the whole file fails, and it is the file's fault, not the store's. */
    struct csvimport_stats st2 = {0};
    o.strict = 1;
    assert_int_equal(csvimport_file(bs, path, &o, &st2, &d), ERR_INVALID);
    assert_int_equal(st2.files_failed, 1);
    assert_int_equal(st2.imported + st2.present, 0);
    /* So is a file that is not there. */
    assert_int_equal(csvimport_file(bs, tu_path(dir, "missing.csv"), &o, &st2, &d), ERR_NOTFOUND);
    assert_int_equal(st2.files_failed, 2);

    clock_set_source(NULL);
    import_store_close(&store);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bars_url),
        cmocka_unit_test(test_parse_bars),
        cmocka_unit_test(test_parse_bars_problems),
        cmocka_unit_test(test_parse_bars_page_errors),
        cmocka_unit_test(test_parse_actions),
        cmocka_unit_test(test_ratelimit_window),
        cmocka_unit_test(test_ratelimit_parse),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_collect_deadline),
        cmocka_unit_test(test_collect_week_of_provisional_bars),
        cmocka_unit_test(test_collect_recent_data_refusal),
        cmocka_unit_test(test_recent_data_refusal_recognised),
        cmocka_unit_test(test_collect_learns_closed_day),
        cmocka_unit_test(test_settle_days),
        cmocka_unit_test(test_import_refuses_future_dates),
        cmocka_unit_test(test_import_rejects_name_symbol_and_date),
        cmocka_unit_test(test_import_refuses_weekend_dates),
        cmocka_unit_test(test_import_in_groups),
        cmocka_unit_test(test_import_from_a_descriptor),
        cmocka_unit_test(test_import_progress),
        cmocka_unit_test(test_import_in_blocks),
    };
    return cmocka_run_group_tests_name("collect", tests, NULL, NULL);
}
