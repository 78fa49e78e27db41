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

/* The keys of a listing's page that are store keys, appended to keys. */
static int take_page(const struct s3store *st, const char *prefix, const struct s3_list_page *page,
                     struct strvec *keys, struct diag *d)
{
    size_t skip = strlen(st->prefix);
    for (size_t i = 0; i < page->n; i++) {
        const char *k = page->objects[i].key;
        if (strncmp(k, st->prefix, skip) != 0)
            return diag_set(d, ERR_PARSE,
                            "store '%s': S3 listed '%s', which is not under the prefix asked for",
                            st->base.location, k);
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
    (void)prefix;
    return ERR_OK;
}

/* What a batch keeps for each request. */
struct pending {
    char key[S3_KEY_MAX + 1]; /* the S3 key, or the listing's S3 prefix */
    char token[S3_TOKEN_MAX]; /* LIST: where the next page starts ("" for the first) */
    struct s3_list_page page; /* LIST */
    size_t pages, before;     /* LIST: pages read, keys->n before */
    int done;
};

/* Every request of the batch in one s3_many, then the further pages of the listings that
 * have more, all of them together again, until none has. */
static int s3store_batch(struct objstore *os, struct objstore_req *reqs, size_t n, struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    struct pending *p = calloc(n ? n : 1, sizeof *p);
    struct s3_op *ops = calloc(n ? n : 1, sizeof *ops);
    size_t *of = calloc(n ? n : 1, sizeof *of);
    if (!p || !ops || !of) {
        free(p);
        free(ops);
        free(of);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct objstore_req *r = &reqs[i];
        s3_list_page_init(&p[i].page);
        if (r->op == OBJ_REQ_LIST) {
            p[i].before = r->keys->n;
            int len = snprintf(p[i].key, sizeof p[i].key, "%s%s", st->prefix, r->key);
            if (len < 0 || len > S3_KEY_MAX)
                r->err = diag_set(&r->d, ERR_TOOBIG, "store '%s': list prefix '%s' is too long",
                                  st->base.location, r->key);
        } else {
            r->err = full_key(st, r->key, p[i].key, &r->d);
        }
        p[i].done = r->err != ERR_OK;
    }
    for (;;) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i].done)
                continue;
            const struct objstore_req *r = &reqs[i];
            struct s3_op *op = &ops[m];
            memset(op, 0, sizeof *op);
            op->key = p[i].key;
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
                op->lo.prefix = p[i].key;
                op->lo.continuation_token = p[i].token;
                op->page = &p[i].page;
            }
            of[m++] = i;
        }
        if (m == 0)
            break;
        s3_many(st->s3, st->bucket, ops, m, OBJSTORE_WINDOW, NULL);
        for (size_t k = 0; k < m; k++) {
            size_t i = of[k];
            struct objstore_req *r = &reqs[i];
            struct s3_op *op = &ops[k];
            r->err = op->err;
            if (op->err)
                r->d = op->d;
            p[i].done = 1;
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
            const struct s3_list_page *page = &p[i].page;
            if ((r->err = take_page(st, r->key, page, r->keys, &r->d)) != ERR_OK ||
                !page->truncated)
                continue;
            if (strcmp(p[i].token, page->next_token) == 0) {
                r->err = diag_set(&r->d, ERR_PARSE,
                                  "store '%s': S3 repeated a continuation token while listing '%s'",
                                  st->base.location, r->key);
            } else if (++p[i].pages == LIST_PAGES_MAX) {
                r->err = diag_set(&r->d, ERR_PARSE,
                                  "store '%s': the listing of '%s' did not end after %d pages",
                                  st->base.location, r->key, LIST_PAGES_MAX);
            } else {
                memcpy(p[i].token, page->next_token, sizeof p[i].token);
                p[i].done = 0;
            }
        }
    }
    int first = ERR_OK;
    for (size_t i = 0; i < n; i++) {
        struct objstore_req *r = &reqs[i];
        s3_list_page_release(&p[i].page);
        if (!r->err && r->op == OBJ_REQ_LIST && r->keys->n - p[i].before > 1) {
            struct strvec tail = {r->keys->v + p[i].before, r->keys->n - p[i].before,
                                  r->keys->n - p[i].before};
            strvec_sort(&tail);
        }
        if (r->err && !first) {
            first = r->err;
            if (d)
                *d = r->d;
        }
    }
    free(p);
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
                            objstore_each_fn fn, void *ctx, struct diag *d)
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
            err = s3_get_objects(st->s3, st->bucket, (const char *const *)full, m, OBJSTORE_WINDOW,
                                 max, each_at, &ea, d);
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
