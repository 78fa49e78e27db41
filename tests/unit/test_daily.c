/* Unit tests: the daily job against the Alpaca simulator on 127.0.0.1 - a run with every kind
 * of problem, and every place that reports it agreeing on the numbers. */
#include "testutil.h"

#include "base/clock.h"
#include "base/calendar.h"
#include "base/date.h"
#include "base/emf.h"
#include "base/log.h"
#include "bot/bot.h"
#include "bot/subscribers.h"
#include "bot/update.h"
#include "codec/json.h"
#include "collect/collect_lambda.h"
#include "backtest/backtest_results.h"
#include "daily/daily.h"
#include "report/report.h"
#include "fakes/alpaca_fault.h"
#include "fakes/telegram_fake.h"
#include "net/http.h"
#include "screen/results.h"
#include "screen/screen_run.h"
#include "sim/alpaca_sim.h"
#include "codec/barcsv.h"
#include "store/barstore.h"
#include "store/compact.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSYM 10

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

/* The log's JSON lines at LOG_WARN and up, in memory while a test looks at them. */
struct captured_log {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_log(struct captured_log *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    log_set_stream(c->f);
}

static void release_log(struct captured_log *c)
{
    log_set_stream(NULL);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
    fclose(c->f);
    free(c->text);
}

/* The first line of log that holds needle, parsed (NULL when none). */
static struct jv *log_line(const char *log, const char *needle)
{
    const char *p = strstr(log, needle);
    if (!p)
        return NULL;
    const char *start = p;
    while (start > log && start[-1] != '\n')
        start--;
    const char *end = strchr(p, '\n');
    struct jv *root;
    struct diag d;
    if (jv_parse(start, (size_t)(end ? end - start : (long)strlen(start)), &root, &d))
        fail_msg("log line is not JSON: %s", d.text);
    return root;
}

static int64_t member(const struct jv *root, const char *key)
{
    double v;
    if (jv_num(jv_get(root, key), &v))
        fail_msg("no number '%s'", key);
    return (int64_t)v;
}

/* The names of the symbols of the market so simulates, before it is started: to name one in
 * its options. */
static void market_symbols(const struct alpaca_sim_opts *so, char names[][BAR_SYMBOL_MAX + 1],
                           const char **sym, size_t n)
{
    struct alpaca_sim *probe;
    struct diag d = {{0}};
    assert_int_equal(alpaca_sim_new(so, &probe, &d), ERR_OK);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "%s", alpaca_sim_symbol(probe, i));
        sym[i] = names[i];
    }
    alpaca_sim_free(probe);
}

/* The job's options for the n symbols sym of the world w, collected with the simulator's
 * credentials. */
static void world_daily_opts(const struct tu_world *w, const char *const *sym, size_t n,
                             struct daily_opts *o)
{
    daily_opts_default(o);
    o->symbols = sym;
    o->n = n;
    o->collect.data_url = w->url;
    o->collect.key_id = "SIMKEY";
    o->collect.secret_key = "SIMSECRET";
    o->collect.http = w->http;
}

/* The "N errors" of the bot's /stats. */
static int64_t stats_errors(struct objstore *os)
{
    static const int64_t operator[] = {5};
    struct bot_opts bo = {
        .os = os, .allowed_chats = operator, .nallowed = 1, .now_ms = 1795348800000LL};
    const char *json = "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,"
                       "\"type\":\"private\"},\"date\":1,\"text\":\"/stats\"}}";
    struct tg_update u;
    struct diag d;
    assert_int_equal(tg_update_parse(json, strlen(json), &u, &d), ERR_OK);
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&bo, &u, &r, &d), ERR_OK);
    assert_true(r.texts.n >= 1);
    const char *p = strstr(r.texts.v[0], " errors)");
    if (!p)
        fail_msg("/stats says no errors: %s", r.texts.v[0]);
    while (p > r.texts.v[0] && p[-1] >= '0' && p[-1] <= '9')
        p--;
    int64_t n = strtoll(p, NULL, 10);
    bot_reply_release(&r);
    return n;
}

/* A collection that meets each kind of problem once or more: a failed request (a 500 and no
 * retry), a bad bar, a duplicate bar, a symbol without data, a symbol the API does not know,
 * a bar that conflicts with a stored one and a split that conflicts with a stored one.  The
 * CLI's "Data problems" line, the summary log line, the EMF Errors metric, last_run.json,
 * /stats and the Lambda response must all say the same. */
static void test_every_problem_counted_once(void **state)
{
    (void)state;
    setenv("ENVIRONMENT", "staging", 1);
    struct captured_log log;
    capture_log(&log);
    emf_set_stream(NULL);

    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 11;
    so.nsymbols = NSYM;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 200;
    so.strict_symbols = 1;
    const char *sym[NSYM + 1];
    char names[NSYM][BAR_SYMBOL_MAX + 1];
    market_symbols(&so, names, sym, NSYM);
    sym[NSYM] = "ZZZZZ"; /* unknown to the API */
    struct diag d = {{0}};

    /* One request a batch of two symbols, one after the other: the first fails (500, no
     * retry), the second has a bad bar, the third a duplicate. */
    struct alpaca_fault faults[3];
    assert_int_equal(alpaca_fault_parse("500@1", &faults[0], &d), ERR_OK);
    assert_int_equal(alpaca_fault_parse("wrongtype@2", &faults[1], &d), ERR_OK);
    assert_int_equal(alpaca_fault_parse("duptime@3", &faults[2], &d), ERR_OK);
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.faults = faults;
    fo.nfaults = 3;
    const char *missing[] = {sym[6]};
    fo.missing = missing;
    fo.nmissing = 1;
    struct alpaca_fault_set *fs;
    assert_int_equal(alpaca_fault_set_new(&fo, &fs, &d), ERR_OK);
    so.hooks = alpaca_fault_set_hooks(fs);
    struct split sp = {.ex_date = day("2026-11-02"), .new_rate = 2000000, .old_rate = 1000000};
    snprintf(sp.symbol, sizeof sp.symbol, "%s", sym[8]);
    so.splits = &sp;
    so.nsplits = 1;
    struct tu_world w;
    tu_world_start(&w, &so);
    /* Stored before: a bar the API disagrees with, a split with another ratio. */
    struct bar b = tu_bar(sym[7], "2026-11-03", 1, 2, 0.5, 1.5, 1000);
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(w.bs, &b, 1, NULL, &ws, &d), ERR_OK);
    struct split other = sp;
    other.new_rate = 3000000;
    size_t added;
    assert_int_equal(barstore_write_splits(w.bs, &other, 1, &added, &d), ERR_OK);

    struct daily_opts o;
    world_daily_opts(&w, sym, NSYM + 1, &o);
    o.steps = DAILY_STEP(DAILY_REPORT); /* no account, no push */
    o.collect.now_ms = 1795348800000LL; /* 2026-11-22T12:00Z: the end is 2026-11-20 */
    o.collect.start = day("2026-10-01");
    o.collect.fetch.concurrency = 1;
    o.collect.fetch.max_retries = 0;
    o.collect.max_url = strlen(w.url) + 600 + 10;
    struct daily_report r;
    int err = daily_run(w.os, w.bs, &o, &r, &d);
    fflush(log.f);

    /* The run met every kind, and failed for the request given up. */
    const struct run_counts *c = &r.counts;
    assert_int_not_equal(err, ERR_OK);
    assert_true(c->run_failed);
    assert_true(c->symbols_failed >= 1);
    assert_true(c->bars_bad >= 1);
    assert_true(c->bars_duplicate >= 1);
    assert_true(c->bars_conflict >= 1);
    assert_true(c->splits_conflict >= 1);
    assert_true(c->symbols_no_data >= 1);
    assert_true(c->symbols_unknown >= 1);
    size_t problems = c->bars_bad + c->bars_duplicate + c->bars_conflict + c->splits_conflict +
                      c->symbols_no_data + c->symbols_unknown;
    assert_int_equal(run_counts_problems(c), problems);
    size_t errors = problems + c->symbols_failed + 1;
    assert_int_equal(run_counts_errors(c), errors);

    /* The CLI's "Data problems" line: its parts add up to the total, each kind named. */
    struct buf text = BUF_INIT(1024);
    assert_int_equal(run_counts_problems_text(&text, c), ERR_OK);
    size_t sum = 0;
    for (const char *p = buf_cstr(&text); *p;) {
        char *next;
        sum += strtoul(p, &next, 10);
        const char *comma = strstr(next, ", ");
        p = comma ? comma + 2 : next + strlen(next);
    }
    assert_int_equal(sum, problems);
    assert_non_null(strstr(buf_cstr(&text), "split conflicts"));
    assert_non_null(strstr(buf_cstr(&text), "unknown symbols"));
    buf_release(&text);

    /* The summary log line. */
    struct jv *summary = log_line(log.text, "\"message\":\"collection finished\"");
    assert_non_null(summary);
    assert_int_equal(member(summary, "errors"), errors);
    assert_int_equal(member(summary, "data_problems"), problems);
    assert_int_equal(member(summary, "splits_conflict"), c->splits_conflict);
    jv_free(summary);

    /* The EMF line: Errors, and the Environment dimension in its dimension set. */
    struct jv *emf = log_line(log.text, "\"Namespace\":\"" EMF_NS_PERFORMANCE "\"");
    assert_non_null(emf);
    assert_int_equal(member(emf, "Errors"), errors);
    assert_string_equal(jv_str(jv_get(emf, "Environment"), NULL), "staging");
    const struct jv *set =
        jv_at(jv_get(jv_at(jv_get(jv_get(emf, "_aws"), "CloudWatchMetrics"), 0), "Dimensions"), 0);
    int has_env = 0;
    for (size_t i = 0; i < jv_len(set); i++)
        has_env |= strcmp(jv_str(jv_at(set, i), NULL), "Environment") == 0;
    assert_true(has_env);
    jv_free(emf);

    /* last_run.json, and /stats that reads it. */
    struct results_run run;
    assert_int_equal(results_read_run(w.os, &run, &d), ERR_OK);
    assert_int_equal(run.errors, errors);
    assert_int_equal(run.symbols_failed, c->symbols_failed);
    assert_false(run.complete);
    assert_int_equal(stats_errors(w.os), errors);

    /* The Lambda response. */
    struct buf resp = BUF_INIT(4096);
    assert_int_equal(collect_lambda_summary(&resp, c, d.text), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(resp.data, resp.len, &root, &d), ERR_OK);
    assert_int_equal(member(root, "errors"), errors);
    jv_free(root);
    buf_release(&resp);

    tu_world_stop(&w);
    alpaca_fault_set_free(fs);
    release_log(&log);
    unsetenv("ENVIRONMENT");
}

/* A name change the collector stores is counted, the same number in the summary log line,
 * last_run.json and the Lambda response; a rerun stores it no more. */
static void test_symbol_changes_counted(void **state)
{
    (void)state;
    struct captured_log log;
    capture_log(&log);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    emf_set_stream(devnull);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = 6;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 90;
    const char *sym[6];
    char names[6][BAR_SYMBOL_MAX + 1];
    market_symbols(&so, names, sym, 6);
    struct symchange rename = {.new_symbol = "NEWCO", .date = day("2026-11-10")};
    snprintf(rename.old_symbol, sizeof rename.old_symbol, "%s", sym[2]);
    so.renames = &rename;
    so.nrenames = 1;
    struct tu_world w;
    tu_world_start(&w, &so);
    struct diag d = {{0}};
    struct daily_opts o;
    world_daily_opts(&w, sym, 6, &o);
    o.steps = DAILY_STEP(DAILY_REPORT);
    o.collect.now_ms = 1795348800000LL; /* the end is 2026-11-20 */
    o.collect.start = so.first_day;
    struct daily_report r;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    fflush(log.f);
    assert_int_equal(r.counts.symbol_changes_new, 1);
    assert_int_equal(r.counts.symbol_changes_new, r.stats.symbol_changes_new);
    struct jv *summary = log_line(log.text, "\"message\":\"collection finished\"");
    assert_non_null(summary);
    assert_int_equal(member(summary, "symbol_changes_new"), 1);
    jv_free(summary);
    struct results_run run;
    assert_int_equal(results_read_run(w.os, &run, &d), ERR_OK);
    assert_int_equal(run.symbol_changes_new, 1);
    struct buf resp = BUF_INIT(4096);
    assert_int_equal(collect_lambda_summary(&resp, &r.counts, NULL), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(resp.data, resp.len, &root, &d), ERR_OK);
    assert_int_equal(member(root, "symbol_changes_new"), 1);
    jv_free(root);
    buf_release(&resp);

    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(r.counts.symbol_changes_new, 0);
    assert_int_equal(results_read_run(w.os, &run, &d), ERR_OK);
    assert_int_equal(run.symbol_changes_new, 0);

    tu_world_stop(&w);
    release_log(&log);
    emf_set_stream(NULL);
    fclose(devnull);
}

/* Close to the deadline: the collection starts nothing and ends incomplete, the run record is
 * still written, and the steps with a time budget are skipped, not started. */
static void test_deadline(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    emf_set_stream(devnull);
    unsetenv("SCREENER_PORTFOLIO");
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 3;
    so.nsymbols = 4;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 60;
    struct tu_world w;
    tu_world_start(&w, &so);
    struct diag d = {{0}};

    struct daily_opts o;
    world_daily_opts(&w, w.symbols, 4, &o);
    o.collect.now_ms = 1795348800000LL;
    /* 5 s left: the job's own deadline (10 s before) is already past. */
    o.deadline_ms = clock_wall_ms() + 5000;
    struct daily_report r;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_TIMEOUT);
    assert_int_equal(r.counts.symbols_not_attempted, 4);
    assert_int_equal(r.stats.bar_requests, 0);
    assert_int_equal(r.steps[DAILY_COLLECT], DAILY_STEP_FAILED);
    assert_int_equal(r.steps[DAILY_RESULTS], DAILY_STEP_FAILED);
    assert_int_equal(r.steps[DAILY_REPORT], DAILY_STEP_DONE);
    assert_int_equal(r.steps[DAILY_SNAPSHOT], DAILY_STEP_SKIPPED);
    assert_int_equal(r.steps[DAILY_ALERT], DAILY_STEP_SKIPPED);
    assert_int_equal(r.steps[DAILY_PUSH], DAILY_STEP_SKIPPED);
    assert_int_equal(r.steps[DAILY_BACKTEST], DAILY_STEP_SKIPPED);
    assert_int_equal(r.steps[DAILY_HTML], DAILY_STEP_SKIPPED);
    assert_string_equal(r.report_key, "");
    struct results_run run;
    assert_int_equal(results_read_run(w.os, &run, &d), ERR_OK);
    assert_false(run.complete);
    assert_int_equal(run.errors, run_counts_errors(&r.counts));

    /* Tracking off: the account steps are off, not skipped. */
    setenv("SCREENER_PORTFOLIO", "0", 1);
    o.steps = DAILY_STEP(DAILY_SNAPSHOT) | DAILY_STEP(DAILY_ALERT);
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_TIMEOUT);
    assert_int_equal(r.steps[DAILY_SNAPSHOT], DAILY_STEP_OFF);
    assert_int_equal(r.steps[DAILY_ALERT], DAILY_STEP_OFF);
    assert_int_equal(r.steps[DAILY_REPORT], DAILY_STEP_OFF);
    unsetenv("SCREENER_PORTFOLIO");

    tu_world_stop(&w);
    emf_set_stream(NULL);
    fclose(devnull);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* After a backfill the history has every stored date with candidates, and the backtest is
 * in the results; a second run adds nothing to the history. */
static void test_past_picks_and_backtest(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = 6;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 90;
    struct tu_world w;
    tu_world_start(&w, &so);
    struct diag d = {{0}};
    struct daily_opts o;
    world_daily_opts(&w, w.symbols, 6, &o);
    o.steps = DAILY_STEP(DAILY_BACKTEST);
    o.collect.now_ms = 1795348800000LL;
    o.collect.start = so.first_day;
    struct daily_report r;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    size_t ndays;
    int32_t first, last;
    assert_int_equal(barstore_date_range(w.bs, &first, &last, &ndays, &d), ERR_OK);
    assert_true(ndays > 40);
    struct results_history h;
    assert_int_equal(results_read_top(w.os, &h, &d), ERR_OK);
    size_t dates = 0;
    for (size_t i = 0; i < h.n; i++)
        dates += i == 0 || h.rows[i].date != h.rows[i - 1].date;
    assert_int_equal(dates, ndays - 29); /* every date whose window holds 30 stored dates */
    assert_int_equal(h.rows[h.n - 1].date, last);
    results_history_release(&h);
    assert_int_equal(r.steps[DAILY_BACKTEST], DAILY_STEP_DONE);
    assert_int_equal(r.backtest.trading_days, ndays);
    struct backtest_stored bt;
    assert_int_equal(backtest_stored_read(w.os, &bt, &d), ERR_OK);
    assert_int_equal(bt.sum.end, last);
    assert_true(bt.sum.total_return_pct == r.backtest.total_return_pct);
    /* Again: nothing new, the history as it was. */
    struct buf before = BUF_INIT(1 << 24), after = BUF_INIT(1 << 24);
    assert_int_equal(objstore_get(w.os, RESULTS_TOP_KEY, &before, NULL, &d), ERR_OK);
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(objstore_get(w.os, RESULTS_TOP_KEY, &after, NULL, &d), ERR_OK);
    assert_true(before.len == after.len && memcmp(before.data, after.data, before.len) == 0);
    buf_release(&before);
    buf_release(&after);
    /* A store that cannot be opened again for the backtest's thread (here: its location
     * hidden): the backtest runs at its place, on the job's handle, the same. */
    char location[OBJ_LOCATION_MAX];
    memcpy(location, w.os->location, sizeof location);
    w.os->location[0] = '\0';
    struct captured_log cl;
    capture_log(&cl);
    double total = r.backtest.total_return_pct;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    fflush(cl.f);
    assert_non_null(strstr(cl.text, "backtest: not started alongside the results"));
    release_log(&cl);
    memcpy(w.os->location, location, sizeof location);
    assert_int_equal(r.steps[DAILY_BACKTEST], DAILY_STEP_DONE);
    assert_true(r.backtest.total_return_pct == total);
    tu_world_stop(&w);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* A run writes the day's report page and latest.html, both naming the screened day; a run
 * without the step writes none. */
static void test_report_page(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    emf_set_stream(devnull);
    unsetenv("SCREENER_PORTFOLIO");
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = 6;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 90;
    struct tu_world w;
    tu_world_start(&w, &so);
    struct diag d = {{0}};

    struct daily_opts o;
    world_daily_opts(&w, w.symbols, 6, &o);
    o.steps = DAILY_STEPS_ALWAYS;       /* first without the page */
    o.collect.now_ms = 1795348800000LL; /* the end is 2026-11-20 */
    o.collect.start = so.first_day;
    struct daily_report r;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(r.steps[DAILY_HTML], DAILY_STEP_OFF);
    struct buf page = BUF_INIT(REPORT_MAX);
    assert_int_equal(objstore_get(w.os, REPORT_LATEST_KEY, &page, NULL, &d), ERR_NOTFOUND);

    o.steps = DAILY_STEP(DAILY_HTML);
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(r.steps[DAILY_HTML], DAILY_STEP_DONE);
    assert_int_equal(r.screen_date, day("2026-11-20"));
    assert_string_equal(r.report_key, "results/report/2026-11-20.html");
    const char *keys[] = {"results/report/2026-11-20.html", REPORT_LATEST_KEY};
    for (int i = 0; i < 2; i++) {
        buf_reset(&page);
        assert_int_equal(objstore_get(w.os, keys[i], &page, NULL, &d), ERR_OK);
        assert_non_null(strstr(buf_cstr(&page), "<html"));
        assert_non_null(strstr(buf_cstr(&page), "2026-11-20"));
        assert_non_null(strstr(buf_cstr(&page), w.symbols[0]));
    }
    buf_release(&page);

    tu_world_stop(&w);
    emf_set_stream(NULL);
    fclose(devnull);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* Without $ENVIRONMENT, metric lines say "dev". */
static void test_environment_default(void **state)
{
    (void)state;
    unsetenv("ENVIRONMENT");
    assert_string_equal(emf_environment(), "dev");
    setenv("ENVIRONMENT", "", 1);
    assert_string_equal(emf_environment(), "dev");
    setenv("ENVIRONMENT", "prod", 1);
    assert_string_equal(emf_environment(), "prod");
    unsetenv("ENVIRONMENT");
}

/* The step table: names, and steps not asked for are off. */
static void test_steps(void **state)
{
    (void)state;
    assert_string_equal(daily_step_name(DAILY_COLLECT), "collect");
    assert_string_equal(daily_step_name(DAILY_PUSH), "push");
    assert_string_equal(daily_step_state_name(DAILY_STEP_SKIPPED), "skipped");
    struct daily_opts o;
    daily_opts_default(&o);
    assert_int_equal(o.steps, DAILY_STEPS_DEFAULT);
    assert_true(o.steps & DAILY_STEP(DAILY_BACKTEST)); /* refreshed after every collection */
    assert_string_equal(daily_step_name(DAILY_BACKTEST), "backtest");
    assert_string_equal(daily_step_name(DAILY_ALERTS), "alerts");
    assert_true(o.steps & DAILY_STEP(DAILY_ALERTS));
    assert_string_equal(daily_step_name(DAILY_HTML), "html");
    assert_true(o.steps & DAILY_STEP(DAILY_HTML));
}

/* The simulator's and the job's clock, set by the test. */
static int64_t late_now_ms;

static int64_t late_wall_ms(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&late_now_ms, __ATOMIC_SEQ_CST);
}

static int64_t late_mono_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void late_sleep_ms(void *ctx, int64_t ms)
{
    (void)ctx;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const struct clock_source late_clock = {late_wall_ms, late_mono_us, late_sleep_ms, NULL};

struct same_ctx {
    struct objstore *os;
    size_t dates;
};

static int same_as_written(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct same_ctx *c = ctx;
    struct results_screen got = {0};
    struct diag d;
    assert_int_equal(results_read_screen(c->os, date, &got, &d), ERR_OK);
    assert_int_equal(got.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got.rows[i].symbol, rows[i].symbol);
        assert_true(fabs(got.rows[i].drawdown_pct - rows[i].drawdown_pct) < 1e-3);
        assert_true(fabs(got.rows[i].close - rows[i].close) < 1e-6);
    }
    results_screen_release(&got);
    c->dates++;
    return 0;
}

/* A split published two days after its ex-date: the daily job that stores it rewrites the
 * results it wrote on the days in between, which showed a crash. */
static void test_late_split_rewrites_results(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 11;
    so.nsymbols = NSYM;
    so.last_day = day("2026-11-20");
    so.first_day = so.last_day - 200;
    const char *sym[NSYM];
    char names[NSYM][BAR_SYMBOL_MAX + 1];
    market_symbols(&so, names, sym, NSYM);
    struct diag d = {{0}};
    struct split sp = {.ex_date = day("2026-11-18"), .new_rate = 4000000, .old_rate = 1000000};
    snprintf(sp.symbol, sizeof sp.symbol, "%s", sym[3]);
    so.splits = &sp;
    so.nsplits = 1;
    so.actions_delay = 2;
    clock_set_source(&late_clock);
    struct tu_world w;
    tu_world_start(&w, &so);

    /* Every evening after the settle time, from the Monday before to the Friday. */
    for (int32_t today = day("2026-11-16"); today <= day("2026-11-20"); today++) {
        __atomic_store_n(&late_now_ms, cal_ny_to_utc_ms(today, 20 * 60 + 30), __ATOMIC_SEQ_CST);
        struct daily_opts o;
        world_daily_opts(&w, sym, NSYM, &o);
        o.steps = DAILY_STEP(DAILY_REPORT);
        o.collect.history_days = 120;
        struct daily_report r;
        assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
        assert_int_equal(r.screen_date, today);
        /* Not yet published on its ex-date and the day after; found on Friday. */
        if (today == day("2026-11-20"))
            assert_true(r.counts.splits_new >= 1);
        else if (today >= day("2026-11-18"))
            assert_int_equal(r.counts.splits_new, 0);
    }
    /* The written screens of Wednesday to Friday are those of the data as it is now, split
     * applied. */
    struct screen_opts sc;
    screen_opts_default(&sc);
    sc.by = SCREEN_BY_DRAWDOWN;
    sc.top = 0;
    struct same_ctx c = {w.os, 0};
    struct screen_run_stats rs;
    assert_int_equal(
        screen_run(w.bs, &sc, day("2026-11-18"), day("2026-11-20"), same_as_written, &c, &rs, &d),
        ERR_OK);
    assert_int_equal(c.dates, 3);
    clock_set_source(NULL);
    tu_world_stop(&w);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

/* sendMessage calls to chat answered 200 whose text has part (NULL: any). */
static size_t messages_to(struct tg_fake *f, int64_t chat, const char *part)
{
    struct buf b = BUF_INIT((size_t)1 << 24);
    assert_int_equal(tg_fake_calls_json(f, &b), 0);
    char want[2][64];
    snprintf(want[0], sizeof want[0], "\"chat_id\":\"%lld\"", (long long)chat);
    snprintf(want[1], sizeof want[1], "\"chat_id\":%lld", (long long)chat);
    size_t n = 0;
    for (const char *p = b.data; (p = strstr(p, "\"method\":\"sendMessage\"")) != NULL; p++) {
        const char *end = strstr(p + 1, "\"method\":");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *rec = strndup(p, len);
        if ((strstr(rec, want[0]) || strstr(rec, want[1])) && (!part || strstr(rec, part)) &&
            strstr(rec, "\"status\":200"))
            n++;
        free(rec);
    }
    buf_release(&b);
    return n;
}

struct evening_run {
    const struct tu_world *w;
    const char *const *sym;
    const char *secret;
};

static int evening_daily(const struct evening_run *e, int32_t date, int minute,
                         struct daily_report *r, struct diag *d)
{
    __atomic_store_n(&late_now_ms, cal_ny_to_utc_ms(date, minute), __ATOMIC_SEQ_CST);
    struct daily_opts o;
    world_daily_opts(e->w, e->sym, NSYM, &o);
    o.steps = DAILY_STEP(DAILY_PUSH) | DAILY_STEP(DAILY_ALERTS) | DAILY_STEP(DAILY_HTML);
    o.collect.secret_key = e->secret;
    o.collect.history_days = 120;
    o.collect.fetch.max_retries = 0;
    return daily_run(e->w->os, e->w->bs, &o, r, d);
}

/* The day's HTML report has the provisional badge. */
static int report_provisional(struct objstore *os, int32_t date)
{
    char key[64], day_s[DATE_STRLEN + 1];
    date_format(date, day_s);
    snprintf(key, sizeof key, "results/report/%s.html", day_s);
    struct buf b = BUF_INIT((size_t)16 << 20);
    struct diag d;
    assert_int_equal(objstore_get(os, key, &b, NULL, &d), ERR_OK);
    int prov = strstr(buf_cstr(&b), "id=\"provisional\"") != NULL;
    buf_release(&b);
    return prov;
}

/* The run record says the results of date are provisional. */
static int results_provisional(struct objstore *os, int32_t date)
{
    struct results_run run;
    struct diag d;
    assert_int_equal(results_read_run(os, &run, &d), ERR_OK);
    return results_run_provisional(&run, date);
}

/* The day's numbers are final the same evening: the 16:30 run stores the day's bars as
 * provisional (the simulator's bars change until 20:00), pushes the day's list once and says
 * it is provisional; an evening run that fails leaves the results provisional; the 20:30 run,
 * the evening run by the clock, records the final bars, rewrites the day's results from them
 * and says they are final, and pushes nothing again. */
static void test_evening_run_makes_the_day_final(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    unsetenv("SCREENER_SETTLE_DAYS");
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 5;
    so.nsymbols = NSYM;
    so.last_day = day("2026-11-23");
    so.first_day = so.last_day - 200;
    assert_true(so.settling); /* the default: bars change until 20:00 of their day */
    const char *sym[NSYM];
    char names[NSYM][BAR_SYMBOL_MAX + 1];
    market_symbols(&so, names, sym, NSYM);
    struct diag d = {{0}};
    clock_set_source(&late_clock);
    struct tu_world w;
    tu_world_start(&w, &so);
    struct tg_fake_opts fo = {.token = "123456:evening-test-token"};
    struct tg_fake *tg;
    int tgport;
    assert_int_equal(tg_fake_start(&fo, &tg, &tgport, &d), ERR_OK);
    char tgurl[64];
    snprintf(tgurl, sizeof tgurl, "http://127.0.0.1:%d", tgport);
    setenv("TELEGRAM_BOT_TOKEN", fo.token, 1);
    setenv("TELEGRAM_API_URL", tgurl, 1);
    setenv("SCREENER_SSM", "0", 1);
    setenv("SCREENER_PORTFOLIO", "0", 1);
    struct evening_run e = {.w = &w, .sym = sym, .secret = "SIMSECRET"};
    int32_t fri = day("2026-11-20"), thu = day("2026-11-19");
    int changed;
    assert_int_equal(subscribers_update(w.os, 42, 1, thu, &changed, &d), ERR_OK);

    /* Thursday evening: the history, final. */
    struct daily_report r;
    assert_int_equal(evening_daily(&e, thu, 20 * 60 + 30, &r, &d), ERR_OK);
    assert_true(r.evening);
    assert_int_equal(r.screen_date, thu);
    assert_int_equal(messages_to(tg, 42, NULL), 1);

    /* Friday 16:30: the close run. */
    assert_int_equal(evening_daily(&e, fri, 16 * 60 + 30, &r, &d), ERR_OK);
    assert_false(r.evening);
    assert_int_equal(r.screen_date, fri);
    assert_int_equal(r.counts.bars_provisional, NSYM);
    assert_int_equal(r.counts.final_day, thu);
    assert_true(results_provisional(w.os, fri));
    assert_true(report_provisional(w.os, fri));
    int32_t prov;
    assert_int_equal(barstore_first_provisional(w.bs, fri, 10, &prov, &d), ERR_OK);
    assert_int_equal(prov, fri);
    assert_int_equal(messages_to(tg, 42, NULL), 2);
    assert_int_equal(messages_to(tg, 42, "provisional"), 1);

    /* 20:30, but Alpaca refuses the run: nothing was fetched again, so nothing is final. */
    e.secret = "WRONG";
    assert_int_equal(evening_daily(&e, fri, 20 * 60 + 30, &r, &d), ERR_AUTH);
    assert_true(r.evening);
    assert_true(results_provisional(w.os, fri));
    assert_true(report_provisional(w.os, fri));
    assert_int_equal(r.counts.final_day, thu);

    /* 20:30: the evening run. */
    e.secret = "SIMSECRET";
    assert_int_equal(evening_daily(&e, fri, 20 * 60 + 30, &r, &d), ERR_OK);
    assert_true(r.evening);
    assert_int_equal(r.screen_date, fri);
    assert_true(r.counts.bars_revised > 0); /* volume at least grew after 16:30 */
    assert_int_equal(r.counts.bars_revised + r.counts.bars_finalized, NSYM);
    assert_int_equal(r.counts.bars_provisional, 0);
    assert_int_equal(r.counts.final_day, fri);
    assert_false(results_provisional(w.os, fri));
    assert_false(report_provisional(w.os, fri));
    assert_int_equal(barstore_first_provisional(w.bs, fri, 10, &prov, &d), ERR_OK);
    assert_int_equal(prov, INT32_MAX);
    /* The stored bars are the final ones, and the day's results a screen of them. */
    struct bar_index idx;
    assert_int_equal(barstore_index(w.bs, fri, fri, &idx, &d), ERR_OK);
    assert_int_equal(idx.ndays, 1);
    struct barvec bars;
    barvec_init(&bars);
    assert_int_equal(barstore_read_day(w.bs, &idx, 0, &bars, &d), ERR_OK);
    assert_int_equal(bars.n, NSYM);
    for (size_t i = 0; i < bars.n; i++)
        assert_false(bars.v[i].provisional);
    barvec_release(&bars);
    bar_index_release(&idx);
    struct screen_opts sc;
    screen_opts_default(&sc);
    sc.by = SCREEN_BY_DRAWDOWN;
    sc.top = 0;
    struct same_ctx c = {w.os, 0};
    struct screen_run_stats rs;
    assert_int_equal(screen_run(w.bs, &sc, fri, fri, same_as_written, &c, &rs, &d), ERR_OK);
    assert_int_equal(c.dates, 1);
    /* One push of Friday's list, the close run's. */
    assert_int_equal(messages_to(tg, 42, NULL), 2);

    /* A day whose close run failed: its evening run sends its list, final, once. */
    int32_t mon = day("2026-11-23");
    e.secret = "WRONG";
    assert_int_equal(evening_daily(&e, mon, 16 * 60 + 30, &r, &d), ERR_AUTH);
    assert_int_equal(messages_to(tg, 42, NULL), 2);
    e.secret = "SIMSECRET";
    assert_int_equal(evening_daily(&e, mon, 20 * 60 + 30, &r, &d), ERR_OK);
    assert_int_equal(r.screen_date, mon);
    assert_int_equal(messages_to(tg, 42, NULL), 3);
    assert_int_equal(messages_to(tg, 42, "2026-11-23"), 1);
    assert_int_equal(messages_to(tg, 42, "provisional"), 1);
    assert_int_equal(evening_daily(&e, mon, 21 * 60, &r, &d), ERR_OK);
    assert_int_equal(messages_to(tg, 42, NULL), 3);

    unsetenv("TELEGRAM_BOT_TOKEN");
    unsetenv("TELEGRAM_API_URL");
    unsetenv("SCREENER_SSM");
    unsetenv("SCREENER_PORTFOLIO");
    clock_set_source(NULL);
    tg_fake_stop(tg);
    tu_world_stop(&w);
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
}

static int text_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct buf *b = ctx;
    int err = buf_printf(b, "%d %zu\n", (int)date, n);
    for (size_t i = 0; !err && i < n; i++)
        err = barcsv_write_row(b, &bars[i]);
    return err;
}

static char *store_text(struct barstore *bs)
{
    struct buf b = BUF_INIT((size_t)64 << 20);
    struct diag d;
    assert_int_equal(barstore_scan(bs, INT32_MIN, INT32_MAX, text_day, &b, &d), ERR_OK);
    char *s = strdup(b.data);
    buf_release(&b);
    return s;
}

static size_t compacted_parts(struct objstore *os)
{
    struct strvec k = STRVEC_INIT;
    struct diag d;
    assert_int_equal(objstore_list(os, "bars/", &k, &d), ERR_OK);
    size_t n = 0;
    for (size_t i = 0; i < k.n; i++)
        n += barstore_key_compacted(k.v[i], NULL, NULL);
    strvec_release(&k);
    return n;
}

/* The compact step: at most DAILY_COMPACT_MONTHS closed months a run, the rest the next run,
 * none with the deadline too near; the store reads the same throughout. */
static void test_compact_step(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.nsymbols = 6;
    so.last_day = day("2026-11-20");
    so.first_day = day("2024-09-03");
    struct tu_world w;
    tu_world_start(&w, &so);
    struct diag d = {{0}};
    late_now_ms = cal_ny_to_utc_ms(day("2026-11-23"), 21 * 60);
    clock_set_source(&late_clock);
    struct daily_opts o;
    world_daily_opts(&w, w.symbols, 6, &o);
    o.steps = 0;
    o.collect.now_ms = late_now_ms;
    o.collect.start = so.first_day;
    struct daily_report r;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(r.steps[DAILY_COMPACT], DAILY_STEP_OFF);
    char *want = store_text(w.bs);
    assert_int_equal(compacted_parts(w.os), 0);
    o.collect.start = INT32_MIN;
    o.steps = DAILY_STEP(DAILY_COMPACT);
    /* Too near the deadline: not started. */
    o.deadline_ms = late_now_ms + DAILY_DEADLINE_MARGIN_MS + COMPACT_MONTH_MIN_MS / 2;
    daily_run(w.os, w.bs, &o, &r, &d);
    assert_int_equal(r.steps[DAILY_COMPACT], DAILY_STEP_SKIPPED);
    assert_int_equal(compacted_parts(w.os), 0);
    /* September 2024 to October 2026 are closed (the window starts in November): 26 months,
     * 24 this run, 2 the next. */
    o.deadline_ms = 0;
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(r.steps[DAILY_COMPACT], DAILY_STEP_DONE);
    assert_int_equal(compacted_parts(w.os), DAILY_COMPACT_MONTHS);
    char *mid = store_text(w.bs);
    assert_string_equal(mid, want);
    assert_int_equal(daily_run(w.os, w.bs, &o, &r, &d), ERR_OK);
    assert_int_equal(compacted_parts(w.os), 26);
    char *got = store_text(w.bs);
    assert_string_equal(got, want);
    clock_set_source(NULL);
    free(want);
    free(mid);
    free(got);
    tu_world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_problem_counted_once),
        cmocka_unit_test(test_symbol_changes_counted),
        cmocka_unit_test(test_past_picks_and_backtest),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_report_page),
        cmocka_unit_test(test_environment_default),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_late_split_rewrites_results),
        cmocka_unit_test(test_evening_run_makes_the_day_final),
        cmocka_unit_test(test_compact_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
