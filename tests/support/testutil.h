/* testutil.h - small helpers shared by the unit tests. */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h> /* cmocka needs these first */
#include <cmocka.h>

#include "codec/bar.h"

/* A fresh empty directory under $TMPDIR (or /tmp); remove it with tu_rmrf. */
char *tu_mkdtemp(void);
void tu_rmrf(const char *path);
void tu_write_file(const char *path, const char *data, size_t len);
char *tu_read_file(const char *path, size_t *len);
/* "dir/rel" into a static rotating buffer. */
const char *tu_path(const char *dir, const char *rel);

/* t, or the Monday after when t is a Saturday or a Sunday (days since the epoch). */
int32_t tu_weekday_from(int32_t t);

/* A valid bar; prices in dollars. */
struct bar tu_bar(const char *symbol, const char *date, double open, double high, double low,
                  double close, int64_t volume);

/* Seeded PRNG for property tests; the seed comes from $TEST_SEED or the clock and is printed
 * so a failure can be replayed. */
uint64_t tu_seed(const char *test);
uint64_t tu_rand(uint64_t *state);
double tu_uniform(uint64_t *state);

/* A small world for tests of the collection and the daily job: the Alpaca simulator serving on
 * 127.0.0.1, an HTTP client, and a bar store in a fresh local directory.  The symbols are the
 * simulator's (borrowed from it, valid until tu_world_stop). */
#define TU_WORLD_SYMBOLS 32
struct alpaca_sim;
struct alpaca_sim_opts;
struct http_client;
struct objstore;
struct barstore;
struct tu_world {
    struct alpaca_sim *sim;
    char url[64]; /* the simulator's, "http://127.0.0.1:PORT" */
    const char *symbols[TU_WORLD_SYMBOLS];
    size_t n;
    struct http_client *http;
    char *dir;
    struct objstore *os;
    struct barstore *bs;
};

/* Starts the simulator with so (at most TU_WORLD_SYMBOLS symbols) and opens the rest; fails
 * the test on any error. */
void tu_world_start(struct tu_world *w, const struct alpaca_sim_opts *so);
/* Empties the store's directory and opens the store again: a world that never collected. */
void tu_world_renew_store(struct tu_world *w);
void tu_world_stop(struct tu_world *w);

#endif
