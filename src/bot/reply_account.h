/* reply_account.h - the bot's answers about the brokerage account: /portfolio, /account,
 * /monitor and the sell-signal alert, as Telegram HTML (tables in <pre>, about 44 columns so
 * that they fit a phone).  Pure: the caller reads the account (account/trading.h) and ranks
 * the positions (account/portfolio.h); these only write.
 *
 * Values the API did not give show as "n/a", and the answer ends with what was missing
 * (the first few problems and how many more), so that a number that is not there is never
 * mistaken for a zero.
 */
#ifndef BOT_REPLY_ACCOUNT_H
#define BOT_REPLY_ACCOUNT_H

#include "base/buf.h"
#include "base/strvec.h"
#include "account/portfolio.h"
#include "account/trading.h"

/* The problems shown at the end of an answer; the rest are counted. */
#define BOT_PROBLEMS_SHOWN 3

/* Positions: symbol, quantity, entry, current, return, and the rank in the screen the
 * portfolio was ranked against. */
int bot_portfolio_html(struct buf *out, const struct portfolio *p, const struct strvec *problems);

/* Equity, cash, buying power, day P/L (equity - last_equity) and, when the history is
 * there, a sparkline of its equity. */
int bot_account_html(struct buf *out, const struct trading_account *a,
                     const struct trading_history *h, const struct strvec *problems);

/* The sell signal: the top positions by return, their average against the target. */
int bot_monitor_html(struct buf *out, const struct portfolio *p, const struct portfolio_signal *s,
                     const struct strvec *problems);

/* The alert pushed the first day the target is reached. */
int bot_alert_html(struct buf *out, const struct portfolio *p, const struct portfolio_signal *s);

/* 1234567.891 dollars in millionths -> "1,234,567.89" (two decimals, grouped); "n/a" for
 * TRADING_NONE.  out holds at least 32 bytes. */
void bot_money(char *out, size_t cap, int64_t v, int sign);

#endif
