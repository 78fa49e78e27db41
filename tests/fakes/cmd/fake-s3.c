/* fake-s3 - serve the fake S3 (tests/fakes/s3_fake.h) on 127.0.0.1 until SIGTERM or SIGINT.
 * Tests start it as a separate process and read the port from its first line. */
#include "base/err.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/s3_fake.h"

#include <getopt.h>
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
    "POST /__fake/latency?ms=N sets the latency.\n\n"
    "Options:\n"
    "      --port N             port to listen on; 0 picks a free one (default 0)\n"
    "      --bucket NAME        create this bucket (repeatable; default test-bucket)\n"
    "      --region REGION      the region requests must be signed for (default us-east-1)\n"
    "      --key-id ID          the access key id to accept (default AKIDFAKES3EXAMPLE)\n"
    "      --secret-env VAR     read the secret access key to accept from $VAR (default: a\n"
    "                           built-in example key)\n"
    "      --token-env VAR      require the session token in $VAR on every request\n"
    "      --max-keys N         most keys in a list page, whatever max-keys asks (default 1000)\n"
    "      --no-verify          accept unsigned and wrongly signed requests\n"
    "      --latency-ms N       answer every request N ms late, as a round trip to S3 costs\n"
    "                           (requests on different connections wait concurrently;\n"
    "                           POST /__fake/latency?ms=N changes it; default 0)\n"
    "      --fault SPEC         inject a fault by request ordinal (repeatable): KIND@N or\n"
    "                           KIND@NxCOUNT, KIND one of 503, 500, 409, reset, lost,\n"
    "                           truncate, malformed\n"
    "      --log-level LEVEL    debug (one line per request), info, warn, error (default info)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_PORT = 256,
    OPT_BUCKET,
    OPT_REGION,
    OPT_KEY_ID,
    OPT_SECRET_ENV,
    OPT_TOKEN_ENV,
    OPT_MAX_KEYS,
    OPT_NO_VERIFY,
    OPT_FAULT,
    OPT_LOG_LEVEL,
    OPT_LATENCY,
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"bucket", required_argument, NULL, OPT_BUCKET},
    {"region", required_argument, NULL, OPT_REGION},
    {"key-id", required_argument, NULL, OPT_KEY_ID},
    {"secret-env", required_argument, NULL, OPT_SECRET_ENV},
    {"token-env", required_argument, NULL, OPT_TOKEN_ENV},
    {"max-keys", required_argument, NULL, OPT_MAX_KEYS},
    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"latency-ms", required_argument, NULL, OPT_LATENCY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int from_env(const char *flag, const char *var, const char **out, struct diag *d)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return diag_set(d, ERR_USAGE, "--%s: $%s is not set", flag, var);
    *out = v;
    return ERR_OK;
}

struct lists {
    const char *buckets[BUCKETS_MAX];
    struct s3_fake_fault faults[FAULTS_MAX];
};

static int parse_args(int argc, char **argv, struct s3_fake_opts *o, struct lists *l, int *help,
                      struct diag *d)
{
    int err = ERR_OK, c;
    int64_t v;
    opterr = 0;
    while (!err && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            err = tool_parse_num("port", optarg, 0, 65535, &v, d);
            o->port = (int)v;
            break;
        case OPT_BUCKET:
            if (o->nbuckets == BUCKETS_MAX)
                err = diag_set(d, ERR_USAGE, "--bucket: at most %d buckets", BUCKETS_MAX);
            else
                l->buckets[o->nbuckets++] = optarg;
            break;
        case OPT_REGION:
            o->region = optarg;
            break;
        case OPT_KEY_ID:
            o->access_key_id = optarg;
            break;
        case OPT_SECRET_ENV:
            err = from_env("secret-env", optarg, &o->secret_access_key, d);
            break;
        case OPT_TOKEN_ENV:
            err = from_env("token-env", optarg, &o->session_token, d);
            break;
        case OPT_MAX_KEYS:
            err = tool_parse_num("max-keys", optarg, 1, 1000, &v, d);
            o->max_keys = (size_t)v;
            break;
        case OPT_LATENCY:
            err = tool_parse_num("latency-ms", optarg, 0, S3_FAKE_LATENCY_MAX_MS, &v, d);
            o->latency_ms = v;
            break;
        case OPT_NO_VERIFY:
            o->skip_signatures = 1;
            break;
        case OPT_FAULT:
            if (o->nfaults == FAULTS_MAX)
                err = diag_set(d, ERR_USAGE, "--fault: at most %d faults", FAULTS_MAX);
            else if (s3_fake_fault_parse(optarg, &l->faults[o->nfaults], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--fault");
            else
                o->nfaults++;
            break;
        case OPT_LOG_LEVEL:
            err = tool_log_level(optarg, d);
            break;
        case 'h':
            *help = 1;
            return ERR_OK;
        case ':':
            err = diag_set(d, ERR_USAGE, "%s needs a value", argv[optind - 1]);
            break;
        default:
            err = diag_set(d, ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (err)
        return err;
    if (optind < argc)
        return diag_set(d, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    if (o->nbuckets == 0)
        l->buckets[o->nbuckets++] = "test-bucket";
    o->buckets = l->buckets;
    o->faults = l->faults;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_INFO, LOG_FORMAT_AUTO);
    struct s3_fake_opts o;
    s3_fake_opts_default(&o);
    static struct lists l;
    struct diag d = {{0}};
    int help = 0;
    int err = parse_args(argc, argv, &o, &l, &help, &d);
    if (help) {
        fputs(usage, stdout);
        return 0;
    }
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
