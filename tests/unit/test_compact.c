/* Unit tests: compaction of closed months (store/compact.h).  The store must read the same
 * before, after, and at every instant in between: a compactor stopped after each of its
 * writes, a late writer and a second compactor in the middle of it. */
#include "testutil.h"

#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "store/barstore.h"
#include "store/compact.h"
#include "store/objstore.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char location[OBJ_LOCATION_MAX];
    struct objstore *os;
    struct barstore *bs;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    snprintf(f->location, sizeof f->location, "%s", tu_path(f->dir, "store"));
    struct diag d;
    assert_int_equal(objstore_open(f->location, &f->os, &d), ERR_OK);
    assert_int_equal(barstore_new(f->os, &f->bs, &d), ERR_OK);
    *state = f;
    return 0;
}

/* A copy of the fixture's store in a new directory (as its "store"), for a test that changes a
 * store of its own; the caller removes the directory. */
static char *copy_store(const struct fixture *f)
{
    char *dir = tu_mkdtemp();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s/store'", f->location, dir);
    assert_int_equal(system(cmd), 0);
    return dir;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    barstore_free(f->bs);
    objstore_free(f->os);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- an object store that stops writing after a number of writes ---- */

struct faulty {
    struct objstore base;
    struct objstore *inner;
    long writes_left; /* puts and deletes still allowed (-1: no limit) */
    size_t writes;
    /* Called before the n-th write (1-based) goes through, once. */
    void (*before)(void *ctx, size_t n, const char *key);
    void *ctx;
};

static int f_write_ok(struct faulty *f, const char *key, struct diag *d)
{
    if (f->writes_left == 0)
        return diag_set(d, ERR_IO, "injected failure before writing %s", key);
    if (f->writes_left > 0)
        f->writes_left--;
    f->writes++;
    if (f->before)
        f->before(f->ctx, f->writes, key);
    return ERR_OK;
}

static int f_get(struct objstore *os, const char *key, struct buf *out, char *etag, struct diag *d)
{
    return objstore_get(((struct faulty *)os)->inner, key, out, etag, d);
}

static int f_put(struct objstore *os, const char *key, const void *data, size_t len,
                 enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct faulty *f = (struct faulty *)os;
    int err = f_write_ok(f, key, d);
    return err ? err : objstore_put(f->inner, key, data, len, mode, if_match, d);
}

static int f_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct faulty *)os)->inner, prefix, keys, d);
}

static int f_del(struct objstore *os, const char *key, struct diag *d)
{
    struct faulty *f = (struct faulty *)os;
    int err = f_write_ok(f, key, d);
    return err ? err : objstore_del(f->inner, key, d);
}

static void f_free(struct objstore *os)
{
    (void)os;
}

static const struct objstore_ops faulty_ops = {
    .scheme = "faulty", .get = f_get, .put = f_put, .list = f_list, .del = f_del, .free = f_free};

static void faulty_init(struct faulty *f, struct objstore *inner, long writes)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &faulty_ops;
    snprintf(f->base.location, sizeof f->base.location, "%s", inner->location);
    f->inner = inner;
    f->writes_left = writes;
}

/* ---- a store with history ---- */

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), 0);
    return d;
}

static void write_bars(struct barstore *bs, const struct bar *v, size_t n,
                       const struct barstore_write_opts *o, int want)
{
    struct barstore_write_stats st;
    struct diag d = {{0}};
    int err = barstore_write(bs, v, n, o, &st, &d);
    if (err != want)
        fail_msg("write: %s (%d, want %d)", d.text, err, want);
}

/* The trading days of [from, to] for symbols, one write per symbol group (so that days hold
 * several parts), with a revision of a few bars and a provisional part made final. */
static void fill(struct barstore *bs, int32_t from, int32_t to)
{
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    struct barvec v;
    barvec_init(&v);
    for (int g = 0; g < 2; g++) {
        v.n = 0;
        for (int32_t t = from; t <= to; t++) {
            if (!cal_is_trading_day(t))
                continue;
            for (int s = g ? 3 : 0; s < (g ? 5 : 3); s++) {
                char ds[DATE_STRLEN + 1];
                date_format(t, ds);
                double p = 10 + s + (t % 17) * 0.25;
                struct bar b = tu_bar(syms[s], ds, p, p + 1, p - 1, p + 0.5, 1000 + t % 100);
                assert_int_equal(barvec_push(&v, &b), ERR_OK);
            }
        }
        /* The second group's first days were fetched before their settle time. */
        struct barstore_write_opts o = {0};
        if (g == 1) {
            o.revisions = 1;
            o.provisional_from = from;
            o.revise_from = from;
            /* only the first week provisional: write it alone */
            size_t k = 0;
            while (k < v.n && v.v[k].date < from + 7)
                k++;
            write_bars(bs, v.v, k, &o, ERR_OK);
            o.provisional_from = INT32_MAX;
            for (size_t i = 0; i < k; i++)
                if (i % 3 == 0)
                    v.v[i].close += 10000; /* a revised close, final */
        }
        write_bars(bs, v.v, v.n, &o, ERR_OK);
    }
    barvec_release(&v);
}

static int text_cb(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct buf *b = ctx;
    char ds[DATE_STRLEN + 1];
    date_format(date, ds);
    int err = buf_printf(b, "%s %zu\n", ds, n);
    for (size_t i = 0; !err && i < n; i++) {
        err = barcsv_write_row(b, &bars[i]);
        if (!err && bars[i].provisional)
            err = buf_puts(b, "provisional\n");
    }
    return err;
}

/* Everything a reader gets, as text. */
static char *read_all(struct objstore *os)
{
    struct barstore *bs;
    struct diag d = {{0}};
    assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
    struct buf b = BUF_INIT((size_t)64 << 20);
    int err = barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d);
    if (err)
        fail_msg("scan: %s", d.text);
    assert_int_equal(barstore_disagreements(bs), 0);
    /* The other read paths agree: one day at a time, and ahead on a second thread. */
    struct buf c = BUF_INIT((size_t)64 << 20);
    assert_int_equal(barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, text_cb, &c, &d), ERR_OK);
    assert_int_equal(b.len, c.len);
    assert_memory_equal(b.data, c.data, b.len);
    struct bar_index idx;
    assert_int_equal(barstore_index(bs, INT32_MIN, INT32_MAX, &idx, &d), ERR_OK);
    buf_reset(&c);
    struct barvec v;
    barvec_init(&v);
    for (size_t i = 0; i < idx.ndays; i++) {
        assert_int_equal(barstore_read_day(bs, &idx, i, &v, &d), ERR_OK);
        assert_int_equal(text_cb(&c, idx.days[i].date, v.v, v.n), ERR_OK);
    }
    assert_int_equal(b.len, c.len);
    assert_memory_equal(b.data, c.data, b.len);
    barvec_release(&v);
    bar_index_release(&idx);
    buf_release(&c);
    barstore_free(bs);
    char *s = strdup(b.data ? b.data : "");
    buf_release(&b);
    return s;
}

static char *list_all(struct objstore *os)
{
    struct strvec k = STRVEC_INIT;
    struct diag d;
    assert_int_equal(objstore_list(os, "bars/", &k, &d), ERR_OK);
    struct buf b = BUF_INIT(1 << 20);
    for (size_t i = 0; i < k.n; i++)
        assert_int_equal(buf_printf(&b, "%s\n", k.v[i]), ERR_OK);
    strvec_release(&k);
    char *s = strdup(b.data ? b.data : "");
    buf_release(&b);
    return s;
}

static size_t count_keys(const char *list, const char *needle)
{
    size_t n = 0;
    for (const char *p = list; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static int compact(struct objstore *os, int32_t before, struct compact_stats *st, struct diag *d)
{
    struct barstore *bs;
    assert_int_equal(barstore_new(os, &bs, d), ERR_OK);
    struct compact_opts o = {.closed_before = before};
    int err = barstore_compact(os, bs, &o, st, d);
    barstore_free(bs);
    return err;
}

static void verify_clean(struct objstore *os, size_t mixed)
{
    struct barstore *bs;
    struct diag d;
    assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
    struct barstore_verify_opts vo = {0};
    struct barstore_verify_stats vs;
    assert_int_equal(barstore_verify(bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.damaged, 0);
    assert_int_equal(vs.disagreements, 0);
    assert_int_equal(vs.other, 0);
    assert_int_equal(vs.months_mixed, mixed);
    barstore_free(bs);
}

/* Three months of history; the first two are closed. */
#define FROM   "2024-01-02"
#define TO     "2024-03-28"
#define BEFORE "2024-03-10"

static void test_compact_reads_the_same(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *before = read_all(f->os);
    char *keys0 = list_all(f->os);
    assert_true(count_keys(keys0, "rev-000000-provisional/") > 0);
    assert_true(count_keys(keys0, "/rev-000001") > 0);
    struct compact_stats st;
    struct diag d = {{0}};
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_closed, 2);
    assert_int_equal(st.months_compacted, 2);
    assert_int_equal(st.months_skipped, 0);
    assert_int_equal(st.parts_retired, st.parts_merged);
    assert_true(st.bytes_written > 0);
    char *after = read_all(f->os);
    assert_string_equal(before, after);
    char *keys = list_all(f->os);
    assert_int_equal(count_keys(keys, "/days-"), 2);
    assert_int_equal(count_keys(keys, "bars/2024/2024-01-"), 0);
    assert_int_equal(count_keys(keys, "bars/2024/2024-02-"), 0);
    assert_true(count_keys(keys, "bars/2024/2024-03-") > 0); /* the open month as it was */
    assert_int_equal(count_keys(keys, "bars/2024/2024-01/days-"), 1);
    verify_clean(f->os, 0);
    /* Nothing left to do; the same result again. */
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_closed, 0);
    char *keys2 = list_all(f->os);
    assert_string_equal(keys, keys2);
    free(before);
    free(after);
    free(keys0);
    free(keys);
    free(keys2);
}

static void test_compact_only_closed_months(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    struct compact_stats st;
    struct diag d = {{0}};
    /* The settle window ends on the last final day: 10 trading days back from 2024-02-14. */
    int64_t now = cal_ny_to_utc_ms(day("2024-02-14"), 21 * 60);
    int32_t before = compact_closed_before(now);
    assert_true(before > day("2024-01-31") && before < day("2024-02-14"));
    assert_int_equal(compact(f->os, before, &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 1);
    char *keys = list_all(f->os);
    assert_int_equal(count_keys(keys, "bars/2024/2024-01/days-"), 1);
    assert_int_equal(count_keys(keys, "bars/2024/2024-02/"), 0);
    free(keys);
    /* A provisional bar keeps its month as it is. */
    char ds[DATE_STRLEN + 1];
    date_format(day("2024-02-20"), ds);
    struct bar b = tu_bar("ZZZ", ds, 5, 6, 4, 5, 100);
    struct barstore_write_opts o = {.revisions = 1, .provisional_from = day("2024-02-01")};
    write_bars(f->bs, &b, 1, &o, ERR_OK);
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 0);
    assert_int_equal(st.months_skipped, 1);
}

/* Stopped after each of its writes in turn: the store reads the same at that instant, and a
 * rerun completes the compaction. */
static void test_compact_crash_at_every_write(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *want = read_all(f->os);
    /* The clean result, on a copy. */
    char *ref_dir = copy_store(f);
    struct objstore *ref;
    struct diag d = {{0}};
    assert_int_equal(objstore_open(tu_path(ref_dir, "store"), &ref, &d), ERR_OK);
    struct compact_stats st;
    assert_int_equal(compact(ref, day(BEFORE), &st, &d), ERR_OK);
    char *want_keys = list_all(ref);
    /* the compacted parts written and every delete */
    size_t total = st.months_compacted + st.parts_retired;
    assert_true(total > 40);
    objstore_free(ref);
    tu_rmrf(ref_dir);
    free(ref_dir);

    for (size_t k = 0; k < total; k++) {
        char *dir = copy_store(f);
        struct objstore *os;
        assert_int_equal(objstore_open(tu_path(dir, "store"), &os, &d), ERR_OK);
        struct faulty fo;
        faulty_init(&fo, os, (long)k);
        assert_int_equal(compact(&fo.base, day(BEFORE), &st, &d), ERR_IO);
        char *mid = read_all(os);
        if (strcmp(mid, want) != 0)
            fail_msg("after %zu writes the store reads otherwise", k);
        free(mid);
        assert_int_equal(compact(os, day(BEFORE), &st, &d), ERR_OK);
        char *got = read_all(os);
        assert_string_equal(got, want);
        char *keys = list_all(os);
        if (strcmp(keys, want_keys) != 0)
            fail_msg("after a stop at write %zu and a rerun:\n%s\nwant:\n%s", k, keys, want_keys);
        free(got);
        free(keys);
        verify_clean(os, 0);
        objstore_free(os);
        tu_rmrf(dir);
        free(dir);
    }
    free(want);
    free(want_keys);
}

/* A writer adds a late bar and a new symbol's backfill to days of the month while it is
 * compacted: nothing is lost, and the next compaction takes them in. */
struct late_ctx {
    struct objstore *os;
    int32_t date;
    size_t at; /* before the compactor's at-th write */
    int done;
};

static void add_late(void *ctx, size_t n, const char *key)
{
    (void)key;
    struct late_ctx *lc = ctx;
    if (n != lc->at || lc->done++)
        return;
    struct barstore *bs;
    struct diag d;
    assert_int_equal(barstore_new(lc->os, &bs, &d), ERR_OK);
    struct bar v[3];
    char ds[DATE_STRLEN + 1];
    date_format(lc->date, ds);
    v[0] = tu_bar("LATE", ds, 7, 8, 6, 7.5, 10);
    date_format(lc->date + 1, ds);
    v[1] = tu_bar("LATE", ds, 7, 8, 6, 7.25, 10);
    write_bars(bs, v, 2, NULL, ERR_OK);
    /* AAA is stored on that day with other values, compacted or not: a conflict, refused. */
    date_format(lc->date - 14, ds);
    v[2] = tu_bar("AAA", ds, 7, 8, 6, 7.5, 10);
    write_bars(bs, v + 2, 1, NULL, ERR_CONFLICT);
    barstore_free(bs);
}

static void test_compact_with_a_late_writer(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *plain = read_all(f->os);
    /* Before the compacted part is written (the month is read already), and between its
     * deletes. */
    static const size_t ats[] = {1, 2, 5};
    for (size_t i = 0; i < sizeof ats / sizeof ats[0]; i++) {
        char *dir = copy_store(f);
        struct objstore *os;
        struct diag d = {{0}};
        assert_int_equal(objstore_open(tu_path(dir, "store"), &os, &d), ERR_OK);
        struct faulty fo;
        faulty_init(&fo, os, -1);
        struct late_ctx lc = {os, day("2024-01-24"), ats[i], 0};
        fo.before = add_late;
        fo.ctx = &lc;
        struct compact_stats st;
        assert_int_equal(compact(&fo.base, day(BEFORE), &st, &d), ERR_OK);
        assert_int_equal(lc.done, 1);
        char *mid = read_all(os);
        assert_int_equal(count_keys(mid, "LATE"), 2);
        assert_int_equal(count_keys(mid, "\n"), count_keys(plain, "\n") + 2);
        verify_clean(os, 1);
        assert_int_equal(compact(os, day(BEFORE), &st, &d), ERR_OK);
        assert_int_equal(st.months_compacted, 1);
        char *after = read_all(os);
        assert_string_equal(mid, after);
        verify_clean(os, 0);
        free(mid);
        free(after);
        objstore_free(os);
        tu_rmrf(dir);
        free(dir);
    }
    free(plain);
}

/* A second compactor runs to the end while the first is between its write and its deletes:
 * two compacted parts of one month read as one, and the next compaction merges them. */
struct second_ctx {
    struct objstore *os;
    int32_t before, late;
    size_t at;
    int done;
};

static void run_second(void *ctx, size_t n, const char *key)
{
    (void)key;
    struct second_ctx *sc = ctx;
    if (n != sc->at || sc->done++)
        return;
    struct late_ctx lc = {sc->os, sc->late, 0, 0};
    add_late(&lc, 0, "");
    struct compact_stats st;
    struct diag d = {{0}};
    assert_int_equal(compact(sc->os, sc->before, &st, &d), ERR_OK);
}

static void test_compact_two_compactors(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    for (size_t at = 1; at <= 4; at++) {
        char *dir = copy_store(f);
        struct objstore *os;
        struct diag d = {{0}};
        assert_int_equal(objstore_open(tu_path(dir, "store"), &os, &d), ERR_OK);
        struct faulty fo;
        faulty_init(&fo, os, -1);
        struct second_ctx sc = {os, day(BEFORE), day("2024-01-24"), at, 0};
        fo.before = run_second;
        fo.ctx = &sc;
        struct compact_stats st;
        assert_int_equal(compact(&fo.base, day(BEFORE), &st, &d), ERR_OK);
        char *mid = read_all(os);
        assert_int_equal(count_keys(mid, "LATE"), 2);
        assert_int_equal(compact(os, day(BEFORE), &st, &d), ERR_OK);
        char *after = read_all(os);
        assert_string_equal(mid, after);
        char *keys = list_all(os);
        assert_int_equal(count_keys(keys, "bars/2024/2024-01/days-"), 1);
        assert_int_equal(count_keys(keys, "bars/2024/2024-01-"), 0);
        verify_clean(os, 0);
        free(mid);
        free(after);
        free(keys);
        objstore_free(os);
        tu_rmrf(dir);
        free(dir);
    }
}

/* A reader that listed the store before a compaction reads after it: the parts it listed
 * are gone, it lists again and gets the same bars. */
static void test_compact_under_a_reader(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *want = read_all(f->os);
    struct bar_index idx;
    struct diag d = {{0}};
    assert_int_equal(barstore_index(f->bs, INT32_MIN, INT32_MAX, &idx, &d), ERR_OK);
    struct compact_stats st;
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 2);
    struct buf b = BUF_INIT((size_t)64 << 20), c = BUF_INIT((size_t)64 << 20);
    int err = barstore_scan_index(f->bs, &idx, text_cb, &b, &d);
    if (err)
        fail_msg("scan of an old listing: %s", d.text);
    assert_string_equal(b.data, want);
    struct barvec v;
    barvec_init(&v);
    for (size_t i = 0; i < idx.ndays; i++) {
        assert_int_equal(barstore_read_day(f->bs, &idx, i, &v, &d), ERR_OK);
        assert_int_equal(text_cb(&c, idx.days[i].date, v.v, v.n), ERR_OK);
    }
    assert_string_equal(c.data, want);
    barvec_release(&v);
    buf_release(&b);
    buf_release(&c);
    bar_index_release(&idx);
    free(want);
}

/* The same with a listing kept by the reader's job (objstore_keep_listing) and a compaction by
 * another process: the kept listing is older than the deletes, and is read again. */
static void test_compact_under_a_kept_listing(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *want = read_all(f->os);
    /* On one thread, and read ahead on a second one (which lists again there), each on its
     * own copy of the store. */
    for (int ahead = 0; ahead < 2; ahead++) {
        char *dir = copy_store(f);
        struct objstore *os;
        struct barstore *bs;
        struct diag d = {{0}};
        assert_int_equal(objstore_open(tu_path(dir, "store"), &os, &d), ERR_OK);
        assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
        objstore_keep_listing(os, "bars/");
        struct buf b = BUF_INIT((size_t)64 << 20);
        int err = ahead ? barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d)
                        : barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d);
        assert_int_equal(err, ERR_OK);
        struct objstore *other;
        assert_int_equal(objstore_open(tu_path(dir, "store"), &other, &d), ERR_OK);
        struct compact_stats st;
        assert_int_equal(compact(other, day(BEFORE), &st, &d), ERR_OK);
        assert_int_equal(st.months_compacted, 2);
        objstore_free(other);
        buf_reset(&b);
        err = ahead ? barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d)
                    : barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d);
        if (err)
            fail_msg("scan with a kept listing (ahead %d): %s", ahead, d.text);
        assert_string_equal(b.data, want);
        objstore_keep_listing(os, NULL);
        buf_release(&b);
        barstore_free(bs);
        objstore_free(os);
        tu_rmrf(dir);
        free(dir);
    }
    free(want);
}

/* ---- a reader whose store a compactor works through meanwhile, month after month ---- */

struct chasing {
    struct objstore base;
    struct objstore *inner;
    struct objstore *compactor; /* the same store, opened apart: another process */
    int32_t done;               /* months before it are compacted */
    size_t compactions;
};

/* A read of a day part of a month not compacted yet compacts that month first (closed before
 * the next one), so that the part is gone when the reader asks for it, and every month the
 * read reaches is retired under it in turn. */
static int c_get(struct objstore *os, const char *key, struct buf *out, char *etag, struct diag *d)
{
    struct chasing *c = (struct chasing *)os;
    struct barstore_key k;
    if (barstore_key_parse(key, &k) && !barstore_key_compacted(key, NULL, NULL)) {
        int y, m, dd;
        date_to_ymd(k.date, &y, &m, &dd);
        int32_t next = m == 12 ? date_from_ymd(y + 1, 1, 1) : date_from_ymd(y, m + 1, 1);
        if (next > c->done && next <= day("2024-09-01")) {
            struct compact_stats st;
            struct diag cd = {{0}};
            if (compact(c->compactor, next, &st, &cd) != ERR_OK)
                fail_msg("compacting before %d: %s", next, cd.text);
            c->done = next;
            c->compactions++;
        }
    }
    return objstore_get(c->inner, key, out, etag, d);
}

static int c_put(struct objstore *os, const char *key, const void *data, size_t len,
                 enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    return objstore_put(((struct chasing *)os)->inner, key, data, len, mode, if_match, d);
}

static int c_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    return objstore_list(((struct chasing *)os)->inner, prefix, keys, d);
}

static int c_del(struct objstore *os, const char *key, struct diag *d)
{
    return objstore_del(((struct chasing *)os)->inner, key, d);
}

static const struct objstore_ops chasing_ops = {
    .scheme = "chasing", .get = c_get, .put = c_put, .list = c_list, .del = c_del, .free = f_free};

/* A long read while a compaction retires the parts of one month after another ahead of it
 * (the daily job of another collector, or `screener compact`): each part it listed and finds
 * gone makes it list again, as often as the compaction goes on, and it reads every bar once. */
static void test_compact_month_after_month_under_a_reader(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day("2024-01-02"), day("2024-09-27"));
    char *want = read_all(f->os);
    for (int ahead = 0; ahead < 2; ahead++) {
        char *dir = copy_store(f);
        struct diag d = {{0}};
        struct chasing c = {.done = day("2024-01-01")};
        c.base.ops = &chasing_ops;
        assert_int_equal(objstore_open(tu_path(dir, "store"), &c.inner, &d), ERR_OK);
        assert_int_equal(objstore_open(tu_path(dir, "store"), &c.compactor, &d), ERR_OK);
        snprintf(c.base.location, sizeof c.base.location, "%s", c.inner->location);
        struct barstore *bs;
        assert_int_equal(barstore_new(&c.base, &bs, &d), ERR_OK);
        struct buf b = BUF_INIT((size_t)64 << 20);
        int err = ahead ? barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d)
                        : barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d);
        if (err)
            fail_msg("scan (ahead %d) with %zu compactions under it: %s", ahead, c.compactions,
                     d.text);
        assert_true(c.compactions >= 8); /* every month but the last, each under the read */
        assert_string_equal(b.data, want);
        assert_int_equal(barstore_disagreements(bs), 0);
        buf_release(&b);
        barstore_free(bs);
        objstore_free(c.compactor);
        objstore_free(c.inner);
        tu_rmrf(dir);
        free(dir);
    }
    free(want);
}

/* ---- a compaction in the middle of a directory's listing ---- */

/* This program's openat: the directory listing opens each day's directory with it, so a
 * compaction can be run at the moment a chosen day is about to be listed. */
static struct {
    const char *name_prefix; /* armed: a directory opened whose name starts so */
    struct objstore *os;
    int32_t before;
    int fired;
} listing_hook;

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (listing_hook.name_prefix && (flags & O_DIRECTORY) &&
        strncmp(path, listing_hook.name_prefix, strlen(listing_hook.name_prefix)) == 0) {
        listing_hook.name_prefix = NULL;
        struct compact_stats st;
        struct diag d = {{0}};
        if (compact(listing_hook.os, listing_hook.before, &st, &d) != ERR_OK)
            fail_msg("compaction in the listing: %s", d.text);
        listing_hook.fired = (int)st.months_compacted;
    }
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* A directory's listing is no snapshot: a compaction that writes a month's first compacted
 * part and empties its days while the year is being listed (here: as the listing is about to
 * open a day of February) must not make the month vanish from the listing, which would leave
 * its bars out of the read without a word. */
static void test_compact_during_a_listing(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    char *want = read_all(f->os);
    for (int ahead = 0; ahead < 2; ahead++) {
        char *dir = copy_store(f);
        struct diag d = {{0}};
        struct objstore *os, *other;
        struct barstore *bs;
        assert_int_equal(objstore_open(tu_path(dir, "store"), &os, &d), ERR_OK);
        assert_int_equal(objstore_open(tu_path(dir, "store"), &other, &d), ERR_OK);
        assert_int_equal(barstore_new(os, &bs, &d), ERR_OK);
        listing_hook.os = other;
        listing_hook.before = day("2024-03-01");
        listing_hook.fired = 0;
        listing_hook.name_prefix = "2024-02-";
        struct buf b = BUF_INIT((size_t)64 << 20);
        int err = ahead ? barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d)
                        : barstore_scan(bs, INT32_MIN, INT32_MAX, text_cb, &b, &d);
        listing_hook.name_prefix = NULL;
        if (err)
            fail_msg("scan (ahead %d) with a compaction in its listing: %s", ahead, d.text);
        assert_int_equal(listing_hook.fired, 2); /* January and February, during the listing */
        assert_string_equal(b.data, want);
        /* A listing after it: each month once, compacted. */
        char *keys = list_all(os);
        assert_int_equal(count_keys(keys, "/2024-02/days-"), 1);
        assert_int_equal(count_keys(keys, "/2024-02-"), 0);
        free(keys);
        buf_release(&b);
        barstore_free(bs);
        objstore_free(other);
        objstore_free(os);
        tu_rmrf(dir);
        free(dir);
    }
    free(want);
}

/* A month whose parts disagree is left as it is and reported. */
static void test_compact_leaves_a_disagreement(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    /* A second part for AAA on one day, with another close: two writers racing. */
    struct bar b = tu_bar("AAA", "2024-01-10", 1, 2, 0.5, 1.5, 10);
    struct buf csv = BUF_INIT(1 << 16);
    assert_int_equal(barcsv_write_header(&csv), ERR_OK);
    assert_int_equal(barcsv_write_row(&csv, &b), ERR_OK);
    char name[32], key[OBJ_KEY_MAX];
    barstore_part_name(csv.data, csv.len, name);
    snprintf(key, sizeof key, "bars/2024/2024-01-10/%s", name);
    struct diag d = {{0}};
    assert_int_equal(objstore_put(f->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d), 0);
    buf_release(&csv);
    char *keys0 = list_all(f->os);
    struct compact_stats st;
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 1);
    assert_int_equal(st.months_skipped, 1);
    char *keys = list_all(f->os);
    assert_int_equal(count_keys(keys, "bars/2024/2024-01/"), 0);
    assert_int_equal(count_keys(keys, "bars/2024/2024-01-"),
                     count_keys(keys0, "bars/2024/2024-01-"));
    free(keys0);
    free(keys);
}

/* A compacted part is checked like any part; writers see its bars. */
static void test_compact_damage_and_writers(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    struct compact_stats st;
    struct diag d = {{0}};
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    char *keys = list_all(f->os);
    char *k = strstr(keys, "bars/2024/2024-01/days-");
    assert_non_null(k);
    *strchr(k, '\n') = '\0';
    char key[OBJ_KEY_MAX];
    snprintf(key, sizeof key, "%s", k);
    free(keys);

    /* The same bar again: nothing written; another value: a conflict; a revision wins. */
    struct barvec v;
    barvec_init(&v);
    struct bar_index idx;
    assert_int_equal(barstore_index(f->bs, day("2024-01-10"), day("2024-01-10"), &idx, &d), 0);
    assert_int_equal(idx.ndays, 1);
    assert_int_equal(barstore_read_day(f->bs, &idx, 0, &v, &d), ERR_OK);
    bar_index_release(&idx);
    assert_int_equal(v.n, 5);
    struct bar same = v.v[0], other = v.v[0];
    other.close += 1000000;
    other.high += 1000000;
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(f->bs, &same, 1, NULL, &ws, &d), ERR_OK);
    assert_int_equal(ws.rows_same, 1);
    assert_int_equal(ws.parts_written, 0);
    assert_int_equal(barstore_write(f->bs, &other, 1, NULL, &ws, &d), ERR_CONFLICT);
    struct barstore_write_opts ro = {
        .revisions = 1, .provisional_from = INT32_MAX, .revise_from = day("2024-01-01")};
    assert_int_equal(barstore_write(f->bs, &other, 1, &ro, &ws, &d), ERR_OK);
    assert_int_equal(ws.rows_revised, 1);
    assert_int_equal(barstore_index(f->bs, day("2024-01-10"), day("2024-01-10"), &idx, &d), 0);
    assert_int_equal(barstore_read_day(f->bs, &idx, 0, &v, &d), ERR_OK);
    assert_int_equal(idx.days[0].nparts, 2);
    assert_non_null(strstr(idx.keys.v[1], "/rev-000001"));
    bar_index_release(&idx);
    assert_int_equal(v.v[0].close, other.close);
    assert_int_equal(barstore_disagreements(f->bs), 0);
    /* Compacted again: the revision is in, the store reads the same. */
    char *before = read_all(f->os);
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 1);
    char *after = read_all(f->os);
    assert_string_equal(before, after);
    free(before);
    free(after);
    barvec_release(&v);

    /* Damaged: truncated.  Readers name it; verify reports it. */
    keys = list_all(f->os);
    k = strstr(keys, "bars/2024/2024-01/days-");
    *strchr(k, '\n') = '\0';
    snprintf(key, sizeof key, "%s", k);
    free(keys);
    struct buf b = BUF_INIT(BARSTORE_PART_MAX);
    assert_int_equal(objstore_get(f->os, key, &b, NULL, &d), ERR_OK);
    assert_int_equal(objstore_put(f->os, key, b.data, b.len / 2, OBJ_PUT_ALWAYS, NULL, &d), 0);
    buf_release(&b);
    struct buf t = BUF_INIT(1 << 24);
    assert_int_equal(barstore_scan(f->bs, INT32_MIN, INT32_MAX, text_cb, &t, &d), ERR_DAMAGED);
    assert_non_null(strstr(d.text, key));
    buf_release(&t);
    struct barstore_verify_opts vo = {0};
    struct barstore_verify_stats vs;
    assert_int_equal(barstore_verify(f->bs, &vo, &vs, &d), ERR_OK);
    assert_int_equal(vs.damaged, 1);
    assert_int_equal(vs.compacted, 2);
    /* The month with a damaged part is not compacted again (nor its part deleted). */
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 0);
    keys = list_all(f->os);
    assert_non_null(strstr(keys, key));
    free(keys);
}

/* ---- reading ahead on a second thread ---- */

/* The trading days of [from, to], every symbol in one write: one part a day. */
static void fill_one(struct barstore *bs, int32_t from, int32_t to)
{
    static const char *const syms[] = {"AAA", "BBB", "CCC", "DDD", "EEE"};
    struct barvec v;
    barvec_init(&v);
    for (int32_t t = from; t <= to; t++) {
        if (!cal_is_trading_day(t))
            continue;
        char ds[DATE_STRLEN + 1];
        date_format(t, ds);
        for (int s = 0; s < 5; s++) {
            double p = 20 + s + (t % 13) * 0.5;
            struct bar b = tu_bar(syms[s], ds, p, p + 1, p - 1, p + 0.5, 2000 + t % 100);
            assert_int_equal(barvec_push(&v, &b), ERR_OK);
        }
    }
    write_bars(bs, v.v, v.n, NULL, ERR_OK);
    barvec_release(&v);
}

/* A part of date holding one bar of AAA with this close, put under its own name. */
static void put_aaa(struct objstore *os, const char *date, double close)
{
    struct bar b = tu_bar("AAA", date, 1, close + 1, 0.5, close, 10);
    struct buf csv = BUF_INIT(1 << 16);
    assert_int_equal(barcsv_write_header(&csv), ERR_OK);
    assert_int_equal(barcsv_write_row(&csv, &b), ERR_OK);
    char name[32], key[OBJ_KEY_MAX];
    barstore_part_name(csv.data, csv.len, name);
    snprintf(key, sizeof key, "bars/%.4s/%s/%s", date, date, name);
    struct diag d = {{0}};
    assert_int_equal(objstore_put(os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, &d), ERR_OK);
    buf_release(&csv);
}

struct stop_text {
    struct buf text;
    int32_t stop_at;
};

static int stop_cb(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct stop_text *t = ctx;
    int err = text_cb(&t->text, date, bars, n);
    return err ? err : date == t->stop_at ? ERR_CONFLICT : ERR_OK;
}

/* A scan on one thread and one read ahead: the same days and bars, result, message and
 * disagreements reported (want of them each). */
static void scan_both(struct barstore *bs, int32_t stop_at, int want, size_t disagree)
{
    struct stop_text one = {BUF_INIT((size_t)64 << 20), stop_at};
    struct stop_text two = {BUF_INIT((size_t)64 << 20), stop_at};
    struct diag d1 = {{0}}, d2 = {{0}};
    size_t before = barstore_disagreements(bs);
    assert_int_equal(barstore_scan(bs, INT32_MIN, INT32_MAX, stop_cb, &one, &d1), want);
    assert_int_equal(barstore_disagreements(bs) - before, disagree);
    before = barstore_disagreements(bs);
    assert_int_equal(barstore_scan_ahead(bs, INT32_MIN, INT32_MAX, stop_cb, &two, &d2), want);
    assert_int_equal(barstore_disagreements(bs) - before, disagree);
    assert_true(one.text.len > 0);
    assert_int_equal(one.text.len, two.text.len);
    assert_memory_equal(one.text.data, two.text.data, one.text.len);
    assert_string_equal(d1.text, d2.text);
    buf_release(&one.text);
    buf_release(&two.text);
}

/* Read ahead, a store with compacted months reads as on one thread: a day of a compacted month
 * with a part of its own that disagrees is merged (and reported) only once every day before it
 * was checked, so a damaged day before it stops both reads first. */
static void test_compact_scan_ahead(void **state)
{
    struct fixture *f = *state;
    fill(f->bs, day(FROM), day(TO));
    struct compact_stats st;
    struct diag d = {{0}};
    assert_int_equal(compact(f->os, day(BEFORE), &st, &d), ERR_OK);
    assert_int_equal(st.months_compacted, 2);
    fill_one(f->bs, day("2023-11-01"), day("2023-12-29")); /* day parts before them */
    put_aaa(f->os, "2024-01-03", 99);                      /* disagrees with the month's */
    scan_both(f->bs, INT32_MIN, ERR_OK, 1);
    scan_both(f->bs, day("2024-02-07"), ERR_CONFLICT, 1); /* the caller stops in a month */
    scan_both(f->bs, day("2024-01-03"), ERR_CONFLICT, 1);
    scan_both(f->bs, day("2024-01-02"), ERR_CONFLICT, 0);
    /* The only part of 2023-12-28 with rows that parse, not the content its name says (read
     * ahead, the caller's thread may be the one to find it). */
    struct strvec keys = STRVEC_INIT;
    assert_int_equal(objstore_list(f->os, "bars/2023/2023-12-28/", &keys, &d), ERR_OK);
    assert_int_equal(keys.n, 1);
    const char edited[] = "symbol,date,open,high,low,close,volume\nAAA,2023-12-28,10,12,9,11,5\n";
    assert_int_equal(
        objstore_put(f->os, keys.v[0], edited, sizeof edited - 1, OBJ_PUT_ALWAYS, NULL, &d),
        ERR_OK);
    scan_both(f->bs, INT32_MIN, ERR_DAMAGED, 0);
    barstore_set_skip_damaged(f->bs, 1);
    scan_both(f->bs, INT32_MIN, ERR_OK, 1);
    barstore_set_skip_damaged(f->bs, 0);
    assert_int_equal(objstore_del(f->os, keys.v[0], &d), ERR_OK);
    strvec_release(&keys);
    /* A damaged compacted month (cut short): the days before it, then the same error. */
    char *all = list_all(f->os);
    char *k = strstr(all, "bars/2024/2024-02/days-");
    assert_non_null(k);
    *strchr(k, '\n') = '\0';
    struct buf b = BUF_INIT(BARSTORE_PART_MAX);
    assert_int_equal(objstore_get(f->os, k, &b, NULL, &d), ERR_OK);
    /* Edited, its rows still parsing: its hash is checked by whichever thread has the time,
     * and its days are not used either way. */
    char *e = b.data + b.len - 1;
    while (e > b.data && !(*e >= '0' && *e <= '9'))
        e--;
    assert_true(e > b.data);
    *e = *e == '9' ? '8' : (char)(*e + 1);
    assert_int_equal(objstore_put(f->os, k, b.data, b.len, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    scan_both(f->bs, INT32_MIN, ERR_DAMAGED, 1);
    barstore_set_skip_damaged(f->bs, 1);
    scan_both(f->bs, INT32_MIN, ERR_OK, 1);
    barstore_set_skip_damaged(f->bs, 0);
    /* Cut short. */
    assert_int_equal(objstore_put(f->os, k, b.data, b.len / 2, OBJ_PUT_ALWAYS, NULL, &d), ERR_OK);
    buf_release(&b);
    free(all);
    scan_both(f->bs, INT32_MIN, ERR_DAMAGED, 1);
    scan_both(f->bs, day("2024-01-03"), ERR_CONFLICT, 1);
}

static void test_compact_key_names(void **state)
{
    (void)state;
    int32_t m;
    uint32_t mask;
    assert_true(barstore_key_compacted("bars/2024/2024-02/days-1fffffff/part-0123456789abcdef.csv",
                                       &m, &mask));
    assert_int_equal(m, day("2024-02-01"));
    assert_int_equal(mask, 0x1fffffff);
    /* February 2024 has 29 days: bit 29 is no day of it. */
    assert_false(barstore_key_compacted("bars/2024/2024-02/days-3fffffff/part-0123456789abcdef.csv",
                                        &m, &mask));
    assert_false(barstore_key_compacted("bars/2024/2024-13/days-00000001/part-0123456789abcdef.csv",
                                        &m, &mask));
    assert_false(barstore_key_compacted("bars/2023/2024-01/days-00000001/part-0123456789abcdef.csv",
                                        &m, &mask));
    assert_false(barstore_key_compacted("bars/2024/2024-01/days-00000000/part-0123456789abcdef.csv",
                                        &m, &mask));
    assert_false(barstore_key_compacted("bars/2024/2024-01/days-0000000G/part-0123456789abcdef.csv",
                                        &m, &mask));
    assert_false(
        barstore_key_compacted("bars/2024/2024-01-02/part-0123456789abcdef.csv", &m, &mask));
    assert_false(barstore_key_compacted("bars/2024/2024-01/days-00000001/x/part-1.csv", &m, &mask));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_key_names),
        cmocka_unit_test_setup_teardown(test_compact_reads_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_only_closed_months, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_crash_at_every_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_with_a_late_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_two_compactors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_under_a_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_under_a_kept_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_month_after_month_under_a_reader, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compact_during_a_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_leaves_a_disagreement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_damage_and_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_scan_ahead, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
