/* market.h - a deterministic synthetic US equity market, for the demo, the benchmarks and the
 * tests: realistic daily bars (random walks with drift, volatility clusters, volume), a few
 * crashes and slides, and stock splits recorded as raw prices plus split facts, exactly as the
 * collector stores real data.  The same options give the same market, byte for byte.
 */
#ifndef SIM_MARKET_H
#define SIM_MARKET_H

#include <stddef.h>
#include <stdint.h>

#include "codec/bar.h"
#include "codec/split.h"

struct market_opts {
    uint64_t seed;
    size_t nsymbols;
    int32_t first_day, last_day; /* inclusive; non-trading days are skipped */
    /* Every nth symbol has a split somewhere in the range (0 = none).  Symbol 0 always has a
     * 2-for-1 split 60 trading days before the end, so every market shows one. */
    size_t split_every;
    /* Every nth symbol crashes during the last 120 trading days (0 = none). */
    size_t crash_every;
};

void market_opts_default(struct market_opts *o);

/* No raw price of the market is above this (millionths of a dollar: $400,000 a share), over
 * any range: a long walk that drifts up is pulled back long before. */
#define MARKET_PRICE_MAX ((int64_t)400000 * 1000000)

struct market;

int market_new(const struct market_opts *o, struct market **out, struct diag *d);
void market_free(struct market *m);

size_t market_nsymbols(const struct market *m);
const char *market_symbol(const struct market *m, size_t i);

/* The split facts of the whole range, sorted by symbol and ex_date. */
const struct split *market_splits(const struct market *m, size_t *n);

/* The next trading day's bars (sorted by symbol, raw prices) into out, replacing its
 * content.  ERR_EOF after last_day. */
int market_next_day(struct market *m, int32_t *date, struct barvec *out);

#endif
