/* format.c - Telegram message text. */
#include "bot/format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define PRE_OPEN  "<pre>"
#define PRE_CLOSE "</pre>"

int fmt_html(struct buf *out, const char *s)
{
    int err = 0;
    for (const char *p = s; *p && !err;) {
        size_t run = strcspn(p, "&<>\"");
        err = buf_append(out, p, run);
        p += run;
        if (err || !*p)
            break;
        switch (*p++) {
        case '&':
            err = buf_puts(out, "&amp;");
            break;
        case '<':
            err = buf_puts(out, "&lt;");
            break;
        case '>':
            err = buf_puts(out, "&gt;");
            break;
        default:
            err = buf_puts(out, "&quot;");
            break;
        }
    }
    return err;
}

/* Bytes of the UTF-8 sequence starting at s (n > 0 bytes left), 1 for an invalid byte. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80         ? 1
                 : (s[0] >> 5) == 6  ? 2
                 : (s[0] >> 4) == 14 ? 3
                 : (s[0] >> 3) == 30 ? 4
                                     : 1;
    if (len > n)
        return 1;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return len;
}

size_t fmt_utf16_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i);
        units += k == 4 ? 2 : 1;
        i += k;
    }
    return units;
}

size_t fmt_visible_len(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '<') {
            const char *gt = memchr(s + i, '>', n - i);
            if (gt) {
                i = (size_t)(gt - s) + 1;
                continue;
            }
        } else if (s[i] == '&') {
            size_t j = i + 1;
            while (j < n && j - i <= 10 &&
                   ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                    (s[j] >= '0' && s[j] <= '9') || s[j] == '#'))
                j++;
            if (j < n && s[j] == ';' && j > i + 1) {
                unsigned long cp = 0;
                if (s[i + 1] == '#')
                    cp = (s[i + 2] == 'x' || s[i + 2] == 'X') ? strtoul(s + i + 3, NULL, 16)
                                                              : strtoul(s + i + 2, NULL, 10);
                units += cp > 0xFFFF ? 2 : 1;
                i = j + 1;
                continue;
            }
        }
        size_t k = seq_len((const unsigned char *)s + i, n - i);
        units += k == 4 ? 2 : 1;
        i += k;
    }
    return units;
}

/* Whether a <pre> block is open after the line, given whether one was open before it. */
static int pre_after(const char *line, size_t n, int open)
{
    for (size_t i = 0; i < n; i++) {
        if (line[i] != '<')
            continue;
        if (n - i >= sizeof PRE_OPEN - 1 && memcmp(line + i, PRE_OPEN, sizeof PRE_OPEN - 1) == 0)
            open = 1;
        else if (n - i >= sizeof PRE_CLOSE - 1 &&
                 memcmp(line + i, PRE_CLOSE, sizeof PRE_CLOSE - 1) == 0)
            open = 0;
    }
    return open;
}

struct splitter {
    struct buf chunk;
    size_t units; /* of chunk */
    size_t limit;
    int pre; /* a <pre> is open at the end of chunk */
    struct strvec *out;
};

static int flush(struct splitter *s)
{
    struct buf *c = &s->chunk;
    while (c->len && c->data[c->len - 1] == '\n')
        c->len--;
    int err = 0;
    if (s->pre)
        err = buf_puts(c, PRE_CLOSE);
    /* A chunk that is only "<pre></pre>" or blank says nothing. */
    size_t blank = 0;
    while (blank < c->len && (c->data[blank] == '\n' || c->data[blank] == ' '))
        blank++;
    int empty =
        blank == c->len || (s->pre && c->len == blank + sizeof PRE_OPEN - 1 + sizeof PRE_CLOSE - 1);
    if (!err && !empty)
        err = strvec_pushn(s->out, c->data, c->len);
    buf_reset(c);
    s->units = 0;
    if (!err && s->pre)
        err = buf_puts(c, PRE_OPEN); /* tags count nothing */
    return err;
}

/* Room the closing tag needs at the end of a chunk. */
static size_t reserve(int pre)
{
    return pre ? sizeof PRE_CLOSE - 1 : 0;
}

/* A line too long for any chunk: cut it at character boundaries. */
static int add_long_line(struct splitter *s, const char *line, size_t n)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0;
    int err = 0;
    while (i < n && !err) {
        size_t k = seq_len(p + i, n - i);
        size_t u = k == 4 ? 2 : 1;
        /* The line may open a <pre> anywhere: always leave room to close one. */
        if (s->units + u + reserve(1) > s->limit && (err = flush(s)) != 0)
            break;
        if ((err = buf_append(&s->chunk, line + i, k)) == 0)
            s->units += u;
        i += k;
        /* Follow the tags as they go by, so a cut closes and reopens the right block. */
        if (line[i - 1] == '>')
            s->pre = pre_after(s->chunk.data + s->chunk.len - 6 * (s->chunk.len >= 6),
                               s->chunk.len >= 6 ? 6 : s->chunk.len, s->pre);
    }
    return err;
}

int fmt_split(const char *text, size_t len, size_t limit, struct strvec *out)
{
    /* Room for a reopened and a closed <pre> around at least one character. */
    if (limit < 32)
        limit = 32;
    struct splitter s = {.chunk = BUF_INIT(TG_BUF_MAX), .limit = limit, .out = out};
    int err = 0;
    size_t i = 0;
    while (i < len && !err) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        const char *line = text + i;
        size_t u = fmt_visible_len(line, n);
        int pre = pre_after(line, n, s.pre);
        if (s.units + u + reserve(pre) > limit && s.chunk.len > (s.pre ? sizeof PRE_OPEN - 1 : 0))
            err = flush(&s);
        if (!err && s.units + u + reserve(pre) > limit) {
            err = add_long_line(&s, line, n);
        } else if (!err) {
            err = buf_append(&s.chunk, line, n);
            s.units += u;
        }
        s.pre = pre;
        i += n;
    }
    if (!err && s.chunk.len)
        err = flush(&s);
    buf_release(&s.chunk);
    return err;
}

int fmt_sparkline(struct buf *out, const double *v, size_t n)
{
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    return fmt_sparkline_scaled(out, v, n, lo, hi);
}

int fmt_sparkline_scaled(struct buf *out, const double *v, size_t n, double lo, double hi)
{
    static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        if (isnan(v[i]))
            continue;
        int level = hi > lo ? (int)((v[i] - lo) / (hi - lo) * 7.0 + 0.5) : 3;
        err = buf_puts(out, bars[level < 0 ? 0 : level > 7 ? 7 : level]);
    }
    return err;
}
