/* lambda_invoke.c - starting another Lambda function asynchronously. */
#include "aws/lambda_invoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/request.h"
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/clock.h"
#include "net/fetch.h"
#include "net/http.h"

#include "base/banned.h"

#define FUNCTION_MAX 170 /* the longest function ARN Lambda accepts */

struct outcome {
    int err;
    long status;
    struct diag d;
};

static void on_done(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct outcome *o = ctx;
    o->status = resp->status;
    o->err = err;
    if (d)
        o->d = *d;
    /* An asynchronous invoke is accepted with 202; a 200 would mean it ran synchronously. */
    if (!err && resp->status != 202)
        o->err = diag_set(&o->d, ERR_INVALID, "Lambda answered %ld to an asynchronous invoke",
                          resp->status);
}

static int valid_function(const char *f)
{
    size_t n = strlen(f);
    if (n == 0 || n > FUNCTION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= 'A' && f[i] <= 'Z') ||
              (f[i] >= '0' && f[i] <= '9') || f[i] == '-' || f[i] == '_' || f[i] == ':' ||
              f[i] == '.'))
            return 0;
    return 1;
}

int lambda_invoke_async(struct http_client *http, const char *function, const char *payload,
                        size_t len, struct diag *d)
{
    if (!function || !valid_function(function))
        return diag_set(d, ERR_INVALID, "'%.80s' is not a Lambda function name or ARN",
                        function ? function : "");
    if (len > LAMBDA_PAYLOAD_MAX)
        return diag_set(d, ERR_TOOBIG, "the event for %s is over %zu bytes", function,
                        LAMBDA_PAYLOAD_MAX);
    struct aws_creds c;
    memset(&c, 0, sizeof c);
    int err = aws_creds_load(&c, d);
    if (err) {
        aws_creds_release(&c);
        return diag_prefix(d, err, "invoking %s", function);
    }
    const char *region = c.region[0] ? c.region : "us-east-1";
    char var[AWS_ENDPOINT_VAR_MAX];
    const char *url = aws_endpoint_env("lambda", var);
    struct aws_endpoint ep;
    err = aws_endpoint_resolve("lambda", region, url, var, &ep, d);
    /* The name goes into the path percent-encoded (an ARN's ':'). */
    struct buf path = BUF_INIT(256);
    if (!err &&
        (buf_puts(&path, "/2015-03-31/functions/") ||
         sigv4_uri_encode(&path, function, strlen(function), 0) || buf_puts(&path, "/invocations")))
        err = diag_set(d, ERR_INVALID, "the function name %s is too long", function);
    const struct sigv4_header sh[] = {
        {"Content-Type", "application/json"},
        {"X-Amz-Invocation-Type", "Event"},
    };
    struct aws_request ar = {
        .method = "POST",
        .endpoint = &ep,
        .path = buf_cstr(&path),
        .headers = sh,
        .nheaders = sizeof sh / sizeof sh[0],
        .body = payload,
        .body_len = len,
    };
    struct sigv4_params sp = {.region = region,
                              .service = "lambda",
                              .time_s = clock_wall_ms() / 1000,
                              .rules = SIGV4_DEFAULT};
    struct sigv4_creds sc = aws_creds_sigv4(&c);
    struct aws_signed *sig = NULL;
    struct http_client *own = NULL;
    struct fetch *f = NULL;
    struct outcome out = {.err = ERR_INTERNAL};
    if (!err)
        err = aws_request_sign(&ar, &sp, &sc, &sig, d);
    if (!err && !http && (err = http_client_new(NULL, &own, d)) == ERR_OK)
        http = own;
    if (!err) {
        struct fetch_opts fo;
        fetch_opts_default(&fo);
        fo.concurrency = 1;
        fo.timeout_ms = 10000;
        err = fetch_new(http, &fo, &f, d);
    }
    if (!err) {
        struct fetch_req r = aws_signed_fetch_req(sig);
        r.done = on_done;
        r.ctx = &out;
        err = fetch_submit(f, &r, d);
    }
    if (!err)
        err = fetch_run(f, d);
    if (!err && out.err) {
        err = out.err == ERR_INVALID && out.status == 404 ? ERR_NOTFOUND : out.err;
        diag_set(d, err, "invoking %s: %s", function, out.d.text);
    }
    fetch_free(f);
    http_client_free(own);
    aws_signed_free(sig);
    buf_release(&path);
    aws_creds_release(&c);
    return err;
}
