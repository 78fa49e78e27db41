/* Unit tests: the bot's command table (bot/bot.h): every row is complete, access is decided
 * by the row, and /help and the setMyCommands list are generated from the table. */
#include "testutil.h"

#include "bot/bot.h"
#include "codec/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_rows_complete(void **state)
{
    (void)state;
    assert_true(bot_ncommands >= 14);
    for (size_t i = 0; i < bot_ncommands; i++) {
        const struct bot_command *k = &bot_commands[i];
        assert_non_null(k->name);
        assert_non_null(k->args);
        assert_non_null(k->description);
        assert_non_null(k->run);
        assert_true(k->name[0] && strlen(k->name) <= 32); /* Telegram's limit */
        for (const char *p = k->name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        assert_ptr_equal(bot_command_find(k->name), k);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(bot_commands[j].name, k->name);
    }
    assert_null(bot_command_find("frobnicate"));
    assert_null(bot_command_find(""));
}

static void test_access(void **state)
{
    (void)state;
    struct bot_opts open = {0}, restricted = {.restricted = 1};
    const struct bot_command *screen = bot_command_find("screen");
    const struct bot_command *help = bot_command_find("help");
    const struct bot_command *start = bot_command_find("start");
    const struct bot_command *trigger = bot_command_find("trigger");
    assert_int_equal(screen->access, BOT_PUBLIC);
    assert_int_equal(help->access, BOT_OPEN);
    assert_int_equal(start->access, BOT_OPEN);
    assert_int_equal(trigger->access, BOT_PRIVILEGED);
    /* {open, restricted} x {allowed, not allowed} for each kind of row. */
    assert_true(bot_command_permitted(screen, &open, 0));
    assert_true(bot_command_permitted(screen, &open, 1));
    assert_false(bot_command_permitted(screen, &restricted, 0));
    assert_true(bot_command_permitted(screen, &restricted, 1));
    assert_true(bot_command_permitted(help, &restricted, 0));
    assert_true(bot_command_permitted(start, &restricted, 0));
    assert_false(bot_command_permitted(trigger, &open, 0));
    assert_true(bot_command_permitted(trigger, &open, 1));
    static const char *const privileged[] = {"trigger", "portfolio", "account", "monitor", "stats"};
    size_t n = 0;
    for (size_t i = 0; i < bot_ncommands; i++)
        n += bot_commands[i].access == BOT_PRIVILEGED;
    assert_int_equal(n, sizeof privileged / sizeof privileged[0]);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bot_command_find(privileged[i])->access, BOT_PRIVILEGED);
}

static char *ask_help(int64_t chat, const int64_t *allowed, size_t nallowed)
{
    struct bot_opts o = {.allowed_chats = allowed, .nallowed = nallowed};
    struct tg_update u = {
        .kind = TG_UPDATE_MESSAGE, .chat_id = chat, .is_command = 1, .has_text = 1};
    memcpy(u.chat_type, "private", sizeof "private");
    memcpy(u.command, "help", sizeof "help");
    struct bot_reply r;
    bot_reply_init(&r);
    struct diag d;
    assert_int_equal(bot_handle(&o, &u, &r, &d), ERR_OK);
    assert_int_equal(r.texts.n, 1);
    char *text = strdup(r.texts.v[0]);
    bot_reply_release(&r);
    return text;
}

/* /help lists the table's listed rows in its order, the privileged ones for allowed chats. */
static void test_help_from_table(void **state)
{
    (void)state;
    const int64_t allowed[] = {42};
    for (int who = 0; who < 2; who++) {
        char *h = ask_help(who ? 42 : 7, allowed, 1);
        const char *at = h;
        size_t lines = 0;
        for (size_t i = 0; i < bot_ncommands; i++) {
            const struct bot_command *k = &bot_commands[i];
            char line[256];
            snprintf(line, sizeof line, "/%s%s%s — %s", k->name, k->args[0] ? " " : "", k->args,
                     k->description);
            /* A whole line: the message's last one has no newline. */
            const char *found = strstr(h, line);
            if (found && found[strlen(line)] != '\n' && found[strlen(line)] != '\0')
                found = NULL;
            int shown = !k->unlisted && (k->access != BOT_PRIVILEGED || who);
            if (!shown) {
                assert_null(found);
                continue;
            }
            if (!found || found < at)
                fail_msg("help for chat %d: '%s' missing or out of order in:\n%s", who, line, h);
            at = found + strlen(line);
            lines++;
        }
        assert_int_equal(lines, who ? bot_commands_listed() : bot_commands_listed() - 5);
        free(h);
    }
}

static void test_set_my_commands(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(bot_commands_json(&b), ERR_OK);
    struct jv *root;
    struct diag d;
    if (jv_parse(b.data, b.len, &root, &d) != ERR_OK)
        fail_msg("not JSON: %s: %s", d.text, b.data);
    const struct jv *list = jv_get(root, "commands");
    assert_int_equal(jv_len(list), bot_commands_listed());
    assert_int_equal(bot_commands_listed(), bot_ncommands - 1); /* all but /start */
    size_t k = 0;
    for (size_t i = 0; i < bot_ncommands; i++) {
        if (bot_commands[i].unlisted)
            continue;
        const struct jv *c = jv_at(list, k++);
        assert_string_equal(jv_str(jv_get(c, "command"), NULL), bot_commands[i].name);
        assert_string_equal(jv_str(jv_get(c, "description"), NULL), bot_commands[i].description);
    }
    assert_null(strstr(b.data, "\"start\""));
    jv_free(root);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_complete),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_help_from_table),
        cmocka_unit_test(test_set_my_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
