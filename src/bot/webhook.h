/* webhook.h - a Telegram webhook request in, an HTTP answer out, whatever carried it (the
 * local server, API Gateway in Lambda).
 *
 *   - The X-Telegram-Bot-Api-Secret-Token header must equal the configured secret, compared
 *     in constant time; missing or wrong: 401, and nothing else happens.
 *   - Anything else gets 200, so that Telegram never redelivers an update forever: a body
 *     that is not an Update, a kind the bot ignores, a repeated update_id, a failed reply are
 *     logged and answered with an empty 200.
 *   - The last message of a reply goes back inline (the response body is the sendMessage
 *     call, which Telegram makes after the response); the ones before it are sent through the
 *     Bot API first, in order, within the request's deadline (deadline_ms, else
 *     WEBHOOK_BUDGET_MS from its start).  What cannot be sent in time is not sent: the
 *     answer is still a 200 (a timeout or a 5xx would make Telegram deliver the update again,
 *     and the user get the first messages twice), the rest is logged as not delivered.
 *
 * Several threads may call webhook_handle at once when `lock` is set.  It guards only the
 * memory of update_ids, and is never held across a network call: the answer is worked out
 * and delivered outside it, each request with a worker of its own from take_worker (the bot's
 * settings over its own store connection, cache, trading client and Bot API client), so that
 * one chat's slow store read, slow brokerage answer or flood wait never holds up another's
 * reply.
 */
#ifndef BOT_WEBHOOK_H
#define BOT_WEBHOOK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "bot/bot.h"
#include "bot/telegram.h"

#define WEBHOOK_SECRET_HEADER "X-Telegram-Bot-Api-Secret-Token"
#define WEBHOOK_BODY_MAX      ((size_t)1 << 20)
#define WEBHOOK_SEEN          256  /* update_ids remembered to drop redeliveries */
#define WEBHOOK_BUDGET_MS     8000 /* a request's time to answer when no deadline is given */

/* What answers one request: a bot and the Bot API client that delivers its reply. */
struct webhook_worker {
    const struct bot_opts *bot;
    struct tg_client *tg; /* may be NULL */
    void *handle;         /* the owner's */
};

struct webhook {
    const struct bot_opts *bot; /* borrowed */
    const char *secret;         /* borrowed; must be set */
    struct tg_client *tg;       /* borrowed: sends replies of several messages; may be NULL */
    /* When set (instead of bot and tg), a worker for one request, used by that request alone
     * and given back after it; take_worker fails (non-zero) when none can be had. */
    int (*take_worker)(void *ctx, struct webhook_worker *out);
    void (*give_worker)(void *ctx, struct webhook_worker *w);
    void *worker_ctx;
    int64_t deadline_ms;   /* monotonic ms by which the answer must be out; 0: the budget */
    pthread_mutex_t *lock; /* guards seen only; NULL: single-threaded */
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

/* Whether the secret header (NULL when absent) is the right one, in constant time: what a
 * server can check as soon as the headers are in, before reading a body. */
int webhook_authorized(const struct webhook *w, const char *secret_header);

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
