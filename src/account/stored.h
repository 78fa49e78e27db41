/* stored.h - the account as the last collection read it, kept for a bot that holds no
 * trading keys (docs/portfolio.md#answers-without-the-keys).
 *
 * After each collection the snapshot step writes what it read of the account to one JSON
 * object under results/ (the bot function may read results/, never the trading keys):
 *
 *   results/account/latest.json
 *   {"taken_ms":1796419860000,"taken":"2026-12-04T21:31:00Z",
 *    "account":{"account_number":"PA1","status":"ACTIVE","currency":"USD","equity":"1000.5",
 *               "last_equity":"990","cash":"12.25","buying_power":"24.5",
 *               "trading_blocked":false,"account_blocked":null},
 *    "positions":[{"symbol":"AAPL","side":"long","qty":"10","avg_entry_price":"150",
 *                  "current_price":"180","market_value":"1800","unrealized_pl":"300",
 *                  "return_pct":"20"}],
 *    "history":{"equity":[990,null,1000.5]},
 *    "problems":["account: 'cash' is missing"]}
 *
 * Money and quantities are decimal strings (exact), null when the API did not give them;
 * "account" and "history" are absent when that read failed (the positions are always there:
 * without them nothing is written).  The file is replaced by every collection that reads the
 * positions; taken_ms is when Alpaca's answers were in.
 */
#ifndef ACCOUNT_STORED_H
#define ACCOUNT_STORED_H

#include "account/trading.h"
#include "base/buf.h"
#include "store/objstore.h"

#define ACCOUNT_STORED_KEY "results/account/latest.json"
#define ACCOUNT_STORED_MAX ((size_t)16 << 20)

/* The JSON above for t (what t->have says was read; dated t->fetched_ms), appended to out. */
int account_stored_json(const struct trading_data *t, struct buf *out);

/* Parse it back into out (initialised here; release with trading_data_release): have,
 * fetched_ms, account, positions (sorted, one per symbol), history (equity only) and
 * problems.  ERR_PARSE naming the file (name) and what is wrong; the values let through are
 * those trading.h promises (money within TRADING_MONEY_MAX, returns finite or NAN). */
int account_stored_parse(const char *name, const char *data, size_t len, struct trading_data *out,
                         struct diag *d);

/* Write t to ACCOUNT_STORED_KEY (replacing the last one). */
int account_stored_write(struct objstore *os, const struct trading_data *t, struct diag *d);

/* Read it: ERR_NOTFOUND when none is stored yet, ERR_PARSE when it cannot be read. */
int account_stored_read(struct objstore *os, struct trading_data *out, struct diag *d);

#endif
