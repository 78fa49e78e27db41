/* reply_stored.h - the bot's /portfolio, /account and /monitor when it holds no trading keys
 * (the default in AWS): answered from the account the last collection stored
 * (account/stored.h), ranked against the latest screen now, and dated: "As of 2026-12-04
 * 16:31 New York, from the last collection."
 *
 * Nothing stored yet, or a stored file that cannot be read, is an answer that says so (and
 * a warning in the log for the latter); only a store that cannot be reached fails.
 */
#ifndef BOT_REPLY_STORED_H
#define BOT_REPLY_STORED_H

#include <stddef.h>

#include "base/buf.h"
#include "store/objstore.h"

/* The answer to command ("portfolio", "account" or "monitor") as Telegram HTML in text.  The
 * sell signal's target comes from SCREENER_PROFIT_TARGET as for a live answer. */
int bot_stored_answer(struct objstore *os, const char *command, struct buf *text, struct diag *d);

/* The symbols held as last stored (malloc'd, each and the array), for /screen's marks; none
 * when nothing is stored. */
int bot_stored_holdings(struct objstore *os, char ***symbols, size_t *n, struct diag *d);

#endif
