/* bot_setup.h - the bot's settings and clients, shared by serve, poll, bot and Lambda.
 *
 * Environment: TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET (or their SSM parameters),
 * TELEGRAM_ALLOWED_CHATS (comma list of chat ids allowed the privileged commands),
 * TELEGRAM_PRIVATE=1 (every command needs an allowed chat), TELEGRAM_BOT_USERNAME (commands
 * addressed to another bot in a group are ignored), TELEGRAM_API_URL, COLLECTOR_FUNCTION_NAME
 * (in AWS: /trigger invokes that function asynchronously).  With the Alpaca keys
 * (APCA_API_KEY_ID, APCA_API_SECRET_KEY or their SSM parameters) and unless
 * SCREENER_PORTFOLIO=0, /portfolio, /account and /monitor read the account (account/account.h)
 * and /screen marks the candidates held (for allowed chats).
 */
#ifndef APP_BOT_SETUP_H
#define APP_BOT_SETUP_H

#include <pthread.h>

#include "app/app.h"
#include "bot/bot.h"
#include "bot/push.h"
#include "bot/telegram.h"
#include "bot/webhook.h"

struct http_client;
struct account;

struct app_bot {
    struct bot_opts opts;
    int64_t *allowed;
    const char *store_location;
    struct http_client *own_http;
    struct http_client *http;       /* the one in use (own_http or the caller's) */
    const char *collector_function; /* COLLECTOR_FUNCTION_NAME: /trigger invokes it */
    struct tg_client *tg;           /* NULL when there is no token and none was needed */
    struct webhook wh;
    struct results_latest latest; /* the parsed latest screen, kept while unchanged */
    struct account *trading;      /* the Alpaca account for the hooks, set up when first asked */
    char font[512];               /* the charts' font (app_font_file) */
    pthread_mutex_t me_lock;      /* guards username (the copy, never the getMe call) */
    char username[64];            /* learned with getMe; "" until then */
    struct objstore *own_os;      /* a copy's own store connection (app_bot_copy) */
    int copy;                     /* made by app_bot_copy: allowed is the original's */
};

enum { APP_BOT_TOKEN = 1, APP_BOT_SECRET = 2 };

/* Read the settings; need says which secrets must be there (ERR_AUTH naming them otherwise).
 * http is borrowed (NULL: one of its own); timeout_ms bounds each Bot API request (0: the
 * default; a long poll needs more than its wait).  a->os must be open. */
int app_bot_init(struct app *a, struct app_bot *b, struct http_client *http, unsigned need,
                 int64_t timeout_ms, struct diag *d);
void app_bot_release(struct app_bot *b);

/* A copy of b for one thread at a time: the same settings, with a store connection, results
 * cache, HTTP client, Bot API client and trading client of its own, so that answers worked
 * out on other threads share nothing that talks to the network.  b must outlive it (the allow
 * list is b's); release it with app_bot_release. */
int app_bot_copy(struct app_bot *b, struct app_bot *out, struct diag *d);

/* The bot's @name: TELEGRAM_BOT_USERNAME, else asked with getMe once and kept (a failed
 * getMe is asked again next time).  NULL when unknown. */
const char *app_bot_username(struct app_bot *b);

#endif
