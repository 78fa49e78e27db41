/* reply_account.c - /portfolio, /account, /monitor and the sell-signal alert as HTML. */
#include "bot/reply_account.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/date.h"
#include "bot/format.h"
#include "codec/num.h"

#include "base/banned.h"

void bot_money(char *out, size_t cap, int64_t v, int sign)
{
    if (v == TRADING_NONE) {
        snprintf(out, cap, "n/a");
        return;
    }
    int neg = v < 0;
    uint64_t m = neg ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    uint64_t cents = (m + 5000) / 10000;
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)(cents / 100));
    char grouped[48];
    size_t g = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    snprintf(out, cap, "%s%s.%02llu",
             neg && cents    ? "-"
             : sign && cents ? "+"
                             : "",
             grouped, (unsigned long long)(cents % 100));
}

static void pct(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%+.1f%%", v + 0.0);
}

static void price(char *out, size_t cap, int64_t v)
{
    if (v == TRADING_NONE)
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%.2f", (double)v / 1e6);
}

/* The end of an answer: what Alpaca's answer was missing. */
static int problems_note(struct buf *out, const struct strvec *problems)
{
    if (!problems || problems->n == 0)
        return 0;
    int e = buf_puts(out, "\n<i>Not all of Alpaca's answer was usable (n/a above): ");
    for (size_t i = 0; i < problems->n && i < BOT_PROBLEMS_SHOWN && !e; i++) {
        e = i ? buf_puts(out, "; ") : 0;
        e = e ? e : fmt_html(out, problems->v[i]);
    }
    if (!e && problems->n > BOT_PROBLEMS_SHOWN)
        e = buf_printf(out, "; and %zu more", problems->n - BOT_PROBLEMS_SHOWN);
    return e ? e : buf_puts(out, ".</i>");
}

int bot_portfolio_html(struct buf *out, const struct portfolio *p, const struct strvec *problems)
{
    int e;
    if (p->n == 0) {
        e = buf_puts(out, "<b>Portfolio</b>\nNo open positions.");
        return e ? e : problems_note(out, problems);
    }
    e = buf_printf(out, "<b>Portfolio</b> · %zu position%s\n<pre>", p->n, p->n == 1 ? "" : "s");
    e = e ? e
          : buf_printf(out, "%-6s %6s %8s %8s %7s %4s\n", "Symbol", "Qty", "Entry", "Now", "Return",
                       "Rank");
    int64_t value = 0, pl = 0;
    for (size_t i = 0; i < p->n && !e; i++) {
        const struct portfolio_row *r = &p->rows[i];
        char qty[NUM_FIXED_STRMAX] = "n/a", entry[32], now[32], ret[16], rank[16] = "-";
        if (r->qty != TRADING_NONE)
            num_format_fixed(r->qty, qty);
        price(entry, sizeof entry, r->avg_entry_price);
        price(now, sizeof now, r->current_price);
        pct(ret, sizeof ret, r->return_pct);
        if (r->rank > 0)
            snprintf(rank, sizeof rank, "%d", r->rank);
        e = buf_printf(out, "%-6s %6s %8s %8s %7s %4s\n", r->symbol, qty, entry, now, ret, rank);
        value = value == TRADING_NONE || r->market_value == TRADING_NONE ? TRADING_NONE
                                                                         : value + r->market_value;
        pl = pl == TRADING_NONE || r->unrealized_pl == TRADING_NONE ? TRADING_NONE
                                                                    : pl + r->unrealized_pl;
    }
    char v[48], u[48];
    bot_money(v, sizeof v, value, 0);
    bot_money(u, sizeof u, pl, 1);
    e = e ? e : buf_printf(out, "</pre>\nValue %s · unrealized P/L %s\n", v, u);
    if (!e && p->screen_date) {
        char day[DATE_STRLEN + 1];
        date_format(p->screen_date, day);
        e = buf_printf(out,
                       "Rank: place among the %zu stocks of the 180-day drawdown screen of %s "
                       "(- not in it).",
                       p->screen_n, day);
    } else if (!e) {
        e = buf_puts(out, "Rank: no screen is stored yet.");
    }
    return e ? e : problems_note(out, problems);
}

int bot_account_html(struct buf *out, const struct trading_account *a,
                     const struct trading_history *h, const struct strvec *problems)
{
    int e = buf_puts(out, "<b>Account</b>");
    if (!e && a->account_number[0]) {
        e = buf_putc(out, ' ');
        e = e ? e : fmt_html(out, a->account_number);
    }
    if (!e && a->status[0]) {
        e = buf_puts(out, " · ");
        e = e ? e : fmt_html(out, a->status);
    }
    char eq[48], cash[48], bp[48], day[48], daypct[16] = "";
    bot_money(eq, sizeof eq, a->equity, 0);
    bot_money(cash, sizeof cash, a->cash, 0);
    bot_money(bp, sizeof bp, a->buying_power, 0);
    int64_t diff = a->equity == TRADING_NONE || a->last_equity == TRADING_NONE
                       ? TRADING_NONE
                       : a->equity - a->last_equity;
    bot_money(day, sizeof day, diff, 1);
    if (diff != TRADING_NONE && a->last_equity > 0)
        pct(daypct, sizeof daypct, 100.0 * ((double)a->equity / (double)a->last_equity - 1.0));
    e = e ? e
          : buf_printf(out,
                       "\n<pre>Equity       %13s\nCash         %13s\nBuying power %13s\n"
                       "Day P/L      %13s %s\n</pre>",
                       eq, cash, bp, day, daypct);
    if (!e && (a->trading_blocked == 1 || a->account_blocked == 1))
        e = buf_puts(out, "\nTrading is blocked on this account.");
    if (!e && h && h->n > 1) {
        double lo = HUGE_VAL, hi = -HUGE_VAL;
        size_t k = 0;
        for (size_t i = 0; i < h->n; i++) {
            if (isnan(h->equity[i]))
                continue;
            lo = h->equity[i] < lo ? h->equity[i] : lo;
            hi = h->equity[i] > hi ? h->equity[i] : hi;
            k++;
        }
        if (k > 1) {
            char l[48], u[48];
            bot_money(l, sizeof l, llround(lo * 1e6), 0);
            bot_money(u, sizeof u, llround(hi * 1e6), 0);
            e = buf_printf(out, "\nEquity, last %zu trading days: ", k);
            e = e ? e : fmt_sparkline(out, h->equity, h->n);
            e = e ? e : buf_printf(out, "\nlow %s, high %s", l, u);
        }
    }
    return e ? e : problems_note(out, problems);
}

static int top_table(struct buf *out, const struct portfolio *p, const struct portfolio_signal *s)
{
    int e = buf_printf(out, "<pre>  # %-8s %8s\n", "Symbol", "Return");
    for (size_t k = 0; k < s->ntop && !e; k++) {
        const struct portfolio_row *r = &p->rows[s->top[k]];
        char ret[16];
        pct(ret, sizeof ret, r->return_pct);
        e = buf_printf(out, "%3zu %-8s %8s\n", k + 1, r->symbol, ret);
    }
    char avg[16];
    pct(avg, sizeof avg, s->average_pct);
    return e ? e : buf_printf(out, "Average      %8s\n</pre>", avg);
}

int bot_monitor_html(struct buf *out, const struct portfolio *p, const struct portfolio_signal *s,
                     const struct strvec *problems)
{
    char target[16], avg[16];
    pct(target, sizeof target, s->target_pct);
    pct(avg, sizeof avg, s->average_pct);
    int e = buf_printf(out, "<b>Sell signal</b> · target %s\n", target);
    if (s->ntop == 0) {
        e = e ? e
              : buf_puts(out, s->positions ? "No position has a known return: no signal."
                                           : "No open positions: nothing to sell.");
        return e ? e : problems_note(out, problems);
    }
    e = e ? e : top_table(out, p, s);
    char which[64];
    if (s->ntop == PORTFOLIO_TOP)
        snprintf(which, sizeof which, "the top %d positions", PORTFOLIO_TOP);
    else
        snprintf(which, sizeof which, "the %zu position%s with a known return", s->ntop,
                 s->ntop == 1 ? "" : "s");
    if (!e && s->reached)
        e = buf_printf(out,
                       "\n<b>Target reached</b>: %s average %s, at or above %s. The strategy "
                       "says: sell them.",
                       which, avg, target);
    else if (!e)
        e = buf_printf(out, "\nNot yet: %s average %s, below the target of %s.", which, avg,
                       target);
    if (!e && s->unknown)
        e = buf_printf(out, "\n%zu position%s left out: the return is unknown.", s->unknown,
                       s->unknown == 1 ? " is" : "s are");
    return e ? e : problems_note(out, problems);
}

int bot_alert_html(struct buf *out, const struct portfolio *p, const struct portfolio_signal *s)
{
    char day[DATE_STRLEN + 1], target[16], avg[16];
    date_format(p->date, day);
    pct(target, sizeof target, s->target_pct);
    pct(avg, sizeof avg, s->average_pct);
    int e = buf_printf(out,
                       "<b>Sell signal</b> · %s\nThe top %zu positions average <b>%s</b>, at or "
                       "above the profit target of %s.\n",
                       day, s->ntop, avg, target);
    e = e ? e : top_table(out, p, s);
    return e ? e
             : buf_puts(out, "\nThis alert comes once, the first day the target is reached; "
                             "/monitor shows the signal any time.");
}
