/* results.h - what a collection leaves for readers (the bot, downloads, spreadsheets).
 *
 * Store layout (docs/definitions.md#results), every file CSV with a header row or small JSON:
 *   results/screen/YYYY/YYYY-MM-DD.csv  the full ranked screen of a date (by drawdown, every
 *                                       eligible symbol), columns as `screener screen --format
 *                                       csv`: date,rank,symbol,close,peak,peak_date,
 *                                       drawdown_pct,days_since_peak,change_pct,volume
 *   results/screen/latest.csv           the same file for the newest screened date (a stable
 *                                       name for download links)
 *   results/top_candidates.csv          the top candidates of every date screened so far: the
 *                                       appended history, same columns, ascending by date then
 *                                       rank
 *   results/closes.csv                  symbol,date,closes: each symbol's last RESULTS_CLOSES
 *                                       closes (split-adjusted as of date, ';'-separated,
 *                                       oldest first) for sparklines, sorted by symbol; only
 *                                       symbols with a bar in the last
 *                                       RESULTS_CLOSES_RECENT_DAYS stored days
 *   results/bars-1y.csv                 the bar archive of the last year and of the peak
 *                                       window before it (RESULTS_BARS_DAYS calendar days, so
 *                                       the year's first day has its whole 180-day peak):
 *                                       the bar CSV (symbol,date,open,... as codec/barcsv.h
 *                                       writes it), prices as stored (raw), sorted by date
 *                                       then symbol
 *   results/last_run.json               the last collection: when, what, how it went
 *
 * Every write is one atomic put; the history is read, merged and written back conditionally
 * (If-Match, or create-if-absent), retried when another writer got there first, so two runs
 * never lose each other's dates.  Rewriting the same date replaces that date's rows: the
 * files are derived from the bars and a rerun after a late bar corrects them.
 *
 * Readers validate what they read like any outside input and name the object, line and field
 * of anything wrong.
 */
#ifndef SCREEN_RESULTS_H
#define SCREEN_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "screen/screen.h"
#include "store/barstore.h"
#include "store/objstore.h"

#define RESULTS_LATEST_KEY "results/screen/latest.csv"
#define RESULTS_TOP_KEY    "results/top_candidates.csv"
#define RESULTS_CLOSES_KEY "results/closes.csv"
#define RESULTS_BARS1Y_KEY "results/bars-1y.csv"
#define RESULTS_RUN_KEY    "results/last_run.json"
/* Calendar days in bars-1y.csv, ending on the results' date: a year (366 days, as before) and
 * the default peak window before its first day. */
#define RESULTS_BARS_DAYS   (366 + SCREEN_WINDOW_DEFAULT - 1)
#define RESULTS_CLOSES      60 /* closes kept per symbol for sparklines */
#define RESULTS_TOP_DEFAULT 10 /* candidates per date in the history */
/* closes.csv leaves out symbols without a bar in this many of the latest stored days: a
 * delisted stock's old line is no sparkline. */
#define RESULTS_CLOSES_RECENT_DAYS 10
/* Conditional writes tried before giving up when other writers keep changing the object. */
#define RESULTS_WRITE_ATTEMPTS 8

/* "results/screen/2024/2024-11-22.csv" into key (OBJ_KEY_MAX). */
void results_screen_key(int32_t date, char *key);

/* A ranked screen in memory. */
struct results_screen {
    int32_t date;
    struct screen_row *rows; /* ascending by rank */
    size_t n, cap;
};

void results_screen_release(struct results_screen *s);

/* Write the full ranked screen of date (rows ascending by rank, all of the same date): the
 * dated file, and latest.csv too when latest is non-zero, unless latest.csv already holds a
 * newer date (a slower run that started earlier must not turn it back).  ERR_INVALID when a
 * row is of another date or out of rank order. */
int results_write_screen(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                         int latest, struct diag *d);

/* The newest date's results at once: what results_write_screen (with latest) and
 * results_append_top write, with their requests in flight together (objstore_batch): the
 * dated screen with the reads of latest.csv and of the history, then the two conditional
 * writes (latest.csv only once the dated screen is in).  Each keeps its own conditions,
 * retries and outcome: screen_err and screen_d are what results_write_screen gives, top_err
 * and top_d what results_append_top gives. */
struct results_day {
    int screen_err, top_err;
    struct diag screen_d, top_d;
    /* results_write_day_with: how the exports' writes went (what results_write_exports gives
     * once they are made). */
    int exports_err;
    struct diag exports_d;
};

void results_write_day(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                       size_t top, struct results_day *out);

/* closes.csv and bars-1y.csv as of date made from the bar store, ready to be written (what
 * results_write_exports writes).  Released by results_exports_release; a failure holds nothing. */
struct results_exports {
    struct buf bars, closes;
};

int results_exports_make(struct barstore *bs, int32_t date, struct results_exports *out,
                         struct diag *d);
void results_exports_release(struct results_exports *x);

/* results_write_day, and when x is not NULL the exports' two writes in the same first round
 * as the dated screen and the reads (they depend on nothing the day's results write): one
 * round trip fewer than writing them after, each write with the outcome it has alone. */
void results_write_day_with(struct objstore *os, int32_t date, const struct screen_row *rows,
                            size_t n, size_t top, const struct results_exports *x,
                            struct results_day *out);

/* The newest stored date's results, written as a collection writes them once it has stored
 * bars: that date screened in full by drawdown (the default screen), then its dated screen,
 * latest.csv, its first RESULTS_TOP_DEFAULT rows in the history and the exports made from the
 * bar store (results_exports_make), written together (results_write_day_with).  out->date is
 * the date screened (0: no bars stored, nothing written, ERR_OK) and out->rows its ranking,
 * ascending by rank (malloc'd, the caller frees them; NULL when out->n is 0), kept when a write
 * failed.  Each part that was not written is logged; the first failure is returned, d naming
 * the part (and a failure to screen the date: out->date 0). */
struct results_newest {
    int32_t date;
    struct screen_row *rows;
    size_t n;
};

int results_write_newest(struct objstore *os, struct barstore *bs, struct results_newest *out,
                         struct diag *d);

/* Whether results_write_newest's files are there for date: the dated screen, latest.csv of
 * date (or of a later date; or without rows, as the screen of a date nobody is eligible on),
 * closes.csv and bars-1y.csv.  *current is 0 when one is missing, unreadable or older: an
 * import stopped before its results, or results taken away. */
int results_newest_current(struct objstore *os, int32_t date, int *current, struct diag *d);

/* Read a date's screen (date == 0: latest.csv).  ERR_NOTFOUND when there is none. */
int results_read_screen(struct objstore *os, int32_t date, struct results_screen *out,
                        struct diag *d);

/* Parse a screen CSV (the format above; name is for messages).  Rows are appended to out and
 * must all carry one date, which goes to out->date. */
int results_parse_screen(const char *name, const char *data, size_t len, struct results_screen *out,
                         struct diag *d);

/* The latest screen for a long-lived reader (the bot's server, a warm Lambda): parsed again
 * only when latest.csv changed, judged by its etag (the object is still read: the store's
 * etag is what tells).  Zero-initialise; not thread-safe. */
struct results_latest {
    char etag[OBJ_ETAG_MAX];
    struct results_screen screen;
    int valid;
};

int results_read_latest(struct objstore *os, struct results_latest *cache, struct diag *d);
void results_latest_release(struct results_latest *cache);

/* Put the first `top` rows of a date's screen (all of them when top is 0) into the history,
 * replacing that date's rows if it already had some. */
int results_append_top(struct objstore *os, int32_t date, const struct screen_row *rows, size_t n,
                       size_t top, struct diag *d);

/* Past picks from day one: put into the history the first `top` rows of the screen of
 * every stored date it lacks, computed with the full-history screen (the default screen by
 * drawdown, as the daily results), so that a backfill or an import shows how past candidates
 * did from the first run.  Incremental: dates already in the history are never screened
 * again, and a date is screened only when its window holds at least min_bars stored dates
 * (before that no symbol can be eligible, so such a date is known to have no candidates).
 * Missing dates closer to each other than the window share one pass over the store; a
 * backfill is one pass, a daily run after the newest date was appended none.  A date that
 * was screened and had no eligible symbol is screened again by the next call (rare: a gap
 * in the data).
 *
 * deadline_ms (wall clock, 0: none): past it, no further date is screened; what was screened
 * is written and stats->complete is 0, so the next call continues.  The rows are merged into
 * the history in one conditional write (retried like results_append_top); a date another
 * writer put there meanwhile keeps its rows. */
struct results_fill_stats {
    size_t dates_stored;  /* stored dates */
    size_t dates_missing; /* of them, with a full enough window and not in the history */
    size_t dates_added;   /* dates put into the history */
    size_t passes;        /* passes over the store */
    size_t days_read;     /* days the passes read */
    int complete;         /* 0: the deadline stopped it */
};

int results_fill_top(struct objstore *os, struct barstore *bs, size_t top, int64_t deadline_ms,
                     struct results_fill_stats *stats, struct diag *d);

/* The whole history, ascending by date then rank (dates of any number of rows). */
struct results_history {
    struct screen_row *rows;
    size_t n, cap;
};

void results_history_release(struct results_history *h);
int results_read_top(struct objstore *os, struct results_history *out, struct diag *d);
int results_parse_top(const char *name, const char *data, size_t len, struct results_history *out,
                      struct diag *d);

/* One symbol's recent closes (oldest first, at most RESULTS_CLOSES) and the date of the last
 * one.  ERR_NOTFOUND when the file or the symbol is absent. */
struct results_closes {
    int32_t date;
    double closes[RESULTS_CLOSES];
    size_t n;
};

int results_read_closes(struct objstore *os, const char *symbol, struct results_closes *out,
                        struct diag *d);
/* Find symbol in a closes.csv (name is for messages): the header and symbol's row are
 * checked, the other rows passed over.  symbol NULL: check every row in full (symbols in
 * order, each once). */
int results_parse_closes(const char *name, const char *data, size_t len, const char *symbol,
                         struct results_closes *out, struct diag *d);

/* Every symbol's closes, in the file's order (symbols ascending), each row checked as above
 * before fn sees it; a non-zero return from fn stops the reading and is returned.  The
 * _read_ form reads closes.csv from the store (ERR_NOTFOUND when absent). */
typedef int (*results_closes_fn)(void *ctx, const char *symbol, const struct results_closes *c);
int results_parse_closes_each(const char *name, const char *data, size_t len, results_closes_fn fn,
                              void *ctx, struct diag *d);
int results_read_closes_each(struct objstore *os, results_closes_fn fn, void *ctx, struct diag *d);

/* Write closes.csv and bars-1y.csv as of date from the bar store (reads the last year).  Every
 * company is named as it is on date: a renamed company's bars from before the change are
 * under its new symbol (docs/definitions.md#symbol-changes). */
int results_write_exports(struct objstore *os, struct barstore *bs, int32_t date, struct diag *d);

/* The last collection run. */
struct results_run {
    int64_t finished_ms; /* Unix milliseconds */
    int32_t date;        /* newest stored trading day after the run (0: none) */
    int32_t end;         /* last trading day asked for */
    int complete;        /* 1 when nothing is left for a rerun */
    uint64_t symbols, symbols_fetched, symbols_failed;
    uint64_t bars_new, requests, retries, errors;
    int64_t duration_ms;
    char error[256]; /* "" when none; never a secret */
    /* Provisional bars (docs/definitions.md#provisional-and-final-bars): the last day whose
     * bars were final when the run fetched them (0: not recorded, then all are final), and
     * the stored bars whose values the vendor changed, recorded as revisions.  Optional in
     * the record (older records lack them). */
    int32_t final_day;
    uint64_t bars_revised;
    uint64_t symbol_changes_new; /* optional too: name changes the run stored */
};

/* Recompute the written results (the dated screen files and the top candidates' history) of
 * every date in [from, to] that has any, from the bars and splits stored now: after a
 * revision or a late split changed the bars those results were built on
 * (docs/definitions.md#when-a-bar-is-final).  so: the screen the results were made with; top:
 * rows per date in the history.  *rewritten: the dates rewritten. */
int results_rewrite(struct objstore *os, struct barstore *bs, const struct screen_opts *so,
                    int32_t from, int32_t to, size_t top, size_t *rewritten, struct diag *d);

/* 1 when results of `date` were built on bars still provisional at the run r: a date after
 * its final day, up to the date it screened (a later date was stored by something else since,
 * an import, whose bars are final; a run that screened none: every date after its final
 * day). */
int results_run_provisional(const struct results_run *r, int32_t date);

int results_write_run(struct objstore *os, const struct results_run *r, struct diag *d);
/* What results_write_run writes (RESULTS_RUN_KEY), into out (released by the caller); on a
 * failure out is left as it was. */
int results_run_json(const struct results_run *r, struct buf *out, struct diag *d);
/* ERR_NOTFOUND when no run was recorded. */
int results_read_run(struct objstore *os, struct results_run *out, struct diag *d);
/* Parse the run record (name is for messages): every member above is required with its type
 * (dates "YYYY-MM-DD" or null for 0), except final_day, bars_revised and symbol_changes_new;
 * members it does not know are ignored. */
int results_parse_run(const char *name, const char *data, size_t len, struct results_run *out,
                      struct diag *d);

#endif
