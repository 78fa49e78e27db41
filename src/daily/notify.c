/* notify.c - the daily job's Telegram messages (see notify.h). */
#include "daily/notify.h"
#include "aws/secrets.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/log.h"
#include "bot/alerts.h"
#include "bot/bot.h"
#include "bot/format.h"
#include "net/http.h"
#include "net/ratelimit.h"
#include "screen/results.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* Telegram allows a bot about 30 messages a second across chats; stay under it. */
#define PUSH_RATE_LIMIT     25
#define PUSH_RATE_WINDOW_MS 1000

/* A Bot API client for pushing: its own limiter (the caller's), several sends in flight. */
static int push_client(struct http_client **http, struct http_client **own, struct ratelimit *rl,
                       struct tg_client **tg, struct diag *d)
{
    memset(rl, 0, sizeof *rl); /* released by the caller whatever happens */
    int err = ratelimit_init(rl, PUSH_RATE_LIMIT, PUSH_RATE_WINDOW_MS, d);
    if (err)
        return err;
    if (!*http && (err = http_client_new(NULL, own, d)) == ERR_OK)
        *http = *own;
    if (!err) {
        struct tg_opts to;
        tg_opts_default(&to);
        to.token = secrets_value(SECRET_TELEGRAM_BOT_TOKEN);
        to.http = *http;
        to.fetch.limiter = rl;
        to.fetch.concurrency = 8;
        err = tg_new(&to, tg, d);
    }
    return err;
}

/* Both run in the collector, whose role may read the bot token but not the webhook secret:
 * only the token is asked for (SSM refuses a call naming one parameter it may not read). */

int notify_daily_screen(struct objstore *os, struct http_client *http, int64_t deadline_ms,
                        struct push_stats *out, struct diag *d)
{
    struct push_stats st = {0};
    if (out)
        memset(out, 0, sizeof *out);
    if (secrets_load(SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN), d) != ERR_OK ||
        !secrets_value(SECRET_TELEGRAM_BOT_TOKEN))
        return ERR_OK; /* no bot configured: nobody to push to */
    struct buf text = BUF_INIT(TG_BUF_MAX);
    struct ratelimit rl;
    struct tg_client *tg = NULL;
    struct http_client *own = NULL;
    int err = push_client(&http, &own, &rl, &tg, d);
    int32_t date = 0;
    if (!err)
        err = bot_push_text(os, &text, &date, d);
    if (!err && text.len > TG_MESSAGE_MAX - 96)
        err = diag_set(d, ERR_INTERNAL, "the daily message is too long (%zu bytes)", text.len);
    if (!err && deadline_ms)
        tg_set_deadline(tg, clock_mono_ms() + (deadline_ms - clock_wall_ms()));
    if (!err)
        err = bot_push(tg, os, date, text.data, cal_ny_date(clock_wall_ms(), NULL), &st, d);
    if (!err)
        log_summary("daily push", LF_INT("subscribers", (int64_t)st.subscribers),
                    LF_INT("sent", (int64_t)st.sent), LF_INT("failed", (int64_t)st.failed),
                    LF_INT("unsubscribed", (int64_t)st.unsubscribed),
                    LF_INT("migrated", (int64_t)st.migrated), LF_INT("left", (int64_t)st.left),
                    LF_BOOL("resumed", st.resumed), LF_BOOL("already_pushed", st.already_pushed),
                    LF_INT("superseded_not_reached", (int64_t)st.superseded_left));
    if (out)
        *out = st;
    tg_free(tg);
    http_client_free(own);
    ratelimit_release(&rl);
    buf_release(&text);
    return err;
}

int notify_sell_signal(struct objstore *os, struct http_client *http, const char *html,
                       struct push_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    if (secrets_load(SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN), d) != ERR_OK ||
        !secrets_value(SECRET_TELEGRAM_BOT_TOKEN)) {
        log_warn("sell signal: no bot configured (TELEGRAM_BOT_TOKEN): the alert goes nowhere");
        return ERR_OK;
    }
    int64_t *allowed = NULL;
    size_t nallowed = 0;
    int err = bot_parse_chats(getenv("TELEGRAM_ALLOWED_CHATS"), &allowed, &nallowed, d);
    if (err)
        return err;
    if (!nallowed) {
        log_warn("sell signal: TELEGRAM_ALLOWED_CHATS names no chat: the alert goes nowhere");
        return ERR_OK;
    }
    struct ratelimit rl;
    struct tg_client *tg = NULL;
    struct http_client *own = NULL;
    err = push_client(&http, &own, &rl, &tg, d);
    if (!err)
        err =
            bot_push_to(tg, os, html, allowed, nallowed, cal_ny_date(clock_wall_ms(), NULL), st, d);
    tg_free(tg);
    http_client_free(own);
    ratelimit_release(&rl);
    free(allowed);
    return err;
}

int notify_user_alerts(struct objstore *os, struct http_client *http, int32_t date,
                       int64_t deadline_ms, struct diag *d)
{
    if (secrets_load(SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN), d) != ERR_OK ||
        !secrets_value(SECRET_TELEGRAM_BOT_TOKEN))
        return ERR_OK; /* no bot configured: nobody set an alert */
    struct ratelimit rl;
    struct tg_client *tg = NULL;
    struct http_client *own = NULL;
    int err = push_client(&http, &own, &rl, &tg, d);
    struct alerts_run_opts o = {.date = date, .deadline_ms = deadline_ms};
    struct results_run run;
    struct diag ignored;
    if (date && results_read_run(os, &run, &ignored) == ERR_OK)
        o.provisional = results_run_provisional(&run, date);
    struct alerts_stats st;
    if (!err)
        err = alerts_run(os, tg, &o, &st, d);
    if (err == ERR_NOTFOUND)
        err = ERR_OK; /* no screen yet: nothing to evaluate */
    else if (!err)
        log_summary("alerts", LF_INT("chats", (int64_t)st.chats),
                    LF_INT("alerts", (int64_t)st.alerts), LF_INT("fired", (int64_t)st.fired),
                    LF_INT("rearmed", (int64_t)st.rearmed), LF_INT("sent", (int64_t)st.sent),
                    LF_INT("failed", (int64_t)st.failed), LF_INT("deferred", (int64_t)st.deferred),
                    LF_INT("chats_blocked", (int64_t)st.chats_blocked),
                    LF_INT("bad_files", (int64_t)st.bad_files));
    tg_free(tg);
    http_client_free(own);
    ratelimit_release(&rl);
    return err;
}
