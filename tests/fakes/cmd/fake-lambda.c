/* fake-lambda - serve the fake Lambda Runtime API (tests/fakes/lambda_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process and read the port from its first
 * line, then point AWS_LAMBDA_RUNTIME_API at it. */
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/lambda_fake.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#include "base/banned.h"

static const char usage[] =
    "usage: fake-lambda [options]\n\n"
    "Serve a fake AWS Lambda Runtime API on 127.0.0.1: queued events go to\n"
    "GET /2018-06-01/runtime/invocation/next, and the responses, errors and init errors\n"
    "posted back are recorded with their headers.  Prints one line\n"
    "\"listening on 127.0.0.1:PORT\" once ready, then serves until SIGTERM or SIGINT.\n"
    "GET /__fake/stats shows what was recorded, POST /__fake/events queues one more event.\n"
    "POST /2015-03-31/functions/NAME/invocations (the Invoke API, asynchronous) queues its\n"
    "payload as an event too.\n\n"
    "Options:\n"
    "      --port N             port to listen on; 0 picks a free one (default 0)\n"
    "      --event FILE         queue the event in FILE (repeatable, in order)\n"
    "      --events-dir DIR     then queue every DIR/*.json, in name order\n"
    "      --timeout-ms N       each invocation's deadline, from when it is handed out\n"
    "                           (default 900000)\n"
    "      --next-delay-ms N    every /next waits N ms before answering (default 0)\n"
    "      --when-empty STATUS  answer /next with this status when no event is queued\n"
    "                           (default: wait for one, as Lambda does)\n"
    "      --fail-next N        answer 500 to the N-th /next\n"
    "      --fail-post N        answer 500 to the N-th response or error post\n"
    "      --aws-key-id ID      the AWS key the Invoke API accepts (with --aws-secret); without\n"
    "                           them any SigV4 request scoped to lambda is accepted\n"
    "      --aws-secret SECRET  its secret key\n"
    "      --log-level LEVEL    debug (one line per request), info, warn, error (default warn)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_PORT = 256,
    OPT_EVENT,
    OPT_EVENTS_DIR,
    OPT_TIMEOUT_MS,
    OPT_NEXT_DELAY_MS,
    OPT_WHEN_EMPTY,
    OPT_FAIL_NEXT,
    OPT_FAIL_POST,
    OPT_LOG_LEVEL,
    OPT_AWS_KEY_ID,
    OPT_AWS_SECRET,
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"event", required_argument, NULL, OPT_EVENT},
    {"events-dir", required_argument, NULL, OPT_EVENTS_DIR},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {"next-delay-ms", required_argument, NULL, OPT_NEXT_DELAY_MS},
    {"when-empty", required_argument, NULL, OPT_WHEN_EMPTY},
    {"fail-next", required_argument, NULL, OPT_FAIL_NEXT},
    {"fail-post", required_argument, NULL, OPT_FAIL_POST},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"aws-key-id", required_argument, NULL, OPT_AWS_KEY_ID},
    {"aws-secret", required_argument, NULL, OPT_AWS_SECRET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The events read from --event files, owned here. */
struct events {
    char **v;
    size_t n;
};

static int add_event_file(struct events *ev, const char *path, struct diag *d)
{
    struct buf data = BUF_INIT((size_t)6 << 20);
    int err = file_read(path, &data, d);
    char **v = err ? NULL : realloc(ev->v, (ev->n + 1) * sizeof *v);
    if (!err && !v)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err) {
        ev->v = v;
        ev->v[ev->n++] = buf_detach(&data, NULL);
        if (!ev->v[ev->n - 1])
            ev->v[ev->n - 1] = strdup("");
    }
    buf_release(&data);
    return err;
}

static int parse_args(int argc, char **argv, struct lambda_fake_opts *o, struct events *ev,
                      int *help, struct diag *d)
{
    int64_t v;
    int err = ERR_OK, c;
    opterr = 0;
    while (!err && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            err = tool_parse_num("port", optarg, 0, 65535, &v, d);
            o->port = (int)v;
            break;
        case OPT_EVENT:
            err = add_event_file(ev, optarg, d);
            break;
        case OPT_EVENTS_DIR:
            o->events_dir = optarg;
            break;
        case OPT_TIMEOUT_MS:
            err = tool_parse_num("timeout-ms", optarg, 1, 86400000, &o->timeout_ms, d);
            break;
        case OPT_NEXT_DELAY_MS:
            err = tool_parse_num("next-delay-ms", optarg, 0, 3600000, &o->next_delay_ms, d);
            break;
        case OPT_WHEN_EMPTY:
            err = tool_parse_num("when-empty", optarg, 200, 599, &v, d);
            o->empty_status = (int)v;
            break;
        case OPT_FAIL_NEXT:
            err = tool_parse_num("fail-next", optarg, 1, INT64_MAX, &v, d);
            o->fail_next = (uint64_t)v;
            break;
        case OPT_FAIL_POST:
            err = tool_parse_num("fail-post", optarg, 1, INT64_MAX, &v, d);
            o->fail_post = (uint64_t)v;
            break;
        case OPT_AWS_KEY_ID:
            o->aws_key_id = optarg;
            break;
        case OPT_AWS_SECRET:
            o->aws_secret = optarg;
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
    if (!o->aws_key_id != !o->aws_secret)
        return diag_set(d, ERR_USAGE, "--aws-key-id and --aws-secret go together");
    o->events = (const char *const *)ev->v;
    o->nevents = ev->n;
    return ERR_OK;
}

int main(int argc, char **argv)
{
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
    struct lambda_fake_opts o = {0};
    struct events ev = {0};
    struct diag d = {{0}};
    int help = 0, status = 1;
    int err = parse_args(argc, argv, &o, &ev, &help, &d);
    if (help) {
        fputs(usage, stdout);
        status = 0;
        goto out;
    }
    if (err) {
        fprintf(stderr, "fake-lambda: %s\n(see fake-lambda --help)\n", d.text);
        status = 2;
        goto out;
    }
    tool_block_stop_signals();
    struct lambda_fake *f;
    int port;
    err = lambda_fake_start(&o, &f, &port, &d);
    if (err) {
        fprintf(stderr, "fake-lambda: %s\n", d.text);
        goto out;
    }
    tool_serve_until_stopped(port);
    lambda_fake_stop(f);
    status = 0;
out:
    for (size_t i = 0; i < ev.n; i++)
        free(ev.v[i]);
    free(ev.v);
    return status;
}
