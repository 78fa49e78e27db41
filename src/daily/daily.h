/* daily.h - the daily job: what happens once a trading day, in one place.
 *
 *   collect   the universe's new bars and split facts into the bar store
 *   results   screen the newest day and write results/ (screen, top candidates, exports), put
 *             every stored date the top-candidate history lacks into it (results_fill_top),
 *             and the run record, results/last_run.json, which is written for a failed run too
 *   report    the summary log line and the EMF metrics (off for the demo, which prints)
 *   snapshot  the brokerage account's positions as the day's portfolio snapshot, and the
 *             account as read (account/stored.h) for a bot without the trading keys
 *   alert     the sell signal: its marker, and the alert to the operator's chats when the
 *             target is first reached
 *   push      the day's screen to the bot's subscribers, once per screened date
 *   alerts    each chat's own alerts (bot/alerts.h) on the newest screened date: each
 *             crossing told once, what the deadline leaves sent by the next run
 *   backtest  the default backtest over the whole store, refreshed into results/backtest/
 *             (backtest/backtest_results.h) within the deadline, its summary in the report; it
 *             runs on a thread of its own, with its own handle on the store, from the end of the
 *             collection, beside the steps up to its place, where the job waits for it
 *   compact   merge closed months of the bar store into one part each (store/compact.h), at
 *             most DAILY_COMPACT_MONTHS a run and within the deadline; the next run goes on
 *   html      the HTML report of the screened date: results/report/YYYY-MM-DD.html and
 *             latest.html (report/report.h, daily/report_page.h)
 *
 * One entry point, daily_run(), for `screener collect`, the Lambda collector and `screener
 * demo`; each says which steps it wants.  The steps run in that order, each given the time
 * left before the job's deadline: a step that needs more than is left is skipped (logged),
 * and the account steps shorten their retries when time is short, so that a Lambda
 * invocation ends cleanly and its rerun completes what was left.  The collection and the
 * results decide the job's outcome; the steps after them log their problems and never fail
 * it.  New steps (a report, per-user alerts) are further rows of the
 * step table in daily.c.
 *
 * Every count the job reports comes from report->counts (collect/run_counts.h).  At its end the
 * job logs "daily run finished": each step's state, the time each that ran took, and the
 * whole job's, so that the log shows where a run's time went (in the Lambda, mostly CPU).
 *
 * Two runs a trading day (docs/daily-job.md#two-runs-a-day): the close run (16:30 New York)
 * stores the day's bars as provisional, writes results that say so and pushes the day's list;
 * the evening run (20:30, after the settle time) is the same job, which the clock makes the
 * evening run: the newest trading day is settled (report->evening), the collection fetches
 * the provisional days again and records their final values, the results of every date they
 * change are written again, and the run record says the bars are final.  The push stays once
 * per date (its marker): the evening run sends a date's list only when no run before it did
 * (the close run failed or found the day not there yet), and finishes a push the close run
 * left unfinished.  A crossing of a chat's alert that only the final bars show is sent by the
 * evening run, once, as every crossing.
 */
#ifndef DAILY_DAILY_H
#define DAILY_DAILY_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/backtest.h"
#include "codec/bar.h"
#include "collect/collector.h"
#include "collect/run_counts.h"
#include "bot/push.h"
#include "store/barstore.h"
#include "store/objstore.h"

enum daily_step_id {
    DAILY_COLLECT,
    DAILY_RESULTS,
    DAILY_REPORT,
    DAILY_SNAPSHOT,
    DAILY_ALERT,
    DAILY_PUSH,
    DAILY_ALERTS,
    DAILY_BACKTEST,
    DAILY_COMPACT,
    DAILY_HTML, /* last: the page shows what the steps before it wrote */
    DAILY_STEP_COUNT_
};

#define DAILY_STEP(id) (1u << (id))
/* The collection and its results always run. */
#define DAILY_STEPS_ALWAYS (DAILY_STEP(DAILY_COLLECT) | DAILY_STEP(DAILY_RESULTS))
#define DAILY_STEPS_ALL    ((1u << DAILY_STEP_COUNT_) - 1)
/* What the CLI and the Lambda collector run: everything. */
#define DAILY_STEPS_DEFAULT DAILY_STEPS_ALL

/* Months the compact step merges at most per run (a month is ~1.5 MB for 1,000 symbols). */
#define DAILY_COMPACT_MONTHS 24

/* The Lambda's deadline less this is the job's: enough for the chains in flight to finish
 * and the summary to go out. */
#define DAILY_DEADLINE_MARGIN_MS 10000

struct daily_opts {
    const char *const *symbols; /* borrowed, as the strings */
    size_t n;
    /* The collection's settings: data URL, keys, HTTP client, limiter, progress callback.
     * Its deadline_ms is set from deadline_ms below. */
    struct collect_opts collect;
    unsigned steps; /* DAILY_STEP() bits (default DAILY_STEPS_DEFAULT); DAILY_STEPS_ALWAYS
                       are added */
    /* Wall clock (Unix ms, like Lambda's deadline) by which the job must be over; 0: none.
     * The job's own deadline is DAILY_DEADLINE_MARGIN_MS before it. */
    int64_t deadline_ms;
};

void daily_opts_default(struct daily_opts *o);

enum daily_step_state {
    DAILY_STEP_OFF,     /* not asked for, or turned off (SCREENER_PORTFOLIO=0) */
    DAILY_STEP_DONE,    /* ran and succeeded, or had nothing to do */
    DAILY_STEP_FAILED,  /* ran and failed (logged) */
    DAILY_STEP_SKIPPED, /* not run: too near the deadline, or what it needs failed */
};

struct daily_report {
    struct collect_stats stats; /* the collector's own, for its detail (progress, floor) */
    struct run_counts counts;   /* every number the job reports */
    int32_t screen_date;        /* the newest stored trading day after the run (0: none) */
    /* The evening run: at the job's clock the newest trading day whose bar is there is past
     * its settle time (20:15 New York), so its bars are fetched final (also a run on a
     * weekend or holiday, or the next morning). */
    int evening;
    double worst_change_pct; /* the newest day's worst one-day change (NAN: none) */
    int32_t worst_date;
    char worst_symbol[BAR_SYMBOL_MAX + 1];
    enum daily_step_state steps[DAILY_STEP_COUNT_];
    int64_t step_ms[DAILY_STEP_COUNT_]; /* the time each step that ran took (0: it did not) */
    int64_t duration_ms;                /* the whole job's */
    /* The backtest step's: its parameters and summary, or why it failed. */
    struct backtest_opts backtest_opts;
    struct backtest_summary backtest;
    char backtest_error[DIAG_MAX];
    char report_key[OBJ_KEY_MAX]; /* the html step's page ("": none written) */
    struct push_stats push;       /* the push step's (zero when it did not run); push.left > 0:
                                     the deadline stopped it, the next push finishes it */
};

/* Run the job on the open store.  Returns the collection's error, else the results' (the
 * run record's included), with d saying what; report is always filled. */
int daily_run(struct objstore *os, struct barstore *bs, const struct daily_opts *o,
              struct daily_report *report, struct diag *d);

/* "collect", "results", ... */
const char *daily_step_name(enum daily_step_id id);
const char *daily_step_state_name(enum daily_step_state s);

#endif
