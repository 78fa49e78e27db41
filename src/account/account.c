/* account.c - the brokerage account's settings, and reading it against the latest screen. */
#include "account/account.h"
#include "aws/secrets.h"
#include "base/log.h"
#include "net/http.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int account_tracking_enabled(void)
{
    const char *v = getenv("SCREENER_PORTFOLIO");
    return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "false") == 0));
}

int account_live_account(void)
{
    const char *v = getenv("SCREENER_LIVE_ACCOUNT");
    return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "false") == 0));
}

int account_profit_target(double *out, struct diag *d)
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

/* What both initialisations share: the base URL, the limiter, the HTTP client. */
static int init_common(struct account *t, struct http_client *http, struct diag *d)
{
    memset(t, 0, sizeof *t);
    trading_opts_default(&t->o);
    t->target_pct = PORTFOLIO_TARGET_DEFAULT;
    const char *base = getenv("APCA_API_BASE_URL");
    t->o.base_url = base && *base ? base : TRADING_DEFAULT_URL;
    int err = ratelimit_init(&t->rl, ACCOUNT_RATE_LIMIT, ACCOUNT_RATE_WINDOW_MS, d);
    t->o.fetch.limiter = &t->rl;
    if (!err && !http && (err = http_client_new(NULL, &t->own_http, d)) == ERR_OK)
        http = t->own_http;
    t->o.http = http;
    return err;
}

int account_init(struct account *t, struct http_client *http, struct diag *d)
{
    int err = init_common(t, http, d);
    if (!err)
        err = account_profit_target(&t->target_pct, d);
    if (!err)
        err = secrets_load(SECRETS_ALPACA, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_KEY_ID, &t->o.key_id, d);
    if (!err)
        err = secrets_get(SECRET_ALPACA_SECRET_KEY, &t->o.secret_key, d);
    if (err)
        account_release(t);
    return err;
}

int account_init_keys(struct account *t, struct http_client *http, const char *key_id,
                      const char *secret_key, struct diag *d)
{
    int err = init_common(t, http, d);
    t->o.key_id = key_id;
    t->o.secret_key = secret_key;
    if (err)
        account_release(t);
    return err;
}

void account_release(struct account *t)
{
    http_client_free(t->own_http);
    ratelimit_release(&t->rl);
    memset(t, 0, sizeof *t);
}

/* Rank v's positions against the latest screen and compute the signal. */
static int view_build(struct objstore *os, double target_pct, struct account_view *v,
                      struct diag *d)
{
    struct diag sd = {{0}};
    int serr = results_read_screen(os, 0, &v->screen, &sd);
    if (serr && serr != ERR_NOTFOUND)
        log_warn("portfolio: the latest screen could not be read; no ranks",
                 LF_STR("error", sd.text));
    if (serr) {
        results_screen_release(&v->screen);
        memset(&v->screen, 0, sizeof v->screen);
    }
    int err = portfolio_from_positions(&v->t.positions, serr ? NULL : &v->screen,
                                       portfolio_snapshot_date(v->t.fetched_ms), &v->pf, d);
    if (!err)
        portfolio_signal(&v->pf, target_pct, &v->signal);
    return err;
}

int account_load(struct account *t, struct objstore *os, unsigned need, unsigned want,
                 struct account_view *v, struct diag *d)
{
    memset(v, 0, sizeof *v);
    trading_data_init(&v->t);
    int err = trading_fetch(&t->o, need, want, &v->t, d);
    if (err || !(v->t.have & TRADING_POSITIONS))
        return err;
    return view_build(os, t->target_pct, v, d);
}

int account_view_from(struct trading_data *data, struct objstore *os, double target_pct,
                      struct account_view *v, struct diag *d)
{
    memset(v, 0, sizeof *v);
    v->t = *data;
    trading_data_init(data);
    if (!(v->t.have & TRADING_POSITIONS))
        return ERR_OK;
    return view_build(os, target_pct, v, d);
}

void account_view_release(struct account_view *v)
{
    trading_data_release(&v->t);
    results_screen_release(&v->screen);
    portfolio_release(&v->pf);
    memset(v, 0, sizeof *v);
}
