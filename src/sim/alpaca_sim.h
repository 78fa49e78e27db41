/* alpaca_sim.h - a fake Alpaca on 127.0.0.1, for the demo and the collector's tests.
 *
 * It serves a deterministic synthetic market (sim/market.h) through the endpoints the
 * collector uses, in their real wire format (docs/alpaca.md):
 *
 *   GET /v2/stocks/bars          daily bars, paged (limit, page_token), raw or split-adjusted
 *   GET /v1/corporate-actions    forward and reverse splits, paged
 *   GET /v2/assets[/SYMBOL]      the trading API's asset list
 *   GET /v2/account              the trading account (money as JSON strings)
 *   GET /v2/positions            its positions, valued at the market's latest close
 *   GET /v2/account/portfolio/history   daily equity (timeframe 1D, period nD/nW/nM/nA)
 *   GET /iwb_holdings.csv        an iShares IWB holdings file naming every market symbol
 *   GET /__sim/stats             the counters below as JSON (no auth, not rate limited)
 *   POST /__sim/reset            zero the counters, the bars request ordinal and the windows
 *   POST /__sim/portfolio        replace the scripted account and positions (a document as
 *                                alpaca_sim_set_portfolio takes); 400 naming what is wrong
 *   POST /__sim/positions        replace the positions only (a JSON array of them)
 *   POST /__sim/trading-fault    set the trading fault (a spec, see below; empty: none)
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
 * share one sliding-window rate limit; every answer past the credential check carries
 * X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix seconds when the oldest
 * request in the window leaves it).  What happens to a request, in order:
 *
 *   1. request target longer than max_url: 414 with nginx's HTML page;
 *   2. unknown path: 404; not GET: 405; the holdings file is served here (no auth, no limit);
 *   3. bad or missing credentials: 403 {"message":"forbidden."} (or 401, auth_status);
 *   4. over the rate limit: 429 {"message":"too many requests."} with Retry-After (none with
 *      no_retry_after: X-RateLimit-Reset says when);
 *   5. a bars request gets the next ordinal (1, 2, ...); the first fault whose range holds it
 *      is applied (see enum alpaca_sim_fault_kind);
 *   6. the endpoint answers: 400/422 JSON errors for bad parameters, else 200.
 *
 * Time comes from the clock source (base/clock.h), so tests inject it; nothing here sleeps
 * except the `slow` fault, through clock_sleep_ms.
 */
#ifndef SIM_ALPACA_SIM_H
#define SIM_ALPACA_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "codec/split.h"
#include "net/httpd.h"

/* Faults injected into bars requests by ordinal.  Spec form: KIND@N or KIND@NxCOUNT. */
enum alpaca_sim_fault_kind {
    ALPACA_SIM_FAULT_429,         /* 429 {"message":"too many requests."}, Retry-After: 1 */
    ALPACA_SIM_FAULT_500,         /* 500 with a JSON error */
    ALPACA_SIM_FAULT_502,         /* 502 with nginx's HTML page */
    ALPACA_SIM_FAULT_503,         /* 503 with nginx's HTML page */
    ALPACA_SIM_FAULT_SLOW,        /* the normal answer, after slow_ms */
    ALPACA_SIM_FAULT_RESET,       /* the connection closed without a response */
    ALPACA_SIM_FAULT_TRUNCATE,    /* the normal answer cut off at half its Content-Length */
    ALPACA_SIM_FAULT_MALFORMED,   /* 200 with syntactically broken JSON */
    ALPACA_SIM_FAULT_HTML403,     /* 403 with nginx's HTML page */
    ALPACA_SIM_FAULT_NEVERENDING, /* next_page_token is the token of this very page */
    ALPACA_SIM_FAULT_WRONGTYPE,   /* one bar has "o":"abc" */
    ALPACA_SIM_FAULT_BADPRICE,    /* one bar has "c":0 */
    ALPACA_SIM_FAULT_HIGHLOW,     /* one bar has h < l */
    ALPACA_SIM_FAULT_DUPTIME,     /* one bar repeats the timestamp of its symbol's previous bar */
    ALPACA_SIM_FAULT_COUNT_
};

struct alpaca_sim_fault {
    enum alpaca_sim_fault_kind kind;
    uint64_t first; /* ordinal of the first bars request hit, from 1 */
    uint64_t count; /* requests first .. first + count - 1 */
};

/* "500@3", "slow@1x2", "neverending@2x1000".  The data faults (neverending and after) apply
 * only to a page that has bars; the others replace the answer. */
int alpaca_sim_fault_parse(const char *spec, struct alpaca_sim_fault *out, struct diag *d);

/* The kind's spec name ("429", "slow", "duptime"). */
const char *alpaca_sim_fault_name(enum alpaca_sim_fault_kind kind);

/* Faults of the trading endpoints, by the ordinal of trading requests.  Spec form: KIND
 * (every request), KIND@N or KIND@NxCOUNT. */
enum alpaca_sim_tfault_kind {
    ALPACA_SIM_TFAULT_401,       /* 401 {"code":40110000,"message":"request is not authorized"} */
    ALPACA_SIM_TFAULT_403,       /* 403 {"message":"forbidden."} */
    ALPACA_SIM_TFAULT_429,       /* 429 with Retry-After: 1 */
    ALPACA_SIM_TFAULT_500,       /* 500 with a JSON error */
    ALPACA_SIM_TFAULT_503,       /* 503 with nginx's HTML page */
    ALPACA_SIM_TFAULT_MALFORMED, /* 200 with broken JSON */
    ALPACA_SIM_TFAULT_MISSING,   /* the money fields (equity, last_equity, cash, buying_power,
                                    portfolio_value; a position's prices, values and P/L) left
                                    out */
    ALPACA_SIM_TFAULT_NULLS,     /* the same fields null */
    ALPACA_SIM_TFAULT_GARBAGE,   /* the same fields "abc" */
    ALPACA_SIM_TFAULT_COUNT_
};

struct alpaca_sim_tfault {
    enum alpaca_sim_tfault_kind kind;
    uint64_t first, count; /* trading requests first .. first + count - 1, from 1 */
};

/* "401", "nulls", "500@1x2". */
int alpaca_sim_tfault_parse(const char *spec, struct alpaca_sim_tfault *out, struct diag *d);
const char *alpaca_sim_tfault_name(enum alpaca_sim_tfault_kind kind);

/* "SYM:YYYY-MM-DD:NEW:OLD", e.g. "ABC:2026-06-10:4:1" (4-for-1) or "XYZ:2026-08-03:1:20".
 * Rates may have decimals. */
int alpaca_sim_split_parse(const char *spec, struct split *out, struct diag *d);

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
    int64_t slow_ms;             /* the slow fault's delay; default 15000 */
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

    /* Copied by alpaca_sim_new. */
    const struct alpaca_sim_fault *faults;
    size_t nfaults;
    const char *const *missing; /* symbols whose bars are never returned */
    size_t nmissing;
    /* Injected splits: bars before ex_date are scaled (prices by new/old, volume by old/new)
     * and the split is listed by /v1/corporate-actions.  The symbol must be in the market. */
    const struct split *splits;
    size_t nsplits;

    /* The scripted trading account (the document above); NULL: the default.  Copied. */
    const char *portfolio_json;
    const struct alpaca_sim_tfault *tfaults; /* copied */
    size_t ntfaults;

    int port; /* alpaca_sim_start: 0 for an ephemeral port */
};

void alpaca_sim_opts_default(struct alpaca_sim_opts *o);

struct alpaca_sim;

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

/* Counts since start or the last reset; /__sim/ requests are not counted. */
struct alpaca_sim_stats {
    uint64_t requests;
    uint64_t endpoint[ALPACA_SIM_EP_COUNT_];
    uint64_t bars_ordinal;    /* bars requests given an ordinal (the last one handed out) */
    uint64_t over_limit;      /* refused with 429 by the rate limit (injected 429s excluded) */
    uint64_t max_in_window;   /* most authenticated API requests started in any window,
                                 refused ones included */
    uint64_t faults;          /* faults injected */
    uint64_t trading_ordinal; /* trading requests given an ordinal (the last one handed out) */
    uint64_t dropped;         /* connections closed without a status (the reset fault) */
    uint64_t status[600];     /* responses by status */
};

void alpaca_sim_get_stats(struct alpaca_sim *s, struct alpaca_sim_stats *out);

/* Replace the scripted trading account (len bytes of the document above), or only its
 * positions (a JSON array).  ERR_PARSE naming what is wrong; the old one is kept then. */
int alpaca_sim_set_portfolio(struct alpaca_sim *s, const char *json, size_t len, struct diag *d);
int alpaca_sim_set_positions(struct alpaca_sim *s, const char *json, size_t len, struct diag *d);
/* Replace the trading faults (n == 0: none); the ordinal starts again from 1. */
int alpaca_sim_set_tfaults(struct alpaca_sim *s, const struct alpaca_sim_tfault *f, size_t n,
                           struct diag *d);
void alpaca_sim_reset(struct alpaca_sim *s);

#endif
