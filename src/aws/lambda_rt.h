/* lambda_rt.h - the AWS Lambda Runtime API client: what a custom runtime (`bootstrap`) does.
 *
 *     for (;;) { next event; handler; post its response, or its error }
 *
 * over plain HTTP/1.1 to http://$AWS_LAMBDA_RUNTIME_API/2018-06-01.  One HTTP client is kept
 * for the life of the process, so a warm invocation reuses the connection (and the handler's
 * own connections when it shares the client).  The /next request has no timeout: it is a long
 * poll, and the process may be frozen inside it between invocations.
 *
 * Starting is cheap on purpose (a cold start is process start to the first /next): creating
 * the runtime allocates a few hundred bytes and makes no network call.
 *
 * Each invocation's request id goes to log_set_request_id and its trace id to
 * _X_AMZN_TRACE_ID.  A handler returns an ERR_* code; an error is posted to /error as
 * {"errorMessage": <the diag>, "errorType": lambda_error_type(err), "stackTrace": []} with
 * the same type in Lambda-Runtime-Function-Error-Type.  A 500 from the Runtime API, or a
 * Runtime API that cannot be reached, ends lambda_rt_run: the caller exits and Lambda starts
 * a fresh environment.
 */
#ifndef AWS_LAMBDA_RT_H
#define AWS_LAMBDA_RT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/http.h"

#define LAMBDA_API_VERSION "2018-06-01"
/* Caps on what /next sends: Lambda's synchronous payload limit is 6 MB. */
#define LAMBDA_EVENT_MAX    ((size_t)6 << 20)
#define LAMBDA_RESPONSE_MAX ((size_t)6 << 20)

#define LAMBDA_REQUEST_ID_MAX 128
#define LAMBDA_ARN_MAX        256
#define LAMBDA_TRACE_ID_MAX   512

/* One invocation, from the /next response headers. */
struct lambda_invocation {
    char request_id[LAMBDA_REQUEST_ID_MAX]; /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;                    /* Lambda-Runtime-Deadline-Ms: wall-clock Unix
                                               milliseconds of the timeout; 0 when unknown */
    char function_arn[LAMBDA_ARN_MAX];      /* Lambda-Runtime-Invoked-Function-Arn */
    char trace_id[LAMBDA_TRACE_ID_MAX];     /* Lambda-Runtime-Trace-Id; "" when absent */
};

/* Milliseconds left before inv's deadline by the clock source (base/clock.h); INT64_MAX when
 * the deadline is unknown, negative once it has passed. */
int64_t lambda_remaining_ms(const struct lambda_invocation *inv);

/* A handler: event is len bytes (NUL-terminated); the result goes into response (capped at
 * LAMBDA_RESPONSE_MAX, sent as application/json).  Returns ERR_OK, or an error with d saying
 * what failed (the message the caller of the function sees, so never a secret). */
typedef int (*lambda_handler_fn)(void *ctx, const struct lambda_invocation *inv, const char *event,
                                 size_t len, struct buf *response, struct diag *d);

/* "Function.<Name>" for an ERR_* code, matching (Runtime|Function)\.[A-Z][a-zA-Z]+ as Lambda
 * wants: ERR_USAGE is "Function.InvalidEvent", ERR_TIMEOUT "Function.Timeout", ... */
const char *lambda_error_type(int err);

/* Append {"errorMessage":...,"errorType":...,"stackTrace":[]} to out: always valid JSON (bytes
 * that are not UTF-8, e.g. a character cut in two, become U+FFFD). */
int lambda_error_body(struct buf *out, const char *error_type, const char *message);

/* Parse the deadline header value (decimal Unix milliseconds); ERR_PARSE unless it is a
 * positive whole number. */
int lambda_parse_deadline(const char *value, int64_t *out_ms);

struct lambda_rt_opts {
    const char *api;          /* "host:port"; NULL: $AWS_LAMBDA_RUNTIME_API */
    struct http_client *http; /* borrowed, shared with the handler; NULL: the runtime's own */
    size_t max_event;         /* event body cap; 0: LAMBDA_EVENT_MAX */
};

struct lambda_rt;

/* ERR_USAGE when there is no Runtime API address (not running inside Lambda) or it is not
 * "host:port". */
int lambda_rt_new(const struct lambda_rt_opts *o, struct lambda_rt **out, struct diag *d);
void lambda_rt_free(struct lambda_rt *rt);

/* Wait for the next invocation: fills inv and event (reset first; capped at max_event),
 * sets the log request id and _X_AMZN_TRACE_ID.  ERR_UNAVAILABLE for a Runtime API error
 * status, ERR_NETWORK when it cannot be reached, ERR_PARSE when the request id is missing. */
int lambda_rt_next(struct lambda_rt *rt, struct lambda_invocation *inv, struct buf *event,
                   struct diag *d);

/* Post the invocation's result.  ERR_TOOBIG when Lambda refuses its size (413),
 * ERR_INVALID for another 4xx (e.g. an unknown request id), ERR_UNAVAILABLE for a 5xx. */
int lambda_rt_respond(struct lambda_rt *rt, const char *request_id, const char *body, size_t len,
                      struct diag *d);

/* Post the invocation's error (see lambda_error_body); statuses as lambda_rt_respond. */
int lambda_rt_fail(struct lambda_rt *rt, const char *request_id, const char *error_type,
                   const char *message, struct diag *d);

/* Report a failed initialisation (before the first /next); the caller then exits. */
int lambda_rt_init_fail(struct lambda_rt *rt, const char *error_type, const char *message,
                        struct diag *d);

/* The loop: next, handler, respond or fail, for max_invocations invocations (0: until the
 * Runtime API fails, which is the only way it returns in Lambda).  A refused post (a 4xx) is
 * logged and the loop goes on; a response over Lambda's size limit is replaced by an error.
 * Each invocation is logged ("invocation done" with duration_ms and ok). */
int lambda_rt_run(struct lambda_rt *rt, lambda_handler_fn handler, void *ctx,
                  size_t max_invocations, struct diag *d);

/* Invocations completed (responded or failed) since lambda_rt_new. */
uint64_t lambda_rt_invocations(const struct lambda_rt *rt);

#endif
