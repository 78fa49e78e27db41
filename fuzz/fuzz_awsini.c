/* fuzz_awsini.c - the AWS credentials / config file parser (aws/creds.h) on arbitrary bytes.
 *
 * Every entry the parser hands out must lie inside the input, be trimmed, hold no line break
 * or NUL, and come on a later line than the one before; a key has no '=' or ':' in it.  The
 * profile lookup on top must accept what the parser accepts (unless a value is too long for
 * its field), report the parser's own error otherwise, keep every field NUL-terminated inside
 * its array, and leave them all empty when it fails.
 */
#include "aws/creds.h"
#include "base/err.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
    const char *text;
    size_t size;
    size_t last_line;
    size_t entries;
    char first_section[64];
};

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

static void check_part(const struct walk *w, const char *s, size_t n, int may_be_empty)
{
    CHECK(s != NULL);
    CHECK(s >= w->text && s + n <= w->text + w->size);
    CHECK(may_be_empty || n > 0);
    CHECK(memchr(s, '\n', n) == NULL && memchr(s, '\0', n) == NULL);
    if (n)
        CHECK(!blank(s[0]) && !blank(s[n - 1]));
}

static int on_entry(void *ctx, const struct aws_creds_ini_entry *e)
{
    struct walk *w = ctx;
    CHECKF(e->line > w->last_line, "line %zu after line %zu\n", e->line, w->last_line);
    w->last_line = e->line;
    check_part(w, e->section, e->section_len, 0);
    if (e->key) {
        check_part(w, e->key, e->key_len, 0);
        CHECK(memchr(e->key, '=', e->key_len) == NULL && memchr(e->key, ':', e->key_len) == NULL);
        check_part(w, e->value, e->value_len, 1);
    } else {
        CHECK(e->value == NULL && e->key_len == 0 && e->value_len == 0);
        if (!w->first_section[0] && e->section_len < sizeof w->first_section)
            memcpy(w->first_section, e->section, e->section_len);
    }
    w->entries++;
    return ERR_OK;
}

static void check_field(const char *f, size_t cap, int must_be_empty)
{
    CHECK(memchr(f, '\0', cap) != NULL);
    CHECK(!must_be_empty || f[0] == '\0');
}

static void check_profile(const char *text, size_t size, const char *name, int config_file,
                          int parsed_ok, const struct diag *parse_diag)
{
    struct aws_creds_profile *p = malloc(sizeof *p);
    if (!p)
        return;
    struct diag d;
    diag_clear(&d);
    int err = aws_creds_ini_profile(text, size, name, config_file, p, &d);
    if (parsed_ok)
        CHECKF(err == ERR_OK || err == ERR_TOOBIG, "lookup: %s on text that parses\n",
               err_name(err));
    else /* a value too long may come before the line that does not parse */
        CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "lookup: %s on text that does not parse\n",
               err_name(err));
    if (err == ERR_PARSE)
        CHECKF(strcmp(d.text, parse_diag->text) == 0, "lookup says '%s', the parser '%s'\n", d.text,
               parse_diag->text);
    int failed = err != ERR_OK;
    if (failed)
        CHECK(fuzz_diag_ok(&d));
    check_field(p->access_key_id, sizeof p->access_key_id, failed);
    check_field(p->secret_access_key, sizeof p->secret_access_key, failed);
    check_field(p->session_token, sizeof p->session_token, failed);
    check_field(p->region, sizeof p->region, failed);
    check_field(p->unsupported, sizeof p->unsupported, failed);
    if (!p->found)
        CHECK(!p->access_key_id[0] && !p->secret_access_key[0] && !p->region[0]);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct walk w = {.text = text, .size = size};
    struct diag d;
    diag_clear(&d);
    int err = aws_creds_ini_parse(text, size, on_entry, &w, &d);
    CHECKF(err == ERR_OK || err == ERR_PARSE, "unexpected error %s\n", err_name(err));
    if (err != ERR_OK) {
        CHECK(fuzz_diag_ok(&d));
        CHECKF(strncmp(d.text, "line ", 5) == 0, "message without a line: %s\n", d.text);
    }

    /* The same text gives the same entries. */
    struct walk again = {.text = text, .size = size};
    CHECK(aws_creds_ini_parse(text, size, on_entry, &again, &d) == err);
    CHECK(again.entries == w.entries);

    check_profile(text, size, "default", 0, err == ERR_OK, &d);
    check_profile(text, size, "default", 1, err == ERR_OK, &d);
    if (w.first_section[0]) {
        check_profile(text, size, w.first_section, 0, err == ERR_OK, &d);
        check_profile(text, size, w.first_section, 1, err == ERR_OK, &d);
    }
    free(text);
    return 0;
}
