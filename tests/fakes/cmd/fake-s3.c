/* fake-s3 - serve the fake S3 (tests/fakes/s3_fake.h) on 127.0.0.1 until SIGTERM or SIGINT.
 * Tests start it as a separate process and read the port from its first line. */
#include "base/err.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/s3_fake.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#include "base/banned.h"

#define BUCKETS_MAX 16
#define FAULTS_MAX  64

static const char usage[] =
    "usage: fake-s3 [options]\n\n"
    "Serve a fake S3 (objects in memory, SigV4 verified, conditional writes, ListObjectsV2\n"
    "paging, injectable faults) on 127.0.0.1.  Prints one line \"listening on\n"
    "127.0.0.1:PORT\" once ready, then serves until SIGTERM or SIGINT.  GET /__fake/stats\n"
    "shows the counters, POST /__fake/reset zeroes them, POST /__fake/advance?seconds=N moves\n"
    "its clock forward, POST /__fake/faults?spec=... replaces the faults,\n"
    "POST /__fake/latency?ms=N sets the latency.\n\n";

/* The options being read, and the lists of the repeatable ones. */
struct args {
    struct s3_fake_opts *o;
    const char *buckets[BUCKETS_MAX];
    struct s3_fake_fault faults[FAULTS_MAX];
};

static int set_bucket(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    if (a->o->nbuckets == BUCKETS_MAX)
        return diag_set(d, ERR_USAGE, "at most %d buckets", BUCKETS_MAX);
    a->buckets[a->o->nbuckets++] = v;
    return ERR_OK;
}

static int from_env(const char *var, const char **out, struct diag *d)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return diag_set(d, ERR_USAGE, "$%s is not set", var);
    *out = v;
    return ERR_OK;
}

static int set_secret_env(void *ctx, char *v, struct diag *d)
{
    return from_env(v, &((struct args *)ctx)->o->secret_access_key, d);
}

static int set_token_env(void *ctx, char *v, struct diag *d)
{
    return from_env(v, &((struct args *)ctx)->o->session_token, d);
}

static int set_fault(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    if (a->o->nfaults == FAULTS_MAX)
        return diag_set(d, ERR_USAGE, "at most %d faults", FAULTS_MAX);
    int err = s3_fake_fault_parse(v, &a->faults[a->o->nfaults], d);
    if (!err)
        a->o->nfaults++;
    return err;
}

static int parse_args(int argc, char **argv, struct args *a, int *help, struct diag *d)
{
    struct s3_fake_opts *o = a->o;
    const struct tool_opt opts[] = {
        TOOL_OPT_PORT(&o->port),
        TOOL_OPT_SET("bucket", "NAME", set_bucket,
                     "create this bucket (repeatable; default test-bucket)"),
        TOOL_OPT_STR("region", "REGION", &o->region,
                     "the region requests must be signed for (default us-east-1)"),
        TOOL_OPT_STR("key-id", "ID", &o->access_key_id,
                     "the access key id to accept (default AKIDFAKES3EXAMPLE)"),
        TOOL_OPT_SET("secret-env", "VAR", set_secret_env,
                     "read the secret access key to accept from $VAR (default: a\n"
                     "built-in example key)"),
        TOOL_OPT_SET("token-env", "VAR", set_token_env,
                     "require the session token in $VAR on every request"),
        TOOL_OPT_SIZE("max-keys", "N", &o->max_keys, 1, 1000,
                      "most keys in a list page, whatever max-keys asks (default 1000)"),
        TOOL_OPT_FLAG("no-verify", &o->skip_signatures, 1,
                      "accept unsigned and wrongly signed requests"),
        TOOL_OPT_I64("latency-ms", "N", &o->latency_ms, 0, S3_FAKE_LATENCY_MAX_MS,
                     "answer every request N ms late, as a round trip to S3 costs\n"
                     "(requests on different connections wait concurrently;\n"
                     "POST /__fake/latency?ms=N changes it; default 0)"),
        TOOL_OPT_SET("fault", "SPEC", set_fault,
                     "inject a fault by request ordinal (repeatable): KIND@N or\n"
                     "KIND@NxCOUNT, KIND one of 503, 500, 409, reset, lost,\n"
                     "truncate, malformed"),
        TOOL_OPT_SET("log-level", "LEVEL", tool_log_level,
                     "debug (one line per request), info, warn, error (default info)"),
    };
    const struct tool_cmd c = {usage, opts, sizeof opts / sizeof opts[0], a};
    int err = tool_parse_args(&c, argc, argv, help, d);
    if (err || *help)
        return err;
    if (o->nbuckets == 0)
        a->buckets[o->nbuckets++] = "test-bucket";
    o->buckets = a->buckets;
    o->faults = a->faults;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_INFO, LOG_FORMAT_AUTO);
    struct s3_fake_opts o;
    s3_fake_opts_default(&o);
    static struct args a;
    a.o = &o;
    struct diag d = {{0}};
    int help = 0;
    int err = parse_args(argc, argv, &a, &help, &d);
    if (help)
        return 0;
    if (err) {
        fprintf(stderr, "fake-s3: %s\n(see fake-s3 --help)\n", d.text);
        return 2;
    }
    log_add_secret(o.secret_access_key);
    log_add_secret(o.session_token);
    tool_block_stop_signals();
    struct s3_fake *f;
    int port;
    if (s3_fake_start(&o, &f, &port, &d) != ERR_OK) {
        fprintf(stderr, "fake-s3: %s\n", d.text);
        return 1;
    }
    int sig = tool_serve_until_stopped(port);
    log_info("fake-s3 stopping", LF_INT("signal", sig));
    s3_fake_stop(f);
    return 0;
}
