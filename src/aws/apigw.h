/* apigw.h - API Gateway proxy events in, proxy responses out (pure functions).
 *
 * Both payload formats are read: REST APIs (version 1.0: httpMethod, path, headers in the
 * sender's casing) and HTTP APIs and function URLs (version 2.0: requestContext.http.method,
 * rawPath, lower-cased headers).  The body may arrive base64-encoded.
 */
#ifndef AWS_APIGW_H
#define AWS_APIGW_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define APIGW_BODY_MAX   ((size_t)1 << 20)
#define APIGW_HEADER_MAX 512

struct apigw_request {
    int version; /* 1 or 2 */
    char method[16];
    char path[256];
    /* The value of the one header the caller asked for, and whether it was there. */
    int has_header;
    char header[APIGW_HEADER_MAX];
    char *body; /* decoded, NUL-terminated (may hold NULs); owned */
    size_t body_len;
};

/* Parse a proxy event; header_name is looked up case-insensitively.  ERR_PARSE naming the
 * field for anything that is not a proxy event; ERR_TOOBIG for a body over APIGW_BODY_MAX
 * or a header value over APIGW_HEADER_MAX - 1 bytes. */
int apigw_parse(const char *event, size_t len, const char *header_name, struct apigw_request *out,
                struct diag *d);
void apigw_request_release(struct apigw_request *r);

/* A proxy response: {"statusCode":..,"headers":{"content-type":..},"body":"..",
 * "isBase64Encoded":false}, which both formats accept. */
int apigw_response(struct buf *out, int status, const char *content_type, const char *body,
                   size_t len);

#endif
