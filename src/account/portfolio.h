/* portfolio.h - the user's positions as the strategy sees them: where each stands in the
 * drawdown ranking, the daily snapshots kept in the store, and the sell signal.
 *
 * Snapshots (docs/definitions.md#portfolio-snapshots), one CSV per trading date with a header row,
 * rows sorted by symbol:
 *
 *   portfolio/snapshots/YYYY/YYYY-MM-DD.csv
 *     date,symbol,qty,avg_entry_price,current_price,market_value,unrealized_pl,
 *     unrealized_return_pct,drawdown_rank
 *
 * qty is signed (negative for a short), money is the shortest exact decimal, the return is in
 * percent with four decimals, and a value the API did not give is an empty field; so is the
 * rank of a stock that is not in that date's screen.  A date with no positions is a header
 * alone: "flat that day" is a fact too.
 *
 * The date is the trading date whose positions the snapshot records: today in New York from
 * the open (09:30), before that the previous trading day (weekends and holidays: the last
 * trading day).  Idempotent per date: the same content again writes nothing; content that
 * differs replaces the stored snapshot of that date (prices move after the close too, and
 * the last capture of the day is the closest to its end), conditionally (If-Match, or
 * create-if-absent), so two writers never interleave and a reader sees the old file or the
 * new one, never half of one.  Dates before the snapshot date are never written: once a
 * trading date is over, its snapshot is history.
 *
 * The sell signal: the top PORTFOLIO_TOP positions by unrealized return (ties by symbol;
 * positions whose return is unknown are left out), their average, and whether it reaches the
 * profit target.  The alert marker PORTFOLIO_ALERT_KEY makes the alert fire once per
 * crossing: a small JSON object whose "state" is "fired" from the first day the average
 * reaches the target and "armed" again from the first day it is found below (or there are
 * no positions), so a later crossing fires again.  Every change is conditional (create-if-
 * absent, or If-Match on the state read), so of two collectors that see the same crossing
 * exactly one fires; nothing is ever deleted (the collector may only read and write).
 * Most days nothing is written: no marker and below the target, or fired and still above.
 */
#ifndef ACCOUNT_PORTFOLIO_H
#define ACCOUNT_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "account/trading.h"
#include "screen/results.h"
#include "store/objstore.h"

#define PORTFOLIO_SNAPSHOT_PREFIX "portfolio/snapshots/"
#define PORTFOLIO_ALERT_KEY       "portfolio/alerts/target-reached"
#define PORTFOLIO_TOP             5
#define PORTFOLIO_TARGET_DEFAULT  100.0
#define PORTFOLIO_CSV_HEADER                                                                       \
    "date,symbol,qty,avg_entry_price,current_price,market_value,unrealized_pl,"                    \
    "unrealized_return_pct,drawdown_rank\n"
#define PORTFOLIO_SNAPSHOT_MAX ((size_t)32 << 20)

/* One position and where it stands. */
struct portfolio_row {
    char symbol[BAR_SYMBOL_MAX + 1];
    int64_t qty; /* millionths of a share, signed: negative for a short; TRADING_NONE */
    int64_t avg_entry_price, current_price, market_value, unrealized_pl; /* or TRADING_NONE */
    double return_pct;                                                   /* NAN when unknown */
    int rank;            /* in the screen the portfolio was ranked against; 0: not in it */
    double drawdown_pct; /* from that screen; NAN when not in it */
};

struct portfolio {
    int32_t date;               /* the snapshot date */
    int32_t screen_date;        /* the screen the ranks come from; 0: none */
    size_t screen_n;            /* stocks ranked in it */
    struct portfolio_row *rows; /* sorted by symbol */
    size_t n;
};

void portfolio_release(struct portfolio *p);

/* The trading date a snapshot taken at now_ms (Unix ms) records. */
int32_t portfolio_snapshot_date(int64_t now_ms);

/* "portfolio/snapshots/2026/2026-11-20.csv" into key (OBJ_KEY_MAX). */
void portfolio_snapshot_key(int32_t date, char *key);

/* The positions as a portfolio of date, ranked against screen (NULL: no ranks). */
int portfolio_from_positions(const struct trading_positions *pos,
                             const struct results_screen *screen, int32_t date,
                             struct portfolio *out, struct diag *d);

/* The snapshot CSV of p, with ranks only when the screen is of p's date (a rank is a fact of
 * one date).  Appended to out. */
int portfolio_snapshot_csv(const struct portfolio *p, struct buf *out);

/* Parse a snapshot CSV (name is for messages): the header above, one date throughout, rows
 * sorted by symbol without repeats.  ERR_PARSE naming the line and field. */
int portfolio_parse_snapshot(const char *name, const char *data, size_t len, struct portfolio *out,
                             struct diag *d);

enum portfolio_write {
    PORTFOLIO_CREATED,   /* no snapshot of the date was stored */
    PORTFOLIO_UNCHANGED, /* the same one was: nothing written */
    PORTFOLIO_REPLACED,  /* another one was, now replaced */
};
const char *portfolio_write_name(enum portfolio_write w);

/* Store p's snapshot as described above.  ERR_CONFLICT when other writers kept changing it
 * through every attempt. */
int portfolio_write_snapshot(struct objstore *os, const struct portfolio *p,
                             enum portfolio_write *outcome, struct diag *d);

/* The dates with a stored snapshot, ascending (malloc'd; free it). */
int portfolio_snapshot_dates(struct objstore *os, int32_t **dates, size_t *n, struct diag *d);

/* ---- the sell signal ---- */

struct portfolio_signal {
    double target_pct;
    size_t positions;          /* in the portfolio */
    size_t unknown;            /* left out: return unknown */
    size_t ntop;               /* at most PORTFOLIO_TOP */
    size_t top[PORTFOLIO_TOP]; /* indices into the portfolio's rows, best first */
    double average_pct;        /* of the top; NAN when ntop is 0 */
    int reached;               /* average_pct >= target_pct */
};

void portfolio_signal(const struct portfolio *p, double target_pct, struct portfolio_signal *out);

/* Parse a profit target in percent ("100", "50.5"): finite, above -100 and at most 10^6. */
int portfolio_parse_target(const char *s, double *out);

enum portfolio_alert {
    PORTFOLIO_ALERT_NONE,    /* below the target, and armed (or no marker yet) */
    PORTFOLIO_ALERT_FIRE,    /* reached, the marker set to "fired" now: tell the users */
    PORTFOLIO_ALERT_ALREADY, /* reached, and already told */
    PORTFOLIO_ALERT_RESET,   /* below the target again: the marker set back to "armed" */
};
const char *portfolio_alert_name(enum portfolio_alert a);

/* Update the alert marker from the signal of date; its content also says when the state
 * changed and at what average: {"state":"fired","date":"2026-11-20","average_pct":104.2,
 * "target_pct":100}.  A marker that cannot be read counts as armed (a repeated alert is
 * better than a missed one).  ERR_CONFLICT when other writers kept changing it. */
int portfolio_alert_update(struct objstore *os, const struct portfolio_signal *s, int32_t date,
                           enum portfolio_alert *out, struct diag *d);

#endif
