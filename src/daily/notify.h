/* notify.h - the daily job's messages to Telegram: the day's screen to every subscriber and
 * the sell-signal alert to the operator's chats.  The bot's token comes from
 * TELEGRAM_BOT_TOKEN or its SSM parameter (aws/secrets.h); without one there is nobody to
 * tell and both are ERR_OK.  Sends are paced under Telegram's limit (about 30 a second).
 */
#ifndef DAILY_NOTIFY_H
#define DAILY_NOTIFY_H

#include "bot/push.h"
#include "store/objstore.h"

struct http_client;

/* Push the latest screen to the subscribers, once per screened date (bot/push.h).  http is
 * borrowed (NULL: one of its own).  The push ends before deadline_ms (Unix ms; 0: none);
 * st->left > 0 then, and the next call sends what is left (or, when a later date has been
 * screened by then, supersedes it with that date's push).  st may be NULL. */
int notify_daily_screen(struct objstore *os, struct http_client *http, int64_t deadline_ms,
                        struct push_stats *st, struct diag *d);

/* Send html to the subscribers whose chat is on TELEGRAM_ALLOWED_CHATS (what the account
 * holds is for the operator's chats only), with no marker: the alert marker makes it once.
 * Nothing to do (ERR_OK, logged) without a bot token or an allowed chat. */
int notify_sell_signal(struct objstore *os, struct http_client *http, const char *html,
                       struct push_stats *st, struct diag *d);

/* Evaluate every chat's alerts on the screen of `date` (0: the latest screen) and send the
 * crossings (bot/alerts.h), none started within ALERTS_DEADLINE_MARGIN_MS of deadline_ms (wall
 * clock; 0: none).  The messages say so when the run record shows that screen built on
 * provisional bars.  Nothing to do (ERR_OK) without a bot token or a screen. */
int notify_user_alerts(struct objstore *os, struct http_client *http, int32_t date,
                       int64_t deadline_ms, struct diag *d);

#endif
