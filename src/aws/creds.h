/* creds.h - AWS credentials and region, as the AWS CLI and SDKs find them.
 *
 * The standard provider chain, in the SDKs' order; the first that has credentials wins:
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary ones such
 *      as Lambda's, AWS_SESSION_TOKEN;
 *   2. a web identity token: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (and optionally
 *      AWS_ROLE_SESSION_NAME), or the profile's web_identity_token_file and role_arn,
 *      exchanged with STS AssumeRoleWithWebIdentity (at AWS_ENDPOINT_URL_STS, else
 *      https://sts.<region>.amazonaws.com);
 *   3. the profile AWS_PROFILE ("default" when unset) in the shared credentials file
 *      (~/.aws/credentials, or $AWS_SHARED_CREDENTIALS_FILE) or the config file
 *      (~/.aws/config, or $AWS_CONFIG_FILE, sections "[profile NAME]" and "[default]"): its
 *      static keys (the credentials file wins where both have a value), else its
 *      credential_process, a command printing the credentials as JSON (Version 1; this also
 *      covers SSO through `aws configure export-credentials --format process`);
 *   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI, with the Authorization header from
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   5. EC2 instance metadata, IMDSv2 (a session token first), at
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254), unless
 *      AWS_EC2_METADATA_DISABLED=true.  Container and instance metadata calls time out after
 *      AWS_METADATA_SERVICE_TIMEOUT seconds (default 1) and are tried
 *      AWS_METADATA_SERVICE_NUM_ATTEMPTS times (default 1).
 *
 * A profile named by AWS_PROFILE that does not exist is an error; without AWS_PROFILE a
 * missing default profile moves on to the next provider.  Temporary credentials from 2-5 are
 * kept for the process and used again until 5 minutes before they expire; a refresh that
 * fails while the old ones are still valid keeps them (with a warning).  Credentials that
 * arrive already expired are refused.  The region comes from AWS_REGION, else
 * AWS_DEFAULT_REGION, else the profile's "region" in the config file.
 *
 * Loading registers the secret key, the session token and the tokens sent to get them with
 * the log's redaction (log_add_secret), and no message here ever contains them or the
 * answers they came in.
 */
#ifndef AWS_CREDS_H
#define AWS_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "aws/sigv4.h"
#include "base/err.h"
#include "base/strvec.h"

#define AWS_CREDS_KEY_ID_MAX 128
#define AWS_CREDS_SECRET_MAX 128
#define AWS_CREDS_TOKEN_MAX  4096
#define AWS_CREDS_REGION_MAX 64
#define AWS_CREDS_SOURCE_MAX 512
/* Largest credentials or config file read. */
#define AWS_CREDS_FILE_MAX ((size_t)1 << 20)

struct aws_creds {
    char access_key_id[AWS_CREDS_KEY_ID_MAX];
    char secret_access_key[AWS_CREDS_SECRET_MAX];
    char session_token[AWS_CREDS_TOKEN_MAX]; /* "" when the credentials are not temporary */
    char region[AWS_CREDS_REGION_MAX];       /* "" when none was found: the caller decides */
    /* Where they came from, for messages: "environment", "profile 'x' in /path". */
    char source[AWS_CREDS_SOURCE_MAX];
    char region_source[AWS_CREDS_SOURCE_MAX]; /* "AWS_REGION", "profile 'x' in /path", "" */
    int64_t expiration_ms; /* Unix ms when temporary credentials expire; 0: not known */
};

/* Refresh this long before the expiration, as the SDKs do. */
#define AWS_CREDS_REFRESH_MS ((int64_t)5 * 60 * 1000)

/* Fill c from the environment and the files above.  ERR_AUTH when no credentials are found
 * (the message says where it looked) or only half of a pair is set; ERR_PARSE / ERR_IO /
 * ERR_TOOBIG for a file that cannot be read, naming it and the line; ERR_INVALID for a value
 * that does not fit or a malformed region.  Release c with aws_creds_release. */
int aws_creds_load(struct aws_creds *c, struct diag *d);

/* Wipe the secrets from memory. */
void aws_creds_release(struct aws_creds *c);

/* A borrowed view for the signer (valid while c is). */
struct sigv4_creds aws_creds_sigv4(const struct aws_creds *c);

/* ---- the INI format of the two files, as pure functions over their text ---- */

/* One "key = value" line: section and key trimmed, value trimmed and without an inline
 * comment (" #..." or " ;..."); none of them NUL-terminated.  A "[section]" line is an entry
 * too, with key and value NULL.  line counts from 1. */
struct aws_creds_ini_entry {
    const char *section;
    size_t section_len;
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    size_t line;
};

/* Called for every entry in file order; a non-zero return stops the parse and is returned. */
typedef int (*aws_creds_ini_fn)(void *ctx, const struct aws_creds_ini_entry *e);

/* Parse len bytes (no NUL needed) of an AWS credentials or config file: "[section]" lines,
 * "key = value" (or "key: value") lines, full-line comments starting with '#' or ';', blank
 * lines; a line indented deeper than the entry above it continues that entry (nested
 * settings such as "s3 =" blocks) and is skipped, unless it is a "[section]" line.  A UTF-8
 * BOM and CRLF line ends are accepted.  ERR_PARSE with "line N: ..." for anything else. */
int aws_creds_ini_parse(const char *text, size_t len, aws_creds_ini_fn fn, void *ctx,
                        struct diag *d);

/* What one profile holds; each field "" when absent. */
struct aws_creds_profile {
    int found; /* the profile's section is in the file */
    char access_key_id[AWS_CREDS_KEY_ID_MAX];
    char secret_access_key[AWS_CREDS_SECRET_MAX];
    char session_token[AWS_CREDS_TOKEN_MAX];
    char region[AWS_CREDS_REGION_MAX];
    char credential_process[AWS_CREDS_SOURCE_MAX * 4];
    char role_arn[AWS_CREDS_SOURCE_MAX];
    char web_identity_token_file[AWS_CREDS_SOURCE_MAX * 4];
    char role_session_name[AWS_CREDS_SOURCE_MAX];
    /* The first setting seen that gets credentials a way not supported here
     * ("source_profile", "credential_source", "sso_session", "sso_start_url"), "" when
     * none. */
    char unsupported[32];
};

/* Pick profile out of a file's text.  config_file: sections are "[profile NAME]" (and
 * "[default]" for the default profile), else "[NAME]".  Later values win over earlier ones.
 * ERR_PARSE as aws_creds_ini_parse; ERR_TOOBIG ("line N: aws_session_token is longer than
 * ...") for a value too long for its field. */
int aws_creds_ini_profile(const char *text, size_t len, const char *profile, int config_file,
                          struct aws_creds_profile *out, struct diag *d);

/* ---- the answers of the remote providers, as pure functions over their text ---- */

/* Where a JSON answer comes from; each has its own shape:
 *   PROCESS:   credential_process output, {"Version": 1, "AccessKeyId", "SecretAccessKey",
 *              "SessionToken"?, "Expiration"?}
 *   CONTAINER: {"AccessKeyId", "SecretAccessKey", "Token"?, "Expiration"?, "RoleArn"?}
 *   IMDS:      {"Code": "Success", "Type", "AccessKeyId", "SecretAccessKey", "Token",
 *              "Expiration", "LastUpdated"} */
enum aws_creds_json_kind { AWS_CREDS_JSON_PROCESS, AWS_CREDS_JSON_CONTAINER, AWS_CREDS_JSON_IMDS };

/* Fill the key id, secret, token and expiration of out (nothing else) from a JSON answer.
 * ERR_PARSE for malformed JSON or a field of the wrong type or form (a key or token must be
 * printable ASCII without spaces: it goes into HTTP headers), ERR_UNSUPPORTED for another
 * Version, ERR_AUTH when IMDS's Code is not "Success", ERR_TOOBIG for a field too long for
 * its array.  Messages name the field, never a value. */
int aws_creds_parse_json(const char *text, size_t len, enum aws_creds_json_kind kind,
                         struct aws_creds *out, struct diag *d);

/* The same from STS's AssumeRoleWithWebIdentityResponse (XML).  An ErrorResponse is
 * ERR_AUTH with its Code and Message. */
int aws_creds_parse_sts(const char *text, size_t len, struct aws_creds *out, struct diag *d);

/* An ISO 8601 time as AWS writes expirations: "2026-12-06T23:00:00Z", with optional
 * fractional seconds, 'Z' or a "+HH:MM" / "-HH:MM" offset.  ERR_PARSE otherwise. */
int aws_creds_parse_time(const char *s, size_t n, int64_t *ms);

/* Split a credential_process command line as the SDKs do (POSIX shell words: blanks
 * separate, single quotes keep everything, double quotes keep all but \\ \" \$ \`,
 * backslash escapes outside quotes; no expansion).  ERR_PARSE for an open quote or an
 * empty command. */
int aws_creds_split_command(const char *cmd, struct strvec *argv, struct diag *d);

/* ---- each provider on its own (aws_creds_load runs them in order) ---- */

/* STS AssumeRoleWithWebIdentity with the token in token_file.  session may be NULL. */
int aws_creds_from_web_identity(const char *token_file, const char *role_arn, const char *session,
                                const char *region, struct aws_creds *out, struct diag *d);
/* Run command (a credential_process setting) and read what it prints.  `where` names the
 * setting in messages ("profile 'x' in /path"). */
int aws_creds_from_process(const char *command, const char *where, struct aws_creds *out,
                           struct diag *d);
/* The container endpoint from the environment; ERR_NOTFOUND (no message) when neither URI
 * variable is set, ERR_INVALID for a full URI that is neither HTTPS nor a loopback or
 * container-host address. */
int aws_creds_container_url(char *out, size_t cap, struct diag *d);
int aws_creds_from_container(struct aws_creds *out, struct diag *d);
/* IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), GET
 * /latest/meta-data/iam/security-credentials/ for the role, then GET that role. */
int aws_creds_from_imds(struct aws_creds *out, struct diag *d);

/* Forget the kept temporary credentials (wiping them). */
void aws_creds_cache_reset(void);

#endif
