/* alpaca-sim - serve the Alpaca simulator (src/sim/alpaca_sim.h) with the tests' faults
 * (tests/fakes/alpaca_fault.h) on 127.0.0.1 until SIGTERM or SIGINT.  Tests start it as a
 * separate process and read the port from its first line. */
#include "base/date.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/num.h"
#include "codec/split.h"
#include "net/ratelimit.h"
#include "fakes/alpaca_fault.h"
#include "sim/alpaca_sim.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#include "base/banned.h"

static const char usage[] =
    "usage: alpaca-sim [options]\n\n"
    "Serve a fake Alpaca (daily bars, corporate actions, assets, the trading account) and an\n"
    "iShares IWB holdings file from a deterministic synthetic market on 127.0.0.1.  Prints one\n"
    "line \"listening on 127.0.0.1:PORT\" once ready, then serves until SIGTERM or SIGINT.\n"
    "GET /__sim/stats shows the request counts, POST /__sim/reset zeroes them.\n\n"
    "Options:\n"
    "      --port N             port to listen on; 0 picks a free one (default 0)\n"
    "      --symbols N          symbols in the market (default 520)\n"
    "      --years N            years of daily bars (default 3)\n"
    "      --seed N             random seed of the market (default 42)\n"
    "      --last-day DATE      last day of the market, YYYY-MM-DD (default 2026-11-20)\n"
    "      --page-size N        most bars per page, whatever the limit (default 10000)\n"
    "      --rate-limit N/Ws    requests per sliding window, e.g. 200/60s or 20/500ms\n"
    "                           (default 200/60s)\n"
    "      --key-id ID          the API key id to accept (default SIMKEY)\n"
    "      --secret SECRET      the API secret to accept (default SIMSECRET)\n"
    "      --auth-status 401|403  answer to bad credentials (default 403)\n"
    "      --max-url N          longest request target before 414 (default 8192)\n"
    "      --slow-ms N          delay of the slow fault (default 15000)\n"
    "      --fault SPEC         inject a fault into bars requests by ordinal (repeatable):\n"
    "                           KIND@N or KIND@NxCOUNT, KIND one of 429, 500, 502, 503,\n"
    "                           slow, reset, truncate, malformed, html403, neverending,\n"
    "                           wrongtype, badprice, highlow, duptime\n"
    "      --missing SYM        never return bars for SYM (repeatable)\n"
    "      --strict-symbols     answer 400 \"invalid symbol\" to bars requests naming a symbol\n"
    "                           the market does not have (default: leave it out)\n"
    "      --paid-plan          no 15-minute delay on SIP bars (default: the free plan, which\n"
    "                           answers 403 to a request ending in the last 15 minutes)\n"
    "      --no-retry-after     429 answers carry only the X-RateLimit-* headers\n"
    "      --actions-delay N    corporate actions are published (processed) N trading days\n"
    "                           after their ex-date (default 0)\n"
    "      --settled            a day's bar is final as soon as it is served (default: it\n"
    "                           changes until 20:00 New York of its day, as Alpaca's does)\n"
    "      --split SPEC         inject a split SYM:YYYY-MM-DD:NEW:OLD (repeatable)\n"
    "      --unit-split SPEC    inject a unit split SYM:YYYY-MM-DD:NEW:OLD, listed under\n"
    "                           \"unit_splits\" with that effective date (repeatable)\n"
    "      --stock-dividend SPEC  inject a stock dividend SYM:YYYY-MM-DD:NEW:OLD (rate =\n"
    "                           NEW/OLD - 1: SYM:2026-06-10:1.05:1 is 5 percent; repeatable)\n"
    "      --rename SPEC        the market symbol OLD trades as NEW from the date on:\n"
    "                           OLD:NEW:YYYY-MM-DD, listed under \"name_changes\"; NEW's\n"
    "                           bars include OLD's history from the day after (repeatable)\n"
    "      --account FILE       the trading account: a JSON document {\"account\": {...},\n"
    "                           \"positions\": [{\"symbol\": \"AAA\", \"qty\": \"10\",\n"
    "                           \"avg_entry_price\": \"50\"}, ...]}; members given are served\n"
    "                           as given, the rest computed from the market's latest close\n"
    "                           (default: $100,000 in cash, no positions).  POST\n"
    "                           /__sim/portfolio and /__sim/positions replace it later\n"
    "      --trading-fault SPEC inject a fault into trading requests (account, positions,\n"
    "                           history) by their ordinal (repeatable): KIND (every one),\n"
    "                           KIND@N or KIND@NxCOUNT, KIND one of 401, 403, 429, 500, 503,\n"
    "                           malformed, missing, nulls, garbage.  POST\n"
    "                           /__sim/trading-fault sets one later (empty body: none)\n"
    "      --log-level LEVEL    debug (one line per request), info, warn, error (default info)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_PORT = 256,
    OPT_SYMBOLS,
    OPT_YEARS,
    OPT_SEED,
    OPT_LAST_DAY,
    OPT_PAGE_SIZE,
    OPT_RATE_LIMIT,
    OPT_KEY_ID,
    OPT_SECRET,
    OPT_AUTH_STATUS,
    OPT_MAX_URL,
    OPT_SLOW_MS,
    OPT_FAULT,
    OPT_MISSING,
    OPT_STRICT_SYMBOLS,
    OPT_PAID_PLAN,
    OPT_NO_RETRY_AFTER,
    OPT_SETTLED,
    OPT_ACTIONS_DELAY,
    OPT_SPLIT,
    OPT_UNIT_SPLIT,
    OPT_STOCK_DIVIDEND,
    OPT_RENAME,
    OPT_ACCOUNT,
    OPT_TRADING_FAULT,
    OPT_LOG_LEVEL,
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"symbols", required_argument, NULL, OPT_SYMBOLS},
    {"years", required_argument, NULL, OPT_YEARS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"last-day", required_argument, NULL, OPT_LAST_DAY},
    {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
    {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
    {"key-id", required_argument, NULL, OPT_KEY_ID},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"auth-status", required_argument, NULL, OPT_AUTH_STATUS},
    {"max-url", required_argument, NULL, OPT_MAX_URL},
    {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"missing", required_argument, NULL, OPT_MISSING},
    {"strict-symbols", no_argument, NULL, OPT_STRICT_SYMBOLS},
    {"paid-plan", no_argument, NULL, OPT_PAID_PLAN},
    {"no-retry-after", no_argument, NULL, OPT_NO_RETRY_AFTER},
    {"settled", no_argument, NULL, OPT_SETTLED},
    {"actions-delay", required_argument, NULL, OPT_ACTIONS_DELAY},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"unit-split", required_argument, NULL, OPT_UNIT_SPLIT},
    {"stock-dividend", required_argument, NULL, OPT_STOCK_DIVIDEND},
    {"rename", required_argument, NULL, OPT_RENAME},
    {"account", required_argument, NULL, OPT_ACCOUNT},
    {"trading-fault", required_argument, NULL, OPT_TRADING_FAULT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Growable arrays of the repeatable options. */
struct lists {
    struct alpaca_fault *faults;
    size_t nfaults;
    const char **missing;
    size_t nmissing;
    struct split *splits;
    size_t nsplits;
    struct split *units, *dividends;
    size_t nunits, ndividends;
    struct symchange *renames;
    size_t nrenames;
    struct alpaca_fault_trading *tfaults;
    size_t ntfaults;
    char *account;
};

static int parse_args(int argc, char **argv, struct alpaca_sim_opts *o,
                      struct alpaca_fault_opts *fo, struct lists *l, int *help, struct diag *d)
{
    int64_t years = 3, v;
    int32_t last = o->last_day;
    int err = ERR_OK, c;
    opterr = 0;
    while (!err && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            err = tool_parse_num("port", optarg, 0, 65535, &v, d);
            o->port = (int)v;
            break;
        case OPT_SYMBOLS:
            err = tool_parse_num("symbols", optarg, 1, 100000, &v, d);
            o->nsymbols = (size_t)v;
            break;
        case OPT_YEARS:
            err = tool_parse_num("years", optarg, 1, 50, &years, d);
            break;
        case OPT_SEED:
            err = tool_parse_num("seed", optarg, 0, INT64_MAX, &v, d);
            o->seed = (uint64_t)v;
            break;
        case OPT_LAST_DAY:
            if (date_parse(optarg, strlen(optarg), &last) != ERR_OK)
                err = diag_set(d, ERR_USAGE, "--last-day: expected YYYY-MM-DD, got '%s'", optarg);
            break;
        case OPT_PAGE_SIZE:
            err = tool_parse_num("page-size", optarg, 1, 10000, &v, d);
            o->page_size = (size_t)v;
            break;
        case OPT_RATE_LIMIT:
            if (ratelimit_parse(optarg, &o->rate_limit, &o->rate_window_ms, d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--rate-limit");
            break;
        case OPT_KEY_ID:
            o->key_id = optarg;
            break;
        case OPT_SECRET:
            o->secret = optarg;
            break;
        case OPT_AUTH_STATUS:
            if (strcmp(optarg, "401") == 0 || strcmp(optarg, "403") == 0)
                o->auth_status = optarg[2] == '1' ? 401 : 403;
            else
                err =
                    diag_set(d, ERR_USAGE, "--auth-status: expected 401 or 403, got '%s'", optarg);
            break;
        case OPT_MAX_URL:
            err = tool_parse_num("max-url", optarg, 16, 1 << 20, &v, d);
            o->max_url = (size_t)v;
            break;
        case OPT_SLOW_MS:
            err = tool_parse_num("slow-ms", optarg, 0, 3600000, &v, d);
            fo->slow_ms = v;
            break;
        case OPT_FAULT:
            err = tool_grow((void **)&l->faults, l->nfaults, sizeof *l->faults);
            if (!err && alpaca_fault_parse(optarg, &l->faults[l->nfaults], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--fault");
            if (!err)
                l->nfaults++;
            break;
        case OPT_PAID_PLAN:
            o->free_plan = 0;
            break;
        case OPT_NO_RETRY_AFTER:
            o->no_retry_after = 1;
            break;
        case OPT_SETTLED:
            o->settling = 0;
            break;
        case OPT_ACTIONS_DELAY: {
            char *e;
            long days = strtol(optarg, &e, 10);
            if (*e || e == optarg || days < 0 || days > 60)
                err = diag_set(d, ERR_USAGE, "--actions-delay: expected 0 to 60, got '%s'", optarg);
            else
                o->actions_delay = (int)days;
            break;
        }
        case OPT_STRICT_SYMBOLS:
            o->strict_symbols = 1;
            break;
        case OPT_MISSING:
            if (!bar_symbol_valid(optarg, strlen(optarg))) {
                err = diag_set(d, ERR_USAGE, "--missing: '%s' is not a symbol", optarg);
                break;
            }
            err = tool_grow((void **)&l->missing, l->nmissing, sizeof *l->missing);
            if (!err)
                l->missing[l->nmissing++] = optarg;
            break;
        case OPT_SPLIT:
            err = tool_grow((void **)&l->splits, l->nsplits, sizeof *l->splits);
            if (!err && alpaca_sim_split_parse(optarg, &l->splits[l->nsplits], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--split");
            if (!err)
                l->nsplits++;
            break;
        case OPT_UNIT_SPLIT:
            err = tool_grow((void **)&l->units, l->nunits, sizeof *l->units);
            if (!err && alpaca_sim_split_parse(optarg, &l->units[l->nunits], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--unit-split");
            if (!err)
                l->nunits++;
            break;
        case OPT_STOCK_DIVIDEND:
            err = tool_grow((void **)&l->dividends, l->ndividends, sizeof *l->dividends);
            if (!err && alpaca_sim_split_parse(optarg, &l->dividends[l->ndividends], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--stock-dividend");
            else if (!err &&
                     l->dividends[l->ndividends].new_rate <= l->dividends[l->ndividends].old_rate)
                err = diag_set(d, ERR_USAGE, "--stock-dividend: NEW must be more than OLD in '%s'",
                               optarg);
            if (!err)
                l->ndividends++;
            break;
        case OPT_RENAME:
            err = tool_grow((void **)&l->renames, l->nrenames, sizeof *l->renames);
            if (!err && alpaca_sim_rename_parse(optarg, &l->renames[l->nrenames], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--rename");
            if (!err)
                l->nrenames++;
            break;
        case OPT_ACCOUNT: {
            struct buf b = BUF_INIT((size_t)1 << 20);
            size_t n;
            if (file_read(optarg, &b, d) != ERR_OK) {
                buf_release(&b);
                err = diag_prefix(d, ERR_USAGE, "--account");
                break;
            }
            free(l->account);
            l->account = b.data ? buf_detach(&b, &n) : strdup("");
            if (!l->account)
                err = ERR_NOMEM;
            break;
        }
        case OPT_TRADING_FAULT:
            err = tool_grow((void **)&l->tfaults, l->ntfaults, sizeof *l->tfaults);
            if (!err && alpaca_fault_trading_parse(optarg, &l->tfaults[l->ntfaults], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--trading-fault");
            if (!err)
                l->ntfaults++;
            break;
        case OPT_LOG_LEVEL:
            err = tool_log_level(optarg, d);
            break;
        case 'h':
            *help = 1;
            return ERR_OK;
        case ':':
            err = diag_set(d, ERR_USAGE, "%s needs a value", argv[optind - 1]);
            break;
        default:
            err = diag_set(d, ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (err == ERR_NOMEM)
        return diag_set(d, err, "out of memory");
    if (err)
        return err;
    if (optind < argc)
        return diag_set(d, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    o->last_day = last;
    o->first_day = last - (int32_t)(365 * years);
    fo->faults = l->faults;
    fo->nfaults = l->nfaults;
    fo->missing = l->missing;
    fo->nmissing = l->nmissing;
    o->splits = l->splits;
    o->nsplits = l->nsplits;
    o->unit_splits = l->units;
    o->nunit_splits = l->nunits;
    o->stock_dividends = l->dividends;
    o->nstock_dividends = l->ndividends;
    o->renames = l->renames;
    o->nrenames = l->nrenames;
    fo->trading = l->tfaults;
    fo->ntrading = l->ntfaults;
    o->portfolio_json = l->account;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_INFO, LOG_FORMAT_AUTO);
    struct alpaca_sim_opts o;
    alpaca_sim_opts_default(&o);
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    struct alpaca_fault_set *fs = NULL;
    struct lists l = {0};
    struct diag d = {{0}};
    int help = 0, status = 1;
    struct alpaca_sim *sim = NULL;
    int err = parse_args(argc, argv, &o, &fo, &l, &help, &d);
    if (help) {
        fputs(usage, stdout);
        status = 0;
        goto out;
    }
    if (err) {
        fprintf(stderr, "alpaca-sim: %s\n(see alpaca-sim --help)\n", d.text);
        status = 2;
        goto out;
    }
    tool_block_stop_signals();
    int port;
    err = alpaca_fault_set_new(&fo, &fs, &d);
    if (!err) {
        o.hooks = alpaca_fault_set_hooks(fs);
        err = alpaca_sim_start(&o, &sim, &port, &d);
    }
    if (err) {
        fprintf(stderr, "alpaca-sim: %s\n", d.text);
        goto out;
    }
    for (size_t i = 0; i < l.nmissing; i++) {
        int found = 0;
        for (size_t k = 0; k < alpaca_sim_nsymbols(sim) && !found; k++)
            found = strcmp(alpaca_sim_symbol(sim, k), l.missing[i]) == 0;
        if (!found)
            log_warn("simulator: a missing symbol is not in the market anyway",
                     LF_STR("symbol", l.missing[i]));
    }
    int sig = tool_serve_until_stopped(port);
    log_info("alpaca-sim stopping", LF_INT("signal", sig));
    alpaca_sim_stop(sim);
    status = 0;
out:
    alpaca_fault_set_free(fs);
    free(l.faults);
    free(l.missing);
    free(l.splits);
    free(l.units);
    free(l.dividends);
    free(l.renames);
    free(l.tfaults);
    free(l.account);
    return status;
}
