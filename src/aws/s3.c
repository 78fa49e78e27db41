/* s3.c - the S3 client: URLs, signing, one request at a time through the retrying fetcher,
 * and the XML answers. */
#include "aws/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "aws/request.h"
#include "aws/creds.h"
#include "base/clock.h"
#include "base/log.h"
#include "codec/crypto.h"
#include "codec/num.h"
#include "codec/xml.h"
#include "net/fetch.h"

#include "base/banned.h"

#define ERROR_BODY_MAX ((size_t)64 << 10)

void s3_opts_default(struct s3_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_retries = 4;
    o->timeout_ms = 30000;
    o->backoff_base_ms = 100;
    o->backoff_max_ms = 5000;
}

/* ---- URLs ---- */

void s3_url_init(struct s3_url *u)
{
    u->host[0] = '\0';
    buf_init(&u->path, 4 * S3_KEY_MAX + S3_HOST_MAX);
    buf_init(&u->url, 4 * S3_KEY_MAX + 2 * S3_HOST_MAX + 4 * S3_TOKEN_MAX);
}

void s3_url_release(struct s3_url *u)
{
    buf_release(&u->path);
    buf_release(&u->url);
}

int s3_bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 63)
        return 0;
    int dots = 0, ip = 1;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
        if (c == '.') {
            dots++;
            if (name[i + 1] == '.')
                return 0;
        } else if (c < '0' || c > '9') {
            ip = 0;
        }
    }
    if (ip && dots == 3)
        return 0; /* "192.168.5.4" */
    return dots ? 1 : 2;
}

/* o's endpoint, or AWS's own for its region; S3 takes no base path (the bucket is the first
 * segment in path style). */
static int endpoint_of(const struct s3_opts *o, struct aws_endpoint *ep, struct diag *d)
{
    int err = aws_endpoint_resolve("s3", o->region, o->endpoint, "S3 endpoint", ep, d);
    if (!err && ep->path[0]) {
        char q[160];
        diag_quote(q, sizeof q, o->endpoint, strlen(o->endpoint), 120);
        err = diag_set(d, ERR_INVALID,
                       "S3 endpoint '%s' is not a URL of the form http[s]://HOST[:PORT] (S3 "
                       "takes no base path)",
                       q);
    }
    return err;
}

int s3_build_url(const struct s3_opts *o, const char *bucket, const char *key, const char *query,
                 struct s3_url *u, struct diag *d)
{
    buf_reset(&u->path);
    buf_reset(&u->url);
    u->host[0] = '\0';
    u->scheme[0] = '\0';
    int valid = s3_bucket_name_valid(bucket);
    if (!valid) {
        char q[100];
        diag_quote(q, sizeof q, bucket, strlen(bucket), 70);
        return diag_set(d, ERR_INVALID,
                        "'%s' is not a valid S3 bucket name (3 to 63 lower-case letters, digits, "
                        "dots and hyphens)",
                        q);
    }
    if (key && (!*key || strlen(key) > S3_KEY_MAX))
        return diag_set(d, ERR_INVALID, "S3 object key is empty or longer than %d bytes",
                        S3_KEY_MAX);
    if (!aws_region_valid(o->region)) {
        char q[60];
        diag_quote(q, sizeof q, o->region ? o->region : "", o->region ? strlen(o->region) : 0, 40);
        return diag_set(d, ERR_INVALID, "'%s' is not an AWS region (such as us-east-1)", q);
    }
    struct aws_endpoint ep;
    int err = endpoint_of(o, &ep, d);
    if (err)
        return err;
    snprintf(u->scheme, sizeof u->scheme, "%s", ep.scheme);
    enum s3_addressing style = o->addressing;
    if (style == S3_ADDRESSING_AUTO)
        style = ep.custom || valid != 2 ? S3_ADDRESSING_PATH : S3_ADDRESSING_VIRTUAL;
    if (style == S3_ADDRESSING_VIRTUAL && valid != 2)
        return diag_set(d, ERR_INVALID,
                        "bucket '%s' has dots and cannot be addressed as a host name; use path "
                        "style",
                        bucket);
    int n = style == S3_ADDRESSING_VIRTUAL
                ? snprintf(u->host, sizeof u->host, "%s.%s", bucket, ep.host)
                : snprintf(u->host, sizeof u->host, "%s", ep.host);
    if (n < 0 || (size_t)n >= sizeof u->host)
        return diag_set(d, ERR_INVALID, "S3 host name for bucket '%s' is too long", bucket);
    err = buf_putc(&u->path, '/');
    if (!err && style == S3_ADDRESSING_PATH) {
        err = buf_puts(&u->path, bucket);
        if (!err && key)
            err = buf_putc(&u->path, '/');
    }
    if (!err && key)
        err = sigv4_uri_encode(&u->path, key, strlen(key), 1);
    if (!err)
        err = buf_printf(&u->url, "%s://%s%s", u->scheme, u->host, buf_cstr(&u->path));
    if (!err && query && *query)
        err = buf_printf(&u->url, "?%s", query);
    if (err)
        return diag_set(d, err, "S3 URL for '%s': %s", bucket, err_str(err));
    return ERR_OK;
}

const char *s3_content_type(const char *key)
{
    const char *dot = strrchr(key, '.');
    if (dot && !strchr(dot, '/')) {
        if (strcasecmp(dot, ".csv") == 0)
            return "text/csv";
        if (strcasecmp(dot, ".txt") == 0)
            return "text/plain; charset=utf-8";
        if (strcasecmp(dot, ".json") == 0)
            return "application/json";
        /* A presigned link to a report opens in the browser as a page, not a download. */
        if (strcasecmp(dot, ".html") == 0)
            return "text/html; charset=utf-8";
        if (strcasecmp(dot, ".png") == 0)
            return "image/png";
    }
    return "application/octet-stream";
}

/* ---- listing ---- */

static int put_param(struct buf *out, const char *name, const char *value)
{
    int err = buf_printf(out, "%s%s=", out->len ? "&" : "", name);
    return err ? err : sigv4_uri_encode(out, value, strlen(value), 0);
}

int s3_list_query(const struct s3_list_opts *lo, struct buf *out, struct diag *d)
{
    if (lo->max_keys < 0 || lo->max_keys > S3_LIST_MAX_KEYS)
        return diag_set(d, ERR_INVALID, "S3 list: max-keys %d is not within 1..%d", lo->max_keys,
                        S3_LIST_MAX_KEYS);
    struct buf q = BUF_INIT(out->max);
    int err = ERR_OK;
    /* In sorted order, as they are signed. */
    if (lo->continuation_token && *lo->continuation_token)
        err = put_param(&q, "continuation-token", lo->continuation_token);
    if (!err && lo->delimiter && *lo->delimiter)
        err = put_param(&q, "delimiter", lo->delimiter);
    if (!err)
        err = put_param(&q, "encoding-type", "url");
    if (!err)
        err = put_param(&q, "list-type", "2");
    if (!err && lo->max_keys)
        err = buf_printf(&q, "&max-keys=%d", lo->max_keys);
    if (!err && lo->prefix && *lo->prefix)
        err = put_param(&q, "prefix", lo->prefix);
    if (!err && lo->start_after && *lo->start_after)
        err = put_param(&q, "start-after", lo->start_after);
    if (!err)
        err = buf_append(out, q.data, q.len);
    buf_release(&q);
    return err ? diag_set(d, err, "S3 list query: %s", err_str(err)) : ERR_OK;
}

void s3_list_page_init(struct s3_list_page *p)
{
    memset(p, 0, sizeof *p);
    strvec_init(&p->prefixes);
}

void s3_list_page_release(struct s3_list_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->objects[i].key);
    free(p->objects);
    strvec_release(&p->prefixes);
    s3_list_page_init(p);
}

/* S3's encoding-type=url: %XX escapes, '+' for a space. */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int v = crypto_hex_byte(s + i + 1, n - i - 1);
            if (v <= 0) { /* not an escape, or a NUL */
                free(out);
                return NULL;
            }
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int list_fail(struct s3_list_page *out, struct diag *d, const char *what)
{
    s3_list_page_release(out);
    return diag_set(d, ERR_PARSE, "S3 list answer: %s", what);
}

int s3_parse_list(const char *body, size_t len, struct s3_list_page *out, struct diag *d)
{
    s3_list_page_release(out);
    struct xml_doc *doc;
    int err = xml_parse(body, len, &doc, d);
    if (err)
        return diag_prefix(d, ERR_PARSE, "S3 list answer");
    const struct xml_node *root = xml_root(doc);
    char msg[200];
    if (strcmp(xml_name(root), "ListBucketResult") != 0) {
        snprintf(msg, sizeof msg, "expected <ListBucketResult>, got <%.64s>", xml_name(root));
        goto bad;
    }
    const char *enc = xml_child_text(root, "EncodingType", NULL);
    int decode = enc && strcmp(enc, "url") == 0;
    const char *trunc = xml_child_text(root, "IsTruncated", NULL);
    if (!trunc || (strcmp(trunc, "true") != 0 && strcmp(trunc, "false") != 0)) {
        snprintf(msg, sizeof msg, "IsTruncated is %s, expected true or false",
                 trunc ? "neither" : "missing");
        goto bad;
    }
    out->truncated = trunc[0] == 't';
    if (out->truncated) {
        size_t tlen;
        const char *tok = xml_child_text(root, "NextContinuationToken", &tlen);
        if (!tok || tlen == 0 || tlen >= S3_TOKEN_MAX) {
            snprintf(msg, sizeof msg,
                     "a truncated page needs a NextContinuationToken of 1 to %d "
                     "bytes",
                     S3_TOKEN_MAX - 1);
            goto bad;
        }
        memcpy(out->next_token, tok, tlen + 1);
    }
    size_t count = 0;
    for (const struct xml_node *c = xml_child(root, "Contents"); c; c = xml_next(c, "Contents"))
        count++;
    if (count) {
        out->objects = calloc(count, sizeof *out->objects);
        if (!out->objects) {
            xml_free(doc);
            s3_list_page_release(out);
            return diag_set(d, ERR_NOMEM, "out of memory");
        }
    }
    for (const struct xml_node *c = xml_child(root, "Contents"); c; c = xml_next(c, "Contents")) {
        struct s3_object *o = &out->objects[out->n];
        size_t klen, elen = 0, slen;
        const char *key = xml_child_text(c, "Key", &klen);
        const char *etag = xml_child_text(c, "ETag", &elen);
        const char *size = xml_child_text(c, "Size", &slen);
        if (!key || klen == 0) {
            snprintf(msg, sizeof msg, "Contents %zu has no Key", out->n + 1);
            goto bad;
        }
        o->key = decode ? url_decode(key, klen) : strdup(key);
        if (!o->key) {
            snprintf(msg, sizeof msg, "Contents %zu has a Key that is not URL-encoded", out->n + 1);
            goto bad;
        }
        out->n++;
        if (etag && elen >= S3_ETAG_MAX) {
            snprintf(msg, sizeof msg, "the ETag of '%.64s' is too long", o->key);
            goto bad;
        }
        if (etag)
            memcpy(o->etag, etag, elen + 1);
        o->size = -1;
        if (size && (num_parse_int(size, slen, &o->size) != ERR_OK || o->size < 0)) {
            snprintf(msg, sizeof msg, "the Size of '%.64s' is not a whole number", o->key);
            goto bad;
        }
    }
    for (const struct xml_node *c = xml_child(root, "CommonPrefixes"); c;
         c = xml_next(c, "CommonPrefixes")) {
        size_t plen;
        const char *p = xml_child_text(c, "Prefix", &plen);
        if (!p) {
            snprintf(msg, sizeof msg, "CommonPrefixes without a Prefix");
            goto bad;
        }
        char *v = decode ? url_decode(p, plen) : strdup(p);
        if (!v) {
            snprintf(msg, sizeof msg, "a CommonPrefixes Prefix that is not URL-encoded");
            goto bad;
        }
        err = strvec_push(&out->prefixes, v);
        free(v);
        if (err) {
            xml_free(doc);
            s3_list_page_release(out);
            return diag_set(d, err, "out of memory");
        }
    }
    xml_free(doc);
    return ERR_OK;
bad:
    xml_free(doc);
    return list_fail(out, d, msg);
}

/* ---- errors ---- */

void s3_parse_error(long status, const char *body, size_t len, const char *request_id,
                    struct s3_error *out)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    struct xml_doc *doc = NULL;
    if (len && xml_parse(body, len, &doc, NULL) == ERR_OK &&
        strcmp(xml_name(xml_root(doc)), "Error") == 0) {
        const struct xml_node *root = xml_root(doc);
        static const struct {
            const char *name;
            size_t off, cap;
        } fields[] = {
            {"Code", offsetof(struct s3_error, code), sizeof out->code},
            {"Message", offsetof(struct s3_error, message), sizeof out->message},
            {"Key", offsetof(struct s3_error, key), sizeof out->key},
            {"RequestId", offsetof(struct s3_error, request_id), sizeof out->request_id},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            size_t n;
            const char *v = xml_child_text(root, fields[i].name, &n);
            if (v)
                diag_quote((char *)out + fields[i].off, fields[i].cap, v, n, fields[i].cap - 8);
        }
    }
    xml_free(doc);
    if (!out->request_id[0] && request_id && *request_id)
        diag_quote(out->request_id, sizeof out->request_id, request_id, strlen(request_id),
                   sizeof out->request_id - 8);
}

static int code_is(const struct s3_error *e, const char *code)
{
    return strcmp(e->code, code) == 0;
}

int s3_error_code(const struct s3_error *e)
{
    long s = e->status;
    if (s == 412)
        return ERR_PRECONDITION;
    if (s == 404)
        return code_is(e, "NoSuchBucket") ? ERR_AUTH : ERR_NOTFOUND;
    if (s == 401 || s == 403)
        return ERR_AUTH;
    if (s == 409)
        return ERR_CONFLICT;
    if (s == 413 || code_is(e, "EntityTooLarge"))
        return ERR_TOOBIG;
    if (s == 400 && code_is(e, "RequestTimeout"))
        return ERR_TIMEOUT;
    if (s == 429)
        return ERR_RATELIMIT;
    if (s >= 500)
        return ERR_UNAVAILABLE;
    return ERR_INVALID;
}

int s3_error_retryable(const struct s3_error *e)
{
    return (e->status == 409 &&
            (code_is(e, "ConditionalRequestConflict") || code_is(e, "OperationAborted"))) ||
           (e->status == 400 && code_is(e, "RequestTimeout"));
}

static const char *status_text(long status)
{
    switch (status) {
    case 304:
        return "not modified";
    case 400:
        return "bad request";
    case 403:
        return "forbidden";
    case 404:
        return "not found";
    case 409:
        return "conflict";
    case 412:
        return "precondition failed";
    default:
        return status >= 500 ? "server error" : "";
    }
}

int s3_error_diag(int err, const char *op, const char *bucket, const char *key,
                  const struct s3_error *e, struct diag *d)
{
    char what[160], detail[sizeof e->code + sizeof e->message + 8];
    char extra[sizeof e->key + sizeof e->request_id + 32];
    char qkey[80];
    diag_quote(qkey, sizeof qkey, key ? key : "", key ? strlen(key) : 0, 64);
    snprintf(what, sizeof what, "S3 %s s3://%.64s/%s", op, bucket, qkey);
    if (e->code[0])
        snprintf(detail, sizeof detail, " %s%s%s", e->code, e->message[0] ? ": " : "", e->message);
    else
        snprintf(detail, sizeof detail, "%s%s", *status_text(e->status) ? " " : "",
                 status_text(e->status));
    size_t n = 0;
    extra[0] = '\0';
    if (e->key[0] && (!key || strcmp(e->key, key) != 0))
        n += (size_t)snprintf(extra + n, sizeof extra - n, "key '%s'", e->key);
    if (e->request_id[0] && n < sizeof extra)
        snprintf(extra + n, sizeof extra - n, "%srequest id %s", n ? ", " : "", e->request_id);
    return diag_set(d, err, "%s: HTTP %ld%s%s%s%s", what, e->status, detail, extra[0] ? " (" : "",
                    extra, extra[0] ? ")" : "");
}

/* ---- the client ---- */

struct s3 {
    struct s3_opts o;
    char *region, *endpoint;
    char *akid, *secret, *token;
    struct http_client *own_http;
};

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void s3_free(struct s3 *s)
{
    if (!s)
        return;
    http_client_free(s->own_http);
    free(s->region);
    free(s->endpoint);
    free(s->akid);
    wipe_free(s->secret);
    wipe_free(s->token);
    free(s);
}

/* Temporary credentials near their expiration: load them again (a client is used by one
 * thread at a time, so they can be swapped between requests). */
static int fresh_creds(struct s3 *s, struct diag *d)
{
    if (!s->o.creds_expiration_ms ||
        s->o.creds_expiration_ms - clock_wall_ms() > AWS_CREDS_REFRESH_MS)
        return ERR_OK;
    struct aws_creds c;
    int err = aws_creds_load(&c, d);
    char *akid = NULL, *secret = NULL, *token = NULL;
    if (!err && (!(akid = strdup(c.access_key_id)) || !(secret = strdup(c.secret_access_key)) ||
                 (c.session_token[0] && !(token = strdup(c.session_token)))))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (err) {
        free(akid);
        wipe_free(secret);
        wipe_free(token);
        aws_creds_release(&c);
        return diag_prefix(d, err, "S3: the credentials expire and cannot be refreshed");
    }
    free(s->akid);
    wipe_free(s->secret);
    wipe_free(s->token);
    s->akid = akid;
    s->secret = secret;
    s->token = token;
    s->o.creds.access_key_id = akid;
    s->o.creds.secret_access_key = secret;
    s->o.creds.session_token = token;
    s->o.creds_expiration_ms = c.expiration_ms;
    aws_creds_release(&c);
    return ERR_OK;
}

static char *dup_or_null(const char *v, int *ok)
{
    if (!v)
        return NULL;
    char *p = strdup(v);
    if (!p)
        *ok = 0;
    return p;
}

int s3_new(const struct s3_opts *o, struct s3 **out, struct diag *d)
{
    if (!aws_region_valid(o->region))
        return diag_set(d, ERR_INVALID, "S3: no valid AWS region given (set AWS_REGION)");
    if (!o->creds.access_key_id || !*o->creds.access_key_id || !o->creds.secret_access_key ||
        !*o->creds.secret_access_key)
        return diag_set(d, ERR_AUTH, "S3: no AWS credentials given");
    struct aws_endpoint ep;
    int err = endpoint_of(o, &ep, d);
    if (err)
        return err;
    struct s3 *s = calloc(1, sizeof *s);
    if (!s)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int ok = 1;
    s->o = *o;
    s->region = dup_or_null(o->region, &ok);
    s->endpoint = dup_or_null(o->endpoint && *o->endpoint ? o->endpoint : NULL, &ok);
    s->akid = dup_or_null(o->creds.access_key_id, &ok);
    s->secret = dup_or_null(o->creds.secret_access_key, &ok);
    s->token = dup_or_null(
        o->creds.session_token && *o->creds.session_token ? o->creds.session_token : NULL, &ok);
    if (!ok) {
        s3_free(s);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    s->o.region = s->region;
    s->o.endpoint = s->endpoint;
    s->o.creds.access_key_id = s->akid;
    s->o.creds.secret_access_key = s->secret;
    s->o.creds.session_token = s->token;
    if (!s->o.http) {
        err = http_client_new(NULL, &s->own_http, d);
        if (err) {
            s3_free(s);
            return err;
        }
        s->o.http = s->own_http;
    }
    log_add_secret(s->secret);
    log_add_secret(s->token);
    *out = s;
    return ERR_OK;
}

/* One request and what became of it. */
struct call {
    const char *op, *bucket, *key;
    struct buf *out;           /* GET: the body is appended here */
    struct s3_list_page *page; /* LIST: the parsed page */
    char etag[S3_ETAG_MAX];
    long status;
    int err;
    struct diag d;
    struct s3_error e;
};

static int accept_list(void *ctx, const struct http_response *resp, struct diag *d)
{
    struct call *c = ctx;
    return s3_parse_list(resp->body.data ? resp->body.data : "", resp->body.len, c->page, d);
}

static void on_done(void *ctx, int err, struct http_response *resp, const struct diag *hd)
{
    struct call *c = ctx;
    c->status = resp->status;
    snprintf(c->etag, sizeof c->etag, "%s", resp->etag);
    if (resp->status >= 200 && resp->status < 300 && !err) {
        c->err = ERR_OK;
        if (c->out) {
            c->err = buf_append(c->out, resp->body.data ? resp->body.data : "", resp->body.len);
            if (c->err)
                diag_set(&c->d, c->err, "S3 %s s3://%s/%s: %zu bytes, over the limit of %zu", c->op,
                         c->bucket, c->key, resp->body.len, c->out->max - c->out->len);
        }
        return;
    }
    if (resp->status >= 300) {
        s3_parse_error(resp->status, resp->body.data ? resp->body.data : "", resp->body.len,
                       resp->request_id, &c->e);
        c->err = s3_error_code(&c->e);
        s3_error_diag(c->err, c->op, c->bucket, c->key, &c->e, &c->d);
        return;
    }
    /* No answer (network, timeout, size cap) or a 2xx whose body did not parse. */
    c->err = err ? err : ERR_INTERNAL;
    diag_set(&c->d, c->err, "%s", hd && hd->text[0] ? hd->text : err_str(c->err));
    diag_prefix(&c->d, c->err, "S3 %s s3://%s/%s", c->op, c->bucket, c->key ? c->key : "");
}

struct req {
    const char *method;
    const char *key; /* NULL for a bucket-level request */
    const char *query;
    const void *body; /* non-NULL for PUT, even when empty */
    size_t body_len;
    const struct sigv4_header *extra; /* more headers, signed too */
    size_t nextra;
    size_t max_response;
    fetch_accept_fn accept;
};

/* Sign r for u: the fetch request of the result lives as long as *sig. */
static int sign_req(struct s3 *s, const struct req *r, const struct s3_url *u,
                    const char *payload_hash, const struct call *c, struct aws_signed **sig,
                    struct diag *d)
{
    struct aws_endpoint ep = {.custom = 1};
    snprintf(ep.scheme, sizeof ep.scheme, "%s", u->scheme);
    snprintf(ep.host, sizeof ep.host, "%s", u->host);
    struct aws_request ar = {
        .method = r->method,
        .endpoint = &ep,
        .path = buf_cstr(&u->path),
        .query = r->query,
        .headers = r->extra,
        .nheaders = r->nextra,
        .body = r->body,
        .body_len = r->body_len,
        .payload_hash = payload_hash,
    };
    struct sigv4_params p = {
        .region = s->o.region,
        .service = "s3",
        .time_s = clock_wall_ms() / 1000,
        .rules = SIGV4_S3,
    };
    int err = fresh_creds(s, d);
    if (!err)
        err = aws_request_sign(&ar, &p, &s->o.creds, sig, d);
    if (err)
        return diag_prefix(d, err, "S3 %s s3://%s/%s: signing", c->op, c->bucket,
                           c->key ? c->key : "");
    return ERR_OK;
}

static void fetch_opts_for(const struct s3 *s, size_t concurrency, size_t max_response,
                           struct fetch_opts *fo)
{
    fetch_opts_default(fo);
    fo->concurrency = concurrency;
    fo->max_retries = s->o.max_retries;
    fo->timeout_ms = s->o.timeout_ms;
    fo->backoff_base_ms = s->o.backoff_base_ms;
    fo->backoff_max_ms = s->o.backoff_max_ms;
    fo->max_response = max_response;
}

static int run_once(struct s3 *s, const struct req *r, const struct s3_url *u,
                    const char *payload_hash, struct call *c, struct diag *d)
{
    struct aws_signed *sig;
    int err = sign_req(s, r, u, payload_hash, c, &sig, d);
    if (err)
        return err;
    struct fetch_opts fo;
    fetch_opts_for(s, 1, r->max_response, &fo);
    struct fetch *f;
    if ((err = fetch_new(s->o.http, &fo, &f, d)) != ERR_OK) {
        aws_signed_free(sig);
        return err;
    }
    struct fetch_req fr = aws_signed_fetch_req(sig);
    fr.accept = r->accept;
    fr.done = on_done;
    fr.ctx = c;
    fr.body_borrowed = 1; /* the caller's body outlives fetch_run */
    c->err = ERR_INTERNAL;
    memset(&c->e, 0, sizeof c->e);
    diag_set(&c->d, ERR_INTERNAL, "S3 %s: the request never completed", c->op);
    err = fetch_submit(f, &fr, d);
    if (!err)
        err = fetch_run(f, d);
    fetch_free(f);
    aws_signed_free(sig);
    return err;
}

static int perform(struct s3 *s, const struct req *r, struct call *c, struct diag *d)
{
    struct s3_url u;
    s3_url_init(&u);
    int err = s3_build_url(&s->o, c->bucket, r->key, r->query, &u, d);
    if (err) {
        s3_url_release(&u);
        return err;
    }
    uint8_t h[SHA256_LEN];
    char payload_hash[2 * SHA256_LEN + 1];
    crypto_sha256(r->body ? r->body : "", r->body ? r->body_len : 0, h);
    crypto_hex(h, SHA256_LEN, payload_hash);
    uint64_t rng = (uint64_t)clock_mono_us() | 1;
    size_t out_len = c->out ? c->out->len : 0;
    for (int attempt = 1;; attempt++) {
        if (c->out)
            c->out->len = out_len;
        err = run_once(s, r, &u, payload_hash, c, d);
        if (err)
            break;
        if (c->err && s3_error_retryable(&c->e) && attempt <= s->o.max_retries) {
            int64_t wait =
                fetch_backoff_ms(s->o.backoff_base_ms, s->o.backoff_max_ms, attempt, &rng);
            log_info("S3 asked for another try, retrying", LF_STR("op", c->op),
                     LF_STR("code", c->e.code), LF_INT("attempt", attempt),
                     LF_INT("wait_ms", wait));
            clock_sleep_ms(wait);
            continue;
        }
        err = c->err;
        if (err && d)
            *d = c->d;
        break;
    }
    if (c->out && c->out->data)
        c->out->data[c->out->len] = '\0';
    s3_url_release(&u);
    return err;
}

static void copy_etag(char *etag, const struct call *c)
{
    if (etag)
        snprintf(etag, S3_ETAG_MAX, "%s", c->etag);
}

int s3_get_object(struct s3 *s, const char *bucket, const char *key, struct buf *out,
                  char etag[S3_ETAG_MAX], struct diag *d)
{
    struct call c = {.op = "GET", .bucket = bucket, .key = key, .out = out};
    /* The cap of out is checked when the object arrives; the transfer's own cap must also let
     * an error document through. */
    size_t room = out->max - out->len;
    struct req r = {
        .method = "GET", .key = key, .max_response = room > ERROR_BODY_MAX ? room : ERROR_BODY_MAX};
    int err = perform(s, &r, &c, d);
    if (!err)
        copy_etag(etag, &c);
    return err;
}

int s3_head_object(struct s3 *s, const char *bucket, const char *key, char etag[S3_ETAG_MAX],
                   struct diag *d)
{
    struct call c = {.op = "HEAD", .bucket = bucket, .key = key};
    struct req r = {.method = "HEAD", .key = key, .max_response = ERROR_BODY_MAX};
    int err = perform(s, &r, &c, d);
    if (!err)
        copy_etag(etag, &c);
    return err;
}

/* The headers of a PUT: its Content-Type and its condition. */
static int put_headers(const char *bucket, const char *key, const struct s3_put_opts *po,
                       struct sigv4_header h[2], size_t *nh, struct diag *d)
{
    *nh = 0;
    h[(*nh)++] = (struct sigv4_header){"Content-Type",
                                       po->content_type ? po->content_type : s3_content_type(key)};
    if (po->cond == S3_PUT_IF_NONE_MATCH) {
        h[(*nh)++] = (struct sigv4_header){"If-None-Match", "*"};
    } else if (po->cond == S3_PUT_IF_MATCH) {
        if (!po->if_match || !*po->if_match || strlen(po->if_match) >= S3_ETAG_MAX ||
            strpbrk(po->if_match, "\r\n"))
            return diag_set(d, ERR_USAGE, "S3 PUT s3://%s/%s: If-Match needs an ETag", bucket, key);
        h[(*nh)++] = (struct sigv4_header){"If-Match", po->if_match};
    }
    return ERR_OK;
}

int s3_put_object(struct s3 *s, const char *bucket, const char *key, const void *data, size_t len,
                  const struct s3_put_opts *po, char etag[S3_ETAG_MAX], struct diag *d)
{
    static const struct s3_put_opts plain = {S3_PUT_ALWAYS, NULL, NULL};
    if (!po)
        po = &plain;
    struct sigv4_header h[2];
    size_t nh = 0;
    int err = put_headers(bucket, key, po, h, &nh, d);
    if (err)
        return err;
    struct call c = {.op = "PUT", .bucket = bucket, .key = key};
    struct req r = {
        .method = "PUT",
        .key = key,
        .body = data ? data : "",
        .body_len = data ? len : 0,
        .extra = h,
        .nextra = nh,
        .max_response = ERROR_BODY_MAX,
    };
    err = perform(s, &r, &c, d);
    if (err == ERR_PRECONDITION && po->cond == S3_PUT_IF_NONE_MATCH)
        err = ERR_EXISTS; /* the diagnostic already says "HTTP 412 PreconditionFailed" */
    if (!err)
        copy_etag(etag, &c);
    return err;
}

int s3_delete_object(struct s3 *s, const char *bucket, const char *key, struct diag *d)
{
    struct call c = {.op = "DELETE", .bucket = bucket, .key = key};
    struct req r = {.method = "DELETE", .key = key, .max_response = ERROR_BODY_MAX};
    return perform(s, &r, &c, d);
}

int s3_list_objects(struct s3 *s, const char *bucket, const struct s3_list_opts *lo,
                    struct s3_list_page *out, struct diag *d)
{
    struct buf q = BUF_INIT(4 * (S3_KEY_MAX + S3_TOKEN_MAX) + 256);
    int err = s3_list_query(lo, &q, d);
    if (err) {
        buf_release(&q);
        return err;
    }
    char what[S3_KEY_MAX + 16];
    snprintf(what, sizeof what, "?prefix=%s", lo->prefix ? lo->prefix : "");
    struct call c = {.op = "LIST", .bucket = bucket, .key = what, .page = out};
    struct req r = {
        .method = "GET",
        .query = buf_cstr(&q),
        .max_response = S3_RESPONSE_MAX,
        .accept = accept_list,
    };
    err = perform(s, &r, &c, d);
    if (err)
        s3_list_page_release(out);
    buf_release(&q);
    return err;
}

/* ---- several requests of any kind at once ---- */

struct many_item {
    struct call c;
    struct req r;
    struct sigv4_header h[2];
    struct buf q;               /* LIST: the query */
    char what[S3_KEY_MAX + 16]; /* LIST: "?prefix=..." for messages */
    size_t out_len;             /* GET: the length of out before */
    int submitted;
};

/* Prepare and submit op i; ERR_OK or the reason it was not sent (in d). */
static int many_submit(struct s3 *s, const char *bucket, struct s3_op *op, struct many_item *it,
                       struct fetch *f, struct diag *d)
{
    char hash[2 * SHA256_LEN + 1] = SIGV4_EMPTY_SHA256;
    int err = ERR_OK;
    size_t nh = 0;
    if (op->kind == S3_OP_HEAD) {
        it->c = (struct call){.op = "HEAD", .bucket = bucket, .key = op->key};
        it->r = (struct req){.method = "HEAD", .key = op->key};
    } else if (op->kind == S3_OP_GET) {
        it->out_len = op->out->len;
        it->c = (struct call){.op = "GET", .bucket = bucket, .key = op->key, .out = op->out};
        it->r = (struct req){.method = "GET", .key = op->key};
    } else if (op->kind == S3_OP_PUT) {
        err = put_headers(bucket, op->key, &op->po, it->h, &nh, d);
        it->c = (struct call){.op = "PUT", .bucket = bucket, .key = op->key};
        it->r = (struct req){.method = "PUT",
                             .key = op->key,
                             .body = op->data ? op->data : "",
                             .body_len = op->data ? op->len : 0,
                             .extra = it->h,
                             .nextra = nh};
        uint8_t h[SHA256_LEN];
        crypto_sha256(it->r.body, it->r.body_len, h);
        crypto_hex(h, SHA256_LEN, hash);
    } else {
        buf_init(&it->q, 4 * (S3_KEY_MAX + S3_TOKEN_MAX) + 256);
        err = s3_list_query(&op->lo, &it->q, d);
        snprintf(it->what, sizeof it->what, "?prefix=%s", op->lo.prefix ? op->lo.prefix : "");
        it->c = (struct call){.op = "LIST", .bucket = bucket, .key = it->what, .page = op->page};
        it->r = (struct req){.method = "GET", .query = buf_cstr(&it->q), .accept = accept_list};
    }
    if (err)
        return err;
    it->c.err = ERR_INTERNAL;
    diag_set(&it->c.d, ERR_INTERNAL, "S3 %s: the request never completed", it->c.op);
    struct s3_url u;
    s3_url_init(&u);
    struct aws_signed *sig = NULL;
    err = s3_build_url(&s->o, bucket, it->r.key, it->r.query, &u, d);
    if (!err)
        err = sign_req(s, &it->r, &u, hash, &it->c, &sig, d);
    if (!err) {
        struct fetch_req fr = aws_signed_fetch_req(sig);
        fr.accept = it->r.accept;
        fr.done = on_done;
        fr.ctx = &it->c;
        fr.body_borrowed = 1; /* the op's data outlives s3_many's fetch_run */
        err = fetch_submit(f, &fr, d);
    }
    aws_signed_free(sig);
    s3_url_release(&u);
    it->submitted = !err;
    return err;
}

/* What became of op: the answer, or the request again on its own when S3 asked for another
 * try after a pause (as the single requests do). */
static void many_finish(struct s3 *s, const char *bucket, struct s3_op *op, struct many_item *it)
{
    struct call *c = &it->c;
    if (c->err && s3_error_retryable(&c->e)) {
        struct diag d = {{0}};
        if (op->kind == S3_OP_HEAD) {
            op->err = s3_head_object(s, bucket, op->key, op->etag, &d);
        } else if (op->kind == S3_OP_GET) {
            op->out->len = it->out_len;
            op->err = s3_get_object(s, bucket, op->key, op->out, op->etag, &d);
        } else if (op->kind == S3_OP_PUT) {
            op->err = s3_put_object(s, bucket, op->key, op->data, op->len, &op->po, op->etag, &d);
        } else {
            op->err = s3_list_objects(s, bucket, &op->lo, op->page, &d);
        }
        op->d = d;
        return;
    }
    op->err = c->err;
    if (op->err)
        op->d = c->d;
    if (op->kind == S3_OP_GET) {
        if (op->err)
            op->out->len = it->out_len;
        if (op->out->data)
            op->out->data[op->out->len] = '\0';
    } else if (op->kind == S3_OP_PUT) {
        if (op->err == ERR_PRECONDITION && op->po.cond == S3_PUT_IF_NONE_MATCH)
            op->err = ERR_EXISTS; /* the diagnostic already says "HTTP 412 PreconditionFailed" */
    } else if (op->kind == S3_OP_LIST && op->err) {
        s3_list_page_release(op->page);
    }
    if (!op->err)
        copy_etag(op->etag, c);
}

int s3_many(struct s3 *s, const char *bucket, struct s3_op *ops, size_t n, size_t window,
            struct diag *d)
{
    if (n == 0)
        return ERR_OK;
    struct many_item *items = calloc(n, sizeof *items);
    if (!items)
        return diag_set(d, ERR_NOMEM, "out of memory");
    size_t max_response = ERROR_BODY_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t want = ops[i].kind == S3_OP_LIST  ? S3_RESPONSE_MAX
                      : ops[i].kind == S3_OP_GET ? ops[i].out->max - ops[i].out->len
                                                 : 0;
        if (want > max_response)
            max_response = want;
    }
    struct fetch_opts fo;
    fetch_opts_for(s, window ? window : S3_GET_WINDOW, max_response, &fo);
    struct fetch *f = NULL;
    struct diag rd = {{0}};
    int err = fetch_new(s->o.http, &fo, &f, &rd);
    for (size_t i = 0; i < n; i++) {
        ops[i].err = ERR_OK;
        ops[i].etag[0] = '\0';
        memset(&ops[i].d, 0, sizeof ops[i].d);
        if (err)
            ops[i].err = err, ops[i].d = rd;
        else if ((ops[i].err = many_submit(s, bucket, &ops[i], &items[i], f, &ops[i].d)) != ERR_OK)
            diag_prefix(&ops[i].d, ops[i].err, "S3 %s s3://%s/%s",
                        items[i].c.op ? items[i].c.op : "", bucket, ops[i].key ? ops[i].key : "");
    }
    if (!err && (err = fetch_run(f, &rd)) != ERR_OK) {
        for (size_t i = 0; i < n; i++)
            if (items[i].submitted)
                items[i].c.err = err, items[i].c.d = rd,
                memset(&items[i].c.e, 0, sizeof items[i].c.e);
    }
    fetch_free(f);
    int first = ERR_OK;
    for (size_t i = 0; i < n; i++) {
        if (items[i].submitted)
            many_finish(s, bucket, &ops[i], &items[i]);
        if (ops[i].kind == S3_OP_LIST)
            buf_release(&items[i].q);
        if (ops[i].err && !first) {
            first = ops[i].err;
            if (d)
                *d = ops[i].d;
        }
    }
    free(items);
    return first;
}

/* ---- many GETs at once ---- */

struct slot {
    struct get_batch *b;
    size_t i;
    int done;
    struct call c;
    struct buf body;
};

struct get_batch {
    struct s3 *s;
    const char *bucket;
    const char *const *keys;
    size_t n, window, max_object;
    s3_object_fn fn;
    void *ctx;
    struct fetch *f;
    struct slot *slots; /* window of them: key i is in slots[i % window] */
    size_t next_submit, next_deliver;
    /* In batch_deliver: a GET retried there runs the client's loop, which completes other
     * transfers of the batch; their batch_done must not deliver (the same object twice). */
    int delivering;
    int err;
    struct diag d;
};

static void batch_fail(struct get_batch *b, int err, const struct diag *d)
{
    if (b->err)
        return;
    b->err = err;
    b->d = *d;
    fetch_stop(b->f);
}

static void batch_done(void *ctx, int err, struct http_response *resp, const struct diag *hd);

static int batch_submit(struct get_batch *b)
{
    while (!b->err && b->next_submit < b->n && b->next_submit < b->next_deliver + b->window) {
        size_t i = b->next_submit;
        struct slot *sl = &b->slots[i % b->window];
        buf_reset(&sl->body);
        sl->i = i;
        sl->done = 0;
        memset(&sl->c, 0, sizeof sl->c);
        sl->c =
            (struct call){.op = "GET", .bucket = b->bucket, .key = b->keys[i], .out = &sl->body};
        sl->c.err = ERR_INTERNAL;
        diag_set(&sl->c.d, ERR_INTERNAL, "S3 GET: the request never completed");
        struct req r = {.method = "GET", .key = b->keys[i]};
        struct s3_url u;
        s3_url_init(&u);
        struct diag d = {{0}};
        struct aws_signed *sig = NULL;
        int err = s3_build_url(&b->s->o, b->bucket, b->keys[i], NULL, &u, &d);
        if (!err)
            err = sign_req(b->s, &r, &u, SIGV4_EMPTY_SHA256, &sl->c, &sig, &d);
        if (!err) {
            struct fetch_req fr = aws_signed_fetch_req(sig);
            fr.done = batch_done;
            fr.ctx = sl;
            err = fetch_submit(b->f, &fr, &d);
        }
        aws_signed_free(sig);
        s3_url_release(&u);
        if (err) {
            batch_fail(b, err, &d);
            return err;
        }
        b->next_submit++;
    }
    return b->err;
}

/* Hand the objects that arrived to fn in key order, then fill the window again. */
static void batch_deliver(struct get_batch *b)
{
    if (b->delivering)
        return; /* the call below on the stack delivers what arrived, in order */
    b->delivering = 1;
    while (!b->err && b->next_deliver < b->next_submit) {
        struct slot *sl = &b->slots[b->next_deliver % b->window];
        if (!sl->done)
            break;
        struct diag d = {{0}};
        int err = sl->c.err;
        if (err && s3_error_retryable(&sl->c.e)) {
            /* What S3 asks to try again after a pause: once more, on its own. */
            buf_reset(&sl->body);
            err = s3_get_object(b->s, b->bucket, b->keys[sl->i], &sl->body, NULL, &d);
        } else if (err) {
            d = sl->c.d;
        }
        char empty[1] = "";
        if (!err)
            err = b->fn(b->ctx, sl->i, sl->body.data ? sl->body.data : empty, sl->body.len, &d);
        if (err) {
            batch_fail(b, err, &d);
            b->delivering = 0;
            return;
        }
        buf_reset(&sl->body);
        b->next_deliver++;
        /* The slot is free: its next GET goes out before the next object is handed on, so
         * that the store is not left idle while fn works on the objects that came together. */
        if (b->next_deliver < b->next_submit && b->slots[b->next_deliver % b->window].done &&
            batch_submit(b) == ERR_OK) {
            struct diag kd = {{0}};
            int kerr = fetch_kick(b->f, &kd);
            if (kerr)
                batch_fail(b, kerr, &kd);
        }
    }
    b->delivering = 0;
    batch_submit(b);
}

static void batch_done(void *ctx, int err, struct http_response *resp, const struct diag *hd)
{
    struct slot *sl = ctx;
    on_done(&sl->c, err, resp, hd);
    if (sl->c.out && sl->c.out->data)
        sl->c.out->data[sl->c.out->len] = '\0';
    sl->done = 1;
    batch_deliver(sl->b);
}

int s3_get_objects(struct s3 *s, const char *bucket, const char *const *keys, size_t n,
                   size_t window, size_t max_object, s3_object_fn fn, void *ctx, struct diag *d)
{
    if (n == 0)
        return ERR_OK;
    if (window == 0)
        window = S3_GET_WINDOW;
    if (window > n)
        window = n;
    struct get_batch b = {
        .s = s,
        .bucket = bucket,
        .keys = keys,
        .n = n,
        .window = window,
        .max_object = max_object,
        .fn = fn,
        .ctx = ctx,
    };
    b.slots = calloc(window, sizeof *b.slots);
    if (!b.slots)
        return diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < window; k++) {
        b.slots[k].b = &b;
        buf_init(&b.slots[k].body, max_object);
    }
    struct fetch_opts fo;
    fetch_opts_for(s, window, max_object > ERROR_BODY_MAX ? max_object : ERROR_BODY_MAX, &fo);
    int err = fetch_new(s->o.http, &fo, &b.f, d);
    if (!err) {
        batch_submit(&b);
        struct diag rd = {{0}};
        if ((err = fetch_run(b.f, &rd)) != ERR_OK)
            batch_fail(&b, err, &rd);
        if (!b.err && b.next_deliver < n) {
            diag_set(&rd, ERR_INTERNAL, "S3 GET s3://%s: %zu of %zu objects never came", bucket,
                     n - b.next_deliver, n);
            batch_fail(&b, ERR_INTERNAL, &rd);
        }
        err = b.err;
        if (err && d)
            *d = b.d;
        fetch_free(b.f);
    }
    for (size_t k = 0; k < window; k++)
        buf_release(&b.slots[k].body);
    free(b.slots);
    return err;
}

int s3_presign_get(struct s3 *s, const char *bucket, const char *key, int64_t expires_s,
                   int64_t now_s, struct buf *out, struct diag *d)
{
    if (expires_s == 0)
        expires_s = S3_PRESIGN_DEFAULT_S;
    if (expires_s < 1 || expires_s > SIGV4_EXPIRES_MAX)
        return diag_set(d, ERR_INVALID,
                        "a presigned URL is valid for 1 to %d seconds (7 days), not %lld",
                        SIGV4_EXPIRES_MAX, (long long)expires_s);
    struct s3_url u;
    s3_url_init(&u);
    int err = s3_build_url(&s->o, bucket, key, NULL, &u, d);
    if (err) {
        s3_url_release(&u);
        return err;
    }
    struct sigv4_header h = {"Host", u.host};
    struct sigv4_request sr = {
        .method = "GET",
        .path = buf_cstr(&u.path),
        .query = "",
        .headers = &h,
        .nheaders = 1,
        .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
    };
    struct sigv4_params p = {
        .region = s->o.region,
        .service = "s3",
        .time_s = now_s ? now_s : clock_wall_ms() / 1000,
        .rules = SIGV4_S3,
        .expires_s = expires_s,
    };
    struct buf q = BUF_INIT(16384);
    err = fresh_creds(s, d);
    if (!err)
        err = sigv4_presign_query(&sr, &p, &s->o.creds, &q, d);
    if (!err && buf_printf(out, "%s?%s", buf_cstr(&u.url), buf_cstr(&q)) != ERR_OK)
        err = diag_set(d, ERR_TOOBIG, "the presigned URL for s3://%s/%s is too long", bucket, key);
    buf_release(&q);
    s3_url_release(&u);
    return err;
}

int64_t s3_link_limit_ms(const struct s3 *s)
{
    if (s->o.creds_expiration_ms)
        return s->o.creds_expiration_ms;
    return s->o.creds.session_token && s->o.creds.session_token[0] ? -1 : 0;
}
