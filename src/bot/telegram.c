/* telegram.c - the Telegram Bot API client. */
#include "bot/telegram.h"
#include "codec/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "codec/json.h"

#include "bot/format.h"

#include "base/banned.h"

#define TOKEN_MAX  128
#define METHOD_MAX 40

struct tg_client {
    struct fetch *fetch;
    char base[512]; /* "<api>/bot<token>/" */
};

struct call {
    struct tg_client *c;
    char method[METHOD_MAX];
    tg_done_fn done;
    void *ctx;
};

void tg_opts_default(struct tg_opts *o)
{
    memset(o, 0, sizeof *o);
    fetch_opts_default(&o->fetch);
    o->fetch.concurrency = 4;
}

static int token_valid(const char *t)
{
    size_t n = strlen(t), colon = strcspn(t, ":");
    if (n == 0 || n > TOKEN_MAX || colon == 0 || colon == n || colon + 1 == n)
        return 0;
    for (size_t i = 0; i < colon; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    for (size_t i = colon + 1; i < n; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

int tg_new(const struct tg_opts *o, struct tg_client **out, struct diag *d)
{
    *out = NULL;
    if (!o->token || !o->token[0])
        return diag_set(d, ERR_AUTH, "no Telegram bot token (TELEGRAM_BOT_TOKEN)");
    if (!token_valid(o->token))
        return diag_set(d, ERR_AUTH,
                        "the Telegram bot token is malformed (expected the form "
                        "123456789:ABC-def_..., as BotFather gives it)");
    const char *api = o->api_url;
    if (!api || !api[0])
        api = getenv("TELEGRAM_API_URL");
    if (!api || !api[0])
        api = TG_API_URL_DEFAULT;
    size_t alen = strlen(api);
    while (alen && api[alen - 1] == '/')
        alen--;
    if (strncmp(api, "http://", 7) != 0 && strncmp(api, "https://", 8) != 0)
        return diag_set(d, ERR_USAGE, "TELEGRAM_API_URL '%s' is not an http(s) URL", api);
    struct tg_client *c = calloc(1, sizeof *c);
    if (!c)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int n = snprintf(c->base, sizeof c->base, "%.*s/bot%s/", (int)alen, api, o->token);
    if (n < 0 || (size_t)n >= sizeof c->base) {
        free(c);
        return diag_set(d, ERR_USAGE, "TELEGRAM_API_URL is too long");
    }
    log_add_secret(o->token);
    int err = fetch_new(o->http, &o->fetch, &c->fetch, d);
    if (err) {
        free(c);
        return err;
    }
    *out = c;
    return ERR_OK;
}

void tg_free(struct tg_client *c)
{
    if (!c)
        return;
    fetch_free(c->fetch);
    free(c);
}

/* The envelope of a body, or NULL when it is not one. */
static struct jv *envelope(const struct http_response *resp)
{
    struct jv *root = NULL;
    struct diag d;
    if (jv_parse(resp->body.data ? resp->body.data : "", resp->body.len, &root, &d) != ERR_OK)
        return NULL;
    if (jv_type(root) != JV_OBJECT || !jv_get(root, "ok")) {
        jv_free(root);
        return NULL;
    }
    return root;
}

static void read_error(const struct http_response *resp, struct tg_error *e)
{
    memset(e, 0, sizeof *e);
    e->status = (int)resp->status;
    struct jv *root = envelope(resp);
    if (!root)
        return;
    const char *desc = jv_str(jv_get(root, "description"), NULL);
    if (desc) {
        /* Printable ASCII only: it goes into messages and logs. */
        size_t k = 0;
        for (const char *p = desc; *p && k + 1 < sizeof e->description; p++)
            e->description[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        e->description[k] = '\0';
    }
    const struct jv *params = jv_get(root, "parameters");
    jv_int(jv_get(params, "retry_after"), &e->retry_after);
    jv_int(jv_get(params, "migrate_to_chat_id"), &e->migrate_to);
    jv_free(root);
}

static int accept_envelope(void *ctx, const struct http_response *resp, struct diag *d)
{
    const struct call *cl = ctx;
    struct jv *root = envelope(resp);
    int ok = 0;
    if (root)
        jv_bool(jv_get(root, "ok"), &ok);
    jv_free(root);
    if (!ok)
        return diag_set(d, ERR_PARSE, "Telegram %s: the answer is not a Bot API response",
                        cl->method);
    return ERR_OK;
}

static int64_t retry_after_ms(void *ctx, const struct http_response *resp)
{
    struct tg_error e;
    read_error(resp, &e);
    return e.retry_after > 0 ? e.retry_after * 1000 : -1;
}

static void on_done(void *ctx, int err, struct http_response *resp, const struct diag *fd)
{
    struct call *cl = ctx;
    struct tg_error e;
    read_error(resp, &e);
    e.not_done = err != ERR_OK && ((resp->status == 0 && resp->total_s < 0) ||
                                   (resp->status >= 400 && resp->status < 500));
    struct diag d = {{0}};
    struct jv *root = NULL;
    if (err == ERR_OK) {
        root = envelope(resp);
        if (!root)
            err = diag_set(&d, ERR_PARSE, "Telegram %s: the answer is not a Bot API response",
                           cl->method);
    } else if (resp->status) {
        diag_set(&d, err, "Telegram %s: HTTP %ld: %s", cl->method, resp->status,
                 e.description[0] ? e.description : "no description");
    } else {
        /* No answer: the transport's message names the URL, and so the token; not kept. */
        diag_set(&d, err, "Telegram %s: %s", cl->method,
                 err == ERR_TIMEOUT ? "timed out" : "the Bot API could not be reached");
    }
    (void)fd;
    cl->done(cl->ctx, err, root, &e, &d);
    free(cl);
}

static int submit_body(struct tg_client *c, const char *method, const char *content_type,
                       const char *body, size_t len, tg_done_fn done, void *ctx, struct diag *d)
{
    char url[sizeof c->base + METHOD_MAX];
    size_t mlen = strlen(method);
    if (mlen == 0 || mlen >= METHOD_MAX)
        return diag_set(d, ERR_INVALID, "Telegram method name '%s' is not valid", method);
    snprintf(url, sizeof url, "%s%s", c->base, method);
    struct call *cl = calloc(1, sizeof *cl);
    if (!cl)
        return diag_set(d, ERR_NOMEM, "out of memory");
    cl->c = c;
    memcpy(cl->method, method, mlen + 1);
    cl->done = done;
    cl->ctx = ctx;
    char header[160];
    snprintf(header, sizeof header, "Content-Type: %s", content_type);
    const char *const headers[] = {header};
    struct fetch_req r = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .nheaders = 1,
        .body = body,
        .body_len = len,
        .accept = accept_envelope,
        .retry_after = retry_after_ms,
        .done = on_done,
        .ctx = cl,
        .at_most_once = strcmp(method, "sendMessage") == 0,
    };
    int err = fetch_submit(c->fetch, &r, d);
    if (err)
        free(cl);
    return err;
}

int tg_submit(struct tg_client *c, const char *method, const char *params, size_t len,
              tg_done_fn done, void *ctx, struct diag *d)
{
    return submit_body(c, method, "application/json", params, len, done, ctx, d);
}

int tg_run(struct tg_client *c, struct diag *d)
{
    return fetch_run(c->fetch, d);
}

struct sync_call {
    int err;
    struct jv *envelope;
    struct tg_error e;
    struct diag d;
};

static void on_sync(void *ctx, int err, struct jv *env, const struct tg_error *e,
                    const struct diag *d)
{
    struct sync_call *s = ctx;
    s->err = err;
    s->envelope = env;
    s->e = *e;
    s->d = *d;
}

static int call_body(struct tg_client *c, const char *method, const char *content_type,
                     const char *body, size_t len, struct jv **env, struct tg_error *e,
                     struct diag *d)
{
    struct sync_call s = {.err = ERR_INTERNAL};
    if (env)
        *env = NULL;
    int err = submit_body(c, method, content_type, body, len, on_sync, &s, d);
    if (!err)
        err = tg_run(c, d);
    if (!err && s.err) {
        *d = s.d;
        err = s.err;
    }
    if (e)
        *e = s.e;
    if (env && !err)
        *env = s.envelope;
    else
        jv_free(s.envelope);
    return err;
}

int tg_call(struct tg_client *c, const char *method, const char *params, size_t len,
            struct jv **env, struct tg_error *e, struct diag *d)
{
    return call_body(c, method, "application/json", params, len, env, e, d);
}

int tg_photo_multipart(struct buf *out, char *content_type, size_t cap, int64_t chat_id,
                       const void *photo, size_t len, const char *filename,
                       const char *caption_html)
{
    char chat[24], boundary[MULTIPART_BOUNDARY_MAX + 1];
    snprintf(chat, sizeof chat, "%lld", (long long)chat_id);
    const char *cap_text = caption_html ? caption_html : "";
    const void *parts[] = {photo, cap_text, filename};
    size_t lens[] = {len, strlen(cap_text), strlen(filename)};
    multipart_boundary(parts, lens, 3, boundary);
    snprintf(content_type, cap, "multipart/form-data; boundary=%s", boundary);
    int err = multipart_field(out, boundary, "chat_id", chat, strlen(chat));
    if (!err && caption_html && *caption_html) {
        err = multipart_field(out, boundary, "caption", caption_html, strlen(caption_html));
        err = err ? err : multipart_field(out, boundary, "parse_mode", "HTML", 4);
    }
    err = err ? err : multipart_file(out, boundary, "photo", filename, "image/png", photo, len);
    return err ? err : multipart_end(out, boundary);
}

int tg_send_photo(struct tg_client *c, int64_t chat_id, const void *png, size_t len,
                  const char *filename, const char *caption_html, struct tg_error *e,
                  struct diag *d)
{
    if (len > TG_PHOTO_MAX)
        return diag_set(d, ERR_TOOBIG,
                        "Telegram sendPhoto: %zu bytes, more than the %d MB a "
                        "photo may have",
                        len, TG_PHOTO_MAX >> 20);
    struct buf body = BUF_INIT(TG_PHOTO_MAX + 65536);
    char ct[128];
    int err = tg_photo_multipart(&body, ct, sizeof ct, chat_id, png, len, filename, caption_html);
    if (err)
        err = diag_set(d, err, "Telegram sendPhoto: %s (the file name or caption)", err_str(err));
    if (!err)
        err = call_body(c, "sendPhoto", ct, body.data, body.len, NULL, e, d);
    buf_release(&body);
    return err;
}

int tg_message_json(struct buf *out, int64_t chat_id, const char *html, int inline_reply)
{
    int err = buf_printf(out, "{%s\"chat_id\":%lld,\"text\":\"",
                         inline_reply ? "\"method\":\"sendMessage\"," : "", (long long)chat_id);
    if (!err)
        err = buf_json_escape(out, html, strlen(html));
    if (!err)
        err = buf_puts(out, "\",\"parse_mode\":\"HTML\","
                            "\"link_preview_options\":{\"is_disabled\":true}}");
    return err;
}

int tg_send(struct tg_client *c, int64_t chat_id, const char *html, struct tg_error *e,
            struct diag *d)
{
    struct buf p = BUF_INIT(TG_BUF_MAX);
    int err = tg_message_json(&p, chat_id, html, 0);
    if (err)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err)
        err = tg_call(c, "sendMessage", p.data, p.len, NULL, e, d);
    buf_release(&p);
    return err;
}

const struct fetch_stats *tg_stats(const struct tg_client *c)
{
    return fetch_get_stats(c->fetch);
}

void tg_set_deadline(struct tg_client *c, int64_t deadline_ms)
{
    fetch_set_deadline(c->fetch, deadline_ms);
}

int64_t tg_deadline(const struct tg_client *c)
{
    return fetch_deadline(c->fetch);
}
