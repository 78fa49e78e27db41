/* buf.h - growable byte buffers with a hard maximum.
 *
 * Every buffer filled from outside (files, HTTP bodies, JSON) gets a cap at init; growing past
 * it is ERR_TOOBIG, never a silent truncation.  The data is always NUL-terminated so that it
 * can be handed to C string functions, but may also contain NUL bytes.
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL until the first append; buf_cstr() never returns NULL */
    size_t len;
    size_t cap;
    size_t max; /* len may never exceed this */
};

#define BUF_INIT(maxbytes)                                                                         \
    {                                                                                              \
        NULL, 0, 0, (maxbytes)                                                                     \
    }

void buf_init(struct buf *b, size_t max);
/* Free the memory; the buffer can be used again (empty, same max). */
void buf_release(struct buf *b);
/* Forget the content, keep the memory. */
void buf_reset(struct buf *b);

/* Make room for n more bytes (ERR_TOOBIG past max, ERR_NOMEM). */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Append s as the body of a JSON string (no quotes added): escapes ", \ and control
 * characters; bytes >= 0x80 are copied as they are. */
int buf_json_escape(struct buf *b, const char *s, size_t n);

/* The content as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);

/* Hand the allocation over to the caller (free() it); the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
