/* bot.c - the bot's commands. */
#include "bot/bot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/alerts.h"
#include "bot/format.h"
#include "bot/reply_backtest.h"
#include "bot/subscribers.h"
#include "report/chart.h"
#include "report/report.h"
#include "screen/results.h"
#include "store/barstore.h"
#include "store/symlog.h"

#include "base/banned.h"

/* The largest object read ahead (a bigger one is read when asked for, to say so). */
#define BOT_READ_AHEAD_MAX ((size_t)128 << 20)

static void read_ahead(const struct bot_call *c, const char *const *keys, size_t n);

/* Leave room for Telegram's counting of what the splitter cannot see. */
#define SPLIT_BUDGET 4000

void bot_reply_init(struct bot_reply *r)
{
    memset(r, 0, sizeof *r);
    strvec_init(&r->texts);
    buf_init(&r->photo, CHART_MAX);
    r->action = "none";
}

void bot_reply_release(struct bot_reply *r)
{
    strvec_release(&r->texts);
    buf_release(&r->photo);
}

/* ---- helpers ---- */

static int64_t now_ms(const struct bot_opts *o)
{
    return o->now_ms ? o->now_ms : clock_wall_ms();
}

static int chat_allowed(const struct bot_opts *o, int64_t chat)
{
    for (size_t i = 0; i < o->nallowed; i++)
        if (o->allowed_chats[i] == chat)
            return 1;
    return 0;
}

/* "[N]": a count in [1, max], default def; -1 when args are not one. */
static long parse_count(const char *args, long def, long max)
{
    if (!args[0])
        return def;
    char *end;
    long v = strtol(args, &end, 10);
    if (end == args || *end || v < 1 || v > max)
        return -1;
    return v;
}

static void fmt_pct(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%+.1f%%", v);
}

/* Reading stored results failed: say so to the user, log the detail. */
static int stored_problem(struct bot_call *c, int err, const struct diag *d, const char *what)
{
    if (err == ERR_NOTFOUND)
        return buf_printf(c->out,
                          "No %s yet: the collector has not produced one. Try again after "
                          "the next collection (/stats shows the last run).",
                          what);
    log_error("bot: stored results could not be read", LF_STR("what", what),
              LF_STR("error", d->text));
    return buf_printf(c->out, "Sorry, the %s could not be read just now. Please try again later.",
                      what);
}

static int held(char **holdings, size_t n, const char *symbol)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(holdings[mid], symbol);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- /screen and /drops ---- */

static int change_before(const struct screen_row *x, const struct screen_row *y)
{
    if (x->change_pct != y->change_pct)
        return x->change_pct < y->change_pct;
    return strcmp(x->symbol, y->symbol) < 0;
}

/* The k worst one-day changes of s (symbols without an earlier bar left out), worst first,
 * ties by symbol: a partial insertion, k being small. */
static size_t worst_changes(const struct results_screen *s, const struct screen_row **pick,
                            size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct screen_row *r = &s->rows[i];
        if (isnan(r->change_pct) || (n == k && !change_before(r, pick[n - 1])))
            continue;
        size_t at = n < k ? n++ : n - 1;
        while (at > 0 && change_before(r, pick[at - 1])) {
            pick[at] = pick[at - 1];
            at--;
        }
        pick[at] = r;
    }
    return n;
}

/* The latest screen: the caller's cache when it has one (parsed again only when the file
 * changed), else tmp. */
static int latest_screen(const struct bot_call *c, struct results_latest *tmp,
                         const struct results_screen **s, struct diag *d)
{
    struct results_latest *l = c->o->cache ? c->o->cache : tmp;
    int err = results_read_latest(c->o->os, l, d);
    *s = &l->screen;
    return err;
}

/* " (as of 16:30, provisional)" when the run that wrote the results of date fetched its bars
 * before their settle time (docs/definitions.md#provisional-and-final-bars); else "". */
static void provisional_note(struct objstore *os, int32_t date, char *out, size_t cap)
{
    out[0] = '\0';
    struct results_run r;
    struct diag d = {{0}};
    if (!os || results_read_run(os, &r, &d) != ERR_OK || !results_run_provisional(&r, date))
        return;
    int minute = 0;
    int32_t day = cal_ny_date(r.finished_ms, &minute);
    if (day > date || (day == date && minute >= CAL_SETTLE_MINUTE)) /* a later run failed */
        snprintf(out, cap, " (provisional)");
    else
        snprintf(out, cap, " (as of %02d:%02d, provisional)", minute / 60, minute % 60);
}

static int table(struct bot_call *c, int drops)
{
    long n = parse_count(c->u->args, BOT_SCREEN_DEFAULT, BOT_SCREEN_MAX);
    if (n < 0)
        return buf_printf(c->out, "Usage: /%s [N], N from 1 to %d (default %d).",
                          drops ? "drops" : "screen", BOT_SCREEN_MAX, BOT_SCREEN_DEFAULT);
    static const char *const reads[] = {RESULTS_LATEST_KEY, RESULTS_RUN_KEY};
    read_ahead(c, reads, 2);
    struct results_latest tmp = {0};
    const struct results_screen *s;
    struct diag d = {{0}};
    int err = latest_screen(c, &tmp, &s, &d);
    if (err) {
        results_latest_release(&tmp);
        return stored_problem(c, err, &d, "screen");
    }
    char **hold = NULL;
    size_t nhold = 0;
    /* What the operator holds is theirs to see: only allowed chats get the marks. */
    if (c->o->hooks.holdings && c->allowed &&
        c->o->hooks.holdings(c->o->hooks.ctx, &hold, &nhold, &d) != ERR_OK) {
        log_warn("bot: holdings unavailable", LF_STR("error", d.text));
        hold = NULL;
        nhold = 0;
    }
    const struct screen_row *pick[BOT_SCREEN_MAX];
    size_t shown =
        drops ? worst_changes(s, pick, (size_t)n) : (s->n < (size_t)n ? s->n : (size_t)n);
    for (size_t i = 0; !drops && i < shown; i++)
        pick[i] = &s->rows[i];
    char day[DATE_STRLEN + 1];
    date_format(s->date, day);
    char asof[64] = "";
    provisional_note(c->o->os, s->date, asof, sizeof asof);
    int e = buf_printf(c->out, "<b>%s</b> · %s%s · %zu ranked\n<pre>",
                       drops ? "Worst one-day drops" : "Worst 180-day drawdowns", day, asof, s->n);
    e = e ? e
          : buf_printf(c->out, drops ? "  # Symbol      Close   Change Drawdown\n"
                                     : "  # Symbol      Close Drawdown  Days\n");
    for (size_t i = 0; i < shown && !e; i++) {
        const struct screen_row *r = pick[i];
        char dd[16], ch[16], sym[BAR_SYMBOL_MAX * 6 + 8];
        fmt_pct(dd, sizeof dd, r->drawdown_pct);
        fmt_pct(ch, sizeof ch, r->change_pct);
        struct buf sb = BUF_INIT(sizeof sym - 1);
        e = fmt_html(&sb, r->symbol);
        snprintf(sym, sizeof sym, "%s%s", sb.data ? sb.data : "",
                 held(hold, nhold, r->symbol) ? "*" : "");
        buf_release(&sb);
        if (!e && drops)
            e = buf_printf(c->out, "%3zu %-8s %9.2f %8s %8s\n", i + 1, sym, r->close, ch, dd);
        else if (!e)
            e = buf_printf(c->out, "%3d %-8s %9.2f %8s %5d\n", r->rank, sym, r->close, dd,
                           r->days_since_peak);
    }
    if (!e)
        e = buf_puts(c->out, "</pre>");
    if (!e && shown == 0)
        e = buf_puts(c->out, "\nNothing to show for that day.");
    if (!e && nhold)
        e = buf_puts(c->out, "\n* you hold it");
    if (!e && !drops)
        e = buf_puts(c->out, "\nDrawdown: close vs the highest high of the last 180 days; Days: "
                             "trading days since that peak. /stock SYMBOL for details.");
    for (size_t i = 0; i < nhold; i++)
        free(hold[i]);
    free(hold);
    results_latest_release(&tmp);
    return e;
}

/* ---- /stock ---- */

static int valid_symbol(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > BAR_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
              s[i] == '-' || s[i] == '/'))
            return 0;
    return 1;
}

static int cmd_stock(struct bot_call *c)
{
    char sym[BAR_SYMBOL_MAX + 1];
    size_t n = strlen(c->u->args);
    if (n == 0 || n > BAR_SYMBOL_MAX)
        return buf_puts(c->out, "Usage: /stock SYMBOL, e.g. /stock AAPL or /stock BRK.B");
    for (size_t i = 0; i <= n; i++) {
        char ch = c->u->args[i];
        sym[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    if (!valid_symbol(sym))
        return buf_puts(c->out, "Usage: /stock SYMBOL, e.g. /stock AAPL or /stock BRK.B");
    static const char *const reads[] = {RESULTS_LATEST_KEY, RESULTS_CLOSES_KEY};
    read_ahead(c, reads, 2);
    struct results_latest tmp = {0};
    const struct results_screen *s;
    struct diag d = {{0}};
    int err = latest_screen(c, &tmp, &s, &d);
    if (err) {
        results_latest_release(&tmp);
        return stored_problem(c, err, &d, "screen");
    }
    const struct screen_row *r = NULL;
    for (size_t i = 0; i < s->n && !r; i++)
        if (strcmp(s->rows[i].symbol, sym) == 0)
            r = &s->rows[i];
    struct results_closes cl = {0};
    int cerr = results_read_closes(c->o->os, sym, &cl, &d);
    if (cerr && cerr != ERR_NOTFOUND)
        log_warn("bot: closes unavailable", LF_STR("error", d.text));
    int e;
    char day[DATE_STRLEN + 1];
    date_format(s->date, day);
    if (!r) {
        e = buf_printf(c->out, "<b>%s</b> is not in the screen of %s", sym, day);
        if (!e)
            e = buf_puts(c->out, cerr == ERR_OK
                                     ? " (too few bars in the window, or no bar that day)."
                                     : ": the universe does not have it, or it has no data.");
    } else {
        char ch[16], dd[16], peak[DATE_STRLEN + 1];
        fmt_pct(ch, sizeof ch, r->change_pct);
        fmt_pct(dd, sizeof dd, r->drawdown_pct);
        date_format(r->peak_date, peak);
        e = buf_printf(c->out,
                       "<b>%s</b> · %s\n<pre>Close     %10.2f  (%s on the day)\n"
                       "Peak      %10.2f  on %s\n"
                       "Drawdown  %10s  %d trading days since the peak\n"
                       "Rank      %10d  of %zu by drawdown\n</pre>",
                       sym, day, r->close, ch, r->peak, peak, dd, r->days_since_peak, r->rank,
                       s->n);
    }
    if (!e && cerr == ERR_OK && cl.n > 1) {
        e = buf_printf(c->out, "\nLast %zu closes: ", cl.n);
        if (!e)
            e = fmt_sparkline(c->out, cl.closes, cl.n);
        double lo = HUGE_VAL, hi = -HUGE_VAL;
        for (size_t i = 0; i < cl.n; i++) {
            lo = cl.closes[i] < lo ? cl.closes[i] : lo;
            hi = cl.closes[i] > hi ? cl.closes[i] : hi;
        }
        if (!e)
            e = buf_printf(c->out, "\nlow %.2f, high %.2f", lo, hi);
    }
    results_latest_release(&tmp);
    return e;
}

/* ---- /history ---- */

/* Shares one share of symbol became between the day after `from` and `to`. */
static double split_growth(const struct splitvec *sv, const char *symbol, int32_t from, int32_t to)
{
    double f = 1.0;
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i].symbol, symbol) == 0 && sv->v[i].ex_date > from &&
            sv->v[i].ex_date <= to)
            f *= split_factor(&sv->v[i]);
    return f;
}

static int cmd_history(struct bot_call *c)
{
    long ndays = parse_count(c->u->args, BOT_HISTORY_DEFAULT, BOT_HISTORY_MAX);
    if (ndays < 0)
        return buf_printf(c->out, "Usage: /history [N], N days from 1 to %d (default %d).",
                          BOT_HISTORY_MAX, BOT_HISTORY_DEFAULT);
    struct results_history h = {0};
    struct results_latest tmp = {0};
    const struct results_screen *s = NULL;
    struct splitvec sv;
    struct symchangevec changes;
    splitvec_init(&sv);
    symchangevec_init(&changes);
    struct diag d = {{0}};
    static const char *const reads[] = {RESULTS_TOP_KEY, RESULTS_LATEST_KEY};
    read_ahead(c, reads, 2);
    int err = results_read_top(c->o->os, &h, &d);
    int e = 0;
    if (!err && h.n == 0)
        err = ERR_NOTFOUND;
    if (err) {
        e = stored_problem(c, err, &d, "history");
        goto out;
    }
    if ((err = latest_screen(c, &tmp, &s, &d)) != ERR_OK) {
        e = stored_problem(c, err, &d, "screen");
        goto out;
    }
    /* A candidate renamed since is valued under its name on the screen's date, its splits too
     * (docs/definitions.md#symbol-changes). */
    struct barstore *bs = NULL;
    if (barstore_new(c->o->os, &bs, &d) != ERR_OK ||
        symlog_read_splits(bs, s->date, &sv, &d) != ERR_OK ||
        symlog_read(bs, &changes, &d) != ERR_OK)
        log_warn("bot: split log unavailable; returns are not split-adjusted",
                 LF_STR("error", d.text));
    barstore_free(bs);

    /* The first row of the N newest dates. */
    size_t first = h.n;
    long days = 0;
    while (first > 0 && days < ndays) {
        int32_t date = h.rows[first - 1].date;
        while (first > 0 && h.rows[first - 1].date == date)
            first--;
        days++;
    }
    char now[DATE_STRLEN + 1];
    date_format(s->date, now);
    e = buf_printf(c->out, "<b>Top candidates, last %ld day%s</b> · returns to %s\n", days,
                   days == 1 ? "" : "s", now);
    for (size_t i = first; i < h.n && !e;) {
        int32_t date = h.rows[i].date;
        char day[DATE_STRLEN + 1];
        date_format(date, day);
        e = buf_printf(c->out, "<pre>%s\n  # Symbol       Then      Now   Since\n", day);
        double sum = 0;
        size_t counted = 0;
        for (; i < h.n && h.rows[i].date == date && !e; i++) {
            const struct screen_row *r = &h.rows[i];
            const struct screen_row *cur = NULL;
            const char *name = symchange_name_on(changes.v, changes.n, r->symbol, s->date);
            for (size_t k = 0; k < s->n && !cur; k++)
                if (strcmp(s->rows[k].symbol, name) == 0)
                    cur = &s->rows[k];
            struct buf sb = BUF_INIT(TG_BUF_MAX);
            e = fmt_html(&sb, r->symbol);
            if (cur && r->close > 0) {
                double then = r->close / split_growth(&sv, name, date, s->date);
                double since = 100.0 * (cur->close / then - 1.0);
                sum += since;
                counted++;
                char sp[16];
                fmt_pct(sp, sizeof sp, since);
                e = e ? e
                      : buf_printf(c->out, "%3d %-8s %9.2f %8.2f %7s\n", r->rank, sb.data, then,
                                   cur->close, sp);
            } else if (!e) {
                e = buf_printf(c->out, "%3d %-8s %9.2f      n/a     n/a\n", r->rank, sb.data,
                               r->close);
            }
            buf_release(&sb);
        }
        if (!e && counted) {
            char avg[16];
            fmt_pct(avg, sizeof avg, sum / (double)counted);
            e = buf_printf(c->out, "Average %s over %zu\n", avg, counted);
        }
        e = e ? e : buf_puts(c->out, "</pre>\n");
    }
out:
    splitvec_release(&sv);
    symchangevec_release(&changes);
    results_history_release(&h);
    results_latest_release(&tmp);
    return e;
}

/* ---- /download ---- */

/* How long the links really last: their own hour, or less when the credentials that signed
 * them expire sooner. */
static int link_validity(struct bot_call *c)
{
    int64_t limit = objstore_link_limit_ms(c->o->os);
    int64_t now = now_ms(c->o);
    if (limit < 0)
        return buf_puts(c->out, "Links are valid for up to 1 hour (less if the credentials that "
                                "signed them expire sooner).");
    if (limit == 0 || limit - now >= (int64_t)BOT_LINK_EXPIRES_S * 1000)
        return buf_puts(c->out, "Links are valid for 1 hour.");
    int64_t min = (limit - now) / 60000;
    if (min < 1)
        return buf_puts(c->out, "Links are valid for less than a minute: ask again shortly.");
    int64_t s = limit / 1000;
    return buf_printf(c->out, "Links are valid for %lld minute%s (until %02d:%02d UTC).",
                      (long long)min, min == 1 ? "" : "s", (int)(s % 86400 / 3600),
                      (int)(s % 3600 / 60));
}

static int cmd_download(struct bot_call *c)
{
    static const struct {
        const char *key, *label;
    } files[] = {
        {RESULTS_LATEST_KEY, "Latest screen"},
        {RESULTS_TOP_KEY, "Top candidates, every day"},
        {RESULTS_BARS1Y_KEY, "Bars of the last year"},
        {BACKTEST_SUMMARY_CSV_KEY, "Backtest summary"},
        {BACKTEST_EQUITY_KEY, "Backtest equity and benchmark, every day"},
        {BACKTEST_TRADES_KEY, "Backtest trades"},
    };
    enum { NFILES = sizeof files / sizeof files[0] };
    /* Every file's check that it exists at once (objstore_link_many). */
    const char *keys[NFILES];
    struct buf urls[NFILES];
    int errs[NFILES];
    struct diag ds[NFILES];
    for (size_t i = 0; i < NFILES; i++) {
        keys[i] = files[i].key;
        buf_init(&urls[i], TG_BUF_MAX);
    }
    objstore_link_many(c->o->os, keys, NFILES, BOT_LINK_EXPIRES_S, urls, errs, ds);
    int e = buf_puts(c->out, "<b>Downloads</b> (CSV)\n");
    int any = 0, local = 0;
    for (size_t i = 0; i < NFILES && !e; i++) {
        struct buf url = urls[i];
        struct diag d = ds[i];
        int err = errs[i];
        if (err == ERR_NOTFOUND) {
            e = buf_printf(c->out, "• %s: not produced yet\n", files[i].label);
        } else if (err) {
            log_error("bot: download link failed", LF_STR("key", files[i].key),
                      LF_STR("error", d.text));
            e = buf_printf(c->out, "• %s: unavailable just now\n", files[i].label);
        } else if (strncmp(url.data, "file://", 7) == 0) {
            local = any = 1;
            e = buf_printf(c->out, "• %s: <code>", files[i].label);
            e = e ? e : fmt_html(c->out, url.data + 7);
            e = e ? e : buf_puts(c->out, "</code>\n");
        } else {
            any = 1;
            e = buf_puts(c->out, "• <a href=\"");
            e = e ? e : fmt_html(c->out, url.data);
            e = e ? e : buf_printf(c->out, "\">%s</a>\n", files[i].label);
        }
    }
    for (size_t i = 0; i < NFILES; i++)
        buf_release(&urls[i]);
    if (!e && any && local)
        e = buf_puts(c->out, "The store is a local directory: these are its files.");
    else if (!e && any)
        e = link_validity(c);
    return e;
}

/* ---- /chart ---- */

static int cmd_chart(struct bot_call *c)
{
    char sym[BAR_SYMBOL_MAX + 1];
    size_t n = strlen(c->u->args);
    static const char usage[] = "Usage: /chart SYMBOL, e.g. /chart AAPL or /chart BRK.B";
    if (n == 0 || n > BAR_SYMBOL_MAX || !c->reply)
        return buf_puts(c->out, usage);
    for (size_t i = 0; i <= n; i++) {
        char ch = c->u->args[i];
        sym[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    if (!valid_symbol(sym))
        return buf_puts(c->out, usage);
    struct chart_series s = {0};
    struct diag d = {{0}};
    int err = chart_load_results(c->o->os, sym, SCREEN_WINDOW_DEFAULT, &s, &d);
    if (err == ERR_NOTFOUND) {
        int e = buf_puts(c->out, "No prices of ");
        e = e ? e : fmt_html(c->out, sym);
        return e ? e : buf_puts(c->out, " in the last year.");
    }
    if (err)
        return stored_problem(c, err, &d, "bars");
    err = chart_png(&s, c->o->font_file, &c->reply->photo, &d);
    if (err) {
        log_error("bot: chart not drawn", LF_STR("symbol", sym), LF_STR("error", d.text));
        chart_series_release(&s);
        return buf_puts(c->out, "The chart could not be drawn just now.");
    }
    const struct chart_point *z = &s.v[s.n - 1];
    char day[DATE_STRLEN + 1], peak[DATE_STRLEN + 1], dd[16];
    date_format(s.date, day);
    date_format(z->peak_date, peak);
    fmt_pct(dd, sizeof dd, z->peak > 0 ? 100.0 * (z->close / z->peak - 1.0) : 0);
    snprintf(c->reply->photo_name, sizeof c->reply->photo_name, "%s.png", sym);
    for (char *p = c->reply->photo_name; *p; p++)
        if (*p == '/')
            *p = '-';
    struct buf cap = BUF_INIT(sizeof c->reply->caption - 1);
    int e = buf_puts(&cap, "<b>");
    e = e ? e : fmt_html(&cap, sym);
    e = e ? e
          : buf_printf(&cap, "</b> %s · close %.2f · %s from the %d-day peak %.2f (%s)", day,
                       z->close, dd, s.window_days, z->peak, peak);
    if (!e)
        snprintf(c->reply->caption, sizeof c->reply->caption, "%s", buf_cstr(&cap));
    buf_release(&cap);
    chart_series_release(&s);
    return e;
}

/* ---- /report ---- */

static int cmd_report(struct bot_call *c)
{
    struct buf url = BUF_INIT(TG_BUF_MAX);
    struct diag d = {{0}};
    int e, err = objstore_link(c->o->os, REPORT_LATEST_KEY, BOT_LINK_EXPIRES_S, &url, &d);
    if (err == ERR_NOTFOUND) {
        e = buf_puts(c->out, "No report yet: each collection writes one.");
    } else if (err) {
        log_error("bot: report link failed", LF_STR("error", d.text));
        e = buf_puts(c->out, "The report is unavailable just now. Try again in a minute.");
    } else if (strncmp(url.data, "file://", 7) == 0) {
        e = buf_puts(c->out, "<b>Latest report</b>: <code>");
        e = e ? e : fmt_html(c->out, url.data + 7);
        e = e ? e : buf_puts(c->out, "</code>\nThe store is a local directory: open the file.");
    } else {
        e = buf_puts(c->out, "<a href=\"");
        e = e ? e : fmt_html(c->out, url.data);
        e = e ? e
              : buf_puts(c->out, "\">Latest report</a>: the worst drawdowns and drops, charts, "
                                 "how past picks did.\n");
        e = e ? e : link_validity(c);
    }
    buf_release(&url);
    return e;
}

/* ---- /backtest ---- */

static int cmd_backtest(struct bot_call *c)
{
    struct backtest_stored s;
    struct diag d = {{0}};
    int err = backtest_stored_read(c->o->os, &s, &d);
    return err ? stored_problem(c, err, &d, "backtest") : bot_backtest_html(c->out, &s);
}

/* ---- /stats ---- */

static int cmd_stats(struct bot_call *c)
{
    struct results_run r;
    struct diag d = {{0}};
    int err = results_read_run(c->o->os, &r, &d);
    if (err)
        return stored_problem(c, err, &d, "collection record");
    int64_t now = now_ms(c->o);
    int32_t expected = cal_last_final_day(now, CAL_CLOSE_MINUTE);
    char fin[32], data[DATE_STRLEN + 1];
    int64_t s = r.finished_ms / 1000;
    int32_t fday = (int32_t)(s / 86400);
    char fdate[DATE_STRLEN + 1];
    date_format(fday, fdate);
    snprintf(fin, sizeof fin, "%s %02d:%02d UTC", fdate, (int)(s % 86400 / 3600),
             (int)(s % 3600 / 60));
    int64_t ago_min = (now - r.finished_ms) / 60000;
    char ago[32];
    if (ago_min < 0)
        snprintf(ago, sizeof ago, "just now");
    else if (ago_min < 120)
        snprintf(ago, sizeof ago, "%lld min ago", (long long)ago_min);
    else if (ago_min < 48 * 60)
        snprintf(ago, sizeof ago, "%lld h ago", (long long)(ago_min / 60));
    else
        snprintf(ago, sizeof ago, "%lld days ago", (long long)(ago_min / 1440));
    char fresh[64];
    if (r.date <= 0) {
        snprintf(data, sizeof data, "none");
        snprintf(fresh, sizeof fresh, "no bars stored");
    } else {
        date_format(r.date, data);
        int32_t behind = r.date >= expected ? 0 : cal_trading_days(r.date + 1, expected);
        if (behind == 0)
            snprintf(fresh, sizeof fresh, "current");
        else
            snprintf(fresh, sizeof fresh, "%d trading day%s behind", behind,
                     behind == 1 ? "" : "s");
    }
    int e = buf_printf(c->out,
                       "<b>Last collection</b>\n<pre>"
                       "Finished  %s (%s)\n"
                       "Data to   %s (%s)\n"
                       "Symbols   %llu (%llu fetched, %llu failed)\n"
                       "Bars      %llu new\n"
                       "Requests  %llu (%llu retries, %llu errors)\n"
                       "Duration  %.1f s\n"
                       "Status    %s</pre>",
                       fin, ago, data, fresh, (unsigned long long)r.symbols,
                       (unsigned long long)r.symbols_fetched, (unsigned long long)r.symbols_failed,
                       (unsigned long long)r.bars_new, (unsigned long long)r.requests,
                       (unsigned long long)r.retries, (unsigned long long)r.errors,
                       (double)r.duration_ms / 1000.0,
                       r.complete ? "complete" : "incomplete (the next run completes it)");
    if (!e && r.error[0]) {
        e = buf_puts(c->out, "\nLast error: ");
        e = e ? e : fmt_html(c->out, r.error);
    }
    return e;
}

/* ---- /alert, /alerts, /unalert ---- */

#define ALERT_EXAMPLES                                                                             \
    "e.g. /alert AAPL -30 (180-day drawdown at or below -30%) or /alert AAPL drop -5 (one-day "    \
    "change at or below -5%)"

/* Split args at spaces into at most max words (copied into buf); the count, or max + 1 when
 * there are more. */
static size_t words(const char *args, char *buf, size_t cap, char **w, size_t max)
{
    snprintf(buf, cap, "%s", args);
    size_t n = 0;
    for (char *p = buf; *p;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        w[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

/* The user's symbol, upper-cased, when it is shaped like one. */
static int user_symbol(const char *s, char sym[BAR_SYMBOL_MAX + 1])
{
    size_t n = strlen(s);
    if (n == 0 || n > BAR_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i <= n; i++)
        sym[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
    return valid_symbol(sym);
}

static int store_failed(struct bot_call *c, const struct diag *d)
{
    log_error("bot: alerts could not be changed", LF_STR("command", c->cmd->name),
              LF_INT("chat_id", c->u->chat_id), LF_STR("error", d->text));
    return buf_puts(c->out, "Sorry, that did not work just now. Please try again later.");
}

static int cmd_alert(struct bot_call *c)
{
    char buf[128], *w[3];
    size_t n = strlen(c->u->args) < sizeof buf ? words(c->u->args, buf, sizeof buf, w, 3) : 4;
    if (n < 2 || n > 3)
        return buf_puts(c->out,
                        "Usage: /alert SYMBOL PCT or /alert SYMBOL drop PCT, " ALERT_EXAMPLES ".");
    struct alert a = {.kind = ALERT_DRAWDOWN};
    if (!user_symbol(w[0], a.symbol)) {
        int e = buf_puts(c->out, "'");
        e = e ? e : fmt_html(c->out, w[0]);
        return e ? e : buf_puts(c->out, "' is not a symbol: " ALERT_EXAMPLES ".");
    }
    if (n == 3) {
        if (strcasecmp(w[1], "drop") == 0)
            a.kind = ALERT_DROP;
        else if (strcasecmp(w[1], "drawdown") != 0) {
            int e = buf_puts(c->out, "'");
            e = e ? e : fmt_html(c->out, w[1]);
            return e ? e
                     : buf_puts(c->out, "' is not a kind of alert (drop, or nothing for the "
                                        "drawdown): " ALERT_EXAMPLES ".");
        }
    }
    const char *pct = w[n - 1];
    int t = alerts_parse_threshold(pct, &a.threshold);
    if (t != 0) {
        int e = buf_puts(c->out, "'");
        e = e ? e : fmt_html(c->out, pct);
        e = e ? e
              : buf_puts(c->out, t < 0    ? "' is not a percentage (a number such as -30 or -7.5)"
                                 : t == 1 ? "' is not below zero: an alert fires on a fall"
                                          : "' is below -100%: no stock falls that far");
        return e ? e : buf_puts(c->out, "; " ALERT_EXAMPLES ".");
    }
    struct results_latest tmp = {0};
    const struct results_screen *s;
    struct diag d = {{0}};
    int err = latest_screen(c, &tmp, &s, &d);
    if (err) {
        results_latest_release(&tmp);
        return stored_problem(c, err, &d, "screen");
    }
    const struct screen_row *r = NULL;
    for (size_t i = 0; i < s->n && !r; i++)
        if (strcmp(s->rows[i].symbol, a.symbol) == 0)
            r = &s->rows[i];
    char day[DATE_STRLEN + 1];
    date_format(s->date, day);
    if (!r) {
        int e = buf_printf(c->out,
                           "<b>%s</b> is not in the screen of %s: the universe does not have "
                           "it, or it has too few bars. Use a symbol the screen ranks, "
                           "e.g. /alert AAPL -30.",
                           a.symbol, day);
        results_latest_release(&tmp);
        return e;
    }
    double now = alert_value(r, a.kind);
    results_latest_release(&tmp);
    int replaced;
    err = alerts_set(c->o->os, c->u->chat_id, &a, &replaced, &d);
    if (err == ERR_TOOBIG)
        return buf_printf(c->out,
                          "You have %d alerts, the most a chat can have. /unalert SYMBOL removes "
                          "one; /alerts lists them.",
                          ALERTS_PER_CHAT);
    if (err)
        return store_failed(c, &d);
    char ts[16], vs[16];
    alerts_format_threshold(a.threshold, ts, sizeof ts);
    fmt_pct(vs, sizeof vs, now);
    const char *what = a.kind == ALERT_DROP ? "one-day change" : "180-day drawdown";
    int e = buf_printf(c->out, "%s: <b>%s</b> %s at or below %s (%s on %s).\n",
                       replaced ? "Alert changed" : "Alert set", a.symbol, what, ts, vs, day);
    if (!e && !isnan(now) && now <= (double)a.threshold / 100.0)
        e = buf_puts(c->out, "It is there already: the alert comes after the next collection.\n");
    return e ? e
             : buf_puts(c->out, "You get one message each time it gets there after a daily "
                                "collection. /alerts lists yours, /unalert removes one.");
}

static int cmd_alerts(struct bot_call *c)
{
    struct alerts a;
    struct diag d = {{0}};
    if (alerts_read(c->o->os, c->u->chat_id, &a, &d) != ERR_OK)
        return store_failed(c, &d);
    if (a.n == 0)
        return buf_puts(c->out, "You have no alerts. " ALERT_EXAMPLES ".");
    struct results_latest tmp = {0};
    const struct results_screen *s;
    int serr = latest_screen(c, &tmp, &s, &d);
    char day[DATE_STRLEN + 1] = "";
    if (!serr)
        date_format(s->date, day);
    int e = buf_printf(c->out, "<b>Your alerts</b> · %zu of %d%s%s\n<pre>", a.n, ALERTS_PER_CHAT,
                       serr ? "" : " · values of ", day);
    e = e ? e
          : buf_printf(c->out, "%-8s %-8s %7s %7s  %s\n", "Symbol", "Watch", "Alert", "Now",
                       "State");
    for (size_t i = 0; i < a.n && !e; i++) {
        const struct alert *x = &a.v[i];
        const struct screen_row *r = NULL;
        for (size_t k = 0; !serr && k < s->n && !r; k++)
            if (strcmp(s->rows[k].symbol, x->symbol) == 0)
                r = &s->rows[k];
        char ts[16], vs[16], st[32], fd[DATE_STRLEN + 1];
        alerts_format_threshold(x->threshold, ts, sizeof ts);
        fmt_pct(vs, sizeof vs, r ? alert_value(r, x->kind) : (double)NAN);
        if (x->state == ALERT_ARMED) {
            snprintf(st, sizeof st, "armed");
        } else {
            date_format(x->fired, fd);
            snprintf(st, sizeof st, "%s %s", x->state == ALERT_FIRED ? "fired" : "due", fd);
        }
        struct buf sb = BUF_INIT(64);
        e = fmt_html(&sb, x->symbol);
        e = e ? e
              : buf_printf(c->out, "%-8s %-8s %7s %7s  %s\n", sb.data, alert_kind_name(x->kind), ts,
                           vs, st);
        buf_release(&sb);
    }
    results_latest_release(&tmp);
    return e ? e
             : buf_puts(c->out, "</pre>\nFired: sent once; it comes again after the value is back "
                                "above the alert. /unalert SYMBOL or /unalert all removes them.");
}

static int cmd_unalert(struct bot_call *c)
{
    char buf[64], *w[1], sym[BAR_SYMBOL_MAX + 1];
    size_t n = strlen(c->u->args) < sizeof buf ? words(c->u->args, buf, sizeof buf, w, 1) : 2;
    int all = n == 1 && strcasecmp(w[0], "all") == 0;
    if (n != 1 || (!all && !user_symbol(w[0], sym)))
        return buf_puts(c->out, "Usage: /unalert SYMBOL or /unalert all, e.g. /unalert AAPL.");
    size_t removed;
    struct diag d = {{0}};
    if (alerts_remove(c->o->os, c->u->chat_id, all ? NULL : sym, &removed, &d) != ERR_OK)
        return store_failed(c, &d);
    if (all)
        return removed ? buf_printf(c->out, "Removed all your alerts (%zu).", removed)
                       : buf_puts(c->out, "You have no alerts.");
    if (!removed)
        return buf_printf(c->out, "You have no alert on <b>%s</b>. /alerts lists yours.", sym);
    return buf_printf(c->out, "Removed your alert%s on <b>%s</b>.", removed == 1 ? "" : "s", sym);
}

/* ---- the rest ---- */

static int help(struct bot_call *c, int welcome)
{
    int e = welcome ? buf_puts(c->out,
                               "<b>screener</b> ranks the Russell 1000 by how far each stock has "
                               "fallen, every trading day after the close.\n\n")
                    : 0;
    e = e ? e : buf_puts(c->out, "<b>Commands</b>\n");
    for (size_t i = 0; i < bot_ncommands && !e; i++) {
        const struct bot_command *k = &bot_commands[i];
        /* Privileged commands are offered to allowed chats only. */
        if (k->unlisted || (k->access == BOT_PRIVILEGED && !c->allowed))
            continue;
        e = buf_printf(c->out, "/%s%s%s — ", k->name, k->args[0] ? " " : "", k->args);
        e = e ? e : fmt_html(c->out, k->description);
        e = e ? e : buf_putc(c->out, '\n');
    }
    return e;
}

static int subscribe(struct bot_call *c, int on)
{
    int changed;
    struct diag d = {{0}};
    int err = subscribers_update(c->o->os, c->u->chat_id, on, cal_ny_date(now_ms(c->o), NULL),
                                 &changed, &d);
    if (err) {
        log_error("bot: subscribers could not be updated", LF_STR("error", d.text));
        return buf_puts(c->out, "Sorry, that did not work just now. Please try again later.");
    }
    if (on)
        return buf_puts(c->out, changed ? "Subscribed: you will get the top 10 after each daily "
                                          "collection. /unsubscribe stops it."
                                        : "You are already subscribed.");
    return buf_puts(c->out,
                    changed ? "Unsubscribed: no more daily push." : "You were not subscribed.");
}

/* A hook failed: the answer says so, the log has the detail. */
static int hook_failed(struct bot_call *c, const struct diag *d)
{
    log_error("bot: command failed", LF_STR("command", c->cmd->name), LF_STR("error", d->text));
    buf_reset(c->out);
    return buf_printf(c->out, "Sorry, /%s failed: ", c->cmd->name) || fmt_html(c->out, d->text);
}

static void hhmm(char *out, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    snprintf(out, cap, "%02d:%02d UTC", (int)(s % 86400 / 3600), (int)(s % 3600 / 60));
}

/* One collection at a time, and not more often than the cooldown: the time of the last
 * /trigger is kept in the store (conditional writes, so two at once start one). */
static int cmd_trigger(struct bot_call *c)
{
    const struct bot_hooks *h = &c->o->hooks;
    if (!h->trigger)
        return buf_puts(c->out, "This deployment cannot start a collection from the bot.");
    struct diag d = {{0}};
    struct buf cur = BUF_INIT(256);
    char etag[OBJ_ETAG_MAX] = "";
    int err = objstore_get(c->o->os, BOT_TRIGGER_KEY, &cur, etag, &d);
    int64_t last = 0, now = now_ms(c->o);
    if (!err) {
        char *end;
        last = strtoll(buf_cstr(&cur), &end, 10);
        if (end == buf_cstr(&cur))
            last = 0;
    }
    buf_release(&cur);
    if (err && err != ERR_NOTFOUND) {
        log_error("bot: the last /trigger could not be read", LF_STR("error", d.text));
        return buf_puts(c->out, "Sorry, that did not work just now. Please try again later.");
    }
    if (last && now - last < (int64_t)BOT_TRIGGER_COOLDOWN_S * 1000 && now >= last) {
        struct results_run r;
        struct diag rd = {{0}};
        int finished = results_read_run(c->o->os, &r, &rd) == ERR_OK && r.finished_ms >= last;
        char at[16], next[16];
        hhmm(at, sizeof at, last);
        hhmm(next, sizeof next, last + (int64_t)BOT_TRIGGER_COOLDOWN_S * 1000);
        if (!finished)
            return buf_printf(c->out,
                              "A collection is already running (started at %s). /stats shows "
                              "the last finished one.",
                              at);
        return buf_printf(c->out,
                          "A collection ran at %s. The next one can be started from %s "
                          "(/trigger waits %d minutes between runs).",
                          at, next, BOT_TRIGGER_COOLDOWN_S / 60);
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%lld\n", (long long)now);
    err = objstore_put(c->o->os, BOT_TRIGGER_KEY, text, (size_t)n,
                       etag[0] ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE, etag[0] ? etag : NULL, &d);
    if (err == ERR_PRECONDITION || err == ERR_EXISTS)
        return buf_puts(c->out, "A collection was started a moment ago: it is already running.");
    if (err) {
        log_error("bot: the /trigger time could not be written", LF_STR("error", d.text));
        return buf_puts(c->out, "Sorry, that did not work just now. Please try again later.");
    }
    if (h->trigger(h->ctx, c->u->chat_id, c->out, &d) == ERR_OK)
        return 0;
    /* Nothing started: the next /trigger may try again at once. */
    struct diag dd = {{0}};
    if (objstore_del(c->o->os, BOT_TRIGGER_KEY, &dd) != ERR_OK)
        log_warn("bot: the /trigger time could not be removed", LF_STR("error", dd.text));
    return hook_failed(c, &d);
}

/* /portfolio, /account, /monitor: the caller's hook answers, by the command's name. */
static int cmd_account(struct bot_call *c)
{
    const struct bot_hooks *h = &c->o->hooks;
    if (!h->portfolio)
        return buf_puts(c->out, "Portfolio tracking is not set up on this deployment "
                                "(it needs the Alpaca trading API keys).");
    struct diag d = {{0}};
    return h->portfolio(h->ctx, c->cmd->name, c->out, &d) ? hook_failed(c, &d) : 0;
}

static int cmd_start(struct bot_call *c)
{
    return help(c, 1);
}

static int cmd_help(struct bot_call *c)
{
    return help(c, 0);
}

static int cmd_screen(struct bot_call *c)
{
    return table(c, 0);
}

static int cmd_drops(struct bot_call *c)
{
    return table(c, 1);
}

static int cmd_subscribe(struct bot_call *c)
{
    return subscribe(c, 1);
}

static int cmd_unsubscribe(struct bot_call *c)
{
    return subscribe(c, 0);
}

/* ---- the command table ---- */

/* In the order /help lists them. */
const struct bot_command bot_commands[] = {
    {"screen", "[N]", "Worst 180-day drawdowns (default 10)", BOT_PUBLIC, 0, cmd_screen},
    {"drops", "[N]", "Worst one-day drops (default 10)", BOT_PUBLIC, 0, cmd_drops},
    {"stock", "SYMBOL", "One stock: close, peak, drawdown, rank, 60-day sparkline", BOT_PUBLIC, 0,
     cmd_stock},
    {"history", "[N]", "Top candidates of the last N days and how they did since", BOT_PUBLIC, 0,
     cmd_history},
    {"download", "", "Links to the latest screen, the history, a year of bars, the backtest (CSV)",
     BOT_PUBLIC, 0, cmd_download},
    {"report", "", "Link to the latest HTML report: tables, charts, past picks", BOT_PUBLIC, 0,
     cmd_report},
    {"chart", "SYMBOL", "A year of one stock: closes, peak, drawdown shaded (image)", BOT_PUBLIC, 0,
     cmd_chart},
    {"backtest", "", "Had you bought the list: the strategy replayed on the history", BOT_PUBLIC, 0,
     cmd_backtest},
    {"subscribe", "", "Get the top 10 after each daily collection", BOT_PUBLIC, 0, cmd_subscribe},
    {"unsubscribe", "", "Stop the daily push", BOT_PUBLIC, 0, cmd_unsubscribe},
    {"alert", "SYMBOL [drop] PCT",
     "Tell me when SYMBOL's drawdown (or one-day drop) reaches PCT, e.g. -30", BOT_PUBLIC, 0,
     cmd_alert},
    {"alerts", "", "Your alerts: current values, whether they fired", BOT_PUBLIC, 0, cmd_alerts},
    {"unalert", "SYMBOL|all", "Remove an alert, or all of them", BOT_PUBLIC, 0, cmd_unalert},
    {"portfolio", "", "Positions, returns and where they rank today", BOT_PRIVILEGED, 0,
     cmd_account},
    {"account", "", "Equity, cash, buying power, day P/L", BOT_PRIVILEGED, 0, cmd_account},
    {"monitor", "", "Sell signal: top 5 positions vs the profit target", BOT_PRIVILEGED, 0,
     cmd_account},
    {"stats", "", "Last collection: when, how much, errors, data freshness", BOT_PRIVILEGED, 0,
     cmd_stats},
    {"trigger", "", "Start a collection now", BOT_PRIVILEGED, 0, cmd_trigger},
    {"help", "", "What the bot can do", BOT_OPEN, 0, cmd_help},
    {"start", "", "Welcome", BOT_OPEN, 1, cmd_start},
};
const size_t bot_ncommands = sizeof bot_commands / sizeof bot_commands[0];

const struct bot_command *bot_command_find(const char *name)
{
    for (size_t i = 0; i < bot_ncommands; i++)
        if (strcmp(bot_commands[i].name, name) == 0)
            return &bot_commands[i];
    return NULL;
}

int bot_command_permitted(const struct bot_command *k, const struct bot_opts *o, int allowed)
{
    switch (k->access) {
    case BOT_OPEN:
        return 1;
    case BOT_PUBLIC:
        return allowed || !o->restricted;
    case BOT_PRIVILEGED:
    default:
        return allowed;
    }
}

size_t bot_commands_listed(void)
{
    size_t n = 0;
    for (size_t i = 0; i < bot_ncommands; i++)
        n += !bot_commands[i].unlisted;
    return n;
}

int bot_commands_json(struct buf *out)
{
    int err = buf_puts(out, "{\"commands\":[");
    const char *sep = "";
    for (size_t i = 0; i < bot_ncommands && !err; i++) {
        const struct bot_command *k = &bot_commands[i];
        if (k->unlisted)
            continue;
        err = buf_printf(out, "%s{\"command\":\"%s\",\"description\":\"", sep, k->name);
        if (!err)
            err = buf_json_escape(out, k->description, strlen(k->description));
        if (!err)
            err = buf_puts(out, "\"}");
        sep = ",";
    }
    return err ? err : buf_puts(out, "]}");
}

static int answer(struct bot_call *c, struct bot_reply *r)
{
    const struct tg_update *u = c->u;
    const struct bot_command *k = u->command[0] ? bot_command_find(u->command) : NULL;
    if (!u->is_command) {
        r->action = "text";
        if (strcmp(u->chat_type, "private") != 0 || !u->has_text)
            return 0; /* groups: only commands are for us; stickers etc.: nothing to say */
        return buf_puts(c->out, "I answer commands. Send /help to see them.");
    }
    if (!k) {
        r->action = "unknown command";
        int e = buf_puts(c->out, "Unknown command");
        if (!e && u->command[0]) {
            e = buf_puts(c->out, " /");
            e = e ? e : fmt_html(c->out, u->command);
        }
        return e ? e : buf_puts(c->out, ". Send /help to see what I can do.");
    }
    r->action = k->name;
    c->cmd = k;
    if (!bot_command_permitted(k, c->o, c->allowed)) {
        r->action = "refused";
        log_warn("bot: command refused for a chat not on the allow list",
                 LF_STR("command", k->name), LF_INT("chat_id", u->chat_id));
        return buf_printf(c->out,
                          "/%s is only for the operator's chats. To allow this one, add %lld to "
                          "TELEGRAM_ALLOWED_CHATS.",
                          k->name, (long long)u->chat_id);
    }
    int e = k->run(c);
    if (c->o->os)
        objstore_prefetch_drop(c->o->os); /* nothing read ahead outlives the reply */
    return e;
}

/* The objects a reply is about to read one after another, fetched together (on S3). */
static void read_ahead(const struct bot_call *c, const char *const *keys, size_t n)
{
    if (c->o->os)
        objstore_prefetch(c->o->os, keys, n, BOT_READ_AHEAD_MAX);
}

int bot_handle(const struct bot_opts *o, const struct tg_update *u, struct bot_reply *r,
               struct diag *d)
{
    r->chat_id = u->chat_id;
    if (u->kind != TG_UPDATE_MESSAGE) {
        r->action = "ignored";
        return ERR_OK;
    }
    /* "/screen@OtherBot" in a group is someone else's.  Without a configured name, the hook
     * learns it; when it cannot, the command may be another bot's: ignored. */
    if (u->mention[0] && (o->username || o->hooks.username)) {
        const char *me = o->username ? o->username : o->hooks.username(o->hooks.ctx);
        if (!me || strcasecmp(u->mention, me) != 0) {
            r->action = me ? "ignored: another bot's command" : "ignored: own name unknown";
            return ERR_OK;
        }
    }
    struct buf text = BUF_INIT(TG_BUF_MAX);
    struct bot_call c = {
        .o = o, .u = u, .allowed = chat_allowed(o, u->chat_id), .out = &text, .reply = r};
    int err = answer(&c, r) ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
    if (!err && text.len && fmt_split(text.data, text.len, SPLIT_BUDGET, &r->texts))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    buf_release(&text);
    return err;
}

int bot_push_text(struct objstore *os, struct buf *out, int32_t *date, struct diag *d)
{
    struct tg_update u = {.kind = TG_UPDATE_MESSAGE, .is_command = 1};
    memcpy(u.command, "screen", sizeof "screen");
    struct bot_opts o = {.os = os};
    struct bot_call c = {.o = &o, .u = &u, .cmd = bot_command_find("screen"), .out = out};
    struct results_latest l = {0};
    int err = results_read_latest(os, &l, d);
    *date = l.screen.date;
    results_latest_release(&l);
    if (err)
        return err;
    if (table(&c, 0) || buf_puts(out, "\n/unsubscribe stops the daily push."))
        return diag_set(d, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

int bot_parse_chats(const char *list, int64_t **out, size_t *n, struct diag *d)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        char item[32];
        char *end;
        if (len == 0 || len >= sizeof item) {
            free(*out);
            *out = NULL;
            *n = 0;
            return diag_set(d, ERR_USAGE, "TELEGRAM_ALLOWED_CHATS: '%.*s' is not a chat id",
                            (int)(len > 24 ? 24 : len), p);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        long long v = strtoll(item, &end, 10);
        if (*end || v == 0) {
            free(*out);
            *out = NULL;
            *n = 0;
            return diag_set(d, ERR_USAGE,
                            "TELEGRAM_ALLOWED_CHATS: '%s' is not a chat id (a whole number such "
                            "as 123456789 or -1001234567890)",
                            item);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *v2 = realloc(*out, cap * sizeof *v2);
            if (!v2) {
                free(*out);
                *out = NULL;
                *n = 0;
                return diag_set(d, ERR_NOMEM, "out of memory");
            }
            *out = v2;
        }
        (*out)[(*n)++] = v;
        p += strcspn(p, ",");
    }
    return ERR_OK;
}
