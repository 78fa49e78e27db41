/* alpaca.c - Alpaca Market Data v2 URLs and page parsers. */
#include "collect/alpaca.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/calendar.h"
#include "base/date.h"
#include "codec/json.h"
#include "net/http.h"

#include "base/banned.h"

static int put_symbols(struct buf *out, const char *const *symbols, size_t n)
{
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i++) {
        if (i)
            err = buf_putc(out, ',');
        if (!err)
            err = http_url_encode(out, symbols[i], strlen(symbols[i]), 0);
    }
    return err;
}

static int put_token(struct buf *out, const char *page_token)
{
    if (!page_token || !*page_token)
        return ERR_OK;
    int err = buf_puts(out, "&page_token=");
    return err ? err : http_url_encode(out, page_token, strlen(page_token), 0);
}

static void format_instant(int64_t ms, char out[24])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - day * 86400;
    char date[DATE_STRLEN + 1];
    date_format((int32_t)day, date);
    snprintf(out, 24, "%sT%02d:%02d:%02dZ", date, (int)(rem / 3600), (int)(rem / 60 % 60),
             (int)(rem % 60));
}

int alpaca_bars_url(struct buf *out, const char *base, const char *const *symbols, size_t n,
                    int64_t start_ms, int64_t end_ms, const char *feed, const char *page_token)
{
    char s[24], e[24];
    format_instant(start_ms, s);
    format_instant(end_ms, e);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    int err = buf_append(out, base, bl);
    if (!err)
        err = buf_puts(out, "/v2/stocks/bars?symbols=");
    if (!err)
        err = put_symbols(out, symbols, n);
    if (!err)
        err = buf_printf(out,
                         "&timeframe=1Day&start=%s&end=%s&limit=%d&adjustment=raw&feed=%s"
                         "&sort=asc",
                         s, e, ALPACA_PAGE_LIMIT, feed);
    if (!err)
        err = put_token(out, page_token);
    return err;
}

int alpaca_actions_url(struct buf *out, const char *base, const char *const *symbols, size_t n,
                       int32_t start, int32_t end, const char *page_token)
{
    char s[DATE_STRLEN + 1], e[DATE_STRLEN + 1];
    date_format(start, s);
    date_format(end, e);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    int err = buf_append(out, base, bl);
    if (!err)
        err = buf_puts(out, "/v1/corporate-actions?symbols=");
    if (!err)
        err = put_symbols(out, symbols, n);
    if (!err)
        err = buf_printf(
            out,
            "&types=forward_split,reverse_split,unit_split,stock_dividend,name_change&start=%s"
            "&end=%s&limit=%d",
            s, e, ALPACA_ACTIONS_LIMIT);
    if (!err)
        err = put_token(out, page_token);
    return err;
}

void alpaca_page_init(struct alpaca_page *p)
{
    memset(p, 0, sizeof *p);
    barvec_init(&p->bars);
}

void alpaca_page_release(struct alpaca_page *p)
{
    barvec_release(&p->bars);
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_PARSE;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return ERR_OK;
}

int alpaca_parse_time(const char *s, size_t n, int64_t *ms)
{
    int32_t day;
    int hh, mm, ss;
    if (n < 20 || date_parse(s, 10, &day) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &hh) || s[13] != ':' || digits(s + 14, 2, &mm) || s[16] != ':' ||
        digits(s + 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60)
        return ERR_PARSE;
    size_t i = 19;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return ERR_PARSE;
    }
    int offset_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return ERR_PARSE;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return ERR_PARSE;
    }
    if (i != n)
        return ERR_PARSE;
    *ms = (((int64_t)day * 24 + hh) * 60 + mm - offset_min) * 60000 + (int64_t)ss * 1000;
    return ERR_OK;
}

int alpaca_price(double x, int64_t *out)
{
    if (!isfinite(x) || fabs(x) >= 1e12)
        return ERR_INVALID;
    *out = llround(x * 1e6);
    return ERR_OK;
}

/* A required number field of a bar, as millionths. */
static int price_field(const struct jv *bar, const char *key, int64_t *out, char *why, size_t cap)
{
    struct jv *v = jv_get(bar, key);
    double x;
    if (!v) {
        snprintf(why, cap, "field '%s' is missing", key);
        return ERR_PARSE;
    }
    if (jv_num(v, &x)) {
        snprintf(why, cap, "field '%s' is a %s, expected a number", key, jv_type_name(jv_type(v)));
        return ERR_PARSE;
    }
    if (alpaca_price(x, out)) {
        snprintf(why, cap, "field '%s' is out of range", key);
        return ERR_PARSE;
    }
    return ERR_OK;
}

/* A count (volume, trades): a non-negative integer (an integral real is accepted). */
static int count_field(const struct jv *bar, const char *key, int required, int64_t *out, char *why,
                       size_t cap)
{
    struct jv *v = jv_get(bar, key);
    if (!v || jv_is_null(v)) {
        if (!required) {
            *out = BAR_NONE;
            return ERR_OK;
        }
        snprintf(why, cap, "field '%s' is missing", key);
        return ERR_PARSE;
    }
    double x;
    if (jv_int(v, out) == ERR_OK)
        return ERR_OK;
    if (jv_num(v, &x) == ERR_OK && isfinite(x) && x == floor(x) && fabs(x) < 9e18) {
        *out = (int64_t)x;
        return ERR_OK;
    }
    snprintf(why, cap, "field '%s' is a %s, expected a whole number", key,
             jv_type_name(jv_type(v)));
    return ERR_PARSE;
}

static int parse_bar(const struct jv *o, const char *symbol, struct bar *b, char *why, size_t cap)
{
    memset(b, 0, sizeof *b);
    memcpy(b->symbol, symbol, strlen(symbol) + 1);
    if (jv_type(o) != JV_OBJECT) {
        snprintf(why, cap, "a bar is a %s, expected an object", jv_type_name(jv_type(o)));
        return ERR_PARSE;
    }
    size_t tl;
    const char *t = jv_str(jv_get(o, "t"), &tl);
    int64_t ms;
    if (!t) {
        snprintf(why, cap, "field 't' is missing or not a string");
        return ERR_PARSE;
    }
    if (alpaca_parse_time(t, tl, &ms)) {
        snprintf(why, cap, "timestamp '%.40s' is not RFC 3339", t);
        return ERR_PARSE;
    }
    int minute;
    b->date = cal_ny_date(ms, &minute);
    if (minute != 0 || ms % 60000 != 0) {
        snprintf(why, cap, "timestamp '%.40s' is not midnight New York time (not a daily bar)", t);
        return ERR_PARSE;
    }
    int err = price_field(o, "o", &b->open, why, cap);
    if (!err)
        err = price_field(o, "h", &b->high, why, cap);
    if (!err)
        err = price_field(o, "l", &b->low, why, cap);
    if (!err)
        err = price_field(o, "c", &b->close, why, cap);
    if (!err)
        err = count_field(o, "v", 1, &b->volume, why, cap);
    if (!err)
        err = count_field(o, "n", 0, &b->trades, why, cap);
    if (!err) {
        struct jv *vw = jv_get(o, "vw");
        b->vwap = BAR_NONE;
        if (vw && !jv_is_null(vw) && price_field(o, "vw", &b->vwap, why, cap))
            err = ERR_PARSE;
    }
    if (err)
        return err;
    struct diag d;
    if (bar_validate(b, &d)) {
        snprintf(why, cap, "%.200s", d.text);
        return ERR_INVALID;
    }
    return ERR_OK;
}

static int next_token(const struct jv *root, char out[ALPACA_TOKEN_MAX], struct diag *d)
{
    out[0] = '\0';
    struct jv *tok = jv_get(root, "next_page_token");
    if (!tok || jv_is_null(tok))
        return ERR_OK;
    size_t n;
    const char *s = jv_str(tok, &n);
    if (!s)
        return diag_set(d, ERR_PARSE, "\"next_page_token\" is a %s, expected a string or null",
                        jv_type_name(jv_type(tok)));
    if (n >= ALPACA_TOKEN_MAX || strlen(s) != n)
        return diag_set(d, ERR_PARSE, "\"next_page_token\" is too long or has a NUL byte");
    memcpy(out, s, n + 1);
    return ERR_OK;
}

static void problem(alpaca_problem_fn fn, void *ctx, const char *symbol, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(alpaca_problem_fn fn, void *ctx, const char *symbol, const char *fmt, ...)
{
    if (!fn)
        return;
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fn(ctx, symbol, what);
}

int alpaca_parse_bars(const char *body, size_t len, struct alpaca_page *p,
                      alpaca_problem_fn on_problem, void *ctx, struct diag *d)
{
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err)
        return diag_prefix(d, err, "bars page");
    p->bad = 0;
    struct jv *bars = jv_get(root, "bars");
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "bars page is a %s, expected an object",
                       jv_type_name(jv_type(root)));
        goto out;
    }
    if (!bars) {
        err = diag_set(d, ERR_PARSE, "bars page has no \"bars\" member");
        goto out;
    }
    if (!jv_is_null(bars) && jv_type(bars) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "\"bars\" is a %s, expected an object keyed by symbol",
                       jv_type_name(jv_type(bars)));
        goto out;
    }
    if ((err = next_token(root, p->next_token, d)))
        goto out;
    for (struct jv_iter it = jv_iter(bars); jv_iter_ok(&it); jv_iter_next(&it)) {
        const char *sym = it.key;
        if (!bar_symbol_valid(sym, strlen(sym))) {
            p->bad += jv_len(it.value);
            problem(on_problem, ctx, "", "response has bars for an invalid symbol '%.20s'", sym);
            continue;
        }
        if (jv_type(it.value) != JV_ARRAY) {
            p->bad++;
            problem(on_problem, ctx, sym, "bars of %s are not an array", sym);
            continue;
        }
        for (size_t i = 0; i < jv_len(it.value); i++) {
            struct bar b;
            char why[240];
            if (parse_bar(jv_at(it.value, i), sym, &b, why, sizeof why)) {
                p->bad++;
                problem(on_problem, ctx, sym, "bad bar left out: %s", why);
                continue;
            }
            if ((err = barvec_push(&p->bars, &b))) {
                err = diag_set(d, err, "out of memory");
                goto out;
            }
        }
    }
out:
    jv_free(root);
    return err;
}

/* A stock dividend of `rate` (0.05: 5 new shares per 100) is a split of 1 + rate for 1: the
 * price factor of the earlier bars (docs/definitions.md#when-a-bar-is-final). */
static int parse_stock_dividend(const struct jv *o, struct split *s, char *why, size_t cap)
{
    memset(s, 0, sizeof *s);
    size_t n;
    const char *sym = jv_str(jv_get(o, "symbol"), &n);
    if (!sym || !bar_symbol_valid(sym, n)) {
        snprintf(why, cap, "missing or invalid 'symbol'");
        return ERR_PARSE;
    }
    memcpy(s->symbol, sym, n + 1);
    const char *ex = jv_str(jv_get(o, "ex_date"), &n);
    if (!ex || date_parse(ex, n, &s->ex_date)) {
        snprintf(why, cap, "%s: missing or invalid 'ex_date'", s->symbol);
        return ERR_PARSE;
    }
    double rate;
    if (jv_num(jv_get(o, "rate"), &rate) || !(rate > 0) || !(rate < 1000) ||
        alpaca_price(1.0 + rate, &s->new_rate) || s->new_rate <= 1000000) {
        snprintf(why, cap, "%s %.10s: a stock dividend's 'rate' must be a positive number",
                 s->symbol, ex);
        return ERR_PARSE;
    }
    s->old_rate = 1000000;
    if (!split_factor_ok(s)) {
        snprintf(why, cap, "%s %.10s: stock dividend %g is outside the sane range", s->symbol, ex,
                 rate);
        return ERR_INVALID;
    }
    return ERR_OK;
}

/* A price factor new_rate for old_rate on the symbol under sym_key from the date under
 * date_key: a split (label "factor") or a unit split ("unit split": old_rate units of
 * old_symbol became new_rate shares on effective_date, docs/definitions.md#corporate-actions). */
static int parse_ratio(const struct jv *o, const char *sym_key, const char *date_key,
                       const char *label, struct split *s, char *why, size_t cap)
{
    memset(s, 0, sizeof *s);
    size_t n;
    const char *sym = jv_str(jv_get(o, sym_key), &n);
    if (!sym || !bar_symbol_valid(sym, n)) {
        snprintf(why, cap, "missing or invalid '%s'", sym_key);
        return ERR_PARSE;
    }
    memcpy(s->symbol, sym, n + 1);
    const char *day = jv_str(jv_get(o, date_key), &n);
    if (!day || date_parse(day, n, &s->ex_date)) {
        snprintf(why, cap, "%s: missing or invalid '%s'", s->symbol, date_key);
        return ERR_PARSE;
    }
    double nr, orr;
    if (jv_num(jv_get(o, "new_rate"), &nr) || jv_num(jv_get(o, "old_rate"), &orr) || !(nr > 0) ||
        !(orr > 0) || alpaca_price(nr, &s->new_rate) || alpaca_price(orr, &s->old_rate) ||
        s->new_rate <= 0 || s->old_rate <= 0) {
        snprintf(why, cap, "%s %.10s: 'new_rate' and 'old_rate' must be positive numbers",
                 s->symbol, day);
        return ERR_PARSE;
    }
    if (!split_factor_ok(s)) {
        snprintf(why, cap, "%s %.10s: %s %g-for-%g is outside the sane range", s->symbol, day,
                 label, nr, orr);
        return ERR_INVALID;
    }
    return ERR_OK;
}

/* A name change: from process_date on, old_symbol trades as new_symbol. */
static int parse_name_change(const struct jv *o, struct symchange *c, char *why, size_t cap)
{
    memset(c, 0, sizeof *c);
    size_t n;
    const char *a = jv_str(jv_get(o, "old_symbol"), &n);
    if (!a || !bar_symbol_valid(a, n)) {
        snprintf(why, cap, "missing or invalid 'old_symbol'");
        return ERR_PARSE;
    }
    memcpy(c->old_symbol, a, n + 1);
    const char *b = jv_str(jv_get(o, "new_symbol"), &n);
    if (!b || !bar_symbol_valid(b, n)) {
        snprintf(why, cap, "%s: missing or invalid 'new_symbol'", c->old_symbol);
        return ERR_PARSE;
    }
    memcpy(c->new_symbol, b, n + 1);
    if (strcmp(c->old_symbol, c->new_symbol) == 0) {
        snprintf(why, cap, "%s: changed to itself", c->old_symbol);
        return ERR_INVALID;
    }
    const char *pd = jv_str(jv_get(o, "process_date"), &n);
    if (!pd || date_parse(pd, n, &c->date)) {
        snprintf(why, cap, "%s: missing or invalid 'process_date'", c->old_symbol);
        return ERR_PARSE;
    }
    return ERR_OK;
}

enum { G_FORWARD, G_REVERSE, G_STOCK_DIVIDEND, G_UNIT, G_NAME, G_COUNT };

int alpaca_parse_actions(const char *body, size_t len, struct splitvec *out,
                         struct symchangevec *changes, char next[ALPACA_TOKEN_MAX],
                         alpaca_problem_fn on_problem, void *ctx, struct diag *d)
{
    struct jv *root;
    int err = jv_parse(body, len, &root, d);
    if (err)
        return diag_prefix(d, err, "corporate actions page");
    struct jv *ca = jv_get(root, "corporate_actions");
    if (jv_type(root) != JV_OBJECT || !ca || (!jv_is_null(ca) && jv_type(ca) != JV_OBJECT)) {
        err = diag_set(d, ERR_PARSE,
                       "corporate actions page: expected an object with a "
                       "\"corporate_actions\" object");
        goto out;
    }
    if ((err = next_token(root, next, d)))
        goto out;
    static const char *const groups[G_COUNT] = {"forward_splits", "reverse_splits",
                                                "stock_dividends", "unit_splits", "name_changes"};
    static const char *const what[G_COUNT] = {"a split", "a split", "a stock dividend",
                                              "a unit split", "a name change"};
    for (size_t g = 0; g < G_COUNT; g++) {
        struct jv *arr = jv_get(ca, groups[g]);
        if (!arr || jv_is_null(arr) || (g == G_NAME && !changes))
            continue;
        if (jv_type(arr) != JV_ARRAY) {
            err = diag_set(d, ERR_PARSE, "\"%s\" is a %s, expected an array", groups[g],
                           jv_type_name(jv_type(arr)));
            goto out;
        }
        for (size_t i = 0; i < jv_len(arr); i++) {
            struct split s;
            struct symchange c;
            char why[200];
            const struct jv *item = jv_at(arr, i);
            int bad = g == G_STOCK_DIVIDEND ? parse_stock_dividend(item, &s, why, sizeof why)
                      : g == G_UNIT         ? parse_ratio(item, "old_symbol", "effective_date",
                                                          "unit split", &s, why, sizeof why)
                      : g == G_NAME
                          ? parse_name_change(item, &c, why, sizeof why)
                          : parse_ratio(item, "symbol", "ex_date", "factor", &s, why, sizeof why);
            if (bad) {
                problem(on_problem, ctx, "", "%s left out: %s", what[g], why);
                continue;
            }
            if ((err = g == G_NAME ? symchangevec_push(changes, &c) : splitvec_push(out, &s))) {
                err = diag_set(d, err, "out of memory");
                goto out;
            }
        }
    }
out:
    jv_free(root);
    return err;
}

static int contains_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

int alpaca_is_recent_data_refusal(int status, const char *body, size_t len)
{
    if ((status != 403 && status != 422) || !body)
        return 0;
    return contains_ci(body, len, "recent sip data") || contains_ci(body, len, "past 15 minutes");
}
