/* screener poll - the bot over getUpdates long polling, for running without a public URL. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "base/clock.h"
#include "base/log.h"
#include "codec/json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener poll [options]\n\n"
    "Run the Telegram bot by long polling (getUpdates): no public URL or webhook needed, so it\n"
    "suits a laptop.  Each update is answered, then confirmed by the next poll's offset, so an\n"
    "update is never lost and never answered twice, even across restarts.  Network and server\n"
    "errors are retried; SIGINT or SIGTERM stops it (after the batch being answered).\n\n"
    "Options:\n"
    "      --timeout SECONDS    long-poll wait, 0 to 50 (default 25)\n"
    "      --once               answer what is waiting, then exit\n"
    "      --delete-webhook     remove a webhook first (getUpdates refuses to run while one\n"
    "                           is set)\n" APP_COMMON_HELP
    "\nEnvironment: TELEGRAM_BOT_TOKEN (required), TELEGRAM_ALLOWED_CHATS, TELEGRAM_PRIVATE,\n"
    "TELEGRAM_BOT_USERNAME, TELEGRAM_API_URL (see 'screener serve --help').\n"
    "\nExit codes: 0 stopped, 1 failure, 2 bad command line, 7 token missing or refused, or a\n"
    "webhook is set (use --delete-webhook).\n";

#define POLL_REPLY_BUDGET_MS 30000

enum { OPT_TIMEOUT = OPT_FIRST_FREE_, OPT_ONCE, OPT_DELETE_WEBHOOK };

static volatile sig_atomic_t busy, stop_requested;

static void on_signal(int sig)
{
    /* Waiting on a poll, nothing is half done: updates not yet confirmed come again. */
    if (!busy)
        _exit(0);
    stop_requested = sig;
}

/* Answer one update; the reply goes out through the API. */
static void answer(struct app_bot *b, const struct jv *v)
{
    struct tg_update u;
    struct diag d = {{0}};
    if (tg_update_from_json(v, &u, &d) != ERR_OK) {
        log_warn("poll: not an update; skipped", LF_STR("error", d.text));
        return;
    }
    int64_t start = clock_mono_us();
    struct bot_reply r;
    bot_reply_init(&r);
    size_t sent = 0;
    if (bot_handle(&b->opts, &u, &r, &d) != ERR_OK) {
        log_error("poll: the bot failed", LF_STR("error", d.text));
    } else {
        /* The answer's messages share one budget; what does not go out in time is dropped,
         * not retried (the update is confirmed either way). */
        tg_set_deadline(b->tg, clock_mono_ms() + POLL_REPLY_BUDGET_MS);
        for (size_t i = 0; i < r.texts.n; i++) {
            struct tg_error e;
            if (tg_send(b->tg, r.chat_id, r.texts.v[i], &e, &d) != ERR_OK) {
                log_error("poll: reply not delivered", LF_STR("error", d.text),
                          LF_INT("chat_id", r.chat_id));
                break;
            }
            sent++;
        }
        struct tg_error e;
        if (r.photo.len && sent == r.texts.n &&
            tg_send_photo(b->tg, r.chat_id, r.photo.data, r.photo.len, r.photo_name, r.caption, &e,
                          &d) != ERR_OK)
            log_error("poll: picture not delivered", LF_STR("error", d.text),
                      LF_INT("chat_id", r.chat_id));
        else if (r.photo.len)
            sent++;
        tg_set_deadline(b->tg, 0);
    }
    log_info("poll: update handled", LF_INT("update_id", u.update_id), LF_STR("kind", u.kind_name),
             LF_INT("chat_id", u.chat_id), LF_STR("command", u.command), LF_STR("action", r.action),
             LF_INT("messages", (int64_t)sent), LF_INT("duration_us", clock_mono_us() - start));
    bot_reply_release(&r);
}

/* One getUpdates call and its answers; *offset moves past every update seen. */
static int poll_once(struct app_bot *b, int64_t *offset, long timeout, size_t *handled,
                     struct tg_error *e, struct diag *d)
{
    char params[160];
    int n = snprintf(params, sizeof params,
                     "{\"offset\":%lld,\"timeout\":%ld,\"allowed_updates\":[\"message\"]}",
                     (long long)*offset, timeout);
    struct jv *env = NULL;
    int err = tg_call(b->tg, "getUpdates", params, (size_t)n, &env, e, d);
    if (err)
        return err;
    const struct jv *result = jv_get(env, "result");
    if (jv_type(result) != JV_ARRAY) {
        jv_free(env);
        return diag_set(d, ERR_PARSE, "Telegram getUpdates: 'result' is not an array");
    }
    busy = 1;
    for (size_t i = 0; i < jv_len(result); i++) {
        const struct jv *v = jv_at(result, i);
        int64_t id;
        if (jv_int(jv_get(v, "update_id"), &id) == ERR_OK && id >= *offset)
            *offset = id + 1;
        answer(b, v);
        (*handled)++;
    }
    busy = 0;
    jv_free(env);
    return ERR_OK;
}

/* Telegram answers 409 both when a webhook is set and when another getUpdates took over (its
 * description says which): the first needs --delete-webhook, the second stopping the other
 * poller; neither is cured by trying again. */
static int conflict(const struct tg_error *e, struct diag *d)
{
    if (strstr(e->description, "other getUpdates"))
        return diag_set(d, ERR_CONFLICT,
                        "another program is polling this bot's updates (another 'screener poll', "
                        "or anything else using the same token): Telegram lets only one do so; "
                        "stop the other one (Telegram: %s)",
                        e->description);
    if (strstr(e->description, "webhook") || strstr(e->description, "setWebhook"))
        return diag_set(d, ERR_AUTH,
                        "a webhook is set for this bot, and Telegram does not serve "
                        "getUpdates while it is: run with --delete-webhook (Telegram: %s)",
                        e->description);
    return diag_set(d, ERR_CONFLICT, "Telegram getUpdates refused with a conflict: %s",
                    e->description[0] ? e->description : "no description");
}

int cmd_poll(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"once", no_argument, NULL, OPT_ONCE},
        {"delete-webhook", no_argument, NULL, OPT_DELETE_WEBHOOK},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener poll");
    long timeout = 25;
    int once = 0, delete_webhook = 0;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            app_release(&a);
            return 0;
        case OPT_TIMEOUT:
            if ((rc = app_parse_long(&a, "--timeout", optarg, 0, 50, &timeout)) != 0) {
                app_release(&a);
                return rc;
            }
            break;
        case OPT_ONCE:
            once = 1;
            break;
        case OPT_DELETE_WEBHOOK:
            delete_webhook = 1;
            break;
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0) {
                app_release(&a);
                return rc < 0 ? app_usage_error(&a, "unknown option") : rc;
            }
        }
    }
    if (optind < argc) {
        rc = app_usage_error(&a, "unexpected argument '%s'", argv[optind]);
        app_release(&a);
        return rc;
    }
    if (once)
        timeout = 0;
    struct diag d = {{0}};
    struct app_bot bot;
    memset(&bot, 0, sizeof bot);
    int err = app_open_store(&a, &d);
    if (!err)
        err = app_bot_init(&a, &bot, NULL, APP_BOT_TOKEN, (timeout + 15) * 1000, &d);
    if (!err && delete_webhook) {
        static const char p[] = "{\"drop_pending_updates\":false}";
        err = tg_call(bot.tg, "deleteWebhook", p, sizeof p - 1, NULL, NULL, &d);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int64_t offset = 0;
    size_t handled = 0;
    if (!err)
        log_info("polling for updates", LF_INT("timeout_s", timeout));
    while (!err && !stop_requested) {
        struct tg_error e = {0};
        err = poll_once(&bot, &offset, timeout, &handled, &e, &d);
        if (err && e.status == 409) {
            err = conflict(&e, &d);
        } else if (err == ERR_UNAVAILABLE || err == ERR_NETWORK || err == ERR_TIMEOUT ||
                   err == ERR_RATELIMIT || err == ERR_PARSE) {
            if (once)
                break;
            log_warn("poll failed; trying again in 5 s", LF_STR("error", d.text));
            err = ERR_OK;
            clock_sleep_ms(5000);
        }
        if (once && !err) {
            /* Confirm what was answered: the next call's offset does that. */
            char p[64];
            int n = snprintf(p, sizeof p, "{\"offset\":%lld,\"timeout\":0,\"limit\":1}",
                             (long long)offset);
            err = tg_call(bot.tg, "getUpdates", p, (size_t)n, NULL, NULL, &d);
            break;
        }
    }
    if (once && !err)
        printf("Answered %zu update%s.\n", handled, handled == 1 ? "" : "s");
    app_bot_release(&bot);
    rc = err ? app_fail(&a, err, &d) : 0;
    app_release(&a);
    return rc;
}
