/* s3.h - an S3 client: GetObject, PutObject (plain or conditional), HeadObject,
 * ListObjectsV2, DeleteObject, and presigned GET URLs.
 *
 * Requests are signed with SigV4 (aws/sigv4.h, S3 rules: x-amz-content-sha256 with the hex
 * SHA-256 of the body, the session token as X-Amz-Security-Token) and sent through the
 * retrying fetcher (net/fetch.h): 500, 503 SlowDown, timeouts, resets and cut-off bodies are
 * retried with exponential backoff and jitter.  Other 4xx answers are final, except what S3
 * documents as worth another try: 409 ConditionalRequestConflict and OperationAborted (a
 * conflicting write was in flight) and 400 RequestTimeout, which are signed again and retried
 * after a backoff here.
 *
 * Where requests go:
 *   - no endpoint: https://<bucket>.s3.<region>.amazonaws.com/<key> (virtual-hosted), or
 *     https://s3.<region>.amazonaws.com/<bucket>/<key> when the bucket name cannot be a host
 *     name (dots, capitals, underscores) or path style is asked for;
 *   - a custom endpoint (a local stand-in; aws/endpoint.h: AWS_ENDPOINT_URL_S3, else
 *     AWS_ENDPOINT_URL): <endpoint>/<bucket>/<key> (path style) unless virtual-hosted style is
 *     asked for: <scheme>://<bucket>.<host>/<key>.  It takes no base path.
 * Keys are sent percent-encoded (RFC 3986 unreserved characters and '/' kept), so the path
 * on the wire is already the canonical one.
 *
 * Errors: every failure fills the diagnostic with what was asked, the HTTP status and what
 * S3's XML error body says, e.g.
 *     "S3 PUT s3://bucket/bars/x.csv: HTTP 412 PreconditionFailed: At least one of the
 *      pre-conditions you specified did not hold (request id 4442587FB7D0A2F9)"
 * and never credentials, signatures or the parts of a SignatureDoesNotMatch answer that echo
 * the request (StringToSign, CanonicalRequest).
 */
#ifndef AWS_S3_H
#define AWS_S3_H

#include <stddef.h>
#include <stdint.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/strvec.h"
#include "net/http.h"

#define S3_ETAG_MAX          130 /* a quoted ETag as received, with its NUL */
#define S3_HOST_MAX          256
#define S3_TOKEN_MAX         1024 /* continuation tokens */
#define S3_KEY_MAX           1024 /* S3's own limit, in bytes */
#define S3_LIST_MAX_KEYS     1000
#define S3_PRESIGN_DEFAULT_S 3600
#define S3_DEFAULT_REGION    "us-east-1"
#define S3_RESPONSE_MAX      ((size_t)16 << 20) /* a list page or an error body */
#define S3_ERROR_MESSAGE_MAX 256

enum s3_addressing {
    S3_ADDRESSING_AUTO,    /* path style on a custom endpoint, virtual-hosted on AWS when the
                              bucket name allows it */
    S3_ADDRESSING_PATH,    /* <endpoint>/<bucket>/<key> */
    S3_ADDRESSING_VIRTUAL, /* <bucket>.<endpoint host>/<key> */
};

struct s3_opts {
    const char *region;   /* required: "us-east-1"; requests are signed for it */
    const char *endpoint; /* "http://127.0.0.1:4568"; NULL or "": AWS's own.  Callers take it
                             from aws_endpoint_env("s3", ...) */
    enum s3_addressing addressing;
    struct sigv4_creds creds; /* copied by s3_new */
    /* When creds expire (Unix ms; 0: never).  Within AWS_CREDS_REFRESH_MS of it, the client
     * loads them again (aws_creds_load: the provider chain, which refreshes them) before it
     * signs a request or a URL, so a long-lived client outlives its first credentials. */
    int64_t creds_expiration_ms;
    struct http_client *http; /* borrowed; NULL: the client makes (and frees) its own */
    int max_retries;          /* more attempts after a transient failure; default 4 */
    int64_t timeout_ms;       /* per attempt; default 30000 */
    int64_t backoff_base_ms;  /* first backoff, doubling; default 100 */
    int64_t backoff_max_ms;   /* default 5000 */
};

void s3_opts_default(struct s3_opts *o);

/* ---- the pure parts: URLs, queries, answers (exposed for the tests and the fake) ---- */

/* Where one request goes. */
struct s3_url {
    char scheme[8];         /* "https" or "http" */
    char host[S3_HOST_MAX]; /* the Host header: "bucket.s3.us-east-1.amazonaws.com" */
    struct buf path;        /* as sent: "/bucket/bars/a%20b.csv" */
    struct buf url;         /* scheme://host/path[?query] */
};

void s3_url_init(struct s3_url *u);
void s3_url_release(struct s3_url *u);

/* Build the URL for bucket and key (NULL for a bucket-level request such as a listing) with
 * query (already encoded, without '?'; NULL or "" for none) from o's endpoint, region and
 * addressing.  ERR_INVALID (naming it) for a bad endpoint, bucket name or key; u is replaced. */
int s3_build_url(const struct s3_opts *o, const char *bucket, const char *key, const char *query,
                 struct s3_url *u, struct diag *d);

/* 1 when name is a valid bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or
 * digit, no "..", not an IP address); 2 when it is also usable as a host name under TLS (no
 * dots); 0 otherwise. */
int s3_bucket_name_valid(const char *name);

/* A ListObjectsV2 request. */
struct s3_list_opts {
    const char *prefix;             /* NULL: all */
    const char *delimiter;          /* NULL: none; "/" to get CommonPrefixes */
    const char *continuation_token; /* NextContinuationToken of the page before, or NULL */
    const char *start_after;        /* NULL: from the start */
    int max_keys;                   /* 1..1000; 0: S3's default (1000) */
};

/* "list-type=2&..." with every value percent-encoded (the token too: it may hold '+', '/'
 * and '='), parameters sorted, encoding-type=url asked for. Appended to out. */
int s3_list_query(const struct s3_list_opts *lo, struct buf *out, struct diag *d);

struct s3_object {
    char *key;
    char etag[S3_ETAG_MAX]; /* as listed, with its quotes */
    int64_t size;
};

/* One page of a listing. */
struct s3_list_page {
    struct s3_object *objects;
    size_t n;
    struct strvec prefixes; /* CommonPrefixes */
    int truncated;
    char next_token[S3_TOKEN_MAX]; /* "" when not truncated */
};

void s3_list_page_init(struct s3_list_page *p);
/* Free everything; the page is empty again. */
void s3_list_page_release(struct s3_list_page *p);

/* Parse a ListBucketResult (the page is replaced).  Keys and prefixes are percent-decoded
 * when the answer says <EncodingType>url</EncodingType>.  ERR_PARSE naming what is wrong: not
 * XML, another root, a Contents without a Key, a Size that is not a number, IsTruncated that
 * is not true/false, a truncated page without a NextContinuationToken. */
int s3_parse_list(const char *body, size_t len, struct s3_list_page *out, struct diag *d);

/* What an error answer says.  Strings are made printable and cut to fit. */
struct s3_error {
    long status;
    char code[64];                      /* "NoSuchKey"; "" when the body had none */
    char message[S3_ERROR_MESSAGE_MAX]; /* "The specified key does not exist." */
    char key[S3_ERROR_MESSAGE_MAX];     /* the Key element, when there is one */
    char request_id[96];                /* RequestId, else the x-amz-request-id header */
};

/* Read an error answer: status, body (S3's <Error> document, or nothing, as for HEAD) and the
 * x-amz-request-id header (may be NULL or ""). */
void s3_parse_error(long status, const char *body, size_t len, const char *request_id,
                    struct s3_error *out);

/* The project's error code for an S3 error:
 *   404 NoSuchKey (or a 404 without a body) -> ERR_NOTFOUND
 *   404 NoSuchBucket, 401, 403 (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId,
 *       ExpiredToken, RequestTimeTooSkewed, ...) -> ERR_AUTH: the configuration must change
 *   412 PreconditionFailed -> ERR_PRECONDITION
 *   409 ConditionalRequestConflict, OperationAborted -> ERR_CONFLICT
 *   400 EntityTooLarge, 413 -> ERR_TOOBIG
 *   429, 503 SlowDown -> ERR_RATELIMIT / ERR_UNAVAILABLE; other 5xx -> ERR_UNAVAILABLE
 *   400 RequestTimeout -> ERR_TIMEOUT
 *   anything else -> ERR_INVALID */
int s3_error_code(const struct s3_error *e);

/* Whether the answer is worth signing again and retrying after a backoff (the 4xx that S3
 * documents as transient; 5xx are retried by the fetcher already). */
int s3_error_retryable(const struct s3_error *e);

/* "S3 <op> s3://<bucket>/<key>: HTTP <status> <code>: <message> (key '<key>', request id
 * <id>)" into d; returns err. */
int s3_error_diag(int err, const char *op, const char *bucket, const char *key,
                  const struct s3_error *e, struct diag *d);

/* A Content-Type for key by its extension: text/csv, text/plain, application/json,
 * text/html, image/png, else application/octet-stream. */
const char *s3_content_type(const char *key);

/* ---- the client ---- */

struct s3;

/* Copies everything in o (the credentials are wiped when freed) and registers the secret
 * key and session token with the logger's redaction. */
int s3_new(const struct s3_opts *o, struct s3 **out, struct diag *d);
void s3_free(struct s3 *s);

/* Append the object to out (out's cap applies: ERR_TOOBIG).  etag (may be NULL) gets its
 * ETag as sent, quotes included.  ERR_NOTFOUND when there is no such key. */
int s3_get_object(struct s3 *s, const char *bucket, const char *key, struct buf *out,
                  char etag[S3_ETAG_MAX], struct diag *d);

/* ERR_OK with the ETag when the object exists, ERR_NOTFOUND when it does not. */
int s3_head_object(struct s3 *s, const char *bucket, const char *key, char etag[S3_ETAG_MAX],
                   struct diag *d);

enum s3_put_cond {
    S3_PUT_ALWAYS,        /* create or replace */
    S3_PUT_IF_NONE_MATCH, /* If-None-Match: *  -> ERR_EXISTS when the key exists */
    S3_PUT_IF_MATCH,      /* If-Match: <etag> -> ERR_PRECONDITION when it changed,
                             ERR_NOTFOUND when it is gone */
};

struct s3_put_opts {
    enum s3_put_cond cond;
    const char *if_match;     /* the ETag, quotes included, for S3_PUT_IF_MATCH */
    const char *content_type; /* NULL: s3_content_type(key) */
};

/* Write the object in one PUT (atomic: readers see the old or the new object).  po may be
 * NULL (S3_PUT_ALWAYS); etag (may be NULL) gets the new ETag.  A conditional PUT that is
 * retried after a lost answer may find its own first attempt: ERR_EXISTS or ERR_PRECONDITION
 * then, as for any other writer. */
int s3_put_object(struct s3 *s, const char *bucket, const char *key, const void *data, size_t len,
                  const struct s3_put_opts *po, char etag[S3_ETAG_MAX], struct diag *d);

/* S3 answers 204 whether or not the key existed. */
int s3_delete_object(struct s3 *s, const char *bucket, const char *key, struct diag *d);

/* One page of ListObjectsV2 (the page is replaced).  A 200 whose body does not parse is
 * retried like a 5xx. */
int s3_list_objects(struct s3 *s, const char *bucket, const struct s3_list_opts *lo,
                    struct s3_list_page *out, struct diag *d);

/* Told about each object of s3_get_objects, in the order of the keys; data (NUL-terminated)
 * is valid during the call only (and may be changed in place).  A non-zero return (with d set) ends
 * the batch. */
typedef int (*s3_object_fn)(void *ctx, size_t i, char *data, size_t len, struct diag *d);

#define S3_GET_WINDOW 16

/* GET keys[0 .. n) with up to window requests in flight at once (0: S3_GET_WINDOW) on the
 * client's connections, and hand each object to fn in key order as soon as it and those
 * before it are in: memory holds at most window objects of at most max_object bytes each
 * (a bigger one is ERR_TOOBIG).  Each GET is retried as s3_get_object's are.  The first
 * failure, of a GET (in key order) or of fn, stops the batch and is returned. */
int s3_get_objects(struct s3 *s, const char *bucket, const char *const *keys, size_t n,
                   size_t window, size_t max_object, s3_object_fn fn, void *ctx, struct diag *d);

/* One request of s3_many: a GET, a PUT (with its condition), one page of a listing or a HEAD,
 * and what became of it. */
enum s3_op_kind { S3_OP_GET, S3_OP_PUT, S3_OP_LIST, S3_OP_HEAD };

struct s3_op {
    enum s3_op_kind kind;
    const char *key;           /* GET, PUT, HEAD */
    struct buf *out;           /* GET: the object is appended (out's cap applies) */
    const void *data;          /* PUT */
    size_t len;                /* PUT */
    struct s3_put_opts po;     /* PUT */
    struct s3_list_opts lo;    /* LIST */
    struct s3_list_page *page; /* LIST: replaced by the page */
    /* The outcome, exactly what s3_get_object, s3_put_object or s3_list_objects gives for
     * the request alone: */
    char etag[S3_ETAG_MAX]; /* GET, PUT, HEAD */
    int err;
    struct diag d;
};

/* Send the n requests with up to window in flight at once (0: S3_GET_WINDOW) on the
 * client's connections, each retried as it would be alone, every one carried out whatever
 * becomes of the others and in no promised order (so none may depend on another).  Each
 * op's outcome is in its err, d and etag (s3_head_object's for a HEAD); the return value is the
 * first failure in the order of ops (d as its), ERR_OK when every one went well. */
int s3_many(struct s3 *s, const char *bucket, struct s3_op *ops, size_t n, size_t window,
            struct diag *d);

/* A presigned GET URL for bucket/key, valid expires_s seconds (0: S3_PRESIGN_DEFAULT_S; at
 * most SIGV4_EXPIRES_MAX, else ERR_INVALID) from now_s (Unix seconds; 0: the clock), appended
 * to out.  Anyone holding it can download the object, without credentials, until it expires
 * (or until temporary credentials that signed it do). */
int s3_presign_get(struct s3 *s, const char *bucket, const char *key, int64_t expires_s,
                   int64_t now_s, struct buf *out, struct diag *d);

/* When the links presigned now stop working at the latest, because the credentials that sign
 * them expire: Unix ms when known; -1 for temporary credentials whose expiration is not known
 * (a Lambda role's, from the environment); 0 for long-term keys (the link's own expiry
 * holds). */
int64_t s3_link_limit_ms(const struct s3 *s);

#endif
