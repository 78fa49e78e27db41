/* bot.h - the bot: one function from an Update to the messages that answer it.
 *
 * Every transport uses it: the local webhook server (`screener serve`), long polling
 * (`screener poll`) and the Lambda behind API Gateway.  Answers come from what the collector
 * stored (src/screen/results.h), so a reply costs a couple of small reads and well under a
 * millisecond of CPU; nothing here talks to Telegram.  What only the caller can do (start a
 * collection, read the brokerage account) comes in as hooks.
 *
 * Commands (docs/bot.md#commands): /start /help /screen [N] /drops [N] /stock SYMBOL /download
 * /history [N] /stats /trigger /subscribe /unsubscribe /portfolio /account /monitor.
 * Privileged commands (/trigger /portfolio /account /monitor /stats) answer only chats on the
 * allow list; with `restricted` set, every command does.
 */
#ifndef BOT_BOT_H
#define BOT_BOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/strvec.h"
#include "bot/update.h"
#include "screen/results.h"
#include "store/objstore.h"

#define BOT_SCREEN_DEFAULT  10
#define BOT_SCREEN_MAX      100
#define BOT_HISTORY_DEFAULT 5
#define BOT_HISTORY_MAX     30
#define BOT_LINK_EXPIRES_S  3600

/* A command the bot knows, for /help and setMyCommands. */
struct bot_command {
    const char *name; /* without '/' */
    const char *args; /* "[N]", "SYMBOL", "" */
    const char *description;
    int privileged;
};

extern const struct bot_command bot_commands[];
extern const size_t bot_ncommands;

/* The setMyCommands parameters for the command list. */
int bot_commands_json(struct buf *out);

/* What the caller does for the bot.  A NULL hook makes its command say that this deployment
 * does not offer it. */
struct bot_hooks {
    /* Start a collection (in AWS: invoke the collector asynchronously; locally: run it) and
     * put what to tell the user in text (HTML). */
    int (*trigger)(void *ctx, int64_t chat_id, struct buf *text, struct diag *d);
    /* /portfolio, /account, /monitor: the answer's HTML in text. */
    int (*portfolio)(void *ctx, const char *command, struct buf *text, struct diag *d);
    /* The symbols the user holds, sorted, for marking /screen's candidates (asked only for
     * allowed chats: holdings are private); may be NULL. */
    int (*holdings)(void *ctx, char ***symbols, size_t *n, struct diag *d);
    void *ctx;
};

struct bot_opts {
    struct objstore *os;          /* borrowed: results and subscribers */
    const int64_t *allowed_chats; /* TELEGRAM_ALLOWED_CHATS; borrowed */
    size_t nallowed;
    int restricted;       /* every command needs an allowed chat */
    const char *username; /* the bot's @name without '@'; commands for other bots are ignored.
                             NULL: accept any */
    int64_t now_ms;       /* the wall clock for freshness; 0: the clock */
    /* The latest screen kept parsed between updates while the stored file is unchanged (a
     * server's or a warm Lambda's); NULL: read afresh each time.  Calls that share it are
     * serialised by the caller. */
    struct results_latest *cache;
    struct bot_hooks hooks;
};

/* The answer: messages to send, in order, each within Telegram's length limit. */
struct bot_reply {
    int64_t chat_id;
    struct strvec texts; /* HTML */
    const char *action;  /* for the log: "screen", "ignored: edited_message", ... */
};

void bot_reply_init(struct bot_reply *r);
void bot_reply_release(struct bot_reply *r);

/* Answer an update.  Problems with stored data become an apology in the reply and a log
 * line; an error return means the bot itself failed (out of memory). */
int bot_handle(const struct bot_opts *o, const struct tg_update *u, struct bot_reply *out,
               struct diag *d);

/* The daily push: the top 10 of the latest screen as one message, and the screen's date.
 * ERR_NOTFOUND when there is no screen. */
int bot_push_text(struct objstore *os, struct buf *out, int32_t *date, struct diag *d);

/* Parse a comma list of chat ids ("123, -100456"); ERR_USAGE naming the bad item. */
int bot_parse_chats(const char *list, int64_t **out, size_t *n, struct diag *d);

#endif
