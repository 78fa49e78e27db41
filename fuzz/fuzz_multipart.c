/* fuzz_multipart.c - the multipart/form-data reader (codec/multipart.h) on arbitrary bytes.
 *
 * The input's first line is the Content-Type header's value, the rest the body.  Parts read
 * must lie inside the body, in order, with NUL-terminated names; a body written again from
 * them (with a boundary the writer picks) must read back to the same parts.  Anything refused
 * is refused with a diagnostic, never a crash.
 */
#include "codec/multipart.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct multipart_part *a, const struct multipart_part *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->filename, b->filename) == 0 &&
           a->is_file == b->is_file && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0) &&
           (!a->is_file || strcmp(a->content_type, b->content_type) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    char *nl = memchr(text, '\n', size);
    size_t hlen = nl ? (size_t)(nl - text) : size;
    char *header = malloc(hlen + 1);
    if (!header) {
        free(text);
        return 0;
    }
    memcpy(header, text, hlen);
    header[hlen] = '\0';
    const char *body = nl ? nl + 1 : text + size;
    size_t blen = (size_t)(text + size - body);
    struct multipart_part parts[8];
    size_t n;
    struct diag d;
    diag_clear(&d);
    int err = multipart_parse(header, body, blen, parts, 8, &n, &d);
    CHECK(n <= 8);
    for (size_t i = 0; i < n; i++) {
        CHECK(parts[i].data >= body && parts[i].data + parts[i].len <= body + blen);
        CHECK(i == 0 || parts[i].data > parts[i - 1].data);
        CHECK(memchr(parts[i].name, '\0', sizeof parts[i].name) && parts[i].name[0]);
        CHECK(memchr(parts[i].filename, '\0', sizeof parts[i].filename));
        CHECK(memchr(parts[i].content_type, '\0', sizeof parts[i].content_type));
    }
    if (err) {
        CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "unexpected %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
    } else {
        /* Written again, read back the same (when the names can be written as they are). */
        int writable = 1;
        const void *bufs[8];
        size_t lens[8];
        for (size_t i = 0; i < n; i++) {
            writable = writable && !strpbrk(parts[i].name, "\"\r\n\\") &&
                       !strpbrk(parts[i].filename, "\"\r\n\\") &&
                       !strpbrk(parts[i].content_type, "\"\r\n") &&
                       (!parts[i].is_file || parts[i].content_type[0]);
            bufs[i] = parts[i].data;
            lens[i] = parts[i].len;
        }
        if (writable) {
            char boundary[MULTIPART_BOUNDARY_MAX + 1];
            multipart_boundary(bufs, lens, n, boundary);
            struct buf out = BUF_INIT((size_t)64 << 20);
            for (size_t i = 0; i < n; i++) {
                int e = parts[i].is_file
                            ? multipart_file(&out, boundary, parts[i].name, parts[i].filename,
                                             parts[i].content_type, parts[i].data, parts[i].len)
                            : multipart_field(&out, boundary, parts[i].name, parts[i].data,
                                              parts[i].len);
                CHECK(e == ERR_OK);
            }
            CHECK(multipart_end(&out, boundary) == ERR_OK);
            char ct[128];
            snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
            struct multipart_part back[8];
            size_t nb;
            CHECKF(multipart_parse(ct, buf_cstr(&out), out.len, back, 8, &nb, &d) == ERR_OK,
                   "written again, not read: %s\n", d.text);
            CHECK(nb == n);
            for (size_t i = 0; i < n; i++)
                CHECKF(same(&parts[i], &back[i]), "part %zu differs when written again\n", i);
            buf_release(&out);
        }
    }
    free(header);
    free(text);
    return 0;
}
