/* s3_fake.c - the fake S3: buckets of sorted objects in memory under one mutex, SigV4
 * verification by recomputing the signature with aws/sigv4.h, S3's XML answers. */
#include "fakes/s3_fake.h"

#include "aws/sigv4.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/crypto.h"
#include "codec/num.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/banned.h"

#define KEY_MAX     1024
#define BUCKET_MAX  63
#define FAULTS_MAX  64
#define SKEW_MAX_S  900
#define PARAM_MAX   2048
#define HEADERS_MAX 64
#define HOLD_MAX_S  60 /* a held GET goes on after this much real time at most */
#define XMLNS       "http://s3.amazonaws.com/doc/2006-03-01/"

struct object {
    char *key;
    char *data;
    size_t len;
    char etag[40]; /* quoted */
    char content_type[128];
    int64_t mtime_s;
};

struct bucket {
    char name[BUCKET_MAX + 1];
    struct object *v; /* sorted by key (strcmp) */
    size_t n, cap;
};

struct s3_fake {
    struct s3_fake_opts o;
    char *akid, *secret, *token, *region;
    struct httpd *httpd;

    pthread_mutex_t mu;
    struct bucket *buckets;
    size_t nbuckets, bcap;
    struct s3_fake_fault faults[FAULTS_MAX];
    size_t nfaults;
    uint64_t ordinal;
    uint64_t request_seq;
    int64_t advance_s;
    struct s3_fake_stats st;
    int64_t latency_ms;
    uint64_t inflight;
    int gate_open;
    unsigned gate_kinds; /* S3_FAKE_GATE_* held at the gate */
    long gate_skip;      /* requests of those kinds let through before the gate applies */
    pthread_cond_t gate;
    char hold[520]; /* object GETs whose path ends with this wait for a release; "" none */
    uint64_t held;  /* GETs waiting there now */
    uint64_t hold_gen;
    pthread_cond_t hold_cv;
};

/* ---- faults ---- */

static const char *const fault_names[S3_FAKE_FAULT_COUNT_] = {
    "503", "500", "409", "reset", "lost", "truncate", "malformed",
};

const char *s3_fake_fault_name(enum s3_fake_fault_kind kind)
{
    return (unsigned)kind < S3_FAKE_FAULT_COUNT_ ? fault_names[kind] : "unknown";
}

int s3_fake_fault_parse(const char *spec, struct s3_fake_fault *out, struct diag *d)
{
    const char *at = strchr(spec, '@');
    int kind = -1;
    int64_t first = 0, count = 1;
    if (at) {
        size_t klen = (size_t)(at - spec);
        for (int i = 0; i < S3_FAKE_FAULT_COUNT_; i++)
            if (strlen(fault_names[i]) == klen && memcmp(spec, fault_names[i], klen) == 0)
                kind = i;
        const char *x = strchr(at + 1, 'x');
        size_t nlen = x ? (size_t)(x - at - 1) : strlen(at + 1);
        if (num_parse_int(at + 1, nlen, &first) != ERR_OK ||
            (x && num_parse_int(x + 1, strlen(x + 1), &count) != ERR_OK))
            kind = -1;
    }
    if (kind < 0 || first < 1 || count < 1)
        return diag_set(d, ERR_INVALID,
                        "fault '%s': expected KIND@N or KIND@NxCOUNT (N from 1), KIND one of "
                        "503, 500, 409, reset, lost, truncate, malformed",
                        spec);
    out->kind = (enum s3_fake_fault_kind)kind;
    out->first = (uint64_t)first;
    out->count = (uint64_t)count;
    return ERR_OK;
}

int s3_fake_faults_parse(const char *specs, struct s3_fake_fault *out, size_t cap, size_t *n,
                         struct diag *d)
{
    *n = 0;
    for (const char *p = specs; *p;) {
        size_t len = strcspn(p, ",");
        char one[64];
        if (len == 0 || len >= sizeof one)
            return diag_set(d, ERR_INVALID, "faults '%s': an empty or overlong entry", specs);
        if (*n == cap)
            return diag_set(d, ERR_TOOBIG, "faults '%s': more than %zu", specs, cap);
        memcpy(one, p, len);
        one[len] = '\0';
        int err = s3_fake_fault_parse(one, &out[*n], d);
        if (err)
            return err;
        ++*n;
        p += len + (p[len] == ',');
    }
    return ERR_OK;
}

void s3_fake_opts_default(struct s3_fake_opts *o)
{
    memset(o, 0, sizeof *o);
    o->access_key_id = "AKIDFAKES3EXAMPLE";
    o->secret_access_key = "fakeS3/Secret+Key/EXAMPLE0123456789abcdef";
    o->region = "us-east-1";
    o->max_keys = 1000;
    o->max_object = S3_FAKE_OBJECT_MAX;
    o->overlap_wait_ms = 5000;
}

/* ---- small helpers ---- */

static int64_t now_s(struct s3_fake *f)
{
    pthread_mutex_lock(&f->mu);
    int64_t adv = f->advance_s;
    pthread_mutex_unlock(&f->mu);
    return clock_wall_ms() / 1000 + adv;
}

/* Percent-decode a path (no '+' rule) into out; ERR_PARSE for a bad escape or a NUL. */
static int path_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int v = crypto_hex_byte(s + i + 1, n - i - 1);
            if (v <= 0) /* not an escape, or a NUL */
                return ERR_PARSE;
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return ERR_TOOBIG;
        out[o++] = c;
    }
    out[o] = '\0';
    return ERR_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_encode(struct buf *out, const char *in, size_t n)
{
    const unsigned char *p = (const unsigned char *)in;
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        err = buf_append(out, q, 4);
    }
    return err;
}

static int b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    if (n == 0 || n % 4)
        return ERR_PARSE;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            const char *at = c ? strchr(b64, c) : NULL;
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || in[i + 3] == '=')) {
                pad++;
                v <<= 6;
            } else if (at && !pad) {
                v = v << 6 | (uint32_t)(at - b64);
            } else {
                return ERR_PARSE;
            }
        }
        for (int k = 0; k < 3 - pad; k++) {
            if (o + 1 >= cap)
                return ERR_TOOBIG;
            out[o++] = (char)(v >> (16 - 8 * k));
        }
    }
    out[o] = '\0';
    return strlen(out) == o ? ERR_OK : ERR_PARSE;
}

static int xml_escape(struct buf *b, const char *s)
{
    int err = ERR_OK;
    for (; *s && !err; s++) {
        switch (*s) {
        case '&':
            err = buf_puts(b, "&amp;");
            break;
        case '<':
            err = buf_puts(b, "&lt;");
            break;
        case '>':
            err = buf_puts(b, "&gt;");
            break;
        case '"':
            err = buf_puts(b, "&quot;");
            break;
        case '\'':
            err = buf_puts(b, "&apos;");
            break;
        case '\r':
            err = buf_puts(b, "&#13;");
            break;
        default:
            err = buf_putc(b, *s);
        }
    }
    return err;
}

/* <name>escaped value</name> */
static int xml_elem(struct buf *b, const char *name, const char *value)
{
    int err = buf_printf(b, "<%s>", name);
    if (!err)
        err = xml_escape(b, value);
    if (!err)
        err = buf_printf(b, "</%s>", name);
    return err;
}

/* "2024-07-01T21:10:05.000Z" */
static void iso_time(int64_t t, char out[32])
{
    int y, m, d;
    date_to_ymd((int32_t)(t / 86400), &y, &m, &d);
    int s = (int)(t % 86400);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", y, m, d, s / 3600, s / 60 % 60, s % 60);
}

/* "Mon, 01 Jul 2024 21:10:05 GMT" */
static void http_time(int64_t t, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int32_t day = (int32_t)(t / 86400);
    int y, m, d;
    date_to_ymd(day, &y, &m, &d);
    int s = (int)(t % 86400);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[date_weekday(day)], d,
             months[m - 1], y, s / 3600, s / 60 % 60, s % 60);
}

/* ---- answers ---- */

/* One request being handled. */
struct rq {
    const struct httpd_request *req;
    struct httpd_response *r;
    char rid[24];
    char bucket[BUCKET_MAX + 1]; /* "" at the service level */
    char key[KEY_MAX + 1];       /* "" at the bucket level */
    int presigned;
};

struct extra {
    const char *name, *value;
};

/* An S3 error document; extra elements (name/value pairs) go before RequestId. */
static void reply_error(struct rq *q, int status, const char *code, const char *message,
                        const struct extra *extra, size_t nextra)
{
    struct httpd_response *r = q->r;
    r->status = status;
    buf_reset(&r->body);
    int err = buf_puts(&r->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    if (!err)
        err = xml_elem(&r->body, "Code", code);
    if (!err)
        err = xml_elem(&r->body, "Message", message);
    for (size_t i = 0; !err && i < nextra; i++)
        err = xml_elem(&r->body, extra[i].name, extra[i].value);
    if (!err)
        err = xml_elem(&r->body, "RequestId", q->rid);
    if (!err)
        err = buf_puts(&r->body, "<HostId>s3-fake</HostId></Error>");
    if (err) {
        buf_reset(&r->body);
        r->status = 500;
    }
    httpd_response_header(r, "Content-Type", "application/xml");
}

static void error_key(struct rq *q, int status, const char *code, const char *message)
{
    struct extra e[1] = {{"Key", q->key}};
    reply_error(q, status, code, message, e, q->key[0] ? 1 : 0);
}

static void no_such_bucket(struct rq *q)
{
    struct extra e[1] = {{"BucketName", q->bucket}};
    reply_error(q, 404, "NoSuchBucket", "The specified bucket does not exist", e, 1);
}

/* ---- SigV4 verification ---- */

struct credential {
    char akid[128], date8[16], region[64], service[32], term[32];
};

static int parse_credential(const char *v, struct credential *c)
{
    char *fields[5] = {c->akid, c->date8, c->region, c->service, c->term};
    const size_t caps[5] = {sizeof c->akid, sizeof c->date8, sizeof c->region, sizeof c->service,
                            sizeof c->term};
    for (int i = 0; i < 5; i++) {
        size_t n = strcspn(v, "/");
        if (n == 0 || n >= caps[i] || (i < 4 && v[n] != '/') || (i == 4 && v[n] != '\0'))
            return ERR_PARSE;
        memcpy(fields[i], v, n);
        fields[i][n] = '\0';
        v += n + (i < 4);
    }
    return ERR_OK;
}

/* "20150830T123600Z" -> Unix seconds. */
static int parse_amz_date(const char *s, int64_t *out)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return ERR_PARSE;
    char day[11] = {s[0], s[1], s[2], s[3], '-', s[4], s[5], '-', s[6], s[7], '\0'};
    int32_t date;
    if (date_parse(day, 10, &date) != ERR_OK)
        return ERR_PARSE;
    int v[3];
    for (int i = 0; i < 3; i++) {
        char a = s[9 + 2 * i], b = s[10 + 2 * i];
        if (a < '0' || a > '9' || b < '0' || b > '9')
            return ERR_PARSE;
        v[i] = (a - '0') * 10 + (b - '0');
    }
    if (v[0] > 23 || v[1] > 59 || v[2] > 59)
        return ERR_PARSE;
    *out = (int64_t)date * 86400 + v[0] * 3600 + v[1] * 60 + v[2];
    return ERR_OK;
}

/* Whether the ';'-separated list names the header (lower case). */
static int list_has(const char *list, const char *name, size_t n)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += len + (p[len] == ';');
    }
    return 0;
}

/* The request's headers named in the signed list (all of them when a name repeats), as sigv4
 * headers: names[i] holds the name, the value points into the request.  ERR_NOTFOUND with the
 * first name missing in *missing. */
static int signed_headers(const struct httpd_request *req, const char *list, struct sigv4_header *h,
                          char (*names)[128], size_t *nh, char *missing, size_t cap)
{
    *nh = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ";");
        int found = 0;
        for (size_t i = 0; i < req->nheaders; i++) {
            const char *line = req->headers[i];
            if (strncasecmp(line, p, len) == 0 && line[len] == ':') {
                if (*nh == HEADERS_MAX)
                    return ERR_TOOBIG;
                snprintf(names[*nh], 128, "%.*s", (int)(len < 127 ? len : 127), line);
                h[*nh].name = names[*nh];
                h[*nh].value = line + len + 1;
                ++*nh;
                found = 1;
            }
        }
        if (!found) {
            snprintf(missing, cap, "%.*s", (int)len, p);
            return ERR_NOTFOUND;
        }
        p += len + (p[len] == ';');
    }
    return ERR_OK;
}

/* The signature check's last step, shared by both forms: compare, or answer 403
 * SignatureDoesNotMatch with what S3 shows. */
static int check_signature(struct s3_fake *f, struct rq *q, const struct credential *c,
                           const char *canonical, size_t clen, const struct sigv4_params *p,
                           const char *provided)
{
    struct buf sts = BUF_INIT((size_t)1 << 20);
    int err = sigv4_string_to_sign(canonical, clen, p, &sts, NULL);
    uint8_t key[32];
    char sig[65];
    sigv4_signing_key(f->secret, c->date8, c->region, "s3", key);
    if (!err)
        sigv4_signature(key, sts.data, sts.len, sig);
    explicit_bzero(key, sizeof key);
    int ok = !err && crypto_secret_streq(sig, provided);
    if (!ok) {
        struct extra e[4] = {{"AWSAccessKeyId", c->akid},
                             {"StringToSign", buf_cstr(&sts)},
                             {"SignatureProvided", provided},
                             {"CanonicalRequest", canonical}};
        reply_error(q, 403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.",
                    e, 4);
        pthread_mutex_lock(&f->mu);
        f->st.signature_mismatches++;
        pthread_mutex_unlock(&f->mu);
    }
    buf_release(&sts);
    return ok;
}

/* Checks shared by both forms: the credential scope.  Returns 1 when it is acceptable. */
static int check_scope(struct s3_fake *f, struct rq *q, const struct credential *c, int64_t t,
                       int query_form)
{
    char msg[256];
    if (!crypto_secret_streq(c->akid, f->akid)) {
        reply_error(q, 403, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.", NULL, 0);
        return 0;
    }
    char amz[17];
    sigv4_amz_date(t, amz);
    if (strncmp(amz, c->date8, 8) != 0 || strlen(c->date8) != 8) {
        snprintf(msg, sizeof msg, "Invalid credential date \"%.15s\". It must be the date of %s.",
                 c->date8, query_form ? "X-Amz-Date" : "x-amz-date");
        reply_error(q, 400,
                    query_form ? "AuthorizationQueryParametersError"
                               : "AuthorizationHeaderMalformed",
                    msg, NULL, 0);
        return 0;
    }
    if (strcmp(c->region, f->region) != 0) {
        snprintf(msg, sizeof msg, "the region '%.60s' is wrong; expecting '%.60s'", c->region,
                 f->region);
        struct extra e[1] = {{"Region", f->region}};
        reply_error(q, 400,
                    query_form ? "AuthorizationQueryParametersError"
                               : "AuthorizationHeaderMalformed",
                    msg, e, 1);
        return 0;
    }
    if (strcmp(c->service, "s3") != 0 || strcmp(c->term, "aws4_request") != 0) {
        reply_error(q, 400,
                    query_form ? "AuthorizationQueryParametersError"
                               : "AuthorizationHeaderMalformed",
                    "The credential scope must end with /s3/aws4_request", NULL, 0);
        return 0;
    }
    return 1;
}

static int check_token(struct s3_fake *f, struct rq *q, const char *token)
{
    if ((f->token && (!token || !crypto_secret_streq(token, f->token))) || (!f->token && token)) {
        reply_error(q, 403, "InvalidToken", "The provided token is malformed or otherwise invalid.",
                    NULL, 0);
        return 0;
    }
    return 1;
}

static int verify_header_auth(struct s3_fake *f, struct rq *q, const char *auth)
{
    const struct httpd_request *req = q->req;
    static const char alg[] = "AWS4-HMAC-SHA256 ";
    char cred_v[512] = "", list[1024] = "", provided[128] = "";
    if (strncmp(auth, alg, sizeof alg - 1) != 0) {
        reply_error(q, 400, "InvalidArgument", "Unsupported Authorization Type", NULL, 0);
        return 0;
    }
    for (const char *p = auth + sizeof alg - 1; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        struct {
            const char *name;
            char *out;
            size_t cap;
        } parts[] = {{"Credential=", cred_v, sizeof cred_v},
                     {"SignedHeaders=", list, sizeof list},
                     {"Signature=", provided, sizeof provided}};
        for (size_t i = 0; i < 3; i++) {
            size_t nl = strlen(parts[i].name);
            if (len > nl && strncmp(p, parts[i].name, nl) == 0 && len - nl < parts[i].cap) {
                memcpy(parts[i].out, p + nl, len - nl);
                parts[i].out[len - nl] = '\0';
            }
        }
        p += strcspn(p, ",");
    }
    struct credential c;
    if (!cred_v[0] || !list[0] || !provided[0] || parse_credential(cred_v, &c) != ERR_OK) {
        reply_error(q, 400, "AuthorizationHeaderMalformed",
                    "The authorization header is malformed; it needs Credential, SignedHeaders "
                    "and Signature.",
                    NULL, 0);
        return 0;
    }
    const char *date = httpd_request_header(req, "x-amz-date");
    int64_t t;
    if (!date || parse_amz_date(date, &t) != ERR_OK) {
        reply_error(q, 403, "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header", NULL, 0);
        return 0;
    }
    if (!check_scope(f, q, &c, t, 0))
        return 0;
    int64_t now = now_s(f);
    if (t < now - SKEW_MAX_S || t > now + SKEW_MAX_S) {
        char req_time[17], server_time[17];
        sigv4_amz_date(t, req_time);
        sigv4_amz_date(now, server_time);
        struct extra e[2] = {{"RequestTime", req_time}, {"ServerTime", server_time}};
        reply_error(q, 403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.", e,
                    2);
        return 0;
    }
    const char *sha = httpd_request_header(req, "x-amz-content-sha256");
    if (!sha) {
        reply_error(q, 400, "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256", NULL, 0);
        return 0;
    }
    if (strcmp(sha, SIGV4_UNSIGNED_PAYLOAD) != 0) {
        uint8_t h[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1];
        crypto_sha256(req->body, req->body_len, h);
        crypto_hex(h, SHA256_LEN, hex);
        if (strcmp(hex, sha) != 0) {
            struct extra e[2] = {{"ClientComputedContentSHA256", sha},
                                 {"S3ComputedContentSHA256", hex}};
            reply_error(q, 400, "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was "
                        "computed.",
                        e, 2);
            return 0;
        }
    }
    if (!check_token(f, q, httpd_request_header(req, "x-amz-security-token")))
        return 0;
    /* Host and every x-amz-* header sent must be signed. */
    int unsigned_amz = !list_has(list, "host", 4);
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *line = req->headers[i];
        size_t n = strcspn(line, ":");
        if (n > 6 && strncasecmp(line, "x-amz-", 6) == 0 && !list_has(list, line, n))
            unsigned_amz = 1;
    }
    if (unsigned_amz) {
        reply_error(q, 403, "AccessDenied",
                    "There were headers present in the request which were not signed", NULL, 0);
        return 0;
    }
    struct sigv4_header h[HEADERS_MAX];
    char names[HEADERS_MAX][128];
    size_t nh;
    char missing[128];
    int err = signed_headers(req, list, h, names, &nh, missing, sizeof missing);
    if (err) {
        char msg[256];
        snprintf(msg, sizeof msg, "Header '%s' is signed but not in the request", missing);
        reply_error(q, 403, "AccessDenied", msg, NULL, 0);
        return 0;
    }
    struct sigv4_request sr = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = h,
        .nheaders = nh,
        .payload_hash = sha,
    };
    struct sigv4_params p = {.region = c.region, .service = "s3", .time_s = t, .rules = SIGV4_S3};
    struct sigv4_creds cr = {.access_key_id = c.akid, .secret_access_key = f->secret};
    struct buf canonical = BUF_INIT((size_t)1 << 20);
    err = sigv4_canonical_request(&sr, &p, &cr, &canonical, NULL);
    int ok = 0;
    if (err)
        reply_error(q, 400, "InvalidRequest", "The request cannot be signed", NULL, 0);
    else
        ok = check_signature(f, q, &c, canonical.data, canonical.len, &p, provided);
    buf_release(&canonical);
    return ok;
}

static const char *const presign_params[] = {
    "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* The query without the parameters presigning adds (which sigv4 adds back from the
 * credentials and parameters). */
static int strip_presign_params(const char *query, struct buf *out)
{
    for (const char *p = query; *p;) {
        size_t len = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        char name[64];
        int drop = 0;
        if (klen < sizeof name && path_decode(p, klen, name, sizeof name) == ERR_OK)
            for (size_t i = 0; i < sizeof presign_params / sizeof presign_params[0]; i++)
                drop |= strcmp(name, presign_params[i]) == 0;
        if (!drop && len) {
            int err = out->len ? buf_putc(out, '&') : ERR_OK;
            if (!err)
                err = buf_append(out, p, len);
            if (err)
                return err;
        }
        p += len + (p[len] == '&');
    }
    return ERR_OK;
}

static int verify_query_auth(struct s3_fake *f, struct rq *q)
{
    const struct httpd_request *req = q->req;
    char alg[64], cred_v[512], date[32], expires[32], list[1024], provided[128],
        token[SIGV4_SECRET_MAX * 20];
    struct {
        const char *name;
        char *out;
        size_t cap;
    } params[] = {
        {"X-Amz-Algorithm", alg, sizeof alg},       {"X-Amz-Credential", cred_v, sizeof cred_v},
        {"X-Amz-Date", date, sizeof date},          {"X-Amz-Expires", expires, sizeof expires},
        {"X-Amz-SignedHeaders", list, sizeof list}, {"X-Amz-Signature", provided, sizeof provided}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        if (httpd_query_get(req->query, params[i].name, params[i].out, params[i].cap) != ERR_OK) {
            reply_error(q, 400, "AuthorizationQueryParametersError",
                        "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                        "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                        "and X-Amz-Expires parameters.",
                        NULL, 0);
            return 0;
        }
    }
    struct credential c;
    int64_t t, exp;
    if (strcmp(alg, "AWS4-HMAC-SHA256") != 0 || parse_credential(cred_v, &c) != ERR_OK ||
        parse_amz_date(date, &t) != ERR_OK ||
        num_parse_int(expires, strlen(expires), &exp) != ERR_OK || strchr(expires, '.') ||
        exp < 0) {
        reply_error(q, 400, "AuthorizationQueryParametersError",
                    "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date or X-Amz-Expires is malformed",
                    NULL, 0);
        return 0;
    }
    if (exp > SIGV4_EXPIRES_MAX) {
        reply_error(q, 400, "AuthorizationQueryParametersError",
                    "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                    "X-Amz-Expires must be less than 604800 seconds",
                    NULL, 0);
        return 0;
    }
    if (!check_scope(f, q, &c, t, 1))
        return 0;
    int64_t now = now_s(f);
    if (now > t + exp) {
        char expired[32], server[32];
        iso_time(t + exp, expired);
        iso_time(now, server);
        struct extra e[3] = {
            {"X-Amz-Expires", expires}, {"Expires", expired}, {"ServerTime", server}};
        reply_error(q, 403, "AccessDenied", "Request has expired", e, 3);
        return 0;
    }
    if (t > now + SKEW_MAX_S) {
        reply_error(q, 403, "AccessDenied", "Request is not valid yet", NULL, 0);
        return 0;
    }
    int has_token =
        httpd_query_get(req->query, "X-Amz-Security-Token", token, sizeof token) == ERR_OK;
    if (!check_token(f, q, has_token ? token : NULL))
        return 0;
    if (!list_has(list, "host", 4)) {
        reply_error(q, 403, "AccessDenied", "The host header must be signed", NULL, 0);
        return 0;
    }
    struct sigv4_header h[HEADERS_MAX];
    char names[HEADERS_MAX][128];
    size_t nh;
    char missing[128];
    if (signed_headers(req, list, h, names, &nh, missing, sizeof missing) != ERR_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "Header '%s' is signed but not in the request", missing);
        reply_error(q, 403, "AccessDenied", msg, NULL, 0);
        return 0;
    }
    struct buf rest = BUF_INIT(strlen(req->query) + 1);
    int err = strip_presign_params(req->query, &rest);
    struct sigv4_request sr = {
        .method = req->method,
        .path = req->path,
        .query = buf_cstr(&rest),
        .headers = h,
        .nheaders = nh,
        .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
    };
    struct sigv4_params p = {
        .region = c.region, .service = "s3", .time_s = t, .rules = SIGV4_S3, .expires_s = exp};
    struct sigv4_creds cr = {.access_key_id = c.akid,
                             .secret_access_key = f->secret,
                             .session_token = has_token ? token : NULL};
    struct buf canonical = BUF_INIT((size_t)1 << 20);
    if (!err)
        err = sigv4_presign_canonical_request(&sr, &p, &cr, &canonical, NULL);
    int ok = 0;
    if (err)
        reply_error(q, 400, "InvalidRequest", "The request cannot be signed", NULL, 0);
    else
        ok = check_signature(f, q, &c, canonical.data, canonical.len, &p, provided);
    buf_release(&canonical);
    buf_release(&rest);
    explicit_bzero(token, sizeof token);
    q->presigned = ok;
    return ok;
}

static int verify(struct s3_fake *f, struct rq *q)
{
    const char *auth = httpd_request_header(q->req, "Authorization");
    char alg[64];
    int query_form =
        httpd_query_get(q->req->query, "X-Amz-Algorithm", alg, sizeof alg) != ERR_NOTFOUND;
    if (auth && query_form) {
        reply_error(q, 400, "InvalidArgument",
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be "
                    "specified",
                    NULL, 0);
        return 0;
    }
    if (!auth && !query_form) {
        reply_error(q, 403, "AccessDenied", "Access Denied", NULL, 0);
        return 0;
    }
    return auth ? verify_header_auth(f, q, auth) : verify_query_auth(f, q);
}

/* ---- buckets and objects (call with the mutex held) ---- */

static struct bucket *find_bucket(struct s3_fake *f, const char *name)
{
    for (size_t i = 0; i < f->nbuckets; i++)
        if (strcmp(f->buckets[i].name, name) == 0)
            return &f->buckets[i];
    return NULL;
}

static int add_bucket(struct s3_fake *f, const char *name)
{
    if (f->nbuckets == f->bcap) {
        size_t cap = f->bcap ? 2 * f->bcap : 4;
        struct bucket *v = realloc(f->buckets, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        f->buckets = v;
        f->bcap = cap;
    }
    struct bucket *b = &f->buckets[f->nbuckets++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    return ERR_OK;
}

/* Index of the first object whose key is >= key (or > key with after). */
static size_t lower_bound(const struct bucket *b, const char *key, int after)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->v[mid].key, key);
        if (c < 0 || (after && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct object *find_object(struct bucket *b, const char *key)
{
    size_t i = lower_bound(b, key, 0);
    return i < b->n && strcmp(b->v[i].key, key) == 0 ? &b->v[i] : NULL;
}

static void object_release(struct object *o)
{
    free(o->key);
    free(o->data);
}

/* ---- operations ---- */

static void make_etag(const char *data, size_t len, char out[40])
{
    uint8_t h[SHA256_LEN];
    char hex[33];
    crypto_sha256(data, len, h);
    crypto_hex(h, 16, hex);
    snprintf(out, 40, "\"%s\"", hex);
}

static void object_headers(struct httpd_response *r, const struct object *o)
{
    char lm[40];
    http_time(o->mtime_s, lm);
    httpd_response_header(r, "ETag", o->etag);
    httpd_response_header(r, "Last-Modified", lm);
    httpd_response_header(r, "Content-Type", o->content_type);
    httpd_response_header(r, "Accept-Ranges", "bytes");
}

static void do_get(struct s3_fake *f, struct rq *q, int head)
{
    pthread_mutex_lock(&f->mu);
    struct bucket *b = find_bucket(f, q->bucket);
    struct object *o = b ? find_object(b, q->key) : NULL;
    if (o) {
        q->r->status = 200;
        buf_reset(&q->r->body);
        if (buf_append(&q->r->body, o->data ? o->data : "", o->len) != ERR_OK)
            q->r->status = 500;
        object_headers(q->r, o);
    }
    pthread_mutex_unlock(&f->mu);
    if (!b)
        no_such_bucket(q);
    else if (!o)
        error_key(q, 404, "NoSuchKey", "The specified key does not exist.");
    if (head && q->r->status != 200)
        buf_reset(&q->r->body); /* HEAD answers carry no body, errors included */
}

static void do_put(struct s3_fake *f, struct rq *q)
{
    const struct httpd_request *req = q->req;
    const char *inm = httpd_request_header(req, "If-None-Match");
    const char *im = httpd_request_header(req, "If-Match");
    if (httpd_request_header(req, "x-amz-copy-source")) {
        error_key(q, 501, "NotImplemented", "CopyObject is not implemented by this fake.");
        return;
    }
    if (inm && strcmp(inm, "*") != 0) {
        error_key(q, 501, "NotImplemented",
                  "A header you provided implies functionality that is not implemented");
        return;
    }
    const char *ctype = httpd_request_header(req, "Content-Type");
    struct object nw = {0};
    make_etag(req->body, req->body_len, nw.etag);
    snprintf(nw.content_type, sizeof nw.content_type, "%s", ctype ? ctype : "binary/octet-stream");
    nw.mtime_s = now_s(f);
    nw.len = req->body_len;
    nw.key = strdup(q->key);
    nw.data = malloc(req->body_len ? req->body_len : 1);
    if (!nw.key || !nw.data) {
        object_release(&nw);
        error_key(q, 500, "InternalError", "out of memory");
        return;
    }
    memcpy(nw.data, req->body, req->body_len);

    const char *fail = NULL;
    int status = 200;
    pthread_mutex_lock(&f->mu);
    if (inm || im)
        f->st.conditional_puts++;
    struct bucket *b = find_bucket(f, q->bucket);
    if (b) {
        size_t i = lower_bound(b, q->key, 0);
        struct object *cur = i < b->n && strcmp(b->v[i].key, q->key) == 0 ? &b->v[i] : NULL;
        if (inm && cur) {
            status = 412;
            fail = "If-None-Match";
        } else if (im && !cur) {
            status = 404;
        } else if (im && strcmp(im, cur->etag) != 0 && strcmp(im, "*") != 0) {
            status = 412;
            fail = "If-Match";
        } else if (cur) {
            object_release(cur);
            *cur = nw;
            nw.key = nw.data = NULL;
        } else {
            if (b->n == b->cap) {
                size_t cap = b->cap ? 2 * b->cap : 64;
                struct object *v = realloc(b->v, cap * sizeof *v);
                if (v) {
                    b->v = v;
                    b->cap = cap;
                }
            }
            if (b->n == b->cap) {
                status = 500;
            } else {
                memmove(&b->v[i + 1], &b->v[i], (b->n - i) * sizeof *b->v);
                b->v[i] = nw;
                b->n++;
                f->st.objects++;
                nw.key = nw.data = NULL;
            }
        }
        if (status == 412)
            f->st.precondition_failed++;
    }
    pthread_mutex_unlock(&f->mu);
    char etag[40];
    memcpy(etag, nw.etag, sizeof etag);
    object_release(&nw);
    if (!b) {
        no_such_bucket(q);
    } else if (status == 412) {
        struct extra e[1] = {{"Condition", fail}};
        reply_error(q, 412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold", e, 1);
    } else if (status == 404) {
        error_key(q, 404, "NoSuchKey", "The specified key does not exist.");
    } else if (status == 500) {
        error_key(q, 500, "InternalError", "out of memory");
    } else {
        q->r->status = 200;
        httpd_response_header(q->r, "ETag", etag);
    }
}

static void do_delete(struct s3_fake *f, struct rq *q)
{
    pthread_mutex_lock(&f->mu);
    struct bucket *b = find_bucket(f, q->bucket);
    if (b) {
        size_t i = lower_bound(b, q->key, 0);
        if (i < b->n && strcmp(b->v[i].key, q->key) == 0) {
            object_release(&b->v[i]);
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof b->v[0]);
            b->n--;
            f->st.objects--;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (!b)
        no_such_bucket(q);
    else
        q->r->status = 204;
}

/* Strict non-negative decimal. */
static int parse_count(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!*s)
        return ERR_PARSE;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000)
            return ERR_PARSE;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return ERR_OK;
}

static int put_listed(struct buf *out, const char *name, const char *value, int url)
{
    if (!url)
        return xml_elem(out, name, value);
    struct buf enc = BUF_INIT((size_t)4 * KEY_MAX + 16);
    int err = sigv4_uri_encode(&enc, value, strlen(value), 1);
    if (!err)
        err = xml_elem(out, name, buf_cstr(&enc));
    buf_release(&enc);
    return err;
}

static void do_list(struct s3_fake *f, struct rq *q)
{
    const char *query = q->req->query;
    char lt[8], prefix[KEY_MAX + 1] = "", delim[64] = "", maxk[16], token[2 * KEY_MAX + 8] = "",
                                 after[KEY_MAX + 1] = "", enc[16] = "";
    if (httpd_query_get(query, "list-type", lt, sizeof lt) != ERR_OK || strcmp(lt, "2") != 0) {
        reply_error(q, 501, "NotImplemented",
                    "Only ListObjectsV2 (list-type=2) is implemented by this fake.", NULL, 0);
        return;
    }
    int64_t max = 1000;
    int bad = 0;
    bad |= httpd_query_get(query, "prefix", prefix, sizeof prefix) == ERR_PARSE;
    bad |= httpd_query_get(query, "delimiter", delim, sizeof delim) == ERR_PARSE;
    bad |= httpd_query_get(query, "start-after", after, sizeof after) == ERR_PARSE;
    bad |= httpd_query_get(query, "encoding-type", enc, sizeof enc) == ERR_PARSE;
    if (httpd_query_get(query, "max-keys", maxk, sizeof maxk) == ERR_OK &&
        parse_count(maxk, &max) != ERR_OK)
        bad = 1;
    if (bad || (enc[0] && strcmp(enc, "url") != 0)) {
        reply_error(q, 400, "InvalidArgument", "Invalid argument in the list request", NULL, 0);
        return;
    }
    /* The token: base64 of 'K' + the last key, or 'P' + the last common prefix. */
    char last[KEY_MAX + 2] = "";
    int has_token = httpd_query_get(query, "continuation-token", token, sizeof token) == ERR_OK;
    if (has_token &&
        (b64_decode(token, last, sizeof last) != ERR_OK || (last[0] != 'K' && last[0] != 'P'))) {
        struct extra e[2] = {{"ArgumentName", "continuation-token"}, {"ArgumentValue", token}};
        reply_error(q, 400, "InvalidArgument", "The continuation token provided is incorrect", e,
                    2);
        return;
    }
    if ((size_t)max > f->o.max_keys)
        max = (int64_t)f->o.max_keys;
    int url = enc[0] != '\0';
    size_t plen = strlen(prefix), dlen = strlen(delim);

    struct buf items = BUF_INIT((size_t)64 << 20);
    char next[KEY_MAX + 2] = "", cp_last[KEY_MAX + 1] = "";
    size_t count = 0;
    int truncated = 0, err = ERR_OK;
    pthread_mutex_lock(&f->mu);
    struct bucket *b = find_bucket(f, q->bucket);
    if (b) {
        const char *from = after;
        if (has_token && strcmp(last + 1, from) > 0)
            from = last + 1;
        for (size_t i = lower_bound(b, from, 1); i < b->n && !err; i++) {
            const struct object *o = &b->v[i];
            int c = strncmp(o->key, prefix, plen);
            if (c > 0)
                break;
            if (c < 0)
                continue;
            if (has_token && last[0] == 'P' && strncmp(o->key, last + 1, strlen(last + 1)) == 0)
                continue;
            const char *dpos = dlen ? strstr(o->key + plen, delim) : NULL;
            if (dpos) {
                size_t cl = (size_t)(dpos - o->key) + dlen;
                if (strlen(cp_last) == cl && strncmp(cp_last, o->key, cl) == 0)
                    continue;
                if (count == (size_t)max) {
                    truncated = 1;
                    break;
                }
                memcpy(cp_last, o->key, cl);
                cp_last[cl] = '\0';
                err = buf_puts(&items, "<CommonPrefixes>");
                if (!err)
                    err = put_listed(&items, "Prefix", cp_last, url);
                if (!err)
                    err = buf_puts(&items, "</CommonPrefixes>");
                snprintf(next, sizeof next, "P%s", cp_last);
                count++;
                continue;
            }
            if (count == (size_t)max) {
                truncated = 1;
                break;
            }
            char lm[32];
            iso_time(o->mtime_s, lm);
            err = buf_puts(&items, "<Contents>");
            if (!err)
                err = put_listed(&items, "Key", o->key, url);
            if (!err)
                err = xml_elem(&items, "LastModified", lm);
            if (!err)
                err = xml_elem(&items, "ETag", o->etag);
            if (!err)
                err = buf_printf(&items,
                                 "<Size>%zu</Size><StorageClass>STANDARD</StorageClass>"
                                 "</Contents>",
                                 o->len);
            snprintf(next, sizeof next, "K%s", o->key);
            count++;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (!b) {
        no_such_bucket(q);
        buf_release(&items);
        return;
    }
    struct buf *out = &q->r->body;
    buf_reset(out);
    if (!err)
        err = buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                            "xmlns=\"" XMLNS "\">");
    if (!err)
        err = xml_elem(out, "Name", q->bucket);
    if (!err)
        err = put_listed(out, "Prefix", prefix, url);
    if (!err && dlen)
        err = put_listed(out, "Delimiter", delim, url);
    if (!err)
        err = buf_printf(out, "<MaxKeys>%lld</MaxKeys><KeyCount>%zu</KeyCount>", (long long)max,
                         count);
    if (!err && url)
        err = xml_elem(out, "EncodingType", "url");
    if (!err)
        err = buf_printf(out, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
    if (!err && has_token)
        err = xml_elem(out, "ContinuationToken", token);
    if (!err && truncated) {
        struct buf t = BUF_INIT(4 * KEY_MAX);
        err = b64_encode(&t, next, strlen(next));
        if (!err)
            err = xml_elem(out, "NextContinuationToken", buf_cstr(&t));
        buf_release(&t);
    }
    if (!err && after[0])
        err = put_listed(out, "StartAfter", after, url);
    if (!err)
        err = buf_append(out, items.data ? items.data : "", items.len);
    if (!err)
        err = buf_puts(out, "</ListBucketResult>");
    buf_release(&items);
    if (err) {
        reply_error(q, 500, "InternalError", "the listing is too large", NULL, 0);
        return;
    }
    q->r->status = 200;
    httpd_response_header(q->r, "Content-Type", "application/xml");
}

static void do_bucket(struct s3_fake *f, struct rq *q)
{
    const char *m = q->req->method;
    if (strcmp(m, "GET") == 0) {
        do_list(f, q);
        return;
    }
    int status = 0;
    pthread_mutex_lock(&f->mu);
    struct bucket *b = find_bucket(f, q->bucket);
    if (strcmp(m, "PUT") == 0) {
        status = b ? 409 : add_bucket(f, q->bucket) == ERR_OK ? 200 : 500;
    } else if (strcmp(m, "HEAD") == 0) {
        status = b ? 200 : 404;
    } else if (strcmp(m, "DELETE") == 0) {
        if (b && b->n)
            status = 409;
        else if (b) {
            free(b->v);
            *b = f->buckets[--f->nbuckets];
            status = 204;
        } else {
            status = 404;
        }
    } else {
        status = 501;
    }
    pthread_mutex_unlock(&f->mu);
    struct extra e[1] = {{"BucketName", q->bucket}};
    if (status == 404 && strcmp(m, "HEAD") == 0)
        q->r->status = 404;
    else if (status == 404)
        no_such_bucket(q);
    else if (status == 409 && strcmp(m, "PUT") == 0)
        reply_error(q, 409, "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already "
                    "own it.",
                    e, 1);
    else if (status == 409)
        reply_error(q, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty", e, 1);
    else if (status == 501)
        reply_error(q, 501, "NotImplemented", "This bucket operation is not implemented.", NULL, 0);
    else if (status == 500)
        reply_error(q, 500, "InternalError", "out of memory", NULL, 0);
    else
        q->r->status = status;
}

/* Bucket and key from the Host header (virtual-hosted) or the path.  0 when the request is
 * not one this fake can place (an answer is set). */
static int locate(struct s3_fake *f, struct rq *q)
{
    const struct httpd_request *req = q->req;
    const char *path = req->path;
    const char *host = httpd_request_header(req, "Host");
    const char *rest = NULL;
    if (host) {
        size_t label = strcspn(host, ".:");
        if (label <= BUCKET_MAX && host[label] == '.') {
            char name[BUCKET_MAX + 1];
            memcpy(name, host, label);
            name[label] = '\0';
            pthread_mutex_lock(&f->mu);
            int known = find_bucket(f, name) != NULL;
            pthread_mutex_unlock(&f->mu);
            if (known) {
                memcpy(q->bucket, name, label + 1);
                rest = path[0] == '/' ? path + 1 : path;
            }
        }
    }
    if (!rest) {
        if (path[0] != '/') {
            reply_error(q, 400, "InvalidURI", "Couldn't parse the specified URI.", NULL, 0);
            return 0;
        }
        size_t n = strcspn(path + 1, "/");
        if (n > BUCKET_MAX || path_decode(path + 1, n, q->bucket, sizeof q->bucket) != ERR_OK) {
            reply_error(q, 400, "InvalidBucketName", "The specified bucket is not valid.", NULL, 0);
            return 0;
        }
        rest = path[1 + n] == '/' ? path + 2 + n : path + 1 + n;
    }
    int err = path_decode(rest, strlen(rest), q->key, sizeof q->key);
    if (err) {
        reply_error(q, 400, err == ERR_TOOBIG ? "KeyTooLongError" : "InvalidURI",
                    err == ERR_TOOBIG ? "Your key is too long"
                                      : "Couldn't parse the specified URI.",
                    NULL, 0);
        return 0;
    }
    return 1;
}

/* ---- control endpoints ---- */

static void serve_stats(struct s3_fake *f, struct httpd_response *r)
{
    struct s3_fake_stats st;
    s3_fake_get_stats(f, &st);
    buf_reset(&r->body);
    int err = buf_printf(
        &r->body,
        "{\"requests\":%llu,\"gets\":%llu,\"puts\":%llu,\"heads\":%llu,\"deletes\":%llu,"
        "\"lists\":%llu,\"presigned\":%llu,\"conditional_puts\":%llu,"
        "\"precondition_failed\":%llu,\"signature_mismatches\":%llu,\"auth_failures\":%llu,"
        "\"faults_injected\":%llu,\"objects\":%llu,\"inflight_max\":%llu,\"held\":%llu,"
        "\"status\":{",
        (unsigned long long)st.requests, (unsigned long long)st.gets, (unsigned long long)st.puts,
        (unsigned long long)st.heads, (unsigned long long)st.deletes, (unsigned long long)st.lists,
        (unsigned long long)st.presigned, (unsigned long long)st.conditional_puts,
        (unsigned long long)st.precondition_failed, (unsigned long long)st.signature_mismatches,
        (unsigned long long)st.auth_failures, (unsigned long long)st.faults,
        (unsigned long long)st.objects, (unsigned long long)st.inflight_max,
        (unsigned long long)st.held);
    int first = 1;
    for (int i = 0; !err && i < 600; i++) {
        if (!st.status[i])
            continue;
        err = buf_printf(&r->body, "%s\"%d\":%llu", first ? "" : ",", i,
                         (unsigned long long)st.status[i]);
        first = 0;
    }
    if (!err)
        err = buf_puts(&r->body, "}}");
    r->status = err ? 500 : 200;
    httpd_response_header(r, "Content-Type", "application/json");
}

static void control_reply(struct httpd_response *r, int status, const char *json)
{
    r->status = status;
    buf_reset(&r->body);
    buf_puts(&r->body, json);
    httpd_response_header(r, "Content-Type", "application/json");
}

static void serve_control(struct s3_fake *f, const struct httpd_request *req,
                          struct httpd_response *r)
{
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strcmp(req->path, "/__fake/stats") == 0 && get) {
        serve_stats(f, r);
    } else if (strcmp(req->path, "/__fake/reset") == 0 && post) {
        s3_fake_reset_stats(f);
        control_reply(r, 200, "{\"reset\":true}");
    } else if (strcmp(req->path, "/__fake/advance") == 0 && post) {
        char v[32];
        int64_t s;
        if (httpd_query_get(req->query, "seconds", v, sizeof v) != ERR_OK ||
            parse_count(v, &s) != ERR_OK) {
            control_reply(r, 400, "{\"message\":\"expected seconds=N\"}");
            return;
        }
        s3_fake_advance(f, s);
        control_reply(r, 200, "{\"advanced\":true}");
    } else if (strcmp(req->path, "/__fake/latency") == 0 && post) {
        char v[32];
        int64_t ms;
        if (httpd_query_get(req->query, "ms", v, sizeof v) != ERR_OK ||
            parse_count(v, &ms) != ERR_OK || ms > S3_FAKE_LATENCY_MAX_MS) {
            control_reply(r, 400, "{\"message\":\"expected ms=N (at most 60000)\"}");
            return;
        }
        s3_fake_set_latency(f, ms);
        control_reply(r, 200, "{\"latency\":true}");
    } else if (strcmp(req->path, "/__fake/hold") == 0 && post) {
        char key[512];
        if (httpd_query_get(req->query, "key", key, sizeof key) != ERR_OK || !key[0]) {
            control_reply(r, 400, "{\"message\":\"expected key=KEY\"}");
            return;
        }
        s3_fake_hold(f, key);
        control_reply(r, 200, "{\"hold\":true}");
    } else if (strcmp(req->path, "/__fake/release") == 0 && post) {
        s3_fake_release(f);
        control_reply(r, 200, "{\"released\":true}");
    } else if (strcmp(req->path, "/__fake/faults") == 0 && post) {
        char spec[1024];
        struct s3_fake_fault faults[FAULTS_MAX];
        size_t n;
        struct diag d;
        if (httpd_query_get(req->query, "spec", spec, sizeof spec) != ERR_OK ||
            s3_fake_faults_parse(spec, faults, FAULTS_MAX, &n, &d) != ERR_OK ||
            s3_fake_set_faults(f, faults, n, &d) != ERR_OK) {
            control_reply(r, 400, "{\"message\":\"expected spec=KIND@N[xCOUNT],...\"}");
            return;
        }
        control_reply(r, 200, "{\"faults\":true}");
    } else {
        control_reply(r, 404, "{\"message\":\"not found\"}");
    }
}

/* ---- dispatch ---- */

static int find_fault(const struct s3_fake *f, uint64_t ordinal)
{
    for (size_t i = 0; i < f->nfaults; i++)
        if (ordinal >= f->faults[i].first && ordinal - f->faults[i].first < f->faults[i].count)
            return (int)f->faults[i].kind;
    return -1;
}

/* Count the request in flight, hold it at the overlap gate, then wait the latency: the
 * answer is worked out after the wait, as S3's would be after the trip there. */
static void enter(struct s3_fake *f, const struct httpd_request *req)
{
    int list = strcmp(req->method, "GET") == 0 && strstr(req->query, "list-type") != NULL;
    unsigned kind = list                               ? S3_FAKE_GATE_LIST
                    : strcmp(req->method, "GET") == 0  ? S3_FAKE_GATE_GET
                    : strcmp(req->method, "PUT") == 0  ? S3_FAKE_GATE_PUT
                    : strcmp(req->method, "HEAD") == 0 ? S3_FAKE_GATE_HEAD
                                                       : 0;
    int object_get = kind == S3_FAKE_GATE_GET;
    pthread_mutex_lock(&f->mu);
    f->inflight++;
    if (f->inflight > f->st.inflight_max)
        f->st.inflight_max = f->inflight;
    int gated = (kind & f->gate_kinds) && f->gate_skip-- <= 0;
    if (gated && f->o.overlap_gate > 1 && !f->gate_open) {
        if (f->inflight >= f->o.overlap_gate) {
            f->gate_open = 1;
            pthread_cond_broadcast(&f->gate);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            int64_t ns = until.tv_nsec + (f->o.overlap_wait_ms % 1000) * 1000000;
            until.tv_sec += f->o.overlap_wait_ms / 1000 + ns / 1000000000;
            until.tv_nsec = ns % 1000000000;
            while (!f->gate_open)
                if (pthread_cond_timedwait(&f->gate, &f->mu, &until) != 0) {
                    f->gate_open = 1; /* nobody came: let everything through from now on */
                    pthread_cond_broadcast(&f->gate);
                }
        }
    }
    size_t plen = strlen(req->path), hlen = strlen(f->hold);
    if (object_get && hlen && plen >= hlen && strcmp(req->path + plen - hlen, f->hold) == 0) {
        /* Held until released (or HOLD_MAX_S of real time, so that a test that fails never
         * leaves a request hanging). */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HOLD_MAX_S;
        uint64_t gen = f->hold_gen;
        f->held++;
        pthread_cond_broadcast(&f->hold_cv); /* s3_fake_wait_held */
        while (f->hold_gen == gen)
            if (pthread_cond_timedwait(&f->hold_cv, &f->mu, &until) != 0)
                break;
        f->held--;
    }
    int64_t latency = f->latency_ms;
    pthread_mutex_unlock(&f->mu);
    if (latency > 0)
        clock_sleep_ms(latency);
}

void s3_fake_hold(struct s3_fake *f, const char *key)
{
    pthread_mutex_lock(&f->mu);
    snprintf(f->hold, sizeof f->hold, "%s%s", key[0] == '/' ? "" : "/", key);
    pthread_mutex_unlock(&f->mu);
}

int s3_fake_wait_held(struct s3_fake *f, size_t n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HOLD_MAX_S / 2;
    pthread_mutex_lock(&f->mu);
    while (f->held < n && f->hold[0])
        if (pthread_cond_timedwait(&f->hold_cv, &f->mu, &until) != 0)
            break;
    int ok = f->held >= n;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

void s3_fake_release(struct s3_fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->hold[0] = '\0';
    f->hold_gen++;
    pthread_cond_broadcast(&f->hold_cv);
    pthread_mutex_unlock(&f->mu);
}

void s3_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct s3_fake *f = ctx;
    if (strncmp(req->path, "/__fake/", 8) == 0) {
        serve_control(f, req, r);
        return;
    }
    struct rq q = {.req = req, .r = r};
    enter(f, req);
    pthread_mutex_lock(&f->mu);
    uint64_t ordinal = ++f->ordinal;
    int fault = find_fault(f, ordinal);
    snprintf(q.rid, sizeof q.rid, "FAKE%012llX", (unsigned long long)++f->request_seq);
    pthread_mutex_unlock(&f->mu);
    httpd_response_header(r, "x-amz-request-id", q.rid);
    httpd_response_header(r, "x-amz-id-2", "s3-fake");
    httpd_response_header(r, "Server", "AmazonS3");
    const char *m = req->method;
    enum { OP_GET, OP_PUT, OP_HEAD, OP_DELETE, OP_LIST, OP_OTHER } op = OP_OTHER;
    int used = 0;

    if (fault == S3_FAKE_FAULT_503) {
        reply_error(&q, 503, "SlowDown", "Please reduce your request rate.", NULL, 0);
        used = 1;
    } else if (fault == S3_FAKE_FAULT_500) {
        reply_error(&q, 500, "InternalError", "We encountered an internal error. Please try again.",
                    NULL, 0);
        used = 1;
    } else if (fault == S3_FAKE_FAULT_409) {
        reply_error(&q, 409, "ConditionalRequestConflict",
                    "A conflicting conditional operation is currently in progress against this "
                    "resource. Please try again.",
                    NULL, 0);
        used = 1;
    } else if (fault == S3_FAKE_FAULT_RESET) {
        r->action = HTTPD_DROP;
        used = 1;
    } else if (!locate(f, &q)) {
        /* answered */
    } else if (!f->o.skip_signatures && !verify(f, &q)) {
        /* answered */
    } else if (!q.bucket[0]) {
        reply_error(&q, 501, "NotImplemented", "Service-level requests are not implemented.", NULL,
                    0);
    } else if (!q.key[0]) {
        op = strcmp(m, "GET") == 0 ? OP_LIST : OP_OTHER;
        do_bucket(f, &q);
    } else if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        op = m[0] == 'G' ? OP_GET : OP_HEAD;
        do_get(f, &q, op == OP_HEAD);
    } else if (strcmp(m, "PUT") == 0) {
        op = OP_PUT;
        do_put(f, &q);
    } else if (strcmp(m, "DELETE") == 0) {
        op = OP_DELETE;
        do_delete(f, &q);
    } else {
        error_key(&q, 501, "NotImplemented", "This object operation is not implemented.");
    }
    if (!used && fault == S3_FAKE_FAULT_LOST) {
        r->action = HTTPD_DROP;
        used = 1;
    } else if (!used && fault == S3_FAKE_FAULT_TRUNCATE && r->body.len >= 2) {
        r->action = HTTPD_TRUNCATE;
        used = 1;
    } else if (!used && fault == S3_FAKE_FAULT_MALFORMED && op == OP_LIST && r->status == 200) {
        r->body.len /= 2;
        r->body.data[r->body.len] = '\0';
        used = 1;
    }

    pthread_mutex_lock(&f->mu);
    f->st.requests++;
    f->st.gets += op == OP_GET;
    f->st.puts += op == OP_PUT;
    f->st.heads += op == OP_HEAD;
    f->st.deletes += op == OP_DELETE;
    f->st.lists += op == OP_LIST;
    f->st.presigned += q.presigned;
    f->st.faults += used;
    if (r->action != HTTPD_DROP && r->status >= 0 && r->status < 600) {
        f->st.status[r->status]++;
        f->st.auth_failures += r->status == 403;
    }
    f->inflight--;
    pthread_mutex_unlock(&f->mu);
    log_debug("fake S3 request", LF_STR("method", m), LF_STR("path", req->path),
              LF_STR("query", req->query),
              LF_INT("status", r->action == HTTPD_DROP ? 0 : r->status),
              LF_STR("fault", used ? s3_fake_fault_name(fault) : ""));
}

/* ---- life cycle ---- */

static char *dup_or_null(const char *s, int *ok)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    *ok &= p != NULL;
    return p;
}

int s3_fake_new(const struct s3_fake_opts *o, struct s3_fake **out, struct diag *d)
{
    if (o->nfaults > FAULTS_MAX)
        return diag_set(d, ERR_TOOBIG, "s3 fake: more than %d faults", FAULTS_MAX);
    if (!o->access_key_id || !*o->access_key_id || !o->secret_access_key ||
        !*o->secret_access_key || !o->region || !*o->region)
        return diag_set(d, ERR_INVALID, "s3 fake: credentials and region are required");
    struct s3_fake *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    f->o = *o;
    f->gate_kinds = S3_FAKE_GATE_GET;
    if (!f->o.max_keys)
        f->o.max_keys = 1000;
    if (!f->o.max_object)
        f->o.max_object = S3_FAKE_OBJECT_MAX;
    int ok = 1;
    f->akid = dup_or_null(o->access_key_id, &ok);
    f->secret = dup_or_null(o->secret_access_key, &ok);
    f->token = o->session_token && *o->session_token ? dup_or_null(o->session_token, &ok) : NULL;
    f->region = dup_or_null(o->region, &ok);
    f->o.faults = NULL;
    f->o.buckets = NULL;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->gate, NULL);
    pthread_cond_init(&f->hold_cv, NULL);
    f->latency_ms = o->latency_ms > 0 ? o->latency_ms : 0;
    if (!f->o.overlap_wait_ms)
        f->o.overlap_wait_ms = 5000;
    if (o->nfaults)
        memcpy(f->faults, o->faults, o->nfaults * sizeof *o->faults);
    f->nfaults = o->nfaults;
    for (size_t i = 0; ok && i < o->nbuckets; i++) {
        if (strlen(o->buckets[i]) < 3 || strlen(o->buckets[i]) > BUCKET_MAX) {
            s3_fake_free(f);
            return diag_set(d, ERR_INVALID, "s3 fake: bucket name '%s' is not 3 to 63 bytes",
                            o->buckets[i]);
        }
        ok = find_bucket(f, o->buckets[i]) || add_bucket(f, o->buckets[i]) == ERR_OK;
    }
    if (!ok) {
        s3_fake_free(f);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    *out = f;
    return ERR_OK;
}

void s3_fake_free(struct s3_fake *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nbuckets; i++) {
        for (size_t k = 0; k < f->buckets[i].n; k++)
            object_release(&f->buckets[i].v[k]);
        free(f->buckets[i].v);
    }
    free(f->buckets);
    free(f->akid);
    if (f->secret)
        explicit_bzero(f->secret, strlen(f->secret));
    free(f->secret);
    free(f->token);
    free(f->region);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->gate);
    pthread_cond_destroy(&f->hold_cv);
    free(f);
}

int s3_fake_start(const struct s3_fake_opts *o, struct s3_fake **out, int *port, struct diag *d)
{
    struct s3_fake *f;
    int err = s3_fake_new(o, &f, d);
    if (err)
        return err;
    struct httpd_opts ho = {
        .port = o->port,
        .max_body = f->o.max_object,
        .handler = s3_fake_handle,
        .ctx = f,
    };
    err = httpd_start(&ho, &f->httpd, port, d);
    if (err) {
        s3_fake_free(f);
        return err;
    }
    *out = f;
    return ERR_OK;
}

void s3_fake_stop(struct s3_fake *f)
{
    if (!f)
        return;
    httpd_stop(f->httpd);
    s3_fake_free(f);
}

void s3_fake_get_stats(struct s3_fake *f, struct s3_fake_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    out->held = f->held;
    pthread_mutex_unlock(&f->mu);
}

void s3_fake_reset_stats(struct s3_fake *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t objects = f->st.objects;
    memset(&f->st, 0, sizeof f->st);
    f->st.objects = objects;
    f->st.inflight_max = f->inflight;
    f->ordinal = 0;
    pthread_mutex_unlock(&f->mu);
}

int s3_fake_set_faults(struct s3_fake *f, const struct s3_fake_fault *faults, size_t n,
                       struct diag *d)
{
    if (n > FAULTS_MAX)
        return diag_set(d, ERR_TOOBIG, "s3 fake: more than %d faults", FAULTS_MAX);
    pthread_mutex_lock(&f->mu);
    if (n)
        memcpy(f->faults, faults, n * sizeof *faults);
    f->nfaults = n;
    f->ordinal = 0;
    pthread_mutex_unlock(&f->mu);
    return ERR_OK;
}

void s3_fake_set_latency(struct s3_fake *f, int64_t ms)
{
    pthread_mutex_lock(&f->mu);
    f->latency_ms = ms < 0 ? 0 : ms > S3_FAKE_LATENCY_MAX_MS ? S3_FAKE_LATENCY_MAX_MS : ms;
    pthread_mutex_unlock(&f->mu);
}

void s3_fake_set_overlap_gate(struct s3_fake *f, size_t n)
{
    s3_fake_set_overlap_gate_for(f, n, S3_FAKE_GATE_GET, 0);
}

void s3_fake_set_overlap_gate_for(struct s3_fake *f, size_t n, unsigned kinds, size_t skip)
{
    pthread_mutex_lock(&f->mu);
    f->o.overlap_gate = n;
    f->gate_kinds = kinds;
    f->gate_skip = (long)skip;
    f->gate_open = 0;
    pthread_cond_broadcast(&f->gate);
    pthread_mutex_unlock(&f->mu);
}

void s3_fake_advance(struct s3_fake *f, int64_t seconds)
{
    pthread_mutex_lock(&f->mu);
    if (seconds > 0)
        f->advance_s += seconds;
    pthread_mutex_unlock(&f->mu);
}

int s3_fake_get_object(struct s3_fake *f, const char *bucket, const char *key, struct buf *out,
                       char *etag, size_t etag_cap)
{
    int err = ERR_NOTFOUND;
    pthread_mutex_lock(&f->mu);
    struct bucket *b = find_bucket(f, bucket);
    struct object *o = b ? find_object(b, key) : NULL;
    if (o) {
        err = buf_append(out, o->data ? o->data : "", o->len);
        if (etag && etag_cap)
            snprintf(etag, etag_cap, "%s", o->etag);
    }
    pthread_mutex_unlock(&f->mu);
    return err;
}
