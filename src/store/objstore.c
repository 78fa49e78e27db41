#include "store/objstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int objstore_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n >= OBJ_KEY_MAX || key[0] == '/' || key[n - 1] == '/')
        return 0;
    const char *seg = key;
    for (size_t i = 0; i <= n; i++) {
        char c = key[i];
        if (c == '/' || c == '\0') {
            if (key + i == seg || *seg == '.')
                return 0;
            seg = key + i + 1;
            continue;
        }
        if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e || c == '\\')
            return 0;
    }
    return 1;
}

static void held_release(struct objstore *os);

void objstore_free(struct objstore *os)
{
    if (!os)
        return;
    held_release(os);
    os->ops->free(os);
}

struct held_obj {
    char key[OBJ_KEY_MAX];
    struct buf data;
    char etag[OBJ_ETAG_MAX];
    int err; /* ERR_OK or ERR_NOTFOUND; anything else is not held */
    struct diag d;
    int used;
    size_t reads; /* the reads it answers after the next (a key prefetched several times) */
};

/* An object as this store wrote it (objstore_keep_written). */
struct written_obj {
    char key[OBJ_KEY_MAX];
    struct buf data;
    char etag[OBJ_ETAG_MAX]; /* "" when the write did not tell it */
};

/* What the store holds in memory. */
struct objstore_held {
    struct held_obj *v; /* objstore_prefetch */
    size_t n;
    struct written_obj *w; /* objstore_keep_written */
    size_t nw, capw;
    size_t w_max, w_total, w_bytes; /* its limits (w_max 0: off), the bytes held */
    char prefix[OBJ_KEY_MAX];       /* objstore_keep_listing: "" for none */
    int listed;                     /* keys is the listing of prefix */
    int lazy;                       /* kept only when listed by a caller, never read along */
    int fresh;                      /* objstore_list_fresh: listings go to the store */
    struct strvec keys;
    struct along { /* objstore_list_along */
        char prefix[OBJ_KEY_MAX];
        int held; /* keys is its listing */
        struct strvec keys;
    } along[OBJSTORE_ALONG_MAX];
    size_t nalong;
};

static struct objstore_held *held_get(struct objstore *os)
{
    if (!os->held && (os->held = calloc(1, sizeof *os->held)) != NULL) {
        strvec_init(&os->held->keys);
        for (size_t i = 0; i < OBJSTORE_ALONG_MAX; i++)
            strvec_init(&os->held->along[i].keys);
    }
    return os->held;
}

static void drop_along(struct objstore_held *h, size_t i)
{
    strvec_release(&h->along[i].keys);
    h->along[i] = h->along[--h->nalong];
    strvec_init(&h->along[h->nalong].keys);
    h->along[h->nalong].held = 0;
}

static void drop_alongs(struct objstore_held *h)
{
    while (h->nalong)
        drop_along(h, h->nalong - 1);
}

static void held_release(struct objstore *os)
{
    if (os->held)
        drop_alongs(os->held);
    objstore_prefetch_drop(os);
    objstore_keep_written(os, 0, 0);
    objstore_keep_listing(os, NULL);
    free(os->held);
    os->held = NULL;
}

void objstore_prefetch_drop(struct objstore *os)
{
    struct objstore_held *h = os->held;
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        buf_release(&h->v[i].data);
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

static void keep_listing(struct objstore *os, const char *prefix, int lazy)
{
    struct objstore_held *h = prefix ? held_get(os) : os->held;
    if (!h)
        return;
    strvec_release(&h->keys);
    strvec_init(&h->keys);
    h->listed = 0;
    h->lazy = lazy;
    snprintf(h->prefix, sizeof h->prefix, "%s", prefix ? prefix : "");
}

void objstore_keep_listing(struct objstore *os, const char *prefix)
{
    keep_listing(os, prefix, 0);
}

void objstore_keep_listing_when_listed(struct objstore *os, const char *prefix)
{
    keep_listing(os, prefix, 1);
}

static void drop_kept(struct objstore_held *h)
{
    strvec_release(&h->keys);
    strvec_init(&h->keys);
    h->listed = 0;
}

void objstore_listing_stale(struct objstore *os)
{
    struct objstore_held *h = os->held;
    if (!h || !h->listed)
        return;
    strvec_release(&h->keys);
    strvec_init(&h->keys);
    h->listed = 0;
}

static void drop_written(struct objstore_held *h, size_t i)
{
    h->w_bytes -= h->w[i].data.len;
    buf_release(&h->w[i].data);
    memmove(&h->w[i], &h->w[i + 1], (h->nw - i - 1) * sizeof *h->w);
    h->nw--;
}

void objstore_keep_written(struct objstore *os, size_t max, size_t total)
{
    struct objstore_held *h = max && os->ops->batch ? held_get(os) : os->held;
    if (!h)
        return;
    while (h->nw)
        drop_written(h, h->nw - 1);
    if (!max || !os->ops->batch) {
        free(h->w);
        h->w = NULL;
        h->capw = 0;
    }
    h->w_max = os->ops->batch ? max : 0;
    h->w_total = total;
}

/* The written copy of key: its index, or -1. */
static long find_written(const struct objstore_held *h, const char *key)
{
    for (size_t i = 0; h && i < h->nw; i++)
        if (strcmp(h->w[i].key, key) == 0)
            return (long)i;
    return -1;
}

/* After a write of key that gave err: what it wrote answers the reads of key, when kept (the
 * oldest copies make room for it). */
static void keep_written(struct objstore *os, const char *key, const void *data, size_t len,
                         const char *etag, int err)
{
    struct objstore_held *h = os->held;
    if (!h || !h->w_max || err || len > h->w_max || len > h->w_total)
        return;
    while (h->nw && h->w_bytes + len > h->w_total)
        drop_written(h, 0);
    if (h->nw == h->capw) {
        size_t cap = h->capw ? h->capw * 2 : 16;
        struct written_obj *w = realloc(h->w, cap * sizeof *w);
        if (!w)
            return;
        h->w = w;
        h->capw = cap;
    }
    struct written_obj *o = &h->w[h->nw];
    snprintf(o->key, sizeof o->key, "%s", key);
    buf_init(&o->data, len);
    if (buf_append(&o->data, data, len) != ERR_OK) {
        buf_release(&o->data);
        return;
    }
    snprintf(o->etag, sizeof o->etag, "%s", etag ? etag : "");
    h->w_bytes += len;
    h->nw++;
}

void objstore_take_written(struct objstore *to, struct objstore *from)
{
    struct objstore_held *h = from->held;
    for (size_t i = 0; h && i < h->nw; i++) {
        const struct written_obj *o = &h->w[i];
        long w = find_written(to->held, o->key);
        if (w >= 0)
            drop_written(to->held, (size_t)w);
        keep_written(to, o->key, o->data.data, o->data.len, o->etag, ERR_OK);
    }
    if (h && h->w_max)
        objstore_keep_written(from, h->w_max, h->w_total); /* drops its copies, keeps on */
}

/* Before a write of key: its held copy answers no more reads. */
static void written(struct objstore *os, const char *key)
{
    struct objstore_held *h = os->held;
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].key, key) == 0) {
            h->v[i].used = 1;
            buf_release(&h->v[i].data);
        }
    long w = find_written(h, key);
    if (w >= 0)
        drop_written(h, (size_t)w);
    for (size_t i = h->nalong; i-- > 0;)
        if (strncmp(key, h->along[i].prefix, strlen(h->along[i].prefix)) == 0)
            drop_along(h, i);
}

/* After a write (put 1) or a delete (put 0) of key that gave err: the kept listing under
 * which key falls follows what this store did, a key added or removed in its place.  A write
 * refused because the key is there (a create that found it, perhaps its own whose answer was
 * lost; an etag that differs) shows the key too; a bad key or a replace of an absent key
 * changed nothing; a failure whose outcome is not known makes the next listing read the store
 * again. */
static void kept_follow(struct objstore *os, const char *key, int put, int err)
{
    struct objstore_held *h = os->held;
    if (!h || !h->listed || strncmp(key, h->prefix, strlen(h->prefix)) != 0)
        return;
    size_t at = 0;
    while (at < h->keys.n && strcmp(h->keys.v[at], key) < 0)
        at++;
    int present = at < h->keys.n && strcmp(h->keys.v[at], key) == 0;
    if (put && (err == ERR_OK || err == ERR_EXISTS || err == ERR_PRECONDITION)) {
        if (present)
            return;
        if (strvec_push(&h->keys, key) != ERR_OK) {
            drop_kept(h);
            return;
        }
        char *k = h->keys.v[h->keys.n - 1];
        memmove(&h->keys.v[at + 1], &h->keys.v[at], (h->keys.n - 1 - at) * sizeof *h->keys.v);
        h->keys.v[at] = k;
    } else if (!put && (err == ERR_OK || err == ERR_NOTFOUND)) {
        if (!present)
            return;
        free(h->keys.v[at]);
        memmove(&h->keys.v[at], &h->keys.v[at + 1], (h->keys.n - at - 1) * sizeof *h->keys.v);
        h->keys.n--;
    } else if (err != ERR_OK && err != ERR_EXISTS && err != ERR_PRECONDITION &&
               err != ERR_INVALID && err != ERR_USAGE && err != ERR_NOTFOUND) {
        drop_kept(h);
    }
}

/* The listing of prefix from the kept one, when it covers it: 1 and the outcome in *err. */
static int from_kept(struct objstore *os, const char *prefix, struct strvec *keys, int *err,
                     struct diag *d)
{
    const struct objstore_held *h = os->held;
    size_t kp = strlen(h->prefix), n = strlen(prefix);
    if (!h->listed || h->fresh || !h->prefix[0] || strncmp(prefix, h->prefix, kp) != 0)
        return 0;
    *err = ERR_OK;
    for (size_t i = 0; i < h->keys.n && !*err; i++)
        if (strncmp(h->keys.v[i], prefix, n) == 0 && (*err = strvec_push(keys, h->keys.v[i])))
            diag_set(d, *err, "listing '%s': %s", os->location, err_str(*err));
    return 1;
}

/* Keep the listing of the kept prefix just read (keys from the index first on). */
static void keep(struct objstore *os, const char *prefix, const struct strvec *keys, size_t first)
{
    struct objstore_held *h = os->held;
    if (!h || !h->prefix[0] || h->listed || strcmp(prefix, h->prefix) != 0)
        return;
    int err = ERR_OK;
    for (size_t i = first; i < keys->n && !err; i++)
        err = strvec_push(&h->keys, keys->v[i]);
    h->listed = !err;
    if (err) {
        strvec_release(&h->keys);
        strvec_init(&h->keys);
    }
}

static int check_key(struct objstore *os, const char *key, struct diag *d)
{
    if (!objstore_key_valid(key))
        return diag_set(d, ERR_INVALID, "store '%s': invalid object key '%s'", os->location, key);
    return ERR_OK;
}

/* The written copy's answer for key (objstore_keep_written), when there is one that fits
 * out: 1 and ERR_OK in *err.  A read that wants the etag when the write did not tell it goes
 * to the store, and so do the reads after it. */
static int from_written(struct objstore *os, const char *key, struct buf *out, char *etag, int *err)
{
    long i = find_written(os->held, key);
    if (i < 0)
        return 0;
    const struct written_obj *o = &os->held->w[i];
    size_t len = out->len;
    if ((etag && !o->etag[0]) ||
        buf_append(out, o->data.data ? o->data.data : "", o->data.len) != ERR_OK) {
        out->len = len;
        if (out->data)
            out->data[len] = '\0';
        drop_written(os->held, (size_t)i);
        return 0;
    }
    if (etag)
        memcpy(etag, o->etag, OBJ_ETAG_MAX);
    *err = ERR_OK;
    return 1;
}

/* The held answer for key, when there is one that fits out: 1 and the outcome in *err. */
static int from_held(struct objstore *os, const char *key, struct buf *out, char *etag, int *err,
                     struct diag *d)
{
    if (from_written(os, key, out, etag, err))
        return 1;
    for (size_t i = 0; i < os->held->n; i++) {
        struct held_obj *o = &os->held->v[i];
        if (o->used || strcmp(o->key, key) != 0)
            continue;
        if (o->reads) /* it answers more reads: the data stays */
            o->reads--;
        else
            o->used = 1; /* and its memory is freed: the next read goes to the store */
        if (o->err) {
            *err = o->err;
            if (d)
                *d = o->d;
            return 1;
        }
        size_t len = out->len;
        int ok = buf_append(out, o->data.data ? o->data.data : "", o->data.len) == ERR_OK;
        if (o->used || !ok) {
            o->used = 1;
            buf_release(&o->data);
        }
        if (!ok) {
            out->len = len;
            if (out->data)
                out->data[len] = '\0';
            return 0; /* the store says what is wrong */
        }
        if (etag)
            memcpy(etag, o->etag, OBJ_ETAG_MAX);
        *err = ERR_OK;
        return 1;
    }
    return 0;
}

int objstore_get(struct objstore *os, const char *key, struct buf *out, char *etag, struct diag *d)
{
    int err = check_key(os, key, d);
    if (!err && os->held && from_held(os, key, out, etag, &err, d))
        return err;
    return err ? err : os->ops->get(os, key, out, etag, d);
}

/* Move an unread held copy of key (from those held before, h->v) into o: 1 when there was
 * one. */
static int take_held(struct objstore_held *h, const char *key, struct held_obj *o)
{
    for (size_t i = 0; i < h->n; i++) {
        struct held_obj *p = &h->v[i];
        if (p->used || strcmp(p->key, key) != 0)
            continue;
        buf_release(&o->data);
        *o = *p;
        p->used = 1;
        p->data = (struct buf)BUF_INIT(0);
        return 1;
    }
    return 0;
}

void objstore_prefetch(struct objstore *os, const char *const *keys, size_t n, size_t max)
{
    struct objstore_held *h = os->ops->batch && n ? held_get(os) : NULL;
    struct held_obj *v = h ? calloc(n, sizeof *v) : NULL;
    struct objstore_req *reqs = v ? calloc(n, sizeof *reqs) : NULL;
    if (!reqs) {
        objstore_prefetch_drop(os);
        free(v);
        return; /* nothing held: every read goes to the store */
    }
    size_t m = 0, nv = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nv && strcmp(v[j].key, keys[i]) != 0)
            j++;
        if (j < nv) { /* read once, answering one read more */
            v[j].reads++;
            continue;
        }
        struct held_obj *o = &v[nv++];
        snprintf(o->key, sizeof o->key, "%s", keys[i]);
        buf_init(&o->data, max);
        o->used = 1; /* what this store wrote answers for itself (objstore_keep_written) */
        if (find_written(h, keys[i]) < 0 && !take_held(h, keys[i], o))
            reqs[m++] = (struct objstore_req){.op = OBJ_REQ_GET, .key = o->key, .out = &o->data};
    }
    objstore_prefetch_drop(os);
    objstore_batch(os, reqs, m, NULL);
    for (size_t k = 0, i = 0; k < m; k++, i++) {
        while (v[i].key != reqs[k].key)
            i++;
        v[i].err = reqs[k].err;
        v[i].d = reqs[k].d;
        memcpy(v[i].etag, reqs[k].etag, sizeof v[i].etag);
        v[i].used = reqs[k].err != ERR_OK && reqs[k].err != ERR_NOTFOUND;
    }
    free(reqs);
    h->v = v;
    h->n = nv;
}

int objstore_put(struct objstore *os, const char *key, const void *data, size_t len,
                 enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    int err = check_key(os, key, d);
    if (!err && mode == OBJ_PUT_IF_MATCH && (!if_match || !*if_match))
        err = diag_set(d, ERR_USAGE, "conditional replace of '%s' without an etag", key);
    if (err)
        return err;
    written(os, key);
    if (os->held && os->held->w_max && len <= os->held->w_max) { /* with the new etag */
        struct objstore_req r = {.op = OBJ_REQ_PUT,
                                 .key = key,
                                 .data = data,
                                 .len = len,
                                 .mode = mode,
                                 .if_match = if_match};
        err = os->ops->batch(os, &r, 1, NULL);
        if (err && d)
            *d = r.d;
        keep_written(os, key, data, len, r.etag, err);
    } else {
        err = os->ops->put(os, key, data, len, mode, if_match, d);
    }
    kept_follow(os, key, 1, err);
    return err;
}

void objstore_list_along(struct objstore *os, const char *prefix)
{
    struct objstore_held *h = prefix ? held_get(os) : os->held;
    if (!h)
        return;
    if (!prefix) {
        drop_alongs(h);
        return;
    }
    for (size_t i = 0; i < h->nalong; i++)
        if (strcmp(h->along[i].prefix, prefix) == 0)
            return;
    if (h->nalong == OBJSTORE_ALONG_MAX)
        return;
    struct along *a = &h->along[h->nalong++];
    snprintf(a->prefix, sizeof a->prefix, "%s", prefix);
    a->held = 0;
}

/* The held listing of prefix (objstore_list_along), when there is one: 1. */
static int from_along(struct objstore *os, const char *prefix, struct strvec *keys, int *err,
                      struct diag *d)
{
    struct objstore_held *h = os->held;
    for (size_t i = 0; i < h->nalong && !h->fresh; i++) {
        const struct along *a = &h->along[i];
        if (!a->held || strcmp(prefix, a->prefix) != 0)
            continue;
        *err = ERR_OK;
        for (size_t k = 0; k < a->keys.n && !*err; k++)
            if ((*err = strvec_push(keys, a->keys.v[k])) != ERR_OK)
                diag_set(d, *err, "listing '%s': %s", os->location, err_str(*err));
        return 1;
    }
    return 0;
}

int objstore_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    int err;
    if (os->held && (from_kept(os, prefix, keys, &err, d) || from_along(os, prefix, keys, &err, d)))
        return err;
    struct objstore_held *h = os->held;
    int along =
        h && !h->fresh && h->prefix[0] && !h->listed && !h->lazy && strcmp(prefix, h->prefix) != 0;
    for (size_t i = 0; h && !h->fresh && i < h->nalong; i++)
        along |= !h->along[i].held && strcmp(prefix, h->along[i].prefix) != 0;
    if (along) { /* the kept listing not read yet and those asked for ahead go along */
        struct objstore_req rq = {.op = OBJ_REQ_LIST, .key = prefix, .keys = keys};
        objstore_batch(os, &rq, 1, NULL);
        if (rq.err && d)
            *d = rq.d;
        return rq.err;
    }
    size_t first = keys->n;
    err = os->ops->list(os, prefix, keys, d);
    if (!err)
        keep(os, prefix, keys, first);
    return err;
}

int objstore_list_groups(struct objstore *os, const char *prefix, struct strvec *out,
                         struct diag *d)
{
    size_t n = strlen(prefix);
    if (n && prefix[n - 1] != '/')
        return diag_set(d, ERR_USAGE, "listing groups of '%s': the prefix must end in '/'", prefix);
    const struct objstore_held *h = os->held;
    /* A kept listing answers prefix (one kept when listed: once it has been). */
    int kept = h && h->prefix[0] && !h->fresh && (h->listed || !h->lazy) &&
               strncmp(prefix, h->prefix, strlen(h->prefix)) == 0;
    if (!os->ops->list_groups || kept)
        return diag_set(d, ERR_UNSUPPORTED, "store '%s' lists '%s' at once", os->location, prefix);
    return os->ops->list_groups(os, prefix, out, d);
}

static int is_held(const struct objstore *os, const char *key)
{
    if (find_written(os->held, key) >= 0)
        return 1;
    for (size_t i = 0; os->held && i < os->held->n; i++)
        if (!os->held->v[i].used && strcmp(os->held->v[i].key, key) == 0)
            return 1;
    return 0;
}

/* The callback of a get_many: objstore_get_many's, or objstore_get_many_take's. */
struct each {
    objstore_each_fn fn;
    objstore_take_fn take;
    void *ctx;
};

/* Hand object i (data[0 .. len), held by own, or by memory fn may not take: own NULL) on. */
static int each_call(struct each *e, size_t i, char *data, size_t len, struct buf *own,
                     struct diag *d)
{
    return e->take ? e->take(e->ctx, i, data, len, own, d) : e->fn(e->ctx, i, data, len, d);
}

static int get_many_store(struct objstore *os, const char *const *keys, size_t n, size_t max,
                          size_t window, struct each *e, struct diag *d);

/* objstore_get_many with objects held (objstore_prefetch, objstore_keep_written): each held
 * one answers from memory and all the others go to the store together, handed on in key
 * order. */
struct held_run {
    struct objstore *os;
    const char *const *keys;
    const size_t *of; /* the index in keys of each key sent to the store */
    size_t next;      /* the next index of keys to hand on */
    int stopped;      /* the store's batch stopped for a held key or fn */
    struct buf b;
    struct each *e;
};

/* Hand on the held keys from next up to (not including) to. */
static int held_upto(struct held_run *h, size_t to, struct diag *d)
{
    char empty[1] = "";
    int err = ERR_OK;
    for (; h->next < to && !err; h->next++) {
        int herr = ERR_OK;
        buf_reset(&h->b);
        if (!from_held(h->os, h->keys[h->next], &h->b, NULL, &herr, d))
            herr = h->os->ops->get(h->os, h->keys[h->next], &h->b, NULL, d); /* it cannot */
        err = herr ? herr
                   : each_call(h->e, h->next, h->b.data ? h->b.data : empty, h->b.len, &h->b, d);
    }
    return err;
}

static int held_each(void *ctx, size_t k, char *data, size_t len, struct buf *own, struct diag *d)
{
    struct held_run *h = ctx;
    size_t i = h->of[k];
    int err = held_upto(h, i, d);
    if (!err) {
        h->next = i + 1;
        err = each_call(h->e, i, data, len, own, d);
    }
    h->stopped = err != ERR_OK;
    return err;
}

static int get_many_held(struct objstore *os, const char *const *keys, size_t n, size_t max,
                         size_t window, struct each *e, struct diag *d)
{
    const char **sent = malloc(n * sizeof *sent);
    size_t *of = malloc(n * sizeof *of), m = 0;
    if (!sent || !of) {
        free(sent);
        free(of);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (!is_held(os, keys[i])) {
            of[m] = i;
            sent[m++] = keys[i];
        }
    struct held_run h = {os, keys, of, 0, 0, BUF_INIT(max), e};
    struct each he = {NULL, held_each, &h};
    int err = m ? get_many_store(os, sent, m, max, window, &he, d) : ERR_OK;
    if (err && !h.stopped) { /* the store's next key failed: the held ones before it first */
        size_t k = 0;
        while (k < m && of[k] < h.next)
            k++;
        struct diag hd;
        int herr = held_upto(&h, k < m ? of[k] : n, &hd);
        if (herr) {
            err = herr;
            *d = hd;
        }
    } else if (!err) {
        err = held_upto(&h, n, d);
    }
    buf_release(&h.b);
    free(sent);
    free(of);
    return err;
}

int objstore_get_many(struct objstore *os, const char *const *keys, size_t n, size_t max,
                      objstore_each_fn fn, void *ctx, struct diag *d)
{
    return objstore_get_many_window(os, keys, n, max, OBJSTORE_WINDOW, fn, ctx, d);
}

static int get_many(struct objstore *os, const char *const *keys, size_t n, size_t max,
                    size_t window, struct each *e, struct diag *d)
{
    if (window == 0 || window > OBJSTORE_WINDOW)
        return diag_set(d, ERR_INVALID, "a window of %zu objects (1 to %d)", window,
                        OBJSTORE_WINDOW);
    for (size_t i = 0; i < n; i++) {
        int err = check_key(os, keys[i], d);
        if (err)
            return err;
    }
    for (size_t i = 0; os->held && (os->held->n || os->held->nw) && i < n; i++)
        if (is_held(os, keys[i]))
            return get_many_held(os, keys, n, max, window, e, d);
    return get_many_store(os, keys, n, max, window, e, d);
}

int objstore_get_many_window(struct objstore *os, const char *const *keys, size_t n, size_t max,
                             size_t window, objstore_each_fn fn, void *ctx, struct diag *d)
{
    struct each e = {fn, NULL, ctx};
    return get_many(os, keys, n, max, window, &e, d);
}

int objstore_get_many_take(struct objstore *os, const char *const *keys, size_t n, size_t max,
                           size_t window, objstore_take_fn fn, void *ctx, struct diag *d)
{
    struct each e = {NULL, fn, ctx};
    return get_many(os, keys, n, max, window, &e, d);
}

/* A backend's get_many hands on memory of its own: none of it can be taken. */
static int each_untakeable(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    return each_call(ctx, i, data, len, NULL, d);
}

static int get_many_store(struct objstore *os, const char *const *keys, size_t n, size_t max,
                          size_t window, struct each *e, struct diag *d)
{
    if (os->ops->get_many)
        return e->take ? os->ops->get_many(os, keys, n, max, window, each_untakeable, e, d)
                       : os->ops->get_many(os, keys, n, max, window, e->fn, e->ctx, d);
    struct buf b = BUF_INIT(max);
    int err = ERR_OK;
    char empty[1] = "";
    for (size_t i = 0; i < n && !err; i++) {
        buf_reset(&b);
        err = os->ops->get(os, keys[i], &b, NULL, d);
        if (!err)
            err = each_call(e, i, b.data ? b.data : empty, b.len, &b, d);
    }
    buf_release(&b);
    return err;
}

/* The listings that go along with a round of requests (sent[0..m)): those asked for ahead
 * (objstore_list_along) not held yet, and, with a round that lists, the kept listing not read
 * yet.  Appended to sent (room for 1 + OBJSTORE_ALONG_MAX more), their keys into keys[], the
 * places of the along ones' in go[]; the new count. */
static size_t along_add(struct objstore *os, struct objstore_req *sent, size_t m,
                        struct strvec *keys, size_t *go, size_t *ngo)
{
    struct objstore_held *h = os->held;
    *ngo = 0;
    int lists = 0, kept = h && h->prefix[0] && !h->listed && !h->lazy;
    for (size_t k = 0; k < m; k++)
        if (sent[k].op == OBJ_REQ_LIST) {
            lists = 1;
            kept = kept && strcmp(sent[k].key, h->prefix) != 0;
        }
    if (!m || !h || h->fresh)
        return m;
    kept = kept && lists;
    size_t n = m;
    for (size_t i = 0; i < h->nalong; i++) {
        int asked = h->along[i].held;
        for (size_t k = 0; k < m && !asked; k++)
            asked = sent[k].op == OBJ_REQ_LIST && strcmp(sent[k].key, h->along[i].prefix) == 0;
        if (asked)
            continue;
        strvec_init(&keys[*ngo]);
        sent[n++] = (struct objstore_req){
            .op = OBJ_REQ_LIST, .key = h->along[i].prefix, .keys = &keys[*ngo]};
        go[(*ngo)++] = i;
    }
    if (kept) {
        strvec_init(&keys[*ngo]);
        sent[n++] =
            (struct objstore_req){.op = OBJ_REQ_LIST, .key = h->prefix, .keys = &keys[*ngo]};
    }
    return n;
}

/* The outcome of along_add's listings (sent[m..n)): each held, or dropped when it failed. */
static void along_done(struct objstore *os, const struct objstore_req *sent, size_t m, size_t n,
                       struct strvec *keys, const size_t *go, size_t ngo)
{
    struct objstore_held *h = os->held;
    if (m + ngo < n) { /* the kept listing */
        if (sent[m + ngo].err == ERR_OK)
            keep(os, h->prefix, &keys[ngo], 0);
        strvec_release(&keys[ngo]);
    }
    for (size_t g = ngo; g-- > 0;) { /* from the last, as drop_along moves the last */
        struct along *a = &h->along[go[g]];
        if (sent[m + g].err == ERR_OK) {
            strvec_release(&a->keys);
            a->keys = keys[g];
            a->held = 1;
        } else {
            strvec_release(&keys[g]);
            drop_along(h, go[g]);
        }
    }
}

int objstore_batch(struct objstore *os, struct objstore_req *reqs, size_t n, struct diag *d)
{
    if (n == 0)
        return ERR_OK;
    size_t *send = calloc(n, sizeof *send), *before = calloc(n, sizeof *before), m = 0;
    struct objstore_req *sent = calloc(n + 1 + OBJSTORE_ALONG_MAX, sizeof *sent);
    struct strvec along_keys[1 + OBJSTORE_ALONG_MAX];
    size_t go[OBJSTORE_ALONG_MAX], ngo = 0, nsent;
    int first = ERR_OK;
    if (!send || !before || !sent) {
        free(send);
        free(before);
        free(sent);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct objstore_req *r = &reqs[i];
        memset(&r->d, 0, sizeof r->d);
        if (r->op == OBJ_REQ_GET)
            r->etag[0] = '\0';
        r->err = ERR_OK;
        if (r->op != OBJ_REQ_LIST)
            r->err = check_key(os, r->key, &r->d);
        if (!r->err && r->op == OBJ_REQ_PUT && r->mode == OBJ_PUT_IF_MATCH &&
            (!r->if_match || !*r->if_match))
            r->err =
                diag_set(&r->d, ERR_USAGE, "conditional replace of '%s' without an etag", r->key);
        if (!r->err && r->op == OBJ_REQ_PUT)
            written(os, r->key);
        if (r->op == OBJ_REQ_LIST)
            before[i] = r->keys->n;
        /* What is held in memory is not asked for again. */
        if (r->err ||
            (os->held && r->op == OBJ_REQ_LIST &&
             (from_kept(os, r->key, r->keys, &r->err, &r->d) ||
              from_along(os, r->key, r->keys, &r->err, &r->d))) ||
            (os->held && r->op == OBJ_REQ_GET &&
             from_held(os, r->key, r->out, r->etag, &r->err, &r->d)))
            continue;
        sent[m] = *r;
        send[m++] = i;
    }
    nsent = along_add(os, sent, m, along_keys, go, &ngo);
    if (os->ops->batch) {
        os->ops->batch(os, sent, nsent, NULL);
    } else {
        for (size_t k = 0; k < nsent; k++) {
            struct objstore_req *r = &sent[k];
            if (r->op == OBJ_REQ_GET)
                r->err = os->ops->get(os, r->key, r->out, r->etag, &r->d);
            else if (r->op == OBJ_REQ_PUT)
                r->err = os->ops->put(os, r->key, r->data, r->len, r->mode, r->if_match, &r->d);
            else
                r->err = os->ops->list(os, r->key, r->keys, &r->d);
        }
    }
    if (nsent > m)
        along_done(os, sent, m, nsent, along_keys, go, ngo);
    for (size_t k = 0; k < m; k++) {
        size_t i = send[k];
        reqs[i] = sent[k];
        if (!reqs[i].err && reqs[i].op == OBJ_REQ_LIST)
            keep(os, reqs[i].key, reqs[i].keys, before[i]);
        if (reqs[i].op == OBJ_REQ_PUT) {
            kept_follow(os, reqs[i].key, 1, reqs[i].err);
            keep_written(os, reqs[i].key, reqs[i].data, reqs[i].len, reqs[i].etag, reqs[i].err);
        }
    }
    for (size_t i = 0; i < n && !first; i++) {
        if ((first = reqs[i].err) != ERR_OK && d)
            *d = reqs[i].d;
    }
    free(send);
    free(before);
    free(sent);
    return first;
}

int objstore_list_fresh(struct objstore *os, int on)
{
    struct objstore_held *h = os->held;
    if (!h)
        return 0;
    int was = h->fresh;
    h->fresh = on;
    return was;
}

int objstore_list_many(struct objstore *os, const char *const *prefixes, size_t n,
                       struct strvec *keys, struct diag *d)
{
    if (n == 0)
        return ERR_OK;
    struct objstore_req *reqs = calloc(n, sizeof *reqs);
    struct strvec *got = calloc(n, sizeof *got);
    int err = reqs && got ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        strvec_init(&got[i]);
        reqs[i] = (struct objstore_req){.op = OBJ_REQ_LIST, .key = prefixes[i], .keys = &got[i]};
    }
    if (!err)
        err = objstore_batch(os, reqs, n, d);
    for (size_t i = 0; i < n && got; i++) {
        for (size_t k = 0; k < got[i].n && !err; k++)
            if ((err = strvec_push(keys, got[i].v[k])) != ERR_OK)
                diag_set(d, err, "listing '%s': %s", os->location, err_str(err));
        strvec_release(&got[i]);
    }
    free(reqs);
    free(got);
    return err;
}

int objstore_del(struct objstore *os, const char *key, struct diag *d)
{
    int err = check_key(os, key, d);
    if (err)
        return err;
    written(os, key);
    err = os->ops->del(os, key, d);
    kept_follow(os, key, 0, err);
    return err;
}

int objstore_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                  struct diag *d)
{
    int err = check_key(os, key, d);
    return err ? err : os->ops->link(os, key, expires_s, out, d);
}

void objstore_link_many(struct objstore *os, const char *const *keys, size_t n, int64_t expires_s,
                        struct buf *urls, int *errs, struct diag *ds)
{
    int checked = 1;
    for (size_t i = 0; i < n; i++) {
        memset(&ds[i], 0, sizeof ds[i]);
        checked &= (errs[i] = check_key(os, keys[i], &ds[i])) == ERR_OK;
    }
    if (checked && os->ops->link_many) {
        os->ops->link_many(os, keys, n, expires_s, urls, errs, ds);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!errs[i])
            errs[i] = os->ops->link(os, keys[i], expires_s, &urls[i], &ds[i]);
}

void objstore_sweep(struct objstore *os, const char *prefix)
{
    if (os->ops->sweep)
        os->ops->sweep(os, prefix);
}

int64_t objstore_link_limit_ms(struct objstore *os)
{
    return os->ops->link_limit_ms ? os->ops->link_limit_ms(os) : 0;
}

int objstore_missing(struct objstore *os)
{
    return os->ops->missing ? os->ops->missing(os) : 0;
}
