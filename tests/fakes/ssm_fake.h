/* ssm_fake.h - a fake SSM Parameter Store on 127.0.0.1, for the tests of aws/ssm.h and of the
 * product's secrets.
 *
 * It speaks the real wire format (JSON 1.1: `POST /`, `Content-Type:
 * application/x-amz-json-1.1`, `X-Amz-Target: AmazonSSM.GetParameter` or
 * `AmazonSSM.GetParameters`) and checks every request's SigV4 signature for real, with the
 * configured key, so that the official SDK and our client must both sign correctly to get
 * anything.  What happens to a request, in order:
 *
 *   1. GET /__sim/stats: what was received, as JSON; POST /__sim/reset zeroes it (no auth);
 *   2. not POST: 405; a path other than "/": 404;
 *   3. the signature: no Authorization header, a malformed one, an unknown key id, a wrong
 *      session token, a scope for another service or region, a time more than 15 minutes
 *      off, or a signature that does not match: 400 or 403 with the AWS JSON error
 *      (MissingAuthenticationTokenException, IncompleteSignatureException,
 *      UnrecognizedClientException, InvalidSignatureException);
 *   4. Content-Type not application/x-amz-json-1.1: 400 SerializationException; X-Amz-Target
 *      missing or not one of the two operations: 400 UnknownOperationException;
 *   5. the request gets the next ordinal (1, 2, ...): the first `throttle` answer 400
 *      ThrottlingException, the `fail500` after them 500 InternalServerError;
 *   6. a body that is not the operation's JSON: 400 SerializationException or
 *      ValidationException (GetParameters takes 1 to 10 names);
 *   7. a denied name among those asked for: 400 AccessDeniedException naming it (IAM refuses
 *      the whole call);
 *   8. the answer: GetParameter a parameter or 400 ParameterNotFound; GetParameters the
 *      parameters found and InvalidParameters for the rest.  A SecureString's Value is its
 *      plain text with WithDecryption true, else a stand-in ciphertext.
 *
 * Error types carry the namespace prefix the real service puts on its framework errors
 * ("com.amazon.coral.service#UnrecognizedClientException"), so clients must strip it.
 * Time comes from the clock source (base/clock.h).  Values are registered as log secrets.
 */
#ifndef FAKES_SSM_FAKE_H
#define FAKES_SSM_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/httpd.h"

struct ssm_fake_param {
    const char *name;
    const char *value;
    const char *type; /* "String" (default when NULL), "StringList" or "SecureString" */
    int64_t version;  /* 0: 1 */
};

/* "NAME=VALUE", "NAME=VALUE:SecureString" (also :String, :StringList).  out points into spec. */
int ssm_fake_param_parse(char *spec, struct ssm_fake_param *out, struct diag *d);

struct ssm_fake_opts {
    const struct ssm_fake_param *params; /* copied */
    size_t nparams;
    const char *const *deny; /* names answered with AccessDeniedException; copied */
    size_t ndeny;
    const char *key_id;        /* default "AKIDSSMFAKE" */
    const char *secret;        /* default "ssm/fake/secret/key" */
    const char *session_token; /* NULL: requests must carry none; else this one */
    const char *region;        /* default "us-east-1" */
    uint64_t throttle;         /* first requests (past the checks) throttled */
    uint64_t fail500;          /* following requests answered 500 */
    int port;                  /* ssm_fake_start: 0 for an ephemeral port */
};

void ssm_fake_opts_default(struct ssm_fake_opts *o);

struct ssm_fake;

int ssm_fake_new(const struct ssm_fake_opts *o, struct ssm_fake **out, struct diag *d);
void ssm_fake_free(struct ssm_fake *f);

/* The fake as an httpd handler (ctx is the struct ssm_fake); thread-safe. */
void ssm_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* ssm_fake_new, then serve it on 127.0.0.1:o->port in background threads. */
int ssm_fake_start(const struct ssm_fake_opts *o, struct ssm_fake **out, int *port, struct diag *d);
/* Stop serving and free.  NULL is a no-op. */
void ssm_fake_stop(struct ssm_fake *f);

#define SSM_FAKE_MAX_CALLS 1000

/* Counts since start or the last reset. */
struct ssm_fake_stats {
    uint64_t requests;      /* every request but /__sim/ ones */
    uint64_t get_parameter; /* past the signature check, by target */
    uint64_t get_parameters;
    uint64_t auth_failures; /* refused at step 3 */
    uint64_t throttled;     /* step 5 */
    uint64_t server_errors; /* step 5 */
    uint64_t denied;        /* step 7 */
    uint64_t names;         /* names asked for in well-formed calls */
    uint64_t status[600];
};

void ssm_fake_get_stats(struct ssm_fake *f, struct ssm_fake_stats *out);
void ssm_fake_reset(struct ssm_fake *f);

/* The calls that got past the signature check, in order (at most SSM_FAKE_MAX_CALLS): the
 * operation ("GetParameters") and the names asked for joined with ','. */
size_t ssm_fake_ncalls(struct ssm_fake *f);
int ssm_fake_call(struct ssm_fake *f, size_t i, char *op, size_t opcap, char *names,
                  size_t namescap);

#endif
