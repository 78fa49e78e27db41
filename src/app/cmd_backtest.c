/* screener backtest - replay the strategy over the stored history
 * (docs/definitions.md#the-backtest). */
#include "app/app.h"
#include "backtest/backtest.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/num.h"
#include "collect/universe.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener backtest [options]\n\n"
    "Replay the strategy over the stored history with only what was known on each date: every\n"
    "K-th date, buy the top candidates of the screen at the next open, sell at the next open\n"
    "when the best positions average the target (or at a stop, after a maximum hold), and\n"
    "value the portfolio at each close.  Prints the summary; docs/backtest.md has the rules.\n\n"
    "Options:\n"
    "      --from DATE          first date (default: the first stored one)\n"
    "      --to DATE            last date (default: the last stored one); for either, 'first'\n"
    "                           is the first stored date and 'last' the last one\n"
    "      --top N              positions held at most (default 10)\n"
    "      --every K            a signal every K trading dates (default 5)\n"
    "      --target PCT         sell all when the best positions average PCT % (default 100)\n"
    "      --signal-top M       ... the M best positions (default 5)\n"
    "      --stop PCT           sell a position at a loss of PCT % ('off': never, the default)\n"
    "      --max-hold H         sell a position after H closes ('off': never, the default)\n"
    "      --cost-bps C         cost of every buy and sell, basis points of notional (default 5)\n"
    "      --capital AMOUNT     starting cash (default 100000)\n"
    "      --window DAYS        the screen's peak window (default 180)\n"
    "      --min-bars N         bars in the window to be eligible (default 30)\n"
    "      --min-price PRICE    only stocks closing at or above PRICE\n"
    "      --min-volume N       only stocks averaging at least N shares a day in the window\n"
    "      --universe-asof      candidates only from the universe snapshot in force on each\n"
    "                           signal date ('screener universe fetch' keeps one per fetch)\n"
    "      --grid NAME=V1,V2..  sweep a parameter (top, every, target, signal-top, stop,\n"
    "                           max-hold, cost-bps, capital, window, min-bars, min-price,\n"
    "                           min-volume); one per --grid, every combination is run\n"
    "      --sort METRIC[:asc]  order the grid's rows by a summary metric (descending unless\n"
    "                           :asc), e.g. sharpe, total_return_pct, max_drawdown_pct\n"
    "      --format FORMAT      table (default), csv or json\n"
    "      --equity FILE        write date,equity,cash,positions,benchmark per date ('-':\n"
    "                           standard output, before the summary)\n"
    "      --trades FILE        write one row per position (docs/backtest.md has the\n"
    "                           columns; '-': standard output, before the "
    "summary)\n" APP_COMMON_HELP;

enum {
    OPT_FROM = OPT_FIRST_FREE_,
    OPT_TO,
    OPT_PARAM, /* the parameters, told apart by name */
    OPT_UNIVERSE_ASOF,
    OPT_GRID,
    OPT_SORT,
    OPT_FORMAT,
    OPT_EQUITY,
    OPT_TRADES,
};

#define GRID_MAX_PARAMS 12
#define GRID_MAX_RUNS   10000
#define GRID_MAX_VALUES 256

static const char *const param_names[] = {
    "top",      "every",   "target", "signal-top", "stop",      "max-hold",
    "cost-bps", "capital", "window", "min-bars",   "min-price", "min-volume",
};
#define NPARAMS (sizeof param_names / sizeof param_names[0])

static int param_index(const char *name, size_t len)
{
    for (size_t i = 0; i < NPARAMS; i++)
        if (strlen(param_names[i]) == len && strncmp(param_names[i], name, len) == 0)
            return (int)i;
    return -1;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s == '\0' || *end != '\0' || errno || !isfinite(*out) || s[0] == ' ';
}

/* Set parameter p from text s; flag names it in messages ("--top" or "--grid top"). */
static int set_param(const struct app *a, const char *flag, int p, const char *s,
                     struct backtest_opts *o)
{
    long v;
    double x;
    int rc = 0;
    switch (p) {
    case 0:
        if (!(rc = app_parse_long(a, flag, s, 1, BACKTEST_TOP_MAX, &v)))
            o->top = (int)v;
        return rc;
    case 1:
        if (!(rc = app_parse_long(a, flag, s, 1, 100000, &v)))
            o->every = (int)v;
        return rc;
    case 2:
        if (parse_number(s, &x) || x < -100 || x > 1e6)
            return app_usage_error(a, "%s: expected a percentage from -100 to 1000000, got '%s'",
                                   flag, s);
        o->target_pct = x;
        return 0;
    case 3:
        if (!(rc = app_parse_long(a, flag, s, 1, BACKTEST_TOP_MAX, &v)))
            o->signal_top = (int)v;
        return rc;
    case 4:
        if (strcmp(s, "off") == 0) {
            o->stop_pct = 0;
            return 0;
        }
        if (parse_number(s, &x) || x <= 0 || x > 100)
            return app_usage_error(a,
                                   "%s: expected a loss in percent above 0 and at most 100, "
                                   "or off, got '%s'",
                                   flag, s);
        o->stop_pct = x;
        return 0;
    case 5:
        if (strcmp(s, "off") == 0) {
            o->max_hold = 0;
            return 0;
        }
        if (!(rc = app_parse_long(a, flag, s, 1, 100000, &v)))
            o->max_hold = (int)v;
        return rc;
    case 6:
        if (parse_number(s, &x) || x < 0 || x >= 10000)
            return app_usage_error(a, "%s: expected basis points from 0 to below 10000, got '%s'",
                                   flag, s);
        o->cost_bps = x;
        return 0;
    case 7:
        if (parse_number(s, &x) || x <= 0 || x > 1e15)
            return app_usage_error(a, "%s: expected a positive amount (at most 1e15), got '%s'",
                                   flag, s);
        o->capital = x;
        return 0;
    case 8:
        if (!(rc = app_parse_long(a, flag, s, 1, SCREEN_WINDOW_MAX, &v)))
            o->screen.window_days = (int)v;
        return rc;
    case 9:
        if (!(rc = app_parse_long(a, flag, s, 1, SCREEN_WINDOW_MAX, &v)))
            o->screen.min_bars = (int)v;
        return rc;
    case 10:
        return app_parse_price(a, flag, s, &o->screen.min_price);
    case 11:
        if (!(rc = app_parse_long(a, flag, s, 0, 1000000000000L, &v)))
            o->screen.min_volume = v;
        return rc;
    }
    return app_usage_error(a, "%s: unknown parameter", flag);
}

/* The value of parameter p in o as plain decimal text, or "off" for a stop or maximum hold
 * that is off: the grid's columns (and JSON numbers or null, whatever form the user wrote
 * them in). */
static void param_text(int p, const struct backtest_opts *o, char *out, size_t cap)
{
    const int ints[] = {o->top,      o->every, 0, o->signal_top,         0,
                        o->max_hold, 0,        0, o->screen.window_days, o->screen.min_bars,
                        0,           0};
    switch (p) {
    case 2:
        snprintf(out, cap, "%.10g", o->target_pct);
        break;
    case 4:
        if (o->stop_pct > 0)
            snprintf(out, cap, "%.10g", o->stop_pct);
        else
            snprintf(out, cap, "off");
        break;
    case 5:
        if (o->max_hold > 0)
            snprintf(out, cap, "%d", o->max_hold);
        else
            snprintf(out, cap, "off");
        break;
    case 6:
        snprintf(out, cap, "%.10g", o->cost_bps);
        break;
    case 7:
        /* Whole amounts as written out, never "1e+15". */
        snprintf(out, cap, o->capital == floor(o->capital) ? "%.0f" : "%.15g", o->capital);
        break;
    case 10: {
        char t[NUM_FIXED_STRMAX];
        num_format_fixed(o->screen.min_price, t);
        snprintf(out, cap, "%s", t);
        break;
    }
    case 11:
        snprintf(out, cap, "%lld", (long long)o->screen.min_volume);
        break;
    default:
        snprintf(out, cap, "%d", ints[p]);
    }
}

struct grid_axis {
    int param;
    char *list; /* a copy of the values, split in place */
    char *values[GRID_MAX_VALUES];
    size_t n;
};

static int parse_grid(const struct app *a, char *arg, struct grid_axis *g, size_t ngrid)
{
    char *eq = strchr(arg, '=');
    if (!eq)
        return app_usage_error(a, "--grid '%s': expected NAME=V1,V2,... (e.g. top=5,10,20)", arg);
    int p = param_index(arg, (size_t)(eq - arg));
    if (p < 0)
        return app_usage_error(a,
                               "--grid '%.*s': not a parameter (expected top, every, target, "
                               "signal-top, stop, max-hold, cost-bps, capital, window, min-bars, "
                               "min-price or min-volume)",
                               (int)(eq - arg), arg);
    for (size_t i = 0; i < ngrid; i++)
        if (g[i].param == p)
            return app_usage_error(a, "--grid %s: given twice; list all its values in one --grid",
                                   param_names[p]);
    struct grid_axis *x = &g[ngrid];
    x->param = p;
    x->list = eq + 1;
    x->n = 0;
    char *s = eq + 1;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        if (x->n == GRID_MAX_VALUES)
            return app_usage_error(a, "--grid %s: more than %d values", param_names[p],
                                   GRID_MAX_VALUES);
        x->values[x->n++] = s;
        if (!comma)
            break;
        s = comma + 1;
    }
    /* Check every value now, so that a typo fails before the run. */
    char flag[64];
    snprintf(flag, sizeof flag, "--grid %s", param_names[p]);
    struct backtest_opts scratch;
    backtest_opts_default(&scratch);
    for (size_t i = 0; i < x->n; i++) {
        int rc = set_param(a, flag, p, x->values[i], &scratch);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the point-in-time universe ---- */

struct snapshots {
    struct app *a;
    int32_t *dates;
    char **keys;
    size_t n;
};

static int load_snapshot(void *ctx, size_t i, struct strvec *symbols, struct diag *d)
{
    struct snapshots *s = ctx;
    struct buf data = BUF_INIT(UNIVERSE_INPUT_MAX);
    struct universe u = {0};
    int err = objstore_get(s->a->os, s->keys[i], &data, NULL, d);
    if (!err)
        err = universe_parse(data.data ? data.data : "", data.len, s->keys[i], NULL, &u, d);
    for (size_t k = 0; !err && k < u.n; k++)
        err = strvec_push(symbols, u.v[k].symbol) ? diag_set(d, ERR_NOMEM, "out of memory") : 0;
    if (!err)
        log_debug("universe snapshot", LF_STR("key", s->keys[i]), LF_INT("symbols", u.n));
    universe_release(&u);
    buf_release(&data);
    return err;
}

static int list_snapshots(struct app *a, struct snapshots *s, struct diag *d)
{
    struct strvec keys = STRVEC_INIT;
    int err = objstore_list(a->os, APP_UNIVERSE_SNAPSHOTS, &keys, d);
    if (err == ERR_NOTFOUND)
        err = ERR_OK;
    strvec_sort(&keys);
    s->dates = keys.n ? calloc(keys.n, sizeof *s->dates) : NULL;
    s->keys = keys.n ? calloc(keys.n, sizeof *s->keys) : NULL;
    const size_t plen = strlen(APP_UNIVERSE_SNAPSHOTS);
    for (size_t i = 0; !err && i < keys.n; i++) {
        const char *k = keys.v[i];
        int32_t date;
        if (!s->dates || !s->keys) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
        } else if (strlen(k) != plen + DATE_STRLEN + 4 || strcmp(k + plen + DATE_STRLEN, ".txt") ||
                   date_parse(k + plen, DATE_STRLEN, &date)) {
            log_warn("not a universe snapshot: skipped", LF_STR("key", k));
        } else {
            s->dates[s->n] = date;
            s->keys[s->n++] = keys.v[i];
            keys.v[i] = NULL;
        }
    }
    strvec_release(&keys);
    return err;
}

static void free_snapshots(struct snapshots *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->dates);
}

/* ---- output ---- */

struct files {
    struct buf equity, trades;
    int want_equity, want_trades;
};

static int on_day(void *ctx, const struct backtest_day *day)
{
    struct files *f = ctx;
    return f->want_equity ? backtest_equity_csv(&f->equity, day) : ERR_OK;
}

static int on_trade(void *ctx, const struct backtest_trade *t)
{
    struct files *f = ctx;
    return f->want_trades ? backtest_trade_csv(&f->trades, t) : ERR_OK;
}

/* Write a whole file: '-' is standard output; a path that is there and is not a plain file
 * (a device such as /dev/stdout, a pipe, a symbolic link) is written in place, since a rename
 * would replace the device or the link itself; anything else goes to a temporary beside it,
 * then a rename, so that a reader never sees half of it. */
static int write_file(const struct app *a, const char *path, const struct buf *b)
{
    if (strcmp(path, "-") == 0)
        return app_write_stdout(a, b->data ? b->data : "", b->len);
    struct stat sb;
    int in_place = lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode);
    char tmp[4096];
    if (!in_place &&
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        fprintf(stderr, "%s: error: '%s': path too long\n", a->prog, path);
        return EXIT_USAGE;
    }
    FILE *f = fopen(in_place ? path : tmp, "w");
    int bad = !f || fwrite(b->data ? b->data : "", 1, b->len, f) != b->len;
    int e = errno;
    if (f && fclose(f) && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && !in_place && rename(tmp, path)) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        fprintf(stderr, "%s: error: cannot write '%s': %s\n", a->prog, path, strerror(e));
        if (!in_place)
            unlink(tmp);
        return EXIT_FAIL;
    }
    return 0;
}

struct order {
    const struct backtest_summary *sum;
    size_t row;
    int metric, asc;
};

static int order_cmp(const void *pa, const void *pb)
{
    const struct order *a = pa, *b = pb;
    double x = backtest_metric_value(a->sum, a->metric);
    double y = backtest_metric_value(b->sum, b->metric);
    /* Undefined values last, whatever the direction; then the grid's own order. */
    if (isnan(x) != isnan(y))
        return isnan(x) ? 1 : -1;
    if (!isnan(x) && x != y)
        return (x < y) == a->asc ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

int cmd_backtest(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"top", required_argument, NULL, OPT_PARAM},
        {"every", required_argument, NULL, OPT_PARAM},
        {"target", required_argument, NULL, OPT_PARAM},
        {"signal-top", required_argument, NULL, OPT_PARAM},
        {"stop", required_argument, NULL, OPT_PARAM},
        {"max-hold", required_argument, NULL, OPT_PARAM},
        {"cost-bps", required_argument, NULL, OPT_PARAM},
        {"capital", required_argument, NULL, OPT_PARAM},
        {"window", required_argument, NULL, OPT_PARAM},
        {"min-bars", required_argument, NULL, OPT_PARAM},
        {"min-price", required_argument, NULL, OPT_PARAM},
        {"min-volume", required_argument, NULL, OPT_PARAM},
        {"universe-asof", no_argument, NULL, OPT_UNIVERSE_ASOF},
        {"grid", required_argument, NULL, OPT_GRID},
        {"sort", required_argument, NULL, OPT_SORT},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"equity", required_argument, NULL, OPT_EQUITY},
        {"trades", required_argument, NULL, OPT_TRADES},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener backtest");
    struct backtest_opts base;
    backtest_opts_default(&base);
    enum backtest_format format = BACKTEST_FORMAT_TABLE;
    const char *from = NULL, *to = NULL, *equity = NULL, *trades = NULL, *sort = NULL;
    struct grid_axis grid[GRID_MAX_PARAMS];
    size_t ngrid = 0;
    int given[NPARAMS] = {0};
    int opt, rc, idx;
    while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_FROM:
            from = optarg;
            break;
        case OPT_TO:
            to = optarg;
            break;
        case OPT_PARAM: {
            int p = param_index(longopts[idx].name, strlen(longopts[idx].name));
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", longopts[idx].name);
            if ((rc = set_param(&a, flag, p, optarg, &base)))
                return rc;
            given[p] = 1;
            break;
        }
        case OPT_UNIVERSE_ASOF:
            base.universe_asof = 1;
            break;
        case OPT_GRID:
            if (ngrid == GRID_MAX_PARAMS)
                return app_usage_error(&a, "--grid: at most %d parameters", GRID_MAX_PARAMS);
            if ((rc = parse_grid(&a, optarg, grid, ngrid)))
                return rc;
            ngrid++;
            break;
        case OPT_SORT:
            sort = optarg;
            break;
        case OPT_FORMAT:
            if (backtest_format_parse(optarg, &format))
                return app_usage_error(&a, "--format: expected table, csv or json, got '%s'",
                                       optarg);
            break;
        case OPT_EQUITY:
            equity = optarg;
            break;
        case OPT_TRADES:
            trades = optarg;
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
    for (size_t i = 0; i < ngrid; i++)
        if (given[grid[i].param])
            return app_usage_error(&a, "--%s and --grid %s: give one or the other",
                                   param_names[grid[i].param], param_names[grid[i].param]);
    if (ngrid && (equity || trades))
        return app_usage_error(&a, "--equity and --trades write one run: not with --grid");
    int sort_metric = -1, sort_asc = 0;
    if (sort) {
        char name[64];
        const char *colon = strchr(sort, ':');
        size_t len = colon ? (size_t)(colon - sort) : strlen(sort);
        if (colon && strcmp(colon, ":asc") == 0)
            sort_asc = 1;
        else if (colon && strcmp(colon, ":desc") != 0)
            return app_usage_error(&a, "--sort '%s': expected METRIC, METRIC:asc or METRIC:desc",
                                   sort);
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), sort);
        if ((sort_metric = backtest_metric_index(name)) < 0)
            return app_usage_error(&a,
                                   "--sort '%s': not a metric (expected one of start, end, "
                                   "trading_days, final_equity, total_return_pct, cagr_pct, "
                                   "vol_pct, sharpe, max_drawdown_pct, trades, win_rate_pct, "
                                   "avg_hold_days, exposure_pct, benchmark_return_pct)",
                                   name);
    }

    /* The runs: every combination of the grid's values, the first --grid varying slowest. */
    size_t nruns = 1;
    for (size_t i = 0; i < ngrid; i++) {
        nruns *= grid[i].n;
        if (nruns > GRID_MAX_RUNS)
            return app_usage_error(&a, "--grid: more than %d combinations", GRID_MAX_RUNS);
    }
    struct backtest_opts *runs = calloc(nruns, sizeof *runs);
    struct backtest_summary *sums = calloc(nruns, sizeof *sums);
    const char **values = calloc(nruns * (ngrid ? ngrid : 1), sizeof *values);
    char(*texts)[32] = calloc(nruns * (ngrid ? ngrid : 1), sizeof *texts);
    const char *names[GRID_MAX_PARAMS];
    struct order *ord = calloc(nruns, sizeof *ord);
    struct backtest_summary *sorted = calloc(nruns, sizeof *sorted);
    const char **sorted_values = calloc(nruns * (ngrid ? ngrid : 1), sizeof *sorted_values);
    struct files files = {BUF_INIT((size_t)1 << 30), BUF_INIT((size_t)1 << 30), equity != NULL,
                          trades != NULL};
    struct snapshots snaps = {&a, NULL, NULL, 0};
    struct diag d = {{0}};
    int err = ERR_OK;
    rc = 0;
    if (!runs || !sums || !values || !texts || !ord || !sorted || !sorted_values) {
        err = diag_set(&d, ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < ngrid; i++)
        names[i] = param_names[grid[i].param];
    for (size_t k = 0; k < nruns; k++) {
        runs[k] = base;
        size_t rest = k;
        for (size_t i = ngrid; i-- > 0;) {
            const char *v = grid[i].values[rest % grid[i].n];
            rest /= grid[i].n;
            set_param(&a, "--grid", grid[i].param, v, &runs[k]); /* checked when parsed */
        }
        for (size_t i = 0; i < ngrid; i++) {
            param_text(grid[i].param, &runs[k], texts[k * ngrid + i], sizeof texts[0]);
            values[k * ngrid + i] = texts[k * ngrid + i];
        }
        if (backtest_opts_check(&runs[k], &d)) {
            rc = app_usage_error(&a, "%s", d.text);
            goto done;
        }
    }

    /* The dates are part of the command line: checked before the store is read. */
    int32_t first, last, lo, hi;
    struct app_range range;
    if ((rc = app_range_parse(&a, from, to, &range)))
        goto done;
    if ((err = app_open_store(&a, &d)))
        goto fail;
    app_read_once(&a);
    if ((err = barstore_date_range(a.bs, &first, &last, NULL, &d)))
        goto fail;
    if ((err = app_range_resolve(&range, first, last, &lo, &hi, &d)))
        goto fail;
    struct backtest_universe u = {NULL, 0, load_snapshot, &snaps};
    if (base.universe_asof) {
        if ((err = list_snapshots(&a, &snaps, &d)))
            goto fail;
        if (snaps.n == 0) {
            err = diag_set(&d, ERR_NOTFOUND,
                           "--universe-asof: no universe snapshot stored (under %s); "
                           "'screener universe fetch' keeps one each time",
                           APP_UNIVERSE_SNAPSHOTS);
            goto fail;
        }
        u.dates = snaps.dates;
        u.n = snaps.n;
    }
    struct backtest_sink sink = {on_day, on_trade, &files};
    struct backtest_stats st;
    if (files.want_equity)
        buf_puts(&files.equity, BACKTEST_EQUITY_HEADER);
    if (files.want_trades)
        buf_puts(&files.trades, BACKTEST_TRADES_HEADER);
    err = backtest_run(a.bs, lo, hi, runs, nruns, ngrid ? NULL : &sink,
                       base.universe_asof ? &u : NULL, sums, &st, &d);
    if (err)
        goto fail;
    log_info("backtest finished", LF_INT("runs", nruns), LF_INT("screens", st.screens),
             LF_INT("days_read", st.days_read), LF_INT("bars_read", st.bars_read),
             LF_INT("ranks", st.ranks));
    if (equity && (rc = write_file(&a, equity, &files.equity)))
        goto done;
    if (trades && (rc = write_file(&a, trades, &files.trades)))
        goto done;

    for (size_t k = 0; k < nruns; k++)
        ord[k] = (struct order){&sums[k], k, sort_metric, sort_asc};
    if (sort_metric >= 0)
        qsort(ord, nruns, sizeof *ord, order_cmp);
    for (size_t k = 0; k < nruns; k++) {
        sorted[k] = sums[ord[k].row];
        for (size_t i = 0; i < ngrid; i++)
            sorted_values[k * ngrid + i] = values[ord[k].row * ngrid + i];
    }
    char warn1[256], warn2[256], warn3[400];
    const char *warnings[3];
    size_t nwarn = 0;
    if (!base.universe_asof) {
        snprintf(warn1, sizeof warn1,
                 "candidates come from every stored symbol, today's universe: the result "
                 "carries survivorship bias (--universe-asof uses the snapshots in force)");
        warnings[nwarn++] = warn1;
    }
    size_t without = 0;
    for (size_t k = 0; k < nruns; k++)
        if (sums[k].signals_without_universe > without)
            without = sums[k].signals_without_universe;
    if (without) {
        char day[DATE_STRLEN + 1];
        date_format(snaps.dates[0], day);
        snprintf(warn2, sizeof warn2,
                 "%zu signal dates before the first universe snapshot (%s) had no candidates",
                 without, day);
        warnings[nwarn++] = warn2;
    }
    /* A run that never held anything says why, as the screen does when no stock is eligible. */
    if (!ngrid && sums[0].signal_dates == 0) {
        snprintf(warn3, sizeof warn3,
                 "nothing was bought: no signal date (the range holds %zu date%s, and a signal "
                 "needs a later date to buy at)",
                 sums[0].trading_days, sums[0].trading_days == 1 ? "" : "s");
        warnings[nwarn++] = warn3;
    } else if (!ngrid && sums[0].exposure_pct == 0 && sums[0].buys_dropped == 0 && !without) {
        snprintf(warn3, sizeof warn3,
                 "nothing was bought: no stock was eligible on %s %zu signal date%s (a stock "
                 "needs a bar on the date and --min-bars %d bars in the --window of %d days%s)",
                 sums[0].signal_dates == 1 ? "the" : "any of the", sums[0].signal_dates,
                 sums[0].signal_dates == 1 ? "" : "s", base.screen.min_bars,
                 base.screen.window_days,
                 base.screen.min_price || base.screen.min_volume
                     ? ", and to pass the --min-price and --min-volume filters"
                     : "");
        warnings[nwarn++] = warn3;
    }
    if (format == BACKTEST_FORMAT_CSV)
        for (size_t i = 0; i < nwarn; i++)
            fprintf(stderr, "%s: warning: %s\n", a.prog, warnings[i]);
    struct buf out = BUF_INIT((size_t)256 << 20);
    if (format == BACKTEST_FORMAT_TABLE && !ngrid) {
        char s1[DATE_STRLEN + 1], s2[DATE_STRLEN + 1];
        date_format(sums[0].start, s1);
        date_format(sums[0].end, s2);
        buf_printf(&out, "Backtest %s to %s: top %d every %d dates, target %g%% of the best %d", s1,
                   s2, base.top, base.every, base.target_pct, base.signal_top);
        /* The other parameters, when not their defaults, by their flags' names. */
        struct backtest_opts def;
        backtest_opts_default(&def);
        const char *sep = "; ";
        for (int p = 4; p < (int)NPARAMS; p++) {
            char v[64], dv[64];
            param_text(p, &base, v, sizeof v);
            param_text(p, &def, dv, sizeof dv);
            if (strcmp(v, dv) != 0) {
                buf_printf(&out, "%s%s %s", sep, param_names[p], v);
                sep = ", ";
            }
        }
        buf_printf(&out, "%s\n", base.universe_asof ? " (point-in-time universe)" : "");
    }
    err = backtest_write_summaries(&out, format, names, ngrid, sorted_values, sorted, nruns,
                                   warnings, nwarn);
    if (!err && app_write_stdout(&a, out.data ? out.data : "", out.len))
        rc = EXIT_FAIL;
    buf_release(&out);
    if (err)
        err = diag_set(&d, err, "formatting the summary: %s", err_str(err));
fail:
    if (err)
        rc = app_fail(&a, err, &d);
done:
    free(runs);
    free(sums);
    free(values);
    free(texts);
    free(ord);
    free(sorted);
    free(sorted_values);
    free_snapshots(&snaps);
    buf_release(&files.equity);
    buf_release(&files.trades);
    app_release(&a);
    return rc;
}
