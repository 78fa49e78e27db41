/* err.h - the project's error codes and the diagnostic that carries their details.
 *
 * Every function that can fail returns an int from this table (ERR_OK == 0) and puts its
 * results in out-parameters.  Parsers and anything that handles outside input also fill a
 * struct diag with the text the user sees: what failed, where (file, line, field), and what
 * was expected.  The code says what kind of failure it was; the diag says the details.
 */
#ifndef BASE_ERR_H
#define BASE_ERR_H

#include <stddef.h>

#define ERR_MAP(X)                                                                                 \
    X(OK, "success")                                                                               \
    X(NOMEM, "out of memory")                                                                      \
    X(TOOBIG, "input exceeds its size limit")                                                      \
    X(IO, "input/output error")                                                                    \
    X(NOTFOUND, "not found")                                                                       \
    X(EXISTS, "already exists")                                                                    \
    X(PARSE, "malformed input")                                                                    \
    X(INVALID, "invalid value")                                                                    \
    X(CONFLICT, "conflicting data")                                                                \
    X(PRECONDITION, "precondition failed")                                                         \
    X(USAGE, "invalid usage")                                                                      \
    X(EOF, "end of input")                                                                         \
    X(UNSUPPORTED, "not supported")                                                                \
    X(TIMEOUT, "timed out")                                                                        \
    X(NETWORK, "network error")                                                                    \
    X(AUTH, "not authorized")                                                                      \
    X(UNAVAILABLE, "service unavailable")                                                          \
    X(RATELIMIT, "rate limited")                                                                   \
    X(INTERNAL, "internal error")                                                                  \
    X(DAMAGED, "damaged data")

enum {
#define ERR_ENUM_(name, msg) ERR_##name,
    ERR_MAP(ERR_ENUM_)
#undef ERR_ENUM_
        ERR_COUNT_
};

/* Short upper-case name of an error code ("CONFLICT"); "UNKNOWN" outside the table. */
const char *err_name(int err);

/* One-line description of an error code ("conflicting data"). */
const char *err_str(int err);

#define DIAG_MAX 512

/* The details of the last failure, for the user.  Fixed size: a longer message is cut with
 * "..." at the end, which is the one place where truncation is the right answer (a message
 * about bad input must never fail because the input was long). */
struct diag {
    char text[DIAG_MAX];
};

/* Replace the diagnostic text; returns err so that `return diag_set(d, ERR_X, ...)` reads
 * naturally.  d may be NULL. */
int diag_set(struct diag *d, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix the existing text with "<prefix>: " (for adding the file name at an outer level). */
int diag_prefix(struct diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* diag_prefix, unless the text already starts with "<prefix>: " (an error from a lower level
 * that names the same subject, e.g. the store, is passed on as it is). */
int diag_prefix_once(struct diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear the text. */
void diag_clear(struct diag *d);

/* Write at most max bytes of s into out (NUL-terminated, capacity outcap) with control
 * characters escaped, for quoting untrusted input in messages. */
void diag_quote(char *out, size_t outcap, const char *s, size_t len, size_t max);

#endif
