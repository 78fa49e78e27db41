/* creds.h - AWS credentials and region, as the AWS CLI and SDKs find them.
 *
 * Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for
 * temporary ones such as Lambda's, AWS_SESSION_TOKEN), else from the profile AWS_PROFILE
 * ("default" when unset) in the shared credentials file (~/.aws/credentials, or
 * $AWS_SHARED_CREDENTIALS_FILE) or the config file (~/.aws/config, or $AWS_CONFIG_FILE,
 * sections "[profile NAME]" and "[default]"); the credentials file wins where both have a
 * value.  The region comes from AWS_REGION, else AWS_DEFAULT_REGION, else the profile's
 * "region" in the config file.  Profiles that get credentials another way (role_arn,
 * credential_process, SSO) are not supported and say so.
 *
 * Loading registers the secret key and the session token with the log's redaction
 * (log_add_secret), and no message here ever contains them.
 */
#ifndef AWS_CREDS_H
#define AWS_CREDS_H

#include <stddef.h>

#include "aws/sigv4.h"
#include "base/err.h"

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
};

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
    /* The first setting seen that gets credentials a way not supported here ("role_arn",
     * "credential_process", "sso_session", ...), "" when none. */
    char unsupported[32];
};

/* Pick profile out of a file's text.  config_file: sections are "[profile NAME]" (and
 * "[default]" for the default profile), else "[NAME]".  Later values win over earlier ones.
 * ERR_PARSE as aws_creds_ini_parse; ERR_TOOBIG ("line N: aws_session_token is longer than
 * ...") for a value too long for its field. */
int aws_creds_ini_profile(const char *text, size_t len, const char *profile, int config_file,
                          struct aws_creds_profile *out, struct diag *d);

#endif
