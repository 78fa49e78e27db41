/* telegram.h - the Telegram Bot API client: methods called with JSON parameters, answers read
 * from the {"ok":...} envelope.
 *
 * Requests go through net/fetch, so they get the retry policy every outside API gets, and the
 * Bot API's own flood control: a 429 carries its wait in the body (parameters.retry_after),
 * which is honoured.  The token is part of every URL, so no message made here contains a URL:
 * errors say "Telegram sendMessage: HTTP 403: Forbidden: bot was blocked by the user".
 */
#ifndef BOT_TELEGRAM_H
#define BOT_TELEGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/fetch.h"

#define TG_API_URL_DEFAULT "https://api.telegram.org"

struct jv;

struct tg_opts {
    const char *api_url; /* NULL: $TELEGRAM_API_URL, else TG_API_URL_DEFAULT */
    const char *token;
    struct http_client *http; /* borrowed */
    struct fetch_opts fetch;  /* retries, timeout, concurrency, limiter */
};

void tg_opts_default(struct tg_opts *o);

struct tg_client;

/* ERR_CONFIG-like ERR_AUTH when the token is missing or not shaped like one (digits ':'
 * letters, digits, '_' or '-'). */
int tg_new(const struct tg_opts *o, struct tg_client **out, struct diag *d);
void tg_free(struct tg_client *c);

/* What a failed call said. */
struct tg_error {
    int status;          /* HTTP status; 0 when no answer came */
    int64_t retry_after; /* seconds, from parameters; 0 when absent */
    int64_t migrate_to;  /* parameters.migrate_to_chat_id; 0 when absent */
    int not_done;        /* surely not acted on: never sent (no time left), or refused with a
                            4xx such as 429 (a timeout or a 5xx may have been acted on) */
    char description[256];
};

/* Told when a call ends: ERR_OK with the parsed envelope (its "result" member is the answer;
 * the callback owns it and frees it with jv_free), or an error with envelope NULL (ERR_AUTH
 * for 401/403, ERR_INVALID for other 4xx, ERR_RATELIMIT, ERR_UNAVAILABLE, ERR_NETWORK,
 * ERR_TIMEOUT when retries ran out) and e and d saying what. */
typedef void (*tg_done_fn)(void *ctx, int err, struct jv *envelope, const struct tg_error *e,
                           const struct diag *d);

/* Queue a call: params is a JSON object text (copied).  Calls run in tg_run. */
int tg_submit(struct tg_client *c, const char *method, const char *params, size_t len,
              tg_done_fn done, void *ctx, struct diag *d);
int tg_run(struct tg_client *c, struct diag *d);

/* One call, waited for.  When envelope is not NULL it receives the parsed answer (free with
 * jv_free). */
int tg_call(struct tg_client *c, const char *method, const char *params, size_t len,
            struct jv **envelope, struct tg_error *e, struct diag *d);

/* The parameters of a sendMessage with HTML text into out; with inline non-zero they carry
 * "method":"sendMessage" too, the form of a reply in a webhook's response. */
int tg_message_json(struct buf *out, int64_t chat_id, const char *html, int inline_reply);

/* Send one HTML message. */
int tg_send(struct tg_client *c, int64_t chat_id, const char *html, struct tg_error *e,
            struct diag *d);

/* Telegram's limits for an uploaded photo and its caption (characters after parsing). */
#define TG_PHOTO_MAX   (10 << 20)
#define TG_CAPTION_MAX 1024

/* Upload a PNG with sendPhoto, as multipart/form-data: chat_id, the caption in HTML (NULL or
 * "": none) with parse_mode, and the file.  ERR_TOOBIG above TG_PHOTO_MAX, else as tg_call. */
int tg_send_photo(struct tg_client *c, int64_t chat_id, const void *png, size_t len,
                  const char *filename, const char *caption_html, struct tg_error *e,
                  struct diag *d);
/* That call's body into out and its Content-Type header value into content_type (cap
 * bytes). */
int tg_photo_multipart(struct buf *out, char *content_type, size_t cap, int64_t chat_id,
                       const void *photo, size_t len, const char *filename,
                       const char *caption_html);

const struct fetch_stats *tg_stats(const struct tg_client *c);

/* Bound every call from now on by a deadline in monotonic ms (clock_mono_us() / 1000; 0:
 * none): a call that cannot end before it is not started (ERR_TIMEOUT), waits (retry_after,
 * backoff) past it are not made.  sendMessage is never retried after a failure that may have
 * delivered it (a timeout, a dropped connection): the user would get it twice. */
void tg_set_deadline(struct tg_client *c, int64_t deadline_ms);
int64_t tg_deadline(const struct tg_client *c);

#endif
