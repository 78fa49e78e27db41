/* update.h - reading a Telegram Update: the one outside document every bot transport shares.
 *
 * A webhook body, one element of getUpdates' result, or an API Gateway event's body: all are
 * an Update.  The bot acts on new text messages only; everything else (edited messages,
 * channel posts, stickers, callback queries, member updates, kinds added to the API later) is
 * recognised, named for the log, and ignored.  Parsing never trusts the document: a missing
 * or mistyped field is an error naming it.
 */
#ifndef BOT_UPDATE_H
#define BOT_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct jv;

#define TG_COMMAND_MAX 32   /* Telegram's own limit on a command's name */
#define TG_ARGS_MAX    256  /* the bot's commands take a word or two */
#define TG_TEXT_MAX    4096 /* characters in a message; longer texts are not commands */

enum tg_update_kind {
    TG_UPDATE_MESSAGE, /* a new message (text or not) */
    TG_UPDATE_IGNORED, /* anything else: kind names it */
};

struct tg_update {
    int64_t update_id;
    enum tg_update_kind kind;
    char kind_name[32]; /* "message", "edited_message", "channel_post", ... */
    int64_t chat_id;
    char chat_type[16]; /* "private", "group", "supergroup", "channel" */
    int64_t from_id;    /* 0 when absent */
    int64_t message_id;
    int has_text;
    int is_command; /* the text starts with '/' */
    /* For a message whose text starts with a command: its name, lower-cased, without '/' and
     * without an "@BotName" suffix (which goes to mention); args is the rest of the text with
     * surrounding blanks removed.  command is "" for ordinary text. */
    char command[TG_COMMAND_MAX + 1]; /* "" too when the name is not a valid one */
    char mention[64];
    char args[TG_ARGS_MAX + 1];
};

/* Parse an Update from JSON text (len bytes, no NUL needed). */
int tg_update_parse(const char *body, size_t len, struct tg_update *out, struct diag *d);
/* The same from an already parsed value (an element of getUpdates' result). */
int tg_update_from_json(const struct jv *v, struct tg_update *out, struct diag *d);

#endif
