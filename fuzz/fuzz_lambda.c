/* fuzz_lambda.c - what the Lambda runtime takes from outside, on arbitrary bytes: the
 * collector's event parser (collect/collect_lambda.h), the deadline header, and the error body
 * built around a message that may quote any of it (aws/lambda_rt.h).
 *
 * An event is either taken (a known trigger, a short NUL-terminated time) or refused with a
 * message saying what was expected; a deadline is positive when taken; and an error body is
 * always a JSON document, whatever bytes its message holds.
 */
#include "aws/lambda_rt.h"
#include "check.h"
#include "codec/json.h"
#include "collect/collect_lambda.h"

#include <stdint.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct collect_event ev;
    struct diag d = {{0}};
    int err = collect_lambda_parse_event(text, size, &ev, &d);
    if (err) {
        CHECK(err == ERR_PARSE || err == ERR_USAGE);
        CHECK(d.text[0] != '\0');
        CHECK(err == ERR_PARSE || strstr(d.text, "\"collect\"}"));
    } else {
        CHECK(ev.trigger == COLLECT_TRIGGER_SCHEDULE || ev.trigger == COLLECT_TRIGGER_ACTION ||
              ev.trigger == COLLECT_TRIGGER_MANUAL);
        CHECK(ev.trigger != COLLECT_TRIGGER_MANUAL || ev.time[0] == '\0');
        CHECK(strnlen(ev.time, sizeof ev.time) < sizeof ev.time);
    }
    free(text);

    /* The C-string functions get the input up to its first NUL. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = 0;
    if (lambda_parse_deadline(s, &ms) == ERR_OK)
        CHECK(ms > 0);
    struct buf body = BUF_INIT((size_t)1 << 24);
    CHECK(lambda_error_body(&body, "Function.Fuzz", s) == ERR_OK);
    struct jv *root;
    CHECKF(jv_parse(body.data, body.len, &root, &d) == ERR_OK, "%s\n", d.text);
    const char *type = jv_str(jv_get(root, "errorType"), NULL);
    CHECK(type && strcmp(type, "Function.Fuzz") == 0);
    CHECK(jv_str(jv_get(root, "errorMessage"), NULL) != NULL);
    jv_free(root);
    buf_release(&body);
    free(s);
    return 0;
}
