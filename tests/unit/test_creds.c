/* Unit tests: AWS credentials and region (aws/creds.h): the INI format, the profile lookup,
 * and loading from the environment and the files, with the messages it gives and the
 * secrets it keeps out of them. */
#include "testutil.h"

#include "aws/creds.h"
#include "base/buf.h"
#include "base/log.h"

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
    assert_string_equal(p.unsupported, "role_arn");
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
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_REGION",        "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",   "AWS_SHARED_CREDENTIALS_FILE",
};

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
             "no AWS credentials: looked for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
             "environment and for profile 'default' in %s/.aws/credentials or %s/.aws/config "
             "(set AWS_PROFILE for another profile)",
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini_format),
        cmocka_unit_test(test_ini_errors),
        cmocka_unit_test(test_profile_lookup),
        cmocka_unit_test_setup_teardown(test_load_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_nothing, setup, teardown),
    };
    return cmocka_run_group_tests_name("creds", tests, NULL, NULL);
}
