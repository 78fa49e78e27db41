/* Unit tests: the S3 client (aws/s3.h).  First its pure parts (URLs, list queries, answers,
 * error mapping), then the client against the fake S3 (fakes/s3_fake.h), which recomputes every
 * signature: object operations, conditional writes, paged and delimited listings with keys
 * that need encoding, addressing styles, presigned URLs fetched without credentials. */
#include "testutil.h"

#include "aws/s3.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/http.h"
#include "fakes/s3_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_ID "AKIDS3TESTEXAMPLE"
#define SECRET "s3Test/Secret+Key/EXAMPLE/abcdefghij"

static void opts(struct s3_opts *o, const char *endpoint, enum s3_addressing a)
{
    s3_opts_default(o);
    o->region = "us-east-1";
    o->endpoint = endpoint;
    o->addressing = a;
}

/* s3_build_url's host and URL, or its error text. */
static void check_url(const struct s3_opts *o, const char *bucket, const char *key,
                      const char *query, const char *host, const char *url)
{
    struct s3_url u;
    s3_url_init(&u);
    struct diag d;
    diag_clear(&d);
    int err = s3_build_url(o, bucket, key, query, &u, &d);
    if (!host) {
        if (err != ERR_INVALID || !strstr(d.text, url))
            fail_msg("%s/%s: got %s '%s', want an error with '%s'", bucket, key ? key : "",
                     err_name(err), d.text, url);
    } else {
        if (err)
            fail_msg("%s/%s: %s", bucket, key ? key : "", d.text);
        assert_string_equal(u.host, host);
        assert_string_equal(buf_cstr(&u.url), url);
    }
    s3_url_release(&u);
}

static void test_urls(void **state)
{
    (void)state;
    struct s3_opts o;
    /* AWS: virtual-hosted when the bucket can be a host name, else path style. */
    opts(&o, NULL, S3_ADDRESSING_AUTO);
    check_url(&o, "screener-data", "bars/2024/2024-01-02/part-1.csv", NULL,
              "screener-data.s3.us-east-1.amazonaws.com",
              "https://screener-data.s3.us-east-1.amazonaws.com/bars/2024/2024-01-02/part-1.csv");
    check_url(&o, "my.dotted.bucket", "k", NULL, "s3.us-east-1.amazonaws.com",
              "https://s3.us-east-1.amazonaws.com/my.dotted.bucket/k");
    check_url(&o, "screener-data", NULL, "list-type=2&prefix=bars%2F",
              "screener-data.s3.us-east-1.amazonaws.com",
              "https://screener-data.s3.us-east-1.amazonaws.com/?list-type=2&prefix=bars%2F");
    /* Keys are encoded once, '/' and the unreserved characters kept. */
    check_url(&o, "b-1", "a b/c+d=e~f_g.h-i/\xC3\xBC%", NULL, "b-1.s3.us-east-1.amazonaws.com",
              "https://b-1.s3.us-east-1.amazonaws.com/a%20b/c%2Bd%3De~f_g.h-i/%C3%BC%25");
    o.region = "eu-central-1";
    o.addressing = S3_ADDRESSING_PATH;
    check_url(&o, "screener-data", "k", NULL, "s3.eu-central-1.amazonaws.com",
              "https://s3.eu-central-1.amazonaws.com/screener-data/k");
    /* A custom endpoint: path style unless asked otherwise. */
    opts(&o, "http://127.0.0.1:4568", S3_ADDRESSING_AUTO);
    check_url(&o, "test-bucket", "x/y.csv", NULL, "127.0.0.1:4568",
              "http://127.0.0.1:4568/test-bucket/x/y.csv");
    check_url(&o, "test-bucket", NULL, "list-type=2", "127.0.0.1:4568",
              "http://127.0.0.1:4568/test-bucket?list-type=2");
    opts(&o, "https://minio.example.com:9000/", S3_ADDRESSING_VIRTUAL);
    check_url(&o, "test-bucket", "k", NULL, "test-bucket.minio.example.com:9000",
              "https://test-bucket.minio.example.com:9000/k");
    /* Refusals. */
    check_url(&o, "a.b.c", "k", NULL, NULL, "cannot be addressed as a host name");
    check_url(&o, "Upper", "k", NULL, NULL, "'Upper' is not a valid S3 bucket name");
    check_url(&o, "test-bucket", "", NULL, NULL, "key is empty");
    opts(&o, "ftp://host", S3_ADDRESSING_AUTO);
    check_url(&o, "test-bucket", "k", NULL, NULL, "S3 endpoint 'ftp://host' is not a URL");
    opts(&o, "http://host/base/path", S3_ADDRESSING_AUTO);
    check_url(&o, "test-bucket", "k", NULL, NULL, "is not a URL of the form");
    opts(&o, "http://user@host", S3_ADDRESSING_AUTO);
    check_url(&o, "test-bucket", "k", NULL, NULL, "is not a URL of the form");
    opts(&o, NULL, S3_ADDRESSING_AUTO);
    o.region = "us east";
    check_url(&o, "test-bucket", "k", NULL, NULL, "'us east' is not an AWS region");
}

static void test_bucket_names(void **state)
{
    (void)state;
    assert_int_equal(s3_bucket_name_valid("screener-data"), 2);
    assert_int_equal(s3_bucket_name_valid("abc"), 2);
    assert_int_equal(s3_bucket_name_valid("my.bucket"), 1);
    assert_int_equal(s3_bucket_name_valid("ab"), 0);
    assert_int_equal(s3_bucket_name_valid(""), 0);
    assert_int_equal(s3_bucket_name_valid("-abc"), 0);
    assert_int_equal(s3_bucket_name_valid("abc-"), 0);
    assert_int_equal(s3_bucket_name_valid("a..b"), 0);
    assert_int_equal(s3_bucket_name_valid("ABC"), 0);
    assert_int_equal(s3_bucket_name_valid("a_b_c"), 0);
    assert_int_equal(s3_bucket_name_valid("192.168.5.4"), 0);
    char long_name[70];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_int_equal(s3_bucket_name_valid(long_name), 0);
    long_name[63] = '\0';
    assert_int_equal(s3_bucket_name_valid(long_name), 2);
}

static void test_list_query(void **state)
{
    (void)state;
    struct buf q = BUF_INIT(4096);
    struct diag d;
    struct s3_list_opts lo = {.prefix = "bars/2024 x/", .continuation_token = "1ue/Gcx+LP=="};
    assert_int_equal(s3_list_query(&lo, &q, &d), ERR_OK);
    /* Sorted as signed; the token's '/', '+' and '=' encoded (a raw '+' reads as a space). */
    assert_string_equal(buf_cstr(&q), "continuation-token=1ue%2FGcx%2BLP%3D%3D&encoding-type=url"
                                      "&list-type=2&prefix=bars%2F2024%20x%2F");
    buf_reset(&q);
    struct s3_list_opts all = {.delimiter = "/", .start_after = "a", .max_keys = 2};
    assert_int_equal(s3_list_query(&all, &q, &d), ERR_OK);
    assert_string_equal(buf_cstr(&q),
                        "delimiter=%2F&encoding-type=url&list-type=2&max-keys=2&start-after=a");
    struct s3_list_opts bad = {.max_keys = 1001};
    assert_int_equal(s3_list_query(&bad, &q, &d), ERR_INVALID);
    buf_release(&q);
}

static void test_parse_list(void **state)
{
    (void)state;
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>bars/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
        "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>1ue/+=</NextContinuationToken>"
        "<Contents><Key>bars/a%20b+c%2Bd.csv</Key><ETag>&quot;9b2c&quot;</ETag>"
        "<Size>48213</Size></Contents>"
        "<Contents><Key>bars/%C3%BC</Key><Size>0</Size></Contents>"
        "<CommonPrefixes><Prefix>bars/2025%2F/</Prefix></CommonPrefixes>"
        "</ListBucketResult>";
    struct s3_list_page p;
    s3_list_page_init(&p);
    struct diag d;
    assert_int_equal(s3_parse_list(body, strlen(body), &p, &d), ERR_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.objects[0].key, "bars/a b c+d.csv");
    assert_string_equal(p.objects[0].etag, "\"9b2c\"");
    assert_int_equal(p.objects[0].size, 48213);
    assert_string_equal(p.objects[1].key, "bars/\xC3\xBC");
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "1ue/+=");
    assert_int_equal(p.prefixes.n, 1);
    assert_string_equal(p.prefixes.v[0], "bars/2025//");

    /* Without EncodingType the keys are taken as they are (s3rver never encodes). */
    const char *plain = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                        "<Contents><Key>a%20b</Key></Contents></ListBucketResult>";
    assert_int_equal(s3_parse_list(plain, strlen(plain), &p, &d), ERR_OK);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.objects[0].key, "a%20b");
    assert_false(p.truncated);
    assert_string_equal(p.next_token, "");

    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
         "a truncated page needs a NextContinuationToken"},
        {"<ListBucketResult></ListBucketResult>", "IsTruncated is missing"},
        {"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
         "IsTruncated is neither"},
        {"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>"
         "</ListBucketResult>",
         "Contents 1 has no Key"},
        {"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
         "<Size>big</Size></Contents></ListBucketResult>",
         "the Size of 'k' is not a whole number"},
        {"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
         "<Contents><Key>a%zz</Key></Contents></ListBucketResult>",
         "has a Key that is not URL-encoded"},
        {"<Error><Code>x</Code></Error>", "expected <ListBucketResult>, got <Error>"},
        {"<ListBucketResult><IsTruncated>",
         "S3 list answer: xml: line 1, column 32: element 'IsTruncated' is not closed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag_clear(&d);
        int err = s3_parse_list(bad[i].body, strlen(bad[i].body), &p, &d);
        if (err != ERR_PARSE || !strstr(d.text, bad[i].msg))
            fail_msg("case %zu: got %s '%s', want '%s'", i, err_name(err), d.text, bad[i].msg);
        assert_int_equal(p.n, 0);
    }
    s3_list_page_release(&p);
}

static int code_of(long status, const char *body)
{
    struct s3_error e;
    s3_parse_error(status, body, strlen(body), "hdr-id", &e);
    return s3_error_code(&e);
}

static void test_errors(void **state)
{
    (void)state;
#define ERRDOC(code)                                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" code "</Code></Error>"
    assert_int_equal(code_of(404, ERRDOC("NoSuchKey")), ERR_NOTFOUND);
    assert_int_equal(code_of(404, ""), ERR_NOTFOUND); /* HEAD: no body */
    assert_int_equal(code_of(404, ERRDOC("NoSuchBucket")), ERR_AUTH);
    assert_int_equal(code_of(403, ERRDOC("SignatureDoesNotMatch")), ERR_AUTH);
    assert_int_equal(code_of(403, ERRDOC("RequestTimeTooSkewed")), ERR_AUTH);
    assert_int_equal(code_of(412, ERRDOC("PreconditionFailed")), ERR_PRECONDITION);
    assert_int_equal(code_of(409, ERRDOC("ConditionalRequestConflict")), ERR_CONFLICT);
    assert_int_equal(code_of(400, ERRDOC("EntityTooLarge")), ERR_TOOBIG);
    assert_int_equal(code_of(400, ERRDOC("RequestTimeout")), ERR_TIMEOUT);
    assert_int_equal(code_of(400, ERRDOC("InvalidArgument")), ERR_INVALID);
    assert_int_equal(code_of(503, ERRDOC("SlowDown")), ERR_UNAVAILABLE);
    assert_int_equal(code_of(500, "<html>oops</html>"), ERR_UNAVAILABLE);
    assert_int_equal(code_of(301, ERRDOC("PermanentRedirect")), ERR_INVALID);

    struct s3_error e;
    static const struct {
        long status;
        const char *body;
        int retry;
    } retry[] = {
        {409, ERRDOC("ConditionalRequestConflict"), 1},
        {409, ERRDOC("OperationAborted"), 1},
        {400, ERRDOC("RequestTimeout"), 1},
        {409, ERRDOC("BucketNotEmpty"), 0},
        {412, ERRDOC("PreconditionFailed"), 0},
        {403, ERRDOC("AccessDenied"), 0},
    };
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++) {
        s3_parse_error(retry[i].status, retry[i].body, strlen(retry[i].body), NULL, &e);
        assert_int_equal(s3_error_retryable(&e), retry[i].retry);
    }

    /* The message: what was asked, status, code, S3's words, request id; and nothing of the
     * request that SignatureDoesNotMatch echoes (the session token is in the canonical
     * request). */
    const char *sig = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
                      "<Code>SignatureDoesNotMatch</Code><Message>The request signature we "
                      "calculated does not match</Message><AWSAccessKeyId>AKID</AWSAccessKeyId>"
                      "<StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
                      "<SignatureProvided>abc123</SignatureProvided>"
                      "<CanonicalRequest>GET\n/k\n\nx-amz-security-token:SECRETTOKEN\n"
                      "</CanonicalRequest><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    s3_parse_error(403, sig, strlen(sig), "other-id", &e);
    struct diag d;
    assert_int_equal(s3_error_diag(s3_error_code(&e), "GET", "b", "bars/x.csv", &e, &d), ERR_AUTH);
    assert_string_equal(d.text, "S3 GET s3://b/bars/x.csv: HTTP 403 SignatureDoesNotMatch: The "
                                "request signature we calculated does not match (request id "
                                "4442587FB7D0A2F9)");
    assert_null(strstr(d.text, "SECRETTOKEN"));
    assert_null(strstr(d.text, "abc123"));
    /* A key other than the one asked for is named; a body-less answer says what the status
     * means; the header's request id stands in for the body's. */
    const char *nsk = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                      "</Message><Key>p/bars/x.csv</Key></Error>";
    s3_parse_error(404, nsk, strlen(nsk), "hdr-id", &e);
    s3_error_diag(ERR_NOTFOUND, "GET", "b", "bars/x.csv", &e, &d);
    assert_string_equal(d.text, "S3 GET s3://b/bars/x.csv: HTTP 404 NoSuchKey: The specified key "
                                "does not exist. (key 'p/bars/x.csv', request id hdr-id)");
    s3_parse_error(404, "", 0, NULL, &e);
    s3_error_diag(ERR_NOTFOUND, "HEAD", "b", "k", &e, &d);
    assert_string_equal(d.text, "S3 HEAD s3://b/k: HTTP 404 not found");
    /* Control characters from the server are shown escaped. */
    const char *ctl = "<Error><Code>X</Code><Message>a&#9;b\nc&#127;</Message></Error>";
    s3_parse_error(400, ctl, strlen(ctl), NULL, &e);
    assert_string_equal(e.message, "a\\x09b\\x0ac\\x7f");
#undef ERRDOC
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(s3_content_type("bars/2024/x.csv"), "text/csv");
    assert_string_equal(s3_content_type("universe/symbols.txt"), "text/plain; charset=utf-8");
    assert_string_equal(s3_content_type("a.JSON"), "application/json");
    assert_string_equal(s3_content_type("results/report/latest.html"), "text/html; charset=utf-8");
    assert_string_equal(s3_content_type("chart.png"), "image/png");
    assert_string_equal(s3_content_type("a.csv/b"), "application/octet-stream");
    assert_string_equal(s3_content_type("noext"), "application/octet-stream");
}

/* ---- the client against the fake ---- */

static struct s3_fake *fake;
static int port;

static int group_setup(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct s3_fake_opts o;
    s3_fake_opts_default(&o);
    static const char *const buckets[] = {"client-test"};
    o.buckets = buckets;
    o.nbuckets = 1;
    o.access_key_id = KEY_ID;
    o.secret_access_key = SECRET;
    o.max_keys = 2;
    struct diag d;
    if (s3_fake_start(&o, &fake, &port, &d) != ERR_OK) {
        fprintf(stderr, "cannot start the fake S3: %s\n", d.text);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    s3_fake_stop(fake);
    return 0;
}

static struct s3 *client(const char *host, enum s3_addressing a, const char *secret)
{
    static char ep[64];
    snprintf(ep, sizeof ep, "http://%s:%d", host, port);
    struct s3_opts o;
    opts(&o, ep, a);
    o.creds = (struct sigv4_creds){KEY_ID, secret, NULL};
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    struct s3 *s;
    struct diag d;
    if (s3_new(&o, &s, &d) != ERR_OK)
        fail_msg("s3_new: %s", d.text);
    return s;
}

static void test_objects(void **state)
{
    (void)state;
    struct s3 *s = client("127.0.0.1", S3_ADDRESSING_AUTO, SECRET);
    struct diag d;
    char etag[S3_ETAG_MAX], etag2[S3_ETAG_MAX];
    const char *key = "objects/a b+c.csv";
    assert_int_equal(s3_put_object(s, "client-test", key, "one", 3, NULL, etag, &d), ERR_OK);
    assert_true(etag[0] == '"' && strlen(etag) == 34);
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(s3_get_object(s, "client-test", key, &b, etag2, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "one");
    assert_string_equal(etag, etag2);
    assert_int_equal(s3_head_object(s, "client-test", key, etag2, &d), ERR_OK);
    assert_string_equal(etag, etag2);
    /* The content type follows the key. */
    struct buf direct = BUF_INIT(64);
    assert_int_equal(s3_fake_get_object(fake, "client-test", key, &direct, NULL, 0), ERR_OK);
    buf_release(&direct);

    /* Create-if-absent: refused when the key is there. */
    struct s3_put_opts create = {.cond = S3_PUT_IF_NONE_MATCH};
    assert_int_equal(s3_put_object(s, "client-test", key, "two", 3, &create, NULL, &d), ERR_EXISTS);
    assert_non_null(strstr(d.text, "HTTP 412 PreconditionFailed"));
    assert_int_equal(s3_put_object(s, "client-test", "objects/new", "", 0, &create, NULL, &d),
                     ERR_OK);
    /* Replace-if-unchanged: the right ETag wins once, a stale one is refused, a missing key is
     * not found. */
    struct s3_put_opts match = {.cond = S3_PUT_IF_MATCH, .if_match = etag};
    assert_int_equal(s3_put_object(s, "client-test", key, "uno", 3, &match, etag2, &d), ERR_OK);
    assert_int_equal(s3_put_object(s, "client-test", key, "eins", 4, &match, NULL, &d),
                     ERR_PRECONDITION);
    assert_int_equal(s3_put_object(s, "client-test", "objects/none", "1", 1, &match, NULL, &d),
                     ERR_NOTFOUND);
    struct s3_put_opts nomatch = {.cond = S3_PUT_IF_MATCH};
    assert_int_equal(s3_put_object(s, "client-test", key, "x", 1, &nomatch, NULL, &d), ERR_USAGE);
    buf_reset(&b);
    assert_int_equal(s3_get_object(s, "client-test", key, &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "uno");

    /* The reader's cap holds; an empty object is an empty buffer. */
    struct buf tiny = BUF_INIT(2);
    assert_int_equal(s3_get_object(s, "client-test", key, &tiny, NULL, &d), ERR_TOOBIG);
    buf_release(&tiny);
    buf_reset(&b);
    assert_int_equal(s3_get_object(s, "client-test", "objects/new", &b, NULL, &d), ERR_OK);
    assert_int_equal(b.len, 0);

    /* Delete: 204 whether or not it existed; then it is gone. */
    assert_int_equal(s3_delete_object(s, "client-test", key, &d), ERR_OK);
    assert_int_equal(s3_delete_object(s, "client-test", key, &d), ERR_OK);
    assert_int_equal(s3_head_object(s, "client-test", key, NULL, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "S3 HEAD s3://client-test/objects/a b+c.csv: HTTP 404 not found "
                                   "(request id FAKE"));
    assert_int_equal(s3_get_object(s, "client-test", key, &b, NULL, &d), ERR_NOTFOUND);
    buf_release(&b);
    s3_free(s);
}

static void test_listing(void **state)
{
    (void)state;
    struct s3 *s = client("127.0.0.1", S3_ADDRESSING_PATH, SECRET);
    struct diag d;
    static const char *const keys[] = {
        "list/a.csv", "list/b b.csv", "list/c+c.csv",       "list/d/1",
        "list/d/2",   "list/e/1",     "list/f\xC3\xBC.csv", "lisz",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(s3_put_object(s, "client-test", keys[i], "x", 1, NULL, NULL, &d), ERR_OK);
    /* Pages of two keys (the fake's cap): four pages, the tokens sent back encoded. */
    struct s3_list_page p;
    s3_list_page_init(&p);
    char token[S3_TOKEN_MAX] = "";
    size_t seen = 0, pages = 0;
    do {
        struct s3_list_opts lo = {.prefix = "list/", .continuation_token = token};
        if (s3_list_objects(s, "client-test", &lo, &p, &d) != ERR_OK)
            fail_msg("page %zu: %s", pages, d.text);
        for (size_t i = 0; i < p.n; i++)
            assert_string_equal(p.objects[i].key, keys[seen++]);
        snprintf(token, sizeof token, "%s", p.next_token);
        pages++;
    } while (p.truncated);
    assert_int_equal(seen, 7);
    assert_int_equal(pages, 4);
    /* With a delimiter, "directories" are common prefixes, each counted once. */
    struct s3_list_opts lo = {.prefix = "list/", .delimiter = "/", .max_keys = 1000};
    size_t objects = 0;
    struct strvec prefixes = STRVEC_INIT;
    token[0] = '\0';
    do {
        lo.continuation_token = token;
        assert_int_equal(s3_list_objects(s, "client-test", &lo, &p, &d), ERR_OK);
        objects += p.n;
        for (size_t i = 0; i < p.prefixes.n; i++)
            strvec_push(&prefixes, p.prefixes.v[i]);
        snprintf(token, sizeof token, "%s", p.next_token);
    } while (p.truncated);
    assert_int_equal(objects, 4);
    assert_int_equal(prefixes.n, 2);
    assert_string_equal(prefixes.v[0], "list/d/");
    assert_string_equal(prefixes.v[1], "list/e/");
    strvec_release(&prefixes);
    /* start-after; a token the server never gave is refused. */
    struct s3_list_opts after = {.prefix = "list/", .start_after = "list/d/2"};
    assert_int_equal(s3_list_objects(s, "client-test", &after, &p, &d), ERR_OK);
    assert_string_equal(p.objects[0].key, "list/e/1");
    struct s3_list_opts forged = {.prefix = "list/", .continuation_token = "not-a-token"};
    assert_int_equal(s3_list_objects(s, "client-test", &forged, &p, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "The continuation token provided is incorrect"));
    s3_list_page_release(&p);
    s3_free(s);
}

static void test_virtual_hosted(void **state)
{
    (void)state;
    /* curl resolves *.localhost to the loopback address, so the bucket can be a host name. */
    struct s3 *s = client("localhost", S3_ADDRESSING_VIRTUAL, SECRET);
    struct diag d;
    struct s3_fake_stats before, after;
    s3_fake_get_stats(fake, &before);
    assert_int_equal(s3_put_object(s, "client-test", "vhost/k", "v", 1, NULL, NULL, &d), ERR_OK);
    struct buf b = BUF_INIT(16);
    assert_int_equal(s3_get_object(s, "client-test", "vhost/k", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "v");
    struct s3_list_page p;
    s3_list_page_init(&p);
    struct s3_list_opts lo = {.prefix = "vhost/"};
    assert_int_equal(s3_list_objects(s, "client-test", &lo, &p, &d), ERR_OK);
    assert_int_equal(p.n, 1);
    s3_list_page_release(&p);
    s3_fake_get_stats(fake, &after);
    assert_int_equal(after.signature_mismatches, before.signature_mismatches);
    buf_release(&b);
    s3_free(s);
}

static void test_wrong_secret(void **state)
{
    (void)state;
    struct s3 *s = client("127.0.0.1", S3_ADDRESSING_AUTO, "not/the/right/secret/EXAMPLE");
    struct diag d;
    assert_int_equal(s3_put_object(s, "client-test", "k", "v", 1, NULL, NULL, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "HTTP 403 SignatureDoesNotMatch"));
    assert_null(strstr(d.text, "not/the/right"));
    s3_free(s);
}

/* GET url with no credentials at all; the status. */
static long plain_get(const char *url, struct buf *body)
{
    struct http_client *h;
    struct diag d;
    assert_int_equal(http_client_new(NULL, &h, &d), ERR_OK);
    struct http_request req = {.url = url};
    struct http_response resp;
    assert_int_equal(http_do(h, &req, &resp, &d), ERR_OK);
    buf_reset(body);
    buf_append(body, resp.body.data ? resp.body.data : "", resp.body.len);
    long status = resp.status;
    http_response_release(&resp);
    http_client_free(h);
    return status;
}

static void test_presign(void **state)
{
    (void)state;
    struct s3 *s = client("127.0.0.1", S3_ADDRESSING_AUTO, SECRET);
    struct diag d;
    assert_int_equal(
        s3_put_object(s, "client-test", "presign/a b.csv", "shared", 6, NULL, NULL, &d), ERR_OK);
    struct buf url = BUF_INIT(8192), body = BUF_INIT(1 << 16);
    assert_int_equal(s3_presign_get(s, "client-test", "presign/a b.csv", 0, 0, &url, &d), ERR_OK);
    assert_non_null(strstr(buf_cstr(&url), "/client-test/presign/a%20b.csv?X-Amz-Algorithm="
                                           "AWS4-HMAC-SHA256&X-Amz-Credential=" KEY_ID "%2F"));
    assert_non_null(strstr(buf_cstr(&url), "&X-Amz-Expires=3600&"));
    assert_null(strstr(buf_cstr(&url), SECRET));
    assert_int_equal(plain_get(buf_cstr(&url), &body), 200);
    assert_string_equal(buf_cstr(&body), "shared");
    /* An hour and a second later it is refused. */
    s3_fake_advance(fake, 3601);
    assert_int_equal(plain_get(buf_cstr(&url), &body), 403);
    assert_non_null(strstr(buf_cstr(&body), "<Message>Request has expired</Message>"));
    /* Signed in the past: expired at once; a tampered URL does not match. */
    buf_reset(&url);
    int64_t now = clock_wall_ms() / 1000 + 3601;
    assert_int_equal(s3_presign_get(s, "client-test", "presign/a b.csv", 60, now - 120, &url, &d),
                     ERR_OK);
    assert_int_equal(plain_get(buf_cstr(&url), &body), 403);
    assert_non_null(strstr(buf_cstr(&body), "Request has expired"));
    buf_reset(&url);
    assert_int_equal(s3_presign_get(s, "client-test", "presign/a b.csv", 600, now, &url, &d),
                     ERR_OK);
    assert_int_equal(plain_get(buf_cstr(&url), &body), 200);
    char *tampered = strstr(url.data, "X-Amz-Expires=600");
    tampered[strlen("X-Amz-Expires=60")] = '1';
    assert_int_equal(plain_get(buf_cstr(&url), &body), 403);
    assert_non_null(strstr(buf_cstr(&body), "<Code>SignatureDoesNotMatch</Code>"));
    /* The expiry's bounds. */
    buf_reset(&url);
    assert_int_equal(s3_presign_get(s, "client-test", "k", 604800, 0, &url, &d), ERR_OK);
    assert_int_equal(s3_presign_get(s, "client-test", "k", 604801, 0, &url, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "1 to 604800 seconds"));
    assert_int_equal(s3_presign_get(s, "client-test", "k", -1, 0, &url, &d), ERR_INVALID);
    buf_release(&url);
    buf_release(&body);
    s3_free(s);
}

static void test_new_refuses(void **state)
{
    (void)state;
    struct s3_opts o;
    opts(&o, NULL, S3_ADDRESSING_AUTO);
    struct s3 *s;
    struct diag d;
    assert_int_equal(s3_new(&o, &s, &d), ERR_AUTH);
    assert_string_equal(d.text, "S3: no AWS credentials given");
    o.creds = (struct sigv4_creds){KEY_ID, SECRET, NULL};
    o.region = NULL;
    assert_int_equal(s3_new(&o, &s, &d), ERR_INVALID);
    o.region = "us-east-1";
    o.endpoint = "localhost:9000";
    assert_int_equal(s3_new(&o, &s, &d), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_urls),        cmocka_unit_test(test_bucket_names),
        cmocka_unit_test(test_list_query),  cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_new_refuses),
    };
    const struct CMUnitTest against_fake[] = {
        cmocka_unit_test(test_objects),        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_virtual_hosted), cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_presign),
    };
    int failed = cmocka_run_group_tests_name("s3", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("s3 client", against_fake, group_setup, group_teardown);
    return failed;
}
