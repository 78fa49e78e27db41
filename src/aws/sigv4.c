#include "aws/sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/date.h"
#include "codec/crypto.h"

#include "base/banned.h"

#define ALGORITHM  "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
/* Cap on the buffers built here: a canonical request this large means a caller bug. */
#define WORK_MAX ((size_t)8 << 20)
/* Longest payload hash accepted: 64 hex digits, or a name such as UNSIGNED-PAYLOAD. */
#define PAYLOAD_MAX 64

/* ASCII only, whatever the locale. */
static int is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int to_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* A "%XX" escape at s[i]. */
static int is_escape(const char *s, size_t i, size_t n)
{
    return s[i] == '%' && crypto_hex_byte(s + i + 1, n - i - 1) >= 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int append_escape(struct buf *out, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    return buf_append(out, e, sizeof e);
}

int sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (is_unreserved((unsigned char)s[run]) || (keep_slash && s[run] == '/')))
            run++;
        int err = buf_append(out, s + i, run - i);
        if (err == ERR_OK && run < n)
            err = append_escape(out, (unsigned char)s[run++]);
        if (err != ERR_OK)
            return err;
        i = run;
    }
    return ERR_OK;
}

static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

void sigv4_amz_date(int64_t time_s, char out[17])
{
    if (time_s < 0)
        time_s = 0;
    if (time_s > SIGV4_TIME_MAX)
        time_s = SIGV4_TIME_MAX;
    int y, m, d;
    date_to_ymd((int32_t)(time_s / 86400), &y, &m, &d);
    unsigned sec = (unsigned)(time_s % 86400);
    put_digits(out, (unsigned)y, 4);
    put_digits(out + 4, (unsigned)m, 2);
    put_digits(out + 6, (unsigned)d, 2);
    out[8] = 'T';
    put_digits(out + 9, sec / 3600, 2);
    put_digits(out + 11, sec / 60 % 60, 2);
    put_digits(out + 13, sec % 60, 2);
    out[15] = 'Z';
    out[16] = '\0';
}

/* ---- input checks: the diagnostics name what is wrong, never a secret's value ---- */

/* Region, service and access key id go into the credential scope, between '/'. */
static int scope_part_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == ';' || c == '=')
            return 0;
    }
    return 1;
}

/* RFC 9110 token characters, for methods and header names. */
static int token_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!is_alnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
            return 0;
    }
    return 1;
}

static int no_controls(const char *s, int allow_folding)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < ' ' && !(allow_folding && is_space((char)c))) || c == 0x7f)
            return 0;
    }
    return 1;
}

static int has_token(const struct sigv4_creds *c)
{
    return c->session_token && c->session_token[0];
}

static int check_params(const struct sigv4_params *p, struct diag *d)
{
    if (!p)
        return diag_set(d, ERR_INVALID, "sigv4: no signing parameters");
    if (!scope_part_ok(p->region))
        return diag_set(d, ERR_INVALID,
                        "sigv4: the region is empty or has characters a "
                        "credential scope cannot hold");
    if (!scope_part_ok(p->service))
        return diag_set(d, ERR_INVALID,
                        "sigv4: the service name is empty or has characters a "
                        "credential scope cannot hold");
    if (p->time_s < 0 || p->time_s > SIGV4_TIME_MAX)
        return diag_set(d, ERR_INVALID, "sigv4: signing time %lld is outside 1970..9999",
                        (long long)p->time_s);
    return ERR_OK;
}

static int find_header(const struct sigv4_request *r, const char *lname)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, lname) == 0)
            return (int)i;
    return -1;
}

static int check_inputs(const struct sigv4_request *r, const struct sigv4_params *p,
                        const struct sigv4_creds *c, int presign, struct diag *d)
{
    int err = check_params(p, d);
    if (err != ERR_OK)
        return err;
    if (!r || !c)
        return diag_set(d, ERR_INVALID, "sigv4: no request or no credentials");
    if (!token_ok(r->method))
        return diag_set(d, ERR_INVALID, "sigv4: the method is empty or not an HTTP token");
    if (r->path && r->path[0] && r->path[0] != '/')
        return diag_set(d, ERR_INVALID, "sigv4: the path does not start with '/'");
    if ((r->path && !no_controls(r->path, 0)) || (r->query && !no_controls(r->query, 0)))
        return diag_set(d, ERR_INVALID, "sigv4: the path or query has a control character");
    if (!scope_part_ok(c->access_key_id))
        return diag_set(d, ERR_INVALID,
                        "sigv4: the access key id is empty or has characters a "
                        "credential scope cannot hold");
    if (!c->secret_access_key || !c->secret_access_key[0])
        return diag_set(d, ERR_INVALID, "sigv4: the secret access key is empty");
    if (strlen(c->secret_access_key) > SIGV4_SECRET_MAX)
        return diag_set(d, ERR_INVALID, "sigv4: the secret access key is longer than %d bytes",
                        SIGV4_SECRET_MAX);
    if (has_token(c) && !no_controls(c->session_token, 0))
        return diag_set(d, ERR_INVALID, "sigv4: the session token has a control character");
    if (presign && (p->expires_s < 1 || p->expires_s > SIGV4_EXPIRES_MAX))
        return diag_set(d, ERR_INVALID, "sigv4: expiry %lld s is outside 1..%d",
                        (long long)p->expires_s, SIGV4_EXPIRES_MAX);
    if (r->nheaders && !r->headers)
        return diag_set(d, ERR_INVALID, "sigv4: %zu headers but no array", r->nheaders);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct sigv4_header *h = &r->headers[i];
        if (!token_ok(h->name))
            return diag_set(d, ERR_INVALID, "sigv4: header %zu has an empty or invalid name", i);
        if (!h->value || !no_controls(h->value, 1))
            return diag_set(d, ERR_INVALID,
                            "sigv4: header '%s' has no value or a control "
                            "character in it",
                            h->name);
    }
    if (find_header(r, "host") < 0)
        return diag_set(d, ERR_INVALID, "sigv4: the request has no Host header");
    if (r->payload_hash) {
        size_t n = strlen(r->payload_hash);
        if (n == 0 || n > PAYLOAD_MAX || !token_ok(r->payload_hash))
            return diag_set(d, ERR_INVALID,
                            "sigv4: the payload hash is not a hex SHA-256 or a "
                            "name such as UNSIGNED-PAYLOAD");
    }
    if (r->body_len && !r->body)
        return diag_set(d, ERR_INVALID, "sigv4: a body length but no body");
    return ERR_OK;
}

/* ---- headers ---- */

struct hentry {
    const char *name;
    const char *value;
    size_t order; /* duplicates keep the order they came in */
};

static void hentry_push(struct hentry *h, size_t *n, const char *name, const char *value)
{
    h[*n] = (struct hentry){name, value, *n};
    ++*n;
}

static int lower_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = to_lower((unsigned char)*a), cb = to_lower((unsigned char)*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

static int hentry_cmp(const void *pa, const void *pb)
{
    const struct hentry *a = pa, *b = pb;
    int c = lower_cmp(a->name, b->name);
    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int put_lower(struct buf *out, const char *s)
{
    int err = ERR_OK;
    for (; *s && err == ERR_OK; s++)
        err = buf_putc(out, (char)to_lower((unsigned char)*s));
    return err;
}

/* Trimmed, every run of white space (a folded line included) as one space. */
static int put_header_value(struct buf *out, const char *v)
{
    while (is_space(*v))
        v++;
    int err = ERR_OK;
    while (*v && err == ERR_OK) {
        const char *end = v;
        while (*end && !is_space(*end))
            end++;
        err = buf_append(out, v, (size_t)(end - v));
        while (is_space(*end))
            end++;
        if (*end && err == ERR_OK)
            err = buf_putc(out, ' ');
        v = end;
    }
    return err;
}

/* "name:value\n" lines (duplicates joined with ',') into lines, "a;b;c" into list. */
static int canonical_headers(struct hentry *h, size_t n, struct buf *lines, struct buf *list)
{
    qsort(h, n, sizeof *h, hentry_cmp);
    int err = ERR_OK;
    for (size_t i = 0; i < n && err == ERR_OK;) {
        size_t j = i;
        if (list->len)
            err = buf_putc(list, ';');
        if (err == ERR_OK)
            err = put_lower(list, h[i].name);
        if (err == ERR_OK)
            err = put_lower(lines, h[i].name);
        if (err == ERR_OK)
            err = buf_putc(lines, ':');
        for (; j < n && err == ERR_OK && lower_cmp(h[j].name, h[i].name) == 0; j++) {
            if (j > i)
                err = buf_putc(lines, ',');
            if (err == ERR_OK)
                err = put_header_value(lines, h[j].value);
        }
        if (err == ERR_OK)
            err = buf_putc(lines, '\n');
        i = j;
    }
    return err;
}

/* ---- path ---- */

/* Segments without "", "." and "..", one leading '/', the trailing '/' kept. */
static int normalise_path(struct buf *out, const char *path)
{
    size_t n = strlen(path);
    size_t nseg = 0;
    for (size_t i = 0; i < n; i++)
        nseg += path[i] == '/';
    struct seg {
        const char *s;
        size_t len;
    } *segs = calloc(nseg + 1, sizeof *segs);
    if (!segs)
        return ERR_NOMEM;
    size_t top = 0;
    for (const char *s = path; s < path + n;) {
        const char *e = memchr(s, '/', (size_t)(path + n - s));
        if (!e)
            e = path + n;
        size_t len = (size_t)(e - s);
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (top)
                top--;
        } else if (len && !(len == 1 && s[0] == '.')) {
            segs[top].s = s;
            segs[top].len = len;
            top++;
        }
        s = e + 1;
    }
    int err = buf_putc(out, '/');
    for (size_t i = 0; i < top && err == ERR_OK; i++) {
        err = buf_append(out, segs[i].s, segs[i].len);
        if (err == ERR_OK && (i + 1 < top || path[n - 1] == '/'))
            err = buf_putc(out, '/');
    }
    free(segs);
    return err;
}

static int canonical_uri(const struct sigv4_request *r, const struct sigv4_params *p,
                         struct buf *out)
{
    const char *path = r->path && r->path[0] ? r->path : "/";
    size_t n = strlen(path);
    if (p->rules == SIGV4_S3) {
        /* As sent: escapes stay, anything else outside the unreserved set is escaped once. */
        int err = ERR_OK;
        for (size_t i = 0; i < n && err == ERR_OK; i++) {
            unsigned char c = (unsigned char)path[i];
            if (is_unreserved(c) || c == '/')
                err = buf_putc(out, (char)c);
            else if (is_escape(path, i, n)) {
                err = buf_append(out, path + i, 3);
                i += 2;
            } else {
                err = append_escape(out, c);
            }
        }
        return err;
    }
    if (p->keep_path)
        return sigv4_uri_encode(out, path, n, 1);
    struct buf norm = BUF_INIT(WORK_MAX);
    int err = normalise_path(&norm, path);
    if (err == ERR_OK)
        err = sigv4_uri_encode(out, norm.data, norm.len, 1);
    buf_release(&norm);
    return err;
}

/* ---- query ---- */

struct qparam {
    size_t key, key_len, val, val_len; /* offsets into the arena while it grows */
    const char *k, *v;                 /* pointers once it is complete */
};

struct query {
    struct qparam *v;
    size_t n, cap;
    struct buf arena;  /* the encoded names and values */
    struct buf dk, dv; /* a decoded name and value */
};

static int decode_into(struct buf *out, const char *s, size_t n)
{
    buf_reset(out);
    int err = ERR_OK;
    for (size_t i = 0; i < n && err == ERR_OK; i++) {
        if (is_escape(s, i, n)) {
            int c = crypto_hex_byte(s + i + 1, n - i - 1);
            err = buf_putc(out, (char)c);
            i += 2;
        } else {
            err = buf_putc(out, s[i]);
        }
    }
    return err;
}

/* Add one parameter given its decoded name and value. */
static int query_add_raw(struct query *q, const char *k, size_t klen, const char *v, size_t vlen)
{
    if (q->n == q->cap)
        return ERR_INTERNAL;
    struct qparam *e = &q->v[q->n];
    e->key = q->arena.len;
    int err = sigv4_uri_encode(&q->arena, k, klen, 0);
    e->key_len = q->arena.len - e->key;
    e->val = q->arena.len;
    if (err == ERR_OK)
        err = sigv4_uri_encode(&q->arena, v, vlen, 0);
    e->val_len = q->arena.len - e->val;
    if (err == ERR_OK)
        q->n++;
    return err;
}

/* Add one parameter as it came on the wire (percent-encoded or not). */
static int query_add_wire(struct query *q, const char *k, size_t klen, const char *v, size_t vlen)
{
    int err = decode_into(&q->dk, k, klen);
    if (err == ERR_OK)
        err = decode_into(&q->dv, v, vlen);
    if (err == ERR_OK)
        err = query_add_raw(q, buf_cstr(&q->dk), q->dk.len, buf_cstr(&q->dv), q->dv.len);
    return err;
}

static int qparam_cmp(const void *pa, const void *pb)
{
    const struct qparam *a = pa, *b = pb;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->k, b->k, n);
    if (c)
        return c;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    n = a->val_len < b->val_len ? a->val_len : b->val_len;
    c = memcmp(a->v, b->v, n);
    if (c)
        return c;
    return a->val_len < b->val_len ? -1 : a->val_len > b->val_len;
}

static const char *const presign_names[] = {
    "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* Parse the request's query into q (room for extra more parameters). */
static int query_parse(struct query *q, const char *query, size_t extra, int presign,
                       struct diag *d)
{
    size_t n = strlen(query), count = 1;
    for (size_t i = 0; i < n; i++)
        count += query[i] == '&';
    q->cap = count + extra;
    q->v = calloc(q->cap, sizeof *q->v);
    if (!q->v)
        return ERR_NOMEM;
    for (const char *s = query; s < query + n;) {
        const char *e = memchr(s, '&', (size_t)(query + n - s));
        if (!e)
            e = query + n;
        if (e > s) {
            const char *eq = memchr(s, '=', (size_t)(e - s));
            const char *kend = eq ? eq : e;
            const char *v = eq ? eq + 1 : e;
            int err = query_add_wire(q, s, (size_t)(kend - s), v, (size_t)(e - v));
            if (err != ERR_OK)
                return diag_set(d, err, "sigv4: the query is too long to sign");
            if (presign) {
                const struct qparam *last = &q->v[q->n - 1];
                for (size_t i = 0; i < sizeof presign_names / sizeof *presign_names; i++)
                    if (last->key_len == strlen(presign_names[i]) &&
                        strncasecmp(q->arena.data + last->key, presign_names[i], last->key_len) ==
                            0)
                        return diag_set(d, ERR_INVALID,
                                        "sigv4: cannot presign a query that already has %s",
                                        presign_names[i]);
            }
        }
        s = e + 1;
    }
    return ERR_OK;
}

/* Sort and write "k=v&k=v" into out. */
static int query_write(struct query *q, struct buf *out)
{
    for (size_t i = 0; i < q->n; i++) {
        q->v[i].k = q->arena.data + q->v[i].key;
        q->v[i].v = q->arena.data + q->v[i].val;
    }
    if (q->n > 1)
        qsort(q->v, q->n, sizeof *q->v, qparam_cmp);
    int err = ERR_OK;
    for (size_t i = 0; i < q->n && err == ERR_OK; i++) {
        if (i)
            err = buf_putc(out, '&');
        if (err == ERR_OK)
            err = buf_append(out, q->v[i].k, q->v[i].key_len);
        if (err == ERR_OK)
            err = buf_putc(out, '=');
        if (err == ERR_OK)
            err = buf_append(out, q->v[i].v, q->v[i].val_len);
    }
    return err;
}

static void query_release(struct query *q)
{
    free(q->v);
    buf_release(&q->arena);
    buf_release(&q->dk);
    buf_release(&q->dv);
}

/* ---- the canonical request ---- */

/* What building the canonical request decided, for the signing functions. */
struct canon {
    char amz_date[17];
    char payload[PAYLOAD_MAX + 1];
    int add_date, add_token, add_sha;
    struct buf signed_headers;
    struct buf query; /* the canonical query string */
};

static void canon_release(struct canon *k)
{
    buf_release(&k->signed_headers);
    buf_release(&k->query);
}

static int header_value_is(const char *value, const char *want)
{
    struct buf v = BUF_INIT(WORK_MAX);
    int same = put_header_value(&v, value) == ERR_OK && strcmp(buf_cstr(&v), want) == 0;
    buf_release(&v);
    return same;
}

static int payload_hash(const struct sigv4_request *r, const struct sigv4_params *p, int presign,
                        char out[PAYLOAD_MAX + 1], struct diag *d)
{
    int h = find_header(r, "x-amz-content-sha256");
    if (h >= 0) {
        struct buf v = BUF_INIT(PAYLOAD_MAX);
        int err = put_header_value(&v, r->headers[h].value);
        int ok = err == ERR_OK && v.len > 0 && token_ok(v.data);
        if (ok)
            memcpy(out, v.data, v.len + 1);
        buf_release(&v);
        if (!ok)
            return diag_set(d, ERR_INVALID,
                            "sigv4: the request's x-amz-content-sha256 is not a "
                            "hex SHA-256 or a name such as UNSIGNED-PAYLOAD");
        if (r->payload_hash && strcmp(r->payload_hash, out) != 0)
            return diag_set(d, ERR_INVALID,
                            "sigv4: the request's x-amz-content-sha256 '%s' "
                            "differs from the payload hash '%s'",
                            out, r->payload_hash);
        return ERR_OK;
    }
    if (r->payload_hash) {
        snprintf(out, PAYLOAD_MAX + 1, "%s", r->payload_hash);
    } else if (presign && p->rules == SIGV4_S3) {
        snprintf(out, PAYLOAD_MAX + 1, "%s", SIGV4_UNSIGNED_PAYLOAD);
    } else {
        uint8_t sum[SHA256_LEN];
        crypto_sha256(r->body_len ? r->body : "", r->body_len, sum);
        crypto_hex(sum, sizeof sum, out);
    }
    return ERR_OK;
}

static int build_canonical(const struct sigv4_request *r, const struct sigv4_params *p,
                           const struct sigv4_creds *c, int presign, struct canon *k,
                           struct buf *out, struct diag *d)
{
    memset(k, 0, sizeof *k);
    buf_init(&k->signed_headers, WORK_MAX);
    buf_init(&k->query, WORK_MAX);
    int err = check_inputs(r, p, c, presign, d);
    if (err != ERR_OK)
        return err;
    sigv4_amz_date(p->time_s, k->amz_date);
    err = payload_hash(r, p, presign, k->payload, d);
    if (err != ERR_OK)
        return err;

    struct hentry *h = calloc(r->nheaders + 3, sizeof *h);
    struct query q = {
        .arena = BUF_INIT(WORK_MAX), .dk = BUF_INIT(WORK_MAX), .dv = BUF_INIT(WORK_MAX)};
    struct buf lines = BUF_INIT(WORK_MAX);
    struct buf tmp = BUF_INIT(WORK_MAX);
    if (!h) {
        err = diag_set(d, ERR_NOMEM, "sigv4: %s", err_str(ERR_NOMEM));
        goto out;
    }
    size_t nh = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        hentry_push(h, &nh, r->headers[i].name, r->headers[i].value);
    if (!presign) {
        int date = find_header(r, "x-amz-date");
        if (date >= 0 && !header_value_is(r->headers[date].value, k->amz_date)) {
            err = diag_set(d, ERR_INVALID,
                           "sigv4: the request's X-Amz-Date differs from the signing time %s",
                           k->amz_date);
            goto out;
        }
        k->add_date = date < 0;
        k->add_token = has_token(c) && find_header(r, "x-amz-security-token") < 0;
        k->add_sha = (p->rules == SIGV4_S3 || p->add_content_sha256) &&
                     find_header(r, "x-amz-content-sha256") < 0;
        if (k->add_date)
            hentry_push(h, &nh, "x-amz-date", k->amz_date);
        if (k->add_token && !p->omit_session_token)
            hentry_push(h, &nh, "x-amz-security-token", c->session_token);
        if (k->add_sha)
            hentry_push(h, &nh, "x-amz-content-sha256", k->payload);
    } else {
        k->add_token = has_token(c);
    }
    err = canonical_headers(h, nh, &lines, &k->signed_headers);
    if (err != ERR_OK) {
        err = diag_set(d, err, "sigv4: the headers are too long to sign");
        goto out;
    }

    err = query_parse(&q, r->query ? r->query : "", presign ? 6 : 0, presign, d);
    if (err != ERR_OK)
        goto out;
    if (presign) {
        err = buf_printf(&tmp, "%s/%.8s/%s/%s/" TERMINATOR, c->access_key_id, k->amz_date,
                         p->region, p->service);
        char expires[24];
        snprintf(expires, sizeof expires, "%lld", (long long)p->expires_s);
        struct {
            const char *name, *value;
            size_t len;
        } add[] = {
            {"X-Amz-Algorithm", ALGORITHM, strlen(ALGORITHM)},
            {"X-Amz-Credential", buf_cstr(&tmp), tmp.len},
            {"X-Amz-Date", k->amz_date, strlen(k->amz_date)},
            {"X-Amz-Expires", expires, strlen(expires)},
            {"X-Amz-SignedHeaders", k->signed_headers.data, k->signed_headers.len},
            {"X-Amz-Security-Token", c->session_token, has_token(c) ? strlen(c->session_token) : 0},
        };
        size_t nadd = sizeof add / sizeof *add;
        if (!k->add_token || p->omit_session_token)
            nadd--;
        for (size_t i = 0; i < nadd && err == ERR_OK; i++)
            err = query_add_raw(&q, add[i].name, strlen(add[i].name), add[i].value, add[i].len);
    }
    if (err == ERR_OK)
        err = query_write(&q, &k->query);
    if (err != ERR_OK) {
        err = diag_set(d, err, "sigv4: the query is too long to sign");
        goto out;
    }

    buf_reset(&tmp);
    err = canonical_uri(r, p, &tmp);
    if (err == ERR_OK)
        err = buf_printf(out, "%s\n%s\n%s\n%s\n%s\n%s", r->method, buf_cstr(&tmp),
                         buf_cstr(&k->query), buf_cstr(&lines), buf_cstr(&k->signed_headers),
                         k->payload);
    if (err != ERR_OK)
        err = diag_set(d, err, "sigv4: the canonical request is too long");
out:
    free(h);
    query_release(&q);
    buf_release(&lines);
    buf_release(&tmp);
    return err;
}

int sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_params *p,
                            const struct sigv4_creds *c, struct buf *out, struct diag *d)
{
    struct canon k;
    int err = build_canonical(r, p, c, 0, &k, out, d);
    canon_release(&k);
    return err;
}

int sigv4_presign_canonical_request(const struct sigv4_request *r, const struct sigv4_params *p,
                                    const struct sigv4_creds *c, struct buf *out, struct diag *d)
{
    struct canon k;
    int err = build_canonical(r, p, c, 1, &k, out, d);
    canon_release(&k);
    return err;
}

int sigv4_string_to_sign(const char *canonical_request, size_t len, const struct sigv4_params *p,
                         struct buf *out, struct diag *d)
{
    int err = check_params(p, d);
    if (err != ERR_OK)
        return err;
    char amz[17], hex[2 * SHA256_LEN + 1];
    uint8_t sum[SHA256_LEN];
    sigv4_amz_date(p->time_s, amz);
    crypto_sha256(canonical_request, len, sum);
    crypto_hex(sum, sizeof sum, hex);
    err = buf_printf(out, ALGORITHM "\n%s\n%.8s/%s/%s/" TERMINATOR "\n%s", amz, amz, p->region,
                     p->service, hex);
    if (err != ERR_OK)
        return diag_set(d, err, "sigv4: the string to sign does not fit its buffer");
    return ERR_OK;
}

void sigv4_signing_key(const char *secret, const char date8[9], const char *region,
                       const char *service, uint8_t out[32])
{
    char key[4 + SIGV4_SECRET_MAX];
    size_t n = strnlen(secret, SIGV4_SECRET_MAX);
    memcpy(key, "AWS4", 4);
    memcpy(key + 4, secret, n);
    uint8_t k1[SHA256_LEN], k2[SHA256_LEN];
    crypto_hmac_sha256(key, 4 + n, date8, strnlen(date8, 8), k1);
    crypto_hmac_sha256(k1, sizeof k1, region, strlen(region), k2);
    crypto_hmac_sha256(k2, sizeof k2, service, strlen(service), k1);
    crypto_hmac_sha256(k1, sizeof k1, TERMINATOR, strlen(TERMINATOR), out);
    explicit_bzero(key, sizeof key);
    explicit_bzero(k1, sizeof k1);
    explicit_bzero(k2, sizeof k2);
}

void sigv4_signature(const uint8_t key[32], const char *string_to_sign, size_t len, char out[65])
{
    uint8_t mac[SHA256_LEN];
    crypto_hmac_sha256(key, SHA256_LEN, string_to_sign, len, mac);
    crypto_hex(mac, sizeof mac, out);
}

/* Canonical request, string to sign and signature in one go. */
static int sign(const struct sigv4_request *r, const struct sigv4_params *p,
                const struct sigv4_creds *c, int presign, struct canon *k, char sig[65],
                struct diag *d)
{
    struct buf creq = BUF_INIT(WORK_MAX);
    struct buf sts = BUF_INIT(WORK_MAX);
    int err = build_canonical(r, p, c, presign, k, &creq, d);
    if (err == ERR_OK)
        err = sigv4_string_to_sign(creq.data, creq.len, p, &sts, d);
    if (err == ERR_OK) {
        uint8_t key[SHA256_LEN];
        sigv4_signing_key(c->secret_access_key, k->amz_date, p->region, p->service, key);
        sigv4_signature(key, sts.data, sts.len, sig);
        explicit_bzero(key, sizeof key);
    }
    buf_release(&creq);
    buf_release(&sts);
    return err;
}

static int line(char *out, size_t cap, struct diag *d, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int line(char *out, size_t cap, struct diag *d, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return diag_set(d, ERR_TOOBIG, "sigv4: the %s header is longer than %zu bytes", what,
                        cap - 1);
    }
    return ERR_OK;
}

int sigv4_sign_headers(const struct sigv4_request *r, const struct sigv4_params *p,
                       const struct sigv4_creds *c, struct sigv4_signed *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct canon k;
    int err = sign(r, p, c, 0, &k, out->signature, d);
    if (err == ERR_OK)
        err = line(out->authorization, sizeof out->authorization, d, "Authorization",
                   "Authorization: " ALGORITHM " Credential=%s/%.8s/%s/%s/" TERMINATOR
                   ", SignedHeaders=%s, Signature=%s",
                   c->access_key_id, k.amz_date, p->region, p->service, buf_cstr(&k.signed_headers),
                   out->signature);
    if (err == ERR_OK && k.add_date)
        err = line(out->amz_date, sizeof out->amz_date, d, "X-Amz-Date", "X-Amz-Date: %s",
                   k.amz_date);
    if (err == ERR_OK && k.add_sha)
        err = line(out->content_sha256, sizeof out->content_sha256, d, "X-Amz-Content-Sha256",
                   "X-Amz-Content-Sha256: %s", k.payload);
    if (err == ERR_OK && k.add_token)
        err = line(out->security_token, sizeof out->security_token, d, "X-Amz-Security-Token",
                   "X-Amz-Security-Token: %s", c->session_token);
    canon_release(&k);
    if (err != ERR_OK)
        explicit_bzero(out, sizeof *out);
    return err;
}

int sigv4_presign_query(const struct sigv4_request *r, const struct sigv4_params *p,
                        const struct sigv4_creds *c, struct buf *out, struct diag *d)
{
    struct canon k;
    char sig[65];
    int err = sign(r, p, c, 1, &k, sig, d);
    if (err != ERR_OK) {
        canon_release(&k);
        return err;
    }
    size_t start = out->len;
    err = buf_append(out, k.query.data, k.query.len);
    if (err == ERR_OK && k.add_token && p->omit_session_token) {
        err = buf_puts(out, "&X-Amz-Security-Token=");
        if (err == ERR_OK)
            err = sigv4_uri_encode(out, c->session_token, strlen(c->session_token), 0);
    }
    if (err == ERR_OK)
        err = buf_printf(out, "&X-Amz-Signature=%s", sig);
    if (err != ERR_OK) {
        /* Leave out as it was, with no part of the token in it. */
        if (out->data) {
            explicit_bzero(out->data + start, out->len - start);
            out->data[start] = '\0';
        }
        out->len = start;
        err = diag_set(d, err, "sigv4: the presigned query does not fit its buffer");
    }
    canon_release(&k);
    return err;
}
