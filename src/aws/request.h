/* request.h - one AWS request, signed and ready for the fetcher.
 *
 * What the S3, SSM and Lambda Invoke clients share: the URL from the endpoint (aws/endpoint.h),
 * the path and the query; the Host header and the caller's headers, all signed with SigV4
 * (aws/sigv4.h); the lines the signer adds (Authorization, X-Amz-Date, and when they apply
 * X-Amz-Security-Token and X-Amz-Content-Sha256); and the struct fetch_req that sends them
 * (net/fetch.h).  Each client keeps its own retry rules and answers.  The signature is
 * exactly sigv4_sign_headers' for the same request: nothing is added or reordered.
 */
#ifndef AWS_REQUEST_H
#define AWS_REQUEST_H

#include <stddef.h>

#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "net/fetch.h"

#define AWS_REQUEST_HEADERS_MAX 6    /* the caller's headers, besides Host */
#define AWS_REQUEST_LINE_MAX    2048 /* one "Name: value" line */
#define AWS_REQUEST_URL_MAX     ((size_t)64 << 10)

struct aws_request {
    const char *method;                  /* "GET", "PUT", "POST", ... */
    const struct aws_endpoint *endpoint; /* scheme, Host and the base path */
    /* After the endpoint's base path, as sent (already percent-encoded): "/bucket/key".  NULL
     * or "": the base path alone, or "/" when there is none. */
    const char *path;
    const char *query;                  /* encoded, without '?'; NULL or "" for none */
    const struct sigv4_header *headers; /* besides Host; each one signed and sent */
    size_t nheaders;                    /* at most AWS_REQUEST_HEADERS_MAX */
    const void *body;
    size_t body_len;
    const char *payload_hash; /* as in struct sigv4_request (NULL: computed) */
};

/* A signed request.  Holds the signature and the session token: free it with
 * aws_signed_free, which wipes it. */
struct aws_signed {
    const char *method;
    struct buf url;  /* scheme://host/path[?query] */
    struct buf path; /* the path as signed and sent */
    const void *body;
    size_t body_len;
    const char *headers[1 + AWS_REQUEST_HEADERS_MAX + 4]; /* every line to send */
    size_t nheaders;
    char lines[1 + AWS_REQUEST_HEADERS_MAX][AWS_REQUEST_LINE_MAX];
    struct sigv4_signed sig;
};

/* Sign r with p (region, service, time, rules) and c into a new *out.  ERR_INVALID (naming
 * the header) for a header line or URL too long or too many headers; the signer's errors as
 * they are.  The body is borrowed: it must outlive the fetch. */
int aws_request_sign(const struct aws_request *r, const struct sigv4_params *p,
                     const struct sigv4_creds *c, struct aws_signed **out, struct diag *d);

/* Wipe and free (NULL is fine). */
void aws_signed_free(struct aws_signed *s);

/* The fetch request that sends s: method, URL, headers and body; the caller adds accept, done
 * and ctx.  Valid while s is (the fetcher copies what it keeps). */
struct fetch_req aws_signed_fetch_req(const struct aws_signed *s);

#endif
