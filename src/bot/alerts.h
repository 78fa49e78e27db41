/* alerts.h - each chat's own watch: "tell me when this stock is down 30 % from its peak".
 *
 * A chat keeps at most ALERTS_PER_CHAT alerts, one per symbol and kind, in one object:
 *
 *   bot/alerts/<chat_id>.csv   symbol,kind,threshold,state,fired,checked
 *
 *   kind       drawdown (the 180-day drawdown of the screen) or drop (the one-day change)
 *   threshold  percent, negative, at most two decimals ("-30", "-7.5")
 *   state      armed    waiting for the value to reach the threshold
 *              pending  it did on `fired`; the message is not sent yet
 *              fired    the message went out (or was given up); re-arms once the value is
 *                       back above the threshold on a screened date after `fired`
 *   fired      the screened date of the last crossing (YYYY-MM-DD, empty: never)
 *   checked    the newest screened date evaluated (empty: none); an older one is ignored
 *
 * Every change is read, modify, conditional write (If-Match, or create-if-absent), retried
 * when another writer changed the object in between, as for the subscribers.  A crossing is
 * sent once: alerts_run first moves the alert to pending (one writer wins), then, before
 * sending, creates a claim object
 * bot/alerts-sent/<chat_id>/<kind>-<symbol>-<threshold>-<date> only if
 * absent, so that a second collector, a rerun or a revision of the day's bars never sends it
 * again; the claim is given back (rewritten as released, taken over by one conditional write)
 * only when Telegram certainly refused the message, so that a later run tries again.  A chat
 * that blocked the bot (403) has all its alerts removed.  What the deadline leaves unsent stays
 * pending for the next run.
 */
#ifndef BOT_ALERTS_H
#define BOT_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "codec/bar.h"
#include "screen/screen.h"
#include "store/objstore.h"

#define ALERTS_PREFIX      "bot/alerts/"      /* + chat id + ".csv" */
#define ALERTS_SENT_PREFIX "bot/alerts-sent/" /* + chat id / kind-symbol-date */
#define ALERTS_PER_CHAT    50
/* Time kept before the invocation's deadline: no message is started later than that. */
#define ALERTS_DEADLINE_MARGIN_MS 3000

enum alert_kind { ALERT_DRAWDOWN, ALERT_DROP };
enum alert_state { ALERT_ARMED, ALERT_PENDING, ALERT_FIRED };

struct alert {
    char symbol[BAR_SYMBOL_MAX + 1];
    enum alert_kind kind;
    int32_t threshold; /* hundredths of a percent, below zero: -3000 is -30 % */
    enum alert_state state;
    int32_t fired;   /* 0: never */
    int32_t checked; /* 0: never */
};

struct alerts {
    struct alert v[ALERTS_PER_CHAT]; /* in the order they were added */
    size_t n;
};

const char *alert_kind_name(enum alert_kind k);
const char *alert_state_name(enum alert_state s);

/* "bot/alerts/<chat_id>.csv" into key (OBJ_KEY_MAX). */
void alerts_key(int64_t chat_id, char *key);

/* Parse a chat's object (name for messages): ERR_PARSE naming the line and field, ERR_TOOBIG
 * past ALERTS_PER_CHAT. */
int alerts_parse(const char *name, const char *data, size_t len, struct alerts *out,
                 struct diag *d);
/* The object's text for a. */
int alerts_format(const struct alerts *a, struct buf *out);

/* A chat's alerts (none when it has no object). */
int alerts_read(struct objstore *os, int64_t chat_id, struct alerts *out, struct diag *d);

/* A threshold as the user types it: "-30", "-7.5", "-12.25%".  0 and the value (hundredths
 * of a percent) in *out; -1 when it is not a number of that form; 1 when it is not below
 * zero; 2 when it is below -100 %. */
int alerts_parse_threshold(const char *s, int32_t *out);
/* -3000 -> "-30%", -750 -> "-7.5%", -1225 -> "-12.25%"; out holds 16 bytes. */
void alerts_format_threshold(int32_t t, char *out, size_t cap);

/* What the alert watches in a screen row, in percent (NaN when the row has no value). */
double alert_value(const struct screen_row *r, enum alert_kind k);

/* Add a (armed) or replace the chat's alert on the same symbol and kind.  *replaced says
 * which; ERR_TOOBIG when the chat already has ALERTS_PER_CHAT others. */
int alerts_set(struct objstore *os, int64_t chat_id, const struct alert *a, int *replaced,
               struct diag *d);
/* Remove the chat's alerts on symbol (NULL: all of them); *removed counts them. */
int alerts_remove(struct objstore *os, int64_t chat_id, const char *symbol, size_t *removed,
                  struct diag *d);

/* The message of a crossing (HTML): symbol, value, threshold, close, peak and its date, and
 * /stock SYMBOL. */
int alerts_message(struct buf *out, const struct alert *a, const struct screen_row *r,
                   int provisional);

struct tg_client;

struct alerts_run_opts {
    int32_t date;        /* the screened date to evaluate; 0: the latest screen */
    int64_t deadline_ms; /* wall clock (base/clock.h); 0: none */
    int provisional;     /* the screen is built on provisional bars: the messages say so */
};

struct alerts_stats {
    int32_t date;
    size_t chats, alerts, fired, rearmed, sent, failed, deferred, claimed_elsewhere;
    size_t chats_blocked; /* 403: the chat's alerts were removed */
    size_t bad_files;     /* chats whose object could not be read (logged, left alone) */
};

/* After a collection: evaluate every chat's alerts on the screened date and send each
 * crossing once (tg NULL: evaluate only, the messages stay pending).  Sends go one by one
 * through tg (whose limiter paces them) until the deadline's margin. */
int alerts_run(struct objstore *os, struct tg_client *tg, const struct alerts_run_opts *o,
               struct alerts_stats *st, struct diag *d);

#endif
