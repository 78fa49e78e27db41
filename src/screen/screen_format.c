#include "base/date.h"
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

static int csv_row(struct buf *out, const struct screen_row *r)
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
