/* sigv4.h - AWS Signature Version 4 as pure functions.
 *
 * The steps are exposed one by one (canonical request, string to sign, signing key,
 * signature) so that tests can check each against the public test suite and a failure names
 * the step.  Two rule sets:
 *
 *   - S3 (SIGV4_S3): the canonical URI is the path as sent, each segment percent-encoded once,
 *     nothing normalised ("//" and "." are kept); x-amz-content-sha256 is sent and signed.
 *   - other services (SIGV4_DEFAULT): the path is normalised (".", "..", "//" removed) and
 *     encoded twice.
 *
 * Nothing here reads the clock or the environment: the caller passes the time and the
 * credentials.  Secrets never leave these functions except inside the signature.
 */
#ifndef AWS_SIGV4_H
#define AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_EXPIRES_MAX      604800

struct sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when the credentials are not temporary */
};

enum sigv4_rules { SIGV4_DEFAULT, SIGV4_S3 };

struct sigv4_header {
    const char *name;  /* any case; duplicates allowed (values are joined with ',') */
    const char *value; /* trimmed and inner runs of spaces collapsed when signed */
};

/* A request to sign.  path and query are as they go on the wire: path already
 * percent-encoded the way the caller will send it (e.g. "/bars/a%20b.csv"), query without '?'
 * ("" for none), its names and values percent-encoded or not (they are decoded and
 * re-encoded canonically).  headers must include Host. */
struct sigv4_request {
    const char *method;
    const char *path;
    const char *query;
    const struct sigv4_header *headers;
    size_t nheaders;
    /* Hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD; NULL: computed from body. */
    const char *payload_hash;
    const void *body;
    size_t body_len;
};

struct sigv4_params {
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3", "ssm", ... */
    int64_t time_s;      /* signing time, Unix seconds (UTC) */
    enum sigv4_rules rules;
    /* Presigning: validity in seconds (1..SIGV4_EXPIRES_MAX). */
    int64_t expires_s;
    /* Sign the session token into the request but leave it out of the canonical request, as
     * a few services want (the suite's "omit_session_token"); 0 for S3 and SSM. */
    int omit_session_token;
};

/* "20150830T123600Z" and "20150830" for time_s. */
void sigv4_amz_date(int64_t time_s, char out[17]);

/* The canonical request for header signing.  The headers signed are the request's headers
 * plus X-Amz-Date (and X-Amz-Security-Token, and for S3 X-Amz-Content-Sha256) unless the
 * request already has them. */
int sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_params *p,
                            const struct sigv4_creds *c, struct buf *out, struct diag *d);

/* "AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256 of canonical request>" */
int sigv4_string_to_sign(const char *canonical_request, size_t len, const struct sigv4_params *p,
                         struct buf *out, struct diag *d);

/* kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request". */
void sigv4_signing_key(const char *secret, const char date8[9], const char *region,
                       const char *service, uint8_t out[32]);

/* Lower-case hex HMAC-SHA256 of the string to sign with the signing key. */
void sigv4_signature(const uint8_t key[32], const char *string_to_sign, size_t len, char out[65]);

/* The headers to add to the request, each a full "Name: value" line: Authorization,
 * X-Amz-Date, and when they apply X-Amz-Security-Token and X-Amz-Content-Sha256. */
struct sigv4_signed {
    char authorization[512];
    char amz_date[48];
    char content_sha256[96];   /* "" when not added */
    char security_token[4200]; /* "" when not added */
};

int sigv4_sign_headers(const struct sigv4_request *r, const struct sigv4_params *p,
                       const struct sigv4_creds *c, struct sigv4_signed *out, struct diag *d);

/* Presigning: the canonical request of the query-string form (X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token
 * added to the query; payload UNSIGNED-PAYLOAD for S3). */
int sigv4_presign_canonical_request(const struct sigv4_request *r, const struct sigv4_params *p,
                                    const struct sigv4_creds *c, struct buf *out, struct diag *d);

/* The full query string (without '?') to send: the request's own parameters and the X-Amz-*
 * ones, canonically encoded, ending with X-Amz-Signature. */
int sigv4_presign_query(const struct sigv4_request *r, const struct sigv4_params *p,
                        const struct sigv4_creds *c, struct buf *out, struct diag *d);

/* Percent-encode for SigV4: unreserved A-Z a-z 0-9 - . _ ~ kept, everything else %XX
 * (upper-case hex); with keep_slash, '/' is kept too. */
int sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash);

#endif
