/* xml.h - a small, strict XML reader for the answers of S3-style APIs.
 *
 * The whole document is parsed into a read-only tree owned by one struct xml_doc: free it and
 * every node, name and text taken from it is gone.  It reads what S3 sends (an XML
 * declaration, a default namespace on the root, elements with text, entity references, CDATA)
 * and refuses the rest of XML that an API answer never needs: a DOCTYPE (so there are no
 * user-defined entities to expand), encodings other than UTF-8.  Everything else that is not
 * well-formed XML 1.0 is an error too (invalid UTF-8, control characters, mismatched or
 * unclosed tags, unknown entities, a stray '&' or "]]>", duplicate attributes, undeclared
 * namespace prefixes, text after the root), with a diagnostic giving line, column and what
 * was expected.
 *
 *     struct xml_doc *doc;
 *     if (xml_parse(body, len, &doc, &d) == ERR_OK) {
 *         const struct xml_node *root = xml_root(doc);            // <ListBucketResult>
 *         for (const struct xml_node *c = xml_child(root, "Contents"); c;
 *              c = xml_next(c, "Contents"))
 *             use(xml_child_text(c, "Key", NULL));
 *         xml_free(doc);
 *     }
 */
#ifndef CODEC_XML_H
#define CODEC_XML_H

#include <stddef.h>

#include "base/err.h"

/* Deepest element nesting accepted (the root is depth 1), and the largest document. */
#define XML_DEPTH_MAX 32
#define XML_SIZE_MAX  ((size_t)64 << 20)

struct xml_doc;
struct xml_node;

/* Parse len bytes (no NUL needed).  ERR_PARSE for malformed input, ERR_UNSUPPORTED for a
 * DOCTYPE or an encoding other than UTF-8, ERR_TOOBIG past XML_SIZE_MAX or XML_DEPTH_MAX,
 * ERR_NOMEM.  On error *out is NULL. */
int xml_parse(const char *text, size_t len, struct xml_doc **out, struct diag *d);
void xml_free(struct xml_doc *doc);

/* The document element. */
const struct xml_node *xml_root(const struct xml_doc *doc);

/* The element's local name (without a namespace prefix: "Key" for <s3:Key>). */
const char *xml_name(const struct xml_node *n);
/* The namespace URI the element is in ("" when none). */
const char *xml_ns(const struct xml_node *n);

/* The element's own character data (text and CDATA between its tags, not its children's),
 * entities decoded, line ends normalised to "\n".  Never NULL ("" when empty); *len (may be
 * NULL) gets the length.  XML cannot carry a NUL character, so the text is a plain C string. */
const char *xml_text(const struct xml_node *n, size_t *len);

/* An attribute's value by its name as written ("xmlns", "xsi:type"), or NULL. */
const char *xml_attr(const struct xml_node *n, const char *name);

/* The first child element with local name `name` (NULL: any), or NULL. */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* The next sibling element after n with local name `name` (NULL: any), or NULL. */
const struct xml_node *xml_next(const struct xml_node *n, const char *name);
/* The text of the first child named `name`, or NULL when there is no such child. */
const char *xml_child_text(const struct xml_node *n, const char *name, size_t *len);

#endif
