/* Unit tests: reading Telegram updates and writing message text. */
#include "testutil.h"

#include "bot/format.h"
#include "bot/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *json, struct tg_update *u, struct diag *d)
{
    return tg_update_parse(json, strlen(json), u, d);
}

static void test_update_command(void **state)
{
    (void)state;
    struct tg_update u;
    struct diag d;
    assert_int_equal(parse("{\"update_id\":912345678,\"message\":{\"message_id\":42,"
                           "\"from\":{\"id\":111222333,\"is_bot\":false,\"first_name\":\"Ann\"},"
                           "\"chat\":{\"id\":-1001234567890123,\"type\":\"supergroup\"},"
                           "\"date\":1767225600,\"text\":\"/Drops@ScreenerBot   25  \","
                           "\"entities\":[{\"offset\":0,\"length\":18,\"type\":\"bot_command\"}]}}",
                           &u, &d),
                     ERR_OK);
    assert_int_equal(u.kind, TG_UPDATE_MESSAGE);
    assert_int_equal(u.update_id, 912345678);
    assert_true(u.chat_id == -1001234567890123LL); /* beyond 32 bits */
    assert_string_equal(u.chat_type, "supergroup");
    assert_int_equal(u.from_id, 111222333);
    assert_int_equal(u.message_id, 42);
    assert_true(u.is_command);
    assert_string_equal(u.command, "drops");
    assert_string_equal(u.mention, "ScreenerBot");
    assert_string_equal(u.args, "25");

    assert_int_equal(parse("{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,"
                           "\"type\":\"private\"},\"date\":1,\"text\":\"hello /screen\"}}",
                           &u, &d),
                     ERR_OK);
    assert_true(u.has_text);
    assert_false(u.is_command);
    assert_string_equal(u.command, "");

    /* A name that is not a command's: still a command, of no known name. */
    assert_int_equal(parse("{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,"
                           "\"type\":\"private\"},\"date\":1,\"text\":\"/scr-een\"}}",
                           &u, &d),
                     ERR_OK);
    assert_true(u.is_command);
    assert_string_equal(u.command, "");
}

static void test_update_ignored_kinds(void **state)
{
    (void)state;
    struct tg_update u;
    struct diag d;
    static const char *const kinds[] = {"edited_message", "channel_post", "callback_query",
                                        "my_chat_member"};
    for (size_t i = 0; i < 4; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"update_id\":7,\"%s\":{\"message_id\":1,\"chat\":{\"id\":5,\"type\":"
                 "\"channel\"},\"date\":1,\"text\":\"/screen\"}}",
                 kinds[i]);
        assert_int_equal(parse(json, &u, &d), ERR_OK);
        assert_int_equal(u.kind, TG_UPDATE_IGNORED);
        assert_string_equal(u.kind_name, kinds[i]);
    }
    assert_int_equal(parse("{\"update_id\":7,\"future_kind\":{}}", &u, &d), ERR_OK);
    assert_int_equal(u.kind, TG_UPDATE_IGNORED);
    assert_string_equal(u.kind_name, "unknown");

    /* A sticker: a message without text. */
    assert_int_equal(parse("{\"update_id\":8,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,"
                           "\"type\":\"private\"},\"date\":1,\"sticker\":{\"file_id\":\"x\"}}}",
                           &u, &d),
                     ERR_OK);
    assert_int_equal(u.kind, TG_UPDATE_MESSAGE);
    assert_false(u.has_text);

    /* A huge text is not acted on. */
    size_t n = 20000;
    char *big = malloc(n + 200);
    int k = snprintf(big, 200,
                     "{\"update_id\":9,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,"
                     "\"type\":\"private\"},\"date\":1,\"text\":\"/stock ");
    memset(big + k, 'A', n);
    strcpy(big + k + n, "\"}}");
    assert_int_equal(parse(big, &u, &d), ERR_OK);
    assert_int_equal(u.kind, TG_UPDATE_IGNORED);
    free(big);
}

static void test_update_malformed(void **state)
{
    (void)state;
    struct tg_update u;
    struct diag d;
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"", "update"},
        {"[1,2]", "array, expected an object"},
        {"{\"message\":{}}", "no 'update_id'"},
        {"{\"update_id\":\"1\"}", "update.update_id is string"},
        {"{\"update_id\":1.5}", "not an integer"},
        {"{\"update_id\":1,\"message\":[]}", "message is array"},
        {"{\"update_id\":1,\"message\":{\"message_id\":1}}", "no 'chat'"},
        {"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":\"x\",\"type\":\"p\"}}}",
         "message.chat.id is string"},
        {"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1}}}", "'type'"},
        {"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},"
         "\"text\":5}}",
         "message.text is number"},
        {"{\"update_id\":1,\"update_id\":2}", "update"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i].json, &u, &d) != ERR_PARSE)
            fail_msg("accepted: %s", bad[i].json);
        if (!strstr(d.text, bad[i].want))
            fail_msg("'%s': got '%s', want '%s'", bad[i].json, d.text, bad[i].want);
        assert_int_equal(u.kind, TG_UPDATE_IGNORED);
    }
}

static void test_html_escape(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(TG_BUF_MAX);
    assert_int_equal(fmt_html(&b, "AT&T <b> \"x\" > y"), 0);
    assert_string_equal(buf_cstr(&b), "AT&amp;T &lt;b&gt; &quot;x&quot; &gt; y");
    buf_release(&b);
}

static void test_utf16_len(void **state)
{
    (void)state;
    assert_int_equal(fmt_utf16_len("abc", 3), 3);
    assert_int_equal(fmt_utf16_len("é", 2), 1);
    assert_int_equal(fmt_utf16_len("▁", 3), 1);
    assert_int_equal(fmt_utf16_len("\xF0\x9F\x93\x89", 4), 2); /* 📉 */
    assert_int_equal(fmt_utf16_len("\xFF\xC3", 2), 2);         /* invalid: a unit each */
}

static void test_split_short_and_lines(void **state)
{
    (void)state;
    struct strvec v = STRVEC_INIT;
    assert_int_equal(fmt_split("hello\nworld", 11, 4096, &v), 0);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.v[0], "hello\nworld");
    strvec_release(&v);

    /* 100 lines of 60 characters: cut at line ends, every chunk within the limit. */
    struct buf b = BUF_INIT(TG_BUF_MAX);
    for (int i = 0; i < 100; i++)
        buf_printf(&b, "line %03d %050d\n", i, i);
    assert_int_equal(fmt_split(b.data, b.len, 1000, &v), 0);
    assert_true(v.n >= 7);
    size_t total = 0;
    for (size_t i = 0; i < v.n; i++) {
        assert_true(fmt_utf16_len(v.v[i], strlen(v.v[i])) <= 1000);
        assert_int_equal(strncmp(v.v[i], "line ", 5), 0); /* starts at a line */
        total += strlen(v.v[i]) + 1;
    }
    assert_int_equal(total, b.len); /* nothing lost: only the newlines at the cuts */
    strvec_release(&v);
    buf_release(&b);
}

static void test_split_pre_reopened(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(TG_BUF_MAX);
    buf_puts(&b, "<b>Title</b>\n<pre>");
    for (int i = 0; i < 200; i++)
        buf_printf(&b, "%3d SYMB%03d   -12.5%%\n", i, i);
    buf_puts(&b, "</pre>\nfooter");
    struct strvec v = STRVEC_INIT;
    assert_int_equal(fmt_split(b.data, b.len, 1200, &v), 0);
    assert_true(v.n > 2);
    for (size_t i = 0; i < v.n; i++) {
        const char *c = v.v[i];
        assert_true(fmt_utf16_len(c, strlen(c)) <= 1200);
        /* Every chunk balances its <pre>. */
        int open = 0;
        for (const char *p = c; (p = strchr(p, '<')); p++) {
            if (strncmp(p, "<pre>", 5) == 0)
                open++;
            else if (strncmp(p, "</pre>", 6) == 0)
                open--;
            assert_true(open == 0 || open == 1);
        }
        assert_int_equal(open, 0);
    }
    assert_int_equal(strncmp(v.v[0], "<b>Title</b>", 12), 0);
    assert_int_equal(strncmp(v.v[1], "<pre>", 5), 0);
    assert_non_null(strstr(v.v[v.n - 1], "footer"));
    strvec_release(&v);
    buf_release(&b);
}

static void test_split_long_line(void **state)
{
    (void)state;
    /* One line of 5000 two-byte characters: cut at character boundaries. */
    struct buf b = BUF_INIT(TG_BUF_MAX);
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, "é");
    struct strvec v = STRVEC_INIT;
    assert_int_equal(fmt_split(b.data, b.len, 4096, &v), 0);
    assert_int_equal(v.n, 2);
    /* Room is kept to close a <pre> the line might open. */
    assert_int_equal(fmt_utf16_len(v.v[0], strlen(v.v[0])), 4096 - 6);
    assert_int_equal(fmt_utf16_len(v.v[1], strlen(v.v[1])), 5000 - 4090);
    strvec_release(&v);
    buf_release(&b);
}

static void test_sparkline(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(TG_BUF_MAX);
    double v[] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(fmt_sparkline(&b, v, 8), 0);
    assert_string_equal(buf_cstr(&b), "▁▂▃▄▅▆▇█");
    buf_reset(&b);
    double flat[] = {5, 5, 5};
    assert_int_equal(fmt_sparkline(&b, flat, 3), 0);
    assert_string_equal(buf_cstr(&b), "▄▄▄");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_command),     cmocka_unit_test(test_update_ignored_kinds),
        cmocka_unit_test(test_update_malformed),   cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_utf16_len),          cmocka_unit_test(test_split_short_and_lines),
        cmocka_unit_test(test_split_pre_reopened), cmocka_unit_test(test_split_long_line),
        cmocka_unit_test(test_sparkline),
    };
    return cmocka_run_group_tests_name("bot text", tests, NULL, NULL);
}
