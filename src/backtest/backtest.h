/* backtest.h - replay the strategy over the stored history (docs/definitions.md#the-backtest).
 *
 * Dates: T = the stored dates in [from, to].  Every K-th date of T from T[0] (but the last) is
 * a signal date; its candidates are the eligible symbols of the screen of that date (the
 * full-history screen engine), in rank order, restricted to the universe snapshot in force
 * that day when a point-in-time universe is given.  Everything decided at the close of T[i]
 * executes at the open of T[i+1]: sells first (a symbol without a bar waits for its next one),
 * then buys (a symbol without a bar is dropped).  Exits are decided at every close: the target
 * (mean of the m best returns at least the target: sell all), the stop, the maximum hold, and
 * delisting (no bar for 10 consecutive dates: sold at the last close on the 10th date).  A
 * position keeps the first reason that marked it (target, stop, max-hold, in this order; a
 * position sold as delisted keeps an earlier mark).  Splits multiply a position's quantity and
 * divide its entry price and last close on their ex-date; no cash moves.
 *
 * One pass over the store serves many parameter sets: the screen engines are shared by the
 * sets with the same window and filters, ranked only on signal dates, and the equal-weight
 * benchmark is computed once per date.  Memory is bounded as the screen's (per symbol, by the
 * window), plus one number per date for the statistics.
 */
#ifndef BACKTEST_BACKTEST_H
#define BACKTEST_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/strvec.h"
#include "screen/screen.h"
#include "store/barstore.h"

#define BACKTEST_DELIST_DATES 10 /* dates without a bar that make a position delisted */
#define BACKTEST_TOP_MAX      1000

struct backtest_opts {
    int top;           /* N: positions held at most, >= 1 */
    int every;         /* K: dates between signals, >= 1 */
    double target_pct; /* sell all when the mean of the signal_top best returns reaches it */
    int signal_top;    /* m, >= 1 */
    double stop_pct;   /* sell a position at a return <= -stop_pct; <= 0 is off */
    int max_hold;      /* sell after this many closes; 0 is off */
    double cost_bps;   /* on the notional of every buy and sell */
    double capital;
    int universe_asof; /* restrict candidates to the snapshot in force (struct backtest_universe) */
    /* window_days, min_bars, min_price, min_volume; by and top are set by the engine */
    struct screen_opts screen;
};

void backtest_opts_default(struct backtest_opts *o);

/* Check one parameter set; ERR_USAGE with a message naming the parameter. */
int backtest_opts_check(const struct backtest_opts *o, struct diag *d);

enum backtest_exit {
    BACKTEST_OPEN,
    BACKTEST_TARGET,
    BACKTEST_STOP,
    BACKTEST_MAX_HOLD,
    BACKTEST_DELISTED,
};

/* "open", "target", "stop", "max-hold", "delisted". */
const char *backtest_exit_name(enum backtest_exit e);

struct backtest_trade {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t entry_date, exit_date;
    double entry_price; /* the open paid, divided by the splits since */
    double exit_price;  /* the open received, or the last close (delisted, open) */
    double qty;         /* shares, multiplied by the splits since the entry */
    double cost_basis;  /* X, the cash spent, cost included */
    double proceeds;    /* the cash received, cost deducted (none for open positions) */
    double return_pct;
    int hold_days; /* index of the exit date - index of the entry date in T */
    enum backtest_exit reason;
};

struct backtest_day {
    int32_t date;
    double equity, cash;
    size_t positions;
    double benchmark; /* the capital invested in the equal-weight universe */
};

struct backtest_summary {
    int32_t start, end;
    size_t trading_days;
    double final_equity, total_return_pct, cagr_pct, vol_pct, sharpe, max_drawdown_pct;
    size_t trades; /* closed */
    double win_rate_pct, avg_hold_days, exposure_pct, benchmark_return_pct;
    /* NAN where undefined: cagr over zero days, vol and sharpe with fewer than two returns
     * or no variation, win rate and hold without closed trades. */
    size_t signal_dates;
    size_t signals_without_universe; /* signal dates before the first universe snapshot */
    size_t buys_dropped;             /* buys without a bar at the next open */
};

/* Where the rows of one parameter set go (any callback may be NULL).  Trades come as they
 * close (sells at an open in symbol order, then delistings at the close in symbol order),
 * then the positions still open at the last date in symbol order. */
struct backtest_sink {
    int (*day)(void *ctx, const struct backtest_day *day);
    int (*trade)(void *ctx, const struct backtest_trade *trade);
    void *ctx;
};

/* The point-in-time universe: the dates of the stored snapshots, ascending, and a loader that
 * fills symbols (sorted, unique) with the snapshot of dates[i]. */
struct backtest_universe {
    const int32_t *dates;
    size_t n;
    int (*load)(void *ctx, size_t i, struct strvec *symbols, struct diag *d);
    void *ctx;
};

struct backtest_stats {
    size_t days_read, bars_read, screens, ranks;
};

/* Run n parameter sets over the stored dates in [from, to] in one pass of the store: sum[i]
 * gets the summary of opts[i], sinks[i] (sinks may be NULL) its rows.  u is needed when any
 * set has universe_asof; its load runs on the caller's thread and may use the store.  Without
 * u the store is read ahead on a second thread (barstore_scan_ahead): the sinks run on the
 * caller's thread and must not use the store.  ERR_NOTFOUND when no stored date is in the
 * range. */
int backtest_run(struct barstore *bs, int32_t from, int32_t to, const struct backtest_opts *opts,
                 size_t n, const struct backtest_sink *sinks, const struct backtest_universe *u,
                 struct backtest_summary *sum, struct backtest_stats *stats, struct diag *d);

/* ---- output ---- */

#define BACKTEST_EQUITY_HEADER "date,equity,cash,positions,benchmark\n"
#define BACKTEST_TRADES_HEADER                                                                     \
    "symbol,entry_date,entry_price,exit_date,exit_price,qty,cost_basis,proceeds,return_pct,"       \
    "hold_days,exit_reason\n"

int backtest_equity_csv(struct buf *out, const struct backtest_day *day);
int backtest_trade_csv(struct buf *out, const struct backtest_trade *t);

/* The summary metrics by name, in their column order: "start", "end", "trading_days",
 * "final_equity", ...  backtest_metric_value gives a metric as a number (dates as day
 * numbers) for sorting; -1 for an unknown name from backtest_metric_index. */
#define BACKTEST_METRICS 14
extern const char *const backtest_metric_names[BACKTEST_METRICS];
int backtest_metric_index(const char *name);
double backtest_metric_value(const struct backtest_summary *s, int metric);

enum backtest_format { BACKTEST_FORMAT_TABLE, BACKTEST_FORMAT_CSV, BACKTEST_FORMAT_JSON };
int backtest_format_parse(const char *s, enum backtest_format *out);

/* Summaries, one row each, preceded by the parameter columns: names[k] and, per row,
 * values[row * nparams + k] (as the user wrote them).  A table of one row without parameters
 * is the vertical "metric  value" form.  warnings (may be NULL) go into the table as notes and
 * into JSON as "warnings"; CSV leaves them to the caller. */
int backtest_write_summaries(struct buf *out, enum backtest_format format, const char *const *names,
                             size_t nparams, const char *const *values,
                             const struct backtest_summary *s, size_t nrows,
                             const char *const *warnings, size_t nwarnings);

#endif
