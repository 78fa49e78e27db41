/* creds_fake.h - a fake of the three endpoints that hand out temporary AWS credentials, on
 * 127.0.0.1, speaking their wire formats:
 *
 *   STS         POST /  (form: Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=
 *               &RoleSessionName=&WebIdentityToken=) -> AssumeRoleWithWebIdentityResponse XML,
 *               or an ErrorResponse (InvalidIdentityToken) when the token is not the one given
 *   container   GET /creds (Authorization checked when a token is given) -> JSON with
 *               AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn
 *   IMDSv2      PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds) -> a
 *               session token; GET /latest/meta-data/iam/security-credentials/ -> the role
 *               name; GET .../<role> -> JSON with Code, LastUpdated, Type, AccessKeyId,
 *               SecretAccessKey, Token, Expiration.  Without the session token: 401.
 *
 * Each answer with credentials carries a new AccessKeyId ("ASIAFAKE0001", "ASIAFAKE0002", ...)
 * so that a test sees when they were fetched again.  The bad days are chosen per fake and
 * may be changed between requests: 500s, malformed bodies, credentials already expired,
 * access denied, no role, the connection dropped, or no answer at all until the fake stops. */
#ifndef TESTS_FAKES_CREDS_FAKE_H
#define TESTS_FAKES_CREDS_FAKE_H

#include <stddef.h>

#include "base/err.h"

enum creds_fake_mode {
    CREDS_FAKE_OK,
    CREDS_FAKE_500,       /* HTTP 500 with an error body */
    CREDS_FAKE_MALFORMED, /* 200 with a body that is not valid XML / JSON */
    CREDS_FAKE_EXPIRED,   /* credentials whose Expiration is an hour before `expiration` */
    CREDS_FAKE_DENIED,    /* STS: 400 InvalidIdentityToken; container: 403; IMDS: 401 */
    CREDS_FAKE_NO_ROLE,   /* IMDS: 404 for the role list (an instance without a profile) */
    CREDS_FAKE_DROP,      /* the connection closed without an answer */
    CREDS_FAKE_HANG,      /* no answer until creds_fake_stop */
};

struct creds_fake_opts {
    const char *web_token;       /* the token STS accepts; default "eyJ.fake.web-token" */
    const char *role_arn;        /* default "arn:aws:iam::123456789012:role/screener" */
    const char *container_token; /* Authorization the container endpoint wants; NULL: none */
    const char *expiration;      /* ISO 8601 Expiration of what is handed out */
    const char *secret;          /* SecretAccessKey handed out; default "fake/secret/KEY+1" */
    const char *session_token;   /* default "FAKE//SESSION+TOKEN=" */
};

struct creds_fake;

int creds_fake_start(const struct creds_fake_opts *o, struct creds_fake **out, char *url,
                     size_t cap, struct diag *d);
/* Release the hanging requests, stop serving, free.  NULL is a no-op. */
void creds_fake_stop(struct creds_fake *f);

/* The mode of the next requests; `times` requests get it, then CREDS_FAKE_OK (0: all). */
void creds_fake_set_mode(struct creds_fake *f, enum creds_fake_mode mode, int times);
void creds_fake_set_expiration(struct creds_fake *f, const char *iso);

struct creds_fake_stats {
    int sts, container, imds_token, imds_role_list, imds_creds, issued;
    char last_session_name[128];
    char last_authorization[256];
    int last_ttl_header;    /* the token PUT carried the TTL header */
    int last_token_ok;      /* the last metadata GET carried the session token */
    int last_form_complete; /* the STS form had every field, with the right values */
};
void creds_fake_stats(struct creds_fake *f, struct creds_fake_stats *out);

#endif
