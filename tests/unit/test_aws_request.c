/* Unit tests: where AWS requests go (aws/endpoint.h) and the signed request the S3, SSM and
 * Lambda Invoke clients send (aws/request.h): the environment's precedence, URL parsing, and
 * signatures identical to the signer's and to AWS's published examples. */
#include "testutil.h"

#include "aws/endpoint.h"
#include "aws/request.h"
#include "aws/sigv4.h"

#include <stdlib.h>
#include <string.h>

static void clear_env(void)
{
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL_SSM");
    unsetenv("AWS_ENDPOINT_URL_LAMBDA");
}

static void test_region_valid(void **state)
{
    (void)state;
    assert_true(aws_region_valid("us-east-1"));
    assert_true(aws_region_valid("eu-central-2"));
    assert_false(aws_region_valid(""));
    assert_false(aws_region_valid(NULL));
    assert_false(aws_region_valid("us east"));
    assert_false(aws_region_valid("US-EAST-1"));
    assert_false(aws_region_valid("evil.com/x"));
    char longest[AWS_REGION_MAX + 1];
    memset(longest, 'a', sizeof longest);
    longest[AWS_REGION_MAX - 1] = '\0';
    assert_true(aws_region_valid(longest));
    longest[AWS_REGION_MAX - 1] = 'a';
    longest[AWS_REGION_MAX] = '\0';
    assert_false(aws_region_valid(longest));
}

/* The service's own variable wins over AWS_ENDPOINT_URL, which applies to every service; an
 * empty one counts as unset (as in the AWS SDKs). */
static void test_env_precedence(void **state)
{
    (void)state;
    clear_env();
    char var[AWS_ENDPOINT_VAR_MAX];
    assert_null(aws_endpoint_env("s3", var));
    assert_string_equal(var, "");

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    assert_string_equal(aws_endpoint_env("s3", var), "http://127.0.0.1:4566");
    assert_string_equal(var, "AWS_ENDPOINT_URL");
    assert_string_equal(aws_endpoint_env("ssm", var), "http://127.0.0.1:4566");
    assert_string_equal(aws_endpoint_env("lambda", NULL), "http://127.0.0.1:4566");

    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001", 1);
    assert_string_equal(aws_endpoint_env("s3", var), "http://127.0.0.1:9000");
    assert_string_equal(var, "AWS_ENDPOINT_URL_S3");
    assert_string_equal(aws_endpoint_env("lambda", var), "http://127.0.0.1:9001");
    assert_string_equal(var, "AWS_ENDPOINT_URL_LAMBDA");
    assert_string_equal(aws_endpoint_env("ssm", var), "http://127.0.0.1:4566");
    assert_string_equal(var, "AWS_ENDPOINT_URL");

    setenv("AWS_ENDPOINT_URL_S3", "", 1);
    assert_string_equal(aws_endpoint_env("s3", var), "http://127.0.0.1:4566");
    setenv("AWS_ENDPOINT_URL", "", 1);
    assert_null(aws_endpoint_env("s3", var));
    assert_string_equal(aws_endpoint_env("lambda", NULL), "http://127.0.0.1:9001");
    clear_env();
}

static void check_parse(const char *url, const char *scheme, const char *host, const char *path)
{
    struct aws_endpoint ep;
    struct diag d;
    diag_clear(&d);
    int err = aws_endpoint_parse(url, "TEST", &ep, &d);
    if (err)
        fail_msg("%s: %s", url, d.text);
    assert_string_equal(ep.scheme, scheme);
    assert_string_equal(ep.host, host);
    assert_string_equal(ep.path, path);
    assert_int_equal(ep.custom, 1);
}

static void check_refused(const char *url, const char *want)
{
    struct aws_endpoint ep;
    struct diag d;
    diag_clear(&d);
    if (aws_endpoint_parse(url, "TEST", &ep, &d) != ERR_INVALID || !strstr(d.text, want))
        fail_msg("%s: got '%s', want an error with '%s'", url, d.text, want);
}

static void test_parse(void **state)
{
    (void)state;
    check_parse("http://127.0.0.1:4568", "http", "127.0.0.1:4568", "");
    check_parse("http://127.0.0.1:4568/", "http", "127.0.0.1:4568", "");
    check_parse("HTTPS://minio.example.com:9000//", "https", "minio.example.com:9000", "");
    check_parse("https://h/base/path/", "https", "h", "/base/path");
    check_parse("http://[::1]:4566", "http", "[::1]:4566", "");

    check_refused("ftp://host", "TEST 'ftp://host' is not a URL of the form");
    check_refused("host:4568", "is not a URL of the form");
    check_refused("http://", "is not a URL");
    check_refused("http:///path", "is not a URL");
    check_refused("http://h?x=1", "is not a URL");
    check_refused("http://h/p?x=1", "is not a URL");
    check_refused("http://h/p#f", "is not a URL");
    check_refused("http://h /p", "is not a URL");
    check_refused("http://h/a b", "is not a URL");
    check_refused("http://h\r\nX-Evil: 1", "is not a URL");
    check_refused(NULL, "is not a URL");
    /* User info may hold a password: refused and never quoted. */
    struct aws_endpoint ep;
    struct diag d;
    assert_int_equal(aws_endpoint_parse("http://user:pa55word@h:1/", "TEST", &ep, &d), ERR_INVALID);
    assert_null(strstr(d.text, "pa55word"));
    assert_non_null(strstr(d.text, "user info"));
    /* Not even when the rest is malformed too (a typo in the scheme). */
    assert_int_equal(aws_endpoint_parse("htp://user:pa55word@h", "TEST", &ep, &d), ERR_INVALID);
    assert_null(strstr(d.text, "pa55word"));
    assert_non_null(strstr(d.text, "is not a URL of the form"));
    char host[AWS_ENDPOINT_HOST_MAX + 16];
    memcpy(host, "http://", 7);
    memset(host + 7, 'h', AWS_ENDPOINT_HOST_MAX);
    host[7 + AWS_ENDPOINT_HOST_MAX] = '\0';
    check_refused(host, "is not a URL");
}

static void test_resolve(void **state)
{
    (void)state;
    struct aws_endpoint ep;
    struct diag d;
    assert_int_equal(aws_endpoint_resolve("ssm", "eu-west-2", NULL, "x", &ep, &d), ERR_OK);
    assert_string_equal(ep.scheme, "https");
    assert_string_equal(ep.host, "ssm.eu-west-2.amazonaws.com");
    assert_string_equal(ep.path, "");
    assert_int_equal(ep.custom, 0);
    assert_int_equal(aws_endpoint_resolve("lambda", "us-east-1", "", "x", &ep, &d), ERR_OK);
    assert_string_equal(ep.host, "lambda.us-east-1.amazonaws.com");
    /* A configured URL needs no region; AWS's own does. */
    assert_int_equal(aws_endpoint_resolve("s3", NULL, "http://127.0.0.1:1", "x", &ep, &d), ERR_OK);
    assert_string_equal(ep.host, "127.0.0.1:1");
    assert_int_equal(aws_endpoint_resolve("s3", "evil.com/x", NULL, "x", &ep, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "is not an AWS region"));
    assert_int_equal(aws_endpoint_resolve("s3", NULL, NULL, "x", &ep, &d), ERR_INVALID);
}

static const struct sigv4_creds suite_creds = {"AKIDEXAMPLE",
                                               "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

static const char *header(const struct aws_signed *s, const char *prefix)
{
    for (size_t i = 0; i < s->nheaders; i++)
        if (strncmp(s->headers[i], prefix, strlen(prefix)) == 0)
            return s->headers[i];
    return NULL;
}

/* AWS's examples, through the helper: the signature is the published one. */
static void test_sign_published_examples(void **state)
{
    (void)state;
    /* The SigV4 suite's post-vanilla and get-vanilla-with-session-token. */
    struct aws_endpoint ep = {"https", "example.amazonaws.com", "", 0};
    struct aws_request r = {.method = "POST", .endpoint = &ep};
    struct sigv4_params p = {
        .region = "us-east-1", .service = "service", .time_s = 1440938160, .rules = SIGV4_DEFAULT};
    struct aws_signed *s;
    struct diag d;
    assert_int_equal(aws_request_sign(&r, &p, &suite_creds, &s, &d), ERR_OK);
    assert_string_equal(s->sig.signature,
                        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    assert_string_equal(buf_cstr(&s->url), "https://example.amazonaws.com/");
    assert_string_equal(buf_cstr(&s->path), "/");
    assert_int_equal(s->nheaders, 3);
    assert_string_equal(s->headers[0], "Host: example.amazonaws.com");
    assert_non_null(header(s, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"));
    assert_string_equal(header(s, "X-Amz-Date:"), "X-Amz-Date: 20150830T123600Z");
    struct fetch_req fr = aws_signed_fetch_req(s);
    assert_string_equal(fr.method, "POST");
    assert_string_equal(fr.url, "https://example.amazonaws.com/");
    assert_ptr_equal(fr.headers, s->headers);
    assert_int_equal(fr.nheaders, 3);
    aws_signed_free(s);

    struct sigv4_creds tok = suite_creds;
    tok.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    r.method = "GET";
    assert_int_equal(aws_request_sign(&r, &p, &tok, &s, &d), ERR_OK);
    assert_string_equal(s->sig.signature,
                        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    assert_string_equal(header(s, "X-Amz-Security-Token:"),
                        "X-Amz-Security-Token: "
                        "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    aws_signed_free(s);

    /* The S3 guide's GET object with a Range header. */
    struct aws_endpoint s3 = {"https", "examplebucket.s3.amazonaws.com", "", 0};
    const struct sigv4_header range[] = {{"Range", "bytes=0-9"}};
    struct aws_request g = {
        .method = "GET", .endpoint = &s3, .path = "/test.txt", .headers = range, .nheaders = 1};
    struct sigv4_params ps = {
        .region = "us-east-1", .service = "s3", .time_s = 1369353600, .rules = SIGV4_S3};
    const struct sigv4_creds doc = {"AKIAIOSFODNN7EXAMPLE",
                                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    assert_int_equal(aws_request_sign(&g, &ps, &doc, &s, &d), ERR_OK);
    assert_string_equal(s->sig.signature,
                        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    assert_string_equal(buf_cstr(&s->url), "https://examplebucket.s3.amazonaws.com/test.txt");
    /* Host, the caller's headers, then what the signer adds, in that order. */
    assert_int_equal(s->nheaders, 5);
    assert_string_equal(s->headers[0], "Host: examplebucket.s3.amazonaws.com");
    assert_string_equal(s->headers[1], "Range: bytes=0-9");
    assert_true(strncmp(s->headers[2], "Authorization: ", 15) == 0);
    assert_string_equal(s->headers[3], "X-Amz-Date: 20130524T000000Z");
    assert_string_equal(s->headers[4], "X-Amz-Content-Sha256: " SIGV4_EMPTY_SHA256);
    aws_signed_free(s);
}

/* The helper signs exactly what sigv4_sign_headers signs for the same request, with a base
 * path, a query and a body; and sends what it signed. */
static void test_sign_same_as_signer(void **state)
{
    (void)state;
    struct aws_endpoint ep = {"http", "127.0.0.1:4583", "/base", 1};
    const struct sigv4_header hs[] = {{"Content-Type", "application/x-amz-json-1.1"},
                                      {"X-Amz-Target", "AmazonSSM.GetParameters"}};
    const char body[] = "{\"Names\":[\"/a\"],\"WithDecryption\":true}";
    struct aws_request r = {.method = "POST",
                            .endpoint = &ep,
                            .path = "/x%20y",
                            .query = "b=2&a=1",
                            .headers = hs,
                            .nheaders = 2,
                            .body = body,
                            .body_len = sizeof body - 1};
    struct sigv4_params p = {
        .region = "us-east-1", .service = "ssm", .time_s = 1767225600, .rules = SIGV4_DEFAULT};
    struct aws_signed *s;
    struct diag d;
    assert_int_equal(aws_request_sign(&r, &p, &suite_creds, &s, &d), ERR_OK);
    assert_string_equal(buf_cstr(&s->url), "http://127.0.0.1:4583/base/x%20y?b=2&a=1");

    const struct sigv4_header all[] = {{"Host", "127.0.0.1:4583"}, hs[0], hs[1]};
    struct sigv4_request sr = {.method = "POST",
                               .path = "/base/x%20y",
                               .query = "b=2&a=1",
                               .headers = all,
                               .nheaders = 3,
                               .body = body,
                               .body_len = sizeof body - 1};
    struct sigv4_signed want;
    assert_int_equal(sigv4_sign_headers(&sr, &p, &suite_creds, &want, &d), ERR_OK);
    assert_string_equal(s->sig.authorization, want.authorization);
    assert_string_equal(s->headers[0], "Host: 127.0.0.1:4583");
    assert_string_equal(s->headers[1], "Content-Type: application/x-amz-json-1.1");
    assert_string_equal(s->headers[2], "X-Amz-Target: AmazonSSM.GetParameters");
    assert_string_equal(s->headers[3], want.authorization);
    assert_string_equal(s->headers[4], want.amz_date);
    assert_int_equal(s->nheaders, 5);
    struct fetch_req fr = aws_signed_fetch_req(s);
    assert_ptr_equal(fr.body, body);
    assert_int_equal(fr.body_len, sizeof body - 1);
    aws_signed_free(s);

    /* No path: the endpoint's base path alone. */
    r.path = NULL;
    r.query = NULL;
    assert_int_equal(aws_request_sign(&r, &p, &suite_creds, &s, &d), ERR_OK);
    assert_string_equal(buf_cstr(&s->url), "http://127.0.0.1:4583/base");
    aws_signed_free(s);
}

static void test_sign_refusals(void **state)
{
    (void)state;
    struct aws_endpoint ep = {"https", "example.amazonaws.com", "", 0};
    struct sigv4_header hs[AWS_REQUEST_HEADERS_MAX + 1];
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        hs[i] = (struct sigv4_header){"X-A", "1"};
    struct aws_request r = {
        .method = "GET", .endpoint = &ep, .headers = hs, .nheaders = AWS_REQUEST_HEADERS_MAX + 1};
    struct sigv4_params p = {
        .region = "us-east-1", .service = "s3", .time_s = 1440938160, .rules = SIGV4_S3};
    struct aws_signed *s = (struct aws_signed *)1;
    struct diag d;
    assert_int_equal(aws_request_sign(&r, &p, &suite_creds, &s, &d), ERR_INVALID);
    assert_null(s);
    /* A header line that does not fit is refused, not cut. */
    char big[AWS_REQUEST_LINE_MAX];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hs[0] = (struct sigv4_header){"If-Match", big};
    r.nheaders = 1;
    assert_int_equal(aws_request_sign(&r, &p, &suite_creds, &s, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "the If-Match header is too long"));
    /* The signer's own refusals come through (no secret key). */
    struct sigv4_creds none = {"AKID", "", NULL};
    r.nheaders = 0;
    int err = aws_request_sign(&r, &p, &none, &s, &d);
    assert_int_not_equal(err, ERR_OK);
    assert_null(s);
    aws_signed_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_valid),
        cmocka_unit_test(test_env_precedence),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_sign_published_examples),
        cmocka_unit_test(test_sign_same_as_signer),
        cmocka_unit_test(test_sign_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
