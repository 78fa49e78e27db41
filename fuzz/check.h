/* check.h - what the fuzz targets share.
 *
 * CHECK aborts rather than asserts: the checks are the point of the targets, so they must hold
 * in -DNDEBUG builds too, and libFuzzer and the replay runner both take an abort as the failure.
 * fuzz_dup copies the input into a writable buffer of exactly its size, so that
 * AddressSanitizer catches a read one byte past the end (the parsers get no NUL to lean on).
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define CHECK(cond) CHECKF(cond, "%s\n", #cond)

/* The message is the printf-style rest of the arguments. */
#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* NULL only when out of memory; the caller then skips the input. */
static inline char *fuzz_dup(const void *data, size_t size)
{
    char *p = malloc(size);
    if (!p && size == 0)
        p = calloc(1, 1); /* malloc(0) may be NULL; an empty input is still worth running */
    else if (p)
        memcpy(p, data, size); /* data is never NULL: libFuzzer and replay.c both allocate */
    return p;
}

/* A diagnostic after a failure must say something and stay inside its array. */
static inline int fuzz_diag_ok(const struct diag *d)
{
    return memchr(d->text, '\0', sizeof d->text) != NULL && d->text[0] != '\0';
}

#endif
