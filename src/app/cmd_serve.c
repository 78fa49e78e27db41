/* screener serve - the bot's webhook on a local HTTP server. */
#include "app/app.h"
#include "app/bot_setup.h"
#include "aws/secrets.h"
#include "base/log.h"
#include "net/http.h"
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
    "up.  Requests without the right X-Telegram-Bot-Api-Secret-Token get 401 as soon as their\n"
    "headers are in (the body is never read); bodies over 1 MiB get 413; anything that is not\n"
    "an update the bot acts on gets an empty 200, so Telegram never redelivers it.  Put it\n"
    "behind an HTTPS proxy and run 'screener bot setup --webhook-url https://HOST/webhook',\n"
    "or use 'screener poll' where there is no public URL.\n"
    "Runs until SIGINT or SIGTERM.\n\n"
    "Options:\n"
    "      --port N             TCP port (default 8080; 0: any free port, printed)\n"
    "      --bind ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "      --max-connections N  connections at once; more are closed at once (default 256)\n"
    "      --max-per-address N  connections at once from one address (default 64; 0: no\n"
    "                           limit, e.g. behind a proxy that connects from one address)\n"
    "      --timeout S          seconds a connection may take for a request, however slowly\n"
    "                           it trickles in (default 15)\n" APP_COMMON_HELP
    "\nEnvironment: TELEGRAM_WEBHOOK_SECRET (required), TELEGRAM_BOT_TOKEN (to send replies of\n"
    "several messages), TELEGRAM_ALLOWED_CHATS (chat ids allowed /trigger, /stats, /portfolio,\n"
    "/account, /monitor), TELEGRAM_PRIVATE=1 (every command needs an allowed chat),\n"
    "TELEGRAM_BOT_USERNAME, TELEGRAM_API_URL; secrets not in the environment come from SSM\n"
    "(/screener/telegram/...) when SSM is on.\n";

enum { OPT_PORT = OPT_FIRST_FREE_, OPT_BIND, OPT_MAX_CONN, OPT_MAX_PER_ADDR, OPT_CONN_TIMEOUT };

/* A worker per request at once: a copy of the bot with its own store connection, cache and
 * clients (app_bot_copy), so that one chat's slow S3 read, slow brokerage answer or flood
 * wait (429) holds up only that chat's request.  Kept for reuse; the pool's lock guards the
 * list alone, never a network call. */
struct worker {
    struct app_bot bot;
    struct worker *next;
};

struct server {
    pthread_mutex_t lock; /* the webhook's memory of update_ids */
    pthread_mutex_t pool_lock;
    struct worker *idle;
    struct app_bot *bot;
};

static int take_worker(void *ctx, struct webhook_worker *out)
{
    struct server *s = ctx;
    pthread_mutex_lock(&s->pool_lock);
    struct worker *w = s->idle;
    if (w)
        s->idle = w->next;
    pthread_mutex_unlock(&s->pool_lock);
    if (!w) {
        /* Made outside the lock: opening a store may read credentials over the network. */
        struct diag d = {{0}};
        w = calloc(1, sizeof *w);
        int err = w ? app_bot_copy(s->bot, &w->bot, &d) : diag_set(&d, ERR_NOMEM, "out of memory");
        if (err) {
            log_error("serve: no worker for a request", LF_STR("error", d.text));
            if (w)
                app_bot_release(&w->bot);
            free(w);
            return err;
        }
    }
    w->next = NULL;
    out->bot = &w->bot.opts;
    out->tg = w->bot.tg;
    out->handle = w;
    return 0;
}

static void give_worker(void *ctx, struct webhook_worker *wk)
{
    struct server *s = ctx;
    struct worker *w = wk->handle;
    pthread_mutex_lock(&s->pool_lock);
    w->next = s->idle;
    s->idle = w;
    pthread_mutex_unlock(&s->pool_lock);
}

static void free_workers(struct server *s)
{
    for (struct worker *w = s->idle, *n; w; w = n) {
        n = w->next;
        app_bot_release(&w->bot);
        free(w);
    }
}

/* As soon as the headers are in: a webhook request without the right secret is refused
 * before its body is read (an unauthenticated body costs nothing). */
static int check_head(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct server *s = ctx;
    if (strcmp(req->path, "/webhook") != 0 || strcmp(req->method, "POST") != 0)
        return 0;
    if (webhook_authorized(&s->bot->wh, httpd_request_header(req, WEBHOOK_SECRET_HEADER)))
        return 0;
    resp->status = 401;
    httpd_response_header(resp, "Content-Type", "application/json");
    buf_puts(&resp->body, "{\"ok\":false,\"description\":\"Unauthorized\"}");
    log_warn("webhook: request refused before its body: missing or wrong secret token",
             LF_BOOL("header_present", httpd_request_header(req, WEBHOOK_SECRET_HEADER) != NULL));
    return 1;
}

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
    webhook_handle(&s->bot->wh, httpd_request_header(req, WEBHOOK_SECRET_HEADER), req->body,
                   req->body_len, &a);
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
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"max-per-address", required_argument, NULL, OPT_MAX_PER_ADDR},
        {"timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener serve");
    long port = 8080, max_conn = 256, max_per_addr = 64, conn_timeout = 15;
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
        case OPT_MAX_CONN:
        case OPT_MAX_PER_ADDR:
        case OPT_CONN_TIMEOUT:
            rc = app_parse_long(&a,
                                opt == OPT_MAX_CONN       ? "--max-connections"
                                : opt == OPT_MAX_PER_ADDR ? "--max-per-address"
                                                          : "--timeout",
                                optarg, opt == OPT_MAX_PER_ADDR ? 0 : 1,
                                opt == OPT_CONN_TIMEOUT ? 600 : 10000,
                                opt == OPT_MAX_CONN       ? &max_conn
                                : opt == OPT_MAX_PER_ADDR ? &max_per_addr
                                                          : &conn_timeout);
            if (rc != 0) {
                app_release(&a);
                return rc;
            }
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
    pthread_mutex_init(&s.pool_lock, NULL);
    if (!err) {
        bot.wh.lock = &s.lock;
        bot.wh.take_worker = take_worker;
        bot.wh.give_worker = give_worker;
        bot.wh.worker_ctx = &s;
        /* The bot's own name, for commands addressed to another bot: asked once now, and
         * known to every worker made after. */
        if (bot.tg)
            app_bot_username(&bot);
        /* A local /trigger needs the Alpaca keys: resolved once here, not by racing requests. */
        struct diag ignored = {{0}};
        if (bot.opts.hooks.trigger)
            secrets_load(SECRETS_ALPACA, &ignored);
    }
    struct httpd *h = NULL;
    int bound = 0;
    if (!err) {
        struct httpd_opts ho = {.bind_addr = bind_addr,
                                .port = (int)port,
                                .max_body = WEBHOOK_BODY_MAX,
                                .max_response = (size_t)64 << 10,
                                .max_connections = (unsigned)max_conn,
                                .max_per_address = (unsigned)max_per_addr,
                                .connection_timeout_s = (int)conn_timeout,
                                .idle_timeout_s = (int)conn_timeout,
                                .head = check_head,
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
    free_workers(&s);
    pthread_mutex_destroy(&s.pool_lock);
    app_bot_release(&bot);
    rc = err ? app_fail(&a, err, &d) : 0;
    app_release(&a);
    return rc;
}
