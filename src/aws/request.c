/* request.c - one AWS request, signed and ready for the fetcher. */
#include "aws/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void aws_signed_free(struct aws_signed *s)
{
    if (!s)
        return;
    buf_release(&s->url);
    buf_release(&s->path);
    explicit_bzero(s, sizeof *s);
    free(s);
}

int aws_request_sign(const struct aws_request *r, const struct sigv4_params *p,
                     const struct sigv4_creds *c, struct aws_signed **out, struct diag *d)
{
    *out = NULL;
    if (r->nheaders > AWS_REQUEST_HEADERS_MAX)
        return diag_set(d, ERR_INVALID, "%zu headers, at most %d can be signed", r->nheaders,
                        AWS_REQUEST_HEADERS_MAX);
    struct aws_signed *s = calloc(1, sizeof *s);
    if (!s)
        return diag_set(d, ERR_NOMEM, "out of memory");
    buf_init(&s->url, AWS_REQUEST_URL_MAX);
    buf_init(&s->path, AWS_REQUEST_URL_MAX);
    s->method = r->method;
    s->body = r->body;
    s->body_len = r->body_len;
    const struct aws_endpoint *ep = r->endpoint;
    const char *path = r->path ? r->path : "";
    const char *query = r->query ? r->query : "";
    int err = buf_puts(&s->path, ep->path);
    if (!err)
        err = buf_puts(&s->path, path[0] || ep->path[0] ? path : "/");
    if (!err)
        err = buf_printf(&s->url, "%s://%s%s%s%s", ep->scheme, ep->host, buf_cstr(&s->path),
                         query[0] ? "?" : "", query);
    if (err) {
        aws_signed_free(s);
        return diag_set(d, ERR_INVALID, "the request URL is longer than %zu bytes",
                        AWS_REQUEST_URL_MAX);
    }

    struct sigv4_header h[1 + AWS_REQUEST_HEADERS_MAX];
    h[0] = (struct sigv4_header){"Host", ep->host};
    for (size_t i = 0; i < r->nheaders; i++)
        h[1 + i] = r->headers[i];
    for (size_t i = 0; i < 1 + r->nheaders; i++) {
        int n = snprintf(s->lines[i], sizeof s->lines[i], "%s: %s", h[i].name, h[i].value);
        if (n < 0 || (size_t)n >= sizeof s->lines[i]) {
            aws_signed_free(s);
            return diag_set(d, ERR_INVALID, "the %s header is too long", h[i].name);
        }
        s->headers[s->nheaders++] = s->lines[i];
    }
    struct sigv4_request sr = {
        .method = r->method,
        .path = buf_cstr(&s->path),
        .query = query,
        .headers = h,
        .nheaders = 1 + r->nheaders,
        .payload_hash = r->payload_hash,
        .body = r->body,
        .body_len = r->body_len,
    };
    if ((err = sigv4_sign_headers(&sr, p, c, &s->sig, d)) != ERR_OK) {
        aws_signed_free(s);
        return err;
    }
    const char *const added[] = {s->sig.authorization, s->sig.amz_date, s->sig.content_sha256,
                                 s->sig.security_token};
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++)
        if (added[i][0])
            s->headers[s->nheaders++] = added[i];
    *out = s;
    return ERR_OK;
}

struct fetch_req aws_signed_fetch_req(const struct aws_signed *s)
{
    return (struct fetch_req){
        .method = s->method,
        .url = buf_cstr(&s->url),
        .headers = s->headers,
        .nheaders = s->nheaders,
        .body = s->body,
        .body_len = s->body_len,
    };
}
