#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define ERR_NAME_(name, msg) #name,
    ERR_MAP(ERR_NAME_)
#undef ERR_NAME_
};

static const char *const messages[] = {
#define ERR_MSG_(name, msg) msg,
    ERR_MAP(ERR_MSG_)
#undef ERR_MSG_
};

const char *err_name(int err)
{
    if (err < 0 || err >= ERR_COUNT_)
        return "UNKNOWN";
    return names[err];
}

const char *err_str(int err)
{
    if (err < 0 || err >= ERR_COUNT_)
        return "unknown error";
    return messages[err];
}

static void mark_cut(char *text, int wanted)
{
    if (wanted >= DIAG_MAX)
        memcpy(text + DIAG_MAX - 4, "...", 4);
}

int diag_set(struct diag *d, int err, const char *fmt, ...)
{
    if (!d)
        return err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->text, sizeof d->text, fmt, ap);
    va_end(ap);
    if (n < 0)
        d->text[0] = '\0';
    else
        mark_cut(d->text, n);
    return err;
}

static int vprefix(struct diag *d, int err, int once, const char *fmt, va_list ap)
{
    if (!d)
        return err;
    char prefix[DIAG_MAX];
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    if (n < 0)
        return err;
    size_t len = strlen(prefix);
    if (once && strncmp(d->text, prefix, len) == 0 && strncmp(d->text + len, ": ", 2) == 0)
        return err;
    char old[DIAG_MAX];
    memcpy(old, d->text, sizeof old);
    n = snprintf(d->text, sizeof d->text, "%s: %s", prefix, old[0] ? old : err_str(err));
    mark_cut(d->text, n);
    return err;
}

int diag_prefix(struct diag *d, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprefix(d, err, 0, fmt, ap);
    va_end(ap);
    return err;
}

int diag_prefix_once(struct diag *d, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprefix(d, err, 1, fmt, ap);
    va_end(ap);
    return err;
}

void diag_clear(struct diag *d)
{
    if (d)
        d->text[0] = '\0';
}

void diag_quote(char *out, size_t outcap, const char *s, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outcap == 0)
        return;
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f && c != '\\') {
            if (o + 1 >= outcap)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= outcap)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (len > max && o + 3 < outcap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}
