#include "codec/multipart.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

void multipart_boundary(const void *const *data, const size_t *len, size_t n, char *out)
{
    for (uint64_t k = 0;; k++) {
        uint64_t h = 1469598103934665603ULL ^ k; /* FNV-1a of the attempt: a stable pick */
        for (int i = 0; i < 8; i++)
            h = (h ^ (k >> (8 * i) & 255)) * 1099511628211ULL;
        snprintf(out, MULTIPART_BOUNDARY_MAX + 1, "----screener-%016llx", (unsigned long long)h);
        size_t blen = strlen(out);
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = len[i] >= blen && memmem(data[i], len[i], out, blen) != NULL;
        if (!found)
            return;
    }
}

static int quotable(const char *s)
{
    return !strpbrk(s, "\"\r\n");
}

int multipart_field(struct buf *out, const char *boundary, const char *name, const char *value,
                    size_t len)
{
    if (!quotable(name))
        return ERR_INVALID;
    int err = buf_printf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
                         boundary, name);
    err = err ? err : buf_append(out, value, len);
    return err ? err : buf_puts(out, "\r\n");
}

int multipart_file(struct buf *out, const char *boundary, const char *name, const char *filename,
                   const char *content_type, const void *data, size_t len)
{
    if (!quotable(name) || !quotable(filename) || !quotable(content_type))
        return ERR_INVALID;
    int err = buf_printf(out,
                         "--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                         "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n",
                         boundary, name, filename, content_type);
    err = err ? err : buf_append(out, data, len);
    return err ? err : buf_puts(out, "\r\n");
}

int multipart_end(struct buf *out, const char *boundary)
{
    return buf_printf(out, "--%s--\r\n", boundary);
}

/* ---- reading ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The next "; key=value" of a header's parameters from *p (value quoted or a token), the
 * value copied into val (cap bytes).  0 when there is none left, 1 when read, -1 when
 * malformed or too long. */
static int next_param(const char **p, const char *end, char *key, size_t keycap, char *val,
                      size_t valcap)
{
    const char *s = skip_ws(*p, end);
    if (s == end)
        return 0;
    if (*s != ';')
        return -1;
    s = skip_ws(s + 1, end);
    const char *k = s;
    while (s < end && *s != '=' && *s != ';' && *s != ' ' && *s != '\t')
        s++;
    if (s == k || (size_t)(s - k) >= keycap)
        return -1;
    memcpy(key, k, (size_t)(s - k));
    key[s - k] = '\0';
    s = skip_ws(s, end);
    if (s == end || *s != '=')
        return -1;
    s = skip_ws(s + 1, end);
    size_t n = 0;
    if (s < end && *s == '"') {
        s++;
        while (s < end && *s != '"') {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (n + 1 >= valcap)
                return -1;
            val[n++] = *s++;
        }
        if (s == end)
            return -1;
        s++;
    } else {
        while (s < end && *s != ';' && *s != ' ' && *s != '\t') {
            if (n + 1 >= valcap)
                return -1;
            val[n++] = *s++;
        }
        if (n == 0)
            return -1;
    }
    val[n] = '\0';
    *p = s;
    return 1;
}

static int media_is(const char **p, const char *end, const char *want)
{
    const char *s = skip_ws(*p, end), *t = s;
    while (t < end && *t != ';' && *t != ' ' && *t != '\t')
        t++;
    size_t n = strlen(want);
    if ((size_t)(t - s) != n || strncasecmp(s, want, n) != 0)
        return 0;
    *p = t;
    return 1;
}

static int bad(struct diag *d, int err, size_t part, const char *what)
{
    if (part)
        return diag_set(d, err, "multipart body: part %zu: %s", part, what);
    return diag_set(d, err, "multipart body: %s", what);
}

/* Read the part headers from p up to their blank line into part; *p moves past it. */
static int read_headers(const char **p, const char *end, size_t index, struct multipart_part *part,
                        struct diag *d)
{
    int disposition = 0;
    for (;;) {
        const char *eol = memmem(*p, (size_t)(end - *p), "\r\n", 2);
        if (!eol)
            return bad(d, ERR_PARSE, index, "headers without an end (a blank line)");
        const char *line = *p;
        *p = eol + 2;
        if (eol == line)
            break;
        /* A NUL or another control character would cut or change a name silently. */
        for (const char *q = line; q < eol; q++)
            if ((unsigned char)*q < 0x20 ? *q != '\t' : *q == 0x7f)
                return bad(d, ERR_PARSE, index, "a control character in a header line");
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line)
            return bad(d, ERR_PARSE, index, "a header line without 'Name:'");
        size_t nlen = (size_t)(colon - line);
        const char *v = colon + 1;
        if (nlen == 19 && strncasecmp(line, "Content-Disposition", 19) == 0) {
            if (!media_is(&v, eol, "form-data"))
                return bad(d, ERR_PARSE, index, "Content-Disposition is not form-data");
            char key[32], val[MULTIPART_NAME_MAX + 1];
            int r;
            while ((r = next_param(&v, eol, key, sizeof key, val, sizeof val)) == 1) {
                if (strcasecmp(key, "name") == 0)
                    memcpy(part->name, val, sizeof val);
                else if (strcasecmp(key, "filename") == 0) {
                    memcpy(part->filename, val, sizeof val);
                    part->is_file = 1;
                }
            }
            if (r < 0)
                return bad(d, ERR_PARSE, index,
                           "Content-Disposition parameters: expected ; key=\"value\" (values "
                           "of at most 64 bytes)");
            disposition = 1;
        } else if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
            v = skip_ws(v, eol);
            size_t n = (size_t)(eol - v);
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n > MULTIPART_NAME_MAX)
                return bad(d, ERR_PARSE, index, "Content-Type longer than 64 bytes");
            memcpy(part->content_type, v, n);
            part->content_type[n] = '\0';
        }
    }
    if (!disposition || !part->name[0])
        return bad(d, ERR_PARSE, index, "no Content-Disposition: form-data with a name");
    return ERR_OK;
}

int multipart_parse(const char *content_type, const char *body, size_t len,
                    struct multipart_part *parts, size_t max, size_t *n, struct diag *d)
{
    *n = 0;
    const char *ct = content_type ? content_type : "", *ctend = ct + strlen(ct);
    if (!media_is(&ct, ctend, "multipart/form-data"))
        return bad(d, ERR_PARSE, 0, "the Content-Type is not multipart/form-data");
    char key[32], boundary[MULTIPART_BOUNDARY_MAX + 1] = "";
    char delim[MULTIPART_BOUNDARY_MAX + 5];
    int r;
    while ((r = next_param(&ct, ctend, key, sizeof key, boundary + 0, sizeof boundary)) == 1)
        if (strcasecmp(key, "boundary") == 0)
            break;
    if (r != 1 || !boundary[0])
        return bad(d, ERR_PARSE, 0, "no boundary=... (1 to 70 characters) in the Content-Type");
    size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    const char *end = body + len, *p;
    /* The first delimiter starts the body, or ends a preamble with its line. */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        const char *q = memmem(body, len, delim, dlen);
        if (!q)
            return bad(d, ERR_PARSE, 0, "no delimiter line (--boundary)");
        p = q + dlen;
    }
    for (size_t index = 1;; index++) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return ERR_OK; /* the closing delimiter; an epilogue may follow */
        /* Transport padding (spaces, tabs) may end a delimiter line. */
        p = skip_ws(p, end);
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return bad(d, ERR_PARSE, index, "the delimiter line does not end with CRLF");
        p += 2;
        if (*n == max)
            return bad(d, ERR_TOOBIG, index, "more parts than accepted");
        struct multipart_part *part = &parts[*n];
        memset(part, 0, sizeof *part);
        int err = read_headers(&p, end, index, part, d);
        if (err)
            return err;
        const char *next = memmem(p, (size_t)(end - p), delim, dlen);
        if (!next)
            return bad(d, ERR_PARSE, index, "the body ends inside the part (no closing delimiter)");
        part->data = p;
        part->len = (size_t)(next - p);
        (*n)++;
        p = next + dlen;
    }
}
