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

static int s3store_list(struct objstore *os, const char *prefix, struct strvec *keys,
                        struct diag *d)
{
    struct s3store *st = (struct s3store *)os;
    char p[S3_KEY_MAX + 1];
    int n = snprintf(p, sizeof p, "%s%s", st->prefix, prefix);
    if (n < 0 || n > S3_KEY_MAX)
        return diag_set(d, ERR_TOOBIG, "store '%s': list prefix '%s' is too long",
                        st->base.location, prefix);
    size_t skip = strlen(st->prefix), before = keys->n;
    struct s3_list_page page;
    s3_list_page_init(&page);
    char token[S3_TOKEN_MAX] = "";
    int err = ERR_OK;
    for (size_t pages = 0;; pages++) {
        struct s3_list_opts lo = {.prefix = p, .continuation_token = token};
        if (pages == LIST_PAGES_MAX) {
            err = diag_set(d, ERR_PARSE,
                           "store '%s': the listing of '%s' did not end after %d "
                           "pages",
                           st->base.location, prefix, LIST_PAGES_MAX);
            break;
        }
        if ((err = s3_list_objects(st->s3, st->bucket, &lo, &page, d)) != ERR_OK)
            break;
        for (size_t i = 0; i < page.n && !err; i++) {
            const char *k = page.objects[i].key;
            if (strncmp(k, st->prefix, skip) != 0) {
                err = diag_set(d, ERR_PARSE,
                               "store '%s': S3 listed '%s', which is not under the prefix asked "
                               "for",
                               st->base.location, k);
                break;
            }
            k += skip;
            if (!objstore_key_valid(k)) {
                /* Folder markers ("dir/") and keys other tools wrote are not objects here. */
                log_warn("ignoring an S3 object whose key is not a store key",
                         LF_STR("key", page.objects[i].key));
                continue;
            }
            if ((err = strvec_push(keys, k)) != ERR_OK)
                diag_set(d, err, "listing '%s': %s", st->base.location, err_str(err));
        }
        if (err || !page.truncated)
            break;
        if (strcmp(token, page.next_token) == 0) {
            err = diag_set(d, ERR_PARSE,
                           "store '%s': S3 repeated a continuation token while listing '%s'",
                           st->base.location, prefix);
            break;
        }
        memcpy(token, page.next_token, sizeof token);
    }
    s3_list_page_release(&page);
    if (!err && keys->n - before > 1) {
        struct strvec tail = {keys->v + before, keys->n - before, keys->n - before};
        strvec_sort(&tail);
    }
    return err;
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
