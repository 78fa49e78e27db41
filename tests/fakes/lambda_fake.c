/* lambda_fake.c - the fake Lambda Runtime API (see lambda_fake.h). */
#include "fakes/lambda_fake.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/strvec.h"
#include "net/httpd.h"
#include "fakes/sigcheck.h"

#include "base/banned.h"

#define PREFIX          "/2018-06-01/runtime"
#define DEFAULT_TIMEOUT 900000
#define EVENT_MAX       ((size_t)6 << 20)
#define POST_MAX        ((size_t)7 << 20) /* a little over Lambda's limit, to answer 413 */
#define PAYLOAD_MAX     ((size_t)6 << 20) /* Lambda's synchronous response limit */

enum outcome { PENDING, RESPONDED, ERRORED };

struct invocation {
    char *event;
    size_t event_len;
    char request_id[64];
    int64_t deadline_ms;
    int served;
    enum outcome outcome;
    char *body; /* the post received */
    size_t body_len;
    struct strvec headers;
};

struct init_post {
    char *body;
    size_t body_len;
    struct strvec headers;
};

struct invoke_request {
    char function[192];
    char type[32];
    int status;
    char error[256];
};

#define MAX_INVOKES 1024

struct lambda_fake {
    struct lambda_fake_opts o;
    struct invoke_request invokes[MAX_INVOKES];
    size_t ninvokes;
    struct httpd *httpd;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an event queued, or stopping */
    int stopping;
    struct invocation *inv; /* every event, in queue order; [0, next) handed out */
    size_t ninv, cap, next;
    struct init_post *inits;
    size_t ninits;
    uint64_t posts; /* every post to the Runtime API, failed ones too */
    struct lambda_fake_stats st;
};

static int64_t unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void lambda_fake_request_id(uint64_t n, char out[64])
{
    snprintf(out, 64, "fa4e0000-0000-4000-8000-%012llx", (unsigned long long)n);
}

/* Append an event; call with the mutex held (or before serving). */
static int queue_event(struct lambda_fake *f, const char *event, size_t len)
{
    if (f->ninv == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        struct invocation *v = realloc(f->inv, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        f->inv = v;
        f->cap = cap;
    }
    struct invocation *in = &f->inv[f->ninv];
    memset(in, 0, sizeof *in);
    in->event = malloc(len + 1);
    if (!in->event)
        return ERR_NOMEM;
    memcpy(in->event, event, len);
    in->event[len] = '\0';
    in->event_len = len;
    lambda_fake_request_id(f->ninv + 1, in->request_id);
    strvec_init(&in->headers);
    f->ninv++;
    f->st.queued++;
    return ERR_OK;
}

static int name_is_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] != '.' && strcmp(name + n - 5, ".json") == 0;
}

static int queue_dir(struct lambda_fake *f, const char *dir, struct diag *d)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return diag_set(d, ERR_IO, "events directory '%s' cannot be opened", dir);
    struct strvec names;
    strvec_init(&names);
    int err = ERR_OK;
    struct dirent *e;
    while (!err && (e = readdir(dh)))
        if (name_is_json(e->d_name))
            err = strvec_push(&names, e->d_name);
    closedir(dh);
    strvec_sort(&names);
    struct buf data = BUF_INIT(EVENT_MAX);
    for (size_t i = 0; !err && i < names.n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names.v[i]);
        buf_reset(&data);
        err = file_read(path, &data, d);
        if (!err)
            err = queue_event(f, buf_cstr(&data), data.len);
    }
    buf_release(&data);
    strvec_release(&names);
    if (err == ERR_NOMEM)
        diag_set(d, err, "out of memory");
    return err;
}

static void json_reply(struct httpd_response *r, int status, const char *type, const char *msg)
{
    r->status = status;
    httpd_response_header(r, "Content-Type", "application/json");
    buf_puts(&r->body, "{\"errorMessage\":\"");
    buf_json_escape(&r->body, msg, strlen(msg));
    buf_printf(&r->body, "\",\"errorType\":\"%s\"}", type);
}

/* Wait until deadline_us (monotonic) or stopping; mutex held. */
static void wait_until(struct lambda_fake *f, int64_t deadline_us)
{
    while (!f->stopping) {
        int64_t left = deadline_us - clock_mono_us();
        if (left <= 0)
            return;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000000) * 1000;
        ts.tv_sec += (time_t)(left / 1000000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
}

static void on_next(struct lambda_fake *f, struct httpd_response *r)
{
    pthread_mutex_lock(&f->mu);
    uint64_t ordinal = ++f->st.next_requests;
    if (!f->st.first_next_unix_us)
        f->st.first_next_unix_us = unix_us();
    if (f->o.next_delay_ms > 0)
        wait_until(f, clock_mono_us() + f->o.next_delay_ms * 1000);
    if (f->o.fail_next == ordinal) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, 500, "ServiceException", "injected failure of /next");
        return;
    }
    while (f->next == f->ninv && !f->stopping && !f->o.empty_status)
        pthread_cond_wait(&f->cv, &f->mu);
    if (f->stopping) {
        pthread_mutex_unlock(&f->mu);
        r->action = HTTPD_DROP;
        return;
    }
    if (f->next == f->ninv) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, f->o.empty_status, "NoMoreEvents", "the fake has no more events");
        return;
    }
    struct invocation *in = &f->inv[f->next++];
    in->served = 1;
    in->deadline_ms = clock_wall_ms() + f->o.timeout_ms;
    f->st.served++;
    f->st.queued--;
    char deadline[32], trace[128];
    snprintf(deadline, sizeof deadline, "%lld", (long long)in->deadline_ms);
    snprintf(trace, sizeof trace, "Root=1-5bef4de7-%024llx;Parent=%016llx;Sampled=0",
             (unsigned long long)f->next, (unsigned long long)f->next);
    httpd_response_header(r, "Content-Type", "application/json");
    httpd_response_header(r, "Lambda-Runtime-Aws-Request-Id", in->request_id);
    httpd_response_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
    httpd_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", LAMBDA_FAKE_ARN);
    httpd_response_header(r, "Lambda-Runtime-Trace-Id", trace);
    buf_append(&r->body, in->event, in->event_len);
    pthread_mutex_unlock(&f->mu);
}

static int copy_post(const struct httpd_request *req, char **body, size_t *len,
                     struct strvec *headers)
{
    *body = malloc(req->body_len + 1);
    if (!*body)
        return ERR_NOMEM;
    memcpy(*body, req->body, req->body_len);
    (*body)[req->body_len] = '\0';
    *len = req->body_len;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strvec_push(headers, req->headers[i]))
            return ERR_NOMEM;
    return ERR_OK;
}

/* Count a post; whether the fault fails this one.  Mutex held. */
static int post_fails(struct lambda_fake *f)
{
    return ++f->posts == f->o.fail_post;
}

static void on_post(struct lambda_fake *f, const struct httpd_request *req, const char *id,
                    size_t idlen, int is_error, struct httpd_response *r)
{
    pthread_mutex_lock(&f->mu);
    if (post_fails(f)) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, 500, "ServiceException", "injected failure of a post");
        return;
    }
    struct invocation *in = NULL;
    for (size_t i = 0; i < f->next && !in; i++)
        if (strlen(f->inv[i].request_id) == idlen && memcmp(f->inv[i].request_id, id, idlen) == 0)
            in = &f->inv[i];
    if (!in || in->outcome != PENDING) {
        f->st.bad_posts++;
        pthread_mutex_unlock(&f->mu);
        if (!in)
            json_reply(r, 400, "InvalidRequestID", "no invocation has this request id");
        else
            json_reply(r, 400, "InvalidStateTransition", "the invocation was already answered");
        return;
    }
    if (!is_error && req->body_len > f->o.max_payload) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, 413, "RequestEntityTooLarge", "the response exceeds the payload limit");
        return;
    }
    if (copy_post(req, &in->body, &in->body_len, &in->headers)) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, 500, "ServiceException", "out of memory");
        return;
    }
    in->outcome = is_error ? ERRORED : RESPONDED;
    if (is_error)
        f->st.errors++;
    else
        f->st.responses++;
    pthread_mutex_unlock(&f->mu);
    r->status = 202;
    httpd_response_header(r, "Content-Type", "application/json");
    buf_puts(&r->body, "{\"status\":\"OK\"}");
}

static void on_init_error(struct lambda_fake *f, const struct httpd_request *req,
                          struct httpd_response *r)
{
    pthread_mutex_lock(&f->mu);
    if (post_fails(f)) {
        pthread_mutex_unlock(&f->mu);
        json_reply(r, 500, "ServiceException", "injected failure of a post");
        return;
    }
    struct init_post *v = realloc(f->inits, (f->ninits + 1) * sizeof *v);
    int err = v ? ERR_OK : ERR_NOMEM;
    if (v) {
        f->inits = v;
        struct init_post *p = &v[f->ninits];
        memset(p, 0, sizeof *p);
        strvec_init(&p->headers);
        f->ninits++;
        err = copy_post(req, &p->body, &p->body_len, &p->headers);
        f->st.init_errors++;
    }
    pthread_mutex_unlock(&f->mu);
    if (err) {
        json_reply(r, 500, "ServiceException", "out of memory");
        return;
    }
    r->status = 202;
    httpd_response_header(r, "Content-Type", "application/json");
    buf_puts(&r->body, "{\"status\":\"OK\"}");
}

/* The Invoke API, asynchronous only: the payload becomes an event for the runtime. */
static void on_invoke(struct lambda_fake *f, const struct httpd_request *req, const char *name,
                      size_t name_len, struct httpd_response *r)
{
    struct invoke_request rec = {.status = 202};
    snprintf(rec.function, sizeof rec.function, "%.*s", (int)name_len, name);
    const char *type = httpd_request_header(req, "X-Amz-Invocation-Type");
    snprintf(rec.type, sizeof rec.type, "%s", type ? type : "RequestResponse");
    struct sigcheck_refusal why = {0};
    const char *auth = httpd_request_header(req, "Authorization");
    if (f->o.aws_key_id) {
        struct sigcheck_keys k = {.key_id = f->o.aws_key_id,
                                  .secret = f->o.aws_secret,
                                  .region = f->o.region ? f->o.region : "us-east-1",
                                  .service = "lambda"};
        if (sigcheck_verify(req, &k, &why) != 0)
            rec.status = why.status;
    } else if (!auth || !strstr(auth, "/lambda/aws4_request")) {
        rec.status = 403;
        snprintf(why.type, sizeof why.type, "MissingAuthenticationTokenException");
        snprintf(why.msg, sizeof why.msg, "Missing Authentication Token");
    }
    if (rec.status == 202 && strcmp(rec.type, "Event") != 0) {
        rec.status = 400;
        snprintf(why.type, sizeof why.type, "InvalidParameterValueException");
        snprintf(why.msg, sizeof why.msg,
                 "this fake runs asynchronous (Event) invocations only, not %s", rec.type);
    }
    if (rec.status == 202 && req->body_len > (size_t)256 << 10) {
        rec.status = 413;
        snprintf(why.type, sizeof why.type, "RequestEntityTooLargeException");
        snprintf(why.msg, sizeof why.msg, "the event is over 256 KB");
    }
    struct diag d;
    if (rec.status == 202 && lambda_fake_push(f, req->body, req->body_len, &d) != ERR_OK) {
        rec.status = 500;
        snprintf(why.type, sizeof why.type, "ServiceException");
        snprintf(why.msg, sizeof why.msg, "%s", d.text);
    }
    snprintf(rec.error, sizeof rec.error, "%s", why.type);
    pthread_mutex_lock(&f->mu);
    if (rec.status == 202)
        f->st.invokes++;
    else
        f->st.invokes_refused++;
    if (f->ninvokes < MAX_INVOKES)
        f->invokes[f->ninvokes++] = rec;
    pthread_mutex_unlock(&f->mu);
    if (rec.status != 202) {
        json_reply(r, rec.status, why.type, why.msg);
        return;
    }
    r->status = 202;
    httpd_response_header(r, "Content-Type", "application/json");
}

static void handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct lambda_fake *f = ctx;
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *p = req->path;
    log_debug("fake lambda request", LF_STR("method", req->method), LF_STR("path", p));
    if (strcmp(p, "/__fake/stats") == 0 && get) {
        httpd_response_header(r, "Content-Type", "application/json");
        if (lambda_fake_stats_json(f, &r->body))
            json_reply(r, 500, "ServiceException", "the stats do not fit");
        return;
    }
    if (strcmp(p, "/__fake/events") == 0 && post) {
        struct diag d;
        if (lambda_fake_push(f, req->body, req->body_len, &d)) {
            json_reply(r, 500, "ServiceException", d.text);
            return;
        }
        pthread_mutex_lock(&f->mu);
        uint64_t queued = f->st.queued;
        pthread_mutex_unlock(&f->mu);
        r->status = 202;
        buf_printf(&r->body, "{\"queued\":%llu}", (unsigned long long)queued);
        return;
    }
    if (strcmp(p, PREFIX "/invocation/next") == 0 && get) {
        on_next(f, r);
        return;
    }
    if (strcmp(p, PREFIX "/init/error") == 0 && post) {
        on_init_error(f, req, r);
        return;
    }
    const char *inv = PREFIX "/invocation/";
    if (strncmp(p, inv, strlen(inv)) == 0 && post) {
        const char *id = p + strlen(inv), *slash = strchr(id, '/');
        if (slash && slash > id && strcmp(slash, "/response") == 0) {
            on_post(f, req, id, (size_t)(slash - id), 0, r);
            return;
        }
        if (slash && slash > id && strcmp(slash, "/error") == 0) {
            on_post(f, req, id, (size_t)(slash - id), 1, r);
            return;
        }
    }
    const char *fn = "/2015-03-31/functions/";
    if (strncmp(p, fn, strlen(fn)) == 0 && post) {
        const char *name = p + strlen(fn), *slash = strchr(name, '/');
        if (slash && slash > name && strcmp(slash, "/invocations") == 0) {
            on_invoke(f, req, name, (size_t)(slash - name), r);
            return;
        }
    }
    json_reply(r, 404, "NotFound", "no such endpoint in the Lambda Runtime API");
}

static void fake_free(struct lambda_fake *f)
{
    for (size_t i = 0; i < f->ninv; i++) {
        free(f->inv[i].event);
        free(f->inv[i].body);
        strvec_release(&f->inv[i].headers);
    }
    for (size_t i = 0; i < f->ninits; i++) {
        free(f->inits[i].body);
        strvec_release(&f->inits[i].headers);
    }
    free(f->inv);
    free(f->inits);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int lambda_fake_start(const struct lambda_fake_opts *o, struct lambda_fake **out, int *port,
                      struct diag *d)
{
    struct lambda_fake *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    f->o = *o;
    f->o.events = NULL;
    f->o.events_dir = NULL;
    if (f->o.timeout_ms <= 0)
        f->o.timeout_ms = DEFAULT_TIMEOUT;
    if (!f->o.max_payload || f->o.max_payload > PAYLOAD_MAX)
        f->o.max_payload = PAYLOAD_MAX;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    int err = ERR_OK;
    for (size_t i = 0; !err && i < o->nevents; i++)
        if (queue_event(f, o->events[i], strlen(o->events[i])))
            err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err && o->events_dir)
        err = queue_dir(f, o->events_dir, d);
    if (!err) {
        struct httpd_opts ho = {.bind_addr = "127.0.0.1",
                                .port = o->port,
                                .max_body = POST_MAX,
                                /* a /next may wait for an event much longer than this */
                                .idle_timeout_s = 3600,
                                .handler = handle,
                                .ctx = f};
        f->st.started_unix_us = unix_us();
        err = httpd_start(&ho, &f->httpd, port, d);
    }
    if (err) {
        fake_free(f);
        return err;
    }
    *out = f;
    return ERR_OK;
}

void lambda_fake_stop(struct lambda_fake *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    httpd_stop(f->httpd);
    fake_free(f);
}

int lambda_fake_push(struct lambda_fake *f, const char *event, size_t len, struct diag *d)
{
    pthread_mutex_lock(&f->mu);
    int err = queue_event(f, event, len);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return err ? diag_set(d, err, "out of memory") : ERR_OK;
}

void lambda_fake_get_stats(struct lambda_fake *f, struct lambda_fake_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    pthread_mutex_unlock(&f->mu);
}

static int put_str(struct buf *b, const char *key, const char *s, size_t len)
{
    int err = buf_printf(b, "\"%s\":\"", key);
    err = err ? err : buf_json_escape(b, s ? s : "", s ? len : 0);
    return err ? err : buf_putc(b, '"');
}

/* The value of a recorded header, or "". */
static const char *header_of(const struct strvec *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->n; i++)
        if (strncasecmp(h->v[i], name, n) == 0 && h->v[i][n] == ':') {
            const char *v = h->v[i] + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    return "";
}

static int put_post(struct buf *b, const char *body, size_t len, const struct strvec *h)
{
    const char *type = header_of(h, "Lambda-Runtime-Function-Error-Type");
    const char *ctype = header_of(h, "Content-Type");
    int err = put_str(b, "body", body, len);
    err = err ? err : buf_putc(b, ',');
    err = err ? err : put_str(b, "error_type", type, strlen(type));
    err = err ? err : buf_putc(b, ',');
    err = err ? err : put_str(b, "content_type", ctype, strlen(ctype));
    err = err ? err : buf_puts(b, ",\"headers\":[");
    for (size_t i = 0; !err && i < h->n; i++) {
        err = buf_puts(b, i ? ",\"" : "\"");
        err = err ? err : buf_json_escape(b, h->v[i], strlen(h->v[i]));
        err = err ? err : buf_putc(b, '"');
    }
    return err ? err : buf_putc(b, ']');
}

int lambda_fake_stats_json(struct lambda_fake *f, struct buf *out)
{
    static const char *const outcome_name[] = {"pending", "response", "error"};
    pthread_mutex_lock(&f->mu);
    const struct lambda_fake_stats *s = &f->st;
    int err = buf_printf(out,
                         "{\"next_requests\":%llu,\"served\":%llu,\"responses\":%llu,"
                         "\"errors\":%llu,\"init_errors\":%llu,\"bad_posts\":%llu,"
                         "\"queued\":%llu,\"started_unix_us\":%lld,\"first_next_unix_us\":%lld,"
                         "\"invocations\":[",
                         (unsigned long long)s->next_requests, (unsigned long long)s->served,
                         (unsigned long long)s->responses, (unsigned long long)s->errors,
                         (unsigned long long)s->init_errors, (unsigned long long)s->bad_posts,
                         (unsigned long long)s->queued, (long long)s->started_unix_us,
                         (long long)s->first_next_unix_us);
    for (size_t i = 0; !err && i < f->next; i++) {
        const struct invocation *in = &f->inv[i];
        err = buf_printf(out, "%s{\"request_id\":\"%s\",\"deadline_ms\":%lld,\"outcome\":\"%s\",",
                         i ? "," : "", in->request_id, (long long)in->deadline_ms,
                         outcome_name[in->outcome]);
        err = err ? err : put_str(out, "event", in->event, in->event_len);
        err = err ? err : buf_putc(out, ',');
        err = err ? err : put_post(out, in->body, in->body_len, &in->headers);
        err = err ? err : buf_putc(out, '}');
    }
    err = err ? err : buf_puts(out, "],\"init_error_posts\":[");
    for (size_t i = 0; !err && i < f->ninits; i++) {
        err = buf_puts(out, i ? ",{" : "{");
        err =
            err ? err : put_post(out, f->inits[i].body, f->inits[i].body_len, &f->inits[i].headers);
        err = err ? err : buf_putc(out, '}');
    }
    err = err ? err
              : buf_printf(out, "],\"invokes\":%llu,\"invokes_refused\":%llu,\"invoke_requests\":[",
                           (unsigned long long)f->st.invokes,
                           (unsigned long long)f->st.invokes_refused);
    for (size_t i = 0; !err && i < f->ninvokes; i++) {
        const struct invoke_request *v = &f->invokes[i];
        err = buf_puts(out, i ? ",{\"function\":\"" : "{\"function\":\"");
        err = err ? err : buf_json_escape(out, v->function, strlen(v->function));
        err = err ? err : buf_puts(out, "\",\"type\":\"");
        err = err ? err : buf_json_escape(out, v->type, strlen(v->type));
        err =
            err ? err : buf_printf(out, "\",\"status\":%d,\"error\":\"%s\"}", v->status, v->error);
    }
    err = err ? err : buf_puts(out, "]}");
    pthread_mutex_unlock(&f->mu);
    return err;
}
