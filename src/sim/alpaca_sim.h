/* alpaca_sim.h - a fake Alpaca on 127.0.0.1, for `screener demo` (and, extended by the tests'
 * fault layer through its hooks, for the collector's tests).
 *
 * It serves a deterministic synthetic market (sim/market.h) through the endpoints the
 * collector uses, in their real wire format (docs/alpaca.md):
 *
 *   GET /v2/stocks/bars          daily bars, paged (limit, page_token), raw or split-adjusted
 *   GET /v1/corporate-actions    forward, reverse and unit splits, stock dividends and name
 *                                changes, paged
 *   GET /v2/assets[/SYMBOL]      the trading API's asset list
 *   GET /v2/account              the trading account (money as JSON strings)
 *   GET /v2/positions            its positions, valued at the market's latest close
 *   GET /v2/account/portfolio/history   daily equity (timeframe 1D, period nD/nW/nM/nA)
 *   GET /iwb_holdings.csv        an iShares IWB holdings file naming every market symbol
 *   GET /__sim/stats             the counters below as JSON (no auth, not rate limited)
 *   POST /__sim/reset            zero the counters, the request ordinals and the windows
 *   POST /__sim/portfolio        replace the scripted account and positions (a document as
 *                                alpaca_sim_set_portfolio takes); 400 naming what is wrong
 *   POST /__sim/positions        replace the positions only (a JSON array of them)
 *   other /__sim/ paths          the hooks' (control), else 404
 *
 * The trading account is scripted: a JSON document
 *
 *   {"account": {"cash": "25000", ...},
 *    "positions": [{"symbol": "AAA", "qty": "10", "avg_entry_price": "50.5"}, ...]}
 *
 * Every member given is served as given (nulls and garbage included, for tests); what is
 * not given is computed: a position's current_price is its symbol's close on the market's
 * latest trading day up to today (lastday_price the close before; null for a symbol not in
 * the market), market_value, cost_basis, unrealized_pl and _plpc, change_today and side
 * follow; the account's equity is cash plus the positions' market values, last_equity the
 * same at the previous closes.  Without a document: a fresh paper account, $100,000 in cash
 * and no positions.
 *
 * The /v1 and /v2 endpoints check the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers and
 * are rate limited by a sliding window, with two budgets counted apart as Alpaca does (the
 * market data API: bars and corporate actions; the trading API: assets, account, positions,
 * history), each of rate_limit requests; every answer past the credential check carries
 * X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix seconds when the oldest
 * request in the window leaves it).  What happens to a request, in order:
 *
 *   1. request target longer than max_url: 414 with nginx's HTML page;
 *   2. unknown path: 404; not GET: 405; the holdings file is served here (no auth, no limit);
 *   3. bad or missing credentials: 403 {"message":"forbidden."} (or 401, auth_status);
 *   4. over the rate limit: 429 {"message":"too many requests."} with Retry-After (none with
 *      no_retry_after: X-RateLimit-Reset says when);
 *   5. a bars request gets the next bars ordinal (1, 2, ...), a trading request (account,
 *      positions, history) the next trading ordinal; the before hook may answer it instead;
 *   6. the endpoint answers: 400/422 JSON errors for bad parameters, else 200; the page hook
 *      sees a bars page before it is written, the money hook each money member of the
 *      trading answers, the after hook the finished answer.
 *
 * Time comes from the clock source (base/clock.h), so tests inject it; nothing here sleeps
 * but an answer held (latency_ms, and what a hook asks for: hold_ms), through clock_sleep_ms.
 */
#ifndef SIM_ALPACA_SIM_H
#define SIM_ALPACA_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "codec/split.h"
#include "codec/symchange.h"
#include "net/httpd.h"

enum alpaca_sim_endpoint {
    ALPACA_SIM_EP_BARS,
    ALPACA_SIM_EP_CORPORATE_ACTIONS,
    ALPACA_SIM_EP_ASSETS,
    ALPACA_SIM_EP_HOLDINGS,
    ALPACA_SIM_EP_ACCOUNT,
    ALPACA_SIM_EP_POSITIONS,
    ALPACA_SIM_EP_HISTORY,
    ALPACA_SIM_EP_OTHER,
    ALPACA_SIM_EP_COUNT_
};

struct alpaca_sim;

#define ALPACA_SIM_LATENCY_MAX_MS 60000

/* One authenticated API request within the rate limit, as the hooks see it. */
struct alpaca_sim_call {
    struct alpaca_sim *sim;
    const struct httpd_request *req;
    enum alpaca_sim_endpoint ep;
    uint64_t ordinal;    /* the bars or trading ordinal (from 1); 0 for other endpoints */
    long hook_data;      /* the hooks' own, from one hook to the next; starts at 0 */
    const char *altered; /* set by a hook that changed the answer: a name for the log, and
                            the request counts in alpaca_sim_stats.altered */
    int64_t hold_ms;     /* hold the finished answer this long: latency_ms, and what a hook
                            adds (cut short when the server stops) */
};

/* A bar of a bars page: prices in millionths of a dollar, as written. */
struct alpaca_sim_page_bar {
    const char *symbol; /* the simulator's */
    char t[24];         /* "2024-01-02T05:00:00Z" */
    int64_t o, h, l, c, vw;
    int64_t v, n;
    const char *o_text; /* when set, written as the "o" value instead of o, as is */
};

/* A bars page laid out: bars in order (a symbol's bars consecutive), with room for one more
 * (cap > n); next_token is "" on the last page; first_token asks for this very page again. */
struct alpaca_sim_page {
    struct alpaca_sim_page_bar *bars;
    size_t n, cap;
    char next_token[96], first_token[96];
};

/* Extension points, so that a layer outside the simulator (the tests' faults) can change
 * what it answers without the simulator knowing what for.  Every function may be NULL; all
 * are called without the simulator's lock, from the server's threads. */
struct alpaca_sim_hooks {
    void *ctx;
    /* Whether a symbol's bars are never served (asked once per symbol by alpaca_sim_new). */
    int (*hides)(void *ctx, const char *symbol);
    /* Before the endpoint answers: return 1 after answering r (or setting r->action). */
    int (*before)(void *ctx, struct alpaca_sim_call *call, struct httpd_response *r);
    /* A bars page before it is written: may change, add (up to cap) or drop bars, tokens. */
    void (*page)(void *ctx, struct alpaca_sim_call *call, struct alpaca_sim_page *p);
    /* A money member of a trading answer: NULL writes it as computed, "" leaves it out, other
     * text is written as its JSON value.  object is "account", "position" or "history" (its
     * equity values; "" leaves them as computed). */
    const char *(*money)(void *ctx, struct alpaca_sim_call *call, const char *object,
                         const char *member);
    /* After the endpoint answered (any status): may change the answer. */
    void (*after)(void *ctx, struct alpaca_sim_call *call, struct httpd_response *r);
    /* A request to a /__sim/ path the simulator does not serve: return 1 after answering. */
    int (*control)(void *ctx, struct alpaca_sim *s, const struct httpd_request *req,
                   struct httpd_response *r);
};

/* Answers as Alpaca's servers give them: a JSON body with its content type, and nginx's
 * HTML error page. */
void alpaca_sim_reply_json(struct httpd_response *r, int status, const char *json);
void alpaca_sim_reply_nginx(struct httpd_response *r, int status, const char *reason);
/* 429 {"message":"too many requests."} as this simulator answers it: with Retry-After
 * (retry_after_s) unless no_retry_after. */
void alpaca_sim_reply_429(const struct alpaca_sim *s, struct httpd_response *r,
                          int64_t retry_after_s);

/* "SYM:YYYY-MM-DD:NEW:OLD", e.g. "ABC:2026-06-10:4:1" (4-for-1) or "XYZ:2026-08-03:1:20".
 * Rates may have decimals. */
int alpaca_sim_split_parse(const char *spec, struct split *out, struct diag *d);

/* "OLD:NEW:YYYY-MM-DD", e.g. "FB:META:2022-06-09". */
int alpaca_sim_rename_parse(const char *spec, struct symchange *out, struct diag *d);

struct alpaca_sim_opts {
    /* The market (see struct market_opts). */
    uint64_t seed;               /* default 42 */
    size_t nsymbols;             /* default 520 */
    int32_t first_day, last_day; /* default 2026-11-20 and three years before */

    const char *key_id, *secret; /* default "SIMKEY" / "SIMSECRET"; copied */
    int auth_status;             /* answer to bad credentials: 403 (default) or 401 */
    size_t page_size;            /* most bars per page whatever the limit; default 10000 */
    size_t max_url;              /* longest request target; default 8192 bytes */
    size_t rate_limit;           /* requests per window; default 200 */
    int64_t rate_window_ms;      /* default 60000 */
    /* A bars request naming a symbol the market does not have gets 400 "invalid symbol: X"
     * (the real API may answer so) instead of leaving it out. */
    int strict_symbols;
    /* The free ("Basic") plan, the default: SIP bars end 15 minutes before the simulator's
     * clock, and a request whose end reaches into those 15 minutes gets 403 "subscription
     * does not permit querying recent SIP data".  0: a paid plan, no delay. */
    int free_plan;
    /* 429 answers carry only the X-RateLimit-* headers, no Retry-After (as Alpaca's data API
     * is reported to do); clients must wait until X-RateLimit-Reset. */
    int no_retry_after;
    /* Daily bars settle at 20:00 New York of their day, by the simulator's clock (the default;
     * 0: a bar is final as soon as it is served).  Before that a day's bar is incomplete, as
     * Alpaca's is until the extended-hours session ends: its volume, trade count and VWAP are
     * lower, and for some symbols the low (late prints below it) or the close (a late trade)
     * is not yet the final one (docs/alpaca.md#when-a-daily-bar-is-final). */
    int settling;
    /* Trading days from a corporate action's ex-date to its process date (default 0).  The
     * corporate-actions endpoint filters start/end on the process date, as Alpaca does, and
     * with a delay an action is not served before its process date by the simulator's clock:
     * a split published late, after its raw bars already show the new share basis. */
    int actions_delay;
    /* Every answer is held this long before it goes (default 0; at most
     * ALPACA_SIM_LATENCY_MAX_MS): the round trip over the internet and the server's own time,
     * which a real request pays and the simulator, on the same machine, does not.  Held
     * answers of different connections wait at once.  POST /__sim/latency?ms=N changes it. */
    int64_t latency_ms;

    /* Injected splits: bars before ex_date are scaled (prices by new/old, volume by old/new)
     * and the split is listed by /v1/corporate-actions.  The symbol must be in the market. */
    const struct split *splits;
    size_t nsplits;
    /* Injected unit splits (old_symbol = new_symbol = the split's symbol, effective on ex_date)
     * and stock dividends (rate = new_rate / old_rate - 1): bars before the date are scaled as
     * for a split, and the action is listed under "unit_splits" / "stock_dividends". */
    const struct split *unit_splits;
    size_t nunit_splits;
    const struct split *stock_dividends;
    size_t nstock_dividends;
    /* Injected symbol changes: the market symbol old_symbol trades as new_symbol from date on.
     * Bars of old_symbol are served only before the date, those of new_symbol from it; from
     * the day after the change (Alpaca's `asof` mapping) new_symbol's bars include the old
     * symbol's history under the new name.  Listed under "name_changes" with process_date =
     * date, published actions_delay trading days after it (and asked for by either symbol). */
    const struct symchange *renames;
    size_t nrenames;

    /* The scripted trading account (the document above); NULL: the default.  Copied. */
    const char *portfolio_json;

    struct alpaca_sim_hooks hooks; /* none by default; ctx must outlive the simulator */

    int port; /* alpaca_sim_start: 0 for an ephemeral port */
};

void alpaca_sim_opts_default(struct alpaca_sim_opts *o);

/* Build the market and index its bars (a 1000-symbol, 5-year market takes about half a second
 * and 50 MB).  Free with alpaca_sim_free. */
int alpaca_sim_new(const struct alpaca_sim_opts *o, struct alpaca_sim **out, struct diag *d);
void alpaca_sim_free(struct alpaca_sim *s);

/* The whole simulator as an httpd handler (ctx is the struct alpaca_sim); thread-safe. */
void alpaca_sim_handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* alpaca_sim_new, then serve it on 127.0.0.1:o->port in background threads. */
int alpaca_sim_start(const struct alpaca_sim_opts *o, struct alpaca_sim **out, int *port,
                     struct diag *d);
/* Stop serving (cutting slow responses short) and free.  NULL is a no-op. */
void alpaca_sim_stop(struct alpaca_sim *s);

/* The market's symbols, sorted. */
size_t alpaca_sim_nsymbols(const struct alpaca_sim *s);
const char *alpaca_sim_symbol(const struct alpaca_sim *s, size_t i);

/* Counts since start or the last reset; /__sim/ requests are not counted. */
struct alpaca_sim_stats {
    uint64_t requests;
    uint64_t endpoint[ALPACA_SIM_EP_COUNT_];
    uint64_t bars_ordinal;    /* bars requests given an ordinal (the last one handed out) */
    uint64_t over_limit;      /* refused with 429 by the rate limit (injected 429s excluded) */
    uint64_t max_in_window;   /* most authenticated API requests started in any window,
                                 refused ones included */
    uint64_t altered;         /* answers changed by the hooks (alpaca_sim_call.altered) */
    uint64_t trading_ordinal; /* trading requests given an ordinal (the last one handed out) */
    uint64_t dropped;         /* connections closed without a status */
    uint64_t status[600];     /* responses by status */
};

void alpaca_sim_get_stats(struct alpaca_sim *s, struct alpaca_sim_stats *out);

/* Replace the scripted trading account (len bytes of the document above), or only its
 * positions (a JSON array).  ERR_PARSE naming what is wrong; the old one is kept then. */
int alpaca_sim_set_portfolio(struct alpaca_sim *s, const char *json, size_t len, struct diag *d);
int alpaca_sim_set_positions(struct alpaca_sim *s, const char *json, size_t len, struct diag *d);
void alpaca_sim_reset(struct alpaca_sim *s);

#endif
