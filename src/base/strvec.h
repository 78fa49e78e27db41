/* strvec.h - an owned, growable array of NUL-terminated strings. */
#ifndef BASE_STRVEC_H
#define BASE_STRVEC_H

#include <stddef.h>

struct strvec {
    char **v;
    size_t n, cap;
};

#define STRVEC_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void strvec_init(struct strvec *sv);
void strvec_release(struct strvec *sv);
/* Append a copy of s (n bytes). */
int strvec_pushn(struct strvec *sv, const char *s, size_t n);
int strvec_push(struct strvec *sv, const char *s);
/* Sort in strcmp order. */
void strvec_sort(struct strvec *sv);

#endif
