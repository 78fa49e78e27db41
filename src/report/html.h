/* html.h - writing HTML and SVG text that outside values can never turn into markup.
 *
 * Every value that reaches a page goes through html_text: the five characters that mean
 * something in HTML text and in quoted attribute values (& < > " ') become entities, control
 * characters are dropped (a tab or newline becomes a space) and bytes that are not UTF-8
 * become U+FFFD, so the page stays valid whatever the input.  Numbers go through html_num,
 * which writes "n/a" for NaN and infinities: no "nan" ever lands in an SVG coordinate.
 */
#ifndef REPORT_HTML_H
#define REPORT_HTML_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Append s[0..n) escaped for HTML text or a double- or single-quoted attribute value. */
int html_text(struct buf *out, const char *s, size_t n);
/* The same for a NUL-terminated string. */
int html_str(struct buf *out, const char *s);

/* Append v with `decimals` decimals (0..6), or `na` when v is not finite.  `plus` adds a '+'
 * to positive values (changes and returns). */
int html_num(struct buf *out, double v, int decimals, int plus, const char *na);

/* Append a coordinate for SVG: v rounded to one decimal, "0" when not finite (a chart keeps
 * its shape, and the caller leaves such points out). */
int html_coord(struct buf *out, double v);

#endif
