/* fuzz_stored.c - the account the collector stores for a bot without trading keys
 * (account/stored.h) on arbitrary bytes.
 *
 * Whatever the file holds, a refusal is a clear message, and what is let through is usable:
 * money within TRADING_MONEY_MAX or TRADING_NONE, positions with valid symbols, sorted and
 * one per symbol, returns and history finite or NAN, problems within their cap; and it
 * writes back to a file that reads back to the same bytes again.
 */
#include "account/stored.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int money_ok(int64_t v)
{
    return v == TRADING_NONE || (v >= -TRADING_MONEY_MAX && v <= TRADING_MONEY_MAX);
}

static void check_data(const struct trading_data *t)
{
    CHECK(t->have & TRADING_POSITIONS);
    const struct trading_account *a = &t->account;
    CHECK(money_ok(a->equity) && money_ok(a->last_equity) && money_ok(a->cash) &&
          money_ok(a->buying_power));
    CHECK(memchr(a->status, '\0', sizeof a->status) &&
          memchr(a->account_number, '\0', sizeof a->account_number) &&
          memchr(a->currency, '\0', sizeof a->currency));
    CHECK(a->trading_blocked >= -1 && a->trading_blocked <= 1);
    for (size_t i = 0; i < t->positions.n; i++) {
        const struct trading_position *x = &t->positions.v[i];
        CHECK(bar_symbol_valid(x->symbol, strlen(x->symbol)));
        CHECK(i == 0 || strcmp(t->positions.v[i - 1].symbol, x->symbol) < 0);
        CHECK(x->side == 1 || x->side == -1);
        CHECK(x->qty == TRADING_NONE || x->qty >= 0);
        CHECK(money_ok(x->qty) && money_ok(x->avg_entry_price) && money_ok(x->current_price) &&
              money_ok(x->market_value) && money_ok(x->unrealized_pl));
        CHECK(isnan(x->return_pct) || isfinite(x->return_pct));
    }
    for (size_t i = 0; i < t->history.n; i++)
        CHECK(isnan(t->history.equity[i]) || isfinite(t->history.equity[i]));
    CHECK(t->problems.n <= TRADING_PROBLEMS_MAX + 1);
    for (size_t i = 0; i < t->problems.n; i++)
        CHECK(t->problems.v[i] && t->problems.v[i][0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct diag d = {{0}};
    struct trading_data t, again;
    int err = account_stored_parse("f.json", text, size, &t, &d);
    free(text);
    if (err) {
        CHECK(fuzz_diag_ok(&d));
        CHECK(t.positions.v == NULL && t.problems.n == 0);
        return 0;
    }
    check_data(&t);
    /* Written back and read again, it writes the same bytes. */
    struct buf one = BUF_INIT(ACCOUNT_STORED_MAX), two = BUF_INIT(ACCOUNT_STORED_MAX);
    CHECK(account_stored_json(&t, &one) == ERR_OK);
    CHECK(account_stored_parse("one.json", one.data, one.len, &again, &d) == ERR_OK);
    CHECK(again.have == t.have && again.positions.n == t.positions.n);
    CHECK(account_stored_json(&again, &two) == ERR_OK);
    CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
    trading_data_release(&again);
    trading_data_release(&t);
    buf_release(&one);
    buf_release(&two);
    return 0;
}
