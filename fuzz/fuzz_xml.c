/* fuzz_xml.c - the XML reader (codec/xml.h) on arbitrary bytes.
 *
 * Whatever it accepts must be a sane tree: names non-empty, text as long as its C string.  Writing
 * the tree back out (element names and text, escaped) must parse again into the same names and
 * texts, so decoding and escaping agree.  Whatever it refuses must come with a diagnostic and one
 * of the documented codes.
 */
#include "codec/xml.h"
#include "base/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_node(const struct xml_node *n, int depth)
{
    CHECK(depth <= XML_DEPTH_MAX);
    CHECK(xml_name(n)[0] != '\0');
    CHECK(xml_ns(n) != NULL);
    size_t len;
    const char *text = xml_text(n, &len);
    CHECK(text != NULL && strlen(text) == len);
    for (const struct xml_node *c = xml_child(n, NULL); c; c = xml_next(c, NULL))
        check_node(c, depth + 1);
}

static void escape(struct buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* A carriage return comes only from "&#13;": a literal one would read back as "\n". */
        const char *r = s[i] == '&'    ? "&amp;"
                        : s[i] == '<'  ? "&lt;"
                        : s[i] == '>'  ? "&gt;"
                        : s[i] == '\r' ? "&#13;"
                                       : NULL;
        CHECK((r ? buf_puts(out, r) : buf_putc(out, s[i])) == ERR_OK);
    }
}

/* <local>text<child/>...</local>: prefixes and attributes are left out, so namespaces are not
 * compared, only names and text. */
static void write_node(struct buf *out, const struct xml_node *n)
{
    size_t len;
    const char *text = xml_text(n, &len);
    CHECK(buf_printf(out, "<%s>", xml_name(n)) == ERR_OK);
    escape(out, text, len);
    for (const struct xml_node *c = xml_child(n, NULL); c; c = xml_next(c, NULL))
        write_node(out, c);
    CHECK(buf_printf(out, "</%s>", xml_name(n)) == ERR_OK);
}

static void check_same(const struct xml_node *a, const struct xml_node *b)
{
    CHECK(strcmp(xml_name(a), xml_name(b)) == 0);
    size_t la, lb;
    const char *ta = xml_text(a, &la), *tb = xml_text(b, &lb);
    CHECKF(la == lb && memcmp(ta, tb, la) == 0, "text of <%s> changed in the round trip\n",
           xml_name(a));
    const struct xml_node *ca = xml_child(a, NULL), *cb = xml_child(b, NULL);
    for (; ca && cb; ca = xml_next(ca, NULL), cb = xml_next(cb, NULL))
        check_same(ca, cb);
    CHECK(ca == NULL && cb == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct xml_doc *doc = NULL;
    struct diag d;
    diag_clear(&d);
    int err = xml_parse(text, size, &doc, &d);
    if (err == ERR_OK) {
        CHECK(doc != NULL);
        const struct xml_node *root = xml_root(doc);
        check_node(root, 1);
        struct buf out = BUF_INIT((size_t)1 << 30);
        write_node(&out, root);
        char *again = fuzz_dup(out.data, out.len);
        CHECK(again != NULL);
        struct xml_doc *doc2 = NULL;
        err = xml_parse(again, out.len, &doc2, &d);
        CHECKF(err == ERR_OK, "the written tree does not parse: %s\n", d.text);
        check_same(root, xml_root(doc2));
        xml_free(doc2);
        free(again);
        buf_release(&out);
        xml_free(doc);
    } else {
        CHECK(doc == NULL);
        CHECKF(err == ERR_PARSE || err == ERR_UNSUPPORTED || err == ERR_TOOBIG,
               "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        CHECK(strncmp(d.text, "xml: ", 5) == 0);
    }
    free(text);
    return 0;
}
