/* screener lambda - the AWS Lambda custom runtime loop that `bootstrap` execs. */
#include "app/app.h"
#include "app/lambda.h"
#include "aws/lambda_rt.h"
#include "base/emf.h"
#include "base/log.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener lambda [options]\n\n"
    "Run as an AWS Lambda custom runtime (what the bootstrap script execs): take each\n"
    "invocation from the Lambda Runtime API, run the handler named by _HANDLER on its event,\n"
    "and post the response or the error.  Logs are JSON lines on stderr, metrics are\n"
    "CloudWatch EMF lines on stdout.  Runs until the Runtime API goes away.\n\n"
    "Handlers: collector (an EventBridge scheduled event, or {\"action\":\"collect\"}: collects\n"
    "the stored universe into the store and answers with a JSON summary) and bot (Telegram's\n"
    "webhook through API Gateway: a proxy event in, a proxy response out).\n\n"
    "Options:\n"
    "      --max-invocations N  exit after N invocations (for tests; default: never)\n"
    "      --log-level LEVEL    debug, info (default), warn, error, off\n"
    "  -h, --help               show this help\n"
    "\nEnvironment: AWS_LAMBDA_RUNTIME_API (host:port, set by Lambda), _HANDLER (collector or\n"
    "bot), S3_BUCKET_NAME or SCREENER_STORE (the store; required, since the function's own\n"
    "directory is read-only), APCA_API_KEY_ID, APCA_API_SECRET_KEY, APCA_API_DATA_URL,\n"
    "SCREENER_LOG_LEVEL, SCREENER_SSM_PREFIX (where the secrets are in SSM; default\n"
    "/screener), SCREENER_LIVE_ACCOUNT=0 (the bot does not read the Alpaca keys: its role may\n"
    "not).\n"
    "\nExit codes: 0 after --max-invocations, 1 the Runtime API failed or went away,\n"
    "2 bad command line, 7 not inside Lambda (no AWS_LAMBDA_RUNTIME_API), or the\n"
    "initialisation failed (reported to Lambda as an init error).\n";

enum { OPT_MAX_INVOCATIONS = OPT_FIRST_FREE_ };

/* Which error type an init failure is reported with. */
static const char *init_error_type(int err)
{
    return err == ERR_USAGE ? "Runtime.HandlerNotFound" : "Runtime.InitError";
}

int cmd_lambda(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"max-invocations", required_argument, NULL, OPT_MAX_INVOCATIONS},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct app a = {.prog = "screener lambda"};
    enum log_level level = LOG_INFO;
    const char *env = getenv("SCREENER_LOG_LEVEL");
    if (env && *env && log_level_parse(env, &level) != ERR_OK)
        level = LOG_INFO;
    long max = 0;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_MAX_INVOCATIONS:
            if ((rc = app_parse_long(&a, "--max-invocations", optarg, 1, 1000000000L, &max)))
                return rc;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &level))
                return app_usage_error(&a,
                                       "--log-level: expected debug, info, warn, error or off, "
                                       "got '%s'",
                                       optarg);
            break;
        default:
            return app_usage_error(&a, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind]);
    /* CloudWatch Logs gets stderr and stdout: JSON logs, and EMF lines where CloudWatch looks
     * for them. */
    log_setup(level, LOG_FORMAT_JSON);
    emf_set_stream(stdout);

    struct diag d = {{0}};
    struct http_client *http = NULL;
    struct lambda_rt *rt = NULL;
    struct app_lambda *handler = NULL;
    int err = http_client_new(NULL, &http, &d);
    if (!err) {
        struct lambda_rt_opts ro = {.http = http};
        err = lambda_rt_new(&ro, &rt, &d);
        if (err == ERR_USAGE)
            err = ERR_AUTH; /* configuration missing: exit 7 */
    }
    if (err) {
        log_error("the runtime cannot start", LF_STR("error", d.text));
        rc = app_fail(&a, err, &d);
        goto out;
    }
    const char *name = getenv("_HANDLER");
    const char *bucket = getenv("S3_BUCKET_NAME"), *store = getenv("SCREENER_STORE");
    if ((!bucket || !*bucket) && (!store || !*store)) {
        err = diag_set(&d, ERR_USAGE,
                       "no store: set S3_BUCKET_NAME (or SCREENER_STORE); the function's "
                       "directory is read-only");
    } else {
        struct app_lambda_opts lo = {.handler = name, .http = http};
        err = app_lambda_new(&lo, &handler, &d);
    }
    if (err) {
        struct diag pd;
        log_error("initialisation failed", LF_STR("error_type", init_error_type(err)),
                  LF_STR("error", d.text));
        if (lambda_rt_init_fail(rt, init_error_type(err), d.text, &pd))
            log_error("the init error could not be reported", LF_STR("error", pd.text));
        rc = app_fail(&a, ERR_AUTH, &d);
        goto out;
    }
    log_debug("runtime ready", LF_STR("handler", name));
    err = lambda_rt_run(rt, app_lambda_handle, handler, (size_t)max, &d);
    if (err) {
        log_error("the runtime loop ended", LF_STR("error", d.text));
        rc = app_fail(&a, ERR_INTERNAL, &d);
    } else {
        rc = 0;
    }
out:
    app_lambda_free(handler);
    lambda_rt_free(rt);
    http_client_free(http);
    return rc;
}
