/* fuzz_universe.c - the universe parser (collect/universe.h) on arbitrary bytes.
 *
 * Whatever the input, a universe that parses must be what the collector can use as it is:
 * valid tickers, sorted, no two alike; its problems in line order and counted right; and its
 * stored form must read back as the same symbols with nothing to report.  Each input runs
 * three times: without a resolver, with one that knows some symbols (so that share-class
 * mapping and unresolved tickers are reached), and with small caps.
 */
#include "collect/universe.h"
#include "base/buf.h"
#include "codec/bar.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Knows every symbol with a dot and every one whose characters sum to an even number: both
 * forms of a share class occur, in every combination, depending on the letters. */
static int known_some(void *ctx, const char *symbol)
{
    unsigned sum = 0;
    for (const char *p = symbol; *p; p++)
        sum += (unsigned char)*p;
    (void)ctx;
    return strchr(symbol, '.') != NULL || sum % 2 == 0;
}

static void check_universe(const struct universe *u, const struct universe_opts *opts)
{
    size_t max_problems = opts->max_problems ? opts->max_problems : UNIVERSE_PROBLEMS_MAX;
    size_t max_symbols = opts->max_symbols ? opts->max_symbols : UNIVERSE_SYMBOLS_MAX;
    CHECK(u->n >= 1 && u->n <= max_symbols);
    size_t mapped = 0, unresolved = 0;
    for (size_t i = 0; i < u->n; i++) {
        const struct universe_entry *e = &u->v[i];
        size_t n = strnlen(e->symbol, sizeof e->symbol);
        CHECKF(n < sizeof e->symbol && bar_symbol_valid(e->symbol, n), "bad symbol at %zu\n", i);
        n = strnlen(e->ticker, sizeof e->ticker);
        CHECK(n < sizeof e->ticker && bar_symbol_valid(e->ticker, n));
        CHECKF(i == 0 || strcmp(u->v[i - 1].symbol, e->symbol) < 0, "not sorted/unique: %s, %s\n",
               u->v[i - 1].symbol, e->symbol);
        CHECK(e->line >= 1);
        CHECK(universe_find(u, e->symbol) == e);
        mapped += strcmp(e->symbol, e->ticker) != 0;
        unresolved += e->unresolved != 0;
        if (u->format == UNIVERSE_LIST) {
            CHECK(strcmp(e->symbol, e->ticker) == 0);
            CHECK(!e->name && !e->sector && e->weight == UNIVERSE_NONE);
        }
        if (opts->known)
            CHECKF((e->unresolved == 0) == (known_some(NULL, e->symbol) != 0),
                   "%s resolved wrongly\n", e->symbol);
        else
            CHECK(!e->unresolved);
        if (e->name)
            CHECK(e->name[0] != '\0');
        if (e->sector)
            CHECK(e->sector[0] != '\0');
    }
    CHECK(mapped == u->mapped);
    CHECK(unresolved == u->unresolved);
    CHECK(u->nproblems <= max_problems);
    CHECKF(u->nproblems + u->problems_dropped == u->invalid + u->duplicates + u->unresolved,
           "%zu + %zu problems, counted %zu %zu %zu\n", u->nproblems, u->problems_dropped,
           u->invalid, u->duplicates, u->unresolved);
    CHECK(u->problems_dropped == 0 || u->nproblems == max_problems);
    for (size_t i = 0; i < u->nproblems; i++) {
        const struct universe_problem *p = &u->problems[i];
        CHECK(p->line >= 1);
        CHECK(i == 0 || u->problems[i - 1].line <= p->line);
        CHECK(memchr(p->text, '\0', sizeof p->text) != NULL && p->text[0] != '\0');
        CHECK(strcmp(universe_problem_kind_name(p->kind), "unknown") != 0);
    }
    CHECK(memchr(u->source, '\0', sizeof u->source) != NULL);
    CHECK(memchr(u->as_of, '\0', sizeof u->as_of) != NULL);
}

/* The stored form reads back as the same symbols, with no problems, and formats the same. */
static void check_round_trip(const struct universe *u)
{
    struct buf out = BUF_INIT((size_t)1 << 30);
    CHECK(universe_format_list(u, &out) == ERR_OK);
    CHECK(memchr(out.data, '\0', out.len) == NULL);
    struct universe back;
    struct diag d;
    int err = universe_parse(out.data, out.len, u->source, NULL, &back, &d);
    CHECKF(err == ERR_OK, "the list form does not parse back: %s\n%s", d.text, out.data);
    CHECK(back.format == UNIVERSE_LIST);
    CHECKF(back.n == u->n, "%zu symbols read back, %zu written\n", back.n, u->n);
    for (size_t i = 0; i < u->n; i++)
        CHECK(strcmp(back.v[i].symbol, u->v[i].symbol) == 0);
    CHECK(back.nproblems == 0 && back.problems_dropped == 0);

    struct buf again = BUF_INIT((size_t)1 << 30);
    CHECK(universe_format_list(&back, &again) == ERR_OK);
    /* Only the comment line may differ (the holdings date is not in a plain list). */
    const char *body = memchr(out.data, '\n', out.len);
    const char *body2 = memchr(again.data, '\n', again.len);
    CHECK(body && body2);
    CHECK(out.len - (size_t)(body - out.data) == again.len - (size_t)(body2 - again.data));
    CHECK(memcmp(body, body2, out.len - (size_t)(body - out.data)) == 0);
    buf_release(&again);
    universe_release(&back);
    buf_release(&out);
}

static void run(const char *text, size_t size, const struct universe_opts *opts)
{
    struct universe u;
    struct diag d;
    diag_clear(&d);
    int err = universe_parse(text, size, "fuzz", opts, &u, &d);
    if (err == ERR_OK) {
        check_universe(&u, opts);
        check_round_trip(&u);
    } else {
        CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        CHECK(u.n == 0 && u.v == NULL && u.problems == NULL && u.nproblems == 0);
    }
    universe_release(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    const char *before = (const char *)data;
    struct universe_opts plain = {0};
    struct universe_opts resolver = {.known = known_some};
    struct universe_opts small = {.known = known_some, .max_problems = 2, .max_symbols = 5};
    run(text, size, &plain);
    run(text, size, &resolver);
    run(text, size, &small);
    /* The input is borrowed: it must come back untouched. */
    CHECK(size == 0 || memcmp(text, before, size) == 0);
    free(text);
    return 0;
}
