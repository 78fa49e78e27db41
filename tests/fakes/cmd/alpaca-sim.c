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
    "GET /__sim/stats shows the request counts, POST /__sim/reset zeroes them.\n\n";

/* The options being read: the simulator's and the faults', and growable arrays of the
 * repeatable ones. */
struct args {
    struct alpaca_sim_opts *o;
    struct alpaca_fault_opts *fo;
    int64_t years;
    const char *last_day;
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

static int set_rate_limit(void *ctx, char *v, struct diag *d)
{
    struct alpaca_sim_opts *o = ((struct args *)ctx)->o;
    return ratelimit_parse(v, &o->rate_limit, &o->rate_window_ms, d) ? ERR_USAGE : ERR_OK;
}

static int set_auth_status(void *ctx, char *v, struct diag *d)
{
    if (strcmp(v, "401") != 0 && strcmp(v, "403") != 0)
        return diag_set(d, ERR_USAGE, "expected 401 or 403, got '%s'", v);
    ((struct args *)ctx)->o->auth_status = v[2] == '1' ? 401 : 403;
    return ERR_OK;
}

static int set_fault(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = tool_grow((void **)&a->faults, a->nfaults, sizeof *a->faults);
    if (!err && (err = alpaca_fault_parse(v, &a->faults[a->nfaults], d)) == ERR_OK)
        a->nfaults++;
    return err;
}

static int set_missing(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    if (!bar_symbol_valid(v, strlen(v)))
        return diag_set(d, ERR_USAGE, "'%s' is not a symbol", v);
    int err = tool_grow((void **)&a->missing, a->nmissing, sizeof *a->missing);
    if (!err)
        a->missing[a->nmissing++] = v;
    return err;
}

/* One more split-like action SYM:YYYY-MM-DD:NEW:OLD into *v of *n. */
static int add_split(struct split **v, size_t *n, const char *s, struct diag *d)
{
    int err = tool_grow((void **)v, *n, sizeof **v);
    if (!err && (err = alpaca_sim_split_parse(s, &(*v)[*n], d)) == ERR_OK)
        (*n)++;
    return err;
}

static int set_split(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    return add_split(&a->splits, &a->nsplits, v, d);
}

static int set_unit_split(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    return add_split(&a->units, &a->nunits, v, d);
}

static int set_stock_dividend(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = add_split(&a->dividends, &a->ndividends, v, d);
    if (!err &&
        a->dividends[a->ndividends - 1].new_rate <= a->dividends[a->ndividends - 1].old_rate) {
        a->ndividends--;
        return diag_set(d, ERR_USAGE, "NEW must be more than OLD in '%s'", v);
    }
    return err;
}

static int set_rename(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = tool_grow((void **)&a->renames, a->nrenames, sizeof *a->renames);
    if (!err && (err = alpaca_sim_rename_parse(v, &a->renames[a->nrenames], d)) == ERR_OK)
        a->nrenames++;
    return err;
}

static int set_account(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    struct buf b = BUF_INIT((size_t)1 << 20);
    size_t n;
    int err = file_read(v, &b, d);
    if (err) {
        buf_release(&b);
        return err;
    }
    free(a->account);
    a->account = b.data ? buf_detach(&b, &n) : strdup("");
    return a->account ? ERR_OK : ERR_NOMEM;
}

static int set_trading_fault(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = tool_grow((void **)&a->tfaults, a->ntfaults, sizeof *a->tfaults);
    if (!err && (err = alpaca_fault_trading_parse(v, &a->tfaults[a->ntfaults], d)) == ERR_OK)
        a->ntfaults++;
    return err;
}

static int parse_args(int argc, char **argv, struct args *a, int *help, struct diag *d)
{
    struct alpaca_sim_opts *o = a->o;
    struct alpaca_fault_opts *fo = a->fo;
    const struct tool_opt opts[] = {
        TOOL_OPT_PORT(&o->port),
        TOOL_OPT_SIZE("symbols", "N", &o->nsymbols, 1, 100000,
                      "symbols in the market (default 520)"),
        TOOL_OPT_I64("years", "N", &a->years, 1, 50, "years of daily bars (default 3)"),
        TOOL_OPT_U64("seed", "N", &o->seed, 0, INT64_MAX, "random seed of the market (default 42)"),
        TOOL_OPT_STR("last-day", "DATE", &a->last_day,
                     "last day of the market, YYYY-MM-DD (default 2026-11-20)"),
        TOOL_OPT_SIZE("page-size", "N", &o->page_size, 1, 10000,
                      "most bars per page, whatever the limit (default 10000)"),
        TOOL_OPT_SET("rate-limit", "N/Ws", set_rate_limit,
                     "requests per sliding window, e.g. 200/60s or 20/500ms\n"
                     "(default 200/60s)"),
        TOOL_OPT_STR("key-id", "ID", &o->key_id, "the API key id to accept (default SIMKEY)"),
        TOOL_OPT_STR("secret", "SECRET", &o->secret,
                     "the API secret to accept (default SIMSECRET)"),
        TOOL_OPT_SET("auth-status", "401|403", set_auth_status,
                     "answer to bad credentials (default 403)"),
        TOOL_OPT_SIZE("max-url", "N", &o->max_url, 16, 1 << 20,
                      "longest request target before 414 (default 8192)"),
        TOOL_OPT_I64("latency-ms", "N", &o->latency_ms, 0, ALPACA_SIM_LATENCY_MAX_MS,
                     "hold every answer N ms, as the trip to Alpaca and its own\n"
                     "time cost a real request (default 0; POST\n"
                     "/__sim/latency?ms=N changes it)"),
        TOOL_OPT_I64("slow-ms", "N", &fo->slow_ms, 0, 3600000,
                     "delay of the slow fault (default 15000)"),
        TOOL_OPT_SET("fault", "SPEC", set_fault,
                     "inject a fault into bars requests by ordinal (repeatable):\n"
                     "KIND@N or KIND@NxCOUNT, KIND one of 429, 500, 502, 503,\n"
                     "slow, reset, truncate, malformed, html403, neverending,\n"
                     "wrongtype, badprice, highlow, duptime"),
        TOOL_OPT_SET("missing", "SYM", set_missing, "never return bars for SYM (repeatable)"),
        TOOL_OPT_FLAG("strict-symbols", &o->strict_symbols, 1,
                      "answer 400 \"invalid symbol\" to bars requests naming a symbol\n"
                      "the market does not have (default: leave it out)"),
        TOOL_OPT_FLAG("paid-plan", &o->free_plan, 0,
                      "no 15-minute delay on SIP bars (default: the free plan, which\n"
                      "answers 403 to a request ending in the last 15 minutes)"),
        TOOL_OPT_FLAG("no-retry-after", &o->no_retry_after, 1,
                      "429 answers carry only the X-RateLimit-* headers"),
        TOOL_OPT_INT("actions-delay", "N", &o->actions_delay, 0, 60,
                     "corporate actions are published (processed) N trading days\n"
                     "after their ex-date (default 0)"),
        TOOL_OPT_FLAG("settled", &o->settling, 0,
                      "a day's bar is final as soon as it is served (default: it\n"
                      "changes until 20:00 New York of its day, as Alpaca's does)"),
        TOOL_OPT_SET("split", "SPEC", set_split,
                     "inject a split SYM:YYYY-MM-DD:NEW:OLD (repeatable)"),
        TOOL_OPT_SET("unit-split", "SPEC", set_unit_split,
                     "inject a unit split SYM:YYYY-MM-DD:NEW:OLD, listed under\n"
                     "\"unit_splits\" with that effective date (repeatable)"),
        TOOL_OPT_SET("stock-dividend", "SPEC", set_stock_dividend,
                     "inject a stock dividend SYM:YYYY-MM-DD:NEW:OLD (rate =\n"
                     "NEW/OLD - 1: SYM:2026-06-10:1.05:1 is 5 percent; repeatable)"),
        TOOL_OPT_SET("rename", "SPEC", set_rename,
                     "the market symbol OLD trades as NEW from the date on:\n"
                     "OLD:NEW:YYYY-MM-DD, listed under \"name_changes\"; NEW's\n"
                     "bars include OLD's history from the day after (repeatable)"),
        TOOL_OPT_SET("account", "FILE", set_account,
                     "the trading account: a JSON document {\"account\": {...},\n"
                     "\"positions\": [{\"symbol\": \"AAA\", \"qty\": \"10\",\n"
                     "\"avg_entry_price\": \"50\"}, ...]}; members given are served\n"
                     "as given, the rest computed from the market's latest close\n"
                     "(default: $100,000 in cash, no positions).  POST\n"
                     "/__sim/portfolio and /__sim/positions replace it later"),
        TOOL_OPT_SET("trading-fault", "SPEC", set_trading_fault,
                     "inject a fault into trading requests (account, positions,\n"
                     "history) by their ordinal (repeatable): KIND (every one),\n"
                     "KIND@N or KIND@NxCOUNT, KIND one of 401, 403, 429, 500, 503,\n"
                     "malformed, missing, nulls, garbage.  POST\n"
                     "/__sim/trading-fault sets one later (empty body: none)"),
        TOOL_OPT_SET("log-level", "LEVEL", tool_log_level,
                     "debug (one line per request), info, warn, error (default info)"),
    };
    const struct tool_cmd c = {usage, opts, sizeof opts / sizeof opts[0], a};
    int err = tool_parse_args(&c, argc, argv, help, d);
    if (err || *help)
        return err;
    if (a->last_day && date_parse(a->last_day, strlen(a->last_day), &o->last_day) != ERR_OK)
        return diag_set(d, ERR_USAGE, "--last-day: expected YYYY-MM-DD, got '%s'", a->last_day);
    o->first_day = o->last_day - (int32_t)(365 * a->years);
    fo->faults = a->faults;
    fo->nfaults = a->nfaults;
    fo->missing = a->missing;
    fo->nmissing = a->nmissing;
    o->splits = a->splits;
    o->nsplits = a->nsplits;
    o->unit_splits = a->units;
    o->nunit_splits = a->nunits;
    o->stock_dividends = a->dividends;
    o->nstock_dividends = a->ndividends;
    o->renames = a->renames;
    o->nrenames = a->nrenames;
    fo->trading = a->tfaults;
    fo->ntrading = a->ntfaults;
    o->portfolio_json = a->account;
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
    struct args l = {.o = &o, .fo = &fo, .years = 3};
    struct diag d = {{0}};
    int help = 0, status = 1;
    struct alpaca_sim *sim = NULL;
    int err = parse_args(argc, argv, &l, &help, &d);
    if (help) {
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
