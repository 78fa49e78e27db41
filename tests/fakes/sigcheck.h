/* sigcheck.h - checking AWS Signature Version 4 on requests, for the fakes of AWS services.
 *
 * What a service does before anything else: the Authorization header's form, the key, the
 * session token, the credential scope (date, region, service), the clock skew (15 minutes),
 * and the signature itself, recomputed with aws/sigv4.h over the headers the client says it
 * signed.  A refusal carries the status and the error type AWS answers with (without the
 * service's namespace) and its message.
 */
#ifndef FAKES_SIGCHECK_H
#define FAKES_SIGCHECK_H

#include "net/httpd.h"

struct sigcheck_keys {
    const char *key_id, *secret;
    const char *token; /* the session token the requests must carry; NULL: none */
    const char *region, *service;
};

struct sigcheck_refusal {
    int status;
    char type[64]; /* "InvalidSignatureException", ... */
    char msg[640];
};

/* 0 when req is signed with k; otherwise -1 and why says what AWS would answer. */
int sigcheck_verify(const struct httpd_request *req, const struct sigcheck_keys *k,
                    struct sigcheck_refusal *why);

#endif
