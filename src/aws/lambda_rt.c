/* lambda_rt.c - the Lambda Runtime API client and loop (see lambda_rt.h). */
#include "aws/lambda_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#include "base/banned.h"

#define API_MAX       200 /* "host:port" */
#define POST_TIMEOUT  30000
#define SNIPPET_BYTES 200 /* of a Runtime API error body, in messages */

struct lambda_rt {
    struct http_client *http;
    int own_http;
    char base[API_MAX + 32]; /* "http://host:port/2018-06-01" */
    size_t max_event;
    uint64_t invocations;
};

int64_t lambda_remaining_ms(const struct lambda_invocation *inv)
{
    if (!inv->deadline_ms)
        return INT64_MAX;
    return inv->deadline_ms - clock_wall_ms();
}

const char *lambda_error_type(int err)
{
    switch (err) {
    case ERR_NOMEM:
        return "Function.OutOfMemory";
    case ERR_TOOBIG:
        return "Function.TooLarge";
    case ERR_IO:
        return "Function.IOError";
    case ERR_NOTFOUND:
        return "Function.NotFound";
    case ERR_EXISTS:
        return "Function.AlreadyExists";
    case ERR_PARSE:
        return "Function.MalformedInput";
    case ERR_INVALID:
        return "Function.InvalidValue";
    case ERR_CONFLICT:
        return "Function.Conflict";
    case ERR_PRECONDITION:
        return "Function.PreconditionFailed";
    case ERR_USAGE:
        return "Function.InvalidEvent";
    case ERR_EOF:
        return "Function.EndOfInput";
    case ERR_UNSUPPORTED:
        return "Function.NotSupported";
    case ERR_TIMEOUT:
        return "Function.Timeout";
    case ERR_NETWORK:
        return "Function.NetworkError";
    case ERR_AUTH:
        return "Function.NotAuthorized";
    case ERR_UNAVAILABLE:
        return "Function.Unavailable";
    case ERR_RATELIMIT:
        return "Function.RateLimited";
    case ERR_INTERNAL:
        return "Function.InternalError";
    case ERR_DAMAGED:
        return "Function.DamagedData";
    default:
        return "Function.Unknown";
    }
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A JSON string body for s that is always valid JSON: a message may hold bytes quoted from
 * outside input, or be cut in the middle of a character; those bytes become U+FFFD. */
static int put_text(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), start = 0, i = 0;
    int err = ERR_OK;
    while (!err && i < n) {
        size_t len = utf8_len(p + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        err = buf_json_escape(out, s + start, i - start);
        err = err ? err : buf_puts(out, "\\ufffd");
        start = ++i;
    }
    return err ? err : buf_json_escape(out, s + start, n - start);
}

int lambda_error_body(struct buf *out, const char *error_type, const char *message)
{
    int err = buf_puts(out, "{\"errorMessage\":\"");
    err = err ? err : put_text(out, message);
    err = err ? err : buf_puts(out, "\",\"errorType\":\"");
    err = err ? err : put_text(out, error_type);
    err = err ? err : buf_puts(out, "\",\"stackTrace\":[]}");
    return err;
}

int lambda_parse_deadline(const char *value, int64_t *out_ms)
{
    int64_t v = 0;
    const char *p = value;
    if (*p < '0' || *p > '9')
        return ERR_PARSE;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10)
            return ERR_PARSE;
        v = v * 10 + (*p - '0');
    }
    if (*p || v == 0)
        return ERR_PARSE;
    *out_ms = v;
    return ERR_OK;
}

/* The address must be host:port and nothing else: it is put in a URL. */
static int api_valid(const char *api)
{
    size_t n = strlen(api);
    if (n == 0 || n > API_MAX)
        return 0;
    const char *colon = strrchr(api, ':');
    if (!colon || colon == api || !colon[1])
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    for (const char *p = api; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return 0;
    return 1;
}

int lambda_rt_new(const struct lambda_rt_opts *o, struct lambda_rt **out, struct diag *d)
{
    const char *api = o && o->api ? o->api : getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api)
        return diag_set(d, ERR_USAGE,
                        "AWS_LAMBDA_RUNTIME_API is not set: the runtime loop runs inside AWS "
                        "Lambda (run a handler locally with 'screener invoke --event FILE')");
    if (!api_valid(api)) {
        char q[80];
        diag_quote(q, sizeof q, api, strlen(api), 64);
        return diag_set(d, ERR_USAGE, "AWS_LAMBDA_RUNTIME_API: expected host:port, got '%s'", q);
    }
    struct lambda_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return diag_set(d, ERR_NOMEM, "out of memory");
    snprintf(rt->base, sizeof rt->base, "http://%s/" LAMBDA_API_VERSION, api);
    rt->max_event = o && o->max_event ? o->max_event : LAMBDA_EVENT_MAX;
    if (o && o->http) {
        rt->http = o->http;
    } else {
        int err = http_client_new(NULL, &rt->http, d);
        if (err) {
            free(rt);
            return err;
        }
        rt->own_http = 1;
    }
    *out = rt;
    return ERR_OK;
}

void lambda_rt_free(struct lambda_rt *rt)
{
    if (!rt)
        return;
    if (rt->own_http)
        http_client_free(rt->http);
    free(rt);
}

uint64_t lambda_rt_invocations(const struct lambda_rt *rt)
{
    return rt->invocations;
}

/* "<what>: HTTP <status>: <start of the body>" for a Runtime API refusal. */
static int status_error(int err, const char *what, const struct http_response *resp, struct diag *d)
{
    char snippet[SNIPPET_BYTES + 8];
    diag_quote(snippet, sizeof snippet, buf_cstr(&resp->body), resp->body.len, SNIPPET_BYTES);
    return diag_set(d, err, "Lambda Runtime API: %s: HTTP %ld%s%s", what, resp->status,
                    snippet[0] ? ": " : "", snippet);
}

/* Copy a header into a fixed field; a missing one, or one too long for it, leaves "" (these
 * are for logs and the environment, not needed to answer). */
static void copy_header(const struct http_response *resp, const char *name, char *out, size_t cap)
{
    int err = http_response_header(resp, name, out, cap);
    if (err == ERR_TOOBIG)
        log_warn("Runtime API header too long: ignored", LF_STR("header", name));
    if (err)
        out[0] = '\0';
}

static int read_invocation(const struct http_response *resp, struct lambda_invocation *inv,
                           struct diag *d)
{
    if (http_response_header(resp, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
                             sizeof inv->request_id) ||
        !inv->request_id[0])
        return diag_set(d, ERR_PARSE,
                        "Lambda Runtime API: the next invocation has no usable "
                        "Lambda-Runtime-Aws-Request-Id header");
    char v[32];
    if (http_response_header(resp, "Lambda-Runtime-Deadline-Ms", v, sizeof v) == ERR_OK) {
        if (lambda_parse_deadline(v, &inv->deadline_ms) != ERR_OK) {
            inv->deadline_ms = 0;
            log_warn("Lambda-Runtime-Deadline-Ms is not a number of milliseconds: ignored");
        }
    }
    copy_header(resp, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
                sizeof inv->function_arn);
    copy_header(resp, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
    return ERR_OK;
}

int lambda_rt_next(struct lambda_rt *rt, struct lambda_invocation *inv, struct buf *event,
                   struct diag *d)
{
    memset(inv, 0, sizeof *inv);
    buf_reset(event);
    char url[sizeof rt->base + 32];
    snprintf(url, sizeof url, "%s/runtime/invocation/next", rt->base);
    struct http_request req = {.url = url,
                               .timeout_ms = HTTP_NO_TIMEOUT,
                               .max_response = rt->max_event,
                               .keep_headers = 1};
    struct http_response resp;
    int err = http_do(rt->http, &req, &resp, d);
    if (err == ERR_TOOBIG) {
        /* The headers are in: the invocation can still be answered with an error. */
        struct diag ignore;
        if (read_invocation(&resp, inv, &ignore) == ERR_OK)
            diag_set(d, ERR_TOOBIG, "the event exceeds %zu bytes", rt->max_event);
        else
            diag_prefix(d, ERR_TOOBIG, "Lambda Runtime API");
    } else if (err) {
        diag_prefix(d, err, "Lambda Runtime API: waiting for the next invocation");
    } else if (resp.status != 200) {
        err = status_error(ERR_UNAVAILABLE, "next invocation", &resp, d);
    } else {
        err = read_invocation(&resp, inv, d);
    }
    if (!err && buf_append(event, buf_cstr(&resp.body), resp.body.len))
        err = diag_set(d, ERR_TOOBIG, "the event exceeds %zu bytes", event->max);
    http_response_release(&resp);
    if (inv->request_id[0]) {
        log_set_request_id(inv->request_id);
        if (inv->trace_id[0])
            setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
        else
            unsetenv("_X_AMZN_TRACE_ID");
    }
    return err;
}

static int post(struct lambda_rt *rt, const char *what, const char *path, const char *body,
                size_t len, const char *error_type, struct diag *d)
{
    char url[sizeof rt->base + 3 * LAMBDA_REQUEST_ID_MAX + 64];
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    char type_header[160];
    const char *headers[2] = {"Content-Type: application/json", type_header};
    if (error_type)
        snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
                 error_type);
    struct http_request req = {.method = "POST",
                               .url = url,
                               .headers = headers,
                               .nheaders = error_type ? 2 : 1,
                               .body = body,
                               .body_len = len,
                               .timeout_ms = POST_TIMEOUT,
                               .max_response = 64 << 10};
    struct http_response resp;
    int err = http_do(rt->http, &req, &resp, d);
    if (err)
        diag_prefix(d, err, "Lambda Runtime API: %s", what);
    else if (resp.status == 413)
        err = status_error(ERR_TOOBIG, what, &resp, d);
    else if (resp.status >= 400 && resp.status < 500)
        err = status_error(ERR_INVALID, what, &resp, d);
    else if (resp.status < 200 || resp.status > 299)
        err = status_error(ERR_UNAVAILABLE, what, &resp, d);
    http_response_release(&resp);
    return err;
}

/* "/runtime/invocation/<id>/<kind>" with the id percent-encoded. */
static int invocation_path(char *out, size_t cap, const char *request_id, const char *kind,
                           struct diag *d)
{
    struct buf id = BUF_INIT(3 * LAMBDA_REQUEST_ID_MAX);
    int err = http_url_encode(&id, request_id, strlen(request_id), 0);
    if (!err && (size_t)snprintf(out, cap, "/runtime/invocation/%s/%s", buf_cstr(&id), kind) >= cap)
        err = ERR_TOOBIG;
    buf_release(&id);
    return err ? diag_set(d, err, "request id too long") : ERR_OK;
}

int lambda_rt_respond(struct lambda_rt *rt, const char *request_id, const char *body, size_t len,
                      struct diag *d)
{
    char path[3 * LAMBDA_REQUEST_ID_MAX + 64];
    int err = invocation_path(path, sizeof path, request_id, "response", d);
    return err ? err : post(rt, "invocation response", path, body, len, NULL, d);
}

static int post_error(struct lambda_rt *rt, const char *what, const char *path,
                      const char *error_type, const char *message, struct diag *d)
{
    struct buf body = BUF_INIT(64 << 10);
    int err = lambda_error_body(&body, error_type, message);
    if (err)
        err = diag_set(d, err, "cannot format the error body");
    else
        err = post(rt, what, path, buf_cstr(&body), body.len, error_type, d);
    buf_release(&body);
    return err;
}

int lambda_rt_fail(struct lambda_rt *rt, const char *request_id, const char *error_type,
                   const char *message, struct diag *d)
{
    char path[3 * LAMBDA_REQUEST_ID_MAX + 64];
    int err = invocation_path(path, sizeof path, request_id, "error", d);
    return err ? err : post_error(rt, "invocation error", path, error_type, message, d);
}

int lambda_rt_init_fail(struct lambda_rt *rt, const char *error_type, const char *message,
                        struct diag *d)
{
    return post_error(rt, "init error", "/runtime/init/error", error_type, message, d);
}

/* Whether a failed post means the Runtime API is gone (exit) rather than refusing this one
 * result (go on with the next invocation). */
static int fatal(int err)
{
    return err != ERR_OK && err != ERR_INVALID && err != ERR_TOOBIG;
}

int lambda_rt_run(struct lambda_rt *rt, lambda_handler_fn handler, void *ctx,
                  size_t max_invocations, struct diag *d)
{
    struct buf event = BUF_INIT(rt->max_event);
    struct buf response = BUF_INIT(LAMBDA_RESPONSE_MAX);
    int err = ERR_OK;
    for (size_t n = 0; !max_invocations || n < max_invocations; n++) {
        struct lambda_invocation inv;
        struct diag hd = {{0}}, pd = {{0}};
        int herr = lambda_rt_next(rt, &inv, &event, &hd);
        if (herr && !(herr == ERR_TOOBIG && inv.request_id[0])) {
            err = herr;
            if (d)
                *d = hd;
            break;
        }
        int64_t t0 = clock_mono_us();
        if (!herr) { /* else an event too large to read, answered with an error */
            buf_reset(&response);
            herr = handler(ctx, &inv, buf_cstr(&event), event.len, &response, &hd);
        }
        int perr = ERR_OK;
        if (!herr) {
            perr = lambda_rt_respond(rt, inv.request_id, buf_cstr(&response), response.len, &pd);
            if (perr == ERR_TOOBIG) {
                herr = diag_set(&hd, ERR_TOOBIG,
                                "the response of %zu bytes is over Lambda's payload limit",
                                response.len);
                log_error("response refused", LF_STR("error", pd.text));
            }
        }
        if (herr) {
            if (!hd.text[0])
                diag_set(&hd, herr, "%s", err_str(herr));
            perr = lambda_rt_fail(rt, inv.request_id, lambda_error_type(herr), hd.text, &pd);
        }
        rt->invocations++;
        double ms = (double)(clock_mono_us() - t0) / 1000.0;
        if (herr)
            log_error("invocation failed", LF_DBL("duration_ms", ms), LF_BOOL("ok", 0),
                      LF_STR("error_type", lambda_error_type(herr)), LF_STR("error", hd.text));
        else
            log_info("invocation done", LF_DBL("duration_ms", ms), LF_BOOL("ok", 1),
                     LF_INT("response_bytes", response.len));
        if (fatal(perr)) {
            if (d)
                *d = pd;
            err = perr;
            break;
        }
        if (perr)
            log_error("the Runtime API refused the result", LF_STR("error", pd.text));
    }
    buf_release(&event);
    buf_release(&response);
    return err;
}
