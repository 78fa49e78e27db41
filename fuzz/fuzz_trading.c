/* fuzz_trading.c - the trading API's parsers (account/trading.h) on arbitrary bytes: the
 * account, the positions and the portfolio history.
 *
 * Whatever the answer holds, what the parsers let through is usable: money within
 * TRADING_MONEY_MAX or TRADING_NONE, returns finite or NAN, positions with valid symbols,
 * sorted and one per symbol, history dates that format and parse back, strings
 * NUL-terminated within their arrays, and a problems list within its cap.
 */
#include "account/trading.h"
#include "base/date.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int money_ok(int64_t v)
{
    return v == TRADING_NONE || (v >= -TRADING_MONEY_MAX && v <= TRADING_MONEY_MAX);
}

static void check_problems(const struct strvec *p)
{
    CHECK(p->n <= TRADING_PROBLEMS_MAX + 1);
    for (size_t i = 0; i < p->n; i++)
        CHECK(p->v[i] && p->v[i][0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct diag d = {{0}};
    struct strvec pr = STRVEC_INIT;

    struct trading_account a;
    int err = trading_parse_account(text, size, &a, &pr, &d);
    if (err) {
        CHECK(fuzz_diag_ok(&d));
    } else {
        CHECK(money_ok(a.equity) && money_ok(a.last_equity) && money_ok(a.cash) &&
              money_ok(a.buying_power) && money_ok(a.long_market_value) &&
              money_ok(a.short_market_value));
        CHECK(memchr(a.status, '\0', sizeof a.status) && memchr(a.id, '\0', sizeof a.id) &&
              memchr(a.currency, '\0', sizeof a.currency) &&
              memchr(a.account_number, '\0', sizeof a.account_number));
        CHECK(a.trading_blocked >= -1 && a.trading_blocked <= 1);
    }
    check_problems(&pr);
    strvec_release(&pr);

    struct trading_positions p;
    err = trading_parse_positions(text, size, &p, &pr, &d);
    if (err) {
        CHECK(fuzz_diag_ok(&d));
        CHECK(p.v == NULL && p.n == 0);
    } else {
        for (size_t i = 0; i < p.n; i++) {
            const struct trading_position *x = &p.v[i];
            CHECK(bar_symbol_valid(x->symbol, strlen(x->symbol)));
            CHECK(i == 0 || strcmp(p.v[i - 1].symbol, x->symbol) < 0);
            CHECK(x->side == 1 || x->side == -1);
            CHECK(x->qty == TRADING_NONE || x->qty >= 0);
            CHECK(money_ok(x->qty) && money_ok(x->avg_entry_price) && money_ok(x->cost_basis) &&
                  money_ok(x->current_price) && money_ok(x->lastday_price) &&
                  money_ok(x->market_value) && money_ok(x->unrealized_pl));
            CHECK(isnan(x->return_pct) || isfinite(x->return_pct));
            CHECK(isnan(x->change_today_pct) || isfinite(x->change_today_pct));
        }
    }
    check_problems(&pr);
    trading_positions_release(&p);
    strvec_release(&pr);

    struct trading_history h;
    err = trading_parse_history(text, size, &h, &pr, &d);
    if (err) {
        CHECK(fuzz_diag_ok(&d));
    } else {
        CHECK(h.n <= TRADING_HISTORY_MAX);
        CHECK(memchr(h.timeframe, '\0', sizeof h.timeframe));
        for (size_t i = 0; i < h.n; i++) {
            char day[DATE_STRLEN + 1];
            int32_t again;
            date_format(h.date[i], day);
            CHECK(date_parse(day, DATE_STRLEN, &again) == ERR_OK && again == h.date[i]);
            CHECK(isnan(h.equity[i]) || isfinite(h.equity[i]));
            CHECK(isnan(h.pl_pct[i]) || isfinite(h.pl_pct[i]));
        }
    }
    check_problems(&pr);
    trading_history_release(&h);
    strvec_release(&pr);
    free(text);
    return 0;
}
