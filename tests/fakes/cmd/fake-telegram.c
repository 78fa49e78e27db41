/* fake-telegram - serve the fake Telegram Bot API (tests/fakes/telegram_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process, read the port from its first
 * line, and point the bot's API base URL at it. */
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "fakes/telegram_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#include "base/banned.h"

#define UPDATES_MAX ((size_t)64 << 20)

static const char usage[] =
    "usage: fake-telegram --token TOKEN [options]\n\n"
    "Serve a fake Telegram Bot API on 127.0.0.1: /bot<TOKEN>/<method> for getMe,\n"
    "sendMessage, sendPhoto (multipart uploads), setWebhook, deleteWebhook, getWebhookInfo,\n"
    "setMyCommands, getMyCommands,\n"
    "deleteMyCommands, answerCallbackQuery and getUpdates (long polling), validated as the\n"
    "real server does and answered in its envelope.  Every call is recorded.  Prints one line\n"
    "\"listening on 127.0.0.1:PORT\" once ready, then serves until SIGTERM or SIGINT.\n\n"
    "Control endpoints: GET /_calls (the calls recorded), POST /_reset, POST /_updates (a JSON\n"
    "array of Update objects for getUpdates), POST /_fault (e.g. {\"method\":\"sendMessage\",\n"
    "\"status\":429,\"retry_after\":2,\"count\":1}).\n\n";

/* The options being read, and the updates file's contents. */
struct args {
    struct tg_fake_opts *o;
    struct buf *updates;
};

static int set_updates(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    buf_reset(a->updates);
    int err = file_read(v, a->updates, d);
    a->o->updates_json = buf_cstr(a->updates);
    a->o->updates_len = a->updates->len;
    return err;
}

static int parse_args(int argc, char **argv, struct args *a, int *help, struct diag *d)
{
    struct tg_fake_opts *o = a->o;
    const struct tool_opt opts[] = {
        TOOL_OPT_STR("token", "TOKEN", &o->token,
                     "the bot token to accept (required); never logged"),
        TOOL_OPT_PORT(&o->port),
        TOOL_OPT_STR("record", "FILE", &o->record_path,
                     "append one JSON line per call to FILE, flushed at once"),
        TOOL_OPT_SET("updates", "FILE", set_updates,
                     "queue the JSON array of Update objects in FILE"),
        TOOL_OPT_FLAG("flood", &o->flood, 1,
                      "answer 429 to sendMessage faster than Telegram allows (one\n"
                      "message per second per chat, 30 per second overall)"),
        TOOL_OPT_STR("username", "NAME", &o->bot_username,
                     "the bot's username (default screener_fake_bot)"),
        TOOL_OPT_SET("log-level", "LEVEL", tool_log_level,
                     "debug (one line per call), info, warn, error (default warn)"),
    };
    const struct tool_cmd c = {usage, opts, sizeof opts / sizeof opts[0], a};
    int err = tool_parse_args(&c, argc, argv, help, d);
    if (err || *help)
        return err;
    if (!o->token || !*o->token)
        return diag_set(d, ERR_USAGE, "--token is required");
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
    struct tg_fake_opts o = {0};
    struct buf updates = BUF_INIT(UPDATES_MAX);
    struct diag d = {{0}};
    int help = 0, status = 1;
    struct args a = {&o, &updates};
    int err = parse_args(argc, argv, &a, &help, &d);
    if (help) {
        status = 0;
        goto out;
    }
    if (err) {
        fprintf(stderr, "fake-telegram: %s\n(see fake-telegram --help)\n", d.text);
        status = 2;
        goto out;
    }
    tool_block_stop_signals();
    struct tg_fake *f;
    int port;
    err = tg_fake_start(&o, &f, &port, &d);
    if (err) {
        fprintf(stderr, "fake-telegram: %s\n", d.text);
        status = err == ERR_USAGE ? 2 : 1;
        goto out;
    }
    tool_serve_until_stopped(port);
    tg_fake_stop(f);
    status = 0;
out:
    buf_release(&updates);
    return status;
}
