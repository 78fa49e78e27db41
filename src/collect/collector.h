/* collector.h - collect daily bars for a universe from Alpaca into the bar store.
 *
 * Plan: each symbol is fetched from the day after its last stored bar (or from `start`), up to
 * the last trading day whose bar is there (16:20 New York).  Bars fetched before their date's
 * settle time (20:15) are stored as provisional; every run fetches again the last
 * `refetch_days` trading days and every day stored as provisional, and records changed values
 * as revisions.  Symbols that start on the same day share requests:
 * batches as long as the URL allows, and each batch's date range cut into a few chains of
 * pages that run concurrently.  Few chains keep the requests within a page or so of the floor
 * ceil(bars / 10,000); several keep `concurrency` requests in flight.
 *
 * Commit: a chain's bars are written when the chain is complete, and the chains of one batch
 * are written in date order, so a run killed at any instant leaves each symbol's stored bars
 * without holes: a rerun starts after the last stored bar and completes the gap.  Written parts
 * depend only on the plan, never on the order in which responses arrive, so the store is the
 * same whatever the concurrency.
 *
 * Errors: data-quality problems (a bad bar, a duplicate date, a symbol without data, a symbol
 * the API does not know) are reported through on_problem, counted and skipped.  Transient
 * failures are retried by the fetcher; a chain that still fails is given up (with the chains
 * after it in its batch), the rest goes on, and the run ends with ERR_UNAVAILABLE (or the
 * failure's own code): incomplete, a rerun completes it.  Critical failures stop the run at
 * once: credentials refused (ERR_AUTH), a store write failure, pages that never end.  A run
 * given a deadline starts no chain past it and ends incomplete (ERR_TIMEOUT) when it left
 * symbols out.
 */
#ifndef COLLECT_COLLECTOR_H
#define COLLECT_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "net/fetch.h"
#include "store/barstore.h"

struct collect_stats;

#define COLLECT_READ_AHEAD_MAX   128
#define COLLECT_READ_AHEAD_SCANS 2

struct collect_opts {
    const char *data_url; /* e.g. https://data.alpaca.markets */
    const char *key_id, *secret_key;
    const char *feed;   /* "sip" (default) or "iex" */
    int32_t start, end; /* INT32_MIN: incremental start / the last final trading day */
    int64_t now_ms;     /* wall clock for "today" and the 15-minute delay; 0: the clock */
    int close_minute;   /* New York minute from which today's bar is there to fetch */
    int settle_minute;  /* New York minute from which today's bar is final */
    /* The settle window: trading days re-fetched at the end of the range (besides the days
     * stored provisional), their changes recorded as revisions
     * (docs/definitions.md#provisional-and-final-bars).  0 (the default): SCREENER_SETTLE_DAYS,
     * else COLLECT_SETTLE_DAYS_MIN; at least COLLECT_SETTLE_DAYS_MIN, at most
     * COLLECT_SETTLE_DAYS_MAX. */
    int refetch_days;
    int32_t history_days; /* calendar days fetched for a symbol with no stored bars */
    size_t scan_back_days;
    size_t max_url;           /* request-target budget in bytes */
    size_t chain_max_bars;    /* bars held in memory per chain */
    int skip_actions;         /* do not ask for splits */
    int actions_back_days;    /* corporate actions asked for this far back (default 45) */
    int actions_ahead_days;   /* and this far ahead of the end (default 7) */
    struct fetch_opts fetch;  /* concurrency, retries, timeout, limiter */
    struct http_client *http; /* borrowed */
    /* Wall-clock time (Unix milliseconds, like clock_wall_ms and Lambda's deadline header)
     * from which no new chain is started; 0: none.  Chains in flight still finish, the
     * symbols left are counted in symbols_not_attempted, and the run ends incomplete
     * (ERR_TIMEOUT), so a rerun completes it.  The caller leaves its own margin: the daily
     * job (daily/daily.h) passes the Lambda invocation's deadline minus 10 s. */
    int64_t deadline_ms;
    /* Read ahead for what the caller does next, in the round that reads the settle window
     * alongside the fetch (a daily run: its screen of the newest day, then its exports): for
     * each scan, the parts of the stored days of its last read_ahead_days calendar days up to
     * the end (at most COLLECT_READ_AHEAD_MAX objects, else none), held past the collection
     * for the next read of each, a part of several ranges for one read by each
     * (objstore_prefetch; the caller drops what is left).  0 and 0: none (what the write did
     * not read is dropped). */
    int read_ahead_days[COLLECT_READ_AHEAD_SCANS];
    /* Told about each data-quality problem. */
    void (*on_problem)(void *ctx, const char *symbol, const char *what);
    /* Told after each page. */
    void (*on_progress)(void *ctx, const struct collect_stats *st);
    void *ctx;
};

struct collect_stats {
    size_t symbols;         /* in the universe */
    size_t symbols_current; /* nothing to fetch */
    size_t symbols_planned; /* fetched */
    size_t symbols_done;    /* all their chains written */
    size_t symbols_no_data; /* fetched, nothing came back */
    size_t symbols_failed;  /* given up after retries */
    size_t symbols_unknown; /* refused by the API as unknown (400 "invalid symbol") */
    /* Not asked for, or not for their whole range, because the deadline came first. */
    size_t symbols_not_attempted;
    size_t chains, chains_done;
    size_t bars_expected; /* estimate: symbols x trading days */
    size_t bars_received, bars_new, bars_same, bars_bad, bars_conflict, bars_duplicate;
    size_t bars_revised;     /* stored bars whose values changed: written as revisions */
    size_t bars_finalized;   /* provisional bars confirmed unchanged after their settle time */
    size_t bars_provisional; /* new or revised bars fetched before their settle time */
    int32_t refetch_from;    /* first day re-fetched (the settle window; INT32_MAX: none) */
    int32_t final_day;       /* the last day whose bars are final at this run's clock */
    /* The first date whose stored bars or splits this run changed (a revision, or a split
     * stored now with that ex-date or later); INT32_MAX when none: results written for a date
     * from then on are out of date (results_rewrite). */
    int32_t changed_from;
    size_t splits_received, splits_new, splits_conflict;
    /* Symbol changes (docs/definitions.md#symbol-changes): received, and stored now. */
    size_t symbol_changes_received, symbol_changes_new;
    size_t bar_requests, action_requests;
    size_t recent_data_refusals; /* 403s for the last 15 minutes, each retried earlier */
    size_t closed_days_learned;  /* weekdays without any bar, recorded as closed */
    size_t bar_pages;            /* successful bar pages */
    size_t request_floor;        /* ceil(bars received / 10,000) */
    struct fetch_stats fetch;    /* all requests */
    int32_t end;                 /* last trading day asked for */
    int32_t first_start;         /* earliest start asked for (INT32_MAX when none) */
    int64_t elapsed_ms;
};

void collect_opts_default(struct collect_opts *o);

/* The settle window's bounds, in trading days: at least the last 3 (SPEC: "at least"), at
 * most what the collector's look-back (scan_back_days) can find again. */
#define COLLECT_SETTLE_DAYS_MIN 3
#define COLLECT_SETTLE_DAYS_MAX 10

/* The settle window from SCREENER_SETTLE_DAYS (unset or empty: COLLECT_SETTLE_DAYS_MIN);
 * ERR_USAGE naming the variable and the bounds when it is not a whole number within them. */
int collect_settle_days(int *out, struct diag *d);

/* Collect bars (and split facts and symbol changes) for symbols (any order; duplicates
 * ignored).  A symbol whose company was renamed (a stored symbol change) is asked for under
 * its name at the end of the range, continuing the history stored under the old name; bars
 * are stored under the symbol their company had on their date. */
int collect_run(struct barstore *bs, const char *const *symbols, size_t n,
                const struct collect_opts *o, struct collect_stats *st, struct diag *d);

#endif
