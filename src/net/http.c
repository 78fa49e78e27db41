/* http.c - libcurl's multi interface behind http.h (the one file that includes libcurl). */
#include "net/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

#ifndef SCREENER_VERSION
#define SCREENER_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT_MS   30000
#define DEFAULT_MAX_RESPONSE ((size_t)16 << 20)

struct transfer {
    struct transfer *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* request body copy */
    struct http_response resp;
    int too_big; /* 1: the body went over its cap; 2: the kept headers did */
    int keep_headers;
    http_done_fn done;
    void *ctx;
};

struct http_client {
    CURLM *multi;
    CURLSH *share;
    char *user_agent;
    char *ca_file;
    struct transfer *active; /* list */
    size_t nactive;
    CURL *idle[16]; /* finished easy handles kept for reuse */
    size_t nidle;
};

/* Once per process, whichever thread makes the first client (a server's workers may). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int curl_ready(struct diag *d)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return diag_set(d, ERR_INTERNAL, "cannot initialise the HTTP library");
    return ERR_OK;
}

int http_client_new(const struct http_client_opts *o, struct http_client **out, struct diag *d)
{
    int err = curl_ready(d);
    if (err)
        return err;
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        return diag_set(d, ERR_NOMEM, "out of memory");
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    const char *ua = o && o->user_agent ? o->user_agent : "screener/" SCREENER_VERSION;
    const char *ca = o && o->ca_file ? o->ca_file : getenv("SSL_CERT_FILE");
    c->user_agent = strdup(ua);
    c->ca_file = ca && *ca ? strdup(ca) : NULL;
    if (!c->multi || !c->share || !c->user_agent || (ca && *ca && !c->ca_file)) {
        http_client_free(c);
        return diag_set(d, ERR_NOMEM, "cannot create an HTTP client");
    }
    /* Share DNS answers and TLS sessions between the handles of this client. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (o && o->max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_connections);
    *out = c;
    return ERR_OK;
}

static void transfer_free(struct http_client *c, struct transfer *t)
{
    if (t->easy) {
        curl_multi_remove_handle(c->multi, t->easy);
        if (c->nidle < sizeof c->idle / sizeof c->idle[0]) {
            curl_easy_reset(t->easy);
            c->idle[c->nidle++] = t->easy;
        } else {
            curl_easy_cleanup(t->easy);
        }
    }
    curl_slist_free_all(t->headers);
    free(t->body);
    http_response_release(&t->resp);
    free(t);
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    while (c->active) {
        struct transfer *t = c->active;
        c->active = t->next;
        transfer_free(c, t);
    }
    for (size_t i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->share)
        curl_share_cleanup(c->share);
    free(c->user_agent);
    free(c->ca_file);
    free(c);
}

void http_response_release(struct http_response *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

int http_response_header(const struct http_response *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = buf_cstr(&r->headers), *end = p + r->headers.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)(next - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *ve = next;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == '\n' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if ((size_t)(ve - v) >= cap)
                return ERR_TOOBIG;
            memcpy(out, v, (size_t)(ve - v));
            out[ve - v] = '\0';
            return ERR_OK;
        }
        p = next;
    }
    return ERR_NOTFOUND;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    if (buf_append(&t->resp.body, data, len) != ERR_OK) {
        t->too_big = 1;
        return 0; /* aborts the transfer */
    }
    return len;
}

static int64_t header_int(const char *v, size_t n)
{
    int64_t x = 0;
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    size_t start = i;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (x > (INT64_MAX - 9) / 10)
            return HTTP_HEADER_ABSENT;
        x = x * 10 + (v[i] - '0');
    }
    if (i == start)
        return HTTP_HEADER_ABSENT;
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
        i++;
    return i == n ? x : HTTP_HEADER_ABSENT;
}

static void header_copy(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    if (!colon) {
        /* A new status line (after a redirect or a 100 Continue): forget earlier headers. */
        if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
            t->resp.retry_after_s = HTTP_HEADER_ABSENT;
            t->resp.ratelimit_limit = HTTP_HEADER_ABSENT;
            t->resp.ratelimit_remaining = HTTP_HEADER_ABSENT;
            t->resp.ratelimit_reset = HTTP_HEADER_ABSENT;
            buf_reset(&t->resp.headers);
        }
        return len;
    }
    if (t->keep_headers && buf_append(&t->resp.headers, data, len) != ERR_OK) {
        t->too_big = 2;
        return 0; /* aborts the transfer */
    }
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(data, name, klen) == 0)
    if (IS("retry-after"))
        t->resp.retry_after_s = header_int(v, vlen);
    else if (IS("x-ratelimit-limit"))
        t->resp.ratelimit_limit = header_int(v, vlen);
    else if (IS("x-ratelimit-remaining"))
        t->resp.ratelimit_remaining = header_int(v, vlen);
    else if (IS("x-ratelimit-reset"))
        t->resp.ratelimit_reset = header_int(v, vlen);
    else if (IS("content-type"))
        header_copy(t->resp.content_type, sizeof t->resp.content_type, v, vlen);
    else if (IS("etag"))
        header_copy(t->resp.etag, sizeof t->resp.etag, v, vlen);
    else if (IS("x-amz-request-id") || IS("x-request-id"))
        header_copy(t->resp.request_id, sizeof t->resp.request_id, v, vlen);
#undef IS
    return len;
}

int http_start(struct http_client *c, const struct http_request *req, http_done_fn done, void *ctx,
               struct diag *d)
{
    struct transfer *t = calloc(1, sizeof *t);
    if (!t)
        return diag_set(d, ERR_NOMEM, "out of memory");
    buf_init(&t->resp.body, req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE);
    t->resp.retry_after_s = t->resp.ratelimit_limit = HTTP_HEADER_ABSENT;
    t->resp.ratelimit_remaining = t->resp.ratelimit_reset = HTTP_HEADER_ABSENT;
    buf_init(&t->resp.headers, HTTP_HEADERS_MAX);
    t->keep_headers = req->keep_headers;
    t->done = done;
    t->ctx = ctx;
    t->easy = c->nidle ? c->idle[--c->nidle] : curl_easy_init();
    int err = ERR_OK;
    if (!t->easy) {
        err = diag_set(d, ERR_NOMEM, "cannot create an HTTP transfer");
        goto fail;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(t->headers, req->headers[i]);
        if (!l) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
            goto fail;
        }
        t->headers = l;
    }
    /* libcurl adds "Expect: 100-continue" to bodies over 1 KB; not worth a round trip. */
    if (req->body) {
        struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
        if (!l) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
            goto fail;
        }
        t->headers = l;
    }
    CURL *e = t->easy;
    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    long timeout_ms = req->timeout_ms < 0 ? 0L /* none */
                      : req->timeout_ms   ? (long)req->timeout_ms
                                          : DEFAULT_TIMEOUT_MS;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (strcmp(method, "GET") != 0 || req->body) {
        if (req->body) {
            const void *body = req->body;
            if (!req->body_borrowed) {
                t->body = malloc(req->body_len ? req->body_len : 1);
                if (!t->body) {
                    err = diag_set(d, ERR_NOMEM, "out of memory");
                    goto fail;
                }
                memcpy(t->body, req->body, req->body_len);
                body = t->body;
            }
            /* libcurl reads the body from there without copying it. */
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        if (strcmp(method, "HEAD") == 0)
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        else if (strcmp(method, "POST") != 0 || !req->body)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        err = diag_set(d, ERR_INTERNAL, "cannot start an HTTP transfer");
        goto fail;
    }
    t->next = c->active;
    c->active = t;
    c->nactive++;
    return ERR_OK;
fail:
    if (t->easy)
        curl_easy_cleanup(t->easy);
    t->easy = NULL;
    curl_slist_free_all(t->headers);
    free(t->body);
    http_response_release(&t->resp);
    free(t);
    return err;
}

static void unlink_transfer(struct http_client *c, struct transfer *t)
{
    for (struct transfer **p = &c->active; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            c->nactive--;
            return;
        }
}

/* Host and path of the transfer's URL without the query (which may carry tokens), for
 * messages. */
static void url_for_message(CURL *e, char *out, size_t cap)
{
    char *url = NULL;
    curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url);
    if (!url)
        url = "?";
    size_t n = strcspn(url, "?#");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

static void complete(struct http_client *c, struct transfer *t, CURLcode rc)
{
    struct diag d = {{0}};
    int err = ERR_OK;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &t->resp.total_s);
    char where[256];
    url_for_message(t->easy, where, sizeof where);
    if (rc != CURLE_OK) {
        status = 0;
        if (t->too_big == 2) {
            err = diag_set(&d, ERR_TOOBIG, "response headers from %s exceed %zu bytes", where,
                           t->resp.headers.max);
        } else if (t->too_big) {
            err = diag_set(&d, ERR_TOOBIG, "response from %s exceeds %zu bytes", where,
                           t->resp.body.max);
        } else if (rc == CURLE_OPERATION_TIMEDOUT) {
            err = diag_set(&d, ERR_TIMEOUT, "request to %s timed out", where);
        } else if (rc == CURLE_OUT_OF_MEMORY) {
            err = diag_set(&d, ERR_NOMEM, "out of memory");
        } else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
            err = diag_set(&d, ERR_INVALID, "bad URL '%s': %s", where, curl_easy_strerror(rc));
        } else {
            err = diag_set(&d, ERR_NETWORK, "request to %s failed: %s", where,
                           curl_easy_strerror(rc));
        }
    }
    t->resp.status = status;
    unlink_transfer(c, t);
    t->done(t->ctx, err, &t->resp, &d);
    transfer_free(c, t);
}

/* Complete the finished transfers; returns how many. */
static int drain(struct http_client *c)
{
    CURLMsg *m;
    int left, completed = 0;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        complete(c, t, m->data.result);
        completed++;
    }
    return completed;
}

int http_poll(struct http_client *c, int64_t max_wait_ms, struct diag *d)
{
    int running = 0;
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return diag_set(d, ERR_INTERNAL, "HTTP transfers failed");
    if (drain(c) || max_wait_ms <= 0 || c->nactive == 0)
        return ERR_OK;
    int numfds;
    int wait = max_wait_ms > 1000 ? 1000 : (int)max_wait_ms;
    if (curl_multi_poll(c->multi, NULL, 0, wait, &numfds) != CURLM_OK ||
        curl_multi_perform(c->multi, &running) != CURLM_OK)
        return diag_set(d, ERR_INTERNAL, "HTTP transfers failed");
    drain(c);
    return ERR_OK;
}

void http_kick(struct http_client *c)
{
    int running = 0;
    (void)curl_multi_perform(c->multi, &running);
}

size_t http_active(const struct http_client *c)
{
    return c->nactive;
}

struct sync_result {
    int finished;
    int err;
    struct diag d;
    struct http_response *out;
};

static void sync_done(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct sync_result *r = ctx;
    r->finished = 1;
    r->err = err;
    r->d = *d;
    struct http_response *o = r->out;
    *o = *resp;
    /* Move the body and headers: the transfer's copies are released after this call. */
    resp->body.data = NULL;
    resp->body.len = resp->body.cap = 0;
    resp->headers.data = NULL;
    resp->headers.len = resp->headers.cap = 0;
}

int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp,
            struct diag *d)
{
    memset(resp, 0, sizeof *resp);
    struct sync_result r = {.out = resp};
    int err = http_start(c, req, sync_done, &r, d);
    while (!err && !r.finished)
        err = http_poll(c, 1000, d);
    if (err)
        return err;
    if (r.err && d)
        *d = r.d;
    return r.err;
}

int http_url_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
                    (keep_slash && ch == '/');
        int err = plain ? buf_putc(out, (char)ch)
                        : buf_append(out, (char[]){'%', hex[ch >> 4], hex[ch & 15]}, 3);
        if (err)
            return err;
    }
    return ERR_OK;
}
