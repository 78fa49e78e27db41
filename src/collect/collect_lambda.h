/* collect_lambda.h - the collector as a Lambda function: which events start a collection,
 * and the JSON summary it answers with.  Pure: no I/O.
 *
 * A collection is started by
 *   - an EventBridge scheduled rule (SAM `Type: Schedule`):
 *       {"version":"0","detail-type":"Scheduled Event","source":"aws.events",
 *        "time":"2026-11-20T22:00:00Z",...}
 *   - an EventBridge Scheduler schedule (SAM `Type: ScheduleV2`), which delivers its Input
 *     as is: {"action":"collect"} or, with the context placeholder,
 *     {"job":"collect","at":"<aws.scheduler.scheduled-time>"};
 *   - the same object sent by hand (`aws lambda invoke`, `screener invoke`);
 *   - an empty object {} (the console's test event, a bare `aws lambda invoke`): a run by
 *     hand, a collection.
 * and {"action":"push","attempt":N} (N from 1, default 1) resumes only the daily push, with
 * no collection: what the function sends itself when the deadline stopped a push short
 * (docs/daily-job.md#the-push).
 * Other members are ignored.  Anything else is refused with a message naming what it looks
 * like (an API Gateway request, an S3/SNS/SQS notification, a Telegram update) and what was
 * expected.
 */
#ifndef COLLECT_COLLECT_LAMBDA_H
#define COLLECT_COLLECT_LAMBDA_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "collect/run_counts.h"

enum collect_trigger {
    COLLECT_TRIGGER_SCHEDULE, /* an EventBridge scheduled rule */
    COLLECT_TRIGGER_ACTION,   /* {"action":"collect"} / {"job":"collect"}: Scheduler or manual */
    COLLECT_TRIGGER_MANUAL,   /* {}: an empty event, a run by hand */
    COLLECT_TRIGGER_PUSH,     /* {"action":"push"}: resume the daily push only */
};

/* The most invocations one push may take: each resumes it, and none is started past this. */
#define COLLECT_PUSH_ATTEMPTS_MAX 20

struct collect_event {
    enum collect_trigger trigger;
    int attempt;   /* COLLECT_TRIGGER_PUSH: which invocation of the chain (from 1) */
    char time[64]; /* the rule's "time" or the Scheduler's "at" when given (for logs), or "" */
};

/* "schedule", "action", "manual" or "push". */
const char *collect_trigger_name(enum collect_trigger t);

/* Classify an event.  ERR_PARSE (with line and column) when it is not JSON; ERR_USAGE when
 * it is not one of the events above, the message saying what it looks like and what was
 * expected. */
int collect_lambda_parse_event(const char *event, size_t len, struct collect_event *out,
                               struct diag *d);

/* Append the event that resumes the push: {"action":"push","attempt":N}. */
int collect_lambda_push_event(struct buf *out, int attempt);

/* Append the run's summary as one JSON object:
 *   {"ok":true,"end":"2026-11-20","symbols":1000,"symbols_up_to_date":0,
 *    "symbols_not_attempted":0,"bars_new":1000,"bars_received":1000,"splits_new":0,
 *    "symbol_changes_new":0,"requests":2,"retries":0,"errors":0,"duration_ms":812}
 * with "ok":false and "error" (message) after it when the run failed.  errors is
 * run_counts_errors(): the same number as the Errors metric and last_run.json. */
int collect_lambda_summary(struct buf *out, const struct run_counts *c, const char *message);

#endif
