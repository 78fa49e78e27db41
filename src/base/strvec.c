#include "base/strvec.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void strvec_init(struct strvec *sv)
{
    sv->v = NULL;
    sv->n = 0;
    sv->cap = 0;
}

void strvec_release(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    strvec_init(sv);
}

int strvec_pushn(struct strvec *sv, const char *s, size_t n)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    sv->v[sv->n++] = copy;
    return ERR_OK;
}

int strvec_push(struct strvec *sv, const char *s)
{
    return strvec_pushn(sv, s, strlen(s));
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *sv)
{
    if (sv->n > 1)
        qsort(sv->v, sv->n, sizeof *sv->v, cmp);
}
