/* screen.h - the screen engine: rank the universe by how far each stock has fallen.
 *
 * The definitions are docs/definitions.md#the-screen, exactly.  For a symbol with a bar on date D:
 *   change_pct      100 * (close_D / close_prev - 1), close_prev = the previous stored bar
 *   peak, peak_date the highest high among the symbol's bars in [D - (W-1), D] (latest on ties)
 *   drawdown_pct    100 * (close_D - peak) / peak
 *   days_since_peak the symbol's bars after peak_date up to and including D
 * Eligible: a bar on D and at least min_bars bars in the window, then the price and volume
 * filters.  Ranked ascending by the metric, ties by symbol; rank starts at 1.
 *
 * Prices are split-adjusted as of D: a split's factor applies to the bars before its ex-date,
 * so close_D is the price the stock really traded at on D and no split looks like a crash.
 *
 * The engine streams: feed days in date order with screen_add_day(), rank the last day with
 * screen_rank().  State is per symbol and bounded by the window, not by the history.
 */
#ifndef SCREEN_SCREEN_H
#define SCREEN_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "codec/bar.h"
#include "codec/split.h"

enum screen_metric { SCREEN_BY_DRAWDOWN, SCREEN_BY_CHANGE };

#define SCREEN_WINDOW_DEFAULT   180
#define SCREEN_WINDOW_MAX       3660
#define SCREEN_MIN_BARS_DEFAULT 30
#define SCREEN_TOP_DEFAULT      10

struct screen_opts {
    int window_days;    /* W: calendar days, 1..SCREEN_WINDOW_MAX */
    int min_bars;       /* bars in the window needed to be eligible, >= 1 */
    int64_t min_price;  /* close on D at least this (millionths); 0 = no filter */
    int64_t min_volume; /* average daily volume over the window at least this; 0 = no filter */
    enum screen_metric by;
    size_t top; /* rows per date; 0 = all eligible */
};

void screen_opts_default(struct screen_opts *o);

struct screen_row {
    int32_t date;
    int rank;
    char symbol[BAR_SYMBOL_MAX + 1];
    double close, peak; /* dollars, split-adjusted as of date */
    int32_t peak_date;
    double drawdown_pct;
    int days_since_peak;
    double change_pct; /* NAN when the symbol has no earlier bar */
    int64_t volume;
};

struct screen;

/* splits: the split log, sorted by symbol and ex_date (barstore_read_splits gives that);
 * copied. */
int screen_new(const struct screen_opts *opts, const struct split *splits, size_t nsplits,
               struct screen **out, struct diag *d);
void screen_free(struct screen *s);

/* Feed one day: bars sorted by symbol, each symbol at most once, dates strictly increasing
 * from call to call.  ERR_INVALID otherwise. */
int screen_add_day(struct screen *s, int32_t date, const struct bar *bars, size_t n,
                   struct diag *d);

/* Rank the symbols with a bar on the last day added.  *rows stays valid until the next call
 * to screen_add_day or screen_rank. */
int screen_rank(struct screen *s, const struct screen_row **rows, size_t *n);

/* A symbol change (docs/definitions.md#symbol-changes), called before the first day fed on or
 * after it: the history of old_symbol continues as new_symbol's (its window, peak, previous
 * close and the splits applied so far), and the splits of new_symbol apply from then on.  A
 * no-op when old_symbol has no history, or when new_symbol already has one of its own. */
int screen_rename(struct screen *s, const char *old_symbol, const char *new_symbol, struct diag *d);

/* The number of symbols the engine has seen. */
size_t screen_symbols(const struct screen *s);

/* ---- output ---- */

enum screen_format { SCREEN_FORMAT_TABLE, SCREEN_FORMAT_CSV, SCREEN_FORMAT_JSON };

/* CSV/JSON columns: date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,
 * change_pct,volume (change_pct empty / null when unknown).  The table groups rows under a
 * title per date.  A document is begin, rows (any number of calls), end. */
struct screen_writer {
    enum screen_format format;
    const struct screen_opts *opts;
    size_t rows_written;
    int32_t last_date;
};

int screen_format_parse(const char *s, enum screen_format *out);
int screen_writer_begin(struct screen_writer *w, struct buf *out, enum screen_format format,
                        const struct screen_opts *opts);
int screen_writer_rows(struct screen_writer *w, struct buf *out, const struct screen_row *rows,
                       size_t n);
int screen_writer_end(struct screen_writer *w, struct buf *out);

#endif
