/* bot_setup.c - what `serve`, `poll`, `bot` and the Lambda bot share: the bot's settings from
 * the environment (and SSM), the Bot API client, and the local /trigger. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "account/account.h"
#include "aws/lambda_invoke.h"
#include "aws/secrets.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/log.h"
#include "codec/json.h"
#include "bot/format.h"
#include "bot/reply_account.h"
#include "bot/reply_stored.h"
#include "bot/push.h"
#include "net/http.h"
#include "net/ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/banned.h"

/* Locally, /trigger runs `screener collect` in the background, with the same store. */
static int local_trigger(void *ctx, int64_t chat_id, struct buf *text, struct diag *d)
{
    struct app_bot *b = ctx;
    /* Reap collections started earlier, so none lingers as a zombie. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    /* Say now what the collection would fail on, rather than "started" and nothing. */
    const char *key;
    int err = secrets_load(SECRETS_ALPACA, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_KEY_ID, &key, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_SECRET_KEY, &key, d);
    if (err)
        return buf_puts(text, "Cannot start a collection: ") || fmt_html(text, d->text)
                   ? diag_set(d, ERR_NOMEM, "out of memory")
                   : ERR_OK;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return diag_set(d, ERR_INTERNAL, "cannot find the screener binary: %s", strerror(errno));
    exe[n] = '\0';
    pid_t pid = fork();
    if (pid < 0)
        return diag_set(d, ERR_INTERNAL, "cannot start a collection: %s", strerror(errno));
    if (pid == 0) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0)
            dup2(fd, STDIN_FILENO);
        execl(exe, exe, "collect", "--no-progress", "--store", b->store_location, (char *)NULL);
        _exit(127);
    }
    log_info("bot: collection started", LF_INT("pid", pid), LF_INT("chat_id", chat_id));
    return buf_puts(text, "Collection started. /stats shows how it went when it is done.")
               ? diag_set(d, ERR_NOMEM, "out of memory")
               : ERR_OK;
}

/* In AWS, /trigger queues an asynchronous invocation of the collector function: the webhook
 * answers at once, the collection runs in its own Lambda with its own timeout. */
static int lambda_trigger(void *ctx, int64_t chat_id, struct buf *text, struct diag *d)
{
    struct app_bot *b = ctx;
    static const char event[] = "{\"action\":\"collect\"}";
    int err = lambda_invoke_async(b->http, b->collector_function, event, sizeof event - 1, d);
    if (err)
        return err;
    log_info("bot: collection requested", LF_STR("function", b->collector_function),
             LF_INT("chat_id", chat_id));
    return buf_puts(text, "Collection started. /stats shows how it went when it is done.")
               ? diag_set(d, ERR_NOMEM, "out of memory")
               : ERR_OK;
}

/* A bot reply should not wait long for Alpaca: one retry, 5 s a try. */
#define BOT_TRADING_TIMEOUT_MS 5000
#define BOT_TRADING_RETRIES    1

static int trading_ready(struct app_bot *b, struct diag *d)
{
    if (b->trading)
        return ERR_OK;
    struct account *t = calloc(1, sizeof *t);
    if (!t)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int err = account_init(t, b->http, d);
    if (err) {
        account_release(t);
        free(t);
        return err;
    }
    t->o.fetch.timeout_ms = BOT_TRADING_TIMEOUT_MS;
    t->o.fetch.max_retries = BOT_TRADING_RETRIES;
    b->trading = t;
    return ERR_OK;
}

/* /portfolio, /account, /monitor: read the account now, answer from it. */
static int portfolio_hook(void *ctx, const char *command, struct buf *text, struct diag *d)
{
    struct app_bot *b = ctx;
    int err = trading_ready(b, d);
    if (err)
        return err;
    int account = strcmp(command, "account") == 0;
    struct account_view v;
    err = account_load(b->trading, b->opts.os, account ? TRADING_ACCOUNT : TRADING_POSITIONS,
                       account ? TRADING_HISTORY : 0, &v, d);
    int e = 0;
    if (!err && account)
        e = bot_account_html(text, &v.t.account, (v.t.have & TRADING_HISTORY) ? &v.t.history : NULL,
                             &v.t.problems);
    else if (!err && strcmp(command, "monitor") == 0)
        e = bot_monitor_html(text, &v.pf, &v.signal, &v.t.problems);
    else if (!err)
        e = bot_portfolio_html(text, &v.pf, &v.t.problems);
    if (e)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    account_view_release(&v);
    return err;
}

/* The symbols held, for /screen's marks. */
static int holdings_hook(void *ctx, char ***symbols, size_t *n, struct diag *d)
{
    struct app_bot *b = ctx;
    *symbols = NULL;
    *n = 0;
    int err = trading_ready(b, d);
    if (err)
        return err;
    struct trading_data t;
    trading_data_init(&t);
    err = trading_fetch(&b->trading->o, TRADING_POSITIONS, 0, &t, d);
    if (!err)
        err = trading_position_symbols(&t, symbols, n, d);
    trading_data_release(&t);
    return err;
}

/* A bot's username: 5 to 32 of A-Z a-z 0-9 _ (Telegram's rule). */
static int username_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

const char *app_bot_username(struct app_bot *b)
{
    if (b->opts.username)
        return b->opts.username;
    pthread_mutex_lock(&b->me_lock);
    int known = b->username[0] != '\0';
    pthread_mutex_unlock(&b->me_lock);
    if (known) /* written once, never changed after */
        return b->username;
    if (!b->tg)
        return NULL;
    struct jv *env = NULL;
    struct diag d = {{0}};
    int err = tg_call(b->tg, "getMe", "{}", 2, &env, NULL, &d);
    const char *name = err ? NULL : jv_str(jv_get(jv_get(env, "result"), "username"), NULL);
    if (!err && (!name || !username_valid(name)))
        err = diag_set(&d, ERR_PARSE, "Telegram getMe: the answer has no valid username");
    if (!err) {
        pthread_mutex_lock(&b->me_lock);
        if (!b->username[0])
            snprintf(b->username, sizeof b->username, "%s", name);
        pthread_mutex_unlock(&b->me_lock);
        log_info("bot: own username learned with getMe", LF_STR("username", name));
    } else {
        log_warn("bot: own username unknown; commands naming a bot are ignored",
                 LF_STR("error", d.text));
    }
    jv_free(env);
    return err ? NULL : b->username;
}

static const char *username_hook(void *ctx)
{
    return app_bot_username(ctx);
}

/* /portfolio, /account, /monitor without the keys: from what the last collection stored. */
static int stored_portfolio_hook(void *ctx, const char *command, struct buf *text, struct diag *d)
{
    struct app_bot *b = ctx;
    return bot_stored_answer(b->opts.os, command, text, d);
}

static int stored_holdings_hook(void *ctx, char ***symbols, size_t *n, struct diag *d)
{
    struct app_bot *b = ctx;
    return bot_stored_holdings(b->opts.os, symbols, n, d);
}

int app_bot_init(struct app *a, struct app_bot *b, struct http_client *http, unsigned need,
                 int64_t timeout_ms, struct diag *d)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->me_lock, NULL);
    b->store_location = a->os->location;
    b->opts.os = a->os;
    b->opts.cache = &b->latest;
    b->opts.username = getenv("TELEGRAM_BOT_USERNAME");
    b->opts.font_file = app_font_file(b->font, sizeof b->font);
    if (b->opts.username && !b->opts.username[0])
        b->opts.username = NULL;
    if (b->opts.username && b->opts.username[0] == '@')
        b->opts.username++;
    b->opts.hooks.username = username_hook;
    const char *priv = getenv("TELEGRAM_PRIVATE");
    b->opts.restricted = priv && strcmp(priv, "1") == 0;
    int err = bot_parse_chats(getenv("TELEGRAM_ALLOWED_CHATS"), &b->allowed, &b->opts.nallowed, d);
    if (err)
        return err;
    b->opts.allowed_chats = b->allowed;
    /* /trigger: the collector function when one is named (AWS), a local run otherwise; a
     * Lambda without the name cannot start one. */
    b->collector_function = getenv("COLLECTOR_FUNCTION_NAME");
    if (b->collector_function && b->collector_function[0])
        b->opts.hooks.trigger = lambda_trigger;
    else if (!getenv("AWS_LAMBDA_FUNCTION_NAME"))
        b->opts.hooks.trigger = local_trigger;
    b->opts.hooks.ctx = b;

    /* The Alpaca keys come in the same SSM call: one round trip at a cold start. */
    int tracking = account_tracking_enabled() && account_live_account();
    if ((err = secrets_load(SECRETS_TELEGRAM | (tracking ? SECRETS_ALPACA : 0), d)) != ERR_OK)
        return err;
    const char *token = secrets_value(SECRET_TELEGRAM_BOT_TOKEN);
    const char *secret = secrets_value(SECRET_TELEGRAM_WEBHOOK_SECRET);
    if ((need & APP_BOT_TOKEN) && (err = secrets_get(SECRET_TELEGRAM_BOT_TOKEN, &token, d)))
        return err;
    if (need & APP_BOT_SECRET) {
        if ((err = secrets_get(SECRET_TELEGRAM_WEBHOOK_SECRET, &secret, d)) != ERR_OK)
            return err;
        if ((err = webhook_secret_check(secret, "TELEGRAM_WEBHOOK_SECRET", d)) != ERR_OK)
            return err;
    }
    if (!http && (token || b->opts.hooks.trigger == lambda_trigger)) {
        if ((err = http_client_new(NULL, &b->own_http, d)) != ERR_OK)
            return err;
        http = b->own_http;
    }
    b->http = http;
    if (token) {
        struct tg_opts to;
        tg_opts_default(&to);
        to.token = token;
        to.http = http;
        if (timeout_ms > 0)
            to.fetch.timeout_ms = timeout_ms;
        if ((err = tg_new(&to, &b->tg, d)) != ERR_OK)
            return err;
    }
    if (tracking && secrets_value(SECRET_ALPACA_KEY_ID) &&
        secrets_value(SECRET_ALPACA_SECRET_KEY)) {
        b->opts.hooks.portfolio = portfolio_hook;
        b->opts.hooks.holdings = holdings_hook;
    } else if (account_tracking_enabled()) {
        /* No keys (the default in AWS): answer from what the collector stored. */
        b->opts.hooks.portfolio = stored_portfolio_hook;
        b->opts.hooks.holdings = stored_holdings_hook;
    }
    b->wh.bot = &b->opts;
    b->wh.secret = secret;
    b->wh.tg = b->tg;
    return ERR_OK;
}

int app_bot_copy(struct app_bot *b, struct app_bot *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_init(&out->me_lock, NULL);
    out->copy = 1;
    out->opts = b->opts;
    out->opts.cache = &out->latest;
    out->opts.hooks.ctx = out;
    out->store_location = b->store_location;
    out->collector_function = b->collector_function;
    memcpy(out->font, b->font, sizeof out->font);
    if (b->opts.font_file == b->font)
        out->opts.font_file = out->font;
    /* The name b learned, if it did: a copy asks getMe only when b could not. */
    if (!out->opts.username) {
        pthread_mutex_lock(&b->me_lock);
        memcpy(out->username, b->username, sizeof out->username);
        pthread_mutex_unlock(&b->me_lock);
    }
    int err = objstore_open(b->store_location, &out->own_os, d);
    if (!err)
        out->opts.os = out->own_os;
    if (!err && (b->tg || b->http))
        err = http_client_new(NULL, &out->own_http, d);
    out->http = out->own_http;
    if (!err && b->tg) {
        struct tg_opts to;
        tg_opts_default(&to);
        to.token = secrets_value(SECRET_TELEGRAM_BOT_TOKEN);
        to.http = out->http;
        err = tg_new(&to, &out->tg, d);
    }
    /* Not a copy of b->wh: its memory of update_ids changes under its lock meanwhile. */
    out->wh.bot = &out->opts;
    out->wh.secret = b->wh.secret;
    out->wh.tg = out->tg;
    return err;
}

void app_bot_release(struct app_bot *b)
{
    if (b->trading)
        account_release(b->trading);
    free(b->trading);
    tg_free(b->tg);
    http_client_free(b->own_http);
    results_latest_release(&b->latest);
    objstore_free(b->own_os);
    if (!b->copy)
        free(b->allowed);
    pthread_mutex_destroy(&b->me_lock);
    memset(b, 0, sizeof *b);
}
