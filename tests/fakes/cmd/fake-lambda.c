/* fake-lambda - serve the fake Lambda Runtime API (tests/fakes/lambda_fake.h) on 127.0.0.1 until
 * SIGTERM or SIGINT.  Tests start it as a separate process and read the port from its first
 * line, then point AWS_LAMBDA_RUNTIME_API at it. */
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/num.h"
#include "fakes/lambda_fake.h"

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
    "payload as an event too.\n\n";

/* The events read from --event files, owned here. */
struct events {
    char **v;
    size_t n;
};

static int add_event_file(void *ctx, char *path, struct diag *d)
{
    struct events *ev = ctx;
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
    const struct tool_opt opts[] = {
        TOOL_OPT_PORT(&o->port),
        TOOL_OPT_SET("event", "FILE", add_event_file,
                     "queue the event in FILE (repeatable, in order)"),
        TOOL_OPT_STR("events-dir", "DIR", &o->events_dir,
                     "then queue every DIR/*.json, in name order"),
        TOOL_OPT_I64("timeout-ms", "N", &o->timeout_ms, 1, 86400000,
                     "each invocation's deadline, from when it is handed out\n"
                     "(default 900000)"),
        TOOL_OPT_I64("next-delay-ms", "N", &o->next_delay_ms, 0, 3600000,
                     "every /next waits N ms before answering (default 0)"),
        TOOL_OPT_INT("when-empty", "STATUS", &o->empty_status, 200, 599,
                     "answer /next with this status when no event is queued\n"
                     "(default: wait for one, as Lambda does)"),
        TOOL_OPT_U64("fail-next", "N", &o->fail_next, 1, INT64_MAX, "answer 500 to the N-th /next"),
        TOOL_OPT_U64("fail-post", "N", &o->fail_post, 1, INT64_MAX,
                     "answer 500 to the N-th response or error post"),
        TOOL_OPT_STR("aws-key-id", "ID", &o->aws_key_id,
                     "the AWS key the Invoke API accepts (with --aws-secret); without\n"
                     "them any SigV4 request scoped to lambda is accepted"),
        TOOL_OPT_STR("aws-secret", "SECRET", &o->aws_secret, "its secret key"),
        TOOL_OPT_SET("log-level", "LEVEL", tool_log_level,
                     "debug (one line per request), info, warn, error (default warn)"),
    };
    const struct tool_cmd c = {usage, opts, sizeof opts / sizeof opts[0], ev};
    int err = tool_parse_args(&c, argc, argv, help, d);
    if (err || *help)
        return err;
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
