/* Unit tests: the strict XML reader (codec/xml.h) on S3's answers and on malformed input. */
#include "testutil.h"

#include "codec/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct xml_doc *parse_ok(const char *text)
{
    struct xml_doc *doc = NULL;
    struct diag d;
    diag_clear(&d);
    int err = xml_parse(text, strlen(text), &doc, &d);
    if (err)
        fail_msg("xml_parse failed: %s", d.text);
    assert_non_null(doc);
    return doc;
}

static void test_list_bucket_result(void **state)
{
    (void)state;
    const char *text =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Name>screener-data</Name><Prefix>bars/</Prefix><KeyCount>2</KeyCount>"
        "<MaxKeys>1000</MaxKeys>\n"
        "  <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/+=</"
        "NextContinuationToken>\n"
        "  <Contents><Key>bars/2024/AAPL.csv</Key><LastModified>2024-07-01T21:10:05.000Z"
        "</LastModified>\n"
        "    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>48213</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>\n"
        "  <Contents><Key>bars/a&amp;b &lt;c&gt;.csv</Key><Size>0</Size></Contents>\n"
        "  <CommonPrefixes><Prefix>bars/2025/</Prefix></CommonPrefixes>\n"
        "</ListBucketResult>\n";
    struct xml_doc *doc = parse_ok(text);
    const struct xml_node *root = xml_root(doc);
    assert_string_equal(xml_name(root), "ListBucketResult");
    assert_string_equal(xml_ns(root), "http://s3.amazonaws.com/doc/2006-03-01/");
    assert_string_equal(xml_attr(root, "xmlns"), "http://s3.amazonaws.com/doc/2006-03-01/");
    assert_null(xml_attr(root, "other"));
    assert_string_equal(xml_child_text(root, "Name", NULL), "screener-data");
    assert_string_equal(xml_child_text(root, "IsTruncated", NULL), "true");
    assert_string_equal(xml_child_text(root, "NextContinuationToken", NULL), "1ueGcxLPRx1Tr/+=");
    assert_null(xml_child_text(root, "ContinuationToken", NULL));

    const struct xml_node *c = xml_child(root, "Contents");
    assert_non_null(c);
    assert_string_equal(xml_ns(c), "http://s3.amazonaws.com/doc/2006-03-01/");
    assert_string_equal(xml_child_text(c, "Key", NULL), "bars/2024/AAPL.csv");
    size_t len;
    assert_string_equal(xml_child_text(c, "ETag", &len), "\"9b2cf535f27731c974343645a3985328\"");
    assert_int_equal(len, 34);
    assert_string_equal(xml_child_text(c, "Size", NULL), "48213");
    c = xml_next(c, "Contents");
    assert_non_null(c);
    assert_string_equal(xml_child_text(c, "Key", NULL), "bars/a&b <c>.csv");
    assert_null(xml_next(c, "Contents"));
    const struct xml_node *cp = xml_next(c, NULL);
    assert_string_equal(xml_name(cp), "CommonPrefixes");
    assert_string_equal(xml_child_text(cp, "Prefix", NULL), "bars/2025/");
    assert_null(xml_next(cp, NULL));
    /* The first child of any name, and the root's own text is only the white space. */
    assert_string_equal(xml_name(xml_child(root, NULL)), "Name");
    assert_null(strpbrk(xml_text(root, NULL), "abcdefghijklmnopqrstuvwxyz<>"));
    xml_free(doc);
}

static void test_error_document(void **state)
{
    (void)state;
    struct xml_doc *doc =
        parse_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                 "<Message>The specified key does not exist.</Message>"
                 "<Key>bars/AAPL.csv</Key><RequestId>4442587FB7D0A2F9</RequestId>"
                 "<HostId>abc=</HostId></Error>");
    const struct xml_node *root = xml_root(doc);
    assert_string_equal(xml_name(root), "Error");
    assert_string_equal(xml_ns(root), "");
    assert_string_equal(xml_child_text(root, "Code", NULL), "NoSuchKey");
    assert_string_equal(xml_child_text(root, "Message", NULL), "The specified key does not exist.");
    assert_string_equal(xml_child_text(root, "RequestId", NULL), "4442587FB7D0A2F9");
    xml_free(doc);
}

static void test_entities_cdata_and_lines(void **state)
{
    (void)state;
    struct xml_doc *doc =
        parse_ok("\xEF\xBB\xBF<r a='x&#9;y&quot;' b=\"1\n2\">&#65;&#x42;&#x1F600;&apos;\xC3\xA9"
                 "<![CDATA[<&>]]]]>\r\nend\rx<!-- a comment --><?pi data?>"
                 "<e/><e></e></r>");
    const struct xml_node *r = xml_root(doc);
    size_t len;
    assert_string_equal(xml_text(r, &len), "AB\xF0\x9F\x98\x80'\xC3\xA9<&>]]\nend\nx");
    assert_int_equal(len, strlen("AB\xF0\x9F\x98\x80'\xC3\xA9<&>]]\nend\nx"));
    /* Attribute values: references decoded, literal white space turned into spaces. */
    assert_string_equal(xml_attr(r, "a"), "x\ty\"");
    assert_string_equal(xml_attr(r, "b"), "1 2");
    const struct xml_node *e = xml_child(r, "e");
    assert_string_equal(xml_text(e, &len), "");
    assert_int_equal(len, 0);
    assert_string_equal(xml_text(xml_next(e, "e"), NULL), "");
    xml_free(doc);
}

static void test_namespaces(void **state)
{
    (void)state;
    struct xml_doc *doc = parse_ok("<s3:R xmlns:s3='urn:s3' xmlns='urn:default'>"
                                   "<s3:Key>k</s3:Key><Key xmlns=''>plain</Key><Other/>"
                                   "<x:Y xmlns:x='urn:x' x:attr='1'/></s3:R>");
    const struct xml_node *r = xml_root(doc);
    assert_string_equal(xml_name(r), "R");
    assert_string_equal(xml_ns(r), "urn:s3");
    const struct xml_node *k = xml_child(r, "Key");
    assert_string_equal(xml_ns(k), "urn:s3");
    assert_string_equal(xml_text(k, NULL), "k");
    k = xml_next(k, "Key");
    assert_string_equal(xml_ns(k), "");
    assert_string_equal(xml_ns(xml_child(r, "Other")), "urn:default");
    const struct xml_node *y = xml_child(r, "Y");
    assert_string_equal(xml_ns(y), "urn:x");
    assert_string_equal(xml_attr(y, "x:attr"), "1");
    xml_free(doc);
}

static void test_deep_but_allowed(void **state)
{
    (void)state;
    char text[1024] = "";
    size_t n = 0;
    for (int i = 0; i < XML_DEPTH_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "<a>");
    for (int i = 0; i < XML_DEPTH_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "</a>");
    struct xml_doc *doc = parse_ok(text);
    xml_free(doc);
    /* One more level is refused. */
    char deeper[sizeof text + 8];
    snprintf(deeper, sizeof deeper, "<a>%s</a>", text);
    struct xml_doc *bad = NULL;
    struct diag d;
    assert_int_equal(xml_parse(deeper, strlen(deeper), &bad, &d), ERR_TOOBIG);
    assert_null(bad);
    assert_non_null(strstr(d.text, "nested deeper than 32"));
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int err;
        const char *msg;
    } cases[] = {
        {"", ERR_PARSE, "line 1, column 1: no root element"},
        {"   \n  ", ERR_PARSE, "no root element"},
        {"hello", ERR_PARSE, "expected the root element, got 'h'"},
        {"<a>", ERR_PARSE, "element 'a' is not closed"},
        {"<a></b>", ERR_PARSE, "end tag 'b' does not match the start tag 'a'"},
        {"<a><b></a></b>", ERR_PARSE, "end tag 'a' does not match the start tag 'b'"},
        {"<a>x &nbsp; y</a>", ERR_PARSE, "unknown entity '&nbsp;'"},
        {"<a>fish & chips</a>", ERR_PARSE, "'&' must start a reference"},
        {"<a>&#0;</a>", ERR_PARSE, "'&#0;' is not an XML character"},
        {"<a>&#xD800;</a>", ERR_PARSE, "is not an XML character"},
        {"<a>&#x110000;</a>", ERR_PARSE, "is not an XML character"},
        {"<a>&#12a;</a>", ERR_PARSE, "malformed character reference"},
        {"<a>&#;</a>", ERR_PARSE, "empty character reference"},
        {"<a>]]></a>", ERR_PARSE, "']]>' is not allowed in text"},
        {"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", ERR_UNSUPPORTED, "DOCTYPE is not supported"},
        {"<?xml version='1.0' encoding='ISO-8859-1'?><a/>", ERR_UNSUPPORTED,
         "encoding 'ISO-8859-1' is not supported"},
        {"<?xml encoding='UTF-8'?><a/>", ERR_PARSE, "unexpected 'encoding'"},
        {"<?xml version='2.0'?><a/>", ERR_PARSE, "version '2.0' is not 1.x"},
        {" <?xml version='1.0'?><a/>", ERR_PARSE, "XML declaration is only allowed at the very"},
        {"<a>\xC3</a>", ERR_PARSE, "invalid UTF-8"},
        {"<a>\xC0\xAF</a>", ERR_PARSE, "invalid UTF-8"},
        {"<a>\xED\xA0\x80</a>", ERR_PARSE, "U+D800 is not allowed"},
        {"<a>\x01</a>", ERR_PARSE, "control character 0x01"},
        {"<a x='1' x='2'/>", ERR_PARSE, "attribute 'x' appears twice"},
        {"<a x='<'/>", ERR_PARSE, "'<' is not allowed in an attribute value"},
        {"<a x=1/>", ERR_PARSE, "expected a quoted attribute value, got '1'"},
        {"<a x='1'y='2'/>", ERR_PARSE, "expected a space, '>' or '/>' in a start tag"},
        {"<a x='1/>", ERR_PARSE, "attribute value is not closed"},
        {"<p:a/>", ERR_PARSE, "namespace prefix 'p' is not declared"},
        {"<a p:x='1'/>", ERR_PARSE, "namespace prefix of attribute 'p:x' is not declared"},
        {"<a:b:c xmlns:a='u'/>", ERR_PARSE, "is not a valid qualified name"},
        {"<a xmlns:p=''/>", ERR_PARSE, "bound to nothing"},
        {"<a/><b/>", ERR_PARSE, "a second root element"},
        {"<a/>text", ERR_PARSE, "text after the root element"},
        {"<a><!-- x -- y --></a>", ERR_PARSE, "'--' is not allowed inside a comment"},
        {"<a><!-- x </a>", ERR_PARSE, "comment is not closed"},
        {"<a><![CDATA[x</a>", ERR_PARSE, "CDATA section is not closed"},
        {"<a><!ELEMENT a ANY></a>", ERR_PARSE, "markup declarations are not allowed"},
        {"<a><?pi x</a>", ERR_PARSE, "processing instruction is not closed"},
        {"<a", ERR_PARSE, "start tag of 'a' is not closed"},
        {"<a></a", ERR_PARSE, "expected '>' to close the end tag, got end of input"},
        {"<1a/>", ERR_PARSE, "expected the root element, got '<'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct xml_doc *doc = (struct xml_doc *)1;
        struct diag d;
        diag_clear(&d);
        int err = xml_parse(cases[i].text, strlen(cases[i].text), &doc, &d);
        if (err != cases[i].err || !strstr(d.text, cases[i].msg) ||
            strncmp(d.text, "xml: line ", 10) != 0)
            fail_msg("case %zu '%s': got %s '%s', want %s '%s'", i, cases[i].text, err_name(err),
                     d.text, err_name(cases[i].err), cases[i].msg);
        assert_null(doc);
    }
}

static void test_position_in_message(void **state)
{
    (void)state;
    struct xml_doc *doc;
    struct diag d;
    const char *text = "<a>\n  <b>\xC3\xA9t\xC3\xA9</c>\n</a>";
    assert_int_equal(xml_parse(text, strlen(text), &doc, &d), ERR_PARSE);
    /* Columns count characters: "  <b>" then the 3 characters of "été", the end tag at 9. */
    assert_string_equal(d.text, "xml: line 2, column 9: end tag 'c' does not match the start tag "
                                "'b'");
}

static void test_size_cap(void **state)
{
    (void)state;
    struct xml_doc *doc;
    struct diag d;
    /* The length alone decides: the text is not read. */
    assert_int_equal(xml_parse("<a/>", XML_SIZE_MAX + 1, &doc, &d), ERR_TOOBIG);
    assert_non_null(strstr(d.text, "over the limit"));
    /* Input without a terminating NUL is read only within its length. */
    char *exact = malloc(4);
    memcpy(exact, "<a/>", 4);
    assert_int_equal(xml_parse(exact, 4, &doc, &d), ERR_OK);
    xml_free(doc);
    assert_int_equal(xml_parse(exact, 3, &doc, &d), ERR_PARSE);
    free(exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_bucket_result),       cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_entities_cdata_and_lines), cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_deep_but_allowed),         cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_position_in_message),      cmocka_unit_test(test_size_cap),
    };
    return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
