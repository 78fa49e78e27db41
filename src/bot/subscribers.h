/* subscribers.h - the chats that get the daily push, kept in the store.
 *
 *   bot/subscribers.csv   chat_id,since   (since: the date of the /subscribe, YYYY-MM-DD)
 *
 * One small object changed by read, modify, conditional write (If-Match, or create-if-absent),
 * retried when another writer changed it in between: two chats subscribing at the same
 * moment, on two warm Lambdas, both stay subscribed.
 */
#ifndef BOT_SUBSCRIBERS_H
#define BOT_SUBSCRIBERS_H

#include <stddef.h>
#include <stdint.h>

#include "store/objstore.h"

#define SUBSCRIBERS_KEY "bot/subscribers.csv"
#define SUBSCRIBERS_MAX 100000

struct subscriber {
    int64_t chat_id;
    int32_t since;
};

struct subscribers {
    struct subscriber *v; /* ascending by chat_id */
    size_t n, cap;
};

void subscribers_release(struct subscribers *s);

/* Parse the object's text (name for messages). */
int subscribers_parse(const char *name, const char *data, size_t len, struct subscribers *out,
                      struct diag *d);

/* All subscribers (none when the object does not exist yet). */
int subscribers_read(struct objstore *os, struct subscribers *out, struct diag *d);

/* Add (subscribe != 0) or remove a chat; *changed says whether it was not already so. */
int subscribers_update(struct objstore *os, int64_t chat_id, int subscribe, int32_t today,
                       int *changed, struct diag *d);

/* A group upgraded to a supergroup has a new chat id (Telegram's migrate_to_chat_id): move the
 * subscription from `from` to `to`, keeping its date.  *changed is 0 when `from` was not
 * subscribed (nothing to move). */
int subscribers_move(struct objstore *os, int64_t from, int64_t to, int *changed, struct diag *d);

#endif
