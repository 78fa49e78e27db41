/* ratelimit.c - sliding window over the start times of the last `limit` requests. */
#include "net/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int ratelimit_init(struct ratelimit *rl, size_t limit, int64_t window_ms, struct diag *d)
{
    memset(rl, 0, sizeof *rl);
    if (limit < 1 || window_ms < 1)
        return diag_set(d, ERR_INVALID, "a rate limit needs at least 1 request per 1 ms");
    rl->starts = calloc(limit, sizeof *rl->starts);
    if (!rl->starts)
        return diag_set(d, ERR_NOMEM, "out of memory");
    rl->limit = limit;
    rl->window_ms = window_ms;
    /* A request we start at t reaches the server a little later, and two requests may
     * arrive closer together than they left: keep 2% of the window (at least 20 ms) spare. */
    rl->margin_ms = window_ms / 50 > 20 ? window_ms / 50 : 20;
    rl->blocked_until_ms = INT64_MIN;
    return ERR_OK;
}

void ratelimit_release(struct ratelimit *rl)
{
    free(rl->starts);
    rl->starts = NULL;
}

int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms)
{
    int64_t wait = 0;
    if (rl->blocked_until_ms > now_ms)
        wait = rl->blocked_until_ms - now_ms;
    if (rl->count == rl->limit) {
        /* The oldest of the last `limit` starts must leave the window first. */
        int64_t oldest = rl->starts[rl->head];
        int64_t free_at = oldest + rl->window_ms + rl->margin_ms;
        if (free_at - now_ms > wait)
            wait = free_at - now_ms;
    }
    return wait;
}

void ratelimit_record(struct ratelimit *rl, int64_t now_ms)
{
    if (rl->count < rl->limit) {
        rl->starts[(rl->head + rl->count) % rl->limit] = now_ms;
        rl->count++;
    } else {
        rl->starts[rl->head] = now_ms;
        rl->head = (rl->head + 1) % rl->limit;
    }
}

void ratelimit_block_until(struct ratelimit *rl, int64_t until_ms)
{
    if (until_ms > rl->blocked_until_ms)
        rl->blocked_until_ms = until_ms;
}

int ratelimit_parse(const char *spec, size_t *limit, int64_t *window_ms, struct diag *d)
{
    const char *p = spec;
    char *end;
    if (*p < '0' || *p > '9')
        goto bad;
    unsigned long long n = strtoull(p, &end, 10);
    if (*end != '/' || n < 1 || n > 1000000)
        goto bad;
    p = end + 1;
    if (*p < '0' || *p > '9')
        goto bad;
    unsigned long long w = strtoull(p, &end, 10);
    if (w < 1 || w > 86400000)
        goto bad;
    if (strcmp(end, "s") == 0 && w <= 86400)
        *window_ms = (int64_t)w * 1000;
    else if (strcmp(end, "ms") == 0)
        *window_ms = (int64_t)w;
    else
        goto bad;
    *limit = (size_t)n;
    return ERR_OK;
bad:
    return diag_set(d, ERR_INVALID,
                    "rate limit '%s': expected REQUESTS/SECONDSs or REQUESTS/MILLISECONDSms, "
                    "e.g. 200/60s or 20/500ms",
                    spec);
}
