#include "report/html.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/banned.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int html_text(struct buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int err = ERR_OK;
    size_t i = 0;
    while (i < n && !err) {
        /* A run of plain characters is copied at once. */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7F && !strchr("&<>\"'", p[j]))
            j++;
        if (j > i) {
            err = buf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        unsigned char c = p[i];
        switch (c) {
        case '&':
            err = buf_puts(out, "&amp;");
            break;
        case '<':
            err = buf_puts(out, "&lt;");
            break;
        case '>':
            err = buf_puts(out, "&gt;");
            break;
        case '"':
            err = buf_puts(out, "&quot;");
            break;
        case '\'':
            err = buf_puts(out, "&#39;");
            break;
        case '\t':
        case '\n':
        case '\r':
            err = buf_putc(out, ' ');
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                i++;
                continue;
            }
            {
                size_t len = utf8_len(p + i, n - i);
                if (len == 0) {
                    err = buf_puts(out, REPLACEMENT);
                    i++;
                    continue;
                }
                /* C1 controls (U+0080..U+009F) are as unwelcome as C0 ones. */
                if (len == 2 && c == 0xC2 && p[i + 1] < 0xA0) {
                    i += 2;
                    continue;
                }
                err = buf_append(out, s + i, len);
                i += len;
                continue;
            }
        }
        i++;
    }
    return err;
}

int html_str(struct buf *out, const char *s)
{
    return html_text(out, s, strlen(s));
}

int html_num(struct buf *out, double v, int decimals, int plus, const char *na)
{
    if (!isfinite(v))
        return buf_puts(out, na);
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    /* Keep "-0.0" from showing for a value that rounds to zero. */
    double scale = pow(10.0, decimals);
    if (round(v * scale) == 0)
        v = 0;
    return buf_printf(out, plus && v > 0 ? "+%.*f" : "%.*f", decimals, v);
}

int html_coord(struct buf *out, double v)
{
    if (!isfinite(v))
        return buf_putc(out, '0');
    double r = round(v * 10.0) / 10.0;
    if (r == 0)
        r = 0;
    if (r == floor(r) && fabs(r) < 1e15)
        return buf_printf(out, "%.0f", r);
    return buf_printf(out, "%.1f", r);
}
