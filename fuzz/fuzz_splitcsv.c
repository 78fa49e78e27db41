/* fuzz_splitcsv.c - the split CSV parser (codec/split.h) on arbitrary bytes.
 *
 * Splits scale every price before their date, so a split the parser accepts must have
 * positive rates, a valid ticker and a real date; and what splitcsv_write makes of the parsed
 * splits must parse back to the same splits and the same bytes.
 */
#include "codec/split.h"
#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int split_equal(const struct split *a, const struct split *b)
{
    return strcmp(a->symbol, b->symbol) == 0 && a->ex_date == b->ex_date &&
           a->new_rate == b->new_rate && a->old_rate == b->old_rate;
}

static void check_split(const struct split *s)
{
    size_t n = strnlen(s->symbol, sizeof s->symbol);
    CHECK(n < sizeof s->symbol && bar_symbol_valid(s->symbol, n));
    CHECKF(s->new_rate > 0 && s->old_rate > 0, "rates %lld, %lld\n", (long long)s->new_rate,
           (long long)s->old_rate);
    char day[DATE_STRLEN + 1];
    int32_t again;
    date_format(s->ex_date, day);
    CHECK(date_parse(day, DATE_STRLEN, &again) == ERR_OK && again == s->ex_date);
}

static void check_round_trip(const struct splitvec *sv)
{
    struct buf out = BUF_INIT((size_t)1 << 30);
    CHECK(splitcsv_write(&out, sv->v, sv->n) == ERR_OK);
    char *text = fuzz_dup(out.data, out.len);
    CHECK(text != NULL);
    struct splitvec back;
    struct diag d;
    splitvec_init(&back);
    int err = splitcsv_parse("round-trip", text, out.len, &back, &d);
    CHECKF(err == ERR_OK, "written splits do not parse back: %s\nwritten:\n%s", d.text, out.data);
    CHECKF(back.n == sv->n, "%zu splits read back, %zu written\n", back.n, sv->n);
    for (size_t i = 0; i < sv->n; i++)
        CHECKF(split_equal(&sv->v[i], &back.v[i]), "split %zu changed in the round trip\n", i);

    struct buf out2 = BUF_INIT((size_t)1 << 30);
    CHECK(splitcsv_write(&out2, back.v, back.n) == ERR_OK);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    buf_release(&out2);
    splitvec_release(&back);
    free(text);
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct splitvec sv;
    struct diag d;
    splitvec_init(&sv);
    diag_clear(&d);
    int err = splitcsv_parse("fuzz", text, size, &sv, &d);
    /* Rows before a bad one are appended too, so they must be as sound. */
    for (size_t i = 0; i < sv.n; i++)
        check_split(&sv.v[i]);
    if (err == ERR_OK) {
        check_round_trip(&sv);
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG, "unexpected error %s\n",
               err_name(err));
        CHECK(fuzz_diag_ok(&d));
    }
    splitvec_release(&sv);
    free(text);
    return 0;
}
