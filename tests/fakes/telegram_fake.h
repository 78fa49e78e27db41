/* telegram_fake.h - a fake Telegram Bot API server on 127.0.0.1, for testing the bot.
 *
 * It speaks the Bot API's wire format (docs: reference/telegram.md): `GET` or `POST
 * /bot<TOKEN>/<method>` (the method name is case-insensitive), parameters from the query
 * string, an application/x-www-form-urlencoded body or an application/json body (object and
 * array parameters arrive as JSON-serialized strings in the first two), and every answer in
 * the Bot API envelope with Content-Type application/json and the HTTP status equal to
 * error_code:
 *
 *     {"ok":true,"result":...}
 *     {"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2",
 *      "parameters":{"retry_after":2}}
 *
 * What happens to a call, in order:
 *
 *   1. the token in the path is not the configured one: 401 "Unauthorized";
 *   2. a method the fake does not know: 404 "Not Found";
 *   3. parameters that cannot be read (a JSON body that is not one object, a broken
 *      percent-escape, a string that is not UTF-8 or holds NUL, a multipart/form-data body
 *      that is malformed (named: part and header), another Content-Type, more than
 *      TG_FAKE_MAX_PARAMS): 400 "Bad Request: ...".  multipart/form-data is read as
 *      Telegram reads it: text parts are parameters, file parts uploads (recorded by file
 *      name, type, size and SHA-256, not by content); a body may be up to 11 MB;
 *   4. the first fault (tg_fake_add_fault, POST /_fault) matching the method and chat
 *      answers instead, and uses up one of its count;
 *   5. with opts.flood, a sendMessage that Telegram's flood control would refuse (the same
 *      chat within 1 s of the last message to it, or a 31st message within 1 s): 429
 *      retry_after 1;
 *   6. the method, with the validation the real server does:
 *        getMe                the bot (its id is the token's number before ':')
 *        sendMessage          chat_id (int64, or @channelname) and text required; with
 *                             parse_mode HTML the text must parse as Telegram's HTML (the
 *                             tags of the reference only, nested and closed; `<` only in
 *                             tags; `&` only as &lt; &gt; &amp; &quot; or a numeric entity),
 *                             else 400 "Bad Request: can't parse entities: ..."; the text
 *                             after parsing must be 1 to 4096 UTF-16 code units, else 400
 *                             "message text is empty" / "message is too long".  The Message
 *                             returned has message_id increasing per chat (from 1), from,
 *                             chat, date and text: the text after parsing (tags removed,
 *                             entities decoded), as the real server returns it.  Markdown
 *                             and MarkdownV2 texts are not parsed; their length is counted
 *                             raw.  reply_markup, if sent, must be a JSON object.
 *        sendPhoto            chat_id; photo an uploaded file (PNG, or JPEG by its
 *                             signature; at most 10 MB, else "file is too big"; another
 *                             kind of file: "IMAGE_PROCESS_FAILED"; width + height at most
 *                             10000 and sides in a ratio of at most 20, else
 *                             "PHOTO_INVALID_DIMENSIONS") or an http(s) URL; caption with
 *                             parse_mode as sendMessage's text, at most 1024 UTF-16 units
 *                             after parsing ("message caption is too long").  The Message
 *                             returned has photo (file_id, width, height, file_size) and
 *                             caption.
 *        setWebhook           url: https (a URL without a scheme is taken as https), port
 *                             443, 80, 88 or 8443; "" deletes the webhook; secret_token 0
 *                             to 256 of A-Z a-z 0-9 _ - (empty: none); allowed_updates a
 *                             JSON array of strings (omitted: keep the previous);
 *                             max_connections clamped to 1..100; drop_pending_updates.
 *                             "Webhook was set" / "Webhook is already set".
 *        deleteWebhook        drop_pending_updates.  "Webhook was deleted" / "... already
 *                             deleted".
 *        getWebhookInfo       url, has_custom_certificate (false), pending_update_count,
 *                             max_connections and allowed_updates when a webhook is set.
 *        setMyCommands        commands: a JSON array of at most 100 {command, description},
 *                             command 1-32 of [a-z0-9_], description 1-256 characters;
 *                             scope and language_code select the list.
 *        getMyCommands, deleteMyCommands
 *        answerCallbackQuery  callback_query_id required and answered at most once; text
 *                             at most 200 characters.
 *        getUpdates           409 while a webhook is set.  offset: updates with a smaller
 *                             id are confirmed and forgotten; -N keeps only the last N.
 *                             limit clamped to 1..100 (default 100), timeout to 0..50 s:
 *                             with nothing to return the call waits up to timeout for an
 *                             update to be added, and ends at once when the server stops
 *                             (answering []).  A newer getUpdates ends a waiting one with 409
 *                             "Conflict: terminated by other getUpdates request; ...", a
 *                             setWebhook with 409 "Conflict: terminated by setWebhook
 *                             request".  allowed_updates as for setWebhook ([]: every type
 *                             but chat_member, message_reaction and message_reaction_count).
 *
 * Where the fake is stricter than Telegram it says so in the description: Telegram shows an
 * unknown entity such as "&nbsp;" as typed, the fake refuses it, because a bot that sends it
 * has forgotten to escape.
 *
 * Every call, failed ones too, is recorded, in the order answered:
 *
 *     {"seq":1,"t_ms":12,"method":"sendMessage","params":{"chat_id":"42","text":"hi"},
 *      "status":200}
 *
 * t_ms is when the call arrived, in monotonic ms since the fake started (base/clock.h, so a
 * test may inject time); params holds every parameter: strings as strings, a JSON body's
 * numbers and booleans as they were, and any string that holds a JSON object or array as
 * that JSON; method is the canonical name ("sendMessage" for "SENDMESSAGE") or, for an
 * unknown one, the name as received; status is the HTTP status, 0 for a connection dropped
 * by a fault.  With opts.record_path each record is also appended to that file as one line,
 * flushed at once.  The token is never recorded or logged.
 *
 * Control endpoints (not under /bot, not recorded), answered in the same envelope:
 *
 *   GET  /_calls    {"ok":true,"result":[record,...]}
 *   POST /_reset    forget the calls, faults, updates, webhook, commands, message ids,
 *                   answered callback queries and flood history
 *   POST /_updates  a JSON array of Update objects to queue for getUpdates; one without
 *                   update_id gets the next one (one more than the highest so far).
 *                   {"ok":true,"result":{"queued":N,"last_update_id":M}}
 *   POST /_fault    one fault as JSON: {"method":"sendMessage","status":429,"retry_after":2,
 *                   "count":1}, {"method":"sendMessage","chat_id":42,"status":403,
 *                   "description":"Forbidden: bot was blocked by the user","count":-1},
 *                   {"method":"*","drop":true}, {"method":"sendMessage","chat_id":-12,
 *                   "status":400,"migrate_to_chat_id":-10012,"count":-1}
 */
#ifndef FAKES_TELEGRAM_FAKE_H
#define FAKES_TELEGRAM_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/httpd.h"

#define TG_FAKE_MAX_PARAMS 64
#define TG_FAKE_MAX_FAULTS 64
#define TG_FAKE_MAX_CALLS  100000 /* kept in memory; the record file gets every call */

struct tg_fake_opts {
    int port;                 /* tg_fake_start: 0 for an ephemeral port */
    const char *token;        /* required, e.g. "123456:ABC-def"; copied */
    const char *record_path;  /* append one JSON line per call; NULL: memory only */
    const char *updates_json; /* a JSON array of Update objects queued at the start; NULL */
    size_t updates_len;
    int flood;                /* refuse sendMessage as Telegram's flood control would */
    const char *bot_username; /* default "screener_fake_bot" */
};

/* A fault: the next count calls of method (to chat_id, when set) get this answer. */
struct tg_fake_fault {
    const char *method;         /* case-insensitive; NULL or "*": every method */
    const char *chat_id;        /* "42" or "@name"; NULL: every chat */
    int status;                 /* 400, 403, 429, 500 or 502 (ignored with drop) */
    int64_t retry_after;        /* 429: seconds, 1 when 0 */
    const char *description;    /* NULL: the usual one for status */
    int64_t count;              /* calls to answer; 0: 1; -1: every one from now on */
    int drop;                   /* close the connection without an answer */
    int64_t migrate_to_chat_id; /* with status 400: parameters.migrate_to_chat_id, as for a
                                   group upgraded to a supergroup */
};

struct tg_fake;

int tg_fake_new(const struct tg_fake_opts *o, struct tg_fake **out, struct diag *d);
void tg_fake_free(struct tg_fake *f);

/* The fake as an httpd handler (ctx is the struct tg_fake); thread-safe. */
void tg_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* tg_fake_new, then serve it on 127.0.0.1:o->port in background threads. */
int tg_fake_start(const struct tg_fake_opts *o, struct tg_fake **out, int *port, struct diag *d);
/* End the waiting getUpdates calls, stop serving and free.  NULL is a no-op. */
void tg_fake_stop(struct tg_fake *f);

/* Queue a JSON array of Update objects for getUpdates (POST /_updates); a waiting getUpdates
 * wakes up.  *last_id (may be NULL) gets the highest update_id queued so far. */
int tg_fake_add_updates(struct tg_fake *f, const char *json, size_t len, int64_t *last_id,
                        struct diag *d);
/* Add a fault after those already there (copied). */
int tg_fake_add_fault(struct tg_fake *f, const struct tg_fake_fault *fault, struct diag *d);
/* What POST /_reset does. */
void tg_fake_reset(struct tg_fake *f);

struct tg_fake_stats {
    uint64_t calls;         /* recorded since the start or the last reset */
    uint64_t polls_waiting; /* getUpdates calls waiting for an update now */
    uint64_t updates_queued;
    uint64_t faults_left; /* faults not used up (a -1 count counts once) */
};

void tg_fake_get_stats(struct tg_fake *f, struct tg_fake_stats *out);

/* The number of calls recorded since the start or the last reset. */
size_t tg_fake_ncalls(struct tg_fake *f);

/* Append the recorded calls as a JSON array (at most TG_FAKE_MAX_CALLS of them). */
int tg_fake_calls_json(struct tg_fake *f, struct buf *out);

#endif
