/* collect_lambda.c - the collector's Lambda events and summary (see collect_lambda.h). */
#include "collect/collect_lambda.h"

#include <stdio.h>
#include <string.h>

#include "base/date.h"
#include "codec/json.h"

#include "base/banned.h"

#define EXPECTED                                                                                   \
    "expected an EventBridge scheduled event (\"source\":\"aws.events\", "                         \
    "\"detail-type\":\"Scheduled Event\") or {\"action\":\"collect\"}"
#define QUOTE_MAX 60

const char *collect_trigger_name(enum collect_trigger t)
{
    return t == COLLECT_TRIGGER_SCHEDULE ? "schedule"
           : t == COLLECT_TRIGGER_MANUAL ? "manual"
           : t == COLLECT_TRIGGER_PUSH   ? "push"
                                         : "action";
}

/* A member's string value quoted for a message, or its type in angle brackets. */
static void describe(const struct jv *v, char *out, size_t cap)
{
    size_t len;
    const char *s = v ? jv_str(v, &len) : NULL;
    if (s)
        diag_quote(out, cap, s, len, QUOTE_MAX);
    else
        snprintf(out, cap, "<%s>", v ? jv_type_name(jv_type(v)) : "missing");
}

static void copy_time(const struct jv *v, char *out, size_t cap)
{
    size_t len;
    const char *s = v ? jv_str(v, &len) : NULL;
    out[0] = '\0';
    if (s)
        diag_quote(out, cap, s, len, cap - 1);
}

static int classify(const struct jv *root, struct collect_event *out, struct diag *d)
{
    if (jv_type(root) != JV_OBJECT)
        return diag_set(d, ERR_USAGE, "the event is an array: " EXPECTED);
    const struct jv *source = jv_get(root, "source"), *type = jv_get(root, "detail-type");
    const struct jv *action = jv_get(root, "action"), *job = jv_get(root, "job");
    char a[QUOTE_MAX + 16], b[QUOTE_MAX + 16];
    if (source || type) {
        const char *s = jv_str(source, NULL), *t = jv_str(type, NULL);
        if (s && t && strcmp(s, "aws.events") == 0 && strcmp(t, "Scheduled Event") == 0) {
            out->trigger = COLLECT_TRIGGER_SCHEDULE;
            copy_time(jv_get(root, "time"), out->time, sizeof out->time);
            return ERR_OK;
        }
        describe(source, a, sizeof a);
        describe(type, b, sizeof b);
        return diag_set(d, ERR_USAGE,
                        "the event has source '%s' and detail-type '%s', which is not a "
                        "schedule: " EXPECTED,
                        a, b);
    }
    if (action && job) {
        const char *x = jv_str(action, NULL), *y = jv_str(job, NULL);
        if (!x || !y || strcmp(x, y) != 0)
            return diag_set(d, ERR_USAGE,
                            "the event has both 'action' and 'job', and they differ: "
                            "expected {\"action\":\"collect\"}");
    }
    if (action || job) {
        const char *key = action ? "action" : "job";
        const struct jv *v = action ? action : job;
        const char *s = jv_str(v, NULL);
        if (s && strcmp(s, "push") == 0) {
            /* The daily push resumed by the function itself: "attempt" counts the chain. */
            const struct jv *at = jv_get(root, "attempt");
            int64_t n = 1;
            if (at && (jv_int(at, &n) != ERR_OK || n < 1 || n > COLLECT_PUSH_ATTEMPTS_MAX))
                return diag_set(d, ERR_USAGE,
                                "the push event's 'attempt' must be a whole number from 1 to %d: "
                                "expected {\"action\":\"push\",\"attempt\":N} or "
                                "{\"action\":\"collect\"}",
                                COLLECT_PUSH_ATTEMPTS_MAX);
            out->trigger = COLLECT_TRIGGER_PUSH;
            out->attempt = (int)n;
            return ERR_OK;
        }
        if (!s || strcmp(s, "collect") != 0) {
            describe(v, a, sizeof a);
            return diag_set(d, ERR_USAGE,
                            "the event asks for %s '%s', which this function does not do: "
                            "expected {\"%s\":\"collect\"} (or {\"action\":\"push\"})",
                            key, a, key);
        }
        out->trigger = COLLECT_TRIGGER_ACTION;
        copy_time(jv_get(root, "at"), out->time, sizeof out->time);
        return ERR_OK;
    }
    if (jv_get(root, "httpMethod") || jv_get(root, "routeKey") || jv_get(root, "requestContext"))
        return diag_set(
            d, ERR_USAGE,
            "the event is an API Gateway request (meant for the bot function?): " EXPECTED);
    if (jv_get(root, "Records"))
        return diag_set(d, ERR_USAGE,
                        "the event is a notification with 'Records' (S3, SNS or SQS), not a "
                        "schedule: " EXPECTED);
    if (jv_get(root, "update_id"))
        return diag_set(d, ERR_USAGE,
                        "the event is a Telegram update (meant for the bot function?): " EXPECTED);
    if (jv_len(root) == 0) { /* {}: a run by hand (the console's default test event) */
        out->trigger = COLLECT_TRIGGER_MANUAL;
        return ERR_OK;
    }
    return diag_set(d, ERR_USAGE,
                    "the event has none of 'source', 'detail-type' or 'action': " EXPECTED);
}

int collect_lambda_parse_event(const char *event, size_t len, struct collect_event *out,
                               struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct jv *root;
    int err = jv_parse(event, len, &root, d);
    if (err)
        return diag_prefix(d, ERR_PARSE, "the event is not JSON");
    err = classify(root, out, d);
    jv_free(root);
    return err;
}

int collect_lambda_push_event(struct buf *out, int attempt)
{
    return buf_printf(out, "{\"action\":\"push\",\"attempt\":%d}", attempt);
}

int collect_lambda_summary(struct buf *out, const struct run_counts *c, const char *message)
{
    char end[DATE_STRLEN + 1] = "";
    if (c->end != INT32_MIN && c->end != 0)
        date_format(c->end, end);
    int rc = buf_printf(out, "{\"ok\":%s", c->run_failed ? "false" : "true");
    if (!rc && c->run_failed) {
        rc = buf_puts(out, ",\"error\":\"");
        rc = rc ? rc : buf_json_escape(out, message ? message : "", message ? strlen(message) : 0);
        rc = rc ? rc : buf_putc(out, '"');
    }
    if (!rc)
        rc = buf_printf(out,
                        ",\"end\":\"%s\",\"symbols\":%zu,\"symbols_up_to_date\":%zu,"
                        "\"symbols_not_attempted\":%zu,\"bars_new\":%zu,\"bars_received\":%zu,"
                        "\"bars_revised\":%zu,\"bars_provisional\":%zu,"
                        "\"splits_new\":%zu,\"symbol_changes_new\":%zu,\"requests\":%llu,"
                        "\"retries\":%llu,\"errors\":%zu,"
                        "\"duration_ms\":%lld}",
                        end, c->symbols, c->symbols_current, c->symbols_not_attempted, c->bars_new,
                        c->bars_received, c->bars_revised, c->bars_provisional, c->splits_new,
                        c->symbol_changes_new, (unsigned long long)c->requests,
                        (unsigned long long)c->retries, run_counts_errors(c),
                        (long long)c->duration_ms);
    return rc;
}
