/* json.h - reading JSON documents (a thin, strict view over the JSON library).
 *
 * A parsed document is a tree of borrowed `struct jv` values owned by the root: free the root
 * and every value taken from it is gone.  Parsing is strict: invalid UTF-8, duplicate object
 * keys, NaN and "\u0000" are errors, and the diagnostic gives line, column and the reason.
 * Accessors never crash on the wrong type: they return NULL or an error instead, so that a
 * caller checking an outside document reports "field 'o' is a string, expected a number"
 * rather than trusting it.
 */
#ifndef CODEC_JSON_H
#define CODEC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv;

/* Parse len bytes (no NUL needed).  A document deeper than the library's limit, or one whose
 * top level is not an object or array, is ERR_PARSE like any other syntax error. */
int jv_parse(const char *text, size_t len, struct jv **out, struct diag *d);
void jv_free(struct jv *root);

enum jv_type jv_type(const struct jv *v);
/* "null", "boolean", "number", "string", "array", "object" */
const char *jv_type_name(enum jv_type t);

/* Member of an object (NULL when absent or v is not an object). */
struct jv *jv_get(const struct jv *v, const char *key);
/* Elements of an array or members of an object; 0 for anything else. */
size_t jv_len(const struct jv *v);
/* Element i of an array (NULL past the end or when v is not an array). */
struct jv *jv_at(const struct jv *v, size_t i);

/* Object iteration in document order:
 *     for (struct jv_iter it = jv_iter(obj); jv_iter_ok(&it); jv_iter_next(&it)) ...  */
struct jv_iter {
    const struct jv *obj;
    void *impl;
    const char *key;
    struct jv *value;
};
struct jv_iter jv_iter(const struct jv *obj);
int jv_iter_ok(const struct jv_iter *it);
void jv_iter_next(struct jv_iter *it);

/* The string's bytes (NUL-terminated; *len may be NULL), or NULL when v is not a string. */
const char *jv_str(const struct jv *v, size_t *len);
/* Numbers: jv_num accepts integers and reals; jv_int only integers.  ERR_INVALID otherwise. */
int jv_num(const struct jv *v, double *out);
int jv_int(const struct jv *v, int64_t *out);
int jv_bool(const struct jv *v, int *out);
int jv_is_null(const struct jv *v);

#endif
