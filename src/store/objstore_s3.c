/* objstore_s3.c - the object store on S3: "s3://bucket/prefix", one S3 object per key.
 *
 * Every operation is one S3 request (a listing one per 1,000 keys; a delete two), so the
 * guarantees are S3's: a PUT is atomic, OBJ_PUT_CREATE is If-None-Match: * and
 * OBJ_PUT_IF_MATCH is If-Match, checked by S3 against concurrent writers.  Credentials and
 * region come from aws/creds.h, the endpoint from AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL,
 * when one is set (a local stand-in, addressed path style; aws/endpoint.h).  The store keeps its S3
 * client, and so its connections, for its whole life.
 */
#include "store/objstore.h"

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/s3.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* Pages of one listing before it is taken for a server that never ends it. */
#define LIST_PAGES_MAX 100000

struct s3store {
    struct objstore base;
    struct s3 *s3;
    char bucket[64];
    char prefix[OBJ_KEY_MAX]; /* "" or "some/prefix/" */
};

/* The S3 key of an object key; ERR_TOOBIG past S3's limit. */
static int full_key(const struct s3store *st, const char *key, char out[S3_KEY_MAX + 1],
                    struct diag *d)
{
    int n = snprintf(out, S3_KEY_MAX + 1, "%s%s", st->prefix, key);
    if (n < 0 || n > S3_KEY_MAX)
        return diag_set(d, ERR_TOOBIG, "store '%s': key '%s' makes an S3 key over %d bytes",
                        st->base.location, key, S3_KEY_MAX);
    return ERR_OK;
}

static int s3store_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                       struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    char k[S3_KEY_MAX + 1], tag[S3_ETAG_MAX];
    int err = full_key(st, key, k, d);
    if (!err)
        err = s3_get_object(st->s3, st->bucket, k, out, tag, d);
    if (!err && etag) {
        size_t n = strlen(tag);
        if (n >= OBJ_ETAG_MAX)
            return diag_set(d, ERR_INVALID, "store '%s': the ETag of '%s' is %zu bytes long",
                            st->base.location, key, n);
        memcpy(etag, tag, n + 1);
    }
    return err;
}

static int s3store_put(struct objstore *os, const char *key, const void *data, size_t len,
                       enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    char k[S3_KEY_MAX + 1];
    int err = full_key(st, key, k, d);
    if (err)
        return err;
    struct s3_put_opts po = {
        .cond = mode == OBJ_PUT_CREATE     ? S3_PUT_IF_NONE_MATCH
                : mode == OBJ_PUT_IF_MATCH ? S3_PUT_IF_MATCH
                                           : S3_PUT_ALWAYS,
        .if_match = if_match,
    };
    return s3_put_object(st->s3, st->bucket, k, data, len, &po, NULL, d);
}

/* The keys of a listing's page that are store keys and come after `after` (S3 keys; "" for
 * all), appended to keys. */
static int take_page(const struct s3store *st, const struct s3_list_page *page, const char *after,
                     struct strvec *keys, struct diag *d)
{
    size_t skip = strlen(st->prefix);
    for (size_t i = 0; i < page->n; i++) {
        const char *k = page->objects[i].key;
        if (strncmp(k, st->prefix, skip) != 0)
            return diag_set(d, ERR_PARSE,
                            "store '%s': S3 listed '%s', which is not under the prefix asked for",
                            st->base.location, k);
        if (after[0] && strcmp(k, after) <= 0)
            continue;
        k += skip;
        if (!objstore_key_valid(k)) {
            /* Folder markers ("dir/") and keys other tools wrote are not objects here. */
            log_warn("ignoring an S3 object whose key is not a store key",
                     LF_STR("key", page->objects[i].key));
            continue;
        }
        int err = strvec_push(keys, k);
        if (err)
            return diag_set(d, err, "listing '%s': %s", st->base.location, err_str(err));
    }
    return ERR_OK;
}

/* A request of the batch, or a part of a listing. */
enum task_kind {
    T_OBJ,   /* a GET or a PUT */
    T_LIST,  /* the pages of one prefix, one after another */
    T_SPLIT, /* the "folders" of a long listing's prefix, to list them at once */
};

struct task {
    size_t req;
    enum task_kind kind;
    char key[S3_KEY_MAX + 1];   /* the S3 key, or the listing's S3 prefix */
    char token[S3_TOKEN_MAX];   /* T_LIST: where the next page starts ("" for the first) */
    char after[S3_KEY_MAX + 1]; /* T_LIST: the first page starts after it; T_SPLIT: the last
                                   key listed so far */
    struct s3_list_page page;
    /* T_SPLIT: the folders and the keys after `after` outside them listed so far; whether the
     * listing showed where the last key read is; where the plain listing would go on. */
    struct strvec folders, loose;
    int seen_last;
    char resume[S3_TOKEN_MAX];
    size_t pages;
    int done, may_split;
};

struct tasks {
    struct task *v;
    size_t n, cap;
};

static struct task *task_add(struct tasks *t, size_t req, enum task_kind kind, const char *key)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct task *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    struct task *k = &t->v[t->n++];
    memset(k, 0, sizeof *k);
    k->req = req;
    k->kind = kind;
    snprintf(k->key, sizeof k->key, "%s", key);
    s3_list_page_init(&k->page);
    strvec_init(&k->folders);
    strvec_init(&k->loose);
    return k;
}

/* A listing's first page came back truncated: instead of reading its pages one after
 * another, list its "folders" (delimiter '/') and then each folder after the last key read, all
 * at once, each of them one page when a folder holds fewer than 1,000 keys (the bar parts of
 * a year).  Returns 0 when that does not apply (the listing goes on page by page). */
static int split_listing(struct tasks *t, size_t at)
{
    struct task *k = &t->v[at];
    size_t len = strlen(k->key);
    if (!k->may_split || k->page.n == 0 || (len && k->key[len - 1] != '/'))
        return 0;
    char last[S3_KEY_MAX + 1], prefix[S3_KEY_MAX + 1], resume[S3_TOKEN_MAX];
    snprintf(last, sizeof last, "%s", k->page.objects[k->page.n - 1].key);
    snprintf(prefix, sizeof prefix, "%s", k->key);
    memcpy(resume, k->page.next_token, sizeof resume);
    size_t req = k->req;
    struct task *sp = task_add(t, req, T_SPLIT, prefix); /* k may move */
    if (!sp)
        return 0;
    snprintf(sp->after, sizeof sp->after, "%s", last);
    memcpy(sp->resume, resume, sizeof sp->resume);
    return 1;
}

/* The folders are in: list each one from the last key read on, all at once.  A server whose
 * folder listing does not show where the last key read is (a stand-in that ignores the
 * delimiter) is not trusted with it: the listing goes on page by page from its first page. */
static int split_done(struct tasks *t, size_t at, struct strvec *keys, struct diag *d)
{
    struct strvec folders = t->v[at].folders; /* t->v may move: keep what is needed */
    char after[S3_KEY_MAX + 1];
    snprintf(after, sizeof after, "%s", t->v[at].after);
    size_t req = t->v[at].req;
    int err = ERR_OK;
    for (size_t i = 0; i < folders.n; i++)
        t->v[at].seen_last |= strncmp(after, folders.v[i], strlen(folders.v[i])) == 0;
    if (!t->v[at].seen_last) {
        char prefix[S3_KEY_MAX + 1], resume[S3_TOKEN_MAX];
        snprintf(prefix, sizeof prefix, "%s", t->v[at].key);
        memcpy(resume, t->v[at].resume, sizeof resume);
        struct task *k = task_add(t, req, T_LIST, prefix);
        if (!k)
            return diag_set(d, ERR_NOMEM, "out of memory");
        memcpy(k->token, resume, sizeof k->token);
        k->pages = 1;
        return ERR_OK;
    }
    const struct strvec *loose = &t->v[at].loose;
    for (size_t i = 0; i < loose->n && !err; i++)
        if ((err = strvec_push(keys, loose->v[i])) != ERR_OK)
            diag_set(d, err, "out of memory");
    for (size_t i = 0; i < folders.n && !err; i++) {
        const char *cp = folders.v[i];
        int holds_last = strncmp(after, cp, strlen(cp)) == 0;
        if (!holds_last && strcmp(cp, after) < 0)
            continue; /* read in full already */
        struct task *k = task_add(t, req, T_LIST, cp);
        if (!k)
            err = diag_set(d, ERR_NOMEM, "out of memory");
        else if (holds_last)
            snprintf(k->after, sizeof k->after, "%s", after);
    }
    return err;
}

/* Every request of the batch in one s3_many; then the further pages of the listings that
 * have more, all of them together again, until none has.  A listing whose first page is not
 * the whole of it is paged ahead: its folders are listed at once (split_listing). */
static int s3store_batch(struct objstore *os, struct objstore_req *reqs, size_t n, struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    struct tasks t = {0};
    size_t *before = calloc(n ? n : 1, sizeof *before);
    struct s3_op *ops = NULL;
    size_t *of = NULL;
    int err = before ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        struct objstore_req *r = &reqs[i];
        char k[S3_KEY_MAX + 1];
        if (r->op == OBJ_REQ_LIST) {
            before[i] = r->keys->n;
            int len = snprintf(k, sizeof k, "%s%s", st->prefix, r->key);
            if (len < 0 || len > S3_KEY_MAX)
                r->err = diag_set(&r->d, ERR_TOOBIG, "store '%s': list prefix '%s' is too long",
                                  st->base.location, r->key);
        } else {
            r->err = full_key(st, r->key, k, &r->d);
        }
        struct task *tk =
            r->err ? NULL : task_add(&t, i, r->op == OBJ_REQ_LIST ? T_LIST : T_OBJ, k);
        if (!r->err && !tk)
            err = diag_set(d, ERR_NOMEM, "out of memory");
        if (tk)
            tk->may_split = 1;
    }
    for (size_t cap = 0; !err;) {
        size_t m = 0;
        if (cap < t.n) {
            free(ops);
            free(of);
            cap = t.n;
            ops = calloc(cap, sizeof *ops);
            of = calloc(cap, sizeof *of);
            if (!ops || !of) {
                err = diag_set(d, ERR_NOMEM, "out of memory");
                break;
            }
        }
        for (size_t i = 0; i < t.n; i++) {
            struct task *k = &t.v[i];
            if (!k->done && reqs[k->req].err)
                k->done = 1; /* another part of its listing failed */
            if (k->done)
                continue;
            const struct objstore_req *r = &reqs[k->req];
            struct s3_op *op = &ops[m];
            memset(op, 0, sizeof *op);
            op->key = k->key;
            if (r->op == OBJ_REQ_GET) {
                op->kind = S3_OP_GET;
                op->out = r->out;
            } else if (r->op == OBJ_REQ_PUT) {
                op->kind = S3_OP_PUT;
                op->data = r->data;
                op->len = r->len;
                op->po.cond = r->mode == OBJ_PUT_CREATE     ? S3_PUT_IF_NONE_MATCH
                              : r->mode == OBJ_PUT_IF_MATCH ? S3_PUT_IF_MATCH
                                                            : S3_PUT_ALWAYS;
                op->po.if_match = r->if_match;
            } else {
                op->kind = S3_OP_LIST;
                op->lo.prefix = k->key;
                op->lo.continuation_token = k->token;
                op->lo.start_after =
                    !k->token[0] && k->kind == T_LIST && k->after[0] ? k->after : NULL;
                op->lo.delimiter = k->kind == T_SPLIT ? "/" : NULL;
                op->page = &k->page;
            }
            of[m++] = i;
        }
        if (m == 0)
            break;
        s3_many(st->s3, st->bucket, ops, m, OBJSTORE_WINDOW, NULL);
        for (size_t j = 0; j < m && !err; j++) {
            size_t i = of[j];
            struct task *k = &t.v[i];
            struct objstore_req *r = &reqs[k->req];
            struct s3_op *op = &ops[j];
            k->done = 1;
            if (r->err)
                continue;
            r->err = op->err;
            if (op->err)
                r->d = op->d;
            if (!r->err && r->op == OBJ_REQ_PUT) /* "" when it does not fit: not known */
                snprintf(r->etag, sizeof r->etag, "%s",
                         strlen(op->etag) < OBJ_ETAG_MAX ? op->etag : "");
            if (!r->err && r->op == OBJ_REQ_GET) {
                size_t len = strlen(op->etag);
                if (len >= OBJ_ETAG_MAX)
                    r->err = diag_set(&r->d, ERR_INVALID,
                                      "store '%s': the ETag of '%s' is %zu bytes long",
                                      st->base.location, r->key, len);
                else
                    memcpy(r->etag, op->etag, len + 1);
            }
            if (r->err || r->op != OBJ_REQ_LIST)
                continue;
            if (k->kind == T_SPLIT) { /* its pages one after another, then the folders */
                const struct s3_list_page *page = &k->page;
                if ((r->err = take_page(st, page, k->after, &k->loose, &r->d)) != ERR_OK)
                    continue;
                for (size_t o = 0; o < page->n; o++)
                    k->seen_last |= strcmp(page->objects[o].key, k->after) == 0;
                for (size_t f = 0; f < page->prefixes.n && !r->err; f++)
                    if ((r->err = strvec_push(&k->folders, page->prefixes.v[f])) != ERR_OK)
                        diag_set(&r->d, r->err, "out of memory");
                if (r->err)
                    continue;
                if (!page->truncated) {
                    if ((r->err = split_done(&t, i, r->keys, &r->d)) == ERR_NOMEM)
                        err = diag_set(d, ERR_NOMEM, "out of memory");
                } else if (strcmp(k->token, page->next_token) == 0 ||
                           ++k->pages == LIST_PAGES_MAX) {
                    r->err = diag_set(&r->d, ERR_PARSE,
                                      "store '%s': the listing of '%s' did not end properly",
                                      st->base.location, r->key);
                } else {
                    memcpy(k->token, page->next_token, sizeof k->token);
                    k->done = 0;
                }
                continue;
            }
            const struct s3_list_page *page = &k->page;
            if ((r->err = take_page(st, page, "", r->keys, &r->d)) != ERR_OK || !page->truncated)
                continue;
            if (strcmp(k->token, page->next_token) == 0) {
                r->err = diag_set(&r->d, ERR_PARSE,
                                  "store '%s': S3 repeated a continuation token while listing '%s'",
                                  st->base.location, r->key);
            } else if (++k->pages == LIST_PAGES_MAX) {
                r->err = diag_set(&r->d, ERR_PARSE,
                                  "store '%s': the listing of '%s' did not end after %d pages",
                                  st->base.location, r->key, LIST_PAGES_MAX);
            } else if (!split_listing(&t, i)) {
                k = &t.v[i];
                memcpy(k->token, k->page.next_token, sizeof k->token);
                k->done = 0;
            }
        }
    }
    int first = err;
    for (size_t i = 0; i < t.n; i++) {
        s3_list_page_release(&t.v[i].page);
        strvec_release(&t.v[i].folders);
        strvec_release(&t.v[i].loose);
    }
    for (size_t i = 0; i < n && before; i++) {
        struct objstore_req *r = &reqs[i];
        if (!r->err && r->op == OBJ_REQ_LIST && r->keys->n - before[i] > 1) {
            struct strvec tail = {r->keys->v + before[i], r->keys->n - before[i],
                                  r->keys->n - before[i]};
            strvec_sort(&tail);
        }
        if (r->err && !first) {
            first = r->err;
            if (d)
                *d = r->d;
        }
    }
    free(t.v);
    free(before);
    free(ops);
    free(of);
    return first;
}

static int s3store_list(struct objstore *os, const char *prefix, struct strvec *keys,
                        struct diag *d)
{
    struct objstore_req r = {.op = OBJ_REQ_LIST, .key = prefix, .keys = keys};
    return s3store_batch(os, &r, 1, d);
}

/* Chunks of keys are numbered from 0: put the caller's numbers back. */
struct each_at {
    objstore_each_fn fn;
    void *ctx;
    size_t at;
};

static int each_at(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    struct each_at *ea = ctx;
    return ea->fn(ea->ctx, ea->at + i, data, len, d);
}

static int s3store_get_many(struct objstore *os, const char *const *keys, size_t n, size_t max,
                            size_t window, objstore_each_fn fn, void *ctx, struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    /* The S3 keys, prefix included; a window's worth at a time keeps memory flat. */
    size_t chunk = 1024;
    char **full = calloc(chunk, sizeof *full);
    char *space = malloc(chunk * (S3_KEY_MAX + 1));
    int err = full && space ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t at = 0; at < n && !err; at += chunk) {
        size_t m = n - at < chunk ? n - at : chunk;
        for (size_t i = 0; i < m && !err; i++) {
            full[i] = space + i * (S3_KEY_MAX + 1);
            err = full_key(st, keys[at + i], full[i], d);
        }
        struct each_at ea = {fn, ctx, at};
        if (!err)
            err = s3_get_objects(st->s3, st->bucket, (const char *const *)full, m, window, max,
                                 each_at, &ea, d);
    }
    free(full);
    free(space);
    return err;
}

static int s3store_del(struct objstore *os, const char *key, struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    char k[S3_KEY_MAX + 1], tag[S3_ETAG_MAX];
    /* S3 deletes absent keys without a word; the interface says ERR_NOTFOUND. */
    int err = full_key(st, key, k, d);
    if (!err)
        err = s3_head_object(st->s3, st->bucket, k, tag, d);
    if (!err)
        err = s3_delete_object(st->s3, st->bucket, k, d);
    return err;
}

static int s3store_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                        struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    char k[S3_KEY_MAX + 1], tag[S3_ETAG_MAX];
    int err = full_key(st, key, k, d);
    /* A link to nothing would be a 404 page for the user: make sure it is there. */
    if (!err)
        err = s3_head_object(st->s3, st->bucket, k, tag, d);
    if (!err)
        err = s3_presign_get(st->s3, st->bucket, k, expires_s, 0, out, d);
    return err;
}

/* s3store_link for several keys: their HEADs at once, then the links (signed locally). */
static int s3store_link_many(struct objstore *os, const char *const *keys, size_t n,
                             int64_t expires_s, struct buf *urls, int *errs, struct diag *ds)
{
    struct s3store *st = (struct s3store *)os;
    struct s3_op *ops = calloc(n ? n : 1, sizeof *ops);
    char(*full)[S3_KEY_MAX + 1] = calloc(n ? n : 1, sizeof *full);
    size_t *of = calloc(n ? n : 1, sizeof *of), m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ops || !full || !of)
            errs[i] = diag_set(&ds[i], ERR_NOMEM, "out of memory");
        else if ((errs[i] = full_key(st, keys[i], full[i], &ds[i])) == ERR_OK) {
            ops[m] = (struct s3_op){.kind = S3_OP_HEAD, .key = full[i]};
            of[m++] = i;
        }
    }
    s3_many(st->s3, st->bucket, ops, m, OBJSTORE_WINDOW, NULL);
    for (size_t k = 0; k < m; k++) {
        size_t i = of[k];
        if ((errs[i] = ops[k].err) != ERR_OK)
            ds[i] = ops[k].d;
        else
            errs[i] = s3_presign_get(st->s3, st->bucket, full[i], expires_s, 0, &urls[i], &ds[i]);
    }
    free(of);
    free(ops);
    free(full);
    return ERR_OK;
}

static int64_t s3store_link_limit_ms(struct objstore *os)
{
    return s3_link_limit_ms(((struct s3store *)os)->s3);
}

static void s3store_free(struct objstore *os)
{
    struct s3store *st = (struct s3store *)os;
    s3_free(st->s3);
    free(st);
}

static const struct objstore_ops s3_ops = {
    .scheme = "s3",
    .get = s3store_get,
    .put = s3store_put,
    .list = s3store_list,
    .get_many = s3store_get_many,
    .batch = s3store_batch,
    .del = s3store_del,
    .link = s3store_link,
    .link_many = s3store_link_many,
    .link_limit_ms = s3store_link_limit_ms,
    .free = s3store_free,
};

/* "s3://bucket" or "s3://bucket/some/prefix[/]" into bucket and "some/prefix/". */
static int parse_location(const char *location, struct s3store *st, struct diag *d)
{
    const char *b = location + 5;
    size_t blen = strcspn(b, "/");
    if (blen >= sizeof st->bucket) {
        return diag_set(d, ERR_USAGE, "store '%s': the bucket name is too long", location);
    }
    memcpy(st->bucket, b, blen);
    st->bucket[blen] = '\0';
    if (!s3_bucket_name_valid(st->bucket))
        return diag_set(d, ERR_USAGE,
                        "store '%s': '%s' is not a valid S3 bucket name (3 to 63 lower-case "
                        "letters, digits, dots and hyphens)",
                        location, st->bucket);
    const char *p = b + blen;
    while (*p == '/')
        p++;
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/')
        plen--;
    if (plen) {
        char tmp[OBJ_KEY_MAX];
        if (plen >= sizeof tmp - 1)
            return diag_set(d, ERR_USAGE, "store '%s': the prefix is too long", location);
        memcpy(tmp, p, plen);
        tmp[plen] = '\0';
        if (!objstore_key_valid(tmp))
            return diag_set(d, ERR_USAGE,
                            "store '%s': the prefix '%s' is not a valid key prefix (printable "
                            "ASCII, no empty, '.' or '..' segments)",
                            location, tmp);
        memcpy(st->prefix, tmp, plen);
        memcpy(st->prefix + plen, "/", 2);
    }
    return ERR_OK;
}

int objstore_s3_open(const char *location, struct objstore **out, struct diag *d)
{
    if (strncmp(location, "s3://", 5) != 0 || strlen(location) >= OBJ_LOCATION_MAX)
        return diag_set(d, ERR_USAGE, "store '%s' is not an s3://bucket/prefix location", location);
    struct s3store *st = calloc(1, sizeof *st);
    if (!st)
        return diag_set(d, ERR_NOMEM, "out of memory");
    snprintf(st->base.location, sizeof st->base.location, "%s", location);
    st->base.ops = &s3_ops;
    int err = parse_location(location, st, d);
    struct aws_creds c;
    memset(&c, 0, sizeof c);
    if (!err && (err = aws_creds_load(&c, d)) != ERR_OK)
        diag_prefix(d, err, "store '%s'", location);
    if (!err) {
        struct s3_opts o;
        s3_opts_default(&o);
        o.region = c.region[0] ? c.region : S3_DEFAULT_REGION;
        o.endpoint = aws_endpoint_env("s3", NULL);
        o.creds = aws_creds_sigv4(&c);
        o.creds_expiration_ms = c.expiration_ms;
        if ((err = s3_new(&o, &st->s3, d)) != ERR_OK)
            diag_prefix(d, err, "store '%s'", location);
    }
    aws_creds_release(&c);
    if (err) {
        free(st);
        return err;
    }
    log_debug(
        "S3 store opened", LF_STR("bucket", st->bucket), LF_STR("prefix", st->prefix),
        LF_STR("endpoint", aws_endpoint_env("s3", NULL) ? aws_endpoint_env("s3", NULL) : "AWS"));
    *out = &st->base;
    return ERR_OK;
}
