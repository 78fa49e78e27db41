/* apigw.c - API Gateway proxy events and responses. */
#include "aws/apigw.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/crypto.h"
#include "codec/json.h"

#include "base/banned.h"

static int copy_str(const struct jv *v, const char *field, char *out, size_t cap, struct diag *d)
{
    size_t n;
    const char *s = jv_str(v, &n);
    if (!s)
        return diag_set(d, ERR_PARSE, "API Gateway event: '%s' is %s, expected a string", field,
                        v ? jv_type_name(jv_type(v)) : "missing");
    if (n >= cap)
        return diag_set(d, ERR_TOOBIG, "API Gateway event: '%s' is %zu bytes, at most %zu", field,
                        n, cap - 1);
    memcpy(out, s, n + 1);
    return ERR_OK;
}

static int read_body(const struct jv *root, struct apigw_request *r, struct diag *d)
{
    const struct jv *b = jv_get(root, "body");
    if (!b || jv_is_null(b)) {
        r->body = calloc(1, 1);
        return r->body ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    }
    size_t n;
    const char *s = jv_str(b, &n);
    if (!s)
        return diag_set(d, ERR_PARSE, "API Gateway event: 'body' is %s, expected a string",
                        jv_type_name(jv_type(b)));
    int b64 = 0;
    const struct jv *flag = jv_get(root, "isBase64Encoded");
    if (flag && jv_bool(flag, &b64) != ERR_OK)
        return diag_set(d, ERR_PARSE,
                        "API Gateway event: 'isBase64Encoded' is %s, expected a "
                        "boolean",
                        jv_type_name(jv_type(flag)));
    if ((b64 ? n / 4 * 3 : n) > APIGW_BODY_MAX)
        return diag_set(d, ERR_TOOBIG, "API Gateway event: the body is over %zu bytes",
                        APIGW_BODY_MAX);
    r->body = malloc(n + 1);
    if (!r->body)
        return diag_set(d, ERR_NOMEM, "out of memory");
    if (!b64) {
        memcpy(r->body, s, n + 1);
        r->body_len = n;
        return ERR_OK;
    }
    if (crypto_base64_decode(s, n, (uint8_t *)r->body, &r->body_len) != 0)
        return diag_set(d, ERR_PARSE, "API Gateway event: 'body' is not valid base64");
    r->body[r->body_len] = '\0';
    return ERR_OK;
}

int apigw_parse(const char *event, size_t len, const char *header_name, struct apigw_request *r,
                struct diag *d)
{
    memset(r, 0, sizeof *r);
    struct jv *root;
    int err = jv_parse(event, len, &root, d);
    if (err)
        return diag_prefix(d, err, "API Gateway event");
    if (jv_type(root) != JV_OBJECT) {
        jv_free(root);
        return diag_set(d, ERR_PARSE, "API Gateway event: not a JSON object");
    }
    const char *version = jv_str(jv_get(root, "version"), NULL);
    r->version = version && strcmp(version, "2.0") == 0 ? 2 : 1;
    if (r->version == 2) {
        const struct jv *http = jv_get(jv_get(root, "requestContext"), "http");
        err = copy_str(jv_get(http, "method"), "requestContext.http.method", r->method,
                       sizeof r->method, d);
        if (!err)
            err = copy_str(jv_get(root, "rawPath"), "rawPath", r->path, sizeof r->path, d);
    } else {
        err = copy_str(jv_get(root, "httpMethod"), "httpMethod", r->method, sizeof r->method, d);
        if (!err)
            err = copy_str(jv_get(root, "path"), "path", r->path, sizeof r->path, d);
    }
    const struct jv *headers = jv_get(root, "headers");
    if (!err && headers && !jv_is_null(headers) && jv_type(headers) != JV_OBJECT)
        err = diag_set(d, ERR_PARSE, "API Gateway event: 'headers' is %s, expected an object",
                       jv_type_name(jv_type(headers)));
    for (struct jv_iter it = jv_iter(headers); !err && header_name && jv_iter_ok(&it);
         jv_iter_next(&it)) {
        if (strcasecmp(it.key, header_name) != 0)
            continue;
        err = copy_str(it.value, "headers", r->header, sizeof r->header, d);
        r->has_header = !err;
        break;
    }
    if (!err)
        err = read_body(root, r, d);
    jv_free(root);
    if (err)
        apigw_request_release(r);
    return err;
}

void apigw_request_release(struct apigw_request *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

int apigw_response(struct buf *out, int status, const char *content_type, const char *body,
                   size_t len)
{
    int err = buf_printf(out, "{\"statusCode\":%d,\"headers\":{\"content-type\":\"", status);
    err = err ? err : buf_json_escape(out, content_type, strlen(content_type));
    err = err ? err : buf_puts(out, "\"},\"body\":\"");
    err = err ? err : buf_json_escape(out, body, len);
    return err ? err : buf_puts(out, "\",\"isBase64Encoded\":false}");
}
