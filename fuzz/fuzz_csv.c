/* fuzz_csv.c - the CSV tokenizer (codec/csv.h) on arbitrary bytes.
 *
 * Checks what csv.h promises: fields are views into the buffer and never more than max of
 * them; every call moves forward, so a reading loop ends; an error leaves the reader at the
 * start of the next line and reading goes on; blank lines and line numbers are counted
 * sanely; with csv_reader_one_line, every record, good or broken, is one line.  A record written
 * back with every field quoted must read back as the same fields, which pins down the unescaping.
 * The input is read with several values of max because the too-many-fields path resumes from the
 * middle of a record.
 */
#include "codec/csv.h"
#include "base/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define MAX_FIELDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Compare addresses as integers: relational operators on pointers outside one object are
 * undefined, and a broken field pointer is exactly what is being looked for. */
static int field_within(const char *base, size_t size, const struct csv_field *f)
{
    uintptr_t b = (uintptr_t)base, p = (uintptr_t)f->ptr;
    return p >= b && p - b <= size && f->len <= size - (p - b);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* csv_field_is the slow, obvious way. */
static int naive_field_is(const struct csv_field *f, const char *s)
{
    size_t a = 0, z = f->len;
    while (a < z && (f->ptr[a] == ' ' || f->ptr[a] == '\t'))
        a++;
    while (z > a && (f->ptr[z - 1] == ' ' || f->ptr[z - 1] == '\t'))
        z--;
    if (z - a != strlen(s))
        return 0;
    for (size_t i = 0; a + i < z; i++)
        if (lower(f->ptr[a + i]) != lower(s[i]))
            return 0;
    return 1;
}

static void check_field_is(const struct csv_field *f)
{
    static const char *const probes[] = {"", "symbol", "Date", "ex_date", "\t close "};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        CHECK(csv_field_is(f, probes[i]) == naive_field_is(f, probes[i]));
    /* The field's own text as the name: equal unless blanks at its ends are trimmed away. */
    char own[MAX_FIELDS];
    if (f->len < sizeof own && !memchr(f->ptr, '\0', f->len)) {
        memcpy(own, f->ptr, f->len);
        own[f->len] = '\0';
        CHECK(csv_field_is(f, own) == naive_field_is(f, own));
    }
}

/* Write the record with every field quoted and read it back: same number of fields, same
 * bytes, then the end. */
static void check_requote(const struct csv_field *f, size_t n)
{
    struct buf b = BUF_INIT((size_t)1 << 30);
    for (size_t i = 0; i < n; i++) {
        CHECK(buf_putc(&b, '"') == ERR_OK);
        for (size_t k = 0; k < f[i].len; k++) {
            if (f[i].ptr[k] == '"')
                CHECK(buf_putc(&b, '"') == ERR_OK);
            CHECK(buf_putc(&b, f[i].ptr[k]) == ERR_OK);
        }
        CHECK(buf_puts(&b, i + 1 < n ? "\"," : "\"\n") == ERR_OK);
    }
    char *text = fuzz_dup(b.data, b.len);
    CHECK(text != NULL);
    struct csv_reader r;
    struct csv_field g[MAX_FIELDS];
    size_t m = 0;
    struct diag d;
    csv_reader_init(&r, text, b.len);
    int err = csv_next(&r, g, n, &m, &d);
    CHECKF(err == ERR_OK, "requoted record does not read back: %s\n", d.text);
    CHECKF(m == n, "requoted record has %zu fields, not %zu\n", m, n);
    for (size_t i = 0; i < n; i++)
        CHECKF(g[i].len == f[i].len && memcmp(g[i].ptr, f[i].ptr, f[i].len) == 0,
               "requoted field %zu differs\n", i);
    CHECK(csv_next(&r, g, n, &m, &d) == ERR_EOF);
    free(text);
    buf_release(&b);
}

static void read_all(const uint8_t *data, size_t size, size_t max, int one_line)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return;
    size_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += text[i] == '\n';

    struct csv_reader r;
    csv_reader_init(&r, text, size);
    if (one_line)
        csv_reader_one_line(&r);
    const char *end = text + size;
    const char *last = text;
    size_t last_line = 0;
    /* Every call but the last consumes at least one byte. */
    for (size_t calls = 1;; calls++) {
        CHECKF(calls <= size + 2, "%zu calls on %zu bytes: the reader is stuck\n", calls, size);
        struct csv_field f[MAX_FIELDS];
        size_t n = SIZE_MAX;
        struct diag d;
        diag_clear(&d);
        int err = csv_next(&r, f, max, &n, &d);
        if (err == ERR_EOF) {
            CHECK(r.p == end);
            CHECK(csv_next(&r, f, max, &n, &d) == ERR_EOF);
            break;
        }
        CHECKF(r.p > last && r.p <= end, "no progress (err %s)\n", err_name(err));
        last = r.p;
        CHECK(r.line > last_line && r.line <= newlines + 1 && r.next_line >= r.line);
        last_line = r.line;
        /* One line, one record, good or broken. */
        CHECKF(!one_line || r.next_line == r.line + 1, "record of line %zu ends before line %zu\n",
               r.line, r.next_line);
        if (err != ERR_OK) {
            CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "unexpected error %s\n", err_name(err));
            CHECK(fuzz_diag_ok(&d));
            /* "On error the reader skips to the next line." */
            CHECK(r.p == end || r.p[-1] == '\n');
            continue;
        }
        CHECKF(n >= 1 && n <= max, "%zu fields with max %zu\n", n, max);
        for (size_t i = 0; i < n; i++) {
            CHECKF(field_within(text, size, &f[i]), "field %zu lies outside the input\n", i);
            CHECK(!one_line || !memchr(f[i].ptr, '\n', f[i].len));
            check_field_is(&f[i]);
        }
        if (max == MAX_FIELDS)
            check_requote(f, n);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t maxes[] = {MAX_FIELDS, 3, 1};
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++)
        read_all(data, size, maxes[i], 0);
    read_all(data, size, MAX_FIELDS, 1);
    return 0;
}
