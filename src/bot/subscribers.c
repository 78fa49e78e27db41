/* subscribers.c - the chats that get the daily push. */
#include "bot/subscribers.h"

#include <stdlib.h>
#include <string.h>

#include "base/date.h"

#include "bot/format.h"

#include "base/banned.h"

#define HEADER       "chat_id,since\n"
#define CAS_ATTEMPTS 8

void subscribers_release(struct subscribers *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int push(struct subscribers *s, const struct subscriber *x, struct diag *d)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct subscriber *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return diag_set(d, ERR_NOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *x;
    return ERR_OK;
}

static int parse_int64(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == n)
        return -1;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return 0;
}

int subscribers_parse(const char *name, const char *data, size_t len, struct subscribers *out,
                      struct diag *d)
{
    if (len < sizeof HEADER - 1 || memcmp(data, HEADER, sizeof HEADER - 1) != 0)
        return diag_set(d, ERR_PARSE, "%s:1: expected the header 'chat_id,since'", name);
    size_t line = 1;
    for (size_t i = sizeof HEADER - 1; i < len;) {
        line++;
        const char *eol = memchr(data + i, '\n', len - i);
        size_t n = eol ? (size_t)(eol - (data + i)) : len - i;
        const char *row = data + i;
        i += n + 1;
        if (n == 0)
            return diag_set(d, ERR_PARSE, "%s:%zu: empty line", name, line);
        const char *comma = memchr(row, ',', n);
        struct subscriber x;
        if (!comma)
            return diag_set(d, ERR_PARSE, "%s:%zu: expected chat_id,since", name, line);
        if (parse_int64(row, (size_t)(comma - row), &x.chat_id) != 0 || x.chat_id == 0)
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'chat_id' is not a chat id", name, line);
        size_t dl = n - (size_t)(comma + 1 - row);
        if (date_parse(comma + 1, dl, &x.since) != ERR_OK)
            return diag_set(d, ERR_PARSE, "%s:%zu: field 'since' is not a date (YYYY-MM-DD)", name,
                            line);
        if (out->n && out->v[out->n - 1].chat_id >= x.chat_id)
            return diag_set(d, ERR_PARSE, "%s:%zu: chat %lld is out of order or repeated", name,
                            line, (long long)x.chat_id);
        if (out->n >= SUBSCRIBERS_MAX)
            return diag_set(d, ERR_TOOBIG, "%s: more than %d subscribers", name, SUBSCRIBERS_MAX);
        int err = push(out, &x, d);
        if (err)
            return err;
    }
    return ERR_OK;
}

static int read_tagged(struct objstore *os, struct subscribers *out, char *etag, int *exists,
                       struct diag *d)
{
    struct buf b = BUF_INIT((size_t)SUBSCRIBERS_MAX * 40);
    int err = objstore_get(os, SUBSCRIBERS_KEY, &b, etag, d);
    *exists = err != ERR_NOTFOUND;
    if (err == ERR_NOTFOUND)
        err = ERR_OK;
    else if (!err)
        err = subscribers_parse(SUBSCRIBERS_KEY, b.data ? b.data : "", b.len, out, d);
    buf_release(&b);
    return err;
}

int subscribers_read(struct objstore *os, struct subscribers *out, struct diag *d)
{
    char etag[OBJ_ETAG_MAX];
    int exists;
    return read_tagged(os, out, etag, &exists, d);
}

static int write_all(struct buf *b, const struct subscribers *s)
{
    int err = buf_puts(b, HEADER);
    for (size_t i = 0; i < s->n && !err; i++) {
        char day[DATE_STRLEN + 1];
        date_format(s->v[i].since, day);
        err = buf_printf(b, "%lld,%s\n", (long long)s->v[i].chat_id, day);
    }
    return err;
}

/* One read, change, conditional write of the list, retried when another writer came first.
 * change returns -1 for "nothing to do", else ERR_OK or an error.  Nothing to do after a
 * refused write is a change made all the same: the list is as asked, by this write (S3 took
 * it, its answer was lost, and the write sent again met itself) or by another writer's. */
typedef int (*change_fn)(struct subscribers *s, const void *arg, struct diag *d);

static int modify(struct objstore *os, change_fn change, const void *arg, int *changed,
                  struct diag *d)
{
    *changed = 0;
    int refused = 0;
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        struct subscribers s = {0};
        char etag[OBJ_ETAG_MAX] = "";
        int exists;
        int err = read_tagged(os, &s, etag, &exists, d);
        int rc = err ? err : change(&s, arg, d);
        if (rc < 0 || rc > 0) {
            subscribers_release(&s);
            *changed = rc < 0 && refused;
            return rc < 0 ? ERR_OK : rc;
        }
        struct buf b = BUF_INIT(TG_BUF_MAX);
        if (write_all(&b, &s))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        if (!err)
            err = objstore_put(os, SUBSCRIBERS_KEY, b.data, b.len,
                               exists ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE, exists ? etag : NULL, d);
        buf_release(&b);
        subscribers_release(&s);
        if (err == ERR_PRECONDITION || err == ERR_EXISTS) {
            refused = 1;
            continue; /* someone else changed it first: read again */
        }
        if (!err)
            *changed = 1;
        return err;
    }
    return diag_set(d, ERR_CONFLICT, "%s: still changing under us after %d attempts",
                    SUBSCRIBERS_KEY, CAS_ATTEMPTS);
}

static size_t position(const struct subscribers *s, int64_t chat_id)
{
    size_t at = 0;
    while (at < s->n && s->v[at].chat_id < chat_id)
        at++;
    return at;
}

static int insert(struct subscribers *s, const struct subscriber *x, struct diag *d)
{
    size_t at = position(s, x->chat_id);
    int err = push(s, x, d);
    if (!err) {
        memmove(s->v + at + 1, s->v + at, (s->n - 1 - at) * sizeof *s->v);
        s->v[at] = *x;
    }
    return err;
}

static void erase(struct subscribers *s, size_t at)
{
    memmove(s->v + at, s->v + at + 1, (s->n - at - 1) * sizeof *s->v);
    s->n--;
}

struct update_arg {
    int64_t chat_id;
    int subscribe;
    int32_t today;
};

static int change_update(struct subscribers *s, const void *arg, struct diag *d)
{
    const struct update_arg *a = arg;
    size_t at = position(s, a->chat_id);
    int present = at < s->n && s->v[at].chat_id == a->chat_id;
    if (present == !!a->subscribe)
        return -1;
    if (!a->subscribe) {
        erase(s, at);
        return ERR_OK;
    }
    struct subscriber x = {.chat_id = a->chat_id, .since = a->today};
    return insert(s, &x, d);
}

int subscribers_update(struct objstore *os, int64_t chat_id, int subscribe, int32_t today,
                       int *changed, struct diag *d)
{
    struct update_arg a = {.chat_id = chat_id, .subscribe = subscribe, .today = today};
    return modify(os, change_update, &a, changed, d);
}

struct move_arg {
    int64_t from, to;
};

static int change_move(struct subscribers *s, const void *arg, struct diag *d)
{
    const struct move_arg *a = arg;
    size_t at = position(s, a->from);
    if (a->from == a->to || at >= s->n || s->v[at].chat_id != a->from)
        return -1;
    struct subscriber x = {.chat_id = a->to, .since = s->v[at].since};
    erase(s, at);
    size_t to = position(s, a->to);
    if (to < s->n && s->v[to].chat_id == a->to)
        return ERR_OK; /* the new chat subscribed itself already */
    return insert(s, &x, d);
}

int subscribers_move(struct objstore *os, int64_t from, int64_t to, int *changed, struct diag *d)
{
    if (to == 0)
        return diag_set(d, ERR_INVALID, "subscribers: chat %lld moves to no chat", (long long)from);
    struct move_arg a = {.from = from, .to = to};
    return modify(os, change_move, &a, changed, d);
}
