/* multipart.h - multipart/form-data (RFC 7578): writing a request body, and reading one.
 *
 * A body is parts separated by "--BOUNDARY" lines and ended by "--BOUNDARY--", each part
 * headers (Content-Disposition: form-data; name="..."; filename="...", optionally a
 * Content-Type), a blank line and the bytes, CRLF line ends throughout.  The writer picks
 * nothing: the caller gives a boundary that does not occur in the content
 * (multipart_boundary makes one).  The reader takes a whole body and the Content-Type
 * header's value, checks the structure strictly (every delimiter, every header line, the
 * closing delimiter) and hands back views into the body.
 */
#ifndef CODEC_MULTIPART_H
#define CODEC_MULTIPART_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define MULTIPART_NAME_MAX     64
#define MULTIPART_PARTS_MAX    32

/* A boundary (NUL-terminated, out holds MULTIPART_BOUNDARY_MAX + 1) that occurs nowhere in
 * the n buffers given. */
void multipart_boundary(const void *const *data, const size_t *len, size_t n, char *out);

/* Append a text field, a file, and the closing delimiter.  Names and file names are quoted
 * as they are: they must hold no '"', CR or LF (ERR_INVALID). */
int multipart_field(struct buf *out, const char *boundary, const char *name, const char *value,
                    size_t len);
int multipart_file(struct buf *out, const char *boundary, const char *name, const char *filename,
                   const char *content_type, const void *data, size_t len);
int multipart_end(struct buf *out, const char *boundary);

struct multipart_part {
    char name[MULTIPART_NAME_MAX + 1];
    char filename[MULTIPART_NAME_MAX + 1];     /* "" when the part is not a file */
    char content_type[MULTIPART_NAME_MAX + 1]; /* "" when none was given */
    int is_file;
    const char *data; /* into the body */
    size_t len;
};

/* Read body (len bytes) whose Content-Type header is content_type ("multipart/form-data;
 * boundary=..."): at most max parts into parts, their number in *n.  ERR_PARSE with d
 * saying what and where (the part and the header) for anything malformed; ERR_TOOBIG for
 * more than max parts or a name longer than MULTIPART_NAME_MAX. */
int multipart_parse(const char *content_type, const char *body, size_t len,
                    struct multipart_part *parts, size_t max, size_t *n, struct diag *d);

#endif
