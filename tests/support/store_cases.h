/* store_cases.h - the object store and bar store tests that hold for every backend.
 *
 * A test file for a backend gives each case a struct store_fixture (as the first member of its
 * own fixture, or alone) with a fresh, empty store open at `location`, and runs the cases:
 *
 *     cmocka_unit_test_setup_teardown(store_case_put_get_list, setup, teardown),
 *
 * The cases use nothing but objstore.h and barstore.h, plus objstore_open(location) to start
 * a second, independent writer on the same store (in a child process, as two collector runs
 * would be).
 */
#ifndef TESTS_STORE_CASES_H
#define TESTS_STORE_CASES_H

#include "store/barstore.h"
#include "store/objstore.h"

struct store_fixture {
    char location[OBJ_LOCATION_MAX];
    struct objstore *os;
    struct barstore *bs;
};

/* Open os and bs at location (asserting success). */
void store_fixture_open(struct store_fixture *f, const char *location);
void store_fixture_close(struct store_fixture *f);

/* Keys "<prefix>/kNN" for i < n in keys and kp, and "object <i>" stored at each (asserting
 * success), but for the one numbered `absent` (SIZE_MAX: none). */
void store_put_numbered(struct objstore *os, const char *prefix, size_t n, size_t absent,
                        char (*keys)[32], const char **kp);

void store_case_put_get_list(void **state);
/* An object of 40 MiB written and read back whole. */
void store_case_big_object(void **state);
/* objstore_get_many_take: every object handed on whole, and kept when fn takes its buffer. */
void store_case_get_many_take(void **state);
void store_case_barstore_write_read(void **state);
void store_case_barstore_conflicts(void **state);
void store_case_barstore_reader_validates(void **state);
void store_case_barstore_scan_many_days(void **state);
/* Two parts of a day that disagree: the part first in name order wins for every reader. */
void store_case_barstore_disagreeing_parts(void **state);
void store_case_barstore_revisions(void **state);
void store_case_barstore_final_revised(void **state);
/* Truncated, edited and misnamed parts: named and refused, or skipped when asked; verify. */
void store_case_barstore_damaged_parts(void **state);
void store_case_barstore_scan_ahead(void **state);
void store_case_splits(void **state);
/* Extreme or chained split factors refused; split parts that disagree resolve by name. */
void store_case_split_bounds(void **state);
/* Two writers (processes) creating the same keys at once: exactly one wins each key. */
void store_case_concurrent_create(void **state);
/* Two writers incrementing one counter with conditional replaces: no update is lost. */
void store_case_concurrent_if_match(void **state);
/* Two writers storing overlapping bars at once: every bar is stored, nothing conflicts. */
void store_case_concurrent_barstore(void **state);

#endif
