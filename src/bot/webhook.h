/* webhook.h - a Telegram webhook request in, an HTTP answer out, whatever carried it (the
 * local server, API Gateway in Lambda).
 *
 *   - The X-Telegram-Bot-Api-Secret-Token header must equal the configured secret, compared
 *     in constant time; missing or wrong: 401, and nothing else happens.
 *   - Anything else gets 200, so that Telegram never redelivers an update forever: a body
 *     that is not an Update, a kind the bot ignores, a repeated update_id, a failed reply are
 *     logged and answered with an empty 200.
 *   - A reply of one message goes back inline (the response body is the sendMessage call);
 *     a longer one is sent through the Bot API, in order.
 *
 * Not thread-safe: callers that serve several connections at once serialise calls.
 */
#ifndef BOT_WEBHOOK_H
#define BOT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "bot/bot.h"
#include "bot/telegram.h"

#define WEBHOOK_SECRET_HEADER "X-Telegram-Bot-Api-Secret-Token"
#define WEBHOOK_BODY_MAX      ((size_t)1 << 20)
#define WEBHOOK_SEEN          256 /* update_ids remembered to drop redeliveries */

struct webhook {
    const struct bot_opts *bot; /* borrowed */
    const char *secret;         /* borrowed; must be set */
    struct tg_client *tg;       /* borrowed: sends replies of several messages; may be NULL */
    int64_t seen[WEBHOOK_SEEN];
    size_t nseen, next;
};

struct webhook_answer {
    int status;
    struct buf body;     /* "" or a JSON Bot API call */
    const char *outcome; /* for the log and tests: "reply", "no reply", "unauthorized", ... */
};

void webhook_answer_init(struct webhook_answer *a);
void webhook_answer_release(struct webhook_answer *a);

/* secret_header: the header's value, NULL when absent. */
void webhook_handle(struct webhook *w, const char *secret_header, const char *body, size_t len,
                    struct webhook_answer *out);

#define WEBHOOK_SECRET_MIN 24 /* characters: a guess must not be practical */

/* Whether a configured secret is one Telegram accepts (1-256 of A-Z a-z 0-9 _ -) and strong
 * enough (at least WEBHOOK_SECRET_MIN of them). */
int webhook_secret_valid(const char *secret);

/* The same check with the reason: ERR_AUTH naming `name` (the variable) and what is wrong,
 * never the secret. */
int webhook_secret_check(const char *secret, const char *name, struct diag *d);

#endif
