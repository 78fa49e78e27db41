/* trading.c - the Alpaca trading API: account, positions, portfolio history. */
#include "account/trading.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/clock.h"
#include "base/log.h"
#include "codec/alpaca_auth.h"
#include "codec/json.h"
#include "codec/num.h"

#include "base/banned.h"

/* ---- problems ---- */

__attribute__((format(printf, 2, 3))) static void problem(struct strvec *p, const char *fmt, ...)
{
    if (!p || p->n > TRADING_PROBLEMS_MAX)
        return;
    char text[300];
    if (p->n == TRADING_PROBLEMS_MAX) {
        snprintf(text, sizeof text, "(more problems not listed)");
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
    }
    strvec_push(p, text); /* out of memory: the problem goes unreported, nothing worse */
}

/* ---- numbers ---- */

/* Only these characters may appear in a decimal the API sends; strtod alone would also take
 * "inf", "nan", hex and leading spaces. */
static int decimal_chars(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return 0;
    }
    return 1;
}

/* A decimal string as a double: plain decimals and exponent forms ("1E-7"), finite. */
static int decimal_double(const char *s, size_t n, double *out)
{
    if (!decimal_chars(s, n))
        return ERR_PARSE;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double x = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(x))
        return ERR_PARSE;
    *out = x;
    return ERR_OK;
}

int trading_decimal(const char *s, size_t n, int64_t *out)
{
    int64_t v;
    int err = num_parse_fixed(s, n, &v);
    if (err == ERR_PARSE) {
        /* An exponent form: rare, but a decimal all the same. */
        double x;
        if (decimal_double(s, n, &x))
            return ERR_PARSE;
        if (fabs(x) * 1e6 > (double)TRADING_MONEY_MAX)
            return ERR_INVALID;
        v = llround(x * 1e6);
        err = ERR_OK;
    }
    if (err)
        return err;
    if (v > TRADING_MONEY_MAX || v < -TRADING_MONEY_MAX)
        return ERR_INVALID;
    *out = v;
    return ERR_OK;
}

/* "an array", "a number", ... for messages. */
static const char *a_type(const struct jv *v)
{
    static const char *const names[] = {"null",     "a boolean", "a number",
                                        "a string", "an array",  "an object"};
    return names[jv_type(v)];
}

/* How a field reads, for the problem sentence; `expected` names what it should be. */
static const char *why_not(const struct jv *v, const char *expected, char *out, size_t cap)
{
    if (!v)
        return "is missing";
    if (jv_is_null(v))
        return "is null";
    if (jv_type(v) == JV_STRING)
        snprintf(out, cap, "is not %s", expected);
    else if (jv_type(v) == JV_NUMBER && strcmp(expected, "a decimal") == 0)
        snprintf(out, cap, "is out of range");
    else
        snprintf(out, cap, "is %s, expected %s%s", a_type(v), expected,
                 strcmp(expected, "a decimal") == 0 ? " string" : "");
    return out;
}

static void bad_field(struct strvec *pr, const char *where, const char *key, const struct jv *v)
{
    char why[80];
    size_t n;
    const char *s = jv_str(v, &n);
    if (s) {
        char q[40];
        diag_quote(q, sizeof q, s, n, 24);
        problem(pr, "%s: '%s' %s: '%s'", where, key, why_not(v, "a decimal", why, sizeof why), q);
    } else {
        problem(pr, "%s: '%s' %s", where, key, why_not(v, "a decimal", why, sizeof why));
    }
}

/* A money or quantity field: a decimal string (a plain JSON number is taken too).  Fields
 * the screener shows are `reported`: their absence is a problem. */
static int64_t money(const struct jv *o, const char *key, int reported, const char *where,
                     struct strvec *pr)
{
    const struct jv *v = jv_get(o, key);
    int64_t x;
    double f;
    size_t n;
    const char *s = jv_str(v, &n);
    if (s && strlen(s) == n && trading_decimal(s, n, &x) == ERR_OK)
        return x;
    if (!s && v && jv_type(v) == JV_NUMBER && jv_num(v, &f) == ERR_OK && isfinite(f) &&
        fabs(f) * 1e6 <= (double)TRADING_MONEY_MAX)
        return llround(f * 1e6);
    if (reported || (v && !jv_is_null(v)))
        bad_field(pr, where, key, v);
    return TRADING_NONE;
}

/* A ratio field (a fraction as a decimal string) in full double precision; NAN when unknown. */
static double ratio(const struct jv *o, const char *key, int reported, const char *where,
                    struct strvec *pr)
{
    const struct jv *v = jv_get(o, key);
    size_t n;
    const char *s = jv_str(v, &n);
    double x;
    if (s && strlen(s) == n && decimal_double(s, n, &x) == ERR_OK && fabs(x) < 1e9)
        return x;
    if (!s && v && jv_type(v) == JV_NUMBER && jv_num(v, &x) == ERR_OK && isfinite(x) &&
        fabs(x) < 1e9)
        return x;
    if (reported || (v && !jv_is_null(v)))
        bad_field(pr, where, key, v);
    return (double)NAN;
}

/* A string field copied into out (cap bytes); "" when absent or not a string. */
static void text_field(const struct jv *o, const char *key, char *out, size_t cap)
{
    size_t n;
    const char *s = jv_str(jv_get(o, key), &n);
    out[0] = '\0';
    if (!s || n >= cap || strlen(s) != n)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return;
    memcpy(out, s, n + 1);
}

static int flag_field(const struct jv *o, const char *key)
{
    int b;
    return jv_bool(jv_get(o, key), &b) == ERR_OK ? (b != 0) : -1;
}

/* ---- /v2/account ---- */

int trading_parse_account(const char *body, size_t len, struct trading_account *out,
                          struct strvec *pr, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err)
        return diag_prefix(d, err, "account");
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "account is %s, expected an object", a_type(root));
        jv_free(root);
        return err;
    }
    text_field(root, "id", out->id, sizeof out->id);
    text_field(root, "account_number", out->account_number, sizeof out->account_number);
    text_field(root, "status", out->status, sizeof out->status);
    text_field(root, "currency", out->currency, sizeof out->currency);
    text_field(root, "balance_asof", out->balance_asof, sizeof out->balance_asof);
    if (!out->status[0])
        problem(pr, "account: 'status' is missing");
    /* equity is the field; portfolio_value, deprecated, holds the same number. */
    if (jv_get(root, "equity") && !jv_is_null(jv_get(root, "equity"))) {
        out->equity = money(root, "equity", 1, "account", pr);
    } else {
        out->equity = money(root, "portfolio_value", 0, "account", pr);
        if (out->equity == TRADING_NONE)
            problem(pr, "account: 'equity' is missing (and no 'portfolio_value')");
    }
    out->last_equity = money(root, "last_equity", 1, "account", pr);
    out->cash = money(root, "cash", 1, "account", pr);
    out->buying_power = money(root, "buying_power", 1, "account", pr);
    out->long_market_value = money(root, "long_market_value", 0, "account", pr);
    out->short_market_value = money(root, "short_market_value", 0, "account", pr);
    out->trading_blocked = flag_field(root, "trading_blocked");
    out->account_blocked = flag_field(root, "account_blocked");
    jv_free(root);
    return ERR_OK;
}

/* ---- /v2/positions ---- */

void trading_positions_release(struct trading_positions *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

static int position_cmp(const void *a, const void *b)
{
    return strcmp(((const struct trading_position *)a)->symbol,
                  ((const struct trading_position *)b)->symbol);
}

static int64_t to_money(double x)
{
    return isfinite(x) && fabs(x) * 1e6 <= (double)TRADING_MONEY_MAX ? llround(x * 1e6)
                                                                     : TRADING_NONE;
}

static double dollars(int64_t v)
{
    return (double)v / 1e6;
}

/* Returns 0 when the element is left out (a problem says why). */
static int parse_position(const struct jv *o, size_t i, struct trading_position *p,
                          struct strvec *pr)
{
    memset(p, 0, sizeof *p);
    if (jv_type(o) != JV_OBJECT) {
        problem(pr, "position %zu is %s, expected an object; left out", i + 1, a_type(o));
        return 0;
    }
    size_t n;
    const char *sym = jv_str(jv_get(o, "symbol"), &n);
    if (!sym) {
        char why[80];
        problem(pr, "position %zu: 'symbol' %s; left out", i + 1,
                why_not(jv_get(o, "symbol"), "a string", why, sizeof why));
        return 0;
    }
    if (strlen(sym) != n || !bar_symbol_valid(sym, n)) {
        char q[40];
        diag_quote(q, sizeof q, sym, n, 24);
        problem(pr, "position %zu: '%s' is not a stock symbol; left out", i + 1, q);
        return 0;
    }
    memcpy(p->symbol, sym, n + 1);
    char where[BAR_SYMBOL_MAX + 16];
    snprintf(where, sizeof where, "position %s", p->symbol);

    p->qty = money(o, "qty", 1, where, pr);
    const char *side = jv_str(jv_get(o, "side"), NULL);
    if (side && strcmp(side, "short") == 0)
        p->side = -1;
    else if (side && strcmp(side, "long") == 0)
        p->side = 1;
    else
        p->side = p->qty != TRADING_NONE && p->qty < 0 ? -1 : 1;
    if (p->qty != TRADING_NONE && p->qty < 0)
        p->qty = -p->qty;
    p->avg_entry_price = money(o, "avg_entry_price", 1, where, pr);
    p->cost_basis = money(o, "cost_basis", 0, where, pr);
    p->current_price = money(o, "current_price", 1, where, pr);
    p->lastday_price = money(o, "lastday_price", 0, where, pr);
    p->market_value = money(o, "market_value", 1, where, pr);
    p->unrealized_pl = money(o, "unrealized_pl", 1, where, pr);
    double plpc = ratio(o, "unrealized_plpc", 1, where, pr);
    double change = ratio(o, "change_today", 0, where, pr);
    p->change_today_pct = change * 100.0; /* NAN stays NAN */

    /* What the API left out but the rest determines. */
    int have_qty = p->qty != TRADING_NONE, have_cur = p->current_price != TRADING_NONE,
        have_avg = p->avg_entry_price != TRADING_NONE;
    if (p->cost_basis == TRADING_NONE && have_qty && have_avg)
        p->cost_basis = to_money(p->side * dollars(p->qty) * dollars(p->avg_entry_price));
    if (p->market_value == TRADING_NONE && have_qty && have_cur)
        p->market_value = to_money(p->side * dollars(p->qty) * dollars(p->current_price));
    if (p->unrealized_pl == TRADING_NONE && have_qty && have_cur && have_avg)
        p->unrealized_pl = to_money(p->side * dollars(p->qty) *
                                    (dollars(p->current_price) - dollars(p->avg_entry_price)));
    if (!isnan(plpc))
        p->return_pct = plpc * 100.0;
    else if (p->unrealized_pl != TRADING_NONE && p->cost_basis != TRADING_NONE &&
             p->cost_basis != 0)
        p->return_pct = 100.0 * dollars(p->unrealized_pl) / fabs(dollars(p->cost_basis));
    else if (have_cur && have_avg && p->avg_entry_price > 0)
        p->return_pct =
            100.0 * p->side * (dollars(p->current_price) / dollars(p->avg_entry_price) - 1.0);
    else
        p->return_pct = (double)NAN;
    if (!isfinite(p->return_pct))
        p->return_pct = (double)NAN;
    return 1;
}

int trading_parse_positions(const char *body, size_t len, struct trading_positions *out,
                            struct strvec *pr, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err)
        return diag_prefix(d, err, "positions");
    if (jv_type(root) != JV_ARRAY) {
        err = diag_set(d, ERR_PARSE, "positions are %s, expected an array", a_type(root));
        goto out;
    }
    size_t n = jv_len(root);
    if (n > TRADING_POSITIONS_MAX) {
        err = diag_set(d, ERR_TOOBIG, "positions: %zu of them, more than the %d this reads", n,
                       TRADING_POSITIONS_MAX);
        goto out;
    }
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    out->cap = n;
    for (size_t i = 0; i < n; i++)
        if (parse_position(jv_at(root, i), i, &out->v[out->n], pr))
            out->n++;
    qsort(out->v, out->n, sizeof *out->v, position_cmp);
    /* One position per symbol: a repeat is left out. */
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (w && strcmp(out->v[w - 1].symbol, out->v[i].symbol) == 0) {
            problem(pr, "position %s is listed twice; the second is left out", out->v[i].symbol);
            continue;
        }
        out->v[w++] = out->v[i];
    }
    out->n = w;
out:
    if (err)
        trading_positions_release(out);
    jv_free(root);
    return err;
}

/* ---- /v2/account/portfolio/history ---- */

void trading_history_release(struct trading_history *h)
{
    free(h->time_s);
    free(h->date);
    free(h->equity);
    free(h->pl);
    free(h->pl_pct);
    memset(h, 0, sizeof *h);
    h->base_value = (double)NAN;
}

/* A series of numbers (null allowed) as doubles, scaled; its length, or 0 with a problem. */
static size_t series(const struct jv *root, const char *key, int required, size_t n, double scale,
                     double *out, struct strvec *pr)
{
    const struct jv *a = jv_get(root, key);
    for (size_t i = 0; i < n; i++)
        out[i] = (double)NAN;
    if (!a || jv_is_null(a)) {
        if (required)
            problem(pr, "history: '%s' is %s", key, a ? "null" : "missing");
        return 0;
    }
    if (jv_type(a) != JV_ARRAY) {
        problem(pr, "history: '%s' is %s, expected an array", key, a_type(a));
        return 0;
    }
    size_t len = jv_len(a), bad = 0;
    if (len != n)
        problem(pr, "history: '%s' has %zu values for %zu timestamps", key, len, n);
    for (size_t i = 0; i < n && i < len; i++) {
        const struct jv *v = jv_at(a, i);
        double x;
        if (jv_is_null(v))
            continue;
        if (jv_num(v, &x) == ERR_OK && isfinite(x) && fabs(x) < 1e15)
            out[i] = x * scale;
        else
            bad++;
    }
    if (bad)
        problem(pr, "history: %zu values of '%s' are not numbers", bad, key);
    return len;
}

int trading_parse_history(const char *body, size_t len, struct trading_history *out,
                          struct strvec *pr, struct diag *d)
{
    memset(out, 0, sizeof *out);
    out->base_value = (double)NAN;
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err)
        return diag_prefix(d, err, "portfolio history");
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "portfolio history is %s, expected an object", a_type(root));
        jv_free(root);
        return err;
    }
    text_field(root, "timeframe", out->timeframe, sizeof out->timeframe);
    double bv;
    if (jv_num(jv_get(root, "base_value"), &bv) == ERR_OK && isfinite(bv))
        out->base_value = bv;
    const struct jv *ts = jv_get(root, "timestamp");
    int ts_ok = ts && jv_type(ts) == JV_ARRAY;
    size_t n = ts_ok ? jv_len(ts) : 0;
    if (!ts_ok)
        problem(pr, "history: 'timestamp' %s", ts ? "is not an array" : "is missing");
    if (n > TRADING_HISTORY_MAX) {
        err = diag_set(d, ERR_TOOBIG, "portfolio history: %zu points, more than the %d this reads",
                       n, TRADING_HISTORY_MAX);
        goto out;
    }
    size_t m = n ? n : 1;
    out->time_s = calloc(m, sizeof *out->time_s);
    out->date = calloc(m, sizeof *out->date);
    out->equity = calloc(m, sizeof *out->equity);
    out->pl = calloc(m, sizeof *out->pl);
    out->pl_pct = calloc(m, sizeof *out->pl_pct);
    if (!out->time_s || !out->date || !out->equity || !out->pl || !out->pl_pct) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    series(root, "equity", 1, n, 1.0, out->equity, pr);
    series(root, "profit_loss", 0, n, 1.0, out->pl, pr);
    series(root, "profit_loss_pct", 0, n, 100.0, out->pl_pct, pr);
    /* Points with an unreadable timestamp are dropped; the arrays stay parallel. */
    size_t w = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t;
        double x;
        const struct jv *v = jv_at(ts, i);
        if (jv_int(v, &t) != ERR_OK) {
            if (jv_num(v, &x) == ERR_OK && isfinite(x) && x == floor(x) && fabs(x) < 9e15)
                t = (int64_t)x;
            else {
                bad++;
                continue;
            }
        }
        if (t > 100000000000LL || t < -100000000000LL)
            t /= 1000;                                /* milliseconds: an old example showed them */
        if (t < -2208988800LL || t > 32503680000LL) { /* outside 1900..3000 */
            bad++;
            continue;
        }
        out->time_s[w] = t;
        out->date[w] = cal_ny_date(t * 1000, NULL);
        out->equity[w] = out->equity[i];
        out->pl[w] = out->pl[i];
        out->pl_pct[w] = out->pl_pct[i];
        w++;
    }
    if (bad)
        problem(pr, "history: %zu timestamps are not Unix times; their points are left out", bad);
    out->n = w;
out:
    if (err)
        trading_history_release(out);
    jv_free(root);
    return err;
}

/* ---- the client ---- */

void trading_opts_default(struct trading_opts *o)
{
    memset(o, 0, sizeof *o);
    fetch_opts_default(&o->fetch);
    o->fetch.concurrency = 3;
    o->fetch.max_retries = 3;
    o->fetch.max_response = TRADING_BODY_MAX;
}

void trading_data_init(struct trading_data *t)
{
    memset(t, 0, sizeof *t);
    strvec_init(&t->problems);
    t->history.base_value = (double)NAN;
}

int trading_position_symbols(const struct trading_data *t, char ***symbols, size_t *n,
                             struct diag *d)
{
    int err = ERR_OK;
    *symbols = NULL;
    *n = 0;
    if (t->positions.n && !(*symbols = calloc(t->positions.n, sizeof **symbols)))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < t->positions.n; i++) {
        if (!((*symbols)[i] = strdup(t->positions.v[i].symbol)))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        else
            (*n)++;
    }
    if (err) {
        for (size_t i = 0; i < *n; i++)
            free((*symbols)[i]);
        free(*symbols);
        *symbols = NULL;
        *n = 0;
    }
    return err;
}

void trading_data_release(struct trading_data *t)
{
    trading_positions_release(&t->positions);
    trading_history_release(&t->history);
    strvec_release(&t->problems);
    memset(t, 0, sizeof *t);
}

struct call {
    unsigned what;
    int required;
    struct trading_data *out;
    struct strvec problems;
    int done, err;
    struct diag d;
};

static const char *call_name(unsigned what)
{
    return what == TRADING_ACCOUNT     ? "account"
           : what == TRADING_POSITIONS ? "positions"
                                       : "portfolio history";
}

/* A 2xx answer: parsed at once, so that an unreadable one is retried like a failed one. */
static int call_accept(void *ctx, const struct http_response *resp, struct diag *d)
{
    struct call *c = ctx;
    const char *body = resp->body.data ? resp->body.data : "";
    strvec_release(&c->problems);
    strvec_init(&c->problems);
    switch (c->what) {
    case TRADING_ACCOUNT:
        return trading_parse_account(body, resp->body.len, &c->out->account, &c->problems, d);
    case TRADING_POSITIONS:
        trading_positions_release(&c->out->positions);
        return trading_parse_positions(body, resp->body.len, &c->out->positions, &c->problems, d);
    default:
        trading_history_release(&c->out->history);
        return trading_parse_history(body, resp->body.len, &c->out->history, &c->problems, d);
    }
}

static void call_done(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct call *c = ctx;
    (void)resp;
    c->done = 1;
    c->err = err;
    c->d = *d;
    if (!c->d.text[0] && err)
        diag_set(&c->d, err, "%s", err_str(err));
}

int trading_fetch(const struct trading_opts *o, unsigned need, unsigned want,
                  struct trading_data *out, struct diag *d)
{
    struct alpaca_auth auth;
    int err = alpaca_auth_init(&auth, o->key_id, o->secret_key, d);
    if (err)
        return err;
    const char *base = o->base_url && *o->base_url ? o->base_url : TRADING_DEFAULT_URL;
    if (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0) {
        alpaca_auth_release(&auth);
        char q[80];
        diag_quote(q, sizeof q, base, strlen(base), 60);
        return diag_set(d, ERR_AUTH,
                        "APCA_API_BASE_URL '%s' is not an http(s) URL (the trading API, e.g. %s)",
                        q, TRADING_DEFAULT_URL);
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    log_add_secret(o->secret_key);
    const char *headers[] = {auth.lines[0], auth.lines[1], "Accept: application/json"};
    struct fetch_opts fo = o->fetch;
    fo.headers = headers;
    fo.nheaders = 3;
    struct fetch *f;
    err = fetch_new(o->http, &fo, &f, d);
    alpaca_auth_release(&auth); /* the fetcher has its own copy */
    if (err)
        return err;

    static const struct {
        unsigned what;
        const char *path;
    } endpoints[] = {
        {TRADING_ACCOUNT, "/v2/account"},
        {TRADING_POSITIONS, "/v2/positions"},
        {TRADING_HISTORY, "/v2/account/portfolio/history?"},
    };
    struct call calls[3];
    memset(calls, 0, sizeof calls);
    struct buf url = BUF_INIT(4096);
    for (size_t i = 0; i < 3 && !err; i++) {
        struct call *c = &calls[i];
        c->what = endpoints[i].what;
        c->out = out;
        strvec_init(&c->problems);
        if (!((need | want) & c->what))
            continue;
        c->required = (need & c->what) != 0;
        buf_reset(&url);
        err =
            buf_append(&url, base, bl) || buf_puts(&url, endpoints[i].path) ||
                    (c->what == TRADING_HISTORY &&
                     buf_puts(&url, o->history_query ? o->history_query : "period=1M&timeframe=1D"))
                ? diag_set(d, ERR_TOOBIG, "APCA_API_BASE_URL is too long")
                : ERR_OK;
        struct fetch_req r = {.url = url.data, .accept = call_accept, .done = call_done, .ctx = c};
        if (!err)
            err = fetch_submit(f, &r, d);
    }
    buf_release(&url);
    if (!err)
        err = fetch_run(f, d);
    fetch_free(f);
    for (size_t i = 0; i < 3; i++) {
        struct call *c = &calls[i];
        if (!((need | want) & c->what))
            continue;
        if (!err && c->done && !c->err) {
            out->have |= c->what;
            for (size_t k = 0; k < c->problems.n; k++)
                strvec_push(&out->problems, c->problems.v[k]);
        } else if (!err && c->required) {
            err = c->err ? c->err : ERR_INTERNAL;
            *d = c->d;
            if (err == ERR_AUTH)
                diag_prefix(d, err,
                            "the Alpaca trading API refused the credentials (a paper key works "
                            "only on %s, a live one only on https://api.alpaca.markets; "
                            "APCA_API_BASE_URL picks the host)",
                            TRADING_DEFAULT_URL);
            else if (err != ERR_NOMEM)
                diag_prefix(d, err, "Alpaca %s", call_name(c->what));
        } else if (!err) {
            char line[DIAG_MAX + 40];
            snprintf(line, sizeof line, "%s unavailable: %s", call_name(c->what), c->d.text);
            strvec_push(&out->problems, line);
        }
        strvec_release(&c->problems);
    }
    if (!(out->have & TRADING_POSITIONS))
        trading_positions_release(&out->positions);
    if (!(out->have & TRADING_HISTORY))
        trading_history_release(&out->history);
    out->fetched_ms = clock_wall_ms();
    return err;
}
