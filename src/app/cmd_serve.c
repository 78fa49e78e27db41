/* screener serve - the bot's webhook on a local HTTP server. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "base/log.h"
#include "net/httpd.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener serve [options]\n\n"
    "Serve the Telegram bot's webhook: POST /webhook takes Telegram's updates and answers each\n"
    "(inline in the response when the reply is one message), GET /healthz says the server is\n"
    "up.  Requests without the right X-Telegram-Bot-Api-Secret-Token get 401; bodies over 1 MiB\n"
    "get 413; anything that is not an update the bot acts on gets an empty 200, so Telegram\n"
    "never redelivers it.  Put it behind an HTTPS proxy and run 'screener bot setup\n"
    "--webhook-url https://HOST/webhook', or use 'screener poll' where there is no public URL.\n"
    "Runs until SIGINT or SIGTERM.\n\n"
    "Options:\n"
    "      --port N             TCP port (default 8080; 0: any free port, printed)\n"
    "      --bind ADDR          IPv4 address to listen on (default 127.0.0.1)\n" APP_COMMON_HELP
    "\nEnvironment: TELEGRAM_WEBHOOK_SECRET (required), TELEGRAM_BOT_TOKEN (to send replies of\n"
    "several messages), TELEGRAM_ALLOWED_CHATS (chat ids allowed /trigger, /stats, /portfolio,\n"
    "/account, /monitor), TELEGRAM_PRIVATE=1 (every command needs an allowed chat),\n"
    "TELEGRAM_BOT_USERNAME, TELEGRAM_API_URL; secrets not in the environment come from SSM\n"
    "(/screener/telegram/...) when SSM is on.\n";

enum { OPT_PORT = OPT_FIRST_FREE_, OPT_BIND };

struct server {
    pthread_mutex_t lock; /* the bot, its store and its HTTP client serve one request at a time */
    struct app_bot *bot;
};

static void handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct server *s = ctx;
    httpd_response_header(resp, "Content-Type", "application/json");
    if (strcmp(req->path, "/healthz") == 0) {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
            resp->status = 405;
            httpd_response_header(resp, "Allow", "GET, HEAD");
            return;
        }
        buf_puts(&resp->body, "{\"ok\":true}");
        return;
    }
    if (strcmp(req->path, "/webhook") != 0) {
        resp->status = 404;
        buf_puts(&resp->body, "{\"ok\":false,\"description\":\"Not Found\"}");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        resp->status = 405;
        httpd_response_header(resp, "Allow", "POST");
        return;
    }
    struct webhook_answer a;
    webhook_answer_init(&a);
    pthread_mutex_lock(&s->lock);
    webhook_handle(&s->bot->wh, httpd_request_header(req, WEBHOOK_SECRET_HEADER), req->body,
                   req->body_len, &a);
    pthread_mutex_unlock(&s->lock);
    resp->status = a.status;
    if (a.body.len)
        buf_append(&resp->body, a.body.data, a.body.len);
    webhook_answer_release(&a);
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener serve");
    long port = 8080;
    const char *bind_addr = "127.0.0.1";
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            app_release(&a);
            return 0;
        case OPT_PORT:
            if ((rc = app_parse_long(&a, "--port", optarg, 0, 65535, &port)) != 0) {
                app_release(&a);
                return rc;
            }
            break;
        case OPT_BIND:
            bind_addr = optarg;
            break;
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0) {
                app_release(&a);
                return rc < 0 ? app_usage_error(&a, "unknown option") : rc;
            }
        }
    }
    struct in_addr ia;
    if (optind < argc || inet_pton(AF_INET, bind_addr, &ia) != 1) {
        rc = optind < argc ? app_usage_error(&a, "unexpected argument '%s'", argv[optind])
                           : app_usage_error(&a, "--bind: '%s' is not an IPv4 address", bind_addr);
        app_release(&a);
        return rc;
    }
    struct diag d = {{0}};
    struct app_bot bot;
    memset(&bot, 0, sizeof bot);
    int err = app_open_store(&a, &d);
    if (!err)
        err = app_bot_init(&a, &bot, NULL, APP_BOT_SECRET, 0, &d);
    /* Signals are taken by sigwait below: block them before any thread starts. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct server s = {.bot = &bot};
    pthread_mutex_init(&s.lock, NULL);
    struct httpd *h = NULL;
    int bound = 0;
    if (!err) {
        struct httpd_opts ho = {.bind_addr = bind_addr,
                                .port = (int)port,
                                .max_body = WEBHOOK_BODY_MAX,
                                .max_response = (size_t)64 << 10,
                                .handler = handle,
                                .ctx = &s};
        err = httpd_start(&ho, &h, &bound, &d);
    }
    if (!err) {
        printf("screener serve: listening on http://%s:%d (POST /webhook, GET /healthz)\n",
               bind_addr, bound);
        fflush(stdout);
        log_info("webhook server started", LF_STR("address", bind_addr), LF_INT("port", bound),
                 LF_INT("allowed_chats", (int64_t)bot.opts.nallowed));
        int sig = 0;
        sigwait(&stop, &sig);
        log_info("webhook server stopping", LF_INT("signal", sig));
        httpd_stop(h);
    }
    pthread_mutex_destroy(&s.lock);
    app_bot_release(&bot);
    rc = err ? app_fail(&a, err, &d) : 0;
    app_release(&a);
    return rc;
}
