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

/* A valid bar; prices in dollars. */
struct bar tu_bar(const char *symbol, const char *date, double open, double high, double low,
                  double close, int64_t volume);

/* Seeded PRNG for property tests; the seed comes from $TEST_SEED or the clock and is printed
 * so a failure can be replayed. */
uint64_t tu_seed(const char *test);
uint64_t tu_rand(uint64_t *state);
double tu_uniform(uint64_t *state);

#endif
