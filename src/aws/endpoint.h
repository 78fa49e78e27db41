/* endpoint.h - where requests to an AWS service go.
 *
 * The endpoint of a service is, first match wins (as the AWS SDKs and CLI resolve it):
 *   1. one the caller passes: an option (a test's fake), read from the environment below;
 *   2. AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_S3, _SSM, _LAMBDA): that service only;
 *   3. AWS_ENDPOINT_URL: every service (a local stand-in such as LocalStack or MinIO);
 *   4. AWS's own for the region: https://<service>.<region>.amazonaws.com.
 * An empty variable counts as unset.  Only aws_endpoint_env reads the environment; the rest
 * are pure functions, so that the clients (S3, SSM, Lambda Invoke) take the URL as an option
 * and their tests never depend on the caller's environment.
 *
 * A configured endpoint is "http[s]://host[:port][/path]": anything else (another scheme,
 * user info, a query or fragment, white space or control characters) is ERR_INVALID.  A URL
 * with an '@' is never quoted in a message (user info may hold a password).
 */
#ifndef AWS_ENDPOINT_H
#define AWS_ENDPOINT_H

#include "base/err.h"

#define AWS_ENDPOINT_ENV      "AWS_ENDPOINT_URL"
#define AWS_ENDPOINT_HOST_MAX 256
#define AWS_ENDPOINT_PATH_MAX 1024
#define AWS_REGION_MAX        64 /* with the NUL */
#define AWS_ENDPOINT_VAR_MAX  48 /* "AWS_ENDPOINT_URL_<SERVICE>" with the NUL */

struct aws_endpoint {
    char scheme[8];                   /* "https" or "http" (lower case) */
    char host[AWS_ENDPOINT_HOST_MAX]; /* "host[:port]", the Host header's value */
    char path[AWS_ENDPOINT_PATH_MAX]; /* the base path without a trailing '/'; "" for none */
    int custom;                       /* 1: configured; 0: AWS's own for the region */
};

/* 1 when region can be an AWS region name (1 to 63 of a-z 0-9 '-'), else 0. */
int aws_region_valid(const char *region);

/* The endpoint URL configured in the environment for service (its signing name: "s3",
 * "ssm", "lambda"): AWS_ENDPOINT_URL_<SERVICE> in upper case, else AWS_ENDPOINT_URL; NULL
 * when neither is set.  var (may be NULL) gets the name of the variable it came from ("" for
 * none), for messages.  The string returned is the environment's: valid until it changes. */
const char *aws_endpoint_env(const char *service, char var[AWS_ENDPOINT_VAR_MAX]);

/* Parse a configured endpoint URL; what names it in messages ("S3 endpoint",
 * "AWS_ENDPOINT_URL_LAMBDA").  ERR_INVALID naming what is wrong. */
int aws_endpoint_parse(const char *url, const char *what, struct aws_endpoint *out, struct diag *d);

/* url when it is set (parsed as above), else AWS's own endpoint of service in region.
 * ERR_INVALID for a malformed URL or (without one) a malformed region. */
int aws_endpoint_resolve(const char *service, const char *region, const char *url, const char *what,
                         struct aws_endpoint *out, struct diag *d);

#endif
