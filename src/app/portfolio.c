/* portfolio.c - the Alpaca account for the commands, the bot and the collector. */
#include "app/portfolio.h"
#include "app/bot_setup.h"
#include "aws/secrets.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/format.h"
#include "bot/portfolio.h"
#include "net/http.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int app_portfolio_enabled(void)
{
    const char *v = getenv("SCREENER_PORTFOLIO");
    return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "false") == 0));
}

int app_live_account(void)
{
    const char *v = getenv("SCREENER_LIVE_ACCOUNT");
    return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "false") == 0));
}

int app_profit_target(double *out, struct diag *d)
{
    const char *v = getenv("SCREENER_PROFIT_TARGET");
    *out = PORTFOLIO_TARGET_DEFAULT;
    if (!v || !*v)
        return ERR_OK;
    if (portfolio_parse_target(v, out) != ERR_OK) {
        char q[40];
        diag_quote(q, sizeof q, v, strlen(v), 24);
        return diag_set(d, ERR_USAGE,
                        "SCREENER_PROFIT_TARGET: expected a percentage above -100 such as 100 or "
                        "50.5, got '%s'",
                        q);
    }
    return ERR_OK;
}

int app_trading_init(struct app_trading *t, struct http_client *http, struct diag *d)
{
    memset(t, 0, sizeof *t);
    trading_opts_default(&t->o);
    const char *base = getenv("APCA_API_BASE_URL");
    t->o.base_url = base && *base ? base : TRADING_DEFAULT_URL;
    int err = app_profit_target(&t->target_pct, d);
    if (!err)
        err = ratelimit_init(&t->rl, APP_TRADING_RATE_LIMIT, APP_TRADING_RATE_WINDOW_MS, d);
    t->o.fetch.limiter = &t->rl;
    if (!err)
        err = secrets_load(SECRETS_ALPACA, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_KEY_ID, &t->o.key_id, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_SECRET_KEY, &t->o.secret_key, d);
    if (!err && !http && (err = http_client_new(NULL, &t->own_http, d)) == ERR_OK)
        http = t->own_http;
    t->o.http = http;
    if (err)
        app_trading_release(t);
    return err;
}

void app_trading_release(struct app_trading *t)
{
    http_client_free(t->own_http);
    ratelimit_release(&t->rl);
    memset(t, 0, sizeof *t);
}

int app_portfolio_load(struct app_trading *t, struct objstore *os, unsigned need, unsigned want,
                       struct app_portfolio_view *v, struct diag *d)
{
    memset(v, 0, sizeof *v);
    trading_data_init(&v->t);
    int err = trading_fetch(&t->o, need, want, &v->t, d);
    if (err || !(v->t.have & TRADING_POSITIONS))
        return err;
    struct diag sd = {{0}};
    int serr = results_read_screen(os, 0, &v->screen, &sd);
    if (serr && serr != ERR_NOTFOUND)
        log_warn("portfolio: the latest screen could not be read; no ranks",
                 LF_STR("error", sd.text));
    if (serr) {
        results_screen_release(&v->screen);
        memset(&v->screen, 0, sizeof v->screen);
    }
    err = portfolio_from_positions(&v->t.positions, serr ? NULL : &v->screen,
                                   portfolio_snapshot_date(v->t.fetched_ms), &v->pf, d);
    if (!err)
        portfolio_signal(&v->pf, t->target_pct, &v->signal);
    return err;
}

void app_portfolio_view_release(struct app_portfolio_view *v)
{
    trading_data_release(&v->t);
    results_screen_release(&v->screen);
    portfolio_release(&v->pf);
    memset(v, 0, sizeof *v);
}

/* Below this much time before the deadline the step gets one try, half of what is left. */
#define AFTER_COLLECT_TIGHT_MS 35000
#define AFTER_COLLECT_MIN_MS   2000

void app_portfolio_after_collect(struct app *a, struct http_client *http, const char *key_id,
                                 const char *secret_key, int64_t deadline_ms)
{
    if (!app_portfolio_enabled())
        return;
    int64_t left = deadline_ms ? deadline_ms - clock_wall_ms() : INT64_MAX;
    if (left < AFTER_COLLECT_MIN_MS) {
        log_warn("portfolio: no snapshot this run: the deadline is too near",
                 LF_INT("left_ms", left));
        return;
    }
    struct diag d = {{0}};
    struct app_trading t;
    memset(&t, 0, sizeof t);
    int err = ratelimit_init(&t.rl, APP_TRADING_RATE_LIMIT, APP_TRADING_RATE_WINDOW_MS, &d);
    if (err) {
        log_error("portfolio: not tracked this run", LF_STR("error", d.text));
        return;
    }
    trading_opts_default(&t.o);
    const char *base = getenv("APCA_API_BASE_URL");
    t.o.base_url = base && *base ? base : TRADING_DEFAULT_URL;
    t.o.key_id = key_id;
    t.o.secret_key = secret_key;
    t.o.http = http;
    t.o.fetch.max_retries = 2;
    if (left < AFTER_COLLECT_TIGHT_MS) {
        t.o.fetch.max_retries = 0;
        t.o.fetch.timeout_ms = left / 2;
    }
    struct diag td = {{0}};
    int terr = app_profit_target(&t.target_pct, &td);
    struct app_portfolio_view v;
    err = app_portfolio_load(&t, a->os, TRADING_POSITIONS, 0, &v, &d);
    if (err) {
        log_warn("portfolio: no snapshot this run (the trading API could not be read)",
                 LF_STR("error", d.text));
        goto out;
    }
    for (size_t i = 0; i < v.t.problems.n; i++)
        log_warn("portfolio: a value is missing", LF_STR("problem", v.t.problems.v[i]));
    enum portfolio_write w = PORTFOLIO_UNCHANGED;
    char day[DATE_STRLEN + 1];
    date_format(v.pf.date, day);
    int werr = portfolio_write_snapshot(a->os, &v.pf, &w, &d);
    if (werr)
        log_error("portfolio: the snapshot was not stored", LF_STR("date", day),
                  LF_STR("error", d.text));
    enum portfolio_alert alert = PORTFOLIO_ALERT_NONE;
    if (terr) {
        log_error("portfolio: no sell-signal check", LF_STR("error", td.text));
    } else if ((err = portfolio_alert_update(a->os, &v.signal, v.pf.date, &alert, &d)) != ERR_OK) {
        log_error("portfolio: the sell-signal alert could not be updated", LF_STR("error", d.text));
    } else if (alert == PORTFOLIO_ALERT_FIRE) {
        struct buf html = BUF_INIT(TG_BUF_MAX);
        struct push_stats st = {0};
        if (bot_alert_html(&html, &v.pf, &v.signal))
            err = diag_set(&d, ERR_NOMEM, "out of memory");
        else
            err = app_push_alert(a, http, html.data, &st, &d);
        if (err)
            log_error("portfolio: the sell-signal alert was not pushed", LF_STR("error", d.text));
        else
            log_summary("sell signal: alert pushed", LF_STR("date", day),
                        LF_DBL("average_pct", v.signal.average_pct),
                        LF_DBL("target_pct", v.signal.target_pct),
                        LF_INT("chats", (int64_t)st.subscribers), LF_INT("sent", (int64_t)st.sent),
                        LF_INT("failed", (int64_t)st.failed));
        buf_release(&html);
    }
    log_summary("portfolio snapshot", LF_STR("date", day), LF_INT("positions", (int64_t)v.pf.n),
                LF_STR("snapshot", werr ? "failed" : portfolio_write_name(w)),
                LF_INT("problems", (int64_t)v.t.problems.n),
                LF_DBL("top_average_pct", isnan(v.signal.average_pct) ? 0 : v.signal.average_pct),
                LF_BOOL("target_reached", v.signal.reached),
                LF_STR("alert", portfolio_alert_name(alert)));
out:
    app_portfolio_view_release(&v);
    ratelimit_release(&t.rl);
}
