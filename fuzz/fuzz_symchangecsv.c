/* fuzz_symchangecsv.c - the symbol-change CSV parser (codec/symchange.h) on arbitrary bytes.
 *
 * A symbol change renames a company's whole history, so one the parser accepts must name two
 * different valid tickers and a real date; what symchangecsv_write makes of the parsed changes
 * must parse back to the same changes and the same bytes; and mapping names through any parsed
 * log must end (no loop through changes that come back to an earlier name) on one of its
 * symbols.
 */
#include "codec/symchange.h"
#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct symchangevec *v)
{
    struct buf out = BUF_INIT((size_t)1 << 30);
    CHECK(symchangecsv_write(&out, v->v, v->n) == ERR_OK);
    char *text = fuzz_dup(out.data, out.len);
    CHECK(text != NULL);
    struct symchangevec back;
    struct diag d;
    symchangevec_init(&back);
    int err = symchangecsv_parse("round-trip", text, out.len, &back, &d);
    CHECKF(err == ERR_OK, "written changes do not parse back: %s\nwritten:\n%s", d.text, out.data);
    CHECKF(back.n == v->n, "%zu changes read back, %zu written\n", back.n, v->n);
    for (size_t i = 0; i < v->n; i++)
        CHECKF(symchange_cmp(&v->v[i], &back.v[i]) == 0, "change %zu differs\n", i);
    struct buf out2 = BUF_INIT((size_t)1 << 30);
    CHECK(symchangecsv_write(&out2, back.v, back.n) == ERR_OK);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    buf_release(&out2);
    symchangevec_release(&back);
    free(text);
    buf_release(&out);
}

static void check_mapping(struct symchangevec *v)
{
    struct diag d;
    if (symchange_normalize(v, &d) != ERR_OK) {
        CHECK(fuzz_diag_ok(&d));
        return;
    }
    for (size_t i = 0; i < v->n && i < 64; i++) {
        const struct symchange *c = &v->v[i];
        const int32_t when[3] = {c->date - 1, c->date, c->date + 1};
        for (int k = 0; k < 3; k++) {
            const char *a = symchange_name_on(v->v, v->n, c->old_symbol, when[k]);
            const char *b = symchange_name_on(v->v, v->n, c->new_symbol, when[k]);
            CHECK(bar_symbol_valid(a, strlen(a)) && bar_symbol_valid(b, strlen(b)));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct symchangevec v;
    struct diag d;
    symchangevec_init(&v);
    diag_clear(&d);
    int err = symchangecsv_parse("fuzz", text, size, &v, &d);
    for (size_t i = 0; i < v.n; i++)
        CHECK(symchange_valid(&v.v[i]));
    if (err == ERR_OK) {
        check_round_trip(&v);
        check_mapping(&v);
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG, "unexpected error %s\n",
               err_name(err));
        CHECK(fuzz_diag_ok(&d));
    }
    symchangevec_release(&v);
    free(text);
    return 0;
}
