/* push.h - the daily push: one message to every subscriber after a collection.
 *
 * Within Telegram's limits: the client's rate limiter paces the sends (the caller gives it
 * about 25 a second, under the ~30/s Telegram allows a bot), each chat gets one message, a
 * 429 waits the retry_after Telegram names, and a chat that blocked the bot (403) is
 * unsubscribed.  A date is pushed at most once: a marker object, created only if absent
 * before anything is sent, makes a rerun (or a second collector) skip it.
 */
#ifndef BOT_PUSH_H
#define BOT_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "bot/telegram.h"
#include "store/objstore.h"

#define PUSH_MARKER_PREFIX "bot/pushed/" /* + YYYY-MM-DD */

struct push_stats {
    size_t subscribers, sent, failed, unsubscribed;
    int already_pushed; /* the date's marker existed: nothing was sent */
};

/* Send html to every subscriber, once for date. */
int bot_push(struct tg_client *tg, struct objstore *os, int32_t date, const char *html,
             int32_t today, struct push_stats *st, struct diag *d);

/* Send html to the subscribers whose chat is in only[0..nonly) (every subscriber when only
 * is NULL), with no marker: the caller makes sure it is sent once (the sell-signal alert has
 * its own).  st->subscribers counts those addressed. */
int bot_push_to(struct tg_client *tg, struct objstore *os, const char *html, const int64_t *only,
                size_t nonly, int32_t today, struct push_stats *st, struct diag *d);

#endif
