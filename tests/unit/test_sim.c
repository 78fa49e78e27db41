/* Unit tests: the synthetic market (calendar, determinism, validity, splits). */
#include "testutil.h"

#include "base/calendar.h"
#include "base/date.h"
#include "sim/market.h"

#include <string.h>

static int32_t day_of(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), 0);
    return d;
}

static void test_nyse_calendar(void **state)
{
    (void)state;
    /* NYSE's published counts of full trading days. */
    static const struct {
        int year, days;
    } years[] = {{2019, 252}, {2022, 251}, {2023, 250}, {2024, 252}};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int n = 0;
        for (int32_t d = date_from_ymd(years[i].year, 1, 1);
             d < date_from_ymd(years[i].year + 1, 1, 1); d++)
            n += cal_is_trading_day(d);
        assert_int_equal(n, years[i].days);
    }
    assert_false(cal_is_trading_day(day_of("2024-03-29"))); /* Good Friday */
    assert_false(cal_is_trading_day(day_of("2022-06-20"))); /* Juneteenth, observed */
    assert_false(cal_is_trading_day(day_of("2024-11-28"))); /* Thanksgiving */
    assert_true(cal_is_trading_day(day_of("2024-11-29")));
    assert_false(cal_is_trading_day(day_of("2024-11-30"))); /* a Saturday */
}

static void test_market_deterministic_and_valid(void **state)
{
    (void)state;
    struct market_opts o;
    market_opts_default(&o);
    o.nsymbols = 60;
    o.first_day = day_of("2023-01-01");
    o.last_day = day_of("2024-12-31");
    struct market *a, *b;
    struct diag d;
    assert_int_equal(market_new(&o, &a, &d), ERR_OK);
    assert_int_equal(market_new(&o, &b, &d), ERR_OK);
    size_t nsplits;
    const struct split *sp = market_splits(a, &nsplits);
    assert_true(nsplits >= 1);
    struct barvec x, y;
    barvec_init(&x);
    barvec_init(&y);
    int32_t dx, dy;
    int days = 0;
    size_t bars = 0;
    while (market_next_day(a, &dx, &x) == ERR_OK) {
        assert_int_equal(market_next_day(b, &dy, &y), ERR_OK);
        assert_int_equal(dx, dy);
        assert_true(cal_is_trading_day(dx));
        assert_int_equal(x.n, 60);
        for (size_t i = 0; i < x.n; i++) {
            assert_true(bar_equal(&x.v[i], &y.v[i]));
            assert_int_equal(bar_validate(&x.v[i], &d), ERR_OK);
            if (i)
                assert_true(strcmp(x.v[i - 1].symbol, x.v[i].symbol) < 0);
        }
        bars += x.n;
        days++;
    }
    assert_int_equal(days, 250 + 252);
    assert_int_equal(bars, (size_t)days * 60);
    assert_int_equal(market_next_day(b, &dy, &y), ERR_EOF);
    /* Every split names a symbol of the market and falls on a trading day. */
    for (size_t i = 0; i < nsplits; i++) {
        int found = 0;
        for (size_t k = 0; k < market_nsymbols(a); k++)
            found |= strcmp(market_symbol(a, k), sp[i].symbol) == 0;
        assert_true(found);
        assert_true(cal_is_trading_day(sp[i].ex_date));
    }
    barvec_release(&x);
    barvec_release(&y);
    market_free(a);
    market_free(b);
}

/* The longest market the demo offers (--years 50): the walk stays where shares trade, every
 * bar valid, far under MARKET_PRICE_MAX (without the pull, a few stocks of 200 compounded past
 * $1 billion a share in 50 years). */
static void test_market_long_stays_in_range(void **state)
{
    (void)state;
    struct market_opts o;
    market_opts_default(&o);
    o.nsymbols = 200;
    o.last_day = day_of("2026-11-20");
    o.first_day = day_of("1976-11-20");
    struct market *m;
    struct diag d;
    assert_int_equal(market_new(&o, &m, &d), ERR_OK);
    struct barvec v;
    barvec_init(&v);
    int32_t day;
    int64_t high = 0;
    size_t bars = 0;
    while (market_next_day(m, &day, &v) == ERR_OK) {
        for (size_t i = 0; i < v.n; i++) {
            if (bar_validate(&v.v[i], &d) != ERR_OK)
                fail_msg("%s on day %d: %s", v.v[i].symbol, (int)day, d.text);
            if (v.v[i].high > high)
                high = v.v[i].high;
        }
        bars += v.n;
    }
    assert_true(bars > 200 * 12000);
    /* The pull starts at $20,000: nothing gets far past it. */
    if (high > (int64_t)100000 * 1000000)
        fail_msg("a price of $%lld a share", (long long)(high / 1000000));
    assert_true(high < MARKET_PRICE_MAX);
    barvec_release(&v);
    market_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nyse_calendar),
        cmocka_unit_test(test_market_deterministic_and_valid),
        cmocka_unit_test(test_market_long_stays_in_range),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
