#include "backtest/backtest.h"
#include "base/date.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

const char *const backtest_metric_names[BACKTEST_METRICS] = {
    "start",        "end",           "trading_days", "final_equity",         "total_return_pct",
    "cagr_pct",     "vol_pct",       "sharpe",       "max_drawdown_pct",     "trades",
    "win_rate_pct", "avg_hold_days", "exposure_pct", "benchmark_return_pct",
};

enum { M_START, M_END, M_DAYS, M_TRADES = 9 };

int backtest_metric_index(const char *name)
{
    for (int i = 0; i < BACKTEST_METRICS; i++)
        if (strcmp(name, backtest_metric_names[i]) == 0)
            return i;
    return -1;
}

double backtest_metric_value(const struct backtest_summary *s, int metric)
{
    const double v[BACKTEST_METRICS] = {
        s->start,
        s->end,
        (double)s->trading_days,
        s->final_equity,
        s->total_return_pct,
        s->cagr_pct,
        s->vol_pct,
        s->sharpe,
        s->max_drawdown_pct,
        (double)s->trades,
        s->win_rate_pct,
        s->avg_hold_days,
        s->exposure_pct,
        s->benchmark_return_pct,
    };
    return metric >= 0 && metric < BACKTEST_METRICS ? v[metric] : (double)NAN;
}

int backtest_format_parse(const char *s, enum backtest_format *out)
{
    if (strcmp(s, "table") == 0)
        *out = BACKTEST_FORMAT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = BACKTEST_FORMAT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = BACKTEST_FORMAT_JSON;
    else
        return ERR_INVALID;
    return ERR_OK;
}

/* v, or 0 when it prints as zero at d decimals: the cash left after buys that spend it all
 * is a rounding error either side of zero, never "-0.000000". */
static double no_negative_zero(double v, int d)
{
    return fabs(v) < 0.5 * pow(10, -d) ? 0.0 : v;
}

/* A number as it goes into CSV and JSON: enough digits for another implementation to be
 * compared with, NaN as nothing (CSV) or null (JSON). */
static void number(char *out, size_t cap, double v, enum backtest_format f)
{
    if (isnan(v) || isinf(v))
        snprintf(out, cap, "%s",
                 f == BACKTEST_FORMAT_JSON  ? "null"
                 : f == BACKTEST_FORMAT_CSV ? ""
                                            : "n/a");
    else
        snprintf(out, cap, f == BACKTEST_FORMAT_TABLE ? "%.2f" : "%.6f",
                 no_negative_zero(v, f == BACKTEST_FORMAT_TABLE ? 2 : 6));
}

static void metric_text(char *out, size_t cap, const struct backtest_summary *s, int m,
                        enum backtest_format f)
{
    double v = backtest_metric_value(s, m);
    if (m == M_START || m == M_END) {
        char day[DATE_STRLEN + 1];
        date_format((int32_t)v, day);
        snprintf(out, cap, f == BACKTEST_FORMAT_JSON ? "\"%s\"" : "%s", day);
    } else if (m == M_DAYS || m == M_TRADES) {
        snprintf(out, cap, "%.0f", v);
    } else {
        number(out, cap, v, f);
    }
}

int backtest_equity_csv(struct buf *out, const struct backtest_day *day)
{
    char date[DATE_STRLEN + 1];
    date_format(day->date, date);
    return buf_printf(out, "%s,%.6f,%.6f,%zu,%.6f\n", date, no_negative_zero(day->equity, 6),
                      no_negative_zero(day->cash, 6), day->positions, day->benchmark);
}

int backtest_trade_csv(struct buf *out, const struct backtest_trade *t)
{
    char entry[DATE_STRLEN + 1], exit_[DATE_STRLEN + 1];
    date_format(t->entry_date, entry);
    date_format(t->exit_date, exit_);
    return buf_printf(out, "%s,%s,%.6f,%s,%.6f,%.8f,%.6f,%.6f,%.6f,%d,%s\n", t->symbol, entry,
                      t->entry_price, exit_, t->exit_price, t->qty, t->cost_basis, t->proceeds,
                      no_negative_zero(t->return_pct, 6), t->hold_days,
                      backtest_exit_name(t->reason));
}

static int json_string(struct buf *out, const char *s)
{
    int err = buf_putc(out, '"');
    err = err ? err : buf_json_escape(out, s, strlen(s));
    return err ? err : buf_putc(out, '"');
}

static int write_table(struct buf *out, const char *const *names, size_t np,
                       const char *const *values, const struct backtest_summary *s, size_t nrows)
{
    char text[64];
    int err = ERR_OK;
    if (nrows == 1 && np == 0) {
        for (int m = 0; !err && m < BACKTEST_METRICS; m++) {
            metric_text(text, sizeof text, s, m, BACKTEST_FORMAT_TABLE);
            err = buf_printf(out, "%-21s %14s\n", backtest_metric_names[m], text);
        }
        return err;
    }
    size_t width[64 + BACKTEST_METRICS];
    size_t ncol = np + BACKTEST_METRICS;
    for (size_t k = 0; k < ncol; k++) {
        const char *h = k < np ? names[k] : backtest_metric_names[k - np];
        width[k] = strlen(h);
        for (size_t row = 0; row < nrows; row++) {
            size_t w;
            if (k < np) {
                w = strlen(values[row * np + k]);
            } else {
                metric_text(text, sizeof text, &s[row], (int)(k - np), BACKTEST_FORMAT_TABLE);
                w = strlen(text);
            }
            if (w > width[k])
                width[k] = w;
        }
    }
    for (size_t k = 0; !err && k < ncol; k++)
        err = buf_printf(out, "%s%*s", k ? "  " : "", (int)width[k],
                         k < np ? names[k] : backtest_metric_names[k - np]);
    err = err ? err : buf_putc(out, '\n');
    for (size_t row = 0; !err && row < nrows; row++) {
        for (size_t k = 0; !err && k < ncol; k++) {
            const char *v = text;
            if (k < np)
                v = values[row * np + k];
            else
                metric_text(text, sizeof text, &s[row], (int)(k - np), BACKTEST_FORMAT_TABLE);
            err = buf_printf(out, "%s%*s", k ? "  " : "", (int)width[k], v);
        }
        err = err ? err : buf_putc(out, '\n');
    }
    return err;
}

int backtest_write_summaries(struct buf *out, enum backtest_format format, const char *const *names,
                             size_t np, const char *const *values, const struct backtest_summary *s,
                             size_t nrows, const char *const *warnings, size_t nwarnings)
{
    if (np > 64)
        return ERR_INVALID;
    char text[64];
    int err = ERR_OK;
    if (format == BACKTEST_FORMAT_TABLE) {
        err = write_table(out, names, np, values, s, nrows);
        for (size_t i = 0; !err && i < nwarnings; i++)
            err = buf_printf(out, "note: %s\n", warnings[i]);
        return err;
    }
    if (format == BACKTEST_FORMAT_CSV) {
        for (size_t k = 0; !err && k < np; k++)
            err = buf_printf(out, "%s,", names[k]);
        for (int m = 0; !err && m < BACKTEST_METRICS; m++)
            err = buf_printf(out, "%s%c", backtest_metric_names[m],
                             m + 1 < BACKTEST_METRICS ? ',' : '\n');
        for (size_t row = 0; !err && row < nrows; row++) {
            for (size_t k = 0; !err && k < np; k++)
                err = buf_printf(out, "%s,", values[row * np + k]);
            for (int m = 0; !err && m < BACKTEST_METRICS; m++) {
                metric_text(text, sizeof text, &s[row], m, format);
                err = buf_printf(out, "%s%c", text, m + 1 < BACKTEST_METRICS ? ',' : '\n');
            }
        }
        return err;
    }
    /* JSON: one object for a single run, else {"runs": [...]}; parameter values are numbers
     * as the user wrote them, already checked, and null for "off" (no stop, no maximum
     * hold). */
    int many = nrows != 1 || np != 0;
    err = buf_puts(out, many ? "{\"runs\":[" : "");
    for (size_t row = 0; !err && row < nrows; row++) {
        err = buf_puts(out, row ? ",{" : "{");
        for (size_t k = 0; !err && k < np; k++) {
            err = json_string(out, names[k]);
            const char *v = values[row * np + k];
            err = err ? err : buf_printf(out, ":%s,", strcmp(v, "off") == 0 ? "null" : v);
        }
        for (int m = 0; !err && m < BACKTEST_METRICS; m++) {
            metric_text(text, sizeof text, &s[row], m, format);
            err = buf_printf(out, "\"%s\":%s%s", backtest_metric_names[m], text,
                             m + 1 < BACKTEST_METRICS ? "," : "");
        }
        err = err ? err : buf_putc(out, '}');
    }
    err = err ? err : buf_puts(out, many ? "]," : "");
    if (!many && !err) { /* reopen the object for the warnings */
        out->len--;
        err = buf_putc(out, ',');
    }
    err = err ? err : buf_puts(out, "\"warnings\":[");
    for (size_t i = 0; !err && i < nwarnings; i++) {
        err = i ? buf_putc(out, ',') : ERR_OK;
        err = err ? err : json_string(out, warnings[i]);
    }
    return err ? err : buf_puts(out, many ? "]}\n" : "]}\n");
}
