/* screener presign - print a presigned GET URL for an S3 object. */
#include "app/app.h"
#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/s3.h"
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener presign s3://BUCKET/KEY [options]\n\n"
    "Print a URL that downloads the object with a plain HTTP GET (curl, a browser, a chat\n"
    "message) without AWS credentials, until it expires.  It is signed locally with the AWS\n"
    "credentials of the standard chain (the environment, AWS_WEB_IDENTITY_TOKEN_FILE, the\n"
    "AWS_PROFILE profile in ~/.aws with keys or credential_process, container credentials,\n"
    "EC2 instance metadata; docs/credentials.md) for AWS_REGION; AWS_ENDPOINT_URL_S3 (else\n"
    "AWS_ENDPOINT_URL) names another S3 endpoint.  A URL signed with temporary credentials\n"
    "stops working when they expire, whatever --expires says.\n\n"
    "Options:\n"
    "      --expires SECONDS    how long the URL works, 1 to 604800 (7 days); default 3600\n"
    "      --log-level LEVEL    debug, info, warn (default), error, off\n"
    "      --log-format FORMAT  auto (text on a terminal, else JSON lines), json, human\n"
    "  -h, --help               show this help\n";

enum { OPT_EXPIRES = OPT_FIRST_FREE_ };

int cmd_presign(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener presign");
    long expires = S3_PRESIGN_DEFAULT_S;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_EXPIRES:
            if ((rc = app_parse_long(&a, "--expires", optarg, 1, SIGV4_EXPIRES_MAX, &expires)))
                return rc;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind >= argc)
        return app_usage_error(&a, "which object? expected s3://BUCKET/KEY");
    if (optind + 1 < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind + 1]);
    const char *loc = argv[optind];
    char bucket[64];
    const char *slash = strncmp(loc, "s3://", 5) == 0 ? strchr(loc + 5, '/') : NULL;
    size_t blen = slash ? (size_t)(slash - loc - 5) : 0;
    if (!slash || blen >= sizeof bucket || !slash[1])
        return app_usage_error(&a, "expected s3://BUCKET/KEY, got '%s'", loc);
    memcpy(bucket, loc + 5, blen);
    bucket[blen] = '\0';
    const char *key = slash + 1;
    if (!s3_bucket_name_valid(bucket))
        return app_usage_error(&a, "'%s' is not a valid S3 bucket name", bucket);
    if (strlen(key) > S3_KEY_MAX)
        return app_usage_error(&a, "the key is longer than %d bytes", S3_KEY_MAX);

    struct diag d = {{0}};
    struct aws_creds c;
    memset(&c, 0, sizeof c);
    struct s3 *s3 = NULL;
    struct buf url = BUF_INIT(64 << 10);
    int err = aws_creds_load(&c, &d);
    if (!err) {
        struct s3_opts o;
        s3_opts_default(&o);
        o.region = c.region[0] ? c.region : S3_DEFAULT_REGION;
        o.endpoint = aws_endpoint_env("s3", NULL);
        o.creds = aws_creds_sigv4(&c);
        err = s3_new(&o, &s3, &d);
    }
    aws_creds_release(&c);
    if (!err)
        err = s3_presign_get(s3, bucket, key, expires, 0, &url, &d);
    if (!err && buf_putc(&url, '\n') != ERR_OK)
        err = diag_set(&d, ERR_NOMEM, "out of memory");
    rc = err ? app_fail(&a, err, &d) : app_write_stdout(&a, url.data, url.len);
    buf_release(&url);
    s3_free(s3);
    return rc;
}
