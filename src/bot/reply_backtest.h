/* reply_backtest.h - /backtest: the default backtest the collector keeps in the results
 * (backtest/backtest_results.h), as a Telegram message. */
#ifndef BOT_REPLY_BACKTEST_H
#define BOT_REPLY_BACKTEST_H

#include "backtest/backtest_results.h"
#include "base/buf.h"

/* The answer (HTML): that it is a backtest, its period and rules, the summary (total return,
 * CAGR, max drawdown, Sharpe, closed trades, win rate) against the equal-weight universe, and
 * the equity and the benchmark as sparklines on one scale, with the survivorship note. */
int bot_backtest_html(struct buf *out, const struct backtest_stored *s);

#endif
