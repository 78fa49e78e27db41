/* Unit tests: the fake Telegram Bot API (fakes/telegram_fake.h) served in-process on an
 * ephemeral port and called with the project's HTTP client: every method's answer and its
 * refusals, the token check, getUpdates offsets and long polling, faults, flood control with
 * injected time, recording to a file, the token kept out of records and logs, and garbage
 * bodies that must never crash it. */
#include "testutil.h"

#include "base/clock.h"
#include "base/log.h"
#include "bot/telegram.h"
#include "codec/crypto.h"
#include "codec/multipart.h"
#include "codec/json.h"
#include "net/http.h"
#include "net/httpd.h"
#include "fakes/telegram_fake.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN "123456789:AAF-fake_Token_for_tests"

/* ---- fixture ---- */

struct fx {
    struct tg_fake *fake;
    struct http_client *http;
    char base[64];
};

static void start_with(struct fx *fx, struct tg_fake_opts *o)
{
    int port;
    struct diag d;
    o->token = o->token ? o->token : TOKEN;
    if (tg_fake_start(o, &fx->fake, &port, &d) != ERR_OK)
        fail_msg("tg_fake_start: %s", d.text);
    snprintf(fx->base, sizeof fx->base, "http://127.0.0.1:%d", port);
    assert_int_equal(http_client_new(NULL, &fx->http, &d), ERR_OK);
}

static void start(struct fx *fx)
{
    struct tg_fake_opts o = {0};
    start_with(fx, &o);
}

static void stop(struct fx *fx)
{
    http_client_free(fx->http);
    tg_fake_stop(fx->fake);
    fx->fake = NULL;
}

/* ---- calls ---- */

struct res {
    int err; /* transport: ERR_OK when an answer arrived */
    long status;
    char *body;
    struct jv *root; /* NULL when the body is not JSON */
    int retry_after_header;
};

static void res_free(struct res *r)
{
    free(r->body);
    jv_free(r->root);
    memset(r, 0, sizeof *r);
}

static struct res request_with(struct http_client *http, const char *method, const char *url,
                               const char *ctype, const char *body, size_t len)
{
    struct res r = {0};
    char header[128];
    const char *headers[1] = {header};
    snprintf(header, sizeof header, "Content-Type: %s", ctype ? ctype : "");
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .nheaders = ctype ? 1 : 0,
        .body = body,
        .body_len = len,
        .timeout_ms = 70000,
        .keep_headers = 1,
    };
    struct http_response resp;
    struct diag d;
    r.err = http_do(http, &req, &resp, &d);
    r.status = resp.status;
    char v[32];
    r.retry_after_header = http_response_header(&resp, "Retry-After", v, sizeof v) == ERR_OK ||
                           resp.retry_after_s != HTTP_HEADER_ABSENT;
    if (r.err == ERR_OK) {
        r.body = strdup(buf_cstr(&resp.body));
        if (jv_parse(resp.body.data ? resp.body.data : "", resp.body.len, &r.root, &d) != ERR_OK)
            r.root = NULL;
        if (strcmp(resp.content_type, "application/json") != 0)
            fail_msg("%s answered Content-Type '%s'", url, resp.content_type);
    }
    http_response_release(&resp);
    return r;
}

static struct res request(struct fx *fx, const char *method, const char *path, const char *ctype,
                          const char *body)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", fx->base, path);
    return request_with(fx->http, method, url, ctype, body, body ? strlen(body) : 0);
}

/* POST a JSON body to /bot<TOKEN>/<method>. */
static struct res api_json(struct fx *fx, const char *method, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "/bot%s/%s", TOKEN, method);
    return request(fx, "POST", path, "application/json", json);
}

/* POST a form: name, value, ..., NULL. */
static struct res api_form(struct fx *fx, const char *method, ...)
{
    struct buf b = BUF_INIT(1 << 22);
    va_list ap;
    va_start(ap, method);
    const char *name;
    for (int i = 0; (name = va_arg(ap, const char *)) != NULL; i++) {
        const char *value = va_arg(ap, const char *);
        if (i)
            buf_putc(&b, '&');
        http_url_encode(&b, name, strlen(name), 0);
        buf_putc(&b, '=');
        http_url_encode(&b, value, strlen(value), 0);
    }
    va_end(ap);
    char path[256];
    snprintf(path, sizeof path, "/bot%s/%s", TOKEN, method);
    char url[4096];
    snprintf(url, sizeof url, "%s%s", fx->base, path);
    struct res r = request_with(fx->http, "POST", url, "application/x-www-form-urlencoded",
                                buf_cstr(&b), b.len);
    buf_release(&b);
    return r;
}

/* GET /bot<TOKEN>/<method_and_query>. */
static struct res api_get(struct fx *fx, const char *method_and_query)
{
    char path[2048];
    snprintf(path, sizeof path, "/bot%s/%s", TOKEN, method_and_query);
    return request(fx, "GET", path, NULL, NULL);
}

static const struct jv *result_of(const struct res *r)
{
    int ok = 0;
    if (r->err || !r->root || jv_bool(jv_get(r->root, "ok"), &ok) || !ok || r->status != 200)
        fail_msg("expected success, got HTTP %ld: %s", r->status, r->body ? r->body : "(none)");
    return jv_get(r->root, "result");
}

/* An error answer: the status, error_code equal to it, and the description. */
static void expect_error(struct res *r, long status, const char *desc)
{
    int ok = 1;
    int64_t code = 0;
    if (r->err || !r->root || jv_bool(jv_get(r->root, "ok"), &ok) || ok || r->status != status ||
        jv_int(jv_get(r->root, "error_code"), &code) || code != status)
        fail_msg("expected HTTP %ld with error_code %ld, got HTTP %ld: %s", status, status,
                 r->status, r->body ? r->body : "(none)");
    const char *got = jv_str(jv_get(r->root, "description"), NULL);
    if (!got || strcmp(got, desc) != 0)
        fail_msg("expected description '%s', got '%s'", desc, got ? got : "(none)");
    res_free(r);
}

static int64_t int_of(const struct jv *v, const char *key)
{
    int64_t n;
    if (jv_int(jv_get(v, key), &n))
        fail_msg("no integer '%s'", key);
    return n;
}

static const char *str_of(const struct jv *v, const char *key)
{
    const char *s = jv_str(jv_get(v, key), NULL);
    if (!s)
        fail_msg("no string '%s'", key);
    return s;
}

/* The update_ids of a getUpdates answer, as "1,2,3". */
static void update_ids(const struct res *r, char *out, size_t cap)
{
    const struct jv *a = result_of(r);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < jv_len(a); i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? "," : "",
                              (long long)int_of(jv_at(a, i), "update_id"));
}

static void expect_updates(struct fx *fx, const char *query, const char *want)
{
    struct res r = api_get(fx, query);
    char got[256];
    update_ids(&r, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: update ids '%s', wanted '%s'", query, got, want);
    res_free(&r);
}

static int64_t pending(struct fx *fx)
{
    struct res r = api_get(fx, "getWebhookInfo");
    int64_t n = int_of(result_of(&r), "pending_update_count");
    res_free(&r);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- token, methods, envelope ---- */

static void test_token_and_unknown_method(void **state)
{
    struct fx fx;
    start(&fx);
    struct res r = api_get(&fx, "getMe");
    const struct jv *me = result_of(&r);
    assert_int_equal(int_of(me, "id"), 123456789);
    assert_string_equal(str_of(me, "username"), "screener_fake_bot");
    int b = 0;
    assert_int_equal(jv_bool(jv_get(me, "is_bot"), &b), ERR_OK);
    assert_true(b);
    res_free(&r);

    /* Method names are case-insensitive; GET and POST both work. */
    r = api_get(&fx, "GETME");
    result_of(&r);
    res_free(&r);
    r = api_json(&fx, "getme", "{}");
    result_of(&r);
    res_free(&r);

    const char *wrong[] = {"/bot123456789:AAF-wrong/getMe", "/bot/getMe", "/botgetMe",
                           "/bot" TOKEN "x/getMe", "/bot123456789/getMe"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        r = request(&fx, "GET", wrong[i], NULL, NULL);
        assert_string_equal(r.body, "{\"ok\":false,\"error_code\":401,\"description\":"
                                    "\"Unauthorized\"}");
        expect_error(&r, 401, "Unauthorized");
    }
    r = api_get(&fx, "sendDocument");
    assert_string_equal(r.body, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}");
    expect_error(&r, 404, "Not Found");
    r = api_get(&fx, "");
    expect_error(&r, 404, "Not Found");
    r = request(&fx, "GET", "/", NULL, NULL);
    expect_error(&r, 404, "Not Found");
    /* A wrong token wins over an unknown method. */
    r = request(&fx, "GET", "/botnope/sendPhoto", NULL, NULL);
    expect_error(&r, 401, "Unauthorized");
    stop(&fx);
}

static void test_options(void **state)
{
    struct tg_fake *f;
    struct diag d;
    struct tg_fake_opts o = {0};
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "token"));
    o.token = "12/34";
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_USAGE);
    o.token = TOKEN;
    o.updates_json = "{\"update_id\":1}";
    o.updates_len = strlen(o.updates_json);
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_PARSE);
    assert_non_null(strstr(d.text, "array"));
    o.updates_json = NULL;
    o.record_path = "/nonexistent-dir/for/sure/rec.jsonl";
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_IO);
    assert_non_null(strstr(d.text, "record file"));
    o.record_path = NULL;
    o.bot_username = "other_bot";
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_OK);
    tg_fake_free(f);
    tg_fake_stop(NULL);
}

/* ---- sendMessage ---- */

static void test_send_message(void **state)
{
    struct fx fx;
    start(&fx);
    /* Form, JSON and query string; message ids count per chat. */
    struct res r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "hello, world", NULL);
    const struct jv *m = result_of(&r);
    assert_int_equal(int_of(m, "message_id"), 1);
    assert_int_equal(int_of(jv_get(m, "chat"), "id"), 42);
    assert_string_equal(str_of(jv_get(m, "chat"), "type"), "private");
    assert_int_equal(int_of(jv_get(m, "from"), "id"), 123456789);
    assert_string_equal(str_of(m, "text"), "hello, world");
    assert_true(int_of(m, "date") > 1700000000);
    res_free(&r);
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"again\"}");
    assert_int_equal(int_of(result_of(&r), "message_id"), 2);
    res_free(&r);
    r = api_get(&fx, "sendMessage?chat_id=42&text=third+one");
    assert_int_equal(int_of(result_of(&r), "message_id"), 3);
    assert_string_equal(str_of(result_of(&r), "text"), "third one");
    res_free(&r);
    r = api_json(&fx, "sendMessage", "{\"chat_id\":\"7\",\"text\":\"x\"}");
    assert_int_equal(int_of(result_of(&r), "message_id"), 1);
    res_free(&r);

    /* Groups, supergroups, channels by name. */
    r = api_json(&fx, "sendMessage", "{\"chat_id\":-5,\"text\":\"g\"}");
    assert_string_equal(str_of(jv_get(result_of(&r), "chat"), "type"), "group");
    res_free(&r);
    r = api_json(&fx, "sendMessage", "{\"chat_id\":-1001234567890,\"text\":\"g\"}");
    assert_string_equal(str_of(jv_get(result_of(&r), "chat"), "type"), "supergroup");
    assert_int_equal(int_of(jv_get(result_of(&r), "chat"), "id"), -1001234567890LL);
    res_free(&r);
    r = api_json(&fx, "sendMessage", "{\"chat_id\":\"@screener_news\",\"text\":\"c\"}");
    m = result_of(&r);
    assert_string_equal(str_of(jv_get(m, "chat"), "type"), "channel");
    assert_string_equal(str_of(jv_get(m, "chat"), "username"), "screener_news");
    assert_non_null(jv_get(m, "sender_chat"));
    assert_int_equal(int_of(m, "message_id"), 1);
    res_free(&r);

    /* A reply keyboard is fine as an object or as a JSON-serialized string. */
    r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "k", "reply_markup",
                 "{\"inline_keyboard\":[[{\"text\":\"Next\",\"callback_data\":\"p2\"}]]}", NULL);
    assert_int_equal(int_of(result_of(&r), "message_id"), 4);
    res_free(&r);

    /* Refusals, and they use up no message id. */
    r = api_json(&fx, "sendMessage", "{\"text\":\"x\"}");
    expect_error(&r, 400, "Bad Request: chat_id is empty");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":\"\",\"text\":\"x\"}");
    expect_error(&r, 400, "Bad Request: chat_id is empty");
    const char *bad_chats[] = {"abc", "12x", "@", "@bad-name", "0", "99999999999999999999", "1.5"};
    for (size_t i = 0; i < sizeof bad_chats / sizeof bad_chats[0]; i++) {
        r = api_form(&fx, "sendMessage", "chat_id", bad_chats[i], "text", "x", NULL);
        expect_error(&r, 400, "Bad Request: chat not found");
    }
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42}");
    expect_error(&r, 400, "Bad Request: message text is empty");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"\"}");
    expect_error(&r, 400, "Bad Request: message text is empty");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\" \\n\\t \"}");
    expect_error(&r, 400, "Bad Request: message text is empty");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"x\",\"parse_mode\":\"XML\"}");
    expect_error(&r, 400, "Bad Request: unsupported parse_mode");
    r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "x", "reply_markup", "[1", NULL);
    expect_error(&r, 400, "Bad Request: can't parse reply keyboard markup JSON object");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"x\",\"reply_markup\":[1]}");
    expect_error(&r, 400, "Bad Request: can't parse reply keyboard markup JSON object");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"five\"}");
    assert_int_equal(int_of(result_of(&r), "message_id"), 5);
    res_free(&r);
    stop(&fx);
}

/* A sendMessage JSON body whose text is n copies of unit (already JSON-safe). */
static struct res send_repeated(struct fx *fx, const char *prefix, const char *unit, size_t n,
                                const char *suffix, const char *mode)
{
    struct buf b = BUF_INIT(1 << 22);
    buf_printf(&b, "{\"chat_id\":1,\"parse_mode\":\"%s\",\"text\":\"%s", mode, prefix);
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, unit);
    buf_printf(&b, "%s\"}", suffix);
    struct res r = api_json(fx, "sendMessage", buf_cstr(&b));
    buf_release(&b);
    return r;
}

static void test_text_length_in_utf16(void **state)
{
    struct fx fx;
    start(&fx);
    static const char emoji[] = "\xf0\x9f\x98\x80"; /* U+1F600: two UTF-16 code units */
    struct res r = send_repeated(&fx, "", "a", 4096, "", "");
    result_of(&r);
    res_free(&r);
    r = send_repeated(&fx, "", "a", 4097, "", "");
    expect_error(&r, 400, "Bad Request: message is too long");
    r = send_repeated(&fx, "", emoji, 2048, "", "");
    result_of(&r);
    res_free(&r);
    r = send_repeated(&fx, "", emoji, 2049, "", "");
    expect_error(&r, 400, "Bad Request: message is too long");
    /* 4096 emoji: 4096 characters but 8192 code units. */
    r = send_repeated(&fx, "", emoji, 4096, "", "");
    expect_error(&r, 400, "Bad Request: message is too long");
    /* Cyrillic: two bytes, one code unit each. */
    r = send_repeated(&fx, "", "\xd0\x96", 4096, "", "");
    result_of(&r);
    res_free(&r);
    /* The length counts after HTML parsing: tags do not count, an entity is one unit. */
    r = send_repeated(&fx, "<b>", "a", 4096, "</b>", "HTML");
    result_of(&r);
    res_free(&r);
    r = send_repeated(&fx, "<pre>", "&amp;", 4096, "</pre>", "HTML");
    result_of(&r);
    res_free(&r);
    r = send_repeated(&fx, "<b>", "a", 4097, "</b>", "HTML");
    expect_error(&r, 400, "Bad Request: message is too long");
    stop(&fx);
}

static void test_html(void **state)
{
    struct fx fx;
    start(&fx);
    static const struct {
        const char *html, *plain;
    } good[] = {
        {"<b>x</b> &amp; <pre>a</pre>", "x & a"},
        {"<i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
         "<strong>g</strong>",
         "ieunskdg"},
        {"<a href=\"https://example.com/?a=1&b=2\">link</a>", "link"},
        {"<span class=\"tg-spoiler\">s</span><tg-spoiler>t</tg-spoiler>", "st"},
        {"<pre><code class=\"language-c\">int x;</code></pre>", "int x;"},
        {"<blockquote expandable>q</blockquote><blockquote>r</blockquote>", "qr"},
        {"&lt;&gt;&quot;&#65;&#x42;&#128512;", "<>\"AB\xf0\x9f\x98\x80"},
        {"<B>caps</B>", "caps"},
        {"<b><i>nested</i> bold</b>", "nested bold"},
        {"<tg-emoji emoji-id=\"5368324170671202286\">\xf0\x9f\x91\x8d</tg-emoji>",
         "\xf0\x9f\x91\x8d"},
        {"<b >spaced</b >", "spaced"},
        {"<pre>\n | 1 | -12.5% |\n</pre>", "\n | 1 | -12.5% |\n"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct res r = api_form(&fx, "sendMessage", "chat_id", "42", "parse_mode", "HTML", "text",
                                good[i].html, NULL);
        if (r.status != 200)
            fail_msg("'%s' refused: %s", good[i].html, r.body);
        assert_string_equal(str_of(result_of(&r), "text"), good[i].plain);
        res_free(&r);
    }
    static const struct {
        const char *html, *why;
    } bad[] = {
        {"<b>x", "Can't find end tag corresponding to start tag \"b\""},
        {"a < b", "Unsupported start tag \"\" at byte offset 2"},
        {"<table>", "Unsupported start tag \"table\" at byte offset 0"},
        {"line<br>next", "Unsupported start tag \"br\" at byte offset 4"},
        {"x</b>", "Unexpected end tag at byte offset 1"},
        {"<b><i>x</b></i>",
         "Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\""},
        {"<b", "Unclosed start tag at byte offset 0"},
        {"<b>x</b", "Unclosed end tag at byte offset 4"},
        {"<span>x</span>", "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0"},
        {"<tg-emoji emoji-id=\"x\">a</tg-emoji>", "Invalid custom emoji identifier specified"},
        {"<b class>x</b>",
         "Expected equal sign in declaration of an attribute of the tag \"b\" at byte offset 0"},
        {"a & b", "Unsupported HTML entity at byte offset 2 (the fake refuses what Telegram would "
                  "show as typed: escape '&' as &amp;)"},
        {"&nbsp;", "Unsupported HTML entity at byte offset 0 (the fake refuses what Telegram "
                   "would show as typed: escape '&' as &amp;)"},
        {"&#0;", "Unsupported HTML entity at byte offset 0 (the fake refuses what Telegram "
                 "would show as typed: escape '&' as &amp;)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct res r = api_form(&fx, "sendMessage", "chat_id", "42", "parse_mode", "html", "text",
                                bad[i].html, NULL);
        char want[512];
        snprintf(want, sizeof want, "Bad Request: can't parse entities: %s", bad[i].why);
        expect_error(&r, 400, want);
    }
    /* Without parse_mode, or in Markdown, the text is taken as it is. */
    struct res r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "a < b & <table>", NULL);
    assert_string_equal(str_of(result_of(&r), "text"), "a < b & <table>");
    res_free(&r);
    r = api_form(&fx, "sendMessage", "chat_id", "42", "parse_mode", "MarkdownV2", "text",
                 "*bold* \\-12\\.5%", NULL);
    assert_string_equal(str_of(result_of(&r), "text"), "*bold* \\-12\\.5%");
    res_free(&r);
    /* Only tags: nothing left to send. */
    r = api_form(&fx, "sendMessage", "chat_id", "42", "parse_mode", "HTML", "text", "<b></b>",
                 NULL);
    expect_error(&r, 400, "Bad Request: message text is empty");
    stop(&fx);
}

/* ---- webhooks ---- */

static void test_webhook(void **state)
{
    struct fx fx;
    start(&fx);
    struct res r = api_get(&fx, "getWebhookInfo");
    const struct jv *info = result_of(&r);
    assert_string_equal(str_of(info, "url"), "");
    assert_int_equal(int_of(info, "pending_update_count"), 0);
    assert_null(jv_get(info, "allowed_updates"));
    res_free(&r);

    r = api_form(&fx, "setWebhook", "url", "https://abc.execute-api.us-east-1.amazonaws.com/tg",
                 "secret_token", "s3cr3t_Token-1", "allowed_updates",
                 "[\"message\",\"callback_query\"]", NULL);
    assert_string_equal(r.body,
                        "{\"ok\":true,\"result\":true,\"description\":\"Webhook was set\"}");
    res_free(&r);
    r = api_form(&fx, "setWebhook", "url", "https://abc.execute-api.us-east-1.amazonaws.com/tg",
                 "secret_token", "s3cr3t_Token-1", NULL);
    result_of(&r);
    assert_string_equal(str_of(r.root, "description"), "Webhook is already set");
    res_free(&r);

    r = api_get(&fx, "getWebhookInfo");
    info = result_of(&r);
    assert_string_equal(str_of(info, "url"), "https://abc.execute-api.us-east-1.amazonaws.com/tg");
    int b = 1;
    assert_int_equal(jv_bool(jv_get(info, "has_custom_certificate"), &b), ERR_OK);
    assert_false(b);
    assert_int_equal(int_of(info, "max_connections"), 40);
    const struct jv *allowed = jv_get(info, "allowed_updates");
    assert_int_equal(jv_len(allowed), 2);
    assert_string_equal(jv_str(jv_at(allowed, 1), NULL), "callback_query");
    res_free(&r);

    r = api_get(&fx, "getUpdates");
    expect_error(&r, 409,
                 "Conflict: can't use getUpdates method while webhook is active; use "
                 "deleteWebhook to delete the webhook first");

    /* Refused URLs and secrets leave the webhook as it was. */
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://example.com/hook", "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                    "webhook"},
        {"ftp://example.com/hook", "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                   "webhook"},
        {"https://example.com:8080/hook", "Bad Request: bad webhook: Webhook can be set up only "
                                          "on ports 80, 88, 443 or 8443"},
        {"https://example.com:1/", "Bad Request: bad webhook: Webhook can be set up only on ports "
                                   "80, 88, 443 or 8443"},
        {"https://example.com:x/", "Bad Request: invalid webhook URL specified"},
        {"https:///path", "Bad Request: invalid webhook URL specified"},
        {"https://exa mple.com/", "Bad Request: invalid webhook URL specified"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api_form(&fx, "setWebhook", "url", bad[i].url, NULL);
        expect_error(&r, 400, bad[i].why);
    }
    const char *good_ports[] = {"https://example.com:443/h",
                                "https://example.com:80/h",
                                "https://example.com:88/h",
                                "https://example.com:8443/h",
                                "example.com/h",
                                "HTTPS://example.com/h?x=http://y"};
    for (size_t i = 0; i < sizeof good_ports / sizeof good_ports[0]; i++) {
        r = api_form(&fx, "setWebhook", "url", good_ports[i], NULL);
        result_of(&r);
        res_free(&r);
    }
    char long_secret[258];
    memset(long_secret, 'a', 257);
    long_secret[257] = '\0';
    r = api_form(&fx, "setWebhook", "url", "https://example.com/h", "secret_token", long_secret,
                 NULL);
    expect_error(&r, 400, "Bad Request: secret token is too long");
    long_secret[256] = '\0';
    r = api_form(&fx, "setWebhook", "url", "https://example.com/h", "secret_token", long_secret,
                 NULL);
    result_of(&r);
    res_free(&r);
    const char *bad_secrets[] = {"a+b", "a/b=", "a b", "a.b", "\xd1\x81\xd0\xb5"};
    for (size_t i = 0; i < sizeof bad_secrets / sizeof bad_secrets[0]; i++) {
        r = api_form(&fx, "setWebhook", "url", "https://example.com/h", "secret_token",
                     bad_secrets[i], NULL);
        expect_error(&r, 400, "Bad Request: secret token contains unallowed characters");
    }
    r = api_form(&fx, "setWebhook", "url", "https://example.com/h", "allowed_updates", "message",
                 NULL);
    expect_error(&r, 400, "Bad Request: can't parse allowed_updates JSON object");
    r = api_json(&fx, "setWebhook",
                 "{\"url\":\"https://example.com/h\",\"allowed_updates\":{\"a\":1}}");
    expect_error(&r, 400, "Bad Request: expected an Array of String as allowed_updates");
    /* JSON: allowed_updates as an array; max_connections clamped. */
    r = api_json(&fx, "setWebhook",
                 "{\"url\":\"https://example.com/h\",\"allowed_updates\":[\"message\"],"
                 "\"max_connections\":1000}");
    result_of(&r);
    res_free(&r);
    r = api_get(&fx, "getWebhookInfo");
    info = result_of(&r);
    assert_int_equal(int_of(info, "max_connections"), 100);
    assert_int_equal(jv_len(jv_get(info, "allowed_updates")), 1);
    res_free(&r);

    r = api_get(&fx, "deleteWebhook");
    assert_string_equal(r.body,
                        "{\"ok\":true,\"result\":true,\"description\":\"Webhook was deleted\"}");
    res_free(&r);
    r = api_get(&fx, "deleteWebhook");
    assert_string_equal(str_of(r.root, "description"), "Webhook is already deleted");
    res_free(&r);
    r = api_get(&fx, "getWebhookInfo");
    assert_string_equal(str_of(result_of(&r), "url"), "");
    res_free(&r);
    r = api_get(&fx, "getUpdates");
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);
    /* An empty url deletes too; drop_pending_updates empties the queue. */
    struct diag d;
    assert_int_equal(tg_fake_add_updates(fx.fake, "[{\"message\":{}}]", 16, NULL, &d), ERR_OK);
    r = api_form(&fx, "setWebhook", "url", "https://example.com/h", NULL);
    result_of(&r);
    res_free(&r);
    assert_int_equal(pending(&fx), 1);
    r = api_form(&fx, "setWebhook", "url", "", "drop_pending_updates", "true", NULL);
    assert_string_equal(str_of(r.root, "description"), "Webhook was deleted");
    res_free(&r);
    assert_int_equal(pending(&fx), 0);
    stop(&fx);
}

/* ---- commands and callback queries ---- */

static void test_commands(void **state)
{
    struct fx fx;
    start(&fx);
    struct res r = api_get(&fx, "getMyCommands");
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);
    r = api_json(&fx, "setMyCommands",
                 "{\"commands\":[{\"command\":\"drops\",\"description\":\"Worst daily % drops in "
                 "the Russell 1000\"},{\"command\":\"drawdown_52w\",\"description\":\"Largest "
                 "drawdown from the 52-week high\"}]}");
    result_of(&r);
    res_free(&r);
    r = api_get(&fx, "getMyCommands");
    const struct jv *list = result_of(&r);
    assert_int_equal(jv_len(list), 2);
    assert_string_equal(str_of(jv_at(list, 1), "command"), "drawdown_52w");
    assert_string_equal(str_of(jv_at(list, 0), "description"),
                        "Worst daily % drops in the Russell 1000");
    res_free(&r);
    /* Lists are kept per scope and language. */
    r = api_form(&fx, "setMyCommands", "commands", "[{\"command\":\"a\",\"description\":\"A\"}]",
                 "scope", "{\"type\":\"all_group_chats\"}", NULL);
    result_of(&r);
    res_free(&r);
    r = api_form(&fx, "getMyCommands", "scope", "{\"type\":\"all_group_chats\"}", NULL);
    assert_int_equal(jv_len(result_of(&r)), 1);
    res_free(&r);
    r = api_form(&fx, "getMyCommands", "language_code", "de", NULL);
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);
    r = api_form(&fx, "deleteMyCommands", NULL);
    result_of(&r);
    res_free(&r);
    r = api_get(&fx, "getMyCommands");
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);

    static const struct {
        const char *commands, *why;
    } bad[] = {
        {"[{\"command\":\"Drops\",\"description\":\"x\"}]", "Bad Request: BOT_COMMAND_INVALID"},
        {"[{\"command\":\"/drops\",\"description\":\"x\"}]", "Bad Request: BOT_COMMAND_INVALID"},
        {"[{\"command\":\"top-drops\",\"description\":\"x\"}]", "Bad Request: BOT_COMMAND_INVALID"},
        {"[{\"command\":\"\",\"description\":\"x\"}]", "Bad Request: BOT_COMMAND_INVALID"},
        {"[{\"command\":\"abcdefghijklmnopqrstuvwxyz0123456\",\"description\":\"x\"}]",
         "Bad Request: BOT_COMMAND_INVALID"},
        {"[{\"command\":\"ok\",\"description\":\"\"}]",
         "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"},
        {"[{\"command\":\"ok\"}]",
         "Bad Request: a BotCommand needs the strings command and description"},
        {"{\"command\":\"ok\",\"description\":\"x\"}",
         "Bad Request: expected an Array of BotCommand"},
        {"not json", "Bad Request: can't parse commands JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api_form(&fx, "setMyCommands", "commands", bad[i].commands, NULL);
        expect_error(&r, 400, bad[i].why);
    }
    r = api_form(&fx, "setMyCommands", NULL);
    expect_error(&r, 400, "Bad Request: parameter \"commands\" is required");
    /* 32 characters is the longest command, 256 the longest description, 100 commands. */
    struct buf b = BUF_INIT(1 << 20);
    buf_puts(&b, "[");
    for (int i = 0; i < 101; i++) {
        buf_printf(&b, "%s{\"command\":\"c%031d\",\"description\":\"", i ? "," : "", i);
        for (int k = 0; k < 256; k++)
            buf_putc(&b, 'd');
        buf_puts(&b, "\"}");
    }
    buf_puts(&b, "]");
    r = api_form(&fx, "setMyCommands", "commands", buf_cstr(&b), NULL);
    expect_error(&r, 400, "Bad Request: BOT_COMMANDS_TOO_MUCH");
    /* The same list less its last command. */
    char last[64];
    snprintf(last, sizeof last, ",{\"command\":\"c%031d\"", 100);
    char *cut = strstr(b.data, last);
    assert_non_null(cut);
    memcpy(cut, "]", 2);
    r = api_form(&fx, "setMyCommands", "commands", b.data, NULL);
    result_of(&r);
    res_free(&r);
    r = api_get(&fx, "getMyCommands");
    assert_int_equal(jv_len(result_of(&r)), 100);
    res_free(&r);
    buf_reset(&b);
    buf_puts(&b, "[{\"command\":\"x\",\"description\":\"");
    for (int k = 0; k < 257; k++)
        buf_putc(&b, 'd');
    buf_puts(&b, "\"}]");
    r = api_form(&fx, "setMyCommands", "commands", buf_cstr(&b), NULL);
    expect_error(&r, 400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
    buf_release(&b);
    stop(&fx);
}

static void test_answer_callback_query(void **state)
{
    struct fx fx;
    start(&fx);
    static const char too_old[] =
        "Bad Request: query is too old and response timeout expired or query ID is invalid";
    struct res r = api_form(&fx, "answerCallbackQuery", "callback_query_id", "4382", "text",
                            "Loading page 2", NULL);
    assert_string_equal(r.body, "{\"ok\":true,\"result\":true}");
    res_free(&r);
    r = api_form(&fx, "answerCallbackQuery", "callback_query_id", "4382", NULL);
    expect_error(&r, 400, too_old);
    r = api_form(&fx, "answerCallbackQuery", NULL);
    expect_error(&r, 400, too_old);
    char text[202];
    memset(text, 't', 201);
    text[201] = '\0';
    r = api_form(&fx, "answerCallbackQuery", "callback_query_id", "9", "text", text, NULL);
    expect_error(&r, 400, "Bad Request: MESSAGE_TOO_LONG");
    text[200] = '\0';
    r = api_form(&fx, "answerCallbackQuery", "callback_query_id", "9", "text", text, "show_alert",
                 "true", NULL);
    result_of(&r);
    res_free(&r);
    stop(&fx);
}

/* ---- getUpdates ---- */

static void test_get_updates_offsets(void **state)
{
    struct fx fx;
    start(&fx);
    expect_updates(&fx, "getUpdates", "");
    struct diag d;
    int64_t last = 0;
    const char *three = "[{\"message\":{\"text\":\"a\"}},{\"message\":{\"text\":\"b\"}},"
                        "{\"message\":{\"text\":\"c\"}}]";
    assert_int_equal(tg_fake_add_updates(fx.fake, three, strlen(three), &last, &d), ERR_OK);
    assert_int_equal(last, 3);
    struct res r = request(&fx, "POST", "/_updates", "application/json",
                           "[{\"update_id\":10,\"callback_query\":{\"id\":\"q1\"}},"
                           "{\"message\":{\"text\":\"d\"}}]");
    assert_string_equal(r.body, "{\"ok\":true,\"result\":{\"queued\":2,\"last_update_id\":11}}");
    res_free(&r);

    /* The updates as queued, update_id first. */
    r = api_get(&fx, "getUpdates");
    const struct jv *a = result_of(&r);
    assert_int_equal(jv_len(a), 5);
    assert_string_equal(str_of(jv_get(jv_at(a, 1), "message"), "text"), "b");
    assert_string_equal(str_of(jv_get(jv_at(a, 3), "callback_query"), "id"), "q1");
    assert_non_null(strstr(r.body, "{\"update_id\":10,\"callback_query\":{\"id\":\"q1\"}}"));
    res_free(&r);
    expect_updates(&fx, "getUpdates", "1,2,3,10,11");
    /* Updates below the offset are confirmed and gone for good. */
    expect_updates(&fx, "getUpdates?offset=3", "3,10,11");
    assert_int_equal(pending(&fx), 3);
    expect_updates(&fx, "getUpdates", "3,10,11");
    expect_updates(&fx, "getUpdates?offset=1", "3,10,11");
    expect_updates(&fx, "getUpdates?limit=2", "3,10");
    expect_updates(&fx, "getUpdates?limit=0", "3");
    expect_updates(&fx, "getUpdates?limit=1000&timeout=-5", "3,10,11");
    /* -N keeps the last N only. */
    expect_updates(&fx, "getUpdates?offset=-2", "10,11");
    assert_int_equal(pending(&fx), 2);
    expect_updates(&fx, "getUpdates?offset=-5", "10,11");
    r = api_json(&fx, "getUpdates", "{\"offset\":12,\"timeout\":0}");
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);
    assert_int_equal(pending(&fx), 0);
    /* New ids go on from the highest ever queued. */
    assert_int_equal(tg_fake_add_updates(fx.fake, "[{\"message\":{}}]", 16, &last, &d), ERR_OK);
    assert_int_equal(last, 12);

    /* allowed_updates: kept once given; [] is every type but the opt-in ones. */
    const char *mixed = "[{\"callback_query\":{\"id\":\"q2\"}},{\"chat_member\":{}},"
                        "{\"my_chat_member\":{}}]";
    assert_int_equal(tg_fake_add_updates(fx.fake, mixed, strlen(mixed), &last, &d), ERR_OK);
    expect_updates(&fx, "getUpdates", "12,13,15");
    expect_updates(&fx, "getUpdates?allowed_updates=%5B%22callback_query%22%5D", "13");
    expect_updates(&fx, "getUpdates", "13");
    expect_updates(&fx, "getUpdates?allowed_updates=%5B%22chat_member%22%5D", "14");
    expect_updates(&fx, "getUpdates?allowed_updates=%5B%5D", "12,13,15");

    /* What the control endpoint refuses. */
    const char *bad[] = {"{}", "[1]", "[{\"update_id\":\"x\",\"message\":{}}]", "[", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = request(&fx, "POST", "/_updates", "application/json", bad[i]);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(str_of(r.root, "description"), "Bad Request: "));
        res_free(&r);
    }
    stop(&fx);
}

struct poller {
    const char *url;
    double seconds;
    struct res r;
};

static void *poll_thread(void *arg)
{
    struct poller *p = arg;
    struct http_client *http;
    struct diag d;
    if (http_client_new(NULL, &http, &d) != ERR_OK)
        return NULL;
    double t0 = now_s();
    p->r = request_with(http, "GET", p->url, NULL, NULL, 0);
    p->seconds = now_s() - t0;
    http_client_free(http);
    return NULL;
}

/* Wait (at most 10 s) until n getUpdates calls are waiting in the fake. */
static void wait_for_polls(struct tg_fake *f, uint64_t n)
{
    struct tg_fake_stats st;
    for (int i = 0; i < 10000; i++) {
        tg_fake_get_stats(f, &st);
        if (st.polls_waiting == n)
            return;
        sleep_ms(1);
    }
    fail_msg("%llu getUpdates waiting, wanted %llu", (unsigned long long)st.polls_waiting,
             (unsigned long long)n);
}

static void start_poll(struct fx *fx, struct poller *p, pthread_t *t, const char *query, char *url,
                       size_t cap)
{
    snprintf(url, cap, "%s/bot%s/%s", fx->base, TOKEN, query);
    memset(p, 0, sizeof *p);
    p->url = url;
    assert_int_equal(pthread_create(t, NULL, poll_thread, p), 0);
}

static void test_long_poll_wakes_up(void **state)
{
    struct fx fx;
    start(&fx);
    struct poller p;
    pthread_t t;
    char url[256];
    start_poll(&fx, &p, &t, "getUpdates?timeout=30", url, sizeof url);
    wait_for_polls(fx.fake, 1);
    struct res r = request(&fx, "POST", "/_updates", "application/json",
                           "[{\"message\":{\"text\":\"/drops\"}}]");
    result_of(&r);
    res_free(&r);
    pthread_join(t, NULL);
    char ids[64];
    update_ids(&p.r, ids, sizeof ids);
    assert_string_equal(ids, "1");
    if (p.seconds > 10)
        fail_msg("the poll took %.1f s to see the update", p.seconds);
    res_free(&p.r);

    /* An update of a type not asked for does not end the wait. */
    start_poll(&fx, &p, &t, "getUpdates?offset=2&timeout=30&allowed_updates=%5B%22message%22%5D",
               url, sizeof url);
    wait_for_polls(fx.fake, 1);
    struct diag d;
    assert_int_equal(tg_fake_add_updates(fx.fake, "[{\"poll\":{}}]", 13, NULL, &d), ERR_OK);
    sleep_ms(50);
    struct tg_fake_stats st;
    tg_fake_get_stats(fx.fake, &st);
    assert_int_equal(st.polls_waiting, 1);
    assert_int_equal(tg_fake_add_updates(fx.fake, "[{\"message\":{}}]", 16, NULL, &d), ERR_OK);
    pthread_join(t, NULL);
    update_ids(&p.r, ids, sizeof ids);
    assert_string_equal(ids, "3");
    res_free(&p.r);

    /* Nothing comes: an empty answer after the timeout. */
    double t0 = now_s();
    r = api_get(&fx, "getUpdates?offset=4&timeout=1");
    double waited = now_s() - t0;
    assert_int_equal(jv_len(result_of(&r)), 0);
    res_free(&r);
    if (waited < 0.9 || waited > 5)
        fail_msg("a 1 s poll took %.2f s", waited);
    stop(&fx);
}

static void test_long_poll_conflicts_and_stop(void **state)
{
    struct fx fx;
    start(&fx);
    struct poller p;
    pthread_t t;
    char url[256];
    /* A second getUpdates ends the first with 409. */
    start_poll(&fx, &p, &t, "getUpdates?timeout=30", url, sizeof url);
    wait_for_polls(fx.fake, 1);
    struct res r = api_get(&fx, "getUpdates");
    result_of(&r);
    res_free(&r);
    pthread_join(t, NULL);
    expect_error(&p.r, 409,
                 "Conflict: terminated by other getUpdates request; make sure that "
                 "only one bot instance is running");
    assert_true(p.seconds < 10);

    /* So does a webhook being set. */
    start_poll(&fx, &p, &t, "getUpdates?timeout=30", url, sizeof url);
    wait_for_polls(fx.fake, 1);
    r = api_form(&fx, "setWebhook", "url", "https://example.com/h", NULL);
    result_of(&r);
    res_free(&r);
    pthread_join(t, NULL);
    expect_error(&p.r, 409, "Conflict: terminated by setWebhook request");
    r = api_get(&fx, "deleteWebhook");
    res_free(&r);

    /* Stopping the server ends a poll at once. */
    start_poll(&fx, &p, &t, "getUpdates?timeout=50", url, sizeof url);
    wait_for_polls(fx.fake, 1);
    double t0 = now_s();
    stop(&fx);
    pthread_join(t, NULL);
    if (now_s() - t0 > 5)
        fail_msg("stopping took %.1f s with a poll waiting", now_s() - t0);
    /* Either the empty answer went out before the connection closed, or it did not. */
    if (p.r.err == ERR_OK)
        assert_int_equal(jv_len(result_of(&p.r)), 0);
    res_free(&p.r);
}

/* ---- faults ---- */

static void test_faults(void **state)
{
    struct fx fx;
    start(&fx);
    /* 429 once: the body of the real API, and no Retry-After header. */
    struct res r = request(&fx, "POST", "/_fault", "application/json",
                           "{\"method\":\"sendMessage\",\"status\":429,\"retry_after\":2,"
                           "\"count\":1}");
    assert_string_equal(r.body, "{\"ok\":true,\"result\":true}");
    res_free(&r);
    r = api_json(&fx, "getMe", "{}");
    result_of(&r);
    res_free(&r);
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"x\"}");
    assert_string_equal(r.body, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
                                "Requests: retry after 2\",\"parameters\":{\"retry_after\":2}}");
    assert_false(r.retry_after_header);
    expect_error(&r, 429, "Too Many Requests: retry after 2");
    r = api_json(&fx, "sendMessage", "{\"chat_id\":42,\"text\":\"x\"}");
    assert_int_equal(int_of(result_of(&r), "message_id"), 1);
    res_free(&r);

    /* 403 for one chat, forever; other chats go through. */
    r = request(&fx, "POST", "/_fault", "application/json",
                "{\"method\":\"sendMessage\",\"chat_id\":42,\"status\":403,\"description\":"
                "\"Forbidden: bot was blocked by the user\",\"count\":-1}");
    result_of(&r);
    res_free(&r);
    for (int i = 0; i < 3; i++) {
        r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "x", NULL);
        assert_null(jv_get(r.root, "parameters"));
        expect_error(&r, 403, "Forbidden: bot was blocked by the user");
    }
    r = api_form(&fx, "sendMessage", "chat_id", "7", "text", "x", NULL);
    result_of(&r);
    res_free(&r);
    struct tg_fake_stats st;
    tg_fake_get_stats(fx.fake, &st);
    assert_int_equal(st.faults_left, 1);

    /* In-process, for any method, twice; then the default texts. */
    tg_fake_reset(fx.fake);
    struct diag d;
    struct tg_fake_fault f500 = {.method = "*", .status = 500, .count = 2};
    assert_int_equal(tg_fake_add_fault(fx.fake, &f500, &d), ERR_OK);
    struct tg_fake_fault f502 = {.method = "getme", .status = 502};
    assert_int_equal(tg_fake_add_fault(fx.fake, &f502, &d), ERR_OK);
    struct tg_fake_fault f403 = {.method = "sendMessage", .chat_id = "@News", .status = 403};
    assert_int_equal(tg_fake_add_fault(fx.fake, &f403, &d), ERR_OK);
    r = api_get(&fx, "getWebhookInfo");
    expect_error(&r, 500, "Internal Server Error");
    r = api_get(&fx, "getMe");
    expect_error(&r, 500, "Internal Server Error");
    r = api_get(&fx, "getMe");
    expect_error(&r, 502, "Bad Gateway");
    r = api_get(&fx, "getMe");
    result_of(&r);
    res_free(&r);
    r = api_form(&fx, "sendMessage", "chat_id", "@news", "text", "x", NULL);
    expect_error(&r, 403, "Forbidden: bot was blocked by the user");

    /* A dropped connection: the client sees no answer, the record says 0.  A fresh client,
     * since curl sends again by itself when a reused connection dies without an answer. */
    struct tg_fake_fault drop = {.method = "sendMessage", .drop = 1};
    assert_int_equal(tg_fake_add_fault(fx.fake, &drop, &d), ERR_OK);
    struct http_client *fresh;
    assert_int_equal(http_client_new(NULL, &fresh, &d), ERR_OK);
    char url[256];
    snprintf(url, sizeof url, "%s/bot%s/sendMessage?chat_id=1&text=x", fx.base, TOKEN);
    r = request_with(fresh, "GET", url, NULL, NULL, 0);
    assert_int_equal(r.err, ERR_NETWORK);
    res_free(&r);
    http_client_free(fresh);
    struct buf calls = BUF_INIT(1 << 20);
    assert_int_equal(tg_fake_calls_json(fx.fake, &calls), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(calls.data, calls.len, &root, &d), ERR_OK);
    const struct jv *lastc = jv_at(root, jv_len(root) - 1);
    assert_string_equal(str_of(lastc, "method"), "sendMessage");
    assert_int_equal(int_of(lastc, "status"), 0);
    assert_int_equal(int_of(jv_at(root, 0), "status"), 500);
    jv_free(root);
    buf_release(&calls);

    /* Faults the fake refuses. */
    const char *bad[] = {
        "{\"method\":\"sendMessage\",\"status\":404}",
        "{\"method\":\"sendMessage\",\"status\":429,\"count\":-2}",
        "{\"method\":\"sendMessage\",\"status\":429,\"colour\":\"red\"}",
        "{\"method\":\"sendMessage\",\"chat_id\":\"x y\",\"status\":403}",
        "{\"method\":7,\"status\":400}",
        "[1]",
        "nope",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = request(&fx, "POST", "/_fault", "application/json", bad[i]);
        if (r.status != 400 || !strstr(str_of(r.root, "description"), "Bad Request: fault"))
            fail_msg("fault %s: HTTP %ld %s", bad[i], r.status, r.body);
        res_free(&r);
    }
    struct tg_fake_fault none = {.status = 200};
    assert_int_equal(tg_fake_add_fault(fx.fake, &none, &d), ERR_INVALID);
    stop(&fx);
}

/* ---- flood control, time injected ---- */

static int64_t fake_mono_us;

static int64_t fake_wall(void *ctx)
{
    return 1767225600000LL + fake_mono_us / 1000;
}

static int64_t fake_mono(void *ctx)
{
    return fake_mono_us;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    fake_mono_us += ms * 1000;
}

static const struct clock_source fake_clock = {fake_wall, fake_mono, fake_sleep, NULL};

static void test_flood(void **state)
{
    fake_mono_us = 0;
    clock_set_source(&fake_clock);
    struct fx fx;
    struct tg_fake_opts o = {.flood = 1};
    start_with(&fx, &o);
    struct res r = api_form(&fx, "sendMessage", "chat_id", "1", "text", "a", NULL);
    assert_int_equal(int_of(result_of(&r), "date"), 1767225600);
    res_free(&r);
    /* The same chat within a second. */
    fake_mono_us += 999000;
    r = api_form(&fx, "sendMessage", "chat_id", "1", "text", "b", NULL);
    assert_int_equal(int_of(jv_get(r.root, "parameters"), "retry_after"), 1);
    expect_error(&r, 429, "Too Many Requests: retry after 1");
    fake_mono_us += 1000;
    r = api_form(&fx, "sendMessage", "chat_id", "1", "text", "c", NULL);
    assert_int_equal(int_of(result_of(&r), "message_id"), 2);
    res_free(&r);
    /* 30 chats in one second, then the 31st. */
    fake_mono_us += 5000000;
    for (int i = 0; i < 30; i++) {
        char chat[16];
        snprintf(chat, sizeof chat, "%d", 100 + i);
        r = api_form(&fx, "sendMessage", "chat_id", chat, "text", "x", NULL);
        result_of(&r);
        res_free(&r);
        fake_mono_us += 10000;
    }
    r = api_form(&fx, "sendMessage", "chat_id", "200", "text", "x", NULL);
    expect_error(&r, 429, "Too Many Requests: retry after 1");
    fake_mono_us += 700000; /* a second after the first of the 30 */
    r = api_form(&fx, "sendMessage", "chat_id", "200", "text", "x", NULL);
    result_of(&r);
    res_free(&r);

    /* t_ms in the record is on the injected clock. */
    struct buf calls = BUF_INIT(1 << 20);
    assert_int_equal(tg_fake_calls_json(fx.fake, &calls), ERR_OK);
    struct jv *root;
    struct diag d;
    assert_int_equal(jv_parse(calls.data, calls.len, &root, &d), ERR_OK);
    assert_int_equal(int_of(jv_at(root, 1), "t_ms"), 999);
    assert_int_equal(int_of(jv_at(root, 1), "status"), 429);
    jv_free(root);
    buf_release(&calls);
    stop(&fx);
    clock_set_source(NULL);
}

/* ---- recording ---- */

static void test_recording(void **state)
{
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "calls.jsonl");
    FILE *logf = tmpfile();
    assert_non_null(logf);
    log_set_stream(logf);
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    struct fx fx;
    struct tg_fake_opts o = {.record_path = path};
    start_with(&fx, &o);
    struct res r = api_form(&fx, "sendMessage", "chat_id", "42", "text", "caf\xc3\xa9 \"q\"\n",
                            "reply_markup", "{\"remove_keyboard\":true}", NULL);
    result_of(&r);
    res_free(&r);
    r = api_json(&fx, "setWebhook",
                 "{\"url\":\"https://example.com/h\",\"allowed_updates\":[\"message\"],"
                 "\"max_connections\":5,\"drop_pending_updates\":false,\"x\":null}");
    result_of(&r);
    res_free(&r);
    r = api_form(&fx, "setwebhook", "url", "http://example.com/h", "allowed_updates",
                 "[\"callback_query\"]", NULL);
    assert_int_equal(r.status, 400);
    res_free(&r);
    r = request(&fx, "GET", "/bot987:someone-elses-token/getMe", NULL, NULL);
    assert_int_equal(r.status, 401);
    res_free(&r);
    r = api_get(&fx, "frobnicate?a=1");
    assert_int_equal(r.status, 404);
    res_free(&r);

    /* The file is there while the server runs, one JSON line per call. */
    size_t len;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    static const char *const methods[] = {"sendMessage", "setWebhook", "setWebhook", "getMe",
                                          "frobnicate"};
    static const int statuses[] = {200, 200, 400, 401, 404};
    char *line = text;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        struct jv *rec;
        struct diag d;
        if (jv_parse(line, (size_t)(nl - line), &rec, &d) != ERR_OK)
            fail_msg("record line %d is not JSON: %s", i + 1, d.text);
        assert_int_equal(int_of(rec, "seq"), i + 1);
        assert_true(int_of(rec, "t_ms") >= 0);
        assert_string_equal(str_of(rec, "method"), methods[i]);
        assert_int_equal(int_of(rec, "status"), statuses[i]);
        const struct jv *p = jv_get(rec, "params");
        assert_int_equal(jv_type(p), JV_OBJECT);
        if (i == 0) {
            assert_string_equal(str_of(p, "chat_id"), "42");
            assert_string_equal(str_of(p, "text"), "caf\xc3\xa9 \"q\"\n");
            int b = 0;
            assert_int_equal(jv_bool(jv_get(jv_get(p, "reply_markup"), "remove_keyboard"), &b),
                             ERR_OK);
            assert_true(b);
        } else if (i == 1) {
            /* A JSON body's values as they came. */
            assert_int_equal(jv_type(jv_get(p, "allowed_updates")), JV_ARRAY);
            assert_int_equal(int_of(p, "max_connections"), 5);
            assert_int_equal(jv_type(jv_get(p, "drop_pending_updates")), JV_BOOL);
            assert_true(jv_is_null(jv_get(p, "x")));
        } else if (i == 2) {
            /* A JSON-serialized string is recorded as the JSON it holds. */
            assert_string_equal(jv_str(jv_at(jv_get(p, "allowed_updates"), 0), NULL),
                                "callback_query");
        } else if (i == 4) {
            assert_string_equal(str_of(p, "a"), "1");
        }
        jv_free(rec);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    assert_null(strstr(text, "AAF-fake_Token"));
    assert_null(strstr(text, "someone-elses-token"));

    /* /_calls holds the same records. */
    r = request(&fx, "GET", "/_calls", NULL, NULL);
    const struct jv *calls = result_of(&r);
    assert_int_equal(jv_len(calls), 5);
    assert_string_equal(str_of(jv_at(calls, 4), "method"), "frobnicate");
    assert_null(strstr(r.body, "AAF-fake_Token"));
    res_free(&r);
    assert_int_equal(tg_fake_ncalls(fx.fake), 5);

    /* A reset forgets the calls (the file keeps them) and numbering starts again. */
    r = request(&fx, "POST", "/_reset", NULL, NULL);
    result_of(&r);
    res_free(&r);
    assert_int_equal(tg_fake_ncalls(fx.fake), 0);
    r = api_get(&fx, "getWebhookInfo");
    assert_string_equal(str_of(result_of(&r), "url"), "");
    res_free(&r);
    r = request(&fx, "GET", "/_calls", NULL, NULL);
    assert_int_equal(jv_len(result_of(&r)), 1);
    assert_int_equal(int_of(jv_at(result_of(&r), 0), "seq"), 1);
    res_free(&r);
    stop(&fx);
    free(text);
    text = tu_read_file(path, &len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 6);
    free(text);

    /* The logs saw every call and never the token. */
    fflush(logf);
    long n = ftell(logf);
    assert_true(n > 0);
    char *logged = calloc(1, (size_t)n + 1);
    rewind(logf);
    assert_int_equal(fread(logged, 1, (size_t)n, logf), (size_t)n);
    assert_non_null(strstr(logged, "frobnicate"));
    assert_null(strstr(logged, "AAF-fake_Token"));
    assert_null(strstr(logged, "someone-elses-token"));
    free(logged);
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    log_set_stream(stderr);
    fclose(logf);
    tu_rmrf(dir);
    free(dir);
}

/* ---- malformed requests ---- */

static void test_malformed_requests(void **state)
{
    struct fx fx;
    start(&fx);
    struct res r = api_json(&fx, "sendMessage", "{garbage");
    expect_error(&r, 400, "Bad Request: can't parse JSON object");
    r = api_json(&fx, "sendMessage", "[1,2]");
    expect_error(&r, 400, "Bad Request: can't parse JSON object");
    r = api_json(&fx, "sendMessage", "{\"a\":1,\"a\":2}");
    expect_error(&r, 400, "Bad Request: can't parse JSON object");
    r = api_json(&fx, "sendMessage", "{\"text\":\"a\\u0000b\"}");
    expect_error(&r, 400, "Bad Request: can't parse JSON object");
    char path[256];
    snprintf(path, sizeof path, "/bot%s/sendMessage", TOKEN);
    r = request(&fx, "POST", path, "application/x-www-form-urlencoded", "chat_id=1&text=%zz");
    expect_error(&r, 400, "Bad Request: invalid percent-encoding in the parameters");
    r = request(&fx, "POST", path, "application/x-www-form-urlencoded", "chat_id=1&text=%");
    expect_error(&r, 400, "Bad Request: invalid percent-encoding in the parameters");
    r = request(&fx, "POST", path, "application/x-www-form-urlencoded", "chat_id=1&text=%C3%28");
    expect_error(&r, 400, "Bad Request: strings must be encoded in UTF-8");
    r = request(&fx, "POST", path, "application/x-www-form-urlencoded", "chat_id=1&text=a%00b");
    expect_error(&r, 400, "Bad Request: strings must be encoded in UTF-8");
    r = request(&fx, "POST", path, "multipart/form-data", "--x--");
    expect_error(&r, 400,
                 "Bad Request: multipart body: no boundary=... (1 to 70 characters) in the "
                 "Content-Type");
    r = request(&fx, "POST", path, "multipart/form-data; boundary=x",
                "--x\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n1\r\n--x\r\n"
                "Content-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--x--\r\n");
    assert_int_equal(r.status, 200); /* a form as multipart, as Telegram takes it too */
    res_free(&r);
    r = request(&fx, "POST", path, "multipart/form-data; boundary=x",
                "--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xC3\x28\r\n--x--");
    expect_error(&r, 400, "Bad Request: parameter \"text\" is not UTF-8");
    r = request(&fx, "POST", path, "text/plain", "chat_id=1");
    expect_error(&r, 400, "Bad Request: unsupported Content-Type \"text/plain\"");
    /* Form defaults: no Content-Type is a form; a charset parameter is fine; empty pairs and
     * repeated names (the first counts) are too. */
    r = request(&fx, "POST", path, NULL, "chat_id=1&&text=x&text=y&=z");
    assert_string_equal(str_of(result_of(&r), "text"), "x");
    res_free(&r);
    r = request(&fx, "POST", path, "Application/JSON; charset=utf-8",
                "{\"chat_id\":1,\"text\":\"j\"}");
    result_of(&r);
    res_free(&r);
    struct buf many = BUF_INIT(1 << 16);
    for (int i = 0; i < TG_FAKE_MAX_PARAMS + 1; i++)
        buf_printf(&many, "%sp%d=1", i ? "&" : "", i);
    r = request(&fx, "POST", path, NULL, buf_cstr(&many));
    expect_error(&r, 400, "Bad Request: too many parameters (the fake reads at most 64)");
    buf_release(&many);
    r = request(&fx, "GET", "/_nothing", NULL, NULL);
    expect_error(&r, 404, "Not Found");
    r = request(&fx, "GET", "/_reset", NULL, NULL);
    expect_error(&r, 404, "Not Found");
    stop(&fx);
}

/* Random bytes, and pieces of real requests glued at random, straight into the handler: it
 * must answer every one with the envelope and never crash. */
/* A PNG as far as the fake reads one: the signature and the header chunk. */
static size_t fake_png(unsigned char *out, size_t cap, uint32_t w, uint32_t h, size_t size)
{
    static const unsigned char head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                         0,    0,   0,   13,  'I',  'H',  'D',  'R'};
    assert_true(size >= 33 && size <= cap);
    memset(out, 0x5a, size);
    memcpy(out, head, sizeof head);
    unsigned char dims[8] = {w >> 24, w >> 16 & 255, w >> 8 & 255, w & 255,
                             h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255};
    memcpy(out + 16, dims, 8);
    return size;
}

static void test_send_photo(void **state)
{
    (void)state;
    struct fx fx;
    start(&fx);
    struct tg_opts o;
    tg_opts_default(&o);
    o.api_url = fx.base;
    o.token = TOKEN;
    o.http = fx.http;
    o.fetch.max_retries = 0;
    struct tg_client *c;
    struct diag d;
    assert_int_equal(tg_new(&o, &c, &d), ERR_OK);
    static unsigned char png[(10 << 20) + 2];
    size_t n = fake_png(png, sizeof png, 1000, 560, 40000);
    struct tg_error e;
    /* An upload with an HTML caption: accepted, and recorded by name, type, size and hash. */
    assert_int_equal(
        tg_send_photo(c, 42, png, n, "AAPL.png", "<b>AAPL</b> 2026-11-20 &amp; more", &e, &d),
        ERR_OK);
    struct buf calls = BUF_INIT(1 << 24);
    assert_int_equal(tg_fake_calls_json(fx.fake, &calls), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(calls.data, calls.len, &root, &d), ERR_OK);
    const struct jv *last = jv_at(root, jv_len(root) - 1);
    assert_string_equal(str_of(last, "method"), "sendPhoto");
    assert_int_equal(int_of(last, "status"), 200);
    const struct jv *params = jv_get(last, "params");
    const struct jv *photo = jv_get(params, "photo");
    assert_non_null(photo);
    assert_string_equal(str_of(photo, "file_name"), "AAPL.png");
    assert_string_equal(str_of(photo, "content_type"), "image/png");
    assert_int_equal(int_of(photo, "size"), 40000);
    uint8_t h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    crypto_sha256(png, n, h);
    crypto_hex(h, SHA256_LEN, hex);
    assert_string_equal(str_of(photo, "sha256"), hex);
    assert_string_equal(str_of(params, "caption"), "<b>AAPL</b> 2026-11-20 &amp; more");
    assert_string_equal(str_of(params, "parse_mode"), "HTML");
    assert_string_equal(str_of(params, "chat_id"), "42");
    jv_free(root);
    buf_release(&calls);

    /* What Telegram refuses. */
    char caption[3000];
    memset(caption, 'x', 1024);
    caption[1024] = '\0';
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", caption, &e, &d), ERR_OK);
    memcpy(caption + 1024, "y", 2);
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", caption, &e, &d), ERR_INVALID);
    assert_string_equal(e.description, "Bad Request: message caption is too long");
    /* ... counted after the tags are parsed away, in UTF-16 units */
    char tagged[1100];
    snprintf(tagged, sizeof tagged, "<b>%.1000s</b>", caption);
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", tagged, &e, &d), ERR_OK);
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", "<b>open", &e, &d), ERR_INVALID);
    assert_non_null(strstr(e.description, "Bad Request: can't parse entities"));
    assert_int_equal(tg_send_photo(c, 42, "GIF89a not really", 17, "a.png", NULL, &e, &d),
                     ERR_INVALID);
    assert_string_equal(e.description, "Bad Request: IMAGE_PROCESS_FAILED");
    n = fake_png(png, sizeof png, 9000, 1001, 100);
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", NULL, &e, &d), ERR_INVALID);
    assert_string_equal(e.description, "Bad Request: PHOTO_INVALID_DIMENSIONS");
    n = fake_png(png, sizeof png, 2100, 100, 100);
    assert_int_equal(tg_send_photo(c, 42, png, n, "a.png", NULL, &e, &d), ERR_INVALID);
    /* Over 10 MB: the client does not send it; the fake refuses it when it comes anyway. */
    n = fake_png(png, sizeof png, 100, 100, (10 << 20) + 1);
    assert_int_equal(tg_send_photo(c, 42, png, n, "big.png", NULL, &e, &d), ERR_TOOBIG);
    struct buf body = BUF_INIT(11 << 20);
    char ct[128];
    assert_int_equal(tg_photo_multipart(&body, ct, sizeof ct, 42, png, n, "big.png", NULL), ERR_OK);
    char url[256];
    snprintf(url, sizeof url, "%s/bot%s/sendPhoto", fx.base, TOKEN);
    struct res r = request_with(fx.http, "POST", url, ct, body.data, body.len);
    expect_error(&r, 400, "Bad Request: file is too big");
    res_free(&r);
    /* A broken body: named. */
    body.len -= 10;
    r = request_with(fx.http, "POST", url, ct, body.data, body.len);
    expect_error(&r, 400,
                 "Bad Request: multipart body: part 2: the body ends inside the part (no "
                 "closing delimiter)");
    res_free(&r);
    buf_release(&body);
    /* A photo by URL (no upload) and none at all. */
    r = api_json(&fx, "sendPhoto", "{\"chat_id\":42,\"photo\":\"https://example.com/a.png\"}");
    assert_int_equal(r.status, 200);
    res_free(&r);
    r = api_json(&fx, "sendPhoto", "{\"chat_id\":42}");
    expect_error(&r, 400, "Bad Request: there is no photo in the request");
    res_free(&r);
    tg_free(c);
    stop(&fx);
}

static void test_handler_never_crashes(void **state)
{
    uint64_t rng = tu_seed("test_handler_never_crashes");
    struct tg_fake *f;
    struct diag d;
    struct tg_fake_opts o = {.token = TOKEN};
    assert_int_equal(tg_fake_new(&o, &f, &d), ERR_OK);
    static const char *const pieces[] = {
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "chat_id",
        "text",
        "parse_mode",
        "HTML",
        "<b>",
        "</b>",
        "&amp;",
        "&",
        "=",
        "%",
        "%41",
        "%C3%A9",
        "\\u00e9",
        "\xc3",
        "42",
        "-1",
        "@x",
        "null",
        "true",
        "1e999",
        "reply_markup",
        "commands",
        "[{\"command\":\"a\",\"description\":\"b\"}]",
        "url",
        "https://a:8443/",
        "secret_token",
        "allowed_updates",
        "<",
        "&#",
        "\"text\":",
        "scope",
        "offset",
    };
    static const char *const methods[] = {
        "sendMessage",         "setWebhook",     "setMyCommands", "getMyCommands",
        "answerCallbackQuery", "getWebhookInfo", "deleteWebhook", "getMe"};
    static const char *const types[] = {"Content-Type: application/json",
                                        "Content-Type: application/x-www-form-urlencoded",
                                        "Content-Type: multipart/form-data", "X-Nothing: 1"};
    char body[512], path[128];
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        if (tu_rand(&rng) % 3 == 0) {
            n = tu_rand(&rng) % sizeof body;
            for (size_t i = 0; i < n; i++)
                body[i] = (char)tu_rand(&rng);
        } else {
            size_t k = tu_rand(&rng) % 24;
            for (size_t i = 0; i < k; i++) {
                const char *s = pieces[tu_rand(&rng) % (sizeof pieces / sizeof pieces[0])];
                size_t l = strlen(s);
                if (n + l >= sizeof body)
                    break;
                memcpy(body + n, s, l);
                n += l;
            }
        }
        body[n] = '\0';
        snprintf(path, sizeof path, "/bot%s/%s", TOKEN,
                 methods[tu_rand(&rng) % (sizeof methods / sizeof methods[0])]);
        const char *headers[1] = {types[tu_rand(&rng) % (sizeof types / sizeof types[0])]};
        int in_query = tu_rand(&rng) % 4 == 0;
        struct httpd_request req = {
            .method = "POST",
            .target = path,
            .path = path,
            .query = in_query ? body : "",
            .headers = headers,
            .nheaders = 1,
            .body = in_query ? "" : body,
            .body_len = in_query ? 0 : n,
        };
        struct httpd_response resp;
        httpd_response_init(&resp, (size_t)1 << 24);
        tg_fake_handle(f, &req, &resp);
        struct jv *root;
        if (jv_parse(resp.body.data ? resp.body.data : "", resp.body.len, &root, &d) != ERR_OK)
            fail_msg("round %d: the answer is not JSON: %s", round, buf_cstr(&resp.body));
        int ok = 0;
        assert_int_equal(jv_bool(jv_get(root, "ok"), &ok), ERR_OK);
        if (!ok)
            assert_int_equal(int_of(root, "error_code"), resp.status);
        else
            assert_int_equal(resp.status, 200);
        jv_free(root);
        httpd_response_release(&resp);
    }
    /* Every call was recorded, as JSON. */
    struct buf calls = BUF_INIT((size_t)1 << 26);
    assert_int_equal(tg_fake_calls_json(f, &calls), ERR_OK);
    struct jv *root;
    assert_int_equal(jv_parse(calls.data, calls.len, &root, &d), ERR_OK);
    assert_int_equal(jv_len(root), 3000);
    jv_free(root);
    buf_release(&calls);
    tg_fake_free(f);
}

static int group_setup(void **state)
{
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_and_unknown_method),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_send_message),
        cmocka_unit_test(test_text_length_in_utf16),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_webhook),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_answer_callback_query),
        cmocka_unit_test(test_get_updates_offsets),
        cmocka_unit_test(test_long_poll_wakes_up),
        cmocka_unit_test(test_long_poll_conflicts_and_stop),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_recording),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_send_photo),
        cmocka_unit_test(test_handler_never_crashes),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
