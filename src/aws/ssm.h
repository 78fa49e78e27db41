/* ssm.h - reading SSM Parameter Store parameters (GetParameters, JSON 1.1 protocol).
 *
 * A call is `POST /` with `Content-Type: application/x-amz-json-1.1`,
 * `X-Amz-Target: AmazonSSM.GetParameters` and the body
 * `{"Names":["/a","/b"],"WithDecryption":true}`, signed with SigV4 (service "ssm", default
 * rules, the session token when there is one).  SSM takes at most 10 names per call, so more
 * names make several calls.  The answer lists the parameters found and, apart, the names that
 * do not exist (`InvalidParameters`: not an error).  Errors are HTTP 4xx/5xx with
 * `{"__type":"[namespace#]Name","message":"..."}`.
 *
 * Retries: 5xx, timeouts and resets through net/fetch.h; ThrottlingException (which SSM sends
 * as a 400) here, re-signed after a backoff.  Everything else is final.
 *
 * Values are secrets: they never appear in a diagnostic or a log line, and
 * ssm_result_release wipes them before freeing.  Error messages name the parameters.
 *
 * The wire format (request body, answer and error parsers) is pure and exposed for the tests
 * and the fuzzer; ssm_get_parameters is the client on top.  Time (the signing time, the
 * backoffs) comes from the clock source, so tests never sleep; nothing reads the environment:
 * the caller passes the endpoint, region and credentials (aws/secrets.h does that for the
 * product's secrets).  Requests are signed and sent through aws/request.h.
 */
#ifndef AWS_SSM_H
#define AWS_SSM_H

#include <stddef.h>
#include <stdint.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "net/http.h"

#define SSM_MAX_NAMES_PER_CALL 10
#define SSM_NAME_MAX           2048      /* longest parameter name SSM accepts */
#define SSM_RESPONSE_MAX       (1 << 20) /* 10 parameters of at most 8 KB, with room */
#define SSM_TARGET_PREFIX      "AmazonSSM."
#define SSM_CONTENT_TYPE       "application/x-amz-json-1.1"

struct ssm_param {
    char *name;
    char *value;   /* a secret: never log it */
    char type[16]; /* "String", "StringList" or "SecureString" */
    int64_t version;
};

/* What one or more GetParameters calls returned: found parameters and missing names, in the
 * order the answers listed them.  Zero-initialise; release with ssm_result_release. */
struct ssm_result {
    struct ssm_param *params;
    size_t nparams;
    char **missing; /* InvalidParameters */
    size_t nmissing;
};

/* Free everything, wiping the values first; the result is empty again. */
void ssm_result_release(struct ssm_result *r);

/* The parameter called name, or NULL. */
const struct ssm_param *ssm_result_find(const struct ssm_result *r, const char *name);
/* Whether SSM said name does not exist. */
int ssm_result_is_missing(const struct ssm_result *r, const char *name);

/* Append the GetParameters request body for n names (1..SSM_MAX_NAMES_PER_CALL) to out:
 * {"Names":[...],"WithDecryption":true}.  ERR_INVALID (naming it) for an empty name or one
 * longer than SSM_NAME_MAX. */
int ssm_get_parameters_body(const char *const *names, size_t n, struct buf *out, struct diag *d);

/* Parse the body of a 200 answer to GetParameters and append what it holds to r.  Parameters
 * need a non-empty Name and a string Value; Type and Version are kept when present; other
 * members (ARN, DataType, LastModifiedDate, ...) are ignored.  A missing Parameters or
 * InvalidParameters is an empty list.  ERR_PARSE with d naming the member that is wrong; the
 * diagnostic never quotes a value (not even of malformed JSON).  r gets nothing on failure. */
int ssm_parse_get_parameters(const char *body, size_t len, struct ssm_result *r, struct diag *d);

/* The short error name of an AWS JSON error body: the "__type" member with any namespace
 * ("com.amazon.coral.service#AccessDeniedException") and anything from ':' on removed, into
 * type (NUL-terminated, at most cap - 1 bytes); the "message" (or "Message") member, made
 * printable and cut to fit, into msg.  ERR_PARSE when the body is not such an object (type
 * and msg are then "").  msg may be NULL. */
int ssm_parse_error(const char *body, size_t len, char *type, size_t cap, char *msg, size_t msgcap);

/* The error code for an answer with HTTP status and short error name type ("" when the body
 * had none): ERR_NOTFOUND (ParameterNotFound, ParameterVersionNotFound), ERR_AUTH (access
 * denied, bad or expired credentials or signature), ERR_RATELIMIT (ThrottlingException),
 * ERR_UNAVAILABLE (5xx, InternalServerError), ERR_INVALID (anything else). */
int ssm_error_code(long status, const char *type);

/* Whether the answer is worth retrying after a backoff (throttling, 5xx). */
int ssm_error_retryable(long status, const char *type);

struct ssm_opts {
    /* A local stand-in "http://127.0.0.1:4583" (aws/endpoint.h; callers take it from
     * aws_endpoint_env("ssm", ...)); requests go to its path, or "/" when it has none.  NULL
     * or "": https://ssm.<region>.amazonaws.com. */
    const char *endpoint;
    const char *region;
    struct sigv4_creds creds; /* borrowed */
    struct http_client *http; /* borrowed; NULL: a client is made for the call */
    int max_retries;          /* more attempts after throttling, 5xx, timeouts; default 4 */
    int64_t timeout_ms;       /* per attempt; default 5000 */
    int64_t backoff_base_ms;  /* first backoff, doubling; default 200 */
    size_t concurrency;       /* calls in flight when there are more than 10 names; default 2 */
};

void ssm_opts_default(struct ssm_opts *o);

/* "https://ssm.<region>.amazonaws.com" into out. */
int ssm_endpoint_for_region(const char *region, struct buf *out, struct diag *d);

/* Get n names with WithDecryption (ceil(n / 10) calls) and append the answers to out.  Every
 * name ends up in out->params or out->missing.  On failure out may hold the answers of the
 * calls that succeeded; d says which names failed and why (e.g. "SSM GetParameters for
 * /screener/alpaca/api_key: AccessDeniedException (HTTP 400): User: ... is not authorized"),
 * and the code is ssm_error_code's, or ERR_NETWORK, ERR_TIMEOUT, ERR_PARSE. */
int ssm_get_parameters(const struct ssm_opts *o, const char *const *names, size_t n,
                       struct ssm_result *out, struct diag *d);

#endif
