/* daily.c - the daily job: the step table and its steps (see daily.h). */
#include "daily/daily.h"
#include "backtest/backtest_results.h"
#include "account/account.h"
#include "account/stored.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/emf.h"
#include "base/log.h"
#include "bot/format.h"
#include "bot/reply_account.h"
#include "bot/telegram.h"
#include "daily/notify.h"
#include "daily/report_page.h"
#include "screen/results.h"
#include "store/compact.h"
#include "store/symlog.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* The largest object read ahead (a bigger one is read when asked for, to say so). */
#define DAILY_READ_AHEAD_MAX ((size_t)128 << 20)

/* What the run writes and reads back later (its new day's part, screen, closes, history, run
 * record, backtest files, the report's pages: about 1 MB for 1,000 symbols) is kept for those
 * reads, each object up to this size (not bars-1y.csv) and the newest this much in all (a run
 * that writes more, a backfill, keeps its last writes). */
#define DAILY_KEEP_WRITTEN_MAX   ((size_t)4 << 20)
#define DAILY_KEEP_WRITTEN_TOTAL ((size_t)8 << 20)

/* On its own handle, the backtest's scan of the whole store is read in one round with the split
 * log and its summary.json when it is at most this many parts (a year of compacted months and
 * the days since, some 30 objects: what the scan would hold at once anyway); a longer history
 * is read by the scan. */
#define DAILY_BACKTEST_AHEAD_MAX 40

/* With less than this left before the job's deadline, the account gets one short try. */
#define ACCOUNT_TIGHT_MS 35000

/* A step that runs on a thread of its own from the end of the collection (the backtest), with
 * a handle of its own on the store, so that its reads and its work overlap those of the steps
 * before it in the table; its place in the table is where the job waits for it. */
struct early {
    struct objstore *os; /* its own handle on the job's store */
    struct barstore *bs;
    int64_t deadline_ms;
    pthread_t th;
    int own;         /* os and bs are its own (not the job's) */
    int running;     /* started, not joined yet */
    int err;         /* the backtest's, when it ran */
    struct diag d;   /* with err */
    int64_t took_us; /* how long it ran */
    enum backtest_refresh_outcome outcome;
    struct backtest_stored stored;
};

struct job {
    struct objstore *os;
    struct barstore *bs;
    const struct daily_opts *o;
    struct daily_report *r;
    int64_t deadline_ms; /* the job's (0: none) */
    unsigned want;       /* the steps to run (DAILY_STEP) */
    int err;             /* the job's outcome so far */
    struct diag *d;
    /* The newest day's full ranking by drawdown, kept for the results. */
    struct screen_row *rows;
    size_t nrows;
    /* The account, read by the snapshot step for the alert step. */
    struct account acct;
    struct account_view view;
    int have_view;
    int snapshot_failed;
    enum portfolio_write written;
    enum portfolio_alert alert;
    int tracking;          /* account_tracking_enabled() */
    struct early backtest; /* the backtest step, when started on its thread */
    int64_t step_us;       /* set by a step that ran on a thread: how long it took there */
};

/* ---- collect ---- */

static int step_collect(struct job *j)
{
    struct collect_opts co = j->o->collect;
    co.deadline_ms = j->deadline_ms;
    /* Alongside the fetch, the collector reads what the results read next: the window of the
     * newest day's screen and the days of the exports (the new day's part is kept from its
     * write). */
    struct screen_opts so;
    screen_opts_default(&so);
    co.read_ahead_days[0] = so.window_days;
    co.read_ahead_days[1] = RESULTS_BARS_DAYS;
    j->err = collect_run(j->bs, j->o->symbols, j->o->n, &co, &j->r->stats, j->d);
    return j->err;
}

/* ---- results ---- */

/* The worst one-day change among the ranked rows: what a screen by change with top 1 gives
 * (the same eligible symbols, those with an earlier bar; ties by symbol). */
static void find_worst(struct job *j)
{
    struct daily_report *r = j->r;
    r->worst_date = r->screen_date;
    for (size_t i = 0; i < j->nrows; i++) {
        const struct screen_row *row = &j->rows[i];
        if (isnan(row->change_pct))
            continue;
        if (isnan(r->worst_change_pct) || row->change_pct < r->worst_change_pct ||
            (row->change_pct == r->worst_change_pct && strcmp(row->symbol, r->worst_symbol) < 0)) {
            r->worst_change_pct = row->change_pct;
            memcpy(r->worst_symbol, row->symbol, sizeof r->worst_symbol);
        }
    }
}

/* The last day whose results are final: the collector's (the last day settled at the run's
 * clock), but not past a stored bar that is still provisional (a failed or incomplete run did
 * not fetch it again), so that the results and the bot never call final what is not. */
static int32_t final_day_stored(struct job *j, int32_t final_day)
{
    int32_t prov;
    struct diag pd = {{0}};
    if (!final_day || !j->r->screen_date)
        return final_day;
    int err = barstore_first_provisional(j->bs, j->r->screen_date, j->o->collect.scan_back_days,
                                         &prov, &pd);
    if (err) { /* unknown: nothing after the last day the run found final is called final */
        log_warn("provisional bars could not be looked for", LF_STR("error", pd.text));
        return final_day;
    }
    return prov <= final_day ? prov - 1 : final_day;
}

/* The run record, written whatever happened: a failed run is worth knowing about most. */
static int write_run(struct job *j, struct diag *rd)
{
    const struct run_counts *c = &j->r->counts;
    struct results_run rec = {
        .finished_ms = clock_wall_ms(),
        .date = j->r->screen_date,
        .end = c->end,
        .complete = !c->run_failed,
        .symbols = c->symbols,
        .symbols_fetched = c->symbols_fetched,
        .symbols_failed = c->symbols_failed,
        .bars_new = c->bars_new,
        .requests = c->requests,
        .retries = c->retries,
        .errors = run_counts_errors(c),
        .duration_ms = c->duration_ms,
        .final_day = c->final_day,
        .bars_revised = c->bars_revised,
        .symbol_changes_new = c->symbol_changes_new,
    };
    if (c->run_failed) { /* a longer message is cut, with "..." as diag does */
        const char *text = j->d->text[0] ? j->d->text : err_str(j->err);
        size_t n = strlen(text);
        if (n < sizeof rec.error) {
            memcpy(rec.error, text, n + 1);
        } else {
            memcpy(rec.error, text, sizeof rec.error - 4);
            memcpy(rec.error + sizeof rec.error - 4, "...", 4);
        }
    }
    struct buf b = BUF_INIT(0);
    int werr = results_run_json(&rec, &b, rd);
    if (!werr) {
        struct objstore_req put = {.op = OBJ_REQ_PUT,
                                   .key = RESULTS_RUN_KEY,
                                   .data = buf_cstr(&b),
                                   .len = b.len,
                                   .mode = OBJ_PUT_ALWAYS};
        objstore_batch(j->os, &put, 1, NULL);
        if ((werr = put.err))
            *rd = put.d;
    }
    buf_release(&b);
    if (werr)
        log_warn("results not written", LF_STR("results", "last run"), LF_STR("error", rd->text));
    return werr;
}

/* Put into the history of top candidates every stored date it lacks (results_fill_top),
 * within the job's deadline. */
static int fill_history(struct job *j, struct diag *d)
{
    struct results_fill_stats fs;
    struct diag fd = {{0}};
    int err = results_fill_top(j->os, j->bs, RESULTS_TOP_DEFAULT, j->deadline_ms, &fs, &fd);
    if (err) {
        log_warn("results not written", LF_STR("results", "top candidates, past dates"),
                 LF_STR("error", fd.text));
        return diag_set(d, err, "results (top candidates, past dates) not written: %s", fd.text);
    }
    if (fs.dates_added || !fs.complete)
        log_info("top-candidate history filled", LF_INT("dates_added", fs.dates_added),
                 LF_INT("dates_missing", fs.dates_missing), LF_INT("dates_stored", fs.dates_stored),
                 LF_INT("passes", fs.passes), LF_INT("days_read", fs.days_read),
                 LF_BOOL("complete", fs.complete));
    return ERR_OK;
}

/* Screen the newest day once, in full by drawdown: the results are its rows, and its worst
 * one-day drop is the business metric.  A failure to write results fails the job only when
 * the collection itself went well: a collection error comes first. */
static int step_results(struct job *j)
{
    struct daily_report *r = j->r;
    int rerr = ERR_OK;
    struct diag rd = {{0}};
    if (r->stats.bars_new || !j->err) {
        /* The newest day screened and its results written (screen/results.h), its rows kept
         * for the worst one-day change. */
        struct results_newest nw;
        rerr = results_write_newest(j->os, j->bs, &nw, &rd);
        r->screen_date = nw.date;
        j->rows = nw.rows;
        j->nrows = nw.n;
        if (nw.date)
            find_worst(j);
        struct screen_opts so;
        screen_opts_default(&so);
        so.by = SCREEN_BY_DRAWDOWN;
        so.top = 0;
        /* Revisions and late splits change the bars of dates already screened: their results
         * are computed again (docs/definitions.md#when-a-bar-is-final). */
        size_t redone = 0;
        if (nw.date && !rerr && r->stats.changed_from < r->screen_date)
            rerr = results_rewrite(j->os, j->bs, &so, r->stats.changed_from, r->screen_date - 1,
                                   RESULTS_TOP_DEFAULT, &redone, &rd);
        if (redone)
            log_info("results recomputed: the stored bars of their dates changed",
                     LF_INT("dates", redone));
        if (rerr && !rd.text[0])
            diag_set(&rd, rerr, "%s", err_str(rerr));
        if (nw.date && !rerr) { /* past picks from day one: every stored date the history lacks */
            /* What the history fill reads first (in a daily run in memory already, as the
             * results wrote it); this drops the parts the screen and the exports did not
             * read. */
            static const char *const reads[] = {RESULTS_TOP_KEY};
            objstore_prefetch(j->os, reads, 1, DAILY_READ_AHEAD_MAX);
            rerr = fill_history(j, &rd);
        }
    }
    if (!r->screen_date) {
        int32_t first;
        struct diag ignored;
        if (barstore_date_range(j->bs, &first, &r->screen_date, NULL, &ignored))
            r->screen_date = 0;
    }
    if (!j->err && rerr) {
        j->err = rerr;
        diag_set(j->d, rerr, "%s", rd.text);
    }
    int32_t final_day = final_day_stored(j, r->stats.final_day);
    run_counts_from_stats(&r->counts, &r->stats, j->err);
    r->counts.final_day = final_day;
    struct diag wd;
    int werr = write_run(j, &wd);
    if (!j->err && werr) {
        j->err = diag_set(j->d, werr, "results (last run) not written: %s", wd.text);
        run_counts_from_stats(&r->counts, &r->stats, j->err);
        r->counts.final_day = final_day;
    }
    return j->err ? j->err : rerr;
}

/* ---- report: the summary line and the metrics ---- */

static int step_report(struct job *j)
{
    const struct daily_report *r = j->r;
    const struct collect_stats *st = &r->stats;
    const struct run_counts *c = &r->counts;
    char end[DATE_STRLEN + 1] = "", day[DATE_STRLEN + 1] = "";
    if (c->end != INT32_MIN && c->end != 0)
        date_format(c->end, end);
    int worst = !isnan(r->worst_change_pct);
    if (worst)
        date_format(r->worst_date, day);
    log_summary(
        "collection finished", LF_BOOL("ok", !c->run_failed),
        LF_STR("run", r->evening ? "evening" : "close"),
        LF_STR("error", c->run_failed ? j->d->text : ""), LF_STR("end", end),
        LF_INT("symbols", c->symbols), LF_INT("symbols_up_to_date", c->symbols_current),
        LF_INT("symbols_fetched", c->symbols_planned),
        LF_INT("symbols_no_data", c->symbols_no_data),
        LF_INT("symbols_unknown", c->symbols_unknown),
        LF_INT("closed_days_learned", c->closed_days_learned),
        LF_INT("recent_data_refusals", c->recent_data_refusals),
        LF_INT("symbols_failed", c->symbols_failed), LF_INT("bars_received", c->bars_received),
        LF_INT("bars_new", c->bars_new), LF_INT("bars_already_stored", c->bars_same),
        LF_INT("bars_bad", c->bars_bad), LF_INT("bars_duplicate", c->bars_duplicate),
        LF_INT("bars_conflict", c->bars_conflict), LF_INT("bars_revised", c->bars_revised),
        LF_INT("bars_finalized", c->bars_finalized),
        LF_INT("bars_provisional", c->bars_provisional), LF_INT("splits_new", c->splits_new),
        LF_INT("splits_conflict", c->splits_conflict),
        LF_INT("symbol_changes_new", c->symbol_changes_new),
        LF_INT("data_problems", run_counts_problems(c)), LF_INT("errors", run_counts_errors(c)),
        LF_INT("requests", c->requests), LF_INT("bar_requests", st->bar_requests),
        LF_INT("action_requests", st->action_requests), LF_INT("request_floor", st->request_floor),
        LF_INT("retries", c->retries), LF_INT("rate_limited", c->rate_limited),
        LF_INT("server_errors", st->fetch.server_errors), LF_INT("timeouts", st->fetch.timeouts),
        LF_INT("network_errors", st->fetch.network_errors), LF_INT("duration_ms", c->duration_ms),
        LF_DBL("worst_daily_change_pct", worst ? r->worst_change_pct : 0),
        LF_STR("worst_daily_symbol", r->worst_symbol), LF_STR("screen_date", day),
        LF_INT("symbols_not_attempted", c->symbols_not_attempted));

    double secs = (double)c->duration_ms / 1000.0;
    struct emf_metric perf[] = {
        {"StocksPerSecond", "Count/Second", secs > 0 ? (double)c->symbols_fetched / secs : 0},
        {"Requests", "Count", (double)c->requests},
        {"Retries", "Count", (double)c->retries},
        {"RateLimited", "Count", (double)c->rate_limited},
        {"Errors", "Count", (double)run_counts_errors(c)},
        {"BarsCollected", "Count", (double)c->bars_new},
        {"CollectDuration", "Milliseconds", (double)c->duration_ms},
    };
    struct emf_dim dims[] = {{"Function", "collector"}}; /* and Environment (base/emf.h) */
    emf_emit(EMF_NS_PERFORMANCE, dims, 1, perf, sizeof perf / sizeof perf[0]);
    if (worst) {
        struct emf_metric biz[] = {{"WorstDailyDrawdown", "Percent", r->worst_change_pct}};
        emf_emit_business(biz, 1);
    }
    return ERR_OK;
}

/* ---- snapshot: the account's positions as the day's portfolio snapshot ---- */

static int step_snapshot(struct job *j)
{
    const struct collect_opts *co = &j->o->collect;
    struct diag d = {{0}};
    int err = account_init_keys(&j->acct, co->http, co->key_id, co->secret_key, &d);
    if (err) {
        log_error("portfolio: not tracked this run", LF_STR("error", d.text));
        return err;
    }
    j->acct.o.fetch.max_retries = 2;
    int64_t left = j->deadline_ms ? j->deadline_ms - clock_wall_ms() : INT64_MAX;
    if (left < ACCOUNT_TIGHT_MS) {
        j->acct.o.fetch.max_retries = 0;
        j->acct.o.fetch.timeout_ms = left / 2;
    }
    j->have_view = 1;
    /* The account and its history too, for a bot without the keys (account/stored.h). */
    err = account_load(&j->acct, j->os, TRADING_POSITIONS, TRADING_ACCOUNT | TRADING_HISTORY,
                       &j->view, &d);
    if (err) {
        log_warn("portfolio: no snapshot this run (the trading API could not be read)",
                 LF_STR("error", d.text));
        return err;
    }
    for (size_t i = 0; i < j->view.t.problems.n; i++)
        log_warn("portfolio: a value is missing", LF_STR("problem", j->view.t.problems.v[i]));
    char day[DATE_STRLEN + 1];
    date_format(j->view.pf.date, day);
    err = portfolio_write_snapshot(j->os, &j->view.pf, &j->written, &d);
    if (err) {
        j->snapshot_failed = 1;
        log_error("portfolio: the snapshot was not stored", LF_STR("date", day),
                  LF_STR("error", d.text));
    }
    if (account_stored_write(j->os, &j->view.t, &d) != ERR_OK)
        log_error("portfolio: the account was not stored for the bot",
                  LF_STR("key", ACCOUNT_STORED_KEY), LF_STR("error", d.text));
    /* The alert needs the positions read, not the snapshot stored. */
    return ERR_OK;
}

/* ---- alert: the sell signal ---- */

static int step_alert(struct job *j)
{
    struct diag d = {{0}};
    int err = account_profit_target(&j->acct.target_pct, &d);
    if (err) {
        log_error("portfolio: no sell-signal check", LF_STR("error", d.text));
        return err;
    }
    portfolio_signal(&j->view.pf, j->acct.target_pct, &j->view.signal);
    err = portfolio_alert_update(j->os, &j->view.signal, j->view.pf.date, &j->alert, &d);
    if (err) {
        log_error("portfolio: the sell-signal alert could not be updated", LF_STR("error", d.text));
        return err;
    }
    if (j->alert != PORTFOLIO_ALERT_FIRE)
        return ERR_OK;
    struct buf html = BUF_INIT(TG_BUF_MAX);
    struct push_stats st = {0};
    if (bot_alert_html(&html, &j->view.pf, &j->view.signal))
        err = diag_set(&d, ERR_NOMEM, "out of memory");
    else
        err = notify_sell_signal(j->os, j->o->collect.http, html.data, &st, &d);
    char day[DATE_STRLEN + 1];
    date_format(j->view.pf.date, day);
    if (err)
        log_error("portfolio: the sell-signal alert was not pushed", LF_STR("error", d.text));
    else
        log_summary("sell signal: alert pushed", LF_STR("date", day),
                    LF_DBL("average_pct", j->view.signal.average_pct),
                    LF_DBL("target_pct", j->view.signal.target_pct),
                    LF_INT("chats", (int64_t)st.subscribers), LF_INT("sent", (int64_t)st.sent),
                    LF_INT("failed", (int64_t)st.failed));
    buf_release(&html);
    return err;
}

/* The account steps' summary, once both have had their turn. */
static void log_account(const struct job *j)
{
    const struct account_view *v = &j->view;
    char day[DATE_STRLEN + 1];
    date_format(v->pf.date, day);
    log_summary(
        "portfolio snapshot", LF_STR("date", day), LF_INT("positions", (int64_t)v->pf.n),
        LF_STR("snapshot", j->snapshot_failed ? "failed" : portfolio_write_name(j->written)),
        LF_INT("problems", (int64_t)v->t.problems.n),
        LF_DBL("top_average_pct", isnan(v->signal.average_pct) ? 0 : v->signal.average_pct),
        LF_BOOL("target_reached", v->signal.reached),
        LF_STR("alert", portfolio_alert_name(j->alert)));
}

/* ---- push: the day's screen to the subscribers ---- */

static int step_push(struct job *j)
{
    struct diag d = {{0}};
    int err = notify_daily_screen(j->os, j->o->collect.http, j->deadline_ms, &j->r->push, &d);
    if (err)
        log_error("the daily push failed", LF_STR("error", d.text));
    return err;
}

/* ---- alerts: each chat's own ---- */

static int step_alerts(struct job *j)
{
    struct diag d = {{0}};
    int err = notify_user_alerts(j->os, j->o->collect.http, j->r->screen_date, j->deadline_ms, &d);
    if (err)
        log_error("the alerts failed", LF_STR("error", d.text));
    return err;
}

/* ---- compact: closed months into one part each ---- */

static int step_compact(struct job *j)
{
    struct compact_opts co = {
        .closed_before = compact_closed_before(clock_wall_ms()),
        .max_months = DAILY_COMPACT_MONTHS,
        .deadline_ms = j->deadline_ms,
    };
    struct compact_stats st;
    struct diag d = {{0}};
    int err = barstore_compact(j->os, j->bs, &co, &st, &d);
    if (err) {
        log_error("compaction failed; the next run goes on", LF_STR("error", d.text));
        return err;
    }
    if (st.months_closed)
        log_info("compaction", LF_INT("months_compacted", st.months_compacted),
                 LF_INT("months_skipped", st.months_skipped), LF_INT("months_left", st.months_left),
                 LF_INT("parts_merged", st.parts_merged), LF_INT("parts_retired", st.parts_retired),
                 LF_INT("bytes_written", st.bytes_written));
    return ERR_OK;
}

/* ---- backtest: the default strategy over the whole store, kept in the results ---- */

static void *backtest_main(void *arg)
{
    struct early *e = arg;
    int64_t t0 = clock_mono_us();
    int32_t first, last;
    struct diag ignored;
    if (e->own) { /* its handle reads the store in two rounds: the listings, then the rest */
        barstore_read_once(e->bs, 1);
        symlog_ahead(e->bs);
        if (barstore_date_range(e->bs, &first, &last, NULL, &ignored) == ERR_OK) {
            static const char *const keys[] = {BACKTEST_SUMMARY_JSON_KEY};
            struct barstore_ahead more = {
                .nscans = 1, .scan_max = DAILY_BACKTEST_AHEAD_MAX, .keys = keys, .n = 1};
            more.scan[0].from = first;
            more.scan[0].to = last;
            barstore_prefetch_more(e->bs, 1, 0, 0, 1, &more);
        }
    }
    struct backtest_refresh_opts ro = {e->deadline_ms};
    e->err = backtest_refresh(e->os, e->bs, &ro, &e->outcome, &e->stored, &e->d);
    e->took_us = clock_mono_us() - t0;
    return NULL;
}

/* Start the backtest on its thread, with its own handle on the store (ERR_OK: started). */
static int start_backtest(struct job *j)
{
    struct early *e = &j->backtest;
    struct diag d = {{0}};
    memset(e, 0, sizeof *e);
    e->deadline_ms = j->deadline_ms;
    int err = objstore_reopen(j->os, &e->os, &d);
    if (!err) {
        /* Its files are kept, for the report's page to read from memory once it is done. */
        objstore_keep_written(e->os, DAILY_KEEP_WRITTEN_MAX, DAILY_KEEP_WRITTEN_TOTAL);
        err = barstore_new(e->os, &e->bs, &d);
    }
    e->own = 1;
    if (!err && pthread_create(&e->th, NULL, backtest_main, e) != 0)
        err = diag_set(&d, ERR_IO, "no thread could be started");
    if (!err) {
        e->running = 1;
        return ERR_OK;
    }
    log_warn("backtest: not started alongside the results; it runs after them",
             LF_STR("error", d.text));
    barstore_free(e->bs);
    objstore_free(e->os);
    memset(e, 0, sizeof *e);
    return err;
}

/* Wait for the backtest's thread: its files join what the job's handle kept of its own
 * writes, and its handle is closed.  The time it ran is the step's. */
static void join_backtest(struct job *j, struct early *e)
{
    pthread_join(e->th, NULL);
    e->running = 0;
    objstore_take_written(j->os, e->os);
    barstore_free(e->bs);
    objstore_free(e->os);
    e->bs = NULL;
    e->os = NULL;
}

static int step_backtest(struct job *j)
{
    struct daily_report *r = j->r;
    struct early *e = &j->backtest;
    backtest_opts_default(&r->backtest_opts);
    if (e->running) {
        join_backtest(j, e);
        j->step_us = e->took_us;
    } else { /* not started alongside: here, on the job's handle */
        memset(e, 0, sizeof *e);
        e->deadline_ms = j->deadline_ms;
        e->os = j->os;
        e->bs = j->bs;
        backtest_main(e);
        e->os = NULL;
        e->bs = NULL;
    }
    struct diag *d = &e->d;
    int err = e->err;
    if (!err && e->outcome == BACKTEST_REFRESHED) {
        r->backtest_opts = e->stored.opts;
        r->backtest = e->stored.sum;
        return ERR_OK;
    }
    if (!err && e->outcome == BACKTEST_REFRESH_EMPTY)
        err = diag_set(d, ERR_NOTFOUND, "no bars stored");
    else if (!err) /* skipped or stopped at the deadline: logged, the next run refreshes it */
        err = diag_set(d, ERR_TIMEOUT, "not refreshed: the deadline was too near");
    else
        log_error("backtest: not refreshed", LF_STR("error", d->text));
    memcpy(r->backtest_error, d->text, sizeof r->backtest_error);
    return err;
}

/* ---- html: the day's report page ---- */

static int step_html(struct job *j)
{
    struct report_published p;
    struct diag d = {{0}};
    int err = daily_publish_report(j->os, j->bs, j->r->screen_date, clock_wall_ms(), &p, &d);
    memcpy(j->r->report_key, p.key, sizeof p.key);
    return err;
}

/* ---- the table ---- */

enum {
    NEEDS_COLLECTION = 1, /* only after a collection that went well */
    NEEDS_VIEW = 2,       /* only when the snapshot step read the account */
    NEEDS_TRACKING = 4,   /* off with SCREENER_PORTFOLIO=0 */
};

static const struct step {
    const char *name;
    int (*run)(struct job *j);
    /* Optional: start the step on a thread of its own as soon as the collection is done (ERR_OK:
     * started; otherwise run waits for nothing and does the step itself). */
    int (*start)(struct job *j);
    /* Not started with less than this left before the deadline; 0: always run (the
     * collection keeps its own deadline, the results and the run record are always written). */
    int64_t min_ms;
    unsigned needs;
} steps[DAILY_STEP_COUNT_] = {
    [DAILY_COLLECT] = {"collect", step_collect, NULL, 0, 0},
    [DAILY_RESULTS] = {"results", step_results, NULL, 0, 0},
    [DAILY_REPORT] = {"report", step_report, NULL, 0, 0},
    [DAILY_SNAPSHOT] = {"snapshot", step_snapshot, NULL, 2000, NEEDS_TRACKING},
    [DAILY_ALERT] = {"alert", step_alert, NULL, 1000, NEEDS_TRACKING | NEEDS_VIEW},
    [DAILY_PUSH] = {"push", step_push, NULL, 1000, NEEDS_COLLECTION},
    [DAILY_ALERTS] = {"alerts", step_alerts, NULL, 1000, NEEDS_COLLECTION},
    [DAILY_BACKTEST] = {"backtest", step_backtest, start_backtest, BACKTEST_REFRESH_MIN_MS, 0},
    [DAILY_COMPACT] = {"compact", step_compact, NULL, COMPACT_MONTH_MIN_MS, 0},
    [DAILY_HTML] = {"html", step_html, NULL, 5000, 0},
};

const char *daily_step_name(enum daily_step_id id)
{
    return id < DAILY_STEP_COUNT_ ? steps[id].name : "?";
}

const char *daily_step_state_name(enum daily_step_state s)
{
    static const char *const names[] = {"off", "done", "failed", "skipped"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* "daily run finished": each step's state ("collect":"done") and, for those that ran, the time
 * it took ("collect_ms"), and the whole job's ("duration_ms"). */
static void log_steps(const struct daily_report *r)
{
    struct log_field f[2 * DAILY_STEP_COUNT_ + 2];
    char keys[DAILY_STEP_COUNT_][32];
    size_t n = 0;
    f[n++] = LF_INT("duration_ms", r->duration_ms);
    for (int i = 0; i < DAILY_STEP_COUNT_; i++) {
        f[n++] = LF_STR(steps[i].name, daily_step_state_name(r->steps[i]));
        if (r->steps[i] != DAILY_STEP_DONE && r->steps[i] != DAILY_STEP_FAILED)
            continue;
        snprintf(keys[i], sizeof keys[i], "%s_ms", steps[i].name);
        f[n++] = LF_INT(keys[i], r->step_ms[i]);
    }
    f[n] = LF_END_;
    log_write_always(LOG_INFO, __func__, "daily run finished", f);
}

/* Whether step i runs now: DAILY_STEP_DONE when it may, else OFF or SKIPPED (the latter
 * logged when loud). */
static enum daily_step_state step_gate(const struct job *j, int i, int loud)
{
    const struct step *s = &steps[i];
    if (!(j->want & DAILY_STEP(i)) || ((s->needs & NEEDS_TRACKING) && !j->tracking))
        return DAILY_STEP_OFF;
    if (((s->needs & NEEDS_COLLECTION) && j->err) ||
        ((s->needs & NEEDS_VIEW) && j->r->steps[DAILY_SNAPSHOT] != DAILY_STEP_DONE))
        return DAILY_STEP_SKIPPED;
    int64_t left = j->deadline_ms ? j->deadline_ms - clock_wall_ms() : INT64_MAX;
    if (s->min_ms && left < s->min_ms) {
        if (loud)
            log_warn("daily: step skipped: the deadline is too near", LF_STR("step", s->name),
                     LF_INT("left_ms", left));
        return DAILY_STEP_SKIPPED;
    }
    return DAILY_STEP_DONE;
}

void daily_opts_default(struct daily_opts *o)
{
    memset(o, 0, sizeof *o);
    collect_opts_default(&o->collect);
    o->steps = DAILY_STEPS_DEFAULT;
}

int daily_run(struct objstore *os, struct barstore *bs, const struct daily_opts *o,
              struct daily_report *report, struct diag *d)
{
    int64_t started = clock_mono_us();
    memset(report, 0, sizeof *report);
    report->worst_change_pct = NAN;
    struct job j = {.os = os, .bs = bs, .o = o, .r = report, .d = d};
    /* By the clock, not by who started the job: the newest day whose bar is there is settled. */
    int64_t now = o->collect.now_ms ? o->collect.now_ms : clock_wall_ms();
    report->evening = cal_last_final_day(now, o->collect.settle_minute) >=
                      cal_last_final_day(now, o->collect.close_minute);
    if (o->deadline_ms)
        j.deadline_ms = o->deadline_ms - DAILY_DEADLINE_MARGIN_MS;
    unsigned want = o->steps | DAILY_STEPS_ALWAYS;
    j.want = want;
    j.tracking = account_tracking_enabled();
    /* The split log is read once for the whole run (again only after the collection adds
     * to it): every step's screen and scan needs it, and on S3 each read is two round trips. */
    barstore_keep_splits(bs, 1);
    /* The same for the listing of the bar parts: read again after each write of this run. */
    objstore_keep_listing(os, "bars/");
    objstore_keep_written(os, DAILY_KEEP_WRITTEN_MAX, DAILY_KEEP_WRITTEN_TOTAL);
    unsigned early = 0; /* the steps started on their threads */
    for (int i = 0; i < DAILY_STEP_COUNT_; i++) {
        const struct step *s = &steps[i];
        enum daily_step_state *state = &report->steps[i];
        if (!(early & DAILY_STEP(i)) && (*state = step_gate(&j, i, 1)) != DAILY_STEP_DONE)
            continue;
        int64_t t0 = clock_mono_us();
        j.step_us = -1;
        *state = s->run(&j) ? DAILY_STEP_FAILED : DAILY_STEP_DONE;
        report->step_ms[i] = ((j.step_us >= 0 ? j.step_us : clock_mono_us() - t0) + 500) / 1000;
        if (i == DAILY_COLLECT) /* the steps that run alongside those after the collection */
            for (int k = i + 1; k < DAILY_STEP_COUNT_; k++)
                if (steps[k].start && step_gate(&j, k, 0) == DAILY_STEP_DONE &&
                    steps[k].start(&j) == ERR_OK)
                    early |= DAILY_STEP(k);
        if (i == DAILY_ALERT && report->steps[DAILY_SNAPSHOT] == DAILY_STEP_DONE)
            log_account(&j);
    }
    report->duration_ms = (clock_mono_us() - started + 500) / 1000;
    log_steps(report);
    barstore_keep_splits(bs, 0);
    objstore_keep_listing(os, NULL);
    objstore_prefetch_drop(os);
    objstore_keep_written(os, 0, 0);
    free(j.rows);
    if (j.have_view)
        account_view_release(&j.view);
    account_release(&j.acct);
    return j.err;
}
