/* fake-ssm - serve the fake SSM Parameter Store (tests/fakes/ssm_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process and read the port from its first
 * line. */
#include "base/err.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/ssm_fake.h"

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
    "/__sim/reset zeroes it.\n\n";

/* The options being read, and growable arrays of the repeatable ones. */
struct args {
    struct ssm_fake_opts *o;
    struct ssm_fake_param *params;
    size_t nparams;
    const char **deny;
    size_t ndeny;
};

static int set_param(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = tool_grow((void **)&a->params, a->nparams, sizeof *a->params);
    if (!err && (err = ssm_fake_param_parse(v, &a->params[a->nparams], d)) == ERR_OK)
        a->nparams++;
    return err;
}

static int set_deny(void *ctx, char *v, struct diag *d)
{
    struct args *a = ctx;
    int err = tool_grow((void **)&a->deny, a->ndeny, sizeof *a->deny);
    if (!err)
        a->deny[a->ndeny++] = v;
    return err;
}

static int parse_args(int argc, char **argv, struct args *a, int *help, struct diag *d)
{
    struct ssm_fake_opts *o = a->o;
    const struct tool_opt opts[] = {
        TOOL_OPT_SET("param", "NAME=VALUE[:TYPE]", set_param,
                     "a parameter (repeatable); TYPE String (default),\n"
                     "StringList or SecureString"),
        TOOL_OPT_SET("deny", "NAME", set_deny,
                     "answer AccessDeniedException to calls naming NAME (repeatable)"),
        TOOL_OPT_U64("throttle", "N", &o->throttle, 0, 1000000,
                     "answer ThrottlingException to the first N calls (default 0)"),
        TOOL_OPT_U64("fail500", "N", &o->fail500, 0, 1000000,
                     "then answer 500 InternalServerError to N calls (default 0)"),
        TOOL_OPT_STR("key-id", "ID", &o->key_id,
                     "the access key id to accept (default AKIDSSMFAKE)"),
        TOOL_OPT_STR("secret", "SECRET", &o->secret,
                     "its secret access key (default ssm/fake/secret/key)"),
        TOOL_OPT_STR("session-token", "T", &o->session_token,
                     "require this session token (default: none may be sent)"),
        TOOL_OPT_STR("region", "REGION", &o->region,
                     "the region requests must be signed for (default us-east-1)"),
        TOOL_OPT_PORT(&o->port),
        TOOL_OPT_SET("log-level", "LEVEL", tool_log_level,
                     "debug (one line per request), info, warn, error (default info)"),
    };
    const struct tool_cmd c = {usage, opts, sizeof opts / sizeof opts[0], a};
    int err = tool_parse_args(&c, argc, argv, help, d);
    if (err || *help)
        return err;
    o->params = a->params;
    o->nparams = a->nparams;
    o->deny = a->deny;
    o->ndeny = a->ndeny;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_INFO, LOG_FORMAT_AUTO);
    struct ssm_fake_opts o;
    ssm_fake_opts_default(&o);
    struct args l = {.o = &o};
    struct diag d = {{0}};
    int help = 0, status = 1;
    struct ssm_fake *fake = NULL;
    int err = parse_args(argc, argv, &l, &help, &d);
    if (help) {
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
