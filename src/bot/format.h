/* format.h - Telegram message text: HTML escaping, splitting under the length limit,
 * sparklines.
 *
 * Replies use parse mode HTML (the reference's advice for generated tables): only &, < and >
 * need escaping outside tags, and tables are <pre> blocks padded with spaces.
 */
#ifndef BOT_FORMAT_H
#define BOT_FORMAT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/strvec.h"

/* Telegram's limit is 4096 characters after entity parsing: the text shown, tags removed and
 * entities decoded, in UTF-16 code units.  The splitter counts the same (fmt_visible_len), so
 * a message of long links (whose URLs are in the markup) is not cut early. */
#define TG_MESSAGE_MAX 4096

/* The most text a reply, a request to the Bot API or a link is built in. */
#define TG_BUF_MAX ((size_t)1 << 20)

/* Append s with &, <, > and " escaped. */
int fmt_html(struct buf *out, const char *s);

/* Length of s as Telegram may count it: UTF-16 code units (a character outside the BMP is
 * 2).  Invalid UTF-8 bytes count 1 each. */
size_t fmt_utf16_len(const char *s, size_t n);

/* What Telegram counts of an HTML text: UTF-16 code units of the text outside tags, an
 * entity (&amp; &#8212; &#x1F600;) counting as the character it stands for.  A '<' without a
 * closing '>' and a '&' that starts no entity count as text. */
size_t fmt_visible_len(const char *s, size_t n);

/* Split an HTML message into chunks of at most limit units (fmt_visible_len), cutting only at
 * line ends when it can (a single longer line is cut at a character boundary).  A <pre>
 * block cut in two is closed at the end of one chunk and reopened in the next, so every
 * chunk is valid HTML on its own.  Chunks are appended to out. */
int fmt_split(const char *text, size_t len, size_t limit, struct strvec *out);

/* A sparkline of n values, one of "▁▂▃▄▅▆▇█" each, scaled from min to max (all the same:
 * a flat line).  NaNs are skipped. */
int fmt_sparkline(struct buf *out, const double *v, size_t n);
/* The same on the scale lo..hi (several series drawn comparably); values outside it are
 * drawn at its ends. */
int fmt_sparkline_scaled(struct buf *out, const double *v, size_t n, double lo, double hi);

#endif
