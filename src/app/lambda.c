/* lambda.c - the Lambda handlers that `screener lambda` (in AWS) and `screener invoke`
 * (locally) run: the collector (a schedule or {"action":"collect"}) and the bot (Telegram's
 * webhook behind API Gateway). */
#include "app/app.h"
#include "app/lambda.h"
#include "app/bot_setup.h"
#include "aws/apigw.h"
#include "aws/secrets.h"
#include "aws/lambda_invoke.h"
#include "aws/lambda_rt.h"
#include "base/clock.h"
#include "base/log.h"
#include "collect/collect_lambda.h"
#include "collect/universe.h"
#include "daily/daily.h"
#include "daily/notify.h"
#include "net/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* The bot's answer must leave the function before its deadline, or API Gateway answers 502
 * and Telegram delivers the update again: its Bot API calls end this much earlier. */
#define BOT_DEADLINE_MARGIN_MS 1000
#define COLLECT_RATE_LIMIT     200
#define COLLECT_RATE_WINDOW_MS 60000

enum handler_kind { HANDLER_COLLECTOR, HANDLER_BOT };

struct app_lambda {
    enum handler_kind kind;
    struct app app;
    struct http_client *http;
    struct ratelimit rl; /* shared by warm invocations: the API's limit spans them */
    int have_secrets;
    const char *key_id, *secret_key;
    struct app_bot bot; /* the bot handler's, set up by its first invocation */
    int have_bot;
};

int app_lambda_new(const struct app_lambda_opts *o, struct app_lambda **out, struct diag *d)
{
    const char *name = o->handler ? o->handler : "";
    enum handler_kind kind;
    if (strcmp(name, "collector") == 0) {
        kind = HANDLER_COLLECTOR;
    } else if (strcmp(name, "bot") == 0) {
        kind = HANDLER_BOT;
    } else {
        char q[80];
        diag_quote(q, sizeof q, name, strlen(name), 64);
        return diag_set(d, ERR_USAGE, "handler '%s' is not in this binary: expected %s", q,
                        APP_LAMBDA_HANDLERS);
    }
    struct app_lambda *l = calloc(1, sizeof *l);
    if (!l)
        return diag_set(d, ERR_NOMEM, "out of memory");
    l->kind = kind;
    l->http = o->http;
    /* Not app_init: the caller has set up logging for where it runs. */
    l->app.prog = "screener lambda";
    l->app.store_location = o->store_location;
    int err = ERR_OK;
    if (kind == HANDLER_COLLECTOR)
        err = ratelimit_init(&l->rl, COLLECT_RATE_LIMIT, COLLECT_RATE_WINDOW_MS, d);
    if (!err)
        err = app_open_store(&l->app, d);
    if (err) {
        app_lambda_free(l);
        return err;
    }
    *out = l;
    return ERR_OK;
}

void app_lambda_free(struct app_lambda *l)
{
    if (!l)
        return;
    if (l->have_bot)
        app_bot_release(&l->bot);
    app_release(&l->app);
    if (l->kind == HANDLER_COLLECTOR)
        ratelimit_release(&l->rl);
    free(l);
}

/* The Alpaca credentials: the environment first, then SSM Parameter Store (in Lambda,
 * /screener/alpaca/api_key and /screener/alpaca/secret_key in one GetParameters call).  The
 * call is made by the first invocation that needs it, never before the first /next, so the
 * cold start stays small; the values are kept for the warm invocations. */
static int load_alpaca_secrets(struct app_lambda *l, struct diag *d)
{
    if (l->have_secrets)
        return ERR_OK;
    /* The bot's token too, for the daily push: one SSM call for everything.  Not the
     * webhook secret: the collector's role may not read it, and SSM refuses a call that asks
     * for one name the role may not read. */
    int err = secrets_load(SECRETS_ALPACA | SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN), d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_KEY_ID, &l->key_id, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_SECRET_KEY, &l->secret_key, d);
    if (err)
        return err;
    l->have_secrets = 1;
    return ERR_OK;
}

/* The push stopped short (the deadline, or no time left for it after the collection): queue
 * this function again with an event that only resumes it (docs/daily-job.md#the-push).  The
 * marker makes a resume safe to run twice; the chain is bounded: attempt at most
 * COLLECT_PUSH_ATTEMPTS_MAX, and a resume that reached nobody starts no other (the next
 * scheduled run goes on from the marker then). */
static void resume_push(struct app_lambda *l, size_t left, int attempt, int progressed)
{
    const char *self = getenv("AWS_LAMBDA_FUNCTION_NAME");
    if (!self || !*self) {
        log_warn("push: unfinished; the next run sends the rest", LF_INT("left", (int64_t)left));
        return;
    }
    if (attempt > COLLECT_PUSH_ATTEMPTS_MAX || !progressed) {
        log_error("push: unfinished and not resumed now; the next scheduled run sends the rest",
                  LF_INT("left", (int64_t)left), LF_INT("attempts", attempt - 1),
                  LF_STR("why", progressed ? "too many invocations" : "no progress"));
        return;
    }
    struct buf ev = BUF_INIT(128);
    struct diag d = {{0}};
    int err =
        collect_lambda_push_event(&ev, attempt) ? diag_set(&d, ERR_NOMEM, "out of memory") : ERR_OK;
    if (!err)
        err = lambda_invoke_async(l->http, self, ev.data, ev.len, &d);
    if (err)
        log_error("push: unfinished, and resuming it failed; the next run sends the rest",
                  LF_STR("error", d.text), LF_INT("left", (int64_t)left));
    else
        log_info("push: unfinished; resumed in a new invocation", LF_INT("left", (int64_t)left),
                 LF_INT("attempt", attempt));
    buf_release(&ev);
}

/* {"action":"push"}: the daily push only, from where its marker says. */
static int handle_push(struct app_lambda *l, const struct lambda_invocation *inv,
                       const struct collect_event *ev, struct buf *response, struct diag *d)
{
    log_info("push resumed", LF_INT("attempt", ev->attempt));
    struct push_stats st;
    int64_t deadline = inv->deadline_ms ? inv->deadline_ms - DAILY_DEADLINE_MARGIN_MS : 0;
    int err = notify_daily_screen(l->app.os, l->http, deadline, &st, d);
    if (err)
        return err;
    if (st.left)
        resume_push(l, st.left, ev->attempt + 1, st.sent + st.failed + st.migrated > 0);
    return buf_printf(response,
                      "{\"ok\":true,\"push\":{\"attempt\":%d,\"subscribers\":%zu,\"sent\":%zu,"
                      "\"failed\":%zu,\"left\":%zu,\"already_pushed\":%s}}",
                      ev->attempt, st.subscribers, st.sent, st.failed, st.left,
                      st.already_pushed ? "true" : "false")
               ? diag_set(d, ERR_TOOBIG, "the summary does not fit the response")
               : ERR_OK;
}

static int handle_collect(struct app_lambda *l, const struct lambda_invocation *inv,
                          const char *event, size_t len, struct buf *response, struct diag *d)
{
    struct collect_event ev;
    int err = collect_lambda_parse_event(event, len, &ev, d);
    if (err)
        return err;
    if (ev.trigger == COLLECT_TRIGGER_PUSH)
        return handle_push(l, inv, &ev, response, d);
    log_info("collection requested", LF_STR("trigger", collect_trigger_name(ev.trigger)),
             LF_STR("scheduled_time", ev.time));
    err = load_alpaca_secrets(l, d);
    if (err)
        return err;

    struct universe u = {0};
    const char **symbols = NULL;
    err = app_load_universe(&l->app, NULL, &u, d);
    if (err == ERR_USAGE) /* no universe stored: not the event's fault */
        err = diag_set(d, ERR_NOTFOUND,
                       "no universe in the store (%s): run 'screener universe fetch' with this "
                       "store first",
                       APP_UNIVERSE_KEY);
    for (size_t i = 0; !err && i < u.nproblems; i++)
        log_warn("universe line skipped", LF_STR("file", APP_UNIVERSE_KEY),
                 LF_INT("line", u.problems[i].line), LF_STR("problem", u.problems[i].text));
    if (!err && !(symbols = malloc((u.n ? u.n : 1) * sizeof *symbols)))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < u.n; i++)
        symbols[i] = u.v[i].symbol;

    if (!err) {
        /* The daily job, given the invocation's deadline (daily.h keeps a margin). */
        struct daily_opts o;
        daily_opts_default(&o);
        const char *url = getenv("APCA_API_DATA_URL");
        if (url && *url)
            o.collect.data_url = url;
        o.collect.key_id = l->key_id;
        o.collect.secret_key = l->secret_key;
        o.collect.fetch.limiter = &l->rl;
        o.collect.http = l->http;
        o.symbols = symbols;
        o.n = u.n;
        o.deadline_ms = inv->deadline_ms;
        struct daily_report r;
        err = daily_run(l->app.os, l->app.bs, &o, &r, d);
        /* A push the deadline stopped, or left no time for, goes on in an invocation of its
         * own. */
        if (!err && (r.push.left || r.steps[DAILY_PUSH] == DAILY_STEP_SKIPPED))
            resume_push(l, r.push.left, 1, 1);
        if (!err && collect_lambda_summary(response, &r.counts, NULL))
            err = diag_set(d, ERR_TOOBIG, "the summary does not fit the response");
    }
    free(symbols);
    universe_release(&u);
    return err;
}

/* Telegram's webhook through API Gateway: the same handling as `screener serve`, the HTTP
 * exchange carried in a proxy event and a proxy response.  Every answer is a proxy response,
 * even to an event that is not one, so that API Gateway never turns it into a 502 that
 * Telegram would redeliver. */
static int handle_bot(struct app_lambda *l, const struct lambda_invocation *inv, const char *event,
                      size_t len, struct buf *response, struct diag *d)
{
    if (!l->have_bot) {
        /* The first invocation reads the secrets (SSM in Lambda); warm ones reuse them. */
        int err = app_bot_init(&l->app, &l->bot, l->http, APP_BOT_SECRET, 0, d);
        if (err) {
            app_bot_release(&l->bot);
            return err;
        }
        l->have_bot = 1;
    }
    struct apigw_request req;
    struct diag pd = {{0}};
    int err = apigw_parse(event, len, WEBHOOK_SECRET_HEADER, &req, &pd);
    if (err) {
        log_warn("bot: not an API Gateway proxy event", LF_STR("error", pd.text));
        static const char body[] = "{\"ok\":false,\"description\":\"Bad Request\"}";
        return apigw_response(response, 400, "application/json", body, sizeof body - 1)
                   ? diag_set(d, ERR_TOOBIG, "the response does not fit")
                   : ERR_OK;
    }
    struct webhook_answer a;
    webhook_answer_init(&a);
    if (strcmp(req.method, "POST") != 0) {
        a.status = 405;
    } else {
        /* Every Bot API call of this invocation (the replies, getMe) ends before its deadline. */
        int64_t deadline = 0;
        if (inv->deadline_ms)
            deadline =
                clock_mono_ms() + (inv->deadline_ms - clock_wall_ms()) - BOT_DEADLINE_MARGIN_MS;
        l->bot.wh.deadline_ms = deadline;
        if (l->bot.tg)
            tg_set_deadline(l->bot.tg, deadline);
        webhook_handle(&l->bot.wh, req.has_header ? req.header : NULL, req.body, req.body_len, &a);
        l->bot.wh.deadline_ms = 0;
        if (l->bot.tg)
            tg_set_deadline(l->bot.tg, 0);
    }
    err = apigw_response(response, a.status, "application/json", a.body.data ? a.body.data : "",
                         a.body.len)
              ? diag_set(d, ERR_TOOBIG, "the response does not fit")
              : ERR_OK;
    webhook_answer_release(&a);
    apigw_request_release(&req);
    return err;
}

int app_lambda_handle(void *ctx, const struct lambda_invocation *inv, const char *event, size_t len,
                      struct buf *response, struct diag *d)
{
    struct app_lambda *l = ctx;
    switch (l->kind) {
    case HANDLER_COLLECTOR:
        return handle_collect(l, inv, event, len, response, d);
    case HANDLER_BOT:
    default:
        return handle_bot(l, inv, event, len, response, d);
    }
}
