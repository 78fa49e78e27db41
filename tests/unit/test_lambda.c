/* Unit tests: the Lambda runtime (the collector's events, error bodies, the loop against the
 * fake Runtime API on 127.0.0.1). */
#include "testutil.h"

#include "aws/lambda_rt.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/json.h"
#include "collect/collect_lambda.h"
#include "net/http.h"
#include "fakes/lambda_fake.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- events ---- */

static void test_collector_events(void **state)
{
    (void)state;
    struct collect_event ev;
    struct diag d = {{0}};
    const char *rule = "{\"version\":\"0\",\"id\":\"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa\","
                       "\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\","
                       "\"account\":\"123456789012\",\"time\":\"2015-10-08T16:53:06Z\","
                       "\"region\":\"us-east-1\",\"resources\":[\"arn:aws:events:us-east-1:"
                       "123456789012:rule/my-scheduled-rule\"],\"detail\":{}}";
    assert_int_equal(collect_lambda_parse_event(rule, strlen(rule), &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_SCHEDULE);
    assert_string_equal(ev.time, "2015-10-08T16:53:06Z");
    assert_string_equal(collect_trigger_name(ev.trigger), "schedule");

    const char *manual = "{\"action\":\"collect\"}";
    assert_int_equal(collect_lambda_parse_event(manual, strlen(manual), &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_ACTION);
    assert_string_equal(ev.time, "");

    /* The EventBridge Scheduler delivers its Input, placeholders filled in. */
    const char *sched = "{\"job\":\"collect\",\"at\":\"2022-03-22T18:59:43Z\",\"n\":[1]}";
    assert_int_equal(collect_lambda_parse_event(sched, strlen(sched), &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_ACTION);
    assert_string_equal(ev.time, "2022-03-22T18:59:43Z");
    /* An empty object is a run by hand: the console's test event, a bare invoke. */
    assert_int_equal(collect_lambda_parse_event("{}", 2, &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_MANUAL);
    assert_string_equal(collect_trigger_name(ev.trigger), "manual");
    assert_int_equal(collect_lambda_parse_event(" { } ", 5, &ev, &d), ERR_OK);
    const char *both = "{\"job\":\"collect\",\"action\":\"collect\"}";
    assert_int_equal(collect_lambda_parse_event(both, strlen(both), &ev, &d), ERR_OK);
    /* The push resumed by the function itself, and the event it sends for that. */
    assert_int_equal(collect_lambda_parse_event("{\"action\":\"push\"}", 17, &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_PUSH);
    assert_int_equal(ev.attempt, 1);
    assert_string_equal(collect_trigger_name(ev.trigger), "push");
    struct buf pe = BUF_INIT(128);
    assert_int_equal(collect_lambda_push_event(&pe, 7), 0);
    assert_int_equal(collect_lambda_parse_event(pe.data, pe.len, &ev, &d), ERR_OK);
    assert_int_equal(ev.trigger, COLLECT_TRIGGER_PUSH);
    assert_int_equal(ev.attempt, 7);
    buf_release(&pe);

    static const struct {
        const char *event;
        int err;
        const char *says;
    } bad[] = {
        {"{\"action\":", ERR_PARSE, "line 1"},
        {"", ERR_PARSE, "not JSON"},
        {"[1,2]", ERR_USAGE, "array"},
        {"{\"detail\":{}}", ERR_USAGE, "none of 'source'"},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\"}]}",
         ERR_USAGE, "notification with 'Records'"},
        {"{\"httpMethod\":\"POST\",\"path\":\"/telegram\",\"body\":\"{}\"}", ERR_USAGE,
         "API Gateway"},
        {"{\"action\":\"screen\"}", ERR_USAGE, "'screen'"},
        {"{\"action\":5}", ERR_USAGE, "<number>"},
        {"{\"job\":\"collect\",\"action\":\"screen\"}", ERR_USAGE, "differ"},
        {"{\"source\":\"aws.s3\",\"detail-type\":\"Object Created\"}", ERR_USAGE, "'aws.s3'"},
        {"{\"source\":\"aws.events\"}", ERR_USAGE, "<missing>"},
        {"{\"version\":\"2.0\",\"routeKey\":\"POST /telegram\",\"body\":\"{}\"}", ERR_USAGE,
         "API Gateway"},
        {"{\"update_id\":1,\"message\":{}}", ERR_USAGE, "Telegram"},
        {"{\"action\":\"a\\u0001b\"}", ERR_USAGE, "\\x01"},
        {"{\"action\":\"push\",\"attempt\":0}", ERR_USAGE, "'attempt'"},
        {"{\"action\":\"push\",\"attempt\":21}", ERR_USAGE, "'attempt'"},
        {"{\"action\":\"push\",\"attempt\":\"2\"}", ERR_USAGE, "'attempt'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag_clear(&d);
        int err = collect_lambda_parse_event(bad[i].event, strlen(bad[i].event), &ev, &d);
        if (err != bad[i].err || !strstr(d.text, bad[i].says))
            fail_msg("event %zu (%s): err %s, message '%s', wanted %s and '%s'", i, bad[i].event,
                     err_name(err), d.text, err_name(bad[i].err), bad[i].says);
        /* Every refusal names what would have been taken. */
        if (err == ERR_USAGE && !strstr(d.text, "\"collect\"}"))
            fail_msg("event %zu: '%s' does not say what was expected", i, d.text);
    }
}

static void test_collector_summary(void **state)
{
    (void)state;
    struct collect_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(date_parse("2026-11-20", 10, &st.end), ERR_OK);
    st.symbols = 40;
    st.symbols_current = 2;
    st.symbols_not_attempted = 3;
    st.bars_new = 1234;
    st.bars_received = 1240;
    st.bars_revised = 12;
    st.bars_provisional = 40;
    st.symbol_changes_new = 2;
    st.bars_bad = 1;
    st.symbols_no_data = 2;
    st.fetch.requests = 7;
    st.elapsed_ms = 812;
    struct run_counts c;
    run_counts_from_stats(&c, &st, ERR_OK);
    struct buf b = BUF_INIT(4096);
    assert_int_equal(collect_lambda_summary(&b, &c, NULL), ERR_OK);
    assert_string_equal(buf_cstr(&b),
                        "{\"ok\":true,\"end\":\"2026-11-20\",\"symbols\":40,"
                        "\"symbols_up_to_date\":2,\"symbols_not_attempted\":3,\"bars_new\":1234,"
                        "\"bars_received\":1240,\"bars_revised\":12,\"bars_provisional\":40,"
                        "\"splits_new\":0,\"symbol_changes_new\":2,\"requests\":7,"
                        "\"retries\":0,"
                        "\"errors\":3,\"duration_ms\":812}");
    buf_reset(&b);
    run_counts_from_stats(&c, &st, ERR_TIMEOUT);
    assert_int_equal(collect_lambda_summary(&b, &c, "cut \"short\""), ERR_OK);
    struct jv *root;
    struct diag d;
    assert_int_equal(jv_parse(b.data, b.len, &root, &d), ERR_OK);
    int ok = 1;
    assert_int_equal(jv_bool(jv_get(root, "ok"), &ok), ERR_OK);
    assert_false(ok);
    assert_string_equal(jv_str(jv_get(root, "error"), NULL), "cut \"short\"");
    jv_free(root);
    buf_release(&b);
}

/* ---- error bodies and types ---- */

static void test_error_body_and_types(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(4096);
    assert_int_equal(lambda_error_body(&b, "Function.RateLimited", "alpaca: \"429\"\n\x01"),
                     ERR_OK);
    assert_string_equal(buf_cstr(&b), "{\"errorMessage\":\"alpaca: \\\"429\\\"\\n\\u0001\","
                                      "\"errorType\":\"Function.RateLimited\",\"stackTrace\":[]}");
    struct jv *root;
    struct diag d;
    assert_int_equal(jv_parse(b.data, b.len, &root, &d), ERR_OK);
    assert_string_equal(jv_str(jv_get(root, "errorMessage"), NULL), "alpaca: \"429\"\n\x01");
    assert_int_equal(jv_type(jv_get(root, "stackTrace")), JV_ARRAY);
    jv_free(root);
    /* A message cut in the middle of a character (or holding stray bytes) stays JSON. */
    buf_reset(&b);
    assert_int_equal(lambda_error_body(&b, "Function.X", "caf\xc3 \xff\xe2\x82\xac\xed\xa0\x80!"),
                     ERR_OK);
    assert_int_equal(jv_parse(b.data, b.len, &root, &d), ERR_OK);
    assert_string_equal(jv_str(jv_get(root, "errorMessage"), NULL),
                        "caf\xef\xbf\xbd \xef\xbf\xbd\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd"
                        "\xef\xbf\xbd!");
    jv_free(root);
    buf_release(&b);

    /* Lambda records any other spelling as Runtime.Unknown. */
    regex_t re;
    assert_int_equal(regcomp(&re, "^(Runtime|Function)\\.[A-Z][a-zA-Z]+$", REG_EXTENDED), 0);
    for (int err = 0; err <= ERR_COUNT_; err++) {
        const char *t = lambda_error_type(err);
        if (regexec(&re, t, 0, NULL, 0) != 0)
            fail_msg("error type '%s' for %s is not one Lambda keeps", t, err_name(err));
    }
    regfree(&re);
    assert_string_equal(lambda_error_type(ERR_USAGE), "Function.InvalidEvent");
    assert_string_equal(lambda_error_type(ERR_TIMEOUT), "Function.Timeout");
    assert_string_equal(lambda_error_type(-7), "Function.Unknown");
}

static void test_parse_deadline(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(lambda_parse_deadline("1542409706888", &ms), ERR_OK);
    assert_true(ms == 1542409706888LL);
    const char *bad[] = {"", "0", "-5", "12a", " 12", "1.5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lambda_parse_deadline(bad[i], &ms), ERR_PARSE);
    struct lambda_invocation inv = {.deadline_ms = 0};
    assert_true(lambda_remaining_ms(&inv) == INT64_MAX);
    inv.deadline_ms = clock_wall_ms() + 60000;
    assert_true(lambda_remaining_ms(&inv) > 50000 && lambda_remaining_ms(&inv) <= 60000);
}

static void test_runtime_address(void **state)
{
    (void)state;
    struct lambda_rt *rt = NULL;
    struct diag d;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(lambda_rt_new(NULL, &rt, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "AWS_LAMBDA_RUNTIME_API"));
    const char *bad[] = {"http://127.0.0.1:9001", "127.0.0.1", "127.0.0.1:", "h:9001/x", "a b:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lambda_rt_opts o = {.api = bad[i]};
        assert_int_equal(lambda_rt_new(&o, &rt, &d), ERR_USAGE);
        assert_non_null(strstr(d.text, "host:port"));
    }
    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
    assert_int_equal(lambda_rt_new(NULL, &rt, &d), ERR_OK);
    assert_true(lambda_rt_invocations(rt) == 0);
    lambda_rt_free(rt);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
}

/* ---- the loop against the fake ---- */

struct fixture {
    struct lambda_fake *fake;
    struct http_client *http;
    struct lambda_rt *rt;
    char api[64];
};

static void start(struct fixture *fx, struct lambda_fake_opts *o)
{
    int port;
    struct diag d;
    if (lambda_fake_start(o, &fx->fake, &port, &d))
        fail_msg("fake: %s", d.text);
    snprintf(fx->api, sizeof fx->api, "127.0.0.1:%d", port);
    assert_int_equal(http_client_new(NULL, &fx->http, &d), ERR_OK);
    struct lambda_rt_opts ro = {.api = fx->api, .http = fx->http};
    assert_int_equal(lambda_rt_new(&ro, &fx->rt, &d), ERR_OK);
}

static void stop(struct fixture *fx)
{
    lambda_rt_free(fx->rt);
    http_client_free(fx->http);
    lambda_fake_stop(fx->fake);
}

/* The fake's record, parsed. */
static struct jv *stats(struct fixture *fx)
{
    struct buf b = BUF_INIT(1 << 24);
    assert_int_equal(lambda_fake_stats_json(fx->fake, &b), ERR_OK);
    struct jv *root;
    struct diag d;
    if (jv_parse(b.data, b.len, &root, &d))
        fail_msg("stats are not JSON: %s", d.text);
    buf_release(&b);
    return root;
}

static const char *member(const struct jv *v, const char *key)
{
    const char *s = jv_str(jv_get(v, key), NULL);
    if (!s)
        fail_msg("no string '%s' in the record", key);
    return s;
}

struct stub {
    int calls;
    int64_t deadlines_ok;
    char last_trace_env[LAMBDA_TRACE_ID_MAX];
    char last_log_id[LAMBDA_REQUEST_ID_MAX];
    size_t big; /* answer this many bytes */
};

/* Echoes the event and its request id; "bad" events fail as ERR_USAGE. */
static int stub_handler(void *ctx, const struct lambda_invocation *inv, const char *event,
                        size_t len, struct buf *response, struct diag *d)
{
    struct stub *s = ctx;
    s->calls++;
    int64_t left = lambda_remaining_ms(inv);
    if (left > 0 && left <= 900000 && strstr(inv->function_arn, ":function:"))
        s->deadlines_ok++;
    const char *trace = getenv("_X_AMZN_TRACE_ID");
    snprintf(s->last_trace_env, sizeof s->last_trace_env, "%s", trace ? trace : "");
    snprintf(s->last_log_id, sizeof s->last_log_id, "%s", log_request_id());
    if (strstr(event, "bad"))
        return diag_set(d, ERR_USAGE, "not an event I take: %.*s", (int)len, event);
    if (s->big) {
        for (size_t i = 0; i < s->big; i++)
            buf_putc(response, 'x');
        return ERR_OK;
    }
    buf_printf(response, "{\"id\":\"%s\",\"event\":%.*s}", inv->request_id, (int)len, event);
    return ERR_OK;
}

static void test_loop_answers_each_event(void **state)
{
    (void)state;
    const char *events[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}"};
    struct lambda_fake_opts o = {.events = events, .nevents = 5, .timeout_ms = 60000};
    struct fixture fx;
    start(&fx, &o);
    struct stub s = {0};
    struct diag d = {{0}};
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 5, &d), ERR_OK);
    assert_int_equal(s.calls, 5);
    assert_int_equal(s.deadlines_ok, 5);
    assert_true(lambda_rt_invocations(fx.rt) == 5);
    char id[64];
    lambda_fake_request_id(5, id);
    assert_string_equal(s.last_log_id, id);
    assert_non_null(strstr(s.last_trace_env, "Root=1-"));

    struct jv *root = stats(&fx);
    int64_t n;
    assert_int_equal(jv_int(jv_get(root, "responses"), &n), ERR_OK);
    assert_int_equal(n, 5);
    assert_int_equal(jv_int(jv_get(root, "errors"), &n), ERR_OK);
    assert_int_equal(n, 0);
    const struct jv *inv = jv_get(root, "invocations");
    assert_int_equal(jv_len(inv), 5);
    for (size_t i = 0; i < 5; i++) {
        const struct jv *r = jv_at(inv, i);
        lambda_fake_request_id(i + 1, id);
        char want[128];
        snprintf(want, sizeof want, "{\"id\":\"%s\",\"event\":%s}", id, events[i]);
        assert_string_equal(member(r, "request_id"), id);
        assert_string_equal(member(r, "outcome"), "response");
        assert_string_equal(member(r, "body"), want);
        assert_string_equal(member(r, "content_type"), "application/json");
        assert_string_equal(member(r, "error_type"), "");
    }
    jv_free(root);
    stop(&fx);
}

static void test_handler_error_goes_to_error(void **state)
{
    (void)state;
    const char *events[] = {"{\"n\":1}", "{\"bad\":2}", "{\"n\":3}"};
    struct lambda_fake_opts o = {.events = events, .nevents = 3};
    struct fixture fx;
    start(&fx, &o);
    struct stub s = {0};
    struct diag d = {{0}};
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 3, &d), ERR_OK);
    struct jv *root = stats(&fx);
    const struct jv *inv = jv_get(root, "invocations");
    assert_int_equal(jv_len(inv), 3);
    assert_string_equal(member(jv_at(inv, 0), "outcome"), "response");
    assert_string_equal(member(jv_at(inv, 2), "outcome"), "response");
    const struct jv *r = jv_at(inv, 1);
    assert_string_equal(member(r, "outcome"), "error");
    assert_string_equal(member(r, "error_type"), "Function.InvalidEvent");
    assert_string_equal(member(r, "content_type"), "application/json");
    const char *body = member(r, "body");
    struct jv *eb;
    assert_int_equal(jv_parse(body, strlen(body), &eb, &d), ERR_OK);
    assert_string_equal(member(eb, "errorType"), "Function.InvalidEvent");
    assert_string_equal(member(eb, "errorMessage"), "not an event I take: {\"bad\":2}");
    jv_free(eb);
    jv_free(root);
    stop(&fx);
}

static void test_init_error(void **state)
{
    (void)state;
    struct lambda_fake_opts o = {0};
    struct fixture fx;
    start(&fx, &o);
    struct diag d;
    assert_int_equal(
        lambda_rt_init_fail(fx.rt, "Runtime.HandlerNotFound", "handler 'x' is not here", &d),
        ERR_OK);
    struct lambda_fake_stats st;
    lambda_fake_get_stats(fx.fake, &st);
    assert_true(st.init_errors == 1 && st.next_requests == 0);
    struct jv *root = stats(&fx);
    const struct jv *p = jv_at(jv_get(root, "init_error_posts"), 0);
    assert_non_null(p);
    assert_string_equal(member(p, "error_type"), "Runtime.HandlerNotFound");
    assert_string_equal(member(p, "body"), "{\"errorMessage\":\"handler 'x' is not here\","
                                           "\"errorType\":\"Runtime.HandlerNotFound\","
                                           "\"stackTrace\":[]}");
    jv_free(root);
    stop(&fx);
}

static void test_runtime_api_failures(void **state)
{
    (void)state;
    const char *events[] = {"{\"n\":1}", "{\"n\":2}"};
    struct stub s = {0};
    struct diag d = {{0}};
    /* The queue runs dry and /next answers 500: the loop ends, after both invocations. */
    struct lambda_fake_opts o = {.events = events, .nevents = 2, .empty_status = 500};
    struct fixture fx;
    start(&fx, &o);
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 0, &d), ERR_UNAVAILABLE);
    assert_non_null(strstr(d.text, "HTTP 500"));
    assert_true(lambda_rt_invocations(fx.rt) == 2);
    stop(&fx);

    /* A 500 to the first /next: nothing is handled. */
    struct lambda_fake_opts o2 = {.events = events, .nevents = 2, .fail_next = 1};
    start(&fx, &o2);
    s.calls = 0;
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 0, &d), ERR_UNAVAILABLE);
    assert_int_equal(s.calls, 0);
    stop(&fx);

    /* A 500 to the first response: the runtime exits rather than go on. */
    struct lambda_fake_opts o3 = {.events = events, .nevents = 2, .fail_post = 1};
    start(&fx, &o3);
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 0, &d), ERR_UNAVAILABLE);
    struct lambda_fake_stats st;
    lambda_fake_get_stats(fx.fake, &st);
    assert_true(st.served == 1 && st.responses == 0);
    stop(&fx);

    /* Nobody listening. */
    struct lambda_rt *rt;
    struct lambda_rt_opts ro = {.api = fx.api};
    assert_int_equal(lambda_rt_new(&ro, &rt, &d), ERR_OK);
    assert_int_equal(lambda_rt_run(rt, stub_handler, &s, 0, &d), ERR_NETWORK);
    assert_non_null(strstr(d.text, "Lambda Runtime API"));
    lambda_rt_free(rt);
}

static void test_refused_posts(void **state)
{
    (void)state;
    const char *events[] = {"{\"n\":1}", "{\"n\":2}"};
    struct lambda_fake_opts o = {.events = events, .nevents = 2, .max_payload = 100};
    struct fixture fx;
    start(&fx, &o);
    struct diag d;
    assert_int_equal(lambda_rt_respond(fx.rt, "no-such-id", "{}", 2, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "InvalidRequestID"));
    /* A response over the payload limit is replaced by an error; the loop goes on. */
    struct stub s = {.big = 101};
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 1, &d), ERR_OK);
    s.big = 0;
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 1, &d), ERR_OK);
    char id[64];
    lambda_fake_request_id(2, id);
    /* Answering twice is refused. */
    assert_int_equal(lambda_rt_respond(fx.rt, id, "{}", 2, &d), ERR_INVALID);
    struct jv *root = stats(&fx);
    const struct jv *inv = jv_get(root, "invocations");
    assert_string_equal(member(jv_at(inv, 0), "outcome"), "error");
    assert_string_equal(member(jv_at(inv, 0), "error_type"), "Function.TooLarge");
    assert_string_equal(member(jv_at(inv, 1), "outcome"), "response");
    int64_t bad;
    assert_int_equal(jv_int(jv_get(root, "bad_posts"), &bad), ERR_OK);
    assert_int_equal(bad, 2);
    jv_free(root);
    stop(&fx);
}

struct pusher {
    struct lambda_fake *fake;
    int ok;
};

/* Queue an event once the runtime is waiting in /next. */
static void *push_when_waiting(void *arg)
{
    struct pusher *p = arg;
    struct lambda_fake_stats st;
    for (int i = 0; i < 10000; i++) {
        lambda_fake_get_stats(p->fake, &st);
        if (st.next_requests == 1)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    struct diag d;
    p->ok = st.next_requests == 1 && st.served == 0 &&
            lambda_fake_push(p->fake, "{\"late\":1}", 10, &d) == ERR_OK;
    return NULL;
}

static void test_next_waits_for_an_event(void **state)
{
    (void)state;
    struct lambda_fake_opts o = {0};
    struct fixture fx;
    start(&fx, &o);
    struct pusher p = {fx.fake, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, push_when_waiting, &p), 0);
    struct stub s = {0};
    struct diag d;
    assert_int_equal(lambda_rt_run(fx.rt, stub_handler, &s, 1, &d), ERR_OK);
    pthread_join(t, NULL);
    assert_true(p.ok);
    assert_int_equal(s.calls, 1);
    stop(&fx);
}

static int group_setup(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_events),
        cmocka_unit_test(test_collector_summary),
        cmocka_unit_test(test_error_body_and_types),
        cmocka_unit_test(test_parse_deadline),
        cmocka_unit_test(test_runtime_address),
        cmocka_unit_test(test_loop_answers_each_event),
        cmocka_unit_test(test_handler_error_goes_to_error),
        cmocka_unit_test(test_init_error),
        cmocka_unit_test(test_runtime_api_failures),
        cmocka_unit_test(test_refused_posts),
        cmocka_unit_test(test_next_waits_for_an_event),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
