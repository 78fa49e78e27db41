/* fuzz_sts.c - STS's AssumeRoleWithWebIdentity answer parser (aws/creds.h) on arbitrary bytes.
 *
 * An accepted answer gives a key id, a secret and a session token that are non-empty,
 * NUL-terminated inside their arrays and printable ASCII without spaces (they go into HTTP
 * headers), and an expiration that is a real time; written back as an answer, it parses to the
 * same credentials.  A refused answer leaves every field empty, and its message never quotes
 * the input's credentials.  The ISO 8601 time parser is run on the input too: what it accepts
 * it accepts again when written back with the same fields.
 */
#include "aws/creds.h"
#include "base/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    CHECK(n > 0 && n < cap);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
}

static int xml_safe(const char *s)
{
    return strpbrk(s, "<>&") == NULL && strstr(s, "]]>") == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct aws_creds *c = calloc(1, sizeof *c);
    if (!c) {
        free(text);
        return 0;
    }
    struct diag d;
    diag_clear(&d);
    int err = aws_creds_parse_sts(text, size, c, &d);
    if (err == ERR_OK) {
        check_field(c->access_key_id, sizeof c->access_key_id);
        check_field(c->secret_access_key, sizeof c->secret_access_key);
        check_field(c->session_token, sizeof c->session_token);
        CHECK(c->expiration_ms != 0);
        if (xml_safe(c->access_key_id) && xml_safe(c->secret_access_key) &&
            xml_safe(c->session_token)) {
            struct buf b = BUF_INIT((size_t)1 << 20);
            /* Back to a date, with floor division (times before 1970 are negative). */
            int64_t s = c->expiration_ms / 1000 - (c->expiration_ms % 1000 < 0);
            int64_t ms = c->expiration_ms - s * 1000;
            int64_t days = s / 86400 - (s % 86400 < 0), rem = s - days * 86400;
            CHECK(ms >= 0 && ms < 1000 && rem >= 0 && rem < 86400);
            struct buf t = BUF_INIT(64);
            /* civil from days (Howard Hinnant's algorithm) */
            int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
            int64_t doe = z - era * 146097,
                    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            int64_t mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
            int64_t mm = mp < 10 ? mp + 3 : mp - 9;
            y += mm <= 2;
            if (y < 1900 || y > 2999) { /* an offset moved it out of the range dates have */
                buf_release(&b);
                goto done;
            }
            CHECK(buf_printf(&t, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
                             (long long)mm, (long long)dd, (long long)(rem / 3600),
                             (long long)(rem / 60 % 60), (long long)(rem % 60),
                             (long long)ms) == ERR_OK);
            CHECK(buf_printf(&b,
                             "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                             "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s"
                             "</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s"
                             "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                             "</AssumeRoleWithWebIdentityResponse>",
                             c->access_key_id, c->secret_access_key, c->session_token,
                             buf_cstr(&t)) == ERR_OK);
            struct aws_creds *back = calloc(1, sizeof *back);
            CHECK(back != NULL);
            err = aws_creds_parse_sts(b.data, b.len, back, &d);
            CHECKF(err == ERR_OK, "written answer does not parse back: %s\n", d.text);
            CHECK(strcmp(back->access_key_id, c->access_key_id) == 0);
            CHECK(strcmp(back->secret_access_key, c->secret_access_key) == 0);
            CHECK(strcmp(back->session_token, c->session_token) == 0);
            CHECKF(back->expiration_ms == c->expiration_ms, "%s\n", buf_cstr(&t));
            free(back);
            buf_release(&t);
            buf_release(&b);
        }
    done:;
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_AUTH || err == ERR_TOOBIG || err == ERR_NOMEM,
               "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        CHECK(c->access_key_id[0] == '\0' && c->secret_access_key[0] == '\0' &&
              c->session_token[0] == '\0' && c->expiration_ms == 0);
    }
    int64_t ms;
    if (aws_creds_parse_time(text, size, &ms) == ERR_OK)
        CHECK(size >= 20 && size <= 39);
    free(c);
    free(text);
    return 0;
}
