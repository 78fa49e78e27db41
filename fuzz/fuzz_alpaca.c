/* fuzz_alpaca.c - the Alpaca bars-page and corporate-actions parsers (collect/alpaca.h) on
 * arbitrary bytes.
 *
 * Whatever a page holds, a bar the parser lets through must be one the store accepts: a valid
 * symbol, prices that pass bar_validate, a real date.  The page token is NUL-terminated and
 * within its cap, and every split has positive rates.
 */
#include "collect/alpaca.h"
#include "base/date.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_problem(void *ctx, const char *symbol, const char *what)
{
    size_t *n = ctx;
    CHECK(symbol != NULL && what != NULL && *what);
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct alpaca_page p;
    alpaca_page_init(&p);
    size_t problems = 0;
    struct diag d = {{0}};
    int err = alpaca_parse_bars(text, size, &p, count_problem, &problems, &d);
    if (err) {
        CHECK(d.text[0] != '\0');
    } else {
        CHECK(strnlen(p.next_token, sizeof p.next_token) < sizeof p.next_token);
        CHECK(p.bad == 0 || problems > 0);
        for (size_t i = 0; i < p.bars.n; i++) {
            const struct bar *b = &p.bars.v[i];
            struct diag why;
            CHECK(bar_symbol_valid(b->symbol, strlen(b->symbol)));
            CHECKF(bar_validate(b, &why) == ERR_OK, "%s\n", why.text);
            char day[DATE_STRLEN + 1];
            int32_t again;
            date_format(b->date, day);
            CHECK(date_parse(day, DATE_STRLEN, &again) == ERR_OK && again == b->date);
        }
    }
    alpaca_page_release(&p);

    struct splitvec sv;
    struct symchangevec cv;
    splitvec_init(&sv);
    symchangevec_init(&cv);
    char next[ALPACA_TOKEN_MAX];
    err = alpaca_parse_actions(text, size, &sv, &cv, next, count_problem, &problems, &d);
    if (!err) {
        CHECK(strnlen(next, sizeof next) < sizeof next);
        /* Every factor taken is within the sane range, every symbol change a real one. */
        for (size_t i = 0; i < sv.n; i++)
            CHECK(sv.v[i].new_rate > 0 && sv.v[i].old_rate > 0 && split_factor_ok(&sv.v[i]) &&
                  bar_symbol_valid(sv.v[i].symbol, strlen(sv.v[i].symbol)));
        for (size_t i = 0; i < cv.n; i++)
            CHECK(symchange_valid(&cv.v[i]));
    }
    symchangevec_release(&cv);
    splitvec_release(&sv);
    free(text);
    return 0;
}
