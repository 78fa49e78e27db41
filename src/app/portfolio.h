/* portfolio.h - what `portfolio`, `account`, `monitor`, the bot's hooks and the collector
 * share about the Alpaca account: the settings, reading it, and the step after a collection.
 *
 * Environment:
 *   APCA_API_KEY_ID, APCA_API_SECRET_KEY  the keys (or their SSM parameters, as for collect)
 *   APCA_API_BASE_URL                     the trading API (default the paper host)
 *   SCREENER_PROFIT_TARGET                the sell signal's target in percent (default 100)
 *   SCREENER_PORTFOLIO=0                  no portfolio tracking at all: no snapshot or alert
 *                                         after a collection, no /portfolio in the bot
 */
#ifndef APP_PORTFOLIO_H
#define APP_PORTFOLIO_H

#include "app/app.h"
#include "collect/portfolio.h"
#include "collect/trading.h"
#include "net/ratelimit.h"
#include "screen/results.h"

struct http_client;

/* The trading API's limit, separate from the data API's (docs/alpaca.md#rate-limits-and-errors). */
#define APP_TRADING_RATE_LIMIT     200
#define APP_TRADING_RATE_WINDOW_MS 60000

struct app_trading {
    struct trading_opts o;
    struct ratelimit rl;
    struct http_client *own_http;
    double target_pct;
};

/* 0 when SCREENER_PORTFOLIO turns tracking off. */
int app_portfolio_enabled(void);

/* Whether this process may use the trading account's keys: not when SCREENER_LIVE_ACCOUNT is
 * "0", "false" or "off" (the bot function of a stack without BotLiveAccount=true, whose role
 * cannot read them: asking SSM for them would fail the whole call).  Default: yes. */
int app_live_account(void);

/* The profit target from SCREENER_PROFIT_TARGET (default PORTFOLIO_TARGET_DEFAULT); ERR_USAGE
 * naming the variable when it is not a percentage. */
int app_profit_target(double *out, struct diag *d);

/* The settings: keys from the environment or SSM (ERR_AUTH naming what is missing), the
 * base URL, the limiter, the target.  http is borrowed (NULL: one of its own). */
int app_trading_init(struct app_trading *t, struct http_client *http, struct diag *d);
void app_trading_release(struct app_trading *t);

/* The account read and put against the latest screen. */
struct app_portfolio_view {
    struct trading_data t;
    struct results_screen screen; /* the latest one (n == 0 when none is stored) */
    struct portfolio pf;          /* dated as a snapshot taken now */
    struct portfolio_signal signal;
};

/* Read what need and want name (collect/trading.h) and, with the positions, rank them
 * against the latest screen and compute the signal.  A screen that cannot be read leaves
 * the ranks out (logged); reading the account is what fails the call. */
int app_portfolio_load(struct app_trading *t, struct objstore *os, unsigned need, unsigned want,
                       struct app_portfolio_view *v, struct diag *d);
void app_portfolio_view_release(struct app_portfolio_view *v);

/* After a collection (the CLI and the Lambda collector): store the day's snapshot, update
 * the sell signal's alert marker and, the first day the target is reached, push the alert to
 * the subscribers on the allow list.  Nothing here fails the collection: every problem is
 * logged.  Off with SCREENER_PORTFOLIO=0.  deadline_ms (wall clock, 0: none) is the
 * collection's: close to it, the trading API gets one short try, or none. */
void app_portfolio_after_collect(struct app *a, struct http_client *http, const char *key_id,
                                 const char *secret_key, int64_t deadline_ms);

#endif
