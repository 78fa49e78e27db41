/* update.c - reading a Telegram Update. */
#include "bot/update.h"

#include <string.h>

#include "codec/json.h"

#include "base/banned.h"

/* The update kinds Telegram sends (Bot API 10.1); any other is still named in the log. */
static const char *const known_kinds[] = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
};

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int get_int(const struct jv *obj, const char *where, const char *key, int64_t *out,
                   struct diag *d)
{
    const struct jv *v = jv_get(obj, key);
    if (!v)
        return diag_set(d, ERR_PARSE, "update: %s has no '%s'", where, key);
    if (jv_int(v, out) != ERR_OK)
        return diag_set(d, ERR_PARSE, "update: %s.%s is %s, expected an integer", where, key,
                        jv_type(v) == JV_NUMBER ? "not an integer" : jv_type_name(jv_type(v)));
    return ERR_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* "/Screen@MyBot  20 " -> command "screen", mention "MyBot", args "20".  Returns 0 when the
 * arguments do not fit (the message is then not acted on). */
static int split_command(const char *text, size_t len, struct tg_update *u)
{
    size_t i = 1, name_start = 1;
    while (i < len && !is_blank(text[i]) && text[i] != '@')
        i++;
    size_t name_len = i - name_start;
    int valid = name_len >= 1 && name_len <= TG_COMMAND_MAX;
    for (size_t k = name_start; valid && k < i; k++)
        valid = is_name_char(text[k]);
    if (valid) {
        for (size_t k = 0; k < name_len; k++) {
            char c = text[name_start + k];
            u->command[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        u->command[name_len] = '\0';
    }
    if (i < len && text[i] == '@') {
        size_t m = ++i;
        while (i < len && !is_blank(text[i]))
            i++;
        if (i - m < sizeof u->mention) {
            memcpy(u->mention, text + m, i - m);
            u->mention[i - m] = '\0';
        }
    }
    while (i < len && is_blank(text[i]))
        i++;
    size_t end = len;
    while (end > i && is_blank(text[end - 1]))
        end--;
    if (end - i > TG_ARGS_MAX)
        return 0;
    memcpy(u->args, text + i, end - i);
    u->args[end - i] = '\0';
    return 1;
}

static int read_message(const struct jv *msg, struct tg_update *u, struct diag *d)
{
    if (jv_type(msg) != JV_OBJECT)
        return diag_set(d, ERR_PARSE, "update: message is %s, expected an object",
                        jv_type_name(jv_type(msg)));
    int err = get_int(msg, "message", "message_id", &u->message_id, d);
    if (err)
        return err;
    const struct jv *chat = jv_get(msg, "chat");
    if (!chat || jv_type(chat) != JV_OBJECT)
        return diag_set(d, ERR_PARSE, "update: message has no 'chat' object");
    if ((err = get_int(chat, "message.chat", "id", &u->chat_id, d)) != ERR_OK)
        return err;
    const char *type = jv_str(jv_get(chat, "type"), NULL);
    if (!type)
        return diag_set(d, ERR_PARSE, "update: message.chat has no 'type' string");
    copy_name(u->chat_type, sizeof u->chat_type, type);
    const struct jv *from = jv_get(msg, "from");
    if (from && jv_type(from) == JV_OBJECT && jv_get(from, "id") &&
        (err = get_int(from, "message.from", "id", &u->from_id, d)) != ERR_OK)
        return err;

    const struct jv *tv = jv_get(msg, "text");
    if (!tv)
        return ERR_OK; /* a sticker, a photo, a service message: no text to act on */
    size_t len;
    const char *text = jv_str(tv, &len);
    if (!text)
        return diag_set(d, ERR_PARSE, "update: message.text is %s, expected a string",
                        jv_type_name(jv_type(tv)));
    /* 4096 characters are at most 4 bytes each. */
    if (len > (size_t)TG_TEXT_MAX * 4) {
        u->kind = TG_UPDATE_IGNORED;
        copy_name(u->kind_name, sizeof u->kind_name, "message (text too long)");
        return ERR_OK;
    }
    u->has_text = 1;
    if (len > 0 && text[0] == '/') {
        u->is_command = 1;
        if (!split_command(text, len, u)) {
            u->kind = TG_UPDATE_IGNORED;
            copy_name(u->kind_name, sizeof u->kind_name, "message (arguments too long)");
        }
    }
    return ERR_OK;
}

int tg_update_from_json(const struct jv *v, struct tg_update *u, struct diag *d)
{
    memset(u, 0, sizeof *u);
    u->kind = TG_UPDATE_IGNORED;
    if (jv_type(v) != JV_OBJECT)
        return diag_set(d, ERR_PARSE, "update: %s, expected an object", jv_type_name(jv_type(v)));
    int err = get_int(v, "update", "update_id", &u->update_id, d);
    if (err)
        return err;
    /* The kind is the one member besides update_id. */
    for (struct jv_iter it = jv_iter(v); jv_iter_ok(&it); jv_iter_next(&it)) {
        if (strcmp(it.key, "update_id") == 0)
            continue;
        const char *name = "unknown";
        for (size_t i = 0; i < sizeof known_kinds / sizeof known_kinds[0]; i++)
            if (strcmp(it.key, known_kinds[i]) == 0)
                name = known_kinds[i];
        copy_name(u->kind_name, sizeof u->kind_name, name);
        if (strcmp(it.key, "message") == 0) {
            u->kind = TG_UPDATE_MESSAGE;
            err = read_message(it.value, u, d);
            if (err)
                u->kind = TG_UPDATE_IGNORED;
            return err;
        }
        return ERR_OK;
    }
    copy_name(u->kind_name, sizeof u->kind_name, "empty");
    return ERR_OK;
}

int tg_update_parse(const char *body, size_t len, struct tg_update *out, struct diag *d)
{
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err) {
        memset(out, 0, sizeof *out);
        out->kind = TG_UPDATE_IGNORED;
        return diag_prefix(d, err, "update");
    }
    err = tg_update_from_json(root, out, d);
    jv_free(root);
    return err;
}
