/* ssm.c - SSM Parameter Store GetParameters: the wire format and a retrying client. */
#include "aws/ssm.h"

#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/request.h"
#include "base/clock.h"
#include "base/log.h"
#include "codec/json.h"
#include "net/fetch.h"

#include "base/banned.h"

/* ---- results ---- */

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void ssm_result_release(struct ssm_result *r)
{
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].name);
        wipe_free(r->params[i].value);
    }
    free(r->params);
    for (size_t i = 0; i < r->nmissing; i++)
        free(r->missing[i]);
    free(r->missing);
    memset(r, 0, sizeof *r);
}

const struct ssm_param *ssm_result_find(const struct ssm_result *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return &r->params[i];
    return NULL;
}

int ssm_result_is_missing(const struct ssm_result *r, const char *name)
{
    for (size_t i = 0; i < r->nmissing; i++)
        if (strcmp(r->missing[i], name) == 0)
            return 1;
    return 0;
}

/* Move everything in from to the end of to; from is left empty. */
static int result_move(struct ssm_result *to, struct ssm_result *from)
{
    if (from->nparams) {
        struct ssm_param *p =
            realloc(to->params, (to->nparams + from->nparams) * sizeof *to->params);
        if (!p)
            return ERR_NOMEM;
        to->params = p;
        memcpy(p + to->nparams, from->params, from->nparams * sizeof *p);
        to->nparams += from->nparams;
        free(from->params);
        from->params = NULL;
        from->nparams = 0;
    }
    if (from->nmissing) {
        char **m = realloc(to->missing, (to->nmissing + from->nmissing) * sizeof *to->missing);
        if (!m)
            return ERR_NOMEM;
        to->missing = m;
        memcpy(m + to->nmissing, from->missing, from->nmissing * sizeof *m);
        to->nmissing += from->nmissing;
        free(from->missing);
        from->missing = NULL;
        from->nmissing = 0;
    }
    return ERR_OK;
}

/* ---- the request body ---- */

static int check_name(const char *name, struct diag *d)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return diag_set(d, ERR_INVALID, "SSM parameter name is empty");
    if (n > SSM_NAME_MAX) {
        char q[80];
        diag_quote(q, sizeof q, name, n, 60);
        return diag_set(d, ERR_INVALID, "SSM parameter name '%s' is longer than %d bytes", q,
                        SSM_NAME_MAX);
    }
    return ERR_OK;
}

int ssm_get_parameters_body(const char *const *names, size_t n, struct buf *out, struct diag *d)
{
    if (n == 0 || n > SSM_MAX_NAMES_PER_CALL)
        return diag_set(d, ERR_INVALID, "SSM GetParameters takes 1 to %d names, not %zu",
                        SSM_MAX_NAMES_PER_CALL, n);
    for (size_t i = 0; i < n; i++) {
        int err = check_name(names[i], d);
        if (err)
            return err;
    }
    int err = buf_puts(out, "{\"Names\":[");
    for (size_t i = 0; !err && i < n; i++) {
        err = buf_puts(out, i ? ",\"" : "\"");
        if (!err)
            err = buf_json_escape(out, names[i], strlen(names[i]));
        if (!err)
            err = buf_putc(out, '"');
    }
    if (!err)
        err = buf_puts(out, "],\"WithDecryption\":true}");
    return err ? diag_set(d, err, "SSM request body: %s", err_str(err)) : ERR_OK;
}

/* ---- parsing answers ---- */

/* jv_parse's message ends with the text near the error, which may be part of a value: keep
 * only "invalid JSON at line L column C". */
static int json_error(struct diag *d, const char *what)
{
    if (d) {
        char *colon = strchr(d->text, ':');
        if (colon)
            *colon = '\0';
        diag_prefix(d, ERR_PARSE, "%s", what);
    }
    return ERR_PARSE;
}

static int parse_param(const struct jv *p, size_t i, struct ssm_param *out, struct diag *d)
{
    if (jv_type(p) != JV_OBJECT)
        return diag_set(d, ERR_PARSE, "SSM answer: Parameters[%zu] is %s, expected an object", i,
                        jv_type_name(jv_type(p)));
    size_t nlen;
    const char *name = jv_str(jv_get(p, "Name"), &nlen);
    if (!name || nlen == 0)
        return diag_set(d, ERR_PARSE, "SSM answer: Parameters[%zu] has no Name", i);
    char q[96];
    diag_quote(q, sizeof q, name, nlen, 80);
    size_t vlen;
    const char *value = jv_str(jv_get(p, "Value"), &vlen);
    if (!value)
        return diag_set(d, ERR_PARSE, "SSM answer: parameter '%s' has no string Value", q);
    const struct jv *t = jv_get(p, "Type");
    if (t) {
        size_t tlen;
        const char *type = jv_str(t, &tlen);
        if (!type || (strcmp(type, "String") != 0 && strcmp(type, "StringList") != 0 &&
                      strcmp(type, "SecureString") != 0))
            return diag_set(d, ERR_PARSE,
                            "SSM answer: parameter '%s' has a Type that is not String, "
                            "StringList or SecureString",
                            q);
        memcpy(out->type, type, tlen + 1);
    }
    const struct jv *v = jv_get(p, "Version");
    if (v && (jv_int(v, &out->version) != ERR_OK || out->version < 0))
        return diag_set(d, ERR_PARSE,
                        "SSM answer: parameter '%s' has a Version that is not a whole number", q);
    out->name = malloc(nlen + 1);
    out->value = malloc(vlen + 1);
    if (!out->name || !out->value)
        return diag_set(d, ERR_NOMEM, "out of memory");
    memcpy(out->name, name, nlen + 1);
    memcpy(out->value, value, vlen + 1);
    return ERR_OK;
}

int ssm_parse_get_parameters(const char *body, size_t len, struct ssm_result *r, struct diag *d)
{
    struct jv *root = NULL;
    struct ssm_result tmp = {0};
    int err = jv_parse(body, len, &root, d);
    if (err)
        return json_error(d, "SSM answer");
    const struct jv *params = jv_get(root, "Parameters");
    const struct jv *missing = jv_get(root, "InvalidParameters");
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "SSM answer is %s, expected an object",
                       jv_type_name(jv_type(root)));
        goto out;
    }
    if ((params && jv_type(params) != JV_ARRAY) || (missing && jv_type(missing) != JV_ARRAY)) {
        err = diag_set(d, ERR_PARSE, "SSM answer: Parameters and InvalidParameters must be arrays");
        goto out;
    }
    size_t np = jv_len(params), nm = jv_len(missing);
    tmp.params = np ? calloc(np, sizeof *tmp.params) : NULL;
    tmp.missing = nm ? calloc(nm, sizeof *tmp.missing) : NULL;
    if ((np && !tmp.params) || (nm && !tmp.missing)) {
        free(tmp.params);
        free(tmp.missing);
        tmp.params = NULL;
        tmp.missing = NULL;
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < np && !err; i++) {
        err = parse_param(jv_at(params, i), i, &tmp.params[i], d);
        tmp.nparams = i + 1; /* release frees what was allocated, even when this one failed */
    }
    for (size_t i = 0; i < nm && !err; i++) {
        size_t n;
        const char *name = jv_str(jv_at(missing, i), &n);
        if (!name || n == 0) {
            err = diag_set(d, ERR_PARSE,
                           "SSM answer: InvalidParameters[%zu] is not a parameter name", i);
            break;
        }
        if (!(tmp.missing[i] = malloc(n + 1))) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(tmp.missing[i], name, n + 1);
        tmp.nmissing = i + 1;
    }
    if (!err && result_move(r, &tmp) != ERR_OK)
        err = diag_set(d, ERR_NOMEM, "out of memory");
out:
    ssm_result_release(&tmp);
    jv_free(root);
    return err;
}

/* Copy at most cap - 1 printable bytes of s: control characters become spaces, and a text
 * that does not fit ends with "...". */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (j < n && cap > 4) {
        memcpy(out + cap - 4, "...", 3);
        j = cap - 1;
    }
    out[j] = '\0';
}

int ssm_parse_error(const char *body, size_t len, char *type, size_t cap, char *msg, size_t msgcap)
{
    if (cap)
        type[0] = '\0';
    if (msg && msgcap)
        msg[0] = '\0';
    struct jv *root = NULL;
    if (jv_parse(body, len, &root, NULL) != ERR_OK)
        return ERR_PARSE;
    size_t n;
    const char *t = jv_str(jv_get(root, "__type"), &n);
    int err = ERR_PARSE;
    if (t && cap) {
        size_t end = strcspn(t, ":"); /* stops at a NUL too */
        size_t start = end;
        while (start > 0 && t[start - 1] != '#')
            start--;
        printable(type, cap, t + start, end - start);
        err = type[0] ? ERR_OK : ERR_PARSE;
    }
    const char *m = jv_str(jv_get(root, "message"), &n);
    if (!m)
        m = jv_str(jv_get(root, "Message"), &n);
    if (m && msg && msgcap)
        printable(msg, msgcap, m, n);
    jv_free(root);
    return err;
}

static int type_in(const char *type, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(type, *list) == 0)
            return 1;
    return 0;
}

static const char *const auth_errors[] = {
    "AccessDeniedException",
    "AccessDenied",
    "NotAuthorized",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    NULL,
};

static const char *const throttle_errors[] = {
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException", NULL,
};

int ssm_error_code(long status, const char *type)
{
    if (strcmp(type, "ParameterNotFound") == 0 || strcmp(type, "ParameterVersionNotFound") == 0)
        return ERR_NOTFOUND;
    if (type_in(type, auth_errors))
        return ERR_AUTH;
    if (type_in(type, throttle_errors) || status == 429)
        return ERR_RATELIMIT;
    if (status >= 500 || strcmp(type, "InternalServerError") == 0 ||
        strcmp(type, "InternalFailure") == 0 || strcmp(type, "ServiceUnavailable") == 0)
        return ERR_UNAVAILABLE;
    if (status == 401 || status == 403)
        return ERR_AUTH;
    return ERR_INVALID;
}

int ssm_error_retryable(long status, const char *type)
{
    int err = ssm_error_code(status, type);
    return err == ERR_RATELIMIT || err == ERR_UNAVAILABLE;
}

/* ---- the client ---- */

void ssm_opts_default(struct ssm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_retries = 4;
    o->timeout_ms = 5000;
    o->backoff_base_ms = 200;
    o->concurrency = 2;
}

int ssm_endpoint_for_region(const char *region, struct buf *out, struct diag *d)
{
    struct aws_endpoint ep;
    int err = aws_endpoint_resolve("ssm", region, NULL, "SSM endpoint", &ep, d);
    if (!err && buf_printf(out, "%s://%s", ep.scheme, ep.host) != ERR_OK)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    return err;
}

/* One GetParameters call: a batch of names and what became of it. */
struct call {
    const char *const *names;
    size_t n;
    int retries; /* throttling retries so far */
    int retry;   /* throttled: submit again after a backoff */
    int err;
    struct diag d;
    struct ssm_result part;
};

struct client {
    const struct ssm_opts *o;
    struct aws_endpoint ep;
    struct fetch *fetch;
    struct call *calls;
    size_t ncalls;
};

/* "/a, /b, /c" for messages (cut by the diag's size if long). */
static void name_list(const struct call *call, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < call->n && o + 1 < cap; i++) {
        char q[256];
        diag_quote(q, sizeof q, call->names[i], strlen(call->names[i]), 200);
        int w = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", q);
        if (w < 0)
            break;
        o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
    }
}

static int call_error(struct call *call, int err, const char *detail)
{
    char names[400];
    name_list(call, names, sizeof names);
    call->err = err;
    return diag_set(&call->d, err, "SSM GetParameters for %s: %s", names, detail);
}

/* Every name asked for is answered, and nothing else is. */
static int check_answer(struct call *call, struct diag *d)
{
    const struct ssm_result *r = &call->part;
    for (size_t i = 0; i < r->nparams + r->nmissing; i++) {
        const char *got = i < r->nparams ? r->params[i].name : r->missing[i - r->nparams];
        size_t k = 0;
        while (k < call->n && strcmp(call->names[k], got) != 0)
            k++;
        if (k == call->n) {
            char q[120];
            diag_quote(q, sizeof q, got, strlen(got), 100);
            return diag_set(d, ERR_PARSE, "SSM answer names '%s', which was not asked for", q);
        }
    }
    for (size_t k = 0; k < call->n; k++)
        if (!ssm_result_find(r, call->names[k]) && !ssm_result_is_missing(r, call->names[k])) {
            char q[120];
            diag_quote(q, sizeof q, call->names[k], strlen(call->names[k]), 100);
            return diag_set(d, ERR_PARSE, "SSM answer says nothing about '%s'", q);
        }
    return ERR_OK;
}

/* fetch's check of a 2xx answer: a body that does not parse is retried like a 5xx. */
static int accept_answer(void *ctx, const struct http_response *resp, struct diag *d)
{
    struct call *call = ctx;
    ssm_result_release(&call->part);
    int err = ssm_parse_get_parameters(buf_cstr(&resp->body), resp->body.len, &call->part, d);
    if (!err)
        err = check_answer(call, d);
    if (err)
        ssm_result_release(&call->part);
    return err;
}

static void on_done(void *ctx, int err, struct http_response *resp, const struct diag *fd)
{
    struct call *call = ctx;
    call->retry = 0;
    if (err == ERR_OK) {
        call->err = ERR_OK;
        return;
    }
    ssm_result_release(&call->part);
    if (resp->status >= 400) {
        char type[64], msg[240], detail[360];
        ssm_parse_error(buf_cstr(&resp->body), resp->body.len, type, sizeof type, msg, sizeof msg);
        snprintf(detail, sizeof detail, "%s (HTTP %ld)%s%s", *type ? type : "error", resp->status,
                 *msg ? ": " : "", msg);
        int code = ssm_error_code(resp->status, type);
        call_error(call, code, detail);
        /* fetch retried the 5xx already; throttling comes as a 400 and is retried here. */
        call->retry = resp->status < 500 && code == ERR_RATELIMIT;
        return;
    }
    call_error(call, err, fd && fd->text[0] ? fd->text : err_str(err));
}

static int submit(struct client *c, struct call *call, struct diag *d)
{
    struct buf body = BUF_INIT(256 << 10);
    int err = ssm_get_parameters_body(call->names, call->n, &body, d);
    if (err) {
        buf_release(&body);
        return err;
    }
    struct sigv4_header sh[] = {
        {"Content-Type", SSM_CONTENT_TYPE},
        {"X-Amz-Target", SSM_TARGET_PREFIX "GetParameters"},
    };
    struct aws_request ar = {
        .method = "POST",
        .endpoint = &c->ep,
        .headers = sh,
        .nheaders = sizeof sh / sizeof sh[0],
        .body = body.data,
        .body_len = body.len,
    };
    struct sigv4_params sp = {
        .region = c->o->region,
        .service = "ssm",
        .time_s = clock_wall_ms() / 1000,
        .rules = SIGV4_DEFAULT,
    };
    struct aws_signed *sig;
    err = aws_request_sign(&ar, &sp, &c->o->creds, &sig, d);
    if (!err) {
        struct fetch_req fr = aws_signed_fetch_req(sig);
        fr.accept = accept_answer;
        fr.done = on_done;
        fr.ctx = call;
        err = fetch_submit(c->fetch, &fr, d);
    }
    aws_signed_free(sig);
    buf_release(&body);
    return err;
}

static int check_opts(const struct ssm_opts *o, struct diag *d)
{
    if (!o->region || !*o->region)
        return diag_set(d, ERR_INVALID, "SSM: no AWS region (set AWS_REGION)");
    if (!o->creds.access_key_id || !*o->creds.access_key_id || !o->creds.secret_access_key ||
        !*o->creds.secret_access_key)
        return diag_set(d, ERR_AUTH, "SSM: no AWS credentials");
    return ERR_OK;
}

int ssm_get_parameters(const struct ssm_opts *o, const char *const *names, size_t n,
                       struct ssm_result *out, struct diag *d)
{
    if (n == 0)
        return ERR_OK;
    int err = check_opts(o, d);
    for (size_t i = 0; !err && i < n; i++)
        err = check_name(names[i], d);
    if (err)
        return err;
    struct client c = {.o = o};
    struct http_client *own = NULL;
    err = aws_endpoint_resolve("ssm", o->region, o->endpoint, "SSM endpoint", &c.ep, d);
    if (err)
        return err;
    if (!o->http && (err = http_client_new(NULL, &own, d)) != ERR_OK)
        return err;
    struct fetch_opts fo;
    fetch_opts_default(&fo);
    fo.concurrency = o->concurrency ? o->concurrency : 1;
    fo.max_retries = o->max_retries;
    fo.timeout_ms = o->timeout_ms;
    fo.backoff_base_ms = o->backoff_base_ms;
    fo.max_response = SSM_RESPONSE_MAX;
    c.ncalls = (n + SSM_MAX_NAMES_PER_CALL - 1) / SSM_MAX_NAMES_PER_CALL;
    c.calls = calloc(c.ncalls, sizeof *c.calls);
    if (!c.calls) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = fetch_new(o->http ? o->http : own, &fo, &c.fetch, d)) != ERR_OK)
        goto out;
    for (size_t i = 0; i < c.ncalls; i++) {
        struct call *call = &c.calls[i];
        call->names = names + i * SSM_MAX_NAMES_PER_CALL;
        call->n = n - i * SSM_MAX_NAMES_PER_CALL;
        if (call->n > SSM_MAX_NAMES_PER_CALL)
            call->n = SSM_MAX_NAMES_PER_CALL;
        if ((err = submit(&c, call, d)) != ERR_OK)
            goto out;
    }
    uint64_t rng = (uint64_t)clock_mono_us() | 1;
    for (;;) {
        if ((err = fetch_run(c.fetch, d)) != ERR_OK)
            goto out;
        /* Throttled calls wait (the longest backoff among them), re-signed, and go again. */
        int64_t wait = 0;
        size_t again = 0;
        for (size_t i = 0; i < c.ncalls; i++) {
            struct call *call = &c.calls[i];
            if (call->retry && call->retries >= o->max_retries)
                call->retry = 0; /* out of retries: the throttling error stands */
            if (!call->retry)
                continue;
            int64_t b = fetch_backoff_ms(o->backoff_base_ms, 20000, ++call->retries, &rng);
            if (b > wait)
                wait = b;
            again++;
        }
        if (!again)
            break;
        log_info("SSM throttled, waiting", LF_INT("calls", again), LF_INT("wait_ms", wait));
        clock_sleep_ms(wait);
        for (size_t i = 0; i < c.ncalls; i++)
            if (c.calls[i].retry && (err = submit(&c, &c.calls[i], d)) != ERR_OK)
                goto out;
    }
    /* Keep every answer that came; report the first failure. */
    for (size_t i = 0; i < c.ncalls; i++) {
        struct call *call = &c.calls[i];
        if (call->err) {
            if (!err) {
                err = call->err;
                if (d)
                    *d = call->d;
            }
        } else if (result_move(out, &call->part) != ERR_OK && !err) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
        }
    }
out:
    for (size_t i = 0; c.calls && i < c.ncalls; i++)
        ssm_result_release(&c.calls[i].part);
    free(c.calls);
    fetch_free(c.fetch);
    http_client_free(own);
    return err;
}
