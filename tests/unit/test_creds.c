/* Unit tests: AWS credentials and region (aws/creds.h): the INI format, the profile lookup,
 * loading from the environment and the files, the remote providers' answers (STS XML,
 * credential JSON, times, command lines), and the whole provider chain against the fake STS,
 * container endpoint and IMDSv2 of tests/fakes/creds_fake.c (good and bad days: 500s,
 * malformed answers, expired credentials, denials, timeouts), credential_process scripts,
 * and the refresh before expiry, with the messages given and the secrets kept out of them.
 * Time is injected: nothing sleeps for real (a timeout waits for an answer that never
 * comes). */
#include "testutil.h"

#include "aws/creds.h"
#include "aws/s3.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "fakes/creds_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/banned.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET1"
#define TOKEN  "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+with=="

/* ---- the INI format ---- */

static int collect(void *ctx, const struct aws_creds_ini_entry *e)
{
    struct buf *out = ctx;
    if (!e->key)
        return buf_printf(out, "[%.*s]@%zu;", (int)e->section_len, e->section, e->line);
    return buf_printf(out, "%.*s|%.*s|%.*s@%zu;", (int)e->section_len, e->section, (int)e->key_len,
                      e->key, (int)e->value_len, e->value, e->line);
}

static int parse(const char *text, struct buf *out, struct diag *d)
{
    buf_reset(out);
    diag_clear(d);
    return aws_creds_ini_parse(text, strlen(text), collect, out, d);
}

static void test_ini_format(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(1 << 16);
    struct diag d;
    const char *text = "\xEF\xBB\xBF# a comment\r\n"
                       "; another\n"
                       "\n"
                       "[default]\r\n"
                       "aws_access_key_id=AKID\r\n"
                       "  Region = us-east-1   # inline comment\n"
                       "s3 =\n"
                       "    max_concurrent_requests = 20\n"
                       "    addressing_style: path\n"
                       "output: json ;also a comment\n"
                       "  [ profile  prod ]  ; comment after a section\n"
                       "\tkey = a#b c;d\n"
                       "empty =\n"
                       "last = no newline";
    assert_int_equal(parse(text, &out, &d), ERR_OK);
    /* Line 6 is indented under line 5, so it continues it (and is skipped), like the nested
     * lines 8 and 9; an indented section line is still a section. */
    assert_string_equal(out.data, "[default]@4;default|aws_access_key_id|AKID@5;"
                                  "default|s3|@7;"
                                  "default|output|json@10;[profile  prod]@11;"
                                  "profile  prod|key|a#b c;d@12;profile  prod|empty|@13;"
                                  "profile  prod|last|no newline@14;");
    /* Keys indented alike are keys, as in Python's configparser (which botocore uses). */
    assert_int_equal(parse("[default]\n  a = 1\n  b = 2\n    nested\n  c = 3\n", &out, &d), ERR_OK);
    assert_string_equal(out.data, "[default]@1;default|a|1@2;default|b|2@3;default|c|3@5;");
    assert_int_equal(parse("", &out, &d), ERR_OK);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_ini_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[default\nk = v\n", "line 1: '[' without a closing ']'"},
        {"[a] b\n", "line 1: text after the section's ']'"},
        {"[ ]\n", "line 1: an empty section name"},
        {"aws_secret_access_key = " SECRET "\n", "line 1: a setting before any [section]"},
        {"[default]\n\n" SECRET "\n", "line 3: expected 'name = value', '[section]' or a comment"},
        {"[default]\n = " SECRET "\n", "line 2: a value without a name"},
    };
    struct buf out = BUF_INIT(1 << 16);
    struct diag d;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int err = parse(cases[i].text, &out, &d);
        if (err != ERR_PARSE || strcmp(d.text, cases[i].want) != 0)
            fail_msg("case %zu: %s '%s', want PARSE '%s'", i, err_name(err), d.text, cases[i].want);
        assert_null(strstr(d.text, "SECRET"));
    }
    /* A NUL byte is refused, not taken as the end. */
    static const char nul[] = "[default]\nk = a\0b\n";
    assert_int_equal(aws_creds_ini_parse(nul, sizeof nul - 1, collect, &out, &d), ERR_PARSE);
    assert_string_equal(d.text, "line 2: a NUL byte");
    buf_release(&out);
}

/* ---- profiles ---- */

static void test_profile_lookup(void **state)
{
    (void)state;
    struct aws_creds_profile p;
    struct diag d;
    const char *cred = "[default]\naws_access_key_id = AKIDDEFAULT\n"
                       "aws_secret_access_key = " SECRET "\n"
                       "[prod]\nAWS_ACCESS_KEY_ID = AKIDPROD\naws_secret_access_key = s1\n"
                       "aws_session_token = " TOKEN "\n"
                       "[default]\naws_access_key_id = AKIDLATER\n";
    assert_int_equal(aws_creds_ini_profile(cred, strlen(cred), "default", 0, &p, &d), ERR_OK);
    assert_true(p.found);
    assert_string_equal(p.access_key_id, "AKIDLATER"); /* later sections add to earlier ones */
    assert_true(strcmp(p.secret_access_key, SECRET) == 0);
    assert_string_equal(p.session_token, "");
    assert_int_equal(aws_creds_ini_profile(cred, strlen(cred), "prod", 0, &p, &d), ERR_OK);
    assert_string_equal(p.access_key_id, "AKIDPROD");
    assert_true(strcmp(p.session_token, TOKEN) == 0);
    assert_int_equal(aws_creds_ini_profile(cred, strlen(cred), "other", 0, &p, &d), ERR_OK);
    assert_false(p.found);

    const char *conf =
        "[default]\nregion = eu-west-3\n"
        "[prod]\nregion = wrong-1\n"
        "[profile\t  prod]\nregion = us-west-2\n"
        "[profile default]\noutput = json\n"
        "[profile sso]\nsso_session = corp\nregion = us-east-1\n"
        "[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n";
    assert_int_equal(aws_creds_ini_profile(conf, strlen(conf), "default", 1, &p, &d), ERR_OK);
    assert_string_equal(p.region, "eu-west-3");
    assert_int_equal(aws_creds_ini_profile(conf, strlen(conf), "prod", 1, &p, &d), ERR_OK);
    assert_string_equal(p.region, "us-west-2"); /* "[prod]" is not a profile in a config file */
    assert_int_equal(aws_creds_ini_profile(conf, strlen(conf), "sso", 1, &p, &d), ERR_OK);
    assert_string_equal(p.unsupported, "sso_session");
    assert_int_equal(aws_creds_ini_profile(conf, strlen(conf), "role", 1, &p, &d), ERR_OK);
    /* role_arn is read (it serves web identity profiles); source_profile is what is not
     * supported. */
    assert_string_equal(p.role_arn, "arn:aws:iam::1:role/x");
    assert_string_equal(p.unsupported, "source_profile");
    assert_string_equal(p.access_key_id, "");
    assert_int_equal(aws_creds_ini_profile(conf, strlen(conf), "profile prod", 0, &p, &d), ERR_OK);
    assert_false(p.found);

    /* A value too long for its field: the message names the setting, not the value. */
    struct buf big = BUF_INIT(1 << 16);
    buf_puts(&big, "[default]\naws_session_token = ");
    for (int i = 0; i < AWS_CREDS_TOKEN_MAX; i++)
        buf_putc(&big, 'T');
    assert_int_equal(aws_creds_ini_profile(big.data, big.len, "default", 0, &p, &d), ERR_TOOBIG);
    assert_string_equal(d.text, "line 2: aws_session_token is longer than 4095 bytes");
    assert_string_equal(p.session_token, "");
    /* ... unless it is in a profile nobody asked for. */
    assert_int_equal(aws_creds_ini_profile(big.data, big.len, "prod", 0, &p, &d), ERR_OK);
    buf_release(&big);
}

/* ---- loading ---- */

static const char *const env_names[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
};

/* ---- the fake clock: wall time stands still, sleeping advances it ---- */

static int64_t fake_now_ms;

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
}

static const struct clock_source fake_clock = {fake_wall, fake_mono, fake_sleep, NULL};

/* 2026-01-01 at hh:mm UTC. */
static int64_t at(int hh, int mm)
{
    int32_t day;
    assert_int_equal(date_parse("2026-01-01", 10, &day), ERR_OK);
    return (int64_t)day * 86400000 + (int64_t)hh * 3600000 + (int64_t)mm * 60000;
}

struct fixture {
    char *home;
    char *old_home;
    char *old[sizeof env_names / sizeof *env_names];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *h = getenv("HOME");
    f->old_home = h ? strdup(h) : NULL;
    for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++) {
        const char *v = getenv(env_names[i]);
        f->old[i] = v ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
    f->home = tu_mkdtemp();
    setenv("HOME", f->home, 1);
    /* Never the real instance metadata service from a test. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    aws_creds_cache_reset();
    fake_now_ms = at(12, 0);
    clock_set_source(&fake_clock);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++) {
        if (f->old[i])
            setenv(env_names[i], f->old[i], 1);
        else
            unsetenv(env_names[i]);
        free(f->old[i]);
    }
    if (f->old_home)
        setenv("HOME", f->old_home, 1);
    else
        unsetenv("HOME");
    free(f->old_home);
    tu_rmrf(f->home);
    free(f->home);
    free(f);
    log_clear_secrets();
    aws_creds_cache_reset();
    clock_set_source(NULL);
    return 0;
}

static void write_aws_file(const struct fixture *f, const char *name, const char *text)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/.aws", f->home);
    mkdir(dir, 0700);
    tu_write_file(tu_path(dir, name), text, strlen(text));
}

/* Load and, whatever the outcome, check that no message holds a secret.  (Secrets are
 * compared with strcmp, never with assert_string_equal, which would print them.) */
static int load(struct aws_creds *c, struct diag *d)
{
    diag_clear(d);
    int err = aws_creds_load(c, d);
    assert_null(strstr(d->text, SECRET));
    assert_null(strstr(d->text, TOKEN));
    assert_null(strstr(d->text, "shh"));
    return err;
}

static void test_load_environment(void **state)
{
    struct fixture *f = *state;
    struct aws_creds c;
    struct diag d;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", TOKEN, 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
    /* A broken config file does not matter when nothing is needed from it. */
    write_aws_file(f, "config", "[default\n");
    setenv("AWS_REGION", "us-east-2", 1);
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_true(strcmp(c.secret_access_key, SECRET) == 0);
    assert_true(strcmp(c.session_token, TOKEN) == 0);
    assert_string_equal(c.source, "environment");
    assert_string_equal(c.region, "us-east-2");
    assert_string_equal(c.region_source, "AWS_REGION");
    struct sigv4_creds v = aws_creds_sigv4(&c);
    assert_ptr_equal(v.secret_access_key, c.secret_access_key);
    assert_true(strcmp(v.session_token, TOKEN) == 0);

    /* Loading registered the secrets with the log: they never reach a log line, not even
     * percent-encoded as in a presigned URL. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    log_set_stream(mem);
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    log_info("oops", LF_STR("secret", c.secret_access_key), LF_STR("token", c.session_token),
             LF_STR("url", "https://b/k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2FTOKEN%2B"
                           "with%3D%3D&X-Amz-Signature=0"));
    fclose(mem);
    log_set_stream(NULL);
    assert_null(strstr(text, "SECRET"));
    assert_null(strstr(text, "EXAMPLE"));
    assert_non_null(strstr(text, "[redacted]"));
    free(text);

    aws_creds_release(&c);
    assert_string_equal(c.secret_access_key, "");
    assert_string_equal(c.session_token, "");

    /* AWS_DEFAULT_REGION when AWS_REGION is not set; the broken config file is now needed. */
    unsetenv("AWS_REGION");
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.region, "eu-west-3");
    assert_string_equal(c.region_source, "AWS_DEFAULT_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    assert_int_equal(load(&c, &d), ERR_PARSE);
    assert_non_null(strstr(d.text, "/.aws/config: line 1: '[' without a closing ']'"));

    /* Half a pair. */
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_string_equal(d.text,
                        "AWS_ACCESS_KEY_ID is set in the environment but AWS_SECRET_ACCESS_KEY is "
                        "not");
    assert_string_equal(c.access_key_id, "");
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "AWS_SECRET_ACCESS_KEY is set"));

    /* Values that do not fit, or a region that is not one. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    struct buf big = BUF_INIT(1 << 16);
    for (int i = 0; i < AWS_CREDS_TOKEN_MAX; i++)
        buf_puts(&big, "shh");
    setenv("AWS_SESSION_TOKEN", big.data, 1);
    assert_int_equal(load(&c, &d), ERR_INVALID);
    assert_string_equal(d.text, "AWS_SESSION_TOKEN is longer than 4095 bytes");
    buf_release(&big);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_REGION", "US East\n1", 1);
    assert_int_equal(load(&c, &d), ERR_INVALID);
    assert_string_equal(d.text, "AWS_REGION 'US East\\x0a1' is not an AWS region name");
}

static void test_load_profiles(void **state)
{
    struct fixture *f = *state;
    struct aws_creds c;
    struct diag d;
    char want[4096];
    write_aws_file(f, "credentials",
                   "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " SECRET
                   "\n[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = " SECRET
                   "\naws_session_token = " TOKEN "\n"
                   "[half]\naws_access_key_id = AKIDHALF\n");
    write_aws_file(f, "config",
                   "[default]\nregion = eu-west-3\n[profile prod]\nregion = ap-southeast-2\n"
                   "[profile conf-only]\naws_access_key_id = AKIDCONF\n"
                   "aws_secret_access_key = " SECRET "\n"
                   "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
                   "source_profile = default\n[profile half]\nregion = us-east-1\n");

    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.session_token, "");
    snprintf(want, sizeof want, "profile 'default' in %s/.aws/credentials", f->home);
    assert_string_equal(c.source, want);
    assert_string_equal(c.region, "eu-west-3");
    snprintf(want, sizeof want, "profile 'default' in %s/.aws/config", f->home);
    assert_string_equal(c.region_source, want);

    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDPROD");
    assert_true(strcmp(c.session_token, TOKEN) == 0);
    assert_string_equal(c.region, "ap-southeast-2");
    setenv("AWS_REGION", "us-west-1", 1); /* the environment's region wins */
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.region, "us-west-1");
    unsetenv("AWS_REGION");

    /* Credentials in the config file alone. */
    setenv("AWS_PROFILE", "conf-only", 1);
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDCONF");
    snprintf(want, sizeof want, "profile 'conf-only' in %s/.aws/config", f->home);
    assert_string_equal(c.source, want);
    assert_string_equal(c.region, "");
    assert_string_equal(c.region_source, "");

    setenv("AWS_PROFILE", "role", 1);
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "profile 'role' in "));
    assert_non_null(strstr(d.text, "gets its credentials through role_arn, which is not "
                                   "supported"));

    setenv("AWS_PROFILE", "half", 1);
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "has no aws_secret_access_key"));

    setenv("AWS_PROFILE", "nope", 1);
    assert_int_equal(load(&c, &d), ERR_AUTH);
    snprintf(want, sizeof want,
             "no AWS credentials: AWS_PROFILE is 'nope' but no such profile is in "
             "%s/.aws/credentials or %s/.aws/config",
             f->home, f->home);
    assert_string_equal(d.text, want);
    unsetenv("AWS_PROFILE");

    /* Files named by the environment, "~/" expanded. */
    write_aws_file(f, "other-credentials",
                   "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = " SECRET
                   "\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/other-credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    assert_int_equal(load(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDOTHER");
    snprintf(want, sizeof want, "profile 'default' in %s/.aws/other-credentials", f->home);
    assert_string_equal(c.source, want);
    assert_string_equal(c.region, "");

    /* A file that cannot be parsed names itself and the line, never the secret on it. */
    write_aws_file(f, "other-credentials",
                   "[default]\naws_access_key_id = AKIDOTHER\n" SECRET "\n");
    assert_int_equal(load(&c, &d), ERR_PARSE);
    snprintf(want, sizeof want,
             "%s/.aws/other-credentials: line 3: expected 'name = value', '[section]' or a "
             "comment",
             f->home);
    assert_string_equal(d.text, want);
    assert_string_equal(c.access_key_id, "");
    aws_creds_release(&c);
}

static void test_load_nothing(void **state)
{
    struct fixture *f = *state;
    struct aws_creds c;
    struct diag d;
    char want[4096];
    assert_int_equal(load(&c, &d), ERR_AUTH);
    snprintf(want, sizeof want,
             "no AWS credentials: looked for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and a "
             "web identity token in the environment, for profile 'default' in "
             "%s/.aws/credentials or %s/.aws/config (set AWS_PROFILE for another profile), for "
             "container credentials (not configured) and instance metadata "
             "(AWS_EC2_METADATA_DISABLED=true)",
             f->home, f->home);
    assert_string_equal(d.text, want);

    /* An empty variable counts as unset. */
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("AWS_PROFILE", "", 1);
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_string_equal(d.text, want);

    unsetenv("HOME");
    assert_int_equal(load(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "~/.aws (HOME is not set)"));

    /* A directory where the file should be. */
    setenv("HOME", f->home, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->home, 1);
    assert_int_equal(load(&c, &d), ERR_IO);
    assert_non_null(strstr(d.text, "is a directory"));
}

/* ---- the remote providers' answers ---- */

#define FAKE_SECRET  "fake/secret/KEY+1"
#define FAKE_SESSION "FAKE//SESSION+TOKEN="
#define WEB_TOKEN    "eyJ.fake.web-token"

static void no_secret_in(const char *text)
{
    assert_null(strstr(text, FAKE_SECRET));
    assert_null(strstr(text, FAKE_SESSION));
    assert_null(strstr(text, WEB_TOKEN));
    assert_null(strstr(text, "shh"));
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t ms;
    const int64_t noon = at(12, 0);
    assert_int_equal(aws_creds_parse_time("2026-01-01T12:00:00Z", 20, &ms), ERR_OK);
    assert_true(ms == noon);
    assert_int_equal(aws_creds_parse_time("2026-01-01T12:00:00.250Z", 24, &ms), ERR_OK);
    assert_true(ms == noon + 250);
    assert_int_equal(aws_creds_parse_time("2026-01-01T12:00:00.5Z", 22, &ms), ERR_OK);
    assert_true(ms == noon + 500);
    assert_int_equal(aws_creds_parse_time("2026-01-01T13:30:00+01:30", 25, &ms), ERR_OK);
    assert_true(ms == noon);
    assert_int_equal(aws_creds_parse_time("2026-01-01T10:00:00-02:00", 25, &ms), ERR_OK);
    assert_true(ms == noon);
    static const char *const bad[] = {
        "",
        "2026-01-01",
        "2026-01-01T12:00:00",
        "2026-01-01 12:00:00Z",
        "2026-13-01T12:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T12:60:00Z",
        "2026-01-01T12:00:00.Z",
        "2026-01-01T12:00:00ZZ",
        "2026-01-01T12:00:00+0100",
        "2026-02-30T12:00:00Z",
        "2026-01-01T12:00:00.1234567890Z",
        "x026-01-01T12:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(aws_creds_parse_time(bad[i], strlen(bad[i]), &ms), ERR_PARSE);
}

static int parse_json(const char *text, enum aws_creds_json_kind kind, struct aws_creds *c,
                      struct diag *d)
{
    memset(c, 0, sizeof *c);
    diag_clear(d);
    int err = aws_creds_parse_json(text, strlen(text), kind, c, d);
    no_secret_in(d->text);
    if (err) /* nothing half-filled */
        assert_true(c->access_key_id[0] == '\0' && c->secret_access_key[0] == '\0' &&
                    c->session_token[0] == '\0' && c->expiration_ms == 0);
    return err;
}

static void test_parse_json(void **state)
{
    (void)state;
    struct aws_creds c;
    struct diag d;
    /* credential_process, as `aws configure export-credentials --format process` prints it */
    assert_int_equal(parse_json("{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
                                "\"SecretAccessKey\": \"" FAKE_SECRET
                                "\", \"SessionToken\": \"" FAKE_SESSION
                                "\", \"Expiration\": \"2026-01-01T13:00:00Z\"}",
                                AWS_CREDS_JSON_PROCESS, &c, &d),
                     ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAPROC");
    assert_true(strcmp(c.secret_access_key, FAKE_SECRET) == 0);
    assert_true(strcmp(c.session_token, FAKE_SESSION) == 0);
    assert_true(c.expiration_ms == at(13, 0));
    /* long-term keys: no token, no expiration */
    assert_int_equal(
        parse_json("{\"Version\":1,\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"shh-1\"}",
                   AWS_CREDS_JSON_PROCESS, &c, &d),
        ERR_OK);
    assert_true(c.expiration_ms == 0 && c.session_token[0] == '\0');
    /* IMDS: the full shape with Code */
    const char *imds = "{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-01T11:00:00Z\","
                       "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":"
                       "\"shh-2\",\"Token\":\"shh-3\",\"Expiration\":\"2026-01-01T18:00:00Z\"}";
    assert_int_equal(parse_json(imds, AWS_CREDS_JSON_IMDS, &c, &d), ERR_OK);
    assert_true(c.expiration_ms == at(18, 0));
    /* container: Token, and RoleArn which is ignored */
    assert_int_equal(
        parse_json("{\"RoleArn\":\"arn:x\",\"AccessKeyId\":\"ASIAC\",\"SecretAccessKey\":"
                   "\"shh-4\",\"Token\":\"shh-5\",\"Expiration\":\"2026-01-01T18:00:00Z\"}",
                   AWS_CREDS_JSON_CONTAINER, &c, &d),
        ERR_OK);
    assert_string_equal(c.session_token, "shh-5");

    struct {
        const char *text;
        enum aws_creds_json_kind kind;
        int err;
        const char *says;
    } bad[] = {
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":shh}", AWS_CREDS_JSON_PROCESS,
         ERR_PARSE, "not valid JSON"},
        {"[1]", AWS_CREDS_JSON_PROCESS, ERR_PARSE, "not a JSON object"},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-6\"}", AWS_CREDS_JSON_PROCESS, ERR_PARSE,
         "no Version"},
        {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-6\"}",
         AWS_CREDS_JSON_PROCESS, ERR_UNSUPPORTED, "Version is not 1"},
        {"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-6\"}",
         AWS_CREDS_JSON_PROCESS, ERR_UNSUPPORTED, "Version is not 1"},
        {"{\"Version\":1,\"SecretAccessKey\":\"shh-6\"}", AWS_CREDS_JSON_PROCESS, ERR_PARSE,
         "no AccessKeyId"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\"}", AWS_CREDS_JSON_PROCESS,
         ERR_PARSE, "SecretAccessKey is empty"},
        {"{\"Version\":1,\"AccessKeyId\":7,\"SecretAccessKey\":\"shh-6\"}", AWS_CREDS_JSON_PROCESS,
         ERR_PARSE, "AccessKeyId is a number, expected a string"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh 6\\r\\nX-Evil: 1\"}",
         AWS_CREDS_JSON_PROCESS, ERR_PARSE, "SecretAccessKey holds characters"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-6\",\"Expiration\":"
         "\"tomorrow\"}",
         AWS_CREDS_JSON_PROCESS, ERR_PARSE, "Expiration is not an ISO 8601 time"},
        {"{\"Code\":\"Failed\",\"AccessKeyId\":\"A\"}", AWS_CREDS_JSON_IMDS, ERR_AUTH,
         "Code is 'Failed', not Success"},
        {"{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-6\"}",
         AWS_CREDS_JSON_IMDS, ERR_PARSE, "no Token"},
        {"{\"AccessKeyId\":[\"A\"],\"SecretAccessKey\":\"shh-6\"}", AWS_CREDS_JSON_CONTAINER,
         ERR_PARSE, "AccessKeyId is an array"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse_json(bad[i].text, bad[i].kind, &c, &d), bad[i].err);
        if (!strstr(d.text, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
    }
    /* A key too long for its field. */
    struct buf big = BUF_INIT(1 << 16);
    buf_puts(&big, "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"shh-7\","
                   "\"SessionToken\":\"");
    for (int i = 0; i < AWS_CREDS_TOKEN_MAX; i++)
        buf_puts(&big, "t");
    buf_puts(&big, "\"}");
    assert_int_equal(parse_json(big.data, AWS_CREDS_JSON_PROCESS, &c, &d), ERR_TOOBIG);
    assert_non_null(strstr(d.text, "SessionToken is longer than 4095 bytes"));
    buf_release(&big);
}

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"
    "</SubjectFromWebIdentityToken>\n"
    "    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>" FAKE_SESSION "</SessionToken>\n"
    "      <SecretAccessKey>" FAKE_SECRET "</SecretAccessKey>\n"
    "      <Expiration>2026-01-01T13:00:00Z</Expiration>\n"
    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <SourceIdentity>SourceIdentityValue</SourceIdentity>\n"
    "    <Provider>www.amazon.com</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata>\n    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_parse_sts(void **state)
{
    (void)state;
    struct aws_creds c;
    struct diag d;
    memset(&c, 0, sizeof c);
    assert_int_equal(aws_creds_parse_sts(sts_ok, strlen(sts_ok), &c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    assert_true(strcmp(c.secret_access_key, FAKE_SECRET) == 0);
    assert_true(strcmp(c.session_token, FAKE_SESSION) == 0);
    assert_true(c.expiration_ms == at(13, 0));

    const char *error = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                        "<Error><Type>Sender</Type><Code>ExpiredTokenException</Code>"
                        "<Message>Token expired: current date/time 1 must be before the "
                        "expiration date/time 0</Message></Error><RequestId>x</RequestId>"
                        "</ErrorResponse>";
    assert_int_equal(aws_creds_parse_sts(error, strlen(error), &c, &d), ERR_AUTH);
    assert_string_equal(d.text, "STS AssumeRoleWithWebIdentity: ExpiredTokenException: Token "
                                "expired: current date/time 1 must be before the expiration "
                                "date/time 0");
    assert_string_equal(c.access_key_id, "");

    struct {
        const char *text;
        int err;
        const char *says;
    } bad[] = {
        {"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>", ERR_PARSE,
         "not valid XML"},
        {"{\"Credentials\":{}}", ERR_PARSE, "not valid XML"},
        {"<GetCallerIdentityResponse/>", ERR_PARSE, "not an AssumeRoleWithWebIdentityResponse"},
        {"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult/>"
         "</AssumeRoleWithWebIdentityResponse>",
         ERR_PARSE, "no Credentials"},
        {"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
         "<AccessKeyId>A</AccessKeyId><SecretAccessKey>shh-8</SecretAccessKey>"
         "<Expiration>2026-01-01T13:00:00Z</Expiration></Credentials>"
         "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
         ERR_PARSE, "no Credentials/SessionToken"},
        {"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
         "<AccessKeyId>A</AccessKeyId><SecretAccessKey>shh-8</SecretAccessKey>"
         "<SessionToken>shh-9</SessionToken><Expiration>soon</Expiration></Credentials>"
         "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
         ERR_PARSE, "Expiration is not an ISO 8601 time"},
        {"<ErrorResponse><Error/></ErrorResponse>", ERR_AUTH, "an error without a Code"},
        {"<!DOCTYPE x [<!ENTITY a \"shh\">]><ErrorResponse/>", ERR_PARSE, "not valid XML"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        diag_clear(&d);
        assert_int_equal(aws_creds_parse_sts(bad[i].text, strlen(bad[i].text), &c, &d), bad[i].err);
        if (!strstr(d.text, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
        no_secret_in(d.text);
        assert_string_equal(c.access_key_id, "");
    }
}

static void test_split_command(void **state)
{
    (void)state;
    struct strvec v = STRVEC_INIT;
    struct diag d;
    assert_int_equal(aws_creds_split_command("  aws configure export-credentials --profile "
                                             "'my sso'  --format \"pro\\\"cess\" a\\ b c\\\\d ",
                                             &v, &d),
                     ERR_OK);
    assert_int_equal(v.n, 9);
    assert_string_equal(v.v[0], "aws");
    assert_string_equal(v.v[8], "c\\d");
    assert_string_equal(v.v[4], "my sso");
    assert_string_equal(v.v[6], "pro\"cess");
    assert_string_equal(v.v[7], "a b");
    strvec_release(&v);
    strvec_init(&v);
    assert_int_equal(aws_creds_split_command("x\"\"y '' \"a\\nb\"", &v, &d), ERR_OK);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.v[0], "xy");
    assert_string_equal(v.v[1], "");
    assert_string_equal(v.v[2], "a\\nb");
    strvec_release(&v);
    static const char *const bad[] = {"", "   ", "a 'b", "a \"b", "\"\\\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        strvec_init(&v);
        assert_int_equal(aws_creds_split_command(bad[i], &v, &d), ERR_PARSE);
        strvec_release(&v);
    }
}

/* ---- the chain against the fakes ---- */

struct served {
    struct creds_fake *fake;
    char url[64];
};

static void serve(struct served *s, const char *container_token)
{
    struct creds_fake_opts o = {.container_token = container_token};
    struct diag d;
    if (creds_fake_start(&o, &s->fake, s->url, sizeof s->url, &d) != ERR_OK)
        fail_msg("creds_fake_start: %s", d.text);
}

static struct creds_fake_stats stats(const struct served *s)
{
    struct creds_fake_stats st;
    creds_fake_stats(s->fake, &st);
    return st;
}

static int load_chain(struct aws_creds *c, struct diag *d)
{
    int err = load(c, d);
    no_secret_in(d->text);
    no_secret_in(c->source);
    return err;
}

/* STS finds its endpoint as the other clients do: AWS_ENDPOINT_URL when no
 * AWS_ENDPOINT_URL_STS is set. */
static void test_web_identity_global_endpoint(void **state)
{
    struct fixture *f = *state;
    struct served s;
    serve(&s, NULL);
    struct aws_creds c;
    struct diag d;
    char token_file[4096];
    snprintf(token_file, sizeof token_file, "%s/token", f->home);
    tu_write_file(token_file, WEB_TOKEN "\n", strlen(WEB_TOKEN) + 1);
    setenv("AWS_ENDPOINT_URL", s.url, 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_file, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/screener", 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0001");
    assert_int_equal(stats(&s).sts, 1);
    /* A malformed one is named. */
    setenv("AWS_ENDPOINT_URL_STS", "ftp://nowhere", 1);
    fake_now_ms = at(23, 0);
    assert_int_not_equal(load_chain(&c, &d), ERR_OK);
    assert_non_null(strstr(d.text, "AWS_ENDPOINT_URL_STS"));
    creds_fake_stop(s.fake);
}

static void test_web_identity(void **state)
{
    struct fixture *f = *state;
    struct served s;
    serve(&s, NULL);
    struct aws_creds c;
    struct diag d;
    char token_file[4096];
    snprintf(token_file, sizeof token_file, "%s/token", f->home);
    tu_write_file(token_file, WEB_TOKEN "\n", strlen(WEB_TOKEN) + 1);
    setenv("AWS_ENDPOINT_URL_STS", s.url, 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    /* One half of the pair. */
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_file, 1);
    assert_int_equal(load_chain(&c, &d), ERR_AUTH);
    assert_string_equal(
        d.text, "AWS_WEB_IDENTITY_TOKEN_FILE is set in the environment but AWS_ROLE_ARN is not");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/screener", 1);
    /* A profile with static keys loses to the token (the SDKs' order). */
    write_aws_file(f, "credentials",
                   "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = " SECRET "\n");
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0001");
    assert_true(strcmp(c.secret_access_key, FAKE_SECRET) == 0);
    assert_true(strcmp(c.session_token, FAKE_SESSION) == 0);
    assert_true(c.expiration_ms == at(13, 0));
    assert_string_equal(c.source, "web identity token for arn:aws:iam::123456789012:role/screener");
    assert_string_equal(c.region, "eu-central-1");
    struct creds_fake_stats st = stats(&s);
    assert_int_equal(st.sts, 1);
    assert_true(st.last_form_complete);
    assert_non_null(strstr(st.last_session_name, "screener-"));
    setenv("AWS_ROLE_SESSION_NAME", "nightly-run", 1);

    /* Kept: no second call while far from the expiration. */
    fake_now_ms = at(12, 54);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0001");
    assert_int_equal(stats(&s).sts, 1);
    /* Within 5 minutes of it: refreshed. */
    fake_now_ms = at(12, 56);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0002");
    assert_int_equal(stats(&s).sts, 2);
    assert_string_equal(stats(&s).last_session_name, "nightly-run");
    /* A refresh that fails while they are still valid keeps them. */
    creds_fake_set_expiration(s.fake, "2026-01-01T14:00:00Z");
    creds_fake_set_mode(s.fake, CREDS_FAKE_500, 0);
    fake_now_ms = at(12, 57);
    FILE *logf = tmpfile();
    log_set_stream(logf);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    log_set_stream(NULL);
    assert_string_equal(c.access_key_id, "ASIAFAKE0002");
    assert_int_equal(stats(&s).sts, 2 + 3); /* three tries of a 500 */
    char line[4096] = "";
    rewind(logf);
    assert_non_null(fgets(line, sizeof line, logf));
    fclose(logf);
    assert_non_null(strstr(line, "the refresh failed"));
    no_secret_in(line);
    /* ... but not once they have expired. */
    fake_now_ms = at(13, 0);
    assert_int_equal(load_chain(&c, &d), ERR_UNAVAILABLE);
    assert_non_null(strstr(d.text, "answered HTTP 500"));
    /* 500s that stop: the third try gets them. */
    creds_fake_set_mode(s.fake, CREDS_FAKE_500, 2);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_true(c.expiration_ms == at(14, 0));

    /* Bad days, each from a clean start. */
    struct {
        enum creds_fake_mode mode;
        int err;
        const char *says;
    } bad[] = {
        {CREDS_FAKE_DENIED, ERR_AUTH, "InvalidIdentityToken: Couldn't retrieve verification key"},
        {CREDS_FAKE_MALFORMED, ERR_PARSE, "the answer is not valid XML"},
        {CREDS_FAKE_EXPIRED, ERR_AUTH, "the credentials it gave have already expired"},
        {CREDS_FAKE_DROP, ERR_NETWORK, "web identity"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aws_creds_cache_reset();
        creds_fake_set_mode(s.fake, bad[i].mode, 0);
        assert_int_equal(load_chain(&c, &d), bad[i].err);
        if (!strstr(d.text, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
        assert_string_equal(c.access_key_id, "");
    }
    creds_fake_set_mode(s.fake, CREDS_FAKE_OK, 0);
    /* A token STS does not accept. */
    aws_creds_cache_reset();
    tu_write_file(token_file, "eyJ.other", 9);
    assert_int_equal(load_chain(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "InvalidIdentityToken"));
    /* A token file that is not there or empty. */
    tu_write_file(token_file, "\n", 1);
    assert_int_equal(load_chain(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "is empty"));
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    /* The profile's web_identity_token_file and role_arn. */
    tu_write_file(token_file, WEB_TOKEN, strlen(WEB_TOKEN));
    char conf[8192];
    snprintf(conf, sizeof conf,
             "[profile eks]\nrole_arn = arn:aws:iam::123456789012:role/screener\n"
             "web_identity_token_file = %s\nrole_session_name = from-profile\n",
             token_file);
    write_aws_file(f, "config", conf);
    setenv("AWS_PROFILE", "eks", 1);
    aws_creds_cache_reset();
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(stats(&s).last_session_name, "from-profile");
    assert_non_null(strstr(c.access_key_id, "ASIAFAKE"));
    aws_creds_release(&c);
    creds_fake_stop(s.fake);
}

static void write_script(const struct fixture *f, const char *name, const char *body)
{
    const char *path = tu_path(f->home, name);
    tu_write_file(path, body, strlen(body));
    chmod(path, 0755);
}

static void test_credential_process(void **state)
{
    struct fixture *f = *state;
    struct aws_creds c;
    struct diag d;
    write_script(
        f, "creds.sh",
        "#!/bin/sh\n"
        "[ \"$1\" = \"--profile\" ] && [ \"$2\" = \"my sso\" ] || exit 9\n"
        "n=$(cat \"$HOME/count\" 2>/dev/null || echo 0); echo $((n + 1)) >\"$HOME/count\"\n"
        "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC'$n'\", \"SecretAccessKey\": "
        "\"" FAKE_SECRET "\", \"SessionToken\": \"" FAKE_SESSION "\", \"Expiration\": "
        "\"2026-01-01T13:00:00Z\"}'\n");
    write_script(f, "v2.sh", "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\"}'\n");
    write_script(f, "fails.sh", "#!/bin/sh\necho '" FAKE_SECRET "'\nexit 3\n");
    write_script(f, "garbage.sh", "#!/bin/sh\necho 'SecretAccessKey=" FAKE_SECRET "'\n");
    write_script(
        f, "expired.sh",
        "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":"
        "\"shh-10\",\"SessionToken\":\"shh-11\",\"Expiration\":\"2026-01-01T11:00:00Z\"}'\n");
    char conf[8192];
    snprintf(conf, sizeof conf,
             "[default]\nregion = us-west-2\ncredential_process = %s/creds.sh --profile 'my sso'\n"
             "[profile v2]\ncredential_process = %s/v2.sh\n"
             "[profile fails]\ncredential_process = %s/fails.sh\n"
             "[profile garbage]\ncredential_process = %s/garbage.sh\n"
             "[profile expired]\ncredential_process = %s/expired.sh\n"
             "[profile missing]\ncredential_process = %s/nope.sh\n"
             "[profile open]\ncredential_process = %s/creds.sh 'x\n",
             f->home, f->home, f->home, f->home, f->home, f->home, f->home);
    write_aws_file(f, "config", conf);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAPROC0");
    assert_true(strcmp(c.session_token, FAKE_SESSION) == 0);
    assert_true(c.expiration_ms == at(13, 0));
    assert_non_null(strstr(c.source, "credential_process of profile 'default' in "));
    assert_string_equal(c.region, "us-west-2");
    /* Kept until 5 minutes before the expiration, then run again. */
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAPROC0");
    fake_now_ms = at(12, 58);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAPROC1");

    struct {
        const char *profile;
        int err;
        const char *says;
    } bad[] = {
        {"v2", ERR_UNSUPPORTED, "Version is not 1"},
        {"fails", ERR_AUTH, "exited with status 3"},
        {"garbage", ERR_PARSE, "credential_process output: not valid JSON"},
        {"expired", ERR_AUTH, "the credentials it gave have already expired"},
        {"missing", ERR_AUTH, "cannot run"},
        {"open", ERR_PARSE, "a single quote is not closed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("AWS_PROFILE", bad[i].profile, 1);
        assert_int_equal(load_chain(&c, &d), bad[i].err);
        if (!strstr(d.text, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
        if (!strstr(d.text, "credential_process of profile"))
            fail_msg("case %zu: '%s' does not name the setting", i, d.text);
    }
    aws_creds_release(&c);
}

static void test_container(void **state)
{
    struct fixture *f = *state;
    struct served s;
    serve(&s, "Bearer shh-container-token");
    struct aws_creds c;
    struct diag d;
    char url[256], want[512];
    /* The relative URI is on the container agent's address. */
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    assert_int_equal(aws_creds_container_url(url, sizeof url, &d), ERR_OK);
    assert_string_equal(url, "http://169.254.170.2/v2/credentials/abc");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    /* A full URI must be HTTPS, or HTTP to loopback or the agent. */
    static const char *const refused[] = {"http://example.com/creds", "http://10.0.0.1/x",
                                          "ftp://127.0.0.1/x", "http://127.0.0.1.evil.com/x",
                                          "http://[fe80::1]/x"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
        assert_int_equal(aws_creds_container_url(url, sizeof url, &d), ERR_INVALID);
        assert_int_equal(load_chain(&c, &d), ERR_INVALID);
    }
    static const char *const allowed[] = {"https://example.com/creds", "http://127.0.0.2:80/x",
                                          "http://169.254.170.23/v1/credentials",
                                          "http://[::1]:8080/x", "http://localhost/x"};
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i], 1);
        assert_int_equal(aws_creds_container_url(url, sizeof url, &d), ERR_OK);
    }

    snprintf(url, sizeof url, "%s/creds", s.url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    /* Without the token the endpoint refuses. */
    assert_int_equal(load_chain(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "answered HTTP 403"));
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer shh-container-token", 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0002");
    assert_true(c.expiration_ms == at(13, 0));
    snprintf(want, sizeof want, "container credentials from %s", url);
    assert_string_equal(c.source, want);
    assert_string_equal(stats(&s).last_authorization, "Bearer shh-container-token");
    /* The token file wins over the variable (EKS Pod Identity). */
    aws_creds_cache_reset();
    const char *tf = tu_path(f->home, "pod-token");
    tu_write_file(tf, "Bearer shh-container-token\n", 27);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0003");
    /* Bad days. */
    struct {
        enum creds_fake_mode mode;
        int err;
        const char *says;
    } bad[] = {
        {CREDS_FAKE_500, ERR_UNAVAILABLE, "answered HTTP 500"},
        {CREDS_FAKE_MALFORMED, ERR_PARSE, "container credentials: not valid JSON"},
        {CREDS_FAKE_EXPIRED, ERR_AUTH, "already expired"},
        {CREDS_FAKE_DENIED, ERR_AUTH, "answered HTTP 403"},
        {CREDS_FAKE_DROP, ERR_NETWORK, "container credentials: GET"},
        {CREDS_FAKE_HANG, ERR_TIMEOUT, "container credentials: GET"},
    };
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.3", 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aws_creds_cache_reset();
        creds_fake_set_mode(s.fake, bad[i].mode, 0);
        assert_int_equal(load_chain(&c, &d), bad[i].err);
        if (!strstr(d.text, bad[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
    }
    /* Two attempts get past one 500. */
    aws_creds_cache_reset();
    creds_fake_set_mode(s.fake, CREDS_FAKE_500, 1);
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2", 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "zero", 1);
    aws_creds_cache_reset();
    assert_int_equal(load_chain(&c, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "AWS_METADATA_SERVICE_NUM_ATTEMPTS"));
    aws_creds_release(&c);
    creds_fake_stop(s.fake);
}

static void test_imds(void **state)
{
    (void)state;
    struct served s;
    serve(&s, NULL);
    struct aws_creds c;
    struct diag d;
    unsetenv("AWS_EC2_METADATA_DISABLED");
    char ep[128];
    snprintf(ep, sizeof ep, "%s/", s.url); /* a trailing '/' is fine */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0003"); /* token, role list, credentials */
    assert_true(strcmp(c.session_token, FAKE_SESSION) == 0);
    assert_true(c.expiration_ms == at(13, 0));
    assert_string_equal(c.source, "EC2 instance metadata, role screener-instance-role");
    struct creds_fake_stats st = stats(&s);
    assert_int_equal(st.imds_token, 1);
    assert_int_equal(st.imds_role_list, 1);
    assert_int_equal(st.imds_creds, 1);
    assert_true(st.last_ttl_header);
    assert_true(st.last_token_ok);
    /* Kept, then refreshed near the expiration. */
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_int_equal(stats(&s).imds_token, 1);
    fake_now_ms = at(12, 56);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE0006");
    fake_now_ms = at(12, 0);

    struct {
        enum creds_fake_mode mode;
        const char *says;
    } bad[] = {
        {CREDS_FAKE_NO_ROLE, "the instance has no IAM role"},
        {CREDS_FAKE_500, "PUT"},
        {CREDS_FAKE_MALFORMED, "instance metadata credentials: AccessKeyId is an array"},
        {CREDS_FAKE_EXPIRED, "already expired"},
        {CREDS_FAKE_DROP, "PUT"},
        {CREDS_FAKE_HANG, "PUT"},
    };
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.3", 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aws_creds_cache_reset();
        /* NO_ROLE and MALFORMED bite on a later step; the others on the first. */
        creds_fake_set_mode(s.fake, bad[i].mode, 0);
        assert_int_equal(load_chain(&c, &d), ERR_AUTH);
        if (!strstr(d.text, bad[i].says) || !strstr(d.text, "no AWS credentials"))
            fail_msg("case %zu: '%s' does not say '%s'", i, d.text, bad[i].says);
    }
    creds_fake_set_mode(s.fake, CREDS_FAKE_OK, 0);
    /* Disabled: not asked at all. */
    aws_creds_cache_reset();
    int before = stats(&s).imds_token;
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    assert_int_equal(load_chain(&c, &d), ERR_AUTH);
    assert_non_null(strstr(d.text, "AWS_EC2_METADATA_DISABLED=true"));
    assert_int_equal(stats(&s).imds_token, before);
    /* The container endpoint comes before IMDS; the environment before everything. */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    char url[128];
    snprintf(url, sizeof url, "%s/creds", s.url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_non_null(strstr(c.source, "container credentials"));
    assert_int_equal(stats(&s).imds_token, before);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    assert_string_equal(c.source, "environment");
    aws_creds_release(&c);
    creds_fake_stop(s.fake);
}

/* A long-lived S3 client loads its credentials again near their expiration. */
static void test_s3_client_refresh(void **state)
{
    struct fixture *f = *state;
    struct served s;
    serve(&s, NULL);
    char token_file[4096];
    snprintf(token_file, sizeof token_file, "%s/token", f->home);
    tu_write_file(token_file, WEB_TOKEN, strlen(WEB_TOKEN));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_file, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/screener", 1);
    setenv("AWS_ENDPOINT_URL_STS", s.url, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    struct aws_creds c;
    struct diag d;
    assert_int_equal(load_chain(&c, &d), ERR_OK);
    struct s3_opts o;
    s3_opts_default(&o);
    o.region = c.region;
    o.creds = aws_creds_sigv4(&c);
    o.creds_expiration_ms = c.expiration_ms;
    struct s3 *s3;
    assert_int_equal(s3_new(&o, &s3, &d), ERR_OK);
    aws_creds_release(&c);
    struct buf url = BUF_INIT(1 << 16);
    assert_int_equal(s3_presign_get(s3, "bucket", "results/x.csv", 600, 0, &url, &d), ERR_OK);
    assert_non_null(strstr(url.data, "X-Amz-Credential=ASIAFAKE0001%2F"));
    fake_now_ms = at(12, 50);
    buf_reset(&url);
    assert_int_equal(s3_presign_get(s3, "bucket", "results/x.csv", 600, 0, &url, &d), ERR_OK);
    assert_non_null(strstr(url.data, "X-Amz-Credential=ASIAFAKE0001%2F"));
    fake_now_ms = at(12, 56);
    buf_reset(&url);
    assert_int_equal(s3_presign_get(s3, "bucket", "results/x.csv", 600, 0, &url, &d), ERR_OK);
    assert_non_null(strstr(url.data, "X-Amz-Credential=ASIAFAKE0002%2F"));
    assert_int_equal(stats(&s).sts, 2);
    /* Expired and STS down: an error, not a URL that cannot work. */
    creds_fake_set_mode(s.fake, CREDS_FAKE_500, 0);
    fake_now_ms = at(13, 1);
    buf_reset(&url);
    assert_int_equal(s3_presign_get(s3, "bucket", "results/x.csv", 600, 0, &url, &d),
                     ERR_UNAVAILABLE);
    assert_non_null(strstr(d.text, "S3: the credentials expire and cannot be refreshed"));
    no_secret_in(d.text);
    buf_release(&url);
    s3_free(s3);
    creds_fake_stop(s.fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini_format),
        cmocka_unit_test(test_ini_errors),
        cmocka_unit_test(test_profile_lookup),
        cmocka_unit_test_setup_teardown(test_load_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_time, setup, teardown),
        cmocka_unit_test(test_parse_json),
        cmocka_unit_test(test_parse_sts),
        cmocka_unit_test(test_split_command),
        cmocka_unit_test_setup_teardown(test_web_identity_global_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_client_refresh, setup, teardown),
    };
    return cmocka_run_group_tests_name("creds", tests, NULL, NULL);
}
