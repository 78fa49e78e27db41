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
    int seen = 0;
    for (size_t i = 0; i < w->nseen && !seen; i++)
        seen = w->seen[i] == id;
    if (!seen) {
        w->seen[w->next] = id;
        w->next = (w->next + 1) % WEBHOOK_SEEN;
        if (w->nseen < WEBHOOK_SEEN)
            w->nseen++;
    }
    return seen;
}

int webhook_authorized(const struct webhook *w, const char *secret_header)
{
    return w->secret && w->secret[0] && secret_header &&
           crypto_secret_streq(secret_header, w->secret);
}

/* Send texts[0..n) through the Bot API, in order, before the deadline; the number sent. */
static size_t send_before(struct tg_client *tg, const struct bot_reply *r, size_t n,
                          int64_t deadline_ms)
{
    size_t sent = 0;
    if (!tg) {
        log_error("webhook: a reply of several messages needs the Bot API token",
                  LF_INT("messages", (int64_t)r->texts.n));
        return 0;
    }
    tg_set_deadline(tg, deadline_ms);
    for (; sent < n; sent++) {
        struct tg_error e;
        struct diag d = {{0}};
        if (tg_send(tg, r->chat_id, r->texts.v[sent], &e, &d) != ERR_OK) {
            log_error("webhook: reply not delivered; the rest is dropped", LF_STR("error", d.text),
                      LF_INT("chat_id", r->chat_id), LF_INT("message", (int64_t)sent + 1),
                      LF_INT("messages", (int64_t)r->texts.n));
            break;
        }
    }
    tg_set_deadline(tg, 0);
    return sent;
}

/* Upload the reply's picture through the Bot API before the deadline. */
static int send_photo(struct tg_client *tg, const struct bot_reply *r, int64_t deadline_ms)
{
    if (!tg) {
        log_error("webhook: a picture needs the Bot API token", LF_STR("action", r->action));
        return ERR_INVALID;
    }
    tg_set_deadline(tg, deadline_ms);
    struct tg_error e;
    struct diag d = {{0}};
    int err = tg_send_photo(tg, r->chat_id, r->photo.data, r->photo.len, r->photo_name, r->caption,
                            &e, &d);
    if (err != ERR_OK)
        log_error("webhook: picture not delivered", LF_STR("error", d.text),
                  LF_INT("chat_id", r->chat_id));
    tg_set_deadline(tg, 0);
    return err;
}

void webhook_handle(struct webhook *w, const char *secret_header, const char *body, size_t len,
                    struct webhook_answer *out)
{
    int64_t start = clock_mono_us();
    int64_t deadline = w->deadline_ms ? w->deadline_ms : start / 1000 + WEBHOOK_BUDGET_MS;
    if (!webhook_authorized(w, secret_header)) {
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
    /* Only the memory of updates is shared between requests: the lock is held for it alone,
     * never across the store reads, brokerage calls and Bot API calls below. */
    if (w->lock)
        pthread_mutex_lock(w->lock);
    int dup = seen_before(w, u.update_id);
    if (w->lock)
        pthread_mutex_unlock(w->lock);
    if (dup) {
        out->outcome = "duplicate";
        log_info("webhook: update already handled; ignored", LF_INT("update_id", u.update_id));
        return;
    }
    struct webhook_worker wk = {.bot = w->bot, .tg = w->tg};
    if (w->take_worker && w->take_worker(w->worker_ctx, &wk) != 0) {
        out->outcome = "failed";
        log_error("webhook: no worker to answer the update", LF_INT("update_id", u.update_id));
        return;
    }
    struct bot_reply r;
    bot_reply_init(&r);
    int berr = bot_handle(wk.bot, &u, &r, &d);
    if (berr != ERR_OK) {
        out->outcome = "failed";
        log_error("webhook: the bot failed", LF_STR("error", d.text),
                  LF_INT("update_id", u.update_id));
        bot_reply_release(&r);
        if (w->give_worker)
            w->give_worker(w->worker_ctx, &wk);
        return;
    }
    size_t sent = 0;
    if (r.texts.n == 0) {
        out->outcome = "no reply";
    } else {
        /* All but the last through the API, the last inline (after them, in order). */
        size_t before = r.texts.n - 1;
        if (before)
            sent = send_before(wk.tg, &r, before, deadline);
        out->outcome = before ? "replies" : "reply";
        if (sent < before) {
            out->outcome = "failed";
        } else if (tg_message_json(&out->body, r.chat_id, r.texts.v[before], 1) == 0) {
            sent++;
        } else {
            buf_reset(&out->body);
            out->outcome = "failed";
        }
    }
    /* A picture is an upload: never inline, always a call of its own, within the deadline. */
    if (r.photo.len) {
        if (send_photo(wk.tg, &r, deadline) == ERR_OK) {
            out->outcome = sent ? out->outcome : "photo";
            sent++;
        } else {
            out->outcome = "failed";
        }
    }
    log_info("webhook: update handled", LF_INT("update_id", u.update_id),
             LF_STR("kind", u.kind_name), LF_INT("chat_id", u.chat_id),
             LF_STR("command", u.command), LF_STR("action", r.action),
             LF_INT("messages", (int64_t)sent), LF_INT("duration_us", clock_mono_us() - start));
    bot_reply_release(&r);
    if (w->give_worker)
        w->give_worker(w->worker_ctx, &wk);
}
