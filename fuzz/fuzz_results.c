/* fuzz_results.c - the readers of the results files (screen/results.h) on arbitrary bytes: the
 * screen CSV, the top-candidate history, closes.csv and the run record, each given the same
 * input.
 *
 * The bot and downloads trust what these readers accept, so accepted rows must hold the
 * promised order (one date and ascending ranks in a screen; dates, then ranks, ascending in
 * the history), and what the screen writer makes of them must read back and write again to
 * the same bytes.  Anything refused is refused with a diagnostic, never a crash.
 */
#include "screen/results.h"
#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rows(const struct screen_row *rows, size_t n, int one_date)
{
    for (size_t i = 0; i < n; i++) {
        const struct screen_row *r = &rows[i];
        size_t len = strnlen(r->symbol, sizeof r->symbol);
        CHECK(len < sizeof r->symbol && bar_symbol_valid(r->symbol, len));
        CHECKF(r->rank >= 1, "rank %d\n", r->rank);
        CHECK(r->close >= 0 && r->peak >= 0 && r->days_since_peak >= 0 && r->volume >= 0);
        CHECK(r->peak_date <= r->date);
        if (i == 0)
            continue;
        const struct screen_row *p = &rows[i - 1];
        if (one_date)
            CHECK(r->date == p->date);
        CHECKF(p->date < r->date || (p->date == r->date && p->rank < r->rank),
               "row %zu out of order\n", i);
    }
}

static void write_csv(struct buf *out, const struct screen_row *rows, size_t n)
{
    struct screen_opts o;
    screen_opts_default(&o);
    struct screen_writer w;
    CHECK(screen_writer_begin(&w, out, SCREEN_FORMAT_CSV, &o) == ERR_OK);
    CHECK(screen_writer_rows(&w, out, rows, n) == ERR_OK);
    CHECK(screen_writer_end(&w, out) == ERR_OK);
}

/* Written rows read back (rounded to the 4 decimals written) and write again to the same
 * bytes. */
static void check_round_trip(const struct screen_row *rows, size_t n, int one_date)
{
    struct buf first = BUF_INIT((size_t)1 << 30), second = BUF_INIT((size_t)1 << 30);
    write_csv(&first, rows, n);
    struct diag d;
    struct screen_row *back;
    size_t nback;
    int err;
    struct results_screen s = {0};
    struct results_history h = {0};
    if (one_date) {
        err = results_parse_screen("round-trip", first.data, first.len, &s, &d);
        back = s.rows;
        nback = s.n;
    } else {
        err = results_parse_top("round-trip", first.data, first.len, &h, &d);
        back = h.rows;
        nback = h.n;
    }
    CHECKF(err == ERR_OK, "written rows do not parse back: %s\nwritten:\n%s", d.text, first.data);
    CHECKF(nback == n, "%zu rows read back, %zu written\n", nback, n);
    for (size_t i = 0; i < n; i++) {
        CHECK(back[i].date == rows[i].date && back[i].rank == rows[i].rank);
        CHECK(strcmp(back[i].symbol, rows[i].symbol) == 0);
        CHECK(isnan(back[i].change_pct) == isnan(rows[i].change_pct));
    }
    write_csv(&second, back, nback);
    CHECKF(second.len == first.len && memcmp(second.data, first.data, first.len) == 0,
           "written again differently:\n%s\n---\n%s", first.data, second.data);
    results_screen_release(&s);
    results_history_release(&h);
    buf_release(&first);
    buf_release(&second);
}

static void check_error(int err, const struct diag *d)
{
    CHECKF(err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG, "unexpected error %s\n",
           err_name(err));
    CHECK(fuzz_diag_ok(d));
}

static void fuzz_screen(const char *text, size_t size)
{
    struct results_screen s = {0};
    struct diag d;
    diag_clear(&d);
    int err = results_parse_screen("fuzz", text, size, &s, &d);
    check_rows(s.rows, s.n, 1); /* rows before a bad one are kept: they must be sound too */
    if (err == ERR_OK) {
        CHECK(s.n == 0 || s.date == s.rows[0].date);
        check_round_trip(s.rows, s.n, 1);
    } else {
        check_error(err, &d);
    }
    results_screen_release(&s);
}

static void fuzz_top(const char *text, size_t size)
{
    struct results_history h = {0};
    struct diag d;
    diag_clear(&d);
    int err = results_parse_top("fuzz", text, size, &h, &d);
    check_rows(h.rows, h.n, 0);
    if (err == ERR_OK)
        check_round_trip(h.rows, h.n, 0);
    else
        check_error(err, &d);
    results_history_release(&h);
}

static void fuzz_closes(const char *text, size_t size)
{
    static const char *const symbols[] = {NULL, "AAA", "BRK.B"};
    for (size_t k = 0; k < sizeof symbols / sizeof symbols[0]; k++) {
        struct results_closes c;
        struct diag d;
        diag_clear(&d);
        int err = results_parse_closes("fuzz", text, size, symbols[k], &c, &d);
        if (err == ERR_OK && symbols[k]) {
            CHECKF(c.n >= 1 && c.n <= RESULTS_CLOSES, "%zu closes\n", c.n);
            for (size_t i = 0; i < c.n; i++)
                CHECK(c.closes[i] >= 0);
        } else if (err == ERR_NOTFOUND) {
            CHECK(symbols[k] != NULL && fuzz_diag_ok(&d));
        } else if (err) {
            check_error(err, &d);
        }
    }
}

static void fuzz_run(const char *text, size_t size)
{
    struct results_run r;
    struct diag d;
    diag_clear(&d);
    int err = results_parse_run("fuzz", text, size, &r, &d);
    if (err == ERR_OK) {
        CHECK(memchr(r.error, '\0', sizeof r.error) != NULL);
        CHECK(r.finished_ms >= 0 && r.duration_ms >= 0);
        char day[DATE_STRLEN + 1];
        int32_t again;
        if (r.date) {
            date_format(r.date, day);
            CHECK(date_parse(day, DATE_STRLEN, &again) == ERR_OK && again == r.date);
        }
    } else {
        check_error(err, &d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    fuzz_screen(text, size);
    fuzz_top(text, size);
    fuzz_closes(text, size);
    fuzz_run(text, size);
    free(text);
    return 0;
}
