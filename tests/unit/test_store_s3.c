/* Unit tests: the object store's S3 backend (store/objstore_s3.c) against the fake S3
 * (fakes/s3_fake.h) on 127.0.0.1, which verifies every signature.  The backend-independent cases
 * of tests/support/store_cases.c run here as they do on a directory, with list pages of 3 keys
 * so that every listing is paged; then what only S3 has: faults and retries, lost answers,
 * refused credentials, session tokens, prefixes. */
#include "testutil.h"

#include "aws/s3.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/bot.h"
#include "collect/collector.h"
#include "backtest/backtest_results.h"
#include "daily/daily.h"
#include "net/http.h"
#include "net/httpd.h"
#include "report/chart.h"
#include "screen/results.h"
#include "screen/screen_run.h"
#include "sim/alpaca_sim.h"
#include "fakes/s3_fake.h"
#include "store/barstore.h"
#include "store/compact.h"
#include "store/objstore.h"
#include "store/symlog.h"
#include "store_cases.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET "store-test"
#define KEY_ID "AKIDSTORETESTEXAMPLE"
#define SECRET "st0reTest/Secret+Key/EXAMPLE/0123456789"

/* Time runs as usual, but sleeping (backoff) only moves it forward: retries cost nothing.
 * The fake in this process reads the same clock, from its own threads, hence the atomics. */
static int64_t offset_ms;

static int64_t now_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t test_wall(void *ctx)
{
    (void)ctx;
    return now_us(CLOCK_REALTIME) / 1000 + __atomic_load_n(&offset_ms, __ATOMIC_SEQ_CST);
}

static int64_t test_mono(void *ctx)
{
    (void)ctx;
    return now_us(CLOCK_MONOTONIC) + __atomic_load_n(&offset_ms, __ATOMIC_SEQ_CST) * 1000;
}

static void test_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    if (ms > 0)
        __atomic_add_fetch(&offset_ms, ms, __ATOMIC_SEQ_CST);
}

static struct s3_fake *fake;
static char endpoint[64];
static int test_seq;

static int group_setup(void **state)
{
    (void)state;
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    struct s3_fake_opts o;
    s3_fake_opts_default(&o);
    static const char *const buckets[] = {BUCKET};
    o.buckets = buckets;
    o.nbuckets = 1;
    o.access_key_id = KEY_ID;
    o.secret_access_key = SECRET;
    o.max_keys = 3;
    int port;
    struct diag d;
    if (s3_fake_start(&o, &fake, &port, &d) != ERR_OK) {
        fprintf(stderr, "cannot start the fake S3: %s\n", d.text);
        return -1;
    }
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    /* The clock source is the process's (functions, no state besides the atomic offset), so
     * the fake and the client may read it from any thread. */
    static const struct clock_source src = {test_wall, test_mono, test_sleep, NULL};
    clock_set_source(&src);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    s3_fake_stop(fake);
    clock_set_source(NULL);
    return 0;
}

/* Each test gets a prefix of its own in the one bucket. */
static int setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    char location[128];
    snprintf(location, sizeof location, "s3://" BUCKET "/t%d/store", ++test_seq);
    struct diag d;
    s3_fake_set_faults(fake, NULL, 0, &d);
    store_fixture_open(f, location);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct store_fixture *f = *state;
    store_fixture_close(f);
    free(f);
    return 0;
}

static void set_faults(const char *spec)
{
    struct s3_fake_fault faults[8];
    size_t n;
    struct diag d;
    assert_int_equal(s3_fake_faults_parse(spec, faults, 8, &n, &d), ERR_OK);
    s3_fake_reset_stats(fake);
    assert_int_equal(s3_fake_set_faults(fake, faults, n, &d), ERR_OK);
}

static uint64_t faults_injected(void)
{
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    return st.faults;
}

static void test_keys_live_under_the_prefix(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->os, "a/b.txt", "x", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    /* In the bucket the key carries the prefix ... */
    struct buf b = BUF_INIT(64);
    char key[64];
    snprintf(key, sizeof key, "t%d/store/a/b.txt", test_seq);
    assert_int_equal(s3_fake_get_object(fake, BUCKET, key, &b, NULL, 0), ERR_OK);
    assert_string_equal(buf_cstr(&b), "x");
    buf_release(&b);
    /* ... a store on another prefix does not see it, and listings give keys without it. */
    struct store_fixture other;
    store_fixture_open(&other, "s3://" BUCKET "/elsewhere/");
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(other.os, "", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 0);
    strvec_release(&keys);
    store_fixture_close(&other);
    assert_int_equal(objstore_list(f->os, "a/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    assert_string_equal(keys.v[0], "a/b.txt");
    strvec_release(&keys);
    /* A store on the bucket itself sees the full key. */
    store_fixture_open(&other, "s3://" BUCKET);
    snprintf(key, sizeof key, "t%d/", test_seq);
    assert_int_equal(objstore_list(other.os, key, &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    snprintf(key, sizeof key, "t%d/store/a/b.txt", test_seq);
    assert_string_equal(keys.v[0], key);
    strvec_release(&keys);
    store_fixture_close(&other);
}

static void test_foreign_keys_are_skipped(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->os, "dir/ok.csv", "1", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    /* A console "folder" and a key with a space, written by another tool. */
    struct s3_opts o;
    s3_opts_default(&o);
    o.region = "us-east-1";
    o.endpoint = endpoint;
    o.creds = (struct sigv4_creds){KEY_ID, SECRET, NULL};
    struct s3 *s3;
    assert_int_equal(s3_new(&o, &s3, &d), ERR_OK);
    char key[64];
    snprintf(key, sizeof key, "t%d/store/dir/", test_seq);
    assert_int_equal(s3_put_object(s3, BUCKET, key, "", 0, NULL, NULL, &d), ERR_OK);
    snprintf(key, sizeof key, "t%d/store/dir/a b.csv", test_seq);
    assert_int_equal(s3_put_object(s3, BUCKET, key, "2", 1, NULL, NULL, &d), ERR_OK);
    s3_free(s3);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "dir/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    assert_string_equal(keys.v[0], "dir/ok.csv");
    strvec_release(&keys);
}

static void test_transient_faults_are_retried(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct buf b = BUF_INIT(1 << 16);
    char etag[OBJ_ETAG_MAX];
    /* Two SlowDowns, then the write goes through. */
    set_faults("503@1x2");
    assert_int_equal(objstore_put(f->os, "k/a", "alpha", 5, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    assert_int_equal(faults_injected(), 2);
    /* A 500, a reset and a body cut off halfway: the read still gets the whole object. */
    set_faults("500@1,reset@2,truncate@3");
    assert_int_equal(objstore_get(f->os, "k/a", &b, etag, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "alpha");
    assert_int_equal(faults_injected(), 3);
    /* A conditional write that meets a conflicting one in flight (409) is tried again. */
    set_faults("409@1x2");
    assert_int_equal(objstore_put(f->os, "k/a", "beta", 4, OBJ_PUT_IF_MATCH, etag, &d), ERR_OK);
    assert_int_equal(faults_injected(), 2);
    /* A listing page whose XML is cut off is asked for again. */
    set_faults("malformed@1");
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "k/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    assert_int_equal(faults_injected(), 1);
    strvec_release(&keys);
    buf_reset(&b);
    set_faults("");
    assert_int_equal(objstore_get(f->os, "k/a", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "beta");
    buf_release(&b);
}

/* A big body is sent from the caller's memory, not a copy: every attempt after a fault sends
 * it whole, alone (objstore_put) and among others (objstore_batch). */
static void test_big_bodies_sent_again_after_faults(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    size_t n = (size_t)12 << 20;
    char *one = malloc(n), *two = malloc(n);
    assert_non_null(one);
    assert_non_null(two);
    for (size_t i = 0; i < n; i++) {
        one[i] = (char)('A' + i % 23);
        two[i] = (char)('a' + i % 19);
    }
    set_faults("503@1,reset@2");
    assert_int_equal(objstore_put(f->os, "big/one", one, n, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    assert_int_equal(faults_injected(), 2);
    set_faults("500@1,reset@2");
    struct objstore_req w[2] = {
        {.op = OBJ_REQ_PUT, .key = "big/two", .data = two, .len = n},
        {.op = OBJ_REQ_PUT, .key = "big/three", .data = one, .len = n},
    };
    assert_int_equal(objstore_batch(f->os, w, 2, &d), ERR_OK);
    assert_int_equal(faults_injected(), 2);
    set_faults("");
    const char *keys[] = {"big/one", "big/two", "big/three"};
    const char *want[] = {one, two, one};
    for (int k = 0; k < 3; k++) {
        struct buf b = BUF_INIT((size_t)16 << 20);
        assert_int_equal(objstore_get(f->os, keys[k], &b, NULL, &d), ERR_OK);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, want[k], n);
        buf_release(&b);
    }
    free(one);
    free(two);
}

static void test_retries_run_out(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    set_faults("503@1x100");
    assert_int_equal(objstore_put(f->os, "k/a", "x", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_UNAVAILABLE);
    assert_non_null(strstr(d.text, "HTTP 503 SlowDown: Please reduce your request rate."));
    assert_non_null(strstr(d.text, "S3 PUT s3://" BUCKET "/t"));
    assert_int_equal(faults_injected(), 5); /* the first attempt and 4 retries */
    set_faults("409@1x100");
    assert_int_equal(objstore_put(f->os, "k/a", "x", 1, OBJ_PUT_CREATE, NULL, &d), ERR_CONFLICT);
    assert_non_null(strstr(d.text, "HTTP 409 ConditionalRequestConflict"));
}

static void test_lost_answer(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    /* The create succeeds but its answer is lost; the retry finds the object there: for a
     * content-named part that is the same outcome, and the store says so plainly. */
    set_faults("lost@1");
    assert_int_equal(objstore_put(f->os, "k/part", "same", 4, OBJ_PUT_CREATE, NULL, &d),
                     ERR_EXISTS);
    assert_non_null(strstr(d.text, "412 PreconditionFailed"));
    struct buf b = BUF_INIT(64);
    assert_int_equal(objstore_get(f->os, "k/part", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "same");
    buf_release(&b);
    /* An unconditional write simply succeeds again. */
    set_faults("lost@1");
    assert_int_equal(objstore_put(f->os, "k/other", "v", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
}

static void test_missing_object_and_delete(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct buf b = BUF_INIT(64);
    assert_int_equal(objstore_get(f->os, "no/such", &b, NULL, &d), ERR_NOTFOUND);
    assert_non_null(strstr(d.text, "HTTP 404 NoSuchKey: The specified key does not exist."));
    assert_int_equal(objstore_del(f->os, "no/such", &d), ERR_NOTFOUND);
    buf_release(&b);
}

/* Open a store with the environment as it is now, expecting err from the first request. */
static void expect_refused(const char *location, int want, const char *text)
{
    struct objstore *os;
    struct diag d;
    diag_clear(&d);
    struct buf b = BUF_INIT(64);
    int err = objstore_open(location, &os, &d);
    if (!err) {
        err = objstore_get(os, "any", &b, NULL, &d);
        objstore_free(os);
    }
    buf_release(&b);
    if (err != want || !strstr(d.text, text))
        fail_msg("got %s '%s', want %s '%s'", err_name(err), d.text, err_name(want), text);
    assert_null(strstr(d.text, SECRET));
    assert_null(strstr(d.text, "wrong/secret"));
}

/* A second fake with one bucket, and the environment pointed at it; stop_second() points it
 * back at the group's fake. */
static void second_opts(struct s3_fake_opts *o, const char *const *bucket, const char *token)
{
    s3_fake_opts_default(o);
    o->buckets = bucket;
    o->nbuckets = 1;
    o->access_key_id = KEY_ID;
    o->secret_access_key = SECRET;
    o->session_token = token;
}

static struct s3_fake *start_second(const char *bucket, const char *token)
{
    struct s3_fake_opts o;
    const char *buckets[] = {bucket};
    second_opts(&o, buckets, token);
    struct s3_fake *f2;
    int port;
    struct diag d;
    if (s3_fake_start(&o, &f2, &port, &d) != ERR_OK)
        fail_msg("cannot start a second fake: %s", d.text);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    return f2;
}

static void stop_second(struct s3_fake *f2)
{
    setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    s3_fake_stop(f2);
}

/* A misbehaving S3 whose listings name keys outside the prefix asked for: "<Key>inside/" in a
 * listing's answer becomes "<Key>beside/" (the same length). */
static void foreign_listing(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    s3_fake_handle(ctx, req, resp);
    if (strcmp(req->method, "GET") != 0 || !strstr(req->query, "list-type=2") || !resp->body.data)
        return;
    for (char *p = resp->body.data; (p = strstr(p, "<Key>inside/")) != NULL; p += 5)
        memcpy(p + 5, "beside", 6);
}

/* An error of a request in a batch (a listing, here) that the store's layers pass on names the
 * store once. */
static void test_batch_error_names_the_store_once(void **state)
{
    (void)state;
    struct s3_fake_opts o;
    const char *buckets[] = {BUCKET};
    second_opts(&o, buckets, NULL);
    struct s3_fake *f2;
    struct diag d = {{0}};
    assert_int_equal(s3_fake_new(&o, &f2, &d), ERR_OK);
    struct httpd_opts ho = {.handler = foreign_listing, .ctx = f2};
    struct httpd *server;
    int port;
    assert_int_equal(httpd_start(&ho, &server, &port, &d), ERR_OK);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    struct store_fixture sf;
    store_fixture_open(&sf, "s3://" BUCKET "/inside/store");
    struct split sp = {.symbol = "AAA", .ex_date = 20000, .new_rate = 2000000, .old_rate = 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(sf.bs, &sp, 1, &added, &d), ERR_OK);

    struct splitvec got;
    splitvec_init(&got);
    int err = barstore_read_splits(sf.bs, &got, &d);
    splitvec_release(&got);
    store_fixture_close(&sf);
    setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    httpd_stop(server);
    s3_fake_free(f2);

    assert_int_equal(err, ERR_PARSE);
    assert_non_null(strstr(d.text, "S3 listed 'beside/store/splits/part-"));
    const char *name = "store 's3://" BUCKET "/inside/store'";
    const char *at = strstr(d.text, name);
    if (!at || strstr(at + 1, name))
        fail_msg("the store is not named once: %s", d.text);
}

static void test_clock_skew(void **state)
{
    (void)state;
    struct s3_fake *f2 = start_second("skew-test", NULL);
    s3_fake_advance(f2, 3600);
    expect_refused("s3://skew-test/x", ERR_AUTH, "HTTP 403 RequestTimeTooSkewed");
    stop_second(f2);
}

/* AWS_ENDPOINT_URL reaches S3 when AWS_ENDPOINT_URL_S3 is not set, and AWS_ENDPOINT_URL_S3
 * wins when both are (as in the AWS SDKs). */
static void test_global_endpoint(void **state)
{
    (void)state;
    struct s3_fake *f2 = start_second("global-test", NULL);
    char second[64];
    snprintf(second, sizeof second, "%s", getenv("AWS_ENDPOINT_URL_S3"));
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("AWS_ENDPOINT_URL", second, 1);
    struct objstore *os;
    struct diag d;
    assert_int_equal(objstore_open("s3://global-test/p", &os, &d), ERR_OK);
    assert_int_equal(objstore_put(os, "k.txt", "hi", 2, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    struct buf b = BUF_INIT(64);
    assert_int_equal(objstore_get(os, "k.txt", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "hi");
    buf_release(&b);
    objstore_free(os);
    /* The service's own variable wins: the group's fake has no such bucket. */
    setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    expect_refused("s3://global-test/p", ERR_AUTH, "NoSuchBucket");
    unsetenv("AWS_ENDPOINT_URL");
    stop_second(f2);
}

static void test_refused_credentials(void **state)
{
    (void)state;
    struct s3_fake_stats before, after;
    s3_fake_get_stats(fake, &before);
    setenv("AWS_SECRET_ACCESS_KEY", "wrong/secret/key/EXAMPLE", 1);
    expect_refused("s3://" BUCKET "/x", ERR_AUTH, "HTTP 403 SignatureDoesNotMatch");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    s3_fake_get_stats(fake, &after);
    assert_int_equal(after.signature_mismatches, before.signature_mismatches + 1);
    /* Refusals are final: one request, no retries. */
    assert_int_equal(after.requests, before.requests + 1);

    setenv("AWS_ACCESS_KEY_ID", "AKIDUNKNOWNEXAMPLE", 1);
    expect_refused("s3://" BUCKET "/x", ERR_AUTH, "HTTP 403 InvalidAccessKeyId");
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);

    setenv("AWS_REGION", "eu-west-1", 1);
    expect_refused("s3://" BUCKET "/x", ERR_INVALID,
                   "HTTP 400 AuthorizationHeaderMalformed: the region 'eu-west-1' is wrong; "
                   "expecting 'us-east-1'");
    setenv("AWS_REGION", "us-east-1", 1);

    expect_refused("s3://no-such-bucket/x", ERR_AUTH, "HTTP 404 NoSuchBucket");

    /* No credentials anywhere. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    expect_refused("s3://" BUCKET "/x", ERR_AUTH, "store 's3://" BUCKET "/x'");
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
}

static void test_bad_locations(void **state)
{
    (void)state;
    static const char *const bad[] = {"s3://",
                                      "s3:///x",
                                      "s3://Bad_Bucket/x",
                                      "s3://ab/x",
                                      "s3://" BUCKET "/a/../b",
                                      "s3://" BUCKET "/a//b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct objstore *os = NULL;
        struct diag d;
        if (objstore_open(bad[i], &os, &d) != ERR_USAGE)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(d.text, "store '"));
    }
}

static void test_session_token(void **state)
{
    (void)state;
    /* A fake that wants temporary credentials, as Lambda's are. */
    const char *token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==";
    struct s3_fake *f2 = start_second("token-test", token);
    expect_refused("s3://token-test/p", ERR_AUTH, "HTTP 403 InvalidToken");
    setenv("AWS_SESSION_TOKEN", token, 1);
    struct store_fixture f;
    store_fixture_open(&f, "s3://token-test/p");
    struct diag d;
    assert_int_equal(objstore_put(f.os, "k", "v", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    struct buf b = BUF_INIT(16);
    assert_int_equal(objstore_get(f.os, "k", &b, NULL, &d), ERR_OK);
    assert_string_equal(buf_cstr(&b), "v");
    buf_release(&b);
    store_fixture_close(&f);
    unsetenv("AWS_SESSION_TOKEN");
    stop_second(f2);
}

static void test_secrets_never_logged(void **state)
{
    struct store_fixture *f = *state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    log_set_stream(mem);
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    struct diag d;
    set_faults("503@1,500@2,409@3");
    assert_int_equal(objstore_put(f->os, "k/a", "x", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    setenv("AWS_SECRET_ACCESS_KEY", "another/Wrong+Secret/EXAMPLEKEY", 1);
    expect_refused("s3://" BUCKET "/x", ERR_AUTH, "SignatureDoesNotMatch");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    log_set_stream(stderr);
    fclose(mem);
    assert_non_null(strstr(text, "retrying")); /* the retries were logged ... */
    assert_null(strstr(text, SECRET));         /* ... and no secret with them */
    assert_null(strstr(text, "another/Wrong+Secret"));
    assert_null(strstr(text, "Signature="));
    free(text);
}

/* Every day of a scan as text, to compare two stores. */
static int text_cb(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct buf *b = ctx;
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%d %s %lld %lld\n", (int)date, bars[i].symbol, (long long)bars[i].close,
                   (long long)bars[i].volume);
    return ERR_OK;
}

struct got {
    size_t calls;
    size_t order_ok;
};

static int got_cb(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    (void)d;
    struct got *g = ctx;
    char want[32];
    snprintf(want, sizeof want, "object %zu", i);
    g->order_ok += i == g->calls && len == strlen(want) && memcmp(data, want, len) == 0;
    g->calls++;
    return ERR_OK;
}

/* A scan, the collector's look back and a batch of GETs keep several requests in flight (the
 * fake holds each request until 4 are in at once, so a client that asks one after another
 * shows 1), and give what a directory gives. */
/* A window that slides while objects are handed on: when several objects are in together, the
 * GET that each one's slot frees goes out before the next object is handed on, so that the
 * store is not left idle while the caller works on them. */
/* Waits on another thread while the client works: in real time (clock_sleep_ms, on this file's
 * clock source, only moves the clock forward). */
static void real_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

struct slide {
    size_t calls;
    int saw_next; /* in the call for object 1: the GET of object 2 had reached the store */
};

static int slide_each(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    struct slide *s = ctx;
    (void)data, (void)len, (void)d;
    s->calls++;
    for (int t = 0; i == 1 && t < 500 && !s->saw_next; t++) { /* at most 5 s */
        struct s3_fake_stats st;
        s3_fake_get_stats(fake, &st);
        s->saw_next = st.gets >= 3;
        if (!s->saw_next)
            real_sleep_ms(10);
    }
    return ERR_OK;
}

/* Object 0 is held until object 1 has been answered and taken in, so that both are in when
 * object 0 is handed on. */
static void *release_after_the_second(void *arg)
{
    (void)arg;
    s3_fake_wait_held(fake, 1);
    struct s3_fake_stats st;
    for (int t = 0; t < 500; t++) {
        s3_fake_get_stats(fake, &st);
        if (st.status[200] >= 1)
            break;
        real_sleep_ms(10);
    }
    real_sleep_ms(200);
    s3_fake_release(fake);
    return NULL;
}

static void test_window_slides_while_handing_on(void **state)
{
    struct store_fixture *f = *state;
    const char *keys[] = {"slide/k0", "slide/k1", "slide/k2", "slide/k3"};
    struct diag d;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(objstore_put(f->os, keys[i], "x", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    s3_fake_reset_stats(fake);
    s3_fake_hold(fake, "slide/k0");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_after_the_second, NULL), 0);
    struct slide s = {0, 0};
    int err = objstore_get_many_window(f->os, keys, 4, 1024, 2, slide_each, &s, &d);
    pthread_join(t, NULL);
    assert_int_equal(err, ERR_OK);
    assert_int_equal(s.calls, 4);
    assert_true(s.saw_next);
    /* A window out of bounds is refused. */
    assert_int_equal(objstore_get_many_window(f->os, keys, 4, 1024, 0, slide_each, &s, &d),
                     ERR_INVALID);
}

/* A read of compacted months: the second month's part is held until the GET of the month
 * one window further on has reached the store.  The window slides as each month is handed
 * on, so that GET goes out while the second is held; reading in batches of a window's
 * worth, it would wait for the whole batch and the hold would time out. */
struct month_hold {
    uint64_t gets_before; /* GETs answered before the read (a held one counts once answered) */
    int slid;             /* the GET one window on came while the second month was held */
};

static void *release_when_slid(void *arg)
{
    struct month_hold *h = arg;
    s3_fake_wait_held(fake, 1);
    for (int t = 0; t < 1000 && !h->slid; t++) { /* at most 10 s */
        struct s3_fake_stats st;
        s3_fake_get_stats(fake, &st);
        h->slid = st.gets + st.held - h->gets_before >= BARSTORE_MONTHS_IN_FLIGHT + 1;
        if (!h->slid)
            real_sleep_ms(10);
    }
    s3_fake_release(fake);
    return NULL;
}

static int count_days(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    (void)date, (void)bars, (void)n;
    ++*(size_t *)ctx;
    return 0;
}

static void test_months_slide(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    enum { MONTHS = BARSTORE_MONTHS_IN_FLIGHT + 2 };
    struct bar bars[2 * MONTHS];
    for (int m = 0; m < MONTHS; m++)
        for (int k = 0; k < 2; k++) {
            char day[11];
            date_format(date_from_ymd(2020 + m / 12, 1 + m % 12, 6 + k), day);
            bars[2 * m + k] = tu_bar("AAA", day, 10 + m, 11 + m, 9 + m, 10 + m, 100);
        }
    for (int i = 0; i < 2 * MONTHS; i++) { /* a part per day, so that each month compacts */
        struct barstore_write_stats ws;
        assert_int_equal(barstore_write(f->bs, &bars[i], 1, NULL, &ws, &d), ERR_OK);
    }
    struct compact_opts co = {.closed_before = date_from_ymd(2022, 1, 1)};
    struct compact_stats cs;
    assert_int_equal(barstore_compact(f->os, f->bs, &co, &cs, &d), ERR_OK);
    assert_int_equal(cs.months_compacted, MONTHS);
    /* The second month's part, by its name. */
    struct strvec keys;
    strvec_init(&keys);
    assert_int_equal(objstore_list(f->os, "bars/2020/2020-02", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    int32_t month;
    uint32_t mask;
    assert_true(barstore_key_compacted(keys.v[0], &month, &mask));
    s3_fake_hold(fake, keys.v[0]);
    strvec_release(&keys);

    struct barstore *bs;
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    struct month_hold h = {st.gets, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_when_slid, &h), 0);
    size_t days = 0;
    int err = barstore_scan(bs, INT32_MIN, INT32_MAX, count_days, &days, &d);
    pthread_join(t, NULL);
    barstore_free(bs);
    assert_int_equal(err, ERR_OK);
    assert_int_equal(days, 2 * MONTHS);
    assert_true(h.slid);
    /* Faults on the months' GETs while the window slides (retried within the batch, or on
     * their own as they are handed on): the same days and bars as without them. */
    struct buf want = BUF_INIT(1 << 20), got = BUF_INIT(1 << 20);
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    assert_int_equal(barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &want, &d), ERR_OK);
    barstore_free(bs);
    set_faults("503@8,500@9,409@11,reset@12,truncate@15,503@17x2"); /* after 6 listings */
    assert_int_equal(barstore_new(f->os, &bs, &d), ERR_OK);
    assert_int_equal(barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &got, &d), ERR_OK);
    barstore_free(bs);
    assert_true(faults_injected() >= 6);
    set_faults("");
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    buf_release(&want);
    buf_release(&got);
}

static void test_reads_overlap(void **state)
{
    struct store_fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    struct barvec in;
    barvec_init(&in);
    int32_t start;
    date_parse("2024-11-01", 10, &start);
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD"};
    for (int round = 0; round < 2; round++) {
        in.n = 0;
        for (int32_t day = start; day < start + 40; day++) {
            char s[11];
            date_format(day, s);
            for (int k = round; k < 4; k += 2) { /* two parts a day: AAA CCC, then BBB DDD */
                if (k == 3 && day > start + 30)
                    continue; /* DDD stops trading */
                struct bar b = tu_bar(syms[k], s, 10 + k, 11 + k, 9, 10 + k, 100 + day - start);
                barvec_push(&in, &b);
            }
        }
        struct barstore_write_stats st;
        struct diag d;
        assert_int_equal(barstore_write(f->bs, in.v, in.n, NULL, &st, &d), ERR_OK);
        assert_int_equal(barstore_write(local.bs, in.v, in.n, NULL, &st, &d), ERR_OK);
    }
    barvec_release(&in);

    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate(fake, 4);
    struct buf a = BUF_INIT(1 << 20), b = BUF_INIT(1 << 20);
    struct diag d;
    assert_int_equal(barstore_scan(f->bs, INT32_MIN, INT32_MAX, text_cb, &a, &d), ERR_OK);
    assert_int_equal(barstore_scan(local.bs, INT32_MIN, INT32_MAX, text_cb, &b, &d), ERR_OK);
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 4);

    int32_t last_s3[4], last_local[4];
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate(fake, 2); /* the latest day first: its two parts at once */
    assert_int_equal(barstore_last_dates(f->bs, syms, 4, start + 39, 30, last_s3, &d), ERR_OK);
    assert_int_equal(barstore_last_dates(local.bs, syms, 4, start + 39, 30, last_local, &d),
                     ERR_OK);
    assert_memory_equal(last_s3, last_local, sizeof last_s3);
    assert_int_equal(last_s3[3], start + 30);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 2);

    /* A batch of plain objects: in order, and the first missing one ends it. */
    char keys[40][32];
    const char *kp[40];
    store_put_numbered(f->os, "many", 40, 33, keys, kp);
    s3_fake_set_overlap_gate(fake, 4);
    struct got g = {0};
    assert_int_equal(objstore_get_many(f->os, kp, 33, 64, got_cb, &g, &d), ERR_OK);
    assert_int_equal(g.calls, 33);
    assert_int_equal(g.order_ok, 33);
    g = (struct got){0};
    assert_int_equal(objstore_get_many(f->os, kp, 40, 64, got_cb, &g, &d), ERR_NOTFOUND);
    assert_int_equal(g.calls, 33);
    assert_non_null(strstr(d.text, "many/k33"));
    /* A GET that S3 asks to retry (409 ConditionalRequestConflict) is retried while the others
     * are in flight: every object is
     * still handed on once, in order (the retry runs the client's loop, which completes the
     * others; delivering from there handed an object on twice). */
    for (int k = 1; k <= 3; k++) {
        char spec[32];
        snprintf(spec, sizeof spec, "409@%d", k);
        set_faults(spec);
        g = (struct got){0};
        assert_int_equal(objstore_get_many(f->os, kp, 33, 64, got_cb, &g, &d), ERR_OK);
        assert_true(faults_injected() > 0);
        assert_int_equal(g.calls, 33);
        assert_int_equal(g.order_ok, 33);
    }
    set_faults("");
    /* An object over the cap is refused, not cut. */
    assert_int_equal(objstore_get_many(f->os, kp, 3, 4, got_cb, &g, &d), ERR_TOOBIG);
    s3_fake_set_overlap_gate(fake, 0);

    buf_release(&a);
    buf_release(&b);
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

/* Put text under key (asserting it went well); its etag into etag when not NULL. */
static void put_text(struct objstore *os, const char *key, const char *text, char *etag)
{
    struct diag d;
    assert_int_equal(objstore_put(os, key, text, strlen(text), OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    if (etag) {
        struct buf b = BUF_INIT(1 << 20);
        assert_int_equal(objstore_get(os, key, &b, etag, &d), ERR_OK);
        buf_release(&b);
    }
}

static char *text_of(struct objstore *os, const char *key)
{
    struct buf b = BUF_INIT(1 << 20);
    struct diag d;
    int err = objstore_get(os, key, &b, NULL, &d);
    char *t = strdup(err ? "(absent)" : buf_cstr(&b));
    buf_release(&b);
    return t;
}

/* Held copies (objstore_prefetch): a key asked for twice is read once and answers two reads;
 * one still held when the next call asks for it again is not read again; and a batch of GETs
 * with held keys among them sends all the others at once (the fake holds each GET until 5 are
 * in: sent between the held ones, they came in runs of 2 and 1), handed on in key order. */
static void test_held_reads(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct s3_fake_stats st;
    char keys[9][32];
    const char *kp[9];
    store_put_numbered(f->os, "held", 9, 8, keys, kp);
    s3_fake_reset_stats(fake);
    const char *const twice[] = {kp[2], kp[2], kp[5]};
    objstore_prefetch(f->os, twice, 3, 64);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 2);
    for (int i = 0; i < 3; i++) {
        char *t = text_of(f->os, kp[2]);
        assert_string_equal(t, "object 2");
        free(t);
        s3_fake_get_stats(fake, &st);
        assert_int_equal(st.gets, i < 2 ? 2u : 3u); /* the third read goes to the store */
    }
    const char *const again[] = {kp[5], kp[2]};
    objstore_prefetch(f->os, again, 2, 64);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 4); /* k02 only: k05 was held */
    objstore_keep_written(f->os, 64, 64);
    put_text(f->os, kp[6], "object 6", NULL);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate(fake, 5);
    struct got g = {0};
    assert_int_equal(objstore_get_many(f->os, kp, 8, 64, got_cb, &g, &d), ERR_OK);
    assert_int_equal(g.calls, 8);
    assert_int_equal(g.order_ok, 8);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 5);
    assert_true(st.inflight_max >= 5);
    s3_fake_set_overlap_gate(fake, 0);
    /* The first failure in key order is the one given: a held one before the store's. */
    const char *const miss[] = {kp[8], kp[1]};
    objstore_prefetch(f->os, miss, 2, 64);
    const char *const order[] = {kp[0], kp[1], kp[8], kp[3]};
    g = (struct got){0};
    assert_int_equal(objstore_get_many(f->os, order, 4, 64, got_cb, &g, &d), ERR_NOTFOUND);
    assert_int_equal(g.calls, 2);
    assert_non_null(strstr(d.text, "held/k08"));
    objstore_keep_written(f->os, 0, 0);
    objstore_prefetch_drop(f->os);
}

/* A batch of writes, each with its own condition, in the same state on S3 and on a
 * directory: every one's outcome is what objstore_put gives alone. */
static void batch_writes(struct objstore *os, int errs[8], char *texts[8], struct diag *first,
                         int *ret)
{
    char old_b[OBJ_ETAG_MAX], cur_d[OBJ_ETAG_MAX];
    put_text(os, "w/a", "a0", NULL);
    put_text(os, "w/b", "b0", old_b);
    put_text(os, "w/b", "b1", NULL); /* old_b is stale now */
    put_text(os, "w/d", "d0", cur_d);
    struct objstore_req w[8] = {
        {.op = OBJ_REQ_PUT, .key = "w/new", .data = "n", .len = 1, .mode = OBJ_PUT_ALWAYS},
        {.op = OBJ_REQ_PUT, .key = "w/c", .data = "c", .len = 1, .mode = OBJ_PUT_CREATE},
        {.op = OBJ_REQ_PUT, .key = "w/a", .data = "a", .len = 1, .mode = OBJ_PUT_CREATE},
        {.op = OBJ_REQ_PUT,
         .key = "w/b",
         .data = "b",
         .len = 1,
         .mode = OBJ_PUT_IF_MATCH,
         .if_match = old_b},
        {.op = OBJ_REQ_PUT,
         .key = "w/d",
         .data = "d",
         .len = 1,
         .mode = OBJ_PUT_IF_MATCH,
         .if_match = cur_d},
        {.op = OBJ_REQ_PUT,
         .key = "w/gone",
         .data = "g",
         .len = 1,
         .mode = OBJ_PUT_IF_MATCH,
         .if_match = cur_d},
        /* Two creates of one key in one batch: one wins, the other loses as against
         * another writer. */
        {.op = OBJ_REQ_PUT, .key = "w/race", .data = "r1", .len = 2, .mode = OBJ_PUT_CREATE},
        {.op = OBJ_REQ_PUT, .key = "w/race", .data = "r2", .len = 2, .mode = OBJ_PUT_CREATE},
    };
    *ret = objstore_batch(os, w, 8, first);
    static const char *const keys[] = {"w/new", "w/c", "w/a", "w/b", "w/d", "w/gone", "w/race"};
    for (size_t i = 0; i < 8; i++)
        errs[i] = w[i].err;
    for (size_t i = 0; i < 7; i++)
        texts[i] = text_of(os, keys[i]);
    texts[7] = NULL;
}

/* Writes, listings and the results' reads and writes keep several requests in flight (the
 * fake holds each request of the kinds tested until enough are in at once, so a client that
 * sends one after another shows fewer), and do what they do one at a time. */
static void test_writes_overlap(void **state)
{
    struct store_fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    struct diag d3, dl;
    int e3[8], el[8], r3, rl;
    char *t3[8], *tl[8];
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 8, S3_FAKE_GATE_PUT, 4); /* the 4 puts of the setup */
    batch_writes(f->os, e3, t3, &d3, &r3);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 8);
    s3_fake_set_overlap_gate(fake, 0);
    batch_writes(local.os, el, tl, &dl, &rl);
    static const int want[6] = {ERR_OK, ERR_OK, ERR_EXISTS, ERR_PRECONDITION, ERR_OK, ERR_NOTFOUND};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(e3[i], want[i]);
        assert_int_equal(el[i], want[i]);
    }
    assert_true((e3[6] == ERR_OK && e3[7] == ERR_EXISTS) ||
                (e3[6] == ERR_EXISTS && e3[7] == ERR_OK));
    assert_true((el[6] == ERR_OK && el[7] == ERR_EXISTS) ||
                (el[6] == ERR_EXISTS && el[7] == ERR_OK));
    /* The first failure in order is returned, with its message. */
    assert_int_equal(r3, ERR_EXISTS);
    assert_int_equal(rl, ERR_EXISTS);
    assert_non_null(strstr(d3.text, "w/a"));
    assert_non_null(strstr(d3.text, "412"));
    for (size_t i = 0; i < 7; i++) {
        if (i == 6)
            assert_true(strcmp(t3[i], "r1") == 0 || strcmp(t3[i], "r2") == 0);
        else
            assert_string_equal(t3[i], tl[i]);
        free(t3[i]);
        free(tl[i]);
    }

    /* A 409 on one write of a batch (a conflicting write in flight) is tried again, alone. */
    struct diag d;
    s3_fake_reset_stats(fake);
    struct s3_fake_fault fl = {S3_FAKE_FAULT_409, 2, 1};
    assert_int_equal(s3_fake_set_faults(fake, &fl, 1, &d), ERR_OK);
    struct objstore_req w[3] = {
        {.op = OBJ_REQ_PUT, .key = "x/1", .data = "1", .len = 1, .mode = OBJ_PUT_CREATE},
        {.op = OBJ_REQ_PUT, .key = "x/2", .data = "2", .len = 1, .mode = OBJ_PUT_CREATE},
        {.op = OBJ_REQ_PUT, .key = "x/3", .data = "3", .len = 1, .mode = OBJ_PUT_CREATE},
    };
    assert_int_equal(objstore_batch(f->os, w, 3, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.requests, 4); /* the three, and the one again */
    assert_int_equal(st.faults, 1);
    assert_int_equal(s3_fake_set_faults(fake, NULL, 0, &d), ERR_OK);
    for (int i = 0; i < 3; i++) {
        char *t = text_of(f->os, w[i].key);
        assert_int_equal(t[0], '1' + i);
        free(t);
    }
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

static void list_of(struct objstore *os, const char *prefix, struct strvec *keys)
{
    struct diag d;
    strvec_init(keys);
    assert_int_equal(objstore_list(os, prefix, keys, &d), ERR_OK);
}

static void assert_same_keys(const struct strvec *a, const struct strvec *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->v[i], b->v[i]);
}

/* Listings: several prefixes at once; a long listing paged ahead (its folders listed at once
 * after its first page); a kept listing answering from memory until a write under it. */
static void test_listings_overlap(void **state)
{
    struct store_fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    struct diag d;
    /* Pages of 3 keys: pa/ holds 4 folders of 5 keys and 2 keys of its own. */
    static const char *const loose[] = {"pa/e", "pa/z"};
    for (int fo = 1; fo <= 4; fo++)
        for (int k = 0; k < 5; k++) {
            char key[32];
            snprintf(key, sizeof key, "pa/f%d/k%d", fo, k);
            put_text(f->os, key, key, NULL);
            put_text(local.os, key, key, NULL);
        }
    for (int i = 0; i < 2; i++) {
        put_text(f->os, loose[i], "x", NULL);
        put_text(local.os, loose[i], "x", NULL);
    }
    struct strvec a, b;

    /* Three prefixes at once (each of two pages). */
    static const char *const three[] = {"pa/f2/", "pa/f1/", "pa/f4/"};
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 3, S3_FAKE_GATE_LIST, 0);
    strvec_init(&a);
    strvec_init(&b);
    assert_int_equal(objstore_list_many(f->os, three, 3, &a, &d), ERR_OK);
    assert_int_equal(objstore_list_many(local.os, three, 3, &b, &d), ERR_OK);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 3);
    assert_same_keys(&a, &b);
    assert_int_equal(a.n, 15);
    assert_string_equal(a.v[0], "pa/f2/k0"); /* in the order of the prefixes */
    strvec_release(&a);
    strvec_release(&b);

    /* Paged ahead: the first page, then the folders' listing (two pages of 3 here), then the
     * folders at once (the first from after the last key read). */
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 4, S3_FAKE_GATE_LIST, 3);
    list_of(f->os, "pa/", &a);
    list_of(local.os, "pa/", &b);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 4);
    assert_same_keys(&a, &b);
    assert_int_equal(a.n, 22);
    strvec_release(&a);
    strvec_release(&b);
    s3_fake_set_overlap_gate(fake, 0);

    /* A kept listing: read along with the first listing of another prefix, then listings
     * under it cost nothing. */
    objstore_keep_listing(f->os, "pa/");
    put_text(f->os, "pb/one", "x", NULL);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 2, S3_FAKE_GATE_LIST, 0);
    list_of(f->os, "pb/", &a);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "pb/one");
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 2);
    s3_fake_set_overlap_gate(fake, 0);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 5);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    /* This store's own writes and deletes under it show in it at once, in key order. */
    put_text(f->os, "pa/f3/k9", "new", NULL);
    put_text(f->os, "pa/f3/k4a", "new", NULL);
    struct objstore_req cr = {
        .op = OBJ_REQ_PUT, .key = "pa/f3/k8", .data = "c", .len = 1, .mode = OBJ_PUT_CREATE};
    assert_int_equal(objstore_batch(f->os, &cr, 1, &d), ERR_OK);
    assert_int_equal(objstore_del(f->os, "pa/f3/k0", &d), ERR_OK);
    list_of(f->os, "pa/f3/", &a);
    static const char *const after[] = {"pa/f3/k1",  "pa/f3/k2", "pa/f3/k3", "pa/f3/k4",
                                        "pa/f3/k4a", "pa/f3/k8", "pa/f3/k9"};
    assert_int_equal(a.n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(a.v[i], after[i]);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    /* Another writer's key is not seen (as if listed once) but by a fresh listing, after
     * which the kept one still answers. */
    struct store_fixture other;
    store_fixture_open(&other, f->location);
    put_text(other.os, "pa/f3/k7", "theirs", NULL);
    store_fixture_close(&other);
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 7);
    strvec_release(&a);
    assert_int_equal(objstore_list_fresh(f->os, 1), 0);
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 8);
    assert_string_equal(a.v[5], "pa/f3/k7");
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_true(st.lists > 0);
    assert_int_equal(objstore_list_fresh(f->os, 0), 1);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 7);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    /* A refused write changes nothing; a write whose outcome is unknown makes the next
     * listing read the store (and see the other writer's key). */
    assert_int_equal(objstore_put(f->os, "pa/f3/k1", "x", 1, OBJ_PUT_IF_MATCH, "\"nope\"", &d),
                     ERR_PRECONDITION);
    assert_int_equal(objstore_put(f->os, "pa/f3/absent", "x", 1, OBJ_PUT_IF_MATCH, "\"nope\"", &d),
                     ERR_NOTFOUND);
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 7);
    strvec_release(&a);
    set_faults("503@1x100");
    assert_int_equal(objstore_put(f->os, "pa/f3/k6", "x", 1, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_UNAVAILABLE);
    set_faults("");
    list_of(f->os, "pa/f3/", &a);
    assert_int_equal(a.n, 8);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_true(st.lists > 0);
    objstore_keep_listing(f->os, NULL);

    /* A listing read ahead goes with the next listing and answers the listings of its prefix
     * until dropped; a write under it drops it. */
    put_text(f->os, "pc/one", "x", NULL);
    put_text(f->os, "pd/one", "x", NULL);
    objstore_list_along(f->os, "pc/");
    objstore_list_along(f->os, "pd/");
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 3, S3_FAKE_GATE_LIST, 0);
    list_of(f->os, "pb/", &a);
    assert_int_equal(a.n, 1);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 3);
    s3_fake_set_overlap_gate(fake, 0);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pd/", &a);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "pd/one");
    strvec_release(&a);
    list_of(f->os, "pc/", &a);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "pc/one");
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    list_of(f->os, "pc/", &a);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    objstore_list_along(f->os, NULL);
    list_of(f->os, "pc/", &a);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 1);
    objstore_list_along(f->os, "pc/");
    list_of(f->os, "pb/", &a);
    strvec_release(&a);
    put_text(f->os, "pc/two", "x", NULL);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pc/", &a);
    assert_int_equal(a.n, 2);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 1);

    /* A listing read ahead goes with the next round of any kind: a batch of GETs. */
    objstore_list_along(f->os, NULL);
    objstore_list_along(f->os, "pd/");
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 3, S3_FAKE_GATE_GET | S3_FAKE_GATE_LIST, 0);
    struct buf g1 = BUF_INIT(1024), g2 = BUF_INIT(1024);
    struct objstore_req gets[2] = {{.op = OBJ_REQ_GET, .key = "pc/one", .out = &g1},
                                   {.op = OBJ_REQ_GET, .key = "pd/one", .out = &g2}};
    assert_int_equal(objstore_batch(f->os, gets, 2, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    s3_fake_set_overlap_gate(fake, 0);
    assert_true(st.inflight_max >= 3);
    assert_int_equal(st.lists, 1);
    buf_release(&g1);
    buf_release(&g2);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pd/", &a);
    assert_int_equal(a.n, 1);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    objstore_list_along(f->os, NULL);

    /* Kept when listed: never read along with another listing, but once the caller lists the
     * prefix itself, it answers the listings under it. */
    objstore_keep_listing_when_listed(f->os, "pa/");
    s3_fake_reset_stats(fake);
    list_of(f->os, "pb/", &a);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 1);
    list_of(f->os, "pa/f2/", &a);
    assert_int_equal(a.n, 5);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_true(st.lists > 1); /* not kept: pa/ itself was not listed */
    list_of(f->os, "pa/", &a);
    assert_true(a.n > 20);
    strvec_release(&a);
    s3_fake_reset_stats(fake);
    list_of(f->os, "pa/f2/", &a);
    assert_int_equal(a.n, 5);
    strvec_release(&a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.lists, 0);
    objstore_keep_listing(f->os, NULL);
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

/* The split log's parts are read at once, and with keep set once for a run: again only
 * after this barstore adds to it. */
static void test_split_log_once(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    size_t added;
    struct split sp[3] = {
        {"AAA", 0, 2000000, 1000000}, {"BBB", 0, 3000000, 1000000}, {"CCC", 0, 4000000, 1000000}};
    for (int i = 0; i < 3; i++) {
        date_parse("2024-06-10", 10, &sp[i].ex_date);
        assert_int_equal(barstore_write_splits(f->bs, &sp[i], 1, &added, &d), ERR_OK);
        assert_int_equal(added, 1);
    }
    struct splitvec a, b;
    splitvec_init(&a);
    splitvec_init(&b);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate(fake, 3);
    assert_int_equal(barstore_read_splits(f->bs, &a, &d), ERR_OK);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 3);
    assert_int_equal(a.n, 3);
    s3_fake_set_overlap_gate(fake, 0);

    barstore_keep_splits(f->bs, 1);
    assert_int_equal(barstore_read_splits(f->bs, &b, &d), ERR_OK);
    s3_fake_reset_stats(fake);
    b.n = 0;
    assert_int_equal(barstore_read_splits(f->bs, &b, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(b.n, a.n);
    assert_memory_equal(b.v, a.v, a.n * sizeof *a.v);
    struct split more = {"DDD", 0, 5000000, 1000000};
    date_parse("2024-06-11", 10, &more.ex_date);
    assert_int_equal(barstore_write_splits(f->bs, &more, 1, &added, &d), ERR_OK);
    b.n = 0;
    assert_int_equal(barstore_read_splits(f->bs, &b, &d), ERR_OK);
    assert_int_equal(b.n, 4);

    /* The symbol-change log likewise. */
    struct symchange sc = {"OLD", "NEW", 0};
    date_parse("2024-06-12", 10, &sc.date);
    assert_int_equal(symlog_write(f->bs, &sc, 1, &added, &d), ERR_OK);
    struct symchangevec c;
    symchangevec_init(&c);
    assert_int_equal(symlog_read(f->bs, &c, &d), ERR_OK);
    assert_int_equal(c.n, 1);
    s3_fake_reset_stats(fake);
    c.n = 0;
    assert_int_equal(symlog_read(f->bs, &c, &d), ERR_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].new_symbol, "NEW");
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.requests, 0);
    struct symchange sc2 = {"OTHER", "NEWER", 0};
    date_parse("2024-06-13", 10, &sc2.date);
    assert_int_equal(symlog_write(f->bs, &sc2, 1, &added, &d), ERR_OK);
    c.n = 0;
    assert_int_equal(symlog_read(f->bs, &c, &d), ERR_OK);
    assert_int_equal(c.n, 2);
    symchangevec_release(&c);
    barstore_keep_splits(f->bs, 0);
    splitvec_release(&a);
    splitvec_release(&b);
}

/* The simulator's first bars request waits until the fake holds the split part's GET, then
 * lets both go: only a collector that reads the split log while it fetches has them at once
 * (one that reads it before or after the fetch never does, and the wait gives up). */
static int bars_wait_for_log(void *ctx, struct alpaca_sim_call *call, struct httpd_response *r)
{
    (void)r;
    int *seen = ctx;
    if (call->ep == ALPACA_SIM_EP_BARS && !__atomic_load_n(seen, __ATOMIC_SEQ_CST)) {
        if (s3_fake_wait_held(fake, 1))
            __atomic_store_n(seen, 1, __ATOMIC_SEQ_CST);
        s3_fake_release(fake);
    }
    return 0;
}

/* The collector reads the split log (its listing with the first listing, its parts on a
 * thread) while the bars and actions are fetched; the run's outcome is as before. */
struct newest {
    int32_t date;
    size_t n;
};

static int newest_cb(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    (void)rows;
    struct newest *nw = ctx;
    nw->date = date;
    nw->n = n;
    return ERR_OK;
}

/* A full-history screen on S3 lists the split log, the symbol-change log and the bar parts at
 * once (each listing is a round trip); a directory lists as it reads (test_store). */
static void test_screen_lists_at_once(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    /* Three parts over five years: the bar listing is one page of the fake's three keys. */
    struct bar bars[3];
    for (int y = 0; y < 3; y++) {
        char day[11];
        date_format(date_from_ymd(2020 + 2 * y, 1, 6), day);
        bars[y] = tu_bar("AAA", day, 10 + y, 11 + y, 9 + y, 10 + y, 100);
    }
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bars, 3, NULL, &ws, &d), ERR_OK);
    struct screen_opts so;
    screen_opts_default(&so);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 3, S3_FAKE_GATE_LIST, 0);
    struct newest nw = {0};
    struct screen_run_stats rs;
    int err = screen_run(f->bs, &so, SCREEN_RUN_FIRST, INT32_MAX, newest_cb, &nw, &rs, &d);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    s3_fake_set_overlap_gate(fake, 0);
    assert_int_equal(err, ERR_OK);
    assert_int_equal(nw.date, date_from_ymd(2024, 1, 6));
    assert_int_equal(rs.days_ranked, 3);
    assert_int_equal(st.lists, 3);
    assert_true(st.inflight_max >= 3);
}

/* The simulator of so on 127.0.0.1 (at most 10 symbols), its symbols, and a client for it. */
struct sim_world {
    struct alpaca_sim *sim;
    const char *syms[10];
    size_t n;
    struct http_client *http;
    char url[64];
};

static void sim_world_start(struct sim_world *w, const struct alpaca_sim_opts *so)
{
    struct diag d;
    int port;
    assert_int_equal(alpaca_sim_start(so, &w->sim, &port, &d), ERR_OK);
    w->n = alpaca_sim_nsymbols(w->sim);
    assert_true(w->n <= 10);
    for (size_t i = 0; i < w->n; i++)
        w->syms[i] = alpaca_sim_symbol(w->sim, i);
    assert_int_equal(http_client_new(NULL, &w->http, &d), ERR_OK);
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%d", port);
}

/* co collects from w's simulator on 2026-11-22T12:00Z (the end is 2026-11-20). */
static void sim_world_collect_opts(struct sim_world *w, struct collect_opts *co)
{
    co->data_url = w->url;
    co->key_id = "SIMKEY";
    co->secret_key = "SIMSECRET";
    co->http = w->http;
    co->now_ms = 1795348800000LL;
}

static void sim_world_stop(struct sim_world *w)
{
    http_client_free(w->http);
    alpaca_sim_stop(w->sim);
}

static void test_collect_log_overlap(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    size_t added;
    struct split sp = {"ZZZ", 0, 2000000, 1000000};
    date_parse("2024-06-10", 10, &sp.ex_date);
    assert_int_equal(barstore_write_splits(f->bs, &sp, 1, &added, &d), ERR_OK);
    struct strvec keys;
    strvec_init(&keys);
    assert_int_equal(objstore_list(f->os, "splits/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);

    int seen = 0;
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 11;
    so.nsymbols = 10;
    assert_int_equal(date_parse("2026-11-20", 10, &so.last_day), ERR_OK);
    so.first_day = so.last_day - 60;
    so.hooks.ctx = &seen;
    so.hooks.before = bars_wait_for_log;
    struct sim_world w;
    sim_world_start(&w, &so);
    const char *const *syms = w.syms;
    size_t n = w.n;
    struct collect_opts co;
    collect_opts_default(&co);
    sim_world_collect_opts(&w, &co);
    co.history_days = 30;

    assert_int_equal(date_parse("2026-11-19", 10, &co.end), ERR_OK);
    s3_fake_hold(fake, keys.v[0]);
    s3_fake_reset_stats(fake);
    struct collect_stats st;
    assert_int_equal(collect_run(f->bs, syms, n, &co, &st, &d), ERR_OK);
    assert_true(__atomic_load_n(&seen, __ATOMIC_SEQ_CST));
    assert_int_equal(st.symbols_failed, 0);
    assert_true(st.bars_new > 0);
    struct s3_fake_stats fs;
    s3_fake_get_stats(fake, &fs);
    assert_int_equal(fs.held, 0);
    s3_fake_release(fake);
    strvec_release(&keys);

    /* The next day: the stored days of the settle window, which the write reads first, are
     * read while the bars are fetched too (the look back reads only the newest, 2026-11-19);
     * the outcome is as without it.  So are, as a daily run asks, the parts of the window its
     * screen of the newest day reads next and those of the days its exports read after (a
     * part of both, and of the settle window, once for each). */
    strvec_init(&keys);
    assert_int_equal(objstore_list(f->os, "bars/2026/2026-11-18/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    co.end = INT32_MIN;
    struct screen_opts sco;
    screen_opts_default(&sco);
    sco.window_days = 40;
    sco.top = 0;
    sco.min_bars = 2;
    co.read_ahead_days[0] = sco.window_days;
    co.read_ahead_days[1] = 60; /* and the exports' days, which hold those of the screen */
    barstore_keep_splits(f->bs, 1);
    objstore_keep_listing(f->os, "bars/");
    objstore_keep_written(f->os, 1 << 20, 4 << 20); /* the new day's part */
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    s3_fake_hold(fake, keys.v[0]);
    assert_int_equal(collect_run(f->bs, syms, n, &co, &st, &d), ERR_OK);
    assert_true(__atomic_load_n(&seen, __ATOMIC_SEQ_CST));
    assert_int_equal(st.symbols_failed, 0);
    assert_int_equal(st.bars_new, n);
    assert_true(st.bars_same >= n);
    assert_int_equal(st.bars_conflict, 0);
    s3_fake_release(fake);
    strvec_release(&keys);
    s3_fake_reset_stats(fake);
    struct newest nw = {0};
    struct screen_run_stats rs;
    assert_int_equal(screen_run(f->bs, &sco, INT32_MIN, INT32_MIN, newest_cb, &nw, &rs, &d),
                     ERR_OK);
    assert_int_equal(nw.date, date_from_ymd(2026, 11, 20));
    assert_int_equal(nw.n, n);
    struct buf scanned = BUF_INIT(1 << 20);
    assert_int_equal(barstore_scan(f->bs, nw.date - 59, nw.date, text_cb, &scanned, &d), ERR_OK);
    assert_true(scanned.len > 0);
    buf_release(&scanned);
    s3_fake_get_stats(fake, &fs);
    assert_int_equal(fs.gets, 0);
    /* What is left is dropped by the caller; the next read goes to the store. */
    objstore_prefetch_drop(f->os);
    scanned = (struct buf)BUF_INIT(1 << 20);
    assert_int_equal(barstore_scan(f->bs, nw.date - 1, nw.date - 1, text_cb, &scanned, &d), ERR_OK);
    buf_release(&scanned);
    s3_fake_get_stats(fake, &fs);
    assert_int_equal(fs.gets, 1);
    objstore_keep_written(f->os, 0, 0);
    objstore_keep_listing(f->os, NULL);
    barstore_keep_splits(f->bs, 0);
    sim_world_stop(&w);
}

/* What the store wrote answers its own reads while kept (objstore_keep_written): no GET, the
 * same text and etag as the store gives; a write that loses to another writer keeps nothing,
 * so the next read sees that writer's object; objects over the limits are read from S3. */
static void test_keep_written(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct s3_fake_stats st;
    char etag[OBJ_ETAG_MAX], etag2[OBJ_ETAG_MAX];
    struct buf b = BUF_INIT(1 << 20);
    objstore_keep_written(f->os, 16, 40);
    s3_fake_reset_stats(fake);
    put_text(f->os, "results/a.csv", "a,1\n", NULL);
    struct objstore_req w = {.op = OBJ_REQ_PUT,
                             .key = "results/b.csv",
                             .data = "b,2\n",
                             .len = 4,
                             .mode = OBJ_PUT_CREATE};
    assert_int_equal(objstore_batch(f->os, &w, 1, &d), ERR_OK);
    for (int i = 0; i < 2; i++) { /* every read, not only the first */
        buf_reset(&b);
        assert_int_equal(objstore_get(f->os, "results/a.csv", &b, etag, &d), ERR_OK);
        assert_string_equal(buf_cstr(&b), "a,1\n");
        char *t = text_of(f->os, "results/b.csv");
        assert_string_equal(t, "b,2\n");
        free(t);
    }
    const char *const both[] = {"results/a.csv", "results/b.csv"};
    objstore_prefetch(f->os, both, 2, 1 << 20);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 0);
    assert_int_equal(st.puts, 2);
    /* The etag is the store's. */
    struct objstore *other;
    assert_int_equal(objstore_open(f->os->location, &other, &d), ERR_OK);
    buf_reset(&b);
    assert_int_equal(objstore_get(other, "results/a.csv", &b, etag2, &d), ERR_OK);
    assert_string_equal(etag, etag2);
    /* Another writer replaces it: this store's conditional write loses and keeps nothing. */
    assert_int_equal(objstore_put(other, "results/a.csv", "a,9\n", 4, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(objstore_put(f->os, "results/a.csv", "a,2\n", 4, OBJ_PUT_IF_MATCH, etag, &d),
                     ERR_PRECONDITION);
    s3_fake_reset_stats(fake);
    char *t = text_of(f->os, "results/a.csv");
    assert_string_equal(t, "a,9\n");
    free(t);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 1);
    /* So does a create that finds the key. */
    assert_int_equal(objstore_put(f->os, "results/b.csv", "b,3\n", 4, OBJ_PUT_CREATE, NULL, &d),
                     ERR_EXISTS);
    t = text_of(f->os, "results/b.csv");
    assert_string_equal(t, "b,2\n");
    free(t);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 2);
    /* Too big for one (over 16 bytes): read from S3; over 40 bytes in all, the oldest copy
     * (c.csv) makes room for the newest. */
    put_text(f->os, "results/big.csv", "0123456789abcdefg\n", NULL);
    put_text(f->os, "results/c.csv", "0123456789abcde", NULL);
    put_text(f->os, "results/d.csv", "0123456789abcde", NULL);
    put_text(f->os, "results/e.csv", "0123456789abcde", NULL);
    s3_fake_reset_stats(fake);
    const char *const keys[] = {"results/big.csv", "results/c.csv", "results/d.csv",
                                "results/e.csv"};
    for (int i = 0; i < 4; i++)
        free(text_of(f->os, keys[i]));
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 2); /* big.csv and c.csv */
    /* A delete drops it; stopping drops them all. */
    assert_int_equal(objstore_del(f->os, "results/d.csv", &d), ERR_OK);
    assert_int_equal(objstore_get(f->os, "results/d.csv", &b, NULL, &d), ERR_NOTFOUND);
    objstore_keep_written(f->os, 0, 0);
    free(text_of(f->os, "results/e.csv"));
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 4);
    objstore_free(other);
    buf_release(&b);
}

/* What one handle wrote and kept answers the reads of another that takes it over
 * (objstore_take_written): no GET; the first keeps nothing afterwards. */
static void test_take_written(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct s3_fake_stats st;
    struct objstore *other;
    assert_int_equal(objstore_reopen(f->os, &other, &d), ERR_OK);
    assert_string_equal(other->location, f->os->location);
    objstore_keep_written(f->os, 1 << 10, 1 << 12);
    objstore_keep_written(other, 1 << 10, 1 << 12);
    put_text(other, "results/backtest/equity.csv", "date,equity\n", NULL);
    put_text(f->os, "results/backtest/equity.csv", "old\n", NULL); /* replaced by other's */
    put_text(f->os, "results/mine.csv", "m\n", NULL);
    put_text(other, "results/backtest/equity.csv", "date,equity,benchmark\n", NULL);
    objstore_take_written(f->os, other);
    s3_fake_reset_stats(fake);
    char *t = text_of(f->os, "results/backtest/equity.csv");
    assert_string_equal(t, "date,equity,benchmark\n");
    free(t);
    t = text_of(f->os, "results/mine.csv");
    assert_string_equal(t, "m\n");
    free(t);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 0);
    t = text_of(other, "results/backtest/equity.csv");
    assert_string_equal(t, "date,equity,benchmark\n");
    free(t);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 1);
    objstore_free(other);
}

struct daily_call {
    struct store_fixture *f;
    const struct daily_opts *o;
    struct daily_report r;
    int err;
    struct diag d;
};

static void *daily_main(void *arg)
{
    struct daily_call *c = arg;
    c->err = daily_run(c->f->os, c->f->bs, c->o, &c->r, &c->d);
    return NULL;
}

/* Whether the fake holds key under the store of f, waiting up to 30 s of real time for it. */
static int appears(const struct store_fixture *f, const char *key)
{
    char full[OBJ_KEY_MAX + 64];
    snprintf(full, sizeof full, "%s/%s", f->location + strlen("s3://" BUCKET "/"), key);
    struct buf b = BUF_INIT(1 << 20);
    int found = 0;
    for (int i = 0; i < 3000 && !found; i++) {
        buf_reset(&b);
        found = s3_fake_get_object(fake, BUCKET, full, &b, NULL, 0) == ERR_OK;
        if (!found)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    buf_release(&b);
    return found;
}

/* The daily run's backtest runs on a thread and a handle of its own from the end of the
 * collection: while its first read is held, the results and the run record are written (one
 * after the other, the backtest's rounds would come after the run record's).  The page then
 * shows its curve, and the run ends as it does in order. */
static void test_daily_backtest_alongside(void **state)
{
    struct store_fixture *f = *state;
    struct alpaca_sim_opts so;
    alpaca_sim_opts_default(&so);
    so.seed = 12;
    so.nsymbols = 10;
    assert_int_equal(date_parse("2026-11-20", 10, &so.last_day), ERR_OK);
    so.first_day = so.last_day - 90;
    struct sim_world w;
    sim_world_start(&w, &so);
    struct daily_opts o;
    daily_opts_default(&o);
    o.symbols = w.syms;
    o.n = w.n;
    o.steps = DAILY_STEP(DAILY_BACKTEST) | DAILY_STEP(DAILY_HTML);
    sim_world_collect_opts(&w, &o.collect);
    o.collect.history_days = 60;
    assert_int_equal(date_parse("2026-11-20", 10, &o.collect.end), ERR_OK);
    setenv("SCREENER_PORTFOLIO", "0", 1);

    s3_fake_hold(fake, BACKTEST_SUMMARY_JSON_KEY);
    struct daily_call c = {.f = f, .o = &o};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, daily_main, &c), 0);
    int held = s3_fake_wait_held(fake, 1);
    int run_written = held && appears(f, RESULTS_RUN_KEY);
    s3_fake_release(fake);
    pthread_join(th, NULL);
    assert_true(held);
    assert_true(run_written);
    if (c.err)
        fail_msg("the daily run failed: %s", c.d.text);
    assert_int_equal(c.r.steps[DAILY_BACKTEST], DAILY_STEP_DONE);
    assert_int_equal(c.r.steps[DAILY_HTML], DAILY_STEP_DONE);
    assert_true(c.r.backtest.trading_days > 0);
    char *page = text_of(f->os, "results/report/2026-11-20.html");
    assert_non_null(strstr(page, "id=\"s-backtest\""));
    assert_null(strstr(page, "could not be shown"));
    free(page);
    unsetenv("SCREENER_PORTFOLIO");
    sim_world_stop(&w);
}

/* The day's results (the dated screen, latest.csv, the top candidates): the reads and the
 * dated screen at once, then the two conditional writes at once; the same files as the
 * functions that write one each. */
static void test_results_day_overlap(void **state)
{
    struct store_fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    struct diag d;
    int32_t d1, d2;
    date_parse("2024-11-21", 10, &d1);
    date_parse("2024-11-22", 10, &d2);
    struct screen_row rows[2];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 2; i++) {
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "S%d", i);
        rows[i].rank = i + 1;
        rows[i].close = 10 + i;
        rows[i].peak = 20 + i;
        rows[i].peak_date = d1 - 3;
        rows[i].drawdown_pct = -50 + i;
        rows[i].days_since_peak = 3;
        rows[i].change_pct = -1;
        rows[i].volume = 100;
    }
    struct s3_fake_stats st;
    for (int run = 0; run < 2; run++) {
        int32_t date = run ? d2 : d1;
        for (int i = 0; i < 2; i++)
            rows[i].date = date;
        s3_fake_reset_stats(fake);
        if (run == 0) /* the first round: the dated screen and the two reads */
            s3_fake_set_overlap_gate_for(fake, 3, S3_FAKE_GATE_GET | S3_FAKE_GATE_PUT, 0);
        else /* the second: the two conditional writes (after the dated screen's) */
            s3_fake_set_overlap_gate_for(fake, 2, S3_FAKE_GATE_PUT, 1);
        struct results_day day;
        results_write_day(f->os, date, rows, 2, 1, &day);
        assert_int_equal(day.screen_err, ERR_OK);
        assert_int_equal(day.top_err, ERR_OK);
        s3_fake_get_stats(fake, &st);
        assert_true(st.inflight_max >= (run ? 2u : 3u));
        assert_int_equal(st.puts, 3);
        assert_int_equal(results_write_screen(local.os, date, rows, 2, 1, &d), ERR_OK);
        assert_int_equal(results_append_top(local.os, date, rows, 2, 1, &d), ERR_OK);
    }
    s3_fake_set_overlap_gate(fake, 0);
    char key[OBJ_KEY_MAX];
    results_screen_key(d1, key);
    const char *const keys[] = {RESULTS_LATEST_KEY, RESULTS_TOP_KEY, key};
    for (int i = 0; i < 3; i++) {
        char *a = text_of(f->os, keys[i]), *b = text_of(local.os, keys[i]);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    /* The bot's /stock reads the latest screen and the closes together (closes.csv is absent
     * here: an answer like any other), and says what it said before. */
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate(fake, 2);
    struct bot_opts o = {.os = f->os, .now_ms = 1795453200000LL};
    static const char json[] = "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,"
                               "\"type\":\"private\"},\"date\":1,\"text\":\"/stock s1\"}}";
    struct tg_update u;
    assert_int_equal(tg_update_parse(json, strlen(json), &u, &d), ERR_OK);
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&o, &u, &r, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 2);
    assert_int_equal(st.gets, 2);
    assert_int_equal(r.texts.n, 1);
    assert_non_null(strstr(r.texts.v[0], "<b>S1</b> · 2024-11-22"));
    assert_non_null(strstr(r.texts.v[0], "of 2 by drawdown"));
    bot_reply_release(&r);
    s3_fake_set_overlap_gate(fake, 0);

    /* /download checks its six files at once: two are there, four not produced yet. */
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 6, S3_FAKE_GATE_HEAD, 0);
    static const char json2[] = "{\"update_id\":2,\"message\":{\"message_id\":2,\"chat\":{\"id\":7,"
                                "\"type\":\"private\"},\"date\":1,\"text\":\"/download\"}}";
    assert_int_equal(tg_update_parse(json2, strlen(json2), &u, &d), ERR_OK);
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&o, &u, &r, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_true(st.inflight_max >= 6);
    assert_int_equal(st.heads, 6);
    const char *t = r.texts.v[0];
    assert_non_null(strstr(t, "\">Latest screen</a>"));
    assert_non_null(strstr(t, "\">Top candidates, every day</a>"));
    assert_non_null(strstr(t, "X-Amz-Signature="));
    assert_non_null(strstr(t, "Bars of the last year: not produced yet"));
    assert_non_null(strstr(t, "Backtest trades: not produced yet"));
    bot_reply_release(&r);
    s3_fake_set_overlap_gate(fake, 0);

    /* Rows out of order fail both, as each function does alone. */
    struct results_day day;
    rows[1].rank = 1;
    results_write_day(f->os, d2, rows, 2, 1, &day);
    assert_int_equal(day.screen_err, ERR_INVALID);
    assert_int_equal(day.top_err, ERR_INVALID);
    assert_int_equal(results_write_screen(f->os, d2, rows, 2, 1, &d), ERR_INVALID);
    assert_string_equal(day.screen_d.text, d.text);
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

/* The exports (closes.csv, bars-1y.csv) go in the day's first round, with the dated screen and
 * the reads of latest.csv and of the history: the fake holds each GET and PUT until 5 are in at
 * once, which writing the exports after the day's results never reaches.  Every file is what
 * the functions write one by one, and rows that cannot be written leave the exports written. */
static void test_results_exports_along(void **state)
{
    struct store_fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    struct diag d;
    int32_t t = date_from_ymd(2025, 6, 2), last = 0;
    struct bar bars[3 * 30];
    size_t nb = 0;
    for (int i = 0; i < 30; i++, t++) {
        t = tu_weekday_from(t);
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        double c = 40 + (i % 7);
        bars[nb++] = tu_bar("AAA", day, c, c + 1, c - 1, c, 100);
        bars[nb++] = tu_bar("BBB", day, 5, 6, 4, 5, 100);
        bars[nb++] = tu_bar("CCC", day, 7 + i % 3, 10, 6, 7 + i % 3, 100);
        last = t;
    }
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bars, nb, NULL, &ws, &d), ERR_OK);
    assert_int_equal(barstore_write(local.bs, bars, nb, NULL, &ws, &d), ERR_OK);
    struct screen_row rows[2];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 2; i++) {
        snprintf(rows[i].symbol, sizeof rows[i].symbol, "%s", i ? "CCC" : "AAA");
        rows[i].date = last;
        rows[i].rank = i + 1;
        rows[i].close = 10 + i;
        rows[i].peak = 20 + i;
        rows[i].peak_date = last - 3;
        rows[i].drawdown_pct = -50 + i;
        rows[i].days_since_peak = 3;
        rows[i].change_pct = -1;
        rows[i].volume = 100;
    }
    struct results_exports x;
    assert_int_equal(results_exports_make(f->bs, last, &x, &d), ERR_OK);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 5, S3_FAKE_GATE_GET | S3_FAKE_GATE_PUT, 0);
    struct results_day day;
    results_write_day_with(f->os, last, rows, 2, 1, &x, &day);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    s3_fake_set_overlap_gate(fake, 0);
    assert_int_equal(day.screen_err, ERR_OK);
    assert_int_equal(day.top_err, ERR_OK);
    assert_int_equal(day.exports_err, ERR_OK);
    if (st.inflight_max < 5)
        fail_msg("the exports' writes did not go with the day's first round (%llu in flight)",
                 (unsigned long long)st.inflight_max);
    assert_int_equal(st.puts, 5); /* the dated screen, the exports, latest.csv, the history */
    assert_int_equal(st.gets, 2);
    assert_int_equal(results_write_screen(local.os, last, rows, 2, 1, &d), ERR_OK);
    assert_int_equal(results_append_top(local.os, last, rows, 2, 1, &d), ERR_OK);
    assert_int_equal(results_write_exports(local.os, local.bs, last, &d), ERR_OK);
    char key[OBJ_KEY_MAX];
    results_screen_key(last, key);
    const char *const keys[] = {RESULTS_LATEST_KEY, RESULTS_TOP_KEY, key, RESULTS_CLOSES_KEY,
                                RESULTS_BARS1Y_KEY};
    for (int i = 0; i < 5; i++) {
        char *a = text_of(f->os, keys[i]), *b = text_of(local.os, keys[i]);
        assert_string_equal(a, b);
        assert_null(strstr(a, "(absent)"));
        free(a);
        free(b);
    }
    /* Rows out of order: the day's results fail as alone, the exports are written. */
    assert_int_equal(objstore_del(f->os, RESULTS_CLOSES_KEY, &d), ERR_OK);
    rows[1].rank = 1;
    s3_fake_reset_stats(fake);
    results_write_day_with(f->os, last, rows, 2, 1, &x, &day);
    assert_int_equal(day.screen_err, ERR_INVALID);
    assert_int_equal(day.top_err, ERR_INVALID);
    assert_int_equal(day.exports_err, ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.puts, 2);
    char *a = text_of(f->os, RESULTS_CLOSES_KEY), *b = text_of(local.os, RESULTS_CLOSES_KEY);
    assert_string_equal(a, b);
    free(a);
    free(b);
    results_exports_release(&x);
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

/* A scan's parts and an object read ahead in one round (barstore_prefetch_more, as the daily
 * run's backtest reads the store): the fake holds each GET until all 31 are in at once (30 day
 * parts, an object).  The scan and the read after it are answered from memory; a scan of more
 * parts than its bound is not read ahead, and a directory reads nothing ahead. */
static void test_scan_read_ahead(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    int32_t t = date_from_ymd(2025, 6, 2), first = 0, last = 0;
    struct bar bars[2 * 30];
    size_t nb = 0;
    for (int i = 0; i < 30; i++, t++) {
        t = tu_weekday_from(t);
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        bars[nb++] = tu_bar("AAA", day, 40 + i, 41 + i, 39 + i, 40 + i, 100);
        bars[nb++] = tu_bar("BBB", day, 5, 6, 4, 5, 100);
        first = first ? first : t;
        last = t;
    }
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bars, nb, NULL, &ws, &d), ERR_OK);
    put_text(f->os, "results/next.json", "{}", NULL);
    objstore_keep_listing(f->os, "bars/");
    struct strvec keys;
    strvec_init(&keys);
    assert_int_equal(objstore_list(f->os, "bars/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 30);
    strvec_release(&keys);

    static const char *const next[] = {"results/next.json"};
    struct barstore_ahead more = {.nscans = 1, .scan_max = 30, .keys = next, .n = 1};
    more.scan[0].from = first;
    more.scan[0].to = last;
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 31, S3_FAKE_GATE_GET, 0);
    barstore_prefetch_more(f->bs, 1, 0, 0, 0, &more);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    s3_fake_set_overlap_gate(fake, 0);
    if (st.inflight_max < 31)
        fail_msg("the reads ahead did not go at once (%llu in flight)",
                 (unsigned long long)st.inflight_max);
    assert_int_equal(st.gets, 31);
    s3_fake_reset_stats(fake);
    struct buf scanned = BUF_INIT(1 << 20);
    assert_int_equal(barstore_scan(f->bs, first, last, text_cb, &scanned, &d), ERR_OK);
    assert_non_null(strstr(buf_cstr(&scanned), "BBB"));
    buf_release(&scanned);
    char *a = text_of(f->os, "results/next.json");
    assert_string_equal(a, "{}");
    free(a);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 0);

    /* Over the bound: the object alone is read. */
    more.scan_max = 29;
    s3_fake_reset_stats(fake);
    barstore_prefetch_more(f->bs, 1, 0, 0, 0, &more);
    s3_fake_get_stats(fake, &st);
    assert_int_equal(st.gets, 1);
    objstore_prefetch_drop(f->os);
    objstore_keep_listing(f->os, NULL);

    /* A directory reads nothing ahead; its scan reads the parts. */
    char *dir = tu_mkdtemp();
    struct store_fixture local;
    store_fixture_open(&local, dir);
    assert_int_equal(barstore_write(local.bs, bars, nb, NULL, &ws, &d), ERR_OK);
    barstore_prefetch_more(local.bs, 1, 0, 0, 0, &more);
    scanned = (struct buf)BUF_INIT(1 << 20);
    assert_int_equal(barstore_scan(local.bs, first, last, text_cb, &scanned, &d), ERR_OK);
    assert_non_null(strstr(buf_cstr(&scanned), "BBB"));
    buf_release(&scanned);
    store_fixture_close(&local);
    tu_rmrf(dir);
    free(dir);
}

/* /chart on S3 reads the results (bars-1y.csv and the split log), a few requests, not the
 * bar store's day parts (hundreds: one list page and one GET per day of a year and a half),
 * and draws the same series as the bar store gives. */
/* A screen of the latest day by a command that reads the store for it alone: the bar parts,
 * the split log and the symbol-change log listed at once, then every part its window needs
 * and the split log's read at once, and nothing listed again (before: the year of the window
 * listed again, the split log's part read alone). */
static void test_screen_alone_two_rounds(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    struct bar bars[6];
    for (int i = 0; i < 3; i++) {
        char day[DATE_STRLEN + 1];
        date_format(date_from_ymd(2026, 3, 2 + i), day);
        bars[2 * i] = tu_bar("AAA", day, 10 + i, 11 + i, 9 + i, 10 + i, 100);
        bars[2 * i + 1] = tu_bar("BBB", day, 20 - i, 21 - i, 19 - i, 20 - i, 100);
    }
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bars, 6, NULL, &ws, &d), ERR_OK);
    struct split sp = {.symbol = "AAA",
                       .ex_date = date_from_ymd(2026, 3, 3),
                       .new_rate = 2000000,
                       .old_rate = 1000000};
    size_t added;
    assert_int_equal(barstore_write_splits(f->bs, &sp, 1, &added, &d), ERR_OK);

    struct screen_opts so;
    screen_opts_default(&so);
    so.min_bars = 2;
    barstore_read_once(f->bs, 1);
    symlog_ahead(f->bs);
    s3_fake_reset_stats(fake);
    s3_fake_set_overlap_gate_for(fake, 4, S3_FAKE_GATE_GET, 0);
    struct newest nw = {0};
    struct screen_run_stats rs;
    int err = screen_run_alone(f->bs, &so, INT32_MIN, INT32_MIN, newest_cb, &nw, &rs, &d);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    s3_fake_set_overlap_gate(fake, 0);
    barstore_read_once(f->bs, 0);
    assert_int_equal(err, ERR_OK);
    assert_int_equal(nw.date, date_from_ymd(2026, 3, 4));
    assert_int_equal(nw.n, 2);
    assert_int_equal(st.lists, 3); /* bars/, splits/, symbols/ */
    assert_int_equal(st.gets, 4);  /* the three days' parts and the split log's */
    assert_true(st.inflight_max >= 4);
}

static void test_chart_reads_few_objects(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    int32_t start = date_from_ymd(2025, 6, 2), t = start, last = 0;
    struct bar *bars = calloc(1200, sizeof *bars);
    size_t nb = 0;
    for (int i = 0; i < 400; i++, t++) {
        t = tu_weekday_from(t);
        char day[DATE_STRLEN + 1];
        date_format(t, day);
        double c = 40 + (i % 17) * 0.5;
        /* AAA's high of 90 on day 78: before the chart's year, in its first days' window. */
        bars[nb++] = tu_bar("AAA", day, c, i == 78 ? 90 : c + 1, c - 1, c, 100);
        bars[nb++] = tu_bar("BBB", day, 5, 6, 4, 5, 100);
        bars[nb++] = tu_bar("CCC", day, 7, 8, 6, 7, 100);
        last = t;
    }
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, bars, nb, NULL, &ws, &d), ERR_OK);
    free(bars);
    assert_int_equal(results_write_exports(f->os, f->bs, last, &d), ERR_OK);

    s3_fake_reset_stats(fake);
    struct bot_opts o = {.os = f->os, .now_ms = 1795453200000LL};
    char json[256];
    snprintf(json, sizeof json,
             "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":7,"
             "\"type\":\"private\"},\"date\":1,\"text\":\"/chart aaa\"}}");
    struct tg_update u;
    assert_int_equal(tg_update_parse(json, strlen(json), &u, &d), ERR_OK);
    struct bot_reply r;
    bot_reply_init(&r);
    assert_int_equal(bot_handle(&o, &u, &r, &d), ERR_OK);
    struct s3_fake_stats st;
    s3_fake_get_stats(fake, &st);
    assert_true(r.photo.len > 10000);
    assert_memory_equal(r.photo.data, "\x89PNG\r\n\x1a\n", 8);
    if (st.requests > 4)
        fail_msg("/chart made %llu requests (%llu GET, %llu LIST)", (unsigned long long)st.requests,
                 (unsigned long long)st.gets, (unsigned long long)st.lists);
    /* The caption's peak is AAA's latest 180-day one, the picture's first days' the 90. */
    char want[DATE_STRLEN + 1];
    date_format(last, want);
    assert_non_null(strstr(r.caption, want));
    bot_reply_release(&r);

    struct chart_series a, b;
    s3_fake_reset_stats(fake);
    assert_int_equal(chart_load(f->os, "AAA", 0, 180, &a, &d), ERR_OK);
    s3_fake_get_stats(fake, &st);
    assert_true(st.requests > 300); /* what /chart no longer does */
    assert_int_equal(chart_load_results(f->os, "AAA", 180, &b, &d), ERR_OK);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        assert_int_equal(a.v[i].date, b.v[i].date);
        assert_true(a.v[i].close == b.v[i].close && a.v[i].peak == b.v[i].peak);
    }
    assert_true(b.v[0].peak == 90.0);
    chart_series_release(&a);
    chart_series_release(&b);
}

int main(void)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        CASE(store_case_put_get_list),
        CASE(store_case_get_many_take),
        CASE(store_case_big_object),
        CASE(store_case_barstore_write_read),
        CASE(store_case_barstore_conflicts),
        CASE(store_case_barstore_reader_validates),
        CASE(store_case_barstore_scan_many_days),
        CASE(store_case_barstore_disagreeing_parts),
        CASE(store_case_barstore_revisions),
        CASE(store_case_barstore_final_revised),
        CASE(store_case_barstore_damaged_parts),
        CASE(store_case_barstore_scan_ahead),
        CASE(store_case_splits),
        CASE(store_case_split_bounds),
        CASE(store_case_concurrent_create),
        CASE(store_case_concurrent_if_match),
        CASE(store_case_concurrent_barstore),
        CASE(test_keys_live_under_the_prefix),
        CASE(test_foreign_keys_are_skipped),
        CASE(test_transient_faults_are_retried),
        CASE(test_big_bodies_sent_again_after_faults),
        CASE(test_retries_run_out),
        CASE(test_lost_answer),
        CASE(test_missing_object_and_delete),
        CASE(test_refused_credentials),
        CASE(test_clock_skew),
        CASE(test_batch_error_names_the_store_once),
        CASE(test_global_endpoint),
        CASE(test_bad_locations),
        CASE(test_session_token),
        CASE(test_secrets_never_logged),
        CASE(test_reads_overlap),
        CASE(test_window_slides_while_handing_on),
        CASE(test_months_slide),
        CASE(test_chart_reads_few_objects),
        CASE(test_writes_overlap),
        CASE(test_listings_overlap),
        CASE(test_split_log_once),
        CASE(test_collect_log_overlap),
        CASE(test_screen_lists_at_once),
        CASE(test_screen_alone_two_rounds),
        CASE(test_results_day_overlap),
        CASE(test_results_exports_along),
        CASE(test_scan_read_ahead),
        CASE(test_keep_written),
        CASE(test_take_written),
        CASE(test_daily_backtest_alongside),
        CASE(test_held_reads),
    };
    return cmocka_run_group_tests_name("store on S3", tests, group_setup, group_teardown);
}
