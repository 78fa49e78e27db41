/* alpaca_fault.c - the Alpaca simulator's faults, applied through its hooks.
 *
 * A request's fault is found by the before hook (from the request's ordinal) and carried to
 * the later hooks in alpaca_sim_call.hook_data (the kind + 1; 0 for none).
 */
#include "fakes/alpaca_fault.h"

#include "base/buf.h"
#include "codec/num.h"
#include "net/httpd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

struct alpaca_fault_set {
    struct alpaca_fault *faults;
    size_t nfaults;
    char **missing;
    size_t nmissing;
    int64_t slow_ms;

    pthread_mutex_t mu; /* guards what follows */
    struct alpaca_fault_trading *trading;
    size_t ntrading;
    /* The trading faults count from the first trading request after they were set: the
     * simulator's trading ordinal minus base. */
    uint64_t base;
    int rebase;
};

/* ---- specs ---- */

static const char *const fault_names[ALPACA_FAULT_COUNT_] = {
    "429",       "500",     "502",         "503",       "slow",     "reset",   "truncate",
    "malformed", "html403", "neverending", "wrongtype", "badprice", "highlow", "duptime",
};

static const char *const trading_names[ALPACA_FAULT_TRADING_COUNT_] = {
    "401", "403", "429", "500", "503", "malformed", "missing", "nulls", "garbage",
};

const char *alpaca_fault_name(enum alpaca_fault_kind kind)
{
    return (unsigned)kind < ALPACA_FAULT_COUNT_ ? fault_names[kind] : "unknown";
}

const char *alpaca_fault_trading_name(enum alpaca_fault_trading_kind kind)
{
    return (unsigned)kind < ALPACA_FAULT_TRADING_COUNT_ ? trading_names[kind] : "unknown";
}

/* KIND[@N[xCOUNT]]: the kind's index in names, first and count (every request from 1 when
 * there is no @ and bare is allowed).  -1 when malformed. */
static int parse_spec(const char *spec, const char *const *names, int nnames, int bare,
                      uint64_t *first_out, uint64_t *count_out)
{
    const char *at = strchr(spec, '@');
    if (!at && !bare)
        return -1;
    size_t klen = at ? (size_t)(at - spec) : strlen(spec);
    int kind = -1;
    for (int i = 0; i < nnames; i++)
        if (strlen(names[i]) == klen && memcmp(spec, names[i], klen) == 0)
            kind = i;
    if (kind < 0)
        return -1;
    int64_t first = 1, count = INT64_MAX;
    if (at) {
        const char *n = at + 1;
        const char *x = strchr(n, 'x');
        count = 1;
        if (num_parse_int(n, x ? (size_t)(x - n) : strlen(n), &first) != ERR_OK || first < 1)
            return -1;
        if (x && (num_parse_int(x + 1, strlen(x + 1), &count) != ERR_OK || count < 1))
            return -1;
    }
    *first_out = (uint64_t)first;
    *count_out = (uint64_t)count;
    return kind;
}

int alpaca_fault_parse(const char *spec, struct alpaca_fault *out, struct diag *d)
{
    int kind = parse_spec(spec, fault_names, ALPACA_FAULT_COUNT_, 0, &out->first, &out->count);
    if (kind < 0)
        return diag_set(d, ERR_INVALID,
                        "fault '%s': expected KIND@N or KIND@NxCOUNT (N from 1), KIND one of "
                        "429, 500, 502, 503, slow, reset, truncate, malformed, html403, "
                        "neverending, wrongtype, badprice, highlow, duptime",
                        spec);
    out->kind = (enum alpaca_fault_kind)kind;
    return ERR_OK;
}

int alpaca_fault_trading_parse(const char *spec, struct alpaca_fault_trading *out, struct diag *d)
{
    int kind =
        parse_spec(spec, trading_names, ALPACA_FAULT_TRADING_COUNT_, 1, &out->first, &out->count);
    if (kind < 0)
        return diag_set(d, ERR_INVALID,
                        "trading fault '%s': expected KIND, KIND@N or KIND@NxCOUNT (N from 1), "
                        "KIND one of 401, 403, 429, 500, 503, malformed, missing, nulls, "
                        "garbage",
                        spec);
    out->kind = (enum alpaca_fault_trading_kind)kind;
    return ERR_OK;
}

/* ---- the set ---- */

void alpaca_fault_opts_default(struct alpaca_fault_opts *o)
{
    memset(o, 0, sizeof *o);
    o->slow_ms = 15000;
}

int alpaca_fault_set_new(const struct alpaca_fault_opts *o, struct alpaca_fault_set **out,
                         struct diag *d)
{
    if (o->slow_ms < 0)
        return diag_set(d, ERR_INVALID, "simulator faults: the slow delay must not be negative");
    struct alpaca_fault_set *fs = calloc(1, sizeof *fs);
    if (!fs)
        return diag_set(d, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&fs->mu, NULL);
    fs->slow_ms = o->slow_ms;
    fs->faults = calloc(o->nfaults ? o->nfaults : 1, sizeof *fs->faults);
    fs->missing = calloc(o->nmissing ? o->nmissing : 1, sizeof *fs->missing);
    int err = fs->faults && fs->missing ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    if (!err && o->nfaults)
        memcpy(fs->faults, o->faults, o->nfaults * sizeof *fs->faults);
    fs->nfaults = err ? 0 : o->nfaults;
    for (size_t i = 0; !err && i < o->nmissing; i++) {
        if (!(fs->missing[i] = strdup(o->missing[i])))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        else
            fs->nmissing++;
    }
    if (!err)
        err = alpaca_fault_set_trading(fs, o->trading, o->ntrading, d);
    if (err) {
        alpaca_fault_set_free(fs);
        return err;
    }
    *out = fs;
    return ERR_OK;
}

void alpaca_fault_set_free(struct alpaca_fault_set *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->nmissing; i++)
        free(fs->missing[i]);
    free(fs->missing);
    free(fs->faults);
    free(fs->trading);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

int alpaca_fault_set_trading(struct alpaca_fault_set *fs, const struct alpaca_fault_trading *f,
                             size_t n, struct diag *d)
{
    struct alpaca_fault_trading *copy = calloc(n ? n : 1, sizeof *copy);
    if (!copy)
        return diag_set(d, ERR_NOMEM, "out of memory");
    if (n)
        memcpy(copy, f, n * sizeof *f);
    pthread_mutex_lock(&fs->mu);
    free(fs->trading);
    fs->trading = copy;
    fs->ntrading = n;
    fs->rebase = 1;
    pthread_mutex_unlock(&fs->mu);
    return ERR_OK;
}

/* ---- the hooks ---- */

static int is_trading(enum alpaca_sim_endpoint ep)
{
    return ep == ALPACA_SIM_EP_ACCOUNT || ep == ALPACA_SIM_EP_POSITIONS ||
           ep == ALPACA_SIM_EP_HISTORY;
}

static int find_fault(const struct alpaca_fault_set *fs, uint64_t ordinal)
{
    for (size_t i = 0; i < fs->nfaults; i++) {
        const struct alpaca_fault *f = &fs->faults[i];
        if (ordinal >= f->first && ordinal - f->first < f->count)
            return (int)f->kind;
    }
    return -1;
}

static int find_trading(struct alpaca_fault_set *fs, uint64_t ordinal)
{
    int kind = -1;
    pthread_mutex_lock(&fs->mu);
    if (fs->rebase) {
        fs->base = ordinal - 1;
        fs->rebase = 0;
    }
    if (ordinal <= fs->base) /* the simulator's counters were reset */
        fs->base = 0;
    uint64_t n = ordinal - fs->base;
    for (size_t i = 0; i < fs->ntrading && kind < 0; i++) {
        const struct alpaca_fault_trading *f = &fs->trading[i];
        if (n >= f->first && n - f->first < f->count)
            kind = (int)f->kind;
    }
    pthread_mutex_unlock(&fs->mu);
    return kind;
}

/* The request's fault kind (its namespace follows from the endpoint), or -1. */
static int kind_of(const struct alpaca_sim_call *call)
{
    return (int)call->hook_data - 1;
}

static void reply_json_error(struct httpd_response *r, int status, const char *msg)
{
    struct buf b;
    buf_init(&b, 1024);
    if (buf_puts(&b, "{\"message\":\"") || buf_json_escape(&b, msg, strlen(msg)) ||
        buf_puts(&b, "\"}"))
        alpaca_sim_reply_json(r, 500, "{\"message\":\"out of memory\"}");
    else
        alpaca_sim_reply_json(r, status, buf_cstr(&b));
    buf_release(&b);
}

static int hides(void *ctx, const char *symbol)
{
    const struct alpaca_fault_set *fs = ctx;
    for (size_t i = 0; i < fs->nmissing; i++)
        if (strcmp(fs->missing[i], symbol) == 0)
            return 1;
    return 0;
}

static int before_bars(struct alpaca_fault_set *fs, struct alpaca_sim_call *call,
                       struct httpd_response *r)
{
    int kind = find_fault(fs, call->ordinal);
    if (kind < 0)
        return 0;
    call->hook_data = kind + 1;
    const char *name = alpaca_fault_name((enum alpaca_fault_kind)kind);
    switch (kind) {
    case ALPACA_FAULT_429:
        alpaca_sim_reply_429(call->sim, r, 1);
        break;
    case ALPACA_FAULT_500:
        alpaca_sim_reply_json(r, 500, "{\"code\":50010000,\"message\":\"internal server error\"}");
        break;
    case ALPACA_FAULT_502:
        alpaca_sim_reply_nginx(r, 502, "Bad Gateway");
        break;
    case ALPACA_FAULT_503:
        alpaca_sim_reply_nginx(r, 503, "Service Temporarily Unavailable");
        break;
    case ALPACA_FAULT_HTML403:
        alpaca_sim_reply_nginx(r, 403, "Forbidden");
        break;
    case ALPACA_FAULT_RESET:
        r->action = HTTPD_DROP;
        break;
    case ALPACA_FAULT_SLOW:
        call->altered = name;
        call->hold_ms += fs->slow_ms; /* on top of the simulator's latency */
        return 0;
    default:
        return 0; /* applied to the page or the finished answer */
    }
    call->altered = name;
    return 1;
}

static int before_trading(struct alpaca_fault_set *fs, struct alpaca_sim_call *call,
                          struct httpd_response *r)
{
    int kind = find_trading(fs, call->ordinal);
    if (kind < 0)
        return 0;
    call->hook_data = kind + 1;
    call->altered = alpaca_fault_trading_name((enum alpaca_fault_trading_kind)kind);
    switch (kind) {
    case ALPACA_FAULT_TRADING_401:
        alpaca_sim_reply_json(r, 401,
                              "{\"code\":40110000,\"message\":\"request is not authorized\"}");
        return 1;
    case ALPACA_FAULT_TRADING_403:
        alpaca_sim_reply_json(r, 403, "{\"message\":\"forbidden.\"}");
        return 1;
    case ALPACA_FAULT_TRADING_429:
        alpaca_sim_reply_json(r, 429, "{\"message\":\"too many requests.\"}");
        httpd_response_header(r, "Retry-After", "1");
        return 1;
    case ALPACA_FAULT_TRADING_500:
        alpaca_sim_reply_json(r, 500, "{\"code\":50010000,\"message\":\"internal server error\"}");
        return 1;
    case ALPACA_FAULT_TRADING_503:
        alpaca_sim_reply_nginx(r, 503, "Service Temporarily Unavailable");
        return 1;
    default:
        return 0; /* applied to the money members or the finished answer */
    }
}

static int before(void *ctx, struct alpaca_sim_call *call, struct httpd_response *r)
{
    if (call->ep == ALPACA_SIM_EP_BARS)
        return before_bars(ctx, call, r);
    if (is_trading(call->ep))
        return before_trading(ctx, call, r);
    return 0;
}

static int same_symbol(const struct alpaca_sim_page *p, size_t i, size_t j)
{
    return strcmp(p->bars[i].symbol, p->bars[j].symbol) == 0;
}

/* The data faults: the middle bar of a page that has bars. */
static void page(void *ctx, struct alpaca_sim_call *call, struct alpaca_sim_page *p)
{
    (void)ctx;
    int kind = kind_of(call);
    if (call->ep != ALPACA_SIM_EP_BARS || kind < ALPACA_FAULT_NEVERENDING || p->n == 0)
        return;
    call->altered = alpaca_fault_name((enum alpaca_fault_kind)kind);
    if (kind == ALPACA_FAULT_NEVERENDING) {
        memcpy(p->next_token, p->first_token, sizeof p->next_token);
        return;
    }
    size_t v = p->n / 2;
    struct alpaca_sim_page_bar *b = &p->bars[v];
    switch (kind) {
    case ALPACA_FAULT_WRONGTYPE:
        b->o_text = "\"abc\"";
        break;
    case ALPACA_FAULT_BADPRICE:
        b->c = 0;
        break;
    case ALPACA_FAULT_HIGHLOW:
        b->h = b->l - (b->l / 10 > 0 ? b->l / 10 : 1);
        break;
    case ALPACA_FAULT_DUPTIME:
        /* The bar takes its predecessor's time; the first bar of a symbol has none in the
         * page, so then the next one does, or the bar is repeated. */
        if (v == 0 || !same_symbol(p, v, v - 1)) {
            if (v + 1 < p->n && same_symbol(p, v, v + 1)) {
                v++;
            } else if (p->n < p->cap) {
                memmove(&p->bars[v + 1], &p->bars[v], (p->n - v) * sizeof *p->bars);
                p->n++;
                return;
            } else {
                return;
            }
        }
        memcpy(p->bars[v].t, p->bars[v - 1].t, sizeof p->bars[v].t);
        break;
    default:
        break;
    }
}

static const char *money(void *ctx, struct alpaca_sim_call *call, const char *object,
                         const char *member)
{
    (void)ctx;
    (void)member;
    int history = strcmp(object, "history") == 0;
    switch (is_trading(call->ep) ? kind_of(call) : -1) {
    case ALPACA_FAULT_TRADING_MISSING:
        return history ? NULL : "";
    case ALPACA_FAULT_TRADING_NULLS:
        return "null";
    case ALPACA_FAULT_TRADING_GARBAGE:
        return history ? NULL : "\"abc\"";
    default:
        return NULL;
    }
}

/* Cut the JSON in the middle and leave it unbalanced. */
static void malform(struct httpd_response *r)
{
    r->body.len /= 2;
    r->body.data[r->body.len] = '\0';
    buf_puts(&r->body, "{]");
}

static void after(void *ctx, struct alpaca_sim_call *call, struct httpd_response *r)
{
    (void)ctx;
    int kind = kind_of(call);
    if (r->status != 200 || kind < 0)
        return;
    if (call->ep == ALPACA_SIM_EP_BARS && kind == ALPACA_FAULT_MALFORMED) {
        malform(r);
        call->altered = alpaca_fault_name(ALPACA_FAULT_MALFORMED);
    } else if (call->ep == ALPACA_SIM_EP_BARS && kind == ALPACA_FAULT_TRUNCATE) {
        r->action = HTTPD_TRUNCATE;
        call->altered = alpaca_fault_name(ALPACA_FAULT_TRUNCATE);
    } else if (is_trading(call->ep) && kind == ALPACA_FAULT_TRADING_MALFORMED) {
        malform(r);
    }
}

/* POST /__sim/trading-fault: one spec, or an empty body for none. */
static int control(void *ctx, struct alpaca_sim *s, const struct httpd_request *req,
                   struct httpd_response *r)
{
    (void)s;
    struct alpaca_fault_set *fs = ctx;
    if (strcmp(req->path, "/__sim/trading-fault") != 0)
        return 0;
    if (strcmp(req->method, "POST") != 0) {
        reply_json_error(r, 405, "method not allowed");
        return 1;
    }
    struct diag d = {{0}};
    struct alpaca_fault_trading f;
    char spec[64];
    size_t n = req->body_len;
    while (n && (req->body[n - 1] == '\n' || req->body[n - 1] == ' '))
        n--;
    int err;
    if (n >= sizeof spec || memchr(req->body, '\0', n)) {
        err = diag_set(&d, ERR_INVALID, "trading fault: expected a spec such as 500@1x2");
    } else {
        memcpy(spec, req->body, n);
        spec[n] = '\0';
        err = n ? alpaca_fault_trading_parse(spec, &f, &d) : ERR_OK;
        if (!err)
            err = alpaca_fault_set_trading(fs, &f, n ? 1 : 0, &d);
    }
    if (err)
        reply_json_error(r, 400, d.text);
    else
        alpaca_sim_reply_json(r, 200, "{\"ok\":true}");
    return 1;
}

struct alpaca_sim_hooks alpaca_fault_set_hooks(struct alpaca_fault_set *fs)
{
    return (struct alpaca_sim_hooks){
        .ctx = fs,
        .hides = hides,
        .before = before,
        .page = page,
        .money = money,
        .after = after,
        .control = control,
    };
}
