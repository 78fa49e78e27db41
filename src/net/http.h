/* http.h - HTTP client transfers, several in flight on one thread (the one file that talks to
 * the HTTP library).
 *
 * A client keeps its connections (and TLS sessions) open between transfers, so a warm Lambda
 * or a long collection pays the handshake once.  Transfers are started with http_start and
 * completed inside http_poll, which calls each transfer's done callback exactly once; a
 * callback may start new transfers.  http_do is the one-at-a-time convenience on top.
 *
 * Response bodies are capped (a bigger body fails the transfer with ERR_TOOBIG), gzip is
 * accepted and decoded, and a few headers the retry and rate-limit logic needs are picked
 * out.  Secrets in request headers are never logged here.
 */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct http_client_opts {
    const char *user_agent;    /* default "screener/<version>" */
    const char *ca_file;       /* CA bundle; NULL: the library's default, or $SSL_CERT_FILE */
    long max_host_connections; /* 0: no cap beyond the number of transfers */
};

struct http_client;

int http_client_new(const struct http_client_opts *o, struct http_client **out, struct diag *d);
void http_client_free(struct http_client *c);

struct http_request {
    const char *method; /* default "GET" */
    const char *url;
    const char *const *headers; /* "Name: value" */
    size_t nheaders;
    const void *body; /* sent as is (POST/PUT) */
    size_t body_len;
    /* 0: the body is copied; 1: it is sent from where it is, and must stay there unchanged
     * until the done callback (a PUT of a big object is not held twice). */
    int body_borrowed;
    int64_t timeout_ms;  /* whole transfer; 0: 30 s; HTTP_NO_TIMEOUT: none (a long poll) */
    size_t max_response; /* body cap; 0: 16 MiB */
    int keep_headers;    /* keep every response header in http_response.headers */
};

#define HTTP_NO_TIMEOUT ((int64_t)-1)

#define HTTP_HEADER_ABSENT INT64_MIN

struct http_response {
    long status; /* 0 when no response arrived */
    struct buf body;
    /* Retry-After in seconds and the X-RateLimit-* headers, or HTTP_HEADER_ABSENT. */
    int64_t retry_after_s;
    int64_t ratelimit_limit, ratelimit_remaining, ratelimit_reset;
    char content_type[96];
    char etag[130];
    char request_id[96]; /* x-amz-request-id / x-request-id, when sent */
    double total_s;      /* transfer time */
    /* With http_request.keep_headers: the final response's header lines as received
     * ("Name: value\r\n"), at most HTTP_HEADERS_MAX bytes; empty otherwise. */
    struct buf headers;
};

#define HTTP_HEADERS_MAX ((size_t)64 << 10)

void http_response_release(struct http_response *r);

/* The value of header name (case-insensitive; the first when repeated) from resp->headers,
 * trimmed, as a C string in out.  ERR_NOTFOUND when absent, ERR_TOOBIG when it needs more
 * than cap - 1 bytes. */
int http_response_header(const struct http_response *r, const char *name, char *out, size_t cap);

/* Told once per transfer.  err is ERR_OK when a response arrived (any status); otherwise
 * ERR_TIMEOUT, ERR_NETWORK (connect failure, reset, truncated body), ERR_TOOBIG or
 * ERR_INTERNAL, with d saying what happened.  resp is valid during the call only; take its
 * body with buf_detach if it must outlive it. */
typedef void (*http_done_fn)(void *ctx, int err, struct http_response *resp, const struct diag *d);

/* Start a transfer; everything in req is copied. */
int http_start(struct http_client *c, const struct http_request *req, http_done_fn done, void *ctx,
               struct diag *d);

/* Drive the transfers for at most max_wait_ms (returns sooner when one completes), calling
 * the done callbacks of those that completed. */
int http_poll(struct http_client *c, int64_t max_wait_ms, struct diag *d);

/* Let the transfers move (send what was started, read what arrived) without completing any:
 * no done callback is called.  For code inside a done callback that started requests and has
 * more to do before it returns, so that they go out meanwhile; a failure is left for the next
 * http_poll to meet. */
void http_kick(struct http_client *c);

/* Transfers started and not completed. */
size_t http_active(const struct http_client *c);

/* One transfer, start to end.  resp must be released by the caller (also on error). */
int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp,
            struct diag *d);

/* Percent-encode s for a query value or path segment (RFC 3986 unreserved kept; with
 * keep_slash, '/' is kept too). */
int http_url_encode(struct buf *out, const char *s, size_t n, int keep_slash);

#endif
