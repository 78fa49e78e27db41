/* stored.c - the account as the last collection read it, as JSON in the store. */
#include "account/stored.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/date.h"
#include "codec/json.h"
#include "codec/num.h"

#include "base/banned.h"

/* A taken_ms outside [2000, 2200) is not a time the collector could have written. */
#define TAKEN_MIN_MS 946684800000LL
#define TAKEN_MAX_MS 7258118400000LL
/* Returns beyond a billion percent are not kept (so that every one kept is exact in a
 * double and writes back the same). */
#define RETURN_MAX 1e9

static int put_str(struct buf *out, const char *key, const char *s)
{
    int e = buf_printf(out, "\"%s\":\"", key);
    e = e ? e : buf_json_escape(out, s, strlen(s));
    return e ? e : buf_putc(out, '"');
}

static int put_money(struct buf *out, const char *key, int64_t v)
{
    if (v == TRADING_NONE)
        return buf_printf(out, ",\"%s\":null", key);
    char num[NUM_FIXED_STRMAX];
    num_format_fixed(v, num);
    return buf_printf(out, ",\"%s\":\"%s\"", key, num);
}

static int put_flag(struct buf *out, const char *key, int v)
{
    return buf_printf(out, ",\"%s\":%s", key, v < 0 ? "null" : v ? "true" : "false");
}

int account_stored_json(const struct trading_data *t, struct buf *out)
{
    int64_t ms = t->fetched_ms;
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t in_day = (ms - days * 86400000) / 1000;
    char day[DATE_STRLEN + 1];
    date_format((int32_t)days, day);
    int e = buf_printf(out, "{\"taken_ms\":%lld,\"taken\":\"%sT%02d:%02d:%02dZ\"", (long long)ms,
                       day, (int)(in_day / 3600), (int)(in_day / 60 % 60), (int)(in_day % 60));
    if (!e && (t->have & TRADING_ACCOUNT)) {
        const struct trading_account *a = &t->account;
        e = buf_puts(out, ",\"account\":{");
        e = e ? e : put_str(out, "account_number", a->account_number);
        e = e ? e : buf_putc(out, ',');
        e = e ? e : put_str(out, "status", a->status);
        e = e ? e : buf_putc(out, ',');
        e = e ? e : put_str(out, "currency", a->currency);
        e = e ? e : put_money(out, "equity", a->equity);
        e = e ? e : put_money(out, "last_equity", a->last_equity);
        e = e ? e : put_money(out, "cash", a->cash);
        e = e ? e : put_money(out, "buying_power", a->buying_power);
        e = e ? e : put_flag(out, "trading_blocked", a->trading_blocked);
        e = e ? e : put_flag(out, "account_blocked", a->account_blocked);
        e = e ? e : buf_putc(out, '}');
    }
    e = e ? e : buf_puts(out, ",\"positions\":[");
    for (size_t i = 0; !e && i < t->positions.n; i++) {
        const struct trading_position *p = &t->positions.v[i];
        e = buf_puts(out, i ? ",{" : "{");
        e = e ? e : put_str(out, "symbol", p->symbol);
        e = e ? e : buf_printf(out, ",\"side\":\"%s\"", p->side < 0 ? "short" : "long");
        e = e ? e : put_money(out, "qty", p->qty);
        e = e ? e : put_money(out, "avg_entry_price", p->avg_entry_price);
        e = e ? e : put_money(out, "current_price", p->current_price);
        e = e ? e : put_money(out, "market_value", p->market_value);
        e = e ? e : put_money(out, "unrealized_pl", p->unrealized_pl);
        int64_t r = isfinite(p->return_pct) && fabs(p->return_pct) < RETURN_MAX
                        ? llround(p->return_pct * 1e6)
                        : TRADING_NONE;
        e = e ? e : put_money(out, "return_pct", r);
        e = e ? e : buf_putc(out, '}');
    }
    e = e ? e : buf_putc(out, ']');
    if (!e && (t->have & TRADING_HISTORY)) {
        e = buf_puts(out, ",\"history\":{\"equity\":[");
        for (size_t i = 0; !e && i < t->history.n; i++) {
            double v = t->history.equity[i];
            e = i ? buf_putc(out, ',') : 0;
            e = e ? e : isfinite(v) ? buf_printf(out, "%.2f", v) : buf_puts(out, "null");
        }
        e = e ? e : buf_puts(out, "]}");
    }
    e = e ? e : buf_puts(out, ",\"problems\":[");
    for (size_t i = 0; !e && i < t->problems.n; i++) {
        e = buf_puts(out, i ? ",\"" : "\"");
        e = e ? e : buf_json_escape(out, t->problems.v[i], strlen(t->problems.v[i]));
        e = e ? e : buf_putc(out, '"');
    }
    return e ? e : buf_puts(out, "]}\n");
}

/* ---- parsing ---- */

/* A string member copied into out[cap]; "" when absent or null.  -1 when of another type
 * or too long. */
static int get_text(const struct jv *o, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    const struct jv *v = jv_get(o, key);
    if (!v || jv_is_null(v))
        return 0;
    size_t n;
    const char *s = jv_str(v, &n);
    if (!s || n >= cap || memchr(s, '\0', n))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A money member: a decimal string, or null/absent (TRADING_NONE).  -1 otherwise. */
static int get_money(const struct jv *o, const char *key, int64_t *out)
{
    *out = TRADING_NONE;
    const struct jv *v = jv_get(o, key);
    if (!v || jv_is_null(v))
        return 0;
    size_t n;
    const char *s = jv_str(v, &n);
    return s && trading_decimal(s, n, out) == ERR_OK ? 0 : -1;
}

static int get_flag(const struct jv *o, const char *key, int *out)
{
    *out = -1;
    const struct jv *v = jv_get(o, key);
    if (!v || jv_is_null(v))
        return 0;
    return jv_bool(v, out) == ERR_OK ? 0 : -1;
}

static int bad(struct diag *d, const char *name, const char *what)
{
    return diag_set(d, ERR_PARSE, "%s: bad %s", name, what);
}

static int parse_account(const char *name, const struct jv *o, struct trading_account *a,
                         struct diag *d)
{
    memset(a, 0, sizeof *a);
    if (jv_type(o) != JV_OBJECT)
        return bad(d, name, "'account' (not an object)");
    if (get_text(o, "account_number", a->account_number, sizeof a->account_number))
        return bad(d, name, "account.account_number");
    if (get_text(o, "status", a->status, sizeof a->status))
        return bad(d, name, "account.status");
    if (get_text(o, "currency", a->currency, sizeof a->currency))
        return bad(d, name, "account.currency");
    static const char *const money[] = {"equity", "last_equity", "cash", "buying_power"};
    int64_t *dst[] = {&a->equity, &a->last_equity, &a->cash, &a->buying_power};
    for (size_t i = 0; i < 4; i++)
        if (get_money(o, money[i], dst[i]))
            return diag_set(d, ERR_PARSE, "%s: bad account.%s", name, money[i]);
    a->long_market_value = a->short_market_value = TRADING_NONE;
    if (get_flag(o, "trading_blocked", &a->trading_blocked))
        return bad(d, name, "account.trading_blocked");
    if (get_flag(o, "account_blocked", &a->account_blocked))
        return bad(d, name, "account.account_blocked");
    return ERR_OK;
}

static int parse_positions(const char *name, const struct jv *arr, struct trading_positions *ps,
                           struct diag *d)
{
    if (!arr || jv_type(arr) != JV_ARRAY)
        return bad(d, name, "'positions' (missing or not an array)");
    size_t n = jv_len(arr);
    if (n > TRADING_POSITIONS_MAX)
        return diag_set(d, ERR_PARSE, "%s: %zu positions, at most %d", name, n,
                        TRADING_POSITIONS_MAX);
    if (n && !(ps->v = calloc(n, sizeof *ps->v)))
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    ps->cap = n;
    static const char *const money[] = {"qty",          "avg_entry_price", "current_price",
                                        "market_value", "unrealized_pl",   "return_pct"};
    for (size_t i = 0; i < n; i++) {
        const struct jv *o = jv_at(arr, i);
        struct trading_position *p = &ps->v[i];
        if (jv_type(o) != JV_OBJECT)
            return diag_set(d, ERR_PARSE, "%s: positions[%zu]: not an object", name, i);
        if (get_text(o, "symbol", p->symbol, sizeof p->symbol) ||
            !bar_symbol_valid(p->symbol, strlen(p->symbol)))
            return diag_set(d, ERR_PARSE, "%s: positions[%zu]: bad symbol", name, i);
        if (i && strcmp(ps->v[i - 1].symbol, p->symbol) >= 0)
            return diag_set(d, ERR_PARSE,
                            "%s: positions[%zu]: not sorted by symbol, one per symbol", name, i);
        char side[8];
        if (get_text(o, "side", side, sizeof side) ||
            (strcmp(side, "long") != 0 && strcmp(side, "short") != 0))
            return diag_set(d, ERR_PARSE, "%s: positions[%zu]: bad side", name, i);
        p->side = side[0] == 's' ? -1 : 1;
        int64_t ret = TRADING_NONE;
        int64_t *dst[] = {&p->qty,          &p->avg_entry_price, &p->current_price,
                          &p->market_value, &p->unrealized_pl,   &ret};
        for (size_t k = 0; k < 6; k++)
            if (get_money(o, money[k], dst[k]))
                return diag_set(d, ERR_PARSE, "%s: positions[%zu]: bad %s", name, i, money[k]);
        if (p->qty != TRADING_NONE && p->qty < 0)
            return diag_set(d, ERR_PARSE, "%s: positions[%zu]: bad qty (negative)", name, i);
        p->cost_basis = p->lastday_price = TRADING_NONE;
        if (ret != TRADING_NONE && fabs((double)ret / 1e6) >= RETURN_MAX)
            return diag_set(d, ERR_PARSE, "%s: positions[%zu]: bad return_pct (beyond %.0f%%)",
                            name, i, RETURN_MAX);
        p->return_pct = ret == TRADING_NONE ? (double)NAN : (double)ret / 1e6;
        p->change_today_pct = (double)NAN;
        ps->n++;
    }
    return ERR_OK;
}

static int parse_history(const char *name, const struct jv *o, struct trading_history *h,
                         struct diag *d)
{
    const struct jv *eq = jv_get(o, "equity");
    if (jv_type(o) != JV_OBJECT || !eq || jv_type(eq) != JV_ARRAY)
        return bad(d, name, "'history' (expected {\"equity\":[...]})");
    size_t n = jv_len(eq);
    if (n > TRADING_HISTORY_MAX)
        return diag_set(d, ERR_PARSE, "%s: %zu history points, at most %d", name, n,
                        TRADING_HISTORY_MAX);
    if (n && !(h->equity = calloc(n, sizeof *h->equity)))
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < n; i++) {
        const struct jv *v = jv_at(eq, i);
        double x = (double)NAN;
        if (!jv_is_null(v) && (jv_num(v, &x) || !isfinite(x) || fabs(x) > 1e12))
            return diag_set(d, ERR_PARSE, "%s: history.equity[%zu]: not a number", name, i);
        h->equity[i] = x;
        h->n++;
    }
    snprintf(h->timeframe, sizeof h->timeframe, "1D");
    return ERR_OK;
}

int account_stored_parse(const char *name, const char *data, size_t len, struct trading_data *out,
                         struct diag *d)
{
    trading_data_init(out);
    struct jv *root = NULL;
    struct diag jd = {{0}};
    if (jv_parse(data, len, &root, &jd) != ERR_OK)
        return diag_set(d, ERR_PARSE, "%s: %s", name, jd.text);
    int err = ERR_OK;
    const struct jv *v;
    if (jv_type(root) != JV_OBJECT)
        err = bad(d, name, "document (not an object)");
    else if (jv_int(jv_get(root, "taken_ms"), &out->fetched_ms) != ERR_OK ||
             out->fetched_ms < TAKEN_MIN_MS || out->fetched_ms >= TAKEN_MAX_MS)
        err = bad(d, name, "'taken_ms' (expected Unix milliseconds)");
    else if ((err = parse_positions(name, jv_get(root, "positions"), &out->positions, d)) == ERR_OK)
        out->have |= TRADING_POSITIONS;
    if (!err && (v = jv_get(root, "account")) != NULL && !jv_is_null(v) &&
        (err = parse_account(name, v, &out->account, d)) == ERR_OK)
        out->have |= TRADING_ACCOUNT;
    if (!err && (v = jv_get(root, "history")) != NULL && !jv_is_null(v) &&
        (err = parse_history(name, v, &out->history, d)) == ERR_OK)
        out->have |= TRADING_HISTORY;
    v = err ? NULL : jv_get(root, "problems");
    if (v && jv_type(v) != JV_ARRAY && !jv_is_null(v))
        err = bad(d, name, "'problems' (not an array)");
    for (size_t i = 0; !err && v && i < jv_len(v) && out->problems.n <= TRADING_PROBLEMS_MAX; i++) {
        size_t n;
        const char *s = jv_str(jv_at(v, i), &n);
        if (!s || !n || memchr(s, '\0', n))
            err = diag_set(d, ERR_PARSE, "%s: problems[%zu]: not a non-empty string", name, i);
        else if (strvec_pushn(&out->problems, s, n))
            err = diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    }
    jv_free(root);
    if (err)
        trading_data_release(out);
    return err;
}

int account_stored_write(struct objstore *os, const struct trading_data *t, struct diag *d)
{
    struct buf b = BUF_INIT(ACCOUNT_STORED_MAX);
    int err = account_stored_json(t, &b);
    if (err)
        err = diag_set(d, err, "%s: %s", ACCOUNT_STORED_KEY, err_str(err));
    else
        err = objstore_put(os, ACCOUNT_STORED_KEY, b.data, b.len, OBJ_PUT_ALWAYS, NULL, d);
    buf_release(&b);
    return err;
}

int account_stored_read(struct objstore *os, struct trading_data *out, struct diag *d)
{
    trading_data_init(out);
    struct buf b = BUF_INIT(ACCOUNT_STORED_MAX);
    int err = objstore_get(os, ACCOUNT_STORED_KEY, &b, NULL, d);
    if (!err)
        err = account_stored_parse(ACCOUNT_STORED_KEY, b.data ? b.data : "", b.len, out, d);
    buf_release(&b);
    return err;
}
