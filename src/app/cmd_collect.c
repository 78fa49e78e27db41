/* screener collect - fetch daily bars for the universe from Alpaca into the store. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "app/portfolio.h"
#include "aws/secrets.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/emf.h"
#include "base/log.h"
#include "collect/collector.h"
#include "base/file.h"
#include "collect/universe.h"
#include "screen/results.h"
#include "screen/screen_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener collect [options] [SYMBOL...]\n\n"
    "Fetch daily bars from the Alpaca Market Data API into the store: each symbol from the day\n"
    "after its last stored bar (or --history-days back) up to the last trading day whose bar\n"
    "is final (16:20 New York time), plus split facts, so that screens adjust for splits.\n"
    "Many symbols share each request (10,000 bars a page); requests stay under the rate limit;\n"
    "429s, 5xx and network errors are retried. A rerun on the same day fetches nothing new.\n"
    "A run that is killed loses nothing stored, and the next run completes it.\n\n"
    "Symbols: the arguments, else --universe FILE, else the universe last fetched with\n"
    "'screener universe fetch'.\n\n"
    "Options:\n"
    "      --universe FILE      a plain list (one symbol a line, # comments) or an iShares\n"
    "                           IWB holdings CSV\n"
    "      --start DATE         fetch every symbol from DATE (a backfill), not incrementally\n"
    "      --end DATE           last day to fetch (default: the last final trading day)\n"
    "      --history-days N     days fetched for a symbol with no stored bars (default 365)\n"
    "      --feed FEED          sip (all US exchanges, default) or iex\n"
    "      --concurrency N      requests in flight (default 5)\n"
    "      --rate-limit SPEC    at most N requests per window: 200/60s (default), 20/500ms\n"
    "      --retries N          retries after 5xx, timeouts and resets (default 3)\n"
    "      --timeout SECONDS    per request (default 10)\n"
    "      --max-url BYTES      longest request URL (default 6000)\n"
    "      --no-splits          do not fetch split facts\n"
    "      --no-progress        no progress line on a terminal\n" APP_COMMON_HELP
    "\nAfter the bars, the Alpaca account's positions are stored as the day's portfolio\n"
    "snapshot and the sell signal is checked ('screener portfolio --help'); a failure there\n"
    "is logged and does not fail the collection.  SCREENER_PORTFOLIO=0 skips it.\n"
    "\nEnvironment: APCA_API_KEY_ID, APCA_API_SECRET_KEY (required), APCA_API_DATA_URL\n"
    "(default https://data.alpaca.markets), APCA_API_BASE_URL (trading API, default the paper\n"
    "host).  Keys not in the environment are read from the SSM parameters\n"
    "/screener/alpaca/api_key and /screener/alpaca/secret_key when SSM is on: in Lambda, with\n"
    "SCREENER_SSM=1, or when AWS_ENDPOINT_URL_SSM is set (SCREENER_SSM=0: never);\n"
    "SCREENER_SSM_PREFIX replaces /screener (e.g. /screener/prod).\n"
    "\nExit codes: 0 done (data problems are reported and counted), 1 store or internal\n"
    "failure, 2 bad command line, 3 the API sent something unusable (e.g. pages that never\n"
    "end), 6 incomplete (some requests still failed; rerun), 7 credentials missing or refused.\n";

enum {
    OPT_UNIVERSE = OPT_FIRST_FREE_,
    OPT_START,
    OPT_END,
    OPT_HISTORY,
    OPT_FEED,
    OPT_CONCURRENCY,
    OPT_RATE,
    OPT_RETRIES,
    OPT_TIMEOUT,
    OPT_MAX_URL,
    OPT_NO_SPLITS,
    OPT_NO_PROGRESS,
};

struct progress {
    int enabled;
    int64_t last_us, start_us;
    int shown;
};

static void on_progress(void *ctx, const struct collect_stats *st)
{
    struct progress *p = ctx;
    if (!p->enabled)
        return;
    int64_t now = clock_mono_us();
    if (now - p->last_us < 200000)
        return;
    p->last_us = now;
    double frac = st->bars_expected ? (double)st->bars_received / (double)st->bars_expected : 0;
    if (frac > 1)
        frac = 1;
    double elapsed = (double)(now - p->start_us) / 1e6;
    char eta[32] = "";
    if (frac > 0.02 && frac < 1)
        snprintf(eta, sizeof eta, ", ETA %.0fs", elapsed / frac * (1 - frac));
    fprintf(stderr, "\rcollect: %zu/%zu symbols, %zu bars, %zu requests, %zu retries%s   ",
            st->symbols_done + st->symbols_current, st->symbols, st->bars_received,
            (size_t)st->fetch.requests, (size_t)st->fetch.retries, eta);
    p->shown = 1;
}

struct worst {
    double change;
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t date;
};

/* The newest day's full ranking by drawdown, kept for the results. */
struct latest {
    int32_t date;
    struct screen_row *rows;
    size_t n;
};

static int keep_latest(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct latest *l = ctx;
    l->date = date;
    if (!n)
        return ERR_OK;
    l->rows = malloc(n * sizeof *rows);
    if (!l->rows)
        return ERR_NOMEM;
    memcpy(l->rows, rows, n * sizeof *rows);
    l->n = n;
    return ERR_OK;
}

/* The worst one-day change among the ranked rows: what a screen by change with top 1 gives
 * (the same eligible symbols, those with an earlier bar; ties by symbol). */
static void find_worst(const struct latest *l, struct worst *w)
{
    w->date = l->date;
    for (size_t i = 0; i < l->n; i++) {
        const struct screen_row *r = &l->rows[i];
        if (isnan(r->change_pct))
            continue;
        if (isnan(w->change) || r->change_pct < w->change ||
            (r->change_pct == w->change && strcmp(r->symbol, w->symbol) < 0)) {
            w->change = r->change_pct;
            memcpy(w->symbol, r->symbol, sizeof w->symbol);
        }
    }
}

/* Write what readers of the store get from this run (screen/results.h).  Returns the first
 * failure, each one logged. */
static int write_results(struct app *a, const struct latest *l, struct diag *d)
{
    static const char *const steps[] = {"screen", "top candidates", "exports"};
    int first = ERR_OK;
    for (int i = 0; i < 3; i++) {
        struct diag rd = {{0}};
        int err = i == 0 ? results_write_screen(a->os, l->date, l->rows, l->n, 1, &rd)
                  : i == 1
                      ? results_append_top(a->os, l->date, l->rows, l->n, RESULTS_TOP_DEFAULT, &rd)
                      : results_write_exports(a->os, a->bs, l->date, &rd);
        if (!err)
            continue;
        log_warn("results not written", LF_STR("results", steps[i]), LF_STR("error", rd.text));
        if (!first) {
            first = err;
            diag_set(d, err, "results (%s) not written: %s", steps[i], rd.text);
        }
    }
    return first;
}

/* The run record, written whatever happened: a failed run is worth knowing about most. */
static int write_run(struct app *a, const struct collect_stats *st, int32_t date, int err,
                     const struct diag *d, struct diag *rd)
{
    struct results_run r = {
        .finished_ms = clock_wall_ms(),
        .date = date,
        .end = st->end,
        .complete = err == ERR_OK,
        .symbols = st->symbols,
        .symbols_fetched = st->symbols_planned - st->symbols_failed - st->symbols_not_attempted,
        .symbols_failed = st->symbols_failed,
        .bars_new = st->bars_new,
        .requests = st->fetch.requests,
        .retries = st->fetch.retries,
        .errors = st->bars_bad + st->bars_duplicate + st->bars_conflict + st->symbols_no_data +
                  st->symbols_failed + (err ? 1 : 0),
        .duration_ms = st->elapsed_ms,
    };
    if (err) { /* a longer message is cut, with "..." as diag does */
        const char *text = d->text[0] ? d->text : err_str(err);
        size_t n = strlen(text);
        if (n < sizeof r.error) {
            memcpy(r.error, text, n + 1);
        } else {
            memcpy(r.error, text, sizeof r.error - 4);
            memcpy(r.error + sizeof r.error - 4, "...", 4);
        }
    }
    int werr = results_write_run(a->os, &r, rd);
    if (werr)
        log_warn("results not written", LF_STR("results", "last run"), LF_STR("error", rd->text));
    return werr;
}

static void emit_metrics(const struct collect_stats *st, int err, const struct worst *w)
{
    double secs = (double)st->elapsed_ms / 1000.0;
    size_t fetched = st->symbols_planned - st->symbols_failed - st->symbols_not_attempted;
    struct emf_metric perf[] = {
        {"StocksPerSecond", "Count/Second", secs > 0 ? (double)fetched / secs : 0},
        {"Requests", "Count", (double)st->fetch.requests},
        {"Retries", "Count", (double)st->fetch.retries},
        {"RateLimited", "Count", (double)st->fetch.rate_limited},
        {"Errors", "Count",
         (double)(st->bars_bad + st->bars_duplicate + st->bars_conflict + st->symbols_no_data +
                  st->symbols_failed + (err ? 1 : 0))},
        {"BarsCollected", "Count", (double)st->bars_new},
        {"CollectDuration", "Milliseconds", (double)st->elapsed_ms},
    };
    struct emf_dim dims[] = {{"Function", "collector"}};
    emf_emit(EMF_NS_PERFORMANCE, dims, 1, perf, sizeof perf / sizeof perf[0]);
    if (w && !isnan(w->change)) {
        struct emf_metric biz[] = {{"WorstDailyDrawdown", "Percent", w->change}};
        emf_emit_business(biz, 1);
    }
}

int app_collect(struct app *a, const char *const *symbols, size_t n, const struct collect_opts *co,
                int flags, struct collect_stats *st, struct diag *d)
{
    struct progress p = {.enabled = (flags & APP_COLLECT_PROGRESS) && isatty(STDERR_FILENO),
                         .start_us = clock_mono_us()};
    struct collect_opts o = *co;
    o.on_progress = on_progress;
    o.ctx = &p;
    int err = collect_run(a->bs, symbols, n, &o, st, d);
    if (p.shown)
        fputs("\r\033[K", stderr);

    /* Screen the newest day once, in full by drawdown: the results are its rows, and its
     * worst one-day drop is the business metric.  A failure to write results fails the
     * command only when the collection itself went well: a collection error comes first. */
    struct worst w = {.change = NAN};
    struct latest l = {0};
    int rerr = ERR_OK;
    struct diag rd = {{0}};
    if (st->bars_new || !err) {
        struct screen_opts so;
        screen_opts_default(&so);
        so.by = SCREEN_BY_DRAWDOWN;
        so.top = 0;
        struct screen_run_stats rs;
        rerr = screen_run(a->bs, &so, INT32_MIN, INT32_MIN, keep_latest, &l, &rs, &rd);
        if (rerr == ERR_NOTFOUND) { /* nothing stored yet: nothing to rank */
            rerr = ERR_OK;
            l.date = 0;
        } else if (rerr) {
            if (!rd.text[0])
                diag_set(&rd, rerr, "%s", err_str(rerr));
            log_warn("results not written", LF_STR("results", "screen"), LF_STR("error", rd.text));
            diag_prefix(&rd, rerr, "results not written: screening the newest day");
        } else {
            find_worst(&l, &w);
            rerr = write_results(a, &l, &rd);
        }
    }
    if (!l.date) {
        int32_t first;
        struct diag ignored;
        if (barstore_date_range(a->bs, &first, &l.date, NULL, &ignored))
            l.date = 0;
    }
    if (!err && rerr) {
        err = rerr;
        diag_set(d, err, "%s", rd.text);
    }
    struct diag wd;
    int werr = write_run(a, st, l.date, err, d, &wd);
    if (!err && werr)
        err = diag_set(d, werr, "results (last run) not written: %s", wd.text);
    free(l.rows);
    if (flags & APP_COLLECT_QUIET) {
        if (flags & APP_COLLECT_PORTFOLIO)
            app_portfolio_after_collect(a, co->http, co->key_id, co->secret_key, co->deadline_ms);
        return err;
    }
    char end[DATE_STRLEN + 1], day[DATE_STRLEN + 1] = "";
    date_format(st->end, end);
    if (!isnan(w.change))
        date_format(w.date, day);
    log_summary(
        "collection finished", LF_BOOL("ok", err == ERR_OK), LF_STR("error", err ? d->text : ""),
        LF_STR("end", end), LF_INT("symbols", st->symbols),
        LF_INT("symbols_up_to_date", st->symbols_current),
        LF_INT("symbols_fetched", st->symbols_planned),
        LF_INT("symbols_no_data", st->symbols_no_data),
        LF_INT("closed_days_learned", st->closed_days_learned),
        LF_INT("recent_data_refusals", st->recent_data_refusals),
        LF_INT("symbols_failed", st->symbols_failed), LF_INT("bars_received", st->bars_received),
        LF_INT("bars_new", st->bars_new), LF_INT("bars_already_stored", st->bars_same),
        LF_INT("bars_bad", st->bars_bad), LF_INT("bars_duplicate", st->bars_duplicate),
        LF_INT("bars_conflict", st->bars_conflict), LF_INT("splits_new", st->splits_new),
        LF_INT("requests", st->fetch.requests), LF_INT("bar_requests", st->bar_requests),
        LF_INT("action_requests", st->action_requests), LF_INT("request_floor", st->request_floor),
        LF_INT("retries", st->fetch.retries), LF_INT("rate_limited", st->fetch.rate_limited),
        LF_INT("server_errors", st->fetch.server_errors), LF_INT("timeouts", st->fetch.timeouts),
        LF_INT("network_errors", st->fetch.network_errors), LF_INT("duration_ms", st->elapsed_ms),
        LF_DBL("worst_daily_change_pct", isnan(w.change) ? 0 : w.change),
        LF_STR("worst_daily_symbol", w.symbol), LF_STR("screen_date", day),
        LF_INT("symbols_not_attempted", st->symbols_not_attempted));
    emit_metrics(st, err, &w);
    /* The account's snapshot and the sell signal: logged, never a reason to fail the run. */
    if (flags & APP_COLLECT_PORTFOLIO)
        app_portfolio_after_collect(a, co->http, co->key_id, co->secret_key, co->deadline_ms);
    return err;
}

int app_load_universe(struct app *a, const char *file, struct universe *u, struct diag *d)
{
    struct buf data = BUF_INIT(UNIVERSE_INPUT_MAX);
    int err;
    const char *source = file;
    if (file) {
        err = file_read(file, &data, d);
        if (err) {
            buf_release(&data);
            return diag_prefix(d, err, "universe");
        }
    } else {
        source = APP_UNIVERSE_KEY;
        err = objstore_get(a->os, APP_UNIVERSE_KEY, &data, NULL, d);
        if (err == ERR_NOTFOUND) {
            buf_release(&data);
            return diag_set(d, ERR_USAGE,
                            "no universe: name symbols, pass --universe FILE, or run "
                            "'screener universe fetch' first");
        }
        if (err) {
            buf_release(&data);
            return err;
        }
    }
    err = universe_parse(data.data ? data.data : "", data.len, source, NULL, u, d);
    buf_release(&data);
    return err;
}

int cmd_collect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"universe", required_argument, NULL, OPT_UNIVERSE},
        {"start", required_argument, NULL, OPT_START},
        {"end", required_argument, NULL, OPT_END},
        {"history-days", required_argument, NULL, OPT_HISTORY},
        {"feed", required_argument, NULL, OPT_FEED},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"rate-limit", required_argument, NULL, OPT_RATE},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-url", required_argument, NULL, OPT_MAX_URL},
        {"no-splits", no_argument, NULL, OPT_NO_SPLITS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener collect");
    struct collect_opts co;
    collect_opts_default(&co);
    const char *universe_file = NULL, *rate = "200/60s";
    int progress = 1, opt, rc;
    long v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_UNIVERSE:
            universe_file = optarg;
            break;
        case OPT_START:
            if ((rc = app_parse_date(&a, "--start", optarg, &co.start)))
                return rc;
            break;
        case OPT_END:
            if ((rc = app_parse_date(&a, "--end", optarg, &co.end)))
                return rc;
            break;
        case OPT_HISTORY:
            if ((rc = app_parse_long(&a, "--history-days", optarg, 1, 36600, &v)))
                return rc;
            co.history_days = (int32_t)v;
            break;
        case OPT_FEED:
            if (strcmp(optarg, "sip") != 0 && strcmp(optarg, "iex") != 0)
                return app_usage_error(&a, "--feed: expected sip or iex, got '%s'", optarg);
            co.feed = optarg;
            break;
        case OPT_CONCURRENCY:
            if ((rc = app_parse_long(&a, "--concurrency", optarg, 1, 64, &v)))
                return rc;
            co.fetch.concurrency = (size_t)v;
            break;
        case OPT_RATE:
            rate = optarg;
            break;
        case OPT_RETRIES:
            if ((rc = app_parse_long(&a, "--retries", optarg, 0, 20, &v)))
                return rc;
            co.fetch.max_retries = (int)v;
            break;
        case OPT_TIMEOUT:
            if ((rc = app_parse_long(&a, "--timeout", optarg, 1, 600, &v)))
                return rc;
            co.fetch.timeout_ms = v * 1000;
            break;
        case OPT_MAX_URL:
            if ((rc = app_parse_long(&a, "--max-url", optarg, 256, 1 << 20, &v)))
                return rc;
            co.max_url = (size_t)v;
            break;
        case OPT_NO_SPLITS:
            co.skip_actions = 1;
            break;
        case OPT_NO_PROGRESS:
            progress = 0;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (co.start != INT32_MIN && co.end != INT32_MIN && co.start > co.end)
        return app_usage_error(&a, "--start is after --end");
    struct diag d = {{0}};
    size_t limit;
    int64_t window;
    if (ratelimit_parse(rate, &limit, &window, &d))
        return app_usage_error(&a, "--rate-limit: %s", d.text);
    const char *url = getenv("APCA_API_DATA_URL");
    if (url && *url)
        co.data_url = url;
    /* The Alpaca keys: the environment, else SSM Parameter Store when it is enabled; the
     * bot's token for the daily push in the same SSM call (not the webhook secret, which a
     * collector's role may not read). */
    int serr = secrets_load(SECRETS_ALPACA | SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN), &d);
    if (!serr)
        serr = secrets_get(SECRET_ALPACA_KEY_ID, &co.key_id, &d);
    if (!serr)
        serr = secrets_get(SECRET_ALPACA_SECRET_KEY, &co.secret_key, &d);
    if (serr)
        return app_fail(&a, serr, &d);

    struct universe u = {0};
    const char **symbols = NULL;
    size_t n = 0;
    struct ratelimit rl = {0};
    struct http_client *http = NULL;
    struct collect_stats st;
    int err = app_open_store(&a, &d);
    if (!err && optind < argc) {
        symbols = (const char **)(argv + optind);
        n = (size_t)(argc - optind);
        for (size_t i = 0; i < n; i++)
            if (!bar_symbol_valid(symbols[i], strlen(symbols[i]))) {
                err = diag_set(&d, ERR_USAGE, "'%s' is not a symbol", symbols[i]);
                break;
            }
    } else if (!err) {
        err = app_load_universe(&a, universe_file, &u, &d);
        for (size_t i = 0; !err && i < u.nproblems; i++)
            fprintf(stderr, "%s:%zu: warning: %s\n",
                    universe_file ? universe_file : APP_UNIVERSE_KEY, u.problems[i].line,
                    u.problems[i].text);
        symbols = u.n ? malloc(u.n * sizeof *symbols) : NULL;
        if (!err && !symbols)
            err = diag_set(&d, ERR_NOMEM, "out of memory");
        for (size_t i = 0; !err && i < u.n; i++)
            symbols[n++] = u.v[i].symbol;
    }
    if (!err)
        err = ratelimit_init(&rl, limit, window, &d);
    if (!err)
        err = http_client_new(NULL, &http, &d);
    if (!err) {
        co.fetch.limiter = &rl;
        co.http = http;
        err = app_collect(&a, symbols, n, &co,
                          APP_COLLECT_PORTFOLIO | (progress ? APP_COLLECT_PROGRESS : 0), &st, &d);
        struct diag pd = {{0}};
        if (!err && app_push(&a, http, &pd) != ERR_OK)
            log_error("the daily push failed", LF_STR("error", pd.text));
        char end[DATE_STRLEN + 1];
        date_format(st.end, end);
        if (!err || st.symbols)
            printf("Collected up to %s: %zu symbols (%zu already up to date), %zu new bars, "
                   "%zu already stored, %zu new split facts\n"
                   "Requests: %llu for %zu bars (floor %zu), %llu retries, %llu rate-limited; "
                   "%.1f s\n",
                   end, st.symbols, st.symbols_current, st.bars_new, st.bars_same, st.splits_new,
                   (unsigned long long)st.fetch.requests, st.bars_received, st.request_floor,
                   (unsigned long long)st.fetch.retries, (unsigned long long)st.fetch.rate_limited,
                   (double)st.elapsed_ms / 1000.0);
        size_t problems = st.bars_bad + st.bars_duplicate + st.bars_conflict + st.symbols_no_data +
                          st.splits_conflict;
        if (problems)
            printf("Data problems (reported above, not stored): %zu bad bars, %zu duplicates, "
                   "%zu conflicts, %zu symbols without data\n",
                   st.bars_bad, st.bars_duplicate, st.bars_conflict, st.symbols_no_data);
    }
    http_client_free(http);
    ratelimit_release(&rl);
    if (u.n)
        free(symbols);
    universe_release(&u);
    if (err) {
        rc = app_fail(&a, err, &d);
        app_release(&a);
        return rc;
    }
    app_release(&a);
    return 0;
}
