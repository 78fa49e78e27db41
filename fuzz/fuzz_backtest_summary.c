/* fuzz_backtest_summary.c - the reader of results/backtest/summary.json
 * (backtest/backtest_results.h) on arbitrary bytes.
 *
 * The bot draws /backtest from what this reader accepts, so an accepted summary must hold
 * what the header promises (dates in order, a curve of 1 to BACKTEST_CURVE_POINTS ascending
 * points inside the period, finite numbers where a number is required), and what the writer
 * makes of it must read back and write again to the same bytes.  Anything refused is refused
 * with a diagnostic, never a crash.
 */
#include "backtest/backtest_results.h"
#include "base/buf.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct backtest_stored s;
    struct diag d;
    diag_clear(&d);
    int err = backtest_stored_parse("fuzz", text, size, &s, &d);
    if (err == ERR_OK) {
        CHECK(s.sum.start <= s.sum.end);
        CHECKF(s.ncurve >= 1 && s.ncurve <= BACKTEST_CURVE_POINTS, "%zu points\n", s.ncurve);
        for (size_t i = 0; i < s.ncurve; i++) {
            CHECK(s.curve_date[i] >= s.sum.start && s.curve_date[i] <= s.sum.end);
            CHECK(i == 0 || s.curve_date[i] > s.curve_date[i - 1]);
            CHECK(isfinite(s.curve_equity[i]) && isfinite(s.curve_benchmark[i]));
        }
        CHECK(isfinite(s.sum.total_return_pct) && isfinite(s.sum.final_equity));
        CHECK(s.opts.top >= 1 && s.opts.every >= 1 && s.opts.signal_top >= 1);
        struct buf a = BUF_INIT((size_t)1 << 20), b = BUF_INIT((size_t)1 << 20);
        CHECK(backtest_stored_json(&a, &s) == ERR_OK);
        struct backtest_stored back;
        CHECKF(backtest_stored_parse("again", a.data, a.len, &back, &d) == ERR_OK,
               "written summary does not parse back: %s\n%s", d.text, a.data);
        CHECK(backtest_stored_json(&b, &back) == ERR_OK);
        CHECKF(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
               "written again differently:\n%s\n---\n%s", a.data, b.data);
        buf_release(&a);
        buf_release(&b);
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_INVALID || err == ERR_TOOBIG, "unexpected error %s\n",
               err_name(err));
        CHECK(fuzz_diag_ok(&d));
    }
    free(text);
    return 0;
}
