/* fuzz_barcsv.c - the bar CSV reader (codec/barcsv.h) on arbitrary bytes.
 *
 * Every bar the reader accepts must be a valid bar (the store relies on it) and must survive
 * the canonical writer: written with barcsv_write_row and read back through a fresh reader,
 * it is the same bar, and writing that again gives the same bytes.  Bad rows must be reported
 * and skipped without the reader getting stuck.
 */
#include "codec/barcsv.h"
#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(const struct barcsv_reader *r)
{
    CHECK(r->ncols >= BARCSV_VOLUME + 1 && r->ncols <= BARCSV_MAX_FIELDS);
    for (int c = 0; c < BARCSV_NCOLS; c++) {
        CHECK(r->col[c] >= -1 && r->col[c] < (int)r->ncols);
        CHECK(c > BARCSV_VOLUME || r->col[c] >= 0);
        for (int k = 0; k < c; k++)
            CHECK(r->col[c] < 0 || r->col[c] != r->col[k]);
    }
    int canonical = r->ncols == BARCSV_NCOLS;
    for (int c = 0; c < BARCSV_NCOLS; c++)
        canonical = canonical && r->col[c] == c;
    CHECK(r->canonical == canonical);
}

static void write_bar(struct buf *out, const struct bar *b)
{
    CHECK(barcsv_write_header(out) == ERR_OK);
    CHECK(barcsv_write_row(out, b) == ERR_OK);
}

static void check_bar(const struct bar *b)
{
    struct diag d;
    diag_clear(&d);
    CHECKF(bar_validate(b, &d) == ERR_OK, "accepted bar is invalid: %s\n", d.text);
    size_t n = strnlen(b->symbol, sizeof b->symbol);
    CHECK(n < sizeof b->symbol && bar_symbol_valid(b->symbol, n));
    char day[DATE_STRLEN + 1];
    int32_t again;
    date_format(b->date, day);
    CHECK(date_parse(day, DATE_STRLEN, &again) == ERR_OK && again == b->date);

    struct buf out = BUF_INIT(4096);
    write_bar(&out, b);
    CHECK(out.len > strlen(BARCSV_HEADER) && out.data[out.len - 1] == '\n');
    char *text = fuzz_dup(out.data, out.len);
    CHECK(text != NULL);
    struct barcsv_reader r;
    int err = barcsv_reader_init(&r, "round-trip", text, out.len, &d);
    CHECKF(err == ERR_OK, "canonical header rejected: %s\n", d.text);
    CHECK(r.canonical);
    struct bar back;
    err = barcsv_next(&r, &back, &d);
    CHECKF(err == ERR_OK, "written bar does not read back: %s\nwritten: %s", d.text, out.data);
    CHECKF(bar_equal(b, &back), "field '%s' changed in the round trip\nwritten: %s",
           bar_diff_field(b, &back), out.data);
    CHECK(barcsv_next(&r, &back, &d) == ERR_EOF);

    /* Equal bars, equal bytes: the store's content hashes depend on it. */
    struct buf out2 = BUF_INIT(4096);
    write_bar(&out2, &back);
    CHECKF(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0,
           "rewrite differs:\n%s%s", out.data, out2.data);
    buf_release(&out2);
    buf_release(&out);
    free(text);
}

/* The rows read in two blocks, the second handed on with barcsv_reader_refill as an import
 * reads a file (each block ending at a line break), are the rows read at once: the same
 * answers, lines and bars. */
static void check_blocks(const uint8_t *data, size_t size)
{
    char *whole = fuzz_dup(data, size), *head = fuzz_dup(data, size);
    CHECK(whole != NULL && head != NULL);
    struct barcsv_reader a, b;
    struct diag da, db;
    if (barcsv_reader_init(&a, "fuzz", whole, size, &da) != ERR_OK) {
        free(whole);
        free(head);
        return;
    }
    size_t header_end = (size_t)(a.csv.p - whole), from = size / 2;
    if (from < header_end)
        from = header_end;
    const char *nl = from < size ? memchr(whole + from, '\n', size - from) : NULL;
    /* The first block ends at the line break at or after the middle, past the header. */
    size_t cut = nl ? (size_t)(nl - whole) + 1 : 0;
    if (!cut || cut < header_end || memchr(data + header_end, '\n', cut - header_end) == NULL) {
        free(whole);
        free(head);
        return;
    }
    CHECK(barcsv_reader_init(&b, "fuzz", head, cut, &db) == ERR_OK);
    char *tail = fuzz_dup(data + cut, size - cut);
    CHECK(tail != NULL);
    int refilled = 0;
    for (size_t calls = 0; calls <= size + 2; calls++) {
        struct bar ba, bb;
        int ea = barcsv_next(&a, &ba, &da), eb = barcsv_next(&b, &bb, &db);
        if (eb == ERR_EOF && !refilled) {
            barcsv_reader_refill(&b, tail, size - cut, b.csv.next_line);
            refilled = 1;
            eb = barcsv_next(&b, &bb, &db);
        }
        CHECKF(ea == eb, "whole %s, in blocks %s\n", err_name(ea), err_name(eb));
        if (ea == ERR_EOF)
            break;
        CHECKF(barcsv_line(&a) == barcsv_line(&b), "line %zu whole, %zu in blocks\n",
               barcsv_line(&a), barcsv_line(&b));
        CHECK(ea != ERR_OK || bar_equal(&ba, &bb));
    }
    free(tail);
    free(head);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_blocks(data, size);
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct barcsv_reader r;
    struct diag d;
    diag_clear(&d);
    int err = barcsv_reader_init(&r, "fuzz", text, size, &d);
    if (err != ERR_OK) {
        CHECKF(err == ERR_PARSE, "header: unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        free(text);
        return 0;
    }
    check_header(&r);
    /* The same input through the general path only: the fast path for canonical rows must
     * accept, reject and number exactly the same rows. */
    char *text2 = fuzz_dup(data, size);
    CHECK(text2 != NULL);
    struct barcsv_reader g;
    struct diag dg;
    CHECK(barcsv_reader_init(&g, "fuzz", text2, size, &dg) == ERR_OK);
    g.canonical = 0;
    /* And with bytes after it: a row with enough data after it is read eight bytes at a time,
     * which must give the same answers.  Compared for the rows that end with a newline. */
    const size_t pad = 300;
    const char *nl = size ? memrchr(text, '\n', size) : NULL;
    size_t upto = nl ? (size_t)(nl - text) : 0;
    char *text3 = malloc(size + pad);
    CHECK(text3 != NULL);
    if (size)
        memcpy(text3, data, size);
    memset(text3 + size, '7', pad);
    struct barcsv_reader w;
    struct diag dw;
    /* A header that runs to the end of the data (no newline) may read otherwise with bytes
     * after it (a closing quote followed by them): then there is no row to compare. */
    if (barcsv_reader_init(&w, "fuzz", text3, size + pad, &dw) != ERR_OK) {
        CHECK(r.csv.p == text + size);
        upto = 0;
    }

    const char *end = text + size;
    const char *last = r.csv.p;
    size_t last_line = barcsv_line(&r);
    for (size_t calls = 1;; calls++) {
        CHECKF(calls <= size + 2, "%zu calls on %zu bytes: the reader is stuck\n", calls, size);
        struct bar b;
        diag_clear(&d);
        err = barcsv_next(&r, &b, &d);
        struct bar gb;
        int gerr = barcsv_next(&g, &gb, &dg);
        CHECKF(gerr == err, "fast path %s, general path %s\n", err_name(err), err_name(gerr));
        CHECK(barcsv_line(&g) == barcsv_line(&r) && g.csv.p - text2 == r.csv.p - text);
        CHECK(err != ERR_OK || bar_equal(&b, &gb));
        if ((size_t)(last - text) < upto) {
            struct bar wb;
            int werr = barcsv_next(&w, &wb, &dw);
            if (r.csv.p == end) {
                upto = 0; /* the last row: an open quote may run into the data after it */
                goto compared;
            }
            CHECKF(werr == err, "row %zu: %s, with data after it %s\n", barcsv_line(&r),
                   err_name(err), err_name(werr));
            CHECK(barcsv_line(&w) == barcsv_line(&r) && w.csv.p - text3 == r.csv.p - text);
            CHECK(err != ERR_OK || bar_equal(&b, &wb));
        }
    compared:
        if (err == ERR_EOF) {
            CHECK(r.csv.p == end);
            CHECK(barcsv_next(&r, &b, &d) == ERR_EOF);
            break;
        }
        CHECKF(r.csv.p > last && r.csv.p <= end, "no progress (err %s)\n", err_name(err));
        last = r.csv.p;
        CHECK(barcsv_line(&r) > last_line);
        last_line = barcsv_line(&r);
        if (err != ERR_OK) {
            CHECKF(err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG,
                   "row: unexpected error %s\n", err_name(err));
            CHECK(fuzz_diag_ok(&d));
            continue;
        }
        check_bar(&b);
    }
    free(text3);
    free(text2);
    free(text);
    return 0;
}
