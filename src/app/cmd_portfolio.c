/* screener portfolio, account, monitor - the Alpaca account: positions against the screen,
 * the day's snapshot, balances, and the strategy's sell signal. */
#include "app/app.h"
#include "account/account.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/reply_account.h"
#include "codec/num.h"
#include "screen/screen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define APP_TRADING_ENV_HELP                                                                       \
    "\nEnvironment: APCA_API_KEY_ID and APCA_API_SECRET_KEY (or their SSM parameters, as for\n"    \
    "collect), APCA_API_BASE_URL (the trading API: default https://paper-api.alpaca.markets;\n"    \
    "a live key needs https://api.alpaca.markets).\n"
#define APP_TRADING_EXIT_HELP                                                                      \
    "\nExit codes: 0 ok, 1 store or internal failure, 2 bad command line, 3 Alpaca's answer\n"     \
    "is unusable, 6 Alpaca unreachable after retries (try again), 7 credentials missing or\n"      \
    "refused (or a key for the other host: paper keys work on the paper host only).\n"

static const char portfolio_help[] =
    "usage: screener portfolio [--format FORMAT] [options]\n"
    "       screener portfolio snapshot [options]\n\n"
    "Without a subcommand: the open positions of the Alpaca account with their quantity\n"
    "(negative: short), average entry price, current price, market value, unrealized P/L and\n"
    "return, and where each stock stands in the latest drawdown screen (rank and drawdown).\n"
    "Values Alpaca leaves out show as n/a (empty in CSV, null in JSON) and are named on\n"
    "stderr.\n\n"
    "snapshot: store the positions as the snapshot of the trading date, as every collection\n"
    "does: portfolio/snapshots/YYYY/YYYY-MM-DD.csv in the store, columns date,symbol,qty,\n"
    "avg_entry_price,current_price,market_value,unrealized_pl,unrealized_return_pct,\n"
    "drawdown_rank (the rank only when the latest screen is of that date).  The date is today\n"
    "in New York from the 09:30 open, before it the previous trading day.  The same content\n"
    "again writes nothing; different content replaces that date's snapshot (prices move\n"
    "until the day is over), atomically and conditionally; earlier dates are never written.\n\n"
    "Options:\n"
    "      --format FORMAT      table (default), csv or json; csv columns: date,symbol,qty,\n"
    "                           avg_entry_price,current_price,market_value,unrealized_pl,\n"
    "                           "
    "unrealized_return_pct,drawdown_rank,drawdown_pct,screen_date\n" APP_COMMON_HELP
        APP_TRADING_ENV_HELP APP_TRADING_EXIT_HELP;

static const char account_help[] =
    "usage: screener account [--format FORMAT] [--history PERIOD] [options]\n\n"
    "The Alpaca account's balances: equity, the previous close's equity, the day's P/L\n"
    "(equity - last_equity), cash, buying power, long and short market value.  With\n"
    "--history, the daily equity over a period instead.\n\n"
    "Options:\n"
    "      --format FORMAT      table (default), csv or json\n"
    "      --history PERIOD     daily equity and P/L for a period: N then D (days), W (weeks),\n"
    "                           M (months) or A (years), e.g. 1M, 3M, 1A\n" APP_COMMON_HELP
        APP_TRADING_ENV_HELP APP_TRADING_EXIT_HELP;

static const char monitor_help[] =
    "usage: screener monitor [--target PCT] [--format FORMAT] [options]\n\n"
    "The strategy's sell signal: the top 5 positions by unrealized return (ties by symbol;\n"
    "positions whose return is unknown are left out), their average, and whether it reaches\n"
    "the profit target.  With fewer than 5 positions, the average of those there is.\n"
    "After each collection the collector checks the same signal and, the first day the\n"
    "average reaches the target, pushes an alert to the bot's subscribers on\n"
    "TELEGRAM_ALLOWED_CHATS; once below the target again, the next crossing alerts again.\n\n"
    "Options:\n"
    "      --target PCT         profit target in percent (default $SCREENER_PROFIT_TARGET,\n"
    "                           else 100)\n"
    "      --format FORMAT      table (default), csv or json\n" APP_COMMON_HELP APP_TRADING_ENV_HELP
        APP_TRADING_EXIT_HELP;

enum { OPT_FORMAT = OPT_FIRST_FREE_, OPT_TARGET, OPT_HISTORY };

/* ---- shared ---- */

struct cmd {
    struct app a;
    enum screen_format format;
    const char *target, *history;
    const char *sub;
};

static int parse(struct cmd *c, int argc, char **argv, const char *help, int with_target,
                 int with_history, int with_sub)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"target", required_argument, NULL, OPT_TARGET},
        {"history", required_argument, NULL, OPT_HISTORY},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return -1;
        case OPT_FORMAT:
            if (screen_format_parse(optarg, &c->format))
                return app_usage_error(&c->a, "--format: expected table, csv or json, got '%s'",
                                       optarg);
            break;
        case OPT_TARGET:
            if (!with_target)
                return app_usage_error(&c->a, "unknown option '--target'");
            c->target = optarg;
            break;
        case OPT_HISTORY:
            if (!with_history)
                return app_usage_error(&c->a, "unknown option '--history'");
            c->history = optarg;
            break;
        case '?':
            return app_usage_error(&c->a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&c->a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (with_sub && optind < argc) {
        c->sub = argv[optind++];
        if (strcmp(c->sub, "snapshot") != 0)
            return app_usage_error(&c->a, "'%s': expected 'snapshot' or nothing", c->sub);
    }
    if (optind < argc)
        return app_usage_error(&c->a, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static void warn_problems(const struct app *a, const struct strvec *problems)
{
    for (size_t i = 0; i < problems->n; i++)
        fprintf(stderr, "%s: warning: %s\n", a->prog, problems->v[i]);
}

/* Millionths as a plain decimal (CSV) or a JSON number; empty / null when unknown. */
static int put_dec(struct buf *out, int64_t v, int json)
{
    if (v == TRADING_NONE)
        return json ? buf_puts(out, "null") : 0;
    char num[NUM_FIXED_STRMAX];
    num_format_fixed(v, num);
    return buf_puts(out, num);
}

static int put_pct(struct buf *out, double v, int json)
{
    if (!isfinite(v))
        return json ? buf_puts(out, "null") : 0;
    return buf_printf(out, "%.4f", v + 0.0);
}

static int put_date(struct buf *out, int32_t date, int json)
{
    if (!date)
        return json ? buf_puts(out, "null") : 0;
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    return buf_printf(out, json ? "\"%s\"" : "%s", day);
}

static int put_json_str(struct buf *out, const char *s)
{
    int e = buf_putc(out, '"');
    e = e ? e : buf_json_escape(out, s, strlen(s));
    return e ? e : buf_putc(out, '"');
}

static int put_problems_json(struct buf *out, const struct strvec *problems)
{
    int e = buf_puts(out, ",\"problems\":[");
    for (size_t i = 0; i < problems->n && !e; i++) {
        e = i ? buf_putc(out, ',') : 0;
        e = e ? e : put_json_str(out, problems->v[i]);
    }
    return e ? e : buf_puts(out, "]");
}

static void table_money(char *out, size_t cap, int64_t v, int sign)
{
    bot_money(out, cap, v, sign);
}

static void table_pct(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%+.2f%%", v + 0.0);
}

/* Print out, or fail with the write error; then the exit code for err. */
static int finish(struct cmd *c, int err, const struct diag *d, struct buf *out)
{
    int rc = 0;
    if (!err && out->len && app_write_stdout(&c->a, out->data, out->len))
        rc = EXIT_FAIL;
    else if (err == ERR_NOMEM)
        rc = app_fail(&c->a, err, NULL);
    else if (err)
        rc = app_fail(&c->a, err, d);
    buf_release(out);
    app_release(&c->a);
    return rc;
}

/* ---- screener portfolio ---- */

static int positions_out(struct buf *out, const struct account_view *v, enum screen_format f)
{
    const struct portfolio *p = &v->pf;
    int e = 0;
    if (f == SCREEN_FORMAT_CSV) {
        e = buf_puts(out, "date,symbol,qty,avg_entry_price,current_price,market_value,"
                          "unrealized_pl,unrealized_return_pct,drawdown_rank,drawdown_pct,"
                          "screen_date\n");
        for (size_t i = 0; i < p->n && !e; i++) {
            const struct portfolio_row *r = &p->rows[i];
            e = put_date(out, p->date, 0) || buf_printf(out, ",%s,", r->symbol) ||
                put_dec(out, r->qty, 0) || buf_putc(out, ',') ||
                put_dec(out, r->avg_entry_price, 0) || buf_putc(out, ',') ||
                put_dec(out, r->current_price, 0) || buf_putc(out, ',') ||
                put_dec(out, r->market_value, 0) || buf_putc(out, ',') ||
                put_dec(out, r->unrealized_pl, 0) || buf_putc(out, ',') ||
                put_pct(out, r->return_pct, 0) || buf_putc(out, ',') ||
                (r->rank ? buf_printf(out, "%d", r->rank) : 0) || buf_putc(out, ',') ||
                put_pct(out, r->drawdown_pct, 0) || buf_putc(out, ',') ||
                put_date(out, r->rank ? p->screen_date : 0, 0) || buf_putc(out, '\n');
        }
        return e;
    }
    if (f == SCREEN_FORMAT_JSON) {
        e = buf_puts(out, "{\"date\":") || put_date(out, p->date, 1) ||
            buf_puts(out, ",\"screen_date\":") || put_date(out, p->screen_date, 1) ||
            buf_printf(out, ",\"screen_ranked\":%zu,\"positions\":[", p->screen_n);
        for (size_t i = 0; i < p->n && !e; i++) {
            const struct portfolio_row *r = &p->rows[i];
            e = buf_printf(out, "%s{\"symbol\":\"%s\",\"qty\":", i ? "," : "", r->symbol) ||
                put_dec(out, r->qty, 1) || buf_puts(out, ",\"avg_entry_price\":") ||
                put_dec(out, r->avg_entry_price, 1) || buf_puts(out, ",\"current_price\":") ||
                put_dec(out, r->current_price, 1) || buf_puts(out, ",\"market_value\":") ||
                put_dec(out, r->market_value, 1) || buf_puts(out, ",\"unrealized_pl\":") ||
                put_dec(out, r->unrealized_pl, 1) || buf_puts(out, ",\"unrealized_return_pct\":") ||
                put_pct(out, r->return_pct, 1) ||
                (r->rank ? buf_printf(out, ",\"drawdown_rank\":%d", r->rank)
                         : buf_puts(out, ",\"drawdown_rank\":null")) ||
                buf_puts(out, ",\"drawdown_pct\":") || put_pct(out, r->drawdown_pct, 1) ||
                buf_putc(out, '}');
        }
        e = e || buf_putc(out, ']') || put_problems_json(out, &v->t.problems) ||
            buf_puts(out, "}\n");
        return e;
    }
    char day[DATE_STRLEN + 1], sday[DATE_STRLEN + 1];
    date_format(p->date, day);
    if (p->screen_date) {
        date_format(p->screen_date, sday);
        e = buf_printf(out, "Positions on %s: %zu (ranks from the screen of %s, %zu stocks)\n", day,
                       p->n, sday, p->screen_n);
    } else {
        e = buf_printf(out, "Positions on %s: %zu (no screen stored: no ranks)\n", day, p->n);
    }
    if (!e && p->n)
        e = buf_printf(out, "%-8s %10s %10s %10s %14s %15s %10s %5s %9s\n", "symbol", "qty",
                       "entry", "current", "market value", "unrealized P/L", "return", "rank",
                       "drawdown");
    int64_t value = 0, pl = 0;
    for (size_t i = 0; i < p->n && !e; i++) {
        const struct portfolio_row *r = &p->rows[i];
        char qty[NUM_FIXED_STRMAX] = "n/a", entry[40], cur[40], mv[40], upl[40], ret[24],
             rank[16] = "-", dd[24];
        if (r->qty != TRADING_NONE)
            num_format_fixed(r->qty, qty);
        table_money(entry, sizeof entry, r->avg_entry_price, 0);
        table_money(cur, sizeof cur, r->current_price, 0);
        table_money(mv, sizeof mv, r->market_value, 0);
        table_money(upl, sizeof upl, r->unrealized_pl, 1);
        table_pct(ret, sizeof ret, r->return_pct);
        table_pct(dd, sizeof dd, r->drawdown_pct);
        if (r->rank)
            snprintf(rank, sizeof rank, "%d", r->rank);
        e = buf_printf(out, "%-8s %10s %10s %10s %14s %15s %10s %5s %9s\n", r->symbol, qty, entry,
                       cur, mv, upl, ret, rank, r->rank ? dd : "-");
        value = value == TRADING_NONE || r->market_value == TRADING_NONE ? TRADING_NONE
                                                                         : value + r->market_value;
        pl = pl == TRADING_NONE || r->unrealized_pl == TRADING_NONE ? TRADING_NONE
                                                                    : pl + r->unrealized_pl;
    }
    if (!e && p->n) {
        char mv[40], upl[40];
        table_money(mv, sizeof mv, value, 0);
        table_money(upl, sizeof upl, pl, 1);
        e = buf_printf(out, "%-8s %10s %10s %10s %14s %15s\n", "total", "", "", "", mv, upl);
    }
    return e;
}

int cmd_portfolio(int argc, char **argv)
{
    struct cmd c = {.format = SCREEN_FORMAT_TABLE};
    app_init(&c.a, "screener portfolio");
    int rc = parse(&c, argc, argv, portfolio_help, 0, 0, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    int snapshot = c.sub != NULL;
    if (snapshot && c.format != SCREEN_FORMAT_TABLE)
        return app_usage_error(&c.a, "--format is for the positions, not for 'snapshot'");
    if (snapshot)
        c.a.prog = "screener portfolio snapshot";
    struct diag d = {{0}};
    struct buf out = BUF_INIT((size_t)64 << 20);
    struct account t;
    struct account_view v;
    memset(&v, 0, sizeof v);
    trading_data_init(&v.t);
    int err = app_open_store(&c.a, &d);
    if (!err)
        err = account_init(&t, NULL, &d);
    if (!err) {
        err = account_load(&t, c.a.os, TRADING_POSITIONS, 0, &v, &d);
        account_release(&t);
    }
    if (!err)
        warn_problems(&c.a, &v.t.problems);
    if (!err && snapshot) {
        enum portfolio_write w;
        char key[OBJ_KEY_MAX], day[DATE_STRLEN + 1];
        err = portfolio_write_snapshot(c.a.os, &v.pf, &w, &d);
        portfolio_snapshot_key(v.pf.date, key);
        date_format(v.pf.date, day);
        if (!err && buf_printf(&out, "Snapshot of %s: %zu position%s, %s (%s in %s)\n", day, v.pf.n,
                               v.pf.n == 1 ? "" : "s",
                               w == PORTFOLIO_CREATED     ? "stored"
                               : w == PORTFOLIO_UNCHANGED ? "already stored, unchanged"
                                                          : "replaced the earlier one of the day",
                               key, c.a.os->location))
            err = ERR_NOMEM;
    } else if (!err && positions_out(&out, &v, c.format)) {
        err = ERR_NOMEM;
    }
    account_view_release(&v);
    return finish(&c, err, &d, &out);
}

/* ---- screener account ---- */

static int account_out(struct buf *out, const struct trading_account *a, enum screen_format f)
{
    int64_t diff = a->equity == TRADING_NONE || a->last_equity == TRADING_NONE
                       ? TRADING_NONE
                       : a->equity - a->last_equity;
    double dpct = diff != TRADING_NONE && a->last_equity > 0
                      ? 100.0 * ((double)a->equity / (double)a->last_equity - 1.0)
                      : (double)NAN;
    const int64_t vals[] = {a->equity,
                            a->last_equity,
                            diff,
                            a->cash,
                            a->buying_power,
                            a->long_market_value,
                            a->short_market_value};
    static const char *const names[] = {"equity",
                                        "last_equity",
                                        "day_pl",
                                        "cash",
                                        "buying_power",
                                        "long_market_value",
                                        "short_market_value"};
    int e = 0;
    if (f == SCREEN_FORMAT_CSV) {
        e = buf_puts(out, "account_number,status,currency,equity,last_equity,day_pl,day_pl_pct,"
                          "cash,buying_power,long_market_value,short_market_value\n") ||
            buf_printf(out, "%s,%s,%s", a->account_number, a->status, a->currency);
        for (size_t i = 0; i < 7 && !e; i++) {
            e = buf_putc(out, ',') || put_dec(out, vals[i], 0);
            if (!e && i == 2)
                e = buf_putc(out, ',') || put_pct(out, dpct, 0);
        }
        return e || buf_putc(out, '\n');
    }
    if (f == SCREEN_FORMAT_JSON) {
        e = buf_puts(out, "{\"account_number\":") || put_json_str(out, a->account_number) ||
            buf_puts(out, ",\"status\":") || put_json_str(out, a->status) ||
            buf_puts(out, ",\"currency\":") || put_json_str(out, a->currency);
        for (size_t i = 0; i < 7 && !e; i++) {
            e = buf_printf(out, ",\"%s\":", names[i]) || put_dec(out, vals[i], 1);
            if (!e && i == 2)
                e = buf_puts(out, ",\"day_pl_pct\":") || put_pct(out, dpct, 1);
        }
        return e;
    }
    e = buf_printf(out, "Account %s (%s, %s)", a->account_number[0] ? a->account_number : "?",
                   a->status[0] ? a->status : "status unknown",
                   a->currency[0] ? a->currency : "currency unknown");
    if (!e && a->balance_asof[0])
        e = buf_printf(out, ", previous close %s", a->balance_asof);
    static const char *const labels[] = {"equity",       "last equity", "day P/L",    "cash",
                                         "buying power", "long value",  "short value"};
    e = e || buf_putc(out, '\n');
    for (size_t i = 0; i < 7 && !e; i++) {
        char m[48], p[24] = "";
        table_money(m, sizeof m, vals[i], i == 2);
        if (i == 2 && !isnan(dpct))
            snprintf(p, sizeof p, "  (%+.2f%%)", dpct);
        e = buf_printf(out, "%-13s %15s%s\n", labels[i], m, p);
    }
    if (!e && (a->trading_blocked == 1 || a->account_blocked == 1))
        e = buf_puts(out, "trading is blocked on this account\n");
    return e;
}

static int history_out(struct buf *out, const struct trading_history *h, enum screen_format f)
{
    int e = f == SCREEN_FORMAT_CSV ? buf_puts(out, "date,equity,profit_loss,profit_loss_pct\n")
            : f == SCREEN_FORMAT_JSON
                ? buf_puts(out, "[")
                : buf_printf(out, "%-10s %15s %13s %9s\n", "date", "equity", "P/L", "P/L %");
    for (size_t i = 0; i < h->n && !e; i++) {
        char day[DATE_STRLEN + 1];
        date_format(h->date[i], day);
        double x[3] = {h->equity[i], h->pl[i], h->pl_pct[i]};
        if (f == SCREEN_FORMAT_TABLE) {
            char eq[48], pl[48], pp[24];
            table_money(eq, sizeof eq, isnan(x[0]) ? TRADING_NONE : llround(x[0] * 1e6), 0);
            table_money(pl, sizeof pl, isnan(x[1]) ? TRADING_NONE : llround(x[1] * 1e6), 1);
            table_pct(pp, sizeof pp, x[2]);
            e = buf_printf(out, "%-10s %15s %13s %9s\n", day, eq, pl, pp);
            continue;
        }
        int json = f == SCREEN_FORMAT_JSON;
        e = json ? buf_printf(out, "%s{\"date\":\"%s\",\"equity\":", i ? "," : "", day)
                 : buf_printf(out, "%s,", day);
        static const char *const keys[] = {"", ",\"profit_loss\":", ",\"profit_loss_pct\":"};
        for (int k = 0; k < 3 && !e; k++) {
            e = k ? buf_puts(out, json ? keys[k] : ",") : 0;
            if (!e && isfinite(x[k]))
                e = buf_printf(out, k == 2 ? "%.4f" : "%.2f", x[k]);
            else if (!e && json)
                e = buf_puts(out, "null");
        }
        e = e || buf_puts(out, json ? "}" : "\n");
    }
    return e || (f == SCREEN_FORMAT_JSON && buf_puts(out, "]\n"));
}

int cmd_account(int argc, char **argv)
{
    struct cmd c = {.format = SCREEN_FORMAT_TABLE};
    app_init(&c.a, "screener account");
    int rc = parse(&c, argc, argv, account_help, 0, 1, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    char query[64] = "";
    if (c.history) {
        size_t n = strlen(c.history);
        int64_t k;
        if (n < 2 || n > 5 || !strchr("DWMA", c.history[n - 1]) ||
            num_parse_int(c.history, n - 1, &k) || k < 1 || k > 100)
            return app_usage_error(&c.a,
                                   "--history: expected a period such as 1M, 3M, 2W or 1A, got "
                                   "'%s'",
                                   c.history);
        snprintf(query, sizeof query, "period=%s&timeframe=1D", c.history);
    }
    struct diag d = {{0}};
    struct buf out = BUF_INIT((size_t)64 << 20);
    struct account t;
    struct trading_data td;
    trading_data_init(&td);
    int err = account_init(&t, NULL, &d);
    if (!err) {
        if (c.history)
            t.o.history_query = query;
        err = trading_fetch(&t.o, c.history ? TRADING_HISTORY : TRADING_ACCOUNT, 0, &td, &d);
        account_release(&t);
    }
    if (!err)
        warn_problems(&c.a, &td.problems);
    if (!err && (c.history ? history_out(&out, &td.history, c.format)
                           : account_out(&out, &td.account, c.format)))
        err = ERR_NOMEM;
    if (!err && !c.history && c.format == SCREEN_FORMAT_JSON &&
        (put_problems_json(&out, &td.problems) || buf_puts(&out, "}\n")))
        err = ERR_NOMEM;
    trading_data_release(&td);
    return finish(&c, err, &d, &out);
}

/* ---- screener monitor ---- */

static int monitor_out(struct buf *out, const struct account_view *v, enum screen_format f)
{
    const struct portfolio *p = &v->pf;
    const struct portfolio_signal *s = &v->signal;
    int e = 0;
    if (f == SCREEN_FORMAT_CSV) {
        e = buf_puts(out, "date,rank,symbol,unrealized_return_pct,average_pct,target_pct,"
                          "reached\n");
        for (size_t k = 0; k < s->ntop && !e; k++)
            e = put_date(out, p->date, 0) ||
                buf_printf(out, ",%zu,%s,", k + 1, p->rows[s->top[k]].symbol) ||
                put_pct(out, p->rows[s->top[k]].return_pct, 0) || buf_putc(out, ',') ||
                put_pct(out, s->average_pct, 0) || buf_putc(out, ',') ||
                put_pct(out, s->target_pct, 0) ||
                buf_printf(out, ",%s\n", s->reached ? "true" : "false");
        return e;
    }
    if (f == SCREEN_FORMAT_JSON) {
        e = buf_puts(out, "{\"date\":") || put_date(out, p->date, 1) ||
            buf_puts(out, ",\"target_pct\":") || put_pct(out, s->target_pct, 1) ||
            buf_puts(out, ",\"average_pct\":") || put_pct(out, s->average_pct, 1) ||
            buf_printf(out, ",\"reached\":%s,\"positions\":%zu,\"unknown\":%zu,\"top\":[",
                       s->reached ? "true" : "false", s->positions, s->unknown);
        for (size_t k = 0; k < s->ntop && !e; k++)
            e = buf_printf(out, "%s{\"rank\":%zu,\"symbol\":\"%s\",\"unrealized_return_pct\":",
                           k ? "," : "", k + 1, p->rows[s->top[k]].symbol) ||
                put_pct(out, p->rows[s->top[k]].return_pct, 1) || buf_putc(out, '}');
        return e || buf_putc(out, ']') || put_problems_json(out, &v->t.problems) ||
               buf_puts(out, "}\n");
    }
    char target[24], avg[24];
    table_pct(target, sizeof target, s->target_pct);
    table_pct(avg, sizeof avg, s->average_pct);
    e = buf_printf(out, "Sell signal: the top %d positions by unrealized return, target %s\n",
                   PORTFOLIO_TOP, target);
    if (!e && s->ntop == 0)
        return buf_puts(out, s->positions ? "no position has a known return: no signal\n"
                                          : "no open positions: nothing to sell\n");
    e = e || buf_printf(out, "%4s  %-8s %10s\n", "rank", "symbol", "return");
    for (size_t k = 0; k < s->ntop && !e; k++) {
        char ret[24];
        table_pct(ret, sizeof ret, p->rows[s->top[k]].return_pct);
        e = buf_printf(out, "%4zu  %-8s %10s\n", k + 1, p->rows[s->top[k]].symbol, ret);
    }
    e = e || buf_printf(out, "%-14s %10s  (%zu of %zu position%s", "average", avg, s->ntop,
                        s->positions, s->positions == 1 ? "" : "s");
    if (!e && s->unknown)
        e = buf_printf(out, "; %zu with an unknown return left out", s->unknown);
    e = e || buf_puts(out, ")\n");
    return e || buf_puts(out, s->reached ? "REACHED: the average is at or above the target\n"
                                         : "not reached: the average is below the target\n");
}

int cmd_monitor(int argc, char **argv)
{
    struct cmd c = {.format = SCREEN_FORMAT_TABLE};
    app_init(&c.a, "screener monitor");
    int rc = parse(&c, argc, argv, monitor_help, 1, 0, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    double target = 0;
    if (c.target && portfolio_parse_target(c.target, &target) != ERR_OK)
        return app_usage_error(&c.a,
                               "--target: expected a percentage above -100 such as 100 or 50.5, "
                               "got '%s'",
                               c.target);
    struct diag d = {{0}};
    struct buf out = BUF_INIT((size_t)64 << 20);
    struct account t;
    struct account_view v;
    memset(&v, 0, sizeof v);
    trading_data_init(&v.t);
    int err = app_open_store(&c.a, &d);
    if (!err)
        err = account_init(&t, NULL, &d);
    if (!err) {
        if (c.target)
            t.target_pct = target;
        err = account_load(&t, c.a.os, TRADING_POSITIONS, 0, &v, &d);
        account_release(&t);
    }
    if (!err)
        warn_problems(&c.a, &v.t.problems);
    if (!err && monitor_out(&out, &v, c.format))
        err = ERR_NOMEM;
    account_view_release(&v);
    return finish(&c, err, &d, &out);
}
