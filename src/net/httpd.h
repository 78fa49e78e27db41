/* httpd.h - a small HTTP/1.1 server for fakes and webhooks (the one file that talks to the
 * HTTP server library).
 *
 * Each connection gets its own thread, so a handler that takes its time (a deliberately slow
 * fake, a webhook doing real work) does not hold up the other connections; the handler must
 * therefore be thread-safe.  The handler sees the request exactly as received (raw target,
 * headers, body) and fills in a response, or asks for a broken one: the connection dropped
 * without a reply, or a body cut off halfway, so that clients can be tested against both.
 *
 *     struct httpd_opts o = {.port = 0, .handler = serve, .ctx = state};
 *     struct httpd *h;
 *     int port;
 *     if (httpd_start(&o, &h, &port, &d) == ERR_OK) { ...; httpd_stop(h); }
 */
#ifndef NET_HTTPD_H
#define NET_HTTPD_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/strvec.h"

/* A request, valid during the handler call only. */
struct httpd_request {
    const char *method; /* "GET", "POST", ... */
    const char *target; /* the request target as received: "/v2/stocks/bars?symbols=A%2CB" */
    const char *path;   /* target up to '?', not percent-decoded */
    const char *query;  /* raw, after '?'; "" when there is none */
    const char *const *headers; /* "Name: value", in the order received */
    size_t nheaders;
    const char *body; /* NUL-terminated (may contain NULs); "" when there is none */
    size_t body_len;
};

/* The value of header name (case-insensitive), or NULL when absent.  With repeated headers,
 * the first. */
const char *httpd_request_header(const struct httpd_request *r, const char *name);

/* Find name in a raw query string ("a=1&b=x%2Cy") and write its percent-decoded value ('+' is
 * a space) into out as a C string.  The first occurrence counts; "name" without '=' has the
 * value "".  ERR_NOTFOUND when absent, ERR_TOOBIG when the value needs more than cap - 1
 * bytes, ERR_PARSE for a malformed escape. */
int httpd_query_get(const char *query, const char *name, char *out, size_t cap);

enum httpd_action {
    HTTPD_REPLY,    /* send status, headers and body */
    HTTPD_DROP,     /* close the connection without any response */
    HTTPD_TRUNCATE, /* send the headers with the full Content-Length, then half the body, then
                       close the connection */
};

/* The handler's answer.  The server initializes it (status 200, empty body capped at
 * httpd_opts.max_response, no headers, HTTPD_REPLY) and releases it after sending. */
struct httpd_response {
    int status;
    struct buf body;
    struct strvec headers; /* "Name: value" */
    enum httpd_action action;
};

void httpd_response_init(struct httpd_response *r, size_t max_body);
void httpd_response_release(struct httpd_response *r);

/* Add "name: value" to the response headers. */
int httpd_response_header(struct httpd_response *r, const char *name, const char *value);

typedef void (*httpd_handler_fn)(void *ctx, const struct httpd_request *req,
                                 struct httpd_response *resp);

/* Called as soon as a request's headers are in, before any of its body is read (req->body is
 * ""): return non-zero after filling resp to answer at once (e.g. 401) without reading the
 * body, the connection then closed; 0 to go on. */
typedef int (*httpd_head_fn)(void *ctx, const struct httpd_request *req,
                             struct httpd_response *resp);

struct httpd_opts {
    const char *bind_addr; /* IPv4 address; NULL: 127.0.0.1 */
    int port;              /* 0: an ephemeral port, reported by httpd_start */
    size_t max_body;       /* request body cap; over it the answer is 413 and the handler is
                              not called.  0: 1 MiB */
    size_t max_head;       /* request line + headers cap (over it the server answers 414 or
                              431 itself).  0: 64 KiB */
    size_t max_response;   /* response body cap given to the handler.  0: 64 MiB */
    int idle_timeout_s;    /* close a connection idle this long.  0: 60 */
    /* Against many slow or idle clients: connections at once (over it, new ones are closed
     * at once; 0: the library's default), from one IPv4 address (0: no limit), and the most
     * time a connection may take for a request, counted from its accept or the end of its
     * previous request, whatever trickles in (0: no limit): unlike idle_timeout_s it is not
     * reset by each byte. */
    unsigned max_connections;
    unsigned max_per_address;
    int connection_timeout_s;
    httpd_head_fn head; /* optional */
    httpd_handler_fn handler;
    void *ctx; /* passed to handler */
};

struct httpd;

/* Start serving in background threads.  *port_out (may be NULL) gets the bound port. */
int httpd_start(const struct httpd_opts *o, struct httpd **out, int *port_out, struct diag *d);

/* Stop accepting, close every connection, wait for the handlers running to return, free.
 * NULL is a no-op. */
void httpd_stop(struct httpd *h);

#endif
