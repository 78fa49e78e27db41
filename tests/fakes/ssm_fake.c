/* ssm_fake.c - a fake SSM Parameter Store that checks SigV4 for real. */
#include "fakes/ssm_fake.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "fakes/sigcheck.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "base/strvec.h"
#include "codec/crypto.h"
#include "codec/json.h"

#include "base/banned.h"

#define MAX_SKEW_S  900
#define ACCOUNT     "123456789012"
#define JSON_TYPE   "application/x-amz-json-1.1"
#define CORAL       "com.amazon.coral.service#"
#define CORAL_VALID "com.amazon.coral.validate#"

struct param {
    char *name, *value, *type;
    int64_t version;
};

struct call {
    char op[32];
    struct strvec names;
};

struct ssm_fake {
    char *key_id, *secret, *token, *region;
    struct param *params;
    size_t nparams;
    struct strvec deny;
    uint64_t throttle, fail500;
    struct httpd *httpd;

    pthread_mutex_t mu; /* guards what follows */
    uint64_t ordinal, request_seq;
    struct ssm_fake_stats st;
    struct call calls[SSM_FAKE_MAX_CALLS];
    size_t ncalls;
};

/* ---- options ---- */

void ssm_fake_opts_default(struct ssm_fake_opts *o)
{
    memset(o, 0, sizeof *o);
    o->key_id = "AKIDSSMFAKE";
    o->secret = "ssm/fake/secret/key";
    o->region = "us-east-1";
}

static int valid_type(const char *t)
{
    return strcmp(t, "String") == 0 || strcmp(t, "StringList") == 0 ||
           strcmp(t, "SecureString") == 0;
}

int ssm_fake_param_parse(char *spec, struct ssm_fake_param *out, struct diag *d)
{
    char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return diag_set(d, ERR_USAGE, "expected NAME=VALUE[:TYPE], got '%.200s'", spec);
    *eq = '\0';
    memset(out, 0, sizeof *out);
    out->name = spec;
    out->value = eq + 1;
    out->type = "String";
    char *colon = strrchr(eq + 1, ':');
    if (colon && valid_type(colon + 1)) {
        *colon = '\0';
        out->type = colon + 1;
    }
    return ERR_OK;
}

/* ---- lifecycle ---- */

static char *dup_or(const char *s, int *ok)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *ok = 0;
    return p;
}

int ssm_fake_new(const struct ssm_fake_opts *o, struct ssm_fake **out, struct diag *d)
{
    if (!o->key_id || !*o->key_id || !o->secret || !*o->secret || !o->region || !*o->region)
        return diag_set(d, ERR_INVALID, "fake SSM: a key id, a secret and a region are required");
    for (size_t i = 0; i < o->nparams; i++) {
        const struct ssm_fake_param *p = &o->params[i];
        if (!p->name || !*p->name || !p->value || (p->type && !valid_type(p->type)))
            return diag_set(d, ERR_INVALID,
                            "fake SSM: parameter %zu needs a name, a value and a type of String, "
                            "StringList or SecureString",
                            i);
    }
    struct ssm_fake *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&f->mu, NULL);
    strvec_init(&f->deny);
    int ok = 1;
    f->key_id = dup_or(o->key_id, &ok);
    f->secret = dup_or(o->secret, &ok);
    f->token = o->session_token && *o->session_token ? dup_or(o->session_token, &ok) : NULL;
    f->region = dup_or(o->region, &ok);
    f->throttle = o->throttle;
    f->fail500 = o->fail500;
    f->params = o->nparams ? calloc(o->nparams, sizeof *f->params) : NULL;
    if (o->nparams && !f->params)
        ok = 0;
    for (size_t i = 0; ok && i < o->nparams; i++) {
        const struct ssm_fake_param *p = &o->params[i];
        f->params[i].name = dup_or(p->name, &ok);
        f->params[i].value = dup_or(p->value, &ok);
        f->params[i].type = dup_or(p->type ? p->type : "String", &ok);
        f->params[i].version = p->version > 0 ? p->version : 1;
        f->nparams = i + 1;
        log_add_secret(p->value);
    }
    for (size_t i = 0; ok && i < o->ndeny; i++)
        ok = strvec_push(&f->deny, o->deny[i]) == ERR_OK;
    if (!ok) {
        ssm_fake_free(f);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    log_add_secret(f->secret);
    if (f->token)
        log_add_secret(f->token);
    *out = f;
    return ERR_OK;
}

static void clear_calls(struct ssm_fake *f)
{
    for (size_t i = 0; i < f->ncalls; i++)
        strvec_release(&f->calls[i].names);
    f->ncalls = 0;
}

void ssm_fake_free(struct ssm_fake *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nparams; i++) {
        free(f->params[i].name);
        free(f->params[i].value);
        free(f->params[i].type);
    }
    free(f->params);
    strvec_release(&f->deny);
    clear_calls(f);
    free(f->key_id);
    free(f->secret);
    free(f->token);
    free(f->region);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int ssm_fake_start(const struct ssm_fake_opts *o, struct ssm_fake **out, int *port, struct diag *d)
{
    struct ssm_fake *f;
    int err = ssm_fake_new(o, &f, d);
    if (err)
        return err;
    struct httpd_opts ho = {
        .bind_addr = "127.0.0.1",
        .port = o->port,
        .max_body = 256 << 10,
        .handler = ssm_fake_handle,
        .ctx = f,
    };
    err = httpd_start(&ho, &f->httpd, port, d);
    if (err) {
        ssm_fake_free(f);
        return err;
    }
    *out = f;
    return ERR_OK;
}

void ssm_fake_stop(struct ssm_fake *f)
{
    if (!f)
        return;
    httpd_stop(f->httpd);
    ssm_fake_free(f);
}

void ssm_fake_get_stats(struct ssm_fake *f, struct ssm_fake_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    pthread_mutex_unlock(&f->mu);
}

void ssm_fake_reset(struct ssm_fake *f)
{
    pthread_mutex_lock(&f->mu);
    memset(&f->st, 0, sizeof f->st);
    f->ordinal = 0;
    clear_calls(f);
    pthread_mutex_unlock(&f->mu);
}

size_t ssm_fake_ncalls(struct ssm_fake *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->ncalls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int ssm_fake_call(struct ssm_fake *f, size_t i, char *op, size_t opcap, char *names,
                  size_t namescap)
{
    int err = ERR_NOTFOUND;
    pthread_mutex_lock(&f->mu);
    if (i < f->ncalls) {
        const struct call *c = &f->calls[i];
        snprintf(op, opcap, "%s", c->op);
        size_t o = 0;
        names[0] = '\0';
        err = ERR_OK;
        for (size_t k = 0; k < c->names.n; k++) {
            int w = snprintf(names + o, namescap - o, "%s%s", k ? "," : "", c->names.v[k]);
            if (w < 0 || (size_t)w >= namescap - o) {
                err = ERR_TOOBIG;
                break;
            }
            o += (size_t)w;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return err;
}

/* ---- answers ---- */

static void reply_error(struct httpd_response *r, int status, const char *type, const char *msg)
{
    r->status = status;
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"__type\":\"");
    buf_json_escape(&r->body, type, strlen(type));
    buf_puts(&r->body, "\",\"message\":\"");
    buf_json_escape(&r->body, msg, strlen(msg));
    buf_puts(&r->body, "\"}");
}

static void put_str(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    buf_json_escape(b, s, strlen(s));
    buf_putc(b, '"');
}

static const struct param *find_param(const struct ssm_fake *f, const char *name)
{
    for (size_t i = 0; i < f->nparams; i++)
        if (strcmp(f->params[i].name, name) == 0)
            return &f->params[i];
    return NULL;
}

static int denied(const struct ssm_fake *f, const char *name)
{
    for (size_t i = 0; i < f->deny.n; i++)
        if (strcmp(f->deny.v[i], name) == 0)
            return 1;
    return 0;
}

/* The parameter as the service lists it. */
static void put_param(const struct ssm_fake *f, struct buf *b, const struct param *p, int decrypt)
{
    buf_puts(b, "{\"ARN\":");
    char arn[2300];
    snprintf(arn, sizeof arn, "arn:aws:ssm:%s:" ACCOUNT ":parameter%s%s", f->region,
             p->name[0] == '/' ? "" : "/", p->name);
    put_str(b, arn);
    buf_puts(b, ",\"DataType\":\"text\",\"LastModifiedDate\":1.767225600123E9,\"Name\":");
    put_str(b, p->name);
    buf_puts(b, ",\"Type\":");
    put_str(b, p->type);
    buf_puts(b, ",\"Value\":");
    if (strcmp(p->type, "SecureString") == 0 && !decrypt) {
        /* A stand-in for the KMS ciphertext: derived from the name, never from the value. */
        uint8_t h[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1];
        crypto_sha256(p->name, strlen(p->name), h);
        crypto_hex(h, sizeof h, hex);
        buf_printf(b, "\"AQICAHh%s\"", hex);
    } else {
        put_str(b, p->value);
    }
    buf_printf(b, ",\"Version\":%lld}", (long long)p->version);
}

/* ---- SigV4 ---- */

struct refusal {
    int status;
    char type[128];
    char msg[640];
};

static int refuse(struct refusal *why, int status, const char *type, const char *msg)
{
    why->status = status;
    snprintf(why->type, sizeof why->type, "%s", type);
    snprintf(why->msg, sizeof why->msg, "%s", msg);
    return -1;
}

static int verify_signature(struct ssm_fake *f, const struct httpd_request *req,
                            struct refusal *why)
{
    struct sigcheck_keys k = {.key_id = f->key_id,
                              .secret = f->secret,
                              .token = f->token,
                              .region = f->region,
                              .service = "ssm"};
    struct sigcheck_refusal w;
    if (sigcheck_verify(req, &k, &w) == 0)
        return 0;
    char type[sizeof CORAL + sizeof w.type];
    snprintf(type, sizeof type, CORAL "%s", w.type);
    return refuse(why, w.status, type, w.msg);
}

/* ---- operations ---- */

enum op { OP_GET_PARAMETER, OP_GET_PARAMETERS };

/* Record a call that got past the signature check (mutex held). */
static void record_call(struct ssm_fake *f, enum op op, const struct strvec *names)
{
    f->st.names += names->n;
    if (f->ncalls == SSM_FAKE_MAX_CALLS)
        return;
    struct call *c = &f->calls[f->ncalls];
    snprintf(c->op, sizeof c->op, "%s", op == OP_GET_PARAMETER ? "GetParameter" : "GetParameters");
    strvec_init(&c->names);
    for (size_t i = 0; i < names->n; i++)
        if (strvec_push(&c->names, names->v[i]) != ERR_OK)
            break;
    f->ncalls++;
}

/* The request body's names and WithDecryption; a refusal when it is not well formed. */
static int read_body(const struct httpd_request *req, enum op op, struct strvec *names,
                     int *decrypt, struct refusal *why)
{
    struct jv *root = NULL;
    if (jv_parse(req->body, req->body_len, &root, NULL) != ERR_OK || jv_type(root) != JV_OBJECT) {
        jv_free(root);
        return refuse(why, 400, CORAL "SerializationException", "the body is not a JSON object");
    }
    int rc = 0;
    const struct jv *wd = jv_get(root, "WithDecryption");
    *decrypt = 0;
    if (wd && jv_bool(wd, decrypt) != ERR_OK) {
        rc = refuse(why, 400, CORAL "SerializationException", "WithDecryption must be a boolean");
        goto out;
    }
    if (op == OP_GET_PARAMETER) {
        size_t n;
        const char *name = jv_str(jv_get(root, "Name"), &n);
        if (!name || n == 0 || n > 2048) {
            rc = refuse(why, 400, CORAL_VALID "ValidationException",
                        "1 validation error detected: Value at 'name' failed to satisfy "
                        "constraint: Member must have length between 1 and 2048");
            goto out;
        }
        if (strvec_push(names, name) != ERR_OK)
            rc = refuse(why, 500, "InternalServerError", "out of memory");
        goto out;
    }
    const struct jv *list = jv_get(root, "Names");
    size_t n = jv_len(list);
    if (jv_type(list) != JV_ARRAY || n < 1 || n > 10) {
        rc = refuse(why, 400, CORAL_VALID "ValidationException",
                    "1 validation error detected: Value at 'names' failed to satisfy "
                    "constraint: Member must have length between 1 and 10");
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len;
        const char *name = jv_str(jv_at(list, i), &len);
        if (!name || len == 0 || len > 2048)
            rc = refuse(why, 400, CORAL_VALID "ValidationException",
                        "1 validation error detected: Value at 'names' failed to satisfy "
                        "constraint: Member must satisfy constraint: [Member must have length "
                        "between 1 and 2048]");
        else if (strvec_push(names, name) != ERR_OK)
            rc = refuse(why, 500, "InternalServerError", "out of memory");
    }
out:
    jv_free(root);
    return rc;
}

static void answer(struct ssm_fake *f, enum op op, const struct strvec *names, int decrypt,
                   struct httpd_response *r)
{
    struct buf *b = &r->body;
    buf_reset(b);
    if (op == OP_GET_PARAMETER) {
        const struct param *p = find_param(f, names->v[0]);
        if (!p) {
            reply_error(r, 400, "ParameterNotFound", "");
            return;
        }
        buf_puts(b, "{\"Parameter\":");
        put_param(f, b, p, decrypt);
        buf_puts(b, "}");
        return;
    }
    buf_puts(b, "{\"InvalidParameters\":[");
    int first = 1;
    for (size_t i = 0; i < names->n; i++) {
        if (find_param(f, names->v[i]))
            continue;
        if (!first)
            buf_putc(b, ',');
        put_str(b, names->v[i]);
        first = 0;
    }
    buf_puts(b, "],\"Parameters\":[");
    first = 1;
    for (size_t i = 0; i < names->n; i++) {
        const struct param *p = find_param(f, names->v[i]);
        if (!p)
            continue;
        if (!first)
            buf_putc(b, ',');
        put_param(f, b, p, decrypt);
        first = 0;
    }
    buf_puts(b, "]}");
}

/* ---- the control endpoints ---- */

static void serve_stats(struct ssm_fake *f, struct httpd_response *r)
{
    struct buf *b = &r->body;
    pthread_mutex_lock(&f->mu);
    const struct ssm_fake_stats *st = &f->st;
    buf_printf(b,
               "{\"requests\":%llu,\"targets\":{\"AmazonSSM.GetParameter\":%llu,"
               "\"AmazonSSM.GetParameters\":%llu},\"auth_failures\":%llu,\"throttled\":%llu,"
               "\"server_errors\":%llu,\"denied\":%llu,\"names\":%llu,\"status\":{",
               (unsigned long long)st->requests, (unsigned long long)st->get_parameter,
               (unsigned long long)st->get_parameters, (unsigned long long)st->auth_failures,
               (unsigned long long)st->throttled, (unsigned long long)st->server_errors,
               (unsigned long long)st->denied, (unsigned long long)st->names);
    int first = 1;
    for (int i = 0; i < 600; i++) {
        if (!st->status[i])
            continue;
        buf_printf(b, "%s\"%d\":%llu", first ? "" : ",", i, (unsigned long long)st->status[i]);
        first = 0;
    }
    buf_puts(b, "},\"calls\":[");
    for (size_t i = 0; i < f->ncalls; i++) {
        buf_printf(b, "%s{\"op\":\"%s\",\"names\":[", i ? "," : "", f->calls[i].op);
        for (size_t k = 0; k < f->calls[i].names.n; k++) {
            if (k)
                buf_putc(b, ',');
            put_str(b, f->calls[i].names.v[k]);
        }
        buf_puts(b, "]}");
    }
    pthread_mutex_unlock(&f->mu);
    buf_puts(b, "]}");
    httpd_response_header(r, "Content-Type", "application/json");
}

static void serve_control(struct ssm_fake *f, const struct httpd_request *req,
                          struct httpd_response *r)
{
    if (strcmp(req->path, "/__sim/stats") == 0 && strcmp(req->method, "GET") == 0) {
        serve_stats(f, r);
    } else if (strcmp(req->path, "/__sim/reset") == 0 && strcmp(req->method, "POST") == 0) {
        ssm_fake_reset(f);
        buf_puts(&r->body, "{\"reset\":true}");
        httpd_response_header(r, "Content-Type", "application/json");
    } else {
        r->status = 404;
        buf_puts(&r->body, "{\"message\":\"not found\"}");
    }
}

/* ---- dispatch ---- */

void ssm_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct ssm_fake *f = ctx;
    if (strncmp(req->path, "/__sim/", 7) == 0) {
        serve_control(f, req, r);
        return;
    }
    char rid[48];
    pthread_mutex_lock(&f->mu);
    snprintf(rid, sizeof rid, "00000000-0000-4000-8000-%012llx",
             (unsigned long long)++f->request_seq);
    pthread_mutex_unlock(&f->mu);
    httpd_response_header(r, "x-amzn-RequestId", rid);
    httpd_response_header(r, "Content-Type", JSON_TYPE);

    struct refusal why = {0};
    struct strvec names = STRVEC_INIT;
    int decrypt = 0, auth_failed = 0, throttled = 0, failed500 = 0, denied_call = 0;
    enum op op = OP_GET_PARAMETERS;
    const char *target = httpd_request_header(req, "X-Amz-Target");
    const char *type = httpd_request_header(req, "Content-Type");
    int rc = 0;
    if (strcmp(req->method, "POST") != 0) {
        rc = refuse(&why, 405, CORAL "UnknownOperationException", "method not allowed");
    } else if (strcmp(req->path, "/") != 0) {
        rc = refuse(&why, 404, CORAL "UnknownOperationException", "not found");
    } else if ((rc = verify_signature(f, req, &why)) != 0) {
        auth_failed = 1;
    } else if (!type || strncasecmp(type, JSON_TYPE, strlen(JSON_TYPE)) != 0 ||
               (type[strlen(JSON_TYPE)] && type[strlen(JSON_TYPE)] != ';')) {
        rc = refuse(&why, 400, CORAL "SerializationException",
                    "expected Content-Type application/x-amz-json-1.1");
    } else if (!target || (strcmp(target, "AmazonSSM.GetParameter") != 0 &&
                           strcmp(target, "AmazonSSM.GetParameters") != 0)) {
        rc = refuse(&why, 400, CORAL "UnknownOperationException", "");
    } else {
        op = strcmp(target, "AmazonSSM.GetParameter") == 0 ? OP_GET_PARAMETER : OP_GET_PARAMETERS;
        pthread_mutex_lock(&f->mu);
        uint64_t n = ++f->ordinal;
        if (op == OP_GET_PARAMETER)
            f->st.get_parameter++;
        else
            f->st.get_parameters++;
        pthread_mutex_unlock(&f->mu);
        if (n <= f->throttle) {
            throttled = 1;
            rc = refuse(&why, 400, "ThrottlingException", "Rate exceeded");
        } else if (n - f->throttle <= f->fail500) {
            failed500 = 1;
            rc = refuse(&why, 500, "InternalServerError", "An internal error occurred.");
        } else if ((rc = read_body(req, op, &names, &decrypt, &why)) == 0) {
            pthread_mutex_lock(&f->mu);
            record_call(f, op, &names);
            pthread_mutex_unlock(&f->mu);
            for (size_t i = 0; i < names.n && !rc; i++) {
                if (!denied(f, names.v[i]))
                    continue;
                char msg[640];
                snprintf(msg, sizeof msg,
                         "User: arn:aws:sts::" ACCOUNT ":assumed-role/screener/fake is not "
                         "authorized to perform: ssm:%s on resource: arn:aws:ssm:%s:" ACCOUNT
                         ":parameter%s%.150s because no identity-based policy allows the "
                         "ssm:%s action",
                         op == OP_GET_PARAMETER ? "GetParameter" : "GetParameters", f->region,
                         names.v[i][0] == '/' ? "" : "/", names.v[i],
                         op == OP_GET_PARAMETER ? "GetParameter" : "GetParameters");
                denied_call = 1;
                rc = refuse(&why, 400, "AccessDeniedException", msg);
            }
        }
    }
    if (rc)
        reply_error(r, why.status, why.type, why.msg);
    else
        answer(f, op, &names, decrypt, r);

    pthread_mutex_lock(&f->mu);
    f->st.requests++;
    f->st.auth_failures += auth_failed;
    f->st.throttled += throttled;
    f->st.server_errors += failed500;
    f->st.denied += denied_call;
    if (r->status >= 0 && r->status < 600)
        f->st.status[r->status]++;
    pthread_mutex_unlock(&f->mu);
    log_debug("fake SSM request", LF_STR("target", target ? target : ""), LF_INT("names", names.n),
              LF_INT("status", r->status), LF_STR("error", rc ? why.type : ""));
    strvec_release(&names);
}
