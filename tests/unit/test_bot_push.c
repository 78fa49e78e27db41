/* Unit tests: Bot API calls under a deadline and the daily push, against the fake Bot API
 * served in-process.  Time is injected: every sendMessage the fake answers moves the clock one
 * second on, so "the push ran out of time" happens at the same point on any machine. */
#include "testutil.h"

#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/push.h"
#include "bot/subscribers.h"
#include "bot/telegram.h"
#include "codec/json.h"
#include "net/http.h"
#include "net/httpd.h"
#include "fakes/telegram_fake.h"
#include "store/objstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN "123456789:AAF-fake_Token_for_push"

/* ---- a clock that a second passes on per message sent ---- */

static int64_t jump_us; /* added to the real monotonic clock */

static int64_t real_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t fake_mono_us(void *ctx)
{
    (void)ctx;
    return real_mono_us() + __atomic_load_n(&jump_us, __ATOMIC_SEQ_CST);
}

static int64_t fake_wall_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + jump_us / 1000;
}

static void fake_sleep_ms(void *ctx, int64_t ms)
{
    (void)ctx;
    __atomic_add_fetch(&jump_us, ms * 1000, __ATOMIC_SEQ_CST);
}

static const struct clock_source fake_clock = {fake_wall_ms, fake_mono_us, fake_sleep_ms, NULL};

/* ---- fixture ---- */

struct fx {
    struct tg_fake *fake;
    struct httpd *server;
    struct http_client *http;
    struct tg_client *tg;
    struct objstore *os;
    char *dir;
    int second_per_send;
};

static struct fx *the_fx;

static void handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct fx *fx = ctx;
    tg_fake_handle(fx->fake, req, resp);
    if (fx->second_per_send && strstr(req->path, "/sendMessage"))
        __atomic_add_fetch(&jump_us, 1000000, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct diag d;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    jump_us = 0;
    clock_set_source(&fake_clock);
    struct tg_fake_opts fo = {.token = TOKEN};
    if (tg_fake_new(&fo, &fx->fake, &d) != ERR_OK)
        fail_msg("tg_fake_new: %s", d.text);
    int port;
    struct httpd_opts ho = {.handler = handle, .ctx = fx};
    if (httpd_start(&ho, &fx->server, &port, &d) != ERR_OK)
        fail_msg("httpd_start: %s", d.text);
    assert_int_equal(http_client_new(NULL, &fx->http, &d), ERR_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    struct tg_opts to;
    tg_opts_default(&to);
    to.api_url = url;
    to.token = TOKEN;
    to.http = fx->http;
    to.fetch.backoff_base_ms = 1;
    to.fetch.backoff_max_ms = 2;
    if (tg_new(&to, &fx->tg, &d) != ERR_OK)
        fail_msg("tg_new: %s", d.text);
    fx->dir = tu_mkdtemp();
    assert_int_equal(objstore_local_open(tu_path(fx->dir, "store"), &fx->os, &d), ERR_OK);
    the_fx = fx;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    tg_free(fx->tg);
    http_client_free(fx->http);
    httpd_stop(fx->server);
    tg_fake_free(fx->fake);
    objstore_free(fx->os);
    tu_rmrf(fx->dir);
    free(fx->dir);
    free(fx);
    clock_set_source(NULL);
    return 0;
}

static void add_fault(struct fx *fx, const char *json)
{
    struct diag d;
    struct jv *root;
    assert_int_equal(jv_parse(json, strlen(json), &root, &d), ERR_OK);
    struct tg_fake_fault f = {0};
    int64_t n;
    f.method = jv_str(jv_get(root, "method"), NULL);
    f.chat_id = jv_str(jv_get(root, "chat_id"), NULL);
    if (jv_int(jv_get(root, "status"), &n) == ERR_OK)
        f.status = (int)n;
    jv_int(jv_get(root, "retry_after"), &f.retry_after);
    jv_int(jv_get(root, "count"), &f.count);
    jv_int(jv_get(root, "migrate_to_chat_id"), &f.migrate_to_chat_id);
    jv_bool(jv_get(root, "drop"), &f.drop);
    assert_int_equal(tg_fake_add_fault(fx->fake, &f, &d), ERR_OK);
    jv_free(root);
}

/* How many sendMessage calls reached the fake for chat (any answer); all chats with 0. */
static size_t sends_to(struct fx *fx, int64_t chat, int ok_only)
{
    struct buf b = BUF_INIT((size_t)64 << 20);
    struct diag d;
    assert_int_equal(tg_fake_calls_json(fx->fake, &b), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(b.data, b.len, &root, &d), ERR_OK);
    size_t n = 0;
    for (size_t i = 0; i < jv_len(root); i++) {
        const struct jv *c = jv_at(root, i);
        const char *method = jv_str(jv_get(c, "method"), NULL);
        if (!method || strcmp(method, "sendMessage") != 0)
            continue;
        int64_t status = 0;
        jv_int(jv_get(c, "status"), &status);
        if (ok_only && status != 200)
            continue;
        const char *id = jv_str(jv_get(jv_get(c, "params"), "chat_id"), NULL);
        int64_t num = 0;
        if (!id)
            jv_int(jv_get(jv_get(c, "params"), "chat_id"), &num);
        else
            num = strtoll(id, NULL, 10);
        n += chat == 0 || num == chat;
    }
    jv_free(root);
    buf_release(&b);
    return n;
}

static int64_t mono_ms(void)
{
    return clock_mono_us() / 1000;
}

/* ---- sends under a deadline ---- */

/* A 429 asking for a wait that passes the deadline: not waited for, not retried. */
static void test_send_wait_past_deadline(void **state)
{
    struct fx *fx = *state;
    add_fault(fx, "{\"method\":\"sendMessage\",\"status\":429,\"retry_after\":30,\"count\":1}");
    tg_set_deadline(fx->tg, mono_ms() + 10000);
    struct tg_error e;
    struct diag d;
    int64_t before = mono_ms();
    assert_int_equal(tg_send(fx->tg, 42, "hi", &e, &d), ERR_RATELIMIT);
    assert_true(mono_ms() - before < 10000);
    assert_int_equal(sends_to(fx, 42, 0), 1);
    /* Within the deadline the wait is made and the message goes out once. */
    add_fault(fx, "{\"method\":\"sendMessage\",\"status\":429,\"retry_after\":2,\"count\":1}");
    assert_int_equal(tg_send(fx->tg, 43, "hi", &e, &d), ERR_OK);
    assert_int_equal(sends_to(fx, 43, 1), 1);
    /* No time left: nothing is started. */
    tg_set_deadline(fx->tg, mono_ms() + 50);
    assert_int_equal(tg_send(fx->tg, 44, "hi", &e, &d), ERR_TIMEOUT);
    assert_true(e.not_done);
    assert_int_equal(sends_to(fx, 44, 0), 0);
}

/* A connection dropped after the request went out: Telegram may have delivered the message, so
 * sending it again could show it twice. */
static void test_send_not_repeated_after_unknown_outcome(void **state)
{
    struct fx *fx = *state;
    add_fault(fx, "{\"method\":\"sendMessage\",\"drop\":true,\"count\":1}");
    struct tg_error e;
    struct diag d;
    assert_int_not_equal(tg_send(fx->tg, 42, "hi", &e, &d), ERR_OK);
    assert_false(e.not_done);
    assert_int_equal(sends_to(fx, 42, 0), 1);
    /* Other methods are still retried (they change nothing twice). */
    add_fault(fx, "{\"method\":\"getMe\",\"drop\":true,\"count\":1}");
    assert_int_equal(tg_call(fx->tg, "getMe", "{}", 2, NULL, &e, &d), ERR_OK);
}

/* ---- the daily push ---- */

static void subscribe(struct fx *fx, int64_t from, int n)
{
    struct diag d;
    int changed;
    for (int i = 0; i < n; i++)
        assert_int_equal(subscribers_update(fx->os, from + i, 1, 20000, &changed, &d), ERR_OK);
}

/* Out of time halfway: the push stops, the next call finishes it, no chat gets two. */
static void test_push_resumes_after_deadline(void **state)
{
    struct fx *fx = *state;
    subscribe(fx, 1000, 60);
    fx->second_per_send = 1;
    struct push_stats st;
    struct diag d;
    tg_set_deadline(fx->tg, mono_ms() + 30000);
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "today", 20400, &st, &d), ERR_OK);
    assert_int_equal(st.subscribers, 60);
    assert_true(st.sent >= 20);
    assert_true(st.left > 0);
    assert_int_equal(st.sent + st.left, 60);
    assert_int_equal(st.failed, 0);
    assert_false(st.already_pushed);
    size_t first = st.sent;
    /* The next invocation, with time enough. */
    tg_set_deadline(fx->tg, mono_ms() + 1000000);
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "today", 20400, &st, &d), ERR_OK);
    assert_true(st.resumed);
    assert_int_equal(st.sent, 60 - first);
    assert_int_equal(st.left, 0);
    for (int i = 0; i < 60; i++)
        if (sends_to(fx, 1000 + i, 1) != 1)
            fail_msg("chat %d got %zu messages", 1000 + i, sends_to(fx, 1000 + i, 1));
    /* Done: a third call sends nothing. */
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "today", 20400, &st, &d), ERR_OK);
    assert_true(st.already_pushed);
    assert_int_equal(st.sent, 0);
    assert_int_equal(sends_to(fx, 0, 0), 60);
}

/* Out of time one day, the next day's push comes first: it supersedes the unfinished one
 * (counted), everyone gets the new day's message once, and nobody the stale one after it. */
static void test_push_later_day_supersedes(void **state)
{
    struct fx *fx = *state;
    subscribe(fx, 2000, 60);
    fx->second_per_send = 1;
    struct push_stats st;
    struct diag d;
    tg_set_deadline(fx->tg, mono_ms() + 30000);
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "day one", 20400, &st, &d), ERR_OK);
    assert_true(st.left > 0);
    size_t left = st.left, first = st.sent;
    tg_set_deadline(fx->tg, mono_ms() + 1000000);
    assert_int_equal(bot_push(fx->tg, fx->os, 20401, "day two", 20401, &st, &d), ERR_OK);
    assert_int_equal(st.superseded_date, 20400);
    assert_int_equal(st.superseded_left, left);
    assert_int_equal(st.sent, 60);
    assert_int_equal(st.left, 0);
    /* The earlier day is closed: a late run for it sends nothing. */
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "day one", 20401, &st, &d), ERR_OK);
    assert_true(st.already_pushed);
    assert_int_equal(st.sent, 0);
    assert_int_equal(sends_to(fx, 0, 1), first + 60);
    for (int i = 0; i < 60; i++)
        assert_true(sends_to(fx, 2000 + i, 1) <= 2);
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(objstore_get(fx->os, PUSH_MARKER_PREFIX "2025-11-08", &b, NULL, &d), ERR_OK);
    struct push_marker_summary ms;
    assert_int_equal(push_marker_parse("m", b.data, b.len, &ms, &d), ERR_OK);
    assert_true(ms.done && ms.superseded);
    assert_int_equal(ms.chats, first);
    buf_release(&b);
    /* A third day finds nothing unfinished. */
    assert_int_equal(bot_push(fx->tg, fx->os, 20402, "day three", 20402, &st, &d), ERR_OK);
    assert_int_equal(st.superseded_date, 0);
    assert_int_equal(st.superseded_left, 0);
}

/* The marker's text: what it says, and bad lines named. */
static void test_push_marker_parse(void **state)
{
    (void)state;
    struct push_marker_summary ms;
    struct diag d;
    static const char ok[] = "push 2026-11-20\n? 42 00000000000000ab\ns 42\n? 7 ab\nr 7\n"
                             "superseded 2026-11-23\n";
    assert_int_equal(push_marker_parse("m", ok, sizeof ok - 1, &ms, &d), ERR_OK);
    assert_int_equal(ms.chats, 1); /* 7 was released */
    assert_true(ms.done && ms.superseded);
    assert_int_equal(push_marker_parse("m", "2026-11-20", 10, &ms, &d), ERR_OK);
    assert_true(ms.done && !ms.superseded); /* the old form */
    static const char *const bad[] = {"push 2026-11-20\nx 42\n", "push 2026-11-20\ns 0\n",
                                      "push 2026-11-20\nsuperseded soon\n",
                                      "push 2026-11-20\ns 42 0123456789abcdef0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(push_marker_parse("bot/pushed/x", bad[i], strlen(bad[i]), &ms, &d),
                         ERR_PARSE);
        assert_non_null(strstr(d.text, "bot/pushed/x:2"));
    }
}

/* A store whose first create of the push marker succeeds but whose answer is lost: the create
 * is tried again and refused (412), as on S3. */
struct lossy {
    struct objstore base;
    struct objstore *inner;
    int lost;
};

static int lossy_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                     struct diag *d)
{
    struct lossy *l = (struct lossy *)os;
    return objstore_get(l->inner, key, out, etag, d);
}

static int lossy_put(struct objstore *os, const char *key, const void *data, size_t len,
                     enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct lossy *l = (struct lossy *)os;
    int err = objstore_put(l->inner, key, data, len, mode, if_match, d);
    if (!err && !l->lost && mode == OBJ_PUT_CREATE &&
        strncmp(key, PUSH_MARKER_PREFIX, strlen(PUSH_MARKER_PREFIX)) == 0) {
        l->lost = 1;
        err = objstore_put(l->inner, key, data, len, mode, if_match, d);
    }
    return err;
}

static int lossy_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct lossy *)os)->inner, prefix, keys, d);
}

static const struct objstore_ops lossy_ops = {
    .scheme = "file", .get = lossy_get, .put = lossy_put, .list = lossy_list};

static void test_push_marker_answer_lost(void **state)
{
    struct fx *fx = *state;
    subscribe(fx, 500, 3);
    struct lossy l = {.base = {.ops = &lossy_ops}, .inner = fx->os};
    struct push_stats st;
    struct diag d;
    assert_int_equal(bot_push(fx->tg, &l.base, 20400, "today", 20400, &st, &d), ERR_OK);
    assert_true(l.lost);
    assert_false(st.already_pushed);
    assert_int_equal(st.sent, 3);
    assert_int_equal(sends_to(fx, 0, 1), 3);
}

/* A group upgraded to a supergroup: the subscription moves, today's message follows. */
static void test_push_follows_supergroup(void **state)
{
    struct fx *fx = *state;
    subscribe(fx, -12, 1);
    subscribe(fx, 7, 1);
    add_fault(fx, "{\"method\":\"sendMessage\",\"chat_id\":\"-12\",\"status\":400,"
                  "\"migrate_to_chat_id\":-10012,\"count\":-1}");
    struct push_stats st;
    struct diag d;
    assert_int_equal(bot_push(fx->tg, fx->os, 20400, "today", 20400, &st, &d), ERR_OK);
    assert_int_equal(st.migrated, 1);
    assert_int_equal(st.sent, 2);
    assert_int_equal(sends_to(fx, -10012, 1), 1);
    assert_int_equal(sends_to(fx, 7, 1), 1);
    struct subscribers subs = {0};
    assert_int_equal(subscribers_read(fx->os, &subs, &d), ERR_OK);
    assert_int_equal(subs.n, 2);
    assert_true(subs.v[0].chat_id == -10012);
    assert_int_equal(subs.v[0].since, 20000);
    assert_true(subs.v[1].chat_id == 7);
    subscribers_release(&subs);
    /* The next day goes to the supergroup directly. */
    assert_int_equal(bot_push(fx->tg, fx->os, 20401, "next", 20401, &st, &d), ERR_OK);
    assert_int_equal(st.migrated, 0);
    assert_int_equal(sends_to(fx, -12, 0), 1);
    assert_int_equal(sends_to(fx, -10012, 1), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_wait_past_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_not_repeated_after_unknown_outcome, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_push_resumes_after_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_marker_answer_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_later_day_supersedes, setup, teardown),
        cmocka_unit_test(test_push_marker_parse),
        cmocka_unit_test_setup_teardown(test_push_follows_supergroup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
