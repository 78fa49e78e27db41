/* fetch.c - queue, rate limit and retries over the HTTP client. */
#include "net/fetch.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "codec/json.h"

#include "base/banned.h"

struct item {
    struct item *next;
    char *method, *url;
    char **headers; /* the client's, then the request's */
    size_t nheaders;
    const char *body; /* what is sent: the caller's (borrowed) or owned */
    size_t body_len;
    char *owned; /* the copy body points at when not borrowed */
    fetch_accept_fn accept;
    fetch_retry_after_fn retry_after;
    fetch_done_fn done;
    void *ctx;
    int attempts;   /* attempts started */
    int failures;   /* transient failures so far */
    int rate_waits; /* 429s so far */
    int at_most_once;
    int64_t not_before_ms;
    struct fetch *owner;
};

struct fetch {
    struct http_client *http;
    struct fetch_opts o;
    char **headers;
    struct item *queue, *queue_tail;
    size_t inflight;
    int stopped;
    uint64_t rng;
    struct fetch_stats stats;
};

void fetch_opts_default(struct fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 5;
    o->max_retries = 3;
    o->max_rate_waits = 10;
    o->timeout_ms = 10000;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = 20000;
    o->max_response = (size_t)64 << 20;
}

static int64_t now_ms(void)
{
    return clock_mono_us() / 1000;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int fetch_new(struct http_client *http, const struct fetch_opts *o, struct fetch **out,
              struct diag *d)
{
    struct fetch *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    f->http = http;
    f->o = *o;
    if (!f->o.concurrency)
        f->o.concurrency = 1;
    f->rng = o->seed ? o->seed : (uint64_t)clock_mono_us() | 1;
    if (o->nheaders) {
        f->headers = calloc(o->nheaders, sizeof *f->headers);
        for (size_t i = 0; f->headers && i < o->nheaders; i++)
            if (!(f->headers[i] = strdup(o->headers[i]))) {
                free_strings(f->headers, o->nheaders);
                f->headers = NULL;
            }
        if (!f->headers) {
            free(f);
            return diag_set(d, ERR_NOMEM, "out of memory");
        }
    }
    f->o.headers = NULL;
    *out = f;
    return ERR_OK;
}

static void item_free(struct item *it)
{
    free(it->method);
    free(it->url);
    free_strings(it->headers, it->nheaders);
    free(it->owned);
    free(it);
}

void fetch_free(struct fetch *f)
{
    if (!f)
        return;
    while (f->queue) {
        struct item *it = f->queue;
        f->queue = it->next;
        item_free(it);
    }
    free_strings(f->headers, f->o.nheaders);
    free(f);
}

static void enqueue(struct fetch *f, struct item *it)
{
    it->next = NULL;
    if (f->queue_tail)
        f->queue_tail->next = it;
    else
        f->queue = it;
    f->queue_tail = it;
}

int fetch_submit(struct fetch *f, const struct fetch_req *r, struct diag *d)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return diag_set(d, ERR_NOMEM, "out of memory");
    it->owner = f;
    it->method = strdup(r->method ? r->method : "GET");
    it->url = strdup(r->url);
    it->nheaders = f->o.nheaders + r->nheaders;
    it->headers = it->nheaders ? calloc(it->nheaders, sizeof *it->headers) : NULL;
    int ok = it->method && it->url && (!it->nheaders || it->headers);
    for (size_t i = 0; ok && i < it->nheaders; i++) {
        const char *h = i < f->o.nheaders ? f->headers[i] : r->headers[i - f->o.nheaders];
        ok = (it->headers[i] = strdup(h)) != NULL;
    }
    if (ok && r->body && r->body_borrowed) {
        it->body = r->body;
        it->body_len = r->body_len;
    } else if (ok && r->body) {
        it->owned = malloc(r->body_len ? r->body_len : 1);
        ok = it->owned != NULL;
        if (ok)
            memcpy(it->owned, r->body, r->body_len);
        it->body = it->owned;
        it->body_len = r->body_len;
    }
    if (!ok) {
        item_free(it);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    it->accept = r->accept;
    it->retry_after = r->retry_after;
    it->done = r->done;
    it->ctx = r->ctx;
    it->at_most_once = r->at_most_once;
    it->not_before_ms = INT64_MIN;
    enqueue(f, it);
    return ERR_OK;
}

void fetch_set_deadline(struct fetch *f, int64_t deadline_ms)
{
    f->o.deadline_ms = deadline_ms;
}

int64_t fetch_deadline(const struct fetch *f)
{
    return f->o.deadline_ms;
}

/* Whether a wait of delay_ms and then an attempt still fit before the deadline. */
static int fits(const struct fetch *f, int64_t delay_ms)
{
    return !f->o.deadline_ms || now_ms() + delay_ms + FETCH_DEADLINE_MARGIN_MS < f->o.deadline_ms;
}

void fetch_stop(struct fetch *f)
{
    f->stopped = 1;
    while (f->queue) {
        struct item *it = f->queue;
        f->queue = it->next;
        item_free(it);
    }
    f->queue_tail = NULL;
}

const struct fetch_stats *fetch_get_stats(const struct fetch *f)
{
    return &f->stats;
}

static uint64_t next_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t fetch_backoff_ms(int64_t base_ms, int64_t max_ms, int attempt, uint64_t *rng)
{
    int64_t b = base_ms;
    for (int i = 1; i < attempt && b < max_ms; i++)
        b *= 2;
    if (b > max_ms)
        b = max_ms;
    if (b < 2)
        return b;
    int64_t half = b / 2;
    return half + (int64_t)(next_rand(rng) % (uint64_t)(b - half + 1));
}

/* Copy at most cap-1 printable characters of s (n bytes) into out. */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r') {
            if (j)
                break;
            continue;
        }
        out[j++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[j] = '\0';
}

int fetch_status_error(int err, const struct http_response *resp, const char *url, struct diag *d)
{
    char where[256];
    size_t n = strcspn(url, "?#");
    printable(where, n + 1 < sizeof where ? n + 1 : sizeof where, url, n);
    char msg[240] = "";
    struct jv *root = NULL;
    if (resp->body.len && jv_parse(resp->body.data, resp->body.len, &root, NULL) == ERR_OK) {
        static const char *const keys[] = {"message", "description", "error"};
        for (size_t i = 0; i < 3 && !*msg; i++) {
            size_t len;
            const char *s = jv_str(jv_get(root, keys[i]), &len);
            if (s)
                printable(msg, sizeof msg, s, len);
        }
        jv_free(root);
    }
    if (!*msg && resp->body.len) {
        /* An HTML error page (proxies answer with nginx pages): its title says enough. */
        const char *b = resp->body.data;
        size_t len = resp->body.len;
        const char *t = memmem(b, len, "<title>", 7);
        if (t) {
            t += 7;
            const char *e = memmem(t, len - (size_t)(t - b), "</title>", 8);
            printable(msg, sizeof msg, t, e ? (size_t)(e - t) : 0);
        } else {
            printable(msg, sizeof msg, b, len);
        }
    }
    if (resp->status == 0)
        return diag_set(d, err, "no response from %s", where);
    return diag_set(d, err, "HTTP %ld from %s%s%s", resp->status, where, *msg ? ": " : "", msg);
}

static void deliver(struct item *it, int err, struct http_response *resp, const struct diag *d)
{
    it->done(it->ctx, err, resp, d);
    item_free(it);
}

/* Put it back in the queue to start no sooner than delay_ms from now. */
static void requeue(struct fetch *f, struct item *it, int64_t delay_ms)
{
    it->not_before_ms = now_ms() + delay_ms;
    f->stats.retries++;
    enqueue(f, it);
}

static void observe_limits(struct fetch *f, const struct http_response *resp)
{
    if (!f->o.limiter || resp->ratelimit_remaining != 0 ||
        resp->ratelimit_reset == HTTP_HEADER_ABSENT)
        return;
    /* The server says the window's budget is spent: nothing starts before its reset. */
    int64_t wait = resp->ratelimit_reset * 1000 - clock_wall_ms();
    if (wait > 0 && wait <= 3600 * 1000)
        ratelimit_block_until(f->o.limiter, now_ms() + wait + 50);
}

static void on_http_done(void *ctx, int err, struct http_response *resp, const struct diag *hd)
{
    struct item *it = ctx;
    struct fetch *f = it->owner;
    f->inflight--;
    f->stats.bytes += resp->body.len;
    struct diag d = {{0}};
    if (hd)
        d = *hd;
    int transient = 0;
    int64_t delay = 0;
    observe_limits(f, resp);
    if (err) {
        if (err == ERR_TIMEOUT)
            f->stats.timeouts++;
        else if (err == ERR_NETWORK)
            f->stats.network_errors++;
        transient = (err == ERR_TIMEOUT || err == ERR_NETWORK) && !it->at_most_once;
    } else if (resp->status >= 200 && resp->status < 300) {
        if (it->accept && (err = it->accept(it->ctx, resp, &d)) != ERR_OK) {
            f->stats.rejected++;
            transient = !it->at_most_once;
        }
    } else if (resp->status == 429) {
        f->stats.rate_limited++;
        delay = -1;
        if (resp->retry_after_s != HTTP_HEADER_ABSENT)
            delay = resp->retry_after_s * 1000;
        else if (it->retry_after)
            delay = it->retry_after(it->ctx, resp);
        if (delay < 0 && resp->ratelimit_reset != HTTP_HEADER_ABSENT)
            delay = resp->ratelimit_reset * 1000 - clock_wall_ms();
        if (delay <= 0 || delay > 3600 * 1000)
            delay = fetch_backoff_ms(f->o.backoff_base_ms, f->o.backoff_max_ms, it->rate_waits + 1,
                                     &f->rng);
        delay += (int64_t)(next_rand(&f->rng) % 100);
        fetch_status_error(ERR_RATELIMIT, resp, it->url, &d);
        if (f->o.limiter)
            ratelimit_block_until(f->o.limiter, now_ms() + delay);
        if (++it->rate_waits <= f->o.max_rate_waits && !f->stopped && fits(f, delay)) {
            log_info("rate limited, waiting", LF_INT("wait_ms", delay),
                     LF_INT("attempt", it->attempts));
            requeue(f, it, delay);
            return;
        }
        err = ERR_RATELIMIT;
    } else if (resp->status >= 500 || resp->status == 408) {
        f->stats.server_errors++;
        err = fetch_status_error(ERR_UNAVAILABLE, resp, it->url, &d);
        transient = 1;
        if (resp->retry_after_s != HTTP_HEADER_ABSENT && resp->retry_after_s <= 3600)
            delay = resp->retry_after_s * 1000;
    } else if (resp->status == 401 || resp->status == 403) {
        err = fetch_status_error(ERR_AUTH, resp, it->url, &d);
    } else {
        err = fetch_status_error(ERR_INVALID, resp, it->url, &d);
    }
    if (transient) {
        if (++it->failures <= f->o.max_retries && !f->stopped) {
            int64_t b =
                fetch_backoff_ms(f->o.backoff_base_ms, f->o.backoff_max_ms, it->failures, &f->rng);
            if (b > delay)
                delay = b;
            if (!fits(f, delay)) {
                deliver(it, err, resp, &d);
                return;
            }
            log_info("request failed, retrying", LF_STR("error", d.text),
                     LF_INT("attempt", it->attempts), LF_INT("wait_ms", delay));
            requeue(f, it, delay);
            return;
        }
    }
    deliver(it, err, resp, &d);
}

/* Take the first queued item that may start at now; NULL when none. */
static struct item *take_ready(struct fetch *f, int64_t now, int64_t *next_ms)
{
    struct item *prev = NULL;
    for (struct item *it = f->queue; it; prev = it, it = it->next) {
        if (it->not_before_ms > now) {
            if (it->not_before_ms < *next_ms)
                *next_ms = it->not_before_ms;
            continue;
        }
        if (prev)
            prev->next = it->next;
        else
            f->queue = it->next;
        if (f->queue_tail == it)
            f->queue_tail = prev;
        it->next = NULL;
        return it;
    }
    return NULL;
}

static int start(struct fetch *f, struct item *it, struct diag *d)
{
    int64_t timeout = f->o.timeout_ms;
    if (f->o.deadline_ms) {
        int64_t left = f->o.deadline_ms - now_ms();
        if (left < FETCH_DEADLINE_MARGIN_MS) {
            /* Not started: the request surely did not take effect. */
            struct http_response none;
            memset(&none, 0, sizeof none);
            none.retry_after_s = none.ratelimit_limit = none.ratelimit_remaining =
                none.ratelimit_reset = HTTP_HEADER_ABSENT;
            none.total_s = it->attempts ? 0 : -1;
            struct diag td = {{0}};
            diag_set(&td, ERR_TIMEOUT, "no time left before the deadline for %s", it->method);
            deliver(it, ERR_TIMEOUT, &none, &td);
            return ERR_OK;
        }
        if (left < timeout)
            timeout = left;
    }
    struct http_request req = {
        .method = it->method,
        .url = it->url,
        .headers = (const char *const *)it->headers,
        .nheaders = it->nheaders,
        .body = it->body,
        .body_len = it->body_len,
        .body_borrowed = 1, /* the item outlives its transfers */
        .timeout_ms = timeout,
        .max_response = f->o.max_response,
    };
    int err = http_start(f->http, &req, on_http_done, it, d);
    if (err)
        return err;
    it->attempts++;
    f->inflight++;
    f->stats.requests++;
    if (f->o.limiter)
        ratelimit_record(f->o.limiter, now_ms());
    return ERR_OK;
}

/* Start the queued requests that may start at now, within the concurrency; *next gets the
 * time the next one may (or is left). */
static int start_ready(struct fetch *f, int64_t now, int64_t *next, struct diag *d)
{
    while (!f->stopped && f->inflight < f->o.concurrency && f->queue) {
        int64_t wait = f->o.limiter ? ratelimit_wait_ms(f->o.limiter, now) : 0;
        if (wait > 0) {
            if (now + wait < *next)
                *next = now + wait;
            break;
        }
        struct item *it = take_ready(f, now, next);
        if (!it)
            break;
        int err = start(f, it, d);
        if (err) {
            item_free(it);
            return err;
        }
    }
    return ERR_OK;
}

int fetch_kick(struct fetch *f, struct diag *d)
{
    int64_t next = INT64_MAX;
    int err = start_ready(f, now_ms(), &next, d);
    if (!err)
        http_kick(f->http);
    return err;
}

int fetch_run(struct fetch *f, struct diag *d)
{
    while (f->inflight || (f->queue && !f->stopped)) {
        int64_t now = now_ms();
        int64_t next = INT64_MAX;
        int err = start_ready(f, now, &next, d);
        if (err)
            return err;
        int64_t wait = next == INT64_MAX ? 1000 : next - now;
        if (wait < 0)
            wait = 0;
        if (f->inflight) {
            if ((err = http_poll(f->http, wait, d)))
                return err;
        } else if (f->queue && !f->stopped) {
            if (f->o.limiter && ratelimit_wait_ms(f->o.limiter, now) > 0)
                f->stats.throttled_ms += wait;
            clock_sleep_ms(wait);
        }
    }
    return ERR_OK;
}
