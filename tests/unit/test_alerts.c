/* Unit tests: each chat's alerts (bot/alerts.h): the commands as users see them, the stored
 * file, and the evaluation after a collection against the fake Bot API on hand-built
 * screens: crossing, re-arming, reruns, revisions, racing collectors (real processes),
 * blocked chats, refused messages and the deadline. */
#include "testutil.h"

#include "base/date.h"
#include "bot/alerts.h"
#include "bot/bot.h"
#include "bot/telegram.h"
#include "bot/webhook.h"
#include "daily/notify.h"
#include "net/http.h"
#include "screen/results.h"
#include "fakes/telegram_fake.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "123456789:AAF-fake_Token_for_tests"

struct fixture {
    char *dir;
    struct objstore *os;
    struct bot_opts o;
    int64_t allowed[1];
    struct tg_fake *fake;
    char base[64];
    struct http_client *http;
    struct tg_client *tg;
};

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

/* A stock of the screen of date: close against a peak of 100 on 2026-06-01. */
struct quote {
    const char *symbol;
    double close, change;
};

static void write_screen(struct fixture *f, const char *date, const struct quote *q, size_t n)
{
    struct screen_row rows[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        rows[i] = (struct screen_row){.date = day(date),
                                      .rank = (int)i + 1,
                                      .close = q[i].close,
                                      .peak = 100.0,
                                      .peak_date = day("2026-06-01"),
                                      .days_since_peak = 100,
                                      .change_pct = q[i].change,
                                      .volume = 1000};
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "%s", q[i].symbol);
        rows[i].drawdown_pct = q[i].close - 100.0;
    }
    /* rank order: by drawdown */
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i - 1].drawdown_pct <= rows[i].drawdown_pct);
    struct diag d;
    assert_int_equal(results_write_screen(f->os, day(date), rows, n, 1, &d), ERR_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    struct diag d;
    assert_int_equal(objstore_local_open(f->dir, &f->os, &d), ERR_OK);
    f->allowed[0] = 42;
    f->o = (struct bot_opts){
        .os = f->os, .allowed_chats = f->allowed, .nallowed = 1, .now_ms = 1795453200000LL};
    struct tg_fake_opts fo = {.token = TOKEN};
    int port;
    assert_int_equal(tg_fake_start(&fo, &f->fake, &port, &d), ERR_OK);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", port);
    assert_int_equal(http_client_new(NULL, &f->http, &d), ERR_OK);
    struct tg_opts to;
    tg_opts_default(&to);
    to.api_url = f->base;
    to.token = TOKEN;
    to.http = f->http;
    to.fetch.max_retries = 0;
    assert_int_equal(tg_new(&to, &f->tg, &d), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tg_free(f->tg);
    http_client_free(f->http);
    tg_fake_stop(f->fake);
    objstore_free(f->os);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *ask(struct fixture *f, int64_t chat, const char *text)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":%lld,\"type\":"
             "\"private\"},\"date\":1,\"text\":\"%s\"}}",
             (long long)chat, text);
    struct tg_update u;
    struct diag d;
    assert_int_equal(tg_update_parse(json, strlen(json), &u, &d), ERR_OK);
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&f->o, &u, &r, &d), ERR_OK);
    assert_int_equal(r.texts.n, 1);
    char *s = strdup(r.texts.v[0]);
    bot_reply_release(&r);
    return s;
}

static void expect_has(struct fixture *f, int64_t chat, const char *text, const char *part)
{
    char *got = ask(f, chat, text);
    if (!strstr(got, part))
        fail_msg("%s\n--- got:\n%s\n--- want a part:\n%s", text, got, part);
    free(got);
}

static const struct quote day1[] = {{"AAA", 60.0, -2.0}, {"BRK.B", 75.0, -6.0}, {"CCC", 90.0, NAN}};

/* ---- the threshold and the file ---- */

static void test_threshold(void **state)
{
    (void)state;
    int32_t t = 0;
    assert_int_equal(alerts_parse_threshold("-30", &t), 0);
    assert_int_equal(t, -3000);
    assert_int_equal(alerts_parse_threshold("-7.5", &t), 0);
    assert_int_equal(t, -750);
    assert_int_equal(alerts_parse_threshold("-12.25%", &t), 0);
    assert_int_equal(t, -1225);
    assert_int_equal(alerts_parse_threshold("-100", &t), 0);
    assert_int_equal(t, -10000);
    static const char *const malformed[] = {"",       "-",   "abc",   "-30x", "-3.",  "-.5",
                                            "-1.234", "--3", "-30%%", "-1e2", "- 30", "-12345"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
        assert_int_equal(alerts_parse_threshold(malformed[i], &t), -1);
    assert_int_equal(alerts_parse_threshold("30", &t), 1);
    assert_int_equal(alerts_parse_threshold("+30", &t), 1);
    assert_int_equal(alerts_parse_threshold("-0", &t), 1);
    assert_int_equal(alerts_parse_threshold("0.00", &t), 1);
    assert_int_equal(alerts_parse_threshold("-100.01", &t), 2);
    char s[16];
    alerts_format_threshold(-3000, s, sizeof s);
    assert_string_equal(s, "-30%");
    alerts_format_threshold(-750, s, sizeof s);
    assert_string_equal(s, "-7.5%");
    alerts_format_threshold(-1205, s, sizeof s);
    assert_string_equal(s, "-12.05%");
}

static void test_file(void **state)
{
    (void)state;
    const char *good = "symbol,kind,threshold,state,fired,checked\n"
                       "AAA,drawdown,-30,armed,,2026-11-20\n"
                       "BRK.B,drop,-7.5,pending,2026-11-21,2026-11-21\n"
                       "AAA,drop,-5,fired,2026-11-19,2026-11-21\n";
    struct alerts a;
    struct diag d;
    assert_int_equal(alerts_parse("x", good, strlen(good), &a, &d), ERR_OK);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.v[1].symbol, "BRK.B");
    assert_int_equal(a.v[1].kind, ALERT_DROP);
    assert_int_equal(a.v[1].threshold, -750);
    assert_int_equal(a.v[1].state, ALERT_PENDING);
    assert_int_equal(a.v[1].fired, day("2026-11-21"));
    assert_int_equal(a.v[0].fired, 0);
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(alerts_format(&a, &b), 0);
    assert_string_equal(buf_cstr(&b), good);
    buf_release(&b);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "x:1: expected the header"},
        {"symbol,kind\n", "x:1: expected the header"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drawdown,-30,armed,,", "no newline"},
        {"symbol,kind,threshold,state,fired,checked\naaa,drawdown,-30,armed,,\n",
         "x:2: field 'symbol'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,fall,-30,armed,,\n", "x:2: field 'kind'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,30,armed,,\n",
         "x:2: field 'threshold'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30%,armed,,\n",
         "x:2: field 'threshold'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,sleeping,,\n",
         "x:2: field 'state'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,fired,,\n", "needs the date"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,armed,2026-13-01,\n",
         "x:2: field 'fired'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,armed,,x\n",
         "x:2: field 'checked'"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,armed,\n", "expected 6 fields"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-30,armed,,,\n", "more than 6"},
        {"symbol,kind,threshold,state,fired,checked\nAAA,drop,-3,armed,,\nAAA,drop,-4,armed,,\n",
         "x:3: a second drop alert on AAA"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        diag_clear(&d);
        assert_int_equal(alerts_parse("x", bad[i].text, strlen(bad[i].text), &a, &d), ERR_PARSE);
        if (!strstr(d.text, bad[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, d.text, bad[i].msg);
    }
    struct buf many = BUF_INIT(1 << 16);
    assert_int_equal(buf_puts(&many, "symbol,kind,threshold,state,fired,checked\n"), 0);
    for (int i = 0; i <= ALERTS_PER_CHAT; i++)
        assert_int_equal(buf_printf(&many, "S%d,drop,-3,armed,,\n", i), 0);
    assert_int_equal(alerts_parse("x", many.data, many.len, &a, &d), ERR_TOOBIG);
    buf_release(&many);
}

/* ---- the commands ---- */

static void test_commands(void **state)
{
    struct fixture *f = *state;
    expect_has(f, 7, "/alerts", "You have no alerts.");
    write_screen(f, "2026-11-20", day1, 3);
    expect_has(f, 7, "/alerts", "You have no alerts. e.g. /alert AAPL -30");
    expect_has(f, 7, "/alert aaa -30",
               "Alert set: <b>AAA</b> 180-day drawdown at or below -30% (-40.0% on 2026-11-20).\n"
               "It is there already");
    expect_has(f, 7, "/alert BRK.B drop -7.5",
               "Alert set: <b>BRK.B</b> one-day change at or below -7.5% (-6.0% on 2026-11-20)");
    expect_has(f, 7, "/alert AAA -45",
               "Alert changed: <b>AAA</b> 180-day drawdown at or below -45%");
    expect_has(f, 7, "/alert  CCC   drawdown  -5% ", "Alert set: <b>CCC</b>");
    char *list = ask(f, 7, "/alerts");
    assert_non_null(strstr(list, "<b>Your alerts</b> · 3 of 50 · values of 2026-11-20\n<pre>"));
    assert_non_null(strstr(list, "AAA      drawdown    -45%  -40.0%  armed\n"));
    assert_non_null(strstr(list, "BRK.B    drop       -7.5%   -6.0%  armed\n"));
    assert_non_null(strstr(list, "CCC      drawdown     -5%  -10.0%  armed\n"));
    free(list);
    /* another chat sees only its own */
    expect_has(f, 8, "/alerts", "You have no alerts");

    /* bad arguments: a clear answer with an example, nothing stored */
    static const struct {
        const char *text, *answer;
    } bad[] = {
        {"/alert", "Usage: /alert SYMBOL PCT or /alert SYMBOL drop PCT, e.g. /alert AAPL -30"},
        {"/alert AAA", "Usage: /alert SYMBOL PCT"},
        {"/alert AAA drop -3 now", "Usage: /alert SYMBOL PCT"},
        {"/alert AAA 30", "'30' is not below zero: an alert fires on a fall; e.g. /alert AAPL -30"},
        {"/alert AAA drop 5", "'5' is not below zero"},
        {"/alert AAA thirty", "'thirty' is not a percentage (a number such as -30 or -7.5); e.g."},
        {"/alert AAA -150", "'-150' is below -100%"},
        {"/alert AAA rise -5", "'rise' is not a kind of alert"},
        {"/alert a<b> -5", "'a&lt;b&gt;' is not a symbol: e.g. /alert AAPL -30"},
        {"/alert ZZZZ -30", "<b>ZZZZ</b> is not in the screen of 2026-11-20"},
        {"/unalert", "Usage: /unalert SYMBOL or /unalert all, e.g. /unalert AAPL."},
        {"/unalert AAA BBB", "Usage: /unalert SYMBOL"},
        {"/unalert ZZZ", "You have no alert on <b>ZZZ</b>"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_has(f, 7, bad[i].text, bad[i].answer);
    struct alerts a;
    struct diag d;
    assert_int_equal(alerts_read(f->os, 7, &a, &d), ERR_OK);
    assert_int_equal(a.n, 3);

    expect_has(f, 7, "/unalert aaa", "Removed your alert on <b>AAA</b>.");
    expect_has(f, 7, "/unalert all", "Removed all your alerts (2).");
    expect_has(f, 7, "/unalert all", "You have no alerts.");
    assert_int_equal(alerts_read(f->os, 7, &a, &d), ERR_OK);
    assert_int_equal(a.n, 0);

    /* /help and the command list have them */
    expect_has(f, 7, "/help", "/alert SYMBOL [drop] PCT — ");
    expect_has(f, 7, "/help", "/alerts — ");
    expect_has(f, 7, "/help", "/unalert SYMBOL|all — ");
    struct buf cmds = BUF_INIT(1 << 16);
    assert_int_equal(bot_commands_json(&cmds), 0);
    assert_non_null(strstr(buf_cstr(&cmds), "{\"command\":\"alert\""));
    assert_non_null(strstr(buf_cstr(&cmds), "{\"command\":\"unalert\""));
    buf_release(&cmds);

    /* open to every chat; with TELEGRAM_PRIVATE only to allowed ones */
    f->o.restricted = 1;
    expect_has(f, 7, "/alert AAA -30", "/alert is only for the operator's chats");
    expect_has(f, 42, "/alert AAA -30", "Alert set");
    f->o.restricted = 0;
}

static void test_limit(void **state)
{
    struct fixture *f = *state;
    struct quote q[1] = {{"AAA", 60.0, -2.0}};
    write_screen(f, "2026-11-20", q, 1);
    struct diag d;
    for (int i = 0; i < ALERTS_PER_CHAT; i++) {
        struct alert a = {.symbol = "AAA", .kind = ALERT_DROP, .threshold = -(i + 1) * 10};
        snprintf(a.symbol, sizeof a.symbol, "S%d", i);
        int replaced;
        assert_int_equal(alerts_set(f->os, 7, &a, &replaced, &d), ERR_OK);
        assert_false(replaced);
    }
    expect_has(f, 7, "/alert AAA -30", "You have 50 alerts, the most a chat can have.");
    /* replacing one of the 50 is still fine */
    struct alert a = {.symbol = "S3", .kind = ALERT_DROP, .threshold = -500};
    int replaced;
    assert_int_equal(alerts_set(f->os, 7, &a, &replaced, &d), ERR_OK);
    assert_true(replaced);
    expect_has(f, 7, "/unalert S0", "Removed");
    expect_has(f, 7, "/alert AAA -30", "Alert set");
    expect_has(f, 7, "/alerts", "50 of 50");
}

/* ---- a write whose answer is lost ---- */

/* A store whose next conditional write goes through but answers as S3 does when the answer
 * was lost and the client sent the write again: refused, the object being already so. */
struct lossy {
    struct objstore base;
    struct objstore *inner;
    int armed;
};

static int lossy_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                     struct diag *d)
{
    return objstore_get(((struct lossy *)os)->inner, key, out, etag, d);
}

static int lossy_put(struct objstore *os, const char *key, const void *data, size_t len,
                     enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct lossy *l = (struct lossy *)os;
    int err = objstore_put(l->inner, key, data, len, mode, if_match, d);
    if (!err && l->armed && mode != OBJ_PUT_ALWAYS) {
        l->armed = 0;
        return diag_set(d, mode == OBJ_PUT_CREATE ? ERR_EXISTS : ERR_PRECONDITION,
                        "S3 PUT %s: HTTP 412 PreconditionFailed", key);
    }
    return err;
}

static int lossy_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct lossy *)os)->inner, prefix, keys, d);
}

static int lossy_del(struct objstore *os, const char *key, struct diag *d)
{
    return objstore_del(((struct lossy *)os)->inner, key, d);
}

static void lossy_free(struct objstore *os)
{
    (void)os;
}

static const struct objstore_ops lossy_ops = {.scheme = "file",
                                              .get = lossy_get,
                                              .put = lossy_put,
                                              .list = lossy_list,
                                              .del = lossy_del,
                                              .free = lossy_free};

/* A subscription or an alert changed by a write that S3 took but whose answer was lost: the
 * write sent again is refused, the next reading finds the change made, and the user is told
 * it was made, not that there was nothing to do. */
static void test_answer_lost(void **state)
{
    struct fixture *f = *state;
    write_screen(f, "2026-11-20", day1, 3);
    struct lossy l = {.base = {.ops = &lossy_ops}, .inner = f->os};
    snprintf(l.base.location, sizeof l.base.location, "%s", f->os->location);
    f->o.os = &l.base;
    static const struct {
        const char *text, *want;
    } steps[] = {
        {"/subscribe", "Subscribed: you will get the top 10"},
        {"/unsubscribe", "Unsubscribed: no more daily push."},
        {"/subscribe", "Subscribed: you will get the top 10"},
        {"/alert AAA -30", "Alert set: <b>AAA</b>"},
        {"/alert AAA -40", "Alert changed: <b>AAA</b>"},
        {"/alert CCC drop -5", "Alert set: <b>CCC</b>"},
        {"/unalert AAA", "Removed your alert on <b>AAA</b>."},
        {"/alert AAA -30", "Alert set: <b>AAA</b>"},
        {"/unalert all", "Removed all your alerts (2)."},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        l.armed = 1;
        expect_has(f, 7, steps[i].text, steps[i].want);
        assert_false(l.armed); /* the write's answer was lost */
    }
    /* and the store holds what the answers said */
    expect_has(f, 7, "/alerts", "You have no alerts.");
    expect_has(f, 7, "/subscribe", "You are already subscribed.");
    f->o.os = f->os;
}

/* ---- the evaluation ---- */

static size_t sent_to(struct fixture *f, int64_t chat, const char *part)
{
    struct buf b = BUF_INIT((size_t)1 << 24);
    assert_int_equal(tg_fake_calls_json(f->fake, &b), 0);
    char want[64];
    snprintf(want, sizeof want, "\"chat_id\":\"%lld\"", (long long)chat);
    if (!strstr(b.data, want))
        snprintf(want, sizeof want, "\"chat_id\":%lld", (long long)chat);
    if (getenv("DUMP_CALLS"))
        fprintf(stderr, "%s\n", b.data);
    size_t n = 0;
    for (const char *p = b.data; (p = strstr(p, "\"method\":\"sendMessage\"")) != NULL; p++) {
        const char *end = strstr(p + 1, "\"method\":");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *rec = strndup(p, len);
        if (strstr(rec, want) && (!part || strstr(rec, part)) && strstr(rec, "\"status\":200"))
            n++;
        free(rec);
    }
    buf_release(&b);
    return n;
}

static struct alerts_stats run(struct fixture *f, int64_t deadline_ms)
{
    struct alerts_run_opts o = {.deadline_ms = deadline_ms};
    struct alerts_stats st;
    struct diag d;
    int err = alerts_run(f->os, f->tg, &o, &st, &d);
    if (err)
        fail_msg("alerts_run: %s", d.text);
    return st;
}

static void screen_of(struct fixture *f, const char *date, double aaa_close, double aaa_change)
{
    struct quote q[] = {{"AAA", aaa_close, aaa_change}, {"ZZZ", 99.0, 0.5}};
    write_screen(f, date, q, 2);
}

static void test_crossing_and_rearming(void **state)
{
    struct fixture *f = *state;
    screen_of(f, "2026-11-16", 80.0, -1.0); /* -20% */
    expect_has(f, 7, "/alert AAA -30", "Alert set");
    expect_has(f, 7, "/alert AAA drop -5", "Alert set");
    expect_has(f, 9, "/alert AAA -25", "Alert set");
    struct alerts_stats st = run(f, 0);
    assert_int_equal(st.chats, 2);
    assert_int_equal(st.alerts, 3);
    assert_int_equal(st.fired + st.sent, 0);
    assert_int_equal(tg_fake_ncalls(f->fake), 0);

    /* -31%: chat 7's drawdown alert and chat 9's cross; the -4% change does not */
    screen_of(f, "2026-11-17", 69.0, -4.0);
    st = run(f, 0);
    assert_int_equal(st.fired, 2);
    assert_int_equal(st.sent, 2);
    assert_int_equal(sent_to(f, 7, NULL), 1);
    assert_int_equal(sent_to(f, 9, NULL), 1);
    assert_int_equal(sent_to(f, 7,
                             "<b>Alert</b> · <b>AAA</b> · 2026-11-17\\nIts 180-day drawdown is "
                             "<b>-31.0%</b>, at or below "
                             "your threshold of -30%.\\nClose 69.00 · peak 100.00 on 2026-06-01 "
                             "(drawdown -31.0%)\\n/stock AAA for details."),
                     1);
    char *list = ask(f, 7, "/alerts");
    assert_non_null(strstr(list, "AAA      drawdown    -30%  -31.0%  fired 2026-11-17\n"));
    free(list);

    /* a rerun of the same day sends nothing */
    st = run(f, 0);
    assert_int_equal(st.fired + st.sent, 0);
    assert_int_equal(tg_fake_ncalls(f->fake), 2);

    /* a revision of the day's bars, back above and below again: nothing */
    screen_of(f, "2026-11-17", 72.0, -4.0);
    st = run(f, 0);
    assert_int_equal(st.rearmed, 0);
    screen_of(f, "2026-11-17", 65.0, -4.0);
    st = run(f, 0);
    assert_int_equal(st.fired + st.sent, 0);

    /* still below the next day: nothing; the -6% day fires the drop alert */
    screen_of(f, "2026-11-18", 62.0, -6.0);
    st = run(f, 0);
    assert_int_equal(st.fired, 1);
    assert_int_equal(
        sent_to(f, 7, "one-day change is <b>-6.0%</b>, at or below your threshold of -5%"), 1);
    assert_int_equal(tg_fake_ncalls(f->fake), 3);

    /* back above: re-armed, silently */
    screen_of(f, "2026-11-19", 71.0, 14.5);
    st = run(f, 0);
    assert_int_equal(st.rearmed, 2); /* chat 7's drawdown and drop; chat 9 (-25%) still below */
    assert_int_equal(tg_fake_ncalls(f->fake), 3);
    /* an older date than the one evaluated (a slower collector) changes nothing */
    struct alerts_run_opts o = {.date = day("2026-11-17")};
    struct diag d;
    assert_int_equal(alerts_run(f->os, f->tg, &o, &st, &d), ERR_OK);
    assert_int_equal(st.fired + st.sent + st.rearmed, 0);

    /* exactly at the threshold: fires again, once */
    screen_of(f, "2026-11-20", 70.0, -1.0);
    st = run(f, 0);
    assert_int_equal(st.fired, 1);
    assert_int_equal(sent_to(f, 7, "Its 180-day drawdown is <b>-30.0%</b>"), 1);

    assert_int_equal(sent_to(f, 7, NULL), 3);
    assert_int_equal(sent_to(f, 9, NULL), 1);

    /* a new threshold on the day the old one fired is a new alert: it fires once; set again
     * the same day, the rerun sends nothing */
    expect_has(f, 7, "/alert AAA -29", "Alert changed");
    st = run(f, 0);
    assert_int_equal(sent_to(f, 7, "your threshold of -29%"), 1);
    st = run(f, 0);
    assert_int_equal(st.sent, 0);
    expect_has(f, 7, "/alert AAA -29", "Alert changed");
    st = run(f, 0);
    assert_int_equal(st.sent, 0);
    assert_int_equal(sent_to(f, 7, NULL), 4);
}

/* After a collection the daily job evaluates the alerts on the screened date; when the run
 * record shows that date's bars fetched before their settle time, the message says so. */
static void test_provisional_from_the_run_record(void **state)
{
    struct fixture *f = *state;
    setenv("TELEGRAM_BOT_TOKEN", TOKEN, 1);
    setenv("TELEGRAM_API_URL", f->base, 1);
    setenv("SCREENER_SSM", "0", 1);
    screen_of(f, "2026-11-16", 80.0, -1.0);
    expect_has(f, 7, "/alert AAA -30", "Alert set");
    expect_has(f, 9, "/alert AAA -25", "Alert set");
    struct diag d;
    assert_int_equal(notify_user_alerts(f->os, f->http, day("2026-11-16"), 0, &d), ERR_OK);
    assert_int_equal(tg_fake_ncalls(f->fake), 0);

    /* 2026-11-17 screened at 16:30: the last final day is the 16th. */
    screen_of(f, "2026-11-17", 72.0, -4.0); /* -28%: chat 9 crosses */
    struct results_run r;
    memset(&r, 0, sizeof r);
    r.date = day("2026-11-17");
    r.final_day = day("2026-11-16");
    assert_int_equal(results_write_run(f->os, &r, &d), ERR_OK);
    assert_int_equal(notify_user_alerts(f->os, f->http, day("2026-11-17"), 0, &d), ERR_OK);
    assert_int_equal(sent_to(f, 9, "provisional"), 1);

    /* 2026-11-18 screened after its settle time: final, and the message does not say so. */
    screen_of(f, "2026-11-18", 69.0, -4.0); /* -31%: chat 7 crosses */
    r.date = r.final_day = day("2026-11-18");
    assert_int_equal(results_write_run(f->os, &r, &d), ERR_OK);
    assert_int_equal(notify_user_alerts(f->os, f->http, day("2026-11-18"), 0, &d), ERR_OK);
    assert_int_equal(sent_to(f, 7, NULL), 1);
    assert_int_equal(sent_to(f, 7, "provisional"), 0);
    unsetenv("TELEGRAM_BOT_TOKEN");
    unsetenv("TELEGRAM_API_URL");
    unsetenv("SCREENER_SSM");
}

static void test_blocked_chat(void **state)
{
    struct fixture *f = *state;
    screen_of(f, "2026-11-16", 80.0, -1.0);
    expect_has(f, 7, "/alert AAA -30", "Alert set");
    expect_has(f, 7, "/alert AAA drop -3", "Alert set");
    expect_has(f, 9, "/alert AAA -30", "Alert set");
    struct tg_fake_fault blocked = {.method = "sendMessage",
                                    .chat_id = "7",
                                    .status = 403,
                                    .description = "Forbidden: bot was blocked by the user",
                                    .count = -1};
    struct diag d;
    assert_int_equal(tg_fake_add_fault(f->fake, &blocked, &d), ERR_OK);
    screen_of(f, "2026-11-17", 60.0, -5.0);
    struct alerts_stats st = run(f, 0);
    assert_int_equal(st.chats_blocked, 1);
    assert_int_equal(st.sent, 1);
    assert_int_equal(sent_to(f, 9, NULL), 1);
    struct buf b = BUF_INIT(1 << 16);
    char key[OBJ_KEY_MAX];
    struct alerts left;
    assert_int_equal(alerts_read(f->os, 7, &left, &d), ERR_OK);
    assert_int_equal(left.n, 0);
    alerts_key(9, key);
    assert_int_equal(objstore_get(f->os, key, &b, NULL, &d), ERR_OK);
    buf_release(&b);
    /* one 403 for chat 7, not one per alert */
    assert_int_equal(tg_fake_ncalls(f->fake), 2);
}

/* Telegram refusing a message (400, 5xx) leaves it pending for the next run; the deadline
 * leaves the rest pending too. */
static void test_refused_and_deadline(void **state)
{
    struct fixture *f = *state;
    screen_of(f, "2026-11-16", 80.0, -1.0);
    expect_has(f, 7, "/alert AAA -30", "Alert set");
    expect_has(f, 9, "/alert AAA -30", "Alert set");
    struct tg_fake_fault refuse = {.method = "sendMessage", .chat_id = "7", .status = 500};
    struct diag d;
    assert_int_equal(tg_fake_add_fault(f->fake, &refuse, &d), ERR_OK);
    screen_of(f, "2026-11-17", 60.0, -5.0);
    struct alerts_stats st = run(f, 0);
    assert_int_equal(st.fired, 2);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 1);
    expect_has(f, 7, "/alerts", "due 2026-11-17");
    st = run(f, 0);
    assert_int_equal(st.sent, 1);
    assert_int_equal(sent_to(f, 7, "2026-11-17"), 1);
    assert_int_equal(sent_to(f, 9, NULL), 1);

    /* past the deadline: nothing is sent, both stay pending, the next run sends them */
    screen_of(f, "2026-11-18", 80.0, -1.0);
    st = run(f, 0);
    assert_int_equal(st.rearmed, 2);
    screen_of(f, "2026-11-19", 60.0, -1.0);
    size_t before = tg_fake_ncalls(f->fake);
    st = run(f, 1); /* 1970: long past */
    assert_int_equal(st.fired, 2);
    assert_int_equal(st.deferred, 2);
    assert_int_equal(st.sent, 0);
    assert_int_equal(tg_fake_ncalls(f->fake), before);
    st = run(f, (int64_t)1 << 62);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.deferred, 0);
    assert_int_equal(sent_to(f, 7, "2026-11-19"), 1);
    assert_int_equal(sent_to(f, 9, "2026-11-19"), 1);

    /* left pending by the deadline, then the day's bars are revised back above: nothing is
     * sent (it would not be true), the alert counts as fired and re-arms on a later day */
    screen_of(f, "2026-11-20", 80.0, -1.0);
    st = run(f, 0);
    assert_int_equal(st.rearmed, 2);
    screen_of(f, "2026-11-23", 60.0, -1.0);
    st = run(f, 1);
    assert_int_equal(st.deferred, 2);
    screen_of(f, "2026-11-23", 75.0, -1.0);
    before = tg_fake_ncalls(f->fake);
    st = run(f, 0);
    assert_int_equal(st.sent, 0);
    assert_int_equal(tg_fake_ncalls(f->fake), before);
    expect_has(f, 7, "/alerts", "fired 2026-11-23");
    screen_of(f, "2026-11-24", 75.0, -1.0);
    st = run(f, 0);
    assert_int_equal(st.rearmed, 2);
}

/* Collectors finishing at the same moment, each in its own process with its own store
 * handle and client: every crossing is sent once. */
static void test_racing_collectors(void **state)
{
    struct fixture *f = *state;
    enum { CHATS = 6, PROCS = 4, ROUNDS = 3 };
    screen_of(f, "2026-11-16", 80.0, -1.0);
    for (int c = 1; c <= CHATS; c++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "/alert AAA -%d", 25 + c);
        expect_has(f, c, cmd, "Alert set");
        expect_has(f, c, "/alert AAA drop -3", "Alert set");
    }
    static const char *const days[ROUNDS][2] = {
        {"2026-11-17", "2026-11-18"}, {"2026-11-19", "2026-11-20"}, {"2026-11-23", "2026-11-24"}};
    for (int round = 0; round < ROUNDS; round++) {
        screen_of(f, days[round][0], 80.0, 1.0); /* above: re-arms */
        run(f, 0);
        screen_of(f, days[round][1], 60.0, -5.0); /* every alert crosses */
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pid[PROCS];
        for (int p = 0; p < PROCS; p++) {
            pid[p] = fork();
            assert_true(pid[p] >= 0);
            if (pid[p] == 0) {
                close(go[1]);
                char c;
                if (read(go[0], &c, 1) != 0) /* EOF: everyone starts */
                    _exit(3);
                struct objstore *os;
                struct http_client *http;
                struct tg_client *tg;
                struct diag d;
                struct tg_opts to;
                tg_opts_default(&to);
                to.api_url = f->base;
                to.token = TOKEN;
                if (objstore_local_open(f->dir, &os, &d) || http_client_new(NULL, &http, &d))
                    _exit(4);
                to.http = http;
                if (tg_new(&to, &tg, &d))
                    _exit(5);
                struct alerts_run_opts o = {0};
                struct alerts_stats st;
                int err = alerts_run(os, tg, &o, &st, &d);
                if (err)
                    fprintf(stderr, "child: %s\n", d.text);
                _exit(err ? 1 : 0);
            }
        }
        close(go[0]);
        close(go[1]);
        for (int p = 0; p < PROCS; p++) {
            int status;
            assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        for (int c = 1; c <= CHATS; c++) {
            assert_int_equal(sent_to(f, c, days[round][1]), 2);
            assert_int_equal(sent_to(f, c, NULL), 2 * (size_t)(round + 1));
        }
        char *list = ask(f, 3, "/alerts");
        assert_non_null(strstr(list, "fired"));
        assert_null(strstr(list, "due"));
        free(list);
    }
}

/* The same commands through the webhook (serve and the Lambda) as through polling. */
static void test_webhook(void **state)
{
    struct fixture *f = *state;
    screen_of(f, "2026-11-16", 80.0, -1.0);
    struct webhook w = {.bot = &f->o, .secret = "s3cret"};
    const char *body = "{\"update_id\":5,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,"
                       "\"type\":\"private\"},\"date\":1,\"text\":\"/alert aaa drop -4\"}}";
    struct webhook_answer a;
    webhook_answer_init(&a);
    webhook_handle(&w, "s3cret", body, strlen(body), &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(buf_cstr(&a.body), "\"chat_id\":7,\"text\":\"Alert set: <b>AAA</b> "
                                              "one-day change at or below -4%"));
    webhook_answer_release(&a);
    struct alerts al;
    struct diag d;
    assert_int_equal(alerts_read(f->os, 7, &al, &d), ERR_OK);
    assert_int_equal(al.n, 1);
    assert_int_equal(al.v[0].threshold, -400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_file),
        cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crossing_and_rearming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provisional_from_the_run_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_chat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_collectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_lost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
