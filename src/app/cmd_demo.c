/* screener demo - the whole job offline: serve a sample market through the Alpaca simulator on
 * 127.0.0.1, collect it with the real collector, screen it. */
#include "app/app.h"
#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "daily/daily.h"
#include "net/http.h"
#include "net/ratelimit.h"
#include "screen/screen_run.h"
#include "sim/alpaca_sim.h"
#include "sim/market.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener demo [options]\n\n"
    "Run the main job end to end, offline: serve a realistic sample market (random walks,\n"
    "a few crashes, stock splits, a unit split and a stock dividend) from a built-in\n"
    "Alpaca-compatible server on 127.0.0.1, collect it into the store with the real\n"
    "collector (batched, paged, rate-limited requests) and write the results (results/ in\n"
    "the store), then screen the latest day and print the 10 worst 180-day drawdowns and the\n"
    "10 worst one-day drops; the day's HTML report goes to results/report/ ('screener report\n"
    "--help').  Running it again finds every bar already stored and adds none.\n\n"
    "Options:\n"
    "      --symbols N          symbols in the sample market (default 520)\n"
    "      --years N            years of daily bars, ending 2026-11-20 (default 3)\n"
    "      --seed N             random seed (default 42)\n" APP_COMMON_HELP;

enum { OPT_SYMBOLS = OPT_FIRST_FREE_, OPT_YEARS, OPT_SEED };

/* Price factors besides the market's splits, on its second and third symbols: a 2-for-1 unit
 * split 100 trading days before the end and a 5 % stock dividend 80 before it.  (No symbol
 * change: the benchmark's reference peers read the demo's store and know only the split
 * log.) */
struct demo_actions {
    struct split unit, dividend;
};

static int32_t trading_days_before(int32_t day, int n)
{
    day = cal_trading_day_at_or_before(day);
    for (int i = 0; i < n; i++)
        day = cal_trading_day_at_or_before(day - 1);
    return day;
}

static int demo_actions(const struct market_opts *mo, struct alpaca_sim_opts *so,
                        struct demo_actions *x, struct diag *d)
{
    if (mo->nsymbols < 3 || cal_trading_days(mo->first_day, mo->last_day) < 130)
        return ERR_OK;
    struct market *m = NULL;
    int err = market_new(mo, &m, d);
    if (err)
        return err;
    memset(x, 0, sizeof *x);
    snprintf(x->unit.symbol, sizeof x->unit.symbol, "%s", market_symbol(m, 1));
    x->unit.ex_date = trading_days_before(mo->last_day, 100);
    x->unit.new_rate = 2000000;
    x->unit.old_rate = 1000000;
    snprintf(x->dividend.symbol, sizeof x->dividend.symbol, "%s", market_symbol(m, 2));
    x->dividend.ex_date = trading_days_before(mo->last_day, 80);
    x->dividend.new_rate = 1050000;
    x->dividend.old_rate = 1000000;
    market_free(m);
    so->unit_splits = &x->unit;
    so->nunit_splits = 1;
    so->stock_dividends = &x->dividend;
    so->nstock_dividends = 1;
    return ERR_OK;
}

/* The sample market ends on a fixed date so that a rerun adds nothing and conflicts with
 * nothing: the same seed always gives the same bars. */
#define DEMO_LAST_YEAR  2026
#define DEMO_LAST_MONTH 11
#define DEMO_LAST_DAY   20

struct table_out {
    struct screen_writer w;
    struct buf b;
};

static int emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct table_out *t = ctx;
    (void)date;
    return screen_writer_rows(&t->w, &t->b, rows, n);
}

static int print_screen(struct app *a, enum screen_metric by, struct diag *d)
{
    struct screen_opts so;
    screen_opts_default(&so);
    so.by = by;
    struct table_out t;
    buf_init(&t.b, 1 << 20);
    screen_writer_begin(&t.w, &t.b, SCREEN_FORMAT_TABLE, &so);
    struct screen_run_stats st;
    int err = screen_run(a->bs, &so, INT32_MIN, INT32_MIN, emit, &t, &st, d);
    if (!err) {
        buf_putc(&t.b, '\n');
        err = app_write_stdout(a, t.b.data, t.b.len) ? ERR_IO : ERR_OK;
    }
    buf_release(&t.b);
    return err;
}

/* The backtest's result in one line: the demo's last word. */
static void print_backtest(const struct daily_report *r)
{
    const struct backtest_opts *o = &r->backtest_opts;
    const struct backtest_summary *s = &r->backtest;
    char s1[DATE_STRLEN + 1], s2[DATE_STRLEN + 1];
    date_format(s->start, s1);
    date_format(s->end, s2);
    printf("Backtest %s to %s (top %d every %d dates, sell all at +%g%% of the best %d, "
           "screener backtest --help): %+.1f%%, max drawdown %.1f%%, %zu closed trades; "
           "the equal-weight universe %+.1f%%\n",
           s1, s2, o->top, o->every, o->target_pct, o->signal_top, s->total_return_pct,
           s->max_drawdown_pct, s->trades, s->benchmark_return_pct);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbols", required_argument, NULL, OPT_SYMBOLS},
        {"years", required_argument, NULL, OPT_YEARS},
        {"seed", required_argument, NULL, OPT_SEED},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener demo");
    struct market_opts mo;
    market_opts_default(&mo);
    long years = 3, v;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_SYMBOLS:
            if ((rc = app_parse_long(&a, "--symbols", optarg, 1, 20000, &v)))
                return rc;
            mo.nsymbols = (size_t)v;
            break;
        case OPT_YEARS:
            if ((rc = app_parse_long(&a, "--years", optarg, 1, 50, &years)))
                return rc;
            break;
        case OPT_SEED:
            if ((rc = app_parse_long(&a, "--seed", optarg, 0, 2147483647L, &v)))
                return rc;
            mo.seed = (uint64_t)v;
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
    mo.last_day = date_from_ymd(DEMO_LAST_YEAR, DEMO_LAST_MONTH, DEMO_LAST_DAY);
    mo.first_day = date_from_ymd(DEMO_LAST_YEAR - (int)years, DEMO_LAST_MONTH, DEMO_LAST_DAY);

    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    if (err)
        goto fail;

    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = mo.seed;
    so.nsymbols = mo.nsymbols;
    so.first_day = mo.first_day;
    so.last_day = mo.last_day;
    struct demo_actions acts;
    if ((err = demo_actions(&mo, &so, &acts, &d)))
        goto fail;
    char first[DATE_STRLEN + 1], last[DATE_STRLEN + 1];
    date_format(mo.first_day, first);
    date_format(mo.last_day, last);
    printf("Starting a sample market on a local Alpaca-compatible server: %zu symbols, %s to "
           "%s ...\n",
           mo.nsymbols, first, last);
    fflush(stdout);
    struct alpaca_sim *sim = NULL;
    int port = 0;
    err = alpaca_sim_start(&so, &sim, &port, &d);
    if (err)
        goto fail;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    size_t n = alpaca_sim_nsymbols(sim);
    const char **symbols = malloc(n * sizeof *symbols);
    struct ratelimit rl = {0};
    struct http_client *http = NULL;
    struct daily_report *r = calloc(1, sizeof *r);
    if (!symbols || !r)
        err = diag_set(&d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < n; i++)
        symbols[i] = alpaca_sim_symbol(sim, i);
    if (!err)
        err = ratelimit_init(&rl, 200, 60000, &d);
    if (!err)
        err = http_client_new(NULL, &http, &d);
    if (!err) {
        /* The daily job without the account, the push or the metrics (this prints), and with
         * the backtest, whose line ends the demo. */
        struct daily_opts o;
        daily_opts_default(&o);
        o.steps = DAILY_STEPS_ALWAYS | DAILY_STEP(DAILY_ALERTS) | DAILY_STEP(DAILY_BACKTEST) |
                  DAILY_STEP(DAILY_HTML);
        o.symbols = symbols;
        o.n = n;
        struct collect_opts *co = &o.collect;
        co->data_url = url;
        co->key_id = "SIMKEY";
        co->secret_key = "SIMSECRET";
        co->end = mo.last_day;
        co->history_days = mo.last_day - mo.first_day + 1;
        co->fetch.limiter = &rl;
        co->http = http;
        printf("Collecting into the store at %s (%s) ...\n", a.os->location, url);
        fflush(stdout);
        struct app_progress p;
        app_progress_start(&p, 1, co);
        err = daily_run(a.os, a.bs, &o, r, &d);
        app_progress_end(&p);
        const struct run_counts *c = &r->counts;
        if (!err) {
            printf("  %zu new bars, %zu already stored, %zu new split facts; %llu requests "
                   "for %zu bars (floor %zu), %.1f s\n",
                   c->bars_new, c->bars_same, c->splits_new, (unsigned long long)c->requests,
                   c->bars_received, r->stats.request_floor, (double)c->duration_ms / 1000.0);
            /* Bars that are neither new nor stored already (a store collected from another
             * sample market: --seed, --symbols) are revisions or problems: say which. */
            app_print_run_details(c);
            printf("\n");
        }
    }
    http_client_free(http);
    ratelimit_release(&rl);
    free(symbols);
    alpaca_sim_stop(sim);
    if (!err)
        err = print_screen(&a, SCREEN_BY_DRAWDOWN, &d);
    if (!err)
        err = print_screen(&a, SCREEN_BY_CHANGE, &d);
    if (!err && r->steps[DAILY_BACKTEST] != DAILY_STEP_DONE)
        err = diag_set(&d, ERR_INTERNAL, "the backtest failed: %s", r->backtest_error);
    if (!err)
        print_backtest(r);
    if (!err && r->report_key[0])
        printf("Report: %s/%s (open it in a browser)\n", a.os->location, r->report_key);
    free(r);
    if (!err) {
        printf("Results: %s/results/screen/latest.csv (the full ranking), and top_candidates.csv "
               "(every date), closes.csv, bars-1y.csv, last_run.json, backtest/ next to screen/\n",
               a.os->location);
        printf("Try: screener screen --help, screener screen --by change --top 20 --format csv\n");
        app_release(&a);
        return 0;
    }
fail:
    rc = app_fail(&a, err, &d);
    app_release(&a);
    return rc;
}
