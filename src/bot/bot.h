/* bot.h - the bot: one function from an Update to the messages that answer it.
 *
 * Every transport uses it: the local webhook server (`screener serve`), long polling
 * (`screener poll`) and the Lambda behind API Gateway.  Answers come from what the collector
 * stored (src/screen/results.h), so a reply costs a couple of small reads and well under a
 * millisecond of CPU; nothing here talks to Telegram.  What only the caller can do (start a
 * collection, read the brokerage account) comes in as hooks.
 *
 * Commands (docs/bot.md#commands): /start /help /screen [N] /drops [N] /stock SYMBOL /download
 * /history [N] /backtest /stats /trigger /subscribe /unsubscribe /alert /alerts /unalert
 * (bot/alerts.h) /portfolio /account /monitor.  They are
 * one table (bot_commands): name, arguments, help text, who may use it, and the handler; /help
 * and the list registered with setMyCommands are generated from it.  Privileged commands
 * (/trigger /portfolio /account /monitor /stats) answer only chats on the allow list; with
 * `restricted` set, every command does but /start and /help.  A new command is a handler and
 * one row.
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

#define BOT_SCREEN_DEFAULT     10
#define BOT_SCREEN_MAX         100
#define BOT_HISTORY_DEFAULT    5
#define BOT_HISTORY_MAX        30
#define BOT_LINK_EXPIRES_S     3600
#define BOT_TRIGGER_KEY        "bot/trigger" /* Unix ms of the last /trigger that started one */
#define BOT_TRIGGER_COOLDOWN_S 600           /* between two /trigger runs */

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
    /* The bot's own @name without '@' (in Telegram: getMe, asked once and kept), asked only
     * when opts.username is NULL and a command names a bot ("/trigger@some_bot"); NULL when it
     * cannot be learned, and then such commands are ignored (they may be for another bot). */
    const char *(*username)(void *ctx);
    void *ctx;
};

struct bot_opts {
    struct objstore *os;          /* borrowed: results and subscribers */
    const int64_t *allowed_chats; /* TELEGRAM_ALLOWED_CHATS; borrowed */
    size_t nallowed;
    int restricted;       /* every command needs an allowed chat */
    const char *username; /* the bot's @name without '@'; commands for other bots are ignored.
                             NULL: hooks.username says; without that hook, accept any */
    int64_t now_ms;       /* the wall clock for freshness; 0: the clock */
    /* The latest screen kept parsed between updates while the stored file is unchanged (a
     * server's or a warm Lambda's); NULL: read afresh each time.  Calls that share it are
     * serialised by the caller. */
    struct results_latest *cache;
    struct bot_hooks hooks;
    const char *font_file; /* the charts' TrueType font; NULL: CHART_FONT_DEFAULT */
};

/* The answer: messages to send, in order, each within Telegram's length limit. */
struct bot_reply {
    int64_t chat_id;
    struct strvec texts; /* HTML */
    const char *action;  /* for the log: "screen", "ignored: edited_message", ... */
    /* A picture to send after the texts (/chart): a PNG, its file name and an HTML caption
     * within Telegram's 1024 characters; photo.len 0: none.  Sent with sendPhoto, an upload,
     * which a webhook's inline answer cannot carry. */
    struct buf photo;
    char photo_name[32];
    char caption[512];
};

/* Who may use a command. */
enum bot_access {
    BOT_PUBLIC,     /* any chat; with `restricted`, allowed chats only */
    BOT_OPEN,       /* any chat, even with `restricted` (/start, /help) */
    BOT_PRIVILEGED, /* chats on the allow list only (TELEGRAM_ALLOWED_CHATS) */
};

struct bot_command;

/* One command being answered. */
struct bot_call {
    const struct bot_opts *o;
    const struct tg_update *u;     /* u->args: what followed the command */
    const struct bot_command *cmd; /* the row of the table */
    int allowed;                   /* the chat is on the allow list */
    struct buf *out;               /* the answer (HTML), split for Telegram afterwards */
    struct bot_reply *reply;       /* where a picture goes (/chart); NULL for the push */
};

/* A command's handler: append the answer to c->out.  Non-zero only when appending failed
 * (out of memory); problems with stored data or a hook become words in the answer and a log
 * line.  Access was checked before it is called. */
typedef int (*bot_command_fn)(struct bot_call *c);

/* A row of the command table. */
struct bot_command {
    const char *name;        /* without '/' */
    const char *args;        /* "[N]", "SYMBOL", "" */
    const char *description; /* /help's and setMyCommands' text */
    enum bot_access access;
    int unlisted; /* left out of /help and setMyCommands (/start: Telegram's button) */
    bot_command_fn run;
};

extern const struct bot_command bot_commands[];
extern const size_t bot_ncommands;

/* The command called name (without '/'), or NULL. */
const struct bot_command *bot_command_find(const char *name);

/* Whether the chat may use k (allowed: it is on the allow list). */
int bot_command_permitted(const struct bot_command *k, const struct bot_opts *o, int allowed);

/* The number of listed commands, as setMyCommands registers them. */
size_t bot_commands_listed(void);

/* The setMyCommands parameters for the listed commands. */
int bot_commands_json(struct buf *out);

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
