/* json.c - jansson behind the jv interface (the one file that includes jansson). */
#include "codec/json.h"

#include <jansson.h>
#include <string.h>

#include "base/banned.h"

/* struct jv is never defined: a struct jv * is a json_t * in disguise. */
#define J(v)  ((json_t *)(v))
#define JV(j) ((struct jv *)(j))

int jv_parse(const char *text, size_t len, struct jv **out, struct diag *d)
{
    json_error_t e;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return diag_set(d, ERR_PARSE, "invalid JSON at line %d column %d: %s", e.line, e.column,
                        e.text);
    *out = JV(root);
    return ERR_OK;
}

void jv_free(struct jv *root)
{
    json_decref(J(root));
}

enum jv_type jv_type(const struct jv *v)
{
    switch (json_typeof(J(v))) {
    case JSON_OBJECT:
        return JV_OBJECT;
    case JSON_ARRAY:
        return JV_ARRAY;
    case JSON_STRING:
        return JV_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return JV_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return JV_BOOL;
    case JSON_NULL:
    default:
        return JV_NULL;
    }
}

const char *jv_type_name(enum jv_type t)
{
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

struct jv *jv_get(const struct jv *v, const char *key)
{
    return v && json_is_object(J(v)) ? JV(json_object_get(J(v), key)) : NULL;
}

size_t jv_len(const struct jv *v)
{
    if (!v)
        return 0;
    if (json_is_array(J(v)))
        return json_array_size(J(v));
    if (json_is_object(J(v)))
        return json_object_size(J(v));
    return 0;
}

struct jv *jv_at(const struct jv *v, size_t i)
{
    return v && json_is_array(J(v)) ? JV(json_array_get(J(v), i)) : NULL;
}

static void iter_load(struct jv_iter *it)
{
    it->key = it->impl ? json_object_iter_key(it->impl) : NULL;
    it->value = it->impl ? JV(json_object_iter_value(it->impl)) : NULL;
}

struct jv_iter jv_iter(const struct jv *obj)
{
    struct jv_iter it = {.obj = obj};
    if (obj && json_is_object(J(obj)))
        it.impl = json_object_iter(J(obj));
    iter_load(&it);
    return it;
}

int jv_iter_ok(const struct jv_iter *it)
{
    return it->impl != NULL;
}

void jv_iter_next(struct jv_iter *it)
{
    it->impl = json_object_iter_next(J(it->obj), it->impl);
    iter_load(it);
}

const char *jv_str(const struct jv *v, size_t *len)
{
    if (!v || !json_is_string(J(v)))
        return NULL;
    if (len)
        *len = json_string_length(J(v));
    return json_string_value(J(v));
}

int jv_num(const struct jv *v, double *out)
{
    if (!v || !json_is_number(J(v)))
        return ERR_INVALID;
    /* json_real_value() is 0 for an integer such as 187: ask for the number whatever it is. */
    *out = json_number_value(J(v));
    return ERR_OK;
}

int jv_int(const struct jv *v, int64_t *out)
{
    if (!v || !json_is_integer(J(v)))
        return ERR_INVALID;
    *out = (int64_t)json_integer_value(J(v));
    return ERR_OK;
}

int jv_bool(const struct jv *v, int *out)
{
    if (!v || !json_is_boolean(J(v)))
        return ERR_INVALID;
    *out = json_is_true(J(v));
    return ERR_OK;
}

int jv_is_null(const struct jv *v)
{
    return v && json_is_null(J(v));
}
