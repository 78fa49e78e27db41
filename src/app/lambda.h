/* lambda.h - the Lambda handlers (app/lambda.c), behind both `screener lambda` and `screener
 * invoke`. */
#ifndef APP_LAMBDA_H
#define APP_LAMBDA_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* One handler is chosen by name ("collector" or "bot"); its
 * state (store, rate limiter, credentials, the shared HTTP client) lives across warm
 * invocations.  Creating it makes no network call. */
struct app_lambda;
struct http_client;
struct app_lambda_opts {
    const char *handler;        /* "collector" or "bot" */
    const char *store_location; /* NULL: $SCREENER_STORE, s3://$S3_BUCKET_NAME, ./data */
    struct http_client *http;   /* borrowed: the Runtime API's client, shared */
};
#define APP_LAMBDA_HANDLERS "collector or bot"
/* ERR_USAGE for an unknown handler name; store errors as app_open_store. */
int app_lambda_new(const struct app_lambda_opts *o, struct app_lambda **out, struct diag *d);
void app_lambda_free(struct app_lambda *l);
/* A lambda_handler_fn (aws/lambda_rt.h) with ctx the struct app_lambda. */
struct lambda_invocation;
int app_lambda_handle(void *ctx, const struct lambda_invocation *inv, const char *event, size_t len,
                      struct buf *response, struct diag *d);

#endif
