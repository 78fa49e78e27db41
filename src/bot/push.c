/* push.c - the daily push. */
#include "bot/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/subscribers.h"
#include "codec/json.h"

#include "bot/format.h"

#include "base/banned.h"

#define MARKER_MAX   ((size_t)SUBSCRIBERS_MAX * 64 + 256)
#define CAS_ATTEMPTS 8

/* ---- sending ---- */

struct send {
    struct push_ctx *p;
    int64_t chat_id;
    char outcome; /* PUSH_SENT, ... */
    int64_t migrate_to;
};

struct push_ctx {
    struct objstore *os;
    int32_t today;
    struct push_stats *st;
};

static void on_sent(void *ctx, int err, struct jv *env, const struct tg_error *e,
                    const struct diag *d)
{
    struct send *s = ctx;
    struct push_ctx *p = s->p;
    jv_free(env);
    if (!err) {
        s->outcome = PUSH_SENT;
        p->st->sent++;
        return;
    }
    s->outcome = PUSH_FAILED;
    if (e->not_done && (e->status == 0 || e->status == 429)) {
        /* Not delivered for sure (no time left, flood control): the next run sends it. */
        s->outcome = PUSH_RELEASED;
        return;
    }
    if (e->migrate_to) {
        /* The group became a supergroup: the subscription follows it, and so does today's
         * message (sent by the caller, once). */
        int changed;
        struct diag md = {{0}};
        int merr = subscribers_move(p->os, s->chat_id, e->migrate_to, &changed, &md);
        if (!merr) {
            s->outcome = PUSH_MIGRATED;
            s->migrate_to = e->migrate_to;
            p->st->migrated++;
        }
        log_info("push: group upgraded to a supergroup; subscription moved",
                 LF_INT("chat_id", s->chat_id), LF_INT("to", e->migrate_to),
                 LF_STR("error", merr ? md.text : ""));
        return;
    }
    p->st->failed++;
    if (e->status == 403) {
        int changed;
        struct diag ud = {{0}};
        int uerr = subscribers_update(p->os, s->chat_id, 0, p->today, &changed, &ud);
        if (!uerr && changed)
            p->st->unsubscribed++;
        s->outcome = PUSH_GONE;
        log_info("push: chat blocked the bot; unsubscribed", LF_INT("chat_id", s->chat_id),
                 LF_STR("error", uerr ? ud.text : ""));
        return;
    }
    log_warn("push: message not delivered", LF_INT("chat_id", s->chat_id),
             LF_STR("error", d->text));
}

/* Send html to sends[0..n), each once, concurrently within the client's limits. */
static int send_batch(struct tg_client *tg, struct push_ctx *p, struct send *sends, size_t n,
                      const char *html, struct diag *d)
{
    struct buf params = BUF_INIT(TG_BUF_MAX);
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i++) {
        sends[i].p = p;
        sends[i].outcome = PUSH_UNKNOWN;
        buf_reset(&params);
        if (tg_message_json(&params, sends[i].chat_id, html, 0))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        else
            err = tg_submit(tg, "sendMessage", params.data, params.len, on_sent, &sends[i], d);
    }
    /* Run even after a failed submit: what was queued refers to sends. */
    struct diag rd = {{0}};
    int rerr = tg_run(tg, &rd);
    if (!err && rerr)
        err = diag_set(d, rerr, "%s", rd.text);
    buf_release(&params);
    return err;
}

/* Whether chat is in only[0..nonly) (every chat when only is NULL). */
static int wanted(int64_t chat, const int64_t *only, size_t nonly)
{
    if (!only)
        return 1;
    for (size_t k = 0; k < nonly; k++)
        if (only[k] == chat)
            return 1;
    return 0;
}

int bot_push_to(struct tg_client *tg, struct objstore *os, const char *html, const int64_t *only,
                size_t nonly, int32_t today, struct push_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct subscribers subs = {0};
    int err = subscribers_read(os, &subs, d);
    if (err)
        return err;
    struct send *sends = calloc(subs.n ? subs.n : 1, sizeof *sends);
    if (!sends) {
        subscribers_release(&subs);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < subs.n; i++)
        if (wanted(subs.v[i].chat_id, only, nonly))
            sends[st->subscribers++].chat_id = subs.v[i].chat_id;
    struct push_ctx p = {.os = os, .today = today, .st = st};
    if (st->subscribers)
        err = send_batch(tg, &p, sends, st->subscribers, html, d);
    free(sends);
    subscribers_release(&subs);
    return err;
}

/* ---- the day's marker: what was sent to whom ---- */

#define OWNER_LEN 16

struct line_rec {
    int64_t chat;
    size_t seq;
    char outcome;
    char owner[OWNER_LEN + 1]; /* the run that claimed it ("" on outcome lines) */
};

struct marker {
    struct buf text; /* as stored */
    char etag[OBJ_ETAG_MAX];
    int exists, done, superseded;
    struct line_rec *recs; /* the chats addressed, sorted */
    size_t n, cap;
};

static int cmp_rec(const void *a, const void *b)
{
    const struct line_rec *x = a, *y = b;
    if (x->chat != y->chat)
        return (x->chat > y->chat) - (x->chat < y->chat);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void marker_release(struct marker *m)
{
    buf_release(&m->text);
    free(m->recs);
    memset(m, 0, sizeof *m);
}

static const struct line_rec *marker_find(const struct marker *m, int64_t chat)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->recs[mid].chat == chat)
            return &m->recs[mid];
        if (m->recs[mid].chat < chat)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int marker_has(const struct marker *m, int64_t chat)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->recs[mid].chat == chat)
            return 1;
        if (m->recs[mid].chat < chat)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Parse the marker's lines: "push DAY", then "O CHAT [OWNER]" per chat addressed, then "done"
 * or "superseded DAY" (a later day's push took over: done too).  A marker of the old form
 * (only the date) counts as done. */
static int marker_parse(struct marker *m, const char *key, struct diag *d)
{
    const char *s = m->text.data ? m->text.data : "";
    size_t len = m->text.len;
    if (len < 5 || memcmp(s, "push ", 5) != 0) {
        m->done = 1;
        return ERR_OK;
    }
    size_t line = 0;
    for (size_t i = 0; i < len;) {
        const char *eol = memchr(s + i, '\n', len - i);
        size_t n = eol ? (size_t)(eol - (s + i)) : len - i;
        const char *row = s + i;
        i += n + 1;
        if (++line == 1)
            continue;
        if (n == 4 && memcmp(row, "done", 4) == 0) {
            m->done = 1;
            continue;
        }
        if (n > 11 && memcmp(row, "superseded ", 11) == 0) {
            int32_t day;
            if (date_parse(row + 11, n - 11, &day) != ERR_OK)
                return diag_set(d, ERR_PARSE, "%s:%zu: 'superseded' must be followed by a date",
                                key, line);
            m->done = m->superseded = 1;
            continue;
        }
        char num[24];
        struct line_rec rec = {.seq = m->n, .outcome = row[0]};
        const char *sp = n > 2 ? memchr(row + 2, ' ', n - 2) : NULL;
        size_t numlen = sp ? (size_t)(sp - (row + 2)) : n - 2;
        if (n < 3 || numlen == 0 || numlen >= sizeof num || row[1] != ' ' || !row[0] ||
            !strchr(PUSH_OUTCOMES, row[0]) || (sp && (size_t)(row + n - sp - 1) > OWNER_LEN))
            return diag_set(d, ERR_PARSE, "%s:%zu: expected an outcome and a chat id", key, line);
        memcpy(num, row + 2, numlen);
        num[numlen] = '\0';
        if (sp)
            memcpy(rec.owner, sp + 1, (size_t)(row + n - sp - 1));
        char *end;
        long long chat = strtoll(num, &end, 10);
        if (*end || chat == 0)
            return diag_set(d, ERR_PARSE, "%s:%zu: '%s' is not a chat id", key, line, num);
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 64;
            struct line_rec *v = realloc(m->recs, cap * sizeof *v);
            if (!v)
                return diag_set(d, ERR_NOMEM, "out of memory");
            m->recs = v;
            m->cap = cap;
        }
        rec.chat = chat;
        m->recs[m->n++] = rec;
    }
    /* A chat counts as addressed unless its last line released it. */
    if (m->n > 1)
        qsort(m->recs, m->n, sizeof *m->recs, cmp_rec);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (i + 1 < m->n && m->recs[i + 1].chat == m->recs[i].chat)
            continue;
        if (m->recs[i].outcome != PUSH_RELEASED)
            m->recs[k++] = m->recs[i];
    }
    m->n = k;
    return ERR_OK;
}

static int marker_read(struct objstore *os, const char *key, struct marker *m, struct diag *d)
{
    marker_release(m);
    buf_init(&m->text, MARKER_MAX);
    int err = objstore_get(os, key, &m->text, m->etag, d);
    if (err == ERR_NOTFOUND)
        return ERR_OK;
    if (err)
        return err;
    m->exists = 1;
    return marker_parse(m, key, d);
}

/* Append lines to the marker, conditionally on what was read; re-read and retry when another
 * writer came first (what it added stays).  m is re-read afterwards. */
static int marker_append(struct objstore *os, const char *key, struct marker *m, const char *lines,
                         size_t len, struct diag *d)
{
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        struct buf next = BUF_INIT(MARKER_MAX);
        int err = ERR_OK;
        if (!m->exists) {
            char day[DATE_STRLEN + 1];
            memcpy(day, key + sizeof PUSH_MARKER_PREFIX - 1, DATE_STRLEN);
            day[DATE_STRLEN] = '\0';
            err = buf_printf(&next, "push %s\n", day);
        } else {
            err = buf_append(&next, m->text.data ? m->text.data : "", m->text.len);
        }
        if (!err)
            err = buf_append(&next, lines, len);
        if (err) {
            buf_release(&next);
            return diag_set(d, ERR_TOOBIG, "%s: the marker does not fit", key);
        }
        err = objstore_put(os, key, next.data, next.len,
                           m->exists ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE,
                           m->exists ? m->etag : NULL, d);
        buf_release(&next);
        if (err && err != ERR_PRECONDITION && err != ERR_EXISTS)
            return err;
        /* Written, or someone else wrote first: either way, what is stored now counts (a
         * create whose answer was lost and that is refused when tried again is this one). */
        int rerr = marker_read(os, key, m, d);
        if (rerr)
            return rerr;
        if (!err)
            return ERR_OK;
    }
    return diag_set(d, ERR_CONFLICT, "%s: still changing under us after %d attempts", key,
                    CAS_ATTEMPTS);
}

/* Claim sends[0..*n) in the marker before sending: those another pusher (or an earlier run)
 * has addressed are dropped from sends, the rest written as PUSH_UNKNOWN, conditionally on
 * the marker read, so that no chat is claimed twice. */
static int claim(struct objstore *os, const char *key, struct marker *m, const char *owner,
                 struct send *sends, size_t *n, struct diag *d)
{
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        /* Keep the chats free and those this run claimed already (a write whose answer was
         * lost, refused when tried again, is found so). */
        size_t k = 0, fresh = 0;
        for (size_t i = 0; i < *n; i++) {
            const struct line_rec *r = marker_find(m, sends[i].chat_id);
            if (r && !(r->outcome == PUSH_UNKNOWN && strcmp(r->owner, owner) == 0))
                continue;
            fresh += r == NULL;
            sends[k++] = sends[i];
        }
        *n = k;
        if (fresh == 0)
            return ERR_OK;
        struct buf next = BUF_INIT(MARKER_MAX);
        int err = buf_append(&next, m->text.data ? m->text.data : "", m->text.len);
        for (size_t i = 0; i < k && !err; i++)
            if (!marker_find(m, sends[i].chat_id))
                err = buf_printf(&next, "%c %lld %s\n", PUSH_UNKNOWN, (long long)sends[i].chat_id,
                                 owner);
        if (err) {
            buf_release(&next);
            return diag_set(d, ERR_TOOBIG, "%s: the marker does not fit", key);
        }
        err = objstore_put(os, key, next.data, next.len, OBJ_PUT_IF_MATCH, m->etag, d);
        buf_release(&next);
        if (err != ERR_OK && err != ERR_PRECONDITION)
            return err;
        /* Written, or someone wrote first: read what is stored and go on from it. */
        if ((err = marker_read(os, key, m, d)) != ERR_OK)
            return err;
        if (m->done) {
            *n = 0;
            return ERR_OK;
        }
    }
    return diag_set(d, ERR_CONFLICT, "%s: still changing under us after %d attempts", key,
                    CAS_ATTEMPTS);
}

/* The marker exists (created empty when absent; a create whose answer was lost is refused
 * when tried again, and the marker is then simply read). */
static int marker_open(struct objstore *os, const char *key, const char *day, struct marker *m,
                       struct diag *d)
{
    int err = marker_read(os, key, m, d);
    if (err || m->exists)
        return err;
    char text[32];
    int len = snprintf(text, sizeof text, "push %s\n", day);
    err = objstore_put(os, key, text, (size_t)len, OBJ_PUT_CREATE, NULL, d);
    if (err && err != ERR_EXISTS)
        return err;
    return marker_read(os, key, m, d);
}

int push_marker_parse(const char *name, const char *text, size_t len,
                      struct push_marker_summary *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct marker m = {0};
    buf_init(&m.text, MARKER_MAX);
    int err = buf_append(&m.text, text, len) ? diag_set(d, ERR_TOOBIG, "%s: too large", name)
                                             : marker_parse(&m, name, d);
    if (!err) {
        out->chats = m.n;
        out->done = m.done;
        out->superseded = m.superseded;
    }
    marker_release(&m);
    return err;
}

/* A later day's push takes over from an earlier one the deadline left unfinished: that day's
 * message is stale, so the chats it did not reach get today's instead of both.  Only the
 * newest earlier marker is looked at (each push closes the one before it this way); it is
 * closed with "superseded DAY" and who it did not reach is counted and logged. */
static int supersede_older(struct objstore *os, const char *key, const char *day,
                           const struct subscribers *subs, struct push_stats *st, struct diag *d)
{
    struct strvec keys;
    strvec_init(&keys);
    int err = objstore_list(os, PUSH_MARKER_PREFIX, &keys, d);
    const char *older = NULL;
    size_t plen = strlen(PUSH_MARKER_PREFIX);
    for (size_t i = 0; !err && i < keys.n; i++) {
        int32_t when;
        const char *k = keys.v[i];
        if (strlen(k) == plen + DATE_STRLEN && date_parse(k + plen, DATE_STRLEN, &when) == 0 &&
            strcmp(k, key) < 0 && (!older || strcmp(k, older) > 0))
            older = k;
    }
    struct marker m = {0};
    if (!err && older)
        err = marker_read(os, older, &m, d);
    if (!err && older && m.exists && !m.done) {
        size_t missed = 0;
        for (size_t i = 0; i < subs->n; i++)
            missed += !marker_has(&m, subs->v[i].chat_id);
        char line[32];
        int n = snprintf(line, sizeof line, "superseded %s\n", day);
        err = marker_append(os, older, &m, line, (size_t)n, d);
        if (!err) {
            st->superseded_left = missed;
            date_parse(older + plen, DATE_STRLEN, &st->superseded_date);
            log_warn("push: an earlier day's push was left unfinished; today's supersedes it",
                     LF_STR("earlier", older + plen), LF_STR("date", day),
                     LF_INT("not_reached", (int64_t)missed));
        }
    }
    marker_release(&m);
    strvec_release(&keys);
    return err;
}

/* ---- the daily push ---- */

static int64_t mono_ms(void)
{
    return clock_mono_us() / 1000;
}

static int outcome_lines(struct buf *b, const struct send *sends, size_t n)
{
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i++)
        err = buf_printf(b, "%c %lld\n", sends[i].outcome, (long long)sends[i].chat_id);
    return err;
}

int bot_push(struct tg_client *tg, struct objstore *os, int32_t date, const char *html,
             int32_t today, struct push_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct subscribers subs = {0};
    int err = subscribers_read(os, &subs, d);
    if (err)
        return err;
    st->subscribers = subs.n;
    char day[DATE_STRLEN + 1], key[OBJ_KEY_MAX];
    date_format(date, day);
    snprintf(key, sizeof key, PUSH_MARKER_PREFIX "%s", day);
    struct marker m = {0};
    if (subs.n)
        err = supersede_older(os, key, day, &subs, st, d);
    if (!err && subs.n)
        err = marker_read(os, key, &m, d);
    if (!err && subs.n && !m.done)
        err = marker_open(os, key, day, &m, d);
    /* This run's mark on the chats it claims. */
    char owner[OWNER_LEN + 1];
    snprintf(owner, sizeof owner, "%016llx",
             (unsigned long long)((uint64_t)clock_wall_ms() * 6364136223846793005ULL ^
                                  (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 40)));
    if (!err && m.done)
        st->already_pushed = 1;
    if (err || !subs.n || m.done) {
        marker_release(&m);
        subscribers_release(&subs);
        return err;
    }
    st->resumed = m.n > 0;
    /* The sends end PUSH_RESERVE_MS before the caller's deadline: the marker is written after
     * them. */
    int64_t deadline = tg_deadline(tg);
    if (deadline)
        tg_set_deadline(tg, deadline - PUSH_RESERVE_MS);
    struct send *sends = calloc(PUSH_BATCH, sizeof *sends);
    struct buf lines = BUF_INIT(MARKER_MAX);
    if (!sends)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    struct push_ctx p = {.os = os, .today = today, .st = st};
    size_t next = 0; /* subscribers before it were addressed (by this run or an earlier one) */
    while (!err && !m.done) {
        if (deadline && mono_ms() + PUSH_RESERVE_MS + PUSH_BATCH_MIN_MS > deadline)
            break; /* nothing more is claimed: the next run sends the rest */
        size_t n = 0;
        for (; next < subs.n && n < PUSH_BATCH; next++)
            if (!marker_has(&m, subs.v[next].chat_id))
                sends[n++] = (struct send){.chat_id = subs.v[next].chat_id};
        if (n == 0)
            break;
        if ((err = claim(os, key, &m, owner, sends, &n, d)) != ERR_OK || n == 0)
            continue;
        err = send_batch(tg, &p, sends, n, html, d);
        /* Supergroups: today's message follows to the new chat, once (claimed likewise). */
        for (size_t i = 0; i < n && !err; i++) {
            if (sends[i].outcome != PUSH_MIGRATED)
                continue;
            struct send x = {.chat_id = sends[i].migrate_to};
            size_t one = 1;
            if ((err = claim(os, key, &m, owner, &x, &one, d)) == ERR_OK && one)
                err = send_batch(tg, &p, &x, 1, html, d);
        }
        if (err)
            break;
        /* The outcomes, for the record (the claim already keeps them from being sent again). */
        buf_reset(&lines);
        struct diag od = {{0}};
        if (outcome_lines(&lines, sends, n) == ERR_OK &&
            marker_append(os, key, &m, lines.data, lines.len, &od) != ERR_OK)
            log_warn("push: the outcomes could not be recorded", LF_STR("error", od.text));
    }
    if (!err) {
        for (size_t i = 0; i < subs.n; i++)
            st->left += !marker_has(&m, subs.v[i].chat_id);
        if (m.done)
            st->left = 0;
        if (st->left == 0 && !m.done)
            err = marker_append(os, key, &m, "done\n", 5, d);
        else if (st->left)
            log_warn("push: stopped before the deadline; the next run sends the rest",
                     LF_INT("left", (int64_t)st->left), LF_STR("date", day));
    }
    if (deadline)
        tg_set_deadline(tg, deadline);
    free(sends);
    buf_release(&lines);
    marker_release(&m);
    subscribers_release(&subs);
    return err;
}
