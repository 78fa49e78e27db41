/* screener invoke - run a Lambda handler locally on an event file. */
#include "app/app.h"
#include "app/lambda.h"
#include "aws/lambda_rt.h"
#include "base/clock.h"
#include "base/file.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener invoke --event FILE [options]\n\n"
    "Run a Lambda handler here, on an event read from FILE ('-' for standard input), and\n"
    "print what Lambda would return: the handler's response JSON, or its error as\n"
    "{\"errorMessage\":...,\"errorType\":...} (then the exit code says what failed).  The\n"
    "handler is the same code that 'screener lambda' runs in AWS.\n\n"
    "Events the collector takes: an EventBridge scheduled event (\"source\":\"aws.events\",\n"
    "\"detail-type\":\"Scheduled Event\"), or {\"action\":\"collect\"}.\n\n"
    "Options:\n"
    "      --event FILE         the event (JSON)\n"
    "      --handler NAME       collector or bot (default: $_HANDLER, else collector)\n"
    "      --timeout SECONDS    give the invocation a deadline, as the function's timeout\n"
    "                           would (default: none)\n" APP_COMMON_HELP
    "\nEnvironment: as 'screener collect' (APCA_API_KEY_ID, APCA_API_SECRET_KEY,\n"
    "APCA_API_DATA_URL).\n"
    "\nExit codes: 0 the handler succeeded; otherwise as 'screener --help' lists, for the\n"
    "handler's error (2 for an event the handler does not take).\n";

enum { OPT_EVENT = OPT_FIRST_FREE_, OPT_HANDLER, OPT_TIMEOUT };

static int read_event(const char *path, struct buf *out, struct diag *d)
{
    if (strcmp(path, "-") != 0)
        return file_read(path, out, d);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (buf_append(out, chunk, n))
            return diag_set(d, ERR_TOOBIG, "standard input: the event exceeds %zu bytes", out->max);
    if (ferror(stdin))
        return diag_set(d, ERR_IO, "standard input: read error");
    return ERR_OK;
}

int cmd_invoke(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"event", required_argument, NULL, OPT_EVENT},
        {"handler", required_argument, NULL, OPT_HANDLER},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener invoke");
    const char *event_file = NULL, *name = getenv("_HANDLER");
    if (!name || !*name)
        name = "collector";
    long timeout_s = 0;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_EVENT:
            event_file = optarg;
            break;
        case OPT_HANDLER:
            name = optarg;
            break;
        case OPT_TIMEOUT:
            if ((rc = app_parse_long(&a, "--timeout", optarg, 1, 900, &timeout_s)))
                return rc;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (!event_file)
        return app_usage_error(&a, "--event FILE is required");
    if (optind < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind]);

    struct diag d = {{0}};
    struct buf event = BUF_INIT(LAMBDA_EVENT_MAX), response = BUF_INIT(LAMBDA_RESPONSE_MAX);
    struct http_client *http = NULL;
    struct app_lambda *handler = NULL;
    int err = read_event(event_file, &event, &d);
    if (!err)
        err = http_client_new(NULL, &http, &d);
    if (!err) {
        struct app_lambda_opts lo = {
            .handler = name, .store_location = a.store_location, .http = http};
        err = app_lambda_new(&lo, &handler, &d);
    }
    if (err) {
        rc = app_fail(&a, err, &d);
        goto out;
    }
    struct lambda_invocation inv = {.deadline_ms =
                                        timeout_s ? clock_wall_ms() + timeout_s * 1000 : 0};
    snprintf(inv.request_id, sizeof inv.request_id, "local-%ld", (long)getpid());
    snprintf(inv.function_arn, sizeof inv.function_arn,
             "arn:aws:lambda:local:000000000000:function:screener-%s", name);
    err = app_lambda_handle(handler, &inv, buf_cstr(&event), event.len, &response, &d);
    if (err) {
        buf_reset(&response);
        if (!d.text[0])
            diag_set(&d, err, "%s", err_str(err));
        if (lambda_error_body(&response, lambda_error_type(err), d.text) == ERR_OK)
            buf_putc(&response, '\n');
        app_write_stdout(&a, buf_cstr(&response), response.len);
        rc = app_fail(&a, err, &d);
        goto out;
    }
    rc = buf_putc(&response, '\n') ? app_fail(&a, ERR_NOMEM, NULL)
                                   : app_write_stdout(&a, buf_cstr(&response), response.len);
out:
    app_lambda_free(handler);
    http_client_free(http);
    buf_release(&event);
    buf_release(&response);
    app_release(&a);
    return rc;
}
