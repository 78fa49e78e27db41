/* screener screen - rank the universe on one date or on every date of a range. */
#include "app/app.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/num.h"
#include "screen/screen_run.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener screen [options]\n\n"
    "Rank the stocks with a bar on a date by their drawdown from the highest high of the\n"
    "window (default) or by their one-day change, most negative first.  Prices are\n"
    "split-adjusted.  Without a date, screens the latest stored date.\n\n"
    "Options:\n"
    "      --date DATE          screen this date (YYYY-MM-DD)\n"
    "      --from DATE          screen every stored date from DATE\n"
    "      --to DATE            ... up to DATE (default: the latest one); for either, 'first'\n"
    "                           is the first stored date and 'last' the latest one\n"
    "      --by METRIC          drawdown (default) or change\n"
    "      --window DAYS        calendar days of the peak window (default 180)\n"
    "      --min-bars N         bars needed in the window to be eligible (default 30)\n"
    "      --min-price PRICE    only stocks closing at or above PRICE on the date\n"
    "      --min-volume N       only stocks averaging at least N shares a day in the window\n"
    "      --top N              rows per date (default 10)\n"
    "      --all                every eligible stock\n"
    "      --format FORMAT      table (default), csv or json; columns: date,rank,symbol,close,\n"
    "                           "
    "peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume\n"
    "      --skip-damaged       leave out damaged parts of the store (truncated or edited, see\n"
    "                           'screener verify') with a warning, instead of failing (exit "
    "3)\n" APP_COMMON_HELP;

enum {
    OPT_DATE = OPT_FIRST_FREE_,
    OPT_FROM,
    OPT_TO,
    OPT_BY,
    OPT_WINDOW,
    OPT_MIN_BARS,
    OPT_MIN_PRICE,
    OPT_MIN_VOLUME,
    OPT_TOP,
    OPT_ALL,
    OPT_FORMAT,
    OPT_SKIP_DAMAGED
};

#define FLUSH_AT (1 << 20)

struct out {
    const struct app *a;
    struct screen_writer w;
    struct buf b;
    int failed;
    size_t days;                 /* dates ranked */
    int32_t first_day, last_day; /* the first and last of them */
};

static int emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct out *o = ctx;
    if (!o->days++)
        o->first_day = date;
    o->last_day = date;
    int err = screen_writer_rows(&o->w, &o->b, rows, n);
    if (err)
        return err;
    if (o->b.len >= FLUSH_AT) {
        if (app_write_stdout(o->a, o->b.data, o->b.len)) {
            o->failed = 1;
            return ERR_IO;
        }
        buf_reset(&o->b);
    }
    return ERR_OK;
}

/* Dates were ranked but no stock passed: say so and why, rather than print nothing at all (a
 * table has no header without a row). */
static void say_none_eligible(const struct app *a, const struct out *o,
                              const struct screen_opts *so)
{
    char first[DATE_STRLEN + 1], last[DATE_STRLEN + 1], price[NUM_FIXED_STRMAX];
    date_format(o->first_day, first);
    date_format(o->last_day, last);
    if (o->days == 1)
        fprintf(stderr, "%s: no stock is eligible on %s: ", a->prog, first);
    else
        fprintf(stderr, "%s: no stock is eligible on any of the %zu dates from %s to %s: ", a->prog,
                o->days, first, last);
    fprintf(stderr, "each needs a bar on the date and %d bars in the %d-day window (--min-bars)",
            so->min_bars, so->window_days);
    if (so->min_price) {
        num_format_fixed(so->min_price, price);
        fprintf(stderr, ", a close of at least %s (--min-price)", price);
    }
    if (so->min_volume)
        fprintf(stderr, ", an average volume of at least %lld (--min-volume)",
                (long long)so->min_volume);
    if (so->by == SCREEN_BY_CHANGE)
        fprintf(stderr, ", and a previous bar (--by change)");
    fputc('\n', stderr);
}

int cmd_screen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, OPT_DATE},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"by", required_argument, NULL, OPT_BY},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"min-bars", required_argument, NULL, OPT_MIN_BARS},
        {"min-price", required_argument, NULL, OPT_MIN_PRICE},
        {"min-volume", required_argument, NULL, OPT_MIN_VOLUME},
        {"top", required_argument, NULL, OPT_TOP},
        {"all", no_argument, NULL, OPT_ALL},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"skip-damaged", no_argument, NULL, OPT_SKIP_DAMAGED},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener screen");
    struct screen_opts so;
    screen_opts_default(&so);
    enum screen_format format = SCREEN_FORMAT_TABLE;
    const char *date = NULL, *from = NULL, *to = NULL;
    int skip_damaged = 0;
    int opt, rc;
    long v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_DATE:
            date = optarg;
            break;
        case OPT_FROM:
            from = optarg;
            break;
        case OPT_TO:
            to = optarg;
            break;
        case OPT_BY:
            if (strcmp(optarg, "drawdown") == 0)
                so.by = SCREEN_BY_DRAWDOWN;
            else if (strcmp(optarg, "change") == 0)
                so.by = SCREEN_BY_CHANGE;
            else
                return app_usage_error(&a, "--by: expected drawdown or change, got '%s'", optarg);
            break;
        case OPT_WINDOW:
            if ((rc = app_parse_long(&a, "--window", optarg, 1, SCREEN_WINDOW_MAX, &v)))
                return rc;
            so.window_days = (int)v;
            break;
        case OPT_MIN_BARS:
            if ((rc = app_parse_long(&a, "--min-bars", optarg, 1, SCREEN_WINDOW_MAX, &v)))
                return rc;
            so.min_bars = (int)v;
            break;
        case OPT_MIN_PRICE:
            if ((rc = app_parse_price(&a, "--min-price", optarg, &so.min_price)))
                return rc;
            break;
        case OPT_MIN_VOLUME:
            if ((rc = app_parse_long(&a, "--min-volume", optarg, 0, 1000000000000L, &v)))
                return rc;
            so.min_volume = v;
            break;
        case OPT_TOP:
            if ((rc = app_parse_long(&a, "--top", optarg, 1, 100000, &v)))
                return rc;
            so.top = (size_t)v;
            break;
        case OPT_ALL:
            so.top = 0;
            break;
        case OPT_SKIP_DAMAGED:
            skip_damaged = 1;
            break;
        case OPT_FORMAT:
            if (screen_format_parse(optarg, &format))
                return app_usage_error(&a, "--format: expected table, csv or json, got '%s'",
                                       optarg);
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind]);
    if (date && (from || to))
        return app_usage_error(&a, "--date cannot be combined with --from/--to");
    if (to && !from)
        return app_usage_error(&a, "--to needs --from");
    if (so.min_bars > so.window_days)
        return app_usage_error(&a,
                               "--min-bars %d is more than the window of %d day%s: give "
                               "--min-bars %d or less, or a longer --window",
                               so.min_bars, so.window_days, so.window_days == 1 ? "" : "s",
                               so.window_days);

    struct app_range range;
    if (!date && (rc = app_range_parse(&a, from, to, &range)))
        return rc;

    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    if (!err) {
        barstore_set_skip_damaged(a.bs, skip_damaged);
        app_read_once(&a);
    }
    int32_t lo = INT32_MIN, hi = INT32_MIN;
    if (!err && date) {
        if ((rc = app_parse_date(&a, "--date", date, &lo)))
            goto done;
        hi = lo;
    } else if (!err && from && range.from.kind == APP_RANGE_FIRST &&
               (range.to.kind == APP_RANGE_NONE || range.to.kind == APP_RANGE_LAST)) {
        lo = SCREEN_RUN_FIRST; /* the whole history: one listing of the store, not two */
        hi = INT32_MAX;
    } else if (!err && from) {
        int32_t first, last;
        if ((err = barstore_date_range(a.bs, &first, &last, NULL, &d)) ||
            (err = app_range_resolve(&range, first, last, &lo, &hi, &d)))
            goto fail;
    }
    struct out o = {.a = &a, .failed = 0};
    buf_init(&o.b, (size_t)64 << 20);
    if (!err) {
        screen_writer_begin(&o.w, &o.b, format, &so);
        struct screen_run_stats st;
        err = screen_run_alone(a.bs, &so, lo, hi, emit, &o, &st, &d);
        if (!err)
            err = screen_writer_end(&o.w, &o.b);
        if (!err && !o.failed && app_write_stdout(&a, o.b.data, o.b.len))
            o.failed = 1;
        if (!err && !o.failed && o.days && o.w.rows_written == 0)
            say_none_eligible(&a, &o, &so);
        if (!err)
            log_info("screen finished", LF_INT("days_read", st.days_read),
                     LF_INT("bars_read", st.bars_read), LF_INT("days_ranked", st.days_ranked),
                     LF_INT("symbols", st.symbols));
    }
    buf_release(&o.b);
    if (o.failed) {
        rc = EXIT_FAIL;
        goto done;
    }
fail:
    rc = err ? app_fail(&a, err, &d) : 0;
    if (err == ERR_DAMAGED)
        fprintf(stderr,
                "%s: 'screener verify' lists every damaged part; --skip-damaged screens "
                "without them\n",
                a.prog);
    app_store_warnings(&a);
done:
    app_release(&a);
    return rc;
}
