/* alpaca.h - the Alpaca Market Data API v2 wire format: request URLs and response parsers
 * for daily bars and corporate actions (splits).  Pure functions, no I/O.
 *
 * A bars page is checked page-level first (an object with a "bars" object and a string-or-
 * null "next_page_token"; anything else is ERR_PARSE, a page to fetch again) and then bar by
 * bar: a malformed bar (missing field, wrong type, a timestamp that is not midnight in New
 * York), a bar that fails bar_validate (non-positive price, high < low, ...) and two bars of
 * one symbol on one date are data-quality problems: reported through on_problem and left
 * out, never stored.
 */
#ifndef COLLECT_ALPACA_H
#define COLLECT_ALPACA_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "codec/bar.h"
#include "codec/split.h"
#include "codec/symchange.h"

#define ALPACA_DEFAULT_DATA_URL "https://data.alpaca.markets"
#define ALPACA_PAGE_LIMIT       10000
#define ALPACA_ACTIONS_LIMIT    1000
#define ALPACA_TOKEN_MAX        1024

/* What a problem callback hears: the symbol ("" when unknown) and a sentence. */
typedef void (*alpaca_problem_fn)(void *ctx, const char *symbol, const char *what);

/* GET {base}/v2/stocks/bars?symbols=A,B&timeframe=1Day&start=..&end=..&limit=10000
 *     &adjustment=raw&feed=..&sort=asc[&page_token=..]
 * start and end are instants (Unix ms), sent as RFC 3339 UTC: a bare date would leave it to
 * the server which instant of the day is meant. */
int alpaca_bars_url(struct buf *out, const char *base, const char *const *symbols, size_t n,
                    int64_t start_ms, int64_t end_ms, const char *feed, const char *page_token);

/* GET {base}/v1/corporate-actions?symbols=..&types=forward_split,reverse_split,unit_split,
 *     stock_dividend,name_change&start=..&end=..&limit=1000[&page_token=..] */
int alpaca_actions_url(struct buf *out, const char *base, const char *const *symbols, size_t n,
                       int32_t start, int32_t end, const char *page_token);

struct alpaca_page {
    struct barvec bars;                /* good bars, in page order */
    char next_token[ALPACA_TOKEN_MAX]; /* "" when this was the last page */
    size_t bad;                        /* bars left out */
};

void alpaca_page_init(struct alpaca_page *p);
void alpaca_page_release(struct alpaca_page *p);

/* Parse one bars page, appending to p->bars (p->next_token and p->bad are replaced). */
int alpaca_parse_bars(const char *body, size_t len, struct alpaca_page *p,
                      alpaca_problem_fn on_problem, void *ctx, struct diag *d);

/* Parse one corporate-actions page.  Forward and reverse splits, stock dividends (a split of
 * 1 + rate for 1 on the ex-date) and unit splits (new_rate for old_rate of old_symbol on the
 * effective date) are appended to out as price factors; name changes (old_symbol trades as
 * new_symbol from the process date) to changes, when not NULL.  An item that is malformed, or
 * whose factor is outside the sane range of split.h, is told to on_problem and left out; other
 * action types are ignored.  *next_token gets "" on the last page. */
int alpaca_parse_actions(const char *body, size_t len, struct splitvec *out,
                         struct symchangevec *changes, char next_token[ALPACA_TOKEN_MAX],
                         alpaca_problem_fn on_problem, void *ctx, struct diag *d);

/* An RFC 3339 timestamp ("2024-01-02T05:00:00Z", fractions and offsets allowed) to Unix ms. */
int alpaca_parse_time(const char *s, size_t n, int64_t *ms);

/* A JSON price to millionths: finite, 0 < x < 10^12 is not checked here (bar_validate does);
 * only representability. */
int alpaca_price(double x, int64_t *out);

/* 1 when an answer is the free plan's refusal of the last 15 minutes of SIP data (403
 * "subscription does not permit querying recent SIP data", or 422 "... from the past 15
 * minutes" on older paths): not a credentials failure. */
int alpaca_is_recent_data_refusal(int status, const char *body, size_t len);

#endif
