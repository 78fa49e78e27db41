/* lambda_invoke.h - starting another Lambda function: the Invoke API, asynchronously.
 *
 * `POST /2015-03-31/functions/<name>/invocations` with `X-Amz-Invocation-Type: Event`, the
 * payload as the body, signed with SigV4 (service "lambda").  Lambda queues the event and
 * answers 202 at once; the function runs on its own (retried by Lambda if it fails).  The
 * bot's /trigger starts the collector this way, so the webhook answers in milliseconds while
 * the collection takes its minutes.
 *
 * Endpoint: AWS_ENDPOINT_URL_LAMBDA when set (a local stand-in), else AWS_ENDPOINT_URL, else
 * https://lambda.<region>.amazonaws.com (aws/endpoint.h); credentials and region as
 * aws/creds.h finds them (us-east-1 without a region).
 */
#ifndef AWS_LAMBDA_INVOKE_H
#define AWS_LAMBDA_INVOKE_H

#include <stddef.h>

#include "base/err.h"

struct http_client;

#define LAMBDA_PAYLOAD_MAX ((size_t)256 << 10) /* Lambda's limit for an asynchronous event */

/* Queue payload (JSON) for function (a name or an ARN).  http is borrowed (NULL: a client of
 * its own).  Errors: ERR_AUTH (no credentials, or refused: the message names the function),
 * ERR_NOTFOUND (no such function), ERR_INVALID, and the network's after retries. */
int lambda_invoke_async(struct http_client *http, const char *function, const char *payload,
                        size_t len, struct diag *d);

#endif
