/* backtest_results.c - the default backtest kept in the results (backtest_results.h). */
#include "backtest/backtest_results.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

#define FILE_MAX    ((size_t)256 << 20)
#define SUMMARY_MAX ((size_t)64 << 10)

static const char survivorship_text[] =
    "candidates come from every stored symbol, today's universe: the result carries "
    "survivorship bias (screener backtest --universe-asof uses the snapshots in force)";

/* ---- summary.json ---- */

static int put_num(struct buf *b, const char *key, double v)
{
    if (isnan(v) || isinf(v))
        return buf_printf(b, ",\"%s\":null", key);
    return buf_printf(b, ",\"%s\":%.17g", key, v);
}

static int put_day(struct buf *b, const char *key, int32_t date)
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    return buf_printf(b, ",\"%s\":\"%s\"", key, day);
}

int backtest_stored_json(struct buf *out, const struct backtest_stored *s)
{
    const struct backtest_opts *o = &s->opts;
    const struct backtest_summary *m = &s->sum;
    int err = buf_printf(out, "{\"computed_ms\":%lld,\"duration_ms\":%lld",
                         (long long)s->computed_ms, (long long)s->duration_ms);
    err = err ? err : buf_printf(out, ",\"top\":%d,\"every\":%d", o->top, o->every);
    err = err ? err : put_num(out, "target_pct", o->target_pct);
    err = err ? err : buf_printf(out, ",\"signal_top\":%d", o->signal_top);
    err = err ? err : put_num(out, "stop_pct", o->stop_pct > 0 ? o->stop_pct : (double)NAN);
    err = err ? err
              : (o->max_hold > 0 ? buf_printf(out, ",\"max_hold\":%d", o->max_hold)
                                 : buf_puts(out, ",\"max_hold\":null"));
    err = err ? err : put_num(out, "cost_bps", o->cost_bps);
    err = err ? err : put_num(out, "capital", o->capital);
    err = err ? err
              : buf_printf(out, ",\"window_days\":%d,\"min_bars\":%d", o->screen.window_days,
                           o->screen.min_bars);
    err = err ? err : put_day(out, "start", m->start);
    err = err ? err : put_day(out, "end", m->end);
    err = err ? err : buf_printf(out, ",\"trading_days\":%zu", m->trading_days);
    err = err ? err : put_num(out, "final_equity", m->final_equity);
    err = err ? err : put_num(out, "total_return_pct", m->total_return_pct);
    err = err ? err : put_num(out, "cagr_pct", m->cagr_pct);
    err = err ? err : put_num(out, "vol_pct", m->vol_pct);
    err = err ? err : put_num(out, "sharpe", m->sharpe);
    err = err ? err : put_num(out, "max_drawdown_pct", m->max_drawdown_pct);
    err = err ? err : buf_printf(out, ",\"trades\":%zu", m->trades);
    err = err ? err : put_num(out, "win_rate_pct", m->win_rate_pct);
    err = err ? err : put_num(out, "avg_hold_days", m->avg_hold_days);
    err = err ? err : put_num(out, "exposure_pct", m->exposure_pct);
    err = err ? err : put_num(out, "benchmark_return_pct", m->benchmark_return_pct);
    err = err ? err
              : buf_printf(out, ",\"signal_dates\":%zu,\"buys_dropped\":%zu", m->signal_dates,
                           m->buys_dropped);
    err = err ? err
              : buf_printf(out, ",\"survivorship_bias\":%s", s->survivorship ? "true" : "false");
    err = err ? err : buf_puts(out, ",\"curve\":[");
    for (size_t i = 0; !err && i < s->ncurve; i++) {
        char day[DATE_STRLEN + 1];
        date_format(s->curve_date[i], day);
        err = buf_printf(out, "%s{\"date\":\"%s\",\"equity\":%.17g,\"benchmark\":%.17g}",
                         i ? "," : "", day, s->curve_equity[i], s->curve_benchmark[i]);
    }
    err = err ? err : buf_puts(out, "],\"warnings\":[");
    if (!err && s->survivorship) {
        err = buf_putc(out, '"');
        err = err ? err : buf_json_escape(out, survivorship_text, sizeof survivorship_text - 1);
        err = err ? err : buf_putc(out, '"');
    }
    return err ? err : buf_puts(out, "]}\n");
}

struct reader {
    const char *name;
    const struct jv *root;
    int err;
    struct diag *d;
};

static const struct jv *member(struct reader *r, const struct jv *obj, const char *where,
                               const char *key, enum jv_type type, int nullable)
{
    if (r->err)
        return NULL;
    const struct jv *v = jv_get(obj, key);
    if (!v) {
        r->err = diag_set(r->d, ERR_INVALID, "%s: %smember '%s' is missing", r->name, where, key);
        return NULL;
    }
    if (nullable && jv_type(v) == JV_NULL)
        return NULL;
    if (jv_type(v) != type) {
        r->err =
            diag_set(r->d, ERR_INVALID, "%s: %smember '%s' is %s, expected %s%s", r->name, where,
                     key, jv_type_name(jv_type(v)), jv_type_name(type), nullable ? " or null" : "");
        return NULL;
    }
    return v;
}

/* A finite number in [min, max]; null gives NAN when nullable. */
static double get_num(struct reader *r, const struct jv *obj, const char *where, const char *key,
                      int nullable, double min, double max)
{
    const struct jv *v = member(r, obj, where, key, JV_NUMBER, nullable);
    double x = (double)NAN;
    if (v && (jv_num(v, &x) || !isfinite(x) || x < min || x > max))
        r->err = diag_set(r->d, ERR_INVALID, "%s: %smember '%s': expected a number from %g to %g",
                          r->name, where, key, min, max);
    return x;
}

static int64_t get_int(struct reader *r, const char *key, int nullable, int64_t min, int64_t max)
{
    const struct jv *v = member(r, r->root, "", key, JV_NUMBER, nullable);
    int64_t x = 0;
    if (v && (jv_int(v, &x) || x < min || x > max))
        r->err = diag_set(r->d, ERR_INVALID,
                          "%s: member '%s': expected a whole number from %lld to %lld", r->name,
                          key, (long long)min, (long long)max);
    return x;
}

static int32_t get_date(struct reader *r, const struct jv *obj, const char *where, const char *key)
{
    const struct jv *v = member(r, obj, where, key, JV_STRING, 0);
    size_t len;
    const char *s = v ? jv_str(v, &len) : NULL;
    int32_t date = 0;
    if (s && date_parse(s, len, &date)) {
        char q[64];
        diag_quote(q, sizeof q, s, len, 40);
        r->err =
            diag_set(r->d, ERR_INVALID, "%s: %smember '%s': expected a date YYYY-MM-DD, got '%s'",
                     r->name, where, key, q);
    }
    return date;
}

int backtest_stored_parse(const char *name, const char *data, size_t len,
                          struct backtest_stored *out, struct diag *d)
{
    struct jv *root;
    int err = jv_parse(data, len, &root, d);
    if (err)
        return diag_prefix(d, err, "%s", name);
    memset(out, 0, sizeof *out);
    backtest_opts_default(&out->opts);
    struct reader r = {name, root, ERR_OK, d};
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_INVALID, "%s: expected an object, got %s", name,
                       jv_type_name(jv_type(root)));
        jv_free(root);
        return err;
    }
    const double big = 1e300;
    struct backtest_opts *o = &out->opts;
    struct backtest_summary *m = &out->sum;
    out->computed_ms = get_int(&r, "computed_ms", 0, 0, INT64_MAX);
    out->duration_ms = get_int(&r, "duration_ms", 0, 0, INT64_MAX);
    o->top = (int)get_int(&r, "top", 0, 1, BACKTEST_TOP_MAX);
    o->every = (int)get_int(&r, "every", 0, 1, 100000);
    o->target_pct = get_num(&r, root, "", "target_pct", 0, -100, 1e6);
    o->signal_top = (int)get_int(&r, "signal_top", 0, 1, BACKTEST_TOP_MAX);
    o->stop_pct = get_num(&r, root, "", "stop_pct", 1, 0, 100);
    o->stop_pct = isnan(o->stop_pct) ? 0 : o->stop_pct;
    o->max_hold = (int)get_int(&r, "max_hold", 1, 1, 100000);
    o->cost_bps = get_num(&r, root, "", "cost_bps", 0, 0, 10000);
    o->capital = get_num(&r, root, "", "capital", 0, 1e-300, 1e15);
    o->screen.window_days = (int)get_int(&r, "window_days", 0, 1, SCREEN_WINDOW_MAX);
    o->screen.min_bars = (int)get_int(&r, "min_bars", 0, 1, SCREEN_WINDOW_MAX);
    m->start = get_date(&r, root, "", "start");
    m->end = get_date(&r, root, "", "end");
    m->trading_days = (size_t)get_int(&r, "trading_days", 0, 1, INT32_MAX);
    m->final_equity = get_num(&r, root, "", "final_equity", 0, -big, big);
    m->total_return_pct = get_num(&r, root, "", "total_return_pct", 0, -big, big);
    m->cagr_pct = get_num(&r, root, "", "cagr_pct", 1, -big, big);
    m->vol_pct = get_num(&r, root, "", "vol_pct", 1, 0, big);
    m->sharpe = get_num(&r, root, "", "sharpe", 1, -big, big);
    m->max_drawdown_pct = get_num(&r, root, "", "max_drawdown_pct", 0, -100, 0);
    m->trades = (size_t)get_int(&r, "trades", 0, 0, INT64_MAX);
    m->win_rate_pct = get_num(&r, root, "", "win_rate_pct", 1, 0, 100);
    m->avg_hold_days = get_num(&r, root, "", "avg_hold_days", 1, 0, big);
    m->exposure_pct = get_num(&r, root, "", "exposure_pct", 0, 0, 100);
    m->benchmark_return_pct = get_num(&r, root, "", "benchmark_return_pct", 0, -big, big);
    m->signal_dates = (size_t)get_int(&r, "signal_dates", 0, 0, INT32_MAX);
    m->buys_dropped = (size_t)get_int(&r, "buys_dropped", 0, 0, INT64_MAX);
    const struct jv *v = member(&r, root, "", "survivorship_bias", JV_BOOL, 0);
    if (v)
        jv_bool(v, &out->survivorship);
    if (!r.err && m->end < m->start)
        r.err = diag_set(d, ERR_INVALID, "%s: member 'end': before 'start'", name);
    const struct jv *curve = member(&r, root, "", "curve", JV_ARRAY, 0);
    size_t n = curve ? jv_len(curve) : 0;
    if (curve && (n < 1 || n > BACKTEST_CURVE_POINTS))
        r.err = diag_set(d, ERR_INVALID, "%s: member 'curve': expected 1 to %d points, got %zu",
                         name, BACKTEST_CURVE_POINTS, n);
    for (size_t i = 0; !r.err && i < n; i++) {
        const struct jv *p = jv_at(curve, i);
        char where[48];
        snprintf(where, sizeof where, "curve[%zu]: ", i);
        if (jv_type(p) != JV_OBJECT) {
            r.err = diag_set(d, ERR_INVALID, "%s: %sexpected an object, got %s", name, where,
                             jv_type_name(jv_type(p)));
            break;
        }
        out->curve_date[i] = get_date(&r, p, where, "date");
        out->curve_equity[i] = get_num(&r, p, where, "equity", 0, -big, big);
        out->curve_benchmark[i] = get_num(&r, p, where, "benchmark", 0, -big, big);
        if (!r.err && ((i && out->curve_date[i] <= out->curve_date[i - 1]) ||
                       out->curve_date[i] < m->start || out->curve_date[i] > m->end))
            r.err = diag_set(d, ERR_INVALID,
                             "%s: %smember 'date': expected dates ascending within start and end",
                             name, where);
        out->ncurve = i + 1;
    }
    const struct jv *w = member(&r, root, "", "warnings", JV_ARRAY, 0);
    for (size_t i = 0; w && !r.err && i < jv_len(w); i++) {
        size_t wl;
        if (!jv_str(jv_at(w, i), &wl) || wl > BACKTEST_WARNING_MAX)
            r.err = diag_set(d, ERR_INVALID,
                             "%s: member 'warnings': element %zu: expected a string of at most "
                             "%d bytes",
                             name, i, BACKTEST_WARNING_MAX);
    }
    jv_free(root);
    if (r.err)
        out->ncurve = 0;
    return r.err;
}

int backtest_stored_read(struct objstore *os, struct backtest_stored *out, struct diag *d)
{
    struct buf b = BUF_INIT(SUMMARY_MAX);
    int err = objstore_get(os, BACKTEST_SUMMARY_JSON_KEY, &b, NULL, d);
    if (!err)
        err = backtest_stored_parse(BACKTEST_SUMMARY_JSON_KEY, buf_cstr(&b), b.len, out, d);
    buf_release(&b);
    return err;
}

/* ---- the refresh ---- */

struct refresh {
    struct buf equity, trades;
    int64_t deadline_ms;
    int stopped;
    size_t ndays, day, points; /* dates of T, the next one's index, curve points wanted */
    struct backtest_stored *s;
};

static int on_day(void *ctx, const struct backtest_day *day)
{
    struct refresh *r = ctx;
    if (r->deadline_ms && clock_wall_ms() >= r->deadline_ms) {
        r->stopped = 1;
        return ERR_TIMEOUT;
    }
    /* Point k of the curve is date k * (ndays - 1) / (points - 1) of T: the first, the
     * last, and evenly between. */
    struct backtest_stored *s = r->s;
    size_t k = s->ncurve;
    if (k < r->points &&
        (r->points == 1 ? r->day == 0 : r->day == k * (r->ndays - 1) / (r->points - 1))) {
        s->curve_date[k] = day->date;
        s->curve_equity[k] = day->equity;
        s->curve_benchmark[k] = day->benchmark;
        s->ncurve++;
    }
    r->day++;
    return backtest_equity_csv(&r->equity, day);
}

static int on_trade(void *ctx, const struct backtest_trade *t)
{
    struct refresh *r = ctx;
    return backtest_trade_csv(&r->trades, t);
}

static int put(struct objstore *os, const char *key, const struct buf *b, struct diag *d)
{
    return objstore_put(os, key, buf_cstr(b), b->len, OBJ_PUT_ALWAYS, NULL, d);
}

int backtest_refresh(struct objstore *os, struct barstore *bs,
                     const struct backtest_refresh_opts *o, enum backtest_refresh_outcome *outcome,
                     struct backtest_stored *out, struct diag *d)
{
    *outcome = BACKTEST_REFRESH_EMPTY;
    int32_t first, last;
    size_t ndays = 0;
    int err = barstore_date_range(bs, &first, &last, &ndays, d);
    if (err == ERR_NOTFOUND)
        return ERR_OK;
    if (err)
        return err;

    /* Not started without time for it: twice what the last one took. */
    int64_t need = BACKTEST_REFRESH_MIN_MS;
    struct backtest_stored prev;
    struct diag pd;
    if (backtest_stored_read(os, &prev, &pd) == ERR_OK && 2 * prev.duration_ms > need)
        need = 2 * prev.duration_ms;
    int64_t left = o->deadline_ms ? o->deadline_ms - clock_wall_ms() : INT64_MAX;
    if (left < need) {
        *outcome = BACKTEST_REFRESH_SKIPPED;
        log_warn("backtest refresh skipped: too little time left before the deadline",
                 LF_INT("left_ms", left), LF_INT("needed_ms", need));
        return ERR_OK;
    }

    struct backtest_stored s;
    memset(&s, 0, sizeof s);
    backtest_opts_default(&s.opts);
    s.survivorship = 1;
    struct refresh r = {BUF_INIT(FILE_MAX),
                        BUF_INIT(FILE_MAX),
                        o->deadline_ms,
                        0,
                        ndays,
                        0,
                        ndays < BACKTEST_CURVE_POINTS ? ndays : BACKTEST_CURVE_POINTS,
                        &s};
    struct buf csv = BUF_INIT(SUMMARY_MAX), json = BUF_INIT(SUMMARY_MAX);
    struct backtest_sink sink = {on_day, on_trade, &r};
    struct backtest_stats st;
    int64_t t0 = clock_mono_ms();
    err = buf_puts(&r.equity, BACKTEST_EQUITY_HEADER);
    err = err ? err : buf_puts(&r.trades, BACKTEST_TRADES_HEADER);
    if (err) {
        err = diag_set(d, err, "out of memory");
        goto out;
    }
    err = backtest_run(bs, first, last, &s.opts, 1, &sink, NULL, &s.sum, &st, d);
    if (r.stopped) {
        *outcome = BACKTEST_REFRESH_STOPPED;
        log_warn("backtest refresh stopped at the deadline: nothing written, the next run "
                 "tries again",
                 LF_INT("dates_done", r.day), LF_INT("dates", ndays));
        err = ERR_OK;
        goto out;
    }
    if (err == ERR_TOOBIG)
        err = diag_set(d, err, "the backtest's files exceed %zu bytes", r.equity.max);
    if (err)
        goto out;
    s.duration_ms = clock_mono_ms() - t0;
    s.computed_ms = clock_wall_ms();
    const char *warn = survivorship_text;
    err = backtest_write_summaries(&csv, BACKTEST_FORMAT_CSV, NULL, 0, NULL, &s.sum, 1, &warn, 0);
    err = err ? err : backtest_stored_json(&json, &s);
    if (err) {
        err = diag_set(d, err, "formatting the backtest's summary: %s", err_str(err));
        goto out;
    }
    /* The files together (objstore_batch), the summary that readers go by once they are in. */
    struct objstore_req w[3] = {
        {.op = OBJ_REQ_PUT,
         .key = BACKTEST_EQUITY_KEY,
         .data = buf_cstr(&r.equity),
         .len = r.equity.len},
        {.op = OBJ_REQ_PUT,
         .key = BACKTEST_TRADES_KEY,
         .data = buf_cstr(&r.trades),
         .len = r.trades.len},
        {.op = OBJ_REQ_PUT,
         .key = BACKTEST_SUMMARY_CSV_KEY,
         .data = buf_cstr(&csv),
         .len = csv.len},
    };
    err = objstore_batch(os, w, 3, d);
    err = err ? err : put(os, BACKTEST_SUMMARY_JSON_KEY, &json, d);
    if (err)
        goto out;
    *outcome = BACKTEST_REFRESHED;
    if (out)
        *out = s;
    char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
    date_format(s.sum.start, a);
    date_format(s.sum.end, b);
    log_info("backtest refreshed", LF_STR("start", a), LF_STR("end", b),
             LF_INT("dates", s.sum.trading_days), LF_INT("trades", s.sum.trades),
             LF_DBL("total_return_pct", s.sum.total_return_pct),
             LF_DBL("benchmark_return_pct", s.sum.benchmark_return_pct),
             LF_INT("days_read", st.days_read), LF_INT("duration_ms", s.duration_ms));
out:
    buf_release(&r.equity);
    buf_release(&r.trades);
    buf_release(&csv);
    buf_release(&json);
    return err;
}
