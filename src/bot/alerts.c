/* alerts.c - each chat's alerts: the stored file, its changes, the daily evaluation. */
#include "bot/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "base/strvec.h"
#include "bot/format.h"
#include "bot/telegram.h"
#include "screen/results.h"

#include "base/banned.h"

#define HEADER       "symbol,kind,threshold,state,fired,checked\n"
#define CAS_ATTEMPTS 8
#define FILE_MAX     ((size_t)ALERTS_PER_CHAT * 128 + 256)

static const char *const kind_names[] = {"drawdown", "drop"};
static const char *const state_names[] = {"armed", "pending", "fired"};

const char *alert_kind_name(enum alert_kind k)
{
    return (unsigned)k < 2 ? kind_names[k] : "unknown";
}

const char *alert_state_name(enum alert_state s)
{
    return (unsigned)s < 3 ? state_names[s] : "unknown";
}

void alerts_key(int64_t chat_id, char *key)
{
    snprintf(key, OBJ_KEY_MAX, ALERTS_PREFIX "%lld.csv", (long long)chat_id);
}

int alerts_parse_threshold(const char *s, int32_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (s[i] == '-' || s[i] == '+')
        neg = s[i++] == '-';
    int32_t whole = 0, frac = 0;
    size_t digits = 0, decimals = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++, digits++)
        if (digits < 4)
            whole = whole * 10 + (s[i] - '0');
    if (digits == 0 || digits > 4)
        return -1;
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, decimals++)
            if (decimals < 2)
                frac = frac * 10 + (s[i] - '0');
        if (decimals == 0 || decimals > 2)
            return -1;
        if (decimals == 1)
            frac *= 10;
    }
    if (s[i] == '%')
        i++;
    if (s[i])
        return -1;
    int32_t v = whole * 100 + frac;
    if (!neg || v == 0)
        return 1;
    if (v > 10000)
        return 2;
    *out = -v;
    return 0;
}

void alerts_format_threshold(int32_t t, char *out, size_t cap)
{
    int32_t m = t < 0 ? -t : t;
    const char *sign = t < 0 ? "-" : "";
    if (m % 100 == 0)
        snprintf(out, cap, "%s%d%%", sign, m / 100);
    else if (m % 10 == 0)
        snprintf(out, cap, "%s%d.%d%%", sign, m / 100, m % 100 / 10);
    else
        snprintf(out, cap, "%s%d.%02d%%", sign, m / 100, m % 100);
}

double alert_value(const struct screen_row *r, enum alert_kind k)
{
    return k == ALERT_DROP ? r->change_pct : r->drawdown_pct;
}

/* ---- the file ---- */

static int field_date(const char *s, size_t n, int32_t *out)
{
    *out = 0;
    return n == 0 ? ERR_OK : date_parse(s, n, out);
}

int alerts_parse(const char *name, const char *data, size_t len, struct alerts *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    if (len < sizeof HEADER - 1 || memcmp(data, HEADER, sizeof HEADER - 1) != 0)
        return diag_set(d, ERR_PARSE, "%s:1: expected the header '%.*s'", name,
                        (int)sizeof HEADER - 2, HEADER);
    size_t line = 1;
    for (size_t i = sizeof HEADER - 1; i < len;) {
        line++;
        const char *row = data + i;
        const char *eol = memchr(row, '\n', len - i);
        size_t n = eol ? (size_t)(eol - row) : len - i;
        i += n + 1;
        if (!eol)
            return diag_set(d, ERR_PARSE, "%s:%zu: the last line has no newline", name, line);
        const char *f[6];
        size_t fl[6], nf = 0;
        for (size_t at = 0; nf < 6;) {
            const char *c = memchr(row + at, ',', n - at);
            size_t l = c ? (size_t)(c - (row + at)) : n - at;
            f[nf] = row + at;
            fl[nf++] = l;
            if (!c)
                break;
            at += l + 1;
            if (nf == 6)
                return diag_set(d, ERR_PARSE, "%s:%zu: more than 6 fields", name, line);
        }
        if (nf != 6)
            return diag_set(d, ERR_PARSE, "%s:%zu: expected 6 fields, found %zu", name, line, nf);
        if (out->n == ALERTS_PER_CHAT)
            return diag_set(d, ERR_TOOBIG, "%s: more than %d alerts", name, ALERTS_PER_CHAT);
        struct alert a = {0};
        if (fl[0] == 0 || fl[0] > BAR_SYMBOL_MAX || !bar_symbol_valid(f[0], fl[0]))
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'symbol' is not a symbol", name, line);
        memcpy(a.symbol, f[0], fl[0]);
        if (fl[1] == 8 && memcmp(f[1], "drawdown", 8) == 0)
            a.kind = ALERT_DRAWDOWN;
        else if (fl[1] == 4 && memcmp(f[1], "drop", 4) == 0)
            a.kind = ALERT_DROP;
        else
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'kind' is not drawdown or drop", name,
                            line);
        char t[16];
        if (fl[2] == 0 || fl[2] >= sizeof t || memchr(f[2], '%', fl[2]))
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'threshold' is not a percentage", name,
                            line);
        memcpy(t, f[2], fl[2]);
        t[fl[2]] = '\0';
        if (alerts_parse_threshold(t, &a.threshold) != 0)
            return diag_set(d, ERR_PARSE,
                            "%s:%zu: field 'threshold' is not a percentage from -100 to below 0",
                            name, line);
        size_t s = 0;
        while (s < 3 &&
               !(fl[3] == strlen(state_names[s]) && memcmp(f[3], state_names[s], fl[3]) == 0))
            s++;
        if (s == 3)
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'state' is not armed, pending or fired",
                            name, line);
        a.state = (enum alert_state)s;
        if (field_date(f[4], fl[4], &a.fired) != ERR_OK)
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'fired' is not a date (YYYY-MM-DD)", name,
                            line);
        if (field_date(f[5], fl[5], &a.checked) != ERR_OK)
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'checked' is not a date (YYYY-MM-DD)",
                            name, line);
        if (a.state != ALERT_ARMED && !a.fired)
            return diag_set(d, ERR_PARSE, "%s:%zu: a %s alert needs the date it fired", name, line,
                            state_names[s]);
        for (size_t k = 0; k < out->n; k++)
            if (out->v[k].kind == a.kind && strcmp(out->v[k].symbol, a.symbol) == 0)
                return diag_set(d, ERR_PARSE, "%s:%zu: a second %s alert on %s", name, line,
                                kind_names[a.kind], a.symbol);
        out->v[out->n++] = a;
    }
    return ERR_OK;
}

int alerts_format(const struct alerts *a, struct buf *out)
{
    int e = buf_puts(out, HEADER);
    for (size_t i = 0; i < a->n && !e; i++) {
        const struct alert *x = &a->v[i];
        char t[16], fired[DATE_STRLEN + 1] = "", checked[DATE_STRLEN + 1] = "";
        alerts_format_threshold(x->threshold, t, sizeof t);
        t[strlen(t) - 1] = '\0'; /* no '%' in the file */
        if (x->fired)
            date_format(x->fired, fired);
        if (x->checked)
            date_format(x->checked, checked);
        e = buf_printf(out, "%s,%s,%s,%s,%s,%s\n", x->symbol, kind_names[x->kind], t,
                       state_names[x->state], fired, checked);
    }
    return e;
}

/* Read the chat's object with its etag; *exists says whether there is one. */
static int read_tagged(struct objstore *os, const char *key, struct alerts *out, char *etag,
                       int *exists, struct diag *d)
{
    struct buf b = BUF_INIT(FILE_MAX);
    int err = objstore_get(os, key, &b, etag, d);
    *exists = err != ERR_NOTFOUND;
    memset(out, 0, sizeof *out);
    if (err == ERR_NOTFOUND)
        err = ERR_OK;
    else if (err == ERR_TOOBIG)
        err = diag_set(d, ERR_TOOBIG, "%s: larger than %zu bytes", key, FILE_MAX);
    else if (!err)
        err = alerts_parse(key, b.data ? b.data : "", b.len, out, d);
    buf_release(&b);
    return err;
}

int alerts_read(struct objstore *os, int64_t chat_id, struct alerts *out, struct diag *d)
{
    char key[OBJ_KEY_MAX], etag[OBJ_ETAG_MAX];
    int exists;
    alerts_key(chat_id, key);
    return read_tagged(os, key, out, etag, &exists, d);
}

/* A change to a chat's alerts: non-zero *changed when a was changed and must be written.
 * ERR_* from the change itself ends the update without writing. */
typedef int (*change_fn)(void *ctx, struct alerts *a, int *changed, struct diag *d);

/* Read, change, write back conditionally; again when someone else wrote in between.  Nothing
 * to change after a refused write is a change made all the same: the alerts are as asked, by
 * this write (S3 took it, its answer was lost, and the write sent again met itself) or by
 * another writer's; the change functions keep what they found at the first reading. */
static int modify(struct objstore *os, const char *key, change_fn fn, void *ctx, int *changed,
                  struct diag *d)
{
    struct alerts a;
    *changed = 0;
    int refused = 0;
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        char etag[OBJ_ETAG_MAX] = "";
        int exists;
        int err = read_tagged(os, key, &a, etag, &exists, d);
        if (!err)
            err = fn(ctx, &a, changed, d);
        if (err || !*changed) {
            *changed = !err && refused;
            return err;
        }
        struct buf b = BUF_INIT(FILE_MAX);
        err = alerts_format(&a, &b) ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
        if (!err)
            err = objstore_put(os, key, b.data, b.len, exists ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE,
                               exists ? etag : NULL, d);
        buf_release(&b);
        if (err == ERR_PRECONDITION || err == ERR_EXISTS || (exists && err == ERR_NOTFOUND)) {
            *changed = 0;
            refused = 1;
            continue; /* another writer changed it first: read again */
        }
        return err;
    }
    return diag_set(d, ERR_CONFLICT, "%s: still changing under us after %d attempts", key,
                    CAS_ATTEMPTS);
}

static int find(const struct alerts *a, const char *symbol, enum alert_kind k)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind == k && strcmp(a->v[i].symbol, symbol) == 0)
            return (int)i;
    return -1;
}

struct set_ctx {
    const struct alert *a;
    int replaced;
    int read; /* the alerts were read once: replaced says what that reading found */
};

static int set_change(void *ctx, struct alerts *a, int *changed, struct diag *d)
{
    struct set_ctx *s = ctx;
    int at = find(a, s->a->symbol, s->a->kind);
    if (!s->read)
        s->replaced = at >= 0;
    s->read = 1;
    if (at < 0 && a->n == ALERTS_PER_CHAT)
        return diag_set(d, ERR_TOOBIG, "at most %d alerts per chat", ALERTS_PER_CHAT);
    struct alert x = *s->a;
    x.state = ALERT_ARMED;
    x.fired = 0;
    if (at >= 0)
        x.checked = a->v[at].checked;
    a->v[at >= 0 ? (size_t)at : a->n++] = x;
    *changed = 1;
    return ERR_OK;
}

int alerts_set(struct objstore *os, int64_t chat_id, const struct alert *a, int *replaced,
               struct diag *d)
{
    char key[OBJ_KEY_MAX];
    alerts_key(chat_id, key);
    struct set_ctx s = {.a = a};
    int changed;
    int err = modify(os, key, set_change, &s, &changed, d);
    *replaced = s.replaced;
    return err;
}

struct remove_ctx {
    const char *symbol;
    size_t removed; /* by the last reading that found any, else 0 */
};

static int remove_change(void *ctx, struct alerts *a, int *changed, struct diag *d)
{
    struct remove_ctx *r = ctx;
    size_t k = 0, removed = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!r->symbol || strcmp(a->v[i].symbol, r->symbol) == 0)
            removed++;
        else
            a->v[k++] = a->v[i];
    }
    a->n = k;
    *changed = removed > 0;
    if (removed)
        r->removed = removed;
    return ERR_OK;
}

int alerts_remove(struct objstore *os, int64_t chat_id, const char *symbol, size_t *removed,
                  struct diag *d)
{
    char key[OBJ_KEY_MAX];
    alerts_key(chat_id, key);
    struct remove_ctx r = {.symbol = symbol};
    int changed;
    int err = modify(os, key, remove_change, &r, &changed, d);
    *removed = err ? 0 : r.removed;
    return err;
}

/* ---- the message ---- */

static void pct(char *out, size_t cap, double v)
{
    snprintf(out, cap, isnan(v) ? "n/a" : "%+.1f%%", v);
}

int alerts_message(struct buf *out, const struct alert *a, const struct screen_row *r,
                   int provisional)
{
    char day[DATE_STRLEN + 1], peak[DATE_STRLEN + 1], v[16], t[16], dd[16];
    date_format(r->date, day);
    date_format(r->peak_date, peak);
    pct(v, sizeof v, alert_value(r, a->kind));
    pct(dd, sizeof dd, r->drawdown_pct);
    alerts_format_threshold(a->threshold, t, sizeof t);
    const char *what = a->kind == ALERT_DROP ? "one-day change" : "180-day drawdown";
    int e = buf_puts(out, "<b>Alert</b> · <b>");
    e = e ? e : fmt_html(out, a->symbol);
    e = e ? e
          : buf_printf(out,
                       "</b> · %s%s\nIts %s is <b>%s</b>, at or below your threshold of %s.\n"
                       "Close %.2f · peak %.2f on %s (drawdown %s)\n",
                       day, provisional ? " (provisional)" : "", what, v, t, r->close, r->peak,
                       peak, dd);
    if (!e && provisional)
        e = buf_puts(out,
                     "<i>Built on provisional bars: the day's final bars may change it.</i>\n");
    e = e ? e : buf_puts(out, "/stock ");
    e = e ? e : fmt_html(out, a->symbol);
    e = e ? e
          : buf_printf(out, " for details. This alert comes again once the %s is back above ",
                       what);
    e = e ? e : buf_printf(out, "%s and falls to it again; /unalert ", t);
    e = e ? e : fmt_html(out, a->symbol);
    return e ? e : buf_puts(out, " removes it.");
}

/* ---- the daily evaluation ---- */

static const struct screen_row *screen_find(const struct results_screen *s, const char *symbol)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rows[i].symbol, symbol) == 0)
            return &s->rows[i];
    return NULL;
}

struct eval_ctx {
    const struct results_screen *s;
    size_t fired, rearmed, alerts;
};

/* Move each alert along on the screen of s->date: armed -> pending on a crossing, fired ->
 * armed when back above on a later date.  A date older than one already evaluated is a
 * slower collector's: ignored. */
static int eval_change(void *ctx, struct alerts *a, int *changed, struct diag *d)
{
    struct eval_ctx *c = ctx;
    int32_t date = c->s->date;
    c->fired = c->rearmed = 0;
    c->alerts = a->n;
    for (size_t i = 0; i < a->n; i++) {
        struct alert *x = &a->v[i];
        if (x->checked > date)
            continue;
        const struct screen_row *r = screen_find(c->s, x->symbol);
        double v = r ? alert_value(r, x->kind) : (double)NAN;
        if (!isnan(v)) {
            int below = v <= (double)x->threshold / 100.0;
            if (x->state == ALERT_ARMED && below) {
                x->state = ALERT_PENDING;
                x->fired = date;
                c->fired++;
            } else if (x->state == ALERT_FIRED && !below && date > x->fired) {
                x->state = ALERT_ARMED;
                c->rearmed++;
            }
        }
        if (x->checked != date) {
            x->checked = date;
            *changed = 1;
        }
    }
    *changed |= c->fired || c->rearmed;
    return ERR_OK;
}

struct sent_ctx {
    const char *symbol;
    enum alert_kind kind;
    int32_t fired;
};

/* pending -> fired for the alert that was sent (if the user did not change it meanwhile). */
static int sent_change(void *ctx, struct alerts *a, int *changed, struct diag *d)
{
    struct sent_ctx *s = ctx;
    int at = find(a, s->symbol, s->kind);
    if (at >= 0 && a->v[at].state == ALERT_PENDING && a->v[at].fired == s->fired) {
        a->v[at].state = ALERT_FIRED;
        *changed = 1;
    }
    return ERR_OK;
}

static int parse_chat(const char *key, int64_t *chat)
{
    const char *p = key + sizeof ALERTS_PREFIX - 1;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || strcmp(end, ".csv") != 0 || v == 0)
        return -1;
    *chat = v;
    return 0;
}

static int deadline_near(const struct alerts_run_opts *o)
{
    return o->deadline_ms && clock_wall_ms() >= o->deadline_ms - ALERTS_DEADLINE_MARGIN_MS;
}

/* The claim on sending a crossing: created only if absent, holding "claimed"; a claim given
 * back holds "released" and is taken again only by the one conditional write that replaces
 * that version (no delete: the collector may not delete objects).  *owned: this run sends. */
#define CLAIMED  "claimed\n"
#define RELEASED "released\n"

static int claim_take(struct objstore *os, const char *key, int *owned, struct diag *d)
{
    *owned = 0;
    int err = objstore_put(os, key, CLAIMED, sizeof CLAIMED - 1, OBJ_PUT_CREATE, NULL, d);
    if (err != ERR_EXISTS) {
        *owned = !err;
        return err;
    }
    char etag[OBJ_ETAG_MAX] = "";
    struct buf b = BUF_INIT(64);
    err = objstore_get(os, key, &b, etag, d);
    int released = !err && b.len == sizeof RELEASED - 1 && memcmp(b.data, RELEASED, b.len) == 0;
    buf_release(&b);
    if (err == ERR_NOTFOUND || err == ERR_TOOBIG)
        return ERR_OK; /* not ours to judge: someone else's */
    if (err || !released)
        return err;
    err = objstore_put(os, key, CLAIMED, sizeof CLAIMED - 1, OBJ_PUT_IF_MATCH, etag, d);
    if (err == ERR_PRECONDITION || err == ERR_NOTFOUND)
        return ERR_OK; /* another run took it first */
    *owned = !err;
    return err;
}

/* Send the chat's pending alerts.  *blocked when Telegram says the chat blocked the bot. */
static int send_pending(struct objstore *os, struct tg_client *tg, const char *key, int64_t chat,
                        const struct alerts *a, const struct alerts_run_opts *o,
                        struct alerts_stats *st, int *blocked, struct diag *d)
{
    struct results_screen scr = {0};
    int err = ERR_OK;
    *blocked = 0;
    for (size_t i = 0; i < a->n && !err && !*blocked; i++) {
        const struct alert *x = &a->v[i];
        if (x->state != ALERT_PENDING)
            continue;
        if (!tg || deadline_near(o)) {
            st->deferred++;
            continue;
        }
        if (scr.date != x->fired) {
            results_screen_release(&scr);
            memset(&scr, 0, sizeof scr);
            struct diag sd = {{0}};
            if (results_read_screen(os, x->fired, &scr, &sd) != ERR_OK) {
                log_warn("alerts: the screen of the crossing is unavailable; left pending",
                         LF_INT("chat_id", chat), LF_STR("error", sd.text));
                st->deferred++;
                continue;
            }
        }
        const struct screen_row *r = screen_find(&scr, x->symbol);
        struct sent_ctx sc = {.symbol = x->symbol, .kind = x->kind, .fired = x->fired};
        int changed;
        if (!r || !(alert_value(r, x->kind) <= (double)x->threshold / 100.0)) {
            /* A revision of that day took the stock out of its screen or back above the
             * threshold before the message went: there is nothing true to tell. */
            log_warn("alerts: the revised screen of the crossing no longer crosses; not sent",
                     LF_INT("chat_id", chat), LF_STR("symbol", x->symbol));
            st->failed++;
            err = modify(os, key, sent_change, &sc, &changed, d);
            continue;
        }
        char claim[OBJ_KEY_MAX], day[DATE_STRLEN + 1], sym[BAR_SYMBOL_MAX + 1];
        date_format(x->fired, day);
        snprintf(sym, sizeof sym, "%s", x->symbol);
        for (char *p = sym; *p; p++)
            *p = *p == '/' ? '_' : *p;
        snprintf(claim, sizeof claim, ALERTS_SENT_PREFIX "%lld/%s-%s-%d-%s", (long long)chat,
                 kind_names[x->kind], sym, (int)x->threshold, day);
        int owned;
        err = claim_take(os, claim, &owned, d);
        if (!err && !owned) {
            /* Another run sent it (or is sending it): only the state is left to record. */
            st->claimed_elsewhere++;
            err = modify(os, key, sent_change, &sc, &changed, d);
            continue;
        }
        if (err)
            break;
        struct buf html = BUF_INIT(TG_BUF_MAX);
        if (alerts_message(&html, x, r, o->provisional)) {
            buf_release(&html);
            err = diag_set(d, ERR_NOMEM, "out of memory");
            break;
        }
        struct tg_error te = {0};
        struct diag td = {{0}};
        int terr = tg_send(tg, chat, html.data, &te, &td);
        buf_release(&html);
        if (!terr) {
            st->sent++;
        } else if (te.status == 403) {
            *blocked = 1;
            break;
        } else {
            st->failed++;
            log_warn("alerts: message not delivered", LF_INT("chat_id", chat),
                     LF_STR("symbol", x->symbol), LF_STR("error", td.text));
            if (te.status >= 400) {
                /* Telegram answered no: nothing went out, a later run may try again. */
                struct diag dd = {{0}};
                if (objstore_put(os, claim, RELEASED, sizeof RELEASED - 1, OBJ_PUT_ALWAYS, NULL,
                                 &dd) == ERR_OK)
                    continue;
            }
        }
        err = modify(os, key, sent_change, &sc, &changed, d);
    }
    results_screen_release(&scr);
    return err;
}

int alerts_run(struct objstore *os, struct tg_client *tg, const struct alerts_run_opts *o,
               struct alerts_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct results_screen s = {0};
    int err = results_read_screen(os, o->date, &s, d);
    if (err)
        return err;
    st->date = s.date;
    struct strvec keys;
    strvec_init(&keys);
    err = objstore_list(os, ALERTS_PREFIX, &keys, d);
    for (size_t i = 0; i < keys.n && !err; i++) {
        int64_t chat;
        if (parse_chat(keys.v[i], &chat) != 0)
            continue;
        st->chats++;
        struct eval_ctx ec = {.s = &s};
        struct diag cd = {{0}};
        int changed;
        int cerr = modify(os, keys.v[i], eval_change, &ec, &changed, &cd);
        if (cerr == ERR_OK) {
            st->alerts += ec.alerts;
            st->fired += ec.fired;
            st->rearmed += ec.rearmed;
        }
        /* What is pending now, this run's crossings and those an earlier run left. */
        struct alerts a;
        if (!cerr)
            cerr = alerts_read(os, chat, &a, &cd);
        int blocked = 0;
        if (!cerr)
            cerr = send_pending(os, tg, keys.v[i], chat, &a, o, st, &blocked, &cd);
        if (blocked) {
            size_t removed;
            st->chats_blocked++;
            cerr = alerts_remove(os, chat, NULL, &removed, &cd);
            log_info("alerts: chat blocked the bot; its alerts are removed",
                     LF_INT("chat_id", chat), LF_STR("error", cerr ? cd.text : ""));
        }
        if (cerr == ERR_PARSE || cerr == ERR_TOOBIG) {
            st->bad_files++;
            log_error("alerts: a chat's alerts could not be read; left alone",
                      LF_INT("chat_id", chat), LF_STR("error", cd.text));
        } else if (cerr) {
            err = diag_set(d, cerr, "%s", cd.text);
        }
    }
    strvec_release(&keys);
    results_screen_release(&s);
    return err;
}
