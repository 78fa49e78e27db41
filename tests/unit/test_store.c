/* Unit tests: the object store's local backend and the bar store on top of it.  The cases
 * every backend must pass are in tests/support/store_cases.c (test_store_s3.c runs them on
 * S3); what is particular to a directory is here. */
#include "testutil.h"

#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "store/barstore.h"
#include "store/objstore.h"
#include "store_cases.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
    assert_int_equal(mkdir(tu_path(f->dir, "store"), 0755), 0); /* made by a first write */
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

/* Something other than a file where an object is read (a FIFO, a directory) is refused at
 * once with its path: a FIFO with no writer never holds the reader. */
static void test_objstore_refuses_special_files(void **state)
{
    struct fixture *f = *state;
    struct diag d;
    assert_int_equal(mkdir(tu_path(f->dir, "store"), 0755), 0); /* made by a first write */
    assert_int_equal(mkdir(tu_path(f->dir, "store/results"), 0755), 0);
    assert_int_equal(mkfifo(tu_path(f->dir, "store/results/latest.csv"), 0644), 0);
    assert_int_equal(mkdir(tu_path(f->dir, "store/results/top_candidates.csv"), 0755), 0);
    struct buf b = BUF_INIT(1024);
    assert_int_equal(objstore_get(f->sf.os, "results/latest.csv", &b, NULL, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "results/latest.csv' is not a regular file"));
    assert_int_equal(b.len, 0);
    assert_int_equal(objstore_get(f->sf.os, "results/top_candidates.csv", &b, NULL, &d),
                     ERR_INVALID);
    assert_non_null(strstr(d.text, "not a regular file"));
    /* A file read as usual next to them. */
    assert_int_equal(objstore_put(f->sf.os, "results/x.csv", "x", 1, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(objstore_get(f->sf.os, "results/x.csv", &b, NULL, &d), ERR_OK);
    assert_int_equal(b.len, 1);
    buf_release(&b);
}

/* A listing one level at a time: its keys and its groups' listings, in order, are the whole
 * listing; what a kept listing answers is listed whole. */
/* On a directory every object of objstore_get_many_take can be taken, held ones too
 * (objstore_prefetch): fn keeps each buffer as it is, without a copy. */
struct kept_bufs {
    struct buf b[6];
    size_t taken;
};

static int keep_cb(void *ctx, size_t i, char *data, size_t len, struct buf *own, struct diag *d)
{
    struct kept_bufs *k = ctx;
    (void)d;
    if (!own || own->data != data || own->len != len)
        return ERR_OK;
    k->b[i] = *own;
    own->data = NULL, own->len = 0, own->cap = 0; /* the store starts a new one */
    k->taken++;
    return ERR_OK;
}

static void test_get_many_take_local(void **state)
{
    struct store_fixture *f = *state;
    struct diag d;
    char keys[6][32];
    const char *kp[6];
    store_put_numbered(f->os, "keep", 6, SIZE_MAX, keys, kp);
    const char *const held[] = {kp[1], kp[4]};
    objstore_prefetch(f->os, held, 2, 64);
    struct kept_bufs k = {0};
    assert_int_equal(objstore_get_many_take(f->os, kp, 6, 64, 4, keep_cb, &k, &d), ERR_OK);
    assert_int_equal(k.taken, 6);
    for (size_t i = 0; i < 6; i++) {
        char want[32];
        snprintf(want, sizeof want, "object %zu", i);
        assert_string_equal(buf_cstr(&k.b[i]), want);
        buf_release(&k.b[i]);
    }
    objstore_prefetch_drop(f->os);
}

static void test_list_groups(void **state)
{
    struct fixture *f = *state;
    struct objstore *os = f->sf.os;
    static const char *const keys[] = {"t/a-b", "t/a/c/d", "t/a/e", "t/b", "t/b0/x", "t/z", "u"};
    struct diag d = {{0}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(objstore_put(os, keys[i], "1", 1, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    struct strvec groups = STRVEC_INIT, whole = STRVEC_INIT, pieced = STRVEC_INIT;
    assert_int_equal(objstore_list_groups(os, "t/", &groups, &d), ERR_OK);
    assert_int_equal(groups.n, 5);
    assert_string_equal(groups.v[0], "t/a-b");
    assert_string_equal(groups.v[1], "t/a/");
    assert_string_equal(groups.v[2], "t/b");
    assert_string_equal(groups.v[3], "t/b0/");
    assert_string_equal(groups.v[4], "t/z");
    for (size_t i = 0; i < groups.n; i++) {
        if (groups.v[i][strlen(groups.v[i]) - 1] == '/')
            assert_int_equal(objstore_list(os, groups.v[i], &pieced, &d), ERR_OK);
        else
            assert_int_equal(strvec_push(&pieced, groups.v[i]), ERR_OK);
    }
    assert_int_equal(objstore_list(os, "t/", &whole, &d), ERR_OK);
    assert_int_equal(whole.n, pieced.n);
    for (size_t i = 0; i < whole.n; i++)
        assert_string_equal(whole.v[i], pieced.v[i]);
    strvec_release(&groups);
    assert_int_equal(objstore_list_groups(os, "", &groups, &d), ERR_OK);
    assert_int_equal(groups.n, 2);
    assert_string_equal(groups.v[0], "t/");
    assert_string_equal(groups.v[1], "u");
    strvec_release(&groups);
    assert_int_equal(objstore_list_groups(os, "none/", &groups, &d), ERR_OK);
    assert_int_equal(groups.n, 0);
    assert_int_equal(objstore_list_groups(os, "t", &groups, &d), ERR_USAGE);
    objstore_keep_listing(os, "t/");
    assert_int_equal(objstore_list_groups(os, "t/a/", &groups, &d), ERR_UNSUPPORTED);
    objstore_keep_listing(os, NULL);
    assert_int_equal(objstore_list_groups(os, "t/a/", &groups, &d), ERR_OK);
    assert_int_equal(groups.n, 2);
    strvec_release(&groups);
    /* A listing kept when listed leaves a reader to list in groups until it is listed. */
    objstore_keep_listing_when_listed(os, "t/");
    assert_int_equal(objstore_list_groups(os, "t/a/", &groups, &d), ERR_OK);
    strvec_release(&groups);
    strvec_release(&whole);
    assert_int_equal(objstore_list(os, "t/", &whole, &d), ERR_OK);
    assert_int_equal(objstore_list_groups(os, "t/a/", &groups, &d), ERR_UNSUPPORTED);
    objstore_keep_listing(os, NULL);
    strvec_release(&whole);
    strvec_release(&pieced);
}

/* ---- a scan that reads while it lists ----
 *
 * An object store that records what is asked of it, in order, from either thread; the first
 * read of `vanish` finds it gone, moved into a compacted part of its month (what a compaction
 * by another process does between a reader's listing and its read). */
struct recording {
    struct objstore base;
    struct objstore *real;
    pthread_mutex_t mu;
    struct strvec ops; /* "list <prefix>", "groups <prefix>", "get <key>" */
    char vanish[OBJ_KEY_MAX];
};

static void record(struct recording *r, const char *op, const char *what)
{
    char line[OBJ_KEY_MAX + 16];
    snprintf(line, sizeof line, "%s %s", op, what);
    pthread_mutex_lock(&r->mu);
    assert_int_equal(strvec_push(&r->ops, line), ERR_OK);
    pthread_mutex_unlock(&r->mu);
}

static int recording_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                         struct diag *d)
{
    struct recording *r = (struct recording *)os;
    record(r, "get", key);
    if (r->vanish[0] && strcmp(key, r->vanish) == 0) {
        r->vanish[0] = '\0';
        struct buf data = BUF_INIT(BARSTORE_PART_MAX);
        assert_int_equal(objstore_get(r->real, key, &data, NULL, d), ERR_OK);
        int32_t date, month;
        assert_int_equal(date_parse(key + 10, 10, &date), ERR_OK);
        int y, m, dd;
        date_to_ymd(date, &y, &m, &dd);
        month = date_from_ymd(y, m, 1);
        char moved[OBJ_KEY_MAX];
        barstore_compacted_key(month, 1u << (dd - 1), data.data, data.len, moved);
        assert_int_equal(objstore_put(r->real, moved, data.data, data.len, OBJ_PUT_CREATE, NULL, d),
                         ERR_OK);
        assert_int_equal(objstore_del(r->real, key, d), ERR_OK);
        buf_release(&data);
    }
    return objstore_get(r->real, key, out, etag, d);
}

static int recording_put(struct objstore *os, const char *key, const void *data, size_t len,
                         enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    return objstore_put(((struct recording *)os)->real, key, data, len, mode, if_match, d);
}

static int recording_list(struct objstore *os, const char *prefix, struct strvec *keys,
                          struct diag *d)
{
    record((struct recording *)os, "list", prefix);
    return objstore_list(((struct recording *)os)->real, prefix, keys, d);
}

static int recording_groups(struct objstore *os, const char *prefix, struct strvec *out,
                            struct diag *d)
{
    record((struct recording *)os, "groups", prefix);
    return objstore_list_groups(((struct recording *)os)->real, prefix, out, d);
}

static void recording_free(struct objstore *os)
{
    (void)os; /* on the test's stack */
}

static const struct objstore_ops recording_ops = {.scheme = "file",
                                                  .get = recording_get,
                                                  .put = recording_put,
                                                  .list = recording_list,
                                                  .list_groups = recording_groups,
                                                  .free = recording_free};

static int days_text(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct buf *t = ctx;
    for (size_t i = 0; i < n; i++)
        buf_printf(t, "%d %s %lld %lld\n", (int)date, bars[i].symbol, (long long)bars[i].close,
                   (long long)bars[i].volume);
    return ERR_OK;
}

/* The place in the record of the first op `what` (SIZE_MAX: none), and how many there are. */
static size_t first_op(const struct strvec *ops, const char *what, size_t *n)
{
    size_t at = SIZE_MAX, count = 0;
    for (size_t i = 0; i < ops->n; i++)
        if (strcmp(ops->v[i], what) == 0 && count++ == 0)
            at = i;
    if (n)
        *n = count;
    return at;
}

/* Five years on a directory: the scan read ahead reads the first year's parts before it lists
 * the last year, and hands on what a scan on one thread does, also when a part it listed is
 * gone when it reads it (compacted meanwhile: it lists that year again). */
static void test_scan_ahead_reads_while_listing(void **state)
{
    struct fixture *f = *state;
    struct barvec in;
    barvec_init(&in);
    for (int y = 2019; y <= 2023; y++)
        for (int32_t day = date_from_ymd(y, 3, 1); day < date_from_ymd(y, 4, 10); day++) {
            char s[11];
            date_format(day, s);
            struct bar a = tu_bar("AAA", s, 10, 11, 9, 10, 100 + day % 97);
            struct bar b = tu_bar("BBB", s, 20, 21, 19, 20, 200 + day % 89);
            barvec_push(&in, &a);
            barvec_push(&in, &b);
        }
    struct barstore_write_stats st;
    struct diag d = {{0}};
    assert_int_equal(barstore_write(f->sf.bs, in.v, in.n, NULL, &st, &d), ERR_OK);
    barvec_release(&in);
    /* What is not a bar part is ignored by both, wherever it is. */
    assert_int_equal(objstore_put(f->sf.os, "bars/notes.txt", "x", 1, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    assert_int_equal(objstore_put(f->sf.os, "bars/misc/a.csv", "x", 1, OBJ_PUT_ALWAYS, NULL, &d),
                     ERR_OK);
    struct buf one = BUF_INIT(4 << 20);
    assert_int_equal(barstore_scan(f->sf.bs, INT32_MIN, INT32_MAX, days_text, &one, &d), ERR_OK);
    assert_true(one.len > 0);

    for (int vanish = 0; vanish < 2; vanish++) {
        struct recording r = {.base = {.ops = &recording_ops}, .real = f->sf.os};
        pthread_mutex_init(&r.mu, NULL);
        strvec_init(&r.ops);
        snprintf(r.base.location, sizeof r.base.location, "%s", f->sf.os->location);
        if (vanish) {
            struct strvec keys = STRVEC_INIT;
            assert_int_equal(objstore_list(f->sf.os, "bars/2021/2021-03-15/", &keys, &d), ERR_OK);
            assert_int_equal(keys.n, 1);
            snprintf(r.vanish, sizeof r.vanish, "%s", keys.v[0]);
            strvec_release(&keys);
        }
        struct barstore *bs;
        assert_int_equal(barstore_new(&r.base, &bs, &d), ERR_OK);
        struct buf two = BUF_INIT(4 << 20);
        int err = barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, days_text, &two, &d);
        if (err)
            fail_msg("scan ahead: %s", d.text);
        assert_int_equal(one.len, two.len);
        assert_memory_equal(one.data, two.data, one.len);
        /* No listing of the whole: each year's own, the last one's after the first part read. */
        assert_int_equal(first_op(&r.ops, "list bars/", NULL), SIZE_MAX);
        assert_int_equal(first_op(&r.ops, "list ", NULL), SIZE_MAX);
        size_t first_get = SIZE_MAX, last_list = first_op(&r.ops, "list bars/2023/", NULL);
        for (size_t i = 0; i < r.ops.n && first_get == SIZE_MAX; i++)
            if (strncmp(r.ops.v[i], "get bars/2019/", 14) == 0)
                first_get = i;
        assert_true(first_get != SIZE_MAX && last_list != SIZE_MAX);
        if (first_get > last_list) {
            for (size_t i = 0; i < r.ops.n && i < 12; i++)
                print_message("  %s\n", r.ops.v[i]);
            fail_msg("the first part was read after the last year was listed");
        }
        if (vanish) { /* the part's year listed again, the others once */
            assert_true(r.vanish[0] == '\0');
            size_t n2021, n2022;
            first_op(&r.ops, "list bars/2021/", &n2021);
            first_op(&r.ops, "list bars/2022/", &n2022);
            assert_int_equal(n2021, 2);
            assert_int_equal(n2022, 1);
        }
        buf_release(&two);
        barstore_free(bs);
        strvec_release(&r.ops);
        pthread_mutex_destroy(&r.mu);
    }
    buf_release(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_objstore_ignores_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objstore_refuses_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objstore_refuses_special_files, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_put_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_get_many_take, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_big_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_many_take_local, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_list_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_ahead_reads_while_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_split_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_create, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_if_match, setup, teardown),
        cmocka_unit_test_setup_teardown(store_case_concurrent_barstore, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
