/* telegram_fake.c - the fake Telegram Bot API (see telegram_fake.h).
 *
 * All state sits under one mutex; a method runs with it held.  getUpdates waits on the
 * condition variable (which releases the mutex), woken when updates are queued, when a newer
 * getUpdates or a webhook ends it, and when the fake stops.
 */
#include "fakes/telegram_fake.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/strvec.h"
#include "codec/crypto.h"
#include "codec/json.h"
#include "codec/multipart.h"

#include "base/banned.h"

#define BODY_MAX          ((size_t)1 << 20)
#define PHOTO_MAX         ((size_t)10 << 20) /* an uploaded photo */
#define CAPTION_MAX_UNITS 1024
/* A request body: a photo and the parts around it. */
#define REQUEST_MAX       (PHOTO_MAX + BODY_MAX)
#define RECORD_MAX        ((size_t)8 << 20)  /* one record; params are at most a body */
#define RESULT_MAX        ((size_t)32 << 20) /* one answer, well within httpd's cap */
#define TEXT_MAX_UNITS    4096
#define ANSWER_MAX_UNITS  200
#define SECRET_MAX        256
#define URL_MAX           2048
#define COMMANDS_MAX      100
#define COMMAND_MAX       32
#define DESCRIPTION_MAX   256
#define POLL_MAX_S        50
#define LIMIT_MAX         100
#define FLOOD_GLOBAL      30      /* messages per second overall */
#define FLOOD_CHAT_US     1000000 /* between two messages to one chat */
#define HTML_DEPTH_MAX    64
#define CHATS_MAX         100000
#define DEFAULT_USERNAME  "screener_fake_bot"
#define DEFAULT_MAX_CONNS 40

/* ---- output that remembers its first error ---- */

struct out {
    struct buf b;
    int err;
};

static void o_append(struct out *o, const char *s, size_t n)
{
    if (!o->err)
        o->err = buf_append(&o->b, s, n);
}

static void o_puts(struct out *o, const char *s)
{
    o_append(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void o_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!o->err)
        o->err = buf_vprintf(&o->b, fmt, ap);
    va_end(ap);
}

/* s as a JSON string. */
static void o_str(struct out *o, const char *s, size_t n)
{
    o_puts(o, "\"");
    if (!o->err)
        o->err = buf_json_escape(&o->b, s, n);
    o_puts(o, "\"");
}

static void o_cstr(struct out *o, const char *s)
{
    o_str(o, s, strlen(s));
}

/* A parsed JSON value written back, compact. */
static void o_jv(struct out *o, const struct jv *v)
{
    switch (jv_type(v)) {
    case JV_NULL:
        o_puts(o, "null");
        break;
    case JV_BOOL: {
        int x = 0;
        jv_bool(v, &x);
        o_puts(o, x ? "true" : "false");
        break;
    }
    case JV_NUMBER: {
        int64_t i;
        double d = 0;
        if (jv_int(v, &i) == ERR_OK)
            o_printf(o, "%lld", (long long)i);
        else if (jv_num(v, &d) == ERR_OK)
            o_printf(o, "%.17g", d);
        break;
    }
    case JV_STRING: {
        size_t n = 0;
        const char *s = jv_str(v, &n);
        o_str(o, s, n);
        break;
    }
    case JV_ARRAY:
        o_puts(o, "[");
        for (size_t i = 0; i < jv_len(v); i++) {
            if (i)
                o_puts(o, ",");
            o_jv(o, jv_at(v, i));
        }
        o_puts(o, "]");
        break;
    case JV_OBJECT: {
        o_puts(o, "{");
        int first = 1;
        for (struct jv_iter it = jv_iter(v); jv_iter_ok(&it); jv_iter_next(&it)) {
            if (!first)
                o_puts(o, ",");
            first = 0;
            o_cstr(o, it.key);
            o_puts(o, ":");
            o_jv(o, it.value);
        }
        o_puts(o, "}");
        break;
    }
    }
}

/* ---- text ---- */

/* Well-formed UTF-8 without NUL bytes (no overlong forms, surrogates or code points past
 * U+10FFFF). */
static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Length in UTF-16 code units of valid UTF-8: one per character, two for those past U+FFFF
 * (four bytes in UTF-8). */
static size_t utf16_len(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A decimal int64: an optional '-', then digits only. */
static int parse_int64(const char *s, int64_t *out)
{
    int neg = *s == '-';
    const char *p = s + neg;
    if (!*p)
        return -1;
    uint64_t v = 0;
    for (; *p; p++) {
        if (!is_digit(*p) || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static void append_utf8(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    buf_append(b, u, n);
}

/* ---- Telegram's HTML ---- */

/* The character reference at s[pos] == '&' as Telegram reads it (&lt; &gt; &amp; &quot;, &#N;
 * and &#xH;, the ';' optional): 0 with *code and *end (one past it), or -1. */
static int html_entity(const char *s, size_t n, size_t pos, uint32_t *code, size_t *end)
{
    size_t p = pos + 1;
    uint64_t v = 0;
    if (p < n && s[p] == '#') {
        p++;
        if (p < n && s[p] == 'x') {
            for (p++; p < n && crypto_hex_digit(s[p]) >= 0 && p - pos < 12; p++)
                v = v * 16 + (uint64_t)crypto_hex_digit(s[p]);
        } else {
            for (; p < n && is_digit(s[p]) && p - pos < 12; p++)
                v = v * 10 + (uint64_t)(s[p] - '0');
        }
        if (v == 0 || v >= 0x10ffff || p - pos >= 10 || (v >= 0xd800 && v <= 0xdfff))
            return -1;
    } else {
        while (p < n && is_alpha(s[p]))
            p++;
        size_t len = p - pos - 1;
        const char *name = s + pos + 1;
        if (len == 2 && memcmp(name, "lt", 2) == 0)
            v = '<';
        else if (len == 2 && memcmp(name, "gt", 2) == 0)
            v = '>';
        else if (len == 3 && memcmp(name, "amp", 3) == 0)
            v = '&';
        else if (len == 4 && memcmp(name, "quot", 4) == 0)
            v = '"';
        else
            return -1;
    }
    if (p < n && s[p] == ';')
        p++;
    *code = (uint32_t)v;
    *end = p;
    return 0;
}

static int html_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static const char *const html_tags[] = {
    "a", "b",   "strong",     "i",        "em",   "s",   "strike", "del",
    "u", "ins", "tg-spoiler", "tg-emoji", "span", "pre", "code",   "blockquote",
};

static int html_tag_known(const char *name)
{
    for (size_t i = 0; i < sizeof html_tags / sizeof html_tags[0]; i++)
        if (strcmp(name, html_tags[i]) == 0)
            return 1;
    return 0;
}

/* s[from..to) lower-cased into out (capacity cap; longer names are cut, which is harmless:
 * no tag Telegram knows is that long). */
static void lower_copy(const char *s, size_t from, size_t to, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = from; i < to && k + 1 < cap; i++) {
        char c = s[i];
        out[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[k] = '\0';
}

struct html_open {
    char name[16];
    char arg[32]; /* the class of a span, the emoji-id of a tg-emoji */
};

/* Parse text as Telegram's HTML parse mode does (tdlib's parse_html), writing the text
 * without tags, entities decoded, into plain.  On a refusal, 0 is not returned and why gets
 * Telegram's words. */
static int html_parse(const char *s, size_t n, struct buf *plain, char *why, size_t whycap)
{
    struct html_open open[HTML_DEPTH_MAX];
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '&') {
            uint32_t code;
            size_t end;
            if (html_entity(s, n, i, &code, &end) != 0) {
                snprintf(why, whycap,
                         "Unsupported HTML entity at byte offset %zu (the fake refuses what "
                         "Telegram would show as typed: escape '&' as &amp;)",
                         i);
                return -1;
            }
            append_utf8(plain, code);
            i = end - 1;
            continue;
        }
        if (c != '<') {
            buf_putc(plain, c);
            continue;
        }
        size_t begin = i++;
        if (i < n && s[i] == '/') {
            if (depth == 0) {
                snprintf(why, whycap, "Unexpected end tag at byte offset %zu", begin);
                return -1;
            }
            size_t j = i + 1;
            while (j < n && !html_space(s[j]) && s[j] != '>')
                j++;
            char name[16];
            lower_copy(s, i + 1, j, name, sizeof name);
            size_t name_len = j - i - 1;
            while (j < n && html_space(s[j]))
                j++;
            if (j >= n || s[j] != '>') {
                snprintf(why, whycap, "Unclosed end tag at byte offset %zu", begin);
                return -1;
            }
            const struct html_open *top = &open[depth - 1];
            if (name_len && (name_len >= sizeof name || strcmp(name, top->name) != 0)) {
                snprintf(why, whycap,
                         "Unmatched end tag at byte offset %zu, expected \"</%s>\", found "
                         "\"</%.*s>\"",
                         begin, top->name, (int)(name_len > 64 ? 64 : name_len), s + i + 1);
                return -1;
            }
            int64_t emoji;
            if (strcmp(top->name, "tg-emoji") == 0 && (parse_int64(top->arg, &emoji) || !emoji)) {
                snprintf(why, whycap, "Invalid custom emoji identifier specified");
                return -1;
            }
            depth--;
            i = j;
            continue;
        }
        while (i < n && !html_space(s[i]) && s[i] != '>')
            i++;
        if (i >= n) {
            snprintf(why, whycap, "Unclosed start tag at byte offset %zu", begin);
            return -1;
        }
        char name[16];
        size_t name_len = i - begin - 1;
        lower_copy(s, begin + 1, i, name, sizeof name);
        if (name_len >= sizeof name || !html_tag_known(name)) {
            snprintf(why, whycap, "Unsupported start tag \"%.*s\" at byte offset %zu",
                     (int)(name_len > 64 ? 64 : name_len), s + begin + 1, begin);
            return -1;
        }
        if (depth == HTML_DEPTH_MAX) {
            snprintf(why, whycap, "Too deeply nested tags at byte offset %zu (the fake's limit)",
                     begin);
            return -1;
        }
        struct html_open *t = &open[depth];
        memset(t, 0, sizeof *t);
        memcpy(t->name, name, sizeof name);
        while (i < n && s[i] != '>') {
            while (i < n && html_space(s[i]))
                i++;
            if (i >= n || s[i] == '>')
                break;
            size_t attr_begin = i;
            while (i < n && !html_space(s[i]) && s[i] != '=' && s[i] != '>')
                i++;
            char attr[16];
            size_t attr_len = i - attr_begin;
            lower_copy(s, attr_begin, i, attr, sizeof attr);
            if (attr_len == 0) {
                snprintf(why, whycap, "Empty attribute name in the tag \"%s\" at byte offset %zu",
                         name, begin);
                return -1;
            }
            while (i < n && html_space(s[i]))
                i++;
            if (i < n && s[i] != '=' && strcmp(name, "blockquote") == 0 &&
                strcmp(attr, "expandable") == 0)
                continue;
            if (i >= n || s[i] != '=') {
                snprintf(why, whycap,
                         "Expected equal sign in declaration of an attribute of the tag \"%s\" at "
                         "byte offset %zu",
                         name, begin);
                return -1;
            }
            i++;
            while (i < n && html_space(s[i]))
                i++;
            if (i >= n) {
                snprintf(why, whycap, "Unclosed start tag \"%s\" at byte offset %zu", name, begin);
                return -1;
            }
            char value[32];
            if (s[i] != '\'' && s[i] != '"') {
                size_t token_begin = i;
                while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '.' || s[i] == '-'))
                    i++;
                lower_copy(s, token_begin, i, value, sizeof value);
                if (i < n && !html_space(s[i]) && s[i] != '>') {
                    snprintf(why, whycap, "Unexpected end of name token at byte offset %zu",
                             token_begin);
                    return -1;
                }
            } else {
                /* Attribute values keep a stray '&' as Telegram does: URLs are full of them. */
                char quote = s[i++];
                size_t value_begin = i;
                while (i < n && s[i] != quote)
                    i++;
                size_t len = i - value_begin;
                if (len >= sizeof value)
                    len = sizeof value - 1;
                memcpy(value, s + value_begin, len);
                value[len] = '\0';
                if (i < n)
                    i++;
            }
            if (i >= n) {
                snprintf(why, whycap, "Unclosed start tag at byte offset %zu", begin);
                return -1;
            }
            if (strcmp(name, "span") == 0 && strcmp(attr, "class") == 0 &&
                strncmp(value, "tg-", 3) == 0)
                snprintf(t->arg, sizeof t->arg, "%s", value + 3);
            else if (strcmp(name, "tg-emoji") == 0 && strcmp(attr, "emoji-id") == 0)
                snprintf(t->arg, sizeof t->arg, "%s", value);
        }
        if (i >= n) {
            snprintf(why, whycap, "Unclosed start tag at byte offset %zu", begin);
            return -1;
        }
        if (strcmp(name, "span") == 0 && strcmp(t->arg, "spoiler") != 0) {
            snprintf(why, whycap, "Tag \"span\" must have class \"tg-spoiler\" at byte offset %zu",
                     begin);
            return -1;
        }
        depth++;
    }
    if (depth) {
        snprintf(why, whycap, "Can't find end tag corresponding to start tag \"%s\"",
                 open[depth - 1].name);
        return -1;
    }
    return 0;
}

/* ---- state ---- */

struct update {
    int64_t id;
    char *json;    /* the Update, update_id first */
    char type[48]; /* its member besides update_id: "message", "callback_query", ... */
};

struct chat {
    char key[72]; /* "42", or "@name" lower-cased */
    int64_t next_message_id;
    int64_t last_send_us;
    int sent; /* last_send_us holds the time of the last message */
};

struct fault {
    char method[64]; /* "": every method */
    char chat[72];   /* "": every chat; else a chat key */
    int status;
    int64_t retry_after;
    char description[256];
    int64_t left; /* -1: forever */
    int drop;
    int64_t migrate_to; /* parameters.migrate_to_chat_id; 0: none */
};

struct command_list {
    char *key;  /* the scope as JSON, '\n', the language code */
    char *json; /* the BotCommand array */
};

struct tg_fake {
    char *token;
    char *username;
    int64_t bot_id;
    int flood;
    FILE *record;
    struct httpd *httpd;
    int64_t start_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* updates queued, a newer getUpdates, a webhook set, stopping */
    int stopping;

    char **calls;
    size_t ncalls, calls_cap;
    uint64_t seq;
    int warned_calls_full;

    struct update *updates;
    size_t nupdates, updates_cap;
    int64_t last_update_id;
    struct strvec allowed; /* the allowed_updates last set */
    int allowed_set;
    uint64_t poll_gen, polls_waiting;

    char *webhook_url; /* NULL: none */
    char *webhook_secret;
    int max_connections;

    struct fault faults[TG_FAKE_MAX_FAULTS];
    size_t nfaults;

    struct chat *chats;
    size_t nchats, chats_cap;
    int64_t recent[FLOOD_GLOBAL]; /* when the last messages were sent, a ring */
    size_t nrecent, recent_next;

    struct command_list *commands;
    size_t ncommands;
    struct strvec answered; /* callback query ids */
};

/* A refusal: HTTP status (= error_code), description, retry_after for a 429. */
struct failure {
    int status;
    int64_t retry_after;
    int64_t migrate_to;
    char desc[640];
};

__attribute__((format(printf, 3, 4))) static int fail(struct failure *w, int status,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->desc, sizeof w->desc, fmt, ap);
    va_end(ap);
    w->status = status;
    return -1;
}

/* ---- parameters ---- */

struct param {
    char *name;
    char *value; /* what a method reads; NULL for a JSON null (absent) */
    size_t len;
    char *json; /* the value as JSON, for the record */
    int file;   /* an uploaded file (multipart): value holds its bytes */
};

struct params {
    struct param v[TG_FAKE_MAX_PARAMS];
    size_t n;
};

static void params_release(struct params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].value);
        free(p->v[i].json);
    }
    p->n = 0;
}

static const struct param *param_find(const struct params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value ? &p->v[i] : NULL;
    return NULL;
}

/* A string parameter (an uploaded file is not one). */
static const char *arg(const struct params *p, const char *name)
{
    const struct param *x = param_find(p, name);
    return x && !x->file ? x->value : NULL;
}

/* An integer parameter clamped to [min, max], as the real server reads them; def when absent
 * or not a number. */
static int64_t arg_int(const struct params *p, const char *name, int64_t def, int64_t min,
                       int64_t max)
{
    const char *s = arg(p, name);
    int64_t v;
    if (!s || parse_int64(s, &v))
        return def;
    return v < min ? min : v > max ? max : v;
}

static int arg_bool(const struct params *p, const char *name)
{
    const char *s = arg(p, name);
    return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

/* The JSON for the record of a string: the JSON it holds when that is an object or an array,
 * else the string itself. */
static char *value_json(const char *s, size_t n)
{
    struct out o = {BUF_INIT(RECORD_MAX), 0};
    size_t i = 0;
    while (i < n && html_space(s[i]))
        i++;
    struct jv *root;
    if (i < n && (s[i] == '{' || s[i] == '[') && jv_parse(s, n, &root, NULL) == ERR_OK) {
        o_jv(&o, root);
        jv_free(root);
    } else {
        o_str(&o, s, n);
    }
    if (o.err) {
        buf_release(&o.b);
        return NULL;
    }
    return buf_detach(&o.b, NULL);
}

/* Take name, value (NULL: JSON null) and json; the first of a name counts. */
static int params_add(struct params *p, char *name, char *value, size_t len, char *json,
                      struct failure *w)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0) {
            free(name), free(value), free(json);
            return 0;
        }
    if (p->n == TG_FAKE_MAX_PARAMS) {
        free(name), free(value), free(json);
        return fail(w, 400, "Bad Request: too many parameters (the fake reads at most %d)",
                    TG_FAKE_MAX_PARAMS);
    }
    p->v[p->n++] = (struct param){name, value, len, json, 0};
    return 0;
}

/* s[0..n) percent-decoded ('+' is a space) into a new string. */
static int form_decode(const char *s, size_t n, char **out, size_t *len)
{
    char *d = malloc(n + 1);
    if (!d)
        return ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int v = crypto_hex_byte(s + i + 1, n - i - 1);
            if (v < 0) {
                free(d);
                return ERR_PARSE;
            }
            c = (char)v;
            i += 2;
        }
        d[k++] = c;
    }
    d[k] = '\0';
    *out = d;
    *len = k;
    return ERR_OK;
}

static int parse_form(const char *s, size_t n, struct params *p, struct failure *w)
{
    size_t i = 0;
    while (i < n) {
        const char *pair = s + i;
        const char *amp = memchr(pair, '&', n - i);
        size_t plen = amp ? (size_t)(amp - pair) : n - i;
        i += plen + (amp ? 1 : 0);
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t)(eq - pair) : plen;
        char *name = NULL, *value = NULL;
        size_t nlen, vlen;
        int err = form_decode(pair, klen, &name, &nlen);
        if (!err) {
            err = eq ? form_decode(eq + 1, plen - klen - 1, &value, &vlen)
                     : form_decode("", 0, &value, &vlen);
            if (err)
                free(name);
        }
        if (err == ERR_NOMEM)
            return fail(w, 500, "Internal Server Error: out of memory");
        if (err)
            return fail(w, 400, "Bad Request: invalid percent-encoding in the parameters");
        if (!utf8_ok(name, nlen) || !utf8_ok(value, vlen)) {
            free(name), free(value);
            return fail(w, 400, "Bad Request: strings must be encoded in UTF-8");
        }
        if (nlen == 0) {
            free(name), free(value);
            continue;
        }
        char *json = value_json(value, vlen);
        if (!json) {
            free(name), free(value);
            return fail(w, 500, "Internal Server Error: out of memory");
        }
        if (params_add(p, name, value, vlen, json, w))
            return -1;
    }
    return 0;
}

/* A JSON body: one object; strings are read as they are, other values as their JSON text
 * (as the real server does: "chat_id":42 is "42", an object its JSON). */
static int parse_json_body(const char *s, size_t n, struct params *p, struct failure *w)
{
    struct jv *root;
    if (jv_parse(s, n, &root, NULL) != ERR_OK)
        return fail(w, 400, "Bad Request: can't parse JSON object");
    if (jv_type(root) != JV_OBJECT) {
        jv_free(root);
        return fail(w, 400, "Bad Request: can't parse JSON object");
    }
    int rc = 0;
    for (struct jv_iter it = jv_iter(root); !rc && jv_iter_ok(&it); jv_iter_next(&it)) {
        char *name = strdup(it.key), *value = NULL, *json = NULL;
        size_t len = 0;
        enum jv_type t = jv_type(it.value);
        if (t == JV_STRING) {
            const char *str = jv_str(it.value, &len);
            value = malloc(len + 1);
            if (value) {
                memcpy(value, str, len);
                value[len] = '\0';
                json = value_json(value, len);
            }
        } else {
            struct out o = {BUF_INIT(RECORD_MAX), 0};
            o_jv(&o, it.value);
            json = o.err ? NULL : buf_detach(&o.b, &len);
            buf_release(&o.b);
            if (json && t != JV_NULL)
                value = strdup(json);
        }
        if (!name || !json || (t != JV_NULL && !value)) {
            free(name), free(value), free(json);
            rc = fail(w, 500, "Internal Server Error: out of memory");
            break;
        }
        rc = params_add(p, name, value, len, json, w);
    }
    jv_free(root);
    return rc;
}

/* A multipart/form-data body: text parts are parameters as in a form, file parts uploads
 * (recorded by name, type, size and SHA-256, not by content). */
static int parse_multipart(const char *type, const char *body, size_t len, struct params *p,
                           struct failure *w)
{
    struct multipart_part parts[MULTIPART_PARTS_MAX];
    size_t n;
    struct diag d = {{0}};
    int err = multipart_parse(type, body, len, parts, MULTIPART_PARTS_MAX, &n, &d);
    if (err)
        return fail(w, 400, "Bad Request: %s", d.text);
    for (size_t i = 0; i < n; i++) {
        const struct multipart_part *m = &parts[i];
        if (!m->is_file && !utf8_ok(m->data, m->len))
            return fail(w, 400, "Bad Request: parameter \"%s\" is not UTF-8", m->name);
        char *name = strdup(m->name), *value = malloc(m->len + 1), *json = NULL;
        if (value) {
            memcpy(value, m->data, m->len);
            value[m->len] = '\0';
        }
        if (value && m->is_file) {
            uint8_t h[SHA256_LEN];
            char hex[2 * SHA256_LEN + 1];
            crypto_sha256(m->data, m->len, h);
            crypto_hex(h, SHA256_LEN, hex);
            struct out o = {BUF_INIT(RECORD_MAX), 0};
            o_puts(&o, "{\"file_name\":");
            o_cstr(&o, m->filename);
            o_puts(&o, ",\"content_type\":");
            o_cstr(&o, m->content_type);
            o_printf(&o, ",\"size\":%zu,\"sha256\":\"%s\"}", m->len, hex);
            json = o.err ? NULL : buf_detach(&o.b, NULL);
            buf_release(&o.b);
        } else if (value) {
            json = value_json(value, m->len);
        }
        if (!name || !value || !json) {
            free(name), free(value), free(json);
            return fail(w, 500, "Internal Server Error: out of memory");
        }
        size_t before = p->n;
        if (params_add(p, name, value, m->len, json, w))
            return -1;
        if (p->n > before)
            p->v[p->n - 1].file = m->is_file;
    }
    return 0;
}

/* The media type of a Content-Type, lower-cased, without parameters. */
static void media_type(const char *type, char *out, size_t cap)
{
    size_t k = 0;
    const char *s = type ? type : "";
    while (html_space(*s))
        s++;
    for (; *s && *s != ';' && !html_space(*s) && k + 1 < cap; s++)
        out[k++] = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
    out[k] = '\0';
}

static int read_params(const struct httpd_request *req, struct params *p, struct failure *w)
{
    if (*req->query && parse_form(req->query, strlen(req->query), p, w))
        return -1;
    if (req->body_len == 0)
        return 0;
    char media[64];
    media_type(httpd_request_header(req, "Content-Type"), media, sizeof media);
    if (!*media || strcmp(media, "application/x-www-form-urlencoded") == 0)
        return parse_form(req->body, req->body_len, p, w);
    if (strcmp(media, "application/json") == 0)
        return parse_json_body(req->body, req->body_len, p, w);
    if (strcmp(media, "multipart/form-data") == 0)
        return parse_multipart(httpd_request_header(req, "Content-Type"), req->body, req->body_len,
                               p, w);
    return fail(w, 400, "Bad Request: unsupported Content-Type \"%.60s\"", media);
}

/* ---- chats ---- */

struct chat_ref {
    char key[72];
    int64_t id;
    int channel;
};

/* chat_id as Telegram takes it: a non-zero int64, or @username of a channel. */
static int chat_parse(const char *s, struct chat_ref *c)
{
    memset(c, 0, sizeof *c);
    if (s[0] == '@') {
        size_t n = strlen(s + 1);
        if (n == 0 || n > 64)
            return -1;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a, for a stable made-up id */
        for (size_t i = 1; i <= n; i++) {
            char ch = s[i];
            if (!is_alpha(ch) && !is_digit(ch) && ch != '_')
                return -1;
            ch = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
            c->key[i] = ch;
            h = (h ^ (unsigned char)ch) * 1099511628211ULL;
        }
        c->key[0] = '@';
        c->id = -1000000000000LL - (int64_t)(h % 1000000000ULL);
        c->channel = 1;
        return 0;
    }
    if (parse_int64(s, &c->id) || c->id == 0)
        return -1;
    snprintf(c->key, sizeof c->key, "%lld", (long long)c->id);
    return 0;
}

static struct chat *chat_find(struct tg_fake *f, const char *key)
{
    for (size_t i = 0; i < f->nchats; i++)
        if (strcmp(f->chats[i].key, key) == 0)
            return &f->chats[i];
    return NULL;
}

static struct chat *chat_get(struct tg_fake *f, const char *key)
{
    struct chat *c = chat_find(f, key);
    if (c)
        return c;
    if (f->nchats == CHATS_MAX)
        return NULL;
    if (f->nchats == f->chats_cap) {
        size_t cap = f->chats_cap ? 2 * f->chats_cap : 16;
        struct chat *v = realloc(f->chats, cap * sizeof *v);
        if (!v)
            return NULL;
        f->chats = v;
        f->chats_cap = cap;
    }
    c = &f->chats[f->nchats++];
    memset(c, 0, sizeof *c);
    snprintf(c->key, sizeof c->key, "%s", key);
    c->next_message_id = 1;
    return c;
}

static void o_chat(struct out *o, const struct chat_ref *c)
{
    if (c->channel) {
        o_printf(o, "{\"id\":%lld,\"title\":", (long long)c->id);
        o_cstr(o, c->key + 1);
        o_puts(o, ",\"username\":");
        o_cstr(o, c->key + 1);
        o_puts(o, ",\"type\":\"channel\"}");
    } else if (c->id > 0) {
        o_printf(o, "{\"id\":%lld,\"first_name\":\"Fake\",\"type\":\"private\"}", (long long)c->id);
    } else if (c->id <= -1000000000000LL) {
        o_printf(o, "{\"id\":%lld,\"title\":\"Fake supergroup\",\"type\":\"supergroup\"}",
                 (long long)c->id);
    } else {
        o_printf(o, "{\"id\":%lld,\"title\":\"Fake group\",\"type\":\"group\"}", (long long)c->id);
    }
}

static void o_bot(struct out *o, const struct tg_fake *f, int full)
{
    o_printf(o, "{\"id\":%lld,\"is_bot\":true,\"first_name\":\"Screener Fake\",\"username\":",
             (long long)f->bot_id);
    o_cstr(o, f->username);
    if (full)
        o_puts(o, ",\"can_join_groups\":true,\"can_read_all_group_messages\":false,"
                  "\"supports_inline_queries\":false,\"can_connect_to_business\":false,"
                  "\"has_main_web_app\":false");
    o_puts(o, "}");
}

/* ---- updates ---- */

static void updates_clear(struct tg_fake *f)
{
    for (size_t i = 0; i < f->nupdates; i++)
        free(f->updates[i].json);
    f->nupdates = 0;
}

/* Forget updates [0, k). */
static void updates_drop_first(struct tg_fake *f, size_t k)
{
    for (size_t i = 0; i < k; i++)
        free(f->updates[i].json);
    memmove(f->updates, f->updates + k, (f->nupdates - k) * sizeof *f->updates);
    f->nupdates -= k;
}

static int update_allowed(const struct tg_fake *f, const struct update *u)
{
    if (!f->allowed_set || f->allowed.n == 0)
        return strcmp(u->type, "chat_member") != 0 && strcmp(u->type, "message_reaction") != 0 &&
               strcmp(u->type, "message_reaction_count") != 0;
    for (size_t i = 0; i < f->allowed.n; i++)
        if (strcmp(f->allowed.v[i], u->type) == 0)
            return 1;
    return 0;
}

static int any_update_allowed(const struct tg_fake *f)
{
    for (size_t i = 0; i < f->nupdates; i++)
        if (update_allowed(f, &f->updates[i]))
            return 1;
    return 0;
}

/* Queue the Update objects of a JSON array; mutex held (or before serving). */
static int queue_updates(struct tg_fake *f, const char *json, size_t len, size_t *added,
                         struct diag *d)
{
    struct jv *root;
    *added = 0;
    if (jv_parse(json, len, &root, d) != ERR_OK)
        return diag_prefix(d, ERR_PARSE, "updates");
    if (jv_type(root) != JV_ARRAY) {
        jv_free(root);
        return diag_set(d, ERR_PARSE, "updates: expected a JSON array of Update objects");
    }
    int err = ERR_OK;
    for (size_t i = 0; !err && i < jv_len(root); i++) {
        const struct jv *u = jv_at(root, i);
        int64_t id = f->last_update_id + 1;
        const struct jv *given = jv_get(u, "update_id");
        if (jv_type(u) != JV_OBJECT) {
            err = diag_set(d, ERR_PARSE, "updates: element %zu is a %s, expected an object", i,
                           jv_type_name(jv_type(u)));
            break;
        }
        if (given && (jv_int(given, &id) != ERR_OK || id < 0)) {
            err = diag_set(d, ERR_PARSE,
                           "updates: element %zu: update_id is not a non-negative integer", i);
            break;
        }
        struct out o = {BUF_INIT(RECORD_MAX), 0};
        char type[48] = "";
        o_printf(&o, "{\"update_id\":%lld", (long long)id);
        for (struct jv_iter it = jv_iter(u); jv_iter_ok(&it); jv_iter_next(&it)) {
            if (strcmp(it.key, "update_id") == 0)
                continue;
            if (!type[0])
                snprintf(type, sizeof type, "%s", it.key);
            o_puts(&o, ",");
            o_cstr(&o, it.key);
            o_puts(&o, ":");
            o_jv(&o, it.value);
        }
        o_puts(&o, "}");
        if (!o.err && f->nupdates == f->updates_cap) {
            size_t cap = f->updates_cap ? 2 * f->updates_cap : 16;
            struct update *v = realloc(f->updates, cap * sizeof *v);
            if (v) {
                f->updates = v;
                f->updates_cap = cap;
            } else {
                o.err = ERR_NOMEM;
            }
        }
        if (o.err) {
            buf_release(&o.b);
            err = diag_set(d, o.err, "updates: element %zu: %s", i, err_str(o.err));
            break;
        }
        struct update *slot = &f->updates[f->nupdates++];
        slot->id = id;
        slot->json = buf_detach(&o.b, NULL);
        memcpy(slot->type, type, sizeof type);
        if (id > f->last_update_id)
            f->last_update_id = id;
        (*added)++;
    }
    jv_free(root);
    return err;
}

/* A JSON array of update type names, as setWebhook and getUpdates take allowed_updates. */
static int parse_allowed(const char *s, struct strvec *out, struct failure *w)
{
    struct jv *root;
    if (jv_parse(s, strlen(s), &root, NULL) != ERR_OK)
        return fail(w, 400, "Bad Request: can't parse allowed_updates JSON object");
    int rc = 0;
    if (jv_type(root) != JV_ARRAY)
        rc = fail(w, 400, "Bad Request: expected an Array of String as allowed_updates");
    for (size_t i = 0; !rc && i < jv_len(root); i++) {
        const char *t = jv_str(jv_at(root, i), NULL);
        if (!t)
            rc = fail(w, 400, "Bad Request: expected an Array of String as allowed_updates");
        else if (strvec_push(out, t))
            rc = fail(w, 500, "Internal Server Error: out of memory");
    }
    jv_free(root);
    return rc;
}

/* Remember allowed_updates when the call has it ("omitted: keep the previous"). */
static int take_allowed(struct tg_fake *f, const struct params *p, struct failure *w)
{
    const char *s = arg(p, "allowed_updates");
    if (!s || !*s)
        return 0;
    struct strvec v = STRVEC_INIT;
    if (parse_allowed(s, &v, w)) {
        strvec_release(&v);
        return -1;
    }
    strvec_release(&f->allowed);
    f->allowed = v;
    f->allowed_set = 1;
    return 0;
}

/* ---- methods ---- */

/* A method writes its result into res and may set *desc; or fails.  Mutex held. */
typedef int (*method_fn)(struct tg_fake *f, const struct params *p, struct out *res,
                         const char **desc, struct failure *w);

static int m_get_me(struct tg_fake *f, const struct params *p, struct out *res, const char **desc,
                    struct failure *w)
{
    o_bot(res, f, 1);
    return 0;
}

/* Whether Telegram's flood control would refuse a message to c now. */
static int flooded(const struct tg_fake *f, const struct chat *c, int64_t now_us)
{
    if (c && c->sent && now_us - c->last_send_us < FLOOD_CHAT_US)
        return 1;
    if (f->nrecent == FLOOD_GLOBAL && now_us - f->recent[f->recent_next] < 1000000)
        return 1;
    return 0;
}

static int m_send_message(struct tg_fake *f, const struct params *p, struct out *res,
                          const char **desc, struct failure *w)
{
    const char *chat_id = arg(p, "chat_id");
    if (!chat_id || !*chat_id)
        return fail(w, 400, "Bad Request: chat_id is empty");
    struct chat_ref ref;
    if (chat_parse(chat_id, &ref))
        return fail(w, 400, "Bad Request: chat not found");
    const struct param *text = param_find(p, "text");
    const char *mode = arg(p, "parse_mode");
    struct buf plain = BUF_INIT(BODY_MAX);
    const char *shown = text ? text->value : "";
    size_t shown_len = text ? text->len : 0;
    if (mode && strcasecmp(mode, "HTML") == 0) {
        char why[400];
        if (html_parse(shown, shown_len, &plain, why, sizeof why)) {
            buf_release(&plain);
            return fail(w, 400, "Bad Request: can't parse entities: %s", why);
        }
        shown = buf_cstr(&plain);
        shown_len = plain.len;
    } else if (mode && *mode && strcasecmp(mode, "MarkdownV2") != 0 &&
               strcasecmp(mode, "Markdown") != 0) {
        return fail(w, 400, "Bad Request: unsupported parse_mode");
    }
    int rc = 0;
    if (is_blank(shown, shown_len))
        rc = fail(w, 400, "Bad Request: message text is empty");
    else if (utf16_len(shown, shown_len) > TEXT_MAX_UNITS)
        rc = fail(w, 400, "Bad Request: message is too long");
    const char *markup = arg(p, "reply_markup");
    struct jv *mroot = NULL;
    if (!rc && markup && *markup &&
        (jv_parse(markup, strlen(markup), &mroot, NULL) != ERR_OK || jv_type(mroot) != JV_OBJECT))
        rc = fail(w, 400, "Bad Request: can't parse reply keyboard markup JSON object");
    jv_free(mroot);
    int64_t now = clock_mono_us();
    struct chat *c = rc ? NULL : chat_find(f, ref.key);
    if (!rc && f->flood && flooded(f, c, now)) {
        rc = fail(w, 429, "Too Many Requests: retry after 1");
        w->retry_after = 1;
    }
    if (!rc && !c && !(c = chat_get(f, ref.key)))
        rc = fail(w, 500, "Internal Server Error: the fake's chat table is full");
    if (rc) {
        buf_release(&plain);
        return rc;
    }
    c->last_send_us = now;
    c->sent = 1;
    f->recent[f->recent_next] = now;
    f->recent_next = (f->recent_next + 1) % FLOOD_GLOBAL;
    if (f->nrecent < FLOOD_GLOBAL)
        f->nrecent++;
    o_printf(res, "{\"message_id\":%lld,", (long long)c->next_message_id++);
    if (ref.channel) {
        o_puts(res, "\"sender_chat\":");
        o_chat(res, &ref);
    } else {
        o_puts(res, "\"from\":");
        o_bot(res, f, 0);
    }
    o_puts(res, ",\"chat\":");
    o_chat(res, &ref);
    o_printf(res, ",\"date\":%lld,\"text\":", (long long)(clock_wall_ms() / 1000));
    o_str(res, shown, shown_len);
    o_puts(res, "}");
    buf_release(&plain);
    return 0;
}

/* The width and height of a PNG (its IHDR), or of nothing: 0 when the bytes are no PNG. */
static int png_size(const unsigned char *s, size_t n, uint32_t *width, uint32_t *height)
{
    if (n < 24 || memcmp(s, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(s + 12, "IHDR", 4) != 0)
        return 0;
    *width = (uint32_t)s[16] << 24 | (uint32_t)s[17] << 16 | (uint32_t)s[18] << 8 | s[19];
    *height = (uint32_t)s[20] << 24 | (uint32_t)s[21] << 16 | (uint32_t)s[22] << 8 | s[23];
    return *width > 0 && *height > 0;
}

/* sendPhoto with an uploaded file (multipart) or a file_id / URL string, a caption of at
 * most 1024 characters after entity parsing.  Uploads must be images Telegram can read: the
 * fake reads PNG only (and JPEG by its signature), at most 10 MB, width + height at most
 * 10000, sides in a ratio of at most 20. */
static int m_send_photo(struct tg_fake *f, const struct params *p, struct out *res,
                        const char **desc, struct failure *w)
{
    const char *chat_id = arg(p, "chat_id");
    if (!chat_id || !*chat_id)
        return fail(w, 400, "Bad Request: chat_id is empty");
    struct chat_ref ref;
    if (chat_parse(chat_id, &ref))
        return fail(w, 400, "Bad Request: chat not found");
    const struct param *photo = param_find(p, "photo");
    if (!photo || (!photo->file && !*photo->value))
        return fail(w, 400, "Bad Request: there is no photo in the request");
    uint32_t width = 0, height = 0;
    if (photo->file) {
        const unsigned char *b = (const unsigned char *)photo->value;
        if (photo->len > PHOTO_MAX)
            return fail(w, 400, "Bad Request: file is too big");
        int jpeg = photo->len > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
        if (!jpeg && !png_size(b, photo->len, &width, &height))
            return fail(w, 400, "Bad Request: IMAGE_PROCESS_FAILED");
        if (!jpeg && ((uint64_t)width + height > 10000 || (uint64_t)width > 20ULL * height ||
                      (uint64_t)height > 20ULL * width))
            return fail(w, 400, "Bad Request: PHOTO_INVALID_DIMENSIONS");
    } else if (strncmp(photo->value, "http://", 7) != 0 &&
               strncmp(photo->value, "https://", 8) != 0) {
        return fail(w, 400, "Bad Request: wrong file identifier/HTTP URL specified");
    }
    const struct param *caption = param_find(p, "caption");
    const char *mode = arg(p, "parse_mode");
    struct buf plain = BUF_INIT(BODY_MAX);
    const char *shown = caption && !caption->file ? caption->value : "";
    size_t shown_len = caption && !caption->file ? caption->len : 0;
    if (mode && strcasecmp(mode, "HTML") == 0) {
        char why[400];
        if (html_parse(shown, shown_len, &plain, why, sizeof why)) {
            buf_release(&plain);
            return fail(w, 400, "Bad Request: can't parse entities: %s", why);
        }
        shown = buf_cstr(&plain);
        shown_len = plain.len;
    } else if (mode && *mode && strcasecmp(mode, "MarkdownV2") != 0 &&
               strcasecmp(mode, "Markdown") != 0) {
        buf_release(&plain);
        return fail(w, 400, "Bad Request: unsupported parse_mode");
    }
    int rc = 0;
    if (utf16_len(shown, shown_len) > CAPTION_MAX_UNITS)
        rc = fail(w, 400, "Bad Request: message caption is too long");
    int64_t now = clock_mono_us();
    struct chat *c = rc ? NULL : chat_find(f, ref.key);
    if (!rc && f->flood && flooded(f, c, now)) {
        rc = fail(w, 429, "Too Many Requests: retry after 1");
        w->retry_after = 1;
    }
    if (!rc && !c && !(c = chat_get(f, ref.key)))
        rc = fail(w, 500, "Internal Server Error: the fake's chat table is full");
    if (rc) {
        buf_release(&plain);
        return rc;
    }
    c->last_send_us = now;
    c->sent = 1;
    f->recent[f->recent_next] = now;
    f->recent_next = (f->recent_next + 1) % FLOOD_GLOBAL;
    if (f->nrecent < FLOOD_GLOBAL)
        f->nrecent++;
    int64_t id = c->next_message_id++;
    o_printf(res, "{\"message_id\":%lld,", (long long)id);
    if (ref.channel) {
        o_puts(res, "\"sender_chat\":");
        o_chat(res, &ref);
    } else {
        o_puts(res, "\"from\":");
        o_bot(res, f, 0);
    }
    o_puts(res, ",\"chat\":");
    o_chat(res, &ref);
    o_printf(res,
             ",\"date\":%lld,\"photo\":[{\"file_id\":\"fake-photo-%s-%lld\","
             "\"file_unique_id\":\"fake-%lld\",\"width\":%u,\"height\":%u,\"file_size\":%zu}]",
             (long long)(clock_wall_ms() / 1000), ref.key, (long long)id, (long long)id, width,
             height, photo->file ? photo->len : 0);
    if (shown_len) {
        o_puts(res, ",\"caption\":");
        o_str(res, shown, shown_len);
    }
    o_puts(res, "}");
    buf_release(&plain);
    return 0;
}

/* The webhook URL as Telegram checks it. */
static int check_webhook_url(const char *url, struct failure *w)
{
    if (strlen(url) > URL_MAX)
        return fail(w, 400, "Bad Request: invalid webhook URL specified");
    /* A scheme is letters (then letters, digits, '+', '-', '.') before "://". */
    const char *host = url, *e = url;
    while (is_alpha(*e) || (e > url && (is_digit(*e) || *e == '+' || *e == '-' || *e == '.')))
        e++;
    if (e > url && strncmp(e, "://", 3) == 0) {
        if (e - url != 5 || strncasecmp(url, "https", 5) != 0)
            return fail(w, 400,
                        "Bad Request: bad webhook: An HTTPS URL must be provided for "
                        "webhook");
        host = e + 3;
    }
    size_t hlen = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hlen);
    if (at) {
        hlen -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    for (size_t i = 0; url[i]; i++)
        if ((unsigned char)url[i] <= ' ')
            return fail(w, 400, "Bad Request: invalid webhook URL specified");
    if (hlen == 0)
        return fail(w, 400, "Bad Request: invalid webhook URL specified");
    if (host[0] == '[')
        return fail(w, 400, "Bad Request: bad webhook: IPv6-only webhook can't be used");
    const char *colon = memchr(host, ':', hlen);
    if (colon) {
        size_t plen = hlen - (size_t)(colon + 1 - host);
        char port[8];
        int64_t v = 0;
        if (plen == 0 || plen >= sizeof port || colon == host)
            return fail(w, 400, "Bad Request: invalid webhook URL specified");
        memcpy(port, colon + 1, plen);
        port[plen] = '\0';
        if (port[0] == '-' || parse_int64(port, &v))
            return fail(w, 400, "Bad Request: invalid webhook URL specified");
        if (v != 443 && v != 80 && v != 88 && v != 8443)
            return fail(w, 400,
                        "Bad Request: bad webhook: Webhook can be set up only on ports 80, "
                        "88, 443 or 8443");
    }
    return 0;
}

static void webhook_clear(struct tg_fake *f)
{
    free(f->webhook_url);
    free(f->webhook_secret);
    f->webhook_url = f->webhook_secret = NULL;
}

static int m_set_webhook(struct tg_fake *f, const struct params *p, struct out *res,
                         const char **desc, struct failure *w)
{
    const char *url = arg(p, "url");
    if (!url || !*url) {
        *desc = f->webhook_url ? "Webhook was deleted" : "Webhook is already deleted";
        webhook_clear(f);
        if (arg_bool(p, "drop_pending_updates"))
            updates_clear(f);
        if (take_allowed(f, p, w))
            return -1;
        o_puts(res, "true");
        return 0;
    }
    if (check_webhook_url(url, w))
        return -1;
    const char *secret = arg(p, "secret_token");
    if (secret && strlen(secret) > SECRET_MAX)
        return fail(w, 400, "Bad Request: secret token is too long");
    for (const char *s = secret ? secret : ""; *s; s++)
        if (!is_alpha(*s) && !is_digit(*s) && *s != '_' && *s != '-')
            return fail(w, 400, "Bad Request: secret token contains unallowed characters");
    if (take_allowed(f, p, w))
        return -1;
    int max_conns = (int)arg_int(p, "max_connections", DEFAULT_MAX_CONNS, 1, 100);
    const char *new_secret = secret && *secret ? secret : NULL;
    int same = f->webhook_url && strcmp(f->webhook_url, url) == 0 &&
               ((!new_secret && !f->webhook_secret) ||
                (new_secret && f->webhook_secret && strcmp(new_secret, f->webhook_secret) == 0)) &&
               max_conns == f->max_connections;
    char *u = strdup(url), *s = new_secret ? strdup(new_secret) : NULL;
    if (!u || (new_secret && !s)) {
        free(u), free(s);
        return fail(w, 500, "Internal Server Error: out of memory");
    }
    webhook_clear(f);
    f->webhook_url = u;
    f->webhook_secret = s;
    f->max_connections = max_conns;
    if (arg_bool(p, "drop_pending_updates"))
        updates_clear(f);
    pthread_cond_broadcast(&f->cv); /* a waiting getUpdates ends with 409 */
    *desc = same ? "Webhook is already set" : "Webhook was set";
    o_puts(res, "true");
    return 0;
}

static int m_delete_webhook(struct tg_fake *f, const struct params *p, struct out *res,
                            const char **desc, struct failure *w)
{
    *desc = f->webhook_url ? "Webhook was deleted" : "Webhook is already deleted";
    webhook_clear(f);
    if (arg_bool(p, "drop_pending_updates"))
        updates_clear(f);
    o_puts(res, "true");
    return 0;
}

static int m_get_webhook_info(struct tg_fake *f, const struct params *p, struct out *res,
                              const char **desc, struct failure *w)
{
    o_puts(res, "{\"url\":");
    o_cstr(res, f->webhook_url ? f->webhook_url : "");
    o_printf(res, ",\"has_custom_certificate\":false,\"pending_update_count\":%zu", f->nupdates);
    if (f->webhook_url)
        o_printf(res, ",\"max_connections\":%d", f->max_connections);
    if (f->allowed_set) {
        o_puts(res, ",\"allowed_updates\":[");
        for (size_t i = 0; i < f->allowed.n; i++) {
            if (i)
                o_puts(res, ",");
            o_cstr(res, f->allowed.v[i]);
        }
        o_puts(res, "]");
    }
    o_puts(res, "}");
    return 0;
}

/* The key of the command list the call's scope and language_code select. */
static int commands_key(const struct params *p, char **key, struct failure *w)
{
    const char *scope = arg(p, "scope"), *lang = arg(p, "language_code");
    struct out o = {BUF_INIT(RECORD_MAX), 0};
    if (scope && *scope) {
        struct jv *root = NULL;
        if (jv_parse(scope, strlen(scope), &root, NULL) != ERR_OK ||
            !jv_str(jv_get(root, "type"), NULL)) {
            jv_free(root);
            buf_release(&o.b);
            return fail(w, 400, "Bad Request: can't parse BotCommandScope JSON object");
        }
        o_jv(&o, root);
        jv_free(root);
    } else {
        o_puts(&o, "{\"type\":\"default\"}");
    }
    o_puts(&o, "\n");
    o_puts(&o, lang ? lang : "");
    if (o.err) {
        buf_release(&o.b);
        return fail(w, 500, "Internal Server Error: out of memory");
    }
    *key = buf_detach(&o.b, NULL);
    return 0;
}

static struct command_list *commands_find(struct tg_fake *f, const char *key)
{
    for (size_t i = 0; i < f->ncommands; i++)
        if (strcmp(f->commands[i].key, key) == 0)
            return &f->commands[i];
    return NULL;
}

static void commands_remove(struct tg_fake *f, const char *key)
{
    struct command_list *c = commands_find(f, key);
    if (!c)
        return;
    free(c->key);
    free(c->json);
    *c = f->commands[--f->ncommands];
}

static int command_ok(const char *s, size_t n)
{
    if (n == 0 || n > COMMAND_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !is_digit(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* The commands parameter, checked, as the normalized BotCommand array. */
static int read_commands(const char *s, struct out *o, struct failure *w)
{
    struct jv *root;
    if (!s || !*s)
        return fail(w, 400, "Bad Request: parameter \"commands\" is required");
    if (jv_parse(s, strlen(s), &root, NULL) != ERR_OK)
        return fail(w, 400, "Bad Request: can't parse commands JSON object");
    int rc = 0;
    if (jv_type(root) != JV_ARRAY)
        rc = fail(w, 400, "Bad Request: expected an Array of BotCommand");
    else if (jv_len(root) > COMMANDS_MAX)
        rc = fail(w, 400, "Bad Request: BOT_COMMANDS_TOO_MUCH");
    o_puts(o, "[");
    for (size_t i = 0; !rc && i < jv_len(root); i++) {
        const struct jv *c = jv_at(root, i);
        size_t clen, dlen;
        const char *cmd = jv_str(jv_get(c, "command"), &clen);
        const char *text = jv_str(jv_get(c, "description"), &dlen);
        if (!cmd || !text)
            rc = fail(w, 400,
                      "Bad Request: a BotCommand needs the strings command and "
                      "description");
        else if (!command_ok(cmd, clen))
            rc = fail(w, 400, "Bad Request: BOT_COMMAND_INVALID");
        else if (is_blank(text, dlen) || utf16_len(text, dlen) > DESCRIPTION_MAX)
            rc = fail(w, 400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
        if (rc)
            break;
        o_puts(o, i ? ",{\"command\":" : "{\"command\":");
        o_str(o, cmd, clen);
        o_puts(o, ",\"description\":");
        o_str(o, text, dlen);
        o_puts(o, "}");
    }
    o_puts(o, "]");
    jv_free(root);
    return rc;
}

static int m_set_my_commands(struct tg_fake *f, const struct params *p, struct out *res,
                             const char **desc, struct failure *w)
{
    struct out list = {BUF_INIT(RECORD_MAX), 0};
    char *key = NULL;
    if (read_commands(arg(p, "commands"), &list, w) || commands_key(p, &key, w)) {
        buf_release(&list.b);
        return -1;
    }
    if (list.err) {
        free(key);
        buf_release(&list.b);
        return fail(w, 500, "Internal Server Error: out of memory");
    }
    commands_remove(f, key);
    if (strcmp(buf_cstr(&list.b), "[]") == 0) {
        free(key);
        buf_release(&list.b);
        o_puts(res, "true");
        return 0;
    }
    struct command_list *v = realloc(f->commands, (f->ncommands + 1) * sizeof *v);
    if (!v) {
        free(key);
        buf_release(&list.b);
        return fail(w, 500, "Internal Server Error: out of memory");
    }
    f->commands = v;
    v[f->ncommands].key = key;
    v[f->ncommands].json = buf_detach(&list.b, NULL);
    f->ncommands++;
    o_puts(res, "true");
    return 0;
}

static int m_get_my_commands(struct tg_fake *f, const struct params *p, struct out *res,
                             const char **desc, struct failure *w)
{
    char *key;
    if (commands_key(p, &key, w))
        return -1;
    const struct command_list *c = commands_find(f, key);
    o_puts(res, c ? c->json : "[]");
    free(key);
    return 0;
}

static int m_delete_my_commands(struct tg_fake *f, const struct params *p, struct out *res,
                                const char **desc, struct failure *w)
{
    char *key;
    if (commands_key(p, &key, w))
        return -1;
    commands_remove(f, key);
    free(key);
    o_puts(res, "true");
    return 0;
}

static int m_answer_callback_query(struct tg_fake *f, const struct params *p, struct out *res,
                                   const char **desc, struct failure *w)
{
    static const char too_old[] =
        "Bad Request: query is too old and response timeout expired or query ID is invalid";
    const char *id = arg(p, "callback_query_id");
    if (!id || !*id)
        return fail(w, 400, "%s", too_old);
    const struct param *text = param_find(p, "text");
    if (text && utf16_len(text->value, text->len) > ANSWER_MAX_UNITS)
        return fail(w, 400, "Bad Request: MESSAGE_TOO_LONG");
    for (size_t i = 0; i < f->answered.n; i++)
        if (strcmp(f->answered.v[i], id) == 0)
            return fail(w, 400, "%s", too_old);
    if (strvec_push(&f->answered, id))
        return fail(w, 500, "Internal Server Error: out of memory");
    o_puts(res, "true");
    return 0;
}

/* Wait on the condition variable until deadline (CLOCK_MONOTONIC); ETIMEDOUT past it. */
static int wait_until(struct tg_fake *f, const struct timespec *deadline)
{
    return pthread_cond_timedwait(&f->cv, &f->mu, deadline);
}

static int m_get_updates(struct tg_fake *f, const struct params *p, struct out *res,
                         const char **desc, struct failure *w)
{
    if (f->webhook_url)
        return fail(w, 409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first");
    uint64_t gen = ++f->poll_gen;
    pthread_cond_broadcast(&f->cv); /* an older getUpdates ends */
    if (take_allowed(f, p, w))
        return -1;
    int64_t offset = arg_int(p, "offset", 0, INT64_MIN, INT64_MAX);
    int64_t limit = arg_int(p, "limit", LIMIT_MAX, 1, LIMIT_MAX);
    int64_t timeout = arg_int(p, "timeout", 0, 0, POLL_MAX_S);
    if (offset > 0) {
        size_t k = 0;
        for (size_t i = 0; i < f->nupdates; i++)
            if (f->updates[i].id >= offset)
                f->updates[k++] = f->updates[i];
            else
                free(f->updates[i].json);
        f->nupdates = k;
    } else if (offset < 0 && (uint64_t)(-(offset + 1)) + 1 < f->nupdates) {
        updates_drop_first(f, f->nupdates - (size_t)(-(offset + 1)) - 1);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)timeout;
    f->polls_waiting++;
    while (timeout > 0 && !f->stopping && gen == f->poll_gen && !f->webhook_url &&
           !any_update_allowed(f))
        if (wait_until(f, &deadline) == ETIMEDOUT)
            break;
    f->polls_waiting--;
    if (!f->stopping && gen != f->poll_gen)
        return fail(w, 409,
                    "Conflict: terminated by other getUpdates request; make sure that "
                    "only one bot instance is running");
    if (!f->stopping && f->webhook_url)
        return fail(w, 409, "Conflict: terminated by setWebhook request");
    o_puts(res, "[");
    int64_t n = 0;
    for (size_t i = 0; i < f->nupdates && n < limit; i++) {
        if (!update_allowed(f, &f->updates[i]))
            continue;
        if (n++)
            o_puts(res, ",");
        o_puts(res, f->updates[i].json);
    }
    o_puts(res, "]");
    return 0;
}

static const struct method {
    const char *name;
    method_fn fn;
} methods[] = {
    {"getMe", m_get_me},
    {"sendMessage", m_send_message},
    {"sendPhoto", m_send_photo},
    {"setWebhook", m_set_webhook},
    {"deleteWebhook", m_delete_webhook},
    {"getWebhookInfo", m_get_webhook_info},
    {"setMyCommands", m_set_my_commands},
    {"getMyCommands", m_get_my_commands},
    {"deleteMyCommands", m_delete_my_commands},
    {"answerCallbackQuery", m_answer_callback_query},
    {"getUpdates", m_get_updates},
};

static const struct method *method_find(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcasecmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

/* ---- faults ---- */

static const char *default_description(int status)
{
    switch (status) {
    case 400:
        return "Bad Request: chat not found";
    case 403:
        return "Forbidden: bot was blocked by the user";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    default:
        return "";
    }
}

/* The first fault for this call, used up by one; mutex held. */
static int fault_take(struct tg_fake *f, const char *method, const struct params *p,
                      struct fault *out)
{
    struct chat_ref ref;
    const char *chat_id = arg(p, "chat_id");
    int have_chat = chat_id && chat_parse(chat_id, &ref) == 0;
    for (size_t i = 0; i < f->nfaults; i++) {
        struct fault *x = &f->faults[i];
        if (x->method[0] && strcasecmp(x->method, method) != 0)
            continue;
        if (x->chat[0] && (!have_chat || strcmp(x->chat, ref.key) != 0))
            continue;
        *out = *x;
        if (x->left > 0 && --x->left == 0) {
            memmove(x, x + 1, (f->nfaults - i - 1) * sizeof *x);
            f->nfaults--;
        }
        return 1;
    }
    return 0;
}

int tg_fake_add_fault(struct tg_fake *f, const struct tg_fake_fault *in, struct diag *d)
{
    struct fault x;
    memset(&x, 0, sizeof x);
    const char *method = in->method && strcmp(in->method, "*") != 0 ? in->method : "";
    if (strlen(method) >= sizeof x.method)
        return diag_set(d, ERR_INVALID, "fault: method '%.80s' is too long", method);
    memcpy(x.method, method, strlen(method) + 1);
    if (in->chat_id) {
        struct chat_ref ref;
        if (chat_parse(in->chat_id, &ref))
            return diag_set(d, ERR_INVALID,
                            "fault: chat_id '%.80s' is neither a chat id nor "
                            "@channelname",
                            in->chat_id);
        memcpy(x.chat, ref.key, sizeof ref.key);
    }
    x.drop = in->drop;
    x.status = in->status;
    x.migrate_to = in->migrate_to_chat_id;
    if (!x.drop && x.status != 400 && x.status != 403 && x.status != 429 && x.status != 500 &&
        x.status != 502)
        return diag_set(d, ERR_INVALID, "fault: status %d is not one of 400, 403, 429, 500, 502",
                        x.status);
    if (in->retry_after < 0 || in->retry_after > 86400)
        return diag_set(d, ERR_INVALID, "fault: retry_after %lld is not 0 to 86400 seconds",
                        (long long)in->retry_after);
    x.retry_after = in->retry_after ? in->retry_after : 1;
    if (in->count < -1)
        return diag_set(d, ERR_INVALID, "fault: count %lld is not -1 (forever) or more",
                        (long long)in->count);
    x.left = in->count ? in->count : 1;
    if (in->description) {
        if (strlen(in->description) >= sizeof x.description ||
            !utf8_ok(in->description, strlen(in->description)))
            return diag_set(d, ERR_INVALID,
                            "fault: the description must be UTF-8 of at most %zu "
                            "bytes",
                            sizeof x.description - 1);
        memcpy(x.description, in->description, strlen(in->description) + 1);
    } else if (x.status == 429) {
        snprintf(x.description, sizeof x.description, "Too Many Requests: retry after %lld",
                 (long long)x.retry_after);
    } else if (x.migrate_to) {
        snprintf(x.description, sizeof x.description,
                 "Bad Request: group chat was upgraded to a supergroup chat");
    } else {
        snprintf(x.description, sizeof x.description, "%s", default_description(x.status));
    }
    pthread_mutex_lock(&f->mu);
    int err = ERR_OK;
    if (f->nfaults == TG_FAKE_MAX_FAULTS)
        err = diag_set(d, ERR_TOOBIG, "fault: there are %d faults already", TG_FAKE_MAX_FAULTS);
    else
        f->faults[f->nfaults++] = x;
    pthread_mutex_unlock(&f->mu);
    return err;
}

/* A fault in its JSON form (POST /_fault). */
static int fault_add_json(struct tg_fake *f, const char *json, size_t len, struct diag *d)
{
    struct jv *root;
    if (jv_parse(json, len, &root, d) != ERR_OK)
        return diag_prefix(d, ERR_PARSE, "fault");
    struct tg_fake_fault x = {0};
    char chat[32];
    int err = ERR_OK;
    if (jv_type(root) != JV_OBJECT)
        err = diag_set(d, ERR_PARSE, "fault: expected a JSON object");
    for (struct jv_iter it = jv_iter(root); !err && jv_iter_ok(&it); jv_iter_next(&it)) {
        const char *k = it.key;
        const struct jv *v = it.value;
        int64_t n;
        int b;
        if (strcmp(k, "method") == 0 && jv_str(v, NULL)) {
            x.method = jv_str(v, NULL);
        } else if (strcmp(k, "chat_id") == 0 && jv_str(v, NULL)) {
            x.chat_id = jv_str(v, NULL);
        } else if (strcmp(k, "chat_id") == 0 && jv_int(v, &n) == ERR_OK) {
            snprintf(chat, sizeof chat, "%lld", (long long)n);
            x.chat_id = chat;
        } else if (strcmp(k, "status") == 0 && jv_int(v, &n) == ERR_OK && n > 0 && n < 1000) {
            x.status = (int)n;
        } else if (strcmp(k, "retry_after") == 0 && jv_int(v, &n) == ERR_OK) {
            x.retry_after = n;
        } else if (strcmp(k, "count") == 0 && jv_int(v, &n) == ERR_OK) {
            x.count = n;
        } else if (strcmp(k, "description") == 0 && jv_str(v, NULL)) {
            x.description = jv_str(v, NULL);
        } else if (strcmp(k, "drop") == 0 && jv_bool(v, &b) == ERR_OK) {
            x.drop = b;
        } else if (strcmp(k, "migrate_to_chat_id") == 0 && jv_int(v, &n) == ERR_OK) {
            x.migrate_to_chat_id = n;
        } else {
            err = diag_set(d, ERR_PARSE,
                           "fault: '%.60s' is not one of method, chat_id, status, retry_after, "
                           "count, description, drop, migrate_to_chat_id, or has the wrong type",
                           k);
        }
    }
    if (!err)
        err = tg_fake_add_fault(f, &x, d);
    jv_free(root);
    return err;
}

/* ---- recording ---- */

/* Record one call; mutex held. */
static void record_call(struct tg_fake *f, const char *method, const struct params *p, int status,
                        int64_t t_ms)
{
    struct out o = {BUF_INIT(RECORD_MAX), 0};
    o_printf(&o, "{\"seq\":%llu,\"t_ms\":%lld,\"method\":", (unsigned long long)(f->seq + 1),
             (long long)t_ms);
    o_cstr(&o, method);
    o_puts(&o, ",\"params\":{");
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            o_puts(&o, ",");
        o_cstr(&o, p->v[i].name);
        o_puts(&o, ":");
        o_puts(&o, p->v[i].json);
    }
    o_printf(&o, "},\"status\":%d}", status);
    if (o.err) {
        log_warn("fake Telegram: a call could not be recorded", LF_STR("method", method),
                 LF_STR("error", err_str(o.err)));
        buf_release(&o.b);
        return;
    }
    f->seq++;
    if (f->record) {
        fwrite(o.b.data, 1, o.b.len, f->record);
        fputc('\n', f->record);
        if (fflush(f->record) != 0)
            log_warn("fake Telegram: the record file cannot be written", LF_INT("seq", f->seq));
    }
    if (f->ncalls == TG_FAKE_MAX_CALLS) {
        if (!f->warned_calls_full)
            log_warn("fake Telegram: calls past the in-memory limit are only in the record file",
                     LF_INT("limit", TG_FAKE_MAX_CALLS));
        f->warned_calls_full = 1;
        buf_release(&o.b);
        return;
    }
    if (f->ncalls == f->calls_cap) {
        size_t cap = f->calls_cap ? 2 * f->calls_cap : 64;
        char **v = realloc(f->calls, cap * sizeof *v);
        if (!v) {
            buf_release(&o.b);
            return;
        }
        f->calls = v;
        f->calls_cap = cap;
    }
    f->calls[f->ncalls++] = buf_detach(&o.b, NULL);
}

/* ---- answers ---- */

static void reply_error(struct httpd_response *r, const struct failure *w)
{
    r->status = w->status;
    buf_reset(&r->body);
    buf_printf(&r->body, "{\"ok\":false,\"error_code\":%d,\"description\":\"", w->status);
    buf_json_escape(&r->body, w->desc, strlen(w->desc));
    buf_putc(&r->body, '"');
    if (w->retry_after > 0)
        buf_printf(&r->body, ",\"parameters\":{\"retry_after\":%lld}", (long long)w->retry_after);
    else if (w->migrate_to)
        buf_printf(&r->body, ",\"parameters\":{\"migrate_to_chat_id\":%lld}",
                   (long long)w->migrate_to);
    buf_putc(&r->body, '}');
}

static void reply_ok(struct httpd_response *r, const struct out *res, const char *desc)
{
    r->status = 200;
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"ok\":true,\"result\":");
    buf_append(&r->body, res->b.data ? res->b.data : "true", res->b.data ? res->b.len : 4);
    if (desc) {
        buf_puts(&r->body, ",\"description\":\"");
        buf_json_escape(&r->body, desc, strlen(desc));
        buf_putc(&r->body, '"');
    }
    buf_putc(&r->body, '}');
}

static void serve_api(struct tg_fake *f, const struct httpd_request *req, struct httpd_response *r)
{
    int64_t t_ms = clock_mono_ms() - f->start_ms;
    const char *token = req->path + 4, *slash = strchr(token, '/');
    size_t token_len = slash ? (size_t)(slash - token) : strlen(token);
    /* The method as received, printable ASCII only, for the record of an unknown one. */
    char asked[64];
    size_t k = 0;
    for (const char *s = slash ? slash + 1 : ""; *s && k + 1 < sizeof asked; s++)
        asked[k++] = *s > ' ' && *s < 0x7f && *s != '"' && *s != '\\' ? *s : '?';
    asked[k] = '\0';
    const struct method *m = method_find(asked);

    struct params p = {.n = 0};
    struct failure w = {0};
    int rc = read_params(req, &p, &w);
    struct out res = {BUF_INIT(RESULT_MAX), 0};
    const char *desc = NULL;
    pthread_mutex_lock(&f->mu);
    struct fault fault;
    /* The token in the path (not percent-decoded: Telegram's tokens need no escaping). */
    if (!crypto_secret_equal(token, token_len, f->token, strlen(f->token))) {
        rc = fail(&w, 401, "Unauthorized");
    } else if (!m) {
        rc = fail(&w, 404, "Not Found");
    } else if (rc) {
        /* w says why the parameters cannot be read */
    } else if (fault_take(f, m->name, &p, &fault)) {
        if (fault.drop) {
            r->action = HTTPD_DROP;
            w.status = 0;
        } else {
            rc = fail(&w, fault.status, "%s", fault.description);
            w.retry_after = fault.status == 429 ? fault.retry_after : 0;
            w.migrate_to = fault.migrate_to;
        }
    } else {
        rc = m->fn(f, &p, &res, &desc, &w);
        if (!rc && res.err)
            rc = fail(&w, 500, "Internal Server Error: the answer does not fit (%s)",
                      err_str(res.err));
    }
    int status = r->action == HTTPD_DROP ? 0 : rc ? w.status : 200;
    record_call(f, m ? m->name : asked, &p, status, t_ms);
    pthread_mutex_unlock(&f->mu);
    if (r->action != HTTPD_DROP) {
        if (rc)
            reply_error(r, &w);
        else
            reply_ok(r, &res, desc);
    }
    log_debug("fake Telegram call", LF_STR("method", m ? m->name : asked), LF_INT("status", status),
              LF_STR("error", rc ? w.desc : ""));
    buf_release(&res.b);
    params_release(&p);
}

static int add_updates(struct tg_fake *f, const char *json, size_t len, size_t *added,
                       int64_t *last_id, struct diag *d)
{
    pthread_mutex_lock(&f->mu);
    int err = queue_updates(f, json, len, added, d);
    if (*added)
        pthread_cond_broadcast(&f->cv);
    if (last_id)
        *last_id = f->last_update_id;
    pthread_mutex_unlock(&f->mu);
    return err;
}

static void serve_control(struct tg_fake *f, const struct httpd_request *req,
                          struct httpd_response *r)
{
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    struct failure w = {0};
    struct diag d = {{0}};
    if (strcmp(req->path, "/_calls") == 0 && get) {
        buf_puts(&r->body, "{\"ok\":true,\"result\":");
        if (tg_fake_calls_json(f, &r->body) == ERR_OK && buf_putc(&r->body, '}') == ERR_OK)
            return;
        fail(&w, 500,
             "Internal Server Error: the calls do not fit in an answer; read the record "
             "file");
    } else if (strcmp(req->path, "/_reset") == 0 && post) {
        tg_fake_reset(f);
        buf_puts(&r->body, "{\"ok\":true,\"result\":true}");
        return;
    } else if (strcmp(req->path, "/_updates") == 0 && post) {
        size_t added = 0;
        int64_t last = 0;
        if (add_updates(f, req->body, req->body_len, &added, &last, &d) == ERR_OK) {
            buf_printf(&r->body,
                       "{\"ok\":true,\"result\":{\"queued\":%zu,\"last_update_id\":%lld}}", added,
                       (long long)last);
            return;
        }
        fail(&w, 400, "Bad Request: %s", d.text);
    } else if (strcmp(req->path, "/_fault") == 0 && post) {
        if (fault_add_json(f, req->body, req->body_len, &d) == ERR_OK) {
            buf_puts(&r->body, "{\"ok\":true,\"result\":true}");
            return;
        }
        fail(&w, 400, "Bad Request: %s", d.text);
    } else {
        fail(&w, 404, "Not Found");
    }
    reply_error(r, &w);
}

void tg_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct tg_fake *f = ctx;
    httpd_response_header(r, "Content-Type", "application/json");
    if (strncmp(req->path, "/bot", 4) == 0) {
        serve_api(f, req, r);
        return;
    }
    if (strncmp(req->path, "/_", 2) == 0) {
        serve_control(f, req, r);
        return;
    }
    struct failure w = {0};
    fail(&w, 404, "Not Found");
    reply_error(r, &w);
}

/* ---- lifecycle ---- */

int tg_fake_new(const struct tg_fake_opts *o, struct tg_fake **out, struct diag *d)
{
    if (!o->token || !*o->token)
        return diag_set(d, ERR_USAGE, "fake Telegram: a bot token is required");
    for (const char *s = o->token; *s; s++)
        if (*s <= ' ' || *s == '/' || *s == '?' || *s == '#' || *s == '%' || *s >= 0x7f)
            return diag_set(d, ERR_USAGE,
                            "fake Telegram: the token may hold only printable "
                            "ASCII without '/', '?', '#', '%%' or spaces");
    const char *user = o->bot_username && *o->bot_username ? o->bot_username : DEFAULT_USERNAME;
    struct tg_fake *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    strvec_init(&f->allowed);
    strvec_init(&f->answered);
    f->flood = o->flood;
    f->max_connections = DEFAULT_MAX_CONNS;
    f->start_ms = clock_mono_ms();
    f->token = strdup(o->token);
    f->username = strdup(user);
    int err = f->token && f->username ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    int64_t id;
    char digits[24];
    size_t nd = strspn(o->token, "0123456789");
    f->bot_id = 1;
    if (nd > 0 && nd < sizeof digits) {
        memcpy(digits, o->token, nd);
        digits[nd] = '\0';
        if (parse_int64(digits, &id) == 0 && id > 0)
            f->bot_id = id;
    }
    if (!err && o->updates_json) {
        size_t added;
        err = queue_updates(f, o->updates_json, o->updates_len, &added, d);
    }
    if (!err && o->record_path) {
        f->record = fopen(o->record_path, "a");
        if (!f->record)
            err = diag_set(d, ERR_IO, "fake Telegram: cannot open the record file '%s': %s",
                           o->record_path, strerror(errno));
    }
    if (err) {
        tg_fake_free(f);
        return err;
    }
    log_add_secret(f->token);
    *out = f;
    return ERR_OK;
}

/* Forget everything a run accumulates; mutex held. */
static void clear_state(struct tg_fake *f)
{
    for (size_t i = 0; i < f->ncalls; i++)
        free(f->calls[i]);
    f->ncalls = 0;
    f->seq = 0;
    f->warned_calls_full = 0;
    updates_clear(f);
    f->last_update_id = 0;
    strvec_release(&f->allowed);
    f->allowed_set = 0;
    webhook_clear(f);
    f->max_connections = DEFAULT_MAX_CONNS;
    f->nfaults = 0;
    f->nchats = 0;
    f->nrecent = f->recent_next = 0;
    for (size_t i = 0; i < f->ncommands; i++) {
        free(f->commands[i].key);
        free(f->commands[i].json);
    }
    f->ncommands = 0;
    strvec_release(&f->answered);
}

void tg_fake_free(struct tg_fake *f)
{
    if (!f)
        return;
    clear_state(f);
    free(f->calls);
    free(f->updates);
    free(f->chats);
    free(f->commands);
    free(f->token);
    free(f->username);
    if (f->record)
        fclose(f->record);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int tg_fake_start(const struct tg_fake_opts *o, struct tg_fake **out, int *port, struct diag *d)
{
    struct tg_fake *f;
    int err = tg_fake_new(o, &f, d);
    if (err)
        return err;
    struct httpd_opts ho = {
        .bind_addr = "127.0.0.1",
        .port = o->port,
        .max_body = REQUEST_MAX,
        /* a getUpdates may wait 50 s for an update */
        .idle_timeout_s = 300,
        .handler = tg_fake_handle,
        .ctx = f,
    };
    err = httpd_start(&ho, &f->httpd, port, d);
    if (err) {
        tg_fake_free(f);
        return err;
    }
    *out = f;
    return ERR_OK;
}

void tg_fake_stop(struct tg_fake *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    httpd_stop(f->httpd);
    tg_fake_free(f);
}

int tg_fake_add_updates(struct tg_fake *f, const char *json, size_t len, int64_t *last_id,
                        struct diag *d)
{
    size_t added;
    return add_updates(f, json, len, &added, last_id, d);
}

void tg_fake_reset(struct tg_fake *f)
{
    pthread_mutex_lock(&f->mu);
    clear_state(f);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void tg_fake_get_stats(struct tg_fake *f, struct tg_fake_stats *out)
{
    pthread_mutex_lock(&f->mu);
    out->calls = f->seq;
    out->polls_waiting = f->polls_waiting;
    out->updates_queued = f->nupdates;
    out->faults_left = f->nfaults;
    pthread_mutex_unlock(&f->mu);
}

size_t tg_fake_ncalls(struct tg_fake *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = (size_t)f->seq;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int tg_fake_calls_json(struct tg_fake *f, struct buf *out)
{
    pthread_mutex_lock(&f->mu);
    int err = buf_putc(out, '[');
    for (size_t i = 0; !err && i < f->ncalls; i++) {
        if (i)
            err = buf_putc(out, ',');
        err = err ? err : buf_puts(out, f->calls[i]);
    }
    err = err ? err : buf_putc(out, ']');
    pthread_mutex_unlock(&f->mu);
    return err;
}
