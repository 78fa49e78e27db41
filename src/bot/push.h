/* push.h - the daily push: one message to every subscriber after a collection.
 *
 * Within Telegram's limits: the client's rate limiter paces the sends (the caller gives it
 * about 25 a second, under the ~30/s Telegram allows a bot), each chat gets one message, a
 * 429 waits the retry_after Telegram names (when it fits before the deadline), a chat that
 * blocked the bot (403) is unsubscribed, and a group upgraded to a supergroup (a 400 with
 * migrate_to_chat_id) is moved in the subscriber list and gets the message in its new chat.
 *
 * Resumable, and at most once per chat and date: the day's marker (bot/pushed/YYYY-MM-DD)
 * lists the chats addressed.  Each batch of PUSH_BATCH chats is claimed in it (a conditional
 * write) before anything is sent to them, and their outcomes are added after:
 *
 *     push 2026-11-20
 *     ? 42          claimed (sent or not: it is never sent again)
 *     s 42          sent; f failed; g blocked the bot (unsubscribed); m moved to a supergroup;
 *                   r surely not delivered (not started before the deadline, or a 429 whose
 *                   wait did not fit): released, the next run sends it
 *     done          every subscriber was addressed
 *     superseded D  a later day's push (of D) took over before this one was finished
 *
 * The push stops claiming when less than PUSH_RESERVE_MS + PUSH_BATCH_MIN_MS are left before
 * the client's deadline (tg_set_deadline), and its sends end PUSH_RESERVE_MS before it; the
 * next call for the same date (the next invocation) sends to the rest.  A marker whose
 * create succeeded but whose answer was lost is found when the create is refused, and the
 * push goes on from it instead of skipping the day.  A marker of the old form (the date only)
 * means done.
 *
 * A later day's push supersedes an unfinished earlier one: the newest earlier marker that is
 * not done is closed with "superseded D" (its chats not reached are counted, logged and
 * reported in push_stats), so that nobody gets a stale screen after today's, and no run goes
 * back to it.
 */
#ifndef BOT_PUSH_H
#define BOT_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "bot/telegram.h"
#include "store/objstore.h"

#define PUSH_MARKER_PREFIX "bot/pushed/" /* + YYYY-MM-DD */
#define PUSH_BATCH         25            /* chats claimed at a time: about a second of sends */
#define PUSH_RESERVE_MS    2000          /* kept after the sends for writing the marker */
#define PUSH_BATCH_MIN_MS  1500          /* no batch is started with less left than this */

/* The outcomes in the marker. */
#define PUSH_UNKNOWN  '?'
#define PUSH_SENT     's'
#define PUSH_FAILED   'f'
#define PUSH_GONE     'g'
#define PUSH_MIGRATED 'm'
#define PUSH_RELEASED 'r' /* surely not delivered (no time left, 429): the next run sends it */
#define PUSH_OUTCOMES "?sfgmr"

struct push_stats {
    size_t subscribers, sent, failed, unsubscribed, migrated;
    size_t left;        /* not addressed yet: the deadline came first; call again to finish */
    int already_pushed; /* the date's push was complete: nothing was sent */
    int resumed;        /* an earlier run had begun the date's push */
    /* An earlier day's push that was not finished and that this one closed: its date and the
     * subscribers it had not reached (0, 0: none). */
    int32_t superseded_date;
    size_t superseded_left;
};

/* What a push marker says (for checks and the fuzz target): chats addressed, whether it is
 * done, whether a later push superseded it. */
struct push_marker_summary {
    size_t chats;
    int done, superseded;
};

/* Parse a marker's text (name for messages); ERR_PARSE naming the line when it is malformed. */
int push_marker_parse(const char *name, const char *text, size_t len,
                      struct push_marker_summary *out, struct diag *d);

/* Send html to every subscriber, once for date, before the client's deadline (see above);
 * ERR_OK with st->left > 0 when the deadline stopped it. */
int bot_push(struct tg_client *tg, struct objstore *os, int32_t date, const char *html,
             int32_t today, struct push_stats *st, struct diag *d);

/* Send html to the subscribers whose chat is in only[0..nonly) (every subscriber when only
 * is NULL), with no marker: the caller makes sure it is sent once (the sell-signal alert has
 * its own).  st->subscribers counts those addressed. */
int bot_push_to(struct tg_client *tg, struct objstore *os, const char *html, const int64_t *only,
                size_t nonly, int32_t today, struct push_stats *st, struct diag *d);

#endif
