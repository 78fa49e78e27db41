/* trading.h - the Alpaca trading API (docs/alpaca.md#trading-api): the account, its positions and
 * its portfolio history, read with the collector's credentials, limiter and retry policy.
 *
 *   GET {base}/v2/account                      one object; money as JSON strings
 *   GET {base}/v2/positions                    an array of positions; money as JSON strings
 *   GET {base}/v2/account/portfolio/history    parallel arrays of real JSON numbers
 *
 * The parsers are pure and defensive: the spec requires almost nothing and fields have been
 * removed from /v2/account before, so any field may be absent, null or unreadable.  Such a
 * field becomes TRADING_NONE (money) or NAN (ratios) and a sentence in the problems list
 * ("account: 'last_equity' is missing"); only a body that is not JSON of the right shape
 * (not an object, not an array) is an error.  Whatever the input, the values let through are
 * finite and within TRADING_MONEY_MAX.
 */
#ifndef ACCOUNT_TRADING_H
#define ACCOUNT_TRADING_H

#include <stddef.h>
#include <stdint.h>

#include "base/date.h"
#include "base/strvec.h"
#include "codec/bar.h"
#include "net/fetch.h"

#define TRADING_DEFAULT_URL "https://paper-api.alpaca.markets"
/* A money or quantity field that is absent, null or unreadable. */
#define TRADING_NONE INT64_MIN
/* Largest magnitude accepted for money and quantities, in millionths (10^12 dollars). */
#define TRADING_MONEY_MAX ((int64_t)1000000000000 * 1000000)
/* Caps on what is read from the API. */
#define TRADING_BODY_MAX      ((size_t)16 << 20)
#define TRADING_POSITIONS_MAX 100000
#define TRADING_HISTORY_MAX   100000
/* Problems kept per answer; more are counted in one last line. */
#define TRADING_PROBLEMS_MAX 50

struct trading_account {
    char id[64];
    char account_number[64];
    char status[32];                    /* "ACTIVE", ...; "" when absent */
    char currency[8];                   /* "USD"; "" when absent */
    char balance_asof[DATE_STRLEN + 1]; /* "" when absent */
    /* Millionths of a dollar, or TRADING_NONE. */
    int64_t equity; /* from portfolio_value when equity is missing */
    int64_t last_equity;
    int64_t cash;
    int64_t buying_power;
    int64_t long_market_value;
    int64_t short_market_value;
    int trading_blocked, account_blocked; /* 1, 0, or -1 when unknown */
};

struct trading_position {
    char symbol[BAR_SYMBOL_MAX + 1];
    int side; /* +1 long, -1 short */
    /* Millionths (shares or dollars), or TRADING_NONE.  qty is the size, never negative. */
    int64_t qty;
    int64_t avg_entry_price;
    int64_t cost_basis;
    int64_t current_price;
    int64_t lastday_price;
    int64_t market_value;
    int64_t unrealized_pl;
    /* unrealized_pl / cost_basis in percent, as the API reports it (unrealized_plpc x 100),
     * else derived from the P/L and cost basis, else from the prices and side; NAN when none
     * of these is known. */
    double return_pct;
    double change_today_pct; /* NAN when unknown */
};

struct trading_positions {
    struct trading_position *v; /* sorted by symbol */
    size_t n, cap;
};

void trading_positions_release(struct trading_positions *p);

/* The portfolio history: index i is one window of the timeframe. */
struct trading_history {
    size_t n;
    int64_t *time_s;   /* window start, Unix seconds */
    int32_t *date;     /* the New York date of time_s (a 1D window's trading date) */
    double *equity;    /* NAN where null */
    double *pl;        /* profit_loss; NAN where null */
    double *pl_pct;    /* profit_loss_pct in percent; NAN where null */
    double base_value; /* NAN when null or absent */
    char timeframe[16];
};

void trading_history_release(struct trading_history *h);

/* Parse the answers (problems are appended to problems, at most TRADING_PROBLEMS_MAX lines
 * and one line counting the rest).  ERR_PARSE when the body is not JSON or not of the right
 * shape, with d saying why. */
int trading_parse_account(const char *body, size_t len, struct trading_account *out,
                          struct strvec *problems, struct diag *d);
int trading_parse_positions(const char *body, size_t len, struct trading_positions *out,
                            struct strvec *problems, struct diag *d);
int trading_parse_history(const char *body, size_t len, struct trading_history *out,
                          struct strvec *problems, struct diag *d);

/* A decimal in a JSON string ("25310.42", "-0.5", "122011.09751111286868") to millionths,
 * rounded half away from zero past six decimals.  ERR_PARSE / ERR_INVALID (over
 * TRADING_MONEY_MAX). */
int trading_decimal(const char *s, size_t n, int64_t *out);

/* ---- the client ---- */

enum {
    TRADING_ACCOUNT = 1,
    TRADING_POSITIONS = 2,
    TRADING_HISTORY = 4,
};

struct trading_opts {
    const char *base_url; /* APCA_API_BASE_URL; NULL: TRADING_DEFAULT_URL */
    const char *key_id, *secret_key;
    /* The history asked for: "period=1M&timeframe=1D" when NULL. */
    const char *history_query;
    struct fetch_opts fetch;  /* retries, timeout, limiter (the trading API's own limit) */
    struct http_client *http; /* borrowed */
};

void trading_opts_default(struct trading_opts *o);

/* What one trading_fetch read. */
struct trading_data {
    unsigned have; /* TRADING_* bits of what was read */
    struct trading_account account;
    struct trading_positions positions;
    struct trading_history history;
    struct strvec problems; /* missing and unreadable fields, optional reads that failed */
    int64_t fetched_ms;     /* wall clock when the answers were in */
};

void trading_data_init(struct trading_data *t);
void trading_data_release(struct trading_data *t);

/* The symbols of t's positions, in their order, as an allocated array of allocated strings
 * (*n of them; the caller frees each and the array).  Nothing is left allocated on error. */
int trading_position_symbols(const struct trading_data *t, char ***symbols, size_t *n,
                             struct diag *d);

/* Read the `need` endpoints and, if they can be had, the `want` ones, all at once.  A `need`
 * read that fails fails the call; a `want` one that fails is a line in out->problems.
 * Errors: ERR_AUTH (no credentials, or refused: 401/403, with a hint about the host),
 * ERR_UNAVAILABLE / ERR_RATELIMIT / ERR_TIMEOUT / ERR_NETWORK (after the retries),
 * ERR_PARSE (an answer that is not JSON of the right shape, after the retries), ERR_INVALID
 * (another 4xx). */
int trading_fetch(const struct trading_opts *o, unsigned need, unsigned want,
                  struct trading_data *out, struct diag *d);

#endif
