/* account.h - the brokerage account as the commands, the bot's replies and the daily job use
 * it: the settings, and reading it against the latest screen.
 *
 * Environment:
 *   APCA_API_KEY_ID, APCA_API_SECRET_KEY  the keys (or their SSM parameters, as for collect)
 *   APCA_API_BASE_URL                     the trading API (default the paper host)
 *   SCREENER_PROFIT_TARGET                the sell signal's target in percent (default 100)
 *   SCREENER_PORTFOLIO=0                  no portfolio tracking at all: no snapshot or alert
 *                                         after a collection, no /portfolio in the bot
 */
#ifndef ACCOUNT_ACCOUNT_H
#define ACCOUNT_ACCOUNT_H

#include "account/portfolio.h"
#include "account/trading.h"
#include "net/ratelimit.h"
#include "screen/results.h"
#include "store/objstore.h"

struct http_client;

/* The trading API's limit, separate from the data API's (docs/alpaca.md#rate-limits-and-errors). */
#define ACCOUNT_RATE_LIMIT     200
#define ACCOUNT_RATE_WINDOW_MS 60000

struct account {
    struct trading_opts o;
    struct ratelimit rl;
    struct http_client *own_http;
    double target_pct;
};

/* 0 when SCREENER_PORTFOLIO turns tracking off. */
int account_tracking_enabled(void);

/* Whether this process may use the trading account's keys: not when SCREENER_LIVE_ACCOUNT is
 * "0", "false" or "off" (the bot function of a stack without BotLiveAccount=true, whose role
 * cannot read them: asking SSM for them would fail the whole call; it answers from the
 * account the collector stored, account/stored.h).  Default: yes. */
int account_live_account(void);

/* The profit target from SCREENER_PROFIT_TARGET (default PORTFOLIO_TARGET_DEFAULT); ERR_USAGE
 * naming the variable when it is not a percentage. */
int account_profit_target(double *out, struct diag *d);

/* The settings: keys from the environment or SSM (ERR_AUTH naming what is missing), the
 * base URL, the limiter, the target.  http is borrowed (NULL: one of its own). */
int account_init(struct account *t, struct http_client *http, struct diag *d);

/* The same with keys the caller already holds (borrowed, as http): no SSM call.  The target
 * is not read here (account_profit_target), so a bad one can be reported apart. */
int account_init_keys(struct account *t, struct http_client *http, const char *key_id,
                      const char *secret_key, struct diag *d);
void account_release(struct account *t);

/* The account read and put against the latest screen. */
struct account_view {
    struct trading_data t;
    struct results_screen screen; /* the latest one (n == 0 when none is stored) */
    struct portfolio pf;          /* dated as a snapshot taken now */
    struct portfolio_signal signal;
};

/* Read what need and want name (account/trading.h) and, with the positions, rank them
 * against the latest screen and compute the signal.  A screen that cannot be read leaves
 * the ranks out (logged); reading the account is what fails the call.  v is always set, to
 * be released with account_view_release. */
int account_load(struct account *t, struct objstore *os, unsigned need, unsigned want,
                 struct account_view *v, struct diag *d);

/* The same from data already read (moved into v, data left empty): the account as the last
 * collection stored it (account/stored.h), ranked against the latest screen now.  The
 * positions must be in data->have. */
int account_view_from(struct trading_data *data, struct objstore *os, double target_pct,
                      struct account_view *v, struct diag *d);
void account_view_release(struct account_view *v);

#endif
