/* backtest_results.h - the default backtest over the stored history, kept in the results.
 *
 * After each collection the default backtest (backtest_opts_default: top 10, every 5 dates,
 * target 100 % of the best 5, cost 5 bps, capital 100000, the screen's defaults) is run over
 * every stored date and written next to the other results:
 *
 *   results/backtest/equity.csv    date,equity,cash,positions,benchmark (BACKTEST_EQUITY_HEADER)
 *   results/backtest/trades.csv    one row per position (BACKTEST_TRADES_HEADER)
 *   results/backtest/summary.csv   the summary, one row, as `screener backtest --format csv`
 *   results/backtest/summary.json  the summary as `--format json`, plus the parameters, when
 *                                  and how long it ran, and the equity and the benchmark at
 *                                  BACKTEST_CURVE_POINTS dates spread over the period (what
 *                                  the bot draws, so that /backtest reads one small object)
 *
 * summary.json is written last: a reader that sees it finds the other three of the same run
 * or of a newer one.  Every file is one atomic put.
 *
 * The cost is one pass over the store, the same as the full-history screen (the backtest
 * ranks only on signal dates; docs/backtest.md#after-each-collection has the measurement).
 * It is not incremental: the portfolio on each date depends on every earlier one, and the
 * screen engine's state is not kept between runs.  A caller with a deadline gives it: the
 * refresh does not start when less time is left than twice the previous refresh took (or
 * BACKTEST_REFRESH_MIN_MS), and stops, writing nothing, if the deadline passes mid-way.
 */
#ifndef BACKTEST_BACKTEST_RESULTS_H
#define BACKTEST_BACKTEST_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "backtest/backtest.h"
#include "store/objstore.h"

#define BACKTEST_EQUITY_KEY       "results/backtest/equity.csv"
#define BACKTEST_TRADES_KEY       "results/backtest/trades.csv"
#define BACKTEST_SUMMARY_CSV_KEY  "results/backtest/summary.csv"
#define BACKTEST_SUMMARY_JSON_KEY "results/backtest/summary.json"
#define BACKTEST_CURVE_POINTS     32   /* a sparkline that fits a phone's line */
#define BACKTEST_REFRESH_MIN_MS   3000 /* not started with less left before the deadline */
#define BACKTEST_WARNING_MAX      256

/* What summary.json holds. */
struct backtest_stored {
    int64_t computed_ms; /* Unix milliseconds when it finished */
    int64_t duration_ms;
    struct backtest_opts opts; /* the parameters (screen: window_days, min_bars) */
    struct backtest_summary sum;
    size_t ncurve; /* 1..BACKTEST_CURVE_POINTS, dates ascending, first = start, last = end */
    int32_t curve_date[BACKTEST_CURVE_POINTS];
    double curve_equity[BACKTEST_CURVE_POINTS], curve_benchmark[BACKTEST_CURVE_POINTS];
    int survivorship; /* the candidates were today's universe: the result carries its bias */
};

struct backtest_refresh_opts {
    int64_t deadline_ms; /* wall clock (Unix ms); 0: none */
};

enum backtest_refresh_outcome {
    BACKTEST_REFRESHED,
    BACKTEST_REFRESH_SKIPPED, /* too little time left: not started */
    BACKTEST_REFRESH_STOPPED, /* the deadline passed mid-way: nothing written */
    BACKTEST_REFRESH_EMPTY,   /* no bars stored: nothing to run */
};

/* Run the default backtest over every stored date and write the four files.  out (may be
 * NULL) gets what summary.json now holds when the outcome is BACKTEST_REFRESHED.  Skipping
 * and stopping are logged and are not errors; a store or a backtest failure is. */
int backtest_refresh(struct objstore *os, struct barstore *bs,
                     const struct backtest_refresh_opts *o, enum backtest_refresh_outcome *outcome,
                     struct backtest_stored *out, struct diag *d);

/* Read summary.json: ERR_NOTFOUND when there is none. */
int backtest_stored_read(struct objstore *os, struct backtest_stored *out, struct diag *d);

/* Parse summary.json (name is for messages).  Every member above is required with its type;
 * undefined metrics are null; members it does not know are ignored. */
int backtest_stored_parse(const char *name, const char *data, size_t len,
                          struct backtest_stored *out, struct diag *d);

/* Write summary.json for s into out. */
int backtest_stored_json(struct buf *out, const struct backtest_stored *s);

#endif
