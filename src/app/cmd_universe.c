/* screener universe - fetch the Russell 1000 holdings and keep them as the default universe. */
#include "app/app.h"
#include "aws/secrets.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/alpaca_auth.h"
#include "codec/json.h"
#include "collect/universe.h"
#include "net/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define ISHARES_IWB_URL                                                                            \
    "https://www.ishares.com/us/products/239707/ishares-russell-1000-etf/"                         \
    "1467271812596.ajax?fileType=csv&fileName=IWB_holdings&dataType=fund"
#define ALPACA_PAPER_URL "https://paper-api.alpaca.markets"

static const char help[] =
    "usage: screener universe fetch [options]\n"
    "       screener universe show [options]\n\n"
    "fetch: download the iShares Russell 1000 ETF (IWB) holdings, keep the equity rows, map\n"
    "iShares tickers to Alpaca symbols (BRKB -> BRK.B) using Alpaca's asset list when\n"
    "credentials are set, and store the result as the default universe of 'screener collect'\n"
    "(" APP_UNIVERSE_KEY " in the store; the raw file is kept as " APP_HOLDINGS_KEY "), and\n"
    "keep a dated snapshot of the membership (" APP_UNIVERSE_SNAPSHOTS "DATE.txt) for\n"
    "'screener backtest --universe-asof'.\n"
    "show: print the stored universe.\n\n"
    "Options:\n"
    "      --url URL            holdings CSV to download (default: $SCREENER_UNIVERSE_URL,\n"
    "                           else the iShares IWB file)\n"
    "      --no-resolve         do not ask Alpaca's asset list; use the built-in share-class\n"
    "                           table only\n"
    "      --as-of DATE         date the snapshot (default: today in New York, never later),\n"
    "                           e.g. for the holdings of a past date\n" APP_COMMON_HELP
    "\nEnvironment: APCA_API_KEY_ID, APCA_API_SECRET_KEY and APCA_API_BASE_URL (trading API,\n"
    "default the paper host) for the asset list.  When the asset list cannot be read (a key\n"
    "the host refuses, the host out of reach), a warning says so and the built-in table maps\n"
    "the share classes.\n";

enum { OPT_URL = OPT_FIRST_FREE_, OPT_NO_RESOLVE, OPT_AS_OF };

struct got {
    int err;
    struct diag d;
    struct buf body;
};

static void on_done(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct got *g = ctx;
    g->err = err;
    g->d = *d;
    if (!err) {
        g->body = resp->body;
        memset(&resp->body, 0, sizeof resp->body);
    }
}

/* GET url with retries; the body goes to g->body. */
static int get(struct http_client *http, const char *url, const char *const *headers,
               size_t nheaders, struct got *g, struct diag *d)
{
    struct fetch_opts fo;
    fetch_opts_default(&fo);
    fo.concurrency = 1;
    fo.timeout_ms = 60000;
    struct fetch *f;
    int err = fetch_new(http, &fo, &f, d);
    if (err)
        return err;
    struct fetch_req r = {
        .url = url, .headers = headers, .nheaders = nheaders, .done = on_done, .ctx = g};
    g->err = ERR_INTERNAL;
    err = fetch_submit(f, &r, d);
    if (!err)
        err = fetch_run(f, d);
    fetch_free(f);
    if (!err && g->err) {
        *d = g->d;
        err = g->err;
    }
    return err;
}

struct assets {
    char **v;
    size_t n;
};

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int known(void *ctx, const char *symbol)
{
    const struct assets *as = ctx;
    return bsearch(&symbol, as->v, as->n, sizeof *as->v, str_cmp) != NULL;
}

static int load_assets(struct http_client *http, struct assets *as, struct diag *d)
{
    /* The Alpaca key as `collect` finds it: the environment, then SSM where that is on.
     * Without one, the built-in share-class table is all there is (ERR_NOTFOUND). */
    const char *key = NULL, *secret = NULL;
    int err = secrets_load(SECRETS_ALPACA, d);
    if (err)
        return err;
    if (secrets_get(SECRET_ALPACA_KEY_ID, &key, d) ||
        secrets_get(SECRET_ALPACA_SECRET_KEY, &secret, d))
        return ERR_NOTFOUND;
    const char *base = getenv("APCA_API_BASE_URL");
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/assets?status=active&asset_class=us_equity",
             base && *base ? base : ALPACA_PAPER_URL);
    struct alpaca_auth auth;
    if ((err = alpaca_auth_init(&auth, key, secret, d)) != ERR_OK)
        return err;
    struct got g = {0};
    err = get(http, url, auth.lines, 2, &g, d);
    alpaca_auth_release(&auth);
    struct jv *root = NULL;
    if (!err)
        err = jv_parse(g.body.data, g.body.len, &root, d);
    if (!err && jv_type(root) != JV_ARRAY)
        err = diag_set(d, ERR_PARSE, "the asset list is not a JSON array");
    size_t n = err ? 0 : jv_len(root);
    as->v = n ? calloc(n, sizeof *as->v) : NULL;
    for (size_t i = 0; !err && i < n; i++) {
        const char *s = jv_str(jv_get(jv_at(root, i), "symbol"), NULL);
        if (s && !(as->v[as->n++] = strdup(s)))
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    if (as->n)
        qsort(as->v, as->n, sizeof *as->v, str_cmp);
    jv_free(root);
    buf_release(&g.body);
    return err;
}

static int fetch_universe(struct app *a, const char *url, int resolve, int32_t as_of,
                          struct diag *d)
{
    struct http_client *http;
    int err = http_client_new(NULL, &http, d);
    if (err)
        return err;
    struct got g = {0};
    struct assets as = {0};
    struct universe u = {0};
    struct buf list = BUF_INIT(UNIVERSE_INPUT_MAX);
    printf("Downloading the holdings from %.*s ...\n", (int)strcspn(url, "?"), url);
    err = get(http, url, NULL, 0, &g, d);
    int have_assets = 0;
    if (!err && resolve) {
        int e = load_assets(http, &as, d);
        if (e == ERR_OK)
            have_assets = 1;
        else if (e == ERR_NOTFOUND)
            fprintf(stderr,
                    "%s: note: no Alpaca credentials; share classes mapped by the "
                    "built-in table only\n",
                    a->prog);
        else if (e == ERR_NOMEM)
            err = diag_prefix(d, e, "asset list");
        else {
            /* The asset list only refines the share-class mapping: a key the trading host
             * refuses (a live key against the default paper host, or the reverse), or a host
             * out of reach, leaves the built-in table, not a failed fetch. */
            const char *base = getenv("APCA_API_BASE_URL");
            fprintf(stderr,
                    "%s: warning: Alpaca's asset list could not be read (%s); share classes "
                    "mapped by the built-in table only%s\n",
                    a->prog, d->text,
                    e == ERR_AUTH && !(base && *base)
                        ? ". A live account's key needs APCA_API_BASE_URL="
                          "https://api.alpaca.markets (the default is the paper host)"
                        : "");
            diag_clear(d);
        }
    }
    struct universe_opts uo = {.known = have_assets ? known : NULL, .known_ctx = &as};
    if (!err)
        err = universe_parse(g.body.data ? g.body.data : "", g.body.len, "holdings", &uo, &u, d);
    for (size_t i = 0; !err && i < u.nproblems; i++)
        fprintf(stderr, "holdings:%zu: warning: %s\n", u.problems[i].line, u.problems[i].text);
    if (!err)
        err =
            objstore_put(a->os, APP_HOLDINGS_KEY, g.body.data, g.body.len, OBJ_PUT_ALWAYS, NULL, d);
    if (!err)
        err = universe_format_list(&u, &list);
    if (!err)
        err = objstore_put(a->os, APP_UNIVERSE_KEY, list.data, list.len, OBJ_PUT_ALWAYS, NULL, d);
    /* The membership as of a date, never replaced by a later fetch: the point-in-time
     * universe of the backtest. */
    char day[DATE_STRLEN + 1], snap[OBJ_KEY_MAX];
    date_format(as_of, day);
    snprintf(snap, sizeof snap, "%s%s.txt", APP_UNIVERSE_SNAPSHOTS, day);
    if (!err)
        err = objstore_put(a->os, snap, list.data, list.len, OBJ_PUT_ALWAYS, NULL, d);
    if (!err)
        printf("Stored %zu symbols (%zu share classes mapped, %zu unresolved; %zu non-equity "
               "rows left out) as %s\n",
               u.n, u.mapped, u.unresolved, u.not_equity + u.unlisted, APP_UNIVERSE_KEY);
    if (!err)
        printf("Kept the snapshot of %s as %s\n", day, snap);
    buf_release(&list);
    universe_release(&u);
    for (size_t i = 0; i < as.n; i++)
        free(as.v[i]);
    free(as.v);
    buf_release(&g.body);
    http_client_free(http);
    return err;
}

static int show_universe(struct app *a, struct diag *d)
{
    struct buf data = BUF_INIT(UNIVERSE_INPUT_MAX);
    int err = objstore_get(a->os, APP_UNIVERSE_KEY, &data, NULL, d);
    if (err == ERR_NOTFOUND)
        err = diag_set(d, ERR_NOTFOUND, "no universe stored yet: run 'screener universe fetch'");
    if (!err)
        err = app_write_stdout(a, data.data ? data.data : "", data.len) ? ERR_IO : ERR_OK;
    buf_release(&data);
    return err;
}

int cmd_universe(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"no-resolve", no_argument, NULL, OPT_NO_RESOLVE},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener universe");
    const char *url = getenv("SCREENER_UNIVERSE_URL");
    int resolve = 1, opt, rc;
    const int32_t today = cal_ny_date(clock_wall_ms(), NULL);
    int32_t as_of = today;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_URL:
            url = optarg;
            break;
        case OPT_NO_RESOLVE:
            resolve = 0;
            break;
        case OPT_AS_OF:
            if ((rc = app_parse_date(&a, "--as-of", optarg, &as_of)))
                return rc;
            if (as_of > today) {
                /* The holdings of a day to come are not known: a typo, which would put the
                 * snapshot in force from a date nobody meant. */
                char day[DATE_STRLEN + 1];
                date_format(today, day);
                return app_usage_error(&a, "--as-of %s is after today in New York (%s)", optarg,
                                       day);
            }
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind >= argc)
        return app_usage_error(&a, "expected 'fetch' or 'show'");
    const char *what = argv[optind];
    if (strcmp(what, "fetch") != 0 && strcmp(what, "show") != 0)
        return app_usage_error(&a, "'%s': expected 'fetch' or 'show'", what);
    if (optind + 1 < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind + 1]);
    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    if (!err)
        err = strcmp(what, "fetch") == 0
                  ? fetch_universe(&a, url && *url ? url : ISHARES_IWB_URL, resolve, as_of, &d)
                  : show_universe(&a, &d);
    rc = err ? app_fail(&a, err, &d) : 0;
    app_release(&a);
    return rc;
}
