/* xml.c - the strict XML reader: one pass over the text with an explicit element stack (so
 * nesting depth costs no C stack), nodes and strings in an arena owned by the document.
 *
 * The input is checked first as a whole: valid UTF-8 and only characters XML allows.  After
 * that the parser works on bytes and never has to think about encodings again.
 */
#include "codec/xml.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

#define CHUNK_MIN     16384
#define XML_ATTRS_MAX 32
#define XML_NS_URI    "http://www.w3.org/XML/1998/namespace"

struct xml_attr {
    const char *name, *value;
};

struct xml_node {
    const char *qname, *local, *ns;
    const char *text;
    size_t text_len;
    const struct xml_attr *attrs;
    size_t nattrs;
    struct xml_node *first, *last, *next;
};

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[]; /* aligned for any node */
};

struct xml_doc {
    struct chunk *chunks;
    struct xml_node *root;
};

/* A namespace declaration in scope: prefix "" is the default namespace. */
struct nsdecl {
    const char *prefix, *uri;
    int depth;
};

struct parser {
    const char *s;
    size_t len, pos;
    struct xml_doc *doc;
    struct diag *d;
    int depth;
    struct xml_node *stack[XML_DEPTH_MAX];
    struct buf text[XML_DEPTH_MAX]; /* character data of each open element */
    struct buf scratch;             /* an attribute value being decoded */
    struct nsdecl *ns;
    size_t nns, nscap;
    struct xml_attr attrs[XML_ATTRS_MAX]; /* of the start tag being read */
    size_t nattrs;
};

/* ---- the arena ---- */

static void *arena_alloc(struct xml_doc *doc, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct chunk *c = doc->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = doc->chunks;
        doc->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *arena_strndup(struct xml_doc *doc, const char *s, size_t n)
{
    char *p = arena_alloc(doc, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void xml_free(struct xml_doc *doc)
{
    if (!doc)
        return;
    while (doc->chunks) {
        struct chunk *c = doc->chunks;
        doc->chunks = c->next;
        free(c);
    }
    free(doc);
}

/* ---- errors ---- */

__attribute__((format(printf, 4, 5))) static int fail(struct parser *p, int err, size_t at,
                                                      const char *fmt, ...)
{
    size_t line = 1, col = 1;
    if (at > p->len)
        at = p->len;
    for (size_t i = 0; i < at; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)p->s[i] & 0xC0) != 0x80) {
            col++; /* columns count characters, not the bytes of one */
        }
    }
    char msg[DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_set(p->d, err, "xml: line %zu, column %zu: %s", line, col, msg);
}

static int nomem(struct parser *p)
{
    return diag_set(p->d, ERR_NOMEM, "xml: out of memory");
}

/* What is at `at`, for messages: "'x'", "end of input" or a byte in hex. */
static void describe(const struct parser *p, size_t at, char out[24])
{
    if (at >= p->len)
        snprintf(out, 24, "end of input");
    else if ((unsigned char)p->s[at] >= 0x21 && (unsigned char)p->s[at] < 0x7f)
        snprintf(out, 24, "'%c'", p->s[at]);
    else
        snprintf(out, 24, "byte 0x%02x", (unsigned char)p->s[at]);
}

static int expected(struct parser *p, const char *what)
{
    char got[24];
    describe(p, p->pos, got);
    return fail(p, ERR_PARSE, p->pos, "expected %s, got %s", what, got);
}

/* ---- characters ---- */

static int is_xml_char(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The whole input must be UTF-8 made of characters XML allows. */
static int check_chars(struct parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t n = p->len;
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        if (b < 0x80) {
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\r')
                return fail(p, ERR_PARSE, i, "control character 0x%02x is not allowed in XML", b);
            i++;
            continue;
        }
        size_t need;
        uint32_t c, min;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1, c = b & 0x1F, min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2, c = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3, c = b & 0x07, min = 0x10000;
        } else {
            return fail(p, ERR_PARSE, i, "invalid UTF-8 (byte 0x%02x)", b);
        }
        if (n - i - 1 < need)
            return fail(p, ERR_PARSE, i, "invalid UTF-8 (sequence cut off by the end of input)");
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fail(p, ERR_PARSE, i, "invalid UTF-8 (byte 0x%02x)", s[i + k]);
            c = c << 6 | (s[i + k] & 0x3F);
        }
        if (c < min || !is_xml_char(c))
            return fail(p, ERR_PARSE, i, "character U+%04X is not allowed in XML", c);
        i += need + 1;
    }
    return ERR_OK;
}

static int at(const struct parser *p, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(struct parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
    return p->pos - start;
}

static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* A Name at the cursor: *start and *n, cursor after it. */
static int parse_name(struct parser *p, const char *what, size_t *start, size_t *n)
{
    if (p->pos >= p->len || !name_start((unsigned char)p->s[p->pos]))
        return expected(p, what);
    *start = p->pos;
    while (p->pos < p->len && name_char((unsigned char)p->s[p->pos]))
        p->pos++;
    *n = p->pos - *start;
    return ERR_OK;
}

/* A qualified name has at most one ':' with something on both sides. */
static int split_qname(struct parser *p, size_t start, size_t n, size_t *prefix_len)
{
    const char *s = p->s + start;
    const char *colon = memchr(s, ':', n);
    *prefix_len = 0;
    if (!colon)
        return ERR_OK;
    size_t k = (size_t)(colon - s);
    if (k == 0 || k == n - 1 || memchr(colon + 1, ':', n - k - 1) ||
        !name_start((unsigned char)colon[1]))
        return fail(p, ERR_PARSE, start, "'%.*s' is not a valid qualified name",
                    (int)(n > 64 ? 64 : n), s);
    *prefix_len = k;
    return ERR_OK;
}

static void put_utf8(uint32_t c, char out[4], size_t *n)
{
    if (c < 0x80) {
        out[0] = (char)c;
        *n = 1;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        *n = 2;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        *n = 3;
    } else {
        out[0] = (char)(0xF0 | c >> 18);
        out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[3] = (char)(0x80 | (c & 0x3F));
        *n = 4;
    }
}

static int append(struct parser *p, struct buf *b, const char *s, size_t n)
{
    int err = buf_append(b, s, n);
    return err == ERR_NOMEM ? nomem(p) : err ? fail(p, err, p->pos, "text is too long") : ERR_OK;
}

/* An entity or character reference at the cursor ('&'), decoded into out. */
static int parse_ref(struct parser *p, struct buf *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    size_t amp = p->pos++;
    const char *semi = memchr(p->s + p->pos, ';', p->len - p->pos < 16 ? p->len - p->pos : 16);
    if (!semi)
        return fail(p, ERR_PARSE, amp, "'&' must start a reference such as &amp; or &#38;");
    const char *r = p->s + p->pos;
    size_t n = (size_t)(semi - r);
    p->pos += n + 1;
    if (n >= 1 && r[0] == '#') {
        int hex = r[1] == 'x';
        size_t i = hex ? 2 : 1;
        if (i == n)
            return fail(p, ERR_PARSE, amp, "empty character reference");
        uint32_t c = 0;
        for (; i < n; i++) {
            char ch = r[i];
            int v = ch >= '0' && ch <= '9'          ? ch - '0'
                    : hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                    : -1;
            if (v < 0)
                return fail(p, ERR_PARSE, amp, "malformed character reference '&%.*s;'", (int)n, r);
            c = c * (hex ? 16 : 10) + (uint32_t)v;
            if (c > 0x10FFFF)
                break;
        }
        if (!is_xml_char(c))
            return fail(p, ERR_PARSE, amp, "character reference '&%.*s;' is not an XML character",
                        (int)n, r);
        char u[4];
        size_t un;
        put_utf8(c, u, &un);
        return append(p, out, u, un);
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strlen(named[i].name) == n && memcmp(named[i].name, r, n) == 0)
            return append(p, out, &named[i].c, 1);
    return fail(p, ERR_PARSE, amp,
                "unknown entity '&%.*s;' (only &lt; &gt; &amp; &quot; &apos; and &#...; exist "
                "without a DOCTYPE)",
                (int)n, r);
}

/* Character data up to the next '<' (or the end), into out. */
static int parse_chardata(struct parser *p, struct buf *out)
{
    while (p->pos < p->len && p->s[p->pos] != '<') {
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] != '<' && p->s[p->pos] != '&' &&
               p->s[p->pos] != '\r' && p->s[p->pos] != ']')
            p->pos++;
        int err = append(p, out, p->s + start, p->pos - start);
        if (err || p->pos >= p->len)
            return err;
        char c = p->s[p->pos];
        if (c == '&') {
            err = parse_ref(p, out);
        } else if (c == '\r') {
            p->pos += p->pos + 1 < p->len && p->s[p->pos + 1] == '\n' ? 2 : 1;
            err = append(p, out, "\n", 1);
        } else if (c == ']') {
            if (at(p, "]]>"))
                return fail(p, ERR_PARSE, p->pos, "']]>' is not allowed in text");
            p->pos++;
            err = append(p, out, "]", 1);
        }
        if (err)
            return err;
    }
    return ERR_OK;
}

static int parse_comment(struct parser *p)
{
    size_t start = p->pos;
    p->pos += 4; /* "<!--" */
    for (; p->pos + 1 < p->len; p->pos++) {
        if (p->s[p->pos] == '-' && p->s[p->pos + 1] == '-') {
            if (p->pos + 2 < p->len && p->s[p->pos + 2] == '>') {
                p->pos += 3;
                return ERR_OK;
            }
            return fail(p, ERR_PARSE, p->pos, "'--' is not allowed inside a comment");
        }
    }
    return fail(p, ERR_PARSE, start, "comment is not closed with '-->'");
}

/* A processing instruction other than the XML declaration: skipped. */
static int parse_pi(struct parser *p)
{
    size_t start = p->pos, ns, nn;
    p->pos += 2;
    int err = parse_name(p, "a processing instruction target after '<?'", &ns, &nn);
    if (err)
        return err;
    if (nn == 3 && (p->s[ns] | 0x20) == 'x' && (p->s[ns + 1] | 0x20) == 'm' &&
        (p->s[ns + 2] | 0x20) == 'l')
        return fail(p, ERR_PARSE, start, "the XML declaration is only allowed at the very start");
    if (!at(p, "?>") && !skip_space(p))
        return expected(p, "a space or '?>' after the processing instruction target");
    const char *end = p->pos < p->len ? memmem(p->s + p->pos, p->len - p->pos, "?>", 2) : NULL;
    if (!end)
        return fail(p, ERR_PARSE, start, "processing instruction is not closed with '?>'");
    p->pos = (size_t)(end - p->s) + 2;
    return ERR_OK;
}

static int parse_cdata(struct parser *p, struct buf *out)
{
    size_t start = p->pos;
    p->pos += 9; /* "<![CDATA[" */
    const char *end = memmem(p->s + p->pos, p->len - p->pos, "]]>", 3);
    if (!end)
        return fail(p, ERR_PARSE, start, "CDATA section is not closed with ']]>'");
    size_t n = (size_t)(end - (p->s + p->pos));
    /* Line ends are normalised in CDATA too. */
    const char *s = p->s + p->pos;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '\r')
            j++;
        int err = append(p, out, s + i, j - i);
        if (!err && j < n)
            err = append(p, out, "\n", 1);
        if (err)
            return err;
        i = j < n && j + 1 < n && s[j + 1] == '\n' ? j + 2 : j + 1;
    }
    p->pos += n + 3;
    return ERR_OK;
}

/* A quoted attribute value, decoded and normalised (tab, newline -> space) into scratch. */
static int parse_attr_value(struct parser *p)
{
    if (p->pos >= p->len || (p->s[p->pos] != '"' && p->s[p->pos] != '\''))
        return expected(p, "a quoted attribute value");
    char q = p->s[p->pos++];
    size_t start = p->pos;
    buf_reset(&p->scratch);
    while (p->pos < p->len && p->s[p->pos] != q) {
        char c = p->s[p->pos];
        int err;
        if (c == '<')
            return fail(p, ERR_PARSE, p->pos, "'<' is not allowed in an attribute value");
        if (c == '&') {
            err = parse_ref(p, &p->scratch);
        } else if (c == '\r' || c == '\n' || c == '\t') {
            p->pos += c == '\r' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n' ? 2 : 1;
            err = append(p, &p->scratch, " ", 1);
        } else {
            p->pos++;
            err = append(p, &p->scratch, &c, 1);
        }
        if (err)
            return err;
    }
    if (p->pos >= p->len)
        return fail(p, ERR_PARSE, start - 1, "attribute value is not closed");
    p->pos++;
    return ERR_OK;
}

/* <?xml version="1.0" encoding="UTF-8" standalone="yes"?> with the parts in that order. */
static int parse_decl(struct parser *p)
{
    static const char *const names[] = {"version", "encoding", "standalone"};
    p->pos += 5;
    size_t next = 0;
    for (;;) {
        size_t sp = skip_space(p);
        if (at(p, "?>")) {
            p->pos += 2;
            break;
        }
        if (!sp)
            return expected(p, "a space or '?>' in the XML declaration");
        size_t ns, nn;
        int err = parse_name(p, "'version', 'encoding' or 'standalone'", &ns, &nn);
        if (err)
            return err;
        size_t k = next;
        while (k < 3 && !(strlen(names[k]) == nn && memcmp(names[k], p->s + ns, nn) == 0))
            k++;
        if (k == 3 || (next == 0 && k != 0))
            return fail(p, ERR_PARSE, ns, "unexpected '%.*s' in the XML declaration",
                        (int)(nn > 32 ? 32 : nn), p->s + ns);
        next = k + 1;
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != '=')
            return expected(p, "'=' in the XML declaration");
        p->pos++;
        skip_space(p);
        size_t vstart = p->pos + 1;
        if ((err = parse_attr_value(p)) != ERR_OK)
            return err;
        const char *v = buf_cstr(&p->scratch);
        if (k == 0 && !(strncmp(v, "1.", 2) == 0 && v[2] >= '0' && v[2] <= '9'))
            return fail(p, ERR_PARSE, vstart, "XML version '%.16s' is not 1.x", v);
        if (k == 1 && strcasecmp(v, "UTF-8") != 0)
            return fail(p, ERR_UNSUPPORTED, vstart,
                        "encoding '%.32s' is not supported (only UTF-8)", v);
        if (k == 2 && strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            return fail(p, ERR_PARSE, vstart, "standalone must be 'yes' or 'no'");
    }
    if (next == 0)
        return fail(p, ERR_PARSE, 0, "the XML declaration has no version");
    return ERR_OK;
}

/* Comments, processing instructions and white space (before or after the root). */
static int parse_misc(struct parser *p)
{
    for (;;) {
        skip_space(p);
        int err;
        if (at(p, "<!--"))
            err = parse_comment(p);
        else if (at(p, "<?"))
            err = parse_pi(p);
        else
            return ERR_OK;
        if (err)
            return err;
    }
}

static const char *lookup_ns(const struct parser *p, const char *prefix, size_t n)
{
    if (n == 3 && memcmp(prefix, "xml", 3) == 0)
        return XML_NS_URI;
    for (size_t i = p->nns; i-- > 0;)
        if (strlen(p->ns[i].prefix) == n && memcmp(p->ns[i].prefix, prefix, n) == 0)
            return p->ns[i].uri;
    return n == 0 ? "" : NULL;
}

static int push_ns(struct parser *p, const char *prefix, const char *uri)
{
    if (p->nns == p->nscap) {
        size_t cap = p->nscap ? p->nscap * 2 : 8;
        struct nsdecl *v = realloc(p->ns, cap * sizeof *v);
        if (!v)
            return nomem(p);
        p->ns = v;
        p->nscap = cap;
    }
    p->ns[p->nns++] = (struct nsdecl){prefix, uri, p->depth};
    return ERR_OK;
}

/* The namespace declarations among the start tag's attributes. */
static int declare_ns(struct parser *p, size_t tag)
{
    for (size_t i = 0; i < p->nattrs; i++) {
        const char *name = p->attrs[i].name, *v = p->attrs[i].value;
        int err = ERR_OK;
        if (strcmp(name, "xmlns") == 0) {
            err = push_ns(p, "", v);
        } else if (strncmp(name, "xmlns:", 6) == 0) {
            const char *prefix = name + 6;
            if (strcmp(prefix, "xmlns") == 0 ||
                (strcmp(prefix, "xml") == 0) != (strcmp(v, XML_NS_URI) == 0))
                return fail(p, ERR_PARSE, tag, "the prefix '%.32s' cannot be bound to '%.64s'",
                            prefix, v);
            if (!*v)
                return fail(p, ERR_PARSE, tag, "namespace prefix '%.32s' is bound to nothing",
                            prefix);
            err = push_ns(p, prefix, v);
        }
        if (err)
            return err;
    }
    return ERR_OK;
}

static int open_element(struct parser *p)
{
    size_t tag = p->pos++;
    size_t ns, nn, plen;
    int err = parse_name(p, "an element name after '<'", &ns, &nn);
    if (!err)
        err = split_qname(p, ns, nn, &plen);
    if (err)
        return err;
    if (p->depth == XML_DEPTH_MAX)
        return fail(p, ERR_TOOBIG, tag, "elements are nested deeper than %d", XML_DEPTH_MAX);
    struct xml_node *node = arena_alloc(p->doc, sizeof *node);
    if (!node)
        return nomem(p);
    memset(node, 0, sizeof *node);
    node->qname = arena_strndup(p->doc, p->s + ns, nn);
    if (!node->qname)
        return nomem(p);
    node->local = node->qname + (plen ? plen + 1 : 0);

    p->nattrs = 0;
    int empty = 0;
    for (;;) {
        size_t sp = skip_space(p);
        if (at(p, "/>")) {
            p->pos += 2;
            empty = 1;
            break;
        }
        if (at(p, ">")) {
            p->pos++;
            break;
        }
        if (p->pos >= p->len)
            return fail(p, ERR_PARSE, tag, "start tag of '%.64s' is not closed", node->qname);
        if (!sp)
            return expected(p, "a space, '>' or '/>' in a start tag");
        size_t as, an, aplen;
        if ((err = parse_name(p, "an attribute name", &as, &an)) != ERR_OK ||
            (err = split_qname(p, as, an, &aplen)) != ERR_OK)
            return err;
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != '=')
            return expected(p, "'=' after an attribute name");
        p->pos++;
        skip_space(p);
        if ((err = parse_attr_value(p)) != ERR_OK)
            return err;
        for (size_t i = 0; i < p->nattrs; i++)
            if (strlen(p->attrs[i].name) == an && memcmp(p->attrs[i].name, p->s + as, an) == 0)
                return fail(p, ERR_PARSE, as, "attribute '%.*s' appears twice",
                            (int)(an > 64 ? 64 : an), p->s + as);
        if (p->nattrs == XML_ATTRS_MAX)
            return fail(p, ERR_TOOBIG, as, "more than %d attributes on one element", XML_ATTRS_MAX);
        struct xml_attr *a = &p->attrs[p->nattrs++];
        a->name = arena_strndup(p->doc, p->s + as, an);
        a->value = arena_strndup(p->doc, p->scratch.data ? p->scratch.data : "", p->scratch.len);
        if (!a->name || !a->value)
            return nomem(p);
    }

    p->depth++;
    if ((err = declare_ns(p, tag)) != ERR_OK)
        return err;
    node->ns = lookup_ns(p, node->qname, plen);
    if (!node->ns)
        return fail(p, ERR_PARSE, tag, "namespace prefix '%.*s' is not declared", (int)plen,
                    node->qname);
    for (size_t i = 0; i < p->nattrs; i++) {
        const char *name = p->attrs[i].name, *colon = strchr(name, ':');
        if (colon && strncmp(name, "xmlns:", 6) != 0 && !lookup_ns(p, name, (size_t)(colon - name)))
            return fail(p, ERR_PARSE, tag, "namespace prefix of attribute '%.64s' is not declared",
                        name);
    }
    if (p->nattrs) {
        struct xml_attr *v = arena_alloc(p->doc, p->nattrs * sizeof *v);
        if (!v)
            return nomem(p);
        memcpy(v, p->attrs, p->nattrs * sizeof *v);
        node->attrs = v;
        node->nattrs = p->nattrs;
    }

    if (p->depth == 1) {
        p->doc->root = node;
    } else {
        struct xml_node *parent = p->stack[p->depth - 2];
        if (parent->last)
            parent->last->next = node;
        else
            parent->first = node;
        parent->last = node;
    }
    p->stack[p->depth - 1] = node;
    buf_reset(&p->text[p->depth - 1]);
    if (empty) {
        node->text = "";
        while (p->nns && p->ns[p->nns - 1].depth == p->depth)
            p->nns--;
        p->depth--;
    }
    return ERR_OK;
}

static int close_element(struct parser *p)
{
    size_t tag = p->pos;
    p->pos += 2;
    size_t ns, nn;
    int err = parse_name(p, "an element name after '</'", &ns, &nn);
    if (err)
        return err;
    struct xml_node *node = p->stack[p->depth - 1];
    if (strlen(node->qname) != nn || memcmp(node->qname, p->s + ns, nn) != 0)
        return fail(p, ERR_PARSE, tag, "end tag '%.*s' does not match the start tag '%.64s'",
                    (int)(nn > 64 ? 64 : nn), p->s + ns, node->qname);
    skip_space(p);
    if (p->pos >= p->len || p->s[p->pos] != '>')
        return expected(p, "'>' to close the end tag");
    p->pos++;
    struct buf *t = &p->text[p->depth - 1];
    node->text = arena_strndup(p->doc, t->data ? t->data : "", t->len);
    if (!node->text)
        return nomem(p);
    node->text_len = t->len;
    while (p->nns && p->ns[p->nns - 1].depth == p->depth)
        p->nns--;
    p->depth--;
    return ERR_OK;
}

static int parse_root(struct parser *p)
{
    int err = open_element(p);
    while (!err && p->depth > 0) {
        struct buf *text = &p->text[p->depth - 1];
        if ((err = parse_chardata(p, text)) != ERR_OK)
            break;
        if (p->pos >= p->len)
            return fail(p, ERR_PARSE, p->pos, "element '%.64s' is not closed",
                        p->stack[p->depth - 1]->qname);
        if (at(p, "</"))
            err = close_element(p);
        else if (at(p, "<!--"))
            err = parse_comment(p);
        else if (at(p, "<![CDATA["))
            err = parse_cdata(p, text);
        else if (at(p, "<!"))
            err = fail(p, ERR_PARSE, p->pos, "markup declarations are not allowed in content");
        else if (at(p, "<?"))
            err = parse_pi(p);
        else
            err = open_element(p);
    }
    return err;
}

static int parse_document(struct parser *p)
{
    int err = check_chars(p);
    if (err)
        return err;
    if (at(p, "\xEF\xBB\xBF"))
        p->pos += 3;
    if (at(p, "<?xml") && p->pos + 5 < p->len &&
        (is_space(p->s[p->pos + 5]) || p->s[p->pos + 5] == '?'))
        err = parse_decl(p);
    if (!err)
        err = parse_misc(p);
    if (err)
        return err;
    if (at(p, "<!DOCTYPE"))
        return fail(p, ERR_UNSUPPORTED, p->pos, "a DOCTYPE is not supported");
    if (p->pos >= p->len)
        return fail(p, ERR_PARSE, p->pos, "no root element");
    if (p->s[p->pos] != '<' || p->pos + 1 >= p->len || !name_start((unsigned char)p->s[p->pos + 1]))
        return expected(p, "the root element");
    if ((err = parse_root(p)) != ERR_OK || (err = parse_misc(p)) != ERR_OK)
        return err;
    if (p->pos < p->len)
        return fail(p, ERR_PARSE, p->pos,
                    p->s[p->pos] == '<' ? "a second root element" : "text after the root element");
    return ERR_OK;
}

int xml_parse(const char *text, size_t len, struct xml_doc **out, struct diag *d)
{
    *out = NULL;
    if (len > XML_SIZE_MAX)
        return diag_set(d, ERR_TOOBIG, "xml: document of %zu bytes is over the limit of %zu", len,
                        XML_SIZE_MAX);
    struct parser p = {.s = text, .len = len, .d = d};
    p.doc = calloc(1, sizeof *p.doc);
    if (!p.doc)
        return diag_set(d, ERR_NOMEM, "xml: out of memory");
    for (int i = 0; i < XML_DEPTH_MAX; i++)
        buf_init(&p.text[i], XML_SIZE_MAX);
    buf_init(&p.scratch, XML_SIZE_MAX);
    int err = parse_document(&p);
    for (int i = 0; i < XML_DEPTH_MAX; i++)
        buf_release(&p.text[i]);
    buf_release(&p.scratch);
    free(p.ns);
    if (err) {
        xml_free(p.doc);
        return err;
    }
    *out = p.doc;
    return ERR_OK;
}

/* ---- the tree ---- */

const struct xml_node *xml_root(const struct xml_doc *doc)
{
    return doc->root;
}

const char *xml_name(const struct xml_node *n)
{
    return n->local;
}

const char *xml_ns(const struct xml_node *n)
{
    return n->ns;
}

const char *xml_text(const struct xml_node *n, size_t *len)
{
    if (len)
        *len = n->text_len;
    return n->text;
}

const char *xml_attr(const struct xml_node *n, const char *name)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return n->attrs[i].value;
    return NULL;
}

static const struct xml_node *from(const struct xml_node *n, const char *name)
{
    while (n && name && strcmp(n->local, name) != 0)
        n = n->next;
    return n;
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
    return from(n->first, name);
}

const struct xml_node *xml_next(const struct xml_node *n, const char *name)
{
    return from(n->next, name);
}

const char *xml_child_text(const struct xml_node *n, const char *name, size_t *len)
{
    const struct xml_node *c = xml_child(n, name);
    return c ? xml_text(c, len) : NULL;
}
