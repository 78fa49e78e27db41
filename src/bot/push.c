/* push.c - the daily push. */
#include "bot/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/date.h"
#include "base/log.h"
#include "bot/subscribers.h"
#include "codec/json.h"

#include "bot/format.h"

#include "base/banned.h"

struct send {
    struct push_ctx *p;
    int64_t chat_id;
};

struct push_ctx {
    struct objstore *os;
    int32_t today;
    struct push_stats *st;
    struct send *sends;
};

static void on_sent(void *ctx, int err, struct jv *env, const struct tg_error *e,
                    const struct diag *d)
{
    struct send *s = ctx;
    struct push_ctx *p = s->p;
    jv_free(env);
    if (!err) {
        p->st->sent++;
        return;
    }
    p->st->failed++;
    if (e->status == 403) {
        int changed;
        struct diag ud = {{0}};
        int uerr = subscribers_update(p->os, s->chat_id, 0, p->today, &changed, &ud);
        if (!uerr && changed)
            p->st->unsubscribed++;
        log_info("push: chat blocked the bot; unsubscribed", LF_INT("chat_id", s->chat_id),
                 LF_STR("error", uerr ? ud.text : ""));
        return;
    }
    log_warn("push: message not delivered", LF_INT("chat_id", s->chat_id),
             LF_STR("error", d->text));
}

/* Send html to the subscribers in subs (those whose chat is in only, when only is not NULL). */
static int send_all(struct tg_client *tg, struct objstore *os, const struct subscribers *subs,
                    const char *html, const int64_t *only, size_t nonly, int32_t today,
                    struct push_stats *st, struct diag *d)
{
    struct push_ctx p = {.os = os, .today = today, .st = st};
    p.sends = calloc(subs->n ? subs->n : 1, sizeof *p.sends);
    struct buf params = BUF_INIT(TG_BUF_MAX);
    int err = p.sends ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < subs->n && !err; i++) {
        int wanted = !only;
        for (size_t k = 0; k < nonly && !wanted; k++)
            wanted = only[k] == subs->v[i].chat_id;
        if (!wanted)
            continue;
        p.sends[i] = (struct send){.p = &p, .chat_id = subs->v[i].chat_id};
        buf_reset(&params);
        if (tg_message_json(&params, subs->v[i].chat_id, html, 0))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        else
            err = tg_submit(tg, "sendMessage", params.data, params.len, on_sent, &p.sends[i], d);
    }
    /* Run even after a failed submit: what was queued refers to p.sends. */
    struct diag rd = {{0}};
    int rerr = tg_run(tg, &rd);
    if (!err && rerr)
        err = diag_set(d, rerr, "%s", rd.text);
    buf_release(&params);
    free(p.sends);
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
    if (subs.n == 0) {
        subscribers_release(&subs);
        return ERR_OK;
    }
    char day[DATE_STRLEN + 1], key[OBJ_KEY_MAX];
    date_format(date, day);
    snprintf(key, sizeof key, PUSH_MARKER_PREFIX "%s", day);
    err = objstore_put(os, key, day, strlen(day), OBJ_PUT_CREATE, NULL, d);
    if (err == ERR_EXISTS) {
        st->already_pushed = 1;
        subscribers_release(&subs);
        return ERR_OK;
    }
    if (!err)
        err = send_all(tg, os, &subs, html, NULL, 0, today, st, d);
    subscribers_release(&subs);
    return err;
}

int bot_push_to(struct tg_client *tg, struct objstore *os, const char *html, const int64_t *only,
                size_t nonly, int32_t today, struct push_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct subscribers subs = {0};
    int err = subscribers_read(os, &subs, d);
    if (err)
        return err;
    for (size_t i = 0; i < subs.n; i++) {
        int wanted = !only;
        for (size_t k = 0; k < nonly && !wanted; k++)
            wanted = only[k] == subs.v[i].chat_id;
        st->subscribers += wanted;
    }
    if (st->subscribers)
        err = send_all(tg, os, &subs, html, only, nonly, today, st, d);
    subscribers_release(&subs);
    return err;
}
