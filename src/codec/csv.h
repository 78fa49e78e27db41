/* csv.h - an RFC 4180 CSV tokenizer over a buffer held in memory.
 *
 * Records end in LF or CRLF; fields may be quoted ("a ""b"", c"), and quoted fields may span
 * lines.  Fields are views into the buffer: a quoted field with doubled quotes is unescaped in
 * place, which is why the buffer is writable.  Blank lines are skipped.  The tokenizer never
 * reads past the end and never allocates.
 */
#ifndef CODEC_CSV_H
#define CODEC_CSV_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct csv_field {
    const char *ptr;
    size_t len;
};

struct csv_reader {
    char *p;
    char *end;
    size_t line;      /* line number (1-based) where the current record starts */
    size_t next_line; /* line number where the next record starts */
    int one_line;     /* records never span lines: see csv_reader_one_line */
};

/* Start reading data[0..len).  The caller keeps data alive and writable while reading. */
void csv_reader_init(struct csv_reader *r, char *data, size_t len);

/* For files whose fields never hold a line break (bars): a quoted field must close on its own
 * line, and after a broken record reading goes on with the next line.  Otherwise one stray
 * quote pairs with the next quote of the file, however far, and every line between is lost in
 * one broken record. */
void csv_reader_one_line(struct csv_reader *r);

/* Read the next record into fields (at most max).  Returns ERR_OK, ERR_EOF at the end,
 * ERR_TOOBIG when a record has more than max fields, or ERR_PARSE for a broken quote; d then
 * says which line and why.  On error the reader skips to the next line, so a caller that
 * reports and goes on is possible: past the broken record, whose quoted fields may span lines,
 * but for a quote never closed, after the line where it opened. */
int csv_next(struct csv_reader *r, struct csv_field *fields, size_t max, size_t *nfields,
             struct diag *d);

/* Append s[0..len) to out as one CSV field: as is, or quoted (with quotes doubled) when it
 * holds a comma, a quote, a line break or leading or trailing blanks. */
int csv_write_field(struct buf *out, const char *s, size_t len);

/* True when the field equals the NUL-terminated s (ASCII case-insensitive, surrounding
 * blanks ignored), for matching header names. */
int csv_field_is(const struct csv_field *f, const char *s);

#endif
