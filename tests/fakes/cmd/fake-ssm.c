/* fake-ssm - serve the fake SSM Parameter Store (tests/fakes/ssm_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process and read the port from its first
 * line. */
#include "base/err.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/ssm_fake.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#include "base/banned.h"

static const char usage[] =
    "usage: fake-ssm [options]\n\n"
    "Serve a fake SSM Parameter Store (GetParameter, GetParameters over JSON 1.1) on\n"
    "127.0.0.1, checking each request's SigV4 signature with the key below.  Prints one line\n"
    "\"listening on 127.0.0.1:PORT\" once ready, then serves until SIGTERM or SIGINT.\n"
    "GET /__sim/stats shows what was received (operations, names, refusals), POST\n"
    "/__sim/reset zeroes it.\n\n"
    "Options:\n"
    "      --param NAME=VALUE[:TYPE]  a parameter (repeatable); TYPE String (default),\n"
    "                           StringList or SecureString\n"
    "      --deny NAME          answer AccessDeniedException to calls naming NAME (repeatable)\n"
    "      --throttle N         answer ThrottlingException to the first N calls (default 0)\n"
    "      --fail500 N          then answer 500 InternalServerError to N calls (default 0)\n"
    "      --key-id ID          the access key id to accept (default AKIDSSMFAKE)\n"
    "      --secret SECRET      its secret access key (default ssm/fake/secret/key)\n"
    "      --session-token T    require this session token (default: none may be sent)\n"
    "      --region REGION      the region requests must be signed for (default us-east-1)\n"
    "      --port N             port to listen on; 0 picks a free one (default 0)\n"
    "      --log-level LEVEL    debug (one line per request), info, warn, error (default info)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_PARAM = 256,
    OPT_DENY,
    OPT_THROTTLE,
    OPT_FAIL500,
    OPT_KEY_ID,
    OPT_SECRET,
    OPT_TOKEN,
    OPT_REGION,
    OPT_PORT,
    OPT_LOG_LEVEL,
};

static const struct option options[] = {
    {"param", required_argument, NULL, OPT_PARAM},
    {"deny", required_argument, NULL, OPT_DENY},
    {"throttle", required_argument, NULL, OPT_THROTTLE},
    {"fail500", required_argument, NULL, OPT_FAIL500},
    {"key-id", required_argument, NULL, OPT_KEY_ID},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"session-token", required_argument, NULL, OPT_TOKEN},
    {"region", required_argument, NULL, OPT_REGION},
    {"port", required_argument, NULL, OPT_PORT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct lists {
    struct ssm_fake_param *params;
    size_t nparams;
    const char **deny;
    size_t ndeny;
};

static int parse_args(int argc, char **argv, struct ssm_fake_opts *o, struct lists *l, int *help,
                      struct diag *d)
{
    int64_t v;
    int err = ERR_OK, c;
    opterr = 0;
    while (!err && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_PARAM:
            err = tool_grow((void **)&l->params, l->nparams, sizeof *l->params);
            if (!err && ssm_fake_param_parse(optarg, &l->params[l->nparams], d) != ERR_OK)
                err = diag_prefix(d, ERR_USAGE, "--param");
            if (!err)
                l->nparams++;
            break;
        case OPT_DENY:
            err = tool_grow((void **)&l->deny, l->ndeny, sizeof *l->deny);
            if (!err)
                l->deny[l->ndeny++] = optarg;
            break;
        case OPT_THROTTLE:
            err = tool_parse_num("throttle", optarg, 0, 1000000, &v, d);
            o->throttle = (uint64_t)v;
            break;
        case OPT_FAIL500:
            err = tool_parse_num("fail500", optarg, 0, 1000000, &v, d);
            o->fail500 = (uint64_t)v;
            break;
        case OPT_KEY_ID:
            o->key_id = optarg;
            break;
        case OPT_SECRET:
            o->secret = optarg;
            break;
        case OPT_TOKEN:
            o->session_token = optarg;
            break;
        case OPT_REGION:
            o->region = optarg;
            break;
        case OPT_PORT:
            err = tool_parse_num("port", optarg, 0, 65535, &v, d);
            o->port = (int)v;
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
    if (err == ERR_NOMEM)
        return diag_set(d, err, "out of memory");
    if (err)
        return err;
    if (optind < argc)
        return diag_set(d, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    o->params = l->params;
    o->nparams = l->nparams;
    o->deny = l->deny;
    o->ndeny = l->ndeny;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_INFO, LOG_FORMAT_AUTO);
    struct ssm_fake_opts o;
    ssm_fake_opts_default(&o);
    struct lists l = {0};
    struct diag d = {{0}};
    int help = 0, status = 1;
    struct ssm_fake *fake = NULL;
    int err = parse_args(argc, argv, &o, &l, &help, &d);
    if (help) {
        fputs(usage, stdout);
        status = 0;
        goto out;
    }
    if (err) {
        fprintf(stderr, "fake-ssm: %s\n(see fake-ssm --help)\n", d.text);
        status = 2;
        goto out;
    }
    tool_block_stop_signals();
    int port;
    err = ssm_fake_start(&o, &fake, &port, &d);
    if (err) {
        fprintf(stderr, "fake-ssm: %s\n", d.text);
        goto out;
    }
    log_info("fake SSM ready", LF_INT("parameters", o.nparams), LF_INT("denied", o.ndeny),
             LF_INT("throttle", o.throttle), LF_INT("fail500", o.fail500));
    int sig = tool_serve_until_stopped(port);
    log_info("fake-ssm stopping", LF_INT("signal", sig));
    ssm_fake_stop(fake);
    status = 0;
out:
    free(l.params);
    free(l.deny);
    return status;
}
