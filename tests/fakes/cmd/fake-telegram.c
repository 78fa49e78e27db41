/* fake-telegram - serve the fake Telegram Bot API (tests/fakes/telegram_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process, read the port from its first
 * line, and point the bot's API base URL at it. */
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "fakes/telegram_fake.h"

#include <getopt.h>
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
    "\"status\":429,\"retry_after\":2,\"count\":1}).\n\n"
    "Options:\n"
    "      --token TOKEN        the bot token to accept (required); never logged\n"
    "      --port N             port to listen on; 0 picks a free one (default 0)\n"
    "      --record FILE        append one JSON line per call to FILE, flushed at once\n"
    "      --updates FILE       queue the JSON array of Update objects in FILE\n"
    "      --flood              answer 429 to sendMessage faster than Telegram allows (one\n"
    "                           message per second per chat, 30 per second overall)\n"
    "      --username NAME      the bot's username (default screener_fake_bot)\n"
    "      --log-level LEVEL    debug (one line per call), info, warn, error (default warn)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_TOKEN = 256,
    OPT_PORT,
    OPT_RECORD,
    OPT_UPDATES,
    OPT_FLOOD,
    OPT_USERNAME,
    OPT_LOG_LEVEL,
};

static const struct option options[] = {
    {"token", required_argument, NULL, OPT_TOKEN},
    {"port", required_argument, NULL, OPT_PORT},
    {"record", required_argument, NULL, OPT_RECORD},
    {"updates", required_argument, NULL, OPT_UPDATES},
    {"flood", no_argument, NULL, OPT_FLOOD},
    {"username", required_argument, NULL, OPT_USERNAME},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, struct tg_fake_opts *o, struct buf *updates, int *help,
                      struct diag *d)
{
    int64_t v;
    int err = ERR_OK, c;
    opterr = 0;
    while (!err && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_TOKEN:
            o->token = optarg;
            break;
        case OPT_PORT:
            err = tool_parse_num("port", optarg, 0, 65535, &v, d);
            o->port = (int)v;
            break;
        case OPT_RECORD:
            o->record_path = optarg;
            break;
        case OPT_UPDATES:
            buf_reset(updates);
            if (file_read(optarg, updates, d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--updates");
            o->updates_json = buf_cstr(updates);
            o->updates_len = updates->len;
            break;
        case OPT_FLOOD:
            o->flood = 1;
            break;
        case OPT_USERNAME:
            o->bot_username = optarg;
            break;
        case OPT_LOG_LEVEL:
            err = tool_log_level(optarg, d);
            break;
        case 'h':
            *help = 1;
            return ERR_OK;
        case ':':
            err = diag_set(d, ERR_USAGE, "%s needs a value", argv[optind - 1]);
            break;
        default:
            err = diag_set(d, ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (err)
        return err;
    if (optind < argc)
        return diag_set(d, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
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
    int err = parse_args(argc, argv, &o, &updates, &help, &d);
    if (help) {
        fputs(usage, stdout);
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
