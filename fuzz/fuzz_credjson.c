/* fuzz_credjson.c - the JSON answers of credential_process, the container endpoint and
 * instance metadata (aws/creds.h) on arbitrary bytes, each input read as all three.
 *
 * An accepted answer gives a key id and a secret that are non-empty, NUL-terminated inside
 * their arrays and printable ASCII without spaces, and a token that is empty or the same; a
 * refused one leaves every field empty, with a message that never quotes the input.  The
 * command-line splitter runs on the input too: the words it gives are within the input's
 * length, and splitting their single-quoted join gives the same words.
 */
#include "aws/creds.h"
#include "base/buf.h"
#include "check.h"
#include "codec/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t cap, int may_be_empty)
{
    size_t n = strnlen(s, cap);
    CHECK(n < cap);
    CHECK(may_be_empty || n > 0);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    struct aws_creds *c = calloc(1, sizeof *c);
    if (!text || !c) {
        free(text);
        free(c);
        return 0;
    }
    static const enum aws_creds_json_kind kinds[] = {AWS_CREDS_JSON_PROCESS,
                                                     AWS_CREDS_JSON_CONTAINER, AWS_CREDS_JSON_IMDS};
    struct jv *root = NULL;
    struct diag jd;
    int json_ok = jv_parse(text, size, &root, &jd) == ERR_OK;
    jv_free(root);
    for (size_t k = 0; k < 3; k++) {
        struct diag d;
        diag_clear(&d);
        int err = aws_creds_parse_json(text, size, kinds[k], c, &d);
        if (err == ERR_OK) {
            check_field(c->access_key_id, sizeof c->access_key_id, 0);
            check_field(c->secret_access_key, sizeof c->secret_access_key, 0);
            check_field(c->session_token, sizeof c->session_token, kinds[k] != AWS_CREDS_JSON_IMDS);
            if (kinds[k] == AWS_CREDS_JSON_IMDS)
                CHECK(c->expiration_ms != 0);
        } else {
            CHECKF(err == ERR_PARSE || err == ERR_AUTH || err == ERR_UNSUPPORTED ||
                       err == ERR_TOOBIG || err == ERR_NOMEM,
                   "unexpected error %s\n", err_name(err));
            CHECK(fuzz_diag_ok(&d));
            CHECK(c->access_key_id[0] == '\0' && c->secret_access_key[0] == '\0' &&
                  c->session_token[0] == '\0' && c->expiration_ms == 0);
            /* The JSON library's message (which quotes the text) is never passed on. */
            if (!json_ok) {
                const char *j = strstr(d.text, ": not valid JSON");
                CHECKF(j && j[16] == '\0', "%s\n", d.text);
            }
        }
    }
    /* The command splitter, on inputs without a NUL. */
    char *cmd = malloc(size + 1);
    if (cmd && !memchr(text, '\0', size)) {
        memcpy(cmd, text, size);
        cmd[size] = '\0';
        struct strvec v = STRVEC_INIT;
        struct diag d;
        if (aws_creds_split_command(cmd, &v, &d) == ERR_OK) {
            CHECK(v.n > 0);
            struct buf b = BUF_INIT((size_t)1 << 24);
            for (size_t i = 0; i < v.n; i++) {
                CHECK(strlen(v.v[i]) <= size);
                CHECK(buf_puts(&b, i ? " '" : "'") == ERR_OK);
                for (const char *p = v.v[i]; *p; p++)
                    CHECK((*p == '\'' ? buf_puts(&b, "'\\''") : buf_putc(&b, *p)) == ERR_OK);
                CHECK(buf_putc(&b, '\'') == ERR_OK);
            }
            struct strvec back = STRVEC_INIT;
            CHECK(aws_creds_split_command(buf_cstr(&b), &back, &d) == ERR_OK);
            CHECK(back.n == v.n);
            for (size_t i = 0; i < v.n; i++)
                CHECK(strcmp(back.v[i], v.v[i]) == 0);
            strvec_release(&back);
            buf_release(&b);
        }
        strvec_release(&v);
    }
    free(cmd);
    free(c);
    free(text);
    return 0;
}
