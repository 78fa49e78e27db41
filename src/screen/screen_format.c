#include "base/date.h"
#include "codec/num.h"
#include "screen/screen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

#define CSV_HEADER                                                                                 \
    "date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume\n"

int screen_format_parse(const char *s, enum screen_format *out)
{
    if (strcmp(s, "table") == 0)
        *out = SCREEN_FORMAT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = SCREEN_FORMAT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = SCREEN_FORMAT_JSON;
    else
        return ERR_INVALID;
    return ERR_OK;
}

int screen_writer_begin(struct screen_writer *w, struct buf *out, enum screen_format format,
                        const struct screen_opts *opts)
{
    w->format = format;
    w->opts = opts;
    w->rows_written = 0;
    w->last_date = INT32_MIN;
    if (format == SCREEN_FORMAT_CSV)
        return buf_puts(out, CSV_HEADER);
    if (format == SCREEN_FORMAT_JSON)
        return buf_puts(out, "[");
    return ERR_OK;
}

static int table_title(struct screen_writer *w, struct buf *out, int32_t date)
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    int err = buf_printf(out, "%s", w->rows_written ? "\n" : "");
    if (w->opts->by == SCREEN_BY_CHANGE)
        err = err ? err : buf_printf(out, "Worst one-day drops on %s\n", day);
    else
        err = err ? err
                  : buf_printf(out, "Worst %d-day drawdowns on %s\n", w->opts->window_days, day);
    return err ? err
               : buf_printf(out, "%4s  %-8s %10s %10s  %-10s %9s %5s %8s %12s\n", "rank", "symbol",
                            "close", "peak", "peak date", "drawdown", "days", "change", "volume");
}

static int table_row(struct buf *out, const struct screen_row *r)
{
    char peak_day[DATE_STRLEN + 1], change[16];
    date_format(r->peak_date, peak_day);
    if (isnan(r->change_pct))
        snprintf(change, sizeof change, "%8s", "n/a");
    else
        snprintf(change, sizeof change, "%7.2f%%", r->change_pct);
    return buf_printf(out, "%4d  %-8s %10.2f %10.2f  %-10s %8.2f%% %5d %s %12lld\n", r->rank,
                      r->symbol, r->close, r->peak, peak_day, r->drawdown_pct, r->days_since_peak,
                      change, (long long)r->volume);
}

/* x as printf's "%.4f" writes it, into out: the length, or 0 when x is not one of the easy
 * cases.  Those are x times 10^4, rounded, below 2^31 and not within 10^-6 of a tie: the
 * product is off by at most 2^-23, so it rounds as x's exact decimal value does. */
static size_t fixed4(double x, char out[16])
{
    double a = fabs(x) * 10000.0;
    if (!(a < 2147483648.0)) /* also NaN */
        return 0;
    uint32_t i = (uint32_t)a;
    double f = a - i; /* exact */
    if (fabs(f - 0.5) < 1e-6)
        return 0;
    i += f > 0.5;
    char digits[10];
    size_t n = 0;
    for (uint32_t q = i / 10000; q || n == 0; q /= 10)
        digits[n++] = (char)('0' + q % 10);
    size_t len = 0;
    if (signbit(x))
        out[len++] = '-';
    while (n)
        out[len++] = digits[--n];
    uint32_t frac = i % 10000;
    out[len++] = '.';
    out[len++] = (char)('0' + frac / 1000);
    out[len++] = (char)('0' + frac / 100 % 10);
    out[len++] = (char)('0' + frac / 10 % 10);
    out[len++] = (char)('0' + frac % 10);
    return len;
}

static int csv_row_printf(struct buf *out, const struct screen_row *r)
{
    char day[DATE_STRLEN + 1], peak_day[DATE_STRLEN + 1], change[32] = "";
    date_format(r->date, day);
    date_format(r->peak_date, peak_day);
    if (!isnan(r->change_pct))
        snprintf(change, sizeof change, "%.4f", r->change_pct);
    return buf_printf(out, "%s,%d,%s,%.4f,%.4f,%s,%.4f,%d,%s,%lld\n", day, r->rank, r->symbol,
                      r->close, r->peak, peak_day, r->drawdown_pct, r->days_since_peak, change,
                      (long long)r->volume);
}

/* One CSV row: as csv_row_printf writes it, put together by hand when every number is one of
 * fixed4's easy cases.  printf's conversions of the doubles were a noticeable part of a
 * full-history screen, which writes every day's rows. */
static int csv_row(struct buf *out, const struct screen_row *r)
{
    char close[16], peak[16], drawdown[16], change[16];
    size_t nclose = fixed4(r->close, close), npeak = fixed4(r->peak, peak);
    size_t ndrawdown = fixed4(r->drawdown_pct, drawdown), nchange = 0;
    int has_change = !isnan(r->change_pct);
    if (has_change)
        nchange = fixed4(r->change_pct, change);
    if (!nclose || !npeak || !ndrawdown || (has_change && !nchange))
        return csv_row_printf(out, r);
    /* Each piece is at most 24 bytes, and num_format_int and date_format have room for
     * their terminating NUL. */
    char line[10 * 24 + 16];
    size_t n = 0;
    date_format(r->date, line);
    n += DATE_STRLEN;
    line[n++] = ',';
    n += num_format_int(r->rank, line + n);
    line[n++] = ',';
    size_t len = strnlen(r->symbol, BAR_SYMBOL_MAX);
    memcpy(line + n, r->symbol, len);
    n += len;
    line[n++] = ',';
    memcpy(line + n, close, nclose);
    n += nclose;
    line[n++] = ',';
    memcpy(line + n, peak, npeak);
    n += npeak;
    line[n++] = ',';
    date_format(r->peak_date, line + n);
    n += DATE_STRLEN;
    line[n++] = ',';
    memcpy(line + n, drawdown, ndrawdown);
    n += ndrawdown;
    line[n++] = ',';
    n += num_format_int(r->days_since_peak, line + n);
    line[n++] = ',';
    memcpy(line + n, change, nchange);
    n += nchange;
    line[n++] = ',';
    n += num_format_int(r->volume, line + n);
    line[n++] = '\n';
    return buf_append(out, line, n);
}

static int json_row(struct buf *out, const struct screen_row *r, int first)
{
    char day[DATE_STRLEN + 1], peak_day[DATE_STRLEN + 1], change[32] = "null";
    date_format(r->date, day);
    date_format(r->peak_date, peak_day);
    if (!isnan(r->change_pct))
        snprintf(change, sizeof change, "%.4f", r->change_pct);
    return buf_printf(out,
                      "%s\n{\"date\":\"%s\",\"rank\":%d,\"symbol\":\"%s\",\"close\":%.4f,"
                      "\"peak\":%.4f,\"peak_date\":\"%s\",\"drawdown_pct\":%.4f,"
                      "\"days_since_peak\":%d,\"change_pct\":%s,\"volume\":%lld}",
                      first ? "" : ",", day, r->rank, r->symbol, r->close, r->peak, peak_day,
                      r->drawdown_pct, r->days_since_peak, change, (long long)r->volume);
}

int screen_writer_rows(struct screen_writer *w, struct buf *out, const struct screen_row *rows,
                       size_t n)
{
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i++) {
        const struct screen_row *r = &rows[i];
        switch (w->format) {
        case SCREEN_FORMAT_TABLE:
            if (r->date != w->last_date)
                err = table_title(w, out, r->date);
            err = err ? err : table_row(out, r);
            break;
        case SCREEN_FORMAT_CSV:
            err = csv_row(out, r);
            break;
        case SCREEN_FORMAT_JSON:
            err = json_row(out, r, w->rows_written == 0);
            break;
        }
        w->last_date = r->date;
        w->rows_written++;
    }
    return err;
}

int screen_writer_end(struct screen_writer *w, struct buf *out)
{
    if (w->format == SCREEN_FORMAT_JSON)
        return buf_puts(out, w->rows_written ? "\n]\n" : "]\n");
    return ERR_OK;
}
