#include "codec/csv.h"

#include <stdint.h>
#include <string.h>

#include "base/banned.h"

void csv_reader_init(struct csv_reader *r, char *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->line = 0;
    r->next_line = 1;
    r->one_line = 0;
}

void csv_reader_one_line(struct csv_reader *r)
{
    r->one_line = 1;
}

/* The first ',' or '\n' in [p, end), or end.  Fields are short, so this is the hot loop of
 * every CSV read: eight bytes at a time, with the classic "has a zero byte" bit trick on
 * the bytes XORed with each delimiter. */
static char *find_delim(char *p, char *end)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t commas = ones * ',', newlines = ones * '\n';
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t a = w ^ commas, b = w ^ newlines;
        uint64_t hit = ((a - ones) & ~a & highs) | ((b - ones) & ~b & highs);
        if (hit)
            return p + (__builtin_ctzll(hit) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != ',' && *p != '\n')
        p++;
    return p;
}

/* A quote opened at `from` (on line `line`) is never closed: everything after it would be one
 * field up to the end of the data, and every record in it lost under one error.  The broken
 * record ends with its line instead, and reading goes on with the next. */
static void resume_after_line(struct csv_reader *r, char *from, size_t line)
{
    char *nl = memchr(from, '\n', (size_t)(r->end - from));
    r->p = nl ? nl + 1 : r->end;
    r->next_line = line + 1;
}

/* After an error, skip the rest of the record.  Quotes still count: a newline inside a
 * quoted field belongs to the broken record, and must not start a new one, unless the quote
 * is never closed. */
static void skip_record(struct csv_reader *r)
{
    if (r->one_line) {
        resume_after_line(r, r->p, r->next_line);
        return;
    }
    char *open = NULL;
    size_t open_line = 0;
    while (r->p < r->end) {
        char c = *r->p++;
        if (c == '"') {
            if (!open) {
                open = r->p;
                open_line = r->next_line;
            } else {
                open = NULL;
            }
        } else if (c == '\n') {
            r->next_line++;
            if (!open)
                return;
        }
    }
    if (open)
        resume_after_line(r, open, open_line);
}

/* Parse a quoted field starting at the opening quote; unescape in place. */
static int quoted(struct csv_reader *r, struct csv_field *f, struct diag *d)
{
    /* Find the closing quote first: the field is unescaped in place, which must not happen
     * to the lines after an unterminated one, since they are read again. */
    char *close = r->p + 1, *limit = r->end;
    if (r->one_line) {
        char *nl = memchr(close, '\n', (size_t)(r->end - close));
        if (nl)
            limit = nl;
    }
    for (;;) {
        close = memchr(close, '"', (size_t)(limit - close));
        if (!close) {
            resume_after_line(r, r->p + 1, r->next_line);
            return diag_set(d, ERR_PARSE, "line %zu: unterminated quoted field%s", r->line,
                            r->one_line && limit < r->end ? " (not closed on its line)" : "");
        }
        if (close + 1 < limit && close[1] == '"') {
            close += 2;
            continue;
        }
        break;
    }
    char *src = r->p + 1;
    char *dst = src;
    f->ptr = src;
    while (src < close) {
        char c = *src++;
        if (c == '"')
            src++; /* the second of a doubled quote */
        else if (c == '\n')
            r->next_line++;
        *dst++ = c;
    }
    src = close + 1;
    f->len = (size_t)(dst - f->ptr);
    r->p = src;
    if (r->p < r->end && *r->p != ',' && *r->p != '\n' &&
        !(*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') &&
        !(*r->p == '\r' && r->p + 1 == r->end)) {
        size_t line = r->line, close_line = r->next_line;
        skip_record(r);
        /* A stray quote pairs with the next quote of the file, however far: say how many
         * lines went into the broken record, since none of them is read as a record. */
        if (close_line > line)
            return diag_set(d, ERR_PARSE,
                            "line %zu: unexpected character after closing quote (the quoted "
                            "field runs to line %zu: lines %zu to %zu are one broken record)",
                            line, close_line, line, r->next_line - 1);
        return diag_set(d, ERR_PARSE, "line %zu: unexpected character after closing quote", line);
    }
    return ERR_OK;
}

int csv_next(struct csv_reader *r, struct csv_field *fields, size_t max, size_t *nfields,
             struct diag *d)
{
    /* Skip blank lines (LF or CRLF only). */
    for (;;) {
        if (r->p >= r->end)
            return ERR_EOF;
        if (*r->p == '\n') {
            r->p++;
            r->next_line++;
        } else if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') {
            r->p += 2;
            r->next_line++;
        } else {
            break;
        }
    }
    r->line = r->next_line;
    size_t n = 0;
    for (;;) {
        if (n == max) {
            size_t line = r->line;
            skip_record(r);
            return diag_set(d, ERR_TOOBIG, "line %zu: more than %zu fields", line, max);
        }
        struct csv_field *f = &fields[n++];
        if (r->p < r->end && *r->p == '"') {
            int err = quoted(r, f, d);
            if (err)
                return err;
        } else {
            char *start = r->p;
            char *q = find_delim(r->p, r->end);
            char *stop = q;
            if (stop > start && stop[-1] == '\r' && (q == r->end || *q == '\n'))
                stop--;
            f->ptr = start;
            f->len = (size_t)(stop - start);
            r->p = q;
        }
        if (r->p >= r->end) {
            r->next_line++;
            break;
        }
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == '\r')
            r->p++;
        if (r->p < r->end && *r->p == '\n')
            r->p++;
        r->next_line++;
        break;
    }
    *nfields = n;
    return ERR_OK;
}

int csv_field_is(const struct csv_field *f, const char *s)
{
    const char *p = f->ptr;
    size_t len = f->len;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    size_t n = strlen(s);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = p[i], b = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

int csv_write_field(struct buf *out, const char *s, size_t len)
{
    int quote = len && (s[0] == ' ' || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote)
        return buf_append(out, s, len);
    int err = buf_append(out, "\"", 1);
    for (size_t i = 0; i < len && !err; i++)
        err = s[i] == '"' ? buf_append(out, "\"\"", 2) : buf_append(out, &s[i], 1);
    return err ? err : buf_append(out, "\"", 1);
}
