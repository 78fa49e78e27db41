/* Unit tests: the bot's answers, computed from stored results, exactly as users see them. */
#include "testutil.h"

#include "backtest/backtest_results.h"
#include "base/date.h"
#include "bot/bot.h"
#include "bot/format.h"
#include "bot/subscribers.h"
#include "bot/webhook.h"
#include "report/report.h"
#include "screen/results.h"
#include "store/barstore.h"
#include "store/objstore.h"
#include "store/symlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct objstore *os;
    struct bot_opts o;
    int64_t allowed[2];
};

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

static struct screen_row row(const char *date, int rank, const char *sym, double close, double peak,
                             const char *peak_date, int days, double change)
{
    struct screen_row r = {.date = day(date),
                           .rank = rank,
                           .close = close,
                           .peak = peak,
                           .peak_date = day(peak_date),
                           .days_since_peak = days,
                           .change_pct = change,
                           .volume = 1000000};
    snprintf(r.symbol, sizeof r.symbol, "%s", sym);
    r.drawdown_pct = 100.0 * (close - peak) / peak;
    return r;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    struct diag d;
    assert_int_equal(objstore_local_open(f->dir, &f->os, &d), ERR_OK);
    f->allowed[0] = 42;
    f->allowed[1] = -1001;
    f->o = (struct bot_opts){.os = f->os,
                             .allowed_chats = f->allowed,
                             .nallowed = 2,
                             .username = "ScreenerBot",
                             /* 2026-11-23 12:00 New York: Monday, before the close */
                             .now_ms = 1795453200000LL};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    objstore_free(f->os);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Three days of results, a split of BBB (2-for-1 on 2026-11-20) between them. */
static void store_results(struct fixture *f)
{
    struct diag d;
    struct screen_row old[] = {
        row("2026-11-18", 1, "BBB", 40.00, 100.00, "2026-06-01", 100, -3.0),
        row("2026-11-18", 2, "AAA", 50.00, 80.00, "2026-07-01", 90, -1.0),
    };
    assert_int_equal(results_append_top(f->os, day("2026-11-18"), old, 2, 10, &d), ERR_OK);
    struct screen_row now[] = {
        row("2026-11-21", 1, "AAA", 40.00, 80.00, "2026-07-01", 92, -5.25),
        row("2026-11-21", 2, "BBB", 22.00, 50.00, "2026-06-01", 102, 1.5),
        row("2026-11-21", 3, "CCC", 95.00, 100.00, "2026-11-01", 14, -7.0),
        row("2026-11-21", 4, "DDD", 10.00, 10.00, "2026-11-21", 0, NAN),
    };
    assert_int_equal(results_write_screen(f->os, day("2026-11-21"), now, 4, 1, &d), ERR_OK);
    assert_int_equal(results_append_top(f->os, day("2026-11-21"), now, 4, 2, &d), ERR_OK);
    const char *closes = "symbol,date,closes\nAAA,2026-11-21,44;43;42;41;40\n";
    assert_int_equal(
        objstore_put(f->os, RESULTS_CLOSES_KEY, closes, strlen(closes), OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    struct barstore *bs;
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    struct split sp = {
        .symbol = "BBB", .ex_date = day("2026-11-20"), .new_rate = 2000000, .old_rate = 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(bs, &sp, 1, &added, &d), ERR_OK);
    barstore_free(bs);
    struct results_run run = {.finished_ms = 1795296000000LL, /* 2026-11-21 21:20 UTC */
                              .date = day("2026-11-21"),
                              .end = day("2026-11-21"),
                              .complete = 1,
                              .symbols = 1000,
                              .symbols_fetched = 998,
                              .symbols_failed = 2,
                              .bars_new = 998,
                              .requests = 3,
                              .retries = 1,
                              .errors = 2,
                              .duration_ms = 1500};
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
}

static struct tg_update msg(int64_t chat, const char *text)
{
    struct tg_update u;
    char json[512];
    snprintf(json, sizeof json,
             "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":%lld,\"type\":"
             "\"%s\"},\"date\":1,\"text\":\"%s\"}}",
             (long long)chat, chat < 0 ? "supergroup" : "private", text);
    struct diag d;
    assert_int_equal(tg_update_parse(json, strlen(json), &u, &d), ERR_OK);
    return u;
}

/* The one message answering text from chat. */
static char *ask(struct fixture *f, int64_t chat, const char *text)
{
    struct tg_update u = msg(chat, text);
    struct bot_reply r;
    bot_reply_init(&r);
    struct diag d;
    assert_int_equal(bot_handle(&f->o, &u, &r, &d), ERR_OK);
    assert_true(r.chat_id == chat);
    char *s = NULL;
    if (r.texts.n == 1)
        s = strdup(r.texts.v[0]);
    else
        assert_int_equal(r.texts.n, 0);
    bot_reply_release(&r);
    return s;
}

static void expect(struct fixture *f, int64_t chat, const char *text, const char *want)
{
    char *got = ask(f, chat, text);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s\n--- got:\n%s\n--- want:\n%s", text, got ? got : "(no reply)", want);
    free(got);
}

static void expect_has(struct fixture *f, int64_t chat, const char *text, const char *part)
{
    char *got = ask(f, chat, text);
    if (!got || !strstr(got, part))
        fail_msg("%s\n--- got:\n%s\n--- want a part:\n%s", text, got ? got : "(no reply)", part);
    free(got);
}

static void test_screen_and_drops(void **state)
{
    struct fixture *f = *state;
    expect_has(f, 7, "/screen", "No screen yet");
    store_results(f);
    expect(f, 7, "/screen 2",
           "<b>Worst 180-day drawdowns</b> · 2026-11-21 · 4 ranked\n<pre>"
           "  # Symbol      Close Drawdown  Days\n"
           "  1 AAA          40.00   -50.0%    92\n"
           "  2 BBB          22.00   -56.0%   102\n</pre>\n"
           "Drawdown: close vs the highest high of the last 180 days; Days: trading days since "
           "that peak. /stock SYMBOL for details.");
    /* Results built on bars fetched before their settle time say so (the run finished at
     * 16:20 New York, the day's bars final only from 20:15). */
    struct results_run run;
    struct diag d;
    assert_int_equal(results_read_run(f->os, &run, &d), ERR_OK);
    run.final_day = day("2026-11-20");
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
    expect_has(f, 7, "/screen 2",
               "<b>Worst 180-day drawdowns</b> · 2026-11-21 (as of 16:20, provisional) · 4 ranked");
    run.final_day = day("2026-11-21");
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
    /* Drops: by change, the symbol with no earlier bar left out. */
    expect(f, 7, "/drops",
           "<b>Worst one-day drops</b> · 2026-11-21 · 4 ranked\n<pre>"
           "  # Symbol      Close   Change Drawdown\n"
           "  1 CCC          95.00    -7.0%    -5.0%\n"
           "  2 AAA          40.00    -5.2%   -50.0%\n"
           "  3 BBB          22.00    +1.5%   -56.0%\n</pre>");
    expect(f, 7, "/screen 0", "Usage: /screen [N], N from 1 to 100 (default 10).");
    expect(f, 7, "/screen ten", "Usage: /screen [N], N from 1 to 100 (default 10).");
    expect(f, 7, "/drops 101", "Usage: /drops [N], N from 1 to 100 (default 10).");
}

static void test_stock(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    expect(f, 7, "/stock aaa",
           "<b>AAA</b> · 2026-11-21\n<pre>"
           "Close          40.00  (-5.2% on the day)\n"
           "Peak           80.00  on 2026-07-01\n"
           "Drawdown      -50.0%  92 trading days since the peak\n"
           "Rank               1  of 4 by drawdown\n</pre>\n"
           "Last 5 closes: █▆▅▃▁\nlow 40.00, high 44.00");
    expect(f, 7, "/stock ZZZ",
           "<b>ZZZ</b> is not in the screen of 2026-11-21: the universe does not have it, or "
           "it has no data.");
    expect(f, 7, "/stock", "Usage: /stock SYMBOL, e.g. /stock AAPL or /stock BRK.B");
    expect(f, 7, "/stock <b>", "Usage: /stock SYMBOL, e.g. /stock AAPL or /stock BRK.B");
}

static void test_history_adjusts_for_splits(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    /* BBB: 40.00 before a 2-for-1 split is 20.00 now, so 22.00 is +10%, not -45%. */
    expect(f, 7, "/history",
           "<b>Top candidates, last 2 days</b> · returns to 2026-11-21\n"
           "<pre>2026-11-18\n  # Symbol       Then      Now   Since\n"
           "  1 BBB          20.00    22.00  +10.0%\n"
           "  2 AAA          50.00    40.00  -20.0%\n"
           "Average -5.0% over 2\n</pre>\n"
           "<pre>2026-11-21\n  # Symbol       Then      Now   Since\n"
           "  1 AAA          40.00    40.00   +0.0%\n"
           "  2 BBB          22.00    22.00   +0.0%\n"
           "Average +0.0% over 2\n</pre>");
    expect_has(f, 7, "/history 1", "last 1 day</b>");
    expect(f, 7, "/history 31", "Usage: /history [N], N days from 1 to 30 (default 5).");
}

/* A candidate renamed since (OLDCO became NEWCO on 2026-11-20), with a 2-for-1 split recorded
 * under its old symbol the day before: valued at NEWCO's close, split-adjusted. */
static void test_history_follows_symbol_changes(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    struct screen_row old[] = {
        row("2026-11-18", 1, "OLDCO", 40.00, 100.00, "2026-06-01", 100, -3.0)};
    assert_int_equal(results_append_top(f->os, day("2026-11-18"), old, 1, 10, &d), ERR_OK);
    struct screen_row now[] = {row("2026-11-21", 1, "NEWCO", 22.00, 50.00, "2026-06-01", 102, 1.5)};
    assert_int_equal(results_write_screen(f->os, day("2026-11-21"), now, 1, 1, &d), ERR_OK);
    assert_int_equal(results_append_top(f->os, day("2026-11-21"), now, 1, 2, &d), ERR_OK);
    struct barstore *bs;
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    struct split sp = {
        .symbol = "OLDCO", .ex_date = day("2026-11-19"), .new_rate = 2000000, .old_rate = 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(bs, &sp, 1, &added, &d), ERR_OK);
    struct symchange c = {.old_symbol = "OLDCO", .new_symbol = "NEWCO", .date = day("2026-11-20")};
    assert_int_equal(symlog_write(bs, &c, 1, &added, &d), ERR_OK);
    barstore_free(bs);
    expect(f, 7, "/history",
           "<b>Top candidates, last 2 days</b> · returns to 2026-11-21\n"
           "<pre>2026-11-18\n  # Symbol       Then      Now   Since\n"
           "  1 OLDCO        20.00    22.00  +10.0%\n"
           "Average +10.0% over 1\n</pre>\n"
           "<pre>2026-11-21\n  # Symbol       Then      Now   Since\n"
           "  1 NEWCO        22.00    22.00   +0.0%\n"
           "Average +0.0% over 1\n</pre>");
}

static void test_stats_and_privileges(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    /* Not on the allow list. */
    expect(f, 7, "/stats",
           "/stats is only for the operator's chats. To allow this one, add 7 to "
           "TELEGRAM_ALLOWED_CHATS.");
    expect_has(f, 7, "/trigger", "/trigger is only for the operator's chats");
    expect_has(f, 7, "/portfolio", "/portfolio is only for the operator's chats");
    /* On it: data of Friday 2026-11-21 is current on Monday before the close. */
    expect(f, 42, "/stats",
           "<b>Last collection</b>\n<pre>"
           "Finished  2026-11-21 21:20 UTC (43 h ago)\n"
           "Data to   2026-11-21 (current)\n"
           "Symbols   1000 (998 fetched, 2 failed)\n"
           "Bars      998 new\n"
           "Requests  3 (1 retries, 2 errors)\n"
           "Duration  1.5 s\n"
           "Status    complete</pre>");
    /* A day later, after Tuesday's close, it is two trading days behind. */
    f->o.now_ms += 36 * 3600 * 1000LL;
    expect_has(f, -1001, "/stats", "Data to   2026-11-21 (2 trading days behind)");
    expect(f, 42, "/trigger", "This deployment cannot start a collection from the bot.");
    expect_has(f, 42, "/monitor", "Portfolio tracking is not set up");
    /* Private mode: everything but /start and /help needs the allow list. */
    f->o.restricted = 1;
    expect_has(f, 7, "/screen", "/screen is only for the operator's chats");
    expect_has(f, 7, "/help", "/screen [N]");
    expect_has(f, 42, "/screen", "Worst 180-day drawdowns");
}

static void test_help_and_unknown(void **state)
{
    struct fixture *f = *state;
    char *h = ask(f, 7, "/help");
    assert_non_null(strstr(h, "/stock SYMBOL — One stock"));
    assert_null(strstr(h, "/trigger")); /* privileged commands are not offered */
    free(h);
    h = ask(f, 42, "/start");
    assert_non_null(strstr(h, "ranks the Russell 1000"));
    assert_non_null(strstr(h, "/trigger — Start a collection now"));
    free(h);
    expect(f, 7, "/frobnicate", "Unknown command /frobnicate. Send /help to see what I can do.");
    expect(f, 7, "/x-y", "Unknown command. Send /help to see what I can do.");
    expect(f, 7, "hello", "I answer commands. Send /help to see them.");
    /* In a group only commands are for the bot, and only those for this bot. */
    char *none = ask(f, -1001, "hello");
    assert_null(none);
    none = ask(f, -1001, "/screen@OtherBot");
    assert_null(none);
    expect_has(f, -1001, "/help@screenerbot", "Commands");
}

/* Without TELEGRAM_BOT_USERNAME the bot learns its name (getMe, behind the hook): a command for
 * another bot is not run, one for this bot is, and plain commands do not ask. */
static int names_asked;
static const char *learned_name;

static const char *name_hook(void *ctx)
{
    (void)ctx;
    names_asked++;
    return learned_name;
}

static void test_other_bots_commands(void **state)
{
    struct fixture *f = *state;
    f->o.username = NULL;
    f->o.hooks.username = name_hook;
    names_asked = 0;
    learned_name = "screener_bot";
    assert_null(ask(f, -1001, "/trigger@other_bot"));
    assert_null(ask(f, -1001, "/help@other_bot"));
    expect_has(f, -1001, "/help@Screener_Bot", "Commands");
    assert_int_equal(names_asked, 3);
    expect_has(f, -1001, "/help", "Commands");
    assert_int_equal(names_asked, 3);
    /* The name cannot be learned: a command naming a bot may be another's; ignored. */
    learned_name = NULL;
    assert_null(ask(f, -1001, "/help@screener_bot"));
    expect_has(f, -1001, "/help", "Commands");
}

static int triggers, trigger_fails;

static int count_trigger(void *ctx, int64_t chat_id, struct buf *text, struct diag *d)
{
    (void)ctx;
    (void)chat_id;
    triggers++;
    if (trigger_fails)
        return diag_set(d, ERR_AUTH, "the collector could not be invoked");
    return buf_puts(text, "Collection started.");
}

/* /trigger starts one collection, then answers "already running" until it has finished, and
 * waits the cooldown after that. */
static void test_trigger_cooldown(void **state)
{
    struct fixture *f = *state;
    store_results(f); /* a run that finished before any /trigger */
    triggers = 0;
    f->o.hooks.trigger = count_trigger;
    expect(f, 42, "/trigger", "Collection started.");
    assert_int_equal(triggers, 1);
    f->o.now_ms += 60000;
    expect(f, 42, "/trigger",
           "A collection is already running (started at 17:00 UTC). /stats shows the last "
           "finished one.");
    assert_int_equal(triggers, 1);
    /* It finished: still the cooldown. */
    struct results_run run = {.date = day("2026-11-21"), .finished_ms = f->o.now_ms, .complete = 1};
    struct diag d;
    assert_int_equal(results_write_run(f->os, &run, &d), ERR_OK);
    f->o.now_ms += 60000;
    expect(f, 42, "/trigger",
           "A collection ran at 17:00 UTC. The next one can be started from 17:10 UTC (/trigger "
           "waits 10 minutes between runs).");
    assert_int_equal(triggers, 1);
    f->o.now_ms += 10 * 60000;
    expect(f, 42, "/trigger", "Collection started.");
    assert_int_equal(triggers, 2);
    /* A start that failed does not count: the next /trigger tries again at once. */
    f->o.now_ms += 11 * 60000;
    trigger_fails = 1;
    expect_has(f, 42, "/trigger", "Sorry, /trigger failed");
    trigger_fails = 0;
    expect(f, 42, "/trigger", "Collection started.");
    assert_int_equal(triggers, 4);
    f->o.hooks.trigger = NULL;
}

/* A store like S3's: links of about 1,650 characters (a presigned URL with a session token),
 * signed by credentials that expire at `limit`. */
struct s3ish {
    struct objstore base;
    struct objstore *inner;
    int64_t limit;
};

static int s3ish_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                     struct diag *d)
{
    return objstore_get(((struct s3ish *)os)->inner, key, out, etag, d);
}

static int s3ish_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                      struct diag *d)
{
    int e = buf_printf(out,
                       "https://bucket.s3.us-east-1.amazonaws.com/%s?X-Amz-Algorithm=AWS4-"
                       "HMAC-SHA256&X-Amz-Expires=%lld&X-Amz-Security-Token=",
                       key, (long long)expires_s);
    while (!e && out->len < 1650)
        e = buf_putc(out, 'Q');
    return e ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
}

static int64_t s3ish_limit(struct objstore *os)
{
    return ((struct s3ish *)os)->limit;
}

static const struct objstore_ops s3ish_ops = {
    .scheme = "s3", .get = s3ish_get, .link = s3ish_link, .link_limit_ms = s3ish_limit};

static void test_download_links(void **state)
{
    struct fixture *f = *state;
    struct s3ish s = {.base = {.ops = &s3ish_ops}, .inner = f->os};
    f->o.os = &s.base;
    /* Three long links are one message: Telegram counts the text shown, not the URLs. */
    char *got = ask(f, 7, "/download");
    assert_non_null(got);
    assert_true(strlen(got) > 3 * 1650);
    assert_true(fmt_visible_len(got, strlen(got)) < 400);
    assert_non_null(strstr(got, "Links are valid for 1 hour."));
    free(got);
    /* Credentials expiring in 20 minutes: the reply says so. */
    s.limit = f->o.now_ms + 20 * 60000 + 30000;
    expect_has(f, 7, "/download", "Links are valid for 20 minutes (until 17:20 UTC).");
    /* Temporary credentials with no known expiration: no promise of the hour. */
    s.limit = -1;
    expect_has(f, 7, "/download", "Links are valid for up to 1 hour (less if");
    f->o.os = f->os;
}

static void test_subscribe(void **state)
{
    struct fixture *f = *state;
    expect(f, 7, "/subscribe",
           "Subscribed: you will get the top 10 after each daily collection. /unsubscribe "
           "stops it.");
    expect(f, 7, "/subscribe", "You are already subscribed.");
    expect_has(f, 42, "/subscribe", "Subscribed");
    struct subscribers s = {0};
    struct diag d;
    assert_int_equal(subscribers_read(f->os, &s, &d), ERR_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].chat_id, 7);
    assert_int_equal(s.v[1].chat_id, 42);
    char day_s[DATE_STRLEN + 1];
    date_format(s.v[0].since, day_s);
    assert_string_equal(day_s, "2026-11-23");
    subscribers_release(&s);
    expect(f, 7, "/unsubscribe", "Unsubscribed: no more daily push.");
    expect(f, 7, "/unsubscribe", "You were not subscribed.");
    assert_int_equal(subscribers_read(f->os, &s, &d), ERR_OK);
    assert_int_equal(s.n, 1);
    subscribers_release(&s);

    /* A damaged file is reported, not rewritten. */
    const char *bad = "chat_id,since\n42,yesterday\n";
    assert_int_equal(
        objstore_put(f->os, SUBSCRIBERS_KEY, bad, strlen(bad), OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    expect(f, 7, "/subscribe", "Sorry, that did not work just now. Please try again later.");
    assert_int_equal(subscribers_read(f->os, &s, &d), ERR_PARSE);
    assert_non_null(strstr(d.text, "bot/subscribers.csv:2: field 'since'"));
    subscribers_release(&s);
}

/* The hooks: holdings only for allowed chats, the portfolio hook's answer or its failure. */
static int holdings_calls;

static int fake_holdings(void *ctx, char ***symbols, size_t *n, struct diag *d)
{
    (void)ctx;
    (void)d;
    holdings_calls++;
    *symbols = calloc(2, sizeof **symbols);
    (*symbols)[0] = strdup("AAA");
    (*symbols)[1] = strdup("ZZZ");
    *n = 2;
    return ERR_OK;
}

static int fake_portfolio(void *ctx, const char *command, struct buf *text, struct diag *d)
{
    (void)ctx;
    if (strcmp(command, "account") == 0)
        return diag_set(d, ERR_AUTH, "the Alpaca trading API refused the credentials <401>");
    return buf_printf(text, "answer to %s", command);
}

static void test_portfolio_hooks(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    expect(f, 42, "/portfolio",
           "Portfolio tracking is not set up on this deployment (it needs the Alpaca trading "
           "API keys).");
    f->o.hooks.holdings = fake_holdings;
    f->o.hooks.portfolio = fake_portfolio;
    holdings_calls = 0;
    expect(f, 7, "/screen 2",
           "<b>Worst 180-day drawdowns</b> · 2026-11-21 · 4 ranked\n<pre>"
           "  # Symbol      Close Drawdown  Days\n"
           "  1 AAA          40.00   -50.0%    92\n"
           "  2 BBB          22.00   -56.0%   102\n</pre>\n"
           "Drawdown: close vs the highest high of the last 180 days; Days: trading days since "
           "that peak. /stock SYMBOL for details.");
    assert_int_equal(holdings_calls, 0); /* a stranger: not even asked */
    expect(f, 42, "/screen 2",
           "<b>Worst 180-day drawdowns</b> · 2026-11-21 · 4 ranked\n<pre>"
           "  # Symbol      Close Drawdown  Days\n"
           "  1 AAA*         40.00   -50.0%    92\n"
           "  2 BBB          22.00   -56.0%   102\n</pre>\n* you hold it\n"
           "Drawdown: close vs the highest high of the last 180 days; Days: trading days since "
           "that peak. /stock SYMBOL for details.");
    assert_int_equal(holdings_calls, 1);
    expect(f, 42, "/portfolio", "answer to portfolio");
    expect(f, 42, "/monitor", "answer to monitor");
    expect(f, 42, "/account",
           "Sorry, /account failed: the Alpaca trading API refused the credentials &lt;401&gt;");
    expect_has(f, 7, "/monitor", "/monitor is only for the operator's chats");
}

static void test_long_screen_is_split(void **state)
{
    struct fixture *f = *state;
    struct screen_row rows[150];
    for (int i = 0; i < 150; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%03d", i);
        rows[i] = row("2026-11-21", i + 1, sym, 10.0 + i, 100.0, "2026-10-01", 30, -1.0);
    }
    struct diag d;
    assert_int_equal(results_write_screen(f->os, day("2026-11-21"), rows, 150, 1, &d), ERR_OK);
    struct tg_update u = msg(7, "/screen 100");
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&f->o, &u, &r, &d), ERR_OK);
    assert_true(r.texts.n >= 2);
    size_t lines = 0;
    for (size_t i = 0; i < r.texts.n; i++) {
        const char *t = r.texts.v[i];
        assert_true(fmt_utf16_len(t, strlen(t)) <= TG_MESSAGE_MAX);
        /* Each message balances its own table. */
        const char *open = strstr(t, "<pre>"), *close = strstr(t, "</pre>");
        assert_true((open == NULL) == (close == NULL));
        assert_true(!open || open < close);
        for (const char *p = t; (p = strstr(p, " S")); p++)
            lines += p[2] >= '0' && p[2] <= '9';
    }
    assert_int_equal(lines, 100);
    bot_reply_release(&r);
}

static void test_webhook(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    struct webhook w = {.bot = &f->o, .secret = "s3cret_Token-1"};
    const char *body = "{\"update_id\":77,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,"
                       "\"type\":\"private\"},\"date\":1,\"text\":\"/screen 1\"}}";
    struct webhook_answer a;
    static const char *const wrong[] = {NULL, "", "s3cret_Token-", "s3cret_Token-1 ",
                                        "S3CRET_TOKEN-1"};
    for (size_t i = 0; i < 5; i++) {
        webhook_answer_init(&a);
        webhook_handle(&w, wrong[i], body, strlen(body), &a);
        assert_int_equal(a.status, 401);
        assert_null(strstr(buf_cstr(&a.body), "sendMessage"));
        webhook_answer_release(&a);
    }
    webhook_answer_init(&a);
    webhook_handle(&w, "s3cret_Token-1", body, strlen(body), &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.outcome, "reply");
    assert_non_null(strstr(buf_cstr(&a.body), "{\"method\":\"sendMessage\",\"chat_id\":7,"
                                              "\"text\":\"<b>Worst 180-day drawdowns</b>"));
    webhook_answer_release(&a);
    /* The same update again (a redelivery): no second answer. */
    webhook_answer_init(&a);
    webhook_handle(&w, "s3cret_Token-1", body, strlen(body), &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.outcome, "duplicate");
    assert_int_equal(a.body.len, 0);
    webhook_answer_release(&a);
    /* Garbage and ignored kinds: 200 and nothing. */
    static const char *const quiet[] = {
        "not json", "{}", "[]", "{\"update_id\":78,\"edited_message\":{}}",
        "{\"update_id\":79,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,\"type\":"
        "\"private\"},\"date\":1,\"sticker\":{}}}"};
    for (size_t i = 0; i < 5; i++) {
        webhook_answer_init(&a);
        webhook_handle(&w, "s3cret_Token-1", quiet[i], strlen(quiet[i]), &a);
        assert_int_equal(a.status, 200);
        assert_int_equal(a.body.len, 0);
        webhook_answer_release(&a);
    }
    /* A reply of several messages without a Bot API client: logged, still 200. */
    const char *many = "{\"update_id\":80,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,"
                       "\"type\":\"private\"},\"date\":1,\"text\":\"/screen 100\"}}";
    struct screen_row rows[150];
    for (int i = 0; i < 150; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%03d", i);
        rows[i] = row("2026-11-21", i + 1, sym, 10.0 + i, 100.0, "2026-10-01", 30, -1.0);
    }
    struct diag d;
    assert_int_equal(results_write_screen(f->os, day("2026-11-21"), rows, 150, 1, &d), ERR_OK);
    webhook_answer_init(&a);
    webhook_handle(&w, "s3cret_Token-1", many, strlen(many), &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.outcome, "failed");
    webhook_answer_release(&a);
}

/* Telegram accepts a one-character secret; the bot insists on one that cannot be guessed. */
static void test_webhook_secret_strength(void **state)
{
    (void)state;
    struct diag d;
    assert_false(webhook_secret_valid("x"));
    assert_int_equal(webhook_secret_check("x", "TELEGRAM_WEBHOOK_SECRET", &d), ERR_AUTH);
    assert_non_null(
        strstr(d.text, "TELEGRAM_WEBHOOK_SECRET is too weak: 1 characters, at least 24"));
    assert_null(strstr(d.text, ": x"));
    assert_false(webhook_secret_valid("abcdefghijklmnopqrstuvw")); /* 23 */
    assert_true(webhook_secret_valid("abcdefghijklmnopqrstuvwx"));
    assert_true(webhook_secret_valid("A-Z_a-z_0-9_abcdefghijklmn"));
    assert_int_equal(webhook_secret_check("abcdefghijklmnopqrstuvwx!", "S", &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "position 25"));
    char big[300];
    memset(big, 'a', 257);
    big[257] = '\0';
    assert_int_equal(webhook_secret_check(big, "S", &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "at most 256"));
    big[256] = '\0';
    assert_int_equal(webhook_secret_check(big, "S", &d), ERR_OK);
}

static void test_cache_follows_the_file(void **state)
{
    struct fixture *f = *state;
    store_results(f);
    struct results_latest cache = {0};
    f->o.cache = &cache;
    expect_has(f, 7, "/screen 1", "  1 AAA          40.00");
    const struct screen_row *parsed = cache.screen.rows;
    assert_non_null(parsed);
    expect_has(f, 7, "/drops 1", "  1 CCC          95.00");
    assert_ptr_equal(cache.screen.rows, parsed); /* unchanged file: not parsed again */
    /* A new screen: the next answer shows it. */
    struct screen_row now[] = {row("2026-11-24", 1, "ZZZ", 5.00, 50.00, "2026-10-01", 40, -9.0)};
    struct diag d;
    assert_int_equal(results_write_screen(f->os, day("2026-11-24"), now, 1, 1, &d), ERR_OK);
    expect_has(f, 7, "/screen 1", "<b>Worst 180-day drawdowns</b> · 2026-11-24 · 1 ranked");
    expect_has(f, 7, "/stock zzz", "Rank               1  of 1 by drawdown");
    results_latest_release(&cache);
    f->o.cache = NULL;
}

static void test_report_link(void **state)
{
    struct fixture *f = *state;
    expect(f, 7, "/report", "No report yet: each collection writes one.");
    struct report_opts o = {.now_ms = f->o.now_ms};
    struct report_published p;
    struct diag d;
    store_results(f);
    assert_int_equal(report_publish(f->os, 0, &o, &p, &d), ERR_OK);
    char *got = ask(f, 7, "/report");
    assert_non_null(got);
    assert_non_null(strstr(got, "<b>Latest report</b>: <code>/"));
    assert_non_null(strstr(got, "/results/report/latest.html</code>"));
    free(got);
}

static void test_chart_photo(void **state)
{
    struct fixture *f = *state;
    expect(f, 7, "/chart", "Usage: /chart SYMBOL, e.g. /chart AAPL or /chart BRK.B");
    expect(f, 7, "/chart a<b", "Usage: /chart SYMBOL, e.g. /chart AAPL or /chart BRK.B");
    struct diag d;
    struct barstore *bs;
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    struct bar bars[40];
    for (int i = 0; i < 40; i++) {
        char day[DATE_STRLEN + 1];
        date_format(date_from_ymd(2026, 10, 1) + i, day);
        double c = i < 20 ? 50 + i : 70 - 2 * (i - 20);
        bars[i] = tu_bar("AAA", day, c, c + 1, c - 1, c, 1000);
    }
    struct barstore_write_stats st;
    assert_int_equal(barstore_write(bs, bars, 40, NULL, &st, &d), ERR_OK);
    /* /chart reads the results a collection writes, not the bar store. */
    assert_int_equal(results_write_exports(f->os, bs, date_from_ymd(2026, 11, 9), &d), ERR_OK);
    barstore_free(bs);
    expect(f, 7, "/chart zzz", "No prices of ZZZ in the last year.");
    struct tg_update u = msg(7, "/chart aaa");
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&f->o, &u, &r, &d), ERR_OK);
    assert_int_equal(r.texts.n, 0);
    assert_true(r.photo.len > 10000);
    assert_memory_equal(r.photo.data, "\x89PNG\r\n\x1a\n", 8);
    assert_string_equal(r.photo_name, "AAA.png");
    /* The last day, 2026-11-09: close 70 - 2 * 19 = 32; the peak the high of day 20
     * (70 + 1), 2026-10-21. */
    assert_string_equal(r.caption, "<b>AAA</b> 2026-11-09 · close 32.00 · -54.9% from the "
                                   "180-day peak 71.00 (2026-10-21)");
    bot_reply_release(&r);
}

static void store_backtest(struct fixture *f)
{
    struct backtest_stored s;
    memset(&s, 0, sizeof s);
    backtest_opts_default(&s.opts);
    s.computed_ms = 1795296300000LL; /* 2026-11-21 21:25 UTC */
    s.duration_ms = 800;
    s.sum = (struct backtest_summary){.start = day("2025-11-21"),
                                      .end = day("2026-11-20"),
                                      .trading_days = 251,
                                      .final_equity = 120000,
                                      .total_return_pct = 20,
                                      .cagr_pct = 20.04,
                                      .vol_pct = 18,
                                      .sharpe = 1.234,
                                      .max_drawdown_pct = -25,
                                      .trades = 7,
                                      .win_rate_pct = 400.0 / 7.0,
                                      .avg_hold_days = 30,
                                      .exposure_pct = 95,
                                      .benchmark_return_pct = 10};
    /* Strategy 100k, 110k, 90k, 120k; universe 100k, 100k, 105k, 110k: one scale from 90k to
     * 120k, levels round((v - 90k) / 30k * 7). */
    static const double eq[] = {100000, 110000, 90000, 120000},
                        bm[] = {100000, 100000, 105000, 110000};
    static const char *const dates[] = {"2025-11-21", "2026-02-20", "2026-06-19", "2026-11-20"};
    s.ncurve = 4;
    for (size_t i = 0; i < 4; i++) {
        s.curve_date[i] = day(dates[i]);
        s.curve_equity[i] = eq[i];
        s.curve_benchmark[i] = bm[i];
    }
    s.survivorship = 1;
    struct buf b = BUF_INIT(1 << 20);
    struct diag d;
    assert_int_equal(backtest_stored_json(&b, &s), ERR_OK);
    assert_int_equal(
        objstore_put(f->os, BACKTEST_SUMMARY_JSON_KEY, b.data, b.len, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    buf_release(&b);
}

static void test_backtest(void **state)
{
    struct fixture *f = *state;
    expect(f, 7, "/backtest",
           "No backtest yet: the collector has not produced one. Try again after the next "
           "collection (/stats shows the last run).");
    store_backtest(f);
    expect(f, 7, "/backtest",
           "<b>Backtest</b> · 2025-11-21 to 2026-11-20 (251 trading days)\n"
           "A replay of the strategy on the stored history, not real trades: every 5 trading "
           "days buy the top 10 of the screen, sell all when the best 5 average +100%; costs 5 "
           "bps a trade.\n"
           "<pre>               Strategy  Universe\n"
           "Total return     +20.0%    +10.0%\n"
           "CAGR             +20.0%    +10.0%\n"
           "Max drawdown     -25.0%\n"
           "Sharpe             1.23\n"
           "Trades                7  closed\n"
           "Win rate          57.1%\n</pre>"
           "Equity against the benchmark, one scale:\n"
           "<pre>Strategy ▃▆▁█\n"
           "Universe ▃▃▅▆\n"
           "         2025-11-21 … 2026-11-20</pre>\n"
           "low 90000, high 120000 (start 100000)\n"
           "Note: the candidates are today's universe on every date, so stocks that left the "
           "index are missing: survivorship bias flatters it.\n"
           "Computed 2026-11-21 21:25 UTC after the collection; /download has the equity and "
           "the trades.");
    /* A summary.json that is not one: an apology, not a crash. */
    struct diag d;
    assert_int_equal(
        objstore_put(f->os, BACKTEST_SUMMARY_JSON_KEY, "{\"top\":1}", 9, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    expect(f, 7, "/backtest",
           "Sorry, the backtest could not be read just now. Please try again later.");
    /* /help offers it. */
    expect_has(f, 7, "/help", "/backtest — Had you bought the list");
}

static void test_download_lists_the_backtest(void **state)
{
    struct fixture *f = *state;
    expect_has(f, 7, "/download", "• Backtest equity and benchmark, every day: not produced yet\n");
    struct diag d;
    const char *keys[] = {BACKTEST_SUMMARY_CSV_KEY, BACKTEST_EQUITY_KEY, BACKTEST_TRADES_KEY};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(objstore_put(f->os, keys[i], "x\n", 2, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    char *got = ask(f, 7, "/download");
    assert_non_null(strstr(got, "• Backtest summary: <code>"));
    assert_non_null(strstr(got, "results/backtest/summary.csv</code>\n"));
    assert_non_null(strstr(got, "results/backtest/equity.csv</code>\n"));
    assert_non_null(strstr(got, "• Backtest trades: <code>"));
    assert_non_null(strstr(got, "results/backtest/trades.csv</code>\n"));
    free(got);
}

static void test_parse_chats(void **state)
{
    (void)state;
    int64_t *v;
    size_t n;
    struct diag d;
    assert_int_equal(bot_parse_chats(" 42, -1001234567890123 ,7", &v, &n, &d), ERR_OK);
    assert_int_equal(n, 3);
    assert_true(v[1] == -1001234567890123LL);
    free(v);
    assert_int_equal(bot_parse_chats(NULL, &v, &n, &d), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bot_parse_chats("42,abc", &v, &n, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "'abc' is not a chat id"));
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_screen_and_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_adjusts_for_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_follows_symbol_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_and_privileges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bots_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_cooldown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portfolio_hooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_screen_is_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_follows_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chart_photo, setup, teardown),
        cmocka_unit_test(test_webhook_secret_strength),
        cmocka_unit_test_setup_teardown(test_backtest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_lists_the_backtest, setup, teardown),
        cmocka_unit_test(test_parse_chats),
    };
    return cmocka_run_group_tests_name("bot", tests, NULL, NULL);
}
