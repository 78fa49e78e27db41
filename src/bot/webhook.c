/* webhook.c - a Telegram webhook request in, an HTTP answer out. */
#include "bot/webhook.h"

#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "codec/crypto.h"

#include "bot/format.h"

#include "base/banned.h"

void webhook_answer_init(struct webhook_answer *a)
{
    a->status = 200;
    buf_init(&a->body, TG_BUF_MAX);
    a->outcome = "";
}

void webhook_answer_release(struct webhook_answer *a)
{
    buf_release(&a->body);
}

int webhook_secret_check(const char *s, const char *name, struct diag *d)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return diag_set(d, ERR_AUTH,
                            "%s holds a character Telegram does not accept in a secret token "
                            "(at position %zu; only A-Z, a-z, 0-9, '_' and '-')",
                            name, i + 1);
    if (n > 256)
        return diag_set(d, ERR_AUTH, "%s is %zu characters long; Telegram accepts at most 256",
                        name, n);
    if (n < WEBHOOK_SECRET_MIN)
        return diag_set(d, ERR_AUTH,
                        "%s is too weak: %zu characters, at least %d are needed (A-Z, a-z, 0-9, "
                        "'_' and '-'; e.g. head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9)",
                        name, n, WEBHOOK_SECRET_MIN);
    return ERR_OK;
}

int webhook_secret_valid(const char *s)
{
    struct diag d;
    return webhook_secret_check(s, "secret", &d) == ERR_OK;
}

static int seen_before(struct webhook *w, int64_t id)
{
    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i] == id)
            return 1;
    w->seen[w->next] = id;
    w->next = (w->next + 1) % WEBHOOK_SEEN;
    if (w->nseen < WEBHOOK_SEEN)
        w->nseen++;
    return 0;
}

void webhook_handle(struct webhook *w, const char *secret_header, const char *body, size_t len,
                    struct webhook_answer *out)
{
    int64_t start = clock_mono_us();
    if (!w->secret || !w->secret[0] || !secret_header ||
        !crypto_secret_streq(secret_header, w->secret)) {
        out->status = 401;
        out->outcome = "unauthorized";
        buf_puts(&out->body, "{\"ok\":false,\"description\":\"Unauthorized\"}");
        log_warn("webhook: request refused: missing or wrong secret token",
                 LF_BOOL("header_present", secret_header != NULL));
        return;
    }
    if (len > WEBHOOK_BODY_MAX) {
        out->status = 413;
        out->outcome = "too large";
        log_warn("webhook: request body too large", LF_INT("bytes", (int64_t)len));
        return;
    }
    struct tg_update u;
    struct diag d = {{0}};
    if (tg_update_parse(body, len, &u, &d) != ERR_OK) {
        out->outcome = "unreadable";
        log_warn("webhook: not an update; ignored", LF_STR("error", d.text),
                 LF_INT("bytes", (int64_t)len));
        return;
    }
    if (seen_before(w, u.update_id)) {
        out->outcome = "duplicate";
        log_info("webhook: update already handled; ignored", LF_INT("update_id", u.update_id));
        return;
    }
    struct bot_reply r;
    bot_reply_init(&r);
    if (bot_handle(w->bot, &u, &r, &d) != ERR_OK) {
        out->outcome = "failed";
        log_error("webhook: the bot failed", LF_STR("error", d.text),
                  LF_INT("update_id", u.update_id));
        bot_reply_release(&r);
        return;
    }
    size_t sent = 0;
    if (r.texts.n == 1) {
        out->outcome = "reply";
        if (tg_message_json(&out->body, r.chat_id, r.texts.v[0], 1) == 0) {
            sent = 1;
        } else {
            buf_reset(&out->body);
            out->outcome = "failed";
        }
    } else if (r.texts.n > 1 && !w->tg) {
        out->outcome = "failed";
        log_error("webhook: a reply of several messages needs the Bot API token",
                  LF_INT("messages", (int64_t)r.texts.n));
    } else if (r.texts.n > 1) {
        out->outcome = "replies";
        for (size_t i = 0; i < r.texts.n; i++) {
            struct tg_error e;
            if (tg_send(w->tg, r.chat_id, r.texts.v[i], &e, &d) != ERR_OK) {
                log_error("webhook: reply not delivered", LF_STR("error", d.text),
                          LF_INT("chat_id", r.chat_id));
                out->outcome = "failed";
                break;
            }
            sent++;
        }
    } else {
        out->outcome = "no reply";
    }
    log_info("webhook: update handled", LF_INT("update_id", u.update_id),
             LF_STR("kind", u.kind_name), LF_INT("chat_id", u.chat_id),
             LF_STR("command", u.command), LF_STR("action", r.action),
             LF_INT("messages", (int64_t)sent), LF_INT("duration_us", clock_mono_us() - start));
    bot_reply_release(&r);
}
