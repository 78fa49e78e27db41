/* report.h - the daily HTML report: one self-contained page per screened date.
 *
 * Layout in the store:
 *   results/report/YYYY-MM-DD.html   the report of a date
 *   results/report/latest.html       the same page for the newest reported date
 *
 * The page holds everything it shows: inline CSS, inline SVG charts and one short script
 * (sorting the tables), and a Content-Security-Policy that allows nothing else (no request of
 * any kind, only the page's own style and script by their SHA-256), so it works opened from a
 * file, from S3 through a presigned link, or offline, and a value that slipped through the
 * escaping still could not load or run anything.  It reads well on a phone (tables scroll
 * inside their box, minor columns hide), on a desktop and on paper.
 *
 * Contents: the worst drawdowns and the worst one-day drops of the date (REPORT_TOP_DEFAULT
 * rows each, columns sortable by a click, a sparkline of the last closes per row with the
 * peak marked); the distribution of drawdowns across every ranked stock; how the top
 * candidates of past dates did since (split-adjusted); the portfolio against its profit
 * target when the caller gives one; the backtest's equity against its benchmark when
 * results/backtest/equity.csv exists.  A date whose data was fetched before the day's bars
 * were final (SPEC 2a: the last run finished before 20:15 New York on that date) is marked
 * provisional.
 */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "report/equity.h"
#include "screen/results.h"
#include "store/objstore.h"

#define REPORT_PREFIX      "results/report/"
#define REPORT_LATEST_KEY  "results/report/latest.html"
#define REPORT_TOP_DEFAULT 50
#define REPORT_TOP_MAX     5000
#define REPORT_MAX         ((size_t)16 << 20) /* the largest page written */
/* Past dates whose top candidates the page follows (a year of trading days), and of those
 * the dates listed candidate by candidate. */
#define REPORT_HISTORY_DATES 250
#define REPORT_HISTORY_TABLE 5
/* The settle time of a day's bars, minutes after midnight New York (SPEC 2a). */
#define REPORT_SETTLE_MINUTE (20 * 60 + 15)

/* "results/report/2026-11-20.html" into key (OBJ_KEY_MAX). */
void report_key(int32_t date, char *key);

/* One position of the portfolio, as the caller's snapshot holds it (NAN: unknown). */
struct report_position {
    char symbol[BAR_SYMBOL_MAX + 1];
    double qty, entry, price, value, return_pct;
    int rank; /* in that date's drawdown ranking; 0: not in it */
};

/* The portfolio against its target: the positions and the sell signal (the average return
 * of the best `ntop` positions against target_pct). */
struct report_portfolio {
    int32_t date;
    double target_pct;
    double average_pct; /* NAN when ntop is 0 */
    size_t ntop;
    int reached;
    const struct report_position *pos;
    size_t n;
};

/* A past candidate and how it did from its date to the report's date. */
struct report_since {
    int32_t date;
    int rank;
    char symbol[BAR_SYMBOL_MAX + 1];
    double then, now, since_pct; /* then split-adjusted to the report's date; NAN unknown */
};

/* Closes for a sparkline. */
struct report_closes {
    char symbol[BAR_SYMBOL_MAX + 1];
    struct results_closes c;
};

/* Everything a page shows; render takes it as it is (every string is escaped, every number
 * checked), so it can come from anywhere. */
struct report_data {
    int32_t date;
    int64_t generated_ms;
    size_t top;                    /* rows per table */
    const struct screen_row *rows; /* the screen of date, ascending by rank */
    size_t nrows;
    const struct report_closes *closes; /* ascending by symbol */
    size_t ncloses;
    const struct report_since *since; /* ascending by date then rank, dates before date */
    size_t nsince;
    int provisional;
    int64_t as_of_ms; /* when the data was fetched (provisional only; 0: unknown, not since) */
    const struct results_run *run;            /* NULL: no run recorded */
    const struct report_portfolio *portfolio; /* NULL: no section */
    const struct report_equity *equity;       /* NULL: no section */
    const char *problems[4];                  /* what could not be shown, and why */
    size_t nproblems;
};

/* Append the page to out. */
int report_render(const struct report_data *rd, struct buf *out);

struct report_opts {
    size_t top;                               /* rows per table; 0: REPORT_TOP_DEFAULT */
    int64_t now_ms;                           /* the time shown as generated */
    const struct report_portfolio *portfolio; /* NULL: no portfolio section */
    /* The bar store of os whose split log to use (the daily job's, which keeps it read:
     * barstore_keep_splits); NULL: the log is read from os. */
    struct barstore *bars;
};

/* Build the page of date (0: the date of the latest screen) from what the results in os
 * hold: the screen, closes.csv, the top-candidate history, the split log, the run record and
 * the backtest's equity.  Only the screen is required (ERR_NOTFOUND without it); a damaged
 * optional file is an error naming it, a missing one leaves its section out.  *date_out (may
 * be NULL) receives the date reported. */
int report_build(struct objstore *os, int32_t date, const struct report_opts *o, struct buf *out,
                 int32_t *date_out, struct diag *d);

struct report_published {
    int32_t date;
    size_t bytes;
    int latest; /* 1 when latest.html was written too */
    char key[OBJ_KEY_MAX];
};

/* Build the page and store it under report_key(date), and as latest.html unless a newer date
 * already has a report (conditional writes: two runs never turn latest.html back).  What the
 * daily job calls after each collection. */
int report_publish(struct objstore *os, int32_t date, const struct report_opts *o,
                   struct report_published *out, struct diag *d);

#endif
