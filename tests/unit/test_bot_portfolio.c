/* test_bot_portfolio.c - the bot's answers about the account (/portfolio, /account,
 * /monitor, the alert) exactly as users see them, including what Alpaca left out. */
#include "testutil.h"

#include "base/date.h"
#include "bot/format.h"
#include "bot/reply_account.h"

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

static void same(struct buf *b, const char *want)
{
    if (strcmp(buf_cstr(b), want) != 0)
        fail_msg("--- got:\n%s\n--- want:\n%s", buf_cstr(b), want);
    buf_reset(b);
}

static void test_money(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        int sign;
        const char *want;
    } cases[] = {
        {0, 0, "0.00"},
        {0, 1, "0.00"},
        {4999, 1, "0.00"},  /* half a cent and less: no sign on a zero */
        {5000, 1, "+0.01"}, /* half up, away from zero */
        {-5000, 0, "-0.01"},
        {1234567891000, 0, "1,234,567.89"},
        {-23140200000, 1, "-23,140.20"},
        {999999999, 0, "1,000.00"},
        {100000000, 1, "+100.00"},
        {INT64_MAX, 0, "9,223,372,036,854.78"},
        {INT64_MIN + 1, 0, "-9,223,372,036,854.78"},
        {TRADING_NONE, 1, "n/a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[48];
        bot_money(out, sizeof out, cases[i].v, cases[i].sign);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
    }
}

static struct portfolio_row prow(const char *sym, double qty, double entry, double now, int rank)
{
    struct portfolio_row r = {.qty = llround(qty * 1e6),
                              .avg_entry_price = llround(entry * 1e6),
                              .current_price = llround(now * 1e6),
                              .rank = rank,
                              .drawdown_pct = rank ? -30 : NAN};
    snprintf(r.symbol, sizeof r.symbol, "%s", sym);
    r.market_value = llround(qty * now * 1e6);
    r.unrealized_pl = llround(qty * (now - entry) * 1e6);
    r.return_pct = (now / entry - 1) * 100 * (qty < 0 ? -1 : 1);
    return r;
}

static void test_portfolio(void **state)
{
    (void)state;
    struct portfolio_row rows[] = {prow("AAA", 10, 5, 10.5, 12), prow("BRK.B", -2, 50, 46.96, 0),
                                   prow("CCC", 0.5, 100, 300, 1)};
    rows[2].current_price = TRADING_NONE;
    rows[2].market_value = TRADING_NONE;
    rows[2].return_pct = NAN;
    struct portfolio p = {.date = day("2026-11-20"),
                          .screen_date = day("2026-11-20"),
                          .screen_n = 987,
                          .rows = rows,
                          .n = 3};
    struct strvec pr = STRVEC_INIT;
    strvec_push(&pr, "position CCC: 'current_price' is null");
    strvec_push(&pr, "position CCC: 'market_value' is null");
    strvec_push(&pr, "position CCC: 'unrealized_plpc' is <null>");
    strvec_push(&pr, "position CCC: 'change_today' is null");
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(bot_portfolio_html(&b, &p, &pr), 0);
    same(&b, "<b>Portfolio</b> · 3 positions\n<pre>"
             "Symbol    Qty    Entry      Now  Return Rank\n"
             "AAA        10     5.00    10.50 +110.0%   12\n"
             "BRK.B      -2    50.00    46.96   +6.1%    -\n"
             "CCC       0.5   100.00      n/a     n/a    1\n"
             "</pre>\nValue n/a · unrealized P/L +161.08\n"
             "Rank: place among the 987 stocks of the 180-day drawdown screen of 2026-11-20 "
             "(- not in it).\n<i>Not all of Alpaca's answer was usable (n/a above): position "
             "CCC: 'current_price' is null; position CCC: 'market_value' is null; position CCC: "
             "'unrealized_plpc' is &lt;null&gt;; and 1 more.</i>");
    p.n = 0;
    p.screen_date = 0;
    assert_int_equal(bot_portfolio_html(&b, &p, NULL), 0);
    same(&b, "<b>Portfolio</b>\nNo open positions.");
    p.n = 1;
    assert_int_equal(bot_portfolio_html(&b, &p, NULL), 0);
    assert_non_null(strstr(buf_cstr(&b), "· 1 position\n"));
    assert_non_null(strstr(buf_cstr(&b), "Rank: no screen is stored yet."));
    strvec_release(&pr);
    buf_release(&b);
}

static void test_account(void **state)
{
    (void)state;
    struct trading_account a = {.account_number = "PA3XK9Q2M7ZB",
                                .status = "ACTIVE",
                                .equity = 101482170000LL,
                                .last_equity = 100947550000LL,
                                .cash = 25310420000LL,
                                .buying_power = 50620840000LL,
                                .trading_blocked = 0,
                                .account_blocked = -1};
    double eq[] = {100420.5, NAN, 99810.25, 101133.8};
    int64_t ts[4] = {0};
    int32_t dates[4] = {0};
    struct trading_history h = {.n = 4, .equity = eq, .time_s = ts, .date = dates};
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(bot_account_html(&b, &a, &h, NULL), 0);
    same(&b, "<b>Account</b> PA3XK9Q2M7ZB · ACTIVE\n<pre>"
             "Equity          101,482.17\n"
             "Cash             25,310.42\n"
             "Buying power     50,620.84\n"
             "Day P/L            +534.62 +0.5%\n</pre>\n"
             "Equity, last 3 trading days: ▄▁█\nlow 99,810.25, high 101,133.80");
    /* 2026: last_equity gone; a blocked account; a new one (last equity 0) */
    a.last_equity = TRADING_NONE;
    a.trading_blocked = 1;
    a.status[0] = '\0';
    assert_int_equal(bot_account_html(&b, &a, NULL, NULL), 0);
    same(&b, "<b>Account</b> PA3XK9Q2M7ZB\n<pre>"
             "Equity          101,482.17\n"
             "Cash             25,310.42\n"
             "Buying power     50,620.84\n"
             "Day P/L                n/a \n</pre>\nTrading is blocked on this account.");
    a.last_equity = 0;
    a.trading_blocked = 0;
    assert_int_equal(bot_account_html(&b, &a, NULL, NULL), 0);
    assert_non_null(strstr(buf_cstr(&b), "Day P/L        +101,482.17 \n"));
    buf_release(&b);
}

static void test_monitor_and_alert(void **state)
{
    (void)state;
    struct portfolio_row rows[] = {prow("AAA", 1, 10, 35, 0), prow("BBB", 1, 10, 20, 0),
                                   prow("CCC", 1, 10, 25, 0), prow("DDD", 1, 10, 5, 0),
                                   prow("EEE", 1, 10, 30, 0), prow("FFF", 1, 10, 12, 0),
                                   prow("GGG", 1, 10, 10, 0)};
    rows[6].return_pct = NAN;
    struct portfolio p = {.date = day("2026-11-20"), .rows = rows, .n = 7};
    struct portfolio_signal s;
    portfolio_signal(&p, 100, &s);
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(bot_monitor_html(&b, &p, &s, NULL), 0);
    same(&b, "<b>Sell signal</b> · target +100.0%\n<pre>"
             "  # Symbol     Return\n"
             "  1 AAA       +250.0%\n"
             "  2 EEE       +200.0%\n"
             "  3 CCC       +150.0%\n"
             "  4 BBB       +100.0%\n"
             "  5 FFF        +20.0%\n"
             "Average       +144.0%\n</pre>\n"
             "<b>Target reached</b>: the top 5 positions average +144.0%, at or above +100.0%. "
             "The strategy says: sell them.\n1 position is left out: the return is unknown.");
    assert_int_equal(bot_alert_html(&b, &p, &s), 0);
    same(&b, "<b>Sell signal</b> · 2026-11-20\nThe top 5 positions average <b>+144.0%</b>, at "
             "or above the profit target of +100.0%.\n<pre>"
             "  # Symbol     Return\n"
             "  1 AAA       +250.0%\n"
             "  2 EEE       +200.0%\n"
             "  3 CCC       +150.0%\n"
             "  4 BBB       +100.0%\n"
             "  5 FFF        +20.0%\n"
             "Average       +144.0%\n</pre>\n"
             "This alert comes once, the first day the target is reached; /monitor shows the "
             "signal any time.");
    /* two positions, below */
    p.n = 2;
    portfolio_signal(&p, 200, &s);
    assert_int_equal(bot_monitor_html(&b, &p, &s, NULL), 0);
    assert_non_null(strstr(buf_cstr(&b), "\nNot yet: the 2 positions with a known return average "
                                         "+175.0%, below the target of +200.0%."));
    buf_reset(&b);
    p.n = 0;
    portfolio_signal(&p, 100, &s);
    assert_int_equal(bot_monitor_html(&b, &p, &s, NULL), 0);
    same(&b, "<b>Sell signal</b> · target +100.0%\nNo open positions: nothing to sell.");
    p.rows = &rows[6];
    p.n = 1;
    portfolio_signal(&p, 100, &s);
    assert_int_equal(bot_monitor_html(&b, &p, &s, NULL), 0);
    same(&b, "<b>Sell signal</b> · target +100.0%\nNo position has a known return: no signal.");
    buf_release(&b);
}

static void test_fits_a_message(void **state)
{
    (void)state;
    /* A large portfolio splits into valid messages like any long reply. */
    struct portfolio_row rows[300];
    for (int i = 0; i < 300; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%03d", i);
        rows[i] = prow(sym, i + 1, 10, 11, i % 3 ? i : 0);
    }
    struct portfolio p = {.date = day("2026-11-20"),
                          .screen_date = day("2026-11-20"),
                          .screen_n = 1000,
                          .rows = rows,
                          .n = 300};
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(bot_portfolio_html(&b, &p, NULL), 0);
    struct strvec v = STRVEC_INIT;
    assert_int_equal(fmt_split(b.data, b.len, 4000, &v), 0);
    assert_true(v.n >= 4);
    for (size_t i = 0; i < v.n; i++) {
        /* What Telegram counts: the text shown, tags left out. */
        assert_true(fmt_visible_len(v.v[i], strlen(v.v[i])) <= 4000);
        assert_true(strstr(v.v[i], "<pre>") != NULL);
    }
    strvec_release(&v);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),          cmocka_unit_test(test_portfolio),
        cmocka_unit_test(test_account),        cmocka_unit_test(test_monitor_and_alert),
        cmocka_unit_test(test_fits_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
