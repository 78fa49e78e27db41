/* Unit tests: the object store's local backend and the bar store on top of it.  The cases
 * every backend must pass are in tests/support/store_cases.c (test_store_s3.c runs them on
 * S3); what is particular to a directory is here. */
#include "testutil.h"

#include "base/log.h"
#include "store/barstore.h"
#include "store/objstore.h"
#include "store_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shared cases see only the first member. */
struct fixture {
    struct store_fixture sf;
    char *dir;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    store_fixture_open(&f->sf, tu_path(f->dir, "store"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_fixture_close(&f->sf);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_keys(void **state)
{
    (void)state;
    assert_true(objstore_key_valid("bars/2024/2024-01-02/part-1.csv"));
    assert_true(objstore_key_valid("a"));
    assert_false(objstore_key_valid(""));
    assert_false(objstore_key_valid("/abs"));
    assert_false(objstore_key_valid("a//b"));
    assert_false(objstore_key_valid("a/../b"));
    assert_false(objstore_key_valid("a/.tmp.x"));
    assert_false(objstore_key_valid("dir/"));
    assert_false(objstore_key_valid("a b"));
}

static void test_objstore_ignores_temp_files(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->sf.os, "k/a", "1", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    /* What a crash between write and rename leaves behind. */
    tu_write_file(tu_path(f->dir, "store/k/.tmp.a.123.1"), "partial", 7);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->sf.os, "k/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    strvec_release(&keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_objstore_ignores_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_put_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_reader_validates, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_scan_many_days, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_create, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_if_match, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_barstore, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
