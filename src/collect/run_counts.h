/* run_counts.h - what a collection run counts, defined once.
 *
 * Every place that reports a run (the CLI's summary and its "Data problems" line, the JSON
 * summary log line, results/last_run.json and so the bot's /stats, the Lambda collector's
 * response, the EMF Errors metric) takes its numbers from a struct run_counts and its totals
 * from the functions below, so that they cannot disagree.
 *
 * Problems by kind (RUN_PROBLEMS): each is a fact the run found in the data, reported when
 * found, counted once, and nothing of it stored.  The errors of a run are its problems, the
 * symbols given up after retries (failed requests), and one for a run that ended in error.
 */
#ifndef COLLECT_RUN_COUNTS_H
#define COLLECT_RUN_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "collect/collector.h"

/* X(field, what it is in the "Data problems" line) */
#define RUN_PROBLEMS(X)                                                                            \
    X(bars_bad, "bad bars")                                                                        \
    X(bars_duplicate, "duplicates")                                                                \
    X(bars_conflict, "conflicts")                                                                  \
    X(splits_conflict, "split conflicts")                                                          \
    X(symbols_no_data, "symbols without data")                                                     \
    X(symbols_unknown, "unknown symbols")

struct run_counts {
    int32_t end;                  /* last trading day asked for (0 or INT32_MIN: none) */
    size_t symbols;               /* in the universe */
    size_t symbols_current;       /* nothing to fetch */
    size_t symbols_planned;       /* asked for */
    size_t symbols_fetched;       /* asked for and not given up or left out */
    size_t symbols_failed;        /* given up after retries: their requests failed */
    size_t symbols_not_attempted; /* left out because the deadline came first */
    size_t bars_received, bars_new, bars_same, splits_new;
    size_t symbol_changes_new; /* name changes stored now (docs/definitions.md#symbol-changes) */
    /* Stored bars changed by the vendor (revisions), provisional bars confirmed final, and
     * bars fetched before their settle time (docs/definitions.md#when-a-bar-is-final). */
    size_t bars_revised, bars_finalized, bars_provisional;
    int32_t final_day;           /* the last day whose bars were final at the run */
    size_t closed_days_learned;  /* weekdays without any bar, recorded as closed: not a problem */
    size_t recent_data_refusals; /* 403s for the last 15 minutes, retried earlier: not a problem */
    uint64_t requests, retries, rate_limited;
    int64_t duration_ms;
    int run_failed; /* the run ended in error */
#define RUN_COUNTS_FIELD_(f, what) size_t f;
    RUN_PROBLEMS(RUN_COUNTS_FIELD_)
#undef RUN_COUNTS_FIELD_
};

/* The counts of a collection that ended with err (ERR_OK: it went well). */
void run_counts_from_stats(struct run_counts *c, const struct collect_stats *st, int err);

/* The data problems: the sum of every kind in RUN_PROBLEMS. */
size_t run_counts_problems(const struct run_counts *c);

/* The run's errors: the problems, the symbols given up, and 1 when the run failed.  What the
 * Errors metric, last_run.json, /stats and the Lambda response say. */
size_t run_counts_errors(const struct run_counts *c);

/* Append the breakdown of the problems, every kind in RUN_PROBLEMS order, as
 * "2 bad bars, 0 duplicates, ..., 1 unknown symbols". */
int run_counts_problems_text(struct buf *out, const struct run_counts *c);

#endif
