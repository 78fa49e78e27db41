/* fuzz_ssm.c - the SSM GetParameters answer and error parsers (aws/ssm.h) on arbitrary bytes.
 *
 * An answer the parser accepts holds parameters with a non-empty name, a value, a known type
 * and a non-negative version; written back as JSON it parses to the same parameters.  A
 * rejected answer leaves the result as it was, and its diagnostic never carries the text
 * near the error (which could be part of a secret value).  An error body gives a short type
 * with its namespace and suffix removed, printable, and a printable message.
 */
#include "aws/ssm.h"
#include "base/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_str(struct buf *b, const char *s)
{
    CHECK(buf_putc(b, '"') == ERR_OK);
    CHECK(buf_json_escape(b, s, strlen(s)) == ERR_OK);
    CHECK(buf_putc(b, '"') == ERR_OK);
}

static void check_round_trip(const struct ssm_result *r)
{
    struct buf b = BUF_INIT((size_t)1 << 30);
    CHECK(buf_puts(&b, "{\"Parameters\":[") == ERR_OK);
    for (size_t i = 0; i < r->nparams; i++) {
        const struct ssm_param *p = &r->params[i];
        CHECK(buf_puts(&b, i ? ",{\"Name\":" : "{\"Name\":") == ERR_OK);
        put_str(&b, p->name);
        CHECK(buf_puts(&b, ",\"Value\":") == ERR_OK);
        put_str(&b, p->value);
        if (p->type[0]) {
            CHECK(buf_puts(&b, ",\"Type\":") == ERR_OK);
            put_str(&b, p->type);
        }
        CHECK(buf_printf(&b, ",\"Version\":%lld}", (long long)p->version) == ERR_OK);
    }
    CHECK(buf_puts(&b, "],\"InvalidParameters\":[") == ERR_OK);
    for (size_t i = 0; i < r->nmissing; i++) {
        if (i)
            CHECK(buf_putc(&b, ',') == ERR_OK);
        put_str(&b, r->missing[i]);
    }
    CHECK(buf_puts(&b, "]}") == ERR_OK);
    struct ssm_result back = {0};
    struct diag d;
    int err = ssm_parse_get_parameters(b.data, b.len, &back, &d);
    CHECKF(err == ERR_OK, "written answer does not parse back: %s\n%s\n", d.text, b.data);
    CHECK(back.nparams == r->nparams && back.nmissing == r->nmissing);
    for (size_t i = 0; i < r->nparams; i++) {
        CHECK(strcmp(back.params[i].name, r->params[i].name) == 0);
        CHECK(strcmp(back.params[i].value, r->params[i].value) == 0);
        CHECK(strcmp(back.params[i].type, r->params[i].type) == 0);
        CHECK(back.params[i].version == r->params[i].version);
    }
    for (size_t i = 0; i < r->nmissing; i++)
        CHECK(strcmp(back.missing[i], r->missing[i]) == 0);
    ssm_result_release(&back);
    buf_release(&b);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct ssm_result r = {0};
    struct diag d;
    diag_clear(&d);
    int err = ssm_parse_get_parameters(text, size, &r, &d);
    if (err == ERR_OK) {
        for (size_t i = 0; i < r.nparams; i++) {
            const struct ssm_param *p = &r.params[i];
            CHECK(p->name && p->name[0] && p->value);
            CHECK(p->type[0] == '\0' || strcmp(p->type, "String") == 0 ||
                  strcmp(p->type, "StringList") == 0 || strcmp(p->type, "SecureString") == 0);
            CHECK(p->version >= 0);
        }
        for (size_t i = 0; i < r.nmissing; i++)
            CHECK(r.missing[i] && r.missing[i][0]);
        check_round_trip(&r);
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_NOMEM, "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        if (strncmp(d.text, "SSM answer: invalid JSON", 24) == 0)
            CHECKF(strchr(d.text + 11, ':') == NULL, "diagnostic quotes the input: %s\n", d.text);
        CHECK(r.nparams == 0 && r.nmissing == 0);
    }
    ssm_result_release(&r);

    char type[64], msg[128];
    err = ssm_parse_error(text, size, type, sizeof type, msg, sizeof msg);
    CHECK(err == ERR_OK || err == ERR_PARSE);
    CHECK(memchr(type, '\0', sizeof type) && memchr(msg, '\0', sizeof msg));
    CHECK(printable(type) && printable(msg));
    if (err == ERR_OK) {
        CHECK(type[0] && !strchr(type, '#') && !strchr(type, ':'));
        int code = ssm_error_code(400, type);
        CHECK(code == ERR_NOTFOUND || code == ERR_AUTH || code == ERR_RATELIMIT ||
              code == ERR_UNAVAILABLE || code == ERR_INVALID);
    } else {
        CHECK(type[0] == '\0');
    }
    free(text);
    return 0;
}
