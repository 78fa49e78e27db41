/* screener bot - register the bot with Telegram: commands, webhook. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "codec/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/format.h"

#include "base/banned.h"

static const char help[] =
    "usage: screener bot setup --webhook-url URL [--drop-pending] [options]\n"
    "       screener bot info | delete-webhook [options]\n\n"
    "setup           register the command list (setMyCommands) and point Telegram at the\n"
    "                webhook (setWebhook) with TELEGRAM_WEBHOOK_SECRET as its secret token,\n"
    "                for message updates only\n"
    "info            show the webhook Telegram has (getWebhookInfo): URL, pending updates,\n"
    "                last error\n"
    "delete-webhook  remove the webhook (for 'screener poll')\n\n"
    "Options:\n"
    "      --webhook-url URL    the public HTTPS URL of POST /webhook (the stack's WebhookUrl\n"
    "                           output in AWS)\n"
    "      --drop-pending       drop the updates Telegram is still holding\n" APP_COMMON_HELP
    "\nEnvironment: TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (or SSM), TELEGRAM_API_URL.\n";

enum { OPT_URL = OPT_FIRST_FREE_, OPT_DROP };

static int json_string(struct buf *b, const char *s)
{
    return buf_putc(b, '"') || buf_json_escape(b, s, strlen(s)) || buf_putc(b, '"');
}

static int setup(struct app_bot *b, const char *url, int drop, struct diag *d)
{
    if (strncmp(url, "https://", 8) != 0)
        return diag_set(d, ERR_USAGE,
                        "--webhook-url must be an https:// URL (Telegram calls "
                        "only HTTPS webhooks)");
    struct buf p = BUF_INIT(TG_BUF_MAX);
    int err = bot_commands_json(&p) ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
    if (!err)
        err = tg_call(b->tg, "setMyCommands", p.data, p.len, NULL, NULL, d);
    buf_reset(&p);
    if (!err && (buf_puts(&p, "{\"url\":") || json_string(&p, url) ||
                 buf_puts(&p, ",\"secret_token\":") || json_string(&p, b->wh.secret) ||
                 buf_printf(&p, ",\"allowed_updates\":[\"message\"],\"drop_pending_updates\":%s}",
                            drop ? "true" : "false")))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err)
        err = tg_call(b->tg, "setWebhook", p.data, p.len, NULL, NULL, d);
    buf_release(&p);
    if (!err)
        printf("Registered %zu commands; webhook set to %s (message updates, secret token "
               "set).\n",
               bot_commands_listed(), url);
    return err;
}

static int info(struct app_bot *b, struct diag *d)
{
    struct jv *env;
    int err = tg_call(b->tg, "getWebhookInfo", "{}", 2, &env, NULL, d);
    if (err)
        return err;
    const struct jv *r = jv_get(env, "result");
    const char *url = jv_str(jv_get(r, "url"), NULL);
    int64_t pending = 0, last = 0;
    jv_int(jv_get(r, "pending_update_count"), &pending);
    jv_int(jv_get(r, "last_error_date"), &last);
    const char *msg = jv_str(jv_get(r, "last_error_message"), NULL);
    printf("Webhook:          %s\nPending updates:  %lld\n",
           url && url[0] ? url : "(none: updates wait for getUpdates)", (long long)pending);
    if (msg)
        printf("Last error:       %s (at Unix time %lld)\n", msg, (long long)last);
    jv_free(env);
    return ERR_OK;
}

int cmd_bot(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"webhook-url", required_argument, NULL, OPT_URL},
        {"drop-pending", no_argument, NULL, OPT_DROP},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener bot");
    const char *url = NULL;
    int drop = 0, opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            app_release(&a);
            return 0;
        case OPT_URL:
            url = optarg;
            break;
        case OPT_DROP:
            drop = 1;
            break;
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0) {
                app_release(&a);
                return rc < 0 ? app_usage_error(&a, "unknown option") : rc;
            }
        }
    }
    const char *action = optind < argc ? argv[optind] : NULL;
    int known = action && (strcmp(action, "setup") == 0 || strcmp(action, "info") == 0 ||
                           strcmp(action, "delete-webhook") == 0);
    if (!known || optind + 1 < argc || (strcmp(action, "setup") == 0 && !url)) {
        rc = app_usage_error(&a, !action  ? "expected setup, info or delete-webhook"
                                 : !known ? "unknown action: expected setup, info or "
                                            "delete-webhook"
                                 : !url && strcmp(action, "setup") == 0
                                     ? "setup needs --webhook-url URL"
                                     : "too many arguments");
        app_release(&a);
        return rc;
    }
    struct diag d = {{0}};
    struct app_bot bot;
    memset(&bot, 0, sizeof bot);
    unsigned need = APP_BOT_TOKEN | (strcmp(action, "setup") == 0 ? APP_BOT_SECRET : 0);
    int err = app_open_store(&a, &d);
    if (!err)
        err = app_bot_init(&a, &bot, NULL, need, 0, &d);
    if (!err && strcmp(action, "setup") == 0)
        err = setup(&bot, url, drop, &d);
    else if (!err && strcmp(action, "info") == 0)
        err = info(&bot, &d);
    else if (!err) {
        char p[48];
        int n = snprintf(p, sizeof p, "{\"drop_pending_updates\":%s}", drop ? "true" : "false");
        err = tg_call(bot.tg, "deleteWebhook", p, (size_t)n, NULL, NULL, &d);
        if (!err)
            printf("Webhook removed: updates now wait for 'screener poll'.\n");
    }
    app_bot_release(&bot);
    rc = err ? app_fail(&a, err, &d) : 0;
    app_release(&a);
    return rc;
}
