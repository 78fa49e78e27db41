/* Unit tests: the object store's local backend and the bar store on top of it.  The cases
 * every backend must pass are in tests/support/store_cases.c (test_store_s3.c runs them on
 * S3); what is particular to a directory is here. */
#include "testutil.h"

#include "base/log.h"
#include "codec/barcsv.h"
#include "store/barstore.h"
#include "store/objstore.h"
#include "store_cases.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void backdate(const char *path, int seconds)
{
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Temporary files of writers that died are removed by the next put into their directory; a
 * live writer's (locked) and a brand-new one are not. */
static void test_stale_temp_files_removed(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    assert_int_equal(objstore_put(f->sf.os, "k/a", "1", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    char dead[PATH_MAX], live[PATH_MAX], fresh[PATH_MAX], empty[PATH_MAX];
    snprintf(dead, sizeof dead, "%s", tu_path(f->dir, "store/k/.tmp.b.99999.1"));
    snprintf(live, sizeof live, "%s", tu_path(f->dir, "store/k/.tmp.c.99999.2"));
    snprintf(fresh, sizeof fresh, "%s", tu_path(f->dir, "store/k/.tmp.d.99999.3"));
    snprintf(empty, sizeof empty, "%s", tu_path(f->dir, "store/k/.tmp.e.99999.4"));
    tu_write_file(dead, "partial", 7);
    tu_write_file(live, "being written", 13);
    tu_write_file(fresh, "", 0);
    tu_write_file(empty, "", 0);
    backdate(dead, 3600);
    backdate(live, 3600);
    backdate(empty, 120);
    /* A writer holding its file (a separate open file description, as another process has). */
    int fd = open(live, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    /* A new store, as the next writer process would open. */
    struct objstore *os;
    assert_int_equal(objstore_open(f->sf.location, &os, &d), ERR_OK);
    assert_int_equal(objstore_put(os, "k/z", "2", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(empty, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(fresh, F_OK), 0);
    /* The writer dies: its lock goes, and the next writer process removes its file. */
    close(fd);
    objstore_free(os);
    assert_int_equal(objstore_open(f->sf.location, &os, &d), ERR_OK);
    assert_int_equal(objstore_put(os, "k/y", "3", 1, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    assert_int_equal(access(live, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    objstore_free(os);
}

/* ---- a racing writer, made deterministic ----
 *
 * An object store that, just before the first bar part is put, puts another part for the same
 * day: what a second writer does when it reads the day at the same time and writes first. */
struct racing {
    struct objstore base;
    struct objstore *real;
    const char *inject; /* the other writer's part content */
    int done;
};

static int racing_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                      struct diag *d)
{
    return objstore_get(((struct racing *)os)->real, key, out, etag, d);
}

static int racing_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct racing *)os)->real, prefix, keys, d);
}

static int racing_put(struct objstore *os, const char *key, const void *data, size_t len,
                      enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct racing *r = (struct racing *)os;
    if (!r->done && strncmp(key, "bars/", 5) == 0) {
        r->done = 1;
        char name[32], other[OBJ_KEY_MAX];
        barstore_part_name(r->inject, strlen(r->inject), name);
        snprintf(other, sizeof other, "%.*s%s", (int)(strrchr(key, '/') + 1 - key), key, name);
        assert_int_equal(
            objstore_put(r->real, other, r->inject, strlen(r->inject), OBJ_PUT_CREATE, NULL, d),
            ERR_OK);
    }
    return objstore_put(r->real, key, data, len, mode, if_match, d);
}

static void racing_free(struct objstore *os)
{
    (void)os; /* on the test's stack */
}

static const struct objstore_ops racing_ops = {.scheme = "file",
                                               .get = racing_get,
                                               .put = racing_put,
                                               .list = racing_list,
                                               .free = racing_free};

/* The part a writer makes of these bars. */
static void part_of(const struct bar *b, size_t n, struct buf *csv, char name[32])
{
    buf_reset(csv);
    assert_int_equal(barcsv_write_header(csv), ERR_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(barcsv_write_row(csv, &b[i]), ERR_OK);
    barstore_part_name(csv->data, csv->len, name);
}

/* kept: the writer keeps its listing of the bar parts (as the daily run does), listed before
 * the other writer's part came: the check after writing still sees that part. */
static void race_once(struct fixture *f, int we_win, int kept)
{
    struct bar mine[2] = {tu_bar("AAA", "2024-04-02", 10, 11, 9, 10, 100),
                          tu_bar("BBB", "2024-04-02", 10, 11, 9, 10, 100)};
    struct buf csv = BUF_INIT(4096);
    char name_mine[32], name_theirs[32];
    part_of(mine, 2, &csv, name_mine);
    /* The other writer has a different BBB: pick one whose part sorts where the case needs. */
    struct bar theirs = mine[1];
    theirs.close = 10500000;
    for (theirs.volume = 1;; theirs.volume++) {
        part_of(&theirs, 1, &csv, name_theirs);
        if ((strcmp(name_theirs, name_mine) > 0) == we_win)
            break;
    }
    char *inject = strdup(buf_cstr(&csv));
    struct racing r = {.base = {.ops = &racing_ops}, .real = f->sf.os, .inject = inject};
    snprintf(r.base.location, sizeof r.base.location, "%s", f->sf.os->location);
    struct barstore *bs;
    struct diag d;
    assert_int_equal(barstore_new(&r.base, &bs, &d), ERR_OK);
    if (kept) {
        objstore_keep_listing(&r.base, "bars/");
        struct strvec keys;
        strvec_init(&keys);
        assert_int_equal(objstore_list(&r.base, "bars/", &keys, &d), ERR_OK);
        strvec_release(&keys);
    }
    struct barstore_write_stats st;
    int err = barstore_write(bs, mine, 2, NULL, &st, &d);
    assert_true(r.done);
    if (we_win) {
        assert_int_equal(err, ERR_OK);
        assert_int_equal(st.rows_new, 2);
        assert_int_equal(st.rows_disputed, 1);
        assert_int_equal(st.rows_conflict, 0);
    } else {
        assert_int_equal(err, ERR_CONFLICT);
        assert_non_null(strstr(d.text, "BBB 2024-04-02 was written at the same time"));
        assert_non_null(strstr(d.text, name_mine));
        assert_int_equal(st.rows_new, 1);
        assert_int_equal(st.rows_conflict, 1);
    }
    /* Every reader sees the winner's value. */
    struct bar_index idx;
    assert_int_equal(barstore_index(f->sf.bs, INT32_MIN, INT32_MAX, &idx, &d), ERR_OK);
    assert_int_equal(idx.ndays, 1);
    assert_int_equal(idx.days[0].nparts, 2);
    struct barvec v;
    barvec_init(&v);
    assert_int_equal(barstore_read_day(f->sf.bs, &idx, 0, &v, &d), ERR_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.v[1].volume, we_win ? 100 : theirs.volume);
    barvec_release(&v);
    bar_index_release(&idx);
    barstore_free(bs);
    objstore_free(&r.base);
    free(inject);
    buf_release(&csv);
}

static void test_racing_writer_loses(void **state)
{
    race_once(*state, 0, 0);
    struct fixture *f = *state;
    store_fixture_close(&f->sf);
    store_fixture_open(&f->sf, tu_path(f->dir, "kept"));
    race_once(*state, 0, 1);
}

static void test_racing_writer_wins(void **state)
{
    race_once(*state, 1, 0);
    struct fixture *f = *state;
    store_fixture_close(&f->sf);
    store_fixture_open(&f->sf, tu_path(f->dir, "kept"));
    race_once(*state, 1, 1);
}

/* A link placed in the store (by anyone who can write there) must not let a key read or write
 * outside it: /download would reveal the path, /subscribe would write there. */
static void test_objstore_refuses_symlinks(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    char *outside = strdup(tu_path(f->dir, "outside"));
    assert_int_equal(mkdir(outside, 0755), 0);
    tu_write_file(tu_path(f->dir, "outside/secret.csv"), "secret", 6);
    /* A directory of the key's path is a link. */
    assert_int_equal(symlink(outside, tu_path(f->dir, "store/bot")), 0);
    assert_int_equal(
        objstore_put(f->sf.os, "bot/subscribers.json", "[]", 2, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_INVALID);
    assert_non_null(strstr(d.text, "symbolic link"));
    assert_int_equal(access(tu_path(f->dir, "outside/subscribers.json"), F_OK), -1);
    struct buf b = BUF_INIT(1024);
    assert_int_equal(objstore_get(f->sf.os, "bot/secret.csv", &b, NULL, &d), ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(objstore_link(f->sf.os, "bot/secret.csv", 3600, &b, &d), ERR_INVALID);
    assert_int_equal(b.len, 0);
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->sf.os, "bot/", &keys, &d), ERR_INVALID);
    assert_int_equal(objstore_list(f->sf.os, "", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 0);
    /* The object itself is a link. */
    assert_int_equal(mkdir(tu_path(f->dir, "store/results"), 0755), 0);
    assert_int_equal(
        symlink(tu_path(f->dir, "outside/secret.csv"), tu_path(f->dir, "store/results/latest.csv")),
        0);
    assert_int_equal(objstore_get(f->sf.os, "results/latest.csv", &b, NULL, &d), ERR_INVALID);
    assert_int_equal(objstore_link(f->sf.os, "results/latest.csv", 3600, &b, &d), ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(objstore_list(f->sf.os, "results/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 0);
    /* Replacing it replaces the link, not the file it points to. */
    assert_int_equal(
        objstore_put(f->sf.os, "results/latest.csv", "new", 3, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_INVALID);
    char *got = tu_read_file(tu_path(f->dir, "outside/secret.csv"), NULL);
    assert_string_equal(got, "secret");
    free(got);
    /* The store's own directory may be a link (the operator's choice): reads go through it. */
    assert_int_equal(objstore_put(f->sf.os, "a/b.csv", "ab", 2, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    assert_int_equal(symlink(tu_path(f->dir, "store"), tu_path(f->dir, "linked")), 0);
    struct objstore *linked;
    assert_int_equal(objstore_open(tu_path(f->dir, "linked"), &linked, &d), ERR_OK);
    buf_reset(&b);
    assert_int_equal(objstore_get(linked, "a/b.csv", &b, NULL, &d), ERR_OK);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "ab", 2);
    buf_reset(&b);
    assert_int_equal(objstore_get(linked, "bot/secret.csv", &b, NULL, &d), ERR_INVALID);
    assert_int_equal(objstore_get(linked, "a/none.csv", &b, NULL, &d), ERR_NOTFOUND);
    objstore_free(linked);
    buf_release(&b);
    strvec_release(&keys);
    free(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_objstore_ignores_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objstore_refuses_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_put_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temp_files_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_writer_loses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_writer_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_reader_validates, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_scan_many_days, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_disagreeing_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_revisions, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_final_revised, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_damaged_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_barstore_scan_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_split_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_create, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_if_match, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_barstore, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
