/* test_trading.c - the trading API's parsers (strings, nulls, absent fields, garbage), the
 * portfolio built from them, its snapshots in the store (idempotent per date, replaced
 * conditionally), the sell signal and the alert marker. */
#include "testutil.h"

#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "account/portfolio.h"
#include "account/trading.h"
#include "net/http.h"
#include "fakes/alpaca_fault.h"
#include "sim/alpaca_sim.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

static int has_problem(const struct strvec *p, const char *text)
{
    for (size_t i = 0; i < p->n; i++)
        if (strstr(p->v[i], text))
            return 1;
    return 0;
}

static void dump_problems(const struct strvec *p)
{
    for (size_t i = 0; i < p->n; i++)
        print_message("problem: %s\n", p->v[i]);
}

/* ---- decimals ---- */

static void test_decimal(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(trading_decimal("25310.42", 8, &v), ERR_OK);
    assert_true(v == 25310420000LL);
    assert_int_equal(trading_decimal("-23140.2", 8, &v), ERR_OK);
    assert_true(v == -23140200000LL);
    /* more than six decimals: rounded, half away from zero */
    assert_int_equal(trading_decimal("122011.09751111286868", 21, &v), ERR_OK);
    assert_true(v == 122011097511LL);
    assert_int_equal(trading_decimal("0.0000005", 9, &v), ERR_OK);
    assert_true(v == 1);
    assert_int_equal(trading_decimal("1E-7", 4, &v), ERR_OK);
    assert_true(v == 0);
    assert_int_equal(trading_decimal("2.5e3", 5, &v), ERR_OK);
    assert_true(v == 2500000000LL);
    static const char *const bad[] = {"",    "abc", "1,5", " 1", "1 ", "0x10",
                                      "inf", "nan", "--1", "1e", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(trading_decimal(bad[i], strlen(bad[i]), &v), ERR_OK);
    assert_int_equal(trading_decimal("1000000000001", 13, &v), ERR_INVALID);
    assert_int_equal(trading_decimal("1e300", 5, &v), ERR_INVALID);
    assert_int_equal(trading_decimal("99999999999999999999999", 23, &v), ERR_INVALID);
}

/* ---- /v2/account ---- */

static const char account_full[] =
    "{\"id\":\"0d9f3c1e-5a7b-4c2e-9f10-2b6a8e4d7c31\",\"account_number\":\"PA3XK9Q2M7ZB\","
    "\"status\":\"ACTIVE\",\"crypto_status\":\"ACTIVE\",\"currency\":\"USD\","
    "\"cash\":\"25310.42\",\"buying_power\":\"50620.84\",\"regt_buying_power\":\"50620.84\","
    "\"equity\":\"101482.17\",\"last_equity\":\"100947.55\",\"portfolio_value\":\"101482.17\","
    "\"long_market_value\":\"76171.75\",\"short_market_value\":\"0\",\"multiplier\":\"2\","
    "\"balance_asof\":\"2026-07-16\",\"shorting_enabled\":true,\"trading_blocked\":false,"
    "\"transfers_blocked\":false,\"account_blocked\":false,\"daytrade_count\":0,"
    "\"created_at\":\"2025-02-11T15:04:09.118273Z\"}";

static void test_account(void **state)
{
    (void)state;
    struct trading_account a;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    assert_int_equal(trading_parse_account(account_full, strlen(account_full), &a, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(pr.n, 0);
    assert_string_equal(a.status, "ACTIVE");
    assert_string_equal(a.account_number, "PA3XK9Q2M7ZB");
    assert_string_equal(a.currency, "USD");
    assert_string_equal(a.balance_asof, "2026-07-16");
    assert_true(a.equity == 101482170000LL);
    assert_true(a.last_equity == 100947550000LL);
    assert_true(a.cash == 25310420000LL);
    assert_true(a.buying_power == 50620840000LL);
    assert_true(a.short_market_value == 0);
    assert_int_equal(a.trading_blocked, 0);
    assert_int_equal(a.account_blocked, 0);
    strvec_release(&pr);
}

static void test_account_missing_and_null(void **state)
{
    (void)state;
    struct trading_account a;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    /* 2026: pattern_day_trader and friends are gone; equity missing, portfolio_value there */
    const char *j = "{\"id\":\"x\",\"status\":\"ACTIVE\",\"portfolio_value\":\"1000\","
                    "\"last_equity\":null,\"cash\":\"abc\",\"buying_power\":12.5}";
    assert_int_equal(trading_parse_account(j, strlen(j), &a, &pr, &d), 0);
    dump_problems(&pr);
    assert_true(a.equity == 1000000000LL); /* the fallback, no problem */
    assert_true(a.last_equity == TRADING_NONE);
    assert_true(a.cash == TRADING_NONE);
    assert_true(a.buying_power == 12500000LL); /* a plain number is taken */
    assert_true(a.long_market_value == TRADING_NONE);
    assert_int_equal(a.trading_blocked, -1);
    assert_int_equal(pr.n, 2);
    assert_true(has_problem(&pr, "account: 'last_equity' is null"));
    assert_true(has_problem(&pr, "account: 'cash' is not a decimal: 'abc'"));
    strvec_release(&pr);

    /* nothing at all but the required id and status */
    j = "{\"id\":\"x\",\"status\":\"ACTIVE\"}";
    assert_int_equal(trading_parse_account(j, strlen(j), &a, &pr, &d), 0);
    assert_true(has_problem(&pr, "account: 'equity' is missing (and no 'portfolio_value')"));
    assert_true(has_problem(&pr, "account: 'last_equity' is missing"));
    assert_true(has_problem(&pr, "account: 'cash' is missing"));
    assert_true(has_problem(&pr, "account: 'buying_power' is missing"));
    assert_true(a.equity == TRADING_NONE);
    strvec_release(&pr);

    /* wrong types everywhere: problems, never a crash */
    j = "{\"status\":7,\"equity\":[],\"last_equity\":{},\"cash\":true,\"buying_power\":\"\","
        "\"trading_blocked\":\"no\",\"currency\":\"US\\u0001D\"}";
    assert_int_equal(trading_parse_account(j, strlen(j), &a, &pr, &d), 0);
    dump_problems(&pr);
    assert_true(has_problem(&pr, "'status' is missing"));
    assert_true(has_problem(&pr, "'equity' is an array"));
    assert_true(has_problem(&pr, "'last_equity' is an object"));
    assert_true(has_problem(&pr, "'cash' is a boolean"));
    assert_true(has_problem(&pr, "'buying_power' is not a decimal: ''"));
    assert_string_equal(a.currency, "");
    assert_int_equal(a.trading_blocked, -1);
    strvec_release(&pr);
}

static void test_account_not_an_object(void **state)
{
    (void)state;
    struct trading_account a;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    assert_int_equal(trading_parse_account("[]", 2, &a, &pr, &d), ERR_PARSE);
    assert_string_equal(d.text, "account is an array, expected an object");
    assert_int_equal(trading_parse_account("<html>", 6, &a, &pr, &d), ERR_PARSE);
    assert_non_null(strstr(d.text, "account"));
    assert_int_equal(trading_parse_account("{\"a\":1,\"a\":2}", 13, &a, &pr, &d), ERR_PARSE);
    strvec_release(&pr);
}

/* ---- /v2/positions ---- */

static const char positions_example[] =
    "[{\"asset_id\":\"3f5e8a21-7c4d-4b9e-a1f2-6d0c9b8e7a54\",\"symbol\":\"AAPL\","
    "\"exchange\":\"NASDAQ\",\"asset_class\":\"us_equity\",\"asset_marginable\":true,"
    "\"qty\":\"40\",\"qty_available\":\"40\",\"side\":\"long\",\"avg_entry_price\":\"190.25\","
    "\"cost_basis\":\"7610\",\"current_price\":\"211.4\",\"market_value\":\"8456\","
    "\"lastday_price\":\"208.9\",\"change_today\":\"0.0119674485399713\","
    "\"unrealized_pl\":\"846\",\"unrealized_plpc\":\"0.1111695137976347\","
    "\"unrealized_intraday_pl\":\"100\",\"unrealized_intraday_plpc\":\"0.0119674485399713\"},"
    "{\"symbol\":\"BRK.B\",\"qty\":\"-3\",\"side\":\"short\",\"avg_entry_price\":\"400\","
    "\"current_price\":\"380\",\"market_value\":\"-1140\",\"cost_basis\":\"-1200\","
    "\"unrealized_pl\":\"60\",\"unrealized_plpc\":\"0.05\"}]";

static void test_positions(void **state)
{
    (void)state;
    struct trading_positions p;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    assert_int_equal(
        trading_parse_positions(positions_example, strlen(positions_example), &p, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(pr.n, 0);
    assert_int_equal(p.n, 2);
    const struct trading_position *a = &p.v[0], *b = &p.v[1];
    assert_string_equal(a->symbol, "AAPL");
    assert_int_equal(a->side, 1);
    assert_true(a->qty == 40000000LL);
    assert_true(a->avg_entry_price == 190250000LL);
    assert_true(a->current_price == 211400000LL);
    assert_true(a->market_value == 8456000000LL);
    assert_true(a->unrealized_pl == 846000000LL);
    assert_true(fabs(a->return_pct - 11.11695137976347) < 1e-9);
    assert_true(fabs(a->change_today_pct - 1.19674485399713) < 1e-9);
    assert_string_equal(b->symbol, "BRK.B");
    assert_int_equal(b->side, -1);
    assert_true(b->qty == 3000000LL); /* the size; the side says short */
    assert_true(fabs(b->return_pct - 5.0) < 1e-9);
    trading_positions_release(&p);
    strvec_release(&pr);

    assert_int_equal(trading_parse_positions("[]", 2, &p, &pr, &d), 0);
    assert_int_equal(p.n, 0);
    trading_positions_release(&p);
    strvec_release(&pr);
}

static void test_positions_nulls_and_absent(void **state)
{
    (void)state;
    struct trading_positions p;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    /* No current price (both SDKs say it may be null): what depends on it is unknown; the
     * return falls back to what is known. */
    const char *j =
        "[{\"symbol\":\"ZZZ\",\"qty\":\"10\",\"side\":\"long\",\"avg_entry_price\":\"50\","
        "\"current_price\":null,\"market_value\":null,\"unrealized_pl\":null,"
        "\"unrealized_plpc\":null,\"lastday_price\":null,\"change_today\":null},"
        /* only the essentials: the rest is derived */
        "{\"symbol\":\"YYY\",\"qty\":\"10\",\"avg_entry_price\":\"50\",\"current_price\":\"75\"},"
        /* P/L and cost basis, but no plpc */
        "{\"symbol\":\"XXX\",\"qty\":\"2\",\"avg_entry_price\":\"10\",\"current_price\":\"30\","
        "\"market_value\":\"60\",\"cost_basis\":\"20\",\"unrealized_pl\":\"40\"}]";
    assert_int_equal(trading_parse_positions(j, strlen(j), &p, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(p.n, 3);
    const struct trading_position *x = &p.v[0], *y = &p.v[1], *z = &p.v[2];
    assert_string_equal(x->symbol, "XXX");
    assert_true(fabs(x->return_pct - 200.0) < 1e-9);
    assert_string_equal(y->symbol, "YYY");
    assert_true(y->market_value == 750000000LL);
    assert_true(y->unrealized_pl == 250000000LL);
    assert_true(y->cost_basis == 500000000LL);
    assert_true(fabs(y->return_pct - 50.0) < 1e-9);
    assert_true(isnan(y->change_today_pct));
    assert_string_equal(z->symbol, "ZZZ");
    assert_true(z->current_price == TRADING_NONE);
    assert_true(z->market_value == TRADING_NONE);
    assert_true(z->unrealized_pl == TRADING_NONE);
    assert_true(isnan(z->return_pct));
    assert_true(has_problem(&pr, "position ZZZ: 'current_price' is null"));
    assert_true(has_problem(&pr, "position ZZZ: 'unrealized_plpc' is null"));
    assert_true(has_problem(&pr, "position YYY: 'market_value' is missing"));
    assert_true(has_problem(&pr, "position YYY: 'unrealized_plpc' is missing"));
    assert_false(has_problem(&pr, "lastday_price")); /* not shown: not reported */
    assert_false(has_problem(&pr, "position XXX: 'market_value'"));
    trading_positions_release(&p);
    strvec_release(&pr);
}

static void test_positions_garbage(void **state)
{
    (void)state;
    struct trading_positions p;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    const char *j = "[1,null,{},{\"symbol\":5},{\"symbol\":\"aapl\"},{\"symbol\":\"\"},"
                    "{\"symbol\":\"AAPL240119C00150000\"},{\"symbol\":\"A,B\"},"
                    "{\"symbol\":\"OK\",\"qty\":\"1e999\",\"avg_entry_price\":\"-\","
                    "\"current_price\":\"12\",\"unrealized_plpc\":\"NaN\"},"
                    "{\"symbol\":\"OK\",\"qty\":\"1\"},{\"symbol\":\"Q\",\"qty\":\"-2\"}]";
    assert_int_equal(trading_parse_positions(j, strlen(j), &p, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.v[0].symbol, "OK");
    assert_true(p.v[0].qty == TRADING_NONE);
    assert_true(p.v[0].avg_entry_price == TRADING_NONE);
    assert_true(p.v[0].current_price == 12000000LL);
    assert_true(isnan(p.v[0].return_pct));
    assert_string_equal(p.v[1].symbol, "Q");
    assert_int_equal(p.v[1].side, -1); /* no side: the sign of qty */
    assert_true(p.v[1].qty == 2000000LL);
    assert_true(has_problem(&pr, "position 1 is a number, expected an object; left out"));
    assert_true(has_problem(&pr, "position 2 is null, expected an object; left out"));
    assert_true(has_problem(&pr, "position 3: 'symbol' is missing; left out"));
    assert_true(has_problem(&pr, "position 4: 'symbol' is a number, expected a string; left out"));
    assert_true(has_problem(&pr, "position 5: 'aapl' is not a stock symbol; left out"));
    assert_true(has_problem(&pr, "position 7: 'AAPL240119C00150000' is not a stock symbol"));
    assert_true(has_problem(&pr, "position OK: 'qty' is not a decimal: '1e999'"));
    assert_true(has_problem(&pr, "position OK is listed twice; the second is left out"));
    trading_positions_release(&p);
    strvec_release(&pr);

    /* the shape itself */
    assert_int_equal(trading_parse_positions("{}", 2, &p, &pr, &d), ERR_PARSE);
    assert_string_equal(d.text, "positions are an object, expected an array");
    assert_int_equal(trading_parse_positions("[", 1, &p, &pr, &d), ERR_PARSE);
    assert_int_equal(trading_parse_positions("", 0, &p, &pr, &d), ERR_PARSE);
    strvec_release(&pr);

    /* a flood of problems is capped */
    struct buf b = BUF_INIT(1 << 20);
    buf_puts(&b, "[");
    for (int i = 0; i < 200; i++)
        buf_printf(&b, "%s{\"symbol\":\"S%d\"}", i ? "," : "", i);
    buf_puts(&b, "]");
    assert_int_equal(trading_parse_positions(b.data, b.len, &p, &pr, &d), 0);
    assert_int_equal(p.n, 200);
    assert_int_equal(pr.n, TRADING_PROBLEMS_MAX + 1);
    assert_string_equal(pr.v[pr.n - 1], "(more problems not listed)");
    trading_positions_release(&p);
    strvec_release(&pr);
    buf_release(&b);
}

/* ---- /v2/account/portfolio/history ---- */

static void test_history(void **state)
{
    (void)state;
    struct trading_history h;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    const char *j = "{\"timestamp\":[1784073600,1784160000,1784246400],"
                    "\"equity\":[100420.5,99810.25,101133.8],"
                    "\"profit_loss\":[420.5,-189.75,1133.8],"
                    "\"profit_loss_pct\":[0.0042,null,0.0113],"
                    "\"base_value\":100000.0,\"base_value_asof\":\"2026-07-13\","
                    "\"timeframe\":\"1D\"}";
    assert_int_equal(trading_parse_history(j, strlen(j), &h, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(pr.n, 0);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.timeframe, "1D");
    assert_true(h.base_value == 100000.0);
    /* stamped 00:00 UTC the next day: the New York date is the trading date */
    assert_int_equal(h.date[0], day("2026-07-14"));
    assert_int_equal(h.date[2], day("2026-07-16"));
    assert_true(h.equity[1] == 99810.25);
    assert_true(isnan(h.pl_pct[1]));
    assert_true(fabs(h.pl_pct[2] - 1.13) < 1e-9);
    trading_history_release(&h);

    /* milliseconds, short arrays, bad values, a bad timestamp */
    j = "{\"timestamp\":[1784073600000,\"x\",1784246400],\"equity\":[1,2],"
        "\"profit_loss_pct\":[\"a\",0,0],\"base_value\":null}";
    assert_int_equal(trading_parse_history(j, strlen(j), &h, &pr, &d), 0);
    dump_problems(&pr);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.date[0], day("2026-07-14"));
    assert_true(h.equity[0] == 1);
    assert_true(isnan(h.equity[1])); /* the third equity was never sent */
    assert_true(isnan(h.base_value));
    assert_true(has_problem(&pr, "history: 'equity' has 2 values for 3 timestamps"));
    assert_true(has_problem(&pr, "history: 1 values of 'profit_loss_pct' are not numbers"));
    assert_true(has_problem(&pr, "history: 1 timestamps are not Unix times"));
    trading_history_release(&h);
    strvec_release(&pr);

    assert_int_equal(trading_parse_history("{}", 2, &h, &pr, &d), 0);
    assert_int_equal(h.n, 0);
    assert_true(has_problem(&pr, "history: 'timestamp' is missing"));
    trading_history_release(&h);
    strvec_release(&pr);
    assert_int_equal(trading_parse_history("[]", 2, &h, &pr, &d), ERR_PARSE);
    strvec_release(&pr);
}

/* ---- the portfolio, its snapshots ---- */

static void test_snapshot_date(void **state)
{
    (void)state;
    /* Friday 2026-11-20 */
    int32_t fri = day("2026-11-20");
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(fri, 9 * 60 + 29)),
                     day("2026-11-19"));
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(fri, 9 * 60 + 30)), fri);
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(fri, 23 * 60 + 59)), fri);
    /* the weekend, and Monday before the open: Friday */
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(fri + 1, 12 * 60)), fri);
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(fri + 3, 8 * 60)), fri);
    /* Thanksgiving, 2026-11-26: the day before */
    assert_int_equal(portfolio_snapshot_date(cal_ny_to_utc_ms(day("2026-11-26"), 12 * 60)),
                     day("2026-11-25"));
    char key[OBJ_KEY_MAX];
    portfolio_snapshot_key(fri, key);
    assert_string_equal(key, "portfolio/snapshots/2026/2026-11-20.csv");
}

static void sample(struct portfolio *pf, int32_t date, int with_screen)
{
    struct trading_positions p;
    struct strvec pr = STRVEC_INIT;
    struct diag d = {{0}};
    assert_int_equal(
        trading_parse_positions(positions_example, strlen(positions_example), &p, &pr, &d), 0);
    struct screen_row rows[2] = {{.date = date, .rank = 1, .symbol = "ZZZ", .drawdown_pct = -50},
                                 {.date = date, .rank = 2, .symbol = "AAPL", .drawdown_pct = -20}};
    struct results_screen s = {.date = date, .rows = rows, .n = 2};
    assert_int_equal(portfolio_from_positions(&p, with_screen ? &s : NULL, date, pf, &d), 0);
    trading_positions_release(&p);
    strvec_release(&pr);
}

static void test_snapshot_csv(void **state)
{
    (void)state;
    struct portfolio pf;
    sample(&pf, day("2026-11-20"), 1);
    assert_int_equal(pf.n, 2);
    assert_int_equal(pf.rows[0].rank, 2);
    assert_true(pf.rows[0].drawdown_pct == -20);
    assert_int_equal(pf.rows[1].rank, 0);
    assert_true(pf.rows[1].qty == -3000000LL);
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(portfolio_snapshot_csv(&pf, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        PORTFOLIO_CSV_HEADER "2026-11-20,AAPL,40,190.25,211.4,8456,846,11.1170,2\n"
                                             "2026-11-20,BRK.B,-3,400,380,-1140,60,5.0000,\n");
    /* read back */
    struct portfolio back;
    struct diag d = {{0}};
    assert_int_equal(portfolio_parse_snapshot("s.csv", b.data, b.len, &back, &d), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.date, day("2026-11-20"));
    assert_int_equal(back.rows[0].rank, 2);
    assert_true(back.rows[1].qty == -3000000LL);
    assert_true(fabs(back.rows[0].return_pct - 11.117) < 1e-9);
    portfolio_release(&back);
    /* a screen of another date gives no ranks: a rank is a fact of its date */
    pf.screen_date = day("2026-11-19");
    buf_reset(&b);
    assert_int_equal(portfolio_snapshot_csv(&pf, &b), 0);
    assert_non_null(strstr(buf_cstr(&b), ",11.1170,\n"));
    portfolio_release(&pf);

    /* broken files name the line and field */
    static const struct {
        const char *csv, *want;
    } bad[] = {
        {"", "s.csv: empty, expected a header row"},
        {"date,symbol\n", "s.csv:1: expected the header date,symbol,qty,"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,AAPL,1,2,3,4,5,6\n", "s.csv:2: 8 fields, expected 9"},
        {PORTFOLIO_CSV_HEADER "2026-11-31,AAPL,1,2,3,4,5,6,\n", "s.csv:2: bad date: '2026-11-31'"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,aapl,1,2,3,4,5,6,\n", "s.csv:2: bad symbol: 'aapl'"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,AAPL,x,2,3,4,5,6,\n", "s.csv:2: bad qty: 'x'"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,AAPL,1,2,3,4,5,6,0\n", "s.csv:2: bad drawdown_rank: '0'"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,B,1,2,3,4,5,6,\n2026-11-20,A,1,2,3,4,5,6,\n",
         "s.csv:3: bad symbol (rows sorted by symbol, one per symbol): 'A'"},
        {PORTFOLIO_CSV_HEADER "2026-11-20,A,1,2,3,4,5,6,\n2026-11-21,B,1,2,3,4,5,6,\n",
         "s.csv:3: bad date (one date per file): '2026-11-21'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int err = portfolio_parse_snapshot("s.csv", bad[i].csv, strlen(bad[i].csv), &back, &d);
        if (err != ERR_PARSE || strncmp(d.text, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: got %d '%s', want '%s'", i, err, d.text, bad[i].want);
    }
    buf_release(&b);
}

static void test_snapshot_store(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct objstore *os;
    struct diag d = {{0}};
    assert_int_equal(objstore_local_open(dir, &os, &d), 0);
    /* none stored yet: an empty list, not a sort of nothing through a null pointer */
    int32_t *none = NULL;
    size_t nnone = 1;
    assert_int_equal(portfolio_snapshot_dates(os, &none, &nnone, &d), 0);
    assert_int_equal(nnone, 0);
    free(none);
    struct portfolio pf;
    int32_t date = day("2026-11-20");
    sample(&pf, date, 1);
    enum portfolio_write w;
    assert_int_equal(portfolio_write_snapshot(os, &pf, &w, &d), 0);
    assert_int_equal(w, PORTFOLIO_CREATED);
    const char *path = tu_path(dir, "portfolio/snapshots/2026/2026-11-20.csv");
    size_t len;
    char *first = tu_read_file(path, &len);
    /* the same again: nothing written */
    assert_int_equal(portfolio_write_snapshot(os, &pf, &w, &d), 0);
    assert_int_equal(w, PORTFOLIO_UNCHANGED);
    /* other prices the same day: replaced, still one file with one row per symbol */
    pf.rows[0].current_price = 250000000;
    assert_int_equal(portfolio_write_snapshot(os, &pf, &w, &d), 0);
    assert_int_equal(w, PORTFOLIO_REPLACED);
    char *second = tu_read_file(path, &len);
    assert_string_not_equal(first, second);
    assert_non_null(strstr(second, "2026-11-20,AAPL,40,190.25,250,"));
    struct portfolio back;
    assert_int_equal(portfolio_parse_snapshot(path, second, len, &back, &d), 0);
    assert_int_equal(back.n, 2);
    portfolio_release(&back);
    /* another date: a second file; the listing finds both */
    pf.date = day("2026-11-23");
    assert_int_equal(portfolio_write_snapshot(os, &pf, &w, &d), 0);
    assert_int_equal(w, PORTFOLIO_CREATED);
    tu_write_file(tu_path(dir, "portfolio/snapshots/2026/notes.txt"), "x", 1);
    int32_t *dates;
    size_t n;
    assert_int_equal(portfolio_snapshot_dates(os, &dates, &n, &d), 0);
    assert_int_equal(n, 2);
    assert_int_equal(dates[0], date);
    assert_int_equal(dates[1], day("2026-11-23"));
    free(dates);
    /* flat: a header alone */
    pf.n = 0;
    pf.date = day("2026-11-24");
    assert_int_equal(portfolio_write_snapshot(os, &pf, &w, &d), 0);
    char *flat = tu_read_file(tu_path(dir, "portfolio/snapshots/2026/2026-11-24.csv"), &len);
    assert_string_equal(flat, PORTFOLIO_CSV_HEADER);
    free(flat);
    free(first);
    free(second);
    portfolio_release(&pf);
    objstore_free(os);
    tu_rmrf(dir);
    free(dir);
}

/* ---- the sell signal ---- */

static struct portfolio returns(const double *r, size_t n)
{
    struct portfolio p = {.n = n, .rows = calloc(n ? n : 1, sizeof(struct portfolio_row))};
    for (size_t i = 0; i < n; i++) {
        snprintf(p.rows[i].symbol, sizeof p.rows[i].symbol, "S%02u", (unsigned)(i % 100));
        p.rows[i].return_pct = r[i];
    }
    return p;
}

static void test_signal(void **state)
{
    (void)state;
    struct portfolio_signal s;
    double r1[] = {10, 250, NAN, 120, 80, 120, 5, 99, -30};
    struct portfolio p = returns(r1, 9);
    portfolio_signal(&p, 100, &s);
    assert_int_equal(s.positions, 9);
    assert_int_equal(s.unknown, 1);
    assert_int_equal(s.ntop, 5);
    /* 250, 120 (S03 before S05 on the tie), 120, 99, 80 */
    size_t want[] = {1, 3, 5, 7, 4};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.top[i], want[i]);
    assert_true(fabs(s.average_pct - 133.8) < 1e-9);
    assert_true(s.reached);
    portfolio_signal(&p, 133.8000001, &s);
    assert_false(s.reached);
    portfolio_release(&p);

    double r2[] = {150, 60};
    p = returns(r2, 2); /* fewer than five: the average of those held */
    portfolio_signal(&p, 100, &s);
    assert_int_equal(s.ntop, 2);
    assert_true(s.average_pct == 105);
    assert_true(s.reached);
    portfolio_release(&p);

    p = returns(NULL, 0);
    portfolio_signal(&p, 100, &s);
    assert_int_equal(s.ntop, 0);
    assert_true(isnan(s.average_pct));
    assert_false(s.reached);
    portfolio_release(&p);

    double t;
    assert_int_equal(portfolio_parse_target("100", &t), 0);
    assert_true(t == 100);
    assert_int_equal(portfolio_parse_target("50.5", &t), 0);
    assert_true(t == 50.5);
    assert_int_not_equal(portfolio_parse_target("-100", &t), 0);
    assert_int_not_equal(portfolio_parse_target("abc", &t), 0);
    assert_int_not_equal(portfolio_parse_target("1e9", &t), 0);
    assert_int_not_equal(portfolio_parse_target("", &t), 0);
}

static void test_alert_marker(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct objstore *os;
    struct diag d = {{0}};
    assert_int_equal(objstore_local_open(dir, &os, &d), 0);
    struct portfolio_signal below = {.target_pct = 100, .ntop = 5, .average_pct = 90},
                            above = {
                                .target_pct = 100, .ntop = 5, .average_pct = 101, .reached = 1};
    enum portfolio_alert a;
    int32_t date = day("2026-11-20");
    const char *path = tu_path(dir, PORTFOLIO_ALERT_KEY);
    size_t len;
    /* below and no marker: nothing written */
    assert_int_equal(portfolio_alert_update(os, &below, date, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_NONE);
    assert_null(tu_read_file(path, &len));
    assert_int_equal(portfolio_alert_update(os, &above, date, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_FIRE);
    char *marker = tu_read_file(path, &len);
    assert_string_equal(marker,
                        "{\"state\":\"fired\",\"date\":\"2026-11-20\",\"average_pct\":101.0000,"
                        "\"target_pct\":100.0000}\n");
    free(marker);
    /* every day after, still above: told once, nothing rewritten */
    assert_int_equal(portfolio_alert_update(os, &above, date + 1, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_ALREADY);
    assert_int_equal(portfolio_alert_update(os, &above, date + 2, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_ALREADY);
    marker = tu_read_file(path, &len);
    assert_non_null(strstr(marker, "\"date\":\"2026-11-20\""));
    free(marker);
    /* below again: armed (kept, not deleted), then a new crossing fires again */
    assert_int_equal(portfolio_alert_update(os, &below, date + 3, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_RESET);
    marker = tu_read_file(path, &len);
    assert_string_equal(marker,
                        "{\"state\":\"armed\",\"date\":\"2026-11-23\",\"average_pct\":90.0000,"
                        "\"target_pct\":100.0000}\n");
    free(marker);
    assert_int_equal(portfolio_alert_update(os, &below, date + 4, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_NONE);
    assert_int_equal(portfolio_alert_update(os, &above, date + 5, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_FIRE);
    /* no positions at all (sold): armed again */
    struct portfolio_signal none = {.target_pct = 100, .average_pct = NAN};
    assert_int_equal(portfolio_alert_update(os, &none, date + 6, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_RESET);
    /* a marker that cannot be read counts as armed: a repeat beats a miss */
    tu_write_file(path, "garbage", 7);
    assert_int_equal(portfolio_alert_update(os, &above, date + 7, &a, &d), 0);
    assert_int_equal(a, PORTFOLIO_ALERT_FIRE);
    objstore_free(os);
    tu_rmrf(dir);
    free(dir);
}

/* ---- against the simulator ---- */

struct simf {
    struct alpaca_sim *sim;
    struct alpaca_fault_set *faults;
    struct http_client *http;
    char url[64];
    struct trading_opts o;
};

static const char sim_portfolio[] =
    "{\"account\":{\"cash\":\"1000\"},\"positions\":["
    "{\"symbol\":\"BABA\",\"qty\":\"10\",\"avg_entry_price\":\"5\"},"
    "{\"symbol\":\"CABA\",\"qty\":\"-2\",\"avg_entry_price\":\"50\"},"
    "{\"symbol\":\"NOPE\",\"qty\":\"1\",\"avg_entry_price\":\"7\",\"current_price\":\"8\"}]}";

static int sim_setup(void **state)
{
    struct simf *f = calloc(1, sizeof *f);
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.nsymbols = 20;
    so.first_day = day("2025-11-20");
    so.last_day = day("2026-11-20");
    so.portfolio_json = sim_portfolio;
    int port;
    struct diag d;
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    if (alpaca_fault_set_new(&fo, &f->faults, &d))
        fail_msg("%s", d.text);
    so.hooks = alpaca_fault_set_hooks(f->faults);
    if (alpaca_sim_start(&so, &f->sim, &port, &d))
        fail_msg("%s", d.text);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", port);
    assert_int_equal(http_client_new(NULL, &f->http, &d), ERR_OK);
    trading_opts_default(&f->o);
    f->o.base_url = f->url;
    f->o.key_id = "SIMKEY";
    f->o.secret_key = "SIMSECRET";
    f->o.http = f->http;
    f->o.fetch.backoff_base_ms = 1;
    f->o.fetch.backoff_max_ms = 2;
    *state = f;
    return 0;
}

static int sim_teardown(void **state)
{
    struct simf *f = *state;
    alpaca_sim_stop(f->sim);
    alpaca_fault_set_free(f->faults);
    http_client_free(f->http);
    free(f);
    return 0;
}

static void set_fault(struct simf *f, const char *spec)
{
    struct alpaca_fault_trading t;
    struct diag d;
    assert_int_equal(alpaca_fault_trading_parse(spec, &t, &d), ERR_OK);
    assert_int_equal(alpaca_fault_set_trading(f->faults, &t, 1, &d), ERR_OK);
}

static void test_sim_fetch(void **state)
{
    struct simf *f = *state;
    struct trading_data t;
    struct diag d = {{0}};
    trading_data_init(&t);
    int err = trading_fetch(&f->o, TRADING_ACCOUNT | TRADING_POSITIONS, TRADING_HISTORY, &t, &d);
    if (err)
        fail_msg("%s", d.text);
    dump_problems(&t.problems);
    assert_int_equal(t.have, TRADING_ACCOUNT | TRADING_POSITIONS | TRADING_HISTORY);
    assert_int_equal(t.problems.n, 0);
    assert_int_equal(t.positions.n, 3);
    const struct trading_position *baba = &t.positions.v[0], *caba = &t.positions.v[1];
    assert_string_equal(baba->symbol, "BABA");
    assert_string_equal(caba->symbol, "CABA");
    assert_int_equal(caba->side, -1);
    assert_true(baba->current_price > 0);
    /* the account adds up: cash plus the market values, the history ends there */
    int64_t mv = 0;
    for (size_t i = 0; i < t.positions.n; i++)
        mv += t.positions.v[i].market_value;
    assert_true(t.account.equity == 1000000000LL + mv);
    assert_true(t.account.cash == 1000000000LL);
    assert_true(t.history.n >= 18 && t.history.n <= 23); /* a month of trading days */
    assert_int_equal(t.history.date[t.history.n - 1], day("2026-11-20"));
    assert_true(fabs(t.history.equity[t.history.n - 1] - (double)t.account.equity / 1e6) < 0.01);
    trading_data_release(&t);

    /* the positions change between runs */
    const char *now = "[{\"symbol\":\"DAB\",\"qty\":\"3\",\"avg_entry_price\":\"1\"}]";
    assert_int_equal(alpaca_sim_set_positions(f->sim, now, strlen(now), &d), ERR_OK);
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_POSITIONS, 0, &t, &d), ERR_OK);
    assert_int_equal(t.have, TRADING_POSITIONS);
    assert_int_equal(t.positions.n, 1);
    assert_string_equal(t.positions.v[0].symbol, "DAB");
    trading_data_release(&t);
    struct alpaca_fault_trading tf;
    static const char *const bad[] = {"bogus", "500@0", "500@1x0", "nulls@", "401x2", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(alpaca_fault_trading_parse(bad[i], &tf, &d), ERR_INVALID);
    assert_int_equal(alpaca_fault_trading_parse("garbage@3x2", &tf, &d), ERR_OK);
    assert_true(tf.kind == ALPACA_FAULT_TRADING_GARBAGE && tf.first == 3 && tf.count == 2);
    assert_int_equal(alpaca_sim_set_portfolio(f->sim, "[]", 2, &d), ERR_PARSE);
    assert_int_equal(alpaca_sim_set_positions(f->sim, "[1]", 3, &d), ERR_PARSE);
    assert_string_equal(d.text, "portfolio: position 1 is not an object");
}

static void test_sim_faults(void **state)
{
    struct simf *f = *state;
    struct trading_data t;
    struct diag d = {{0}};

    /* refused: no retry, a message that says what to check, no secret */
    set_fault(f, "401");
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_ACCOUNT, 0, &t, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "the Alpaca trading API refused the credentials"));
    assert_non_null(strstr(d.text, "HTTP 401"));
    assert_non_null(strstr(d.text, "request is not authorized"));
    assert_null(strstr(d.text, "SIMSECRET"));
    trading_data_release(&t);

    /* 500 twice, then the answer */
    set_fault(f, "500@1x2");
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_ACCOUNT, 0, &t, &d), ERR_OK);
    trading_data_release(&t);
    /* always 500: unavailable after the retries */
    set_fault(f, "500");
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_POSITIONS, 0, &t, &d), ERR_UNAVAILABLE);
    assert_non_null(strstr(d.text, "Alpaca positions"));
    trading_data_release(&t);
    /* a broken body is retried like a failure */
    set_fault(f, "malformed@1");
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_POSITIONS, 0, &t, &d), ERR_OK);
    assert_int_equal(t.positions.n, 3);
    trading_data_release(&t);
    set_fault(f, "malformed");
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&f->o, TRADING_ACCOUNT, 0, &t, &d), ERR_PARSE);
    trading_data_release(&t);

    /* fields missing, null, garbage: read, reported */
    static const char *const kinds[] = {"missing", "nulls", "garbage"};
    static const char *const why[] = {"is missing", "is null", "is not a decimal: 'abc'"};
    for (int k = 0; k < 3; k++) {
        set_fault(f, kinds[k]);
        trading_data_init(&t);
        assert_int_equal(
            trading_fetch(&f->o, TRADING_ACCOUNT | TRADING_POSITIONS, TRADING_HISTORY, &t, &d),
            ERR_OK);
        dump_problems(&t.problems);
        char want[80];
        snprintf(want, sizeof want, "account: 'last_equity' %s", why[k]);
        assert_true(has_problem(&t.problems, want));
        snprintf(want, sizeof want, "position BABA: 'current_price' %s", why[k]);
        assert_true(has_problem(&t.problems, want));
        assert_true(t.account.equity == TRADING_NONE);
        assert_int_equal(t.positions.n, 3);
        assert_true(t.positions.v[0].current_price == TRADING_NONE);
        /* what is left still says something: the return from qty and entry is unknown */
        assert_true(isnan(t.positions.v[0].return_pct));
        trading_data_release(&t);
    }

    /* an optional read that fails is a problem, not a failure */
    set_fault(f, "503@2");
    trading_data_init(&t);
    f->o.fetch.max_retries = 0;
    f->o.fetch.concurrency = 1;
    assert_int_equal(trading_fetch(&f->o, TRADING_ACCOUNT, TRADING_HISTORY, &t, &d), ERR_OK);
    assert_int_equal(t.have, TRADING_ACCOUNT);
    assert_true(has_problem(&t.problems, "portfolio history unavailable: HTTP 503"));
    trading_data_release(&t);
    f->o.fetch.max_retries = 3;
    f->o.fetch.concurrency = 3;
    assert_int_equal(alpaca_fault_set_trading(f->faults, NULL, 0, &d), ERR_OK);

    /* configuration */
    struct trading_opts o = f->o;
    o.secret_key = "";
    trading_data_init(&t);
    assert_int_equal(trading_fetch(&o, TRADING_ACCOUNT, 0, &t, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "APCA_API_SECRET_KEY"));
    o = f->o;
    o.base_url = "paper-api.alpaca.markets";
    assert_int_equal(trading_fetch(&o, TRADING_ACCOUNT, 0, &t, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "APCA_API_BASE_URL 'paper-api.alpaca.markets' is not"));
    o = f->o;
    o.secret_key = "WRONG";
    assert_int_equal(trading_fetch(&o, TRADING_ACCOUNT, 0, &t, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "HTTP 403"));
    trading_data_release(&t);
}

int main(void)
{
    log_setup(LOG_ERROR, LOG_FORMAT_JSON); /* the simulator's and retries' info lines */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_account),
        cmocka_unit_test(test_account_missing_and_null),
        cmocka_unit_test(test_account_not_an_object),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_positions_nulls_and_absent),
        cmocka_unit_test(test_positions_garbage),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_snapshot_date),
        cmocka_unit_test(test_snapshot_csv),
        cmocka_unit_test(test_snapshot_store),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_alert_marker),
        cmocka_unit_test_setup_teardown(test_sim_fetch, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_faults, sim_setup, sim_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
