/* Unit tests: SSM Parameter Store - the wire format (request body, answers, errors), the
 * client against the fake SSM served in-process on an ephemeral port (batches, missing and
 * denied names, throttling, 5xx, signatures refused), the fake's own checks, and the
 * product's secrets resolved from the environment and the fake.  Time is injected: retries
 * never sleep for real. */
#include "testutil.h"

#include "aws/secrets.h"
#include "aws/sigv4.h"
#include "aws/ssm.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "net/httpd.h"
#include "fakes/ssm_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_ID "AKIDSSMTEST"
#define SECRET "ssm/test/secret/key+42"

/* ---- the fake clock: wall time stands still, sleeping advances it ---- */

static int64_t fake_now_ms;
static int64_t slept_ms;

static int64_t fake_wall(void *ctx)
{
    return fake_now_ms;
}

static int64_t fake_mono(void *ctx)
{
    return fake_now_ms * 1000;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    fake_now_ms += ms;
    slept_ms += ms;
}

static const struct clock_source fake_clock = {fake_wall, fake_mono, fake_sleep, NULL};

static void reset_clock(void)
{
    int32_t day;
    assert_int_equal(date_parse("2026-01-01", 10, &day), ERR_OK);
    fake_now_ms = (int64_t)day * 86400000 + 12 * 3600000;
    slept_ms = 0;
}

/* ---- wire format ---- */

static void test_request_body(void **state)
{
    struct buf b = BUF_INIT(1 << 16);
    struct diag d;
    const char *names[] = {"/screener/alpaca/api_key", "/a\"b\\c"};
    assert_int_equal(ssm_get_parameters_body(names, 2, &b, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "{\"Names\":[\"/screener/alpaca/api_key\",\"/a\\\"b\\\\c\"],"
                                      "\"WithDecryption\":true}");
    buf_reset(&b);
    assert_int_equal(ssm_get_parameters_body(names, 0, &b, &d), ERR_INVALID);
    const char *eleven[11];
    for (int i = 0; i < 11; i++)
        eleven[i] = "/x";
    assert_int_equal(ssm_get_parameters_body(eleven, 11, &b, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "1 to 10 names"));
    assert_int_equal(ssm_get_parameters_body(eleven, 10, &b, &d), ERR_OK);
    const char *empty[] = {"/ok", ""};
    buf_reset(&b);
    assert_int_equal(ssm_get_parameters_body(empty, 2, &b, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "empty"));
    buf_release(&b);
}

static const char good_answer[] =
    "{\"InvalidParameters\":[\"/screener/telegram/bot_token\"],\"Parameters\":["
    "{\"ARN\":\"arn:aws:ssm:us-east-1:123456789012:parameter/screener/alpaca/api_key\","
    "\"DataType\":\"text\",\"LastModifiedDate\":1.767225600123E9,"
    "\"Name\":\"/screener/alpaca/api_key\",\"Type\":\"SecureString\",\"Value\":\"PKVALUE123\","
    "\"Version\":3},"
    "{\"Name\":\"/screener/config/environment\",\"Type\":\"String\",\"Value\":\"prod\","
    "\"Version\":1,\"Selector\":null}]}";

static void test_parse_answer(void **state)
{
    struct ssm_result r = {0};
    struct diag d;
    assert_int_equal(ssm_parse_get_parameters(good_answer, strlen(good_answer), &r, &d), ERR_OK);
    assert_int_equal(r.nparams, 2);
    assert_int_equal(r.nmissing, 1);
    const struct ssm_param *p = ssm_result_find(&r, "/screener/alpaca/api_key");
    assert_non_null(p);
    assert_string_equal(p->value, "PKVALUE123");
    assert_string_equal(p->type, "SecureString");
    assert_int_equal(p->version, 3);
    assert_string_equal(ssm_result_find(&r, "/screener/config/environment")->value, "prod");
    assert_true(ssm_result_is_missing(&r, "/screener/telegram/bot_token"));
    assert_false(ssm_result_is_missing(&r, "/screener/alpaca/api_key"));
    assert_null(ssm_result_find(&r, "/nope"));
    /* A second answer is appended. */
    const char *more = "{\"Parameters\":[],\"InvalidParameters\":[\"/b\"]}";
    assert_int_equal(ssm_parse_get_parameters(more, strlen(more), &r, &d), ERR_OK);
    assert_int_equal(r.nmissing, 2);
    /* Both lists may be absent. */
    assert_int_equal(ssm_parse_get_parameters("{}", 2, &r, &d), ERR_OK);
    ssm_result_release(&r);
    assert_int_equal(r.nparams, 0);
    assert_null(r.params);
}

static void expect_parse_error(const char *body, const char *needle)
{
    struct ssm_result r = {0};
    struct diag d;
    diag_clear(&d);
    int err = ssm_parse_get_parameters(body, strlen(body), &r, &d);
    if (err != ERR_PARSE)
        fail_msg("'%s' parsed with %s", body, err_name(err));
    if (!strstr(d.text, needle))
        fail_msg("'%s': diagnostic '%s' lacks '%s'", body, d.text, needle);
    /* Values never appear in a diagnostic: every test value below holds "SECRET". */
    if (strstr(d.text, "SECRET"))
        fail_msg("'%s': diagnostic '%s' quotes a value", body, d.text);
    assert_int_equal(r.nparams + r.nmissing, 0);
}

static void test_parse_answer_errors(void **state)
{
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET-1", "line 1");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET\xff\"}]}",
                       "invalid JSON");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":SECRET}]}", "invalid JSON");
    expect_parse_error("[]", "expected an object");
    expect_parse_error("{\"Parameters\":{}}", "must be arrays");
    expect_parse_error("{\"InvalidParameters\":\"/a\"}", "must be arrays");
    expect_parse_error("{\"Parameters\":[1]}", "Parameters[0] is number");
    expect_parse_error("{\"Parameters\":[{\"Value\":\"SECRET\"}]}", "Parameters[0] has no Name");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"\",\"Value\":\"SECRET\"}]}", "no Name");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\"}]}", "'/a' has no string Value");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":7}]}", "no string Value");
    expect_parse_error(
        "{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET\",\"Type\":\"Blob\"}]}",
        "'/a' has a Type");
    expect_parse_error(
        "{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET\",\"Version\":\"3\"}]}", "Version");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET\",\"Version\":-1}]}",
                       "Version");
    expect_parse_error("{\"Parameters\":[{\"Name\":\"/a\",\"Value\":\"SECRET\"},2]}",
                       "Parameters[1]");
    expect_parse_error("{\"InvalidParameters\":[\"/a\",null]}", "InvalidParameters[1]");
    expect_parse_error("{\"Parameters\":[],\"Parameters\":[]}", "invalid JSON");
    /* A failed parse leaves what was there. */
    struct ssm_result r = {0};
    struct diag d;
    assert_int_equal(ssm_parse_get_parameters(good_answer, strlen(good_answer), &r, &d), ERR_OK);
    const char *bad = "{\"Parameters\":[{\"Name\":\"/z\",\"Value\":\"v\"},{}]}";
    assert_int_equal(ssm_parse_get_parameters(bad, strlen(bad), &r, &d), ERR_PARSE);
    assert_int_equal(r.nparams, 2);
    ssm_result_release(&r);
}

static void test_parse_error_body(void **state)
{
    char type[64], msg[64];
    const char *b = "{\"__type\":\"ParameterNotFound\",\"message\":\"Parameter /a not found.\"}";
    assert_int_equal(ssm_parse_error(b, strlen(b), type, sizeof type, msg, sizeof msg), ERR_OK);
    assert_string_equal(type, "ParameterNotFound");
    assert_string_equal(msg, "Parameter /a not found.");
    b = "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
        "\"Message\":\"The security token\\nis invalid.\"}";
    assert_int_equal(ssm_parse_error(b, strlen(b), type, sizeof type, msg, sizeof msg), ERR_OK);
    assert_string_equal(type, "UnrecognizedClientException");
    assert_string_equal(msg, "The security token is invalid.");
    b = "{\"__type\":\"com.amazon.coral.validate#ValidationException:http://internal.amazon.com/"
        "coral/com.amazon.coral.validate/\"}";
    assert_int_equal(ssm_parse_error(b, strlen(b), type, sizeof type, msg, sizeof msg), ERR_OK);
    assert_string_equal(type, "ValidationException");
    assert_string_equal(msg, "");
    b = "{\"__type\":\"AccessDeniedException\",\"message\":\"" /* cut to fit */
        "User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized\"}";
    assert_int_equal(ssm_parse_error(b, strlen(b), type, sizeof type, msg, sizeof msg), ERR_OK);
    assert_int_equal(strlen(msg), sizeof msg - 1);
    assert_string_equal(msg + sizeof msg - 4, "...");
    assert_int_equal(ssm_parse_error("<html>", 6, type, sizeof type, msg, sizeof msg), ERR_PARSE);
    assert_string_equal(type, "");
    assert_int_equal(ssm_parse_error("{\"message\":\"x\"}", 15, type, sizeof type, NULL, 0),
                     ERR_PARSE);
    assert_int_equal(ssm_parse_error("{\"__type\":\"a#\"}", 15, type, sizeof type, NULL, 0),
                     ERR_PARSE);
}

static void test_error_codes(void **state)
{
    assert_int_equal(ssm_error_code(400, "ParameterNotFound"), ERR_NOTFOUND);
    assert_int_equal(ssm_error_code(400, "ParameterVersionNotFound"), ERR_NOTFOUND);
    assert_int_equal(ssm_error_code(400, "AccessDeniedException"), ERR_AUTH);
    assert_int_equal(ssm_error_code(400, "InvalidSignatureException"), ERR_AUTH);
    assert_int_equal(ssm_error_code(400, "UnrecognizedClientException"), ERR_AUTH);
    assert_int_equal(ssm_error_code(400, "ExpiredTokenException"), ERR_AUTH);
    assert_int_equal(ssm_error_code(403, "MissingAuthenticationTokenException"), ERR_AUTH);
    assert_int_equal(ssm_error_code(403, ""), ERR_AUTH);
    assert_int_equal(ssm_error_code(400, "ThrottlingException"), ERR_RATELIMIT);
    assert_int_equal(ssm_error_code(429, ""), ERR_RATELIMIT);
    assert_int_equal(ssm_error_code(500, "InternalServerError"), ERR_UNAVAILABLE);
    assert_int_equal(ssm_error_code(503, ""), ERR_UNAVAILABLE);
    assert_int_equal(ssm_error_code(400, "ValidationException"), ERR_INVALID);
    assert_int_equal(ssm_error_code(400, "InvalidKeyId"), ERR_INVALID);
    assert_true(ssm_error_retryable(400, "ThrottlingException"));
    assert_true(ssm_error_retryable(502, ""));
    assert_false(ssm_error_retryable(400, "AccessDeniedException"));
    assert_false(ssm_error_retryable(400, "ParameterNotFound"));
}

static void test_endpoint_for_region(void **state)
{
    struct buf b = BUF_INIT(256);
    struct diag d;
    assert_int_equal(ssm_endpoint_for_region("eu-west-2", &b, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "https://ssm.eu-west-2.amazonaws.com");
    assert_int_equal(ssm_endpoint_for_region("", &b, &d), ERR_INVALID);
    assert_int_equal(ssm_endpoint_for_region("evil.com/x", &b, &d), ERR_INVALID);
    assert_int_equal(ssm_endpoint_for_region(NULL, &b, &d), ERR_INVALID);
    buf_release(&b);
}

/* ---- the client against the fake ---- */

static const struct ssm_fake_param base_params[] = {
    {"/screener/alpaca/api_key", "PK-FAKE-VALUE-001", "SecureString", 2},
    {"/screener/alpaca/secret_key", "SK-FAKE-VALUE-002", "SecureString", 1},
    {"/screener/config/environment", "staging", "String", 0},
    {"/list", "a,b,c", "StringList", 0},
};

static void fake_opts(struct ssm_fake_opts *o)
{
    ssm_fake_opts_default(o);
    o->key_id = KEY_ID;
    o->secret = SECRET;
    o->params = base_params;
    o->nparams = sizeof base_params / sizeof base_params[0];
}

struct served {
    struct ssm_fake *fake;
    char url[64];
};

static void serve(const struct ssm_fake_opts *o, struct served *s)
{
    struct diag d;
    int port;
    if (ssm_fake_start(o, &s->fake, &port, &d) != ERR_OK)
        fail_msg("ssm_fake_start: %s", d.text);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
}

static void client_opts(struct ssm_opts *o, const struct served *s)
{
    ssm_opts_default(o);
    o->endpoint = s->url;
    o->region = "us-east-1";
    o->creds.access_key_id = KEY_ID;
    o->creds.secret_access_key = SECRET;
    o->backoff_base_ms = 100;
}

static void test_client_batches(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    struct served s;
    serve(&fo, &s);
    struct ssm_opts o;
    client_opts(&o, &s);
    /* 12 names: 10 + 2 in two calls; 9 do not exist. */
    char extra[9][32];
    const char *names[12] = {"/screener/alpaca/api_key", "/screener/alpaca/secret_key"};
    for (int i = 0; i < 9; i++) {
        snprintf(extra[i], sizeof extra[i], "/missing/%d", i);
        names[2 + i] = extra[i];
    }
    names[11] = "/list";
    struct ssm_result r = {0};
    struct diag d;
    int err = ssm_get_parameters(&o, names, 12, &r, &d);
    if (err)
        fail_msg("ssm_get_parameters: %s", d.text);
    assert_int_equal(r.nparams, 3);
    assert_int_equal(r.nmissing, 9);
    assert_string_equal(ssm_result_find(&r, "/screener/alpaca/api_key")->value,
                        "PK-FAKE-VALUE-001");
    assert_int_equal(ssm_result_find(&r, "/screener/alpaca/api_key")->version, 2);
    assert_string_equal(ssm_result_find(&r, "/list")->type, "StringList");
    assert_string_equal(ssm_result_find(&r, "/list")->value, "a,b,c");
    for (int i = 0; i < 9; i++)
        assert_true(ssm_result_is_missing(&r, extra[i]));

    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.get_parameters, 2);
    assert_int_equal(st.names, 12);
    assert_int_equal(st.auth_failures, 0);
    assert_int_equal(ssm_fake_ncalls(s.fake), 2);
    char op[32], got[1024];
    size_t sizes[2] = {0};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ssm_fake_call(s.fake, i, op, sizeof op, got, sizeof got), ERR_OK);
        assert_string_equal(op, "GetParameters");
        sizes[i] = 1;
        for (const char *p = got; *p; p++)
            sizes[i] += *p == ',';
    }
    /* Concurrent calls: either may arrive first. */
    assert_true((sizes[0] == 10 && sizes[1] == 2) || (sizes[0] == 2 && sizes[1] == 10));
    ssm_result_release(&r);
    ssm_fake_stop(s.fake);
}

static void test_client_denied(void **state)
{
    reset_clock();
    FILE *logf = tmpfile();
    assert_non_null(logf);
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    const char *deny[] = {"/screener/alpaca/secret_key"};
    fo.deny = deny;
    fo.ndeny = 1;
    struct served s;
    serve(&fo, &s);
    /* The fake registered its values; forget them, so that a value written anywhere would
     * show in the log instead of being redacted. */
    log_clear_secrets();
    log_set_stream(logf);
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    struct ssm_opts o;
    client_opts(&o, &s);
    const char *names[] = {"/screener/alpaca/api_key", "/screener/alpaca/secret_key"};
    struct ssm_result r = {0};
    struct diag d;
    assert_int_equal(ssm_get_parameters(&o, names, 2, &r, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "/screener/alpaca/secret_key"));
    assert_non_null(strstr(d.text, "AccessDeniedException"));
    assert_null(strstr(d.text, "FAKE-VALUE"));
    assert_int_equal(r.nparams, 0);
    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.get_parameters, 1); /* not retried */
    assert_int_equal(st.denied, 1);

    /* The same names without the denied one: the values come, and are logged nowhere. */
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_OK);
    log_write(LOG_INFO, __func__, "after", (const struct log_field[]){LF_END_});
    log_set_stream(NULL);
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    fflush(logf);
    long size = ftell(logf);
    rewind(logf);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, logf), (size_t)size);
    assert_non_null(strstr(text, "after"));
    assert_null(strstr(text, "FAKE-VALUE"));
    assert_null(strstr(text, SECRET));
    free(text);
    fclose(logf);
    ssm_result_release(&r);
    ssm_fake_stop(s.fake);
}

static void test_client_throttled_then_ok(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    fo.throttle = 2;
    fo.fail500 = 1;
    struct served s;
    serve(&fo, &s);
    struct ssm_opts o;
    client_opts(&o, &s);
    const char *names[] = {"/screener/config/environment"};
    struct ssm_result r = {0};
    struct diag d;
    int err = ssm_get_parameters(&o, names, 1, &r, &d);
    if (err)
        fail_msg("ssm_get_parameters: %s", d.text);
    assert_string_equal(ssm_result_find(&r, names[0])->value, "staging");
    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.throttled, 2);
    assert_int_equal(st.server_errors, 1);
    assert_int_equal(st.get_parameters, 4);
    assert_int_equal(st.auth_failures, 0); /* every attempt re-signed or still in time */
    assert_true(slept_ms >= 100);          /* backed off, on the injected clock */
    ssm_result_release(&r);
    ssm_fake_stop(s.fake);
}

static void test_client_throttled_out(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    fo.throttle = 100;
    struct served s;
    serve(&fo, &s);
    struct ssm_opts o;
    client_opts(&o, &s);
    o.max_retries = 2;
    const char *names[] = {"/screener/config/environment"};
    struct ssm_result r = {0};
    struct diag d;
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_RATELIMIT);
    assert_non_null(strstr(d.text, "ThrottlingException"));
    assert_non_null(strstr(d.text, "/screener/config/environment"));
    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.throttled, 3);
    ssm_result_release(&r);
    ssm_fake_stop(s.fake);
}

static void expect_refused(const struct served *s, const struct ssm_opts *o, int want,
                           const char *type)
{
    const char *names[] = {"/screener/alpaca/api_key"};
    struct ssm_result r = {0};
    struct diag d;
    int err = ssm_get_parameters(o, names, 1, &r, &d);
    if (err != want || !strstr(d.text, type))
        fail_msg("got %s '%s', want %s with %s", err_name(err), d.text, err_name(want), type);
    assert_null(strstr(d.text, "FAKE-VALUE"));
    assert_null(strstr(d.text, SECRET));
    assert_int_equal(r.nparams, 0);
}

static void test_client_signature_refused(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    struct served s;
    serve(&fo, &s);
    struct ssm_opts o;
    client_opts(&o, &s);
    o.creds.secret_access_key = "not-the-secret";
    expect_refused(&s, &o, ERR_AUTH, "InvalidSignatureException");
    client_opts(&o, &s);
    o.creds.access_key_id = "AKIDOTHER";
    expect_refused(&s, &o, ERR_AUTH, "UnrecognizedClientException");
    client_opts(&o, &s);
    o.region = "eu-west-1";
    expect_refused(&s, &o, ERR_AUTH, "InvalidSignatureException");
    client_opts(&o, &s);
    o.creds.session_token = "unexpected-token";
    expect_refused(&s, &o, ERR_AUTH, "UnrecognizedClientException");
    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.auth_failures, 4);
    assert_int_equal(st.get_parameters, 0);
    ssm_fake_stop(s.fake);

    /* Temporary credentials: the token is sent and signed. */
    fo.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
    serve(&fo, &s);
    client_opts(&o, &s);
    expect_refused(&s, &o, ERR_AUTH, "UnrecognizedClientException");
    o.creds.session_token = "FwoGZXIvYXdzEXAMPLETOKEN";
    const char *names[] = {"/screener/alpaca/api_key"};
    struct ssm_result r = {0};
    struct diag d;
    int err = ssm_get_parameters(&o, names, 1, &r, &d);
    if (err)
        fail_msg("with the session token: %s", d.text);
    assert_int_equal(r.nparams, 1);
    ssm_result_release(&r);
    ssm_fake_stop(s.fake);
}

static void test_client_bad_options(void **state)
{
    struct ssm_opts o;
    ssm_opts_default(&o);
    o.region = "us-east-1";
    o.creds.access_key_id = KEY_ID;
    o.creds.secret_access_key = SECRET;
    const char *names[] = {"/a"};
    struct ssm_result r = {0};
    struct diag d;
    o.endpoint = "ftp://example.com";
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_INVALID);
    o.endpoint = "http://user:pa55word@example.com/";
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_INVALID);
    assert_null(strstr(d.text, "pa55word"));
    o.endpoint = "http://127.0.0.1:1";
    o.region = NULL;
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_INVALID);
    o.region = "us-east-1";
    o.creds.secret_access_key = "";
    assert_int_equal(ssm_get_parameters(&o, names, 1, &r, &d), ERR_AUTH);
    assert_int_equal(ssm_get_parameters(&o, names, 0, &r, &d), ERR_OK);
}

/* ---- the fake's own checks, through its handler ---- */

struct signed_req {
    const char *headers[8];
    size_t n;
    struct sigv4_signed sig;
};

/* A request the way a client signs it; target or content_type NULL leaves the header out. */
static void sign_request(struct signed_req *s, const char *target, const char *content_type,
                         const char *body, const char *secret)
{
    struct sigv4_header h[3];
    size_t nh = 0;
    h[nh++] = (struct sigv4_header){"Host", "127.0.0.1"};
    if (content_type)
        h[nh++] = (struct sigv4_header){"Content-Type", content_type};
    if (target)
        h[nh++] = (struct sigv4_header){"X-Amz-Target", target};
    struct sigv4_request sr = {.method = "POST",
                               .path = "/",
                               .query = "",
                               .headers = h,
                               .nheaders = nh,
                               .body = body,
                               .body_len = strlen(body)};
    struct sigv4_params sp = {.region = "us-east-1",
                              .service = "ssm",
                              .time_s = clock_wall_ms() / 1000,
                              .rules = SIGV4_DEFAULT};
    struct sigv4_creds c = {KEY_ID, secret, NULL};
    struct diag d;
    assert_int_equal(sigv4_sign_headers(&sr, &sp, &c, &s->sig, &d), ERR_OK);
    static char lines[3][128];
    s->n = 0;
    s->headers[s->n++] = "Host: 127.0.0.1";
    if (content_type) {
        snprintf(lines[0], sizeof lines[0], "Content-Type: %s", content_type);
        s->headers[s->n++] = lines[0];
    }
    if (target) {
        snprintf(lines[1], sizeof lines[1], "X-Amz-Target: %s", target);
        s->headers[s->n++] = lines[1];
    }
    s->headers[s->n++] = s->sig.authorization;
    s->headers[s->n++] = s->sig.amz_date;
}

static int handle(struct ssm_fake *f, const struct signed_req *s, const char *body,
                  struct httpd_response *r)
{
    struct httpd_request req = {.method = "POST",
                                .target = "/",
                                .path = "/",
                                .query = "",
                                .headers = s ? s->headers : NULL,
                                .nheaders = s ? s->n : 0,
                                .body = body,
                                .body_len = strlen(body)};
    httpd_response_init(r, 1 << 20);
    ssm_fake_handle(f, &req, r);
    return r->status;
}

static void expect_answer(struct ssm_fake *f, const char *target, const char *content_type,
                          const char *body, int status, const char *needle)
{
    struct signed_req s;
    sign_request(&s, target, content_type, body, SECRET);
    struct httpd_response r;
    int got = handle(f, &s, body, &r);
    if (got != status || !strstr(buf_cstr(&r.body), needle))
        fail_msg("%s %s: got %d %s, want %d with '%s'", target ? target : "(no target)", body, got,
                 buf_cstr(&r.body), status, needle);
    httpd_response_release(&r);
}

static void test_fake_operations(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    struct ssm_fake *f;
    struct diag d;
    assert_int_equal(ssm_fake_new(&fo, &f, &d), ERR_OK);
    const char *gp = "AmazonSSM.GetParameter", *gps = "AmazonSSM.GetParameters";
    const char *json = "application/x-amz-json-1.1";
    expect_answer(f, gp, json, "{\"Name\":\"/screener/alpaca/api_key\",\"WithDecryption\":true}",
                  200, "\"Value\":\"PK-FAKE-VALUE-001\",\"Version\":2}}");
    expect_answer(f, gp, json, "{\"Name\":\"/screener/alpaca/api_key\",\"WithDecryption\":true}",
                  200, "\"ARN\":\"arn:aws:ssm:us-east-1:123456789012:parameter/screener/");
    /* Without decryption a SecureString is ciphertext, a String its value. */
    struct signed_req s;
    const char *body = "{\"Name\":\"/screener/alpaca/api_key\"}";
    sign_request(&s, gp, json, body, SECRET);
    struct httpd_response r;
    assert_int_equal(handle(f, &s, body, &r), 200);
    assert_null(strstr(buf_cstr(&r.body), "PK-FAKE-VALUE-001"));
    assert_non_null(strstr(buf_cstr(&r.body), "\"Value\":\"AQICAH"));
    httpd_response_release(&r);
    expect_answer(f, gp, json, "{\"Name\":\"/screener/config/environment\"}", 200,
                  "\"Value\":\"staging\"");
    expect_answer(f, gp, json, "{\"Name\":\"/nope\"}", 400, "\"__type\":\"ParameterNotFound\"");
    expect_answer(f, gps, json, "{\"Names\":[\"/nope\",\"/list\"],\"WithDecryption\":true}", 200,
                  "{\"InvalidParameters\":[\"/nope\"],\"Parameters\":[{");
    expect_answer(f, gps, json, "{\"Names\":[]}", 400, "ValidationException");
    expect_answer(f, gps, json,
                  "{\"Names\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
                  "\"11\"]}",
                  400, "ValidationException");
    expect_answer(f, gps, json, "{\"Names\":\"/a\"}", 400, "ValidationException");
    expect_answer(f, gp, json, "{\"Name\":\"/a\",\"WithDecryption\":\"yes\"}", 400,
                  "SerializationException");
    expect_answer(f, gp, json, "not json", 400, "SerializationException");
    expect_answer(f, gp, "application/json", "{\"Name\":\"/a\"}", 400, "SerializationException");
    expect_answer(f, gp, NULL, "{\"Name\":\"/a\"}", 400, "SerializationException");
    expect_answer(f, "AmazonSSM.PutParameter", json, "{}", 400,
                  "com.amazon.coral.service#UnknownOperationException");
    expect_answer(f, NULL, json, "{}", 400, "UnknownOperationException");

    /* The signature covers the body: a changed body is refused. */
    sign_request(&s, gp, json, "{\"Name\":\"/list\"}", SECRET);
    assert_int_equal(handle(f, &s, "{\"Name\":\"/screener/alpaca/api_key\"}", &r), 400);
    assert_non_null(strstr(buf_cstr(&r.body), "InvalidSignatureException"));
    httpd_response_release(&r);
    /* No signature at all. */
    assert_int_equal(handle(f, NULL, "{}", &r), 403);
    assert_non_null(strstr(buf_cstr(&r.body), "MissingAuthenticationTokenException"));
    httpd_response_release(&r);
    /* Signed 20 minutes ago. */
    sign_request(&s, gp, json, body, SECRET);
    fake_now_ms += 20 * 60000;
    assert_int_equal(handle(f, &s, body, &r), 400);
    assert_non_null(strstr(buf_cstr(&r.body), "Signature expired"));
    httpd_response_release(&r);

    struct ssm_fake_stats st;
    ssm_fake_get_stats(f, &st);
    assert_int_equal(st.auth_failures, 3);
    assert_true(st.status[400] >= 10);
    assert_int_equal(ssm_fake_ncalls(f), 6);
    char op[32], names[64];
    assert_int_equal(ssm_fake_call(f, 5, op, sizeof op, names, sizeof names), ERR_OK);
    assert_string_equal(op, "GetParameters");
    assert_string_equal(names, "/nope,/list");
    ssm_fake_reset(f);
    assert_int_equal(ssm_fake_ncalls(f), 0);
    ssm_fake_free(f);
}

static void test_fake_param_spec(void **state)
{
    struct ssm_fake_param p;
    struct diag d;
    char a[] = "/a=x:y", b[] = "/b=v:SecureString", c[] = "/c=1,2:StringList", e[] = "novalue";
    char f[] = "=v";
    assert_int_equal(ssm_fake_param_parse(a, &p, &d), ERR_OK);
    assert_string_equal(p.name, "/a");
    assert_string_equal(p.value, "x:y");
    assert_string_equal(p.type, "String");
    assert_int_equal(ssm_fake_param_parse(b, &p, &d), ERR_OK);
    assert_string_equal(p.value, "v");
    assert_string_equal(p.type, "SecureString");
    assert_int_equal(ssm_fake_param_parse(c, &p, &d), ERR_OK);
    assert_string_equal(p.type, "StringList");
    assert_int_equal(ssm_fake_param_parse(e, &p, &d), ERR_USAGE);
    assert_int_equal(ssm_fake_param_parse(f, &p, &d), ERR_USAGE);
}

/* ---- the product's secrets ---- */

static const char *const env_names[] = {
    "APCA_API_KEY_ID",      "APCA_API_SECRET_KEY",
    "TELEGRAM_BOT_TOKEN",   "TELEGRAM_WEBHOOK_SECRET",
    "ENVIRONMENT",          "SCREENER_SSM",
    "AWS_ENDPOINT_URL_SSM", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_ACCESS_KEY_ID",    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",    "AWS_REGION",
    "AWS_DEFAULT_REGION",   "AWS_PROFILE",
    "AWS_ENDPOINT_URL",     "SCREENER_SSM_PREFIX",
};

/* A clean environment pointing at the fake with its credentials; no files under ~/.aws. */
static void secrets_env(const struct served *s)
{
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    if (s)
        setenv("AWS_ENDPOINT_URL_SSM", s->url, 1);
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    secrets_reset();
}

static void test_secrets_enabled_rule(void **state)
{
    secrets_env(NULL);
    assert_false(secrets_ssm_enabled());
    setenv("AWS_LAMBDA_FUNCTION_NAME", "screener-collector", 1);
    assert_true(secrets_ssm_enabled());
    setenv("SCREENER_SSM", "0", 1);
    assert_false(secrets_ssm_enabled());
    unsetenv("AWS_LAMBDA_FUNCTION_NAME");
    setenv("SCREENER_SSM", "1", 1);
    assert_true(secrets_ssm_enabled());
    unsetenv("SCREENER_SSM");
    setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:9", 1);
    assert_true(secrets_ssm_enabled());
    setenv("AWS_ENDPOINT_URL_SSM", "", 1);
    assert_false(secrets_ssm_enabled());
    assert_string_equal(secret_env_name(SECRET_TELEGRAM_WEBHOOK_SECRET), "TELEGRAM_WEBHOOK_SECRET");
    assert_string_equal(secret_ssm_name(SECRET_TELEGRAM_WEBHOOK_SECRET),
                        "/screener/telegram/webhook_secret");
    assert_string_equal(secret_ssm_name(SECRET_ENVIRONMENT), "/screener/config/environment");
}

/* AWS_ENDPOINT_URL reaches SSM when AWS_ENDPOINT_URL_SSM is not set (it does not turn SSM on
 * by itself: it may be meant for S3 alone); a malformed endpoint is named by its variable. */
static void test_secrets_global_endpoint(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    struct served s;
    serve(&fo, &s);
    secrets_env(NULL);
    setenv("AWS_ENDPOINT_URL", s.url, 1);
    assert_false(secrets_ssm_enabled());
    setenv("SCREENER_SSM", "1", 1);
    struct diag d;
    int err = secrets_load(SECRETS_ALPACA, &d);
    if (err)
        fail_msg("secrets_load: %s", d.text);
    assert_string_equal(secrets_value(SECRET_ALPACA_SECRET_KEY), "SK-FAKE-VALUE-002");
    assert_int_equal(ssm_fake_ncalls(s.fake), 1);

    secrets_reset();
    setenv("AWS_ENDPOINT_URL_SSM", "ftp://127.0.0.1:9", 1);
    assert_int_equal(secrets_load(SECRETS_ALPACA, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "AWS_ENDPOINT_URL_SSM 'ftp://127.0.0.1:9' is not a URL"));
    assert_int_equal(ssm_fake_ncalls(s.fake), 1);
    secrets_reset();
    unsetenv("AWS_ENDPOINT_URL_SSM");
    setenv("AWS_ENDPOINT_URL", "http://user:pa55word@127.0.0.1:9", 1);
    assert_int_equal(secrets_load(SECRETS_ALPACA, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "AWS_ENDPOINT_URL is not a URL"));
    assert_null(strstr(d.text, "pa55word"));
    secrets_env(NULL);
    ssm_fake_stop(s.fake);
}

static void test_secrets_env_then_ssm(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    struct served s;
    serve(&fo, &s);
    secrets_env(&s);
    setenv("APCA_API_KEY_ID", "PK-FROM-ENV-7", 1);
    setenv("TELEGRAM_BOT_TOKEN", "", 1); /* empty counts as unset */
    struct diag d;
    int err = secrets_load(SECRETS_ALL, &d);
    if (err)
        fail_msg("secrets_load: %s", d.text);
    const char *v;
    assert_int_equal(secrets_get(SECRET_ALPACA_KEY_ID, &v, &d), ERR_OK);
    assert_string_equal(v, "PK-FROM-ENV-7");
    assert_int_equal(secrets_source(SECRET_ALPACA_KEY_ID), SECRET_SOURCE_ENV);
    assert_int_equal(secrets_get(SECRET_ALPACA_SECRET_KEY, &v, &d), ERR_OK);
    assert_string_equal(v, "SK-FAKE-VALUE-002");
    assert_int_equal(secrets_source(SECRET_ALPACA_SECRET_KEY), SECRET_SOURCE_SSM);
    assert_string_equal(secrets_value(SECRET_ENVIRONMENT), "staging");
    /* Not in SSM either: the message names both places. */
    assert_int_equal(secrets_get(SECRET_TELEGRAM_BOT_TOKEN, &v, &d), ERR_AUTH);
    assert_null(v);
    assert_non_null(strstr(d.text, "TELEGRAM_BOT_TOKEN is not set"));
    assert_non_null(strstr(d.text, "SSM parameter /screener/telegram/bot_token does not exist"));
    assert_int_equal(secrets_source(SECRET_TELEGRAM_BOT_TOKEN), SECRET_SOURCE_NONE);

    /* One call for the four names the environment did not have. */
    assert_int_equal(ssm_fake_ncalls(s.fake), 1);
    char op[32], names[512];
    assert_int_equal(ssm_fake_call(s.fake, 0, op, sizeof op, names, sizeof names), ERR_OK);
    assert_string_equal(op, "GetParameters");
    assert_string_equal(names, "/screener/alpaca/secret_key,/screener/telegram/bot_token,"
                               "/screener/telegram/webhook_secret,/screener/config/environment");
    /* Cached: nothing is asked again. */
    assert_int_equal(secrets_load(SECRETS_ALL, &d), ERR_OK);
    assert_int_equal(secrets_get(SECRET_ALPACA_SECRET_KEY, &v, &d), ERR_OK);
    assert_int_equal(ssm_fake_ncalls(s.fake), 1);

    /* The values are registered as log secrets. */
    FILE *logf = tmpfile();
    assert_non_null(logf);
    log_set_stream(logf);
    log_warn("leak test", LF_STR("value", "x SK-FAKE-VALUE-002 y PK-FROM-ENV-7"));
    log_set_stream(NULL);
    char line[512] = "";
    rewind(logf);
    assert_non_null(fgets(line, sizeof line, logf));
    assert_null(strstr(line, "SK-FAKE-VALUE-002"));
    assert_null(strstr(line, "PK-FROM-ENV-7"));
    assert_non_null(strstr(line, "[redacted]"));
    fclose(logf);

    /* All from the environment: SSM is not asked at all. */
    secrets_reset();
    ssm_fake_reset(s.fake);
    setenv("APCA_API_SECRET_KEY", "SK-FROM-ENV-8", 1);
    assert_int_equal(secrets_load(SECRETS_ALPACA, &d), ERR_OK);
    assert_string_equal(secrets_value(SECRET_ALPACA_SECRET_KEY), "SK-FROM-ENV-8");
    assert_int_equal(ssm_fake_ncalls(s.fake), 0);
    struct ssm_fake_stats st;
    ssm_fake_get_stats(s.fake, &st);
    assert_int_equal(st.requests, 0);
    secrets_reset();
    ssm_fake_stop(s.fake);
}

/* SCREENER_SSM_PREFIX: another environment's names, only those asked; a malformed prefix is
 * refused before SSM is asked; the default names are the design's. */
static void test_secrets_prefix(void **state)
{
    reset_clock();
    static const struct ssm_fake_param prod_params[] = {
        {"/screener/prod/alpaca/api_key", "PK-PROD-VALUE-11", "SecureString", 1},
        {"/screener/prod/telegram/bot_token", "123:PROD-TOKEN-12", "SecureString", 1},
        {"/screener/alpaca/api_key", "PK-DEV-VALUE-13", "SecureString", 1},
    };
    /* The role may read the prod bot's names only: asking for any other fails the call. */
    static const char *const deny[] = {"/screener/prod/alpaca/secret_key"};
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    fo.params = prod_params;
    fo.nparams = 3;
    fo.deny = deny;
    fo.ndeny = 1;
    struct served s;
    serve(&fo, &s);
    secrets_env(&s);
    struct diag d;

    assert_string_equal(secret_ssm_name(SECRET_ALPACA_KEY_ID), "/screener/alpaca/api_key");
    setenv("SCREENER_SSM_PREFIX", "/screener/prod", 1);
    assert_string_equal(secret_ssm_name(SECRET_ALPACA_KEY_ID), "/screener/prod/alpaca/api_key");
    assert_string_equal(secret_ssm_name(SECRET_TELEGRAM_WEBHOOK_SECRET),
                        "/screener/prod/telegram/webhook_secret");

    unsigned want = SECRET_BIT(SECRET_ALPACA_KEY_ID) | SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN);
    if (secrets_load(want, &d) != ERR_OK)
        fail_msg("secrets_load: %s", d.text);
    assert_string_equal(secrets_value(SECRET_ALPACA_KEY_ID), "PK-PROD-VALUE-11");
    assert_string_equal(secrets_value(SECRET_TELEGRAM_BOT_TOKEN), "123:PROD-TOKEN-12");
    char op[32], names[512];
    assert_int_equal(ssm_fake_ncalls(s.fake), 1);
    assert_int_equal(ssm_fake_call(s.fake, 0, op, sizeof op, names, sizeof names), ERR_OK);
    assert_string_equal(names, "/screener/prod/alpaca/api_key,/screener/prod/telegram/bot_token");

    /* A name the role may not read: the call is refused, naming the parameter. */
    assert_int_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_SECRET_KEY), &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "/screener/prod/alpaca/secret_key"));

    /* Missing under the prefix: the message names the prefixed parameter. */
    const char *v;
    assert_int_equal(secrets_get(SECRET_TELEGRAM_WEBHOOK_SECRET, &v, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "/screener/prod/telegram/webhook_secret does not exist"));

    /* Malformed prefixes: refused, SSM not asked. */
    static const char *const bad[] = {
        "screener",  "/screener/", "/a//b",
        "/scr ener", "/aws/x",     "/SSM",
        "/",         "/a/b?c",     "/1/2/3/4/5/6/7/8/9/10/11/12/13/14",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        secrets_reset();
        ssm_fake_reset(s.fake);
        setenv("SCREENER_SSM_PREFIX", bad[i], 1);
        assert_false(secrets_prefix_valid(bad[i]));
        assert_int_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_KEY_ID), &d), ERR_USAGE);
        assert_non_null(strstr(d.text, "SCREENER_SSM_PREFIX"));
        assert_int_equal(ssm_fake_ncalls(s.fake), 0);
    }
    assert_true(secrets_prefix_valid("/screener/prod"));
    assert_true(secrets_prefix_valid("/a.b/c_d-1"));
    assert_true(secrets_prefix_valid("/1/2/3/4/5/6/7/8/9/10/11/12/13"));
    /* Empty: the default. */
    secrets_reset();
    setenv("SCREENER_SSM_PREFIX", "", 1);
    assert_int_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_KEY_ID), &d), ERR_OK);
    assert_string_equal(secrets_value(SECRET_ALPACA_KEY_ID), "PK-DEV-VALUE-13");
    secrets_reset();
    ssm_fake_stop(s.fake);
}

static void test_secrets_ssm_off(void **state)
{
    secrets_env(NULL);
    const char *v;
    struct diag d;
    assert_int_equal(secrets_get(SECRET_ALPACA_SECRET_KEY, &v, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "APCA_API_SECRET_KEY is not set"));
    assert_non_null(strstr(d.text, "/screener/alpaca/secret_key was not read"));
    assert_non_null(strstr(d.text, "SCREENER_SSM=1"));
    secrets_reset();
}

static void test_secrets_ssm_errors(void **state)
{
    reset_clock();
    struct ssm_fake_opts fo;
    fake_opts(&fo);
    const char *deny[] = {"/screener/alpaca/secret_key"};
    fo.deny = deny;
    fo.ndeny = 1;
    struct served s;
    serve(&fo, &s);
    secrets_env(&s);
    struct diag d;
    assert_int_equal(secrets_load(SECRETS_ALPACA, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "AccessDeniedException"));
    assert_non_null(strstr(d.text, "/screener/alpaca/secret_key"));
    assert_null(strstr(d.text, "FAKE-VALUE"));
    /* Nothing was cached: the next load asks again. */
    assert_null(secrets_value(SECRET_ALPACA_KEY_ID));
    assert_int_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_KEY_ID), &d), ERR_OK);
    assert_string_equal(secrets_value(SECRET_ALPACA_KEY_ID), "PK-FAKE-VALUE-001");
    assert_int_equal(ssm_fake_ncalls(s.fake), 2);

    /* Wrong AWS secret key: the signature is refused, and said so. */
    secrets_env(&s);
    setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-key", 1);
    assert_int_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_KEY_ID), &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "InvalidSignatureException"));
    assert_null(strstr(d.text, "wrong-secret-key"));

    /* No AWS credentials at all. */
    secrets_env(&s);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_not_equal(secrets_load(SECRET_BIT(SECRET_ALPACA_KEY_ID), &d), ERR_OK);
    assert_non_null(strstr(d.text, "/screener/alpaca/api_key"));
    secrets_env(NULL);
    ssm_fake_stop(s.fake);
}

static int group_setup(void **state)
{
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    clock_set_source(&fake_clock);
    reset_clock();
    return 0;
}

static int group_teardown(void **state)
{
    clock_set_source(NULL);
    secrets_reset();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_parse_answer),
        cmocka_unit_test(test_parse_answer_errors),
        cmocka_unit_test(test_parse_error_body),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_endpoint_for_region),
        cmocka_unit_test(test_secrets_global_endpoint),
        cmocka_unit_test(test_client_batches),
        cmocka_unit_test(test_client_denied),
        cmocka_unit_test(test_client_throttled_then_ok),
        cmocka_unit_test(test_client_throttled_out),
        cmocka_unit_test(test_client_signature_refused),
        cmocka_unit_test(test_client_bad_options),
        cmocka_unit_test(test_fake_operations),
        cmocka_unit_test(test_fake_param_spec),
        cmocka_unit_test(test_secrets_enabled_rule),
        cmocka_unit_test(test_secrets_env_then_ssm),
        cmocka_unit_test(test_secrets_prefix),
        cmocka_unit_test(test_secrets_ssm_off),
        cmocka_unit_test(test_secrets_ssm_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
