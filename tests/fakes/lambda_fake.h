/* lambda_fake.h - a fake AWS Lambda Runtime API on 127.0.0.1, for testing the runtime loop.
 *
 * It speaks the Runtime API's wire format (docs: aws.md (a)) and records what it receives:
 *
 *   GET  /2018-06-01/runtime/invocation/next           the next queued event, with the headers
 *        Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (now + timeout_ms),
 *        Lambda-Runtime-Invoked-Function-Arn and Lambda-Runtime-Trace-Id
 *   POST /2018-06-01/runtime/invocation/{id}/response  202; the body and headers recorded
 *   POST /2018-06-01/runtime/invocation/{id}/error     202; the body and headers recorded
 *   POST /2018-06-01/runtime/init/error                202; the body and headers recorded
 *   POST /2015-03-31/functions/{name}/invocations      the Invoke API: with
 *        X-Amz-Invocation-Type: Event and a SigV4 signature (service "lambda"; checked against
 *        aws_key_id / aws_secret when set), 202 and the payload is queued as one more event,
 *        as Lambda queues an asynchronous invocation for the function's runtime
 *   GET  /__fake/stats    everything recorded, as JSON (lambda_fake_stats_json)
 *   POST /__fake/events   queue the request body as one more event; 202 {"queued":N}
 *
 * A post for a request id never handed out is 400 InvalidRequestID; a second answer to one
 * invocation is 400 InvalidStateTransition (both counted as bad posts, nothing recorded).
 * With the queue empty, /next waits for an event, as Lambda does (its caller is frozen
 * meanwhile), or answers empty_status at once: a 500 tells a runtime to exit.
 *
 * Request ids are "fa4e0000-0000-4000-8000-<12 hex digits of the event's ordinal>", so tests
 * know them in advance: lambda_fake_request_id.
 */
#ifndef FAKES_LAMBDA_FAKE_H
#define FAKES_LAMBDA_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define LAMBDA_FAKE_ARN "arn:aws:lambda:us-east-1:123456789012:function:screener-fake"

struct lambda_fake_opts {
    int port; /* 0: an ephemeral port */
    /* Events queued at the start (copied): first these, then every *.json file of
     * events_dir in name order. */
    const char *const *events;
    size_t nevents;
    const char *events_dir;
    int64_t timeout_ms;    /* each invocation's deadline is when /next answers + this;
                              default 900000 (Lambda's maximum, 15 minutes) */
    int64_t next_delay_ms; /* every /next waits this long before answering; default 0 */
    int empty_status;      /* 0: /next waits for an event; else answer this status at once */
    uint64_t fail_next;    /* answer 500 to this /next request (1 = the first); 0: none */
    uint64_t fail_post;    /* answer 500 to this post (response, error or init error), which is
                              not recorded; 0: none */
    size_t max_payload;    /* a longer response gets 413, as from Lambda; default 6 MiB */
    /* The AWS key the Invoke API accepts (borrowed for the fake's life); NULL: any request
     * with a SigV4 Authorization header scoped to "lambda". */
    const char *aws_key_id, *aws_secret;
    const char *region; /* the region signatures must be scoped to; default us-east-1 */
};

struct lambda_fake;

int lambda_fake_start(const struct lambda_fake_opts *o, struct lambda_fake **out, int *port,
                      struct diag *d);
/* Stop serving (a /next that is waiting is dropped) and free.  NULL is a no-op. */
void lambda_fake_stop(struct lambda_fake *f);

/* Queue one more event (copied); a waiting /next gets it. */
int lambda_fake_push(struct lambda_fake *f, const char *event, size_t len, struct diag *d);

/* The request id the fake gives its n-th event (from 1). */
void lambda_fake_request_id(uint64_t n, char out[64]);

struct lambda_fake_stats {
    uint64_t next_requests;                  /* /next requests received, answered or not */
    uint64_t served;                         /* events handed out */
    uint64_t responses, errors, init_errors; /* posts recorded */
    uint64_t bad_posts;                      /* refused with 400 */
    uint64_t queued;                         /* events not handed out yet */
    int64_t started_unix_us;                 /* when the fake started listening */
    int64_t first_next_unix_us;              /* the first /next's arrival; 0 before it */
    uint64_t invokes;                        /* asynchronous invocations accepted */
    uint64_t invokes_refused;                /* refused: signature, type, payload */
};

void lambda_fake_get_stats(struct lambda_fake *f, struct lambda_fake_stats *out);

/* Append everything recorded as one JSON object:
 *   {"next_requests":N,"served":N,"responses":N,"errors":N,"init_errors":N,"bad_posts":N,
 *    "queued":N,"started_unix_us":T,"first_next_unix_us":T,
 *    "invocations":[{"request_id":"...","deadline_ms":T,"outcome":"pending"|"response"|
 *      "error","event":"...","body":"...","error_type":"...","content_type":"...",
 *      "headers":["Name: value",...]},...],          (in the order handed out)
 *    "init_error_posts":[{"body":"...","error_type":"...","content_type":"...",
 *      "headers":[...]},...],
 *    "invokes":N,"invokes_refused":N,"invoke_requests":[{"function":"...","type":"Event",
 *      "status":202,"error":"..."},...]}
 * Bodies are JSON strings holding the bytes received. */
int lambda_fake_stats_json(struct lambda_fake *f, struct buf *out);

#endif
