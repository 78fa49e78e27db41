/* reply_backtest.c - /backtest's answer (reply_backtest.h). */
#include "bot/reply_backtest.h"
#include "base/date.h"
#include "bot/format.h"

#include <math.h>
#include <stdio.h>

#include "base/banned.h"

static void pct(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%+.1f%%", v);
}

/* The compound annual rate of a total return over the period, as the summary's CAGR. */
static double annual(double total_pct, int32_t start, int32_t end)
{
    if (end <= start || total_pct <= -100)
        return (double)NAN;
    return 100.0 * (pow(1.0 + total_pct / 100.0, 365.25 / (double)(end - start)) - 1.0);
}

int bot_backtest_html(struct buf *out, const struct backtest_stored *s)
{
    const struct backtest_summary *m = &s->sum;
    const struct backtest_opts *o = &s->opts;
    char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
    date_format(m->start, a);
    date_format(m->end, b);
    int e =
        buf_printf(out, "<b>Backtest</b> · %s to %s (%zu trading days)\n", a, b, m->trading_days);
    e = e ? e
          : buf_printf(out,
                       "A replay of the strategy on the stored history, not real trades: every "
                       "%d trading days buy the top %d of the screen, sell all when the best %d "
                       "average %+g%%; costs %g bps a trade.\n",
                       o->every, o->top, o->signal_top, o->target_pct, o->cost_bps);
    char tr[16], btr[16], cagr[16], bcagr[16], dd[16], sharpe[16], win[16];
    pct(tr, sizeof tr, m->total_return_pct);
    pct(btr, sizeof btr, m->benchmark_return_pct);
    pct(cagr, sizeof cagr, m->cagr_pct);
    pct(bcagr, sizeof bcagr, annual(m->benchmark_return_pct, m->start, m->end));
    pct(dd, sizeof dd, m->max_drawdown_pct);
    if (isnan(m->win_rate_pct))
        snprintf(win, sizeof win, "n/a");
    else
        snprintf(win, sizeof win, "%.1f%%", m->win_rate_pct);
    if (isnan(m->sharpe))
        snprintf(sharpe, sizeof sharpe, "n/a");
    else
        snprintf(sharpe, sizeof sharpe, "%.2f", m->sharpe);
    e = e ? e
          : buf_printf(out,
                       "<pre>               Strategy  Universe\n"
                       "Total return   %8s  %8s\n"
                       "CAGR           %8s  %8s\n"
                       "Max drawdown   %8s\n"
                       "Sharpe         %8s\n"
                       "Trades         %8zu  closed\n"
                       "Win rate       %8s\n</pre>",
                       tr, btr, cagr, bcagr, dd, sharpe, m->trades, win);

    /* Both curves on one scale, so that the higher line is the better one. */
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < s->ncurve; i++) {
        lo = fmin(lo, fmin(s->curve_equity[i], s->curve_benchmark[i]));
        hi = fmax(hi, fmax(s->curve_equity[i], s->curve_benchmark[i]));
    }
    if (!e && s->ncurve > 1) {
        e = buf_puts(out, "Equity against the benchmark, one scale:\n<pre>Strategy ");
        e = e ? e : fmt_sparkline_scaled(out, s->curve_equity, s->ncurve, lo, hi);
        e = e ? e : buf_puts(out, "\nUniverse ");
        e = e ? e : fmt_sparkline_scaled(out, s->curve_benchmark, s->ncurve, lo, hi);
        e = e ? e
              : buf_printf(out, "\n         %s … %s</pre>\nlow %.0f, high %.0f (start %.0f)\n", a,
                           b, lo, hi, o->capital);
    }
    if (!e && s->survivorship)
        e = buf_puts(out, "Note: the candidates are today's universe on every date, so stocks "
                          "that left the index are missing: survivorship bias flatters it.\n");
    if (!e && s->computed_ms > 0) {
        int64_t sec = s->computed_ms / 1000;
        char day[DATE_STRLEN + 1];
        date_format((int32_t)(sec / 86400), day);
        e = buf_printf(out,
                       "Computed %s %02d:%02d UTC after the collection; /download has the "
                       "equity and the trades.",
                       day, (int)(sec % 86400 / 3600), (int)(sec % 3600 / 60));
    }
    return e;
}
