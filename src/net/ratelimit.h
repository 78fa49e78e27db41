/* ratelimit.h - a sliding-window request limiter (e.g. 200 requests in any 60 s).
 *
 * One limiter is shared by everything that calls the same API, so that together they never
 * start more than `limit` requests in any window.  It also obeys what the server says: when
 * X-RateLimit-Remaining reaches 0, or after a 429, nothing starts before the reset time.
 * Times are monotonic milliseconds passed in by the caller, which keeps it a pure,
 * testable state machine.
 */
#ifndef NET_RATELIMIT_H
#define NET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct ratelimit {
    size_t limit;
    int64_t window_ms;
    int64_t margin_ms; /* slack for clock and latency differences with the server */
    int64_t *starts;   /* ring of the last `limit` start times */
    size_t head, count;
    int64_t blocked_until_ms;
};

/* limit >= 1, window_ms >= 1. */
int ratelimit_init(struct ratelimit *rl, size_t limit, int64_t window_ms, struct diag *d);
void ratelimit_release(struct ratelimit *rl);

/* How long to wait before one more request may start at now_ms (0: start now). */
int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms);

/* A request started at now_ms. */
void ratelimit_record(struct ratelimit *rl, int64_t now_ms);

/* Start nothing before until_ms (after a 429, or a server saying the budget is spent). */
void ratelimit_block_until(struct ratelimit *rl, int64_t until_ms);

/* Parse "N/Ss" or "N/MSms" (e.g. "200/60s", "20/500ms"). */
int ratelimit_parse(const char *spec, size_t *limit, int64_t *window_ms, struct diag *d);

#endif
