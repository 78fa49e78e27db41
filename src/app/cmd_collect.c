/* screener collect - fetch daily bars for the universe from Alpaca into the store. */
#include "app/app.h"
#include "aws/secrets.h"
#include "base/date.h"
#include "collect/universe.h"
#include "daily/daily.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener collect [options] [SYMBOL...]\n\n"
    "Fetch daily bars from the Alpaca Market Data API into the store: each symbol from the day\n"
    "after its last stored bar (or --history-days back) up to the last trading day whose bar\n"
    "is there (16:20 New York time), plus corporate actions: splits, unit splits and stock\n"
    "dividends as split facts, so that screens adjust for them, and symbol changes, so that a\n"
    "renamed company's history continues under its new symbol (docs/definitions.md).\n"
    "A day's bar keeps changing until 20:00: bars fetched before 20:15 New York of their day\n"
    "are provisional, and every run fetches again the last SCREENER_SETTLE_DAYS (default 3)\n"
    "trading days and every provisional day.  Run it at 16:30 New York (provisional numbers,\n"
    "the day's push) and at 20:30 (the evening run: final numbers, no second push).\n"
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
    "      --no-splits          do not fetch corporate actions (split facts, symbol changes)\n"
    "      --no-progress        no progress line on a terminal\n" APP_COMMON_HELP
    "\nAfter the bars, the Alpaca account's positions are stored as the day's portfolio\n"
    "snapshot and the sell signal is checked ('screener portfolio --help'); a failure there\n"
    "is logged and does not fail the collection.  SCREENER_PORTFOLIO=0 skips it.\n"
    "\nThe results' top-candidate history gets every stored date it lacks (past picks from the\n"
    "first day of a backfill), the default backtest over the stored history is refreshed into\n"
    "results/backtest/ (docs/backtest.md), and, last, the HTML report of the screened day is\n"
    "written to results/report/YYYY-MM-DD.html and latest.html ('screener report --help'); a\n"
    "failure there is logged.\n"
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
    struct daily_opts o;
    daily_opts_default(&o);
    struct collect_opts co = o.collect;
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
        struct app_progress p;
        app_progress_start(&p, progress, &co);
        o.collect = co;
        o.symbols = symbols;
        o.n = n;
        struct daily_report r;
        err = daily_run(a.os, a.bs, &o, &r, &d);
        app_progress_end(&p);
        const struct run_counts *c = &r.counts;
        char end[DATE_STRLEN + 1];
        date_format(c->end, end);
        if (!err || c->symbols)
            printf("Collected up to %s: %zu symbols (%zu already up to date), %zu new bars, "
                   "%zu already stored, %zu new split facts, %zu new symbol changes\n"
                   "Requests: %llu for %zu bars (floor %zu), %llu retries, %llu rate-limited; "
                   "%.1f s\n",
                   end, c->symbols, c->symbols_current, c->bars_new, c->bars_same, c->splits_new,
                   c->symbol_changes_new, (unsigned long long)c->requests, c->bars_received,
                   r.stats.request_floor, (unsigned long long)c->retries,
                   (unsigned long long)c->rate_limited, (double)c->duration_ms / 1000.0);
        app_print_run_details(c);
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
