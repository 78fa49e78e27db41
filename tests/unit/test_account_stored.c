/* test_account_stored.c - the account the collector stores for a bot without trading keys
 * (account/stored.h) and the bot's answers from it (bot/reply_stored.h): the format read
 * back exactly, bad files refused with the place named, and answers that state their time,
 * say when nothing is stored and never fail on a bad file. */
#include "testutil.h"

#include "account/stored.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/reply_stored.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-12-04 21:31:07 UTC: 16:31 in New York (EST). */
static int64_t taken_ms(void)
{
    return (int64_t)date_from_ymd(2026, 12, 4) * 86400000 + ((21 * 60 + 31) * 60 + 7) * 1000LL;
}

static void add_position(struct trading_data *t, const char *sym, int side, double qty,
                         double entry, double now, double ret)
{
    struct trading_positions *ps = &t->positions;
    ps->v = realloc(ps->v, (ps->n + 1) * sizeof *ps->v);
    assert_non_null(ps->v);
    struct trading_position *p = &ps->v[ps->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->symbol, sizeof p->symbol, "%s", sym);
    p->side = side;
    p->qty = llround(qty * 1e6);
    p->avg_entry_price = llround(entry * 1e6);
    p->current_price = isnan(now) ? TRADING_NONE : llround(now * 1e6);
    p->market_value = isnan(now) ? TRADING_NONE : llround(qty * now * 1e6);
    p->unrealized_pl = TRADING_NONE;
    p->cost_basis = p->lastday_price = TRADING_NONE;
    p->return_pct = ret;
    p->change_today_pct = NAN;
}

/* An account with two positions (one short, one without a price), a history with a gap and
 * a problem; have says which parts were read. */
static void sample(struct trading_data *t, unsigned have)
{
    trading_data_init(t);
    t->have = have;
    t->fetched_ms = taken_ms();
    struct trading_account *a = &t->account;
    snprintf(a->account_number, sizeof a->account_number, "PA\"1<x>");
    snprintf(a->status, sizeof a->status, "ACTIVE");
    snprintf(a->currency, sizeof a->currency, "USD");
    a->equity = 105250500000;
    a->last_equity = 100000000000;
    a->cash = TRADING_NONE;
    a->buying_power = 1234567;
    a->long_market_value = a->short_market_value = TRADING_NONE;
    a->trading_blocked = 0;
    a->account_blocked = -1;
    add_position(t, "AAA", 1, 10, 5, 10.5, 110);
    add_position(t, "BRK.B", -1, 2, 50, 46.96, 6.08);
    add_position(t, "CCC", 1, 0.5, 100, NAN, NAN);
    if (have & TRADING_HISTORY) {
        t->history.n = 3;
        t->history.equity = calloc(3, sizeof(double));
        assert_non_null(t->history.equity);
        t->history.equity[0] = 100000;
        t->history.equity[1] = NAN;
        t->history.equity[2] = 105250.5;
    }
    assert_int_equal(strvec_push(&t->problems, "account: 'cash' is missing"), 0);
    assert_int_equal(strvec_push(&t->problems, "position CCC: 'current_price' is null"), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct trading_data t, back;
    sample(&t, TRADING_ACCOUNT | TRADING_POSITIONS | TRADING_HISTORY);
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(account_stored_json(&t, &b), 0);
    assert_non_null(strstr(buf_cstr(&b), "\"taken\":\"2026-12-04T21:31:07Z\""));
    struct diag d = {{0}};
    int err = account_stored_parse("x.json", b.data, b.len, &back, &d);
    if (err)
        fail_msg("%s\n%s", d.text, buf_cstr(&b));
    assert_int_equal(back.have, t.have);
    assert_int_equal(back.fetched_ms, t.fetched_ms);
    assert_string_equal(back.account.account_number, "PA\"1<x>");
    assert_string_equal(back.account.status, "ACTIVE");
    assert_true(back.account.equity == t.account.equity);
    assert_true(back.account.last_equity == t.account.last_equity);
    assert_true(back.account.cash == TRADING_NONE);
    assert_true(back.account.buying_power == 1234567);
    assert_int_equal(back.account.trading_blocked, 0);
    assert_int_equal(back.account.account_blocked, -1);
    assert_int_equal(back.positions.n, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct trading_position *p = &t.positions.v[i], *q = &back.positions.v[i];
        assert_string_equal(q->symbol, p->symbol);
        assert_int_equal(q->side, p->side);
        assert_true(q->qty == p->qty && q->avg_entry_price == p->avg_entry_price &&
                    q->current_price == p->current_price && q->market_value == p->market_value &&
                    q->unrealized_pl == p->unrealized_pl);
        if (isnan(p->return_pct))
            assert_true(isnan(q->return_pct));
        else
            assert_true(fabs(q->return_pct - p->return_pct) < 1e-6);
    }
    assert_int_equal(back.history.n, 3);
    assert_true(back.history.equity[0] == 100000 && isnan(back.history.equity[1]) &&
                back.history.equity[2] == 105250.5);
    assert_int_equal(back.problems.n, 2);
    assert_string_equal(back.problems.v[0], "account: 'cash' is missing");
    assert_string_equal(back.problems.v[1], "position CCC: 'current_price' is null");

    /* Without the account and history: absent, and read back as not read. */
    trading_data_release(&back);
    t.have = TRADING_POSITIONS;
    buf_reset(&b);
    assert_int_equal(account_stored_json(&t, &b), 0);
    assert_null(strstr(buf_cstr(&b), "\"account\""));
    assert_int_equal(account_stored_parse("x.json", b.data, b.len, &back, &d), 0);
    assert_int_equal(back.have, TRADING_POSITIONS);
    trading_data_release(&back);
    trading_data_release(&t);
    buf_release(&b);
}

static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "x.json: "},
        {"{\"taken_ms\":1796", "x.json: "},
        {"[]", "bad document"},
        {"{\"positions\":[]}", "bad 'taken_ms'"},
        {"{\"taken_ms\":\"1796419867000\",\"positions\":[]}", "bad 'taken_ms'"},
        {"{\"taken_ms\":12,\"positions\":[]}", "bad 'taken_ms'"},
        {"{\"taken_ms\":1796419867000}", "bad 'positions'"},
        {"{\"taken_ms\":1796419867000,\"positions\":{}}", "bad 'positions'"},
        {"{\"taken_ms\":1796419867000,\"positions\":[7]}", "positions[0]: not an object"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"a b\",\"side\":\"long\"}]}",
         "positions[0]: bad symbol"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"AAA\",\"side\":\"up\"}]}",
         "positions[0]: bad side"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"AAA\",\"side\":\"long\","
         "\"qty\":\"1.2.3\"}]}",
         "positions[0]: bad qty"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"AAA\",\"side\":\"long\","
         "\"qty\":\"-1\"}]}",
         "positions[0]: bad qty"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"AAA\",\"side\":\"long\","
         "\"return_pct\":12.5}]}",
         "positions[0]: bad return_pct"},
        {"{\"taken_ms\":1796419867000,\"positions\":[{\"symbol\":\"BBB\",\"side\":\"long\"},"
         "{\"symbol\":\"AAA\",\"side\":\"long\"}]}",
         "positions[1]: not sorted by symbol"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"account\":[]}", "bad 'account'"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"account\":{\"equity\":\"9e99\"}}",
         "bad account.equity"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"account\":{\"trading_blocked\":1}}",
         "bad account.trading_blocked"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"history\":{\"equity\":[\"1\"]}}",
         "history.equity[0]: not a number"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"history\":[]}", "bad 'history'"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"problems\":\"x\"}", "bad 'problems'"},
        {"{\"taken_ms\":1796419867000,\"positions\":[],\"problems\":[\"\"]}",
         "problems[0]: not a non-empty string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct trading_data t;
        struct diag d = {{0}};
        int err = account_stored_parse("x.json", cases[i].text, strlen(cases[i].text), &t, &d);
        if (err != ERR_PARSE || strncmp(d.text, "x.json: ", 8) != 0 ||
            !strstr(d.text, cases[i].want))
            fail_msg("case %zu: err %d '%s', want ERR_PARSE with '%s'", i, err, d.text,
                     cases[i].want);
        assert_int_equal(t.positions.n, 0);
    }
}

struct store {
    char *dir;
    struct objstore *os;
};

static void store_open(struct store *s)
{
    s->dir = tu_mkdtemp();
    struct diag d = {{0}};
    assert_int_equal(objstore_open(s->dir, &s->os, &d), 0);
}

static void store_close(struct store *s)
{
    objstore_free(s->os);
    tu_rmrf(s->dir);
    free(s->dir);
}

static const char *answer(struct store *s, const char *command, struct buf *b)
{
    struct diag d = {{0}};
    buf_reset(b);
    int err = bot_stored_answer(s->os, command, b, &d);
    if (err)
        fail_msg("/%s: %s", command, d.text);
    return buf_cstr(b);
}

static void contains(const char *got, const char *want)
{
    if (!strstr(got, want))
        fail_msg("--- got:\n%s\n--- want it to contain:\n%s", got, want);
}

static void test_answers(void **state)
{
    (void)state;
    unsetenv("SCREENER_PROFIT_TARGET");
    FILE *logf = tmpfile();
    assert_non_null(logf);
    log_set_stream(logf);
    struct store s;
    store_open(&s);
    struct buf b = BUF_INIT(1 << 16);
    static const char *const cmds[] = {"portfolio", "account", "monitor"};
    struct diag d = {{0}};
    char **held;
    size_t nheld;

    /* Nothing stored yet. */
    for (size_t i = 0; i < 3; i++)
        contains(answer(&s, cmds[i], &b), "Nothing is stored yet");
    assert_int_equal(bot_stored_holdings(s.os, &held, &nheld, &d), 0);
    assert_int_equal(nheld, 0);

    /* Stored: each answer states its time. */
    struct trading_data t;
    sample(&t, TRADING_ACCOUNT | TRADING_POSITIONS | TRADING_HISTORY);
    assert_int_equal(account_stored_write(s.os, &t, &d), 0);
    const char *when = "As of 2026-12-04 16:31 New York, from the last collection.";
    const char *got = answer(&s, "portfolio", &b);
    contains(got, "<b>Portfolio</b> · 3 positions");
    contains(got, "BRK.B");
    contains(got, when);
    /* Each answer notes what Alpaca left out of its own part only. */
    contains(got, "(n/a above): position CCC: 'current_price' is null.</i>");
    got = answer(&s, "account", &b);
    contains(got, "<b>Account</b> PA&quot;1&lt;x&gt; · ACTIVE");
    contains(got, "105,250.50");
    contains(got, "Equity, last 2 trading days");
    contains(got, "(n/a above): account: 'cash' is missing.</i>");
    contains(got, when);
    got = answer(&s, "monitor", &b);
    contains(got, "Sell signal");
    contains(got, "Not yet: the 2 positions with a known return average +58.0%");
    contains(got, when);
    assert_int_equal(bot_stored_holdings(s.os, &held, &nheld, &d), 0);
    assert_int_equal(nheld, 3);
    assert_string_equal(held[1], "BRK.B");
    for (size_t i = 0; i < nheld; i++)
        free(held[i]);
    free(held);

    /* The account not read by that collection: /account says so, dated; the others answer. */
    t.have = TRADING_POSITIONS;
    assert_int_equal(account_stored_write(s.os, &t, &d), 0);
    got = answer(&s, "account", &b);
    contains(got, "could not read the account");
    contains(got, when);
    contains(answer(&s, "portfolio", &b), when);
    trading_data_release(&t);

    /* A file that cannot be read: an answer naming it and why, for every command. */
    static const char *const bad[] = {"", "{\"taken_ms\":", "{\"taken_ms\":1796419867000}",
                                      "\xff\xfe garbage"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(objstore_put(s.os, ACCOUNT_STORED_KEY, bad[k], strlen(bad[k]),
                                      OBJ_PUT_ALWAYS, NULL, &d),
                         0);
        for (size_t i = 0; i < 3; i++) {
            got = answer(&s, cmds[i], &b);
            contains(got, "cannot be read (results/account/latest.json: ");
            contains(got, "The next collection replaces it");
        }
        assert_int_equal(bot_stored_holdings(s.os, &held, &nheld, &d), ERR_PARSE);
        assert_int_equal(nheld, 0);
    }

    /* A bad profit target fails /monitor with the variable named, as a live answer does. */
    sample(&t, TRADING_POSITIONS);
    assert_int_equal(account_stored_write(s.os, &t, &d), 0);
    trading_data_release(&t);
    setenv("SCREENER_PROFIT_TARGET", "lots", 1);
    buf_reset(&b);
    assert_int_equal(bot_stored_answer(s.os, "monitor", &b, &d), ERR_USAGE);
    contains(d.text, "SCREENER_PROFIT_TARGET");
    unsetenv("SCREENER_PROFIT_TARGET");

    /* Each unreadable file was also a warning for the operator. */
    log_set_stream(stderr);
    rewind(logf);
    char line[1024];
    int warned = 0;
    while (fgets(line, sizeof line, logf))
        warned += strstr(line, "the stored account cannot be read") != NULL;
    fclose(logf);
    assert_int_equal(warned, 4 * 3);

    buf_release(&b);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
