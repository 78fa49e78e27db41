/* fetch.h - a polite API client: several requests in flight, a shared rate limit, and the
 * retry policy every outside API gets.
 *
 *   - 429: wait Retry-After (or until X-RateLimit-Reset), pausing every request that shares
 *     the limiter, then try again (up to max_rate_waits times per request);
 *   - 5xx, 408, timeouts, resets, truncated bodies, and 2xx bodies that the caller's accept
 *     function rejects: exponential backoff with jitter, at most max_retries more attempts;
 *   - 401/403 and other 4xx: not retried.
 *
 * Requests are queued with fetch_submit and run by fetch_run, which returns when nothing is
 * queued or in flight (or after fetch_stop).  Each request's done callback runs exactly once
 * (unless fetch_stop dropped it before it started) and may submit more requests, e.g. the next
 * page.  Time comes from the clock source, so tests can inject it.
 */
#ifndef NET_FETCH_H
#define NET_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/ratelimit.h"

struct fetch_opts {
    size_t concurrency;         /* requests in flight; default 5 */
    int max_retries;            /* extra attempts after transient failures; default 3 */
    int max_rate_waits;         /* 429s survived per request; default 10 */
    int64_t timeout_ms;         /* per attempt; default 10000 */
    int64_t backoff_base_ms;    /* first backoff; default 500, doubling */
    int64_t backoff_max_ms;     /* default 20000 */
    size_t max_response;        /* body cap; default 64 MiB */
    const char *const *headers; /* sent with every request, e.g. credentials; copied */
    size_t nheaders;
    struct ratelimit *limiter; /* shared, borrowed; NULL for none */
    uint64_t seed;             /* jitter */
    /* When every request must have ended, in monotonic ms (clock_mono_us() / 1000); 0: none.
     * An attempt's timeout is cut to the time left; an attempt or a wait (backoff,
     * Retry-After) that cannot end FETCH_DEADLINE_MARGIN_MS before it is not started, and the
     * request ends with ERR_TIMEOUT ("no time left"; then resp->total_s is -1 when no attempt
     * was made at all) or its last error. */
    int64_t deadline_ms;
};

#define FETCH_DEADLINE_MARGIN_MS 100 /* the least time an attempt is started with */

void fetch_opts_default(struct fetch_opts *o);

struct fetch_stats {
    uint64_t requests; /* attempts started */
    uint64_t retries;  /* attempts after the first */
    uint64_t rate_limited;
    uint64_t server_errors;
    uint64_t timeouts;
    uint64_t network_errors;
    uint64_t rejected; /* 2xx bodies refused by accept */
    uint64_t bytes;
    int64_t throttled_ms; /* time nothing could start because of the rate limit */
};

/* Check a 2xx response; a non-zero return (with d set) makes it a transient failure. */
typedef int (*fetch_accept_fn)(void *ctx, const struct http_response *resp, struct diag *d);

/* For APIs that say how long to wait in the body of a 429 (Telegram's
 * parameters.retry_after) rather than in a header: the wait in milliseconds, or a negative
 * value when the body does not say.  A Retry-After header, when present, wins. */
typedef int64_t (*fetch_retry_after_fn)(void *ctx, const struct http_response *resp);

/* The final outcome: ERR_OK for an accepted 2xx; ERR_AUTH for 401/403; ERR_INVALID for any
 * other 4xx; ERR_RATELIMIT, ERR_UNAVAILABLE (5xx), ERR_TIMEOUT, ERR_NETWORK or the accept
 * function's error when the retries ran out; ERR_TOOBIG.  resp is the last response (status
 * 0 when none arrived), valid during the call. */
typedef void (*fetch_done_fn)(void *ctx, int err, struct http_response *resp, const struct diag *d);

struct fetch_req {
    const char *method; /* default GET */
    const char *url;
    const char *const *headers; /* in addition to the client's; copied */
    size_t nheaders;
    const void *body;
    size_t body_len;
    fetch_accept_fn accept;           /* optional */
    fetch_retry_after_fn retry_after; /* optional */
    fetch_done_fn done;
    void *ctx;
    /* The request must not take effect twice (a message sent): a failure after which the
     * server may have acted (a timeout, a dropped connection, an unreadable answer) is not
     * retried.  Answers that say the server did not act (429, 5xx) still are. */
    int at_most_once;
    /* 0: the body is copied; 1: every attempt sends it from where it is, which must stay
     * unchanged until done is called (a PUT of a big object is not held twice). */
    int body_borrowed;
};

struct fetch;

/* http is borrowed (connections are kept across runs and clients). */
int fetch_new(struct http_client *http, const struct fetch_opts *o, struct fetch **out,
              struct diag *d);
void fetch_free(struct fetch *f);

int fetch_submit(struct fetch *f, const struct fetch_req *r, struct diag *d);

/* Run until idle.  Returns an error only when the machinery itself fails. */
int fetch_run(struct fetch *f, struct diag *d);

/* Start the requests submitted that may start now and let them go out (http_kick), without
 * waiting or completing any: for a done callback that submitted requests and has more work
 * before fetch_run goes on.  A done callback of a request that cannot start (no time left
 * before the deadline) may be called from here. */
int fetch_kick(struct fetch *f, struct diag *d);

/* Change the deadline (fetch_opts.deadline_ms) for what starts from now on. */
void fetch_set_deadline(struct fetch *f, int64_t deadline_ms);
int64_t fetch_deadline(const struct fetch *f);

/* Start nothing more: queued requests are dropped, those in flight finish. */
void fetch_stop(struct fetch *f);

const struct fetch_stats *fetch_get_stats(const struct fetch *f);

/* "HTTP 403 from <url without query>: <message>" where the message is the body's JSON
 * "message" (or "description", or "error"), else its first line of text, made printable. */
int fetch_status_error(int err, const struct http_response *resp, const char *url, struct diag *d);

/* Exponential backoff with jitter for attempt 1, 2, ...: uniform in [b/2, b] where
 * b = min(base * 2^(attempt-1), max). */
int64_t fetch_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, uint64_t *rng);

#endif
